/* SPDX-License-Identifier: MIT */
/*
 * Reconnect backoff against a real redis-server that is killed: while it
 * is down, 8 threads calling in a loop cause only a few connects (counted
 * by goio_redis_stats: connects + connect_errors, every attempt is one of
 * the two), every call returns at once with the connect error, and once
 * the server is back the calls succeed within the longest backoff
 * interval.
 */
#include "redis_test_util.h"
#include "test_redis.h"

#include <stdatomic.h>
#include <time.h>

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

static uint64_t attempts(goio_redis *r)
{
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    return st.connects + st.connect_errors;
}

typedef struct hammer {
    goio_redis *r;
    int64_t until_ms;
    atomic_long calls, slow, bad_codes;
    atomic_llong max_ms;
} hammer;

static void *hammer_worker(void *arg)
{
    hammer *h = arg;
    goio_buf b = GOIO_BUF_INIT;
    while (goio_now_mono_ms() < h->until_ms) {
        bool hit;
        int64_t t0 = goio_now_mono_ns();
        int rc = goio_redis_get(h->r, NULL, "k", &b, &hit);
        int64_t ms = (goio_now_mono_ns() - t0) / 1000000;
        atomic_fetch_add(&h->calls, 1);
        if (rc != GOIO_ECONNREFUSED && rc != GOIO_ECONNRESET)
            atomic_fetch_add(&h->bad_codes, 1);
        if (ms > 5)
            atomic_fetch_add(&h->slow, 1);
        long long m = atomic_load(&h->max_ms);
        while (ms > m && !atomic_compare_exchange_weak(&h->max_ms, &m, ms)) {
        }
        /* A short pause: 8 threads spinning on 2 cores would measure the
         * scheduler's time slices, not the calls. */
        struct timespec pause = {0, 200 * 1000};
        nanosleep(&pause, NULL);
    }
    goio_buf_deinit(&b);
    return NULL;
}

static void a_down_server_is_not_hammered(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "backoff";
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));

    goio_test_redis_kill(&srv);
    logs_capture(); /* one failure record per call would flood stderr */
    uint64_t before = attempts(r);
    hammer h = {.r = r, .until_ms = goio_now_mono_ms() + 2000};
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, hammer_worker, &h);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    uint64_t made = attempts(r) - before;
    bool marked = logs_have("redis_node_down", srv.endpoint, NULL);
    logs_restore();
    long calls = atomic_load(&h.calls), slow = atomic_load(&h.slow);
    print_message("down 2 s: %ld calls, %llu connects, %ld over 5 ms, max "
                  "%lld ms\n",
                  calls, (unsigned long long)made, slow,
                  (long long)atomic_load(&h.max_ms));
    assert_int_equal(atomic_load(&h.bad_codes), 0);
    assert_true(marked);
    assert_true(calls > 1000);
    /* 50 ms doubling to 2 s, jittered down to half: at most ~12 probes in
     * 2 s, plus the first concurrent connects of the 8 threads. */
    assert_true(made >= 2 && made <= 30);
    /* Every call fails at once; on a 2-core box shared with sanitizers
     * the scheduler may stall a thread now and then, so allow 1% of the
     * calls over 5 ms, and none anywhere near a connect timeout. */
    assert_true(slow * 100 <= calls);
    assert_true(atomic_load(&h.max_ms) < 250);

    /* Back up: calls succeed within the longest interval (2 s). */
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    int64_t t0 = goio_now_mono_ms();
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    goio_log_level level = goio_log_get_level();
    goio_log_set_level(GOIO_LOG_INFO);
    logs_capture();
    GOIO_WAIT_UNTIL(goio_redis_get(r, NULL, "k", &b, &hit) == 0, 4000);
    int64_t back_ms = goio_now_mono_ms() - t0;
    bool up = logs_have("redis_node_up", srv.endpoint, NULL);
    logs_restore();
    goio_log_set_level(level);
    print_message("first success %lld ms after the restart\n",
                  (long long)back_ms);
    assert_true(back_ms <= 2000 + 300);
    assert_false(hit); /* no persistence: the data is gone */
    assert_true(up);
    /* And from then on without delay. */
    for (int i = 0; i < 100; i++)
        assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

/* The backoff follows the server: a refused login (the server is up)
 * is also not retried on every call, and stays GOIO_EACCES. */
static void a_refused_login_fails_fast_with_eacces(void **state)
{
    (void)state;
    char *out = goio_test_redis_cli(&srv, "CONFIG SET requirepass s3cret");
    goio_free(out);
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.password = "wrong";
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    logs_capture();
    uint64_t before = attempts(r);
    for (int i = 0; i < 200; i++) {
        bool ex;
        assert_goio(GOIO_EACCES, goio_redis_exists(r, NULL, "k", &ex));
    }
    logs_restore();
    assert_true(attempts(r) - before <= 5);
    goio_redis_free(r);
    out = goio_test_redis_cli(&srv, "-a s3cret --no-auth-warning CONFIG SET "
                                    "requirepass \"\"");
    goio_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_down_server_is_not_hammered),
        cmocka_unit_test(a_refused_login_fails_fast_with_eacces),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
