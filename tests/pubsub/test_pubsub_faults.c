/* SPDX-License-Identifier: MIT */
/*
 * Pub/sub through faults of a real redis-server: CLIENT KILL TYPE pubsub,
 * a server restart (SIGKILL), a paused server (SIGSTOP: only the pong
 * deadline notices), a server that is not there yet, a wrong password,
 * subscription changes while disconnected, and freeing the handle in the
 * middle of all of it without leaks (counted with goio's allocator) or
 * hangs.
 */
#include "pubsub_test.h"
#include "test_observe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int reconnect_calls;

static void on_reconnect(goio_pubsub *ps, void *data)
{
    (void)ps;
    (void)data;
    atomic_fetch_add(&reconnect_calls, 1);
}

/* Short keepalive so a paused server is noticed quickly. */
static void fast_config(goio_pubsub_config *cfg)
{
    goio_pubsub_config_init(cfg);
    cfg->ping_interval_ms = 100;
    cfg->pong_timeout_ms = 400;
    cfg->reconnect_min_ms = 20;
    cfg->reconnect_max_ms = 200;
    cfg->on_reconnect = on_reconnect;
}

static bool reconnected(goio_pubsub *ps, uint64_t n)
{
    goio_pubsub_stats st;
    goio_pubsub_stats_get(ps, &st);
    return st.reconnects >= n && st.connected;
}

/* Publishes through goio until the subscription receives (a publish
 * right after the server came back may find the pool's connection dead
 * and is retried by the pool; this only bounds the wait). */
static void publish_and_expect(pst_handle *h, goio_pubsub_sub *s,
                               const char *channel, const char *pattern,
                               const char *payload)
{
    int64_t receivers = 0;
    assert_ok(goio_pubsub_publish(h->ps, NULL, channel, payload,
                                  strlen(payload), &receivers));
    assert_int_equal(receivers, 1);
    pst_expect(s, channel, pattern, payload);
}

/* A subscription to `pattern`, confirmed by Redis. */
static goio_pubsub_sub *psub_live(pst_handle *h, const char *pattern)
{
    const char *pats[] = {pattern};
    goio_pubsub_sub *p;
    assert_ok(goio_pubsub_psubscribe(h->ps, pats, 1, NULL, &p));
    pst_wait_sub(p, 5000);
    return p;
}

/* Captures logs, opens a fast_config handle in namespace `ns` and
 * subscribes to `pattern`, checked with a message on `channel`. */
static goio_pubsub_sub *open_live(pst_handle *h, const char *ns,
                                  const char *pattern, const char *channel)
{
    pst_logs_capture();
    goio_pubsub_config cfg;
    fast_config(&cfg);
    pst_open_cfg(h, ns, &cfg);
    goio_pubsub_sub *p = psub_live(h, pattern);
    publish_and_expect(h, p, channel, pattern, "before");
    return p;
}

static void close_live(pst_handle *h, goio_pubsub_sub *p)
{
    assert_ok(goio_pubsub_unsubscribe(p));
    pst_close(h);
    pst_logs_restore();
}

static void recovers_after_client_kill_type_pubsub(void **state)
{
    (void)state;
    atomic_store(&reconnect_calls, 0);
    pst_handle h;
    goio_pubsub_sub *p = open_live(&h, "kill", "k.*", "k.1"), *c;
    const char *chans[] = {"kc"};
    assert_ok(goio_pubsub_subscribe(h.ps, chans, 1, NULL, &c));
    pst_wait_sub(c, 5000);

    for (int round = 1; round <= 3; round++) {
        assert_int_equal(pst_int("CLIENT KILL TYPE pubsub"), 1);
        assert_true(GOIO_WAIT_UNTIL(reconnected(h.ps, (uint64_t)round), 5000));
        pst_wait_sub(p, 5000);
        pst_wait_sub(c, 5000);
        /* Messages published after the re-subscription arrive. */
        publish_and_expect(&h, p, "k.1", "k.*", "after");
        publish_and_expect(&h, c, "kc", NULL, "after");
        assert_int_equal(pst_numpat(), 1);
        assert_int_equal(pst_numsub("kill:kc"), 1);
    }
    goio_pubsub_stats st = pst_stats(h.ps);
    assert_int_equal(st.reconnects, 3);
    assert_int_equal(st.disconnects, 3);
    assert_int_equal(st.connects, 4);
    assert_int_equal(atomic_load(&reconnect_calls), 3);
    assert_int_equal(pst_logs_count("pubsub_reconnected", NULL), 3);
    assert_int_equal(pst_logs_count("pubsub_disconnected", NULL), 3);
    assert_ok(goio_pubsub_unsubscribe(c));
    close_live(&h, p);
}

