/* SPDX-License-Identifier: MIT */
/** @file
 * goio core: errors, logging, allocation, byte buffers, cancellation
 * contexts and clocks. Every other goio module builds on this header.
 *
 * Conventions (shared by every module):
 *  - Functions return 0 or a negative GOIO_E* code. Codes that have an errno
 *    equivalent use its (negated) value, so libuv codes pass through as is.
 *    Codes are only ever added, never renumbered.
 *  - Durations are int64_t milliseconds. Deadlines are instants on the
 *    monotonic clock (goio_now_mono_ms()).
 *  - Everything goio returns is owned by the caller and freed with the
 *    matching _free function (or goio_free for plain memory).
 *  - Handles are safe for concurrent use unless a header says otherwise.
 */
#ifndef GOIO_CORE_H
#define GOIO_CORE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @def GOIO_EXTERN
 * Marks a public goio symbol (default visibility under GCC and Clang).
 * @def GOIO_PRINTF
 * Lets the compiler check a printf-style format: `fmt` is the format's
 * argument position, `args` that of the first variadic argument. */
#if defined(__GNUC__)
#define GOIO_EXTERN            __attribute__((visibility("default")))
#define GOIO_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define GOIO_EXTERN
#define GOIO_PRINTF(fmt, args)
#endif

/* ---- version ----------------------------------------------------------- */

/** @def GOIO_VERSION_MAJOR
 * Version of the headers being compiled against (semver; before 1.0 a
 * minor release may break the API: CHANGELOG.md). The three lines are read
 * by CMake and scripts as they are: keep them free of comments.
 * @def GOIO_VERSION_MINOR
 * See GOIO_VERSION_MAJOR.
 * @def GOIO_VERSION_PATCH
 * See GOIO_VERSION_MAJOR. */
#define GOIO_VERSION_MAJOR 0
#define GOIO_VERSION_MINOR 1
#define GOIO_VERSION_PATCH 0
/** The header version as 0xMMmmpp, for `#if GOIO_VERSION_HEX >= ...`. */
#define GOIO_VERSION_HEX                                                       \
    ((GOIO_VERSION_MAJOR << 16) | (GOIO_VERSION_MINOR << 8) |                  \
     GOIO_VERSION_PATCH)

/** "MAJOR.MINOR.PATCH" of the library actually linked; never NULL. */
GOIO_EXTERN const char *goio_version_string(void);

/* ---- errors ------------------------------------------------------------ */

/** XX(NAME, value, message). errno-valued codes first; goio's own codes live
 * at -1000 and below so they never collide with errno values. */
