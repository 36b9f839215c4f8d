/* SPDX-License-Identifier: MIT */
/*
 * Memory cache internals shared by memory.c (the cache, its locks, read
 * buffers and reclaim thread), memory_table.c (a shard's hash table) and
 * memory_policy.c (W-TinyLFU: segments, frequency sketch, hill climber).
 *
 * The table and the policy are plain data structures without locks and
 * without clocks: memory.c calls them under its locks and passes time in,
 * so they can be tested and reasoned about on their own.
 */
#ifndef GOIO_CACHE_MEMORY_INT_H
#define GOIO_CACHE_MEMORY_INT_H

#include "cache_int.h"

/* Policy segments an entry can be in. */
enum { MC_WINDOW = 0, MC_PROBATION = 1, MC_PROTECTED = 2, MC_DEAD = 3 };

/*
 * One entry: a single allocation holding a 30-byte header, the key (klen
 * bytes, no terminator) and the value. The header holds the policy's list
 * links, the lengths, the expiry instant (48 bits of coarse monotonic ms),
 * the segment and the reference bit. The hash is not stored; the few
 * places that need it again (table growth, eviction) recompute it.
 *
 * Who may touch what: klen, vlen and the key never change; the value and
 * the expiry change only under the shard lock (same-size overwrites) and
 * are read only under it; prev/next/seg belong to the policy lock; `ref`
 * is set by readers and cleared by the policy, hence atomic. Each of these
 * groups is its own memory location (no shared bit-fields), so holders of
 * different locks never race.
 */
typedef struct mc_entry {
    struct mc_entry *prev, *next;
    uint32_t vlen;
    uint32_t expire_lo; /* the entry is dead from this instant on */
    uint16_t expire_hi;
    uint16_t klen;
    uint8_t seg;         /* MC_WINDOW ... MC_DEAD */
    _Atomic uint8_t ref; /* read since the policy last looked */
    char data[];         /* key, then value */
} mc_entry;

#define MC_HEADER offsetof(mc_entry, data)
#define MC_NEVER  (((int64_t)1 << 48) - 1)

/* The expiry instant (shard lock). */
static inline int64_t mc_expire(const mc_entry *e)
{
    return (int64_t)((uint64_t)e->expire_hi << 32 | e->expire_lo);
}
static inline void mc_set_expire(mc_entry *e, int64_t at)
{
    uint64_t u = (uint64_t)(at < MC_NEVER ? at : MC_NEVER);
    e->expire_lo = (uint32_t)u;
    e->expire_hi = (uint16_t)(u >> 32);
}

static inline const char *mc_key(const mc_entry *e)
{
    return e->data;
}
static inline const char *mc_value(const mc_entry *e)
{
    return e->data + e->klen;
}
/* What an entry counts against max_bytes. */
static inline uint64_t mc_charge(const mc_entry *e)
{
    return (uint64_t)e->klen + e->vlen + GOIO_CACHE_ENTRY_OVERHEAD;
}

/* ---- a shard's hash table (memory_table.c) -------------------------------
 *
 * Open addressing over 64-byte groups, each one cache line: a word of 7
 * tags (0 empty, 1 deleted, 2..255 a byte of the key's hash; the 8th byte
 * is unused) and 7 entry pointers. A lookup reads a group's tags as one
 * word and compares all of them at once, so a hit costs the group's line
 * and the entry's; it stops at the first group with an empty tag. The
 * home group comes from the hash by multiply-shift, so the group count
 * need not be a power of two and the table grows by half: it keeps at
 * most 7/8 of its slots used or deleted and is rebuilt 7/12 full
 * (9.1 bytes a slot, about 12.5 an entry).
 */
#define MC_GROUP_SLOTS 7

typedef struct mc_group {
    uint64_t tags;
    mc_entry *slots[MC_GROUP_SLOTS];
} mc_group;

typedef struct mc_table {
    mc_group *groups; /* 64-byte aligned inside mem */
    void *mem;
    size_t ngroups;
    size_t cap; /* slots: ngroups * 7 */
    size_t used, deleted;
} mc_table;

/* Finds key; *slot (may be NULL) gets its position. */
mc_entry *goio__mc_table_find(const mc_table *t, uint64_t h, const char *key,
                              size_t klen, size_t *slot);
