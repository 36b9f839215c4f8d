/* SPDX-License-Identifier: MIT */
/*
 * The RFC 9111 rules and the stored byte format, tested as the pure
 * functions they are (private header): HTTP-dates, Cache-Control,
 * freshness lifetime and current_age, storability, stale allowances, the
 * entry and index formats (including every truncation and byte flip), Vary
 * names and values, the 304 merge and URL normalisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/http_cache/http_cache_int.h"
#include "test_util.h"

#define H(n, v)                                                                \
    (goio_http_cache_header)                                                   \
    {                                                                          \
        n, v                                                                   \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const goio__hc_policy private_policy = {false, 86400000, 0, 3600000};
static const goio__hc_policy shared_policy = {true, 86400000, 0, 3600000};

/* 1994-11-06 08:49:37 UTC, RFC 9110's example instant. */
#define EXAMPLE_S 784111777LL

static void fmt_date(int64_t ms, char out[64])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---- dates --------------------------------------------------------------- */

static void test_dates(void **state)
{
    (void)state;
    int64_t ms;
    assert_ok(goio__hc_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &ms));
    assert_int_equal(ms, EXAMPLE_S * 1000);
    assert_ok(goio__hc_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", &ms));
    assert_int_equal(ms, EXAMPLE_S * 1000);
    assert_ok(goio__hc_parse_date("Sun Nov  6 08:49:37 1994", &ms));
    assert_int_equal(ms, EXAMPLE_S * 1000);
    assert_ok(goio__hc_parse_date("  Thu, 29 Feb 2024 00:00:00 GMT ", &ms));
    assert_int_equal(ms, 1709164800000LL);
    assert_ok(goio__hc_parse_date("Thu, 01 Jan 1970 00:00:00 GMT", &ms));
    assert_int_equal(ms, 0);
    /* a two-digit year more than 50 years ahead is in the past */
    assert_ok(goio__hc_parse_date("Friday, 01-Jan-99 00:00:00 GMT", &ms));
    assert_int_equal(ms, 915148800000LL);
    static const char *const bad[] = {
        "0",
        "",
        "-1",
        "Sun, 06 Nov 1994 08:49:37 PST",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Wed, 29 Feb 2023 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sun Nov 6 08:49:37 1994",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Funday, 06-Nov-94 08:49:37 GMT",
        "1994-11-06T08:49:37Z",
    };
    for (size_t i = 0; i < COUNT(bad); i++)
        if (goio__hc_parse_date(bad[i], &ms) != GOIO_EBADMSG)
            fail_msg("'%s' parsed", bad[i]);
}

/* ---- Cache-Control ------------------------------------------------------- */

/* Whether a qualified no-cache="..." of h[0..n) names `name`. */
static bool no_cache_lists(const goio_http_cache_header *h, size_t n,
                           const char *name)
{
    goio__hc_name names[GOIO__HC_MAX_NO_CACHE_NAMES];
    size_t have =
        goio__hc_no_cache_names(h, n, names, GOIO__HC_MAX_NO_CACHE_NAMES);
    for (size_t i = 0; i < have && i < GOIO__HC_MAX_NO_CACHE_NAMES; i++)
        if (names[i].len == strlen(name) &&
            !strncasecmp(names[i].p, name, names[i].len))
            return true;
    return false;
}

static goio__hc_cc cc_of(const char *v1, const char *v2)
{
    goio_http_cache_header h[3] = {H("Content-Type", "x"),
                                   H("Cache-Control", v1),
                                   H("cache-control", v2 ? v2 : "")};
    goio__hc_cc cc;
    goio__hc_cc_parse(h, 3, &cc);
    return cc;
}

static void test_cache_control(void **state)
{
    (void)state;
    goio__hc_cc cc = cc_of("max-age=60, no-cache", NULL);
    assert_int_equal(cc.max_age, 60);
    assert_true(cc.flags & GOIO__HC_NO_CACHE);
    assert_false(cc.flags & GOIO__HC_NO_STORE);
    assert_int_equal(cc.s_maxage, GOIO__HC_ABSENT);

    cc = cc_of("MAX-AGE=5,PUBLIC", NULL);
    assert_int_equal(cc.max_age, 5);
    assert_true(cc.flags & GOIO__HC_PUBLIC);
    assert_int_equal(cc_of("max-age=\"7\"", NULL).max_age, 7);
    assert_int_equal(cc_of("max-age=abc", NULL).max_age, GOIO__HC_INVALID);
    assert_int_equal(cc_of("max-age", NULL).max_age, GOIO__HC_INVALID);
    assert_int_equal(cc_of("max-age=", NULL).max_age, GOIO__HC_INVALID);
    assert_int_equal(cc_of("max-age=-1", NULL).max_age, GOIO__HC_INVALID);
    /* the first occurrence counts, across fields too */
    assert_int_equal(cc_of("max-age=1, max-age=2", NULL).max_age, 1);
    assert_int_equal(cc_of("no-store", "max-age=3").max_age, 3);
    assert_true(cc_of("no-store", "max-age=3").flags & GOIO__HC_NO_STORE);
    /* delta-seconds saturate at 2^31 */
    assert_int_equal(cc_of("max-age=99999999999999999999", NULL).max_age,
                     GOIO__HC_DELTA_MAX);
    /* a quoted argument may hold commas */
    cc = cc_of("private=\"a, b\", max-age=3, no-cache=\"Set-Cookie\"", NULL);
    assert_true(cc.flags & GOIO__HC_PRIVATE);
    /* qualified no-cache: only the listed fields need validation */
    assert_false(cc.flags & GOIO__HC_NO_CACHE);
    assert_true(cc.flags & GOIO__HC_NO_CACHE_FIELDS);
    assert_int_equal(cc.max_age, 3);
    goio_http_cache_header nc[] = {
        {"Cache-Control", "max-age=3, no-cache=\"Set-Cookie, X-A\""},
        {"cache-control", "no-cache=x-b"}};
    assert_true(no_cache_lists(nc, 2, "set-cookie"));
    assert_true(no_cache_lists(nc, 2, "X-A"));
    assert_true(no_cache_lists(nc, 2, "X-B"));
    assert_false(no_cache_lists(nc, 2, "X"));
    assert_false(no_cache_lists(nc, 2, "max-age"));
    goio__hc_name one[1];
    assert_int_equal(goio__hc_no_cache_names(nc, 2, one, 1), 3);
    assert_int_equal(one[0].len, strlen("Set-Cookie"));
    assert_true(cc_of("no-cache", "no-cache=\"a\"").flags & GOIO__HC_NO_CACHE);
    cc = cc_of("max-stale", NULL);
    assert_int_equal(cc.max_stale, GOIO__HC_DELTA_MAX);
    assert_int_equal(cc_of("max-stale=5", NULL).max_stale, 5);
    cc = cc_of(" s-maxage=10 , stale-if-error=30,min-fresh=4 ", NULL);
    assert_int_equal(cc.s_maxage, 10);
    assert_int_equal(cc.stale_if_error, 30);
    assert_int_equal(cc.min_fresh, 4);
    cc = cc_of("foo=bar, x=\"y,z\", must-revalidate, proxy-revalidate, "
               "must-understand, only-if-cached",
               NULL);
    assert_int_equal(cc.flags,
                     GOIO__HC_MUST_REVALIDATE | GOIO__HC_PROXY_REVALIDATE |
                         GOIO__HC_MUST_UNDERSTAND | GOIO__HC_ONLY_IF_CACHED);
    cc = cc_of(",,, ,", NULL);
    assert_int_equal(cc.flags, 0);
    assert_int_equal(cc.max_age, GOIO__HC_ABSENT);
    /* unterminated quotes end at the end */
    cc = cc_of("x=\"never closed, max-age=5", NULL);
    assert_int_equal(cc.max_age, GOIO__HC_ABSENT);
}

