/* SPDX-License-Identifier: MIT */
/*
 * The async calls (goio_redis_get_async, ...): one thread per handle,
 * started by the first async call, runs every async command and calls
 * every callback.
 *
 * A call formats its command in RESP into a heap record and hands it to
 * the thread (a list and an eventfd). The thread routes it (cluster slot
 * map), queues it on one of the node's multiplexed connections (mux.c) and
 * takes the I/O of every connection that has async commands and no
 * leader, polling all of them at once. A blocking caller leading a
 * connection hands the async replies it reads to the thread, and a
 * blocking caller waiting while the thread leads gets its reply from it.
 * The thread then follows MOVED / ASK / TRYAGAIN, applies the retry rules
 * of the blocking calls, parses the reply and calls the callback. It also
 * watches every pending command's ctx: a command whose ctx ended leaves
 * its FIFO place (its late reply is dropped) and gets its callback with
 * the ctx's error. goio_redis_free stops the thread; what is pending then
 * gets GOIO_ECLOSED.
 */
#include "redis_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The longest the thread sleeps while a pending command has a ctx (a
 * cancel is seen within it). */
#define CANCEL_SLICE_MS 50

enum kind { K_GET, K_SET, K_SET_DEL, K_DEL, K_EXISTS, K_INCR };
enum state { S_NEW, S_MUX, S_RETRY };
typedef void (*anyfn)(void);

struct goio__redis_areq {
    goio__redis_req q; /* first: mux.c hands &q back */
    goio__redis_areq *next;
    goio__redis_areq *lprev, *lnext; /* the thread's list of live ones */
    enum kind kind;
    enum state state;
    goio_ctx *ctx; /* a reference, or NULL */
    anyfn cb;      /* the typed callback */
    void *data;
    goio_buf resp;   /* the command in RESP */
    char *key;       /* the user's key, for log records */
    const char *kpi; /* "redis_command_get" */
    const char *name;
    unsigned slot;
    bool idempotent;
    goio__redis_node *node; /* NULL: route first */
    bool asking;
    int tries;
    int64_t retry_at_ms;
    int64_t t0_ns;
};

/* The thread's own state (only it touches these). */
typedef struct driver {
    goio__redis_async *as;
    goio_redis *r;
    goio__redis_areq *live; /* every accepted command not called back */
    struct {
        goio__redis_mux *x;
        goio__redis_mconn *m;
    } * known;
    size_t n_known, cap_known;
} driver;

/* ---- records ------------------------------------------------------------- */

static void areq_free(goio__redis_areq *a)
{
    goio_ctx_unref(a->ctx);
    goio_buf_deinit(&a->resp);
    goio_free(a->key);
    goio_free(a);
}

static void live_add(driver *d, goio__redis_areq *a)
{
    a->lprev = NULL;
    a->lnext = d->live;
    if (d->live)
        d->live->lprev = a;
    d->live = a;
}

static void live_del(driver *d, goio__redis_areq *a)
{
    if (a->lprev)
        a->lprev->lnext = a->lnext;
    else
        d->live = a->lnext;
    if (a->lnext)
        a->lnext->lprev = a->lprev;
}

/* ---- calling back -------------------------------------------------------- */

/* Calls a's callback with rc or the result in reply (freed), then frees
 * a. On the async thread, or in dispatch mode on goio_redis_async_dispatch's
 * caller. */
