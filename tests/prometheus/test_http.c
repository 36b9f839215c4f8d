/* SPDX-License-Identifier: MIT */
/*
 * The /metrics endpoint and the tracking middleware on goio's HTTP
 * server, with libcurl as the client: negotiation and headers as sent on
 * the wire, mounting on a user's router, requests in flight while a
 * handler runs, status and latency flavours.
 */
#include "prom_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static goio_prom_registry *reg; /* the tracker's, for the whole process */

static int group_setup(void **state)
{
    (void)state;
    if (goio_prom_registry_new(&reg) || goio_prom_tracker_init(reg))
        return -1;
    goio_prom_metric_config o = prom_opts("app_jobs_total", "Jobs done.");
    goio_prom_counter *c;
    if (goio_prom_counter_register(reg, &o, &c) || goio_prom_counter_add(c, 42))
        return -1;
    return 0;
}

static char *render(goio_prom_format f)
{
    return prom_render_text(reg, f);
}

static goio_prom_server *start_metrics_server(bool no_om, bool no_gzip)
{
    goio_prom_server_config cfg;
    goio_prom_server_config_init(&cfg);
    cfg.handler.registry = reg;
    cfg.handler.disable_openmetrics = no_om;
    cfg.handler.disable_gzip = no_gzip;
    goio_prom_server *s;
    assert_ok(goio_prom_server_new(&cfg, &s));
    assert_int_equal(goio_prom_server_port(s), 0); /* not listening yet */
    assert_ok(goio_prom_server_start(s));
    assert_true(goio_prom_server_port(s) > 0);
    return s;
}

static void assert_header(const prom_resp *r, const char *name,
                          const char *want)
{
    char got[256];
    if (!prom_resp_header(r, name, got, sizeof got))
        fail_msg("no %s header in\n%s", name, r->headers.data);
    assert_string_equal(got, want);
}

static void endpoint_negotiates_format_and_gzip(void **state)
{
    (void)state;
    goio_prom_server *s = start_metrics_server(false, false);
    int port = goio_prom_server_port(s);
    prom_resp r;

    prom_get(port, "/metrics", NULL, false, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type",
                  "text/plain; version=0.0.4; charset=utf-8");
    assert_header(&r, "Vary", "Accept-Encoding");
    char got[64];
    assert_false(prom_resp_header(&r, "Content-Encoding", got, sizeof got));
    assert_non_null(strstr((char *)r.body.data, "\napp_jobs_total 42\n"));
    prom_resp_free(&r);

    const char *om[] = {"Accept: application/openmetrics-text; "
                        "version=1.0.0,text/plain;q=0.5",
                        "Accept-Encoding: gzip", NULL};
    prom_get(port, "/metrics", om, false, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type",
                  "application/openmetrics-text; version=1.0.0; "
                  "charset=utf-8");
    assert_header(&r, "Content-Encoding", "gzip");
    char *body = prom_gunzip(r.body.data, r.body.len);
    assert_non_null(strstr(body, "# TYPE app_jobs counter\n"));
    assert_non_null(strstr(body, "\napp_jobs_total 42\n"));
    assert_non_null(strstr(body, "# EOF\n"));
    goio_free(body);
    prom_resp_free(&r);

    prom_get(port, "/metrics", NULL, true, &r); /* HEAD */
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    prom_resp_free(&r);

    prom_get(port, "/other", NULL, false, &r);
    assert_int_equal(r.status, 404);
    prom_resp_free(&r);
    goio_prom_server_free(s);
}

static void endpoint_options_turn_formats_off(void **state)
{
    (void)state;
    goio_prom_server *s = start_metrics_server(true, true);
    const char *om[] = {"Accept: application/openmetrics-text",
                        "Accept-Encoding: gzip", NULL};
    prom_resp r;
    prom_get(goio_prom_server_port(s), "/metrics", om, false, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type",
                  "text/plain; version=0.0.4; charset=utf-8");
    char got[64];
    assert_false(prom_resp_header(&r, "Content-Encoding", got, sizeof got));
    assert_false(prom_resp_header(&r, "Vary", got, sizeof got));
    char *text = render(GOIO_PROM_TEXT);
    /* The process collector is not in this registry, so the body is
     * exactly a render taken now (no request was tracked in between). */
    assert_non_null(strstr((char *)r.body.data, "app_jobs_total 42\n"));
    assert_int_equal(strncmp((char *)r.body.data, text, 20), 0);
    goio_free(text);
    prom_resp_free(&r);
    goio_prom_server_free(s);
}

