/* SPDX-License-Identifier: MIT */
/** @file
 * Readers and writers are vtable interfaces users can implement (embed the
 * struct first, fill `ops`). Used by one thread at a time unless a
 * constructor says otherwise. Errors: 0 or negative GOIO_E* (system errors
 * as negated errno). Design notes and measurements: docs/ioext.md.
 */
#ifndef GOIO_IOEXT_H
#define GOIO_IOEXT_H

#include <goio/core.h>

#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- readers ------------------------------------------------------------- */

typedef struct goio_io_reader goio_io_reader;

/** A reader's functions; an implementation keeps one static table. */
typedef struct goio_io_reader_ops {
    /** Reads up to cap bytes (cap > 0): returns the count (> 0), 0 at end
     * of stream, or a negative GOIO_E* code. May return fewer bytes than
     * available. */
    ssize_t (*read)(goio_io_reader *r, void *buf, size_t cap);
    /** Releases everything, the goio_io_reader included. May report a final
     * error; the reader is gone either way. */
    int (*close)(goio_io_reader *r);
} goio_io_reader_ops;

/** A byte stream to read: the first member of an implementation's struct.
 * Read with goio_io_read, end with goio_io_reader_close. */
struct goio_io_reader {
    const goio_io_reader_ops *ops; /**< the implementation's functions */
};

/** One read (EINTR retried by the adapters and by goio_io_read itself when a
 * user reader returns -EINTR). GOIO_EINVAL for NULLs or cap 0; GOIO_EIO
 * when a reader claims more than cap bytes. */
GOIO_EXTERN ssize_t goio_io_read(goio_io_reader *r, void *buf, size_t cap);
/** Reads until n bytes or end of stream; *got says how many. */
GOIO_EXTERN int goio_io_read_full(goio_io_reader *r, void *buf, size_t n,
                                  size_t *got);
/** Appends everything up to end of stream to out; GOIO_ELIMIT past
 * `limit` bytes (0: no limit), reading at most one byte beyond it. On any
 * error out->len is back at its value on entry (its memory may have
 * grown). */
GOIO_EXTERN int goio_io_read_all(goio_io_reader *r, goio_buf *out,
                                 size_t limit);
/** Closes and frees; NULL is a no-op returning 0. */
GOIO_EXTERN int goio_io_reader_close(goio_io_reader *r);

/* Adapters: system errors come back as negated errno; EINTR is retried.
 * GOIO_EINVAL (*out NULL) for a bad argument, GOIO_ENOMEM. */
/** Reads fd; closes it on goio_io_reader_close when own_fd. */
GOIO_EXTERN int goio_io_reader_new_fd(int fd, bool own_fd,
                                      goio_io_reader **out);
/** Reads a FILE*; fcloses it on close when own_file. */
GOIO_EXTERN int goio_io_reader_new_file(FILE *f, bool own_file,
                                        goio_io_reader **out);
/** Reads p[0..len) without copying; p must outlive the reader. */
GOIO_EXTERN int goio_io_reader_new_mem(const void *p, size_t len,
                                       goio_io_reader **out);

/* ---- writers ------------------------------------------------------------- */

typedef struct goio_io_writer goio_io_writer;

/** A writer's functions; an implementation keeps one static table. */
typedef struct goio_io_writer_ops {
    /** Writes up to len bytes (len > 0): returns the count written (> 0) or
     * a negative GOIO_E* code. */
    ssize_t (*write)(goio_io_writer *w, const void *p, size_t len);
    /** Pushes buffered bytes on; NULL when the writer buffers nothing. */
    int (*flush)(goio_io_writer *w);
    /** Flushes, then releases everything, the goio_io_writer included. */
    int (*close)(goio_io_writer *w);
} goio_io_writer_ops;

/** A byte sink: the first member of an implementation's struct. Write
 * with goio_io_write, end with goio_io_writer_close. */
struct goio_io_writer {
    const goio_io_writer_ops *ops; /**< the implementation's functions */
};

/** Writes all len bytes (retrying short writes and -EINTR) or returns an
 * error; a writer that makes no progress (returns 0) gives GOIO_EIO. On
 * error an unknown prefix of p may have been written. */
