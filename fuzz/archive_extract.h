/* SPDX-License-Identifier: MIT */
/*
 * What the zip_extract and targz_extract libFuzzer targets share (a header:
 * fuzz/CMakeLists.txt makes every .c file in fuzz/ a target). A crash
 * or a sanitizer report is a bug; refusals are the expected outcome for
 * most inputs. Properties checked on every input (a broken one aborts):
 * - every name reported is relative and clean (no "", "/x", "x/", "a//b",
 *   "." or ".." component), unique, and among the wanted names if any;
 * - the limits hold: entries, total bytes, the ratio to the input size;
 * - extraction into a directory (a sandbox under $TMPDIR) writes nothing
 *   outside the destination, leaves nothing behind when it fails, and
 *   when it succeeds holds the regular files memory extraction returned,
 *   byte for byte, and no others; it never succeeds where memory
 *   extraction fails.
 */
#ifndef GOIO_FUZZ_ARCHIVE_EXTRACT_H
#define GOIO_FUZZ_ARCHIVE_EXTRACT_H

#define _GNU_SOURCE
#include "fuzz_util.h"
#include <goio/ioext.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*fuzz_extract_fn)(const void *data, size_t len,
                               const char *const *names, size_t nnames,
                               const goio_io_extract_config *opt,
                               goio_io_archive_files **out);
typedef int (*fuzz_extract_dir_fn)(const void *data, size_t len,
                                   const char *dir,
                                   const goio_io_extract_config *opt);

static bool fuzz_name_is_clean(const char *n)
{
    if (!n[0] || n[0] == '/')
        return false;
    for (const char *p = n;;) {
        const char *end = strchr(p, '/');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (!k || (k == 1 && p[0] == '.') ||
            (k == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!end)
            return true;
        p = end + 1;
    }
}

static void fuzz_check_files(const goio_io_archive_files *out,
                             const goio_io_extract_config *opt, size_t size,
                             const char *const *want, size_t nwant)
{
    fuzz_check(out->count <= opt->max_entries, "max_entries");
    uint64_t total = 0;
    for (size_t i = 0; i < out->count; i++) {
        const goio_io_archive_file *f = &out->files[i];
        fuzz_check(f->name && fuzz_name_is_clean(f->name),
                   "names are relative and clean");
        fuzz_check(f->len == 0 || f->data, "data present");
        for (size_t j = 0; j < i; j++)
            fuzz_check(strcmp(out->files[j].name, f->name) != 0,
                       "names are unique");
        if (nwant) {
            bool asked = false;
            for (size_t j = 0; j < nwant; j++)
                asked |= !strcmp(want[j], f->name);
            fuzz_check(asked, "only wanted names");
        }
        if (f->len) /* touch the last byte: it must be readable */
            total += f->data[f->len - 1] ? f->len : f->len;
    }
    fuzz_check(total <= opt->max_total_bytes, "max_total_bytes");
    fuzz_check(!opt->max_ratio || total <= opt->ratio_grace_bytes ||
                   total / opt->max_ratio <= size,
               "max_ratio");
}

/* ---- the sandbox --------------------------------------------------------- */

/* $TMPDIR/goio-fuzz-<pid>/box: the destination is box/out. */
static char fuzz_top[PATH_MAX - 32], fuzz_box[PATH_MAX], fuzz_dest[PATH_MAX];

static void fuzz_sandbox_remove(void)
{
    rmdir(fuzz_box); /* empty after every run */
    rmdir(fuzz_top);
}

/* Makes the sandbox for one run; fuzz_sandbox_remove after it (libFuzzer
 * ends without running atexit handlers). */
static bool fuzz_sandbox(void)
{
    if (!fuzz_box[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_top, sizeof fuzz_top, "%s/goio-fuzz-%d",
                 t && *t ? t : "/tmp", (int)getpid());
        snprintf(fuzz_box, sizeof fuzz_box, "%s/box", fuzz_top);
        snprintf(fuzz_dest, sizeof fuzz_dest, "%s/out", fuzz_box);
    }
    return (!mkdir(fuzz_top, 0700) || errno == EEXIST) &&
           (!mkdir(fuzz_box, 0700) || errno == EEXIST);
}

/* Removes what dir (open as fd) holds, counting regular files; dirs are
 * at most max_entries deep, so recursion is bounded. */
static int fuzz_clear(int fd, size_t *files)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
            rc = -1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 || fuzz_clear(sub, files))
                rc = -1;
            if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR))
                rc = -1;
        } else {
            if (S_ISREG(st.st_mode))
                ++*files;
            if (unlinkat(dirfd(d), e->d_name, 0))
                rc = -1;
        }
    }
    closedir(d);
    return rc;
}

