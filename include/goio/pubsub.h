/*
 * pubsub: Redis pub/sub with pattern and channel subscriptions that survive
 * faults, and local caches kept coherent through Redis.
 *
 * Mirror of the Go library's PubSub (PSubscribe(patterns) -> channel,
 * PUnsubscribe, Publish(key, data)), built on a goio_redis handle (its
 * endpoint, password, namespace and pool).
 *
 * Delivery is at most once. Redis pub/sub keeps no history: a message
 * published while the subscriber connection is down, being re-established
 * or re-subscribing is lost, and so is a message that finds a
 * subscription's queue full. Every reconnection is reported (the
 * `reconnects` counter, a WARN record with code pubsub_reconnected and the
 * on_reconnect callback) so that users can resynchronise what they derive
 * from messages.
 *
 * Connection. Each goio_pubsub handle owns one subscriber connection and
 * one thread running a libuv loop, so subscribing never waits on the
 * network and a slow consumer never slows the reading of the socket. The
 * loop drives hiredis' reply reader itself (it does not use hiredis' async
 * API, whose PING callbacks never fire while subscribed and whose libuv
 * adapter loses connect errors). The connection is opened when the handle
 * is created and reopened, after any failure, with a bounded exponential
 * backoff (reconnect_min_ms doubling up to reconnect_max_ms, +-25% jitter;
 * the first attempt after a working connection broke is immediate). After
 * a reconnection every live pattern and channel is subscribed again.
 * Liveness: a PING every ping_interval_ms while nothing else is awaited;
 * every command (AUTH, PING, the (re)subscriptions) must be answered
 * within pong_timeout_ms, or the connection is dropped and reopened. A
 * paused server (SIGSTOP, CLIENT PAUSE) still accepts TCP connections, so
 * only such a deadline notices it. Bytes arriving count as a sign of life,
 * so an answer queued behind a backlog of messages is not taken for a
 * dead server. The connect itself (name resolution included) is bounded
 * by connect_timeout_ms. Database selection does not apply (Redis pub/sub
 * ignores it). Cluster mode: PUBLISH is broadcast over the cluster bus,
 * so one connection to any node receives every message; the subscriber
 * connects to the configured seed node and, after a failure, tries the
 * other nodes the goio_redis handle knows from its slot map in turn, so a
 * dead seed does not stop the subscriptions. Client tracking is
 * GOIO_ENOTSUP in cluster mode (it would see one node's keys).
 *
 * Namespacing. With a key namespace "ns" on the goio_redis handle, channel
 * "orders.1" is "ns:orders.1" on the server and pattern "orders.*" is
 * PSUBSCRIBEd as "ns:orders.*" (glob characters of the namespace itself
 * escaped, so they match literally). Messages report the channel with the
 * "ns:" prefix stripped and the matching pattern exactly as the
 * subscriber gave it, so names look the same everywhere in the API. A Go
 * service using the same namespace sees the same channels.
 *
 * Sharing. Local subscriptions share Redis subscriptions by reference
 * count: a PSUBSCRIBE (SUBSCRIBE) is sent only for a pattern (channel) no
 * local subscription had, and a PUNSUBSCRIBE (UNSUBSCRIBE) when its last
 * local subscriber leaves, so a thousand local subscribers of one pattern
 * cost one Redis subscription (PUBSUB NUMPAT counts 1). As in Redis, a
 * message matching two patterns of a subscription is delivered once per
 * pattern (msg->pattern tells which).
 *
 * Delivery modes, chosen per subscription:
 *  - queue (default): each subscription has a bounded FIFO of
 *    queue_capacity messages (Go's default, 10). When it is full the
 *    message is dropped for that subscription only, counted (per
 *    subscription and in the handle's total) and logged (WARN, code
 *    pubsub_buffer_full, key = the pattern or channel; once per run of
 *    consecutive drops, not once per message). The loop never blocks on a
 *    consumer. Read with goio_pubsub_receive (blocking, bounded by a ctx),
 *    goio_pubsub_try_receive, or poll the fd of goio_pubsub_sub_fd, which
 *    is readable exactly while messages are queued.
 *  - callback: the callback runs on the loop thread for each message. It
 *    must be quick and must not block (the loop reads nothing meanwhile,
 *    and a subscriber that falls ~32 MiB behind is cut off by Redis'
 *    client-output-buffer-limit). It may subscribe, unsubscribe (itself
 *    included), publish and take queued messages; a call that would wait
 *    for the loop (receive on an empty queue, wait_subscribed before
 *    Redis confirmed) returns GOIO_EBUSY instead of deadlocking; it must
 *    not free the handle.
 *
 * Messages are reference counted and immutable: one copy is shared by
 * every subscription it is delivered to. The payload is binary-safe.
 *
 * Errors: GOIO_EINVAL for NULL or invalid arguments (an empty name, a name
 * longer than GOIO_CACHE_MAX_KEY, no names or more than 65536 in one call,
 * a capacity of 0 or above GOIO_PUBSUB_MAX_QUEUE, a receive on a callback
 * subscription), GOIO_ENOMEM, GOIO_ECLOSED once the handle is freed, and
 * for publish the goio_redis_publish codes. Logging: category "pubsub",
 * codes pubsub_connect_failed (first failure of a run at WARN, the next
 * ones at DEBUG), pubsub_disconnected (WARN), pubsub_reconnected (WARN:
 * messages may have been lost), pubsub_reply_timeout (WARN),
 * pubsub_buffer_full (WARN), pubsub_subscribe_failed (ERROR: Redis refused
 * a subscription, e.g. an ACL), pubsub_tracking_failed (ERROR),
 * pubsub_protocol_error.
 *
 * Thread-safety: a handle and its subscriptions are safe for concurrent
 * use by any number of threads, with the exceptions stated per call
 * (unsubscribe and free end a handle's life; callbacks run on the loop
 * thread).
 */