static void recovers_after_server_restart(void **state)
{
    (void)state;
    pst_handle h;
    goio_pubsub_sub *p = open_live(&h, "rst", "r.*", "r.1");

    uint64_t before = pst_stats(h.ps).reconnects;
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    assert_true(GOIO_WAIT_UNTIL(reconnected(h.ps, before + 1), 10000));
    pst_wait_sub(p, 5000);
    assert_int_equal(pst_numpat(), 1);
    publish_and_expect(&h, p, "r.1", "r.*", "after restart");
    close_live(&h, p);
}

static void recovers_after_sigstop_through_the_pong_deadline(void **state)
{
    (void)state;
    pst_handle h;
    goio_pubsub_sub *p = open_live(&h, "stop", "s.*", "s.1");

    /* The keepalive runs while nothing else happens. */
    assert_true(GOIO_WAIT_UNTIL(pst_stats(h.ps).pings >= 2, 5000));
    uint64_t before = pst_stats(h.ps).reconnects;
    goio_test_redis_pause(&srv);
    /* The TCP connection stays up: only the unanswered PING tells. */
    assert_true(GOIO_WAIT_UNTIL(pst_stats(h.ps).reply_timeouts >= 1, 5000));
    assert_true(GOIO_WAIT_UNTIL(!pst_stats(h.ps).connected, 5000));
    /* New connections are accepted by the kernel, but their handshake
     * is never answered: each attempt ends at the deadline too. */
    assert_true(GOIO_WAIT_UNTIL(pst_stats(h.ps).reply_timeouts >= 3, 10000));
    assert_false(pst_stats(h.ps).connected);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 100, &ctx));
    assert_goio(GOIO_ETIMEDOUT, goio_pubsub_wait_subscribed(p, ctx));
    goio_ctx_unref(ctx);
    goio_test_redis_resume(&srv);

    assert_true(GOIO_WAIT_UNTIL(reconnected(h.ps, before + 1), 10000));
    pst_wait_sub(p, 5000);
    publish_and_expect(&h, p, "s.1", "s.*", "after resume");
    assert_true(pst_logs_count("pubsub_reply_timeout", NULL) >= 3);
    close_live(&h, p);
}

/* Changes made while the connection is down take effect when it is back:
 * a new pattern is subscribed, a dropped one is not. */
static void subscription_changes_while_down_apply_on_reconnect(void **s)
{
    (void)s;
    pst_handle h;
    goio_pubsub_sub *k = open_live(&h, "down", "keep.*", "keep.0");
    goio_pubsub_sub *d = psub_live(&h, "drop.*"), *a;
    const char *add[] = {"add.*"};
    uint64_t before = pst_stats(h.ps).reconnects;

    goio_test_redis_kill(&srv);
    assert_true(GOIO_WAIT_UNTIL(!pst_stats(h.ps).connected, 5000));
    assert_ok(goio_pubsub_unsubscribe(d));
    assert_ok(goio_pubsub_psubscribe(h.ps, add, 1, NULL, &a));
    assert_int_equal(goio_test_redis_restart(&srv), 0);

    assert_true(GOIO_WAIT_UNTIL(reconnected(h.ps, before + 1), 10000));
    pst_wait_sub(k, 5000);
    pst_wait_sub(a, 5000);
    assert_int_equal(pst_numpat(), 2);
    publish_and_expect(&h, a, "add.1", "add.*", "new");
    publish_and_expect(&h, k, "keep.1", "keep.*", "kept");
    assert_int_equal(pst_publish_raw("down:drop.1", "x", 1), 0);
    assert_ok(goio_pubsub_unsubscribe(a));
    close_live(&h, k);
}

/* Nothing listens yet: connect errors with backoff, then it connects
 * once the server is there, and what was subscribed meanwhile works. */
static void connects_once_the_server_appears(void **state)
{
    (void)state;
    pst_logs_capture();
    goio_test_redis late;
    assert_int_equal(goio_test_redis_start(&late, NULL), 0);
    goio_test_redis_kill(&late);
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = late.endpoint;
    goio_redis *r;
    assert_ok(goio_redis_new(&rc, &r));
    goio_pubsub_config cfg;
    fast_config(&cfg);
    goio_pubsub *ps;
    assert_ok(goio_pubsub_new(r, &cfg, &ps));
    const char *ch[] = {"c"};
    goio_pubsub_sub *s;
    assert_ok(goio_pubsub_subscribe(ps, ch, 1, NULL, &s));
    assert_true(GOIO_WAIT_UNTIL(pst_stats(ps).connect_errors >= 3, 5000));
    /* One WARN for the run of failures, the rest at DEBUG. */
    assert_true(pst_logs_count("pubsub_connect_failed", NULL) >= 3);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 50, &ctx));
    assert_goio(GOIO_ETIMEDOUT, goio_pubsub_wait_subscribed(s, ctx));
    goio_ctx_unref(ctx);
    /* nothing can be applied without a server: sync ends at its deadline */
    assert_ok(goio_ctx_new_with_timeout(NULL, 50, &ctx));
    assert_goio(GOIO_ETIMEDOUT, goio_pubsub_sync(ps, ctx));
    goio_ctx_unref(ctx);

    assert_int_equal(goio_test_redis_restart(&late), 0);
    pst_sync(ps, 10000);   /* the SUBSCRIBE made while it was down */
    pst_wait_sub(s, 1000); /* so is the subscription, then */
    goio_pubsub_stats st = pst_stats(ps);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.reconnects, 0); /* the first connection: no gap */
    assert_ok(goio_pubsub_publish(ps, NULL, "c", "hi", 2, NULL));
    pst_expect(s, "c", NULL, "hi");
    assert_ok(goio_pubsub_unsubscribe(s));
    goio_pubsub_free(ps);
    goio_redis_free(r);
    goio_test_redis_stop(&late);
    pst_logs_restore();
}

