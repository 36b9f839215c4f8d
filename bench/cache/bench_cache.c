/* SPDX-License-Identifier: MIT */
/*
 * bench_cache: goio's memory cache against its anchors (see
 * bench/README.md for the BENCH line).
 *
 *   get_hit_1t          ns per get hit, one thread, Zipf(1.01) over the
 *                       keys; anchor: patrickmn/go-cache as go-io makes it;
 *                       caffeine= Caffeine; floor= a bare unsynchronized
 *                       open-addressing table (same keys, same sequence,
 *                       32-byte values copied out), floor_ratio=floor/goio
 *                       (wall), floor_cpu_ratio the same on thread CPU
 *   get_hit_1t_10k      the same over 10,000 keys
 *   zipf_mixed_2t       ops/s, 2 threads, 90% get / 10% set, Zipf(1.01);
 *                       anchor: go-cache; caffeine= Caffeine
 *   trace_<name>_<cap>  hit ratio on the shared traces at each listed
 *                       capacity (entries); anchor: LRU; opt= Belady;
 *                       caffeine= Caffeine maximumSize(cap)
 *   hit_ratio_zipf09/11 hit ratio, Zipf 0.9 / 1.1, same byte budget as LRU
 *   hit_ratio_scan      Zipf 0.9 with one-off scans mixed in, vs LRU
 *   overhead_per_entry  bytes per entry beyond key + value (allocator
 *                       included); anchor: go-cache's
 *
 * Sizes (environment): GOIO_BENCH_CACHE_KEYS (default 1000000),
 * GOIO_BENCH_CACHE_OPS (operations per timed run, default 2000000),
 * GOIO_BENCH_CACHE_HR_OPS (accesses per synthetic hit-ratio case, default
 * 2000000), GOIO_BENCH_CACHE_REPS (timed runs per throughput case, both
 * sides report their best, default 3). On a busy machine the wall-clock
 * figures mostly measure the scheduler: get_hit_1t also prints goio's
 * thread CPU time per get, zipf_mixed_2t both sides' ops per process CPU
 * second x 2 (cpu_goio, cpu_anchor, cpu_ratio). GOIO_CACHE_ANCHOR names the
 * go-cache anchor binary (run.sh builds it); without it the go-cache cases say
 * so and print no line. GOIO_CACHE_CAFFEINE is the folder of the compiled
 * bench/anchors/java/CaffeineBench (run.sh builds it); without it no
 * caffeine= field is printed. GOIO_TRACES is the traces folder (default
 * ../shared/traces beside the repository).
 */
#define _GNU_SOURCE
#include "bench.h"
#include "sim.h"

#include <goio/cache.h>

#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define VALUE_LEN 32
#define TTL_MS    (3600 * 1000)

static size_t env_size(const char *name, size_t def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end || !n ? def : (size_t)n;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_cache: %s: %s\n", what, goio_strerror(rc));
    exit(1);
}

/* ---- workload generation ------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Zipf(s) over 0..n-1 (P(k) ~ 1/(k+1)^s, as Go's rand.NewZipf with v=1),
 * by inverting a cumulative table. */
typedef struct zipf {
    double *cdf;
    size_t n;
} zipf;

static zipf zipf_new(size_t n, double s)
{
    zipf z = {malloc(n * sizeof(double)), n};
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        z.cdf[k] = (sum += pow((double)(k + 1), -s));
    for (size_t k = 0; k < n; k++)
        z.cdf[k] /= sum;
    return z;
}

