/* SPDX-License-Identifier: MIT */
/*
 * Multi-key calls: keys are grouped by the node that serves them, each
 * group is pipelined on one connection, and every group's requests are
 * written before any reply is read, so the round trips to the nodes
 * overlap. Connections are borrowed in node order, which rules out two
 * callers each holding one node's last connection while waiting for the
 * other's. Keys answered with a redirect (a resharding in progress) or
 * whose connection broke are finished through the single-key path, which
 * knows MOVED, ASK and retries (not after a timeout or a protocol
 * violation: those end the call).
 */
#include "redis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mitem {
    size_t off, len; /* namespaced key in the arena */
    goio__redis_node *node;
    size_t i; /* index in the caller's arrays */
    bool redo;
} mitem;

typedef struct mgroup {
    goio__redis_node *node;
    goio__redis_conn *conn;
    size_t first, count; /* range of mop.items */
    bool broken;
} mgroup;

typedef struct mop {
    goio_redis *r;
    goio_ctx *ctx;
    const char *const *keys;
    size_t n;
    goio_buf *values; /* get */
    bool *hits;
    const void *const *vals; /* set */
    const size_t *lens;
    int64_t ttl_ms;
    char ttl[32];
    size_t ttl_len;
    char *arena;
    mitem *items;
    mgroup *groups;
    size_t n_groups;
    int err; /* first error seen */
} mop;

static void keep_error(mop *m, int rc)
{
    if (rc && !m->err)
        m->err = rc;
}

/* Builds every namespaced key in one arena (validating them all first). */
static int make_keys(mop *m)
{
    const goio__redis_opts *o = &m->r->opts;
    size_t prefix = o->ns_len ? o->ns_len + 1 : 0, total = 0;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i];
        size_t len = k ? strnlen(k, GOIO_CACHE_MAX_KEY + 1) : 0;
        if (len == 0 || len > GOIO_CACHE_MAX_KEY)
            return GOIO_EINVAL;
        m->items[i].len = prefix + len;
        m->items[i].i = i;
        total += prefix + len + 1;
    }
    m->arena = goio_malloc(total);
    if (!m->arena)
        return GOIO_ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < m->n; i++) {
        char *p = m->arena + off;
        if (prefix) {
            memcpy(p, o->ns, o->ns_len);
            p[o->ns_len] = ':';
        }
        memcpy(p + prefix, m->keys[i], m->items[i].len - prefix + 1);
        m->items[i].off = off;
        off += m->items[i].len + 1;
    }
    return 0;
}

static int by_node(const void *a, const void *b)
{
    const mitem *x = a, *y = b;
    if (x->node->index != y->node->index)
        return x->node->index < y->node->index ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int make_groups(mop *m)
{
    for (size_t i = 0; i < m->n; i++) {
        mitem *it = &m->items[i];
        unsigned slot = m->r->opts.cluster
                            ? goio_redis_key_slot(m->arena + it->off, it->len)
                            : 0;
        int rc = goio__redis_route(m->r, m->ctx, slot, &it->node);
        if (rc)
            return rc;
    }
    qsort(m->items, m->n, sizeof *m->items, by_node);
    m->groups = goio_calloc(m->n, sizeof *m->groups);
    if (!m->groups)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        mgroup *g = m->n_groups ? &m->groups[m->n_groups - 1] : NULL;
        if (!g || g->node != m->items[i].node) {
            g = &m->groups[m->n_groups++];
            g->node = m->items[i].node;
            g->first = i;
        }
        g->count++;
    }
    return 0;
}