static void invoke(goio_redis *r, goio__redis_areq *a, int rc,
                   redisReply *reply)
{
    if (a->t0_ns && r->opts.tracker)
        r->opts.tracker(a->kpi, a->t0_ns, goio_now_mono_ns(),
                        r->opts.tracker_data);
    const void *str = NULL;
    size_t len = 0;
    bool hit = false;
    long long n = 0;
    if (!rc) {
        int want = a->kind == K_GET   ? REDIS_REPLY_STRING
                   : a->kind == K_SET ? REDIS_REPLY_STATUS
                                      : REDIS_REPLY_INTEGER;
        if (reply->type == want) {
            str = reply->str;
            len = reply->len;
            hit = a->kind == K_GET;
            n = reply->integer;
        } else if (a->kind != K_GET || reply->type != REDIS_REPLY_NIL) {
            goio_log(GOIO_LOG_WARN, "redis", "redis_bad_reply", a->key,
                     GOIO_EPROTO, "unexpected reply type %d to %s", reply->type,
                     a->name);
            rc = GOIO_EPROTO;
        }
    }
    goio__redis_counters *ctr = &r->ctr;
    switch (a->kind) {
    case K_GET:
        if (!rc && hit)
            GOIO__REDIS_COUNT(ctr, hits);
        else if (!rc)
            GOIO__REDIS_COUNT(ctr, misses);
        ((goio_redis_get_cb)a->cb)(rc, rc ? NULL : str, rc ? 0 : len,
                                   !rc && hit, a->data);
        break;
    case K_SET:
        if (!rc)
            GOIO__REDIS_COUNT(ctr, sets);
        ((goio_redis_set_cb)a->cb)(rc, a->data);
        break;
    case K_SET_DEL:
        ((goio_redis_set_cb)a->cb)(rc, a->data);
        break;
    case K_DEL:
        if (!rc)
            GOIO__REDIS_COUNT(ctr, deletes);
        ((goio_redis_del_cb)a->cb)(rc, !rc && n > 0, a->data);
        break;
    case K_EXISTS:
        ((goio_redis_exists_cb)a->cb)(rc, !rc && n > 0, a->data);
        break;
    case K_INCR:
        ((goio_redis_incr_cb)a->cb)(rc, rc ? 0 : (int64_t)n, a->data);
        break;
    }
    if (reply)
        freeReplyObject(reply);
    areq_free(a);
}

/* Appends a to the list head..tail (as->mu held). */
static void list_append(goio__redis_areq **head, goio__redis_areq **tail,
                        goio__redis_areq *a)
{
    a->next = NULL;
    if (*tail)
        (*tail)->next = a;
    else
        *head = a;
    *tail = a;
}

/* a is answered: its callback runs now, or is queued for
 * goio_redis_async_dispatch (dispatch mode). */
static void call_back(driver *d, goio__redis_areq *a, int rc, redisReply *reply)
{
    live_del(d, a);
    goio__redis_async *as = d->as;
    if (as->ready_efd < 0) {
        invoke(d->r, a, rc, reply);
        return;
    }
    a->q.err = rc;
    a->q.reply = reply;
    pthread_mutex_lock(&as->mu);
    if (!as->ready_head) {
        uint64_t one = 1; /* readable while the list is not empty */
        ssize_t w = write(as->ready_efd, &one, sizeof one);
        (void)w;
    }
    list_append(&as->ready_head, &as->ready_tail, a);
    pthread_mutex_unlock(&as->mu);
}

/* Takes the queued callbacks (dispatch mode), the fd reset. */
static goio__redis_areq *take_ready(goio__redis_async *as)
{
    pthread_mutex_lock(&as->mu);
    goio__redis_areq *list = as->ready_head;
    as->ready_head = as->ready_tail = NULL;
    if (list) {
        uint64_t v;
        ssize_t rd = read(as->ready_efd, &v, sizeof v);
        (void)rd;
    }
    pthread_mutex_unlock(&as->mu);
    return list;
}

static size_t run_ready(goio_redis *r, goio__redis_areq *list)
{
    size_t n = 0;
    for (goio__redis_areq *a = list, *next; a; a = next) {
        next = a->next;
        invoke(r, a, a->q.err, a->q.reply);
        n++;
    }
    return n;
}

/* ---- routing and queueing ------------------------------------------------ */

