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

#define RLX memory_order_relaxed
#define ACQ memory_order_acquire
#define REL memory_order_release

/* Writers read tags and slots relaxed (the shard lock orders them);
 * readers without the lock read them with acquire. */
static inline uint64_t tags_of(const mc_group *g)
{
    return atomic_load_explicit(&((mc_group *)g)->tags, ACQ);
}

static inline uint8_t tag_at(const mc_group *g, unsigned j)
{
    return (uint8_t)(tags_of(g) >> (8 * j));
}

static inline void set_tag(mc_group *g, unsigned j, uint8_t tag)
{
    uint64_t w = atomic_load_explicit(&g->tags, RLX);
    w = (w & ~(0xffULL << (8 * j))) | (uint64_t)tag << (8 * j);
    atomic_store_explicit(&g->tags, w, REL);
}

static inline mc_entry *slot_at(const mc_group *g, unsigned j)
{
    return atomic_load_explicit(&((mc_group *)g)->slots[j], ACQ);
}

static inline void set_slot(mc_group *g, unsigned j, mc_entry *e)
{
    atomic_store_explicit(&g->slots[j], e, REL);
}

/* The array, for the writer (shard lock). */
static inline mc_group *wg(const mc_table *t)
{
    return atomic_load_explicit(&((mc_table *)t)->groups, RLX);
}

/* The group count is kept in the 64 bytes before the groups, so a reader
 * that loads the array pointer gets its count with it. */
static inline size_t count_of(const mc_group *groups)
{
    return ((const size_t *)groups)[-1];
}

/* The group a hash's probe starts at, from its low 32 bits. */
static inline size_t home_group(size_t ngroups, uint64_t h)
{
    return (size_t)(((h & 0xffffffffu) * ngroups) >> 32);
}

static inline size_t next_group(size_t ngroups, size_t g)
{
    return g + 1 == ngroups ? 0 : g + 1;
}

/* Key equality; keys of 8 to 16 bytes (most) in two overlapping word
 * compares instead of a call. */
static inline bool key_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return !((x ^ y) | (u ^ v));
    }
    return !memcmp(a, b, n);
}

mc_entry *goio__mc_table_find(const mc_table *t, uint64_t h, const char *key,
                              size_t klen, size_t *slot)
{
    const mc_group *groups =
        atomic_load_explicit(&((mc_table *)t)->groups, ACQ);
    if (!groups)
        return NULL;
    size_t ngroups = count_of(groups);
    uint8_t tag = tag_of(h);
    size_t g = home_group(ngroups, h);
    for (size_t probes = 0; probes < ngroups; probes++) {
        const mc_group *gr = &groups[g];
        uint64_t w = tags_of(gr);
        for (uint64_t m = zero_bytes(w ^ (LSB * tag)); m; m &= m - 1) {
            unsigned j = (unsigned)__builtin_ctzll(m) >> 3;
            if ((uint8_t)(w >> (8 * j)) != tag)
                continue;
            mc_entry *e = slot_at(gr, j);
            /* NULL: removed since the tags were read. */
            if (e && e->klen == klen && key_eq(e->data, key, klen)) {
                if (slot)
                    *slot = g * MC_GROUP_SLOTS + j;
                return e;
            }
        }
        if (zero_bytes(w))
            return NULL;
        g = next_group(ngroups, g);
    }
    return NULL;
}

mc_entry *goio__mc_table_at(const mc_table *t, size_t i)
{
    const mc_group *g = &wg(t)[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    return tag_at(g, j) >= 2 ? slot_at(g, j) : NULL;
}

/* The first empty or deleted slot on h's probe path. */
static size_t free_slot(const mc_table *t, uint64_t h)
{
    for (size_t g = home_group(t->ngroups, h);; g = next_group(t->ngroups, g)) {
        /* Bytes 0 and 1 both become 0 once the low bit is masked off. */
        uint64_t m = zero_bytes(tags_of(&wg(t)[g]) & ~LSB);
        if (m)
            return g * MC_GROUP_SLOTS + ((unsigned)__builtin_ctzll(m) >> 3);
    }
}

/* The slot first, then the tag: a reader that sees the tag finds the
 * entry (or, in a reused slot, an entry whose key it checks anyway). */
static void place(mc_table *t, uint64_t h, mc_entry *e)
{
    size_t i = free_slot(t, h);
    mc_group *g = &wg(t)[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    if (tag_at(g, j) == DELETED)
        t->deleted--;
    set_slot(g, j, e);
    set_tag(g, j, tag_of(h));
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
    mc_table n = {0};
    n.mem = goio_malloc((ngroups + 1) * sizeof(mc_group) + 63);
    if (!n.mem)
        return GOIO_ENOMEM;
    mc_group *groups =
        (mc_group *)(((uintptr_t)n.mem + 63) & ~(uintptr_t)63) + 1;
    ((size_t *)groups)[-1] = ngroups;
    for (size_t g = 0; g < ngroups; g++) {
        atomic_init(&groups[g].tags, UNUSED);
        for (unsigned j = 0; j < MC_GROUP_SLOTS; j++)
            atomic_init(&groups[g].slots[j], NULL);
    }
    atomic_init(&n.groups, groups);
    n.ngroups = ngroups;
    n.cap = ngroups * MC_GROUP_SLOTS;
    for (size_t i = 0; i < t->cap; i++) {
        mc_entry *e = goio__mc_table_at(t, i);
        if (e)
            place(&n, goio_hash64(e->data, e->klen, seed), e);
    }
    /* The caller collects it after every put (readers may hold it). */
    t->retired = t->mem;
    t->mem = n.mem;
    t->ngroups = n.ngroups;
    t->cap = n.cap;
    t->used = n.used;
    t->deleted = 0;
    atomic_store_explicit(&t->groups, groups, REL);
    return 0;
}

int goio__mc_table_put(mc_table *t, uint64_t seed, uint64_t h, mc_entry *e,
                       mc_entry **old)
{
    size_t i;
    *old = goio__mc_table_find(t, h, e->data, e->klen, &i);
    if (*old) {
        set_slot(&wg(t)[i / MC_GROUP_SLOTS], (unsigned)(i % MC_GROUP_SLOTS), e);
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
    mc_group *g = &wg(t)[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    /* A group with an empty slot never made a probe move on, so nothing
     * depends on this slot looking occupied: it can become empty. */
    if (zero_bytes(tags_of(g))) {
        set_tag(g, j, EMPTY);
    } else {
        set_tag(g, j, DELETED);
        t->deleted++;
    }
    set_slot(g, j, NULL);
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

void goio__mc_table_detach(mc_table *t, mc_table *old)
{
    memset(old, 0, sizeof *old);
    atomic_init(&old->groups, atomic_load_explicit(&t->groups, RLX));
    old->mem = t->mem;
    old->retired = t->retired;
    old->ngroups = t->ngroups;
    old->cap = t->cap;
    old->used = t->used;
    old->deleted = t->deleted;
    atomic_store_explicit(&t->groups, NULL, REL);
    t->mem = t->retired = NULL;
    t->ngroups = t->cap = t->used = t->deleted = 0;
}

void goio__mc_table_free(mc_table *t)
{
    goio_free(t->mem);
    goio_free(t->retired);
    t->mem = t->retired = NULL;
    atomic_store_explicit(&t->groups, NULL, RLX);
    t->ngroups = t->cap = t->used = t->deleted = 0;
}