#ifndef GOIO_PUBSUB_H
#define GOIO_PUBSUB_H

#include <goio/cache.h>
#include <goio/core.h>
#include <goio/redis.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct goio_pubsub goio_pubsub;
typedef struct goio_pubsub_sub goio_pubsub_sub;

/* The largest queue capacity a subscription may ask for. */
#define GOIO_PUBSUB_MAX_QUEUE (1u << 20)

/*
 * A received message: immutable and reference counted. Every pointer stays
 * valid until the reference is released with goio_pubsub_msg_unref (in
 * callback mode: until the callback returns, unless goio_pubsub_msg_ref
 * took a reference).
 */
typedef struct goio_pubsub_msg {
    const char *channel; /* namespace stripped; NUL-terminated */
    size_t channel_len;  /* channels are binary-safe too */
    /* The subscription's pattern that matched, as given; NULL for a
     * message of a channel subscription. */
    const char *pattern;
    const uint8_t *data; /* the payload; data[len] is a NUL (for text) */
    size_t len;
} goio_pubsub_msg;

/* Called on the loop thread for each message (callback mode). */
typedef void (*goio_pubsub_msg_fn)(goio_pubsub_sub *sub,
                                   const goio_pubsub_msg *msg, void *data);
/* Called on the loop thread each time a connection is working again after
 * a failure, once every subscription is re-established. */
typedef void (*goio_pubsub_reconnect_fn)(goio_pubsub *ps, void *data);

typedef struct goio_pubsub_config {
    /* Default queue capacity of a subscription; default 10. */
    size_t queue_capacity;
    /* Keepalive PING interval; default 60000; <= 0 = none. */
    int64_t ping_interval_ms;
    /* Deadline for the answer to any command (PING, AUTH, subscriptions);
     * default 5000; must be > 0. */
    int64_t pong_timeout_ms;
    /* Connect deadline (resolution included); default (0): the goio_redis
     * handle's connect_timeout_ms, or 1000 when that is <= 0. */
    int64_t connect_timeout_ms;
    /* Reconnect backoff bounds; defaults 100 and 5000. */
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    /* Enable Redis server-assisted client-side caching on the subscriber
     * connection (CLIENT TRACKING ... BCAST PREFIX "<ns>:"), for coherent
     * caches with server_assisted. Default false. Needs Redis 6+. */
    bool client_tracking;
    goio_pubsub_reconnect_fn on_reconnect; /* NULL = none */
    void *on_reconnect_data;
} goio_pubsub_config;

/* Fills the documented defaults (NULL is a no-op). */
GOIO_EXTERN void goio_pubsub_config_init(goio_pubsub_config *cfg);

