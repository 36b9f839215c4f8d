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
#include "../core/hash_int.h"

#include <stdatomic.h>
#include <string.h>

/* Policy segments an entry can be in. */
enum { MC_WINDOW = 0, MC_PROBATION = 1, MC_PROTECTED = 2, MC_DEAD = 3 };

/*
 * One entry: a single allocation holding a 30-byte header, the value
 * (lock-free readers copy it with atomic loads: up to an 8-byte boundary in
 * 1-, 2- and 4-byte pieces, words, then 4-, 2- and 1-byte pieces) and the
 * key (klen bytes, no terminator). No padding: a 32-byte header (a value at
 * a word boundary) measured 65.1 bytes per entry against the 64 charged,
 * this one 62.8. The
 * header holds the policy's list links, the expiry instant, the lengths, the
 * segment and the reference bit. The hash is not stored; the few places that
 * need it again (table growth, eviction) recompute it.
 *
 * Who may touch what: klen, vlen and the key never change after the entry
 * is published; the value words and the expiry change only under the
 * shard lock (same-size overwrites, inside the shard's seqlock) and are
 * read with atomic loads by lock-free readers; prev/next/seg belong to the
 * policy lock (and `next` to whoever retires the entry once it left the
 * policy); `ref` is set by readers and cleared by the policy, hence
 * atomic. Each of these groups is its own memory location.
 */
typedef struct mc_entry {
    struct mc_entry *prev, *next;
    _Atomic uint32_t expire_lo; /* the entry is dead from this instant on */
    uint32_t vlen;
    _Atomic uint16_t expire_hi;
    uint16_t klen;
    uint8_t seg;         /* MC_WINDOW ... MC_DEAD */
    _Atomic uint8_t ref; /* read since the policy last looked */
    char data[];         /* value, then key */
} mc_entry;

#define MC_HEADER offsetof(mc_entry, data)
#define MC_NEVER  (((int64_t)1 << 48) - 1)

/* The expiry instant (48 bits of coarse monotonic ms in two atomics: a
 * lock-free reader reads both inside its seqlock-checked section, with
 * `mo` acquire; writers under the shard lock, relaxed). */
static inline int64_t mc_expire_mo(const mc_entry *e, memory_order mo)
{
    mc_entry *w = (mc_entry *)e;
    uint64_t hi = atomic_load_explicit(&w->expire_hi, mo);
    return (int64_t)(hi << 32 | atomic_load_explicit(&w->expire_lo, mo));
}
static inline int64_t mc_expire(const mc_entry *e)
{
    return mc_expire_mo(e, memory_order_relaxed);
}
/* Sets it (shard lock; release: see the overwrite's seqlock). */
static inline void mc_set_expire(mc_entry *e, int64_t at)
{
    uint64_t u = (uint64_t)(at < MC_NEVER ? at : MC_NEVER);
    atomic_store_explicit(&e->expire_lo, (uint32_t)u, memory_order_release);
    atomic_store_explicit(&e->expire_hi, (uint16_t)(u >> 32),
                          memory_order_release);
}

static inline const char *mc_key(const mc_entry *e)
{
    return e->data + e->vlen;
}
static inline const char *mc_value(const mc_entry *e)
{
    return e->data;
}
/* What an entry counts against max_bytes. */
static inline uint64_t mc_charge(const mc_entry *e)
{
    return (uint64_t)e->klen + e->vlen + GOIO_CACHE_ENTRY_OVERHEAD;
}

/* The key hash: goio_hash64's function, inline (src/core/hash_int.h) so a
 * get's whole path has no call but strnlen; same values, so a test or a
 * tool may still use goio_hash64. */