/* ---- freshness ----------------------------------------------------------- */

static goio__hc_fresh fresh_of(const goio__hc_policy *p, int status,
                               const goio_http_cache_header *h, size_t n,
                               int64_t req_t, int64_t resp_t, int64_t now)
{
    goio__hc_fresh f;
    goio__hc_freshness(p, status, h, n, req_t, resp_t, now, &f);
    return f;
}

static void test_lifetime(void **state)
{
    (void)state;
    const int64_t t = EXAMPLE_S * 1000;
    char date[64], later[64], lm[64];
    fmt_date(t, date);
    fmt_date(t + 100000, later);
    fmt_date(t - 1000000, lm);

    goio_http_cache_header a[] = {H("Date", date),
                                  H("Cache-Control", "max-age=60")};
    goio__hc_fresh f = fresh_of(&private_policy, 200, a, 2, t, t, t + 30000);
    assert_int_equal(f.lifetime_ms, 60000);
    assert_int_equal(f.age_ms, 30000);
    assert_true(f.explicit_fresh);
    assert_false(f.validators);

    /* s-maxage only in a shared cache */
    goio_http_cache_header b[] = {H("Date", date),
                                  H("Cache-Control", "max-age=60, s-maxage=5")};
    assert_int_equal(fresh_of(&private_policy, 200, b, 2, t, t, t).lifetime_ms,
                     60000);
    assert_int_equal(fresh_of(&shared_policy, 200, b, 2, t, t, t).lifetime_ms,
                     5000);

    /* Expires - Date; max-age wins over Expires */
    goio_http_cache_header c[] = {H("Date", date), H("Expires", later),
                                  H("Last-Modified", lm)};
    f = fresh_of(&private_policy, 200, c, 3, t, t, t);
    assert_int_equal(f.lifetime_ms, 100000);
    assert_true(f.explicit_fresh);
    assert_true(f.validators);
    goio_http_cache_header d[] = {H("Date", date), H("Expires", later),
                                  H("Cache-Control", "max-age=1")};
    assert_int_equal(fresh_of(&private_policy, 200, d, 3, t, t, t).lifetime_ms,
                     1000);
    /* invalid Expires ("0") is in the past; invalid max-age is stale */
    goio_http_cache_header e[] = {H("Date", date), H("Expires", "0"),
                                  H("Last-Modified", lm)};
    f = fresh_of(&private_policy, 200, e, 3, t, t, t);
    assert_int_equal(f.lifetime_ms, 0);
    assert_true(f.explicit_fresh);
    goio_http_cache_header g[] = {H("Cache-Control", "max-age=x"),
                                  H("Last-Modified", lm)};
    assert_int_equal(fresh_of(&private_policy, 200, g, 2, t, t, t).lifetime_ms,
                     0);
}

static void test_heuristic(void **state)
{
    (void)state;
    const int64_t t = EXAMPLE_S * 1000;
    char date[64], lm[64], old[64];
    fmt_date(t, date);
    fmt_date(t - 1000000, lm);
    fmt_date(t - 10LL * 86400000, old);
    goio_http_cache_header a[] = {H("Date", date), H("Last-Modified", lm)};
    goio__hc_fresh f = fresh_of(&private_policy, 200, a, 2, t, t, t);
    assert_int_equal(f.lifetime_ms, 100000); /* 10% of 1000 s */
    assert_false(f.explicit_fresh);
    /* only for heuristically cacheable statuses, or public */
    assert_int_equal(fresh_of(&private_policy, 302, a, 2, t, t, t).lifetime_ms,
                     0);
    assert_int_equal(fresh_of(&private_policy, 404, a, 2, t, t, t).lifetime_ms,
                     100000);
    goio_http_cache_header b[] = {H("Date", date), H("Last-Modified", lm),
                                  H("Cache-Control", "public")};
    assert_int_equal(fresh_of(&private_policy, 302, b, 3, t, t, t).lifetime_ms,
                     100000);
    /* capped */
    goio_http_cache_header c[] = {H("Date", date), H("Last-Modified", old)};
    goio__hc_policy capped = private_policy;
    capped.heuristic_max_ms = 60000;
    assert_int_equal(fresh_of(&capped, 200, c, 2, t, t, t).lifetime_ms, 60000);
    assert_int_equal(fresh_of(&private_policy, 200, c, 2, t, t, t).lifetime_ms,
                     86400000);
    capped.heuristic_max_ms = 0;
    assert_int_equal(fresh_of(&capped, 200, c, 2, t, t, t).lifetime_ms, 0);
    /* never without Last-Modified, nor with an explicit expiry */
    goio_http_cache_header d[] = {H("Date", date)};
    assert_int_equal(fresh_of(&private_policy, 200, d, 1, t, t, t).lifetime_ms,
                     0);
    goio_http_cache_header e[] = {H("Date", date), H("Last-Modified", lm),
                                  H("Cache-Control", "max-age=0")};
    assert_int_equal(fresh_of(&private_policy, 200, e, 3, t, t, t).lifetime_ms,
                     0);
    /* a Last-Modified after Date gives nothing */
    goio_http_cache_header f2[] = {H("Date", lm), H("Last-Modified", date)};
    assert_int_equal(fresh_of(&private_policy, 200, f2, 2, t, t, t).lifetime_ms,
                     0);
}

