/* SPDX-License-Identifier: MIT */
/*
 * Freshness against a real origin: max-age, s-maxage (shared and private
 * caches), Expires, Age, Date, heuristic freshness, no-store, private,
 * no-cache, which statuses are stored, and the request directives. Time
 * moves through the client's clock (hc_clock_advance), never by sleeping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_test.h"

static goio_http_cache_config shared_cfg(void)
{
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.shared = true;
    return cfg;
}

static void test_max_age(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("a");
    SET(r, cache_control, "max-age=60");
    goio_http_cache *c = hc_client(NULL);

    goio_http_cache_response *resp = hc_get(c, URL("a"));
    assert_int_equal(resp->status, 200);
    assert_string_equal(hc_body(resp), "a #1");
    assert_null(goio_http_cache_response_get_header(resp, "Age"));
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);

    resp = hc_get(c, URL("a"));
    assert_string_equal(hc_body(resp), "a #1");
    assert_true(atoi(goio_http_cache_response_get_header(resp, "age")) <= 1);
    assert_string_equal(
        goio_http_cache_response_get_header(resp, "Cache-Control"),
        "max-age=60");
    assert_false(resp->shared);
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);

    hc_clock_advance(30000);
    resp = hc_get(c, URL("a"));
    const char *age = goio_http_cache_response_get_header(resp, "Age");
    assert_true(atoi(age) >= 30 && atoi(age) <= 31);
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 1);

    /* stale, nothing to revalidate with: a new full request */
    hc_clock_advance(31000);
    resp = hc_get(c, URL("a"));
    assert_string_equal(hc_body(resp), "a #2");
    assert_int_equal(atomic_load(&r->conditional), 0);
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("a")), GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 2);

    goio_http_cache_stats st;
    assert_ok(goio_http_cache_stats_get(c, &st));
    assert_int_equal(st.requests, 5);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.origin_requests, 2);
    assert_int_equal(st.stores, 2);
    assert_int_equal(st.errors, 0);
    goio_http_cache_free(c);
}

