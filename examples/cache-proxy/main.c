/* SPDX-License-Identifier: MIT */
/*
 * cache-proxy: a caching reverse proxy built on goio. Requests go through
 * a goio_http_cache in shared mode (RFC 9111 shared-cache rules) to one
 * origin; GET /metrics (unless --no-metrics) serves Prometheus metrics:
 * the io_http_* request metrics and the cache's counters.
 *
 *   cache-proxy --origin http://HOST[:PORT][/PREFIX] [--listen HOST:PORT]
 *               [--cache-mib N] [--max-age-ms N] [--stale-if-error-ms N]
 *               [--port-file PATH] [--surrogate-name NAME] [--workers N]
 *               [--hot-mib N] [--no-metrics]
 *
 * As a reverse proxy it is its origin's surrogate: Surrogate-Control
 * (max-age, no-store, aimed at all surrogates or at NAME, default
 * "cache-proxy") overrides Cache-Control for this cache and is not passed
 * on to clients (see goio/http_cache.h).
 *
 * Bodies: goio_http_cache returns whole responses (it stores what it
 * receives), so the proxy sends each body with one write once it is
 * complete; the client API has no streaming mode to relay through. A
 * body of BORROW_MIN bytes or more is lent to the server without a copy
 * (goio_http_response_write_borrowed): it is queued at once, so the
 * handler thread is free at once however slow the client; the cache
 * response stays alive until the server releases it, and the release
 * frees it.
 *
 * Interim responses of the origin (103 Early Hints, 102 Processing) are
 * relayed to the client as they arrive (not 100 Continue); a response
 * from the cache has none.
 *
 * SIGINT or SIGTERM stops it gracefully.
 */
#include <goio/core.h>
#include <goio/http.h>
#include <goio/http_cache.h>
#include <goio/prometheus.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FWD_HEADERS 128
/* The server's default max_pending_bytes: a copied body beyond it keeps
 * the handler waiting for the client. Smaller ones are copied: lending
 * 64 KiB hits measured slower than copying them (docs/http_cache.md). */
#define BORROW_MIN      (256 * 1024)

typedef struct proxy_options {
    const char *origin;
    const char *listen_host;
    int listen_port;
    size_t cache_mib;
    int64_t max_age_ms;
    int64_t stale_if_error_ms;
    const char *port_file;
    const char *surrogate_name; /* "" : Surrogate-Control not read */
    unsigned workers;           /* handler threads; 0: the server's default */
    size_t hot_mib;             /* config.hot_body_bytes in MiB */
    bool metrics;
} proxy_options;

typedef struct proxy {
    proxy_options opt;
    size_t origin_len; /* without a trailing '/' */
    goio_http_cache *cache;
    goio_http_server *server;
    goio_prom_registry *registry;
    goio_prom_handler_config metrics;
    goio_prom_counter *served[5]; /* by goio_http_cache_served */
} proxy;

static void usage(FILE *to, int status)
{
    fprintf(to,
            "usage: cache-proxy --origin URL [--listen HOST:PORT] "
            "[--cache-mib N]\n"
            "                   [--max-age-ms N] [--stale-if-error-ms N]\n"
            "                   [--port-file PATH] [--surrogate-name NAME]\n"
            "                   [--workers N] [--hot-mib N] [--no-metrics]\n"
            "\n"
            "  --origin URL            origin base URL (http:// or "
            "https://), required\n"
            "  --listen HOST:PORT      where to listen (default "
            "127.0.0.1:8080; port 0: any)\n"
            "  --cache-mib N           memory cache bound (default 64)\n"
            "  --max-age-ms N          nothing is kept longer (default "
            "3600000)\n"
            "  --stale-if-error-ms N   serve stale this long past freshness "
            "when the\n"
            "                          origin fails (default 60000; 0: only "
            "when the\n"
            "                          response allows it)\n"
            "  --port-file PATH        write the bound port there\n"
            "  --surrogate-name NAME   device token for Surrogate-Control "
            "(default\n"
            "                          cache-proxy; \"\": the field is "
            "passed on)\n"
            "  --workers N             handler threads (default: the "
            "server's, 16)\n"
            "  --hot-mib N             bodies over 16 KiB also kept in "
            "memory for\n"
            "                          copy-free hits (default 16; 0: "
            "off)\n"
            "  --no-metrics            do not answer GET /metrics "
            "(proxy it)\n");
    exit(status);
}

static void parse_listen(const char *arg, proxy_options *o)
{
    static char host[256];
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof host)
        usage(stderr, 2);
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    o->listen_host = host;
    o->listen_port = atoi(colon + 1);
}

