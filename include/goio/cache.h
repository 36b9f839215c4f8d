/* SPDX-License-Identifier: MIT */
/** @file
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
 *
 * What is in this header:
 *  - the interface (goio_cache_ops, struct goio_cache, goio_cache_init) and
 *    the calls every cache answers (goio_cache_get ... goio_cache_free);
 *  - typed variants on reflext descriptors (goio_cache_get_typed ...);
 *  - goio's memory cache (goio_cache_memory_new), the stale-on-error
 *    wrapper (goio_cache_stale_new) and the two-layer hybrid
 *    (goio_cache_hybrid_new), with the envelope byte format they share.
 *
 * Logging: every record goio's caches write has category "cache" and one
 * of these codes: get_from_cache_error (a storage read failed; treated as
 * a miss), set_cache_error (storing a fetched value failed; the value is
 * still returned), fetch_failed (a fetch failed and no stale value was
 * available), used_stale_cache (a fetch failed, or the caller's deadline
 * passed, and an expired value was served), bad_cache_envelope (stored
 * bytes are not a goio envelope; treated as a miss), bad_cache_value
 * (stored bytes are not of the type a typed get_or_set asked for; treated
 * as a miss and overwritten), get_local_error / set_local_error /
 * get_remote_error (a hybrid layer failed; a remote read that failed only
 * because the caller's ctx was done is not logged).
 */
#ifndef GOIO_CACHE_H
#define GOIO_CACHE_H

#include <goio/core.h>
#include <goio/reflext.h>
#include <goio/sharedflight.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The longest key, in bytes (without the terminator). */
#define GOIO_CACHE_MAX_KEY 4096

typedef struct goio_cache goio_cache;

/** A cache's counters since it was made (goio_cache_stats_get); each
 * cache says which it keeps, the others are 0. */
typedef struct goio_cache_stats {
    /** @var goio_cache_stats::hits
     * reads that found a fresh value
     * @var goio_cache_stats::misses
     * reads that found none
     * @var goio_cache_stats::sets
     * values stored
     * @var goio_cache_stats::deletes
     * del calls */
    uint64_t hits, misses, sets, deletes;
    /** @var goio_cache_stats::evictions
     * entries removed to stay within the bounds
     * @var goio_cache_stats::expirations
     * expired entries removed */
    uint64_t evictions, expirations;
    /** @var goio_cache_stats::entries
     * entries held now (0 where a cache cannot tell)
     * @var goio_cache_stats::bytes
     * bytes charged now (0 where a cache cannot tell) */
    uint64_t entries, bytes;
    /** @var goio_cache_stats::fetches
     * fetches get_or_set ran
     * @var goio_cache_stats::fetch_errors
     * of which failed
     * @var goio_cache_stats::stale_served
     * expired values served for a failed or late fetch (stale wrapper) */
    uint64_t fetches, fetch_errors, stale_served;
} goio_cache_stats;

/**
 * The format a cache's values (and envelopes) have in shared storage.
 * GOIO (the default) is goio's own: values are the bytes given, envelopes
 * binary (see "envelope" below). GO_IO is byte-compatible with the Go
 * library go-io, so C and Go services share one Redis namespace
 * (docs/go-io-wire.md): values are JSON as Go's encoding/json writes them
 * (the typed calls encode with reflext's JSON), envelopes are
 * `{"FreshUntil":"<RFC 3339 nano>","Value":<JSON>}`, the Redis cache sends
 * TTLs as whole seconds (EX) capped at 12 h, and the stale wrapper keeps
 * entries for the stale TTL. Give every layer of a stack the same wire;
 * bytes of the other format are logged (bad_cache_envelope /
 * bad_cache_value) and read as a miss, never misread.
 */
typedef enum goio_cache_wire {
    GOIO_CACHE_WIRE_GOIO = 0, /**< goio's own (default) */
    GOIO_CACHE_WIRE_GO_IO = 1 /**< byte-compatible with go-io */
} goio_cache_wire;

