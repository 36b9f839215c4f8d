/* SPDX-License-Identifier: MIT */
/*
 * Interim responses and the reason phrase (issue 23 item 8):
 * goio_http_response_write_interim sends 1xx responses (103 Early Hints)
 * ahead of the final one, seen by curl -v, libcurl and a raw socket;
 * goio_http_response_set_reason replaces the status line's text. Bad
 * inputs, calls after the final header, HTTP/1.0 clients and response
 * implementations without the optional ops.
 */
#include "http_test.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_proc.h"

static const char *const hints[] = {"Link", "</app.css>; rel=preload; as=style",
                                    "Link",
                                    "</app.js>; rel=preload; as=script"};

/* Return codes seen by the handlers (one request at a time). */
static atomic_int rc_interim, rc_after_header, rc_after_write, rc_reason_late;

static void h_hints(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    atomic_store(&rc_interim,
                 goio_http_response_write_interim(res, 103, hints, 2));
    /* Interims go out at once: a client sees the hint before the page. */
    HT_CHECK(goio_http_response_write_interim(res, 102, NULL, 0) == 0);
    goio_http_respond(res, 200, "text/plain", "page", 4);
    atomic_store(&rc_after_header,
                 goio_http_response_write_interim(res, 103, hints, 1));
}

static void h_after_write(goio_http_request *req, goio_http_response *res,
                          void *data)
{
    (void)req;
    (void)data;
    goio_http_response_write(res, "x", 1);
    atomic_store(&rc_after_write,
                 goio_http_response_write_interim(res, 103, NULL, 0));
}

static void h_reason(goio_http_request *req, goio_http_response *res,
                     void *data)
{
    (void)data;
    const char *want = goio_http_request_get_header(req, "X-Reason");
    if (want && !strcmp(want, "-"))
        want = "";
    HT_CHECK(goio_http_response_set_reason(res, "first") == 0);
    HT_CHECK(goio_http_response_set_reason(res, NULL) == 0); /* default */
    if (want)
        HT_CHECK(goio_http_response_set_reason(res, want) == 0);
    HT_CHECK(goio_http_response_set_reason(res, "bad\r\nX: y") == GOIO_EINVAL);
    HT_CHECK(goio_http_response_set_reason(res, "bad\nX: y") == GOIO_EINVAL);
    goio_http_respond(res, 404, "text/plain", "nope", 4);
    atomic_store(&rc_reason_late, goio_http_response_set_reason(res, "late"));
}

/* ---- a wrapping response without the optional ops ------------------------ */

typedef struct wrap {
    goio_http_response res;
    goio_http_response *inner;
} wrap;

static goio_http_response *inner(goio_http_response *r)
{
    return ((wrap *)r)->inner;
}
static const char *w_get(goio_http_response *r, const char *n)
{
    return goio_http_response_get_header(inner(r), n);
}
static int w_set(goio_http_response *r, const char *n, const char *v)
{
    return goio_http_response_set_header(inner(r), n, v);
}
static int w_add(goio_http_response *r, const char *n, const char *v)
{
    return goio_http_response_add_header(inner(r), n, v);
}
static int w_wh(goio_http_response *r, int st)
{
    return goio_http_response_write_header(inner(r), st);
}
static ssize_t w_write(goio_http_response *r, const void *p, size_t n)
{
    int rc = goio_http_response_write(inner(r), p, n);
    return rc ? rc : (ssize_t)n;
}
static int w_flush(goio_http_response *r)
{
    return goio_http_response_flush(inner(r));
}
static void w_abort(goio_http_response *r, int e)
{
    goio_http_response_abort(inner(r), e);
}
static int w_status(goio_http_response *r)
{
    return goio_http_response_status(inner(r));
}
/* Initialized as code written before the optional ops existed is. */
static const goio_http_response_ops wrap_ops = {
    w_get, w_set, w_add, w_wh, w_write, w_flush, w_abort, w_status,
};

static atomic_int rc_wrap_interim, rc_wrap_reason;

static void mw_wrap(goio_http_request *req, goio_http_response *res,
                    goio_http_handler next, void *data)
{
    (void)data;
    if (strcmp(goio_http_request_path(req), "/wrapped")) {
        goio_http_handler_call(next, req, res);
        return;
    }
    wrap w = {{&wrap_ops}, res};
    atomic_store(&rc_wrap_interim,
                 goio_http_response_write_interim(&w.res, 103, hints, 1));
    atomic_store(&rc_wrap_reason, goio_http_response_set_reason(&w.res, "x"));
    goio_http_respond(&w.res, 200, "text/plain", "wrapped", 7);
}

