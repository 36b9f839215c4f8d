/* SPDX-License-Identifier: MIT */
/*
 * goio_redis in cluster mode against a real six-process Redis Cluster
 * (three masters, three replicas; tests/support/test_redis_cluster.h),
 * shared by the tests of this executable: slot hashing checked against
 * CLUSTER KEYSLOT, keys spread over every master, hash tags, multi-key
 * pipelines grouped per node, ASK during a slot migration and MOVED after
 * it, and a master killed and replaced by its replica.
 */
#include "redis_test_util.h"
#include "test_proc.h"
#include "test_redis_cluster.h"

#include <stdatomic.h>
#include <stdlib.h>

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

static goio_redis *open_cluster_timeout(const char *ns, int64_t io_ms)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = cl.seed;
    cfg.cluster = true;
    cfg.key_namespace = ns;
    cfg.read_timeout_ms = cfg.write_timeout_ms = io_ms;
    goio_redis *r = NULL;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

static goio_redis *open_cluster(const char *ns)
{
    /* Six servers and a sanitized client share two cores. */
    return open_cluster_timeout(ns, 3000);
}

static goio_redis_stats stats(goio_redis *r)
{
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    return st;
}

static long cli_long(int node, const char *fmt, const char *arg)
{
    char *out = goio_test_redis_cluster_cli(&cl, node, fmt, arg);
    assert_non_null(out);
    long v = atol(out);
    goio_free(out);
    return v;
}

static bool is_master(int i)
{
    char *out = goio_test_redis_cluster_cli(&cl, i, "ROLE");
    bool m = out && !strncmp(out, "master", 6);
    goio_free(out);
    return m;
}

static void slots_match_cluster_keyslot(void **state)
{
    (void)state;
    const char *keys[] = {"a",
                          "foo",
                          "user:1000",
                          "{user}a",
                          "{user}b",
                          "x{user}y",
                          "{}",
                          "{}abc",
                          "{",
                          "}",
                          "}{tag}",
                          "a{b}c{d}",
                          "{{x}}",
                          "ns:{user}:cart",
                          "123456789",
                          "\xc3\xa9t\xc3\xa9",
                          "long-key-with-many-parts:"
                          "0123456789abcdef"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        long expect = cli_long(0, "CLUSTER KEYSLOT '%s'", keys[i]);
        assert_int_equal(goio_redis_key_slot(keys[i], strlen(keys[i])), expect);
    }
    /* The reference value from the Redis Cluster spec. */
    assert_int_equal(goio_redis_key_slot("123456789", 9), 0x31c3 & 16383);
    /* Hashing uses the given length, not the terminator. */
    assert_int_equal(goio_redis_key_slot("foobar", 3),
                     goio_redis_key_slot("foo", 3));
}

