/* SPDX-License-Identifier: MIT */
/*
 * Streamed request bodies: the loop thread parses body bytes into a
 * bounded buffer (goio__http_stream), a handler reads them out. When the
 * buffer is full the connection stops reading from its socket (the client
 * is held back by TCP); when the handler has made room the loop is
 * notified and reads again. Buffered (non-streamed) bodies are read
 * through the same calls, so a handler works either way.
 */
#include "http_int.h"

#include <string.h>
#include <time.h>

/* A waiting reader rechecks its ctx at least this often (cancellation of
 * a caller's own ctx has no wake-up of its own). */
#define WAIT_SLICE_MS 50

int goio__http_stream_new(size_t cap, goio__http_stream **out)
{
    goio__http_stream *st = goio_calloc(1, sizeof *st);
    if (!st)
        return GOIO_ENOMEM;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr)) {
        goio_free(st);
        return GOIO_ENOMEM;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&st->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc) {
        goio_free(st);
        return GOIO_ENOMEM;
    }
    if (pthread_mutex_init(&st->mu, NULL)) {
        pthread_cond_destroy(&st->cond);
        goio_free(st);
        return GOIO_ENOMEM;
    }
    st->cap = cap ? cap : 1;
    *out = st;
    return 0;
}

void goio__http_stream_free(goio__http_stream *st)
{
    if (!st)
        return;
    goio_free(st->data);
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->mu);
    goio_free(st);
}

int goio__http_stream_append(goio__http_stream *st, const void *p, size_t n)
{
    pthread_mutex_lock(&st->mu);
    int rc = 0;
    if (st->off && st->len + n > st->alloc) {
        memmove(st->data, st->data + st->off, st->len - st->off);
        st->len -= st->off;
        st->off = 0;
    }
    if (st->len + n > st->alloc) {
        /* Up to cap as a rule; beyond only for bytes read ahead of the
         * dispatch (bounded by what the connection buffers). */
        size_t want = st->alloc ? st->alloc * 2 : 16384;
        want = want > st->cap ? st->cap : want;
        if (want < st->len + n)
            want = st->len + n;
        uint8_t *d = goio_realloc(st->data, want);
        if (!d) {
            rc = GOIO_ENOMEM;
            goto out;
        }
        st->data = d;
        st->alloc = want;
    }
    memcpy(st->data + st->len, p, n);
    st->len += n;
    st->total += n;
    pthread_cond_broadcast(&st->cond);
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

size_t goio__http_stream_room(goio__http_stream *st)
{
    pthread_mutex_lock(&st->mu);
    size_t held = st->len - st->off;
    size_t room = held < st->cap ? st->cap - held : 0;
    if (!room)
        st->loop_waiting = true;
    pthread_mutex_unlock(&st->mu);
    return room;
}

void goio__http_stream_end(goio__http_stream *st, int error, int status)
{
    pthread_mutex_lock(&st->mu);
    if (!st->eof && !st->error) {
        if (error < 0) {
            st->error = error;
            st->status = status;
        } else {
            st->eof = true;
        }
    }
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->mu);
}

void goio__http_stream_state(goio__http_stream *st, bool *complete, int *status)
{
    pthread_mutex_lock(&st->mu);
    *complete = st->eof;
    *status = st->status;
    pthread_mutex_unlock(&st->mu);
}

/* Waits (under st->mu) until bytes, the end or a failure, or ctx is done. */
static int stream_wait(goio__http_stream *st, goio_ctx *ctx)
{
    int rc;
    while (st->len == st->off && !st->eof && !st->error) {
        if ((rc = goio_ctx_err(ctx)))
            return rc;
        int64_t ms = goio_ctx_remaining_ms(ctx);
        if (ms < 0 || ms > WAIT_SLICE_MS)
            ms = WAIT_SLICE_MS;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        ts.tv_sec += (time_t)(ms / 1000) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&st->cond, &st->mu, &ts);
    }
    return 0;
}

/* Reads from a stream; *notify: the loop stopped reading and there is
 * room again. */
static int stream_read(goio__http_stream *st, goio_ctx *ctx, void *buf,
                       size_t cap, size_t *n, bool *notify)
{
    pthread_mutex_lock(&st->mu);
    int rc = stream_wait(st, ctx);
    if (!rc && st->len > st->off) {
        size_t k = st->len - st->off;
        k = k < cap ? k : cap;
        memcpy(buf, st->data + st->off, k);
        st->off += k;
        if (st->off == st->len)
            st->off = st->len = 0;
        *n = k;
        if (st->loop_waiting && st->len - st->off <= st->cap / 2) {
            st->loop_waiting = false;
            *notify = true;
        }
    } else if (!rc && !st->eof) {
        rc = st->error;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int goio_http_request_body_read(goio_http_request *req, goio_ctx *ctx,
                                void *buf, size_t cap, size_t *n)
{
    if (n)
        *n = 0;
    if (!req || !buf || !cap || !n)
        return GOIO_EINVAL;
    goio__http_stream *st = req->stream;
    if (!st) {
        /* A buffered body: read it from where the last read stopped. */
        size_t left = req->body.len - req->body_read;
        size_t k = left < cap ? left : cap;
        if (k)
            memcpy(buf, req->body.data + req->body_read, k);
        req->body_read += k;
        *n = k;
        return 0;
    }
    goio__http_exchange *ex = req->ex;
    bool notify = false;
    /* A handler waiting for a slow client must not hold one of the
     * worker_threads (as a write waiting for one does not). */
    pthread_mutex_lock(&st->mu);
    bool waits = st->len == st->off && !st->eof && !st->error;
    pthread_mutex_unlock(&st->mu);
    if (waits && ex)
        goio__http_server_worker_waits(ex->srv, true);
    int rc = stream_read(st, ctx, buf, cap, n, &notify);
    if (waits && ex)
        goio__http_server_worker_waits(ex->srv, false);
    if (notify && ex)
        goio__http_server_notify(ex->srv, ex);
    return rc;
}

bool goio_http_request_body_is_streamed(const goio_http_request *req)
{
    return req && req->stream;
}

/* ---- goio_io_reader adapter ---------------------------------------------- */

typedef struct body_reader {
    goio_io_reader r;
    goio_http_request *req;
} body_reader;

static ssize_t br_read(goio_io_reader *r, void *buf, size_t cap)
{
    goio_http_request *req = ((body_reader *)r)->req;
    size_t n = 0;
    int rc = goio_http_request_body_read(req, req->ctx, buf, cap, &n);
    return rc ? rc : (ssize_t)n;
}

static int br_close(goio_io_reader *r)
{
    goio_free(r);
    return 0;
}

static const goio_io_reader_ops body_reader_ops = {
    .read = br_read,
    .close = br_close,
};

int goio_http_request_body_reader_new(goio_http_request *req,
                                      goio_io_reader **out)
{
    if (out)
        *out = NULL;
    if (!req || !out)
        return GOIO_EINVAL;
    body_reader *r = goio_calloc(1, sizeof *r);
    if (!r)
        return GOIO_ENOMEM;
    r->r.ops = &body_reader_ops;
    r->req = req;
    *out = &r->r;
    return 0;
}
