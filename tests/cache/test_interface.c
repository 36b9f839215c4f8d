/* SPDX-License-Identifier: MIT */
/*
 * The goio_cache interface: argument checks on every call, a cache
 * implemented outside goio, the typed variants and the envelope format.
 */
#include "cache_test.h"
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define HOUR (3600 * 1000)

/* ---- a user-implemented cache: one slot per key in a tiny list ---- */

typedef struct user_cache {
    goio_cache base;
    pthread_mutex_t mu;
    char keys[8][32];
    goio_buf values[8];
    int n;
} user_cache;

static int uc_find(user_cache *u, const char *key)
{
    for (int i = 0; i < u->n; i++)
        if (!strcmp(u->keys[i], key))
            return i;
    return -1;
}

static int uc_get(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
                  bool *hit)
{
    (void)ctx;
    user_cache *u = (user_cache *)c;
    pthread_mutex_lock(&u->mu);
    int i = uc_find(u, key), rc = 0;
    if (i >= 0) {
        rc = goio_buf_set(out, u->values[i].data, u->values[i].len);
        *hit = rc == 0;
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}

static int uc_set(goio_cache *c, goio_ctx *ctx, const char *key,
                  const void *value, size_t len, int64_t ttl_ms)
{
    (void)ctx;
    (void)ttl_ms;
    user_cache *u = (user_cache *)c;
    pthread_mutex_lock(&u->mu);
    int i = uc_find(u, key), rc = 0;
    if (i < 0 && u->n < 8) {
        i = u->n++;
        snprintf(u->keys[i], sizeof u->keys[i], "%s", key);
    }
    rc = i < 0 ? GOIO_ENOMEM : goio_buf_set(&u->values[i], value, len);
    pthread_mutex_unlock(&u->mu);
    return rc;
}

static int uc_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    (void)c;
    (void)ctx;
    (void)key;
    return 0;
}

static void uc_destroy(goio_cache *c)
{
    user_cache *u = (user_cache *)c;
    for (int i = 0; i < 8; i++)
        goio_buf_deinit(&u->values[i]);
    pthread_mutex_destroy(&u->mu);
    goio_free(u);
}

static const goio_cache_ops uc_ops = {
    .name = "user",
    .get = uc_get,
    .set = uc_set,
    .del = uc_del,
    .destroy = uc_destroy,
};

static goio_cache *user_cache_new(void)
{
    user_cache *u = goio_calloc(1, sizeof *u);
    assert_non_null(u);
    pthread_mutex_init(&u->mu, NULL);
    assert_ok(goio_cache_init(&u->base, &uc_ops));
    return &u->base;
}

static int fetch_hello(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    int *calls = arg;
    (*calls)++;
    return goio_buf_append_str(out, "hello");
}

