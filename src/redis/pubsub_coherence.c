/* SPDX-License-Identifier: MIT */
/*
 * Coherent local caches (goio/pubsub.h): a goio_cache wrapping a hybrid
 * cache whose local copies are dropped when Redis or another goio
 * instance reports a change. The cache module knows nothing of Redis; it
 * only offers goio_cache_hybrid_invalidate(_all), which this file calls
 * from the pub/sub loop thread.
 *
 * The race every client-side cache has: a reader misses locally, reads
 * the old value from Redis, the key changes and its invalidation is
 * processed, and only then the reader stores the old value locally,
 * where no later invalidation will find it. Each invalidation therefore
 * bumps a sequence number of its key's slot before and after dropping the
 * key (odd while in progress, like a seqlock); a read that sees its
 * slot's number change, or odd, drops the key again after its fill. Whole
 * flushes use one more sequence number the same way.
 */
#include "pubsub_int.h"

#include <stdio.h>
#include <string.h>

#define SLOTS 1024 /* per-key-slot sequence numbers: 8 KiB */

#define DEFAULT_CHANNEL "goio:cache:invalidate"

typedef struct coherent {
    goio_cache base;
    goio_cache *h; /* the hybrid */
    goio_cache *remote;
    goio_pubsub *ps;
    goio_pubsub_sub *chan_sub;  /* explicit invalidations */
    goio_pubsub_sub *track_sub; /* __redis__:invalidate */
    char *channel;
    char sender[17]; /* random id after the key in our messages (hex) */
    bool explicit_inv, own;
    _Atomic uint64_t seq[SLOTS];
    _Atomic uint64_t all_seq;
    _Atomic uint64_t invalidations, flushes, race_drops, bypassed;
} coherent;

static const goio_cache_ops coherent_ops;

static size_t slot_of(const char *key, size_t len)
{
    return (size_t)(goio__ps_hash(false, key, len) & (SLOTS - 1));
}

static void bump(_Atomic uint64_t *v)
{
    atomic_fetch_add(v, 1);
}

/* ---- invalidation (loop thread) -------------------------------------------
 */

static void drop_key(coherent *c, const char *key, size_t len)
{
    if (len == 0 || len > GOIO_CACHE_MAX_KEY || strlen(key) != len)
        return; /* not a key goio could have cached */
    _Atomic uint64_t *s = &c->seq[slot_of(key, len)];
    bump(s);
    goio_cache_hybrid_invalidate(c->h, NULL, key);
    bump(s);
    bump(&c->invalidations);
}

static void drop_all(coherent *c)
{
    bump(&c->all_seq);
    goio_cache_hybrid_invalidate_all(c->h, NULL);
    bump(&c->all_seq);
    bump(&c->flushes);
}

/*
 * An explicit message is "<key>" or "<key>\0<sender id>"; an empty key
 * means everything. Our own messages are skipped: the local copy we just
 * wrote is the newest there is.
 */
static void on_channel_msg(goio_pubsub_sub *sub, const goio_pubsub_msg *msg,
                           void *data)
{
    (void)sub;
    coherent *c = data;
    const char *key = (const char *)msg->data;
    const char *nul = memchr(key, '\0', msg->len);
    size_t key_len = nul ? (size_t)(nul - key) : msg->len;
    if (nul && msg->len - key_len - 1 == sizeof c->sender - 1 &&
        !memcmp(nul + 1, c->sender, sizeof c->sender - 1))
        return;
    if (key_len == 0)
        drop_all(c); /* a clear somewhere */
    else
        drop_key(c, key, key_len);
}

/* __redis__:invalidate: an array of keys, or a null after a flush. */
static void on_tracking(goio_pubsub_sub *sub, const redisReply *payload,
                        void *data)
{
    coherent *c = data;
    goio_pubsub *ps = sub->ps;
    if (payload->type != REDIS_REPLY_ARRAY) {
        drop_all(c);
        return;
    }
    for (size_t i = 0; i < payload->elements; i++) {
        const redisReply *k = payload->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len < ps->prefix_len ||
            memcmp(k->str, ps->prefix, ps->prefix_len))
            continue; /* not ours (BCAST PREFIX makes this rare) */
        drop_key(c, k->str + ps->prefix_len, k->len - ps->prefix_len);
    }
}

