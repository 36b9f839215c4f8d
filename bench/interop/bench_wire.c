/* SPDX-License-Identifier: MIT */
/*
 * get_or_set through stale(hybrid(memory, Redis)) in go-io wire mode
 * against go-io's WithStaleFallback(Hybrid(NewMemory(), redis)) on the same
 * redis-server, the same item and the same TTLs (the Go side is
 * tests/interop/go/goio_wire_peer, given as $GOIO_WIRE_PEER; the endpoint
 * as $GOIO_BENCH_REDIS_ENDPOINT; bench/interop/run_wire.sh sets both).
 * Cases (unit ns/op, one thread each side; cpu_* = CPU ns per call; the
 * best of 3 alternating rounds of each side, on keys new to each round):
 *   wire_local_hit   one key, in the local layer
 *   wire_remote_hit  1000 keys written by another instance, read through a
 *                    fresh local layer every 1000 calls (each call a Redis GET)
 *   wire_miss        a new key per call: GET miss, fetch, local set, SET EX
 */
#include "bench.h"

#include <goio/cache.h>
#include <goio/redis.h>

#include <stddef.h>
#include <stdint.h>

#define HOUR   (60 * 60 * 1000)
#define ROUNDS 3

struct witem {
    int64_t id;
    char *name;
    double price;
};
static const goio_type_json_field witem_fields[] = {
    {"id", offsetof(struct witem, id), &goio_type_int64, 0, 0},
    {"name", offsetof(struct witem, name), &goio_type_string, 0, 0},
    {"price", offsetof(struct witem, price), &goio_type_double, 0, 0},
};
static const goio_type_json_struct witem_desc = {witem_fields, 3};
static GOIO_TYPE_JSON_STRUCT(witem_type, struct witem, witem_desc);

static goio_redis *rds;

typedef struct stack {
    goio_cache *stale, *hybrid, *local;
} stack;

static void stack_new(stack *s)
{
    goio_cache_memory_config mc;
    goio_cache_memory_config_init(&mc);
    mc.reclaim_interval_ms = 0;
    if (goio_cache_memory_new(&mc, &s->local) ||
        goio_cache_hybrid_new_wire(s->local, goio_redis_cache(rds), false,
                                   GOIO_CACHE_WIRE_GO_IO, &s->hybrid) ||
        goio_cache_stale_new_wire(s->hybrid, HOUR, false, GOIO_CACHE_WIRE_GO_IO,
                                  &s->stale)) {
        fprintf(stderr, "bench_wire: cannot build the cache stack\n");
        exit(1);
    }
}

static void stack_free(stack *s)
{
    goio_cache_free(s->stale);
    goio_cache_free(s->hybrid);
    goio_cache_free(s->local);
}

static int fetch(goio_ctx *ctx, const char *key, void *value, void *data)
{
    (void)ctx;
    (void)key;
    (void)data;
    struct witem *it = value;
    it->id = 1;
    it->price = 9.5;
    it->name = goio_strdup("lamp <&>");
    return it->name ? 0 : GOIO_ENOMEM;
}

static void call(stack *s, const char *key)
{
    struct witem it = {0};
    int rc = goio_cache_get_or_set_typed(s->stale, NULL, key, HOUR, &witem_type,
                                         fetch, NULL, &it, NULL);
    if (rc) {
        fprintf(stderr, "bench_wire: get_or_set %s: %s\n", key,
                goio_strerror(rc));
        exit(1);
    }
    goio_type_value_deinit(&witem_type, &it);
}

static int round_no; /* in every key: each round starts on new keys */

static void key_of(const char *kind, long i, char *buf, size_t size)
{
    if (!strcmp(kind, "local_hit"))
        snprintf(buf, size, "cbench:%d:local", round_no);
    else if (!strcmp(kind, "remote_hit"))
        snprintf(buf, size, "cbench:%d:remote:%ld", round_no, i % 1000);
    else
        snprintf(buf, size, "cbench:%d:miss:%ld", round_no, i);
}

