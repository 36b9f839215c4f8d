/*
 * redis: goio's cache interface over Redis (hiredis 0.14), with a
 * connection pool, pipelined multi-key calls and Redis Cluster.
 *
 * A goio_redis handle is a goio_cache (goio/cache.h): goio_redis_cache()
 * returns the interface, so the handle plugs into every goio_cache_* call,
 * the stale-on-error wrapper and the hybrid layer. The goio_redis_* calls
 * add what Redis offers beyond the interface (exists, incr, set-if-not-
 * exists, publish, multi-key calls) and take a goio_ctx.
 *
 * Keys. Every key (and publish channel) becomes "<namespace>:<key>" on the
 * server; with an empty namespace it is sent unchanged. Keys are non-empty
 * NUL-terminated strings of at most GOIO_CACHE_MAX_KEY bytes, anything else
 * is GOIO_EINVAL. A namespace may not contain '{' or '}': Redis Cluster
 * hashes the first {...} of the whole key, so a brace-free prefix leaves the
 * user's own {hash tags} meaning exactly what they mean without goio
 * ("{user42}:cart" and "{user42}:profile" share a slot in any namespace).
 * Values are bytes (binary-safe, NULs included).
 *
 * TTLs are milliseconds (SET ... PX, so sub-second TTLs work; the Go library
 * sends whole seconds) and are capped at 12 hours as in Go. A TTL <= 0
 * stores an already expired value, which on Redis means the key is deleted.
 *
 * Errors. Calls return 0 or a negative GOIO_E* code:
 *  - GOIO_EINVAL bad arguments; GOIO_ENOMEM;
 *  - GOIO_EPROTO an error reply from Redis (WRONGTYPE, OOM, ...) or a reply
 *    of an unexpected type; Redis' message goes to goio_log (category
 *    "redis", code "redis_error_reply", key = the user's key);
 *  - GOIO_ECONNREFUSED / GOIO_EHOSTUNREACH the server cannot be reached,
 *    GOIO_ECONNRESET the connection broke, GOIO_EIO other I/O errors;
 *  - GOIO_ETIMEDOUT a connect, read or write timeout, the pool wait
 *    timeout or the ctx deadline; GOIO_ECANCELED the ctx was cancelled;
 *  - GOIO_EBUSY the pool is exhausted and wait_timeout_ms is 0;
 *  - GOIO_EACCES the login (user / password) was refused, or Redis
 *    answered NOPERM: the ACL user may not run the command or touch the
 *    key (logged as an error reply, like GOIO_EPROTO's). NOAUTH (no
 *    password configured for a server that wants one) stays GOIO_EPROTO.
 * Every failure is also logged with its context.
 *
 * Pool. Each server (each cluster node) has a pool of at most max_active
 * connections, of which at most max_idle are kept idle. A caller that
 * finds none free waits on a condition variable until one is returned,
 * bounded by wait_timeout_ms and its ctx. A connection idle longer than
 * test_on_borrow_ms is PINGed before reuse, one idle longer than
 * idle_timeout_ms is closed, and a connection that saw any I/O error,
 * protocol error or timeout is closed, never reused (hiredis 0.14 keeps a
 * sticky error state, and a late reply would otherwise answer the next
 * command). A connection whose peer has closed it (a restarted server) is
 * noticed before reuse.
 *
 * Reconnect backoff. After a failed connect (refused, unreachable, timed
 * out, or AUTH / SELECT refused) the server (each cluster node on its own)
 * is marked down for an interval starting at 50 ms and doubling to 2 s,
 * jittered to between half and all of it. Meanwhile a call that needs a
 * new connection fails at once with the last connect error instead of
 * connecting (idle connections are still used); after the interval one
 * caller at a time tries to connect, the others keep failing at once. So
 * after a server comes back, calls succeed within at most 2 s. Failures
 * caused by the caller's ctx do not count. Logged once per outage as
 * "redis_node_down" (WARN) and "redis_node_up" (INFO).
 *
 * ctx: a deadline bounds the wait for a connection, the connect (AUTH and
 * SELECT included), the test-on-borrow PING, the wait for a cluster slot
 * map reload another call is running, and each command's read timeout
 * (the smaller of the two applies); cancellation is
 * observed while waiting for a connection and before each command, but a
 * command already sent runs to its read timeout at most.
 *
 * Cluster. With `cluster` set, the endpoint is a seed node: the slot map is
 * read with CLUSTER SLOTS on first use and refreshed on MOVED, CLUSTERDOWN,
 * connection failures and timeouts (at most once a second: a hung master
 * replaced by its replica never answers with MOVED); keys are hashed with CRC16
 * and hash tags, each node has its own pool, ASK is followed with ASKING, and
 * TRYAGAIN / CLUSTERDOWN / unreachable nodes are retried with a bounded
 * exponential backoff (cluster_max_attempts tries in all), which rides out a
 * failover to a replica. Commands go to masters only. `database` must be 0.
 *
 * Retries. Commands are never retried after a timeout (they may have run).
 * A connection that broke before an answer is retried once for commands
 * whose repetition is harmless (GET, SET without NX, EXISTS, DEL, multi).
 *
 * TLS (`tls` and the tls_* settings, or a rediss:// URL): every connection
 * (pool, cluster nodes, pub/sub) runs over TLS 1.2+ with the peer's
 * certificate and name verified by default. The handshake is part of the
 * connect (connect_timeout_ms, ctx). A certificate problem - theirs
 * untrusted, expired or for another name, ours refused or missing - is
 * GOIO_EACCES; another handshake failure (a peer that does not speak TLS,
 * no common version) is GOIO_EPROTO; OpenSSL's reason is in the log record
 * ("redis_tls_failed", "pubsub_tls_failed"). A plaintext client on a TLS
 * port sees GOIO_ECONNRESET.
 *
 * Thread-safety: a goio_redis handle is safe for concurrent use by any
 * number of threads. The time tracker and the log sink are called from
 * the calling threads.
 */