/*
 * Creates a handle on `r` (which must outlive it: publish goes through its
 * pool, the subscriber connection uses its endpoint, password and
 * namespace) and starts its loop thread, which connects in the background:
 * a server that is down is not an error. cfg NULL = defaults. GOIO_EINVAL
 * for NULL r/out or bad config values, GOIO_ENOTSUP for client_tracking in
 * cluster mode, GOIO_ENOMEM, or a libuv/pthread error code.
 */
GOIO_EXTERN int goio_pubsub_new(goio_redis *r, const goio_pubsub_config *cfg,
                                goio_pubsub **out);
/*
 * Stops the loop thread (also mid-reconnect), closes the connection and
 * frees the handle. A host name being resolved is waited for (libuv
 * cannot abandon a running getaddrinfo; the resolver's own timeouts bound
 * it); a numeric address or a unix socket never waits. Subscriptions still
 * open stay valid objects: their queued messages can still be received,
 * then receive returns GOIO_ECLOSED; each must still be released with
 * goio_pubsub_unsubscribe.
 * No other call on the handle may be in progress or follow; must not be
 * called from a callback (it is refused with an ERROR log record). NULL is
 * a no-op.
 */
GOIO_EXTERN void goio_pubsub_free(goio_pubsub *ps);

/* PUBLISH through the goio_redis pool on the namespaced channel (see
 * goio_redis_publish); *receivers may be NULL. ctx may be NULL. */
GOIO_EXTERN int goio_pubsub_publish(goio_pubsub *ps, goio_ctx *ctx,
                                    const char *channel, const void *data,
                                    size_t len, int64_t *receivers);

/* ---- subscriptions ------------------------------------------------------- */

typedef struct goio_pubsub_sub_config {
    /* Queue capacity; 0 = the handle's default. Ignored in callback mode. */
    size_t queue_capacity;
    /* Non-NULL: callback mode (no queue). */
    goio_pubsub_msg_fn callback;
    void *data; /* passed to callback; goio never touches it */
} goio_pubsub_sub_config;

/* Fills the defaults: queue mode with the handle's default capacity
 * (NULL is a no-op). */
GOIO_EXTERN void goio_pubsub_sub_config_init(goio_pubsub_sub_config *cfg);

/*
 * Subscribes to n glob patterns (Redis PSUBSCRIBE syntax: * ? [..] \) and
 * returns a new subscription in *out. Duplicate names in one call count
 * once. Returns as soon as the subscription is registered locally; the
 * Redis side follows asynchronously (goio_pubsub_wait_subscribed waits for
 * it). opts NULL = queue mode with the default capacity.
 */
GOIO_EXTERN int goio_pubsub_psubscribe(goio_pubsub *ps,
                                       const char *const *patterns, size_t n,
                                       const goio_pubsub_sub_config *opts,
                                       goio_pubsub_sub **out);
/* The same for exact channel names (SUBSCRIBE). */
GOIO_EXTERN int goio_pubsub_subscribe(goio_pubsub *ps,
                                      const char *const *channels, size_t n,
                                      const goio_pubsub_sub_config *opts,
                                      goio_pubsub_sub **out);
/*
 * Waits until every name of the subscription is subscribed on the current
 * connection (confirmed by Redis), so that a message published from now
 * on is delivered. Bounded by ctx (GOIO_ETIMEDOUT / GOIO_ECANCELED; NULL
 * waits as long as it takes). GOIO_EPROTO when Redis refused one of the
 * names (logged), GOIO_ECLOSED when the handle was freed, GOIO_EBUSY when
 * it would wait on the loop thread (from a callback).
 */
GOIO_EXTERN int goio_pubsub_wait_subscribed(goio_pubsub_sub *sub,
                                            goio_ctx *ctx);
/*
 * Ends the subscription and frees it with its queue (queued messages are
 * released). When it returns no message will be delivered to it any more
 * and no callback of it is running - except when called from the loop
 * thread (from a callback, its own included), where the callback that is
 * running finishes after it. Calls blocked in receive on other threads
 * return GOIO_ECLOSED first; no call on `sub` may start afterwards. Works
 * after goio_pubsub_free too. GOIO_EINVAL for NULL.
 */
GOIO_EXTERN int goio_pubsub_unsubscribe(goio_pubsub_sub *sub);

