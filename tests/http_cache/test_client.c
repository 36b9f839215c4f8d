/* SPDX-License-Identifier: MIT */
/*
 * The client as a whole: concurrent misses share one origin request,
 * different URLs transfer in parallel, ctx cancellation and deadlines end
 * a transfer promptly, the default memory cache stays within its MiB bound
 * under many URLs, max_age_ms caps how long anything is kept, any
 * goio_cache can be the storage (and be shared), foreign bytes in storage
 * are a miss, keep-alive connections are reused, errors are exact, and
 * every allocation failure returns GOIO_ENOMEM without a leak.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/http_cache/http_cache_int.h"
#include "hc_test.h"

/* ---- sharing one origin request ------------------------------------------ */

#define HERD 16

typedef struct herd_arg {
    goio_http_cache *c;
    const char *url;
    goio_ctx *ctx;
    int rc;
    goio_http_cache_response *resp;
} herd_arg;

static void *herd_main(void *p)
{
    herd_arg *a = p;
    a->rc = goio_http_cache_get(a->c, a->ctx, a->url, NULL, 0, &a->resp);
    return NULL;
}

static size_t callers(goio_http_cache *c, const char *url)
{
    char *key;
    assert_ok(goio__hc_flight_key(c, url, &key));
    size_t n = 0;
    assert_ok(goio_sharedflight_callers(goio__hc_flights(c), key, &n));
    goio_free(key);
    return n;
}

static void test_concurrent_misses(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("herd");
    SET(r, cache_control, "max-age=60");
    hc_res_block(r, true);
    goio_http_cache *c = hc_client(NULL);
    char url[512];
    snprintf(url, sizeof url, "%s", URL("herd"));
    herd_arg args[HERD];
    pthread_t th[HERD];
    for (int i = 0; i < HERD; i++) {
        args[i] = (herd_arg){.c = c, .url = url};
        assert_int_equal(pthread_create(&th[i], NULL, herd_main, &args[i]), 0);
    }
    /* the first caller is at the origin; wait for all to join it */
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&r->blocked) == 1, 10000));
    assert_true(GOIO_WAIT_UNTIL(callers(c, url) == HERD, 10000));
    hc_origin_release();
    int shared = 0;
    for (int i = 0; i < HERD; i++) {
        pthread_join(th[i], NULL);
        assert_ok(args[i].rc);
        assert_string_equal(hc_body(args[i].resp), "herd #1");
        assert_int_equal(args[i].resp->served, GOIO_HTTP_CACHE_NETWORK);
        shared += args[i].resp->shared;
        goio_http_cache_response_free(args[i].resp);
    }
    assert_int_equal(atomic_load(&r->hits), 1);
    assert_int_equal(shared, HERD - 1);
    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.origin_requests, 1);
    assert_int_equal(st.shared, HERD - 1);
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_HIT);
    goio_http_cache_free(c);
}

/* Different URLs do not wait for each other. */
static void test_parallel_urls(void **state)
{
    (void)state;
    enum { N = 6 };
    hc_res *r[N];
    char urls[N][512];
    herd_arg args[N];
    pthread_t th[N];
    goio_http_cache *c = hc_client(NULL);
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "par%d", i);
        r[i] = hc_res_add(name);
        SET(r[i], cache_control, "max-age=60");
        hc_res_block(r[i], true);
        snprintf(urls[i], sizeof urls[i], "%s", URL(name));
        args[i] = (herd_arg){.c = c, .url = urls[i]};
        assert_int_equal(pthread_create(&th[i], NULL, herd_main, &args[i]), 0);
    }
    int total;
    assert_true(GOIO_WAIT_UNTIL(({
                                    total = 0;
                                    for (int i = 0; i < N; i++)
                                        total += atomic_load(&r[i]->blocked);
                                    total == N;
                                }),
                                10000));
    hc_origin_release();
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_ok(args[i].rc);
        hc_expect(args[i].resp, GOIO_HTTP_CACHE_NETWORK);
    }
    goio_http_cache_free(c);
}

/* Many threads, many URLs, every kind of answer at once (for the
 * sanitizers as much as for the results). */
#define STRESS_THREADS 8
#define STRESS_URLS    12
#define STRESS_OPS     150

typedef struct stress_arg {
    goio_http_cache *c;
    char (*urls)[512];
    unsigned seed;
    int failures;
} stress_arg;

static void *stress_main(void *p)
{
    stress_arg *a = p;
    static const char *const langs[] = {"fr", "de", NULL};
    for (int i = 0; i < STRESS_OPS; i++) {
        int u = (int)(rand_r(&a->seed) % STRESS_URLS);
        const char *lang = langs[rand_r(&a->seed) % 3];
        bool validate = rand_r(&a->seed) % 8 == 0;
        goio_http_cache_header h[2];
        size_t n = 0;
        if (lang)
            h[n++] = (goio_http_cache_header){"Accept-Language", lang};
        if (validate)
            h[n++] = (goio_http_cache_header){"Cache-Control", "no-cache"};
        goio_http_cache_response *r = NULL;
        int rc = goio_http_cache_get(a->c, NULL, a->urls[u], h, n, &r);
        bool ok = rc == 0 && r->status == 200 &&
                  (u % 3 == 2 ? r->body_len == (32 << 10)
                              : r->body_len > 0 && r->body[0] == 's');
        if (!ok)
            a->failures++;
        if (rand_r(&a->seed) % 50 == 0)
            goio_http_cache_invalidate(a->c, NULL, a->urls[u]);
        goio_http_cache_response_free(r);
    }
    return NULL;
}

