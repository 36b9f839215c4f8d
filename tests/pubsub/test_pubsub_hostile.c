/* SPDX-License-Identifier: MIT */
/*
 * A hostile publisher on the invalidation channel of coherent wrappers
 * publishing bare keys (go-io's format), against a real redis-server: a
 * raw hiredis connection pipelines PUBLISH as fast as Redis takes them.
 * What may it cost a wrapper? Each message at most one key dropped (or,
 * empty or starting with NUL, the local layer flushed); the wrapper's
 * own-message table holds only keys it published itself, so a flood of
 * other keys neither grows it nor breaks the skipping of its own
 * messages; keys longer than any key goio stores, or with NULs, are
 * handled without a copy of their own.
 */
#include "pubsub_test.h"

#include <limits.h>
#include <sys/resource.h>

/* ASan keeps freed memory in quarantine (256 MiB): 100000 messages' worth
 * of freed buffers shows as RSS there, so the RSS bound holds only
 * without it. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND_KIB LONG_MAX
#else
#define RSS_BOUND_KIB (32L * 1024)
#endif

#define NS      "hostile"
#define CHANNEL NS ":goio:cache:invalidate"

typedef struct inst {
    pst_handle h;
    goio_cache *mem, *hyb, *coh;
} inst;

static void inst_open(inst *i)
{
    memset(i, 0, sizeof *i);
    pst_open(&i->h, NS);
    assert_ok(goio_cache_memory_new(NULL, &i->mem));
    assert_ok(goio_cache_hybrid_new(i->mem, goio_redis_cache(i->h.r), false,
                                    &i->hyb));
    goio_pubsub_coherent_config cc;
    goio_pubsub_coherent_config_init(&cc);
    cc.format = GOIO_PUBSUB_INV_BARE;
    assert_ok(goio_pubsub_coherent_new(i->h.ps, i->hyb, &cc, &i->coh));
}

static void inst_close(inst *i)
{
    goio_cache_free(i->coh);
    goio_cache_free(i->hyb);
    goio_cache_free(i->mem);
    pst_close(&i->h);
}

static goio_pubsub_coherent_stats cstats(const inst *i)
{
    goio_pubsub_coherent_stats st;
    assert_ok(goio_pubsub_coherent_stats_get(i->coh, &st));
    return st;
}

/* Live, and the flush that going live does is counted. */
static bool settled(const inst *i)
{
    goio_pubsub_coherent_stats st;
    return goio_pubsub_coherent_stats_get(i->coh, &st) == 0 && st.live &&
           st.flushes >= 1;
}

static bool local_has(const inst *i, const char *key)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    goio_cache_get(i->mem, NULL, key, &b, &hit);
    goio_buf_deinit(&b);
    return hit;
}

static long max_rss_kib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/* Pipelines PUBLISH CHANNEL <payload i> for i < n (payload made by fn);
 * returns the receivers summed over all. */
static long long flood(int n, size_t (*fn)(int i, char *out, size_t cap))
{
    redisContext *c = pst_raw();
    static char p[1 << 20];
    enum { BATCH = 1000 };
    long long got = 0;
    for (int i = 0; i < n; i += BATCH) {
        int m = n - i < BATCH ? n - i : BATCH;
        for (int j = 0; j < m; j++) {
            size_t len = fn(i + j, p, sizeof p);
            assert_int_equal(
                redisAppendCommand(c, "PUBLISH %s %b", CHANNEL, p, len),
                REDIS_OK);
        }
        for (int j = 0; j < m; j++) {
            void *r = NULL;
            assert_int_equal(redisGetReply(c, &r), REDIS_OK);
            got += ((redisReply *)r)->integer;
            freeReplyObject(r);
        }
    }
    redisFree(c);
    return got;
}

static size_t distinct_key(int i, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap, "flood:%d", i);
}

/* 100000 distinct bare keys while the wrapper writes its own: every
 * message is processed (one drop each) within a bound, the wrapper's own
 * messages are still recognised afterwards, memory stays flat. */
