/* SPDX-License-Identifier: MIT */
/*
 * The asynchronous form: goio_sharedflight_do_async.
 *
 * Threads (made on the first async call, each exits after cfg.idle_ms with
 * nothing to do, all joined by goio_sharedflight_free):
 *  - up to cfg.max_workers workers run the fns of flights started by async
 *    callers, in arrival order;
 *  - one callback thread (the "dispatcher") calls every async callback,
 *    one at a time, and gives up async callers whose deadline passed
 *    (deadlines are lazy in core: nothing else would notice them).
 * A cancelled async caller is given up by its ctx watch, on the thread
 * that cancelled; its callback still runs on the dispatcher.
 *
 * An async caller's record has holds: one for the do_async call that is
 * still setting it up, one for its callback, and transient ones while the
 * dispatcher or free looks at it. The last hold frees it, so a callback
 * that runs before do_async has returned is harmless. The record keeps its
 * reference to the flight until then (the callback gets one of its own),
 * so whoever holds a record may look at its flight.
 *
 * Locking: the pool lock is never held together with a shard lock, and no
 * user code runs under it.
 *
 * Built with -fexceptions, like flight.c: a worker whose fn ends the
 * thread still leaves the pool consistent.
 */
#include "sf_int.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

typedef struct sf_thread sf_thread;
struct sf_thread {
    pthread_t tid;
    sf_pool *pool;
    sf_thread *next;
    bool counted; /* still in pool->workers / pool->dispatcher */
    bool is_dispatcher;
};

struct sf_pool {
    goio_sharedflight *g;
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* workers: a flight queued, or closing */
    pthread_cond_t disp_cond; /* dispatcher: delivery, new timer, closing */
    sf_flight *qhead, *qtail; /* flights waiting for a worker */
    size_t qlen;
    sf_async *dhead, *dtail; /* decided callers waiting for their callback */
    sf_async *records;       /* every record not yet freed */
    sf_async **heap;         /* min-heap on timer_at */
    size_t heap_len, heap_cap, nrecords;
    sf_thread *threads; /* every thread started and not joined yet */
    unsigned workers, idle_workers;
    bool dispatcher, closing;
};

/* ---- small helpers ---- */

static int cond_init_mono(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr))
        return GOIO_ENOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc ? GOIO_ENOMEM : 0;
}

/* Waits until `deadline_ms` (monotonic; GOIO_NO_DEADLINE: forever).
 * Returns whether the deadline passed. */
static bool cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock,
                            int64_t deadline_ms)
{
    if (deadline_ms == GOIO_NO_DEADLINE) {
        pthread_cond_wait(cond, lock);
        return false;
    }
    struct timespec ts = {deadline_ms / 1000, (deadline_ms % 1000) * 1000000};
    return pthread_cond_timedwait(cond, lock, &ts) == ETIMEDOUT;
}

/* ---- the deadline heap (pool lock) ---- */

static void heap_set(sf_pool *p, size_t i, sf_async *a)
{
    p->heap[i] = a;
    a->heap_at = i;
}

static void heap_up(sf_pool *p, size_t i)
{
    sf_async *a = p->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (p->heap[parent]->timer_at <= a->timer_at)
            break;
        heap_set(p, i, p->heap[parent]);
        i = parent;
    }
    heap_set(p, i, a);
}

static void heap_down(sf_pool *p, size_t i)
{
    sf_async *a = p->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= p->heap_len)
            break;
        if (child + 1 < p->heap_len &&
            p->heap[child + 1]->timer_at < p->heap[child]->timer_at)
            child++;
        if (a->timer_at <= p->heap[child]->timer_at)
            break;
        heap_set(p, i, p->heap[child]);
        i = child;
    }
    heap_set(p, i, a);
}

/* Room is reserved when a record is made (one slot per record). */
static void heap_push(sf_pool *p, sf_async *a)
{
    heap_set(p, p->heap_len++, a);
    heap_up(p, p->heap_len - 1);
}

static void heap_remove(sf_pool *p, sf_async *a)
{
    size_t i = a->heap_at;
    a->heap_at = SIZE_MAX;
    sf_async *last = p->heap[--p->heap_len];
    if (i == p->heap_len)
        return;
    heap_set(p, i, last);
    heap_down(p, i);
    heap_up(p, last->heap_at);
}

