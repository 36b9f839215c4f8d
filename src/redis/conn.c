/* SPDX-License-Identifier: MIT */
/*
 * One blocking hiredis connection: open (timeouts, AUTH, SELECT), per-
 * command read timeout, error translation and the liveness check.
 *
 * hiredis 0.14 keeps the first I/O error in the context for good (a read
 * that timed out cannot be resumed), so every failure here ends with the
 * connection closed by the pool, never reused.
 */
#include "redis_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv = {0, 0};
    if (ms > 0) {
        tv.tv_sec = (time_t)(ms / 1000);
        tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    }
    return tv;
}

static int set_sock_timeout(int fd, int opt, int64_t ms)
{
    struct timeval tv = ms_to_tv(ms);
    return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) ? GOIO_EIO : 0;
}

/* errno of a failed hiredis call, read back from its message: hiredis
 * formats I/O errors with strerror, and errno itself may not survive. */
static int errno_from_ctx(const redisContext *rc, int saved_errno)
{
    static const int candidates[] = {EAGAIN,       ETIMEDOUT,  ECONNREFUSED,
                                     ECONNRESET,   EPIPE,      ENOENT,
                                     EHOSTUNREACH, ENETUNREACH};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (strstr(rc->errstr, strerror(candidates[i])))
            return candidates[i];
    return saved_errno;
}

static int map_errno(int e)
{
    switch (e) {
    case EAGAIN:
    case ETIMEDOUT:
    case EINPROGRESS:
        return GOIO_ETIMEDOUT; /* SO_RCVTIMEO / connect poll expired */
    case ECONNREFUSED:
    case ENOENT: /* unix socket not there */
        return GOIO_ECONNREFUSED;
    case ECONNRESET:
    case EPIPE:
        return GOIO_ECONNRESET;
    case EHOSTUNREACH:
    case ENETUNREACH:
        return GOIO_EHOSTUNREACH;
    default:
        return GOIO_EIO;
    }
}

/* ---- what a reply costs ----------------------------------------------------
 *
 * The reader builds a reply's objects through these functions; each one is
 * charged to the connection's reply_cost before it is made, so that a
 * reply declaring a huge array (hiredis allocates its element pointers at
 * once) fails before the allocation. Together with the bytes received and
 * not parsed yet (goio__redis_conn_reply_over) this is what one reply
 * costs, on the pooled and the multiplexed path alike.
 */

/* An object's header plus the allocator's share. */
#define OBJ_COST (sizeof(redisReply) + 16)

static bool charge(const redisReadTask *t, size_t bytes)
{
    goio__redis_conn *c = t->privdata;
    if (bytes > c->max_reply || c->reply_cost > c->max_reply - bytes) {
        /* The reader fails with an out-of-memory error; its caller sees
         * refused and says why. */
        c->refused =
            bytes > SIZE_MAX - c->reply_cost ? SIZE_MAX : c->reply_cost + bytes;
        return false;
    }
    c->reply_cost += bytes;
    return true;
}

static void *cost_string(const redisReadTask *t, char *s, size_t len)
{
    goio__redis_conn *c = t->privdata;
    if (len > SIZE_MAX - OBJ_COST - 1 || !charge(t, OBJ_COST + len + 1))
        return NULL;
    return c->base_fn->createString(t, s, len);
}

static void *cost_array(const redisReadTask *t, int n)
{
    goio__redis_conn *c = t->privdata;
    size_t n_ptr = n > 0 ? (size_t)n : 0;
    if (!charge(t, OBJ_COST + n_ptr * sizeof(redisReply *)))
        return NULL;
    return c->base_fn->createArray(t, n);
}

static void *cost_integer(const redisReadTask *t, long long v)
{
    goio__redis_conn *c = t->privdata;
    return charge(t, OBJ_COST) ? c->base_fn->createInteger(t, v) : NULL;
}

static void *cost_nil(const redisReadTask *t)
{
    goio__redis_conn *c = t->privdata;
    return charge(t, OBJ_COST) ? c->base_fn->createNil(t) : NULL;
}

static redisReplyObjectFunctions cost_fn = {
    .createString = cost_string,
    .createArray = cost_array,
    .createInteger = cost_integer,
    .createNil = cost_nil,
    .freeObject = freeReplyObject,
};

/* Puts the counting functions in front of c's reader. */
static void count_replies(goio__redis_conn *c, size_t max_reply)
{
    redisReader *r = c->rc->reader;
    c->base_fn = r->fn;
    r->fn = &cost_fn;
    r->privdata = c;
    c->reply_cost = 0;
    c->refused = 0;
    c->max_reply = max_reply ? max_reply : SIZE_MAX;
}

