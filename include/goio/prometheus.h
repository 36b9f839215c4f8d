/* SPDX-License-Identifier: MIT */
/** @file
 * prometheus (goio_prom_*): a metrics registry (counters, gauges,
 * histograms, vectors), text 0.0.4 / OpenMetrics / gzip exposition, process
 * metrics, collectors, a /metrics endpoint and the Go library's request
 * tracker.
 *
 * Handles belong to their registry (NULL: the default one): valid until the
 * metric is unregistered, the child removed or the registry freed. A vector
 * child is stable (same labels, same pointer): look it up once.
 * Thread-safety: everything is safe for concurrent use; updates and lookups
 * of existing children take no lock. Errors: GOIO_EINVAL (names, labels,
 * values outside Prometheus' data model), GOIO_EEXIST (name taken),
 * GOIO_ETYPE (wrong kind), GOIO_ENOMEM, GOIO_EBUSY (registry change from a
 * collector). Logging category "prometheus". Details: docs/prometheus.md.
 */
#ifndef GOIO_PROMETHEUS_H
#define GOIO_PROMETHEUS_H

#include <goio/core.h>
#include <goio/http.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- registry ------------------------------------------------------------ */

/** A set of metrics and collectors exposed together (one /metrics page). */
typedef struct goio_prom_registry goio_prom_registry;

/** An empty registry (no process metrics: see
 * goio_prom_process_collector_register). Free with goio_prom_registry_free.
 */
GOIO_EXTERN int goio_prom_registry_new(goio_prom_registry **out);

/** Frees the registry, every metric registered in it (all their handles
 * become invalid) and its collectors (their destroy callbacks run). No
 * other thread may be using it. NULL and the default registry are no-ops,
 * as is a call from inside one of the registry's own collectors. */
GOIO_EXTERN void goio_prom_registry_free(goio_prom_registry *reg);

/** The process-wide default registry, with the process collector
 * registered, as client_golang's. Made on first use and never freed;
 * NULL only when that first allocation fails. Every function taking a
 * registry uses it when passed NULL. */
GOIO_EXTERN goio_prom_registry *goio_prom_registry_default(void);

/* ---- metric options ------------------------------------------------------ */

/** The kind of a metric family. */
typedef enum goio_prom_type {
    GOIO_PROM_COUNTER = 0,   /**< only goes up */
    GOIO_PROM_GAUGE = 1,     /**< goes up and down */
    GOIO_PROM_HISTOGRAM = 2, /**< observations counted in buckets */
    GOIO_PROM_UNTYPED = 3    /**< collectors only ("unknown" in OpenMetrics) */
} goio_prom_type;

/** A label name and value; both NUL-terminated. */
typedef struct goio_prom_label {
    const char *name;  /**< a valid label name */
    const char *value; /**< any UTF-8 */
} goio_prom_label;

/** Most labels a metric may have (variable plus constant). */
#define GOIO_PROM_MAX_LABELS 32

/** Describes a metric. Strings are copied; nothing here must outlive the
 * constructor call. */
typedef struct goio_prom_metric_config {
    /** Full name = ns "_" subsystem "_" name, empty parts skipped, as
     * client_golang's BuildFQName. ns and subsystem may be NULL. */
    const char *ns;
    const char *subsystem; /**< the middle part of the name; may be NULL */
    const char *name;      /**< required */
    /** Help text (UTF-8, any characters: it is escaped). NULL or "" means
     * no HELP line, which promtool lints. */
    const char *help;
    /** Vectors: the label names children are told apart by, in the order
     * lookups pass values. Plain metrics: none. */
    const char *const *label_names;
    size_t label_count; /**< entries in label_names */
    /** Labels with a fixed value on every child. */
    const goio_prom_label *const_labels;
    size_t const_label_count; /**< entries in const_labels */
    /** Histograms: upper bounds, strictly increasing, no NaN; a trailing
     * +Inf is implied (and dropped if given). NULL/0: the default
     * buckets. Other types: must be NULL/0. */
    const double *buckets;
    size_t bucket_count; /**< entries in buckets */
} goio_prom_metric_config;

