/* SPDX-License-Identifier: MIT */
/*
 * JSON encoding as Go's encoding/json (Go 1.19) writes it: strings escaped
 * with HTML escaping on, floats in the shortest form that reads back the
 * same, []byte as padded standard base64, structs field by field.
 */
#include "json_int.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t goio__json_utf8_decode(const uint8_t *p, size_t n, uint32_t *rune)
{
    uint8_t b0 = p[0];
    if (b0 < 0x80) {
        *rune = b0;
        return 1;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    uint32_t r;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        r = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        r = b0 & 0x0F;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED) /* no UTF-16 surrogates */
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        r = b0 & 0x07;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4) /* nothing above U+10FFFF */
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    r = (r << 6) | (p[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
        r = (r << 6) | (p[i] & 0x3F);
    }
    *rune = r;
    return len;
}

/* Bytes below 0x80 Go writes as they are (with HTML escaping on). */
static bool ascii_safe(uint8_t c)
{
    return c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' &&
           c != '&';
}

int goio__json_append_string(goio_buf *out, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = goio_buf_reserve(out, n + 2);
    if (rc)
        return rc;
    out->data[out->len++] = '"';
    size_t start = 0, i = 0;
    while (i < n && !rc) {
        uint8_t c = s[i];
        if (c < 0x80 && ascii_safe(c)) {
            i++;
            continue;
        }
        char esc[8];
        size_t esc_len, width = 1;
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                esc[0] = '\\', esc[1] = (char)c, esc_len = 2;
            } else if (c == '\n' || c == '\r' || c == '\t') {
                esc[0] = '\\';
                esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
                esc_len = 2;
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4], esc[5] = hex[c & 15], esc_len = 6;
            }
        } else {
            uint32_t r;
            width = goio__json_utf8_decode(s + i, n - i, &r);
            if (width && r != 0x2028 && r != 0x2029) {
                i += width; /* valid UTF-8 is written as is */
                continue;
            }
            if (width)
                memcpy(esc, r == 0x2028 ? "\\u2028" : "\\u2029", 6);
            else
                memcpy(esc, "\\ufffd", 6), width = 1;
            esc_len = 6;
        }
        rc = goio_buf_append(out, s + start, i - start);
        if (!rc)
            rc = goio_buf_append(out, esc, esc_len);
        i += width;
        start = i;
    }
    if (!rc)
        rc = goio_buf_append(out, s + start, n - start);
    if (!rc)
        rc = goio_buf_append(out, "\"", 1);
    return rc;
}

/* ---- numbers ---- */

/* Writes v in decimal at out (room for 20 digits); returns the length. */
static int u64_digits(uint64_t v, char *out)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static int append_i64(goio_buf *out, int64_t v, bool is_signed, uint64_t u)
{
    char text[24];
    int n = 0;
    if (is_signed) {
        if (v < 0)
            text[n++] = '-';
        u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    }
    n += u64_digits(u, text + n);
    return goio_buf_append(out, text, (size_t)n);
}

/* Splits "%.*e" output ("d.ddde+XX") into digits and exponent. */
static void split_sci(const char *text, char *digits, int *ndigits, int *exp10)
{
    int n = 0;
    const char *p = text;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    *ndigits = n;
    *exp10 = atoi(p + 1);
}

static double digits_value(const char *digits, int n, int exp10)
{
    char text[40];
    snprintf(text, sizeof text, "%c.%.*se%d", digits[0], n - 1, digits + 1,
             exp10);
    return strtod(text, NULL);
}

/* Moves the p-digit decimal one unit in its last place up or down. */
static void step_digits(char *digits, int n, int *exp10, int dir)
{
    int i = n - 1;
    if (dir > 0) {
        while (i >= 0 && digits[i] == '9')
            digits[i--] = '0';
        if (i >= 0) {
            digits[i]++;
        } else { /* 99..9 + 1 = 100..0: one more power of ten */
            digits[0] = '1';
            (*exp10)++;
        }
    } else {
        while (i >= 0 && digits[i] == '0')
            digits[i--] = '9';
        digits[i]--;
        if (digits[0] == '0') { /* 100..0 - 1 = 99..9 at one power less */
            memmove(digits, digits + 1, (size_t)n - 1);
            digits[n - 1] = '9';
            (*exp10)--;
        }
    }
}

/*
 * Whether some p-digit decimal reads back as x; if so, the closest one.
 * Only the two p-digit decimals around x can: the correctly rounded one
 * (glibc's printf is exact), tried first, then its neighbour on the other
 * side of x (which can read back when the gap to the double below x is
 * half the gap above, at a power of two).
 */
