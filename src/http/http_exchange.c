/* SPDX-License-Identifier: MIT */
/*
 * The server's response writer. A worker writes into a pooled buffer of
 * chunk_size bytes; a full buffer (or a flush) becomes a segment queued
 * for the loop thread, framed as a chunk when the body is chunked. The
 * queue is bounded by max_pending_bytes: a writer waits on ex->cond until
 * the loop reports bytes sent, so a slow client holds back the worker,
 * never the loop, and memory per response stays a few buffers.
 */
#include "http_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const goio_http_response_ops server_ops;

static goio__http_exchange *ex_of(goio_http_response *res)
{
    return (goio__http_exchange *)res;
}

static const goio_http_server_config *cfg_of(goio__http_exchange *ex)
{
    return goio__http_server_cfg(ex->srv);
}

int goio__http_exchange_new(goio_http_server *srv, goio_http_request *req,
                            goio__http_exchange **out)
{
    goio__http_exchange *ex = goio_calloc(1, sizeof *ex);
    if (!ex)
        return GOIO_ENOMEM;
    if (pthread_mutex_init(&ex->mu, NULL)) {
        goio_free(ex);
        return GOIO_ENOMEM;
    }
    if (pthread_cond_init(&ex->cond, NULL)) {
        pthread_mutex_destroy(&ex->mu);
        goio_free(ex);
        return GOIO_ENOMEM;
    }
    ex->res.ops = &server_ops;
    ex->req = req;
    req->ex = ex;
    ex->srv = srv;
    ex->declared_len = UINT64_MAX;
    atomic_init(&ex->refs, 1);
    *out = ex;
    return 0;
}

goio__http_exchange *goio__http_exchange_ref(goio__http_exchange *ex)
{
    atomic_fetch_add_explicit(&ex->refs, 1, memory_order_relaxed);
    return ex;
}

void goio__http_exchange_unref(goio__http_exchange *ex)
{
    if (!ex ||
        atomic_fetch_sub_explicit(&ex->refs, 1, memory_order_acq_rel) != 1)
        return;
    goio__http_segs_free(ex->q_head);
    if (ex->cur)
        goio_io_bufpool_put(goio_io_bufpool_default(), ex->cur, ex->cur_cap);
    for (size_t i = 0; i < ex->nhdrs * 2; i++)
        goio_free(ex->hdrs[i]);
    goio_free(ex->hdrs);
    goio_free(ex->reason);
    goio__http_request_free(ex->req);
    pthread_cond_destroy(&ex->cond);
    pthread_mutex_destroy(&ex->mu);
    goio_free(ex);
}

/* ---- segments ------------------------------------------------------------ */

void goio__http_segs_free(goio__http_seg *s)
{
    while (s) {
        goio__http_seg *next = s->next;
        if (s->kind == GOIO__SEG_POOL)
            goio_io_bufpool_put(goio_io_bufpool_default(), s->data, s->cap);
        else if (s->kind == GOIO__SEG_HEAP)
            goio_free(s->data);
        else if (s->kind == GOIO__SEG_BORROWED && s->release)
            s->release(s->rel_data);
        goio_free(s);
        s = next;
    }
}

goio__http_seg *goio__http_seg_static(const char *str)
{
    goio__http_seg *s = goio_calloc(1, sizeof *s);
    if (s) {
        s->data = (uint8_t *)(uintptr_t)str;
        s->len = strlen(str);
        s->kind = GOIO__SEG_STATIC;
    }
    return s;
}

static size_t seg_bytes(const goio__http_seg *s)
{
    return s->pre_len + s->len + (s->post ? 2 : 0);
}

/* Queues s and wakes the loop. Under ex->mu. */
static void enqueue(goio__http_exchange *ex, goio__http_seg *s)
{
    ex->pending += seg_bytes(s);
    if (ex->q_tail)
        ex->q_tail->next = s;
    else
        ex->q_head = s;
    ex->q_tail = s;
    goio__http_server_notify(ex->srv, ex);
}

