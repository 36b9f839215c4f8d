/*
 * ioext: readers and writers, a buffer pool, Tee, and archives (gzip and
 * tar.gz writers, a zip writer, safe tar.gz and zip extraction).
 *
 * goio_io_reader and goio_io_writer are interfaces (vtables) that users can
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

/* ---- readers ------------------------------------------------------------- */

typedef struct goio_io_reader goio_io_reader;

typedef struct goio_io_reader_ops {
    /* Reads up to cap bytes (cap > 0): returns the count (> 0), 0 at end
     * of stream, or a negative GOIO_E* code. May return fewer bytes than
     * available. */
    ssize_t (*read)(goio_io_reader *r, void *buf, size_t cap);
    /* Releases everything, the goio_io_reader included. May report a final
     * error; the reader is gone either way. */
    int (*close)(goio_io_reader *r);
} goio_io_reader_ops;

struct goio_io_reader {
    const goio_io_reader_ops *ops;
};

/* One read (EINTR retried by the adapters and by goio_io_read itself when a
 * user reader returns -EINTR). GOIO_EINVAL for NULLs or cap 0; GOIO_EIO
 * when a reader claims more than cap bytes. */
GOIO_EXTERN ssize_t goio_io_read(goio_io_reader *r, void *buf, size_t cap);
/* Reads until n bytes or end of stream; *got says how many. */
GOIO_EXTERN int goio_io_read_full(goio_io_reader *r, void *buf, size_t n,
                                  size_t *got);
/* Appends everything up to end of stream to out; GOIO_ELIMIT past
 * `limit` bytes (0: no limit), reading at most one byte beyond it. On any
 * error out->len is back at its value on entry (its memory may have
 * grown). */
GOIO_EXTERN int goio_io_read_all(goio_io_reader *r, goio_buf *out,
                                 size_t limit);
/* Closes and frees; NULL is a no-op returning 0. */
GOIO_EXTERN int goio_io_reader_close(goio_io_reader *r);

/*
 * Adapters. Errors: system errors come back as their negated errno
 * (GOIO_EPIPE, GOIO_EAGAIN on a non-blocking fd with nothing to do, -EBADF
 * ...); EINTR is retried. Each returns GOIO_EINVAL for a bad argument
 * (*out is then NULL) and GOIO_ENOMEM.
 */
/* Reads fd; closes it on goio_io_reader_close when own_fd. */
GOIO_EXTERN int goio_io_reader_new_fd(int fd, bool own_fd,
                                      goio_io_reader **out);
/* Reads a FILE*; fcloses it on close when own_file. */
GOIO_EXTERN int goio_io_reader_new_file(FILE *f, bool own_file,
                                        goio_io_reader **out);
/* Reads p[0..len) without copying; p must outlive the reader. */
GOIO_EXTERN int goio_io_reader_new_mem(const void *p, size_t len,
                                       goio_io_reader **out);

/* ---- writers ------------------------------------------------------------- */

typedef struct goio_io_writer goio_io_writer;

typedef struct goio_io_writer_ops {
    /* Writes up to len bytes (len > 0): returns the count written (> 0) or
     * a negative GOIO_E* code. */
    ssize_t (*write)(goio_io_writer *w, const void *p, size_t len);
    /* Pushes buffered bytes on; NULL when the writer buffers nothing. */
    int (*flush)(goio_io_writer *w);
    /* Flushes, then releases everything, the goio_io_writer included. */
    int (*close)(goio_io_writer *w);
} goio_io_writer_ops;

struct goio_io_writer {
    const goio_io_writer_ops *ops;
};

/* Writes all len bytes (retrying short writes and -EINTR) or returns an
 * error; a writer that makes no progress (returns 0) gives GOIO_EIO. On
 * error an unknown prefix of p may have been written. */