static void user_cache_gets_the_defaults(void **state)
{
    (void)state;
    goio_cache *c = user_cache_new();
    goio_buf b = GOIO_BUF_INIT;
    bool hit, stale;
    assert_goio(GOIO_ENOTSUP,
                goio_cache_get_stale(c, NULL, "k", &b, &hit, &stale));
    assert_goio(GOIO_ENOTSUP, goio_cache_clear(c, NULL));
    int calls = 0;
    goio_cache_source src = GOIO_CACHE_STALE;
    assert_ok(goio_cache_get_or_set(c, NULL, "k", HOUR, fetch_hello, &calls, &b,
                                    &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_string_equal(goio_buf_cstr(&b), "hello");
    assert_ok(goio_cache_get_or_set(c, NULL, "k", HOUR, fetch_hello, &calls, &b,
                                    &src));
    assert_int_equal(src, GOIO_CACHE_HIT);
    assert_int_equal(calls, 1);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(c, &st));
    assert_int_equal(st.fetches, 1);
    assert_int_equal(st.fetch_errors, 0);
    assert_int_equal(st.hits + st.entries, 0); /* no stats op: zeros */
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

static void init_checks_required_ops(void **state)
{
    (void)state;
    goio_cache c;
    goio_cache_ops ops = uc_ops;
    assert_goio(GOIO_EINVAL, goio_cache_init(NULL, &ops));
    assert_goio(GOIO_EINVAL, goio_cache_init(&c, NULL));
    ops.get = NULL;
    assert_goio(GOIO_EINVAL, goio_cache_init(&c, &ops));
    ops = uc_ops;
    ops.destroy = NULL;
    assert_goio(GOIO_EINVAL, goio_cache_init(&c, &ops));
    ops = uc_ops;
    assert_ok(goio_cache_init(&c, &ops));
    goio_cache_deinit(&c);
    goio_cache_deinit(NULL);
    goio_cache_count_fetch(NULL, 0);
}

static void keys_are_validated(void **state)
{
    (void)state;
    char long_key[GOIO_CACHE_MAX_KEY + 2];
    memset(long_key, 'a', sizeof long_key);
    long_key[GOIO_CACHE_MAX_KEY + 1] = '\0';
    assert_false(goio_cache_key_valid(NULL));
    assert_false(goio_cache_key_valid(""));
    assert_false(goio_cache_key_valid(long_key));
    long_key[GOIO_CACHE_MAX_KEY] = '\0';
    assert_true(goio_cache_key_valid(long_key));
    assert_true(goio_cache_key_valid("k"));
}

static int fetch_int64(goio_ctx *ctx, const char *key, void *value, void *arg)
{
    (void)ctx;
    (void)key;
    (*(int *)arg)++;
    *(int64_t *)value = 1;
    return 0;
}

/* Every call with every invalid argument: GOIO_EINVAL, nothing stored. */
static void every_invalid_input(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    char long_key[GOIO_CACHE_MAX_KEY + 2];
    memset(long_key, 'a', sizeof long_key);
    long_key[GOIO_CACHE_MAX_KEY + 1] = '\0';
    const char *bad_keys[] = {NULL, "", long_key};
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true, stale = true;
    int calls = 0;
    int64_t i64 = 5;
    for (size_t i = 0; i < 3; i++) {
        const char *k = bad_keys[i];
        assert_goio(GOIO_EINVAL, goio_cache_set(c, NULL, k, "v", 1, HOUR));
        assert_goio(GOIO_EINVAL, goio_cache_get(c, NULL, k, &b, &hit));
        assert_false(hit);
        assert_goio(GOIO_EINVAL, goio_cache_del(c, NULL, k));
        assert_goio(GOIO_EINVAL,
                    goio_cache_get_stale(c, NULL, k, &b, &hit, &stale));
        assert_goio(GOIO_EINVAL,
                    goio_cache_get_or_set(c, NULL, k, HOUR, fetch_hello, &calls,
                                          &b, NULL));
        assert_goio(GOIO_EINVAL, goio_cache_set_typed(
                                     c, NULL, k, &goio_type_int64, &i64, HOUR));
        assert_goio(GOIO_EINVAL, goio_cache_get_typed(
                                     c, NULL, k, &goio_type_int64, &i64, &hit));
        assert_goio(GOIO_EINVAL, goio_cache_get_or_set_typed(
                                     c, NULL, k, HOUR, &goio_type_int64,
                                     fetch_int64, &calls, &i64, NULL));
    }
    assert_int_equal(i64, 5);
    /* NULL cache, outputs, value, fetch. */
    assert_goio(GOIO_EINVAL, goio_cache_set(NULL, NULL, "k", "v", 1, HOUR));
    assert_goio(GOIO_EINVAL, goio_cache_set(c, NULL, "k", NULL, 1, HOUR));
    assert_goio(GOIO_EINVAL, goio_cache_get(NULL, NULL, "k", &b, &hit));
    assert_goio(GOIO_EINVAL, goio_cache_get(c, NULL, "k", NULL, &hit));
    assert_goio(GOIO_EINVAL, goio_cache_get(c, NULL, "k", &b, NULL));
    assert_goio(GOIO_EINVAL, goio_cache_del(NULL, NULL, "k"));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_stale(NULL, NULL, "k", &b, &hit, &stale));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_stale(c, NULL, "k", NULL, &hit, &stale));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_stale(c, NULL, "k", &b, NULL, &stale));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_stale(c, NULL, "k", &b, &hit, NULL));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_or_set(NULL, NULL, "k", HOUR, fetch_hello,
                                      &calls, &b, NULL));
    assert_goio(GOIO_EINVAL, goio_cache_get_or_set(c, NULL, "k", HOUR, NULL,
                                                   &calls, &b, NULL));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_or_set(c, NULL, "k", HOUR, fetch_hello, &calls,
                                      NULL, NULL));
    goio_cache_stats st;
    assert_goio(GOIO_EINVAL, goio_cache_stats_get(NULL, &st));
    assert_goio(GOIO_EINVAL, goio_cache_stats_get(c, NULL));
    assert_goio(GOIO_EINVAL, goio_cache_clear(NULL, NULL));
    assert_int_equal(calls, 0);
    assert_ok(goio_cache_stats_get(c, &st));
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.sets, 0);
    assert_null(b.data);
    goio_cache_free(c);
}

