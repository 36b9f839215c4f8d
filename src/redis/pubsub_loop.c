/* SPDX-License-Identifier: MIT */
/*
 * The loop thread of a goio_pubsub: one libuv loop owning the subscriber
 * connection.
 *
 * The connection is a libuv stream (TCP or unix socket) whose bytes feed
 * a hiredis reply reader; commands are RESP written with uv_write. goio
 * does not use hiredis' async API: in 0.14 a PING's callback never fires
 * while subscribed (hiredis#351) and its libuv adapter loses poll errors,
 * so an async connect to a closed port never calls back (hiredis#508).
 * Owning the socket gives every failure a callback and every wait a
 * deadline.
 *
 * Life of a connection: resolve (numeric addresses need none) and connect
 * under connect_ms; handshake: AUTH when there is a password, CLIENT ID
 * and CLIENT TRACKING when tracking (RESP2 refuses CLIENT TRACKING once
 * subscribed, so it goes first), then one (P)SUBSCRIBE per live name and
 * a PING; the PING's answer makes the connection ready. Every command
 * waits in a FIFO of expected replies (Redis answers in order; pub/sub
 * messages are told apart by their first element), and the oldest one
 * must be answered within pong_ms, or the connection is dropped: that
 * catches dead peers, a paused server and a re-subscription that never
 * completes. Any failure closes the stream, resets every entry to "not
 * subscribed" (bumping ps->serial so subscriptions stop being live) and
 * schedules a new attempt with backoff.
 *
 * TLS: the stream carries TLS records; an SSL object with memory BIOs
 * sits between it and the RESP bytes (received bytes go into its read
 * BIO, decrypted ones into the reader; commands go through SSL_write and
 * the write BIO's output is what uv_write sends). The TLS handshake runs
 * in PH_CONNECTING, under the connect deadline.
 */
#include "pubsub_int.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { K_AUTH, K_CLIENT_ID, K_TRACKING, K_SUB, K_UNSUB, K_PING, K_HS_PING };

enum { PH_CONNECTING, PH_HANDSHAKE, PH_READY };

typedef struct pending {
    uint8_t kind;
    goio__ps_entry *e;
    int64_t sent_ms;
} pending;

typedef struct goio__ps_conn {
    goio_pubsub *ps;
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;
    bool handle_open; /* initialised and its close callback not yet run */
    bool gai_pending; /* a resolution is running */
    bool dead;        /* failed or closed: ignore every late callback */
    bool oom;         /* building a command failed */
    bool subs_sent;   /* the registry was sent on this connection */
    bool tracking_failed;
    int phase;
    int64_t last_rx_ms; /* when the server last sent anything */
    uv_getaddrinfo_t gai;
    uv_connect_t creq;
    redisReader *reader;
    SSL *ssl;    /* TLS: NULL for plaintext */
    bool tls_up; /* its handshake is done */
    pending *fifo;
    size_t fhead, flen, fcap;
    goio_buf out;
    char rbuf[64 * 1024];
} goio__ps_conn;

typedef struct wreq {
    uv_write_t req;
    goio_buf buf;
} wreq;

static void start_connect(goio_pubsub *ps);
static void conn_fail(goio__ps_conn *c, int err, const char *what);

/* libuv codes are negated errno values, as goio's are. */
static int map_uv(int uverr)
{
    if (uverr == UV_EOF)
        return GOIO_ECONNRESET;
    if (uverr == UV_EAI_NONAME || uverr == UV_EAI_AGAIN ||
        uverr == UV_EAI_FAIL || uverr == UV_ENETUNREACH)
        return GOIO_EHOSTUNREACH;
    return strcmp(goio_err_name(uverr), "GOIO_UNKNOWN") ? uverr : GOIO_EIO;
}

static const char *endpoint(const goio_pubsub *ps)
{
    return ps->addr ? ps->addr->name : ps->o->seed.name;
}

/* The server to try next. Outside cluster mode, the endpoint. In cluster
 * mode any node receives every message, so after a failure the next node
 * the handle knows (from its slot map) is tried, round robin: a dead seed
 * does not stop the subscriptions. Nodes live as long as the handle. */
static const goio__redis_addr *next_addr(goio_pubsub *ps)
{
    if (!ps->o->cluster || ps->attempts == 0)
        return ps->addr ? ps->addr : &ps->o->seed;
    goio_redis *r = ps->r;
    pthread_rwlock_rdlock(&r->cl.lock);
    size_t n = r->cl.n_nodes;
    const goio__redis_addr *a = &ps->o->seed;
    if (n > 0)
        a = &r->cl.nodes[ps->node_rr++ % n]->addr;
    pthread_rwlock_unlock(&r->cl.lock);
    return a;
}

/* ---- commands and the reply FIFO ------------------------------------------
 */

static void cmd(goio__ps_conn *c, int argc, const char *const *argv,
                const size_t *lens)
{
    goio_buf *b = &c->out;
    int rc = goio_buf_appendf(b, "*%d\r\n", argc);
    for (int i = 0; i < argc && rc == 0; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        rc = goio_buf_appendf(b, "$%zu\r\n", n);
        if (rc == 0)
            rc = goio_buf_append(b, argv[i], n);
        if (rc == 0)
            rc = goio_buf_append(b, "\r\n", 2);
    }
    if (rc)
        c->oom = true;
}

static void rearm_deadline(goio__ps_conn *c);

