/* SPDX-License-Identifier: MIT */
/*
 * Registry, metrics and vectors: values, handles, and every validation
 * error path of the data model.
 */
#include "prom_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int setup(void **state)
{
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    *state = reg;
    return 0;
}

static int teardown(void **state)
{
    goio_prom_registry_free(*state);
    return 0;
}

static void plain_metrics_count_gauge_and_observe(void **state)
{
    goio_prom_registry *reg = *state;
    goio_prom_metric_config o = prom_opts("jobs_total", "Jobs.");
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(reg, &o, &c));
    assert_ok(goio_prom_counter_inc(c));
    assert_ok(goio_prom_counter_add(c, 2));
    assert_ok(goio_prom_counter_add(c, 0.5));
    double v;
    assert_ok(goio_prom_counter_value(c, &v));
    assert_true(v == 3.5);

    o = prom_opts("temperature", "T.");
    goio_prom_gauge *g;
    assert_ok(goio_prom_gauge_register(reg, &o, &g));
    assert_ok(goio_prom_gauge_set(g, 10));
    assert_ok(goio_prom_gauge_inc(g));
    assert_ok(goio_prom_gauge_dec(g));
    assert_ok(goio_prom_gauge_dec(g));
    assert_ok(goio_prom_gauge_add(g, 0.25));
    assert_ok(goio_prom_gauge_sub(g, 20));
    assert_ok(goio_prom_gauge_value(g, &v));
    assert_true(v == -10.75);
    assert_ok(goio_prom_gauge_set_to_current_time(g));
    assert_ok(goio_prom_gauge_value(g, &v));
    assert_true(fabs(v - (double)goio_now_wall_ms() / 1e3) < 5);

    double bounds[] = {1, 2, 5};
    o = prom_opts("latency_seconds", "L.");
    o.buckets = bounds;
    o.bucket_count = 3;
    goio_prom_histogram *h;
    assert_ok(goio_prom_histogram_register(reg, &o, &h));
    double obs[] = {0.5, 1, 1.5, 2, 4.9, 5, 6, -3};
    for (size_t i = 0; i < sizeof obs / sizeof *obs; i++)
        assert_ok(goio_prom_histogram_observe(h, obs[i]));
    uint64_t count;
    double sum;
    assert_ok(goio_prom_histogram_value(h, &count, &sum));
    assert_int_equal(count, 8);
    assert_true(fabs(sum - 17.9) < 1e-9);
    size_t nb;
    assert_ok(goio_prom_histogram_bucket_count(h, &nb));
    assert_int_equal(nb, 4);
    /* le is inclusive: 1 lands in le="1", 5 in le="5". */
    uint64_t want[] = {3, 5, 7, 8};
    for (size_t i = 0; i < 4; i++) {
        double ub;
        uint64_t cum;
        assert_ok(goio_prom_histogram_bucket(h, i, &ub, &cum));
        assert_int_equal(cum, want[i]);
        assert_true(i < 3 ? ub == bounds[i] : isinf(ub));
    }
    assert_goio(GOIO_ERANGE, goio_prom_histogram_bucket(h, 4, NULL, NULL));
}

static void counters_reject_negative_and_nan(void **state)
{
    goio_prom_metric_config o = prom_opts("c_total", "C.");
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(*state, &o, &c));
    assert_ok(goio_prom_counter_add(c, 1));
    assert_goio(GOIO_EINVAL, goio_prom_counter_add(c, -1));
    assert_goio(GOIO_EINVAL, goio_prom_counter_add(c, -0.001));
    assert_goio(GOIO_EINVAL, goio_prom_counter_add(c, NAN));
    assert_ok(goio_prom_counter_add(c, 0));
    double v;
    assert_ok(goio_prom_counter_value(c, &v));
    assert_true(v == 1);

    o = prom_opts("h", "H.");
    goio_prom_histogram *h;
    assert_ok(goio_prom_histogram_register(*state, &o, &h));
    assert_goio(GOIO_EINVAL, goio_prom_histogram_observe(h, NAN));
    uint64_t n;
    assert_ok(goio_prom_histogram_value(h, &n, NULL));
    assert_int_equal(n, 0);
}

