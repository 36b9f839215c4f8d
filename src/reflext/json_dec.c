/* SPDX-License-Identifier: MIT */
/*
 * JSON decoding as Go's json.Unmarshal reads it. Two passes: the whole
 * input is validated first (iteratively, depth-bounded, so hostile nesting
 * costs neither stack nor more than max_depth bytes of memory), which also
 * gives Go's precedence of syntax errors over type errors; then a
 * type-directed pass decodes, recursing only along the C types (bounded by
 * their nesting) and skipping values it has no place for.
 */
#include "json_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* p is after the opening quote; returns the position after the closing one
 * or NULL. */
static const uint8_t *scan_string(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        uint8_t c = *p++;
        if (c == '"')
            return p;
        if (c < 0x20)
            return NULL;
        if (c != '\\')
            continue;
        if (p >= end)
            return NULL;
        c = *p++;
        if (c == 'u') {
            if (end - p < 4)
                return NULL;
            for (int i = 0; i < 4; i++)
                if (hexval(p[i]) < 0)
                    return NULL;
            p += 4;
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return NULL;
        }
    }
    return NULL;
}

static bool is_digit(const uint8_t *p, const uint8_t *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static const uint8_t *scan_number(const uint8_t *p, const uint8_t *end)
{
    if (p < end && *p == '-')
        p++;
    if (!is_digit(p, end))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (is_digit(p, end))
            p++;
    if (p < end && *p == '.') {
        p++;
        if (!is_digit(p, end))
            return NULL;
        while (is_digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            return NULL;
        while (is_digit(p, end))
            p++;
    }
    return p;
}

static const uint8_t *scan_literal(const uint8_t *p, const uint8_t *end)
{
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(end - p) >= n && !memcmp(p, words[i], n))
            return p + n;
    }
    return NULL;
}

/*
 * Scans one value at *pp (whitespace already skipped) without recursion:
 * the open containers are kept as one byte each ('{' or '['), on the stack
 * up to 256 deep, beyond that in one allocation of max_depth bytes.
 */
static int scan_value(const uint8_t **pp, const uint8_t *end, size_t max_depth)
{
    uint8_t small[256], *stack = small;
    size_t depth = 0;
    int rc = GOIO_EBADMSG;
    const uint8_t *p = *pp;
    for (;;) {
        /* a value */
        p = skip_ws(p, end);
        if (p >= end)
            goto out;
        if (*p == '{' || *p == '[') {
            if (depth >= max_depth) {
                rc = GOIO_ELIMIT;
                goto out;
            }
            if (depth == sizeof small && stack == small) {
                /* no deeper than the input is long */
                size_t cap = (size_t)(end - p) + depth;
                stack = goio_malloc(cap < max_depth ? cap : max_depth);
                if (!stack) {
                    stack = small;
                    rc = GOIO_ENOMEM;
                    goto out;
                }
                memcpy(stack, small, sizeof small);
            }
            uint8_t open = *p++;
            stack[depth++] = open;
            p = skip_ws(p, end);
            if (p < end && *p == (open == '{' ? '}' : ']')) {
                p++;
                depth--;
            } else if (open == '{') {
                goto key;
            } else {
                continue;
            }
        } else if (*p == '"') {
            p = scan_string(p + 1, end);
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            p = scan_number(p, end);
        } else {
            p = scan_literal(p, end);
        }
        if (!p)
            goto out;
        /* after a value: close containers, or go on after a comma */
        for (;;) {
            if (depth == 0) {
                *pp = p;
                rc = 0;
                goto out;
            }
            p = skip_ws(p, end);
            if (p >= end)
                goto out;
            uint8_t top = stack[depth - 1];
            if (*p == (top == '{' ? '}' : ']')) {
                p++;
                depth--;
                continue;
            }
            if (*p != ',')
                goto out;
            p = skip_ws(p + 1, end);
            if (top == '[')
                break;
        key:
            if (p >= end || *p != '"' || !(p = scan_string(p + 1, end)))
                goto out;
            p = skip_ws(p, end);
            if (p >= end || *p != ':')
                goto out;
            p++;
            break;
        }
    }
out:
    if (stack != small)
        goio_free(stack);
    return rc;
}

