/* SPDX-License-Identifier: MIT */
/** @file
 * pubsub: Redis pub/sub (patterns and channels) that survives faults, and
 * local caches kept coherent through Redis. Built on a goio_redis handle
 * (endpoint, credentials, TLS, namespace: channel "c" is "<ns>:c" on Redis).
 *
 * Delivery is at most once: messages published while the connection is down
 * or that find a full queue are lost; every reconnection is reported
 * (stats.reconnects, WARN pubsub_reconnected, on_reconnect). One subscriber
 * connection and one libuv loop thread per handle; messages are immutable
 * and ref-counted. Queue mode (bounded FIFO per subscription) or callback
 * mode (on the loop thread; must not block). Errors: GOIO_EINVAL, GOIO_ENOMEM,
 * GOIO_ECLOSED after free, publish: the goio_redis_publish codes. Logging
 * category "pubsub" (codes: docs/operations.md). Connection, keepalive,
 * sharing and cluster details: docs/pubsub.md. Thread-safety: handles and
 * subscriptions are safe for concurrent use, except where a call says.
 */
#ifndef GOIO_PUBSUB_H
#define GOIO_PUBSUB_H

#include <goio/cache.h>
#include <goio/core.h>
#include <goio/redis.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A pub/sub handle: one subscriber connection run by its own loop thread,
 * reconnecting and resubscribing after faults (goio_pubsub_new). */
typedef struct goio_pubsub goio_pubsub;
/** One subscription (a set of channels or patterns) with its queue or
 * callback; ended with goio_pubsub_unsubscribe. */
typedef struct goio_pubsub_sub goio_pubsub_sub;

/** The largest queue capacity a subscription may ask for. */
#define GOIO_PUBSUB_MAX_QUEUE (1u << 20)

/** A received message, immutable and ref-counted: valid until
 * goio_pubsub_msg_unref (callback mode: until the callback returns). */
typedef struct goio_pubsub_msg {
    const char *channel; /**< namespace stripped; NUL-terminated */
    size_t channel_len;  /**< channels are binary-safe too */
    /** The subscription's pattern that matched, as given; NULL for a
     * message of a channel subscription. */
    const char *pattern;
    const uint8_t *data; /**< the payload; data[len] is a NUL (for text) */
    size_t len;          /**< payload bytes */
} goio_pubsub_msg;

/** Called on the loop thread for each message (callback mode). */
typedef void (*goio_pubsub_msg_fn)(goio_pubsub_sub *sub,
                                   const goio_pubsub_msg *msg, void *data);
/** Called on the loop thread each time a connection is working again after
 * a failure, once every subscription is re-established. */
typedef void (*goio_pubsub_reconnect_fn)(goio_pubsub *ps, void *data);

/** Settings of a handle; goio_pubsub_config_init fills the defaults. */
typedef struct goio_pubsub_config {
    /** Default queue capacity of a subscription; default 10. */
    size_t queue_capacity;
    /** Keepalive PING interval; default 60000; <= 0 = none. */
    int64_t ping_interval_ms;
    /** Deadline for the answer to any command (PING, AUTH, subscriptions);
     * default 5000; must be > 0. */
    int64_t pong_timeout_ms;
    /** Connect deadline (resolution included); default (0): the goio_redis
     * handle's connect_timeout_ms, or 1000 when that is <= 0. */
    int64_t connect_timeout_ms;
    /** First reconnect delay (> 0), doubled per failure, +-25% jitter;
     * default 100. */
    int64_t reconnect_min_ms;
    /** Ceiling of that delay (>= reconnect_min_ms); default 5000. */
    int64_t reconnect_max_ms;
    /** Enable Redis server-assisted client-side caching on the subscriber
     * connection (`CLIENT TRACKING ... BCAST PREFIX "<ns>:"`), for coherent
     * caches with server_assisted. Default false. Needs Redis 6+. */
    bool client_tracking;
    goio_pubsub_reconnect_fn on_reconnect; /**< NULL = none */
    void *on_reconnect_data;               /**< passed to on_reconnect */
} goio_pubsub_config;

