/* The asynchronous form (placeholder until the worker pool lands). */
#include "sf_int.h"

void goio__sharedflight_deliver(sf_async *list)
{
    (void)list;
}

void goio__sharedflight_pool_free(sf_pool *pool)
{
    (void)pool;
}

int goio_sharedflight_do_async(goio_sharedflight *g, const char *key,
                               goio_ctx *ctx, goio_sharedflight_fn fn,
                               void *arg, goio_sharedflight_destroy_fn destroy,
                               goio_sharedflight_cb cb, void *data)
{
    (void)g, (void)key, (void)ctx, (void)fn, (void)arg, (void)destroy;
    (void)cb, (void)data;
    return GOIO_ENOTSUP;
}
