/* SPDX-License-Identifier: MIT */
/*
 * The memory cache: bounds, TTL, background reclaim, eviction policy,
 * concurrency, configuration and allocation failures.
 */
#include "../../src/cache/memory_int.h"
#include "cache_test.h"
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR (3600 * 1000)

static goio_cache_stats stats_of(goio_cache *c)
{
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(c, &st));
    return st;
}

static void set_get_del_and_stats(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 1000);
    assert_true(goio_cache_is_memory(c));
    assert_missing(c, "a");
    assert_ok(goio_cache_set(c, NULL, "a", "one", 3, HOUR));
    assert_cached(c, "a", "one");
    assert_ok(goio_cache_set(c, NULL, "a", "uno!", 4, HOUR)); /* replace */
    assert_cached(c, "a", "uno!");
    assert_ok(goio_cache_set(c, NULL, "empty", NULL, 0, HOUR));
    assert_cached(c, "empty", "");
    assert_ok(goio_cache_del(c, NULL, "a"));
    assert_missing(c, "a");
    assert_ok(goio_cache_del(c, NULL, "never-there"));
    goio_cache_stats st = stats_of(c);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.sets, 3);
    assert_int_equal(st.deletes, 2);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, 5 + GOIO_CACHE_ENTRY_OVERHEAD);
    assert_int_equal(st.evictions + st.expirations, 0);
    assert_int_equal(st.fetches + st.fetch_errors + st.stale_served, 0);
    /* No stale view in a memory cache. */
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true, stale = true;
    assert_goio(GOIO_ENOTSUP,
                goio_cache_get_stale(c, NULL, "empty", &b, &hit, &stale));
    assert_false(hit);
    goio_cache_free(c);
}

