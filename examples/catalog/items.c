/* SPDX-License-Identifier: MIT */
/*
 * The item routes. Reads go through goio_cache_get_or_set on the stale
 * wrapper, so N concurrent requests for a missing item cost one origin
 * call, and an origin outage is answered from the expired copy. Response
 * headers tell the story: X-Cache (hit, fetched, shared, stale) and
 * X-Cache-Layer (local, remote, origin).
 */
#include "catalog.h"

#include <stdio.h>
#include <string.h>

static const char *const source_names[] = {"hit", "fetched", "shared", "stale"};

static int item_key(goio_http_request *req, char *key, size_t size)
{
    const char *id = goio_http_request_param(req, "id");
    if (!id || strlen(id) > 64)
        return GOIO_EINVAL;
    snprintf(key, size, "item:%s", id);
    return 0;
}

/* Where a cached answer came from: the local layer has it already, or the
 * hybrid is about to copy it down from Redis. */
static const char *layer_of(catalog *c, goio_ctx *ctx, const char *key)
{
    goio_buf peek = GOIO_BUF_INIT;
    bool hit = false;
    goio_cache_get(c->local, ctx, key, &peek, &hit);
    goio_buf_deinit(&peek);
    return hit ? "local" : "remote";
}

static void answer_error(goio_http_response *res, int status, int rc)
{
    goio_http_response_default_content_type(res, "application/json");
    goio_http_response_write_header(res, status);
    goio_http_response_printf(res, "{\"error\":\"%s\",\"message\":\"%s\"}\n",
                              goio_err_name(rc), goio_strerror(rc));
}

/* The request's ctx (cancelled when the client goes away) with the
 * request's deadline on top: what every cache call of the request gets. */
static int request_ctx(catalog *c, goio_http_request *req, goio_ctx **out)
{
    return goio_ctx_new_with_timeout(goio_http_request_ctx(req),
                                     c->opt.deadline_ms, out);
}

void catalog_get_item(goio_http_request *req, goio_http_response *res,
                      void *data)
{
    catalog *c = data;
    char key[80];
    if (item_key(req, key, sizeof key)) {
        answer_error(res, 400, GOIO_EINVAL);
        return;
    }
    goio_ctx *ctx;
    int rc = request_ctx(c, req, &ctx);
    if (rc) {
        answer_error(res, 503, rc);
        return;
    }
    const char *layer = layer_of(c, ctx, key);
    goio_buf body = GOIO_BUF_INIT;
    goio_cache_source source = GOIO_CACHE_HIT;
    rc = goio_cache_get_or_set(c->items, ctx, key, c->opt.ttl_ms,
                               catalog_origin_fetch, c, &body, &source);
    goio_ctx_unref(ctx);
    goio_http_response_set_header(res, "X-Instance", c->opt.name);
    if (rc) {
        /* The fetch's own error reaches us (the origin's), else our
         * deadline or memory: cache read errors are logged misses. */
        int status = rc == GOIO_ETIMEDOUT                        ? 504
                     : rc == GOIO_ENOMEM || rc == GOIO_ECANCELED ? 503
                                                                 : 502;
        answer_error(res, status, rc);
    } else {
        if (source == GOIO_CACHE_FETCHED || source == GOIO_CACHE_SHARED)
            layer = "origin";
        goio_prom_counter_inc(c->served[source]);
        goio_http_response_set_header(res, "X-Cache", source_names[source]);
        goio_http_response_set_header(res, "X-Cache-Layer", layer);
        goio_http_respond(res, 200, "application/json", body.data, body.len);
    }
    goio_buf_deinit(&body);
}

void catalog_invalidate_item(goio_http_request *req, goio_http_response *res,
                             void *data)
{
    catalog *c = data;
    char key[80];
    if (item_key(req, key, sizeof key)) {
        answer_error(res, 400, GOIO_EINVAL);
        return;
    }
    /* Deletes here and in Redis; with pub/sub, every other instance drops
     * its local copy too. */
    goio_ctx *ctx;
    int rc = request_ctx(c, req, &ctx);
    if (!rc) {
        rc = goio_cache_del(c->items, ctx, key);
        goio_ctx_unref(ctx);
    }
    goio_http_response_set_header(res, "X-Instance", c->opt.name);
    if (rc)
        answer_error(res, 503, rc);
    else
        goio_http_respond(res, 200, "application/json",
                          "{\"invalidated\":true}\n", 21);
}