static void test_stress(void **state)
{
    (void)state;
    char urls[STRESS_URLS][512];
    for (int i = 0; i < STRESS_URLS; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        hc_res *r = hc_res_add(name);
        SET(r, cache_control, i % 2 ? "max-age=0" : "max-age=60");
        SET(r, etag, "\"s\"");
        if (i % 4 == 1)
            SET(r, vary, "Accept-Language");
        if (i % 3 == 2)
            r->body_size = 32 << 10; /* stored apart */
        snprintf(urls[i], sizeof urls[i], "%s", URL(name));
    }
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.max_idle_handles = 3; /* fewer than threads: slots come and go */
    goio_http_cache *c = hc_client(&cfg);
    stress_arg args[STRESS_THREADS];
    pthread_t th[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++) {
        args[i] = (stress_arg){.c = c, .urls = urls, .seed = 7u * (unsigned)i};
        assert_int_equal(pthread_create(&th[i], NULL, stress_main, &args[i]),
                         0);
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.requests, STRESS_THREADS * STRESS_OPS);
    assert_int_equal(st.errors, 0);
    assert_true(st.hits > 0 && st.revalidated > 0);
    goio_http_cache_free(c);
}

/* ---- cancellation -------------------------------------------------------- */

static void test_cancel(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("hang");
    hc_res_block(r, true);
    goio_http_cache *c = hc_client(NULL);
    herd_arg a = {.c = c};
    char url[512];
    snprintf(url, sizeof url, "%s", URL("hang"));
    a.url = url;
    assert_ok(goio_ctx_new(NULL, &a.ctx));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, herd_main, &a), 0);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&r->blocked) == 1, 10000));
    int64_t t0 = goio_now_mono_ms();
    goio_ctx_cancel(a.ctx);
    pthread_join(th, NULL);
    assert_true(goio_now_mono_ms() - t0 < 1000);
    assert_goio(GOIO_ECANCELED, a.rc);
    assert_null(a.resp);
    goio_ctx_unref(a.ctx);

    /* a deadline */
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 200, &ctx));
    goio_http_cache_response *resp = NULL;
    t0 = goio_now_mono_ms();
    assert_goio(GOIO_ETIMEDOUT, hc_try_get(c, url, ctx, &resp));
    int64_t took = goio_now_mono_ms() - t0;
    assert_true(took >= 190 && took < 2000);
    goio_ctx_unref(ctx);
    /* a ctx that is already done does nothing */
    assert_ok(goio_ctx_new(NULL, &ctx));
    goio_ctx_cancel(ctx);
    int hits = atomic_load(&r->hits);
    assert_goio(GOIO_ECANCELED, hc_try_get(c, url, ctx, &resp));
    assert_int_equal(atomic_load(&r->hits), hits);
    goio_ctx_unref(ctx);
    hc_origin_release();
    /* the idle slot, whose last transfer was cut short, serves the next */
    resp = hc_get(c, url);
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "hang #3");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_free(c);
}

/* A follower gives up; the leader's request goes on and is stored. */
static void test_follower_gives_up(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("lead");
    SET(r, cache_control, "max-age=60");
    hc_res_block(r, true);
    goio_http_cache *c = hc_client(NULL);
    char url[512];
    snprintf(url, sizeof url, "%s", URL("lead"));
    herd_arg lead = {.c = c, .url = url}, follow = {.c = c, .url = url};
    assert_ok(goio_ctx_new(NULL, &follow.ctx));
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, herd_main, &lead), 0);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&r->blocked) == 1, 10000));
    assert_int_equal(pthread_create(&t2, NULL, herd_main, &follow), 0);
    assert_true(GOIO_WAIT_UNTIL(callers(c, url) == 2, 10000));
    goio_ctx_cancel(follow.ctx);
    pthread_join(t2, NULL);
    assert_goio(GOIO_ECANCELED, follow.rc);
    hc_origin_release();
    pthread_join(t1, NULL);
    assert_ok(lead.rc);
    hc_expect(lead.resp, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 1);
    goio_ctx_unref(follow.ctx);
    goio_http_cache_free(c);
}

/* The leader, whose thread runs the transfer, gives up: the transfer
 * goes on for the follower, which gets the response; the leader gets
 * GOIO_ECANCELED once it ends. */
static void test_leader_gives_up(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("lead2");
    SET(r, cache_control, "max-age=60");
    hc_res_block(r, true);
    goio_http_cache *c = hc_client(NULL);
    char url[512];
    snprintf(url, sizeof url, "%s", URL("lead2"));
    herd_arg lead = {.c = c, .url = url}, follow = {.c = c, .url = url};
    assert_ok(goio_ctx_new(NULL, &lead.ctx));
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, herd_main, &lead), 0);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&r->blocked) == 1, 10000));
    assert_int_equal(pthread_create(&t2, NULL, herd_main, &follow), 0);
    assert_true(GOIO_WAIT_UNTIL(callers(c, url) == 2, 10000));
    goio_ctx_cancel(lead.ctx);
    /* the leader no longer counts; the flight lives on for the follower */
    assert_true(GOIO_WAIT_UNTIL(callers(c, url) == 1, 10000));
    hc_origin_release();
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_goio(GOIO_ECANCELED, lead.rc);
    assert_null(lead.resp);
    assert_ok(follow.rc);
    assert_string_equal(hc_body(follow.resp), "lead2 #1");
    assert_true(follow.resp->shared);
    hc_expect(follow.resp, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 1);
    goio_ctx_unref(lead.ctx);
    goio_http_cache_free(c);
}

/* ---- memory -------------------------------------------------------------- */