GOIO_EXTERN int goio_io_write(goio_io_writer *w, const void *p, size_t len);
/** Calls the writer's flush (0 when it has none); GOIO_EINVAL for NULL. */
GOIO_EXTERN int goio_io_flush(goio_io_writer *w);
/** Closes and frees; NULL is a no-op returning 0. */
GOIO_EXTERN int goio_io_writer_close(goio_io_writer *w);

/** Writes fd (unbuffered; no flush needed); closes it when own_fd. A
 * broken pipe is GOIO_EPIPE only when SIGPIPE is ignored. */
GOIO_EXTERN int goio_io_writer_new_fd(int fd, bool own_fd,
                                      goio_io_writer **out);
/** Writes through f's stdio buffer: goio_io_flush fflushes. Close fflushes,
 * then fcloses f when own_file. */
GOIO_EXTERN int goio_io_writer_new_file(FILE *f, bool own_file,
                                        goio_io_writer **out);
/** Appends to *b, which must outlive the writer (closing leaves b). */
GOIO_EXTERN int goio_io_writer_new_buf(goio_buf *b, goio_io_writer **out);
/** Accepts and drops every byte (Go's io.Discard); *counted (may be NULL)
 * must outlive the writer and is incremented by every write. */
GOIO_EXTERN int goio_io_writer_new_discard(uint64_t *counted,
                                           goio_io_writer **out);

/** Copies src to dst until end of stream through a pooled 64 KiB buffer;
 * *copied (may be NULL) counts bytes. Neither is closed. 0 at end of stream,
 * else the first read or write error. */
GOIO_EXTERN int goio_io_copy(goio_io_writer *dst, goio_io_reader *src,
                             uint64_t *copied);

/* ---- buffer pool --------------------------------------------------------- */

/** Reusable byte buffers (Go's BufferPool): regular GOIO_BUFPOOL_SMALL and
 * large up to GOIO_BUFPOOL_LARGE. Thread-safe; idle buffers are freed. */
#define GOIO_BUFPOOL_SMALL (4 * 1024)
/** The largest pooled size; bigger requests are allocated exactly. */
#define GOIO_BUFPOOL_LARGE (1024 * 1024)

/** A pool of reusable buffers (goio_io_bufpool_default or _new). */
typedef struct goio_io_bufpool goio_io_bufpool;

/** The process-wide pool (never freed). */
GOIO_EXTERN goio_io_bufpool *goio_io_bufpool_default(void);
/** A buffer of at least `size` bytes; *cap is its real size, pass it back
 * to goio_io_bufpool_put. NULL when out of memory. */
GOIO_EXTERN void *goio_io_bufpool_get(goio_io_bufpool *p, size_t size,
                                      size_t *cap);
/** Returns a buffer (NULL is a no-op); the pool keeps or frees it. */
GOIO_EXTERN void goio_io_bufpool_put(goio_io_bufpool *p, void *buf, size_t cap);

/** Size classes: up to 4 KiB -> a 4 KiB buffer; 32 KiB..1 MiB -> the next
 * power of two from 64 KiB; other sizes are allocated exactly and freed on
 * put. Sharded, bounded retention, idle buffers freed: docs/ioext.md. */
#define GOIO_BUFPOOL_LARGE_MIN (64 * 1024)

/** Settings of a private pool; goio_io_bufpool_config_init fills the
 * defaults. */
typedef struct goio_io_bufpool_config {
    unsigned shards;         /**< 0: 2 x CPUs rounded to a power of 2, <= 64 */
    unsigned small_keep;     /**< regular buffers kept per shard; default 64 */
    size_t large_keep_bytes; /**< per large size per shard; default 1 MiB
                                (at least one buffer of each size) */
    int64_t idle_ms;         /**< free buffers idle this long; default 10000,
                                < 0 never */
} goio_io_bufpool_config;

/** Fills the defaults above (NULL is a no-op). */
GOIO_EXTERN void goio_io_bufpool_config_init(goio_io_bufpool_config *cfg);
/** A private pool (cfg NULL: defaults). Free it with goio_io_bufpool_free once
 * no thread uses it; buffers still out may be put back only before. */
GOIO_EXTERN int goio_io_bufpool_new(const goio_io_bufpool_config *cfg,
                                    goio_io_bufpool **out);
