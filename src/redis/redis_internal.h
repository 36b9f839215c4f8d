/* SPDX-License-Identifier: MIT */
/*
 * redis module internals, shared by the files of src/redis/ (and meant for
 * the pub/sub code in the same folder, which reuses the configuration, the
 * key namespacing, the endpoint parsing, the connection setup and the
 * pools).
 *
 * Pieces and who owns what:
 *  - goio__redis_opts: a validated, owned copy of goio_redis_config
 *    (goio__redis_opts_from_config / goio__redis_opts_free).
 *  - goio__redis_addr: one server address, parsed from "host:port",
 *    "[v6]:port" or a unix socket path (goio__redis_addr_parse).
 *  - goio__redis_key: a namespaced key ("<ns>:<key>"), in an inline buffer
 *    when short (goio__redis_key_make / goio__redis_key_release).
 *  - goio__redis_connect: a blocking hiredis connection with the read and
 *    write timeouts applied (hiredis' redisReconnect drops them, so goio
 *    never reconnects a context: it opens a new one), AUTH and SELECT done.
 *  - goio__redis_pool: one per server; borrow with goio__redis_pool_get,
 *    give back with goio__redis_pool_put (broken = true closes it).
 *  - goio__redis_node: a pool plus its address; nodes live as long as the
 *    handle (pointers to them stay valid), the cluster map points at them.
 *  - goio__redis_mux: a node's multiplexed connections (mux.c), shared by
 *    the single-key commands; goio__redis_exec sends them there unless
 *    mux_conns is 0 or the command follows an ASK.
 *  - goio__redis_exec: runs one single-key command with routing, MOVED /
 *    ASK, retries, the time tracker and error-reply logging.
 *
 * For pub/sub (same config, same namespacing, same pool for publishing):
 *  - validate and copy the user's goio_redis_config with
 *    goio__redis_opts_from_config; opts.seed is the parsed endpoint (TCP
 *    host/port or unix path), opts.password / opts.database are what the
 *    subscriber connection must AUTH / SELECT, opts.connect_timeout_ms /
 *    read_timeout_ms its timeouts, opts.tracker the time tracker;
 *  - channel and pattern names get the namespace with goio__redis_key_make
 *    (the same "<ns>:" prefix goio_redis_publish uses, so a subscription
 *    to "news" hears goio_redis_publish(r, ..., "news", ...));
 *  - publish with goio_redis_publish on a goio_redis built from the same
 *    config (it owns the pools, cluster routing and retries);
 *  - a blocking setup connection (e.g. to check AUTH synchronously) can
 *    come from goio__redis_connect.
 *
 * Thread-safety: opts and addr are immutable after creation; pools and
 * the slot map lock internally; a borrowed connection belongs to one
 * thread until it is put back.
 */
#ifndef GOIO_SRC_REDIS_INTERNAL_H
#define GOIO_SRC_REDIS_INTERNAL_H

#include <goio/redis.h>

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdatomic.h>

#define GOIO__REDIS_SLOTS 16384

/* ---- configuration ------------------------------------------------------- */

typedef struct goio__redis_addr {
    char *host;      /* NULL for a unix socket */
    int port;        /* 0 for a unix socket */
    char *unix_path; /* NULL for TCP */
    char *name;      /* "host:port" or the path, for logs */
} goio__redis_addr;