/* Adds x's connections to those the thread drives (once). */
static int know(driver *d, goio__redis_mux *x)
{
    if (x->conns[0].drv_known)
        return 0;
    if (d->n_known + (size_t)x->n_all > d->cap_known) {
        size_t cap = (d->n_known + (size_t)x->n_all) * 2;
        void *k = goio_reallocarray(d->known, cap, sizeof *d->known);
        if (!k)
            return GOIO_ENOMEM;
        d->known = k;
        d->cap_known = cap;
    }
    for (int i = 0; i < x->n_all; i++) {
        d->known[d->n_known].x = x;
        d->known[d->n_known].m = &x->conns[i];
        d->n_known++;
    }
    x->conns[0].drv_known = true;
    return 0;
}

/* Routes a and queues it on a connection, or calls back with the error. */
static void start(driver *d, goio__redis_areq *a)
{
    int rc = goio_ctx_err(a->ctx);
    /* The slot map is loaded here when it never was (a blocking reload,
     * bounded by the command's ctx and the timeouts). */
    if (!rc && !a->node)
        rc = goio__redis_route(d->r, a->ctx, a->slot, &a->node);
    goio__redis_mconn *m = NULL;
    if (!rc)
        rc = know(d, &a->node->mux);
    if (!rc)
        rc = goio__redis_mux_submit(&a->node->mux, &a->q, &a->resp, a->asking,
                                    &m);
    if (rc) {
        call_back(d, a, rc, NULL);
        return;
    }
    a->state = S_MUX;
}

static void retry_later(goio__redis_areq *a, const goio__redis_opts *o)
{
    int64_t ms = o->cluster_retry_backoff_ms;
    for (int i = 0; i < a->tries - 1 && ms < 1000; i++)
        ms *= 2;
    a->tries++;
    a->node = NULL;
    a->asking = false;
    a->state = S_RETRY;
    a->retry_at_ms = goio_time_add_ms(goio_now_mono_ms(), ms > 0 ? ms : 0);
}

/* A failed round trip: retried as the blocking calls are, or called back. */
static void failed(driver *d, goio__redis_areq *a, int rc)
{
    goio_redis *r = d->r;
    if (rc == GOIO_ETIMEDOUT && a->node)
        goio__redis_refresh_after_timeout(r, a->ctx, a->node);
    goio__redis_retry rule = goio__redis_retry_rule(
        r, rc, a->q.sent, a->idempotent, a->q.reused, a->tries);
    if (rule == GOIO__REDIS_RETRY_NOW) {
        GOIO__REDIS_COUNT(&r->ctr, retries);
        a->tries++;
        start(d, a);
        return;
    }
    if (rule == GOIO__REDIS_RETRY_REFRESH) {
        GOIO__REDIS_COUNT(&r->ctr, retries);
        goio__redis_cluster_refresh(r, a->ctx, goio__redis_epoch(r), NULL,
                                    a->node);
        retry_later(a, &r->opts);
        return;
    }
    call_back(d, a, rc, NULL);
}

