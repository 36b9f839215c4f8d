/* SPDX-License-Identifier: MIT */
/*
 * The RFC 9111 rules of goio/http_cache.h as pure functions of header
 * fields and instants, so tests check them without a clock or a network:
 * Cache-Control parsing, HTTP-dates, freshness lifetime, current age,
 * storability and what may be served stale.
 */
#include "http_cache_int.h"

#include <string.h>
#include <strings.h>

/* ---- Cache-Control ------------------------------------------------------- */

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/*
 * delta-seconds (RFC 9111 section 1.2.2): digits only; values past 2^31
 * saturate there. A quoted number is accepted too (senders must not
 * send one, but reading it costs nothing). Anything else is invalid.
 */
static int64_t parse_delta(const char *v, size_t len)
{
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        v++;
        len -= 2;
    }
    if (len == 0)
        return GOIO__HC_INVALID;
    int64_t out = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return GOIO__HC_INVALID;
        if (out < GOIO__HC_DELTA_MAX)
            out = out * 10 + (v[i] - '0');
    }
    return out > GOIO__HC_DELTA_MAX ? GOIO__HC_DELTA_MAX : out;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Sets *slot from the directive's argument unless an earlier occurrence
 * already did. */
static void set_delta(int64_t *slot, const char *v, size_t vlen, bool has_v)
{
    if (*slot != GOIO__HC_ABSENT)
        return;
    *slot = has_v ? parse_delta(v, vlen) : GOIO__HC_INVALID;
}

static const struct {
    const char *name;
    unsigned flag;
} cc_flags[] = {
    {"no-store", GOIO__HC_NO_STORE},
    {"no-cache", GOIO__HC_NO_CACHE},
    {"private", GOIO__HC_PRIVATE},
    {"public", GOIO__HC_PUBLIC},
    {"must-revalidate", GOIO__HC_MUST_REVALIDATE},
    {"proxy-revalidate", GOIO__HC_PROXY_REVALIDATE},
    {"must-understand", GOIO__HC_MUST_UNDERSTAND},
    {"only-if-cached", GOIO__HC_ONLY_IF_CACHED},
};

/*
 * One directive. private="field" is treated as its unqualified form,
 * which RFC 9111 section 5.2.2.7 allows and which is the safe reading.
 * no-cache="field, ..." is GOIO__HC_NO_CACHE_FIELDS: the response may be
 * reused without the listed fields (section 5.2.2.4); a request's
 * qualified no-cache (not defined) counts as no-cache (goio__hc_call).
 */
static void apply_directive(goio__hc_cc *cc, const char *name, size_t nlen,
                            const char *v, size_t vlen, bool has_v)
{
    if (name_is(name, nlen, "no-cache") && has_v && vlen) {
        cc->flags |= GOIO__HC_NO_CACHE_FIELDS;
        return;
    }
    for (size_t i = 0; i < sizeof cc_flags / sizeof cc_flags[0]; i++) {
        if (name_is(name, nlen, cc_flags[i].name)) {
            cc->flags |= cc_flags[i].flag;
            return;
        }
    }
    if (name_is(name, nlen, "max-age"))
        set_delta(&cc->max_age, v, vlen, has_v);
    else if (name_is(name, nlen, "s-maxage"))
        set_delta(&cc->s_maxage, v, vlen, has_v);
    else if (name_is(name, nlen, "min-fresh"))
        set_delta(&cc->min_fresh, v, vlen, has_v);
    else if (name_is(name, nlen, "stale-if-error"))
        set_delta(&cc->stale_if_error, v, vlen, has_v);
    else if (name_is(name, nlen, "stale-while-revalidate"))
        set_delta(&cc->stale_while_revalidate, v, vlen, has_v);
    else if (name_is(name, nlen, "max-stale")) {
        /* Without an argument: any staleness is acceptable. */
        if (cc->max_stale == GOIO__HC_ABSENT && !has_v)
            cc->max_stale = GOIO__HC_DELTA_MAX;
        else
            set_delta(&cc->max_stale, v, vlen, has_v);
    }
}

/* Scans an argument (token or quoted-string) starting at s; returns its
 * end. */
