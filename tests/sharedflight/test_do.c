/* SPDX-License-Identifier: MIT */
/*
 * goio_sharedflight_do: one execution per key, shared results, shared
 * cancellation, forget, and what a finished flight leaves behind.
 */
#include "sf_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int never_run(goio_ctx *ctx, void **value, void *arg)
{
    (void)ctx, (void)arg, (void)value;
    fail_msg("fn must not run");
    return 0;
}

static int ok_fn(goio_ctx *ctx, void **value, void *arg)
{
    (void)ctx, (void)arg, (void)value;
    return 0;
}

static void null_arguments_are_rejected(void **state)
{
    (void)state;
    goio_sharedflight *g;
    goio_sharedflight_result *r = (void *)1;
    bool shared = true;
    size_t n = 7;
    assert_goio(GOIO_EINVAL, goio_sharedflight_new(NULL, NULL));
    goio_sharedflight_config cfg;
    goio_sharedflight_config_init(&cfg);
    cfg.max_workers = 0;
    g = (void *)1;
    assert_goio(GOIO_EINVAL, goio_sharedflight_new(&cfg, &g));
    assert_null(g);
    goio_sharedflight_config_init(&cfg);
    cfg.idle_ms = -1;
    g = (void *)1;
    assert_goio(GOIO_EINVAL, goio_sharedflight_new(&cfg, &g));
    assert_null(g);
    assert_ok(goio_sharedflight_new(NULL, &g));
    assert_goio(GOIO_EINVAL, goio_sharedflight_do(NULL, NULL, "k", never_run,
                                                  NULL, NULL, &r, &shared));
    assert_null(r);
    assert_false(shared);
    assert_goio(GOIO_EINVAL, goio_sharedflight_do(g, NULL, NULL, never_run,
                                                  NULL, NULL, &r, NULL));
    assert_goio(GOIO_EINVAL, goio_sharedflight_do(g, NULL, "", never_run, NULL,
                                                  NULL, &r, NULL));
    assert_goio(GOIO_EINVAL,
                goio_sharedflight_do(g, NULL, "k", NULL, NULL, NULL, &r, NULL));
    assert_goio(GOIO_EINVAL, goio_sharedflight_do(g, NULL, "k", never_run, NULL,
                                                  NULL, NULL, NULL));
    assert_goio(GOIO_EINVAL, goio_sharedflight_forget(NULL, "k"));
    assert_goio(GOIO_EINVAL, goio_sharedflight_forget(g, NULL));
    assert_goio(GOIO_EINVAL, goio_sharedflight_forget(g, ""));
    assert_goio(GOIO_EINVAL, goio_sharedflight_callers(g, "k", NULL));
    assert_goio(GOIO_EINVAL, goio_sharedflight_callers(NULL, "k", &n));
    assert_int_equal(n, 0);
    n = 7;
    assert_goio(GOIO_EINVAL, goio_sharedflight_callers(g, NULL, &n));
    assert_int_equal(n, 0);
    assert_goio(GOIO_EINVAL, goio_sharedflight_callers(g, "", &n));
    assert_int_equal(goio_sharedflight_inflight(NULL), 0);
    assert_null(goio_sharedflight_result_value(NULL));
    assert_null(goio_sharedflight_result_ref(NULL));
    goio_sharedflight_result_unref(NULL);
    goio_sharedflight_config_init(NULL);
    /* Forgetting a key nobody asked for is fine. */
    assert_ok(goio_sharedflight_forget(g, "nobody"));
    goio_sharedflight_free(g);
    goio_sharedflight_free(NULL);
}

