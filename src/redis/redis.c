/* SPDX-License-Identifier: MIT */
/*
 * The handle, the single-key calls and the goio_cache implementation.
 */
#include "redis_internal.h"

#include <stdio.h>
#include <string.h>

static goio_redis *from_cache(goio_cache *c)
{
    return (goio_redis *)c; /* base is the first member */
}

static void redis_destroy(goio_redis *r)
{
    if (!goio__redis_async_stop(&r->as)) {
        goio_log(GOIO_LOG_ERROR, "redis", "redis_free_from_callback", NULL,
                 GOIO_EBUSY,
                 "goio_redis_free called from an async callback: refused "
                 "(the async thread cannot join itself)");
        return;
    }
    goio__redis_cluster_destroy(r);
    goio__redis_opts_free(&r->opts);
    goio_free(r);
}

/* ---- running a command on one key ---------------------------------------- */

typedef struct keycmd {
    goio__redis_key k;
    goio__redis_cmd cmd;
    const char *argv[6];
    size_t lens[6];
} keycmd;

/* argv[0] = name, argv[1] = the namespaced key; the caller adds the rest. */
static int keycmd_init(goio_redis *r, keycmd *kc, const char *kpi,
                       const char *name, const char *key, bool idempotent)
{
    int rc = goio__redis_key_make(&r->opts, key, &kc->k);
    if (rc)
        return rc;
    kc->argv[0] = name;
    kc->lens[0] = strlen(name);
    kc->argv[1] = kc->k.s;
    kc->lens[1] = kc->k.len;
    kc->cmd = (goio__redis_cmd){
        .kpi = kpi,
        .argc = 2,
        .argv = kc->argv,
        .argvlen = kc->lens,
        .slot = r->opts.cluster ? goio_redis_key_slot(kc->k.s, kc->k.len) : 0,
        .idempotent = idempotent,
        .log_key = key,
        .mux = true,
    };
    return 0;
}

static void keycmd_arg(keycmd *kc, const void *p, size_t len)
{
    kc->argv[kc->cmd.argc] = p;
    kc->lens[kc->cmd.argc] = len;
    kc->cmd.argc++;
}

static int keycmd_run(goio_redis *r, goio_ctx *ctx, keycmd *kc,
                      redisReply **reply)
{
    int rc = goio__redis_exec(r, ctx, &kc->cmd, reply);
    goio__redis_key_release(&kc->k);
    return rc;
}

static int unexpected(redisReply *reply, const char *what, const char *key)
{
    goio_log(GOIO_LOG_WARN, "redis", "redis_bad_reply", key, GOIO_EPROTO,
             "unexpected reply type %d to %s", reply->type, what);
    freeReplyObject(reply);
    return GOIO_EPROTO;
}

static int integer_reply(goio_redis *r, goio_ctx *ctx, keycmd *kc,
                         long long *value)
{
    redisReply *reply;
    int rc = keycmd_run(r, ctx, kc, &reply);
    if (rc)
        return rc;
    if (reply->type != REDIS_REPLY_INTEGER)
        return unexpected(reply, kc->argv[0], kc->cmd.log_key);
    *value = reply->integer;
    freeReplyObject(reply);
    return 0;
}

int goio__redis_ttl_arg(int64_t ttl_ms, char *buf, size_t size)
{
    if (ttl_ms > GOIO_REDIS_MAX_TTL_MS)
        ttl_ms = GOIO_REDIS_MAX_TTL_MS;
    return snprintf(buf, size, "%lld", (long long)ttl_ms);
}

/* ---- public single-key calls --------------------------------------------- */

int goio_redis_get(goio_redis *r, goio_ctx *ctx, const char *key, goio_buf *out,
                   bool *hit)
{
    if (!r || !out || !hit)
        return GOIO_EINVAL;
    *hit = false;
    keycmd kc;
    redisReply *reply;
    int rc = keycmd_init(r, &kc, "redis_command_get", "GET", key, true);
    if (rc || (rc = keycmd_run(r, ctx, &kc, &reply)) != 0)
        return rc;
    if (reply->type == REDIS_REPLY_STRING) {
        rc = goio_buf_set(out, reply->str, reply->len);
        *hit = rc == 0;
    } else if (reply->type == REDIS_REPLY_NIL) {
        goio_buf_clear(out);
    } else {
        return unexpected(reply, "GET", key);
    }
    freeReplyObject(reply);
    if (!rc && *hit)
        GOIO__REDIS_COUNT(&r->ctr, hits);
    else if (!rc)
        GOIO__REDIS_COUNT(&r->ctr, misses);
    return rc;
}

static int set_reply(goio_redis *r, goio_ctx *ctx, keycmd *kc, bool *was_set)
{
    redisReply *reply;
    int rc = keycmd_run(r, ctx, kc, &reply);
    if (rc)
        return rc;
    if (reply->type == REDIS_REPLY_STATUS) {
        if (was_set)
            *was_set = true;
        GOIO__REDIS_COUNT(&r->ctr, sets);
    } else if (reply->type == REDIS_REPLY_NIL) {
        if (was_set)
            *was_set = false; /* NX found the key */
    } else {
        return unexpected(reply, "SET", kc->cmd.log_key);
    }
    freeReplyObject(reply);
    return 0;
}

