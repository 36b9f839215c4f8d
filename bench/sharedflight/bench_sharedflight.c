/* SPDX-License-Identifier: MIT */
/*
 * bench_sharedflight: goio_sharedflight against Go's
 * golang.org/x/sync/singleflight, measured in the same run.
 *
 * Cases:
 *   uncontended  one thread, one key, a trivial fn: ns per Do, best of 5
 *                rounds on both sides; goio also reports, as an extra
 *                field, the cost with a caller ctx (which adds the shared
 *                ctx and a cancel watch; x/sync has no ctx at all)
 *   herd_1000    1000 threads parked on a gate, released at once, all
 *                calling Do on one key whose fn sleeps 1 ms: wall time
 *                from the release until the last caller returned (median
 *                over reps) and how many times fn ran. Extra fields:
 *                thread_floor_ms, the same release of the same threads
 *                without any Do (what the OS alone costs), and async_ms /
 *                async_executions, the herd as an event loop makes it: one
 *                thread issuing 1000 do_async calls, until the last
 *                callback
 *
 * The anchor is the program bench/anchors/go/src/goio_bench_sharedflight,
 * found through $GOIO_SF_ANCHOR (run.sh builds it and sets it).
 *
 * Knobs (environment): SF_BENCH_OPS (uncontended iterations, default
 * 2000000), SF_BENCH_ROUNDS (uncontended: best of, 5), SF_BENCH_HERD
 * (callers, 1000), SF_BENCH_FN_MS (1), SF_BENCH_REPS (herd repetitions,
 * 21).
 */
#include "bench.h"

#include <goio/sharedflight.h>

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

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