static void full_names_join_namespace_and_subsystem(void **state)
{
    goio_prom_metric_config o = prom_opts("requests_total", "R.");
    o.ns = "app";
    o.subsystem = "http";
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(*state, &o, &c));
    o.subsystem = "";
    assert_ok(goio_prom_counter_register(*state, &o, &c));
    /* app_requests_total now exists; the same again is a duplicate. */
    assert_goio(GOIO_EEXIST, goio_prom_counter_register(*state, &o, &c));
    assert_ok(goio_prom_registry_unregister(*state, "app_http_requests_total"));
    assert_ok(goio_prom_registry_unregister(*state, "app_requests_total"));
    /* The joined name is what gets validated. */
    o.ns = "9app";
    assert_goio(GOIO_EINVAL, goio_prom_counter_register(*state, &o, &c));
}

static void metric_names_follow_the_data_model(void **state)
{
    const char *bad[] = {"",    "9lives",      "a-b",  "a b",
                         "a.b", "caf\xc3\xa9", "a{b}", "a\"b"};
    const char *good[] = {"a", "_a", ":a", "a:b_c9", "A_Z", "__reserved_ok"};
    goio_prom_gauge *g;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        goio_prom_metric_config o = prom_opts(bad[i], "x");
        assert_goio(GOIO_EINVAL, goio_prom_gauge_register(*state, &o, &g));
    }
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        goio_prom_metric_config o = prom_opts(good[i], "x");
        assert_ok(goio_prom_gauge_register(*state, &o, &g));
    }
    goio_prom_metric_config o = prom_opts(NULL, "x");
    assert_goio(GOIO_EINVAL, goio_prom_gauge_register(*state, &o, &g));
}

static int vec_with_labels(goio_prom_registry *reg, goio_prom_type type,
                           const char *name, const char *const *labels,
                           size_t n)
{
    goio_prom_metric_config o = prom_opts(name, "x");
    o.label_names = labels;
    o.label_count = n;
    goio_prom_vec *v;
    return goio_prom_vec_register(reg, type, &o, &v);
}