static uint32_t zipf_next(const zipf *z, uint64_t *rng)
{
    double u = rng_unit(rng);
    size_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

static uint32_t *zipf_seq(const zipf *z, size_t n, uint64_t seed)
{
    uint32_t *seq = malloc(n * sizeof *seq);
    for (size_t i = 0; i < n; i++)
        seq[i] = zipf_next(z, &seed);
    return seq;
}

/* Keys "key:<i>", fixed-width slots so they need no pointers. */
#define KEY_SLOT 24
static char *make_keys(size_t n)
{
    char *keys = malloc(n * KEY_SLOT);
    for (size_t i = 0; i < n; i++)
        snprintf(keys + i * KEY_SLOT, KEY_SLOT, "key:%zu", i);
    return keys;
}
#define KEY(keys, i) ((keys) + (size_t)(i)*KEY_SLOT)

/* ---- the go-cache anchor ------------------------------------------------- */

/* Runs the anchor for one case and returns the number it prints after
 * "RESULT <case> ", or NAN (with a message) if it cannot. *cpu (may be
 * NULL) gets the CPU-normalized figure printed after it, if any. */
static double anchor_run(const char *name, size_t keys, size_t ops, size_t reps,
                         double *cpu)
{
    if (cpu)
        *cpu = NAN;
    const char *bin = getenv("GOIO_CACHE_ANCHOR");
    if (!bin || access(bin, X_OK)) {
        printf("# %s: no go-cache anchor (GOIO_CACHE_ANCHOR); run "
               "bench/cache/run.sh\n",
               name);
        return NAN;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' -case %s -keys %zu -ops %zu -reps %zu", bin,
             name, keys, ops, reps);
    FILE *p = popen(cmd, "r");
    double v = NAN, c = NAN;
    char line[512], want[128];
    snprintf(want, sizeof want, "RESULT %s %%lf %%lf", name);
    while (p && fgets(line, sizeof line, p))
        if (sscanf(line, want, &v, &c) >= 1)
            break;
    if (p)
        pclose(p);
    if (isnan(v))
        printf("# %s: the anchor printed no result\n", name);
    if (cpu)
        *cpu = c;
    return v;
}

/* ---- the Caffeine anchor ------------------------------------------------- */

/* Runs bench/anchors/java/CaffeineBench with `args` and collects its
 * "RESULT <case> <v> [<cpu>]" lines into res (up to max); returns how many,
 * or -1 (with a message) when the anchor is not built. */
typedef struct caf_result {
    char name[64];
    double v, cpu;
} caf_result;

static int caffeine_run(const char *args, caf_result *res, int max)
{
    const char *dir = getenv("GOIO_CACHE_CAFFEINE");
    if (!dir || !*dir) {
        printf("# no Caffeine anchor (GOIO_CACHE_CAFFEINE); run "
               "bench/cache/run.sh\n");
        return -1;
    }
    char cmd[4096];
    snprintf(
        cmd, sizeof cmd,
        "java -Xss8m -cp '%s':/usr/share/java/caffeine.jar CaffeineBench %s",
        dir, args);
    FILE *p = popen(cmd, "r");
    int n = 0;
    char line[512];
    while (p && fgets(line, sizeof line, p)) {
        caf_result r = {{0}, NAN, NAN};
        if (n < max &&
            sscanf(line, "RESULT %63s %lf %lf", r.name, &r.v, &r.cpu) >= 2)
            res[n++] = r;
    }
    if (p)
        pclose(p);
    if (!n)
        printf("# Caffeine anchor printed no result for: %s\n", args);
    return n;
}

static double caffeine_one(const char *args, double *cpu)
{
    caf_result r;
    if (caffeine_run(args, &r, 1) != 1) {
        if (cpu)
            *cpu = NAN;
        return NAN;
    }
    if (cpu)
        *cpu = r.cpu;
    return r.v;
}

/* ---- the floor: a bare table --------------------------------------------- */

/*
 * What a get cannot cost less than: an unsynchronized open-addressing
 * table (linear probing, at most half full, hash and entry pointer per
 * slot) over individually allocated entries holding the same keys and
 * 32-byte values, hashed with the same function; a get hashes the key,
 * probes, compares the key and copies the value out.
 */
typedef struct floor_entry {
    uint32_t klen;
    char key[KEY_SLOT];
    char value[VALUE_LEN];
} floor_entry;

typedef struct floor_slot {
    uint64_t h;
    floor_entry *e;
} floor_slot;

typedef struct floor_table {
    floor_slot *slots;
    size_t mask;
    uint64_t seed;
} floor_table;

static floor_table floor_new(const char *keys, size_t n)
{
    floor_table t = {NULL, 0, 0x5eed};
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    t.slots = calloc(cap, sizeof *t.slots);
    t.mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        floor_entry *e = malloc(sizeof *e);
        e->klen = (uint32_t)strlen(KEY(keys, i));
        memcpy(e->key, KEY(keys, i), e->klen);
        memset(e->value, 'v', VALUE_LEN);
        uint64_t h = goio_hash64(e->key, e->klen, t.seed);
        size_t j = h & t.mask;
        while (t.slots[j].e)
            j = (j + 1) & t.mask;
        t.slots[j] = (floor_slot){h, e};
    }
    return t;
}

