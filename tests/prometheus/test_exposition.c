/* SPDX-License-Identifier: MIT */
/*
 * Exposition: exact text 0.0.4 and OpenMetrics output, promtool on every
 * metric type and awkward label values, histogram structure, ordering,
 * negotiation, gzip, and collectors.
 */
#include "prom_test.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void assert_text_equal(const char *got, const char *want)
{
    if (strcmp(got, want))
        fail_msg("exposition differs\n--- got ---\n%s--- want ---\n%s", got,
                 want);
}

#define AWKWARD "quote\"back\\slash\nnew line"
#define UTF8                                                                   \
    "\xc3\x9c"                                                                 \
    "ber \xe2\x9c\x93 \xf0\x9f\x98\x80"

/* The registry both golden tests render. */
static goio_prom_registry *golden_registry(void)
{
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    static const char *req_labels[] = {"path", "method"};
    static const goio_prom_label svc[] = {{"svc", "api"}};
    goio_prom_metric_config o = prom_opts(
        "app_requests_total", "Requests \"served\" \\ by path\nsecond");
    o.label_names = req_labels;
    o.label_count = 2;
    o.const_labels = svc;
    o.const_label_count = 1;
    goio_prom_vec *req;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &req));
    goio_prom_counter *c;
    const char *b_get[] = {"/b", "GET"}, *a_post[] = {"/a", "POST"};
    const char *odd[] = {AWKWARD, UTF8};
    assert_ok(goio_prom_vec_counter(req, odd, 2, &c));
    assert_ok(goio_prom_counter_inc(c));
    assert_ok(goio_prom_vec_counter(req, b_get, 2, &c));
    assert_ok(goio_prom_counter_add(c, 2));
    assert_ok(goio_prom_vec_counter(req, a_post, 2, &c));
    assert_ok(goio_prom_counter_add(c, 1.5));

    o = prom_opts("app_temperature_celsius", "Temperature.");
    goio_prom_gauge *g;
    assert_ok(goio_prom_gauge_register(reg, &o, &g));
    assert_ok(goio_prom_gauge_set(g, -3.25));

    static const char *op[] = {"op"};
    static const double bounds[] = {0.1, 1, 2.5};
    o = prom_opts("app_latency_seconds", "Latency.");
    o.label_names = op;
    o.label_count = 1;
    o.buckets = bounds;
    o.bucket_count = 3;
    goio_prom_vec *lat;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_HISTOGRAM, &o, &lat));
    goio_prom_histogram *h;
    const char *read[] = {"read"};
    assert_ok(goio_prom_vec_histogram(lat, read, 1, &h));
    assert_ok(goio_prom_histogram_observe(h, 0.5));
    assert_ok(goio_prom_histogram_observe(h, 0.1));
    assert_ok(goio_prom_histogram_observe(h, 3));

    o = prom_opts("app_empty_total", "Never used.");
    o.label_names = op;
    o.label_count = 1;
    goio_prom_vec *empty; /* no children: not exposed */
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &empty));
    return reg;
}

static void text_format_is_exact(void **state)
{
    (void)state;
    goio_prom_registry *reg = golden_registry();
    char *got = prom_render_text(reg, GOIO_PROM_TEXT);
    assert_text_equal(
        got,
        "# HELP app_latency_seconds Latency.\n"
        "# TYPE app_latency_seconds histogram\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"0.1\"} 1\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"2.5\"} 2\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"
        "app_latency_seconds_sum{op=\"read\"} 3.6\n"
        "app_latency_seconds_count{op=\"read\"} 3\n"
        "# HELP app_requests_total Requests \"served\" \\\\ by path\\nsecond\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total{method=\"GET\",path=\"/b\",svc=\"api\"} 2\n"
        "app_requests_total{method=\"POST\",path=\"/a\",svc=\"api\"} 1.5\n"
        "app_requests_total{method=\"" UTF8
        "\",path=\"quote\\\"back\\\\slash\\nnew line\",svc=\"api\"} 1\n"
        "# HELP app_temperature_celsius Temperature.\n"
        "# TYPE app_temperature_celsius gauge\n"
        "app_temperature_celsius -3.25\n");
    prom_assert_promtool_clean(got);
    assert_null(prom_histograms_ok(got));
    goio_free(got);
    goio_prom_registry_free(reg);
}