/* The goio side; *cpu_ns gets CPU ns per call. Returns ns per call. */
static double run_goio(const char *kind, long n, double *cpu_ns)
{
    stack s;
    stack_new(&s);
    char key[64];
    if (!strcmp(kind, "local_hit")) {
        key_of(kind, 0, key, sizeof key);
        call(&s, key);
    } else if (!strcmp(kind, "remote_hit")) {
        stack w;
        stack_new(&w);
        struct witem it = {1, "lamp <&>", 9.5};
        for (long i = 0; i < 1000; i++) {
            key_of(kind, i, key, sizeof key);
            goio_cache_set_typed(w.stale, NULL, key, &witem_type, &it, HOUR);
        }
        stack_free(&w);
    }
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    for (long i = 0; i < n; i++) {
        if (!strcmp(kind, "remote_hit") && i % 1000 == 0 && i > 0) {
            stack_free(&s);
            stack_new(&s);
        }
        key_of(kind, i, key, sizeof key);
        call(&s, key);
    }
    double el = bench_now_s() - t0, cpu = bench_cpu_s() - c0;
    stack_free(&s);
    *cpu_ns = cpu * 1e9 / (double)n;
    return el * 1e9 / (double)n;
}

/* The go-io side: the peer prints "ns_per_op <v> cpu_ns_per_op <v>". */
static double run_go(const char *peer, const char *endpoint, const char *kind,
                     long n, double *cpu_ns)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s bench %s %s %ld %d", peer, endpoint, kind, n,
             round_no);
    FILE *p = popen(cmd, "r");
    double ns = 0, cpu = 0;
    if (!p || fscanf(p, "ns_per_op %lf cpu_ns_per_op %lf", &ns, &cpu) != 2) {
        fprintf(stderr, "bench_wire: %s: no result\n", cmd);
        exit(1);
    }
    pclose(p);
    *cpu_ns = cpu;
    return ns;
}

int main(int argc, char **argv)
{
    const char *endpoint = getenv("GOIO_BENCH_REDIS_ENDPOINT");
    const char *peer = getenv("GOIO_WIRE_PEER");
    if (!endpoint || !peer) {
        fprintf(stderr, "bench_wire: set GOIO_BENCH_REDIS_ENDPOINT and "
                        "GOIO_WIRE_PEER (bench/interop/run_wire.sh does)\n");
        return 1;
    }
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = endpoint;
    cfg.key_namespace = "catalog";
    cfg.wire = GOIO_CACHE_WIRE_GO_IO;
    if (goio_redis_new(&cfg, &rds)) {
        fprintf(stderr, "bench_wire: cannot create the Redis handle\n");
        return 1;
    }
    static const struct {
        const char *name, *kind;
        long n;
    } cases[] = {
        {"wire_local_hit", "local_hit", 200000},
        {"wire_remote_hit", "remote_hit", 10000},
        {"wire_miss", "miss", 5000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!bench_selected(argc, argv, cases[i].name))
            continue;
        /* best of ROUNDS alternating runs: the machine is shared */
        double g = 0, a = 0, gcpu = 0, acpu = 0;
        for (int k = 0; k < ROUNDS; k++, round_no++) {
            double gc, ac;
            double gn = run_goio(cases[i].kind, cases[i].n, &gc);
            double an = run_go(peer, endpoint, cases[i].kind, cases[i].n, &ac);
            if (k == 0 || gn < g)
                g = gn;
            if (k == 0 || gc < gcpu)
                gcpu = gc;
            if (k == 0 || an < a)
                a = an;
            if (k == 0 || ac < acpu)
                acpu = ac;
        }
        char extra[160];
        snprintf(extra, sizeof extra,
                 "cpu_goio=%.0f cpu_anchor=%.0f cpu_ratio=%.2f", gcpu, acpu,
                 acpu / gcpu);
        bench_line(cases[i].name, g, a, "ns/op", false, extra);
    }
    goio_redis_free(rds);
    return 0;
}
