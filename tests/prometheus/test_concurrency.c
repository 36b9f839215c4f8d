/* SPDX-License-Identifier: MIT */
/*
 * Many threads at once: updates on held handles sum exactly, concurrent
 * lookups agree on one child per label set, lookups race safely with
 * removal, reset and table growth, and scrapes race with all of it.
 * Run under tsan and asan too (the lock-free lookup path is the point).
 */
#include "prom_test.h"
/* Private on purpose: one test forces the reclamation's fallback. */
#include "../../src/prometheus/prom_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum { THREADS = 8, ITERS = 20000 };

static void run_threads(int n, void *(*fn)(void *), void *args, size_t size)
{
    pthread_t t[16];
    for (int i = 0; i < n; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, fn, (char *)args + (size_t)i * size),
            0);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* ---- held handles -------------------------------------------------------- */

typedef struct held {
    goio_prom_counter *c;
    goio_prom_gauge *g;
    goio_prom_histogram *h;
} held;

static void *hammer_held(void *arg)
{
    held *h = arg;
    static const double obs[] = {0.5, 1, 2, 8};
    for (int i = 0; i < ITERS; i++) {
        goio_prom_counter_inc(h->c);
        goio_prom_counter_add(h->c, 0.5); /* the compare-and-swap path */
        goio_prom_gauge_inc(h->g);
        goio_prom_gauge_add(h->g, 2);
        goio_prom_gauge_dec(h->g);
        goio_prom_histogram_observe(h->h, obs[i % 4]);
    }
    return NULL;
}

static void held_handle_updates_sum_exactly(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    held h;
    goio_prom_metric_config o = prom_opts("c_total", "Test.");
    assert_ok(goio_prom_counter_register(reg, &o, &h.c));
    o = prom_opts("g", "Test.");
    assert_ok(goio_prom_gauge_register(reg, &o, &h.g));
    double bounds[] = {0.5, 1, 2};
    o = prom_opts("h", "Test.");
    o.buckets = bounds;
    o.bucket_count = 3;
    assert_ok(goio_prom_histogram_register(reg, &o, &h.h));
    held args[THREADS];
    for (int i = 0; i < THREADS; i++)
        args[i] = h;
    run_threads(THREADS, hammer_held, args, sizeof *args);

    double v;
    assert_ok(goio_prom_counter_value(h.c, &v));
    assert_true(v == THREADS * ITERS * 1.5);
    assert_ok(goio_prom_gauge_value(h.g, &v));
    assert_true(v == THREADS * ITERS * 2.0);
    uint64_t count;
    double sum;
    assert_ok(goio_prom_histogram_value(h.h, &count, &sum));
    assert_int_equal(count, THREADS * ITERS);
    assert_true(sum == THREADS * (ITERS / 4) * 11.5);
    for (size_t i = 0; i < 4; i++) {
        uint64_t cum;
        assert_ok(goio_prom_histogram_bucket(h.h, i, NULL, &cum));
        assert_int_equal(cum, (uint64_t)THREADS * (ITERS / 4) * (i + 1));
    }
    goio_prom_registry_free(reg);
}

/* ---- concurrent lookups -------------------------------------------------- */

enum { SETS = 300, ROUNDS = 20 };

typedef struct looker {
    goio_prom_vec *vec;
    int seed;
    goio_prom_counter *seen[SETS];
} looker;

static void set_values(int k, char *path, size_t cap, const char **vals)
{
    snprintf(path, cap, "/p/%d", k);
    vals[0] = "svc";
    vals[1] = "1.0";
    vals[2] = k % 2 ? "GET" : "POST";
    vals[3] = path;
    vals[4] = "200";
}

static void *look_up_sets(void *arg)
{
    looker *l = arg;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < SETS; i++) {
            int k = (i * 7 + l->seed * 13 + r) % SETS; /* orders differ */
            char path[32];
            const char *vals[5];
            set_values(k, path, sizeof path, vals);
            goio_prom_counter *c;
            if (goio_prom_vec_counter(l->vec, vals, 5, &c))
                return (void *)1;
            if (l->seen[k] && l->seen[k] != c)
                return (void *)2;
            l->seen[k] = c;
            goio_prom_counter_inc(c);
        }
    }
    return NULL;
}

static goio_prom_vec *five_label_vec(goio_prom_registry *reg, const char *name)
{
    static const char *labels[] = {"serviceName", "version", "method", "path",
                                   "status"};
    goio_prom_metric_config o = prom_opts(name, "Test.");
    o.label_names = labels;
    o.label_count = 5;
    goio_prom_vec *v;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &v));
    return v;
}

