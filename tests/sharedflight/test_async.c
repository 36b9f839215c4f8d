/*
 * goio_sharedflight_do_async: callbacks on the group's thread, giving up
 * by cancel and by deadline, bounded workers, threads that go away, and
 * free() with callers still waiting.
 */
#include "sf_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Collects callbacks. */
typedef struct probe {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
    int status[1000];
    goio_sharedflight_result *result[1000];
    bool shared[1000];
    pthread_t thread[1000];
} probe;

typedef struct slot {
    probe *p;
    int i;
} slot;

static probe *probe_new(void)
{
    probe *p = calloc(1, sizeof *p);
    assert_non_null(p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    return p;
}

static void probe_free(probe *p)
{
    for (int i = 0; i < 1000; i++)
        goio_sharedflight_result_release(p->result[i]);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static void probe_cb(int status, goio_sharedflight_result *r, bool shared,
                     void *data)
{
    slot *s = data;
    probe *p = s->p;
    pthread_mutex_lock(&p->lock);
    p->status[s->i] = status;
    p->result[s->i] = r;
    p->shared[s->i] = shared;
    p->thread[s->i] = pthread_self();
    p->calls++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    free(s);
}

static int probe_calls(probe *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->calls;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* Waits up to 20 s for n callbacks in total. */
static bool probe_wait(probe *p, int n)
{
    return GOIO_WAIT_UNTIL(probe_calls(p) >= n, 20000);
}

static int start(goio_sharedflight *g, const char *key, goio_ctx *ctx,
                 sf_work *w, probe *p, int i)
{
    slot *s = malloc(sizeof *s);
    assert_non_null(s);
    *s = (slot){p, i};
    int rc = goio_sharedflight_do_async(g, key, ctx, sf_work_fn, w,
                                        sf_destroy_value, probe_cb, s);
    if (rc)
        free(s);
    return rc;
}

static void never_cb(int status, goio_sharedflight_result *r, bool shared,
                     void *data)
{
    (void)status, (void)r, (void)shared, (void)data;
    fail_msg("callback must not run");
}

static void bad_calls_fail_without_callback(void **state)
{
    (void)state;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(NULL, "k", NULL, sf_work_fn, NULL,
                                           NULL, never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, "", NULL, sf_work_fn, NULL, NULL,
                                           never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, NULL, NULL, sf_work_fn, NULL,
                                           NULL, never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, "k", NULL, NULL, NULL, NULL,
                                           never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, "k", NULL, sf_work_fn, NULL, NULL,
                                           NULL, NULL));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    goio_ctx_cancel(ctx);
    assert_goio(GOIO_ECANCELED,
                goio_sharedflight_do_async(g, "k", ctx, sf_work_fn, NULL, NULL,
                                           never_cb, NULL));
    goio_ctx_unref(ctx);
    goio_sharedflight_free(g);
}

static void callback_runs_on_group_thread(void **state)
{
    (void)state;
    int threads_before = sf_thread_baseline();
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    sf_work w;
    sf_work_init(&w);
    probe *p = probe_new();
    assert_ok(start(g, "k", NULL, &w, p, 0));
    assert_true(probe_wait(p, 1));
    assert_ok(p->status[0]);
    assert_false(p->shared[0]);
    assert_false(pthread_equal(p->thread[0], pthread_self()));
    sf_value *v = goio_sharedflight_value(p->result[0]);
    assert_int_equal(v->execution, 1);
    /* An async flight always has a ctx: free() can give its callers up. */
    assert_non_null(atomic_load(&w.seen_ctx));
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    goio_sharedflight_free(g);
    assert_true(sf_threads_become(threads_before));
    probe_free(p);
    assert_int_equal(atomic_load(&w.destroyed), 1);
    sf_work_destroy(&w);
}

static void sync_and_async_callers_share_flights(void **state)
{
    (void)state;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    sf_work w;
    sf_work_init(&w);
    w.gated = true;
    probe *p = probe_new();
    sf_call sync_call;
    sf_call_start(&sync_call, g, "k", NULL, &w);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.running), 10000));
    for (int i = 0; i < 3; i++)
        assert_ok(start(g, "k", NULL, &w, p, i));
    assert_true(sf_wait_callers(g, "k", 4));
    sf_work_open(&w);
    sf_call_join(&sync_call);
    assert_true(probe_wait(p, 3));
    for (int i = 0; i < 3; i++) {
        assert_ok(p->status[i]);
        assert_ptr_equal(p->result[i], sync_call.result);
        assert_true(p->shared[i]);
    }
    assert_true(sync_call.shared);
    goio_sharedflight_result_release(sync_call.result);

    /* And the other way round: an async caller starts, a sync one joins. */
    sf_work w2;
    sf_work_init(&w2);
    w2.gated = true;
    assert_ok(start(g, "k2", NULL, &w2, p, 3));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w2.running), 10000));
    sf_call_start(&sync_call, g, "k2", NULL, &w2);
    assert_true(sf_wait_callers(g, "k2", 2));
    sf_work_open(&w2);
    sf_call_join(&sync_call);
    assert_true(probe_wait(p, 4));
    assert_ptr_equal(p->result[3], sync_call.result);
    assert_int_equal(atomic_load(&w2.executions), 1);
    goio_sharedflight_result_release(sync_call.result);
    goio_sharedflight_free(g);
    probe_free(p);
    sf_work_destroy(&w);
    sf_work_destroy(&w2);
}

