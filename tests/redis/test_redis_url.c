/* SPDX-License-Identifier: MIT */
/*
 * goio_redis_config_from_url: a table of good URLs and what they set, a
 * table of bad ones (hostile included: overlong, broken escapes, NULs,
 * bad ports) with the part the log record must name, allocation failure,
 * and URLs used against a real redis-server (TCP with an ACL user and a
 * database, unix socket).
 */
#include "redis_test_util.h"
#include "test_redis.h"

static goio_test_redis srv;

static int setup(void **state)
{
    (void)state;
    return goio_test_redis_start(&srv, NULL);
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_stop(&srv);
    return 0;
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

typedef struct good_case {
    const char *url;
    const char *endpoint, *user, *pass;
    int db;
    bool tls, cluster;
    int64_t connect_ms, read_ms, write_ms, wait_ms, idle_ms;
    int max_active, max_idle;
} good_case;

#define D_CON  1000
#define D_RD   200
#define D_WR   200
#define D_WAIT 1000
#define D_IDLE 180000

static const good_case goods[] = {
    {"redis://localhost", "localhost:6379", NULL, NULL, 0, false, false, D_CON,
     D_RD, D_WR, D_WAIT, D_IDLE, 20, 10},
    {"redis://", "localhost:6379", NULL, NULL, 0, false, false, D_CON, D_RD,
     D_WR, D_WAIT, D_IDLE, 20, 10},
    {"REDIS://Host-1.example:1", "Host-1.example:1", NULL, NULL, 0, false,
     false, D_CON, D_RD, D_WR, D_WAIT, D_IDLE, 20, 10},
    {"redis://user:p%40ss%3Aw%2Fd@h.example:6380/2", "h.example:6380", "user",
     "p@ss:w/d", 2, false, false, D_CON, D_RD, D_WR, D_WAIT, D_IDLE, 20, 10},
    {"redis://user@h/", "h:6379", "user", NULL, 0, false, false, D_CON, D_RD,
     D_WR, D_WAIT, D_IDLE, 20, 10},
    {"redis://:only%20pass@h", "h:6379", NULL, "only pass", 0, false, false,
     D_CON, D_RD, D_WR, D_WAIT, D_IDLE, 20, 10},
    /* The last '@' ends the user info (as Go's url.Parse). */
    {"redis://u:a@b@h:7", "h:7", "u", "a@b", 0, false, false, D_CON, D_RD, D_WR,
     D_WAIT, D_IDLE, 20, 10},
    {"rediss://:secret@[::1]:6390/0?dial_timeout=3&read_timeout=500ms"
     "&write_timeout=1.5s&pool_size=7&max_idle_conns=3"
     "&conn_max_idle_time=2m&pool_timeout=-1",
     "[::1]:6390", NULL, "secret", 0, true, false, 3000, 500, 1500, -1, 120000,
     7, 3},
    {"rediss://[2001:db8::1]", "[2001:db8::1]:6379", NULL, NULL, 0, true, false,
     D_CON, D_RD, D_WR, D_WAIT, D_IDLE, 20, 10},
    {"redis://h?cluster=true&min_idle_conns=5&max_retries=3&pool_fifo=1"
     "&read_timeout=0&idle_timeout=1h30m&max_active_conns=9",
     "h:6379", NULL, NULL, 0, false, true, D_CON, -1, D_WR, D_WAIT, 5400000, 9,
     10},
    {"redis://h?db=5&write_timeout=1500us", "h:6379", NULL, NULL, 5, false,
     false, D_CON, D_RD, 2, D_WAIT, D_IDLE, 20, 10},
    {"unix:///tmp/redis.sock?db=3", "/tmp/redis.sock", NULL, NULL, 3, false,
     false, D_CON, D_RD, D_WR, D_WAIT, D_IDLE, 20, 10},
    {"unix://u:p@/var/run/r%20s.sock", "/var/run/r s.sock", "u", "p", 0, false,
     false, D_CON, D_RD, D_WR, D_WAIT, D_IDLE, 20, 10},
};

static void good_urls_set_what_they_say(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof goods / sizeof *goods; i++) {
        const good_case *g = &goods[i];
        goio_redis_config cfg;
        goio_redis_config_init(&cfg);
        int rc = goio_redis_config_from_url(&cfg, g->url);
        if (rc)
            fail_msg("%s: %s", g->url, goio_err_name(rc));
        if (!same(cfg.endpoint, g->endpoint) || !same(cfg.username, g->user) ||
            !same(cfg.password, g->pass) || cfg.database != g->db ||
            cfg.tls != g->tls || cfg.cluster != g->cluster ||
            cfg.connect_timeout_ms != g->connect_ms ||
            cfg.read_timeout_ms != g->read_ms ||
            cfg.write_timeout_ms != g->write_ms ||
            cfg.wait_timeout_ms != g->wait_ms ||
            cfg.idle_timeout_ms != g->idle_ms ||
            cfg.max_active != g->max_active || cfg.max_idle != g->max_idle)
            fail_msg(
                "%s: endpoint %s user %s pass %s db %d tls %d cluster %d "
                "con %lld rd %lld wr %lld wait %lld idle %lld active %d "
                "idle %d",
                g->url, cfg.endpoint, cfg.username ? cfg.username : "-",
                cfg.password ? cfg.password : "-", cfg.database, cfg.tls,
                cfg.cluster, (long long)cfg.connect_timeout_ms,
                (long long)cfg.read_timeout_ms, (long long)cfg.write_timeout_ms,
                (long long)cfg.wait_timeout_ms, (long long)cfg.idle_timeout_ms,
                cfg.max_active, cfg.max_idle);
        goio_redis_config_deinit(&cfg);
        assert_null(cfg.url_storage);
    }
}