typedef struct goio__redis_opts {
    goio__redis_addr seed; /* the configured endpoint */
    bool cluster;
    char *ns; /* "" when none */
    size_t ns_len;
    char *username; /* ACL user; NULL when none */
    char *password; /* NULL when none */
    int database;
    goio_redis_time_tracker_fn tracker;
    void *tracker_data;
    int max_idle, max_active;
    int64_t connect_timeout_ms, read_timeout_ms, write_timeout_ms;
    int64_t wait_timeout_ms, test_on_borrow_ms, idle_timeout_ms;
    int cluster_max_attempts;
    int64_t cluster_retry_backoff_ms;
    int mux_conns;       /* multiplexed connections per node; 0 = pooled mode */
    bool async_dispatch; /* async callbacks via goio_redis_async_dispatch */
    size_t max_reply_bytes; /* one reply's cost (conn.c counts it) */
    /* TLS: tls_ctx is an SSL_CTX (CA store, client certificate, minimum
     * version, verify mode) shared by every connection of the handle. */
    bool tls;
    void *tls_ctx;
    char *tls_server_name; /* NULL = each node's host */
    bool tls_check_name;   /* verify the host name (or IP) */
} goio__redis_opts;

/* Validates cfg and copies it into *o (GOIO_EINVAL / GOIO_ENOMEM; *o is
 * left empty on error). */
int goio__redis_opts_from_config(const goio_redis_config *cfg,
                                 goio__redis_opts *o);
void goio__redis_opts_free(goio__redis_opts *o);

/* Parses an endpoint into *a (owned strings). GOIO_EINVAL when malformed. */
int goio__redis_addr_parse(const char *endpoint, goio__redis_addr *a);
int goio__redis_addr_tcp(const char *host, size_t host_len, int port,
                         goio__redis_addr *a);
void goio__redis_addr_free(goio__redis_addr *a);

/* ---- keys ------------------------------------------------------------------
 */

typedef struct goio__redis_key {
    char *s;    /* points at inline_buf or at a goio_malloc'd copy */
    size_t len; /* without the terminator */
    char inline_buf[200];
} goio__redis_key;

/* Validates `key` (non-NULL, non-empty, <= GOIO_CACHE_MAX_KEY) and builds
 * the namespaced key. GOIO_EINVAL / GOIO_ENOMEM. */
int goio__redis_key_make(const goio__redis_opts *o, const char *key,
                         goio__redis_key *k);
void goio__redis_key_release(goio__redis_key *k);
/* A TTL in ms as SET's PX argument, capped at GOIO_REDIS_MAX_TTL_MS (as
 * go-io caps it); the snprintf length. */
int goio__redis_ttl_arg(int64_t ttl_ms, char *buf, size_t size);
/* Appends s[0..len) to out with Redis glob characters (* ? [ ] \) escaped,
 * so that a SCAN MATCH or PSUBSCRIBE pattern matches them literally (the
 * namespace prefix of a pattern). GOIO_ENOMEM. */
int goio__redis_glob_escape(const char *s, size_t len, goio_buf *out);

/* ---- connections ----------------------------------------------------------
 */

typedef struct goio__redis_conn {
    redisContext *rc;
    void *ssl;   /* SSL *, NULL for plaintext: goio does the socket I/O and
                  * feeds rc->reader; rc->obuf still collects requests */
    int tls_err; /* GOIO_E* of a TLS failure (rc->err says REDIS_ERR_OTHER) */
    struct goio__redis_conn *next; /* free lists */
    int64_t idle_since_ms;         /* monotonic, when last put back */
    int64_t rcv_timeout_ms;        /* SO_RCVTIMEO currently applied */
    int64_t snd_timeout_ms;        /* SO_SNDTIMEO currently applied */
    /* Monotonic ms by which the ctx of the current command ends, or
     * GOIO_NO_DEADLINE: bounds a whole reply, not each recv. */
    int64_t ctx_due_ms;
    bool reused;      /* came from the idle list */
    const char *node; /* its address' name, for log records (the address
                       * outlives its connections) */
    /* What the reply being read costs so far in reply objects (its reader
     * counts them, conn.c; reset when a reply is complete), the limit
     * (opts' max_reply_bytes), the cost that went over it (0 = none) and
     * the reader's own object functions the counting ones call. */
    size_t reply_cost, max_reply, refused;
    const redisReplyObjectFunctions *base_fn;
} goio__redis_conn;