static inline uint64_t mc_hash(const char *key, size_t len, uint64_t seed)
{
    return goio__hash64(key, len, seed);
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
 *
 * Lock-free readers (goio__mc_table_find without the shard lock, inside a
 * read section, see below) may run during any change: tags, slots and the
 * group array pointer are atomics; writers (one at a time: the shard lock)
 * store slots and tags with release, a rebuild builds a new array and
 * publishes it with one release store (the group count lives in the line
 * before the groups, so a reader always pairs an array with its own
 * count), and the old array goes to t->retired for the caller to free after
 * a grace period. A tag becomes empty only in a group that already has an
 * empty one, so a concurrent change never makes a probe stop before a key
 * that stays in the table.
 */
#define MC_GROUP_SLOTS 7

typedef struct mc_group {
    _Atomic uint64_t tags;
    mc_entry *_Atomic slots[MC_GROUP_SLOTS];
} mc_group;

typedef struct mc_table {
    mc_group *_Atomic groups; /* 64-byte aligned inside mem; NULL: none */
    /* The group count again, beside the pointer, for readers: loaded with
     * it rather than after it (a shorter chain of loads before the group
     * line's), then checked against the array's own count, which wins. */
    _Atomic size_t rcount;
    void *mem;
    void *retired; /* a replaced array's mem, for the caller (grace period) */
    size_t ngroups;
    size_t cap; /* slots: ngroups * 7 */
    size_t used, deleted;
} mc_table;

/* The table's helpers and its lookup, inline: a get's whole path is one
 * function. (memory_table.c has the writers' side.) */
#include <string.h>

#define MC_EMPTY   0
#define MC_DELETED 1
#define MC_LSB     0x0001010101010101ULL /* the 7 tag bytes */
#define MC_MSB     0x0080808080808080ULL
#define MC_UNUSED  0xff00000000000000ULL /* the 8th byte, never 0 or 1 */

static inline uint8_t mc_tag_of(uint64_t h)
{
    uint8_t t = (uint8_t)(h >> 32);
    return t < 2 ? (uint8_t)(t + 2) : t;
}

/* High bit set in (at least) every tag byte of w that is zero; exact as
 * to whether there is one and for the lowest one, which is all callers
 * rely on (higher candidates are checked again). */
static inline uint64_t mc_zero_bytes(uint64_t w)
{
    return (w - MC_LSB) & ~w & MC_MSB;
}

#define MC_RLX memory_order_relaxed
#define MC_ACQ memory_order_acquire
#define MC_REL memory_order_release

/* Writers read tags and slots relaxed (the shard lock orders them);
 * readers without the lock read them with acquire. */
static inline uint64_t mc_tags_of(const mc_group *g)
{
    return atomic_load_explicit(&((mc_group *)g)->tags, MC_ACQ);
}

static inline uint8_t mc_tag_at(const mc_group *g, unsigned j)
{
    return (uint8_t)(mc_tags_of(g) >> (8 * j));
}

static inline void mc_set_tag(mc_group *g, unsigned j, uint8_t tag)
{
    uint64_t w = atomic_load_explicit(&g->tags, MC_RLX);
    w = (w & ~(0xffULL << (8 * j))) | (uint64_t)tag << (8 * j);
    atomic_store_explicit(&g->tags, w, MC_REL);
}

static inline mc_entry *mc_slot_at(const mc_group *g, unsigned j)
{
    return atomic_load_explicit(&((mc_group *)g)->slots[j], MC_ACQ);
}

static inline void mc_set_slot(mc_group *g, unsigned j, mc_entry *e)
{
    atomic_store_explicit(&g->slots[j], e, MC_REL);
}

/* The array, for the writer (shard lock). */
static inline mc_group *mc_wg(const mc_table *t)
{
    return atomic_load_explicit(&((mc_table *)t)->groups, MC_RLX);
}

/* The group count is kept in the 64 bytes before the groups, so a reader
 * that loads the array pointer gets its count with it. */
static inline size_t mc_count_of(const mc_group *groups)
{
    return ((const size_t *)groups)[-1];
}

/* The group a hash's probe starts at, from its low 32 bits. */
static inline size_t mc_home_group(size_t ngroups, uint64_t h)
{
    return (size_t)(((h & 0xffffffffu) * ngroups) >> 32);
}

static inline size_t mc_next_group(size_t ngroups, size_t g)
{
    return g + 1 == ngroups ? 0 : g + 1;
}

/* Key equality without a call for keys up to 16 bytes (most): two
 * overlapping loads of 8 (or 4) bytes per side, or up to 3 bytes. */
static inline bool mc_key_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        if (n > 16)
            return !memcmp(a, b, n);
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return !((x ^ y) | (u ^ v));
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return !((x ^ y) | (u ^ v));
    }
    return !n || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

/* Finds key in an array of ngroups groups; *slot (may be NULL) gets its
 * position. */
static inline mc_entry *mc_find_in(const mc_group *groups, size_t ngroups,
                                   uint64_t h, const char *key, size_t klen,
                                   size_t *slot)
{
    uint8_t tag = mc_tag_of(h);
    size_t g = mc_home_group(ngroups, h);
    for (size_t probes = 0; probes < ngroups; probes++) {
        const mc_group *gr = &groups[g];
        uint64_t w = mc_tags_of(gr);
        for (uint64_t m = mc_zero_bytes(w ^ (MC_LSB * tag)); m; m &= m - 1) {
            unsigned j = (unsigned)__builtin_ctzll(m) >> 3;
            if ((uint8_t)(w >> (8 * j)) != tag)
                continue;
            mc_entry *e = mc_slot_at(gr, j);
            /* NULL: removed since the tags were read. */
            if (e && e->klen == klen && mc_key_eq(mc_key(e), key, klen)) {
                if (slot)
                    *slot = g * MC_GROUP_SLOTS + j;
                return e;
            }
        }
        if (mc_zero_bytes(w))
            return NULL;
        g = mc_next_group(ngroups, g);
    }
    return NULL;
}