void goio_redis_set_config_init(goio_redis_set_config *cfg)
{
    if (cfg)
        *cfg = (goio_redis_set_config){.ttl_ms = 0, .if_not_exists = false};
}

int goio_redis_set_opt(goio_redis *r, goio_ctx *ctx, const char *key,
                       const void *value, size_t len,
                       const goio_redis_set_config *opts, bool *was_set)
{
    if (!r || !opts || (!value && len))
        return GOIO_EINVAL;
    keycmd kc;
    int rc = keycmd_init(r, &kc, "redis_command_set", "SET", key,
                         !opts->if_not_exists);
    if (rc)
        return rc;
    keycmd_arg(&kc, value ? value : "", len);
    char ttl[32];
    if (opts->ttl_ms > 0) {
        int n = goio__redis_ttl_arg(opts->ttl_ms, ttl, sizeof ttl);
        keycmd_arg(&kc, "PX", 2);
        keycmd_arg(&kc, ttl, (size_t)n);
    }
    if (opts->if_not_exists)
        keycmd_arg(&kc, "NX", 2);
    return set_reply(r, ctx, &kc, was_set);
}

int goio_redis_del(goio_redis *r, goio_ctx *ctx, const char *key, bool *deleted)
{
    if (!r)
        return GOIO_EINVAL;
    keycmd kc;
    long long n;
    int rc = keycmd_init(r, &kc, "redis_command_del", "DEL", key, true);
    if (rc || (rc = integer_reply(r, ctx, &kc, &n)) != 0)
        return rc;
    if (deleted)
        *deleted = n > 0;
    GOIO__REDIS_COUNT(&r->ctr, deletes);
    return 0;
}

int goio_redis_set(goio_redis *r, goio_ctx *ctx, const char *key,
                   const void *value, size_t len, int64_t ttl_ms)
{
    if (!r || (!value && len))
        return GOIO_EINVAL;
    /* Stored already expired, as the cache contract says: on Redis that is
     * no key at all (SET rejects a zero expiry). DEL checks the key. */
    if (ttl_ms <= 0)
        return goio_redis_del(r, ctx, key, NULL);
    goio_redis_set_config o = {.ttl_ms = ttl_ms};
    return goio_redis_set_opt(r, ctx, key, value, len, &o, NULL);
}

int goio_redis_exists(goio_redis *r, goio_ctx *ctx, const char *key,
                      bool *exists)
{
    if (!r || !exists)
        return GOIO_EINVAL;
    keycmd kc;
    long long n;
    int rc = keycmd_init(r, &kc, "redis_command_exists", "EXISTS", key, true);
    if (rc || (rc = integer_reply(r, ctx, &kc, &n)) != 0)
        return rc;
    *exists = n > 0;
    return 0;
}

int goio_redis_incr(goio_redis *r, goio_ctx *ctx, const char *key,
                    int64_t *value)
{
    if (!r)
        return GOIO_EINVAL;
    keycmd kc;
    long long n;
    int rc = keycmd_init(r, &kc, "redis_command_incr", "INCR", key, false);
    if (rc || (rc = integer_reply(r, ctx, &kc, &n)) != 0)
        return rc;
    if (value)
        *value = n;
    return 0;
}

int goio_redis_publish(goio_redis *r, goio_ctx *ctx, const char *channel,
                       const void *msg, size_t len, int64_t *receivers)
{
    if (!r || (!msg && len))
        return GOIO_EINVAL;
    keycmd kc;
    long long n;
    int rc =
        keycmd_init(r, &kc, "redis_command_publish", "PUBLISH", channel, false);
    if (rc)
        return rc;
    keycmd_arg(&kc, msg ? msg : "", len);
    if ((rc = integer_reply(r, ctx, &kc, &n)) != 0)
        return rc;
    if (receivers)
        *receivers = n;
    return 0;
}

/* ---- stats ----------------------------------------------------------------
 */

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

int goio_redis_stats_get(goio_redis *r, goio_redis_stats *out)
{
    if (!r || !out)
        return GOIO_EINVAL;
    memset(out, 0, sizeof *out);
    const goio__redis_counters *c = &r->ctr;
    out->connects = LOAD(c->connects);
    out->connect_errors = LOAD(c->connect_errors);
    out->closed_broken = LOAD(c->closed_broken);
    out->closed_idle = LOAD(c->closed_idle);
    out->closed_excess = LOAD(c->closed_excess);
    out->pings = LOAD(c->pings);
    out->waits = LOAD(c->waits);
    out->wait_timeouts = LOAD(c->wait_timeouts);
    out->retries = LOAD(c->retries);
    out->moved = LOAD(c->moved);
    out->ask = LOAD(c->ask);
    out->tryagain = LOAD(c->tryagain);
    out->slot_refreshes = LOAD(c->slot_refreshes);
    out->pipelines = LOAD(c->pipelines);
    pthread_rwlock_rdlock(&r->cl.lock);
    out->nodes = (uint32_t)r->cl.n_nodes;
    for (size_t i = 0; i < r->cl.n_nodes; i++) {
        int open, idle;
        goio__redis_pool_counts(&r->cl.nodes[i]->pool, &open, &idle);
        out->open += (uint32_t)open;
        out->idle += (uint32_t)idle;
        out->open += (uint32_t)goio__redis_mux_open(&r->cl.nodes[i]->mux);
    }
    pthread_rwlock_unlock(&r->cl.lock);
    return 0;
}

