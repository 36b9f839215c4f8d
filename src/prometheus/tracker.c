/* SPDX-License-Identifier: MIT */
/*
 * The Go library's request tracker (its prometheus.InitClient,
 * OpenRequest, ObserveDuration, CloseRequest), with its metric names and
 * label names unchanged so dashboards built for Go services keep working.
 * The camelCase label serviceName is the Go library's; promtool lints it.
 */
#include "prom_int.h"

/* The three metrics, in registration order. */
enum { TOTAL, CURRENT, DURATION, NMETRICS };

static const struct {
    goio_prom_type type;
    const char *name, *help;
    size_t nlabels; /* the first n of label_names */
} metrics[NMETRICS] = {
    [TOTAL] = {GOIO_PROM_COUNTER, "io_http_requests_total",
               "HTTP requests served, by service, version, method, path and "
               "status.",
               5},
    [CURRENT] = {GOIO_PROM_GAUGE, "io_http_requests_current",
                 "HTTP requests in progress, by service, version, method and "
                 "path.",
                 4},
    [DURATION] = {GOIO_PROM_HISTOGRAM, "io_http_request_duration_seconds",
                  "Time taken to serve HTTP requests, in seconds.", 4},
};

typedef struct tracker {
    goio_prom_registry *reg;
    goio_prom_vec *vec[NMETRICS];
} tracker;

static tracker g_tracker;
static atomic_bool g_ready;
static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const label_names[] = {"serviceName", "version", "method",
                                          "path", "status"};

static void unregister_first(goio_prom_registry *reg, size_t n)
{
    for (size_t i = 0; i < n; i++)
        goio_prom_registry_unregister(reg, metrics[i].name);
}

/* All three or, on failure, none. */
static int register_all(tracker *t)
{
    for (size_t i = 0; i < NMETRICS; i++) {
        goio_prom_metric_config o;
        goio_prom_metric_config_init(&o);
        o.name = metrics[i].name;
        o.help = metrics[i].help;
        o.label_names = label_names;
        o.label_count = metrics[i].nlabels;
        int rc =
            goio_prom_vec_register(t->reg, metrics[i].type, &o, &t->vec[i]);
        if (rc) {
            unregister_first(t->reg, i);
            return rc;
        }
    }
    return 0;
}

/*
 * init and shutdown take g_init_mu, then registries' locks. A collector
 * runs under its registry's lock, so from there they would take the two
 * the other way round and could deadlock with another thread's init.
 */
int goio_prom_tracker_init(goio_prom_registry *reg)
{
    if (goio__prom_in_any_collect())
        return GOIO_EBUSY;
    pthread_mutex_lock(&g_init_mu);
    int rc = GOIO_EALREADY;
    if (!atomic_load(&g_ready)) {
        tracker t = {goio__prom_reg(reg), {NULL}};
        rc = register_all(&t);
        if (!rc) {
            g_tracker = t;
            atomic_store(&g_ready, true); /* publishes g_tracker */
        }
    }
    pthread_mutex_unlock(&g_init_mu);
    return rc;
}

int goio_prom_tracker_deinit(void)
{
    if (goio__prom_in_any_collect())
        return GOIO_EBUSY;
    pthread_mutex_lock(&g_init_mu);
    int rc = GOIO_EINVAL;
    if (atomic_load(&g_ready)) {
        atomic_store(&g_ready, false);
        unregister_first(g_tracker.reg, NMETRICS);
        g_tracker = (tracker){0};
        rc = 0;
    }
    pthread_mutex_unlock(&g_init_mu);
    return rc;
}

/* The four common label values, or GOIO_EINVAL before init / for NULLs. */
static int request_values(const goio_prom_request *req, const char **vals)
{
    if (!req || !atomic_load_explicit(&g_ready, memory_order_acquire))
        return GOIO_EINVAL;
    vals[0] = req->service_name;
    vals[1] = req->version;
    vals[2] = req->method;
    vals[3] = req->path;
    for (int i = 0; i < 4; i++)
        if (!vals[i])
            return GOIO_EINVAL;
    return 0;
}

int goio_prom_request_open(const goio_prom_request *req)
{
    const char *vals[5];
    goio_prom_gauge *g;
    int rc = request_values(req, vals);
    if (!rc)
        rc = goio_prom_vec_gauge(g_tracker.vec[CURRENT], vals, 4, &g);
    return rc ? rc : goio_prom_gauge_inc(g);
}

int goio_prom_request_observe_duration(const goio_prom_request *req,
                                       int64_t start_ns)
{
    const char *vals[5];
    goio_prom_histogram *h;
    int rc = request_values(req, vals);
    if (!rc)
        rc = goio_prom_vec_histogram(g_tracker.vec[DURATION], vals, 4, &h);
    if (rc)
        return rc;
    int64_t elapsed = goio_now_mono_ns() - start_ns;
    return goio_prom_histogram_observe(h, elapsed > 0 ? (double)elapsed / 1e9
                                                      : 0.0);
}

int goio_prom_request_close(const goio_prom_request *req, int status)
{
    const char *vals[5];
    char code[4];
    goio_prom_gauge *g;
    goio_prom_counter *c;
    if (status < 100 || status > 999)
        return GOIO_EINVAL;
    int rc = request_values(req, vals);
    if (rc)
        return rc;
    code[0] = (char)('0' + status / 100);
    code[1] = (char)('0' + status / 10 % 10);
    code[2] = (char)('0' + status % 10);
    code[3] = '\0';
    vals[4] = code;
    /* Both lookups first, so a bad label value changes neither metric. */
    rc = goio_prom_vec_gauge(g_tracker.vec[CURRENT], vals, 4, &g);
    if (!rc)
        rc = goio_prom_vec_counter(g_tracker.vec[TOTAL], vals, 5, &c);
    if (!rc)
        rc = goio_prom_gauge_dec(g);
    return rc ? rc : goio_prom_counter_inc(c);
}