static bool floor_get(const floor_table *t, const char *key, char *out)
{
    size_t klen = strlen(key);
    uint64_t h = goio_hash64(key, klen, t->seed);
    for (size_t j = h & t->mask;; j = (j + 1) & t->mask) {
        const floor_slot *s = &t->slots[j];
        if (!s->e)
            return false;
        if (s->h == h && s->e->klen == klen && !memcmp(s->e->key, key, klen)) {
            memcpy(out, s->e->value, VALUE_LEN);
            return true;
        }
    }
}

static void floor_free(floor_table *t)
{
    for (size_t j = 0; j <= t->mask; j++)
        free(t->slots[j].e);
    free(t->slots);
}

static double thread_cpu_s(void);

/* Best ns per get of the floor table over the same sequence, and in *cpu
 * the best thread CPU ns per get. */
static double floor_run(const char *keys, size_t nkeys, const uint32_t *seq,
                        size_t ops, size_t reps, double *cpu)
{
    floor_table t = floor_new(keys, nkeys);
    static char out[VALUE_LEN];
    size_t hits = 0;
    double best = INFINITY;
    *cpu = INFINITY;
    for (size_t r = 0; r < reps; r++) {
        double t0 = bench_now_s(), c0 = thread_cpu_s();
        for (size_t i = 0; i < ops; i++)
            hits += floor_get(&t, KEY(keys, seq[i]), out);
        double ns = (bench_now_s() - t0) * 1e9 / (double)ops;
        double c = (thread_cpu_s() - c0) * 1e9 / (double)ops;
        best = ns < best ? ns : best;
        *cpu = c < *cpu ? c : *cpu;
    }
    /* Keep the copies observable. */
    if (hits != ops * reps || out[0] != 'v')
        printf("# floor: %zu of %zu gets missed\n", ops * reps - hits,
               ops * reps);
    floor_free(&t);
    return best;
}

/* ---- throughput ---------------------------------------------------------- */

