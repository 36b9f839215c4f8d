/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the pubsub tests: a real redis-server, a raw hiredis
 * connection to ask it what it sees (PUBSUB NUMPAT ...), handles made the
 * usual way, and a log sink that counts codes.
 */
#ifndef GOIO_TEST_PUBSUB_H
#define GOIO_TEST_PUBSUB_H

#include "test_proc.h"
#include "test_redis.h"
#include "test_util.h"

#include <goio/pubsub.h>

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static goio_test_redis srv;

/* ---- log capture ---- */

typedef struct pst_logs {
    pthread_mutex_t mu;
    char codes[256][40];
    char keys[256][64];
    int errors[256];
    int n;
} pst_logs;

static pst_logs pst_log = {.mu = PTHREAD_MUTEX_INITIALIZER};

static inline void pst_sink(const goio_log_record *rec, void *data)
{
    (void)data;
    pthread_mutex_lock(&pst_log.mu);
    if (pst_log.n < 256) {
        snprintf(pst_log.codes[pst_log.n], 40, "%s",
                 rec->code ? rec->code : "");
        snprintf(pst_log.keys[pst_log.n], 64, "%s", rec->key ? rec->key : "");
        pst_log.errors[pst_log.n] = rec->error;
        pst_log.n++;
    }
    pthread_mutex_unlock(&pst_log.mu);
}

static inline void pst_logs_capture(void)
{
    pthread_mutex_lock(&pst_log.mu);
    pst_log.n = 0;
    pthread_mutex_unlock(&pst_log.mu);
    goio_log_set_level(GOIO_LOG_DEBUG);
    goio_log_set_sink(pst_sink, NULL);
}

static inline void pst_logs_restore(void)
{
    goio_log_set_level(GOIO_LOG_WARN);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
}

/* How many records with `code` (and `key` unless NULL) were logged. */
static inline int pst_logs_count(const char *code, const char *key)
{
    int c = 0;
    pthread_mutex_lock(&pst_log.mu);
    for (int i = 0; i < pst_log.n; i++)
        c += !strcmp(pst_log.codes[i], code) &&
             (!key || !strcmp(pst_log.keys[i], key));
    pthread_mutex_unlock(&pst_log.mu);
    return c;
}

/* How many records with `code` carried error `err`. */
static inline int pst_logs_count_error(const char *code, int err)
{
    int c = 0;
    pthread_mutex_lock(&pst_log.mu);
    for (int i = 0; i < pst_log.n; i++)
        c += !strcmp(pst_log.codes[i], code) && pst_log.errors[i] == err;
    pthread_mutex_unlock(&pst_log.mu);
    return c;
}

/* ---- the server, seen raw ---- */

static inline redisContext *pst_raw(void)
{
    redisContext *c = redisConnect("127.0.0.1", srv.port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

/* An integer reply of a command (e.g. "PUBSUB NUMPAT"), -1 on error. */
static inline long long pst_int(const char *fmt, ...)
{
    redisContext *c = redisConnect("127.0.0.1", srv.port);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[1]->type == REDIS_REPLY_INTEGER)
        v = r->element[1]->integer; /* PUBSUB NUMSUB <ch> */
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}

static inline long long pst_numpat(void)
{
    return pst_int("PUBSUB NUMPAT");
}

static inline long long pst_numsub(const char *raw_channel)
{
    return pst_int("PUBSUB NUMSUB %s", raw_channel);
}

/* PUBLISH on a raw (already namespaced) channel; receivers or -1. */
static inline long long pst_publish_raw(const char *ch, const void *p, size_t n)
{
    return pst_int("PUBLISH %s %b", ch, p, n);
}

/* ---- handles ---- */

typedef struct pst_handle {
    goio_redis *r;
    goio_pubsub *ps;
} pst_handle;

static inline void pst_open_cfg(pst_handle *h, const char *ns,
                                const goio_pubsub_config *cfg)
{
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = srv.endpoint;
    rc.key_namespace = ns;
    assert_ok(goio_redis_new(&rc, &h->r));
    assert_ok(goio_pubsub_new(h->r, cfg, &h->ps));
}

static inline void pst_open(pst_handle *h, const char *ns)
{
    pst_open_cfg(h, ns, NULL);
}

static inline void pst_close(pst_handle *h)
{
    goio_pubsub_free(h->ps);
    goio_redis_free(h->r);
    h->ps = NULL;
    h->r = NULL;
}

/* Waits (bounded) until the subscription is live on Redis. */
static inline void pst_wait_sub(goio_pubsub_sub *s, int64_t ms)
{
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, ms, &ctx));
    assert_ok(goio_pubsub_wait_subscribed(s, ctx));
    goio_ctx_unref(ctx);
}

/* Waits (within ms) until Redis has applied every subscription change of
 * the handle, or fails the test. */
static inline void pst_sync(goio_pubsub *ps, int64_t ms)
{
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, ms, &ctx));
    assert_ok(goio_pubsub_sync(ps, ctx));
    goio_ctx_unref(ctx);
}

/* Receives one message within ms, or fails the test. */
static inline const goio_pubsub_msg *pst_recv(goio_pubsub_sub *s, int64_t ms)
{
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, ms, &ctx));
    const goio_pubsub_msg *m = NULL;
    int rc = goio_pubsub_receive(s, ctx, &m);
    goio_ctx_unref(ctx);
    if (rc)
        fail_msg("receive: %s", goio_err_name(rc));
    return m;
}

/* Receives one message and checks its channel and payload text. */
static inline void pst_expect(goio_pubsub_sub *s, const char *channel,
                              const char *pattern, const char *payload)
{
    const goio_pubsub_msg *m = pst_recv(s, 5000);
    assert_string_equal(m->channel, channel);
    assert_int_equal(m->channel_len, strlen(channel));
    if (pattern)
        assert_string_equal(m->pattern, pattern);
    else
        assert_null(m->pattern);
    assert_int_equal(m->len, strlen(payload));
    assert_memory_equal(m->data, payload, m->len + 1);
    goio_pubsub_msg_unref(m);
}

static inline goio_pubsub_stats pst_stats(goio_pubsub *ps)
{
    goio_pubsub_stats st;
    assert_ok(goio_pubsub_stats_get(ps, &st));
    return st;
}

static inline goio_pubsub_sub_stats pst_sub_stats(goio_pubsub_sub *s)
{
    goio_pubsub_sub_stats st;
    assert_ok(goio_pubsub_sub_stats_get(s, &st));
    return st;
}

static inline int pst_setup(void **state)
{
    (void)state;
    return goio_test_redis_start(&srv, NULL);
}

static inline int pst_teardown(void **state)
{
    (void)state;
    goio_test_redis_stop(&srv);
    return 0;
}

#endif