/*
 * Opens a connection to `a` with opts' timeouts, AUTH and SELECT. The
 * connect timeout is cut to the ctx deadline. Returns 0 and *out, or a
 * GOIO_E* code (logged).
 */
int goio__redis_connect(const goio__redis_opts *o, const goio__redis_addr *a,
                        goio_ctx *ctx, goio__redis_conn **out);
void goio__redis_conn_close(goio__redis_conn *c);
/* Applies the read and write timeouts for the next command: opts' read
 * and write timeouts cut to the ctx deadline. GOIO_ETIMEDOUT /
 * GOIO_ECANCELED when ctx is done. */
int goio__redis_conn_prepare(const goio__redis_opts *o, goio__redis_conn *c,
                             goio_ctx *ctx);
/* What the reply being read costs if that is more than max_reply_bytes
 * (its bytes received and not parsed plus its reply objects), else 0.
 * Every reader of a connection checks it after feeding bytes; a reply the
 * reader completed resets the count (goio__redis_conn_reply_done). */
size_t goio__redis_conn_reply_over(const goio__redis_conn *c);
static inline void goio__redis_conn_reply_done(goio__redis_conn *c)
{
    c->reply_cost = 0;
}
/* After the reader failed: REDIS_ERR, with the context's error made a
 * "reply larger than max_reply_bytes" protocol error (logged) when the
 * counting refused an object. */
int goio__redis_conn_reader_failed(goio__redis_conn *c);
/* After a read that left the reply incomplete: REDIS_OK, or REDIS_ERR
 * with that protocol error when the reply already costs too much. */
int goio__redis_conn_reply_check(goio__redis_conn *c);
/* Logs redis_reply_too_large for a reply on c that cost `cost`. */
void goio__redis_conn_log_too_large(const goio__redis_conn *c, size_t cost);
/* When the reply being read must be in at the latest (the read timeout
 * from now, or the command's ctx deadline if earlier): SO_RCVTIMEO bounds
 * each read, so a peer trickling bytes is bounded by this instead. */
int64_t goio__redis_conn_reply_due(const goio__redis_conn *c);
/* After a read that left the reply incomplete: REDIS_OK to read on, or
 * REDIS_ERR (c's context failed) when it costs more than max_reply_bytes
 * or `due` has passed. */
int goio__redis_conn_reply_going(goio__redis_conn *c, int64_t due);
/* Sets SO_RCVTIMEO to ms (0 = none) unless already set to it. */
int goio__redis_conn_set_rcvtimeo(goio__redis_conn *c, int64_t ms);
/* Translates a failed context (c->rc->err) into a GOIO_E* code. */
int goio__redis_conn_error(const goio__redis_conn *c);

/*
 * The I/O of a connection, plaintext or TLS. Use these, never hiredis'
 * redisCommand*, redisGetReply or redisBufferWrite on c->rc (those read
 * and write the socket directly, which a TLS connection must not);
 * redisAppendCommand* on c->rc only formats and is fine. Same results as
 * the hiredis calls they replace (errors in c->rc->err, see
 * goio__redis_conn_error).
 */
redisReply *goio__redis_conn_command_argv(goio__redis_conn *c, int argc,
                                          const char **argv,
                                          const size_t *lens);
/* Sends what was appended, then reads one reply (redisGetReply). */
int goio__redis_conn_get_reply(goio__redis_conn *c, void **reply);
/* Writes some of what was appended; *done = 1 when all (redisBufferWrite). */
int goio__redis_conn_flush(goio__redis_conn *c, int *done);

/* ---- TLS (tls.c) ----------------------------------------------------------
 */

/* Builds o->tls_ctx from cfg (CA store, client certificate and key,
 * minimum version). GOIO_EINVAL with a "redis_tls_config" record naming
 * OpenSSL's reason (a missing or bad file); GOIO_ENOMEM. */
