/* SPDX-License-Identifier: MIT */
/*
 * A real Prometheus server (Debian's prometheus 2.42, started on a free
 * loopback port with a temp storage dir and a 1 s scrape interval)
 * scrapes goio's endpoints, and its query API returns the values the test
 * set: OpenMetrics (what Prometheus asks for first), text 0.0.4 (an
 * endpoint with OpenMetrics turned off) and a gzipped metrics-only server
 * on the default registry. Awkward label values, histograms, a collector
 * and the request tracker's camelCase label all go through Prometheus'
 * own parsers.
 */
#include "prom_http.h"
#include "test_proc.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AWKWARD "quote\"back\\slash\nnew line"
#define UTF8                                                                   \
    "\xc3\x9c"                                                                 \
    "ber \xe2\x9c\x93 \xf0\x9f\x98\x80"

typedef struct world {
    goio_prom_registry *reg;
    goio_http_server *srv;
    goio_http_router *router;
    goio_prom_server *defsrv;
    char *dir;
    pid_t prom;
    int prom_port;
} world;

static goio_prom_handler_config om_opts, text_opts;
static goio_prom_tracker_config tracking = {
    "scrape-test", "0.1", NULL, false, {NULL, NULL}};

static int collect(goio_prom_sink *s, void *data)
{
    (void)data;
    static const char *names[] = {"cache"};
    const char *local[] = {"local"};
    int rc = goio_prom_sink_family(s, GOIO_PROM_COUNTER, "cache_hits_total",
                                   "Cache hits.", names, 1);
    if (!rc)
        rc = goio_prom_sink_value(s, local, 7);
    if (!rc)
        rc = goio_prom_sink_family(s, GOIO_PROM_UNTYPED, "b_untyped", "U.",
                                   NULL, 0);
    return rc ? rc : goio_prom_sink_value(s, NULL, -1);
}

static void fill(goio_prom_registry *reg)
{
    goio_prom_metric_config o = prom_opts("app_jobs_total", "Jobs.");
    goio_prom_counter *c;
    assert_ok(goio_prom_counter_register(reg, &o, &c));
    assert_ok(goio_prom_counter_add(c, 42));

    static const char *v[] = {"v"};
    o.name = "app_level";
    o.label_names = v;
    o.label_count = 1;
    goio_prom_vec *levels;
    assert_ok(goio_prom_vec_register(reg, GOIO_PROM_GAUGE, &o, &levels));
    const char *awk[] = {AWKWARD}, *utf[] = {UTF8};
    goio_prom_gauge *g;
    assert_ok(goio_prom_vec_gauge(levels, awk, 1, &g));
    assert_ok(goio_prom_gauge_set(g, -7.5));
    assert_ok(goio_prom_vec_gauge(levels, utf, 1, &g));
    assert_ok(goio_prom_gauge_set(g, 3));

    static const double bounds[] = {0.5, 1, 2.5};
    o.name = "app_latency_seconds";
    o.label_count = 0;
    o.buckets = bounds;
    o.bucket_count = 3;
    goio_prom_histogram *h;
    assert_ok(goio_prom_histogram_register(reg, &o, &h));
    assert_ok(goio_prom_histogram_observe(h, 0.25));
    assert_ok(goio_prom_histogram_observe(h, 1));
    assert_ok(goio_prom_histogram_observe(h, 9));

    assert_ok(goio_prom_collector_register(reg, collect, NULL, NULL, NULL));
}

static void start_servers(world *w)
{
    assert_ok(goio_prom_registry_new(&w->reg));
    assert_ok(goio_prom_tracker_init(w->reg));
    fill(w->reg);
    om_opts.registry = text_opts.registry = w->reg;
    text_opts.disable_openmetrics = true;
    assert_ok(goio_http_router_new(&w->router));
    assert_ok(goio_http_router_handle(w->router, "GET", "/metrics",
                                      goio_prom_http_handler, &om_opts));
    assert_ok(goio_http_router_handle(w->router, "GET", "/text",
                                      goio_prom_http_handler, &text_opts));
    w->srv = prom_serve(w->router, 2, &tracking);

    goio_prom_server_config dc;
    goio_prom_server_config_init(&dc);
    assert_ok(goio_prom_server_new(&dc, &w->defsrv)); /* default reg */
    assert_ok(goio_prom_server_start(w->defsrv));
}

static void start_prometheus(world *w)
{
    w->dir = goio_test_mkdtemp("prometheus");
    assert_non_null(w->dir);
    int port = goio_http_server_port(w->srv);
    char conf[4096], path[4200], data[4200], log[4200], listen[64];
    snprintf(conf, sizeof conf,
             "global:\n"
             "  scrape_interval: 1s\n"
             "  scrape_timeout: 1s\n"
             "scrape_configs:\n"
             "  - job_name: goio_om\n"
             "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
             "  - job_name: goio_text\n"
             "    metrics_path: /text\n"
             "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
             "  - job_name: goio_default\n"
             "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
             port, port, goio_prom_server_port(w->defsrv));
    snprintf(path, sizeof path, "%s/prometheus.yml", w->dir);
    assert_int_equal(goio_test_write_file(path, conf, strlen(conf)), 0);
    snprintf(data, sizeof data, "--storage.tsdb.path=%s/data", w->dir);
    snprintf(log, sizeof log, "%s/prometheus.log", w->dir);
    w->prom_port = goio_test_free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d",
             w->prom_port);
    char cfgarg[4300];
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", path);
    char *argv[] = {"prometheus",       cfgarg, data, listen,
                    "--log.level=warn", NULL};
    w->prom = goio_test_spawn(argv, log);
    assert_true(w->prom > 0);
    if (!goio_test_wait_port(w->prom_port, 20000))
        fail_msg("prometheus did not listen; see %s", log);
}