/* Live again after a gap: whatever changed meanwhile went unreported. */
static void on_active(goio_pubsub_sub *sub, void *data)
{
    (void)sub;
    drop_all(data);
}

static bool live(coherent *c)
{
    return (!c->chan_sub || goio__pubsub_sub_live(c->chan_sub)) &&
           (!c->track_sub || goio__pubsub_sub_live(c->track_sub));
}

/* ---- the cache ops --------------------------------------------------------
 */

/* While invalidations are not being received: straight to the remote
 * layer, nothing kept locally. */
static int remote_get(coherent *c, goio_ctx *ctx, const char *key,
                      goio_buf *out, bool *hit)
{
    /* as the hybrid (either wire): Redis' TTL decides */
    return goio_cache_hybrid_get_remote(c->h, ctx, key, out, hit);
}

static int coh_get(goio_cache *cc, goio_ctx *ctx, const char *key,
                   goio_buf *out, bool *hit)
{
    coherent *c = (coherent *)cc;
    if (!live(c)) {
        bump(&c->bypassed);
        return remote_get(c, ctx, key, out, hit);
    }
    _Atomic uint64_t *s = &c->seq[slot_of(key, strlen(key))];
    uint64_t s0 = atomic_load(s), a0 = atomic_load(&c->all_seq);
    int rc = goio_cache_get(c->h, ctx, key, out, hit);
    uint64_t s1 = atomic_load(s), a1 = atomic_load(&c->all_seq);
    if (s0 != s1 || a0 != a1 || ((s0 | a0) & 1)) {
        /* the fill may be old */
        goio_cache_hybrid_invalidate(c->h, NULL, key);
        bump(&c->race_drops);
    }
    return rc;
}

static int publish_key(coherent *c, goio_ctx *ctx, const char *key, size_t len,
                       int rc)
{
    if (!c->explicit_inv)
        return rc;
    goio_buf payload = GOIO_BUF_INIT;
    int prc = goio_buf_reserve(&payload, len + sizeof c->sender);
    if (!prc) {
        goio_buf_append(&payload, key, len);
        goio_buf_append(&payload, "", 1);
        goio_buf_append(&payload, c->sender, sizeof c->sender - 1);
        prc = goio_pubsub_publish(c->ps, ctx, c->channel, payload.data,
                                  payload.len, NULL);
    }
    goio_buf_deinit(&payload);
    if (prc < 0)
        goio_log(GOIO_LOG_ERROR, "cache", "coherent_publish_failed",
                 len ? key : NULL, prc,
                 "publishing an invalidation failed: other instances may "
                 "keep an old local copy until its TTL");
    return rc < 0 ? rc : prc;
}

static int coh_set(goio_cache *cc, goio_ctx *ctx, const char *key,
                   const void *value, size_t len, int64_t ttl_ms)
{
    coherent *c = (coherent *)cc;
    int rc = goio_cache_set(c->h, ctx, key, value, len, ttl_ms);
    if (rc < 0) /* the local layer may now be ahead of the remote one */
        goio_cache_hybrid_invalidate(c->h, NULL, key);
    return publish_key(c, ctx, key, strlen(key), rc);
}

static int coh_del(goio_cache *cc, goio_ctx *ctx, const char *key)
{
    coherent *c = (coherent *)cc;
    int rc = goio_cache_del(c->h, ctx, key);
    return publish_key(c, ctx, key, strlen(key), rc);
}

static int coh_clear(goio_cache *cc, goio_ctx *ctx)
{
    coherent *c = (coherent *)cc;
    int rc = goio_cache_clear(c->h, ctx);
    return publish_key(c, ctx, "", 0, rc); /* empty payload: everything */
}

static int coh_stats(goio_cache *cc, goio_cache_stats *out)
{
    return goio_cache_stats_get(((coherent *)cc)->h, out);
}

static void coh_destroy(goio_cache *cc)
{
    coherent *c = (coherent *)cc;
    /* After these return no callback of ours runs any more. */
    if (c->chan_sub)
        goio_pubsub_unsubscribe(c->chan_sub);
    if (c->track_sub)
        goio_pubsub_unsubscribe(c->track_sub);
    if (c->own)
        goio_cache_free(c->h);
    goio_free(c->channel);
    goio_free(c);
}

