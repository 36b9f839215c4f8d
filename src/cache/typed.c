/*
 * Typed variants: values stay the type's encoding (shared with other
 * processes), decoded into the caller's variable only when they decode as
 * the asked type.
 */
#include "cache_int.h"

/* Decodes bytes into *dst; bytes of another type are GOIO_ETYPE. */
static int decode_into(const goio_type *type, const goio_buf *b, void *dst)
{
    int rc = goio_type_decode(type, b->data, b->len, dst);
    return rc == GOIO_EBADMSG ? GOIO_ETYPE : rc;
}

int goio_cache_get_typed(goio_cache *c, goio_ctx *ctx, const char *key,
                         const goio_type *type, void *dst, bool *hit)
{
    if (hit)
        *hit = false;
    if (!c || !goio_cache_key_valid(key) || goio_type_check(type) || !dst ||
        !hit)
        return GOIO_EINVAL;
    goio_buf b = GOIO_BUF_INIT;
    bool found = false;
    int rc = goio_cache_get(c, ctx, key, &b, &found);
    if (rc == 0 && found && (rc = decode_into(type, &b, dst)) == 0)
        *hit = true;
    goio_buf_deinit(&b);
    return rc;
}

int goio_cache_set_typed(goio_cache *c, goio_ctx *ctx, const char *key,
                         const goio_type *type, const void *value,
                         int64_t ttl_ms)
{
    if (!c || !goio_cache_key_valid(key) || goio_type_check(type) || !value)
        return GOIO_EINVAL;
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio_type_encode(type, value, &b);
    if (rc == 0)
        rc = goio_cache_set(c, ctx, key, b.data, b.len, ttl_ms);
    goio_buf_deinit(&b);
    return rc;
}

typedef struct typed_fetch {
    const goio_type *type;
    goio_cache_fetch_typed_fn fn;
    void *data;
} typed_fetch;

/* Runs the typed fetch into a zero-filled variable and encodes it. */
static int typed_fetch_run(goio_ctx *ctx, const char *key, goio_buf *out,
                           void *data)
{
    typed_fetch *tf = data;
    void *tmp = goio_calloc(1, tf->type->size ? tf->type->size : 1);
    if (!tmp)
        return GOIO_ENOMEM;
    int rc = tf->fn(ctx, key, tmp, tf->data);
    if (rc == 0)
        rc = goio_type_encode(tf->type, tmp, out);
    goio_type_destroy(tf->type, tmp);
    goio_free(tmp);
    return rc;
}

int goio_cache_get_or_set_typed(goio_cache *c, goio_ctx *ctx, const char *key,
                                int64_t ttl_ms, const goio_type *type,
                                goio_cache_fetch_typed_fn fetch, void *data,
                                void *dst, goio_cache_source *source)
{
    if (!c || !goio_cache_key_valid(key) || goio_type_check(type) || !fetch ||
        !dst)
        return GOIO_EINVAL;
    typed_fetch tf = {type, fetch, data};
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src = GOIO_CACHE_HIT;
    int rc = goio_cache_get_or_set(c, ctx, key, ttl_ms, typed_fetch_run, &tf,
                                   &b, &src);
    if (rc == 0)
        rc = decode_into(type, &b, dst);
    if (rc == 0 && source)
        *source = src;
    goio_buf_deinit(&b);
    return rc;
}