int goio__json_validate(const uint8_t *p, size_t n, size_t max_depth)
{
    const uint8_t *end = p + n;
    p = skip_ws(p, end);
    int rc = scan_value(&p, end, max_depth);
    if (!rc && skip_ws(p, end) != end)
        rc = GOIO_EBADMSG;
    return rc;
}

/* ---- string contents ---- */

static int append_rune(goio_buf *out, uint32_t r)
{
    uint8_t b[4];
    size_t n;
    if (r < 0x80) {
        b[0] = (uint8_t)r, n = 1;
    } else if (r < 0x800) {
        b[0] = (uint8_t)(0xC0 | r >> 6), b[1] = (uint8_t)(0x80 | (r & 63));
        n = 2;
    } else if (r < 0x10000) {
        b[0] = (uint8_t)(0xE0 | r >> 12);
        b[1] = (uint8_t)(0x80 | ((r >> 6) & 63));
        b[2] = (uint8_t)(0x80 | (r & 63)), n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | r >> 18);
        b[1] = (uint8_t)(0x80 | ((r >> 12) & 63));
        b[2] = (uint8_t)(0x80 | ((r >> 6) & 63));
        b[3] = (uint8_t)(0x80 | (r & 63)), n = 4;
    }
    return goio_buf_append(out, b, n);
}

static uint32_t hex4(const uint8_t *p)
{
    return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
                      hexval(p[2]) << 4 | hexval(p[3]));
}

/*
 * Unquotes the valid string literal p[0..n) (quotes included) into out as
 * Go does: escapes resolved, UTF-16 surrogate pairs joined, a lone
 * surrogate and each byte of invalid UTF-8 replaced by U+FFFD.
 */