static void test_bounded_memory(void **state)
{
    (void)state;
    enum { URLS = 200, BODY = 16 << 10 };
    goio_http_cache *c = NULL;
    assert_ok(goio_http_cache_new_memory(1, 600000, &c));
    goio_cache *storage = goio_http_cache_storage(c);
    assert_true(goio_cache_is_memory(storage));
    goio_cache_stats cs;
    char name[32];
    for (int i = 0; i < URLS; i++) {
        snprintf(name, sizeof name, "big%d", i);
        hc_res *r = hc_res_add(name);
        SET(r, cache_control, "max-age=600");
        r->body_size = BODY;
        goio_http_cache_response *resp = hc_get(c, URL(name));
        assert_int_equal(resp->body_len, BODY);
        assert_int_equal(resp->body[BODY - 1], 'a' + (BODY - 1) % 26);
        hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
        assert_ok(goio_cache_stats_get(storage, &cs));
        assert_true(cs.bytes <= 1 << 20);
    }
    assert_true(cs.evictions > 0);
    assert_true(cs.entries > 0 && cs.entries < URLS / 2);
    /* what the cache kept (its policy decides which) is served from it */
    int kept = -1;
    for (int i = 0; i < URLS && kept < 0; i++) {
        char *key;
        snprintf(name, sizeof name, "big%d", i);
        assert_ok(goio__hc_flight_key(c, URL(name), &key));
        goio_buf b = GOIO_BUF_INIT;
        bool hit = false;
        assert_ok(goio_cache_get(storage, NULL, key, &b, &hit));
        if (hit)
            kept = i;
        goio_buf_deinit(&b);
        goio_free(key);
    }
    assert_true(kept >= 0);
    snprintf(name, sizeof name, "big%d", kept);
    hc_expect(hc_get(c, URL(name)), GOIO_HTTP_CACHE_HIT);
    /* a body larger than the whole cache is served, not stored */
    hc_res *huge = hc_res_add("huge");
    SET(huge, cache_control, "max-age=600");
    huge->body_size = 2 << 20;
    hc_expect(hc_get(c, URL("huge")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("huge")), GOIO_HTTP_CACHE_NETWORK);
    assert_true(hc_log_count("set_cache_error") >= 2);
    goio_http_cache_free(c);
}

/* max_age_ms bounds how long anything is kept (Go's maxCacheAge). */
static void test_max_age_cap(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("cap");
    SET(r, cache_control, "max-age=600");
    SET(r, etag, "\"cap\"");
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.max_age_ms = 300;
    goio_http_cache *c = hc_client(&cfg);
    hc_expect(hc_get(c, URL("cap")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("cap")), GOIO_HTTP_CACHE_HIT);
    char *key;
    assert_ok(goio__hc_flight_key(c, URL("cap"), &key));
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_true(GOIO_WAIT_UNTIL(
        goio_cache_get(goio_http_cache_storage(c), NULL, key, &b, &hit) == 0 &&
            !hit,
        5000));
    hc_expect(hc_get(c, URL("cap")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->conditional), 0);
    goio_buf_deinit(&b);
    goio_free(key);
    goio_http_cache_free(c);
}

/* ---- storage ------------------------------------------------------------- */

/* Bodies above 16 KiB live in a body entry of their own: a 304 rewrites
 * only the response entry, and a body that disappears on its own makes
 * the entry a miss. */
static void test_big_bodies(void **state)
{
    (void)state;
    enum { BODY = 100 << 10 };
    hc_res *r = hc_res_add("large");
    SET(r, cache_control, "max-age=5, stale-if-error=600");
    SET(r, etag, "\"large\"");
    r->body_size = BODY;
    goio_http_cache *c = hc_client(NULL);
    goio_cache *storage = goio_http_cache_storage(c);
    goio_cache_stats cs;

    goio_http_cache_response *resp = hc_get(c, URL("large"));
    assert_int_equal(resp->body_len, BODY);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    assert_ok(goio_cache_stats_get(storage, &cs));
    assert_int_equal(cs.entries, 2);
    assert_true(cs.bytes > BODY);
    uint64_t sets = cs.sets;
    resp = hc_get(c, URL("large"));
    assert_int_equal(resp->body_len, BODY);
    assert_int_equal(resp->body[BODY - 1], 'a' + (BODY - 1) % 26);
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);

    hc_clock_advance(6000);
    resp = hc_get(c, URL("large"));
    assert_int_equal(resp->body_len, BODY);
    assert_int_equal(resp->body[BODY - 1], 'a' + (BODY - 1) % 26);
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    assert_ok(goio_cache_stats_get(storage, &cs));
    assert_int_equal(cs.sets, sets + 1); /* the response entry only */
    assert_int_equal(cs.entries, 2);

    /* HEAD needs no body; stale-if-error serves the body */
    goio_http_cache_request head = {.method = "HEAD", .url = URL("large")};
    assert_ok(goio_http_cache_do(c, NULL, &head, &resp));
    assert_int_equal(resp->body_len, 0);
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    hc_res_set_fail(r, 503);
    hc_clock_advance(6000);
    resp = hc_get(c, URL("large"));
    assert_int_equal(resp->body_len, BODY);
    assert_int_equal(resp->body[0], 'a');
    hc_expect(resp, GOIO_HTTP_CACHE_STALE);
    hc_res_set_fail(r, 0);

    /* the body entry disappears alone: a miss, and the entry goes too */
    char *key;
    assert_ok(goio__hc_flight_key(c, URL("large"), &key));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_cache_get(storage, NULL, key, &b, &hit));
    assert_true(hit);
    goio__hc_view v;
    assert_ok(goio__hc_entry_decode(b.data, b.len, &v));
    assert_true(v.body_ref);
    char body_key[600];
    snprintf(body_key, sizeof body_key, "%s\x1d%016llx", key,
             (unsigned long long)v.body_id);
    goio__hc_view_free(&v);
    assert_ok(goio_cache_get(storage, NULL, body_key, &b, &hit));
    assert_true(hit);
    assert_ok(goio_cache_del(storage, NULL, body_key));
    hc_clock_reset();
    int before = atomic_load(&r->hits);
    resp = hc_get(c, URL("large"));
    assert_int_equal(resp->body_len, BODY);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->hits), before + 1);
    assert_int_equal(atomic_load(&r->conditional), 2); /* unchanged */
    hc_expect(hc_get(c, URL("large")), GOIO_HTTP_CACHE_HIT);

    /* invalidation takes the body along */
    assert_ok(goio_http_cache_invalidate(c, NULL, URL("large")));
    assert_ok(goio_cache_stats_get(storage, &cs));
    assert_int_equal(cs.entries, 0);
    goio_buf_deinit(&b);
    goio_free(key);
    goio_http_cache_free(c);
}

