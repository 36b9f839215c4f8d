/* SPDX-License-Identifier: MIT */
/*
 * Nodes and the cluster slot map.
 *
 * Nodes are created on first sight (the seed, CLUSTER SLOTS entries,
 * MOVED/ASK targets) and live until the handle is freed, so a node
 * pointer read under the lock stays valid after it is released. The map
 * holds node index + 1 per slot (0 = not known); it is replaced as a whole
 * by a CLUSTER SLOTS reload and patched slot by slot after MOVED. Reloads
 * are serialized and coalesced: a caller that saw epoch E asks for a
 * reload, and if one finished since E it returns at once.
 */
#include "redis_internal.h"

#include <string.h>

#define MAX_NODES 4096

static void node_free(goio__redis_node *n)
{
    if (!n)
        return;
    goio__redis_mux_destroy(&n->mux);
    goio__redis_pool_destroy(&n->pool);
    goio__redis_addr_free(&n->addr);
    goio_free(n);
}

/* Takes ownership of *a (also on error). */
static int node_new(goio_redis *r, goio__redis_addr *a, goio__redis_node **out)
{
    goio__redis_node *n = goio_calloc(1, sizeof *n);
    if (!n) {
        goio__redis_addr_free(a);
        return GOIO_ENOMEM;
    }
    n->addr = *a;
    memset(a, 0, sizeof *a);
    int rc = goio__redis_pool_init(&n->pool, &r->opts, &n->addr, &r->ctr);
    if (!rc) {
        rc = goio__redis_mux_init(&n->mux, &n->pool, &r->as, r->opts.mux_conns);
        if (rc)
            goio__redis_pool_destroy(&n->pool);
    }
    if (rc) {
        goio__redis_addr_free(&n->addr);
        goio_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* Under the write lock. */
static int append_node(goio__redis_cluster *cl, goio__redis_node *n)
{
    if (cl->n_nodes == cl->cap_nodes) {
        if (cl->cap_nodes >= MAX_NODES)
            return GOIO_ELIMIT;
        size_t cap = cl->cap_nodes ? cl->cap_nodes * 2 : 8;
        goio__redis_node **nodes =
            goio_reallocarray(cl->nodes, cap, sizeof *nodes);
        if (!nodes)
            return GOIO_ENOMEM;
        cl->nodes = nodes;
        cl->cap_nodes = cap;
    }
    n->index = (uint16_t)cl->n_nodes;
    cl->nodes[cl->n_nodes++] = n;
    return 0;
}

int goio__redis_cluster_init(goio_redis *r)
{
    goio__redis_cluster *cl = &r->cl;
    memset(cl, 0, sizeof *cl);
    if (r->opts.cluster) {
        cl->slots = goio_calloc(GOIO__REDIS_SLOTS, sizeof *cl->slots);
        if (!cl->slots)
            return GOIO_ENOMEM;
    }
    goio__redis_addr seed;
    int rc =
        r->opts.seed.unix_path
            ? goio__redis_addr_parse(r->opts.seed.unix_path, &seed)
            : goio__redis_addr_tcp(r->opts.seed.host, strlen(r->opts.seed.host),
                                   r->opts.seed.port, &seed);
    if (!rc)
        rc = node_new(r, &seed, &cl->seed);
    if (!rc && (rc = append_node(cl, cl->seed)) != 0)
        node_free(cl->seed);
    if (!rc && (rc = goio__redis_cond_init(&cl->refresh_cv)) != 0)
        node_free(cl->seed);
    if (rc) {
        goio_free(cl->slots);
        goio_free(cl->nodes);
        return rc;
    }
    pthread_rwlock_init(&cl->lock, NULL);
    pthread_mutex_init(&cl->refresh_mu, NULL);
    return 0;
}

void goio__redis_cluster_destroy(goio_redis *r)
{
    goio__redis_cluster *cl = &r->cl;
    for (size_t i = 0; i < cl->n_nodes; i++)
        node_free(cl->nodes[i]);
    goio_free(cl->nodes);
    goio_free(cl->slots);
    pthread_rwlock_destroy(&cl->lock);
    pthread_mutex_destroy(&cl->refresh_mu);
    pthread_cond_destroy(&cl->refresh_cv);
    memset(cl, 0, sizeof *cl);
}

static goio__redis_node *find_locked(goio__redis_cluster *cl, const char *host,
                                     size_t host_len, int port)
{
    for (size_t i = 0; i < cl->n_nodes; i++) {
        const goio__redis_addr *a = &cl->nodes[i]->addr;
        if (a->host && a->port == port && strlen(a->host) == host_len &&
            !memcmp(a->host, host, host_len))
            return cl->nodes[i];
    }
    return NULL;
}

int goio__redis_node_get(goio_redis *r, const char *host, size_t host_len,
                         int port, goio__redis_node **node)
{
    goio__redis_cluster *cl = &r->cl;
    pthread_rwlock_rdlock(&cl->lock);
    *node = find_locked(cl, host, host_len, port);
    pthread_rwlock_unlock(&cl->lock);
    if (*node)
        return 0;
    goio__redis_addr a;
    goio__redis_node *n;
    int rc = goio__redis_addr_tcp(host, host_len, port, &a);
    if (rc || (rc = node_new(r, &a, &n)) != 0)
        return rc;
    pthread_rwlock_wrlock(&cl->lock);
    *node = find_locked(cl, host, host_len, port); /* lost a race? */
    if (!*node && (rc = append_node(cl, n)) == 0)
        *node = n;
    pthread_rwlock_unlock(&cl->lock);
    if (*node != n)
        node_free(n);
    return rc;
}

uint64_t goio__redis_epoch(goio_redis *r)
{
    pthread_rwlock_rdlock(&r->cl.lock);
    uint64_t e = r->cl.epoch;
    pthread_rwlock_unlock(&r->cl.lock);
    return e;
}

void goio__redis_slot_set(goio_redis *r, unsigned slot, goio__redis_node *node)
{
    if (!r->opts.cluster || slot >= GOIO__REDIS_SLOTS)
        return;
    pthread_rwlock_wrlock(&r->cl.lock);
    r->cl.slots[slot] = (uint16_t)(node->index + 1);
    pthread_rwlock_unlock(&r->cl.lock);
}

/* ---- CLUSTER SLOTS --------------------------------------------------------
 */

static bool is_int(const redisReply *x)
{
    return x && x->type == REDIS_REPLY_INTEGER;
}

/* A node entry: [ip, port, id, ...] (Redis 7 adds a metadata element). An
 * empty or "?" ip means "the node you asked". */
static int entry_node(goio_redis *r, const redisReply *e,
                      const goio__redis_node *asked, goio__redis_node **out)
{
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || !is_int(e->element[1]))
        return GOIO_EPROTO;
    const char *host = e->element[0]->str;
    size_t len = e->element[0]->len;
    if (len == 0 || (len == 1 && host[0] == '?')) {
        if (!asked->addr.host)
            return GOIO_EPROTO;
        host = asked->addr.host;
        len = strlen(host);
    }
    long long port = e->element[1]->integer;
    if (port <= 0 || port > 65535)
        return GOIO_EPROTO;
    return goio__redis_node_get(r, host, len, (int)port, out);
}

int goio__redis_parse_slots(goio_redis *r, const redisReply *reply,
                            const goio__redis_node *asked, uint16_t *map)
{
    if (reply->type != REDIS_REPLY_ARRAY)
        return GOIO_EPROTO;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            !is_int(e->element[0]) || !is_int(e->element[1]))
            return GOIO_EPROTO;
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        if (lo < 0 || hi < lo || hi >= GOIO__REDIS_SLOTS)
            return GOIO_EPROTO;
        goio__redis_node *master;
        int rc = entry_node(r, e->element[2], asked, &master);
        if (rc)
            return rc;
        for (long long s = lo; s <= hi; s++)
            map[s] = (uint16_t)(master->index + 1);
        /* Replicas are remembered as places to ask for the map. */
        for (size_t j = 3; j < e->elements; j++) {
            goio__redis_node *replica;
            rc = entry_node(r, e->element[j], asked, &replica);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int fetch_slots(goio_redis *r, goio_ctx *ctx, goio__redis_node *node,
                       redisReply **reply)
{
    goio__redis_conn *c;
    int rc = goio__redis_pool_get(&node->pool, ctx, &c);
    if (rc)
        return rc;
    rc = goio__redis_conn_prepare(&r->opts, c, ctx);
    if (rc) {
        goio__redis_pool_put(&node->pool, c, true);
        return rc;
    }
    int64_t t0 = goio__redis_track_start(&r->opts);
    const char *argv[] = {"CLUSTER", "SLOTS"};
    size_t lens[] = {7, 5};
    *reply = goio__redis_conn_command_argv(c, 2, argv, lens);
    goio__redis_track(&r->opts, "redis_command_cluster_slots", t0);
    if (!*reply) {
        rc = goio__redis_conn_error(c);
        goio_log(GOIO_LOG_WARN, "redis", "redis_io_error", node->addr.name, rc,
                 "CLUSTER SLOTS on %s failed: %s", node->addr.name,
                 c->rc->errstr);
    }
    goio__redis_pool_put(&node->pool, c, *reply == NULL);
    return rc;
}

static int load_from(goio_redis *r, goio_ctx *ctx, goio__redis_node *node)
{
    redisReply *reply = NULL;
    int rc = fetch_slots(r, ctx, node, &reply);
    if (rc)
        return rc;
    uint16_t *map = NULL;
    if (reply->type == REDIS_REPLY_ERROR) {
        rc = goio__redis_error_reply(reply, NULL, node);
    } else if (!(map = goio_calloc(GOIO__REDIS_SLOTS, sizeof *map))) {
        rc = GOIO_ENOMEM;
    } else if ((rc = goio__redis_parse_slots(r, reply, node, map)) ==
               GOIO_EPROTO) {
        goio_log(GOIO_LOG_WARN, "redis", "redis_bad_reply", node->addr.name, rc,
                 "unexpected CLUSTER SLOTS reply from %s", node->addr.name);
    }
    freeReplyObject(reply);
    if (!rc) {
        pthread_rwlock_wrlock(&r->cl.lock);
        memcpy(r->cl.slots, map, GOIO__REDIS_SLOTS * sizeof *map);
        r->cl.epoch++;
        pthread_rwlock_unlock(&r->cl.lock);
        GOIO__REDIS_COUNT(&r->ctr, slot_refreshes);
    }
    goio_free(map);
    return rc;
}

/* A snapshot of the node pointers, `first` (may be NULL) in front and
 * `last` (may be NULL) at the end. */
static goio__redis_node **candidates(goio_redis *r, goio__redis_node *first,
                                     goio__redis_node *last, size_t *n)
{
    pthread_rwlock_rdlock(&r->cl.lock);
    size_t count = r->cl.n_nodes;
    goio__redis_node **list = goio_calloc(count + 1, sizeof *list);
    if (list) {
        size_t k = 0;
        if (first)
            list[k++] = first;
        for (size_t i = 0; i < count; i++)
            if (r->cl.nodes[i] != first && r->cl.nodes[i] != last)
                list[k++] = r->cl.nodes[i];
        if (last && last != first)
            list[k++] = last;
        *n = k;
    }
    pthread_rwlock_unlock(&r->cl.lock);
    return list;
}

/* Asks the nodes in turn until one answers CLUSTER SLOTS. */
static int reload(goio_redis *r, goio_ctx *ctx, goio__redis_node *hint,
                  goio__redis_node *avoid)
{
    size_t n = 0;
    goio__redis_node **list = candidates(r, hint, avoid, &n);
    int rc = list ? GOIO_EHOSTUNREACH : GOIO_ENOMEM;
    for (size_t i = 0; list && i < n && rc; i++) {
        rc = load_from(r, ctx, list[i]);
        if (rc == GOIO_ENOMEM || goio_ctx_err(ctx))
            break;
    }
    goio_free(list);
    if (rc)
        goio_log(GOIO_LOG_WARN, "redis", "redis_cluster_refresh_failed",
                 r->opts.seed.name, rc,
                 "no cluster node answered CLUSTER SLOTS");
    return rc;
}

int goio__redis_cluster_refresh(goio_redis *r, goio_ctx *ctx,
                                uint64_t seen_epoch, goio__redis_node *hint,
                                goio__redis_node *avoid)
{
    if (!r->opts.cluster)
        return 0;
    goio__redis_cluster *cl = &r->cl;
    int rc = 0;
    pthread_mutex_lock(&cl->refresh_mu);
    /* One reload at a time. Another caller's may take a while (each node
     * it asks has its connect and read timeouts): wait for it no longer
     * than ctx allows, then use what it loaded. */
    while (cl->refreshing && (rc = goio_ctx_err(ctx)) == 0)
        goio__redis_cond_wait(&cl->refresh_cv, &cl->refresh_mu,
                              goio_ctx_deadline(ctx));
    if (rc == 0 && goio__redis_epoch(r) == seen_epoch) {
        cl->refreshing = true;
        pthread_mutex_unlock(&cl->refresh_mu);
        rc = reload(r, ctx, hint, avoid);
        pthread_mutex_lock(&cl->refresh_mu);
        cl->refreshing = false;
        pthread_cond_broadcast(&cl->refresh_cv);
    }
    pthread_mutex_unlock(&cl->refresh_mu);
    return rc;
}

static goio__redis_node *lookup(goio_redis *r, unsigned slot, uint64_t *epoch)
{
    pthread_rwlock_rdlock(&r->cl.lock);
    uint16_t idx = r->cl.slots[slot];
    goio__redis_node *n = idx ? r->cl.nodes[idx - 1] : NULL;
    *epoch = r->cl.epoch;
    pthread_rwlock_unlock(&r->cl.lock);
    return n;
}

int goio__redis_route(goio_redis *r, goio_ctx *ctx, unsigned slot,
                      goio__redis_node **node)
{
    if (!r->opts.cluster) {
        *node = r->cl.seed;
        return 0;
    }
    uint64_t epoch;
    *node = lookup(r, slot & (GOIO__REDIS_SLOTS - 1), &epoch);
    if (*node)
        return 0;
    /* Never loaded, or the slot is not served: (re)load the map once. */
    int rc = goio__redis_cluster_refresh(r, ctx, epoch, NULL, NULL);
    if (rc)
        return rc;
    *node = lookup(r, slot & (GOIO__REDIS_SLOTS - 1), &epoch);
    if (*node)
        return 0;
    goio_log(GOIO_LOG_WARN, "redis", "redis_slot_unserved", r->opts.seed.name,
             GOIO_EHOSTUNREACH, "no cluster node serves slot %u", slot);
    return GOIO_EHOSTUNREACH;
}
