/* SPDX-License-Identifier: MIT */
/*
 * bench_redis: goio's Redis client against its anchors, same server, same
 * run (bench/redis/run.sh starts the server and builds the Go anchor).
 *
 *   single_get, single_set  100-byte values, one thread, goio (pool +
 *                           namespace) vs a raw hiredis loop on one
 *                           connection; ops/s
 *   pool_8t, pool_64t       8 / 64 threads calling goio_redis_get vs 8 /
 *                           64 goroutines through redigo's Pool (the Go
 *                           library's stack); GET ops/s
 *   pool_8t_vs_node,        the same goio run vs node-redis 4 (one client,
 *   pool_64t_vs_node        auto-pipelining) with 8 / 64 concurrent async
 *                           loops; GET ops/s
 *   async_64_vs_node        one thread keeping 64 goio_redis_get_async
 *                           in flight (each callback queues the next) vs
 *                           node-redis 4 with 64 concurrent async loops;
 *                           GET ops/s; cpu_ns= / node_cpu_ns= client CPU
 *                           per op of both
 *   pool_8t_cpu             client CPU (user+sys of the client process)
 *                           per op in the 8-thread runs; ns/op, lower is
 *                           better (node= node-redis's)
 *
 * goio runs in its default multiplexed mode (mux_conns = 2); every line
 * also gives pooled= (mux_conns = 0, one pooled connection per call) and
 * pooled_ratio= (the same comparison for the pooled mode).
 *   multi_get_100           one pipelined multi-get of 100 keys vs 100
 *                           single gets, both goio; keys/s (redis-benchmark
 *                           -c 1 -P 16 GET printed alongside for context)
 *   single_get_tls          one thread, GET over TLS, goio vs
 *                           redis-benchmark --tls -c 1 (same certificates);
 *                           ops/s; plain= is goio's plaintext single_get in
 *                           the same run, tls_cost= plain/TLS
 *   pool_8t_tls             8 threads through goio's TLS pool vs
 *                           redis-benchmark --tls -c 8; GET ops/s; plain=
 *                           and tls_cost= as above for goio's pool_8t
 *
 * Environment: GOIO_BENCH_REDIS_ENDPOINT (host:port, required),
 * GOIO_BENCH_REDIS_SECONDS (per side and case, default 1),
 * GOIO_BENCH_REDIS_ANCHOR (the Go anchor binary; pool cases are skipped
 * without it), GOIO_BENCH_REDIS_TLS_ENDPOINT and GOIO_BENCH_REDIS_TLS_CA
 * (a TLS port of the same server and its CA file; TLS cases are skipped
 * without them), GOIO_BENCH_REDIS_NODE (node_anchor.js, with NODE_PATH
 * pointing at a node_modules holding redis@4; the _vs_node cases are
 * skipped without it), GOIO_BENCH_REDIS_ROUNDS (default 3). The single and
 * concurrent cases print the median of the interleaved rounds of each
 * side (the machine is shared and noisy); multi-get and TLS the best.
 */
#include "bench.h"

#include <goio/redis.h>
#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdatomic.h>

#define VALUE_LEN   100
#define THREADS     8
#define MAX_THREADS 64
#define MAX_ROUNDS  15

typedef struct env {
    const char *endpoint;
    const char *tls_endpoint, *tls_ca; /* NULL: no TLS cases */
    bool tls;                          /* open_goio over TLS */
    char host[64];
    int port;
    double seconds;
    const char *anchor;
    const char *node; /* node_anchor.js, or NULL */
    int rounds;
    int mux_conns; /* open_goio's */
    char value[VALUE_LEN];
} env;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static goio_redis *open_goio(const env *e)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = e->tls ? e->tls_endpoint : e->endpoint;
    cfg.key_namespace = "bench";
    cfg.tls = e->tls;
    cfg.tls_ca_file = e->tls ? e->tls_ca : NULL;
    /* GOIO_BENCH_REDIS_MUX_CONNS: the multiplexed mode's connection
     * count (default 2, the library's default). */
    const char *mc = getenv("GOIO_BENCH_REDIS_MUX_CONNS");
    cfg.mux_conns =
        e->mux_conns && mc && atoi(mc) > 0 ? atoi(mc) : e->mux_conns;
    goio_redis *r;
    if (goio_redis_new(&cfg, &r)) {
        fprintf(stderr, "goio_redis_new failed\n");
        exit(1);
    }
    return r;
}