static goio_cache *filled_cache(const char *keys, size_t n)
{
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.max_bytes = n * (KEY_SLOT + VALUE_LEN + GOIO_CACHE_ENTRY_OVERHEAD) +
                    ((size_t)16 << 20);
    goio_cache *c;
    int rc = goio_cache_memory_new(&cfg, &c);
    if (rc)
        die("memory_new", rc);
    char value[VALUE_LEN];
    memset(value, 'v', sizeof value);
    for (size_t i = 0; i < n; i++)
        if ((rc = goio_cache_set(c, NULL, KEY(keys, i), value, sizeof value,
                                 TTL_MS)))
            die("set", rc);
    return c;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_get_hit_1t(const char *name, size_t nkeys, size_t ops,
                             size_t reps)
{
    char *keys = make_keys(nkeys);
    goio_cache *c = filled_cache(keys, nkeys);
    zipf z = zipf_new(nkeys, 1.01);
    uint32_t *seq = zipf_seq(&z, ops, 42);
    goio_buf out = GOIO_BUF_INIT;
    bool hit;
    size_t hits = 0;
    double best = INFINITY, best_cpu = INFINITY;
    for (size_t r = 0; r < reps; r++) {
        double t0 = bench_now_s(), c0 = thread_cpu_s();
        for (size_t i = 0; i < ops; i++) {
            goio_cache_get(c, NULL, KEY(keys, seq[i]), &out, &hit);
            hits += hit;
        }
        double ns = (bench_now_s() - t0) * 1e9 / (double)ops;
        double cpu = (thread_cpu_s() - c0) * 1e9 / (double)ops;
        best = ns < best ? ns : best;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
    }
    if (hits != ops * reps)
        printf("# %s: %zu of %zu gets missed\n", name, ops * reps - hits,
               ops * reps);
    goio_buf_deinit(&out);
    goio_cache_free(c);
    double floor_cpu,
        floor = floor_run(keys, nkeys, seq, ops, reps, &floor_cpu);
    free(seq);
    free(z.cdf);
    free(keys);
    double anchor = anchor_run("get_hit_1t", nkeys, ops, reps, NULL);
    char args[128];
    snprintf(args, sizeof args, "get_hit_1t %zu %zu %zu %s", nkeys, ops, reps,
             name);
    double caffeine = caffeine_one(args, NULL);
    char extra[256];
    snprintf(extra, sizeof extra,
             "cpu_ns=%.1f best_of=%zu floor=%.1f floor_ratio=%.3f "
             "floor_cpu_ns=%.1f floor_cpu_ratio=%.3f caffeine=%.1f "
             "caffeine_ratio=%.3f",
             best_cpu, reps, floor, floor / best, floor_cpu,
             floor_cpu / best_cpu, caffeine, caffeine / best);
    if (!isnan(anchor))
        bench_line(name, best, anchor, "ns/op", false, extra);
}

typedef struct mixed_arg {
    goio_cache *c;
    const char *keys;
    const uint32_t *seq;
    size_t ops;
    atomic_int *ready;
} mixed_arg;

static void *mixed_thread(void *p)
{
    mixed_arg *a = p;
    goio_buf out = GOIO_BUF_INIT;
    char value[VALUE_LEN];
    memset(value, 'w', sizeof value);
    bool hit;
    atomic_fetch_add(a->ready, 1);
    while (atomic_load(a->ready) < 3)
        ;
    for (size_t i = 0; i < a->ops; i++) {
        const char *k = KEY(a->keys, a->seq[i]);
        if (i % 10 == 0)
            goio_cache_set(a->c, NULL, k, value, sizeof value, TTL_MS);
        else
            goio_cache_get(a->c, NULL, k, &out, &hit);
    }
    goio_buf_deinit(&out);
    return NULL;
}

/* One timed run of the two threads; returns ops/s of wall time, and in
 * *cpu_rate ops per process CPU second x 2 (what two whole cores would
 * do: comparable on a busy machine). */
static double mixed_run(goio_cache *c, const char *keys, uint32_t *seqs[2],
                        size_t ops, double *cpu_rate)
{
    atomic_int ready = 0;
    mixed_arg a[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        a[i] = (mixed_arg){c, keys, seqs[i], ops, &ready};
        pthread_create(&th[i], NULL, mixed_thread, &a[i]);
    }
    while (atomic_load(&ready) < 2)
        ;
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    atomic_store(&ready, 3);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    double wall = bench_now_s() - t0, cpu = bench_cpu_s() - c0;
    *cpu_rate = 2.0 * 2.0 * (double)ops / cpu;
    return 2.0 * (double)ops / wall;
}

static void bench_zipf_mixed_2t(size_t nkeys, size_t ops, size_t reps)
{
    char *keys = make_keys(nkeys);
    goio_cache *c = filled_cache(keys, nkeys);
    zipf z = zipf_new(nkeys, 1.01);
    uint32_t *seqs[2] = {zipf_seq(&z, ops, 7), zipf_seq(&z, ops, 8)};
    double best = 0, best_cpu = 0;
    for (size_t r = 0; r < reps; r++) {
        double cpu_rate, rate = mixed_run(c, keys, seqs, ops, &cpu_rate);
        best = rate > best ? rate : best;
        best_cpu = cpu_rate > best_cpu ? cpu_rate : best_cpu;
    }
    free(seqs[0]);
    free(seqs[1]);
    goio_cache_free(c);
    free(z.cdf);
    free(keys);
    double anchor_cpu;
    double anchor = anchor_run("zipf_mixed_2t", nkeys, ops, reps, &anchor_cpu);
    char args[128];
    snprintf(args, sizeof args, "zipf_mixed_2t %zu %zu %zu", nkeys, ops, reps);
    double caf_cpu, caffeine = caffeine_one(args, &caf_cpu);
    char extra[256];
    snprintf(extra, sizeof extra,
             "best_of=%zu cpu_goio=%.4g cpu_anchor=%.4g cpu_ratio=%.3f "
             "caffeine=%.4g caffeine_ratio=%.3f cpu_caffeine=%.4g "
             "cpu_caffeine_ratio=%.3f",
             reps, best_cpu, anchor_cpu, best_cpu / anchor_cpu, caffeine,
             best / caffeine, caf_cpu, best_cpu / caf_cpu);
    if (!isnan(anchor))
        bench_line("zipf_mixed_2t", best, anchor, "ops/s", true, extra);
}

/* ---- hit ratios ---------------------------------------------------------- */

/* Replays ids through a goio memory cache (get, then set on a miss) and
 * returns the hit ratio. value_len(i) gives access i's value size. */
static double replay(goio_cache *c, const uint64_t *ids, size_t n,
                     const uint32_t *vlens)
{
    static char value[4096];
    goio_buf out = GOIO_BUF_INIT;
    size_t hits = 0;
    char key[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%llu", (unsigned long long)ids[i]);
        bool hit = false;
        goio_cache_get(c, NULL, key, &out, &hit);
        if (hit)
            hits++;
        else
            goio_cache_set(c, NULL, key, value, vlens ? vlens[i] : 8, TTL_MS);
    }
    goio_buf_deinit(&out);
    return n ? (double)hits / (double)n : 0;
}

static goio_cache *bounded_cache(size_t max_entries, size_t max_bytes)
{
    goio_cache_memory_config cfg;
    goio_cache_memory_config_init(&cfg);
    cfg.max_entries = max_entries;
    cfg.max_bytes = max_bytes;
    cfg.reclaim_interval_ms = 0;
    goio_cache *c;
    int rc = goio_cache_memory_new(&cfg, &c);
    if (rc)
        die("memory_new", rc);
    return c;
}

static double gap_sum, worst_vs_lru = INFINITY, worst_vs_caffeine = INFINITY;
static int gap_cases;

/* Caffeine's hit ratio for every capacity of a trace, in one JVM run. */
static void caffeine_trace(const char *name, const size_t *caps, double *out)
{
    char args[1024];
    const char *d = getenv("GOIO_TRACES");
    int len = snprintf(args, sizeof args, "trace %s '%s/%s.gz' %s", name,
                       d && *d ? d : GOIO_DEFAULT_TRACES, name,
                       strcmp(name, "oltp") ? "lirs" : "arc");
    int ncaps = 0;
    for (const size_t *cap = caps; *cap; cap++, ncaps++) {
        out[ncaps] = NAN;
        len += snprintf(args + len, sizeof args - (size_t)len, " %zu", *cap);
    }
    caf_result res[16];
    int n = caffeine_run(args, res, 16);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < ncaps; j++) {
            char want[64];
            snprintf(want, sizeof want, "trace_%s_%zu", name, caps[j]);
            if (!strcmp(res[i].name, want))
                out[j] = res[i].v;
        }
}