static void concurrent_lookups_agree_on_one_child(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    static looker args[THREADS];
    memset(args, 0, sizeof args);
    goio_prom_vec *vec = five_label_vec(reg, "req_total");
    for (int i = 0; i < THREADS; i++) {
        args[i].vec = vec;
        args[i].seed = i;
    }
    run_threads(THREADS, look_up_sets, args, sizeof *args);
    size_t n;
    assert_ok(goio_prom_vec_len(vec, &n));
    assert_int_equal(n, SETS);
    for (int k = 0; k < SETS; k++) {
        for (int i = 1; i < THREADS; i++)
            assert_ptr_equal(args[i].seen[k], args[0].seen[k]);
        double v;
        assert_ok(goio_prom_counter_value(args[0].seen[k], &v));
        assert_true(v == THREADS * ROUNDS);
    }
    goio_prom_registry_free(reg);
}

/* ---- lookups racing with removal, reset, growth -------------------------- */

typedef struct churn {
    goio_prom_vec *stable; /* children never removed */
    goio_prom_vec *wild;   /* children removed and reset all the time */
    atomic_bool *stop;
    int id;
    long lookups;
} churn;

static void *stable_reader(void *arg)
{
    churn *c = arg;
    long i = 0;
    while (!atomic_load(c->stop) || i < 2000) {
        char path[32];
        const char *vals[5];
        set_values((int)(i % 50), path, sizeof path, vals);
        goio_prom_counter *ctr;
        if (goio_prom_vec_counter(c->stable, vals, 5, &ctr))
            return (void *)1;
        goio_prom_counter_inc(ctr);
        /* Lookups only (no handle use) in the vector being torn down. */
        set_values((int)(i % 64), path, sizeof path, vals);
        if (goio_prom_vec_counter(c->wild, vals, 5, &ctr))
            return (void *)2;
        i++;
    }
    c->lookups = i;
    return NULL;
}

static void *remover(void *arg)
{
    churn *c = arg;
    for (int i = 0; i < 400; i++) {
        char path[32];
        const char *vals[5];
        /* New children in the stable vector force its table to grow
         * while readers walk it; then they go away again. */
        for (int k = 0; k < 20; k++) {
            set_values(1000 + i * 20 + k, path, sizeof path, vals);
            goio_prom_counter *ctr;
            if (goio_prom_vec_counter(c->stable, vals, 5, &ctr))
                return (void *)1;
        }
        for (int k = 0; k < 20; k++) {
            set_values(1000 + i * 20 + k, path, sizeof path, vals);
            if (goio_prom_vec_remove(c->stable, vals, 5))
                return (void *)2;
        }
        set_values(i % 64, path, sizeof path, vals);
        int rc = goio_prom_vec_remove(c->wild, vals, 5);
        if (rc && rc != GOIO_ENOENT)
            return (void *)3;
        if (i % 16 == 0 && goio_prom_vec_reset(c->wild))
            return (void *)4;
    }
    atomic_store(c->stop, true);
    return NULL;
}

static void lookups_race_safely_with_removal(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    atomic_bool stop = false;
    goio_prom_vec *stable = five_label_vec(reg, "stable_total");
    goio_prom_vec *wild = five_label_vec(reg, "wild_total");
    churn args[4];
    for (int i = 0; i < 4; i++)
        args[i] = (churn){stable, wild, &stop, i, 0};
    pthread_t t[4];
    assert_int_equal(pthread_create(&t[0], NULL, remover, &args[0]), 0);
    for (int i = 1; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, stable_reader, &args[i]),
                         0);
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(t[i], &res);
        assert_null(res);
    }
    long total = args[1].lookups + args[2].lookups + args[3].lookups;
    double sum = 0;
    for (int k = 0; k < 50; k++) {
        char path[32];
        const char *vals[5];
        set_values(k, path, sizeof path, vals);
        goio_prom_counter *c;
        assert_ok(goio_prom_vec_counter(args[0].stable, vals, 5, &c));
        double v;
        assert_ok(goio_prom_counter_value(c, &v));
        sum += v;
    }
    assert_true(sum == (double)total);
    size_t n;
    assert_ok(goio_prom_vec_len(args[0].stable, &n));
    assert_int_equal(n, 50);
    goio_prom_registry_free(reg);
}

/*
 * The same without membarrier(2): readers count in with locked adds, as
 * on kernels or sandboxes without it. This machine has it, so the test
 * switches it off, between lookups, after the first lookup (which decides
 * whether it is used) has run.
 */
static void lookups_race_safely_without_membarrier(void **state)
{
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    goio_prom_metric_config o = prom_opts("first_total", "Test.");
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(reg, &o, &c)); /* a lookup */
    goio_prom_registry_free(reg);
    bool had = atomic_exchange(&goio__prom_use_membarrier, false);
    lookups_race_safely_with_removal(state);
    atomic_store(&goio__prom_use_membarrier, had);
}

/* ---- more threads than reader records ------------------------------------ */

enum { CROWD = 300 }; /* more than the 256 per-thread records */

typedef struct crowd {
    goio_prom_vec *vec;
    pthread_barrier_t *all_in;
    atomic_bool *stop;
    long lookups;
} crowd;