static void openmetrics_format_is_exact(void **state)
{
    (void)state;
    goio_prom_registry *reg = golden_registry();
    char *got = prom_render_text(reg, GOIO_PROM_OPENMETRICS);
    assert_text_equal(
        got,
        "# HELP app_latency_seconds Latency.\n"
        "# TYPE app_latency_seconds histogram\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"0.1\"} 1\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"1.0\"} 2\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"2.5\"} 2\n"
        "app_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"
        "app_latency_seconds_sum{op=\"read\"} 3.6\n"
        "app_latency_seconds_count{op=\"read\"} 3\n"
        "# HELP app_requests Requests \\\"served\\\" \\\\ by path\\nsecond\n"
        "# TYPE app_requests counter\n"
        "app_requests_total{method=\"GET\",path=\"/b\",svc=\"api\"} 2\n"
        "app_requests_total{method=\"POST\",path=\"/a\",svc=\"api\"} 1.5\n"
        "app_requests_total{method=\"" UTF8
        "\",path=\"quote\\\"back\\\\slash\\nnew line\",svc=\"api\"} 1\n"
        "# HELP app_temperature_celsius Temperature.\n"
        "# TYPE app_temperature_celsius gauge\n"
        "app_temperature_celsius -3.25\n"
        "# EOF\n");
    assert_null(prom_histograms_ok(got));
    goio_free(got);
    goio_prom_registry_free(reg);
}

static void numbers_render_exactly(void **state)
{
    (void)state;
    struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {-2.5, "-2.5"},
        {123456789012.0, "123456789012"},
        {9007199254740992.0, "9007199254740992"},
        {18014398509481984.0, "18014398509481984"},
        {1.5e17, "1.5e+17"},
        {1e21, "1e+21"},
        {1e-300, "1e-300"},
        {5e-324, "4.94065645841247e-324"}, /* reads back exactly */
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
    };
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    static const char *k[] = {"k"};
    goio_prom_metric_config o = prom_opts("num", "Numbers.");
    o.label_names = k;
    o.label_count = 1;
    goio_prom_vec *v;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &v));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char key[8], series[64];
        snprintf(key, sizeof key, "%02zu", i);
        const char *vals[] = {key};
        goio_prom_gauge *g;
        assert_ok(goio_prom_vec_gauge(v, vals, 1, &g));
        assert_ok(goio_prom_gauge_set(g, cases[i].v));
        char *text = prom_render_text(reg, GOIO_PROM_TEXT);
        snprintf(series, sizeof series, "num{k=\"%s\"} %s\n", key,
                 cases[i].want);
        if (!strstr(text, series))
            fail_msg("want %s in\n%s", series, text);
        goio_free(text);
    }
    /* A counter beyond 2^53 keeps every digit of its integer part. */
    o = prom_opts("big_total", "Big.");
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(reg, &o, &c));
    assert_ok(goio_prom_counter_add(c, 1152921504606846976.0));
    assert_ok(goio_prom_counter_inc(c));
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    assert_non_null(strstr(text, "\nbig_total 1152921504606846977\n"));
    prom_assert_promtool_clean(text);
    goio_free(text);
    goio_prom_registry_free(reg);
}

/* ---- promtool over every type and awkward label values ------------------- */

static const char *const awkward_values[] = {
    "",
    "plain",
    "with space and\ttab",
    "quote \" inside",
    "back\\slash",
    "trailing backslash\\",
    "new\nline",
    "\\n literal backslash-n",
    "{braces},commas=equals",
    UTF8,
    "\xe4\xb8\xad\xe6\x96\x87",
    "# not a comment",
};

static void fill_every_type(goio_prom_registry *reg)
{
    static const char *labels[] = {"value"};
    goio_prom_metric_config o =
        prom_opts("awkward_total", "Help with \\ and \" and\nnl");
    o.label_names = labels;
    o.label_count = 1;
    goio_prom_vec *c, *g, *h;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &c));
    o.name = "awkward_level";
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &g));
    o.name = "awkward_seconds";
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_HISTOGRAM, &o, &h));
    size_t n = sizeof awkward_values / sizeof *awkward_values;
    for (size_t i = 0; i < n; i++) {
        const char *vals[] = {awkward_values[i]};
        goio_prom_counter *cc;
        goio_prom_gauge *gg;
        goio_prom_histogram *hh;
        assert_ok(goio_prom_vec_counter(c, vals, 1, &cc));
        assert_ok(goio_prom_counter_add(cc, (double)i + 0.5));
        assert_ok(goio_prom_vec_gauge(g, vals, 1, &gg));
        assert_ok(goio_prom_gauge_set(gg, -(double)i));
        assert_ok(goio_prom_vec_histogram(h, vals, 1, &hh));
        for (size_t j = 0; j <= i; j++)
            assert_ok(goio_prom_histogram_observe(hh, (double)j * 0.3));
    }
}