static void binary_values_and_long_keys(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    const uint8_t bin[] = {0, 1, 0xff, 0, 7};
    assert_ok(goio_cache_set(c, NULL, "bin", bin, sizeof bin, HOUR));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_cache_get(c, NULL, "bin", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, sizeof bin);
    assert_memory_equal(b.data, bin, sizeof bin);
    /* The longest key works; one byte more is refused, nothing stored. */
    char key[GOIO_CACHE_MAX_KEY + 2];
    memset(key, 'k', sizeof key);
    key[GOIO_CACHE_MAX_KEY] = '\0';
    assert_ok(goio_cache_set(c, NULL, key, "v", 1, HOUR));
    assert_cached(c, key, "v");
    key[GOIO_CACHE_MAX_KEY] = 'k';
    key[GOIO_CACHE_MAX_KEY + 1] = '\0';
    assert_goio(GOIO_EINVAL, goio_cache_set(c, NULL, key, "v", 1, HOUR));
    assert_goio(GOIO_EINVAL, goio_cache_get(c, NULL, key, &b, &hit));
    assert_int_equal(stats_of(c).entries, 2);
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

static void ttl_zero_or_negative_is_expired_at_once(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    assert_ok(goio_cache_set(c, NULL, "k", "old", 3, HOUR));
    assert_ok(goio_cache_set(c, NULL, "k", "new", 3, 0));
    assert_missing(c, "k");
    assert_ok(goio_cache_set(c, NULL, "n", "x", 1, -5));
    assert_missing(c, "n");
    assert_int_equal(stats_of(c).entries, 0);
    assert_int_equal(stats_of(c).sets, 3);
    goio_cache_free(c);
}

static void expired_entries_are_never_returned(void **state)
{
    (void)state;
    test_clock clk = {1000};
    goio_cache *c = memory_cache_clocked(1 << 20, 0, 0, &clk);
    assert_ok(goio_cache_set(c, NULL, "short", "s", 1, 30));
    assert_ok(goio_cache_set(c, NULL, "long", "l", 1, HOUR));
    assert_cached(c, "short", "s");
    /* Fresh up to its TTL, expired at it. */
    test_clock_advance(&clk, 29);
    assert_cached(c, "short", "s");
    test_clock_advance(&clk, 1);
    assert_missing(c, "short");
    assert_cached(c, "long", "l");
    goio_cache_stats st = stats_of(c);
    assert_int_equal(st.expirations, 1); /* removed by the get */
    assert_int_equal(st.entries, 1);
    goio_cache_free(c);
}

/* The same through one buffer with room for the value, as a hot caller
 * reads: the lock-free get's own expiry check, not the slow path's. Long
 * and short values (the copy differs). */
static void expiry_is_seen_by_a_reused_buffer(void **state)
{
    (void)state;
    test_clock clk = {1000};
    goio_cache *c = memory_cache_clocked(1 << 20, 0, 0, &clk);
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_buf_reserve(&b, 256));
    bool hit;
    const char *long_value = "a value of more than eight bytes";
    assert_ok(
        goio_cache_set(c, NULL, "long", long_value, strlen(long_value), 30));
    assert_ok(goio_cache_set(c, NULL, "short", "s", 1, 30));
    assert_ok(goio_cache_set(c, NULL, "stays", "v", 1, HOUR));
    for (int i = 0; i < 3; i++) { /* the first may register the thread */
        assert_ok(goio_cache_get(c, NULL, "long", &b, &hit));
        assert_true(hit);
        assert_int_equal(b.len, strlen(long_value));
        assert_memory_equal(b.data, long_value, b.len);
        assert_ok(goio_cache_get(c, NULL, "short", &b, &hit));
        assert_true(hit);
    }
    test_clock_advance(&clk, 29);
    assert_ok(goio_cache_get(c, NULL, "long", &b, &hit));
    assert_true(hit);
    test_clock_advance(&clk, 1);
    assert_ok(goio_cache_get(c, NULL, "long", &b, &hit));
    assert_false(hit);
    assert_ok(goio_cache_get(c, NULL, "short", &b, &hit));
    assert_false(hit);
    assert_ok(goio_cache_get(c, NULL, "stays", &b, &hit));
    assert_true(hit);
    assert_int_equal(stats_of(c).expirations, 2);
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

static void expiry_is_reclaimed_without_reads(void **state)
{
    (void)state;
    test_clock clk = {1000};
    goio_cache *c = memory_cache_clocked(64 << 20, 0, 10, &clk);
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "gone:%d", i);
        assert_ok(goio_cache_set(c, NULL, key, "payload", 7, 20));
    }
    uint64_t kept_bytes = 0;
    for (int i = 0; i < 100; i++) {
        int n = snprintf(key, sizeof key, "stays:%d", i);
        assert_ok(goio_cache_set(c, NULL, key, "payload", 7, HOUR));
        kept_bytes += (uint64_t)n + 7 + GOIO_CACHE_ENTRY_OVERHEAD;
    }
    test_clock_advance(&clk, 20);
    /* The background thread (every 10 ms, real time) finds them. */
    assert_true(GOIO_WAIT_UNTIL(stats_of(c).entries == 100, 5000));
    goio_cache_stats st = stats_of(c);
    assert_int_equal(st.expirations, 20000);
    assert_int_equal(st.bytes, kept_bytes);
    assert_int_equal(st.hits + st.misses, 0); /* nobody read */
    goio_cache_free(c);
}

static void reclaim_can_run_on_demand(void **state)
{
    (void)state;
    test_clock clk = {1000};
    goio_cache *c = memory_cache_clocked(1 << 20, 0, 0, &clk); /* no thread */
    assert_ok(goio_cache_set(c, NULL, "a", "1", 1, 1));
    assert_ok(goio_cache_set(c, NULL, "b", "2", 1, HOUR));
    assert_int_equal(goio_cache_memory_reclaim(c), 0);
    test_clock_advance(&clk, 1);
    assert_int_equal(goio_cache_memory_reclaim(c), 1);
    assert_int_equal(stats_of(c).entries, 1);
    assert_goio(GOIO_EINVAL, (int)goio_cache_memory_reclaim(NULL));
    goio_cache_free(c);
}

/* A random workload with random value sizes never passes the byte bound,
 * and the bytes stat always matches what the entries are charged. */