#define GOIO_ERRNO_MAP(XX)                                                     \
    XX(EINVAL, -EINVAL, "invalid argument")                                    \
    XX(ENOMEM, -ENOMEM, "out of memory")                                       \
    XX(ETIMEDOUT, -ETIMEDOUT, "timed out")                                     \
    XX(ECANCELED, -ECANCELED, "operation canceled")                            \
    XX(EAGAIN, -EAGAIN, "resource temporarily unavailable")                    \
    XX(ENOENT, -ENOENT, "no such file or directory")                           \
    XX(EEXIST, -EEXIST, "already exists")                                      \
    XX(EALREADY, -EALREADY, "already initialized")                             \
    XX(EBUSY, -EBUSY, "resource busy")                                         \
    XX(EIO, -EIO, "i/o error")                                                 \
    XX(EPIPE, -EPIPE, "broken pipe")                                           \
    XX(ERANGE, -ERANGE, "result out of range")                                 \
    XX(EOVERFLOW, -EOVERFLOW, "value too large")                               \
    XX(E2BIG, -E2BIG, "argument too large")                                    \
    XX(EMSGSIZE, -EMSGSIZE, "message too long")                                \
    XX(EBADMSG, -EBADMSG, "malformed data")                                    \
    XX(EPROTO, -EPROTO, "protocol error")                                      \
    XX(ENOTSUP, -ENOTSUP, "operation not supported")                           \
    XX(ECONNREFUSED, -ECONNREFUSED, "connection refused")                      \
    XX(ECONNRESET, -ECONNRESET, "connection reset by peer")                    \
    XX(ENOTCONN, -ENOTCONN, "not connected")                                   \
    XX(EHOSTUNREACH, -EHOSTUNREACH, "host is unreachable")                     \
    XX(EADDRINUSE, -EADDRINUSE, "address already in use")                      \
    XX(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                           \
    XX(EACCES, -EACCES, "permission denied")                                   \
    XX(ETYPE, -1000, "type mismatch")                                          \
    XX(EUNSAFEPATH, -1001, "unsafe archive path")                              \
    XX(ELIMIT, -1002, "limit exceeded")                                        \
    XX(ECLOSED, -1003, "handle is closed")                                     \
    XX(EFETCH, -1004, "fetch failed")                                          \
    XX(EEARLYCLOSE, -1005, "closed before EOF")                                \
    XX(EUNSUPPORTED_ENTRY, -1006, "unsupported archive entry type")            \
    XX(EREDIRECT, -1007, "too many redirections")                              \
    XX(ETRUNCATED, -1008, "truncated data")

/** The error codes: GOIO_<NAME> = value for each GOIO_ERRNO_MAP entry
 * (GOIO_EINVAL, GOIO_ETIMEDOUT, ...). Functions return them negative. */
enum goio_errno {
#define GOIO__ERR_ENUM(name, value, msg) GOIO_##name = (value),
    GOIO_ERRNO_MAP(GOIO__ERR_ENUM)
#undef GOIO__ERR_ENUM
};

/** A sentence for a code; "unknown error" for codes goio does not define. */
GOIO_EXTERN const char *goio_strerror(int code);
/** The code's name ("GOIO_EINVAL"); "GOIO_UNKNOWN" for unknown codes. */
GOIO_EXTERN const char *goio_err_name(int code);

/* ---- logging ----------------------------------------------------------- */

/** Severity of a log record, lowest first; GOIO_LOG_OFF as a minimum level
 * silences everything. */
typedef enum goio_log_level {
    GOIO_LOG_DEBUG = 0,
    GOIO_LOG_INFO = 1,
    GOIO_LOG_WARN = 2,
    GOIO_LOG_ERROR = 3,
    GOIO_LOG_OFF = 4
} goio_log_level;

/** One log record. The field names follow the Go library's (category, code,
 * key). Every pointer is valid only during the sink call; key and category
 * may be NULL. */
typedef struct goio_log_record {
    goio_log_level level; /**< severity */
    const char *category; /**< module, e.g. "cache", "redis" */
    const char
        *code; /**< stable machine-readable event, e.g. "used_stale_cache" */
    const char *key;     /**< the key or name the event is about, or NULL */
    int error;           /**< a GOIO_E* code, or 0 */
    const char *message; /**< human-readable sentence */
} goio_log_record;

/** Receives a record that passed the level and the rate limit; `data` is
 * the pointer given to goio_log_set_sink. */
typedef void (*goio_log_sink_fn)(const goio_log_record *rec, void *data);

/** Routes every record at or above the minimum level (goio_log_set_level) to
 * `sink`. NULL silences goio. The sink may be called from any goio thread at
 * once and must be thread-safe; it must not call goio_log_set_sink or
 * goio_log_config_set. */
GOIO_EXTERN void goio_log_set_sink(goio_log_sink_fn sink, void *data);
/** The default sink: one logfmt line per record on stderr. */
GOIO_EXTERN void goio_log_stderr_sink(const goio_log_record *rec, void *data);
/** Minimum level delivered to the sink; default GOIO_LOG_WARN. */
GOIO_EXTERN int goio_log_set_level(goio_log_level level);
/** The current minimum level. */
GOIO_EXTERN goio_log_level goio_log_get_level(void);
/** True when a record at `level` would reach a sink (skip costly messages). */
GOIO_EXTERN bool goio_log_enabled(goio_log_level level);
/** Emits a record, subject to the rate limit below; goio modules log through
 * this and so may applications. */
GOIO_EXTERN void goio_log(goio_log_level level, const char *category,
                          const char *code, const char *key, int error,
                          const char *fmt, ...) GOIO_PRINTF(6, 7);
/** Formats `rec` as one logfmt line (no newline) into out[size]; returns the
 * length it needed, like snprintf. */
GOIO_EXTERN size_t goio_log_format(const goio_log_record *rec, char *out,
                                   size_t size);

/** A monotonic clock in milliseconds for the rate limit's windows;
 * `data` is goio_log_config.clock_data. */
typedef int64_t (*goio_log_clock_fn)(void *data);

/** Rate limit: at most `limit` records per (category, code) pair per
 * `interval_ms` window reach the sink; the rest are counted, then reported
 * in one "log_suppressed" summary record (key = the suppressed code). 512
 * pairs; pairs beyond share one budget. Details: docs/core.md. */
typedef struct goio_log_config {
    uint32_t limit;      /**< records per pair per window, 1..1000000; 10 */
    int64_t interval_ms; /**< window length, 1..86400000; 1000 */
    bool every_record;   /**< true: no limit, the sink sees every record */
    /** Monotonic milliseconds for the windows (tests); NULL (default):
     * goio_now_mono_coarse_ms. Called from any logging thread. */
    goio_log_clock_fn clock_fn;
    void *clock_data; /**< passed to clock_fn */
} goio_log_config;

/** Fills the defaults: 10 records per pair per 1000 ms. */
GOIO_EXTERN void goio_log_config_init(goio_log_config *cfg);
/** Applies `cfg` (NULL: the defaults) to every later record; first reports
 * what the old settings suppressed, then starts every pair's window afresh.
 * GOIO_EINVAL for a limit or interval out of range. Thread-safe. */
GOIO_EXTERN int goio_log_config_set(const goio_log_config *cfg);
/** Copies the current settings into *out; GOIO_EINVAL for NULL. */
GOIO_EXTERN int goio_log_config_get(goio_log_config *out);
/** Emits the summary records still pending (e.g. before exit). */
GOIO_EXTERN void goio_log_flush(void);

/* ---- memory ------------------------------------------------------------ */

/** Allocator hooks for goio_allocator_set, with the C library's contracts
 * (malloc, calloc, realloc, free). */
typedef void *(*goio_malloc_fn)(size_t size);
typedef void *(*goio_calloc_fn)(size_t count, size_t size); /**< as calloc */
typedef void *(*goio_realloc_fn)(void *ptr, size_t size);   /**< as realloc */
typedef void (*goio_free_fn)(void *ptr);                    /**< as free */

/** Routes every allocation goio makes (libraries goio calls, such as hiredis,
 * keep their own). Must be called before any other goio call, with
 * thread-safe functions; all four NULL restores the C library's. Returns
 * GOIO_EINVAL when only some are NULL. */
GOIO_EXTERN int goio_allocator_set(goio_malloc_fn m, goio_calloc_fn c,
                                   goio_realloc_fn r, goio_free_fn f);

/** Allocation through the configured allocator. Sizes are overflow-checked;
 * zero-size requests return a unique pointer, NULL only on failure. */
GOIO_EXTERN void *goio_malloc(size_t size);
/** count * size zeroed bytes; NULL when the product overflows. */
GOIO_EXTERN void *goio_calloc(size_t count, size_t size);
/** As realloc: on failure returns NULL and `ptr` stays valid. */
GOIO_EXTERN void *goio_realloc(void *ptr, size_t size);
/** goio_realloc to count * size bytes; NULL (ptr untouched) on overflow. */
GOIO_EXTERN void *goio_reallocarray(void *ptr, size_t count, size_t size);
/** Frees what any goio allocation returned; NULL is a no-op. */
GOIO_EXTERN void goio_free(void *ptr);
/** A goio_malloc'ed copy of `s`; NULL for a NULL `s` or no memory. */
GOIO_EXTERN char *goio_strdup(const char *s);
/** A copy of at most `n` bytes of `s`, always NUL-terminated. */
GOIO_EXTERN char *goio_strndup(const char *s, size_t n);
/** A goio_malloc'ed copy of p[0..n). */
GOIO_EXTERN void *goio_memdup(const void *p, size_t n);

/* ---- byte buffer ------------------------------------------------------- */

/** A growable byte buffer owned by whoever holds it. `data` is NULL while
 * cap is 0. Appends keep one spare byte so data[len] can be NUL-terminated
 * (goio_buf_cstr). Not thread-safe. */
typedef struct goio_buf {
    uint8_t *data; /**< the bytes, goio_malloc'ed; NULL while cap is 0 */
    size_t len;    /**< bytes in use */
    size_t cap;    /**< bytes allocated */
} goio_buf;

/** Static initializer for an empty goio_buf (same as goio_buf_init). */
#define GOIO_BUF_INIT                                                          \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

/** Makes b empty without allocating. */
GOIO_EXTERN void goio_buf_init(goio_buf *b);
/** Ensures room for `extra` more bytes (plus the terminator byte). */
GOIO_EXTERN int goio_buf_reserve(goio_buf *b, size_t extra);
/** Appends p[0..n). The appends return 0, GOIO_EINVAL (NULL b, or NULL p
 * with n > 0) or GOIO_ENOMEM; on error b is unchanged. */
GOIO_EXTERN int goio_buf_append(goio_buf *b, const void *p, size_t n);
/** Appends the string `s` without its NUL. */
GOIO_EXTERN int goio_buf_append_str(goio_buf *b, const char *s);
/** Appends printf-formatted text. */
GOIO_EXTERN int goio_buf_appendf(goio_buf *b, const char *fmt, ...)
    GOIO_PRINTF(2, 3);
/** goio_buf_appendf with a va_list. */
GOIO_EXTERN int goio_buf_vappendf(goio_buf *b, const char *fmt, va_list ap);
/** Replaces the contents with a copy of p[0..n). For append and set, p may
 * point into b itself. */
GOIO_EXTERN int goio_buf_set(goio_buf *b, const void *p, size_t n);
/** NUL-terminates and returns the contents as a string ("" when empty). */
GOIO_EXTERN const char *goio_buf_cstr(goio_buf *b);
/** Forgets the contents, keeps the memory. */
GOIO_EXTERN void goio_buf_clear(goio_buf *b);
/** Hands the memory to the caller (free with goio_free) and empties b. */
GOIO_EXTERN uint8_t *goio_buf_detach(goio_buf *b, size_t *len);
/** Frees the memory and leaves b empty (reusable); NULL is a no-op. */
GOIO_EXTERN void goio_buf_deinit(goio_buf *b);

/* ---- hashing ----------------------------------------------------------- */

/** A fast 64-bit hash of key[0..len) for hash tables (not cryptographic).
 * With a secret random seed, outsiders cannot aim keys at one bucket.
 * NULL key hashes like an empty one. Thread-safe. */
GOIO_EXTERN uint64_t goio_hash64(const void *key, size_t len, uint64_t seed);

/** 64 random bits from the kernel (getrandom), for hash seeds and ids; not
 * for cryptography. Where the kernel has none to give yet (early boot),
 * a mix of the clock, a counter and the process id keeps two calls apart.
 * Never blocks; thread-safe. */
GOIO_EXTERN uint64_t goio_random_u64(void);

/* ---- clocks ------------------------------------------------------------ */

/** Monotonic clock: for timeouts and deadlines. */
GOIO_EXTERN int64_t goio_now_mono_ms(void);
/** goio_now_mono_ms in nanoseconds, for measuring durations. */
GOIO_EXTERN int64_t goio_now_mono_ns(void);
/** Monotonic, read from the kernel's cached tick (a few ms coarse, ~5x
 * cheaper): for hot-path TTL checks. */
GOIO_EXTERN int64_t goio_now_mono_coarse_ms(void);
/** at_ms + ms, saturating at INT64_MAX (GOIO_NO_DEADLINE) and INT64_MIN:
 * deadlines from any timeout without overflow. */
GOIO_EXTERN int64_t goio_time_add_ms(int64_t at_ms, int64_t ms);
/** Wall clock, Unix epoch: only for instants shared across processes. */
GOIO_EXTERN int64_t goio_now_wall_ms(void);
/** goio_now_wall_ms in nanoseconds. */
GOIO_EXTERN int64_t goio_now_wall_ns(void);

/* ---- cancellation contexts ----------------------------------------------- */

/**
 * A goio_ctx is cancellation plus an optional deadline, like Go's context.
 * It is done once cancelled (by goio_ctx_cancel or because its parent is)
 * or once the monotonic clock reaches its deadline. Reference counted:
 * constructors return one reference, released with goio_ctx_unref. A child
 * holds a reference to its parent. All functions are thread-safe.
 *
 * Every goio function that takes a ctx accepts NULL: never cancelled, no
 * deadline.
 *
 * Deadlines are observed without a timer thread: goio_ctx_err, goio_ctx_wait
 * and the pollable fd see them; goio_ctx_on_cancel callbacks fire only on
 * cancellation.
 */
typedef struct goio_ctx goio_ctx;

/** The deadline of a ctx that has none (goio_ctx_deadline). */
#define GOIO_NO_DEADLINE INT64_MAX

/** A cancellable ctx; `parent` may be NULL. */
GOIO_EXTERN int goio_ctx_new(goio_ctx *parent, goio_ctx **out);
/** A ctx done at `deadline_ms` (monotonic) or when parent is done. */
GOIO_EXTERN int goio_ctx_new_with_deadline(goio_ctx *parent,
                                           int64_t deadline_ms, goio_ctx **out);
/** A ctx done `timeout_ms` from now (>= 0) or when parent is done. */
GOIO_EXTERN int goio_ctx_new_with_timeout(goio_ctx *parent, int64_t timeout_ms,
                                          goio_ctx **out);
/** Takes another reference; returns ctx (NULL-safe). */
GOIO_EXTERN goio_ctx *goio_ctx_ref(goio_ctx *ctx);
/** Releases a reference; NULL is a no-op. */
GOIO_EXTERN void goio_ctx_unref(goio_ctx *ctx);
/** Cancels ctx and its children; idempotent; NULL is a no-op. */
GOIO_EXTERN void goio_ctx_cancel(goio_ctx *ctx);
/** Moves this ctx's own deadline (not its parent's); GOIO_NO_DEADLINE
 * removes it. For owners that merge several callers' deadlines into one
 * ctx (sharedflight). Waiters and the fd follow the new value. */
GOIO_EXTERN int goio_ctx_set_deadline(goio_ctx *ctx, int64_t deadline_ms);
/** 0 while live; GOIO_ECANCELED or GOIO_ETIMEDOUT once done. NULL -> 0. */
GOIO_EXTERN int goio_ctx_err(const goio_ctx *ctx);
/** The earliest deadline of ctx and its ancestors, or GOIO_NO_DEADLINE. */
GOIO_EXTERN int64_t goio_ctx_deadline(const goio_ctx *ctx);
/** Milliseconds until the deadline (>= 0), or -1 when there is none. */
GOIO_EXTERN int64_t goio_ctx_remaining_ms(const goio_ctx *ctx);
/** Blocks until ctx is done or timeout_ms passes (< 0: no timeout). Returns
 * 0 when ctx is done (goio_ctx_err says why), GOIO_EAGAIN when the timeout
 * passed first, GOIO_EINVAL for a NULL ctx. */
GOIO_EXTERN int goio_ctx_wait(goio_ctx *ctx, int64_t timeout_ms);
/** A file descriptor that polls readable once ctx is done (cancel or
 * deadline), for event loops. Owned by ctx: do not read or close it. Made
 * on first use; GOIO_EINVAL for NULL, or a system error. */
GOIO_EXTERN int goio_ctx_fd(goio_ctx *ctx, int *fd);

/** A registration made by goio_ctx_on_cancel. */
typedef struct goio_ctx_watch goio_ctx_watch;
/** Called once with the `data` given to goio_ctx_on_cancel, on the thread
 * that cancels (goio_ctx_cancel blocks until it returns, so keep it short). */
typedef void (*goio_ctx_cancel_fn)(void *data);
/** Calls fn(data) once when ctx is cancelled (at once, on this thread, if
 * it already is). Deadlines do not trigger it. `*watch` (may be NULL if
 * the caller never removes it) identifies the registration. Returns 0,
 * GOIO_EINVAL (NULL ctx or fn) or GOIO_ENOMEM. */
GOIO_EXTERN int goio_ctx_on_cancel(goio_ctx *ctx, goio_ctx_cancel_fn fn,
                                   void *data, goio_ctx_watch **watch);
/** Unregisters; when it returns fn is not running and will not run. Must not
 * be called from inside fn itself. NULL watch is a no-op. */
GOIO_EXTERN void goio_ctx_watch_remove(goio_ctx *ctx, goio_ctx_watch *watch);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_CORE_H */