static void one_caller_gets_value_and_code(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    goio_sharedflight_result *r;
    bool shared = true;
    assert_ok(goio_sharedflight_do(g, NULL, "k", sf_work_fn, w,
                                   sf_destroy_value, &r, &shared));
    assert_false(shared);
    sf_value *v = goio_sharedflight_result_value(r);
    assert_int_equal(v->execution, 1);
    /* fn saw no ctx: a caller with a NULL ctx never gives up. */
    assert_null(atomic_load(&w->seen_ctx));
    /* Extra references keep the value; the last release frees it. */
    assert_ptr_equal(goio_sharedflight_result_ref(r), r);
    goio_sharedflight_result_unref(r);
    assert_int_equal(atomic_load(&w->destroyed), 0);
    goio_sharedflight_result_unref(r);
    assert_int_equal(atomic_load(&w->destroyed), 1);
    /* The next call is a new flight. */
    assert_ok(goio_sharedflight_do(g, NULL, "k", sf_work_fn, w,
                                   sf_destroy_value, &r, NULL));
    assert_int_equal(atomic_load(&w->executions), 2);
    goio_sharedflight_result_unref(r);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
}

static void error_and_value_reach_every_caller(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->rc = GOIO_EIO;
    w->gated = true;
    sf_call calls[3];
    sf_call_lead(&calls[0], g, "err", NULL, w);
    for (int i = 1; i < 3; i++)
        sf_call_start(&calls[i], g, "err", NULL, w);
    assert_true(sf_wait_callers(g, "err", 3));
    sf_work_open(w);
    for (int i = 0; i < 3; i++) {
        sf_call_join(&calls[i]);
        assert_goio(GOIO_EIO, calls[i].rc);
        /* A result comes with the error: fn's value, if it set one. */
        assert_non_null(calls[i].result);
        assert_ptr_equal(calls[i].result, calls[0].result);
        assert_true(calls[i].shared);
    }
    assert_int_equal(atomic_load(&w->executions), 1);
    for (int i = 0; i < 3; i++)
        goio_sharedflight_result_unref(calls[i].result);
    assert_int_equal(atomic_load(&w->destroyed), 1);

    /* An error without a value: the result's value is NULL. */
    w->with_value = false;
    w->gated = false;
    goio_sharedflight_result *r;
    assert_goio(GOIO_EIO, goio_sharedflight_do(g, NULL, "err", sf_work_fn, w,
                                               sf_destroy_value, &r, NULL));
    assert_non_null(r);
    assert_null(goio_sharedflight_result_value(r));
    goio_sharedflight_result_unref(r);
}

/* 1000 threads on one key: fn waits until all of them share its flight,
 * so one execution is the only correct answer. */
static void thousand_callers_share_one_execution(void **state)
{
    enum { N = 1000 };
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->key = "herd";
    w->wait_callers = N;
    sf_call *calls = calloc(N, sizeof *calls);
    assert_non_null(calls);
    for (int i = 0; i < N; i++)
        sf_call_start(&calls[i], g, "herd", NULL, w);
    for (int i = 0; i < N; i++) {
        sf_call_join(&calls[i]);
        assert_ok(calls[i].rc);
        assert_ptr_equal(calls[i].result, calls[0].result);
        assert_true(calls[i].shared);
    }
    assert_int_equal(atomic_load(&w->executions), 1);
    sf_value *v = goio_sharedflight_result_value(calls[0].result);
    assert_int_equal(v->execution, 1);
    for (int i = 0; i < N; i++)
        goio_sharedflight_result_unref(calls[i].result);
    assert_int_equal(atomic_load(&w->destroyed), 1);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    free(calls);
}

/* Threads calling goio_sharedflight_do on a few shared keys. */
typedef struct key_thread {
    goio_sharedflight *g;
    int thread;
} key_thread;

/* Runs fn on 8 key_threads of a new group; no flight may be left. */
static void run_key_threads(void *(*fn)(void *))
{
    enum { T = 8 };
    goio_sharedflight *g;
    assert_ok(goio_sharedflight_new(NULL, &g));
    key_thread args[T];
    for (int i = 0; i < T; i++)
        args[i] = (key_thread){g, i};
    sf_run_threads(T, fn, args, sizeof *args);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    goio_sharedflight_free(g);
}

static int key_fn(goio_ctx *ctx, void **value, void *arg)
{
    (void)ctx;
    *value = strdup(arg);
    return *value ? 0 : GOIO_ENOMEM;
}

/* Several threads hammer overlapping keys: every caller gets the value made
 * for its own key, and flights never mix keys up. */