/* a's round trip ended (q.done): follow a redirect or call back. */
static void answered(driver *d, goio__redis_areq *a)
{
    goio_redis *r = d->r;
    redisReply *reply = a->q.reply;
    a->q.reply = NULL;
    if (a->q.err) {
        failed(d, a, a->q.err);
        return;
    }
    if (reply->type != REDIS_REPLY_ERROR) {
        call_back(d, a, 0, reply);
        return;
    }
    unsigned slot;
    const char *host;
    size_t hlen;
    int port;
    goio__redis_redirect kind =
        goio__redis_parse_redirect(reply, &slot, &host, &hlen, &port);
    if (kind != GOIO__REDIS_NO_REDIRECT && r->opts.cluster &&
        a->tries < r->opts.cluster_max_attempts) {
        if (kind == GOIO__REDIS_TRYAGAIN) {
            GOIO__REDIS_COUNT(&r->ctr, tryagain);
            if (reply->str[0] == 'C') /* CLUSTERDOWN */
                goio__redis_cluster_refresh(r, a->ctx, goio__redis_epoch(r),
                                            NULL, NULL);
            freeReplyObject(reply);
            retry_later(a, &r->opts);
            return;
        }
        goio__redis_node *target;
        int rc =
            goio__redis_redirect_target(r, a->node, host, hlen, port, &target);
        freeReplyObject(reply);
        if (rc) {
            call_back(d, a, rc, NULL);
            return;
        }
        if (kind == GOIO__REDIS_ASK) {
            GOIO__REDIS_COUNT(&r->ctr, ask);
            a->asking = true;
        } else {
            /* The slot is patched; the full map reload of a blocking
             * MOVED is left to them (it would stall every callback). */
            GOIO__REDIS_COUNT(&r->ctr, moved);
            goio__redis_slot_set(r, slot, target);
            a->asking = false;
        }
        a->node = target;
        a->tries++;
        start(d, a);
        return;
    }
    int rc = goio__redis_error_reply(reply, a->key, a->node);
    freeReplyObject(reply);
    call_back(d, a, rc, NULL);
}

/* a's ctx ended: out of its FIFO (unless answered meanwhile) and called
 * back with rc. */
static void expire(driver *d, goio__redis_areq *a, int rc)
{
    if (a->state == S_MUX && !goio__redis_mux_cancel(&a->q))
        return; /* answered: handled when the thread takes it */
    goio_log(GOIO_LOG_WARN, "redis", "redis_timeout", a->key, rc,
             "%s (async): no reply before the ctx ended (the late reply is "
             "dropped)",
             a->name);
    call_back(d, a, rc, NULL);
}

/* ---- the thread ---------------------------------------------------------- */

static void take(goio__redis_async *as, goio__redis_areq **in,
                 goio__redis_areq **done, bool *closing)
{
    pthread_mutex_lock(&as->mu);
    *in = as->in_head;
    *done = as->done_head;
    as->in_head = as->in_tail = NULL;
    as->done_head = as->done_tail = NULL;
    as->signaled = false;
    *closing = as->closing;
    pthread_mutex_unlock(&as->mu);
}

static void shut_down(driver *d, goio__redis_areq *in)
{
    for (goio__redis_areq *a = in, *next; a; a = next) {
        next = a->next;
        a->state = S_NEW;
        live_add(d, a);
    }
    while (d->live) {
        goio__redis_areq *a = d->live;
        if (a->state == S_MUX && !goio__redis_mux_cancel(&a->q)) {
            /* answered but not taken yet */
            if (a->q.reply)
                freeReplyObject(a->q.reply);
            a->q.reply = NULL;
        }
        call_back(d, a, GOIO_ECLOSED, NULL);
    }
    for (size_t i = 0; i < d->n_known; i++)
        goio__redis_mux_drv_release(d->known[i].x, d->known[i].m);
}

/* The handle whose async thread this is (NULL on other threads). */
static _Thread_local goio__redis_async *current;

/* Expires the commands whose ctx ended, restarts the retries that are
 * due, and returns when the thread must look again at the latest. */
static int64_t check_live(driver *d)
{
    int64_t now = goio_now_mono_ms();
    int64_t wake = GOIO_NO_DEADLINE;
    for (goio__redis_areq *a = d->live, *next; a; a = next) {
        next = a->lnext;
        int rc = goio_ctx_err(a->ctx);
        if (rc) {
            expire(d, a, rc);
            continue;
        }
        if (a->state == S_RETRY) {
            if (now >= a->retry_at_ms) {
                start(d, a);
                continue;
            }
            if (a->retry_at_ms < wake)
                wake = a->retry_at_ms;
        }
        if (a->ctx) {
            int64_t dl = goio_ctx_deadline(a->ctx);
            int64_t slice = goio_time_add_ms(now, CANCEL_SLICE_MS);
            if (dl > slice)
                dl = slice;
            if (dl < wake)
                wake = dl;
        }
    }
    return wake;
}

