/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the http_cache tests: a real origin (goio's HTTP server on a
 * free loopback port) whose resources are described by tables the tests
 * fill - the header combination each answers with, whether it fails,
 * blocks or answers 304 - and that counts every hit; a fake wall clock the
 * tests move forward instead of sleeping; and a log capture.
 */
#ifndef GOIO_TESTS_HC_TEST_H
#define GOIO_TESTS_HC_TEST_H

#include <goio/http.h>
#include <goio/http_cache.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "test_util.h"

/* ---- the origin ---------------------------------------------------------- */

#define HC_STR 160

/*
 * A resource served at /r/<name>. Every string field that is non-empty is
 * sent as that header on 200 responses (and on 304s for ETag, Date,
 * Cache-Control, Expires, Last-Modified, Vary, plus the extra 304 field).
 * Fields are read under the origin's lock: change them with
 * hc_res_update() (or before the first request).
 */
typedef struct hc_res {
    char name[64];
    int status; /* default 200 */
    char cache_control[HC_STR], etag[HC_STR], last_modified[HC_STR];
    char expires[HC_STR], vary[HC_STR], date[HC_STR], age[HC_STR];
    char extra_name[HC_STR], extra_value[HC_STR];
    char extra304_name[HC_STR], extra304_value[HC_STR];
    char length304[HC_STR];   /* a Content-Length sent on 304s */
    char etag304[HC_STR];     /* the ETag a 304 carries instead of etag */
    char reason[HC_STR];      /* != "": the 200's reason phrase */
    char early_hints[HC_STR]; /* != "": GETs first send a 102 and a 103
                                 with this Link field */
    bool never_304;           /* answer conditionals with full responses */
    char location[HC_STR], content_location[HC_STR];
    int fail_status;   /* != 0: every GET answers this (503 ...) */
    int unsafe_status; /* answer to other methods; default 200 */
    size_t body_size;  /* != 0: a body of this many bytes */
    bool block;        /* GETs wait for hc_origin_release() */
    /* counters (atomics: read them without the lock) */
    atomic_int hits;        /* GET/HEAD requests */
    atomic_int hits_304;    /* answered 304 */
    atomic_int conditional; /* carried If-None-Match/If-Modified-Since */
    atomic_int unsafe_hits; /* other methods */
    atomic_int heads;       /* HEAD requests */
    atomic_int blocked;     /* handlers waiting in block */
    /* what the last request carried (under the lock) */
    char last_inm[HC_STR], last_ims[HC_STR], last_peer[HC_STR];
    char last_capability[HC_STR]; /* Surrogate-Capability */
    char last_method[16];
} hc_res;

typedef struct hc_origin {
    goio_http_server *srv;
    goio_http_router *router;
    int port;
} hc_origin;

/* Starts an origin on 127.0.0.1:0. Resources are global to the process
 * (hc_res_add), so two origins serve the same set. */
void hc_origin_start(hc_origin *o);
void hc_origin_stop(hc_origin *o);
/* Adds a resource (defaults: 200, unsafe 200, text body); returns it.
 * Valid until hc_res_reset(). */
hc_res *hc_res_add(const char *name);
/* Drops every resource (between tests). */
void hc_res_reset(void);
/* Runs fn(res, arg) under the origin's lock. */
void hc_res_update(hc_res *r, void (*fn)(hc_res *r, void *arg), void *arg);
void hc_res_set_fail(hc_res *r, int status);
/* Makes r's GETs wait for hc_origin_release() (or not). */
void hc_res_block(hc_res *r, bool on);
/* Sets a string field under the lock. */
void hc_res_set(hc_res *r, size_t field_offset, const char *value);
#define SET(r, field, v) hc_res_set(r, offsetof(hc_res, field), v)
/* Reads a string field under the lock into out. */
void hc_res_get(hc_res *r, size_t field_offset, char *out);
#define HC_RES_GET(r, field, out) hc_res_get(r, offsetof(hc_res, field), out)
/* Wakes every blocked handler (and lets later ones pass). */
void hc_origin_release(void);
/* Blocks new handlers again. */
void hc_origin_rearm(void);

/* A URL of the origin: http://127.0.0.1:<port>/r/<name>. Static per
 * thread: copy it if needed across calls. */
const char *hc_url(const hc_origin *o, const char *name);

/* ---- nginx: a second, independent origin --------------------------------- */

/* nginx serving static files from a fresh temp dir (its ETag and
 * Last-Modified are nginx's own), in a process of its own - so its memory
 * is not goio's, which the allocation-failure tests need. */
typedef struct hc_nginx {
    char *dir; /* files go in dir/www */
    int port;
    int pid;
} hc_nginx;

void hc_nginx_start(hc_nginx *n);
void hc_nginx_stop(hc_nginx *n);
/* Writes dir/www/name with len pattern bytes, modified mtime_s ago. */
void hc_nginx_file(hc_nginx *n, const char *name, size_t len, int64_t mtime_s);

/* ---- the clock ----------------------------------------------------------- */

/* The client's wall clock: the real one plus an offset tests move. */
int64_t hc_clock(void *arg);
void hc_clock_reset(void);
void hc_clock_advance(int64_t ms);
/* An HTTP-date (IMF-fixdate) of the test clock + offset_s. The origin
 * dates its responses with this clock too. */
void hc_http_date(int64_t offset_s, char out[64]);

/* ---- the client ---------------------------------------------------------- */

/* A config with the test clock and an 8 MiB memory cache. */
void hc_config(goio_http_cache_config *cfg);
goio_http_cache *hc_client(const goio_http_cache_config *cfg);

/* GET with headers "Name", "value", ... (the macros end the list).
 * Asserts success. */
goio_http_cache_response *hc_get_(goio_http_cache *c, const char *url, ...);
#define hc_get(...) hc_get_(__VA_ARGS__, NULL)
/* Same, returning the code (response in *out). */
int hc_try_get_(goio_http_cache *c, const char *url, goio_ctx *ctx,
                goio_http_cache_response **out, ...);
#define hc_try_get(...) hc_try_get_(__VA_ARGS__, NULL)
/* The body as a string (copied to a thread-local buffer). */
const char *hc_body(const goio_http_cache_response *r);
/* Asserts the served kind and frees the response. */
void hc_expect(goio_http_cache_response *r, goio_http_cache_served served);

/* ---- log capture --------------------------------------------------------- */

void hc_log_capture(void);
int hc_log_count(const char *code);

/* ---- fixture ------------------------------------------------------------- */

/* The origin every test of an executable talks to (started per test). */
extern hc_origin hc_o;
/* cmocka setup/teardown: resets resources, clock and log capture, starts
 * and stops hc_o. */
int hc_setup(void **state);
int hc_teardown(void **state);
/* hc_url(&hc_o, name) */
#define URL(name) hc_url(&hc_o, name)
#endif