/* Runs the anchor with `args`; returns its stdout (caller frees). */
static char *run_anchor(const char *args)
{
    const char *anchor = getenv("GOIO_SF_ANCHOR");
    if (!anchor || !*anchor) {
        fprintf(stderr, "GOIO_SF_ANCHOR is not set: run bench/sharedflight/"
                        "run.sh (it builds the Go anchor)\n");
        exit(1);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s", anchor, args);
    FILE *p = popen(cmd, "r");
    if (!p) {
        perror("popen");
        exit(1);
    }
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while (out && (n = fread(out + len, 1, cap - len - 1, p)) > 0)
        len += n;
    if (pclose(p) != 0 || !out) {
        fprintf(stderr, "anchor failed: %s\n", cmd);
        exit(1);
    }
    out[len] = 0;
    return out;
}

/* ---- uncontended ---- */

static int trivial_fn(goio_ctx *ctx, void **value, void *arg)
{
    (void)ctx;
    *value = arg;
    return 0;
}

/* ns per Do: the best of `rounds` rounds, as the anchor does (the best
 * round is the one the scheduler disturbed least). */
static double goio_uncontended(long ops, long rounds, goio_ctx *ctx)
{
    goio_sharedflight *g;
    if (goio_sharedflight_new(NULL, &g))
        exit(1);
    static int one = 1;
    double best = 0;
    for (long r = -1; r < rounds; r++) { /* round -1 warms up */
        long n = r < 0 ? ops / 10 : ops / rounds;
        double start = bench_now_s();
        for (long i = 0; i < n; i++) {
            goio_sharedflight_result *res;
            if (goio_sharedflight_do(g, ctx, "key", trivial_fn, &one, NULL,
                                     &res, NULL))
                exit(1);
            goio_sharedflight_result_unref(res);
        }
        double ns = (bench_now_s() - start) * 1e9 / (double)n;
        if (r == 0 || (r > 0 && ns < best))
            best = ns;
    }
    goio_sharedflight_free(g);
    return best;
}

static void bench_uncontended(void)
{
    long ops = env_long("SF_BENCH_OPS", 2000000);
    long rounds = env_long("SF_BENCH_ROUNDS", 5);
    if (rounds < 1 || ops < rounds)
        exit(2);
    char args[64];
    snprintf(args, sizeof args, "uncontended %ld %ld", ops, rounds);
    char *out = run_anchor(args);
    double anchor = 0;
    if (sscanf(out, "ns_per_op=%lf", &anchor) != 1) {
        fprintf(stderr, "anchor said: %s\n", out);
        exit(1);
    }
    free(out);
    double goio = goio_uncontended(ops, rounds, NULL);
    goio_ctx *ctx;
    if (goio_ctx_new(NULL, &ctx))
        exit(1);
    double with_ctx = goio_uncontended(ops, rounds, ctx);
    goio_ctx_unref(ctx);
    char extra[128];
    snprintf(extra, sizeof extra, "with_ctx_ns=%.1f ops=%ld rounds=%ld",
             with_ctx, ops, rounds);
    bench_line("uncontended", goio, anchor, "ns/op", false, extra);
}

/* ---- herd ---- */

/* The herd's gate and finish line are futex words, so releasing 1000
 * threads is one wake-all and no mutex convoy distorts the timing. */
typedef struct herd {
    goio_sharedflight *g;
    int n;
    long fn_ms;
    atomic_uint gen;      /* bumped to release a round */
    atomic_int arrived;   /* callers that returned in this round */
    atomic_uint finished; /* bumped by the last one */
    atomic_int executions;
    atomic_bool stop;
    bool noop; /* measure the gate alone: callers skip Do */
} herd;

static void futex_wait(atomic_uint *w, unsigned seen)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void futex_wake_all(atomic_uint *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static int sleepy_fn(goio_ctx *ctx, void **value, void *arg)
{
    (void)ctx, (void)value;
    herd *h = arg;
    atomic_fetch_add(&h->executions, 1);
    struct timespec ts = {h->fn_ms / 1000, (h->fn_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    return 0;
}

static void *herd_caller(void *arg)
{
    herd *h = arg;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        while ((gen = atomic_load(&h->gen)) == seen)
            futex_wait(&h->gen, seen);
        seen = gen;
        if (atomic_load(&h->stop))
            return NULL;
        goio_sharedflight_result *r;
        if (!h->noop && goio_sharedflight_do(h->g, NULL, "herd", sleepy_fn, h,
                                             NULL, &r, NULL))
            exit(1);
        if (!h->noop)
            goio_sharedflight_result_unref(r);
        if (atomic_fetch_add(&h->arrived, 1) + 1 == h->n) {
            atomic_fetch_add(&h->finished, 1);
            futex_wake_all(&h->finished);
        }
    }
}

static void herd_cb(int status, goio_sharedflight_result *r, bool shared,
                    void *data)
{
    (void)shared;
    herd *h = data;
    if (status)
        exit(1);
    goio_sharedflight_result_unref(r);
    if (atomic_fetch_add(&h->arrived, 1) + 1 == h->n) {
        atomic_fetch_add(&h->finished, 1);
        futex_wake_all(&h->finished);
    }
}

/* The event-loop shape of a herd: one thread issues n async calls, the
 * group's callback thread reports them. Wall time until the last one. */
static double herd_async_round(herd *h, int *executions)
{
    atomic_store(&h->arrived, 0);
    atomic_store(&h->executions, 0);
    unsigned fin = atomic_load(&h->finished);
    double start = bench_now_s();
    for (int i = 0; i < h->n; i++)
        if (goio_sharedflight_do_async(h->g, NULL, "herd", sleepy_fn, h, NULL,
                                       herd_cb, h))
            exit(1);
    while (atomic_load(&h->finished) == fin)
        futex_wait(&h->finished, fin);
    double ms = (bench_now_s() - start) * 1e3;
    *executions = atomic_load(&h->executions);
    return ms;
}

/* One round: returns the wall time in ms; *executions how often fn ran. */
static double herd_round(herd *h, int *executions)
{
    atomic_store(&h->arrived, 0);
    atomic_store(&h->executions, 0);
    unsigned fin = atomic_load(&h->finished);
    double start = bench_now_s();
    atomic_fetch_add(&h->gen, 1);
    futex_wake_all(&h->gen);
    while (atomic_load(&h->finished) == fin)
        futex_wait(&h->finished, fin);
    double ms = (bench_now_s() - start) * 1e3;
    *executions = atomic_load(&h->executions);
    return ms;
}

static void bench_herd(void)
{
    int n = (int)env_long("SF_BENCH_HERD", 1000);
    long fn_ms = env_long("SF_BENCH_FN_MS", 1);
    int reps = (int)env_long("SF_BENCH_REPS", 21);
    if (n < 1 || reps < 1 || reps > 1000 || fn_ms < 0)
        exit(2);
    char args[96];
    snprintf(args, sizeof args, "herd %d %ld %d", n, fn_ms, reps);
    char *out = run_anchor(args);
    double a_ms[1000], a_ex[1000];
    const char *line = out;
    for (int i = 0; i < reps; i++) {
        int ex;
        if (!line ||
            sscanf(line, "wall_ms=%lf executions=%d", &a_ms[i], &ex) != 2) {
            fprintf(stderr, "anchor said: %s\n", out);
            exit(1);
        }
        a_ex[i] = ex;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    free(out);

    herd h = {.n = n, .fn_ms = fn_ms};
    if (goio_sharedflight_new(NULL, &h.g))
        exit(1);
    pthread_t *threads = malloc(sizeof *threads * (size_t)n);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (int i = 0; i < n; i++)
        if (!threads || pthread_create(&threads[i], &attr, herd_caller, &h))
            exit(1);
    pthread_attr_destroy(&attr);
    double g_ms[1000], g_ex[1000], floor_ms[1000], as_ms[1000], as_ex[1000];
    int ex;
    herd_round(&h, &ex); /* warm-up: every thread has run once */
    herd_async_round(&h, &ex);
    for (int i = 0; i < reps; i++) {
        g_ms[i] = herd_round(&h, &ex);
        g_ex[i] = ex;
        /* The floor: releasing and collecting the same threads, no Do. */
        h.noop = true;
        floor_ms[i] = herd_round(&h, &ex);
        h.noop = false;
        as_ms[i] = herd_async_round(&h, &ex);
        as_ex[i] = ex;
    }
    atomic_store(&h.stop, true);
    atomic_fetch_add(&h.gen, 1);
    futex_wake_all(&h.gen);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    goio_sharedflight_free(h.g);

    double g_ex_max = 0, a_ex_max = 0;
    for (int i = 0; i < reps; i++) {
        g_ex_max = g_ex[i] > g_ex_max ? g_ex[i] : g_ex_max;
        a_ex_max = a_ex[i] > a_ex_max ? a_ex[i] : a_ex_max;
    }
    char extra[384];
    snprintf(extra, sizeof extra,
             "executions=%g executions_max=%g anchor_executions=%g "
             "anchor_executions_max=%g thread_floor_ms=%.3f async_ms=%.3f "
             "async_executions=%g callers=%d fn_ms=%ld reps=%d",
             median(g_ex, reps), g_ex_max, median(a_ex, reps), a_ex_max,
             median(floor_ms, reps), median(as_ms, reps), median(as_ex, reps),
             n, fn_ms, reps);
    char name[32];
    snprintf(name, sizeof name, "herd_%d", n);
    bench_line(name, median(g_ms, reps), median(a_ms, reps), "ms", false,
               extra);
}

int main(int argc, char **argv)
{
    if (bench_selected(argc, argv, "uncontended"))
        bench_uncontended();
    if (bench_selected(argc, argv, "herd_1000"))
        bench_herd();
    return 0;
}