/** Frees the pool and every buffer it holds. NULL and the default pool are
 * no-ops. */
GOIO_EXTERN void goio_io_bufpool_free(goio_io_bufpool *p);
/** Frees every buffer the pool holds now (they are all idle). */
GOIO_EXTERN void goio_io_bufpool_trim(goio_io_bufpool *p);

/** Counters of a pool (goio_io_bufpool_stats_get). */
typedef struct goio_io_bufpool_stats {
    uint64_t gets;           /**< goio_io_bufpool_get calls */
    uint64_t hits;           /**< ... served from the pool */
    uint64_t puts;           /**< goio_io_bufpool_put calls with a buffer */
    uint64_t dropped;        /**< ... whose buffer was freed, not kept */
    uint64_t trimmed;        /**< buffers freed for being idle or by trim */
    uint64_t retained;       /**< buffers held now */
    uint64_t retained_bytes; /**< their total size */
} goio_io_bufpool_stats;

/** A snapshot of the counters (consistent per shard, not globally). */
GOIO_EXTERN int goio_io_bufpool_stats_get(goio_io_bufpool *p,
                                          goio_io_bufpool_stats *out);

/* ---- Tee ------------------------------------------------------------- */

/** The default goio_io_tee_config.buffer_size (1 MiB). */
#define GOIO_TEE_DEFAULT_BUFFER (1024 * 1024)

/** Settings of a tee; goio_io_tee_config_init fills the defaults. */
typedef struct goio_io_tee_config {
    size_t buffer_size; /**< bytes buffered for secondary; default 1 MiB */
} goio_io_tee_config;

/** Fills the defaults (NULL is a no-op). */
GOIO_EXTERN void goio_io_tee_config_init(goio_io_tee_config *cfg);
/**
 * Tee: splits `in` into two readers; reading `main` reads `in` and hands the
 * bytes to `secondary` through a bounded buffer (back-pressure: main blocks
 * while it is full, so read secondary from another thread). Closing main
 * before EOF makes secondary fail with GOIO_EEARLYCLOSE. The tee owns `in`
 * on success; closing main closes it; close both readers. main and
 * secondary may be used from two threads. cfg NULL: defaults. GOIO_EINVAL,
 * GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_io_tee_new(goio_io_reader *in,
                                const goio_io_tee_config *cfg,
                                goio_io_reader **main,
                                goio_io_reader **secondary);

/* ---- gzip ------------------------------------------------------------ */

/** The most compression threads a gzip or zip writer may use. */
#define GOIO_GZIP_MAX_THREADS 64

/** Settings of a gzip writer; goio_io_gzip_config_init fills the
 * defaults. */
typedef struct goio_io_gzip_config {
    int level;         /**< 0..9, default 6 (gzip -6) */
    unsigned threads;  /**< default 1: one deflate stream, no threads */
    size_t block_size; /**< with threads > 1; default 128 KiB */
} goio_io_gzip_config;

/** Fills the defaults (NULL is a no-op). */
GOIO_EXTERN void goio_io_gzip_config_init(goio_io_gzip_config *opt);
/**
 * A goio_io_writer that gzips into dst (one gzip member). flush = deflate
 * sync flush; close writes the trailer and frees the writer, never dst.
 * threads > 1 compresses blocks in parallel as pigz (bounded memory).
 * opt NULL: defaults. GOIO_EINVAL (level, threads, block_size),
 * GOIO_ENOMEM, dst's errors; the first error sticks. One thread at a time.
 */
GOIO_EXTERN int goio_io_gzip_writer_new(goio_io_writer *dst,
                                        const goio_io_gzip_config *opt,
                                        goio_io_writer **out);

/* ---- tar.gz writer ---------------------------------------------------- */

/**
 * Streams a tar.gz (ustar, pax when needed) to dst, which must outlive it
 * and is never closed. Names become "./" + the cleaned path; empty names
 * are GOIO_EINVAL, names climbing out GOIO_EUNSAFEPATH (nothing written).
 * Entries: regular files, uid/gid 0, mode file_mode (default 0644), mtime.
 * A failed write breaks the archive (later calls return the error). One
 * thread at a time. GOIO_EINVAL, GOIO_ENOMEM, dst's errors.
 */
