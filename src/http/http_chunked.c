/* SPDX-License-Identifier: MIT */
/*
 * Chunked rendering (the Go library's ChunkedData) and the AutoFlusher.
 *
 * The AutoFlusher's timed flushes run on one process-wide ticker thread
 * rather than a thread per flusher (Go spends a goroutine each): a
 * streaming response costs a list entry, not a thread. The ticker only
 * ever trylocks a flusher, so one writer blocked under back-pressure never
 * delays the others' flushes. The thread runs while flushers exist: the
 * first one starts it, the last one's close stops and joins it, so an
 * idle process has no goio thread left behind (and valgrind sees none).
 */
#include "http_int.h"

#include <string.h>

/* ---- the ticker ---------------------------------------------------------- */

typedef struct autoflusher autoflusher;

struct autoflusher {
    goio_io_writer w;
    goio_io_writer *dst;
    bool own_dst;
    int64_t interval_ms;
    pthread_mutex_t mu; /* serializes dst's users */
    bool dirty;         /* bytes written since the last flush */
    int err;            /* a timed flush's error, for the next call */
    /* ticker list, under ticker.mu */
    bool listed;
    int64_t due_ms;
    autoflusher *prev;
    autoflusher *next;
};

static struct {
    pthread_once_t once;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* monotonic clock */
    autoflusher *head;
    int64_t wake_ms; /* when the ticker wakes next; INT64_MAX: idle */
    bool ok;
    size_t users; /* live flushers */
    unsigned gen; /* bumped per thread started: a stale one exits */
    bool running; /* `thread` runs for generation `gen` */
    pthread_t thread;
} ticker = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER};

static void unlist(autoflusher *af)
{
    if (!af->listed)
        return;
    if (af->prev)
        af->prev->next = af->next;
    else
        ticker.head = af->next;
    if (af->next)
        af->next->prev = af->prev;
    af->prev = af->next = NULL;
    af->listed = false;
}

/* Flushes every due flusher whose lock is free. Under ticker.mu; returns
 * the next due time. */
static int64_t tick(int64_t now)
{
    int64_t next = INT64_MAX;
restart:
    for (autoflusher *af = ticker.head; af; af = af->next) {
        if (af->due_ms > now) {
            next = af->due_ms < next ? af->due_ms : next;
            continue;
        }
        if (pthread_mutex_trylock(&af->mu)) {
            /* A writer holds it (maybe blocked by back-pressure): its
             * bytes are moving anyway; look again shortly. */
            int64_t retry = af->interval_ms < 5 ? af->interval_ms : 5;
            af->due_ms = now + retry;
            next = af->due_ms < next ? af->due_ms : next;
            continue;
        }
        unlist(af);
        pthread_mutex_unlock(&ticker.mu);
        if (af->dirty && !af->err) {
            af->dirty = false;
            af->err = goio_io_flush(af->dst);
        }
        pthread_mutex_unlock(&af->mu); /* af may be freed from here on */
        pthread_mutex_lock(&ticker.mu);
        goto restart;
    }
    return next;
}

static void abs_time(int64_t ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

static void *ticker_main(void *arg)
{
    unsigned gen = (unsigned)(uintptr_t)arg;
    pthread_mutex_lock(&ticker.mu);
    for (;;) {
        int64_t next = tick(goio_now_mono_ms());
        /* Checked after tick, which drops the lock while it flushes: the
         * last close may have come and signalled meanwhile. */
        if (ticker.users == 0 || gen != ticker.gen)
            break;
        ticker.wake_ms = next;
        if (next == INT64_MAX) {
            pthread_cond_wait(&ticker.cond, &ticker.mu);
        } else {
            struct timespec ts;
            abs_time(next, &ts);
            pthread_cond_timedwait(&ticker.cond, &ticker.mu, &ts);
        }
    }
    pthread_mutex_unlock(&ticker.mu);
    return NULL;
}

static void ticker_init(void)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a))
        return;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&ticker.cond, &a);
    pthread_condattr_destroy(&a);
    if (rc)
        return;
    ticker.wake_ms = INT64_MAX;
    ticker.ok = true;
}