goio__http_seg *goio__http_exchange_take(goio__http_exchange *ex, size_t *bytes)
{
    pthread_mutex_lock(&ex->mu);
    goio__http_seg *s = ex->q_head;
    ex->q_head = ex->q_tail = NULL;
    pthread_mutex_unlock(&ex->mu);
    *bytes = 0;
    for (goio__http_seg *i = s; i; i = i->next)
        *bytes += seg_bytes(i);
    return s;
}

void goio__http_exchange_sent(goio__http_exchange *ex, size_t bytes, int error)
{
    pthread_mutex_lock(&ex->mu);
    ex->pending -= bytes < ex->pending ? bytes : ex->pending;
    if (error < 0 && !ex->failed)
        ex->failed = error;
    pthread_cond_broadcast(&ex->cond);
    pthread_mutex_unlock(&ex->mu);
}

/* ---- headers ------------------------------------------------------------- */

static bool valid_token(const char *s, bool name)
{
    if (name && !*s)
        return false;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || (name && (*s == ':' || *s == ' ')))
            return false;
    return true;
}

static ssize_t find_header(goio__http_exchange *ex, const char *name,
                           size_t from)
{
    for (size_t i = from; i < ex->nhdrs; i++)
        if (!strcasecmp(ex->hdrs[2 * i], name))
            return (ssize_t)i;
    return -1;
}

static void remove_header(goio__http_exchange *ex, size_t i)
{
    goio_free(ex->hdrs[2 * i]);
    goio_free(ex->hdrs[2 * i + 1]);
    memmove(&ex->hdrs[2 * i], &ex->hdrs[2 * i + 2],
            (ex->nhdrs - i - 1) * 2 * sizeof *ex->hdrs);
    ex->nhdrs--;
}

static int append_header(goio__http_exchange *ex, const char *name,
                         const char *value)
{
    if (ex->nhdrs == ex->hdrs_cap) {
        size_t cap = ex->hdrs_cap ? ex->hdrs_cap * 2 : 8;
        char **n = goio_reallocarray(ex->hdrs, cap * 2, sizeof *n);
        if (!n)
            return GOIO_ENOMEM;
        ex->hdrs = n;
        ex->hdrs_cap = cap;
    }
    char *n = goio_strdup(name), *v = goio_strdup(value);
    if (!n || !v) {
        goio_free(n);
        goio_free(v);
        return GOIO_ENOMEM;
    }
    ex->hdrs[2 * ex->nhdrs] = n;
    ex->hdrs[2 * ex->nhdrs + 1] = v;
    ex->nhdrs++;
    return 0;
}

static const char *ex_get_header(goio_http_response *res, const char *name)
{
    goio__http_exchange *ex = ex_of(res);
    pthread_mutex_lock(&ex->mu);
    ssize_t i = find_header(ex, name, 0);
    const char *v = i >= 0 ? ex->hdrs[2 * i + 1] : NULL;
    pthread_mutex_unlock(&ex->mu);
    return v;
}

