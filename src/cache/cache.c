/* SPDX-License-Identifier: MIT */
/*
 * The goio_cache base: argument checks, dispatch to the ops, the generic
 * deduplicated get_or_set (one fetch per key through the cache's
 * sharedflight group) and the default stats.
 */
#include "cache_int.h"

#include <stdatomic.h>
#include <string.h>

/* The base's counters are plain uint64_t in the public struct (so the
 * header needs no <stdatomic.h>); every access goes through these. */
static _Atomic uint64_t *counter(uint64_t *p)
{
    return (_Atomic uint64_t *)p;
}

/* Slots of the completed-store counters (goio__cache_gen_load). */
#define GEN_SLOTS 64

static _Atomic uint64_t *gen_slot(goio_cache *c, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return counter(&c->_flight_gens[h % GEN_SLOTS]);
}

uint64_t goio__cache_gen_load(goio_cache *c, const char *key)
{
    return atomic_load_explicit(gen_slot(c, key), memory_order_acquire);
}

bool goio_cache_key_valid(const char *key)
{
    return goio__cache_key_len(key) != 0;
}

int goio_cache_init(goio_cache *c, const goio_cache_ops *ops)
{
    if (!c || !ops || !ops->get || !ops->set || !ops->del || !ops->destroy)
        return GOIO_EINVAL;
    goio_sharedflight *g = NULL;
    int rc = goio_sharedflight_new(NULL, &g);
    if (rc < 0)
        return rc;
    c->_flight_gens = goio_calloc(GEN_SLOTS, sizeof *c->_flight_gens);
    if (!c->_flight_gens) {
        goio_sharedflight_free(g);
        return GOIO_ENOMEM;
    }
    for (size_t i = 0; i < GEN_SLOTS; i++)
        atomic_init(counter(&c->_flight_gens[i]), 0);
    c->ops = ops;
    c->_flights = g;
    atomic_init(counter(&c->_fetches), 0);
    atomic_init(counter(&c->_fetch_errors), 0);
    c->_wire = GOIO_CACHE_WIRE_GOIO;
    return 0;
}

int goio_cache_wire_set(goio_cache *c, goio_cache_wire wire, bool raw_bytes)
{
    if (!c || (wire != GOIO_CACHE_WIRE_GOIO && wire != GOIO_CACHE_WIRE_GO_IO))
        return GOIO_EINVAL;
    c->_wire = (unsigned)wire | (raw_bytes && wire == GOIO_CACHE_WIRE_GO_IO
                                     ? GOIO__CACHE_RAW_BYTES
                                     : 0u);
    return 0;
}

goio_cache_wire goio_cache_wire_get(const goio_cache *c)
{
    return c ? (goio_cache_wire)(c->_wire & 0xffu) : GOIO_CACHE_WIRE_GOIO;
}

void goio_cache_deinit(goio_cache *c)
{
    if (!c)
        return;
    goio_sharedflight_free(c->_flights);
    c->_flights = NULL;
    goio_free(c->_flight_gens);
    c->_flight_gens = NULL;
}

void goio_cache_count_fetch(goio_cache *c, int status)
{
    if (!c)
        return;
    atomic_fetch_add_explicit(counter(&c->_fetches), 1, memory_order_relaxed);
    if (status != 0)
        atomic_fetch_add_explicit(counter(&c->_fetch_errors), 1,
                                  memory_order_relaxed);
}

void goio_cache_free(goio_cache *c)
{
    if (!c)
        return;
    goio_cache_deinit(c);
    c->ops->destroy(c);
}

/* ---- the plain calls ----------------------------------------------------- */

static int get_any(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
                   bool *hit);

/* A memory cache's get goes straight to it (a tail call; it checks the
 * arguments the same way), every other cache's through its ops. */
int goio_cache_get(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
                   bool *hit)
{
    if (c && c->ops == &goio__cache_memory_ops)
        return goio__mc_get(c, ctx, key, out, hit);
    return get_any(c, ctx, key, out, hit);
}

__attribute__((noinline)) static int
get_any(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out, bool *hit)
{
    if (hit)
        *hit = false;
    if (!c || !goio_cache_key_valid(key) || !out || !hit)
        return GOIO_EINVAL;
    int rc = c->ops->get(c, ctx, key, out, hit);
    if (rc < 0)
        *hit = false;
    return rc;
}

int goio_cache_set(goio_cache *c, goio_ctx *ctx, const char *key,
                   const void *value, size_t len, int64_t ttl_ms)
{
    size_t klen = goio__cache_key_len(key);
    if (!c || !klen || (!value && len))
        return GOIO_EINVAL;
    if (c->ops == &goio__cache_memory_ops)
        return goio__mc_set(c, key, klen, value ? value : "", len, ttl_ms);
    return c->ops->set(c, ctx, key, value ? value : "", len, ttl_ms);
}

int goio_cache_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    if (!c || !goio_cache_key_valid(key))
        return GOIO_EINVAL;
    return c->ops->del(c, ctx, key);
}

int goio_cache_get_stale(goio_cache *c, goio_ctx *ctx, const char *key,
                         goio_buf *out, bool *hit, bool *stale)
{
    if (hit)
        *hit = false;
    if (stale)
        *stale = false;
    if (!c || !goio_cache_key_valid(key) || !out || !hit || !stale)
        return GOIO_EINVAL;
    if (!c->ops->get_stale)
        return GOIO_ENOTSUP;
    int rc = c->ops->get_stale(c, ctx, key, out, hit, stale);
    if (rc < 0)
        *hit = *stale = false;
    return rc;
}

