/* SPDX-License-Identifier: MIT */
/*
 * The hybrid cache: local then remote, TTL carried by the envelope,
 * local failures (fault injection) falling back to remote, invalidation.
 */
#include "cache_test.h"
#include "test_util.h"

#include <string.h>

#define HOUR (3600 * 1000)

typedef struct layers {
    fault_cache *local, *remote;
    goio_cache *h;
} layers;

static layers make_layers(void)
{
    layers l = {fault_cache_new(), fault_cache_new(), NULL};
    assert_ok(
        goio_cache_hybrid_new(&l.local->base, &l.remote->base, true, &l.h));
    return l;
}

/* Puts an envelope fresh until now + fresh_ms straight into a layer. */
static void put_envelope(goio_cache *c, const char *key, const char *value,
                         int64_t fresh_ms)
{
    goio_buf env = GOIO_BUF_INIT;
    assert_ok(goio_cache_envelope_encode(&env, goio_now_wall_ms() + fresh_ms,
                                         value, strlen(value)));
    assert_ok(goio_cache_set(c, NULL, key, env.data, env.len, HOUR));
    goio_buf_deinit(&env);
}

static void set_writes_both_layers(void **state)
{
    (void)state;
    layers l = make_layers();
    assert_ok(goio_cache_set(l.h, NULL, "k", "value", 5, 60000));
    assert_int_equal(atomic_load(&l.local->last_set_ttl), 60000);
    assert_int_equal(atomic_load(&l.remote->last_set_ttl), 60000);
    assert_cached(l.local->inner, "k", "value"); /* plain locally */
    goio_buf raw = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_cache_get(l.remote->inner, NULL, "k", &raw, &hit));
    int64_t until;
    const uint8_t *v;
    size_t len;
    assert_ok(goio_cache_envelope_decode(raw.data, raw.len, &until, &v, &len));
    assert_true(len == 5 && !memcmp(v, "value", 5));
    int64_t left = until - goio_now_wall_ms();
    assert_true(left > 50000 && left <= 60000);
    /* A local hit does not ask the remote layer. */
    int remote_gets = atomic_load(&l.remote->gets);
    assert_cached(l.h, "k", "value");
    assert_int_equal(atomic_load(&l.remote->gets), remote_gets);
    goio_buf_deinit(&raw);
    goio_cache_free(l.h);
}

static void remote_hit_fills_local_with_remaining_ttl(void **state)
{
    (void)state;
    test_clock clk = {1000};
    layers l = {fault_cache_new_clocked(&clk), fault_cache_new(), NULL};
    assert_ok(
        goio_cache_hybrid_new(&l.local->base, &l.remote->base, true, &l.h));
    put_envelope(&l.remote->base, "k", "from-remote", 400);
    assert_cached(l.h, "k", "from-remote");
    int64_t ttl = atomic_load(&l.local->last_set_ttl);
    assert_true(ttl > 0 && ttl <= 400);
    assert_cached(l.local->inner, "k", "from-remote");
    /* It expires locally when it stops being fresh, not an hour later. */
    test_clock_advance(&clk, ttl - 1);
    assert_cached(l.local->inner, "k", "from-remote");
    test_clock_advance(&clk, 1);
    assert_missing(l.local->inner, "k");
    goio_cache_free(l.h);
}

static void expired_remote_value_is_not_kept_locally(void **state)
{
    (void)state;
    layers l = make_layers();
    /* The remote layer still holds it, but its envelope says it went
     * stale a second ago (another clock, say): returned, not kept. */
    put_envelope(&l.remote->base, "k", "late", -1000);
    int sets = atomic_load(&l.local->sets);
    assert_cached(l.h, "k", "late");
    assert_int_equal(atomic_load(&l.local->sets), sets);
    assert_missing(l.local->inner, "k");
    goio_cache_free(l.h);
}

/* Fault injection: the local layer fails; the remote one answers. */
static void local_failure_falls_back_to_remote(void **state)
{
    (void)state;
    layers l = make_layers();
    assert_ok(goio_cache_set(l.h, NULL, "k", "v", 1, HOUR));
    atomic_store(&l.local->fail_get, GOIO_EIO);
    atomic_store(&l.local->fail_set, GOIO_ENOMEM);
    log_capture_start();
    assert_cached(l.h, "k", "v");
    int err = 0;
    assert_int_equal(log_capture_count("get_local_error", "k", &err), 1);
    assert_int_equal(err, GOIO_EIO);
    assert_int_equal(log_capture_count("set_local_error", "k", &err), 1);
    assert_int_equal(err, GOIO_ENOMEM);
    /* A set still reaches the remote layer and succeeds. */
    assert_ok(goio_cache_set(l.h, NULL, "k2", "v2", 2, HOUR));
    assert_int_equal(log_capture_count("set_local_error", "k2", NULL), 1);
    log_capture_stop();
    atomic_store(&l.local->fail_get, 0);
    atomic_store(&l.local->fail_set, 0);
    assert_missing(l.local->inner, "k2");
    assert_cached(l.h, "k2", "v2");
    goio_cache_free(l.h);
}

