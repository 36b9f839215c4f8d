/* SPDX-License-Identifier: MIT */
/*
 * Every goio_redis operation and option against a real redis-server:
 * values, TTLs and the 12 h cap, NX, namespaces, error replies, publish,
 * multi-key pipelines, the time tracker, AUTH/SELECT, unix sockets, the
 * goio_cache ops and allocation failures.
 */
#include "redis_test_util.h"
#include "test_proc.h"
#include "test_redis.h"

#include <limits.h>
#include <stdlib.h>

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

static goio_redis *open_ns(const char *ns)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = ns;
    goio_redis *r = NULL;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

/* redis-cli's answer, trimmed, as a long (or LONG_MIN when not a number). */
static long cli_long(const char *fmt, const char *arg)
{
    char *out = goio_test_redis_cli(&srv, fmt, arg);
    assert_non_null(out);
    char *end;
    long v = strtol(out, &end, 10);
    bool ok = end != out;
    goio_free(out);
    return ok ? v : LONG_MIN;
}

/* Asserts that key expires within ttl_ms: 0 < PTTL <= ttl_ms, and (the
 * test takes well under a minute) PTTL > ttl_ms - 60000. No expiry (-1)
 * and no key (-2) fail it. */
static void assert_pttl(const char *key, long ttl_ms)
{
    long pttl = cli_long("PTTL %s", key);
    if (!(pttl > 0 && pttl <= ttl_ms && pttl > ttl_ms - 60000))
        fail_msg("PTTL %s is %ld, expected in (%ld, %ld]", key, pttl,
                 ttl_ms > 60000 ? ttl_ms - 60000 : 0, ttl_ms);
}

static char *cli(const char *fmt, const char *arg)
{
    char *out = goio_test_redis_cli(&srv, fmt, arg);
    assert_non_null(out);
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
    return out;
}

static void config_defaults_match_go(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    assert_null(cfg.endpoint);
    assert_false(cfg.cluster);
    assert_int_equal(cfg.max_idle, 10);
    assert_int_equal(cfg.max_active, 20);
    assert_int_equal(cfg.connect_timeout_ms, 1000);
    assert_int_equal(cfg.read_timeout_ms, 200);
    assert_int_equal(cfg.write_timeout_ms, 200);
    assert_int_equal(cfg.test_on_borrow_ms, 30000);
    assert_int_equal(cfg.idle_timeout_ms, 180000);
    assert_int_equal(cfg.database, 0);
    goio_redis_config_init(NULL); /* no crash */
}

static void bad_configs_are_rejected(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis *r = (goio_redis *)1;
    assert_goio(GOIO_EINVAL, goio_redis_new(NULL, &r));
    assert_null(r);
    goio_redis_config_init(&cfg);
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, NULL));
    const char *bad[] = {
        NULL,       "",         "localhost", "host:",   "host:0",  "host:65536",
        "host:12x", "::1:6379", "[::1:6379", "[]:6379", "host:-1", "host:+1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cfg.endpoint = bad[i];
        assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    }
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "a{b";
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.key_namespace = "a}b";
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.key_namespace = NULL;
    cfg.max_active = -1;
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.max_active = 1;
    cfg.database = -1;
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.database = 2;
    cfg.cluster = true;
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.database = 0;
    cfg.endpoint = "/tmp/redis.sock";
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    /* IPv6 in brackets parses (nothing listens; no I/O happens yet). */
    cfg.cluster = false;
    cfg.endpoint = "[::1]:1";
    assert_ok(goio_redis_new(&cfg, &r));
    goio_redis_free(r);
    goio_redis_free(NULL);
}

