/*
 * cache: the cache interface and goio's caches.
 *
 * A goio_cache maps string keys to byte values with a TTL. It is an
 * interface: goio's memory cache, the stale-on-error wrapper, the hybrid
 * layer and the Redis cache (goio/redis.h) implement it, and so can users
 * (embed a goio_cache as the first member of your struct, call
 * goio_cache_init with your ops, and every goio_cache_* call, get-or-set
 * included, works on it).
 *
 * Keys are non-empty NUL-terminated strings of at most GOIO_CACHE_MAX_KEY
 * bytes; anything else is GOIO_EINVAL and nothing is stored. A miss is not
 * an error: calls that read report it through `bool *hit`.
 *
 * Every cache handle is safe for concurrent use by any number of threads.
 */
#ifndef GOIO_CACHE_H
#define GOIO_CACHE_H

#include <goio/core.h>
#include <goio/reflext.h>
#include <goio/sharedflight.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOIO_CACHE_MAX_KEY 4096

typedef struct goio_cache goio_cache;

typedef struct goio_cache_stats {
    uint64_t hits, misses, sets, deletes;
    uint64_t evictions, expirations;
    uint64_t entries, bytes; /* current (0 where a cache cannot tell) */
    uint64_t fetches, fetch_errors, stale_served;
} goio_cache_stats;

/* How goio_cache_get_or_set produced its value. */
typedef enum goio_cache_source {
    GOIO_CACHE_HIT = 0,     /* fresh value from the cache */
    GOIO_CACHE_FETCHED = 1, /* this caller's fetch ran and was stored */
    GOIO_CACHE_SHARED = 2,  /* another caller's fetch, waited for */
    GOIO_CACHE_STALE = 3    /* the fetch failed; an expired value served */
} goio_cache_source;

/*
 * Produces the value for a missing key: appends it to `out` and returns 0,
 * or returns a negative code (nothing is stored then). Runs once per key
 * however many callers wait, under a ctx that is cancelled only when every
 * waiting caller has given up.
 */
typedef int (*goio_cache_fetch_fn)(goio_ctx *ctx, const char *key, void *arg,
                                   goio_buf *out);

/*
 * The interface. Keys reach these already validated; `out` buffers are
 * the caller's (replace their contents). Required: get, set, del, destroy.
 * NULL optional members get goio's default (get_stale -> GOIO_ENOTSUP,
 * get_or_set -> get + one fetch per key + set, stats -> zeros plus the
 * generic fetch counters, clear -> GOIO_ENOTSUP).
 */
typedef struct goio_cache_ops {
    const char *name;
    int (*get)(goio_cache *c, const char *key, goio_buf *out, bool *hit);
    int (*set)(goio_cache *c, const char *key, const void *value, size_t len,
               int64_t ttl_ms);
    int (*del)(goio_cache *c, const char *key);
    int (*get_stale)(goio_cache *c, const char *key, goio_buf *out,
                     bool *hit, bool *stale);
    int (*get_or_set)(goio_cache *c, const char *key, int64_t ttl_ms,
                      goio_cache_fetch_fn fetch, void *arg, goio_ctx *ctx,
                      goio_buf *out, goio_cache_source *source);
    int (*stats)(goio_cache *c, goio_cache_stats *out);
    int (*clear)(goio_cache *c);
    /* Frees the implementation (the memory holding the goio_cache too). */
    void (*destroy)(goio_cache *c);
} goio_cache_ops;

/* Embed as the first member of an implementation. Fields are private. */
struct goio_cache {
    const goio_cache_ops *ops;
    goio_sharedflight *_flights;
    uint64_t _fetches, _fetch_errors; /* atomics, for the default stats */
};

/* For implementers: sets up the base (GOIO_EINVAL if a required op is
 * missing, GOIO_ENOMEM). */
GOIO_EXTERN int goio_cache_init(goio_cache *c, const goio_cache_ops *ops);

/* ---- the calls ----------------------------------------------------------- */

/* Copies the value into *out (replacing its contents) and sets *hit. */
GOIO_EXTERN int goio_cache_get(goio_cache *c, const char *key, goio_buf *out,
                               bool *hit);
/*
 * Stores a copy of value[0..len) for ttl_ms milliseconds. A ttl_ms <= 0
 * stores a value that is already expired: the key reads as missing
 * afterwards (as the Go library's zero duration).
 */
GOIO_EXTERN int goio_cache_set(goio_cache *c, const char *key,
                               const void *value, size_t len, int64_t ttl_ms);
/* Removes the key; removing a missing key is not an error. */
GOIO_EXTERN int goio_cache_del(goio_cache *c, const char *key);
/* Fresh or expired-but-kept value; *stale says which. GOIO_ENOTSUP where
 * the cache keeps no expired values. */
GOIO_EXTERN int goio_cache_get_stale(goio_cache *c, const char *key,
                                     goio_buf *out, bool *hit, bool *stale);
/*
 * A fresh hit, else one fetch per key (shared by every concurrent caller)
 * whose value is stored for ttl_ms and returned to all. A fetch error is
 * returned (nothing stored) unless a stale layer serves an old value.
 * `source` (may be NULL) says which happened. ctx may be NULL.
 */
GOIO_EXTERN int goio_cache_get_or_set(goio_cache *c, const char *key,
                                      int64_t ttl_ms,
                                      goio_cache_fetch_fn fetch, void *arg,
                                      goio_ctx *ctx, goio_buf *out,
                                      goio_cache_source *source);
GOIO_EXTERN int goio_cache_stats_get(goio_cache *c, goio_cache_stats *out);
/* Drops every entry (GOIO_ENOTSUP where a cache cannot). */
GOIO_EXTERN int goio_cache_clear(goio_cache *c);
/* Frees the cache; NULL is a no-op. No call may be in progress. */
GOIO_EXTERN void goio_cache_free(goio_cache *c);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_CACHE_H */
