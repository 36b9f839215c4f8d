/* SPDX-License-Identifier: MIT */
/*
 * Connections, on the loop thread only: read and parse requests, hand
 * them to the workers, write what their responses queue, enforce the
 * idle/header/request/send timeouts, and close.
 *
 * Closing has two forms. A graceful close (after a response that must be
 * the last, an abort, a 4xx, an idle timeout) shuts the write side down
 * (a FIN after every queued byte) and keeps reading and discarding the
 * peer's bytes for up to linger_timeout_ms: closing a socket with unread
 * input makes the kernel send a reset, and a reset destroys data still in
 * flight to the client (curl would report 56, not 18). A hard close is
 * for connections that already failed.
 */
#include "http_int.h"

#include <stdio.h>
#include <string.h>
#ifdef __linux__
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

typedef struct write_req {
    uv_write_t req;
    goio__http_conn *conn;
    goio__http_exchange *ex; /* NULL for the server's own answers */
    goio__http_seg *segs;
    size_t bytes;
    uv_buf_t bufs[];
} write_req;

static void conn_close_hard(goio__http_conn *c, int error);
static void conn_stream_feed(goio__http_conn *c);
static void conn_stream_flow(goio__http_conn *c);
static void stop_reading(goio__http_conn *c);
static void conn_close_graceful(goio__http_conn *c);
static void conn_touch(goio__http_conn *c);
static void conn_check_done(goio__http_conn *c);
static void conn_parse_inbuf(goio__http_conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static const goio_http_server_config *cfg(goio__http_conn *c)
{
    return &c->srv->cfg;
}

/* ---- timers -------------------------------------------------------------- */

static uint64_t remaining(goio__http_conn *c, int64_t timeout_ms)
{
    uint64_t end = c->msg_start + (uint64_t)timeout_ms;
    uint64_t now = uv_now(&c->srv->loop);
    return end > now ? end - now : 0;
}

static void on_timer(uv_timer_t *t);

/*
 * Response bytes that left for the client so far: handed to the kernel
 * (submitted minus what libuv still queues) and, where the kernel says,
 * acknowledged by the peer (minus the socket's unsent/unacked queue). A
 * steady slow reader moves it forward however large the writes are.
 */
static uint64_t conn_delivered(goio__http_conn *c)
{
    uint64_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    uint64_t n = c->submitted > queued ? c->submitted - queued : 0;
#ifdef SIOCOUTQ
    uv_os_fd_t fd;
    int outq = 0;
    if (!uv_fileno((uv_handle_t *)&c->tcp, &fd) && !ioctl(fd, SIOCOUTQ, &outq))
        n = (uint64_t)outq < n ? n - (uint64_t)outq : 0;
#endif
    return n;
}

/* (Re)arms the one timer according to the state. */
static void conn_arm(goio__http_conn *c)
{
    int64_t ms = -1;
    switch (c->state) {
    case GOIO__CONN_IDLE:
        ms = cfg(c)->idle_timeout_ms;
        break;
    case GOIO__CONN_READING:
        ms = (int64_t)remaining(c, c->rp.headers_done
                                       ? cfg(c)->request_timeout_ms
                                       : cfg(c)->header_timeout_ms);
        break;
    case GOIO__CONN_HANDLING:
        /* Output first; else a streamed body the client must go on with
         * (while the handler holds it back, the client is not late). */
        if (c->inflight)
            ms = cfg(c)->send_timeout_ms;
        else if (c->rp.stream && c->reading)
            ms = cfg(c)->request_timeout_ms;
        break;
    case GOIO__CONN_LINGER:
        /* Last bytes still going out: progress decides, then linger. */
        ms = c->inflight ? cfg(c)->send_timeout_ms : cfg(c)->linger_timeout_ms;
        break;
    case GOIO__CONN_CLOSED:
        break;
    }
    if (ms < 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    if (c->inflight)
        c->delivered_mark = conn_delivered(c);
    uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
}

/* ---- writing ------------------------------------------------------------- */

static void write_req_done(write_req *w, int status)
{
    goio__http_segs_free(w->segs);
    if (w->ex) {
        goio__http_exchange_sent(w->ex, w->bytes, status < 0 ? status : 0);
        goio__http_exchange_unref(w->ex);
    }
    goio_free(w);
}

static void on_write(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    goio__http_conn *c = w->conn;
    write_req_done(w, status);
    c->inflight--;
    if (c->state == GOIO__CONN_CLOSED)
        return;
    if (status < 0) {
        conn_close_hard(c, status);
        return;
    }
    if (c->state == GOIO__CONN_HANDLING || c->state == GOIO__CONN_LINGER)
        conn_arm(c);
    conn_check_done(c);
}

/* Writes segs (taken from ex, or the server's own when ex is NULL). */
static void conn_write(goio__http_conn *c, goio__http_exchange *ex,
                       goio__http_seg *segs, size_t bytes)
{
    size_t n = 0;
    for (goio__http_seg *s = segs; s; s = s->next)
        n += 3;
    write_req *w = goio_malloc(sizeof *w + n * sizeof(uv_buf_t));
    if (!w) {
        goio__http_segs_free(segs);
        if (ex)
            goio__http_exchange_sent(ex, bytes, GOIO_ENOMEM);
        conn_close_hard(c, GOIO_ENOMEM);
        return;
    }
    w->conn = c;
    w->ex = ex ? goio__http_exchange_ref(ex) : NULL;
    w->segs = segs;
    w->bytes = bytes;
    unsigned nb = 0;
    for (goio__http_seg *s = segs; s; s = s->next) {
        if (s->pre_len)
            w->bufs[nb++] = uv_buf_init(s->pre, s->pre_len);
        if (s->len)
            w->bufs[nb++] = uv_buf_init((char *)s->data, (unsigned)s->len);
        if (s->post)
            w->bufs[nb++] = uv_buf_init((char *)"\r\n", 2);
    }
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, w->bufs, nb, on_write);
    if (rc < 0) {
        write_req_done(w, rc);
        conn_close_hard(c, rc);
        return;
    }
    c->inflight++;
    c->submitted += bytes;
    if (c->inflight == 1 &&
        (c->state == GOIO__CONN_HANDLING || c->state == GOIO__CONN_LINGER))
        conn_arm(c);
}

/* Answers an error status and closes (nothing was handed to a worker). */
static void conn_answer_error(goio__http_conn *c, int status)
{
    const char *text = goio_http_status_text(status);
    goio_buf b = GOIO_BUF_INIT;
    size_t body = (size_t)snprintf(NULL, 0, "%d %s", status, text);
    goio_buf_appendf(&b,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
                     "charset=utf-8\r\nConnection: close\r\n",
                     status, text);
    if (status == 405)
        goio_buf_appendf(&b, "Allow: %s\r\n", c->allow);
    goio_buf_appendf(&b, "Content-Length: %zu\r\n\r\n%d %s", body, status,
                     text);
    goio__http_seg *s = b.len ? goio_calloc(1, sizeof *s) : NULL;
    if (!s) {
        goio_buf_deinit(&b);
        conn_close_hard(c, GOIO_ENOMEM);
        return;
    }
    s->kind = GOIO__SEG_HEAP;
    s->data = goio_buf_detach(&b, &s->len);
    conn_write(c, NULL, s, s->len);
    if (c->state != GOIO__CONN_CLOSED)
        conn_close_graceful(c);
}

/* ---- exchanges ----------------------------------------------------------- */

static void conn_detach(goio__http_conn *c, int error)
{
    goio__http_exchange *ex = c->ex;
    if (!ex)
        return;
    c->ex = NULL;
    ex->conn = NULL;
    if (c->rp.stream) {
        /* A body still arriving: its reader fails, the connection closes
         * (the rest of the body is never parsed). */
        goio__http_stream_end(c->rp.stream, error ? error : GOIO_ECLOSED, 0);
        c->rp.stream = NULL;
        c->body_failed = true;
    }
    if (error) {
        goio__http_exchange_sent(ex, 0, error);
        goio_ctx_cancel(ex->req->ctx);
    }
    goio__http_exchange_unref(ex);
}

static void conn_next_request(goio__http_conn *c)
{
    c->state = GOIO__CONN_IDLE;
    conn_touch(c);
    c->continue_sent = false;
    c->body_failed = false;
    conn_parse_inbuf(c);
    if (c->state == GOIO__CONN_IDLE || c->state == GOIO__CONN_READING) {
        conn_arm(c);
        if (!c->reading && !c->peer_eof &&
            !uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
            c->reading = true;
    }
}

/* Once the exchange has ended and every byte left: keep-alive or close. */
static void conn_check_done(goio__http_conn *c)
{
    goio__http_exchange *ex = c->ex;
    if (!ex || c->inflight || c->state != GOIO__CONN_HANDLING)
        return;
    pthread_mutex_lock(&ex->mu);
    bool done = (ex->ended || ex->aborted) && !ex->q_head;
    bool keep = ex->keep_alive && !ex->aborted && !ex->failed;
    pthread_mutex_unlock(&ex->mu);
    if (!done)
        return;
    /* A streamed body not read to its end (or failed) ends the
     * connection: the parser cannot find the next request. */
    keep = keep && !c->rp.stream && !c->body_failed;
    conn_detach(c, 0);
    if (!keep || c->peer_eof || atomic_load(&c->srv->stopping))
        conn_close_graceful(c);
    else
        conn_next_request(c);
}

void goio__http_conn_process(goio__http_exchange *ex)
{
    size_t bytes;
    goio__http_seg *segs = goio__http_exchange_take(ex, &bytes);
    goio__http_conn *c = ex->conn;
    if (!c || c->state == GOIO__CONN_CLOSED) {
        goio__http_segs_free(segs);
        goio__http_exchange_sent(ex, bytes, 0);
        return;
    }
    if (segs)
        conn_write(c, ex, segs, bytes);
    /* The handler may have made room in a streamed body. */
    if (c->state == GOIO__CONN_HANDLING && c->rp.stream && !c->reading)
        conn_stream_feed(c);
    if (c->state != GOIO__CONN_CLOSED)
        conn_check_done(c);
}

static void conn_dispatch(goio__http_conn *c, goio_http_request *req)
{
    goio_http_server *srv = c->srv;
    goio__http_exchange *ex = NULL;
    memcpy(req->remote, c->remote, sizeof req->remote);
    if (goio_ctx_new(srv->root_ctx, &req->ctx) ||
        goio__http_exchange_new(srv, req, &ex)) {
        if (req->stream && c->rp.stream == req->stream)
            c->rp.stream = NULL;
        goio__http_request_free(req);
        conn_answer_error(c, 503);
        return;
    }
    c->ex = ex; /* the loop's reference */
    ex->conn = c;
    c->state = GOIO__CONN_HANDLING;
    conn_arm(c);
    goio__http_server_dispatch(srv, goio__http_exchange_ref(ex));
}

/* ---- reading ------------------------------------------------------------- */

static void send_continue(goio__http_conn *c)
{
    goio__http_seg *s = goio__http_seg_static("HTTP/1.1 100 Continue\r\n\r\n");
    if (!s) {
        conn_close_hard(c, GOIO_ENOMEM);
        return;
    }
    c->continue_sent = true;
    conn_write(c, NULL, s, s->len);
}

/* Feeds p[0..len) to the parser; returns how much it consumed. */
static size_t conn_parse(goio__http_conn *c, const char *p, size_t len)
{
    size_t used = 0;
    goio__http_feed f = goio__http_parser_feed(&c->rp, p, len, &used);
    if (c->state == GOIO__CONN_IDLE && c->rp.in_message) {
        c->state = GOIO__CONN_READING;
        c->msg_start = uv_now(&c->srv->loop);
    }
    switch (f) {
    case GOIO__HTTP_FEED_REQUEST: {
        goio_http_request *req = goio__http_parser_take(&c->rp);
        if (!req)
            break;
        /* A streamed body is asked for when the handler starts. */
        if (c->rp.stream && req->expect_continue && !c->continue_sent)
            send_continue(c);
        if (c->state != GOIO__CONN_CLOSED)
            conn_dispatch(c, req);
        else
            goio__http_request_free(req);
        if (c->state == GOIO__CONN_HANDLING && c->rp.stream)
            conn_stream_flow(c);
        break;
    }
    case GOIO__HTTP_FEED_ERROR:
        goio_log(GOIO_LOG_INFO, GOIO__HTTP_CAT, "http_bad_request", c->remote,
                 GOIO_EPROTO, "answering %d and closing", c->rp.status);
        conn_answer_error(c, c->rp.status);
        break;
    case GOIO__HTTP_FEED_MORE:
        if (c->rp.headers_done && c->rp.cur && c->rp.cur->expect_continue &&
            !c->continue_sent)
            send_continue(c);
        if (c->state == GOIO__CONN_READING)
            conn_arm(c);
        break;
    }
    return used;
}

static void conn_parse_inbuf(goio__http_conn *c)
{
    if (!c->inbuf.len)
        return;
    size_t used = conn_parse(c, (const char *)c->inbuf.data, c->inbuf.len);
    memmove(c->inbuf.data, c->inbuf.data + used, c->inbuf.len - used);
    c->inbuf.len -= used;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    goio__http_conn *c = (goio__http_conn *)h;
    *buf = uv_buf_init(c->srv->readbuf, (unsigned)c->srv->readbuf_len);
}

static void stop_reading(goio__http_conn *c)
{
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

/* While a handler runs: watch for the client leaving, keep what it sends
 * next (bounded). */
static void read_while_handling(goio__http_conn *c, const char *p, ssize_t n)
{
    if (n == UV_EOF) {
        c->peer_eof = true;
        stop_reading(c);
        goio_ctx_cancel(c->ex->req->ctx); /* Go: the client went away */
        return;
    }
    if (n < 0) {
        conn_close_hard(c, (int)n);
        return;
    }
    if (goio_buf_append(&c->inbuf, p, (size_t)n)) {
        conn_close_hard(c, GOIO_ENOMEM);
        return;
    }
    if (c->inbuf.len > cfg(c)->max_header_bytes + c->srv->readbuf_len)
        stop_reading(c);
}

/* A streamed body failed (malformed, too large, too slow, client gone):
 * its reader gets the error, the connection reads no more and closes
 * after the answer (the status, when the handler does not answer). */
static void conn_stream_fail(goio__http_conn *c, int status, int error)
{
    goio_log(GOIO_LOG_INFO, GOIO__HTTP_CAT, "http_bad_request", c->remote,
             error, "streamed body failed: %d", status);
    goio__http_stream_end(c->rp.stream, error, status);
    c->rp.stream = NULL;
    c->body_failed = true;
    stop_reading(c);
    goio_buf_clear(&c->inbuf);
}

static int stream_error_of(int status)
{
    switch (status) {
    case 408:
        return GOIO_ETIMEDOUT;
    case 413:
        return GOIO_E2BIG;
    case 503:
        return GOIO_ENOMEM;
    default:
        return GOIO_EBADMSG;
    }
}

/*
 * Parses buffered body bytes of a streamed request, no more than its
 * buffer has room for (framing bytes only shrink what a feed yields), so
 * a handler that does not read holds the client back through TCP.
 */
static void conn_stream_feed(goio__http_conn *c)
{
    while (c->rp.stream && c->inbuf.len) {
        size_t room = goio__http_stream_room(c->rp.stream);
        if (!room)
            break;
        size_t n = room < c->inbuf.len ? room : c->inbuf.len, used = 0;
        goio__http_feed f = goio__http_parser_feed(
            &c->rp, (const char *)c->inbuf.data, n, &used);
        memmove(c->inbuf.data, c->inbuf.data + used, c->inbuf.len - used);
        c->inbuf.len -= used;
        if (f == GOIO__HTTP_FEED_ERROR) {
            conn_stream_fail(c, c->rp.status, stream_error_of(c->rp.status));
            return;
        }
        if (f == GOIO__HTTP_FEED_REQUEST)
            goio__http_parser_take(&c->rp); /* the body ended */
    }
    conn_stream_flow(c);
}

/* Reads from the socket while a streamed body has room (or is over). */
static void conn_stream_flow(goio__http_conn *c)
{
    if (c->rp.stream) {
        if (!goio__http_stream_room(c->rp.stream))
            stop_reading(c); /* until the handler makes room */
        else if (!c->reading && !c->peer_eof &&
                 !uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
            c->reading = true;
    } else if (!c->body_failed) {
        /* The body is complete: bytes after it wait for the next turn. */
        if (c->inbuf.len > cfg(c)->max_header_bytes + c->srv->readbuf_len)
            stop_reading(c);
        else if (!c->reading && !c->peer_eof &&
                 !uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
            c->reading = true;
    }
    if (!c->inflight)
        conn_arm(c);
}

/* Bytes of a streamed body while its handler runs. */
static void conn_stream_read(goio__http_conn *c, const char *p, ssize_t n)
{
    if (n < 0) {
        /* The client left before the body's end. */
        conn_stream_fail(c, 400, GOIO_ECONNRESET);
        read_while_handling(c, p, n);
        return;
    }
    if (goio_buf_append(&c->inbuf, p, (size_t)n)) {
        conn_close_hard(c, GOIO_ENOMEM);
        return;
    }
    conn_stream_feed(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    goio__http_conn *c = (goio__http_conn *)s;
    if (n == 0)
        return;
    switch (c->state) {
    case GOIO__CONN_CLOSED:
        return;
    case GOIO__CONN_LINGER:
        if (n < 0) {
            c->peer_eof = true;
            stop_reading(c);
            if (!c->inflight)
                conn_close_hard(c, 0); /* else on_shutdown closes */
        }
        return;
    case GOIO__CONN_HANDLING:
        if (c->rp.stream)
            conn_stream_read(c, buf->base, n);
        else
            read_while_handling(c, buf->base, n);
        return;
    case GOIO__CONN_IDLE:
    case GOIO__CONN_READING:
        break;
    }
    if (n < 0) {
        conn_close_hard(c, 0); /* EOF or error between requests */
        return;
    }
    if (c->inbuf.len) {
        if (goio_buf_append(&c->inbuf, buf->base, (size_t)n)) {
            conn_close_hard(c, GOIO_ENOMEM);
            return;
        }
        conn_parse_inbuf(c);
        return;
    }
    size_t used = conn_parse(c, buf->base, (size_t)n);
    if (used < (size_t)n && c->state == GOIO__CONN_HANDLING &&
        goio_buf_append(&c->inbuf, buf->base + used, (size_t)n - used))
        conn_close_hard(c, GOIO_ENOMEM);
}

/* ---- closing ------------------------------------------------------------- */

static void on_close(uv_handle_t *h)
{
    goio__http_conn *c = h->data;
    if (--c->open_handles)
        return;
    goio_http_server *srv = c->srv;
    goio__http_parser_reset(&c->rp);
    goio_buf_deinit(&c->inbuf);
    goio_free(c);
    goio__http_server_conn_gone(srv);
}

static void client_release(goio_http_server *srv, goio__http_client *cl);

/* srv->conns is kept in the order connections went idle (oldest first),
 * so the eviction candidate is found from the head. */
static void list_remove(goio_http_server *srv, goio__http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        srv->conns_tail = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(goio_http_server *srv, goio__http_conn *c)
{
    c->next = NULL;
    c->prev = srv->conns_tail;
    if (srv->conns_tail)
        srv->conns_tail->next = c;
    else
        srv->conns = c;
    srv->conns_tail = c;
}

/* c goes idle (or starts lingering) now: the youngest. */
static void conn_touch(goio__http_conn *c)
{
    goio_http_server *srv = c->srv;
    c->since = ++srv->idle_seq;
    c->idle_at = uv_now(&srv->loop);
    if (c->state == GOIO__CONN_CLOSED)
        return; /* unlinked */
    list_remove(srv, c);
    list_append(srv, c);
}

static void conn_unlink(goio__http_conn *c)
{
    goio_http_server *srv = c->srv;
    srv->nlinked--;
    if (c->client)
        client_release(srv, c->client);
    c->client = NULL;
    list_remove(srv, c);
    /* A slot is free: take the deferred connection (next loop turn). */
    if (srv->accept_deferred)
        uv_timer_start(&srv->accept_timer, goio__http_accept_deferred, 0, 0);
}

/* Closes now. error != 0: the exchange in flight failed with it. */
static void conn_close_hard(goio__http_conn *c, int error)
{
    if (c->state == GOIO__CONN_CLOSED)
        return;
    c->state = GOIO__CONN_CLOSED;
    conn_detach(c, error ? error : GOIO_ECONNRESET);
    stop_reading(c);
    conn_unlink(c);
    uv_close((uv_handle_t *)&c->timer, on_close);
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    goio__http_conn *c = req->data;
    if (c->state == GOIO__CONN_CLOSED)
        return;
    if (status < 0 || c->peer_eof)
        conn_close_hard(c, status < 0 ? status : 0);
    else
        conn_arm(c); /* every byte is out: linger for the peer's FIN */
}

static void conn_close_graceful(goio__http_conn *c)
{
    if (c->state == GOIO__CONN_CLOSED || c->state == GOIO__CONN_LINGER)
        return;
    /* An unfinished exchange (an abort) keeps its queued bytes: they are
     * written already; later writes fail. */
    conn_detach(c, c->ex ? GOIO_ECLOSED : 0);
    c->state = GOIO__CONN_LINGER;
    conn_touch(c);
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown)) {
        conn_close_hard(c, 0);
        return;
    }
    if (!c->reading && !c->peer_eof &&
        !uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
        c->reading = true;
    conn_arm(c);
}

static void on_timer(uv_timer_t *t)
{
    goio__http_conn *c = t->data;
    switch (c->state) {
    case GOIO__CONN_IDLE:
        conn_close_graceful(c);
        break;
    case GOIO__CONN_READING:
        goio_log(GOIO_LOG_INFO, GOIO__HTTP_CAT, "http_request_timeout",
                 c->remote, GOIO_ETIMEDOUT, "request not received in time");
        conn_answer_error(c, 408);
        break;
    case GOIO__CONN_HANDLING:
        if (!c->inflight && c->rp.stream) {
            goio_log(GOIO_LOG_INFO, GOIO__HTTP_CAT, "http_request_timeout",
                     c->remote, GOIO_ETIMEDOUT, "request body stalled");
            conn_stream_fail(c, 408, GOIO_ETIMEDOUT);
            break;
        }
        if (c->inflight && conn_delivered(c) > c->delivered_mark) {
            conn_arm(c); /* the client took bytes: progress */
            break;
        }
        goio_log(GOIO_LOG_WARN, GOIO__HTTP_CAT, "http_send_timeout", c->remote,
                 GOIO_ETIMEDOUT, "client took no bytes for %lld ms, closing",
                 (long long)cfg(c)->send_timeout_ms);
        conn_close_hard(c, GOIO_ETIMEDOUT);
        break;
    case GOIO__CONN_LINGER:
        if (c->inflight && conn_delivered(c) > c->delivered_mark)
            conn_arm(c); /* the last bytes are still moving */
        else
            conn_close_hard(c, 0);
        break;
    case GOIO__CONN_CLOSED:
        break;
    }
}

/* ---- accepting ----------------------------------------------------------- */

/* The parser's question when a request with a body has its headers:
 * route it now, so a body no route takes is never buffered. */
static int conn_head_check(void *data, goio_http_request *req)
{
    goio__http_conn *c = data;
    int rc = goio__http_router_precheck(
        cfg(c)->handler_data, goio_http_request_method(req),
        goio_http_request_path(req), c->allow, sizeof c->allow);
    /* Middleware must see every request: the router answers it then, and
     * the body is read and dropped rather than kept. */
    return rc >= 400 && c->srv->nmw ? 1 : rc;
}

/* ---- client addresses ---------------------------------------------------- */

static size_t client_hash(const uint8_t *a, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ a[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

/* The record of an address (created on first use), or NULL when memory
 * is short: the connection is then not limited per client. */
static goio__http_client *client_get(goio_http_server *srv, const uint8_t *a,
                                     size_t len)
{
    if (!srv->clients) {
        size_t n = 64;
        while (n < srv->cfg.max_connections && n < (1u << 20))
            n *= 2;
        srv->clients = goio_calloc(n, sizeof *srv->clients);
        if (!srv->clients)
            return NULL;
        srv->nclient_buckets = n;
    }
    size_t b = client_hash(a, len) & (srv->nclient_buckets - 1);
    for (goio__http_client *cl = srv->clients[b]; cl; cl = cl->next)
        if (cl->len == len && !memcmp(cl->addr, a, len))
            return cl;
    goio__http_client *cl = goio_calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    memcpy(cl->addr, a, len);
    cl->len = (uint8_t)len;
    cl->next = srv->clients[b];
    srv->clients[b] = cl;
    return cl;
}

static void client_release(goio_http_server *srv, goio__http_client *cl)
{
    if (--cl->count)
        return;
    size_t b = client_hash(cl->addr, cl->len) & (srv->nclient_buckets - 1);
    for (goio__http_client **p = &srv->clients[b]; *p; p = &(*p)->next) {
        if (*p == cl) {
            *p = cl->next;
            goio_free(cl);
            return;
        }
    }
}

void goio__http_clients_free(goio_http_server *srv)
{
    for (size_t b = 0; b < srv->nclient_buckets; b++) {
        while (srv->clients[b]) {
            goio__http_client *cl = srv->clients[b];
            srv->clients[b] = cl->next;
            goio_free(cl);
        }
    }
    goio_free(srv->clients);
    srv->clients = NULL;
    srv->nclient_buckets = 0;
}

/*
 * The connection to give up for a new one: the one idle longest - between
 * requests, still sending its headers, or lingering after its answer. A
 * request being read past its headers or handled is never evicted. `of`:
 * only that client's connections (NULL: any). The list is in idle order,
 * so the walk stops at the first candidate: it passes only connections
 * busy since before it went idle.
 */
static goio__http_conn *evictable(goio_http_server *srv, goio__http_client *of)
{
    for (goio__http_conn *c = srv->conns; c; c = c->next) {
        if (of && c->client != of)
            continue;
        if ((c->state == GOIO__CONN_LINGER && !c->inflight) ||
            c->state == GOIO__CONN_IDLE ||
            (c->state == GOIO__CONN_READING && !c->rp.headers_done))
            return c;
    }
    return NULL;
}

/* ---- accepting ----------------------------------------------------------- */

static void format_peer(goio__http_conn *c, const struct sockaddr_storage *ss)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(c->remote, sizeof c->remote, "[%s]:%d", ip,
                 ntohs(a->sin6_port));
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(c->remote, sizeof c->remote, "%s:%d", ip, ntohs(a->sin_port));
    } else {
        snprintf(c->remote, sizeof c->remote, "?:0");
    }
}

/* Finds the peer's client record and makes room for the connection:
 * false when nothing can be evicted (answer 503). */
static bool conn_admit(goio__http_conn *c, const struct sockaddr_storage *ss)
{
    goio_http_server *srv = c->srv;
    const uint8_t *a = NULL;
    size_t len = 0;
    if (ss->ss_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
        len = 4;
    } else if (ss->ss_family == AF_INET6) {
        a = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
        len = 16;
    }
    goio__http_client *cl = a ? client_get(srv, a, len) : NULL;
    if (cl && cl->count >= srv->cfg.max_connections_per_client) {
        goio__http_conn *v = evictable(srv, cl);
        if (!v)
            return false;
        goio_log(GOIO_LOG_DEBUG, GOIO__HTTP_CAT, "http_conn_evicted", v->remote,
                 GOIO_EBUSY, "client at its connection limit");
        conn_close_hard(v, 0);
    }
    if (srv->nlinked >= srv->cfg.max_connections) {
        goio__http_conn *v = evictable(srv, NULL);
        if (!v)
            return false;
        goio_log(GOIO_LOG_DEBUG, GOIO__HTTP_CAT, "http_conn_evicted", v->remote,
                 GOIO_EBUSY, "connection table full");
        conn_close_hard(v, 0);
    }
    return true;
}

static void conn_start(goio__http_conn *c, bool admitted)
{
    uv_tcp_nodelay(&c->tcp, 1);
    goio__http_parser_init(&c->rp, cfg(c)->max_header_bytes,
                           cfg(c)->max_body_bytes);
    if (cfg(c)->handler == goio_http_router_serve && cfg(c)->handler_data) {
        c->rp.head_fn = conn_head_check;
        c->rp.head_data = c;
    }
    c->rp.stream_cap = cfg(c)->max_pending_bytes;
    c->rp.budget = &c->srv->body_buffered;
    c->rp.budget_max = cfg(c)->max_buffered_body_bytes;
    goio_http_server *srv = c->srv;
    list_append(srv, c);
    srv->nlinked++;
    if (c->client)
        c->client->count++;
    c->state = GOIO__CONN_IDLE;
    c->since = ++srv->idle_seq;
    c->idle_at = uv_now(&srv->loop);
    if (!admitted) {
        /* Nothing to evict: say so rather than close silently. */
        goio_log(GOIO_LOG_DEBUG, GOIO__HTTP_CAT, "http_conn_refused", c->remote,
                 GOIO_EBUSY, "no connection slot: 503");
        conn_answer_error(c, 503);
        return;
    }
    conn_arm(c);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
        conn_close_hard(c, 0);
    else
        c->reading = true;
}

/* A connection record, or the spare one when memory is short: libuv stops
 * polling the listener until a pending connection is accepted, so even
 * out of memory we must accept (and close) to keep the server alive. */
static goio__http_conn *conn_alloc(goio_http_server *srv, bool *refuse)
{
    goio__http_conn *c = goio_calloc(1, sizeof *c);
    if (!srv->spare)
        srv->spare = goio_calloc(1, sizeof *c);
    if (!c) {
        c = srv->spare;
        srv->spare = NULL;
        *refuse = true;
        goio_log(GOIO_LOG_ERROR, GOIO__HTTP_CAT, "http_accept_failed", NULL,
                 GOIO_ENOMEM, "out of memory: closing a new connection");
    }
    return c;
}

/*
 * A full table whose eviction candidate went idle less than
 * EVICT_MIN_AGE_MS ago: accepting now would close a connection whose
 * client (an attacker holding the table) reconnects at once, and each
 * reconnect evicts the next one - a churn as fast as the CPU allows. The
 * connection waits in the kernel's backlog instead (libuv stops polling
 * the listener until it is accepted) until the candidate is old enough or
 * a slot frees, which bounds evictions to about max_connections per
 * EVICT_MIN_AGE_MS.
 */
#define EVICT_MIN_AGE_MS 500

static bool conn_defer_accept(goio_http_server *srv)
{
    if (srv->nlinked < srv->cfg.max_connections || atomic_load(&srv->stopping))
        return false;
    goio__http_conn *v = evictable(srv, NULL);
    if (!v)
        return false; /* 503 at once */
    uint64_t age = uv_now(&srv->loop) - v->idle_at;
    if (age >= EVICT_MIN_AGE_MS)
        return false;
    srv->accept_deferred = true;
    uv_timer_start(&srv->accept_timer, goio__http_accept_deferred,
                   EVICT_MIN_AGE_MS - age, 0);
    return true;
}

void goio__http_accept_deferred(uv_timer_t *t)
{
    goio_http_server *srv = t->data;
    if (!srv->accept_deferred || srv->drain_started)
        return;
    srv->accept_deferred = false;
    goio__http_on_connection((uv_stream_t *)&srv->listener, 0);
}

void goio__http_on_connection(uv_stream_t *listener, int status)
{
    goio_http_server *srv = listener->data;
    if (status < 0) {
        goio_log(GOIO_LOG_WARN, GOIO__HTTP_CAT, "http_accept_failed", NULL,
                 status, "accept: %s", uv_strerror(status));
        return;
    }
    if (conn_defer_accept(srv))
        return;
    bool refuse = false;
    goio__http_conn *c = conn_alloc(srv, &refuse);
    if (!c)
        return; /* two failures in a row: the listener waits for memory */
    uv_tcp_init(&srv->loop, &c->tcp); /* cannot fail without flags */
    c->srv = srv;
    c->tcp.data = c;
    c->open_handles = 1;
    srv->nconns++;
    /* Evicted connections still hold their record until their handles
     * close (the next loop turn): a hard bound keeps a flood of new
     * connections from piling those up. */
    refuse = refuse || srv->nconns > 2 * srv->cfg.max_connections + 64 ||
             atomic_load(&srv->stopping);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) || refuse) {
        c->state = GOIO__CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_timer_init(&srv->loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 2;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len))
        ss.ss_family = AF_UNSPEC;
    format_peer(c, &ss);
    bool admitted = conn_admit(c, &ss);
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        /* conn_admit created the record; take it for this connection. */
        const uint8_t *a =
            ss.ss_family == AF_INET
                ? (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr
                : (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        c->client = client_get(srv, a, ss.ss_family == AF_INET ? 4 : 16);
    }
    conn_start(c, admitted);
}

/* ---- stop ---------------------------------------------------------------- */

void goio__http_conns_drain(goio_http_server *srv)
{
    goio__http_conn *next;
    for (goio__http_conn *c = srv->conns; c; c = next) {
        next = c->next;
        if (c->state == GOIO__CONN_IDLE || c->state == GOIO__CONN_READING)
            conn_close_graceful(c);
    }
}

void goio__http_conns_abort(goio_http_server *srv)
{
    /* Every exchange fails first, then contexts are cancelled: a handler
     * woken by its ctx cannot let its worker start a queued request that
     * is being aborted too. */
    for (goio__http_conn *c = srv->conns; c; c = c->next)
        if (c->ex)
            goio__http_exchange_sent(c->ex, 0, GOIO_ECANCELED);
    goio__http_conn *next;
    for (goio__http_conn *c = srv->conns; c; c = next) {
        next = c->next;
        conn_close_hard(c, GOIO_ECANCELED);
    }
}