/* ---- typed ---- */

struct point {
    int32_t x, y;
};
struct other {
    double d;
    int32_t z;
};
static GOIO_TYPE_POD(point_type, struct point);
static GOIO_TYPE_POD(other_type, struct other);

static void typed_round_trips_and_interoperates(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    int64_t n = -42, n2 = 0;
    bool hit = false;
    assert_ok(goio_cache_set_typed(c, NULL, "n", &goio_type_int64, &n, HOUR));
    assert_ok(goio_cache_get_typed(c, NULL, "n", &goio_type_int64, &n2, &hit));
    assert_true(hit);
    assert_int_equal(n2, -42);
    /* Values stay the encoding: the bytes are the decimal. */
    assert_cached(c, "n", "-42");
    char *s = NULL;
    assert_ok(goio_cache_get_typed(c, NULL, "n", &goio_type_string, &s, &hit));
    assert_string_equal(s, "-42");
    goio_type_value_deinit(&goio_type_string, &s);
    struct point p = {3, -4}, q = {0, 0};
    assert_ok(goio_cache_set_typed(c, NULL, "p", &point_type, &p, HOUR));
    assert_ok(goio_cache_get_typed(c, NULL, "p", &point_type, &q, &hit));
    assert_true(hit && q.x == 3 && q.y == -4);
    /* A miss leaves the variable alone. */
    n2 = 7;
    assert_ok(
        goio_cache_get_typed(c, NULL, "none", &goio_type_int64, &n2, &hit));
    assert_false(hit);
    assert_int_equal(n2, 7);
    goio_cache_free(c);
}

static void typed_mismatch_is_etype(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    char *text = "not a number";
    assert_ok(
        goio_cache_set_typed(c, NULL, "s", &goio_type_string, &text, HOUR));
    int64_t n = 99;
    bool hit = true;
    assert_goio(GOIO_ETYPE,
                goio_cache_get_typed(c, NULL, "s", &goio_type_int64, &n, &hit));
    assert_false(hit);
    assert_int_equal(n, 99);
    struct point p = {1, 2};
    struct other o = {2.5, 0};
    assert_ok(goio_cache_set_typed(c, NULL, "p", &point_type, &p, HOUR));
    assert_goio(GOIO_ETYPE,
                goio_cache_get_typed(c, NULL, "p", &other_type, &o, &hit));
    assert_true(o.d == 2.5);
    bool flag = true;
    assert_goio(GOIO_ETYPE, goio_cache_get_typed(c, NULL, "p", &goio_type_bool,
                                                 &flag, &hit));
    assert_true(flag);
    /* Invalid descriptors and NULLs. */
    goio_type broken = {"broken", 8, NULL, NULL, NULL, NULL, NULL};
    assert_goio(GOIO_EINVAL,
                goio_cache_get_typed(c, NULL, "p", &broken, &n, &hit));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_typed(c, NULL, "p", NULL, &n, &hit));
    assert_goio(GOIO_EINVAL, goio_cache_get_typed(
                                 c, NULL, "p", &goio_type_int64, NULL, &hit));
    assert_goio(GOIO_EINVAL,
                goio_cache_get_typed(c, NULL, "p", &goio_type_int64, &n, NULL));
    assert_goio(GOIO_EINVAL,
                goio_cache_set_typed(c, NULL, "p", &broken, &n, HOUR));
    assert_goio(GOIO_EINVAL, goio_cache_set_typed(
                                 c, NULL, "p", &goio_type_int64, NULL, HOUR));
    assert_goio(GOIO_EINVAL, goio_cache_set_typed(NULL, NULL, "p",
                                                  &goio_type_int64, &n, HOUR));
    goio_cache_free(c);
}