static ht_server *start(void)
{
    ht_server *s = goio_calloc(1, sizeof *s);
    goio_http_router *r = ht_router(s);
    assert_ok(goio_http_router_handle(r, "GET", "/hints", h_hints, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/late", h_after_write, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/reason", h_reason, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/wrapped", h_hints, NULL));
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.handler = goio_http_router_serve;
    cfg.handler_data = r;
    assert_ok(goio_http_server_new(&cfg, &s->srv));
    assert_ok(goio_http_server_use(s->srv, mw_wrap, NULL));
    assert_ok(goio_http_server_listen(s->srv, "127.0.0.1", 0));
    s->port = goio_http_server_port(s->srv);
    assert_ok(goio_http_server_start(s->srv));
    return s;
}

static void stop(ht_server *s)
{
    ht_stop(s);
    goio_free(s);
}

static void test_early_hints_raw(void **state)
{
    (void)state;
    ht_server *s = start();
    static const char req[] =
        "GET /hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_raw(s->port, req, sizeof req - 1, &reply, 5000));
    const char *r = goio_buf_cstr(&reply);
    assert_true(!strncmp(r,
                         "HTTP/1.1 103 Early Hints\r\n"
                         "Link: </app.css>; rel=preload; as=style\r\n"
                         "Link: </app.js>; rel=preload; as=script\r\n\r\n"
                         "HTTP/1.1 102 Processing\r\n\r\n"
                         "HTTP/1.1 200 OK\r\n",
                         strlen("HTTP/1.1 103 Early Hints\r\n"
                                "Link: </app.css>; rel=preload; as=style\r\n"
                                "Link: </app.js>; rel=preload; as=script\r\n"
                                "\r\nHTTP/1.1 102 Processing\r\n\r\n"
                                "HTTP/1.1 200 OK\r\n")));
    assert_non_null(strstr(r, "\r\n\r\npage"));
    assert_int_equal(atomic_load(&rc_interim), 0);
    assert_int_equal(atomic_load(&rc_after_header), GOIO_EALREADY);
    /* HTTP/1.0: no 1xx on the wire, the call succeeds. */
    static const char req10[] = "GET /hints HTTP/1.0\r\n\r\n";
    goio_buf_clear(&reply);
    atomic_store(&rc_interim, 1);
    assert_true(ht_raw(s->port, req10, sizeof req10 - 1, &reply, 5000));
    assert_true(!strncmp(goio_buf_cstr(&reply), "HTTP/1.1 200 OK\r\n", 17));
    assert_null(strstr(goio_buf_cstr(&reply), "103"));
    assert_int_equal(atomic_load(&rc_interim), 0);
    /* After body bytes: too late. */
    static const char late[] =
        "GET /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    goio_buf_clear(&reply);
    assert_true(ht_raw(s->port, late, sizeof late - 1, &reply, 5000));
    assert_true(!strncmp(goio_buf_cstr(&reply), "HTTP/1.1 200 OK\r\n", 17));
    assert_int_equal(atomic_load(&rc_after_write), GOIO_EALREADY);
    goio_buf_deinit(&reply);
    stop(s);
}

static void test_early_hints_libcurl(void **state)
{
    (void)state;
    ht_server *s = start();
    ht_resp r;
    ht_get(s->port, "/hints", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "page");
    const char *h = goio_buf_cstr(&r.headers);
    const char *hint = strstr(h, "HTTP/1.1 103 Early Hints\r\n");
    assert_non_null(hint);
    assert_non_null(strstr(hint, "Link: </app.css>; rel=preload; as=style"));
    assert_true(hint < strstr(h, "HTTP/1.1 200 OK"));
    ht_resp_free(&r);
    stop(s);
}

static void test_early_hints_curl_cli(void **state)
{
    (void)state;
    ht_server *s = start();
    char url[64], log[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hints", s->port);
    snprintf(log, sizeof log, "/tmp/goio_interim_%d.log", (int)getpid());
    char *argv[] = {"curl", "-sv", "-o", "/dev/null", "-m", "10", url, NULL};
    pid_t pid = goio_test_spawn(argv, log);
    assert_true(pid > 0);
    assert_true(GOIO_WAIT_UNTIL(goio_test_proc_exited(pid), 15000));
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    goio_buf out = GOIO_BUF_INIT;
    char line[1024];
    while (fgets(line, sizeof line, f))
        goio_buf_append_str(&out, line);
    fclose(f);
    unlink(log);
    const char *o = goio_buf_cstr(&out);
    const char *hint = strstr(o, "< HTTP/1.1 103 Early Hints");
    assert_non_null(hint);
    assert_non_null(strstr(hint, "< Link: </app.js>; rel=preload; as=script"));
    assert_non_null(strstr(hint, "< HTTP/1.1 200 OK"));
    goio_buf_deinit(&out);
    stop(s);
}

static void test_reason_phrase(void **state)
{
    (void)state;
    ht_server *s = start();
    struct {
        const char *hdr, *line;
    } cases[] = {
        {NULL, "HTTP/1.1 404 Not Found\r\n"},
        {"X-Reason: Gone Fishing", "HTTP/1.1 404 Gone Fishing\r\n"},
        {"X-Reason: -", "HTTP/1.1 404 \r\n"},
        {"X-Reason: tab\there \xc3\xa9", "HTTP/1.1 404 tab\there \xc3\xa9\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        goio_buf req = GOIO_BUF_INIT;
        goio_buf_appendf(&req,
                         "GET /reason HTTP/1.1\r\nHost: x\r\n%s%s"
                         "Connection: close\r\n\r\n",
                         cases[i].hdr ? cases[i].hdr : "",
                         cases[i].hdr ? "\r\n" : "");
        goio_buf reply = GOIO_BUF_INIT;
        assert_true(
            ht_raw(s->port, (const char *)req.data, req.len, &reply, 5000));
        if (strncmp(goio_buf_cstr(&reply), cases[i].line,
                    strlen(cases[i].line)))
            fail_msg("case %zu: got %.40s", i, goio_buf_cstr(&reply));
        assert_int_equal(atomic_load(&rc_reason_late), GOIO_EALREADY);
        goio_buf_deinit(&req);
        goio_buf_deinit(&reply);
    }
    /* libcurl reads it too. */
    ht_resp r;
    const char *hdrs[] = {"X-Reason: Gone Fishing", NULL};
    ht_req q = {.path = "/reason", .headers = hdrs};
    ht_request(s->port, &q, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(goio_buf_cstr(&r.headers), "404 Gone Fishing\r\n"));
    ht_resp_free(&r);
    stop(s);
}

static void test_wrapping_response_without_ops(void **state)
{
    (void)state;
    ht_server *s = start();
    ht_resp r;
    ht_get(s->port, "/wrapped", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "wrapped");
    assert_null(strstr(goio_buf_cstr(&r.headers), "103"));
    assert_int_equal(atomic_load(&rc_wrap_interim), GOIO_ENOTSUP);
    assert_int_equal(atomic_load(&rc_wrap_reason), GOIO_ENOTSUP);
    ht_resp_free(&r);
    stop(s);
}

/* Bad arguments are refused before an implementation sees them. */
static atomic_int bad_checked;

static void h_bad(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    const char *sp[] = {"Bad Name", "v"};
    const char *colon[] = {"Bad:", "v"};
    const char *empty[] = {"", "v"};
    const char *crlf[] = {"Link", "a\r\nX-Injected: 1"};
    const char *lf[] = {"Link", "a\nb"};
    const char *nul[] = {"Link", NULL};
    HT_CHECK(goio_http_response_write_interim(res, 101, NULL, 0) ==
             GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 99, NULL, 0) == GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 200, NULL, 0) ==
             GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 103, NULL, 1) ==
             GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 103, sp, 1) == GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 103, colon, 1) ==
             GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 103, empty, 1) ==
             GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 103, crlf, 1) ==
             GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 103, lf, 1) == GOIO_EINVAL);
    HT_CHECK(goio_http_response_write_interim(res, 103, nul, 1) == GOIO_EINVAL);
    char long_reason[300];
    memset(long_reason, 'a', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = 0;
    HT_CHECK(goio_http_response_set_reason(res, long_reason) == GOIO_EINVAL);
    HT_CHECK(goio_http_response_set_reason(res, "a\x01") == GOIO_EINVAL);
    HT_CHECK(goio_http_response_set_reason(res, "a\x7f") == GOIO_EINVAL);
    HT_CHECK(goio_http_response_set_reason(res, "a\r") == GOIO_EINVAL);
    atomic_store(&bad_checked, 1);
    goio_http_respond(res, 200, "text/plain", "ok", 2);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    assert_int_equal(goio_http_response_write_interim(NULL, 103, NULL, 0),
                     GOIO_EINVAL);
    assert_int_equal(goio_http_response_set_reason(NULL, "x"), GOIO_EINVAL);
    ht_server *s = goio_calloc(1, sizeof *s);
    assert_ok(
        goio_http_router_handle(ht_router(s), "GET", "/bad", h_bad, NULL));
    ht_start(s, NULL);
    ht_resp r;
    ht_get(s->port, "/bad", &r);
    assert_int_equal(r.status, 200);
    /* Nothing was sent by the refused calls. */
    assert_true(!strncmp(goio_buf_cstr(&r.headers), "HTTP/1.1 200 OK\r\n", 17));
    assert_int_equal(atomic_load(&bad_checked), 1);
    ht_resp_free(&r);
    ht_stop(s);
    goio_free(s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_early_hints_raw),
        cmocka_unit_test(test_early_hints_libcurl),
        cmocka_unit_test(test_early_hints_curl_cli),
        cmocka_unit_test(test_reason_phrase),
        cmocka_unit_test(test_wrapping_response_without_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
