/* SPDX-License-Identifier: MIT */
/*
 * The connection pool against a real redis-server: the max-active bound
 * under 16 threads (checked on the server with CLIENT LIST), waiting and
 * its timeouts, ctx deadlines and cancellation, test-on-borrow, idle
 * timeout, max idle, connections discarded after timeouts (DEBUG SLEEP,
 * SIGSTOP) and errors, and recovery after the server is killed, restarted
 * or drops our connections.
 */
#include "redis_test_util.h"
#include "test_proc.h"
#include "test_redis.h"

#include <hiredis/hiredis.h>

#include <stdatomic.h>
#include <stdlib.h>

static goio_test_redis srv;

static int setup(void **state)
{
    (void)state;
    /* DEBUG SLEEP is off by default since Redis 7. */
    return goio_test_redis_start(&srv, "--enable-debug-command local");
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_stop(&srv);
    return 0;
}

static void base_config(goio_redis_config *cfg, const char *ns)
{
    goio_redis_config_init(cfg);
    cfg->mux_conns = 0; /* these tests are about the pool */
    cfg->endpoint = srv.endpoint;
    cfg->key_namespace = ns;
}

static goio_redis_stats stats(goio_redis *r)
{
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    return st;
}

/* Client connections the server has, not counting `self`'s. */
static int server_clients(redisContext *self)
{
    redisReply *reply = redisCommand(self, "CLIENT LIST");
    if (!reply || reply->type != REDIS_REPLY_STRING) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    int n = 0;
    for (const char *p = reply->str; *p; p++)
        n += *p == '\n';
    freeReplyObject(reply);
    return n - 1;
}

