/* SPDX-License-Identifier: MIT */
/*
 * The Go library's request tracker: init once, exact metric and label
 * names, values after open/observe/close, and promtool's lint of the Go
 * library's camelCase label. The tracker is process-wide, so the tests
 * run in order in one process.
 */
#include "prom_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static goio_prom_registry *reg;

static const goio_prom_request req_a = {"catalog", "1.2.3", "GET",
                                        "/items/{id}"};
static const goio_prom_request req_b = {"catalog", "1.2.3", "POST", "/items"};

static void everything_is_rejected_before_init(void **state)
{
    (void)state;
    assert_goio(GOIO_EINVAL, goio_prom_request_open(&req_a));
    assert_goio(GOIO_EINVAL,
                goio_prom_request_observe_duration(&req_a, goio_now_mono_ns()));
    assert_goio(GOIO_EINVAL, goio_prom_request_close(&req_a, 200));
}

static void init_fails_cleanly_when_a_name_is_taken(void **state)
{
    (void)state;
    goio_prom_registry *taken;
    assert_ok(goio_prom_registry_new(&taken));
    goio_prom_metric_config o = prom_opts("io_http_requests_current", NULL);
    goio_prom_gauge *g;
    assert_ok(goio_prom_gauge_register(taken, &o, &g));
    assert_goio(GOIO_EEXIST, goio_prom_tracker_init(taken));
    /* The metric registered before the clash was taken back. */
    assert_goio(GOIO_ENOENT,
                goio_prom_registry_unregister(taken, "io_http_requests_total"));
    assert_goio(GOIO_EINVAL, goio_prom_request_open(&req_a));
    goio_prom_registry_free(taken);
    /* The same when the last one clashes: both before it go. */
    assert_ok(goio_prom_registry_new(&taken));
    o.name = "io_http_request_duration_seconds";
    assert_ok(goio_prom_gauge_register(taken, &o, &g));
    assert_goio(GOIO_EEXIST, goio_prom_tracker_init(taken));
    assert_goio(GOIO_ENOENT,
                goio_prom_registry_unregister(taken, "io_http_requests_total"));
    assert_goio(GOIO_ENOENT, goio_prom_registry_unregister(
                                 taken, "io_http_requests_current"));
    goio_prom_registry_free(taken);
}

static void init_once(void **state)
{
    (void)state;
    assert_ok(goio_prom_registry_new(&reg));
    assert_ok(goio_prom_tracker_init(reg));
    assert_goio(GOIO_EALREADY, goio_prom_tracker_init(reg));
    assert_goio(GOIO_EALREADY, goio_prom_tracker_init(NULL));
}

static void requests_are_tracked_with_the_go_names(void **state)
{
    (void)state;
    int64_t start = goio_now_mono_ns() - 30 * 1000000; /* 30 ms ago */
    assert_ok(goio_prom_request_open(&req_a));
    assert_ok(goio_prom_request_open(&req_a));
    assert_ok(goio_prom_request_observe_duration(&req_a, start));
    assert_ok(goio_prom_request_close(&req_a, 200));
    assert_ok(goio_prom_request_close(&req_a, 503));
    assert_ok(goio_prom_request_open(&req_b));
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
#define A "method=\"GET\",path=\"/items/{id}\",serviceName=\"catalog\""
#define B "method=\"POST\",path=\"/items\",serviceName=\"catalog\""
    double v;
    assert_true(prom_sample(
        text, "io_http_requests_current{" A ",version=\"1.2.3\"}", &v));
    assert_true(v == 0);
    assert_true(prom_sample(
        text, "io_http_requests_current{" B ",version=\"1.2.3\"}", &v));
    assert_true(v == 1);
    assert_true(prom_sample(
        text, "io_http_requests_total{" A ",status=\"200\",version=\"1.2.3\"}",
        &v));
    assert_true(v == 1);
    assert_true(prom_sample(
        text, "io_http_requests_total{" A ",status=\"503\",version=\"1.2.3\"}",
        &v));
    assert_true(v == 1);
    assert_false(prom_sample(
        text, "io_http_requests_total{" B ",status=\"200\",version=\"1.2.3\"}",
        &v));
    assert_true(prom_sample(
        text, "io_http_request_duration_seconds_count{" A ",version=\"1.2.3\"}",
        &v));
    assert_true(v == 1);
    assert_true(prom_sample(
        text, "io_http_request_duration_seconds_sum{" A ",version=\"1.2.3\"}",
        &v));
    assert_true(v >= 0.03 && v < 10);
    /* default buckets: 0.025 then 0.05 ... */
    assert_true(prom_sample(text,
                            "io_http_request_duration_seconds_bucket{" A
                            ",version=\"1.2.3\",le=\"0.025\"}",
                            &v));
    assert_true(v == 0);
    assert_true(prom_sample(text,
                            "io_http_request_duration_seconds_bucket{" A
                            ",version=\"1.2.3\",le=\"10\"}",
                            &v));
    assert_true(v == 1);
    assert_null(prom_histograms_ok(text));
    goio_free(text);
}