/* Cache-Control: no whitespace around '='; Expires in the lenient forms
 * (conformance suite cc-parse and expires-parse). */
static void test_lenient_and_strict_parsing(void **state)
{
    (void)state;
    assert_int_equal(cc_of("max-age =5", NULL).max_age, GOIO__HC_INVALID);
    assert_int_equal(cc_of("max-age= 5", NULL).max_age, GOIO__HC_INVALID);
    assert_int_equal(cc_of("max-age=5 , public", NULL).max_age, 5);
    const int64_t t = EXAMPLE_S * 1000;
    static const char *const ok[] = {
        "THU, 18 AUG 2050 02:01:18 gMT", "Thu, 18 Aug 2050 02:01:18 UTC",
        "Thu 18 Aug 2050 02:01:18 GMT",  "Thu,  18 Aug  2050 02:01:18 GMT",
        "Thu, 18-Aug-2050 02:01:18 GMT", "Thu, 18 Aug 2050 02.01.18 GMT",
        "Thu, 18 Aug 2050 2:01:18 GMT",  "Thu, 18 Aug 50 02:01:18 AEST",
        "Sun 21 Nov 2286 04:46:39 GMT"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        goio_http_cache_header h[] = {H("Expires", ok[i])};
        if (fresh_of(&private_policy, 200, h, 1, t, t, t).lifetime_ms <= 0)
            fail_msg("%s: not read", ok[i]);
    }
    static const char *const bad[] = {"0",
                                      "Thu, 18 Aug 2050",
                                      "18 Aug 2050",
                                      "Thu, 31 Feb 2050 02:01:18 GMT",
                                      "Thu, 18 Aug 2050 25:01:18 GMT",
                                      "Thu, 18 Aug 2050 02:01:18 +0000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        goio_http_cache_header h[] = {H("Expires", bad[i])};
        if (fresh_of(&private_policy, 200, h, 1, t, t, t).lifetime_ms != 0)
            fail_msg("%s: read as a date", bad[i]);
    }
}

/* RFC 9111 section 4.2.3, worked through. */
static void test_current_age(void **state)
{
    (void)state;
    const int64_t t = EXAMPLE_S * 1000;
    char date[64];
    fmt_date(t - 10000, date);
    /* Date 10 s before the response arrived, Age 5, 2 s on the wire:
     * apparent_age 10, corrected_age_value 5 + 2 = 7, initial 10. */
    goio_http_cache_header a[] = {H("Date", date), H("Age", "5"),
                                  H("Cache-Control", "max-age=60")};
    goio__hc_fresh f =
        fresh_of(&private_policy, 200, a, 3, t - 2000, t, t + 20000);
    assert_int_equal(f.age_ms, 30000);
    /* Age beats the clocks when it is larger */
    goio_http_cache_header b[] = {H("Date", date), H("Age", "50")};
    f = fresh_of(&private_policy, 200, b, 2, t - 2000, t, t);
    assert_int_equal(f.age_ms, 52000);
    /* a Date in the future and a clock that went back count as 0 */
    fmt_date(t + 60000, date);
    goio_http_cache_header c[] = {H("Date", date)};
    f = fresh_of(&private_policy, 200, c, 1, t, t, t - 5000);
    assert_int_equal(f.age_ms, 0);
    /* an Age that is not one delta-seconds makes the response as old as
     * can be: invalid, signed, fractional, with a parameter, a list, two
     * lines (the conformance suite's age-parse tests) */
    static const char *const bad[] = {"x",    "-7200",  "7200.0", "7200;a=1",
                                      "0, 0", "0,7200", "\"5\"",  ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        goio_http_cache_header d[] = {H("Age", bad[i])};
        assert_int_equal(fresh_of(&private_policy, 200, d, 1, t, t, t).age_ms,
                         INT64_MAX);
    }
    goio_http_cache_header e[] = {H("Age", " 7 "), H("X", "1")};
    assert_int_equal(fresh_of(&private_policy, 200, e, 2, t, t, t).age_ms,
                     7000);
    goio_http_cache_header e2[] = {H("Age", "0"), H("age", "0")};
    assert_int_equal(fresh_of(&private_policy, 200, e2, 2, t, t, t).age_ms,
                     INT64_MAX);
    /* without Date, response_time stands in */
    goio_http_cache_header g[] = {H("Cache-Control", "max-age=60")};
    assert_int_equal(fresh_of(&private_policy, 200, g, 1, t, t, t + 1).age_ms,
                     1);
}

/*
 * The times of a stored entry are bytes from storage (a shared Redis any
 * process writes to), so they can be anything. Found by
 * fuzz/http_cache_entry: the age and lifetime arithmetic overflowed
 * (undefined behaviour; in practice a wrapped age made a response stored
 * "in the distant past" fresh again). They saturate now.
 */
