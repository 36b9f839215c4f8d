/* SPDX-License-Identifier: MIT */
/*
 * Redis Cluster over TLS: three masters started with --tls-port and
 * --tls-cluster yes (the cluster bus over TLS too), certificates made at
 * test time with the openssl CLI, the cluster created through the
 * plaintext ports. goio is given one node's TLS port: the slot map it reads
 * over TLS names the other nodes' TLS ports, and keys spread over every
 * node are written and read, one by one and pipelined.
 */
#include "redis_test_util.h"
#include "test_redis.h"

#include <stdlib.h>

#define NODES 3

static char *dir;
static goio_test_redis node[NODES];
static int tls_port[NODES];
static char ca[512], seed[64];

static int sh(const char *cmd)
{
    return goio_test_system("cd '%s' && %s >/dev/null 2>&1", dir, cmd);
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

static bool cluster_ok(void)
{
    for (int i = 0; i < NODES; i++) {
        char *out = goio_test_redis_cli(&node[i], "CLUSTER INFO");
        bool ok = out && strstr(out, "cluster_state:ok") &&
                  strstr(out, "cluster_known_nodes:3");
        goio_free(out);
        if (!ok)
            return false;
    }
    return true;
}

static int setup(void **state)
{
    (void)state;
    dir = goio_test_mkdtemp("tlscl");
    if (!dir ||
        sh("openssl req -x509 " EC " -keyout ca.key -out ca.crt -days 2 "
           "-subj /CN=ca") ||
        sh("openssl req " EC " -keyout s.key -out s.csr -subj /CN=s && "
           "printf 'subjectAltName=IP:127.0.0.1\\n' > s.ext && "
           "openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key "
           "-CAcreateserial -out s.crt -days 2 -extfile s.ext"))
        return -1;
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    char addrs[512] = "";
    size_t len = 0;
    for (int i = 0; i < NODES; i++) {
        tls_port[i] = goio_test_free_port();
        char args[1024];
        snprintf(args, sizeof args,
                 "--cluster-enabled yes --cluster-config-file nodes.conf "
                 "--cluster-port %d --tls-port %d --tls-cluster yes "
                 "--tls-cert-file %s/s.crt --tls-key-file %s/s.key "
                 "--tls-ca-cert-file %s --tls-auth-clients no",
                 goio_test_free_port(), tls_port[i], dir, dir, ca);
        if (goio_test_redis_start(&node[i], args))
            return -1;
        len += (size_t)snprintf(addrs + len, sizeof addrs - len, "%s ",
                                node[i].endpoint);
    }
    if (goio_test_system("redis-cli --cluster create %s --cluster-yes "
                         ">'%s/create.log' 2>&1",
                         addrs, dir) ||
        !GOIO_WAIT_UNTIL(cluster_ok(), 30000)) {
        fprintf(stderr, "TLS cluster not ready, see %s/create.log\n", dir);
        return -1;
    }
    snprintf(seed, sizeof seed, "127.0.0.1:%d", tls_port[0]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NODES; i++)
        goio_test_redis_stop(&node[i]);
    goio_test_rm_rf(dir);
    goio_free(dir);
    return 0;
}

static void keys_on_every_node_over_tls(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = seed;
    cfg.cluster = true;
    cfg.key_namespace = "tc";
    cfg.tls = true;
    cfg.tls_ca_file = ca;
    cfg.read_timeout_ms = 2000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    char key[32], val[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "v%d", i);
        assert_ok(goio_redis_set(r, NULL, key, val, strlen(val), 60000));
    }
    goio_buf b = GOIO_BUF_INIT;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "v%d", i);
        bool hit;
        assert_ok(goio_redis_get(r, NULL, key, &b, &hit));
        assert_true(hit && b.len == strlen(val) && !memcmp(b.data, val, b.len));
    }
    goio_buf_deinit(&b);
    test_keys t;
    test_keys_init(&t, "m", 100, 1, false);
    assert_ok(
        goio_redis_multi_set(r, NULL, t.keys, t.vals, t.lens, 100, 60000));
    assert_ok(goio_redis_multi_get(r, NULL, t.keys, 100, t.bufs, t.hits));
    for (int i = 0; i < 100; i++) {
        assert_true(t.hits[i]);
        assert_int_equal(t.bufs[i].len, t.lens[i]);
    }
    test_keys_free(&t);
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    /* Every node reached, none of them through a plaintext port (which
     * would have failed the handshake). */
    assert_int_equal(st.nodes, NODES);
    assert_int_equal(st.connect_errors, 0);
    assert_true(st.connects >= NODES);
    /* Each node holds some of the keys. */
    for (int i = 0; i < NODES; i++) {
        char *out = goio_test_redis_cli(&node[i], "DBSIZE");
        assert_non_null(out);
        assert_true(atoi(out) > 0);
        goio_free(out);
    }
    goio_redis_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_on_every_node_over_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
