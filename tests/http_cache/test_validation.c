/* SPDX-License-Identifier: MIT */
/*
 * Revalidation and failure against a real origin: If-None-Match and
 * If-Modified-Since, how a 304 is merged into the stored response, a 304
 * that does not match, a changed resource, and stale-if-error when the
 * origin answers 5xx, refuses connections (it is stopped) or times out -
 * with must-revalidate and the shared-cache rules that forbid it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/http_cache/http_cache_int.h"
#include "hc_test.h"

static void test_etag_304_merge(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("m");
    SET(r, cache_control, "max-age=10");
    SET(r, etag, "\"v1\"");
    SET(r, extra_name, "X-Version");
    SET(r, extra_value, "1");
    SET(r, extra304_name, "X-Version");
    SET(r, extra304_value, "2");
    SET(r, length304, "0");
    goio_http_cache *c = hc_client(NULL);

    goio_http_cache_response *resp = hc_get(c, URL("m"));
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Version"),
                        "1");
    assert_string_equal(
        goio_http_cache_response_get_header(resp, "Content-Length"), "4");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);

    /* the 304 refreshes it for 100 s and updates X-Version, never the
     * stored Content-Length */
    SET(r, cache_control, "max-age=100");
    hc_clock_advance(11000);
    resp = hc_get(c, URL("m"));
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "m #1");
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Version"),
                        "2");
    assert_string_equal(
        goio_http_cache_response_get_header(resp, "Cache-Control"),
        "max-age=100");
    assert_string_equal(
        goio_http_cache_response_get_header(resp, "Content-Length"), "4");
    assert_string_equal(goio_http_cache_response_get_header(resp, "ETag"),
                        "\"v1\"");
    assert_true(atoi(goio_http_cache_response_get_header(resp, "Age")) <= 1);
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    char inm[HC_STR];
    HC_RES_GET(r, last_inm, inm);
    assert_string_equal(inm, "\"v1\"");

    hc_clock_advance(90000);
    resp = hc_get(c, URL("m"));
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Version"),
                        "2");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 2);
    assert_int_equal(atomic_load(&r->hits_304), 1);

    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.revalidated, 1);
    goio_http_cache_free(c);
}

static void test_last_modified_only(void **state)
{
    (void)state;
    char lm[64];
    hc_http_date(-3600, lm);
    hc_res *r = hc_res_add("lm");
    SET(r, cache_control, "max-age=5");
    SET(r, last_modified, lm);
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("lm")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(6000);
    hc_expect(hc_get(c, URL("lm")), GOIO_HTTP_CACHE_REVALIDATED);
    char ims[HC_STR], inm[HC_STR];
    HC_RES_GET(r, last_ims, ims);
    HC_RES_GET(r, last_inm, inm);
    assert_string_equal(ims, lm);
    assert_string_equal(inm, "");
    goio_http_cache_free(c);
}

static void test_changed_resource(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("ch");
    SET(r, cache_control, "max-age=5");
    SET(r, etag, "\"v1\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("ch")), GOIO_HTTP_CACHE_NETWORK);
    SET(r, etag, "\"v2\"");
    hc_clock_advance(6000);
    goio_http_cache_response *resp = hc_get(c, URL("ch"));
    assert_string_equal(hc_body(resp), "ch #2");
    assert_string_equal(goio_http_cache_response_get_header(resp, "ETag"),
                        "\"v2\"");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(c, URL("ch"));
    assert_string_equal(hc_body(resp), "ch #2");
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->conditional), 1);
    goio_http_cache_free(c);
}

/* A 304 whose ETag is not the stored one does not describe it: the
 * client asks again without conditions. */
static void test_mismatched_304(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("mm");
    SET(r, cache_control, "max-age=5");
    SET(r, etag, "\"v1\"");
    SET(r, etag304, "\"other\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("mm")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(6000);
    goio_http_cache_response *resp = hc_get(c, URL("mm"));
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "mm #3");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->hits), 3);
    assert_int_equal(atomic_load(&r->hits_304), 1);
    assert_int_equal(atomic_load(&r->conditional), 1);
    goio_http_cache_free(c);
}

