/* SPDX-License-Identifier: MIT */
/*
 * gzip for scrapes that ask for it (zlib, through goio's allocator so
 * goio_allocator_set covers it and failures are testable).
 */
#include "prom_int.h"

#include <zlib.h>

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return goio_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    goio_free(p);
}

/* Level 1: metrics text compresses ~10x even at the fastest level, and a
 * scrape should cost the service as little CPU as possible. */
#define GZIP_LEVEL 1

int goio__prom_gzip(const uint8_t *in, size_t len, goio_buf *out)
{
    z_stream zs = {.zalloc = z_alloc, .zfree = z_free};
    if (len > UINT32_MAX / 2)
        return GOIO_E2BIG;
    int zrc = deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
                           Z_DEFAULT_STRATEGY);
    if (zrc != Z_OK)
        return zrc == Z_MEM_ERROR ? GOIO_ENOMEM : GOIO_EIO;
    size_t bound = deflateBound(&zs, (uLong)len);
    int rc = goio_buf_reserve(out, bound);
    if (!rc) {
        zs.next_in = (Bytef *)(uintptr_t)(in ? in : (const uint8_t *)"");
        zs.avail_in = (uInt)len;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)bound;
        zrc = deflate(&zs, Z_FINISH);
        if (zrc == Z_STREAM_END)
            out->len += zs.total_out;
        else
            rc = zrc == Z_MEM_ERROR ? GOIO_ENOMEM : GOIO_EIO;
    }
    deflateEnd(&zs);
    return rc;
}
