/* SPDX-License-Identifier: MIT */
/*
 * goio/pubsub.h: the handle, subscriptions, queues and messages. The loop
 * thread that talks to Redis is in pubsub_loop.c, the registry of Redis
 * subscriptions in pubsub_registry.c, coherent caches in
 * pubsub_coherence.c.
 */
#include "pubsub_int.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The loop thread marks itself here, so "am I the loop?" needs no shared
 * state (unsubscribe from a callback must not wait for itself). */
static _Thread_local goio_pubsub *tls_loop_ps;

bool goio__ps_on_loop(goio_pubsub *ps)
{
    return tls_loop_ps == ps;
}

void goio__ps_mark_loop_thread(goio_pubsub *ps)
{
    tls_loop_ps = ps;
}

/* ---- small helpers --------------------------------------------------------
 */

/* The eventfd is "armed" (readable) exactly while the queue holds
 * messages, or for good once the handle is closed. sub->mu held. */
static void efd_arm(goio_pubsub_sub *s)
{
    if (s->efd < 0 || s->efd_armed)
        return;
    uint64_t one = 1;
    ssize_t n = write(s->efd, &one, sizeof one);
    (void)n; /* cannot fail short of overflow, which 0/1 use never hits */
    s->efd_armed = true;
}

static void efd_disarm(goio_pubsub_sub *s)
{
    if (s->efd < 0 || !s->efd_armed || s->ps_closed)
        return;
    uint64_t v;
    ssize_t n = read(s->efd, &v, sizeof v);
    (void)n; /* the counter is 1: cannot fail */
    s->efd_armed = false;
}

/* ---- messages -------------------------------------------------------------
 */

goio__ps_msg *goio__ps_msg_new(const char *channel, size_t channel_len,
                               const char *pattern, const char *data,
                               size_t len)
{
    size_t plen = pattern ? strlen(pattern) + 1 : 0;
    size_t extra = channel_len + 1 + plen;
    if (len > SIZE_MAX - sizeof(goio__ps_msg) - extra - 1)
        return NULL;
    goio__ps_msg *m = goio_malloc(sizeof *m + extra + len + 1);
    if (!m)
        return NULL;
    char *p = m->bytes;
    memcpy(p, channel, channel_len);
    p[channel_len] = '\0';
    m->pub.channel = p;
    m->pub.channel_len = channel_len;
    p += channel_len + 1;
    m->pub.pattern = NULL;
    if (pattern) {
        memcpy(p, pattern, plen);
        m->pub.pattern = p;
        p += plen;
    }
    if (len)
        memcpy(p, data, len);
    p[len] = '\0';
    m->pub.data = (const uint8_t *)p;
    m->pub.len = len;
    atomic_init(&m->refs, 1);
    return m;
}

void goio__ps_msg_unref(goio__ps_msg *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        goio_free(m);
}

const goio_pubsub_msg *goio_pubsub_msg_ref(const goio_pubsub_msg *msg)
{
    if (msg)
        atomic_fetch_add_explicit(&((goio__ps_msg *)msg)->refs, 1,
                                  memory_order_relaxed);
    return msg;
}

void goio_pubsub_msg_unref(const goio_pubsub_msg *msg)
{
    goio__ps_msg_unref((goio__ps_msg *)msg);
}

/* ---- handle ---------------------------------------------------------------
 */

void goio_pubsub_config_init(goio_pubsub_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->queue_capacity = 10;
    cfg->ping_interval_ms = 60000;
    cfg->pong_timeout_ms = 5000;
    cfg->reconnect_min_ms = 100;
    cfg->reconnect_max_ms = 5000;
}

void goio_pubsub_sub_config_init(goio_pubsub_sub_config *cfg)
{
    if (cfg)
        memset(cfg, 0, sizeof *cfg);
}

static bool config_valid(const goio_pubsub_config *c)
{
    return c->queue_capacity >= 1 &&
           c->queue_capacity <= GOIO_PUBSUB_MAX_QUEUE &&
           c->pong_timeout_ms > 0 && c->connect_timeout_ms >= 0 &&
           c->reconnect_min_ms > 0 &&
           c->reconnect_max_ms >= c->reconnect_min_ms;
}

