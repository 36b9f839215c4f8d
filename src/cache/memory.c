/* SPDX-License-Identifier: MIT */
/*
 * The memory cache: sharded tables, read buffers, the policy lock and the
 * reclaim thread. The policy itself is in memory_policy.c, the tables in
 * memory_table.c.
 *
 * Locks, always taken in this order: the policy lock `pl`, then at most
 * one shard lock. Set, del, clear, eviction and reclaim take pl and then
 * shard locks; a same-size overwrite takes only its shard lock.
 *
 * A get takes no lock (when the kernel offers membarrier(2), see
 * memory_rcu.c): inside a read section it looks the key up in the shard's
 * table, checks the expiry and copies the value with atomic loads, between
 * two reads of the shard's sequence number. Writers change a published
 * entry's value and expiry only in a same-size overwrite, which makes the
 * sequence odd before and even (+2) after; a reader that saw an odd or a
 * changed sequence throws its copy away and tries again (then takes the
 * shard lock). Everything else a writer does to what readers see is one
 * atomic store (a slot, a tag word, the group array), and nothing a reader
 * may hold is freed before a grace period: removed entries and replaced
 * group arrays go to a limbo list that is freed in batches after
 * goio__mc_synchronize(). The locked path (kept for threads without a
 * reader record and for retries) is the one described above for writers.
 *
 * A get sets the entry's reference bit and, if it was clear, appends the
 * key's hash to its thread's stripe ring; whoever holds pl replays the
 * rings into the policy's frequency sketch. Rings are lossy: a full ring
 * drops the record, which only makes the sketch see one access fewer.
 * Hits and misses are counted in the stripe too: a thread whose reader id
 * is below the stripe count owns its stripe (a plain load and store), the
 * others share the last stripe (atomic adds).
 */
#include "memory_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING       32  /* records per stripe */
#define STRIPES    64  /* owned stripes, plus one shared */
#define LIMBO      256 /* retired entries freed per grace period */
#define SWEEP_STEP 512 /* slots looked at per lock hold when reclaiming */
#define MAX_SHARDS 4096

typedef struct mc_shard {
    /* Writers' line: the lock and what is counted under it. */
    pthread_mutex_t mu;
    _Atomic uint64_t overwrites;
    /* Read by gets, written by writers. */
    alignas(64) _Atomic uint64_t seq; /* odd: an overwrite is running */
    mc_table table;
    int64_t min_expire; /* no entry expires earlier (a lower bound) */
    int64_t pass_min;   /* earliest expiry seen by the current pass */
    size_t cursor;      /* the reclaim pass's next slot */
    bool pass_dirty;    /* the table was rebuilt during the pass */
} __attribute__((aligned(64))) mc_shard;

/* A stripe's ring holds key hashes; 0 marks a slot not filled yet. */
typedef struct mc_stripe {
    _Atomic uint64_t hits, misses;     /* written by readers */
    _Atomic uint32_t tail;             /* written by readers */
    alignas(64) _Atomic uint32_t head; /* written by the drainer */
    alignas(64) _Atomic uint64_t ring[RING];
} __attribute__((aligned(64))) mc_stripe;

typedef struct mc {
    goio_cache base;
    uint64_t seed;
    unsigned shard_mask, nstripes; /* stripes[nstripes] is the shared one */
    bool lockfree;                 /* gets may run without the lock */
    _Atomic bool expiring;         /* an entry with a TTL was ever set */
    mc_shard *shards;
    mc_stripe *stripes;
    void *mem; /* holds shards and stripes, 64-byte aligned */
    int64_t (*now_ms)(void *data); /* NULL: goio_now_mono_coarse_ms */
    void *now_data;
    pthread_mutex_t pl;
    /* under pl */
    mc_policy policy;
    uint64_t sets, deletes, evictions, expirations; /* sets: but overwrites */
    uint64_t seen_hits, seen_misses; /* shard totals at the last sample */
    uint64_t drains;
    /* removed entries and tables waiting for a grace period */
    pthread_mutex_t lmu;
    mc_entry *limbo;
    void *limbo_mem; /* tables' mem, linked through their first word */
    size_t nlimbo;
    /* the reclaim thread */
    int64_t interval_ms;
    pthread_t thread;
    bool thread_started, stop;
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
} mc;

/* Tests only: a nonzero value is the key hash's seed of caches made from
 * then on (the seed decides sketch collisions and so the climber's
 * samples: a test of the policy needs it fixed to be deterministic). */
_Atomic uint64_t goio__mc_test_seed;

/* ---- small helpers ------------------------------------------------------ */

static mc_shard *shard_of(const mc *m, uint64_t h)
{
    return &m->shards[(h >> 40) & m->shard_mask];
}

/* The thread's stripe: its own if its reader id is below the stripe
 * count, else the shared one. */
static mc_stripe *my_stripe(const mc *m, const mc_reader *r)
{
    (void)m;
    return &m->stripes[r && r->id < STRIPES ? r->id : STRIPES];
}

/* Counts in the thread's stripe: an owned stripe has one writer, so no
 * locked instruction is needed. */
