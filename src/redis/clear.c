/* SPDX-License-Identifier: MIT */
/*
 * goio_cache_clear on Redis: delete the namespace's keys, never anything
 * else. SCAN MATCH "<ns>:*" on every master (the pattern is glob-escaped),
 * and UNLINK each batch as a pipeline of single-key UNLINKs (a multi-key
 * UNLINK would fail with CROSSSLOT in a cluster). Keys written during the
 * scan may survive it, as with any SCAN.
 */
#include "redis_internal.h"

#include <string.h>

static int match_pattern(const goio__redis_opts *o, goio_buf *pat)
{
    if (goio__redis_glob_escape(o->ns, o->ns_len, pat))
        return GOIO_ENOMEM;
    return goio_buf_append_str(pat, ":*") ? GOIO_ENOMEM : 0;
}

static int unlink_batch(goio__redis_conn *c, const redisReply *keys)
{
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING)
            return GOIO_EPROTO;
        const char *argv[] = {"UNLINK", k->str};
        size_t lens[] = {6, k->len};
        redisAppendCommandArgv(c->rc, 2, argv, lens);
    }
    for (size_t i = 0; i < keys->elements; i++) {
        void *reply;
        if (goio__redis_conn_get_reply(c, &reply) != REDIS_OK)
            return goio__redis_conn_error(c);
        freeReplyObject(reply);
    }
    return 0;
}

/* One SCAN step; *cursor is updated ("0" when done). */
static int scan_step(goio__redis_conn *c, const goio_buf *pat, char *cursor,
                     size_t cursor_size)
{
    const char *argv[] = {"SCAN",  cursor, "MATCH", (const char *)pat->data,
                          "COUNT", "1000"};
    size_t lens[] = {4, strlen(cursor), 5, pat->len, 5, 4};
    redisReply *reply = goio__redis_conn_command_argv(c, 6, argv, lens);
    if (!reply)
        return goio__redis_conn_error(c);
    int rc = GOIO_EPROTO;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[0]->len < cursor_size &&
        reply->element[1]->type == REDIS_REPLY_ARRAY) {
        memcpy(cursor, reply->element[0]->str, reply->element[0]->len + 1);
        rc = unlink_batch(c, reply->element[1]);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        rc = goio__redis_error_reply(reply, NULL, NULL);
    }
    freeReplyObject(reply);
    return rc;
}

static int clear_node(goio_redis *r, goio_ctx *ctx, goio__redis_node *node,
                      const goio_buf *pat)
{
    goio__redis_conn *c;
    int rc = goio__redis_pool_get(&node->pool, ctx, &c);
    if (rc)
        return rc;
    char cursor[32] = "0";
    do {
        rc = goio__redis_conn_prepare(&r->opts, c, ctx);
        if (!rc)
            rc = scan_step(c, pat, cursor, sizeof cursor);
    } while (!rc && strcmp(cursor, "0"));
    goio__redis_pool_put(&node->pool, c,
                         rc && rc != GOIO_EPROTO && rc != GOIO_EACCES);
    return rc;
}

/* The distinct nodes the slot map points at (the seed outside cluster). */
static int masters(goio_redis *r, goio_ctx *ctx, goio__redis_node ***out,
                   size_t *n)
{
    *n = 0;
    if (r->opts.cluster) {
        goio__redis_node *any;
        int rc = goio__redis_route(r, ctx, 0, &any); /* loads the map */
        if (rc)
            return rc;
    }
    pthread_rwlock_rdlock(&r->cl.lock);
    size_t count = r->cl.n_nodes;
    *out = goio_calloc(count, sizeof **out);
    bool *used = goio_calloc(count, sizeof *used);
    if (*out && used) {
        if (!r->opts.cluster)
            used[0] = true;
        for (size_t s = 0; r->opts.cluster && s < GOIO__REDIS_SLOTS; s++)
            if (r->cl.slots[s])
                used[r->cl.slots[s] - 1] = true;
        for (size_t i = 0; i < count; i++)
            if (used[i])
                (*out)[(*n)++] = r->cl.nodes[i];
    }
    pthread_rwlock_unlock(&r->cl.lock);
    bool ok = *out && used;
    goio_free(used);
    if (!ok) {
        goio_free(*out);
        *out = NULL;
        return GOIO_ENOMEM;
    }
    return 0;
}

int goio__redis_clear_namespace(goio_redis *r, goio_ctx *ctx)
{
    if (r->opts.ns_len == 0)
        return GOIO_ENOTSUP; /* would be FLUSHDB: not a cache's call */
    goio_buf pat = GOIO_BUF_INIT;
    goio__redis_node **nodes = NULL;
    size_t n = 0;
    int rc = match_pattern(&r->opts, &pat);
    if (!rc)
        rc = masters(r, ctx, &nodes, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = clear_node(r, ctx, nodes[i], &pat);
    goio_free(nodes);
    goio_buf_deinit(&pat);
    return rc;
}