/** Fills the documented defaults (NULL is a no-op). */
GOIO_EXTERN void goio_pubsub_config_init(goio_pubsub_config *cfg);

/** Creates a handle on `r` (which must outlive it) and starts its loop
 * thread, which connects in the background (a server that is down is not an
 * error). cfg NULL = defaults. GOIO_EINVAL, GOIO_ENOTSUP (client_tracking in
 * cluster mode), GOIO_ENOMEM, or a libuv/pthread error. */
GOIO_EXTERN int goio_pubsub_new(goio_redis *r, const goio_pubsub_config *cfg,
                                goio_pubsub **out);
/**
 * Stops the loop thread, closes the connection and frees the handle (waits
 * for a host name being resolved). Open subscriptions stay valid: queued
 * messages can still be received, then GOIO_ECLOSED; each must still be
 * unsubscribed. No call may be in progress or follow; not from a callback
 * (refused with an ERROR record). NULL is a no-op.
 */
GOIO_EXTERN void goio_pubsub_free(goio_pubsub *ps);

/** PUBLISH through the goio_redis pool on the namespaced channel (see
 * goio_redis_publish); *receivers may be NULL. ctx may be NULL. */
GOIO_EXTERN int goio_pubsub_publish(goio_pubsub *ps, goio_ctx *ctx,
                                    const char *channel, const void *data,
                                    size_t len, int64_t *receivers);

/* ---- subscriptions ------------------------------------------------------- */

/** Options of one subscription; goio_pubsub_sub_config_init fills the
 * defaults. */
typedef struct goio_pubsub_sub_config {
    /** Queue capacity; 0 = the handle's default. Ignored in callback mode. */
    size_t queue_capacity;
    /** Non-NULL: callback mode (no queue). */
    goio_pubsub_msg_fn callback;
    void *data; /**< passed to callback; goio never touches it */
} goio_pubsub_sub_config;

/** Fills the defaults: queue mode with the handle's default capacity
 * (NULL is a no-op). */
GOIO_EXTERN void goio_pubsub_sub_config_init(goio_pubsub_sub_config *cfg);

/** Subscribes to n glob patterns (PSUBSCRIBE syntax) in a new subscription
 * *out; duplicates count once. Returns once registered locally; Redis
 * confirms later (goio_pubsub_wait_subscribed). opts NULL = queue mode. */
GOIO_EXTERN int goio_pubsub_psubscribe(goio_pubsub *ps,
                                       const char *const *patterns, size_t n,
                                       const goio_pubsub_sub_config *opts,
                                       goio_pubsub_sub **out);
/** The same for exact channel names (SUBSCRIBE). */
GOIO_EXTERN int goio_pubsub_subscribe(goio_pubsub *ps,
                                      const char *const *channels, size_t n,
                                      const goio_pubsub_sub_config *opts,
                                      goio_pubsub_sub **out);
/** Waits until Redis confirmed every name on the current connection, so
 * later publishes are delivered. Bounded by ctx (GOIO_ETIMEDOUT,
 * GOIO_ECANCELED). GOIO_EPROTO: Redis refused a name; GOIO_ECLOSED; GOIO_EBUSY
 * from a callback (it would wait on the loop thread). */
GOIO_EXTERN int goio_pubsub_wait_subscribed(goio_pubsub_sub *sub,
                                            goio_ctx *ctx);
/** Ends and frees the subscription (queued messages released). On return no
 * message is delivered to it and none of its callbacks runs (except the one
 * calling this from the loop thread); Redis is told later (goio_pubsub_sync
 * waits for it). Blocked receivers get GOIO_ECLOSED. Works after
 * goio_pubsub_free. GOIO_EINVAL for NULL. */