static void byte_bound_holds_under_random_workload(void **state)
{
    (void)state;
    const size_t max = 256 * 1024;
    goio_cache *c = memory_cache(max, 0, 5);
    static uint8_t value[20000];
    memset(value, 'x', sizeof value);
    uint64_t rng = 12345;
    char key[32];
    for (int i = 0; i < 60000; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned r = (unsigned)(rng >> 33);
        snprintf(key, sizeof key, "k%u", (r >> 12) % 3000);
        switch (r % 10) {
        case 0:
            assert_ok(goio_cache_del(c, NULL, key));
            break;
        case 1:
        case 2:
        case 3: {
            goio_buf b = GOIO_BUF_INIT;
            bool hit;
            assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
            goio_buf_deinit(&b);
            break;
        }
        default: {
            /* Mostly small values, sometimes large ones. */
            size_t len = r % 7 ? (r >> 8) % 300 : (r >> 8) % sizeof value;
            int64_t ttl = r % 5 ? HOUR : 1 + (r >> 4) % 20;
            assert_ok(goio_cache_set(c, NULL, key, value, len, ttl));
        }
        }
        goio_cache_stats st = stats_of(c);
        if (st.bytes > max)
            fail_msg("after op %d: %llu bytes > bound %zu", i,
                     (unsigned long long)st.bytes, max);
    }
    goio_cache_stats st = stats_of(c);
    assert_true(st.evictions > 0);
    assert_true(st.entries > 0);
    /* A value bigger than the whole bound is refused, nothing kept. */
    assert_ok(goio_cache_set(c, NULL, "big", "small", 5, HOUR));
    static uint8_t huge[300 * 1024];
    assert_goio(GOIO_E2BIG,
                goio_cache_set(c, NULL, "big", huge, sizeof huge, HOUR));
    assert_missing(c, "big");
    goio_cache_free(c);
}

static void entry_bound_holds(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(64 << 20, 100, 0);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_ok(goio_cache_set(c, NULL, key, "v", 1, HOUR));
        assert_true(stats_of(c).entries <= 100);
    }
    goio_cache_stats st = stats_of(c);
    assert_int_equal(st.entries, 100);
    assert_int_equal(st.evictions, 900);
    goio_cache_free(c);
}

/* W-TinyLFU keeps a frequently used set through a one-off scan many times
 * the cache's size, where LRU would lose all of it. */
static void frequent_keys_survive_a_scan(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(64 << 20, 200, 0);
    char key[32];
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "hot%d", i);
            assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
            if (!hit)
                assert_ok(goio_cache_set(c, NULL, key, "h", 1, HOUR));
        }
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "scan%d", i);
        assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
        assert_false(hit);
        assert_ok(goio_cache_set(c, NULL, key, "s", 1, HOUR));
    }
    int kept = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "hot%d", i);
        assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
        kept += hit;
    }
    assert_true(kept >= 95);
    goio_buf_deinit(&b);
    goio_cache_free(c);
}

/*
 * A workload where recency wins: every phase reads a fresh set of 800 keys
 * at random, 25 times each on average, and never reads them again. An LRU
 * of 1000 entries misses only each key's first read (96% hits); a W-TinyLFU
 * stuck with a small window keeps refusing the new keys, whose sketch
 * counts start below those of the last phase's. The climber must grow the
 * window until the hit ratio comes close to LRU's.
 */
static double recency_workload_hit_ratio(void)
{
    goio_cache *c = memory_cache(64 << 20, 1000, 0);
    char key[32];
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    uint64_t rng = 12345;
    size_t late_hits = 0, late = 0;
    const int phases = 60, per_phase = 20000, keys = 800;
    for (int ph = 0; ph < phases; ph++) {
        for (int i = 0; i < per_phase; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            snprintf(key, sizeof key, "p%d:%d", ph,
                     (int)((rng >> 33) % (uint64_t)keys));
            assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
            if (!hit)
                assert_ok(goio_cache_set(c, NULL, key, "v", 1, HOUR));
            if (ph >= phases / 2) {
                late++;
                late_hits += hit;
            }
        }
    }
    goio_buf_deinit(&b);
    goio_cache_free(c);
    return (double)late_hits / (double)late;
}