static bool digits_at(double x, int p, char *digits, int *ndigits, int *exp10)
{
    char text[40];
    snprintf(text, sizeof text, "%.*e", p - 1, x);
    split_sci(text, digits, ndigits, exp10);
    double back = strtod(text, NULL);
    if (back == x)
        return true;
    char other[20];
    int other_exp = *exp10;
    memcpy(other, digits, (size_t)p);
    step_digits(other, p, &other_exp, back < x ? 1 : -1);
    if (digits_value(other, p, other_exp) != x)
        return false;
    memcpy(digits, other, (size_t)p);
    *exp10 = other_exp;
    return true;
}

/*
 * The shortest decimal digits that read back as x (x finite, > 0), as Go's
 * strconv.FormatFloat(x, fmt, -1, 64) picks them: the fewest digits, and
 * among those the closest to x.
 *
 * The gap between doubles is at most 2^-52 (2.2e-16) of x, while 15-digit
 * decimals lie at least 1e-15 of x apart: at most one 15-digit decimal
 * reads back as x. So when one does, it is the shortest padded with zeros
 * (a shorter one padded would be another): trimming its zeros gives the
 * answer at the cost of one printf and one strtod. Otherwise the answer
 * has 16 digits (the closest that reads back) or 17 (the correctly
 * rounded one always reads back). Subnormals have fewer bits, so there
 * the length is found by bisection over 1..17 ("some p-digit decimal reads
 * back" holds for every p from the shortest up: pad it with zeros).
 */
/*
 * A fast path for the doubles prices and ratios are made of: x = r / 10^k
 * with r < 10^15 and k <= 22. Both r and 10^k are exact doubles and IEEE
 * division rounds correctly, so r / 10^k == x says exactly what strtod of
 * "r e-k" would; the smallest such k gives the fewest digits, and with at
 * most 15 digits there is only one candidate (see below).
 */
static bool short_decimal(double x, char *digits, int *ndigits, int *exp10)
{
    static const double pow10[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (x >= 1e15 || x < DBL_MIN)
        return false;
    for (int k = 0; k <= 22; k++) {
        double y = x * pow10[k];
        if (y >= 1e15)
            return false;
        double r = (double)(uint64_t)(y + 0.5); /* y < 1e15: exact */
        if (r < 1 || r / pow10[k] != x)
            continue;
        int n = u64_digits((uint64_t)r, digits);
        *ndigits = n;
        *exp10 = n - 1 - k;
        return true;
    }
    return false;
}

static void shortest_digits(double x, char *digits, int *ndigits, int *exp10)
{
    if (short_decimal(x, digits, ndigits, exp10)) {
        /* done: integers below 1e15 and short decimals */
    } else if (x < DBL_MIN) {
        char d[20];
        int nd, e, lo = 1, hi = 17;
        digits_at(x, 17, digits, ndigits, exp10); /* 17 always reads back */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (digits_at(x, mid, d, &nd, &e)) {
                memcpy(digits, d, (size_t)nd);
                *ndigits = nd;
                *exp10 = e;
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
    } else if (!digits_at(x, 15, digits, ndigits, exp10) &&
               !digits_at(x, 16, digits, ndigits, exp10)) {
        digits_at(x, 17, digits, ndigits, exp10);
    }
    while (*ndigits > 1 && digits[*ndigits - 1] == '0')
        (*ndigits)--;
}

static int append_double(goio_buf *out, double x)
{
    if (isnan(x) || isinf(x))
        return GOIO_ERANGE; /* Go: json: unsupported value */
    char text[48];
    size_t len = 0;
    if (signbit(x))
        text[len++] = '-';
    double a = fabs(x);
    if (a == 0) {
        text[len++] = '0';
        return goio_buf_append(out, text, len);
    }
    char d[24];
    int n, e;
    shortest_digits(a, d, &n, &e);
    if (a < 1e-6 || a >= 1e21) {
        /* 'e' form: d[.ddd]e-7 / e+21 (Go trims "e-07" to "e-7") */
        text[len++] = d[0];
        if (n > 1) {
            text[len++] = '.';
            memcpy(text + len, d + 1, (size_t)n - 1);
            len += (size_t)n - 1;
        }
        len += (size_t)snprintf(text + len, sizeof text - len, "e%c%02d",
                                e < 0 ? '-' : '+', abs(e));
        if (e < 0 && e > -10) /* "e-07" -> "e-7" */
            text[len - 2] = text[len - 1], len--;
    } else if (e < 0) { /* 0.000ddd */
        text[len++] = '0';
        text[len++] = '.';
        for (int i = -1; i > e; i--)
            text[len++] = '0';
        memcpy(text + len, d, (size_t)n);
        len += (size_t)n;
    } else { /* ddd[.ddd], or ddd000 */
        for (int i = 0; i <= e || i < n; i++) {
            if (i == e + 1)
                text[len++] = '.';
            text[len++] = i < n ? d[i] : '0';
        }
    }
    return goio_buf_append(out, text, len);
}

/* ---- base64 (RFC 4648 standard alphabet, padded) ---- */

static int append_base64(goio_buf *out, const uint8_t *p, size_t n)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > (SIZE_MAX - 3) / 4 * 3)
        return GOIO_ENOMEM;
    int rc = goio_buf_reserve(out, (n + 2) / 3 * 4 + 2);
    if (rc)
        return rc;
    char *o = (char *)out->data + out->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = abc[v >> 18], *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63], *o++ = abc[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        *o++ = abc[v >> 18], *o++ = abc[(v >> 12) & 63];
        *o++ = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o++ = '"';
    out->len = (size_t)(o - (char *)out->data);
    return 0;
}