static void test_extreme_times(void **state)
{
    (void)state;
    const int64_t t = EXAMPLE_S * 1000;
    char date[64];
    fmt_date(t, date);
    goio__hc_cc none = cc_of("", NULL);
    /* received at the start of time: as old as can be, never fresh */
    goio_http_cache_header a[] = {H("Cache-Control", "max-age=60")};
    goio__hc_fresh f =
        fresh_of(&private_policy, 200, a, 1, INT64_MIN, INT64_MIN, t);
    assert_int_equal(f.age_ms, INT64_MAX);
    assert_false(goio__hc_usable_fresh(&f, &none, false));
    assert_true(goio__hc_keep_ms(&private_policy, &f) <= 0);
    /* requested at the start of time, received at its end */
    goio_http_cache_header b[] = {H("Date", date), H("Age", "2147483648"),
                                  H("Cache-Control", "max-age=60")};
    f = fresh_of(&private_policy, 200, b, 3, INT64_MIN, INT64_MAX, t);
    assert_int_equal(f.age_ms, INT64_MAX);
    assert_false(goio__hc_usable_fresh(&f, &none, false));
    /* Expires against a response time standing in for Date */
    goio_http_cache_header c[] = {H("Expires", date)};
    f = fresh_of(&private_policy, 200, c, 1, INT64_MIN, INT64_MIN, t);
    assert_int_equal(f.lifetime_ms, INT64_MAX);
    assert_false(goio__hc_usable_fresh(&f, &none, false));
    /* heuristic freshness from a Last-Modified before 1970 */
    goio_http_cache_header d[] = {
        H("Last-Modified", "Mon, 01 Jan 1601 00:00:00 GMT")};
    f = fresh_of(&private_policy, 200, d, 1, INT64_MAX, INT64_MAX, t);
    assert_int_equal(f.lifetime_ms, private_policy.heuristic_max_ms);
    assert_int_equal(f.age_ms, 0);
}

static goio__hc_cc req_cc(const char *v)
{
    return cc_of(v, NULL);
}

static void test_usable(void **state)
{
    (void)state;
    goio__hc_fresh f = {.lifetime_ms = 60000, .age_ms = 20000};
    goio__hc_cc_parse(NULL, 0, &f.cc);
    goio__hc_cc none = req_cc("");
    assert_true(goio__hc_usable_fresh(&f, &none, false));
    assert_false(goio__hc_usable_fresh(&f, &none, true));
    goio__hc_cc r = req_cc("max-age=19");
    assert_false(goio__hc_usable_fresh(&f, &r, false));
    r = req_cc("max-age=20");
    assert_true(goio__hc_usable_fresh(&f, &r, false));
    r = req_cc("max-age=0");
    assert_false(goio__hc_usable_fresh(&f, &r, false));
    r = req_cc("min-fresh=41");
    assert_false(goio__hc_usable_fresh(&f, &r, false));
    r = req_cc("min-fresh=40");
    assert_true(goio__hc_usable_fresh(&f, &r, false));
    f.cc.flags = GOIO__HC_NO_CACHE;
    assert_false(goio__hc_usable_fresh(&f, &none, false));
    f.cc.flags = 0;
    f.age_ms = 60000;
    assert_false(goio__hc_usable_fresh(&f, &none, false));

    /* stale by 10 s */
    f.age_ms = 70000;
    r = req_cc("max-stale=9");
    assert_false(goio__hc_max_stale_ok(&private_policy, &f, &r));
    r = req_cc("max-stale=10");
    assert_true(goio__hc_max_stale_ok(&private_policy, &f, &r));
    r = req_cc("max-stale");
    assert_true(goio__hc_max_stale_ok(&private_policy, &f, &r));
    assert_false(goio__hc_max_stale_ok(&private_policy, &f, &none));
    f.cc.flags = GOIO__HC_MUST_REVALIDATE;
    assert_false(goio__hc_max_stale_ok(&private_policy, &f, &r));
}

static void test_stale_if_error(void **state)
{
    (void)state;
    goio__hc_fresh f = {.lifetime_ms = 60000, .age_ms = 90000};
    goio__hc_cc_parse(NULL, 0, &f.cc);
    goio__hc_cc none = req_cc("");
    /* nothing allows it */
    assert_false(goio__hc_stale_if_error_ok(&private_policy, &f, &none));
    /* the response's window */
    f.cc.stale_if_error = 30;
    assert_true(goio__hc_stale_if_error_ok(&private_policy, &f, &none));
    f.cc.stale_if_error = 29;
    assert_false(goio__hc_stale_if_error_ok(&private_policy, &f, &none));
    /* the request's */
    goio__hc_cc r = req_cc("stale-if-error=31");
    assert_true(goio__hc_stale_if_error_ok(&private_policy, &f, &r));
    /* the config's */
    goio__hc_policy p = private_policy;
    p.stale_if_error_ms = 30000;
    assert_true(goio__hc_stale_if_error_ok(&p, &f, &none));
    /* prohibitions */
    f.cc.flags = GOIO__HC_MUST_REVALIDATE;
    assert_false(goio__hc_stale_if_error_ok(&p, &f, &r));
    f.cc.flags = GOIO__HC_NO_CACHE;
    assert_false(goio__hc_stale_if_error_ok(&p, &f, &r));
    f.cc.flags = GOIO__HC_PROXY_REVALIDATE;
    assert_true(goio__hc_stale_if_error_ok(&p, &f, &r));
    goio__hc_policy ps = shared_policy;
    ps.stale_if_error_ms = 30000;
    assert_false(goio__hc_stale_if_error_ok(&ps, &f, &r));
    f.cc.flags = 0;
    f.cc.s_maxage = 60;
    assert_false(goio__hc_stale_if_error_ok(&ps, &f, &r));
    assert_true(goio__hc_stale_if_error_ok(&p, &f, &r));
}

static bool storable(const goio__hc_policy *p, const char *req, bool auth,
                     int status, const char *res_cc)
{
    goio_http_cache_header h[] = {H("Cache-Control", res_cc)};
    goio__hc_fresh f;
    goio__hc_freshness(p, status, h, 1, 0, 0, 0, &f);
    goio__hc_cc rq = req_cc(req);
    return goio__hc_storable(p, &rq, auth, status, &f);
}