static void bad_call_arguments_are_rejected(void **state)
{
    (void)state;
    goio_redis *r = open_ns("args");
    goio_buf b = GOIO_BUF_INIT;
    bool flag;
    int64_t n;
    char *long_key = goio_malloc(GOIO_CACHE_MAX_KEY + 2);
    memset(long_key, 'k', GOIO_CACHE_MAX_KEY + 1);
    long_key[GOIO_CACHE_MAX_KEY + 1] = 0;
    const char *keys[] = {NULL, "", long_key};
    for (size_t i = 0; i < 3; i++) {
        const char *k = keys[i];
        assert_goio(GOIO_EINVAL, goio_redis_get(r, NULL, k, &b, &flag));
        assert_goio(GOIO_EINVAL, goio_redis_set(r, NULL, k, "v", 1, 1000));
        assert_goio(GOIO_EINVAL, goio_redis_set(r, NULL, k, "v", 1, 0));
        assert_goio(GOIO_EINVAL, goio_redis_del(r, NULL, k, &flag));
        assert_goio(GOIO_EINVAL, goio_redis_exists(r, NULL, k, &flag));
        assert_goio(GOIO_EINVAL, goio_redis_incr(r, NULL, k, &n));
        assert_goio(GOIO_EINVAL, goio_redis_publish(r, NULL, k, "m", 1, &n));
        const char *one[] = {"ok", k};
        goio_buf bufs[2] = {GOIO_BUF_INIT, GOIO_BUF_INIT};
        bool hits[2];
        assert_goio(GOIO_EINVAL,
                    goio_redis_multi_get(r, NULL, one, 2, bufs, hits));
        const void *vals[] = {"a", "b"};
        size_t lens[] = {1, 1};
        assert_goio(GOIO_EINVAL,
                    goio_redis_multi_set(r, NULL, one, vals, lens, 2, 1000));
    }
    /* A key of exactly the maximum length is fine. */
    long_key[GOIO_CACHE_MAX_KEY] = 0;
    assert_ok(goio_redis_set(r, NULL, long_key, "v", 1, 10000));
    assert_ok(goio_redis_get(r, NULL, long_key, &b, &flag));
    assert_true(flag);
    goio_free(long_key);

    assert_goio(GOIO_EINVAL, goio_redis_get(NULL, NULL, "k", &b, &flag));
    assert_goio(GOIO_EINVAL, goio_redis_get(r, NULL, "k", NULL, &flag));
    assert_goio(GOIO_EINVAL, goio_redis_get(r, NULL, "k", &b, NULL));
    assert_goio(GOIO_EINVAL, goio_redis_set(r, NULL, "k", NULL, 3, 1000));
    assert_goio(GOIO_EINVAL,
                goio_redis_set_opt(r, NULL, "k", "v", 1, NULL, &flag));
    assert_goio(GOIO_EINVAL, goio_redis_exists(r, NULL, "k", NULL));
    assert_goio(GOIO_EINVAL, goio_redis_publish(r, NULL, "c", NULL, 2, &n));
    assert_goio(GOIO_EINVAL, goio_redis_multi_get(r, NULL, NULL, 1, &b, &flag));
    assert_goio(GOIO_EINVAL, goio_redis_stats_get(r, NULL));
    assert_goio(GOIO_EINVAL, goio_redis_stats_get(NULL, NULL));
    assert_null(goio_redis_cache(NULL));
    /* n == 0 is a no-op even with NULL arrays. */
    assert_ok(goio_redis_multi_get(r, NULL, NULL, 0, NULL, NULL));
    assert_ok(goio_redis_multi_set(r, NULL, NULL, NULL, NULL, 0, 1000));
    /* A multi call with one invalid key stored none of them. */
    assert_int_equal(cli_long("EXISTS %s", "args:ok"), 0);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void values_are_binary_safe(void **state)
{
    (void)state;
    goio_redis *r = open_ns("bin");
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    assert_ok(goio_redis_set(r, NULL, "all", all, sizeof all, 60000));
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    assert_ok(goio_redis_get(r, NULL, "all", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, 256);
    assert_memory_equal(b.data, all, 256);
    /* Empty value: a hit with zero bytes. */
    assert_ok(goio_redis_set(r, NULL, "empty", NULL, 0, 60000));
    assert_ok(goio_redis_get(r, NULL, "empty", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, 0);
    /* 1 MiB value crosses hiredis' read buffer many times. */
    size_t big_len = 1 << 20;
    uint8_t *big = goio_malloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 7 + (i >> 8));
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "bin";
    cfg.read_timeout_ms = cfg.write_timeout_ms = 5000; /* sanitizers */
    goio_redis *slow;
    assert_ok(goio_redis_new(&cfg, &slow));
    assert_ok(goio_redis_set(slow, NULL, "big", big, big_len, 60000));
    assert_ok(goio_redis_get(slow, NULL, "big", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, big_len);
    assert_memory_equal(b.data, big, big_len);
    goio_free(big);
    /* A miss reports hit = false and empties the buffer. */
    assert_ok(goio_redis_get(r, NULL, "nope", &b, &hit));
    assert_false(hit);
    assert_int_equal(b.len, 0);
    goio_buf_deinit(&b);
    goio_redis_free(slow);
    goio_redis_free(r);
}

static void ttl_is_set_in_ms_and_capped_at_12h(void **state)
{
    (void)state;
    goio_redis *r = open_ns("ttl");
    assert_ok(goio_redis_set(r, NULL, "short", "v", 1, 1500));
    assert_pttl("ttl:short", 1500);
    assert_ok(goio_redis_set(r, NULL, "day", "v", 1, 24LL * 3600 * 1000));
    assert_pttl("ttl:day", GOIO_REDIS_MAX_TTL_MS);
    /* A sub-second TTL expires (Go's whole seconds would round to 0). */
    assert_ok(goio_redis_set(r, NULL, "brief", "v", 1, 50));
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_true(GOIO_WAIT_UNTIL(
        !goio_redis_get(r, NULL, "brief", &b, &hit) && !hit, 3000));
    /* TTL <= 0: stored already expired, i.e. gone. */
    assert_ok(goio_redis_set(r, NULL, "zero", "v", 1, 60000));
    assert_ok(goio_redis_set(r, NULL, "zero", "v", 1, 0));
    assert_ok(goio_redis_get(r, NULL, "zero", &b, &hit));
    assert_false(hit);
    assert_ok(goio_redis_set(r, NULL, "neg", "v", 1, -5));
    assert_int_equal(cli_long("EXISTS %s", "ttl:neg"), 0);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void set_opt_nx_and_expiry(void **state)
{
    (void)state;
    goio_redis *r = open_ns("opt");
    goio_redis_set_config o;
    goio_redis_set_config_init(&o);
    assert_int_equal(o.ttl_ms, 0);
    assert_false(o.if_not_exists);
    goio_redis_set_config_init(NULL); /* a no-op */
    o.if_not_exists = true;
    bool was_set = false;
    assert_ok(goio_redis_set_opt(r, NULL, "nx", "first", 5, &o, &was_set));
    assert_true(was_set);
    assert_ok(goio_redis_set_opt(r, NULL, "nx", "second", 6, &o, &was_set));
    assert_false(was_set);
    char *v = cli("--raw GET %s", "opt:nx");
    assert_string_equal(v, "first");
    goio_free(v);
    /* No TTL in set_opt means no expiry. */
    assert_int_equal(cli_long("PTTL %s", "opt:nx"), -1);
    o = (goio_redis_set_config){.ttl_ms = 30000, .if_not_exists = false};
    assert_ok(goio_redis_set_opt(r, NULL, "nx", "third", 5, &o, &was_set));
    assert_true(was_set);
    assert_pttl("opt:nx", 30000);
    o.ttl_ms = 48LL * 3600 * 1000;
    assert_ok(goio_redis_set_opt(r, NULL, "cap", "x", 1, &o, NULL));
    assert_pttl("opt:cap", GOIO_REDIS_MAX_TTL_MS);
    goio_redis_free(r);
}

static void exists_del_incr(void **state)
{
    (void)state;
    goio_redis *r = open_ns("edi");
    bool flag = true;
    assert_ok(goio_redis_exists(r, NULL, "k", &flag));
    assert_false(flag);
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    assert_ok(goio_redis_exists(r, NULL, "k", &flag));
    assert_true(flag);
    assert_ok(goio_redis_del(r, NULL, "k", &flag));
    assert_true(flag);
    assert_ok(goio_redis_del(r, NULL, "k", &flag));
    assert_false(flag);
    assert_ok(goio_redis_del(r, NULL, "k", NULL));
    int64_t n = 0;
    assert_ok(goio_redis_incr(r, NULL, "ctr", &n));
    assert_int_equal(n, 1);
    assert_ok(goio_redis_incr(r, NULL, "ctr", &n));
    assert_int_equal(n, 2);
    assert_ok(goio_redis_incr(r, NULL, "ctr", NULL));
    assert_int_equal(cli_long("GET %s", "edi:ctr"), 3);
    goio_redis_free(r);
}

static void error_replies_are_eproto_with_the_message_logged(void **state)
{
    (void)state;
    goio_redis *r = open_ns("err");
    assert_ok(goio_redis_set(r, NULL, "text", "abc", 3, 60000));
    logs_capture();
    int64_t n = 42;
    assert_goio(GOIO_EPROTO, goio_redis_incr(r, NULL, "text", &n));
    assert_int_equal(n, 42);
    assert_true(logs_have("redis_error_reply", "text", "not an integer"));
    char *out = cli("RPUSH %s x", "err:list");
    goio_free(out);
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    assert_goio(GOIO_EPROTO, goio_redis_get(r, NULL, "list", &b, &hit));
    assert_false(hit);
    assert_true(logs_have("redis_error_reply", "list", "WRONGTYPE"));
    logs_restore();
    /* The connection stays usable after an error reply. */
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    assert_int_equal(st.closed_broken, 0);
    assert_ok(goio_redis_get(r, NULL, "text", &b, &hit));
    assert_true(hit);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void namespaces_isolate_keys(void **state)
{
    (void)state;
    goio_redis *a = open_ns("nsa"), *b = open_ns("nsb"), *none = open_ns("");
    assert_ok(goio_redis_set(a, NULL, "k", "A", 1, 60000));
    assert_ok(goio_redis_set(b, NULL, "k", "B", 1, 60000));
    assert_ok(goio_redis_set(none, NULL, "rawkey", "R", 1, 60000));
    goio_buf v = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_redis_get(a, NULL, "k", &v, &hit));
    assert_true(hit && v.len == 1 && v.data[0] == 'A');
    assert_ok(goio_redis_get(b, NULL, "k", &v, &hit));
    assert_true(hit && v.len == 1 && v.data[0] == 'B');
    assert_ok(goio_redis_get(none, NULL, "k", &v, &hit));
    assert_false(hit);
    char *s = cli("--raw GET %s", "nsa:k");
    assert_string_equal(s, "A");
    goio_free(s);
    s = cli("--raw GET %s", "rawkey");
    assert_string_equal(s, "R");
    goio_free(s);
    /* The user's hash tag stays in the key as written. */
    assert_ok(goio_redis_set(a, NULL, "{user1}:cart", "c", 1, 60000));
    assert_int_equal(cli_long("EXISTS %s", "nsa:{user1}:cart"), 1);
    assert_int_equal(goio_redis_key_slot("nsa:{user1}:cart", 16),
                     goio_redis_key_slot("user1", 5));
    goio_buf_deinit(&v);
    goio_redis_free(a);
    goio_redis_free(b);
    goio_redis_free(none);
}

static void publish_reaches_a_subscriber(void **state)
{
    (void)state;
    goio_redis *r = open_ns("pub");
    int64_t n = -1;
    assert_ok(goio_redis_publish(r, NULL, "news", "x", 1, &n));
    assert_int_equal(n, 0);
    int fd = goio_test_connect(srv.port);
    assert_true(fd >= 0);
    const char *sub[] = {"SUBSCRIBE", "pub:news", NULL};
    assert_true(raw_send(fd, sub));
    assert_true(raw_expect(fd, "subscribe", 2000));
    assert_ok(goio_redis_publish(r, NULL, "news", "hello\0world", 11, &n));
    assert_int_equal(n, 1);
    assert_true(raw_expect(fd, "$11\r\nhello", 2000));
    close(fd);
    goio_redis_free(r);
}

static void multi_get_and_set_pipeline_in_one_round_trip(void **state)
{
    (void)state;
    goio_redis *r = open_ns("multi");
    enum { N = 150 };
    /* Only the even keys are set. */
    static test_keys all, even;
    test_keys_init(&all, "m", N, 1, true);
    test_keys_init(&even, "m", N / 2, 2, true);
    goio_redis_stats before, after;
    assert_ok(goio_redis_stats_get(r, &before));
    assert_ok(goio_redis_multi_set(r, NULL, even.keys, even.vals, even.lens,
                                   N / 2, 60000));
    assert_ok(goio_redis_multi_get(r, NULL, all.keys, N, all.bufs, all.hits));
    test_keys_check(&all, 2);
    assert_ok(goio_redis_stats_get(r, &after));
    assert_int_equal(after.pipelines - before.pipelines, 2);
    assert_int_equal(after.retries, before.retries);
    assert_pttl("multi:m0", 60000);
    /* TTL <= 0 deletes. */
    assert_ok(goio_redis_multi_set(r, NULL, even.keys, even.vals, even.lens,
                                   N / 2, 0));
    assert_ok(goio_redis_multi_get(r, NULL, all.keys, N, all.bufs, all.hits));
    for (int i = 0; i < N; i++)
        assert_false(all.hits[i]);
    /* A wrong-type key fails the call with its message logged. */
    char *out = cli("RPUSH %s x", "multi:m3");
    goio_free(out);
    logs_capture();
    assert_goio(GOIO_EPROTO,
                goio_redis_multi_get(r, NULL, all.keys, N, all.bufs, all.hits));
    assert_true(logs_have("redis_error_reply", "m3", "WRONGTYPE"));
    logs_restore();
    test_keys_free(&all);
    test_keys_free(&even);
    goio_redis_free(r);
}

/* mux_conns 0: every call borrows a pooled connection (a get_connection
 * and a close_connection step each); else only the pipelines do. */
static void tracker_run(int mux_conns)
{
    tracked t = {.mu = PTHREAD_MUTEX_INITIALIZER, .ordered = true};
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.mux_conns = mux_conns;
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "track";
    cfg.time_tracker = track_fn;
    cfg.time_tracker_data = &t;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    int64_t n;
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 1000));
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    assert_ok(goio_redis_exists(r, NULL, "k", &hit));
    assert_ok(goio_redis_del(r, NULL, "k", &hit));
    assert_ok(goio_redis_incr(r, NULL, "n", &n));
    assert_ok(goio_redis_publish(r, NULL, "c", "m", 1, &n));
    const char *keys[] = {"a", "b"};
    goio_buf bufs[2] = {GOIO_BUF_INIT, GOIO_BUF_INIT};
    bool hits[2];
    assert_ok(goio_redis_multi_get(r, NULL, keys, 2, bufs, hits));
    const void *vals[] = {"1", "2"};
    size_t lens[] = {1, 1};
    assert_ok(goio_redis_multi_set(r, NULL, keys, vals, lens, 2, 1000));
    assert_int_equal(tracked_count(&t, "redis_command_set"), 1);
    assert_int_equal(tracked_count(&t, "redis_command_get"), 1);
    assert_int_equal(tracked_count(&t, "redis_command_exists"), 1);
    assert_int_equal(tracked_count(&t, "redis_command_del"), 1);
    assert_int_equal(tracked_count(&t, "redis_command_incr"), 1);
    assert_int_equal(tracked_count(&t, "redis_command_publish"), 1);
    assert_int_equal(tracked_count(&t, "redis_command_multi_get"), 1);
    assert_int_equal(tracked_count(&t, "redis_command_multi_set"), 1);
    int borrows = mux_conns ? 2 : 8;
    assert_int_equal(tracked_count(&t, "redis_get_connection"), borrows);
    assert_int_equal(tracked_count(&t, "redis_close_connection"), borrows);
    assert_true(t.ordered);
    goio_buf_deinit(&b);
    for (int i = 0; i < 2; i++)
        goio_buf_deinit(&bufs[i]);
    goio_redis_free(r);
}

static void time_tracker_sees_every_step(void **state)
{
    (void)state;
    tracker_run(2);
    tracker_run(0);
}

static void password_and_database(void **state)
{
    (void)state;
    goio_test_redis auth;
    assert_int_equal(goio_test_redis_start(&auth, "--requirepass s3cret"), 0);
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = auth.endpoint;
    goio_redis *r;
    /* No password: the server refuses the command. */
    assert_ok(goio_redis_new(&cfg, &r));
    logs_capture();
    assert_goio(GOIO_EPROTO, goio_redis_set(r, NULL, "k", "v", 1, 1000));
    assert_true(logs_have("redis_error_reply", "k", "NOAUTH"));
    goio_redis_free(r);
    /* Wrong password: refused at connect. */
    cfg.password = "wrong";
    assert_ok(goio_redis_new(&cfg, &r));
    assert_goio(GOIO_EACCES, goio_redis_set(r, NULL, "k", "v", 1, 1000));
    assert_true(logs_have("redis_connect_failed", NULL, "AUTH"));
    logs_restore();
    goio_redis_free(r);
    /* Right password and database 3. */
    cfg.password = "s3cret";
    cfg.database = 3;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "in3", "v", 1, 60000));
    char *out = goio_test_redis_cli(&auth, "-a s3cret --no-auth-warning -n 3 "
                                           "EXISTS in3");
    assert_non_null(out);
    assert_int_equal(atoi(out), 1);
    goio_free(out);
    out = goio_test_redis_cli(&auth, "-a s3cret --no-auth-warning -n 0 "
                                     "EXISTS in3");
    assert_int_equal(atoi(out), 0);
    goio_free(out);
    /* A database the server lacks is refused at connect. */
    goio_redis_free(r);
    cfg.database = 99;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_goio(GOIO_EPROTO, goio_redis_set(r, NULL, "k", "v", 1, 1000));
    goio_redis_free(r);
    goio_test_redis_stop(&auth);
}