static void tls_options(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    assert_ok(goio_redis_config_from_url(
        &cfg, "rediss://h:6380?skip_verify=true&tls_ca_file=%2Fetc%2Fca.pem"
              "&tls_ca_dir=/etc/ssl/certs&tls_cert_file=c.pem&tls_key_file=k."
              "pem&tls_server_name=redis.internal&tls_min_version=1.3"
              "&tls_skip_hostname=1"));
    assert_true(cfg.tls && cfg.tls_skip_verify && cfg.tls_skip_hostname);
    assert_string_equal(cfg.tls_ca_file, "/etc/ca.pem");
    assert_string_equal(cfg.tls_ca_dir, "/etc/ssl/certs");
    assert_string_equal(cfg.tls_cert_file, "c.pem");
    assert_string_equal(cfg.tls_key_file, "k.pem");
    assert_string_equal(cfg.tls_server_name, "redis.internal");
    assert_int_equal(cfg.tls_min_version, 13);
    /* A second URL replaces the first; strings it does not name are
     * dropped with the first's storage, never left dangling. */
    assert_ok(goio_redis_config_from_url(&cfg, "redis://other:1"));
    assert_false(cfg.tls);
    assert_string_equal(cfg.endpoint, "other:1");
    assert_null(cfg.tls_ca_file);
    assert_null(cfg.tls_server_name);
    goio_redis_config_deinit(&cfg);
    goio_redis_config_deinit(&cfg); /* twice is fine */
    goio_redis_config_deinit(NULL);
}

typedef struct bad_case {
    const char *url;
    const char *part; /* named in the log record */
} bad_case;