static void test_storable(void **state)
{
    (void)state;
    const goio__hc_policy *pp = &private_policy, *sp = &shared_policy;
    assert_true(storable(pp, "", false, 200, ""));
    assert_true(storable(pp, "", false, 404, ""));
    assert_true(storable(pp, "", false, 501, ""));
    assert_false(storable(pp, "", false, 302, ""));
    assert_true(storable(pp, "", false, 302, "max-age=5"));
    assert_true(storable(pp, "", false, 307, "public"));
    /* any final status with explicit freshness (RFC 9111 section 3) */
    assert_true(storable(pp, "", false, 500, "max-age=60"));
    assert_true(storable(pp, "", false, 503, "max-age=60"));
    assert_true(storable(pp, "", false, 201, "max-age=60"));
    assert_true(storable(sp, "", false, 599, "s-maxage=60"));
    assert_false(storable(pp, "", false, 500, ""));
    assert_false(storable(pp, "", false, 299, "public"));
    assert_false(storable(pp, "", false, 599, "max-age=60, must-understand"));
    assert_false(storable(pp, "", false, 206, "max-age=60"));
    assert_false(storable(pp, "", false, 304, "max-age=60"));
    assert_false(storable(pp, "", false, 103, "max-age=60"));
    assert_false(storable(pp, "", false, 200, "no-store"));
    assert_false(storable(pp, "no-store", false, 200, "max-age=60"));
    assert_true(storable(pp, "", false, 200, "no-store, must-understand"));
    assert_false(
        storable(pp, "no-store", false, 200, "no-store, must-understand"));
    assert_true(storable(pp, "", false, 200, "private"));
    assert_false(storable(sp, "", false, 200, "private, max-age=60"));
    /* Authorization in a shared cache */
    assert_true(storable(pp, "", true, 200, "max-age=60"));
    assert_false(storable(sp, "", true, 200, "max-age=60"));
    assert_true(storable(sp, "", true, 200, "max-age=60, public"));
    assert_true(storable(sp, "", true, 200, "must-revalidate"));
    assert_true(storable(sp, "", true, 200, "s-maxage=5"));
}

static void test_keep(void **state)
{
    (void)state;
    goio__hc_fresh f = {.lifetime_ms = 60000, .age_ms = 20000};
    goio__hc_cc_parse(NULL, 0, &f.cc);
    /* no validator: the rest of its freshness */
    assert_int_equal(goio__hc_keep_ms(&private_policy, &f), 40000);
    /* plus a stale-if-error window */
    f.cc.stale_if_error = 100;
    assert_int_equal(goio__hc_keep_ms(&private_policy, &f), 140000);
    f.cc.flags = GOIO__HC_MUST_REVALIDATE;
    assert_int_equal(goio__hc_keep_ms(&private_policy, &f), 40000);
    f.cc.flags = GOIO__HC_NO_CACHE;
    assert_int_equal(goio__hc_keep_ms(&private_policy, &f), 0);
    /* with a validator: the whole max age */
    f.validators = true;
    assert_int_equal(goio__hc_keep_ms(&private_policy, &f), 3600000);
    /* never past the max age */
    f.validators = false;
    f.cc.flags = 0;
    f.lifetime_ms = 10LL * 3600000;
    assert_int_equal(goio__hc_keep_ms(&private_policy, &f), 3600000);
    /* stale without anything: nothing to keep */
    f.lifetime_ms = 1000;
    f.cc.stale_if_error = GOIO__HC_ABSENT;
    assert_int_equal(goio__hc_keep_ms(&private_policy, &f), 0);
    /* kept for max-stale, and for a stale-while-revalidate window */
    goio__hc_policy keep = private_policy;
    keep.max_stale_keep_ms = 30000;
    f.age_ms = 0;
    assert_int_equal(goio__hc_keep_ms(&keep, &f), 31000);
    f.cc.stale_while_revalidate = 100;
    assert_int_equal(goio__hc_keep_ms(&keep, &f), 101000);
    f.cc.flags = GOIO__HC_MUST_REVALIDATE;
    assert_int_equal(goio__hc_keep_ms(&keep, &f), 1000);
}

/* ---- entries ------------------------------------------------------------- */

static const goio_http_cache_header entry_headers[] = {
    H("Content-Type", "text/plain"),
    H("Connection", "close, X-Hop"),
    H("X-Hop", "1"),
    H("Transfer-Encoding", "chunked"),
    H("ETag", "\"v1\""),
    H("X-Empty", ""),
    H("Keep-Alive", "timeout=5"),
};
static const goio_http_cache_header entry_vary[] = {
    H("accept-language", "fr, de"), H("accept-encoding", NULL)};

static void encode_sample(goio_buf *b)
{
    goio__hc_entry_in in = {.status = 203,
                            .request_time_ms = 1000,
                            .response_time_ms = 2000,
                            .url = "http://h/x",
                            .vary = entry_vary,
                            .nvary = 2,
                            .headers = entry_headers,
                            .nheaders = COUNT(entry_headers),
                            .body = "hello\0world",
                            .body_len = 11};
    assert_ok(goio__hc_entry_encode(b, &in));
}

static void test_entry_roundtrip(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    encode_sample(&b);
    assert_int_equal(goio__hc_entry_kind(b.data, b.len), 'R');
    goio__hc_view v;
    assert_ok(goio__hc_entry_decode(b.data, b.len, &v));
    assert_int_equal(v.status, 203);
    assert_int_equal(v.request_time_ms, 1000);
    assert_int_equal(v.response_time_ms, 2000);
    assert_string_equal(v.url, "http://h/x");
    assert_int_equal(v.nvary, 2);
    assert_string_equal(v.vary[0].name, "accept-language");
    assert_string_equal(v.vary[0].value, "fr, de");
    assert_null(v.vary[1].value);
    /* hop-by-hop fields (fixed and Connection-listed) are left out */
    assert_int_equal(v.nheaders, 3);
    assert_string_equal(v.headers[0].name, "Content-Type");
    assert_string_equal(v.headers[1].value, "\"v1\"");
    assert_string_equal(v.headers[2].name, "X-Empty");
    assert_string_equal(v.headers[2].value, "");
    assert_int_equal(v.body_len, 11);
    assert_memory_equal(v.body, "hello\0world", 11);
    goio__hc_view_free(&v);
    goio_buf_deinit(&b);
}