static void a_refused_password_is_retried_and_logged(void **state)
{
    (void)state;
    pst_logs_capture();
    goio_test_redis locked;
    assert_int_equal(goio_test_redis_start(&locked, "--requirepass s3cret"), 0);
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = locked.endpoint;
    goio_pubsub_config cfg;
    fast_config(&cfg);
    const char *ch[] = {"c"};

    /* No password and a wrong one: refused, retried, never subscribed. */
    const char *bad[] = {NULL, "wrong"};
    for (int i = 0; i < 2; i++) {
        rc.password = bad[i];
        goio_redis *r;
        goio_pubsub *ps;
        goio_pubsub_sub *s;
        assert_ok(goio_redis_new(&rc, &r));
        assert_ok(goio_pubsub_new(r, &cfg, &ps));
        assert_ok(goio_pubsub_subscribe(ps, ch, 1, NULL, &s));
        assert_true(GOIO_WAIT_UNTIL(pst_stats(ps).connect_errors >= 2, 5000));
        assert_false(pst_stats(ps).connected);
        assert_ok(goio_pubsub_unsubscribe(s));
        goio_pubsub_free(ps);
        goio_redis_free(r);
    }
    assert_true(pst_logs_count("pubsub_connect_failed", NULL) >= 4);

    rc.password = "s3cret";
    goio_redis *r;
    goio_pubsub *ps;
    goio_pubsub_sub *s;
    assert_ok(goio_redis_new(&rc, &r));
    assert_ok(goio_pubsub_new(r, &cfg, &ps));
    assert_ok(goio_pubsub_subscribe(ps, ch, 1, NULL, &s));
    pst_wait_sub(s, 5000);
    assert_ok(goio_pubsub_publish(ps, NULL, "c", "ok", 2, NULL));
    pst_expect(s, "c", NULL, "ok");
    assert_ok(goio_pubsub_unsubscribe(s));
    goio_pubsub_free(ps);
    goio_redis_free(r);
    goio_test_redis_stop(&locked);
    pst_logs_restore();
}

/* A listener whose accept queue is full: the kernel drops further SYNs,
 * so a connect neither succeeds nor fails - only the deadline ends it. */
static void a_hanging_connect_ends_at_the_connect_deadline(void **state)
{
    (void)state;
    pst_logs_capture();
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 0), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&a, sizeof a), 0);

    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", ntohs(a.sin_port));
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = ep;
    goio_redis *r;
    assert_ok(goio_redis_new(&rc, &r));
    goio_pubsub_config cfg;
    fast_config(&cfg);
    cfg.connect_timeout_ms = 100;
    goio_pubsub *ps;
    assert_ok(goio_pubsub_new(r, &cfg, &ps));
    assert_true(GOIO_WAIT_UNTIL(pst_stats(ps).connect_errors >= 2, 5000));
    assert_true(pst_logs_count_error("pubsub_connect_failed", GOIO_ETIMEDOUT) >=
                2);
    goio_pubsub_free(ps); /* most likely mid-connect */
    goio_redis_free(r);
    close(filler);
    close(l);
    pst_logs_restore();
}

/* ---- freeing in the middle of faults ---- */

static goio_pubsub *open_counted(goio_redis *r, long *before,
                                 goio_pubsub_sub **left)
{
    goio_pubsub_config cfg;
    fast_config(&cfg);
    *before = goio_test_alloc_outstanding();
    goio_pubsub *ps;
    assert_ok(goio_pubsub_new(r, &cfg, &ps));
    const char *pats[] = {"f.*", "g.*"};
    goio_pubsub_sub *s;
    assert_ok(goio_pubsub_psubscribe(ps, pats, 2, NULL, &s));
    assert_ok(goio_pubsub_unsubscribe(s));
    assert_ok(goio_pubsub_psubscribe(ps, pats, 2, NULL, left));
    return ps; /* *left stays subscribed through free */
}

