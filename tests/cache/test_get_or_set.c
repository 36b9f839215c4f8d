/* SPDX-License-Identifier: MIT */
/*
 * The generic get_or_set: one fetch per key however many callers wait,
 * sources, errors, cancellation, and the logged-and-tolerated failures.
 */
#include "cache_test.h"
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#define HOUR (3600 * 1000)

/* ---- 1000 threads, one key ---- */

enum { THREADS = 1000 };

typedef struct crowd {
    goio_cache *c;
    atomic_int fetches, all_joined;
    atomic_int sources[4];
    atomic_int wrong;
} crowd;

/* Holds the fetch until every caller has joined its flight (or 10 s), so
 * they all share it. */
static int slow_fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    crowd *cr = arg;
    atomic_fetch_add(&cr->fetches, 1);
    if (GOIO_WAIT_UNTIL(flight_callers(cr->c, key) == THREADS, 10000))
        atomic_store(&cr->all_joined, 1);
    return goio_buf_appendf(out, "value of %s", key);
}

static void *crowd_caller(void *p)
{
    crowd *cr = p;
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src = GOIO_CACHE_STALE;
    int rc = goio_cache_get_or_set(cr->c, NULL, "the-key", HOUR, slow_fetch, cr,
                                   &b, &src);
    if (rc || strcmp(goio_buf_cstr(&b), "value of the-key"))
        atomic_fetch_add(&cr->wrong, 1);
    else
        atomic_fetch_add(&cr->sources[src], 1);
    goio_buf_deinit(&b);
    return NULL;
}

static void thousand_callers_one_fetch(void **state)
{
    (void)state;
    crowd cr = {.c = memory_cache(1 << 20, 0, 0)};
    pthread_t *th = goio_calloc(THREADS, sizeof *th);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], &attr, crowd_caller, &cr), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_attr_destroy(&attr);
    goio_free(th);
    assert_true(atomic_load(&cr.all_joined));
    assert_int_equal(atomic_load(&cr.wrong), 0);
    assert_int_equal(atomic_load(&cr.fetches), 1);
    assert_int_equal(atomic_load(&cr.sources[GOIO_CACHE_FETCHED]), 1);
    assert_int_equal(atomic_load(&cr.sources[GOIO_CACHE_STALE]), 0);
    assert_int_equal(atomic_load(&cr.sources[GOIO_CACHE_SHARED]) +
                         atomic_load(&cr.sources[GOIO_CACHE_HIT]),
                     THREADS - 1);
    assert_true(atomic_load(&cr.sources[GOIO_CACHE_SHARED]) > 0);
    /* Every caller joined before the fetch ended: all of them shared it. */
    assert_int_equal(atomic_load(&cr.sources[GOIO_CACHE_SHARED]), THREADS - 1);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(cr.c, &st));
    assert_int_equal(st.fetches, 1);
    assert_cached(cr.c, "the-key", "value of the-key");
    goio_cache_free(cr.c);
}

/* ---- errors ---- */

static int failing_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                         void *arg)
{
    (void)ctx;
    (void)key;
    goio_buf_append_str(out, "partial"); /* must not be stored */
    return *(int *)arg;
}

static void fetch_error_is_returned_and_nothing_stored(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    goio_buf b = GOIO_BUF_INIT;
    goio_buf_append_str(&b, "untouched");
    int code = GOIO_ECONNREFUSED;
    assert_goio(GOIO_ECONNREFUSED,
                goio_cache_get_or_set(c, NULL, "k", HOUR, failing_fetch, &code,
                                      &b, NULL));
    assert_string_equal(goio_buf_cstr(&b), "untouched");
    assert_missing(c, "k");
    code = 3; /* not a goio code: reported as a failed fetch */
    assert_goio(GOIO_EFETCH,
                goio_cache_get_or_set(c, NULL, "k", HOUR, failing_fetch, &code,
                                      &b, NULL));
    assert_missing(c, "k");
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(c, &st));
    assert_int_equal(st.fetches, 2);
    assert_int_equal(st.fetch_errors, 2);
    assert_int_equal(st.entries, 0);
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

static int big_fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    (void)arg;
    static const char big[4096];
    return goio_buf_append(out, big, sizeof big);
}

static int typed_failing_fetch(goio_ctx *ctx, const char *key, void *value,
                               void *arg)
{
    (void)ctx;
    (void)key;
    *(int64_t *)value = 1;
    return *(int *)arg;
}

/* One rule in every layer: the fetch's own negative code reaches the
 * caller, GOIO_EFETCH only for a positive one. */
static void every_layer_returns_the_fetchs_own_code(void **state)
{
    (void)state;
    goio_cache *h, *stale, *h2, *stale_h;
    assert_ok(goio_cache_hybrid_new(memory_cache(1 << 20, 0, 0),
                                    memory_cache(1 << 20, 0, 0), true, &h));
    assert_ok(
        goio_cache_stale_new(memory_cache(1 << 20, 0, 0), HOUR, true, &stale));
    assert_ok(goio_cache_hybrid_new(memory_cache(1 << 20, 0, 0),
                                    memory_cache(1 << 20, 0, 0), true, &h2));
    assert_ok(goio_cache_stale_new(h2, HOUR, true, &stale_h));
    goio_cache *mem = memory_cache(1 << 20, 0, 0);
    goio_cache *layers[] = {mem, h, stale, stale_h};
    const int codes[][2] = {{GOIO_ECONNREFUSED, GOIO_ECONNREFUSED},
                            {GOIO_ETIMEDOUT, GOIO_ETIMEDOUT},
                            {GOIO_ENOENT, GOIO_ENOENT},
                            {7, GOIO_EFETCH}};
    goio_buf b = GOIO_BUF_INIT;
    log_capture_start();
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
        for (size_t k = 0; k < sizeof codes / sizeof *codes; k++) {
            int code = codes[k][0];
            assert_goio(codes[k][1],
                        goio_cache_get_or_set(layers[i], NULL, "k", HOUR,
                                              failing_fetch, &code, &b, NULL));
            int64_t v = 0;
            assert_goio(codes[k][1],
                        goio_cache_get_or_set_typed(
                            layers[i], NULL, "t", HOUR, &goio_type_int64,
                            typed_failing_fetch, &code, &v, NULL));
            assert_int_equal(v, 0);
        }
        assert_missing(layers[i], "k");
    }
    log_capture_stop();
    goio_buf_deinit(&b);
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        goio_cache_free(layers[i]);
}

