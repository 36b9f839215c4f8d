/* SPDX-License-Identifier: MIT */
/*
 * The go-io wire mode of the stale wrapper, the hybrid and the typed calls
 * (goio_cache_wire), on memory caches: go-io's JSON envelope, freshness
 * read from any RFC 3339 time, TTLs as go-io sets them, values Go cannot
 * decode refused, and goio's binary format in the same storage read as a
 * miss. tests/interop checks the same against go-io itself.
 */
#include "cache_test.h"
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define HOUR (60 * 60 * 1000)
#define WIRE GOIO_CACHE_WIRE_GO_IO

static goio_cache *stale_wire(goio_cache *storage)
{
    goio_cache *s = NULL;
    assert_ok(goio_cache_stale_new_wire(storage, HOUR, true, WIRE, &s));
    return s;
}

static void get_raw(goio_cache *c, const char *key, goio_buf *b)
{
    bool hit = false;
    assert_ok(goio_cache_get(c, NULL, key, b, &hit));
    assert_true(hit);
}

static void arguments(void **state)
{
    (void)state;
    goio_cache *m = memory_cache(1 << 20, 0, 0),
               *m2 = memory_cache(1 << 20, 0, 0);
    goio_cache *out = (goio_cache *)1;
    assert_int_equal(
        goio_cache_stale_new_wire(m, HOUR, false, (goio_cache_wire)7, &out),
        GOIO_EINVAL);
    assert_null(out);
    assert_int_equal(
        goio_cache_hybrid_new_wire(m, m2, false, (goio_cache_wire)7, &out),
        GOIO_EINVAL);
    assert_int_equal(goio_cache_wire_set(NULL, WIRE, false), GOIO_EINVAL);
    assert_int_equal(goio_cache_wire_set(m, (goio_cache_wire)2, false),
                     GOIO_EINVAL);
    assert_int_equal(goio_cache_wire_get(NULL), GOIO_CACHE_WIRE_GOIO);
    assert_int_equal(goio_cache_wire_get(m), GOIO_CACHE_WIRE_GOIO);
    assert_ok(goio_cache_stale_new_wire(m, HOUR, false, WIRE, &out));
    assert_int_equal(goio_cache_wire_get(out), WIRE);
    goio_cache_free(out);
    assert_ok(goio_cache_stale_new(m, HOUR, false, &out));
    assert_int_equal(goio_cache_wire_get(out), GOIO_CACHE_WIRE_GOIO);
    goio_cache_free(out);
    goio_cache_free(m);
    goio_cache_free(m2);
}

static void stale_writes_go_ios_envelope(void **state)
{
    (void)state;
    fault_cache *f = fault_cache_new();
    goio_cache *s = stale_wire(&f->base);
    int64_t before = goio_now_wall_ns();
    assert_ok(goio_cache_set(s, NULL, "k", " {\"a\": [1, \"<\"]} ", 17, 1500));
    int64_t after = goio_now_wall_ns();
    /* kept for the stale TTL, as go-io does, even when the TTL is longer */
    assert_int_equal(atomic_load(&f->last_set_ttl), HOUR);
    assert_ok(goio_cache_set(s, NULL, "long", "1", 1, 2 * HOUR));
    assert_int_equal(atomic_load(&f->last_set_ttl), HOUR);

    goio_buf b = GOIO_BUF_INIT;
    get_raw(f->inner, "k", &b);
    const char *head = "{\"FreshUntil\":\"";
    assert_memory_equal(b.data, head, strlen(head));
    const char *tail = "\",\"Value\":{\"a\":[1,\"\\u003c\"]}}";
    assert_true(b.len > strlen(tail));
    assert_memory_equal(b.data + b.len - strlen(tail), tail, strlen(tail));
    goio_type_json_time_value t;
    goio_bytes v = {0};
    assert_ok(goio_type_json_envelope_decode(NULL, b.data, b.len, &t, &v));
    int64_t ns = t.sec * 1000000000 + t.nsec;
    assert_true(ns >= before + INT64_C(1500000000));
    assert_true(ns <= after + INT64_C(1500000000));
    assert_int_equal(t.offset, 0); /* written as Z */
    goio_type_value_deinit(&goio_type_json_raw, &v);
    /* read back: the compacted JSON */
    get_raw(s, "k", &b);
    const char *compact = "{\"a\":[1,\"\\u003c\"]}";
    assert_int_equal(b.len, strlen(compact));
    assert_memory_equal(b.data, compact, b.len);
    goio_buf_deinit(&b);
    goio_cache_free(s);
}