/* The poll set: the wake-up eventfd, then one entry per known connection
 * (fd -1, ignored by poll, when the thread has nothing to do on it, so
 * that entry i + 1 is known[i]). */
typedef struct pollset {
    struct pollfd *pfd;
    size_t cap, n;
} pollset;

/* Writes what is queued on the connections, waits until wake for replies
 * or the eventfd, and reads what arrived. */
static void drive_connections(driver *d, pollset *ps, int64_t wake)
{
    if (ps->cap < d->n_known + 1) {
        size_t cap = d->n_known + 8;
        struct pollfd *p = goio_reallocarray(ps->pfd, cap, sizeof *p);
        if (p) {
            ps->pfd = p;
            ps->cap = cap;
        }
    }
    int efd = d->as->efd;
    if (!ps->pfd) { /* ENOMEM: try again shortly */
        struct pollfd e = {.fd = efd, .events = POLLIN};
        poll(&e, 1, 10);
        return;
    }
    ps->n = 0;
    ps->pfd[ps->n++] = (struct pollfd){.fd = efd, .events = POLLIN};
    for (size_t i = 0; i < d->n_known && ps->n < ps->cap; i++) {
        int64_t until = GOIO_NO_DEADLINE;
        int fd =
            goio__redis_mux_drv_prepare(d->known[i].x, d->known[i].m, &until);
        ps->pfd[ps->n++] = (struct pollfd){.fd = fd, .events = POLLIN};
        if (fd >= 0 && until < wake)
            wake = until;
    }
    int timeout = -1;
    if (wake != GOIO_NO_DEADLINE) {
        int64_t left = wake - goio_now_mono_ms();
        timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
    }
    int n = poll(ps->pfd, (nfds_t)ps->n, timeout);
    if (n < 0 && errno != EINTR)
        n = 0;
    if (n > 0 && (ps->pfd[0].revents & POLLIN)) {
        uint64_t v;
        ssize_t rd = read(efd, &v, sizeof v);
        (void)rd;
    }
    for (size_t i = 1; i < ps->n; i++)
        if (ps->pfd[i].fd >= 0)
            goio__redis_mux_drv_io(d->known[i - 1].x, d->known[i - 1].m,
                                   n > 0 && ps->pfd[i].revents != 0);
}

static void *run(void *arg)
{
    goio__redis_async *as = arg;
    current = as;
    driver d = {.as = as, .r = as->r};
    pollset ps = {0};
    for (;;) {
        goio__redis_areq *in, *done;
        bool closing;
        take(as, &in, &done, &closing);
        if (closing) {
            shut_down(&d, in);
            break;
        }
        for (goio__redis_areq *a = done, *next; a; a = next) {
            next = a->next;
            answered(&d, a);
        }
        for (goio__redis_areq *a = in, *next; a; a = next) {
            next = a->next;
            live_add(&d, a);
            start(&d, a);
        }
        drive_connections(&d, &ps, check_live(&d));
    }
    goio_free(ps.pfd);
    goio_free(d.known);
    return NULL;
}

/* ---- what mux.c and the handle call -------------------------------------- */

int goio__redis_async_init(goio__redis_async *as, goio_redis *r, bool dispatch)
{
    memset(as, 0, sizeof *as);
    as->efd = -1;
    as->ready_efd = -1;
    as->r = r;
    if (dispatch) {
        as->ready_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (as->ready_efd < 0)
            return errno == ENOMEM ? GOIO_ENOMEM : GOIO_EIO;
    }
    pthread_mutex_init(&as->mu, NULL);
    return 0;
}

static void signal_locked(goio__redis_async *as)
{
    if (!as->signaled && as->efd >= 0) {
        as->signaled = true;
        uint64_t one = 1;
        ssize_t w = write(as->efd, &one, sizeof one);
        (void)w;
    }
}

