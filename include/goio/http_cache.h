/* SPDX-License-Identifier: MIT */
/** @file
 * goio http_cache: a caching HTTP client on libcurl that follows RFC 9111
 * (HTTP Caching), storing responses in any goio_cache.
 *
 * The Go library's cache.HTTP(maxCacheSizeMiB, maxCacheAge) gives Go's
 * httpcache transport a byte-bounded LRU with a max age; here the whole
 * caching client is goio's: goio_http_cache_new_memory(mib, max_age_ms)
 * is that call, goio_http_cache_new takes any goio_cache (a Redis cache,
 * a hybrid) and the other settings.
 *
 * ---- what is cached, and when it is reused ---------------------------------
 *
 * The rules, section by section of RFC 9111, are in docs/http_cache.md
 * ("Caching rules"); in short:
 *  - Only GET responses are stored. HEAD is answered from a fresh stored
 *    GET response; other methods are forwarded, and a 2xx/3xx response to
 *    an unsafe method invalidates its URL (and a same-origin Location or
 *    Content-Location).
 *  - A response is stored under the rules of section 3: a final status
 *    other than 206 and 304, no no-store, no private or Authorization
 *    without public/must-revalidate/s-maxage in a shared cache
 *    (config.shared), no "Vary: *", and explicit freshness, public,
 *    private or a heuristically cacheable status. Freshness and age are
 *    section 4.2's, heuristic freshness capped at config.heuristic_max_ms.
 *  - Request directives no-cache, max-age, min-fresh, max-stale, no-store
 *    and only-if-cached (a 504, served GOIO_HTTP_CACHE_GENERATED) are
 *    honoured.
 *  - If-None-Match / If-Modified-Since are answered by the cache (a 304
 *    when not modified); If-Match, If-Unmodified-Since and If-Range bypass
 *    it (forwarded, not stored). A GET for one byte range is answered with
 *    a 206 sliced from a usable stored 200; other Range requests are
 *    forwarded. A qualified no-cache="field" response is reused without
 *    the listed fields until it is validated.
 *  - A stale response is revalidated with its ETag / Last-Modified. It is
 *    served stale (GOIO_HTTP_CACHE_STALE) under a request's max-stale;
 *    within stale-while-revalidate (at once, then one background
 *    revalidation per stored response); and when the origin fails
 *    (transport error, 500, 502, 503, 504) within the largest of the
 *    response's and the request's stale-if-error and
 *    config.stale_if_error_ms. Never against must-revalidate or no-cache
 *    (nor proxy-revalidate or s-maxage when shared); a stored 5xx is never
 *    served stale.
 *  - A response with Vary is stored per variant. Redirects are not
 *    followed: each hop is returned and cached on its own. Bodies are
 *    stored as received: no Accept-Encoding is added, nothing is decoded.
 *  - Nothing older than config.max_age_ms is ever served.
 *  - With config.surrogate_name, Surrogate-Control directives (max-age,
 *    no-store) aimed at every surrogate or at this one decide storing and
 *    freshness here, and the field is removed from what callers get.
 *  - With config.hot_body_bytes, bodies this client stored are also kept
 *    in memory, so a hit reads only the small entry from storage.
 *
 * Keys: config.key_prefix + the URL as libcurl normalises it; a request
 * whose key would exceed GOIO_CACHE_MAX_KEY is forwarded and not stored.
 * Entries are bytes in a versioned format (docs/http_cache.md, "Stored
 * formats"), so another process sharing the storage (Redis) can read
 * them; stored bytes that do not parse are logged (bad_cache_entry) and
 * read as a miss.
 *
 * ---- concurrency ----------------------------------------------------------
 *
 * A client is safe for concurrent use by any number of threads.
 * Concurrent requests that miss (or must revalidate) the same stored
 * response share one origin request (a goio sharedflight): one caller
 * transfers, stores and hands the response to the others
 * (response->shared). Callers sharing a flight share its outcome; a
 * follower whose Vary'd fields differ from the leader's response does its
 * own request. Requests that ask for validation (no-cache, max-age,
 * min-fresh) share flights only among themselves, and no-store requests
 * never share one. Each caller may give up on its own ctx; the transfer
 * goes on while others still wait for it, so the caller whose thread
 * performs it returns (GOIO_ECANCELED / GOIO_ETIMEDOUT) only when it ends
 * (bounded by config.timeout_ms, and by the latest of the waiters'
 * deadlines when they all have one). A cancelled ctx or a passed deadline
 * ends a transfer promptly. Background revalidations run on worker
 * threads, bounded by config.timeout_ms.
 *
 * ---- errors, logging ------------------------------------------------------
 *
 * A request returns 0 and a response for every HTTP status the origin
 * sends (a 404, a 503 when no stale response may be served). It returns
 * a negative code when no response exists: GOIO_EINVAL (bad arguments, a
 * URL libcurl cannot parse or that is not http/https), GOIO_ENOMEM,
 * GOIO_ECANCELED / GOIO_ETIMEDOUT (ctx, or config.timeout_ms), and the
 * transport's errors: GOIO_ECONNREFUSED, GOIO_EHOSTUNREACH (unreachable
 * or unresolvable host), GOIO_ECONNRESET (connection reset, or closed
 * with no response), GOIO_ETRUNCATED (body shorter than announced),
 * GOIO_ELIMIT (body above config.max_body_bytes), GOIO_EPROTO (malformed
 * response, TLS failure), GOIO_EIO (anything else libcurl reports).
 *
 * Storage errors never fail a request: a read error is logged
 * (get_from_cache_error) and treated as a miss, a write error is logged
 * (set_cache_error) and the response still returned. Records have
 * category "http_cache" and one of the codes get_from_cache_error,
 * set_cache_error, bad_cache_entry, used_stale_cache (WARN, key = URL,
 * error = the origin's error code, or GOIO_EFETCH for a 5xx) and
 * origin_error (INFO, with libcurl's message).
 */
