/* SPDX-License-Identifier: MIT */
/*
 * GET /export.tar.gz: an archive of every item, generated while it is
 * sent. A goio_io_reader pulls the archive out of a tar.gz writer one file at
 * a time, so memory stays small however many items there are, and
 * goio_http_render_chunked streams it. ?fail_after=N makes the source fail
 * once N bytes went out: the connection is then cut before the last chunk
 * and curl reports an incomplete transfer (exit 18).
 */
#include "catalog.h"

#include <goio/ioext.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_ITEMS 2000

typedef struct export_reader {
    goio_io_reader base;
    goio_buf pending; /* compressed bytes not yet read */
    size_t offset;    /* how far into pending */
    goio_io_writer *sink;
    goio_io_targz_writer *tar;
    int next_item;
    uint64_t sent, fail_after; /* fail_after 0: never */
} export_reader;

/* Feeds the archive until it has compressed bytes to give or is done. */
static int produce(export_reader *x)
{
    char name[32], body[128];
    while (x->offset == x->pending.len && x->tar) {
        x->offset = 0;
        goio_buf_clear(&x->pending);
        if (x->next_item == EXPORT_ITEMS) {
            int rc = goio_io_targz_writer_close(x->tar);
            x->tar = NULL;
            return rc;
        }
        int id = x->next_item++;
        snprintf(name, sizeof name, "items/%04d.json", id);
        int n = snprintf(body, sizeof body,
                         "{\"id\":\"%d\",\"name\":\"item %d\"}\n", id, id);
        int rc = goio_io_targz_writer_add(x->tar, name, body, (size_t)n);
        if (rc)
            return rc;
    }
    return 0;
}

static ssize_t export_read(goio_io_reader *r, void *buf, size_t cap)
{
    export_reader *x = (export_reader *)r;
    if (x->fail_after && x->sent >= x->fail_after)
        return GOIO_EIO; /* the demo's "backend died mid-export" */
    int rc = produce(x);
    if (rc)
        return rc;
    size_t n = x->pending.len - x->offset;
    if (n > cap)
        n = cap;
    if (x->fail_after && n > x->fail_after - x->sent)
        n = (size_t)(x->fail_after - x->sent);
    memcpy(buf, x->pending.data + x->offset, n);
    x->offset += n;
    x->sent += n;
    return (ssize_t)n;
}

static int export_close(goio_io_reader *r)
{
    export_reader *x = (export_reader *)r;
    goio_io_targz_writer_free(x->tar);
    goio_io_writer_close(x->sink);
    goio_buf_deinit(&x->pending);
    goio_free(x);
    return 0;
}

static const goio_io_reader_ops export_ops = {export_read, export_close};

static int export_reader_new(uint64_t fail_after, goio_io_reader **out)
{
    export_reader *x = goio_calloc(1, sizeof *x);
    if (!x)
        return GOIO_ENOMEM;
    x->base.ops = &export_ops;
    x->fail_after = fail_after;
    goio_io_targz_config opt;
    goio_io_targz_config_init(&opt);
    opt.mtime = 0; /* the same archive every time */
    int rc = goio_io_writer_new_buf(&x->pending, &x->sink);
    if (!rc)
        rc = goio_io_targz_writer_new(x->sink, &opt, &x->tar);
    if (rc) {
        export_close(&x->base);
        return rc;
    }
    *out = &x->base;
    return 0;
}

void catalog_export(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    goio_buf v = GOIO_BUF_INIT;
    bool found = false;
    uint64_t fail_after = 0;
    if (!goio_http_query_get(goio_http_request_query(req), "fail_after", &v,
                             &found) &&
        found)
        fail_after = strtoull(goio_buf_cstr(&v), NULL, 10);
    goio_buf_deinit(&v);

    goio_io_reader *src;
    int rc = export_reader_new(fail_after, &src);
    if (rc) {
        goio_http_respond(res, 500, "text/plain", "export failed\n", 14);
        return;
    }
    goio_http_response_set_header(res, "Content-Disposition",
                                  "attachment; filename=\"export.tar.gz\"");
    goio_http_render_chunked(res, "application/gzip", src, NULL);
}
