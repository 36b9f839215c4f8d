/* SPDX-License-Identifier: MIT */
/*
 * The pretend backend behind the item cache: it takes origin.delay_ms to
 * answer and fails while origin.failing is set, so the tour can show one
 * fetch serving many callers and stale answers during an outage.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>

int catalog_origin_fetch(goio_ctx *ctx, const char *key, goio_buf *out,
                         void *arg)
{
    catalog *c = arg;
    long call = atomic_fetch_add(&c->origin.calls, 1) + 1;
    /* A slow backend that still gives up when every caller has. */
    goio_ctx *slow;
    int rc =
        goio_ctx_new_with_timeout(ctx, atomic_load(&c->origin.delay_ms), &slow);
    if (rc)
        return rc;
    goio_ctx_wait(slow, -1);
    rc = goio_ctx_err(ctx); /* the callers', not the delay's */
    goio_ctx_unref(slow);
    if (rc)
        return rc;
    if (atomic_load(&c->origin.failing))
        return GOIO_EIO;
    return goio_buf_appendf(out,
                            "{\"id\":\"%s\",\"name\":\"item %s\","
                            "\"origin_call\":%ld,\"made_by\":\"%s\","
                            "\"made_at_ms\":%lld}\n",
                            key, key, call, c->opt.name,
                            (long long)goio_now_wall_ms());
}

static void origin_state(catalog *c, goio_http_response *res)
{
    goio_http_response_default_content_type(res, "application/json");
    goio_http_response_printf(res,
                              "{\"calls\":%ld,\"failing\":%s,"
                              "\"delay_ms\":%ld}\n",
                              atomic_load(&c->origin.calls),
                              atomic_load(&c->origin.failing) ? "true"
                                                              : "false",
                              atomic_load(&c->origin.delay_ms));
}

/* GET shows the origin; POST ?fail=0|1&delay_ms=N steers it. */
void catalog_admin_origin(goio_http_request *req, goio_http_response *res,
                          void *data)
{
    catalog *c = data;
    const char *query = goio_http_request_query(req);
    goio_buf v = GOIO_BUF_INIT;
    bool found;
    if (!goio_http_query_get(query, "fail", &v, &found) && found)
        atomic_store(&c->origin.failing, goio_buf_cstr(&v)[0] == '1');
    if (!goio_http_query_get(query, "delay_ms", &v, &found) && found)
        atomic_store(&c->origin.delay_ms, atol(goio_buf_cstr(&v)));
    goio_buf_deinit(&v);
    origin_state(c, res);
}
