/* SPDX-License-Identifier: MIT */
/*
 * The zip writer: entries deflated with zlib directly, one deflate state
 * per thread reset between entries, written in sorted name order with
 * sizes known up front (no data descriptors), zip64 records only where
 * needed.
 */
#include "ioext_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <zlib.h>

#define DOS_DATE_1980 0x21 /* 1980-01-01 */
#define U32_MAX       0xffffffffULL

typedef struct zentry {
    char *name; /* cleaned */
    const uint8_t *data;
    size_t len;
    /* set by compression */
    uint8_t *out; /* compressed bytes, or NULL when stored */
    size_t out_len, out_cap;
    bool out_pooled; /* out is this entry's pool buffer (parallel mode) */
    bool deflated;   /* else stored */
    uint64_t csize;  /* bytes in the archive */
    uint32_t crc;
    int rc;
    bool ready;
    /* set by the writer */
    uint64_t offset;
} zentry;

typedef struct zwriter {
    goio_io_writer *dst;
    zentry *e;
    size_t n;
    int level;
    uint32_t mode;
    uint64_t off; /* bytes written so far */
    /* parallel */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;    /* next entry a worker takes */
    size_t written; /* entries the writer has written */
    size_t window;
    bool stop;
} zwriter;

/* ---- little-endian records ---------------------------------------------- */