#ifndef GOIO_HTTP_CACHE_H
#define GOIO_HTTP_CACHE_H

#include <goio/cache.h>
#include <goio/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A caching HTTP client (goio_http_cache_new); safe for concurrent use. */
typedef struct goio_http_cache goio_http_cache;

/** A header field. In requests: name is a token, value has no CR, LF or
 * NUL. In responses: strings owned by the response. */
typedef struct goio_http_cache_header {
    const char *name;  /**< field name, matched case-insensitively */
    const char *value; /**< field value */
} goio_http_cache_header;

/** How a response was produced. */
typedef enum goio_http_cache_served {
    /** From the origin (a miss, a forwarded request, or a stored response
     * replaced by a full 200). */
    GOIO_HTTP_CACHE_NETWORK = 0,
    /** A fresh stored response; the origin was not contacted. */
    GOIO_HTTP_CACHE_HIT = 1,
    /** A stored response the origin confirmed with a 304. */
    GOIO_HTTP_CACHE_REVALIDATED = 2,
    /** A stale stored response: the origin failed (stale-if-error) or the
     * request's max-stale allowed it. */
    GOIO_HTTP_CACHE_STALE = 3,
    /** Made by the cache itself: the 504 of only-if-cached. */
    GOIO_HTTP_CACHE_GENERATED = 4
} goio_http_cache_served;

/** "network", "hit", "revalidated", "stale", "generated" ("unknown"). */
GOIO_EXTERN const char *goio_http_cache_served_name(goio_http_cache_served s);

/* ---- configuration ------------------------------------------------------- */

/** The wall clock a client reads (ms since the Unix epoch). */
typedef int64_t (*goio_http_cache_now_fn)(void *data);

/** Settings of a client; goio_http_cache_config_init fills the
 * defaults. */
