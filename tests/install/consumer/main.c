/* SPDX-License-Identifier: MIT */
/* A program that uses an installed goio the way a service would. */
#include <goio/goio.h>

#include <stdio.h>

int main(void)
{
    goio_ctx *ctx;
    if (goio_ctx_new_with_timeout(NULL, 1000, &ctx))
        return 1;
    goio_buf b = GOIO_BUF_INIT;
    int64_t n = 42;
    int rc = goio_type_encode(&goio_type_int64, &n, &b);
    printf("goio %s: ctx err=%s, 42 encodes as %s\n", goio_version_string(),
           goio_err_name(goio_ctx_err(ctx)), goio_buf_cstr(&b));
    goio_buf_deinit(&b);
    goio_ctx_unref(ctx);
    return rc;
}
