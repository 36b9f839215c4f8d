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
 *
 * Own messages. A wrapper skips its own explicit invalidations: the local
 * copy it just wrote is the newest there is. In goio's format they carry
 * its random id. Bare keys (go-io's format) carry nothing, so the wrapper
 * counts, per key, the messages it has published and not yet received
 * back ("own" table, counted before the PUBLISH is sent) and skips that
 * many messages of the key. A message of another instance that arrives
 * while one of ours is in flight may be skipped in its place; ours then
 * arrives after it and drops the key, so the copy is dropped no later
 * than our own message's arrival (during or just after the set that
 * published it). A publish that fails un-counts itself (if it was sent
 * after all, it arrives as another's and drops our copy); a reconnect empties
 * the table (messages published in the gap are lost and the local layer is
 * dropped anyway); a full table publishes uncounted (the wrapper then drops its
 * own copy: one more remote read).
 */
#include "pubsub_int.h"

#include <stdio.h>
#include <string.h>

#define SLOTS 1024 /* per-key-slot sequence numbers: 8 KiB */

#define DEFAULT_CHANNEL "goio:cache:invalidate"

#define OWN_BUCKETS 256  /* own table: keys published, not yet received */
#define OWN_MAX     4096 /* at most this many keys in flight are counted */

typedef struct own_rec {
    struct own_rec *next;
    uint64_t hash;
    uint32_t count; /* messages of this key published, not received */
    size_t len;
    char key[];
} own_rec;

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
    bool bare; /* we publish bare keys: own messages via the own table */
    pthread_mutex_t own_mu;
    own_rec *own_tab[OWN_BUCKETS];
    size_t own_n; /* records in own_tab */
    _Atomic uint64_t seq[SLOTS];
    _Atomic uint64_t all_seq;
    _Atomic uint64_t invalidations, flushes, race_drops, bypassed;
    _Atomic uint64_t own_skipped;
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

/* ---- own bare messages ----------------------------------------------------
 */

static own_rec **own_find(coherent *c, const char *key, size_t len, uint64_t h)
{
    own_rec **pp = &c->own_tab[h & (OWN_BUCKETS - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->len == len &&
            !memcmp((*pp)->key, key, len))
            break;
    return pp;
}

/* Counts one message of ours for key about to be published; false when
 * it could not be counted (it will then drop our own copy too). */
static bool own_add(coherent *c, const char *key, size_t len)
{
    uint64_t h = goio_hash64(key, len, 0);
    bool ok = true;
    pthread_mutex_lock(&c->own_mu);
    own_rec **pp = own_find(c, key, len, h);
    if (*pp) {
        (*pp)->count++;
    } else if (c->own_n < OWN_MAX &&
               (*pp = goio_malloc(sizeof **pp + len)) != NULL) {
        (*pp)->next = NULL;
        (*pp)->hash = h;
        (*pp)->count = 1;
        (*pp)->len = len;
        memcpy((*pp)->key, key, len);
        c->own_n++;
    } else {
        ok = false;
    }
    pthread_mutex_unlock(&c->own_mu);
    return ok;
}

/* Takes one count of key: whether a message of ours was in flight. */
static bool own_take(coherent *c, const char *key, size_t len)
{
    uint64_t h = goio_hash64(key, len, 0);
    bool ours = false;
    pthread_mutex_lock(&c->own_mu);
    own_rec **pp = own_find(c, key, len, h);
    if (*pp) {
        ours = true;
        if (--(*pp)->count == 0) {
            own_rec *r = *pp;
            *pp = r->next;
            goio_free(r);
            c->own_n--;
        }
    }
    pthread_mutex_unlock(&c->own_mu);
    return ours;
}

static void own_clear(coherent *c)
{
    pthread_mutex_lock(&c->own_mu);
    for (size_t i = 0; i < OWN_BUCKETS; i++) {
        while (c->own_tab[i]) {
            own_rec *r = c->own_tab[i];
            c->own_tab[i] = r->next;
            goio_free(r);
        }
    }
    c->own_n = 0;
    pthread_mutex_unlock(&c->own_mu);
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
 * wrote is the newest there is (by id, or, publishing bare keys, by the
 * own table).
 */
static void on_channel_msg(goio_pubsub_sub *sub, const goio_pubsub_msg *msg,
                           void *data)
{
    (void)sub;
    coherent *c = data;
    const char *key = (const char *)msg->data;
    const char *nul = memchr(key, '\0', msg->len);
    size_t key_len = nul ? (size_t)(nul - key) : msg->len;
    if (nul ? msg->len - key_len - 1 == sizeof c->sender - 1 &&
                  !memcmp(nul + 1, c->sender, sizeof c->sender - 1)
            : c->bare && own_take(c, key, key_len)) {
        bump(&c->own_skipped);
        return;
    }
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

/* Live again after a gap: whatever changed meanwhile went unreported. Our
 * messages of the gap are lost too: nothing is in flight any more. */
static void on_active(goio_pubsub_sub *sub, void *data)
{
    (void)sub;
    coherent *c = data;
    if (c->bare)
        own_clear(c);
    drop_all(c);
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
    int prc;
    if (c->bare) {
        bool counted = own_add(c, key, len);
        prc = goio_pubsub_publish(c->ps, ctx, c->channel, key, len, NULL);
        if (prc < 0 && counted)    /* if it was sent after all, it arrives */
            own_take(c, key, len); /* as another's and drops our copy */
    } else {
        goio_buf payload = GOIO_BUF_INIT;
        prc = goio_buf_reserve(&payload, len + sizeof c->sender);
        if (!prc) {
            goio_buf_append(&payload, key, len);
            goio_buf_append(&payload, "", 1);
            goio_buf_append(&payload, c->sender, sizeof c->sender - 1);
            prc = goio_pubsub_publish(c->ps, ctx, c->channel, payload.data,
                                      payload.len, NULL);
        }
        goio_buf_deinit(&payload);
    }
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
    own_clear(c);
    pthread_mutex_destroy(&c->own_mu);
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
        (cfg->explicit_invalidation && !goio_cache_key_valid(cfg->channel)) ||
        (unsigned)cfg->format > GOIO_PUBSUB_INV_BARE)
        return GOIO_EINVAL;
    *out = NULL;
    goio_cache *remote = goio_cache_hybrid_remote(hybrid);
    if (cfg->server_assisted && !tracking_fits(ps, remote))
        return GOIO_EINVAL;
    coherent *c = goio_calloc(1, sizeof *c);
    if (!c)
        return GOIO_ENOMEM;
    if (pthread_mutex_init(&c->own_mu, NULL)) {
        goio_free(c);
        return GOIO_ENOMEM;
    }
    c->h = hybrid;
    c->remote = remote;
    c->ps = ps;
    c->explicit_inv = cfg->explicit_invalidation;
    /* A namespace shared with go-io services (the hybrid stores go-io's
     * format) gets the messages they can read. */
    c->bare = cfg->format == GOIO_PUBSUB_INV_BARE ||
              (cfg->format == GOIO_PUBSUB_INV_AUTO &&
               goio_cache_wire_get(hybrid) == GOIO_CACHE_WIRE_GO_IO);
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
    pthread_mutex_destroy(&c->own_mu);
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
    out->own_skipped = atomic_load(&c->own_skipped);
    out->live = live(c);
    return 0;
}