static void keys_spread_over_every_master(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("spread");
    for (int i = 0; i < 300; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "key-%d", i);
        int n = snprintf(val, sizeof val, "value-%d", i);
        assert_ok(goio_redis_set(r, NULL, key, val, (size_t)n, 120000));
    }
    int masters = 0;
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++) {
        if (!cl.up[i] || !is_master(i))
            continue;
        masters++;
        assert_true(cli_long(i, "DBSIZE%s", "") > 50);
    }
    assert_int_equal(masters, 3);
    goio_buf b = GOIO_BUF_INIT;
    for (int i = 0; i < 300; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "key-%d", i);
        int n = snprintf(val, sizeof val, "value-%d", i);
        bool hit;
        assert_ok(goio_redis_get(r, NULL, key, &b, &hit));
        assert_true(hit);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, val, (size_t)n);
    }
    goio_redis_stats st = stats(r);
    assert_int_equal(st.slot_refreshes, 1); /* loaded once, never moved */
    assert_int_equal(st.moved, 0);
    /* Masters at least (Redis 7 lists a replica only once it has
     * replicated something). */
    assert_true(st.nodes >= 3);
    int64_t v;
    assert_ok(goio_redis_incr(r, NULL, "counter", &v));
    assert_int_equal(v, 1);
    bool e;
    assert_ok(goio_redis_exists(r, NULL, "key-1", &e));
    assert_true(e);
    assert_ok(goio_redis_del(r, NULL, "key-1", &e));
    assert_true(e);
    assert_ok(goio_redis_publish(r, NULL, "chan", "m", 1, &v));
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void hash_tags_keep_keys_on_one_node(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("tags");
    assert_ok(goio_redis_set(r, NULL, "{user7}:cart", "c", 1, 60000));
    assert_ok(goio_redis_set(r, NULL, "{user7}:profile", "p", 1, 60000));
    unsigned slot = goio_redis_key_slot("user7", 5);
    assert_int_equal(cli_long(0, "CLUSTER KEYSLOT '%s'", "tags:{user7}:cart"),
                     slot);
    int m = goio_test_redis_cluster_master_of(&cl, slot);
    assert_true(m >= 0);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "CLUSTER COUNTKEYSINSLOT %u", slot);
    char *out = goio_test_redis_cluster_cli(&cl, m, "%s", cmd);
    assert_int_equal(atoi(out), 2);
    goio_free(out);
    goio_redis_free(r);
}

static void multi_get_spans_slots_one_round_trip_per_master(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("multi");
    enum { N = 200 };
    static test_keys t;
    test_keys_init(&t, "mk", N, 1, false);
    goio_redis_stats before = stats(r);
    assert_ok(goio_redis_multi_set(r, NULL, t.keys, t.vals, t.lens, N, 60000));
    assert_ok(goio_redis_multi_get(r, NULL, t.keys, N, t.bufs, t.hits));
    goio_redis_stats after = stats(r);
    test_keys_check(&t, 1);
    /* Three masters: three pipelines per call, nothing finished one by
     * one. */
    assert_int_equal(after.pipelines - before.pipelines, 6);
    assert_int_equal(after.retries, before.retries);
    test_keys_free(&t);
    goio_redis_free(r);
}

/* ---- migration: ASK while a slot moves, MOVED once it has ---- */

static void on_node(int i, const char *fmt, const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    char *out = goio_test_redis_cluster_cli(&cl, i, "%s", cmd);
    assert_non_null(out);
    if (strncmp(out, "OK", 2) && strncmp(out, "NOKEY", 5))
        fail_msg("node %d: %s -> %s", i, cmd, out);
    goio_free(out);
}

