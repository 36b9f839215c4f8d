/* SPDX-License-Identifier: MIT */
/*
 * Running one single-key command: borrow a connection from the node that
 * serves the key's slot, send, read, give the connection back (closed if
 * anything went wrong), and deal with what came back:
 *  - MOVED: point the slot at the new node, reload the map, retry there;
 *  - ASK: send ASKING + the command to the named node, once;
 *  - TRYAGAIN / CLUSTERDOWN: back off and retry (CLUSTERDOWN reloads);
 *  - a connection that broke (refused, reset, EOF): in cluster mode reload
 *    the map (a failover may have moved the slot) and retry after a
 *    backoff if the command was not sent or is safe to repeat; outside
 *    cluster mode retry once on a fresh connection when it was a pooled
 *    one and the command is safe to repeat;
 *  - timeouts are never retried: the server may have run the command.
 */
#include "redis_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

goio__redis_redirect goio__redis_parse_redirect(const redisReply *reply,
                                                unsigned *slot,
                                                const char **host,
                                                size_t *host_len, int *port)
{
    const char *s = reply->str;
    size_t len = reply->len;
    if ((len >= 8 && !memcmp(s, "TRYAGAIN", 8)) ||
        (len >= 11 && !memcmp(s, "CLUSTERDOWN", 11)))
        return GOIO__REDIS_TRYAGAIN;
    goio__redis_redirect kind;
    if (len > 6 && !memcmp(s, "MOVED ", 6))
        kind = GOIO__REDIS_MOVED;
    else if (len > 4 && !memcmp(s, "ASK ", 4))
        kind = GOIO__REDIS_ASK;
    else
        return GOIO__REDIS_NO_REDIRECT;
    /* "<slot> <host>:<port>"; the host may be empty (same as the sender)
     * or an IPv6 address (the port follows the last ':'). */
    const char *p = s + (kind == GOIO__REDIS_MOVED ? 6 : 4);
    const char *end = s + len;
    char *num_end;
    unsigned long v = strtoul(p, &num_end, 10);
    if (num_end == p || *num_end != ' ' || v >= GOIO__REDIS_SLOTS)
        return GOIO__REDIS_NO_REDIRECT;
    const char *addr = num_end + 1;
    const char *colon = NULL;
    for (const char *q = addr; q < end; q++)
        if (*q == ':')
            colon = q;
    if (!colon)
        return GOIO__REDIS_NO_REDIRECT;
    char portbuf[8];
    size_t plen = (size_t)(end - colon - 1);
    if (plen == 0 || plen >= sizeof portbuf)
        return GOIO__REDIS_NO_REDIRECT;
    memcpy(portbuf, colon + 1, plen);
    portbuf[plen] = 0;
    long pv = strtol(portbuf, &num_end, 10);
    if (*num_end || pv <= 0 || pv > 65535)
        return GOIO__REDIS_NO_REDIRECT;
    *slot = (unsigned)v;
    *host = addr;
    *host_len = (size_t)(colon - addr);
    *port = (int)pv;
    return kind;
}

int goio__redis_error_reply(const redisReply *reply, const char *log_key,
                            const goio__redis_node *node)
{
    /* An ACL refusal is a permission problem the operator fixes on the
     * server, not a protocol error: GOIO_EACCES, as a refused login. */
    bool denied = reply->len >= 6 && !memcmp(reply->str, "NOPERM", 6);
    int rc = denied ? GOIO_EACCES : GOIO_EPROTO;
    goio_log(GOIO_LOG_WARN, "redis", "redis_error_reply", log_key, rc,
             "redis %s replied: %.*s", node ? node->addr.name : "server",
             (int)reply->len, reply->str);
    return rc;
}

int goio__redis_backoff(const goio__redis_opts *o, goio_ctx *ctx, int attempt)
{
    int64_t ms = o->cluster_retry_backoff_ms;
    for (int i = 0; i < attempt && ms < 1000; i++)
        ms *= 2;
    if (ms <= 0)
        return goio_ctx_err(ctx);
    if (ctx) {
        /* goio_ctx_wait returns 0 when ctx ended the wait. */
        if (goio_ctx_wait(ctx, ms) == 0)
            return goio_ctx_err(ctx);
        return 0;
    }
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
    return 0;
}

/* One send/receive on one node; *reply set on success (may be an error
 * reply). *sent tells whether the request may have reached the server. */
typedef struct attempt {
    goio__redis_node *node;
    bool asking;
    bool reused, sent;
} attempt;

