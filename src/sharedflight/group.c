/* SPDX-License-Identifier: MIT */
/*
 * The group: a sharded hash table of running flights, keyed by string.
 *
 * Each shard is a mutex and a chained table whose links live in the
 * flights themselves, so adding a flight allocates nothing beyond the
 * flight. A flight is in the table only while it runs and is the current
 * flight of its key; it leaves when it is done, forgotten, or abandoned by
 * every caller, so a finished flight leaves nothing behind.
 */
#include "sf_int.h"

#include <string.h>

#define SF_MIN_BUCKETS 8

void goio_sharedflight_config_init(goio_sharedflight_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->max_workers = 8;
    cfg->idle_ms = 2000;
}

static int shard_init(sf_shard *s)
{
    s->buckets = goio_calloc(SF_MIN_BUCKETS, sizeof *s->buckets);
    if (!s->buckets)
        return GOIO_ENOMEM;
    atomic_init(&s->lock.state, 0);
    s->nbuckets = SF_MIN_BUCKETS;
    atomic_init(&s->running, 0);
    return 0;
}

static void shard_destroy(sf_shard *s)
{
    goio_free(s->buckets);
}

static void group_destroy(goio_sharedflight *g, int shards)
{
    for (int i = 0; i < shards; i++)
        shard_destroy(&g->shards[i].s);
    pthread_mutex_destroy(&g->pool_once);
    goio_free(g);
}

int goio_sharedflight_new(const goio_sharedflight_config *cfg,
                          goio_sharedflight **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    goio_sharedflight_config defaults;
    goio_sharedflight_config_init(&defaults);
    if (!cfg)
        cfg = &defaults;
    if (cfg->max_workers < 1 || cfg->idle_ms < 0)
        return GOIO_EINVAL;
    goio_sharedflight *g = goio_calloc(1, sizeof *g);
    if (!g)
        return GOIO_ENOMEM;
    g->cfg = *cfg;
    if (pthread_mutex_init(&g->pool_once, NULL)) {
        goio_free(g);
        return GOIO_ENOMEM;
    }
    for (int i = 0; i < SF_SHARDS; i++) {
        if (shard_init(&g->shards[i].s)) {
            group_destroy(g, i);
            return GOIO_ENOMEM;
        }
    }
    *out = g;
    return 0;
}

void goio_sharedflight_free(goio_sharedflight *g)
{
    if (!g)
        return;
    if (g->pool)
        goio__sharedflight_pool_free(g->pool);
    group_destroy(g, SF_SHARDS);
}

/* ---- hashing and the table ---- */

uint32_t goio__sharedflight_shard_of(uint64_t hash)
{
    return (uint32_t)(hash >> 59) % SF_SHARDS; /* buckets use the low bits */
}

sf_flight *goio__sharedflight_lock_key(goio_sharedflight *g, const char *key,
                                       size_t len, uint64_t *hash, sf_shard **s)
{
    uint64_t h = goio_hash64(key, len, 0);
    if (hash)
        *hash = h;
    sf_shard *shard = *s = &g->shards[goio__sharedflight_shard_of(h)].s;
    sf_lock_acquire(&shard->lock);
    for (sf_flight *f = shard->buckets[h & (shard->nbuckets - 1)]; f;
         f = f->hnext)
        if (f->hash == h && f->keylen == len && !memcmp(f->key, key, len))
            return f;
    return NULL;
}

/* Doubles the bucket array; on allocation failure the chains just get
 * longer, so inserting never fails. */
static void table_grow(sf_shard *s)
{
    size_t n = s->nbuckets * 2;
    sf_flight **b = goio_calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        for (sf_flight *f = s->buckets[i], *next; f; f = next) {
            next = f->hnext;
            f->hnext = b[f->hash & (n - 1)];
            b[f->hash & (n - 1)] = f;
        }
    }
    goio_free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

void goio__sharedflight_insert(sf_shard *s, sf_flight *f)
{
    if (s->count >= s->nbuckets)
        table_grow(s);
    sf_flight **head = &s->buckets[f->hash & (s->nbuckets - 1)];
    f->hnext = *head;
    *head = f;
    f->attached = true;
    s->count++;
}

/* Removes f itself (never another flight of the same key). */
void goio__sharedflight_detach(sf_shard *s, sf_flight *f)
{
    if (!f->attached)
        return;
    sf_flight **p = &s->buckets[f->hash & (s->nbuckets - 1)];
    while (*p != f)
        p = &(*p)->hnext;
    *p = f->hnext;
    f->hnext = NULL;
    f->attached = false;
    s->count--;
}

/* ---- public lookups ---- */

int goio_sharedflight_forget(goio_sharedflight *g, const char *key)
{
    if (!g || !key || !*key)
        return GOIO_EINVAL;
    sf_shard *s;
    sf_flight *f = goio__sharedflight_lock_key(g, key, strlen(key), NULL, &s);
    if (f)
        goio__sharedflight_detach(s, f);
    sf_lock_release(&s->lock);
    return 0;
}

int goio_sharedflight_callers(goio_sharedflight *g, const char *key, size_t *n)
{
    if (n)
        *n = 0;
    if (!g || !key || !*key || !n)
        return GOIO_EINVAL;
    sf_shard *s;
    sf_flight *f = goio__sharedflight_lock_key(g, key, strlen(key), NULL, &s);
    *n = f ? f->live : 0;
    sf_lock_release(&s->lock);
    return 0;
}

size_t goio_sharedflight_inflight(goio_sharedflight *g)
{
    if (!g)
        return 0;
    size_t n = 0;
    for (int i = 0; i < SF_SHARDS; i++)
        n +=
            atomic_load_explicit(&g->shards[i].s.running, memory_order_relaxed);
    return n;
}

/* ---- results ---- */

void *goio_sharedflight_result_value(const goio_sharedflight_result *r)
{
    return r ? r->value : NULL;
}

goio_sharedflight_result *
goio_sharedflight_result_ref(goio_sharedflight_result *r)
{
    if (r)
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    return r;
}

void goio__sharedflight_flight_unref(sf_flight *f)
{
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (f->value && f->destroy)
        f->destroy(f->value);
    goio_free(f);
}

void goio_sharedflight_result_unref(goio_sharedflight_result *r)
{
    if (r)
        goio__sharedflight_flight_unref(r);
}
