/* SPDX-License-Identifier: MIT */
/*
 * Go's time.Time in JSON: RFC 3339 with nanoseconds ("RFC3339Nano"), the
 * fraction trimmed of trailing zeros, 'Z' for UTC. Civil dates come from
 * the proleptic Gregorian day count (days since 1970-01-01).
 */
#include "json_int.h"

#include <stdio.h>
#include <string.h>

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Seconds of 0000-01-01 and 10000-01-01 (years Go marshals). */
#define MIN_SEC (INT64_C(-62167219200))
#define END_SEC (INT64_C(253402300800))

/* Writes v as exactly `width` digits (zero-padded); returns width. */
static int put_digits(char *out, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
    return width;
}

int goio_type_json_time_format(goio_type_json_time_value t, goio_buf *out)
{
    if (!out || t.nsec < 0 || t.nsec > 999999999 || t.offset % 60 ||
        t.offset <= -86400 || t.offset >= 86400)
        return GOIO_EINVAL;
    /* the local wall time Go prints */
    if (t.sec < MIN_SEC - t.offset || t.sec >= END_SEC - t.offset)
        return GOIO_ERANGE;
    int64_t local = t.sec + t.offset;
    int64_t days = floor_div(local, 86400), y;
    int64_t rem = local - days * 86400;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    char text[40];
    int n = 0;
    n += put_digits(text + n, (int)y, 4);
    text[n++] = '-';
    n += put_digits(text + n, m, 2);
    text[n++] = '-';
    n += put_digits(text + n, d, 2);
    text[n++] = 'T';
    n += put_digits(text + n, (int)(rem / 3600), 2);
    text[n++] = ':';
    n += put_digits(text + n, (int)(rem / 60 % 60), 2);
    text[n++] = ':';
    n += put_digits(text + n, (int)(rem % 60), 2);
    if (t.nsec) { /* the fraction without its trailing zeros */
        int digits = 9;
        int32_t ns = t.nsec;
        while (ns % 10 == 0)
            ns /= 10, digits--;
        text[n++] = '.';
        n += put_digits(text + n, (int)ns, digits);
    }
    if (t.offset == 0) {
        text[n++] = 'Z';
    } else {
        int32_t a = t.offset < 0 ? -t.offset : t.offset;
        text[n++] = t.offset < 0 ? '-' : '+';
        n += put_digits(text + n, (int)(a / 3600), 2);
        text[n++] = ':';
        n += put_digits(text + n, (int)(a / 60 % 60), 2);
    }
    return goio_buf_append(out, text, (size_t)n);
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, const char *end, int n, int *v)
{
    if (end - *p < n)
        return false;
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return true;
}

static bool lit(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int goio_type_json_time_parse(const char *text, size_t len,
                              goio_type_json_time_value *out)
{
    if ((!text && len) || !out)
        return GOIO_EINVAL;
    if (!text)
        text = "";
    const char *p = text, *end = text + len;
    int y, mo, d, h, mi, s;
    if (!digits(&p, end, 4, &y) || !lit(&p, end, '-') ||
        !digits(&p, end, 2, &mo) || !lit(&p, end, '-') ||
        !digits(&p, end, 2, &d) || !lit(&p, end, 'T') ||
        !digits(&p, end, 2, &h) || !lit(&p, end, ':') ||
        !digits(&p, end, 2, &mi) || !lit(&p, end, ':') ||
        !digits(&p, end, 2, &s))
        return GOIO_EBADMSG;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || s > 59)
        return GOIO_EBADMSG;
    int32_t nsec = 0;
    if (end - p >= 2 && (*p == '.' || *p == ',') && p[1] >= '0' &&
        p[1] <= '9') {
        p++;
        int n = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++, n++)
            if (n < 9) /* Go keeps nanoseconds, drops further digits */
                nsec = nsec * 10 + (*p - '0');
        for (; n < 9; n++)
            nsec *= 10;
    }
    int64_t offset = 0;
    if (lit(&p, end, 'Z')) {
        offset = 0;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!digits(&p, end, 2, &oh) || !lit(&p, end, ':') ||
            !digits(&p, end, 2, &om) || oh > 23 || om > 59)
            return GOIO_EBADMSG;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return GOIO_EBADMSG;
    }
    if (p != end)
        return GOIO_EBADMSG;
    out->sec =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    out->nsec = nsec;
    out->offset = (int32_t)offset;
    return 0;
}

/* ---- the time type: its byte form is the RFC 3339 text ---- */

static int time_encode(const goio_type *t, const void *v, goio_buf *out)
{
    (void)t;
    return goio_type_json_time_format(*(const goio_type_json_time_value *)v,
                                      out);
}

static int time_decode(const goio_type *t, const uint8_t *p, size_t n, void *v)
{
    (void)t;
    return goio_type_json_time_parse((const char *)p, n, v);
}

const goio_type goio_type_json_time = {
    "time",      sizeof(goio_type_json_time_value),
    time_encode, time_decode,
    NULL,        NULL,
    NULL};

/* ---- the raw type: a goio_bytes holding JSON, byte form the JSON ---- */

static int raw_encode(const goio_type *t, const void *v, goio_buf *out)
{
    return goio__json_encode_value(t, v, out, 0);
}

static int raw_decode(const goio_type *t, const uint8_t *p, size_t n, void *v)
{
    goio_type_json_config cfg;
    goio_type_json_config_init(&cfg);
    return goio__json_decode_zeroed(t, &cfg, p, n, v);
}

static int raw_copy(const goio_type *t, void *dst, const void *src)
{
    (void)t;
    const goio_bytes *s = src;
    goio_bytes *d = dst;
    if (!s->data)
        return s->len ? GOIO_EINVAL : 0;
    d->data = goio_malloc(s->len ? s->len : 1);
    if (!d->data)
        return GOIO_ENOMEM;
    memcpy(d->data, s->data, s->len);
    d->len = s->len;
    return 0;
}

static void raw_destroy(const goio_type *t, void *v)
{
    goio_type_bytes.destroy(t, v);
}

const goio_type goio_type_json_raw = {
    "json_raw", sizeof(goio_bytes), raw_encode, raw_decode,
    raw_copy,   raw_destroy,        NULL};