static void *many_main(void *arg)
{
    key_thread *a = arg;
    char key[32];
    /* Few keys, so threads meet on flights and on shard locks. */
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key-%d", (i * 7 + a->thread) % 13);
        goio_ctx *ctx = NULL;
        if (i % 3 == 0)
            assert_ok(goio_ctx_new_with_timeout(NULL, 10000, &ctx));
        goio_sharedflight_result *r;
        assert_ok(
            goio_sharedflight_do(a->g, ctx, key, key_fn, key, free, &r, NULL));
        assert_string_equal(goio_sharedflight_result_value(r), key);
        goio_sharedflight_result_unref(r);
        goio_ctx_unref(ctx);
    }
    return NULL;
}

static void many_keys_in_parallel(void **state)
{
    (void)state;
    run_key_threads(many_main);
}

/* Deadlines of 0-3 ms racing fns of about 1 ms on a few keys: give-ups
 * and publishes cross all the time. Every call must end, with the result
 * or GOIO_ETIMEDOUT. A fifth of the callers have no deadline and must get
 * the result: a lost wake-up would hang one past the test's wait. */
static int nap_fn(goio_ctx *ctx, void **value, void *arg)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    return key_fn(ctx, value, arg);
}

static void *race_main(void *arg)
{
    key_thread *a = arg;
    char key[16];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "race-%d", (i + a->thread) % 3);
        goio_ctx *ctx = NULL;
        int timeout = (i + a->thread) % 5;
        if (timeout < 4)
            assert_ok(goio_ctx_new_with_timeout(NULL, timeout, &ctx));
        goio_sharedflight_result *r;
        int rc =
            goio_sharedflight_do(a->g, ctx, key, nap_fn, key, free, &r, NULL);
        if (rc) {
            assert_non_null(ctx); /* only a caller with a deadline gives up */
            assert_goio(GOIO_ETIMEDOUT, rc);
            assert_null(r);
        } else {
            assert_string_equal(goio_sharedflight_result_value(r), key);
            goio_sharedflight_result_unref(r);
        }
        goio_ctx_unref(ctx);
    }
    return NULL;
}

static void deadlines_race_publishes(void **state)
{
    (void)state;
    run_key_threads(race_main);
}

static void one_caller_cancels_others_get_result(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->gated = true;
    goio_ctx *ctx[3];
    for (int i = 0; i < 3; i++)
        assert_ok(goio_ctx_new(NULL, &ctx[i]));
    sf_call calls[3];
    sf_call_lead(&calls[0], g, "k", ctx[0], w);
    sf_call_start(&calls[1], g, "k", ctx[1], w);
    sf_call_start(&calls[2], g, "k", ctx[2], w);
    assert_true(sf_wait_callers(g, "k", 3));

    /* A waiter gives up: it returns at once, fn keeps running. */
    goio_ctx_cancel(ctx[1]);
    sf_call_join(&calls[1]);
    assert_goio(GOIO_ECANCELED, calls[1].rc);
    assert_null(calls[1].result);
    assert_false(calls[1].shared);
    assert_int_equal(atomic_load(&w->running), 1);
    /* The leader gives up: it still returns only when fn does. */
    goio_ctx_cancel(ctx[0]);
    goio_ctx *shared_ctx = atomic_load(&w->seen_ctx);
    assert_non_null(shared_ctx);
    assert_ok(goio_ctx_err(shared_ctx)); /* caller 2 still waits */
    assert_false(atomic_load(&calls[0].done));
    size_t n;
    assert_ok(goio_sharedflight_callers(g, "k", &n));
    assert_int_equal(n, 1);

    sf_work_open(w);
    sf_call_join(&calls[0]);
    sf_call_join(&calls[2]);
    assert_goio(GOIO_ECANCELED, calls[0].rc);
    assert_null(calls[0].result);
    assert_ok(calls[2].rc);
    assert_non_null(calls[2].result);
    /* Only one caller received it. */
    assert_false(calls[2].shared);
    assert_ok(atomic_load(&w->ctx_err_at_end));
    assert_int_equal(atomic_load(&w->executions), 1);
    goio_sharedflight_result_unref(calls[2].result);
    assert_int_equal(atomic_load(&w->destroyed), 1);
    for (int i = 0; i < 3; i++)
        goio_ctx_unref(ctx[i]);
}