/** Zero-fills (no buckets means the defaults); NULL is a no-op. */
GOIO_EXTERN void goio_prom_metric_config_init(goio_prom_metric_config *cfg);

/** client_golang's DefBuckets: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10. */
#define GOIO_PROM_DEFAULT_BUCKET_COUNT 11
/** The default buckets (a static array of GOIO_PROM_DEFAULT_BUCKET_COUNT). */
GOIO_EXTERN const double *goio_prom_buckets_default(void);

/** Bucket helpers writing `count` bounds into out[]: linear (start + i *
 * width), exponential (start * factor^i), exponential_range (count bounds
 * from min to max). GOIO_EINVAL for bad arguments. */
GOIO_EXTERN int goio_prom_buckets_linear(double start, double width,
                                         size_t count, double *out);
/** start * factor^i (start > 0, factor > 1). */
GOIO_EXTERN int goio_prom_buckets_exponential(double start, double factor,
                                              size_t count, double *out);
/** count (>= 2) bounds growing by one factor from min (> 0) to max. */
GOIO_EXTERN int goio_prom_buckets_exponential_range(double min, double max,
                                                    size_t count, double *out);

/* ---- metrics and vectors ------------------------------------------------- */

/** A counter child: one time series of a plain counter or a vector.
 * Children are one time series (or one histogram) each. */
typedef struct goio_prom_counter goio_prom_counter;
/** A gauge child. */
typedef struct goio_prom_gauge goio_prom_gauge;
/** A histogram child (its buckets, count and sum). */
typedef struct goio_prom_histogram goio_prom_histogram;
/** A vector: a family of children sharing a name and label names. */
typedef struct goio_prom_vec goio_prom_vec;

/** Creates and registers a plain metric (cfg->label_count must be 0) and
 * returns its only child. GOIO_EEXIST when the registry has a metric of
 * that name already; GOIO_EINVAL for invalid options (see the top). */
GOIO_EXTERN int goio_prom_counter_register(goio_prom_registry *reg,
                                           const goio_prom_metric_config *cfg,
                                           goio_prom_counter **out);
/** goio_prom_counter_register for a gauge. */
GOIO_EXTERN int goio_prom_gauge_register(goio_prom_registry *reg,
                                         const goio_prom_metric_config *cfg,
                                         goio_prom_gauge **out);
/** goio_prom_counter_register for a histogram (cfg->buckets). */
GOIO_EXTERN int goio_prom_histogram_register(goio_prom_registry *reg,
                                             const goio_prom_metric_config *cfg,
                                             goio_prom_histogram **out);

/** Creates and registers a vector of `type` (counter, gauge or histogram;
 * GOIO_EINVAL for untyped) with cfg->label_names. A vector with children
 * is exposed; an empty one is not. */
GOIO_EXTERN int goio_prom_vec_register(goio_prom_registry *reg,
                                       goio_prom_type type,
                                       const goio_prom_metric_config *cfg,
                                       goio_prom_vec **out);

/**
 * The child for `values` (one per label name, in the vector's order),
 * created on first use, as client_golang's WithLabelValues. GOIO_ETYPE
 * when the vector holds another kind, GOIO_EINVAL when count differs
 * from the vector's label count, a value is NULL or not UTF-8. Existing
 * children are found without a lock.
 */
GOIO_EXTERN int goio_prom_vec_counter(goio_prom_vec *vec,
                                      const char *const *values, size_t count,
                                      goio_prom_counter **out);
/** goio_prom_vec_counter for a gauge vector. */
GOIO_EXTERN int goio_prom_vec_gauge(goio_prom_vec *vec,
                                    const char *const *values, size_t count,
                                    goio_prom_gauge **out);