/* ---- records ---- */

static void record_unlink(sf_pool *p, sf_async *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        p->records = a->next;
    if (a->next)
        a->next->prev = a->prev;
    p->nrecords--;
}

static void record_free(sf_async *a)
{
    sf_pool *p = a->pool;
    goio_ctx_watch_remove(a->caller.ctx, a->watch);
    pthread_mutex_lock(&p->lock);
    if (a->heap_at != SIZE_MAX)
        heap_remove(p, a);
    record_unlink(p, a);
    if (!p->records)
        pthread_cond_signal(&p->disp_cond); /* it may idle or close now */
    pthread_mutex_unlock(&p->lock);
    goio_ctx_unref(a->caller.ctx);
    if (a->caller.flight)
        goio__sharedflight_flight_unref(a->caller.flight);
    goio_free(a);
}

/* A transient hold, unless the record is already on its way out (its
 * last hold is gone and record_free is waiting for the pool lock). */
static bool record_try_hold(sf_async *a)
{
    int holds = atomic_load_explicit(&a->holds, memory_order_relaxed);
    while (holds > 0)
        if (atomic_compare_exchange_weak_explicit(&a->holds, &holds, holds + 1,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    return false;
}

static void record_drop(sf_async *a)
{
    if (atomic_fetch_sub_explicit(&a->holds, 1, memory_order_acq_rel) == 1)
        record_free(a);
}

/* ---- threads ---- */

static void *worker_main(void *arg);
static void *dispatcher_main(void *arg);

/* Joins threads that have exited (pool lock held; they no longer need
 * it, so this does not block for long). */
static void reap_exited(sf_pool *p)
{
    for (sf_thread **t = &p->threads; *t;) {
        sf_thread *th = *t;
        if (th->counted) {
            t = &th->next;
            continue;
        }
        *t = th->next;
        pthread_join(th->tid, NULL);
        goio_free(th);
    }
}

/* Starts a thread with every signal blocked (signals belong to the
 * application's threads). Pool lock held. */
static int spawn(sf_pool *p, bool is_dispatcher)
{
    reap_exited(p);
    sf_thread *th = goio_calloc(1, sizeof *th);
    if (!th)
        return GOIO_ENOMEM;
    th->pool = p;
    th->counted = true;
    th->is_dispatcher = is_dispatcher;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th->tid, NULL,
                            is_dispatcher ? dispatcher_main : worker_main, th);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        goio_free(th);
        return rc == ENOMEM ? GOIO_ENOMEM : GOIO_EAGAIN;
    }
    th->next = p->threads;
    p->threads = th;
    if (is_dispatcher)
        p->dispatcher = true;
    else
        p->workers++;
    return 0;
}

/* Leaves the counts when a thread decides to exit (pool lock held). */
static void uncount(sf_thread *th)
{
    if (!th->counted)
        return;
    th->counted = false;
    if (th->is_dispatcher)
        th->pool->dispatcher = false;
    else
        th->pool->workers--;
}

/* A thread's exit guard. On a normal exit the thread left the counts
 * under the lock already and must not take it again (reap_exited may be
 * joining it while holding the lock); when fn or a callback ends the
 * thread, the guard leaves them. */
typedef struct thread_guard {
    sf_thread *self;
    bool left;
} thread_guard;

static void thread_exit(thread_guard *guard)
{
    if (guard->left)
        return;
    sf_pool *p = guard->self->pool;
    pthread_mutex_lock(&p->lock);
    uncount(guard->self);
    pthread_mutex_unlock(&p->lock);
}

/* ---- workers ---- */

/* The next flight to run, or NULL when this worker should exit. */
static sf_flight *worker_next(sf_thread *self)
{
    sf_pool *p = self->pool;
    pthread_mutex_lock(&p->lock);
    sf_flight *f;
    for (;;) {
        if ((f = p->qhead)) {
            p->qhead = f->qnext;
            if (!p->qhead)
                p->qtail = NULL;
            p->qlen--;
            break;
        }
        if (p->closing)
            break;
        p->idle_workers++;
        bool idle = cond_wait_until(
            &p->work_cond, &p->lock,
            goio_time_add_ms(goio_now_mono_ms(), p->g->cfg.idle_ms));
        p->idle_workers--;
        if (idle && !p->qhead)
            break;
    }
    if (!f)
        uncount(self); /* decided under the lock: enqueue sees it */
    pthread_mutex_unlock(&p->lock);
    return f;
}

