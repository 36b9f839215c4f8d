/* SPDX-License-Identifier: MIT */
/*
 * Flights: joining, giving up, running fn and publishing the result, and
 * the blocking goio_sharedflight_do.
 *
 * The shared ctx of a flight follows its live callers: its deadline is the
 * latest of theirs (none if any has none) and it is cancelled when the
 * last one gives up. A flight whose callers all gave up, or whose shared
 * ctx is done, is taken out of the table at once, so a caller arriving
 * later starts a fresh flight instead of joining a doomed one.
 *
 * This file is built with -fexceptions so that the cleanup handlers below
 * also run when fn ends its thread (pthread_exit, cancellation, a C++
 * exception): the flight is then published as GOIO_ECANCELED and no
 * waiter hangs.
 */
#include "sf_int.h"

#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- futex: one word per flight, one bit per caller ---- */

static void futex_wait(atomic_uint *word, unsigned seen, uint32_t bits,
                       int64_t deadline_ms)
{
    struct timespec ts, *abs = NULL;
    if (deadline_ms != GOIO_NO_DEADLINE) {
        if (deadline_ms < 0)
            deadline_ms = 0;
        ts.tv_sec = deadline_ms / 1000;
        ts.tv_nsec = (deadline_ms % 1000) * 1000000;
        abs = &ts; /* FUTEX_WAIT_BITSET: absolute, CLOCK_MONOTONIC */
    }
    syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, seen, abs, NULL, bits);
}

static void futex_wake(atomic_uint *word, uint32_t bits)
{
    syscall(SYS_futex, word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL, NULL,
            bits);
}