static redisContext *open_raw(const env *e)
{
    redisContext *c = redisConnect(e->host, e->port);
    if (!c || c->err) {
        fprintf(stderr, "hiredis connect failed\n");
        exit(1);
    }
    return c;
}

static void check(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "%s failed: %s\n", what, goio_strerror(rc));
        exit(1);
    }
}

/* ---- single thread ---- */

static double goio_loop(goio_redis *r, const env *e, bool set, double secs)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    long n = 0;
    double t0 = bench_now_s(), end = t0 + secs, now;
    do {
        for (int i = 0; i < 64; i++, n++)
            check(set ? goio_redis_set(r, NULL, "k", e->value, VALUE_LEN, 60000)
                      : goio_redis_get(r, NULL, "k", &b, &hit),
                  "goio op");
    } while ((now = bench_now_s()) < end);
    goio_buf_deinit(&b);
    return (double)n / (now - t0);
}

static double raw_loop(redisContext *c, const env *e, bool set, double secs)
{
    long n = 0;
    double t0 = bench_now_s(), end = t0 + secs, now;
    do {
        for (int i = 0; i < 64; i++, n++) {
            redisReply *reply = set ? redisCommand(c, "SET bench:k %b PX 60000",
                                                   e->value, (size_t)VALUE_LEN)
                                    : redisCommand(c, "GET bench:k");
            if (!reply) {
                fprintf(stderr, "hiredis: %s\n", c->errstr);
                exit(1);
            }
            freeReplyObject(reply);
        }
    } while ((now = bench_now_s()) < end);
    return (double)n / (now - t0);
}

static void single(env *e, bool set)
{
    e->mux_conns = 2;
    goio_redis *r = open_goio(e);
    e->mux_conns = 0;
    goio_redis *rp = open_goio(e);
    e->mux_conns = 2;
    redisContext *c = open_raw(e);
    double g[MAX_ROUNDS], p[MAX_ROUNDS], a[MAX_ROUNDS];
    double secs = e->seconds / e->rounds;
    for (int round = 0; round < e->rounds; round++) {
        g[round] = goio_loop(r, e, set, secs);
        p[round] = goio_loop(rp, e, set, secs);
        a[round] = raw_loop(c, e, set, secs);
    }
    double gm = median(g, e->rounds), pm = median(p, e->rounds),
           am = median(a, e->rounds);
    char extra[160];
    snprintf(extra, sizeof extra,
             "anchor_is=raw_hiredis_1conn pooled=%.0f pooled_ratio=%.2f", pm,
             am > 0 ? pm / am : 0);
    bench_line(set ? "single_set" : "single_get", gm, am, "ops/s", true, extra);
    redisFree(c);
    goio_redis_free(rp);
    goio_redis_free(r);
}

/* ---- concurrent callers: goio (multiplexed, pooled), redigo, node ---- */

typedef struct pool_run {
    goio_redis *r;
    atomic_bool stop;
    atomic_long ops;
} pool_run;

static void *pool_worker(void *arg)
{
    pool_run *p = arg;
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    long n = 0;
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        check(goio_redis_get(p->r, NULL, "k", &b, &hit), "goio get");
        n++;
    }
    atomic_fetch_add(&p->ops, n);
    goio_buf_deinit(&b);
    return NULL;
}

