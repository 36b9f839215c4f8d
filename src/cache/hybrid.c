/* SPDX-License-Identifier: MIT */
/*
 * The hybrid cache (Go: Hybrid(local, remote)): a local layer in front of
 * a remote one; the remote layer holds envelopes so a value's remaining
 * freshness travels to every process's local layer. See goio/cache.h.
 */
#include "cache_int.h"

#include <stdatomic.h>

typedef struct hybrid_cache {
    goio_cache base;
    goio_cache *local, *remote;
    bool own_layers;
    _Atomic uint64_t hits, misses, sets, deletes;
} hybrid_cache;

static const goio_cache_ops hybrid_ops;

static void bump(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static hybrid_cache *as_hybrid(goio_cache *c)
{
    return c && c->ops == &hybrid_ops ? (hybrid_cache *)c : NULL;
}

/* A remote hit (an envelope, unwrapped in place in *b): keep it locally
 * for what is left of its freshness, if anything is. */
static void fill_local(hybrid_cache *h, goio_ctx *ctx, const char *key,
                       const goio_buf *b, int64_t fresh_until)
{
    int64_t now = goio_now_wall_ms();
    if (fresh_until <= now)
        return; /* clocks disagree or it just expired: never a ttl <= 0 */
    int rc =
        goio_cache_set(h->local, ctx, key, b->data, b->len, fresh_until - now);
    if (rc < 0)
        goio_log(GOIO_LOG_WARN, "cache", "set_local_error", key, rc,
                 "storing a remote value in the local layer failed");
}

/* The remote layer's envelope of key, unwrapped in the hybrid's wire into
 * *b (the value); *until: its fresh-until instant, wall-clock ms. */
static int remote_read(hybrid_cache *h, goio_ctx *ctx, const char *key,
                       goio_buf *b, bool *found, int64_t *until)
{
    goio_cache *c = &h->base;
    bool rhit = false;
    int rc = goio_cache_get(h->remote, ctx, key, b, &rhit);
    if (rc == 0 && rhit) {
        int64_t left = 0;
        int bad = goio_cache_wire_get(c) == GOIO_CACHE_WIRE_GO_IO
                      ? goio__cache_wire_unwrap(b, &left)
                      : goio__cache_envelope_unwrap(b, until);
        if (bad == GOIO_ENOMEM) {
            rc = bad;
            rhit = false;
        } else if (bad < 0) {
            goio__cache_log_bad_envelope(key, bad);
            rhit = false;
        } else if (goio_cache_wire_get(c) == GOIO_CACHE_WIRE_GO_IO) {
            *until = goio__cache_fresh_until(left);
        }
    }
    *found = rc == 0 && rhit;
    return rc;
}

static int hybrid_get(goio_cache *c, goio_ctx *ctx, const char *key,
                      goio_buf *out, bool *hit)
{
    hybrid_cache *h = (hybrid_cache *)c;
    int rc = goio_cache_get(h->local, ctx, key, out, hit);
    if (rc == 0 && *hit) {
        bump(&h->hits);
        return 0;
    }
    if (rc < 0)
        goio_log(GOIO_LOG_ERROR, "cache", "get_local_error", key, rc,
                 "reading the local layer failed; asking the remote one");
    goio_buf b = GOIO_BUF_INIT;
    bool rhit = false;
    int64_t until = 0;
    rc = remote_read(h, ctx, key, &b, &rhit, &until);
    if (rc == 0 && rhit) {
        fill_local(h, ctx, key, &b, until);
        goio_buf_deinit(out);
        *out = b;
        *hit = true;
        bump(&h->hits);
        return 0;
    }
    if (rc < 0 && !goio_ctx_err(ctx)) /* not just this caller's deadline */
        goio_log(GOIO_LOG_ERROR, "cache", "get_remote_error", key, rc,
                 "reading the remote layer failed");
    else
        bump(&h->misses);
    goio_buf_deinit(&b);
    return rc;
}

static int hybrid_set(goio_cache *c, goio_ctx *ctx, const char *key,
                      const void *value, size_t len, int64_t ttl_ms)
{
    hybrid_cache *h = (hybrid_cache *)c;
    bool wire = goio_cache_wire_get(c) == GOIO_CACHE_WIRE_GO_IO;
    goio_buf v = GOIO_BUF_INIT, env = GOIO_BUF_INIT;
    int rc = 0;
    if (wire) { /* go-io: the compacted JSON, never anything else */
        rc = goio__cache_wire_compact(&v, value, len);
        value = v.data;
        len = v.len;
    }
    if (rc == 0) {
        bump(&h->sets);
        rc = goio_cache_set(h->local, ctx, key, value, len, ttl_ms);
        if (rc < 0)
            goio_log(GOIO_LOG_WARN, "cache", "set_local_error", key, rc,
                     "storing in the local layer failed");
        rc = wire ? goio__cache_wire_envelope(&env, ttl_ms, value, len)
                  : goio_cache_envelope_encode(
                        &env, goio__cache_fresh_until(ttl_ms), value, len);
    }
    if (rc == 0)
        rc = goio_cache_set(h->remote, ctx, key, env.data, env.len, ttl_ms);
    goio_buf_deinit(&env);
    goio_buf_deinit(&v);
    return rc;
}

static int hybrid_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    hybrid_cache *h = (hybrid_cache *)c;
    bump(&h->deletes);
    int rl = goio_cache_del(h->local, ctx, key);
    int rr = goio_cache_del(h->remote, ctx, key);
    return rl < 0 ? rl : rr;
}