/* The documented version-1 layout, byte by byte. */
static void test_entry_format(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {
        0xE8, 0x48, 0x01, 'R',                          /* magic, v1, kind */
        0xC8, 0x00, 0x00, 0x00,                         /* 200, flags */
        0x01, 0,    0,    0,    0,    0,    0,    0,    /* request_time 1 */
        0x02, 0,    0,    0,    0,    0,    0,    0,    /* response_time 2 */
        0x03, 0,    0,    0,    'h',  ':',  '/',  0,    /* URL "h:/" */
        0x01, 0,    0,    0,                            /* one Vary'd field */
        0x01, 0x00, 'a',  0,    0xFF, 0xFF, 0xFF, 0xFF, /* "a", absent */
        0x01, 0,    0,    0,                            /* one header field */
        0x01, 0x00, 0x02, 0,    0,    0,    'X',  0,
        'y',  'z',  0, /* X: yz */
        0x03, 0,    0,    0,    0,    0,    0,    0,
        'a',  'b',  'c'}; /* body "abc" */
    goio__hc_view v;
    assert_ok(goio__hc_entry_decode(bytes, sizeof bytes, &v));
    assert_int_equal(v.status, 200);
    assert_int_equal(v.request_time_ms, 1);
    assert_int_equal(v.response_time_ms, 2);
    assert_string_equal(v.url, "h:/");
    assert_int_equal(v.nvary, 1);
    assert_string_equal(v.vary[0].name, "a");
    assert_null(v.vary[0].value);
    assert_int_equal(v.nheaders, 1);
    assert_string_equal(v.headers[0].name, "X");
    assert_string_equal(v.headers[0].value, "yz");
    assert_int_equal(v.body_len, 3);
    assert_memory_equal(v.body, "abc", 3);
    goio__hc_view_free(&v);
    /* and goio writes exactly these bytes */
    goio_http_cache_header vary[] = {H("a", NULL)}, hdr[] = {H("X", "yz")};
    goio__hc_entry_in in = {200, 1, 2, "h:/", vary, 1, hdr, 1, "abc", 3};
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio__hc_entry_encode(&b, &in));
    assert_int_equal(b.len, sizeof bytes);
    assert_memory_equal(b.data, bytes, sizeof bytes);
    goio_buf_deinit(&b);
}

/* Every truncation, a trailing byte and every single-byte change: decode
 * either rejects with GOIO_EBADMSG or returns a view inside the bytes. */
static void test_entry_corrupt(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    encode_sample(&b);
    goio__hc_view v;
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *cut = malloc(n + 1);
        memcpy(cut, b.data, n);
        assert_int_equal(goio__hc_entry_decode(cut, n, &v), GOIO_EBADMSG);
        free(cut);
    }
    uint8_t *more = malloc(b.len + 1);
    memcpy(more, b.data, b.len);
    more[b.len] = 0;
    assert_int_equal(goio__hc_entry_decode(more, b.len + 1, &v), GOIO_EBADMSG);
    free(more);
    uint8_t *copy = malloc(b.len);
    static const uint8_t flips[] = {0x01, 0x80, 0xFF};
    for (size_t i = 0; i < b.len; i++) {
        for (size_t j = 0; j < COUNT(flips); j++) {
            memcpy(copy, b.data, b.len);
            copy[i] ^= flips[j];
            int rc = goio__hc_entry_decode(copy, b.len, &v);
            if (rc == 0) {
                assert_true(v.body >= copy &&
                            v.body + v.body_len <= copy + b.len);
                for (size_t k = 0; k < v.nheaders; k++)
                    assert_true(strlen(v.headers[k].name) < b.len);
                goio__hc_view_free(&v);
            } else {
                assert_int_equal(rc, GOIO_EBADMSG);
            }
        }
    }
    free(copy);
    /* other versions and kinds */
    b.data[2] = 2;
    assert_int_equal(goio__hc_entry_decode(b.data, b.len, &v), GOIO_EBADMSG);
    assert_int_equal(goio__hc_entry_kind(b.data, b.len), 0);
    b.data[2] = 1;
    b.data[3] = 'V';
    assert_int_equal(goio__hc_entry_decode(b.data, b.len, &v), GOIO_EBADMSG);
    goio_buf_deinit(&b);
}

/* A response entry whose body lives apart, and the body entry. */
static void test_body_apart(void **state)
{
    (void)state;
    goio_http_cache_header hdr[] = {H("ETag", "\"x\"")};
    goio__hc_entry_in in = {.status = 200,
                            .url = "http://h/",
                            .headers = hdr,
                            .nheaders = 1,
                            .body_len = 5,
                            .body_ref = true,
                            .body_id = 0xABCDEF0123456789ULL};
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio__hc_entry_encode(&b, &in));
    assert_int_equal(b.data[6], GOIO__HC_FLAG_BODY_REF);
    goio__hc_view v;
    assert_ok(goio__hc_entry_decode(b.data, b.len, &v));
    assert_true(v.body_ref);
    assert_null(v.body);
    assert_int_equal(v.body_len, 5);
    assert_true(v.body_id == 0xABCDEF0123456789ULL);
    goio__hc_view_free(&v);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(goio__hc_entry_decode(b.data, n, &v), GOIO_EBADMSG);
    /* unknown flags are refused */
    b.data[6] |= 0x02;
    assert_int_equal(goio__hc_entry_decode(b.data, b.len, &v), GOIO_EBADMSG);
    goio_buf_deinit(&b);

    goio_buf body = GOIO_BUF_INIT;
    assert_ok(goio_buf_append(&body, "hello", 5));
    assert_ok(goio__hc_body_seal(&body, in.body_id));
    assert_int_equal(body.len, 5 + GOIO__HC_BODY_TRAILER);
    static const uint8_t tail[] = {0xE8, 0x48, 0x01, 'B'};
    assert_memory_equal(body.data + body.len - 4, tail, 4);
    assert_true(goio__hc_body_check(body.data, body.len, in.body_id, 5));
    assert_false(goio__hc_body_check(body.data, body.len, in.body_id + 1, 5));
    assert_false(goio__hc_body_check(body.data, body.len, in.body_id, 4));
    assert_false(goio__hc_body_check(body.data, body.len - 1, in.body_id, 5));
    assert_false(goio__hc_body_check(body.data, 3, in.body_id, 5));
    body.data[body.len - 1] = 'R';
    assert_false(goio__hc_body_check(body.data, body.len, in.body_id, 5));
    goio_buf_deinit(&body);
}

