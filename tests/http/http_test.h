/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the http tests: a server with a router on a free port, a
 * libcurl easy client, raw sockets for what curl will not send, a
 * position-stamped byte pattern (cheap to generate and to check, so a
 * 1 GiB body costs memcpy, not hashing), generated readers, RSS and a log
 * capture.
 */
#ifndef GOIO_TESTS_HTTP_TEST_H
#define GOIO_TESTS_HTTP_TEST_H

#include <goio/http.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "test_util.h"

/* Checks on handler (worker) threads, where a cmocka assert cannot
 * unwind: a failure is counted and reported; ht_stop asserts none. */
extern atomic_int ht_handler_failures;
#define HT_CHECK(cond)                                                         \
    do {                                                                       \
        if (!(cond)) {                                                         \
            atomic_fetch_add(&ht_handler_failures, 1);                         \
            fprintf(stderr, "%s:%d: handler check failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                          \
        }                                                                      \
    } while (0)

/* ---- server -------------------------------------------------------------- */

typedef struct ht_server {
    goio_http_server *srv;
    goio_http_router *router;
    int port;
} ht_server;

/* A config with test-friendly defaults (4 workers). */
void ht_config(goio_http_server_config *cfg);
/* Starts a server on 127.0.0.1:0 with s->router as handler (routes added
 * before, by the caller, on a router from ht_router()). cfg NULL: ht_config. */
void ht_start(ht_server *s, goio_http_server_config *cfg);
goio_http_router *ht_router(ht_server *s);
void ht_stop(ht_server *s);

/* ---- libcurl client ------------------------------------------------------ */

typedef struct ht_resp {
    CURLcode rc;
    long status;
    long connects; /* new connections this transfer made */
    goio_buf body;
    goio_buf headers; /* raw header block */
} ht_resp;

typedef struct ht_req {
    const char *method; /* NULL: GET (or POST with a body) */
    const char *path;
    const void *body;
    size_t body_len;
    const char *const *headers; /* NULL-terminated "Name: value" */
    CURL *reuse;                /* an easy handle to reuse (keep-alive) */
    bool http10;
} ht_req;

void ht_request(int port, const ht_req *req, ht_resp *out);
/* GET path. */
void ht_get(int port, const char *path, ht_resp *out);
/* The first value of a response header (case-insensitive), copied into a
 * static thread-local buffer; NULL when absent. */
const char *ht_header(ht_resp *r, const char *name);
void ht_resp_free(ht_resp *r);

/* ---- raw sockets --------------------------------------------------------- */

/* Sends req and reads until EOF or timeout_ms. Returns true at EOF. */
bool ht_raw(int port, const char *req, size_t len, goio_buf *reply,
            int timeout_ms);
/* Whether connecting to the port is refused. */
bool ht_port_closed(int port);
/* Reads from fd until EOF or timeout; true at EOF. */
bool ht_read_until_eof(int fd, goio_buf *reply, int timeout_ms);

/* ---- the byte pattern and generated readers ------------------------------ */

void ht_pattern_fill(uint64_t off, uint8_t *p, size_t n);
bool ht_pattern_check(uint64_t off, const uint8_t *p, size_t n);

typedef struct ht_source_stats {
    atomic_ullong produced; /* bytes returned by read */
    atomic_bool closed;
} ht_source_stats;

/*
 * A reader of `total` pattern bytes (UINT64_MAX: endless); after
 * `fail_after` bytes (UINT64_MAX: never) read returns `fail_err`. stats
 * (may be NULL) must outlive it.
 */
goio_io_reader *ht_gen_reader(uint64_t total, uint64_t fail_after, int fail_err,
                              ht_source_stats *stats);

/* ---- timing bounds ------------------------------------------------------- */

/*
 * Latency bounds for timed behaviour (auto-flush intervals): the median
 * of many samples is bounded tightly, so a regression of a few ms shows,
 * and only the worst sample gets the loose slack a loaded, sanitized run
 * needs.
 */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
/* ThreadSanitizer slows every thread switch several times: 50 flushers
 * waking at once on two loaded cores were seen at a 46 ms median. */
#define HT_MEDIAN_SLACK_MS 80
#else
#define HT_MEDIAN_SLACK_MS 15
#endif
#define HT_TAIL_SLACK_MS 250
/* Sorts v[0..n) and reports its median and maximum. */
void ht_latency_stats(int64_t *v, size_t n, int64_t *median, int64_t *max);

/* Resident set size of this process, KiB. */
long ht_rss_kib(void);

/* ---- log capture --------------------------------------------------------- */

void ht_log_capture(void);
/* Records seen with this code since ht_log_capture(). */
int ht_log_count(const char *code);

#endif
