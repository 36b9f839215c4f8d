/* SPDX-License-Identifier: MIT */
/*
 * The stale-on-error wrapper: envelopes under the stale TTL, fresh-only
 * get, get_stale, stale served when a fetch fails (flag, counter, log).
 */
#include "cache_test.h"
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#define HOUR (3600 * 1000)

static goio_cache *stale_over(goio_cache *storage, bool own)
{
    goio_cache *s = NULL;
    assert_ok(goio_cache_stale_new(storage, HOUR, own, &s));
    return s;
}

/* Waits until key is no longer fresh in s. */
static void wait_stale(goio_cache *s, const char *key)
{
    assert_true(GOIO_WAIT_UNTIL(reads_missing(s, key), 5000));
}

static void stores_envelopes_under_the_stale_ttl(void **state)
{
    (void)state;
    fault_cache *f = fault_cache_new();
    goio_cache *s = stale_over(&f->base, true);
    assert_ok(goio_cache_set(s, NULL, "k", "v1", 2, 1000));
    assert_int_equal(atomic_load(&f->last_set_ttl), HOUR);
    /* A TTL longer than the stale one wins. */
    assert_ok(goio_cache_set(s, NULL, "long", "v", 1, 2 * HOUR));
    assert_int_equal(atomic_load(&f->last_set_ttl), 2 * HOUR);
    /* Storage holds an envelope, fresh for ~1 s from now. */
    goio_buf raw = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_cache_get(f->inner, NULL, "k", &raw, &hit));
    assert_true(hit);
    int64_t until;
    const uint8_t *v;
    size_t len;
    assert_ok(goio_cache_envelope_decode(raw.data, raw.len, &until, &v, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(v, "v1", 2);
    int64_t left = until - goio_now_wall_ms();
    assert_true(left > 0 && left <= 1000);
    assert_cached(s, "k", "v1");
    goio_buf_deinit(&raw);
    goio_cache_free(s); /* frees storage too */
}

static void get_is_fresh_only_get_stale_is_not(void **state)
{
    (void)state;
    goio_cache *mem = memory_cache(1 << 20, 0, 0);
    goio_cache *s = stale_over(mem, false);
    assert_ok(goio_cache_set(s, NULL, "k", "old", 3, 20));
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false, stale = true;
    assert_ok(goio_cache_get_stale(s, NULL, "k", &b, &hit, &stale));
    assert_true(hit);
    assert_false(stale);
    wait_stale(s, "k");
    assert_ok(goio_cache_get_stale(s, NULL, "k", &b, &hit, &stale));
    assert_true(hit && stale);
    assert_string_equal(goio_buf_cstr(&b), "old");
    /* ttl <= 0: stale at once, but kept for the stale TTL. */
    assert_ok(goio_cache_set(s, NULL, "z", "zero", 4, 0));
    assert_missing(s, "z");
    assert_ok(goio_cache_get_stale(s, NULL, "z", &b, &hit, &stale));
    assert_true(hit && stale);
    assert_ok(goio_cache_get_stale(s, NULL, "none", &b, &hit, &stale));
    assert_false(hit || stale);
    /* del and clear reach the storage. */
    assert_ok(goio_cache_del(s, NULL, "k"));
    assert_missing(mem, "k");
    assert_ok(goio_cache_clear(s, NULL));
    assert_missing(mem, "z");
    goio_buf_deinit(&b);
    goio_cache_free(s);
    goio_cache_free(mem); /* not owned */
}

static int failing_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                         void *arg)
{
    (void)ctx;
    (void)key;
    (void)out;
    atomic_fetch_add((atomic_int *)arg, 1);
    return GOIO_ECONNREFUSED;
}

static int fresh_fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    atomic_fetch_add((atomic_int *)arg, 1);
    return goio_buf_append_str(out, "new");
}

