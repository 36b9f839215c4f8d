/* SPDX-License-Identifier: MIT */
/*
 * The memory cache's lock-free read path under concurrent writers: gets
 * race sets (same-size overwrites in place and size-changing replaces),
 * deletes, evictions (a small max_entries), expiry (a test clock moved by
 * a thread, plus goio_cache_memory_reclaim) and clear. Every value read is
 * checked byte for byte: it names its key and version, its length follows
 * from both, and every byte is a function of the three, so a torn copy
 * (parts of two versions) or another key's value fails the test. Bounded:
 * a fixed number of operations per thread and a deadline.
 */
#include "cache_test.h"
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYS    512
#define READERS 3
#define WRITERS 2
#define MAX_LEN 96

static _Atomic int64_t clock_ms = 1000000;
static atomic_bool stop;
static atomic_long bad, hits, reads;

static int64_t test_now(void *data)
{
    (void)data;
    return atomic_load(&clock_ms);
}

/* Three of four versions have the same length (overwritten in place),
 * the fourth is longer (replaced); key % 3 makes the last word partial. */
static size_t len_of(uint32_t key, uint32_t version)
{
    return 24 + (version % 4 == 3 ? 40 : 0) + key % 3;
}

static uint8_t byte_of(uint32_t key, uint32_t version, size_t j)
{
    uint32_t x = (key * 2654435761u) ^ (version * 40503u) ^ (uint32_t)j * 97u;
    return (uint8_t)(x ^ (x >> 11));
}

static size_t make_value(uint8_t *v, uint32_t key, uint32_t version)
{
    size_t len = len_of(key, version);
    memcpy(v, &key, 4);
    memcpy(v + 4, &version, 4);
    for (size_t j = 8; j < len; j++)
        v[j] = byte_of(key, version, j);
    return len;
}

static bool value_ok(const uint8_t *v, size_t len, uint32_t key)
{
    uint32_t k, version;
    if (len < 8)
        return false;
    memcpy(&k, v, 4);
    memcpy(&version, v + 4, 4);
    if (k != key || len != len_of(key, version))
        return false;
    for (size_t j = 8; j < len; j++)
        if (v[j] != byte_of(key, version, j))
            return false;
    return true;
}

static void key_name(char *out, size_t cap, uint32_t key)
{
    snprintf(out, cap, "stress:%u", key);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct worker {
    goio_cache *c;
    int id;
    long ops;
} worker;

static void *reader(void *arg)
{
    worker *w = arg;
    uint64_t s = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1);
    goio_buf b = GOIO_BUF_INIT;
    char name[32];
    for (long i = 0; i < w->ops && !atomic_load(&stop); i++) {
        /* Hot keys mostly, so reads meet overwrites of the same entry. */
        uint32_t key = (uint32_t)(rnd(&s) % (i % 4 ? 16 : KEYS));
        key_name(name, sizeof name, key);
        bool hit = false;
        int rc = goio_cache_get(w->c, NULL, name, &b, &hit);
        atomic_fetch_add(&reads, 1);
        if (rc != 0 || (hit && !value_ok(b.data, b.len, key))) {
            if (atomic_fetch_add(&bad, 1) < 5)
                fprintf(stderr, "bad read of %s: rc %d len %zu\n", name, rc,
                        b.len);
        }
        if (hit)
            atomic_fetch_add(&hits, 1);
        /* Now and then a small buffer, so the grow-and-retry path runs. */
        if (i % 64 == 0) {
            goio_buf_deinit(&b);
            b = (goio_buf)GOIO_BUF_INIT;
        }
    }
    goio_buf_deinit(&b);
    return NULL;
}

static void *writer(void *arg)
{
    worker *w = arg;
    uint64_t s = 0xdeadbeefcafef00dULL * (uint64_t)(w->id + 1);
    uint8_t v[MAX_LEN];
    char name[32];
    uint32_t version = (uint32_t)w->id;
    for (long i = 0; i < w->ops && !atomic_load(&stop); i++) {
        uint32_t key = (uint32_t)(rnd(&s) % (i % 2 ? 16 : KEYS));
        key_name(name, sizeof name, key);
        uint64_t r = rnd(&s) % 100;
        int rc = 0;
        if (r < 80) {
            version += WRITERS;
            size_t len = make_value(v, key, version);
            /* Short TTLs, so the moving clock expires some. */
            int64_t ttl = r < 40 ? 5 + (int64_t)(rnd(&s) % 50) : 3600 * 1000;
            rc = goio_cache_set(w->c, NULL, name, v, len, ttl);
        } else if (r < 97) {
            rc = goio_cache_del(w->c, NULL, name);
        } else if (r < 99) {
            atomic_fetch_add(&clock_ms, 7);
            rc = goio_cache_memory_reclaim(w->c) < 0 ? -1 : 0;
        } else if (i % 1000 == 999) {
            rc = goio_cache_clear(w->c, NULL);
        }
        if (rc != 0 && atomic_fetch_add(&bad, 1) < 5)
            fprintf(stderr, "write of %s failed: %d\n", name, rc);
    }
    return NULL;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        atomic_fetch_add(&clock_ms, 3);
        goio_test_sleep_ms(1);
    }
    return NULL;
}

