/* SPDX-License-Identifier: MIT */
/*
 * The directory sink: entries are created with *at() calls relative to a
 * fresh temporary directory, never following a symlink (O_NOFOLLOW on
 * every component), and the directory is renamed into place at the end.
 * Own code rather than libarchive's disk writer: with a fresh root, one
 * rule (never follow, never overwrite unless asked) replaces the disk
 * writer's flags, and nothing restores owners, setuid bits or devices.
 */
#define _GNU_SOURCE
#include "extract_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dir_sink {
    int root; /* the temporary directory */
    int fd;   /* the file being written, or -1 */
    uint32_t mode;
    int64_t mtime;
    /* The last parent directory opened, kept for the next entry: archives
     * list a directory's files together. */
    char *parent_path;
    int parent_fd;
} dir_sink;

static int sys_err(int e)
{
    switch (e) {
    case ELOOP: /* a symlink where a directory was expected */
        return GOIO_EUNSAFEPATH;
    case ENOTDIR: /* a file where a directory was expected */
    case EISDIR:
    case EEXIST:
        return GOIO_EEXIST;
    default:
        return goio__ioext_errno(e);
    }
}

/* Opens (creating as needed) the directories of name[0..n) under root. */
static int open_dirs(int root, const char *name, size_t n, int *out)
{
    int cur = root;
    char comp[NAME_MAX + 1];
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && name[j] != '/')
            j++;
        if (j - i > NAME_MAX) {
            if (cur != root)
                close(cur);
            return GOIO_ENAMETOOLONG;
        }
        memcpy(comp, name + i, j - i);
        comp[j - i] = '\0';
        int fl = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int fd = openat(cur, comp, fl);
        if (fd < 0 && errno == ENOENT &&
            (!mkdirat(cur, comp, 0755) || errno == EEXIST))
            fd = openat(cur, comp, fl);
        int e = errno;
        if (cur != root)
            close(cur);
        if (fd < 0)
            return sys_err(e);
        cur = fd;
        i = j + 1;
    }
    *out = cur;
    return 0;
}

/* The directory fd holding `name`'s last component; *leaf points at it. */
static int parent_of(dir_sink *d, const char *name, const char **leaf)
{
    const char *slash = strrchr(name, '/');
    *leaf = slash ? slash + 1 : name;
    if (!slash)
        return d->root;
    size_t n = (size_t)(slash - name);
    size_t have = d->parent_path ? strlen(d->parent_path) : 0;
    if (d->parent_path && have == n && !memcmp(d->parent_path, name, n))
        return d->parent_fd;
    /* Going deeper below the last parent (a/, a/b/, a/b/c/ ...): start
     * there, not at the root, so a deep chain costs O(depth) in all. */
    bool below = d->parent_path && have < n && name[have] == '/' &&
                 !memcmp(d->parent_path, name, have);
    int fd;
    int rc = below ? open_dirs(d->parent_fd, name + have + 1, n - have - 1, &fd)
                   : open_dirs(d->root, name, n, &fd);
    if (d->parent_path) {
        close(d->parent_fd);
        goio_free(d->parent_path);
        d->parent_path = NULL;
    }
    if (rc)
        return rc;
    if (!(d->parent_path = goio_strndup(name, n))) {
        close(fd);
        return GOIO_ENOMEM;
    }
    d->parent_fd = fd;
    return fd;
}

static int make_dir(int parent, const char *leaf)
{
    if (!mkdirat(parent, leaf, 0755))
        return 0;
    struct stat st;
    if (errno == EEXIST && !fstatat(parent, leaf, &st, AT_SYMLINK_NOFOLLOW) &&
        S_ISDIR(st.st_mode))
        return 0; /* listed twice, or made earlier as a parent */
    return sys_err(errno);
}

static int dir_begin(void *sink, const xentry *e)
{
    dir_sink *d = sink;
    const char *leaf;
    int parent = parent_of(d, e->name, &leaf);
    if (parent < 0)
        return parent;
    if (e->type == X_DIR)
        return make_dir(parent, leaf);
    /* The engine allows a replace only of a file or link by one. */
    if (e->replace && unlinkat(parent, leaf, 0) && errno != ENOENT)
        return sys_err(errno);
    if (e->type == X_LINK)
        return symlinkat(e->link, parent, leaf) ? sys_err(errno) : 0;
    d->fd = openat(parent, leaf,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d->fd < 0)
        return sys_err(errno);
    d->mode = (e->mode & 0755) | 0600;
    d->mtime = e->mtime;
    return 0;
}