static void label_names_follow_the_data_model(void **state)
{
    goio_prom_registry *reg = *state;
    const char *bad[][2] = {
        {"ok", "__reserved"}, {"ok", "a:b"},  {"ok", "9a"},  {"ok", "a-b"},
        {"ok", ""},           {"dup", "dup"}, {"ok", "a b"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_goio(GOIO_EINVAL,
                    vec_with_labels(reg, GOIO_PROM_COUNTER, "m", bad[i], 2));
    const char *null_name[] = {"ok", NULL};
    assert_goio(GOIO_EINVAL,
                vec_with_labels(reg, GOIO_PROM_COUNTER, "m", null_name, 2));
    assert_goio(GOIO_EINVAL,
                vec_with_labels(reg, GOIO_PROM_COUNTER, "m", NULL, 2));
    /* "le" is reserved on histograms only. */
    const char *le[] = {"le"};
    assert_goio(GOIO_EINVAL,
                vec_with_labels(reg, GOIO_PROM_HISTOGRAM, "h", le, 1));
    assert_ok(vec_with_labels(reg, GOIO_PROM_COUNTER, "c_le", le, 1));
    /* Too many labels. */
    const char *many[GOIO_PROM_MAX_LABELS + 1];
    char names[GOIO_PROM_MAX_LABELS + 1][16];
    for (int i = 0; i <= GOIO_PROM_MAX_LABELS; i++) {
        snprintf(names[i], sizeof names[i], "l%d", i);
        many[i] = names[i];
    }
    assert_goio(GOIO_E2BIG, vec_with_labels(reg, GOIO_PROM_GAUGE, "many", many,
                                            GOIO_PROM_MAX_LABELS + 1));
    assert_ok(vec_with_labels(reg, GOIO_PROM_GAUGE, "many", many,
                              GOIO_PROM_MAX_LABELS));
}

static void const_labels_are_validated(void **state)
{
    goio_prom_registry *reg = *state;
    const char *vars[] = {"a"};
    goio_prom_label consts[] = {{"a", "x"}};
    goio_prom_metric_config o = prom_opts("m", "x");
    o.label_names = vars;
    o.label_count = 1;
    o.const_labels = consts;
    o.const_label_count = 1;
    goio_prom_vec *v;
    /* the same name as a variable label */
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    goio_prom_label bad_value[] = {{"b", "\xff"}};
    o.const_labels = bad_value;
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    goio_prom_label null_value[] = {{"b", NULL}};
    o.const_labels = null_value;
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    goio_prom_label le[] = {{"le", "1"}};
    o.const_labels = le;
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_HISTOGRAM, &o, &v));
    goio_prom_label reserved[] = {{"__b", "1"}};
    o.const_labels = reserved;
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    o.const_labels = NULL;
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    /* Counts whose sum wraps around are too many, not a few. */
    goio_prom_label good[] = {{"b", "ok"}};
    o.const_labels = good;
    o.const_label_count = SIZE_MAX;
    assert_goio(GOIO_E2BIG,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    o.label_count = SIZE_MAX;
    o.const_label_count = 1;
    assert_goio(GOIO_E2BIG,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    o.label_count = 1;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    goio_prom_label with[] = {{"a", "1"}};
    goio_prom_gauge *g;
    assert_ok(goio_prom_vec_gauge_with(v, with, 1, &g));
}

static void options_that_do_not_fit_the_type_are_rejected(void **state)
{
    goio_prom_registry *reg = *state;
    const char *labels[] = {"a"};
    double b[] = {1, 2};
    goio_prom_metric_config o = prom_opts("m", "x");
    goio_prom_counter *c;
    goio_prom_vec *v;
    o.label_names = labels;
    o.label_count = 1;
    assert_goio(GOIO_EINVAL, goio_prom_counter_register(reg, &o, &c));
    o = prom_opts("m", "x");
    o.buckets = b;
    o.bucket_count = 2;
    assert_goio(GOIO_EINVAL, goio_prom_counter_register(reg, &o, &c));
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    o = prom_opts("m", "x");
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_UNTYPED, &o, &v));
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, (goio_prom_type)9, &o, &v));
    o.help = "bad \xc3\x28 utf-8";
    assert_goio(GOIO_EINVAL, goio_prom_counter_register(reg, &o, &c));
    assert_goio(GOIO_EINVAL, goio_prom_counter_register(reg, NULL, &c));
    o.help = "fine";
    assert_goio(GOIO_EINVAL, goio_prom_counter_register(reg, &o, NULL));
    assert_goio(GOIO_EINVAL,
                goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, NULL));
    goio_prom_metric_config_init(NULL); /* a no-op */
    /* Nothing half-registered by the failures above. */
    goio_buf out = GOIO_BUF_INIT;
    assert_ok(goio_prom_registry_write(reg, NULL, GOIO_PROM_TEXT, &out));
    assert_int_equal(out.len, 0);
    goio_buf_deinit(&out);
}