#ifndef GOIO_REDIS_H
#define GOIO_REDIS_H

#include <goio/cache.h>
#include <goio/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct goio_redis goio_redis;

/*
 * Called after each timed step with a KPI name and the step's start and end
 * on the monotonic clock (ns, goio_now_mono_ns). Names:
 * "redis_command_<cmd>" (get, set, exists, del, incr, publish, ping,
 * multi_get, multi_set, cluster_slots, ...), "redis_get_connection" (pool
 * borrow, connect included) and "redis_close_connection" (return to pool).
 * Must be thread-safe and quick; must not call back into the handle.
 */
typedef void (*goio_redis_time_tracker_fn)(const char *kpi, int64_t start_ns,
                                           int64_t end_ns, void *data);

#define GOIO_REDIS_MAX_TTL_MS (12LL * 60 * 60 * 1000)

typedef struct goio_redis_config {
    /* "host:port" ("[v6addr]:port" for IPv6) or a unix socket path (starts
     * with '/' or '.'). Required. In cluster mode: any node (the seed). */
    const char *endpoint;
    bool cluster;              /* Redis Cluster mode; default false */
    const char *key_namespace; /* prefix "<ns>:"; NULL or "" = none */
    /* ACL user (Redis 6+): AUTH <username> <password> on connect; NULL or
     * "" = AUTH <password> (the default user), or no AUTH without a
     * password. */
    const char *username;
    const char *password; /* AUTH on connect; NULL = none */
    int database;         /* SELECT on connect; default 0 */

    goio_redis_time_tracker_fn time_tracker; /* NULL = none */
    void *time_tracker_data;

    int max_idle;   /* idle connections kept per node; default 10 */
    int max_active; /* connections per node, 0 = unbounded; default 20 */
    int64_t connect_timeout_ms; /* default 1000; <= 0 = none */
    int64_t read_timeout_ms;    /* default 200; <= 0 = none */
    int64_t write_timeout_ms;   /* default 200; <= 0 = none */
    /* How long a caller waits for a free connection when max_active are
     * in use (its ctx may cut it shorter): default 1000; 0 = do not wait
     * (GOIO_EBUSY); < 0 = as long as the ctx allows (Go's Wait: true). */
    int64_t wait_timeout_ms;
    /* PING a connection idle longer than this before reusing it; default
     * 30000; < 0 = never. */
    int64_t test_on_borrow_ms;
    /* Close connections idle longer than this; default 180000; <= 0 =
     * never. */
    int64_t idle_timeout_ms;

    /* Cluster: tries per command across redirects and retries (default
     * 5) and the first retry's backoff, doubled each time (default 10). */
    int cluster_max_attempts;
    int64_t cluster_retry_backoff_ms;

    /* TLS for every connection (pool, cluster nodes, pub/sub). The peer's
     * certificate is verified against tls_ca_file / tls_ca_dir (PEM; both
     * NULL = the system store) and its name against tls_server_name (NULL =
     * the endpoint's host, also sent as SNI). */
    bool tls;                    /* default false */
    const char *tls_ca_file;     /* NULL = none */
    const char *tls_ca_dir;      /* NULL = none (hashed dir, c_rehash) */
    const char *tls_cert_file;   /* client certificate (mutual TLS), PEM */
    const char *tls_key_file;    /* its key, PEM; required with the cert */
    const char *tls_server_name; /* NULL = endpoint host */
    bool tls_skip_verify;        /* no certificate checks at all (tests) */
    bool tls_skip_hostname;      /* chain checked, name not */
    int tls_min_version;         /* 12 = TLS 1.2 (default, also 0), 13 */

    /* Set by goio_redis_config_from_url: the strings it made, released by
     * goio_redis_config_deinit. Not for the caller. */
    void *url_storage;

    /* The cache interface's wire (goio/cache.h): GOIO_CACHE_WIRE_GOIO
     * (default: TTLs in ms) or GOIO_CACHE_WIRE_GO_IO (go-io's: SET ... EX
     * whole seconds, at least 1, at most 12 h; typed values as JSON,
     * goio_type_bytes raw). goio_redis_set/set_opt are not affected. */
    goio_cache_wire wire;
} goio_redis_config;