/* The round trip on a shared connection. Faults are logged by mux.c, once
 * for all the commands they fail; a caller whose ctx ended logs its own. */
static int mux_roundtrip(goio_redis *r, goio_ctx *ctx,
                         const goio__redis_cmd *cmd, attempt *a,
                         redisReply **reply)
{
    const goio__redis_opts *o = &r->opts;
    int64_t t0 = goio__redis_track_start(o);
    int rc = goio__redis_mux_exec(&a->node->mux, ctx, cmd, reply, &a->sent,
                                  &a->reused);
    goio__redis_track(o, cmd->kpi, t0);
    if (rc && rc == goio_ctx_err(ctx))
        goio_log(GOIO_LOG_WARN, "redis", "redis_timeout", cmd->log_key, rc,
                 "%s on %s: no reply before the ctx ended (the connection "
                 "stays; the late reply is dropped)",
                 cmd->argv[0], a->node->addr.name);
    return rc;
}

static int roundtrip(goio_redis *r, goio_ctx *ctx, const goio__redis_cmd *cmd,
                     attempt *a, redisReply **reply)
{
    const goio__redis_opts *o = &r->opts;
    /* A blocking call in an async callback takes a pooled connection: the
     * async thread may be the leader of the shared ones it would wait on. */
    if (cmd->mux && a->node->mux.n > 0 && !a->asking &&
        !goio__redis_async_is_self(&r->as))
        return mux_roundtrip(r, ctx, cmd, a, reply);
    goio__redis_conn *c;
    a->sent = false;
    int64_t t0 = goio__redis_track_start(o);
    int rc = goio__redis_pool_get(&a->node->pool, ctx, &c);
    goio__redis_track(o, "redis_get_connection", t0);
    if (rc)
        return rc;
    a->reused = c->reused;
    rc = goio__redis_conn_prepare(o, c, ctx);
    if (rc) {
        goio__redis_pool_put(&a->node->pool, c, rc == GOIO_EIO);
        return rc;
    }
    a->sent = true;
    t0 = goio__redis_track_start(o);
    if (a->asking) {
        redisAppendCommand(c->rc, "ASKING");
        redisAppendCommandArgv(c->rc, cmd->argc, cmd->argv, cmd->argvlen);
        void *ok = NULL;
        if (goio__redis_conn_get_reply(c, &ok) == REDIS_OK) {
            freeReplyObject(ok);
            goio__redis_conn_get_reply(c, (void **)reply);
        }
    } else {
        *reply = goio__redis_conn_command_argv(c, cmd->argc, cmd->argv,
                                               cmd->argvlen);
    }
    goio__redis_track(o, cmd->kpi, t0);
    bool broken = *reply == NULL;
    if (broken) {
        rc = goio__redis_conn_error(c);
        goio_log(GOIO_LOG_WARN, "redis",
                 rc == GOIO_ETIMEDOUT ? "redis_timeout" : "redis_io_error",
                 cmd->log_key, rc, "%s on %s failed: %s", cmd->argv[0],
                 a->node->addr.name, c->rc->errstr);
    }
    t0 = goio__redis_track_start(o);
    goio__redis_pool_put(&a->node->pool, c, broken);
    goio__redis_track(o, "redis_close_connection", t0);
    return rc;
}

goio__redis_retry goio__redis_retry_rule(const goio_redis *r, int rc, bool sent,
                                         bool idempotent, bool reused,
                                         int tries)
{
    bool lost = rc == GOIO_ECONNREFUSED || rc == GOIO_ECONNRESET ||
                rc == GOIO_EHOSTUNREACH || rc == GOIO_EIO;
    if (!lost || (sent && !idempotent))
        return GOIO__REDIS_RETRY_NO;
    if (!r->opts.cluster) {
        /* A pooled connection the server dropped (restart, CLIENT KILL)
         * between our liveness check and the send: once, fresh. */
        return tries == 1 && reused && sent ? GOIO__REDIS_RETRY_NOW
                                            : GOIO__REDIS_RETRY_NO;
    }
    /* The node may be gone for good (failover): ask the others. */
    return tries < r->opts.cluster_max_attempts ? GOIO__REDIS_RETRY_REFRESH
                                                : GOIO__REDIS_RETRY_NO;
}