static int init_names(goio_pubsub *ps)
{
    const goio__redis_opts *o = ps->o;
    ps->prefix_len = o->ns_len ? o->ns_len + 1 : 0;
    ps->prefix = goio_malloc(ps->prefix_len + 1);
    if (!ps->prefix)
        return GOIO_ENOMEM;
    if (o->ns_len) {
        memcpy(ps->prefix, o->ns, o->ns_len);
        ps->prefix[o->ns_len] = ':';
    }
    ps->prefix[ps->prefix_len] = '\0';
    /* Escaped for patterns, so a namespace like "a*b" matches only itself
     * (reserving first: an empty prefix is "", not NULL). */
    goio_buf b = GOIO_BUF_INIT;
    if (goio_buf_reserve(&b, ps->prefix_len) ||
        goio__redis_glob_escape(ps->prefix, ps->prefix_len, &b)) {
        goio_buf_deinit(&b);
        return GOIO_ENOMEM;
    }
    goio_buf_cstr(&b);
    ps->pprefix = (char *)goio_buf_detach(&b, &ps->pprefix_len);
    return 0;
}

static void ps_destroy(goio_pubsub *ps)
{
    goio__ps_registry_free(ps);
    pthread_mutex_destroy(&ps->mu);
    pthread_cond_destroy(&ps->cv);
    goio_free(ps->prefix);
    goio_free(ps->pprefix);
    goio_free(ps);
}

void goio__ps_unref(goio_pubsub *ps)
{
    if (atomic_fetch_sub_explicit(&ps->refs, 1, memory_order_acq_rel) == 1)
        ps_destroy(ps);
}

static void copy_config(goio_pubsub *ps, const goio_pubsub_config *c)
{
    ps->queue_capacity = c->queue_capacity;
    ps->ping_ms = c->ping_interval_ms;
    ps->pong_ms = c->pong_timeout_ms;
    ps->connect_ms = c->connect_timeout_ms           ? c->connect_timeout_ms
                     : ps->o->connect_timeout_ms > 0 ? ps->o->connect_timeout_ms
                                                     : 1000;
    ps->backoff_min_ms = c->reconnect_min_ms;
    ps->backoff_max_ms = c->reconnect_max_ms;
    ps->tracking = c->client_tracking;
    ps->on_reconnect = c->on_reconnect;
    ps->on_reconnect_data = c->on_reconnect_data;
}

/* The tracking channel is subscribed for the handle's whole life: Redis
 * sends RESP2 invalidations only to a connection in pub/sub mode. */
static int pin_tracking_channel(goio_pubsub *ps)
{
    goio__ps_entry *e;
    int rc = goio__ps_entry_get(ps, false, true, GOIO__PS_TRACKING_CHANNEL, &e);
    if (rc)
        return rc;
    e->pinned = true;
    ps->tracking_entry = e;
    return 0;
}

int goio_pubsub_new(goio_redis *r, const goio_pubsub_config *cfg,
                    goio_pubsub **out)
{
    goio_pubsub_config defaults;
    if (!cfg) {
        goio_pubsub_config_init(&defaults);
        cfg = &defaults;
    }
    if (!r || !out || !config_valid(cfg))
        return GOIO_EINVAL;
    *out = NULL;
    if (cfg->client_tracking && r->opts.cluster)
        return GOIO_ENOTSUP;
    goio_pubsub *ps = goio_calloc(1, sizeof *ps);
    if (!ps)
        return GOIO_ENOMEM;
    ps->r = r;
    ps->o = &r->opts;
    copy_config(ps, cfg);
    atomic_init(&ps->refs, 1);
    atomic_init(&ps->serial, 1);
    ps->rng = goio_random_u64() | 1; /* xorshift: never 0 */
    if (pthread_mutex_init(&ps->mu, NULL)) {
        goio_free(ps);
        return GOIO_ENOMEM;
    }
    int rc = goio__redis_cond_init(&ps->cv);
    if (rc) {
        pthread_mutex_destroy(&ps->mu);
        goio_free(ps);
        return rc;
    }
    if ((rc = init_names(ps)) == 0 && ps->tracking)
        rc = pin_tracking_channel(ps);
    if (rc == 0)
        rc = goio__ps_loop_start(ps);
    if (rc) {
        ps_destroy(ps);
        return rc;
    }
    *out = ps;
    return 0;
}