/** How goio_cache_get_or_set produced its value. */
typedef enum goio_cache_source {
    GOIO_CACHE_HIT = 0,     /**< fresh value from the cache */
    GOIO_CACHE_FETCHED = 1, /**< this caller's fetch ran and was stored */
    GOIO_CACHE_SHARED = 2,  /**< another caller's fetch, waited for */
    GOIO_CACHE_STALE = 3    /**< the fetch failed; an expired value served */
} goio_cache_source;

/**
 * Produces the value for a missing key: appends it to `out` and returns 0,
 * or returns a negative code (nothing is stored then). Runs once per key
 * however many callers wait, under a ctx that is cancelled only when every
 * waiting caller has given up.
 */
typedef int (*goio_cache_fetch_fn)(goio_ctx *ctx, const char *key,
                                   goio_buf *out, void *data);

/**
 * The interface. Keys reach these already validated (non-NULL, non-empty,
 * at most GOIO_CACHE_MAX_KEY bytes) and so do the other pointers; `out`
 * buffers are the caller's (replace their contents). Required: get, set,
 * del, destroy. NULL optional members get goio's default (get_stale ->
 * GOIO_ENOTSUP, get_or_set -> get + one fetch per key + set, stats ->
 * zeros, clear -> GOIO_ENOTSUP). goio_cache_stats_get adds the base's
 * fetch counters (goio's generic get_or_set) to what `stats` reports, so
 * a `stats` op leaves fetches and fetch_errors alone unless its own
 * get_or_set counts them. Ops are called concurrently from any thread.
 *
 * ctx: every op that may block gets the caller's ctx (NULL = no deadline)
 * and returns soon after it is done (GOIO_ETIMEDOUT / GOIO_ECANCELED, or
 * the ctx's error as the implementation reports it); a layer passes it on
 * to the layers and connections below it.
 */
typedef struct goio_cache_ops {
    const char *name; /**< the implementation's name, e.g. "memory" */
    /** goio_cache_get. Required. */
    int (*get)(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
               bool *hit);
    /** goio_cache_set. Required. */
    int (*set)(goio_cache *c, goio_ctx *ctx, const char *key, const void *value,
               size_t len, int64_t ttl_ms);
    /** goio_cache_del. Required. */
    int (*del)(goio_cache *c, goio_ctx *ctx, const char *key);
    /** goio_cache_get_stale; NULL: GOIO_ENOTSUP. */
    int (*get_stale)(goio_cache *c, goio_ctx *ctx, const char *key,
                     goio_buf *out, bool *hit, bool *stale);
    /** goio_cache_get_or_set; NULL: the generic one (get, a shared fetch,
     * set). */
    int (*get_or_set)(goio_cache *c, goio_ctx *ctx, const char *key,
                      int64_t ttl_ms, goio_cache_fetch_fn fetch, void *data,
                      goio_buf *out, goio_cache_source *source);
    /** Reads counters only: never blocks, takes no ctx. */
    int (*stats)(goio_cache *c, goio_cache_stats *out);
    /** goio_cache_clear; NULL: GOIO_ENOTSUP. */
    int (*clear)(goio_cache *c, goio_ctx *ctx);
    /** Frees the implementation (the memory holding the goio_cache too). */
    void (*destroy)(goio_cache *c);
} goio_cache_ops;

/** Embed as the first member of an implementation. Fields are private. */
struct goio_cache {
    const goio_cache_ops *ops;   /**< the implementation's functions */
    goio_sharedflight *_flights; /**< private: the generic get_or_set's */
    /** private: fetches counted for the default stats (atomic) */
    uint64_t _fetches, _fetch_errors; /**< private: fetch errors (atomic) */
    unsigned _wire;                   /**< goio_cache_wire_set */
    uint64_t *_flight_gens; /**< completed stores per key slot (atomics) */
};

/**
 * For implementers: sets up the base, including the sharedflight group
 * the generic get_or_set runs its fetches in (GOIO_EINVAL for NULL
 * arguments or a missing required op, GOIO_ENOMEM). goio_cache_free
 * releases the base and then calls ops->destroy.
 */
GOIO_EXTERN int goio_cache_init(goio_cache *c, const goio_cache_ops *ops);
/**
 * For implementers whose constructor fails after goio_cache_init: releases
 * what goio_cache_init set up (without calling ops->destroy). Never call
 * it from ops->destroy. NULL is a no-op.
 */