static void free_and_check(goio_pubsub *ps, goio_pubsub_sub *s,
                           goio_pubsub_sub *left, long before)
{
    int64_t t0 = goio_now_mono_ms();
    goio_pubsub_free(ps);
    assert_true(goio_now_mono_ms() - t0 < 2000); /* no hang */
    if (s)
        assert_ok(goio_pubsub_unsubscribe(s));
    assert_int_equal(pst_sub_stats(left).queued, 0);
    assert_ok(goio_pubsub_unsubscribe(left)); /* after free: still fine */
    assert_int_equal(goio_test_alloc_outstanding(), before);
}

static void free_mid_reconnect_is_clean(void **state)
{
    (void)state;
    pst_logs_capture();
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = srv.endpoint;
    goio_redis *r;
    assert_ok(goio_redis_new(&rc, &r));
    const char *ch[] = {"c"};

    /* 1. Right after creation (the loop may not have started). */
    for (int i = 0; i < 20; i++) {
        long before;
        goio_pubsub_sub *left, *s;
        goio_pubsub *ps = open_counted(r, &before, &left);
        assert_ok(goio_pubsub_subscribe(ps, ch, 1, NULL, &s));
        free_and_check(ps, s, left, before);
    }

    /* 2. During the backoff after refused connects. */
    goio_test_redis_kill(&srv);
    {
        long before;
        goio_pubsub_sub *left;
        goio_pubsub *ps = open_counted(r, &before, &left);
        assert_true(GOIO_WAIT_UNTIL(pst_stats(ps).connect_errors >= 2, 5000));
        free_and_check(ps, NULL, left, before);
    }
    assert_int_equal(goio_test_redis_restart(&srv), 0);

    /* 3. Paused server: connected, handshake unanswered. */
    goio_test_redis_pause(&srv);
    {
        long before;
        goio_pubsub_sub *left;
        int unread = goio_test_tcp_unread(srv.port);
        goio_pubsub *ps = open_counted(r, &before, &left);
        /* Mid-handshake: connected, and its first command sits unread in
         * the stopped server's socket. */
        assert_true(
            GOIO_WAIT_UNTIL(goio_test_tcp_unread(srv.port) > unread, 5000));
        assert_false(pst_stats(ps).connected);
        free_and_check(ps, NULL, left, before);
    }
    {
        long before;
        goio_pubsub_sub *left;
        goio_pubsub *ps = open_counted(r, &before, &left);
        assert_true(GOIO_WAIT_UNTIL(pst_stats(ps).reply_timeouts >= 1, 5000));
        free_and_check(ps, NULL, left, before);
    }
    goio_test_redis_resume(&srv);
    goio_redis_free(r);

    /* 4. A name to resolve (libuv's thread pool) and a unix socket. */
    char named[128];
    snprintf(named, sizeof named, "localhost:%d", srv.port);
    const char *endpoints[] = {named, srv.socket};
    for (int i = 0; i < 2; i++) {
        rc.endpoint = endpoints[i];
        assert_ok(goio_redis_new(&rc, &r));
        /* The pool's connection is made before counting starts. */
        assert_ok(goio_redis_publish(r, NULL, "warm", "", 0, NULL));
        for (int j = 0; j < 5; j++) { /* free mid-resolution, too */
            long before;
            goio_pubsub_sub *left;
            goio_pubsub *ps = open_counted(r, &before, &left);
            free_and_check(ps, NULL, left, before);
        }
        long before;
        goio_pubsub_sub *left, *s;
        goio_pubsub *ps = open_counted(r, &before, &left);
        assert_ok(goio_pubsub_subscribe(ps, ch, 1, NULL, &s));
        pst_wait_sub(s, 5000);
        assert_ok(goio_pubsub_publish(ps, NULL, "c", "via", 3, NULL));
        pst_expect(s, "c", NULL, "via");
        free_and_check(ps, s, left, before);
        goio_redis_free(r);
    }
    pst_logs_restore();
}

int main(void)
{
    goio_test_alloc_install(); /* leak counts for free_mid_reconnect */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recovers_after_client_kill_type_pubsub),
        cmocka_unit_test(recovers_after_server_restart),
        cmocka_unit_test(recovers_after_sigstop_through_the_pong_deadline),
        cmocka_unit_test(subscription_changes_while_down_apply_on_reconnect),
        cmocka_unit_test(connects_once_the_server_appears),
        cmocka_unit_test(a_refused_password_is_retried_and_logged),
        cmocka_unit_test(a_hanging_connect_ends_at_the_connect_deadline),
        cmocka_unit_test(free_mid_reconnect_is_clean),
    };
    return cmocka_run_group_tests(tests, pst_setup, pst_teardown);
}
