/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP request-parsing layer (src/http): the
 * server feeds it bytes from the network, so any input must end in
 * requests or a 4xx status, never a crash, a leak or a read out of
 * bounds. The input is fed twice: whole, and cut at a point taken from
 * its first byte, so fragmented callbacks are exercised too. Every
 * request that comes out is read through the public accessors.
 *
 * Property: the strict RFC 9112 scanner (http_strict.c) and http-parser
 * never disagree about where a message ends - on input both accept, the
 * framing is the same; a disagreement aborts.
 */
#include <stdlib.h>

#include "../src/http/http_int.h"

#include <stdint.h>
#include <string.h>

static void touch(goio_http_request *req)
{
    volatile size_t sink = 0;
    sink += strlen(goio_http_request_method(req));
    sink += strlen(goio_http_request_path(req));
    const char *q = goio_http_request_query(req);
    sink += strlen(q);
    for (size_t i = 0; i < goio_http_request_header_count(req); i++) {
        const char *n, *v;
        if (!goio_http_request_header_at(req, i, &n, &v))
            sink += strlen(n) + strlen(v);
    }
    const char *h = goio_http_request_get_header(req, "content-type");
    sink += h ? strlen(h) : 0;
    size_t len;
    const unsigned char *b = goio_http_request_body(req, &len);
    if (len)
        sink += b[len - 1];
    goio_buf v = GOIO_BUF_INIT;
    bool found;
    goio_http_query_get(q, "a", &v, &found);
    goio_buf_deinit(&v);
    (void)sink;
}

static void run(const uint8_t *data, size_t size, size_t cut)
{
    goio__http_parser rp;
    goio__http_parser_init(&rp, 4096, 64 * 1024);
    size_t from = 0;
    while (from < size) {
        size_t to = from < cut && cut < size ? cut : size;
        size_t used = 0;
        goio__http_feed f = goio__http_parser_feed(
            &rp, (const char *)data + from, to - from, &used);
        from += used;
        if (rp.disagreed)
            abort(); /* scanner and http-parser framed differently */
        if (f == GOIO__HTTP_FEED_ERROR)
            break;
        if (f == GOIO__HTTP_FEED_REQUEST) {
            goio_http_request *req = goio__http_parser_take(&rp);
            touch(req);
            goio__http_request_free(req);
        }
    }
    goio__http_parser_reset(&rp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, size);
    if (size)
        run(data, size, data[0] % size);
    return 0;
}