/* The seed moves the sketch's collisions and so the climber's samples: of
 * 24 seeds tried, 22 gave 0.944-0.957 and two 0.875 and 0.885 (the previous
 * climber measured 0.827). Fixed seeds make the test deterministic; every
 * one must reach 0.9. */
static void window_grows_when_recency_wins(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {0x9e3779b97f4a7c15ULL, 1, 42};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        atomic_store(&goio__mc_test_seed, seeds[i]);
        double ratio = recency_workload_hit_ratio();
        atomic_store(&goio__mc_test_seed, 0);
        print_message("recency workload, seed %zu, second half: hit ratio "
                      "%.4f\n",
                      i, ratio);
        assert_true(ratio >= 0.9);
    }
}

/* A byte-bounded cache's sketch starts small and doubles as the cache
 * fills; the counts it has must survive each doubling (they used to start
 * over, leaving admission blind when the cache first filled). */
static void sketch_keeps_counts_when_it_grows(void **state)
{
    (void)state;
    mc_policy p;
    assert_ok(goio__mc_policy_init(&p, 7, (uint64_t)1 << 30, 0));
    size_t width = p.sketch.width;
    const uint64_t hot[] = {0x1234567890abcdefULL, 42, 0xfeedfacecafebeefULL};
    for (int i = 0; i < 10; i++)
        for (size_t k = 0; k < 3; k++)
            goio__mc_policy_access(&p, hot[k]);
    for (size_t k = 0; k < 3; k++)
        assert_true(goio__mc_sketch_estimate(&p.sketch, hot[k]) >= 10);
    size_t n = width * 2 + 1;
    mc_entry **es = calloc(n, sizeof *es);
    assert_non_null(es);
    uint64_t rng = 1;
    for (size_t i = 0; i < n; i++) {
        es[i] = calloc(1, MC_HEADER + 1);
        assert_non_null(es[i]);
        es[i]->klen = 1;
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        goio__mc_policy_insert(&p, es[i], rng);
    }
    assert_true(p.sketch.width >= 4 * width); /* grew twice */
    for (size_t k = 0; k < 3; k++)
        assert_true(goio__mc_sketch_estimate(&p.sketch, hot[k]) >= 10);
    for (size_t i = 0; i < n; i++)
        free(es[i]);
    free(es);
    goio__mc_policy_free(&p);
}

static void clear_drops_everything(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 0);
    char key[32];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_ok(goio_cache_set(c, NULL, key, "v", 1, HOUR));
    }
    assert_ok(goio_cache_clear(c, NULL));
    goio_cache_stats st = stats_of(c);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    assert_missing(c, "k1");
    assert_ok(goio_cache_set(c, NULL, "k1", "again", 5, HOUR));
    assert_cached(c, "k1", "again");
    goio_cache_free(c);
}

static void config_is_validated(void **state)
{
    (void)state;
    goio_cache *c = (goio_cache *)1;
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    assert_int_equal(cfg.max_bytes, 64 << 20);
    assert_int_equal(cfg.max_entries, 0);
    assert_int_equal(cfg.reclaim_interval_ms, 1000);
    assert_goio(GOIO_EINVAL, goio_cache_memory_new(&cfg, NULL));
    cfg.max_bytes = 0;
    assert_goio(GOIO_EINVAL, goio_cache_memory_new(&cfg, &c));
    assert_null(c);
    goio_cache_memory_config_init(&cfg);
    cfg.shards = 3;
    assert_goio(GOIO_EINVAL, goio_cache_memory_new(&cfg, &c));
    cfg.shards = 8192;
    assert_goio(GOIO_EINVAL, goio_cache_memory_new(&cfg, &c));
    cfg.shards = 1;
    cfg.reclaim_interval_ms = -1;
    assert_goio(GOIO_EINVAL, goio_cache_memory_new(&cfg, &c));
    cfg.reclaim_interval_ms = 0;
    assert_ok(goio_cache_memory_new(&cfg, &c));
    assert_ok(goio_cache_set(c, NULL, "one-shard", "ok", 2, HOUR));
    assert_cached(c, "one-shard", "ok");
    goio_cache_free(c);
    assert_ok(goio_cache_memory_new(NULL, &c)); /* defaults */
    goio_cache_free(c);
    goio_cache_free(NULL);
    goio_cache_memory_config_init(NULL);
    assert_false(goio_cache_is_memory(NULL));
}