static const goio_cache_ops coherent_ops = {
    .name = "coherent",
    .get = coh_get,
    .set = coh_set,
    .del = coh_del,
    .stats = coh_stats,
    .clear = coh_clear,
    .destroy = coh_destroy,
};

/* ---- construction ---------------------------------------------------------
 */

void goio_pubsub_coherent_config_init(goio_pubsub_coherent_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->explicit_invalidation = true;
    cfg->channel = DEFAULT_CHANNEL;
}

/* server_assisted needs the handle's tracking and a remote layer that
 * is a goio_redis cache of the same namespace (the keys Redis reports). */
static bool tracking_fits(goio_pubsub *ps, goio_cache *remote)
{
    goio_redis *r = goio_redis_from_cache(remote);
    return ps->tracking && r && !strcmp(r->opts.ns, ps->o->ns);
}

static int subscribe_all(coherent *c, bool server_assisted)
{
    goio_pubsub_sub_config opts = {.callback = on_channel_msg, .data = c};
    goio__ps_hooks hooks = {.on_active = on_active};
    int rc = 0;
    if (c->explicit_inv) {
        const char *names[] = {c->channel};
        rc = goio__pubsub_subscribe_ex(c->ps, false, false, names, 1, &opts,
                                       &hooks, &c->chan_sub);
    }
    if (rc == 0 && server_assisted) {
        const char *names[] = {GOIO__PS_TRACKING_CHANNEL};
        opts.callback = NULL;
        hooks.raw = on_tracking;
        rc = goio__pubsub_subscribe_ex(c->ps, false, true, names, 1, &opts,
                                       &hooks, &c->track_sub);
    }
    return rc;
}

int goio_pubsub_coherent_new(goio_pubsub *ps, goio_cache *hybrid,
                             const goio_pubsub_coherent_config *cfg,
                             goio_cache **out)
{
    goio_pubsub_coherent_config defaults;
    if (!cfg) {
        goio_pubsub_coherent_config_init(&defaults);
        cfg = &defaults;
    }
    if (!ps || !out || !goio_cache_hybrid_local(hybrid) ||
        (!cfg->explicit_invalidation && !cfg->server_assisted) ||
        (cfg->explicit_invalidation && !goio_cache_key_valid(cfg->channel)))
        return GOIO_EINVAL;
    *out = NULL;
    goio_cache *remote = goio_cache_hybrid_remote(hybrid);
    if (cfg->server_assisted && !tracking_fits(ps, remote))
        return GOIO_EINVAL;
    coherent *c = goio_calloc(1, sizeof *c);
    if (!c)
        return GOIO_ENOMEM;
    c->h = hybrid;
    c->remote = remote;
    c->ps = ps;
    c->explicit_inv = cfg->explicit_invalidation;
    /* A random id, so a wrapper can tell its own messages from others'. */
    snprintf(c->sender, sizeof c->sender, "%016llx",
             (unsigned long long)goio_random_u64());
    int rc = GOIO_ENOMEM;
    if (c->explicit_inv && !(c->channel = goio_strdup(cfg->channel)))
        goto fail;
    if ((rc = goio_cache_init(&c->base, &coherent_ops)) != 0)
        goto fail;
    /* the hybrid's format: typed calls on the wrapper encode as it stores */
    goio_cache_wire_set(&c->base, goio_cache_wire_get(hybrid), false);
    if ((rc = subscribe_all(c, cfg->server_assisted)) != 0) {
        goio_cache_deinit(&c->base);
        goto fail;
    }
    c->own = cfg->own_hybrid; /* only now: a failed new never frees it */
    *out = &c->base;
    return 0;
fail:
    if (c->chan_sub)
        goio_pubsub_unsubscribe(c->chan_sub);
    goio_free(c->channel);
    goio_free(c);
    return rc;
}

int goio_pubsub_coherent_stats_get(goio_cache *cc,
                                   goio_pubsub_coherent_stats *out)
{
    if (!cc || !out || cc->ops != &coherent_ops)
        return GOIO_EINVAL;
    coherent *c = (coherent *)cc;
    out->invalidations = atomic_load(&c->invalidations);
    out->flushes = atomic_load(&c->flushes);
    out->race_drops = atomic_load(&c->race_drops);
    out->bypassed_reads = atomic_load(&c->bypassed);
    out->live = live(c);
    return 0;
}