static void test_index(void **state)
{
    (void)state;
    const char *names[] = {"accept", "accept-language"};
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio__hc_index_encode(&b, 0x1122334455667788ULL, "http://h/",
                                    names, 2));
    assert_int_equal(goio__hc_entry_kind(b.data, b.len), 'V');
    goio__hc_index ix;
    assert_ok(goio__hc_index_decode(b.data, b.len, &ix));
    assert_true(ix.generation == 0x1122334455667788ULL);
    assert_string_equal(ix.url, "http://h/");
    assert_int_equal(ix.nnames, 2);
    assert_string_equal(ix.names[1], "accept-language");
    goio__hc_index_free(&ix);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(goio__hc_index_decode(b.data, n, &ix), GOIO_EBADMSG);
    goio__hc_view v;
    assert_int_equal(goio__hc_entry_decode(b.data, b.len, &v), GOIO_EBADMSG);
    goio_buf_deinit(&b);
}

/* ---- Vary, merging, validators ------------------------------------------- */

static void test_vary(void **state)
{
    (void)state;
    goio_http_cache_header h[] = {H("Vary", "Accept-Language, accept-encoding"),
                                  H("X", "y"), H("VARY", " ACCEPT ,,")};
    char **names;
    size_t n;
    bool star;
    assert_ok(goio__hc_vary_names(h, 3, &names, &n, &star));
    assert_false(star);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "accept");
    assert_string_equal(names[1], "accept-encoding");
    assert_string_equal(names[2], "accept-language");
    goio__hc_names_free(names, n);
    goio_http_cache_header s[] = {H("Vary", "Accept, *")};
    assert_ok(goio__hc_vary_names(s, 1, &names, &n, &star));
    assert_true(star);
    goio__hc_names_free(names, n);

    goio_http_cache_header req[] = {H("Accept", " a/b "), H("X", "1"),
                                    H("accept", "c/d"), H("Y", "")};
    goio_buf v = GOIO_BUF_INIT;
    bool present;
    assert_ok(goio__hc_request_value(req, 4, "accept", &v, &present));
    assert_true(present);
    assert_string_equal(goio_buf_cstr(&v), "a/b, c/d");
    assert_ok(goio__hc_request_value(req, 4, "y", &v, &present));
    assert_true(present);
    assert_string_equal(goio_buf_cstr(&v), "");
    assert_ok(goio__hc_request_value(req, 4, "z", &v, &present));
    assert_false(present);
    goio_buf_deinit(&v);
}

static void test_merge_304(void **state)
{
    (void)state;
    goio_http_cache_header stored[] = {H("Content-Type", "text/plain"),
                                       H("Content-Length", "5"),
                                       H("ETag", "\"a\""),
                                       H("Age", "5"),
                                       H("X-A", "1"),
                                       H("X-A", "2"),
                                       H("X-Keep", "k")};
    goio_http_cache_header fresh[] = {H("ETag", "\"a\""),
                                      H("X-A", "3"),
                                      H("Content-Length", "0"),
                                      H("Connection", "X-Hop"),
                                      H("X-Hop", "1"),
                                      H("Cache-Control", "max-age=5"),
                                      H("Transfer-Encoding", "x"),
                                      H("Date", "d")};
    goio__hc_hlist out = {0};
    assert_ok(
        goio__hc_merge_304(stored, COUNT(stored), fresh, COUNT(fresh), &out));
    const char *want[][2] = {{"Content-Type", "text/plain"},
                             {"Content-Length", "5"},
                             {"X-Keep", "k"},
                             {"ETag", "\"a\""},
                             {"X-A", "3"},
                             {"Cache-Control", "max-age=5"},
                             {"Date", "d"}};
    assert_int_equal(out.n, COUNT(want));
    for (size_t i = 0; i < COUNT(want); i++) {
        assert_string_equal(out.v[i].name, want[i][0]);
        assert_string_equal(out.v[i].value, want[i][1]);
    }
    goio__hc_hlist_free(&out);
}

static void test_etag(void **state)
{
    (void)state;
    assert_true(goio__hc_etag_weak_eq("\"a\"", "\"a\""));
    assert_true(goio__hc_etag_weak_eq("W/\"a\"", "\"a\""));
    assert_true(goio__hc_etag_weak_eq("W/\"a\"", " W/\"a\" "));
    assert_false(goio__hc_etag_weak_eq("\"a\"", "\"b\""));
    assert_false(goio__hc_etag_weak_eq("\"a\"", NULL));
}

/* ---- URLs ---------------------------------------------------------------- */

static void expect_url(const char *in, const char *want)
{
    char *out = NULL;
    int rc = goio__hc_url_normalize(in, &out);
    if (!want) {
        assert_int_equal(rc, GOIO_EINVAL);
        assert_null(out);
        return;
    }
    assert_ok(rc);
    assert_string_equal(out, want);
    goio_free(out);
}