static void test_shared_storage(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("sh");
    SET(r, cache_control, "max-age=60");
    goio_cache *storage;
    assert_ok(goio_cache_memory_new(NULL, &storage));
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.storage = storage;
    goio_http_cache *a = hc_client(&cfg), *b = hc_client(&cfg);
    cfg.key_prefix = "other:";
    goio_http_cache *other = hc_client(&cfg);
    hc_expect(hc_get(a, URL("sh")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(b, URL("sh")), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(other, URL("sh")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->hits), 2);
    /* keys are the normalised URL */
    char loud[512];
    snprintf(loud, sizeof loud, "HTTP://127.0.0.1:%d/r/sh#fragment", hc_o.port);
    hc_expect(hc_get(b, loud), GOIO_HTTP_CACHE_HIT);

    /* bytes that are not an entry are a miss, and logged */
    char *key;
    assert_ok(goio__hc_flight_key(a, URL("sh"), &key));
    assert_ok(goio_cache_set(storage, NULL, key, "garbage", 7, 60000));
    hc_expect(hc_get(a, URL("sh")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(hc_log_count("bad_cache_entry"), 1);
    hc_expect(hc_get(a, URL("sh")), GOIO_HTTP_CACHE_HIT);
    goio_free(key);
    goio_http_cache_free(a);
    goio_http_cache_free(b);
    goio_http_cache_free(other);
    /* the storage is still the caller's */
    goio_cache_stats cs;
    assert_ok(goio_cache_stats_get(storage, &cs));
    assert_true(cs.entries >= 1);
    goio_cache_free(storage);

    /* owned storage is freed with the client (a leak check catches it) */
    assert_ok(goio_cache_memory_new(NULL, &storage));
    cfg.storage = storage;
    cfg.own_storage = true;
    goio_http_cache_free(hc_client(&cfg));
}

static void test_keep_alive(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("ka");
    SET(r, cache_control, "no-store");
    goio_http_cache *c = hc_client(NULL);
    char first[HC_STR], peer[HC_STR];
    hc_expect(hc_get(c, URL("ka")), GOIO_HTTP_CACHE_NETWORK);
    HC_RES_GET(r, last_peer, first);
    for (int i = 0; i < 5; i++) {
        hc_expect(hc_get(c, URL("ka")), GOIO_HTTP_CACHE_NETWORK);
        HC_RES_GET(r, last_peer, peer);
        assert_string_equal(peer, first);
    }
    goio_http_cache_free(c);
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("e");
    r->body_size = 1000;
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.max_body_bytes = 100;
    goio_http_cache *c = hc_client(&cfg);
    goio_http_cache_response *resp = (void *)1;
    assert_goio(GOIO_ELIMIT, hc_try_get(c, URL("e"), NULL, &resp));
    assert_null(resp);

    char refused[128];
    snprintf(refused, sizeof refused, "http://127.0.0.1:%d/x",
             goio_test_free_port());
    assert_goio(GOIO_ECONNREFUSED, hc_try_get(c, refused, NULL, &resp));

    assert_goio(GOIO_EINVAL, hc_try_get(NULL, URL("e"), NULL, &resp));
    assert_goio(GOIO_EINVAL, hc_try_get(c, NULL, NULL, &resp));
    assert_goio(GOIO_EINVAL, hc_try_get(c, URL("e"), NULL, NULL));
    assert_goio(GOIO_EINVAL, hc_try_get(c, "ftp://127.0.0.1/x", NULL, &resp));
    assert_goio(GOIO_EINVAL, hc_try_get(c, "not a url", NULL, &resp));
    assert_goio(GOIO_EINVAL,
                hc_try_get(c, URL("e"), NULL, &resp, "Bad Name", "x"));
    assert_goio(GOIO_EINVAL,
                hc_try_get(c, URL("e"), NULL, &resp, "X", "a\r\nInjected: 1"));
    assert_goio(GOIO_EINVAL,
                goio_http_cache_get(c, NULL, URL("e"), NULL, 1, &resp));
    goio_http_cache_request req = {.method = "GE T", .url = URL("e")};
    assert_goio(GOIO_EINVAL, goio_http_cache_do(c, NULL, &req, &resp));
    req = (goio_http_cache_request){
        .method = "POST", .url = URL("e"), .body_len = 3};
    assert_goio(GOIO_EINVAL, goio_http_cache_do(c, NULL, &req, &resp));
    req = (goio_http_cache_request){.method = "", .url = URL("e")};
    assert_goio(GOIO_EINVAL, goio_http_cache_do(c, NULL, &req, &resp));
    assert_goio(GOIO_EINVAL, goio_http_cache_do(c, NULL, NULL, &resp));
    goio_http_cache_header bad_h[] = {{NULL, "x"}, {"X", NULL}, {"", "x"}};
    for (size_t i = 0; i < 3; i++)
        assert_goio(GOIO_EINVAL, goio_http_cache_get(c, NULL, URL("e"),
                                                     &bad_h[i], 1, &resp));
    assert_goio(GOIO_EINVAL, hc_try_get(c, "", NULL, &resp));
    assert_null(resp);
    assert_goio(GOIO_EINVAL, goio_http_cache_invalidate(c, NULL, "nope"));
    assert_goio(GOIO_EINVAL, goio_http_cache_invalidate(NULL, NULL, URL("e")));
    assert_goio(GOIO_EINVAL, goio_http_cache_stats_get(c, NULL));
    assert_null(goio_http_cache_response_get_header(NULL, "x"));
    assert_null(goio_http_cache_response_get_header(NULL, NULL));
    assert_null(goio_http_cache_storage(NULL));
    goio_http_cache_response_free(NULL);
    goio_http_cache_free(NULL);
    assert_string_equal(goio_http_cache_served_name(GOIO_HTTP_CACHE_STALE),
                        "stale");
    assert_string_equal(goio_http_cache_served_name(99), "unknown");
    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.errors, 5); /* ELIMIT, refused, 3 bad URLs */
    goio_http_cache_free(c);

    /* configs */
    goio_http_cache *out = (void *)1;
    goio_http_cache_config_init(NULL); /* a no-op */
    assert_goio(GOIO_EINVAL, goio_http_cache_new(NULL, NULL));
    goio_http_cache_config bad;
    static char long_prefix[GOIO_CACHE_MAX_KEY + 1];
    memset(long_prefix, 'p', GOIO_CACHE_MAX_KEY);
    const char *what[] = {"max_age",   "mib",     "body",
                          "heuristic", "timeout", "connect_timeout",
                          "stale",     "prefix"};
    for (int i = 0; i < 8; i++) {
        hc_config(&bad);
        switch (i) {
        case 0:
            bad.max_age_ms = 0;
            break;
        case 1:
            bad.max_size_mib = 0;
            break;
        case 2:
            bad.max_body_bytes = 0;
            break;
        case 3:
            bad.heuristic_max_ms = -1;
            break;
        case 4:
            bad.timeout_ms = -1;
            break;
        case 5:
            bad.connect_timeout_ms = -1;
            break;
        case 6:
            bad.stale_if_error_ms = -1;
            break;
        default:
            bad.key_prefix = long_prefix; /* no room left for a URL */
            break;
        }
        if (goio_http_cache_new(&bad, &out) != GOIO_EINVAL)
            fail_msg("bad %s accepted", what[i]);
        assert_null(out);
    }
    assert_goio(GOIO_EINVAL, goio_http_cache_new_memory(0, 1000, &out));
    assert_goio(GOIO_EINVAL, goio_http_cache_new_memory(1, 0, &out));
    /* defaults */
    assert_ok(goio_http_cache_new(NULL, &out));
    goio_http_cache_free(out);
}

/* ---- allocation failures ------------------------------------------------- */

typedef struct torture {
    const char *url;
    goio_http_cache *c; /* NULL: the op makes its own */
    goio_http_cache_response *r1, *r2;
} torture;

static int op_hit(void *arg)
{
    torture *t = arg;
    return goio_http_cache_get(t->c, NULL, t->url, NULL, 0, &t->r1);
}

/* A whole life: new client, a miss (origin, store), a hit, free. */
static int op_life(void *arg)
{
    torture *t = arg;
    goio_http_cache_config cfg;
    hc_config(&cfg);
    goio_http_cache *c;
    int rc = goio_http_cache_new(&cfg, &c);
    if (rc)
        return rc;
    rc = goio_http_cache_get(c, NULL, t->url, NULL, 0, &t->r1);
    if (!rc)
        rc = goio_http_cache_get(c, NULL, t->url, NULL, 0, &t->r2);
    goio_http_cache_free(c);
    return rc;
}

static void torture_cleanup(void *arg)
{
    torture *t = arg;
    goio_http_cache_response_free(t->r1);
    goio_http_cache_response_free(t->r2);
    t->r1 = t->r2 = NULL;
}

/* nginx as the origin, so that only the client allocates through goio's
 * allocator while allocations fail. */
static void test_alloc_failures(void **state)
{
    (void)state;
    hc_log_capture(); /* failed stores are logged */
    hc_nginx n;
    hc_nginx_start(&n);
    hc_nginx_file(&n, "oom", 3000, 10 * 86400);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/oom", n.port);
    torture t = {.url = url};
    int points = goio_test_alloc_torture(op_life, torture_cleanup, &t);
    assert_true(points > 10);

    t.c = hc_client(NULL);
    hc_expect(hc_get(t.c, url), GOIO_HTTP_CACHE_NETWORK);
    points = goio_test_alloc_torture(op_hit, torture_cleanup, &t);
    assert_true(points > 3);
    goio_http_cache_free(t.c);
    hc_nginx_stop(&n);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
}

/* nginx's own validators: heuristic freshness from Last-Modified, and its
 * 304s to If-None-Match. */
static void test_nginx_origin(void **state)
{
    (void)state;
    hc_nginx n;
    hc_nginx_start(&n);
    hc_nginx_file(&n, "static", 100000, 10 * 86400);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/static", n.port);
    goio_http_cache *c = hc_client(NULL);
    goio_http_cache_response *resp = hc_get(c, url);
    assert_int_equal(resp->body_len, 100000);
    assert_non_null(goio_http_cache_response_get_header(resp, "ETag"));
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_HIT);
    resp = hc_get(c, url, "Cache-Control", "no-cache");
    assert_int_equal(resp->body_len, 100000);
    assert_int_equal(resp->body[99999], 'a' + 99999 % 26);
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    /* a day of heuristic freshness (10% of 10 days, the 24 h cap) */
    hc_clock_advance(86400000 - 60000);
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_HIT);
    hc_clock_advance(120000);
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_REVALIDATED);
    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.origin_requests, 3);
    goio_http_cache_free(c);
    hc_nginx_stop(&n);
}