GOIO_EXTERN void goio_cache_deinit(goio_cache *c);
/** For implementers: counts one fetch (and one fetch error when status is
 * non-zero) in the base's counters, which goio_cache_stats_get reports. */
GOIO_EXTERN void goio_cache_count_fetch(goio_cache *c, int status);
/**
 * For implementers, after goio_cache_init and before the cache is shared:
 * the wire its values are in (goio_cache_wire_get reports it and the typed
 * calls follow it). raw_bytes (GO_IO only): goio_type_bytes values are
 * stored as the bytes themselves, not as JSON (go-io's Redis cache stores
 * []byte raw). GOIO_EINVAL for a NULL cache or an unknown wire.
 */
GOIO_EXTERN int goio_cache_wire_set(goio_cache *c, goio_cache_wire wire,
                                    bool raw_bytes);
/** The wire c's values are in (GOIO_CACHE_WIRE_GOIO for NULL). Thread-safe. */
GOIO_EXTERN goio_cache_wire goio_cache_wire_get(const goio_cache *c);
/** Whether `key` is a valid key (non-NULL, non-empty, at most
 * GOIO_CACHE_MAX_KEY bytes before its terminator). */
GOIO_EXTERN bool goio_cache_key_valid(const char *key);

/* ---- the calls ----------------------------------------------------------- */

/*
 * Common rules of the calls below: ctx (may be NULL: no deadline, never
 * cancelled) comes right after the cache and bounds every layer the call
 * reaches (a Redis cache's pool wait, connect, write and read included):
 * a call whose ctx is cancelled or whose deadline passes returns
 * GOIO_ECANCELED / GOIO_ETIMEDOUT soon after (within a few ms), whatever
 * layer it was blocked in. Common errors: GOIO_EINVAL for a NULL cache,
 * an invalid key or a NULL out pointer (nothing is read or stored then);
 * GOIO_ENOMEM; and whatever the implementation reports (a Redis cache's
 * connection errors, for instance). On an error *out is left as it was
 * and *hit is false.
 */

/** Copies the value into *out (replacing its contents) and sets *hit. */
GOIO_EXTERN int goio_cache_get(goio_cache *c, goio_ctx *ctx, const char *key,
                               goio_buf *out, bool *hit);
/**
 * Stores a copy of value[0..len) for ttl_ms milliseconds. A ttl_ms <= 0
 * stores a value that is already expired: the key reads as missing
 * afterwards (as the Go library's zero duration).
 */
GOIO_EXTERN int goio_cache_set(goio_cache *c, goio_ctx *ctx, const char *key,
                               const void *value, size_t len, int64_t ttl_ms);
/** Removes the key; removing a missing key is not an error. */
GOIO_EXTERN int goio_cache_del(goio_cache *c, goio_ctx *ctx, const char *key);
/** Fresh or expired-but-kept value; *stale says which. GOIO_ENOTSUP where
 * the cache keeps no expired values. */
GOIO_EXTERN int goio_cache_get_stale(goio_cache *c, goio_ctx *ctx,
                                     const char *key, goio_buf *out, bool *hit,
                                     bool *stale);
/**
 * A fresh hit, else one fetch per key (shared by every concurrent caller)
 * whose value is stored for ttl_ms and returned to all. A fetch error is
 * returned (nothing stored) unless a stale layer serves an old value.
 * `source` (may be NULL) says which happened. ctx (may be NULL) bounds
 * the reads, the wait for another caller's fetch and the store; the
 * fetch gets the flight's ctx (see below).
 *
 * The generic version (caches without their own get_or_set op, the
 * memory cache and the hybrid included): a read error is logged
 * (get_from_cache_error) and treated as a miss; the fetch runs in the
 * cache's sharedflight group, which re-reads the cache first so a caller
 * that missed just before another caller's fetch stored its value does
 * not fetch again; the value is stored with the ttl_ms of the caller
 * whose fetch ran; the fetch's own negative code is returned to every
 * waiting caller when it fails (GOIO_EFETCH if it returned a positive
 * value); a failed store of a fetched value is logged (set_cache_error)
 * and the value is still returned. A caller whose ctx is cancelled or
 * whose deadline passes gets GOIO_ECANCELED / GOIO_ETIMEDOUT while the
 * fetch goes on for the others; the fetch runs on the first caller's
 * thread, so that caller returns (with its ctx's error) only when the
 * fetch does (the fetch's ctx is cancelled once no caller waits any
 * more). GOIO_EINVAL also for a NULL fetch.
 */
