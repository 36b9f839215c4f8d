/* SPDX-License-Identifier: MIT */
/*
 * goio_sharedflight_do_async: callbacks on the group's thread, giving up
 * by cancel and by deadline, bounded workers, threads that go away, and
 * free() with callers still waiting.
 */
#include "sf_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void never_cb(int status, goio_sharedflight_result *r, bool shared,
                     void *data)
{
    (void)status, (void)r, (void)shared, (void)data;
    fail_msg("callback must not run");
}

static void bad_calls_fail_without_callback(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(NULL, NULL, "k", sf_work_fn, NULL,
                                           NULL, never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, NULL, "", sf_work_fn, NULL, NULL,
                                           never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, NULL, NULL, sf_work_fn, NULL,
                                           NULL, never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, NULL, "k", NULL, NULL, NULL,
                                           never_cb, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do_async(g, NULL, "k", sf_work_fn, NULL, NULL,
                                           NULL, NULL));
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    goio_ctx_cancel(ctx);
    assert_goio(GOIO_ECANCELED,
                goio_sharedflight_do_async(g, ctx, "k", sf_work_fn, NULL, NULL,
                                           never_cb, NULL));
    goio_ctx_unref(ctx);
}

static void callback_runs_on_group_thread(void **state)
{
    sf_fix *fx = *state;
    sf_work *w = &fx->w;
    sf_probe *p = fx->p;
    int threads_before = sf_thread_baseline();
    assert_ok(sf_start(fx->g, "k", NULL, w, p, 0));
    assert_true(sf_probe_wait(p, 1));
    assert_ok(p->status[0]);
    assert_false(p->shared[0]);
    assert_false(pthread_equal(p->thread[0], pthread_self()));
    sf_value *v = goio_sharedflight_result_value(p->result[0]);
    assert_int_equal(v->execution, 1);
    /* An async flight always has a ctx: free() can give its callers up. */
    assert_non_null(atomic_load(&w->seen_ctx));
    assert_int_equal(goio_sharedflight_inflight(fx->g), 0);
    sf_fix_free_group(fx);
    assert_true(sf_threads_become(threads_before));
    sf_probe_release(p);
    assert_int_equal(atomic_load(&w->destroyed), 1);
}

static void sync_and_async_callers_share_flights(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->gated = true;
    sf_probe *p = fx->p;
    sf_call sync_call;
    sf_call_lead(&sync_call, g, "k", NULL, w);
    for (int i = 0; i < 3; i++)
        assert_ok(sf_start(g, "k", NULL, w, p, i));
    assert_true(sf_wait_callers(g, "k", 4));
    sf_work_open(w);
    sf_call_join(&sync_call);
    assert_true(sf_probe_wait(p, 3));
    for (int i = 0; i < 3; i++) {
        assert_ok(p->status[i]);
        assert_ptr_equal(p->result[i], sync_call.result);
        assert_true(p->shared[i]);
    }
    assert_true(sync_call.shared);
    goio_sharedflight_result_unref(sync_call.result);

    /* And the other way round: an async caller starts, a sync one joins. */
    sf_work w2;
    sf_work_init(&w2);
    w2.gated = true;
    assert_ok(sf_start(g, "k2", NULL, &w2, p, 3));
    assert_true(sf_work_running(&w2, 1));
    sf_call_start(&sync_call, g, "k2", NULL, &w2);
    assert_true(sf_wait_callers(g, "k2", 2));
    sf_work_open(&w2);
    sf_call_join(&sync_call);
    assert_true(sf_probe_wait(p, 4));
    assert_ptr_equal(p->result[3], sync_call.result);
    assert_int_equal(atomic_load(&w2.executions), 1);
    goio_sharedflight_result_unref(sync_call.result);
    sf_probe_release(p); /* result 3's value points into w2 */
    sf_work_destroy(&w2);
}