/* Ranges from a stored complete response (a body apart, from nginx; an
 * inline one from the test origin); what the cache cannot answer goes to
 * the origin, which answers ranges itself (nginx: 206 multipart, 416). */
static void test_ranges(void **state)
{
    (void)state;
    hc_nginx n;
    hc_nginx_start(&n);
    hc_nginx_file(&n, "big", 100000, 10 * 86400);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big", n.port);
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_NETWORK);

    goio_http_cache_response *r = hc_get(c, url, "Range", "bytes=10-19");
    assert_int_equal(r->status, 206);
    assert_int_equal(r->body_len, 10);
    assert_memory_equal(r->body, "klmnopqrst", 10);
    assert_string_equal(goio_http_cache_response_get_header(r, "Content-Range"),
                        "bytes 10-19/100000");
    assert_string_equal(
        goio_http_cache_response_get_header(r, "Content-Length"), "10");
    hc_expect(r, GOIO_HTTP_CACHE_HIT);
    r = hc_get(c, url, "Range", "bytes=-5");
    assert_int_equal(r->status, 206);
    assert_int_equal(r->body_len, 5);
    assert_int_equal(r->body[0], 'a' + 99995 % 26);
    assert_string_equal(goio_http_cache_response_get_header(r, "Content-Range"),
                        "bytes 99995-99999/100000");
    hc_expect(r, GOIO_HTTP_CACHE_HIT);
    r = hc_get(c, url, "Range", "bytes = 99998-200000");
    assert_int_equal(r->status, 206);
    assert_int_equal(r->body_len, 2);
    hc_expect(r, GOIO_HTTP_CACHE_HIT);

    /* several ranges, unsatisfiable, If-Range: the origin's answer */
    r = hc_get(c, url, "Range", "bytes=0-1,5-6");
    assert_int_equal(r->status, 206);
    assert_non_null(strstr(
        goio_http_cache_response_get_header(r, "Content-Type"), "multipart"));
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    r = hc_get(c, url, "Range", "bytes=100000-");
    assert_int_equal(r->status, 416);
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    r = hc_get(c, url, "Range", "bytes=0-1", "If-Range", "\"nope\"");
    assert_int_equal(r->status, 200);
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    /* none of them replaced the stored response */
    hc_expect(hc_get(c, url), GOIO_HTTP_CACHE_HIT);
    /* stale: the origin answers the range */
    hc_clock_advance(2 * 86400000LL);
    r = hc_get(c, url, "Range", "bytes=0-1");
    assert_int_equal(r->status, 206);
    assert_string_equal(goio_http_cache_response_get_header(r, "Content-Range"),
                        "bytes 0-1/100000");
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.origin_requests, 5);
    hc_clock_reset();

    /* an inline body; a stored 404 answers no range */
    hc_res *a = hc_res_add("alpha");
    SET(a, cache_control, "max-age=60");
    a->body_size = 26;
    hc_res *m = hc_res_add("missing");
    SET(m, cache_control, "max-age=60");
    m->status = 404;
    hc_expect(hc_get(c, URL("alpha")), GOIO_HTTP_CACHE_NETWORK);
    r = hc_get(c, URL("alpha"), "Range", "bytes=0-1");
    assert_int_equal(r->status, 206);
    assert_string_equal(hc_body(r), "ab");
    hc_expect(r, GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("missing")), GOIO_HTTP_CACHE_NETWORK);
    r = hc_get(c, URL("missing"), "Range", "bytes=0-1");
    assert_int_equal(r->status, 404);
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    /* only-if-cached: a range nothing stored answers is a 504 */
    r = hc_get(c, URL("missing"), "Range", "bytes=0-1", "Cache-Control",
               "only-if-cached");
    assert_int_equal(r->status, 504);
    hc_expect(r, GOIO_HTTP_CACHE_GENERATED);
    assert_int_equal(atomic_load(&a->hits), 1);
    assert_int_equal(atomic_load(&m->hits), 2);
    goio_http_cache_free(c);
    hc_nginx_stop(&n);
}