static void server_config_errors(void **state)
{
    (void)state;
    goio_prom_server_config cfg;
    goio_prom_server *s, *s2;
    goio_prom_handler_config hc;
    memset(&hc, 0x5a, sizeof hc);
    goio_prom_handler_config_init(&hc);
    assert_null(hc.registry);
    assert_false(hc.disable_openmetrics);
    assert_false(hc.disable_gzip);
    goio_prom_handler_config_init(NULL);
    goio_prom_tracker_config tc;
    memset(&tc, 0x5a, sizeof tc);
    goio_prom_tracker_config_init(&tc);
    assert_null(tc.service_name);
    assert_null(tc.version);
    assert_null(tc.path);
    assert_false(tc.with_latency);
    assert_null(tc.next.fn);
    assert_null(tc.next.data);
    goio_prom_tracker_config_init(NULL);
    goio_prom_server_config_init(NULL); /* a no-op */
    memset(&cfg, 0x5a, sizeof cfg);
    goio_prom_server_config_init(&cfg);
    assert_null(cfg.host);
    assert_int_equal(cfg.port, 0);
    assert_string_equal(cfg.path, "/metrics");
    assert_null(cfg.handler.registry);
    assert_false(cfg.handler.disable_openmetrics);
    assert_false(cfg.handler.disable_gzip);
    assert_goio(GOIO_EINVAL, goio_prom_server_new(&cfg, NULL));
    cfg.port = -1;
    assert_goio(GOIO_EINVAL, goio_prom_server_new(&cfg, &s));
    cfg.port = 70000;
    assert_goio(GOIO_EINVAL, goio_prom_server_new(&cfg, &s));
    cfg.port = 0;
    cfg.path = "no-slash";
    assert_goio(GOIO_EINVAL, goio_prom_server_new(&cfg, &s));
    cfg.path = "/m";
    assert_ok(goio_prom_server_new(&cfg, &s));
    assert_ok(goio_prom_server_start(s));
    assert_goio(GOIO_EALREADY, goio_prom_server_start(s));
    cfg.port = goio_prom_server_port(s);
    assert_true(cfg.port > 0);
    /* An address in use: start fails, may be retried, and free is clean. */
    assert_ok(goio_prom_server_new(&cfg, &s2));
    assert_goio(GOIO_EADDRINUSE, goio_prom_server_start(s2));
    assert_int_equal(goio_prom_server_port(s2), 0);
    assert_goio(GOIO_EADDRINUSE, goio_prom_server_start(s2));
    goio_prom_server_free(s2);
    assert_goio(GOIO_EINVAL, goio_prom_server_start(NULL));
    assert_int_equal(goio_prom_server_port(NULL), 0);
    assert_goio(GOIO_EINVAL, goio_prom_server_stop(NULL, 0));
    assert_goio(GOIO_EINVAL, goio_prom_server_stop(s, -1));
    /* The default registry, on a custom path. */
    prom_resp r;
    prom_get(cfg.port, "/m", NULL, false, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((char *)r.body.data, "process_open_fds "));
    prom_resp_free(&r);
    /* Stopped: nothing listens, the port stays known, no restart. */
    assert_ok(goio_prom_server_stop(s, 1000));
    assert_ok(goio_prom_server_stop(s, 1000));
    assert_int_equal(goio_prom_server_port(s), cfg.port);
    assert_goio(GOIO_EALREADY, goio_prom_server_start(s));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)cfg.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(fd);
    goio_prom_server_free(s);
    goio_prom_server_free(NULL);
    /* A NULL config: the defaults (any free port, /metrics). */
    assert_ok(goio_prom_server_new(NULL, &s));
    assert_ok(goio_prom_server_start(s));
    prom_get(goio_prom_server_port(s), "/metrics", NULL, false, &r);
    assert_int_equal(r.status, 200);
    prom_resp_free(&r);
    goio_prom_server_free(s);
}

/* ---- a user's server: routes, the mounted handler, tracking -------------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
} gate;

static gate g_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                      false};

static void slow_handler(goio_http_request *req, goio_http_response *res,
                         void *data)
{
    (void)req;
    (void)data;
    pthread_mutex_lock(&g_gate.mu);
    while (!g_gate.open)
        pthread_cond_wait(&g_gate.cv, &g_gate.mu);
    pthread_mutex_unlock(&g_gate.mu);
    goio_http_respond(res, 201, "text/plain", "made\n", 5);
}

static void quick_handler(goio_http_request *req, goio_http_response *res,
                          void *data)
{
    (void)req;
    (void)data;
    goio_http_respond(res, 200, "text/plain", "ok\n", 3);
}

static goio_prom_tracker_config slow_route = {
    "route-svc", "1.0", NULL, true, {slow_handler, NULL}};
static goio_prom_tracker_config quick_route = {
    "status-svc", "1.0", "/fixed", false, {quick_handler, NULL}};
static goio_prom_tracker_config server_wide = {
    "mw-svc", "2.0", NULL, true, {NULL, NULL}};
static goio_prom_handler_config mounted = {NULL, false, false};

typedef struct user_server {
    goio_http_server *srv;
    goio_http_router *router;
    int port;
} user_server;

static void user_server_start(user_server *u)
{
    mounted.registry = reg;
    assert_ok(goio_http_router_new(&u->router));
    assert_ok(goio_http_router_handle(u->router, "GET", "/metrics",
                                      goio_prom_http_handler, &mounted));
    assert_ok(goio_http_router_handle(u->router, "GET", "/items/{id}",
                                      goio_prom_http_track, &slow_route));
    assert_ok(goio_http_router_handle(u->router, "GET", "/quick",
                                      goio_prom_http_track, &quick_route));
    u->srv = prom_serve(u->router, 4, &server_wide);
    u->port = goio_http_server_port(u->srv);
}

static void user_server_stop(user_server *u)
{
    goio_http_server_free(u->srv);
    goio_http_router_free(u->router);
}

typedef struct get_arg {
    int port;
    long status;
} get_arg;

static void *get_item(void *arg)
{
    get_arg *a = arg;
    prom_resp r;
    prom_get(a->port, "/items/7", NULL, false, &r);
    a->status = r.status;
    prom_resp_free(&r);
    return NULL;
}

static double value_of(const char *series)
{
    char *text = render(GOIO_PROM_TEXT);
    double v = -1;
    bool found = prom_sample(text, series, &v);
    goio_free(text);
    return found ? v : -1;
}

#define ROUTE "method=\"GET\",path=\"/items/{id}\",serviceName=\"route-svc\""

static void route_tracking_counts_requests_in_flight(void **state)
{
    (void)state;
    user_server u;
    user_server_start(&u);
    get_arg a = {u.port, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, get_item, &a), 0);
    const char *cur = "io_http_requests_current{" ROUTE ",version=\"1.0\"}";
    /* The handler is blocked: the request is in flight. */
    assert_true(GOIO_WAIT_UNTIL(value_of(cur) == 1, 10000));
    pthread_mutex_lock(&g_gate.mu);
    g_gate.open = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    pthread_join(t, NULL);
    assert_int_equal(a.status, 201);
    assert_true(value_of(cur) == 0);
    assert_true(value_of("io_http_requests_total{" ROUTE
                         ",status=\"201\",version=\"1.0\"}") == 1);
    assert_true(value_of("io_http_request_duration_seconds_count{" ROUTE
                         ",version=\"1.0\"}") == 1);
    user_server_stop(&u);
}