static int borrow_all(mop *m)
{
    const goio__redis_opts *o = &m->r->opts;
    for (size_t g = 0; g < m->n_groups; g++) {
        mgroup *grp = &m->groups[g];
        int64_t t0 = goio__redis_track_start(o);
        int rc = goio__redis_pool_get(&grp->node->pool, m->ctx, &grp->conn);
        goio__redis_track(o, "redis_get_connection", t0);
        if (!rc)
            rc = goio__redis_conn_prepare(o, grp->conn, m->ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static void release_all(mop *m)
{
    const goio__redis_opts *o = &m->r->opts;
    for (size_t g = 0; g < m->n_groups; g++) {
        mgroup *grp = &m->groups[g];
        if (!grp->conn)
            continue;
        int64_t t0 = goio__redis_track_start(o);
        goio__redis_pool_put(&grp->node->pool, grp->conn, grp->broken);
        goio__redis_track(o, "redis_close_connection", t0);
        grp->conn = NULL;
    }
}

static void append_one(mop *m, redisContext *rc, const mitem *it)
{
    const char *key = m->arena + it->off;
    if (!m->vals) {
        const char *argv[] = {"GET", key};
        size_t lens[] = {3, it->len};
        redisAppendCommandArgv(rc, 2, argv, lens);
    } else if (m->ttl_ms <= 0) {
        const char *argv[] = {"DEL", key};
        size_t lens[] = {3, it->len};
        redisAppendCommandArgv(rc, 2, argv, lens);
    } else {
        const void *v = m->vals[it->i] ? m->vals[it->i] : "";
        const char *argv[] = {"SET", key, v, "PX", m->ttl};
        size_t lens[] = {3, it->len, m->lens[it->i], 2, m->ttl_len};
        redisAppendCommandArgv(rc, 5, argv, lens);
    }
}

/* Appends each group's commands and flushes them all. */
static void send_all(mop *m)
{
    for (size_t g = 0; g < m->n_groups; g++) {
        mgroup *grp = &m->groups[g];
        for (size_t k = 0; k < grp->count; k++)
            append_one(m, grp->conn->rc, &m->items[grp->first + k]);
        GOIO__REDIS_COUNT(&m->r->ctr, pipelines);
    }
    for (size_t g = 0; g < m->n_groups; g++) {
        mgroup *grp = &m->groups[g];
        int done = 0;
        while (!done && !grp->broken)
            if (goio__redis_conn_flush(grp->conn, &done) != REDIS_OK)
                grp->broken = true;
    }
}

static void take_value(mop *m, mitem *it, const redisReply *reply)
{
    size_t i = it->i;
    if (!m->vals && reply->type == REDIS_REPLY_STRING) {
        keep_error(m, goio_buf_set(&m->values[i], reply->str, reply->len));
        m->hits[i] = true;
    } else if (!m->vals && reply->type == REDIS_REPLY_NIL) {
        goio_buf_clear(&m->values[i]);
        m->hits[i] = false;
    } else if (m->vals && (reply->type == REDIS_REPLY_STATUS ||
                           reply->type == REDIS_REPLY_INTEGER)) {
        /* SET's +OK, or DEL's count */
    } else {
        goio_log(GOIO_LOG_WARN, "redis", "redis_bad_reply", m->keys[i],
                 GOIO_EPROTO, "unexpected reply type %d in a pipeline",
                 reply->type);
        keep_error(m, GOIO_EPROTO);
    }
}

static void take_reply(mop *m, mgroup *grp, mitem *it, redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ERROR) {
        take_value(m, it, reply);
        return;
    }
    unsigned slot;
    const char *host;
    size_t hlen;
    int port;
    if (m->r->opts.cluster &&
        goio__redis_parse_redirect(reply, &slot, &host, &hlen, &port))
        it->redo = true;
    else
        keep_error(m,
                   goio__redis_error_reply(reply, m->keys[it->i], grp->node));
}

static void read_group(mop *m, mgroup *grp)
{
    for (size_t k = 0; k < grp->count; k++) {
        mitem *it = &m->items[grp->first + k];
        void *reply = NULL;
        if (!grp->broken &&
            goio__redis_conn_get_reply(grp->conn, &reply) != REDIS_OK) {
            grp->broken = true;
            int rc = goio__redis_conn_error(grp->conn);
            goio_log(GOIO_LOG_WARN, "redis", "redis_io_error", m->keys[it->i],
                     rc, "pipeline on %s failed: %s", grp->node->addr.name,
                     grp->conn->rc->errstr);
            /* GET and SET are safe to repeat, but not after a timeout
             * (the node is too slow, more traffic will not help) nor after
             * a protocol violation (an oversized or malformed reply: asking
             * again would let the node make us pay twice). */
            if (rc == GOIO_ETIMEDOUT || rc == GOIO_EPROTO)
                keep_error(m, rc);
            if (rc == GOIO_ETIMEDOUT)
                goio__redis_refresh_after_timeout(m->r, m->ctx, grp->node);
        }
        if (grp->broken) {
            it->redo = true;
            continue;
        }
        take_reply(m, grp, it, reply);
        freeReplyObject(reply);
    }
}

/* Finishes the redirected / interrupted keys one by one. */
static void redo(mop *m)
{
    for (size_t i = 0; i < m->n && !m->err; i++) {
        mitem *it = &m->items[i];
        if (!it->redo)
            continue;
        GOIO__REDIS_COUNT(&m->r->ctr, retries);
        const char *key = m->keys[it->i];
        if (!m->vals)
            keep_error(m, goio_redis_get(m->r, m->ctx, key, &m->values[it->i],
                                         &m->hits[it->i]));
        else
            keep_error(m, goio_redis_set(m->r, m->ctx, key, m->vals[it->i],
                                         m->lens[it->i], m->ttl_ms));
    }
}

static int run(mop *m, const char *kpi)
{
    const goio__redis_opts *o = &m->r->opts;
    int64_t t0 = goio__redis_track_start(o);
    m->items = goio_calloc(m->n, sizeof *m->items);
    int rc = m->items ? make_keys(m) : GOIO_ENOMEM;
    if (!rc)
        rc = make_groups(m);
    if (!rc)
        rc = borrow_all(m);
    if (!rc) {
        send_all(m);
        for (size_t g = 0; g < m->n_groups; g++)
            read_group(m, &m->groups[g]);
    }
    release_all(m);
    if (!rc && !m->err)
        redo(m);
    goio__redis_track(o, kpi, t0);
    goio_free(m->arena);
    goio_free(m->items);
    goio_free(m->groups);
    return rc ? rc : m->err;
}

int goio_redis_multi_get(goio_redis *r, goio_ctx *ctx, const char *const *keys,
                         size_t n, goio_buf *values, bool *hits)
{
    if (!r || (n && (!keys || !values || !hits)))
        return GOIO_EINVAL;
    if (n == 0)
        return 0;
    mop m = {.r = r, .ctx = ctx, .keys = keys, .n = n};
    m.values = values;
    m.hits = hits;
    for (size_t i = 0; i < n; i++)
        hits[i] = false;
    return run(&m, "redis_command_multi_get");
}

int goio_redis_multi_set(goio_redis *r, goio_ctx *ctx, const char *const *keys,
                         const void *const *values, const size_t *lens,
                         size_t n, int64_t ttl_ms)
{
    if (!r || (n && (!keys || !values || !lens)))
        return GOIO_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!values[i] && lens[i])
            return GOIO_EINVAL;
    if (n == 0)
        return 0;
    mop m = {.r = r, .ctx = ctx, .keys = keys, .n = n};
    m.vals = values;
    m.lens = lens;
    m.ttl_ms = ttl_ms;
    if (ttl_ms > 0)
        m.ttl_len = (size_t)goio__redis_ttl_arg(ttl_ms, m.ttl, sizeof m.ttl);
    return run(&m, "redis_command_multi_set");
}