static redisContext *monitor_connect(void)
{
    redisContext *c = redisConnect("127.0.0.1", srv.port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

/* Waits until the server sees `n` clients besides the monitor. */
static bool server_has_clients(redisContext *mon, int n, int timeout_ms)
{
    return GOIO_WAIT_UNTIL(server_clients(mon) == n, timeout_ms);
}

/* ---- max active under 16 threads ---- */

typedef struct hammer {
    goio_redis *r;
    atomic_int errors;
    atomic_bool stop;
    int max_seen_server, max_seen_pool;
    int max_active;
} hammer;

static void *hammer_thread(void *arg)
{
    hammer *h = arg;
    goio_buf b = GOIO_BUF_INIT;
    for (int i = 0; i < 150; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i % 10);
        bool hit;
        if (goio_redis_set(h->r, NULL, key, "v", 1, 10000) ||
            goio_redis_get(h->r, NULL, key, &b, &hit))
            atomic_fetch_add(&h->errors, 1);
    }
    goio_buf_deinit(&b);
    return NULL;
}

static void *monitor_thread(void *arg)
{
    hammer *h = arg;
    redisContext *mon = redisConnect("127.0.0.1", srv.port);
    while (mon && !mon->err && !atomic_load(&h->stop)) {
        int n = server_clients(mon);
        if (n > h->max_seen_server)
            h->max_seen_server = n;
        goio_redis_stats st;
        goio_redis_stats_get(h->r, &st);
        if ((int)st.open > h->max_seen_pool)
            h->max_seen_pool = (int)st.open;
    }
    if (mon)
        redisFree(mon);
    return NULL;
}

static void run_hammer(int max_active, int max_idle)
{
    goio_redis_config cfg;
    base_config(&cfg, "hammer");
    cfg.max_active = max_active;
    cfg.max_idle = max_idle;
    cfg.wait_timeout_ms = 10000;
    cfg.read_timeout_ms = cfg.write_timeout_ms = 5000; /* sanitizers */
    hammer h = {.max_active = max_active};
    assert_ok(goio_redis_new(&cfg, &h.r));
    pthread_t mon, threads[16];
    pthread_create(&mon, NULL, monitor_thread, &h);
    for (int i = 0; i < 16; i++)
        pthread_create(&threads[i], NULL, hammer_thread, &h);
    for (int i = 0; i < 16; i++)
        pthread_join(threads[i], NULL);
    atomic_store(&h.stop, true);
    pthread_join(mon, NULL);
    assert_int_equal(atomic_load(&h.errors), 0);
    assert_true(h.max_seen_server <= max_active);
    assert_true(h.max_seen_pool <= max_active);
    assert_true(h.max_seen_pool >= 2); /* the threads did overlap */
    goio_redis_stats st = stats(h.r);
    assert_true(st.open <= (uint32_t)max_idle);
    assert_int_equal(st.open, st.idle);
    assert_true(st.connects <= (uint64_t)max_active + st.closed_excess);
    goio_redis_free(h.r);
}

static void never_more_than_max_active_under_16_threads(void **state)
{
    (void)state;
    run_hammer(4, 4);
    run_hammer(20, 10); /* Go's defaults: 16 threads fit, 10 stay idle */
}

/* ---- waiting for a connection ---- */

typedef struct holder {
    goio_redis *r;
    int rc;
    int64_t took_ms;
    goio_ctx *ctx;
} holder;

static void *get_thread(void *arg)
{
    holder *h = arg;
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t t0 = goio_now_mono_ms();
    h->rc = goio_redis_get(h->r, h->ctx, "held", &b, &hit);
    h->took_ms = elapsed_since(t0);
    goio_buf_deinit(&b);
    return NULL;
}

/* One connection, held by a thread whose command the paused server does
 * not answer. Returns once the pool's only connection is borrowed. */
static goio_redis *one_connection_held(holder *h, pthread_t *t,
                                       int64_t wait_timeout_ms)
{
    goio_redis_config cfg;
    base_config(&cfg, "wait");
    cfg.max_active = 1;
    cfg.read_timeout_ms = 5000;
    cfg.wait_timeout_ms = wait_timeout_ms;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    bool hit;
    assert_ok(goio_redis_exists(r, NULL, "warm", &hit)); /* one idle conn */
    goio_test_redis_pause(&srv);
    *h = (holder){.r = r};
    pthread_create(t, NULL, get_thread, h);
    assert_true(GOIO_WAIT_UNTIL(stats(r).idle == 0, 5000));
    return r;
}

static void waiting_is_bounded_by_wait_timeout(void **state)
{
    (void)state;
    holder h;
    pthread_t t;
    goio_redis *r = one_connection_held(&h, &t, 150);
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t t0 = goio_now_mono_ms();
    assert_goio(GOIO_ETIMEDOUT, goio_redis_get(r, NULL, "x", &b, &hit));
    int64_t took = elapsed_since(t0);
    assert_true(took >= 140 && took < 3000);
    goio_redis_stats st = stats(r);
    assert_int_equal(st.waits, 1);
    assert_int_equal(st.wait_timeouts, 1);
    assert_int_equal(st.open, 1); /* the waiter never opened a second one */
    goio_test_redis_resume(&srv);
    pthread_join(t, NULL);
    assert_ok(h.rc); /* the holder's reply came once the server woke up */
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void a_waiter_gets_the_connection_when_it_is_returned(void **state)
{
    (void)state;
    holder h, w;
    pthread_t t, tw;
    goio_redis *r = one_connection_held(&h, &t, 10000);
    w = (holder){.r = r};
    pthread_create(&tw, NULL, get_thread, &w);
    assert_true(GOIO_WAIT_UNTIL(stats(r).waits == 1, 5000));
    goio_test_redis_resume(&srv);
    pthread_join(t, NULL);
    pthread_join(tw, NULL);
    assert_ok(h.rc);
    assert_ok(w.rc);
    goio_redis_stats st = stats(r);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.wait_timeouts, 0);
    goio_redis_free(r);
}

static void no_wait_means_ebusy(void **state)
{
    (void)state;
    holder h;
    pthread_t t;
    goio_redis *r = one_connection_held(&h, &t, 0);
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_goio(GOIO_EBUSY, goio_redis_get(r, NULL, "x", &b, &hit));
    goio_test_redis_resume(&srv);
    pthread_join(t, NULL);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void ctx_deadline_and_cancel_end_the_wait(void **state)
{
    (void)state;
    holder h;
    pthread_t t;
    goio_redis *r = one_connection_held(&h, &t, -1); /* wait unbounded */
    /* A deadline shorter than the (unbounded) wait timeout. */
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 120, &ctx));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t t0 = goio_now_mono_ms();
    assert_goio(GOIO_ETIMEDOUT, goio_redis_get(r, ctx, "x", &b, &hit));
    int64_t took = elapsed_since(t0);
    assert_true(took >= 110 && took < 3000);
    goio_ctx_unref(ctx);
    /* Cancellation from another thread wakes the waiter at once. */
    holder w = {.r = r};
    assert_ok(goio_ctx_new(NULL, &w.ctx));
    pthread_t tw;
    pthread_create(&tw, NULL, get_thread, &w);
    assert_true(GOIO_WAIT_UNTIL(stats(r).waits == 2, 5000));
    goio_ctx_cancel(w.ctx);
    pthread_join(tw, NULL);
    assert_goio(GOIO_ECANCELED, w.rc);
    assert_true(w.took_ms < 3000);
    goio_ctx_unref(w.ctx);
    /* An already cancelled ctx fails before any I/O. */
    assert_ok(goio_ctx_new(NULL, &ctx));
    goio_ctx_cancel(ctx);
    assert_goio(GOIO_ECANCELED, goio_redis_get(r, ctx, "x", &b, &hit));
    goio_ctx_unref(ctx);
    goio_test_redis_resume(&srv);
    pthread_join(t, NULL);
    assert_ok(h.rc);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

/* A wait timeout too large to add to the clock means no timeout of its
 * own (not an overflow that ends the wait at once): the ctx still ends
 * it. */
static void a_huge_wait_timeout_is_bounded_by_the_ctx(void **state)
{
    (void)state;
    holder h;
    pthread_t t;
    goio_redis *r = one_connection_held(&h, &t, INT64_MAX);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 120, &ctx));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_get(r, ctx, "x", &b, &hit);
    int64_t took = elapsed_since(t0);
    goio_ctx_unref(ctx);
    goio_test_redis_resume(&srv); /* before asserting: later tests need it */
    pthread_join(t, NULL);
    assert_goio(GOIO_ETIMEDOUT, rc);
    assert_true(took >= 110 && took < 3000);
    assert_int_equal(stats(r).waits, 1);
    assert_ok(h.rc);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