size_t goio__redis_conn_reply_over(const goio__redis_conn *c)
{
    if (c->refused)
        return c->refused;
    const redisReader *r = c->rc->reader;
    size_t unparsed = r->len - r->pos;
    if (unparsed > c->max_reply || c->reply_cost > c->max_reply - unparsed)
        return unparsed + c->reply_cost;
    return 0;
}

void goio__redis_conn_log_too_large(const goio__redis_conn *c, size_t cost)
{
    goio_log(GOIO_LOG_WARN, "redis", "redis_reply_too_large", c->node,
             GOIO_EPROTO,
             "a reply from %s costs more than max_reply_bytes (%zu bytes so "
             "far, limit %zu): connection closed",
             c->node ? c->node : "?", cost, c->max_reply);
}

/* Fails c's context for a reply over max_reply_bytes (after the reader
 * stopped with its out-of-memory error, or before it got the whole
 * reply): a protocol error; the connection is closed by its user. */
static int reply_too_large(goio__redis_conn *c, size_t cost)
{
    redisContext *rc = c->rc;
    rc->err = REDIS_ERR_PROTOCOL;
    snprintf(rc->errstr, sizeof rc->errstr,
             "reply larger than max_reply_bytes (%zu bytes so far, limit %zu)",
             cost, c->max_reply);
    goio__redis_conn_log_too_large(c, cost);
    return REDIS_ERR;
}

int goio__redis_conn_reader_failed(goio__redis_conn *c)
{
    return c->refused ? reply_too_large(c, c->refused) : REDIS_ERR;
}

int goio__redis_conn_reply_check(goio__redis_conn *c)
{
    size_t over = goio__redis_conn_reply_over(c);
    return over ? reply_too_large(c, over) : REDIS_OK;
}

int64_t goio__redis_conn_reply_due(const goio__redis_conn *c)
{
    int64_t due = c->rcv_timeout_ms > 0
                      ? goio_time_add_ms(goio_now_mono_ms(), c->rcv_timeout_ms)
                      : GOIO_NO_DEADLINE;
    return c->ctx_due_ms < due ? c->ctx_due_ms : due;
}

int goio__redis_conn_reply_going(goio__redis_conn *c, int64_t due)
{
    if (goio__redis_conn_reply_check(c) != REDIS_OK)
        return REDIS_ERR;
    if (goio_now_mono_ms() < due)
        return REDIS_OK;
    c->rc->err = REDIS_ERR_IO;
    snprintf(c->rc->errstr, sizeof c->rc->errstr, "%s", strerror(EAGAIN));
    return REDIS_ERR;
}

static int ctx_error(const redisContext *rc, int saved_errno)
{
    switch (rc->err) {
    case 0:
        return 0;
    case REDIS_ERR_IO:
        return map_errno(errno_from_ctx(rc, saved_errno));
    case REDIS_ERR_EOF:
        return GOIO_ECONNRESET; /* the server closed the connection */
    case REDIS_ERR_PROTOCOL:
        return GOIO_EPROTO;
    case REDIS_ERR_OOM:
        return GOIO_ENOMEM;
    default: /* REDIS_ERR_OTHER: name resolution and the like */
        if (strstr(rc->errstr, "resolve") || strstr(rc->errstr, "known"))
            return GOIO_EHOSTUNREACH;
        return map_errno(errno_from_ctx(rc, saved_errno));
    }
}

int goio__redis_conn_error(const goio__redis_conn *c)
{
    if (c->tls_err)
        return c->tls_err;
    int rc = ctx_error(c->rc, errno);
    return rc ? rc : GOIO_EIO;
}

void goio__redis_conn_close(goio__redis_conn *c)
{
    if (!c)
        return;
    goio__redis_tls_close(c);
    if (c->rc)
        redisFree(c->rc);
    goio_free(c);
}

static int64_t cut_to_ctx(int64_t timeout_ms, goio_ctx *ctx)
{
    int64_t left = goio_ctx_remaining_ms(ctx);
    if (left < 0)
        return timeout_ms;
    if (left == 0)
        left = 1;
    return (timeout_ms <= 0 || left < timeout_ms) ? left : timeout_ms;
}

static redisContext *open_ctx(const goio__redis_addr *a, int64_t timeout_ms)
{
    if (timeout_ms <= 0) {
        return a->unix_path ? redisConnectUnix(a->unix_path)
                            : redisConnect(a->host, a->port);
    }
    struct timeval tv = ms_to_tv(timeout_ms);
    return a->unix_path ? redisConnectUnixWithTimeout(a->unix_path, tv)
                        : redisConnectWithTimeout(a->host, a->port, tv);
}

