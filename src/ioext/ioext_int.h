/* SPDX-License-Identifier: MIT */
/* ioext internals shared between its files (private: not installed). */
#ifndef GOIO_IOEXT_INT_H
#define GOIO_IOEXT_INT_H

#include <goio/ioext.h>

#include <string.h>

/* -errno for a system error number, GOIO_EIO when it is 0. */
int goio__ioext_errno(int e);

/*
 * Cleans an archive name for writing (Go's path.Clean, leading '/'
 * dropped) into a new string, "./"-prefixed when dot_slash. GOIO_EINVAL
 * when nothing is left (""), GOIO_EUNSAFEPATH when ".." climbs out.
 */
int goio__ioext_clean_name(const char *name, bool dot_slash, char **out);
/*
 * Checks and cleans an entry name read from an archive into out[cap]:
 * GOIO_EUNSAFEPATH for absolute names and any ".." component. The root
 * ("./") cleans to "".
 */
int goio__ioext_entry_name(const char *name, char *out, size_t cap);
/* Whether a symlink at cleaned entry `name` to `target` stays inside. */
bool goio__ioext_link_inside(const char *name, const char *target);

/* Frees a gzip writer without ending its stream (nothing more written). */
void goio__gzip_abort(goio_io_writer *w);

#endif