/* ---- idle connections ---- */

static long ping_calls(redisContext *mon)
{
    redisReply *reply = redisCommand(mon, "INFO commandstats");
    assert_non_null(reply);
    const char *p = strstr(reply->str, "cmdstat_ping:calls=");
    long n = p ? atol(p + strlen("cmdstat_ping:calls=")) : 0;
    freeReplyObject(reply);
    return n;
}

static void idle_connections_are_pinged_before_reuse(void **state)
{
    (void)state;
    redisContext *mon = monitor_connect();
    goio_redis_config cfg;
    base_config(&cfg, "tob");
    cfg.test_on_borrow_ms = 300; /* room for a slow, busy machine */
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    bool hit;
    long pings0 = ping_calls(mon);
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    assert_ok(goio_redis_exists(r, NULL, "k", &hit)); /* reused at once */
    assert_int_equal(stats(r).pings, 0);
    /* Let the idle connection age past the threshold (the condition is
     * elapsed time itself, so this wait is the test). */
    goio_test_sleep_ms(400);
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    assert_int_equal(stats(r).pings, 1);
    assert_int_equal(ping_calls(mon) - pings0, 1);
    assert_int_equal(stats(r).connects, 1);
    goio_redis_free(r);
    /* Negative: never. */
    cfg.test_on_borrow_ms = -1;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    goio_test_sleep_ms(30);
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    assert_int_equal(stats(r).pings, 0);
    goio_redis_free(r);
    redisFree(mon);
}

static void idle_connections_are_closed_after_idle_timeout(void **state)
{
    (void)state;
    redisContext *mon = monitor_connect();
    goio_redis_config cfg;
    base_config(&cfg, "idle");
    cfg.idle_timeout_ms = 60;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    bool hit;
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    assert_true(server_has_clients(mon, 1, 5000));
    goio_test_sleep_ms(100); /* past the idle timeout */
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    goio_redis_stats st = stats(r);
    assert_int_equal(st.closed_idle, 1);
    assert_int_equal(st.connects, 2);
    assert_int_equal(st.open, 1);
    /* The server saw the old one go: one client, not two. */
    assert_true(server_has_clients(mon, 1, 5000));
    goio_redis_free(r);
    assert_true(server_has_clients(mon, 0, 5000));
    redisFree(mon);
}

static void at_most_max_idle_are_kept(void **state)
{
    (void)state;
    redisContext *mon = monitor_connect();
    goio_redis_config cfg;
    base_config(&cfg, "maxidle");
    cfg.max_active = 8;
    cfg.max_idle = 2;
    cfg.read_timeout_ms = 5000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    /* Eight commands in flight on a paused server: eight connections. */
    goio_test_redis_pause(&srv);
    holder h[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        h[i] = (holder){.r = r};
        pthread_create(&t[i], NULL, get_thread, &h[i]);
    }
    bool all_open = GOIO_WAIT_UNTIL(stats(r).open == 8, 5000);
    goio_test_redis_resume(&srv);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_ok(h[i].rc);
    }
    assert_true(all_open);
    goio_redis_stats st = stats(r);
    assert_int_equal(st.open, 2);
    assert_int_equal(st.idle, 2);
    assert_int_equal(st.closed_excess, 6);
    assert_true(server_has_clients(mon, 2, 5000));
    goio_redis_free(r);
    redisFree(mon);
}

