/* SPDX-License-Identifier: MIT */
/*
 * Readers and writers: the generic helpers (goio_io_read, goio_io_write, ...)
 * and the adapters for file descriptors, FILE*, memory and goio_buf.
 */
#include "ioext_int.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* Bytes goio_io_copy moves per read: one large pool buffer. */
#define COPY_CHUNK GOIO_BUFPOOL_LARGE_MIN

/* ---- generic helpers ----------------------------------------------------- */

ssize_t goio_io_read(goio_io_reader *r, void *buf, size_t cap)
{
    if (!r || !r->ops || !r->ops->read || !buf || cap == 0)
        return GOIO_EINVAL;
    if (cap > SSIZE_MAX)
        cap = SSIZE_MAX;
    for (;;) {
        ssize_t n = r->ops->read(r, buf, cap);
        if (n == -EINTR)
            continue; /* a user reader may pass EINTR up */
        /* A reader claiming more than it was given would make callers
         * overrun their buffers: refuse to pass that on. */
        if (n > (ssize_t)cap)
            return GOIO_EIO;
        return n;
    }
}

int goio_io_read_full(goio_io_reader *r, void *buf, size_t n, size_t *got)
{
    size_t done = 0;
    int rc = 0;
    if (got)
        *got = 0;
    if (!r || (!buf && n))
        return GOIO_EINVAL;
    while (done < n) {
        ssize_t k = goio_io_read(r, (uint8_t *)buf + done, n - done);
        if (k < 0) {
            rc = (int)k;
            break;
        }
        if (k == 0)
            break;
        done += (size_t)k;
    }
    if (got)
        *got = done;
    return rc;
}

/* Reads once into the spare room of b, growing it by at least `want`. */
static ssize_t read_into_buf(goio_io_reader *r, goio_buf *b, size_t want)
{
    int rc = goio_buf_reserve(b, want);
    if (rc)
        return rc;
    /* goio_buf keeps one byte spare for the terminator. */
    size_t room = b->cap - b->len - 1;
    ssize_t n = goio_io_read(r, b->data + b->len, room < want ? room : want);
    if (n > 0)
        b->len += (size_t)n;
    return n;
}

int goio_io_read_all(goio_io_reader *r, goio_buf *out, size_t limit)
{
    if (!r || !out)
        return GOIO_EINVAL;
    size_t start = out->len;
    size_t chunk = GOIO_BUFPOOL_SMALL;
    for (;;) {
        size_t got = out->len - start;
        size_t want = chunk;
        /* Read at most one byte past the limit: enough to know it was
         * exceeded without buffering more. (got <= limit here; written
         * without "+ 1" on the left, which wraps to 0 for SIZE_MAX.) */
        if (limit && limit - got < want - 1)
            want = limit - got + 1;
        ssize_t n = read_into_buf(r, out, want);
        if (n == 0)
            return 0;
        if (n < 0 || (limit && out->len - start > limit)) {
            out->len = start;
            return n < 0 ? (int)n : GOIO_ELIMIT;
        }
        if (chunk < COPY_CHUNK * 4)
            chunk *= 2; /* fewer, larger reads for long streams */
    }
}

int goio_io_reader_close(goio_io_reader *r)
{
    if (!r)
        return 0;
    if (!r->ops || !r->ops->close)
        return GOIO_EINVAL;
    return r->ops->close(r);
}

int goio_io_write(goio_io_writer *w, const void *p, size_t len)
{
    if (!w || !w->ops || !w->ops->write || (!p && len))
        return GOIO_EINVAL;
    const uint8_t *at = p;
    while (len) {
        size_t ask = len > SSIZE_MAX ? SSIZE_MAX : len;
        ssize_t n = w->ops->write(w, at, ask);
        if (n == -EINTR)
            continue;
        if (n < 0)
            return (int)n;
        /* Zero progress would loop forever; too much is a broken writer. */
        if (n == 0 || (size_t)n > ask)
            return GOIO_EIO;
        at += n;
        len -= (size_t)n;
    }
    return 0;
}

int goio_io_flush(goio_io_writer *w)
{
    if (!w || !w->ops)
        return GOIO_EINVAL;
    return w->ops->flush ? w->ops->flush(w) : 0;
}

int goio_io_writer_close(goio_io_writer *w)
{
    if (!w)
        return 0;
    if (!w->ops || !w->ops->close)
        return GOIO_EINVAL;
    return w->ops->close(w);
}

/* ---- file descriptors ---------------------------------------------------- */

typedef struct fd_io {
    union {
        goio_io_reader r;
        goio_io_writer w;
    } base;
    int fd;
    bool own;
} fd_io;

int goio__ioext_errno(int e)
{
    return e > 0 ? -e : GOIO_EIO;
}

static ssize_t fd_read(goio_io_reader *r, void *buf, size_t cap)
{
    fd_io *f = (fd_io *)r;
    for (;;) {
        ssize_t n = read(f->fd, buf, cap);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return goio__ioext_errno(errno);
    }
}