static void histogram_buckets_are_validated(void **state)
{
    goio_prom_registry *reg = *state;
    goio_prom_histogram *h;
    struct {
        double b[4];
        size_t n;
        int rc;
        size_t buckets; /* with +Inf, when valid */
    } cases[] = {
        {{1, 1}, 2, GOIO_EINVAL, 0},   {{2, 1}, 2, GOIO_EINVAL, 0},
        {{1, NAN}, 2, GOIO_EINVAL, 0}, {{1, INFINITY, 3}, 3, GOIO_EINVAL, 0},
        {{1, 2, INFINITY}, 3, 0, 3}, /* a trailing +Inf is implied anyway */
        {{INFINITY}, 1, 0, 1},       /* only the +Inf bucket */
        {{-INFINITY, -1, 0}, 3, 0, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[16];
        snprintf(name, sizeof name, "h%zu", i);
        goio_prom_metric_config o = prom_opts(name, "x");
        o.buckets = cases[i].b;
        o.bucket_count = cases[i].n;
        assert_goio(cases[i].rc, goio_prom_histogram_register(reg, &o, &h));
        if (!cases[i].rc) {
            size_t nb;
            assert_ok(goio_prom_histogram_bucket_count(h, &nb));
            assert_int_equal(nb, cases[i].buckets);
        }
    }
    goio_prom_metric_config o = prom_opts("hnull", "x");
    o.bucket_count = 2; /* count without the array */
    assert_goio(GOIO_EINVAL, goio_prom_histogram_register(reg, &o, &h));
    o.bucket_count = 0; /* defaults */
    assert_ok(goio_prom_histogram_register(reg, &o, &h));
    size_t nb;
    assert_ok(goio_prom_histogram_bucket_count(h, &nb));
    assert_int_equal(nb, GOIO_PROM_DEFAULT_BUCKET_COUNT + 1);
    double ub;
    assert_ok(goio_prom_histogram_bucket(h, 0, &ub, NULL));
    assert_true(ub == 0.005);
    assert_ok(goio_prom_histogram_bucket(h, 10, &ub, NULL));
    assert_true(ub == 10);
}

static void bucket_helpers(void **state)
{
    (void)state;
    double b[5];
    assert_ok(goio_prom_buckets_linear(1, 0.5, 4, b));
    assert_true(b[0] == 1 && b[1] == 1.5 && b[2] == 2 && b[3] == 2.5);
    assert_ok(goio_prom_buckets_exponential(0.1, 10, 3, b));
    assert_true(fabs(b[0] - 0.1) < 1e-12 && fabs(b[1] - 1) < 1e-12 &&
                fabs(b[2] - 10) < 1e-12);
    assert_ok(goio_prom_buckets_exponential_range(1, 16, 5, b));
    for (int i = 0; i < 5; i++)
        assert_true(fabs(b[i] - (double)(1 << (2 * i)) / (1 << i)) < 1e-9);
    assert_true(b[4] == 16);
    const double *d = goio_prom_buckets_default();
    assert_true(d[0] == .005 && d[GOIO_PROM_DEFAULT_BUCKET_COUNT - 1] == 10);

    assert_goio(GOIO_EINVAL, goio_prom_buckets_linear(1, 0, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_linear(1, -1, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_linear(1, 1, 0, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_linear(NAN, 1, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_linear(1, 1, 3, NULL));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_exponential(0, 2, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_exponential(1, 1, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_exponential(1, 2, 0, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_exponential(INFINITY, 2, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_exponential_range(0, 2, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_exponential_range(2, 2, 3, b));
    assert_goio(GOIO_EINVAL, goio_prom_buckets_exponential_range(1, 2, 1, b));
    assert_goio(GOIO_EINVAL,
                goio_prom_buckets_exponential_range(1, INFINITY, 3, b));
}

static void duplicate_registration_is_an_error(void **state)
{
    goio_prom_registry *reg = *state, *other;
    goio_prom_metric_config o = prom_opts("dup_total", "D.");
    goio_prom_counter *c;
    goio_prom_gauge *g;
    goio_prom_vec *v;
    assert_ok(goio_prom_counter_register(reg, &o, &c));
    assert_goio(GOIO_EEXIST, goio_prom_counter_register(reg, &o, &c));
    assert_goio(GOIO_EEXIST, goio_prom_gauge_register(reg, &o, &g));
    const char *labels[] = {"a"};
    o.label_names = labels;
    o.label_count = 1;
    assert_goio(GOIO_EEXIST,
                goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &v));
    /* Other registries are independent. */
    assert_ok(goio_prom_registry_new(&other));
    assert_ok(goio_prom_vec_register(other, GOIO_PROM_COUNTER, &o, &v));
    goio_prom_registry_free(other);
    /* Unregister frees the name. */
    assert_goio(GOIO_ENOENT, goio_prom_registry_unregister(reg, "nope"));
    assert_goio(GOIO_EINVAL, goio_prom_registry_unregister(reg, NULL));
    assert_ok(goio_prom_registry_unregister(reg, "dup_total"));
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &v));
}

static goio_prom_vec *make_vec(goio_prom_registry *reg, goio_prom_type t,
                               const char *name)
{
    static const char *labels[] = {"method", "path", "code"};
    goio_prom_metric_config o = prom_opts(name, "x");
    o.label_names = labels;
    o.label_count = 3;
    goio_prom_vec *v;
    assert_ok(goio_prom_vec_register(reg, t, &o, &v));
    return v;
}

static void children_are_stable_handles(void **state)
{
    goio_prom_vec *v = make_vec(*state, GOIO_PROM_COUNTER, "req_total");
    const char *a[] = {"GET", "/x", "200"}, *b[] = {"GET", "/x", "500"};
    char buf[3][8] = {"GET", "/x", "200"}; /* equal values, other memory */
    const char *a2[] = {buf[0], buf[1], buf[2]};
    goio_prom_counter *ca, *cb, *ca2;
    assert_ok(goio_prom_vec_counter(v, a, 3, &ca));
    assert_ok(goio_prom_vec_counter(v, b, 3, &cb));
    assert_ok(goio_prom_vec_counter(v, a2, 3, &ca2));
    assert_ptr_equal(ca, ca2);
    assert_ptr_not_equal(ca, cb);
    goio_prom_label la[] = {{"code", "200"}, {"method", "GET"}, {"path", "/x"}};
    assert_ok(goio_prom_vec_counter_with(v, la, 3, &ca2));
    assert_ptr_equal(ca, ca2);
    /* ("ab","c") and ("a","bc") are different children. */
    const char *x[] = {"ab", "c", ""}, *y[] = {"a", "bc", ""};
    goio_prom_counter *cx, *cy;
    assert_ok(goio_prom_vec_counter(v, x, 3, &cx));
    assert_ok(goio_prom_vec_counter(v, y, 3, &cy));
    assert_ptr_not_equal(cx, cy);
    size_t n;
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, 4);
}

/* Histogram children by name/value pairs: any order finds the child the
 * values give, a new pair set makes one, and bad sets are refused. */
static void histogram_children_by_label_pairs(void **state)
{
    goio_prom_vec *v = make_vec(*state, GOIO_PROM_HISTOGRAM, "lat_seconds");
    const char *vals[] = {"GET", "/x", "200"};
    goio_prom_histogram *h, *h2, *h3;
    assert_ok(goio_prom_vec_histogram(v, vals, 3, &h));
    goio_prom_label la[] = {{"path", "/x"}, {"code", "200"}, {"method", "GET"}};
    assert_ok(goio_prom_vec_histogram_with(v, la, 3, &h2));
    assert_ptr_equal(h, h2);
    assert_ok(goio_prom_histogram_observe(h2, 0.3));
    uint64_t count;
    double sum;
    assert_ok(goio_prom_histogram_value(h, &count, &sum));
    assert_int_equal(count, 1);
    assert_true(sum == 0.3);

    /* A new set by pairs, then found by values. */
    goio_prom_label lb[] = {{"code", "500"}, {"method", "PUT"}, {"path", "/"}};
    assert_ok(goio_prom_vec_histogram_with(v, lb, 3, &h3));
    assert_ptr_not_equal(h3, h);
    const char *vb[] = {"PUT", "/", "500"};
    assert_ok(goio_prom_vec_histogram(v, vb, 3, &h2));
    assert_ptr_equal(h3, h2);
    size_t n;
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, 2);

    goio_prom_label unknown[] = {
        {"path", "/x"}, {"code", "200"}, {"verb", "GET"}};
    goio_prom_label repeated[] = {
        {"path", "/x"}, {"path", "/y"}, {"method", "GET"}};
    h2 = NULL;
    assert_goio(GOIO_EINVAL, goio_prom_vec_histogram_with(v, unknown, 3, &h2));
    assert_goio(GOIO_EINVAL, goio_prom_vec_histogram_with(v, repeated, 3, &h2));
    assert_goio(GOIO_EINVAL, goio_prom_vec_histogram_with(v, la, 2, &h2));
    assert_goio(GOIO_EINVAL, goio_prom_vec_histogram_with(v, la, 3, NULL));
    assert_goio(GOIO_EINVAL, goio_prom_vec_histogram_with(v, NULL, 3, &h2));
    assert_goio(GOIO_EINVAL, goio_prom_vec_histogram_with(NULL, la, 3, &h2));
    assert_null(h2);
    goio_prom_vec *c = make_vec(*state, GOIO_PROM_COUNTER, "other_total");
    assert_goio(GOIO_ETYPE, goio_prom_vec_histogram_with(c, la, 3, &h2));
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, 2);
}

/* Values of every length up to 40, and long values that differ only
 * before their last 16 bytes, are distinct children; equal ones are the
 * same child. */
static void values_of_every_length_are_told_apart(void **state)
{
    goio_prom_vec *v = make_vec(*state, GOIO_PROM_COUNTER, "len_total");
    static goio_prom_counter *seen[41][3];
    for (int round = 0; round < 2; round++) {
        for (int len = 0; len <= 40; len++) {
            for (int variant = 0; variant < 3; variant++) {
                char val[48];
                memset(val, 'a', (size_t)len);
                val[len] = '\0';
                if (len && variant == 1)
                    val[0] = 'b'; /* first byte */
                if (len && variant == 2)
                    val[len / 2] = 'c'; /* middle byte */
                const char *vals[] = {"GET", val, "200"};
                goio_prom_counter *c;
                assert_ok(goio_prom_vec_counter(v, vals, 3, &c));
                if (round == 0) {
                    seen[len][variant] = c;
                    assert_ok(goio_prom_counter_add(c, len * 3 + variant));
                } else {
                    assert_ptr_equal(c, seen[len][variant]);
                }
            }
        }
    }
    size_t n;
    assert_ok(goio_prom_vec_len(v, &n));
    /* length 0 has one value only; length 1 has 'a', 'b' and 'c' */
    assert_int_equal(n, 1 + 40 * 3 - 0);
    for (int len = 1; len <= 40; len++)
        for (int variant = 0; variant < 3; variant++) {
            double val;
            assert_ok(goio_prom_counter_value(seen[len][variant], &val));
            assert_true(val == len * 3 + variant);
        }
}

static void lookups_validate_labels(void **state)
{
    goio_prom_vec *v = make_vec(*state, GOIO_PROM_GAUGE, "g");
    const char *ok[] = {"GET", "/", "200"};
    const char *null_value[] = {"GET", NULL, "200"};
    const char *bad_utf8[] = {"GET", "/\xc0\xaf", "200"};
    const char *surrogate[] = {"GET", "\xed\xa0\x80", "200"};
    goio_prom_gauge *g;
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(v, ok, 2, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(v, ok, 4, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(v, NULL, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(v, null_value, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(v, bad_utf8, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(v, surrogate, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(NULL, ok, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge(v, ok, 3, NULL));
    goio_prom_counter *c;
    goio_prom_histogram *h;
    assert_goio(GOIO_ETYPE, goio_prom_vec_counter(v, ok, 3, &c));
    assert_goio(GOIO_ETYPE, goio_prom_vec_histogram(v, ok, 3, &h));
    goio_prom_label unknown[] = {
        {"method", "GET"}, {"route", "/"}, {"code", "200"}};
    goio_prom_label repeated[] = {
        {"method", "GET"}, {"method", "PUT"}, {"code", "200"}};
    goio_prom_label nulls[] = {
        {"method", "GET"}, {"path", NULL}, {"code", "200"}};
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge_with(v, unknown, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge_with(v, repeated, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge_with(v, nulls, 3, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge_with(v, unknown, 2, &g));
    assert_goio(GOIO_EINVAL, goio_prom_vec_gauge_with(v, NULL, 3, &g));
    assert_goio(GOIO_ETYPE, goio_prom_vec_counter_with(v, unknown, 3, &c));
    size_t n;
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, 0); /* no failure created a child */
    /* UTF-8 is fine, and so are empty values. */
    const char *utf8[] = {"GET", "/caf\xc3\xa9/\xf0\x9f\x98\x80", ""};
    assert_ok(goio_prom_vec_gauge(v, utf8, 3, &g));
}

static void remove_and_reset_children(void **state)
{
    goio_prom_vec *v = make_vec(*state, GOIO_PROM_COUNTER, "rm_total");
    const char *a[] = {"GET", "/a", "200"}, *b[] = {"GET", "/b", "200"};
    goio_prom_counter *ca, *cb;
    assert_ok(goio_prom_vec_counter(v, a, 3, &ca));
    assert_ok(goio_prom_vec_counter(v, b, 3, &cb));
    assert_ok(goio_prom_counter_add(ca, 5));
    assert_ok(goio_prom_vec_remove(v, a, 3));
    assert_goio(GOIO_ENOENT, goio_prom_vec_remove(v, a, 3));
    assert_goio(GOIO_EINVAL, goio_prom_vec_remove(v, a, 2));
    assert_goio(GOIO_EINVAL, goio_prom_vec_remove(NULL, a, 3));
    size_t n;
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, 1);
    /* A new child for the removed values starts at zero. */
    assert_ok(goio_prom_vec_counter(v, a, 3, &ca));
    double val;
    assert_ok(goio_prom_counter_value(ca, &val));
    assert_true(val == 0);
    goio_prom_label lb[] = {{"path", "/b"}, {"method", "GET"}, {"code", "200"}};
    assert_ok(goio_prom_vec_remove_with(v, lb, 3));
    assert_goio(GOIO_ENOENT, goio_prom_vec_remove_with(v, lb, 3));
    assert_goio(GOIO_EINVAL, goio_prom_vec_remove_with(v, lb, 1));
    assert_goio(GOIO_EINVAL, goio_prom_vec_remove_with(NULL, lb, 3));
    assert_ok(goio_prom_vec_reset(v));
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, 0);
    assert_goio(GOIO_EINVAL, goio_prom_vec_reset(NULL));
    assert_goio(GOIO_EINVAL, goio_prom_vec_len(v, NULL));
    assert_ok(goio_prom_vec_counter(v, b, 3, &cb));
    assert_ok(goio_prom_counter_value(cb, &val));
    assert_true(val == 0);
}

static void many_children_survive_table_growth(void **state)
{
    goio_prom_vec *v = make_vec(*state, GOIO_PROM_COUNTER, "grow_total");
    enum { N = 5000 };
    static goio_prom_counter *handles[N];
    char path[32];
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/item/%d", i);
        const char *vals[] = {"GET", path, "200"};
        assert_ok(goio_prom_vec_counter(v, vals, 3, &handles[i]));
        assert_ok(goio_prom_counter_add(handles[i], i));
    }
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/item/%d", i);
        const char *vals[] = {"GET", path, "200"};
        goio_prom_counter *c;
        assert_ok(goio_prom_vec_counter(v, vals, 3, &c));
        assert_ptr_equal(c, handles[i]);
        double val;
        assert_ok(goio_prom_counter_value(c, &val));
        assert_true(val == i);
    }
    size_t n;
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, N);
    for (int i = 0; i < N; i += 2) {
        snprintf(path, sizeof path, "/item/%d", i);
        const char *vals[] = {"GET", path, "200"};
        assert_ok(goio_prom_vec_remove(v, vals, 3));
    }
    assert_ok(goio_prom_vec_len(v, &n));
    assert_int_equal(n, N / 2);
}

static void null_handles_are_rejected(void **state)
{
    (void)state;
    double v;
    uint64_t n;
    size_t s;
    assert_goio(GOIO_EINVAL, goio_prom_counter_inc(NULL));
    assert_goio(GOIO_EINVAL, goio_prom_counter_add(NULL, 1));
    assert_goio(GOIO_EINVAL, goio_prom_counter_value(NULL, &v));
    assert_goio(GOIO_EINVAL, goio_prom_gauge_set(NULL, 1));
    assert_goio(GOIO_EINVAL, goio_prom_gauge_inc(NULL));
    assert_goio(GOIO_EINVAL, goio_prom_gauge_dec(NULL));
    assert_goio(GOIO_EINVAL, goio_prom_gauge_add(NULL, 1));
    assert_goio(GOIO_EINVAL, goio_prom_gauge_sub(NULL, 1));
    assert_goio(GOIO_EINVAL, goio_prom_gauge_set_to_current_time(NULL));
    assert_goio(GOIO_EINVAL, goio_prom_gauge_value(NULL, &v));
    assert_goio(GOIO_EINVAL, goio_prom_histogram_observe(NULL, 1));
    assert_goio(GOIO_EINVAL, goio_prom_histogram_value(NULL, &n, &v));
    assert_goio(GOIO_EINVAL, goio_prom_histogram_bucket_count(NULL, &s));
    assert_goio(GOIO_EINVAL, goio_prom_histogram_bucket(NULL, 0, &v, &n));
    assert_goio(GOIO_EINVAL, goio_prom_registry_new(NULL));
    goio_prom_registry_free(NULL);
    goio_prom_metric_config o = prom_opts("x", "x");
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(*state, &o, &c));
    assert_goio(GOIO_EINVAL, goio_prom_counter_value(c, NULL));
}

/* ---- allocation failures ------------------------------------------------- */

typedef struct torture {
    goio_prom_registry *reg;
    goio_prom_vec *vec;
    goio_buf out;
} torture;

static int create_registry_and_vec(void *arg)
{
    torture *t = arg;
    static const char *labels[] = {"a", "b"};
    static const goio_prom_label consts[] = {{"svc", "x\"y"}};
    int rc = goio_prom_registry_new(&t->reg);
    if (rc)
        return rc;
    goio_prom_metric_config o = prom_opts("tortured", "Help \\ text");
    o.label_names = labels;
    o.label_count = 2;
    o.const_labels = consts;
    o.const_label_count = 1;
    if ((rc = goio_prom_vec_register(t->reg, GOIO_PROM_HISTOGRAM, &o, &t->vec)))
        return rc;
    goio_prom_histogram *h;
    for (int i = 0; i < 20 && !rc; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", i);
        const char *vals[] = {"v\n", b};
        rc = goio_prom_vec_histogram(t->vec, vals, 2, &h);
    }
    return rc;
}

static void destroy_registry(void *arg)
{
    torture *t = arg;
    goio_prom_registry_free(t->reg);
    t->reg = NULL;
}

static void creation_survives_every_allocation_failure(void **state)
{
    (void)state;
    torture t = {0};
    int points =
        goio_test_alloc_torture(create_registry_and_vec, destroy_registry, &t);
    assert_true(points > 20);
}

static int render_once(void *arg)
{
    torture *t = arg;
    int rc = goio_prom_registry_render(
        t->reg, NULL, "application/openmetrics-text", "gzip", &t->out, NULL);
    /* A failure leaves out as it was; success must produce bytes. */
    if (rc)
        assert_int_equal(t->out.len, 0);
    else
        assert_true(t->out.len > 20);
    return rc;
}

static void free_out(void *arg)
{
    goio_buf_deinit(&((torture *)arg)->out);
}

static int collect_something(goio_prom_sink *s, void *data)
{
    (void)data;
    const char *names[] = {"k"};
    const char *vals[] = {"v"};
    int rc =
        goio_prom_sink_family(s, GOIO_PROM_GAUGE, "collected", "C.", names, 1);
    return rc ? rc : goio_prom_sink_value(s, vals, 1.5);
}

static void render_survives_every_allocation_failure(void **state)
{
    (void)state;
    torture t = {0};
    goio_test_alloc_install();
    assert_ok(create_registry_and_vec(&t));
    assert_ok(goio_prom_collector_register(t.reg, collect_something, NULL, NULL,
                                           NULL));
    assert_ok(goio_prom_process_collector_register(t.reg));
    /* Warm-up: the first scrape builds the families' sorted child arrays,
     * which stay (a cache, not a leak). */
    assert_ok(render_once(&t));
    free_out(&t);
    int points = goio_test_alloc_torture(render_once, free_out, &t);
    assert_true(points > 3);
    destroy_registry(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(plain_metrics_count_gauge_and_observe,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(counters_reject_negative_and_nan, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(full_names_join_namespace_and_subsystem,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(metric_names_follow_the_data_model,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(label_names_follow_the_data_model,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(const_labels_are_validated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            options_that_do_not_fit_the_type_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(histogram_buckets_are_validated, setup,
                                        teardown),
        cmocka_unit_test(bucket_helpers),
        cmocka_unit_test_setup_teardown(duplicate_registration_is_an_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(histogram_children_by_label_pairs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(children_are_stable_handles, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(values_of_every_length_are_told_apart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(lookups_validate_labels, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(remove_and_reset_children, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(many_children_survive_table_growth,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(null_handles_are_rejected, setup,
                                        teardown),
        cmocka_unit_test(creation_survives_every_allocation_failure),
        cmocka_unit_test(render_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