/* ---- the goio_cache implementation --------------------------------------- */

static int cache_get(goio_cache *c, goio_ctx *ctx, const char *key,
                     goio_buf *out, bool *hit)
{
    return goio_redis_get(from_cache(c), ctx, key, out, hit);
}

/* go-io's SET: EX in whole seconds (truncated, as Go's int(d.Seconds())),
 * capped at 12 h; below one second go-io's SET fails, goio sends 1. */
static int wire_set(goio_redis *r, goio_ctx *ctx, const char *key,
                    const void *value, size_t len, int64_t ttl_ms)
{
    keycmd kc;
    int rc = keycmd_init(r, &kc, "redis_command_set", "SET", key, true);
    if (rc)
        return rc;
    int64_t sec =
        (ttl_ms > GOIO_REDIS_MAX_TTL_MS ? GOIO_REDIS_MAX_TTL_MS : ttl_ms) /
        1000;
    char ex[32];
    int n = snprintf(ex, sizeof ex, "%lld", (long long)(sec < 1 ? 1 : sec));
    keycmd_arg(&kc, value, len);
    keycmd_arg(&kc, "EX", 2);
    keycmd_arg(&kc, ex, (size_t)n);
    return set_reply(r, ctx, &kc, NULL);
}

static int cache_set(goio_cache *c, goio_ctx *ctx, const char *key,
                     const void *value, size_t len, int64_t ttl_ms)
{
    if (ttl_ms > 0 && goio_cache_wire_get(c) == GOIO_CACHE_WIRE_GO_IO)
        return wire_set(from_cache(c), ctx, key, value, len, ttl_ms);
    return goio_redis_set(from_cache(c), ctx, key, value, len, ttl_ms);
}

static int cache_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    return goio_redis_del(from_cache(c), ctx, key, NULL);
}

static int cache_stats(goio_cache *c, goio_cache_stats *out)
{
    goio_redis *r = from_cache(c);
    memset(out, 0, sizeof *out);
    out->hits = LOAD(r->ctr.hits);
    out->misses = LOAD(r->ctr.misses);
    out->sets = LOAD(r->ctr.sets);
    out->deletes = LOAD(r->ctr.deletes);
    return 0;
}

static int cache_clear(goio_cache *c, goio_ctx *ctx)
{
    return goio__redis_clear_namespace(from_cache(c), ctx);
}

static void cache_destroy(goio_cache *c)
{
    redis_destroy(from_cache(c));
}

static const goio_cache_ops redis_cache_ops = {
    .name = "redis",
    .get = cache_get,
    .set = cache_set,
    .del = cache_del,
    .stats = cache_stats,
    .clear = cache_clear,
    .destroy = cache_destroy,
};

/* ---- lifecycle ----------------------------------------------------------- */

int goio_redis_new(const goio_redis_config *cfg, goio_redis **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    if (!cfg || (cfg->wire != GOIO_CACHE_WIRE_GOIO &&
                 cfg->wire != GOIO_CACHE_WIRE_GO_IO))
        return GOIO_EINVAL;
    goio_redis *r = goio_calloc(1, sizeof *r);
    if (!r)
        return GOIO_ENOMEM;
    int rc = goio__redis_opts_from_config(cfg, &r->opts);
    if (rc) {
        goio_free(r);
        return rc;
    }
    rc = goio__redis_async_init(&r->as, r, r->opts.async_dispatch);
    if (rc) {
        goio__redis_opts_free(&r->opts);
        goio_free(r);
        return rc;
    }
    rc = goio__redis_cluster_init(r);
    if (rc) {
        goio__redis_async_stop(&r->as);
        goio__redis_opts_free(&r->opts);
        goio_free(r);
        return rc;
    }
    rc = goio_cache_init(&r->base, &redis_cache_ops);
    if (rc) {
        redis_destroy(r);
        return rc;
    }
    /* go-io's Redis cache stores []byte raw, everything else as JSON */
    goio_cache_wire_set(&r->base, cfg->wire, true);
    *out = r;
    return 0;
}

void goio_redis_free(goio_redis *r)
{
    if (r)
        goio_cache_free(&r->base);
}

goio_cache *goio_redis_cache(goio_redis *r)
{
    return r ? &r->base : NULL;
}

goio_redis *goio_redis_from_cache(goio_cache *c)
{
    return c && c->ops == &redis_cache_ops ? from_cache(c) : NULL;
}