static void stale_served_when_the_fetch_fails(void **state)
{
    (void)state;
    goio_cache *s = stale_over(memory_cache(1 << 20, 0, 0), true);
    atomic_int calls = 0;
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    assert_ok(goio_cache_set(s, NULL, "k", "old", 3, 20));
    /* Fresh: no fetch. */
    assert_ok(goio_cache_get_or_set(s, NULL, "k", HOUR, failing_fetch, &calls,
                                    &b, &src));
    assert_int_equal(src, GOIO_CACHE_HIT);
    assert_int_equal(atomic_load(&calls), 0);
    wait_stale(s, "k");
    log_capture_start();
    assert_ok(goio_cache_get_or_set(s, NULL, "k", HOUR, failing_fetch, &calls,
                                    &b, &src));
    assert_int_equal(src, GOIO_CACHE_STALE);
    assert_string_equal(goio_buf_cstr(&b), "old");
    assert_int_equal(atomic_load(&calls), 1);
    int err = 0;
    assert_int_equal(log_capture_count("used_stale_cache", "k", &err), 1);
    assert_int_equal(err, GOIO_ECONNREFUSED);
    log_capture_stop();
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(s, &st));
    assert_int_equal(st.stale_served, 1);
    assert_int_equal(st.fetches, 1);
    assert_int_equal(st.fetch_errors, 1);
    /* A fetch that works replaces the stale value. */
    assert_ok(goio_cache_get_or_set(s, NULL, "k", HOUR, fresh_fetch, &calls, &b,
                                    &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_string_equal(goio_buf_cstr(&b), "new");
    assert_cached(s, "k", "new");
    goio_buf_deinit(&b);
    goio_cache_free(s);
}

/* Without a stale value: the fetch's own code, as in every layer. */
static void no_stale_value_returns_the_fetch_error(void **state)
{
    (void)state;
    goio_cache *s = stale_over(memory_cache(1 << 20, 0, 0), true);
    atomic_int calls = 0;
    goio_buf b = GOIO_BUF_INIT;
    log_capture_start();
    assert_goio(GOIO_ECONNREFUSED,
                goio_cache_get_or_set(s, NULL, "k", HOUR, failing_fetch, &calls,
                                      &b, NULL));
    int err = 0;
    assert_int_equal(log_capture_count("fetch_failed", "k", &err), 1);
    assert_int_equal(err, GOIO_ECONNREFUSED);
    assert_int_equal(log_capture_count("used_stale_cache", NULL, NULL), 0);
    log_capture_stop();
    assert_null(b.data);
    assert_missing(s, "k");
    goio_buf_deinit(&b);
    goio_cache_free(s);
}

/* An origin that never answers: waits until its ctx is done. */
static int hanging_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                         void *arg)
{
    (void)key;
    (void)out;
    atomic_fetch_add((atomic_int *)arg, 1);
    while (!goio_ctx_err(ctx))
        goio_ctx_wait(ctx, 1000);
    return goio_ctx_err(ctx);
}

static void deadline_passing_serves_stale(void **state)
{
    (void)state;
    goio_cache *s = stale_over(memory_cache(1 << 20, 0, 0), true);
    atomic_int calls = 0;
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    assert_ok(goio_cache_set(s, NULL, "k", "old", 3, 0)); /* stale at once */
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 20, &ctx));
    log_capture_start();
    int64_t t0 = goio_now_mono_ms();
    assert_ok(goio_cache_get_or_set(s, ctx, "k", HOUR, hanging_fetch, &calls,
                                    &b, &src));
    int64_t took = goio_now_mono_ms() - t0;
    assert_int_equal(src, GOIO_CACHE_STALE);
    assert_string_equal(goio_buf_cstr(&b), "old");
    assert_int_equal(atomic_load(&calls), 1);
    assert_true(took >= 19 && took < 1000);
    int err = 0;
    assert_int_equal(log_capture_count("used_stale_cache", "k", &err), 1);
    assert_int_equal(err, GOIO_ETIMEDOUT);
    goio_ctx_unref(ctx);
    /* Without a stale value the caller gets its deadline's error. */
    assert_ok(goio_ctx_new_with_timeout(NULL, 20, &ctx));
    assert_goio(GOIO_ETIMEDOUT,
                goio_cache_get_or_set(s, ctx, "none", HOUR, hanging_fetch,
                                      &calls, &b, &src));
    assert_int_equal(log_capture_count("fetch_failed", "none", NULL), 0);
    log_capture_stop();
    goio_ctx_unref(ctx);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(s, &st));
    assert_int_equal(st.stale_served, 1);
    goio_buf_deinit(&b);
    goio_cache_free(s);
}