static void expect(goio__ps_conn *c, int kind, goio__ps_entry *e)
{
    if (c->flen == c->fcap) {
        size_t cap = c->fcap ? c->fcap * 2 : 16;
        pending *f = goio_calloc(cap, sizeof *f);
        if (!f) {
            c->oom = true;
            return;
        }
        for (size_t i = 0; i < c->flen; i++)
            f[i] = c->fifo[(c->fhead + i) % c->fcap];
        goio_free(c->fifo);
        c->fifo = f;
        c->fcap = cap;
        c->fhead = 0;
    }
    pending *p = &c->fifo[(c->fhead + c->flen++) % c->fcap];
    p->kind = (uint8_t)kind;
    p->e = e;
    p->sent_ms = goio_now_mono_ms();
    if (c->flen == 1)
        rearm_deadline(c);
}

static void on_write(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    goio__ps_conn *c = req->handle->data;
    goio_buf_deinit(&w->buf);
    goio_free(w);
    if (status < 0 && !c->dead)
        conn_fail(c, map_uv(status), "writing");
}

/* Writes *b (taken over, left empty) to the stream. */
static void raw_write(goio__ps_conn *c, goio_buf *b_in)
{
    wreq *w = goio_malloc(sizeof *w);
    if (!w) {
        goio_buf_deinit(b_in);
        conn_fail(c, GOIO_ENOMEM, "writing");
        return;
    }
    w->buf = *b_in;
    goio_buf_init(b_in);
    uv_buf_t b = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);
    int rc = uv_write(&w->req, &c->u.s, &b, 1, on_write);
    if (rc < 0) {
        goio_buf_deinit(&w->buf);
        goio_free(w);
        conn_fail(c, map_uv(rc), "writing");
    }
}

/* Sends the TLS records OpenSSL produced. */
static void tls_pump_out(goio__ps_conn *c)
{
    BIO *wbio = SSL_get_wbio(c->ssl);
    size_t n;
    while (!c->dead && (n = BIO_ctrl_pending(wbio)) > 0) {
        goio_buf b = GOIO_BUF_INIT;
        if (goio_buf_reserve(&b, n)) {
            conn_fail(c, GOIO_ENOMEM, "writing");
            return;
        }
        int got = BIO_read(wbio, b.data, (int)n);
        if (got <= 0) {
            goio_buf_deinit(&b);
            return;
        }
        b.len = (size_t)got;
        raw_write(c, &b);
    }
}

/* A fatal TLS error: logged with OpenSSL's reason, the connection fails
 * with GOIO_EACCES (certificate problem) or GOIO_EPROTO. */
static void tls_fail(goio__ps_conn *c, const char *what)
{
    char why[256];
    int err = goio__redis_tls_classify(c->ssl, why, sizeof why);
    goio_log(GOIO_LOG_WARN, "pubsub", "pubsub_tls_failed", endpoint(c->ps), err,
             "TLS %s with %s failed: %s", what, endpoint(c->ps), why);
    conn_fail(c, err, what);
}

/* Sends what the last callback queued, in one write. */
static void flush(goio__ps_conn *c)
{
    if (c->dead)
        return;
    if (c->oom) {
        conn_fail(c, GOIO_ENOMEM, "building a command");
        return;
    }
    if (c->out.len == 0)
        return;
    if (c->ssl) {
        if (!c->tls_up)
            return; /* sent once the handshake is done */
        ERR_clear_error();
        /* Memory BIO: the whole buffer is taken at once. */
        int n = SSL_write(c->ssl, c->out.data, (int)c->out.len);
        if (n <= 0 || (size_t)n != c->out.len) {
            tls_fail(c, "writing");
            return;
        }
        goio_buf_clear(&c->out);
        tls_pump_out(c);
        return;
    }
    raw_write(c, &c->out);
}

