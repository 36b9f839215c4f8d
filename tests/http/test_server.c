/* SPDX-License-Identifier: MIT */
/*
 * The server with libcurl as the client: requests and their accessors,
 * routing, framing, keep-alive, pipelining, middleware, the Content-Type
 * rule, listen errors and the two kinds of stop.
 */
#include "../../src/http/http_int.h"

#include "http_test.h"

#include <string.h>
#include <unistd.h>

#include "test_proc.h"

/* ---- handlers ------------------------------------------------------------ */

static void h_hello(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    goio_http_respond(res, 200, "text/plain", "hello", 5);
}

static void h_echo(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    size_t len;
    const void *body = goio_http_request_body(req, &len);
    const char *x = goio_http_request_get_header(req, "x-TEST");
    goio_http_response_set_header(res, "X-Body-Len", "set-below");
    char n[32];
    snprintf(n, sizeof n, "%zu", len);
    goio_http_response_set_header(res, "X-Body-Len", n);
    goio_http_response_printf(
        res, "%s %s ?%s x=%s v=%d from=%s route=%s\n",
        goio_http_request_method(req), goio_http_request_path(req),
        goio_http_request_query(req), x ? x : "-",
        goio_http_request_version(req), goio_http_request_remote_addr(req),
        goio_http_request_route(req));
    if (len)
        goio_http_response_write(res, body, len);
}

static void h_item(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    goio_buf y = GOIO_BUF_INIT;
    bool found = false;
    goio_http_query_get(goio_http_request_query(req), "y", &y, &found);
    goio_http_response_printf(res, "item id=%s y=%s",
                              goio_http_request_param(req, "id"),
                              found ? goio_buf_cstr(&y) : "-");
    goio_buf_deinit(&y);
}

static void h_tag(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    goio_http_response_write(res, data, strlen(data));
}

static void h_big(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    uint8_t buf[10000];
    for (uint64_t off = 0; off < (1 << 20); off += sizeof buf) {
        size_t n = (1 << 20) - off < sizeof buf ? (1 << 20) - off : sizeof buf;
        ht_pattern_fill(off, buf, n);
        if (goio_http_response_write(res, buf, n))
            return;
    }
}

static void h_cl(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    goio_http_response_set_header(res, "Content-Length", "10");
    HT_CHECK(goio_http_response_write(res, "0123456789", 10) == 0);
    HT_CHECK(goio_http_response_write(res, "x", 1) == GOIO_E2BIG);
}

static void h_flushy(goio_http_request *req, goio_http_response *res,
                     void *data)
{
    (void)req;
    (void)data;
    goio_http_response_write(res, "a", 1);
    goio_http_response_flush(res);
    HT_CHECK(goio_http_response_set_header(res, "X-Late", "1") ==
             GOIO_EALREADY);
    goio_http_response_write(res, "b", 1);
}

static void h_ctype(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    goio_http_response_set_header(res, "Content-Type", "application/json");
    goio_http_response_default_content_type(res, "text/plain");
    goio_http_response_add_header(res, "X-Multi", "1");
    goio_http_response_add_header(res, "X-Multi", "2");
    HT_CHECK(goio_http_response_set_header(res, "X-Bad", "a\r\nb: c") ==
             GOIO_EINVAL);
    goio_http_respond(res, 201, "text/html", "{}", 2);
}

/* A handler may not stop its own server (it would wait for itself). */
static void h_selfstop(goio_http_request *req, goio_http_response *res,
                       void *data)
{
    (void)req;
    ht_server *s = data;
    HT_CHECK(goio_http_server_stop(s->srv, 0) == GOIO_EBUSY);
    goio_http_server_free(s->srv); /* refused: logged, nothing freed */
    goio_http_respond(res, 200, NULL, "still here", 10);
}