/* Fault injection: a remote layer that stopped answering. The caller's
 * ctx reaches it through stale -> hybrid, and ends the call. */
static void layers_pass_the_ctx_down(void **state)
{
    (void)state;
    fault_cache *f = fault_cache_new();
    goio_cache *h, *s;
    assert_ok(
        goio_cache_hybrid_new(memory_cache(1 << 20, 0, 0), &f->base, true, &h));
    s = stale_over(h, true);
    atomic_store(&f->hang, true);
    atomic_int calls = 0;
    goio_buf b = GOIO_BUF_INIT;
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 20, &ctx));
    int64_t t0 = goio_now_mono_ms();
    assert_goio(GOIO_ETIMEDOUT,
                goio_cache_get_or_set(s, ctx, "k", HOUR, fresh_fetch, &calls,
                                      &b, NULL));
    int64_t took = goio_now_mono_ms() - t0;
    assert_true(took >= 19 && took < 1000);
    assert_ptr_equal(atomic_load(&f->last_ctx), ctx);
    assert_int_equal(atomic_load(&calls), 0); /* the read used it all */
    goio_ctx_unref(ctx);
    /* A cancelled ctx ends a plain get the same way. */
    assert_ok(goio_ctx_new(NULL, &ctx));
    goio_ctx_cancel(ctx);
    bool hit = true;
    assert_goio(GOIO_ECANCELED, goio_cache_get(s, ctx, "k", &b, &hit));
    assert_false(hit);
    goio_ctx_unref(ctx);
    atomic_store(&f->hang, false);
    goio_buf_deinit(&b);
    goio_cache_free(s);
}

/* Fault injection: the storage fails reads. get reports it; get_or_set
 * logs it and fetches as on a miss. */
static void storage_read_error_is_a_logged_miss(void **state)
{
    (void)state;
    fault_cache *f = fault_cache_new();
    goio_cache *s = stale_over(&f->base, true);
    assert_ok(goio_cache_set(s, NULL, "k", "old", 3, HOUR));
    atomic_store(&f->fail_get, GOIO_EIO);
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_goio(GOIO_EIO, goio_cache_get(s, NULL, "k", &b, &hit));
    assert_false(hit);
    log_capture_start();
    atomic_int calls = 0;
    goio_cache_source src;
    assert_ok(goio_cache_get_or_set(s, NULL, "k", HOUR, fresh_fetch, &calls, &b,
                                    &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_string_equal(goio_buf_cstr(&b), "new");
    assert_true(log_capture_count("get_from_cache_error", "k", NULL) >= 1);
    log_capture_stop();
    atomic_store(&f->fail_get, 0);
    assert_cached(s, "k", "new");
    goio_buf_deinit(&b);
    goio_cache_free(s);
}

static void non_envelope_bytes_are_a_logged_miss(void **state)
{
    (void)state;
    goio_cache *mem = memory_cache(1 << 20, 0, 0);
    goio_cache *s = stale_over(mem, true);
    assert_ok(goio_cache_set(mem, NULL, "raw", "plain bytes", 11, HOUR));
    log_capture_start();
    assert_missing(s, "raw");
    int err = 0;
    assert_int_equal(log_capture_count("bad_cache_envelope", "raw", &err), 1);
    assert_int_equal(err, GOIO_EBADMSG);
    log_capture_stop();
    goio_cache_free(s);
}

/* ---- many callers on a stale key whose fetch fails ---- */

enum { CALLERS = 200 };

typedef struct crowd {
    goio_cache *s;
    atomic_int fetches, stale, wrong, all_joined;
} crowd;

/* Fails once every caller has joined its flight (or after 10 s). */
static int slow_failing_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                              void *arg)
{
    (void)ctx;
    (void)out;
    crowd *cr = arg;
    atomic_fetch_add(&cr->fetches, 1);
    if (GOIO_WAIT_UNTIL(flight_callers(cr->s, key) == CALLERS, 10000))
        atomic_store(&cr->all_joined, 1);
    return GOIO_ETIMEDOUT;
}

static void *crowd_caller(void *p)
{
    crowd *cr = p;
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    int rc = goio_cache_get_or_set(cr->s, NULL, "hot", HOUR, slow_failing_fetch,
                                   cr, &b, &src);
    if (rc == 0 && src == GOIO_CACHE_STALE && !strcmp(goio_buf_cstr(&b), "old"))
        atomic_fetch_add(&cr->stale, 1);
    else
        atomic_fetch_add(&cr->wrong, 1);
    goio_buf_deinit(&b);
    return NULL;
}

static void one_failed_fetch_serves_every_caller_stale(void **state)
{
    (void)state;
    crowd cr = {.s = stale_over(memory_cache(1 << 20, 0, 0), true)};
    assert_ok(goio_cache_set(cr.s, NULL, "hot", "old", 3, -1));
    goio_log_set_sink(NULL, NULL); /* 200 used_stale_cache records */
    pthread_t th[CALLERS];
    for (int i = 0; i < CALLERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, crowd_caller, &cr), 0);
    for (int i = 0; i < CALLERS; i++)
        pthread_join(th[i], NULL);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    /* Every caller joined the one flight before its fetch failed. */
    assert_true(atomic_load(&cr.all_joined));
    assert_int_equal(atomic_load(&cr.wrong), 0);
    assert_int_equal(atomic_load(&cr.stale), CALLERS);
    assert_true(atomic_load(&cr.fetches) >= 1);
    assert_true(atomic_load(&cr.fetches) < CALLERS / 4);
    assert_int_equal(atomic_load(&cr.fetches), 1);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(cr.s, &st));
    assert_int_equal(st.stale_served, CALLERS);
    goio_cache_free(cr.s);
}