static void freshness_from_any_rfc3339_time(void **state)
{
    (void)state;
    goio_cache *m = memory_cache(1 << 20, 0, 0);
    goio_cache *s = NULL;
    assert_ok(goio_cache_stale_new_wire(m, HOUR, false, WIRE, &s));
    static const struct {
        const char *key, *bytes;
        bool fresh;
    } cases[] = {
        {"future", "{\"FreshUntil\":\"2999-01-01T00:00:00+01:00\",\"Value\":1}",
         true},
        {"future-nanos",
         "{\"FreshUntil\":\"2999-01-01T00:00:00.123456789Z\",\"Value\":1}",
         true},
        {"past", "{\"FreshUntil\":\"2000-01-01T00:00:00.5Z\",\"Value\":1}",
         false},
        {"zero", "{\"Value\":1}", false}, /* Go's zero time */
        {"keys",
         " {\"freshuntil\":\"2999-01-01T00:00:00Z\",\"X\":0,"
         "\"value\":1} ",
         true},
        /* the usual form up to its end, but Go keeps the last Value */
        {"twice",
         "{\"FreshUntil\":\"2999-01-01T00:00:00Z\",\"Value\":0,"
         "\"Value\":1}",
         true},
        {"spaces", "{\"FreshUntil\":\"2999-01-01T00:00:00Z\",\"Value\": 1 }",
         true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_ok(goio_cache_set(m, NULL, cases[i].key, cases[i].bytes,
                                 strlen(cases[i].bytes), HOUR));
        goio_buf b = GOIO_BUF_INIT;
        bool hit = false, stale = true;
        assert_ok(goio_cache_get(s, NULL, cases[i].key, &b, &hit));
        assert_int_equal(hit, cases[i].fresh);
        assert_ok(
            goio_cache_get_stale(s, NULL, cases[i].key, &b, &hit, &stale));
        assert_true(hit);
        assert_int_equal(stale, !cases[i].fresh);
        assert_int_equal(b.len, 1);
        assert_memory_equal(b.data, "1", 1);
        goio_buf_deinit(&b);
    }
    /* a ttl <= 0 is stale at once */
    assert_ok(goio_cache_set(s, NULL, "now", "2", 1, 0));
    assert_missing(s, "now");
    goio_cache_free(s);
    goio_cache_free(m);
}

static void values_go_cannot_decode_are_refused(void **state)
{
    (void)state;
    goio_cache *local = memory_cache(1 << 20, 0, 0);
    goio_cache *remote = memory_cache(1 << 20, 0, 0);
    goio_cache *h = NULL, *s = NULL;
    assert_ok(goio_cache_hybrid_new_wire(local, remote, false, WIRE, &h));
    assert_ok(goio_cache_stale_new_wire(remote, HOUR, false, WIRE, &s));
    const char *bad[] = {"", "x", "{", "1 2", "\"\\q\"", "[1,]", "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            goio_cache_set(h, NULL, "k", bad[i], strlen(bad[i]), HOUR),
            GOIO_EINVAL);
        assert_int_equal(
            goio_cache_set(s, NULL, "k", bad[i], strlen(bad[i]), HOUR),
            GOIO_EINVAL);
    }
    assert_missing(local, "k");
    assert_missing(remote, "k");
    double nan = 0.0 / 0.0;
    assert_int_equal(
        goio_cache_set_typed(h, NULL, "k", &goio_type_double, &nan, HOUR),
        GOIO_ERANGE);
    assert_missing(local, "k");
    assert_missing(remote, "k");
    goio_cache_free(s);
    goio_cache_free(h);
    goio_cache_free(local);
    goio_cache_free(remote);
}

