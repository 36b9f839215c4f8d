/* SPDX-License-Identifier: MIT */
/*
 * Pub/sub over TLS against a real redis-server started with --tls-port
 * (certificates made at test time with the openssl CLI): messages flow
 * both ways (published through goio's TLS pool and by redis-cli on the
 * plaintext port), the subscriber reconnects over TLS after a server
 * restart, and an untrusted server certificate keeps the subscription
 * from going live with a "pubsub_tls_failed" record naming OpenSSL's
 * reason and GOIO_EACCES.
 */
#include "test_redis.h"
#include "test_util.h"

#include <goio/pubsub.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char *dir;
static goio_test_redis srv;
static int tls_port;
static char ca[512], other_ca[512], tls_ep[64];

static int sh(const char *cmd)
{
    return goio_test_system("cd '%s' && %s >/dev/null 2>&1", dir, cmd);
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

static int setup(void **state)
{
    (void)state;
    dir = goio_test_mkdtemp("pstls");
    if (!dir ||
        sh("openssl req -x509 " EC " -keyout ca.key -out ca.crt -days 2 "
           "-subj /CN=ca") ||
        sh("openssl req -x509 " EC " -keyout o.key -out o.crt -days 2 "
           "-subj /CN=other") ||
        sh("openssl req " EC " -keyout s.key -out s.csr -subj /CN=s && "
           "printf 'subjectAltName=IP:127.0.0.1\\n' > s.ext && "
           "openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key "
           "-CAcreateserial -out s.crt -days 2 -extfile s.ext"))
        return -1;
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(other_ca, sizeof other_ca, "%s/o.crt", dir);
    tls_port = goio_test_free_port();
    snprintf(tls_ep, sizeof tls_ep, "127.0.0.1:%d", tls_port);
    char args[1024];
    snprintf(args, sizeof args,
             "--tls-port %d --tls-cert-file %s/s.crt --tls-key-file %s/s.key "
             "--tls-ca-cert-file %s --tls-auth-clients no",
             tls_port, dir, dir, ca);
    return goio_test_redis_start(&srv, args);
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_stop(&srv);
    goio_test_rm_rf(dir);
    goio_free(dir);
    return 0;
}

static goio_redis *tls_redis(const char *ca_file)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = tls_ep;
    cfg.key_namespace = "ps";
    cfg.tls = true;
    cfg.tls_ca_file = ca_file;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

static int recv_within(goio_pubsub_sub *s, int64_t ms, const char *want)
{
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, ms, &ctx));
    const goio_pubsub_msg *m = NULL;
    int rc = goio_pubsub_receive(s, ctx, &m);
    goio_ctx_unref(ctx);
    if (rc == 0) {
        rc =
            (m->len == strlen(want) && !memcmp(m->data, want, m->len)) ? 0 : -1;
        goio_pubsub_msg_unref(m);
    }
    return rc;
}

static void messages_flow_over_tls(void **state)
{
    (void)state;
    goio_redis *r = tls_redis(ca);
    goio_pubsub *ps;
    assert_ok(goio_pubsub_new(r, NULL, &ps));
    const char *ch[] = {"news"};
    goio_pubsub_sub *s;
    assert_ok(goio_pubsub_subscribe(ps, ch, 1, NULL, &s));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 5000, &ctx));
    assert_ok(goio_pubsub_wait_subscribed(s, ctx));
    goio_ctx_unref(ctx);
    /* Through goio's TLS pool. */
    int64_t n = 0;
    assert_ok(goio_pubsub_publish(ps, NULL, "news", "hello", 5, &n));
    assert_int_equal(n, 1);
    assert_ok(recv_within(s, 5000, "hello"));
    /* Large payload, from a plaintext client. */
    char *out = goio_test_redis_cli(&srv, "PUBLISH ps:news %s",
                                    "0123456789abcdef0123456789abcdef");
    goio_free(out);
    assert_ok(recv_within(s, 5000, "0123456789abcdef0123456789abcdef"));

    /* A restart: the subscriber reconnects over TLS and resubscribes. */
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    bool got = false;
    int64_t end = goio_now_mono_ms() + 15000;
    while (!got && goio_now_mono_ms() < end) {
        out = goio_test_redis_cli(&srv, "PUBLISH ps:news again");
        goio_free(out);
        got = recv_within(s, 200, "again") == 0;
    }
    assert_true(got);
    goio_pubsub_unsubscribe(s);
    goio_pubsub_free(ps);
    goio_redis_free(r);
}

typedef struct seen {
    pthread_mutex_t mu;
    bool tls_failed;
    int err;
    char msg[256];
} seen;

static seen seen_log = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void sink(const goio_log_record *rec, void *data)
{
    (void)data;
    pthread_mutex_lock(&seen_log.mu);
    if (rec->code && !strcmp(rec->code, "pubsub_tls_failed")) {
        seen_log.tls_failed = true;
        seen_log.err = rec->error;
        snprintf(seen_log.msg, sizeof seen_log.msg, "%s",
                 rec->message ? rec->message : "");
    }
    pthread_mutex_unlock(&seen_log.mu);
}

static bool tls_failure_seen(void)
{
    pthread_mutex_lock(&seen_log.mu);
    bool v = seen_log.tls_failed;
    pthread_mutex_unlock(&seen_log.mu);
    return v;
}

static void an_untrusted_server_never_goes_live(void **state)
{
    (void)state;
    goio_log_set_sink(sink, NULL);
    goio_redis *r = tls_redis(other_ca);
    goio_pubsub *ps;
    assert_ok(goio_pubsub_new(r, NULL, &ps));
    const char *ch[] = {"news"};
    goio_pubsub_sub *s;
    assert_ok(goio_pubsub_subscribe(ps, ch, 1, NULL, &s));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 500, &ctx));
    assert_int_equal(goio_pubsub_wait_subscribed(s, ctx), GOIO_ETIMEDOUT);
    goio_ctx_unref(ctx);
    assert_true(GOIO_WAIT_UNTIL(tls_failure_seen(), 5000));
    goio_pubsub_unsubscribe(s);
    goio_pubsub_free(ps);
    goio_redis_free(r);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    assert_int_equal(seen_log.err, GOIO_EACCES);
    assert_non_null(strstr(seen_log.msg, "certificate verify failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages_flow_over_tls),
        cmocka_unit_test(an_untrusted_server_never_goes_live),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