static void status_flavour_and_server_wide_middleware(void **state)
{
    (void)state;
    user_server u;
    user_server_start(&u);
    prom_resp r;
    for (int i = 0; i < 3; i++) {
        prom_get(u.port, "/quick", NULL, false, &r);
        assert_int_equal(r.status, 200);
        prom_resp_free(&r);
    }
    prom_get(u.port, "/nope", NULL, false, &r);
    assert_int_equal(r.status, 404);
    prom_resp_free(&r);
    prom_get(u.port, "/metrics", NULL, false, &r);
    assert_int_equal(r.status, 200);
    prom_resp_free(&r);

    /* Per route, status only: the fixed path, no duration. */
    assert_true(value_of("io_http_requests_total{method=\"GET\",path=\"/"
                         "fixed\",serviceName=\"status-svc\",status=\"200\","
                         "version=\"1.0\"}") == 3);
    char *text = render(GOIO_PROM_TEXT);
    assert_null(strstr(text, "duration_seconds_count{method=\"GET\",path=\"/"
                             "fixed\""));
    goio_free(text);
    /* Server-wide: the matched route, "" when none matched, latency. */
    assert_true(value_of("io_http_requests_total{method=\"GET\",path=\"/"
                         "quick\",serviceName=\"mw-svc\",status=\"200\","
                         "version=\"2.0\"}") == 3);
    assert_true(value_of("io_http_requests_total{method=\"GET\",path=\"\","
                         "serviceName=\"mw-svc\",status=\"404\",version="
                         "\"2.0\"}") == 1);
    assert_true(value_of("io_http_request_duration_seconds_count{method="
                         "\"GET\",path=\"/quick\",serviceName=\"mw-svc\","
                         "version=\"2.0\"}") == 3);
    assert_true(value_of("io_http_requests_current{method=\"GET\",path=\"/"
                         "quick\",serviceName=\"mw-svc\",version=\"2.0\"}") ==
                0);
    /* The scrape itself went through the middleware too (it is counted
     * after it was rendered, so it shows up in the next one). */
    assert_true(value_of("io_http_requests_total{method=\"GET\",path=\"/"
                         "metrics\",serviceName=\"mw-svc\",status=\"200\","
                         "version=\"2.0\"}") == 1);
    text = render(GOIO_PROM_TEXT);
    assert_null(prom_histograms_ok(text));
    goio_free(text);
    user_server_stop(&u);
}

static void count_call(goio_http_request *req, goio_http_response *res,
                       void *data)
{
    (void)req;
    (void)res;
    (*(int *)data)++;
}

static void middleware_without_options_passes_through(void **state)
{
    (void)state;
    int calls = 0;
    goio_prom_http_middleware(NULL, NULL,
                              (goio_http_handler){count_call, &calls}, NULL);
    assert_int_equal(calls, 1);
    /* Nothing to track or answer with: no crash, no call. */
    goio_prom_http_track(NULL, NULL, NULL);
    goio_prom_http_handler(NULL, NULL, NULL);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endpoint_negotiates_format_and_gzip),
        cmocka_unit_test(endpoint_options_turn_formats_off),
        cmocka_unit_test(server_config_errors),
        cmocka_unit_test(route_tracking_counts_requests_in_flight),
        cmocka_unit_test(status_flavour_and_server_wide_middleware),
        cmocka_unit_test(middleware_without_options_passes_through),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