/* Fills *cfg with the defaults above (endpoint NULL). */
GOIO_EXTERN void goio_redis_config_init(goio_redis_config *cfg);

/*
 * Sets cfg's connection settings from a URL, as go-redis' ParseURL reads
 * it. cfg must have been set up with goio_redis_config_init; fields the
 * URL does not name keep their values. On error cfg is unchanged.
 *
 *   redis://[[user][:password]@]host[:port][/db][?options]
 *   rediss://...                  the same over TLS (cfg->tls = true)
 *   unix://[[user][:password]@]/path/to/socket[?db=N&options]
 *
 * host is a name, an IPv4 address or a [bracketed] IPv6 address (default
 * "localhost"); port defaults to 6379. user, password, the path and option
 * values are percent-decoded. Options (go-redis names; durations are
 * whole seconds, or Go durations such as 500ms, 1.5s, 2m; a number <= 0
 * disables the timeout): db, dial_timeout (connect_timeout_ms),
 * read_timeout, write_timeout, pool_timeout (wait_timeout_ms),
 * pool_size and max_active_conns (max_active), max_idle_conns (max_idle),
 * conn_max_idle_time or idle_timeout (idle_timeout_ms), skip_verify
 * (tls_skip_verify); go-redis options goio has no use for are accepted
 * and ignored (min_idle_conns, max_retries, min_retry_backoff,
 * max_retry_backoff, pool_fifo, conn_max_lifetime, client_name,
 * protocol, max_concurrent_dials). goio's own: cluster (true/false),
 * tls_ca_file, tls_ca_dir, tls_cert_file, tls_key_file, tls_server_name,
 * tls_min_version (1.2 or 1.3), tls_skip_hostname. Booleans are
 * true/false/1/0.
 *
 * The strings cfg then points at belong to cfg until
 * goio_redis_config_deinit (or the next goio_redis_config_from_url).
 * GOIO_EINVAL (NULL arguments, a URL over 4096 bytes, a bad scheme, host,
 * port, db, escape, option name or value: a "redis_bad_url" WARN record
 * names the part, never the password), GOIO_ENOMEM. Not thread-safe on
 * one cfg.
 */
GOIO_EXTERN int goio_redis_config_from_url(goio_redis_config *cfg,
                                           const char *url);
/* Releases what goio_redis_config_from_url allocated (the strings cfg
 * points at become invalid: make the handle first). NULL is a no-op. */
GOIO_EXTERN void goio_redis_config_deinit(goio_redis_config *cfg);

/*
 * Creates a handle. Copies everything it needs from cfg (strings
 * included). Does no I/O: connections (and the cluster slot map) are made
 * on first use, so a server that is down now is not an error. GOIO_EINVAL
 * for NULL arguments, a missing or malformed endpoint, a namespace with
 * braces or longer than GOIO_CACHE_MAX_KEY, negative pool sizes, database
 * or cluster retry settings, and in cluster mode a database other than 0
 * or a unix socket endpoint; GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_redis_new(const goio_redis_config *cfg, goio_redis **out);
/* Closes every connection and frees the handle (the same as
 * goio_cache_free(goio_redis_cache(r))). No call may be in progress. NULL
 * is a no-op. */
GOIO_EXTERN void goio_redis_free(goio_redis *r);

/*
 * The handle as a goio_cache (same lifetime; do not free both). get, set
 * and del map to GET, SET PX and DEL; clear deletes the namespace's keys
 * with SCAN + UNLINK (GOIO_ENOTSUP without a namespace); get_stale is
 * GOIO_ENOTSUP; stats count hits, misses, sets and deletes.
 */
GOIO_EXTERN goio_cache *goio_redis_cache(goio_redis *r);
/* The handle behind a cache made by goio_redis_cache, or NULL when c is
 * another kind of cache (or NULL). */
GOIO_EXTERN goio_redis *goio_redis_from_cache(goio_cache *c);

/* ---- single-key calls (ctx may be NULL) ---------------------------------
 */