static void promtool_lints_only_the_camel_case_label(void **state)
{
    (void)state;
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    char *out = NULL;
    assert_int_equal(prom_promtool(text, &out), 3);
    /* promtool repeats the warning per series: every line must be it, for
     * each of the three metrics. */
    const char *metrics[] = {"io_http_request_duration_seconds",
                             "io_http_requests_current",
                             "io_http_requests_total"};
    bool seen[3] = {false, false, false};
    const char *suffix = " label names should be written in 'snake_case' "
                         "not 'camelCase'";
    for (char *line = out; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        bool known = false;
        for (int i = 0; i < 3; i++) {
            size_t n = strlen(metrics[i]);
            if (!strncmp(line, metrics[i], n) && !strcmp(line + n, suffix))
                known = seen[i] = true;
        }
        if (!known)
            fail_msg("unexpected promtool output: %s", line);
        line = nl + 1;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    goio_free(out);
    goio_free(text);
}

static void bad_requests_change_nothing(void **state)
{
    (void)state;
    char *before = prom_render_text(reg, GOIO_PROM_TEXT);
    goio_prom_request bad = req_a;
    assert_goio(GOIO_EINVAL, goio_prom_request_open(NULL));
    assert_goio(GOIO_EINVAL, goio_prom_request_observe_duration(NULL, 0));
    assert_goio(GOIO_EINVAL, goio_prom_request_close(NULL, 200));
    assert_goio(GOIO_EINVAL, goio_prom_request_close(&req_a, 99));
    assert_goio(GOIO_EINVAL, goio_prom_request_close(&req_a, 1000));
    bad.path = NULL;
    assert_goio(GOIO_EINVAL, goio_prom_request_open(&bad));
    bad = req_a;
    bad.service_name = NULL;
    assert_goio(GOIO_EINVAL, goio_prom_request_close(&bad, 200));
    bad = req_a;
    bad.version = NULL;
    assert_goio(GOIO_EINVAL, goio_prom_request_observe_duration(&bad, 0));
    bad = req_a;
    bad.method = "G\xffT";
    assert_goio(GOIO_EINVAL, goio_prom_request_open(&bad));
    assert_goio(GOIO_EINVAL, goio_prom_request_observe_duration(&bad, 0));
    assert_goio(GOIO_EINVAL, goio_prom_request_close(&bad, 200));
    char *after = prom_render_text(reg, GOIO_PROM_TEXT);
    assert_string_equal(before, after);
    goio_free(before);
    goio_free(after);
}

static int shutdown_rc, init_rc;

static int shuts_down_the_tracker(goio_prom_sink *s, void *data)
{
    (void)s;
    (void)data;
    shutdown_rc = goio_prom_tracker_deinit();
    init_rc = goio_prom_tracker_init(data);
    return 0;
}

/* From a collector (this registry's or another's) init and shutdown would
 * take the tracker's lock under a registry's, the reverse of their own
 * order: refused. */
static void shutdown_from_a_collector_is_refused(void **state)
{
    (void)state;
    goio_prom_registry *other;
    assert_ok(goio_prom_registry_new(&other));
    goio_prom_collector *c;
    assert_ok(goio_prom_collector_register(reg, shuts_down_the_tracker, other,
                                           NULL, &c));
    assert_ok(goio_prom_collector_register(other, shuts_down_the_tracker, other,
                                           NULL, NULL));
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    assert_goio(GOIO_EBUSY, shutdown_rc);
    assert_goio(GOIO_EBUSY, init_rc);
    goio_free(text);
    shutdown_rc = init_rc = 0;
    text = prom_render_text(other, GOIO_PROM_TEXT);
    assert_goio(GOIO_EBUSY, shutdown_rc);
    assert_goio(GOIO_EBUSY, init_rc);
    goio_free(text);
    goio_prom_registry_free(other);
    assert_ok(goio_prom_collector_unregister(reg, c));
    /* Nothing was taken down. */
    assert_ok(goio_prom_request_open(&req_b));
    assert_ok(goio_prom_request_close(&req_b, 200));
    assert_goio(GOIO_EALREADY, goio_prom_tracker_init(reg));
}

enum { THREADS = 4, PER_THREAD = 3000 };

static void *serve_requests(void *arg)
{
    const char *method = arg;
    goio_prom_request r = {"load", "2", method, "/x"};
    for (int i = 0; i < PER_THREAD; i++) {
        int64_t start = goio_now_mono_ns();
        if (goio_prom_request_open(&r) ||
            goio_prom_request_observe_duration(&r, start) ||
            goio_prom_request_close(&r, i % 3 ? 200 : 404))
            return (void *)1;
    }
    return NULL;
}

static void concurrent_requests_balance(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    const char *methods[THREADS] = {"GET", "GET", "PUT", "PUT"};
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, serve_requests, (void *)methods[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        assert_null(res);
    }
    char *text = prom_render_text(reg, GOIO_PROM_TEXT);
    double v;
    for (int m = 0; m < 2; m++) {
        char series[256];
        const char *method = m ? "PUT" : "GET";
        snprintf(series, sizeof series,
                 "io_http_requests_current{method=\"%s\",path=\"/x\","
                 "serviceName=\"load\",version=\"2\"}",
                 method);
        assert_true(prom_sample(text, series, &v));
        assert_true(v == 0);
        snprintf(series, sizeof series,
                 "io_http_requests_total{method=\"%s\",path=\"/x\","
                 "serviceName=\"load\",status=\"404\",version=\"2\"}",
                 method);
        assert_true(prom_sample(text, series, &v));
        assert_true(v == 2 * PER_THREAD / 3);
        snprintf(series, sizeof series,
                 "io_http_request_duration_seconds_count{method=\"%s\","
                 "path=\"/x\",serviceName=\"load\",version=\"2\"}",
                 method);
        assert_true(prom_sample(text, series, &v));
        assert_true(v == 2 * PER_THREAD);
    }
    goio_free(text);
}

static void shutdown_lets_the_registry_go(void **state)
{
    (void)state;
    assert_ok(goio_prom_tracker_deinit());
    assert_goio(GOIO_EINVAL, goio_prom_tracker_deinit());
    assert_goio(GOIO_EINVAL, goio_prom_request_open(&req_a));
    assert_goio(GOIO_ENOENT,
                goio_prom_registry_unregister(reg, "io_http_requests_total"));
    goio_prom_registry_free(reg);
    /* A new registry can take the tracker again. */
    assert_ok(goio_prom_registry_new(&reg));
    assert_ok(goio_prom_tracker_init(reg));
    assert_ok(goio_prom_request_open(&req_a));
    assert_ok(goio_prom_request_close(&req_a, 200));
    assert_ok(goio_prom_tracker_deinit());
    goio_prom_registry_free(reg);
    reg = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(everything_is_rejected_before_init),
        cmocka_unit_test(init_fails_cleanly_when_a_name_is_taken),
        cmocka_unit_test(init_once),
        cmocka_unit_test(requests_are_tracked_with_the_go_names),
        cmocka_unit_test(promtool_lints_only_the_camel_case_label),
        cmocka_unit_test(bad_requests_change_nothing),
        cmocka_unit_test(shutdown_from_a_collector_is_refused),
        cmocka_unit_test(concurrent_requests_balance),
        cmocka_unit_test(shutdown_lets_the_registry_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