static const char *scan_value(const char *s)
{
    if (*s != '"') {
        while (*s && *s != ',' && !is_ows(*s))
            s++;
        return s;
    }
    for (s++; *s && *s != '"'; s++)
        if (*s == '\\' && s[1])
            s++;
    return *s == '"' ? s + 1 : s;
}

static void parse_one(goio__hc_cc *cc, const char *s)
{
    while (*s) {
        while (*s == ',' || is_ows(*s))
            s++;
        if (!*s)
            break;
        const char *name = s;
        while (*s && *s != '=' && *s != ',' && !is_ows(*s))
            s++;
        size_t nlen = (size_t)(s - name);
        /* No whitespace around '=' (RFC 9111 section 5.2: token [ "="
         * ( token / quoted-string ) ]): "max-age =5" is max-age without
         * its argument, "max-age= 5" one with an empty argument - both
         * invalid, so the response is stale. */
        const char *v = NULL;
        size_t vlen = 0;
        bool has_v = *s == '=';
        if (has_v) {
            s++;
            v = s;
            s = scan_value(s);
            vlen = (size_t)(s - v);
        }
        apply_directive(cc, name, nlen, v, vlen, has_v);
        /* Whatever follows up to the next comma is not ours to read. */
        while (*s && *s != ',')
            s++;
    }
}

/* Adds the members of the field list v[0..len) (a quoted-string or a
 * token, members separated by commas and whitespace) to out[*have..max);
 * counts past max without storing. */
static void collect_names(const char *v, size_t len, goio__hc_name *out,
                          size_t *have, size_t max)
{
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        v++;
        len -= 2;
    }
    for (size_t i = 0; i < len;) {
        while (i < len && (v[i] == ',' || is_ows(v[i])))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',' && !is_ows(v[i]))
            i++;
        if (i == start)
            continue;
        if (*have < max)
            out[*have] = (goio__hc_name){v + start, i - start};
        (*have)++;
    }
}

size_t goio__hc_no_cache_names(const goio_http_cache_header *h, size_t n,
                               goio__hc_name *out, size_t max)
{
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(h[i].name, "Cache-Control"))
            continue;
        for (const char *s = h[i].value; *s;) {
            while (*s == ',' || is_ows(*s))
                s++;
            const char *d = s;
            while (*s && *s != '=' && *s != ',' && !is_ows(*s))
                s++;
            bool qualified =
                *s == '=' && name_is(d, (size_t)(s - d), "no-cache");
            if (*s == '=') {
                const char *v = ++s;
                s = scan_value(s);
                if (qualified)
                    collect_names(v, (size_t)(s - v), out, &have, max);
            }
            while (*s && *s != ',')
                s++;
        }
    }
    return have;
}

void goio__hc_cc_parse(const goio_http_cache_header *h, size_t n,
                       goio__hc_cc *cc)
{
    memset(cc, 0, sizeof *cc);
    cc->max_age = cc->s_maxage = cc->max_stale = cc->min_fresh =
        cc->stale_if_error = cc->stale_while_revalidate = GOIO__HC_ABSENT;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(h[i].name, "Cache-Control"))
            parse_one(cc, h[i].value);
}

/* ---- Surrogate-Control (W3C Edge Architecture Specification 1.0) ------ */

static int64_t seconds_ms(int64_t s);

/* What the Surrogate-Control directives aimed at one device say. */
typedef struct surrogate_cc {
    bool any; /* max-age or no-store seen */
    bool no_store;
    int64_t max_age, stale; /* GOIO__HC_ABSENT / _INVALID / seconds */
} surrogate_cc;

/* max-age=N or max-age=N+M (M: how long it may be served stale when the
 * origin fails). */
static void surrogate_max_age(surrogate_cc *d, const char *v, size_t vlen,
                              bool has_v)
{
    if (d->max_age != GOIO__HC_ABSENT)
        return; /* the first one counts */
    d->any = true;
    const char *plus = has_v ? memchr(v, '+', vlen) : NULL;
    size_t n = plus ? (size_t)(plus - v) : vlen;
    d->max_age = has_v ? parse_delta(v, n) : GOIO__HC_INVALID;
    if (plus)
        d->stale = parse_delta(plus + 1, vlen - n - 1);
}