/* `threads` threads on one handle (opened before the clock starts). */
static void goio_pool(env *e, int threads, double secs, double *ops_s,
                      double *cpu_ns)
{
    pool_run p = {.r = open_goio(e)};
    bool hit;
    goio_buf b = GOIO_BUF_INIT;
    check(goio_redis_get(p.r, NULL, "k", &b, &hit), "warm-up get");
    goio_buf_deinit(&b);
    pthread_t t[MAX_THREADS];
    double cpu0 = bench_cpu_s(), t0 = bench_now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, pool_worker, &p);
    struct timespec ts = {(time_t)secs,
                          (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&p.stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double wall = bench_now_s() - t0, cpu = bench_cpu_s() - cpu0;
    long ops = atomic_load(&p.ops);
    *ops_s = (double)ops / wall;
    *cpu_ns = cpu * 1e9 / (double)ops;
    goio_redis_free(p.r);
}

/* ---- async ---- */

typedef struct async_run {
    goio_redis *r;
    atomic_bool stop;
    atomic_long ops;
    atomic_int live;
} async_run;

static void async_on_get(int status, const void *v, size_t len, bool hit,
                         void *data)
{
    (void)v;
    (void)len;
    (void)hit;
    async_run *a = data;
    check(status, "goio get_async");
    atomic_fetch_add_explicit(&a->ops, 1, memory_order_relaxed);
    if (atomic_load_explicit(&a->stop, memory_order_relaxed) ||
        goio_redis_get_async(a->r, NULL, "k", async_on_get, a))
        atomic_fetch_sub(&a->live, 1);
}

/* `conc` chains of async GETs, each callback queuing the next. */
static void goio_async(env *e, int conc, double secs, double *ops_s,
                       double *cpu_ns)
{
    async_run a = {.r = open_goio(e)};
    bool hit;
    goio_buf b = GOIO_BUF_INIT;
    check(goio_redis_get(a.r, NULL, "k", &b, &hit), "warm-up get");
    goio_buf_deinit(&b);
    double cpu0 = bench_cpu_s(), t0 = bench_now_s();
    for (int i = 0; i < conc; i++) {
        atomic_fetch_add(&a.live, 1);
        check(goio_redis_get_async(a.r, NULL, "k", async_on_get, &a),
              "goio get_async");
    }
    struct timespec ts = {(time_t)secs,
                          (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&a.stop, true);
    struct timespec ms = {0, 1000000};
    while (atomic_load(&a.live) > 0)
        nanosleep(&ms, NULL);
    double wall = bench_now_s() - t0, cpu = bench_cpu_s() - cpu0;
    long ops = atomic_load(&a.ops);
    *ops_s = (double)ops / wall;
    *cpu_ns = cpu * 1e9 / (double)ops;
    goio_redis_free(a.r);
}

static bool node_pool(const env *e, int conc, double secs, double *ops_s,
                      double *cpu_ns);

static void async_case(env *e, int conc)
{
    if (!e->node) {
        printf("# async_%d_vs_node skipped: no node-redis anchor\n", conc);
        return;
    }
    double secs = e->seconds, ops[MAX_ROUNDS], cpu[MAX_ROUNDS],
           n_ops[MAX_ROUNDS], n_cpu[MAX_ROUNDS];
    int n = e->rounds;
    for (int i = 0; i < n; i++) {
        goio_async(e, conc, secs, &ops[i], &cpu[i]);
        if (!node_pool(e, conc, secs, &n_ops[i], &n_cpu[i])) {
            printf("# async_%d_vs_node skipped: node-redis failed\n", conc);
            return;
        }
    }
    double m_ops = median(ops, n), m_cpu = median(cpu, n);
    double a_ops = median(n_ops, n), a_cpu = median(n_cpu, n);
    char name[32], extra[256];
    snprintf(name, sizeof name, "async_%d_vs_node", conc);
    snprintf(extra, sizeof extra,
             "anchor_is=node_redis4 cpu_ns=%.0f node_cpu_ns=%.0f rounds=%d",
             m_cpu, a_cpu, n);
    bench_line(name, m_ops, a_ops, "ops/s", true, extra);
}

/* Runs an anchor command that prints "ops= seconds= cpu_seconds= errors=". */
static bool run_anchor(const char *cmd, double *ops_s, double *cpu_ns)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return false;
    long ops = 0, errors = 0;
    double wall = 0, cpu = 0;
    int n = fscanf(f, "ops=%ld seconds=%lf cpu_seconds=%lf errors=%ld", &ops,
                   &wall, &cpu, &errors);
    int st = pclose(f);
    if (n != 4 || st != 0 || ops == 0 || errors) {
        fprintf(stderr, "anchor failed (%s)\n", cmd);
        return false;
    }
    *ops_s = (double)ops / wall;
    *cpu_ns = cpu * 1e9 / (double)ops;
    return true;
}

static bool go_pool(const env *e, int threads, double secs, double *ops_s,
                    double *cpu_ns)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' -endpoint %s -threads %d -seconds %g",
             e->anchor, e->endpoint, threads, secs);
    return run_anchor(cmd, ops_s, cpu_ns);
}