static void unix_socket_endpoint(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.socket;
    cfg.key_namespace = "unix";
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "k", "via-socket", 10, 60000));
    char *v = cli("--raw GET %s", "unix:k");
    assert_string_equal(v, "via-socket");
    goio_free(v);
    goio_redis_free(r);
}

static void unreachable_servers_give_exact_codes(void **state)
{
    (void)state;
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", goio_test_free_port());
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = ep;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r)); /* no I/O yet */
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    assert_goio(GOIO_ECONNREFUSED, goio_redis_get(r, NULL, "k", &b, &hit));
    assert_true(logs_have("redis_connect_failed", ep, NULL));
    goio_redis_free(r);
    cfg.endpoint = "/nonexistent/dir/redis.sock";
    assert_ok(goio_redis_new(&cfg, &r));
    assert_goio(GOIO_ECONNREFUSED, goio_redis_get(r, NULL, "k", &b, &hit));
    goio_redis_free(r);
    cfg.endpoint = "no-such-host.invalid:6379";
    assert_ok(goio_redis_new(&cfg, &r));
    assert_goio(GOIO_EHOSTUNREACH, goio_redis_get(r, NULL, "k", &b, &hit));
    logs_restore();
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    assert_int_equal(st.connect_errors, 1);
    assert_int_equal(st.open, 0);
    goio_redis_free(r);
}