/* Decides whether a failed round trip is tried again. */
static bool retry_after_failure(goio_redis *r, goio_ctx *ctx,
                                const goio__redis_cmd *cmd, const attempt *a,
                                int rc, int tries)
{
    goio__redis_retry rule = goio__redis_retry_rule(
        r, rc, a->sent, cmd->idempotent, a->reused, tries);
    if (rule != GOIO__REDIS_RETRY_REFRESH)
        return rule == GOIO__REDIS_RETRY_NOW;
    goio__redis_cluster_refresh(r, ctx, goio__redis_epoch(r), NULL, a->node);
    return goio__redis_backoff(&r->opts, ctx, tries - 1) == 0;
}

void goio__redis_refresh_after_timeout(goio_redis *r, goio_ctx *ctx,
                                       goio__redis_node *node)
{
    if (!r->opts.cluster)
        return;
    int64_t now = goio_now_mono_ms();
    int_fast64_t last = atomic_load(&r->cl.timeout_refresh_ms);
    if (now - last < 1000 ||
        !atomic_compare_exchange_strong(&r->cl.timeout_refresh_ms, &last, now))
        return;
    goio__redis_cluster_refresh(r, ctx, goio__redis_epoch(r), NULL, node);
}

int goio__redis_redirect_target(goio_redis *r, const goio__redis_node *from,
                                const char *host, size_t hlen, int port,
                                goio__redis_node **out)
{
    if (hlen == 0 && from->addr.host) { /* "MOVED 3999 :6381": same host */
        host = from->addr.host;
        hlen = strlen(host);
    }
    return goio__redis_node_get(r, host, hlen, port, out);
}

/* Handles a redirect or TRYAGAIN reply. Returns 1 to retry, 0 when it is
 * an ordinary error reply, or a negative code. */
static int follow(goio_redis *r, goio_ctx *ctx, attempt *a,
                  const redisReply *reply, int tries)
{
    unsigned slot;
    const char *host;
    size_t hlen;
    int port;
    goio__redis_redirect kind =
        goio__redis_parse_redirect(reply, &slot, &host, &hlen, &port);
    if (kind == GOIO__REDIS_NO_REDIRECT || !r->opts.cluster)
        return 0;
    if (tries >= r->opts.cluster_max_attempts)
        return 0;
    if (kind == GOIO__REDIS_TRYAGAIN) {
        GOIO__REDIS_COUNT(&r->ctr, tryagain);
        if (reply->str[0] == 'C') /* CLUSTERDOWN */
            goio__redis_cluster_refresh(r, ctx, goio__redis_epoch(r), NULL,
                                        NULL);
        int rc = goio__redis_backoff(&r->opts, ctx, tries - 1);
        a->asking = false;
        a->node = NULL;
        return rc ? rc : 1;
    }
    goio__redis_node *target;
    int rc = goio__redis_redirect_target(r, a->node, host, hlen, port, &target);
    if (rc)
        return rc;
    if (kind == GOIO__REDIS_ASK) {
        GOIO__REDIS_COUNT(&r->ctr, ask);
        a->asking = true;
        a->node = target;
        return 1;
    }
    GOIO__REDIS_COUNT(&r->ctr, moved);
    uint64_t epoch = goio__redis_epoch(r);
    goio__redis_slot_set(r, slot, target);
    goio__redis_cluster_refresh(r, ctx, epoch, target, NULL);
    a->asking = false;
    a->node = NULL;
    return 1;
}

int goio__redis_exec(goio_redis *r, goio_ctx *ctx, const goio__redis_cmd *cmd,
                     redisReply **reply)
{
    attempt a = {0};
    *reply = NULL;
    for (int tries = 1;; tries++) {
        int rc = goio_ctx_err(ctx);
        if (!rc && !a.node)
            rc = goio__redis_route(r, ctx, cmd->slot, &a.node);
        if (!rc)
            rc = roundtrip(r, ctx, cmd, &a, reply);
        if (rc == GOIO_ETIMEDOUT && a.node)
            goio__redis_refresh_after_timeout(r, ctx, a.node);
        if (rc) {
            if (a.node && retry_after_failure(r, ctx, cmd, &a, rc, tries)) {
                GOIO__REDIS_COUNT(&r->ctr, retries);
                a.node = r->opts.cluster ? NULL : a.node;
                a.asking = false;
                continue;
            }
            return rc;
        }
        if ((*reply)->type != REDIS_REPLY_ERROR)
            return 0;
        rc = follow(r, ctx, &a, *reply, tries);
        if (rc == 1) {
            freeReplyObject(*reply);
            *reply = NULL;
            continue;
        }
        if (rc == 0)
            rc = goio__redis_error_reply(*reply, cmd->log_key, a.node);
        freeReplyObject(*reply);
        *reply = NULL;
        return rc;
    }
}