/* GET: copies the value into *out (replacing its contents), sets *hit. */
GOIO_EXTERN int goio_redis_get(goio_redis *r, goio_ctx *ctx, const char *key,
                               goio_buf *out, bool *hit);
/* SET with a TTL (capped at 12 h; <= 0 deletes the key). */
GOIO_EXTERN int goio_redis_set(goio_redis *r, goio_ctx *ctx, const char *key,
                               const void *value, size_t len, int64_t ttl_ms);

typedef struct goio_redis_set_config {
    int64_t ttl_ms;     /* > 0: expire (capped at 12 h); <= 0: no expiry */
    bool if_not_exists; /* SET NX */
} goio_redis_set_config;

/* Fills the defaults: no expiry, unconditional (NULL is a no-op). */
GOIO_EXTERN void goio_redis_set_config_init(goio_redis_set_config *cfg);

/*
 * SET with options (Go's SetOpt). Unlike goio_redis_set, ttl_ms <= 0 here
 * means "keep without expiry". *was_set (may be NULL) tells whether the
 * value was stored (false when if_not_exists found the key).
 */
GOIO_EXTERN int goio_redis_set_opt(goio_redis *r, goio_ctx *ctx,
                                   const char *key, const void *value,
                                   size_t len,
                                   const goio_redis_set_config *opts,
                                   bool *was_set);
GOIO_EXTERN int goio_redis_exists(goio_redis *r, goio_ctx *ctx, const char *key,
                                  bool *exists);
/* DEL; *deleted (may be NULL) says whether the key existed. */
GOIO_EXTERN int goio_redis_del(goio_redis *r, goio_ctx *ctx, const char *key,
                               bool *deleted);
/* INCR: *value (may be NULL) gets the new value. A missing key counts from
 * 0; a value that is not an integer is GOIO_EPROTO. */
GOIO_EXTERN int goio_redis_incr(goio_redis *r, goio_ctx *ctx, const char *key,
                                int64_t *value);
/* PUBLISH on the namespaced channel; *receivers (may be NULL) gets how many
 * subscribers received it (of the node it went to, in cluster mode). */
GOIO_EXTERN int goio_redis_publish(goio_redis *r, goio_ctx *ctx,
                                   const char *channel, const void *msg,
                                   size_t len, int64_t *receivers);

/* ---- multi-key calls ------------------------------------------------------
 *
 * Pipelined: one round trip per node involved (all nodes' requests are
 * written before any reply is read). Keys redirected during a resharding
 * are finished one by one. n == 0 is a no-op. On error the outputs are
 * unspecified.
 */

/* values[i] (caller-initialized buffers) and hits[i] for keys[i]. */
GOIO_EXTERN int goio_redis_multi_get(goio_redis *r, goio_ctx *ctx,
                                     const char *const *keys, size_t n,
                                     goio_buf *values, bool *hits);
/* SET keys[i] = values[i][0..lens[i]) with one TTL (as goio_redis_set). */
GOIO_EXTERN int goio_redis_multi_set(goio_redis *r, goio_ctx *ctx,
                                     const char *const *keys,
                                     const void *const *values,
                                     const size_t *lens, size_t n,
                                     int64_t ttl_ms);

/* ---- introspection ------------------------------------------------------- */

/* The Redis Cluster hash slot (0..16383) of a raw key as sent to Redis
 * (namespace included), honouring {hash tags}. */
GOIO_EXTERN unsigned goio_redis_key_slot(const char *key, size_t len);

typedef struct goio_redis_stats {
    uint64_t connects;       /* connections opened */
    uint64_t connect_errors; /* failed connects (AUTH/SELECT included) */
    uint64_t closed_broken;  /* closed after an error or a dead peer */
    uint64_t closed_idle;    /* closed after idle_timeout_ms */
    uint64_t closed_excess;  /* closed because max_idle were idle */
    uint64_t pings;          /* test-on-borrow PINGs */
    uint64_t waits;          /* callers that had to wait for a connection */
    uint64_t wait_timeouts;  /* ... and gave up */
    uint64_t retries;        /* commands retried on a fresh connection */
    uint64_t moved, ask;     /* cluster redirects followed */
    uint64_t tryagain;       /* TRYAGAIN / CLUSTERDOWN backoffs */
    uint64_t slot_refreshes; /* CLUSTER SLOTS reloads */
    uint64_t pipelines;      /* multi-key round trips (one per node) */
    uint32_t open;           /* connections open now, all nodes */
    uint32_t idle;           /* of which idle */
    uint32_t nodes;          /* nodes known (1 outside cluster mode) */
} goio_redis_stats;

GOIO_EXTERN int goio_redis_stats_get(goio_redis *r, goio_redis_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_REDIS_H */