static uint8_t *le16(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *le32(uint8_t *p, uint64_t v)
{
    return le16(le16(p, v), v >> 16);
}

static uint8_t *le64(uint8_t *p, uint64_t v)
{
    return le32(le32(p, v), v >> 32);
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

static uint64_t stored_len(const zentry *z)
{
    return z->csize;
}

/* ---- compression ------------------------------------------------------ */

/* Where compressed bytes go: one buffer reused for every entry when
 * written at once, or a pool buffer per entry when they wait in line. */
typedef struct scratch {
    uint8_t *buf;
    size_t cap;
} scratch;

static int out_buffer(zentry *z, scratch *s, size_t bound)
{
    if (!s) {
        z->out =
            goio_io_bufpool_get(goio_io_bufpool_default(), bound, &z->out_cap);
        z->out_pooled = z->out != NULL;
        return z->out ? 0 : GOIO_ENOMEM;
    }
    if (bound > s->cap) {
        uint8_t *o = goio_realloc(s->buf, bound);
        if (!o)
            return GOIO_ENOMEM;
        s->buf = o;
        s->cap = bound;
    }
    z->out = s->buf;
    z->out_cap = s->cap;
    return 0;
}

static void entry_done(zentry *z)
{
    if (z->out_pooled)
        goio_io_bufpool_put(goio_io_bufpool_default(), z->out, z->out_cap);
    z->out = NULL;
    z->out_cap = 0;
    z->out_pooled = false;
}

/* Deflates one entry with a reset stream; keeps it stored when deflate
 * does not make it smaller (as zip does). */
static void compress_entry(z_stream *zs, zentry *z, int level, scratch *s)
{
    z->crc = 0;
    z->deflated = false;
    z->csize = z->len;
    for (size_t off = 0; off < z->len;) {
        uInt k = z->len - off > (1u << 30) ? (1u << 30) : (uInt)(z->len - off);
        z->crc = (uint32_t)crc32(z->crc, z->data + off, k);
        off += k;
    }
    if (!level || !z->len)
        return;
    size_t bound = deflateBound(zs, (uLong)z->len);
    if ((z->rc = out_buffer(z, s, bound)))
        return;
    if (deflateReset(zs) != Z_OK) {
        z->rc = GOIO_EIO;
        return;
    }
    zs->next_in = (Bytef *)(uintptr_t)z->data;
    zs->next_out = z->out;
    size_t in_left = z->len, out_left = bound;
    int zrc = Z_OK;
    while (zrc == Z_OK) {
        uInt ai = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        uInt ao = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
        zs->avail_in = ai;
        zs->avail_out = ao;
        zrc = deflate(zs, in_left == ai ? Z_FINISH : Z_NO_FLUSH);
        in_left -= ai - zs->avail_in;
        out_left -= ao - zs->avail_out;
    }
    if (zrc != Z_STREAM_END) {
        z->rc = zrc == Z_MEM_ERROR ? GOIO_ENOMEM : GOIO_EIO;
        return;
    }
    z->out_len = bound - out_left;
    if (z->out_len >= z->len) { /* deflate did not help: store */
        entry_done(z);
        return;
    }
    z->deflated = true;
    z->csize = z->out_len;
}

static int deflate_init(z_stream *zs, int level)
{
    memset(zs, 0, sizeof *zs);
    /* Raw deflate (-15): zip has its own headers and CRC. */
    int zrc = deflateInit2(zs, level ? level : 1, Z_DEFLATED, -15, 8,
                           Z_DEFAULT_STRATEGY);
    return zrc == Z_OK ? 0 : zrc == Z_MEM_ERROR ? GOIO_ENOMEM : GOIO_EIO;
}

/* ---- writing ------------------------------------------------------------ */

static int put(zwriter *w, const void *p, size_t n)
{
    int rc = goio_io_write(w->dst, p, n);
    if (!rc)
        w->off += n;
    return rc;
}

static bool needs_zip64(const zentry *z)
{
    return z->len >= U32_MAX || stored_len(z) >= U32_MAX;
}

static int write_local(zwriter *w, zentry *z)
{
    uint8_t h[30 + 20], *p = h;
    bool z64 = needs_zip64(z);
    size_t name_len = strlen(z->name);
    z->offset = w->off;
    p = le32(p, 0x04034b50);
    p = le16(p, z64 ? 45 : 20);                    /* version needed */
    p = le16(p, is_ascii(z->name) ? 0 : 1u << 11); /* UTF-8 names */
    p = le16(p, z->deflated ? 8 : 0);              /* deflate or stored */
    p = le16(p, 0);                                /* 00:00 */
    p = le16(p, DOS_DATE_1980);
    p = le32(p, z->crc);
    p = le32(p, z64 ? U32_MAX : stored_len(z));
    p = le32(p, z64 ? U32_MAX : z->len);
    p = le16(p, name_len);
    p = le16(p, z64 ? 20 : 0);
    uint8_t *extra = p;
    if (z64) {
        p = le16(p, 1); /* zip64 extended information */
        p = le16(p, 16);
        p = le64(p, z->len);
        p = le64(p, stored_len(z));
    }
    int rc = put(w, h, 30);
    if (!rc)
        rc = put(w, z->name, name_len);
    if (!rc && z64)
        rc = put(w, extra, 20);
    if (!rc && stored_len(z))
        rc = put(w, z->deflated ? z->out : z->data, stored_len(z));
    return rc;
}

static int write_central_entry(zwriter *w, const zentry *z)
{
    uint8_t h[46 + 28], *p = h;
    bool big_size = needs_zip64(z), big_off = z->offset >= U32_MAX;
    size_t name_len = strlen(z->name);
    size_t extra_len = (big_size ? 16 : 0) + (big_off ? 8 : 0);
    p = le32(p, 0x02014b50);
    p = le16(p, (3u << 8) | (extra_len ? 45 : 20)); /* made by: Unix */
    p = le16(p, extra_len ? 45 : 20);
    p = le16(p, is_ascii(z->name) ? 0 : 1u << 11);
    p = le16(p, z->deflated ? 8 : 0); /* deflate or stored */
    p = le16(p, 0);
    p = le16(p, DOS_DATE_1980);
    p = le32(p, z->crc);
    p = le32(p, big_size ? U32_MAX : stored_len(z));
    p = le32(p, big_size ? U32_MAX : z->len);
    p = le16(p, name_len);
    p = le16(p, extra_len ? extra_len + 4 : 0);
    p = le16(p, 0);                                   /* comment */
    p = le16(p, 0);                                   /* disk */
    p = le16(p, 0);                                   /* internal attributes */
    p = le32(p, (uint64_t)(0100000 | w->mode) << 16); /* regular, mode */
    p = le32(p, big_off ? U32_MAX : z->offset);
    uint8_t *extra = p;
    if (extra_len) {
        p = le16(p, 1);
        p = le16(p, extra_len);
        if (big_size) {
            p = le64(p, z->len);
            p = le64(p, stored_len(z));
        }
        if (big_off)
            p = le64(p, z->offset);
    }
    int rc = put(w, h, 46);
    if (!rc)
        rc = put(w, z->name, name_len);
    if (!rc && extra_len)
        rc = put(w, extra, extra_len + 4);
    return rc;
}

static int write_end(zwriter *w, uint64_t cd_off)
{
    uint64_t cd_size = w->off - cd_off, n = w->n;
    bool z64 = n >= 0xffff || cd_size >= U32_MAX || cd_off >= U32_MAX;
    uint8_t h[56 + 20 + 22], *p = h;
    if (z64) {
        uint64_t z64_off = w->off;
        p = le32(p, 0x06064b50); /* zip64 end of central directory */
        p = le64(p, 44);
        p = le16(p, (3u << 8) | 45);
        p = le16(p, 45);
        p = le32(p, 0);
        p = le32(p, 0);
        p = le64(p, n);
        p = le64(p, n);
        p = le64(p, cd_size);
        p = le64(p, cd_off);
        p = le32(p, 0x07064b50); /* its locator */
        p = le32(p, 0);
        p = le64(p, z64_off);
        p = le32(p, 1);
    }
    p = le32(p, 0x06054b50);
    p = le16(p, 0);
    p = le16(p, 0);
    p = le16(p, z64 ? 0xffff : n);
    p = le16(p, z64 ? 0xffff : n);
    p = le32(p, z64 ? U32_MAX : cd_size);
    p = le32(p, z64 ? U32_MAX : cd_off);
    p = le16(p, 0); /* comment */
    return put(w, h, (size_t)(p - h));
}

/* ---- one thread --------------------------------------------------------- */

static int write_serial(zwriter *w)
{
    z_stream zs;
    scratch s = {NULL, 0};
    int rc = deflate_init(&zs, w->level);
    for (size_t i = 0; !rc && i < w->n; i++) {
        compress_entry(&zs, &w->e[i], w->level, &s);
        rc = w->e[i].rc;
        if (!rc)
            rc = write_local(w, &w->e[i]);
        entry_done(&w->e[i]);
    }
    deflateEnd(&zs); /* safe after a failed init too */
    goio_free(s.buf);
    return rc;
}

/* ---- several threads ------------------------------------------------------
 */

static void *zip_worker(void *arg)
{
    zwriter *w = arg;
    z_stream zs;
    int init = deflate_init(&zs, w->level);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        /* Stay within the window ahead of the writer: bounded memory. */
        while (!w->stop && w->next < w->n && w->next >= w->written + w->window)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop || w->next >= w->n)
            break;
        zentry *z = &w->e[w->next++];
        pthread_mutex_unlock(&w->mu);
        if (init)
            z->rc = init;
        else
            compress_entry(&zs, z, w->level, NULL);
        pthread_mutex_lock(&w->mu);
        z->ready = true;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (!init)
        deflateEnd(&zs);
    return NULL;
}

static int write_in_order(zwriter *w)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < w->n; i++) {
        zentry *z = &w->e[i];
        pthread_mutex_lock(&w->mu);
        while (!z->ready)
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
        rc = z->rc;
        if (!rc)
            rc = write_local(w, z);
        entry_done(z);
        pthread_mutex_lock(&w->mu);
        w->written = i + 1;
        if (rc)
            w->stop = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

static int write_parallel(zwriter *w, unsigned threads)
{
    pthread_t *th = goio_calloc(threads, sizeof *th);
    if (!th)
        return GOIO_ENOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->window = (size_t)threads * 4;
    unsigned started = 0;
    while (started < threads &&
           !pthread_create(&th[started], NULL, zip_worker, w))
        started++;
    int rc = started ? write_in_order(w) : GOIO_ENOMEM;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < w->n; i++)
        entry_done(&w->e[i]); /* those a failure left behind */
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    goio_free(th);
    return rc;
}