static void cache_ops_map_to_redis(void **state)
{
    (void)state;
    goio_redis *r = open_ns("cops");
    goio_cache *c = goio_redis_cache(r);
    assert_non_null(c);
    assert_string_equal(c->ops->name, "redis");
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(c->ops->set(c, NULL, "k", "value", 5, 60000));
    assert_ok(c->ops->get(c, NULL, "k", &b, &hit));
    assert_true(hit && b.len == 5);
    assert_ok(c->ops->del(c, NULL, "k"));
    assert_ok(c->ops->get(c, NULL, "k", &b, &hit));
    assert_false(hit);
    goio_cache_stats st;
    assert_ok(c->ops->stats(c, &st));
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.sets, 1);
    assert_int_equal(st.deletes, 1);
    /* clear removes the namespace only. */
    goio_redis *other = open_ns("keep");
    assert_ok(goio_redis_set(other, NULL, "k", "v", 1, 60000));
    for (int i = 0; i < 2500; i++) { /* more than one SCAN batch */
        char k[16];
        snprintf(k, sizeof k, "c%d", i);
        assert_ok(c->ops->set(c, NULL, k, "v", 1, 60000));
    }
    char *out =
        cli("--raw EVAL \"return #redis.call('keys','cops:*')\" 0%s", "");
    assert_int_equal(atoi(out), 2500);
    goio_free(out);
    assert_ok(c->ops->clear(c, NULL));
    out = cli("--raw EVAL \"return #redis.call('keys','cops:*')\" 0%s", "");
    assert_int_equal(atoi(out), 0);
    goio_free(out);
    assert_int_equal(cli_long("EXISTS %s", "keep:k"), 1);
    /* The namespace is matched literally: "g*" clears "g*:k" only. */
    goio_redis *glob = open_ns("g*"), *gx = open_ns("gX");
    assert_ok(goio_redis_set(glob, NULL, "k", "v", 1, 60000));
    assert_ok(goio_redis_set(gx, NULL, "k", "v", 1, 60000));
    assert_ok(goio_cache_clear(goio_redis_cache(glob), NULL));
    assert_int_equal(cli_long("EXISTS '%s'", "g*:k"), 0);
    assert_int_equal(cli_long("EXISTS '%s'", "gX:k"), 1);
    goio_redis_free(glob);
    goio_redis_free(gx);
    goio_redis *none = open_ns(NULL);
    goio_cache *nc = goio_redis_cache(none);
    assert_goio(GOIO_ENOTSUP, nc->ops->clear(nc, NULL));
    goio_buf_deinit(&b);
    goio_redis_free(none);
    goio_redis_free(other);
    goio_cache_free(c); /* frees r */
}

