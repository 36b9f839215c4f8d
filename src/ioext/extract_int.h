/* SPDX-License-Identifier: MIT */
/* Archive extraction internals: the engine (extract.c) drives a sink. */
#ifndef GOIO_EXTRACT_INT_H
#define GOIO_EXTRACT_INT_H

#include "ioext_int.h"

typedef enum xtype { X_FILE = 1, X_DIR = 2, X_LINK = 3 } xtype;

/* One entry as the sink sees it: checked, cleaned, allowed. */
typedef struct xentry {
    const char *name; /* cleaned, non-empty */
    xtype type;
    const char *link; /* X_LINK: the target (checked to stay inside) */
    uint32_t mode;    /* permission bits from the archive */
    int64_t mtime;
    uint64_t size_hint; /* header size, capped by the bytes budget */
    bool replace;       /* a file or link of that name exists: replace */
} xentry;

typedef struct xsink_ops {
    int (*begin)(void *sink, const xentry *e);
    int (*data)(void *sink, const void *p, size_t n);
    int (*end)(void *sink);
    /* Called instead of end when the entry fails half-way. */
    void (*abort)(void *sink);
} xsink_ops;

typedef enum xformat { X_ZIP, X_TARGZ } xformat;

typedef struct xjob {
    xformat format;
    const void *data; /* zip and in-memory tar.gz */
    size_t len;
    goio_io_reader *reader;   /* streaming tar.gz */
    const char *const *names; /* wanted names, NULL: all */
    size_t nnames;
    const goio_io_extract_config *opt;
    const xsink_ops *ops;
    void *sink;
} xjob;

int goio__ioext_extract(const xjob *job);

/* The directory sink (extract_dir.c). */
int goio__ioext_extract_dir(xjob *job, const char *dir);

#endif