GOIO_EXTERN int goio_io_write(goio_io_writer *w, const void *p, size_t len);
GOIO_EXTERN int goio_io_flush(goio_io_writer *w);
/* Closes and frees; NULL is a no-op returning 0. */
GOIO_EXTERN int goio_io_writer_close(goio_io_writer *w);

/* Writes fd (unbuffered; no flush needed); closes it when own_fd. A
 * broken pipe is GOIO_EPIPE only when SIGPIPE is ignored. */
GOIO_EXTERN int goio_io_writer_new_fd(int fd, bool own_fd,
                                      goio_io_writer **out);
/* Writes through f's stdio buffer: goio_io_flush fflushes. Close fflushes,
 * then fcloses f when own_file. */
GOIO_EXTERN int goio_io_writer_new_file(FILE *f, bool own_file,
                                        goio_io_writer **out);
/* Appends to *b, which must outlive the writer (closing leaves b). */
GOIO_EXTERN int goio_io_writer_new_buf(goio_buf *b, goio_io_writer **out);
/* Accepts and drops every byte (Go's io.Discard); *counted (may be NULL)
 * must outlive the writer and is incremented by every write. */
GOIO_EXTERN int goio_io_writer_new_discard(uint64_t *counted,
                                           goio_io_writer **out);

/*
 * Copies src to dst until end of stream through a pooled buffer (64 KiB
 * from goio_io_bufpool_default); *copied (may be NULL) counts the bytes
 * written. Neither is closed. A memory source is written without a copy
 * and a goio_buf destination is read into directly. Returns 0 at end of
 * stream, else the first read or write error.
 */
GOIO_EXTERN int goio_io_copy(goio_io_writer *dst, goio_io_reader *src,
                             uint64_t *copied);

/* ---- buffer pool --------------------------------------------------------- */

/*
 * Reusable byte buffers in two classes, as the Go library's BufferPool:
 * regular (GOIO_BUFPOOL_SMALL bytes) and large (up to GOIO_BUFPOOL_LARGE).
 * Requests above the large size are allocated and freed, never kept.
 * Thread-safe; idle buffers beyond a bounded count are freed.
 */
#define GOIO_BUFPOOL_SMALL (4 * 1024)
#define GOIO_BUFPOOL_LARGE (1024 * 1024)

typedef struct goio_io_bufpool goio_io_bufpool;

/* The process-wide pool (never freed). */
GOIO_EXTERN goio_io_bufpool *goio_io_bufpool_default(void);
/* A buffer of at least `size` bytes; *cap is its real size, pass it back
 * to goio_io_bufpool_put. NULL when out of memory. */
GOIO_EXTERN void *goio_io_bufpool_get(goio_io_bufpool *p, size_t size,
                                      size_t *cap);
/* Returns a buffer (NULL is a no-op); the pool keeps or frees it. */
GOIO_EXTERN void goio_io_bufpool_put(goio_io_bufpool *p, void *buf, size_t cap);

/*
 * Size classes. A request of at most GOIO_BUFPOOL_SMALL bytes gets a
 * GOIO_BUFPOOL_SMALL buffer; a request above GOIO_BUFPOOL_LARGE_MIN / 2
 * (32 KiB) and up to GOIO_BUFPOOL_LARGE gets the next power of two from
 * GOIO_BUFPOOL_LARGE_MIN (64 KiB) to 1 MiB. Requests between 4 KiB and
 * 32 KiB, and above 1 MiB, get an exact allocation that put() frees: they
 * are too small to be worth a large buffer and too big for the regular
 * class. put() keeps a buffer only when `cap` is exactly a class size, so
 * a buffer that did not come from a pool is freed, not kept.
 *
 * How it scales: the pool has several shards (each with its own lock); a
 * thread always uses the same shard (assigned round-robin on first use),
 * so threads on different shards never contend, and a thread whose shard
 * is empty tries the others with trylock before allocating. There is no
 * global lock.
 *
 * Bounded retention: each shard keeps at most `small_keep` regular buffers
 * and `large_keep_bytes` bytes worth of each large size; a put beyond that
 * frees. Idle buffers are freed too: a buffer that stayed unused in the
 * pool for a whole `idle_ms` period is freed at the shard's next get/put
 * (Go's sync.Pool drops idle buffers at GC in the same spirit).
 * goio_io_bufpool_trim frees every idle buffer at once.
 *
 * The memory comes from goio_malloc (goio_allocator_set applies).
 */