static void *crowd_reader(void *arg)
{
    crowd *c = arg;
    const char *vals[5];
    char path[32];
    goio_prom_counter *ctr;
    set_values(0, path, sizeof path, vals);
    /* One lookup each before the barrier: every thread holds a record or
     * a shared slot while the others run. */
    if (goio_prom_vec_counter(c->vec, vals, 5, &ctr))
        return (void *)1;
    pthread_barrier_wait(c->all_in);
    for (long i = 0; i < 100 && !atomic_load(c->stop); i++, c->lookups++) {
        set_values((int)(i % 8), path, sizeof path, vals);
        if (goio_prom_vec_counter(c->vec, vals, 5, &ctr))
            return (void *)2;
    }
    return NULL;
}

static void more_threads_than_records_stay_safe(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    goio_prom_vec *vec = five_label_vec(reg, "crowd_total");
    pthread_barrier_t all_in;
    pthread_barrier_init(&all_in, NULL, CROWD + 1);
    atomic_bool stop = false;
    static crowd args[CROWD];
    static pthread_t t[CROWD];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < CROWD; i++) {
        args[i] = (crowd){vec, &all_in, &stop, 0};
        assert_int_equal(pthread_create(&t[i], &attr, crowd_reader, &args[i]),
                         0);
    }
    pthread_barrier_wait(&all_in);
    /* Remove and re-create the children the crowd is looking up. */
    for (int r = 0; r < 24; r++) {
        char path[32];
        const char *vals[5];
        set_values(r % 8, path, sizeof path, vals);
        int rc = goio_prom_vec_remove(vec, vals, 5);
        assert_true(rc == 0 || rc == GOIO_ENOENT);
        if (r % 8 == 0)
            assert_ok(goio_prom_vec_reset(vec));
    }
    atomic_store(&stop, true);
    for (int i = 0; i < CROWD; i++) {
        void *res;
        pthread_join(t[i], &res);
        assert_null(res);
    }
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&all_in);
    goio_prom_registry_free(reg);
}

/* ---- scrapes racing with updates ----------------------------------------- */

typedef struct scraper {
    goio_prom_registry *reg;
    goio_prom_vec *hist;
    atomic_bool *stop;
    int scrapes;
    const char *problem;
} scraper;

static void *observe_many(void *arg)
{
    scraper *s = arg;
    for (int i = 0; i < ITERS; i++) {
        char path[32];
        snprintf(path, sizeof path, "/p/%d", i % 40);
        const char *vals[] = {path};
        goio_prom_histogram *h;
        if (goio_prom_vec_histogram(s->hist, vals, 1, &h))
            return (void *)1;
        goio_prom_histogram_observe(h, (double)(i % 13) * 0.01);
    }
    return NULL;
}

static void *scrape_loop(void *arg)
{
    scraper *s = arg;
    while (!atomic_load(s->stop) || s->scrapes < 3) {
        goio_buf b = GOIO_BUF_INIT;
        goio_prom_encoding e;
        if (goio_prom_registry_render(s->reg, NULL,
                                      "application/openmetrics-text",
                                      s->scrapes % 2 ? "gzip" : NULL, &b, &e))
            return (void *)1;
        if (!e.gzip) {
            goio_buf_reserve(&b, 1);
            const char *p = prom_histograms_ok(goio_buf_cstr(&b));
            if (p && !s->problem)
                s->problem = p;
        }
        goio_buf_deinit(&b);
        s->scrapes++;
    }
    return NULL;
}

static void scrapes_race_with_updates(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    assert_ok(goio_prom_process_collector_register(reg));
    static const char *labels[] = {"path"};
    goio_prom_metric_config o = prom_opts("lat_seconds", "Test.");
    o.label_names = labels;
    o.label_count = 1;
    goio_prom_vec *hist;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_HISTOGRAM, &o, &hist));
    atomic_bool stop = false;
    scraper s = {reg, hist, &stop, 0, NULL};
    pthread_t scr, w[3];
    assert_int_equal(pthread_create(&scr, NULL, scrape_loop, &s), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&w[i], NULL, observe_many, &s), 0);
    for (int i = 0; i < 3; i++) {
        void *res;
        pthread_join(w[i], &res);
        assert_null(res);
    }
    atomic_store(&stop, true);
    void *res;
    pthread_join(scr, &res);
    assert_null(res);
    if (s.problem)
        fail_msg("a racing scrape had a malformed histogram: %s", s.problem);
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    double total = 0, v;
    for (int k = 0; k < 40; k++) {
        char series[64];
        snprintf(series, sizeof series, "lat_seconds_count{path=\"/p/%d\"}", k);
        assert_true(prom_sample(text, series, &v));
        total += v;
    }
    assert_true(total == 3.0 * ITERS);
    goio_free(text);
    goio_prom_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(held_handle_updates_sum_exactly),
        cmocka_unit_test(concurrent_lookups_agree_on_one_child),
        cmocka_unit_test(lookups_race_safely_with_removal),
        cmocka_unit_test(lookups_race_safely_without_membarrier),
        cmocka_unit_test(more_threads_than_records_stay_safe),
        cmocka_unit_test(scrapes_race_with_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