static void all_cancel_fn_observes_it(void **state)
{
    enum { N = 8 };
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->gated = true;
    w->until_done = true;
    w->rc = GOIO_ECANCELED;
    goio_ctx *ctx[N];
    sf_call calls[N];
    for (int i = 0; i < N; i++)
        assert_ok(goio_ctx_new(NULL, &ctx[i]));
    sf_call_lead(&calls[0], g, "k", ctx[0], w);
    for (int i = 1; i < N; i++)
        sf_call_start(&calls[i], g, "k", ctx[i], w);
    assert_true(sf_wait_callers(g, "k", N));
    goio_ctx *shared_ctx = atomic_load(&w->seen_ctx);
    /* Every waiter gives up and returns while fn is still blocked. */
    for (int i = 1; i < N; i++) {
        goio_ctx_cancel(ctx[i]);
        sf_call_join(&calls[i]);
        assert_goio(GOIO_ECANCELED, calls[i].rc);
        assert_ok(goio_ctx_err(shared_ctx)); /* the leader is still live */
    }
    assert_int_equal(atomic_load(&w->running), 1);
    /* The last one: fn's ctx is cancelled and fn stops early. */
    goio_ctx_cancel(ctx[0]);
    assert_goio(GOIO_ECANCELED, goio_ctx_err(shared_ctx));
    sf_work_open(w);
    sf_call_join(&calls[0]);
    assert_goio(GOIO_ECANCELED, calls[0].rc);
    assert_goio(GOIO_ECANCELED, atomic_load(&w->ctx_err_at_end));
    /* Nobody received the value: it is freed at once. */
    assert_int_equal(atomic_load(&w->destroyed), 1);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    for (int i = 0; i < N; i++)
        goio_ctx_unref(ctx[i]);
}

static void waiter_deadline_returns_etimedout(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->gated = true;
    goio_ctx *short_ctx;
    sf_call leader, waiter;
    sf_call_lead(&leader, g, "k", NULL, w);
    int64_t start = goio_now_mono_ms();
    assert_ok(goio_ctx_new_with_timeout(NULL, 50, &short_ctx));
    sf_call_start(&waiter, g, "k", short_ctx, w);
    sf_call_join(&waiter);
    assert_goio(GOIO_ETIMEDOUT, waiter.rc);
    assert_true(waiter.returned_at - start >= 50);
    assert_false(atomic_load(&leader.done));
    sf_work_open(w);
    sf_call_join(&leader);
    assert_ok(leader.rc);
    assert_false(leader.shared);
    goio_sharedflight_result_unref(leader.result);
    goio_ctx_unref(short_ctx);
}

/* Waiters' deadlines moved after they joined: one moved later is followed;
 * one moved earlier ends the wait with GOIO_ETIMEDOUT by the deadline it
 * joined with at the latest (core says nothing when a deadline moves). */
static void moved_waiter_deadlines(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->gated = true;
    sf_call leader, later, earlier;
    sf_call_lead(&leader, g, "k", NULL, w);
    int64_t begin = goio_now_mono_ms();
    goio_ctx *later_ctx, *earlier_ctx;
    assert_ok(goio_ctx_new_with_deadline(NULL, begin + 500, &later_ctx));
    assert_ok(goio_ctx_new_with_deadline(NULL, begin + 700, &earlier_ctx));
    sf_call_start(&later, g, "k", later_ctx, w);
    sf_call_start(&earlier, g, "k", earlier_ctx, w);
    assert_true(sf_wait_callers(g, "k", 3));
    assert_ok(goio_ctx_set_deadline(later_ctx, begin + 900));
    assert_ok(goio_ctx_set_deadline(earlier_ctx, begin + 50));
    sf_call_join(&earlier);
    assert_goio(GOIO_ETIMEDOUT, earlier.rc);
    assert_null(earlier.result);
    assert_true(earlier.returned_at >= begin + 50);
    sf_call_join(&later);
    assert_goio(GOIO_ETIMEDOUT, later.rc);
    assert_true(later.returned_at >= begin + 900);
    assert_false(atomic_load(&leader.done));
    sf_work_open(w);
    sf_call_join(&leader);
    assert_ok(leader.rc);
    assert_false(leader.shared);
    goio_sharedflight_result_unref(leader.result);
    goio_ctx_unref(later_ctx);
    goio_ctx_unref(earlier_ctx);
}

