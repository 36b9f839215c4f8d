/* SPDX-License-Identifier: MIT */
/*
 * What recognising its own invalidations saves a coherent cache that
 * publishes bare keys (go-io's format, goio_pubsub_coherent_config.format),
 * and what the counting costs. One coherent wrapper over hybrid(memory,
 * Redis) in go-io wire mode, one thread, on $GOIO_BENCH_REDIS_ENDPOINT
 * (bench/interop/run_coherent.sh starts a redis-server). Each call set
 * then get of one of 100 keys; the two timed apart; best of 3 rounds of
 * 20000, ns per call:
 *   coherent_get_after_set  the get: bare keys with own messages skipped
 *                      (a local hit) against the same with the local copy
 *                      dropped right after each set, which is what the
 *                      wrapper's own message does when it is not recognised
 *                      (the get then reads Redis and refills)
 *   coherent_bare_set  the set (SET EX and PUBLISH) with bare keys (counted
 *                      in the own table) against goio's format (sender id
 *                      in the message)
 */
#include "bench.h"

#include <goio/cache.h>
#include <goio/pubsub.h>
#include <goio/redis.h>

#include <time.h>

#define ROUNDS 3
#define KEYS   100

static goio_redis *rds;

typedef struct stack {
    goio_pubsub *ps;
    goio_cache *local, *hybrid, *coh;
} stack;

static void die(const char *what)
{
    fprintf(stderr, "bench_coherent: %s\n", what);
    exit(1);
}

static void stack_new(stack *s, goio_pubsub_inv_format format)
{
    goio_cache_memory_config mc;
    goio_cache_memory_config_init(&mc);
    mc.reclaim_interval_ms = 0;
    goio_pubsub_coherent_config cc;
    goio_pubsub_coherent_config_init(&cc);
    cc.format = format;
    if (goio_pubsub_new(rds, NULL, &s->ps) ||
        goio_cache_memory_new(&mc, &s->local) ||
        goio_cache_hybrid_new_wire(s->local, goio_redis_cache(rds), false,
                                   GOIO_CACHE_WIRE_GO_IO, &s->hybrid) ||
        goio_pubsub_coherent_new(s->ps, s->hybrid, &cc, &s->coh))
        die("cannot build the cache stack");
    goio_pubsub_coherent_stats st = {0};
    for (int i = 0; i < 5000 && !st.live; i++) {
        goio_pubsub_coherent_stats_get(s->coh, &st);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    if (!st.live)
        die("the wrapper did not become live");
}

static void stack_free(stack *s)
{
    goio_cache_free(s->coh);
    goio_cache_free(s->hybrid);
    goio_cache_free(s->local);
    goio_pubsub_free(s->ps);
}

/* n set+get pairs; drop: drop the local copy after each set. *set_ns and
 * *get_ns: ns per set and per get (timed apart); *local_hits: gets
 * answered by the local layer. */
static void run(stack *s, int n, bool drop, double *set_ns, double *get_ns,
                uint64_t *local_hits)
{
    static const char value[] = "{\"id\":1,\"name\":\"lamp\",\"price\":9.5}";
    goio_buf out = GOIO_BUF_INIT;
    goio_cache_stats before, after;
    goio_cache_stats_get(s->local, &before);
    int64_t set_t = 0, get_t = 0;
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "coh:%d", i % KEYS);
        bool hit = false;
        int64_t t0 = goio_now_mono_ns();
        if (goio_cache_set(s->coh, NULL, key, value, sizeof value - 1, 60000))
            die("a set failed");
        int64_t t1 = goio_now_mono_ns();
        if (drop && goio_cache_hybrid_invalidate(s->hybrid, NULL, key))
            die("a drop failed");
        int64_t t2 = goio_now_mono_ns();
        if (goio_cache_get(s->coh, NULL, key, &out, &hit) || !hit)
            die("a get failed");
        set_t += t1 - t0;
        get_t += goio_now_mono_ns() - t2;
    }
    *set_ns = (double)set_t / n;
    *get_ns = (double)get_t / n;
    goio_cache_stats_get(s->local, &after);
    *local_hits = after.hits - before.hits;
    goio_buf_deinit(&out);
}

static void best(double *b, double v)
{
    if (v < *b)
        *b = v;
}

int main(int argc, char **argv)
{
    const char *ep = getenv("GOIO_BENCH_REDIS_ENDPOINT");
    if (!ep)
        die("set GOIO_BENCH_REDIS_ENDPOINT (bench/interop/run_coherent.sh)");
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = ep;
    rc.key_namespace = "bench";
    rc.wire = GOIO_CACHE_WIRE_GO_IO;
    if (goio_redis_new(&rc, &rds))
        die("cannot connect");
    int n = 20000;
    stack bare, goio;
    stack_new(&bare, GOIO_PUBSUB_INV_BARE);
    stack_new(&goio, GOIO_PUBSUB_INV_GOIO);
    double get_skip = 1e300, get_self = 1e300, set_bare = 1e300, set_id = 1e300,
           sn, gn;
    uint64_t hits_skip = 0, hits_self = 0, h;
    run(&bare, n / 10, false, &sn, &gn, &h); /* warm up */
    run(&goio, n / 10, false, &sn, &gn, &h);
    for (int r = 0; r < ROUNDS; r++) {
        run(&bare, n, false, &sn, &gn, &h);
        best(&set_bare, sn);
        best(&get_skip, gn);
        hits_skip = h;
        run(&bare, n, true, &sn, &gn, &h);
        best(&get_self, gn);
        hits_self = h;
        run(&goio, n, false, &sn, &gn, &h);
        best(&set_id, sn);
    }
    char extra[128];
    snprintf(extra, sizeof extra,
             "anchor_is=self-invalidated local_hits=%llu/%d anchor=%llu/%d",
             (unsigned long long)hits_skip, n, (unsigned long long)hits_self,
             n);
    if (bench_selected(argc, argv, "coherent_get_after_set"))
        bench_line("coherent_get_after_set", get_skip, get_self, "ns/op", false,
                   extra);
    if (bench_selected(argc, argv, "coherent_bare_set"))
        bench_line("coherent_bare_set", set_bare, set_id, "ns/op", false,
                   "anchor_is=goio-format");
    stack_free(&bare);
    stack_free(&goio);
    goio_redis_free(rds);
    return 0;
}
