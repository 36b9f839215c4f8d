/* SPDX-License-Identifier: MIT */
/** @file
 * redis: goio's cache interface over Redis (hiredis 0.14), with a bounded
 * connection pool, pipelined multi-key calls, Redis Cluster and TLS.
 *
 * goio_redis_cache() turns a handle into a goio_cache (goio/cache.h). Keys
 * are non-empty strings of at most GOIO_CACHE_MAX_KEY bytes, sent as
 * `<namespace>:<key>`; values are binary-safe; TTLs are ms, capped at 12 h.
 * Errors: GOIO_EINVAL, GOIO_ENOMEM, GOIO_EPROTO (error reply), GOIO_EACCES
 * (login refused, NOPERM, certificate), GOIO_ECONNREFUSED/EHOSTUNREACH/
 * ECONNRESET/EIO (network), GOIO_ETIMEDOUT/ECANCELED (timeouts, ctx),
 * GOIO_EBUSY (pool exhausted, no wait). Every failure is logged (category
 * "redis"). Commands are never retried after a timeout or a protocol
 * violation (GOIO_EPROTO). Multiplexed
 * connections (mux_conns), pool, reconnect
 * backoff, cluster, ctx and TLS behaviour: docs/redis.md.
 * Thread-safety: a handle is safe for concurrent use by any number of threads.
 */
#ifndef GOIO_REDIS_H
#define GOIO_REDIS_H

#include <goio/cache.h>
#include <goio/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A Redis (or Redis Cluster) client: per node, a few multiplexed
 * connections every thread shares (single-key calls) and a connection pool
 * (the rest); made by goio_redis_new; safe for concurrent use. */
typedef struct goio_redis goio_redis;

/** Called after each timed step with a KPI name ("redis_command_<cmd>",
 * "redis_get_connection", "redis_close_connection") and its start and end
 * (goio_now_mono_ns). Must be thread-safe, quick, and not call the handle. */
typedef void (*goio_redis_time_tracker_fn)(const char *kpi, int64_t start_ns,
                                           int64_t end_ns, void *data);

/** The longest TTL goio_redis stores (12 h); longer ones are capped. */
#define GOIO_REDIS_MAX_TTL_MS (12LL * 60 * 60 * 1000)

/** Settings of a handle; goio_redis_config_init fills the defaults, the
 * caller keeps the struct (goio_redis_new copies what it needs). */
typedef struct goio_redis_config {
    /** "host:port" ("[v6addr]:port" for IPv6) or a unix socket path (starts
     * with '/' or '.'). Required. In cluster mode: any node (the seed). */
    const char *endpoint;
    bool cluster;              /**< Redis Cluster mode; default false */
    const char *key_namespace; /**< prefix `<ns>:`; NULL or "" = none */
    /** ACL user (Redis 6+): `AUTH <username> <password>` on connect; NULL
     * or "" = `AUTH <password>` (the default user), or no AUTH without a
     * password. */
    const char *username;
    const char *password; /**< AUTH on connect; NULL = none */
    int database;         /**< SELECT on connect; default 0 */

    goio_redis_time_tracker_fn time_tracker; /**< NULL = none */
    void *time_tracker_data;                 /**< passed to time_tracker */

    int max_idle;   /**< idle connections kept per node; default 10 */
    int max_active; /**< connections per node, 0 = unbounded; default 20 */
    int64_t connect_timeout_ms; /**< default 1000; <= 0 = none */
    int64_t read_timeout_ms;    /**< default 200; <= 0 = none */
    int64_t write_timeout_ms;   /**< default 200; <= 0 = none */
    /** Wait for a free connection (ctx may cut it): default 1000; 0 = none
     * (GOIO_EBUSY); < 0 = as long as the ctx allows. */
    int64_t wait_timeout_ms;
    /** PING a connection idle longer than this before reusing it; default
     * 30000; < 0 = never. */
    int64_t test_on_borrow_ms;
    /** Close connections idle longer than this; default 180000; <= 0 =
     * never. */
    int64_t idle_timeout_ms;

    /** Cluster: tries per command across redirects and retries (default
     * 5) and the first retry's backoff, doubled each time (default 10). */
    int cluster_max_attempts;
    int64_t cluster_retry_backoff_ms; /**< see cluster_max_attempts */

    /**
     * TLS for every connection. CA: tls_ca_file/dir (both NULL = system
     * store); name checked: tls_server_name (NULL = endpoint host, also SNI).
     */
    bool tls;                    /**< default false */
    const char *tls_ca_file;     /**< NULL = none */
    const char *tls_ca_dir;      /**< NULL = none (hashed dir, c_rehash) */
    const char *tls_cert_file;   /**< client certificate (mutual TLS), PEM */
    const char *tls_key_file;    /**< its key, PEM; required with the cert */
    const char *tls_server_name; /**< NULL = endpoint host */
    bool tls_skip_verify;        /**< no certificate checks at all (tests) */
    bool tls_skip_hostname;      /**< chain checked, name not */
    int tls_min_version;         /**< 12 = TLS 1.2 (default, also 0), 13 */

    /** Set by goio_redis_config_from_url: the strings it made, released by
     * goio_redis_config_deinit. Not for the caller. */
    void *url_storage;

    /** The cache interface's wire (goio/cache.h): GOIO_CACHE_WIRE_GOIO
     * (default: TTLs in ms) or GOIO_CACHE_WIRE_GO_IO (go-io's: SET ... EX
     * whole seconds, at least 1, at most 12 h; typed values as JSON,
     * goio_type_bytes raw). goio_redis_set/set_opt are not affected. */
    goio_cache_wire wire;

    /** Multiplexed connections per node (default 2, at most
     * GOIO_REDIS_MAX_MUX_CONNS): the single-key calls (get, set, set_opt,
     * del, exists, incr, publish, the cache interface) of every thread share
     * them, each connection writing whatever is queued in one write and
     * matching replies in order. 0 = pooled mode: each call borrows a pooled
     * connection for its round trip. Multi-key calls, goio_cache_clear and
     * ASK redirects always use the pool. URL option `mux_conns`.
     * docs/redis.md. */
    int mux_conns;

    /** Async callbacks (goio_redis_get_async, ...) are not called on the
     * handle's async thread but queued until the caller runs them with
     * goio_redis_async_dispatch, e.g. on its own event loop when
     * goio_redis_async_fd turns readable. Default false. */
    bool async_dispatch;

    /** Most bytes one reply may cost, on multiplexed and pooled
     * connections alike (default and 0: GOIO_REDIS_DEFAULT_MAX_REPLY_BYTES):
     * its bytes received and not yet parsed plus the reply objects built
     * for it (each object's header, string and element pointers). A reply
     * that would cost more, whatever its declared size, is a protocol
     * error: the connection is replaced and the commands on it fail with
     * GOIO_EPROTO. */
    size_t max_reply_bytes;
} goio_redis_config;