/* free() wakes the reclaim thread at once, whatever its interval. */
static void free_is_prompt(void **state)
{
    (void)state;
    goio_cache *c = memory_cache(1 << 20, 0, 3600 * 1000);
    int64_t start = goio_now_mono_ms();
    goio_cache_free(c);
    assert_true(goio_now_mono_ms() - start < 1000);
}

/* ---- concurrency ---- */

typedef struct worker {
    goio_cache *c;
    int id;
    long ops;
} worker;

static void *mixed_worker(void *p)
{
    worker *w = p;
    goio_buf b = GOIO_BUF_INIT;
    char key[32], value[64];
    uint64_t rng = (uint64_t)w->id * 7919 + 1;
    for (long i = 0; i < w->ops; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned r = (unsigned)(rng >> 33);
        snprintf(key, sizeof key, "k%u", (r >> 8) % 512);
        bool hit;
        if (r % 8 == 0) {
            int n = snprintf(value, sizeof value, "%s=%u", key, r % 1000);
            assert_ok(goio_cache_set(w->c, NULL, key, value, (size_t)n,
                                     r % 16 ? HOUR : 1));
        } else if (r % 29 == 0) {
            assert_ok(goio_cache_del(w->c, NULL, key));
        } else {
            assert_ok(goio_cache_get(w->c, NULL, key, &b, &hit));
            /* A hit is always a value written for this very key. */
            if (hit) {
                size_t kl = strlen(key);
                assert_true(b.len > kl && !memcmp(b.data, key, kl) &&
                            b.data[kl] == '=');
            }
        }
        if (i % 5000 == 0 && w->id == 0)
            goio_cache_memory_reclaim(w->c);
    }
    goio_buf_deinit(&b);
    return NULL;
}

static void concurrent_readers_and_writers(void **state)
{
    (void)state;
    /* A small bound so eviction runs all the time too. */
    goio_cache *c = memory_cache(16 * 1024, 0, 1);
    enum { N = 4 };
    pthread_t th[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){c, i, 40000};
        assert_int_equal(pthread_create(&th[i], NULL, mixed_worker, &w[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    goio_cache_stats st = stats_of(c);
    assert_true(st.bytes <= 16 * 1024);
    assert_true(st.hits > 0 && st.evictions > 0);
    goio_cache_free(c);
}

/* Same-size overwrites happen in place: new value and new TTL. */
static void same_size_overwrite_updates_value_and_ttl(void **state)
{
    (void)state;
    test_clock clk = {1000};
    goio_cache *c = memory_cache_clocked(1 << 20, 0, 0, &clk);
    assert_ok(goio_cache_set(c, NULL, "k", "aaaa", 4, HOUR));
    assert_ok(goio_cache_set(c, NULL, "k", "bbbb", 4, 20));
    assert_cached(c, "k", "bbbb");
    test_clock_advance(&clk, 19);
    assert_cached(c, "k", "bbbb");
    test_clock_advance(&clk, 1);
    assert_missing(c, "k");
    assert_ok(goio_cache_set(c, NULL, "k", "cccc", 4, HOUR));
    assert_ok(goio_cache_set(c, NULL, "k", "dd", 2, HOUR)); /* other size */
    assert_cached(c, "k", "dd");
    goio_cache_stats st = stats_of(c);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, 1 + 2 + GOIO_CACHE_ENTRY_OVERHEAD);
    assert_int_equal(st.sets, 4);
    goio_cache_free(c);
}

typedef struct tearing {
    goio_cache *c;
    atomic_int stop, torn;
    long reads;
} tearing;

static void *overwriter(void *p)
{
    tearing *t = p;
    uint8_t value[200];
    for (int i = 0; !atomic_load(&t->stop); i++) {
        memset(value, 'a' + i % 26, sizeof value);
        assert_ok(goio_cache_set(t->c, NULL, "x", value, sizeof value, HOUR));
    }
    return NULL;
}

static void *tear_reader(void *p)
{
    tearing *t = p;
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    for (long i = 0; i < t->reads; i++) {
        assert_ok(goio_cache_get(t->c, NULL, "x", &b, &hit));
        for (size_t j = 1; hit && j < b.len; j++)
            if (b.data[j] != b.data[0])
                atomic_fetch_add(&t->torn, 1);
    }
    goio_buf_deinit(&b);
    return NULL;
}

/* Readers never see half of an in-place overwrite. */
static void overwrites_are_never_torn(void **state)
{
    (void)state;
    tearing t = {.c = memory_cache(1 << 20, 0, 0), .reads = 50000};
    uint8_t value[200];
    memset(value, 'a', sizeof value);
    assert_ok(goio_cache_set(t.c, NULL, "x", value, sizeof value, HOUR));
    pthread_t w, r[2];
    assert_int_equal(pthread_create(&w, NULL, overwriter, &t), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, tear_reader, &t), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    atomic_store(&t.stop, 1);
    pthread_join(w, NULL);
    assert_int_equal(atomic_load(&t.torn), 0);
    goio_cache_free(t.c);
}

/* ---- allocation failures ---- */

typedef struct torture {
    goio_cache *c;
} torture;

static int op_new(void *arg)
{
    torture *t = arg;
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.reclaim_interval_ms = 0;
    return goio_cache_memory_new(&cfg, &t->c);
}

static void cleanup_free(void *arg)
{
    torture *t = arg;
    goio_cache_free(t->c);
    t->c = NULL;
}

static int op_fill(void *arg)
{
    /* Enough sets that the shard tables grow on the way. */
    torture *t = arg;
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "key%d", i);
        int rc = goio_cache_set(t->c, NULL, key, "value", 5, HOUR);
        if (rc)
            return rc;
    }
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int rc = goio_cache_get(t->c, NULL, "key7", &b, &hit);
    goio_buf_deinit(&b);
    return rc;
}