/* mc_find_in with the array's own count (a rebuild ran since rcount). */
mc_entry *goio__mc_find_recount(const mc_group *groups, uint64_t h,
                                const char *key, size_t klen, size_t *slot);

/* Finds key; *slot (may be NULL) gets its position. Safe without the
 * shard lock inside a read section (then pass slot NULL). The home group
 * comes from rcount, loaded with the array pointer; the array's own count
 * is compared on the side (a predicted branch, not a load the group's
 * address waits for) and decides when they differ. */
static inline mc_entry *goio__mc_table_find(const mc_table *t, uint64_t h,
                                            const char *key, size_t klen,
                                            size_t *slot)
{
    const mc_group *groups =
        atomic_load_explicit(&((mc_table *)t)->groups, MC_ACQ);
    if (!groups)
        return NULL;
    size_t ngroups = atomic_load_explicit(&((mc_table *)t)->rcount, MC_RLX);
    if (__builtin_expect(ngroups != mc_count_of(groups), 0))
        return goio__mc_find_recount(groups, h, key, klen, slot);
    return mc_find_in(groups, ngroups, h, key, klen, slot);
}

/* Inserts e (whose key hashes to h), or replaces the entry with the same
 * key and hands it back in *old. Grows the table (GOIO_ENOMEM); the old
 * array is then left in t->retired. */
int goio__mc_table_put(mc_table *t, uint64_t seed, uint64_t h, mc_entry *e,
                       mc_entry **old);
/* Removes the entry at a slot. */
void goio__mc_table_remove_at(mc_table *t, size_t slot);
/* Removes exactly this entry (hashing to h); false if it is not there. */
bool goio__mc_table_remove(mc_table *t, uint64_t h, const mc_entry *e);
/* The entry at slot i (< cap), or NULL if it is empty or deleted (shard
 * lock, or a table nobody else sees). */
mc_entry *goio__mc_table_at(const mc_table *t, size_t i);
/* Moves t's contents to *old (private to the caller) and empties t. */
void goio__mc_table_detach(mc_table *t, mc_table *old);
void goio__mc_table_free(mc_table *t);

/* ---- read sections and grace periods (memory_rcu.c) ---------------------
 *
 * Lock-free gets run inside a read section; memory a reader may still see
 * (removed entries, replaced group arrays) is freed only after a grace
 * period: goio__mc_synchronize() returns once every read section that was
 * running when it was called has ended. Each thread has a reader record
 * (one of MC_READERS; a thread that finds none free takes the locked
 * path) whose counter is odd inside a section; entering and leaving are
 * plain stores to the thread's own line. The store-to-load order that an
 * entering reader needs (its odd counter visible before it reads the
 * table) is imposed from the writer's side by membarrier(2)'s
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED; without it (an old kernel, a seccomp
 * filter) goio__mc_reader() returns NULL and every get takes the lock.
 */
#define MC_READERS 256

typedef struct mc_reader {
    _Atomic uint64_t ctr; /* odd: inside a read section */
    unsigned id;          /* 0..MC_READERS-1, unique among live threads */
    bool taken;           /* under the registry's lock */
} __attribute__((aligned(64))) mc_reader;

/* Whether lock-free reads can be used (membarrier works). */
bool goio__mc_rcu_usable(void);
/* This thread's record, registering it on first use; NULL: none (take the
 * lock). */
mc_reader *goio__mc_reader_slow(void);
/* initial-exec: one load off the thread pointer, also when libgoio.a is
 * linked into a shared object (the default there would call
 * __tls_get_addr on every get). */
extern _Thread_local mc_reader *goio__mc_mine
    __attribute__((tls_model("initial-exec")));
static inline mc_reader *goio__mc_reader(void)
{
    return goio__mc_mine ? goio__mc_mine : goio__mc_reader_slow();
}

static inline uint64_t goio__mc_read_enter(mc_reader *r)
{
    uint64_t c = atomic_load_explicit(&r->ctr, memory_order_relaxed) + 1;
    /* Release: the previous section's reads happen before this store, so
     * a synchronizer that sees it may free what they read. */
    atomic_store_explicit(&r->ctr, c, memory_order_release);
    /* Keeps the compiler from moving the section's loads above the store;
     * the CPU is kept from it by the synchronizer's membarrier. */
    atomic_signal_fence(memory_order_seq_cst);
    return c;
}

static inline void goio__mc_read_exit(mc_reader *r, uint64_t c)
{
    atomic_store_explicit(&r->ctr, c + 1, memory_order_release);
}

/* Waits until every read section running now has ended. Never call it
 * inside a read section. False if it cannot (membarrier failed): then
 * nothing removed may be freed while readers may run. */
bool goio__mc_synchronize(void);

/* Tests only: nonzero fixes the hash seed of caches created afterwards
 * (memory.c). */
extern _Atomic uint64_t goio__mc_test_seed;

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