static int unquote(const uint8_t *p, size_t n, goio_buf *out)
{
    const uint8_t *end = p + n - 1;
    p++;
    int rc = 0;
    while (p < end && !rc) {
        const uint8_t *run = p;
        while (p < end && *p != '\\' && *p < 0x80)
            p++;
        rc = goio_buf_append(out, run, (size_t)(p - run));
        if (rc || p >= end)
            break;
        if (*p >= 0x80) {
            uint32_t r;
            size_t w = goio__json_utf8_decode(p, (size_t)(end - p), &r);
            rc = w ? goio_buf_append(out, p, w)
                   : goio_buf_append(out, "\xEF\xBF\xBD", 3);
            p += w ? w : 1;
            continue;
        }
        uint8_t c = p[1];
        p += 2;
        if (c != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            rc = goio_buf_append(out, &to[strchr(from, c) - from], 1);
            continue;
        }
        uint32_t r = hex4(p);
        p += 4;
        if (r >= 0xD800 && r < 0xE000) {
            uint32_t lo = 0;
            if (r < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u')
                lo = hex4(p + 2);
            if (lo >= 0xDC00 && lo < 0xE000) {
                r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else {
                r = 0xFFFD;
            }
        }
        rc = append_rune(out, r);
    }
    return rc;
}

/* ---- compact (json.RawMessage output) ---- */

int goio__json_compact(const uint8_t *p, size_t n, goio_buf *out)
{
    int rc = goio_buf_reserve(out, n);
    const uint8_t *end = p + n;
    while (p < end && !rc) {
        uint8_t c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
        } else if (c == '"') {
            const uint8_t *q = scan_string(p + 1, end);
            const uint8_t *run = p;
            for (; p < q && !rc; p++) {
                const char *esc = NULL;
                if (*p == '<')
                    esc = "\\u003c";
                else if (*p == '>')
                    esc = "\\u003e";
                else if (*p == '&')
                    esc = "\\u0026";
                else if (*p == 0xE2 && q - p >= 3 && p[1] == 0x80 &&
                         (p[2] == 0xA8 || p[2] == 0xA9))
                    esc = p[2] == 0xA8 ? "\\u2028" : "\\u2029";
                if (!esc)
                    continue;
                rc = goio_buf_append(out, run, (size_t)(p - run));
                if (!rc)
                    rc = goio_buf_append(out, esc, 6);
                if (*p == 0xE2)
                    p += 2;
                run = p + 1;
            }
            if (!rc)
                rc = goio_buf_append(out, run, (size_t)(q - run));
            p = q;
        } else {
            rc = goio_buf_append(out, p++, 1);
        }
    }
    return rc;
}

/* ---- typed decoding ---- */

typedef struct {
    const uint8_t *p, *end;
    int err;      /* first value error (Go saves it and goes on) */
    goio_buf tmp; /* unquoted strings */
} dec;

static void skip(dec *d)
{
    /* The input was validated: counting brackets is enough. */
    size_t depth = 0;
    const uint8_t *p = d->p;
    do {
        p = skip_ws(p, d->end);
        uint8_t c = *p;
        if (c == '{' || c == '[') {
            depth++, p++;
        } else if (c == '}' || c == ']') {
            depth--, p++;
        } else if (c == ',' || c == ':') {
            p++;
        } else if (c == '"') {
            p = scan_string(p + 1, d->end);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            p = scan_number(p, d->end);
        } else {
            p = scan_literal(p, d->end);
        }
    } while (depth > 0);
    d->p = p;
}

static void value_error(dec *d, int rc)
{
    if (!d->err)
        d->err = rc;
}

/* The current token, if it is a string: unquoted into d->tmp. */
static int take_string(dec *d)
{
    const uint8_t *start = d->p;
    d->p = scan_string(d->p + 1, d->end);
    d->tmp.len = 0;
    return unquote(start, (size_t)(d->p - start), &d->tmp);
}

static bool take_null(dec *d)
{
    if (*d->p != 'n')
        return false;
    d->p += 4;
    return true;
}

static int decode_base64(const uint8_t *s, size_t n, goio_bytes *b)
{
    uint8_t *o = goio_malloc(n / 4 * 3 + 3);
    if (!o)
        return GOIO_ENOMEM;
    size_t len = 0, q = 0, pad = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        int v;
        if (c == '\r' || c == '\n') /* Go's decoder skips line breaks */
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad) /* data after padding */
            goto bad;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            goto bad;
        acc = acc << 6 | (uint32_t)v;
        if (++q == 4) {
            o[len++] = (uint8_t)(acc >> 16), o[len++] = (uint8_t)(acc >> 8);
            o[len++] = (uint8_t)acc;
            q = 0, acc = 0;
        }
    }
    /* a final group of 2 or 3 symbols needs exactly 2 or 1 '=' */
    if ((q == 0 && pad) || q == 1 || (q && q + pad != 4))
        goto bad;
    if (q == 2) {
        o[len++] = (uint8_t)(acc >> 4);
    } else if (q == 3) {
        o[len++] = (uint8_t)(acc >> 10), o[len++] = (uint8_t)(acc >> 2);
    }
    b->data = o;
    b->len = len;
    return 0;
bad:
    goio_free(o);
    return GOIO_EBADMSG;
}

static void replace_bytes(const goio_type *t, goio_bytes *dst, goio_bytes nb)
{
    t->destroy(t, dst);
    *dst = nb;
}

static int decode_into(dec *d, const goio_type *t, void *v, int type_depth);

/* Zero-filled storage -> Go's zero value: times become 0001-01-01. Also
 * walks the whole type once: GOIO_EINVAL for a malformed descriptor or
 * one nested too deep (one that contains itself). */