/* The shared deadline is the latest live caller's, and moves back when
 * that caller leaves. */
static void deadline_follows_latest_live_caller(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->until_done = true;
    w->rc = GOIO_ETIMEDOUT;
    int64_t now = goio_now_mono_ms();
    goio_ctx *a, *b, *c;
    assert_ok(goio_ctx_new_with_deadline(NULL, now + 300, &a));
    assert_ok(goio_ctx_new_with_deadline(NULL, now + 60000, &b));
    assert_ok(goio_ctx_new(NULL, &c));
    sf_call ca, cb, cc;
    sf_call_lead(&ca, g, "k", a, w);
    goio_ctx *shared_ctx = atomic_load(&w->seen_ctx);
    assert_int_equal(goio_ctx_deadline(shared_ctx), now + 300);

    sf_call_start(&cb, g, "k", b, w);
    assert_true(sf_wait_callers(g, "k", 2));
    assert_int_equal(goio_ctx_deadline(shared_ctx), now + 60000);
    sf_call_start(&cc, g, "k", c, w);
    assert_true(sf_wait_callers(g, "k", 3));
    assert_int_equal(goio_ctx_deadline(shared_ctx), GOIO_NO_DEADLINE);

    goio_ctx_cancel(c);
    sf_call_join(&cc);
    assert_int_equal(goio_ctx_deadline(shared_ctx), now + 60000);
    /* The leader's own deadline passes: fn keeps going for b. */
    assert_true(GOIO_WAIT_UNTIL(goio_now_mono_ms() > now + 320, 10000));
    assert_ok(goio_ctx_err(shared_ctx));
    assert_int_equal(atomic_load(&w->running), 1);
    /* b leaves: the deadline falls back to a's, which has passed. */
    goio_ctx_cancel(b);
    sf_call_join(&cb);
    assert_goio(GOIO_ECANCELED, cb.rc);
    sf_call_join(&ca);
    assert_goio(GOIO_ETIMEDOUT, ca.rc);
    assert_goio(GOIO_ETIMEDOUT, atomic_load(&w->ctx_err_at_end));
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    goio_ctx_unref(a);
    goio_ctx_unref(b);
    goio_ctx_unref(c);
}

/* Joining after every earlier caller gave up, before fn returned, starts a
 * fresh flight with a live ctx instead of handing out the cancelled one. */
static void late_caller_gets_fresh_flight(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *old = &fx->w;
    sf_work fresh;
    sf_work_init(&fresh);
    old->gated = true;
    goio_ctx *a, *b;
    assert_ok(goio_ctx_new(NULL, &a));
    assert_ok(goio_ctx_new(NULL, &b));
    sf_call ca, cb, cc;
    sf_call_lead(&ca, g, "k", a, old);
    sf_call_start(&cb, g, "k", b, old);
    assert_true(sf_wait_callers(g, "k", 2));
    goio_ctx_cancel(b);
    sf_call_join(&cb);
    goio_ctx_cancel(a);
    goio_ctx *doomed = atomic_load(&old->seen_ctx);
    assert_goio(GOIO_ECANCELED, goio_ctx_err(doomed));
    size_t n = 9;
    assert_ok(goio_sharedflight_callers(g, "k", &n));
    assert_int_equal(n, 0);

    sf_call_start(&cc, g, "k", NULL, &fresh);
    sf_call_join(&cc);
    assert_ok(cc.rc);
    assert_int_equal(atomic_load(&fresh.executions), 1);
    assert_false(atomic_load(&old->seen_ctx) == atomic_load(&fresh.seen_ctx));
    assert_ok(atomic_load(&fresh.ctx_err_at_end));
    assert_int_equal(goio_sharedflight_inflight(g), 1); /* the old one */
    goio_sharedflight_result_unref(cc.result);

    sf_work_open(old);
    sf_call_join(&ca);
    assert_goio(GOIO_ECANCELED, ca.rc);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    goio_ctx_unref(a);
    goio_ctx_unref(b);
    sf_work_destroy(&fresh);
}

