/* SPDX-License-Identifier: MIT */
/*
 * The envelope: a value with its fresh-until instant, in the versioned
 * byte format documented in goio/cache.h.
 */
#include "cache_int.h"

#include <string.h>

int goio_cache_envelope_encode(goio_buf *out, int64_t fresh_until_ms,
                               const void *value, size_t len)
{
    if (!out || (!value && len))
        return GOIO_EINVAL;
    uint8_t head[GOIO_CACHE_ENVELOPE_HEADER];
    head[0] = GOIO_CACHE_ENVELOPE_MAGIC;
    head[1] = GOIO_CACHE_ENVELOPE_VERSION;
    uint64_t u = (uint64_t)fresh_until_ms;
    for (int i = 0; i < 8; i++)
        head[2 + i] = (uint8_t)(u >> (8 * i));
    int rc = goio_buf_reserve(out, sizeof head + len);
    if (rc == 0)
        rc = goio_buf_append(out, head, sizeof head);
    if (rc == 0)
        rc = goio_buf_append(out, value, len);
    return rc;
}

int goio_cache_envelope_decode(const uint8_t *bytes, size_t len,
                               int64_t *fresh_until_ms, const uint8_t **value,
                               size_t *value_len)
{
    if ((!bytes && len) || !fresh_until_ms || !value || !value_len)
        return GOIO_EINVAL;
    if (len < GOIO_CACHE_ENVELOPE_HEADER ||
        bytes[0] != GOIO_CACHE_ENVELOPE_MAGIC ||
        bytes[1] != GOIO_CACHE_ENVELOPE_VERSION)
        return GOIO_EBADMSG;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)bytes[2 + i] << (8 * i);
    *fresh_until_ms = (int64_t)u;
    *value = bytes + GOIO_CACHE_ENVELOPE_HEADER;
    *value_len = len - GOIO_CACHE_ENVELOPE_HEADER;
    return 0;
}

/* Unwraps an envelope held in b in place: b keeps only the value. */
int goio__cache_envelope_unwrap(goio_buf *b, int64_t *fresh_until_ms)
{
    const uint8_t *value;
    size_t len;
    int rc = goio_cache_envelope_decode(b->data, b->len, fresh_until_ms, &value,
                                        &len);
    if (rc < 0)
        return rc;
    memmove(b->data, value, len);
    b->len = len;
    return 0;
}

void goio__cache_log_bad_envelope(const char *key, int rc)
{
    goio_log(GOIO_LOG_ERROR, "cache", "bad_cache_envelope", key, rc,
             "stored bytes are not an envelope in this cache's wire format; "
             "treating them as a miss");
}

/* now + ttl on the wall clock, saturating. */
int64_t goio__cache_fresh_until(int64_t ttl_ms)
{
    int64_t now = goio_now_wall_ms();
    if (ttl_ms > 0 && now > INT64_MAX - ttl_ms)
        return INT64_MAX;
    if (ttl_ms < 0 && now < INT64_MIN - ttl_ms)
        return INT64_MIN;
    return now + ttl_ms;
}

/* ---- go-io's JSON envelope (wire GO_IO) ---------------------------------- */

#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MS  INT64_C(1000000)

/* Fresh time left until t on the wall clock, in ms (<= 0: stale). */
static int64_t left_ms(goio_type_json_time_value t)
{
    int64_t now = goio_now_wall_ns();
    int64_t dsec = t.sec - now / NS_PER_SEC; /* no overflow: |t.sec| < 2^38 */
    int64_t dns = (int64_t)t.nsec - now % NS_PER_SEC;
    if (dsec > INT64_MAX / NS_PER_SEC - 1)
        return INT64_MAX;
    if (dsec < INT64_MIN / NS_PER_SEC + 1)
        return INT64_MIN;
    int64_t ns = dsec * NS_PER_SEC + dns;
    if (ns <= 0)
        return ns / NS_PER_MS - 1;                 /* stale: always < 0 */
    return ns / NS_PER_MS + (ns % NS_PER_MS != 0); /* fresh: always > 0 */
}