static bool node_pool(const env *e, int conc, double secs, double *ops_s,
                      double *cpu_ns)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node '%s' %s %d %g", e->node, e->endpoint, conc,
             secs);
    return run_anchor(cmd, ops_s, cpu_ns);
}

typedef struct side {
    double ops[MAX_ROUNDS], cpu[MAX_ROUNDS];
    bool ok;
} side;

/*
 * The concurrent cases for `threads` callers: interleaved rounds of goio
 * multiplexed, goio pooled, redigo and node-redis, medians printed.
 */
static void concurrent_cases(env *e, int threads, bool tput, bool vs_node,
                             bool cpu)
{
    side mux = {.ok = true}, pooled = {.ok = true}, go = {.ok = !!e->anchor},
         node = {.ok = !!e->node};
    double secs = e->seconds / e->rounds;
    for (int i = 0; i < e->rounds; i++) {
        e->mux_conns = 2;
        goio_pool(e, threads, secs, &mux.ops[i], &mux.cpu[i]);
        e->mux_conns = 0;
        goio_pool(e, threads, secs, &pooled.ops[i], &pooled.cpu[i]);
        e->mux_conns = 2;
        if (go.ok && (tput || cpu))
            go.ok = go_pool(e, threads, secs, &go.ops[i], &go.cpu[i]);
        if (node.ok && (vs_node || cpu))
            node.ok = node_pool(e, threads, secs, &node.ops[i], &node.cpu[i]);
    }
    int n = e->rounds;
    double m_ops = median(mux.ops, n), m_cpu = median(mux.cpu, n);
    double p_ops = median(pooled.ops, n), p_cpu = median(pooled.cpu, n);
    double g_ops = go.ok ? median(go.ops, n) : 0,
           g_cpu = go.ok ? median(go.cpu, n) : 0;
    double n_ops = node.ok ? median(node.ops, n) : 0,
           n_cpu = node.ok ? median(node.cpu, n) : 0;
    char name[32], extra[256];
    if (tput && go.ok) {
        snprintf(name, sizeof name, "pool_%dt", threads);
        snprintf(extra, sizeof extra,
                 "anchor_is=redigo_pool pooled=%.0f pooled_ratio=%.2f "
                 "rounds=%d",
                 p_ops, p_ops / g_ops, n);
        bench_line(name, m_ops, g_ops, "ops/s", true, extra);
    } else if (tput) {
        printf("# pool_%dt skipped: no Go anchor\n", threads);
    }
    if (vs_node && node.ok) {
        snprintf(name, sizeof name, "pool_%dt_vs_node", threads);
        snprintf(extra, sizeof extra,
                 "anchor_is=node_redis4 pooled=%.0f pooled_ratio=%.2f "
                 "rounds=%d",
                 p_ops, p_ops / n_ops, n);
        bench_line(name, m_ops, n_ops, "ops/s", true, extra);
    } else if (vs_node) {
        printf("# pool_%dt_vs_node skipped: no node-redis anchor\n", threads);
    }
    if (cpu && go.ok) {
        snprintf(name, sizeof name, "pool_%dt_cpu", threads);
        snprintf(extra, sizeof extra,
                 "anchor_is=redigo_pool pooled=%.0f pooled_ratio=%.2f "
                 "node=%.0f rounds=%d",
                 p_cpu, g_cpu / p_cpu, n_cpu, n);
        bench_line(name, m_cpu, g_cpu, "cpu_ns/op", false, extra);
    }
}

/* ---- multi-get ---- */

static double redis_benchmark_rps(const env *e)
{
    char cmd[512];
    long n = (long)(200000 * e->seconds);
    snprintf(cmd, sizeof cmd,
             "redis-benchmark -h %s -p %d -c 1 -P 16 -t get -d %d -n %ld -q "
             "2>/dev/null",
             e->host, e->port, VALUE_LEN, n < 1000 ? 1000 : n);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    pclose(f);
    buf[len] = 0;
    double rps = 0;
    for (char *p = buf; (p = strstr(p, "GET: ")); p += 5)
        rps = atof(p + 5);
    return rps;
}