/* Same, when the callers' deadlines passed (nobody was woken for it). */
static void late_caller_after_deadlines_gets_fresh_flight(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *old = &fx->w;
    sf_work fresh;
    sf_work_init(&fresh);
    old->gated = true;
    goio_ctx *a;
    assert_ok(goio_ctx_new_with_timeout(NULL, 30, &a));
    sf_call ca, cc;
    sf_call_lead(&ca, g, "k", a, old);
    goio_ctx *doomed = atomic_load(&old->seen_ctx);
    assert_ok(goio_ctx_wait(doomed, 10000));
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(doomed));

    goio_ctx *c;
    assert_ok(goio_ctx_new_with_timeout(NULL, 60000, &c));
    sf_call_start(&cc, g, "k", c, &fresh);
    sf_call_join(&cc);
    assert_ok(cc.rc);
    assert_int_equal(atomic_load(&fresh.executions), 1);
    assert_ok(atomic_load(&fresh.ctx_err_at_end));
    /* The old flight's ctx stayed timed out. */
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(doomed));
    goio_sharedflight_result_unref(cc.result);
    sf_work_open(old);
    sf_call_join(&ca);
    assert_goio(GOIO_ETIMEDOUT, ca.rc);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    goio_ctx_unref(a);
    goio_ctx_unref(c);
    sf_work_destroy(&fresh);
}

static void forget_starts_new_flight_and_old_one_keeps_out(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *first = &fx->w;
    sf_work second;
    sf_work_init(&second);
    first->gated = true;
    second.gated = true;
    sf_call c1, c1b, c2, c2b;
    sf_call_lead(&c1, g, "k", NULL, first);
    sf_call_start(&c1b, g, "k", NULL, first);
    assert_true(sf_wait_callers(g, "k", 2));
    assert_ok(goio_sharedflight_forget(g, "k"));

    sf_call_lead(&c2, g, "k", NULL, &second);
    assert_int_equal(goio_sharedflight_inflight(g), 2);
    /* The forgotten flight finishes: its callers get its result, and it
     * must not take the newer flight's entry with it. */
    sf_work_open(first);
    sf_call_join(&c1);
    sf_call_join(&c1b);
    assert_ok(c1.rc);
    assert_ptr_equal(c1.result, c1b.result);
    assert_true(c1.shared);
    size_t n;
    assert_ok(goio_sharedflight_callers(g, "k", &n));
    assert_int_equal(n, 1);
    sf_call_start(&c2b, g, "k", NULL, &second);
    assert_true(sf_wait_callers(g, "k", 2));
    sf_work_open(&second);
    sf_call_join(&c2);
    sf_call_join(&c2b);
    assert_ptr_equal(c2.result, c2b.result);
    assert_false(c2.result == c1.result);
    assert_int_equal(atomic_load(&first->executions), 1);
    assert_int_equal(atomic_load(&second.executions), 1);
    sf_call *all[] = {&c1, &c1b, &c2, &c2b};
    for (int i = 0; i < 4; i++)
        goio_sharedflight_result_unref(all[i]->result);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    sf_work_destroy(&second);
}

/* The Go package leaks a map entry (and, with contexts, goroutines) per
 * key; a finished goio flight leaves nothing. */
static void ten_thousand_keys_leave_nothing(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    int threads_before = sf_thread_baseline();
    atomic_int runs = 0;
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "distinct-%d", i);
        goio_ctx *ctx = NULL;
        if (i % 2)
            assert_ok(goio_ctx_new_with_timeout(NULL, 60000, &ctx));
        goio_sharedflight_result *r;
        assert_ok(goio_sharedflight_do(g, ctx, key, sf_count_fn, &runs, NULL,
                                       &r, NULL));
        goio_sharedflight_result_unref(r);
        goio_ctx_unref(ctx);
    }
    assert_int_equal(atomic_load(&runs), 10000);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    size_t n = 1;
    assert_ok(goio_sharedflight_callers(g, "distinct-9999", &n));
    assert_int_equal(n, 0);
    assert_true(sf_threads_become(threads_before));
}

