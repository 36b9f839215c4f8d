/* SPDX-License-Identifier: MIT */
/*
 * pubsub internals, shared by src/redis/pubsub*.c.
 *
 * Objects and locks:
 *  - goio_pubsub (ps): the handle. ps->mu guards the registry (entries,
 *    subscription lists, dirty list), the connection state published to
 *    other threads (serial, ready, stopping, closed) and ps->cv, which is
 *    broadcast on every change of a subscription's Redis state.
 *  - goio__ps_entry: one Redis-side subscription (a pattern or a channel,
 *    as sent to Redis) with the local subscriptions sharing it (its
 *    reference count is n_subs, plus one for the pinned tracking channel).
 *    Created by user threads, removed only by the loop once Redis no
 *    longer has it, so a command awaiting its reply can point at it.
 *  - goio_pubsub_sub: a local subscription. sub->mu guards its queue and
 *    the delivery state (closed, in_cb, receivers). Lock order: ps->mu,
 *    then sub->mu. Reference counted: the user's reference plus one per
 *    delivery in flight on the loop thread.
 *  - the connection (pubsub_loop.c) belongs to the loop thread alone.
 *
 * The handle itself is reference counted: one reference for the owner and
 * one per open subscription, so a subscription outliving goio_pubsub_free
 * can still be received from and unsubscribed.
 */
#ifndef GOIO_SRC_REDIS_PUBSUB_INT_H
#define GOIO_SRC_REDIS_PUBSUB_INT_H

#include "redis_internal.h"

#include <goio/pubsub.h>

#include <uv.h>

typedef enum goio__ps_state {
    GOIO__PS_NONE = 0,    /* not subscribed on the current connection */
    GOIO__PS_PENDING_SUB, /* (P)SUBSCRIBE sent, not confirmed */
    GOIO__PS_ACTIVE,      /* confirmed */
    GOIO__PS_PENDING_UNSUB /* (P)UNSUBSCRIBE sent, not confirmed */,
    GOIO__PS_FAILED /* Redis refused it; retried after a reconnect */
} goio__ps_state;

typedef struct goio__ps_entry {
    struct goio__ps_entry *next;       /* hash chain */
    struct goio__ps_entry *next_dirty; /* dirty list */
    uint64_t hash;
    bool pattern;
    bool dirty;
    bool pinned;   /* the tracking channel: kept while the handle lives */
    uint8_t state; /* goio__ps_state */
    char *raw;     /* as sent to Redis (namespaced); NUL-terminated */
    size_t raw_len;
    const char *user; /* as the user gave it (points into raw) */
    goio_pubsub_sub **subs;
    size_t n_subs, cap_subs;
} goio__ps_entry;

/* Internal delivery hooks (coherent caches). */
typedef struct goio__ps_hooks {
    /* Instead of a message: the raw payload reply (the tracking channel's
     * payload is an array of keys or a null). */
    void (*raw)(goio_pubsub_sub *sub, const redisReply *payload, void *data);
    /* Runs on the loop thread once the subscription is confirmed on a
     * connection, before it is reported live (goio__pubsub_sub_live). */
    void (*on_active)(goio_pubsub_sub *sub, void *data);
} goio__ps_hooks;

struct goio_pubsub_sub {
    goio_pubsub *ps;
    struct goio_pubsub_sub *prev, *next; /* ps->subs, under ps->mu */
    goio__ps_entry **entries;            /* under ps->mu */
    size_t n_entries;
    bool pattern;
    atomic_int refs;
    /* Connection serial on which every entry was last confirmed. */
    _Atomic uint64_t active_serial;

    pthread_mutex_t mu;
    pthread_cond_t cv;   /* queue, close, receivers and in_cb changes */
    bool closed;         /* unsubscribed */
    bool ps_closed;      /* the handle was freed: drain, then ECLOSED */
    bool in_cb;          /* a callback of it is running */
    bool dropping;       /* the last delivery was dropped (log once) */
    bool notify_pending; /* on the loop's wake list */
    bool efd_armed;      /* the eventfd reads as readable */
    int receivers;       /* threads inside receive */
    int waiting;         /* of which blocked on cv */
    const goio_pubsub_msg **q;
    size_t cap, head, len;
    int efd; /* eventfd, -1 until asked for */
    uint64_t delivered, dropped;

    goio_pubsub_msg_fn cb;
    void *data;
    goio__ps_hooks hooks;
};

/* A message and its shared bytes, in one allocation. */
typedef struct goio__ps_msg {
    goio_pubsub_msg pub;
    atomic_int refs;
    char bytes[];
} goio__ps_msg;

typedef struct goio__ps_counters {
    _Atomic uint64_t messages, delivered, dropped, connects, connect_errors,
        disconnects, reconnects, pings, reply_timeouts;
} goio__ps_counters;

struct goio__ps_conn;

struct goio_pubsub {
    goio_redis *r;
    const goio__redis_opts *o; /* &r->opts */
    size_t queue_capacity;
    int64_t ping_ms, pong_ms, connect_ms, backoff_min_ms, backoff_max_ms;
    bool tracking;
    goio_pubsub_reconnect_fn on_reconnect;
    void *on_reconnect_data;
    char *prefix; /* "ns:" or "" */
    size_t prefix_len;
    char *pprefix; /* the same with glob characters escaped */
    size_t pprefix_len;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    goio__ps_entry **buckets;
    size_t n_buckets, n_entries;
    goio__ps_entry *dirty;
    goio_pubsub_sub *subs;
    size_t n_subs;
    goio__ps_entry *tracking_entry;
    _Atomic uint64_t serial; /* bumped when a connection is lost */
    bool ready;              /* the current connection is ready */
    bool stopping;           /* free has begun: no more wake-ups */
    atomic_bool stop_req;    /* the same, read by the loop between replies */
    bool closed;             /* the loop is gone */
    atomic_int refs;
    goio__ps_counters ctr;