static void remote_errors_and_bad_bytes(void **state)
{
    (void)state;
    layers l = make_layers();
    atomic_store(&l.remote->fail_get, GOIO_ECONNREFUSED);
    log_capture_start();
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_goio(GOIO_ECONNREFUSED, goio_cache_get(l.h, NULL, "k", &b, &hit));
    assert_false(hit);
    assert_int_equal(log_capture_count("get_remote_error", "k", NULL), 1);
    atomic_store(&l.remote->fail_get, 0);
    assert_ok(goio_cache_set(l.remote->inner, NULL, "raw", "plain", 5, HOUR));
    assert_missing(l.h, "raw");
    assert_int_equal(log_capture_count("bad_cache_envelope", "raw", NULL), 1);
    atomic_store(&l.remote->fail_set, GOIO_ECONNRESET);
    assert_goio(GOIO_ECONNRESET, goio_cache_set(l.h, NULL, "x", "1", 1, HOUR));
    log_capture_stop();
    goio_buf_deinit(&b);
    goio_cache_free(l.h);
}

static void invalidation_drops_local_only(void **state)
{
    (void)state;
    layers l = make_layers();
    assert_ok(goio_cache_set(l.h, NULL, "a", "1", 1, HOUR));
    assert_ok(goio_cache_set(l.h, NULL, "b", "2", 1, HOUR));
    assert_ok(goio_cache_hybrid_invalidate(l.h, NULL, "a"));
    assert_missing(l.local->inner, "a");
    assert_cached(l.local->inner, "b", "2");
    assert_cached(l.h, "a", "1"); /* refetched from remote */
    assert_cached(l.local->inner, "a", "1");
    assert_ok(goio_cache_hybrid_invalidate_all(l.h, NULL));
    assert_missing(l.local->inner, "a");
    assert_missing(l.local->inner, "b");
    assert_cached(l.h, "b", "2");
    /* Not a hybrid, or a bad key. */
    assert_goio(GOIO_EINVAL,
                goio_cache_hybrid_invalidate(&l.local->base, NULL, "a"));
    assert_goio(GOIO_EINVAL, goio_cache_hybrid_invalidate(l.h, NULL, ""));
    assert_goio(GOIO_EINVAL, goio_cache_hybrid_invalidate(NULL, NULL, "a"));
    assert_goio(GOIO_EINVAL, goio_cache_hybrid_invalidate_all(NULL, NULL));
    assert_ptr_equal(goio_cache_hybrid_local(l.h), &l.local->base);
    assert_ptr_equal(goio_cache_hybrid_remote(l.h), &l.remote->base);
    assert_null(goio_cache_hybrid_local(&l.local->base));
    assert_null(goio_cache_hybrid_remote(NULL));
    /* del and clear reach both layers. */
    assert_ok(goio_cache_del(l.h, NULL, "a"));
    assert_missing(l.remote->inner, "a");
    assert_ok(goio_cache_clear(l.h, NULL));
    assert_missing(l.remote->inner, "b");
    goio_cache_free(l.h);
}

/* Two processes' hybrids over one remote: the TTL travels with the value,
 * so the second one's local copy expires when the first one's does. */
static void ttl_travels_between_processes(void **state)
{
    (void)state;
    goio_cache *remote = memory_cache(1 << 20, 0, 0);
    goio_cache *l1 = memory_cache(1 << 20, 0, 0);
    goio_cache *l2 = memory_cache(1 << 20, 0, 0);
    goio_cache *h1, *h2;
    assert_ok(goio_cache_hybrid_new(l1, remote, false, &h1));
    assert_ok(goio_cache_hybrid_new(l2, remote, false, &h2));
    assert_ok(goio_cache_set(h1, NULL, "k", "shared", 6, 300));
    int64_t set_at = goio_now_mono_ms();
    assert_cached(h2, "k", "shared");
    assert_cached(l2, "k", "shared");
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    while (hit) {
        assert_ok(goio_cache_get(l2, NULL, "k", &b, &hit));
        assert_true(goio_now_mono_ms() - set_at < 5000);
    }
    int64_t gone_after = goio_now_mono_ms() - set_at;
    assert_true(gone_after >= 250);
    assert_missing(h2, "k");
    goio_buf_deinit(&b);
    goio_cache_free(h1);
    goio_cache_free(h2);
    goio_cache_free(l1);
    goio_cache_free(l2);
    goio_cache_free(remote);
}