static void test_stale_if_error_5xx(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("sie");
    SET(r, cache_control, "max-age=10, stale-if-error=60");
    SET(r, etag, "\"s\"");
    hc_res *plain = hc_res_add("plain");
    SET(plain, cache_control, "max-age=10");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("sie")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("plain")), GOIO_HTTP_CACHE_NETWORK);

    hc_res_set_fail(r, 503);
    hc_res_set_fail(plain, 503);
    hc_clock_advance(15000);
    goio_http_cache_response *resp = hc_get(c, URL("sie"));
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "sie #1");
    assert_int_equal(resp->origin_status, 503);
    assert_int_equal(resp->origin_error, 0);
    int age = atoi(goio_http_cache_response_get_header(resp, "Age"));
    assert_true(age >= 15 && age <= 16);
    hc_expect(resp, GOIO_HTTP_CACHE_STALE);
    assert_int_equal(hc_log_count("used_stale_cache"), 1);
    resp = hc_get(c, URL("plain"));
    assert_int_equal(resp->status, 503);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);

    /* past stale-if-error's 60 s: the 503 itself */
    hc_clock_advance(60000);
    resp = hc_get(c, URL("sie"));
    assert_int_equal(resp->status, 503);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    /* the stored response survived the failures */
    hc_res_set_fail(r, 0);
    hc_expect(hc_get(c, URL("sie")), GOIO_HTTP_CACHE_REVALIDATED);

    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.stale_served, 1);
    goio_http_cache_free(c);
}

/* The origin goes away: stale when allowed, the connection error when
 * not, and never under must-revalidate. */
static void test_origin_down(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("down");
    SET(r, cache_control, "max-age=10, stale-if-error=60");
    SET(r, etag, "\"d\"");
    hc_res *strict = hc_res_add("strict");
    SET(strict, cache_control,
        "max-age=10, stale-if-error=60, must-revalidate");
    SET(strict, etag, "\"s\"");
    hc_res *plain = hc_res_add("plain");
    SET(plain, cache_control, "max-age=10");
    goio_http_cache *c = hc_client(NULL);
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.stale_if_error_ms = 60000; /* an allowance for everything */
    goio_http_cache *lenient = hc_client(&cfg);
    const char *names[] = {"down", "strict", "plain"};
    for (int i = 0; i < 3; i++) {
        hc_expect(hc_get(c, URL(names[i])), GOIO_HTTP_CACHE_NETWORK);
        hc_expect(hc_get(lenient, URL(names[i])), GOIO_HTTP_CACHE_NETWORK);
    }
    char down[512], strict_url[512], plain_url[512];
    snprintf(down, sizeof down, "%s", URL("down"));
    snprintf(strict_url, sizeof strict_url, "%s", URL("strict"));
    snprintf(plain_url, sizeof plain_url, "%s", URL("plain"));
    hc_origin_stop(&hc_o);
    hc_clock_advance(15000);

    goio_http_cache_response *resp = NULL;
    assert_ok(hc_try_get(c, down, NULL, &resp, NULL));
    assert_int_equal(resp->origin_error, GOIO_ECONNREFUSED);
    assert_string_equal(hc_body(resp), "down #1");
    hc_expect(resp, GOIO_HTTP_CACHE_STALE);
    assert_goio(GOIO_ECONNREFUSED,
                hc_try_get(c, strict_url, NULL, &resp, NULL));
    assert_null(resp);
    assert_goio(GOIO_ECONNREFUSED, hc_try_get(c, plain_url, NULL, &resp, NULL));
    assert_ok(hc_try_get(lenient, plain_url, NULL, &resp, NULL));
    hc_expect(resp, GOIO_HTTP_CACHE_STALE);
    assert_goio(GOIO_ECONNREFUSED,
                hc_try_get(lenient, strict_url, NULL, &resp, NULL));
    /* the request may ask for it too */
    assert_ok(hc_try_get(c, plain_url, NULL, &resp, "Cache-Control",
                         "stale-if-error=30", NULL));
    hc_expect(resp, GOIO_HTTP_CACHE_STALE);
    /* never a URL nothing was stored for */
    char never[512];
    snprintf(never, sizeof never, "%s", down);
    strcat(never, "-never");
    assert_goio(GOIO_ECONNREFUSED, hc_try_get(c, never, NULL, &resp, NULL));
    assert_int_equal(hc_log_count("used_stale_cache"), 3);

    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.errors, 3);
    goio_http_cache_free(c);
    goio_http_cache_free(lenient);
}