int goio__redis_tls_setup(const goio_redis_config *cfg, goio__redis_opts *o);
void goio__redis_tls_free(goio__redis_opts *o);
/* A new SSL (SSL *) for a connection to `a`: SNI and the name to verify
 * set. GOIO_ENOMEM (*out may be set: SSL_free it). */
int goio__redis_tls_ssl_new(const goio__redis_opts *o,
                            const goio__redis_addr *a, void **out);
/* After an SSL call failed with SSL_ERROR_SSL: GOIO_EACCES for a
 * certificate problem, else GOIO_EPROTO; OpenSSL's reason in why. Clears
 * the thread's OpenSSL error queue. */
int goio__redis_tls_classify(void *ssl, char *why, size_t len);
/* Runs the handshake on c's connected socket until deadline_ms (monotonic
 * ms) or the ctx ends; sets c->ssl. Certificate problems (ours refused or
 * theirs not trusted, expired, for another name) are GOIO_EACCES, other
 * handshake failures (a plaintext peer, no common version) GOIO_EPROTO;
 * both logged with OpenSSL's reason. */
int goio__redis_tls_connect(const goio__redis_opts *o,
                            const goio__redis_addr *a, goio__redis_conn *c,
                            int64_t deadline_ms, goio_ctx *ctx);
redisReply *goio__redis_tls_command(goio__redis_conn *c, int argc,
                                    const char **argv, const size_t *lens);
int goio__redis_tls_get_reply(goio__redis_conn *c, void **reply);
int goio__redis_tls_flush(goio__redis_conn *c, int *done);
/* Non-blocking I/O for a connection whose socket is O_NONBLOCK (the
 * multiplexed ones): bytes moved (> 0), 0 when the socket would block
 * (*want = POLLIN or POLLOUT to wait for), or a GOIO_E* code (EOF is
 * GOIO_ECONNRESET). */
long goio__redis_tls_read_nb(goio__redis_conn *c, void *buf, size_t len,
                             short *want);
long goio__redis_tls_write_nb(goio__redis_conn *c, const void *buf, size_t len,
                              short *want);
/* goio__redis_tls_alive for a socket that is O_NONBLOCK already. */
bool goio__redis_tls_alive_nb(goio__redis_conn *c);
/* Whether an idle TLS connection is still open (see conn_alive). */
bool goio__redis_tls_alive(const goio__redis_conn *c);
/* Whether OpenSSL holds received bytes not yet read (read-ahead). */
bool goio__redis_tls_buffered(const goio__redis_conn *c);
void goio__redis_tls_close(goio__redis_conn *c);
/* Whether the peer has not closed an idle connection (no syscall wait). */
bool goio__redis_conn_alive(const goio__redis_conn *c);

/* A condition variable on the monotonic clock (GOIO_ENOMEM), and a wait on
 * it until deadline_ms (goio_now_mono_ms time; GOIO_NO_DEADLINE = no
 * limit). Shared by the pools, the slot map reload and pub/sub. */
int goio__redis_cond_init(pthread_cond_t *cv);
void goio__redis_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
                           int64_t deadline_ms);

/* Calls the time tracker if there is one. */
static inline void goio__redis_track(const goio__redis_opts *o, const char *kpi,
                                     int64_t start_ns)
{
    if (o->tracker)
        o->tracker(kpi, start_ns, goio_now_mono_ns(), o->tracker_data);
}
static inline int64_t goio__redis_track_start(const goio__redis_opts *o)
{
    return o->tracker ? goio_now_mono_ns() : 0;
}

/* ---- statistics -----------------------------------------------------------
 */

typedef struct goio__redis_counters {
    atomic_uint_fast64_t connects, connect_errors, closed_broken, closed_idle,
        closed_excess, pings, waits, wait_timeouts, retries, moved, ask,
        tryagain, slot_refreshes, pipelines;
    atomic_uint_fast64_t hits, misses, sets, deletes;
} goio__redis_counters;