/* ---- the shard lock's slow paths ---- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void goio__sharedflight_lock_slow(sf_lock *l)
{
    /* Spin briefly: the lock is held for a few dozen instructions, so a
     * holder on another core is usually about to let go. */
    for (int i = 0; i < 64; i++) {
        int free_ = 0;
        cpu_relax();
        if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&l->state, &free_, 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    /* Mark it contended and sleep until it is free. */
    while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire))
        syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void goio__sharedflight_unlock_slow(sf_lock *l)
{
    syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static sf_shard *shard_of(sf_flight *f)
{
    return &f->group->shards[f->shard].s;
}

/* Counters only ever written under the shard lock are atomics for their
 * lock-free readers, but bumped with a load and a store: a locked
 * read-modify-write would cost more than the rest of the fast path. */
static void bump_size(atomic_size_t *v, long delta)
{
    atomic_store_explicit(
        v, atomic_load_explicit(v, memory_order_relaxed) + (size_t)delta,
        memory_order_relaxed);
}

static void bump_seq(sf_flight *f)
{
    atomic_store_explicit(
        &f->seq, atomic_load_explicit(&f->seq, memory_order_relaxed) + 1,
        memory_order_release);
}

static int ctx_err(goio_ctx *ctx)
{
    return ctx ? goio_ctx_err(ctx) : 0;
}

/* ---- the live callers and the shared deadline (shard lock) ---- */

static void set_deadline(sf_flight *f, int64_t deadline)
{
    if (deadline == f->deadline)
        return;
    f->deadline = deadline;
    if (f->ctx)
        goio_ctx_set_deadline(f->ctx, deadline);
}

static void recompute_deadline(sf_flight *f)
{
    int64_t latest = INT64_MIN;
    for (sf_caller *c = f->callers; c; c = c->next)
        if (c->deadline > latest)
            latest = c->deadline;
    set_deadline(f, latest);
}

/* `owns_ref`: the caller shares the runner's reference (a sync leader
 * runs fn itself), so it takes none of its own. */
static void caller_add(sf_flight *f, sf_caller *c, bool owns_ref)
{
    c->flight = f;
    c->prev = NULL;
    c->next = f->callers;
    if (c->next)
        c->next->prev = c;
    f->callers = c;
    c->wake_bit = 1u << (f->live % 32);
    f->live++;
    if (!owns_ref)
        atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    if (c->deadline == GOIO_NO_DEADLINE)
        f->nodl++;
    if (c->deadline > f->deadline)
        set_deadline(f, c->deadline);
}

static void caller_remove(sf_flight *f, sf_caller *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        f->callers = c->next;
    if (c->next)
        c->next->prev = c->prev;
    f->live--;
    if (c->deadline == GOIO_NO_DEADLINE)
        f->nodl--;
    /* Only the caller holding the latest deadline can move it back. */
    if (f->live && !f->nodl && c->deadline >= f->deadline)
        recompute_deadline(f);
}

/* ---- joining ---- */

static int flight_new(goio_sharedflight *g, uint64_t hash, const char *key,
                      size_t len, const sf_caller *first, bool with_ctx,
                      sf_flight **out)
{
    sf_flight *f = goio_malloc(sizeof *f + len + 1);
    if (!f)
        return GOIO_ENOMEM;
    /* Field by field: zeroing the whole struct compiles to a rep stos that
     * costs a fifth of an uncontended call. */
    f->group = g;
    f->hnext = f->qnext = NULL;
    f->hash = hash;
    f->shard = goio__sharedflight_shard_of(hash);
    f->callers = NULL;
    f->live = f->nodl = 0;
    f->deadline = first->deadline;
    f->attached = f->shared = f->has_runner = false;
    f->ctx = NULL;
    f->status = 0;
    f->value = NULL;
    f->keylen = len;
    atomic_init(&f->refs, 1); /* the runner's */
    atomic_init(&f->seq, 0);
    memcpy(f->key, key, len + 1);
    /* A first caller with a NULL ctx never gives up and has no deadline,
     * so neither can the flight: fn then gets a NULL ctx, which every
     * goio call accepts, and the flight costs no ctx. */
    if ((first->ctx || with_ctx) &&
        goio_ctx_new_with_deadline(NULL, first->deadline, &f->ctx)) {
        goio_free(f);
        return GOIO_ENOMEM;
    }
    *out = f;
    return 0;
}

/* Makes and registers a new flight for the caller that will start it. */
static int flight_start(goio_sharedflight *g, sf_shard *s, uint64_t hash,
                        const char *key, size_t len, const sf_caller *c,
                        goio_sharedflight_fn fn, void *data,
                        goio_sharedflight_destroy_fn destroy, bool with_ctx,
                        sf_flight **out)
{
    sf_flight *f;
    int rc = flight_new(g, hash, key, len, c, with_ctx, &f);
    if (rc)
        return rc;
    f->fn = fn;
    f->data = data;
    f->destroy = destroy;
    if (!c->async) { /* a worker records itself when it starts */
        f->runner = pthread_self();
        f->has_runner = true;
    }
    goio__sharedflight_insert(s, f);
    bump_size(&s->running, 1);
    *out = f;
    return 0;
}

int goio__sharedflight_join(goio_sharedflight *g, const char *key, size_t len,
                            sf_caller *c, goio_sharedflight_fn fn, void *data,
                            goio_sharedflight_destroy_fn destroy, bool with_ctx,
                            bool *started)
{
    uint64_t hash;
    sf_shard *s;
    int rc = 0;
    *started = false;
    sf_flight *f = goio__sharedflight_lock_key(g, key, len, &hash, &s);
    if (f && f->ctx && goio_ctx_err(f->ctx)) {
        /* Every caller's deadline passed (or fn cancelled its own ctx):
         * nobody may be handed that ctx again. */
        goio__sharedflight_detach(s, f);
        f = NULL;
    }
    if (f && !c->async && f->has_runner &&
        pthread_equal(f->runner, pthread_self()))
        rc = GOIO_EBUSY; /* fn waiting for its own flight: never ends */
    else if (!f && !(rc = flight_start(g, s, hash, key, len, c, fn, data,
                                       destroy, with_ctx, &f)))
        *started = true;
    if (!rc)
        caller_add(f, c, *started && !c->async);
    sf_lock_release(&s->lock);
    return rc;
}

/* ---- giving up ---- */

bool goio__sharedflight_give_up(sf_caller *c, int err, bool deliver)
{
    sf_flight *f = c->flight;
    sf_shard *s = shard_of(f);
    goio_ctx *doomed = NULL;
    sf_lock_acquire(&s->lock);
    if (atomic_load_explicit(&c->outcome, memory_order_relaxed) != SF_PENDING) {
        sf_lock_release(&s->lock);
        return false;
    }
    caller_remove(f, c);
    if (!f->live) {
        goio__sharedflight_detach(s, f);
        doomed = goio_ctx_ref(f->ctx);
    }
    atomic_store_explicit(&c->outcome, err, memory_order_release);
    bump_seq(f);
    sf_lock_release(&s->lock);
    /* c is still there: a sync caller given up by its ctx's watch returns
     * only after removing the watch, which waits for this call. */
    if (!c->async)
        futex_wake(&f->seq, c->wake_bit);
    else if (deliver) {
        c->async->dnext = NULL;
        goio__sharedflight_deliver(c->async);
    }
    /* Cancelled outside the lock: fn's own watches run here. */
    goio_ctx_cancel(doomed);
    goio_ctx_unref(doomed);
    return true;
}

/* ---- publishing ---- */

/*
 * Decides every live caller's outcome: the result, or its own ctx's error
 * if that ctx is done by now. `self` is the sync caller running fn (not
 * woken). Returns the async callers to deliver; *wake says whether a sync
 * caller may be asleep.
 */
static sf_async *decide_outcomes(sf_flight *f, const sf_caller *self,
                                 bool *wake)
{
    unsigned receivers = 0;
    for (sf_caller *c = f->callers; c; c = c->next) {
        c->verdict = ctx_err(c->ctx);
        receivers += !c->verdict;
    }
    f->shared = receivers > 1;
    sf_async *deliveries = NULL;
    *wake = false;
    for (sf_caller *c = f->callers, *next; c; c = next) {
        /* Once its outcome is stored a sync caller may return and its
         * record vanish: read it first. */
        next = c->next;
        if (c->async) {
            c->async->dnext = deliveries;
            deliveries = c->async;
        } else if (c != self) {
            *wake = true;
        }
        atomic_store_explicit(&c->outcome, c->verdict, memory_order_release);
    }
    f->callers = NULL;
    f->live = f->nodl = 0;
    return deliveries;
}

void goio__sharedflight_publish(sf_flight *f, int status, void *value,
                                const sf_caller *self)
{
    sf_shard *s = shard_of(f);
    bool wake;
    sf_lock_acquire(&s->lock);
    f->status = status;
    f->value = value;
    goio__sharedflight_detach(s, f);
    sf_async *deliveries = decide_outcomes(f, self, &wake);
    goio_ctx *ctx = f->ctx;
    f->ctx = NULL;
    bump_size(&s->running, -1);
    if (wake)
        bump_seq(f); /* only a sync waiter sleeps on it */
    sf_lock_release(&s->lock);
    if (wake)
        futex_wake(&f->seq, FUTEX_BITSET_MATCH_ANY);
    goio_ctx_unref(ctx);
    if (deliveries)
        goio__sharedflight_deliver(deliveries);
}

/* ---- running fn ---- */

typedef struct run_guard {
    sf_flight *f;
    const sf_caller *self;
    bool running;
} run_guard;

/* Runs when goio__sharedflight_run's frame is left: normally after
 * `running` was cleared, or by unwinding out of fn. */
static void run_unwound(run_guard *guard)
{
    if (!guard->running)
        return;
    goio_log(GOIO_LOG_ERROR, "sharedflight", "flight_abandoned", guard->f->key,
             GOIO_ECANCELED,
             "the work function ended its thread; its callers get "
             "GOIO_ECANCELED");
    goio__sharedflight_publish(guard->f, GOIO_ECANCELED, NULL, guard->self);
}

void goio__sharedflight_run(sf_flight *f, const sf_caller *self)
{
    /* f->ctx is only read here: it is dropped by publish, which runs on
     * this thread. */
    int err = ctx_err(f->ctx);
    if (err) {
        /* Given up (or timed out) before it started: nobody waits. */
        goio__sharedflight_publish(f, err, NULL, self);
        return;
    }
    if (!self) {
        /* A worker: record it, as the sync leader was at creation. */
        sf_shard *s = shard_of(f);
        sf_lock_acquire(&s->lock);
        f->runner = pthread_self();
        f->has_runner = true;
        sf_lock_release(&s->lock);
    }
    run_guard guard __attribute__((cleanup(run_unwound))) = {f, self, true};
    void *value = NULL;
    int rc = f->fn(f->ctx, &value, f->data);
    guard.running = false;
    goio__sharedflight_publish(f, rc, value, self);
}

/* ---- the blocking form ---- */

static int ctx_err_or_canceled(goio_ctx *ctx)
{
    int err = goio_ctx_err(ctx);
    return err ? err : GOIO_ECANCELED;
}

void goio__sharedflight_cancelled(void *arg)
{
    sf_caller *c = arg;
    goio__sharedflight_give_up(c, ctx_err_or_canceled(c->ctx), true);
}

typedef struct lead_guard {
    sf_caller *me;
    goio_ctx_watch *watch;
    bool unwinding;
} lead_guard;

/* Leaves the leader's frame: stop watching its ctx (the watch points into
 * this frame). On unwinding also drop the leader's reference (which is
 * the runner's too), as nobody will read its outcome. */
static void lead_done(lead_guard *guard)
{
    if (guard->watch)
        goio_ctx_watch_remove(guard->me->ctx, guard->watch);
    if (guard->unwinding)
        goio__sharedflight_flight_unref(guard->me->flight);
}

/* The first caller runs fn on its own thread. */
static void lead(sf_caller *me)
{
    sf_flight *f = me->flight;
    lead_guard guard __attribute__((cleanup(lead_done))) = {me, NULL, true};
    if (me->ctx) {
        /* Its deadline needs no watch: the shared deadline covers it. */
        int rc = goio_ctx_on_cancel(me->ctx, goio__sharedflight_cancelled, me,
                                    &guard.watch);
        if (rc) {
            goio__sharedflight_publish(f, rc, NULL, me);
            guard.unwinding = false;
            return;
        }
    }
    goio__sharedflight_run(f, me);
    guard.unwinding = false;
}

static void wait_outcome(sf_caller *me)
{
    sf_flight *f = me->flight;
    goio_ctx_watch *watch = NULL;
    if (me->ctx) {
        int rc = goio_ctx_on_cancel(me->ctx, goio__sharedflight_cancelled, me,
                                    &watch);
        if (rc)
            goio__sharedflight_give_up(me, rc, false);
    }
    /* seq before the outcome (see sf_int.h): the futex re-validates it.
     * The deadline is read afresh each round, so one moved later is
     * followed; the futex timeout ends the wait when it passes. */
    for (;;) {
        unsigned seen = atomic_load_explicit(&f->seq, memory_order_acquire);
        if (atomic_load_explicit(&me->outcome, memory_order_acquire) !=
            SF_PENDING)
            break;
        int err = goio_ctx_err(me->ctx);
        if (err) {
            goio__sharedflight_give_up(me, err, false);
            continue;
        }
        futex_wait(&f->seq, seen, me->wake_bit, goio_ctx_deadline(me->ctx));
    }
    goio_ctx_watch_remove(me->ctx, watch);
}

int goio_sharedflight_do(goio_sharedflight *g, goio_ctx *ctx, const char *key,
                         goio_sharedflight_fn fn, void *data,
                         goio_sharedflight_destroy_fn destroy,
                         goio_sharedflight_result **result, bool *shared)
{
    if (result)
        *result = NULL;
    if (shared)
        *shared = false;
    if (!g || !key || !*key || !fn || !result)
        return GOIO_EINVAL;
    int err = ctx_err(ctx);
    if (err)
        return err;
    sf_caller me = {.ctx = ctx,
                    .deadline =
                        ctx ? goio_ctx_deadline(ctx) : GOIO_NO_DEADLINE};
    atomic_init(&me.outcome, SF_PENDING);
    bool started;
    err = goio__sharedflight_join(g, key, strlen(key), &me, fn, data, destroy,
                                  false, &started);
    if (err)
        return err;
    if (started)
        lead(&me);
    else
        wait_outcome(&me);

    sf_flight *f = me.flight;
    int outcome = atomic_load_explicit(&me.outcome, memory_order_acquire);
    if (outcome) {
        goio__sharedflight_flight_unref(f);
        return outcome;
    }
    *result = f; /* the caller's reference becomes the result's */
    if (shared)
        *shared = f->shared;
    return f->status;
}