static void count(const mc *m, mc_stripe *st, _Atomic uint64_t *c)
{
    if (st != &m->stripes[STRIPES])
        atomic_store_explicit(c,
                              atomic_load_explicit(c, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Sum of every stripe's hits and misses. */
static void total_reads(const mc *m, uint64_t *hits, uint64_t *misses)
{
    *hits = *misses = 0;
    for (unsigned i = 0; i <= m->nstripes; i++) {
        *hits +=
            atomic_load_explicit(&m->stripes[i].hits, memory_order_relaxed);
        *misses +=
            atomic_load_explicit(&m->stripes[i].misses, memory_order_relaxed);
    }
}

static uint64_t next_pow2(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static void free_list(mc_entry *e)
{
    while (e) {
        mc_entry *next = e->next;
        goio_free(e);
        e = next;
    }
}

static void free_mems(void *mem)
{
    while (mem) {
        void *next = *(void **)mem;
        goio_free(mem);
        mem = next;
    }
}

/* Appends entries (a list through `next`) and tables' memory (a list
 * through the first word) to the limbo (lmu held). */
static void limbo_add(mc *m, mc_entry *list, void *mems)
{
    while (list) {
        mc_entry *next = list->next;
        list->next = m->limbo;
        m->limbo = list;
        m->nlimbo++;
        list = next;
    }
    while (mems) {
        void *next = *(void **)mems;
        *(void **)mems = m->limbo_mem;
        m->limbo_mem = mems;
        mems = next;
    }
}

/*
 * Frees entries (a list through `next`, out of every table and list) and
 * a table's old memory (may be NULL) once no reader can hold them: they
 * wait in the limbo until LIMBO entries or a table are there, then one
 * grace period covers the batch. Called without locks held.
 */
static void retire(mc *m, mc_entry *list, void *mem)
{
    if (!m->lockfree) {
        free_list(list);
        goio_free(mem);
        return;
    }
    if (mem)
        *(void **)mem = NULL;
    pthread_mutex_lock(&m->lmu);
    limbo_add(m, list, mem);
    mc_entry *batch = NULL;
    void *mems = NULL;
    if (m->nlimbo >= LIMBO || m->limbo_mem) {
        batch = m->limbo;
        mems = m->limbo_mem;
        m->limbo = NULL;
        m->limbo_mem = NULL;
        m->nlimbo = 0;
    }
    pthread_mutex_unlock(&m->lmu);
    if (!batch && !mems)
        return;
    if (!goio__mc_synchronize()) {
        /* Not safe to free: back to the limbo (destroy frees it). */
        pthread_mutex_lock(&m->lmu);
        limbo_add(m, batch, mems);
        pthread_mutex_unlock(&m->lmu);
        return;
    }
    free_list(batch);
    free_mems(mems);
}

static void retire_one(mc *m, mc_entry *e)
{
    if (e) {
        e->next = NULL;
        retire(m, e, NULL);
    }
}

/* ---- read buffers ------------------------------------------------------- */

/* Appends a hit; true when the ring is half full and wants a drain. */
static bool record(mc_stripe *st, uint64_t h)
{
    uint32_t t = atomic_load_explicit(&st->tail, memory_order_relaxed);
    uint32_t hd = atomic_load_explicit(&st->head, memory_order_acquire);
    if (t - hd >= RING)
        return true;
    if (!atomic_compare_exchange_strong_explicit(
            &st->tail, &t, t + 1, memory_order_relaxed, memory_order_relaxed))
        return false; /* another thread on this stripe: drop it */
    atomic_store_explicit(&st->ring[t & (RING - 1)], h ? h : 1,
                          memory_order_release);
    return t + 1 - hd >= RING / 2;
}

/* Replays the rings into the policy (pl held) and now and then tells it
 * the hits and misses since last time. A slot claimed but not yet filled ends
 * that ring's replay until next time. */
static void drain(mc *m)
{
    for (unsigned i = 0; i <= m->nstripes; i++) {
        mc_stripe *st = &m->stripes[i];
        uint32_t hd = atomic_load_explicit(&st->head, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&st->tail, memory_order_acquire);
        for (; hd != t; hd++) {
            uint64_t h = atomic_exchange_explicit(&st->ring[hd & (RING - 1)], 0,
                                                  memory_order_acquire);
            if (!h)
                break;
            goio__mc_policy_access(&m->policy, h);
        }
        atomic_store_explicit(&st->head, hd, memory_order_release);
    }
    /* Summing the shards' counters reads a line per shard: every 16th
     * drain is plenty for a climber that samples 10 x capacity reads. */
    if (m->drains++ % 16)
        return;
    uint64_t hits, misses;
    total_reads(m, &hits, &misses);
    goio__mc_policy_sample(&m->policy, hits - m->seen_hits,
                           misses - m->seen_misses);
    m->seen_hits = hits;
    m->seen_misses = misses;
}

static void try_drain(mc *m)
{
    if (pthread_mutex_trylock(&m->pl) == 0) {
        drain(m);
        pthread_mutex_unlock(&m->pl);
    }
}

/* ---- removal (pl held) -------------------------------------------------- */

/* Evicts until the bounds hold; the evicted entries go to *dead. */
static void enforce_bounds(mc *m, int64_t now, mc_entry **dead)
{
    mc_entry *e;
    while ((e = goio__mc_policy_evict(&m->policy))) {
        uint64_t h = mc_hash(mc_key(e), e->klen, m->seed);
        mc_shard *s = shard_of(m, h);
        pthread_mutex_lock(&s->mu);
        goio__mc_table_remove(&s->table, h, e);
        bool expired = now >= mc_expire(e);
        pthread_mutex_unlock(&s->mu);
        if (expired)
            m->expirations++;
        else
            m->evictions++;
        e->next = *dead;
        *dead = e;
    }
}

/*
 * Removes key if present and, with `only_expired`, only if it has expired
 * by `now`. Takes pl and the shard lock. Returns whether it removed one.
 */
static bool remove_key(mc *m, const char *key, size_t klen, uint64_t h,
                       bool only_expired, int64_t now)
{
    mc_shard *s = shard_of(m, h);
    size_t slot;
    pthread_mutex_lock(&m->pl);
    pthread_mutex_lock(&s->mu);
    mc_entry *e = goio__mc_table_find(&s->table, h, key, klen, &slot);
    if (e && only_expired && now < mc_expire(e))
        e = NULL;
    if (e)
        goio__mc_table_remove_at(&s->table, slot);
    pthread_mutex_unlock(&s->mu);
    if (e) {
        goio__mc_policy_remove(&m->policy, e);
        if (only_expired)
            m->expirations++;
    }
    pthread_mutex_unlock(&m->pl);
    bool removed = e != NULL;
    retire_one(m, e);
    return removed;
}

/* ---- ops ---------------------------------------------------------------- */

/* The TTL clock: the config's, else the coarse monotonic one (read
 * here rather than through goio_now_mono_coarse_ms: one call less on every
 * get). */
static inline int64_t mc_now(const mc *m)
{
    if (m->now_ms)
        return m->now_ms(m->now_data);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 +
           (int64_t)((uint64_t)ts.tv_nsec / 1000000); /* 0 <= tv_nsec */
}

/*
 * A value is copied in and out in the same pieces (atomic stores under the
 * shard lock, atomic loads by lock-free readers; the shard's sequence
 * tells a reader that raced an overwrite): values under 8 bytes byte by
 * byte; longer ones in 1-, 2- and 4-byte pieces up to an 8-byte boundary,
 * whole words, then 4-, 2- and 1-byte pieces. Entries come from malloc
 * (16-byte aligned) and the value starts at byte 30, so a value's head is
 * one 2-byte piece, always the same branch.
 */
#define MC_LOAD(T, p)                                                          \
    atomic_load_explicit((_Atomic T *)(p), memory_order_acquire)
#define MC_STORE(T, p, v)                                                      \
    atomic_store_explicit((_Atomic T *)(p), (v), memory_order_release)

/* Copies src[i..n) to dst, src + i being 8-aligned: whole words, then 4-,
 * 2- and 1-byte pieces. */
static inline void copy_aligned_rest(unsigned char *dst, const char *src,
                                     size_t i, size_t n)
{
    for (; i + 8 <= n; i += 8) {
        uint64_t v = MC_LOAD(uint64_t, src + i);
        memcpy(dst + i, &v, 8);
    }
    if (i + 4 <= n) {
        uint32_t v = MC_LOAD(uint32_t, src + i);
        memcpy(dst + i, &v, 4);
        i += 4;
    }
    if (i + 2 <= n) {
        uint16_t v = MC_LOAD(uint16_t, src + i);
        memcpy(dst + i, &v, 2);
        i += 2;
    }
    if (i < n)
        dst[i] = MC_LOAD(unsigned char, src + i);
}

/* out has room for n bytes: any layout, in the pieces store_value
 * writes. */
__attribute__((noinline, cold)) static void
copy_value_any(unsigned char *dst, const char *src, size_t n)
{
    size_t i = 0;
    if (n < 8) {
        for (; i < n; i++)
            dst[i] = MC_LOAD(unsigned char, src + i);
        return;
    }
    uintptr_t a = (uintptr_t)src;
    if (a & 1) {
        dst[i] = MC_LOAD(unsigned char, src + i);
        i += 1;
    }
    if ((a + i) & 2) {
        uint16_t v = MC_LOAD(uint16_t, src + i);
        memcpy(dst + i, &v, 2);
        i += 2;
    }
    if ((a + i) & 4) {
        uint32_t v = MC_LOAD(uint32_t, src + i);
        memcpy(dst + i, &v, 4);
        i += 4;
    }
    copy_aligned_rest(dst, src, i, n);
}

/* out has room for n bytes. The common case, an 8-aligned entry (the
 * value at 6 mod 8) with a value of 8 bytes or more, is one 2-byte piece
 * and then words: the same pieces store_value writes. */
static inline void copy_value(void *to, const mc_entry *e, size_t n)
{
    const char *src = mc_value(e);
    unsigned char *dst = to;
    if (__builtin_expect(n < 8 || ((uintptr_t)src & 7) != 6, 0)) {
        copy_value_any(dst, src, n);
        return;
    }
    uint16_t v2 = MC_LOAD(uint16_t, src);
    memcpy(dst, &v2, 2);
    copy_aligned_rest(dst, src, 2, n);
}

/* A same-size overwrite (shard lock held, sequence odd). */
static void store_value(mc_entry *e, const void *value, size_t n)
{
    char *dst = (char *)mc_value(e);
    const unsigned char *src = value;
    size_t i = 0;
    if (n < 8) {
        for (; i < n; i++)
            MC_STORE(unsigned char, dst + i, src[i]);
        return;
    }
    uintptr_t a = (uintptr_t)dst;
    uint16_t v2;
    uint32_t v4;
    uint64_t v8;
    if (a & 1) {
        MC_STORE(unsigned char, dst + i, src[i]);
        i += 1;
    }
    if ((a + i) & 2) {
        memcpy(&v2, src + i, 2);
        MC_STORE(uint16_t, dst + i, v2);
        i += 2;
    }
    if ((a + i) & 4) {
        memcpy(&v4, src + i, 4);
        MC_STORE(uint32_t, dst + i, v4);
        i += 4;
    }
    for (; i + 8 <= n; i += 8) {
        memcpy(&v8, src + i, 8);
        MC_STORE(uint64_t, dst + i, v8);
    }
    if (i + 4 <= n) {
        memcpy(&v4, src + i, 4);
        MC_STORE(uint32_t, dst + i, v4);
        i += 4;
    }
    if (i + 2 <= n) {
        memcpy(&v2, src + i, 2);
        MC_STORE(uint16_t, dst + i, v2);
        i += 2;
    }
    if (i < n)
        MC_STORE(unsigned char, dst + i, src[i]);
}

/* After a hit: the reference bit and, the first time, the sketch. Only
 * the first read since the policy last looked sets the bit and reaches the
 * sketch: hot entries' lines stay shared between cores and their sketch
 * counters (saturated anyway) untouched. */
static bool reference(mc_entry *e)
{
    if (atomic_load_explicit(&e->ref, memory_order_relaxed))
        return false;
    atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
    return true;
}

enum { LF_DONE = 0, LF_LOCK = 1, LF_EXPIRED = 2 };

/* Whether an entry expiring at exp is dead now. The clock is read only
 * for entries that expire at all. */
static inline bool expired_now(const mc *m, int64_t exp)
{
    return exp != MC_NEVER && mc_now(m) >= exp;
}

/*
 * The lock-free get (see the top of this file). Returns LF_DONE with *hit
 * and out set (or a negative code), LF_EXPIRED for an expired entry, or
 * LF_LOCK when the caller should take the shard lock (an overwrite kept
 * running). Every load of what writers change is atomic; the entry cannot
 * be freed before goio__mc_read_exit.
 */
static inline int get_lockfree(mc *m, mc_shard *s, mc_reader *r, mc_stripe *st,
                               const char *key, size_t klen, uint64_t h,
                               goio_buf *out, bool *hit)
{
    for (int tries = 0; tries < 4; tries++) {
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (seq & 1)
            continue;
        uint64_t c = goio__mc_read_enter(r);
        mc_entry *e = goio__mc_table_find(&s->table, h, key, klen, NULL);
        if (!e) {
            goio__mc_read_exit(r, c);
            count(m, st, &st->misses);
            return LF_DONE;
        }
        int64_t exp = mc_expire_mo(e, memory_order_acquire);
        size_t vlen = e->vlen;
        if (expired_now(m, exp)) {
            goio__mc_read_exit(r, c);
            /* An overwrite may have just renewed it: look again. */
            if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
                continue;
            count(m, st, &st->misses);
            return LF_EXPIRED;
        }
        if (out->cap <= vlen) {
            goio__mc_read_exit(r, c);
            int rc =
                goio_buf_reserve(out, vlen > out->len ? vlen - out->len : 0);
            if (rc < 0)
                return rc;
            tries--;
            continue;
        }
        copy_value(out->data, e, vlen);
        bool first = reference(e);
        /* The copy's loads are acquire: this load cannot pass them. */
        uint64_t again = atomic_load_explicit(&s->seq, memory_order_relaxed);
        goio__mc_read_exit(r, c);
        if (again != seq)
            continue;
        out->len = vlen;
        count(m, st, &st->hits);
        *hit = true;
        if (first && record(st, h))
            try_drain(m);
        return LF_DONE;
    }
    return LF_LOCK;
}

/* The get under the shard lock: for threads without a reader record and
 * after the lock-free get gave up. */
static int get_locked(mc *m, mc_shard *s, mc_stripe *st, const char *key,
                      size_t klen, uint64_t h, goio_buf *out, bool *hit)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        mc_entry *e = goio__mc_table_find(&s->table, h, key, klen, NULL);
        if (!e || expired_now(m, mc_expire(e))) {
            pthread_mutex_unlock(&s->mu);
            count(m, st, &st->misses);
            if (e)
                remove_key(m, key, klen, h, true, mc_now(m));
            return 0;
        }
        if (out->cap <= e->vlen) {
            /* Grow outside the lock, then look again: the value may have
             * changed meanwhile. */
            size_t need = e->vlen;
            pthread_mutex_unlock(&s->mu);
            int rc =
                goio_buf_reserve(out, need > out->len ? need - out->len : 0);
            if (rc < 0)
                return rc;
            continue;
        }
        memcpy(out->data, mc_value(e), e->vlen);
        out->len = e->vlen;
        bool first = reference(e);
        pthread_mutex_unlock(&s->mu);
        count(m, st, &st->hits);
        *hit = true;
        if (first && record(st, h))
            try_drain(m);
        return 0;
    }
}

/* What a get does after the fast path below gave up or could not run: the
 * lock-free get with its retries, then the shard lock. */
__attribute__((noinline, cold)) static int get_slow(mc *m, const char *key,
                                                    size_t klen, uint64_t h,
                                                    goio_buf *out, bool *hit)
{
    mc_shard *s = shard_of(m, h);
    mc_reader *r = m->lockfree ? goio__mc_reader() : NULL;
    mc_stripe *st = my_stripe(m, r);
    if (r) {
        int rc = get_lockfree(m, s, r, st, key, klen, h, out, hit);
        if (rc == LF_DONE)
            return 0;
        if (rc == LF_EXPIRED) {
            remove_key(m, key, klen, h, true, mc_now(m));
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    return get_locked(m, s, st, key, klen, h, out, hit);
}

/* A hit that set the entry's reference bit: the sketch hears of it. */
__attribute__((noinline)) static void first_read(mc *m, mc_stripe *st,
                                                 uint64_t h)
{
    if (record(st, h))
        try_drain(m);
}

/* A get with a NULL or empty key or pointer, or a key too long. */
__attribute__((noinline, cold)) static int get_invalid(bool *hit)
{
    if (hit)
        *hit = false;
    return GOIO_EINVAL;
}

/*
 * The memory cache never blocks on anything but its own short locks: its
 * ops ignore ctx. goio_cache_get calls this directly (it checks the
 * arguments as goio_cache_get does for other caches).
 *
 * The fast path is one pass of the lock-free get for a live entry whose
 * value fits in out (or a miss); anything else (no reader record yet, an
 * overwrite running, expiry, a buffer to grow) goes to get_slow, which
 * starts over.
 */
int goio__mc_get(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
                 bool *hit)
{
    (void)ctx;
    size_t klen = goio__cache_key_len(key);
    if (__builtin_expect(!klen || !out || !hit, 0))
        return get_invalid(hit);
    mc *m = (mc *)c;
    /* The clock first, where it overlaps the hash and the lookup. A cache
     * whose entries never expire reads none: every entry with a TTL then
     * counts as expired here, so one that appeared since the flag was
     * read (a set in another thread) goes to get_slow, which reads it. */
    int64_t now = MC_NEVER - 1;
    if (atomic_load_explicit(&m->expiring, memory_order_relaxed)) {
        now = mc_now(m);
        now = now < MC_NEVER ? now : MC_NEVER - 1; /* MC_NEVER: never */
    }
    uint64_t h = mc_hash(key, klen, m->seed);
    mc_reader *r = goio__mc_mine;
    *hit = false;
    if (__builtin_expect(!r || !m->lockfree, 0))
        return get_slow(m, key, klen, h, out, hit);
    mc_shard *s = shard_of(m, h);
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    uint64_t ctr = goio__mc_read_enter(r);
    mc_entry *e = goio__mc_table_find(&s->table, h, key, klen, NULL);
    mc_stripe *st = my_stripe(m, r);
    if (!e) {
        goio__mc_read_exit(r, ctr);
        count(m, st, &st->misses);
        return 0;
    }
    int64_t exp = mc_expire_mo(e, memory_order_acquire);
    size_t vlen = e->vlen;
    if (__builtin_expect((seq & 1) || out->cap <= vlen, 0)) {
        goio__mc_read_exit(r, ctr);
        return get_slow(m, key, klen, h, out, hit);
    }
    copy_value(out->data, e, vlen);
    bool first = reference(e);
    /* The copy's loads are acquire: this load cannot pass them. */
    uint64_t again = atomic_load_explicit(&s->seq, memory_order_relaxed);
    goio__mc_read_exit(r, ctr);
    /* The expiry read inside the section is the one the sequence vouches
     * for. */
    if (__builtin_expect(again != seq || now >= exp, 0))
        return get_slow(m, key, klen, h, out, hit);
    out->len = vlen;
    count(m, st, &st->hits);
    *hit = true;
    if (__builtin_expect(first, 0))
        first_read(m, st, h);
    return 0;
}

static mc_entry *entry_new(const char *key, size_t klen, const void *value,
                           size_t len, int64_t expire)
{
    mc_entry *e = goio_malloc(MC_HEADER + len + klen);
    if (!e)
        return NULL;
    e->prev = e->next = NULL;
    atomic_init(&e->expire_lo, 0);
    atomic_init(&e->expire_hi, 0);
    mc_set_expire(e, expire);
    e->klen = (uint16_t)klen;
    e->vlen = (uint32_t)len;
    e->seg = MC_DEAD;
    atomic_init(&e->ref, 0);
    if (len)
        memcpy(e->data, value, len);
    memcpy(e->data + len, key, klen);
    return e;
}

/* Notes an entry's expiry in its shard's reclaim bounds (shard lock). */
static void note_expiry(mc_shard *s, int64_t expire)
{
    if (expire < s->min_expire)
        s->min_expire = expire;
    if (expire < s->pass_min)
        s->pass_min = expire;
}

/* Publishes e in its shard (pl held); *old gets a replaced entry and
 * *table a replaced group array's memory (retire both). */
static int publish(mc *m, mc_entry *e, uint64_t h, mc_entry **old, void **table)
{
    mc_shard *s = shard_of(m, h);
    pthread_mutex_lock(&s->mu);
    int rc = goio__mc_table_put(&s->table, m->seed, h, e, old);
    *table = s->table.retired;
    s->table.retired = NULL;
    if (rc == 0) {
        if (*table && s->cursor)
            s->pass_dirty = true;
        note_expiry(s, mc_expire(e));
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/*
 * A set of an existing key whose value has the same size rewrites the
 * entry in place under its shard lock alone: no allocation, no policy
 * lock, no list surgery. Locked readers never see half of it; lock-free
 * ones see the shard's sequence odd or changed and retry. The entry keeps
 * its place and counts as read.
 */
static bool overwrite(mc *m, const char *key, size_t klen, uint64_t h,
                      const void *value, size_t len, int64_t expire)
{
    mc_shard *s = shard_of(m, h);
    pthread_mutex_lock(&s->mu);
    mc_entry *e = goio__mc_table_find(&s->table, h, key, klen, NULL);
    bool done = e && e->vlen == len, first = false;
    if (done) {
        /* Odd first (the release stores below cannot pass it), even +2
         * last (release: a reader that sees it sees the whole value). */
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
        atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
        store_value(e, value, len);
        mc_set_expire(e, expire);
        atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
        note_expiry(s, expire);
        first = reference(e);
        atomic_store_explicit(
            &s->overwrites,
            atomic_load_explicit(&s->overwrites, memory_order_relaxed) + 1,
            memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->mu);
    if (first &&
        record(my_stripe(m, m->lockfree ? goio__mc_reader() : NULL), h))
        try_drain(m);
    return done;
}

int goio__mc_set(goio_cache *c, const char *key, size_t klen, const void *value,
                 size_t len, int64_t ttl_ms)
{
    mc *m = (mc *)c;
    uint64_t h = mc_hash(key, klen, m->seed);
    int64_t now = mc_now(m);
    if (ttl_ms <= 0 || len > GOIO_CACHE_MEMORY_MAX_VALUE ||
        klen + len + GOIO_CACHE_ENTRY_OVERHEAD > m->policy.max_bytes) {
        /* Expired at once, or too big to keep: either way the key must
         * not keep reading as its old value. */
        remove_key(m, key, klen, h, false, now);
        pthread_mutex_lock(&m->pl);
        m->sets++;
        pthread_mutex_unlock(&m->pl);
        return ttl_ms <= 0 ? 0 : GOIO_E2BIG;
    }
    int64_t expire = goio_time_add_ms(now, ttl_ms); /* MC_NEVER at most */
    if (expire < MC_NEVER &&
        !atomic_load_explicit(&m->expiring, memory_order_relaxed))
        atomic_store_explicit(&m->expiring, true, memory_order_relaxed);
    if (overwrite(m, key, klen, h, value, len, expire))
        return 0;
    mc_entry *e = entry_new(key, klen, value, len, expire), *old = NULL;
    if (!e)
        return GOIO_ENOMEM;
    mc_entry *dead = NULL;
    void *table = NULL;
    pthread_mutex_lock(&m->pl);
    drain(m);
    int rc = publish(m, e, h, &old, &table);
    if (rc == 0) {
        if (old)
            goio__mc_policy_replace(&m->policy, old, e, h);
        else
            goio__mc_policy_insert(&m->policy, e, h);
        m->sets++;
        enforce_bounds(m, now, &dead);
    }
    pthread_mutex_unlock(&m->pl);
    if (rc < 0)
        goio_free(e); /* never published */
    if (old) {
        old->next = dead;
        dead = old;
    }
    retire(m, dead, table);
    return rc;
}

static int mc_set(goio_cache *c, goio_ctx *ctx, const char *key,
                  const void *value, size_t len, int64_t ttl_ms)
{
    (void)ctx;
    return goio__mc_set(c, key, strlen(key), value, len, ttl_ms);
}

static int mc_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    (void)ctx;
    mc *m = (mc *)c;
    size_t klen = strlen(key);
    uint64_t h = mc_hash(key, klen, m->seed);
    remove_key(m, key, klen, h, false, 0);
    pthread_mutex_lock(&m->pl);
    m->deletes++;
    pthread_mutex_unlock(&m->pl);
    return 0;
}

/* Drops every entry of a shard (pl held): they go to *dead, the table's
 * memory to *mems (linked through its first word). */
static void empty_shard(mc *m, mc_shard *s, mc_entry **dead, void **mems)
{
    mc_table t;
    pthread_mutex_lock(&s->mu);
    goio__mc_table_detach(&s->table, &t);
    s->min_expire = s->pass_min = INT64_MAX;
    s->cursor = 0;
    s->pass_dirty = false;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < t.cap; i++) {
        mc_entry *e = goio__mc_table_at(&t, i);
        if (e) {
            goio__mc_policy_remove(&m->policy, e);
            e->next = *dead;
            *dead = e;
        }
    }
    void *parts[2] = {t.mem, t.retired};
    for (int i = 0; i < 2; i++)
        if (parts[i]) {
            *(void **)parts[i] = *mems;
            *mems = parts[i];
        }
}

static int mc_clear(goio_cache *c, goio_ctx *ctx)
{
    (void)ctx;
    mc *m = (mc *)c;
    mc_entry *dead = NULL;
    void *mems = NULL;
    pthread_mutex_lock(&m->pl);
    for (unsigned i = 0; i <= m->shard_mask; i++)
        empty_shard(m, &m->shards[i], &dead, &mems);
    pthread_mutex_unlock(&m->pl);
    /* The limbo goes too: after a clear the cache holds no memory but its
     * fixed parts. */
    pthread_mutex_lock(&m->lmu);
    mc_entry *limbo = m->limbo;
    void *limbo_mem = m->limbo_mem;
    m->limbo = NULL;
    m->limbo_mem = NULL;
    m->nlimbo = 0;
    pthread_mutex_unlock(&m->lmu);
    if (m->lockfree && !goio__mc_synchronize()) {
        /* Not safe to free: back to the limbo (destroy frees it). */
        pthread_mutex_lock(&m->lmu);
        limbo_add(m, dead, mems);
        limbo_add(m, limbo, limbo_mem);
        pthread_mutex_unlock(&m->lmu);
        return 0;
    }
    free_list(dead);
    free_mems(mems);
    free_list(limbo);
    free_mems(limbo_mem);
    return 0;
}

static int mc_stats(goio_cache *c, goio_cache_stats *out)
{
    mc *m = (mc *)c;
    total_reads(m, &out->hits, &out->misses);
    for (unsigned i = 0; i <= m->shard_mask; i++)
        out->sets += atomic_load_explicit(&m->shards[i].overwrites,
                                          memory_order_relaxed);
    pthread_mutex_lock(&m->pl);
    out->sets += m->sets;
    out->deletes = m->deletes;
    out->evictions = m->evictions;
    out->expirations = m->expirations;
    out->entries = m->policy.count;
    out->bytes = m->policy.bytes;
    pthread_mutex_unlock(&m->pl);
    return 0;
}

/* ---- reclaim ------------------------------------------------------------ */

/* Looks at up to SWEEP_STEP slots of a shard's pass (pl and shard lock
 * held), moving expired entries to *dead. Returns whether the pass
 * completed. */
static bool sweep_step(mc *m, mc_shard *s, int64_t now, size_t *seen,
                       size_t *expired, mc_entry **dead)
{
    mc_table *t = &s->table;
    if (s->cursor > t->cap)
        s->cursor = 0;
    size_t end =
        t->cap - s->cursor > SWEEP_STEP ? s->cursor + SWEEP_STEP : t->cap;
    for (size_t i = s->cursor; i < end; i++) {
        mc_entry *e = goio__mc_table_at(t, i);
        if (!e)
            continue;
        (*seen)++;
        if (now >= mc_expire(e)) {
            goio__mc_table_remove_at(t, i);
            goio__mc_policy_remove(&m->policy, e);
            m->expirations++;
            (*expired)++;
            e->next = *dead;
            *dead = e;
        } else if (mc_expire(e) < s->pass_min) {
            s->pass_min = mc_expire(e);
        }
    }
    s->cursor = end;
    if (end < t->cap)
        return false;
    /* A rebuild may have moved entries behind the cursor: then the pass's
     * minimum is not a bound and the old one stays. */
    if (!s->pass_dirty)
        s->min_expire = s->pass_min;
    s->pass_min = INT64_MAX;
    s->cursor = 0;
    s->pass_dirty = false;
    return true;
}

/*
 * Reclaims a shard whose earliest expiry has passed: at least an eighth of
 * its slots per call, and on while a quarter or more of what it looks at
 * has expired, up to the end of the pass. Locks are held for SWEEP_STEP
 * slots at a time; memory is freed outside them.
 */
static int64_t sweep_shard(mc *m, mc_shard *s, int64_t now)
{
    size_t seen = 0, expired = 0, looked = 0;
    int64_t removed = 0;
    for (bool done = false; !done;) {
        pthread_mutex_lock(&m->pl);
        pthread_mutex_lock(&s->mu);
        if (!looked && now < s->min_expire) {
            pthread_mutex_unlock(&s->mu);
            pthread_mutex_unlock(&m->pl);
            return 0;
        }
        size_t before = expired, eighth = s->table.cap / 8;
        mc_entry *dead = NULL;
        done = sweep_step(m, s, now, &seen, &expired, &dead);
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_unlock(&m->pl);
        retire(m, dead, NULL);
        removed += (int64_t)(expired - before);
        looked += SWEEP_STEP;
        if (!done && looked >= eighth) {
            if (expired * 4 < seen)
                break;
            seen = expired = looked = 0;
        }
    }
    return removed;
}

static int64_t sweep(mc *m)
{
    int64_t now = mc_now(m), removed = 0;
    for (unsigned i = 0; i <= m->shard_mask; i++)
        removed += sweep_shard(m, &m->shards[i], now);
    return removed;
}

int64_t goio_cache_memory_reclaim(goio_cache *c)
{
    if (!goio_cache_is_memory(c))
        return GOIO_EINVAL;
    return sweep((mc *)c);
}

static struct timespec mono_deadline(int64_t ms_from_now)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms_from_now / 1000;
    ts.tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Sleeps on a condvar with a deadline, so goio_cache_free wakes it at
 * once instead of waiting out the interval. */
static void *reclaim_main(void *arg)
{
    mc *m = arg;
    pthread_mutex_lock(&m->rmu);
    while (!m->stop) {
        struct timespec at = mono_deadline(m->interval_ms);
        int rc = 0;
        while (!m->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&m->rcv, &m->rmu, &at);
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->rmu);
        sweep(m);
        pthread_mutex_lock(&m->rmu);
    }
    pthread_mutex_unlock(&m->rmu);
    return NULL;
}

static int start_reclaim(mc *m)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        rc = pthread_cond_init(&m->rcv, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (rc)
        return -rc;
    /* The thread must never take the application's signals. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&m->thread, NULL, reclaim_main, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&m->rcv);
        return -rc;
    }
    m->thread_started = true;
    return 0;
}

static void stop_reclaim(mc *m)
{
    if (!m->thread_started)
        return;
    pthread_mutex_lock(&m->rmu);
    m->stop = true;
    pthread_cond_signal(&m->rcv);
    pthread_mutex_unlock(&m->rmu);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->rcv);
    m->thread_started = false;
}

/* ---- lifecycle ----------------------------------------------------------- */

void goio_cache_memory_config_init(goio_cache_memory_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->max_bytes = (size_t)64 << 20;
    cfg->reclaim_interval_ms = 1000;
}

bool goio_cache_is_memory(const goio_cache *c)
{
    return c && c->ops == &goio__cache_memory_ops;
}

static unsigned default_shards(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t n = next_pow2(cpus > 0 ? (uint64_t)cpus * 8 : 16);
    return n < 16 ? 16 : n > 256 ? 256 : (unsigned)n;
}

/* Frees what the structure holds; works on a partly built cache. */
static void mc_teardown(mc *m)
{
    stop_reclaim(m);
    if (m->shards) {
        for (unsigned i = 0; i <= m->shard_mask; i++) {
            mc_table *t = &m->shards[i].table;
            for (size_t j = 0; j < t->cap; j++)
                goio_free(goio__mc_table_at(t, j));
            goio__mc_table_free(t);
            pthread_mutex_destroy(&m->shards[i].mu);
        }
    }
    /* Nobody reads any more: the limbo needs no grace period. */
    free_list(m->limbo);
    free_mems(m->limbo_mem);
    pthread_mutex_destroy(&m->lmu);
    goio__mc_policy_free(&m->policy);
    pthread_mutex_destroy(&m->pl);
    pthread_mutex_destroy(&m->rmu);
    goio_free(m->mem);
    goio_free(m);
}

static void mc_destroy(goio_cache *c)
{
    mc_teardown((mc *)c);
}

static int check_config(const goio_cache_memory_config *cfg)
{
    if (!cfg->max_bytes || cfg->reclaim_interval_ms < 0)
        return GOIO_EINVAL;
    if (cfg->shards &&
        (cfg->shards > MAX_SHARDS || (cfg->shards & (cfg->shards - 1))))
        return GOIO_EINVAL;
    return 0;
}

/* Shards and stripes share one allocation, aligned to cache lines. */
static int alloc_parts(mc *m, unsigned nshards, unsigned nstripes)
{
    size_t size =
        nshards * sizeof(mc_shard) + (nstripes + 1) * sizeof(mc_stripe);
    m->mem = goio_calloc(1, size + 63);
    if (!m->mem)
        return GOIO_ENOMEM;
    uintptr_t p = ((uintptr_t)m->mem + 63) & ~(uintptr_t)63;
    m->shards = (mc_shard *)p;
    m->stripes = (mc_stripe *)(p + nshards * sizeof(mc_shard));
    m->shard_mask = nshards - 1;
    m->nstripes = nstripes;
    for (unsigned i = 0; i < nshards; i++) {
        pthread_mutex_init(&m->shards[i].mu, NULL);
        m->shards[i].min_expire = m->shards[i].pass_min = INT64_MAX;
    }
    return 0;
}

int goio_cache_memory_new(const goio_cache_memory_config *cfg, goio_cache **out)
{
    goio_cache_memory_config def;
    if (!cfg) {
        goio_cache_memory_config_init(&def);
        cfg = &def;
    }
    if (out)
        *out = NULL;
    if (!out || check_config(cfg))
        return GOIO_EINVAL;
    mc *m = goio_calloc(1, sizeof *m);
    if (!m)
        return GOIO_ENOMEM;
    pthread_mutex_init(&m->pl, NULL);
    pthread_mutex_init(&m->rmu, NULL);
    pthread_mutex_init(&m->lmu, NULL);
    uint64_t fixed =
        atomic_load_explicit(&goio__mc_test_seed, memory_order_relaxed);
    m->seed = fixed ? fixed : goio_random_u64();
    m->interval_ms = cfg->reclaim_interval_ms;
    m->now_ms = cfg->now_ms;
    m->now_data = cfg->now_data;
    int rc = goio_cache_init(&m->base, &goio__cache_memory_ops);
    if (rc == 0)
        rc = alloc_parts(m, cfg->shards ? cfg->shards : default_shards(),
                         STRIPES);
    if (rc == 0)
        rc = goio__mc_policy_init(&m->policy, m->seed, cfg->max_bytes,
                                  cfg->max_entries);
    if (rc == 0 && m->interval_ms > 0)
        rc = start_reclaim(m);
    /* Lock-free gets need a reader record, which needs membarrier(2). */
    m->lockfree = goio__mc_rcu_usable();
    if (rc < 0) {
        goio_cache_deinit(&m->base);
        mc_teardown(m);
        return rc;
    }
    *out = &m->base;
    return 0;
}

const goio_cache_ops goio__cache_memory_ops = {
    .name = "memory",
    .get = goio__mc_get,
    .set = mc_set,
    .del = mc_del,
    .stats = mc_stats,
    .clear = mc_clear,
    .destroy = mc_destroy,
};