static void cleanup_clear(void *arg)
{
    goio_cache_clear(((torture *)arg)->c, NULL);
}

static void allocation_failures(void **state)
{
    (void)state;
    torture t = {0};
    /* Every allocation point fails once; lower bounds: the cache and its
     * shards; the table growing at least once and the get's buffer. */
    assert_true(goio_test_alloc_torture(op_new, cleanup_free, &t) >= 2);
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.reclaim_interval_ms = 0;
    assert_ok(goio_cache_memory_new(&cfg, &t.c));
    assert_true(goio_test_alloc_torture(op_fill, cleanup_clear, &t) >= 2);
    /* A get whose buffer cannot grow fails cleanly, buffer untouched. */
    assert_ok(goio_cache_set(t.c, NULL, "k", "0123456789", 10, HOUR));
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    goio_test_alloc_fail_at(1);
    assert_goio(GOIO_ENOMEM, goio_cache_get(t.c, NULL, "k", &b, &hit));
    goio_test_alloc_fail_at(0);
    assert_false(hit);
    assert_null(b.data);
    goio_cache_free(t.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_get_del_and_stats),
        cmocka_unit_test(binary_values_and_long_keys),
        cmocka_unit_test(ttl_zero_or_negative_is_expired_at_once),
        cmocka_unit_test(expired_entries_are_never_returned),
        cmocka_unit_test(expiry_is_seen_by_a_reused_buffer),
        cmocka_unit_test(expiry_is_reclaimed_without_reads),
        cmocka_unit_test(reclaim_can_run_on_demand),
        cmocka_unit_test(byte_bound_holds_under_random_workload),
        cmocka_unit_test(entry_bound_holds),
        cmocka_unit_test(frequent_keys_survive_a_scan),
        cmocka_unit_test(window_grows_when_recency_wins),
        cmocka_unit_test(sketch_keeps_counts_when_it_grows),
        cmocka_unit_test(clear_drops_everything),
        cmocka_unit_test(config_is_validated),
        cmocka_unit_test(free_is_prompt),
        cmocka_unit_test(concurrent_readers_and_writers),
        cmocka_unit_test(same_size_overwrite_updates_value_and_ttl),
        cmocka_unit_test(overwrites_are_never_torn),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