static void trace_case(int argc, char **argv, const char *name,
                       const size_t *caps)
{
    char case_name[64];
    bool any = false;
    for (const size_t *cap = caps; *cap; cap++) {
        snprintf(case_name, sizeof case_name, "trace_%s_%zu", name, *cap);
        any |= bench_selected(argc, argv, case_name);
    }
    if (!any)
        return;
    size_t n;
    uint64_t *ids = trace_load(name, &n);
    if (!ids)
        return;
    double caffeine[16];
    caffeine_trace(name, caps, caffeine);
    for (const size_t *cap = caps; *cap; cap++) {
        snprintf(case_name, sizeof case_name, "trace_%s_%zu", name, *cap);
        if (!bench_selected(argc, argv, case_name))
            continue;
        goio_cache *c = bounded_cache(*cap, (size_t)1 << 30);
        double goio = replay(c, ids, n, NULL);
        goio_cache_free(c);
        double lru = sim_lru(ids, n, *cap, 0, NULL);
        double opt = sim_opt(ids, n, *cap);
        double gap = opt > lru ? (goio - lru) / (opt - lru) : 1.0;
        gap_sum += gap;
        gap_cases++;
        if (goio - lru < worst_vs_lru)
            worst_vs_lru = goio - lru;
        double caf = caffeine[cap - caps];
        if (!isnan(caf) && goio - caf < worst_vs_caffeine)
            worst_vs_caffeine = goio - caf;
        char extra[160];
        snprintf(extra, sizeof extra,
                 "caffeine=%.4f opt=%.4f gap_closed=%.3f vs_lru=%+.2f "
                 "vs_caffeine=%+.2f",
                 caf, opt, gap, 100 * (goio - lru), 100 * (goio - caf));
        if (lru > 0) {
            bench_line(case_name, goio, lru, "hit_ratio", true, extra);
        } else {
            printf("BENCH %s goio=%.6g anchor=%.6g unit=hit_ratio ratio=%s "
                   "%s\n",
                   case_name, goio, lru, goio > 0 ? "inf" : "1.000", extra);
            fflush(stdout);
        }
    }
    free(ids);
}