/* ---- timeouts and broken connections ---- */

/* Whether the server leaves a PING unanswered for 30 ms (it is inside
 * DEBUG SLEEP). */
static bool server_is_busy(void)
{
    int fd = goio_test_connect(srv.port);
    if (fd < 0)
        return false;
    const char *ping[] = {"PING", NULL};
    char buf[64];
    bool busy = raw_send(fd, ping) && raw_read(fd, buf, sizeof buf, 30) == 0;
    close(fd);
    return busy;
}

static void debug_sleep_timeout_discards_the_connection(void **state)
{
    (void)state;
    goio_redis_config cfg;
    base_config(&cfg, "dsleep");
    cfg.read_timeout_ms = 100;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "a", "1", 1, 60000));
    assert_ok(goio_redis_set(r, NULL, "b", "2", 1, 60000));
    int fd = goio_test_connect(srv.port);
    const char *sleep_cmd[] = {"DEBUG", "SLEEP", "1", NULL};
    assert_true(raw_send(fd, sleep_cmd));
    assert_true(GOIO_WAIT_UNTIL(server_is_busy(), 5000));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t t0 = goio_now_mono_ms();
    logs_capture();
    assert_goio(GOIO_ETIMEDOUT, goio_redis_get(r, NULL, "a", &b, &hit));
    assert_true(logs_have("redis_timeout", "a", NULL));
    logs_restore();
    int64_t took = elapsed_since(t0);
    assert_true(took >= 90 && took < 900);
    assert_int_equal(stats(r).closed_broken, 1);
    assert_int_equal(stats(r).open, 0);
    /* Once the server is back, the late reply to GET a must not answer
     * GET b: that connection is gone. */
    assert_true(raw_expect(fd, "+OK", 5000));
    close(fd);
    assert_ok(goio_redis_get(r, NULL, "b", &b, &hit));
    assert_true(hit && b.len == 1 && b.data[0] == '2');
    assert_ok(goio_redis_get(r, NULL, "a", &b, &hit));
    assert_true(hit && b.len == 1 && b.data[0] == '1');
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void sigstop_timeout_and_ctx_deadline(void **state)
{
    (void)state;
    goio_redis_config cfg;
    base_config(&cfg, "stop");
    cfg.read_timeout_ms = 150;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    bool hit;
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    goio_test_redis_pause(&srv);
    int64_t t0 = goio_now_mono_ms();
    assert_goio(GOIO_ETIMEDOUT, goio_redis_exists(r, NULL, "k", &hit));
    int64_t took = elapsed_since(t0);
    assert_true(took >= 140 && took < 1500);
    /* A ctx deadline shorter than the read timeout wins. */
    goio_redis_config slow = cfg;
    slow.read_timeout_ms = 5000;
    goio_redis *r2;
    assert_ok(goio_redis_new(&slow, &r2));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 100, &ctx));
    t0 = goio_now_mono_ms();
    assert_goio(GOIO_ETIMEDOUT, goio_redis_exists(r2, ctx, "k", &hit));
    took = elapsed_since(t0);
    assert_true(took >= 90 && took < 1500);
    goio_ctx_unref(ctx);
    goio_test_redis_resume(&srv);
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    /* The ctx's shorter timeout did not stick to the next connection. */
    assert_ok(goio_redis_exists(r2, NULL, "k", &hit));
    goio_redis_free(r);
    goio_redis_free(r2);
}

/* EXISTS with a 150 ms ctx on a paused server (which accepts TCP
 * connections, then answers nothing); returns its code and duration. */
static int exists_paused(goio_redis *r, int64_t *took)
{
    goio_test_redis_pause(&srv);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 150, &ctx));
    bool hit;
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_exists(r, ctx, "k", &hit);
    *took = elapsed_since(t0);
    goio_ctx_unref(ctx);
    goio_test_redis_resume(&srv); /* before asserting: later tests need it */
    return rc;
}

/* What a connection sends before the command itself waits no longer than
 * the ctx allows either: SELECT (AUTH alike) on connect, and the
 * test-on-borrow PING. */
