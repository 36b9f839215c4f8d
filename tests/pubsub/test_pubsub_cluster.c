/* SPDX-License-Identifier: MIT */
/*
 * Pub/sub on a real Redis Cluster (three masters, three replicas): one
 * subscriber connection receives messages published on every master, and
 * when its node dies it moves to another node and subscribes again.
 */
#include "pubsub_test.h"
#include "test_redis_cluster.h"

static goio_test_redis_cluster cl;

static int setup(void **state)
{
    (void)state;
    return goio_test_redis_cluster_start(&cl);
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_cluster_stop(&cl);
    return 0;
}

/* Channels whose namespaced names hash to each of the three masters. */
static void channels_on_every_master(char names[3][32])
{
    int masters[3] = {-1, -1, -1};
    int n = 0;
    for (int i = 0; n < 3 && i < 10000; i++) {
        char ch[32], raw[48];
        snprintf(ch, sizeof ch, "ev.%d", i);
        snprintf(raw, sizeof raw, "cl:%s", ch);
        int m = goio_test_redis_cluster_master_of(
            &cl, goio_redis_key_slot(raw, strlen(raw)));
        bool seen = m < 0;
        for (int k = 0; k < n; k++)
            seen |= masters[k] == m;
        if (!seen) {
            masters[n] = m;
            snprintf(names[n++], 32, "%s", ch);
        }
    }
    assert_int_equal(n, 3);
}

static void one_connection_hears_every_master_and_survives_its_node(void **s)
{
    (void)s;
    pst_logs_capture();
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = cl.seed;
    rc.cluster = true;
    rc.key_namespace = "cl";
    goio_redis *r;
    assert_ok(goio_redis_new(&rc, &r));

    goio_pubsub_config cfg;
    goio_pubsub_config_init(&cfg);
    cfg.client_tracking = true;
    goio_pubsub *ps;
    assert_goio(GOIO_ENOTSUP, goio_pubsub_new(r, &cfg, &ps));
    cfg.client_tracking = false;
    cfg.ping_interval_ms = 100;
    cfg.pong_timeout_ms = 500;
    cfg.reconnect_min_ms = 20;
    cfg.reconnect_max_ms = 200;
    assert_ok(goio_pubsub_new(r, &cfg, &ps));
    const char *pats[] = {"ev.*"};
    goio_pubsub_sub *sub;
    assert_ok(goio_pubsub_psubscribe(ps, pats, 1, NULL, &sub));
    pst_wait_sub(sub, 5000);

    char names[3][32];
    channels_on_every_master(names);
    for (int i = 0; i < 3; i++) { /* also loads the handle's slot map */
        assert_ok(goio_pubsub_publish(ps, NULL, names[i], "m", 1, NULL));
        pst_expect(sub, names[i], "ev.*", "m");
    }

    /* The seed (node 0, our subscriber's node) dies. */
    goio_test_redis_cluster_kill(&cl, 0);
    assert_true(GOIO_WAIT_UNTIL(
        pst_stats(ps).reconnects >= 1 && pst_stats(ps).connected, 20000));
    pst_wait_sub(sub, 5000);
    /* Publishing needs the cluster to have failed node 0 over. */
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    for (int i = 0; i < 3; i++) {
        int rc2 = GOIO_EIO;
        for (int t = 0; t < 50 && rc2; t++) /* the client's map catches up */
            if ((rc2 = goio_pubsub_publish(ps, NULL, names[i], "after", 5,
                                           NULL)) != 0)
                goio_test_sleep_ms(100);
        assert_ok(rc2);
        pst_expect(sub, names[i], "ev.*", "after");
    }
    assert_ok(goio_pubsub_unsubscribe(sub));
    goio_pubsub_free(ps);
    goio_redis_free(r);
    pst_logs_restore();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            one_connection_hears_every_master_and_survives_its_node),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