/* One more flusher; starts the thread for the first. */
static int ticker_join_users(void)
{
    int rc = 0;
    pthread_mutex_lock(&ticker.mu);
    if (!ticker.running) {
        unsigned gen = ++ticker.gen;
        ticker.wake_ms = INT64_MAX;
        if (pthread_create(&ticker.thread, NULL, ticker_main,
                           (void *)(uintptr_t)gen))
            rc = GOIO_EAGAIN;
        ticker.running = rc == 0;
    }
    if (!rc)
        ticker.users++;
    pthread_mutex_unlock(&ticker.mu);
    return rc;
}

/* One flusher fewer; the last one stops the thread and waits for it. */
static void ticker_leave_users(void)
{
    pthread_t stopped;
    bool join = false;
    pthread_mutex_lock(&ticker.mu);
    if (--ticker.users == 0 && ticker.running) {
        ticker.running = false;
        ticker.gen++;
        stopped = ticker.thread;
        join = true;
        pthread_cond_signal(&ticker.cond);
    }
    pthread_mutex_unlock(&ticker.mu);
    if (join)
        pthread_join(stopped, NULL);
}

/* Schedules a flush interval_ms from now. Under af->mu. */
static void schedule(autoflusher *af)
{
    pthread_mutex_lock(&ticker.mu);
    if (!af->listed) {
        af->due_ms = goio_time_add_ms(goio_now_mono_ms(), af->interval_ms);
        af->listed = true;
        af->prev = NULL;
        af->next = ticker.head;
        if (ticker.head)
            ticker.head->prev = af;
        ticker.head = af;
        if (af->due_ms < ticker.wake_ms)
            pthread_cond_signal(&ticker.cond);
    }
    pthread_mutex_unlock(&ticker.mu);
}

/* ---- the AutoFlusher writer ---------------------------------------------- */

static ssize_t af_write(goio_io_writer *w, const void *p, size_t len)
{
    autoflusher *af = (autoflusher *)w;
    pthread_mutex_lock(&af->mu);
    ssize_t n = af->err;
    if (!n)
        n = af->dst->ops->write(af->dst, p, len);
    if (n > 0) {
        af->dirty = true;
        schedule(af);
    }
    pthread_mutex_unlock(&af->mu);
    return n;
}

static int af_flush(goio_io_writer *w)
{
    autoflusher *af = (autoflusher *)w;
    pthread_mutex_lock(&af->mu);
    int rc = af->err;
    if (!rc) {
        af->dirty = false;
        rc = goio_io_flush(af->dst);
    }
    pthread_mutex_unlock(&af->mu);
    return rc;
}

static int af_close(goio_io_writer *w)
{
    autoflusher *af = (autoflusher *)w;
    pthread_mutex_lock(&af->mu);
    pthread_mutex_lock(&ticker.mu);
    unlist(af);
    pthread_mutex_unlock(&ticker.mu);
    int rc = af->err;
    if (!rc && af->dirty)
        rc = goio_io_flush(af->dst);
    pthread_mutex_unlock(&af->mu);
    if (af->own_dst) {
        int crc = goio_io_writer_close(af->dst);
        rc = rc ? rc : crc;
    }
    pthread_mutex_destroy(&af->mu);
    goio_free(af);
    ticker_leave_users();
    return rc;
}

static const goio_io_writer_ops af_ops = {
    .write = af_write,
    .flush = af_flush,
    .close = af_close,
};

int goio_http_autoflusher_new(goio_io_writer *dst, int64_t interval_ms,
                              bool own_dst, goio_io_writer **out)
{
    if (!dst || !dst->ops || !dst->ops->flush || interval_ms <= 0 || !out)
        return GOIO_EINVAL;
    pthread_once(&ticker.once, ticker_init);
    if (!ticker.ok)
        return GOIO_EAGAIN;
    autoflusher *af = goio_calloc(1, sizeof *af);
    if (!af)
        return GOIO_ENOMEM;
    if (pthread_mutex_init(&af->mu, NULL)) {
        goio_free(af);
        return GOIO_ENOMEM;
    }
    int rc = ticker_join_users();
    if (rc) {
        pthread_mutex_destroy(&af->mu);
        goio_free(af);
        return rc;
    }
    af->w.ops = &af_ops;
    af->dst = dst;
    af->own_dst = own_dst;
    af->interval_ms = interval_ms;
    *out = &af->w;
    return 0;
}

/* ---- chunked rendering --------------------------------------------------- */

void goio_http_render_config_init(goio_http_render_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->chunk_size = 64 * 1024;
    cfg->flush_interval_ms = 50;
    cfg->status = 200;
}

/* Sets the headers and sends them, so the client sees the response start
 * even when the first bytes are slow. */