static void routes(ht_server *s)
{
    goio_http_router *r = ht_router(s);
    assert_ok(goio_http_router_handle(r, "GET", "/hello", h_hello, NULL));
    assert_ok(goio_http_router_handle(r, NULL, "/echo", h_echo, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/items/{id}", h_item, NULL));
    assert_ok(goio_http_router_handle(r, "POST", "/items/{id}/invalidate",
                                      h_tag, "invalidated"));
    assert_ok(
        goio_http_router_handle(r, "GET", "/items/special", h_tag, "exact"));
    assert_ok(goio_http_router_handle(r, "GET", "/static/*", h_tag, "static"));
    assert_ok(
        goio_http_router_handle(r, "GET", "/static/deep/*", h_tag, "deeper"));
    assert_ok(goio_http_router_handle(r, "GET", "/big", h_big, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/cl", h_cl, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/flushy", h_flushy, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/ctype", h_ctype, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/selfstop", h_selfstop, s));
}

static int setup(void **state)
{
    ht_server *s = goio_calloc(1, sizeof *s);
    routes(s);
    ht_start(s, NULL);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    ht_stop(*state);
    goio_free(*state);
    return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_basic_get(void **state)
{
    ht_server *s = *state;
    ht_resp r;
    ht_get(s->port, "/selfstop", &r);
    assert_string_equal(goio_buf_cstr(&r.body), "still here");
    ht_resp_free(&r);
    ht_get(s->port, "/hello", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "hello");
    assert_string_equal(ht_header(&r, "content-type"), "text/plain");
    assert_string_equal(ht_header(&r, "Content-Length"), "5");
    assert_non_null(ht_header(&r, "Date"));
    assert_null(ht_header(&r, "Transfer-Encoding"));
    ht_resp_free(&r);
}

static void test_request_accessors(void **state)
{
    ht_server *s = *state;
    const char *hdrs[] = {"X-Test: yes", NULL};
    ht_req q = {.path = "/echo?a=1&b=2", .headers = hdrs};
    ht_resp r;
    ht_request(s->port, &q, &r);
    assert_int_equal(r.status, 200);
    const char *b = goio_buf_cstr(&r.body);
    assert_non_null(strstr(b, "GET /echo ?a=1&b=2 x=yes v=11 from=127.0.0.1:"));
    assert_non_null(strstr(b, "route=/echo"));
    ht_resp_free(&r);

    static const char body[] = "the body";
    ht_req p = {.method = "PUT",
                .path = "/echo",
                .body = body,
                .body_len = sizeof body - 1};
    ht_request(s->port, &p, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_header(&r, "X-Body-Len"), "8");
    assert_non_null(strstr(goio_buf_cstr(&r.body), "PUT /echo ? x=- v=11"));
    assert_non_null(strstr(goio_buf_cstr(&r.body), "\nthe body"));
    ht_resp_free(&r);
}

static void test_routing(void **state)
{
    ht_server *s = *state;
    ht_resp r;
    ht_get(s->port, "/items/42?x=1&y=a%20b+c", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "item id=42 y=a b c");
    ht_resp_free(&r);

    ht_get(s->port, "/items/special", &r); /* exact beats {id} */
    assert_string_equal(goio_buf_cstr(&r.body), "exact");
    ht_resp_free(&r);

    ht_req post = {.method = "POST",
                   .path = "/items/7/invalidate",
                   .body = "",
                   .body_len = 0};
    ht_request(s->port, &post, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "invalidated");
    ht_resp_free(&r);

    ht_get(s->port, "/static/a/b.css", &r);
    assert_string_equal(goio_buf_cstr(&r.body), "static");
    ht_resp_free(&r);
    ht_get(s->port, "/static/deep/x", &r); /* the longer prefix wins */
    assert_string_equal(goio_buf_cstr(&r.body), "deeper");
    ht_resp_free(&r);

    ht_get(s->port, "/items/", &r); /* {id} needs a non-empty segment */
    assert_int_equal(r.status, 404);
    assert_string_equal(goio_buf_cstr(&r.body), "404 page not found\n");
    ht_resp_free(&r);
    ht_get(s->port, "/nope", &r);
    assert_int_equal(r.status, 404);
    ht_resp_free(&r);

    ht_req del = {.method = "DELETE", .path = "/items/42"};
    ht_request(s->port, &del, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(ht_header(&r, "Allow"), "GET, HEAD");
    ht_resp_free(&r);

    ht_req head = {.method = "HEAD", .path = "/hello"};
    ht_request(s->port, &head, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_header(&r, "Content-Length"), "5");
    assert_int_equal(r.body.len, 0);
    ht_resp_free(&r);
}

static void test_router_patterns(void **state)
{
    (void)state;
    goio_http_router *r;
    assert_ok(goio_http_router_new(&r));
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "GET", "x", h_hello, NULL));
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "GET", "/a*", h_hello, NULL));
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "GET", "/a/*/b", h_hello, NULL));
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "GET", "/{}", h_hello, NULL));
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "GET", "/a{b}", h_hello, NULL));
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "GET", "/{a-b}", h_hello, NULL));
    /* 17 {name} segments could never match (it was accepted silently). */
    goio_buf many = GOIO_BUF_INIT;
    for (int i = 0; i < 17; i++)
        goio_buf_appendf(&many, "/{p%d}", i);
    assert_goio(
        GOIO_EINVAL,
        goio_http_router_handle(r, "GET", goio_buf_cstr(&many), h_hello, NULL));
    many.len = 0;
    for (int i = 0; i < 16; i++)
        goio_buf_appendf(&many, "/{p%d}", i);
    assert_ok(
        goio_http_router_handle(r, "GET", goio_buf_cstr(&many), h_hello, NULL));
    goio_buf_deinit(&many);
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "", "/a", h_hello, NULL));
    assert_goio(GOIO_EINVAL,
                goio_http_router_handle(r, "GET", "/a", NULL, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/a/{b}/c/{d}", h_hello, NULL));
    assert_goio(GOIO_EEXIST, goio_http_router_handle(r, "GET", "/a/{b}/c/{d}",
                                                     h_hello, NULL));
    assert_ok(
        goio_http_router_handle(r, "POST", "/a/{b}/c/{d}", h_hello, NULL));
    assert_goio(GOIO_EINVAL, goio_http_router_fallback(r, NULL, NULL));
    goio_http_router_free(r);
    goio_http_router_free(NULL);
    assert_goio(GOIO_EINVAL, goio_http_router_new(NULL));
}

static void test_query_get(void **state)
{
    (void)state;
    goio_buf v = GOIO_BUF_INIT;
    bool found;
    assert_ok(goio_http_query_get("a=1&b=x%20y&c", "b", &v, &found));
    assert_true(found);
    assert_string_equal(goio_buf_cstr(&v), "x y");
    assert_ok(goio_http_query_get("a=1&b=x%20y&c", "c", &v, &found));
    assert_true(found);
    assert_string_equal(goio_buf_cstr(&v), "");
    assert_ok(goio_http_query_get("a=1", "z", &v, &found));
    assert_false(found);
    assert_ok(goio_http_query_get("", "z", &v, &found));
    assert_false(found);
    assert_ok(goio_http_query_get("k%3D=v", "k=", &v, &found));
    assert_true(found);
    assert_string_equal(goio_buf_cstr(&v), "v");
    assert_goio(GOIO_EBADMSG, goio_http_query_get("a=%zz", "a", &v, &found));
    assert_goio(GOIO_EBADMSG, goio_http_query_get("a=%2", "a", &v, &found));
    assert_goio(GOIO_EINVAL, goio_http_query_get(NULL, "a", &v, &found));
    goio_buf_deinit(&v);
    assert_string_equal(goio_http_status_text(404), "Not Found");
    assert_string_equal(goio_http_status_text(799), "Unknown");
}

static void test_framing(void **state)
{
    ht_server *s = *state;
    ht_resp r;
    ht_get(s->port, "/big", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_string_equal(ht_header(&r, "Transfer-Encoding"), "chunked");
    assert_int_equal(r.body.len, 1 << 20);
    assert_true(ht_pattern_check(0, r.body.data, r.body.len));
    ht_resp_free(&r);

    ht_get(s->port, "/cl", &r);
    assert_string_equal(ht_header(&r, "Content-Length"), "10");
    assert_string_equal(goio_buf_cstr(&r.body), "0123456789");
    ht_resp_free(&r);

    ht_get(s->port, "/flushy", &r);
    assert_string_equal(ht_header(&r, "Transfer-Encoding"), "chunked");
    assert_null(ht_header(&r, "X-Late"));
    assert_string_equal(goio_buf_cstr(&r.body), "ab");
    ht_resp_free(&r);

    /* HTTP/1.0 has no chunks: the body ends with the connection. */
    ht_req old = {.path = "/big", .http10 = true};
    ht_request(s->port, &old, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_null(ht_header(&r, "Transfer-Encoding"));
    assert_string_equal(ht_header(&r, "Connection"), "close");
    assert_int_equal(r.body.len, 1 << 20);
    assert_true(ht_pattern_check(0, r.body.data, r.body.len));
    ht_resp_free(&r);
}

static void test_content_type_rule(void **state)
{
    ht_server *s = *state;
    ht_resp r;
    ht_get(s->port, "/ctype", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(ht_header(&r, "Content-Type"), "application/json");
    assert_non_null(strstr(goio_buf_cstr(&r.headers), "X-Multi: 1\r\n"));
    assert_non_null(strstr(goio_buf_cstr(&r.headers), "X-Multi: 2\r\n"));
    assert_null(ht_header(&r, "X-Bad"));
    ht_resp_free(&r);
}

static void test_keep_alive(void **state)
{
    ht_server *s = *state;
    CURL *c = curl_easy_init();
    long connects = 0;
    for (int i = 0; i < 10; i++) {
        ht_req q = {.path = i % 2 ? "/hello" : "/big", .reuse = c};
        ht_resp r;
        ht_request(s->port, &q, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        connects += r.connects;
        ht_resp_free(&r);
    }
    assert_int_equal(connects, 1);
    curl_easy_cleanup(c);
}

static void test_large_post(void **state)
{
    ht_server *s = *state;
    size_t n = 3 << 20; /* > 1 MiB: curl sends Expect: 100-continue */
    uint8_t *body = goio_malloc(n);
    ht_pattern_fill(0, body, n);
    ht_req q = {.method = "POST", .path = "/echo", .body = body, .body_len = n};
    ht_resp r;
    ht_request(s->port, &q, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    char want[32];
    snprintf(want, sizeof want, "%zu", n);
    assert_string_equal(ht_header(&r, "X-Body-Len"), want);
    const uint8_t *nl = memchr(r.body.data, '\n', r.body.len);
    assert_non_null(nl);
    assert_int_equal(r.body.len - (size_t)(nl + 1 - r.body.data), n);
    assert_memory_equal(nl + 1, body, n);
    ht_resp_free(&r);
    goio_free(body);
}

static void test_pipelining(void **state)
{
    ht_server *s = *state;
    static const char reqs[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                               "GET /items/9 HTTP/1.1\r\nHost: x\r\n\r\n"
                               "GET /hello HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\n\r\n";
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_raw(s->port, reqs, sizeof reqs - 1, &reply, 10000));
    const char *a = goio_buf_cstr(&reply);
    const char *r1 = strstr(a, "\r\n\r\nhello");
    const char *r2 = strstr(a, "item id=9 y=-");
    assert_non_null(r1);
    assert_non_null(r2);
    assert_true(r1 < r2);
    assert_non_null(strstr(r2, "Connection: close\r\n"));
    assert_true(strlen(a) > 5 && !strcmp(a + strlen(a) - 5, "hello"));
    goio_buf_deinit(&reply);

    /* HTTP/1.0 keep-alive on request. */
    static const char old[] = "GET /hello HTTP/1.0\r\n"
                              "Connection: keep-alive\r\n\r\n"
                              "GET /hello HTTP/1.0\r\n\r\n";
    assert_true(ht_raw(s->port, old, sizeof old - 1, &reply, 10000));
    a = goio_buf_cstr(&reply);
    assert_non_null(strstr(a, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(strstr(a, "hello"), "Connection: close\r\n"));
    goio_buf_deinit(&reply);
}

/* ---- middleware ---------------------------------------------------------- */

typedef struct track {
    pthread_mutex_t mu;
    char method[16], route[64];
    int status, calls;
    int64_t ms;
} track;

static void mw_track(goio_http_request *req, goio_http_response *res,
                     goio_http_handler next, void *data)
{
    track *t = data;
    int64_t start = goio_now_mono_ms();
    goio_http_handler_call(next, req, res);
    pthread_mutex_lock(&t->mu);
    snprintf(t->method, sizeof t->method, "%s", goio_http_request_method(req));
    const char *route = goio_http_request_route(req);
    snprintf(t->route, sizeof t->route, "%s", route ? route : "(none)");
    t->status = goio_http_response_status(res);
    t->ms = goio_now_mono_ms() - start;
    t->calls++;
    pthread_mutex_unlock(&t->mu);
}

/* Takes 20 ms of the handler's own time, so a middleware that times the
 * call around `next` must see at least that. */
static void h_nap(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    struct timespec ts = {0, 20 * 1000 * 1000};
    while (nanosleep(&ts, &ts))
        ;
    goio_http_respond(res, 200, "text/plain", "nap", 3);
}

static void mw_deny(goio_http_request *req, goio_http_response *res,
                    goio_http_handler next, void *data)
{
    (void)data;
    if (goio_http_request_get_header(req, "X-Deny"))
        goio_http_respond(res, 401, "text/plain", "no", 2);
    else
        goio_http_handler_call(next, req, res);
}

static void test_middleware(void **state)
{
    (void)state;
    ht_server s = {0};
    routes(&s);
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.handler = goio_http_router_serve;
    cfg.handler_data = s.router;
    track t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    assert_ok(goio_http_router_handle(s.router, "GET", "/nap", h_nap, NULL));
    assert_ok(goio_http_server_new(&cfg, &s.srv));
    assert_ok(goio_http_server_use(s.srv, mw_track, &t));
    assert_ok(goio_http_server_use(s.srv, mw_deny, NULL));
    assert_goio(GOIO_EINVAL, goio_http_server_use(s.srv, NULL, NULL));
    assert_ok(goio_http_server_listen(s.srv, NULL, 0));
    s.port = goio_http_server_port(s.srv);
    assert_ok(goio_http_server_start(s.srv));
    assert_goio(GOIO_EBUSY, goio_http_server_use(s.srv, mw_track, &t));

    ht_resp r;
    ht_get(s.port, "/items/5", &r);
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
    pthread_mutex_lock(&t.mu);
    assert_string_equal(t.method, "GET");
    assert_string_equal(t.route, "/items/{id}");
    assert_int_equal(t.status, 200);
    pthread_mutex_unlock(&t.mu);

    /* The middleware's timing wraps the handler: at least its 20 ms, at
     * most what the client waited in all. */
    int64_t t0 = goio_now_mono_ms();
    ht_get(s.port, "/nap", &r);
    int64_t client_ms = goio_now_mono_ms() - t0;
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
    pthread_mutex_lock(&t.mu);
    assert_string_equal(t.route, "/nap");
    assert_in_range(t.ms, 20, client_ms);
    pthread_mutex_unlock(&t.mu);

    const char *deny[] = {"X-Deny: 1", NULL};
    ht_req q = {.path = "/items/5", .headers = deny};
    ht_request(s.port, &q, &r);
    assert_int_equal(r.status, 401);
    ht_resp_free(&r);
    pthread_mutex_lock(&t.mu);
    assert_string_equal(t.route, "(none)"); /* the router never ran */
    assert_int_equal(t.status, 401);
    assert_int_equal(t.calls, 3);
    pthread_mutex_unlock(&t.mu);

    ht_get(s.port, "/missing", &r);
    ht_resp_free(&r);
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.status, 404);
    pthread_mutex_unlock(&t.mu);
    ht_stop(&s);
}

/* ---- lifecycle ----------------------------------------------------------- */

static void test_lifecycle_errors(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    goio_http_server_config_init(NULL); /* a no-op */
    ht_config(&cfg);
    goio_http_server *srv = (goio_http_server *)1;
    assert_goio(GOIO_EINVAL, goio_http_server_new(&cfg, &srv)); /* handler */
    assert_null(srv); /* *out is NULL on error */
    cfg.handler = h_hello;
    cfg.chunk_size = 0;
    assert_goio(GOIO_EINVAL, goio_http_server_new(&cfg, &srv));
    ht_config(&cfg);
    cfg.handler = h_hello;
    assert_goio(GOIO_EINVAL, goio_http_server_new(NULL, &srv));
    assert_goio(GOIO_EINVAL, goio_http_server_new(&cfg, NULL));
    assert_ok(goio_http_server_new(&cfg, &srv));
    assert_true(goio_http_server_port(srv) < 0);
    assert_goio(GOIO_EINVAL, goio_http_server_start(srv)); /* no listen */
    assert_goio(GOIO_EINVAL, goio_http_server_listen(srv, NULL, 70000));
    assert_ok(goio_http_server_listen(srv, "localhost", 0));
    assert_goio(GOIO_EALREADY, goio_http_server_listen(srv, NULL, 0));
    int port = goio_http_server_port(srv);

    goio_http_server *other;
    assert_ok(goio_http_server_new(&cfg, &other));
    assert_goio(GOIO_EADDRINUSE,
                goio_http_server_listen(other, "127.0.0.1", port));
    assert_true(goio_http_server_listen(other, "no.such.host.invalid", 0) < 0);
    goio_http_server_free(other); /* never listened */

    assert_ok(goio_http_server_start(srv));
    assert_goio(GOIO_EALREADY, goio_http_server_start(srv));
    assert_ok(goio_http_server_stop(srv, 1000));
    assert_ok(goio_http_server_stop(srv, 1000)); /* idempotent */
    assert_true(ht_port_closed(port));           /* no longer listening */
    goio_http_server_free(srv);
    goio_http_server_free(NULL);
    assert_goio(GOIO_EINVAL, goio_http_server_stop(NULL, 0));

    /* Listened but never started. */
    assert_ok(goio_http_server_new(&cfg, &srv));
    assert_ok(goio_http_server_listen(srv, "::1", 0));
    goio_http_server_free(srv);
}

/* A handler that blocks until released, or its ctx is cancelled. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool entered, released;
    int ctx_err;
} gate;

static void h_gate(goio_http_request *req, goio_http_response *res, void *data)
{
    gate *g = data;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->released)
        pthread_cond_wait(&g->cond, &g->mu);
    pthread_mutex_unlock(&g->mu);
    g->ctx_err = goio_ctx_err(goio_http_request_ctx(req));
    goio_http_respond(res, 200, "text/plain", "done", 4);
}

typedef struct client_arg {
    int port;
    const char *path;
    ht_resp r;
} client_arg;

static void *client_main(void *arg)
{
    client_arg *a = arg;
    ht_get(a->port, a->path, &a->r);
    return NULL;
}

static void *stopper_main(void *arg)
{
    goio_http_server_stop(arg, 10000);
    return NULL;
}

static void test_stop_graceful(void **state)
{
    (void)state;
    ht_server s = {0};
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    assert_ok(
        goio_http_router_handle(ht_router(&s), "GET", "/gate", h_gate, &g));
    ht_start(&s, NULL);
    client_arg c = {.port = s.port, .path = "/gate"};
    pthread_t ct, st;
    pthread_create(&ct, NULL, client_main, &c);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cond, &g.mu);
    pthread_mutex_unlock(&g.mu);
    /* An idle connection is closed at once by the stop. */
    int idle = goio_test_connect(s.port);
    assert_true(idle >= 0);
    pthread_create(&st, NULL, stopper_main, s.srv);
    goio_buf junk = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(idle, &junk, 5000));
    assert_int_equal(junk.len, 0);
    close(idle);
    goio_buf_deinit(&junk);
    assert_true(GOIO_WAIT_UNTIL(ht_port_closed(s.port), 5000));
    pthread_mutex_lock(&g.mu);
    g.released = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.mu);
    pthread_join(st, NULL);
    pthread_join(ct, NULL);
    assert_int_equal(c.r.rc, CURLE_OK);
    assert_int_equal(c.r.status, 200);
    assert_string_equal(goio_buf_cstr(&c.r.body), "done");
    assert_string_equal(ht_header(&c.r, "Connection"), "close");
    assert_int_equal(g.ctx_err, 0);
    ht_resp_free(&c.r);
    ht_stop(&s);
}

static void h_endless(goio_http_request *req, goio_http_response *res,
                      void *data)
{
    (void)req;
    goio_http_render_chunked(res, "application/octet-stream",
                             ht_gen_reader(UINT64_MAX, UINT64_MAX, 0, data),
                             NULL);
}

static size_t count_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    *(uint64_t *)arg += size * n;
    return size * n;
}

static void *endless_client(void *arg)
{
    client_arg *a = arg;
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", a->port, a->path);
    uint64_t got = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)(1 << 20));
    a->r.rc = curl_easy_perform(c);
    a->r.status = (long)(got > 0);
    curl_easy_cleanup(c);
    return NULL;
}

