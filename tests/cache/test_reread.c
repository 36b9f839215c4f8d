/* SPDX-License-Identifier: MIT */
/*
 * get_or_set's second look: a caller whose miss came just before another
 * caller's flight stored the value re-reads instead of fetching again, and
 * a caller with no such flight in between does not pay the second read
 * (one round trip to Redis less on every miss).
 */
#include "cache_test.h"
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#define HOUR (60 * 60 * 1000)

/* A cache over a memory cache whose first get of "k" lets another thread
 * run a whole get_or_set of "k" (fetch and store) before it returns its
 * miss. */
typedef struct racy {
    goio_cache base;
    goio_cache *inner;
    atomic_bool armed;
    atomic_int gets, fetches;
    goio_cache *top; /* what the other thread calls get_or_set on */
} racy;

static int fetch(goio_ctx *ctx, const char *key, goio_buf *out, void *data)
{
    (void)ctx;
    (void)key;
    atomic_fetch_add(&((racy *)data)->fetches, 1);
    return goio_buf_set(out, "v", 1);
}

static void *other_caller(void *arg)
{
    racy *r = arg;
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    int rc = goio_cache_get_or_set(r->top, NULL, "k", HOUR, fetch, r, &b, &src);
    goio_buf_deinit(&b);
    return (void *)(intptr_t)(rc == 0 && src == GOIO_CACHE_FETCHED);
}

static int r_get(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
                 bool *hit)
{
    racy *r = (racy *)c;
    atomic_fetch_add(&r->gets, 1);
    int rc = goio_cache_get(r->inner, ctx, key, out, hit);
    bool expect = true;
    if (!strcmp(key, "k") &&
        atomic_compare_exchange_strong(&r->armed, &expect, false)) {
        pthread_t t;
        void *ok = NULL;
        assert_int_equal(pthread_create(&t, NULL, other_caller, r), 0);
        assert_int_equal(pthread_join(t, &ok), 0);
        assert_true(ok != NULL);
    }
    return rc;
}

static int r_set(goio_cache *c, goio_ctx *ctx, const char *key,
                 const void *value, size_t len, int64_t ttl_ms)
{
    return goio_cache_set(((racy *)c)->inner, ctx, key, value, len, ttl_ms);
}

static int r_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    return goio_cache_del(((racy *)c)->inner, ctx, key);
}

static void r_destroy(goio_cache *c)
{
    goio_cache_free(((racy *)c)->inner);
}

static const goio_cache_ops racy_ops = {.name = "racy",
                                        .get = r_get,
                                        .set = r_set,
                                        .del = r_del,
                                        .destroy = r_destroy};

static void run(bool stale_on_top)
{
    racy r;
    memset(&r, 0, sizeof r);
    assert_ok(goio_cache_init(&r.base, &racy_ops));
    r.inner = memory_cache(1 << 20, 0, 0);
    r.top = &r.base;
    if (stale_on_top)
        assert_ok(goio_cache_stale_new(&r.base, HOUR, false, &r.top));
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src;
    /* no flight in between: one read, one fetch */
    assert_ok(
        goio_cache_get_or_set(r.top, NULL, "x", HOUR, fetch, &r, &b, &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_int_equal(atomic_load(&r.gets), 1);
    /* another caller's flight stores between this miss and this flight:
     * the re-read finds its value, nothing is fetched again */
    atomic_store(&r.armed, true);
    atomic_store(&r.fetches, 0);
    assert_ok(
        goio_cache_get_or_set(r.top, NULL, "k", HOUR, fetch, &r, &b, &src));
    assert_int_equal(src, GOIO_CACHE_HIT);
    assert_int_equal(atomic_load(&r.fetches), 1); /* the other caller's */
    assert_int_equal(b.len, 1);
    goio_buf_deinit(&b);
    if (stale_on_top)
        goio_cache_free(r.top);
    goio_cache_free(&r.base);
}

static void generic_get_or_set(void **state)
{
    (void)state;
    run(false);
}

static void stale_get_or_set(void **state)
{
    (void)state;
    run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generic_get_or_set),
        cmocka_unit_test(stale_get_or_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
