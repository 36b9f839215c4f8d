/* SPDX-License-Identifier: MIT */
/*
 * The request-parsing layer on its own (bytes in, requests out): every
 * split of the input gives the same request, pipelined requests come out
 * one at a time, limits map to their statuses, and allocation failures
 * end in 503 without leaks. It includes the private header on purpose:
 * this layer has no public API, and the fuzz target drives it the same
 * way.
 */
#include "../../src/http/http_int.h"

#include "http_test.h"

#include <string.h>

static const char req1[] = "POST /a/b%20c?x=1&y=two HTTP/1.1\r\n"
                           "Host: example\r\n"
                           "X-Multi: one\r\n"
                           "x-multi: two\r\n"
                           "Content-Length: 11\r\n"
                           "\r\n"
                           "hello world";

static void check_req1(goio_http_request *r)
{
    assert_non_null(r);
    assert_string_equal(goio_http_request_method(r), "POST");
    assert_string_equal(goio_http_request_path(r), "/a/b%20c");
    assert_string_equal(goio_http_request_query(r), "x=1&y=two");
    assert_string_equal(goio_http_request_get_header(r, "HOST"), "example");
    assert_string_equal(goio_http_request_get_header(r, "X-MULTI"), "one");
    assert_int_equal(goio_http_request_header_count(r), 4);
    const char *n, *v;
    assert_ok(goio_http_request_header_at(r, 2, &n, &v));
    assert_string_equal(n, "x-multi");
    assert_string_equal(v, "two");
    assert_goio(GOIO_ERANGE, goio_http_request_header_at(r, 4, &n, &v));
    size_t len;
    const char *b = goio_http_request_body(r, &len);
    assert_int_equal(len, 11);
    assert_memory_equal(b, "hello world", 11);
    assert_int_equal(goio_http_request_version(r), 11);
    assert_true(r->keep_alive);
}

/* Feeds `data` in pieces cut at the given points; returns the request. */
static goio_http_request *feed_split(const char *data, size_t len,
                                     const size_t *cuts, size_t ncuts)
{
    goio__http_parser rp;
    goio__http_parser_init(&rp, 16384, 1 << 20);
    size_t from = 0;
    goio_http_request *req = NULL;
    for (size_t i = 0; i <= ncuts && !req; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        size_t used;
        goio__http_feed f =
            goio__http_parser_feed(&rp, data + from, to - from, &used);
        assert_int_not_equal(f, GOIO__HTTP_FEED_ERROR);
        if (f == GOIO__HTTP_FEED_REQUEST) {
            assert_int_equal(from + used, len);
            req = goio__http_parser_take(&rp);
        } else {
            assert_int_equal(used, to - from);
        }
        from = to;
    }
    goio__http_parser_reset(&rp);
    return req;
}

static void test_every_split(void **state)
{
    (void)state;
    size_t len = sizeof req1 - 1;
    goio_http_request *r = feed_split(req1, len, NULL, 0);
    check_req1(r);
    goio__http_request_free(r);
    for (size_t a = 1; a < len; a++) {
        for (size_t b = a; b < len; b += 7) {
            size_t cuts[2] = {a, b};
            r = feed_split(req1, len, cuts, 2);
            check_req1(r);
            goio__http_request_free(r);
        }
    }
    /* Byte by byte. */
    size_t *cuts = goio_calloc(len, sizeof *cuts);
    for (size_t i = 0; i < len - 1; i++)
        cuts[i] = i + 1;
    r = feed_split(req1, len, cuts, len - 1);
    check_req1(r);
    goio__http_request_free(r);
    goio_free(cuts);
}