static void send_entry(goio__ps_conn *c, goio__ps_entry *e, bool subscribe)
{
    const char *verb = e->pattern ? (subscribe ? "PSUBSCRIBE" : "PUNSUBSCRIBE")
                                  : (subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE");
    const char *argv[] = {verb, e->raw};
    size_t lens[] = {strlen(verb), e->raw_len};
    cmd(c, 2, argv, lens);
    expect(c, subscribe ? K_SUB : K_UNSUB, e);
    e->state = subscribe ? GOIO__PS_PENDING_SUB : GOIO__PS_PENDING_UNSUB;
}

/* ---- the registry, seen from the loop (ps->mu held) -----------------------
 */

/* Collects (with a reference each) the subscriptions of e that just
 * became fully active on the ready connection, into ps->scratch. */
static size_t collect_active(goio_pubsub *ps, goio__ps_entry *e, size_t n)
{
    if (!ps->ready)
        return n;
    uint64_t serial = atomic_load(&ps->serial);
    for (size_t i = 0; i < e->n_subs; i++) {
        goio_pubsub_sub *s = e->subs[i];
        if (atomic_load(&s->active_serial) == serial ||
            goio__ps_sub_state(ps, s) != 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = ps->scratch[j] == s;
        if (dup)
            continue;
        if (n == ps->scratch_cap) {
            size_t cap = n ? 2 * n : 16;
            goio_pubsub_sub **p =
                goio_reallocarray(ps->scratch, cap, sizeof *p);
            if (!p)
                return n; /* it becomes live on the next change */
            ps->scratch = p;
            ps->scratch_cap = cap;
        }
        atomic_fetch_add(&s->refs, 1);
        ps->scratch[n++] = s;
    }
    return n;
}

/* Runs the activations collected (after ps->mu is released). */
static void run_active(goio_pubsub *ps, size_t n)
{
    uint64_t serial = atomic_load(&ps->serial);
    for (size_t i = 0; i < n; i++) {
        goio_pubsub_sub *s = ps->scratch[i];
        goio__ps_deliver_active(s, serial);
        goio__ps_sub_unref(s);
    }
}

/* Brings one entry's Redis state towards what its subscribers want. */
static size_t sync_entry(goio_pubsub *ps, goio__ps_conn *c, goio__ps_entry *e,
                         size_t n_active)
{
    bool want = e->n_subs > 0 || e->pinned;
    bool online = c && c->subs_sent && !c->dead;
    switch (e->state) {
    case GOIO__PS_NONE:
        if (want && online)
            send_entry(c, e, true);
        else if (!want)
            goio__ps_entry_remove(ps, e);
        break;
    case GOIO__PS_ACTIVE:
        if (!want && online)
            send_entry(c, e, false);
        else if (want)
            n_active = collect_active(ps, e, n_active); /* a new joiner */
        break;
    case GOIO__PS_FAILED:
        if (!want)
            goio__ps_entry_remove(ps, e);
        break;
    default: /* a reply is awaited; its handler syncs again */
        break;
    }
    return n_active;
}

static size_t sync_dirty(goio_pubsub *ps, size_t n_active)
{
    goio__ps_entry *e;
    while ((e = ps->dirty) != NULL) {
        ps->dirty = e->next_dirty;
        e->dirty = false;
        e->next_dirty = NULL;
        n_active = sync_entry(ps, ps->conn, e, n_active);
    }
    return n_active;
}

/* The connection is gone: nothing is subscribed any more. */
static void reset_entries(goio_pubsub *ps)
{
    for (goio__ps_entry *e = ps->dirty; e; e = e->next_dirty)
        e->dirty = false;
    ps->dirty = NULL;
    for (size_t i = 0; i < ps->n_buckets; i++) {
        goio__ps_entry *e = ps->buckets[i];
        while (e) {
            goio__ps_entry *next = e->next;
            e->state = GOIO__PS_NONE;
            if (e->n_subs == 0 && !e->pinned)
                goio__ps_entry_remove(ps, e);
            e = next;
        }
    }
}

/* Sends every live name (handshake; ps->mu not held). */
static void send_subscriptions(goio__ps_conn *c)
{
    goio_pubsub *ps = c->ps;
    pthread_mutex_lock(&ps->mu);
    for (goio__ps_entry *e = ps->dirty; e; e = e->next_dirty)
        e->dirty = false;
    ps->dirty = NULL;
    for (size_t i = 0; i < ps->n_buckets; i++)
        for (goio__ps_entry *e = ps->buckets[i]; e; e = e->next)
            if (e->state == GOIO__PS_NONE && (e->n_subs || e->pinned))
                send_entry(c, e, true);
    c->subs_sent = true;
    pthread_mutex_unlock(&ps->mu);
    static const char *const ping[] = {"PING"};
    cmd(c, 1, ping, NULL);
    expect(c, K_HS_PING, NULL);
}

/* ---- connection life ------------------------------------------------------
 */

static void conn_maybe_free(goio__ps_conn *c)
{
    if (c->handle_open || c->gai_pending)
        return;
    if (c->reader)
        redisReaderFree(c->reader);
    if (c->ssl)
        SSL_free(c->ssl);
    goio_buf_deinit(&c->out);
    goio_free(c->fifo);
    goio_free(c);
}

static void on_closed(uv_handle_t *h)
{
    goio__ps_conn *c = h->data;
    c->handle_open = false;
    conn_maybe_free(c);
}

/* Detaches c from the handle and releases it once libuv is done. */
static void conn_close(goio__ps_conn *c)
{
    goio_pubsub *ps = c->ps;
    c->dead = true;
    if (ps->conn == c)
        ps->conn = NULL;
    uv_timer_stop(&ps->t_deadline);
    if (c->gai_pending)
        uv_cancel((uv_req_t *)&c->gai); /* its callback still runs */
    if (c->handle_open) {
        if (!uv_is_closing(&c->u.h))
            uv_close(&c->u.h, on_closed);
    } else {
        conn_maybe_free(c);
    }
}

/* Unsigned: d + 25% fits even when d is near INT64_MAX. */
static uint64_t backoff_ms(goio_pubsub *ps)
{
    int shift = ps->attempts > 1 ? ps->attempts - 1 : 0;
    int64_t d = ps->backoff_min_ms, max = ps->backoff_max_ms;
    /* Doubled up to max, never past it: a max near INT64_MAX cannot
     * overflow. */
    while (shift-- > 0 && d < max)
        d = d > max / 2 ? max : d * 2;
    ps->rng ^= ps->rng << 13; /* xorshift64: jitter, not security */
    ps->rng ^= ps->rng >> 7;
    ps->rng ^= ps->rng << 17;
    uint64_t j = d / 2 > 0 ? ps->rng % (uint64_t)(d / 2) : 0;
    return (uint64_t)(d - d / 4) + j; /* d +- 25% */
}

static void on_retry(uv_timer_t *t)
{
    start_connect(t->data);
}

static void log_failure(goio_pubsub *ps, bool was_ready, int err,
                        const char *what)
{
    if (was_ready) {
        goio_log(GOIO_LOG_WARN, "pubsub", "pubsub_disconnected", endpoint(ps),
                 err, "subscriber connection to %s lost (%s: %s); reconnecting",
                 endpoint(ps), what, goio_strerror(err));
        return;
    }
    goio_log(ps->attempts == 1 ? GOIO_LOG_WARN : GOIO_LOG_DEBUG, "pubsub",
             "pubsub_connect_failed", endpoint(ps), err,
             "subscriber connection to %s failed (%s: %s), attempt %d",
             endpoint(ps), what, goio_strerror(err), ps->attempts);
}

static void conn_fail(goio__ps_conn *c, int err, const char *what)
{
    if (c->dead)
        return;
    goio_pubsub *ps = c->ps;
    bool was_ready = c->phase == PH_READY;
    conn_close(c);
    pthread_mutex_lock(&ps->mu);
    atomic_fetch_add(&ps->serial, 1);
    ps->ready = false;
    reset_entries(ps);
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
    if (was_ready) {
        ps->down_since = goio_now_mono_ms();
        ps->attempts = 0;
    } else {
        ps->attempts++;
    }
    /* Logged, then counted: whoever sees the counter sees the record. */
    log_failure(ps, was_ready, err, what);
    atomic_fetch_add(was_ready ? &ps->ctr.disconnects : &ps->ctr.connect_errors,
                     1);
    if (!ps->loop_stopping)
        uv_timer_start(&ps->t_retry, on_retry, was_ready ? 0 : backoff_ms(ps),
                       0);
}

static void on_ready(goio__ps_conn *c)
{
    goio_pubsub *ps = c->ps;
    c->phase = PH_READY;
    /* Counted and logged before anyone can see the connection ready. */
    atomic_fetch_add(&ps->ctr.connects, 1);
    bool again = ps->ever_ready;
    if (again) {
        goio_log(GOIO_LOG_WARN, "pubsub", "pubsub_reconnected", endpoint(ps), 0,
                 "subscriber connection to %s is back after %lld ms and %d "
                 "failed attempts; messages published meanwhile are lost",
                 endpoint(ps), (long long)(goio_now_mono_ms() - ps->down_since),
                 ps->attempts);
        atomic_fetch_add(&ps->ctr.reconnects, 1);
    }
    ps->ever_ready = true;
    ps->attempts = 0;
    size_t n = 0;
    pthread_mutex_lock(&ps->mu);
    ps->ready = true;
    for (goio_pubsub_sub *s = ps->subs; s; s = s->next)
        for (size_t i = 0; i < s->n_entries; i++)
            n = collect_active(ps, s->entries[i], n);
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
    run_active(ps, n);
    if (again && ps->on_reconnect)
        ps->on_reconnect(ps, ps->on_reconnect_data);
}

/* ---- replies ---------------------------------------------------------------
 */

static bool is_str(const redisReply *r, const char *s)
{
    return r &&
           (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           !strcasecmp(r->str, s);
}

static bool noauth(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR &&
           (!strncmp(r->str, "NOAUTH", 6) || !strncmp(r->str, "WRONGPASS", 9));
}

static void refused(goio__ps_conn *c, const char *what, const redisReply *r)
{
    goio_log(GOIO_LOG_ERROR, "pubsub", "pubsub_connect_failed", endpoint(c->ps),
             GOIO_EACCES, "%s refused by %s: %s", what, endpoint(c->ps),
             r->str);
    conn_fail(c, GOIO_EACCES, what);
}

static void send_tracking(goio__ps_conn *c, long long id)
{
    goio_pubsub *ps = c->ps;
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *argv[] = {"CLIENT", "TRACKING", "on",     "REDIRECT",
                          ids,      "BCAST",    "PREFIX", ps->prefix};
    size_t lens[] = {6, 8, 2, 8, strlen(ids), 5, 6, ps->prefix_len};
    cmd(c, ps->prefix_len ? 8 : 6, argv, lens);
    expect(c, K_TRACKING, NULL);
}

static void tracking_refused(goio__ps_conn *c, const redisReply *r)
{
    c->tracking_failed = true;
    goio_log(GOIO_LOG_ERROR, "pubsub", "pubsub_tracking_failed",
             endpoint(c->ps), GOIO_EPROTO,
             "client tracking refused by %s: %s; coherent caches read "
             "through to Redis",
             endpoint(c->ps), r->type == REDIS_REPLY_ERROR ? r->str : "?");
}

/* A (P)SUBSCRIBE or (P)UNSUBSCRIBE answer for p->e. */
static void entry_reply(goio__ps_conn *c, const pending *p, redisReply *r)
{
    goio_pubsub *ps = c->ps;
    goio__ps_entry *e = p->e;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
              r->element[1]->type == REDIS_REPLY_STRING &&
              r->element[1]->len == e->raw_len &&
              !memcmp(r->element[1]->str, e->raw, e->raw_len);
    if (!ok && r->type != REDIS_REPLY_ERROR) {
        conn_fail(c, GOIO_EPROTO, "unexpected subscription reply");
        return;
    }
    if (!ok)
        goio_log(GOIO_LOG_ERROR, "pubsub", "pubsub_subscribe_failed", e->user,
                 GOIO_EPROTO, "Redis refused %s: %s", e->raw, r->str);
    size_t n = 0;
    pthread_mutex_lock(&ps->mu);
    if (p->kind == K_UNSUB)
        e->state = GOIO__PS_NONE;
    else if (!ok || (e == ps->tracking_entry && c->tracking_failed))
        e->state = GOIO__PS_FAILED;
    else
        e->state = GOIO__PS_ACTIVE;
    n = sync_entry(ps, c, e, 0); /* subscribers may have come or gone */
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
    run_active(ps, n);
}

static void command_reply(goio__ps_conn *c, redisReply *r)
{
    if (c->flen == 0) {
        conn_fail(c, GOIO_EPROTO, "reply without a command");
        return;
    }
    pending p = c->fifo[c->fhead];
    c->fhead = (c->fhead + 1) % c->fcap;
    c->flen--;
    if (noauth(r)) {
        refused(c, "authentication", r);
        return;
    }
    switch (p.kind) {
    case K_AUTH:
        if (r->type == REDIS_REPLY_ERROR)
            refused(c, "AUTH", r);
        break;
    case K_CLIENT_ID:
        if (r->type == REDIS_REPLY_INTEGER)
            send_tracking(c, r->integer);
        else
            tracking_refused(c, r);
        send_subscriptions(c);
        break;
    case K_TRACKING:
        if (r->type == REDIS_REPLY_ERROR)
            tracking_refused(c, r);
        break;
    case K_SUB:
    case K_UNSUB:
        entry_reply(c, &p, r);
        break;
    case K_PING:
        break;
    case K_HS_PING:
        if (r->type == REDIS_REPLY_ERROR)
            conn_fail(c, GOIO_EPROTO, "PING refused");
        else
            on_ready(c);
        break;
    }
}

/* ---- messages -------------------------------------------------------------
 */

static bool reserve_scratch(goio_pubsub *ps, size_t n)
{
    if (n <= ps->scratch_cap)
        return true;
    goio_pubsub_sub **p = goio_reallocarray(ps->scratch, n, sizeof *p);
    if (!p)
        return false;
    ps->scratch = p;
    ps->scratch_cap = n;
    return true;
}

/* Remembers a queue to notify at the end of the read batch. */
static void wake_later(goio_pubsub *ps, goio_pubsub_sub *s)
{
    if (ps->n_wake == ps->cap_wake) {
        size_t cap = ps->cap_wake ? ps->cap_wake * 2 : 16;
        goio_pubsub_sub **p = goio_reallocarray(ps->wake_list, cap, sizeof *p);
        if (!p) { /* no room to defer: tell it now (ps->mu, then s->mu) */
            goio__ps_notify(s);
            return;
        }
        ps->wake_list = p;
        ps->cap_wake = cap;
    }
    atomic_fetch_add(&s->refs, 1);
    ps->wake_list[ps->n_wake++] = s;
}

static void wake_all(goio_pubsub *ps)
{
    for (size_t i = 0; i < ps->n_wake; i++) {
        goio__ps_notify(ps->wake_list[i]);
        goio__ps_sub_unref(ps->wake_list[i]);
    }
    ps->n_wake = 0;
}

/* Queues m on every queue subscriber of e and collects the callback ones
 * into ps->scratch (referenced). ps->mu held. */
static size_t fan_out(goio_pubsub *ps, goio__ps_entry *e, goio__ps_msg *m,
                      int *log_drops, uint64_t *delivered, uint64_t *dropped)
{
    size_t n_cb = 0;
    for (size_t i = 0; i < e->n_subs; i++) {
        goio_pubsub_sub *s = e->subs[i];
        if (s->cb || s->hooks.raw) {
            atomic_fetch_add(&s->refs, 1);
            ps->scratch[n_cb++] = s;
            continue;
        }
        bool log_drop = false, notify = false;
        if (m && goio__ps_enqueue(s, m, &log_drop, &notify))
            (*dropped)++;
        else
            (*delivered)++;
        *log_drops += log_drop;
        if (notify)
            wake_later(ps, s);
    }
    *delivered += n_cb;
    return n_cb;
}

static goio__ps_msg *make_msg(goio_pubsub *ps, const goio__ps_entry *e,
                              const redisReply *chan, const redisReply *data)
{
    const char *cs = chan->str;
    size_t cl = chan->len;
    if (ps->prefix_len && e != ps->tracking_entry && cl >= ps->prefix_len &&
        !memcmp(cs, ps->prefix, ps->prefix_len)) {
        cs += ps->prefix_len;
        cl -= ps->prefix_len;
    }
    bool bytes = data->type == REDIS_REPLY_STRING;
    return goio__ps_msg_new(cs, cl, e->pattern ? e->user : NULL,
                            bytes ? data->str : "", bytes ? data->len : 0);
}

static void on_message(goio__ps_conn *c, bool pattern, const redisReply *name,
                       const redisReply *chan, const redisReply *data)
{
    goio_pubsub *ps = c->ps;
    atomic_fetch_add_explicit(&ps->ctr.messages, 1, memory_order_relaxed);
    if (name->type != REDIS_REPLY_STRING || chan->type != REDIS_REPLY_STRING)
        return;
    goio__ps_msg *m = NULL;
    int log_drops = 0;
    size_t n_cb = 0;
    uint64_t delivered = 0, dropped = 0;
    pthread_mutex_lock(&ps->mu);
    goio__ps_entry *e = goio__ps_entry_find(ps, pattern, name->str, name->len);
    bool raw = e == ps->tracking_entry;
    if (e && e->n_subs && (raw || (m = make_msg(ps, e, chan, data)) != NULL) &&
        reserve_scratch(ps, e->n_subs))
        n_cb = fan_out(ps, e, m, &log_drops, &delivered, &dropped);
    else if (e && e->n_subs)
        goio_log(GOIO_LOG_ERROR, "pubsub", "pubsub_out_of_memory", e->user,
                 GOIO_ENOMEM, "a message could not be delivered");
    pthread_mutex_unlock(&ps->mu);
    for (size_t i = 0; i < n_cb; i++) {
        goio__ps_deliver_cb(ps->scratch[i], m, data);
        goio__ps_sub_unref(ps->scratch[i]);
    }
    if (log_drops)
        goio_log(GOIO_LOG_WARN, "pubsub", "pubsub_buffer_full",
                 m->pub.pattern ? m->pub.pattern : m->pub.channel, GOIO_ELIMIT,
                 "%d subscription queue(s) full: messages dropped for them",
                 log_drops);
    /* The handle's totals after the record (HACKING.md: log, then count). */
    atomic_fetch_add_explicit(&ps->ctr.delivered, delivered,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&ps->ctr.dropped, dropped, memory_order_relaxed);
    goio__ps_msg_unref(m);
}

static void handle_reply(goio__ps_conn *c, redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3) {
        redisReply **el = r->element;
        if (r->elements == 4 && is_str(el[0], "pmessage")) {
            on_message(c, true, el[1], el[2], el[3]);
            return;
        }
        if (r->elements == 3 && is_str(el[0], "message")) {
            on_message(c, false, el[1], el[1], el[2]);
            return;
        }
    }
    command_reply(c, r);
}

/* ---- reading --------------------------------------------------------------
 */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    goio__ps_conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void process_replies(goio__ps_conn *c)
{
    /* A free waits for this loop: stop delivering a backlog at once. */
    while (!c->dead && !c->oom &&
           !atomic_load_explicit(&c->ps->stop_req, memory_order_relaxed)) {
        void *r = NULL;
        if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
            goio_log(GOIO_LOG_ERROR, "pubsub", "pubsub_protocol_error",
                     endpoint(c->ps), GOIO_EPROTO, "bad reply from %s: %s",
                     endpoint(c->ps), c->reader->errstr);
            conn_fail(c, GOIO_EPROTO, "reading a reply");
            return;
        }
        if (!r)
            return;
        handle_reply(c, r);
        freeReplyObject(r);
    }
}

static void send_handshake(goio__ps_conn *c);

/* Advances the TLS handshake; once done, the Redis handshake starts. */
static void tls_step(goio__ps_conn *c)
{
    ERR_clear_error();
    int ret = SSL_do_handshake(c->ssl);
    if (ret == 1) {
        c->tls_up = true;
        tls_pump_out(c);
        if (c->dead)
            return;
        uv_timer_stop(&c->ps->t_deadline);
        c->phase = PH_HANDSHAKE;
        send_handshake(c);
        return;
    }
    int kind = SSL_get_error(c->ssl, ret);
    if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) {
        tls_pump_out(c);
        return;
    }
    tls_fail(c, "handshake");
}