#define GOIO_BUFPOOL_LARGE_MIN (64 * 1024)

typedef struct goio_io_bufpool_config {
    unsigned shards;         /* 0: 2 x CPUs rounded to a power of 2, <= 64 */
    unsigned small_keep;     /* regular buffers kept per shard; default 64 */
    size_t large_keep_bytes; /* per large size per shard; default 1 MiB
                                (at least one buffer of each size) */
    int64_t idle_ms;         /* free buffers idle this long; default 10000,
                                < 0 never */
} goio_io_bufpool_config;

GOIO_EXTERN void goio_io_bufpool_config_init(goio_io_bufpool_config *cfg);
/* A private pool (cfg NULL: defaults). Free it with goio_io_bufpool_free once
 * no thread uses it; buffers still out may be put back only before. */
GOIO_EXTERN int goio_io_bufpool_new(const goio_io_bufpool_config *cfg,
                                    goio_io_bufpool **out);
/* Frees the pool and every buffer it holds. NULL and the default pool are
 * no-ops. */
GOIO_EXTERN void goio_io_bufpool_free(goio_io_bufpool *p);
/* Frees every buffer the pool holds now (they are all idle). */
GOIO_EXTERN void goio_io_bufpool_trim(goio_io_bufpool *p);

typedef struct goio_io_bufpool_stats {
    uint64_t gets;           /* goio_io_bufpool_get calls */
    uint64_t hits;           /* ... served from the pool */
    uint64_t puts;           /* goio_io_bufpool_put calls with a buffer */
    uint64_t dropped;        /* ... whose buffer was freed, not kept */
    uint64_t trimmed;        /* buffers freed for being idle or by trim */
    uint64_t retained;       /* buffers held now */
    uint64_t retained_bytes; /* their total size */
} goio_io_bufpool_stats;

/* A snapshot of the counters (consistent per shard, not globally). */
GOIO_EXTERN int goio_io_bufpool_stats_get(goio_io_bufpool *p,
                                          goio_io_bufpool_stats *out);

/* ---- Tee ------------------------------------------------------------- */

/*
 * goio_io_tee_new splits one input into two readers. Reading `main` reads `in`
 * and hands the same bytes to `secondary` through a bounded buffer of
 * cfg.buffer_size bytes. Typical use: main streams a request body to its
 * destination while another thread hashes or stores it from secondary.
 *
 * - End of stream: once main reads EOF, secondary returns the buffered
 *   bytes, then EOF. An error main gets from `in` reaches secondary the
 *   same way, after the buffered bytes.
 * - Closing main before it saw EOF (or an error) makes secondary's next
 *   read, and every later one, fail with GOIO_EEARLYCLOSE at once, even
 *   with bytes still buffered: they are not the whole stream, and a
 *   consumer must not take a prefix for the stream.
 * - Closing secondary early lets main go on unaffected; bytes are no
 *   longer copied and the buffer is freed on main's next read.
 * - Batching: a secondary waiting for bytes is woken once a quarter of
 *   the buffer (at most 256 KiB) is filled, when main's read came back
 *   short of what its caller asked (a slow source: no bytes are held
 *   back), or at the end; main waiting for room likewise. Fewer wake-ups
 *   is what keeps Tee near a plain copy's speed.
 * - Back-pressure: when the buffer is full, main's read blocks until
 *   secondary reads (or is closed). Memory never grows past the buffer;
 *   the price is that secondary must be read concurrently, from another
 *   thread, unless the whole stream fits in the buffer. Reading main to
 *   the end first from the only thread that also reads secondary
 *   deadlocks once the buffer fills.
 *
 * Ownership: the tee owns `in` from a successful call on (on failure the
 * caller keeps it); closing main closes `in`. Both readers must be closed;
 * the shared state goes with the second close.
 * Thread-safety: main and secondary may be used from two different
 * threads at once; each one by one thread at a time.
 * Errors: GOIO_EINVAL (NULLs, buffer_size 0), GOIO_ENOMEM.
 */