/* Any non-empty string is a key: every length (the hash reads words and
 * tails), long keys, UTF-8, keys differing in one byte. While each flight
 * runs, every other key must still be free to start its own. */
typedef struct key_list {
    goio_sharedflight *g;
    char **keys;
    int n, at;
} key_list;

static int nest_keys_fn(goio_ctx *ctx, void **value, void *arg)
{
    key_list *l = arg;
    const char *mine = l->keys[l->at];
    *value = strdup(mine);
    if (++l->at < l->n) {
        /* Still inside this flight: the next key must get its own. */
        goio_sharedflight_result *r;
        assert_ok(goio_sharedflight_do(l->g, ctx, l->keys[l->at], nest_keys_fn,
                                       l, free, &r, NULL));
        goio_sharedflight_result_unref(r);
    }
    return 0;
}

static void any_string_is_a_key(void **state)
{
    sf_fix *fx = *state;
    enum { N = 80 };
    char *keys[N];
    int n = 0;
    for (int len = 1; len <= 40; len++) { /* "x", "xx", ... */
        keys[n] = malloc((size_t)len + 1);
        memset(keys[n], 'x', (size_t)len);
        keys[n++][len] = 0;
    }
    for (int i = 0; i < 30; i++) { /* differ in the last byte only */
        keys[n] = strdup("prefix-0123456789-abcdefgh-?");
        keys[n++][27] = (char)('A' + i);
    }
    keys[n] = malloc(8193);
    memset(keys[n], 'k', 8192);
    keys[n++][8192] = 0;
    keys[n++] = strdup("ключ-キー-🔑");
    keys[n++] = strdup(" ");
    keys[n++] = strdup("\t\n");
    goio_sharedflight *g = fx->g;
    key_list l = {g, keys, n, 0};
    goio_sharedflight_result *r;
    assert_ok(goio_sharedflight_do(g, NULL, keys[0], nest_keys_fn, &l, free, &r,
                                   NULL));
    assert_int_equal(l.at, n); /* one flight per key, none shared */
    assert_string_equal(goio_sharedflight_result_value(r), keys[0]);
    goio_sharedflight_result_unref(r);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    for (int i = 0; i < n; i++)
        free(keys[i]);
}

/* A result outlives the group that made it. */
static void result_outlives_group(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    goio_sharedflight_result *r;
    assert_ok(goio_sharedflight_do(g, NULL, "k", sf_work_fn, w,
                                   sf_destroy_value, &r, NULL));
    sf_fix_free_group(fx);
    sf_value *v = goio_sharedflight_result_value(r);
    assert_int_equal(v->execution, 1);
    goio_sharedflight_result_unref(r);
    assert_int_equal(atomic_load(&w->destroyed), 1);
}

/* A caller whose ctx is already done neither starts nor joins a flight. */
static void done_ctx_returns_at_once(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    goio_ctx_cancel(ctx);
    goio_sharedflight_result *r;
    assert_goio(GOIO_ECANCELED, goio_sharedflight_do(g, ctx, "k", never_run,
                                                     NULL, NULL, &r, NULL));
    assert_null(r);
    goio_ctx_unref(ctx);
    assert_ok(goio_ctx_new_with_deadline(NULL, 0, &ctx));
    assert_goio(GOIO_ETIMEDOUT, goio_sharedflight_do(g, ctx, "k", never_run,
                                                     NULL, NULL, &r, NULL));
    goio_ctx_unref(ctx);
}

/* The leader's ctx times out while fn runs: it returns ETIMEDOUT, and the
 * value nobody received is freed. */