static void test_stop_abort(void **state)
{
    (void)state;
    ht_server s = {0};
    ht_source_stats st = {0};
    assert_ok(goio_http_router_handle(ht_router(&s), "GET", "/endless",
                                      h_endless, &st));
    ht_start(&s, NULL);
    client_arg c = {.port = s.port, .path = "/endless"};
    pthread_t ct;
    pthread_create(&ct, NULL, endless_client, &c);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&st.produced) > 0, 10000));
    int64_t t0 = goio_now_mono_ms();
    assert_ok(goio_http_server_stop(s.srv, 200));
    int64_t took = goio_now_mono_ms() - t0;
    assert_true(took >= 150);
    assert_true(took < 5000);
    assert_true(atomic_load(&st.closed));
    pthread_join(ct, NULL);
    /* Cut without the final chunk: curl knows the body is incomplete. */
    assert_int_equal(c.r.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(c.r.status, 1);
    ht_stop(&s);
}

typedef struct stop_arg {
    goio_http_server *srv;
    int64_t timeout_ms;
    atomic_bool done;
} stop_arg;

static void *timed_stopper_main(void *arg)
{
    stop_arg *a = arg;
    HT_CHECK(goio_http_server_stop(a->srv, a->timeout_ms) == 0);
    atomic_store(&a->done, true);
    return NULL;
}