static void parse_options(int argc, char **argv, proxy_options *o)
{
    /* Named members: positional ones went out of step when members were
     * added (workers became 1, hot_mib 0 and metrics false). */
    *o = (proxy_options){.listen_host = "127.0.0.1",
                         .listen_port = 8080,
                         .cache_mib = 64,
                         .max_age_ms = 3600000,
                         .stale_if_error_ms = 60000,
                         .surrogate_name = "cache-proxy",
                         .hot_mib = 16,
                         .metrics = true};
    static const struct option longopts[] = {
        {"origin", required_argument, NULL, 'o'},
        {"listen", required_argument, NULL, 'l'},
        {"cache-mib", required_argument, NULL, 'm'},
        {"max-age-ms", required_argument, NULL, 'a'},
        {"stale-if-error-ms", required_argument, NULL, 's'},
        {"port-file", required_argument, NULL, 'p'},
        {"surrogate-name", required_argument, NULL, 'S'},
        {"workers", required_argument, NULL, 'w'},
        {"hot-mib", required_argument, NULL, 'H'},
        {"no-metrics", no_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            o->origin = optarg;
            break;
        case 'l':
            parse_listen(optarg, o);
            break;
        case 'm':
            o->cache_mib = (size_t)atoll(optarg);
            break;
        case 'a':
            o->max_age_ms = atoll(optarg);
            break;
        case 's':
            o->stale_if_error_ms = atoll(optarg);
            break;
        case 'p':
            o->port_file = optarg;
            break;
        case 'S':
            o->surrogate_name = optarg;
            break;
        case 'w':
            o->workers = (unsigned)atoi(optarg);
            break;
        case 'H':
            o->hot_mib = (size_t)atoll(optarg);
            break;
        case 'M':
            o->metrics = false;
            break;
        case 'h':
            usage(stdout, 0);
            break;
        default:
            usage(stderr, 2);
        }
    }
    if (optind != argc || !o->origin || o->cache_mib == 0 ||
        o->max_age_ms <= 0 || o->stale_if_error_ms < 0 ||
        (strncmp(o->origin, "http://", 7) && strncmp(o->origin, "https://", 8)))
        usage(stderr, 2);
}

/* Request fields not forwarded: hop-by-hop ones (RFC 9110 section 7.6.1),
 * and those libcurl writes itself from the URL and the body. */
static bool skip_request_field(const char *name, const char *connection)
{
    static const char *const skip[] = {
        "connection", "keep-alive",         "proxy-connection",
        "te",         "transfer-encoding",  "upgrade",
        "host",       "content-length",     "expect",
        "trailer",    "proxy-authorization"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcasecmp(name, skip[i]))
            return true;
    if (!connection)
        return false;
    /* Fields named by Connection are hop-by-hop too. */
    size_t n = strlen(name);
    for (const char *p = connection; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        if ((size_t)(e - p) == n && !strncasecmp(p, name, n))
            return true;
        p = e;
    }
    return false;
}

static void bad_gateway(goio_http_response *res, int rc)
{
    int status = rc == GOIO_ETIMEDOUT ? 504 : 502;
    char msg[160];
    int n = snprintf(msg, sizeof msg, "cache-proxy: origin error: %s\n",
                     goio_err_name(rc));
    goio_http_respond(res, status, "text/plain; charset=utf-8", msg, (size_t)n);
}

static void release_response(void *data)
{
    goio_http_cache_response_free(data);
}

/* Sends a response of the cache to the client and frees it (or hands it
 * to the server, which frees it once the body is sent). Content-Length is
 * the body received, except for HEAD, where it is what the origin
 * announced. */
static void relay(proxy *p, goio_http_request *req, goio_http_response *res,
                  goio_http_cache_response *r)
{
    bool head = !strcmp(goio_http_request_method(req), "HEAD");
    bool no_body = r->status == 204 || r->status == 304 || r->status < 200;
    for (size_t i = 0; i < r->header_count; i++) {
        const goio_http_cache_header *h = &r->headers[i];
        if (!strcasecmp(h->name, "Content-Length") && !head)
            continue;
        goio_http_response_add_header(res, h->name, h->value);
    }
    if (!head && !no_body) {
        char len[32];
        snprintf(len, sizeof len, "%zu", r->body_len);
        goio_http_response_set_header(res, "Content-Length", len);
    }
    if ((unsigned)r->served < 5 && p->served[r->served])
        goio_prom_counter_inc(p->served[r->served]);
    /* the origin's phrase when it came from there (one the server
     * refuses, with control characters, leaves the standard text) */
    if (r->reason)
        goio_http_response_set_reason(res, r->reason);
    goio_http_response_write_header(res, r->status);
    if (head || no_body || !r->body_len) {
        goio_http_cache_response_free(r);
    } else if (r->body_len >= BORROW_MIN) {
        /* releases r on every path, also when it fails */
        goio_http_response_write_borrowed(res, r->body, r->body_len,
                                          release_response, r);
    } else {
        goio_http_response_write(res, r->body, r->body_len);
        goio_http_cache_response_free(r);
    }
}