static void cancel_and_deadline_call_back_at_once(void **state)
{
    (void)state;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    sf_work w;
    sf_work_init(&w);
    w.gated = true;
    probe *p = probe_new();
    goio_ctx *cancelled, *timed;
    assert_ok(goio_ctx_new(NULL, &cancelled));
    assert_ok(start(g, "k", NULL, &w, p, 0));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.running), 10000));
    assert_ok(start(g, "k", cancelled, &w, p, 1));
    int64_t begin = goio_now_mono_ms();
    assert_ok(goio_ctx_with_timeout(NULL, 50, &timed));
    assert_ok(start(g, "k", timed, &w, p, 2));
    assert_true(sf_wait_callers(g, "k", 3));
    goio_ctx_cancel(cancelled);
    assert_true(probe_wait(p, 1));
    assert_goio(GOIO_ECANCELED, p->status[1]);
    assert_null(p->result[1]);
    /* The deadline passes with nobody cancelling: the group notices. */
    assert_true(probe_wait(p, 2));
    assert_true(goio_now_mono_ms() - begin >= 50);
    assert_goio(GOIO_ETIMEDOUT, p->status[2]);
    assert_int_equal(atomic_load(&w.running), 1);
    goio_ctx *shared_ctx = atomic_load(&w.seen_ctx);
    assert_ok(goio_ctx_err(shared_ctx)); /* caller 0 still waits */
    sf_work_open(&w);
    assert_true(probe_wait(p, 3));
    assert_ok(p->status[0]);
    assert_false(p->shared[0]);
    goio_ctx_unref(cancelled);
    goio_ctx_unref(timed);
    goio_sharedflight_free(g);
    probe_free(p);
    sf_work_destroy(&w);
}

/* The caller's deadline moved later after the call: the group checks its
 * ctx again instead of giving up early. */
static void moved_deadline_is_followed(void **state)
{
    (void)state;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    sf_work w;
    sf_work_init(&w);
    w.gated = true;
    probe *p = probe_new();
    assert_ok(start(g, "k", NULL, &w, p, 0));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.running), 10000));
    int64_t begin = goio_now_mono_ms();
    goio_ctx *ctx;
    assert_ok(goio_ctx_with_deadline(NULL, begin + 100, &ctx));
    assert_ok(start(g, "k", ctx, &w, p, 1));
    assert_ok(goio_ctx_set_deadline(ctx, begin + 400));
    assert_true(probe_wait(p, 1));
    assert_goio(GOIO_ETIMEDOUT, p->status[1]);
    assert_true(goio_now_mono_ms() >= begin + 400);
    sf_work_open(&w);
    assert_true(probe_wait(p, 2));
    assert_ok(p->status[0]);
    goio_ctx_unref(ctx);
    goio_sharedflight_free(g);
    probe_free(p);
    sf_work_destroy(&w);
}

static void all_async_callers_give_up_cancels_fn(void **state)
{
    (void)state;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    sf_work w;
    sf_work_init(&w);
    w.until_done = true;
    w.rc = GOIO_ECANCELED;
    probe *p = probe_new();
    goio_ctx *ctx[4];
    for (int i = 0; i < 4; i++) {
        assert_ok(goio_ctx_new(NULL, &ctx[i]));
        assert_ok(start(g, "k", ctx[i], &w, p, i));
    }
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.running), 10000));
    for (int i = 0; i < 4; i++)
        goio_ctx_cancel(ctx[i]);
    assert_true(probe_wait(p, 4));
    for (int i = 0; i < 4; i++)
        assert_goio(GOIO_ECANCELED, p->status[i]);
    assert_true(GOIO_WAIT_UNTIL(goio_sharedflight_inflight(g) == 0, 10000));
    assert_goio(GOIO_ECANCELED, atomic_load(&w.ctx_err_at_end));
    /* The worker drops the last reference just after publishing. */
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.destroyed) == 1, 10000));
    for (int i = 0; i < 4; i++)
        goio_ctx_unref(ctx[i]);
    goio_sharedflight_free(g);
    probe_free(p);
    sf_work_destroy(&w);
}