static void the_ctx_deadline_bounds_connection_setup(void **state)
{
    (void)state;
    goio_redis_config cfg;
    base_config(&cfg, "sel");
    cfg.database = 1;
    cfg.read_timeout_ms = 3000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    int64_t took;
    assert_goio(GOIO_ETIMEDOUT, exists_paused(r, &took));
    assert_true(took >= 140 && took < 1500);
    goio_redis_stats st = stats(r);
    assert_int_equal(st.connect_errors, 1);
    assert_int_equal(st.open, 0);
    bool hit;
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    goio_redis_free(r);

    cfg.database = 0;
    cfg.test_on_borrow_ms = 0; /* PING every connection idle for 1 ms */
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    goio_test_sleep_ms(2); /* idle past test_on_borrow_ms */
    assert_goio(GOIO_ETIMEDOUT, exists_paused(r, &took));
    assert_true(took >= 140 && took < 1500);
    assert_int_equal(stats(r).pings, 1);
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    goio_redis_free(r);
}

static void *pause_briefly(void *arg)
{
    (void)arg;
    goio_test_sleep_ms(200);
    goio_test_redis_resume(&srv);
    return NULL;
}

static void a_ctx_deadline_longer_than_a_slow_reply_succeeds(void **state)
{
    (void)state;
    goio_redis_config cfg;
    base_config(&cfg, "slowok");
    cfg.read_timeout_ms = 3000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 2500, &ctx));
    goio_test_redis_pause(&srv);
    pthread_t t;
    pthread_create(&t, NULL, pause_briefly, NULL);
    bool hit;
    assert_ok(goio_redis_exists(r, ctx, "k", &hit));
    pthread_join(t, NULL);
    goio_ctx_unref(ctx);
    goio_redis_free(r);
}

static void dropped_connections_are_noticed_before_reuse(void **state)
{
    (void)state;
    goio_redis_config cfg;
    base_config(&cfg, "killed");
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    bool hit;
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    char *out = goio_test_redis_cli(&srv, "CLIENT KILL TYPE normal");
    assert_non_null(out);
    goio_free(out);
    /* The very next call succeeds on a new connection. */
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    goio_redis_stats st = stats(r);
    assert_int_equal(st.closed_broken, 1);
    assert_int_equal(st.connects, 2);
    goio_redis_free(r);
}

static void *restart_worker(void *arg)
{
    goio_redis *r = arg;
    bool hit;
    for (int i = 0; i < 20; i++)
        goio_redis_exists(r, NULL, "k", &hit);
    return NULL;
}

static void server_restart_is_survived(void **state)
{
    (void)state;
    goio_redis_config cfg;
    base_config(&cfg, "restart");
    cfg.read_timeout_ms = 2000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    /* Several pooled connections. */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, restart_worker, r);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    goio_test_redis_kill(&srv);
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    int rc = goio_redis_get(r, NULL, "k", &b, &hit);
    assert_true(rc == GOIO_ECONNREFUSED || rc == GOIO_ECONNRESET);
    logs_restore();
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    /* The calls after the server is back succeed, whatever the pool held,
     * once the reconnect backoff the failed call started has passed (at
     * most GOIO__REDIS_DOWN_MAX_MS). The data is gone (no persistence): a
     * miss. */
    assert_true(
        GOIO_WAIT_UNTIL(goio_redis_get(r, NULL, "k", &b, &hit) == 0, 2500));
    assert_false(hit);
    assert_ok(goio_redis_set(r, NULL, "k", "v2", 2, 60000));
    /* And again, with idle connections left from before the restart. */
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, restart_worker, r);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(stats(r).idle >= 1);
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    assert_ok(goio_redis_set(r, NULL, "k", "v3", 2, 60000));
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    assert_true(hit && b.len == 2 && !memcmp(b.data, "v3", 2));
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(never_more_than_max_active_under_16_threads),
        cmocka_unit_test(waiting_is_bounded_by_wait_timeout),
        cmocka_unit_test(a_waiter_gets_the_connection_when_it_is_returned),
        cmocka_unit_test(no_wait_means_ebusy),
        cmocka_unit_test(ctx_deadline_and_cancel_end_the_wait),
        cmocka_unit_test(a_huge_wait_timeout_is_bounded_by_the_ctx),
        cmocka_unit_test(idle_connections_are_pinged_before_reuse),
        cmocka_unit_test(idle_connections_are_closed_after_idle_timeout),
        cmocka_unit_test(at_most_max_idle_are_kept),
        cmocka_unit_test(debug_sleep_timeout_discards_the_connection),
        cmocka_unit_test(sigstop_timeout_and_ctx_deadline),
        cmocka_unit_test(the_ctx_deadline_bounds_connection_setup),
        cmocka_unit_test(a_ctx_deadline_longer_than_a_slow_reply_succeeds),
        cmocka_unit_test(dropped_connections_are_noticed_before_reuse),
        cmocka_unit_test(server_restart_is_survived),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