/* The names directly under dir (no . and ..), -1 when it cannot be read;
 * *only is set when the single entry is `name`. */
static int fuzz_count_in(const char *dir, const char *name, bool *only)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    *only = false;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        *only = !strcmp(e->d_name, name);
    }
    closedir(d);
    return n;
}

/* Whether dest/name holds exactly f's bytes; true when the path is too
 * long to check this way. */
static bool fuzz_same_file(const goio_io_archive_file *f)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", fuzz_dest, f->name) >=
        sizeof path)
        return true;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENAMETOOLONG;
    uint8_t buf[4096];
    size_t at = 0;
    bool same = true;
    ssize_t n;
    while (same && (n = read(fd, buf, sizeof buf)) > 0) {
        same = at + (size_t)n <= f->len && !memcmp(f->data + at, buf, n);
        at += (size_t)n;
    }
    close(fd);
    return same && at == f->len;
}

static void fuzz_extract_to_dir(fuzz_extract_dir_fn to_dir, const uint8_t *data,
                                size_t size, const goio_io_extract_config *opt,
                                const goio_io_archive_files *mem)
{
    if (!fuzz_sandbox())
        return; /* no writable TMPDIR: memory properties only */
    int rc = to_dir(data, size, fuzz_dest, opt);
    bool only;
    int n = fuzz_count_in(fuzz_box, "out", &only);
    if (rc) {
        fuzz_check(n == 0, "a failed extraction leaves nothing");
        fuzz_sandbox_remove();
        return;
    }
    fuzz_check(n == 1 && only, "nothing is written outside the destination");
    fuzz_check(mem != NULL, "directory extraction never accepts more");
    for (size_t i = 0; i < mem->count; i++)
        fuzz_check(fuzz_same_file(&mem->files[i]),
                   "directory and memory extraction agree");
    size_t files = 0;
    int fd = open(fuzz_dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    fuzz_check(fd >= 0 && fuzz_clear(fd, &files) == 0 && !rmdir(fuzz_dest),
               "the sandbox can be cleared");
    fuzz_check(files == mem->count, "directory holds what memory returned");
    fuzz_sandbox_remove();
}

/* Extracts data to memory with limits small enough to keep each run fast,
 * checks what came out, then extracts to a directory (dir_fn not NULL). */
static int fuzz_extract(fuzz_extract_fn extract, fuzz_extract_dir_fn to_dir,
                        const uint8_t *data, size_t size)
{
    fuzz_quiet_logs();
    goio_io_extract_config opt;
    goio_io_extract_config_init(&opt);
    opt.max_entries = 256;
    opt.max_total_bytes = 4 << 20;
    opt.max_name_bytes = 64 << 10;
    /* Vary the options with the input so every path gets exercised. */
    opt.allow_symlinks = size & 1;
    opt.duplicates = size & 2 ? GOIO_DUP_LAST_WINS : GOIO_DUP_ERROR;
    const char *want[] = {"a", "dir/b.txt"};
    bool filter = size & 4;
    goio_io_archive_files *out = NULL;
    int rc =
        extract(data, size, filter ? want : NULL, filter ? 2 : 0, &opt, &out);
    fuzz_check(rc ? out == NULL : out != NULL, "*out is set on success only");
    if (!rc)
        fuzz_check_files(out, &opt, size, want, filter ? 2 : 0);
    /* The directory holds every file: compare with an unfiltered run. */
    if (to_dir && filter) {
        goio_io_archive_files_free(out);
        out = NULL;
        rc = extract(data, size, NULL, 0, &opt, &out);
    }
    if (to_dir)
        fuzz_extract_to_dir(to_dir, data, size, &opt, rc ? NULL : out);
    goio_io_archive_files_free(out);
    return 0;
}

#endif
