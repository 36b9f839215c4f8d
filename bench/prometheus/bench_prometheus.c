/* SPDX-License-Identifier: MIT */
/*
 * bench_prometheus: goio's metrics against client_golang 1.14, the
 * registry the Go library leans on, on the same workloads (see the anchor,
 * bench/anchors/go/src/goio_bench_prometheus):
 *
 *   held_counter_inc        ns per Inc on a held counter
 *   held_histogram_observe  ns per Observe on a held histogram (default
 *                           buckets)
 *   labels_lookup_inc       ns per lookup by 5 label values + Inc
 *                           (Go: WithLabelValues(...).Inc())
 *   labels_map_inc          ns per lookup by 5 name/value pairs + Inc
 *                           (Go: With(fresh prometheus.Labels map).Inc(),
 *                           the Go library's request-tracker path)
 *   gauge_vec_incdec        ns per (lookup + Inc, lookup + Dec), 4 labels
 *   exposition_10k          ms per text exposition of 10,000 series
 *
 * Each has a _2t variant: two threads on the same metric, reported as
 * ops/s (exposition: expositions/s). Lookups cycle through 256 label
 * sets (4 methods x 16 paths x 4 statuses) whose children exist.
 *
 * Env: GOIO_PROM_BENCH_OPS (ops per thread, default 2000000),
 * GOIO_PROM_BENCH_EXPO (expositions per thread, default 20),
 * GOIO_PROM_ANCHOR (the Go anchor binary; run.sh builds it). Case names
 * on the command line pick cases.
 */
#include <goio/prometheus.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static long ops = 2000000, expo = 20;

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? atol(v) : def;
}

/* ---- the anchor ---------------------------------------------------------- */

static double anchor_run(const char *name, long n)
{
    const char *bin = getenv("GOIO_PROM_ANCHOR");
    if (!bin) {
        printf("# %s: no anchor (GOIO_PROM_ANCHOR); use bench/prometheus/"
               "run.sh\n",
               name);
        return NAN;
    }
    char cmd[1024], want[128];
    snprintf(cmd, sizeof cmd, "'%s' -case %s -ops %ld", bin, name, n);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NAN;
    snprintf(want, sizeof want, "RESULT %s %%lf", name);
    double v = NAN;
    char line[256];
    while (fgets(line, sizeof line, p))
        if (sscanf(line, want, &v) == 1)
            break;
    pclose(p);
    if (isnan(v))
        printf("# %s: the anchor printed no result\n", name);
    return v;
}

/* ---- fixtures ------------------------------------------------------------ */

#define NSETS 256
static const char *label_names[] = {"serviceName", "version", "method", "path",
                                    "status"};
static char paths[16][32];
static const char *sets[NSETS][5];

static void make_sets(void)
{
    static const char *methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const char *statuses[] = {"200", "201", "404", "500"};
    int k = 0;
    for (int p = 0; p < 16; p++)
        snprintf(paths[p], sizeof paths[p], "/api/v1/items/%d", p);
    for (int m = 0; m < 4; m++)
        for (int p = 0; p < 16; p++)
            for (int s = 0; s < 4; s++, k++) {
                sets[k][0] = "catalog";
                sets[k][1] = "1.4.2";
                sets[k][2] = methods[m];
                sets[k][3] = paths[p];
                sets[k][4] = statuses[s];
            }
}

static goio_prom_registry *new_registry(void)
{
    goio_prom_registry *reg;
    if (goio_prom_registry_new(&reg))
        abort();
    return reg;
}

static goio_prom_vec *new_vec(goio_prom_registry *reg, goio_prom_type t,
                              const char *name, size_t nlabels)
{
    goio_prom_metric_config o;
    goio_prom_metric_config_init(&o);
    o.name = name;
    o.help = "bench";
    o.label_names = label_names;
    o.label_count = nlabels;
    goio_prom_vec *v;
    if (goio_prom_vec_register(reg, t, &o, &v))
        abort();
    return v;
}

/* ---- running on 1 or 2 threads ------------------------------------------- */