static void a_flood_of_bare_keys(void **state)
{
    (void)state;
    inst in;
    inst_open(&in);
    assert_true(GOIO_WAIT_UNTIL(settled(&in), 5000));
    uint64_t flushes0 = cstats(&in).flushes; /* going live flushes once */
    long rss0 = max_rss_kib();
    enum { N = 100000 };
    int64_t t0 = goio_now_mono_ms();
    assert_int_equal(flood(N, distinct_key), N);
    assert_true(GOIO_WAIT_UNTIL(cstats(&in).invalidations >= N, 30000));
    int64_t took = goio_now_mono_ms() - t0;
    long grew = max_rss_kib() - rss0;
    print_message("bare key flood: %d messages handled in %lld ms, max RSS "
                  "grew %ld KiB\n",
                  N, (long long)took, grew);
    assert_true(grew < RSS_BOUND_KIB);
    assert_int_equal(cstats(&in).own_skipped, 0);
    assert_int_equal(cstats(&in).flushes, flushes0);
    /* Our own message still recognised: the copy we wrote is kept. */
    assert_ok(goio_cache_set(in.coh, NULL, "mine", "v", 1, 60000));
    assert_true(GOIO_WAIT_UNTIL(cstats(&in).own_skipped == 1, 5000));
    assert_true(local_has(&in, "mine"));
    /* A hostile copy of our key drops it (never keeps a stale copy). */
    assert_int_equal(pst_publish_raw(CHANNEL, "mine", 4), 1);
    assert_true(GOIO_WAIT_UNTIL(!local_has(&in, "mine"), 5000));
    inst_close(&in);
}

static size_t long_key(int i, char *out, size_t cap)
{
    size_t len = i == 0 ? cap : 64 * 1024;
    memset(out, 'k', len);
    return len;
}

/* Keys longer than any key goio stores (one of 1 MiB, 200 of 64 KiB):
 * nothing dropped, no flush, the local copy of "k" (a prefix of them) is
 * kept, the wrapper stays live. */
static void keys_longer_than_any_key(void **state)
{
    (void)state;
    inst in;
    inst_open(&in);
    assert_true(GOIO_WAIT_UNTIL(settled(&in), 5000));
    assert_ok(goio_cache_set(in.coh, NULL, "k", "v", 1, 60000));
    assert_true(GOIO_WAIT_UNTIL(cstats(&in).own_skipped == 1, 5000));
    uint64_t flushes0 = cstats(&in).flushes;
    assert_int_equal(flood(201, long_key), 201);
    /* a marker after them: when it is dropped, they were all read */
    assert_ok(goio_cache_set(in.mem, NULL, "marker", "m", 1, 60000));
    assert_int_equal(pst_publish_raw(CHANNEL, "marker", 6), 1);
    assert_true(GOIO_WAIT_UNTIL(cstats(&in).invalidations >= 1, 10000));
    assert_false(local_has(&in, "marker"));
    goio_pubsub_coherent_stats st = cstats(&in);
    assert_int_equal(st.invalidations, 1); /* the marker */
    assert_int_equal(st.flushes, flushes0);
    assert_true(st.live);
    assert_true(local_has(&in, "k"));
    inst_close(&in);
}

/* NULs: "k\0<anything not our id>" drops k; a payload starting with NUL
 * has an empty key, which means everything (a clear elsewhere). */
static void keys_with_nuls(void **state)
{
    (void)state;
    inst in;
    inst_open(&in);
    assert_true(GOIO_WAIT_UNTIL(settled(&in), 5000));
    assert_ok(goio_cache_set(in.mem, NULL, "k", "v", 1, 60000));
    assert_ok(goio_cache_set(in.mem, NULL, "j", "v", 1, 60000));
    uint64_t flushes0 = cstats(&in).flushes;
    assert_int_equal(pst_publish_raw(CHANNEL, "k\0garbage-not-an-id", 19), 1);
    assert_true(GOIO_WAIT_UNTIL(!local_has(&in, "k"), 5000));
    assert_true(local_has(&in, "j"));
    assert_int_equal(cstats(&in).flushes, flushes0);
    assert_int_equal(pst_publish_raw(CHANNEL, "\0j", 2), 1);
    /* the counter moves after the drop: wait for it */
    assert_true(GOIO_WAIT_UNTIL(cstats(&in).flushes == flushes0 + 1, 5000));
    assert_false(local_has(&in, "j"));
    assert_true(cstats(&in).live);
    inst_close(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_flood_of_bare_keys),
        cmocka_unit_test(keys_longer_than_any_key),
        cmocka_unit_test(keys_with_nuls),
    };
    return cmocka_run_group_tests(tests, pst_setup, pst_teardown);
}
