/* SPDX-License-Identifier: MIT */
/*
 * bench_http_cache: what the caching client saves over going to the
 * origin, with the origin (goio's HTTP server) on loopback in this
 * process and libcurl as the anchor, in the same run.
 *
 *   fresh_hit       a GET answered from a fresh stored response vs a plain
 *                   libcurl GET of the same small resource (one reused easy
 *                   handle: keep-alive, body collected in memory); ns/op
 *   revalidate_304  a GET that revalidates a stored 1 MiB response (the
 *                   origin answers 304) vs a plain libcurl GET of the full
 *                   200; ns/op
 *   hot_hit_64k     a fresh hit on a stored 64 KiB body with hot bodies on
 *                   (config.hot_body_bytes 16 MiB: served by reference)
 *                   vs the same client without (the body read from the
 *                   memory cache, a copy); ns/op, in-process, no network
 *
 * Cases run for GOIO_BENCH_HC_SECONDS each (default 0.5); the big body is
 * GOIO_BENCH_HC_BODY_KIB (default 1024). Names after the program pick
 * cases.
 */
#include <goio/http.h>
#include <goio/http_cache.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static size_t body_bytes;
static uint8_t *big_body;

static void small_handler(goio_http_request *req, goio_http_response *res,
                          void *data)
{
    (void)req;
    (void)data;
    goio_http_response_set_header(res, "Cache-Control", "max-age=3600");
    goio_http_respond(res, 200, "text/plain", "Hello, World!", 13);
}

/* Always revalidated (no-cache), 304 when the ETag matches. */
static void big_handler(goio_http_request *req, goio_http_response *res,
                        void *data)
{
    (void)data;
    goio_http_response_set_header(res, "Cache-Control", "no-cache");
    goio_http_response_set_header(res, "ETag", "\"big-1\"");
    const char *inm = goio_http_request_get_header(req, "If-None-Match");
    if (inm && !strcmp(inm, "\"big-1\"")) {
        goio_http_response_write_header(res, 304);
        return;
    }
    goio_http_response_set_header(res, "Content-Type",
                                  "application/octet-stream");
    char len[32];
    snprintf(len, sizeof len, "%zu", body_bytes);
    goio_http_response_set_header(res, "Content-Length", len);
    goio_http_response_write(res, big_body, body_bytes);
}

/* A fresh 64 KiB body (stored apart from its entry). */
static void fresh64_handler(goio_http_request *req, goio_http_response *res,
                            void *data)
{
    (void)req;
    (void)data;
    goio_http_response_set_header(res, "Cache-Control", "max-age=3600");
    goio_http_respond(res, 200, "application/octet-stream", big_body,
                      body_bytes < 65536 ? body_bytes : 65536);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_http_cache: %s: %s\n", what, goio_strerror(rc));
    exit(1);
}

static goio_http_server *start_origin(goio_http_router **router, int *port)
{
    int rc = goio_http_router_new(router);
    if (!rc)
        rc = goio_http_router_handle(*router, "GET", "/small", small_handler,
                                     NULL);
    if (!rc)
        rc = goio_http_router_handle(*router, "GET", "/big", big_handler, NULL);
    if (!rc)
        rc = goio_http_router_handle(*router, "GET", "/fresh64",
                                     fresh64_handler, NULL);
    goio_http_server_config cfg;
    goio_http_server_config_init(&cfg);
    cfg.handler = goio_http_router_serve;
    cfg.handler_data = *router;
    cfg.worker_threads = 2;
    goio_http_server *srv = NULL;
    if (!rc)
        rc = goio_http_server_new(&cfg, &srv);
    if (!rc)
        rc = goio_http_server_listen(srv, "127.0.0.1", 0);
    if (!rc)
        rc = goio_http_server_start(srv);
    if (rc)
        die("origin", rc);
    *port = goio_http_server_port(srv);
    return srv;
}

/* ---- the anchor: plain libcurl ------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    goio_buf_append(arg, p, size * n);
    return size * n;
}

/* ns per GET of url with one reused easy handle, for `seconds`. */
static double curl_ns(const char *url, double seconds, long *ops_out)
{
    CURL *e = curl_easy_init();
    goio_buf body = GOIO_BUF_INIT;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    long ops = 0;
    double t0 = bench_now_s(), t;
    do {
        goio_buf_clear(&body);
        CURLcode cc = curl_easy_perform(e);
        if (cc != CURLE_OK) {
            fprintf(stderr, "curl: %s\n", curl_easy_strerror(cc));
            exit(1);
        }
        ops++;
    } while ((t = bench_now_s() - t0) < seconds);
    goio_buf_deinit(&body);
    curl_easy_cleanup(e);
    *ops_out = ops;
    return t * 1e9 / (double)ops;
}

