/*
 * ioext: readers and writers, a buffer pool, Tee, and archives.
 *
 * goio_reader and goio_writer are interfaces (vtables) that users can
 * implement: embed the struct as the first member of your own and fill
 * `ops`. goio's adapters wrap file descriptors, FILE*, memory and
 * goio_buf. A reader or writer is used by one thread at a time unless its
 * constructor says otherwise; the buffer pool is thread-safe.
 */
#ifndef GOIO_IOEXT_H
#define GOIO_IOEXT_H

#include <goio/core.h>

#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- readers --------------------------------------------------------------- */

typedef struct goio_reader goio_reader;

typedef struct goio_reader_ops {
    /* Reads up to cap bytes (cap > 0): returns the count (> 0), 0 at end
     * of stream, or a negative GOIO_E* code. May return fewer bytes than
     * available. */
    ssize_t (*read)(goio_reader *r, void *buf, size_t cap);
    /* Releases everything, the goio_reader included. May report a final
     * error; the reader is gone either way. */
    int (*close)(goio_reader *r);
} goio_reader_ops;

struct goio_reader {
    const goio_reader_ops *ops;
};

/* One read (EINTR retried by the adapters). GOIO_EINVAL for NULLs. */
GOIO_EXTERN ssize_t goio_read(goio_reader *r, void *buf, size_t cap);
/* Reads until n bytes or end of stream; *got says how many. */
GOIO_EXTERN int goio_read_full(goio_reader *r, void *buf, size_t n,
                               size_t *got);
/* Appends everything up to end of stream to out; GOIO_ELIMIT past
 * `limit` bytes (0: no limit). */
GOIO_EXTERN int goio_read_all(goio_reader *r, goio_buf *out, size_t limit);
/* Closes and frees; NULL is a no-op returning 0. */
GOIO_EXTERN int goio_reader_close(goio_reader *r);

/* Reads fd; closes it on goio_reader_close when own_fd. */
GOIO_EXTERN int goio_reader_fd(int fd, bool own_fd, goio_reader **out);
/* Reads a FILE*; fcloses it on close when own_file. */
GOIO_EXTERN int goio_reader_file(FILE *f, bool own_file, goio_reader **out);
/* Reads p[0..len) without copying; p must outlive the reader. */
GOIO_EXTERN int goio_reader_mem(const void *p, size_t len, goio_reader **out);

/* ---- writers --------------------------------------------------------------- */

typedef struct goio_writer goio_writer;

typedef struct goio_writer_ops {
    /* Writes up to len bytes (len > 0): returns the count written (> 0) or
     * a negative GOIO_E* code. */
    ssize_t (*write)(goio_writer *w, const void *p, size_t len);
    /* Pushes buffered bytes on; NULL when the writer buffers nothing. */
    int (*flush)(goio_writer *w);
    /* Flushes, then releases everything, the goio_writer included. */
    int (*close)(goio_writer *w);
} goio_writer_ops;

struct goio_writer {
    const goio_writer_ops *ops;
};

/* Writes all len bytes (retrying short writes) or returns an error. */
GOIO_EXTERN int goio_write(goio_writer *w, const void *p, size_t len);
GOIO_EXTERN int goio_flush(goio_writer *w);
/* Closes and frees; NULL is a no-op returning 0. */
GOIO_EXTERN int goio_writer_close(goio_writer *w);

GOIO_EXTERN int goio_writer_fd(int fd, bool own_fd, goio_writer **out);
GOIO_EXTERN int goio_writer_file(FILE *f, bool own_file, goio_writer **out);
/* Appends to *b, which must outlive the writer (closing leaves b). */
GOIO_EXTERN int goio_writer_buf(goio_buf *b, goio_writer **out);

/*
 * Copies src to dst until end of stream through a pooled buffer;
 * *copied (may be NULL) counts the bytes written. Neither is closed.
 */
GOIO_EXTERN int goio_copy(goio_writer *dst, goio_reader *src,
                          uint64_t *copied);

/* ---- buffer pool ------------------------------------------------------------ */

/*
 * Reusable byte buffers in two classes, as the Go library's BufferPool:
 * regular (GOIO_BUFPOOL_SMALL bytes) and large (up to GOIO_BUFPOOL_LARGE).
 * Requests above the large size are allocated and freed, never kept.
 * Thread-safe; idle buffers beyond a bounded count are freed.
 */
#define GOIO_BUFPOOL_SMALL (4 * 1024)
#define GOIO_BUFPOOL_LARGE (1024 * 1024)

typedef struct goio_bufpool goio_bufpool;

/* The process-wide pool (never freed). */
GOIO_EXTERN goio_bufpool *goio_bufpool_default(void);
/* A buffer of at least `size` bytes; *cap is its real size, pass it back
 * to goio_bufpool_put. NULL when out of memory. */
GOIO_EXTERN void *goio_bufpool_get(goio_bufpool *p, size_t size, size_t *cap);
/* Returns a buffer (NULL is a no-op); the pool keeps or frees it. */
GOIO_EXTERN void goio_bufpool_put(goio_bufpool *p, void *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_IOEXT_H */