GOIO_EXTERN int goio_pubsub_unsubscribe(goio_pubsub_sub *sub);
/**
 * Waits until Redis has applied every subscribe and unsubscribe made on the
 * handle so far: the connection is ready, nothing is left to send and every
 * (P)SUBSCRIBE/(P)UNSUBSCRIBE sent was answered (a name Redis refused counts
 * as answered). Then Redis' view (PUBSUB NUMPAT/NUMSUB, who a PUBLISH
 * reaches) matches the handle's subscriptions until the next change; changes
 * other threads make meanwhile extend the wait. Bounded by ctx
 * (GOIO_ETIMEDOUT, GOIO_ECANCELED; NULL: no deadline, and a server that
 * stays down blocks). GOIO_EINVAL for NULL, GOIO_ECLOSED, GOIO_EBUSY from a
 * callback (it would wait on the loop thread).
 */
GOIO_EXTERN int goio_pubsub_sync(goio_pubsub *ps, goio_ctx *ctx);

/**
 * Takes the oldest queued message (release with goio_pubsub_msg_unref),
 * waiting while empty, bounded by ctx (NULL: forever): GOIO_ETIMEDOUT,
 * GOIO_ECANCELED, GOIO_ECLOSED (unsubscribed or freed, queue empty),
 * GOIO_EINVAL (callback subscription), GOIO_EBUSY (from a callback).
 * Any number of threads may receive at once.
 */
GOIO_EXTERN int goio_pubsub_receive(goio_pubsub_sub *sub, goio_ctx *ctx,
                                    const goio_pubsub_msg **out);
/** Non-blocking receive: GOIO_EAGAIN when the queue is empty. */
GOIO_EXTERN int goio_pubsub_try_receive(goio_pubsub_sub *sub,
                                        const goio_pubsub_msg **out);
/** An fd readable exactly while messages are queued (level-triggered): poll
 * it, then try_receive until GOIO_EAGAIN. Owned by the subscription.
 * GOIO_EINVAL in callback mode. */
GOIO_EXTERN int goio_pubsub_sub_fd(goio_pubsub_sub *sub, int *fd);

/** Another reference to a message (e.g. kept from a callback). */
GOIO_EXTERN const goio_pubsub_msg *
goio_pubsub_msg_ref(const goio_pubsub_msg *msg);
/** Releases a reference; NULL is a no-op. */
GOIO_EXTERN void goio_pubsub_msg_unref(const goio_pubsub_msg *msg);

/* ---- statistics ---------------------------------------------------------- */

/** Counters of one subscription (goio_pubsub_sub_stats_get). */
typedef struct goio_pubsub_sub_stats {
    uint64_t delivered; /**< queued or passed to the callback */
    uint64_t dropped;   /**< lost to a full queue */
    size_t queued;      /**< in the queue now */
    size_t capacity;    /**< 0 in callback mode */
} goio_pubsub_sub_stats;

/** A consistent snapshot of one subscription; GOIO_EINVAL for NULLs. Works
 * after goio_pubsub_free too. */
GOIO_EXTERN int goio_pubsub_sub_stats_get(goio_pubsub_sub *sub,
                                          goio_pubsub_sub_stats *out);

/** Counters since goio_pubsub_new and the current state
 * (goio_pubsub_stats_get). */
typedef struct goio_pubsub_stats {
    uint64_t messages;       /**< messages read from Redis */
    uint64_t delivered;      /**< deliveries to subscriptions */
    uint64_t dropped;        /**< deliveries lost to full queues */
    uint64_t connects;       /**< connections that became ready */
    uint64_t connect_errors; /**< attempts that failed before ready */
    uint64_t disconnects;    /**< ready connections that were lost */
    uint64_t reconnects;     /**< connects after the first: gaps */
    uint64_t pings;          /**< keepalive PINGs sent */
    uint64_t reply_timeouts; /**< commands unanswered in pong_timeout_ms */
    uint32_t subscriptions;  /**< local subscriptions */
    uint32_t patterns;       /**< patterns subscribed on Redis now */
    uint32_t channels;       /**< channels subscribed on Redis now */
    bool connected;          /**< a connection is ready now */
} goio_pubsub_stats;