/*
 * Runs an instant query; true with *value when it returned exactly one
 * sample. Prometheus answers
 * {"status":"success","data":{"resultType":"vector","result":
 *   [{"metric":{...},"value":[<time>,"<value>"]}]}}
 */
static bool query(const world *w, const char *promql, double *value)
{
    CURL *c = curl_easy_init();
    char *q = curl_easy_escape(c, promql, 0);
    char path[2048];
    snprintf(path, sizeof path, "/api/v1/query?query=%s", q);
    curl_free(q);
    curl_easy_cleanup(c);
    prom_resp r;
    prom_get(w->prom_port, path, NULL, false, &r);
    const char *body = (const char *)r.body.data;
    const char *v = strstr(body, "\"value\":[");
    bool one = r.status == 200 && v && !strstr(v + 1, "\"value\":[");
    if (one) {
        v = strstr(v, ",\"");
        one = v != NULL;
        if (one)
            *value = strtod(v + 2, NULL);
    }
    prom_resp_free(&r);
    return one;
}

/* Waits (scrapes land ~6 s after start) until the query has a value. */
static double eventually(const world *w, const char *promql)
{
    double v = 0;
    int64_t deadline = goio_now_mono_ms() + 40000;
    while (!query(w, promql, &v)) {
        if (goio_now_mono_ms() > deadline)
            fail_msg("no result for %s (see %s/prometheus.log)", promql,
                     w->dir);
        goio_test_sleep_ms(100); /* a scrape a second: no need to hurry */
    }
    return v;
}

static void prometheus_scrapes_what_we_set(void **state)
{
    (void)state;
    world w = {0};
    start_servers(&w);
    start_prometheus(&w);

    assert_true(eventually(&w, "up{job=\"goio_om\"}") == 1);
    assert_true(eventually(&w, "app_jobs_total{job=\"goio_om\"}") == 42);
    assert_true(eventually(&w, "up{job=\"goio_text\"}") == 1);
    assert_true(eventually(&w, "app_jobs_total{job=\"goio_text\"}") == 42);
    assert_true(eventually(&w, "up{job=\"goio_default\"}") == 1);

    const char *jobs[] = {"goio_om", "goio_text"};
    for (int j = 0; j < 2; j++) {
        char q[512];
        /* PromQL string escapes are Go's: \" \\ \n */
        snprintf(q, sizeof q,
                 "app_level{job=\"%s\",v=\"quote\\\"back\\\\slash\\nnew "
                 "line\"}",
                 jobs[j]);
        assert_true(eventually(&w, q) == -7.5);
        snprintf(q, sizeof q, "app_level{job=\"%s\",v=\"" UTF8 "\"}", jobs[j]);
        assert_true(eventually(&w, q) == 3);
        snprintf(q, sizeof q,
                 "app_latency_seconds_bucket{job=\"%s\",le=\"+Inf\"}", jobs[j]);
        assert_true(eventually(&w, q) == 3);
        snprintf(q, sizeof q, "app_latency_seconds_count{job=\"%s\"}", jobs[j]);
        assert_true(eventually(&w, q) == 3);
        snprintf(q, sizeof q, "app_latency_seconds_sum{job=\"%s\"}", jobs[j]);
        assert_true(eventually(&w, q) == 10.25);
        snprintf(q, sizeof q, "cache_hits_total{job=\"%s\",cache=\"local\"}",
                 jobs[j]);
        assert_true(eventually(&w, q) == 7);
        snprintf(q, sizeof q, "b_untyped{job=\"%s\"}", jobs[j]);
        assert_true(eventually(&w, q) == -1);
        /* The scrapes themselves, through the tracking middleware. */
        snprintf(q, sizeof q,
                 "io_http_requests_total{job=\"%s\",serviceName=\"scrape-"
                 "test\",path=\"%s\",status=\"200\"} > 0",
                 jobs[j], j ? "/text" : "/metrics");
        eventually(&w, q);
    }
    /* Integral bounds: OpenMetrics writes le="1.0", the text format
     * le="1"; Prometheus 2.x keeps the label as sent. */
    assert_true(eventually(&w, "app_latency_seconds_bucket{job=\"goio_om\","
                               "le=\"1.0\"}") == 2);
    assert_true(eventually(&w, "app_latency_seconds_bucket{job=\"goio_text\","
                               "le=\"1\"}") == 2);
    assert_true(eventually(&w, "app_latency_seconds_bucket{job=\"goio_om\","
                               "le=\"0.5\"}") == 1);
    /* histogram_quantile works on what was scraped: the median of
     * {0.25, 1, 9} lies in the (0.5, 1] bucket. */
    double median = eventually(&w, "histogram_quantile(0.5, "
                                   "app_latency_seconds_bucket{job=\"goio_"
                                   "text\"})");
    assert_true(median > 0.5 && median <= 1);
    assert_true(eventually(&w, "process_open_fds{job=\"goio_default\"}") > 3);

    /* A value changed now shows up in a later scrape. */
    goio_prom_metric_config o =
        prom_opts("app_late", "Registered after the first scrapes.");
    goio_prom_gauge *g;
    assert_ok(goio_prom_gauge_register(w.reg, &o, &g));
    assert_ok(goio_prom_gauge_set(g, 1234.5));
    assert_true(eventually(&w, "app_late{job=\"goio_om\"}") == 1234.5);

    goio_test_proc_signal(w.prom, SIGTERM);
    goio_prom_server_free(w.defsrv);
    goio_http_server_free(w.srv);
    goio_http_router_free(w.router);
    goio_test_rm_rf(w.dir);
    goio_free(w.dir);
    /* w.reg stays: the process-wide tracker keeps using it. */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prometheus_scrapes_what_we_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