static void cancel_and_deadline_call_back_at_once(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->gated = true;
    sf_probe *p = fx->p;
    goio_ctx *cancelled, *timed;
    assert_ok(goio_ctx_new(NULL, &cancelled));
    assert_ok(sf_start(g, "k", NULL, w, p, 0));
    assert_true(sf_work_running(w, 1));
    assert_ok(sf_start(g, "k", cancelled, w, p, 1));
    int64_t begin = goio_now_mono_ms();
    assert_ok(goio_ctx_new_with_timeout(NULL, 50, &timed));
    assert_ok(sf_start(g, "k", timed, w, p, 2));
    assert_true(sf_wait_callers(g, "k", 3));
    goio_ctx_cancel(cancelled);
    assert_true(sf_probe_wait(p, 1));
    assert_goio(GOIO_ECANCELED, p->status[1]);
    assert_null(p->result[1]);
    /* The deadline passes with nobody cancelling: the group notices. */
    assert_true(sf_probe_wait(p, 2));
    assert_true(goio_now_mono_ms() - begin >= 50);
    assert_goio(GOIO_ETIMEDOUT, p->status[2]);
    assert_int_equal(atomic_load(&w->running), 1);
    goio_ctx *shared_ctx = atomic_load(&w->seen_ctx);
    assert_ok(goio_ctx_err(shared_ctx)); /* caller 0 still waits */
    sf_work_open(w);
    assert_true(sf_probe_wait(p, 3));
    assert_ok(p->status[0]);
    assert_false(p->shared[0]);
    goio_ctx_unref(cancelled);
    goio_ctx_unref(timed);
}

/* The caller's deadline moved later after the call: the group checks its
 * ctx again instead of giving up early. */
static void moved_deadline_is_followed(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->gated = true;
    sf_probe *p = fx->p;
    assert_ok(sf_start(g, "k", NULL, w, p, 0));
    assert_true(sf_work_running(w, 1));
    int64_t begin = goio_now_mono_ms();
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_deadline(NULL, begin + 100, &ctx));
    assert_ok(sf_start(g, "k", ctx, w, p, 1));
    assert_ok(goio_ctx_set_deadline(ctx, begin + 400));
    assert_true(sf_probe_wait(p, 1));
    assert_goio(GOIO_ETIMEDOUT, p->status[1]);
    assert_true(goio_now_mono_ms() >= begin + 400);
    sf_work_open(w);
    assert_true(sf_probe_wait(p, 2));
    assert_ok(p->status[0]);
    goio_ctx_unref(ctx);
}

static void all_async_callers_give_up_cancels_fn(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->until_done = true;
    w->rc = GOIO_ECANCELED;
    sf_probe *p = fx->p;
    goio_ctx *ctx[4];
    for (int i = 0; i < 4; i++) {
        assert_ok(goio_ctx_new(NULL, &ctx[i]));
        assert_ok(sf_start(g, "k", ctx[i], w, p, i));
    }
    assert_true(sf_work_running(w, 1));
    for (int i = 0; i < 4; i++)
        goio_ctx_cancel(ctx[i]);
    assert_true(sf_probe_wait(p, 4));
    for (int i = 0; i < 4; i++)
        assert_goio(GOIO_ECANCELED, p->status[i]);
    assert_true(GOIO_WAIT_UNTIL(goio_sharedflight_inflight(g) == 0, 10000));
    assert_goio(GOIO_ECANCELED, atomic_load(&w->ctx_err_at_end));
    /* The worker drops the last reference just after publishing. */
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w->destroyed) == 1, 10000));
    for (int i = 0; i < 4; i++)
        goio_ctx_unref(ctx[i]);
}