static int go_zero(const goio_type *t, void *v, int type_depth)
{
    if (t == &goio_type_json_time) {
        ((goio_type_json_time_value *)v)->sec = GOIO_TYPE_JSON_TIME_GO_ZERO_SEC;
        return 0;
    }
    if (t->encode != goio_type_json_struct_encode)
        return 0;
    const goio_type_json_struct *s = goio__json_struct_desc(t);
    if (!s || type_depth >= GOIO__JSON_MAX_TYPE_DEPTH)
        return GOIO_EINVAL;
    int rc = 0;
    for (size_t i = 0; i < s->count && !rc; i++)
        rc = go_zero(s->fields[i].type, (char *)v + s->fields[i].offset,
                     type_depth + 1);
    return rc;
}

/* Go's case-insensitive key match for an ASCII name, with the Kelvin sign
 * (U+212A) and long s (U+017F) folding to k and s as Go folds them. */
static bool fold_equal(const char *name, const uint8_t *k, size_t n)
{
    const uint8_t *end = k + n;
    for (; *name; name++) {
        uint8_t c = (uint8_t)*name, u = c & 0xDF;
        if (k >= end)
            return false;
        if (*k < 0x80) {
            if (*k != c && (u < 'A' || u > 'Z' || (*k & 0xDF) != u))
                return false;
            k++;
            continue;
        }
        if (c >= 0x80) { /* non-ASCII names match exactly */
            if (*k != c)
                return false;
            k++;
            continue;
        }
        if (u == 'K' && end - k >= 3 && !memcmp(k, "\xE2\x84\xAA", 3))
            k += 3;
        else if (u == 'S' && end - k >= 2 && !memcmp(k, "\xC5\xBF", 2))
            k += 2;
        else
            return false;
    }
    return k == end;
}

static const goio_type_json_field *find_field(const goio_type_json_struct *s,
                                              const uint8_t *k, size_t n)
{
    const goio_type_json_field *folded = NULL;
    for (size_t i = 0; i < s->count; i++) {
        const goio_type_json_field *f = &s->fields[i];
        if (strlen(f->name) == n && !memcmp(f->name, k, n))
            return f;
        if (!folded && fold_equal(f->name, k, n))
            folded = f;
    }
    return folded;
}

static int decode_struct(dec *d, const goio_type *t, char *base, int type_depth)
{
    const goio_type_json_struct *s = goio__json_struct_desc(t);
    if (!s || type_depth >= GOIO__JSON_MAX_TYPE_DEPTH)
        return GOIO_EINVAL;
    if (take_null(d))
        return 0;
    if (*d->p != '{') {
        value_error(d, GOIO_ETYPE);
        skip(d);
        return 0;
    }
    d->p = skip_ws(d->p + 1, d->end);
    if (*d->p == '}') {
        d->p++;
        return 0;
    }
    for (;;) {
        int rc = take_string(d);
        if (rc)
            return rc;
        /* an empty key leaves tmp without storage */
        const uint8_t *key = d->tmp.data ? d->tmp.data : (const uint8_t *)"";
        const goio_type_json_field *f = find_field(s, key, d->tmp.len);
        d->p = skip_ws(skip_ws(d->p, d->end) + 1, d->end); /* ':' */
        if (!f) {
            skip(d);
        } else if (f->flags & GOIO_TYPE_JSON_OPTIONAL) {
            bool *present = (bool *)(base + f->present_offset);
            void *fv = base + f->offset;
            if (*d->p == 'n') { /* null: Go's nil pointer */
                d->p += 4;
                goio_type_value_deinit(f->type, fv);
                (void)go_zero(f->type, fv, type_depth + 1); /* walked */
                *present = false;
            } else {
                *present = true;
                rc = decode_into(d, f->type, fv, type_depth + 1);
            }
        } else {
            rc = decode_into(d, f->type, base + f->offset, type_depth + 1);
        }
        if (rc)
            return rc;
        d->p = skip_ws(d->p, d->end);
        if (*d->p++ == '}')
            return 0;
        d->p = skip_ws(d->p, d->end); /* after ',' */
    }
}