/* Received TLS bytes: decrypts what it can into the reader. Returns false
 * when there is nothing (more) to process or c failed. */
static bool tls_feed(goio__ps_conn *c, const char *data, size_t len)
{
    if (BIO_write(SSL_get_rbio(c->ssl), data, (int)len) != (int)len) {
        conn_fail(c, GOIO_ENOMEM, "reading");
        return false;
    }
    if (!c->tls_up) {
        tls_step(c);
        if (c->dead || !c->tls_up)
            return false;
    }
    char plain[16 * 1024];
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(c->ssl, plain, sizeof plain);
        if (n > 0) {
            if (redisReaderFeed(c->reader, plain, (size_t)n) != REDIS_OK) {
                conn_fail(c, GOIO_ENOMEM, "reading");
                return false;
            }
            continue;
        }
        int kind = SSL_get_error(c->ssl, n);
        if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE)
            break;
        if (kind == SSL_ERROR_ZERO_RETURN) {
            conn_fail(c, GOIO_ECONNRESET, "reading");
            return false;
        }
        tls_fail(c, "reading");
        return false;
    }
    tls_pump_out(c); /* key updates and the like */
    return !c->dead;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    goio__ps_conn *c = s->data;
    if (c->dead || nread == 0 || atomic_load(&c->ps->stop_req))
        return;
    if (nread < 0) {
        conn_fail(c, map_uv((int)nread), "reading");
        return;
    }
    c->last_rx_ms = goio_now_mono_ms();
    if (c->ssl) {
        if (!tls_feed(c, buf->base, (size_t)nread))
            return;
    } else if (redisReaderFeed(c->reader, buf->base, (size_t)nread) !=
               REDIS_OK) {
        conn_fail(c, GOIO_ENOMEM, "reading");
        return;
    }
    process_replies(c);
    wake_all(c->ps); /* c may be dead now, ps lives */
    flush(c);
    if (!c->dead)
        rearm_deadline(c);
}