/*
 * One Surrogate-Control field line: directive [ "=" value ] [ ";" device ],
 * comma-separated. Directives without a device apply to every surrogate
 * (into `all`), those naming p->surrogate to this one (into `mine`),
 * others are not ours. As in Cache-Control, no whitespace around '='.
 */
static void surrogate_parse(const char *self, const char *s, surrogate_cc *all,
                            surrogate_cc *mine)
{
    while (*s) {
        while (*s == ',' || is_ows(*s))
            s++;
        if (!*s)
            break;
        const char *name = s;
        while (*s && *s != '=' && *s != ',' && *s != ';' && !is_ows(*s))
            s++;
        size_t nlen = (size_t)(s - name), vlen = 0;
        const char *v = NULL;
        bool has_v = *s == '=';
        if (has_v) {
            v = ++s;
            if (*s == '"') {
                s = scan_value(s);
            } else {
                while (*s && *s != ',' && *s != ';' && !is_ows(*s))
                    s++;
            }
            vlen = (size_t)(s - v);
        }
        surrogate_cc *d = all;
        if (*s == ';') {
            const char *t = ++s;
            while (*s && *s != ',' && !is_ows(*s))
                s++;
            size_t tlen = (size_t)(s - t);
            d = strlen(self) == tlen && !strncmp(t, self, tlen) ? mine : NULL;
        }
        if (d && name_is(name, nlen, "no-store")) {
            d->any = d->no_store = true;
        } else if (d && name_is(name, nlen, "max-age")) {
            surrogate_max_age(d, v, vlen, has_v);
        }
        while (*s && *s != ',')
            s++;
    }
}

/*
 * Surrogate-Control for this cache: directives aimed at it by name win
 * over those for every surrogate. max-age replaces the response's
 * Cache-Control and Expires for this cache (they are then for the caches
 * after it): freshness_lifetime is max-age, "+M" a stale-if-error window,
 * and no other Cache-Control directive counts. An invalid max-age
 * ("max-age =5") is ignored; no-store keeps the response out.
 */
static void surrogate_apply(const goio__hc_policy *p,
                            const goio_http_cache_header *h, size_t n,
                            goio__hc_fresh *f)
{
    surrogate_cc all = {false, false, GOIO__HC_ABSENT, GOIO__HC_ABSENT};
    surrogate_cc mine = all;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(h[i].name, "Surrogate-Control"))
            surrogate_parse(p->surrogate, h[i].value, &all, &mine);
    const surrogate_cc *d = mine.any ? &mine : &all;
    if (d->no_store) {
        f->surrogate = f->surrogate_no_store = true;
        return;
    }
    if (d->max_age < 0)
        return;
    f->surrogate = true;
    f->explicit_fresh = true;
    f->lifetime_ms = seconds_ms(d->max_age);
    memset(&f->cc, 0, sizeof f->cc);
    f->cc.max_age = f->cc.s_maxage = f->cc.max_stale = f->cc.min_fresh =
        f->cc.stale_while_revalidate = GOIO__HC_ABSENT;
    f->cc.stale_if_error = d->stale >= 0 ? d->stale : GOIO__HC_ABSENT;
}

bool goio__hc_consumed_field(const goio__hc_policy *p, const char *name)
{
    return p->surrogate && !strcasecmp(name, "Surrogate-Control");
}

/* ---- HTTP-date (RFC 9110 section 5.6.7) ---------------------------------- */

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu",
                                         "Fri", "Sat", "Sun"};
static const char *const long_day_names[7] = {
    "Monday", "Tuesday",  "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday"};

static int month_of(const char *s)
{
    for (int i = 0; i < 12; i++)
        if (!strncmp(s, month_names[i], 3))
            return i + 1;
    return 0;
}

/* Length of the (case-sensitive) day name s starts with, 0 if none. */
static size_t day_name_len(const char *s, bool long_form)
{
    for (int i = 0; i < 7; i++) {
        const char *d = long_form ? long_day_names[i] : day_names[i];
        size_t len = strlen(d);
        if (!strncmp(s, d, len))
            return len;
    }
    return 0;
}