#define GOIO__REDIS_COUNT(ctr, field)                                          \
    atomic_fetch_add_explicit(&(ctr)->field, 1, memory_order_relaxed)

/* ---- pools ----------------------------------------------------------------
 */

typedef struct goio__redis_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a connection or a slot frees up */
    const goio__redis_opts *opts;
    const goio__redis_addr *addr;
    goio__redis_counters *ctr;
    goio__redis_conn **idle; /* idle[0] oldest, idle[n_idle-1] newest */
    int n_idle;
    int n_open; /* idle + borrowed + being opened */
    int waiters;
    /* Reconnect backoff: after a failed connect the server is "down" until
     * down_until_ms; meanwhile no connection is opened and callers that
     * would open one fail at once with down_err. Past it, one caller at a
     * time (probing) tries to connect. down_backoff_ms is the current
     * interval (GOIO__REDIS_DOWN_MIN_MS doubling to _MAX_MS, jittered). */
    atomic_int down_err; /* 0 = up; read without the lock */
    int64_t down_until_ms, down_backoff_ms;
    bool probing;
} goio__redis_pool;

#define GOIO__REDIS_DOWN_MIN_MS 50
#define GOIO__REDIS_DOWN_MAX_MS 2000

int goio__redis_pool_init(goio__redis_pool *p, const goio__redis_opts *o,
                          const goio__redis_addr *a, goio__redis_counters *c);
/* Closes the idle connections; none may be borrowed. */
void goio__redis_pool_destroy(goio__redis_pool *p);
/* Borrows a connection (reused, tested, or new), waiting as configured. */
int goio__redis_pool_get(goio__redis_pool *p, goio_ctx *ctx,
                         goio__redis_conn **out);
/* Gives it back; broken (or a context in error) closes it instead. */
void goio__redis_pool_put(goio__redis_pool *p, goio__redis_conn *c,
                          bool broken);
void goio__redis_pool_counts(goio__redis_pool *p, int *open, int *idle);
/* Opens a connection outside the pool's count (for the multiplexed
 * connections) under the pool's reconnect backoff: fails at once with the
 * last connect error while the server is marked down. Counted in connects
 * / connect_errors. */
int goio__redis_pool_open(goio__redis_pool *p, goio_ctx *ctx,
                          goio__redis_conn **out);

typedef struct goio__redis_cmd {
    const char *kpi; /* "redis_command_get" */
    int argc;
    const char **argv;
    const size_t *argvlen;
    unsigned slot;       /* of the namespaced key */
    bool idempotent;     /* safe to send again after a broken connection */
    const char *log_key; /* the user's key, for log records */
    bool mux;            /* one reply, no connection state: may share */
} goio__redis_cmd;

/* ---- multiplexed connections (mux.c) --------------------------------------
 */

struct goio__redis_mconn;
struct goio__redis_async;

/* One caller's command on a multiplexed connection (on its stack), or an
 * async command's (async.c, first member of its heap record). */
typedef struct goio__redis_req {
    /* A blocking caller's futex word: REQ_DONE once done (stored last,
     * release), + REQ_KICK each time it is woken to lead or look again. */
    atomic_uint word;
    struct goio__redis_mconn *m; /* the connection it was queued on */
    bool async;        /* finished by handing it to the async thread */
    bool reused;       /* the connection was open when it was queued */
    redisReply *reply; /* on success */
    int err;           /* GOIO_E* of a fault */
    uint64_t seq;      /* its FIFO position */
    bool done;         /* reply or err set */
    bool sent;         /* written: may have reached the server */
} goio__redis_req;

/* Wake-ups a multiplexed connection defers until its mutex is released. */
#define GOIO__REDIS_MUX_WAKES 64

/* One shared connection. Everything under mu; the leader alone touches c
 * and wbuf outside it. */