static void ask_during_migration_moved_after(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("mig");
    assert_ok(goio_redis_set(r, NULL, "{mt}old", "v1", 2, 120000));
    unsigned slot = goio_redis_key_slot("mt", 2);
    int src = goio_test_redis_cluster_master_of(&cl, slot), dst = -1;
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES && dst < 0; i++)
        if (i != src && cl.up[i] && is_master(i))
            dst = i;
    assert_true(src >= 0 && dst >= 0);
    char *src_id = goio_test_redis_cluster_node_id(&cl, src);
    char *dst_id = goio_test_redis_cluster_node_id(&cl, dst);
    char slot_s[16], port_s[16];
    snprintf(slot_s, sizeof slot_s, "%u", slot);
    snprintf(port_s, sizeof port_s, "%d", cl.nodes[dst].port);

    /* Start moving the slot and move the existing key. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s IMPORTING %%s%%s", slot_s);
    on_node(dst, cmd, src_id, "");
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s MIGRATING %%s%%s", slot_s);
    on_node(src, cmd, dst_id, "");
    on_node(src, "MIGRATE 127.0.0.1 %s '' 0 5000 KEYS 'mig:{mt}old'%s", port_s,
            "");

    /* The source answers ASK for keys it no longer has. */
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_redis_get(r, NULL, "{mt}old", &b, &hit));
    assert_true(hit && b.len == 2 && !memcmp(b.data, "v1", 2));
    assert_true(stats(r).ask >= 1);
    /* A new key in a migrating slot goes to the target, through ASK. */
    uint64_t asks = stats(r).ask;
    assert_ok(goio_redis_set(r, NULL, "{mt}new", "v2", 2, 120000));
    assert_true(stats(r).ask > asks);
    assert_int_equal(cli_long(dst, "CLUSTER COUNTKEYSINSLOT %s", slot_s), 2);
    /* Multi-key calls finish the redirected keys one by one. */
    const char *keys[] = {"{mt}old", "{mt}new", "elsewhere"};
    goio_buf bufs[3] = {GOIO_BUF_INIT, GOIO_BUF_INIT, GOIO_BUF_INIT};
    bool hits[3];
    assert_ok(goio_redis_multi_get(r, NULL, keys, 3, bufs, hits));
    assert_true(hits[0] && hits[1] && !hits[2]);
    assert_memory_equal(bufs[1].data, "v2", 2);

    /* Finish: every master learns the new owner. The client still maps
     * the slot to the source, which now answers MOVED. */
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s NODE %%s%%s", slot_s);
    on_node(dst, cmd, dst_id, "");
    on_node(src, cmd, dst_id, "");
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++)
        if (i != src && i != dst && cl.up[i] && is_master(i))
            on_node(i, cmd, dst_id, "");
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    uint64_t moved = stats(r).moved, refreshes = stats(r).slot_refreshes;
    assert_ok(goio_redis_get(r, NULL, "{mt}old", &b, &hit));
    assert_true(hit && b.len == 2 && !memcmp(b.data, "v1", 2));
    assert_int_equal(stats(r).moved, moved + 1);
    assert_true(stats(r).slot_refreshes > refreshes);
    /* The map is right now: no more redirects. */
    assert_ok(goio_redis_get(r, NULL, "{mt}new", &b, &hit));
    assert_true(hit);
    assert_int_equal(stats(r).moved, moved + 1);
    /* A second client that never saw the slot elsewhere goes straight
     * there. */
    goio_redis *fresh = open_cluster("mig");
    assert_ok(goio_redis_get(fresh, NULL, "{mt}new", &b, &hit));
    assert_true(hit);
    assert_int_equal(stats(fresh).moved, 0);
    for (int i = 0; i < 3; i++)
        goio_buf_deinit(&bufs[i]);
    goio_buf_deinit(&b);
    goio_free(src_id);
    goio_free(dst_id);
    goio_redis_free(fresh);
    goio_redis_free(r);
}

/* ---- redirects are per command on the shared connections ---- */

enum { MIG_THREADS = 8 };

typedef struct mig_worker {
    pthread_t tid;
    goio_redis *r;
    atomic_bool *stop;
    int index;
    atomic_long ok; /* read while running */
    long wrong;
    int first_err;
    char msg[128];
} mig_worker;

/* Even workers use a key of the migrating slot ({mc}), odd ones a key of
 * their own; each SETs a fresh value and GETs it back. */
static void *mig_main(void *arg)
{
    mig_worker *w = arg;
    char key[32], val[32];
    snprintf(key, sizeof key, w->index % 2 ? "other%d" : "{mc}w%d", w->index);
    goio_buf b = GOIO_BUF_INIT;
    for (long n = 0; !atomic_load(w->stop); n++) {
        int len = snprintf(val, sizeof val, "v%d:%ld", w->index, n);
        bool hit = false;
        int rc = goio_redis_set(w->r, NULL, key, val, (size_t)len, 120000);
        if (!rc)
            rc = goio_redis_get(w->r, NULL, key, &b, &hit);
        if (rc) {
            if (!w->first_err)
                w->first_err = rc;
            continue;
        }
        if (!hit || b.len != (size_t)len || memcmp(b.data, val, b.len)) {
            if (!w->wrong++)
                snprintf(w->msg, sizeof w->msg, "%s: got %s'%.*s' for '%s'",
                         key, hit ? "" : "a miss ", (int)b.len, (char *)b.data,
                         val);
            continue;
        }
        atomic_fetch_add(&w->ok, 1);
    }
    goio_buf_deinit(&b);
    return NULL;
}