void goio__redis_async_wake(goio__redis_async *as)
{
    pthread_mutex_lock(&as->mu);
    signal_locked(as);
    pthread_mutex_unlock(&as->mu);
}

void goio__redis_async_done(goio__redis_async *as, goio__redis_req *q)
{
    goio__redis_areq *a = (goio__redis_areq *)q;
    pthread_mutex_lock(&as->mu);
    list_append(&as->done_head, &as->done_tail, a);
    signal_locked(as);
    pthread_mutex_unlock(&as->mu);
}

bool goio__redis_async_is_self(goio__redis_async *as)
{
    return current == as;
}

bool goio__redis_async_stop(goio__redis_async *as)
{
    if (current == as)
        return false;
    pthread_mutex_lock(&as->mu);
    bool started = as->started;
    as->closing = true;
    as->signaled = false;
    signal_locked(as);
    pthread_mutex_unlock(&as->mu);
    if (started)
        pthread_join(as->thread, NULL);
    if (as->ready_efd >= 0) {
        /* Dispatch mode: what is still queued is called back here. */
        goio__redis_areq *list;
        while ((list = take_ready(as)) != NULL)
            run_ready(as->r, list);
        close(as->ready_efd);
    }
    as->ready_efd = -1;
    if (as->efd >= 0)
        close(as->efd);
    as->efd = -1;
    pthread_mutex_destroy(&as->mu);
    return true;
}

int goio_redis_async_fd(goio_redis *r, int *fd)
{
    if (!r || !fd || r->as.ready_efd < 0)
        return GOIO_EINVAL;
    *fd = r->as.ready_efd;
    return 0;
}

int goio_redis_async_dispatch(goio_redis *r, size_t *n)
{
    if (n)
        *n = 0;
    if (!r || r->as.ready_efd < 0)
        return GOIO_EINVAL;
    size_t count = run_ready(r, take_ready(&r->as));
    if (n)
        *n = count;
    return 0;
}

/* Hands a to the thread, starting it first if needed. On error a is
 * freed and no callback will come. */
static int submit(goio_redis *r, goio__redis_areq *a)
{
    goio__redis_async *as = &r->as;
    pthread_mutex_lock(&as->mu);
    int rc = as->closing ? GOIO_ECLOSED : 0;
    if (!rc && !as->started) {
        as->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (as->efd < 0) {
            rc = GOIO_EIO;
        } else if (pthread_create(&as->thread, NULL, run, as) != 0) {
            close(as->efd);
            as->efd = -1;
            rc = GOIO_ENOMEM;
        } else {
            as->started = true;
        }
    }
    if (rc) {
        pthread_mutex_unlock(&as->mu);
        areq_free(a);
        return rc;
    }
    list_append(&as->in_head, &as->in_tail, a);
    signal_locked(as);
    pthread_mutex_unlock(&as->mu);
    return 0;
}

/* ---- the public calls ---------------------------------------------------- */