typedef struct goio_http_cache_config {
    /** Where responses are stored; NULL (default): a new goio memory cache
     * bounded by max_size_mib, owned by the client. */
    goio_cache *storage;
    /** Whether goio_http_cache_free frees `storage` (default false). */
    bool own_storage;
    /** The default memory cache's bound in MiB (Go: maxCacheSizeMiB).
     * Default 64; ignored when storage is given; 0 is GOIO_EINVAL then. */
    size_t max_size_mib;
    /** No entry is kept (so none served) longer than this after it was
     * stored (Go: maxCacheAge). Default 3600000 (1 h); must be > 0. */
    int64_t max_age_ms;
    /** Shared-cache semantics (s-maxage, proxy-revalidate, private and
     * Authorization rules); default false: a private cache, as Go's
     * httpcache. */
    bool shared;
    /** Cap on heuristic freshness (10% of the Last-Modified age). Default
     * 86400000 (24 h); 0 disables heuristic freshness. */
    int64_t heuristic_max_ms;
    /** Stale-if-error allowance for every response (an out-of-band
     * contract, RFC 9111 section 4.2.4), on top of the responses' own
     * stale-if-error. Default 0. */
    int64_t stale_if_error_ms;
    /** How long a stale response without a validator stays stored so that
     * a request's max-stale can still use it (entries with a validator
     * stay max_age_ms anyway; stale-if-error and stale-while-revalidate
     * windows are kept too). Default 60000; 0: only those windows. */
    int64_t max_stale_keep_ms;
    /** TCP/TLS connect timeout. Default 10000; 0: libcurl's (300 s). */
    int64_t connect_timeout_ms;
    /** Whole-transfer timeout. Default 30000; 0: none (the ctx still
     * applies). */
    int64_t timeout_ms;
    /** Largest response body accepted (GOIO_ELIMIT beyond). Default 64 MiB;
     * must be > 0. */
    size_t max_body_bytes;
    /** Hot bodies: bodies stored apart (over 16 KiB) that this client
     * stored are also kept in process memory, up to this many bytes in
     * all, so a hit on one reads only its small response entry from
     * storage and serves the body without a copy (a reference the
     * response holds). Default 0 (off). docs/http_cache.md, "Hot bodies". */
    size_t hot_body_bytes;
    /** Idle transfer slots (easy handles with their connections) kept for
     * reuse. Default 16. */
    unsigned max_idle_handles;
    /** Prefix of every storage key, so clients with different settings can
     * share one storage. Default "http_cache:" (copied). */
    const char *key_prefix;
    /** This cache's device token for Surrogate-Control (W3C Edge
     * Architecture Specification 1.0; a token, only with shared); NULL
     * (default): Surrogate-Control is an ordinary field. When set, each
     * request to an origin carries `Surrogate-Capability:
     * NAME="Surrogate/1.0"`, the response's Surrogate-Control directives
     * aimed at every surrogate or at NAME (`max-age=N;NAME`; NAME's win)
     * decide storing and freshness (docs/http_cache.md,
     * "Surrogate-Control"), and the field is left out of every response
     * returned (it is consumed here). Copied. */
    const char *surrogate_name;
    /** The wall clock for freshness (tests, simulations); NULL (default):
     * goio_now_wall_ms. Must be thread-safe. */
    goio_http_cache_now_fn now_fn;
    void *now_data; /**< passed to now_fn */
} goio_http_cache_config;

/** Fills the defaults above (NULL is a no-op). */
GOIO_EXTERN void goio_http_cache_config_init(goio_http_cache_config *cfg);

/**
 * A new client (cfg NULL: the defaults). Initialises libcurl
 * (curl_global_init, reference counted and thread-safe in libcurl >=
 * 7.84). GOIO_EINVAL for a bad config or NULL out, GOIO_ENOMEM, GOIO_EIO
 * when libcurl cannot be initialised. On failure an owned storage is not
 * freed (the caller still owns it). Free with goio_http_cache_free.
 */
GOIO_EXTERN int goio_http_cache_new(const goio_http_cache_config *cfg,
                                    goio_http_cache **out);

/**
 * The Go library's cache.HTTP(maxCacheSizeMiB, maxCacheAge): a client with
 * the defaults over a memory cache of max_size_mib MiB whose entries live
 * at most max_age_ms. GOIO_EINVAL for 0 / <= 0.
 */
GOIO_EXTERN int goio_http_cache_new_memory(size_t max_size_mib,
                                           int64_t max_age_ms,
                                           goio_http_cache **out);

/**
 * Frees the client, its transfer slots and (when owned) its storage,
 * after waiting for background revalidations (each bounded by
 * config.timeout_ms). No request may be in progress. Responses already returned
 * stay valid. NULL is a no-op.
 */
GOIO_EXTERN void goio_http_cache_free(goio_http_cache *c);

/** The storage (borrowed; for stats, clear, sharing). NULL for NULL. */
GOIO_EXTERN goio_cache *goio_http_cache_storage(goio_http_cache *c);

/* ---- requests ------------------------------------------------------------ */

/**
 * Receives an interim (1xx) response the origin sent ahead of its final
 * one (103 Early Hints, 102 Processing, a 100 Continue libcurl asked
 * for): its status (100..199, never 101) and header fields (valid only
 * during the call). Called on the thread of the goio_http_cache_do call,
 * before it returns; it must not call back into the same request.
 */
typedef void (*goio_http_cache_interim_fn)(
    int status, const goio_http_cache_header *headers, size_t header_count,
    void *data);

/** A request for goio_http_cache_do; the caller owns every pointer. */
typedef struct goio_http_cache_request {
    /** "GET" (NULL means GET), "HEAD", or any other method (forwarded). */
    const char *method;
    /** An absolute http:// or https:// URL. */
    const char *url;
    /** Extra request header fields (may be NULL when header_count is 0). */
    const goio_http_cache_header *headers;
    size_t header_count; /**< entries in headers */
    /** Request body for methods that send one (not for GET/HEAD). */
    const void *body;
    size_t body_len; /**< bytes of body */
    /** Interim responses of the origin requests this call performs (NULL:
     * dropped). Not called when the answer comes from storage, nor when
     * the call joins another caller's origin request (a shared flight) -
     * only the caller whose thread performs it hears them. Interim
     * responses are never stored. */
    goio_http_cache_interim_fn on_interim;
    void *interim_data; /**< passed to on_interim */
} goio_http_cache_request;