static void test_pipelined(void **state)
{
    (void)state;
    static const char two[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /two?q HTTP/1.0\r\n\r\n";
    goio__http_parser rp;
    goio__http_parser_init(&rp, 16384, 1024);
    size_t used;
    assert_int_equal(goio__http_parser_feed(&rp, two, sizeof two - 1, &used),
                     GOIO__HTTP_FEED_REQUEST);
    goio_http_request *r = goio__http_parser_take(&rp);
    assert_string_equal(goio_http_request_path(r), "/one");
    assert_string_equal(goio_http_request_query(r), "");
    size_t len;
    assert_string_equal(goio_http_request_body(r, &len), "");
    assert_int_equal(len, 0);
    goio__http_request_free(r);
    size_t rest = sizeof two - 1 - used;
    size_t used2;
    assert_int_equal(goio__http_parser_feed(&rp, two + used, rest, &used2),
                     GOIO__HTTP_FEED_REQUEST);
    assert_int_equal(used2, rest);
    r = goio__http_parser_take(&rp);
    assert_string_equal(goio_http_request_path(r), "/two");
    assert_string_equal(goio_http_request_query(r), "q");
    assert_int_equal(goio_http_request_version(r), 10);
    assert_false(r->keep_alive);
    goio__http_request_free(r);
    goio__http_parser_reset(&rp);
}

static int status_of(const char *data, size_t len, size_t max_header,
                     size_t max_body)
{
    goio__http_parser rp;
    goio__http_parser_init(&rp, max_header, max_body);
    size_t used;
    goio__http_feed f = goio__http_parser_feed(&rp, data, len, &used);
    int st = f == GOIO__HTTP_FEED_ERROR     ? rp.status
             : f == GOIO__HTTP_FEED_REQUEST ? 200
                                            : 0;
    if (f == GOIO__HTTP_FEED_REQUEST)
        goio__http_request_free(goio__http_parser_take(&rp));
    goio__http_parser_reset(&rp);
    return st;
}

#define STATUS(s, h, b) status_of(s, sizeof(s) - 1, h, b)

static void test_statuses(void **state)
{
    (void)state;
    assert_int_equal(STATUS("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 100, 10), 200);
    assert_int_equal(STATUS("GET / HTTP/1.1\r\nHost: x\r\n", 100, 10), 0);
    assert_int_equal(STATUS("GET /0123456789 HTTP/1.1\r\n\r\n", 8, 10), 414);
    assert_int_equal(STATUS("GET / HTTP/1.1\r\nX: 0123456789\r\n\r\n", 8, 10),
                     431);
    assert_int_equal(
        STATUS("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 100,
               10),
        413);
    assert_int_equal(
        STATUS("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               "\r\nb\r\nhello world\r\n0\r\n\r\n",
               100, 10),
        413);
    assert_int_equal(
        STATUS("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               "\r\na\r\nhello worl\r\n0\r\n\r\n",
               100, 10),
        200);
    assert_int_equal(STATUS("CONNECT a:1 HTTP/1.1\r\nHost: x\r\n\r\n", 100, 10),
                     501);
    assert_int_equal(
        STATUS("GET / HTTP/1.1\r\nHost: x\r\nExpect: x\r\n\r\n", 100, 10), 417);
    assert_int_equal(STATUS("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 100, 10), 505);
    assert_int_equal(STATUS("G@T / HTTP/1.1\r\n\r\n", 100, 10), 400);
    assert_int_equal(
        STATUS("GET http://h/p?q HTTP/1.1\r\nHost: x\r\n\r\n", 100, 10), 200);
    /* Trailers of a chunked body are counted but not kept as headers
     * (found by the fuzzer: they were kept, unterminated). */
    static const char trailer[] =
        "PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
        "chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        "Trailer: x\r\n\r\n";
    goio__http_parser tp;
    goio__http_parser_init(&tp, 100, 10);
    size_t tused;
    assert_int_equal(
        goio__http_parser_feed(&tp, trailer, sizeof trailer - 1, &tused),
        GOIO__HTTP_FEED_REQUEST);
    goio_http_request *tr = goio__http_parser_take(&tp);
    assert_int_equal(goio_http_request_header_count(tr), 2);
    assert_null(goio_http_request_get_header(tr, "Trailer"));
    size_t blen;
    assert_memory_equal(goio_http_request_body(tr, &blen), "abc", 3);
    assert_int_equal(blen, 3);
    goio__http_request_free(tr);
    goio__http_parser_reset(&tp);
    assert_int_equal(
        STATUS("PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
               "\r\n\r\n0\r\nT: 0123456789012345678901234"
               "567890123456789012345678901234567890123456789"
               "0123456789012345678901234567890123456789"
               "\r\n\r\n",
               100, 10),
        431);
    /* 100-continue is noticed when the headers are complete. */
    static const char cont[] =
        "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
        "Content-Length: 3\r\n\r\n";
    goio__http_parser rp;
    goio__http_parser_init(&rp, 100, 10);
    size_t used;
    assert_int_equal(goio__http_parser_feed(&rp, cont, sizeof cont - 1, &used),
                     GOIO__HTTP_FEED_MORE);
    assert_true(rp.headers_done && rp.cur->expect_continue);
    assert_int_equal(goio__http_parser_feed(&rp, "abc", 3, &used),
                     GOIO__HTTP_FEED_REQUEST);
    goio__http_request_free(goio__http_parser_take(&rp));
    goio__http_parser_reset(&rp);
}

/*
 * The strict scanner and http-parser agree on valid input: every message
 * below comes out whole at every two-way split and byte by byte (a
 * disagreement would be a 400), and the strict scanner alone ends each
 * message at the byte http-parser does.
 */
static void test_strict_agrees(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\nGET /a?b HTTP/1.0\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "POST /p HTTP/1.1\r\nhost: x\r\ntransfer-encoding: CHUNKED\r\n\r\n"
        "a;x=\"y\"\r\n0123456789\r\nB \t;e\r\nabcdefghijk\r\n0\r\n"
        "T1: a\r\nT2:\r\n\r\n",
        "PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        "GET http://h/p HTTP/1.1\r\nHost:\th \r\nX-E:\r\nX-O: \xff\xfe\r\n"
        "\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    };
    for (size_t k = 0; k < sizeof valid / sizeof *valid; k++) {
        const char *in = valid[k];
        size_t len = strlen(in);
        goio_http_request *r = feed_split(in, len, NULL, 0);
        assert_non_null(r);
        goio__http_request_free(r);
        for (size_t a = 1; a < len; a++) {
            size_t cuts[1] = {a};
            r = feed_split(in, len, cuts, 1);
            assert_non_null(r);
            goio__http_request_free(r);
        }
        size_t *cuts = goio_calloc(len, sizeof *cuts);
        for (size_t i = 0; i < len - 1; i++)
            cuts[i] = i + 1;
        r = feed_split(in, len, cuts, len - 1);
        assert_non_null(r);
        goio__http_request_free(r);
        goio_free(cuts);
        /* The scanner alone, in one piece: it ends the message at len. */
        goio__http_strict st;
        goio__http_strict_init(&st);
        int res;
        assert_int_equal(
            goio__http_strict_scan(&st, (const uint8_t *)in, len, &res), len);
        assert_int_equal(res, 1);
    }
}

/* Allocation failures: the parser answers 503, nothing leaks. */
static int parse_op(void *arg)
{
    (void)arg;
    goio__http_parser rp;
    goio__http_parser_init(&rp, 16384, 1024);
    size_t used;
    goio__http_feed f =
        goio__http_parser_feed(&rp, req1, sizeof req1 - 1, &used);
    int rc = 0;
    if (f == GOIO__HTTP_FEED_REQUEST) {
        goio__http_request_free(goio__http_parser_take(&rp));
    } else {
        assert_int_equal(f, GOIO__HTTP_FEED_ERROR);
        assert_int_equal(rp.status, 503);
        rc = GOIO_ENOMEM;
    }
    goio__http_parser_reset(&rp);
    return rc;
}

static void nothing(void *arg)
{
    (void)arg;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    assert_true(goio_test_alloc_torture(parse_op, nothing, NULL) > 3);
}

/* Router and server objects under allocation failures. */
static void h_none(goio_http_request *req, goio_http_response *res, void *d)
{
    (void)req;
    (void)res;
    (void)d;
}

static int router_op(void *arg)
{
    goio_http_router **out = arg;
    goio_http_router *r;
    int rc = goio_http_router_new(&r);
    if (rc)
        return rc;
    static const char *const pats[] = {"/a", "/b/{id}/c", "/s/*"};
    for (int i = 0; i < 3 && !rc; i++)
        rc =
            goio_http_router_handle(r, i ? "GET" : NULL, pats[i], h_none, NULL);
    *out = r;
    return rc;
}

static void router_cleanup(void *arg)
{
    goio_http_router **r = arg;
    goio_http_router_free(*r);
    *r = NULL;
}

static int server_op(void *arg)
{
    goio_http_server **out = arg;
    goio_http_server_config cfg;
    goio_http_server_config_init(&cfg);
    cfg.handler = h_none;
    return goio_http_server_new(&cfg, out);
}

static void server_cleanup(void *arg)
{
    goio_http_server **s = arg;
    goio_http_server_free(*s);
    *s = NULL;
}

static void test_alloc_failures_objects(void **state)
{
    (void)state;
    goio_http_router *r = NULL;
    assert_true(goio_test_alloc_torture(router_op, router_cleanup, &r) > 3);
    router_cleanup(&r);
    goio_http_server *s = NULL;
    assert_true(goio_test_alloc_torture(server_op, server_cleanup, &s) > 1);
    server_cleanup(&s);
}

int main(void)
{
    goio_test_alloc_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_strict_agrees),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_alloc_failures_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
