/* SPDX-License-Identifier: MIT */
/*
 * The memory cache's key hash and a shard's hash table (see memory_int.h
 * for the layout).
 */
#include "memory_int.h"

#include <string.h>

/* ---- table --------------------------------------------------------------- */

mc_entry *goio__mc_find_recount(const mc_group *groups, uint64_t h,
                                const char *key, size_t klen, size_t *slot)
{
    return mc_find_in(groups, mc_count_of(groups), h, key, klen, slot);
}

mc_entry *goio__mc_table_at(const mc_table *t, size_t i)
{
    const mc_group *g = &mc_wg(t)[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    return mc_tag_at(g, j) >= 2 ? mc_slot_at(g, j) : NULL;
}

/* The first empty or deleted slot on h's probe path. */
static size_t free_slot(const mc_table *t, uint64_t h)
{
    for (size_t g = mc_home_group(t->ngroups, h);;
         g = mc_next_group(t->ngroups, g)) {
        /* Bytes 0 and 1 both become 0 once the low bit is masked off. */
        uint64_t m = mc_zero_bytes(mc_tags_of(&mc_wg(t)[g]) & ~MC_LSB);
        if (m)
            return g * MC_GROUP_SLOTS + ((unsigned)__builtin_ctzll(m) >> 3);
    }
}

/* The slot first, then the tag: a reader that sees the tag finds the
 * entry (or, in a reused slot, an entry whose key it checks anyway). */
static void place(mc_table *t, uint64_t h, mc_entry *e)
{
    size_t i = free_slot(t, h);
    mc_group *g = &mc_wg(t)[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    if (mc_tag_at(g, j) == MC_DELETED)
        t->deleted--;
    mc_set_slot(g, j, e);
    mc_set_tag(g, j, mc_tag_of(h));
    t->used++;
}

/* Rebuilds into a table 7/12 full after one more insert (at least two
 * groups), so it grows by half before it is 7/8 full again. The new array
 * is filled privately and published with one store; the old one, still
 * intact for readers that hold it, goes to t->retired. */
static int rebuild(mc_table *t, uint64_t seed)
{
    size_t want = (t->used + 1) * 12 / 7;
    size_t ngroups = (want + MC_GROUP_SLOTS - 1) / MC_GROUP_SLOTS;
    if (ngroups < 2)
        ngroups = 2;
    mc_table n;
    memset(&n, 0, sizeof n);
    n.mem = goio_malloc((ngroups + 1) * sizeof(mc_group) + 63);
    if (!n.mem)
        return GOIO_ENOMEM;
    mc_group *groups =
        (mc_group *)(((uintptr_t)n.mem + 63) & ~(uintptr_t)63) + 1;
    ((size_t *)groups)[-1] = ngroups;
    for (size_t g = 0; g < ngroups; g++) {
        atomic_init(&groups[g].tags, MC_UNUSED);
        for (unsigned j = 0; j < MC_GROUP_SLOTS; j++)
            atomic_init(&groups[g].slots[j], NULL);
    }
    atomic_init(&n.groups, groups);
    n.ngroups = ngroups;
    n.cap = ngroups * MC_GROUP_SLOTS;
    for (size_t i = 0; i < t->cap; i++) {
        mc_entry *e = goio__mc_table_at(t, i);
        if (e)
            place(&n, mc_hash(mc_key(e), e->klen, seed), e);
    }
    /* The caller collects it after every put (readers may hold it). */
    t->retired = t->mem;
    t->mem = n.mem;
    t->ngroups = n.ngroups;
    t->cap = n.cap;
    t->used = n.used;
    t->deleted = 0;
    atomic_store_explicit(&t->groups, groups, MC_REL);
    atomic_store_explicit(&t->rcount, ngroups, MC_RLX);
    return 0;
}

int goio__mc_table_put(mc_table *t, uint64_t seed, uint64_t h, mc_entry *e,
                       mc_entry **old)
{
    size_t i;
    *old = goio__mc_table_find(t, h, mc_key(e), e->klen, &i);
    if (*old) {
        mc_set_slot(&mc_wg(t)[i / MC_GROUP_SLOTS],
                    (unsigned)(i % MC_GROUP_SLOTS), e);
        return 0;
    }
    if ((t->used + t->deleted + 1) * 8 > t->cap * 7) {
        int rc = rebuild(t, seed);
        if (rc < 0)
            return rc;
    }
    place(t, h, e);
    return 0;
}

void goio__mc_table_remove_at(mc_table *t, size_t i)
{
    mc_group *g = &mc_wg(t)[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    /* A group with an empty slot never made a probe move on, so nothing
     * depends on this slot looking occupied: it can become empty. */
    if (mc_zero_bytes(mc_tags_of(g))) {
        mc_set_tag(g, j, MC_EMPTY);
    } else {
        mc_set_tag(g, j, MC_DELETED);
        t->deleted++;
    }
    mc_set_slot(g, j, NULL);
    t->used--;
}

bool goio__mc_table_remove(mc_table *t, uint64_t h, const mc_entry *e)
{
    size_t i;
    if (goio__mc_table_find(t, h, mc_key(e), e->klen, &i) != e)
        return false;
    goio__mc_table_remove_at(t, i);
    return true;
}

void goio__mc_table_detach(mc_table *t, mc_table *old)
{
    memset(old, 0, sizeof *old);
    atomic_init(&old->groups, atomic_load_explicit(&t->groups, MC_RLX));
    atomic_init(&old->rcount, t->ngroups);
    old->mem = t->mem;
    old->retired = t->retired;
    old->ngroups = t->ngroups;
    old->cap = t->cap;
    old->used = t->used;
    old->deleted = t->deleted;
    atomic_store_explicit(&t->groups, NULL, MC_REL);
    atomic_store_explicit(&t->rcount, 0, MC_RLX);
    t->mem = t->retired = NULL;
    t->ngroups = t->cap = t->used = t->deleted = 0;
}

void goio__mc_table_free(mc_table *t)
{
    goio_free(t->mem);
    goio_free(t->retired);
    t->mem = t->retired = NULL;
    atomic_store_explicit(&t->groups, NULL, MC_RLX);
    atomic_store_explicit(&t->rcount, 0, MC_RLX);
    t->ngroups = t->cap = t->used = t->deleted = 0;
}