/*
 * The envelope exactly as go-io and goio write it,
 * {"FreshUntil":"<time>","Value":<one JSON value>}, without the general
 * decoder's key matching: *t and the Value's place in bytes. Anything else
 * (other keys or order, escapes, spaces) returns false and goes through
 * goio_type_json_envelope_decode, so both read the same documents the
 * same way.
 */
static bool unwrap_fast(const uint8_t *p, size_t len,
                        goio_type_json_time_value *t, size_t *voff,
                        size_t *vlen)
{
    static const char head[] = "{\"FreshUntil\":\"", mid[] = "\",\"Value\":";
    const size_t hl = sizeof head - 1, ml = sizeof mid - 1;
    if (len < hl + ml + 2 || memcmp(p, head, hl) || p[len - 1] != '}')
        return false;
    const uint8_t *q = memchr(p + hl, '"', len - hl);
    if (!q || (size_t)(p + len - q) < ml + 2 || memcmp(q, mid, ml))
        return false;
    if (goio_type_json_time_parse((const char *)p + hl, (size_t)(q - p) - hl,
                                  t) < 0)
        return false;
    *voff = (size_t)(q - p) + ml;
    *vlen = len - 1 - *voff;
    /* the Value is its bytes without the spaces around them */
    if (strchr(" \t\r\n", p[*voff]) || strchr(" \t\r\n", p[len - 2]))
        return false;
    /* exactly one JSON value up to the closing brace (a raw decode checks
     * the whole input) */
    goio_bytes raw = {NULL, 0};
    if (goio_type_json_decode(&goio_type_json_raw, NULL, p + *voff, *vlen,
                              &raw) < 0)
        return false;
    goio_type_value_deinit(&goio_type_json_raw, &raw);
    return true;
}

int goio__cache_wire_unwrap(goio_buf *b, int64_t *left)
{
    goio_type_json_time_value t;
    size_t off, n;
    if (b->data && unwrap_fast(b->data, b->len, &t, &off, &n)) {
        memmove(b->data, b->data + off, n);
        b->len = n;
        *left = left_ms(t);
        return 0;
    }
    goio_bytes v = {NULL, 0};
    int rc = goio_type_json_envelope_decode(NULL, b->data, b->len, &t, &v);
    if (rc < 0)
        return rc;
    /* The Value is a part of b's bytes: move it to the front. */
    goio_buf_clear(b);
    rc = goio_buf_append(b, v.data, v.len);
    goio_type_value_deinit(&goio_type_json_raw, &v);
    if (rc < 0)
        return rc;
    *left = left_ms(t);
    return 0;
}

int goio__cache_wire_compact(goio_buf *out, const void *json, size_t len)
{
    goio_bytes in = {(uint8_t *)(uintptr_t)json, len};
    if (!json)
        return GOIO_EINVAL;
    int rc = goio_type_json_encode(&goio_type_json_raw, &in, out);
    return rc == GOIO_EBADMSG ? GOIO_EINVAL : rc;
}

int goio__cache_wire_envelope(goio_buf *out, int64_t ttl_ms, const void *json,
                              size_t len)
{
    int64_t now = goio_now_wall_ns();
    goio_type_json_time_value t = {
        now / NS_PER_SEC + ttl_ms / 1000,
        (int32_t)(now % NS_PER_SEC + ttl_ms % 1000 * NS_PER_MS), 0};
    if (t.nsec >= NS_PER_SEC) {
        t.sec++;
        t.nsec -= (int32_t)NS_PER_SEC;
    } else if (t.nsec < 0) {
        t.sec--;
        t.nsec += (int32_t)NS_PER_SEC;
    }
    size_t before = out->len;
    int rc = goio_buf_reserve(out, len + 64);
    if (rc == 0)
        rc = goio_buf_append_str(out, "{\"FreshUntil\":\"");
    if (rc == 0)
        rc = goio_type_json_time_format(t, out);
    if (rc == 0)
        rc = goio_buf_append_str(out, "\",\"Value\":");
    if (rc == 0)
        rc = goio_buf_append(out, json, len);
    if (rc == 0)
        rc = goio_buf_append(out, "}", 1);
    if (rc < 0)
        out->len = before;
    return rc;
}
