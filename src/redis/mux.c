/* SPDX-License-Identifier: MIT */
/*
 * Multiplexed (auto-pipelined) connections: a few per node, shared by
 * every thread, for the single-key commands.
 *
 * Each connection keeps, under its mutex, the formatted requests not yet
 * written (`out`) and a FIFO of the callers whose replies are due, in the
 * order their requests went into `out`. There is no I/O thread: the first
 * caller that finds nobody doing the connection's I/O becomes its leader
 * ("flat combining"). The leader writes everything queued in one write,
 * reads what has arrived, hands each reply to the FIFO's head and wakes
 * that caller, and loops until its own reply came; then it passes the
 * leadership to the oldest caller still waiting. Commands queued while the
 * leader waited for the server go out in its next write, so a busy
 * connection carries batches as large as the concurrency.
 *
 * A caller whose ctx ends leaves: its FIFO slot stays (the reply will come
 * and is discarded) but no longer points at it. A reply always answers the
 * FIFO head: only a fault breaks the order, and a fault (no reply progress
 * for read_timeout_ms while commands are in flight, a write timeout, an
 * I/O error, EOF, a protocol error, a reply nobody asked for) fails every
 * written command with the fault's code and closes the connection; the
 * commands not yet written stay queued for the next connection, which the
 * next leader opens through the node's pool (reconnect backoff included).
 */
#include "redis_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Waits in slices this long when a ctx may be cancelled. */
#define CANCEL_SLICE_MS 50
/* A plaintext leader blocks in recv (SO_RCVTIMEO) this long at most: with
 * the kernel's tick (4 ms at HZ=250) still within CANCEL_SLICE_MS. It does
 * so only while its limit is RECV_SLACK_MS further away; nearer, poll's
 * exact timeout keeps the deadline. */
#define RECV_SLICE_MS   40
#define RECV_SLACK_MS   10
/* A caller joins a busy connection whose FIFO holds fewer commands than
 * this rather than leading another one (pick). */
#define SPILL_DEPTH     16
/* Replies parsed outside the lock before dispatching them. */
#define BATCH           64
/* What the write buffers start with. */
#define BUF_START       8192
/* Most bytes one read_some takes in before its replies are parsed (and the
 * reply's cost checked): a peer that never stops sending cannot keep the
 * leader reading. */
#define READ_MAX        (256 * 1024)

/* ---- waking a blocking caller ---------------------------------------------
 *
 * A blocking caller sleeps on its own futex word (on its stack), not on a
 * condition variable of the connection's mutex: a caller woken with its
 * reply returns without taking the mutex again, so the leader handing out
 * a batch of replies does not queue the callers it wakes up behind itself.
 * The word is changed before the wake, so a wake-up is never lost; a wake
 * that reaches an address whose caller already returned (it saw REQ_DONE
 * on its own) is a spurious one for whatever waits there, which every
 * futex user tolerates.
 */
#define REQ_DONE  1u /* reply or error stored */
#define REQ_SLEEP 2u /* its caller sleeps (or is about to): wake it */
#define REQ_KICK  4u /* added per kick */

static void word_wake(atomic_uint *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Sleeps while *w == seen, until until_ms (GOIO_NO_DEADLINE: no limit);
 * returns early on any change and any wake-up, spurious ones included. A
 * waker wakes only a word marked REQ_SLEEP: a caller not asleep costs it
 * no system call. */
static void word_wait(atomic_uint *w, unsigned seen, int64_t until_ms)
{
    if (!(seen & REQ_SLEEP) && !atomic_compare_exchange_strong_explicit(
                                   w, &seen, seen | REQ_SLEEP,
                                   memory_order_relaxed, memory_order_relaxed))
        return; /* changed meanwhile */
    seen |= REQ_SLEEP;
    struct timespec ts, *tp = NULL;
    if (until_ms != GOIO_NO_DEADLINE) {
        int64_t left = until_ms - goio_now_mono_ms();
        if (left <= 0)
            return;
        ts.tv_sec = (time_t)(left / 1000);
        ts.tv_nsec = (long)(left % 1000) * 1000000L;
        tp = &ts;
    }
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen, tp, NULL, 0);
}