/* Waits until its ctx is cancelled (by the stop's abort); counts runs. */
static void h_until_cancelled(goio_http_request *req, goio_http_response *res,
                              void *data)
{
    (void)res;
    atomic_fetch_add((atomic_int *)data, 1);
    HT_CHECK(goio_ctx_wait(goio_http_request_ctx(req), 30000) == 0);
}

/* Every worker busy and a request queued behind them: the stop's abort
 * still ends, the running handler through its ctx, the queued request
 * without running (every exchange is failed before any ctx is
 * cancelled). */
static void test_stop_with_a_full_pool(void **state)
{
    (void)state;
    ht_server s = {0};
    atomic_int runs = 0;
    assert_ok(goio_http_router_handle(ht_router(&s), "GET", "/wait",
                                      h_until_cancelled, &runs));
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.worker_threads = 1;
    ht_start(&s, &cfg);
    client_arg c[2] = {{.port = s.port, .path = "/wait"},
                       {.port = s.port, .path = "/wait"}};
    pthread_t ct[2];
    pthread_create(&ct[0], NULL, client_main, &c[0]);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&runs) == 1, 10000));
    pthread_create(&ct[1], NULL, client_main, &c[1]);
    /* The second request waits in the worker queue. */
    assert_true(GOIO_WAIT_UNTIL(({
                                    pthread_mutex_lock(&s.srv->jobs_mu);
                                    bool queued = s.srv->jobs_head != NULL;
                                    pthread_mutex_unlock(&s.srv->jobs_mu);
                                    queued;
                                }),
                                10000));
    stop_arg st = {s.srv, 100, false};
    pthread_t stopper;
    pthread_create(&stopper, NULL, timed_stopper_main, &st);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&st.done), 5000)); /* no hang */
    pthread_join(stopper, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_join(ct[i], NULL);
        assert_int_not_equal(c[i].r.rc, CURLE_OK); /* cut, no answer */
        ht_resp_free(&c[i].r);
    }
    /* The queued request was aborted before a worker took it: it never
     * ran. */
    assert_int_equal(atomic_load(&runs), 1);
    ht_stop(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    goio_log_set_level(GOIO_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_accessors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
        cmocka_unit_test(test_router_patterns),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_type_rule, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining, setup, teardown),
        cmocka_unit_test(test_middleware),
        cmocka_unit_test(test_lifecycle_errors),
        cmocka_unit_test(test_stop_graceful),
        cmocka_unit_test(test_stop_abort),
        cmocka_unit_test(test_stop_with_a_full_pool),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