/* ---- connecting -----------------------------------------------------------
 */

static void send_handshake(goio__ps_conn *c)
{
    goio_pubsub *ps = c->ps;
    if (ps->o->username) { /* ACL user */
        const char *argv[] = {"AUTH", ps->o->username,
                              ps->o->password ? ps->o->password : ""};
        cmd(c, 3, argv, NULL);
        expect(c, K_AUTH, NULL);
    } else if (ps->o->password) {
        const char *argv[] = {"AUTH", ps->o->password};
        cmd(c, 2, argv, NULL);
        expect(c, K_AUTH, NULL);
    }
    if (ps->tracking) { /* subscriptions follow its answer */
        static const char *const argv[] = {"CLIENT", "ID"};
        cmd(c, 2, argv, NULL);
        expect(c, K_CLIENT_ID, NULL);
    } else {
        send_subscriptions(c);
    }
    flush(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    goio__ps_conn *c = req->handle->data;
    if (c->dead)
        return;
    if (status < 0) {
        conn_fail(c, map_uv(status), "connecting");
        return;
    }
    goio_pubsub *ps = c->ps;
    if (ps->o->tls) {
        /* The connect deadline keeps running through the TLS handshake. */
        const goio__redis_addr *a = ps->addr ? ps->addr : &ps->o->seed;
        void *ssl = NULL;
        int rc = goio__redis_tls_ssl_new(ps->o, a, &ssl);
        c->ssl = ssl;
        BIO *rb = rc ? NULL : BIO_new(BIO_s_mem());
        BIO *wb = rb ? BIO_new(BIO_s_mem()) : NULL;
        if (!wb) {
            BIO_free(rb);
            conn_fail(c, GOIO_ENOMEM, "TLS setup");
            return;
        }
        SSL_set_bio(c->ssl, rb, wb);
        SSL_set_connect_state(c->ssl);
        rc = uv_read_start(&c->u.s, on_alloc, on_read);
        if (rc < 0) {
            conn_fail(c, map_uv(rc), "reading");
            return;
        }
        tls_step(c);
        return;
    }
    uv_timer_stop(&c->ps->t_deadline);
    int rc = uv_read_start(&c->u.s, on_alloc, on_read);
    if (rc < 0) {
        conn_fail(c, map_uv(rc), "reading");
        return;
    }
    c->phase = PH_HANDSHAKE;
    send_handshake(c);
}

static void tcp_connect(goio__ps_conn *c, const struct sockaddr *sa)
{
    int rc = uv_tcp_init(&c->ps->loop, &c->u.tcp);
    if (rc == 0) {
        c->handle_open = true;
        c->u.h.data = c;
        uv_tcp_nodelay(&c->u.tcp, 1);
        uv_tcp_keepalive(&c->u.tcp, 1, 60); /* silent networks */
        rc = uv_tcp_connect(&c->creq, &c->u.tcp, sa, on_connect);
    }
    if (rc < 0)
        conn_fail(c, map_uv(rc), "connecting");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    goio__ps_conn *c = req->data;
    c->gai_pending = false;
    if (c->dead) {
        uv_freeaddrinfo(res);
        conn_maybe_free(c);
        return;
    }
    if (status < 0)
        conn_fail(c, map_uv(status), "resolving");
    else
        tcp_connect(c, res->ai_addr);
    uv_freeaddrinfo(res);
}

static void connect_addr(goio__ps_conn *c)
{
    const goio__redis_addr *a = c->ps->addr;
    if (a->unix_path) {
        int rc = uv_pipe_init(&c->ps->loop, &c->u.pipe, 0);
        if (rc < 0) {
            conn_fail(c, map_uv(rc), "connecting");
            return;
        }
        c->handle_open = true;
        c->u.h.data = c;
        uv_pipe_connect(&c->creq, &c->u.pipe, a->unix_path, on_connect);
        return;
    }
    struct sockaddr_in6 sa6;
    struct sockaddr_in sa4;
    if (uv_ip4_addr(a->host, a->port, &sa4) == 0) {
        tcp_connect(c, (const struct sockaddr *)&sa4);
    } else if (uv_ip6_addr(a->host, a->port, &sa6) == 0) {
        tcp_connect(c, (const struct sockaddr *)&sa6);
    } else { /* a name: resolved on libuv's thread pool */
        char port[16];
        snprintf(port, sizeof port, "%d", a->port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM};
        c->gai.data = c;
        int rc = uv_getaddrinfo(&c->ps->loop, &c->gai, on_resolved, a->host,
                                port, &hints);
        if (rc < 0)
            conn_fail(c, map_uv(rc), "resolving");
        else
            c->gai_pending = true;
    }
}

static void on_deadline(uv_timer_t *t);

static void start_connect(goio_pubsub *ps)
{
    if (ps->loop_stopping || ps->conn)
        return;
    goio__ps_conn *c = goio_calloc(1, sizeof *c);
    redisReader *reader = c ? redisReaderCreate() : NULL;
    if (!reader) {
        goio_free(c);
        ps->attempts++;
        log_failure(ps, false, GOIO_ENOMEM, "allocating");
        atomic_fetch_add(&ps->ctr.connect_errors, 1);
        uv_timer_start(&ps->t_retry, on_retry, backoff_ms(ps), 0);
        return;
    }
    c->ps = ps;
    c->reader = reader;
    c->phase = PH_CONNECTING;
    ps->addr = next_addr(ps);
    ps->conn = c;
    uv_timer_start(&ps->t_deadline, on_deadline, (uint64_t)ps->connect_ms, 0);
    connect_addr(c);
}

/* ---- timers ---------------------------------------------------------------
 */

/* When the oldest awaited reply is overdue. Bytes arriving count as a sign
 * of life: a reply stuck behind a backlog of messages being read is not
 * late, a server that sends nothing at all (paused) is. */
static int64_t reply_due(const goio__ps_conn *c)
{
    int64_t since = c->fifo[c->fhead].sent_ms;
    if (c->last_rx_ms > since)
        since = c->last_rx_ms;
    return goio_time_add_ms(since, c->ps->pong_ms);
}

static void rearm_deadline(goio__ps_conn *c)
{
    goio_pubsub *ps = c->ps;
    if (c->phase == PH_CONNECTING)
        return; /* the connect deadline runs */
    if (c->flen == 0) {
        uv_timer_stop(&ps->t_deadline);
        return;
    }
    int64_t left = reply_due(c) - goio_now_mono_ms();
    uv_timer_start(&ps->t_deadline, on_deadline,
                   (uint64_t)(left > 0 ? left : 0), 0);
}

static void on_deadline(uv_timer_t *t)
{
    goio_pubsub *ps = t->data;
    goio__ps_conn *c = ps->conn;
    if (!c)
        return;
    if (c->phase == PH_CONNECTING) {
        conn_fail(c, GOIO_ETIMEDOUT, "connect timed out");
        return;
    }
    if (c->flen == 0)
        return;
    if (goio_now_mono_ms() < reply_due(c)) {
        rearm_deadline(c);
        return;
    }
    goio_log(GOIO_LOG_WARN, "pubsub", "pubsub_reply_timeout", endpoint(ps),
             GOIO_ETIMEDOUT, "%s did not answer within %lld ms", endpoint(ps),
             (long long)ps->pong_ms);
    conn_fail(c, GOIO_ETIMEDOUT, "waiting for a reply");
    atomic_fetch_add(&ps->ctr.reply_timeouts, 1); /* after: not connected */
}

static void on_ping(uv_timer_t *t)
{
    goio_pubsub *ps = t->data;
    goio__ps_conn *c = ps->conn;
    if (!c || c->phase != PH_READY || c->flen)
        return; /* an answer is awaited already: its deadline runs */
    static const char *const ping[] = {"PING"};
    cmd(c, 1, ping, NULL);
    expect(c, K_PING, NULL);
    atomic_fetch_add(&ps->ctr.pings, 1);
    flush(c);
}

/* ---- the thread -----------------------------------------------------------
 */

static void close_handles(goio_pubsub *ps)
{
    uv_close((uv_handle_t *)&ps->wake, NULL);
    uv_close((uv_handle_t *)&ps->t_retry, NULL);
    uv_close((uv_handle_t *)&ps->t_deadline, NULL);
    uv_close((uv_handle_t *)&ps->t_ping, NULL);
}

static void on_wake(uv_async_t *a)
{
    goio_pubsub *ps = a->data;
    pthread_mutex_lock(&ps->mu);
    if (ps->stopping) {
        pthread_mutex_unlock(&ps->mu);
        ps->loop_stopping = true;
        if (ps->conn)
            conn_close(ps->conn);
        close_handles(ps);
        return;
    }
    size_t n = sync_dirty(ps, 0);
    /* entries may have been removed unsent: goio_pubsub_sync waits on it */
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
    run_active(ps, n);
    if (ps->conn)
        flush(ps->conn);
}

static void *loop_main(void *arg)
{
    goio_pubsub *ps = arg;
    goio__ps_mark_loop_thread(ps);
    if (ps->ping_ms > 0)
        uv_timer_start(&ps->t_ping, on_ping, (uint64_t)ps->ping_ms,
                       (uint64_t)ps->ping_ms);
    start_connect(ps);
    uv_run(&ps->loop, UV_RUN_DEFAULT);
    goio_free(ps->scratch);
    ps->scratch = NULL;
    goio_free(ps->wake_list);
    ps->wake_list = NULL;
    return NULL;
}

int goio__ps_loop_start(goio_pubsub *ps)
{
    int rc = uv_loop_init(&ps->loop);
    if (rc < 0)
        return map_uv(rc);
    uv_async_init(&ps->loop, &ps->wake, on_wake);
    uv_timer_init(&ps->loop, &ps->t_retry);
    uv_timer_init(&ps->loop, &ps->t_deadline);
    uv_timer_init(&ps->loop, &ps->t_ping);
    ps->wake.data = ps->t_retry.data = ps->t_deadline.data = ps->t_ping.data =
        ps;
    rc = pthread_create(&ps->thread, NULL, loop_main, ps);
    if (rc) {
        close_handles(ps);
        uv_run(&ps->loop, UV_RUN_DEFAULT);
        uv_loop_close(&ps->loop);
        return rc == EAGAIN ? GOIO_EAGAIN : GOIO_ENOMEM;
    }
    return 0;
}

void goio__ps_wake(goio_pubsub *ps)
{
    if (!ps->stopping)
        uv_async_send(&ps->wake);
}

void goio__ps_loop_stop(goio_pubsub *ps)
{
    /* Sent under the lock: the loop closes the async handle only after
     * it saw `stopping` under the same lock, so no send can follow. */
    pthread_mutex_lock(&ps->mu);
    ps->stopping = true;
    atomic_store(&ps->stop_req, true);
    uv_async_send(&ps->wake);
    pthread_mutex_unlock(&ps->mu);
    pthread_join(ps->thread, NULL);
    uv_loop_close(&ps->loop);
}