/* Under the lock: wakes w's caller once the lock is released (mu_unlock),
 * so that the caller does not run into the held lock. */
static void defer_wake(goio__redis_mconn *m, atomic_uint *w)
{
    if (m->n_wake == GOIO__REDIS_MUX_WAKES) { /* a fault fails many */
        for (int i = 0; i < m->n_wake; i++)
            word_wake(m->wake[i]);
        m->n_wake = 0;
    }
    m->wake[m->n_wake++] = w;
}

/* Releases m's lock, then wakes the callers deferred under it. Every
 * unlock of m->mu goes through here. */
static void mu_unlock(goio__redis_mconn *m)
{
    atomic_uint *w[GOIO__REDIS_MUX_WAKES];
    int n = m->n_wake;
    if (n)
        memcpy(w, m->wake, (size_t)n * sizeof *w);
    m->n_wake = 0;
    atomic_store_explicit(&m->depth, (unsigned)(m->tail - m->head),
                          memory_order_relaxed);
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < n; i++)
        word_wake(w[i]);
}

/* Under the lock: wakes q's caller to lead or to look again. */
static void kick(goio__redis_mconn *m, goio__redis_req *q)
{
    if (atomic_fetch_add_explicit(&q->word, REQ_KICK, memory_order_release) &
        REQ_SLEEP)
        defer_wake(m, &q->word);
}

/* ---- the FIFO ------------------------------------------------------------ */

static int ring_push(goio__redis_mconn *m, goio__redis_req *q)
{
    if (m->tail - m->head == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        goio__redis_req **ring = goio_calloc(cap, sizeof *ring);
        if (!ring)
            return GOIO_ENOMEM;
        for (uint64_t s = m->head; s < m->tail; s++)
            ring[s & (cap - 1)] = m->ring[s & (m->cap - 1)];
        goio_free(m->ring);
        m->ring = ring;
        m->cap = cap;
    }
    q->seq = m->tail++;
    m->ring[q->seq & (m->cap - 1)] = q;
    return 0;
}

static goio__redis_req *ring_pop(goio__redis_mconn *m)
{
    goio__redis_req *q = m->ring[m->head & (m->cap - 1)];
    m->ring[m->head & (m->cap - 1)] = NULL;
    m->head++;
    return q;
}

static void finish(goio__redis_mux *x, goio__redis_mconn *m, goio__redis_req *q,
                   redisReply *reply, int err)
{
    q->reply = reply;
    q->err = err;
    q->done = true;
    if (q->async) {
        m->n_async--;
        goio__redis_async_done(x->as, q);
    } else {
        /* The last touch of q but the wake: its caller may return now. */
        if (atomic_fetch_or_explicit(&q->word, REQ_DONE, memory_order_release) &
            REQ_SLEEP)
            defer_wake(m, &q->word);
    }
}

/* Under the lock, when nobody leads: wakes the oldest blocking caller
 * still waiting, which becomes the leader, else the async thread when
 * async commands are left. */
static void wake_next(goio__redis_mux *x, goio__redis_mconn *m)
{
    for (uint64_t s = m->head; s < m->tail; s++) {
        goio__redis_req *q = m->ring[s & (m->cap - 1)];
        if (q && !q->async) {
            kick(m, q);
            return;
        }
    }
    if (m->n_async > 0)
        goio__redis_async_wake(x->as);
}

/* ---- formatting ---------------------------------------------------------- */

