/* SPDX-License-Identifier: MIT */
/*
 * Multiplexed connections (goio_redis_config.mux_conns): many threads share
 * two connections; a reply always answers its own command, also while the
 * server is stopped and resumed (SIGSTOP / SIGCONT) under load, when the
 * read timeout fails what is in flight and callers' deadlines leave their
 * late replies behind.
 */
#include "redis_test_util.h"
#include "test_redis.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

enum { THREADS = 64, READ_TIMEOUT_MS = 100 };

static goio_test_redis srv;

static int setup(void **state)
{
    (void)state;
    return goio_test_redis_start(&srv, NULL);
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_resume(&srv);
    goio_test_redis_stop(&srv);
    return 0;
}

static goio_redis *client(const char *ns, int mux_conns)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = ns;
    cfg.mux_conns = mux_conns;
    cfg.read_timeout_ms = READ_TIMEOUT_MS;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

static goio_redis_stats stats(goio_redis *r)
{
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    return st;
}

/* ---- many threads, one key each, while the server stops and resumes ---- */

typedef struct worker {
    pthread_t tid;
    goio_redis *r;
    atomic_bool *stop;
    int index;
    /* results, read after the join */
    atomic_long gets_ok; /* read while running */
    long sets_ok, failures, wrong;
    char wrong_msg[160];
} worker;

/* Whether v is "w<index>:<m>" with m <= n. */
static bool own_value(const goio_buf *v, int index, long n)
{
    char s[48];
    if (v->len >= sizeof s)
        return false;
    memcpy(s, v->data, v->len);
    s[v->len] = 0;
    int i;
    long m;
    char end;
    return sscanf(s, "w%d:%ld%c", &i, &m, &end) == 2 && i == index && m >= 0 &&
           m <= n;
}

/*
 * Each thread SETs its key to "w<i>:<n>" and GETs it back. A command that
 * failed may still run later (its bytes reached the server, or wait in a
 * queue), even after a later one: a GET may see any value this thread
 * wrote so far - never another thread's, never a reply of another type
 * (that would be GOIO_EPROTO), never a miss once a SET succeeded.
 */
static void *worker_main(void *arg)
{
    worker *w = arg;
    char key[16], val[48];
    bool stored = false;
    snprintf(key, sizeof key, "k%d", w->index);
    goio_buf b = GOIO_BUF_INIT;
    for (long n = 0; !atomic_load(w->stop); n++) {
        /* Half the threads carry a short deadline, half rely on the
         * connections' read timeout. */
        goio_ctx *ctx = NULL;
        if (w->index % 2 &&
            goio_ctx_new_with_timeout(NULL, 20 + w->index % 40, &ctx))
            break;
        int len = snprintf(val, sizeof val, "w%d:%ld", w->index, n);
        int rc = goio_redis_set(w->r, ctx, key, val, (size_t)len, 60000);
        bool ok = rc != GOIO_EPROTO;
        if (rc == 0) {
            w->sets_ok++;
            stored = true;
        } else {
            w->failures++;
        }
        bool hit = false;
        goio_buf_clear(&b);
        if (ok) {
            rc = goio_redis_get(w->r, ctx, key, &b, &hit);
            ok = rc != GOIO_EPROTO;
        }
        goio_ctx_unref(ctx);
        if (ok && rc) {
            w->failures++;
            continue;
        }
        if (ok) {
            atomic_fetch_add(&w->gets_ok, 1);
            ok = hit ? own_value(&b, w->index, n) : !stored;
        }
        if (!ok && !w->wrong++)
            snprintf(w->wrong_msg, sizeof w->wrong_msg,
                     "%s after w%d:%ld: %s, %s'%.*s'", key, w->index, n,
                     goio_err_name(rc), hit ? "" : "a miss ", (int)b.len,
                     (char *)b.data);
    }
    goio_buf_deinit(&b);
    return NULL;
}

static long total_gets(worker *ws)
{
    long n = 0;
    for (int i = 0; i < THREADS; i++)
        n += atomic_load(&ws[i].gets_ok);
    return n;
}