/* Runs a setup command (AUTH, SELECT) and expects +OK. */
static int setup_command(goio__redis_conn *c, const goio__redis_addr *a,
                         int argc, const char **argv, const size_t *lens)
{
    redisReply *reply = goio__redis_conn_command_argv(c, argc, argv, lens);
    if (!reply) {
        int rc = goio__redis_conn_error(c);
        goio_log(GOIO_LOG_WARN, "redis", "redis_connect_failed", a->name, rc,
                 "%s on connect failed: %s", argv[0], c->rc->errstr);
        return rc;
    }
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        bool auth = !strcmp(argv[0], "AUTH") ||
                    !strncmp(reply->str, "NOAUTH", 6) ||
                    !strncmp(reply->str, "WRONGPASS", 9) ||
                    !strncmp(reply->str, "NOPERM", 6);
        rc = auth ? GOIO_EACCES : GOIO_EPROTO;
        goio_log(GOIO_LOG_ERROR, "redis", "redis_connect_failed", a->name, rc,
                 "%s on connect refused: %.*s", argv[0], (int)reply->len,
                 reply->str);
    }
    freeReplyObject(reply);
    return rc;
}

static int authenticate(const goio__redis_opts *o, goio__redis_conn *c,
                        const goio__redis_addr *a, goio_ctx *ctx)
{
    /* Over TLS a PING at least: a server that refuses our certificate
     * says so after the handshake (TLS 1.3), and that belongs to the
     * connect, not to the first command. */
    if (!o->password && !o->username && o->database == 0 && !c->ssl)
        return 0;
    /* A paused server accepts the connection and then answers nothing:
     * the ctx deadline bounds these replies as it bounds any command's. */
    int rc = goio__redis_conn_prepare(o, c, ctx);
    if (rc)
        return rc;
    const char *pass = o->password ? o->password : "";
    if (o->username) { /* ACL user; a nopass user takes any password */
        const char *argv[] = {"AUTH", o->username, pass};
        size_t lens[] = {4, strlen(o->username), strlen(pass)};
        rc = setup_command(c, a, 3, argv, lens);
        if (rc)
            return rc;
    } else if (o->password) {
        const char *argv[] = {"AUTH", o->password};
        size_t lens[] = {4, strlen(o->password)};
        rc = setup_command(c, a, 2, argv, lens);
        if (rc)
            return rc;
    }
    if (o->database != 0) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", o->database);
        const char *argv[] = {"SELECT", db};
        size_t lens[] = {6, (size_t)n};
        return setup_command(c, a, 2, argv, lens);
    }
    if (c->ssl && !o->password && !o->username) {
        const char *argv[] = {"PING"};
        size_t lens[] = {4};
        redisReply *reply = goio__redis_conn_command_argv(c, 1, argv, lens);
        if (!reply) {
            rc = goio__redis_conn_error(c);
            goio_log(GOIO_LOG_WARN, "redis", "redis_connect_failed", a->name,
                     rc, "PING on connect failed: %s", c->rc->errstr);
            return rc;
        }
        freeReplyObject(reply); /* -NOAUTH is the next command's business */
    }
    return 0;
}

static int apply_timeouts(const goio__redis_opts *o, goio__redis_conn *c)
{
    int fd = c->rc->fd;
    if (set_sock_timeout(fd, SO_RCVTIMEO, o->read_timeout_ms) ||
        set_sock_timeout(fd, SO_SNDTIMEO, o->write_timeout_ms))
        return GOIO_EIO;
    c->rcv_timeout_ms = o->read_timeout_ms;
    c->snd_timeout_ms = o->write_timeout_ms;
    /* Dead peers behind a silent network are noticed by TCP keepalive. */
    if (c->rc->connection_type == REDIS_CONN_TCP)
        redisEnableKeepAlive(c->rc);
    return 0;
}