static void multi_case(const env *e)
{
    goio_redis *r = open_goio(e);
    char names[100][8];
    const char *keys[100];
    const void *vals[100];
    size_t lens[100];
    goio_buf bufs[100];
    bool hits[100];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        keys[i] = names[i];
        vals[i] = e->value;
        lens[i] = VALUE_LEN;
        goio_buf_init(&bufs[i]);
    }
    check(goio_redis_multi_set(r, NULL, keys, vals, lens, 100, 600000),
          "multi_set");
    double g = 0, a = 0;
    for (int round = 0; round < 3; round++) {
        long n = 0;
        double t0 = bench_now_s(), end = t0 + e->seconds / 3, now;
        do {
            check(goio_redis_multi_get(r, NULL, keys, 100, bufs, hits),
                  "multi_get");
            n += 100;
        } while ((now = bench_now_s()) < end);
        double x = (double)n / (now - t0);
        n = 0;
        t0 = bench_now_s();
        end = t0 + e->seconds / 3;
        do {
            for (int i = 0; i < 100; i++)
                check(goio_redis_get(r, NULL, keys[i], &bufs[i], &hits[i]),
                      "get");
            n += 100;
        } while ((now = bench_now_s()) < end);
        double y = (double)n / (now - t0);
        g = x > g ? x : g;
        a = y > a ? y : a;
    }
    char extra[128];
    snprintf(extra, sizeof extra,
             "anchor_is=100_single_gets redis_benchmark_c1_P16_get=%.0f",
             redis_benchmark_rps(e));
    bench_line("multi_get_100", g, a, "keys/s", true, extra);
    for (int i = 0; i < 100; i++)
        goio_buf_deinit(&bufs[i]);
    goio_redis_free(r);
}

/* ---- TLS ---- */

/* redis-benchmark --tls GET with `clients` connections, no pipelining,
 * n requests. Its -q output repeats progress lines ("GET: rps=...") before
 * the result ("GET: <rps> requests per second"): the last one counts. */
static double redis_benchmark_tls_rps(const env *e, int clients, long n)
{
    const char *colon = strrchr(e->tls_endpoint, ':');
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "redis-benchmark --tls --cacert '%s' -h 127.0.0.1 -p %s -c %d "
             "-t get -d %d -n %ld -q 2>/dev/null | tr '\\r' '\\n' | "
             "grep 'requests per second'",
             e->tls_ca, colon + 1, clients, VALUE_LEN, n < 1000 ? 1000 : n);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    pclose(f);
    buf[len] = 0;
    double rps = 0;
    for (char *p = buf; (p = strstr(p, "GET: ")); p += 5)
        rps = atof(p + 5);
    return rps;
}

/* As many requests as goio made in a round (capped: redis-benchmark's TLS
 * mode is much slower here), so both sides run for similar times. */
static long anchor_requests(double goio_ops_s, double secs)
{
    long n = (long)(goio_ops_s * secs);
    return n > 20000 ? 20000 : n;
}

static void tls_cases(env *e, bool single_tls, bool pool_tls)
{
    if (!e->tls_endpoint || !e->tls_ca) {
        printf("# TLS cases skipped: GOIO_BENCH_REDIS_TLS_ENDPOINT / _CA "
               "not set\n");
        return;
    }
    char extra[256];
    if (single_tls) {
        double tls = 0, plain = 0, anchor = 0;
        for (int round = 0; round < 3; round++) {
            e->tls = true;
            goio_redis *r = open_goio(e);
            double x = goio_loop(r, e, false, e->seconds / 3);
            goio_redis_free(r);
            e->tls = false;
            r = open_goio(e);
            double y = goio_loop(r, e, false, e->seconds / 3);
            goio_redis_free(r);
            double z = redis_benchmark_tls_rps(
                e, 1, anchor_requests(x, e->seconds / 3));
            tls = x > tls ? x : tls;
            plain = y > plain ? y : plain;
            anchor = z > anchor ? z : anchor;
        }
        snprintf(extra, sizeof extra,
                 "anchor_is=redis_benchmark_tls_c1 plain=%.0f tls_cost=%.2f",
                 plain, tls > 0 ? plain / tls : 0);
        bench_line("single_get_tls", tls, anchor, "ops/s", true, extra);
    }
    if (pool_tls) {
        double tls = 0, plain = 0, anchor = 0, cpu;
        for (int round = 0; round < 3; round++) {
            double x, y;
            e->tls = true;
            goio_pool(e, THREADS, e->seconds / 3, &x, &cpu);
            e->tls = false;
            goio_pool(e, THREADS, e->seconds / 3, &y, &cpu);
            double z = redis_benchmark_tls_rps(
                e, THREADS, anchor_requests(x, e->seconds / 3));
            tls = x > tls ? x : tls;
            plain = y > plain ? y : plain;
            anchor = z > anchor ? z : anchor;
        }
        snprintf(extra, sizeof extra,
                 "anchor_is=redis_benchmark_tls_c8 plain=%.0f tls_cost=%.2f",
                 plain, tls > 0 ? plain / tls : 0);
        bench_line("pool_8t_tls", tls, anchor, "ops/s", true, extra);
    }
    e->tls = false;
}

