/* SPDX-License-Identifier: MIT */
/*
 * Strict RFC 9112 framing check, run over the bytes before libhttp-parser
 * sees them. Debian's http-parser is built lenient (bare LF, obs-fold,
 * spaces around header names, any two bytes after chunk data) and its
 * callbacks cannot show those violations, so this scanner walks the same
 * bytes itself: the request line, every field line, and the body framing
 * (Content-Length or chunked, with trailers). It keeps no copy of the
 * input, only a few bytes of the fields that decide framing. The parser
 * layer cross-checks it with http-parser: both must end a message at the
 * same byte.
 */
#include "http_int.h"

#include <string.h>
#include <strings.h>

enum {
    S_START,
    S_START_LF,
    S_METHOD,
    S_TARGET0,
    S_TARGET,
    S_VERSION,
    S_RL_LF,
    S_HDR_START,
    S_NAME,
    S_OWS,
    S_VALUE,
    S_VALUE_LF,
    S_HDRS_END_LF,
    S_BODY,
    S_CH_SIZE0,
    S_CH_SIZE,
    S_CH_BWS,
    S_CH_EXT,
    S_CH_SIZE_LF,
    S_CH_DATA,
    S_CH_DATA_CR,
    S_CH_DATA_LF,
    S_ERROR
};

enum { F_OTHER, F_CONTENT_LENGTH, F_TRANSFER_ENCODING, F_HOST };

void goio__http_strict_init(goio__http_strict *s)
{
    memset(s, 0, sizeof *s);
    s->state = S_START;
}

/* RFC 9110 tchar. */
static bool is_tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_hex(uint8_t c, unsigned *v)
{
    if (c >= '0' && c <= '9')
        *v = c - '0';
    else if (c >= 'a' && c <= 'f')
        *v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        *v = c - 'A' + 10;
    else
        return false;
    return true;
}

/* field-vchar / obs-text / SP / HTAB: no CTL, no DEL. */
static bool is_value_char(uint8_t c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int fail_at(goio__http_strict *s, int status)
{
    s->state = S_ERROR;
    s->status = status;
    return -1;
}

static void start_message(goio__http_strict *s)
{
    int st = S_START;
    memset(s, 0, sizeof *s);
    s->state = st;
}

/* The field name is complete: which framing field is it? */
static void classify(goio__http_strict *s)
{
    s->field = F_OTHER;
    if (s->trailers || s->name_long)
        return;
    s->name[s->name_len] = 0;
    if (!strcmp(s->name, "content-length"))
        s->field = F_CONTENT_LENGTH;
    else if (!strcmp(s->name, "transfer-encoding"))
        s->field = F_TRANSFER_ENCODING;
    else if (!strcmp(s->name, "host"))
        s->field = F_HOST;
}

static int end_field(goio__http_strict *s)
{
    size_t n = s->val_len;
    while (n && (s->val[n - 1] == ' ' || s->val[n - 1] == '\t'))
        n--;
    switch (s->field) {
    case F_HOST:
        if (++s->hosts > 1)
            return fail_at(s, 400);
        break;
    case F_CONTENT_LENGTH: {
        if (s->has_cl || !n)
            return fail_at(s, 400);
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            if (s->val[i] < '0' || s->val[i] > '9')
                return fail_at(s, 400);
            v = v * 10 + (uint64_t)(s->val[i] - '0');
        }
        if (s->val_long)
            return fail_at(s, 400); /* digits, then more than spaces */
        s->has_cl = true;
        s->remaining = v;
        break;
    }
    case F_TRANSFER_ENCODING:
        if (s->has_te)
            s->te_chunked = false; /* a second coding: not only chunked */
        else
            s->te_chunked =
                !s->val_long && n == 7 && !strncasecmp(s->val, "chunked", 7);
        s->has_te = true;
        break;
    default:
        break;
    }
    return 0;
}

/* The empty line after the fields. Returns 1 when the message ends. */
static int end_headers(goio__http_strict *s)
{
    if (s->trailers)
        return 1;
    bool http11 = s->major == 1 && s->minor >= 1;
    if (s->hosts > 1 || (http11 && s->hosts != 1))
        return fail_at(s, 400); /* RFC 9112 3.2 */
    if (s->has_te) {
        if (s->has_cl || !http11)
            return fail_at(s, 400); /* RFC 9112 6.1 and 6.3 */
        if (!s->te_chunked)
            return fail_at(s, 501);
        s->state = S_CH_SIZE0;
        return 0;
    }
    if (s->has_cl && s->remaining) {
        s->state = S_BODY;
        return 0;
    }
    return 1;
}

static const char version_prefix[] = "HTTP/";