/** goio_prom_vec_counter for a histogram vector. */
GOIO_EXTERN int goio_prom_vec_histogram(goio_prom_vec *vec,
                                        const char *const *values, size_t count,
                                        goio_prom_histogram **out);

/** The same, by name/value pairs in any order, as client_golang's
 * With(Labels). GOIO_EINVAL when a name is unknown, repeated or missing. */
GOIO_EXTERN int goio_prom_vec_counter_with(goio_prom_vec *vec,
                                           const goio_prom_label *labels,
                                           size_t count,
                                           goio_prom_counter **out);
/** goio_prom_vec_counter_with for a gauge vector. */
GOIO_EXTERN int goio_prom_vec_gauge_with(goio_prom_vec *vec,
                                         const goio_prom_label *labels,
                                         size_t count, goio_prom_gauge **out);
/** goio_prom_vec_counter_with for a histogram vector. */
GOIO_EXTERN int goio_prom_vec_histogram_with(goio_prom_vec *vec,
                                             const goio_prom_label *labels,
                                             size_t count,
                                             goio_prom_histogram **out);

/** Removes the child with these values (its handle becomes invalid once
 * this returns; it waits for concurrent lookups to finish). GOIO_ENOENT
 * when there is none. */
GOIO_EXTERN int goio_prom_vec_remove(goio_prom_vec *vec,
                                     const char *const *values, size_t count);
/** goio_prom_vec_remove by name/value pairs in any order. */
GOIO_EXTERN int goio_prom_vec_remove_with(goio_prom_vec *vec,
                                          const goio_prom_label *labels,
                                          size_t count);
/** Removes every child (all their handles become invalid). */
GOIO_EXTERN int goio_prom_vec_reset(goio_prom_vec *vec);
/** How many children the vector has now. */
GOIO_EXTERN int goio_prom_vec_len(goio_prom_vec *vec, size_t *out);

/** Unregisters and frees the metric or vector of that full name (every
 * handle into it becomes invalid; no other thread may still use them).
 * GOIO_ENOENT when it is not registered. */
GOIO_EXTERN int goio_prom_registry_unregister(goio_prom_registry *reg,
                                              const char *name);

/* ---- updates (lock-free) ------------------------------------------------- */

/** Adds 1. Every update returns 0, or GOIO_EINVAL for a NULL handle. */
GOIO_EXTERN int goio_prom_counter_inc(goio_prom_counter *c);
/** Adds v; counters only go up: negative values and NaN are GOIO_EINVAL. */
GOIO_EXTERN int goio_prom_counter_add(goio_prom_counter *c, double v);
/** The current value into *out (GOIO_EINVAL for NULLs). */
GOIO_EXTERN int goio_prom_counter_value(const goio_prom_counter *c,
                                        double *out);

/** Sets the gauge to v. */
GOIO_EXTERN int goio_prom_gauge_set(goio_prom_gauge *g, double v);
/** Adds 1. */
GOIO_EXTERN int goio_prom_gauge_inc(goio_prom_gauge *g);
/** Subtracts 1. */
GOIO_EXTERN int goio_prom_gauge_dec(goio_prom_gauge *g);
/** Adds v (concurrent adds are never lost). */
GOIO_EXTERN int goio_prom_gauge_add(goio_prom_gauge *g, double v);
/** Subtracts v. */
GOIO_EXTERN int goio_prom_gauge_sub(goio_prom_gauge *g, double v);
/** Sets the gauge to the Unix time in seconds (wall clock). */
GOIO_EXTERN int goio_prom_gauge_set_to_current_time(goio_prom_gauge *g);
/** The current value into *out (GOIO_EINVAL for NULLs). */
GOIO_EXTERN int goio_prom_gauge_value(const goio_prom_gauge *g, double *out);

/** Counts v in the first bucket whose upper bound is >= v. GOIO_EINVAL for
 * NaN. */
GOIO_EXTERN int goio_prom_histogram_observe(goio_prom_histogram *h, double v);
/** Observations so far and their sum; either pointer may be NULL. */
GOIO_EXTERN int goio_prom_histogram_value(const goio_prom_histogram *h,
                                          uint64_t *count, double *sum);