static bool digits(const char *s, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard
 * Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* "HH:MM:SS" */
static bool parse_time(const char *s, int *h, int *mi, int *sec)
{
    return digits(s, 2, h) && s[2] == ':' && digits(s + 3, 2, mi) &&
           s[5] == ':' && digits(s + 6, 2, sec) && *h < 24 && *mi < 60 &&
           *sec <= 60;
}

static int finish_date(int y, int mon, int d, int h, int mi, int sec,
                       int64_t *ms)
{
    if (y < 1601 || mon < 1 || d < 1 || d > days_in_month(y, mon))
        return GOIO_EBADMSG;
    int64_t secs =
        days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + sec;
    *ms = secs * 1000;
    return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static int parse_imf(const char *s, size_t len, int64_t *ms)
{
    int d, y, h, mi, sec, mon;
    if (len != 29 || day_name_len(s, false) != 3 || strncmp(s + 3, ", ", 2))
        return GOIO_EBADMSG;
    if (!digits(s + 5, 2, &d) || s[7] != ' ' || !(mon = month_of(s + 8)) ||
        s[11] != ' ' || !digits(s + 12, 4, &y) || s[16] != ' ' ||
        !parse_time(s + 17, &h, &mi, &sec) || strncmp(s + 25, " GMT", 4))
        return GOIO_EBADMSG;
    return finish_date(y, mon, d, h, mi, sec, ms);
}

/* "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year more than 50 years
 * ahead is the most recent past one (RFC 9110 section 5.6.7). */
static int parse_rfc850(const char *s, size_t len, int64_t *ms)
{
    size_t dl = day_name_len(s, true);
    int d, yy, h, mi, sec, mon;
    if (!dl || len != dl + 24 || strncmp(s + dl, ", ", 2))
        return GOIO_EBADMSG;
    s += dl + 2;
    if (!digits(s, 2, &d) || s[2] != '-' || !(mon = month_of(s + 3)) ||
        s[6] != '-' || !digits(s + 7, 2, &yy) || s[9] != ' ' ||
        !parse_time(s + 10, &h, &mi, &sec) || strncmp(s + 18, " GMT", 4))
        return GOIO_EBADMSG;
    int64_t this_year = 1970 + goio_now_wall_ms() / 31556952000LL;
    int y = 2000 + yy;
    if (y > this_year + 50)
        y -= 100;
    return finish_date(y, mon, d, h, mi, sec, ms);
}

/* "Sun Nov  6 08:49:37 1994" */
static int parse_asctime(const char *s, size_t len, int64_t *ms)
{
    int d, y, h, mi, sec, mon;
    if (len != 24 || day_name_len(s, false) != 3 || s[3] != ' ' ||
        !(mon = month_of(s + 4)) || s[7] != ' ')
        return GOIO_EBADMSG;
    if (s[8] == ' ') {
        if (!digits(s + 9, 1, &d))
            return GOIO_EBADMSG;
    } else if (!digits(s + 8, 2, &d)) {
        return GOIO_EBADMSG;
    }
    if (s[10] != ' ' || !parse_time(s + 11, &h, &mi, &sec) || s[19] != ' ' ||
        !digits(s + 20, 4, &y))
        return GOIO_EBADMSG;
    return finish_date(y, mon, d, h, mi, sec, ms);
}

int goio__hc_parse_date(const char *s, int64_t *ms)
{
    if (!s || !ms)
        return GOIO_EINVAL;
    while (is_ows(*s))
        s++;
    size_t len = strlen(s);
    while (len && is_ows(s[len - 1]))
        len--;
    if (parse_imf(s, len, ms) == 0 || parse_rfc850(s, len, ms) == 0 ||
        parse_asctime(s, len, ms) == 0)
        return 0;
    return GOIO_EBADMSG;
}

/*
 * Expires is also read in the forms browsers and caches take in practice
 * (the conformance suite's expires-parse checks): fields in any case, no
 * comma, several spaces, '-' between date parts, '.' in the time, a
 * one-digit hour, a two-digit year (70-99: 19xx, else 20xx) and any
 * alphabetic zone, read as GMT. It must still have a day, a month name,
 * a year and a time, so "0" and other junk stay invalid (stale).
 */
static bool lenient_time(const char *t, size_t len, int *h, int *mi, int *sec)
{
    int part[3] = {0, 0, 0}, n = 0, nd = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] >= '0' && t[i] <= '9' && nd < 2) {
            part[n] = part[n] * 10 + (t[i] - '0');
            nd++;
        } else if ((t[i] == ':' || t[i] == '.') && nd && n < 2) {
            n++;
            nd = 0;
        } else {
            return false;
        }
    }
    *h = part[0];
    *mi = part[1];
    *sec = part[2];
    return n == 2 && nd && *h < 24 && *mi < 60 && *sec <= 60;
}