static void thousand_async_callers_one_execution(void **state)
{
    (void)state;
    enum { N = 1000 };
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    sf_work w;
    sf_work_init(&w);
    w.group = g;
    w.key = "herd";
    w.wait_callers = N;
    probe *p = probe_new();
    for (int i = 0; i < N; i++)
        assert_ok(start(g, "herd", NULL, &w, p, i));
    assert_true(probe_wait(p, N));
    for (int i = 0; i < N; i++) {
        assert_ok(p->status[i]);
        assert_ptr_equal(p->result[i], p->result[0]);
        assert_true(p->shared[i]);
    }
    assert_int_equal(atomic_load(&w.executions), 1);
    goio_sharedflight_free(g);
    probe_free(p);
    assert_int_equal(atomic_load(&w.destroyed), 1);
    sf_work_destroy(&w);
}

static void workers_are_bounded(void **state)
{
    (void)state;
    enum { KEYS = 12 };
    int threads_before = sf_thread_baseline();
    goio_sharedflight_config cfg;
    goio_sharedflight_config_init(&cfg);
    cfg.max_workers = 3;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new_with(&cfg, &g));
    sf_work w;
    sf_work_init(&w);
    w.gated = true;
    probe *p = probe_new();
    char keys[KEYS][16];
    for (int i = 0; i < KEYS; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i);
        assert_ok(start(g, keys[i], NULL, &w, p, i));
    }
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.running) == 3, 10000));
    /* 3 workers and the callback thread, however many flights wait. */
    assert_true(sf_threads_become(threads_before + 4));
    assert_int_equal(atomic_load(&w.running), 3);
    assert_int_equal(goio_sharedflight_inflight(g), KEYS);
    sf_work_open(&w);
    assert_true(probe_wait(p, KEYS));
    assert_int_equal(atomic_load(&w.executions), KEYS);
    for (int i = 0; i < KEYS; i++) {
        sf_value *v = goio_sharedflight_value(p->result[i]);
        assert_non_null(v);
    }
    goio_sharedflight_free(g);
    assert_true(sf_threads_become(threads_before));
    probe_free(p);
    sf_work_destroy(&w);
}

static void free_closes_waiting_callers(void **state)
{
    (void)state;
    int threads_before = sf_thread_baseline();
    goio_sharedflight_config cfg;
    goio_sharedflight_config_init(&cfg);
    cfg.max_workers = 1;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new_with(&cfg, &g));
    sf_work w, queued;
    sf_work_init(&w);
    sf_work_init(&queued);
    w.until_done = true;
    w.rc = GOIO_ECANCELED;
    probe *p = probe_new();
    goio_ctx *ctx;
    assert_ok(goio_ctx_with_timeout(NULL, 60000, &ctx));
    assert_ok(start(g, "k", NULL, &w, p, 0));
    assert_ok(start(g, "k", ctx, &w, p, 1));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.running), 10000));
    /* Waits for the only worker: never starts. */
    assert_ok(start(g, "queued", NULL, &queued, p, 2));
    goio_sharedflight_free(g);
    assert_int_equal(probe_calls(p), 3);
    for (int i = 0; i < 3; i++)
        assert_goio(GOIO_ECLOSED, p->status[i]);
    assert_int_equal(atomic_load(&queued.executions), 0);
    assert_goio(GOIO_ECANCELED, atomic_load(&w.ctx_err_at_end));
    assert_int_equal(atomic_load(&w.destroyed), 1);
    assert_true(sf_threads_become(threads_before));
    goio_ctx_unref(ctx);
    probe_free(p);
    sf_work_destroy(&w);
    sf_work_destroy(&queued);
}

static int count_fn(goio_ctx *ctx, void *arg, void **value)
{
    (void)ctx, (void)value;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static void count_cb(int status, goio_sharedflight_result *r, bool shared,
                     void *data)
{
    (void)shared;
    assert_ok(status);
    goio_sharedflight_result_release(r);
    atomic_fetch_add((atomic_int *)data, 1);
}

/* A callback run by free (its caller given up) may call again: refused. */
typedef struct reentry {
    goio_sharedflight *g;
    atomic_int status, rc, runs;
} reentry;

static void reenter_cb(int status, goio_sharedflight_result *r, bool shared,
                       void *data)
{
    (void)shared;
    reentry *e = data;
    goio_sharedflight_result_release(r);
    atomic_store(&e->status, status);
    atomic_store(&e->rc,
                 goio_sharedflight_do_async(e->g, "again", NULL, count_fn,
                                            &e->runs, NULL, never_cb, NULL));
}

static void callback_during_free_is_refused(void **state)
{
    (void)state;
    sf_work w;
    sf_work_init(&w);
    w.until_done = true;
    w.rc = GOIO_ECANCELED;
    reentry e = {.status = 99, .rc = 99};
    assert_ok(goio_sharedflight_new(&e.g));
    assert_ok(goio_sharedflight_do_async(e.g, "k", NULL, sf_work_fn, &w,
                                         sf_destroy_value, reenter_cb, &e));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w.running), 10000));
    goio_sharedflight_free(e.g);
    assert_goio(GOIO_ECLOSED, atomic_load(&e.status));
    assert_goio(GOIO_ECLOSED, atomic_load(&e.rc));
    assert_int_equal(atomic_load(&e.runs), 0);
    assert_int_equal(atomic_load(&w.destroyed), 1);
    sf_work_destroy(&w);
}