static void replies_answer_their_own_commands_through_pause_cycles(void **state)
{
    (void)state;
    goio_redis *r = client("mux", 2);
    atomic_bool stop = false;
    worker *ws = goio_calloc(THREADS, sizeof *ws);
    assert_non_null(ws);
    logs_capture(); /* the faults' records: kept off stderr */
    for (int i = 0; i < THREADS; i++) {
        ws[i] = (worker){.r = r, .stop = &stop, .index = i};
        assert_int_equal(pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]),
                         0);
    }
    /* Cycles of: traffic flows, the server stops for longer than the read
     * timeout (every connection faults, deadlines expire, late replies
     * pile up), the server resumes and traffic must flow again. */
    for (int cycle = 0; cycle < 6; cycle++) {
        long before = total_gets(ws);
        assert_true(GOIO_WAIT_UNTIL(total_gets(ws) > before + 200, 10000));
        goio_test_redis_pause(&srv);
        goio_test_sleep_ms(cycle % 2 ? READ_TIMEOUT_MS * 3 : 30);
        goio_test_redis_resume(&srv);
    }
    long before = total_gets(ws);
    assert_true(GOIO_WAIT_UNTIL(total_gets(ws) > before + 200, 10000));
    atomic_store(&stop, true);
    long gets = 0, sets = 0, failures = 0, wrong = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ws[i].tid, NULL);
        gets += atomic_load(&ws[i].gets_ok);
        sets += ws[i].sets_ok;
        failures += ws[i].failures;
        if (ws[i].wrong)
            print_message("thread %d: %s\n", i, ws[i].wrong_msg);
        wrong += ws[i].wrong;
    }
    logs_restore();
    goio_redis_stats st = stats(r);
    print_message("%d threads: %ld GETs and %ld SETs ok, %ld failed, %ld "
                  "wrong; %llu connects, %llu closed broken, %u open\n",
                  THREADS, gets, sets, failures, wrong,
                  (unsigned long long)st.connects,
                  (unsigned long long)st.closed_broken, st.open);
    assert_int_equal(wrong, 0);
    assert_true(failures > 0);          /* the pauses were felt */
    assert_true(st.closed_broken >= 1); /* and the read timeout fired */
    assert_true(st.open <= 2);          /* no connection per thread */
    goio_free(ws);
    goio_redis_free(r);
}

/* ---- a caller that leaves ---- */

static void a_late_reply_goes_to_nobody(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "late";
    cfg.mux_conns = 1;
    cfg.read_timeout_ms = 5000; /* the connection outlives the pause */
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "a", "A", 1, 60000));
    assert_ok(goio_redis_set(r, NULL, "b", "B", 1, 60000));
    goio_test_redis_pause(&srv);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 30, &ctx));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_get(r, ctx, "a", &b, &hit);
    int64_t took = goio_now_mono_ms() - t0;
    goio_test_redis_resume(&srv); /* before any assert can end the test */
    logs_restore();
    goio_ctx_unref(ctx);
    assert_goio(GOIO_ETIMEDOUT, rc);
    assert_true(took < 1000);
    /* Same connection: the reply to "a" arrives first and is dropped. */
    assert_ok(goio_redis_get(r, NULL, "b", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, 1);
    assert_memory_equal(b.data, "B", 1);
    goio_redis_stats st = stats(r);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.closed_broken, 0);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

typedef struct canceller {
    goio_ctx *ctx;
    int after_ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    goio_test_sleep_ms(c->after_ms);
    goio_ctx_cancel(c->ctx);
    return NULL;
}

/* A cancel (no deadline) ends the wait of the caller doing the I/O and of
 * one waiting behind it, long before the connection's read timeout. */