#define GOIO_TEE_DEFAULT_BUFFER (1024 * 1024)

typedef struct goio_io_tee_config {
    size_t buffer_size; /* bytes buffered for secondary; default 1 MiB */
} goio_io_tee_config;

GOIO_EXTERN void goio_io_tee_config_init(goio_io_tee_config *cfg);
/* cfg NULL: defaults. */
GOIO_EXTERN int goio_io_tee_new(goio_io_reader *in,
                                const goio_io_tee_config *cfg,
                                goio_io_reader **main,
                                goio_io_reader **secondary);

/* ---- gzip ------------------------------------------------------------ */

/*
 * A goio_io_writer that gzips into dst (one gzip member; `gunzip` reads it).
 * goio_io_flush pushes everything written so far through to dst (a deflate
 * sync flush); goio_io_writer_close ends the stream (CRC and size trailer)
 * and frees the writer, never dst.
 *
 * threads > 1 compresses as pigz does: the input is cut into blocks of
 * block_size that worker threads deflate independently (each primed with
 * the previous 32 KiB, so the ratio barely moves) and the writer's thread
 * writes in order. Up to 2 x threads + 2 blocks are in flight: memory is
 * bounded, about that many blocks twice over. The output differs from
 * the one-thread output but decompresses to the same bytes.
 *
 * Thread-safety: one thread at a time, as any writer. Errors: GOIO_EINVAL
 * (level outside 0..9, threads above GOIO_GZIP_MAX_THREADS, block_size
 * under 32 KiB or over 1 GiB with threads > 1), GOIO_ENOMEM, or dst's
 * error. The first error sticks: later writes return it.
 */
#define GOIO_GZIP_MAX_THREADS 64

typedef struct goio_io_gzip_config {
    int level;         /* 0..9, default 6 (gzip -6) */
    unsigned threads;  /* default 1: one deflate stream, no threads */
    size_t block_size; /* with threads > 1; default 128 KiB */
} goio_io_gzip_config;

GOIO_EXTERN void goio_io_gzip_config_init(goio_io_gzip_config *opt);
/* opt NULL: defaults. */
GOIO_EXTERN int goio_io_gzip_writer_new(goio_io_writer *dst,
                                        const goio_io_gzip_config *opt,
                                        goio_io_writer **out);

/* ---- tar.gz writer ---------------------------------------------------- */

/*
 * Writes a gzipped tar (ustar; a pax record when a name or a size does not
 * fit) to dst as entries are added: memory use does not depend on the
 * archive's size.
 *
 * Names are normalized as the Go library does, "./" + the cleaned path
 * (leading '/' dropped, "a//./b" -> "./a/b"; yarn needs the "./"), minus
 * its defects: a name that cleans to nothing ("", "/", ".") is refused
 * with GOIO_EINVAL where Go writes "./.", and a name whose ".." climbs
 * out ("../up", "a/../../b", "/../x") with GOIO_EUNSAFEPATH where Go
 * writes "./../up". Neither writes anything: the writer stays usable.
 *
 * Entries are regular files owned by uid/gid 0 with no user/group names,
 * mode file_mode, time mtime.
 * Why 0644 by default: the Go version writes 0777, so every extracted
 * file is executable and world-writable under a permissive umask; these
 * archives carry data (packages, bundles), which wants rw-r--r--. Set
 * file_mode 0755 for executables.
 *
 * Ownership: dst must outlive the writer and is never closed by it.
 * Thread-safety: one thread at a time.
 * Errors: GOIO_EINVAL, GOIO_ENOMEM, dst's errors. A failed write breaks
 * the archive: later calls return the same error and close writes no
 * end (a reader then sees a truncated archive, not a short valid one).
 */