/* ---- entry point ------------------------------------------------------------
 */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const zentry *)a)->name, ((const zentry *)b)->name);
}

static int prepare(zwriter *w, const goio_io_zip_input *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!files[i].data && files[i].len)
            return GOIO_EINVAL;
        int rc = goio__ioext_clean_name(files[i].name, false, &w->e[i].name);
        if (rc)
            return rc;
        if (strlen(w->e[i].name) > 0xffff) /* the headers' 16-bit length */
            return GOIO_ENAMETOOLONG;
        w->e[i].data = files[i].data;
        w->e[i].len = files[i].len;
    }
    qsort(w->e, n, sizeof *w->e, by_name);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(w->e[i - 1].name, w->e[i].name))
            return GOIO_EEXIST;
    return 0;
}

void goio_io_zip_config_init(goio_io_zip_config *opt)
{
    if (!opt)
        return;
    opt->level = 6;
    opt->threads = 1;
    opt->file_mode = 0644;
}

int goio_io_zip_compress(goio_io_writer *dst, const goio_io_zip_input *files,
                         size_t n, const goio_io_zip_config *opt)
{
    goio_io_zip_config def;
    if (!opt) {
        goio_io_zip_config_init(&def);
        opt = &def;
    }
    if (!dst || (!files && n) || opt->level < 0 || opt->level > 9 ||
        opt->threads > GOIO_GZIP_MAX_THREADS || opt->file_mode > 07777)
        return GOIO_EINVAL;
    zwriter w = {
        .dst = dst, .n = n, .level = opt->level, .mode = opt->file_mode};
    w.e = goio_calloc(n ? n : 1, sizeof *w.e);
    if (!w.e)
        return GOIO_ENOMEM;
    int rc = prepare(&w, files, n);
    if (!rc)
        rc = opt->threads > 1 && n > 1 ? write_parallel(&w, opt->threads)
                                       : write_serial(&w);
    uint64_t cd_off = w.off;
    for (size_t i = 0; !rc && i < n; i++)
        rc = write_central_entry(&w, &w.e[i]);
    if (!rc)
        rc = write_end(&w, cd_off);
    for (size_t i = 0; i < n; i++)
        goio_free(w.e[i].name);
    goio_free(w.e);
    return rc;
}