typedef struct goio_io_targz_writer goio_io_targz_writer;

/** Settings of a tar.gz writer; goio_io_targz_config_init fills the
 * defaults. */
typedef struct goio_io_targz_config {
    uint32_t file_mode;       /**< default 0644; at most 07777 */
    int64_t mtime;            /**< seconds since the epoch; default -1: the
                                 time goio_io_targz_writer_new ran. Set one for
                                 reproducible archives. */
    goio_io_gzip_config gzip; /**< level 6, one thread */
} goio_io_targz_config;

/** Fills the defaults (NULL is a no-op). */
GOIO_EXTERN void goio_io_targz_config_init(goio_io_targz_config *opt);
/** Starts an archive on dst (opt NULL: defaults); writes nothing yet. */
GOIO_EXTERN int goio_io_targz_writer_new(goio_io_writer *dst,
                                         const goio_io_targz_config *opt,
                                         goio_io_targz_writer **out);
/** Adds a file with the bytes data[0..len). */
GOIO_EXTERN int goio_io_targz_writer_add(goio_io_targz_writer *w,
                                         const char *name, const void *data,
                                         size_t len);
/** Adds a file of `size` bytes read from r (not closed). Reads exactly
 * `size` bytes; an earlier end of r is GOIO_ETRUNCATED (and breaks the
 * archive), bytes after `size` are left unread. */
GOIO_EXTERN int goio_io_targz_writer_add_reader(goio_io_targz_writer *w,
                                                const char *name,
                                                goio_io_reader *r,
                                                uint64_t size);
/** Writes the end of the archive and the gzip trailer, then frees w (also
 * on error). NULL is a no-op returning 0. */
GOIO_EXTERN int goio_io_targz_writer_close(goio_io_targz_writer *w);
/** Frees w without ending the archive (abandon). NULL is a no-op. */
GOIO_EXTERN void goio_io_targz_writer_free(goio_io_targz_writer *w);

/* ---- zip writer -------------------------------------------------------- */

/** One file for goio_io_zip_compress; the caller owns the memory. */
typedef struct goio_io_zip_input {
    const char *name; /**< path in the archive (cleaned; must stay inside) */
    const void *data; /**< the contents (NULL only with len 0) */
    size_t len;       /**< bytes of data */
} goio_io_zip_input;

/** Settings of goio_io_zip_compress; goio_io_zip_config_init fills the
 * defaults. */
typedef struct goio_io_zip_config {
    int level;          /**< 0..9, default 6 (zip's default) */
    unsigned threads;   /**< default 1 */
    uint32_t file_mode; /**< default 0644 */
} goio_io_zip_config;

/** Fills the defaults (NULL is a no-op). */
GOIO_EXTERN void goio_io_zip_config_init(goio_io_zip_config *opt);
/**
 * Writes a zip of n in-memory files to dst, sorted by name, times fixed at
 * 1980-01-01 (same input, same bytes); deflated or stored; Zip64 when
 * needed; threads > 1 deflates in parallel (opt NULL: defaults). dst is not
 * flushed or closed. GOIO_EINVAL, GOIO_EUNSAFEPATH, GOIO_EEXIST (same
 * cleaned name twice), GOIO_ENAMETOOLONG, GOIO_ENOMEM, dst's errors.
 * Thread-safe (self-contained).
 */
GOIO_EXTERN int goio_io_zip_compress(goio_io_writer *dst,
                                     const goio_io_zip_input *files, size_t n,
                                     const goio_io_zip_config *opt);

/* ---- safe extraction ---------------------------------------------------- */

/** What an extraction does with a second entry of the same name. */
typedef enum goio_io_dup_policy {
    GOIO_DUP_ERROR = 0,     /**< a second entry with the same name: EEXIST */
    GOIO_DUP_LAST_WINS = 1, /**< the later file replaces the earlier */
} goio_io_dup_policy;

/** The default goio_io_extract_config.max_name_bytes (4 MiB). */
#define GOIO_EXTRACT_NAME_BYTES (4 * 1024 * 1024)