GOIO_EXTERN int goio_cache_get_or_set(goio_cache *c, goio_ctx *ctx,
                                      const char *key, int64_t ttl_ms,
                                      goio_cache_fetch_fn fetch, void *data,
                                      goio_buf *out, goio_cache_source *source);
/** Fills *out (zeros where a cache cannot tell). */
GOIO_EXTERN int goio_cache_stats_get(goio_cache *c, goio_cache_stats *out);
/** Drops every entry (GOIO_ENOTSUP where a cache cannot). */
GOIO_EXTERN int goio_cache_clear(goio_cache *c, goio_ctx *ctx);
/** Frees the cache; NULL is a no-op. No call may be in progress. */
GOIO_EXTERN void goio_cache_free(goio_cache *c);

/* ---- typed variants ------------------------------------------------------ */

/**
 * Values stay bytes: the typed calls store type->encode's bytes and decode
 * what they read with type->decode, so a value set as int64 can be read
 * by another process (or a Redis INCR) as the decimal it is. `dst` is a
 * valid variable of `type` (an all-zero one is); on success its old value
 * is destroyed and replaced, on any error it is left exactly as it was.
 * Stored bytes that do not decode as `type` (a string read as an int64, a
 * different POD struct): the caller's variable never receives a value of
 * the wrong type. goio_cache_get_typed returns GOIO_ETYPE and leaves the
 * stored value alone (no silent data loss), except that a hybrid's local
 * copy of it is dropped (also under stale wrappers), so a remote value of
 * the wrong type is never kept locally. GOIO_EINVAL for an invalid
 * descriptor (goio_type_check) or NULL pointers.
 *
 * On a cache whose wire is GOIO_CACHE_WIRE_GO_IO the stored bytes are the
 * value's JSON (goio_type_json_encode / _decode; the bytes themselves for
 * goio_type_bytes on a cache that keeps bytes raw, as go-io's Redis does):
 * a type with no JSON form is GOIO_ENOTSUP and nothing is stored.
 */
GOIO_EXTERN int goio_cache_get_typed(goio_cache *c, goio_ctx *ctx,
                                     const char *key, const goio_type *type,
                                     void *dst, bool *hit);
/** Stores type->encode's bytes of *value (or its JSON on a GO_IO cache)
 * for ttl_ms, as goio_cache_set. */
GOIO_EXTERN int goio_cache_set_typed(goio_cache *c, goio_ctx *ctx,
                                     const char *key, const goio_type *type,
                                     const void *value, int64_t ttl_ms);
/**
 * Produces the value of a missing key into *value, a zero-filled variable
 * of the type. Returns 0 or a negative code, as goio_cache_fetch_fn. The
 * typed layer encodes the variable and then destroys it - on failure too,
 * so leave it valid (zero or a complete value).
 */
typedef int (*goio_cache_fetch_typed_fn)(goio_ctx *ctx, const char *key,
                                         void *value, void *data);
/**
 * goio_cache_get_or_set with a typed fetch and a typed result. Stored
 * bytes of another type are a miss that heals: a WARN record with code
 * bad_cache_value (category cache, error GOIO_ETYPE) is logged, a
 * hybrid's local copy is dropped, and the fetch runs (once for every
 * caller that met the bytes at the same time) and its value overwrites
 * them in every layer (source FETCHED / SHARED). A failing fetch returns
 * its own code and leaves the bytes in place. GOIO_ETYPE only when the
 * fetch's own value does not decode (encode and decode disagree).
 */
GOIO_EXTERN int goio_cache_get_or_set_typed(goio_cache *c, goio_ctx *ctx,
                                            const char *key, int64_t ttl_ms,
                                            const goio_type *type,
                                            goio_cache_fetch_typed_fn fetch,
                                            void *data, void *dst,
                                            goio_cache_source *source);

/* ---- memory cache -------------------------------------------------------- */

