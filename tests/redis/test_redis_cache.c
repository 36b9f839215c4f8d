/* SPDX-License-Identifier: MIT */
/*
 * The Redis cache through the generic goio_cache layer (goio/cache.h):
 * the interface contract, get-or-set with one fetch for many threads,
 * typed values shared with Redis commands, the stale-on-error wrapper and
 * the hybrid (memory in front of Redis), and what happens when Redis is
 * down.
 */
#include "redis_test_util.h"
#include "test_proc.h"
#include "test_redis.h"

#include <goio/cache.h>

#include <stdatomic.h>
#include <stdlib.h>

static goio_test_redis srv;

static int setup(void **state)
{
    (void)state;
    return goio_test_redis_start(&srv, NULL);
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_stop(&srv);
    return 0;
}

static goio_cache *redis_cache(const char *ns)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = ns;
    cfg.read_timeout_ms = cfg.write_timeout_ms = 2000; /* sanitizers */
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    return goio_redis_cache(r);
}

static long cli_long(const char *fmt, const char *arg)
{
    char *out = goio_test_redis_cli(&srv, fmt, arg);
    assert_non_null(out);
    long v = atol(out);
    goio_free(out);
    return v;
}

static void the_interface_contract_holds(void **state)
{
    (void)state;
    goio_cache *c = redis_cache("contract");
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_ok(goio_cache_get(c, NULL, "k", &b, &hit));
    assert_false(hit);
    assert_ok(goio_cache_set(c, NULL, "k", "v\0x", 3, 60000));
    assert_ok(goio_cache_get(c, NULL, "k", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "v\0x", 3);
    assert_ok(goio_cache_del(c, NULL, "k"));
    assert_ok(goio_cache_del(c, NULL, "k")); /* a missing key is fine */
    assert_ok(goio_cache_get(c, NULL, "k", &b, &hit));
    assert_false(hit);
    /* TTL <= 0: stored already expired, reads as missing. */
    assert_ok(goio_cache_set(c, NULL, "z", "v", 1, 0));
    assert_ok(goio_cache_get(c, NULL, "z", &b, &hit));
    assert_false(hit);
    /* Invalid keys: GOIO_EINVAL, nothing stored. */
    char *long_key = goio_malloc(GOIO_CACHE_MAX_KEY + 2);
    memset(long_key, 'a', GOIO_CACHE_MAX_KEY + 1);
    long_key[GOIO_CACHE_MAX_KEY + 1] = 0;
    assert_goio(GOIO_EINVAL, goio_cache_set(c, NULL, NULL, "v", 1, 1000));
    assert_goio(GOIO_EINVAL, goio_cache_set(c, NULL, "", "v", 1, 1000));
    assert_goio(GOIO_EINVAL, goio_cache_set(c, NULL, long_key, "v", 1, 1000));
    assert_goio(GOIO_EINVAL, goio_cache_get(c, NULL, "", &b, &hit));
    goio_free(long_key);
    assert_int_equal(cli_long("DBSIZE%s", ""), 0);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(c, &st));
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 3);
    assert_int_equal(st.sets, 1);
    assert_goio(GOIO_ENOTSUP,
                goio_cache_get_stale(c, NULL, "k", &b, &hit, &(bool){false}));
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

/* ---- get_or_set: one fetch, many callers ---- */

typedef struct flight {
    goio_cache *c;
    atomic_int fetches, started;
    int fail;
    goio_cache_source sources[32];
    int rcs[32];
    goio_buf out[32];
} flight;

static int slow_fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    flight *f = arg;
    atomic_fetch_add(&f->fetches, 1);
    /* Hold the fetch until every caller has asked (or 2 s passed), so
     * they all find it in flight. */
    GOIO_WAIT_UNTIL(atomic_load(&f->started) == 32, 2000);
    if (f->fail)
        return f->fail;
    return goio_buf_append_str(out, "fetched-value");
}

typedef struct caller {
    flight *f;
    int i;
} caller;

static void *call_get_or_set(void *arg)
{
    caller *c = arg;
    flight *f = c->f;
    atomic_fetch_add(&f->started, 1);
    f->rcs[c->i] =
        goio_cache_get_or_set(f->c, NULL, "shared", 30000, slow_fetch, f,
                              &f->out[c->i], &f->sources[c->i]);
    return NULL;
}

static void run_flight(flight *f)
{
    pthread_t t[32];
    caller callers[32];
    for (int i = 0; i < 32; i++) {
        callers[i] = (caller){f, i};
        goio_buf_init(&f->out[i]);
        pthread_create(&t[i], NULL, call_get_or_set, &callers[i]);
    }
    for (int i = 0; i < 32; i++)
        pthread_join(t[i], NULL);
}