/** Default of goio_redis_config.max_reply_bytes: Redis' own largest bulk
 * string (proto-max-bulk-len, 512 MiB) plus 1 MiB of reply overhead. */
#define GOIO_REDIS_DEFAULT_MAX_REPLY_BYTES ((size_t)513 << 20)

/** Upper bound of goio_redis_config.mux_conns. */
#define GOIO_REDIS_MAX_MUX_CONNS 64

/** Fills *cfg with the defaults above (endpoint NULL). */
GOIO_EXTERN void goio_redis_config_init(goio_redis_config *cfg);

/**
 * Sets cfg's connection settings from a redis://, rediss:// (TLS) or unix://
 * URL, as go-redis' ParseURL reads it (user, password, host, port, db and
 * the query options listed in docs/redis.md). cfg must be initialized with
 * goio_redis_config_init; fields the URL does not name are kept; on error cfg
 * is unchanged. The strings cfg then points at belong to cfg until
 * goio_redis_config_deinit. GOIO_EINVAL (a "redis_bad_url" WARN record names
 * the bad part, never the password), GOIO_ENOMEM. Not thread-safe on one cfg.
 */
GOIO_EXTERN int goio_redis_config_from_url(goio_redis_config *cfg,
                                           const char *url);
/** Releases what goio_redis_config_from_url allocated (the strings cfg
 * points at become invalid: make the handle first). NULL is a no-op. */
GOIO_EXTERN void goio_redis_config_deinit(goio_redis_config *cfg);

/** Creates a handle; copies what it needs from cfg. Does no I/O (a server
 * that is down is not an error). GOIO_EINVAL for NULLs or a bad config
 * (endpoint, namespace with braces, negative sizes, cluster with database
 * != 0 or a unix socket), GOIO_ENOMEM. */
GOIO_EXTERN int goio_redis_new(const goio_redis_config *cfg, goio_redis **out);
/** Closes every connection and frees the handle (the same as
 * goio_cache_free(goio_redis_cache(r))). No blocking call may be in
 * progress; pending async commands get their callbacks with GOIO_ECLOSED
 * before it returns. Not from an async callback: refused there, with an
 * ERROR record `redis_free_from_callback`, and nothing is freed.
 * NULL is a no-op. */
GOIO_EXTERN void goio_redis_free(goio_redis *r);

/** The handle as a goio_cache (same lifetime; free only one). clear needs a
 * namespace (SCAN + UNLINK; else GOIO_ENOTSUP); get_stale is GOIO_ENOTSUP. */
GOIO_EXTERN goio_cache *goio_redis_cache(goio_redis *r);
/** The handle behind a cache made by goio_redis_cache, or NULL when c is
 * another kind of cache (or NULL). */