/* Shared caches: s-maxage and proxy-revalidate forbid serving stale. */
static void test_shared_no_stale(void **state)
{
    (void)state;
    hc_res *a = hc_res_add("sm");
    SET(a, cache_control, "s-maxage=10, stale-if-error=60");
    SET(a, etag, "\"a\"");
    hc_res *b = hc_res_add("pr");
    SET(b, cache_control, "max-age=10, proxy-revalidate, stale-if-error=60");
    SET(b, etag, "\"b\"");
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.shared = true;
    goio_http_cache *shared = hc_client(&cfg);
    goio_http_cache *priv = hc_client(NULL);
    hc_expect(hc_get(shared, URL("sm")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(shared, URL("pr")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(priv, URL("pr")), GOIO_HTTP_CACHE_NETWORK);
    hc_res_set_fail(a, 502);
    hc_res_set_fail(b, 504);
    hc_clock_advance(15000);
    goio_http_cache_response *resp = hc_get(shared, URL("sm"));
    assert_int_equal(resp->status, 502);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(shared, URL("pr"));
    assert_int_equal(resp->status, 504);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(priv, URL("pr"));
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->origin_status, 504);
    hc_expect(resp, GOIO_HTTP_CACHE_STALE);
    goio_http_cache_free(shared);
    goio_http_cache_free(priv);
}

/* An origin that hangs past the client's timeout counts as failed. */
static void test_timeout_stale(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("slow");
    SET(r, cache_control, "max-age=1, stale-if-error=60");
    SET(r, etag, "\"t\"");
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.timeout_ms = 300;
    goio_http_cache *c = hc_client(&cfg);
    hc_expect(hc_get(c, URL("slow")), GOIO_HTTP_CACHE_NETWORK);
    hc_res_block(r, true);
    hc_clock_advance(2000);
    int64_t t0 = goio_now_mono_ms();
    goio_http_cache_response *resp = hc_get(c, URL("slow"));
    assert_true(goio_now_mono_ms() - t0 < 5000);
    assert_int_equal(resp->origin_error, GOIO_ETIMEDOUT);
    hc_expect(resp, GOIO_HTTP_CACHE_STALE);
    hc_origin_release();
    goio_http_cache_free(c);
}

/* If-None-Match / If-Modified-Since answered from a fresh stored response
 * (304 when not modified, RFC 9110 section 13.2.2 precedence, weak ETag
 * comparison), and after the cache's own revalidation of a stale one. */
static void test_conditional_from_cache(void **state)
{
    (void)state;
    char lm[64], before[64];
    hc_http_date(-3600, lm);
    hc_http_date(-7200, before);
    hc_res *r = hc_res_add("cond");
    SET(r, cache_control, "max-age=60");
    SET(r, etag, "\"v1\"");
    SET(r, last_modified, lm);
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("cond")), GOIO_HTTP_CACHE_NETWORK);

    static const struct {
        const char *inm, *ims;
        int status;
    } cases[] = {
        {"\"v1\"", NULL, 304},
        {"W/\"v1\"", NULL, 304},
        {"\"x\", W/\"v1\"", NULL, 304},
        {"*", NULL, 304},
        {"\"v2\"", NULL, 200},
        {NULL, NULL, 304},     /* IMS = Last-Modified (filled below) */
        {NULL, "", 200},       /* IMS before Last-Modified (filled below) */
        {"\"v2\"", NULL, 200}, /* INM mismatch wins over a matching IMS */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        goio_http_cache_header h[2];
        size_t n = 0;
        if (cases[i].inm)
            h[n++] = (goio_http_cache_header){"If-None-Match", cases[i].inm};
        if (i == 5 || i == 7)
            h[n++] = (goio_http_cache_header){"If-Modified-Since", lm};
        if (i == 6)
            h[n++] = (goio_http_cache_header){"If-Modified-Since", before};
        goio_http_cache_response *resp;
        assert_ok(goio_http_cache_get(c, NULL, URL("cond"), h, n, &resp));
        if (resp->status != cases[i].status)
            fail_msg("case %zu: status %d", i, resp->status);
        assert_int_equal(resp->body_len, cases[i].status == 304 ? 0 : 4 + 3);
        hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    }
    assert_int_equal(atomic_load(&r->hits), 1);

    /* stale: the cache revalidates with its own validators, then answers
     * the caller's condition */
    hc_clock_advance(61000);
    goio_http_cache_response *resp =
        hc_get(c, URL("cond"), "If-None-Match", "\"v1\"");
    assert_int_equal(resp->status, 304);
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    assert_int_equal(atomic_load(&r->hits), 2);
    assert_int_equal(atomic_load(&r->conditional), 1);
    char inm[HC_STR];
    HC_RES_GET(r, last_inm, inm);
    assert_string_equal(inm, "\"v1\"");
    goio_http_cache_free(c);
}