static const bad_case bads[] = {
    {"", "scheme"},
    {"localhost:6379", "scheme"},
    {"http://h", "scheme"},
    {"redis:/h", "scheme"},
    {"redisss://h", "scheme"},
    {"redis://h:0", "port"},
    {"redis://h:65536", "port"},
    {"redis://h:-1", "port"},
    {"redis://h:+80", "port"},
    {"redis://h:abc", "port"},
    {"redis://h:", "port"},
    {"redis://h:123456789", "port"},
    {"redis://h:80:81", "port"},
    {"redis://[::1", "host"},
    {"redis://[]:1", "host"},
    {"redis://[::1]x", "host"},
    {"redis://[::g]:1", "host"},
    {"redis://::1:6379", "port"}, /* a bare IPv6 address */
    {"redis://h%41", "host"},
    {"redis://bad host", "space or control"},
    {"redis://h\n", "space or control"},
    {"redis://h/abc", "path"},
    {"redis://h/-1", "path"},
    {"redis://h/1/2", "path"},
    {"redis://h/99999999999999999999", "path"},
    {"redis://u:p%zz@h", "password"},
    {"redis://u:p%4@h", "password: truncated"},
    {"redis://u:p%@h", "password: truncated"},
    {"redis://u%00:p@h", "user"},
    {"redis://h?nope=1", "unknown option"},
    {"redis://h?pool_size=abc", "pool_size"},
    {"redis://h?pool_size=-1", "pool_size"},
    {"redis://h?pool_size=99999999999", "pool_size"},
    {"redis://h?db=x", "db"},
    {"redis://h?mux_conns=65", "mux_conns"},
    {"redis://h?mux_conns=-1", "mux_conns"},
    {"redis://h?mux_conns=two", "mux_conns"},
    {"redis://h?dial_timeout=5x", "dial_timeout"},
    {"redis://h?dial_timeout=1..5s", "dial_timeout"},
    {"redis://h?dial_timeout=ms", "dial_timeout"},
    {"redis://h?dial_timeout=99999999999h", "dial_timeout"},
    {"redis://h?read_timeout=%", "read_timeout: truncated"},
    {"redis://h?skip_verify=yes", "skip_verify"},
    {"redis://h?tls_min_version=1.1", "tls_min_version"},
    {"redis://h?tls_ca_file=", "tls_ca_file"},
    {"redis://h#frag", "fragment"},
    {"unix://host/sock", "host"},
    {"unix://", "path"},
    {"unix:///", "path"},
    {"unix:///s%00x", "path"},
};

static void bad_urls_are_einval_and_name_the_part(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        goio_redis_config cfg, before;
        goio_redis_config_init(&cfg);
        cfg.key_namespace = "ns";
        before = cfg;
        logs_capture();
        int rc = goio_redis_config_from_url(&cfg, bads[i].url);
        bool named = logs_have("redis_bad_url", NULL, bads[i].part);
        logs_restore();
        if (rc != GOIO_EINVAL || !named)
            fail_msg("%s: %s, part %s logged: %d", bads[i].url,
                     goio_err_name(rc), bads[i].part, named);
        assert_memory_equal(&cfg, &before, sizeof cfg); /* unchanged */
    }
}

static void hostile_urls(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    static char big[8192];
    /* Overlong URL. */
    memcpy(big, "redis://h/?", 11);
    memset(big + 11, 'a', sizeof big - 12);
    logs_capture();
    assert_goio(GOIO_EINVAL, goio_redis_config_from_url(&cfg, big));
    assert_true(logs_have("redis_bad_url", NULL, "longer than 4096"));
    /* Overlong host within the limit. */
    memset(big, 0, sizeof big);
    memcpy(big, "redis://", 8);
    memset(big + 8, 'h', 300);
    assert_goio(GOIO_EINVAL, goio_redis_config_from_url(&cfg, big));
    assert_true(logs_have("redis_bad_url", NULL, "host"));
    /* A long unknown option name is cut in the record, non-printables
     * replaced. */
    memset(big, 0, sizeof big);
    memcpy(big, "redis://h?", 10);
    memset(big + 10, 'x', 3000);
    assert_goio(GOIO_EINVAL, goio_redis_config_from_url(&cfg, big));
    assert_true(logs_have("redis_bad_url", NULL, "unknown option"));
    assert_goio(GOIO_EINVAL,
                goio_redis_config_from_url(&cfg, "redis://h?%ff%fe=1"));
    /* The password never reaches the log. */
    assert_goio(GOIO_EINVAL,
                goio_redis_config_from_url(&cfg, "redis://u:s3cr3tX@h:99999"));
    assert_goio(GOIO_EINVAL,
                goio_redis_config_from_url(&cfg, "redis://u:s3cr3tX%zz@h"));
    assert_false(logs_have("redis_bad_url", NULL, "s3cr3tX"));
    logs_restore();
    /* Many options: storage grows. */
    goio_buf u = GOIO_BUF_INIT;
    assert_ok(goio_buf_append_str(&u, "redis://h?db=1"));
    for (int i = 0; i < 100; i++)
        assert_ok(goio_buf_append_str(&u, "&tls_ca_file=/x&pool_size=3"));
    assert_ok(goio_buf_append(&u, "", 1));
    assert_ok(goio_redis_config_from_url(&cfg, (const char *)u.data));
    assert_int_equal(cfg.max_active, 3);
    goio_buf_deinit(&u);
    assert_goio(GOIO_EINVAL, goio_redis_config_from_url(NULL, "redis://h"));
    assert_goio(GOIO_EINVAL, goio_redis_config_from_url(&cfg, NULL));
    goio_redis_config_deinit(&cfg);
}