/** Bytes charged per entry beyond its key and value (see
 * goio_cache_memory_new). */
#define GOIO_CACHE_ENTRY_OVERHEAD   64
/** The largest value the memory cache stores (its length is 32-bit). */
#define GOIO_CACHE_MEMORY_MAX_VALUE ((size_t)UINT32_MAX)

/** Settings of a memory cache; goio_cache_memory_config_init fills the
 * defaults. */
typedef struct goio_cache_memory_config {
    /** Bound on charged bytes. Default 64 MiB; 0 is GOIO_EINVAL. */
    size_t max_bytes;
    /** Bound on entries; 0 (default) means only max_bytes bounds. */
    size_t max_entries;
    /** Number of hash-table shards, a power of two up to 4096; 0 (default)
     * picks 8 x the online CPUs rounded up to a power of two, at least 16
     * and at most 256. */
    unsigned shards;
    /** How often the background thread reclaims expired entries, in ms.
     * Default 1000; 0 starts no thread (expired entries are then reclaimed
     * only when met by a get, a set or eviction); < 0 is GOIO_EINVAL. */
    int64_t reclaim_interval_ms;
    /** The clock TTLs are measured on, in ms (tests, simulations): called
     * from any thread, concurrently, and must never go backwards. NULL
     * (default): goio_now_mono_coarse_ms. now_data is passed to it. */
    int64_t (*now_ms)(void *data);
    void *now_data; /**< passed to now_ms */
} goio_cache_memory_config;

/** Fills the documented defaults (NULL is a no-op). */
GOIO_EXTERN void goio_cache_memory_config_init(goio_cache_memory_config *cfg);
/**
 * A new bounded, concurrent, TTL-aware memory cache (cfg NULL: the
 * defaults).
 *
 * Bound: every entry is charged key + value + GOIO_CACHE_ENTRY_OVERHEAD
 * bytes (its header, allocator rounding, its hash-table slot and its share
 * of the frequency sketch; bench/cache's overhead_per_entry measures the
 * real figure), and the sum never exceeds max_bytes, nor the entry count
 * max_entries when that is set: a set that would pass a bound evicts
 * before it returns; evicted, replaced or deleted entries stop counting at
 * once and are freed after the next grace period (at most 256 of them wait;
 * goio_cache_clear frees them all). A value whose charge alone exceeds
 * max_bytes is refused with GOIO_E2BIG (and the key's old value is removed).
 * Fixed per-cache memory (shard headers, read buffers, the sketch's 8 KiB
 * minimum) is not charged.
 *
 * Eviction: W-TinyLFU with an adaptive window, so one-off keys and scans
 * do not push out the working set (how it works and measured hit ratios:
 * docs/cache.md).
 *
 * Concurrency: a get takes no lock (Linux membarrier(2); without it, its
 * shard's lock); writes take the policy lock and a shard lock.
 *
 * Expiry: TTLs are measured on the coarse monotonic clock
 * (goio_now_mono_coarse_ms, a few ms of granularity) or on the config's
 * now_ms. An expired entry is never returned; it is removed when a get
 * finds it, when eviction meets it, and by a background reclaim thread
 * (one per cache): mass expiry is reclaimed within one
 * reclaim_interval_ms, a lone expired entry within eight. Keys are hashed
 * with a per-cache random seed.
 *
 * Stats: hits, misses, sets, deletes, evictions (capacity), expirations
 * (TTL), entries and bytes (charged), and the base's fetch counters.
 * stale_served is 0 (see the stale wrapper). goio_cache_get_stale is
 * GOIO_ENOTSUP: expired entries are not kept.
 *
 * GOIO_EINVAL for a bad config or NULL out, GOIO_ENOMEM, or a pthread error (as
 * a negated errno) when the reclaim thread cannot start. Free with
 * goio_cache_free, which stops and joins the reclaim thread promptly. A child
 * process must not use or free a cache created before fork() (its reclaim
 * thread does not exist there).
 */
GOIO_EXTERN int goio_cache_memory_new(const goio_cache_memory_config *cfg,
                                      goio_cache **out);