size_t goio__http_strict_scan(goio__http_strict *s, const uint8_t *p,
                              size_t len, int *result)
{
    size_t i = 0;
    *result = 0;
    if (s->state == S_ERROR) {
        *result = -1;
        return 0;
    }
    for (; i < len; i++) {
        uint8_t c = p[i];
        int end = 0;
        unsigned hv;
        switch (s->state) {
        case S_START: /* RFC 9112 2.2: empty lines before a request */
            if (c == '\r')
                s->state = S_START_LF;
            else if (is_tchar(c))
                s->state = S_METHOD;
            else
                end = fail_at(s, 400);
            break;
        case S_START_LF:
            end = c == '\n' ? (s->state = S_START, 0) : fail_at(s, 400);
            break;
        case S_METHOD:
            if (c == ' ')
                s->state = S_TARGET0;
            else if (!is_tchar(c))
                end = fail_at(s, 400);
            break;
        case S_TARGET0:
        case S_TARGET:
            if (c > 0x20 && c < 0x7f)
                s->state = S_TARGET;
            else if (c == ' ' && s->state == S_TARGET)
                s->state = S_VERSION;
            else
                end = fail_at(s, 400); /* HTTP/0.9, double space, CTL */
            break;
        case S_VERSION:
            if (s->vpos < 5) {
                if (c != (uint8_t)version_prefix[s->vpos])
                    end = fail_at(s, 400);
            } else if (s->vpos == 5 || s->vpos == 7) {
                if (c < '0' || c > '9')
                    end = fail_at(s, 400);
                else if (s->vpos == 5)
                    s->major = c - '0';
                else
                    s->minor = c - '0';
            } else if (s->vpos == 6) {
                if (c != '.')
                    end = fail_at(s, 400);
            } else if (c == '\r') {
                s->state = S_RL_LF;
            } else {
                end = fail_at(s, 400);
            }
            s->vpos++;
            break;
        case S_RL_LF:
            end = c == '\n' ? (s->state = S_HDR_START, 0) : fail_at(s, 400);
            break;
        case S_HDR_START:
            if (c == '\r') {
                s->state = S_HDRS_END_LF;
            } else if (is_tchar(c)) {
                s->state = S_NAME;
                s->name_len = 0;
                s->name_long = false;
                s->name[s->name_len++] = (char)(c | 0x20);
            } else {
                end = fail_at(s, 400); /* obs-fold, bare LF, ... */
            }
            break;
        case S_NAME:
            if (c == ':') {
                classify(s);
                s->val_len = 0;
                s->val_long = false;
                s->state = S_OWS;
            } else if (!is_tchar(c)) {
                end = fail_at(s, 400); /* "Content-Length :" */
            } else if (s->name_len + 1 < sizeof s->name) {
                s->name[s->name_len++] = (char)(c | 0x20);
            } else {
                s->name_long = true;
            }
            break;
        case S_OWS:
            if (c == ' ' || c == '\t')
                break;
            s->state = S_VALUE;
            /* fall through */
        case S_VALUE:
            if (c == '\r') {
                s->state = S_VALUE_LF;
            } else if (!is_value_char(c)) {
                end = fail_at(s, 400);
            } else if (s->field == F_CONTENT_LENGTH && s->val_len == 18 &&
                       c >= '0' && c <= '9') {
                /* 19 digits: beyond any body limit. Said here, before
                 * http-parser sees the digit and calls it an overflow. */
                end = fail_at(s, 413);
            } else if (s->field != F_OTHER) {
                if (s->val_len < sizeof s->val)
                    s->val[s->val_len++] = (char)c;
                else
                    s->val_long = true;
            }
            break;
        case S_VALUE_LF:
            if (c != '\n')
                end = fail_at(s, 400);
            else if (!(end = end_field(s)))
                s->state = S_HDR_START;
            break;
        case S_HDRS_END_LF:
            end = c == '\n' ? end_headers(s) : fail_at(s, 400);
            break;
        case S_BODY: {
            uint64_t n = len - i;
            n = n < s->remaining ? n : s->remaining;
            s->remaining -= n;
            i += (size_t)n - 1;
            end = s->remaining ? 0 : 1;
            break;
        }
        case S_CH_SIZE0:
        case S_CH_SIZE:
            if (is_hex(c, &hv)) {
                if (++s->hex_digits > 15)
                    end = fail_at(s, 400);
                s->remaining = s->remaining * 16 + hv;
                s->state = S_CH_SIZE;
            } else if (s->state == S_CH_SIZE0) {
                end = fail_at(s, 400);
            } else if (c == ';') {
                s->state = S_CH_EXT;
            } else if (c == ' ' || c == '\t') {
                s->state = S_CH_BWS;
            } else if (c == '\r') {
                s->state = S_CH_SIZE_LF;
            } else {
                end = fail_at(s, 400);
            }
            break;
        case S_CH_BWS:
            if (c == ';')
                s->state = S_CH_EXT;
            else if (c != ' ' && c != '\t')
                end = fail_at(s, 400);
            break;
        case S_CH_EXT:
            if (c == '\r')
                s->state = S_CH_SIZE_LF;
            else if (!is_value_char(c))
                end = fail_at(s, 400);
            break;
        case S_CH_SIZE_LF:
            if (c != '\n') {
                end = fail_at(s, 400);
            } else if (s->remaining) {
                s->hex_digits = 0;
                s->state = S_CH_DATA;
            } else {
                s->trailers = true; /* last-chunk: trailer fields */
                s->state = S_HDR_START;
            }
            break;
        case S_CH_DATA: {
            uint64_t n = len - i;
            n = n < s->remaining ? n : s->remaining;
            s->remaining -= n;
            i += (size_t)n - 1;
            if (!s->remaining)
                s->state = S_CH_DATA_CR;
            break;
        }
        case S_CH_DATA_CR:
            end = c == '\r' ? (s->state = S_CH_DATA_LF, 0) : fail_at(s, 400);
            break;
        case S_CH_DATA_LF:
            end = c == '\n' ? (s->state = S_CH_SIZE0, 0) : fail_at(s, 400);
            break;
        default:
            end = fail_at(s, 400);
            break;
        }
        if (end < 0) {
            *result = -1;
            return i;
        }
        if (end > 0) {
            start_message(s);
            *result = 1;
            return i + 1;
        }
    }
    return i;
}