static ssize_t fd_write(goio_io_writer *w, const void *p, size_t len)
{
    fd_io *f = (fd_io *)w;
    for (;;) {
        ssize_t n = write(f->fd, p, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return goio__ioext_errno(errno);
    }
}

static int fd_close_common(fd_io *f)
{
    int rc = 0;
    /* close() is not retried on EINTR: on Linux the fd is gone anyway. */
    if (f->own && close(f->fd) && errno != EINTR)
        rc = goio__ioext_errno(errno);
    goio_free(f);
    return rc;
}

static int fd_reader_close(goio_io_reader *r)
{
    return fd_close_common((fd_io *)r);
}

static int fd_writer_close(goio_io_writer *w)
{
    return fd_close_common((fd_io *)w);
}

static const goio_io_reader_ops fd_reader_ops = {fd_read, fd_reader_close};
static const goio_io_writer_ops fd_writer_ops = {fd_write, NULL,
                                                 fd_writer_close};

/* Allocates the adapter; the constructors set the direction's ops. */
static int fd_new(int fd, bool own, fd_io **f)
{
    if (fd < 0)
        return GOIO_EINVAL;
    if (!(*f = goio_calloc(1, sizeof **f)))
        return GOIO_ENOMEM;
    (*f)->fd = fd;
    (*f)->own = own;
    return 0;
}

int goio_io_reader_new_fd(int fd, bool own_fd, goio_io_reader **out)
{
    fd_io *f = NULL;
    int rc = out ? fd_new(fd, own_fd, &f) : GOIO_EINVAL;
    if (f)
        f->base.r.ops = &fd_reader_ops;
    if (out)
        *out = f ? &f->base.r : NULL;
    return rc;
}

int goio_io_writer_new_fd(int fd, bool own_fd, goio_io_writer **out)
{
    fd_io *f = NULL;
    int rc = out ? fd_new(fd, own_fd, &f) : GOIO_EINVAL;
    if (f)
        f->base.w.ops = &fd_writer_ops;
    if (out)
        *out = f ? &f->base.w : NULL;
    return rc;
}

/* ---- FILE* --------------------------------------------------------------- */

typedef struct file_io {
    union {
        goio_io_reader r;
        goio_io_writer w;
    } base;
    FILE *f;
    bool own;
} file_io;

static ssize_t file_read(goio_io_reader *r, void *buf, size_t cap)
{
    file_io *fi = (file_io *)r;
    for (;;) {
        errno = 0;
        size_t n = fread(buf, 1, cap, fi->f);
        if (n > 0)
            return (ssize_t)n;
        if (!ferror(fi->f))
            return 0;
        int e = errno;
        clearerr(fi->f); /* so a retry or a later read can go on */
        if (e != EINTR)
            return goio__ioext_errno(e);
    }
}

static ssize_t file_write(goio_io_writer *w, const void *p, size_t len)
{
    file_io *fi = (file_io *)w;
    for (;;) {
        errno = 0;
        size_t n = fwrite(p, 1, len, fi->f);
        if (n > 0)
            return (ssize_t)n;
        int e = errno;
        clearerr(fi->f);
        if (e != EINTR)
            return goio__ioext_errno(e);
    }
}

static int file_flush(goio_io_writer *w)
{
    file_io *fi = (file_io *)w;
    for (;;) {
        if (fflush(fi->f) == 0)
            return 0;
        int e = errno;
        clearerr(fi->f);
        if (e != EINTR)
            return goio__ioext_errno(e);
    }
}

static int file_reader_close(goio_io_reader *r)
{
    file_io *fi = (file_io *)r;
    int rc = 0;
    if (fi->own && fclose(fi->f))
        rc = goio__ioext_errno(errno);
    goio_free(fi);
    return rc;
}

static int file_writer_close(goio_io_writer *w)
{
    file_io *fi = (file_io *)w;
    int rc = fi->own ? 0 : file_flush(w);
    if (fi->own && fclose(fi->f))
        rc = goio__ioext_errno(errno);
    goio_free(fi);
    return rc;
}

static const goio_io_reader_ops file_reader_ops = {file_read,
                                                   file_reader_close};
static const goio_io_writer_ops file_writer_ops = {file_write, file_flush,
                                                   file_writer_close};

static int file_new(FILE *f, bool own, file_io **fi)
{
    if (!f)
        return GOIO_EINVAL;
    if (!(*fi = goio_calloc(1, sizeof **fi)))
        return GOIO_ENOMEM;
    (*fi)->f = f;
    (*fi)->own = own;
    return 0;
}

int goio_io_reader_new_file(FILE *f, bool own_file, goio_io_reader **out)
{
    file_io *fi = NULL;
    int rc = out ? file_new(f, own_file, &fi) : GOIO_EINVAL;
    if (fi)
        fi->base.r.ops = &file_reader_ops;
    if (out)
        *out = fi ? &fi->base.r : NULL;
    return rc;
}

int goio_io_writer_new_file(FILE *f, bool own_file, goio_io_writer **out)
{
    file_io *fi = NULL;
    int rc = out ? file_new(f, own_file, &fi) : GOIO_EINVAL;
    if (fi)
        fi->base.w.ops = &file_writer_ops;
    if (out)
        *out = fi ? &fi->base.w : NULL;
    return rc;
}

/* ---- memory -------------------------------------------------------------- */

typedef struct mem_reader {
    goio_io_reader base;
    const uint8_t *p;
    size_t len, off;
} mem_reader;

static ssize_t mem_read(goio_io_reader *r, void *buf, size_t cap)
{
    mem_reader *m = (mem_reader *)r;
    size_t n = m->len - m->off;
    if (n > cap)
        n = cap;
    if (n)
        memcpy(buf, m->p + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

static int mem_close(goio_io_reader *r)
{
    goio_free(r);
    return 0;
}

static const goio_io_reader_ops mem_reader_ops = {mem_read, mem_close};

int goio_io_reader_new_mem(const void *p, size_t len, goio_io_reader **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    if (!p && len)
        return GOIO_EINVAL;
    mem_reader *m = goio_calloc(1, sizeof *m);
    if (!m)
        return GOIO_ENOMEM;
    m->base.ops = &mem_reader_ops;
    m->p = p;
    m->len = len;
    *out = &m->base;
    return 0;
}

/* ---- goio_buf and discard ------------------------------------------------ */

typedef struct buf_writer {
    goio_io_writer base;
    goio_buf *b;
    uint64_t *counted;
} buf_writer;

static ssize_t buf_write(goio_io_writer *w, const void *p, size_t len)
{
    buf_writer *bw = (buf_writer *)w;
    int rc = goio_buf_append(bw->b, p, len);
    return rc ? rc : (ssize_t)len;
}

static ssize_t discard_write(goio_io_writer *w, const void *p, size_t len)
{
    (void)p;
    buf_writer *bw = (buf_writer *)w;
    if (bw->counted)
        *bw->counted += len;
    return (ssize_t)len;
}

static int buf_close(goio_io_writer *w)
{
    goio_free(w);
    return 0;
}

static const goio_io_writer_ops buf_writer_ops = {buf_write, NULL, buf_close};
static const goio_io_writer_ops discard_writer_ops = {discard_write, NULL,
                                                      buf_close};

static int buf_writer_new(const goio_io_writer_ops *ops, goio_buf *b,
                          uint64_t *counted, goio_io_writer **out)
{
    buf_writer *bw = goio_calloc(1, sizeof *bw);
    if (!bw)
        return GOIO_ENOMEM;
    bw->base.ops = ops;
    bw->b = b;
    bw->counted = counted;
    *out = &bw->base;
    return 0;
}

int goio_io_writer_new_buf(goio_buf *b, goio_io_writer **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    if (!b)
        return GOIO_EINVAL;
    return buf_writer_new(&buf_writer_ops, b, NULL, out);
}

int goio_io_writer_new_discard(uint64_t *counted, goio_io_writer **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    return buf_writer_new(&discard_writer_ops, NULL, counted, out);
}

/* ---- copy ---------------------------------------------------------------- */

/* A memory source needs no intermediate buffer: write its bytes as is. */
static int copy_from_mem(goio_io_writer *dst, mem_reader *m, uint64_t *copied)
{
    size_t n = m->len - m->off;
    int rc = goio_io_write(dst, m->p + m->off, n);
    if (rc)
        return rc; /* how much went out of a failed write is unknown */
    m->off += n;
    *copied += n;
    return 0;
}

/* A goio_buf destination: read straight into its spare room. */
static int copy_to_buf(buf_writer *bw, goio_io_reader *src, uint64_t *copied)
{
    for (;;) {
        ssize_t n = read_into_buf(src, bw->b, COPY_CHUNK);
        if (n <= 0)
            return (int)n;
        *copied += (uint64_t)n;
    }
}

static int copy_pooled(goio_io_writer *dst, goio_io_reader *src,
                       uint64_t *copied)
{
    goio_io_bufpool *pool = goio_io_bufpool_default();
    size_t cap;
    uint8_t *buf = goio_io_bufpool_get(pool, COPY_CHUNK, &cap);
    if (!buf)
        return GOIO_ENOMEM;
    int rc;
    for (;;) {
        ssize_t n = goio_io_read(src, buf, cap);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        if ((rc = goio_io_write(dst, buf, (size_t)n)))
            break;
        *copied += (uint64_t)n;
    }
    goio_io_bufpool_put(pool, buf, cap);
    return rc;
}

int goio_io_copy(goio_io_writer *dst, goio_io_reader *src, uint64_t *copied)
{
    uint64_t local = 0;
    if (!copied)
        copied = &local;
    *copied = 0;
    if (!dst || !dst->ops || !dst->ops->write || !src || !src->ops ||
        !src->ops->read)
        return GOIO_EINVAL;
    if (src->ops == &mem_reader_ops)
        return copy_from_mem(dst, (mem_reader *)src, copied);
    if (dst->ops == &buf_writer_ops)
        return copy_to_buf((buf_writer *)dst, src, copied);
    return copy_pooled(dst, src, copied);
}
