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
 * Only GET responses are stored. A HEAD request is answered from a fresh
 * stored GET response (headers, no body) and otherwise forwarded; a 200
 * to it updates the stored GET response as a 304 would when its
 * validators and Content-Length (those it has) match, and removes it
 * otherwise (RFC 9111 section 4.3.5; the caller then gets the merged
 * fields, served GOIO_HTTP_CACHE_REVALIDATED). Other methods are always
 * forwarded.
 *
 * Storing (RFC 9111 section 3). A response is stored when all hold:
 *  - its status is final (200-999) and not 206 or 304. The heuristically
 *    cacheable set of RFC 9110 section 15.1 (200, 203, 204, 300, 301,
 *    308, 404, 405, 410, 414, 501) may be stored without explicit
 *    freshness (and with public/private alone); any other final status
 *    only with explicit freshness (max-age, s-maxage, Expires), a 500
 *    with max-age=60 included (RFC 9111 section 3). With must-understand
 *    only the statuses goio understands (the heuristic set and 302, 303,
 *    307) are stored. 206 is never stored: goio does not combine ranges
 *    (but answers one range from a stored 200, see "Ranges"). A stored 5xx is
 *    never served stale when the origin fails;
 *  - neither the request nor the response has Cache-Control: no-store
 *    (must-understand overrides no-store for the statuses above);
 *  - in a shared cache (config.shared): no private directive, and for a
 *    request with Authorization the response has public, must-revalidate
 *    or s-maxage (section 3.5);
 *  - it has explicit freshness (max-age, s-maxage when shared, Expires),
 *    public, private (private cache), or a heuristically cacheable status;
 *  - it has no "Vary: *" (section 4.1: such a response never matches, so
 *    it is not kept);
 *  - it is still useful: fresh for a while, or with a validator (ETag,
 *    Last-Modified) to revalidate it, or within a stale-if-error window.
 * Hop-by-hop fields (Connection and the fields it names, Keep-Alive,
 * Proxy-Connection, TE, Transfer-Encoding, Upgrade) are not stored
 * (section 3.1). A full response to a GET that is not stored (other than
 * a 5xx, or one to a no-store request) removes the one stored for that
 * request, which it supersedes.
 *
 * Freshness (section 4.2). freshness_lifetime is s-maxage (shared cache
 * only), else max-age, else Expires - Date, else heuristic: 10% of
 * Date - Last-Modified, capped at config.heuristic_max_ms, only for the
 * heuristically cacheable statuses or a public response and only when no
 * explicit expiry is present (section 4.2.2); 0 without Last-Modified.
 * Invalid values make a response stale: a non-numeric max-age, one with
 * whitespace around '=' ("max-age =5"), an Expires that is no date ("0");
 * Expires is also read in the lenient forms caches meet in practice (any
 * case, no comma, '-' or '.' separators, a one-digit hour, a two-digit
 * year, any zone name read as GMT); the first of duplicated directives
 * counts; delta-seconds saturate at 2^31. An Age field that is not one
 * field line holding one delta-seconds (a list, a sign, a fraction, a
 * parameter) makes the response stale: its age is unknown, and a cache
 * may always revalidate (RFC 9111 would take a list's first member and
 * ignore an invalid value). current_age is the RFC's
 * (section 4.2.3): apparent_age = max(0, response_time - date_value),
 * corrected_age_value = age_value + (response_time - request_time),
 * corrected_initial_age = max of the two, current_age =
 * corrected_initial_age + (now - response_time), in milliseconds, with
 * request_time/response_time read from goio's wall clock (config.now_fn)
 * around the transfer and date_value the Date field (response_time when
 * absent or invalid). A response is fresh while current_age <
 * freshness_lifetime and it has no no-cache directive. The qualified
 * form no-cache="field, ..." (section 5.2.2.4) does not make it stale:
 * served from storage without the origin (GOIO_HTTP_CACHE_HIT, _STALE)
 * it lacks the listed fields, which only a validated or new response
 * carries. A request's no-cache="..." counts as no-cache. private="..."
 * is read as private.
 *
 * Request directives (section 5.2.1) are honoured: no-cache (and
 * "Pragma: no-cache" without Cache-Control) and max-age force
 * revalidation unless the stored response is young enough, min-fresh asks
 * for that much remaining freshness, max-stale accepts a stale response
 * without contacting the origin, no-store keeps the response out of the
 * cache, only-if-cached answers 504 (served GOIO_HTTP_CACHE_GENERATED)
 * when nothing stored may be used.
 *
 * Conditional requests. A GET or HEAD with If-None-Match or
 * If-Modified-Since is served by the cache as if it had neither (from a
 * fresh stored response, or after the cache's own revalidation or a full
 * request, whose answer is stored as usual); a 200 so obtained becomes a
 * 304 (no body, the stored fields, `served` unchanged) when the
 * condition says "not modified" (RFC 9110 section 13.2.2):
 * If-None-Match ("*" or a list, weak comparison with the ETag) and, only
 * without it, If-Modified-Since (a valid HTTP-date not earlier than
 * Last-Modified, or Date without one). Requests with If-Match,
 * If-Unmodified-Since or If-Range bypass the cache: they are
 * forwarded and their responses are not stored, so the caller sees the
 * origin's own 412/206.
 *
 * Ranges (RFC 9110 section 14). A GET with one Range field naming one
 * byte range ("bytes=first-last", "first-", "-suffix") and no
 * If-None-Match / If-Modified-Since is answered from a stored 200 that may
 * be served without the origin (fresh, or within the request's
 * max-stale): a 206 with its slice of the stored body, Content-Range
 * added and Content-Length set to the slice (served HIT or STALE, no
 * copy of the body). Otherwise - several ranges, one the stored body
 * cannot satisfy (the origin then answers 416), nothing usable stored -
 * the request is forwarded and its response not stored.
 *
 * Validation (section 4.3). A stored response that is stale (or marked
 * no-cache, or a request that asks for validation) is revalidated with
 * If-None-Match (its ETag) and If-Modified-Since (its Last-Modified,
 * verbatim). A 304 updates the stored response (section 3.2 / 4.3.4):
 * every field of the 304 replaces the stored fields of that name, except
 * those describing the stored body's bytes (Content-Length,
 * Content-Encoding, Content-Range, Content-MD5) and the hop-by-hop fields; the
 * stored Age is dropped (the 304's own Age, if any, is the new age_value);
 * request_time and response_time become the 304 exchange's. A 304 whose ETag
 * (weak comparison) or Last-Modified differs from the stored one does not
 * describe the stored response: goio repeats the request unconditionally
 * once. A 304 without validators updates the stored response (it is the
 * only one goio asked about).
 *
 * Stale responses (section 4.2.4, RFC 5861). A stale response is served
 * without contacting the origin only under a request's max-stale. When
 * the origin fails - a transport error (connection refused, reset,
 * timeout) or a 500, 502, 503 or 504 - a stale stored response is served
 * (served GOIO_HTTP_CACHE_STALE, counted, logged as used_stale_cache)
 * while its staleness is within the largest of: the response's
 * stale-if-error=N, the request's stale-if-error=N, and
 * config.stale_if_error_ms (an out-of-band allowance, default 0). Never
 * when the response has must-revalidate or no-cache, nor, in a shared
 * cache, proxy-revalidate or s-maxage: those prohibit serving stale
 * (section 4.2.4 puts them above extensions such as RFC 5861's).
 * stale-while-revalidate=N (RFC 5861): a response stale by at most N
 * seconds is served at once (GOIO_HTTP_CACHE_STALE) and revalidated in
 * the background, one revalidation per stored response (a sharedflight
 * that later callers join; the flight's outcome is stored as usual).
 * Not under the same prohibitions as stale-if-error, a response no-cache,
 * nor for a request asking for validation (no-cache, max-age,
 * min-fresh). Background revalidations run on the sharedflight group's
 * worker threads, bounded by config.timeout_ms; goio_http_cache_free
 * waits for them.
 *
 * Stale entries without a validator are kept in storage (within
 * max_age_ms) as long as a directive could still use them: the
 * stale-if-error and stale-while-revalidate windows and, for a request's
 * max-stale, config.max_stale_keep_ms.
 *
 * Vary (section 4.1). A response with Vary is stored under a key made of
 * the URL and the request's values of the listed fields (names compared
 * case-insensitively; values normalised: the comma-separated members of
 * every field line trimmed, empty ones dropped, joined with ", ", and for
 * Accept-Language, Accept-Encoding and Accept-Charset also lowercased and
 * sorted; an absent field only matches an absent field), so every
 * variant is kept side by side. The URL's key then holds a small index
 * (the Vary field names and a random generation number that is part of
 * every variant key, so invalidating the URL makes old variants
 * unreachable at once). The request's values are also stored in the entry
 * and compared on every read.
 *
 * Invalidation (section 4.4). A response with a non-error status (2xx,
 * 3xx) to an unsafe method (anything but GET, HEAD, OPTIONS, TRACE)
 * invalidates its target URL, and the URLs in its Location and
 * Content-Location when they have the same origin (scheme, host, port).
 * goio_http_cache_invalidate does the same on demand.
 *
 * Keys. Stored under config.key_prefix + the URL as libcurl's URL parser
 * normalises it (scheme and host lowercase, default port dropped, empty
 * path "/", fragment dropped). A request whose key would exceed
 * GOIO_CACHE_MAX_KEY is forwarded and not stored. Redirects are not
 * followed: a 301/302/307/308 is returned (and stored by the rules above);
 * the caller follows it, and each hop is cached on its own. Bodies are
 * stored as received: goio sends no Accept-Encoding of its own and
 * decodes nothing; libcurl's default Accept field is suppressed too, so
 * the request fields Vary is matched on are exactly those the caller
 * passed.
 *
 * Surrogate-Control (config.surrogate_name set, a shared cache acting as
 * an origin's surrogate). Directives "max-age=N[+M]" and "no-store",
 * each optionally ";device", are read from every Surrogate-Control field;
 * those naming this cache win over those without a device, those naming
 * another device are ignored, the first max-age counts. no-store: the
 * response is not stored (whatever Cache-Control says). A valid max-age
 * replaces Cache-Control and Expires for this cache - they are then for
 * the caches after it: freshness_lifetime is N (Age still counts), "+M"
 * is a stale-if-error window, and no Cache-Control directive applies
 * (no-store, private, no-cache, must-revalidate, s-maxage included). An
 * invalid max-age ("max-age =5", "max-age= 5") is ignored. Other
 * directives (content, no-store-remote) are not used. The field is
 * stored and re-read with the response, and removed from what callers
 * get.
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
 * deadlines when they all have one).
 *
 * Framing. goio decodes chunked bodies itself (libcurl's transfer
 * decoding is off: libcurl fails a transfer coding it does not know); a
 * response whose last transfer coding is not chunked is read until the
 * connection closes (RFC 9112 section 6.3) and stored as received.
 *
 * Transfers. Each transfer borrows a slot (a libcurl easy handle in its
 * own multi handle) from a pool; a slot keeps its connections, so
 * keep-alive connections are reused across requests, and at most
 * config.max_idle_handles idle slots are kept. libcurl's shared
 * connection cache is not used: it is not safe across concurrent threads
 * in libcurl 7.88 (curl issue 4915); the DNS cache and TLS sessions are
 * shared (CURLSH with locks). The multi API drives the transfer:
 * cancelling the ctx wakes curl_multi_poll at once (curl_multi_wakeup
 * from a goio_ctx_on_cancel callback), and a ctx deadline is checked on
 * every wake-up (at least every 100 ms), so a transfer ends promptly
 * either way with GOIO_ECANCELED / GOIO_ETIMEDOUT.
 *
 * ---- stored bytes -----------------------------------------------------------
 *
 * Entries are bytes in the goio_cache, so another process (a shared Redis)
 * can read them. Format version 1, integers little-endian, every string
 * followed by a NUL byte that its length does not count. Keys: K is the
 * URL's key (key_prefix + URL), or a variant key K + 0x1E + generation
 * (16 hex digits) + for each Vary'd field 0x1F name "=" value (0x1F name
 * "!" when absent); a separate body lives at its entry's key + 0x1D +
 * body id (16 hex digits).
 *
 *   response entry (at K or a variant key)
 *     0   2  magic 0xE8 0x48
 *     2   1  version 0x01
 *     3   1  kind 'R'
 *     4   2  status (uint16)
 *     6   2  flags (uint16): bit 0 = the body is stored apart; readers
 *            reject entries with other bits set
 *     8   8  request_time, ms since the Unix epoch (int64)
 *     16  8  response_time, ms since the Unix epoch (int64)
 *     24  4  URL length U, then U bytes + NUL
 *     .   4  count V of Vary'd request fields, then V times:
 *              2 name length N, N bytes + NUL (lowercase),
 *              4 value length L (0xFFFFFFFF: the field was absent),
 *              L bytes + NUL (nothing when absent)
 *     .   4  count H of response header fields, then H times:
 *              2 name length N, 4 value length L,
 *              N bytes + NUL, L bytes + NUL (as received, in order)
 *     .   8  body length B, then (bit 0 clear) B bytes, or (bit 0 set)
 *            8 body id; nothing may follow.
 *   body entry (bodies over 16 KiB, at the entry's key + 0x1D + id)
 *     0   B  the body
 *     B   8  body id (uint64), B+8 8 body length B,
 *     B+16 4 0xE8 0x48 0x01 'B' (a trailer, so the body is written where
 *            libcurl put it, without a copy)
 *   Vary index (at K when the response has Vary)
 *     0   2  magic 0xE8 0x48
 *     2   1  version 0x01
 *     3   1  kind 'V'
 *     4   8  generation (uint64)
 *     12  4  URL length U, then U bytes + NUL
 *     .   4  count V, then V times: 2 name length N, N bytes + NUL
 *              (lowercase, sorted, unique)
 *
 * Readers reject other magic, version or kind bytes, truncation, trailing
 * bytes, missing terminators, embedded NULs and a body entry whose id or
 * length is not the one its response entry names; such stored bytes are
 * logged (bad_cache_entry) and read as a miss (a response entry whose
 * body is gone is removed). A later format gets a new version byte.
 *
 * Why bodies over 16 KiB live apart: a 304 then rewrites only the small
 * response entry, so revalidating a large response costs its headers,
 * not its body, in storage writes and copies (bench/http_cache
 * revalidate_304). Small bodies stay inline: a fresh hit is one read.
 *
 * Storage TTLs. An entry is kept for min(config.max_age_ms, what is still
 * useful): until it stops being fresh, plus the stale-if-error window,
 * or - when it has a validator - the whole max age, since a stale
 * response with a validator saves a body transfer on revalidation. A
 * separate body keeps the TTL it was written with (a 304 does not rewrite
 * it), so it is never older than max_age_ms either; the index is kept
 * for max_age_ms. So, as in the Go version, nothing older than
 * max_age_ms is ever served, and the memory cache's byte bound bounds the
 * memory. Bodies replaced by a new response or removed with their URL
 * are deleted; those of variants made unreachable by an invalidation age
 * out of storage (TTL, eviction).
 *
 * Hot bodies (config.hot_body_bytes > 0). A body entry never changes (a
 * new response gets a new random body id), so a copy of one this client
 * wrote is kept in process memory next to storage: a reference-counted
 * blob per body id, at most hot_body_bytes in all (1024 slots picked by
 * the id, a newcomer replacing the occupant, a body that does not fit
 * not kept). A read still starts with the response entry from storage;
 * only when it names a body id and length the client holds (not past the
 * body entry's TTL) is the body served from memory, by reference -
 * neither the storage read nor its copy. Removing or replacing a body
 * drops it. Memory: storage's bound plus hot_body_bytes, plus blobs
 * still referenced by responses not yet freed.
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

typedef struct goio_http_cache goio_http_cache;

/** A header field. In requests: name is a token, value has no CR, LF or
 * NUL. In responses: strings owned by the response. */
typedef struct goio_http_cache_header {
    const char *name;
    const char *value;
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
     * response holds). Default 0 (off). See "Hot bodies" above. */
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
     * NAME="Surrogate/1.0"`, the response's Surrogate-Control directives aimed
     * at every surrogate or at NAME (`max-age=N;NAME`; NAME's win) decide
     * storing and freshness - see "Surrogate-Control" above - and the field is
     * left out of every response returned (it is consumed here). Copied. */
    const char *surrogate_name;
    /** The wall clock for freshness (tests, simulations); NULL (default):
     * goio_now_wall_ms. Must be thread-safe. */
    goio_http_cache_now_fn now_fn;
    void *now_data;
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

typedef struct goio_http_cache_request {
    /** "GET" (NULL means GET), "HEAD", or any other method (forwarded). */
    const char *method;
    /** An absolute http:// or https:// URL. */
    const char *url;
    /** Extra request header fields (may be NULL when header_count is 0). */
    const goio_http_cache_header *headers;
    size_t header_count;
    /** Request body for methods that send one (not for GET/HEAD). */
    const void *body;
    size_t body_len;
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
    int status;
    goio_http_cache_served served;
    /** Another caller's origin request produced it (a shared flight). */
    bool shared;
    /** Header fields in the order received, hop-by-hop fields left out
     * (after a 304: the merged set). Responses served from storage carry
     * an Age field with the current age in seconds (RFC 9111 section
     * 5.1). */
    const goio_http_cache_header *headers;
    size_t header_count;
    /** The body ("" with length 0 for HEAD, 204, 304, ...). Never NULL. */
    const uint8_t *body;
    size_t body_len;
    /** For GOIO_HTTP_CACHE_STALE served because the origin failed: its
     * error (a GOIO_E* code) or its 5xx status; 0 otherwise. */
    int origin_error;
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
