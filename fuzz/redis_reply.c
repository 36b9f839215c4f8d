/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the parts of what Redis sends that goio reads
 * itself (src/redis/redis_internal.h): MOVED / ASK / TRYAGAIN /
 * CLUSTERDOWN error replies (goio__redis_parse_redirect) and the CLUSTER
 * SLOTS reply (goio__redis_parse_slots). The input is RESP bytes, read
 * into replies by hiredis' own reader as a connection would; each error
 * reply is followed as goio__redis_exec follows it (the target node is
 * looked up or added, MOVED points the slot at it) and each array reply
 * is read as a slot map, on a cluster-mode handle made for the input (no
 * I/O: goio_redis_new connects lazily). Checked (abort when broken): a
 * redirect's slot, port and host lie in range and inside the reply, a
 * slot map only names nodes that exist.
 *
 * hiredis 0.14 allocates a whole array when it reads its length, so a
 * "*2000000000" would be a 16 GB allocation before goio sees anything:
 * the reader here refuses arrays over MAX_ARRAY elements (a protocol
 * error), which keeps the fuzzer on goio's side of the reply.
 */
#include "fuzz_util.h"
#include "../src/redis/redis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARRAY   4096
#define MAX_REPLIES 64

static void *(*hiredis_create_array)(const redisReadTask *, int);
static redisReplyObjectFunctions capped_functions;

static void *create_array_capped(const redisReadTask *task, int elements)
{
    if (elements > MAX_ARRAY)
        return NULL; /* the reader reports out of memory and stops */
    return hiredis_create_array(task, elements);
}

static void follow_redirect(goio_redis *r, const redisReply *reply)
{
    unsigned slot;
    const char *host;
    size_t hlen;
    int port;
    goio__redis_redirect kind =
        goio__redis_parse_redirect(reply, &slot, &host, &hlen, &port);
    if (kind == GOIO__REDIS_NO_REDIRECT) {
        goio__redis_error_reply(reply, "key", r->cl.seed);
        return;
    }
    if (kind == GOIO__REDIS_TRYAGAIN) {
        volatile char c = reply->str[0]; /* exec.c tells CLUSTERDOWN so */
        (void)c;
        return;
    }
    fuzz_check(slot < GOIO__REDIS_SLOTS, "redirect slot out of range");
    fuzz_check(port > 0 && port <= 65535, "redirect port out of range");
    fuzz_check(host >= reply->str && hlen <= reply->len &&
                   (size_t)(host - reply->str) <= reply->len - hlen,
               "redirect host outside the reply");
    const goio__redis_node *from = r->cl.seed;
    if (hlen == 0 && from->addr.host) {
        host = from->addr.host;
        hlen = strlen(host);
    }
    goio__redis_node *target;
    if (goio__redis_node_get(r, host, hlen, port, &target))
        return;
    fuzz_check(target->addr.port == port, "redirect to another port");
    if (kind == GOIO__REDIS_MOVED)
        goio__redis_slot_set(r, slot, target);
}

static void read_slots(goio_redis *r, const redisReply *reply)
{
    uint16_t *map = goio_calloc(GOIO__REDIS_SLOTS, sizeof *map);
    if (!map)
        return;
    if (!goio__redis_parse_slots(r, reply, r->cl.seed, map)) {
        pthread_rwlock_rdlock(&r->cl.lock);
        for (size_t s = 0; s < GOIO__REDIS_SLOTS; s++)
            fuzz_check(map[s] <= r->cl.n_nodes, "slot map names no node");
        pthread_rwlock_unlock(&r->cl.lock);
    }
    goio_free(map);
}

static goio_redis *new_handle(bool v6_seed)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = v6_seed ? "[2001:db8::7]:7000" : "10.0.0.1:7000";
    cfg.cluster = true;
    goio_redis *r = NULL;
    fuzz_check(goio_redis_new(&cfg, &r) == 0, "goio_redis_new failed");
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_logs();
    if (!size)
        return 0;
    redisReader *reader = redisReaderCreate();
    fuzz_check(reader != NULL, "redisReaderCreate failed");
    if (!hiredis_create_array) {
        capped_functions = *reader->fn;
        hiredis_create_array = capped_functions.createArray;
        capped_functions.createArray = create_array_capped;
    }
    reader->fn = &capped_functions;
    /* The size picks the seed node's address family: the host of "?"
     * entries and of MOVED / ASK without a host. */
    goio_redis *r = new_handle(size & 1);
    if (redisReaderFeed(reader, (const char *)data, size) == REDIS_OK) {
        void *reply = NULL;
        for (int i = 0; i < MAX_REPLIES; i++) {
            if (redisReaderGetReply(reader, &reply) != REDIS_OK || !reply)
                break;
            const redisReply *rep = reply;
            if (rep->type == REDIS_REPLY_ERROR)
                follow_redirect(r, rep);
            else
                read_slots(r, rep);
            freeReplyObject(reply);
            reply = NULL;
        }
    }
    goio_redis_free(r);
    redisReaderFree(reader);
    return 0;
}