/* ---- interim responses --------------------------------------------------- */

typedef struct interims {
    int n;
    int status[4];
    char link[HC_STR];
    bool other_thread;
    pthread_t caller;
} interims;

static void on_interim(int status, const goio_http_cache_header *h, size_t n,
                       void *data)
{
    interims *in = data;
    if (!pthread_equal(pthread_self(), in->caller))
        in->other_thread = true;
    if (in->n < 4)
        in->status[in->n] = status;
    in->n++;
    const char *link = goio__hc_header_get(h, n, "Link");
    if (link)
        snprintf(in->link, sizeof in->link, "%s", link);
}

static goio_http_cache_response *
get_interim(goio_http_cache *c, const char *method, const char *url,
            interims *in, const goio_http_cache_header *h, size_t nh)
{
    memset(in, 0, sizeof *in);
    in->caller = pthread_self();
    goio_http_cache_request req = {.method = method,
                                   .url = url,
                                   .headers = h,
                                   .header_count = nh,
                                   .on_interim = on_interim,
                                   .interim_data = in};
    goio_http_cache_response *r = NULL;
    assert_ok(goio_http_cache_do(c, NULL, &req, &r));
    assert_false(in->other_thread);
    return r;
}

/* 102 and 103 Early Hints from a real origin (goio's server, read by
 * libcurl) reach the caller in order, on its thread, and are not stored. */