static int fetch_answer(goio_ctx *ctx, const char *key, void *value, void *arg)
{
    (void)ctx;
    (void)key;
    int *calls = arg;
    (*calls)++;
    *(int64_t *)value = 42;
    return 0;
}

static int fetch_typed_fails(goio_ctx *ctx, const char *key, void *value,
                             void *arg)
{
    (void)ctx;
    (void)key;
    (void)arg;
    *(char **)value = goio_strdup("half-built"); /* destroyed by goio */
    return GOIO_ENOENT;
}

static int fetch_point(goio_ctx *ctx, const char *key, void *value, void *arg)
{
    (void)ctx;
    (void)key;
    atomic_fetch_add((atomic_int *)arg, 1);
    *(struct point *)value = (struct point){7, 8};
    return 0;
}

/* Bytes of another type: plain typed get reports GOIO_ETYPE and changes
 * nothing; typed get_or_set logs bad_cache_value, fetches once (however
 * many callers meet them) and overwrites them. */
static void typed_get_or_set_heals_a_value_of_another_type(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    int64_t n = 5;
    assert_ok(goio_cache_set_typed(c, NULL, "p", &goio_type_int64, &n, HOUR));
    struct point p = {1, 1};
    bool hit = true;
    assert_goio(GOIO_ETYPE,
                goio_cache_get_typed(c, NULL, "p", &point_type, &p, &hit));
    assert_false(hit);
    assert_int_equal(p.x, 1);
    atomic_int calls = 0;
    goio_cache_source src;
    log_capture_start();
    assert_ok(goio_cache_get_or_set_typed(c, NULL, "p", HOUR, &point_type,
                                          fetch_point, &calls, &p, &src));
    int err = 0;
    assert_int_equal(log_capture_count("bad_cache_value", "p", &err), 1);
    assert_int_equal(err, GOIO_ETYPE);
    log_capture_stop();
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_int_equal(p.x, 7);
    assert_int_equal(p.y, 8);
    assert_int_equal(atomic_load(&calls), 1);
    /* Overwritten: a hit of the right type from now on. */
    p = (struct point){0, 0};
    assert_ok(goio_cache_get_typed(c, NULL, "p", &point_type, &p, &hit));
    assert_true(hit);
    assert_int_equal(p.y, 8);
    assert_ok(goio_cache_get_or_set_typed(c, NULL, "p", HOUR, &point_type,
                                          fetch_point, &calls, &p, &src));
    assert_int_equal(src, GOIO_CACHE_HIT);
    assert_int_equal(atomic_load(&calls), 1);
    /* The int64 reader now meets a point: the same healing the other way,
     * and a failing fetch leaves its own code and the bytes in place. */
    assert_goio(GOIO_ENOENT,
                goio_cache_get_or_set_typed(
                    c, NULL, "p", HOUR, &goio_type_string, fetch_typed_fails,
                    NULL, &(char *){NULL}, NULL));
    assert_ok(goio_cache_get_typed(c, NULL, "p", &point_type, &p, &hit));
    assert_true(hit);
    goio_cache_free(c);
}

/* The hybrid: a remote value of another type is never kept in the local
 * layer, by plain typed get or by get_or_set. */