/* A record for `name key [args]`, or an error (nothing kept). */
static int areq_new(goio_redis *r, goio_ctx *ctx, enum kind kind,
                    const char *kpi, const char *name, const char *key,
                    const char **extra, const size_t *extra_len, int n_extra,
                    bool idempotent, anyfn cb, void *data,
                    goio__redis_areq **out)
{
    if (!cb)
        return GOIO_EINVAL;
    goio__redis_key k;
    int rc = goio__redis_key_make(&r->opts, key, &k);
    if (rc)
        return rc;
    goio__redis_areq *a = goio_calloc(1, sizeof *a);
    if (!a) {
        goio__redis_key_release(&k);
        return GOIO_ENOMEM;
    }
    goio_buf_init(&a->resp);
    const char *argv[6] = {name, k.s};
    size_t lens[6] = {strlen(name), k.len};
    for (int i = 0; i < n_extra; i++) {
        argv[2 + i] = extra[i];
        lens[2 + i] = extra_len[i];
    }
    goio__redis_cmd cmd = {.argc = 2 + n_extra, .argv = argv, .argvlen = lens};
    rc = goio__redis_resp_format(&a->resp, &cmd);
    if (!rc && !(a->key = goio_strdup(key)))
        rc = GOIO_ENOMEM;
    if (!rc && r->opts.cluster)
        a->slot = goio_redis_key_slot(k.s, k.len);
    goio__redis_key_release(&k);
    if (rc) {
        areq_free(a);
        return rc;
    }
    a->kind = kind;
    a->kpi = kpi;
    a->name = name;
    a->idempotent = idempotent;
    a->cb = cb;
    a->data = data;
    a->tries = 1;
    a->ctx = ctx ? goio_ctx_ref(ctx) : NULL;
    a->t0_ns = goio__redis_track_start(&r->opts);
    *out = a;
    return 0;
}

static int run_async(goio_redis *r, goio_ctx *ctx, enum kind kind,
                     const char *kpi, const char *name, const char *key,
                     const char **extra, const size_t *extra_len, int n_extra,
                     bool idempotent, anyfn cb, void *data)
{
    goio__redis_areq *a;
    int rc = areq_new(r, ctx, kind, kpi, name, key, extra, extra_len, n_extra,
                      idempotent, cb, data, &a);
    return rc ? rc : submit(r, a);
}

int goio_redis_get_async(goio_redis *r, goio_ctx *ctx, const char *key,
                         goio_redis_get_cb cb, void *data)
{
    if (!r)
        return GOIO_EINVAL;
    return run_async(r, ctx, K_GET, "redis_command_get", "GET", key, NULL, NULL,
                     0, true, (anyfn)cb, data);
}

int goio_redis_set_async(goio_redis *r, goio_ctx *ctx, const char *key,
                         const void *value, size_t len, int64_t ttl_ms,
                         goio_redis_set_cb cb, void *data)
{
    if (!r || (!value && len))
        return GOIO_EINVAL;
    /* As goio_redis_set: a TTL <= 0 stores nothing, the key goes. */
    if (ttl_ms <= 0)
        return run_async(r, ctx, K_SET_DEL, "redis_command_del", "DEL", key,
                         NULL, NULL, 0, true, (anyfn)cb, data);
    char ttl[32];
    int n = goio__redis_ttl_arg(ttl_ms, ttl, sizeof ttl);
    const char *extra[] = {value ? value : "", "PX", ttl};
    size_t extra_len[] = {len, 2, (size_t)n};
    return run_async(r, ctx, K_SET, "redis_command_set", "SET", key, extra,
                     extra_len, 3, true, (anyfn)cb, data);
}

int goio_redis_del_async(goio_redis *r, goio_ctx *ctx, const char *key,
                         goio_redis_del_cb cb, void *data)
{
    if (!r)
        return GOIO_EINVAL;
    return run_async(r, ctx, K_DEL, "redis_command_del", "DEL", key, NULL, NULL,
                     0, true, (anyfn)cb, data);
}

int goio_redis_exists_async(goio_redis *r, goio_ctx *ctx, const char *key,
                            goio_redis_exists_cb cb, void *data)
{
    if (!r)
        return GOIO_EINVAL;
    return run_async(r, ctx, K_EXISTS, "redis_command_exists", "EXISTS", key,
                     NULL, NULL, 0, true, (anyfn)cb, data);
}

int goio_redis_incr_async(goio_redis *r, goio_ctx *ctx, const char *key,
                          goio_redis_incr_cb cb, void *data)
{
    if (!r)
        return GOIO_EINVAL;
    return run_async(r, ctx, K_INCR, "redis_command_incr", "INCR", key, NULL,
                     NULL, 0, false, (anyfn)cb, data);
}
