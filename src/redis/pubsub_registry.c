/* SPDX-License-Identifier: MIT */
/*
 * The registry of Redis-side subscriptions: a chained hash table of
 * entries keyed by (pattern or channel, name as sent to Redis). Every
 * function here runs with ps->mu held.
 */
#include "pubsub_int.h"

#include <string.h>

/* Patterns and channels of the same name are different entries. */
uint64_t goio__ps_hash(bool pattern, const char *s, size_t len)
{
    return goio_hash64(s, len, pattern ? 1 : 0);
}

goio__ps_entry *goio__ps_entry_find(goio_pubsub *ps, bool pattern,
                                    const char *raw, size_t len)
{
    if (!ps->n_buckets)
        return NULL;
    uint64_t h = goio__ps_hash(pattern, raw, len);
    goio__ps_entry *e = ps->buckets[h & (ps->n_buckets - 1)];
    for (; e; e = e->next)
        if (e->hash == h && e->pattern == pattern && e->raw_len == len &&
            !memcmp(e->raw, raw, len))
            return e;
    return NULL;
}

static int grow(goio_pubsub *ps)
{
    size_t n = ps->n_buckets ? ps->n_buckets * 2 : 16;
    goio__ps_entry **b = goio_calloc(n, sizeof *b);
    if (!b)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < ps->n_buckets; i++) {
        goio__ps_entry *e = ps->buckets[i];
        while (e) {
            goio__ps_entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    goio_free(ps->buckets);
    ps->buckets = b;
    ps->n_buckets = n;
    return 0;
}

/* The name as Redis knows it: the namespace prefix (escaped for
 * patterns) then the user's name. */
static char *raw_name(goio_pubsub *ps, bool pattern, bool raw, const char *name,
                      size_t len, size_t *raw_len, size_t *user_off)
{
    const char *pre = raw ? "" : pattern ? ps->pprefix : ps->prefix;
    size_t pre_len = raw ? 0 : pattern ? ps->pprefix_len : ps->prefix_len;
    char *s = goio_malloc(pre_len + len + 1);
    if (!s)
        return NULL;
    memcpy(s, pre, pre_len);
    memcpy(s + pre_len, name, len + 1);
    *raw_len = pre_len + len;
    *user_off = pre_len;
    return s;
}

int goio__ps_entry_get(goio_pubsub *ps, bool pattern, bool raw,
                       const char *name, goio__ps_entry **out)
{
    size_t len = strlen(name), rlen, off;
    char *s = raw_name(ps, pattern, raw, name, len, &rlen, &off);
    if (!s)
        return GOIO_ENOMEM;
    goio__ps_entry *e = goio__ps_entry_find(ps, pattern, s, rlen);
    if (e) {
        goio_free(s);
        *out = e;
        return 0;
    }
    if (ps->n_entries >= ps->n_buckets && grow(ps) < 0) {
        goio_free(s);
        return GOIO_ENOMEM;
    }
    e = goio_calloc(1, sizeof *e);
    if (!e) {
        goio_free(s);
        return GOIO_ENOMEM;
    }
    e->pattern = pattern;
    e->raw = s;
    e->raw_len = rlen;
    e->user = s + off;
    e->hash = goio__ps_hash(pattern, s, rlen);
    e->state = GOIO__PS_NONE;
    size_t b = e->hash & (ps->n_buckets - 1);
    e->next = ps->buckets[b];
    ps->buckets[b] = e;
    ps->n_entries++;
    *out = e;
    return 0;
}

void goio__ps_entry_mark_dirty(goio_pubsub *ps, goio__ps_entry *e)
{
    if (e->dirty)
        return;
    e->dirty = true;
    e->next_dirty = ps->dirty;
    ps->dirty = e;
}

static void entry_free(goio__ps_entry *e)
{
    goio_free(e->subs);
    goio_free(e->raw);
    goio_free(e);
}

void goio__ps_entry_remove(goio_pubsub *ps, goio__ps_entry *e)
{
    goio__ps_entry **pp = &ps->buckets[e->hash & (ps->n_buckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    if (e->dirty) { /* callers drain the dirty list first; be safe */
        goio__ps_entry **dp = &ps->dirty;
        while (*dp && *dp != e)
            dp = &(*dp)->next_dirty;
        if (*dp)
            *dp = e->next_dirty;
    }
    ps->n_entries--;
    entry_free(e);
}

void goio__ps_registry_free(goio_pubsub *ps)
{
    for (size_t i = 0; i < ps->n_buckets; i++) {
        goio__ps_entry *e = ps->buckets[i];
        while (e) {
            goio__ps_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    goio_free(ps->buckets);
    ps->buckets = NULL;
    ps->n_buckets = ps->n_entries = 0;
    ps->dirty = NULL;
    ps->tracking_entry = NULL;
}

int goio__ps_sub_state(goio_pubsub *ps, goio_pubsub_sub *sub)
{
    int rc = 0;
    for (size_t i = 0; i < sub->n_entries; i++) {
        uint8_t st = sub->entries[i]->state;
        if (st == GOIO__PS_FAILED)
            return GOIO_EPROTO;
        if (st != GOIO__PS_ACTIVE)
            rc = GOIO_EAGAIN;
    }
    return ps->ready ? rc : GOIO_EAGAIN;
}

int goio__ps_settled(goio_pubsub *ps)
{
    if (!ps->ready || ps->dirty)
        return GOIO_EAGAIN;
    for (size_t i = 0; i < ps->n_buckets; i++)
        for (goio__ps_entry *e = ps->buckets[i]; e; e = e->next)
            if (e->state != GOIO__PS_ACTIVE && e->state != GOIO__PS_FAILED)
                return GOIO_EAGAIN; /* unsent, or its answer awaited */
    return 0;
}