static long mig_ok(mig_worker *ws)
{
    long n = 0;
    for (int i = 0; i < MIG_THREADS; i++)
        n += atomic_load(&ws[i].ok);
    return n;
}

/* A slot moves while 8 threads share the connections: the commands of the
 * moving slot follow ASK then MOVED one by one, the others never notice,
 * and every GET returns what its thread just set. */
static void a_slot_moves_under_concurrent_calls(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("mc");
    unsigned slot = goio_redis_key_slot("mc", 2);
    int src = goio_test_redis_cluster_master_of(&cl, slot), dst = -1;
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES && dst < 0; i++)
        if (i != src && cl.up[i] && is_master(i))
            dst = i;
    assert_true(src >= 0 && dst >= 0);
    atomic_bool stop = false;
    mig_worker ws[MIG_THREADS];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < MIG_THREADS; i++) {
        ws[i].r = r;
        ws[i].stop = &stop;
        ws[i].index = i;
        assert_int_equal(pthread_create(&ws[i].tid, NULL, mig_main, &ws[i]), 0);
    }
    assert_true(GOIO_WAIT_UNTIL(mig_ok(ws) > 200, 20000));

    char *src_id = goio_test_redis_cluster_node_id(&cl, src);
    char *dst_id = goio_test_redis_cluster_node_id(&cl, dst);
    char slot_s[16], port_s[16], cmd[256];
    snprintf(slot_s, sizeof slot_s, "%u", slot);
    snprintf(port_s, sizeof port_s, "%d", cl.nodes[dst].port);
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s IMPORTING %%s%%s", slot_s);
    on_node(dst, cmd, src_id, "");
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s MIGRATING %%s%%s", slot_s);
    on_node(src, cmd, dst_id, "");
    long before = mig_ok(ws);
    assert_true(GOIO_WAIT_UNTIL(mig_ok(ws) > before + 100, 20000));
    for (int i = 0; i < MIG_THREADS; i += 2) {
        char key[32];
        snprintf(key, sizeof key, "mc:{mc}w%d", i);
        on_node(src, "MIGRATE 127.0.0.1 %s %s 0 5000", port_s, key);
    }
    before = mig_ok(ws);
    assert_true(GOIO_WAIT_UNTIL(mig_ok(ws) > before + 100, 20000));
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s NODE %%s%%s", slot_s);
    on_node(dst, cmd, dst_id, "");
    on_node(src, cmd, dst_id, "");
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++)
        if (i != src && i != dst && cl.up[i] && is_master(i))
            on_node(i, cmd, dst_id, "");
    before = mig_ok(ws);
    assert_true(GOIO_WAIT_UNTIL(mig_ok(ws) > before + 200, 20000));
    atomic_store(&stop, true);
    long wrong = 0;
    int err = 0;
    for (int i = 0; i < MIG_THREADS; i++) {
        pthread_join(ws[i].tid, NULL);
        if (ws[i].wrong)
            print_message("worker %d: %s\n", i, ws[i].msg);
        wrong += ws[i].wrong;
        if (!err)
            err = ws[i].first_err;
    }
    goio_redis_stats st = stats(r);
    print_message("%ld round trips ok, %llu ASK, %llu MOVED\n", mig_ok(ws),
                  (unsigned long long)st.ask, (unsigned long long)st.moved);
    assert_int_equal(wrong, 0);
    assert_goio(0, err);
    assert_true(st.ask >= 1 && st.moved >= 1);
    /* Shared connections, not one per thread. */
    assert_true(st.open <= 2 * GOIO_TEST_CLUSTER_NODES + 3);
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    goio_free(src_id);
    goio_free(dst_id);
    goio_redis_free(r);
}