GOIO_EXTERN goio_redis *goio_redis_from_cache(goio_cache *c);

/* ---- single-key calls (ctx may be NULL) ---------------------------------
 */

/** GET: copies the value into *out (replacing its contents), sets *hit. */
GOIO_EXTERN int goio_redis_get(goio_redis *r, goio_ctx *ctx, const char *key,
                               goio_buf *out, bool *hit);
/** SET with a TTL (capped at 12 h; <= 0 deletes the key). */
GOIO_EXTERN int goio_redis_set(goio_redis *r, goio_ctx *ctx, const char *key,
                               const void *value, size_t len, int64_t ttl_ms);

/** Options of goio_redis_set_opt; goio_redis_set_config_init fills the
 * defaults. */
typedef struct goio_redis_set_config {
    int64_t ttl_ms;     /**< > 0: expire (capped at 12 h); <= 0: no expiry */
    bool if_not_exists; /**< SET NX */
} goio_redis_set_config;

/** Fills the defaults: no expiry, unconditional (NULL is a no-op). */
GOIO_EXTERN void goio_redis_set_config_init(goio_redis_set_config *cfg);

/** SET with options (Go's SetOpt); here ttl_ms <= 0 means no expiry.
 * *was_set (may be NULL): false when if_not_exists found the key. */
GOIO_EXTERN int goio_redis_set_opt(goio_redis *r, goio_ctx *ctx,
                                   const char *key, const void *value,
                                   size_t len,
                                   const goio_redis_set_config *opts,
                                   bool *was_set);
/** EXISTS: *exists (required) says whether the key is there. */
GOIO_EXTERN int goio_redis_exists(goio_redis *r, goio_ctx *ctx, const char *key,
                                  bool *exists);
/** DEL; *deleted (may be NULL) says whether the key existed. */
GOIO_EXTERN int goio_redis_del(goio_redis *r, goio_ctx *ctx, const char *key,
                               bool *deleted);
/** INCR: *value (may be NULL) gets the new value. A missing key counts from
 * 0; a value that is not an integer is GOIO_EPROTO. */
GOIO_EXTERN int goio_redis_incr(goio_redis *r, goio_ctx *ctx, const char *key,
                                int64_t *value);
/** PUBLISH on the namespaced channel; *receivers (may be NULL) gets how many
 * subscribers received it (of the node it went to, in cluster mode). */
GOIO_EXTERN int goio_redis_publish(goio_redis *r, goio_ctx *ctx,
                                   const char *channel, const void *msg,
                                   size_t len, int64_t *receivers);

/* ---- async calls ----------------------------------------------------------
 */

/** Completion of goio_redis_get_async: status 0 or a GOIO_E* code (as
 * goio_redis_get's); value[0..len) is valid only during the call (NULL, 0
 * on a miss or an error); hit says whether the key was there. */
typedef void (*goio_redis_get_cb)(int status, const void *value, size_t len,
                                  bool hit, void *data);
/** Completion of goio_redis_set_async: status 0 or a GOIO_E* code. */
typedef void (*goio_redis_set_cb)(int status, void *data);
/** Completion of goio_redis_del_async: deleted says whether the key
 * existed (false on error). */
typedef void (*goio_redis_del_cb)(int status, bool deleted, void *data);
/** Completion of goio_redis_exists_async (exists false on error). */
typedef void (*goio_redis_exists_cb)(int status, bool exists, void *data);
/** Completion of goio_redis_incr_async: value is the new value (0 on
 * error). */
typedef void (*goio_redis_incr_cb)(int status, int64_t value, void *data);

/**
 * GET without blocking: queues the command and returns; cb(status, ...,
 * data) is called exactly once when 0 is returned, never when an error is.
 * All async calls of a handle run on one goio thread per handle (started
 * by the first async call) over the multiplexed connections, also when
 * mux_conns is 0. Callbacks run on that thread, one at a time, never inside
 * the call that queued them: keep them short (while one runs, no async
 * command of the handle progresses). With async_dispatch they run in
 * goio_redis_async_dispatch instead, on its caller's thread. A callback may
 * queue async commands; a blocking call in a callback works (on a pooled
 * connection) but stalls the others. ctx (a reference is taken; may be NULL)
 * bounds the command: when it ends first, cb gets GOIO_ETIMEDOUT /
 * GOIO_ECANCELED soon after, even if no reply ever comes. goio_redis_free gives
 * pending commands GOIO_ECLOSED before it returns (a callback must not free the
 * handle). Cluster redirects and retries as for goio_redis_get. Returns 0
 * (queued), GOIO_EINVAL (NULL handle or cb, bad key), GOIO_ENOMEM, GOIO_ECLOSED
 * (the handle is being freed), GOIO_EIO (the thread could not start).
 * docs/redis.md.
 */
