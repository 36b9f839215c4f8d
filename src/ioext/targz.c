/* SPDX-License-Identifier: MIT */
/*
 * The tar.gz writer: ustar headers (a pax record when a name or size does
 * not fit) streamed through the gzip writer. Memory use is the gzip
 * writer's plus one copy buffer, whatever the archive's size.
 */
#include "ioext_int.h"

#include <stdio.h>
#include <time.h>

#define BLOCK 512

static const uint8_t zeros[BLOCK * 2];

struct goio_io_targz_writer {
    goio_io_writer *gz;
    uint32_t mode;
    int64_t mtime;
    int err; /* sticky: after a failed write the archive is broken */
};

void goio_io_targz_config_init(goio_io_targz_config *opt)
{
    if (!opt)
        return;
    opt->file_mode = 0644;
    opt->mtime = -1;
    goio_io_gzip_config_init(&opt->gzip);
}

int goio_io_targz_writer_new(goio_io_writer *dst,
                             const goio_io_targz_config *opt,
                             goio_io_targz_writer **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    goio_io_targz_config def;
    if (!opt) {
        goio_io_targz_config_init(&def);
        opt = &def;
    }
    if (!dst || opt->file_mode > 07777)
        return GOIO_EINVAL;
    goio_io_targz_writer *w = goio_calloc(1, sizeof *w);
    if (!w)
        return GOIO_ENOMEM;
    int rc = goio_io_gzip_writer_new(dst, &opt->gzip, &w->gz);
    if (rc) {
        goio_free(w);
        return rc;
    }
    w->mode = opt->file_mode;
    w->mtime = opt->mtime >= 0 ? opt->mtime : (int64_t)time(NULL);
    *out = w;
    return 0;
}

/* ---- headers --------------------------------------------------------------
 */

/* Writes v in octal into a field of `width` bytes (digits + NUL); returns
 * false when it does not fit. */
static bool octal(uint8_t *field, size_t width, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%0*llo", (int)width - 1,
                     (unsigned long long)v);
    if (n < 0 || (size_t)n > width - 1)
        return false;
    memcpy(field, tmp, (size_t)n + 1);
    return true;
}

/* Finds where to split a long name into ustar's prefix (<= 155) and name
 * (<= 100) fields at a '/'; 0 when it cannot. */
static size_t ustar_split(const char *name, size_t len)
{
    for (size_t i = len > 101 ? len - 101 : 0; i < len && i <= 155; i++)
        if (name[i] == '/' && i > 0 && len - i - 1 <= 100 && len - i - 1 > 0)
            return i;
    return 0;
}

static void fill_header(uint8_t *h, const char *name, size_t name_len,
                        uint32_t mode, uint64_t size, int64_t mtime, char type)
{
    memset(h, 0, BLOCK);
    size_t split = name_len > 100 ? ustar_split(name, name_len) : 0;
    if (split) {
        memcpy(h + 345, name, split);
        memcpy(h, name + split + 1, name_len - split - 1);
    } else {
        /* Fits, or a pax record carries the full name and this copy is
         * what old readers see. */
        memcpy(h, name, name_len < 100 ? name_len : 100);
    }
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 0); /* uid */
    octal(h + 116, 8, 0); /* gid */
    if (!octal(h + 124, 12, size))
        octal(h + 124, 12, 0); /* the pax record has the real size */
    octal(h + 136, 12, mtime > 0 && mtime < 077777777777 ? (uint64_t)mtime : 0);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6); /* with its NUL */
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum); /* then NUL, then ' ' */
    h[155] = ' ';
}

/* Appends one "len key=value\n" pax record; len counts itself. */
static int pax_record(goio_buf *b, const char *key, const char *val)
{
    size_t body = 1 + strlen(key) + 1 + strlen(val) + 1;
    size_t len = body + 1;
    for (;;) {
        size_t digits = (size_t)snprintf(NULL, 0, "%zu", len);
        if (digits + body == len)
            break;
        len = digits + body;
    }
    return goio_buf_appendf(b, "%zu %s=%s\n", len, key, val);
}

static int put(goio_io_targz_writer *w, const void *p, size_t n)
{
    int rc = goio_io_write(w->gz, p, n);
    if (rc)
        w->err = rc;
    return rc;
}