static void hybrid_local_value_remote_envelope(void **state)
{
    (void)state;
    fault_cache *remote = fault_cache_new();
    goio_cache *local = memory_cache(1 << 20, 0, 0);
    goio_cache *h = NULL;
    assert_ok(goio_cache_hybrid_new_wire(local, &remote->base, true, WIRE, &h));
    assert_ok(goio_cache_set(h, NULL, "k", "[ 1 ]", 5, 60000));
    assert_int_equal(atomic_load(&remote->last_set_ttl), 60000);
    assert_cached(local, "k", "[1]");
    goio_buf b = GOIO_BUF_INIT;
    get_raw(remote->inner, "k", &b);
    const char *tail = "\",\"Value\":[1]}";
    assert_memory_equal(b.data + b.len - strlen(tail), tail, strlen(tail));
    /* a remote hit fills the local layer with the remaining freshness */
    assert_ok(goio_cache_del(local, NULL, "k"));
    assert_cached(h, "k", "[1]");
    assert_cached(local, "k", "[1]");
    /* an expired remote envelope is returned but never kept locally */
    const char *old = "{\"FreshUntil\":\"2001-01-01T00:00:00Z\",\"Value\":7}";
    assert_ok(
        goio_cache_set(remote->inner, NULL, "old", old, strlen(old), 60000));
    assert_cached(h, "old", "7");
    assert_missing(local, "old");
    /* goio's binary envelope in the remote layer is a logged miss */
    goio_buf env = GOIO_BUF_INIT;
    assert_ok(
        goio_cache_envelope_encode(&env, goio_now_wall_ms() + 60000, "7", 1));
    assert_ok(
        goio_cache_set(remote->inner, NULL, "bin", env.data, env.len, 60000));
    log_capture_start();
    assert_missing(h, "bin");
    log_capture_stop();
    assert_int_equal(log_capture_count("bad_cache_envelope", "bin", NULL), 1);
    goio_buf_deinit(&env);
    goio_buf_deinit(&b);
    goio_cache_free(h);
}

static void get_remote_in_either_wire(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++) {
        goio_cache *local = memory_cache(1 << 20, 0, 0);
        goio_cache *remote = memory_cache(1 << 20, 0, 0);
        goio_cache *h = NULL;
        assert_ok(goio_cache_hybrid_new_wire(local, remote, true,
                                             (goio_cache_wire)w, &h));
        assert_ok(goio_cache_set(h, NULL, "k", "[2]", 3, HOUR));
        assert_ok(goio_cache_del(local, NULL, "k"));
        goio_buf b = GOIO_BUF_INIT;
        bool hit = false;
        assert_ok(goio_cache_hybrid_get_remote(h, NULL, "k", &b, &hit));
        assert_true(hit);
        assert_int_equal(b.len, 3);
        assert_memory_equal(b.data, "[2]", 3);
        assert_missing(local, "k"); /* not filled */
        assert_ok(goio_cache_set(remote, NULL, "plain", "[2]", 3, HOUR));
        log_capture_start();
        assert_ok(goio_cache_hybrid_get_remote(h, NULL, "plain", &b, &hit));
        log_capture_stop();
        assert_false(hit);
        assert_int_equal(log_capture_count("bad_cache_envelope", "plain", NULL),
                         1);
        assert_int_equal(
            goio_cache_hybrid_get_remote(local, NULL, "k", &b, &hit),
            GOIO_EINVAL);
        assert_int_equal(goio_cache_hybrid_get_remote(h, NULL, "", &b, &hit),
                         GOIO_EINVAL);
        goio_buf_deinit(&b);
        goio_cache_free(h);
    }
}

static void formats_never_misread(void **state)
{
    (void)state;
    goio_cache *m = memory_cache(1 << 20, 0, 0);
    goio_cache *w = NULL, *g = NULL;
    assert_ok(goio_cache_stale_new_wire(m, HOUR, false, WIRE, &w));
    assert_ok(goio_cache_stale_new(m, HOUR, false, &g));
    assert_ok(goio_cache_set(w, NULL, "w", "1", 1, HOUR));
    assert_ok(goio_cache_set(g, NULL, "g", "1", 1, HOUR));
    log_capture_start();
    assert_missing(g, "w");
    assert_missing(w, "g");
    log_capture_stop();
    assert_int_equal(log_capture_count("bad_cache_envelope", "w", NULL), 1);
    assert_int_equal(log_capture_count("bad_cache_envelope", "g", NULL), 1);
    assert_cached(w, "w", "1");
    assert_cached(g, "g", "1");
    goio_cache_free(w);
    goio_cache_free(g);
    goio_cache_free(m);
}