static void typed_calls_never_keep_a_bad_remote_value_locally(void **state)
{
    (void)state;
    goio_cache *local = memory_cache(1 << 20, 0, 0);
    goio_cache *remote = memory_cache(1 << 20, 0, 0);
    goio_cache *h;
    assert_ok(goio_cache_hybrid_new(local, remote, true, &h));
    goio_cache *s;
    assert_ok(goio_cache_stale_new(h, HOUR, false, &s));
    /* Another process stored a string (through a stale wrapper of its
     * own: an envelope in an envelope, as this stack reads them). */
    goio_buf inner = GOIO_BUF_INIT, outer = GOIO_BUF_INIT;
    assert_ok(goio_cache_envelope_encode(&inner, goio_now_wall_ms() + HOUR,
                                         "text", 4));
    assert_ok(goio_cache_envelope_encode(&outer, goio_now_wall_ms() + HOUR,
                                         inner.data, inner.len));
    assert_ok(goio_cache_set(remote, NULL, "k", outer.data, outer.len, HOUR));
    struct point p = {1, 1};
    bool hit;
    assert_goio(GOIO_ETYPE,
                goio_cache_get_typed(s, NULL, "k", &point_type, &p, &hit));
    assert_missing(local, "k");
    atomic_int calls = 0;
    goio_cache_source src;
    log_capture_start();
    assert_ok(goio_cache_get_or_set_typed(s, NULL, "k", HOUR, &point_type,
                                          fetch_point, &calls, &p, &src));
    assert_int_equal(log_capture_count("bad_cache_value", "k", NULL), 1);
    log_capture_stop();
    assert_int_equal(p.x, 7);
    assert_int_equal(atomic_load(&calls), 1);
    /* Both layers hold the new value. */
    goio_cache_free(s);
    goio_cache *s_remote;
    assert_ok(goio_cache_hybrid_invalidate_all(h, NULL));
    assert_ok(goio_cache_stale_new(h, HOUR, false, &s_remote));
    p = (struct point){0, 0};
    assert_ok(goio_cache_get_typed(s_remote, NULL, "k", &point_type, &p, &hit));
    assert_true(hit);
    assert_int_equal(p.y, 8);
    goio_cache_free(s_remote);
    goio_buf_deinit(&inner);
    goio_buf_deinit(&outer);
    goio_cache_free(h);
}

static void typed_get_or_set(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    int calls = 0;
    int64_t v = 0;
    goio_cache_source src;
    assert_ok(goio_cache_get_or_set_typed(c, NULL, "a", HOUR, &goio_type_int64,
                                          fetch_answer, &calls, &v, &src));
    assert_int_equal(v, 42);
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    v = 0;
    assert_ok(goio_cache_get_or_set_typed(c, NULL, "a", HOUR, &goio_type_int64,
                                          fetch_answer, &calls, &v, &src));
    assert_int_equal(v, 42);
    assert_int_equal(src, GOIO_CACHE_HIT);
    assert_int_equal(calls, 1);
    /* A failing typed fetch: its code, nothing stored, dst untouched. */
    char *s = NULL;
    assert_goio(GOIO_ENOENT, goio_cache_get_or_set_typed(
                                 c, NULL, "b", HOUR, &goio_type_string,
                                 fetch_typed_fails, NULL, &s, NULL));
    assert_null(s);
    assert_missing(c, "b");
    assert_goio(GOIO_EINVAL, goio_cache_get_or_set_typed(c, NULL, "b", HOUR,
                                                         &goio_type_string,
                                                         NULL, NULL, &s, NULL));
    goio_cache_free(c);
}

/* ---- envelope ---- */

static void envelope_format(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_cache_envelope_encode(&b, 0x0102030405060708LL, "val", 3));
    const uint8_t expect[] = {0xE7, 0x01, 8, 7,   6,   5,  4,
                              3,    2,    1, 'v', 'a', 'l'};
    assert_int_equal(b.len, sizeof expect);
    assert_memory_equal(b.data, expect, sizeof expect);
    int64_t until;
    const uint8_t *v;
    size_t len;
    assert_ok(goio_cache_envelope_decode(b.data, b.len, &until, &v, &len));
    assert_true(until == 0x0102030405060708LL);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "val", 3);
    /* Negative instants survive; an empty value is fine. */
    goio_buf_clear(&b);
    assert_ok(goio_cache_envelope_encode(&b, -5, NULL, 0));
    assert_ok(goio_cache_envelope_decode(b.data, b.len, &until, &v, &len));
    assert_true(until == -5 && len == 0);
    /* Anything else is GOIO_EBADMSG. */
    b.data[0] = 0xE6;
    assert_goio(GOIO_EBADMSG,
                goio_cache_envelope_decode(b.data, b.len, &until, &v, &len));
    b.data[0] = 0xE7;
    b.data[1] = 0x02;
    assert_goio(GOIO_EBADMSG,
                goio_cache_envelope_decode(b.data, b.len, &until, &v, &len));
    b.data[1] = 0x01;
    assert_goio(GOIO_EBADMSG,
                goio_cache_envelope_decode(b.data, 9, &until, &v, &len));
    assert_goio(GOIO_EINVAL,
                goio_cache_envelope_decode(NULL, 3, &until, &v, &len));
    assert_goio(GOIO_EINVAL,
                goio_cache_envelope_decode(b.data, b.len, NULL, &v, &len));
    assert_goio(GOIO_EINVAL, goio_cache_envelope_encode(NULL, 0, "x", 1));
    assert_goio(GOIO_EINVAL, goio_cache_envelope_encode(&b, 0, NULL, 1));
    goio_buf_deinit(&b);
}