/* stale-while-revalidate: the stale response at once, one background
 * revalidation however many requests come meanwhile, its outcome stored;
 * past the window a synchronous revalidation; free waits for a running
 * background revalidation. */
static void test_stale_while_revalidate(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("swr");
    SET(r, cache_control, "max-age=10, stale-while-revalidate=60");
    SET(r, etag, "\"s1\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("swr")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(20000);
    hc_res_block(r, true);
    for (int i = 0; i < 5; i++) {
        goio_http_cache_response *resp = hc_get(c, URL("swr"));
        assert_string_equal(hc_body(resp), "swr #1");
        hc_expect(resp, GOIO_HTTP_CACHE_STALE);
        if (i == 0)
            assert_true(GOIO_WAIT_UNTIL(atomic_load(&r->blocked) == 1, 10000));
    }
    /* one revalidation reached the origin */
    assert_int_equal(atomic_load(&r->hits), 2);
    assert_int_equal(atomic_load(&r->blocked), 1);
    hc_origin_release();
    assert_true(GOIO_WAIT_UNTIL(
        goio_sharedflight_inflight(goio__hc_flights(c)) == 0, 10000));
    assert_int_equal(atomic_load(&r->hits_304), 1);
    /* the 304 made it fresh again */
    hc_expect(hc_get(c, URL("swr")), GOIO_HTTP_CACHE_HIT);
    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_true(st.background >= 1);

    /* past the window: revalidated before it is returned */
    hc_clock_advance(100000);
    hc_expect(hc_get(c, URL("swr")), GOIO_HTTP_CACHE_REVALIDATED);
    assert_int_equal(atomic_load(&r->hits), 3);

    /* free waits for a background revalidation in progress */
    hc_origin_rearm();
    hc_clock_advance(20000);
    hc_expect(hc_get(c, URL("swr")), GOIO_HTTP_CACHE_STALE);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&r->blocked) == 1, 10000));
    hc_origin_release();
    goio_http_cache_free(c);
    assert_int_equal(atomic_load(&r->hits_304), 3);
}

/* must-revalidate forbids serving stale, stale-while-revalidate or not. */
static void test_swr_prohibited(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("swr-mr");
    SET(r, cache_control,
        "max-age=10, stale-while-revalidate=60, must-revalidate");
    SET(r, etag, "\"m1\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("swr-mr")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(20000);
    hc_expect(hc_get(c, URL("swr-mr")), GOIO_HTTP_CACHE_REVALIDATED);
    goio_http_cache_free(c);
}

/* A stale entry without a validator stays in storage for request
 * max-stale, within config.max_stale_keep_ms. Storage TTLs run on the
 * real clock, so this waits for real time to pass (2.2 s, twice). */
static void max_stale_case(const char *name, int64_t keep_ms,
                           goio_http_cache_served second)
{
    hc_res *r = hc_res_add(name);
    SET(r, cache_control, "max-age=1");
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.max_stale_keep_ms = keep_ms;
    goio_http_cache *c = hc_client(&cfg);
    hc_expect(hc_get(c, URL(name)), GOIO_HTTP_CACHE_NETWORK);
    int64_t until = goio_now_mono_ms() + 2200;
    assert_true(GOIO_WAIT_UNTIL(goio_now_mono_ms() >= until, 5000));
    hc_expect(hc_get(c, URL(name), "Cache-Control", "max-stale=20"), second);
    goio_http_cache_free(c);
}

static void test_max_stale_keeps(void **state)
{
    (void)state;
    max_stale_case("ms-keep", 30000, GOIO_HTTP_CACHE_STALE);
    max_stale_case("ms-gone", 0, GOIO_HTTP_CACHE_NETWORK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stale_while_revalidate, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_swr_prohibited, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_max_stale_keeps, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_conditional_from_cache, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_etag_304_merge, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_last_modified_only, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_changed_resource, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_304, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_stale_if_error_5xx, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_origin_down, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_shared_no_stale, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_stale, hc_setup,
                                        hc_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
