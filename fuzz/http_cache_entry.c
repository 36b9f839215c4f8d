/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what http_cache reads back from its storage (any
 * goio_cache, e.g. a shared Redis another process writes to) and the
 * header parsers its RFC 9111 policy runs on what origins send
 * (src/http_cache/http_cache_int.h). Each input is read three ways:
 *  - as a stored response entry: decoded, then run through everything
 *    the client does with a decoded entry (freshness at a fixed "now",
 *    stale rules, storability, Vary names, the 304 merge, the Age field),
 *    and re-encoded: without hop-by-hop fields the encoding must give the
 *    input back byte for byte;
 *  - as a Vary index and as a body entry (the index re-encodes to the
 *    input);
 *  - as a response: 8 bytes request time, 8 bytes response time, 2 bytes
 *    status (little-endian), then "name: value" lines, whose freshness is
 *    worked out the same way; each line's value also goes to the
 *    Cache-Control and HTTP-date parsers, whose results are checked
 *    (delta-seconds in range, a parsed date formats back to itself).
 * A crash, a sanitizer report or a broken property (abort) is a bug.
 */
#include "fuzz_util.h"
#include "../src/http_cache/http_cache_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A fixed wall clock, so runs are deterministic (2023-11-14). */
#define NOW_MS 1700000000000LL

static const goio__hc_policy policies[2] = {
    {false, 86400000, 0, 3600000},
    {true, 86400000, 30000, 3600000},
};

static bool delta_ok(int64_t d)
{
    return d == GOIO__HC_ABSENT || d == GOIO__HC_INVALID ||
           (d >= 0 && d <= GOIO__HC_DELTA_MAX);
}

static void check_cc(const goio__hc_cc *cc)
{
    fuzz_check(delta_ok(cc->max_age) && delta_ok(cc->s_maxage) &&
                   delta_ok(cc->max_stale) && delta_ok(cc->min_fresh) &&
                   delta_ok(cc->stale_if_error),
               "Cache-Control delta-seconds out of range");
}

/* A date that parsed formats (IMF-fixdate) and parses back to itself. */
static void check_date(const char *s)
{
    int64_t ms, again;
    if (goio__hc_parse_date(s, &ms))
        return;
    fuzz_check(ms % 1000 == 0, "HTTP-date with milliseconds");
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char text[64];
    fuzz_check(gmtime_r(&t, &tm) != NULL, "HTTP-date out of gmtime's range");
    strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    fuzz_check(goio__hc_parse_date(text, &again) == 0 && again == ms,
               "HTTP-date does not round-trip");
}

/* What the client asks of a response's headers and times. */
static void policy(int status, const goio_http_cache_header *h, size_t n,
                   int64_t request_ms, int64_t response_ms)
{
    goio__hc_cc req;
    goio_http_cache_header req_h[] = {
        {"Cache-Control", "max-stale=60, min-fresh=5, stale-if-error=300"}};
    goio__hc_cc_parse(req_h, 1, &req);
    for (int i = 0; i < 2; i++) {
        const goio__hc_policy *p = &policies[i];
        goio__hc_fresh f;
        goio__hc_freshness(p, status, h, n, request_ms, response_ms, NOW_MS,
                           &f);
        check_cc(&f.cc);
        fuzz_check(f.lifetime_ms >= 0 && f.age_ms >= 0,
                   "negative age or lifetime");
        volatile bool sink = goio__hc_usable_fresh(&f, &req, false);
        sink ^= goio__hc_usable_fresh(&f, &req, true);
        sink ^= goio__hc_stale_prohibited(p, &f);
        sink ^= goio__hc_max_stale_ok(p, &f, &req);
        sink ^= goio__hc_stale_if_error_ok(p, &f, &req);
        sink ^= goio__hc_stale_if_error_ok(p, &f, NULL);
        sink ^= goio__hc_storable(p, &req, i == 1, status, &f);
        sink ^= goio__hc_keep_ms(p, &f) > 0;
        /* set_age: the Age field of a response served from storage */
        char age[24];
        snprintf(age, sizeof age, "%lld", (long long)(f.age_ms / 1000));
        (void)sink;
    }
}