typedef struct goio__redis_mconn {
    pthread_mutex_t mu;
    goio__redis_conn *c; /* NULL: not open (the next leader opens it) */
    bool leader;         /* a caller is doing the I/O */
    atomic_bool busy;    /* leader, readable without the lock */
    atomic_uint depth;   /* tail - head as of the last unlock (pick) */
    goio_buf out;        /* formatted commands not written yet */
    goio_buf wbuf;       /* being written by the leader */
    /* The FIFO of callers whose replies are due, by sequence number:
     * [head, unsent) written, [unsent, tail) in out. NULL = caller left. */
    goio__redis_req **ring;
    size_t cap; /* power of two */
    uint64_t head, unsent, tail;
    int64_t progress_ms; /* last reply, or when the FIFO got busy */
    int n_async;         /* async commands in the FIFO */
    bool drv_led;        /* the leader is the async thread */
    /* Callers to wake once the mutex is released (mux.c, mu_unlock). */
    atomic_uint *wake[GOIO__REDIS_MUX_WAKES];
    int n_wake;
    bool drv_known; /* in the async thread's list (its own flag) */
} goio__redis_mconn;

typedef struct goio__redis_mux {
    goio__redis_pool *pool; /* the node's: opts, address, backoff, counters */
    struct goio__redis_async *as; /* the handle's async thread */
    goio__redis_mconn *conns;
    int n;            /* used by blocking calls (mux_conns; 0 = pooled mode) */
    int n_all;        /* allocated: at least 1, for the async calls */
    atomic_uint next; /* round robin */
    atomic_int open;  /* connections open */
} goio__redis_mux;

int goio__redis_mux_init(goio__redis_mux *x, goio__redis_pool *pool,
                         struct goio__redis_async *as, int n);
/* Closes the connections; no call may be in progress. */
void goio__redis_mux_destroy(goio__redis_mux *x);
/*
 * Runs one command that answers with one reply on a shared connection,
 * waiting until its reply, a fault or the end of ctx. *sent: the request
 * was written; *reused: the connection was open before. Faults return
 * their code (logged once per fault by mux.c); error replies are returned
 * as replies.
 */
int goio__redis_mux_exec(goio__redis_mux *x, goio_ctx *ctx,
                         const goio__redis_cmd *cmd, redisReply **reply,
                         bool *sent, bool *reused);
int goio__redis_mux_open(goio__redis_mux *x);
/* Appends cmd in RESP to b (GOIO_ENOMEM). */
int goio__redis_resp_format(goio_buf *b, const goio__redis_cmd *cmd);

/* For the async thread (async.c). Queues q's RESP bytes (after an ASKING
 * whose reply is dropped when `asking`) on one of x's connections and
 * returns it in *out. */
int goio__redis_mux_submit(goio__redis_mux *x, goio__redis_req *q,
                           const goio_buf *resp, bool asking,
                           goio__redis_mconn **out);
/* Takes the I/O of m when it has async commands and no leader, connects
 * and writes what is queued; gives the I/O back (to a waiting blocking
 * caller) when no async command is left. Returns the fd to poll for
 * replies (*until_ms: when a reply is due or a TLS buffer is ready), or -1
 * when there is nothing to wait for. */
int goio__redis_mux_drv_prepare(goio__redis_mux *x, goio__redis_mconn *m,
                                int64_t *until_ms);
/* Reads m's replies when `readable` and checks its read timeout. */
void goio__redis_mux_drv_io(goio__redis_mux *x, goio__redis_mconn *m,
                            bool readable);
/* Gives the I/O of m back (the async thread stops). */
void goio__redis_mux_drv_release(goio__redis_mux *x, goio__redis_mconn *m);
/* Takes q out of its connection's FIFO unless it is done (its late reply
 * is then dropped). true when taken out. */
bool goio__redis_mux_cancel(goio__redis_req *q);

/* ---- the async calls (async.c) --------------------------------------------
 */

typedef struct goio__redis_areq goio__redis_areq;

