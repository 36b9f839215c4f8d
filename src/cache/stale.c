/* SPDX-License-Identifier: MIT */
/*
 * The stale-on-error wrapper (Go: WithStaleFallback): values live in the
 * storage cache as envelopes for the longer stale TTL; fresh ones are
 * served as usual, stale ones only when a fetch fails. See goio/cache.h.
 */
#include "cache_int.h"

#include <stdatomic.h>
#include <string.h>

typedef struct stale_cache {
    goio_cache base;
    goio_cache *storage;
    int64_t stale_ttl_ms;
    bool own_storage;
    _Atomic uint64_t hits, misses, sets, deletes, stale_served;
} stale_cache;

static const goio_cache_ops stale_ops;

static void bump(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Hands the bytes of `from` to `to` (the caller's buffer), which gives up
 * its old memory. */
static void move_buf(goio_buf *to, goio_buf *from)
{
    goio_buf_deinit(to);
    *to = *from;
    goio_buf_init(from);
}

/*
 * Reads key's envelope into *b (just the value). *found: there is one;
 * *fresh: it is still fresh. Returns storage errors; bytes that are not
 * an envelope are logged and read as a miss.
 */
static int stale_read(stale_cache *s, goio_ctx *ctx, const char *key,
                      goio_buf *b, bool *found, bool *fresh)
{
    *found = *fresh = false;
    bool hit = false;
    int rc = goio_cache_get(s->storage, ctx, key, b, &hit);
    if (rc < 0 || !hit)
        return rc;
    int64_t until = 0, left = 0;
    bool wire = goio_cache_wire_get(&s->base) == GOIO_CACHE_WIRE_GO_IO;
    rc = wire ? goio__cache_wire_unwrap(b, &left)
              : goio__cache_envelope_unwrap(b, &until);
    if (rc == GOIO_ENOMEM)
        return rc;
    if (rc < 0) {
        goio__cache_log_bad_envelope(key, rc);
        goio_buf_clear(b);
        return 0;
    }
    *found = true;
    *fresh = wire ? left > 0 : goio_now_wall_ms() < until;
    return 0;
}

static int stale_lookup(goio_cache *c, goio_ctx *ctx, const char *key,
                        goio_buf *out, bool *hit, bool *stale, bool stale_ok)
{
    stale_cache *s = (stale_cache *)c;
    goio_buf b = GOIO_BUF_INIT;
    bool found, fresh;
    int rc = stale_read(s, ctx, key, &b, &found, &fresh);
    if (rc == 0 && found && (fresh || stale_ok)) {
        move_buf(out, &b);
        *hit = true;
        if (stale)
            *stale = !fresh;
    }
    bump(rc == 0 && *hit && fresh ? &s->hits : &s->misses);
    goio_buf_deinit(&b);
    return rc;
}

static int stale_get(goio_cache *c, goio_ctx *ctx, const char *key,
                     goio_buf *out, bool *hit)
{
    return stale_lookup(c, ctx, key, out, hit, NULL, false);
}

static int stale_get_stale(goio_cache *c, goio_ctx *ctx, const char *key,
                           goio_buf *out, bool *hit, bool *stale)
{
    return stale_lookup(c, ctx, key, out, hit, stale, true);
}

static int stale_set(goio_cache *c, goio_ctx *ctx, const char *key,
                     const void *value, size_t len, int64_t ttl_ms)
{
    stale_cache *s = (stale_cache *)c;
    goio_buf env = GOIO_BUF_INIT;
    int rc;
    int64_t keep = ttl_ms > s->stale_ttl_ms ? ttl_ms : s->stale_ttl_ms;
    if (goio_cache_wire_get(c) == GOIO_CACHE_WIRE_GO_IO) {
        /* go-io: compacted JSON in its envelope, kept for the stale TTL */
        goio_buf v = GOIO_BUF_INIT;
        rc = goio__cache_wire_compact(&v, value, len);
        if (rc == 0)
            rc = goio__cache_wire_envelope(&env, ttl_ms, v.data, v.len);
        goio_buf_deinit(&v);
        keep = s->stale_ttl_ms;
    } else {
        rc = goio_cache_envelope_encode(&env, goio__cache_fresh_until(ttl_ms),
                                        value, len);
    }
    if (rc == 0)
        rc = goio_cache_set(s->storage, ctx, key, env.data, env.len, keep);
    goio_buf_deinit(&env);
    bump(&s->sets);
    return rc;
}

static int stale_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    stale_cache *s = (stale_cache *)c;
    bump(&s->deletes);
    return goio_cache_del(s->storage, ctx, key);
}

static int stale_clear(goio_cache *c, goio_ctx *ctx)
{
    return goio_cache_clear(((stale_cache *)c)->storage, ctx);
}

static int stale_stats(goio_cache *c, goio_cache_stats *out)
{
    stale_cache *s = (stale_cache *)c;
    int rc = goio_cache_stats_get(s->storage, out);
    if (rc < 0)
        return rc;
    out->hits = atomic_load_explicit(&s->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&s->misses, memory_order_relaxed);
    out->sets = atomic_load_explicit(&s->sets, memory_order_relaxed);
    out->deletes = atomic_load_explicit(&s->deletes, memory_order_relaxed);
    out->stale_served =
        atomic_load_explicit(&s->stale_served, memory_order_relaxed);
    /* This layer's own fetch counters are added by goio_cache_stats_get. */
    out->fetches = out->fetch_errors = 0;
    return 0;
}

/* ---- get_or_set ---------------------------------------------------------- */

/* The flight's second look: a fresh value stored since the miss. */
static bool stale_reread(goio__cache_job *j, goio_ctx *ctx, goio_buf *out)
{
    bool found, fresh;
    return stale_read((stale_cache *)j->c, ctx, j->key, out, &found, &fresh) ==
               0 &&
           fresh;
}

/* The fetch failed (rc), or this caller's deadline passed first (rc is
 * GOIO_ETIMEDOUT, timed_out): serve its stale copy if it has one. */
static int fall_back(stale_cache *s, const char *key, int rc, bool timed_out,
                     goio_buf *old, bool found, goio_buf *out,
                     goio_cache_source *source)
{
    if (!found && timed_out)
        return rc;
    if (!found) {
        goio_log(GOIO_LOG_ERROR, "cache", "fetch_failed", key, rc,
                 "fetching failed and no stale value was found");
        return rc; /* the fetch's own code (GOIO_EFETCH for a positive) */
    }
    move_buf(out, old);
    *source = GOIO_CACHE_STALE;
    bump(&s->stale_served);
    goio_log(GOIO_LOG_WARN, "cache", "used_stale_cache", key, rc,
             timed_out ? "the deadline passed; serving a stale value"
                       : "fetching failed; serving a stale value");
    return 0;
}

static int stale_get_or_set(goio_cache *c, goio_ctx *ctx, const char *key,
                            int64_t ttl_ms, goio_cache_fetch_fn fetch,
                            void *data, goio_buf *out,
                            goio_cache_source *source)
{
    stale_cache *s = (stale_cache *)c;
    goio_buf old = GOIO_BUF_INIT;
    bool found, fresh;
    uint64_t gen = goio__cache_gen_load(c, key);
    int rc = stale_read(s, ctx, key, &old, &found, &fresh);
    if (rc < 0) {
        found = fresh = false;
        int done = goio_ctx_err(ctx);
        if (done) { /* the read failed because this caller's time is up */
            goio_buf_deinit(&old);
            return done;
        }
        if (rc != GOIO_ENOMEM)
            goio__cache_log_read_error(key, rc);
    }
    if (found && fresh) {
        bump(&s->hits);
        move_buf(out, &old);
        *source = GOIO_CACHE_HIT;
        return 0;
    }
    bump(&s->misses);
    goio__cache_job job = {c,    key,          ttl_ms, fetch,
                           data, stale_reread, false,  gen};
    goio_sharedflight_result *res = NULL;
    rc = goio_sharedflight_do(c->_flights, ctx, key, goio__cache_flight, &job,
                              goio__cache_value_free, &res, NULL);
    if (rc == 0) {
        const goio__cache_value *v = goio_sharedflight_result_value(res);
        rc = goio_buf_set(out, v->buf.data, v->buf.len);
        *source = goio__cache_job_source(&job, v);
    } else if (res) { /* the flight ran and its fetch failed */
        rc = fall_back(s, key, rc, false, &old, found, out, source);
    } else if (rc == GOIO_ETIMEDOUT) { /* this caller's deadline passed */
        rc = fall_back(s, key, rc, true, &old, found, out, source);
    }
    goio_sharedflight_result_unref(res);
    goio_buf_deinit(&old);
    return rc;
}

goio_cache *goio__cache_stale_storage(goio_cache *c)
{
    return c && c->ops == &stale_ops ? ((stale_cache *)c)->storage : NULL;
}

static void stale_destroy(goio_cache *c)
{
    stale_cache *s = (stale_cache *)c;
    if (s->own_storage)
        goio_cache_free(s->storage);
    goio_free(s);
}

static const goio_cache_ops stale_ops = {
    .name = "stale",
    .get = stale_get,
    .set = stale_set,
    .del = stale_del,
    .get_stale = stale_get_stale,
    .get_or_set = stale_get_or_set,
    .stats = stale_stats,
    .clear = stale_clear,
    .destroy = stale_destroy,
};

int goio_cache_stale_new(goio_cache *storage, int64_t stale_ttl_ms,
                         bool own_storage, goio_cache **out)
{
    return goio_cache_stale_new_wire(storage, stale_ttl_ms, own_storage,
                                     GOIO_CACHE_WIRE_GOIO, out);
}

int goio_cache_stale_new_wire(goio_cache *storage, int64_t stale_ttl_ms,
                              bool own_storage, goio_cache_wire wire,
                              goio_cache **out)
{
    if (out)
        *out = NULL;
    if (!storage || !out || stale_ttl_ms <= 0 ||
        (wire != GOIO_CACHE_WIRE_GOIO && wire != GOIO_CACHE_WIRE_GO_IO))
        return GOIO_EINVAL;
    stale_cache *s = goio_calloc(1, sizeof *s);
    if (!s)
        return GOIO_ENOMEM;
    int rc = goio_cache_init(&s->base, &stale_ops);
    if (rc < 0) {
        goio_free(s);
        return rc;
    }
    goio_cache_wire_set(&s->base, wire, false);
    s->storage = storage;
    s->stale_ttl_ms = stale_ttl_ms;
    s->own_storage = own_storage;
    *out = &s->base;
    return 0;
}