/** How many buckets the histogram has, the +Inf one included. */
GOIO_EXTERN int goio_prom_histogram_bucket_count(const goio_prom_histogram *h,
                                                 size_t *out);
/** Bucket i (0-based): its upper bound (+Inf last) and the cumulative
 * count of observations <= it. GOIO_ERANGE past the end. */
GOIO_EXTERN int goio_prom_histogram_bucket(const goio_prom_histogram *h,
                                           size_t i, double *upper_bound,
                                           uint64_t *cumulative);

/* ---- custom collectors --------------------------------------------------- */

/** Where a collector writes its samples during one scrape; valid only
 * inside the collect call. */
typedef struct goio_prom_sink goio_prom_sink;
/** A registered collector (goio_prom_collector_register). */
typedef struct goio_prom_collector goio_prom_collector;
/** Collectors add samples at scrape time: fn(sink, data) runs during every
 * exposition, on the scraping thread with the registry's lock held (it must
 * not register, unregister or scrape that registry: GOIO_EBUSY). A non-zero
 * return drops what that call added (logged). */
typedef int (*goio_prom_collect_fn)(goio_prom_sink *sink, void *data);
/** Releases a collector's data when the collector goes away. */
typedef void (*goio_prom_data_free_fn)(void *data);

/** Registers fn. destroy(data) (may be NULL) runs when the collector is
 * unregistered or the registry freed. *out (may be NULL) identifies it
 * for goio_prom_collector_unregister. On failure destroy is not called. */
GOIO_EXTERN int goio_prom_collector_register(goio_prom_registry *reg,
                                             goio_prom_collect_fn fn,
                                             void *data,
                                             goio_prom_data_free_fn destroy,
                                             goio_prom_collector **out);
/** Removes and frees c (destroy runs). GOIO_ENOENT when not registered. */
GOIO_EXTERN int goio_prom_collector_unregister(goio_prom_registry *reg,
                                               goio_prom_collector *c);

/** The ctx of the scrape running the collector (NULL: none, or a NULL
 * sink), for a collector that waits on something. */
GOIO_EXTERN goio_ctx *goio_prom_sink_ctx(const goio_prom_sink *sink);

/** Starts a family: later samples belong to it. Validated like a
 * registered metric (GOIO_EINVAL); after a failure, samples are refused
 * until the next valid family. */
GOIO_EXTERN int goio_prom_sink_family(goio_prom_sink *sink, goio_prom_type type,
                                      const char *name, const char *help,
                                      const char *const *label_names,
                                      size_t label_count);
/** A counter, gauge or untyped sample with one value per label name
 * (label_values may be NULL when the family has no labels). A counter
 * rejects negative values and NaN. */
GOIO_EXTERN int goio_prom_sink_value(goio_prom_sink *sink,
                                     const char *const *label_values,
                                     double value);
/** A histogram sample: bucket_count upper bounds (strictly increasing; a
 * trailing +Inf is implied) with cumulative counts (non-decreasing), the
 * total count (>= the last cumulative count) and the sum. */
GOIO_EXTERN int goio_prom_sink_histogram(goio_prom_sink *sink,
                                         const char *const *label_values,
                                         const double *upper_bounds,
                                         const uint64_t *cumulative_counts,
                                         size_t bucket_count, uint64_t count,
                                         double sum);

/** Registers client_golang's process_* metrics (read from /proc at scrape
 * time); the default registry has them. GOIO_EEXIST when registered twice. */
GOIO_EXTERN int goio_prom_process_collector_register(goio_prom_registry *reg);

/* ---- exposition ---------------------------------------------------------- */

/** An exposition format. */
typedef enum goio_prom_format {
    GOIO_PROM_TEXT = 0,       /**< text format 0.0.4 */
    GOIO_PROM_OPENMETRICS = 1 /**< OpenMetrics 1.0.0 text */
} goio_prom_format;