static void typed_values_are_go_json(void **state)
{
    (void)state;
    goio_cache *m = memory_cache(1 << 20, 0, 0);
    goio_cache *s = NULL;
    assert_ok(goio_cache_stale_new_wire(m, HOUR, false, WIRE, &s));
    const char *str = "h\xffi\"";
    assert_ok(
        goio_cache_set_typed(s, NULL, "s", &goio_type_string, &str, HOUR));
    assert_cached(s, "s", "\"h\\ufffdi\\\"\"");
    goio_bytes raw = {(uint8_t *)"\x00\x01\xff", 3};
    assert_ok(goio_cache_set_typed(s, NULL, "b", &goio_type_bytes, &raw, HOUR));
    assert_cached(s, "b", "\"AAH/\""); /* []byte inside JSON: base64 */
    goio_bytes got = {0};
    bool hit = false;
    assert_ok(goio_cache_get_typed(s, NULL, "b", &goio_type_bytes, &got, &hit));
    assert_true(hit);
    assert_int_equal(got.len, 3);
    assert_memory_equal(got.data, raw.data, 3);
    goio_type_value_deinit(&goio_type_bytes, &got);
    double d = 0.1;
    assert_ok(goio_cache_set_typed(s, NULL, "d", &goio_type_double, &d, HOUR));
    assert_cached(s, "d", "0.1");
    /* a JSON string is not an int64 */
    int64_t n = 5;
    assert_int_equal(
        goio_cache_get_typed(s, NULL, "s", &goio_type_int64, &n, &hit),
        GOIO_ETYPE);
    assert_int_equal(n, 5);
    assert_false(hit);
    goio_cache_free(s);
    goio_cache_free(m);
}

/* ---- concurrent get_or_set over stale(hybrid(memory, memory)) ---------- */

#define THREADS 4
#define KEYS    64

typedef struct conc {
    goio_cache *top;
    atomic_int fetches;
    atomic_int bad;
} conc;

static int fetch_json(goio_ctx *ctx, const char *key, void *value, void *data)
{
    (void)ctx;
    atomic_fetch_add(&((conc *)data)->fetches, 1);
    *(char **)value = goio_strdup(key);
    return *(char **)value ? 0 : GOIO_ENOMEM;
}

static void *conc_run(void *arg)
{
    conc *c = arg;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < KEYS; i++) {
            char key[32];
            snprintf(key, sizeof key, "key-%d", i);
            char *v = NULL;
            int rc = goio_cache_get_or_set_typed(c->top, NULL, key, HOUR,
                                                 &goio_type_string, fetch_json,
                                                 c, &v, NULL);
            if (rc != 0 || !v || strcmp(v, key))
                atomic_fetch_add(&c->bad, 1);
            goio_free(v);
        }
    }
    return NULL;
}

static void concurrent_callers_share_fetches(void **state)
{
    (void)state;
    goio_cache *local = memory_cache(1 << 20, 0, 0);
    goio_cache *remote = memory_cache(1 << 20, 0, 0);
    goio_cache *h = NULL;
    conc c;
    memset(&c, 0, sizeof c);
    assert_ok(goio_cache_hybrid_new_wire(local, remote, true, WIRE, &h));
    assert_ok(goio_cache_stale_new_wire(h, HOUR, true, WIRE, &c.top));
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, conc_run, &c), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(atomic_load(&c.bad), 0);
    assert_int_equal(atomic_load(&c.fetches), KEYS); /* one per key */
    goio_cache_free(c.top);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments),
        cmocka_unit_test(stale_writes_go_ios_envelope),
        cmocka_unit_test(freshness_from_any_rfc3339_time),
        cmocka_unit_test(values_go_cannot_decode_are_refused),
        cmocka_unit_test(hybrid_local_value_remote_envelope),
        cmocka_unit_test(get_remote_in_either_wire),
        cmocka_unit_test(formats_never_misread),
        cmocka_unit_test(typed_values_are_go_json),
        cmocka_unit_test(concurrent_callers_share_fetches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
