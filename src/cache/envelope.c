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
             "stored bytes are not a goio cache envelope; treating them as "
             "a miss");
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
