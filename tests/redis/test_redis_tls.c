/* SPDX-License-Identifier: MIT */
/*
 * TLS against real redis-servers started with --tls-port, certificates
 * made at test time with the openssl CLI: single calls, the pool under
 * threads, pipelined multi-key calls with large values, a rediss:// URL,
 * mutual TLS; and each failure a clear code with OpenSSL's reason in the
 * log, bounded in time: untrusted CA, expired certificate, wrong host
 * name, client certificate required but missing, plaintext client on the
 * TLS port and TLS client on the plaintext port, a server that never
 * answers the handshake (ctx deadline), bad TLS settings.
 */
#include "redis_test_util.h"
#include "test_redis.h"

#include <stdatomic.h>

static char *dir;
static goio_test_redis srv, mtls, expired;
static int srv_tls, mtls_tls, expired_tls;
static char ca[512], other_ca[512], client_crt[512], client_key[512];

static int sh(const char *cmd)
{
    int rc = goio_test_system("cd '%s' && %s >/dev/null 2>&1", dir, cmd);
    if (rc)
        fprintf(stderr, "failed (%d): %s\n", rc, cmd);
    return rc;
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

/* A certificate <name>.crt/.key signed by ca, with SAN `san`, valid for
 * `days` (negative: expired). */
static int make_cert(const char *name, const char *ca_name, const char *san,
                     int days)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req " EC " -keyout %s.key -out %s.csr -subj /CN=%s && "
             "printf 'subjectAltName=%s\\n' > %s.ext && "
             "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key "
             "-CAcreateserial -out %s.crt -days %d -extfile %s.ext",
             name, name, name, san, name, name, ca_name, ca_name, name, days,
             name);
    return sh(cmd);
}

static int start_tls(goio_test_redis *r, int *tls_port, const char *cert,
                     bool auth_clients)
{
    *tls_port = goio_test_free_port();
    char args[1024];
    snprintf(args, sizeof args,
             "--tls-port %d --tls-cert-file %s/%s.crt --tls-key-file "
             "%s/%s.key --tls-ca-cert-file %s/ca.crt --tls-auth-clients %s",
             *tls_port, dir, cert, dir, cert, dir, auth_clients ? "yes" : "no");
    return goio_test_redis_start(r, args);
}

static int setup(void **state)
{
    (void)state;
    dir = goio_test_mkdtemp("tls");
    if (!dir ||
        sh("openssl req -x509 " EC " -keyout ca.key -out ca.crt -days 2 "
           "-subj /CN=goio-test-ca") ||
        sh("openssl req -x509 " EC " -keyout other.key -out other.crt "
           "-days 2 -subj /CN=other-ca") ||
        make_cert("server", "ca", "IP:127.0.0.1,DNS:localhost", 2) ||
        make_cert("old", "ca", "IP:127.0.0.1,DNS:localhost", -1) ||
        make_cert("client", "ca", "DNS:client", 2))
        return -1;
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(other_ca, sizeof other_ca, "%s/other.crt", dir);
    snprintf(client_crt, sizeof client_crt, "%s/client.crt", dir);
    snprintf(client_key, sizeof client_key, "%s/client.key", dir);
    if (start_tls(&srv, &srv_tls, "server", false) ||
        start_tls(&mtls, &mtls_tls, "server", true) ||
        start_tls(&expired, &expired_tls, "old", false))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_stop(&srv);
    goio_test_redis_stop(&mtls);
    goio_test_redis_stop(&expired);
    goio_test_rm_rf(dir);
    goio_free(dir);
    return 0;
}

static char endpoint_buf[4][64];

static void tls_config(goio_redis_config *cfg, int port, const char *ns)
{
    static int n;
    char *ep = endpoint_buf[n++ % 4];
    snprintf(ep, 64, "127.0.0.1:%d", port);
    goio_redis_config_init(cfg);
    cfg->endpoint = ep;
    cfg->key_namespace = ns;
    cfg->tls = true;
    cfg->tls_ca_file = ca;
    cfg->connect_timeout_ms = 1000;
    cfg->read_timeout_ms = 1000;
}