/** Whether c is a memory cache. */
GOIO_EXTERN bool goio_cache_is_memory(const goio_cache *c);
/**
 * Runs one reclaim sweep now on this thread (what the background thread
 * does every interval); returns the number of expired entries removed, or
 * GOIO_EINVAL when c is not a memory cache.
 */
GOIO_EXTERN int64_t goio_cache_memory_reclaim(goio_cache *c);

/* ---- envelope: a value with its fresh-until instant ---------------------- */

/**
 * The stale wrapper and the hybrid store a value together with the
 * instant it stops being fresh, so that the instant travels with the value
 * through shared storage (Redis) to other processes. Byte format, version
 * 1 (10-byte header, then the value's bytes unchanged):
 *
 *   offset 0  1 byte   0xE7 (magic)
 *   offset 1  1 byte   0x01 (version)
 *   offset 2  8 bytes  fresh-until, wall-clock ms since the Unix epoch,
 *                      int64 little-endian
 *   offset 10 ...      the value
 *
 * Decoders reject other magic or version bytes and shorter input
 * (GOIO_EBADMSG); later versions get a new version byte.
 */
#define GOIO_CACHE_ENVELOPE_MAGIC   0xE7
#define GOIO_CACHE_ENVELOPE_VERSION 0x01 /**< the version byte written */
#define GOIO_CACHE_ENVELOPE_HEADER  10   /**< header bytes before the value */

/** Appends the envelope of value[0..len) fresh until fresh_until_ms. */
GOIO_EXTERN int goio_cache_envelope_encode(goio_buf *out,
                                           int64_t fresh_until_ms,
                                           const void *value, size_t len);
/** Parses an envelope; *value points into `bytes` (no copy). GOIO_EBADMSG
 * for anything that is not a version-1 envelope, GOIO_EINVAL for NULLs. */
GOIO_EXTERN int goio_cache_envelope_decode(const uint8_t *bytes, size_t len,
                                           int64_t *fresh_until_ms,
                                           const uint8_t **value,
                                           size_t *value_len);

/* ---- stale-on-error wrapper (Go: WithStaleFallback) --------------------- */

/**
 * Wraps `storage` (any goio_cache) so that an expired value is kept for
 * stale_ttl_ms and served when fetching a fresh one fails.
 *
 *  - set(key, v, ttl): stores the envelope of v, fresh until now + ttl
 *    (wall clock, since storage may be shared by processes), in storage
 *    for max(ttl, stale_ttl_ms). A ttl <= 0 stores a value that is stale
 *    at once: get misses, get_stale finds it.
 *  - get: fresh values only. get_stale: fresh or stale, *stale says which.
 *    Storage errors are returned; bytes that are not an envelope are
 *    logged (bad_cache_envelope) and read as a miss.
 *  - get_or_set: a fresh hit returns (GOIO_CACHE_HIT); else one fetch per
 *    key (sharedflight) whose value is stored and returned (FETCHED /
 *    SHARED). When the fetch fails and a stale value exists, that value is
 *    returned with source GOIO_CACHE_STALE, stale_served is counted and a
 *    WARN record with code used_stale_cache, the key and the fetch's error
 *    is logged. Without a stale value the call returns the fetch's own
 *    code (GOIO_EFETCH when it returned a positive value), as every
 *    layer does, and logs it (code fetch_failed). A storage read error is
 * logged (get_from_cache_error) and treated as a miss. The caller's deadline
 * counts as a failed fetch: when it passes (while the fetch runs, while waiting
 * for another caller's fetch, or while storing) and a stale value was read,
 * that value is returned with source GOIO_CACHE_STALE (stale_served and
 * used_stale_cache with error GOIO_ETIMEDOUT), not GOIO_ETIMEDOUT. Without one,
 * or when the deadline passed before storage answered the first read, the call
 *    returns GOIO_ETIMEDOUT. A cancelled ctx returns GOIO_ECANCELED.
 *  - del and clear go to storage; stats are storage's, with this layer's
 *    hits/misses/sets/deletes, fetch counters and stale_served.
 *
 * With own_storage the wrapper frees storage when it is freed; otherwise
 * storage must outlive it. GOIO_EINVAL for NULL storage/out or
 * stale_ttl_ms <= 0, GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_cache_stale_new(goio_cache *storage, int64_t stale_ttl_ms,
                                     bool own_storage, goio_cache **out);
/**
 * goio_cache_stale_new with a wire. GOIO_CACHE_WIRE_GO_IO (go-io's
 * WithStaleFallback): values are JSON texts (set: anything that is not one
 * JSON value is GOIO_EINVAL and nothing is written; it is stored
 * compacted, as Go marshals it), the envelope is go-io's JSON one, and
 * storage keeps it for stale_ttl_ms (not the longer of the two TTLs).
 * GOIO_EINVAL also for an unknown wire.
 */