static int fetch_v(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    (*(int *)arg)++;
    return goio_buf_append_str(out, "fetched");
}

static void get_or_set_and_stats(void **state)
{
    (void)state;
    layers l = make_layers();
    int calls = 0;
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    assert_ok(
        goio_cache_get_or_set(l.h, NULL, "k", HOUR, fetch_v, &calls, &b, &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_cached(l.local->inner, "k", "fetched");
    assert_ok(
        goio_cache_get_or_set(l.h, NULL, "k", HOUR, fetch_v, &calls, &b, &src));
    assert_int_equal(src, GOIO_CACHE_HIT);
    assert_int_equal(calls, 1);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(l.h, &st));
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1); /* no flight stored since: no re-read */
    assert_int_equal(st.sets, 1);
    assert_int_equal(st.fetches, 1);
    assert_int_equal(st.entries, 1); /* the local layer's */
    goio_buf_deinit(&b);
    goio_cache_free(l.h);
}

static void invalid_arguments(void **state)
{
    (void)state;
    goio_cache *a = memory_cache(1 << 20, 0, 0);
    goio_cache *b = memory_cache(1 << 20, 0, 0), *h = (goio_cache *)1;
    assert_goio(GOIO_EINVAL, goio_cache_hybrid_new(NULL, b, false, &h));
    assert_null(h);
    assert_goio(GOIO_EINVAL, goio_cache_hybrid_new(a, NULL, false, &h));
    assert_goio(GOIO_EINVAL, goio_cache_hybrid_new(a, a, false, &h));
    assert_goio(GOIO_EINVAL, goio_cache_hybrid_new(a, b, false, NULL));
    goio_cache_free(a);
    goio_cache_free(b);
}

typedef struct torture {
    goio_cache *a, *b, *h;
} torture;

static int op_hybrid_new(void *arg)
{
    torture *t = arg;
    return goio_cache_hybrid_new(t->a, t->b, false, &t->h);
}

static void cleanup_hybrid(void *arg)
{
    torture *t = arg;
    goio_cache_free(t->h);
    t->h = NULL;
}

static int op_hybrid_rw(void *arg)
{
    torture *t = arg;
    int rc = goio_cache_set(t->h, NULL, "k", "value", 5, HOUR);
    if (rc)
        return rc;
    goio_cache_hybrid_invalidate(t->h, NULL, "k");
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    rc = goio_cache_get(t->h, NULL, "k", &b, &hit);
    goio_buf_deinit(&b);
    return rc ? rc : hit ? 0 : GOIO_EIO;
}

/* clear, not del: it also frees the shard tables the op grew. */
static void cleanup_rw(void *arg)
{
    goio_cache_clear(((torture *)arg)->h, NULL);
}

static void allocation_failures(void **state)
{
    (void)state;
    goio_test_alloc_install();
    torture t = {memory_cache(1 << 20, 0, 0), memory_cache(1 << 20, 0, 0),
                 NULL};
    goio_log_set_sink(NULL, NULL); /* local-layer failures are logged */
    assert_true(goio_test_alloc_torture(op_hybrid_new, cleanup_hybrid, &t) >=
                1);
    assert_ok(goio_cache_hybrid_new(t.a, t.b, false, &t.h));
    /* The read-through fill of the local layer after the invalidate is
     * only logged: that run still reads the value (from the remote layer,
     * op_hybrid_rw checks the hit), every other point is GOIO_ENOMEM.
     * Lower bounds: an entry in each layer, the read buffer. */
    goio_test_torture res;
    goio_test_alloc_torture_ex(op_hybrid_rw, cleanup_rw, &t,
                               GOIO_TEST_TORTURE_ABSORBS, &res);
    assert_true(res.points >= 3);
    assert_true(res.absorbed >= 1 && res.absorbed < res.points);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    goio_cache_free(t.h);
    goio_cache_free(t.a);
    goio_cache_free(t.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_writes_both_layers),
        cmocka_unit_test(remote_hit_fills_local_with_remaining_ttl),
        cmocka_unit_test(expired_remote_value_is_not_kept_locally),
        cmocka_unit_test(local_failure_falls_back_to_remote),
        cmocka_unit_test(remote_errors_and_bad_bytes),
        cmocka_unit_test(invalidation_drops_local_only),
        cmocka_unit_test(ttl_travels_between_processes),
        cmocka_unit_test(get_or_set_and_stats),
        cmocka_unit_test(invalid_arguments),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