static void test_s_maxage(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("s");
    SET(r, cache_control, "max-age=0, s-maxage=60");
    goio_http_cache *priv = hc_client(NULL);
    goio_http_cache_config cfg = shared_cfg();
    goio_http_cache *shared = hc_client(&cfg);
    hc_expect(hc_get(priv, URL("s")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(priv, URL("s")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(shared, URL("s")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(shared, URL("s")), GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits), 3);
    goio_http_cache_free(priv);
    goio_http_cache_free(shared);
}

static void test_private(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("p");
    SET(r, cache_control, "private, max-age=60");
    goio_http_cache *priv = hc_client(NULL);
    goio_http_cache_config cfg = shared_cfg();
    goio_http_cache *shared = hc_client(&cfg);
    hc_expect(hc_get(priv, URL("p")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(priv, URL("p")), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(shared, URL("p")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(shared, URL("p")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->hits), 3);

    /* Authorization: a shared cache stores only what says it may */
    hc_res *a = hc_res_add("auth");
    SET(a, cache_control, "max-age=60");
    hc_res *b = hc_res_add("auth-public");
    SET(b, cache_control, "max-age=60, public");
    for (int i = 0; i < 2; i++) {
        hc_expect(
            hc_get(shared, URL("auth"), "Authorization", "Basic eDp5", NULL),
            GOIO_HTTP_CACHE_NETWORK);
        hc_expect(hc_get(shared, URL("auth-public"), "Authorization",
                         "Basic eDp5", NULL),
                  i ? GOIO_HTTP_CACHE_HIT : GOIO_HTTP_CACHE_NETWORK);
        hc_expect(
            hc_get(priv, URL("auth"), "Authorization", "Basic eDp5", NULL),
            i ? GOIO_HTTP_CACHE_HIT : GOIO_HTTP_CACHE_NETWORK);
    }
    goio_http_cache_free(priv);
    goio_http_cache_free(shared);
}

static void test_no_store(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("ns");
    SET(r, cache_control, "no-store, max-age=60");
    SET(r, etag, "\"x\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("ns")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("ns")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&r->conditional), 0);

    /* a request's no-store keeps its response out */
    hc_res *q = hc_res_add("rq");
    SET(q, cache_control, "max-age=60");
    hc_expect(hc_get(c, URL("rq"), "Cache-Control", "no-store", NULL),
              GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("rq")), GOIO_HTTP_CACHE_NETWORK);
    /* ... but may still be answered from storage */
    hc_expect(hc_get(c, URL("rq"), "Cache-Control", "no-store", NULL),
              GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&q->hits), 2);

    /* a later no-store response removes the stored one */
    SET(q, cache_control, "no-store");
    hc_clock_advance(61000);
    hc_expect(hc_get(c, URL("rq")), GOIO_HTTP_CACHE_NETWORK);
    SET(q, cache_control, "max-age=60");
    hc_clock_advance(-61000);
    hc_expect(hc_get(c, URL("rq")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&q->hits), 4);
    goio_http_cache_free(c);
}

/* Surrogate-Control through a shared cache that is a surrogate (a real
 * origin): it overrides Cache-Control here and never reaches the caller. */
static void test_surrogate_control(void **state)
{
    (void)state;
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.shared = true;
    cfg.surrogate_name = "edge1";
    goio_http_cache *c = hc_client(&cfg);
    goio_http_cache_config plain_cfg;
    hc_config(&plain_cfg);
    plain_cfg.shared = true;
    goio_http_cache *plain = hc_client(&plain_cfg);

    /* max-age for this device beats Cache-Control: no-store */
    hc_res *a = hc_res_add("sc-mine");
    SET(a, cache_control, "no-store");
    SET(a, extra_name, "Surrogate-Control");
    SET(a, extra_value, "max-age=60;edge1");
    goio_http_cache_response *r = hc_get(c, URL("sc-mine"));
    assert_null(goio_http_cache_response_get_header(r, "Surrogate-Control"));
    assert_string_equal(goio_http_cache_response_get_header(r, "Cache-Control"),
                        "no-store");
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    char cap[HC_STR];
    HC_RES_GET(a, last_capability, cap);
    assert_string_equal(cap, "edge1=\"Surrogate/1.0\"");
    hc_clock_advance(59000);
    hc_expect(hc_get(c, URL("sc-mine")), GOIO_HTTP_CACHE_HIT);
    hc_clock_advance(2000);
    hc_expect(hc_get(c, URL("sc-mine")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_reset();
    /* a cache that is no surrogate: an ordinary field, no-store holds */
    r = hc_get(plain, URL("sc-mine"));
    assert_string_equal(
        goio_http_cache_response_get_header(r, "Surrogate-Control"),
        "max-age=60;edge1");
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(plain, URL("sc-mine")), GOIO_HTTP_CACHE_NETWORK);
    HC_RES_GET(a, last_capability, cap);
    assert_string_equal(cap, "");

    /* a short surrogate max-age beats a long Cache-Control one; the
     * directive for this device beats the one for all */
    hc_res *b = hc_res_add("sc-short");
    SET(b, cache_control, "max-age=3600");
    SET(b, extra_name, "Surrogate-Control");
    SET(b, extra_value, "max-age=3600, max-age=1;edge1");
    hc_expect(hc_get(c, URL("sc-short")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(2000);
    hc_expect(hc_get(c, URL("sc-short")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_reset();

    /* aimed at another device: ignored (Cache-Control max-age=1 rules) */
    hc_res *d = hc_res_add("sc-other");
    SET(d, cache_control, "max-age=1");
    SET(d, extra_name, "Surrogate-Control");
    SET(d, extra_value, "max-age=3600;edge2");
    hc_expect(hc_get(c, URL("sc-other")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(2000);
    hc_expect(hc_get(c, URL("sc-other")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_reset();

    /* no-store beats a fresh Cache-Control; an invalid max-age is ignored */
    hc_res *e = hc_res_add("sc-nostore");
    SET(e, cache_control, "max-age=3600");
    SET(e, extra_name, "Surrogate-Control");
    SET(e, extra_value, "no-store");
    hc_res *f = hc_res_add("sc-space");
    SET(f, cache_control, "max-age=1");
    SET(f, extra_name, "Surrogate-Control");
    SET(f, extra_value, "max-age =3600");
    for (int i = 0; i < 2; i++) {
        hc_expect(hc_get(c, URL("sc-nostore")), GOIO_HTTP_CACHE_NETWORK);
        hc_expect(hc_get(c, URL("sc-space")), GOIO_HTTP_CACHE_NETWORK);
        hc_clock_advance(2000);
    }
    assert_int_equal(atomic_load(&e->hits), 2);
    assert_int_equal(atomic_load(&f->hits), 2);
    hc_clock_reset();

    /* max-age=N+M: M is a stale-if-error window */
    hc_res *g = hc_res_add("sc-plus");
    SET(g, extra_name, "Surrogate-Control");
    SET(g, extra_value, "max-age=10+30");
    hc_expect(hc_get(c, URL("sc-plus")), GOIO_HTTP_CACHE_NETWORK);
    hc_res_set_fail(g, 503);
    hc_clock_advance(20000);
    r = hc_get(c, URL("sc-plus"));
    assert_int_equal(r->status, 200);
    assert_null(goio_http_cache_response_get_header(r, "Surrogate-Control"));
    hc_expect(r, GOIO_HTTP_CACHE_STALE);
    hc_clock_advance(30000);
    r = hc_get(c, URL("sc-plus"));
    assert_int_equal(r->status, 503);
    hc_expect(r, GOIO_HTTP_CACHE_NETWORK);

    goio_http_cache_free(plain);
    goio_http_cache_free(c);

    /* only a shared cache, only a token */
    goio_http_cache *bad = NULL;
    cfg.shared = false;
    assert_int_equal(goio_http_cache_new(&cfg, &bad), GOIO_EINVAL);
    cfg.shared = true;
    cfg.surrogate_name = "a=b";
    assert_int_equal(goio_http_cache_new(&cfg, &bad), GOIO_EINVAL);
    cfg.surrogate_name = "";
    assert_int_equal(goio_http_cache_new(&cfg, &bad), GOIO_EINVAL);
    assert_null(bad);
}

/* no-cache="field": reused without the listed fields until revalidated
 * (RFC 9111 section 5.2.2.4); a request's no-cache="..." is no-cache. */
static void test_no_cache_fields(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("ncf");
    SET(r, cache_control, "max-age=60, no-cache=\"X-Secret, Content-Type\"");
    SET(r, etag, "\"n\"");
    SET(r, extra_name, "X-Secret");
    SET(r, extra_value, "s1");
    goio_http_cache *c = hc_client(NULL);
    goio_http_cache_response *resp = hc_get(c, URL("ncf"));
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Secret"),
                        "s1");
    hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    resp = hc_get(c, URL("ncf"));
    assert_null(goio_http_cache_response_get_header(resp, "X-Secret"));
    assert_null(goio_http_cache_response_get_header(resp, "Content-Type"));
    assert_non_null(goio_http_cache_response_get_header(resp, "ETag"));
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    /* after a revalidation the listed fields are served */
    resp = hc_get(c, URL("ncf"), "Cache-Control", "no-cache=\"x\"");
    assert_string_equal(goio_http_cache_response_get_header(resp, "X-Secret"),
                        "s1");
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    assert_int_equal(atomic_load(&r->hits), 2);
    goio_http_cache_free(c);
}

static void test_expires(void **state)
{
    (void)state;
    char date[64];
    hc_res *r = hc_res_add("e");
    hc_http_date(100, date);
    SET(r, expires, date);
    hc_res *zero = hc_res_add("e0");
    SET(zero, expires, "0");
    hc_res *both = hc_res_add("e-maxage");
    SET(both, expires, date);
    SET(both, cache_control, "max-age=5");
    goio_http_cache *c = hc_client(NULL);

    hc_expect(hc_get(c, URL("e")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(90000);
    hc_expect(hc_get(c, URL("e")), GOIO_HTTP_CACHE_HIT);
    hc_clock_advance(12000);
    hc_expect(hc_get(c, URL("e")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_reset();

    hc_expect(hc_get(c, URL("e0")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("e0")), GOIO_HTTP_CACHE_NETWORK);

    /* max-age wins over Expires */
    hc_expect(hc_get(c, URL("e-maxage")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(6500);
    hc_expect(hc_get(c, URL("e-maxage")), GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_free(c);
}

static void test_age_and_date(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("aged");
    SET(r, cache_control, "max-age=60");
    SET(r, age, "50");
    char date[64];
    hc_http_date(-30, date);
    hc_res *d = hc_res_add("dated");
    SET(d, cache_control, "max-age=60");
    SET(d, date, date);
    goio_http_cache *c = hc_client(NULL);

    hc_expect(hc_get(c, URL("aged")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("dated")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(5000);
    goio_http_cache_response *resp = hc_get(c, URL("aged"));
    const char *age = goio_http_cache_response_get_header(resp, "Age");
    assert_true(atoi(age) >= 55 && atoi(age) <= 56);
    hc_expect(resp, GOIO_HTTP_CACHE_HIT);
    hc_clock_advance(15000);
    hc_expect(hc_get(c, URL("dated")), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("aged")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(12000); /* Date was 30 s old: 62 s now */
    hc_expect(hc_get(c, URL("dated")), GOIO_HTTP_CACHE_NETWORK);
    goio_http_cache_free(c);
}

static void test_heuristic(void **state)
{
    (void)state;
    char lm[64], old[64];
    hc_http_date(-1000, lm);
    hc_http_date(-10 * 86400, old);
    hc_res *r = hc_res_add("h");
    SET(r, last_modified, lm);
    hc_res *capped = hc_res_add("h-cap");
    SET(capped, last_modified, old);
    hc_res *redirect = hc_res_add("h-302");
    redirect->status = 302;
    SET(redirect, last_modified, lm);
    hc_res *missing = hc_res_add("h-404");
    missing->status = 404;
    SET(missing, last_modified, lm);
    goio_http_cache_config cfg;
    hc_config(&cfg);
    cfg.heuristic_max_ms = 300000;
    goio_http_cache *c = hc_client(&cfg);

    for (int i = 0; i < 2; i++) {
        const char *names[] = {"h", "h-cap", "h-404"};
        for (int j = 0; j < 3; j++)
            hc_expect(hc_get(c, URL(names[j])),
                      i ? GOIO_HTTP_CACHE_HIT : GOIO_HTTP_CACHE_NETWORK);
        /* 302 is not heuristically cacheable */
        goio_http_cache_response *resp = hc_get(c, URL("h-302"));
        assert_int_equal(resp->status, 302);
        hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
    }
    /* 10% of 1000 s is 100 s; 10% of 10 days is capped at 300 s */
    hc_clock_advance(70000);
    hc_expect(hc_get(c, URL("h")), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("h-cap")), GOIO_HTTP_CACHE_HIT);
    hc_clock_advance(31000);
    goio_http_cache_response *resp = hc_get(c, URL("h"));
    assert_string_equal(hc_body(resp), "h #1");
    hc_expect(resp, GOIO_HTTP_CACHE_REVALIDATED);
    char ims[HC_STR];
    HC_RES_GET(r, last_ims, ims);
    assert_string_equal(ims, lm);
    assert_int_equal(atomic_load(&r->hits_304), 1);
    assert_int_equal(atomic_load(&r->hits), 2);
    hc_expect(hc_get(c, URL("h-cap")), GOIO_HTTP_CACHE_HIT);
    hc_clock_advance(200000);
    hc_expect(hc_get(c, URL("h-cap")), GOIO_HTTP_CACHE_REVALIDATED);
    goio_http_cache_free(c);
}

static void test_statuses(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int status;
        const char *cc;
        bool stored;
    } cases[] = {
        /* any final status with explicit freshness */
        {"st-500", 500, "max-age=60", true},
        {"st-503", 503, "max-age=60", true},
        {"st-201", 201, "max-age=60", true},
        {"st-599", 599, "max-age=60", true},
        {"st-599-mu", 599, "max-age=60, must-understand", false},
        {"st-500-plain", 500, "", false},
        {"st-299-public", 299, "public", false},
        {"st-302", 302, "max-age=60", true},
        {"st-307", 307, "max-age=60", true},
        {"st-301", 301, "max-age=60", true},
        {"st-404", 404, "max-age=60", true},
        {"st-410", 410, "max-age=60", true},
        {"st-204", 204, "max-age=60", true},
        {"st-301-plain", 301, "", false}, /* no LM, no validator: useless */
    };
    goio_http_cache *c = hc_client(NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hc_res *r = hc_res_add(cases[i].name);
        r->status = cases[i].status;
        SET(r, cache_control, cases[i].cc);
        SET(r, location, "/r/elsewhere");
        goio_http_cache_response *resp = hc_get(c, URL(cases[i].name));
        assert_int_equal(resp->status, cases[i].status);
        hc_expect(resp, GOIO_HTTP_CACHE_NETWORK);
        resp = hc_get(c, URL(cases[i].name));
        assert_int_equal(resp->status, cases[i].status);
        if (resp->served !=
            (cases[i].stored ? GOIO_HTTP_CACHE_HIT : GOIO_HTTP_CACHE_NETWORK))
            fail_msg("%s: served %s", cases[i].name,
                     goio_http_cache_served_name(resp->served));
        goio_http_cache_response_free(resp);
    }
    goio_http_cache_free(c);
}

/* An Age that is not one delta-seconds makes the response stale: it is
 * not served from storage (the conformance suite's age-parse tests). */
static void test_bad_age(void **state)
{
    (void)state;
    static const char *const ages[] = {"abc", "-7200", "7200.0", "0, 0",
                                       "7200;foo=bar"};
    goio_http_cache *c = hc_client(NULL);
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "age-%zu", i);
        hc_res *r = hc_res_add(name);
        SET(r, cache_control, "max-age=3600");
        SET(r, age, ages[i]);
        hc_expect(hc_get(c, URL(name)), GOIO_HTTP_CACHE_NETWORK);
        hc_expect(hc_get(c, URL(name)), GOIO_HTTP_CACHE_NETWORK);
        assert_int_equal(atomic_load(&r->hits), 2);
    }
    hc_res *ok = hc_res_add("age-ok");
    SET(ok, cache_control, "max-age=3600");
    SET(ok, age, " 10 ");
    hc_expect(hc_get(c, URL("age-ok")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("age-ok")), GOIO_HTTP_CACHE_HIT);
    goio_http_cache_free(c);
}

/* Against a real origin: a lenient Expires is used, "max-age =N" makes
 * the response stale. */
static void test_parsing_edges(void **state)
{
    (void)state;
    hc_res *e = hc_res_add("exp-lenient");
    SET(e, expires, "THU, 18 AUG 2050 2:01:18 utc");
    hc_res *m = hc_res_add("cc-space");
    SET(m, cache_control, "max-age =3600");
    goio_http_cache_config cfg = shared_cfg();
    goio_http_cache *c = hc_client(&cfg);
    hc_expect(hc_get(c, URL("exp-lenient")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("exp-lenient")), GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("cc-space")), GOIO_HTTP_CACHE_NETWORK);
    hc_expect(hc_get(c, URL("cc-space")), GOIO_HTTP_CACHE_NETWORK);
    assert_int_equal(atomic_load(&m->hits), 2);
    goio_http_cache_free(c);
}

static void test_request_directives(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("rd");
    SET(r, cache_control, "max-age=60");
    SET(r, etag, "\"rd1\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("rd")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(20000);

    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "max-age=30", NULL),
              GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "max-age=10", NULL),
              GOIO_HTTP_CACHE_REVALIDATED);
    char inm[HC_STR];
    HC_RES_GET(r, last_inm, inm);
    assert_string_equal(inm, "\"rd1\"");
    hc_clock_advance(20000); /* 20 s old after that revalidation */
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "min-fresh=30", NULL),
              GOIO_HTTP_CACHE_HIT);
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "min-fresh=50", NULL),
              GOIO_HTTP_CACHE_REVALIDATED);
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "no-cache", NULL),
              GOIO_HTTP_CACHE_REVALIDATED);
    hc_expect(hc_get(c, URL("rd"), "Pragma", "no-cache", NULL),
              GOIO_HTTP_CACHE_REVALIDATED);
    /* Pragma is ignored when Cache-Control is there */
    hc_expect(hc_get(c, URL("rd"), "Pragma", "no-cache", "Cache-Control",
                     "max-stale=0", NULL),
              GOIO_HTTP_CACHE_HIT);
    assert_int_equal(atomic_load(&r->hits_304), 4);

    /* max-stale: a stale response without asking the origin */
    hc_clock_advance(70000);
    int before = atomic_load(&r->hits);
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "max-stale=100", NULL),
              GOIO_HTTP_CACHE_STALE);
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "max-stale", NULL),
              GOIO_HTTP_CACHE_STALE);
    assert_int_equal(atomic_load(&r->hits), before);
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "max-stale=5", NULL),
              GOIO_HTTP_CACHE_REVALIDATED);

    /* only-if-cached */
    hc_res *never = hc_res_add("never");
    goio_http_cache_response *resp =
        hc_get(c, URL("never"), "Cache-Control", "only-if-cached", NULL);
    assert_int_equal(resp->status, 504);
    assert_int_equal(resp->body_len, 0);
    hc_expect(resp, GOIO_HTTP_CACHE_GENERATED);
    assert_int_equal(atomic_load(&never->hits), 0);
    hc_expect(hc_get(c, URL("rd"), "Cache-Control", "only-if-cached", NULL),
              GOIO_HTTP_CACHE_HIT);
    goio_http_cache_free(c);
}

/* must-revalidate forbids max-stale; no-cache responses revalidate on
 * every request. */
static void test_response_no_cache(void **state)
{
    (void)state;
    hc_res *r = hc_res_add("nc");
    SET(r, cache_control, "no-cache");
    SET(r, etag, "\"nc\"");
    hc_res *m = hc_res_add("mr");
    SET(m, cache_control, "max-age=10, must-revalidate");
    SET(m, etag, "\"mr\"");
    goio_http_cache *c = hc_client(NULL);
    hc_expect(hc_get(c, URL("nc")), GOIO_HTTP_CACHE_NETWORK);
    for (int i = 0; i < 3; i++)
        hc_expect(hc_get(c, URL("nc")), GOIO_HTTP_CACHE_REVALIDATED);
    assert_int_equal(atomic_load(&r->hits_304), 3);
    hc_expect(hc_get(c, URL("nc"), "Cache-Control", "max-stale", NULL),
              GOIO_HTTP_CACHE_REVALIDATED);

    hc_expect(hc_get(c, URL("mr")), GOIO_HTTP_CACHE_NETWORK);
    hc_clock_advance(15000);
    hc_expect(hc_get(c, URL("mr"), "Cache-Control", "max-stale", NULL),
              GOIO_HTTP_CACHE_REVALIDATED);
    goio_http_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_max_age, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_s_maxage, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_private, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_no_store, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_surrogate_control, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_no_cache_fields, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_expires, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_age_and_date, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_heuristic, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_statuses, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_bad_age, hc_setup, hc_teardown),
        cmocka_unit_test_setup_teardown(test_parsing_edges, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_request_directives, hc_setup,
                                        hc_teardown),
        cmocka_unit_test_setup_teardown(test_response_no_cache, hc_setup,
                                        hc_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