static void leader_deadline_passes_during_fn(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    sf_work *w = &fx->w;
    w->until_done = true;
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 20, &ctx));
    goio_sharedflight_result *r;
    assert_goio(GOIO_ETIMEDOUT,
                goio_sharedflight_do(g, ctx, "k", sf_work_fn, w,
                                     sf_destroy_value, &r, NULL));
    assert_null(r);
    assert_goio(GOIO_ETIMEDOUT, atomic_load(&w->ctx_err_at_end));
    assert_int_equal(atomic_load(&w->destroyed), 1);
    goio_ctx_unref(ctx);
}

/* fn ends its thread: the flight is still published and waiters wake. */
static void *exiting_leader(void *arg)
{
    sf_work *w = arg;
    goio_sharedflight_result *r;
    goio_sharedflight_do(w->group, NULL, w->key, sf_work_fn, w, NULL, &r, NULL);
    fail_msg("pthread_exit returned");
    return NULL;
}

static void fn_ending_its_thread_wakes_waiters(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight *g = fx->g;
    goio_log_set_sink(NULL, NULL); /* the flight_abandoned record */
    sf_work *w = &fx->w;
    w->key = "k";
    w->wait_callers = 2;
    w->exit_thread = true;
    pthread_t leader;
    assert_int_equal(pthread_create(&leader, NULL, exiting_leader, w), 0);
    assert_true(sf_work_running(w, 1));
    sf_call waiter;
    sf_call_start(&waiter, g, "k", NULL, w);
    sf_call_join(&waiter);
    /* Like any finished flight: the code plus a result (no value). */
    assert_goio(GOIO_ECANCELED, waiter.rc);
    assert_non_null(waiter.result);
    assert_null(goio_sharedflight_result_value(waiter.result));
    goio_sharedflight_result_unref(waiter.result);
    pthread_join(leader, NULL);
    assert_int_equal(goio_sharedflight_inflight(g), 0);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
}

/* fn asking for its own key fails instead of waiting for itself. */
typedef struct nested {
    goio_sharedflight *g;
    int inner_rc;
} nested;

static int nested_fn(goio_ctx *ctx, void **value, void *arg)
{
    (void)value;
    nested *n = arg;
    goio_sharedflight_result *r;
    n->inner_rc =
        goio_sharedflight_do(n->g, ctx, "self", nested_fn, n, NULL, &r, NULL);
    assert_null(r);
    /* Another key is fine. */
    assert_ok(
        goio_sharedflight_do(n->g, ctx, "other", ok_fn, NULL, NULL, &r, NULL));
    goio_sharedflight_result_unref(r);
    return 0;
}

static void fn_waiting_for_its_own_key_fails(void **state)
{
    sf_fix *fx = *state;
    nested n = {.g = fx->g};
    goio_sharedflight_result *r;
    assert_ok(
        goio_sharedflight_do(n.g, NULL, "self", nested_fn, &n, NULL, &r, NULL));
    assert_goio(GOIO_EBUSY, n.inner_rc);
    goio_sharedflight_result_unref(r);
    assert_int_equal(goio_sharedflight_inflight(n.g), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_arguments_are_rejected),
        sf_test(one_caller_gets_value_and_code),
        sf_test(error_and_value_reach_every_caller),
        sf_test(thousand_callers_share_one_execution),
        cmocka_unit_test(many_keys_in_parallel),
        cmocka_unit_test(deadlines_race_publishes),
        sf_test(one_caller_cancels_others_get_result),
        sf_test(all_cancel_fn_observes_it),
        sf_test(waiter_deadline_returns_etimedout),
        sf_test(moved_waiter_deadlines),
        sf_test(deadline_follows_latest_live_caller),
        sf_test(late_caller_gets_fresh_flight),
        sf_test(late_caller_after_deadlines_gets_fresh_flight),
        sf_test(forget_starts_new_flight_and_old_one_keeps_out),
        sf_test(ten_thousand_keys_leave_nothing),
        sf_test(any_string_is_a_key),
        sf_test(result_outlives_group),
        sf_test(done_ctx_returns_at_once),
        sf_test(leader_deadline_passes_during_fn),
        sf_test(fn_ending_its_thread_wakes_waiters),
        sf_test(fn_waiting_for_its_own_key_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