static void parse_env(env *e)
{
    e->endpoint = getenv("GOIO_BENCH_REDIS_ENDPOINT");
    const char *colon = e->endpoint ? strrchr(e->endpoint, ':') : NULL;
    if (!colon || (size_t)(colon - e->endpoint) >= sizeof e->host) {
        fprintf(stderr, "set GOIO_BENCH_REDIS_ENDPOINT=host:port "
                        "(bench/redis/run.sh does)\n");
        exit(2);
    }
    memcpy(e->host, e->endpoint, (size_t)(colon - e->endpoint));
    e->port = atoi(colon + 1);
    const char *s = getenv("GOIO_BENCH_REDIS_SECONDS");
    e->seconds = s && atof(s) > 0 ? atof(s) : 1.0;
    e->mux_conns = 2;
    s = getenv("GOIO_BENCH_REDIS_ROUNDS");
    e->rounds = s && atoi(s) > 0 ? atoi(s) : 3;
    if (e->rounds > MAX_ROUNDS)
        e->rounds = MAX_ROUNDS;
    e->node = getenv("GOIO_BENCH_REDIS_NODE");
    if (e->node && !*e->node)
        e->node = NULL;
    e->anchor = getenv("GOIO_BENCH_REDIS_ANCHOR");
    if (e->anchor && !*e->anchor)
        e->anchor = NULL;
    e->tls_endpoint = getenv("GOIO_BENCH_REDIS_TLS_ENDPOINT");
    e->tls_ca = getenv("GOIO_BENCH_REDIS_TLS_CA");
    if (!e->tls_endpoint || !*e->tls_endpoint || !strrchr(e->tls_endpoint, ':'))
        e->tls_endpoint = NULL;
    memset(e->value, 'x', VALUE_LEN);
}

int main(int argc, char **argv)
{
    env e = {0};
    parse_env(&e);
    /* The key every GET case reads. */
    goio_redis *r = open_goio(&e);
    check(goio_redis_set(r, NULL, "k", e.value, VALUE_LEN, 600000), "set");
    goio_redis_free(r);
    if (bench_selected(argc, argv, "single_get"))
        single(&e, false);
    if (bench_selected(argc, argv, "single_set"))
        single(&e, true);
    bool tput8 = bench_selected(argc, argv, "pool_8t");
    bool node8 = bench_selected(argc, argv, "pool_8t_vs_node");
    bool cpu8 = bench_selected(argc, argv, "pool_8t_cpu");
    if (tput8 || node8 || cpu8)
        concurrent_cases(&e, 8, tput8, node8, cpu8);
    bool tput64 = bench_selected(argc, argv, "pool_64t");
    bool node64 = bench_selected(argc, argv, "pool_64t_vs_node");
    if (tput64 || node64)
        concurrent_cases(&e, 64, tput64, node64, false);
    if (bench_selected(argc, argv, "async_64_vs_node"))
        async_case(&e, 64);
    if (bench_selected(argc, argv, "multi_get_100"))
        multi_case(&e);
    bool single_tls = bench_selected(argc, argv, "single_get_tls");
    bool pool_tls = bench_selected(argc, argv, "pool_8t_tls");
    if (single_tls || pool_tls)
        tls_cases(&e, single_tls, pool_tls);
    return 0;
}