static int decode_number(dec *d, const goio_type *t, void *v)
{
    const uint8_t *start = d->p;
    d->p = scan_number(d->p, d->end);
    size_t n = (size_t)(d->p - start);
    char text[400];
    if (n >= sizeof text) {
        if (t != &goio_type_double) { /* too long for any integer */
            value_error(d, GOIO_ETYPE);
            return 0;
        }
        /* a float this long: parse a copy */
        char *copy = goio_strndup((const char *)start, n);
        if (!copy)
            return GOIO_ENOMEM;
        errno = 0;
        double x = strtod(copy, NULL);
        goio_free(copy);
        if (isinf(x))
            value_error(d, GOIO_ETYPE);
        else
            *(double *)v = x;
        return 0;
    }
    memcpy(text, start, n);
    text[n] = '\0';
    char *endp;
    errno = 0;
    if (t == &goio_type_double) {
        double x = strtod(text, &endp);
        if (isinf(x)) /* Go: out of range is a type error */
            value_error(d, GOIO_ETYPE);
        else
            *(double *)v = x;
    } else if (t == &goio_type_int64) {
        long long x = strtoll(text, &endp, 10);
        if (errno || *endp)
            value_error(d, GOIO_ETYPE);
        else
            *(int64_t *)v = (int64_t)x;
    } else {
        unsigned long long x = strtoull(text, &endp, 10);
        if (text[0] == '-' || errno || *endp)
            value_error(d, GOIO_ETYPE);
        else
            *(uint64_t *)v = (uint64_t)x;
    }
    return 0;
}

/* A JSON array of numbers 0..255 into a goio_bytes, as Go reads []uint8. */
static int decode_byte_array(dec *d, goio_bytes *v)
{
    goio_buf b;
    goio_buf_init(&b);
    int rc = 0;
    d->p = skip_ws(d->p + 1, d->end);
    bool done = *d->p == ']';
    if (done)
        d->p++;
    while (!done && !rc) {
        d->p = skip_ws(d->p, d->end);
        uint8_t c = *d->p, x = 0;
        if (c == '-' || (c >= '0' && c <= '9')) {
            uint64_t u = 0;
            rc = decode_number(d, &goio_type_uint64, &u);
            if (u > 255)
                value_error(d, GOIO_ETYPE);
            x = (uint8_t)u;
        } else if (!take_null(d)) { /* null leaves the element 0 */
            value_error(d, GOIO_ETYPE);
            skip(d);
        }
        if (!rc)
            rc = goio_buf_append(&b, &x, 1);
        d->p = skip_ws(d->p, d->end);
        done = *d->p++ == ']'; /* else ',' */
    }
    if (!rc) {
        size_t len;
        uint8_t *data = goio_buf_detach(&b, &len);
        if (!data)
            data = goio_malloc(1), len = 0;
        if (!data)
            rc = GOIO_ENOMEM;
        else
            replace_bytes(&goio_type_bytes, v, (goio_bytes){data, len});
    }
    goio_buf_deinit(&b);
    return rc;
}