/**
 * A response. Every field is read-only and stays valid until
 * goio_http_cache_response_free, also after the client is freed. Safe to
 * read from any thread.
 */
typedef struct goio_http_cache_response {
    int status;                    /**< the HTTP status */
    goio_http_cache_served served; /**< how it was produced */
    /** Another caller's origin request produced it (a shared flight). */
    bool shared;
    /** Header fields in the order received, hop-by-hop fields left out
     * (after a 304: the merged set). Responses served from storage carry
     * an Age field with the current age in seconds (RFC 9111 section
     * 5.1). */
    const goio_http_cache_header *headers;
    size_t header_count; /**< entries in headers */
    /** The body ("" with length 0 for HEAD, 204, 304, ...). Never NULL. */
    const uint8_t *body;
    size_t body_len; /**< bytes of body */
    /** For GOIO_HTTP_CACHE_STALE served because the origin failed: its
     * error (a GOIO_E* code), else 0. */
    int origin_error;
    /** The same case: the origin's 5xx status, else 0. */
    int origin_status;
    /** The origin's reason phrase ("OK"; "" when it sent none) for a
     * response served GOIO_HTTP_CACHE_NETWORK; NULL for one from storage
     * (entries do not keep it: use the status's standard text). */
    const char *reason;
} goio_http_cache_response;

/**
 * GET url with extra request headers (headers may be NULL when
 * header_count is 0). See the header comment for the caching rules and
 * the errors. On success *out is a response to free with
 * goio_http_cache_response_free; on error *out is NULL. ctx (may be NULL)
 * bounds the wait: a cancelled ctx or a passed deadline ends this call
 * with GOIO_ECANCELED / GOIO_ETIMEDOUT (a transfer other callers still
 * wait for goes on for them; when this call's thread is the one
 * performing it, the call returns when it ends - see "concurrency").
 */
GOIO_EXTERN int goio_http_cache_get(goio_http_cache *c, goio_ctx *ctx,
                                    const char *url,
                                    const goio_http_cache_header *headers,
                                    size_t header_count,
                                    goio_http_cache_response **out);

/** Any method: GET as goio_http_cache_get, HEAD from stored GET responses,
 * others forwarded, unsafe ones invalidating (see above). */
GOIO_EXTERN int goio_http_cache_do(goio_http_cache *c, goio_ctx *ctx,
                                   const goio_http_cache_request *req,
                                   goio_http_cache_response **out);

/**
 * The first value of a response header (name matched case-insensitively),
 * NULL when absent or for NULL arguments.
 */
GOIO_EXTERN const char *
goio_http_cache_response_get_header(const goio_http_cache_response *r,
                                    const char *name);

/** Frees a response; NULL is a no-op. */
GOIO_EXTERN void goio_http_cache_response_free(goio_http_cache_response *r);

/**
 * Drops what is stored for url (every variant). 0 also when nothing was
 * stored; GOIO_EINVAL for a bad URL; the storage's error otherwise. ctx
 * (may be NULL) bounds the storage calls.
 */
GOIO_EXTERN int goio_http_cache_invalidate(goio_http_cache *c, goio_ctx *ctx,
                                           const char *url);

/* ---- stats --------------------------------------------------------------- */

/** Counters since goio_http_cache_new (goio_http_cache_stats_get). */
typedef struct goio_http_cache_stats {
    uint64_t requests;        /**< calls that reached the client */
    uint64_t hits;            /**< served fresh from storage */
    uint64_t revalidated;     /**< served after a 304 */
    uint64_t stale_served;    /**< served stale (origin failed, max-stale) */
    uint64_t origin_requests; /**< requests sent to origins */
    uint64_t stores;          /**< entries written to storage */
    uint64_t shared;          /**< calls answered by another's flight */
    uint64_t invalidations;   /**< URLs invalidated */
    uint64_t background;      /**< stale-while-revalidate revalidations */
    uint64_t errors;          /**< calls that returned an error */
} goio_http_cache_stats;

/** A snapshot of the counters (each read atomically). GOIO_EINVAL for
 * NULLs. */
GOIO_EXTERN int goio_http_cache_stats_get(goio_http_cache *c,
                                          goio_http_cache_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_HTTP_CACHE_H */
