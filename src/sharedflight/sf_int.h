/* SPDX-License-Identifier: MIT */
/*
 * sharedflight internals shared by group.c, flight.c and async.c.
 *
 * A flight is one execution of fn for one key. The same allocation is the
 * goio_sharedflight_result handed to callers: its reference count covers
 * the callers still waiting, the thread running fn and every result
 * reference, so a result costs no allocation of its own.
 *
 * Locking: each shard's mutex guards its hash table and every field of the
 * flights it holds that is marked "shard lock" below. The async pool's
 * mutex (async.c) may be taken before a shard lock, never after: code that
 * holds a shard lock collects async deliveries in a list and hands them
 * over once it has dropped the lock. No user code (fn, callbacks, ctx
 * watches) ever runs under either lock.
 *
 * Waiting: callers sleep on a futex word in the flight (`seq`) with a
 * per-caller bit, so publishing a result wakes every waiter with one
 * system call and without a mutex convoy, while a cancelled caller is
 * woken without the others. Bits are handed out round-robin, so callers
 * may share one (past 32, or after others left): that costs a spurious
 * wake-up, never a lost one. Every outcome is stored before `seq` is
 * bumped, both under the shard lock, and a waiter reads `seq` before its
 * outcome, so a decision made after its check changes the word and the
 * futex wait returns at once.
 */
#ifndef GOIO_SF_INT_H
#define GOIO_SF_INT_H

#include <goio/sharedflight.h>

#include <pthread.h>
#include <stdatomic.h>

/* A caller's outcome before it is decided (decided ones are 0 or < 0). */
#define SF_PENDING 1

typedef struct goio_sharedflight_result sf_flight;
typedef struct sf_caller sf_caller;
typedef struct sf_async sf_async;

/* One caller of a flight. Sync callers keep it on their stack. */
struct sf_caller {
    sf_caller *prev, *next; /* flight->callers (shard lock) */
    sf_flight *flight;
    goio_ctx *ctx;      /* may be NULL: never gives up */
    int64_t deadline;   /* goio_ctx_deadline(ctx) when it joined */
    atomic_int outcome; /* SF_PENDING, 0 = has the result, or an error */
    int verdict;        /* the outcome being decided (shard lock) */
    uint32_t wake_bit;  /* its futex bit */
    sf_async *async;    /* the async record this is part of, or NULL */
};

struct goio_sharedflight_result {
    atomic_long refs;
    goio_sharedflight *group;
    sf_flight *hnext; /* bucket chain while attached (shard lock) */
    sf_flight *qnext; /* async work queue (pool lock) */
    uint64_t hash;
    uint32_t shard;
    /* shard lock, while running */
    sf_caller *callers; /* callers still waiting for this flight */
    unsigned live;      /* how many */
    unsigned nodl;      /* how many of them have no deadline */
    int64_t deadline;   /* the shared ctx's deadline as last set */
    bool attached;      /* the table points at it */
    bool has_runner;    /* `runner` is the thread running fn */
    pthread_t runner;   /* so fn waiting for its own key fails, not hangs */
    /* the shared ctx: NULL when the flight can never be cancelled (its
     * first caller passed a NULL ctx); dropped when the flight is done */
    goio_ctx *ctx;
    /* the work, from the caller that started the flight */
    goio_sharedflight_fn fn;
    void *data;
    goio_sharedflight_destroy_fn destroy;
    /* the result, written before any outcome is published */
    int status;
    void *value;
    bool shared;
    atomic_uint seq; /* futex word: bumped on every wake */
    size_t keylen;
    char key[];
};

/*
 * The shard lock: a futex mutex (Drepper, "Futexes Are Tricky", mutex 3)
 * inlined into the fast path, where pthread_mutex_lock/unlock's type and
 * owner bookkeeping cost a tenth of an uncontended call. Its state is an
 * atomic with acquire/release ordering, so ThreadSanitizer sees the
 * synchronisation. 0 free, 1 held, 2 held and maybe waited for.
 */
typedef struct sf_lock {
    atomic_int state;
} sf_lock;

void goio__sharedflight_lock_slow(sf_lock *l);
void goio__sharedflight_unlock_slow(sf_lock *l);

static inline void sf_lock_acquire(sf_lock *l)
{
    int free_ = 0;
    if (!atomic_compare_exchange_strong_explicit(
            &l->state, &free_, 1, memory_order_acquire, memory_order_relaxed))
        goio__sharedflight_lock_slow(l);
}

