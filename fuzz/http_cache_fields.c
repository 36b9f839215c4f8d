/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the http_cache parsers of what callers and origins
 * send that came with Surrogate-Control, ranges and qualified no-cache
 * (src/http_cache/http_cache_int.h). Byte 0 picks the parser (mod 3):
 *  0 Range: bytes 1-8 the body size (little-endian), the rest the Range
 *    value; a range it accepts lies in the body, first <= last;
 *  1 Surrogate-Control: every '\n'-separated line of the rest is one
 *    Surrogate-Control field (next to "Cache-Control: max-age=60") of a
 *    200 read by a shared cache named "goio"; the freshness it gives is
 *    in range (lifetime, stale window), no-store implies surrogate;
 *  2 no-cache="...": every line is one Cache-Control field; each name
 *    goio__hc_no_cache_names collects lies inside a value, is not empty,
 *    has no comma or whitespace, and goio__hc_no_cache_field finds it.
 * A crash, a sanitizer report or a broken property (abort) is a bug.
 */
#include "fuzz_util.h"
#include "../src/http_cache/http_cache_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS  1700000000000LL
#define MAX_HDR 256

static void fuzz_range(const uint8_t *d, size_t n)
{
    if (n < 8)
        return;
    uint64_t total = 0;
    for (int i = 7; i >= 0; i--)
        total = total << 8 | d[i];
    if (total & 1) /* small bodies too, not only 2^63-ish ones */
        total >>= 40;
    char *s = malloc(n - 8 + 1);
    if (!s)
        return;
    memcpy(s, d + 8, n - 8);
    s[n - 8] = 0;
    uint64_t first = 7, last = 7;
    if (goio__hc_range_parse(s, total, &first, &last))
        fuzz_check(first <= last && last < total, "range outside the body");
    free(s);
}

/* Splits text (modified) into lines, each a field `name` (or "name:
 * value" when name is NULL). Returns the count. */
static size_t split(char *text, const char *name, goio_http_cache_header *h,
                    size_t max)
{
    size_t n = 0;
    for (char *line = text; line && n < max;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        h[n].name = name;
        h[n].value = line;
        n++;
        line = nl ? nl + 1 : NULL;
    }
    return n;
}

static bool delta_ok(int64_t d)
{
    return d == GOIO__HC_ABSENT || d == GOIO__HC_INVALID ||
           (d >= 0 && d <= GOIO__HC_DELTA_MAX);
}

static void fuzz_surrogate(char *text)
{
    static goio_http_cache_header h[MAX_HDR + 1];
    h[0] = (goio_http_cache_header){"Cache-Control", "max-age=60"};
    size_t n = 1 + split(text, "Surrogate-Control", h + 1, MAX_HDR);
    static const goio__hc_policy p = {.shared = true,
                                      .heuristic_max_ms = 86400000,
                                      .max_age_ms = 3600000,
                                      .surrogate = "goio"};
    goio__hc_fresh f;
    goio__hc_freshness(&p, 200, h, n, NOW_MS - 1000, NOW_MS - 500, NOW_MS, &f);
    fuzz_check(f.lifetime_ms >= 0, "negative lifetime");
    fuzz_check(delta_ok(f.cc.stale_if_error), "stale window out of range");
    fuzz_check(!f.surrogate_no_store || f.surrogate,
               "surrogate no-store without surrogate");
    fuzz_check(goio__hc_consumed_field(&p, "surrogate-control"),
               "Surrogate-Control not consumed");
}

/* An oracle independent of the parser: p lies in a field value that has
 * "no-cache=" (any case) somewhere before p. */
static bool after_no_cache(const goio_http_cache_header *h, size_t n,
                           const char *p)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = h[i].value;
        size_t vl = strlen(v);
        if (p < v || p >= v + vl)
            continue;
        for (const char *q = v; q + 9 <= p; q++)
            if (!strncasecmp(q, "no-cache=", 9))
                return true;
        return false;
    }
    return false;
}

static void fuzz_no_cache(char *text, size_t len)
{
    static goio_http_cache_header h[MAX_HDR];
    size_t n = split(text, "Cache-Control", h, MAX_HDR);
    goio__hc_name names[GOIO__HC_MAX_NO_CACHE_NAMES];
    size_t all =
        goio__hc_no_cache_names(h, n, names, GOIO__HC_MAX_NO_CACHE_NAMES);
    size_t kept =
        all < GOIO__HC_MAX_NO_CACHE_NAMES ? all : GOIO__HC_MAX_NO_CACHE_NAMES;
    for (size_t i = 0; i < kept; i++) {
        const goio__hc_name *m = &names[i];
        fuzz_check(m->len > 0, "empty name");
        fuzz_check(m->p >= text && m->p + m->len <= text + len,
                   "name outside the values");
        for (size_t j = 0; j < m->len; j++)
            fuzz_check(m->p[j] != ',' && m->p[j] != ' ' && m->p[j] != '\t' &&
                           m->p[j] != '\0',
                       "separator inside a name");
        fuzz_check(after_no_cache(h, n, m->p),
                   "collected name not after a no-cache=");
    }
    goio__hc_cc cc;
    goio__hc_cc_parse(h, n, &cc);
    fuzz_check(!all || (cc.flags & GOIO__HC_NO_CACHE_FIELDS),
               "names without a qualified no-cache");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_logs();
    if (size < 1)
        return 0;
    int mode = data[0] % 3;
    data++;
    size--;
    if (mode == 0) {
        fuzz_range(data, size);
        return 0;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (mode == 1)
        fuzz_surrogate(text);
    else
        fuzz_no_cache(text, size);
    free(text);
    return 0;
}