/** The handle's counters (each read atomically, not all at one instant) and
 * its current state; GOIO_EINVAL for NULLs. */
GOIO_EXTERN int goio_pubsub_stats_get(goio_pubsub *ps, goio_pubsub_stats *out);

/*
 * Coherent local caches: goio_pubsub_coherent_new wraps a hybrid cache so a
 * local copy does not outlive a change made elsewhere: explicit (the
 * wrapper's set/del/clear publish the key on `channel`; every wrapper drops
 * its copy) and/or server_assisted (Redis CLIENT TRACKING reports writes by
 * any client). While subscriptions are not live, reads bypass the local
 * layer. The wrapper is a goio_cache (get_stale: GOIO_ENOTSUP), thread-safe;
 * the goio_pubsub handle must outlive it. Guarantees and message format:
 * docs/pubsub.md.
 */

/** The payload of the explicit invalidation messages a coherent wrapper
 * publishes (either is accepted on receipt): docs/pubsub.md. */
typedef enum goio_pubsub_inv_format {
    /** GOIO_PUBSUB_INV_BARE when the hybrid is in go-io wire mode
     * (GOIO_CACHE_WIRE_GO_IO), GOIO_PUBSUB_INV_GOIO otherwise. */
    GOIO_PUBSUB_INV_AUTO = 0,
    /** The key, a NUL and the wrapper's random id. */
    GOIO_PUBSUB_INV_GOIO = 1,
    /** The key alone, as a go-io service publishes and reads it. */
    GOIO_PUBSUB_INV_BARE = 2
} goio_pubsub_inv_format;

/** Settings of a coherent wrapper; goio_pubsub_coherent_config_init fills
 * the defaults. At least one mechanism must be on. */
typedef struct goio_pubsub_coherent_config {
    /** Publish and receive explicit invalidations; default true. */
    bool explicit_invalidation;
    /** The channel (namespaced like any channel); default
     * "goio:cache:invalidate". */
    const char *channel;
    /** What the wrapper publishes; default GOIO_PUBSUB_INV_AUTO. */
    goio_pubsub_inv_format format;
    /** Use the handle's CLIENT TRACKING invalidations; default false. */
    bool server_assisted;
    /** Free the hybrid when the wrapper is freed; default false. */
    bool own_hybrid;
} goio_pubsub_coherent_config;

/** Fills the documented defaults (NULL is a no-op). */
GOIO_EXTERN void
goio_pubsub_coherent_config_init(goio_pubsub_coherent_config *cfg);
/** Wraps `hybrid` (cfg NULL = defaults). GOIO_EINVAL (NULLs, not a hybrid,
 * no mechanism, server_assisted without client_tracking or over another
 * remote/namespace, an unknown format), GOIO_ENOMEM, GOIO_ECLOSED. Free with
 * goio_cache_free. */
GOIO_EXTERN int goio_pubsub_coherent_new(goio_pubsub *ps, goio_cache *hybrid,
                                         const goio_pubsub_coherent_config *cfg,
                                         goio_cache **out);

/** Counters of a coherent wrapper (goio_pubsub_coherent_stats_get). */
typedef struct goio_pubsub_coherent_stats {
    uint64_t invalidations;  /**< keys dropped on notification */
    uint64_t flushes;        /**< whole local layer dropped */
    uint64_t race_drops;     /**< fills dropped because they raced */
    uint64_t bypassed_reads; /**< reads sent to the remote layer while the
                                subscriptions were not live */
    uint64_t own_skipped;    /**< messages of this wrapper's own, skipped */
    bool live;               /**< invalidations are being received now */
} goio_pubsub_coherent_stats;

/** The wrapper's counters and whether it is live now; GOIO_EINVAL for
 * NULLs or when c is not a coherent wrapper. */
GOIO_EXTERN int goio_pubsub_coherent_stats_get(goio_cache *c,
                                               goio_pubsub_coherent_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_PUBSUB_H */