static void invalid_arguments(void **state)
{
    (void)state;
    goio_cache *mem = memory_cache(1 << 20, 0, 0), *s = (goio_cache *)1;
    assert_goio(GOIO_EINVAL, goio_cache_stale_new(NULL, HOUR, false, &s));
    assert_null(s);
    assert_goio(GOIO_EINVAL, goio_cache_stale_new(mem, 0, false, &s));
    assert_goio(GOIO_EINVAL, goio_cache_stale_new(mem, -1, false, &s));
    assert_goio(GOIO_EINVAL, goio_cache_stale_new(mem, HOUR, false, NULL));
    goio_cache_free(mem);
}

static void stats_are_this_layers(void **state)
{
    (void)state;
    goio_cache *s = stale_over(memory_cache(1 << 20, 0, 0), true);
    assert_ok(goio_cache_set(s, NULL, "a", "1", 1, HOUR));
    assert_ok(goio_cache_set(s, NULL, "b", "2", 1, -1));
    assert_cached(s, "a", "1");
    assert_missing(s, "b");
    assert_ok(goio_cache_del(s, NULL, "a"));
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(s, &st));
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.sets, 2);
    assert_int_equal(st.deletes, 1);
    assert_int_equal(st.entries, 1); /* b, kept stale in storage */
    assert_true(st.bytes > 0);
    goio_cache_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stores_envelopes_under_the_stale_ttl),
        cmocka_unit_test(get_is_fresh_only_get_stale_is_not),
        cmocka_unit_test(stale_served_when_the_fetch_fails),
        cmocka_unit_test(no_stale_value_returns_the_fetch_error),
        cmocka_unit_test(deadline_passing_serves_stale),
        cmocka_unit_test(layers_pass_the_ctx_down),
        cmocka_unit_test(storage_read_error_is_a_logged_miss),
        cmocka_unit_test(non_envelope_bytes_are_a_logged_miss),
        cmocka_unit_test(one_failed_fetch_serves_every_caller_stale),
        cmocka_unit_test(invalid_arguments),
        cmocka_unit_test(stats_are_this_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