static int lenient_month(const char *t, size_t len)
{
    if (len != 3)
        return 0;
    for (int i = 0; i < 12; i++)
        if (!strncasecmp(t, month_names[i], 3))
            return i + 1;
    return 0;
}

static int parse_date_lenient(const char *s, int64_t *ms)
{
    int d = -1, mon = 0, y = -1, h = -1, mi = 0, sec = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',' || *s == '-')
            s++;
        const char *t = s;
        while (*s && *s != ' ' && *s != '\t' && *s != ',' && *s != '-')
            s++;
        size_t len = (size_t)(s - t);
        if (!len)
            break;
        bool alpha = true, num = true;
        for (size_t i = 0; i < len; i++) {
            bool a =
                (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z');
            alpha = alpha && a;
            num = num && t[i] >= '0' && t[i] <= '9';
        }
        int v = 0;
        if (alpha) {
            int m = lenient_month(t, len);
            if (m && mon)
                return GOIO_EBADMSG;
            if (m)
                mon = m; /* anything else: a day name or a zone */
        } else if (num && len <= 4 && digits(t, (int)len, &v)) {
            if (len <= 2 && d < 0)
                d = v;
            else if (y < 0)
                y = len <= 2 ? (v < 70 ? 2000 + v : 1900 + v) : v;
            else
                return GOIO_EBADMSG;
        } else if (h >= 0 || !lenient_time(t, len, &h, &mi, &sec)) {
            return GOIO_EBADMSG;
        }
    }
    if (d < 0 || !mon || y < 0 || h < 0)
        return GOIO_EBADMSG;
    return finish_date(y, mon, d, h, mi, sec, ms);
}

static int parse_expires(const char *s, int64_t *ms)
{
    return goio__hc_parse_date(s, ms) == 0 ? 0 : parse_date_lenient(s, ms);
}

/* ---- statuses ------------------------------------------------------------ */

bool goio__hc_status_heuristic(int status)
{
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
        return true;
    default:
        return false;
    }
}

bool goio__hc_status_understood(int status)
{
    return goio__hc_status_heuristic(status) || status == 302 ||
           status == 303 || status == 307;
}

/* ---- freshness ----------------------------------------------------------- */

/*
 * a - b and a + b (b >= 0) saturating at the int64_t range. The times of
 * a stored response are bytes from storage (another process may have
 * written them), and Date stands in for them when absent, so any of them
 * can be anything: a difference must not overflow.
 */
static int64_t sub_sat(int64_t a, int64_t b)
{
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    return a - b;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/*
 * Age (RFC 9111 section 5.1): one field line holding one delta-seconds.
 * Anything else - a list, several lines, a sign, a fraction, a parameter,
 * no digits - says nothing goio can trust about the response's age, so it
 * counts as infinitely old: the response is stale and gets revalidated,
 * which a cache may always do (what the conformance suite's age-parse
 * tests expect; RFC 9111 would use a list's first member and ignore an
 * invalid value, which could serve a response older than it looks).
 */
static int64_t age_value_ms(const goio_http_cache_header *h, size_t n)
{
    const char *v = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(h[i].name, "Age"))
            continue;
        if (v)
            return INT64_MAX; /* a second line */
        v = h[i].value;
    }
    if (!v)
        return 0;
    while (is_ows(*v))
        v++;
    size_t len = strlen(v);
    while (len && is_ows(v[len - 1]))
        len--;
    if (len == 0 || v[0] == '"')
        return INT64_MAX;
    int64_t s = parse_delta(v, len);
    return s < 0 ? INT64_MAX : s * 1000;
}

static bool header_date(const goio_http_cache_header *h, size_t n,
                        const char *name, int64_t *ms)
{
    const char *v = goio__hc_header_get(h, n, name);
    return v && goio__hc_parse_date(v, ms) == 0;
}

static int64_t seconds_ms(int64_t s)
{
    return s < 0 ? 0 : s * 1000;
}