/* ---- allocation failures ---- */

typedef struct torture {
    goio_cache *mem, *out;
    goio_buf buf;
    int calls;
} torture;

static int op_stale_new(void *arg)
{
    torture *t = arg;
    return goio_cache_stale_new(t->mem, HOUR, false, &t->out);
}

static void cleanup_out(void *arg)
{
    torture *t = arg;
    goio_cache_free(t->out);
    t->out = NULL;
}

static int op_get_or_set(void *arg)
{
    torture *t = arg;
    goio_cache_source src;
    return goio_cache_get_or_set(t->out ? t->out : t->mem, NULL, "k", HOUR,
                                 fetch_hello, &t->calls, &t->buf, &src);
}

/* clear, not del: it also frees the shard tables the op grew. */
static void cleanup_key(void *arg)
{
    torture *t = arg;
    goio_cache_clear(t->out ? t->out : t->mem, NULL);
    goio_buf_deinit(&t->buf);
}

static int op_typed(void *arg)
{
    torture *t = arg;
    char *in = "typed value", *back = NULL;
    bool hit;
    int rc =
        goio_cache_set_typed(t->mem, NULL, "t", &goio_type_string, &in, HOUR);
    if (rc == 0)
        rc = goio_cache_get_typed(t->mem, NULL, "t", &goio_type_string, &back,
                                  &hit);
    if (rc == 0 && (!hit || strcmp(back, in)))
        rc = GOIO_EIO;
    goio_type_value_deinit(&goio_type_string, &back);
    return rc;
}

static void cleanup_typed(void *arg)
{
    goio_cache_clear(((torture *)arg)->mem, NULL);
}

static void allocation_failures(void **state)
{
    (void)state;
    torture t = {0};
    goio_test_alloc_install();
    t.mem = memory_cache(1 << 20, 0, 0);
    /* Stored-value failures are logged, not returned: keep them quiet. */
    goio_log_set_sink(NULL, NULL);
    /* Every allocation point fails once; the counts are lower bounds: the
     * wrapper and its group; the stored entry and the caller's buffer; the
     * encoded value, the entry, the read buffer and the decoded string. */
    assert_true(goio_test_alloc_torture(op_stale_new, cleanup_out, &t) >= 2);
    assert_true(goio_test_alloc_torture(op_get_or_set, cleanup_key, &t) >= 2);
    assert_true(goio_test_alloc_torture(op_typed, cleanup_typed, &t) >= 4);
    assert_ok(goio_cache_stale_new(t.mem, HOUR, false, &t.out));
    assert_true(goio_test_alloc_torture(op_get_or_set, cleanup_key, &t) >= 2);
    goio_cache_free(t.out);
    t.out = NULL;
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    goio_cache_free(t.mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(user_cache_gets_the_defaults),
        cmocka_unit_test(init_checks_required_ops),
        cmocka_unit_test(keys_are_validated),
        cmocka_unit_test(every_invalid_input),
        cmocka_unit_test(typed_round_trips_and_interoperates),
        cmocka_unit_test(typed_mismatch_is_etype),
        cmocka_unit_test(typed_get_or_set),
        cmocka_unit_test(typed_get_or_set_heals_a_value_of_another_type),
        cmocka_unit_test(typed_calls_never_keep_a_bad_remote_value_locally),
        cmocka_unit_test(envelope_format),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
