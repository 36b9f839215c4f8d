/* SPDX-License-Identifier: MIT */
/*
 * Vary (variants side by side, "Vary: *", normalisation), invalidation by
 * unsafe methods (the target, same-origin Location/Content-Location, not
 * other origins, not on errors), HEAD answered from stored GETs, and the
 * requests that bypass the cache (Range, the caller's own conditionals).
 */
#include <stdio.h>
#include <string.h>

#include "hc_test.h"

static void test_variants(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("v");
    SET(r, cache_control, "max-age=60");
    SET(r, vary, "Accept-Language");
    goio_http_cache *c = hc_client(NULL);
    const char *al = "Accept-Language";

    goio_http_cache_response *resp = hc_get(c, URL("v"), al, "fr");
    assert_string_equal(hc_body(resp), "v #1 Accept-Language=fr");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(c, URL("v"), al, "de");
    assert_string_equal(hc_body(resp), "v #2 Accept-Language=de");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(c, URL("v"), al, "fr");
    assert_string_equal(hc_body(resp), "v #1 Accept-Language=fr");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    resp = hc_get(c, URL("v"), al, "de");
    assert_string_equal(hc_body(resp), "v #2 Accept-Language=de");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    /* absent matches only absent */
    resp = hc_get(c, URL("v"));
    assert_string_equal(hc_body(resp), "v #3 Accept-Language=-");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("v")), GOIO_HTTP_CACHE_HIT);
    resp = hc_get(c, URL("v"), al, "");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    /* field names are case-insensitive; values are trimmed */
    resp = hc_get(c, URL("v"), "accept-language", "  fr ");
    assert_string_equal(hc_body(resp), "v #1 Accept-Language=fr");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    /* other fields do not matter */
    hc_expect(hc_get(c, URL("v"), al, "de", "X-Other", "1"),
              GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 4);

    /* invalidation drops every variant */
    assert_ok(goio_http_cache_invalidate(c, NULL, URL("v")));
    hc_expect(hc_get(c, URL("v"), al, "fr"), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("v"), al, "de"), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("v"), al, "fr"), GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 6);
    goio_http_cache_free(c);
}

static void test_vary_several(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("v2");
    SET(r, cache_control, "max-age=60");
    SET(r, etag, "\"v2\"");
    SET(r, vary, "Accept, Accept-Language");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("v2"), "Accept", "a/b", "Accept-Language", "fr"),
              GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("v2"), "Accept", "a/b", "Accept-Language", "de"),
              GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("v2"), "Accept", "c/d", "Accept-Language", "fr"),
              GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("v2"), "Accept-Language", "fr", "Accept", "a/b"),
              GOIO_HTTP_CACHE_HIT);
    /* a variant revalidates in place */
    hc_clock_advance(61000);
    goio_http_cache_response *resp =
        hc_get(c, URL("v2"), "Accept", "a/b", "Accept-Language", "de");
    assert_string_equal(hc_body(resp), "v2 #2 Accept=a/b Accept-Language=de");
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    resp = hc_get(c, URL("v2"), "Accept", "a/b", "Accept-Language", "de");
    assert_string_equal(hc_body(resp), "v2 #2 Accept=a/b Accept-Language=de");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits_304), 1);
    goio_http_cache_free(c);
}

/* Variants whose bodies are stored apart (over 16 KiB). */
static void test_vary_big(void **state)
{
    (void)state;
    enum { BODY = 40 << 10 };
    hc_res *r = hc_res_add("vbig");
    SET(r, cache_control, "max-age=5");
    SET(r, etag, "\"vbig\"");
    SET(r, vary, "Accept");
    r->body_size = BODY;
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("vbig"), "Accept", "x"), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("vbig"), "Accept", "y"), GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_response *resp = hc_get(c, URL("vbig"), "Accept", "x");
    assert_int_equal(resp->body_len, BODY);
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    hc_clock_advance(6000);
    resp = hc_get(c, URL("vbig"), "Accept", "y");
    assert_int_equal(resp->body_len, BODY);
    assert_int_equal(resp->body[BODY - 1], 'a' + (BODY - 1) % 26);
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    hc_expect(hc_get(c, URL("vbig"), "Accept", "y"), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("vbig"), "Accept", "x"),
              GOIO_HTTP_CACHE_REVALIDATED);
    goio_cache_stats cs;
    assert_ok(goio_cache_stats_get(goio_http_cache_storage(c), &cs));
    assert_int_equal(cs.entries, 5); /* index, 2 x (entry + body) */
    assert_int_equal(atomic_load(&r->hits), 4);
    goio_http_cache_free(c);
}