typedef struct job {
    void (*body)(struct job *j);
    void *target; /* the metric or vector */
    int thread;
    long n;
    pthread_barrier_t *gate;
    double start, end;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->gate);
    j->start = bench_now_s();
    j->body(j);
    j->end = bench_now_s();
    return NULL;
}

/*
 * Wall seconds for `threads` threads each running body n times: from the
 * first thread's start to the last one's end, as each thread clocks
 * itself (the main thread may not run when the workers do).
 */
static double timed(int threads, void (*body)(job *), void *target, long n)
{
    pthread_barrier_t gate;
    pthread_barrier_init(&gate, NULL, (unsigned)threads);
    job jobs[2];
    pthread_t t[2];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){body, target, i, n, &gate, 0, 0};
        pthread_create(&t[i], NULL, run_job, &jobs[i]);
    }
    double start = 0, end = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (!i || jobs[i].start < start)
            start = jobs[i].start;
        if (jobs[i].end > end)
            end = jobs[i].end;
    }
    pthread_barrier_destroy(&gate);
    return end - start;
}

/*
 * Reports one case: the cost of one of the n operations (secs * scale / n,
 * in cost_unit) for 1 thread, operations per second for 2.
 */
static void report_as(const char *base, int threads, double secs, long n,
                      double scale, const char *cost_unit,
                      const char *rate_unit)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s", base, threads == 2 ? "_2t" : "");
    double v = threads == 1 ? secs * scale / (double)n : 2.0 * (double)n / secs;
    const char *unit = threads == 1 ? cost_unit : rate_unit;
    double anchor = anchor_run(name, n);
    if (isnan(anchor))
        printf("# %s goio=%.6g %s\n", name, v, unit);
    else
        bench_line(name, v, anchor, unit, threads == 2, "");
}

/* ns/op for 1 thread, ops/s for 2. */
static void report(const char *base, int threads, double secs, long n)
{
    report_as(base, threads, secs, n, 1e9, "ns/op", "ops/s");
}

/* ---- cases --------------------------------------------------------------- */

static void counter_body(job *j)
{
    goio_prom_counter *c = j->target;
    for (long i = 0; i < j->n; i++)
        goio_prom_counter_inc(c);
}

static void held_counter_inc(int threads)
{
    goio_prom_registry *reg = new_registry();
    goio_prom_metric_config o;
    goio_prom_metric_config_init(&o);
    o.name = "c_total";
    goio_prom_counter *c;
    if (goio_prom_counter_register(reg, &o, &c))
        abort();
    double s = timed(threads, counter_body, c, ops);
    double v;
    goio_prom_counter_value(c, &v);
    if (v != (double)ops * threads)
        printf("# held_counter_inc: counted %g\n", v);
    report("held_counter_inc", threads, s, ops);
    goio_prom_registry_free(reg);
}

static double obs_values[1024];

static void histogram_body(job *j)
{
    goio_prom_histogram *h = j->target;
    for (long i = 0; i < j->n; i++)
        goio_prom_histogram_observe(h, obs_values[i & 1023]);
}

static void held_histogram_observe(int threads)
{
    for (int i = 0; i < 1024; i++)
        obs_values[i] = (double)(i % 200) * 0.001 * (double)(1 + i % 7);
    goio_prom_registry *reg = new_registry();
    goio_prom_metric_config o;
    goio_prom_metric_config_init(&o);
    o.name = "h_seconds";
    goio_prom_histogram *h;
    if (goio_prom_histogram_register(reg, &o, &h))
        abort();
    double s = timed(threads, histogram_body, h, ops);
    report("held_histogram_observe", threads, s, ops);
    goio_prom_registry_free(reg);
}

static void lookup_body(job *j)
{
    goio_prom_vec *v = j->target;
    goio_prom_counter *c;
    for (long i = 0; i < j->n; i++) {
        if (goio_prom_vec_counter(v, sets[(i + j->thread * 17) % NSETS], 5, &c))
            abort();
        goio_prom_counter_inc(c);
    }
}

