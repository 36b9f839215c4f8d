/* SPDX-License-Identifier: MIT */
/*
 * ACL users (Redis 6+) against a real redis-server whose users are made at
 * test time with ACL SETUSER: AUTH <user> <pass>, refused logins, a user
 * without a password, and a user with limited permissions whose NOPERM
 * replies are GOIO_EACCES (the connection stays usable).
 */
#include "redis_test_util.h"
#include "test_redis.h"

static goio_test_redis srv;

static void acl(const char *rule)
{
    char *out = goio_test_redis_cli(&srv, "ACL SETUSER %s", rule);
    assert_non_null(out);
    assert_non_null(strstr(out, "OK"));
    goio_free(out);
}

static int setup(void **state)
{
    (void)state;
    if (goio_test_redis_start(&srv, NULL))
        return -1;
    acl("app on '>app pass' '~app:*' '&app:*' +@all");
    acl("reader on '>rpass' '~ro:*' +get +exists +ping");
    acl("open on nopass '~*' +@all");
    acl("off off '>x' '~*' +@all");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_stop(&srv);
    return 0;
}

static goio_redis *client(const char *user, const char *pass, const char *ns)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.username = user;
    cfg.password = pass;
    cfg.key_namespace = ns;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

static void an_acl_user_logs_in_with_user_and_password(void **state)
{
    (void)state;
    goio_redis *r = client("app", "app pass", "app");
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    assert_true(hit && b.len == 1 && b.data[0] == 'v');
    /* The server saw our user. */
    char *who = goio_test_redis_cli(&srv, "CLIENT LIST");
    assert_non_null(strstr(who, "user=app"));
    goio_free(who);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void a_user_without_password_logs_in(void **state)
{
    (void)state;
    goio_redis *r = client("open", NULL, "np");
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    goio_redis_free(r);
}

static void refused_logins_are_eacces(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"app", "wrong"}, /* wrong password */
        {"nobody", "x"},  /* unknown user */
        {"off", "x"},     /* disabled user */
        {"app", NULL},    /* user without the password it needs */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        goio_redis *r = client(cases[i][0], cases[i][1], "app");
        logs_capture();
        bool ex;
        assert_goio(GOIO_EACCES, goio_redis_exists(r, NULL, "k", &ex));
        assert_true(logs_have("redis_connect_failed", NULL, "AUTH"));
        logs_restore();
        goio_redis_free(r);
    }
}

static void noperm_is_eacces_and_keeps_the_connection(void **state)
{
    (void)state;
    goio_redis *r = client("reader", "rpass", "ro");
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    assert_false(hit);
    logs_capture();
    /* A command the user may not run. */
    assert_goio(GOIO_EACCES, goio_redis_set(r, NULL, "k", "v", 1, 60000));
    assert_true(logs_have("redis_error_reply", "k", "NOPERM"));
    /* In a pipeline too. */
    const char *keys[] = {"a", "b"};
    const void *vals[] = {"1", "2"};
    size_t lens[] = {1, 1};
    assert_goio(GOIO_EACCES,
                goio_redis_multi_set(r, NULL, keys, vals, lens, 2, 60000));
    logs_restore();
    /* Keys outside its pattern. */
    goio_redis *other = client("reader", "rpass", "elsewhere");
    logs_capture();
    assert_goio(GOIO_EACCES, goio_redis_get(other, NULL, "k", &b, &hit));
    assert_true(logs_have("redis_error_reply", "k", "NOPERM"));
    logs_restore();
    /* The refusals did not cost connections. */
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    assert_int_equal(st.closed_broken, 0);
    /* The shared connections of the single-key calls and the pooled one
     * of the pipeline, each opened once. */
    assert_true(st.connects <= 3);
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    goio_buf_deinit(&b);
    goio_redis_free(other);
    goio_redis_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_acl_user_logs_in_with_user_and_password),
        cmocka_unit_test(a_user_without_password_logs_in),
        cmocka_unit_test(refused_logins_are_eacces),
        cmocka_unit_test(noperm_is_eacces_and_keeps_the_connection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