/** What to send, as chosen from a request's headers. Strings are static. */
typedef struct goio_prom_encoding {
    goio_prom_format format;      /**< the format to write */
    bool gzip;                    /**< gzip the body */
    const char *content_type;     /**< the Content-Type header value */
    const char *content_encoding; /**< "gzip", or NULL: send no header */
} goio_prom_encoding;

/** Appends the registry's exposition in `format` (deterministic order). ctx
 * (NULL: none) goes to collectors; once done, its code is returned. On
 * error out is unchanged. */
GOIO_EXTERN int goio_prom_registry_write(goio_prom_registry *reg, goio_ctx *ctx,
                                         goio_prom_format format,
                                         goio_buf *out);

/** Picks format and gzip from Accept / Accept-Encoding (either may be
 * NULL): OpenMetrics when preferred by q-value, gzip when accepted. */
GOIO_EXTERN int goio_prom_negotiate(const char *accept,
                                    const char *accept_encoding,
                                    goio_prom_encoding *out);

/** Negotiates, then appends the (maybe gzipped) exposition to out for any
 * HTTP server; enc (may be NULL) gets the headers to send. On error out is
 * unchanged. */
GOIO_EXTERN int goio_prom_registry_render(goio_prom_registry *reg,
                                          goio_ctx *ctx, const char *accept,
                                          const char *accept_encoding,
                                          goio_buf *out,
                                          goio_prom_encoding *enc);

/* ---- HTTP request tracking (the Go library's prometheus client) ---------- */

/** One request's labels; all four required (UTF-8). */
typedef struct goio_prom_request {
    const char *service_name; /**< label `service_name` */
    const char *version;      /**< label `version` */
    const char *method;       /**< label `method`, e.g. "GET" */
    const char *path;         /**< label `path`: a route, not the raw URL */
} goio_prom_request;

/** Registers the Go library's io_http_requests_total,
 * io_http_requests_current and io_http_request_duration_seconds in reg
 * (NULL: default). Process-wide: GOIO_EALREADY once initialized; GOIO_EEXIST,
 * GOIO_EBUSY leave nothing registered. reg must live until _deinit. */
GOIO_EXTERN int goio_prom_tracker_init(goio_prom_registry *reg);
/** Undoes goio_prom_tracker_init (no request tracked meanwhile). GOIO_EINVAL
 * when not initialized, GOIO_EBUSY from a collector. */
GOIO_EXTERN int goio_prom_tracker_deinit(void);

/** A request started: io_http_requests_current +1. GOIO_EINVAL before
 * init or for missing labels. */
GOIO_EXTERN int goio_prom_request_open(const goio_prom_request *req);
/** Observes now - start_ns (a goio_now_mono_ns() instant) in seconds in
 * io_http_request_duration_seconds. */
GOIO_EXTERN int goio_prom_request_observe_duration(const goio_prom_request *req,
                                                   int64_t start_ns);
/** A request ended with `status` (100..999): io_http_requests_current -1
 * and io_http_requests_total{status="<status>"} +1. */
GOIO_EXTERN int goio_prom_request_close(const goio_prom_request *req,
                                        int status);

/* ---- the /metrics endpoint (goio's HTTP server) -------------------------- */

/** What goio_prom_http_handler serves; goio_prom_handler_config_init
 * fills the defaults. */
typedef struct goio_prom_handler_config {
    /** The registry served; NULL: the default one. */
    goio_prom_registry *registry;
    /** Serve text 0.0.4 even to OpenMetrics scrapers (promhttp's default). */
    bool disable_openmetrics;
    /** Never gzip. */
    bool disable_gzip;
} goio_prom_handler_config;

/** Fills the defaults: the default registry, OpenMetrics and gzip when the
 * scraper asks for them (all zero). NULL is a no-op. */
GOIO_EXTERN void goio_prom_handler_config_init(goio_prom_handler_config *cfg);

