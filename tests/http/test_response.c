/* SPDX-License-Identifier: MIT */
/*
 * The response accessors a handler and middleware use on a live response:
 * reading back the headers set so far, and aborting a response mid-body
 * (the client must see a cut transfer, never a complete one).
 */
#include "http_test.h"

#include <string.h>

static void h_headers(goio_http_request *req, goio_http_response *res,
                      void *data)
{
    (void)req;
    (void)data;
    goio_buf seen = GOIO_BUF_INIT;
    const char *v = goio_http_response_get_header(res, "X-One");
    goio_buf_appendf(&seen, "before=%s;", v ? v : "(none)");
    goio_http_response_set_header(res, "X-One", "first");
    goio_http_response_set_header(res, "x-one", "second"); /* replaces */
    goio_http_response_add_header(res, "X-Two", "a");
    goio_http_response_add_header(res, "X-Two", "b");
    v = goio_http_response_get_header(res, "X-ONE");
    goio_buf_appendf(&seen, "one=%s;", v ? v : "(none)");
    v = goio_http_response_get_header(res, "x-two");
    goio_buf_appendf(&seen, "two=%s;", v ? v : "(none)");
    v = goio_http_response_get_header(res, NULL);
    goio_buf_appendf(&seen, "null=%s;", v ? v : "(none)");
    v = goio_http_response_get_header(NULL, "X-One");
    goio_buf_appendf(&seen, "nullres=%s", v ? v : "(none)");
    goio_http_respond(res, 200, "text/plain", seen.data, seen.len);
    goio_buf_deinit(&seen);
}

/* 64 KiB of body, flushed, then aborted: the final chunk is never sent. */
static void h_abort(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    static uint8_t block[64 * 1024];
    memset(block, 'x', sizeof block);
    goio_http_response_write_header(res, 200);
    if (goio_http_response_write(res, block, sizeof block) ||
        goio_http_response_flush(res))
        return;
    goio_http_response_abort(res, GOIO_EIO);
    goio_http_response_abort(NULL, GOIO_EIO); /* a no-op */
}

static void test_get_header_reads_what_was_set(void **state)
{
    (void)state;
    ht_server s = {0};
    goio_http_router *r = ht_router(&s);
    assert_int_equal(goio_http_router_handle(r, "GET", "/h", h_headers, NULL),
                     0);
    ht_start(&s, NULL);
    ht_resp resp;
    ht_get(s.port, "/h", &resp);
    assert_int_equal(resp.rc, CURLE_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(goio_buf_cstr(&resp.body),
                        "before=(none);one=second;two=a;null=(none);"
                        "nullres=(none)");
    assert_string_equal(ht_header(&resp, "X-One"), "second");
    ht_resp_free(&resp);
    ht_stop(&s);
}

static void test_abort_cuts_the_transfer(void **state)
{
    (void)state;
    ht_server s = {0};
    goio_http_router *r = ht_router(&s);
    assert_int_equal(goio_http_router_handle(r, "GET", "/a", h_abort, NULL), 0);
    ht_start(&s, NULL);
    ht_resp resp;
    ht_get(s.port, "/a", &resp);
    /* The headers and the flushed bytes arrived, the end never did. */
    assert_int_equal(resp.status, 200);
    assert_int_not_equal(resp.rc, CURLE_OK);
    assert_true(resp.body.len <= 64 * 1024);
    ht_resp_free(&resp);
    /* The server goes on serving after an aborted response. */
    ht_get(s.port, "/a", &resp);
    assert_int_not_equal(resp.rc, CURLE_OK);
    ht_resp_free(&resp);
    ht_stop(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    goio_log_set_level(GOIO_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_header_reads_what_was_set),
        cmocka_unit_test(test_abort_cuts_the_transfer),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
