/* SPDX-License-Identifier: MIT */
/*
 * Typed variants: values stay the type's encoding (shared with other
 * processes), decoded into the caller's variable only when they decode as
 * the asked type.
 */
#include "cache_int.h"

#include <string.h>

/* Whether c's values are go-io's JSON for this type (wire GO_IO, except
 * []byte on a cache that keeps bytes raw). */
static bool as_json(const goio_cache *c, const goio_type *type)
{
    if (goio_cache_wire_get(c) != GOIO_CACHE_WIRE_GO_IO)
        return false;
    return !(type == &goio_type_bytes && (c->_wire & GOIO__CACHE_RAW_BYTES));
}

/* Appends the stored form of *value. */
static int encode_value(const goio_cache *c, const goio_type *type,
                        const void *value, goio_buf *out)
{
    return as_json(c, type) ? goio_type_json_encode(type, value, out)
                            : goio_type_encode(type, value, out);
}

/* JSON into a fresh variable (json.Unmarshal into a zero value), moved to
 * *dst on success only. */
static int json_decode(const goio_type *type, const goio_buf *b, void *dst)
{
    void *tmp = goio_calloc(1, type->size ? type->size : 1);
    if (!tmp)
        return GOIO_ENOMEM;
    int rc = goio_type_json_decode(type, NULL, b->data, b->len, tmp);
    if (rc == 0) {
        goio_type_value_deinit(type, dst);
        memcpy(dst, tmp, type->size);
    } else {
        goio_type_value_deinit(type, tmp);
    }
    goio_free(tmp);
    return rc;
}

/* Decodes bytes into *dst; bytes of another type are GOIO_ETYPE. */
static int decode_into(const goio_cache *c, const goio_type *type,
                       const goio_buf *b, void *dst)
{
    int rc = as_json(c, type) ? json_decode(type, b, dst)
                              : goio_type_decode(type, b->data, b->len, dst);
    return rc == GOIO_EBADMSG || rc == GOIO_ELIMIT || rc == GOIO_EMSGSIZE
               ? GOIO_ETYPE
               : rc;
}

/*
 * Bytes of another type met by a typed call: drops the copy a hybrid's
 * local layer holds (under any stale wrappers), so that a remote value of
 * the wrong type never stays in the local layer.
 */
static void forget_local(goio_cache *c, goio_ctx *ctx, const char *key)
{
    goio_cache *s;
    while ((s = goio__cache_stale_storage(c)) != NULL)
        c = s;
    goio_cache *local = goio_cache_hybrid_local(c);
    if (local)
        goio_cache_del(local, ctx, key);
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
    if (rc == 0 && found && (rc = decode_into(c, type, &b, dst)) == 0)
        *hit = true;
    if (rc == GOIO_ETYPE) /* reported, and never kept locally */
        forget_local(c, ctx, key);
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
    int rc = encode_value(c, type, value, &b);
    if (rc == 0)
        rc = goio_cache_set(c, ctx, key, b.data, b.len, ttl_ms);
    goio_buf_deinit(&b);
    return rc;
}

typedef struct typed_fetch {
    const goio_cache *c;
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
        rc = encode_value(tf->c, tf->type, tmp, out);
    goio_type_value_deinit(tf->type, tmp);
    goio_free(tmp);
    return rc;
}

/* Never matches: the healing flight must fetch, not find the bad bytes. */
static bool no_reread(goio__cache_job *j, goio_ctx *ctx, goio_buf *out)
{
    (void)j;
    (void)ctx;
    (void)out;
    return false;
}

/*
 * The value under key did not decode as the type: fetch and overwrite, one
 * fetch for every caller that met it at once (a flight of the cache's
 * group under a key no plain get_or_set uses).
 */
static int heal(goio_cache *c, goio_ctx *ctx, const char *key, int64_t ttl_ms,
                typed_fetch *tf, goio_buf *out, goio_cache_source *source)
{
    goio_buf fkey = GOIO_BUF_INIT;
    int rc = goio_buf_appendf(&fkey, "\001bad_cache_value\001%s", key);
    if (rc < 0) {
        goio_buf_deinit(&fkey);
        return rc;
    }
    goio__cache_job job = {c,  key,       ttl_ms, typed_fetch_run,
                           tf, no_reread, false,  0};
    goio_sharedflight_result *res = NULL;
    rc = goio_sharedflight_do(c->_flights, ctx, goio_buf_cstr(&fkey),
                              goio__cache_flight, &job, goio__cache_value_free,
                              &res, NULL);
    goio_buf_deinit(&fkey);
    if (rc == 0) {
        const goio__cache_value *v = goio_sharedflight_result_value(res);
        rc = goio_buf_set(out, v->buf.data, v->buf.len);
        *source = goio__cache_job_source(&job, v);
    }
    goio_sharedflight_result_unref(res);
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
    typed_fetch tf = {c, type, fetch, data};
    goio_buf b = GOIO_BUF_INIT;
    goio_cache_source src = GOIO_CACHE_HIT;
    int rc = goio_cache_get_or_set(c, ctx, key, ttl_ms, typed_fetch_run, &tf,
                                   &b, &src);
    if (rc == 0)
        rc = decode_into(c, type, &b, dst);
    if (rc == GOIO_ETYPE && src != GOIO_CACHE_FETCHED &&
        src != GOIO_CACHE_SHARED) {
        /* Stored bytes of another type: a miss that overwrites them (a
         * value this call's own fetch produced is the fetch's bug). */
        goio_log(GOIO_LOG_WARN, "cache", "bad_cache_value", key, rc,
                 "the stored value is not a %s; fetching a new one",
                 type->name ? type->name : "value of this type");
        forget_local(c, ctx, key);
        goio_buf_clear(&b);
        rc = heal(c, ctx, key, ttl_ms, &tf, &b, &src);
        if (rc == 0)
            rc = decode_into(c, type, &b, dst);
    }
    if (rc == 0 && source)
        *source = src;
    goio_buf_deinit(&b);
    return rc;
}
