/* SPDX-License-Identifier: MIT */
/* Crafting archives of any shape with libarchive's writer, for the tests
 * of unsafe and hostile archives (header-only; link goio_deps::libarchive).
 */
#ifndef GOIO_TEST_ARCHIVE_CRAFT_H
#define GOIO_TEST_ARCHIVE_CRAFT_H

#include "archive_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- crafting archives with libarchive ------------------------------------
 */

typedef enum kind { REG, DIR_, SYMLINK, HARDLINK, CHR, BLK, FIFO } kind;

typedef struct craft {
    kind k;
    const char *name;
    const char *target; /* links; file contents for REG */
    unsigned mode;      /* 0: 0644 / 0755 */
} craft;

static inline la_ssize_t to_buf(struct archive *a, void *data, const void *p,
                                size_t n)
{
    (void)a;
    goio_buf_append(data, p, n);
    return (la_ssize_t)n;
}

typedef enum fmt { TARGZ, TAR_RAW, ZIP } fmt;

static inline goio_buf make(fmt f, const craft *c, size_t n)
{
    goio_buf out = GOIO_BUF_INIT;
    struct archive *a = archive_write_new();
    if (f == ZIP) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        if (f == TARGZ)
            archive_write_add_filter_gzip(a);
    }
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open(a, &out, NULL, to_buf, NULL),
                     ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, c[i].name);
        archive_entry_set_mtime(e, 1500000000, 0);
        size_t len = 0;
        switch (c[i].k) {
        case REG:
            len = c[i].target ? strlen(c[i].target) : 0;
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)len);
            break;
        case DIR_:
            archive_entry_set_filetype(e, AE_IFDIR);
            break;
        case SYMLINK:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, c[i].target);
            break;
        case HARDLINK:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, c[i].target);
            break;
        case CHR:
        case BLK:
            archive_entry_set_filetype(e, c[i].k == CHR ? AE_IFCHR : AE_IFBLK);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
        case FIFO:
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        }
        archive_entry_set_perm(e, c[i].mode        ? c[i].mode
                                  : c[i].k == DIR_ ? 0755
                                                   : 0644);
        int r = archive_write_header(a, e);
        if (r != ARCHIVE_OK)
            fail_msg("libarchive refused to write %s: %s", c[i].name,
                     archive_error_string(a));
        if (len)
            assert_int_equal(archive_write_data(a, c[i].target, len),
                             (la_ssize_t)len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return out;
}

/* ---- checking a refusal
 * ------------------------------------------------------ */

static inline int extract_mem(fmt f, const goio_buf *b,
                              const goio_io_extract_config *o,
                              goio_io_archive_files **out)
{
    *out = NULL;
    return f == ZIP ? goio_io_zip_extract(b->data, b->len, NULL, 0, o, out)
                    : goio_io_targz_extract(b->data, b->len, NULL, 0, o, out);
}

static inline int extract_dir(fmt f, const goio_buf *b, const char *dir,
                              const goio_io_extract_config *o)
{
    if (f == ZIP)
        return goio_io_zip_extract_to_dir(b->data, b->len, dir, o);
    goio_io_reader *r;
    assert_ok(goio_io_reader_new_mem(b->data, b->len, &r));
    int rc = goio_io_targz_extract_to_dir(r, dir, o);
    goio_io_reader_close(r);
    return rc;
}

/* The sandbox holds only "out" (a would-be destination) under "box":
 * anything else appearing there escaped. */
static inline void expect_refused_with(fmt f, const goio_buf *b, int code,
                                       const goio_io_extract_config *o)
{
    goio_io_archive_files *got;
    assert_goio(code, extract_mem(f, b, o, &got));
    assert_null(got);
    char *box = t_path(tmp, "box");
    char *out = t_path(box, "deep/out");
    t_mkdirs(box);
    t_mkdirs(out);
    rmdir(out);
    assert_goio(code, extract_dir(f, b, out, o));
    assert_false(t_exists(out));
    char *deep = t_path(box, "deep");
    assert_int_equal(t_count_dir(deep), 0); /* no temporary left */
    assert_int_equal(t_count_dir(box), 1);  /* nothing escaped */
    goio_test_rm_rf(box);
    goio_free(deep);
    goio_free(out);
    goio_free(box);
}

static inline void expect_refused(fmt f, const craft *c, size_t n, int code,
                                  const goio_io_extract_config *o)
{
    goio_buf b = make(f, c, n);
    expect_refused_with(f, &b, code, o);
    goio_buf_deinit(&b);
}

#define N(a) (sizeof(a) / sizeof *(a))

#endif