void goio__ps_close_subs(goio_pubsub *ps)
{
    for (goio_pubsub_sub *s = ps->subs; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        s->ps_closed = true;
        efd_arm(s); /* pollers find out through try_receive */
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

void goio_pubsub_free(goio_pubsub *ps)
{
    if (!ps)
        return;
    if (goio__ps_on_loop(ps)) {
        goio_log(GOIO_LOG_ERROR, "pubsub", "pubsub_free_from_callback", NULL,
                 GOIO_EBUSY,
                 "goio_pubsub_free called from a pubsub callback: refused "
                 "(the loop thread cannot join itself)");
        return;
    }
    goio__ps_loop_stop(ps);
    pthread_mutex_lock(&ps->mu);
    ps->closed = true;
    ps->ready = false;
    goio__ps_close_subs(ps);
    goio__ps_registry_free(ps); /* subscriptions no longer look at it */
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
    goio__ps_unref(ps);
}

int goio_pubsub_publish(goio_pubsub *ps, goio_ctx *ctx, const char *channel,
                        const void *data, size_t len, int64_t *receivers)
{
    if (!ps)
        return GOIO_EINVAL;
    return goio_redis_publish(ps->r, ctx, channel, data, len, receivers);
}

/* ---- subscribing ----------------------------------------------------------
 */

#define MAX_NAMES 65536

static bool names_valid(const char *const *names, size_t n)
{
    if (!names || n == 0 || n > MAX_NAMES)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!goio_cache_key_valid(names[i]))
            return false;
    return true;
}

static goio_pubsub_sub *sub_alloc(goio_pubsub *ps, bool pattern, size_t n,
                                  size_t cap,
                                  const goio_pubsub_sub_config *opts,
                                  const goio__ps_hooks *hooks)
{
    goio_pubsub_sub *s = goio_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ps = ps;
    s->pattern = pattern;
    s->efd = -1;
    atomic_init(&s->refs, 1);
    atomic_init(&s->active_serial, 0);
    if (opts) {
        s->cb = opts->callback;
        s->data = opts->data;
    }
    if (hooks)
        s->hooks = *hooks;
    s->entries = goio_calloc(n, sizeof *s->entries);
    bool queue = !s->cb && !s->hooks.raw;
    s->cap = queue ? cap : 0;
    s->q = queue ? goio_calloc(cap, sizeof *s->q) : NULL;
    if (!s->entries || (queue && !s->q) || pthread_mutex_init(&s->mu, NULL))
        goto fail;
    if (goio__redis_cond_init(&s->cv)) {
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    return s;
fail:
    goio_free(s->q);
    goio_free(s->entries);
    goio_free(s);
    return NULL;
}

static void sub_destroy(goio_pubsub_sub *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    goio_free(s->q);
    goio_free(s->entries);
    goio_free(s);
}

void goio__ps_sub_unref(goio_pubsub_sub *sub)
{
    if (atomic_fetch_sub_explicit(&sub->refs, 1, memory_order_acq_rel) != 1)
        return;
    goio_pubsub *ps = sub->ps;
    sub_destroy(sub);
    goio__ps_unref(ps);
}

/* Whether nothing refers to an entry any more: no subscriber, not
 * pinned and no reply awaited (the pending states), so it can go. */
static bool entry_unused(const goio__ps_entry *e)
{
    return e->n_subs == 0 && !e->pinned &&
           (e->state == GOIO__PS_NONE || e->state == GOIO__PS_FAILED);
}

/* Detaches sub from one entry (holding ps->mu). An entry Redis has (or
 * is being told about) is left to the loop, which unsubscribes it. */
static void entry_detach(goio_pubsub *ps, goio__ps_entry *e,
                         goio_pubsub_sub *sub)
{
    for (size_t i = 0; i < e->n_subs; i++) {
        if (e->subs[i] == sub) {
            e->subs[i] = e->subs[--e->n_subs];
            break;
        }
    }
    if (entry_unused(e))
        goio__ps_entry_remove(ps, e);
    else
        goio__ps_entry_mark_dirty(ps, e);
}

static int entry_attach(goio__ps_entry *e, goio_pubsub_sub *sub)
{
    if (e->n_subs == e->cap_subs) {
        size_t cap = e->cap_subs ? e->cap_subs * 2 : 4;
        goio_pubsub_sub **p = goio_reallocarray(e->subs, cap, sizeof *p);
        if (!p)
            return GOIO_ENOMEM;
        e->subs = p;
        e->cap_subs = cap;
    }
    e->subs[e->n_subs++] = sub;
    return 0;
}

static bool sub_has_entry(const goio_pubsub_sub *s, const goio__ps_entry *e)
{
    for (size_t i = 0; i < s->n_entries; i++)
        if (s->entries[i] == e)
            return true;
    return false;
}

static bool reserved_name(goio_pubsub *ps, bool pattern, bool raw,
                          const char *name)
{
    return ps->tracking && !pattern && (raw || ps->prefix_len == 0) &&
           !strcmp(name, GOIO__PS_TRACKING_CHANNEL);
}

/* Adds sub to the entries of names (holding ps->mu); undoes it all on
 * failure. */
static int attach_all(goio_pubsub *ps, goio_pubsub_sub *s, bool raw,
                      const char *const *names, size_t n, bool internal)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        goio__ps_entry *e;
        if (!internal && reserved_name(ps, s->pattern, raw, names[i]))
            rc = GOIO_EINVAL;
        else if ((rc = goio__ps_entry_get(ps, s->pattern, raw, names[i], &e)) ==
                     0 &&
                 !sub_has_entry(s, e)) {
            if ((rc = entry_attach(e, s)) == 0) {
                s->entries[s->n_entries++] = e;
                goio__ps_entry_mark_dirty(ps, e);
            } else if (entry_unused(e)) {
                goio__ps_entry_remove(ps, e);
            }
        }
    }
    if (rc) {
        for (size_t i = 0; i < s->n_entries; i++)
            entry_detach(ps, s->entries[i], s);
        s->n_entries = 0;
    }
    return rc;
}

