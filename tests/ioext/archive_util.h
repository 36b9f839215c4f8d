/* SPDX-License-Identifier: MIT */
/* Helpers shared by the archive tests (header-only: each test includes
 * it once). */
#ifndef GOIO_TEST_ARCHIVE_UTIL_H
#define GOIO_TEST_ARCHIVE_UTIL_H

#include "test_util.h"

#include <goio/ioext.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the scratch directory (cmocka group fixtures) ---------------------- */

/* Each archive test works in one fresh directory, removed at the end. */
static char *tmp;

/* For the group setup: makes tmp, named after prefix. */
static inline int t_tmp_setup(const char *prefix)
{
    tmp = goio_test_mkdtemp(prefix);
    return tmp ? 0 : -1;
}

/* The group teardown: removes tmp and everything under it. */
static inline int t_tmp_teardown(void **state)
{
    (void)state;
    goio_test_rm_rf(tmp);
    goio_free(tmp);
    return 0;
}

static inline uint8_t *t_pattern(size_t n, unsigned seed)
{
    uint8_t *p = goio_malloc(n ? n : 1);
    /* Compressible but not trivial: words from a small alphabet. */
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)("abcdefgh \n{}:,0123"[(x >> 16) % 18]);
    }
    return p;
}

static inline uint8_t *t_random(size_t n, unsigned seed)
{
    uint8_t *p = goio_malloc(n ? n : 1);
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
    return p;
}

static inline char *t_path(const char *dir, const char *name)
{
    goio_buf b = GOIO_BUF_INIT;
    goio_buf_appendf(&b, "%s/%s", dir, name);
    return (char *)goio_buf_detach(&b, NULL);
}

static inline void t_mkdirs(const char *path)
{
    assert_int_equal(goio_test_system("mkdir -p '%s'", path), 0);
}

static inline void t_write(const char *dir, const char *name, const void *p,
                           size_t n)
{
    char *path = t_path(dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    t_mkdirs(path);
    *slash = '/';
    assert_int_equal(goio_test_write_file(path, p, n), 0);
    goio_free(path);
}

/* Asserts the file dir/name holds exactly p[0..n). */
static inline void t_assert_file(const char *dir, const char *name,
                                 const void *p, size_t n)
{
    char *path = t_path(dir, name);
    size_t len = 0;
    uint8_t *got = goio_test_read_file(path, &len);
    if (!got)
        fail_msg("%s: missing", path);
    if (len != n || (n && memcmp(got, p, n)))
        fail_msg("%s: %zu bytes differ from the %zu expected", path, len, n);
    goio_free(got);
    goio_free(path);
}

static inline bool t_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Number of entries in a directory (no . and ..), -1 if missing. */
static inline int t_count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* A writer over a goio_buf, closed by the caller. */
static inline goio_io_writer *t_buf_writer(goio_buf *b)
{
    goio_io_writer *w;
    assert_ok(goio_io_writer_new_buf(b, &w));
    return w;
}

#endif