static void thousand_async_callers_one_execution(void **state)
{
    enum { N = 1000 };
    sf_fix *fx = *state;
    sf_work *w = &fx->w;
    sf_probe *p = fx->p;
    w->key = "herd";
    w->wait_callers = N;
    for (int i = 0; i < N; i++)
        assert_ok(sf_start(fx->g, "herd", NULL, w, p, i));
    assert_true(sf_probe_wait(p, N));
    for (int i = 0; i < N; i++) {
        assert_ok(p->status[i]);
        assert_ptr_equal(p->result[i], p->result[0]);
        assert_true(p->shared[i]);
    }
    assert_int_equal(atomic_load(&w->executions), 1);
    sf_fix_free_group(fx);
    sf_probe_release(p);
    assert_int_equal(atomic_load(&w->destroyed), 1);
}

static void workers_are_bounded(void **state)
{
    enum { KEYS = 12 };
    sf_fix *fx = *state;
    sf_work *w = &fx->w;
    sf_probe *p = fx->p;
    int threads_before = sf_thread_baseline();
    goio_sharedflight_config cfg;
    goio_sharedflight_config_init(&cfg);
    cfg.max_workers = 3;
    sf_fix_regroup(fx, &cfg);
    w->gated = true;
    char keys[KEYS][16];
    for (int i = 0; i < KEYS; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i);
        assert_ok(sf_start(fx->g, keys[i], NULL, w, p, i));
    }
    assert_true(sf_work_running(w, 3));
    /* 3 workers and the callback thread, however many flights wait. */
    assert_true(sf_threads_become(threads_before + 4));
    assert_int_equal(atomic_load(&w->running), 3);
    assert_int_equal(goio_sharedflight_inflight(fx->g), KEYS);
    sf_work_open(w);
    assert_true(sf_probe_wait(p, KEYS));
    assert_int_equal(atomic_load(&w->executions), KEYS);
    for (int i = 0; i < KEYS; i++) {
        sf_value *v = goio_sharedflight_result_value(p->result[i]);
        assert_non_null(v);
    }
    sf_fix_free_group(fx);
    assert_true(sf_threads_become(threads_before));
}

static void free_closes_waiting_callers(void **state)
{
    sf_fix *fx = *state;
    sf_work *w = &fx->w;
    sf_probe *p = fx->p;
    int threads_before = sf_thread_baseline();
    goio_sharedflight_config cfg;
    goio_sharedflight_config_init(&cfg);
    cfg.max_workers = 1;
    sf_fix_regroup(fx, &cfg);
    sf_work queued;
    sf_work_init(&queued);
    w->until_done = true;
    w->rc = GOIO_ECANCELED;
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 60000, &ctx));
    assert_ok(sf_start(fx->g, "k", NULL, w, p, 0));
    assert_ok(sf_start(fx->g, "k", ctx, w, p, 1));
    assert_true(sf_work_running(w, 1));
    /* Waits for the only worker: never starts. */
    assert_ok(sf_start(fx->g, "queued", NULL, &queued, p, 2));
    sf_fix_free_group(fx);
    assert_int_equal(sf_probe_calls(p), 3);
    for (int i = 0; i < 3; i++)
        assert_goio(GOIO_ECLOSED, p->status[i]);
    assert_int_equal(atomic_load(&queued.executions), 0);
    assert_goio(GOIO_ECANCELED, atomic_load(&w->ctx_err_at_end));
    assert_int_equal(atomic_load(&w->destroyed), 1);
    assert_true(sf_threads_become(threads_before));
    goio_ctx_unref(ctx);
    sf_work_destroy(&queued);
}

static void count_cb(int status, goio_sharedflight_result *r, bool shared,
                     void *data)
{
    (void)shared;
    assert_ok(status);
    goio_sharedflight_result_unref(r);
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
    goio_sharedflight_result_unref(r);
    atomic_store(&e->status, status);
    atomic_store(&e->rc,
                 goio_sharedflight_do_async(e->g, NULL, "again", sf_count_fn,
                                            &e->runs, NULL, never_cb, NULL));
}

