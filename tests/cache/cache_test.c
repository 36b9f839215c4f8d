/* SPDX-License-Identifier: MIT */
#include "cache_test.h"

#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* A server that stopped answering: blocks until ctx is done. */
static int fc_hang(goio_ctx *ctx)
{
    while (!goio_ctx_err(ctx))
        goio_ctx_wait(ctx, 1000);
    return goio_ctx_err(ctx);
}

static int fc_get(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
                  bool *hit)
{
    fault_cache *f = (fault_cache *)c;
    atomic_fetch_add(&f->gets, 1);
    atomic_store(&f->last_ctx, ctx);
    if (atomic_load(&f->hang))
        return fc_hang(ctx);
    int rc = atomic_load(&f->fail_get);
    return rc ? rc : goio_cache_get(f->inner, ctx, key, out, hit);
}

static int fc_set(goio_cache *c, goio_ctx *ctx, const char *key,
                  const void *value, size_t len, int64_t ttl_ms)
{
    fault_cache *f = (fault_cache *)c;
    atomic_fetch_add(&f->sets, 1);
    atomic_store(&f->last_set_ttl, ttl_ms);
    if (atomic_load(&f->hang))
        return fc_hang(ctx);
    int rc = atomic_load(&f->fail_set);
    return rc ? rc : goio_cache_set(f->inner, ctx, key, value, len, ttl_ms);
}

static int fc_del(goio_cache *c, goio_ctx *ctx, const char *key)
{
    fault_cache *f = (fault_cache *)c;
    atomic_fetch_add(&f->dels, 1);
    int rc = atomic_load(&f->fail_del);
    return rc ? rc : goio_cache_del(f->inner, ctx, key);
}

static int fc_clear(goio_cache *c, goio_ctx *ctx)
{
    return goio_cache_clear(((fault_cache *)c)->inner, ctx);
}

static int fc_stats(goio_cache *c, goio_cache_stats *out)
{
    return goio_cache_stats_get(((fault_cache *)c)->inner, out);
}

static void fc_destroy(goio_cache *c)
{
    fault_cache *f = (fault_cache *)c;
    goio_cache_free(f->inner);
    goio_free(f);
}

static const goio_cache_ops fc_ops = {
    .name = "fault",
    .get = fc_get,
    .set = fc_set,
    .del = fc_del,
    .stats = fc_stats,
    .clear = fc_clear,
    .destroy = fc_destroy,
};

fault_cache *fault_cache_new_clocked(test_clock *t)
{
    fault_cache *f = goio_calloc(1, sizeof *f);
    assert_non_null(f);
    assert_ok(goio_cache_init(&f->base, &fc_ops));
    f->inner = memory_cache_clocked((size_t)64 << 20, 0, 1000, t);
    return f;
}

fault_cache *fault_cache_new(void)
{
    return fault_cache_new_clocked(NULL);
}

/* ---- log capture ---- */

#define MAX_RECORDS 4096

typedef struct rec {
    char code[48], key[64];
    int error;
} rec;

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static rec records[MAX_RECORDS];
static int nrecords;

static void sink(const goio_log_record *r, void *data)
{
    (void)data;
    pthread_mutex_lock(&log_mu);
    if (nrecords < MAX_RECORDS) {
        rec *x = &records[nrecords++];
        snprintf(x->code, sizeof x->code, "%s", r->code ? r->code : "");
        snprintf(x->key, sizeof x->key, "%s", r->key ? r->key : "");
        x->error = r->error;
    }
    pthread_mutex_unlock(&log_mu);
}

void log_capture_start(void)
{
    pthread_mutex_lock(&log_mu);
    nrecords = 0;
    pthread_mutex_unlock(&log_mu);
    goio_log_set_level(GOIO_LOG_DEBUG);
    goio_log_set_sink(sink, NULL);
}

void log_capture_stop(void)
{
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    goio_log_set_level(GOIO_LOG_WARN);
}

int log_capture_count(const char *code, const char *key, int *error)
{
    int n = 0;
    pthread_mutex_lock(&log_mu);
    for (int i = 0; i < nrecords; i++) {
        if (strcmp(records[i].code, code) ||
            (key && strcmp(records[i].key, key)))
            continue;
        n++;
        if (error)
            *error = records[i].error;
    }
    pthread_mutex_unlock(&log_mu);
    return n;
}

/* ---- small helpers ---- */

goio_cache *memory_cache(size_t max_bytes, size_t max_entries,
                         int64_t reclaim_ms)
{
    return memory_cache_clocked(max_bytes, max_entries, reclaim_ms, NULL);
}

int64_t test_clock_read(void *data)
{
    return atomic_load(&((test_clock *)data)->now);
}

goio_cache *memory_cache_clocked(size_t max_bytes, size_t max_entries,
                                 int64_t reclaim_ms, test_clock *t)
{
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.max_bytes = max_bytes;
    cfg.max_entries = max_entries;
    cfg.reclaim_interval_ms = reclaim_ms;
    if (t) {
        cfg.now_ms = test_clock_read;
        cfg.now_data = t;
    }
    goio_cache *c = NULL;
    assert_ok(goio_cache_memory_new(&cfg, &c));
    return c;
}

void assert_cached(goio_cache *c, const char *key, const char *value)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
    if (!hit)
        fail_msg("key %s missing, expected \"%s\"", key, value);
    assert_string_equal(goio_buf_cstr(&b), value);
    goio_buf_deinit(&b);
}

void assert_missing(goio_cache *c, const char *key)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
    if (hit)
        fail_msg("key %s present (\"%s\"), expected a miss", key,
                 goio_buf_cstr(&b));
    goio_buf_deinit(&b);
}

bool reads_missing(goio_cache *c, const char *key)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_ok(goio_cache_get(c, NULL, key, &b, &hit));
    goio_buf_deinit(&b);
    return !hit;
}

size_t flight_callers(goio_cache *c, const char *key)
{
    size_t n = 0;
    assert_ok(goio_sharedflight_callers(c->_flights, key, &n));
    return n;
}