static int dir_data(void *sink, const void *p, size_t n)
{
    dir_sink *d = sink;
    const uint8_t *at = p;
    while (n) {
        ssize_t k = write(d->fd, at, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? goio__ioext_errno(errno) : GOIO_EIO;
        at += k;
        n -= (size_t)k;
    }
    return 0;
}

static int dir_end(void *sink)
{
    dir_sink *d = sink;
    if (d->fd < 0)
        return 0;
    int rc = 0;
    struct timespec ts[2] = {{d->mtime, 0}, {d->mtime, 0}};
    if (fchmod(d->fd, (mode_t)d->mode) || futimens(d->fd, ts))
        rc = goio__ioext_errno(errno);
    if (close(d->fd) && errno != EINTR && !rc)
        rc = goio__ioext_errno(errno);
    d->fd = -1;
    return rc;
}

static void dir_abort(void *sink)
{
    dir_sink *d = sink;
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

static const xsink_ops dir_ops = {dir_begin, dir_data, dir_end, dir_abort};

/* ---- the temporary directory -----------------------------------------------
 */

/*
 * Empties the directory open as `dir` as far as it can in one pass, never
 * following a link: unlinks non-directories and removes empty
 * subdirectories until it meets a non-empty one. Returns 1 with that
 * one's name in sub (to descend into), 0 when dir is empty now, -1 when
 * something cannot be removed.
 */
static int clear_dir(int dir, char sub[NAME_MAX + 1])
{
    /* A descriptor of its own: readdir starts at the beginning. */
    int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !unlinkat(dir, n, 0))
            continue;
        if (errno == EISDIR && !unlinkat(dir, n, AT_REMOVEDIR))
            continue;
        if (errno == ENOTEMPTY || errno == EEXIST) {
            strcpy(sub, n); /* d_name fits NAME_MAX */
            rc = 1;
        } else {
            rc = -1;
        }
        break;
    }
    closedir(d);
    return rc;
}

/*
 * Removes the tree at path, also when its paths are longer than PATH_MAX
 * (an archive's 4 KiB names under a long destination) or thousands of
 * levels deep: everything is done relative to directory descriptors, two
 * at most open at a time, whatever the depth (nftw hands out full paths,
 * which unlink() refuses past PATH_MAX, so a failed extraction stayed
 * behind). Goes down to a directory without non-empty subdirectories,
 * empties it, climbs back through ".." and starts over; gives up at the
 * first entry it cannot remove.
 */
static void remove_tree(const char *path)
{
    int cur = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    size_t depth = 0;
    char sub[NAME_MAX + 1];
    while (cur >= 0) {
        int r = clear_dir(cur, sub);
        if (r < 0 || (r == 0 && depth == 0))
            break;
        const char *next = r ? sub : "..";
        int fd =
            openat(cur, next, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(cur);
        cur = fd;
        depth = r ? depth + 1 : depth - 1;
    }
    if (cur >= 0)
        close(cur);
    rmdir(path);
}

/* dest may be missing or an empty directory. */
static int check_dest(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st))
        return errno == ENOENT ? 0 : goio__ioext_errno(errno);
    if (!S_ISDIR(st.st_mode))
        return GOIO_EEXIST;
    /* A cheap emptiness check: rename() makes the final decision. */
    return st.st_nlink > 2 ? GOIO_EEXIST : 0;
}

/* "<parent>/.<base>.goio-XXXXXX" for mkdtemp: a sibling, so the final
 * rename stays on one filesystem. */
static int temp_template(const char *dir, char **out)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--; /* "out/" names "out" */
    const char *slash = memrchr(dir, '/', n);
    const char *base = slash ? slash + 1 : dir;
    size_t plen = slash ? (size_t)(slash - dir) + 1 : 0;
    size_t blen = n - plen;
    if (!blen || (blen == 1 && base[0] == '.') ||
        (blen == 2 && base[0] == '.' && base[1] == '.'))
        return GOIO_EINVAL;
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio_buf_appendf(&b, "%.*s.%.*s.goio-XXXXXX", (int)plen, dir,
                              (int)blen, base);
    if (rc) {
        goio_buf_deinit(&b);
        return rc;
    }
    *out = (char *)goio_buf_detach(&b, NULL);
    return 0;
}

static int finish_dir(const char *tmp, const char *dir)
{
    if (chmod(tmp, 0755)) /* mkdtemp made it 0700 */
        return goio__ioext_errno(errno);
    if (!rename(tmp, dir))
        return 0;
    return errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR ||
                   errno == EISDIR
               ? GOIO_EEXIST
               : goio__ioext_errno(errno);
}

int goio__ioext_extract_dir(xjob *job, const char *dir)
{
    char *tmp;
    int rc = temp_template(dir, &tmp);
    if (rc)
        return rc;
    rc = check_dest(dir);
    if (rc) {
        goio_free(tmp);
        return rc;
    }
    if (!mkdtemp(tmp)) {
        rc = goio__ioext_errno(errno);
        goio_free(tmp);
        return rc;
    }
    dir_sink d = {.fd = -1, .parent_fd = -1};
    d.root = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d.root < 0) {
        rc = goio__ioext_errno(errno);
    } else {
        job->ops = &dir_ops;
        job->sink = &d;
        rc = goio__ioext_extract(job);
        dir_abort(&d);
        if (d.parent_path)
            close(d.parent_fd);
        goio_free(d.parent_path);
        close(d.root);
    }
    if (!rc)
        rc = finish_dir(tmp, dir);
    if (rc)
        remove_tree(tmp);
    goio_free(tmp);
    return rc;
}