/* Inserts e (whose key hashes to h), or replaces the entry with the same
 * key and hands it back in *old. Grows the table (GOIO_ENOMEM). */
int goio__mc_table_put(mc_table *t, uint64_t seed, uint64_t h, mc_entry *e,
                       mc_entry **old);
/* Removes the entry at a slot. */
void goio__mc_table_remove_at(mc_table *t, size_t slot);
/* Removes exactly this entry (hashing to h); false if it is not there. */
bool goio__mc_table_remove(mc_table *t, uint64_t h, const mc_entry *e);
/* The entry at slot i (< cap), or NULL if it is empty or deleted. */
static inline mc_entry *goio__mc_table_at(const mc_table *t, size_t i)
{
    const mc_group *g = &t->groups[i / MC_GROUP_SLOTS];
    unsigned j = (unsigned)(i % MC_GROUP_SLOTS);
    return ((g->tags >> (8 * j)) & 0xff) >= 2 ? g->slots[j] : NULL;
}
void goio__mc_table_free(mc_table *t);

/* ---- the policy (memory_policy.c) ---------------------------------------- */

typedef struct mc_list {
    mc_entry *head, *tail; /* head = most recently used */
    uint64_t bytes, count;
} mc_list;

/* A count-min sketch of 4-bit counters, 16 per word, 4 per key, all of a
 * key's in one 64-byte block (one cache miss per update). */
typedef struct mc_sketch {
    uint64_t *words; /* 64-byte aligned inside mem */
    void *mem;
    size_t width;   /* counters per key row: the sketch has 4 x width */
    unsigned shift; /* 64 - log2(number of blocks) */
    uint64_t additions, reset_at;
} mc_sketch;

typedef struct mc_policy {
    uint64_t seed;                   /* the key hash's, to recompute hashes */
    uint64_t max_bytes, max_entries; /* max_entries 0: unbounded */
    mc_list seg[3];                  /* window, probation, protected */
    uint64_t bytes, count;           /* over the three segments */
    /* segment limits, derived from window_frac */
    double window_frac;
    uint64_t window_max_bytes, window_max_count;
    uint64_t protected_max_bytes, protected_max_count;
    mc_sketch sketch;
    /* hill climber (memory_policy.c, climb()) */
    uint64_t sample_hits, sample_misses;
    bool full;           /* has evicted: the climber may start */
    unsigned quick;      /* short samples left */
    uint64_t samples;    /* since the cache filled */
    double rate0, rate1; /* the last two samples' hit ratios */
    double base, step;   /* the window's base share; the climb's step */
    double sign;         /* +1/-1: the probe's side this sample */
    int dir;             /* the last move's direction, 0: none yet */
} mc_policy;

int goio__mc_policy_init(mc_policy *p, uint64_t seed, uint64_t max_bytes,
                         uint64_t max_entries);
void goio__mc_policy_free(mc_policy *p);
/* A new key's entry: joins the window. */
void goio__mc_policy_insert(mc_policy *p, mc_entry *e, uint64_t h);
/* A set of an existing key: `e` takes `old`'s place, referenced. */
void goio__mc_policy_replace(mc_policy *p, mc_entry *old, mc_entry *e,
                             uint64_t h);
/* A read of a key hashing to h (from the read buffers; the reader set the
 * entry's reference bit itself). */
void goio__mc_policy_access(mc_policy *p, uint64_t h);
/* Hits and misses of gets since the last call: the climber's input. */
void goio__mc_policy_sample(mc_policy *p, uint64_t hits, uint64_t misses);
/* Unlinks e (delete, expiry) and marks it MC_DEAD. */
void goio__mc_policy_remove(mc_policy *p, mc_entry *e);
/* Whether the charged bytes or the entries pass a bound. */
bool goio__mc_policy_over(const mc_policy *p);
/*
 * Restores the segment limits: moves entries out of an oversized window
 * and, while over a bound, picks an entry to evict (W-TinyLFU admission
 * between the window's oldest unreferenced entry and probation's), unlinks
 * it and returns it. NULL when nothing needs to go.
 */
mc_entry *goio__mc_policy_evict(mc_policy *p);
/* Estimated recent frequency of a hash (0..15), for tests. */
int goio__mc_sketch_estimate(const mc_sketch *s, uint64_t h);

#endif