static int torture_op(void *arg)
{
    return goio_redis_config_from_url(
        arg, "rediss://us%20er:pa%20ss@[::1]:1/2?tls_ca_file=/a&tls_cert_file="
             "/b&tls_key_file=/c&dial_timeout=2s");
}

static void torture_cleanup(void *arg)
{
    goio_redis_config_deinit(arg);
}

static void allocation_failures_are_enomem_without_leaks(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    assert_true(goio_test_alloc_torture(torture_op, torture_cleanup, &cfg) > 3);
}

static void urls_reach_a_real_server(void **state)
{
    (void)state;
    char *out = goio_test_redis_cli(
        &srv, "ACL SETUSER urluser on '>p@ss w' '~*' +@all");
    goio_free(out);
    char url[512];
    snprintf(url, sizeof url,
             "redis://urluser:p%%40ss%%20w@127.0.0.1:%d/3?read_timeout=2s",
             srv.port);
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.key_namespace = "url";
    assert_ok(goio_redis_config_from_url(&cfg, url));
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_redis_config_deinit(&cfg); /* the handle copied what it needs */
    assert_ok(goio_redis_set(r, NULL, "k", "tcp", 3, 60000));
    goio_redis_free(r);
    out = goio_test_redis_cli(&srv, "-n 3 GET url:k");
    assert_non_null(strstr(out, "tcp"));
    goio_free(out);

    snprintf(url, sizeof url, "unix://%s?db=4", srv.socket);
    goio_redis_config_init(&cfg);
    assert_ok(goio_redis_config_from_url(&cfg, url));
    assert_ok(goio_redis_new(&cfg, &r));
    goio_redis_config_deinit(&cfg);
    assert_ok(goio_redis_set(r, NULL, "k", "unix", 4, 60000));
    goio_redis_free(r);
    out = goio_test_redis_cli(&srv, "-n 4 GET k");
    assert_non_null(strstr(out, "unix"));
    goio_free(out);
}

static void mux_conns_from_the_url(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    assert_ok(goio_redis_config_from_url(&cfg, "redis://h"));
    assert_int_equal(cfg.mux_conns, 2); /* not named: kept */
    assert_ok(goio_redis_config_from_url(&cfg, "redis://h?mux_conns=64"));
    assert_int_equal(cfg.mux_conns, GOIO_REDIS_MAX_MUX_CONNS);
    goio_redis_config_deinit(&cfg);
    /* On a real server: 0 is pooled mode (the call's connection goes back
     * to the pool, idle), 3 multiplexed (no pooled connection). */
    for (int mux = 0; mux <= 3; mux += 3) {
        char url[256];
        snprintf(url, sizeof url, "redis://127.0.0.1:%d?mux_conns=%d", srv.port,
                 mux);
        goio_redis_config_init(&cfg);
        assert_ok(goio_redis_config_from_url(&cfg, url));
        assert_int_equal(cfg.mux_conns, mux);
        goio_redis *r;
        assert_ok(goio_redis_new(&cfg, &r));
        goio_redis_config_deinit(&cfg);
        assert_ok(goio_redis_set(r, NULL, "muxurl", "v", 1, 60000));
        goio_redis_stats st;
        assert_ok(goio_redis_stats_get(r, &st));
        assert_int_equal(st.open, 1);
        assert_int_equal(st.idle, mux ? 0 : 1);
        goio_redis_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_urls_set_what_they_say),
        cmocka_unit_test(tls_options),
        cmocka_unit_test(bad_urls_are_einval_and_name_the_part),
        cmocka_unit_test(hostile_urls),
        cmocka_unit_test(allocation_failures_are_enomem_without_leaks),
        cmocka_unit_test(urls_reach_a_real_server),
        cmocka_unit_test(mux_conns_from_the_url),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