/*
 * Takes the oldest queued message into *out (release it with
 * goio_pubsub_msg_unref), waiting while the queue is empty, bounded by ctx
 * (NULL: wait indefinitely): GOIO_ETIMEDOUT / GOIO_ECANCELED when ctx
 * ends first, GOIO_ECLOSED when the subscription is being unsubscribed or
 * the handle was freed and the queue is empty. GOIO_EINVAL for a callback
 * subscription; GOIO_EBUSY instead of waiting on the loop thread (from a
 * callback). Any number of threads may receive at once.
 */
GOIO_EXTERN int goio_pubsub_receive(goio_pubsub_sub *sub, goio_ctx *ctx,
                                    const goio_pubsub_msg **out);
/* Non-blocking receive: GOIO_EAGAIN when the queue is empty. */
GOIO_EXTERN int goio_pubsub_try_receive(goio_pubsub_sub *sub,
                                        const goio_pubsub_msg **out);
/*
 * A file descriptor that polls readable exactly while the subscription has
 * queued messages (level-triggered), for event loops: poll it, then
 * try_receive until GOIO_EAGAIN. Owned by the subscription (do not read or
 * close it); made on first call. GOIO_EINVAL in callback mode.
 */
GOIO_EXTERN int goio_pubsub_sub_fd(goio_pubsub_sub *sub, int *fd);

/* Another reference to a message (e.g. kept from a callback). */
GOIO_EXTERN const goio_pubsub_msg *
goio_pubsub_msg_ref(const goio_pubsub_msg *msg);
/* Releases a reference; NULL is a no-op. */
GOIO_EXTERN void goio_pubsub_msg_unref(const goio_pubsub_msg *msg);

/* ---- statistics ---------------------------------------------------------- */

typedef struct goio_pubsub_sub_stats {
    uint64_t delivered; /* queued or passed to the callback */
    uint64_t dropped;   /* lost to a full queue */
    size_t queued;      /* in the queue now */
    size_t capacity;    /* 0 in callback mode */
} goio_pubsub_sub_stats;

/* A consistent snapshot of one subscription; GOIO_EINVAL for NULLs. Works
 * after goio_pubsub_free too. */
GOIO_EXTERN int goio_pubsub_sub_stats_get(goio_pubsub_sub *sub,
                                          goio_pubsub_sub_stats *out);

typedef struct goio_pubsub_stats {
    uint64_t messages;       /* messages read from Redis */
    uint64_t delivered;      /* deliveries to subscriptions */
    uint64_t dropped;        /* deliveries lost to full queues */
    uint64_t connects;       /* connections that became ready */
    uint64_t connect_errors; /* attempts that failed before ready */
    uint64_t disconnects;    /* ready connections that were lost */
    uint64_t reconnects;     /* connects after the first: gaps */
    uint64_t pings;          /* keepalive PINGs sent */
    uint64_t reply_timeouts; /* commands unanswered in pong_timeout_ms */
    uint32_t subscriptions;  /* local subscriptions */
    uint32_t patterns;       /* patterns subscribed on Redis now */
    uint32_t channels;       /* channels subscribed on Redis now */
    bool connected;          /* a connection is ready now */
} goio_pubsub_stats;

/* The handle's counters (each read atomically, not all at one instant) and
 * its current state; GOIO_EINVAL for NULLs. */
GOIO_EXTERN int goio_pubsub_stats_get(goio_pubsub *ps, goio_pubsub_stats *out);