/** A goio_http_handler_fn answering a scrape (negotiated format and gzip;
 * 500 + `metrics_render_failed` on failure). data: a goio_prom_handler_config
 * that outlives the route, or NULL. Collectors get the request's ctx. */
GOIO_EXTERN void goio_prom_http_handler(goio_http_request *req,
                                        goio_http_response *res, void *data);

/** A metrics-only HTTP server (its own goio_http_server and router). */
typedef struct goio_prom_server goio_prom_server;

/** Settings of a metrics server; goio_prom_server_config_init fills the
 * defaults. */
typedef struct goio_prom_server_config {
    const char *host; /**< NULL: "127.0.0.1"; "0.0.0.0" for remote scrapers */
    int port;         /**< 0: a free port (goio_prom_server_port) */
    const char *path; /**< default "/metrics" */
    goio_prom_handler_config handler; /**< registry, format and gzip */
} goio_prom_server_config;

/** Fills the defaults above (port 0). NULL is a no-op. */
GOIO_EXTERN void goio_prom_server_config_init(goio_prom_server_config *cfg);

/** Creates a stopped server for cfg (copied; NULL: the defaults); nothing
 * listens until goio_prom_server_start. GOIO_EINVAL for a NULL out or a
 * port outside 0..65535. Free with goio_prom_server_free. */
GOIO_EXTERN int goio_prom_server_new(const goio_prom_server_config *cfg,
                                     goio_prom_server **out);
/** Binds host:port and serves GET (and HEAD) on path; returns once it
 * accepts connections. Address errors (GOIO_EADDRINUSE, ...) are returned
 * here (start may then be retried). Once per server: GOIO_EALREADY when
 * started or stopped. GOIO_EINVAL for NULL. */
GOIO_EXTERN int goio_prom_server_start(goio_prom_server *srv);
/** The bound port (also after stop); 0 before start or for NULL. */
GOIO_EXTERN int goio_prom_server_port(const goio_prom_server *srv);
/** Stops listening; in-flight scrapes get up to timeout_ms (0: none), then
 * are aborted (goio_http_server_stop). Idempotent; a stopped server cannot
 * start again. GOIO_EINVAL for NULL. */
GOIO_EXTERN int goio_prom_server_stop(goio_prom_server *srv,
                                      int64_t timeout_ms);
/** Stops (in-flight scrapes get 1 s) if needed and frees. NULL is a no-op. */
GOIO_EXTERN void goio_prom_server_free(goio_prom_server *srv);

/* ---- request-tracking middleware (goio's HTTP server) -------------------- */

/** Labels of the tracking middleware (the Go library's gin trackers).
 * Strings must outlive the server; goio_prom_tracker_init must have run. */
typedef struct goio_prom_tracker_config {
    const char *service_name; /**< label `service_name` */
    const char *version;      /**< label `version` */
    /** The path label. NULL: the route pattern that matched
     * (goio_http_request_route), "" when none did. */
    const char *path;
    /** Also observe io_http_request_duration_seconds. */
    bool with_latency;
    /** goio_prom_http_track only: the route handler being tracked. */
    goio_http_handler next;
} goio_prom_tracker_config;

/** Fills the defaults: all zero (path NULL: the route pattern; no latency;
 * no next). NULL is a no-op. */
GOIO_EXTERN void goio_prom_tracker_config_init(goio_prom_tracker_config *cfg);

/** A route handler tracking cfg->next (data: a goio_prom_tracker_config that
 * outlives the route), as gin's per-route middleware. */
GOIO_EXTERN void goio_prom_http_track(goio_http_request *req,
                                      goio_http_response *res, void *data);

/** The same as server-wide middleware (cfg->next unused). With path NULL the
 * route is known only after the handler, so io_http_requests_current does
 * not show such requests in flight. */
GOIO_EXTERN void goio_prom_http_middleware(goio_http_request *req,
                                           goio_http_response *res,
                                           goio_http_handler next, void *data);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_PROMETHEUS_H */