static void map_body(job *j)
{
    goio_prom_vec *v = j->target;
    goio_prom_counter *c;
    for (long i = 0; i < j->n; i++) {
        const char *const *t = sets[(i + j->thread * 17) % NSETS];
        /* Built per call, as Go builds a fresh map. */
        goio_prom_label labels[5] = {{"serviceName", t[0]},
                                     {"version", t[1]},
                                     {"method", t[2]},
                                     {"path", t[3]},
                                     {"status", t[4]}};
        if (goio_prom_vec_counter_with(v, labels, 5, &c))
            abort();
        goio_prom_counter_inc(c);
    }
}

static void labelled(const char *name, void (*body)(job *), int threads)
{
    goio_prom_registry *reg = new_registry();
    goio_prom_vec *v = new_vec(reg, GOIO_PROM_COUNTER, "req_total", 5);
    goio_prom_counter *c;
    for (int i = 0; i < NSETS; i++)
        if (goio_prom_vec_counter(v, sets[i], 5, &c))
            abort();
    double s = timed(threads, body, v, ops);
    report(name, threads, s, ops);
    goio_prom_registry_free(reg);
}

static void gauge_body(job *j)
{
    goio_prom_vec *v = j->target;
    goio_prom_gauge *g;
    for (long i = 0; i < j->n; i++) {
        const char *const *t = sets[(i + j->thread * 17) % NSETS];
        if (goio_prom_vec_gauge(v, t, 4, &g))
            abort();
        goio_prom_gauge_inc(g);
        if (goio_prom_vec_gauge(v, t, 4, &g))
            abort();
        goio_prom_gauge_dec(g);
    }
}

static void gauge_vec_incdec(int threads)
{
    goio_prom_registry *reg = new_registry();
    goio_prom_vec *v = new_vec(reg, GOIO_PROM_GAUGE, "cur", 4);
    double s = timed(threads, gauge_body, v, ops);
    report("gauge_vec_incdec", threads, s, ops);
    goio_prom_registry_free(reg);
}

static void expo_body(job *j)
{
    goio_buf b = GOIO_BUF_INIT;
    for (long i = 0; i < j->n; i++) {
        goio_buf_clear(&b);
        if (goio_prom_registry_write(j->target, NULL, GOIO_PROM_TEXT, &b))
            abort();
    }
    goio_buf_deinit(&b);
}

static void exposition_10k(int threads)
{
    static const char *names[] = {"shard", "key"};
    goio_prom_registry *reg = new_registry();
    goio_prom_metric_config o;
    goio_prom_metric_config_init(&o);
    o.name = "series_total";
    o.help = "s";
    o.label_names = names;
    o.label_count = 2;
    goio_prom_vec *v;
    if (goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &v))
        abort();
    for (int i = 0; i < 10000; i++) {
        char shard[16], key[32];
        snprintf(shard, sizeof shard, "%d", i % 16);
        snprintf(key, sizeof key, "key-%d", i);
        const char *vals[] = {shard, key};
        goio_prom_counter *c;
        if (goio_prom_vec_counter(v, vals, 2, &c) ||
            goio_prom_counter_add(c, i))
            abort();
    }
    double s = timed(threads, expo_body, reg, expo);
    report_as("exposition_10k", threads, s, expo, 1e3, "ms", "expositions/s");
    goio_prom_registry_free(reg);
}

static void lookup_inc(int threads)
{
    labelled("labels_lookup_inc", lookup_body, threads);
}

static void map_inc(int threads)
{
    labelled("labels_map_inc", map_body, threads);
}

int main(int argc, char **argv)
{
    ops = env_long("GOIO_PROM_BENCH_OPS", ops);
    expo = env_long("GOIO_PROM_BENCH_EXPO", expo);
    make_sets();
    struct {
        const char *name;
        void (*fn)(int threads);
    } cases[] = {
        {"held_counter_inc", held_counter_inc},
        {"held_histogram_observe", held_histogram_observe},
        {"labels_lookup_inc", lookup_inc},
        {"labels_map_inc", map_inc},
        {"gauge_vec_incdec", gauge_vec_incdec},
        {"exposition_10k", exposition_10k},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char two[64];
        snprintf(two, sizeof two, "%s_2t", cases[i].name);
        if (bench_selected(argc, argv, cases[i].name))
            cases[i].fn(1);
        if (bench_selected(argc, argv, two))
            cases[i].fn(2);
    }
    return 0;
}