/* ---- goio ---------------------------------------------------------------- */

/* ns per goio_http_cache_get of url, every one served as `want`. */
static double goio_ns(goio_http_cache *c, const char *url, double seconds,
                      goio_http_cache_served want, long *ops_out)
{
    long ops = 0;
    double t0 = bench_now_s(), t;
    do {
        /* a batch between clock reads: a hit is much cheaper than one */
        for (int i = 0; i < 16; i++) {
            goio_http_cache_response *r;
            int rc = goio_http_cache_get(c, NULL, url, NULL, 0, &r);
            if (rc)
                die("get", rc);
            if (r->served != want) {
                fprintf(stderr, "served %s, expected %s\n",
                        goio_http_cache_served_name(r->served),
                        goio_http_cache_served_name(want));
                exit(1);
            }
            goio_http_cache_response_free(r);
            ops++;
        }
    } while ((t = bench_now_s() - t0) < seconds);
    *ops_out = ops;
    return t * 1e9 / (double)ops;
}

static void warm(goio_http_cache *c, const char *url)
{
    goio_http_cache_response *r;
    int rc = goio_http_cache_get(c, NULL, url, NULL, 0, &r);
    if (rc)
        die("first get", rc);
    goio_http_cache_response_free(r);
}

static void run_case(const char *name, goio_http_cache *c, const char *url,
                     goio_http_cache_served want, double seconds)
{
    warm(c, url);
    long gops, aops;
    curl_ns(url, seconds / 10, &aops); /* warm the anchor's connection */
    double anchor = curl_ns(url, seconds, &aops);
    double goio = goio_ns(c, url, seconds, want, &gops);
    char extra[128];
    snprintf(extra, sizeof extra, "goio_ops=%ld anchor_ops=%ld", gops, aops);
    bench_line(name, goio, anchor, "ns/op", false, extra);
}

int main(int argc, char **argv)
{
    const char *s = getenv("GOIO_BENCH_HC_SECONDS");
    double seconds = s ? atof(s) : 0.5;
    const char *kib = getenv("GOIO_BENCH_HC_BODY_KIB");
    body_bytes = (size_t)(kib ? atol(kib) : 1024) << 10;
    big_body = malloc(body_bytes);
    for (size_t i = 0; i < body_bytes; i++)
        big_body[i] = (uint8_t)i;
    goio_log_set_level(GOIO_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    goio_http_router *router;
    int port;
    goio_http_server *srv = start_origin(&router, &port);
    goio_http_cache *c;
    int rc = goio_http_cache_new_memory(64, 3600000, &c);
    if (rc)
        die("client", rc);
    char url[128];
    printf("# origin: goio HTTP server on 127.0.0.1:%d (this process); "
           "big body %zu KiB; %.2f s per side\n",
           port, body_bytes >> 10, seconds);
    if (bench_selected(argc, argv, "fresh_hit")) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/small", port);
        run_case("fresh_hit", c, url, GOIO_HTTP_CACHE_HIT, seconds);
    }
    if (bench_selected(argc, argv, "revalidate_304")) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/big", port);
        run_case("revalidate_304", c, url, GOIO_HTTP_CACHE_REVALIDATED,
                 seconds);
    }
    if (bench_selected(argc, argv, "hot_hit_64k")) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/fresh64", port);
        goio_http_cache_config cfg;
        goio_http_cache_config_init(&cfg);
        cfg.hot_body_bytes = 16u << 20;
        goio_http_cache *hot;
        if ((rc = goio_http_cache_new(&cfg, &hot)))
            die("client", rc);
        warm(hot, url);
        warm(c, url);
        long hops, cops;
        double anchor = goio_ns(c, url, seconds, GOIO_HTTP_CACHE_HIT, &cops);
        double goio = goio_ns(hot, url, seconds, GOIO_HTTP_CACHE_HIT, &hops);
        char extra[128];
        snprintf(extra, sizeof extra,
                 "goio_ops=%ld anchor_ops=%ld anchor_name=hot-bodies-off", hops,
                 cops);
        bench_line("hot_hit_64k", goio, anchor, "ns/op", false, extra);
        goio_http_cache_free(hot);
    }
    goio_http_cache_free(c);
    goio_http_server_free(srv);
    goio_http_router_free(router);
    curl_global_cleanup();
    free(big_body);
    return 0;
}