/* The handle's async thread, started by the first async call. */
typedef struct goio__redis_async {
    pthread_mutex_t mu; /* the fields up to `thread` */
    bool started, closing, signaled;
    int efd; /* eventfd waking the thread; -1 before the start */
    goio__redis_areq *in_head, *in_tail;     /* submitted */
    goio__redis_areq *done_head, *done_tail; /* answered, from mux.c */
    /* Dispatch mode (async_dispatch): callbacks queued for
     * goio_redis_async_dispatch; ready_efd readable while any are. */
    goio__redis_areq *ready_head, *ready_tail;
    int ready_efd; /* -1 when callbacks run on the thread */
    pthread_t thread;
    goio_redis *r;
} goio__redis_async;

/* dispatch: callbacks wait for goio_redis_async_dispatch (GOIO_EIO,
 * GOIO_ENOMEM: no eventfd). */
int goio__redis_async_init(goio__redis_async *as, goio_redis *r, bool dispatch);
/* Stops the thread: pending commands get GOIO_ECLOSED. false when called
 * on the async thread itself (from a callback): nothing is done. */
bool goio__redis_async_stop(goio__redis_async *as);
/* Under q->m's lock: q (async) got its reply or error. */
void goio__redis_async_done(goio__redis_async *as, goio__redis_req *q);
/* Wakes the async thread (a connection needs it). */
void goio__redis_async_wake(goio__redis_async *as);
/* Whether the calling thread is the handle's async thread. */
bool goio__redis_async_is_self(goio__redis_async *as);

/* ---- nodes and the slot map -----------------------------------------------
 */

typedef struct goio__redis_node {
    goio__redis_addr addr;
    goio__redis_pool pool;
    goio__redis_mux mux; /* n == 0 in pooled mode */
    uint16_t index;      /* in goio__redis_cluster.nodes */
} goio__redis_node;

typedef struct goio__redis_cluster {
    pthread_rwlock_t lock;    /* nodes[], n_nodes, slots[], epoch */
    goio__redis_node *seed;   /* nodes[0]: the configured endpoint */
    goio__redis_node **nodes; /* append-only */
    size_t n_nodes, cap_nodes;
    uint16_t *slots;            /* node index + 1; 0 = unknown (cluster) */
    uint64_t epoch;             /* bumped by every map reload */
    pthread_mutex_t refresh_mu; /* refreshing */
    pthread_cond_t refresh_cv;  /* a reload ended */
    bool refreshing;            /* one map reload at a time */
    atomic_int_fast64_t timeout_refresh_ms; /* last reload after a timeout */
} goio__redis_cluster;

struct goio_redis {
    goio_cache base; /* first: the handle is a goio_cache */
    goio__redis_opts opts;
    goio__redis_counters ctr;
    goio__redis_cluster cl;
    goio__redis_async as;
};

int goio__redis_cluster_init(goio_redis *r);
void goio__redis_cluster_destroy(goio_redis *r);
/* The node that serves `slot` (the seed outside cluster mode); loads the
 * map first when it was never loaded. */
int goio__redis_route(goio_redis *r, goio_ctx *ctx, unsigned slot,
                      goio__redis_node **node);
/* The node at host:port, added when new (MOVED / ASK targets). */
int goio__redis_node_get(goio_redis *r, const char *host, size_t host_len,
                         int port, goio__redis_node **node);
uint64_t goio__redis_epoch(goio_redis *r);
/* Reloads the slot map unless someone did since `seen_epoch`. `hint`
 * (may be NULL) is asked first, `avoid` (may be NULL: a node that just
 * failed) last. A reload another caller is running is waited for, as long
 * as ctx allows (then the ctx error). */
int goio__redis_cluster_refresh(goio_redis *r, goio_ctx *ctx,
                                uint64_t seen_epoch, goio__redis_node *hint,
                                goio__redis_node *avoid);