static void test_vary_star(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("star");
    SET(r, cache_control, "max-age=60");
    SET(r, vary, "*");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("star")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("star")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->hits), 2);
    goio_http_cache_free(c);
}

/* A response without Vary replaces a Vary'd one, and the other way. */
static void test_vary_changes(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("vc");
    SET(r, cache_control, "max-age=10");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("vc"), "Accept", "x"), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("vc"), "Accept", "y"), GOIO_HTTP_CACHE_HIT);
    SET(r, vary, "Accept");
    hc_clock_advance(11000);
    hc_expect(hc_get(c, URL("vc"), "Accept", "x"), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("vc"), "Accept", "x"), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("vc"), "Accept", "y"), GOIO_HTTP_CACHE_NETWORK);
    SET(r, vary, "");
    hc_clock_advance(11000);
    hc_expect(hc_get(c, URL("vc"), "Accept", "x"), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("vc"), "Accept", "z"), GOIO_HTTP_CACHE_HIT);
    goio_http_cache_free(c);
}

static goio_http_cache_response *call(goio_http_cache *c, const char *method,
                                      const char *url)
{
    goio_http_cache_request req = {
        .method = method, .url = url, .body = "payload", .body_len = 7};
    if (!strcmp(method, "DELETE")) {
        req.body = NULL;
        req.body_len = 0;
    }
    goio_http_cache_response *resp = NULL;
    assert_ok(goio_http_cache_do(c, NULL, &req, &resp));
    return resp;
}

static void test_unsafe_invalidates(void **state)
{
    (void)state;
    const char *names[] = {"a", "b", "c", "a2", "other"};
    hc_res *res[5];
    for (int i = 0; i < 5; i++) {
        res[i] = hc_res_add(names[i]);
        SET(res[i], cache_control, "max-age=60");
    }
    /* a second origin (another port) serves the same resources */
    hc_origin second;
    hc_origin_start(&second);
    char other[512];
    snprintf(other, sizeof other, "%s", hc_url(&second, "other"));
    SET(res[0], location, "/r/b");           /* relative, same origin */
    SET(res[0], content_location, URL("c")); /* absolute, same origin */
    SET(res[3], location, other);            /* another origin */
    goio_http_cache *c = hc_client(NULL);
    for (int i = 0; i < 4; i++)
        hc_expect(hc_get(c, URL(names[i])), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, other), GOIO_HTTP_CACHE_NETWORK);

    goio_http_cache_response *resp = call(c, "POST", URL("a"));
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "done");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(call(c, "POST", URL("a2")), GOIO_HTTP_CACHE_NETWORK);
    for (int i = 0; i < 4; i++)
        hc_expect(hc_get(c, URL(names[i])), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, other), GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&res[0]->unsafe_hits), 1);

    /* PUT and DELETE invalidate their target */
    hc_expect(call(c, "PUT", URL("b")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(call(c, "DELETE", URL("c")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("a")), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("b")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("c")), GOIO_HTTP_CACHE_NETWORK);

    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.invalidations, 6); /* a b c, a2, b, c */
    goio_http_cache_free(c);
    hc_origin_stop(&second);
}

static void set_unsafe_500(hc_res *r, void *arg)
{
    (void)arg;
    r->unsafe_status = 500;
}

static void test_unsafe_error_keeps(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("keep");
    SET(r, cache_control, "max-age=60");
    hc_res_update(r, set_unsafe_500, NULL);
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("keep")), GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_response *resp = call(c, "POST", URL("keep"));
    assert_int_equal(resp->status, 500);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("keep")), GOIO_HTTP_CACHE_HIT);
    hc_expect(call(c, "OPTIONS", URL("keep")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("keep")), GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->unsafe_hits), 2);
    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.invalidations, 0);
    goio_http_cache_free(c);
}