/**
 * Limits and options of an extraction; goio_io_extract_config_init fills
 * the defaults.
 *
 * Safe extraction of untrusted archives: only files and directories
 * (symlinks with allow_symlinks, inside the root); unsafe names
 * GOIO_EUNSAFEPATH; other entry types GOIO_EUNSUPPORTED_ENTRY; duplicates
 * GOIO_EEXIST unless GOIO_DUP_LAST_WINS; limits (entries, name bytes, total
 * bytes, ratio) GOIO_ELIMIT; corrupt data GOIO_EBADMSG or GOIO_ETRUNCATED.
 * Every entry is checked, also unwanted ones. Refusals are logged
 * ("ioext"/"archive_refused", key = the entry). Any number of extractions
 * may run at once. The full rules: docs/ioext.md.
 */
typedef struct goio_io_extract_config {
    uint64_t max_entries;          /**< default 10000 */
    uint64_t max_total_bytes;      /**< default 1 GiB */
    uint32_t max_ratio;            /**< default 200 (deflate's best is ~1030);
                                      0: no ratio check */
    uint64_t ratio_grace_bytes;    /**< default 1 MiB */
    bool allow_symlinks;           /**< default false */
    goio_io_dup_policy duplicates; /**< default GOIO_DUP_ERROR */
    goio_io_bufpool *pool; /**< buffers for memory extraction; NULL: default */
    uint64_t max_name_bytes; /**< distinct path components remembered, in
                                bytes; default (and 0)
                                GOIO_EXTRACT_NAME_BYTES, 4 MiB */
} goio_io_extract_config;

/** Fills the defaults above (NULL is a no-op). */
GOIO_EXTERN void goio_io_extract_config_init(goio_io_extract_config *opt);

/** One extracted file; `data` comes from the options' pool. */
typedef struct goio_io_archive_file {
    char *name;    /**< cleaned, no "./" */
    uint8_t *data; /**< the contents (owned by the list) */
    size_t len;    /**< bytes of data */
    size_t _cap;   /**< private: the pool buffer's size */
} goio_io_archive_file;

/** Extracted files in archive order (a replaced duplicate keeps the place
 * of the first). */
typedef struct goio_io_archive_files {
    goio_io_archive_file *files; /**< count files */
    size_t count;                /**< number of files */
    size_t _alloc;               /**< private */
    goio_io_bufpool *_pool;      /**< private */
} goio_io_archive_files;

/** Returns every buffer to the pool and frees the list; NULL is a no-op. */
GOIO_EXTERN void goio_io_archive_files_free(goio_io_archive_files *list);
/** The file named `name` (cleaned form), or NULL. */
GOIO_EXTERN const goio_io_archive_file *
goio_io_archive_files_find(const goio_io_archive_files *list, const char *name);

/** Extracts regular files to memory: all (names NULL) or those among
 * `names` (cleaned form, "a/b"; missing ones are simply absent).
 * *out is NULL on error. opt NULL: defaults. */
GOIO_EXTERN int goio_io_zip_extract(const void *data, size_t len,
                                    const char *const *names, size_t nnames,
                                    const goio_io_extract_config *opt,
                                    goio_io_archive_files **out);
/** goio_io_zip_extract for a tar.gz in memory. */
GOIO_EXTERN int goio_io_targz_extract(const void *data, size_t len,
                                      const char *const *names, size_t nnames,
                                      const goio_io_extract_config *opt,
                                      goio_io_archive_files **out);
/** The same from a stream (r is read to the end of the gzip data, not
 * closed). */
GOIO_EXTERN int goio_io_targz_extract_reader(goio_io_reader *r,
                                             const char *const *names,
                                             size_t nnames,
                                             const goio_io_extract_config *opt,
                                             goio_io_archive_files **out);

/** Extracts into `dir` (absent or empty, else GOIO_EEXIST; its parent must
 * exist) through a hidden sibling renamed at the end: on error nothing is
 * left. Modes masked with 0755; not fsync'ed. */
GOIO_EXTERN int goio_io_zip_extract_to_dir(const void *data, size_t len,
                                           const char *dir,
                                           const goio_io_extract_config *opt);
/** goio_io_zip_extract_to_dir for a tar.gz stream (r is read to the end of
 * the gzip data, not closed). */
GOIO_EXTERN int goio_io_targz_extract_to_dir(goio_io_reader *r, const char *dir,
                                             const goio_io_extract_config *opt);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_IOEXT_H */