static void run(long reader_ops, long writer_ops, size_t max_entries)
{
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.max_entries = max_entries;
    cfg.max_bytes = (size_t)1 << 20;
    cfg.shards = 4;
    cfg.reclaim_interval_ms = 5;
    cfg.now_ms = test_now;
    goio_cache *c;
    assert_ok(goio_cache_memory_new(&cfg, &c));
    atomic_store(&stop, false);
    atomic_store(&bad, 0);
    atomic_store(&hits, 0);
    atomic_store(&reads, 0);
    worker w[READERS + WRITERS];
    pthread_t th[READERS + WRITERS], tick;
    for (int i = 0; i < READERS + WRITERS; i++) {
        w[i] = (worker){c, i, i < READERS ? reader_ops : writer_ops};
        assert_int_equal(
            pthread_create(&th[i], NULL, i < READERS ? reader : writer, &w[i]),
            0);
    }
    assert_int_equal(pthread_create(&tick, NULL, ticker, NULL), 0);
    for (int i = 0; i < READERS + WRITERS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, true);
    pthread_join(tick, NULL);
    goio_cache_stats st;
    assert_ok(goio_cache_stats_get(c, &st));
    fprintf(stderr, "reads %ld hits %ld, evictions %llu expirations %llu\n",
            atomic_load(&reads), atomic_load(&hits),
            (unsigned long long)st.evictions,
            (unsigned long long)st.expirations);
    assert_int_equal(atomic_load(&bad), 0);
    /* The test is about reads that meet writes: it must have seen hits,
     * evictions and expirations. */
    assert_true(atomic_load(&hits) > 0);
    assert_int_equal(st.hits + st.misses, (uint64_t)atomic_load(&reads));
    assert_true(max_entries == 0 || st.evictions > 0);
    assert_true(st.expirations > 0);
    goio_cache_free(c);
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SCALE 1
#else
#define SCALE 8
#endif

static void gets_race_writers_bounded(void **state)
{
    (void)state;
    run(40000 * SCALE, 20000 * SCALE, 128);
}

static void gets_race_writers_unbounded(void **state)
{
    (void)state;
    run(40000 * SCALE, 20000 * SCALE, 0);
}

static void *hot_reader(void *arg)
{
    goio_cache *c = arg;
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    while (!atomic_load(&stop))
        goio_cache_get(c, NULL, "stress:1", &b, &hit);
    goio_buf_deinit(&b);
    return NULL;
}

/* What a forked child does: a cache of its own whose writes need grace
 * periods (evictions fill the limbo, clear flushes it). */
static int child_work(void)
{
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.max_entries = 16;
    cfg.reclaim_interval_ms = 0;
    goio_cache *c;
    if (goio_cache_memory_new(&cfg, &c))
        return 1;
    char name[32];
    for (uint32_t i = 0; i < 2000; i++) {
        key_name(name, sizeof name, i);
        if (goio_cache_set(c, NULL, name, "v", 1, 3600 * 1000))
            return 1;
    }
    goio_cache_clear(c, NULL);
    goio_cache_free(c);
    return 0;
}

/* A thread of the parent may be inside a read section when another one
 * forks; the child never runs that thread, so its grace periods must not
 * wait for it. Each round forks while a reader loops; a child that hangs
 * is killed at the deadline and fails the test. */
static void fork_while_reading(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip(); /* TSan does not support fork() with running threads */
#endif
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.reclaim_interval_ms = 0;
    goio_cache *c;
    assert_ok(goio_cache_memory_new(&cfg, &c));
    assert_ok(goio_cache_set(c, NULL, "stress:1", "value", 5, 3600 * 1000));
    atomic_store(&stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hot_reader, c), 0);
    for (int round = 0; round < 20; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(child_work());
        int status = 0;
        bool done =
            GOIO_WAIT_UNTIL(waitpid(pid, &status, WNOHANG) == pid, 10000);
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        assert_true(done);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    goio_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gets_race_writers_bounded),
        cmocka_unit_test(gets_race_writers_unbounded),
        cmocka_unit_test(fork_while_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
