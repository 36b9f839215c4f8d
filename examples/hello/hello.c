/* SPDX-License-Identifier: MIT */
/*
 * The smallest goio program: a deadline, a log record and a typed value.
 */
#include <goio/core.h>
#include <goio/reflext.h>

#include <stdio.h>

int main(void)
{
    goio_ctx *ctx;
    int rc = goio_ctx_new_with_timeout(NULL, 50, &ctx);
    if (rc) {
        fprintf(stderr, "ctx: %s\n", goio_strerror(rc));
        return 1;
    }
    printf("goio %s\n", goio_version_string());
    printf("waiting for a 50 ms deadline... ");
    goio_ctx_wait(ctx, -1);
    printf("%s\n", goio_strerror(goio_ctx_err(ctx)));

    goio_log(GOIO_LOG_WARN, "example", "hello", "greeting", 0,
             "a log record through the default sink");

    int64_t answer = 42;
    char *text = NULL;
    rc = goio_type_set(&text, &goio_type_string, &answer, &goio_type_int64);
    printf("setting a string from an int64: %s (%s)\n", goio_strerror(rc),
           goio_err_name(rc));
    goio_buf b = GOIO_BUF_INIT;
    goio_type_encode(&goio_type_int64, &answer, &b);
    printf("int64 42 is stored as \"%s\"\n", goio_buf_cstr(&b));
    goio_buf_deinit(&b);
    goio_ctx_unref(ctx);
    return 0;
}
