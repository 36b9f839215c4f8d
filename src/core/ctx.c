/* SPDX-License-Identifier: MIT */
/*
 * Cancellation contexts.
 *
 * Cancellation is pushed down the tree eagerly: a cancelled ctx sets its
 * reason, wakes its waiters, signals its eventfd, runs its watches and
 * cancels its children. Deadlines are pulled lazily: whoever asks
 * (goio_ctx_err, a waiter computing its wake-up time, the timerfd behind the
 * pollable fd) compares the clock with the deadlines up the chain, so no
 * timer thread is needed.
 *
 * Locking: each ctx has its own mutex. Where two are held, the parent's is
 * taken first. Watches and child cancellation run with no lock held.
 */
#include "core_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct goio_ctx_watch {
    goio_ctx_watch *prev, *next;
    void (*fn)(void *arg);
    void *arg;
    bool linked;     /* still waiting in ctx->watches */
    bool user_owned; /* the caller will free it with goio_ctx_watch_remove */
};

struct goio_ctx {
    atomic_int refs;
    atomic_int err;           /* 0, GOIO_ECANCELED or GOIO_ETIMEDOUT */
    _Atomic int64_t deadline; /* own deadline, monotonic ms */
    goio_ctx *parent;         /* referenced */
    goio_ctx *sib_prev, *sib_next;
    goio_ctx *children;    /* weak: a child unlinks itself on destroy */
    goio_ctx *cancel_next; /* the parent's to-cancel list, used once */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    goio_ctx_watch *watches;
    goio_ctx_watch *firing; /* the watch whose fn is running */
    int waiters;            /* threads blocked in goio_ctx_wait */
    int epfd, evfd, tfd;    /* the pollable fd, made on demand */
};

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Makes the pollable fd readable (an eventfd write only fails on counter
 * overflow, which one write per ctx never reaches). */
static void signal_evfd(goio_ctx *ctx)
{
    uint64_t one = 1;
    ssize_t n = write(ctx->evfd, &one, sizeof one);
    (void)n;
}

static int ctx_init(goio_ctx *ctx)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr))
        return GOIO_ENOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&ctx->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc)
        return GOIO_ENOMEM;
    if (pthread_mutex_init(&ctx->lock, NULL)) {
        pthread_cond_destroy(&ctx->cond);
        return GOIO_ENOMEM;
    }
    atomic_init(&ctx->refs, 1);
    atomic_init(&ctx->err, 0);
    ctx->epfd = ctx->evfd = ctx->tfd = -1;
    return 0;
}

/* Cancels ctx with `reason` (already decided) unless it is done already. */
static void cancel_with(goio_ctx *ctx, int reason);

static void attach_to_parent(goio_ctx *ctx, goio_ctx *parent)
{
    ctx->parent = goio_ctx_ref(parent);
    pthread_mutex_lock(&parent->lock);
    ctx->sib_next = parent->children;
    if (parent->children)
        parent->children->sib_prev = ctx;
    parent->children = ctx;
    int parent_err = atomic_load(&parent->err);
    pthread_mutex_unlock(&parent->lock);
    if (parent_err)
        cancel_with(ctx, parent_err);
}

static int ctx_create(goio_ctx *parent, int64_t deadline, goio_ctx **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    goio_ctx *ctx = goio_calloc(1, sizeof *ctx);
    if (!ctx)
        return GOIO_ENOMEM;
    int rc = ctx_init(ctx);
    if (rc) {
        goio_free(ctx);
        return rc;
    }
    atomic_init(&ctx->deadline, deadline);
    if (parent)
        attach_to_parent(ctx, parent);
    *out = ctx;
    return 0;
}

int goio_ctx_new(goio_ctx *parent, goio_ctx **out)
{
    return ctx_create(parent, GOIO_NO_DEADLINE, out);
}

int goio_ctx_new_with_deadline(goio_ctx *parent, int64_t deadline_ms,
                               goio_ctx **out)
{
    return ctx_create(parent, deadline_ms, out);
}

int goio_ctx_new_with_timeout(goio_ctx *parent, int64_t timeout_ms,
                              goio_ctx **out)
{
    if (timeout_ms < 0) {
        if (out)
            *out = NULL;
        return GOIO_EINVAL;
    }
    return ctx_create(parent, goio_time_add_ms(goio_now_mono_ms(), timeout_ms),
                      out);
}