GOIO_EXTERN int goio_redis_get_async(goio_redis *r, goio_ctx *ctx,
                                     const char *key, goio_redis_get_cb cb,
                                     void *data);
/** SET with a TTL without blocking (a TTL <= 0 deletes the key, as
 * goio_redis_set); value is copied before the call returns. Otherwise as
 * goio_redis_get_async. */
GOIO_EXTERN int goio_redis_set_async(goio_redis *r, goio_ctx *ctx,
                                     const char *key, const void *value,
                                     size_t len, int64_t ttl_ms,
                                     goio_redis_set_cb cb, void *data);
/** DEL without blocking; as goio_redis_get_async. */
GOIO_EXTERN int goio_redis_del_async(goio_redis *r, goio_ctx *ctx,
                                     const char *key, goio_redis_del_cb cb,
                                     void *data);
/** EXISTS without blocking; as goio_redis_get_async. */
GOIO_EXTERN int goio_redis_exists_async(goio_redis *r, goio_ctx *ctx,
                                        const char *key,
                                        goio_redis_exists_cb cb, void *data);
/** INCR without blocking (never retried); as goio_redis_get_async. */
GOIO_EXTERN int goio_redis_incr_async(goio_redis *r, goio_ctx *ctx,
                                      const char *key, goio_redis_incr_cb cb,
                                      void *data);

/** With goio_redis_config.async_dispatch: an eventfd readable exactly while
 * async callbacks are queued (level-triggered): poll it (or watch it with
 * uv_poll_start), then call goio_redis_async_dispatch. Owned by the handle.
 * GOIO_EINVAL for NULLs or without async_dispatch. */
GOIO_EXTERN int goio_redis_async_fd(goio_redis *r, int *fd);
/** With goio_redis_config.async_dispatch: runs the queued async callbacks
 * on the calling thread (any thread; callbacks it runs may queue new
 * commands) and sets *n (may be NULL) to how many. Never blocks.
 * goio_redis_free runs what is still queued on its own thread. GOIO_EINVAL
 * for NULL or without async_dispatch. */
GOIO_EXTERN int goio_redis_async_dispatch(goio_redis *r, size_t *n);

/* Multi-key calls, pipelined: one round trip per node. n == 0 is a no-op;
 * on error the outputs are unspecified. */

/** values[i] (caller-initialized buffers) and hits[i] for keys[i]. */
GOIO_EXTERN int goio_redis_multi_get(goio_redis *r, goio_ctx *ctx,
                                     const char *const *keys, size_t n,
                                     goio_buf *values, bool *hits);
/** SET keys[i] = values[i][0..lens[i]) with one TTL (as goio_redis_set). */
GOIO_EXTERN int goio_redis_multi_set(goio_redis *r, goio_ctx *ctx,
                                     const char *const *keys,
                                     const void *const *values,
                                     const size_t *lens, size_t n,
                                     int64_t ttl_ms);

/* ---- introspection ------------------------------------------------------- */

/** The Redis Cluster hash slot (0..16383) of a raw key as sent to Redis
 * (namespace included), honouring {hash tags}. */
GOIO_EXTERN unsigned goio_redis_key_slot(const char *key, size_t len);

/** Counters since goio_redis_new (goio_redis_stats_get); the last three
 * are gauges. docs/operations.md says what to watch. */
typedef struct goio_redis_stats {
    uint64_t connects;       /**< connections opened */
    uint64_t connect_errors; /**< failed connects (AUTH/SELECT included) */
    uint64_t closed_broken;  /**< closed after an error or a dead peer */
    uint64_t closed_idle;    /**< closed after idle_timeout_ms */
    uint64_t closed_excess;  /**< closed because max_idle were idle */
    uint64_t pings;          /**< test-on-borrow PINGs */
    uint64_t waits;          /**< callers that had to wait for a connection */
    uint64_t wait_timeouts;  /**< ... and gave up */
    uint64_t retries;        /**< commands retried on a fresh connection */
    /** MOVED redirects followed (cluster) */
    uint64_t moved, ask;     /**< ASK redirects followed (cluster) */
    uint64_t tryagain;       /**< TRYAGAIN / CLUSTERDOWN backoffs */
    uint64_t slot_refreshes; /**< CLUSTER SLOTS reloads */
    uint64_t pipelines;      /**< multi-key round trips (one per node) */
    uint32_t open;           /**< connections open now, all nodes */
    uint32_t idle;           /**< of which idle */
    uint32_t nodes;          /**< nodes known (1 outside cluster mode) */
} goio_redis_stats;

/** Copies the handle's counters into *out; GOIO_EINVAL for NULLs.
 * Thread-safe, takes no connection. */
GOIO_EXTERN int goio_redis_stats_get(goio_redis *r, goio_redis_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_REDIS_H */