static void promtool_accepts_every_type_and_awkward_labels(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    fill_every_type(reg);
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    prom_assert_promtool_clean(text);
    const char *err = prom_histograms_ok(text);
    if (err)
        fail_msg("%s in\n%s", err, text);
    /* Every awkward value round-trips: count the series. */
    size_t series = 0;
    for (const char *p = text; (p = strstr(p, "\nawkward_level{")); p++)
        series++;
    assert_int_equal(series, sizeof awkward_values / sizeof *awkward_values);
    /* A broken exposition makes promtool fail (the check can fail). */
    char *broken = goio_strdup(text);
    char *q = strstr(broken, "\\\"");
    q[0] = '"'; /* an unescaped quote inside a label value */
    char *out = NULL;
    assert_int_equal(prom_promtool(broken, &out), 1);
    goio_free(out);
    goio_free(broken);
    goio_free(text);

    text = prom_render_text(reg, GOIO_PROM_OPENMETRICS);
    assert_null(prom_histograms_ok(text));
    goio_free(text);
    goio_prom_registry_free(reg);
}

static void promtool_lint_warnings_are_the_expected_ones(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    goio_prom_metric_config o =
        prom_opts("requests", NULL); /* no _total, no help */
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(reg, &o, &c));
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    assert_text_equal(text, "# TYPE requests counter\nrequests 0\n");
    char *out = NULL;
    assert_int_equal(prom_promtool(text, &out), 3);
    assert_non_null(
        strstr(out, "requests counter metrics should have \"_total\" suffix"));
    assert_non_null(strstr(out, "requests no help text"));
    goio_free(out);
    goio_free(text);
    goio_prom_registry_free(reg);
}

/* ---- ordering ------------------------------------------------------------ */

static goio_prom_registry *ordered_registry(bool reverse)
{
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    static const char *labels[] = {"a", "b"};
    const char *names[] = {"zeta_total", "alpha_total", "mid_total"};
    for (int k = 0; k < 3; k++) {
        goio_prom_metric_config o =
            prom_opts(names[reverse ? 2 - k : k], "Help.");
        o.label_names = labels;
        o.label_count = 2;
        goio_prom_vec *v;
        assert_ok(goio_prom_vec_register(reg, GOIO_PROM_COUNTER, &o, &v));
        for (int i = 0; i < 50; i++) {
            int j = reverse ? 49 - i : (i * 7) % 50;
            char a[8], b[8];
            snprintf(a, sizeof a, "%d", j % 5);
            snprintf(b, sizeof b, "x%d", j);
            const char *vals[] = {a, b};
            goio_prom_counter *c;
            assert_ok(goio_prom_vec_counter(v, vals, 2, &c));
            assert_ok(goio_prom_counter_add(c, j));
        }
    }
    return reg;
}

static void equal_states_render_equal_bytes(void **state)
{
    (void)state;
    goio_prom_registry *r1 = ordered_registry(false);
    goio_prom_registry *r2 = ordered_registry(true);
    char *t1 = prom_render_text(r1, GOIO_PROM_TEXT);
    char *t2 = prom_render_text(r2, GOIO_PROM_TEXT);
    assert_text_equal(t1, t2);
    char *again = prom_render_text(r1, GOIO_PROM_TEXT);
    assert_text_equal(again, t1);
    /* Families by name, children by label set. */
    const char *alpha = strstr(t1, "# TYPE alpha_total");
    const char *mid = strstr(t1, "# TYPE mid_total");
    const char *zeta = strstr(t1, "# TYPE zeta_total");
    assert_true(alpha && mid && zeta && alpha < mid && mid < zeta);
    const char *first = strstr(t1, "alpha_total{a=\"0\",b=\"x0\"} 0\n");
    const char *second = strstr(t1, "alpha_total{a=\"0\",b=\"x10\"} 10\n");
    assert_true(first && second && first < second);
    prom_assert_promtool_clean(t1);
    goio_free(t1);
    goio_free(t2);
    goio_free(again);
    goio_prom_registry_free(r1);
    goio_prom_registry_free(r2);
}

/* ---- negotiation and gzip ------------------------------------------------ */