/* ---- async calls follow ASK and MOVED ---- */

typedef struct aresult {
    atomic_int calls;
    int status;
    bool hit;
    char str[16];
    size_t len;
} aresult;

static void a_on_get(int status, const void *v, size_t len, bool hit,
                     void *data)
{
    aresult *a = data;
    a->status = status;
    a->hit = hit;
    a->len = len < sizeof a->str ? len : sizeof a->str;
    if (v)
        memcpy(a->str, v, a->len);
    atomic_fetch_add(&a->calls, 1);
}

static void a_on_set(int status, void *data)
{
    aresult *a = data;
    a->status = status;
    atomic_fetch_add(&a->calls, 1);
}

static aresult aget(goio_redis *r, const char *key)
{
    aresult a = {0};
    assert_ok(goio_redis_get_async(r, NULL, key, a_on_get, &a));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&a.calls) == 1, 20000));
    return a;
}

static void async_calls_follow_ask_and_moved(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("amig");
    assert_ok(goio_redis_set(r, NULL, "{ma}old", "v1", 2, 120000));
    unsigned slot = goio_redis_key_slot("ma", 2);
    int src = goio_test_redis_cluster_master_of(&cl, slot), dst = -1;
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES && dst < 0; i++)
        if (i != src && cl.up[i] && is_master(i))
            dst = i;
    assert_true(src >= 0 && dst >= 0);
    char *src_id = goio_test_redis_cluster_node_id(&cl, src);
    char *dst_id = goio_test_redis_cluster_node_id(&cl, dst);
    char slot_s[16], port_s[16], cmd[256];
    snprintf(slot_s, sizeof slot_s, "%u", slot);
    snprintf(port_s, sizeof port_s, "%d", cl.nodes[dst].port);
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s IMPORTING %%s%%s", slot_s);
    on_node(dst, cmd, src_id, "");
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s MIGRATING %%s%%s", slot_s);
    on_node(src, cmd, dst_id, "");
    on_node(src, "MIGRATE 127.0.0.1 %s '' 0 5000 KEYS 'amig:{ma}old'%s", port_s,
            "");

    /* ASKING goes on the shared connection right before the command. */
    aresult a = aget(r, "{ma}old");
    assert_goio(0, a.status);
    assert_true(a.hit && a.len == 2 && !memcmp(a.str, "v1", 2));
    assert_true(stats(r).ask >= 1);
    uint64_t asks = stats(r).ask;
    aresult s = {0};
    assert_ok(goio_redis_set_async(r, NULL, "{ma}new", "v2", 2, 120000,
                                   a_on_set, &s));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&s.calls) == 1, 20000));
    assert_goio(0, s.status);
    assert_true(stats(r).ask > asks);
    assert_int_equal(cli_long(dst, "CLUSTER COUNTKEYSINSLOT %s", slot_s), 2);

    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %s NODE %%s%%s", slot_s);
    on_node(dst, cmd, dst_id, "");
    on_node(src, cmd, dst_id, "");
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++)
        if (i != src && i != dst && cl.up[i] && is_master(i))
            on_node(i, cmd, dst_id, "");
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    uint64_t moved = stats(r).moved;
    a = aget(r, "{ma}old");
    assert_goio(0, a.status);
    assert_true(a.hit && a.len == 2 && !memcmp(a.str, "v1", 2));
    assert_int_equal(stats(r).moved, moved + 1);
    /* The slot was patched: no more redirects. */
    a = aget(r, "{ma}new");
    assert_true(a.status == 0 && a.hit);
    assert_int_equal(stats(r).moved, moved + 1);
    goio_free(src_id);
    goio_free(dst_id);
    goio_redis_free(r);
}

/* ---- a slot nobody serves: CLUSTERDOWN ---- */