static inline void sf_lock_release(sf_lock *l)
{
    if (atomic_exchange_explicit(&l->state, 0, memory_order_release) != 1)
        goio__sharedflight_unlock_slow(l);
}

typedef struct sf_shard {
    sf_lock lock;
    sf_flight **buckets; /* power-of-two sized, chained through hnext */
    size_t nbuckets;
    size_t count;          /* attached flights */
    atomic_size_t running; /* flights not yet done, attached or not */
} sf_shard;

/* Padded so two shards never share a cache line (the group is allocated
 * with goio_calloc, which does not promise 64-byte alignment). */
typedef union sf_shard_slot {
    sf_shard s;
    char pad[128];
} sf_shard_slot;

#define SF_SHARDS 32

typedef struct sf_pool sf_pool; /* async.c */

/* An async caller: the record lives from goio_sharedflight_do_async until
 * its callback has run and its call has returned. */
struct sf_async {
    sf_caller caller;
    sf_pool *pool;
    sf_async *dnext;       /* delivery queue or a local list (pool lock) */
    sf_async *prev, *next; /* the pool's list of live records (pool lock) */
    size_t heap_at;        /* index in the pool's deadline heap, or SIZE_MAX */
    goio_ctx_watch *watch;
    atomic_int holds; /* the call, the delivery, transient: last one frees */
    int64_t timer_at; /* when the dispatcher checks its ctx (pool lock) */
    sf_async
        *tnext; /* the dispatcher's or goio_sharedflight_free's local lists */
    goio_sharedflight_cb cb;
    void *data;
};

struct goio_sharedflight {
    sf_shard_slot shards[SF_SHARDS];
    goio_sharedflight_config cfg;
    pthread_mutex_t pool_once; /* guards making `pool` */
    sf_pool *_Atomic pool;     /* made on the first async call */
};

/* ---- group.c: the table (callers hold the shard lock) ---- */

uint32_t goio__sharedflight_shard_of(uint64_t hash);
/* Locks key's shard (*s; the caller releases its lock) and returns key's
 * current flight there, or NULL. *hash (if not NULL) is the key's hash. */
sf_flight *goio__sharedflight_lock_key(goio_sharedflight *g, const char *key,
                                       size_t len, uint64_t *hash,
                                       sf_shard **s);
void goio__sharedflight_insert(sf_shard *s, sf_flight *f);
void goio__sharedflight_detach(sf_shard *s, sf_flight *f);
void goio__sharedflight_flight_unref(sf_flight *f);

/* ---- flight.c ---- */

/*
 * Joins the running flight for key or starts a new one, under the shard
 * lock (taken and released inside). A new flight is returned in *started
 * with the caller as its first caller; `c` must be filled (ctx, deadline,
 * async). with_ctx forces a shared ctx even for a NULL caller ctx (async
 * flights can be given up by goio_sharedflight_free). Returns 0 or GOIO_ENOMEM.
 */
int goio__sharedflight_join(goio_sharedflight *g, const char *key, size_t len,
                            sf_caller *c, goio_sharedflight_fn fn, void *data,
                            goio_sharedflight_destroy_fn destroy, bool with_ctx,
                            bool *started);

/*
 * Gives `c` up with `err` unless its outcome is decided already (then
 * returns false). When `deliver` is false an async caller's callback is
 * not scheduled (its call is failing synchronously).
 */
bool goio__sharedflight_give_up(sf_caller *c, int err, bool deliver);

/* The ctx watch of a caller (arg): gives it up with its ctx's error. */
void goio__sharedflight_cancelled(void *arg);

/* Runs fn (the flight's, on this thread) and publishes its result; every
 * exit path, including fn ending the thread, publishes. `self` is the sync
 * caller running it, or NULL on a worker. Skips fn when the flight's ctx
 * is done already (all callers gave up before it started). */
void goio__sharedflight_run(sf_flight *f, const sf_caller *self);
/* Publishes a result: every live caller gets its outcome, sleepers are
 * woken, async callers handed to the pool. */
void goio__sharedflight_publish(sf_flight *f, int status, void *value,
                                const sf_caller *self);

/* ---- async.c ---- */

/* Takes over a list of async callers (chained through sf_async.dnext)
 * whose outcome is decided and schedules their callbacks. */
void goio__sharedflight_deliver(sf_async *list);
/* Gives every pending async caller up with GOIO_ECLOSED, waits for the
 * workers and joins every thread. */
void goio__sharedflight_pool_free(sf_pool *pool);

#endif