int goio_cache_stats_get(goio_cache *c, goio_cache_stats *out)
{
    if (!c || !out)
        return GOIO_EINVAL;
    memset(out, 0, sizeof *out);
    if (c->ops->stats) {
        int rc = c->ops->stats(c, out);
        if (rc < 0)
            return rc;
    }
    out->fetches +=
        atomic_load_explicit(counter(&c->_fetches), memory_order_relaxed);
    out->fetch_errors +=
        atomic_load_explicit(counter(&c->_fetch_errors), memory_order_relaxed);
    return 0;
}

int goio_cache_clear(goio_cache *c, goio_ctx *ctx)
{
    if (!c)
        return GOIO_EINVAL;
    return c->ops->clear ? c->ops->clear(c, ctx) : GOIO_ENOTSUP;
}

/* ---- get_or_set ---------------------------------------------------------- */

int goio_cache_get_or_set(goio_cache *c, goio_ctx *ctx, const char *key,
                          int64_t ttl_ms, goio_cache_fetch_fn fetch, void *data,
                          goio_buf *out, goio_cache_source *source)
{
    if (!c || !goio_cache_key_valid(key) || !fetch || !out)
        return GOIO_EINVAL;
    goio_cache_source ignored;
    if (!source)
        source = &ignored;
    *source = GOIO_CACHE_HIT;
    if (c->ops->get_or_set)
        return c->ops->get_or_set(c, ctx, key, ttl_ms, fetch, data, out,
                                  source);
    return goio__cache_default_get_or_set(c, ctx, key, ttl_ms, fetch, data, out,
                                          source);
}

void goio__cache_value_free(void *p)
{
    goio__cache_value *v = p;
    if (!v)
        return;
    goio_buf_deinit(&v->buf);
    goio_free(v);
}

goio_cache_source goio__cache_job_source(const goio__cache_job *j,
                                         const goio__cache_value *v)
{
    return v->hit   ? GOIO_CACHE_HIT
           : j->ran ? GOIO_CACHE_FETCHED
                    : GOIO_CACHE_SHARED;
}

void goio__cache_log_read_error(const char *key, int rc)
{
    goio_log(GOIO_LOG_ERROR, "cache", "get_from_cache_error", key, rc,
             "reading the cache failed; treating it as a miss");
}

int goio__cache_flight(goio_ctx *ctx, void **value, void *data)
{
    goio__cache_job *j = data;
    j->ran = true;
    goio__cache_value *v = goio_calloc(1, sizeof *v);
    if (!v)
        return GOIO_ENOMEM;
    /* Only a flight that stored since this caller's miss can have left a
     * value to find: otherwise the second read is one round trip lost. */
    if (goio__cache_gen_load(j->c, j->key) != j->gen &&
        j->reread(j, ctx, &v->buf)) {
        v->hit = true;
        *value = v;
        return 0;
    }
    goio_buf_clear(&v->buf);
    int rc = j->fetch(ctx, j->key, &v->buf, j->data);
    goio_cache_count_fetch(j->c, rc);
    if (rc != 0) {
        goio__cache_value_free(v);
        return rc > 0 ? GOIO_EFETCH : rc;
    }
    static const uint8_t empty[1];
    int src =
        j->c->ops->set(j->c, ctx, j->key, v->buf.data ? v->buf.data : empty,
                       v->buf.len, j->ttl_ms);
    if (src < 0)
        goio_log(GOIO_LOG_WARN, "cache", "set_cache_error", j->key, src,
                 "storing the fetched value failed; returning it anyway");
    atomic_fetch_add_explicit(gen_slot(j->c, j->key), 1, memory_order_release);
    *value = v;
    return 0;
}

/* Re-read: a flight that stored the value may have ended between this
 * caller's miss and the start of this flight. */
static bool reread(goio__cache_job *j, goio_ctx *ctx, goio_buf *out)
{
    bool hit = false;
    int rc = j->c->ops->get(j->c, ctx, j->key, out, &hit);
    if (rc < 0 && rc != GOIO_ENOMEM && !goio_ctx_err(ctx))
        goio__cache_log_read_error(j->key, rc);
    return rc == 0 && hit;
}

int goio__cache_default_get_or_set(goio_cache *c, goio_ctx *ctx,
                                   const char *key, int64_t ttl_ms,
                                   goio_cache_fetch_fn fetch, void *data,
                                   goio_buf *out, goio_cache_source *source)
{
    bool hit = false;
    uint64_t gen = goio__cache_gen_load(c, key);
    int rc = c->ops->get(c, ctx, key, out, &hit);
    if (rc == 0 && hit) {
        *source = GOIO_CACHE_HIT;
        return 0;
    }
    if (rc == GOIO_ENOMEM)
        return rc;
    int done = goio_ctx_err(ctx);
    if (done) /* the read failed because this caller's time is up */
        return done;
    if (rc < 0)
        goio__cache_log_read_error(key, rc);

    goio__cache_job job = {c, key, ttl_ms, fetch, data, reread, false, gen};
    goio_sharedflight_result *res = NULL;
    rc = goio_sharedflight_do(c->_flights, ctx, key, goio__cache_flight, &job,
                              goio__cache_value_free, &res, NULL);
    if (rc < 0) {
        goio_sharedflight_result_unref(res);
        return rc;
    }
    const goio__cache_value *v = goio_sharedflight_result_value(res);
    rc = goio_buf_set(out, v->buf.data, v->buf.len);
    if (rc == 0)
        *source = goio__cache_job_source(&job, v);
    goio_sharedflight_result_unref(res);
    return rc;
}
