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

#include <stdatomic.h>

/* Policy segments an entry can be in. */
enum { MC_WINDOW = 0, MC_PROBATION = 1, MC_PROTECTED = 2, MC_DEAD = 3 };

/*
 * One entry: a single allocation holding a 32-byte header, the key (klen
 * bytes, no terminator, padded to 8) and the value (padded to 8, so
 * lock-free readers can copy it as whole atomic words). The header holds
 * the policy's list links, the expiry instant, the lengths, the segment
 * and the reference bit. The hash is not stored; the few places that need
 * it again (table growth, eviction) recompute it.
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
    _Atomic int64_t expire; /* the entry is dead from this instant on */
    uint32_t vlen;
    uint16_t klen;
    uint8_t seg;         /* MC_WINDOW ... MC_DEAD */
    _Atomic uint8_t ref; /* read since the policy last looked */
    char data[];         /* key, padding, then value and padding */
} mc_entry;

#define MC_HEADER  offsetof(mc_entry, data)
#define MC_NEVER   (((int64_t)1 << 48) - 1)
#define MC_PAD8(n) (((size_t)(n) + 7) & ~(size_t)7)

/* The expiry instant (writers, under the shard lock). */
static inline int64_t mc_expire(const mc_entry *e)
{
    return atomic_load_explicit(&((mc_entry *)e)->expire, memory_order_relaxed);
}

static inline const char *mc_key(const mc_entry *e)
{
    return e->data;
}
static inline const char *mc_value(const mc_entry *e)
{
    return e->data + MC_PAD8(e->klen);
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
    void *mem;
    void *retired; /* a replaced array's mem, for the caller (grace period) */
    size_t ngroups;
    size_t cap; /* slots: ngroups * 7 */
    size_t used, deleted;
} mc_table;

/* Finds key; *slot (may be NULL) gets its position. Safe without the
 * shard lock inside a read section (then pass slot NULL). */
mc_entry *goio__mc_table_find(const mc_table *t, uint64_t h, const char *key,
                              size_t klen, size_t *slot);
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
extern _Thread_local mc_reader *goio__mc_mine;
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