/* freshness_lifetime (RFC 9111 sections 4.2.1 and 4.2.2). */
static int64_t lifetime_ms(const goio__hc_policy *p, int status,
                           const goio_http_cache_header *h, size_t n,
                           int64_t date_ms, goio__hc_fresh *f)
{
    const goio__hc_cc *cc = &f->cc;
    f->explicit_fresh = true;
    if (p->shared && cc->s_maxage != GOIO__HC_ABSENT)
        return seconds_ms(cc->s_maxage);
    if (cc->max_age != GOIO__HC_ABSENT)
        return seconds_ms(cc->max_age);
    const char *expires = goio__hc_header_get(h, n, "Expires");
    if (expires) {
        int64_t exp_ms;
        if (parse_expires(expires, &exp_ms))
            return 0; /* invalid Expires, "0" included: in the past */
        return exp_ms > date_ms ? sub_sat(exp_ms, date_ms) : 0;
    }
    f->explicit_fresh = false;
    int64_t lm;
    if (p->heuristic_max_ms <= 0 ||
        !(goio__hc_status_heuristic(status) || (cc->flags & GOIO__HC_PUBLIC)) ||
        !header_date(h, n, "Last-Modified", &lm) || lm >= date_ms)
        return 0;
    int64_t heuristic = sub_sat(date_ms, lm) / 10;
    return heuristic < p->heuristic_max_ms ? heuristic : p->heuristic_max_ms;
}

void goio__hc_freshness(const goio__hc_policy *p, int status,
                        const goio_http_cache_header *h, size_t n,
                        int64_t request_time_ms, int64_t response_time_ms,
                        int64_t now_ms, goio__hc_fresh *f)
{
    memset(f, 0, sizeof *f);
    goio__hc_cc_parse(h, n, &f->cc);
    int64_t date_ms;
    if (!header_date(h, n, "Date", &date_ms))
        date_ms = response_time_ms;
    f->lifetime_ms = lifetime_ms(p, status, h, n, date_ms, f);
    if (p->surrogate)
        surrogate_apply(p, h, n, f);
    /* current_age, RFC 9111 section 4.2.3. */
    int64_t apparent = sub_sat(response_time_ms, date_ms);
    if (apparent < 0)
        apparent = 0;
    int64_t delay = sub_sat(response_time_ms, request_time_ms);
    int64_t corrected_age = add_sat(age_value_ms(h, n), delay > 0 ? delay : 0);
    int64_t initial = apparent > corrected_age ? apparent : corrected_age;
    int64_t resident = sub_sat(now_ms, response_time_ms);
    f->age_ms = add_sat(initial, resident > 0 ? resident : 0);
    f->validators = goio__hc_header_get(h, n, "ETag") ||
                    goio__hc_header_get(h, n, "Last-Modified");
}

bool goio__hc_usable_fresh(const goio__hc_fresh *f, const goio__hc_cc *req,
                           bool req_no_cache)
{
    if ((f->cc.flags & GOIO__HC_NO_CACHE) || req_no_cache ||
        f->age_ms >= f->lifetime_ms)
        return false;
    if (req->max_age != GOIO__HC_ABSENT &&
        (req->max_age < 0 || f->age_ms > req->max_age * 1000))
        return false;
    if (req->min_fresh != GOIO__HC_ABSENT &&
        (req->min_fresh < 0 ||
         f->lifetime_ms - f->age_ms < req->min_fresh * 1000))
        return false;
    return true;
}

bool goio__hc_stale_prohibited(const goio__hc_policy *p,
                               const goio__hc_fresh *f)
{
    unsigned fl = f->cc.flags;
    if (fl & (GOIO__HC_MUST_REVALIDATE | GOIO__HC_NO_CACHE))
        return true;
    return p->shared && ((fl & GOIO__HC_PROXY_REVALIDATE) ||
                         f->cc.s_maxage != GOIO__HC_ABSENT);
}

static int64_t staleness_ms(const goio__hc_fresh *f)
{
    return f->age_ms - f->lifetime_ms;
}

bool goio__hc_max_stale_ok(const goio__hc_policy *p, const goio__hc_fresh *f,
                           const goio__hc_cc *req)
{
    return req->max_stale >= 0 && !goio__hc_stale_prohibited(p, f) &&
           staleness_ms(f) <= req->max_stale * 1000;
}