/* Idle threads go away, and come back on the next call; 10,000 distinct
 * keys leave no flight behind. */
static void idle_threads_exit_and_nothing_is_left(void **state)
{
    (void)state;
    int threads_before = sf_thread_baseline();
    goio_sharedflight_config cfg;
    goio_sharedflight_config_init(&cfg);
    cfg.idle_ms = 20;
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new_with(&cfg, &g));
    atomic_int runs = 0, calls = 0;
    char key[48];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5000; i++) {
            snprintf(key, sizeof key, "distinct-%d-%d", round, i);
            assert_ok(goio_sharedflight_do_async(g, key, NULL, count_fn, &runs,
                                                 NULL, count_cb, &calls));
        }
        assert_true(
            GOIO_WAIT_UNTIL(atomic_load(&calls) == 5000 * (round + 1), 20000));
        assert_int_equal(goio_sharedflight_inflight(g), 0);
        assert_true(sf_threads_become(threads_before));
    }
    assert_int_equal(atomic_load(&runs), 10000);
    goio_sharedflight_free(g);
}

/* A callback may start the next async call. */
typedef struct chain {
    goio_sharedflight *g;
    atomic_int runs, steps;
} chain;

static void chain_cb(int status, goio_sharedflight_result *r, bool shared,
                     void *data)
{
    (void)shared;
    chain *c = data;
    assert_ok(status);
    goio_sharedflight_result_release(r);
    if (atomic_fetch_add(&c->steps, 1) + 1 < 3)
        assert_ok(goio_sharedflight_do_async(c->g, "chain", NULL, count_fn,
                                             &c->runs, NULL, chain_cb, c));
}

static void callback_may_call_again(void **state)
{
    (void)state;
    chain c = {0};
    assert_ok(goio_sharedflight_new(&c.g));
    assert_ok(goio_sharedflight_do_async(c.g, "chain", NULL, count_fn, &c.runs,
                                         NULL, chain_cb, &c));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&c.steps) == 3, 10000));
    assert_int_equal(atomic_load(&c.runs), 3);
    goio_sharedflight_free(c.g);
}

/* fn ends its worker thread: callers still get a callback and the group
 * keeps working. */
static int exiting_fn(goio_ctx *ctx, void *arg, void **value)
{
    (void)ctx, (void)arg, (void)value;
    pthread_exit(NULL);
}

static void fn_ending_worker_thread(void **state)
{
    (void)state;
    goio_log_set_sink(NULL, NULL); /* the flight_abandoned record */
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(&g));
    probe *p = probe_new();
    slot *s = malloc(sizeof *s);
    *s = (slot){p, 0};
    assert_ok(goio_sharedflight_do_async(g, "k", NULL, exiting_fn, NULL, NULL,
                                         probe_cb, s));
    assert_true(probe_wait(p, 1));
    assert_goio(GOIO_ECANCELED, p->status[0]);
    sf_work w;
    sf_work_init(&w);
    assert_ok(start(g, "k", NULL, &w, p, 1));
    assert_true(probe_wait(p, 2));
    assert_ok(p->status[1]);
    goio_sharedflight_free(g);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    probe_free(p);
    sf_work_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_calls_fail_without_callback),
        cmocka_unit_test(callback_runs_on_group_thread),
        cmocka_unit_test(sync_and_async_callers_share_flights),
        cmocka_unit_test(cancel_and_deadline_call_back_at_once),
        cmocka_unit_test(moved_deadline_is_followed),
        cmocka_unit_test(all_async_callers_give_up_cancels_fn),
        cmocka_unit_test(thousand_async_callers_one_execution),
        cmocka_unit_test(workers_are_bounded),
        cmocka_unit_test(free_closes_waiting_callers),
        cmocka_unit_test(callback_during_free_is_refused),
        cmocka_unit_test(idle_threads_exit_and_nothing_is_left),
        cmocka_unit_test(callback_may_call_again),
        cmocka_unit_test(fn_ending_worker_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
