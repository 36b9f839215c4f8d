/* SPDX-License-Identifier: MIT */
/*
 * prometheus on goio's HTTP server: the /metrics handler, a metrics-only
 * server, and the request-tracking middleware.
 */
#include "prom_int.h"

/* ---- the scrape handler -------------------------------------------------- */

static void fail_500(goio_http_response *res, int rc)
{
    goio_log(GOIO_LOG_ERROR, GOIO__PROM_CAT, "metrics_render_failed", NULL, rc,
             "rendering metrics for a scrape failed");
    static const char msg[] = "failed to render metrics\n";
    goio_http_respond(res, 500, "text/plain; charset=utf-8", msg,
                      sizeof msg - 1);
}

void goio_prom_http_handler(goio_http_request *req, goio_http_response *res,
                            void *data)
{
    const goio_prom_handler_config *o = data;
    if (!req || !res)
        return;
    const char *accept = goio_http_request_get_header(req, "Accept");
    const char *encoding = goio_http_request_get_header(req, "Accept-Encoding");
    if (o && o->disable_openmetrics)
        accept = NULL;
    if (o && o->disable_gzip)
        encoding = NULL;
    goio_buf body = GOIO_BUF_INIT;
    goio_prom_encoding enc;
    int rc = goio_prom_registry_render(o ? o->registry : NULL,
                                       goio_http_request_ctx(req), accept,
                                       encoding, &body, &enc);
    if (!rc)
        rc = goio_http_response_set_header(res, "Content-Type",
                                           enc.content_type);
    if (!rc && enc.content_encoding)
        rc = goio_http_response_set_header(res, "Content-Encoding",
                                           enc.content_encoding);
    if (!rc && !(o && o->disable_gzip))
        rc = goio_http_response_set_header(res, "Vary", "Accept-Encoding");
    if (rc)
        fail_500(res, rc);
    else
        goio_http_respond(res, 200, NULL, body.data, body.len);
    goio_buf_deinit(&body);
}

/* ---- a metrics-only server ----------------------------------------------- */

struct goio_prom_server {
    goio_http_server *http;
    goio_http_router *router;
    goio_prom_handler_config handler; /* the handler's data: lives here */
    char *host;                       /* NULL: the HTTP server's default */
    int port;
    bool listening; /* bound (the HTTP server listens once) */
    bool started;   /* started or stopped: never again */
};

void goio_prom_handler_config_init(goio_prom_handler_config *cfg)
{
    if (cfg)
        memset(cfg, 0, sizeof *cfg);
}

void goio_prom_tracker_config_init(goio_prom_tracker_config *cfg)
{
    if (cfg)
        memset(cfg, 0, sizeof *cfg);
}

void goio_prom_server_config_init(goio_prom_server_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->path = "/metrics";
    goio_prom_handler_config_init(&cfg->handler);
}

static int server_setup(goio_prom_server *s, const goio_prom_server_config *c)
{
    int rc = goio_http_router_new(&s->router);
    if (!rc)
        rc = goio_http_router_handle(s->router, "GET",
                                     c->path ? c->path : "/metrics",
                                     goio_prom_http_handler, &s->handler);
    if (rc)
        return rc;
    goio_http_server_config hc;
    goio_http_server_config_init(&hc);
    hc.handler = goio_http_router_serve;
    hc.handler_data = s->router;
    hc.worker_threads = 2; /* scrapes are rare and short */
    return goio_http_server_new(&hc, &s->http);
}

int goio_prom_server_new(const goio_prom_server_config *cfg,
                         goio_prom_server **out)
{
    goio_prom_server_config defaults;
    if (!cfg) {
        goio_prom_server_config_init(&defaults);
        cfg = &defaults;
    }
    if (!out || cfg->port < 0 || cfg->port > 65535)
        return GOIO_EINVAL;
    goio_prom_server *s = goio_calloc(1, sizeof *s);
    if (!s)
        return GOIO_ENOMEM;
    s->handler = cfg->handler;
    s->port = cfg->port;
    int rc = 0;
    if (cfg->host && !(s->host = goio_strdup(cfg->host)))
        rc = GOIO_ENOMEM;
    if (!rc)
        rc = server_setup(s, cfg);
    if (rc) {
        goio_prom_server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int goio_prom_server_start(goio_prom_server *srv)
{
    if (!srv)
        return GOIO_EINVAL;
    if (srv->started)
        return GOIO_EALREADY;
    if (!srv->listening) {
        int rc = goio_http_server_listen(srv->http, srv->host, srv->port);
        if (rc)
            return rc; /* nothing bound: start may be retried */
        srv->listening = true;
    }
    int rc = goio_http_server_start(srv->http);
    if (!rc)
        srv->started = true;
    return rc;
}

int goio_prom_server_port(const goio_prom_server *srv)
{
    if (!srv || !srv->listening)
        return 0;
    int port = goio_http_server_port(srv->http);
    return port > 0 ? port : 0;
}

int goio_prom_server_stop(goio_prom_server *srv, int64_t timeout_ms)
{
    if (!srv || timeout_ms < 0)
        return GOIO_EINVAL;
    int rc = goio_http_server_stop(srv->http, timeout_ms);
    if (!rc)
        srv->started = true; /* stopped for good */
    return rc;
}

void goio_prom_server_free(goio_prom_server *srv)
{
    if (!srv)
        return;
    if (srv->http)
        goio_http_server_stop(srv->http, 1000);
    goio_http_server_free(srv->http); /* before its router */
    goio_http_router_free(srv->router);
    goio_free(srv->host);
    goio_free(srv);
}

/* ---- request tracking ---------------------------------------------------- */

static goio_prom_request labels_for(const goio_prom_tracker_config *o,
                                    goio_http_request *req)
{
    const char *path = o->path;
    if (!path) {
        path = goio_http_request_route(req);
        if (!path)
            path = "";
    }
    return (goio_prom_request){o->service_name, o->version,
                               goio_http_request_method(req), path};
}

static int status_of(goio_http_response *res)
{
    int st = goio_http_response_status(res);
    return st >= 100 && st <= 999 ? st : 200; /* nothing written: 200 */
}

/* Open, run, observe, close: the Go library's startTracker. */
static void track(goio_http_request *req, goio_http_response *res,
                  goio_http_handler next, const goio_prom_tracker_config *o,
                  bool path_known)
{
    int64_t start = goio_now_mono_ns();
    goio_prom_request r = labels_for(o, req);
    if (path_known)
        goio_prom_request_open(&r);
    goio_http_handler_call(next, req, res);
    if (!path_known) {
        r = labels_for(o, req);
        goio_prom_request_open(&r);
    }
    if (o->with_latency)
        goio_prom_request_observe_duration(&r, start);
    goio_prom_request_close(&r, status_of(res));
}

void goio_prom_http_track(goio_http_request *req, goio_http_response *res,
                          void *data)
{
    const goio_prom_tracker_config *o = data;
    if (!req || !res || !o)
        return;
    /* Inside a route handler the router has set the route already. */
    track(req, res, o->next, o, true);
}

void goio_prom_http_middleware(goio_http_request *req, goio_http_response *res,
                               goio_http_handler next, void *data)
{
    const goio_prom_tracker_config *o = data;
    if (!o) {
        goio_http_handler_call(next, req, res);
        return;
    }
    track(req, res, next, o, o->path != NULL);
}