static int change_header(goio__http_exchange *ex, const char *name,
                         const char *value, bool add)
{
    if (!valid_token(name, true) || (value && !valid_token(value, false)))
        return GOIO_EINVAL;
    pthread_mutex_lock(&ex->mu);
    int rc = 0;
    if (ex->fixed) {
        rc = GOIO_EALREADY;
    } else {
        if (!add)
            for (ssize_t i; (i = find_header(ex, name, 0)) >= 0;)
                remove_header(ex, (size_t)i);
        if (value)
            rc = append_header(ex, name, value);
    }
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

static int ex_set_header(goio_http_response *res, const char *name,
                         const char *value)
{
    return change_header(ex_of(res), name, value, false);
}

static int ex_add_header(goio_http_response *res, const char *name,
                         const char *value)
{
    if (!value)
        return GOIO_EINVAL;
    return change_header(ex_of(res), name, value, true);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/*
 * Fixes status and headers (Go's WriteHeader): decides whether the body
 * is dropped and takes the framing wishes out of the header set, since
 * the server writes those headers itself. Under ex->mu.
 */
static void fix_headers(goio__http_exchange *ex, int status)
{
    ex->fixed = true;
    ex->status = status;
    bool head = !strcmp(ex->req->method, "HEAD");
    ex->no_body = head || status < 200 || status == 204 || status == 304;
    ssize_t i = find_header(ex, "Content-Length", 0);
    uint64_t len;
    if (i >= 0 && parse_u64(ex->hdrs[2 * i + 1], &len))
        ex->declared_len = len;
    if (i >= 0)
        remove_header(ex, (size_t)i);
    i = find_header(ex, "Transfer-Encoding", 0);
    if (i >= 0) {
        ex->want_chunked = !strcasecmp(ex->hdrs[2 * i + 1], "chunked");
        remove_header(ex, (size_t)i);
    }
    i = find_header(ex, "Connection", 0);
    bool body_done = true;
    int body_status;
    if (ex->req->stream) /* lock order: ex->mu, then the stream's */
        goio__http_stream_state(ex->req->stream, &body_done, &body_status);
    ex->keep_alive = ex->req->keep_alive && body_done &&
                     !goio__http_server_stopping(ex->srv) &&
                     !(i >= 0 && !strcasecmp(ex->hdrs[2 * i + 1], "close"));
    if (i >= 0)
        remove_header(ex, (size_t)i);
}

static void append_date(goio_buf *b)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t now = (time_t)(goio_now_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    goio_buf_appendf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                     days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The framing headers; decides chunked. `final`: the whole body is in
 * ex->cur (the handler returned before anything was sent). */
static void append_framing(goio__http_exchange *ex, goio_buf *b, bool final)
{
    int st = ex->status;
    bool http10 = ex->req->version == 10;
    if (st < 200 || st == 204)
        return;
    if (ex->declared_len != UINT64_MAX) {
        goio_buf_appendf(b, "Content-Length: %" PRIu64 "\r\n",
                         ex->declared_len);
    } else if (st == 304) {
        return;
    } else if (ex->want_chunked && !http10) {
        ex->chunked = true;
    } else if (final) {
        if (!ex->no_body || ex->body_bytes)
            goio_buf_appendf(b, "Content-Length: %" PRIu64 "\r\n",
                             ex->body_bytes);
    } else if (!http10) {
        ex->chunked = true;
    } else {
        ex->keep_alive = false; /* the body ends with the connection */
    }
    if (ex->chunked)
        goio_buf_append_str(b, "Transfer-Encoding: chunked\r\n");
}

/* Serializes the status line and headers into the queue. Under ex->mu. */
static int send_headers(goio__http_exchange *ex, bool final)
{
    goio_buf b = GOIO_BUF_INIT;
    goio_buf_appendf(&b, "HTTP/1.1 %d %s\r\n", ex->status,
                     ex->reason ? ex->reason
                                : goio_http_status_text(ex->status));
    for (size_t i = 0; i < ex->nhdrs; i++)
        goio_buf_appendf(&b, "%s: %s\r\n", ex->hdrs[2 * i],
                         ex->hdrs[2 * i + 1]);
    if (find_header(ex, "Date", 0) < 0)
        append_date(&b);
    append_framing(ex, &b, final);
    if (!ex->keep_alive)
        goio_buf_append_str(&b, "Connection: close\r\n");
    else if (ex->req->version == 10)
        goio_buf_append_str(&b, "Connection: keep-alive\r\n");
    int rc = goio_buf_append(&b, "\r\n", 2);
    goio__http_seg *s = rc ? NULL : goio_calloc(1, sizeof *s);
    if (!s) {
        goio_buf_deinit(&b);
        return GOIO_ENOMEM;
    }
    s->kind = GOIO__SEG_HEAP;
    s->data = goio_buf_detach(&b, &s->len);
    ex->headers_sent = true;
    enqueue(ex, s);
    return 0;
}

/* Queues the response buffer as a segment (a chunk when chunked). */
static int seal(goio__http_exchange *ex)
{
    if (!ex->cur_len)
        return 0;
    goio__http_seg *s = goio_calloc(1, sizeof *s);
    if (!s)
        return GOIO_ENOMEM;
    s->kind = GOIO__SEG_POOL;
    s->data = ex->cur;
    s->len = ex->cur_len;
    s->cap = ex->cur_cap;
    if (ex->chunked) {
        s->pre_len =
            (uint8_t)snprintf(s->pre, sizeof s->pre, "%zx\r\n", ex->cur_len);
        s->post = true;
    }
    ex->cur = NULL;
    ex->cur_len = ex->cur_cap = 0;
    enqueue(ex, s);
    return 0;
}

/* Sends headers if needed, then the buffer. Under ex->mu. */
static int push(goio__http_exchange *ex)
{
    if (!ex->fixed)
        fix_headers(ex, 200);
    int rc = ex->headers_sent ? 0 : send_headers(ex, false);
    return rc ? rc : seal(ex);
}

/* ---- writing ------------------------------------------------------------- */

/* 0 while writes may go on, else the error they return. Under ex->mu. */
static int write_state(goio__http_exchange *ex)
{
    if (ex->failed)
        return ex->failed;
    if (ex->aborted || ex->ended)
        return GOIO_ECLOSED;
    return 0;
}

static int wait_for_room(goio__http_exchange *ex)
{
    size_t limit = cfg_of(ex)->max_pending_bytes;
    if (write_state(ex) || ex->pending <= limit)
        return write_state(ex);
    goio__http_server_worker_waits(ex->srv, true);
    while (!write_state(ex) && ex->pending > limit)
        pthread_cond_wait(&ex->cond, &ex->mu);
    goio__http_server_worker_waits(ex->srv, false);
    return write_state(ex);
}

static int copy_in(goio__http_exchange *ex, const uint8_t *p, size_t len)
{
    size_t chunk = cfg_of(ex)->chunk_size;
    while (len) {
        int rc = wait_for_room(ex);
        if (rc)
            return rc;
        if (!ex->cur) {
            ex->cur = goio_io_bufpool_get(goio_io_bufpool_default(), chunk,
                                          &ex->cur_cap);
            if (!ex->cur)
                return GOIO_ENOMEM;
        }
        size_t n = chunk - ex->cur_len; /* chunks of the configured size */
        n = n < len ? n : len;
        memcpy(ex->cur + ex->cur_len, p, n);
        ex->cur_len += n;
        ex->body_bytes += n;
        p += n;
        len -= n;
        if (ex->cur_len == chunk && (rc = push(ex)))
            return rc;
    }
    return 0;
}

/* Whether len more body bytes may be written now (ex->mu held): the
 * response is writable, its headers are fixed (200 unless set) and a
 * declared Content-Length is not exceeded. */
static int body_may_grow(goio__http_exchange *ex, size_t len)
{
    int rc = write_state(ex);
    if (!rc && !ex->fixed)
        fix_headers(ex, 200);
    if (!rc && ex->declared_len != UINT64_MAX &&
        ex->body_bytes + len > ex->declared_len)
        rc = GOIO_E2BIG;
    return rc;
}

static ssize_t ex_write(goio_http_response *res, const void *p, size_t len)
{
    goio__http_exchange *ex = ex_of(res);
    if (!len)
        return 0;
    pthread_mutex_lock(&ex->mu);
    int rc = body_may_grow(ex, len);
    if (!rc && ex->no_body)
        ex->body_bytes += len; /* counted for HEAD's Content-Length */
    else if (!rc)
        rc = copy_in(ex, p, len);
    pthread_mutex_unlock(&ex->mu);
    return rc ? rc : (ssize_t)len;
}

goio__http_exchange *goio__http_exchange_of(goio_http_response *res)
{
    return res && res->ops == &server_ops ? ex_of(res) : NULL;
}

/* Queues n bytes at data as one segment of their own, after what is
 * buffered (headers first), once there is room (ex->mu held). On success
 * the segment owns data (freed by its kind); on failure nothing was
 * queued and data is still the caller's. */
static int queue_segment(goio__http_exchange *ex, goio__http_seg_kind kind,
                         void *data, size_t n, size_t cap,
                         goio_http_response_release_fn release, void *rel_data)
{
    int rc = wait_for_room(ex);
    if (!rc)
        rc = push(ex); /* headers and what is buffered, to keep the order */
    goio__http_seg *s = rc ? NULL : goio_calloc(1, sizeof *s);
    if (!s)
        return rc ? rc : GOIO_ENOMEM;
    s->kind = kind;
    s->data = data;
    s->len = n;
    s->cap = cap;
    s->release = release;
    s->rel_data = rel_data;
    if (ex->chunked) {
        s->pre_len = (uint8_t)snprintf(s->pre, sizeof s->pre, "%zx\r\n", n);
        s->post = true;
    }
    ex->body_bytes += n;
    enqueue(ex, s);
    return 0;
}

int goio__http_exchange_give(goio__http_exchange *ex, void *buf, size_t cap,
                             size_t n)
{
    pthread_mutex_lock(&ex->mu);
    int rc = body_may_grow(ex, n);
    bool kept = false;
    if (!rc && ex->no_body) {
        ex->body_bytes += n;
    } else if (!rc && n < cfg_of(ex)->chunk_size / 2) {
        rc = copy_in(ex, buf, n); /* small: gather into the buffer */
    } else if (!rc) {
        rc = queue_segment(ex, GOIO__SEG_POOL, buf, n, cap, NULL, NULL);
        kept = !rc;
    }
    pthread_mutex_unlock(&ex->mu);
    if (!kept)
        goio_io_bufpool_put(goio_io_bufpool_default(), buf, cap);
    return rc;
}

/* The caller's bytes, queued as their own segment after what is
 * buffered (headers first). The segment owns the release from the moment
 * it is queued; before that, every failure releases here. */
static int ex_write_borrowed(goio_http_response *res, const void *p, size_t len,
                             goio_http_response_release_fn release, void *data)
{
    goio__http_exchange *ex = ex_of(res);
    pthread_mutex_lock(&ex->mu);
    int rc = body_may_grow(ex, len);
    bool queued = false;
    if (!rc && ex->no_body) {
        ex->body_bytes += len; /* counted for HEAD's Content-Length */
    } else if (!rc) {
        rc = queue_segment(ex, GOIO__SEG_BORROWED, (void *)(uintptr_t)p, len, 0,
                           release, data);
        queued = !rc;
    }
    pthread_mutex_unlock(&ex->mu);
    if (!queued && release)
        release(data);
    return rc;
}

static int ex_write_header(goio_http_response *res, int status)
{
    goio__http_exchange *ex = ex_of(res);
    if (status < 200 || status > 999)
        return GOIO_EINVAL; /* 1xx interim responses are not supported */
    pthread_mutex_lock(&ex->mu);
    int rc = ex->fixed ? GOIO_EALREADY : 0;
    if (!rc)
        fix_headers(ex, status);
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

static int ex_flush(goio_http_response *res)
{
    goio__http_exchange *ex = ex_of(res);
    pthread_mutex_lock(&ex->mu);
    int rc = write_state(ex);
    if (!rc)
        rc = push(ex);
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

static void ex_abort(goio_http_response *res, int error)
{
    (void)error; /* the caller logs why; the connection just ends */
    goio__http_exchange *ex = ex_of(res);
    pthread_mutex_lock(&ex->mu);
    if (!ex->aborted && !ex->ended) {
        /* What the handler wrote before the failure still goes out. */
        if (ex->headers_sent && !ex->failed)
            seal(ex);
        ex->aborted = true;
        goio__http_server_notify(ex->srv, ex);
        pthread_cond_broadcast(&ex->cond);
    }
    pthread_mutex_unlock(&ex->mu);
}

static int ex_status(goio_http_response *res)
{
    goio__http_exchange *ex = ex_of(res);
    pthread_mutex_lock(&ex->mu);
    int st = ex->status;
    pthread_mutex_unlock(&ex->mu);
    return st;
}

/* The handler returned: the rest of the body and the final chunk. */
static void finish_locked(goio__http_exchange *ex)
{
    int rc = 0;
    if (!ex->fixed) {
        /* A streamed body that failed, and the handler did not answer:
         * the status of the failure (400, 408, 413). */
        bool done = true;
        int st = 0;
        if (ex->req->stream)
            goio__http_stream_state(ex->req->stream, &done, &st);
        if (st && find_header(ex, "Content-Type", 0) < 0)
            rc = append_header(ex, "Content-Type", "text/plain; charset=utf-8");
        fix_headers(ex, st ? st : 200);
        if (st && !rc && !ex->no_body) {
            char body[64];
            int n = snprintf(body, sizeof body, "%d %s", st,
                             goio_http_status_text(st));
            rc = copy_in(ex, (const uint8_t *)body, (size_t)n);
        }
    }
    if (!rc)
        rc = ex->headers_sent ? 0 : send_headers(ex, true);
    if (!rc)
        rc = seal(ex);
    if (!rc && ex->chunked && !ex->no_body) {
        goio__http_seg *s = goio__http_seg_static("0\r\n\r\n");
        if (s)
            enqueue(ex, s);
        else
            rc = GOIO_ENOMEM;
    }
    /* A broken or short body can only be ended by closing. */
    if (rc || (ex->declared_len != UINT64_MAX && !ex->no_body &&
               ex->body_bytes < ex->declared_len))
        ex->keep_alive = false;
}

void goio__http_exchange_finish(goio__http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    if (!ex->aborted && !ex->failed && !ex->ended)
        finish_locked(ex);
    ex->ended = true;
    goio__http_server_notify(ex->srv, ex);
    pthread_mutex_unlock(&ex->mu);
}

/* An interim response goes out at once, ahead of the final one. */
static int ex_write_interim(goio_http_response *res, int status,
                            const char *const *fields, size_t n)
{
    goio__http_exchange *ex = ex_of(res);
    if (status < 100 || status > 199 || status == 101)
        return GOIO_EINVAL;
    pthread_mutex_lock(&ex->mu);
    int rc = write_state(ex);
    if (!rc && ex->fixed)
        rc = GOIO_EALREADY;
    if (rc || ex->req->version < 11) {
        pthread_mutex_unlock(&ex->mu);
        return rc; /* HTTP/1.0 knows no 1xx: skipped */
    }
    goio_buf b = GOIO_BUF_INIT;
    goio_buf_appendf(&b, "HTTP/1.1 %d %s\r\n", status,
                     goio_http_status_text(status));
    for (size_t i = 0; i < n; i++)
        goio_buf_appendf(&b, "%s: %s\r\n", fields[2 * i], fields[2 * i + 1]);
    rc = goio_buf_append(&b, "\r\n", 2);
    goio__http_seg *s = rc ? NULL : goio_calloc(1, sizeof *s);
    if (!s) {
        goio_buf_deinit(&b);
        rc = GOIO_ENOMEM;
    } else {
        s->kind = GOIO__SEG_HEAP;
        s->data = goio_buf_detach(&b, &s->len);
        enqueue(ex, s);
        rc = wait_for_room(ex); /* bounded like any output */
    }
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

static int ex_set_reason(goio_http_response *res, const char *reason)
{
    goio__http_exchange *ex = ex_of(res);
    char *copy = NULL;
    for (const char *p = reason; p && *p; p++)
        if (*p == '\r' || *p == '\n')
            return GOIO_EINVAL;
    if (reason && !(copy = goio_strdup(reason)))
        return GOIO_ENOMEM;
    pthread_mutex_lock(&ex->mu);
    int rc = ex->fixed ? GOIO_EALREADY : 0;
    if (!rc) {
        goio_free(ex->reason);
        ex->reason = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&ex->mu);
    goio_free(copy);
    return rc;
}

static const goio_http_response_ops server_ops = {
    .get_header = ex_get_header,
    .set_header = ex_set_header,
    .add_header = ex_add_header,
    .write_header = ex_write_header,
    .write = ex_write,
    .flush = ex_flush,
    .abort = ex_abort,
    .status = ex_status,
    .write_interim = ex_write_interim,
    .set_reason = ex_set_reason,
    .write_borrowed = ex_write_borrowed,
};