static void test_urls(void **state)
{
    (void)state;
    expect_url("HTTP://Example.COM:80/a?b=C#frag", "http://example.com/a?b=C");
    expect_url("http://h", "http://h/");
    expect_url("https://h:443/x", "https://h/x");
    expect_url("http://h:8080/x", "http://h:8080/x");
    expect_url("ftp://h/x", NULL);
    expect_url("file:///etc/passwd", NULL);
    expect_url("not a url", NULL);
    expect_url("/relative", NULL);

    char *out;
    assert_ok(goio__hc_url_same_origin("http://h:8080/x/y", "/z", &out));
    assert_string_equal(out, "http://h:8080/z");
    goio_free(out);
    assert_ok(goio__hc_url_same_origin("http://h:8080/x/y", "w", &out));
    assert_string_equal(out, "http://h:8080/x/w");
    goio_free(out);
    assert_ok(goio__hc_url_same_origin("http://h/x", "HTTP://H:80/q", &out));
    assert_string_equal(out, "http://h/q");
    goio_free(out);
    assert_ok(
        goio__hc_url_same_origin("http://h:8080/x", "http://h:8081/x", &out));
    assert_null(out);
    assert_ok(goio__hc_url_same_origin("http://h/x", "https://h/x", &out));
    assert_null(out);
    assert_ok(goio__hc_url_same_origin("http://h/x", "http://g/x", &out));
    assert_null(out);
}

/* The shortcut for URLs already in normal form gives what libcurl's
 * parser gives, and leaves everything unusual to the parser. */
static void test_url_shortcut(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "http://h/",
        "http://h",
        "http://h?q",
        "http://h.",
        "http://example.com/a/b?c=d&e=/./f",
        "http://h-1.example.com:8080/p?q=/../x",
        "https://h:443/",
        "https://h:8443/x",
        "http://h:80/",
        "http://h:080/",
        "http://h:0/",
        "http://h:65536/",
        "http://127.0.0.1:8080/r/a",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://01.2.3.4/",
        "http://256.1.1.1/",
        "http://1.2.3/",
        "http://A/",
        "http://h/a/../b",
        "http://h/./",
        "http://h/x/..",
        "http://h/x/.",
        "http://h/.hidden",
        "http://h/..x/...",
        "http://h/a?x#f",
        "http://user@h/",
        "http://[::1]:8080/x",
        "http://h/%41%2f",
        "http://h/a b",
        "http://h/a\\b",
        "http://h/caf\xc3\xa9",
        "http://h//double//slash",
        "HTTP://h/",
        "http:/h/",
        "http:///x",
    };
    for (size_t i = 0; i < COUNT(urls); i++) {
        char *fast = NULL, *slow = NULL;
        int a = goio__hc_url_normalize(urls[i], &fast);
        int b = goio__hc_url_parse(urls[i], &slow);
        if (a != b || (fast && strcmp(fast, slow)))
            fail_msg("'%s': %s '%s' vs the parser's %s '%s'", urls[i],
                     goio_err_name(a), fast ? fast : "", goio_err_name(b),
                     slow ? slow : "");
        goio_free(fast);
        goio_free(slow);
    }
    assert_true(goio__hc_url_is_normal("http://127.0.0.1:8080/r/a"));
    assert_true(goio__hc_url_is_normal("https://example.com/a?b=c"));
    assert_false(goio__hc_url_is_normal("http://127.1/"));
    assert_false(goio__hc_url_is_normal("http://h:80/"));
    assert_false(goio__hc_url_is_normal("http://h/a#f"));
    assert_false(goio__hc_url_is_normal("http://h"));
}

static void test_surrogate_parse(void **state)
{
    (void)state;
    const int64_t t = EXAMPLE_S * 1000;
    goio__hc_policy sp = shared_policy;
    sp.surrogate = "me";
    /* a quoted content value with commas and ';' does not end the list */
    goio_http_cache_header a[] = {
        H("Cache-Control", "private, max-age=5"),
        H("Surrogate-Control",
          "content=\"ESI/1.0, x;y\";me, max-age=30+20;other"),
        H("Surrogate-Control", "MaX-aGe=60+10;me, no-store")};
    goio__hc_fresh f = fresh_of(&sp, 200, a, 3, t, t, t);
    assert_true(f.surrogate);
    assert_false(f.surrogate_no_store);
    assert_int_equal(f.lifetime_ms, 60000);
    assert_int_equal(f.cc.stale_if_error, 10);
    assert_int_equal(f.cc.flags, 0); /* private no longer counts */
    goio__hc_cc req;
    goio__hc_cc_parse(NULL, 0, &req);
    assert_true(goio__hc_storable(&sp, &req, false, 200, &f));
    /* without the targeted ones, the untargeted no-store */
    f = fresh_of(&sp, 200, a, 2, t, t, t);
    assert_false(f.surrogate);
    assert_int_equal(f.lifetime_ms, 5000);
    goio_http_cache_header b[] = {H("Surrogate-Control", "no-store")};
    f = fresh_of(&sp, 200, b, 1, t, t, t);
    assert_true(f.surrogate_no_store);
    assert_false(goio__hc_storable(&sp, &req, false, 200, &f));
    /* invalid or saturated max-age */
    goio_http_cache_header c[] = {H("Cache-Control", "max-age=7"),
                                  H("Surrogate-Control", "max-age= 9")};
    assert_int_equal(fresh_of(&sp, 200, c, 2, t, t, t).lifetime_ms, 7000);
    goio_http_cache_header d[] = {
        H("Surrogate-Control", "max-age=99999999999")};
    assert_int_equal(fresh_of(&sp, 200, d, 1, t, t, t).lifetime_ms,
                     GOIO__HC_DELTA_MAX * 1000);
    /* not a surrogate: nothing read */
    assert_false(fresh_of(&shared_policy, 200, b, 1, t, t, t).surrogate);
    assert_true(goio__hc_consumed_field(&sp, "surrogate-control"));
    assert_false(goio__hc_consumed_field(&shared_policy, "Surrogate-Control"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenient_and_strict_parsing),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_cache_control),
        cmocka_unit_test(test_lifetime),
        cmocka_unit_test(test_surrogate_parse),
        cmocka_unit_test(test_heuristic),
        cmocka_unit_test(test_current_age),
        cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_usable),
        cmocka_unit_test(test_stale_if_error),
        cmocka_unit_test(test_storable),
        cmocka_unit_test(test_keep),
        cmocka_unit_test(test_entry_roundtrip),
        cmocka_unit_test(test_entry_format),
        cmocka_unit_test(test_entry_corrupt),
        cmocka_unit_test(test_body_apart),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_vary),
        cmocka_unit_test(test_merge_304),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_url_shortcut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