/* Relays the origin's interim responses (103 Early Hints, 102) to the
 * client as they arrive; not 100 Continue, which answered libcurl's own
 * request and which goio's server sends itself when a client asks. */
static void relay_interim(int status, const goio_http_cache_header *h, size_t n,
                          void *data)
{
    goio_http_response *res = data;
    const char *fields[2 * MAX_FWD_HEADERS];
    size_t m = 0;
    if (status == 100)
        return;
    for (size_t i = 0; i < n && m < MAX_FWD_HEADERS; i++, m++) {
        fields[2 * m] = h[i].name;
        fields[2 * m + 1] = h[i].value;
    }
    /* errors (a client gone, HTTP/1.0) show at the final response */
    goio_http_response_write_interim(res, status, m ? fields : NULL, m);
}

static void proxy_handler(goio_http_request *req, goio_http_response *res,
                          void *data)
{
    proxy *p = data;
    const char *method = goio_http_request_method(req);
    const char *path = goio_http_request_path(req);
    if (p->opt.metrics && !strcmp(path, "/metrics") &&
        (!strcmp(method, "GET") || !strcmp(method, "HEAD"))) {
        goio_prom_http_handler(req, res, &p->metrics);
        return;
    }
    const char *query = goio_http_request_query(req);
    goio_buf url = GOIO_BUF_INIT;
    goio_buf_append(&url, p->opt.origin, p->origin_len);
    int rc = goio_buf_appendf(&url, "%s%s%s", path, *query ? "?" : "", query);
    goio_http_cache_header hdrs[MAX_FWD_HEADERS];
    size_t n = 0;
    const char *connection = goio_http_request_get_header(req, "Connection");
    size_t count = goio_http_request_header_count(req);
    for (size_t i = 0; i < count && n < MAX_FWD_HEADERS; i++) {
        const char *name, *value;
        if (goio_http_request_header_at(req, i, &name, &value))
            break;
        if (!skip_request_field(name, connection))
            hdrs[n++] = (goio_http_cache_header){name, value};
    }
    size_t body_len;
    const void *body = goio_http_request_body(req, &body_len);
    /* No body at all when empty: a GET with a body bypasses the cache. */
    goio_http_cache_request creq = {.method = method,
                                    .url = goio_buf_cstr(&url),
                                    .headers = hdrs,
                                    .header_count = n,
                                    .body = body_len ? body : NULL,
                                    .body_len = body_len,
                                    .on_interim = relay_interim,
                                    .interim_data = res};
    goio_http_cache_response *r = NULL;
    if (!rc)
        rc =
            goio_http_cache_do(p->cache, goio_http_request_ctx(req), &creq, &r);
    goio_buf_deinit(&url);
    if (rc) {
        bad_gateway(res, rc);
        return;
    }
    relay(p, req, res, r); /* frees r */
}

static int add_total(goio_prom_sink *sink, const char *name, const char *help,
                     uint64_t value)
{
    int rc =
        goio_prom_sink_family(sink, GOIO_PROM_COUNTER, name, help, NULL, 0);
    return rc ? rc : goio_prom_sink_value(sink, NULL, (double)value);
}