static void callback_during_free_is_refused(void **state)
{
    sf_fix *fx = *state;
    sf_work *w = &fx->w;
    w->until_done = true;
    w->rc = GOIO_ECANCELED;
    reentry e = {.g = fx->g, .status = 99, .rc = 99};
    assert_ok(goio_sharedflight_do_async(fx->g, NULL, "k", sf_work_fn, w,
                                         sf_destroy_value, reenter_cb, &e));
    assert_true(sf_work_running(w, 1));
    sf_fix_free_group(fx);
    assert_goio(GOIO_ECLOSED, atomic_load(&e.status));
    assert_goio(GOIO_ECLOSED, atomic_load(&e.rc));
    assert_int_equal(atomic_load(&e.runs), 0);
    assert_int_equal(atomic_load(&w->destroyed), 1);
}

/* Idle threads go away, and come back on the next call; 10,000 distinct
 * keys leave no flight behind. */
static void idle_threads_exit_and_nothing_is_left(void **state)
{
    sf_fix *fx = *state;
    int threads_before = sf_thread_baseline();
    goio_sharedflight_config cfg;
    goio_sharedflight_config_init(&cfg);
    cfg.idle_ms = 20;
    sf_fix_regroup(fx, &cfg);
    atomic_int runs = 0, calls = 0;
    char key[48];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5000; i++) {
            snprintf(key, sizeof key, "distinct-%d-%d", round, i);
            assert_ok(goio_sharedflight_do_async(
                fx->g, NULL, key, sf_count_fn, &runs, NULL, count_cb, &calls));
        }
        assert_true(
            GOIO_WAIT_UNTIL(atomic_load(&calls) == 5000 * (round + 1), 20000));
        assert_int_equal(goio_sharedflight_inflight(fx->g), 0);
        assert_true(sf_threads_become(threads_before));
    }
    assert_int_equal(atomic_load(&runs), 10000);
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
    goio_sharedflight_result_unref(r);
    if (atomic_fetch_add(&c->steps, 1) + 1 < 3)
        assert_ok(goio_sharedflight_do_async(c->g, NULL, "chain", sf_count_fn,
                                             &c->runs, NULL, chain_cb, c));
}

static void callback_may_call_again(void **state)
{
    sf_fix *fx = *state;
    chain c = {.g = fx->g};
    assert_ok(goio_sharedflight_do_async(c.g, NULL, "chain", sf_count_fn,
                                         &c.runs, NULL, chain_cb, &c));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&c.steps) == 3, 10000));
    assert_int_equal(atomic_load(&c.runs), 3);
}

/* fn ends its worker thread: callers still get a callback and the group
 * keeps working. */
static void fn_ending_worker_thread(void **state)
{
    sf_fix *fx = *state;
    sf_work *w = &fx->w;
    sf_probe *p = fx->p;
    goio_log_set_sink(NULL, NULL); /* the flight_abandoned record */
    w->exit_thread = true;
    assert_ok(sf_start(fx->g, "k", NULL, w, p, 0));
    assert_true(sf_probe_wait(p, 1));
    assert_goio(GOIO_ECANCELED, p->status[0]);
    w->exit_thread = false;
    assert_ok(sf_start(fx->g, "k", NULL, w, p, 1));
    assert_true(sf_probe_wait(p, 2));
    assert_ok(p->status[1]);
    sf_fix_free_group(fx);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        sf_test(bad_calls_fail_without_callback),
        sf_test(callback_runs_on_group_thread),
        sf_test(sync_and_async_callers_share_flights),
        sf_test(cancel_and_deadline_call_back_at_once),
        sf_test(moved_deadline_is_followed),
        sf_test(all_async_callers_give_up_cancels_fn),
        sf_test(thousand_async_callers_one_execution),
        sf_test(workers_are_bounded),
        sf_test(free_closes_waiting_callers),
        sf_test(callback_during_free_is_refused),
        sf_test(idle_threads_exit_and_nothing_is_left),
        sf_test(callback_may_call_again),
        sf_test(fn_ending_worker_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
