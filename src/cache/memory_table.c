/* SPDX-License-Identifier: MIT */
/*
 * The memory cache's key hash and a shard's hash table (see memory_int.h
 * for the layout).
 */
#include "memory_int.h"

#include <string.h>

/* ---- table --------------------------------------------------------------- */

#define EMPTY   0
#define DELETED 1
#define LSB     0x0001010101010101ULL /* the 7 tag bytes */
#define MSB     0x0080808080808080ULL
#define UNUSED  0xff00000000000000ULL /* the 8th byte, never 0 or 1 */

static inline uint8_t tag_of(uint64_t h)
{
    uint8_t t = (uint8_t)(h >> 32);
    return t < 2 ? (uint8_t)(t + 2) : t;
}

/* High bit set in (at least) every tag byte of w that is zero; exact as
 * to whether there is one and for the lowest one, which is all callers
 * rely on (higher candidates are checked again). */
static inline uint64_t zero_bytes(uint64_t w)
{
    return (w - LSB) & ~w & MSB;
}

static inline uint8_t tag_at(const mc_group *g, unsigned j)
{
    return (uint8_t)(g->tags >> (8 * j));
}

static inline void set_tag(mc_group *g, unsigned j, uint8_t tag)
{
    g->tags = (g->tags & ~(0xffULL << (8 * j))) | (uint64_t)tag << (8 * j);
}

/* The group a hash's probe starts at, from its low 32 bits. */
static inline size_t home_group(const mc_table *t, uint64_t h)
{
    return (size_t)(((h & 0xffffffffu) * t->ngroups) >> 32);
}

static inline size_t next_group(const mc_table *t, size_t g)
{
    return g + 1 == t->ngroups ? 0 : g + 1;
}

mc_entry *goio__mc_table_find(const mc_table *t, uint64_t h, const char *key,
                              size_t klen, size_t *slot)
{
    if (!t->ngroups)
        return NULL;
    uint8_t tag = tag_of(h);
    size_t g = home_group(t, h);
    for (size_t probes = 0; probes < t->ngroups; probes++) {
        const mc_group *gr = &t->groups[g];
        uint64_t w = gr->tags;
        for (uint64_t m = zero_bytes(w ^ (LSB * tag)); m; m &= m - 1) {
            unsigned j = (unsigned)__builtin_ctzll(m) >> 3;
            mc_entry *e = gr->slots[j];
            if (tag_at(gr, j) == tag && e->klen == klen &&
                !memcmp(e->data, key, klen)) {
                if (slot)
                    *slot = g * MC_GROUP_SLOTS + j;
                return e;
            }
        }
        if (zero_bytes(w))
            return NULL;
        g = next_group(t, g);
    }
    return NULL;
}

/* The first empty or deleted slot on h's probe path. */
static size_t free_slot(const mc_table *t, uint64_t h)
{
    for (size_t g = home_group(t, h);; g = next_group(t, g)) {
        /* Bytes 0 and 1 both become 0 once the low bit is masked off. */
        uint64_t m = zero_bytes(t->groups[g].tags & ~LSB);
        if (m)
            return g * MC_GROUP_SLOTS + ((unsigned)__builtin_ctzll(m) >> 3);
    }
}

static void place(mc_table *t, uint64_t h, mc_entry *e)
{
    size_t i = free_slot(t, h);
    mc_group *g = &t->groups[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    if (tag_at(g, j) == DELETED)
        t->deleted--;
    set_tag(g, j, tag_of(h));
    g->slots[j] = e;
    t->used++;
}

/* Rebuilds into a table 7/12 full after one more insert (at least two
 * groups), so it grows by half before it is 7/8 full again. */
static int rebuild(mc_table *t, uint64_t seed)
{
    size_t want = (t->used + 1) * 12 / 7;
    size_t ngroups = (want + MC_GROUP_SLOTS - 1) / MC_GROUP_SLOTS;
    if (ngroups < 2)
        ngroups = 2;
    mc_table n = {0};
    n.mem = goio_malloc(ngroups * sizeof(mc_group) + 63);
    if (!n.mem)
        return GOIO_ENOMEM;
    n.groups = (mc_group *)(((uintptr_t)n.mem + 63) & ~(uintptr_t)63);
    for (size_t g = 0; g < ngroups; g++)
        n.groups[g].tags = UNUSED;
    n.ngroups = ngroups;
    n.cap = ngroups * MC_GROUP_SLOTS;
    for (size_t i = 0; i < t->cap; i++) {
        mc_entry *e = goio__mc_table_at(t, i);
        if (e)
            place(&n, goio_hash64(e->data, e->klen, seed), e);
    }
    goio_free(t->mem);
    *t = n;
    return 0;
}

int goio__mc_table_put(mc_table *t, uint64_t seed, uint64_t h, mc_entry *e,
                       mc_entry **old)
{
    size_t i;
    *old = goio__mc_table_find(t, h, e->data, e->klen, &i);
    if (*old) {
        t->groups[i / MC_GROUP_SLOTS].slots[i % MC_GROUP_SLOTS] = e;
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
    mc_group *g = &t->groups[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    /* A group with an empty slot never made a probe move on, so nothing
     * depends on this slot looking occupied: it can become empty. */
    if (zero_bytes(g->tags)) {
        set_tag(g, j, EMPTY);
    } else {
        set_tag(g, j, DELETED);
        t->deleted++;
    }
    g->slots[j] = NULL;
    t->used--;
}

bool goio__mc_table_remove(mc_table *t, uint64_t h, const mc_entry *e)
{
    size_t i;
    if (goio__mc_table_find(t, h, e->data, e->klen, &i) != e)
        return false;
    goio__mc_table_remove_at(t, i);
    return true;
}

void goio__mc_table_free(mc_table *t)
{
    goio_free(t->mem);
    memset(t, 0, sizeof *t);
}