static void get_or_set_fetches_once_for_32_threads(void **state)
{
    (void)state;
    flight f = {.c = redis_cache("gos")};
    run_flight(&f);
    assert_int_equal(atomic_load(&f.fetches), 1);
    int fetched = 0;
    for (int i = 0; i < 32; i++) {
        assert_ok(f.rcs[i]);
        assert_int_equal(f.out[i].len, 13);
        assert_memory_equal(f.out[i].data, "fetched-value", 13);
        fetched += f.sources[i] == GOIO_CACHE_FETCHED;
        goio_buf_deinit(&f.out[i]);
    }
    assert_int_equal(fetched, 1);
    /* Stored in Redis with the TTL. */
    long pttl = cli_long("PTTL %s", "gos:shared");
    assert_true(pttl > 0 && pttl <= 30000);
    /* The next call is a hit. */
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    assert_ok(goio_cache_get_or_set(f.c, NULL, "shared", 30000, slow_fetch, &f,
                                    &b, &src));
    assert_int_equal(src, GOIO_CACHE_HIT);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(f.c, &st));
    assert_int_equal(st.fetches, 1);
    goio_buf_deinit(&b);
    goio_cache_free(f.c);
}

static void a_failed_fetch_stores_nothing(void **state)
{
    (void)state;
    flight f = {.c = redis_cache("gosfail"), .fail = GOIO_EIO};
    run_flight(&f);
    /* A failure is not cached: a caller that arrives after the failed
     * flight ended starts another one, so only "at least one". */
    assert_true(atomic_load(&f.fetches) >= 1);
    for (int i = 0; i < 32; i++) {
        assert_goio(GOIO_EIO, f.rcs[i]);
        goio_buf_deinit(&f.out[i]);
    }
    assert_int_equal(cli_long("EXISTS %s", "gosfail:shared"), 0);
    goio_cache_free(f.c);
}

static void typed_values_are_what_redis_commands_see(void **state)
{
    (void)state;
    goio_cache *c = redis_cache("typed");
    int64_t v = 41;
    assert_ok(goio_cache_set_typed(c, NULL, "n", &goio_type_int64, &v, 60000));
    /* goio's int64 encoding is Redis' integer: INCR works on it. */
    int64_t after;
    assert_ok(goio_redis_incr(goio_redis_from_cache(c), NULL, "n", &after));
    assert_int_equal(after, 42);
    int64_t read = 0;
    bool hit;
    assert_ok(
        goio_cache_get_typed(c, NULL, "n", &goio_type_int64, &read, &hit));
    assert_true(hit);
    assert_int_equal(read, 42);
    /* A value that is not an int64 is a type error, not a wrong value. */
    assert_ok(goio_cache_set(c, NULL, "s", "hello", 5, 60000));
    read = 7;
    assert_goio(GOIO_ETYPE, goio_cache_get_typed(c, NULL, "s", &goio_type_int64,
                                                 &read, &hit));
    assert_int_equal(read, 7);
    goio_cache_free(c);
}

/* ---- stale-on-error over Redis ---- */

static int failing_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                         void *arg)
{
    (void)ctx;
    (void)key;
    (void)out;
    atomic_fetch_add((atomic_int *)arg, 1);
    return GOIO_ECONNREFUSED;
}

static void stale_values_survive_in_redis_and_are_served_on_error(void **state)
{
    (void)state;
    goio_cache *rc = redis_cache("stale");
    goio_cache *s;
    assert_ok(goio_cache_stale_new(rc, 60000, true, &s));
    int64_t t0 = goio_now_mono_ms();
    assert_ok(goio_cache_set(s, NULL, "k", "old", 3, 1000));
    /* Redis keeps the envelope for the stale TTL, not the fresh one. */
    long pttl = cli_long("PTTL %s", "stale:k");
    assert_true(pttl > 1000 && pttl <= 60000);
    goio_buf raw = GOIO_BUF_INIT;
    bool hit, stale;
    assert_ok(goio_redis_get(goio_redis_from_cache(rc), NULL, "k", &raw, &hit));
    assert_true(hit && raw.len == GOIO_CACHE_ENVELOPE_HEADER + 3);
    assert_int_equal(raw.data[0], GOIO_CACHE_ENVELOPE_MAGIC);
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_cache_get(s, NULL, "k", &b, &hit));
    assert_true(hit || elapsed_since(t0) >= 1000); /* fresh while fresh */
    /* Once the fresh TTL has passed: a miss, but a stale hit. */
    assert_true(
        GOIO_WAIT_UNTIL(!goio_cache_get(s, NULL, "k", &b, &hit) && !hit, 5000));
    assert_ok(goio_cache_get_stale(s, NULL, "k", &b, &hit, &stale));
    assert_true(hit && stale);
    /* A failing fetch gets the stale value, flagged and logged. */
    atomic_int calls = 0;
    goio_cache_source src;
    logs_capture();
    assert_ok(goio_cache_get_or_set(s, NULL, "k", 1000, failing_fetch, &calls,
                                    &b, &src));
    assert_true(logs_have("used_stale_cache", "k", NULL));
    logs_restore();
    assert_int_equal(src, GOIO_CACHE_STALE);
    assert_int_equal(atomic_load(&calls), 1);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "old", 3);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(s, &st));
    assert_int_equal(st.stale_served, 1);
    /* Without a stale value the fetch's own error is returned. */
    logs_capture();
    assert_goio(GOIO_ECONNREFUSED,
                goio_cache_get_or_set(s, NULL, "none", 1000, failing_fetch,
                                      &calls, &b, &src));
    logs_restore();
    goio_buf_deinit(&raw);
    goio_buf_deinit(&b);
    goio_cache_free(s); /* frees the Redis cache too */
}