static int start_response(goio_http_response *res, const char *content_type,
                          int status)
{
    int rc = 0;
    if (content_type)
        rc = goio_http_response_default_content_type(res, content_type);
    if (!rc)
        rc = goio_http_response_set_header(res, "Transfer-Encoding", "chunked");
    if (!rc)
        rc = goio_http_response_write_header(res, status);
    if (!rc)
        rc = goio_http_response_flush(res);
    return rc;
}

/* Copies src to dst; *src_err tells a read failure from a write one. */
static int copy_body(goio_io_writer *dst, goio_io_reader *src, size_t chunk,
                     bool *src_err)
{
    size_t cap;
    void *buf = goio_io_bufpool_get(goio_io_bufpool_default(), chunk, &cap);
    if (!buf)
        return GOIO_ENOMEM;
    int rc = 0;
    for (;;) {
        ssize_t n = goio_io_read(src, buf, chunk < cap ? chunk : cap);
        if (n <= 0) {
            rc = (int)n;
            *src_err = n < 0;
            break;
        }
        if ((rc = goio_io_write(dst, buf, (size_t)n)))
            break;
    }
    goio_io_bufpool_put(goio_io_bufpool_default(), buf, cap);
    return rc;
}

/*
 * The same on goio's own response, one copy fewer: each read lands in a
 * fresh pooled buffer that becomes the chunk itself (a full 64 KiB read is
 * sent as is). Small reads still go through the AutoFlusher `dst`, which
 * gathers them and flushes them in time.
 */
static int copy_body_direct(goio__http_exchange *ex, goio_io_writer *dst,
                            goio_io_reader *src, size_t chunk, bool *src_err)
{
    for (;;) {
        size_t cap;
        void *buf = goio_io_bufpool_get(goio_io_bufpool_default(), chunk, &cap);
        if (!buf)
            return GOIO_ENOMEM;
        ssize_t n = goio_io_read(src, buf, chunk < cap ? chunk : cap);
        if (n <= 0) {
            goio_io_bufpool_put(goio_io_bufpool_default(), buf, cap);
            *src_err = n < 0;
            return (int)n;
        }
        int rc;
        if ((size_t)n < chunk / 2) {
            rc = goio_io_write(dst, buf, (size_t)n);
            goio_io_bufpool_put(goio_io_bufpool_default(), buf, cap);
        } else {
            rc = goio__http_exchange_give(ex, buf, cap, (size_t)n);
        }
        if (rc)
            return rc;
    }
}

static void log_failure(int rc, bool src_err)
{
    goio_log(src_err ? GOIO_LOG_ERROR : GOIO_LOG_WARN, GOIO__HTTP_CAT,
             "chunked_response_write_error", NULL, rc,
             src_err ? "reading the body failed, aborting the response: %s"
                     : "writing the body failed: %s",
             goio_strerror(rc));
}

int goio_http_render_chunked(goio_http_response *res, const char *content_type,
                             goio_io_reader *src,
                             const goio_http_render_config *opts)
{
    goio_http_render_config o;
    goio_http_render_config_init(&o);
    if (opts)
        o = *opts;
    if (!res || !res->ops || !src || !o.chunk_size ||
        o.flush_interval_ms <= 0 || o.status < 200 || o.status > 999) {
        goio_io_reader_close(src);
        return GOIO_EINVAL;
    }
    goio_io_writer *rw = NULL, *af = NULL;
    bool src_err = false;
    int rc = start_response(res, content_type, o.status);
    if (!rc)
        rc = goio_http_response_writer_new(res, &rw);
    if (!rc &&
        (rc = goio_http_autoflusher_new(rw, o.flush_interval_ms, true, &af)))
        goio_io_writer_close(rw);
    if (!rc) {
        goio__http_exchange *ex = goio__http_exchange_of(res);
        rc = ex && o.chunk_size == goio__http_server_cfg(ex->srv)->chunk_size
                 ? copy_body_direct(ex, af, src, o.chunk_size, &src_err)
                 : copy_body(af, src, o.chunk_size, &src_err);
        int crc = goio_io_writer_close(af); /* the last flush */
        rc = rc ? rc : crc;
    }
    goio_io_reader_close(src);
    if (rc) {
        /* What was read is flushed already; the missing final chunk tells
         * the client the body is incomplete. */
        log_failure(rc, src_err);
        goio_http_response_abort(res, rc);
    }
    return rc;
}