static void single_calls(void **state)
{
    (void)state;
    goio_redis_config cfg;
    tls_config(&cfg, srv_tls, "single");
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "k", "secret", 6, 60000));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    assert_true(hit && b.len == 6 && !memcmp(b.data, "secret", 6));
    int64_t v;
    assert_ok(goio_redis_incr(r, NULL, "n", &v));
    assert_int_equal(v, 1);
    /* An error reply over TLS leaves the connection usable. */
    logs_capture();
    assert_goio(GOIO_EPROTO, goio_redis_incr(r, NULL, "k", &v));
    logs_restore();
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    /* One thread uses one shared connection; the error reply kept it. */
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.closed_broken, 0);
    /* The same data through the plaintext port. */
    char *out = goio_test_redis_cli(&srv, "GET single:k");
    assert_non_null(strstr(out, "secret"));
    goio_free(out);
    /* Name checked against a DNS name of the certificate. */
    goio_redis_free(r);
    cfg.tls_server_name = "localhost";
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    goio_redis_free(r);
    goio_buf_deinit(&b);
}

/* Async calls over TLS: many large replies in flight at once, so that
 * OpenSSL holds records the socket no longer shows. */
enum { TLS_ASYNC = 32, TLS_BIG = 40000 };

typedef struct tls_async {
    atomic_int done, bad;
} tls_async;

static void tls_on_get(int status, const void *v, size_t len, bool hit,
                       void *data)
{
    tls_async *t = data;
    const unsigned char *p = v;
    bool ok = status == 0 && hit && len == TLS_BIG;
    for (size_t i = 0; ok && i < len; i += 997)
        ok = p[i] == (unsigned char)('a' + i % 26);
    if (!ok)
        atomic_fetch_add(&t->bad, 1);
    atomic_fetch_add(&t->done, 1);
}

static void async_calls_over_tls(void **state)
{
    (void)state;
    goio_redis_config cfg;
    tls_config(&cfg, srv_tls, "tlsasync");
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    static char big[TLS_BIG];
    for (size_t i = 0; i < TLS_BIG; i++)
        big[i] = (char)('a' + i % 26);
    assert_ok(goio_redis_set(r, NULL, "big", big, TLS_BIG, 60000));
    tls_async t = {0};
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < TLS_ASYNC; i++)
            assert_ok(goio_redis_get_async(r, NULL, "big", tls_on_get, &t));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&t.done) == 5 * TLS_ASYNC, 20000));
    assert_int_equal(atomic_load(&t.bad), 0);
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    assert_int_equal(st.closed_broken, 0);
    goio_redis_free(r);
}

static void *pool_worker(void *arg)
{
    goio_redis *r = arg;
    goio_buf b = GOIO_BUF_INIT;
    char key[32], val[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%d", i % 17);
        snprintf(val, sizeof val, "v%d", i);
        bool hit;
        if (goio_redis_set(r, NULL, key, val, strlen(val), 60000) ||
            goio_redis_get(r, NULL, key, &b, &hit) || !hit) {
            goio_buf_deinit(&b);
            return (void *)1;
        }
    }
    goio_buf_deinit(&b);
    return NULL;
}

static void pool_under_threads(void **state)
{
    (void)state;
    goio_redis_config cfg;
    tls_config(&cfg, srv_tls, "pool");
    cfg.max_active = 4;
    cfg.max_idle = 4;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, pool_worker, r);
    for (int i = 0; i < 8; i++) {
        void *res;
        pthread_join(t[i], &res);
        assert_null(res);
    }
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    assert_true(st.connects >= 1 && st.connects <= 4);
    assert_int_equal(st.connect_errors, 0);
    goio_redis_free(r);
}

static void pipelined_multi_with_large_values(void **state)
{
    (void)state;
    goio_redis_config cfg;
    tls_config(&cfg, srv_tls, "multi");
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    enum { N = 64, BIG = 100 * 1000 };
    static char vals[N][BIG];
    const char *keys[N];
    const void *vp[N];
    size_t lens[N];
    char names[N][16];
    goio_buf bufs[N];
    bool hits[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        keys[i] = names[i];
        memset(vals[i], 'a' + i % 26, BIG);
        vp[i] = vals[i];
        lens[i] = i % 2 ? BIG : (size_t)i + 1; /* big and small */
        goio_buf_init(&bufs[i]);
    }
    assert_ok(goio_redis_multi_set(r, NULL, keys, vp, lens, N, 60000));
    assert_ok(goio_redis_multi_get(r, NULL, keys, N, bufs, hits));
    for (int i = 0; i < N; i++) {
        assert_true(hits[i]);
        assert_int_equal(bufs[i].len, lens[i]);
        assert_memory_equal(bufs[i].data, vals[i], lens[i]);
        goio_buf_deinit(&bufs[i]);
    }
    goio_redis_free(r);
}