    /* Loop thread only. */
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t t_retry, t_deadline, t_ping;
    struct goio__ps_conn *conn;
    const goio__redis_addr *addr; /* the server of conn (or the last) */
    size_t node_rr;               /* cluster: the next node to try */
    int attempts;                 /* failed attempts since the last ready */
    bool ever_ready;              /* a connection was ready once */
    bool loop_stopping;           /* shutdown has begun on the loop */
    int64_t down_since;           /* monotonic ms the outage began */
    uint64_t rng;                 /* jitter */
    goio_pubsub_sub **scratch;    /* callback deliveries being made */
    size_t scratch_cap;
    goio_pubsub_sub **wake_list; /* queues to notify after a read batch */
    size_t n_wake, cap_wake;
};

/* ---- registry (pubsub_registry.c), callers hold ps->mu ------------------ */

#define GOIO__PS_TRACKING_CHANNEL "__redis__:invalidate"

uint64_t goio__ps_hash(bool pattern, const char *s, size_t len);
goio__ps_entry *goio__ps_entry_find(goio_pubsub *ps, bool pattern,
                                    const char *raw, size_t len);
/* Finds or creates the entry of a user name (raw: no namespace). */
int goio__ps_entry_get(goio_pubsub *ps, bool pattern, bool raw_name,
                       const char *name, goio__ps_entry **out);
void goio__ps_entry_mark_dirty(goio_pubsub *ps, goio__ps_entry *e);
/* Unlinks and frees an entry (no subscriber, no reply awaited). */
void goio__ps_entry_remove(goio_pubsub *ps, goio__ps_entry *e);
void goio__ps_registry_free(goio_pubsub *ps);
/* Whether every entry of sub is active on the current connection; 0, or
 * GOIO_EPROTO when one failed, or GOIO_EAGAIN when not yet. */
int goio__ps_sub_state(goio_pubsub *ps, goio_pubsub_sub *sub);

/* Whether Redis has applied every change of the registry: ready, nothing
 * dirty, every entry active or refused (no entry unsent or awaiting its
 * answer; an entry nobody wants is removed once Redis dropped it). 0 or
 * GOIO_EAGAIN. */
int goio__ps_settled(goio_pubsub *ps);

/* ---- subscriptions and messages (pubsub.c) ------------------------------ */

void goio__ps_sub_unref(goio_pubsub_sub *sub);
void goio__ps_unref(goio_pubsub *ps);
/* Pushes a message on a queue subscription (holding ps->mu); returns
 * whether it was dropped, and whether this started a run of drops.
 * *notify: the loop must call goio__ps_notify(sub) once its batch is
 * done (and hold a reference until then). */
bool goio__ps_enqueue(goio_pubsub_sub *sub, goio__ps_msg *m, bool *log_drop,
                      bool *notify);
/* Wakes a receiver and arms the fd if messages are queued. */
void goio__ps_notify(goio_pubsub_sub *sub);
/* A message with one reference. pattern may be NULL. */
goio__ps_msg *goio__ps_msg_new(const char *channel, size_t channel_len,
                               const char *pattern, const char *data,
                               size_t len);
void goio__ps_msg_unref(goio__ps_msg *m);
/* Runs a callback delivery on the loop thread unless sub is closed. */
void goio__ps_deliver_cb(goio_pubsub_sub *sub, goio__ps_msg *m,
                         const redisReply *raw_payload);
/* Runs the on_active hook (if any) on the loop thread, then records that
 * sub is live on connection `serial`. */
void goio__ps_deliver_active(goio_pubsub_sub *sub, uint64_t serial);
/* Whether the calling thread is ps's loop thread. */
bool goio__ps_on_loop(goio_pubsub *ps);
/* Marks the handle's subscriptions closed and wakes their receivers
 * (after the loop has stopped; holding ps->mu). */
void goio__ps_close_subs(goio_pubsub *ps);

/* Internal subscribe with hooks (raw_name: names are not namespaced). */
int goio__pubsub_subscribe_ex(goio_pubsub *ps, bool pattern, bool raw_name,
                              const char *const *names, size_t n,
                              const goio_pubsub_sub_config *opts,
                              const goio__ps_hooks *hooks,
                              goio_pubsub_sub **out);
/* Whether sub is confirmed on the connection that is up now. */
bool goio__pubsub_sub_live(goio_pubsub_sub *sub);

/* ---- the loop (pubsub_loop.c) ------------------------------------------- */

int goio__ps_loop_start(goio_pubsub *ps);
/* Sets ps->stopping, stops the loop (also mid-connect) and joins it. */
void goio__ps_loop_stop(goio_pubsub *ps);
void goio__ps_mark_loop_thread(goio_pubsub *ps);
/* Wakes the loop to sync the registry (holding ps->mu). */
void goio__ps_wake(goio_pubsub *ps);

#endif /* GOIO_SRC_REDIS_PUBSUB_INT_H */