GOIO_EXTERN int goio_cache_stale_new_wire(goio_cache *storage,
                                          int64_t stale_ttl_ms,
                                          bool own_storage,
                                          goio_cache_wire wire,
                                          goio_cache **out);

/* ---- hybrid: a local layer in front of a remote one (Go: Hybrid) -------- */

/**
 * Two layers, usually a memory cache in front of a Redis cache.
 *
 *  - get: a local hit returns. A local error is logged (get_local_error)
 *    and the remote layer is asked. A remote hit (an envelope) is returned
 *    and written to the local layer for the remaining fresh time - never
 *    with a TTL <= 0: a value the local clock already sees as expired is
 *    returned but not kept locally. Remote errors are returned; remote
 *    bytes that are not an envelope are logged (bad_cache_envelope) and
 *    read as a miss.
 *  - set: local first (the plain value; a failure is logged as
 *    set_local_error), then remote with the envelope, so the TTL travels
 *    with the value; the remote result is returned.
 *  - del: both layers (local first; the first error is returned).
 *    clear: both layers. get_or_set: the generic one over get/set above.
 *    get_stale: GOIO_ENOTSUP. stats: this layer's hits, misses, sets and
 *    deletes, the local layer's entries, bytes, evictions and expirations.
 *
 * With own_layers the hybrid frees both layers when it is freed; otherwise
 * they must outlive it. GOIO_EINVAL for NULL layers/out or local == remote,
 * GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_cache_hybrid_new(goio_cache *local, goio_cache *remote,
                                      bool own_layers, goio_cache **out);
/**
 * goio_cache_hybrid_new with a wire. GOIO_CACHE_WIRE_GO_IO (go-io's
 * Hybrid): values are JSON texts (set: anything else is GOIO_EINVAL and
 * nothing is written); the local layer holds the compacted value, the
 * remote one go-io's JSON envelope. GOIO_EINVAL also for an unknown wire.
 */
GOIO_EXTERN int goio_cache_hybrid_new_wire(goio_cache *local,
                                           goio_cache *remote, bool own_layers,
                                           goio_cache_wire wire,
                                           goio_cache **out);
/**
 * For invalidation messages (another process changed the key in the
 * remote layer): drops `key` from the local layer only. GOIO_EINVAL when h
 * is not a hybrid or the key is invalid; otherwise the local layer's del
 * result.
 */
GOIO_EXTERN int goio_cache_hybrid_invalidate(goio_cache *h, goio_ctx *ctx,
                                             const char *key);
/** Drops every local entry (the local layer's clear result). */
GOIO_EXTERN int goio_cache_hybrid_invalidate_all(goio_cache *h, goio_ctx *ctx);
/**
 * Reads key from the remote layer only, unwrapped from the hybrid's
 * envelope (its wire), without touching the local layer (for wrappers
 * that must bypass it). Bytes that are not an envelope are logged
 * (bad_cache_envelope) and read as a miss. GOIO_EINVAL when h is not a
 * hybrid, for an invalid key or NULL out/hit; else the remote layer's
 * errors. Thread-safe.
 */
GOIO_EXTERN int goio_cache_hybrid_get_remote(goio_cache *h, goio_ctx *ctx,
                                             const char *key, goio_buf *out,
                                             bool *hit);
/** The local layer (NULL when h is not a hybrid). */
GOIO_EXTERN goio_cache *goio_cache_hybrid_local(goio_cache *h);
/** The remote layer (NULL when h is not a hybrid). */
GOIO_EXTERN goio_cache *goio_cache_hybrid_remote(goio_cache *h);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_CACHE_H */