/* ---- allocation failures ---- */

typedef struct torture {
    goio_redis *r;
    goio_buf b;
    goio_buf bufs[3];
} torture;

static int new_op(void *arg)
{
    torture *t = arg;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "torture";
    return goio_redis_new(&cfg, &t->r);
}

static void new_cleanup(void *arg)
{
    torture *t = arg;
    goio_redis_free(t->r);
    t->r = NULL;
}

static int get_op(void *arg)
{
    torture *t = arg;
    bool hit;
    char key[400];
    memset(key, 'k', sizeof key - 1); /* longer than the inline buffer */
    key[sizeof key - 1] = 0;
    return goio_redis_get(t->r, NULL, key, &t->b, &hit);
}

static int multi_op(void *arg)
{
    torture *t = arg;
    const char *keys[] = {"t1", "t2", "t3"};
    bool hits[3];
    return goio_redis_multi_get(t->r, NULL, keys, 3, t->bufs, hits);
}

static void buf_cleanup(void *arg)
{
    torture *t = arg;
    goio_buf_deinit(&t->b);
    for (int i = 0; i < 3; i++)
        goio_buf_deinit(&t->bufs[i]);
}

static void allocation_failures_are_enomem_without_leaks(void **state)
{
    (void)state;
    torture t = {0};
    assert_true(goio_test_alloc_torture(new_op, new_cleanup, &t) > 3);
    assert_ok(new_op(&t));
    char key[400];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    assert_ok(goio_redis_set(t.r, NULL, key, "value", 5, 60000));
    const char *keys[] = {"t1", "t2", "t3"};
    const void *vals[] = {"1", "2", "3"};
    size_t lens[] = {1, 1, 1};
    assert_ok(goio_redis_multi_set(t.r, NULL, keys, vals, lens, 3, 60000));
    /* Every allocation point fails once; lower bounds: the command for a
     * key longer than the inline buffer; the three values' buffers. */
    assert_true(goio_test_alloc_torture(get_op, buf_cleanup, &t) >= 1);
    assert_true(goio_test_alloc_torture(multi_op, buf_cleanup, &t) >= 3);
    new_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults_match_go),
        cmocka_unit_test(bad_configs_are_rejected),
        cmocka_unit_test(bad_call_arguments_are_rejected),
        cmocka_unit_test(values_are_binary_safe),
        cmocka_unit_test(ttl_is_set_in_ms_and_capped_at_12h),
        cmocka_unit_test(set_opt_nx_and_expiry),
        cmocka_unit_test(exists_del_incr),
        cmocka_unit_test(error_replies_are_eproto_with_the_message_logged),
        cmocka_unit_test(namespaces_isolate_keys),
        cmocka_unit_test(publish_reaches_a_subscriber),
        cmocka_unit_test(multi_get_and_set_pipeline_in_one_round_trip),
        cmocka_unit_test(time_tracker_sees_every_step),
        cmocka_unit_test(password_and_database),
        cmocka_unit_test(unix_socket_endpoint),
        cmocka_unit_test(unreachable_servers_give_exact_codes),
        cmocka_unit_test(cache_ops_map_to_redis),
        cmocka_unit_test(allocation_failures_are_enomem_without_leaks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