/* The charge goio and the byte-bounded LRU both count for a key. */
static uint32_t charge_of(uint64_t id, uint32_t vlen)
{
    char key[32];
    int klen = snprintf(key, sizeof key, "%llu", (unsigned long long)id);
    return (uint32_t)klen + vlen + GOIO_CACHE_ENTRY_OVERHEAD;
}

/* One synthetic case: ids with per-key value sizes (64..191 bytes) in a
 * byte budget that holds about 5% of the keys. */
static void synthetic_case(const char *name, const uint64_t *ids, size_t n,
                           size_t nkeys)
{
    uint32_t *vlens = malloc(n * sizeof *vlens);
    uint32_t *charges = malloc(n * sizeof *charges);
    for (size_t i = 0; i < n; i++) {
        uint64_t s = ids[i];
        vlens[i] = 64 + (uint32_t)(rng_next(&s) % 128);
        charges[i] = charge_of(ids[i], vlens[i]);
    }
    size_t budget = nkeys / 20 * (8 + 128 + GOIO_CACHE_ENTRY_OVERHEAD);
    goio_cache *c = bounded_cache(0, budget);
    double goio = replay(c, ids, n, vlens);
    goio_cache_free(c);
    double lru = sim_lru(ids, n, 0, budget, charges);
    char extra[96];
    snprintf(extra, sizeof extra, "points=%+.2f budget_bytes=%zu",
             100 * (goio - lru), budget);
    bench_line(name, goio, lru, "hit_ratio", true, extra);
    free(vlens);
    free(charges);
}

static void bench_zipf_hit_ratio(const char *name, double s, size_t nkeys,
                                 size_t n)
{
    zipf z = zipf_new(nkeys, s);
    uint64_t *ids = malloc(n * sizeof *ids);
    uint64_t rng = 99;
    for (size_t i = 0; i < n; i++)
        ids[i] = zipf_next(&z, &rng);
    synthetic_case(name, ids, n, nkeys);
    free(ids);
    free(z.cdf);
}

/* Zipf 0.9 with one-off scans: after every 200,000 Zipf accesses (0.2 x
 * the keys), a scan of 50,000 never-repeated keys (as many entries as the
 * byte budget holds), so a fifth of all accesses are scans. */
static void bench_scan_hit_ratio(size_t nkeys, size_t n)
{
    zipf z = zipf_new(nkeys, 0.9);
    uint64_t *ids = malloc(n * sizeof *ids);
    uint64_t rng = 1234, scan_id = nkeys;
    size_t scan_len = nkeys / 20, period = 5 * scan_len;
    for (size_t i = 0; i < n; i++)
        ids[i] =
            i % period < period - scan_len ? zipf_next(&z, &rng) : scan_id++;
    synthetic_case("hit_ratio_scan", ids, n, nkeys);
    free(ids);
    free(z.cdf);
}

/* ---- memory overhead ----------------------------------------------------- */

/* Bytes the C library's allocator really uses for the live blocks: the
 * usable size plus its 8-byte chunk header. */
static _Atomic long long heap_bytes;

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        heap_bytes += (long long)malloc_usable_size(p) + 8;
    return p;
}
static void *count_calloc(size_t c, size_t n)
{
    void *p = calloc(c, n);
    if (p)
        heap_bytes += (long long)malloc_usable_size(p) + 8;
    return p;
}
static void *count_realloc(void *old, size_t n)
{
    long long before = old ? (long long)malloc_usable_size(old) + 8 : 0;
    void *p = realloc(old, n);
    if (p)
        heap_bytes += (long long)malloc_usable_size(p) + 8 - before;
    return p;
}
static void count_free(void *p)
{
    if (p)
        heap_bytes -= (long long)malloc_usable_size(p) + 8;
    free(p);
}

/* In a child process, since the allocator must be set before any other
 * goio call: N entries of "key:<i>" and 16..64-byte values. */