/* Points one slot at a node (after MOVED). */
void goio__redis_slot_set(goio_redis *r, unsigned slot, goio__redis_node *node);
/*
 * Reads a CLUSTER SLOTS reply into map (GOIO__REDIS_SLOTS entries, node
 * index + 1, left 0 for slots the reply does not cover), adding the nodes
 * it names; an empty or "?" host is `asked`'s. GOIO_EPROTO for a reply of
 * another shape, else goio__redis_node_get's error. Used by the map
 * reload; not static so that fuzz/redis_reply.c and tests can feed it
 * replies no server sends.
 */
int goio__redis_parse_slots(goio_redis *r, const redisReply *reply,
                            const goio__redis_node *asked, uint16_t *map);

/* ---- command execution ----------------------------------------------------
 */

/*
 * Runs cmd on the node serving its slot, following MOVED / ASK and
 * retrying as documented in goio/redis.h. On 0, *reply is a non-error
 * reply the caller frees with freeReplyObject. Error replies are logged
 * and returned as GOIO_EPROTO.
 */
int goio__redis_exec(goio_redis *r, goio_ctx *ctx, const goio__redis_cmd *cmd,
                     redisReply **reply);

/* After a timeout in cluster mode: reloads the slot map (asking `node`
 * last), at most once a second. A hung master never sends the MOVED that
 * would reveal its replacement. No-op outside cluster mode. */
void goio__redis_refresh_after_timeout(goio_redis *r, goio_ctx *ctx,
                                       goio__redis_node *node);

/* Classifies an error reply. */
typedef enum goio__redis_redirect {
    GOIO__REDIS_NO_REDIRECT = 0,
    GOIO__REDIS_MOVED,
    GOIO__REDIS_ASK,
    GOIO__REDIS_TRYAGAIN, /* TRYAGAIN or CLUSTERDOWN: back off, retry */
} goio__redis_redirect;

/* For MOVED / ASK also parses the target ("<slot> <host>:<port>"); an
 * empty host means the replying node's host. */
goio__redis_redirect goio__redis_parse_redirect(const redisReply *reply,
                                                unsigned *slot,
                                                const char **host,
                                                size_t *host_len, int *port);
/* Logs an error reply (code redis_error_reply) and returns GOIO_EPROTO,
 * or GOIO_EACCES for an ACL refusal (NOPERM). */
int goio__redis_error_reply(const redisReply *reply, const char *log_key,
                            const goio__redis_node *node);
/* Sleeps the cluster backoff for `attempt` (0-based), bounded by ctx.
 * Returns the ctx error when ctx ended the wait. */
int goio__redis_backoff(const goio__redis_opts *o, goio_ctx *ctx, int attempt);

/* Whether a round trip that failed with rc is tried again (exec.c; the
 * async calls apply the same rules): never after a timeout, an error reply
 * or a protocol violation, nor once a non-idempotent command was sent;
 * outside cluster mode once at once on a fresh connection when a reused
 * pooled one was dropped; in cluster mode after a slot-map refresh and a
 * backoff, up to cluster_max_attempts. */
typedef enum goio__redis_retry {
    GOIO__REDIS_RETRY_NO,
    GOIO__REDIS_RETRY_NOW,
    GOIO__REDIS_RETRY_REFRESH
} goio__redis_retry;
goio__redis_retry goio__redis_retry_rule(const goio_redis *r, int rc, bool sent,
                                         bool idempotent, bool reused,
                                         int tries);

/* The node a MOVED or ASK reply from `from` names (an empty host: from's
 * own host), created when new (exec.c). 0 or a GOIO_E* code. */
int goio__redis_redirect_target(goio_redis *r, const goio__redis_node *from,
                                const char *host, size_t hlen, int port,
                                goio__redis_node **out);

/* goio_cache_clear: deletes the namespace's keys on every master
 * (GOIO_ENOTSUP without a namespace). */
int goio__redis_clear_namespace(goio_redis *r, goio_ctx *ctx);

#endif /* GOIO_SRC_REDIS_INTERNAL_H */