static int pad(goio_io_targz_writer *w, uint64_t size)
{
    size_t rem = (size_t)(size % BLOCK);
    return rem ? put(w, zeros, BLOCK - rem) : 0;
}

/* A pax extended header for names and sizes ustar cannot hold. */
static int write_pax(goio_io_targz_writer *w, const char *name, size_t len,
                     uint64_t size)
{
    bool long_name = len > 100 && !ustar_split(name, len);
    bool big = size > 077777777777ULL;
    if (!long_name && !big)
        return 0;
    goio_buf b = GOIO_BUF_INIT;
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)size);
    int rc = long_name ? pax_record(&b, "path", name) : 0;
    if (!rc && big)
        rc = pax_record(&b, "size", num);
    if (rc) {
        goio_buf_deinit(&b);
        return rc;
    }
    uint8_t h[BLOCK];
    fill_header(h, "./PaxHeaders/entry", 18, 0644, b.len, w->mtime, 'x');
    rc = put(w, h, BLOCK);
    if (!rc)
        rc = put(w, b.data, b.len);
    if (!rc)
        rc = pad(w, b.len);
    goio_buf_deinit(&b);
    return rc;
}

/* Writes the headers of an entry named `name` (cleaned here). */
static int begin_entry(goio_io_targz_writer *w, const char *name, uint64_t size)
{
    if (!w || !name)
        return GOIO_EINVAL;
    if (w->err)
        return w->err;
    char *clean;
    int rc = goio__ioext_clean_name(name, true, &clean);
    if (rc)
        return rc;
    size_t len = strlen(clean);
    rc = write_pax(w, clean, len, size);
    uint8_t h[BLOCK];
    fill_header(h, clean, len, w->mode, size, w->mtime, '0');
    goio_free(clean);
    if (!rc)
        rc = put(w, h, BLOCK);
    return rc;
}

int goio_io_targz_writer_add(goio_io_targz_writer *w, const char *name,
                             const void *data, size_t len)
{
    if (!data && len)
        return GOIO_EINVAL;
    int rc = begin_entry(w, name, len);
    if (!rc && len)
        rc = put(w, data, len);
    if (!rc)
        rc = pad(w, len);
    return rc;
}

/* Copies exactly `size` bytes of r into the archive. */
static int copy_exact(goio_io_targz_writer *w, goio_io_reader *r, uint64_t size)
{
    goio_io_bufpool *pool = goio_io_bufpool_default();
    size_t cap;
    uint8_t *buf = goio_io_bufpool_get(pool, GOIO_BUFPOOL_LARGE_MIN, &cap);
    if (!buf)
        return w->err = GOIO_ENOMEM;
    int rc = 0;
    while (!rc && size) {
        ssize_t n = goio_io_read(r, buf, size < cap ? (size_t)size : cap);
        if (n <= 0)
            rc = w->err = n < 0 ? (int)n : GOIO_ETRUNCATED;
        else if (!(rc = put(w, buf, (size_t)n)))
            size -= (uint64_t)n;
    }
    goio_io_bufpool_put(pool, buf, cap);
    return rc;
}

int goio_io_targz_writer_add_reader(goio_io_targz_writer *w, const char *name,
                                    goio_io_reader *r, uint64_t size)
{
    if (!r)
        return GOIO_EINVAL;
    int rc = begin_entry(w, name, size);
    if (!rc)
        rc = copy_exact(w, r, size);
    if (!rc)
        rc = pad(w, size);
    return rc;
}

int goio_io_targz_writer_close(goio_io_targz_writer *w)
{
    if (!w)
        return 0;
    int rc = w->err;
    if (!rc)
        rc = put(w, zeros, sizeof zeros); /* the end-of-archive marker */
    if (!rc)
        rc = goio_io_writer_close(w->gz);
    else
        goio__gzip_abort(w->gz); /* no valid-looking end on a broken tar */
    goio_free(w);
    return rc;
}

void goio_io_targz_writer_free(goio_io_targz_writer *w)
{
    if (!w)
        return;
    goio__gzip_abort(w->gz);
    goio_free(w);
}
