/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the cache tests.
 *
 * fault_cache: a goio_cache that fails on demand. This is fault injection: a
 * real memory cache never fails a get or a set when asked to, and the
 * hybrid and stale layers must be tested against layers that do. It
 * forwards every call to an inner memory cache unless told to fail, and
 * counts calls. With `hang` set, get and set block like a server that
 * stopped answering until their ctx is done (forever with a NULL ctx: the
 * tests never do that), and return the ctx's error; last_ctx records the
 * ctx the last get received, to check that layers pass it down.
 */
#ifndef GOIO_TEST_CACHE_TEST_H
#define GOIO_TEST_CACHE_TEST_H

#include <goio/cache.h>

#include <stdatomic.h>

typedef struct fault_cache {
    goio_cache base;
    goio_cache *inner;
    atomic_int fail_get, fail_set, fail_del; /* 0: forward, else return it */
    atomic_int gets, sets, dels;
    atomic_llong last_set_ttl;
    atomic_bool hang;
    _Atomic(goio_ctx *) last_ctx;
} fault_cache;

/* A new fault cache over a fresh memory cache; free with goio_cache_free. */
fault_cache *fault_cache_new(void);

/* log_capture: records every goio log record (thread-safe) while
 * installed, at every level. */
void log_capture_start(void);
void log_capture_stop(void);
/* How many records with this code (and key, unless NULL) were logged;
 * *error (may be NULL) gets the last one's error. */
int log_capture_count(const char *code, const char *key, int *error);

/* A memory cache with the given bounds and reclaim interval. */
goio_cache *memory_cache(size_t max_bytes, size_t max_entries,
                         int64_t reclaim_ms);

/* A clock the test moves (ms), for memory caches' TTLs: no test waits for
 * a TTL on the real clock. */
typedef struct test_clock {
    atomic_llong now;
} test_clock;
int64_t test_clock_read(void *data);
static inline void test_clock_advance(test_clock *t, int64_t ms)
{
    atomic_fetch_add(&t->now, ms);
}
/* memory_cache on the clock t. */
goio_cache *memory_cache_clocked(size_t max_bytes, size_t max_entries,
                                 int64_t reclaim_ms, test_clock *t);
/* fault_cache_new with its inner memory cache on the clock t. */
fault_cache *fault_cache_new_clocked(test_clock *t);
/* Asserts that key reads as `value` (NUL-terminated) / as a miss. */
void assert_cached(goio_cache *c, const char *key, const char *value);
void assert_missing(goio_cache *c, const char *key);
/* Whether key reads as a miss (for GOIO_WAIT_UNTIL; read errors fail). */
bool reads_missing(goio_cache *c, const char *key);

/* How many callers wait for c's get_or_set flight of key (the base's
 * sharedflight group, a private field: for tests that must know every
 * caller joined before the fetch ends). */
size_t flight_callers(goio_cache *c, const char *key);

#endif