/* ---- hybrid: memory in front of Redis ---- */

static goio_cache *memory_cache(void)
{
    goio_cache *m;
    assert_ok(goio_cache_memory_new(NULL, &m));
    return m;
}

static void hybrid_fills_local_from_redis_with_the_remaining_ttl(void **state)
{
    (void)state;
    goio_cache *local1 = memory_cache(), *remote1 = redis_cache("hyb");
    goio_cache *h1;
    assert_ok(goio_cache_hybrid_new(local1, remote1, false, &h1));
    int64_t t0 = goio_now_mono_ms();
    assert_ok(goio_cache_set(h1, NULL, "k", "value", 5, 1500));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_cache_get(local1, NULL, "k", &b, &hit));
    assert_true(hit); /* local got the plain value */
    assert_ok(
        goio_redis_get(goio_redis_from_cache(remote1), NULL, "k", &b, &hit));
    assert_true(hit && b.data[0] == GOIO_CACHE_ENVELOPE_MAGIC);

    /* Another process: empty local cache, same Redis. */
    goio_cache *local2 = memory_cache(), *remote2 = redis_cache("hyb");
    goio_cache *h2;
    assert_ok(goio_cache_hybrid_new(local2, remote2, false, &h2));
    assert_ok(goio_cache_get(h2, NULL, "k", &b, &hit));
    assert_true(hit && b.len == 5 && !memcmp(b.data, "value", 5));
    assert_ok(goio_cache_get(local2, NULL, "k", &b, &hit));
    assert_true(hit); /* filled from the remote hit */
    /* ... with the remaining TTL: it expires with the original. */
    assert_true(GOIO_WAIT_UNTIL(
        !goio_cache_get(local2, NULL, "k", &b, &hit) && !hit, 5000));
    assert_true(elapsed_since(t0) >= 1400);
    /* Redis down: local hits still work, local misses report the error. */
    assert_ok(goio_cache_set(h2, NULL, "local-only", "L", 1, 60000));
    goio_test_redis_kill(&srv);
    assert_ok(goio_cache_get(h2, NULL, "local-only", &b, &hit));
    assert_true(hit);
    logs_capture();
    int rc = goio_cache_get(h2, NULL, "elsewhere", &b, &hit);
    logs_restore();
    assert_true(rc == GOIO_ECONNREFUSED || rc == GOIO_ECONNRESET);
    assert_false(hit);
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    goio_cache_free(h1);
    goio_cache_free(h2);
    goio_cache_free(local1);
    goio_cache_free(local2);
    goio_cache_free(remote1);
    goio_cache_free(remote2);
    goio_buf_deinit(&b);
}

static int ok_fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    atomic_fetch_add((atomic_int *)arg, 1);
    return goio_buf_append_str(out, "computed");
}

static void get_or_set_keeps_working_while_redis_is_down(void **state)
{
    (void)state;
    goio_cache *c = redis_cache("down");
    goio_test_redis_kill(&srv);
    atomic_int calls = 0;
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    bool hit;
    logs_capture();
    assert_goio(GOIO_ECONNREFUSED, goio_cache_get(c, NULL, "k", &b, &hit));
    /* The read error is a miss and the failed store is logged: the
     * caller still gets its value. */
    assert_ok(
        goio_cache_get_or_set(c, NULL, "k", 1000, ok_fetch, &calls, &b, &src));
    assert_true(logs_have("get_from_cache_error", "k", NULL));
    assert_true(logs_have("set_cache_error", "k", NULL));
    logs_restore();
    assert_int_equal(atomic_load(&calls), 1);
    assert_memory_equal(b.data, "computed", 8);
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    /* Back up once the reconnect backoff has passed: stored this time. */
    bool ex;
    assert_true(GOIO_WAIT_UNTIL(
        goio_redis_exists(goio_redis_from_cache(c), NULL, "k", &ex) == 0,
        2500));
    assert_ok(
        goio_cache_get_or_set(c, NULL, "k", 60000, ok_fetch, &calls, &b, &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_int_equal(cli_long("EXISTS %s", "down:k"), 1);
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_interface_contract_holds),
        cmocka_unit_test(get_or_set_fetches_once_for_32_threads),
        cmocka_unit_test(a_failed_fetch_stores_nothing),
        cmocka_unit_test(typed_values_are_what_redis_commands_see),
        cmocka_unit_test(stale_values_survive_in_redis_and_are_served_on_error),
        cmocka_unit_test(hybrid_fills_local_from_redis_with_the_remaining_ttl),
        cmocka_unit_test(get_or_set_keeps_working_while_redis_is_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