static void a_rediss_url(void **state)
{
    (void)state;
    char url[1024];
    snprintf(url, sizeof url,
             "rediss://127.0.0.1:%d/2?tls_ca_file=%s&dial_timeout=2s", srv_tls,
             ca);
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    assert_ok(goio_redis_config_from_url(&cfg, url));
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_redis_config_deinit(&cfg);
    assert_ok(goio_redis_set(r, NULL, "url", "x", 1, 60000));
    goio_redis_free(r);
    char *out = goio_test_redis_cli(&srv, "-n 2 GET url");
    assert_non_null(strstr(out, "x"));
    goio_free(out);
}

/* One call that must fail with `want`, within `max_ms`, with a record
 * `code` whose message holds `reason` (NULL = any). */
static void expect_failure(goio_redis_config *cfg, int want, int64_t max_ms,
                           const char *code, const char *reason)
{
    goio_redis *r;
    assert_ok(goio_redis_new(cfg, &r));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_get(r, NULL, "k", &b, &hit);
    int64_t ms = goio_now_mono_ms() - t0;
    bool logged = !code || logs_have(code, NULL, reason);
    logs_restore();
    if (rc != want || ms > max_ms || !logged)
        for (int i = 0; i < test_logs.count && i < 64; i++)
            print_message("logged %s: %s\n", test_logs.codes[i],
                          test_logs.messages[i]);
    if (rc != want || ms > max_ms || !logged)
        fail_msg("%s: got %s after %lld ms, want %s within %lld; logged %s "
                 "'%s': %d",
                 cfg->endpoint, goio_err_name(rc), (long long)ms,
                 goio_err_name(want), (long long)max_ms, code ? code : "-",
                 reason ? reason : "", logged);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void a_restart_is_survived_over_tls(void **state)
{
    (void)state;
    goio_redis_config cfg;
    tls_config(&cfg, srv_tls, "restart");
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    /* The pooled TLS connection is dead; a new handshake follows (within
     * the reconnect backoff if a connect failed meanwhile). */
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    logs_capture();
    assert_true(
        GOIO_WAIT_UNTIL(goio_redis_get(r, NULL, "k", &b, &hit) == 0, 2500));
    logs_restore();
    assert_false(hit); /* no persistence */
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void a_ca_directory(void **state)
{
    (void)state;
    /* A hashed directory (openssl rehash) holding only our CA. */
    assert_int_equal(goio_test_system("mkdir -p '%s/cadir' && cp '%s' "
                                      "'%s/cadir/' && openssl rehash "
                                      "'%s/cadir' >/dev/null 2>&1",
                                      dir, ca, dir, dir),
                     0);
    char cadir[600];
    snprintf(cadir, sizeof cadir, "%s/cadir", dir);
    goio_redis_config cfg;
    tls_config(&cfg, srv_tls, "cadir");
    cfg.tls_ca_file = NULL;
    cfg.tls_ca_dir = cadir;
    expect_failure(&cfg, 0, 900, NULL, NULL);
    /* The system store alone does not know our CA. */
    cfg.tls_ca_dir = NULL;
    expect_failure(&cfg, GOIO_EACCES, 900, "redis_tls_failed",
                   "certificate verify failed");
}

static void certificate_problems_are_eacces(void **state)
{
    (void)state;
    goio_redis_config cfg;
    /* A server certificate from a CA we do not trust. */
    tls_config(&cfg, srv_tls, "bad");
    cfg.tls_ca_file = other_ca;
    expect_failure(&cfg, GOIO_EACCES, 900, "redis_tls_failed",
                   "certificate verify failed");
    /* Expired. */
    tls_config(&cfg, expired_tls, "bad");
    expect_failure(&cfg, GOIO_EACCES, 900, "redis_tls_failed", "expired");
    /* For another name. */
    tls_config(&cfg, srv_tls, "bad");
    cfg.tls_server_name = "redis.example";
    expect_failure(&cfg, GOIO_EACCES, 900, "redis_tls_failed",
                   "hostname mismatch");
    /* ... which tls_skip_hostname accepts, and skip_verify accepts all. */
    cfg.tls_skip_hostname = true;
    expect_failure(&cfg, 0, 900, NULL, NULL);
    tls_config(&cfg, expired_tls, "bad");
    cfg.tls_ca_file = other_ca;
    cfg.tls_skip_verify = true;
    expect_failure(&cfg, 0, 900, NULL, NULL);
}

static void mutual_tls(void **state)
{
    (void)state;
    goio_redis_config cfg;
    /* Required and missing: the server refuses us. */
    tls_config(&cfg, mtls_tls, "mtls");
    expect_failure(&cfg, GOIO_EACCES, 900, "redis_connect_failed",
                   "certificate");
    /* Given. */
    cfg.tls_cert_file = client_crt;
    cfg.tls_key_file = client_key;
    expect_failure(&cfg, 0, 900, NULL, NULL);
}

static void wrong_protocol_on_either_side(void **state)
{
    (void)state;
    goio_redis_config cfg;
    /* Plaintext client on the TLS port: the server drops us. */
    tls_config(&cfg, srv_tls, "plain");
    cfg.tls = false;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_get(r, NULL, "k", &b, &hit);
    int64_t ms = goio_now_mono_ms() - t0;
    logs_restore();
    print_message("plaintext -> TLS port: %s after %lld ms\n",
                  goio_err_name(rc), (long long)ms);
    assert_true(rc == GOIO_ECONNRESET || rc == GOIO_EPROTO);
    assert_true(ms < 1500);
    goio_redis_free(r);
    /* TLS client on the plaintext port: Redis reads our ClientHello as an
     * unfinished inline command and waits; the handshake is bounded by the
     * connect timeout (or Redis answers an error: EPROTO). */
    tls_config(&cfg, srv.port, "plain");
    cfg.connect_timeout_ms = 300;
    assert_ok(goio_redis_new(&cfg, &r));
    logs_capture();
    t0 = goio_now_mono_ms();
    rc = goio_redis_get(r, NULL, "k", &b, &hit);
    ms = goio_now_mono_ms() - t0;
    bool logged = logs_have("redis_tls_failed", NULL, NULL);
    logs_restore();
    print_message("TLS -> plaintext port: %s after %lld ms\n",
                  goio_err_name(rc), (long long)ms);
    assert_true(rc == GOIO_ETIMEDOUT || rc == GOIO_EPROTO);
    assert_true(ms < 1000);
    assert_true(logged);
    goio_redis_free(r);
    goio_buf_deinit(&b);
}

static void the_ctx_bounds_a_stalled_handshake(void **state)
{
    (void)state;
    goio_redis_config cfg;
    tls_config(&cfg, srv_tls, "stall");
    cfg.connect_timeout_ms = 5000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_test_redis_pause(&srv); /* accepts (kernel), never answers */
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 200, &ctx));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_get(r, ctx, "k", &b, &hit);
    int64_t ms = goio_now_mono_ms() - t0;
    logs_restore();
    goio_test_redis_resume(&srv);
    assert_int_equal(rc, GOIO_ETIMEDOUT);
    assert_true(ms >= 150 && ms < 700);
    goio_ctx_unref(ctx);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void bad_tls_settings(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis *r;
    tls_config(&cfg, srv_tls, "cfg");
    cfg.tls_ca_file = "/nonexistent/ca.pem";
    logs_capture();
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    assert_true(logs_have("redis_tls_config", NULL, "CA"));
    tls_config(&cfg, srv_tls, "cfg");
    cfg.tls_cert_file = client_crt; /* without its key */
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.tls_key_file = ca; /* not its key */
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    assert_true(logs_have("redis_tls_config", NULL, NULL));
    logs_restore();
    tls_config(&cfg, srv_tls, "cfg");
    cfg.tls_min_version = 11;
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    tls_config(&cfg, srv_tls, "cfg");
    cfg.endpoint = srv.socket; /* TLS over a unix socket */
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    /* TLS 1.3 only works with Redis 7's defaults. */
    tls_config(&cfg, srv_tls, "cfg");
    cfg.tls_min_version = 13;
    expect_failure(&cfg, 0, 900, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_calls),
        cmocka_unit_test(async_calls_over_tls),
        cmocka_unit_test(pool_under_threads),
        cmocka_unit_test(pipelined_multi_with_large_values),
        cmocka_unit_test(a_rediss_url),
        cmocka_unit_test(certificate_problems_are_eacces),
        cmocka_unit_test(a_restart_is_survived_over_tls),
        cmocka_unit_test(a_ca_directory),
        cmocka_unit_test(mutual_tls),
        cmocka_unit_test(wrong_protocol_on_either_side),
        cmocka_unit_test(the_ctx_bounds_a_stalled_handshake),
        cmocka_unit_test(bad_tls_settings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