/* The stale-if-error window in ms, -1 when nothing allows one. */
static int64_t error_window_ms(const goio__hc_policy *p,
                               const goio__hc_fresh *f, const goio__hc_cc *req)
{
    int64_t w = p->stale_if_error_ms > 0 ? p->stale_if_error_ms : -1;
    if (f->cc.stale_if_error >= 0 && f->cc.stale_if_error * 1000 > w)
        w = f->cc.stale_if_error * 1000;
    if (req && req->stale_if_error >= 0 && req->stale_if_error * 1000 > w)
        w = req->stale_if_error * 1000;
    return w;
}

bool goio__hc_swr_ok(const goio__hc_policy *p, const goio__hc_fresh *f)
{
    return f->cc.stale_while_revalidate >= 0 &&
           !(f->cc.flags & GOIO__HC_NO_CACHE) &&
           !goio__hc_stale_prohibited(p, f) &&
           staleness_ms(f) <= f->cc.stale_while_revalidate * 1000;
}

bool goio__hc_stale_if_error_ok(const goio__hc_policy *p,
                                const goio__hc_fresh *f, const goio__hc_cc *req)
{
    if (goio__hc_stale_prohibited(p, f))
        return false;
    int64_t w = error_window_ms(p, f, req);
    return w >= 0 && staleness_ms(f) <= w;
}

/* ---- storing ------------------------------------------------------------- */

bool goio__hc_storable(const goio__hc_policy *p, const goio__hc_cc *req,
                       bool req_auth, int status, const goio__hc_fresh *f)
{
    unsigned fl = f->cc.flags;
    bool understood = goio__hc_status_understood(status);
    /* Any final status may be stored with explicit freshness (RFC 9111
     * section 3), except 206 (goio does not combine ranges) and 304; with
     * must-understand only the statuses goio understands. */
    if (status < 200 || status > 999 || status == 206 || status == 304 ||
        ((fl & GOIO__HC_MUST_UNDERSTAND) && !understood))
        return false;
    /* must-understand: a cache that understands the status ignores
     * no-store (RFC 9111 section 5.2.2.3); a request's no-store stays. */
    if ((req->flags & GOIO__HC_NO_STORE) || f->surrogate_no_store ||
        ((fl & GOIO__HC_NO_STORE) && !(fl & GOIO__HC_MUST_UNDERSTAND)))
        return false;
    if (p->shared && (fl & GOIO__HC_PRIVATE))
        return false;
    if (p->shared && req_auth &&
        !(fl & (GOIO__HC_PUBLIC | GOIO__HC_MUST_REVALIDATE)) &&
        f->cc.s_maxage == GOIO__HC_ABSENT)
        return false;
    return f->explicit_fresh ||
           (understood && ((fl & GOIO__HC_PUBLIC) ||
                           (!p->shared && (fl & GOIO__HC_PRIVATE)))) ||
           goio__hc_status_heuristic(status);
}

int64_t goio__hc_keep_ms(const goio__hc_policy *p, const goio__hc_fresh *f)
{
    int64_t remaining = f->lifetime_ms - f->age_ms;
    if (remaining < 0 || (f->cc.flags & GOIO__HC_NO_CACHE))
        remaining = 0;
    int64_t keep;
    if (f->validators) {
        keep = p->max_age_ms;
    } else {
        /* Kept stale as long as a directive could still use it: the
         * stale-if-error and stale-while-revalidate windows, and a
         * request's max-stale up to config.max_stale_keep_ms. */
        int64_t w = -1;
        if (!goio__hc_stale_prohibited(p, f)) {
            w = error_window_ms(p, f, NULL);
            if (f->cc.stale_while_revalidate >= 0 &&
                f->cc.stale_while_revalidate * 1000 > w)
                w = f->cc.stale_while_revalidate * 1000;
            if (p->max_stale_keep_ms > w)
                w = p->max_stale_keep_ms;
        }
        keep = w > 0 && remaining > INT64_MAX - w ? INT64_MAX
                                                  : remaining + (w > 0 ? w : 0);
    }
    return keep < p->max_age_ms ? keep : p->max_age_ms;
}