/* A value the cache cannot keep is still returned; the failure is
 * logged. */
static void failed_store_is_logged_and_value_returned(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1024, 0, 0);
    log_capture_start();
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    assert_ok(
        goio_cache_get_or_set(c, NULL, "big", HOUR, big_fetch, NULL, &b, &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_int_equal(b.len, 4096);
    int err = 0;
    assert_int_equal(log_capture_count("set_cache_error", "big", &err), 1);
    assert_int_equal(err, GOIO_E2BIG);
    log_capture_stop();
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

static int ok_fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    (void)arg;
    return goio_buf_append_str(out, "fetched");
}

/* A read error (fault injection) is logged and treated as a miss. */
static void read_error_is_a_logged_miss(void **state)
{
    (void)state;
    fault_cache *f = fault_cache_new();
    atomic_store(&f->fail_get, GOIO_EIO);
    log_capture_start();
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    assert_ok(goio_cache_get_or_set(&f->base, NULL, "k", HOUR, ok_fetch, NULL,
                                    &b, &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_string_equal(goio_buf_cstr(&b), "fetched");
    int err = 0;
    assert_true(log_capture_count("get_from_cache_error", "k", &err) >= 1);
    assert_int_equal(err, GOIO_EIO);
    log_capture_stop();
    atomic_store(&f->fail_get, 0);
    assert_cached(&f->base, "k", "fetched");
    goio_buf_deinit(&b);
    goio_cache_free(&f->base);
}

/* ---- cancellation ---- */

typedef struct gate {
    goio_cache *c;
    atomic_int entered, release;
    int rc;
    goio_cache_source src;
    goio_buf out;
} gate;

static int gated_fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *arg)
{
    (void)ctx;
    (void)key;
    gate *g = arg;
    atomic_store(&g->entered, 1);
    GOIO_WAIT_UNTIL(atomic_load(&g->release), 10000);
    return goio_buf_append_str(out, "late");
}

static void *gated_caller(void *p)
{
    gate *g = p;
    g->rc = goio_cache_get_or_set(g->c, NULL, "slow", HOUR, gated_fetch, g,
                                  &g->out, &g->src);
    return NULL;
}

/* A waiter whose deadline passes gives up; the fetch goes on for the
 * caller still waiting and its value is stored. */
static void waiter_gives_up_on_its_deadline(void **state)
{
    (void)state;
    gate g = {.c = memory_cache(1 << 20, 0, 0)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, gated_caller, &g), 0);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&g.entered), 5000));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 50, &ctx));
    goio_buf b = GOIO_BUF_INIT;
    int64_t start = goio_now_mono_ms();
    assert_goio(GOIO_ETIMEDOUT,
                goio_cache_get_or_set(g.c, ctx, "slow", HOUR, gated_fetch, &g,
                                      &b, NULL));
    assert_true(goio_now_mono_ms() - start < 5000);
    goio_ctx_unref(ctx);
    atomic_store(&g.release, 1);
    pthread_join(th, NULL);
    assert_ok(g.rc);
    assert_int_equal(g.src, GOIO_CACHE_FETCHED);
    assert_string_equal(goio_buf_cstr(&g.out), "late");
    assert_cached(g.c, "slow", "late");
    goio_buf_deinit(&g.out);
    goio_buf_deinit(&b);
    goio_cache_free(g.c);
}

static int ctx_watching_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                              void *arg)
{
    (void)key;
    (void)out;
    atomic_store((atomic_int *)arg, 1);
    goio_ctx_wait(ctx, 10000);
    return goio_ctx_err(ctx);
}

typedef struct canceller {
    goio_ctx *ctx;
    atomic_int *entered;
} canceller;

static void *cancel_when_entered(void *p)
{
    canceller *k = p;
    GOIO_WAIT_UNTIL(atomic_load(k->entered), 5000);
    goio_ctx_cancel(k->ctx);
    return NULL;
}

/* The fetch runs under a ctx that is cancelled once every caller gave
 * up. */
static void fetch_sees_cancellation(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    atomic_int entered = 0;
    canceller k = {ctx, &entered};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_when_entered, &k), 0);
    goio_buf b = GOIO_BUF_INIT;
    assert_goio(GOIO_ECANCELED,
                goio_cache_get_or_set(c, ctx, "k", HOUR, ctx_watching_fetch,
                                      &entered, &b, NULL));
    pthread_join(th, NULL);
    assert_missing(c, "k");
    goio_ctx_unref(ctx);
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thousand_callers_one_fetch),
        cmocka_unit_test(fetch_error_is_returned_and_nothing_stored),
        cmocka_unit_test(every_layer_returns_the_fetchs_own_code),
        cmocka_unit_test(failed_store_is_logged_and_value_returned),
        cmocka_unit_test(read_error_is_a_logged_miss),
        cmocka_unit_test(waiter_gives_up_on_its_deadline),
        cmocka_unit_test(fetch_sees_cancellation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