static char *put_u(char *p, char lead, size_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *p++ = lead;
    while (n)
        *p++ = tmp[--n];
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

int goio__redis_resp_format(goio_buf *b, const goio__redis_cmd *cmd)
{
    size_t need = 32;
    for (int i = 0; i < cmd->argc; i++)
        need += cmd->argvlen[i] + 32;
    int rc = goio_buf_reserve(b, need);
    if (rc)
        return rc;
    char *p = (char *)b->data + b->len;
    p = put_u(p, '*', (size_t)cmd->argc);
    for (int i = 0; i < cmd->argc; i++) {
        p = put_u(p, '$', cmd->argvlen[i]);
        memcpy(p, cmd->argv[i], cmd->argvlen[i]);
        p += cmd->argvlen[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    b->len = (size_t)(p - (char *)b->data);
    return 0;
}

/* ---- faults -------------------------------------------------------------- */

/*
 * Under the lock: closes the connection and fails every command written on
 * it with rc. The commands not written yet stay queued.
 */
static void fault(goio__redis_mux *x, goio__redis_mconn *m, int rc,
                  const char *why)
{
    size_t n = 0;
    while (m->head < m->unsent) {
        goio__redis_req *q = ring_pop(m);
        if (q)
            finish(x, m, q, NULL, rc);
        n++;
    }
    goio_log(GOIO_LOG_WARN, "redis",
             rc == GOIO_ETIMEDOUT ? "redis_timeout" : "redis_io_error",
             x->pool->addr->name, rc,
             "shared connection to %s failed (%s): %zu command(s) in flight "
             "failed, connection replaced",
             x->pool->addr->name, why, n);
    GOIO__REDIS_COUNT(x->pool->ctr, closed_broken);
    goio__redis_conn_close(m->c);
    m->c = NULL;
    atomic_fetch_sub_explicit(&x->open, 1, memory_order_relaxed);
}

/* Under the lock: fails every queued command (the connect failed). */
static void fail_queued(goio__redis_mux *x, goio__redis_mconn *m, int rc)
{
    while (m->head < m->tail) {
        goio__redis_req *q = ring_pop(m);
        if (q)
            finish(x, m, q, NULL, rc);
    }
    m->unsent = m->tail;
    m->out.len = 0;
}

/* ---- I/O (the leader, outside the lock) ---------------------------------- */

static int io_errno(int e)
{
    switch (e) {
    case ECONNRESET:
    case EPIPE:
        return GOIO_ECONNRESET;
    case ECONNREFUSED:
        return GOIO_ECONNREFUSED;
    case EHOSTUNREACH:
    case ENETUNREACH:
        return GOIO_EHOSTUNREACH;
    default:
        return GOIO_EIO;
    }
}

/* Waits until fd is ready for `events`, until_ms or one slice, whichever
 * comes first. 1 ready, 0 not (yet), < 0 an error. */
static int wait_fd(int fd, short events, int64_t until_ms)
{
    for (;;) {
        int64_t left = until_ms == GOIO_NO_DEADLINE
                           ? CANCEL_SLICE_MS
                           : until_ms - goio_now_mono_ms();
        if (left < 0)
            left = 0;
        if (left > CANCEL_SLICE_MS)
            left = CANCEL_SLICE_MS;
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return io_errno(errno);
    }
}

/* Writes b entirely by until_ms. */
static int write_all(goio__redis_conn *c, const goio_buf *b, int64_t until_ms)
{
    size_t off = 0;
    while (off < b->len) {
        short want = POLLOUT;
        ssize_t n;
        if (c->ssl) {
            n = goio__redis_tls_write_nb(c, b->data + off, b->len - off, &want);
        } else {
            n = send(c->rc->fd, b->data + off, b->len - off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0)
                n = (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                        ? 0
                        : io_errno(errno);
        }
        if (n < 0)
            return (int)n;
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        int r = wait_fd(c->rc->fd, want, until_ms);
        if (r < 0)
            return r;
        if (r == 0 && until_ms != GOIO_NO_DEADLINE &&
            goio_now_mono_ms() >= until_ms)
            return GOIO_ETIMEDOUT;
    }
    return 0;
}

/*
 * One recv of a plaintext read; the first (`wait`) waits for data. It
 * blocks in recv itself (SO_RCVTIMEO of one slice, set once per
 * connection) when the limit is far enough, so that a reply costs no
 * poll(2); a near limit is waited for with poll, whose timeout is exact
 * (SO_RCVTIMEO counts in scheduler ticks). Bytes read (> 0), 0 none (yet),
 * or a GOIO_E* code (EOF: GOIO_ECONNRESET).
 */
static ssize_t plain_recv(goio__redis_conn *c, char *buf, size_t len, bool wait,
                          int64_t until_ms)
{
    int fd = c->rc->fd;
    int flags = MSG_DONTWAIT;
    if (wait) {
        int64_t left = until_ms == GOIO_NO_DEADLINE
                           ? INT64_MAX
                           : until_ms - goio_now_mono_ms();
        if (left >= RECV_SLICE_MS + RECV_SLACK_MS &&
            !goio__redis_conn_set_rcvtimeo(c, RECV_SLICE_MS)) {
            flags = 0;
        } else if (left > 0) {
            int r = wait_fd(fd, POLLIN, until_ms);
            if (r <= 0)
                return r;
        }
    }
    ssize_t n = recv(fd, buf, len, flags);
    if (n == 0)
        return GOIO_ECONNRESET;
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                   ? 0
                   : io_errno(errno);
    return n;
}

/* Reads what has arrived (waiting for it until until_ms, at most about a
 * slice, so that the leader sees a cancel) into the reader. 1 fed, 0
 * nothing (yet), < 0 an error (EOF: GOIO_ECONNRESET). */
static int read_some(goio__redis_conn *c, int64_t until_ms)
{
    char buf[16 * 1024];
    size_t fed = 0;
    /* TLS: wait first, the replies are rarely there already (a read would
     * cost a syscall for nothing). */
    if (c->ssl && !goio__redis_tls_buffered(c)) {
        int r = wait_fd(c->rc->fd, POLLIN, until_ms);
        if (r <= 0)
            return r;
    }
    for (;;) {
        short want = POLLIN;
        ssize_t n;
        if (c->ssl) {
            n = goio__redis_tls_read_nb(c, buf, sizeof buf, &want);
        } else {
            /* Waited for once: a timed-out wait or a drained socket
             * returns (the leader looks at its limits again). */
            n = plain_recv(c, buf, sizeof buf, !fed, until_ms);
            if (n == 0)
                return fed ? 1 : 0;
        }
        if (n < 0)
            return fed ? 1 : (int)n; /* the error shows on the next read */
        if (n > 0) {
            if (redisReaderFeed(c->rc->reader, buf, (size_t)n) != REDIS_OK)
                return GOIO_EPROTO;
            fed += (size_t)n;
            /* A short plaintext read drained the socket; OpenSSL may hold
             * more than it returned. */
            if (fed >= READ_MAX || ((size_t)n < sizeof buf &&
                                    (!c->ssl || !goio__redis_tls_buffered(c))))
                return 1;
            continue;
        }
        if (fed)
            return 1;
        int r = wait_fd(c->rc->fd, want, until_ms);
        if (r <= 0)
            return r;
    }
}

/* ---- the leader ---------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The caller's own limit: its ctx deadline (GOIO_NO_DEADLINE = none). */
static int own_error(goio_ctx *ctx)
{
    return goio_ctx_err(ctx);
}

/* Under the lock: the caller gives up on q (ctx ended). */
static void abandon(goio__redis_mconn *m, goio__redis_req *q)
{
    m->ring[q->seq & (m->cap - 1)] = NULL;
    if (q->async)
        m->n_async--;
}

/* Opens the connection (lock released meanwhile). */
static int connect_locked(goio__redis_mux *x, goio__redis_mconn *m,
                          goio_ctx *ctx)
{
    mu_unlock(m);
    goio__redis_conn *c = NULL;
    int rc = goio__redis_pool_open(x->pool, ctx, &c);
    /* TLS needs a non-blocking socket (OpenSSL reads it); a plaintext one
     * stays blocking, for the recv that waits (every other call passes
     * MSG_DONTWAIT). */
    if (!rc && c->ssl) {
        int fl = fcntl(c->rc->fd, F_GETFL);
        if (fl < 0 || fcntl(c->rc->fd, F_SETFL, fl | O_NONBLOCK)) {
            goio__redis_conn_close(c);
            c = NULL;
            rc = GOIO_EIO;
        }
    }
    pthread_mutex_lock(&m->mu);
    /* Both buffers sized once, so that a warm connection allocates
     * nothing per command. */
    if (!rc && (goio_buf_reserve(&m->wbuf, BUF_START) ||
                goio_buf_reserve(&m->out, BUF_START))) {
        goio__redis_conn_close(c);
        rc = GOIO_ENOMEM;
    }
    if (rc) {
        /* A ctx that ended only ends this caller's wait; the others keep
         * their place and the next of them tries again. */
        if (rc != goio_ctx_err(ctx))
            fail_queued(x, m, rc);
        return rc;
    }
    m->c = c;
    m->progress_ms = goio_now_mono_ms();
    atomic_fetch_add_explicit(&x->open, 1, memory_order_relaxed);
    return 0;
}

/* Whether the peer has not closed an idle connection: nothing to read. */
static bool idle_alive(goio__redis_conn *c)
{
    if (c->ssl)
        return goio__redis_tls_alive_nb(c);
    char b;
    ssize_t n = recv(c->rc->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Under the lock: writes what is queued (lock released meanwhile). */
static void write_locked(goio__redis_mux *x, goio__redis_mconn *m)
{
    /* A connection idle for a while may have been closed by the server
     * (restart, CLIENT KILL, timeout): checked before commands are put on
     * it, at the cost of a syscall, as the pool checks what it lends. */
    int64_t now = goio_now_mono_ms();
    if (m->head == m->unsent && now != m->progress_ms && !idle_alive(m->c)) {
        fault(x, m, GOIO_ECONNRESET, "closed while idle");
        return; /* the queued commands go on the next connection */
    }
    goio_buf tmp = m->wbuf;
    m->wbuf = m->out;
    m->out = tmp;
    for (uint64_t s = m->unsent; s < m->tail; s++) {
        goio__redis_req *q = m->ring[s & (m->cap - 1)];
        if (q)
            q->sent = true;
    }
    if (m->head == m->unsent)
        m->progress_ms = now; /* the reply clock starts */
    m->unsent = m->tail;
    goio__redis_conn *c = m->c;
    int64_t w = x->pool->opts->write_timeout_ms;
    int64_t until = w > 0 ? goio_time_add_ms(now, w) : GOIO_NO_DEADLINE;
    mu_unlock(m);
    int rc = write_all(c, &m->wbuf, until);
    pthread_mutex_lock(&m->mu);
    m->wbuf.len = 0;
    if (rc)
        fault(x, m, rc, rc == GOIO_ETIMEDOUT ? "write timed out" : "write");
}

/* Under the lock: reads replies until until_ms and hands them out. */
static void read_locked(goio__redis_mux *x, goio__redis_mconn *m,
                        int64_t until_ms)
{
    goio__redis_conn *c = m->c;
    mu_unlock(m);
    int rc = read_some(c, until_ms);
    redisReply *got[BATCH];
    int n = 0;
    bool bad = false;
    for (;;) {
        if (rc < 0)
            break;
        while (n < BATCH) {
            void *reply = NULL;
            if (redisReaderGetReply(c->rc->reader, &reply) != REDIS_OK) {
                bad = true;
                break;
            }
            if (!reply)
                break;
            got[n++] = reply;
            goio__redis_conn_reply_done(c); /* the next reply starts */
        }
        /* What the reply still incomplete costs so far (conn.c counts
         * it); with a full batch the bytes left may be whole replies. */
        size_t over = c->refused;
        if (!bad && n < BATCH)
            over = goio__redis_conn_reply_over(c);
        pthread_mutex_lock(&m->mu);
        int64_t now = goio_now_mono_ms();
        for (int i = 0; i < n; i++) {
            if (m->head == m->unsent) { /* nobody asked */
                for (int j = i; j < n; j++)
                    freeReplyObject(got[j]);
                fault(x, m, GOIO_EPROTO, "a reply nobody asked for");
                return;
            }
            m->progress_ms = now;
            goio__redis_req *q = ring_pop(m);
            if (q)
                finish(x, m, q, got[i], 0);
            else
                freeReplyObject(got[i]); /* its caller left */
        }
        if (bad && !over) {
            fault(x, m, GOIO_EPROTO, "protocol error");
            return;
        }
        if (over) {
            goio__redis_conn_log_too_large(c, over);
            fault(x, m, GOIO_EPROTO, "reply larger than max_reply_bytes");
            return;
        }
        if (n < BATCH)
            return;
        n = 0;
        mu_unlock(m);
    }
    pthread_mutex_lock(&m->mu);
    fault(x, m, rc, rc == GOIO_ECONNRESET ? "closed" : "read");
}

/*
 * Under the lock, as the leader: does the connection's I/O until q is
 * answered or its ctx ends; then passes the leadership on. Returns the
 * ctx's error when it ended the wait, else 0 (q->done).
 */
static int lead(goio__redis_mux *x, goio__redis_mconn *m, goio__redis_req *q,
                goio_ctx *ctx)
{
    const goio__redis_opts *o = x->pool->opts;
    int rc = 0;
    while (!q->done) {
        rc = own_error(ctx);
        if (rc)
            break;
        if (!m->c) {
            rc = connect_locked(x, m, ctx);
            if (rc && !q->done)
                break; /* the ctx ended the connect */
            rc = 0;
            continue;
        }
        if (m->out.len) {
            write_locked(x, m);
            continue;
        }
        int64_t limit = goio_ctx_deadline(ctx);
        int64_t reply_by =
            o->read_timeout_ms > 0
                ? goio_time_add_ms(m->progress_ms, o->read_timeout_ms)
                : GOIO_NO_DEADLINE;
        /* read_some waits a slice at most: a cancel is seen within one. */
        int64_t until = min64(limit, reply_by);
        uint64_t head = m->head;
        read_locked(x, m, until);
        if (m->c && m->head == head && m->head < m->unsent &&
            reply_by != GOIO_NO_DEADLINE && goio_now_mono_ms() >= reply_by)
            fault(x, m, GOIO_ETIMEDOUT, "no reply within read_timeout_ms");
    }
    if (!q->done)
        abandon(m, q);
    else if (m->c && m->out.len)
        write_locked(x, m); /* the successor finds them in flight */
    m->leader = false;
    atomic_store_explicit(&m->busy, false, memory_order_relaxed);
    wake_next(x, m);
    return q->done ? 0 : rc;
}

/* ---- the caller ---------------------------------------------------------- */

/*
 * The first connection nobody is doing I/O on (its caller writes at once
 * and leads) or whose FIFO holds fewer than SPILL_DEPTH commands (the
 * command joins the next batch: larger batches, fewer system calls per
 * command), else the next one round robin. One thread alone thus always
 * uses the first connection; the others open as the first one's FIFO
 * grows (a slow or huge reply there included).
 */
static goio__redis_mconn *pick(goio__redis_mux *x)
{
    for (int i = 0; i < x->n; i++) {
        goio__redis_mconn *m = &x->conns[i];
        if (!atomic_load_explicit(&m->busy, memory_order_relaxed) ||
            atomic_load_explicit(&m->depth, memory_order_relaxed) < SPILL_DEPTH)
            return m;
    }
    unsigned i = atomic_fetch_add_explicit(&x->next, 1, memory_order_relaxed);
    return &x->conns[i % (unsigned)x->n];
}

int goio__redis_mux_exec(goio__redis_mux *x, goio_ctx *ctx,
                         const goio__redis_cmd *cmd, redisReply **reply,
                         bool *sent, bool *reused)
{
    *reply = NULL;
    *sent = false;
    *reused = false;
    int rc = goio_ctx_err(ctx);
    if (rc)
        return rc;
    goio__redis_mconn *m = pick(x);
    goio__redis_req q = {0};
    pthread_mutex_lock(&m->mu);
    size_t len0 = m->out.len;
    rc = goio__redis_resp_format(&m->out, cmd);
    if (!rc) {
        rc = ring_push(m, &q);
        if (rc)
            m->out.len = len0;
    }
    if (rc) {
        mu_unlock(m);
        return rc;
    }
    *reused = m->c != NULL;
    if (m->leader && m->drv_led) /* the async thread writes it */
        goio__redis_async_wake(x->as);
    bool locked = true;
    for (;;) {
        if (q.done)
            break;
        if (!m->leader) {
            m->leader = true;
            atomic_store_explicit(&m->busy, true, memory_order_relaxed);
            rc = lead(x, m, &q, ctx);
            break;
        }
        rc = goio_ctx_err(ctx);
        if (rc) {
            abandon(m, &q);
            if (!m->leader)
                wake_next(x, m);
            break;
        }
        int64_t until = goio_ctx_deadline(ctx);
        if (ctx) {
            int64_t slice =
                goio_time_add_ms(goio_now_mono_ms(), CANCEL_SLICE_MS);
            until = min64(until, slice);
        }
        unsigned seen = atomic_load_explicit(&q.word, memory_order_relaxed);
        mu_unlock(m);
        word_wait(&q.word, seen, until);
        if (atomic_load_explicit(&q.word, memory_order_acquire) & REQ_DONE) {
            locked = false; /* everything of q was stored before */
            break;
        }
        atomic_fetch_and_explicit(&q.word, ~REQ_SLEEP, memory_order_relaxed);
        pthread_mutex_lock(&m->mu);
    }
    *sent = q.sent;
    if (locked)
        mu_unlock(m);
    if (rc)
        return rc;
    if (q.err)
        return q.err;
    *reply = q.reply;
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

int goio__redis_mux_init(goio__redis_mux *x, goio__redis_pool *pool,
                         goio__redis_async *as, int n)
{
    memset(x, 0, sizeof *x);
    x->pool = pool;
    x->as = as;
    /* Pooled mode (n == 0) still has one, for the async calls only. */
    int all = n > 0 ? n : 1;
    x->conns = goio_calloc((size_t)all, sizeof *x->conns);
    if (!x->conns)
        return GOIO_ENOMEM;
    x->n = n > 0 ? n : 0;
    x->n_all = all;
    for (int i = 0; i < all; i++) {
        pthread_mutex_init(&x->conns[i].mu, NULL);
        goio_buf_init(&x->conns[i].out);
        goio_buf_init(&x->conns[i].wbuf);
    }
    return 0;
}

void goio__redis_mux_destroy(goio__redis_mux *x)
{
    for (int i = 0; i < x->n_all; i++) {
        goio__redis_mconn *m = &x->conns[i];
        goio__redis_conn_close(m->c);
        goio_buf_deinit(&m->out);
        goio_buf_deinit(&m->wbuf);
        goio_free(m->ring);
        pthread_mutex_destroy(&m->mu);
    }
    goio_free(x->conns);
    memset(x, 0, sizeof *x);
}

int goio__redis_mux_open(goio__redis_mux *x)
{
    return (int)atomic_load_explicit(&x->open, memory_order_relaxed);
}

/* ---- the async thread's side (async.c) ----------------------------------- */

static const char ASKING[] = "*1\r\n$6\r\nASKING\r\n";

int goio__redis_mux_submit(goio__redis_mux *x, goio__redis_req *q,
                           const goio_buf *resp, bool asking,
                           goio__redis_mconn **out)
{
    unsigned i = atomic_fetch_add_explicit(&x->next, 1, memory_order_relaxed);
    goio__redis_mconn *m = &x->conns[i % (unsigned)x->n_all];
    q->m = m;
    q->async = true;
    q->done = false;
    q->sent = false;
    q->reply = NULL;
    q->err = 0;
    pthread_mutex_lock(&m->mu);
    size_t len0 = m->out.len;
    uint64_t tail0 = m->tail;
    int rc = 0;
    if (asking) {
        /* ASKING applies to the next command of the connection: the two
         * are written back to back; ASKING's reply is dropped. */
        rc = goio_buf_append(&m->out, ASKING, sizeof ASKING - 1);
        if (!rc) {
            goio__redis_req dummy = {0};
            rc = ring_push(m, &dummy);
            if (!rc)
                m->ring[dummy.seq & (m->cap - 1)] = NULL;
        }
    }
    if (!rc)
        rc = goio_buf_append(&m->out, resp->data, resp->len);
    if (!rc)
        rc = ring_push(m, q);
    if (rc) {
        m->out.len = len0;
        m->tail = tail0;
        mu_unlock(m);
        return rc;
    }
    q->reused = m->c != NULL;
    m->n_async++;
    mu_unlock(m);
    *out = m;
    return 0;
}

/* Under the lock: the async thread stops leading m. */
static void drv_release_locked(goio__redis_mux *x, goio__redis_mconn *m)
{
    if (!m->drv_led)
        return;
    m->drv_led = false;
    m->leader = false;
    atomic_store_explicit(&m->busy, false, memory_order_relaxed);
    for (uint64_t s = m->head; s < m->tail; s++) {
        goio__redis_req *q = m->ring[s & (m->cap - 1)];
        if (q && !q->async) {
            kick(m, q);
            return;
        }
    }
    (void)x;
}

int goio__redis_mux_drv_prepare(goio__redis_mux *x, goio__redis_mconn *m,
                                int64_t *until_ms)
{
    int fd = -1;
    pthread_mutex_lock(&m->mu);
    if (!m->leader && m->n_async > 0) {
        m->leader = true;
        m->drv_led = true;
        atomic_store_explicit(&m->busy, true, memory_order_relaxed);
    }
    while (m->drv_led) {
        if (m->n_async == 0) {
            drv_release_locked(x, m);
            break;
        }
        if (!m->c) {
            /* Bounded by connect_timeout_ms; a failure fails what is
             * queued (async and blocking alike). */
            if (connect_locked(x, m, NULL))
                continue;
        }
        if (m->c && m->out.len) {
            write_locked(x, m);
            continue;
        }
        if (m->c && m->head < m->unsent) {
            fd = m->c->rc->fd;
            int64_t r = x->pool->opts->read_timeout_ms;
            *until_ms =
                r > 0 ? goio_time_add_ms(m->progress_ms, r) : GOIO_NO_DEADLINE;
            if (m->c->ssl && goio__redis_tls_buffered(m->c))
                *until_ms = goio_now_mono_ms();
        }
        break;
    }
    mu_unlock(m);
    return fd;
}

void goio__redis_mux_drv_io(goio__redis_mux *x, goio__redis_mconn *m,
                            bool readable)
{
    pthread_mutex_lock(&m->mu);
    /* OpenSSL may hold records the socket no longer shows. */
    if (m->drv_led && m->c &&
        (readable || (m->c->ssl && goio__redis_tls_buffered(m->c))))
        read_locked(x, m, goio_now_mono_ms());
    int64_t r = x->pool->opts->read_timeout_ms;
    if (m->drv_led && m->c && m->head < m->unsent && r > 0 &&
        goio_now_mono_ms() >= goio_time_add_ms(m->progress_ms, r))
        fault(x, m, GOIO_ETIMEDOUT, "no reply within read_timeout_ms");
    mu_unlock(m);
}

void goio__redis_mux_drv_release(goio__redis_mux *x, goio__redis_mconn *m)
{
    pthread_mutex_lock(&m->mu);
    drv_release_locked(x, m);
    mu_unlock(m);
}

bool goio__redis_mux_cancel(goio__redis_req *q)
{
    goio__redis_mconn *m = q->m;
    pthread_mutex_lock(&m->mu);
    bool taken = !q->done;
    if (taken) {
        abandon(m, q);
        q->done = true;
    }
    mu_unlock(m);
    return taken;
}