static bool all_report(const char *needle)
{
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++) {
        if (!cl.up[i])
            continue;
        char *out = goio_test_redis_cluster_cli(&cl, i, "CLUSTER INFO");
        bool ok = out && strstr(out, needle);
        goio_free(out);
        if (!ok)
            return false;
    }
    return true;
}

static void clusterdown_is_retried_with_backoff_then_reported(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("cd");
    assert_ok(goio_redis_set(r, NULL, "{gone}k", "v", 1, 60000));
    assert_ok(goio_redis_set(r, NULL, "other", "v", 1, 60000));
    unsigned slot = goio_redis_key_slot("gone", 4);
    int owner = goio_test_redis_cluster_master_of(&cl, slot);
    assert_true(owner >= 0);
    /* Every node forgets the slot, the owner first (or its heartbeats
     * would hand the slot back to the others): with full coverage
     * required the whole cluster refuses commands (CLUSTERDOWN). */
    for (int k = 0; k <= GOIO_TEST_CLUSTER_NODES; k++) {
        int i = k == 0 ? owner : k - 1;
        if (k > 0 && i == owner)
            continue;
        char *out =
            goio_test_redis_cluster_cli(&cl, i, "CLUSTER DELSLOTS %u", slot);
        goio_free(out);
    }
    assert_true(GOIO_WAIT_UNTIL(all_report("cluster_state:fail"), 10000));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    /* A key in a still-mapped slot: CLUSTERDOWN, retried with backoff,
     * then reported with Redis' message. */
    int64_t t0 = goio_now_mono_ms();
    assert_goio(GOIO_EPROTO, goio_redis_get(r, NULL, "other", &b, &hit));
    assert_true(elapsed_since(t0) >= 10 + 20 + 40 + 80);
    assert_true(logs_have("redis_error_reply", "other", "CLUSTERDOWN"));
    assert_int_equal(stats(r).tryagain, 4); /* 5 attempts in all */
    /* The key of the unserved slot: once the map is reloaded no node
     * serves it. */
    int rc = goio_redis_get(r, NULL, "{gone}k", &b, &hit);
    assert_true(rc == GOIO_EHOSTUNREACH || rc == GOIO_EPROTO);
    assert_goio(GOIO_EHOSTUNREACH,
                goio_redis_get(r, NULL, "{gone}k", &b, &hit));
    assert_true(logs_have("redis_slot_unserved", NULL, NULL));
    logs_restore();
    /* The owner takes it back; the client follows without help. */
    char *out =
        goio_test_redis_cluster_cli(&cl, owner, "CLUSTER ADDSLOTS %u", slot);
    goio_free(out);
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    assert_ok(goio_redis_get(r, NULL, "{gone}k", &b, &hit));
    assert_true(hit);
    assert_ok(goio_redis_get(r, NULL, "other", &b, &hit));
    assert_true(hit);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

/* ---- failover ---- */

static bool replicas_caught_up(void)
{
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++) {
        if (!cl.up[i] || is_master(i))
            continue;
        char *out = goio_test_redis_cluster_cli(&cl, i, "INFO replication");
        const char *mp = out ? strstr(out, "master_port:") : NULL;
        const char *so = out ? strstr(out, "slave_repl_offset:") : NULL;
        int m = mp ? goio_test_redis_cluster_index(&cl, atoi(mp + 12)) : -1;
        long long slave_off = so ? atoll(so + 18) : -1;
        goio_free(out);
        if (m < 0)
            return false;
        out = goio_test_redis_cluster_cli(&cl, m, "INFO replication");
        const char *mo = out ? strstr(out, "master_repl_offset:") : NULL;
        long long master_off = mo ? atoll(mo + 19) : -2;
        goio_free(out);
        if (master_off != slave_off)
            return false;
    }
    return true;
}

/* Keys "<prefix><i>" valued with their own names, on every master, and
 * replicated before the test fails a master. */