typedef struct goio_io_targz_writer goio_io_targz_writer;

typedef struct goio_io_targz_config {
    uint32_t file_mode;       /* default 0644; at most 07777 */
    int64_t mtime;            /* seconds since the epoch; default -1: the
                                 time goio_io_targz_writer_new ran. Set one for
                                 reproducible archives. */
    goio_io_gzip_config gzip; /* level 6, one thread */
} goio_io_targz_config;

GOIO_EXTERN void goio_io_targz_config_init(goio_io_targz_config *opt);
GOIO_EXTERN int goio_io_targz_writer_new(goio_io_writer *dst,
                                         const goio_io_targz_config *opt,
                                         goio_io_targz_writer **out);
/* Adds a file with the bytes data[0..len). */
GOIO_EXTERN int goio_io_targz_writer_add(goio_io_targz_writer *w,
                                         const char *name, const void *data,
                                         size_t len);
/* Adds a file of `size` bytes read from r (not closed). Reads exactly
 * `size` bytes; an earlier end of r is GOIO_ETRUNCATED (and breaks the
 * archive), bytes after `size` are left unread. */
GOIO_EXTERN int goio_io_targz_writer_add_reader(goio_io_targz_writer *w,
                                                const char *name,
                                                goio_io_reader *r,
                                                uint64_t size);
/* Writes the end of the archive and the gzip trailer, then frees w (also
 * on error). NULL is a no-op returning 0. */
GOIO_EXTERN int goio_io_targz_writer_close(goio_io_targz_writer *w);
/* Frees w without ending the archive (abandon). NULL is a no-op. */
GOIO_EXTERN void goio_io_targz_writer_free(goio_io_targz_writer *w);

/* ---- zip writer -------------------------------------------------------- */

/*
 * Writes a zip of `n` in-memory files to dst, in a deterministic order:
 * sorted by name (byte order), whatever the input order (Go's version
 * follows map order, random per run). Same input, same options: same
 * bytes. Entries are deflated, or stored when deflate would not shrink
 * them; times are fixed at 1980-01-01 00:00 (DOS epoch) for the same
 * reason; Unix mode file_mode. Zip64 records are written only when sizes,
 * offsets or the count need them. Names are cleaned as for tar.gz but
 * without "./" (zip names are relative): "/a//b" -> "a/b"; empty and
 * escaping names are refused (GOIO_EINVAL, GOIO_EUNSAFEPATH) before
 * anything is written, and so are two files with the same cleaned name
 * (GOIO_EEXIST) and a cleaned name longer than zip's 65535 bytes
 * (GOIO_ENAMETOOLONG).
 *
 * zlib is used directly with one deflate state per thread, reset between
 * entries (libarchive's zip writer makes a new one per entry and is 3x
 * slower for it). threads > 1 deflates entries in parallel; at most
 * 4 x threads entries are compressed ahead of the writer.
 * dst is not flushed or closed. Errors: GOIO_EINVAL, GOIO_EUNSAFEPATH,
 * GOIO_EEXIST, GOIO_ENAMETOOLONG, GOIO_ENOMEM, dst's errors.
 */
typedef struct goio_io_zip_input {
    const char *name;
    const void *data;
    size_t len;
} goio_io_zip_input;

typedef struct goio_io_zip_config {
    int level;          /* 0..9, default 6 (zip's default) */
    unsigned threads;   /* default 1 */
    uint32_t file_mode; /* default 0644 */
} goio_io_zip_config;