static int hybrid_clear(goio_cache *c, goio_ctx *ctx)
{
    hybrid_cache *h = (hybrid_cache *)c;
    int rl = goio_cache_clear(h->local, ctx);
    int rr = goio_cache_clear(h->remote, ctx);
    return rl < 0 ? rl : rr;
}

static int hybrid_stats(goio_cache *c, goio_cache_stats *out)
{
    hybrid_cache *h = (hybrid_cache *)c;
    int rc = goio_cache_stats_get(h->local, out);
    if (rc < 0)
        return rc;
    out->hits = atomic_load_explicit(&h->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&h->misses, memory_order_relaxed);
    out->sets = atomic_load_explicit(&h->sets, memory_order_relaxed);
    out->deletes = atomic_load_explicit(&h->deletes, memory_order_relaxed);
    /* This layer's get_or_set counts fetches in its own base. */
    out->fetches = out->fetch_errors = out->stale_served = 0;
    return 0;
}

static void hybrid_destroy(goio_cache *c)
{
    hybrid_cache *h = (hybrid_cache *)c;
    if (h->own_layers) {
        goio_cache_free(h->local);
        goio_cache_free(h->remote);
    }
    goio_free(h);
}

static const goio_cache_ops hybrid_ops = {
    .name = "hybrid",
    .get = hybrid_get,
    .set = hybrid_set,
    .del = hybrid_del,
    .stats = hybrid_stats,
    .clear = hybrid_clear,
    .destroy = hybrid_destroy,
};

int goio_cache_hybrid_new(goio_cache *local, goio_cache *remote,
                          bool own_layers, goio_cache **out)
{
    return goio_cache_hybrid_new_wire(local, remote, own_layers,
                                      GOIO_CACHE_WIRE_GOIO, out);
}

int goio_cache_hybrid_new_wire(goio_cache *local, goio_cache *remote,
                               bool own_layers, goio_cache_wire wire,
                               goio_cache **out)
{
    if (out)
        *out = NULL;
    if (!local || !remote || local == remote || !out ||
        (wire != GOIO_CACHE_WIRE_GOIO && wire != GOIO_CACHE_WIRE_GO_IO))
        return GOIO_EINVAL;
    hybrid_cache *h = goio_calloc(1, sizeof *h);
    if (!h)
        return GOIO_ENOMEM;
    int rc = goio_cache_init(&h->base, &hybrid_ops);
    if (rc < 0) {
        goio_free(h);
        return rc;
    }
    goio_cache_wire_set(&h->base, wire, false);
    h->local = local;
    h->remote = remote;
    h->own_layers = own_layers;
    *out = &h->base;
    return 0;
}

int goio_cache_hybrid_invalidate(goio_cache *c, goio_ctx *ctx, const char *key)
{
    hybrid_cache *h = as_hybrid(c);
    if (!h || !goio_cache_key_valid(key))
        return GOIO_EINVAL;
    return goio_cache_del(h->local, ctx, key);
}

int goio_cache_hybrid_invalidate_all(goio_cache *c, goio_ctx *ctx)
{
    hybrid_cache *h = as_hybrid(c);
    return h ? goio_cache_clear(h->local, ctx) : GOIO_EINVAL;
}

int goio_cache_hybrid_get_remote(goio_cache *c, goio_ctx *ctx, const char *key,
                                 goio_buf *out, bool *hit)
{
    if (hit)
        *hit = false;
    hybrid_cache *h = as_hybrid(c);
    if (!h || !goio_cache_key_valid(key) || !out || !hit)
        return GOIO_EINVAL;
    goio_buf b = GOIO_BUF_INIT;
    int64_t until = 0;
    bool found = false;
    int rc = remote_read(h, ctx, key, &b, &found, &until);
    if (rc == 0 && found) {
        goio_buf_deinit(out);
        *out = b;
        *hit = true;
        return 0;
    }
    goio_buf_deinit(&b);
    return rc;
}

goio_cache *goio_cache_hybrid_local(goio_cache *c)
{
    hybrid_cache *h = as_hybrid(c);
    return h ? h->local : NULL;
}

goio_cache *goio_cache_hybrid_remote(goio_cache *c)
{
    hybrid_cache *h = as_hybrid(c);
    return h ? h->remote : NULL;
}