static double goio_overhead(size_t n)
{
    int fds[2];
    if (pipe(fds))
        return NAN;
    pid_t pid = fork();
    if (pid == 0) {
        goio_allocator_set(count_malloc, count_calloc, count_realloc,
                           count_free);
        goio_cache_memory_config cfg;
        goio_cache_memory_config_init(&cfg);
        cfg.max_bytes = (size_t)4 << 30;
        cfg.reclaim_interval_ms = 0;
        goio_cache *c;
        if (goio_cache_memory_new(&cfg, &c))
            _exit(1);
        long long before = heap_bytes, payload = 0;
        char key[32], value[64];
        memset(value, 'v', sizeof value);
        uint64_t rng = 5;
        for (size_t i = 0; i < n; i++) {
            int klen = snprintf(key, sizeof key, "key:%zu", i);
            size_t vlen = 16 + rng_next(&rng) % 49;
            goio_cache_set(c, NULL, key, value, vlen, TTL_MS);
            payload += klen + (long long)vlen;
        }
        double per = (double)(heap_bytes - before - payload) / (double)n;
        ssize_t w = write(fds[1], &per, sizeof per);
        (void)w;
        _exit(0);
    }
    close(fds[1]);
    double per = NAN;
    if (read(fds[0], &per, sizeof per) != (ssize_t)sizeof per)
        per = NAN;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return per;
}

static void bench_overhead(size_t n)
{
    double goio = goio_overhead(n);
    double anchor = anchor_run("overhead_per_entry", n, 0, 1, NULL);
    char extra[64];
    snprintf(extra, sizeof extra, "charged=%d entries=%zu",
             GOIO_CACHE_ENTRY_OVERHEAD, n);
    if (isnan(anchor))
        printf("# overhead_per_entry goio=%.1f bytes/entry (no anchor)\n",
               goio);
    else
        bench_line("overhead_per_entry", goio, anchor, "bytes/entry", false,
                   extra);
}

int main(int argc, char **argv)
{
    size_t nkeys = env_size("GOIO_BENCH_CACHE_KEYS", 1000000);
    size_t ops = env_size("GOIO_BENCH_CACHE_OPS", 2000000);
    size_t hr_ops = env_size("GOIO_BENCH_CACHE_HR_OPS", 2000000);
    size_t reps = env_size("GOIO_BENCH_CACHE_REPS", 3);
    if (bench_selected(argc, argv, "overhead_per_entry"))
        bench_overhead(nkeys / 5 ? nkeys / 5 : 1);
    if (bench_selected(argc, argv, "get_hit_1t"))
        bench_get_hit_1t("get_hit_1t", nkeys, ops, reps);
    if (bench_selected(argc, argv, "get_hit_1t_10k"))
        bench_get_hit_1t("get_hit_1t_10k", 10000, ops, reps);
    if (bench_selected(argc, argv, "zipf_mixed_2t"))
        bench_zipf_mixed_2t(nkeys, ops, reps);
    static const size_t oltp[] = {250, 500, 1000, 2000, 0};
    static const size_t gli[] = {250, 500, 1000, 1500, 2000, 0};
    static const size_t loop[] = {250, 500, 750, 1000, 0};
    static const size_t scarab[] = {12500, 25000, 50000, 100000, 0};
    trace_case(argc, argv, "oltp", oltp);
    trace_case(argc, argv, "gli", gli);
    trace_case(argc, argv, "loop", loop);
    trace_case(argc, argv, "scarab", scarab);
    if (gap_cases)
        printf("# traces: %d cases, mean gap_closed=%.3f, worst vs LRU %+.2f "
               "points, worst vs Caffeine %+.2f points\n",
               gap_cases, gap_sum / gap_cases, 100 * worst_vs_lru,
               100 * worst_vs_caffeine);
    if (bench_selected(argc, argv, "hit_ratio_zipf09"))
        bench_zipf_hit_ratio("hit_ratio_zipf09", 0.9, nkeys, hr_ops);
    if (bench_selected(argc, argv, "hit_ratio_zipf11"))
        bench_zipf_hit_ratio("hit_ratio_zipf11", 1.1, nkeys, hr_ops);
    if (bench_selected(argc, argv, "hit_ratio_scan"))
        bench_scan_hit_ratio(nkeys, hr_ops);
    return 0;
}