static int decode_into(dec *d, const goio_type *t, void *v, int type_depth)
{
    d->p = skip_ws(d->p, d->end);
    uint8_t c = *d->p;
    if (t == &goio_type_json_raw) {
        const uint8_t *start = d->p;
        skip(d);
        goio_bytes nb = {goio_memdup(start, (size_t)(d->p - start)),
                         (size_t)(d->p - start)};
        if (!nb.data)
            return GOIO_ENOMEM;
        replace_bytes(t, v, nb);
        return 0;
    }
    if (t->encode == goio_type_json_struct_encode)
        return decode_struct(d, t, v, type_depth);
    if (t == &goio_type_bytes && c == 'n') {
        d->p += 4;
        replace_bytes(t, v, (goio_bytes){NULL, 0});
        return 0;
    }
    if (take_null(d)) /* Go leaves strings, numbers, bools, times alone */
        return 0;
    if (t == &goio_type_bytes && c == '[') /* []byte is a []uint8 to Go */
        return decode_byte_array(d, v);
    bool is_num = t == &goio_type_int64 || t == &goio_type_uint64 ||
                  t == &goio_type_double;
    bool is_str = t == &goio_type_string || t == &goio_type_bytes ||
                  t == &goio_type_json_time;
    if (t == &goio_type_bool && (c == 't' || c == 'f')) {
        *(bool *)v = c == 't';
        d->p += c == 't' ? 4 : 5;
        return 0;
    }
    if (is_num && (c == '-' || (c >= '0' && c <= '9')))
        return decode_number(d, t, v);
    if (!is_str || c != '"') {
        value_error(d, is_num || is_str || t == &goio_type_bool ? GOIO_ETYPE
                                                                : GOIO_ENOTSUP);
        skip(d);
        return 0;
    }
    int rc = take_string(d);
    if (rc)
        return rc;
    /* an empty string leaves tmp without storage */
    const uint8_t *s = d->tmp.data ? d->tmp.data : (const uint8_t *)"";
    size_t n = d->tmp.len;
    if (t == &goio_type_string) {
        if (memchr(s, '\0', n)) { /* a C string cannot hold it */
            value_error(d, GOIO_ETYPE);
            return 0;
        }
        char *copy =
            goio_strndup((const char *)(n ? s : (const uint8_t *)""), n);
        if (!copy)
            return GOIO_ENOMEM;
        goio_free(*(char **)v);
        *(char **)v = copy;
    } else if (t == &goio_type_bytes) {
        goio_bytes nb;
        rc = decode_base64(s, n, &nb);
        if (rc == GOIO_ENOMEM)
            return rc;
        if (rc)
            value_error(d, rc);
        else
            replace_bytes(t, v, nb);
    } else {
        goio_type_json_time_value tv;
        rc = goio_type_json_time_parse((const char *)s, n, &tv);
        if (rc)
            value_error(d, rc);
        else
            *(goio_type_json_time_value *)v = tv;
    }
    return 0;
}

static bool has_json_form(const goio_type *t)
{
    return t == &goio_type_string || t == &goio_type_int64 ||
           t == &goio_type_uint64 || t == &goio_type_double ||
           t == &goio_type_bool || t == &goio_type_bytes ||
           t == &goio_type_json_time || t == &goio_type_json_raw ||
           t->encode == goio_type_json_struct_encode;
}

int goio__json_decode_zeroed(const goio_type *type,
                             const goio_type_json_config *cfg, const uint8_t *p,
                             size_t n, void *value)
{
    if (!has_json_form(type))
        return GOIO_ENOTSUP;
    if (type->encode == goio_type_json_struct_encode &&
        !goio__json_struct_desc(type))
        return GOIO_EINVAL;
    if (n > cfg->max_bytes)
        return GOIO_EMSGSIZE;
    static const uint8_t empty[1];
    if (!p)
        p = empty;
    int rc = goio__json_validate(p, n, cfg->max_depth);
    if (rc)
        return rc;
    dec d = {p, p + n, 0, {0}};
    goio_buf_init(&d.tmp);
    rc = go_zero(type, value, 0);
    if (!rc)
        rc = decode_into(&d, type, value, 0);
    if (!rc)
        rc = d.err;
    goio_buf_deinit(&d.tmp);
    if (rc && type->destroy) {
        type->destroy(type, value);
        memset(value, 0, type->size);
    }
    return rc;
}

int goio_type_json_decode(const goio_type *type,
                          const goio_type_json_config *cfg, const uint8_t *json,
                          size_t len, void *value)
{
    if (goio_type_check(type) || !value || (!json && len))
        return GOIO_EINVAL;
    goio_type_json_config defaults;
    if (!cfg) {
        goio_type_json_config_init(&defaults);
        cfg = &defaults;
    }
    if (!cfg->max_depth || !cfg->max_bytes)
        return GOIO_EINVAL;
    void *tmp = goio_calloc(1, type->size);
    if (!tmp)
        return GOIO_ENOMEM;
    int rc = goio__json_decode_zeroed(type, cfg, json, len, tmp);
    if (!rc) {
        if (type->destroy)
            type->destroy(type, value);
        memcpy(value, tmp, type->size);
    }
    goio_free(tmp);
    return rc;
}