GOIO_EXTERN void goio_io_zip_config_init(goio_io_zip_config *opt);
GOIO_EXTERN int goio_io_zip_compress(goio_io_writer *dst,
                                     const goio_io_zip_input *files, size_t n,
                                     const goio_io_zip_config *opt);

/* ---- safe extraction ---------------------------------------------------- */

/*
 * Extraction reads archives from untrusted sources. libarchive parses
 * them; goio decides what may come out:
 * - Only regular files and directories. Symlinks only with
 *   allow_symlinks and only when they stay inside the root (a target may
 *   start with "../" as far as the root, then only descend); devices,
 *   fifos, sockets and hard links: GOIO_EUNSUPPORTED_ENTRY. Encrypted zip
 *   entries too.
 * - Absolute names, any ".." component, and links pointing outside the
 *   root: GOIO_EUNSAFEPATH. Nothing is ever created through a symlink: a
 *   later entry "l/x" under a symlink "l" is GOIO_EUNSAFEPATH too.
 * - Names are cleaned ("./a//b" -> "a/b"); the root entry ("./") is
 *   skipped.
 * - Duplicates: the same cleaned name twice (a file or link) is
 *   GOIO_EEXIST, unless duplicates = GOIO_DUP_LAST_WINS, where the later
 *   file replaces the earlier (tar -r appends updates this way). A name
 *   that is a file in one entry and a directory in another (or the parent
 *   of a later entry) is GOIO_EEXIST either way. Repeated directories are
 *   fine.
 * - Limits (GOIO_ELIMIT): entries (every archive entry, and every parent
 *   directory a name implies that no earlier entry made: "a/b/c" alone is
 *   three), the bytes of the distinct path components remembered
 *   (max_name_bytes), total bytes extracted, and the ratio of bytes
 *   extracted to archive bytes (the zip-bomb check, applied once more
 *   than ratio_grace_bytes came out; for a stream, against the compressed
 *   bytes read so far). The bytes are counted as they are inflated, never
 *   taken from headers, which can lie; bytes inflated after a tar's
 *   end-of-archive marker (read to check the gzip CRC) count as extracted
 *   too.
 * - Any libarchive warning is a failure; corrupt data is GOIO_EBADMSG,
 *   data that ends early (a cut file, a short gzip stream, an entry
 *   shorter than its header says) GOIO_ETRUNCATED where it can be told
 *   apart, else GOIO_EBADMSG. Zip archives must have their central
 *   directory (as unzip requires), and each entry's name there must be
 *   the one in its local header (GOIO_EBADMSG otherwise). Compression
 *   methods libarchive cannot inflate (Deflate64, unknown ones) and sparse
 *   files are GOIO_EUNSUPPORTED_ENTRY. A gzip stream of nothing is an
 *   empty archive.
 * - Every archive entry is checked, also those not among `names`: their
 *   data is inflated (within the limits, counted as extracted bytes) and
 *   checked (CRC, size), then dropped. An archive with one unsafe or
 *   corrupt entry is refused as a whole.
 * The reason for a refusal goes to the log sink (category "ioext", code
 * "archive_refused", key = the refused entry's name, as in the archive
 * when it could not be cleaned; NULL when no entry is at fault).
 * Thread-safety: every extraction (and goio_io_zip_compress) is
 * self-contained; any number may run at once on different threads.
 * Names are handled as UTF-8 whatever the process locale (extraction
 * switches its own thread to C.UTF-8 while it runs, via uselocale).
 */
typedef enum goio_io_dup_policy {
    GOIO_DUP_ERROR = 0,     /* a second entry with the same name: EEXIST */
    GOIO_DUP_LAST_WINS = 1, /* the later file replaces the earlier */
} goio_io_dup_policy;

#define GOIO_EXTRACT_NAME_BYTES (4 * 1024 * 1024)

