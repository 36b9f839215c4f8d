/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the redis tests: a log sink that records what goio
 * logged, a time tracker that records KPI names, raw RESP over a socket.
 */
#ifndef GOIO_TEST_REDIS_UTIL_H
#define GOIO_TEST_REDIS_UTIL_H

#include "test_util.h"

#include <goio/redis.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- captured log records ---- */

typedef struct captured_logs {
    pthread_mutex_t mu;
    int count;
    char codes[64][48];
    char keys[64][64];
    char messages[64][256];
    int errors[64];
} captured_logs;

static captured_logs test_logs = {.mu = PTHREAD_MUTEX_INITIALIZER};

static inline void capture_sink(const goio_log_record *rec, void *data)
{
    (void)data;
    pthread_mutex_lock(&test_logs.mu);
    int i = test_logs.count % 64;
    snprintf(test_logs.codes[i], sizeof test_logs.codes[i], "%s",
             rec->code ? rec->code : "");
    snprintf(test_logs.keys[i], sizeof test_logs.keys[i], "%s",
             rec->key ? rec->key : "");
    snprintf(test_logs.messages[i], sizeof test_logs.messages[i], "%s",
             rec->message ? rec->message : "");
    test_logs.errors[i] = rec->error;
    test_logs.count++;
    pthread_mutex_unlock(&test_logs.mu);
}

static inline void logs_capture(void)
{
    pthread_mutex_lock(&test_logs.mu);
    test_logs.count = 0;
    pthread_mutex_unlock(&test_logs.mu);
    goio_log_set_sink(capture_sink, NULL);
}

static inline void logs_restore(void)
{
    goio_log_set_sink(goio_log_stderr_sink, NULL);
}

/* Whether a record with `code` (and key, message part, when not NULL)
 * was logged since logs_capture. */
static inline bool logs_have(const char *code, const char *key,
                             const char *message_part)
{
    bool found = false;
    pthread_mutex_lock(&test_logs.mu);
    int n = test_logs.count < 64 ? test_logs.count : 64;
    for (int i = 0; i < n && !found; i++)
        found = !strcmp(test_logs.codes[i], code) &&
                (!key || !strcmp(test_logs.keys[i], key)) &&
                (!message_part || strstr(test_logs.messages[i], message_part));
    pthread_mutex_unlock(&test_logs.mu);
    return found;
}

/* ---- time tracker ---- */

typedef struct tracked {
    pthread_mutex_t mu;
    int count;
    char names[256][48];
    bool ordered; /* every start <= end */
} tracked;

static inline void track_fn(const char *kpi, int64_t start_ns, int64_t end_ns,
                            void *data)
{
    tracked *t = data;
    pthread_mutex_lock(&t->mu);
    if (t->count < 256)
        snprintf(t->names[t->count], sizeof t->names[0], "%s", kpi);
    t->count++;
    if (start_ns > end_ns || start_ns <= 0)
        t->ordered = false;
    pthread_mutex_unlock(&t->mu);
}

static inline int tracked_count(tracked *t, const char *kpi)
{
    int n = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->count && i < 256; i++)
        n += !strcmp(t->names[i], kpi);
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* ---- keys for the multi-key calls ---- */

#define TEST_MAX_KEYS 256

typedef struct test_keys {
    int n;
    char names[TEST_MAX_KEYS][16];
    const char *keys[TEST_MAX_KEYS];
    const void *vals[TEST_MAX_KEYS];
    size_t lens[TEST_MAX_KEYS];
    goio_buf bufs[TEST_MAX_KEYS]; /* for multi_get */
    bool hits[TEST_MAX_KEYS];
} test_keys;

/* n keys "<prefix><i * step>", each valued with its own name (its NUL
 * included when with_nul: binary-safe), and n empty buffers. */
static inline void test_keys_init(test_keys *t, const char *prefix, int n,
                                  int step, bool with_nul)
{
    assert_true(n <= TEST_MAX_KEYS);
    t->n = n;
    for (int i = 0; i < n; i++) {
        int len =
            snprintf(t->names[i], sizeof t->names[i], "%s%d", prefix, i * step);
        t->keys[i] = t->vals[i] = t->names[i];
        t->lens[i] = (size_t)len + with_nul;
        goio_buf_init(&t->bufs[i]);
    }
}

/* After a multi_get: key i was found, with its value, exactly when
 * i % every == 0. */
static inline void test_keys_check(const test_keys *t, int every)
{
    for (int i = 0; i < t->n; i++) {
        assert_int_equal(t->hits[i], i % every == 0);
        if (t->hits[i]) {
            assert_int_equal(t->bufs[i].len, t->lens[i]);
            assert_memory_equal(t->bufs[i].data, t->vals[i], t->lens[i]);
        }
    }
}

static inline void test_keys_free(test_keys *t)
{
    for (int i = 0; i < t->n; i++)
        goio_buf_deinit(&t->bufs[i]);
}

/* ---- raw protocol ---- */

/* Sends a RESP command built from a NULL-terminated list of strings. */
static inline bool raw_send(int fd, const char *const *args)
{
    char buf[4096];
    int argc = 0;
    while (args[argc])
        argc++;
    int n = snprintf(buf, sizeof buf, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "$%zu\r\n%s\r\n",
                      strlen(args[i]), args[i]);
    return write(fd, buf, (size_t)n) == n;
}

/* Reads whatever arrives within timeout_ms into buf (NUL-terminated). */
static inline size_t raw_read(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t len = 0;
    int64_t end = goio_now_mono_ms() + timeout_ms;
    while (len + 1 < size && goio_now_mono_ms() < end) {
        struct timeval tv = {0, 20000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n > 0)
            len += (size_t)n;
        else if (n == 0)
            break;
    }
    buf[len] = 0;
    return len;
}

/* Reads until `needle` shows up (or timeout); returns whether it did. */
static inline bool raw_expect(int fd, const char *needle, int timeout_ms)
{
    char buf[8192];
    size_t len = 0;
    int64_t end = goio_now_mono_ms() + timeout_ms;
    while (len + 1 < sizeof buf && goio_now_mono_ms() < end) {
        struct timeval tv = {0, 20000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            buf[len] = 0;
            if (strstr(buf, needle))
                return true;
        } else if (n == 0) {
            break;
        }
    }
    return false;
}

static inline int64_t elapsed_since(int64_t t0)
{
    return goio_now_mono_ms() - t0;
}

#endif