int goio__redis_connect(const goio__redis_opts *o, const goio__redis_addr *a,
                        goio_ctx *ctx, goio__redis_conn **out)
{
    *out = NULL;
    int rc = goio_ctx_err(ctx);
    if (rc)
        return rc;
    goio__redis_conn *c = goio_calloc(1, sizeof *c);
    if (!c)
        return GOIO_ENOMEM;
    c->ctx_due_ms = GOIO_NO_DEADLINE;
    c->node = a->name;
    int64_t timeout = cut_to_ctx(o->connect_timeout_ms, ctx);
    int64_t deadline = timeout > 0
                           ? goio_time_add_ms(goio_now_mono_ms(), timeout)
                           : GOIO_NO_DEADLINE;
    c->rc = open_ctx(a, timeout);
    if (!c->rc) {
        goio_free(c);
        return GOIO_ENOMEM;
    }
    if (c->rc->err) {
        rc = ctx_error(c->rc, errno);
        goio_log(GOIO_LOG_WARN, "redis", "redis_connect_failed", a->name, rc,
                 "connecting to %s failed: %s", a->name, c->rc->errstr);
    } else {
        count_replies(c, o->max_reply_bytes);
        /* The handshake shares the connect timeout. */
        rc = o->tls ? goio__redis_tls_connect(o, a, c, deadline, ctx) : 0;
        if (!rc)
            rc = apply_timeouts(o, c);
        if (!rc)
            rc = authenticate(o, c, a, ctx);
    }
    if (rc) {
        goio__redis_conn_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Sets one socket timeout when it differs from what is applied (*now). */
static int apply_timeout(goio__redis_conn *c, int opt, int64_t want,
                         int64_t *now)
{
    if (want == *now)
        return 0;
    *now = want;
    return set_sock_timeout(c->rc->fd, opt, want);
}

int goio__redis_conn_set_rcvtimeo(goio__redis_conn *c, int64_t ms)
{
    return apply_timeout(c, SO_RCVTIMEO, ms, &c->rcv_timeout_ms);
}

int goio__redis_conn_prepare(const goio__redis_opts *o, goio__redis_conn *c,
                             goio_ctx *ctx)
{
    int64_t rcv = o->read_timeout_ms, snd = o->write_timeout_ms;
    c->ctx_due_ms = GOIO_NO_DEADLINE;
    if (ctx) {
        int64_t left = goio_ctx_remaining_ms(ctx);
        if (left >= 0)
            c->ctx_due_ms = goio_time_add_ms(goio_now_mono_ms(), left);
        int rc = goio_ctx_err(ctx);
        if (rc)
            return rc;
        /* A paused server still takes a small request into the socket
         * buffer, but a full buffer blocks the write: both are cut. */
        rcv = cut_to_ctx(rcv, ctx);
        snd = cut_to_ctx(snd, ctx);
    }
    int rc = apply_timeout(c, SO_RCVTIMEO, rcv, &c->rcv_timeout_ms);
    return rc ? rc : apply_timeout(c, SO_SNDTIMEO, snd, &c->snd_timeout_ms);
}

static int plain_get_reply(goio__redis_conn *c, void **reply);

redisReply *goio__redis_conn_command_argv(goio__redis_conn *c, int argc,
                                          const char **argv, const size_t *lens)
{
    if (c->ssl)
        return goio__redis_tls_command(c, argc, argv, lens);
    if (redisAppendCommandArgv(c->rc, argc, argv, lens) != REDIS_OK)
        return NULL;
    void *reply = NULL;
    return plain_get_reply(c, &reply) == REDIS_OK ? reply : NULL;
}

/* SO_RCVTIMEO bounds each recv, so a peer sending a byte now and then
 * would hold a reply forever: the whole reply must be in within the read
 * timeout (and the command's ctx), checked after every read. */
static int plain_get_reply(goio__redis_conn *c, void **reply)
{
    redisContext *rc = c->rc;
    *reply = NULL;
    if (redisGetReplyFromReader(rc, reply) != REDIS_OK)
        return goio__redis_conn_reader_failed(c);
    if (*reply) {
        goio__redis_conn_reply_done(c);
        return REDIS_OK;
    }
    int done = 0;
    do {
        if (redisBufferWrite(rc, &done) != REDIS_OK)
            return REDIS_ERR;
    } while (!done);
    int64_t due = goio__redis_conn_reply_due(c);
    while (!*reply) {
        if (redisBufferRead(rc) != REDIS_OK)
            return REDIS_ERR;
        if (redisGetReplyFromReader(rc, reply) != REDIS_OK)
            return goio__redis_conn_reader_failed(c);
        if (!*reply && goio__redis_conn_reply_going(c, due) != REDIS_OK)
            return REDIS_ERR;
    }
    goio__redis_conn_reply_done(c);
    return REDIS_OK;
}

int goio__redis_conn_get_reply(goio__redis_conn *c, void **reply)
{
    if (c->ssl)
        return goio__redis_tls_get_reply(c, reply);
    return plain_get_reply(c, reply);
}

int goio__redis_conn_flush(goio__redis_conn *c, int *done)
{
    if (c->ssl)
        return goio__redis_tls_flush(c, done);
    return redisBufferWrite(c->rc, done);
}

bool goio__redis_conn_alive(const goio__redis_conn *c)
{
    if (c->rc->err)
        return false;
    /* An idle connection has nothing to read: readable means the peer
     * closed it (EOF) or sent something we never asked for. */
    char b;
    ssize_t n = recv(c->rc->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (c->ssl && (n > 0 || goio__redis_tls_buffered(c)))
        return goio__redis_tls_alive(c); /* maybe a session ticket */
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