static void set_named_keys(goio_redis *r, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", prefix, i);
        assert_ok(goio_redis_set(r, NULL, key, key, strlen(key), 120000));
    }
    assert_true(GOIO_WAIT_UNTIL(replicas_caught_up(), 20000));
}

/* Every one of them reads back (the failed master's included). */
static void check_named_keys(goio_redis *r, const char *prefix, int n)
{
    goio_buf b = GOIO_BUF_INIT;
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", prefix, i);
        bool hit;
        assert_ok(goio_redis_get(r, NULL, key, &b, &hit));
        assert_true(hit);
        assert_int_equal(b.len, strlen(key));
    }
    goio_buf_deinit(&b);
}

/* The master serving a namespaced key (and its slot). */
static int master_of_key(const char *raw, unsigned *slot)
{
    *slot = goio_redis_key_slot(raw, strlen(raw));
    int m = goio_test_redis_cluster_master_of(&cl, *slot);
    assert_true(m >= 0);
    return m;
}

static void survives_a_master_failing_over_to_its_replica(void **state)
{
    (void)state;
    goio_redis *r = open_cluster("failover");
    enum { N = 120 };
    set_named_keys(r, "f", N);
    unsigned slot;
    int victim = master_of_key("failover:f0", &slot);
    goio_test_redis_cluster_kill(&cl, victim);

    /* While the cluster notices and elects, calls fail with the
     * documented codes only; then they work again. */
    logs_capture();
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t deadline = goio_now_mono_ms() + 30000;
    int rc;
    do {
        rc = goio_redis_get(r, NULL, "f0", &b, &hit);
        assert_true(rc == 0 || rc == GOIO_ECONNREFUSED ||
                    rc == GOIO_ECONNRESET || rc == GOIO_EPROTO ||
                    rc == GOIO_ETIMEDOUT || rc == GOIO_EHOSTUNREACH);
        if (rc)
            goio_test_sleep_ms(20);
    } while (rc && goio_now_mono_ms() < deadline);
    logs_restore();
    assert_ok(rc);
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    /* Every key, the failed master's included, reads and writes. */
    check_named_keys(r, "f", N);
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "f%d", i);
        assert_ok(goio_redis_set(r, NULL, key, "new", 3, 120000));
    }
    assert_int_equal(goio_test_redis_cluster_master_of(&cl, slot) == victim,
                     false);
    goio_redis_stats st = stats(r);
    assert_true(st.slot_refreshes >= 2);
    /* The old master comes back as a replica; the cluster stays whole. */
    assert_int_equal(goio_test_redis_cluster_restart(&cl, victim), 0);
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    assert_false(is_master(victim));
    assert_ok(goio_redis_get(r, NULL, "f0", &b, &hit));
    assert_true(hit && b.len == 3);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void survives_a_hung_master_replaced_by_its_replica(void **state)
{
    (void)state;
    goio_redis *r = open_cluster_timeout("hung", 500);
    enum { N = 60 };
    set_named_keys(r, "h", N);
    unsigned slot;
    int victim = master_of_key("hung:h0", &slot);
    /* Hung, not dead: connections stay open, nothing answers, and it
     * never sends a MOVED. Only timeouts tell the client. */
    goio_test_redis_cluster_pause(&cl, victim);
    logs_capture();
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t deadline = goio_now_mono_ms() + 30000;
    int rc, timeouts = 0;
    do {
        rc = goio_redis_get(r, NULL, "h0", &b, &hit);
        timeouts += rc == GOIO_ETIMEDOUT;
        assert_true(rc == 0 || rc == GOIO_ETIMEDOUT || rc == GOIO_EPROTO ||
                    rc == GOIO_ECONNREFUSED || rc == GOIO_EHOSTUNREACH);
    } while (rc && goio_now_mono_ms() < deadline);
    logs_restore();
    assert_ok(rc);
    assert_true(timeouts >= 1);
    assert_true(hit);
    check_named_keys(r, "h", N);
    /* Woken up, it learns it was replaced and follows its old replica. */
    goio_test_redis_cluster_resume(&cl, victim);
    assert_true(goio_test_redis_cluster_wait_ok(&cl, 30000));
    assert_false(is_master(victim));
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void an_unreachable_seed_fails_cleanly(void **state)
{
    (void)state;
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", goio_test_free_port());
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = ep;
    cfg.cluster = true;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    assert_goio(GOIO_ECONNREFUSED, goio_redis_get(r, NULL, "k", &b, &hit));
    assert_true(logs_have("redis_cluster_refresh_failed", NULL, NULL));
    logs_restore();
    /* A non-cluster server as the seed: CLUSTER SLOTS is an error. */
    goio_test_redis plain;
    assert_int_equal(goio_test_redis_start(&plain, NULL), 0);
    cfg.endpoint = plain.endpoint;
    goio_redis *r2;
    assert_ok(goio_redis_new(&cfg, &r2));
    logs_capture();
    assert_goio(GOIO_EPROTO, goio_redis_get(r2, NULL, "k", &b, &hit));
    assert_true(logs_have("redis_error_reply", NULL, "cluster support"));
    logs_restore();
    goio_redis_free(r2);
    goio_test_redis_stop(&plain);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

typedef struct getter {
    goio_redis *r;
    goio_ctx *ctx;
    int rc;
} getter;

static void *get_k(void *arg)
{
    getter *g = arg;
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    g->rc = goio_redis_get(g->r, g->ctx, "k", &b, &hit);
    goio_buf_deinit(&b);
    return NULL;
}

/* A caller that needs the slot map while another caller is loading it
 * from a hung node waits no longer than its ctx allows. */
static void waiting_for_a_slot_map_reload_ends_at_the_ctx_deadline(void **s)
{
    (void)s;
    goio_test_redis hung;
    assert_int_equal(goio_test_redis_start(&hung, NULL), 0);
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = hung.endpoint;
    cfg.cluster = true;
    cfg.read_timeout_ms = 3000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_test_redis_pause(&hung); /* accepts, never answers CLUSTER SLOTS */
    logs_capture();
    getter first = {.r = r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, get_k, &first), 0);
    bool loading = GOIO_WAIT_UNTIL(stats(r).connects == 1, 5000);
    getter second = {.r = r};
    assert_ok(goio_ctx_new_with_timeout(NULL, 150, &second.ctx));
    int64_t t0 = goio_now_mono_ms();
    get_k(&second);
    int64_t took = goio_now_mono_ms() - t0;
    goio_ctx_unref(second.ctx);
    goio_test_redis_resume(&hung);
    pthread_join(t, NULL);
    logs_restore();
    assert_true(loading);
    assert_goio(GOIO_ETIMEDOUT, second.rc);
    assert_true(took >= 140 && took < 1500);
    /* Resumed, the server answered the first caller: no cluster here. */
    assert_goio(GOIO_EPROTO, first.rc);
    goio_redis_free(r);
    goio_test_redis_stop(&hung);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_match_cluster_keyslot),
        cmocka_unit_test(keys_spread_over_every_master),
        cmocka_unit_test(hash_tags_keep_keys_on_one_node),
        cmocka_unit_test(multi_get_spans_slots_one_round_trip_per_master),
        cmocka_unit_test(ask_during_migration_moved_after),
        cmocka_unit_test(a_slot_moves_under_concurrent_calls),
        cmocka_unit_test(async_calls_follow_ask_and_moved),
        cmocka_unit_test(an_unreachable_seed_fails_cleanly),
        cmocka_unit_test(
            waiting_for_a_slot_map_reload_ends_at_the_ctx_deadline),
        cmocka_unit_test(clusterdown_is_retried_with_backoff_then_reported),
        cmocka_unit_test(survives_a_hung_master_replaced_by_its_replica),
        cmocka_unit_test(survives_a_master_failing_over_to_its_replica),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