static void test_interim(void **state)
{
    (void)state;
    hc_res *a = hc_res_add("eh");
    SET(a, cache_control, "max-age=60");
    SET(a, etag, "\"eh\"");
    SET(a, early_hints, "</eh.css>; rel=preload; as=style");
    goio_http_cache *c = hc_client(NULL);
    interims in;
    goio_http_cache_response *r =
        get_interim(c, "GET", URL("eh"), &in, NULL, 0);
    assert_int_equal(in.n, 2);
    assert_int_equal(in.status[0], 102);
    assert_int_equal(in.status[1], 103);
    assert_string_equal(in.link, "</eh.css>; rel=preload; as=style");
    /* the final response has only its own fields */
    assert_int_equal(r->status, 200);
    assert_null(goio_http_cache_response_get_header(r, "Link"));
    assert_string_equal(hc_body(r), "eh #1");
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    /* from storage: no origin request, no interim response */
    hc_expect(get_interim(c, "GET", URL("eh"), &in, NULL, 0),
              GOIO_HTTP_CACHE_HIT);
    assert_int_equal(in.n, 0);
    /* a revalidation is an origin request too */
    goio_http_cache_header nc[] = {{"Cache-Control", "no-cache"}};
    hc_expect(get_interim(c, "GET", URL("eh"), &in, nc, 1),
              GOIO_HTTP_CACHE_REVALIDATED);
    assert_int_equal(in.n, 2);
    assert_int_equal(in.status[1], 103);
    /* forwarded HEAD; and without a callback they are dropped */
    hc_res *b = hc_res_add("eh2");
    SET(b, early_hints, "</x.js>; rel=preload");
    hc_expect(get_interim(c, "HEAD", URL("eh2"), &in, NULL, 0),
              GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(in.n, 2);
    r = hc_get(c, URL("eh2"));
    assert_int_equal(r->status, 200);
    assert_string_equal(r->reason, "OK");
    assert_string_equal(hc_body(r), "eh2 #2");
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);

    /* the final response's reason phrase: from the network only */
    hc_res *f = hc_res_add("fine");
    SET(f, cache_control, "max-age=60");
    SET(f, reason, "Fine Thanks");
    r = hc_get(c, URL("fine"));
    assert_string_equal(r->reason, "Fine Thanks");
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    r = hc_get(c, URL("fine"));
    assert_null(r->reason);
    hc_expect(r, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&a->hits), 2);
    goio_http_cache_free(c);
}

/* ---- hot bodies ---------------------------------------------------------- */

static uint64_t storage_hits(goio_http_cache *c)
{
    goio_cache_stats s;
    assert_ok(goio_cache_stats_get(goio_http_cache_storage(c), &s));
    return s.hits;
}

/* A fresh hit on a big body this client stored reads only the response
 * entry from storage; the body is a reference that outlives its
 * replacement. */