/* ---- coherent local caches ------------------------------------------------
 *
 * goio_pubsub_coherent_new wraps a hybrid cache (goio_cache_hybrid_new:
 * a local layer in front of a remote one) so that a local copy does not
 * outlive a change made elsewhere. Two mechanisms, either or both:
 *
 *  - explicit: set, del and clear through the wrapper publish the key
 *    (clear: an empty key, meaning "everything") on `channel`, and every
 *    wrapper subscribed to that channel (any process, any goio instance
 *    with the same namespace) drops its local copy. The payload is the
 *    key, a NUL and the sending wrapper's random 16-hex-digit id, so a
 *    wrapper skips its own messages (its local copy is the newest); a bare
 *    key is accepted too, so a Go service can take part by publishing the
 *    key on the same channel. Writes made without the wrapper are not
 *    seen.
 *  - server_assisted: the goio_pubsub handle must have client_tracking.
 *    Its subscriber connection runs CLIENT TRACKING on REDIRECT <its own
 *    id> BCAST PREFIX "<ns>:" and subscribes to __redis__:invalidate, so
 *    Redis itself reports every key of the namespace written by ANY client
 *    (redis-cli, a Go service, a Lua script, expiry and eviction): one
 *    message per command (an MSET lists its keys), and FLUSHDB/FLUSHALL a
 *    null list, which drops every local entry. In BCAST mode Redis tracks
 *    by prefix, not by what a connection read, so one tracking connection
 *    per process sees everything; the pool's connections need nothing and
 *    the tracking lives and dies with the subscriber connection. The
 *    hybrid's remote layer must be a goio_redis cache with the handle's
 *    namespace.
 *
 * Guarantee: a read through the wrapper that starts after an invalidation
 * for its key was received by the loop never returns the old value from
 * the local layer. A local fill that races an invalidation (the remote
 * read saw the old value, the invalidation arrived before the fill) is
 * detected with per-key-slot sequence numbers and dropped at once. While
 * the subscriptions are not live (not yet confirmed, or the connection is
 * down or reconnecting) reads bypass the local layer and go to the remote
 * one; when they are live again (after a reconnect) the whole local layer
 * is dropped first, since invalidations sent in the gap are lost. So the
 * staleness bound is the delivery delay of an invalidation from Redis to
 * the loop (on loopback well under a millisecond; the tests assert every
 * read sees a write made anywhere within 1 s, on busy machines under
 * sanitizers), plus the local layer's TTL in the one case Redis cannot
 * report: a write that happens while the subscriber connection is up but
 * silently partitioned, until the pong timeout drops it.
 *
 * With server_assisted, the wrapper's own writes also invalidate its own
 * local copy when Redis' notification comes back (costing one remote
 * read): Redis cannot tell this process's pool connections apart from
 * other clients. Explicit messages of its own are skipped.
 * A set whose remote write fails drops the local copy too. When the
 * explicit publish fails the call returns that error (the value was
 * written but other instances were not told; it is logged with code
 * coherent_publish_failed).
 *
 * The wrapper is a goio_cache: get, set, del, clear, stats (the hybrid's),
 * get_or_set (generic, over this get/set); get_stale is GOIO_ENOTSUP.
 * Thread-safe like every cache. The goio_pubsub handle must outlive it.
 */

typedef struct goio_pubsub_coherent_config {
    /* Publish and receive explicit invalidations; default true. */
    bool explicit_invalidation;
    /* The channel (namespaced like any channel); default
     * "goio:cache:invalidate". */
    const char *channel;
    /* Use the handle's CLIENT TRACKING invalidations; default false. */
    bool server_assisted;
    /* Free the hybrid when the wrapper is freed; default false. */
    bool own_hybrid;
} goio_pubsub_coherent_config;

/* Fills the documented defaults (NULL is a no-op). */
GOIO_EXTERN void
goio_pubsub_coherent_config_init(goio_pubsub_coherent_config *cfg);
/*
 * Wraps `hybrid`. cfg NULL = defaults. GOIO_EINVAL for NULLs, a cache
 * that is not a hybrid, no mechanism enabled, server_assisted on a handle
 * without client_tracking or over a remote layer that is not a goio_redis
 * cache with the same namespace; GOIO_ENOMEM; GOIO_ECLOSED. Free with
 * goio_cache_free (after which no callback of it runs).
 */
GOIO_EXTERN int goio_pubsub_coherent_new(goio_pubsub *ps, goio_cache *hybrid,
                                         const goio_pubsub_coherent_config *cfg,
                                         goio_cache **out);

typedef struct goio_pubsub_coherent_stats {
    uint64_t invalidations;  /* keys dropped on notification */
    uint64_t flushes;        /* whole local layer dropped */
    uint64_t race_drops;     /* fills dropped because they raced */
    uint64_t bypassed_reads; /* reads sent to the remote layer while the
                                subscriptions were not live */
    bool live;               /* invalidations are being received now */
} goio_pubsub_coherent_stats;

/* The wrapper's counters and whether it is live now; GOIO_EINVAL for
 * NULLs or when c is not a coherent wrapper. */
GOIO_EXTERN int goio_pubsub_coherent_stats_get(goio_cache *c,
                                               goio_pubsub_coherent_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_PUBSUB_H */