goio_ctx *goio_ctx_ref(goio_ctx *ctx)
{
    if (ctx)
        atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

/* A reference unless ctx is already on its way to destruction. */
static bool try_ref(goio_ctx *ctx)
{
    int refs = atomic_load(&ctx->refs);
    while (refs > 0)
        if (atomic_compare_exchange_weak(&ctx->refs, &refs, refs + 1))
            return true;
    return false;
}

static void detach_from_parent(goio_ctx *ctx)
{
    goio_ctx *parent = ctx->parent;
    pthread_mutex_lock(&parent->lock);
    if (ctx->sib_prev)
        ctx->sib_prev->sib_next = ctx->sib_next;
    else
        parent->children = ctx->sib_next;
    if (ctx->sib_next)
        ctx->sib_next->sib_prev = ctx->sib_prev;
    pthread_mutex_unlock(&parent->lock);
}

static void ctx_destroy(goio_ctx *ctx)
{
    goio_ctx *parent = ctx->parent;
    if (parent)
        detach_from_parent(ctx);
    /* Watches nobody will remove any more (their owners broke the rule of
     * removing before the last unref, or asked for no handle). */
    for (goio_ctx_watch *w = ctx->watches, *next; w; w = next) {
        next = w->next;
        goio_free(w);
    }
    if (ctx->epfd >= 0)
        close(ctx->epfd);
    if (ctx->evfd >= 0)
        close(ctx->evfd);
    if (ctx->tfd >= 0)
        close(ctx->tfd);
    pthread_cond_destroy(&ctx->cond);
    pthread_mutex_destroy(&ctx->lock);
    goio_free(ctx);
    goio_ctx_unref(parent);
}

void goio_ctx_unref(goio_ctx *ctx)
{
    if (ctx && atomic_fetch_sub(&ctx->refs, 1) == 1)
        ctx_destroy(ctx);
}

static bool own_deadline_passed(const goio_ctx *ctx)
{
    int64_t deadline = atomic_load(&((goio_ctx *)ctx)->deadline);
    return deadline != GOIO_NO_DEADLINE && goio_now_mono_ms() >= deadline;
}

/* Runs (and unlinks) every watch; called with ctx->lock held, returns with
 * it held, but drops it around each callback. */
static void fire_watches(goio_ctx *ctx)
{
    goio_ctx_watch *w;
    while ((w = ctx->watches)) {
        ctx->watches = w->next;
        if (w->next)
            w->next->prev = NULL;
        w->linked = false;
        ctx->firing = w;
        pthread_mutex_unlock(&ctx->lock);
        w->fn(w->arg);
        pthread_mutex_lock(&ctx->lock);
        ctx->firing = NULL;
        if (!w->user_owned)
            goio_free(w);
        pthread_cond_broadcast(&ctx->cond);
    }
}

/* Collects the live children, each with a reference, through cancel_next. */
static goio_ctx *collect_children(goio_ctx *ctx)
{
    goio_ctx *list = NULL;
    for (goio_ctx *c = ctx->children; c; c = c->sib_next) {
        if (try_ref(c)) {
            c->cancel_next = list;
            list = c;
        }
    }
    return list;
}

static void cancel_with(goio_ctx *ctx, int reason)
{
    pthread_mutex_lock(&ctx->lock);
    int expected = 0;
    if (!atomic_compare_exchange_strong(&ctx->err, &expected, reason)) {
        pthread_mutex_unlock(&ctx->lock);
        return;
    }
    pthread_cond_broadcast(&ctx->cond);
    if (ctx->evfd >= 0)
        signal_evfd(ctx);
    fire_watches(ctx);
    goio_ctx *children = collect_children(ctx);
    pthread_mutex_unlock(&ctx->lock);

    while (children) {
        goio_ctx *next = children->cancel_next;
        cancel_with(children, reason);
        goio_ctx_unref(children);
        children = next;
    }
}

void goio_ctx_cancel(goio_ctx *ctx)
{
    if (!ctx)
        return;
    /* A deadline that passed before the cancel is the real reason. */
    cancel_with(ctx,
                own_deadline_passed(ctx) ? GOIO_ETIMEDOUT : GOIO_ECANCELED);
}

int goio_ctx_err(const goio_ctx *ctx)
{
    for (; ctx; ctx = ctx->parent) {
        int err = atomic_load(&((goio_ctx *)ctx)->err);
        if (err)
            return err;
        if (own_deadline_passed(ctx))
            return GOIO_ETIMEDOUT;
    }
    return 0;
}

int64_t goio_ctx_deadline(const goio_ctx *ctx)
{
    int64_t deadline = GOIO_NO_DEADLINE;
    for (; ctx; ctx = ctx->parent)
        deadline = min64(deadline, atomic_load(&((goio_ctx *)ctx)->deadline));
    return deadline;
}

int64_t goio_ctx_remaining_ms(const goio_ctx *ctx)
{
    int64_t deadline = goio_ctx_deadline(ctx);
    if (deadline == GOIO_NO_DEADLINE)
        return -1;
    int64_t left = deadline - goio_now_mono_ms();
    return left > 0 ? left : 0;
}

static void arm_timer(goio_ctx *ctx)
{
    int64_t deadline = atomic_load(&ctx->deadline);
    struct itimerspec its = {0};
    if (deadline <= 0) {
        /* Long past: fire at once. {0,0} would disarm, and a negative
         * time is refused. */
        its.it_value.tv_nsec = 1;
    } else if (deadline != GOIO_NO_DEADLINE) {
        its.it_value.tv_sec = deadline / 1000;
        its.it_value.tv_nsec = (deadline % 1000) * 1000000;
    }
    timerfd_settime(ctx->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Wakes every waiter in the subtree: their wake-up times depend on the
 * deadlines above them. Parent locks are taken before children's. */
static void notify_subtree(goio_ctx *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    pthread_cond_broadcast(&ctx->cond);
    for (goio_ctx *c = ctx->children; c; c = c->sib_next)
        notify_subtree(c);
    pthread_mutex_unlock(&ctx->lock);
}

int goio_ctx_set_deadline(goio_ctx *ctx, int64_t deadline_ms)
{
    if (!ctx)
        return GOIO_EINVAL;
    pthread_mutex_lock(&ctx->lock);
    atomic_store(&ctx->deadline, deadline_ms);
    if (ctx->tfd >= 0)
        arm_timer(ctx);
    pthread_mutex_unlock(&ctx->lock);
    notify_subtree(ctx);
    return 0;
}

int goio_ctx_wait(goio_ctx *ctx, int64_t timeout_ms)
{
    if (!ctx)
        return GOIO_EINVAL;
    int64_t end = GOIO_NO_DEADLINE;
    if (timeout_ms >= 0)
        end = goio_time_add_ms(goio_now_mono_ms(), timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&ctx->lock);
    ctx->waiters++;
    while (!goio_ctx_err(ctx)) {
        int64_t wake = min64(end, goio_ctx_deadline(ctx));
        if (wake == GOIO_NO_DEADLINE) {
            pthread_cond_wait(&ctx->cond, &ctx->lock);
            continue;
        }
        if (goio_now_mono_ms() >= end) {
            rc = GOIO_EAGAIN;
            break;
        }
        struct timespec ts = {wake / 1000, (wake % 1000) * 1000000};
        pthread_cond_timedwait(&ctx->cond, &ctx->lock, &ts);
    }
    ctx->waiters--;
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int goio__core_ctx_waiters(goio_ctx *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    int n = ctx->waiters;
    pthread_mutex_unlock(&ctx->lock);
    return n;
}

static int epoll_add(int epfd, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The fd is an epoll set of an eventfd (cancel), a timerfd (own deadline)
 * and the parent's fd, so it polls readable when any of them does. */
static int make_fd(goio_ctx *ctx, int parent_fd)
{
    int rc = 0;
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    ctx->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ctx->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (ctx->epfd < 0 || ctx->evfd < 0 || ctx->tfd < 0)
        rc = -errno;
    if (!rc)
        rc = epoll_add(ctx->epfd, ctx->evfd);
    if (!rc)
        rc = epoll_add(ctx->epfd, ctx->tfd);
    if (!rc && parent_fd >= 0)
        rc = epoll_add(ctx->epfd, parent_fd);
    if (rc) {
        int fds[] = {ctx->epfd, ctx->evfd, ctx->tfd};
        for (int i = 0; i < 3; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        ctx->epfd = ctx->evfd = ctx->tfd = -1;
        return rc;
    }
    arm_timer(ctx);
    if (atomic_load(&ctx->err))
        signal_evfd(ctx);
    return 0;
}

int goio_ctx_fd(goio_ctx *ctx, int *fd)
{
    if (!ctx || !fd)
        return GOIO_EINVAL;
    /* The parent's fd first, outside our lock: locks go parent to child. */
    int parent_fd = -1, rc = 0;
    if (ctx->parent && (rc = goio_ctx_fd(ctx->parent, &parent_fd)))
        return rc;
    pthread_mutex_lock(&ctx->lock);
    if (ctx->epfd < 0)
        rc = make_fd(ctx, parent_fd);
    *fd = ctx->epfd;
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int goio_ctx_on_cancel(goio_ctx *ctx, goio_ctx_cancel_fn fn, void *data,
                       goio_ctx_watch **watch)
{
    if (watch)
        *watch = NULL;
    if (!ctx || !fn)
        return GOIO_EINVAL;
    goio_ctx_watch *w = goio_calloc(1, sizeof *w);
    if (!w)
        return GOIO_ENOMEM;
    w->fn = fn;
    w->arg = data;
    w->user_owned = watch != NULL;
    pthread_mutex_lock(&ctx->lock);
    bool cancelled = atomic_load(&ctx->err) != 0;
    if (!cancelled) {
        w->linked = true;
        w->next = ctx->watches;
        if (w->next)
            w->next->prev = w;
        ctx->watches = w;
        /* Published under the lock: the watch may fire on another thread
         * as soon as we unlock, and its fn may read *watch. */
        if (watch)
            *watch = w;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (cancelled) {
        goio_free(w);
        fn(data);
    }
    return 0;
}

void goio_ctx_watch_remove(goio_ctx *ctx, goio_ctx_watch *w)
{
    if (!ctx || !w)
        return;
    pthread_mutex_lock(&ctx->lock);
    while (ctx->firing == w)
        pthread_cond_wait(&ctx->cond, &ctx->lock);
    if (w->linked) {
        if (w->prev)
            w->prev->next = w->next;
        else
            ctx->watches = w->next;
        if (w->next)
            w->next->prev = w->prev;
    }
    pthread_mutex_unlock(&ctx->lock);
    goio_free(w);
}