int goio__pubsub_subscribe_ex(goio_pubsub *ps, bool pattern, bool raw,
                              const char *const *names, size_t n,
                              const goio_pubsub_sub_config *opts,
                              const goio__ps_hooks *hooks,
                              goio_pubsub_sub **out)
{
    if (!ps || !out || !names_valid(names, n))
        return GOIO_EINVAL;
    *out = NULL;
    size_t cap = opts && opts->queue_capacity ? opts->queue_capacity
                                              : ps->queue_capacity;
    if (cap > GOIO_PUBSUB_MAX_QUEUE)
        return GOIO_EINVAL;
    goio_pubsub_sub *s = sub_alloc(ps, pattern, n, cap, opts, hooks);
    if (!s)
        return GOIO_ENOMEM;
    pthread_mutex_lock(&ps->mu);
    int rc = ps->stopping ? GOIO_ECLOSED
                          : attach_all(ps, s, raw, names, n, hooks != NULL);
    if (rc == 0) {
        s->next = ps->subs;
        if (ps->subs)
            ps->subs->prev = s;
        ps->subs = s;
        ps->n_subs++;
        atomic_fetch_add_explicit(&ps->refs, 1, memory_order_relaxed);
    }
    goio__ps_wake(ps); /* also after a failure: entries may be dirty */
    pthread_mutex_unlock(&ps->mu);
    if (rc) {
        sub_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

int goio_pubsub_psubscribe(goio_pubsub *ps, const char *const *patterns,
                           size_t n, const goio_pubsub_sub_config *opts,
                           goio_pubsub_sub **out)
{
    return goio__pubsub_subscribe_ex(ps, true, false, patterns, n, opts, NULL,
                                     out);
}

int goio_pubsub_subscribe(goio_pubsub *ps, const char *const *channels,
                          size_t n, const goio_pubsub_sub_config *opts,
                          goio_pubsub_sub **out)
{
    return goio__pubsub_subscribe_ex(ps, false, false, channels, n, opts, NULL,
                                     out);
}

bool goio__pubsub_sub_live(goio_pubsub_sub *sub)
{
    uint64_t serial = atomic_load(&sub->ps->serial);
    return atomic_load(&sub->active_serial) == serial;
}

static void wake_ps(void *arg)
{
    goio_pubsub *ps = arg;
    pthread_mutex_lock(&ps->mu);
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
}

/* Waits under ps->mu until state() is no longer GOIO_EAGAIN (its code),
 * the handle closes (also while stopping when `stopping_closes`), or ctx
 * ends. Refused on the loop thread, the only one that could end it. */
static int wait_for(goio_pubsub *ps, goio_ctx *ctx, bool stopping_closes,
                    int (*state)(goio_pubsub *ps, void *arg), void *arg)
{
    goio_ctx_watch *w = NULL;
    if (ctx) {
        int rc = goio_ctx_on_cancel(ctx, wake_ps, ps, &w);
        if (rc)
            return rc;
    }
    int rc;
    pthread_mutex_lock(&ps->mu);
    for (;;) {
        if (ps->closed || (stopping_closes && ps->stopping)) {
            rc = GOIO_ECLOSED;
            break;
        }
        if ((rc = state(ps, arg)) != GOIO_EAGAIN)
            break;
        if ((rc = goio_ctx_err(ctx)) != 0)
            break;
        if (goio__ps_on_loop(ps)) {
            rc = GOIO_EBUSY;
            break;
        }
        goio__redis_cond_wait(&ps->cv, &ps->mu, goio_ctx_deadline(ctx));
    }
    pthread_mutex_unlock(&ps->mu);
    goio_ctx_watch_remove(ctx, w);
    return rc;
}

static int sub_state(goio_pubsub *ps, void *sub)
{
    return goio__ps_sub_state(ps, sub);
}

static int settled(goio_pubsub *ps, void *unused)
{
    (void)unused;
    return goio__ps_settled(ps);
}

int goio_pubsub_wait_subscribed(goio_pubsub_sub *sub, goio_ctx *ctx)
{
    if (!sub)
        return GOIO_EINVAL;
    return wait_for(sub->ps, ctx, false, sub_state, sub);
}

int goio_pubsub_sync(goio_pubsub *ps, goio_ctx *ctx)
{
    if (!ps)
        return GOIO_EINVAL;
    return wait_for(ps, ctx, true, settled, NULL);
}

/* ---- unsubscribing --------------------------------------------------------
 */

static void drain_queue(goio_pubsub_sub *s)
{
    while (s->len) {
        goio_pubsub_msg_unref(s->q[s->head]);
        s->head = (s->head + 1) % s->cap;
        s->len--;
    }
    goio_free(s->q);
    s->q = NULL;
    if (s->efd >= 0)
        close(s->efd);
    s->efd = -1;
}

int goio_pubsub_unsubscribe(goio_pubsub_sub *sub)
{
    if (!sub)
        return GOIO_EINVAL;
    goio_pubsub *ps = sub->ps;
    pthread_mutex_lock(&ps->mu);
    if (!ps->closed) {
        for (size_t i = 0; i < sub->n_entries; i++)
            entry_detach(ps, sub->entries[i], sub);
        goio__ps_wake(ps);
    }
    sub->n_entries = 0;
    if (sub->prev)
        sub->prev->next = sub->next;
    else
        ps->subs = sub->next;
    if (sub->next)
        sub->next->prev = sub->prev;
    ps->n_subs--;
    pthread_mutex_unlock(&ps->mu);

    /* No new delivery can start now; wait out the ones in progress. */
    bool on_loop = goio__ps_on_loop(ps);
    pthread_mutex_lock(&sub->mu);
    sub->closed = true;
    pthread_cond_broadcast(&sub->cv);
    while (sub->receivers > 0 || (sub->in_cb && !on_loop))
        pthread_cond_wait(&sub->cv, &sub->mu);
    drain_queue(sub);
    pthread_mutex_unlock(&sub->mu);
    goio__ps_sub_unref(sub);
    return 0;
}

/* ---- delivery (loop thread) -----------------------------------------------
 */

bool goio__ps_enqueue(goio_pubsub_sub *s, goio__ps_msg *m, bool *log_drop,
                      bool *notify)
{
    bool dropped = false;
    pthread_mutex_lock(&s->mu);
    if (s->closed || s->ps_closed) {
        /* unsubscribed meanwhile: not a drop */
    } else if (s->len == s->cap) {
        s->dropped++;
        *log_drop = !s->dropping;
        s->dropping = true;
        dropped = true;
    } else {
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
        s->q[(s->head + s->len) % s->cap] = &m->pub;
        /* Receivers and the fd are told once per batch the loop read
         * (goio__ps_notify), not once per message: a wake-up costs more
         * than a message. */
        if (s->len++ == 0 && !s->notify_pending)
            *notify = s->notify_pending = true;
        s->delivered++;
        s->dropping = false;
    }
    pthread_mutex_unlock(&s->mu);
    return dropped;
}

void goio__ps_notify(goio_pubsub_sub *s)
{
    pthread_mutex_lock(&s->mu);
    s->notify_pending = false;
    if (s->len) {
        efd_arm(s);
        if (s->waiting)
            pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

/* Marks a callback as running unless sub is closed. */
static bool cb_begin(goio_pubsub_sub *s, bool count)
{
    pthread_mutex_lock(&s->mu);
    bool ok = !s->closed && !s->ps_closed;
    if (ok) {
        s->in_cb = true;
        s->delivered += count;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void cb_end(goio_pubsub_sub *s)
{
    pthread_mutex_lock(&s->mu);
    s->in_cb = false;
    if (s->closed)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void goio__ps_deliver_cb(goio_pubsub_sub *s, goio__ps_msg *m,
                         const redisReply *raw_payload)
{
    if (!cb_begin(s, true))
        return;
    if (s->hooks.raw)
        s->hooks.raw(s, raw_payload, s->data);
    else if (s->cb && m)
        s->cb(s, &m->pub, s->data);
    cb_end(s);
}

void goio__ps_deliver_active(goio_pubsub_sub *s, uint64_t serial)
{
    if (s->hooks.on_active) {
        if (!cb_begin(s, false))
            return;
        s->hooks.on_active(s, s->data);
        cb_end(s);
    }
    atomic_store(&s->active_serial, serial);
}

/* ---- receiving ------------------------------------------------------------
 */

static const goio_pubsub_msg *pop(goio_pubsub_sub *s)
{
    const goio_pubsub_msg *m = s->q[s->head];
    s->head = (s->head + 1) % s->cap;
    if (--s->len == 0)
        efd_disarm(s);
    else if (s->waiting) /* one signal per batch: pass it on */
        pthread_cond_signal(&s->cv);
    return m;
}

static void wake_sub(void *arg)
{
    goio_pubsub_sub *s = arg;
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static bool queue_mode(const goio_pubsub_sub *s)
{
    return !s->cb && !s->hooks.raw;
}

int goio_pubsub_try_receive(goio_pubsub_sub *sub, const goio_pubsub_msg **out)
{
    if (!sub || !out || !queue_mode(sub))
        return GOIO_EINVAL;
    int rc = GOIO_EAGAIN;
    pthread_mutex_lock(&sub->mu);
    if (sub->len) {
        *out = pop(sub);
        rc = 0;
    } else if (sub->closed || sub->ps_closed) {
        rc = GOIO_ECLOSED;
    }
    pthread_mutex_unlock(&sub->mu);
    return rc;
}

/* One step of receive with sub->mu held: 0 with *out, a final error, or
 * GOIO_EAGAIN to wait. */
static int receive_step(goio_pubsub_sub *s, goio_ctx *ctx,
                        const goio_pubsub_msg **out)
{
    if (s->len) {
        *out = pop(s);
        return 0;
    }
    if (s->closed || s->ps_closed)
        return GOIO_ECLOSED;
    int rc = goio_ctx_err(ctx);
    if (rc == 0 && goio__ps_on_loop(s->ps))
        rc = GOIO_EBUSY; /* waiting in a callback would stop the loop */
    return rc ? rc : GOIO_EAGAIN;
}

int goio_pubsub_receive(goio_pubsub_sub *sub, goio_ctx *ctx,
                        const goio_pubsub_msg **out)
{
    if (!sub || !out || !queue_mode(sub))
        return GOIO_EINVAL;
    goio_ctx_watch *w = NULL;
    bool watched = false;
    int rc;
    pthread_mutex_lock(&sub->mu);
    sub->receivers++;
    while ((rc = receive_step(sub, ctx, out)) == GOIO_EAGAIN) {
        if (ctx && !watched) { /* only now: the fast path allocates nothing */
            pthread_mutex_unlock(&sub->mu);
            rc = goio_ctx_on_cancel(ctx, wake_sub, sub, &w);
            pthread_mutex_lock(&sub->mu);
            if (rc)
                break;
            watched = true;
            continue;
        }
        sub->waiting++;
        goio__redis_cond_wait(&sub->cv, &sub->mu, goio_ctx_deadline(ctx));
        sub->waiting--;
    }
    if (watched) { /* before leaving: unsubscribe may free sub after */
        pthread_mutex_unlock(&sub->mu);
        goio_ctx_watch_remove(ctx, w);
        pthread_mutex_lock(&sub->mu);
    }
    if (--sub->receivers == 0 && sub->closed)
        pthread_cond_broadcast(&sub->cv);
    pthread_mutex_unlock(&sub->mu);
    return rc;
}

int goio_pubsub_sub_fd(goio_pubsub_sub *sub, int *fd)
{
    if (!sub || !fd || !queue_mode(sub))
        return GOIO_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&sub->mu);
    if (sub->efd < 0) {
        sub->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (sub->efd < 0)
            rc = -errno;
        else if (sub->len || sub->ps_closed)
            efd_arm(sub);
    }
    if (rc == 0)
        *fd = sub->efd;
    pthread_mutex_unlock(&sub->mu);
    return rc;
}

/* ---- statistics -----------------------------------------------------------
 */

int goio_pubsub_sub_stats_get(goio_pubsub_sub *sub, goio_pubsub_sub_stats *out)
{
    if (!sub || !out)
        return GOIO_EINVAL;
    pthread_mutex_lock(&sub->mu);
    out->delivered = sub->delivered;
    out->dropped = sub->dropped;
    out->queued = sub->len;
    out->capacity = sub->cap;
    pthread_mutex_unlock(&sub->mu);
    return 0;
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

int goio_pubsub_stats_get(goio_pubsub *ps, goio_pubsub_stats *out)
{
    if (!ps || !out)
        return GOIO_EINVAL;
    memset(out, 0, sizeof *out);
    out->messages = LOAD(ps->ctr.messages);
    out->delivered = LOAD(ps->ctr.delivered);
    out->dropped = LOAD(ps->ctr.dropped);
    out->connects = LOAD(ps->ctr.connects);
    out->connect_errors = LOAD(ps->ctr.connect_errors);
    out->disconnects = LOAD(ps->ctr.disconnects);
    out->reconnects = LOAD(ps->ctr.reconnects);
    out->pings = LOAD(ps->ctr.pings);
    out->reply_timeouts = LOAD(ps->ctr.reply_timeouts);
    pthread_mutex_lock(&ps->mu);
    out->subscriptions = (uint32_t)ps->n_subs;
    out->connected = ps->ready;
    for (size_t i = 0; i < ps->n_buckets; i++)
        for (goio__ps_entry *e = ps->buckets[i]; e; e = e->next)
            if (e->state == GOIO__PS_ACTIVE ||
                e->state == GOIO__PS_PENDING_UNSUB)
                *(e->pattern ? &out->patterns : &out->channels) += 1;
    pthread_mutex_unlock(&ps->mu);
    return 0;
}
