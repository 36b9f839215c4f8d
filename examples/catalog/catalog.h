/* SPDX-License-Identifier: MIT */
/*
 * The catalog example service: every goio module working together.
 *
 *   GET  /items/{id}             get-or-set over stale(hybrid(memory, redis))
 *   POST /items/{id}/invalidate  drop the item everywhere (pub/sub)
 *   GET  /export.tar.gz          a generated archive, streamed chunked
 *   GET  /metrics                request tracking, cache and pub/sub stats
 *   GET|POST /admin/origin       watch or steer the slow, failing origin
 *
 * Files: main.c wires it up, origin.c is the pretend backend, items.c the
 * item routes, export.c the streaming archive, metrics.c the collectors.
 */
#ifndef CATALOG_H
#define CATALOG_H

#include <goio/cache.h>
#include <goio/http.h>
#include <goio/prometheus.h>
#include <goio/pubsub.h>
#include <goio/redis.h>

#include <stdatomic.h>

typedef struct catalog_options {
    const char *listen_host;
    int listen_port;
    const char *redis;     /* "host:port"; NULL: memory cache only */
    const char *name;      /* this instance's name, in X-Instance */
    const char *namespace; /* Redis key namespace */
    int64_t ttl_ms;        /* items are fresh this long */
    int64_t stale_ttl_ms;  /* and served stale this long if the origin fails */
    int64_t origin_delay_ms;
    const char *port_file; /* where to write the bound port, or NULL */
    bool client_tracking;  /* also drop local copies on any client's write */
    /* Each item request's deadline, passed to every cache call it makes
     * (and so to Redis): past it the caller gets the stale copy, or 504. */
    int64_t deadline_ms;
    int64_t redis_timeout_ms; /* Redis connect/read/write; 0: goio's default */
} catalog_options;

/* The pretend backend: slow, and failing on request (origin.c). */
typedef struct catalog_origin {
    atomic_long calls;
    atomic_long delay_ms;
    atomic_bool failing;
} catalog_origin;

typedef struct catalog {
    catalog_options opt;
    catalog_origin origin;
    goio_redis *redis;    /* NULL in memory-only mode */
    goio_cache *local;    /* memory cache (owned by `layers`) */
    goio_cache *layers;   /* hybrid(local, redis) or the memory cache */
    goio_pubsub *pubsub;  /* NULL in memory-only mode */
    goio_cache *coherent; /* `layers` kept coherent through Redis, or NULL */
    goio_cache *items;    /* stale wrapper on top: what routes use */
    goio_prom_registry *registry;     /* its own, freed at exit */
    goio_prom_handler_config metrics; /* /metrics serves `registry` */
    goio_prom_counter *served[4];     /* by goio_cache_source */
    goio_http_router *router;
    goio_http_server *server;
} catalog;

/* origin.c */
int catalog_origin_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                         void *arg);
void catalog_admin_origin(goio_http_request *req, goio_http_response *res,
                          void *data);

/* items.c */
void catalog_get_item(goio_http_request *req, goio_http_response *res,
                      void *data);
void catalog_invalidate_item(goio_http_request *req, goio_http_response *res,
                             void *data);

/* export.c */
void catalog_export(goio_http_request *req, goio_http_response *res,
                    void *data);

/* metrics.c */
int catalog_metrics_init(catalog *c);
void catalog_metrics_free(catalog *c);

#endif