/* The cache's counters, read at scrape time. */
static int collect(goio_prom_sink *sink, void *data)
{
    proxy *p = data;
    goio_http_cache_stats s;
    goio_cache_stats cs = {0};
    int rc = goio_http_cache_stats_get(p->cache, &s);
    goio_cache_stats_get(goio_http_cache_storage(p->cache), &cs);
    static const struct {
        const char *name, *help;
        size_t off;
    } totals[] = {
        {"cache_proxy_origin_requests_total", "Requests sent to the origin.",
         offsetof(goio_http_cache_stats, origin_requests)},
        {"cache_proxy_stores_total", "Responses written to the cache.",
         offsetof(goio_http_cache_stats, stores)},
        {"cache_proxy_shared_total",
         "Requests answered by another request's origin fetch.",
         offsetof(goio_http_cache_stats, shared)},
        {"cache_proxy_invalidations_total",
         "URLs invalidated by unsafe requests.",
         offsetof(goio_http_cache_stats, invalidations)},
        {"cache_proxy_errors_total", "Requests that got no response.",
         offsetof(goio_http_cache_stats, errors)},
    };
    for (size_t i = 0; !rc && i < sizeof totals / sizeof totals[0]; i++)
        rc = add_total(sink, totals[i].name, totals[i].help,
                       *(const uint64_t *)((const char *)&s + totals[i].off));
    if (!rc)
        rc = goio_prom_sink_family(sink, GOIO_PROM_GAUGE,
                                   "cache_proxy_storage_bytes",
                                   "Bytes the memory cache holds.", NULL, 0);
    if (!rc)
        rc = goio_prom_sink_value(sink, NULL, (double)cs.bytes);
    return rc;
}

static int metrics_init(proxy *p)
{
    int rc = goio_prom_registry_new(&p->registry);
    if (!rc)
        rc = goio_prom_process_collector_register(p->registry);
    if (!rc)
        rc = goio_prom_tracker_init(p->registry);
    if (rc)
        return rc;
    p->metrics.registry = p->registry;
    static const char *const label[] = {"served"};
    goio_prom_metric_config o;
    goio_prom_metric_config_init(&o);
    o.name = "cache_proxy_responses_total";
    o.help = "Responses by how the cache produced them.";
    o.label_names = label;
    o.label_count = 1;
    goio_prom_vec *served;
    if ((rc = goio_prom_vec_register(p->registry, GOIO_PROM_COUNTER, &o,
                                     &served)))
        return rc;
    for (int i = 0; i < 5 && !rc; i++) {
        const char *v = goio_http_cache_served_name((goio_http_cache_served)i);
        rc = goio_prom_vec_counter(served, &v, 1, &p->served[i]);
    }
    if (!rc)
        rc = goio_prom_collector_register(p->registry, collect, p, NULL, NULL);
    return rc;
}

static int build(proxy *p)
{
    p->origin_len = strlen(p->opt.origin);
    while (p->origin_len > 8 && p->opt.origin[p->origin_len - 1] == '/')
        p->origin_len--;
    goio_http_cache_config cc;
    goio_http_cache_config_init(&cc);
    cc.shared = true;
    cc.max_size_mib = p->opt.cache_mib;
    cc.max_age_ms = p->opt.max_age_ms;
    cc.stale_if_error_ms = p->opt.stale_if_error_ms;
    cc.surrogate_name = *p->opt.surrogate_name ? p->opt.surrogate_name : NULL;
    cc.hot_body_bytes = p->opt.hot_mib << 20;
    int rc = goio_http_cache_new(&cc, &p->cache);
    if (!rc)
        rc = metrics_init(p);
    if (rc)
        return rc;
    static goio_prom_tracker_config tracking = {
        "cache-proxy", "1.0", "proxy", true, {NULL, NULL}};
    goio_http_server_config cfg;
    goio_http_server_config_init(&cfg);
    cfg.handler = proxy_handler;
    cfg.handler_data = p;
    if (p->opt.workers)
        cfg.worker_threads = p->opt.workers;
    rc = goio_http_server_new(&cfg, &p->server);
    if (!rc)
        rc = goio_http_server_use(p->server, goio_prom_http_middleware,
                                  &tracking);
    if (!rc)
        rc = goio_http_server_listen(p->server, p->opt.listen_host,
                                     p->opt.listen_port);
    if (!rc)
        rc = goio_http_server_start(p->server);
    return rc;
}

static void shut_down(proxy *p)
{
    goio_http_server_free(p->server);
    if (p->registry) {
        goio_prom_tracker_deinit();
        goio_prom_registry_free(p->registry);
    }
    goio_http_cache_free(p->cache);
}

int main(int argc, char **argv)
{
    proxy p = {0};
    parse_options(argc, argv, &p.opt);

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    int rc = build(&p);
    if (rc) {
        fprintf(stderr, "cache-proxy: %s (%s)\n", goio_strerror(rc),
                goio_err_name(rc));
        shut_down(&p);
        return 1;
    }
    int port = goio_http_server_port(p.server);
    if (p.opt.port_file) {
        FILE *f = fopen(p.opt.port_file, "w");
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    printf("cache-proxy listening on http://%s:%d -> %s\n", p.opt.listen_host,
           port, p.opt.origin);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    goio_http_server_stop(p.server, 5000);
    shut_down(&p);
    return 0;
}