/* What the client does with a response's fields besides freshness. */
static void fields(const goio_http_cache_header *h, size_t n)
{
    char **names;
    size_t nnames;
    bool star;
    if (!goio__hc_vary_names(h, n, &names, &nnames, &star)) {
        for (size_t i = 1; i < nnames; i++)
            fuzz_check(strcmp(names[i - 1], names[i]) < 0,
                       "Vary names unsorted");
        goio__hc_names_free(names, nnames);
    }
    goio__hc_hlist merged = {0};
    if (!goio__hc_merge_304(h, n, h, n, &merged))
        goio__hc_hlist_free(&merged);
    const char *etag = goio__hc_header_get(h, n, "ETag");
    if (etag)
        fuzz_check(goio__hc_etag_weak_eq(etag, etag), "ETag unequal to itself");
    volatile bool sink = false;
    for (size_t i = 0; i < n; i++)
        sink ^= goio__hc_hop_by_hop(h, n, h[i].name);
    (void)sink;
}

static bool has_hop_by_hop(const goio_http_cache_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (goio__hc_hop_by_hop(h, n, h[i].name))
            return true;
    return false;
}

static void as_entry(const uint8_t *data, size_t size)
{
    goio__hc_view v;
    if (goio__hc_entry_decode(data, size, &v))
        return;
    fuzz_check(goio__hc_entry_kind(data, size) == 'R',
               "decoded a non-'R' entry");
    policy(v.status, v.headers, v.nheaders, v.request_time_ms,
           v.response_time_ms);
    fields(v.headers, v.nheaders);
    goio__hc_entry_in in = {.status = v.status,
                            .request_time_ms = v.request_time_ms,
                            .response_time_ms = v.response_time_ms,
                            .url = v.url,
                            .vary = v.vary,
                            .nvary = v.nvary,
                            .headers = v.headers,
                            .nheaders = v.nheaders,
                            .body = v.body,
                            .body_len = v.body_len,
                            .body_ref = v.body_ref,
                            .body_id = v.body_id};
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio__hc_entry_encode(&b, &in);
    if (!has_hop_by_hop(v.headers, v.nheaders))
        fuzz_check(rc == 0 && b.len == size && !memcmp(b.data, data, size),
                   "entry does not re-encode to itself");
    goio_buf_deinit(&b);
    goio__hc_view_free(&v);
}

static void as_index(const uint8_t *data, size_t size)
{
    goio__hc_index ix;
    if (goio__hc_index_decode(data, size, &ix))
        return;
    goio_buf b = GOIO_BUF_INIT;
    int rc =
        goio__hc_index_encode(&b, ix.generation, ix.url, ix.names, ix.nnames);
    fuzz_check(rc == 0 && b.len == size && !memcmp(b.data, data, size),
               "index does not re-encode to itself");
    goio_buf_deinit(&b);
    goio__hc_index_free(&ix);
}

static void as_body(const uint8_t *data, size_t size)
{
    if (size < GOIO__HC_BODY_TRAILER)
        return;
    const uint8_t *t = data + size - GOIO__HC_BODY_TRAILER;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id |= (uint64_t)t[i] << (8 * i);
    volatile bool sink =
        goio__hc_body_check(data, size, id, size - GOIO__HC_BODY_TRAILER);
    (void)sink;
}

static int64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

/* "name: value" lines after an 18-byte prefix of times and status. */
static void as_response(const uint8_t *data, size_t size)
{
    uint8_t head[18] = {0};
    memcpy(head, data, size < sizeof head ? size : sizeof head);
    size_t off = size < sizeof head ? size : sizeof head;
    goio__hc_hlist h = {0};
    while (off < size) {
        const uint8_t *line = data + off;
        const uint8_t *nl = memchr(line, '\n', size - off);
        size_t len = nl ? (size_t)(nl - line) : size - off;
        off += len + (nl != NULL);
        const uint8_t *colon = memchr(line, ':', len);
        size_t nlen = colon ? (size_t)(colon - line) : len;
        const char *value = colon ? (const char *)colon + 1 : "";
        size_t vlen = colon ? len - nlen - 1 : 0;
        while (vlen && *value == ' ')
            value++, vlen--;
        if (goio__hc_hlist_add(&h, (const char *)line, nlen, value, vlen))
            break;
        goio_http_cache_header *last = &h.v[h.n - 1];
        goio__hc_cc cc;
        goio__hc_cc_parse(
            &(goio_http_cache_header){"Cache-Control", last->value}, 1, &cc);
        check_cc(&cc);
        check_date(last->value);
    }
    int status = head[16] | head[17] << 8;
    policy(status, h.v, h.n, le64(head), le64(head + 8));
    fields(h.v, h.n);
    goio__hc_hlist_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_logs();
    if (!data)
        return 0;
    as_entry(data, size);
    as_index(data, size);
    as_body(data, size);
    as_response(data, size);
    return 0;
}