static void negotiation_follows_accept_headers(void **state)
{
    (void)state;
    struct {
        const char *accept, *encoding;
        goio_prom_format format;
        const char *type;
        bool gzip;
    } cases[] = {
        {NULL, NULL, GOIO_PROM_TEXT, "text/plain; version=0.0.4", false},
        {"", "", GOIO_PROM_TEXT, "text/plain; version=0.0.4", false},
        /* Prometheus 2.42's scrape header */
        {"application/openmetrics-text;version=1.0.0,application/"
         "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
         "*/*;q=0.1",
         "gzip", GOIO_PROM_OPENMETRICS,
         "application/openmetrics-text; version=1.0.0", true},
        {"application/openmetrics-text; version=0.0.1", "identity",
         GOIO_PROM_OPENMETRICS, "application/openmetrics-text; version=0.0.1",
         false},
        {"Application/OpenMetrics-Text", "GZIP;q=1", GOIO_PROM_OPENMETRICS,
         "application/openmetrics-text; version=1.0.0", true},
        {"application/openmetrics-text;version=2.0.0", NULL, GOIO_PROM_TEXT,
         "text/plain; version=0.0.4", false},
        {"text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5",
         "deflate, gzip;q=0", GOIO_PROM_TEXT, "text/plain; version=0.0.4",
         false},
        {"application/openmetrics-text;q=0", "*", GOIO_PROM_TEXT,
         "text/plain; version=0.0.4", true},
        {"application/json", "br, *;q=0", GOIO_PROM_TEXT,
         "text/plain; version=0.0.4", false},
        {"text/html, application/openmetrics-text; q=\"0.8\"", "x-gzip",
         GOIO_PROM_OPENMETRICS, "application/openmetrics-text; version=1.0.0",
         true},
        {"application/openmetrics-text;q=bogus", "gzip;q=0.001", GOIO_PROM_TEXT,
         "text/plain; version=0.0.4", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        goio_prom_encoding e;
        assert_ok(goio_prom_negotiate(cases[i].accept, cases[i].encoding, &e));
        if (e.format != cases[i].format || e.gzip != cases[i].gzip ||
            strncmp(e.content_type, cases[i].type, strlen(cases[i].type)))
            fail_msg("case %zu: got %d %s gzip=%d", i, e.format, e.content_type,
                     e.gzip);
        assert_non_null(strstr(e.content_type, "charset=utf-8"));
        if (e.gzip)
            assert_string_equal(e.content_encoding, "gzip");
        else
            assert_null(e.content_encoding);
    }
    assert_goio(GOIO_EINVAL, goio_prom_negotiate("x", "y", NULL));
}

static void render_gzips_when_asked(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    fill_every_type(reg);
    char *plain = prom_render_text(reg, GOIO_PROM_OPENMETRICS);
    goio_buf out = GOIO_BUF_INIT;
    assert_ok(goio_buf_append(&out, "prefix", 6)); /* render appends */
    goio_prom_encoding e;
    assert_ok(goio_prom_registry_render(
        reg, NULL, "application/openmetrics-text", "gzip, deflate", &out, &e));
    assert_true(e.gzip);
    assert_int_equal(e.format, GOIO_PROM_OPENMETRICS);
    assert_memory_equal(out.data, "prefix", 6);
    assert_true(out.len - 6 < strlen(plain) / 3);
    char *unz = prom_gunzip(out.data + 6, out.len - 6);
    assert_text_equal(unz, plain);
    goio_free(unz);
    goio_buf_clear(&out);
    assert_ok(goio_prom_registry_render(reg, NULL, NULL, NULL, &out, NULL));
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    assert_int_equal(out.len, strlen(text));
    assert_memory_equal(out.data, text, out.len);
    goio_free(text);
    goio_free(plain);
    goio_buf_deinit(&out);
    assert_goio(GOIO_EINVAL,
                goio_prom_registry_render(reg, NULL, NULL, NULL, NULL, &e));
    assert_goio(GOIO_EINVAL,
                goio_prom_registry_write(reg, NULL, GOIO_PROM_TEXT, NULL));
    goio_buf b = GOIO_BUF_INIT;
    assert_goio(GOIO_EINVAL,
                goio_prom_registry_write(reg, NULL, (goio_prom_format)7, &b));
    goio_prom_registry_free(reg);
}

/* ---- collectors ---------------------------------------------------------- */

typedef struct logbook {
    pthread_mutex_t mu;
    char codes[2048];
} logbook;

static logbook g_log = {PTHREAD_MUTEX_INITIALIZER, ""};

static void log_sink(const goio_log_record *rec, void *data)
{
    (void)data;
    pthread_mutex_lock(&g_log.mu);
    size_t n = strlen(g_log.codes);
    snprintf(g_log.codes + n, sizeof g_log.codes - n, "%s:%s;",
             rec->code ? rec->code : "", rec->key ? rec->key : "");
    pthread_mutex_unlock(&g_log.mu);
}

static int cache_stats(goio_prom_sink *s, void *data)
{
    int *calls = data;
    (*calls)++;
    static const char *names[] = {"cache", "result"};
    const char *hit[] = {"local", "hit"}, *miss[] = {"local", "miss"};
    assert_ok(goio_prom_sink_family(s, GOIO_PROM_COUNTER, "cache_lookups_total",
                                    "Cache lookups.", names, 2));
    assert_ok(goio_prom_sink_value(s, miss, 3));
    assert_ok(goio_prom_sink_value(s, hit, 7));
    assert_ok(goio_prom_sink_value(s, hit, 99)); /* repeat: dropped */
    assert_ok(goio_prom_sink_family(s, GOIO_PROM_UNTYPED, "b_untyped", NULL,
                                    NULL, 0));
    assert_ok(goio_prom_sink_value(s, NULL, -1));
    assert_ok(goio_prom_sink_family(s, GOIO_PROM_GAUGE, "registered_gauge",
                                    "Clash.", NULL, 0));
    assert_ok(goio_prom_sink_value(s, NULL, 1)); /* name taken: dropped */
    const double ub[] = {1, 10};
    const uint64_t cum[] = {2, 5};
    assert_ok(goio_prom_sink_family(s, GOIO_PROM_HISTOGRAM, "c_size_bytes",
                                    "Sizes.", NULL, 0));
    assert_ok(goio_prom_sink_histogram(s, NULL, ub, cum, 2, 6, 42.5));
    return 0;
}

static int second_collector(goio_prom_sink *s, void *data)
{
    (void)data;
    /* The same family as the first collector: dropped. */
    assert_ok(goio_prom_sink_family(s, GOIO_PROM_COUNTER, "cache_lookups_total",
                                    "Again.", NULL, 0));
    assert_ok(goio_prom_sink_value(s, NULL, 1));
    return 0;
}

static int failing_collector(goio_prom_sink *s, void *data)
{
    (void)data;
    assert_ok(
        goio_prom_sink_family(s, GOIO_PROM_GAUGE, "half_done", "H.", NULL, 0));
    assert_ok(goio_prom_sink_value(s, NULL, 1));
    return GOIO_EIO;
}

typedef struct {
    int calls;
    goio_ctx *seen;
} ctx_probe;

static int records_ctx(goio_prom_sink *s, void *data)
{
    ctx_probe *p = data;
    p->calls++;
    p->seen = goio_prom_sink_ctx(s);
    assert_ok(goio_prom_sink_family(s, GOIO_PROM_GAUGE, "probe_calls", "Calls.",
                                    NULL, 0));
    return goio_prom_sink_value(s, NULL, p->calls);
}

/* Collectors see the scrape's ctx; a done ctx stops the scrape before any
 * collector runs and leaves out as it was. */
static void collectors_get_the_scrape_ctx(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    ctx_probe p = {0, NULL};
    assert_ok(goio_prom_collector_register(reg, records_ctx, &p, NULL, NULL));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    goio_buf out = GOIO_BUF_INIT;
    assert_ok(goio_prom_registry_write(reg, ctx, GOIO_PROM_TEXT, &out));
    assert_int_equal(p.calls, 1);
    assert_ptr_equal(p.seen, ctx);
    assert_non_null(strstr(goio_buf_cstr(&out), "probe_calls 1\n"));
    assert_ok(goio_prom_registry_write(reg, NULL, GOIO_PROM_TEXT, &out));
    assert_int_equal(p.calls, 2);
    assert_null(p.seen);
    goio_prom_encoding enc;
    assert_ok(goio_prom_registry_render(reg, ctx, NULL, NULL, &out, &enc));
    assert_int_equal(p.calls, 3);
    assert_ptr_equal(p.seen, ctx);

    size_t len = out.len;
    goio_ctx_cancel(ctx);
    assert_goio(GOIO_ECANCELED,
                goio_prom_registry_write(reg, ctx, GOIO_PROM_TEXT, &out));
    assert_goio(GOIO_ECANCELED,
                goio_prom_registry_render(reg, ctx, NULL, "gzip", &out, &enc));
    assert_int_equal(p.calls, 3);
    assert_int_equal(out.len, len);
    goio_ctx_unref(ctx);

    goio_ctx *expired;
    assert_ok(goio_ctx_new_with_timeout(NULL, 0, &expired));
    assert_goio(GOIO_ETIMEDOUT,
                goio_prom_registry_write(reg, expired, GOIO_PROM_TEXT, &out));
    assert_int_equal(p.calls, 3);
    goio_ctx_unref(expired);
    assert_null(goio_prom_sink_ctx(NULL));
    goio_buf_deinit(&out);
    goio_prom_registry_free(reg);
}

static int destroyed;
static void destroy_counter(void *data)
{
    (void)data;
    destroyed++;
}

static void collectors_merge_in_name_order(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    goio_prom_metric_config o = prom_opts("registered_gauge", "Registered.");
    goio_prom_gauge *g;
    assert_ok(goio_prom_gauge_register(reg, &o, &g));
    int calls = 0;
    goio_prom_collector *c1, *c3;
    assert_ok(goio_prom_collector_register(reg, cache_stats, &calls,
                                           destroy_counter, &c1));
    assert_ok(
        goio_prom_collector_register(reg, second_collector, NULL, NULL, NULL));
    assert_ok(goio_prom_collector_register(reg, failing_collector, NULL,
                                           destroy_counter, &c3));
    g_log.codes[0] = '\0';
    goio_log_set_sink(log_sink, NULL);
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    assert_int_equal(calls, 1);
    assert_text_equal(text,
                      "# TYPE b_untyped untyped\n"
                      "b_untyped -1\n"
                      "# HELP c_size_bytes Sizes.\n"
                      "# TYPE c_size_bytes histogram\n"
                      "c_size_bytes_bucket{le=\"1\"} 2\n"
                      "c_size_bytes_bucket{le=\"10\"} 5\n"
                      "c_size_bytes_bucket{le=\"+Inf\"} 6\n"
                      "c_size_bytes_sum 42.5\n"
                      "c_size_bytes_count 6\n"
                      "# HELP cache_lookups_total Cache lookups.\n"
                      "# TYPE cache_lookups_total counter\n"
                      "cache_lookups_total{cache=\"local\",result=\"hit\"} 7\n"
                      "cache_lookups_total{cache=\"local\",result=\"miss\"} 3\n"
                      "# HELP registered_gauge Registered.\n"
                      "# TYPE registered_gauge gauge\n"
                      "registered_gauge 0\n");
    assert_null(prom_histograms_ok(text));
    assert_non_null(strstr(g_log.codes, "collector_failed:;"));
    assert_non_null(
        strstr(g_log.codes, "collected_sample_dropped:cache_lookups_total;"));
    assert_non_null(
        strstr(g_log.codes, "collected_family_dropped:registered_gauge;"));
    assert_non_null(
        strstr(g_log.codes, "collected_family_dropped:cache_lookups_total;"));
    goio_free(text);

    goio_log_set_sink(log_sink, NULL);
    text = prom_render_text(reg, GOIO_PROM_OPENMETRICS);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    assert_non_null(strstr(text, "# TYPE b_untyped unknown\nb_untyped -1\n"));
    assert_non_null(strstr(text, "c_size_bytes_bucket{le=\"1.0\"} 2\n"));
    assert_non_null(strstr(text, "# TYPE cache_lookups counter\n"));
    goio_free(text);

    assert_ok(goio_prom_collector_unregister(reg, c3));
    assert_int_equal(destroyed, 1);
    assert_ok(goio_prom_collector_unregister(reg, c1));
    assert_int_equal(destroyed, 2);
    assert_goio(GOIO_ENOENT, goio_prom_collector_unregister(reg, c1));
    assert_goio(GOIO_EINVAL, goio_prom_collector_unregister(reg, NULL));
    assert_goio(GOIO_EINVAL,
                goio_prom_collector_register(reg, NULL, NULL, NULL, NULL));
    goio_prom_registry_free(reg);
}

typedef struct sink_case {
    int results[32];
    int n;
} sink_case;

/* Every sink validation path; results are checked by the test. */
static int invalid_sink_calls(goio_prom_sink *s, void *data)
{
    sink_case *sc = data;
    int *r = sc->results;
    int n = 0;
    static const char *one[] = {"k"};
    static const char *le[] = {"le"};
    static const char *reserved[] = {"__k"};
    const char *v[] = {"v"}, *bad[] = {"\xff"}, *nullv[] = {NULL};
    const double ub[] = {1, 2}, ub_bad[] = {2, 1}, ub_inf[] = {1, INFINITY};
    const uint64_t cum[] = {1, 2}, cum_bad[] = {2, 1};
    r[n++] = goio_prom_sink_value(s, NULL, 1); /* before any family */
    r[n++] = goio_prom_sink_family(s, GOIO_PROM_GAUGE, "9bad", "x", NULL, 0);
    r[n++] = goio_prom_sink_value(s, NULL, 1); /* family failed */
    r[n++] = goio_prom_sink_family(s, (goio_prom_type)8, "t", "x", NULL, 0);
    r[n++] = goio_prom_sink_family(s, GOIO_PROM_GAUGE, "t", "\xff", NULL, 0);
    r[n++] = goio_prom_sink_family(s, GOIO_PROM_GAUGE, "t", "x", reserved, 1);
    r[n++] = goio_prom_sink_family(s, GOIO_PROM_HISTOGRAM, "t", "x", le, 1);
    r[n++] = goio_prom_sink_family(s, GOIO_PROM_GAUGE, "t", "x", NULL, 1);
    r[n++] =
        goio_prom_sink_family(s, GOIO_PROM_COUNTER, "ok_total", "x", one, 1);
    r[n++] = goio_prom_sink_value(s, NULL, 1);  /* values missing */
    r[n++] = goio_prom_sink_value(s, nullv, 1); /* NULL value */
    r[n++] = goio_prom_sink_value(s, bad, 1);   /* not UTF-8 */
    r[n++] = goio_prom_sink_value(s, v, -1);    /* negative counter */
    r[n++] = goio_prom_sink_value(s, v, NAN);   /* NaN counter */
    r[n++] = goio_prom_sink_histogram(s, v, ub, cum, 2, 2, 0); /* not hist */
    r[n++] = goio_prom_sink_value(s, v, 2);                    /* fine */
    r[n++] = goio_prom_sink_family(s, GOIO_PROM_HISTOGRAM, "ok_seconds", "x",
                                   NULL, 0);
    r[n++] = goio_prom_sink_value(s, NULL, 1); /* value on a histogram */
    r[n++] = goio_prom_sink_histogram(s, NULL, ub_bad, cum, 2, 2, 0);
    r[n++] = goio_prom_sink_histogram(s, NULL, ub, cum_bad, 2, 2, 0);
    r[n++] = goio_prom_sink_histogram(s, NULL, ub, cum, 2, 1, 0); /* count */
    r[n++] = goio_prom_sink_histogram(s, NULL, NULL, cum, 2, 2, 0);
    r[n++] = goio_prom_sink_histogram(s, NULL, ub_inf, cum, 2, 3, 0);
    r[n++] = goio_prom_sink_histogram(s, NULL, ub_inf, cum, 2, 2, 1.5);
    r[n++] = goio_prom_sink_family(NULL, GOIO_PROM_GAUGE, "t", "x", NULL, 0);
    r[n++] = goio_prom_sink_value(NULL, NULL, 1);
    r[n++] = goio_prom_sink_histogram(NULL, NULL, ub, cum, 2, 2, 0);
    sc->n = n;
    return 0;
}

static void sink_rejects_invalid_samples(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    sink_case sc = {{0}, 0};
    assert_ok(
        goio_prom_collector_register(reg, invalid_sink_calls, &sc, NULL, NULL));
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    const int want[] = {GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL,
                        GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL,
                        0,           GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL,
                        GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL, 0,
                        0,           GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL,
                        GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL, 0,
                        GOIO_EINVAL, GOIO_EINVAL, GOIO_EINVAL};
    assert_int_equal(sc.n, sizeof want / sizeof *want);
    for (int i = 0; i < sc.n; i++)
        if (sc.results[i] != want[i])
            fail_msg("sink call %d returned %s, expected %s", i,
                     goio_err_name(sc.results[i]), goio_err_name(want[i]));
    /* Only the valid samples made it. */
    assert_text_equal(text, "# HELP ok_seconds x\n"
                            "# TYPE ok_seconds histogram\n"
                            "ok_seconds_bucket{le=\"1\"} 1\n"
                            "ok_seconds_bucket{le=\"+Inf\"} 2\n"
                            "ok_seconds_sum 1.5\n"
                            "ok_seconds_count 2\n"
                            "# HELP ok_total x\n"
                            "# TYPE ok_total counter\n"
                            "ok_total{k=\"v\"} 2\n");
    goio_free(text);
    goio_prom_registry_free(reg);
}

typedef struct busy {
    goio_prom_registry *reg;
    int rc[6];
} busy;

static int reentrant_collector(goio_prom_sink *s, void *data)
{
    (void)s;
    busy *b = data;
    goio_prom_metric_config o = prom_opts("late", "x");
    goio_prom_gauge *g;
    goio_prom_vec *v;
    goio_buf out = GOIO_BUF_INIT;
    b->rc[0] = goio_prom_gauge_register(b->reg, &o, &g);
    b->rc[1] = goio_prom_vec_register(b->reg, GOIO_PROM_GAUGE, &o, &v);
    b->rc[2] = goio_prom_registry_unregister(b->reg, "existing");
    b->rc[3] = goio_prom_collector_register(b->reg, reentrant_collector, b,
                                            NULL, NULL);
    b->rc[4] = goio_prom_registry_write(b->reg, NULL, GOIO_PROM_TEXT, &out);
    b->rc[5] = goio_prom_process_collector_register(b->reg);
    goio_prom_registry_free(b->reg); /* a no-op in here */
    goio_buf_deinit(&out);
    return 0;
}

static void collectors_cannot_change_their_registry(void **state)
{
    (void)state;
    busy b;
    assert_ok(goio_prom_registry_new(&b.reg));
    goio_prom_metric_config o = prom_opts("existing", "x");
    goio_prom_gauge *g;
    assert_ok(goio_prom_gauge_register(b.reg, &o, &g));
    goio_prom_collector *c;
    assert_ok(
        goio_prom_collector_register(b.reg, reentrant_collector, &b, NULL, &c));
    char *text = prom_render_text(b.reg, GOIO_PROM_TEXT);
    for (int i = 0; i < 6; i++)
        assert_goio(GOIO_EBUSY, b.rc[i]);
    /* The registry survived its collector's free, and outside the
     * collector the same calls work. */
    assert_non_null(strstr(text, "\nexisting 0\n"));
    assert_ok(goio_prom_collector_unregister(b.reg, c));
    assert_ok(goio_prom_registry_unregister(b.reg, "existing"));
    goio_free(text);
    goio_prom_registry_free(b.reg);
}

/* Two registries whose collectors scrape each other, on one thread. */
typedef struct pair {
    goio_prom_registry *a, *b;
    int a_writes_b;        /* A's collector scraping B */
    int b_writes_a;        /* B's collector, run by that, scraping A back */
    int a_registers_after; /* A's collector, after the nested scrape */
} pair;

static int b_scrapes_a(goio_prom_sink *s, void *data)
{
    pair *p = data;
    goio_buf out = GOIO_BUF_INIT;
    p->b_writes_a = goio_prom_registry_write(p->a, NULL, GOIO_PROM_TEXT, &out);
    goio_buf_deinit(&out);
    int rc = goio_prom_sink_family(s, GOIO_PROM_GAUGE, "from_b", "B.", NULL, 0);
    return rc ? rc : goio_prom_sink_value(s, NULL, 2);
}

static int a_scrapes_b(goio_prom_sink *s, void *data)
{
    pair *p = data;
    goio_buf out = GOIO_BUF_INIT;
    p->a_writes_b = goio_prom_registry_write(p->b, NULL, GOIO_PROM_TEXT, &out);
    goio_buf_deinit(&out);
    /* Still inside A's collector: A may not change. */
    goio_prom_metric_config o = prom_opts("late", "x");
    goio_prom_gauge *g;
    p->a_registers_after = goio_prom_gauge_register(p->a, &o, &g);
    int rc = goio_prom_sink_family(s, GOIO_PROM_GAUGE, "from_a", "A.", NULL, 0);
    return rc ? rc : goio_prom_sink_value(s, NULL, 1);
}

static void collectors_may_scrape_other_registries(void **state)
{
    (void)state;
    pair p = {NULL, NULL, 1, 1, 1};
    assert_ok(goio_prom_registry_new(&p.a));
    assert_ok(goio_prom_registry_new(&p.b));
    assert_ok(goio_prom_collector_register(p.a, a_scrapes_b, &p, NULL, NULL));
    assert_ok(goio_prom_collector_register(p.b, b_scrapes_a, &p, NULL, NULL));
    char *text = prom_render_text(p.a, GOIO_PROM_TEXT);
    assert_ok(p.a_writes_b);
    assert_goio(GOIO_EBUSY, p.b_writes_a);
    assert_goio(GOIO_EBUSY, p.a_registers_after);
    assert_text_equal(text, "# HELP from_a A.\n"
                            "# TYPE from_a gauge\n"
                            "from_a 1\n");
    goio_free(text);
    /* After the scrape, both registries take changes again. */
    goio_prom_metric_config o = prom_opts("late", "x");
    goio_prom_gauge *g;
    assert_ok(goio_prom_gauge_register(p.a, &o, &g));
    assert_ok(goio_prom_gauge_register(p.b, &o, &g));
    goio_prom_registry_free(p.a);
    goio_prom_registry_free(p.b);
}

static void registry_free_destroys_collectors(void **state)
{
    (void)state;
    goio_prom_registry *reg;
    assert_ok(goio_prom_registry_new(&reg));
    destroyed = 0;
    assert_ok(goio_prom_collector_register(reg, second_collector, NULL,
                                           destroy_counter, NULL));
    assert_ok(goio_prom_collector_register(reg, second_collector, NULL,
                                           destroy_counter, NULL));
    assert_ok(goio_prom_process_collector_register(reg));
    assert_goio(GOIO_EEXIST, goio_prom_process_collector_register(reg));
    goio_prom_registry_free(reg);
    assert_int_equal(destroyed, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_format_is_exact),
        cmocka_unit_test(openmetrics_format_is_exact),
        cmocka_unit_test(numbers_render_exactly),
        cmocka_unit_test(promtool_accepts_every_type_and_awkward_labels),
        cmocka_unit_test(promtool_lint_warnings_are_the_expected_ones),
        cmocka_unit_test(equal_states_render_equal_bytes),
        cmocka_unit_test(negotiation_follows_accept_headers),
        cmocka_unit_test(render_gzips_when_asked),
        cmocka_unit_test(collectors_merge_in_name_order),
        cmocka_unit_test(collectors_get_the_scrape_ctx),
        cmocka_unit_test(sink_rejects_invalid_samples),
        cmocka_unit_test(collectors_cannot_change_their_registry),
        cmocka_unit_test(collectors_may_scrape_other_registries),
        cmocka_unit_test(registry_free_destroys_collectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