static void test_head(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("hd");
    SET(r, cache_control, "max-age=60");
    SET(r, extra_name, "X-Thing");
    SET(r, extra_value, "42");
    hc_res *u = hc_res_add("hd-uncached");
    SET(u, cache_control, "max-age=60");
    goio_http_cache *c = hc_client(NULL);
    goio_http_cache_request head = {.method = "HEAD", .url = URL("hd")};
    goio_http_cache_response *resp = NULL;

    hc_expect(hc_get(c, URL("hd")), GOIO_HTTP_CACHE_NETWORK);
    assert_ok(goio_http_cache_do(c, NULL, &head, &resp));
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->body_len, 0);
    assert_non_null(resp->body);
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Thing"),
                        "42");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->heads), 0);

    /* not stored: forwarded, and its answer is not kept */
    head.url = URL("hd-uncached");
    assert_ok(goio_http_cache_do(c, NULL, &head, &resp));
    assert_int_equal(resp->body_len, 0);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&u->heads), 1);
    hc_expect(hc_get(c, URL("hd-uncached")), GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_free(c);
}

static void test_bypass(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("by");
    SET(r, cache_control, "max-age=60");
    SET(r, etag, "\"by\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("by")), GOIO_HTTP_CACHE_NETWORK);
    /* a precondition that can fail with 412 reaches the origin */
    goio_http_cache_response *resp =
        hc_get(c, URL("by"), "If-Match", "\"other\"");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    /* one range is answered from the stored response (test_client.c
     * test_ranges); with If-Range it goes to the origin (which ignores
     * both here) */
    resp = hc_get(c, URL("by"), "Range", "bytes=0-1");
    assert_int_equal(resp->status, 206);
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("by"), "Range", "bytes=0-1", "If-Range", "\"by\""),
              GOIO_HTTP_CACHE_NETWORK);
    /* and the stored response is untouched */
    resp = hc_get(c, URL("by"));
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "by #1");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 3);
    goio_http_cache_free(c);
}

/* Variants match after normalisation: members trimmed, empty ones
 * dropped; Accept-Language members also case- and order-insensitive. */
static void test_vary_normalised(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("vn");
    SET(r, cache_control, "max-age=60");
    SET(r, vary, "Accept-Language, X-Foo");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("vn"), "Accept-Language", "en, de", "X-Foo", "a,b"),
              GOIO_HTTP_CACHE_NETWORK);
    hc_expect(
        hc_get(c, URL("vn"), "Accept-Language", " De ,EN", "X-Foo", " a ,  b"),
        GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("vn"), "Accept-Language", "de", "Accept-Language",
                     "en", "X-Foo", "a", "X-Foo", "b"),
              GOIO_HTTP_CACHE_HIT);
    /* X-Foo keeps its order and case */
    hc_expect(
        hc_get(c, URL("vn"), "Accept-Language", "en, de", "X-Foo", "b, a"),
        GOIO_HTTP_CACHE_NETWORK);
    hc_expect(
        hc_get(c, URL("vn"), "Accept-Language", "en, de", "X-Foo", "A, b"),
        GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->hits), 3);
    goio_http_cache_free(c);
}

/* A 200 to a HEAD updates the stored GET response it describes (fields,
 * freshness) and removes one it does not (RFC 9111 section 4.3.5). */
static void test_head_updates(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("hu");
    SET(r, cache_control, "max-age=10");
    SET(r, etag, "\"h1\"");
    SET(r, extra_name, "X-Thing");
    SET(r, extra_value, "1");
    goio_http_cache *c = hc_client(NULL);
    goio_http_cache_request head = {.method = "HEAD", .url = URL("hu")};
    goio_http_cache_response *resp = NULL;
    hc_expect(hc_get(c, URL("hu")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(20000);
    SET(r, cache_control, "max-age=1000");
    SET(r, extra_value, "2");
    assert_ok(goio_http_cache_do(c, NULL, &head, &resp));
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->body_len, 0);
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Thing"),
                        "2");
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    assert_int_equal(atomic_load(&r->heads), 1);
    /* fresh again, with the HEAD's fields and the stored body */
    resp = hc_get(c, URL("hu"));
    assert_string_equal(hc_body(resp), "hu #1");
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Thing"),
                        "2");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);

    /* another ETag: the stored response no longer describes it */
    hc_clock_advance(2000000);
    SET(r, etag, "\"h2\"");
    assert_ok(goio_http_cache_do(c, NULL, &head, &resp));
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(c, URL("hu"));
    assert_string_equal(hc_body(resp), "hu #4"); /* HEADs count too */
    assert_int_equal(atomic_load(&r->conditional), 0);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_head_updates, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_vary_normalised, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_variants, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_vary_several, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_vary_big, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_vary_star, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_vary_changes, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_invalidates, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_error_keeps, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_head, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_bypass, hc_setup, hc_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