/* ---- structs ---- */

const goio_type_json_struct *goio__json_struct_desc(const goio_type *type)
{
    if (!type || type->encode != goio_type_json_struct_encode || !type->user)
        return NULL;
    const goio_type_json_struct *d = type->user;
    if (!d->fields && d->count)
        return NULL;
    for (size_t i = 0; i < d->count; i++) {
        const goio_type_json_field *f = &d->fields[i];
        if (!f->name || !f->name[0] || goio_type_check(f->type) ||
            f->offset > type->size || f->type->size > type->size - f->offset)
            return NULL;
        if ((f->flags & GOIO_TYPE_JSON_OPTIONAL) &&
            (f->present_offset >= type->size ||
             sizeof(bool) > type->size - f->present_offset))
            return NULL;
    }
    return d;
}

static bool is_empty(const goio_type *t, const void *v)
{
    if (t == &goio_type_string) {
        const char *s = *(char *const *)v;
        return !s || !s[0];
    }
    if (t == &goio_type_int64)
        return *(const int64_t *)v == 0;
    if (t == &goio_type_uint64)
        return *(const uint64_t *)v == 0;
    if (t == &goio_type_double)
        return *(const double *)v == 0;
    if (t == &goio_type_bool)
        return !*(const bool *)v;
    if (t == &goio_type_bytes || t == &goio_type_json_raw)
        return ((const goio_bytes *)v)->len == 0;
    return false; /* structs (time.Time too) are never empty in Go */
}

static int encode_struct(const goio_type *type, const void *value,
                         goio_buf *out, int type_depth)
{
    const goio_type_json_struct *d = goio__json_struct_desc(type);
    if (!d || type_depth >= GOIO__JSON_MAX_TYPE_DEPTH)
        return GOIO_EINVAL;
    const char *base = value;
    int rc = goio_buf_append(out, "{", 1);
    bool first = true;
    for (size_t i = 0; i < d->count && !rc; i++) {
        const goio_type_json_field *f = &d->fields[i];
        bool optional = f->flags & GOIO_TYPE_JSON_OPTIONAL;
        bool present = !optional || *(const bool *)(base + f->present_offset);
        /* Go's omitempty looks at a pointer, never at what it points to */
        if ((f->flags & GOIO_TYPE_JSON_OMITEMPTY) &&
            (optional ? !present : is_empty(f->type, base + f->offset)))
            continue;
        if (!first)
            rc = goio_buf_append(out, ",", 1);
        first = false;
        if (!rc)
            rc = goio__json_append_string(out, (const uint8_t *)f->name,
                                          strlen(f->name));
        if (!rc)
            rc = goio_buf_append(out, ":", 1);
        if (rc)
            break;
        if (present)
            rc = goio__json_encode_value(f->type, base + f->offset, out,
                                         type_depth + 1);
        else
            rc = goio_buf_append(out, "null", 4);
    }
    if (!rc)
        rc = goio_buf_append(out, "}", 1);
    return rc;
}

int goio__json_encode_value(const goio_type *t, const void *v, goio_buf *out,
                            int type_depth)
{
    if (t == &goio_type_string) {
        const char *s = *(char *const *)v;
        return goio__json_append_string(out, (const uint8_t *)(s ? s : ""),
                                        s ? strlen(s) : 0);
    }
    if (t == &goio_type_int64)
        return append_i64(out, *(const int64_t *)v, true, 0);
    if (t == &goio_type_uint64)
        return append_i64(out, 0, false, *(const uint64_t *)v);
    if (t == &goio_type_double)
        return append_double(out, *(const double *)v);
    if (t == &goio_type_bool)
        return goio_buf_append_str(out, *(const bool *)v ? "true" : "false");
    if (t == &goio_type_bytes) {
        const goio_bytes *b = v;
        if (!b->data)
            return b->len ? GOIO_EINVAL : goio_buf_append(out, "null", 4);
        return append_base64(out, b->data, b->len);
    }
    if (t == &goio_type_json_time) {
        int rc = goio_buf_append(out, "\"", 1);
        if (!rc)
            rc = goio_type_json_time_format(
                *(const goio_type_json_time_value *)v, out);
        return rc ? rc : goio_buf_append(out, "\"", 1);
    }
    if (t == &goio_type_json_raw) {
        const goio_bytes *b = v;
        if (!b->data)
            return b->len ? GOIO_EINVAL : goio_buf_append(out, "null", 4);
        int rc = goio__json_validate(b->data, b->len, 10000);
        return rc ? GOIO_EBADMSG : goio__json_compact(b->data, b->len, out);
    }
    if (t && t->encode == goio_type_json_struct_encode)
        return encode_struct(t, v, out, type_depth);
    return GOIO_ENOTSUP;
}