typedef struct goio_io_extract_config {
    uint64_t max_entries;          /* default 10000 */
    uint64_t max_total_bytes;      /* default 1 GiB */
    uint32_t max_ratio;            /* default 200 (deflate's best is ~1030);
                                      0: no ratio check */
    uint64_t ratio_grace_bytes;    /* default 1 MiB */
    bool allow_symlinks;           /* default false */
    goio_io_dup_policy duplicates; /* default GOIO_DUP_ERROR */
    goio_io_bufpool *pool;   /* buffers for memory extraction; NULL: default */
    uint64_t max_name_bytes; /* distinct path components remembered, in
                                bytes; default (and 0)
                                GOIO_EXTRACT_NAME_BYTES, 4 MiB */
} goio_io_extract_config;

GOIO_EXTERN void goio_io_extract_config_init(goio_io_extract_config *opt);

/* One extracted file; `data` comes from the options' pool. */
typedef struct goio_io_archive_file {
    char *name; /* cleaned, no "./" */
    uint8_t *data;
    size_t len;
    size_t _cap; /* private: the pool buffer's size */
} goio_io_archive_file;

/* Extracted files in archive order (a replaced duplicate keeps the place
 * of the first). */
typedef struct goio_io_archive_files {
    goio_io_archive_file *files;
    size_t count;
    size_t _alloc;          /* private */
    goio_io_bufpool *_pool; /* private */
} goio_io_archive_files;

/* Returns every buffer to the pool and frees the list; NULL is a no-op. */
GOIO_EXTERN void goio_io_archive_files_free(goio_io_archive_files *list);
/* The file named `name` (cleaned form), or NULL. */
GOIO_EXTERN const goio_io_archive_file *
goio_io_archive_files_find(const goio_io_archive_files *list, const char *name);

/*
 * Extracts regular files to memory: all of them when names is NULL (or
 * nnames 0), else those whose cleaned name is among names (given in
 * cleaned form, "a/b"); a wanted name the archive lacks is simply absent
 * from the result, as in the Go version. Directories and (allowed)
 * symlinks are checked and skipped; a symlink that replaces a file
 * (GOIO_DUP_LAST_WINS) removes it from the result, as extraction to a
 * directory leaves the link there. *out is NULL on error.
 * opt NULL: defaults.
 */
GOIO_EXTERN int goio_io_zip_extract(const void *data, size_t len,
                                    const char *const *names, size_t nnames,
                                    const goio_io_extract_config *opt,
                                    goio_io_archive_files **out);
GOIO_EXTERN int goio_io_targz_extract(const void *data, size_t len,
                                      const char *const *names, size_t nnames,
                                      const goio_io_extract_config *opt,
                                      goio_io_archive_files **out);
/* The same from a stream (r is read to the end of the gzip data, not
 * closed). */
GOIO_EXTERN int goio_io_targz_extract_reader(goio_io_reader *r,
                                             const char *const *names,
                                             size_t nnames,
                                             const goio_io_extract_config *opt,
                                             goio_io_archive_files **out);

/*
 * Extracts into directory `dir`, which must not exist or be empty
 * (GOIO_EEXIST otherwise); its parent must exist. Everything is written
 * into a new hidden directory next to `dir` and renamed to `dir` only
 * once the whole archive was read and checked: on any error nothing is
 * left behind, and `dir` is never seen half-written. Files get the
 * archive's permission bits masked with 0755 (never setuid/setgid/sticky,
 * never group- or world-writable; owner read/write always) and its
 * modification time; directories 0755; owners are not restored. Data is
 * not fsync'ed.
 */
GOIO_EXTERN int goio_io_zip_extract_to_dir(const void *data, size_t len,
                                           const char *dir,
                                           const goio_io_extract_config *opt);
GOIO_EXTERN int goio_io_targz_extract_to_dir(goio_io_reader *r, const char *dir,
                                             const goio_io_extract_config *opt);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_IOEXT_H */
