/* SPDX-License-Identifier: MIT */
/*
 * The connection pool of one server.
 *
 * n_open counts every connection that exists or is being opened (idle,
 * borrowed, connecting), so max_active is never exceeded even while
 * connects run outside the lock. Idle connections form a stack: the
 * newest is reused first (it is the least likely to have been dropped),
 * the oldest are pruned after idle_timeout_ms. Sockets are opened and
 * closed outside the lock. A caller that finds the pool full waits on the
 * condition variable until a put, its wait timeout or its ctx ends it; ctx
 * cancellation wakes it through a goio_ctx_on_cancel callback.
 */
#include "redis_internal.h"

#include <string.h>
#include <time.h>

int goio__redis_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr))
        return GOIO_ENOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int err = pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
    return err ? GOIO_ENOMEM : 0;
}

void goio__redis_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
                           int64_t deadline_ms)
{
    if (deadline_ms == GOIO_NO_DEADLINE) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts = {(time_t)(deadline_ms / 1000),
                          (long)(deadline_ms % 1000) * 1000000L};
    pthread_cond_timedwait(cv, mu, &ts);
}

int goio__redis_pool_init(goio__redis_pool *p, const goio__redis_opts *o,
                          const goio__redis_addr *a, goio__redis_counters *c)
{
    memset(p, 0, sizeof *p);
    p->opts = o;
    p->addr = a;
    p->ctr = c;
    if (o->max_idle > 0) {
        p->idle = goio_calloc((size_t)o->max_idle, sizeof *p->idle);
        if (!p->idle)
            return GOIO_ENOMEM;
    }
    if (goio__redis_cond_init(&p->cv)) {
        goio_free(p->idle);
        return GOIO_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    return 0;
}

void goio__redis_pool_destroy(goio__redis_pool *p)
{
    for (int i = 0; i < p->n_idle; i++)
        goio__redis_conn_close(p->idle[i]);
    goio_free(p->idle);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
}

void goio__redis_pool_counts(goio__redis_pool *p, int *open, int *idle)
{
    pthread_mutex_lock(&p->mu);
    *open = p->n_open;
    *idle = p->n_idle;
    pthread_mutex_unlock(&p->mu);
}

static void close_list(goio__redis_conn *list)
{
    while (list) {
        goio__redis_conn *next = list->next;
        goio__redis_conn_close(list);
        list = next;
    }
}

/* Under the lock: unlinks idle connections past idle_timeout_ms (oldest
 * first) onto *dead, to be closed once the lock is released. */
static void prune_locked(goio__redis_pool *p, int64_t now,
                         goio__redis_conn **dead)
{
    int64_t limit = p->opts->idle_timeout_ms;
    if (limit <= 0)
        return;
    int n = 0;
    while (n < p->n_idle && now - p->idle[n]->idle_since_ms > limit) {
        p->idle[n]->next = *dead;
        *dead = p->idle[n];
        n++;
    }
    if (!n)
        return;
    memmove(p->idle, p->idle + n, (size_t)(p->n_idle - n) * sizeof *p->idle);
    p->n_idle -= n;
    p->n_open -= n;
    atomic_fetch_add_explicit(&p->ctr->closed_idle, (uint64_t)n,
                              memory_order_relaxed);
}

/* A slot was freed (a connection closed or a connect failed). */
static void release_slot(goio__redis_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->n_open--;
    if (p->waiters)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void discard(goio__redis_pool *p, goio__redis_conn *c)
{
    GOIO__REDIS_COUNT(p->ctr, closed_broken);
    goio__redis_conn_close(c);
    release_slot(p);
}

static bool ping_ok(goio__redis_pool *p, goio__redis_conn *c, goio_ctx *ctx)
{
    GOIO__REDIS_COUNT(p->ctr, pings);
    int64_t t0 = goio__redis_track_start(p->opts);
    if (goio__redis_conn_prepare(p->opts, c, ctx))
        return false;
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *reply = goio__redis_conn_command_argv(c, 1, argv, lens);
    goio__redis_track(p->opts, "redis_command_ping", t0);
    bool ok = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply)
        freeReplyObject(reply);
    return ok;
}

/* Checks a connection taken from the idle stack (outside the lock). */
static bool usable(goio__redis_pool *p, goio__redis_conn *c, int64_t now,
                   goio_ctx *ctx)
{
    /* The liveness peek costs a syscall: skip it for a connection put back
     * within the same millisecond (a busy caller's), which a restarted
     * server cannot have dropped unnoticed; the retry of safe commands
     * covers that window. */
    if (c->rc->err || (now != c->idle_since_ms && !goio__redis_conn_alive(c)))
        return false;
    int64_t t = p->opts->test_on_borrow_ms;
    if (t >= 0 && now - c->idle_since_ms > t)
        return ping_ok(p, c, ctx); /* bounded by ctx like any command */
    return true;
}

static int open_new(goio__redis_pool *p, goio_ctx *ctx, goio__redis_conn **out)
{
    int rc = goio__redis_connect(p->opts, p->addr, ctx, out);
    if (rc) {
        GOIO__REDIS_COUNT(p->ctr, connect_errors);
        release_slot(p);
        return rc;
    }
    GOIO__REDIS_COUNT(p->ctr, connects);
    (*out)->reused = false;
    return 0;
}

static void wake_waiters(void *arg)
{
    goio__redis_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* The instant a full pool stops being waited for, or 0 for "do not
 * wait". */
static int64_t wait_deadline(const goio__redis_pool *p, goio_ctx *ctx,
                             int64_t now)
{
    int64_t w = p->opts->wait_timeout_ms;
    if (w == 0)
        return 0;
    int64_t d = w > 0 ? goio_time_add_ms(now, w) : GOIO_NO_DEADLINE;
    int64_t cd = goio_ctx_deadline(ctx);
    return cd < d ? cd : d;
}

/*
 * Reconnect backoff. A failed connect marks the server down for a
 * jittered interval that doubles with each further failure; callers that
 * would open a connection meanwhile fail at once with the last connect
 * error instead of each paying a connect (a connect timeout against a
 * dead host). Past the interval one caller probes; the others keep
 * failing fast until it succeeds or sets a new interval. Idle connections
 * are still used while down (they are checked before use).
 */

/* Under the lock: 0 to go ahead and connect (*probe set when the server
 * is down and this caller is its probe), or the error to fail with. */
static int down_gate_locked(goio__redis_pool *p, int64_t now, bool *probe)
{
    *probe = false;
    if (!p->down_err)
        return 0;
    if (now < p->down_until_ms || p->probing)
        return p->down_err;
    p->probing = true;
    *probe = true;
    return 0;
}

/* The next down interval: base/2 plus up to base/2 of jitter, so callers
 * of many processes do not reconnect in lockstep. */
static int64_t down_interval(int64_t base)
{
    int64_t half = base / 2;
    return half + (int64_t)(goio_random_u64() % (uint64_t)(half + 1));
}

/* After open_new: clears the down state on success, (re)arms it after a
 * connect failure. A failure the ctx caused (deadline, cancel) or an
 * allocation failure says nothing about the server. */
static void down_record(goio__redis_pool *p, goio_ctx *ctx, bool probe, int rc)
{
    bool server_fault = rc && rc != GOIO_ENOMEM && rc != GOIO_ECANCELED &&
                        goio_ctx_err(ctx) == 0;
    if (!probe && !server_fault && !p->down_err)
        return; /* the common path: up, and still up; no lock */
    int64_t now = goio_now_mono_ms();
    bool went_down = false, came_up = false;
    int64_t interval = 0;
    pthread_mutex_lock(&p->mu);
    if (probe)
        p->probing = false;
    if (!rc) {
        came_up = p->down_err != 0;
        p->down_err = 0;
        p->down_backoff_ms = 0;
    } else if (server_fault) {
        went_down = p->down_err == 0;
        int64_t b = p->down_backoff_ms;
        b = b <= 0 ? GOIO__REDIS_DOWN_MIN_MS : b * 2;
        if (b > GOIO__REDIS_DOWN_MAX_MS)
            b = GOIO__REDIS_DOWN_MAX_MS;
        p->down_backoff_ms = b;
        p->down_err = rc;
        interval = down_interval(b);
        p->down_until_ms = goio_time_add_ms(now, interval);
    }
    pthread_mutex_unlock(&p->mu);
    if (went_down)
        goio_log(GOIO_LOG_WARN, "redis", "redis_node_down", p->addr->name, rc,
                 "%s marked down: no new connection for %lld ms, calls "
                 "fail at once meanwhile",
                 p->addr->name, (long long)interval);
    else if (came_up)
        goio_log(GOIO_LOG_INFO, "redis", "redis_node_up", p->addr->name, 0,
                 "%s reachable again", p->addr->name);
}

typedef struct borrow {
    goio__redis_pool *p;
    goio_ctx *ctx;
    goio_ctx_watch *watch;
    bool watching, waited;
    bool probe;       /* this borrow is the one reconnect probe */
    int64_t deadline; /* -1 until the first wait */
} borrow;

/*
 * Under the lock, when the pool is full: waits once. Returns 0 to look
 * again, or the error that ends the borrow (the lock is held either way).
 */
static int wait_once(borrow *b)
{
    goio__redis_pool *p = b->p;
    int rc = goio_ctx_err(b->ctx);
    if (rc)
        return rc;
    int64_t now = goio_now_mono_ms();
    if (b->deadline < 0)
        b->deadline = wait_deadline(p, b->ctx, now);
    if (b->deadline == 0)
        return GOIO_EBUSY;
    if (now >= b->deadline) {
        GOIO__REDIS_COUNT(p->ctr, wait_timeouts);
        return GOIO_ETIMEDOUT;
    }
    if (b->ctx && !b->watching) {
        /* Registered outside the lock: the callback takes it, and runs at
         * once when ctx is already cancelled. */
        b->watching = true;
        pthread_mutex_unlock(&p->mu);
        rc = goio_ctx_on_cancel(b->ctx, wake_waiters, p, &b->watch);
        pthread_mutex_lock(&p->mu);
        return rc;
    }
    if (!b->waited) {
        b->waited = true;
        GOIO__REDIS_COUNT(p->ctr, waits);
    }
    p->waiters++;
    goio__redis_cond_wait(&p->cv, &p->mu, b->deadline);
    p->waiters--;
    return 0;
}

/*
 * Under the lock: takes an idle connection (*out), reserves a slot for a
 * new one (*out NULL, returns 0), or fails. Unlocks before returning.
 */
static int reserve(borrow *b, goio__redis_conn **out, int64_t *now)
{
    goio__redis_pool *p = b->p;
    goio__redis_conn *dead = NULL;
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        *now = goio_now_mono_ms();
        prune_locked(p, *now, &dead);
        if (p->n_idle > 0) {
            *out = p->idle[--p->n_idle];
            break;
        }
        if (p->opts->max_active <= 0 || p->n_open < p->opts->max_active) {
            rc = down_gate_locked(p, *now, &b->probe);
            if (!rc)
                p->n_open++;
            break;
        }
        rc = wait_once(b);
        if (rc)
            break;
    }
    pthread_mutex_unlock(&p->mu);
    close_list(dead);
    return rc;
}

int goio__redis_pool_get(goio__redis_pool *p, goio_ctx *ctx,
                         goio__redis_conn **out)
{
    borrow b = {.p = p, .ctx = ctx, .deadline = -1};
    int rc;
    for (;;) {
        goio__redis_conn *c;
        int64_t now;
        rc = reserve(&b, &c, &now);
        if (rc)
            break;
        if (!c) {
            rc = open_new(p, ctx, out);
            down_record(p, ctx, b.probe, rc);
            break;
        }
        if (usable(p, c, now, ctx)) {
            c->reused = true;
            *out = c;
            break;
        }
        discard(p, c);
    }
    if (b.watching)
        goio_ctx_watch_remove(ctx, b.watch);
    return rc;
}

void goio__redis_pool_put(goio__redis_pool *p, goio__redis_conn *c, bool broken)
{
    if (broken || c->rc->err) {
        discard(p, c);
        return;
    }
    c->idle_since_ms = goio_now_mono_ms();
    pthread_mutex_lock(&p->mu);
    bool keep = p->n_idle < p->opts->max_idle;
    if (keep)
        p->idle[p->n_idle++] = c;
    else
        p->n_open--;
    if (p->waiters)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (!keep) {
        GOIO__REDIS_COUNT(p->ctr, closed_excess);
        goio__redis_conn_close(c);
    }
}

int goio__redis_pool_open(goio__redis_pool *p, goio_ctx *ctx,
                          goio__redis_conn **out)
{
    *out = NULL;
    bool probe;
    pthread_mutex_lock(&p->mu);
    int rc = down_gate_locked(p, goio_now_mono_ms(), &probe);
    pthread_mutex_unlock(&p->mu);
    if (rc)
        return rc;
    rc = goio__redis_connect(p->opts, p->addr, ctx, out);
    if (rc)
        GOIO__REDIS_COUNT(p->ctr, connect_errors);
    else
        GOIO__REDIS_COUNT(p->ctr, connects);
    down_record(p, ctx, probe, rc);
    return rc;
}