static void runner_drop(sf_flight **f)
{
    goio__sharedflight_flight_unref(*f);
}

static void work(sf_flight *f)
{
    sf_flight *runner __attribute__((cleanup(runner_drop))) = f;
    goio__sharedflight_run(runner, NULL);
}

static void *worker_main(void *arg)
{
    thread_guard guard __attribute__((cleanup(thread_exit))) = {arg, false};
    sf_flight *f;
    while ((f = worker_next(guard.self)))
        work(f);
    guard.left = true; /* worker_next left the counts */
    return NULL;
}

/* Queues a new flight for a worker, starting one if none is free. Fails
 * only when no worker exists and none can be started. */
static int enqueue_flight(sf_pool *p, sf_flight *f)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    if (p->idle_workers <= p->qlen && p->workers < p->g->cfg.max_workers)
        rc = spawn(p, false);
    if (rc && p->workers)
        rc = 0; /* a busy worker will get to it */
    if (!rc) {
        f->qnext = NULL;
        if (p->qtail)
            p->qtail->qnext = f;
        else
            p->qhead = f;
        p->qtail = f;
        p->qlen++;
        if (p->idle_workers)
            pthread_cond_signal(&p->work_cond);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* ---- the dispatcher ---- */

static void run_callback(sf_async *a)
{
    sf_flight *f = a->caller.flight;
    int outcome =
        atomic_load_explicit(&a->caller.outcome, memory_order_acquire);
    if (outcome)
        a->cb(outcome, NULL, false, a->data);
    else
        a->cb(f->status, goio_sharedflight_result_ref(f), f->shared, a->data);
    record_drop(a);
}

/* Takes the records whose timer is due off the heap, each with a hold. */
static sf_async *take_due(sf_pool *p)
{
    sf_async *due = NULL;
    int64_t now = goio_now_mono_ms();
    while (p->heap_len && p->heap[0]->timer_at <= now) {
        sf_async *a = p->heap[0];
        heap_remove(p, a);
        if (!record_try_hold(a))
            continue; /* being freed: its outcome is long decided */
        a->tnext = due;
        due = a;
    }
    return due;
}

/* Gives up the due callers whose ctx is done; re-arms the others (their
 * ctx's deadline moved). No lock held. */
static void expire(sf_pool *p, sf_async *due)
{
    while (due) {
        sf_async *a = due;
        due = a->tnext;
        int err = goio_ctx_err(a->caller.ctx);
        if (err) {
            goio__sharedflight_give_up(&a->caller, err, true);
        } else {
            pthread_mutex_lock(&p->lock);
            a->timer_at = goio_ctx_deadline(a->caller.ctx);
            if (a->timer_at != GOIO_NO_DEADLINE &&
                atomic_load(&a->caller.outcome) == SF_PENDING)
                heap_push(p, a);
            pthread_mutex_unlock(&p->lock);
        }
        record_drop(a);
    }
}

/* One round of the dispatcher, pool lock held. Returns false to exit. */
static bool dispatch_once(sf_thread *self, int64_t *idle_until)
{
    sf_pool *p = self->pool;
    sf_async *a = p->dhead;
    if (a) {
        p->dhead = a->dnext;
        if (!p->dhead)
            p->dtail = NULL;
        pthread_mutex_unlock(&p->lock);
        run_callback(a);
        pthread_mutex_lock(&p->lock);
        *idle_until = goio_time_add_ms(goio_now_mono_ms(), p->g->cfg.idle_ms);
        return true;
    }
    sf_async *due = take_due(p);
    if (due) {
        pthread_mutex_unlock(&p->lock);
        expire(p, due);
        pthread_mutex_lock(&p->lock);
        return true;
    }
    if (!p->records && (p->closing || goio_now_mono_ms() >= *idle_until)) {
        uncount(self);
        return false;
    }
    int64_t wake = p->heap_len ? p->heap[0]->timer_at : GOIO_NO_DEADLINE;
    if (!p->records && *idle_until < wake)
        wake = *idle_until;
    cond_wait_until(&p->disp_cond, &p->lock, wake);
    return true;
}

static void *dispatcher_main(void *arg)
{
    thread_guard guard __attribute__((cleanup(thread_exit))) = {arg, false};
    sf_pool *p = guard.self->pool;
    pthread_mutex_lock(&p->lock);
    int64_t idle_until =
        goio_time_add_ms(goio_now_mono_ms(), p->g->cfg.idle_ms);
    while (dispatch_once(guard.self, &idle_until)) {
    }
    guard.left = true; /* dispatch_once left the counts */
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void goio__sharedflight_deliver(sf_async *list)
{
    sf_pool *p = list->pool;
    pthread_mutex_lock(&p->lock);
    while (list) {
        sf_async *a = list;
        list = a->dnext;
        a->dnext = NULL;
        if (p->dtail)
            p->dtail->dnext = a;
        else
            p->dhead = a;
        p->dtail = a;
    }
    pthread_cond_signal(&p->disp_cond);
    pthread_mutex_unlock(&p->lock);
}

/* ---- the pool ---- */

static int pool_new(goio_sharedflight *g, sf_pool **out)
{
    sf_pool *p = goio_calloc(1, sizeof *p);
    if (!p)
        return GOIO_ENOMEM;
    p->g = g;
    if (pthread_mutex_init(&p->lock, NULL)) {
        goio_free(p);
        return GOIO_ENOMEM;
    }
    if (cond_init_mono(&p->work_cond)) {
        pthread_mutex_destroy(&p->lock);
        goio_free(p);
        return GOIO_ENOMEM;
    }
    if (cond_init_mono(&p->disp_cond)) {
        pthread_cond_destroy(&p->work_cond);
        pthread_mutex_destroy(&p->lock);
        goio_free(p);
        return GOIO_ENOMEM;
    }
    *out = p;
    return 0;
}

static int pool_get(goio_sharedflight *g, sf_pool **out)
{
    sf_pool *p = atomic_load_explicit(&g->pool, memory_order_acquire);
    int rc = 0;
    if (!p) {
        pthread_mutex_lock(&g->pool_once);
        p = atomic_load_explicit(&g->pool, memory_order_relaxed);
        if (!p && !(rc = pool_new(g, &p)))
            atomic_store_explicit(&g->pool, p, memory_order_release);
        pthread_mutex_unlock(&g->pool_once);
    }
    *out = p;
    return rc;
}

/* Closes the pool to new calls and gives every caller still waiting up
 * with GOIO_ECLOSED, so running flights have their ctx cancelled; queued
 * flights are published without ever starting. */
static void pool_close(sf_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->closing = true;
    sf_flight *queued = p->qhead;
    p->qhead = p->qtail = NULL;
    p->qlen = 0;
    sf_async *waiting = NULL;
    for (sf_async *a = p->records; a; a = a->next) {
        if (!record_try_hold(a))
            continue;
        a->tnext = waiting;
        waiting = a;
    }
    pthread_mutex_unlock(&p->lock);
    while (waiting) {
        sf_async *a = waiting;
        waiting = a->tnext;
        goio__sharedflight_give_up(&a->caller, GOIO_ECLOSED, true);
        record_drop(a);
    }
    while (queued) {
        sf_flight *f = queued;
        queued = f->qnext;
        goio__sharedflight_publish(f, GOIO_ECLOSED, NULL, NULL);
        goio__sharedflight_flight_unref(f);
    }
}

void goio__sharedflight_pool_free(sf_pool *p)
{
    pool_close(p);
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->work_cond);
    pthread_cond_broadcast(&p->disp_cond);
    sf_thread *threads = p->threads;
    p->threads = NULL;
    pthread_mutex_unlock(&p->lock);
    /* Threads finish their work (callbacks, running fns) and exit. */
    while (threads) {
        sf_thread *th = threads;
        threads = th->next;
        pthread_join(th->tid, NULL);
        goio_free(th);
    }
    goio_free(p->heap);
    pthread_cond_destroy(&p->disp_cond);
    pthread_cond_destroy(&p->work_cond);
    pthread_mutex_destroy(&p->lock);
    goio_free(p);
}

/* ---- goio_sharedflight_do_async ---- */

/* Registers a new record: reserves its heap slot and makes sure the
 * callback thread and at least one worker exist. */
static int record_open(sf_pool *p, sf_async *a)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    if (p->closing)
        rc = GOIO_ECLOSED;
    if (!rc && p->nrecords == p->heap_cap) {
        size_t cap = p->heap_cap ? p->heap_cap * 2 : 16;
        sf_async **heap = goio_reallocarray(p->heap, cap, sizeof *heap);
        if (heap) {
            p->heap = heap;
            p->heap_cap = cap;
        } else {
            rc = GOIO_ENOMEM;
        }
    }
    if (!rc && !p->dispatcher)
        rc = spawn(p, true);
    if (!rc && !p->workers)
        rc = spawn(p, false);
    if (!rc) {
        a->next = p->records;
        if (a->next)
            a->next->prev = a;
        p->records = a;
        p->nrecords++;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* Arms the dispatcher's timer for the caller's deadline. */
static void timer_arm(sf_pool *p, sf_async *a)
{
    pthread_mutex_lock(&p->lock);
    if (atomic_load(&a->caller.outcome) == SF_PENDING) {
        heap_push(p, a);
        if (p->heap[0] == a)
            pthread_cond_signal(&p->disp_cond);
    }
    pthread_mutex_unlock(&p->lock);
}

/* Watches the caller's ctx. If that fails the call fails, unless the
 * caller's outcome was decided meanwhile (its callback is then coming). */
static int watch_ctx(sf_async *a)
{
    int rc = goio_ctx_on_cancel(a->caller.ctx, goio__sharedflight_cancelled,
                                &a->caller, &a->watch);
    if (!rc || !goio__sharedflight_give_up(&a->caller, rc, false))
        return 0;
    record_drop(a); /* the callback's hold: it will not come */
    return rc;
}

static sf_async *record_new(sf_pool *p, goio_ctx *ctx, goio_sharedflight_cb cb,
                            void *data)
{
    sf_async *a = goio_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->caller.ctx = goio_ctx_ref(ctx);
    a->caller.deadline = goio_ctx_deadline(ctx);
    a->caller.async = a;
    atomic_init(&a->caller.outcome, SF_PENDING);
    a->pool = p;
    a->heap_at = SIZE_MAX;
    a->timer_at = a->caller.deadline;
    atomic_init(&a->holds, 2); /* this call's and the callback's */
    a->cb = cb;
    a->data = data;
    return a;
}

/* Runs a flight this call started, or fails it if no worker can run it:
 * the callers (this one included) then get the error in their callback. */
static void start_flight(sf_pool *p, sf_flight *f)
{
    int rc = enqueue_flight(p, f);
    if (rc) {
        goio__sharedflight_publish(f, rc, NULL, NULL);
        goio__sharedflight_flight_unref(f);
    }
}

int goio_sharedflight_do_async(goio_sharedflight *g, goio_ctx *ctx,
                               const char *key, goio_sharedflight_fn fn,
                               void *fn_data,
                               goio_sharedflight_destroy_fn destroy,
                               goio_sharedflight_cb cb, void *data)
{
    if (!g || !key || !*key || !fn || !cb)
        return GOIO_EINVAL;
    int rc = goio_ctx_err(ctx);
    sf_pool *p;
    if (rc || (rc = pool_get(g, &p)))
        return rc;
    sf_async *a = record_new(p, ctx, cb, data);
    if (!a)
        return GOIO_ENOMEM;
    if ((rc = record_open(p, a))) {
        goio_ctx_unref(a->caller.ctx);
        goio_free(a);
        return rc;
    }
    bool started;
    rc = goio__sharedflight_join(g, key, strlen(key), &a->caller, fn, fn_data,
                                 destroy, true, &started);
    if (rc) {
        record_drop(a); /* neither the callback nor this call need it */
        record_drop(a);
        return rc;
    }
    if (started)
        start_flight(p, a->caller.flight);
    if (ctx && (rc = watch_ctx(a))) {
        record_drop(a);
        return rc;
    }
    if (a->timer_at != GOIO_NO_DEADLINE)
        timer_arm(p, a);
    record_drop(a);
    return 0;
}