static void test_hot_bodies(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("hot");
    SET(r, cache_control, "max-age=60");
    r->body_size = 100000;
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.hot_body_bytes = 1 << 20;
    goio_http_cache *c = hc_client(&cfg);
    goio_http_cache *cold = hc_client(NULL);
    for (int i = 0; i < 2; i++) {
        goio_http_cache *x = i ? cold : c;
        hc_expect(hc_get(x, URL("hot")), GOIO_HTTP_CACHE_NETWORK);
        uint64_t before = storage_hits(x);
        goio_http_cache_response *resp = hc_get(x, URL("hot"));
        assert_int_equal(resp->body_len, 100000);
        assert_int_equal(resp->body[99999], 'a' + 99999 % 26);
        hc_expect(resp, GOIO_HTTP_CACHE_HIT);
        /* the response entry, and without hot bodies the body entry */
        assert_int_equal(storage_hits(x) - before, i ? 2 : 1);
    }
    assert_int_equal(goio__hc_hot_bytes(c->hot), 100000);
    assert_null(cold->hot);

    /* a range and a HEAD from it */
    goio_http_cache_response *part = hc_get(c, URL("hot"), "Range", "bytes=-3");
    assert_int_equal(part->status, 206);
    assert_memory_equal(part->body, "bcd", 3); /* 99997..99999 */
    goio_http_cache_request head = {.method = "HEAD", .url = URL("hot")};
    goio_http_cache_response *h = NULL;
    assert_ok(goio_http_cache_do(c, NULL, &head, &h));
    assert_int_equal(h->body_len, 0);
    hc_expect(h, GOIO_HTTP_CACHE_HIT);

    /* replaced by a new response: the old body leaves memory, the
     * response still holding it stays readable */
    r->body_size = 50000;
    hc_clock_advance(61000);
    goio_http_cache_response *fresh = hc_get(c, URL("hot"));
    assert_int_equal(fresh->body_len, 50000);
    hc_expect(fresh, GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(goio__hc_hot_bytes(c->hot), 50000);
    assert_int_equal(part->body[2], 'd');
    hc_expect(part, GOIO_HTTP_CACHE_HIT);
    /* invalidated: gone from memory too */
    assert_ok(goio_http_cache_invalidate(c, NULL, URL("hot")));
    assert_int_equal(goio__hc_hot_bytes(c->hot), 0);
    hc_expect(hc_get(c, URL("hot")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->hits), 4);
    goio_http_cache_free(cold);
    goio_http_cache_free(c);
}

/* The table itself: bound, expiry, replacement, references. */
static void test_hot_table(void **state)
{
    (void)state;
    goio__hc_hot *h = NULL;
    assert_ok(goio__hc_hot_new(0, &h));
    assert_null(h); /* off */
    assert_null(goio__hc_hot_get(NULL, 1, 1, 0));
    goio__hc_hot_put(NULL, 1, (const uint8_t *)"x", 1, 10);
    assert_ok(goio__hc_hot_new(10, &h));
    goio__hc_hot_put(h, 7, (const uint8_t *)"abcdef", 6, 1000);
    goio__hc_hot_put(h, 8, (const uint8_t *)"ghijkl", 6, 1000); /* no room */
    goio__hc_hot_put(h, 9, (const uint8_t *)"too long data", 13, 1000);
    assert_int_equal(goio__hc_hot_bytes(h), 6);
    assert_null(goio__hc_hot_get(h, 8, 6, 0));
    assert_null(goio__hc_hot_get(h, 7, 5, 0)); /* another length */
    goio__hc_blob *b = goio__hc_hot_get(h, 7, 6, 999);
    assert_non_null(b);
    assert_memory_equal(goio__hc_blob_data(b), "abcdef", 6);
    /* expired: dropped, the reference still readable */
    assert_null(goio__hc_hot_get(h, 7, 6, 1000));
    assert_int_equal(goio__hc_hot_bytes(h), 0);
    assert_memory_equal(goio__hc_blob_data(b), "abcdef", 6);
    goio__hc_blob_unref(b);
    /* the same slot (7 + 1024): the newcomer replaces the occupant */
    goio__hc_hot_put(h, 7, (const uint8_t *)"abc", 3, 1000);
    goio__hc_hot_put(h, 7 + 1024, (const uint8_t *)"xyz", 3, 1000);
    assert_null(goio__hc_hot_get(h, 7, 3, 0));
    b = goio__hc_hot_get(h, 7 + 1024, 3, 0);
    assert_true(goio__hc_blob_is(b, 7 + 1024, 3));
    goio__hc_hot_drop(h, 7); /* not there: nothing happens */
    assert_int_equal(goio__hc_hot_bytes(h), 3);
    goio__hc_hot_drop(h, 7 + 1024);
    assert_int_equal(goio__hc_hot_bytes(h), 0);
    goio__hc_hot_free(h); /* b outlives the table */
    assert_memory_equal(goio__hc_blob_data(b), "xyz", 3);
    goio__hc_blob_unref(b);
}

/* ---- a raw origin: bytes no goio server would send ---------------------- */

typedef struct raw_origin {
    int fd, port;
    const char *reply; /* sent after each request's header, then close */
    atomic_int served;
    pthread_t thread;
} raw_origin;

static void *raw_main(void *p)
{
    raw_origin *o = p;
    for (;;) {
        int c = accept(o->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[4096];
        size_t got = 0;
        while (got < sizeof buf - 1) {
            ssize_t n = read(c, buf + got, sizeof buf - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = 0;
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        size_t len = strlen(o->reply);
        assert_int_equal(write(c, o->reply, len), (ssize_t)len);
        atomic_fetch_add(&o->served, 1);
        close(c); /* the body ends with the connection */
    }
}

static void raw_start(raw_origin *o, const char *reply)
{
    o->reply = reply;
    o->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(o->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(o->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(o->fd, 8), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(o->fd, (struct sockaddr *)&a, &al), 0);
    o->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&o->thread, NULL, raw_main, o), 0);
}

static void raw_stop(raw_origin *o)
{
    shutdown(o->fd, SHUT_RDWR); /* wakes accept */
    pthread_join(o->thread, NULL);
    close(o->fd);
}

/* An unknown Transfer-Encoding: the body is what comes until the close
 * (RFC 9112 section 6.3), stored without the hop-by-hop field. */
static void test_unknown_transfer_coding(void **state)
{
    (void)state;
    raw_origin o = {0};
    raw_start(&o, "HTTP/1.1 200 OK\r\n"
                  "Transfer-Encoding: foo\r\n"
                  "Cache-Control: max-age=60\r\n"
                  "Connection: close\r\n"
                  "\r\n"
                  "raw body, until close");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/te", o.port);
    goio_http_cache *c = hc_client(NULL);
    goio_http_cache_response *resp = hc_get(c, url);
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "raw body, until close");
    assert_null(goio_http_cache_response_get_header(resp, "Transfer-Encoding"));
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(c, url);
    assert_string_equal(hc_body(resp), "raw body, until close");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&o.served), 1);
    raw_stop(&o);

    /* chunked (goio decodes it): sizes with extensions, a trailer */
    raw_origin ch = {0};
    raw_start(&ch, "HTTP/1.1 200 OK\r\n"
                   "Transfer-Encoding: chunked\r\n"
                   "Cache-Control: max-age=60\r\n"
                   "\r\n"
                   "5;ext=1\r\nhello\r\n"
                   "A\r\n, chunked!\r\n"
                   "0\r\nX-Trailer: 1\r\n\r\n");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/chunked", ch.port);
    resp = hc_get(c, url);
    assert_string_equal(hc_body(resp), "hello, chunked!");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(c, url);
    assert_string_equal(hc_body(resp), "hello, chunked!");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    goio_http_cache_free(c);
    raw_stop(&ch);
}

int main(void)
{
    goio_test_alloc_install(); /* before any other goio call */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unknown_transfer_coding, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_misses, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_parallel_urls, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_stress, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_follower_gives_up, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_leader_gives_up, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_memory, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_max_age_cap, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_big_bodies, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_shared_storage, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_errors, hc_setup, hc_teardown),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_nginx_origin),
        cmocka_unit_test_setup_teardown(test_ranges, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_interim, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_hot_bodies, hc_setup, hc_teardown),
        cmocka_unit_test(test_hot_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