void goio_type_json_config_init(goio_type_json_config *cfg)
{
    if (!cfg)
        return;
    cfg->max_depth = 10000;
    cfg->max_bytes = (size_t)64 << 20;
}

int goio_type_json_encode(const goio_type *type, const void *value,
                          goio_buf *out)
{
    if (goio_type_check(type) || !value || !out)
        return GOIO_EINVAL;
    size_t before = out->len;
    int rc = goio__json_encode_value(type, value, out, 0);
    if (rc)
        out->len = before;
    return rc;
}

/* ---- the struct type's callbacks ---- */

int goio_type_json_struct_encode(const goio_type *type, const void *value,
                                 goio_buf *out)
{
    if (!type || !value || !out)
        return GOIO_EINVAL;
    return encode_struct(type, value, out, 0);
}

int goio_type_json_struct_decode(const goio_type *type, const uint8_t *bytes,
                                 size_t len, void *value)
{
    if (!goio__json_struct_desc(type) || !value || (!bytes && len))
        return GOIO_EINVAL;
    goio_type_json_config cfg;
    goio_type_json_config_init(&cfg);
    return goio__json_decode_zeroed(type, &cfg, bytes, len, value);
}

/* destroy and copy recurse into struct members here, not through their
 * callbacks, so that a descriptor that contains itself stops at the depth
 * limit instead of exhausting the stack. */
static void destroy_struct(const goio_type *type, void *value, int depth)
{
    const goio_type_json_struct *d = goio__json_struct_desc(type);
    if (!d || depth >= GOIO__JSON_MAX_TYPE_DEPTH)
        return;
    for (size_t i = 0; i < d->count; i++) {
        const goio_type_json_field *f = &d->fields[i];
        void *fv = (char *)value + f->offset;
        if (f->type->encode == goio_type_json_struct_encode)
            destroy_struct(f->type, fv, depth + 1);
        else if (f->type->destroy)
            f->type->destroy(f->type, fv);
    }
}

void goio_type_json_struct_deinit(const goio_type *type, void *value)
{
    if (value)
        destroy_struct(type, value, 0);
}

/* Zeroes the described members (recursively) so a failed copy can be
 * destroyed safely. */
static void zero_members(const goio_type *type, void *v, int depth)
{
    const goio_type_json_struct *d = goio__json_struct_desc(type);
    if (!d || depth >= GOIO__JSON_MAX_TYPE_DEPTH)
        return;
    for (size_t i = 0; i < d->count; i++)
        memset((char *)v + d->fields[i].offset, 0, d->fields[i].type->size);
}

/* Deep copy of the described members into dst, whose described members
 * are zero. */
static int copy_members(const goio_type *type, void *dst, const void *src,
                        int depth)
{
    const goio_type_json_struct *d = goio__json_struct_desc(type);
    if (!d || depth >= GOIO__JSON_MAX_TYPE_DEPTH)
        return GOIO_EINVAL;
    int rc = 0;
    for (size_t i = 0; i < d->count && !rc; i++) {
        const goio_type_json_field *f = &d->fields[i];
        char *fd = (char *)dst + f->offset;
        const char *fs = (const char *)src + f->offset;
        if (f->type->encode == goio_type_json_struct_encode) {
            memcpy(fd, fs, f->type->size); /* its plain members */
            zero_members(f->type, fd, depth + 1);
            rc = copy_members(f->type, fd, fs, depth + 1);
        } else if (f->type->copy) {
            rc = f->type->copy(f->type, fd, fs);
        } else {
            memcpy(fd, fs, f->type->size);
        }
    }
    return rc;
}

int goio_type_json_struct_copy(const goio_type *type, void *dst,
                               const void *src)
{
    if (!goio__json_struct_desc(type) || !dst || !src)
        return GOIO_EINVAL;
    /* plain members first, then a deep copy over each described one */
    memcpy(dst, src, type->size);
    zero_members(type, dst, 0);
    int rc = copy_members(type, dst, src, 0);
    if (rc) {
        destroy_struct(type, dst, 0);
        memset(dst, 0, type->size);
    }
    return rc;
}