static void a_cancel_ends_the_wait(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "cancel";
    cfg.mux_conns = 1;
    cfg.read_timeout_ms = 10000;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    goio_test_redis_pause(&srv);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    canceller c = {.ctx = ctx, .after_ms = 30};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_get(r, ctx, "k", &b, &hit);
    int64_t took = goio_now_mono_ms() - t0;
    goio_test_redis_resume(&srv); /* before any assert can end the test */
    logs_restore();
    pthread_join(t, NULL);
    goio_ctx_unref(ctx);
    assert_goio(GOIO_ECANCELED, rc);
    assert_true(took < 1000);
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    assert_true(hit && b.len == 1 && b.data[0] == 'v');
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

/* ---- faults fail what is in flight, with the right code ---- */

static void
a_stopped_server_fails_in_flight_commands_with_etimedout(void **state)
{
    (void)state;
    goio_redis *r = client("stall", 1);
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    goio_test_redis_pause(&srv);
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_get(r, NULL, "k", &b, &hit);
    int64_t took = goio_now_mono_ms() - t0;
    goio_test_redis_resume(&srv); /* before any assert can end the test */
    bool logged = logs_have("redis_timeout", NULL, "in flight");
    logs_restore();
    assert_goio(GOIO_ETIMEDOUT, rc);
    assert_true(logged);
    assert_true(took >= READ_TIMEOUT_MS - 5 && took < 2000);
    /* Replaced: a new connection answers. */
    assert_ok(goio_redis_get(r, NULL, "k", &b, &hit));
    assert_true(hit && b.len == 1 && b.data[0] == 'v');
    goio_redis_stats st = stats(r);
    assert_int_equal(st.closed_broken, 1);
    assert_int_equal(st.connects, 2);
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

static void a_restart_is_survived(void **state)
{
    (void)state;
    goio_redis *r = client("restart", 2);
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    assert_ok(goio_redis_set(r, NULL, "k", "v", 1, 60000));
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    /* Both shared connections are dead; the first use of each notices
     * (idle check before the write) and opens a new one. */
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    logs_capture();
    for (int i = 0; i < 4; i++)
        assert_true(
            GOIO_WAIT_UNTIL(goio_redis_get(r, NULL, "k", &b, &hit) == 0, 2500));
    logs_restore();
    assert_false(hit); /* no persistence */
    goio_buf_deinit(&b);
    goio_redis_free(r);
}

/* ---- configuration ---- */

static void mux_conns_is_checked(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    assert_int_equal(cfg.mux_conns, 2);
    cfg.endpoint = srv.endpoint;
    goio_redis *r = NULL;
    cfg.mux_conns = -1;
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.mux_conns = GOIO_REDIS_MAX_MUX_CONNS + 1;
    assert_goio(GOIO_EINVAL, goio_redis_new(&cfg, &r));
    cfg.mux_conns = GOIO_REDIS_MAX_MUX_CONNS;
    assert_ok(goio_redis_new(&cfg, &r));
    goio_redis_free(r);
}

/* ---- both modes answer the same ---- */

static void pooled_and_multiplexed_modes_agree(void **state)
{
    (void)state;
    goio_redis *mux = client("modes", 2), *pool = client("modes", 0);
    int64_t v;
    bool flag;
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_redis_set(mux, NULL, "s", "x", 1, 60000));
    assert_ok(goio_redis_get(pool, NULL, "s", &b, &flag));
    assert_true(flag && b.len == 1 && b.data[0] == 'x');
    assert_ok(goio_redis_incr(pool, NULL, "n", &v));
    assert_ok(goio_redis_incr(mux, NULL, "n", &v));
    assert_int_equal(v, 2);
    assert_ok(goio_redis_exists(mux, NULL, "n", &flag));
    assert_true(flag);
    assert_ok(goio_redis_del(mux, NULL, "n", &flag));
    assert_true(flag);
    logs_capture();
    assert_goio(GOIO_EPROTO, goio_redis_incr(mux, NULL, "s", &v));
    logs_restore();
    assert_int_equal(stats(pool).open, 1);
    assert_int_equal(stats(mux).open, 1); /* one thread: one connection */
    assert_int_equal(stats(mux).closed_broken, 0);
    goio_buf_deinit(&b);
    goio_redis_free(mux);
    goio_redis_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mux_conns_is_checked),
        cmocka_unit_test(pooled_and_multiplexed_modes_agree),
        cmocka_unit_test(a_late_reply_goes_to_nobody),
        cmocka_unit_test(a_cancel_ends_the_wait),
        cmocka_unit_test(
            a_stopped_server_fails_in_flight_commands_with_etimedout),
        cmocka_unit_test(a_restart_is_survived),
        cmocka_unit_test(
            replies_answer_their_own_commands_through_pause_cycles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
