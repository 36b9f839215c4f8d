/* SPDX-License-Identifier: MIT */
#include "test_util.h"

#include "../../src/core/core_int.h"

#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static bool fd_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void never_called(void *arg)
{
    (void)arg;
    abort();
}

static void null_arguments_are_rejected(void **state)
{
    (void)state;
    goio_ctx *ctx = (goio_ctx *)1;
    int fd;
    assert_goio(GOIO_EINVAL, goio_ctx_new(NULL, NULL));
    assert_goio(GOIO_EINVAL, goio_ctx_new_with_timeout(NULL, -1, &ctx));
    assert_null(ctx);
    assert_goio(GOIO_EINVAL, goio_ctx_wait(NULL, 0));
    assert_goio(GOIO_EINVAL, goio_ctx_fd(NULL, &fd));
    assert_goio(GOIO_EINVAL, goio_ctx_set_deadline(NULL, 0));
    assert_goio(GOIO_EINVAL,
                goio_ctx_on_cancel(NULL, never_called, NULL, NULL));
    assert_ok(goio_ctx_err(NULL));
    assert_int_equal(goio_ctx_deadline(NULL), GOIO_NO_DEADLINE);
    assert_int_equal(goio_ctx_remaining_ms(NULL), -1);
    goio_ctx_cancel(NULL);
    goio_ctx_unref(NULL);
    assert_null(goio_ctx_ref(NULL));
    goio_ctx_watch_remove(NULL, NULL);
}

static void cancel_reaches_children_not_parents(void **state)
{
    (void)state;
    goio_ctx *root, *mid, *leaf, *sibling;
    assert_ok(goio_ctx_new(NULL, &root));
    assert_ok(goio_ctx_new(root, &mid));
    assert_ok(goio_ctx_new(mid, &leaf));
    assert_ok(goio_ctx_new(root, &sibling));
    goio_ctx_cancel(mid);
    assert_goio(GOIO_ECANCELED, goio_ctx_err(mid));
    assert_goio(GOIO_ECANCELED, goio_ctx_err(leaf));
    assert_ok(goio_ctx_err(root));
    assert_ok(goio_ctx_err(sibling));
    goio_ctx_cancel(root);
    assert_goio(GOIO_ECANCELED, goio_ctx_err(sibling));
    /* A child of a cancelled parent is born cancelled. */
    goio_ctx *late;
    assert_ok(goio_ctx_new(root, &late));
    assert_goio(GOIO_ECANCELED, goio_ctx_err(late));
    goio_ctx *ctxs[] = {late, leaf, mid, sibling, root};
    for (int i = 0; i < 5; i++)
        goio_ctx_unref(ctxs[i]);
}

static void parent_outlives_its_last_handle_while_children_live(void **state)
{
    (void)state;
    goio_ctx *root, *child;
    assert_ok(goio_ctx_new(NULL, &root));
    assert_ok(goio_ctx_new(root, &child));
    goio_ctx_unref(root); /* the child still holds it */
    assert_ok(goio_ctx_err(child));
    goio_ctx_unref(child);
}

static void deadline_expires_lazily(void **state)
{
    (void)state;
    goio_ctx *ctx, *child;
    assert_ok(goio_ctx_new_with_timeout(NULL, 30, &ctx));
    assert_ok(goio_ctx_new(ctx, &child));
    assert_true(goio_ctx_remaining_ms(ctx) <= 30);
    assert_int_equal(goio_ctx_deadline(child), goio_ctx_deadline(ctx));
    assert_ok(goio_ctx_err(child));
    int64_t start = goio_now_mono_ms();
    assert_ok(goio_ctx_wait(child, 5000));
    int64_t took = goio_now_mono_ms() - start;
    assert_true(took >= 25 && took < 2000);
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(ctx));
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(child));
    /* Cancelling after the deadline keeps the deadline as the reason. */
    goio_ctx_cancel(ctx);
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(ctx));
    goio_ctx_unref(child);
    goio_ctx_unref(ctx);
}

static void wait_times_out_on_live_ctx(void **state)
{
    (void)state;
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    int64_t start = goio_now_mono_ms();
    assert_goio(GOIO_EAGAIN, goio_ctx_wait(ctx, 20));
    assert_true(goio_now_mono_ms() - start >= 20);
    assert_goio(GOIO_EAGAIN, goio_ctx_wait(ctx, 0));
    goio_ctx_unref(ctx);
}

typedef struct {
    goio_ctx *ctx;
    int rc;
} waiter;

static void *wait_forever(void *arg)
{
    waiter *w = arg;
    w->rc = goio_ctx_wait(w->ctx, -1);
    return NULL;
}

static void cancel_wakes_many_waiters(void **state)
{
    (void)state;
    goio_ctx *root, *child;
    assert_ok(goio_ctx_new(NULL, &root));
    assert_ok(goio_ctx_new(root, &child));
    pthread_t t[16];
    waiter w[16];
    for (int i = 0; i < 16; i++) {
        w[i] = (waiter){i % 2 ? root : child, 99};
        pthread_create(&t[i], NULL, wait_forever, &w[i]);
    }
    /* Every waiter is inside goio_ctx_wait, blocked, before the cancel:
     * the cancel is what wakes them, on the ctx and through the parent. */
    assert_true(GOIO_WAIT_UNTIL(goio__core_ctx_waiters(root) == 8 &&
                                    goio__core_ctx_waiters(child) == 8,
                                5000));
    for (int i = 0; i < 16; i++)
        assert_int_equal(w[i].rc, 99);
    goio_ctx_cancel(root);
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    assert_int_equal(goio__core_ctx_waiters(root), 0);
    assert_int_equal(goio__core_ctx_waiters(child), 0);
    goio_ctx_unref(child);
    goio_ctx_unref(root);
}

static void set_deadline_moves_waiters(void **state)
{
    (void)state;
    goio_ctx *ctx, *child;
    assert_ok(goio_ctx_new(NULL, &ctx));
    assert_ok(goio_ctx_new(ctx, &child));
    waiter w = {child, 99};
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, &w);
    int64_t start = goio_now_mono_ms();
    assert_ok(goio_ctx_set_deadline(ctx, start + 20));
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(child));
    /* Moving it back out revives it: only sharedflight-style owners do. */
    assert_ok(goio_ctx_set_deadline(ctx, GOIO_NO_DEADLINE));
    assert_ok(goio_ctx_err(child));
    goio_ctx_unref(child);
    goio_ctx_unref(ctx);
}

static void fd_polls_on_cancel_deadline_and_parent(void **state)
{
    (void)state;
    goio_ctx *a, *b, *parent, *child;
    int fd;
    assert_ok(goio_ctx_new(NULL, &a));
    assert_ok(goio_ctx_fd(a, &fd));
    assert_false(fd_readable(fd, 0));
    goio_ctx_cancel(a);
    assert_true(fd_readable(fd, 1000));

    assert_ok(goio_ctx_new_with_timeout(NULL, 20, &b));
    assert_ok(goio_ctx_fd(b, &fd));
    assert_false(fd_readable(fd, 0));
    assert_true(fd_readable(fd, 2000));
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(b));

    assert_ok(goio_ctx_new(NULL, &parent));
    assert_ok(goio_ctx_new(parent, &child));
    assert_ok(goio_ctx_fd(child, &fd));
    assert_false(fd_readable(fd, 0));
    assert_ok(goio_ctx_set_deadline(parent, goio_now_mono_ms() + 10));
    assert_true(fd_readable(fd, 2000));
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(child));

    /* An fd made after the cancel is readable at once. */
    goio_ctx *late;
    assert_ok(goio_ctx_new(a, &late));
    assert_ok(goio_ctx_fd(late, &fd));
    assert_true(fd_readable(fd, 0));
    goio_ctx *ctxs[] = {late, a, b, child, parent};
    for (int i = 0; i < 5; i++)
        goio_ctx_unref(ctxs[i]);
}

/* Deadlines long past and timeouts at the far end of int64 (UBSan would
 * catch an overflowing sum). */
static void extreme_times_are_handled(void **state)
{
    (void)state;
    goio_ctx *past, *waited;
    int fd;
    assert_ok(goio_ctx_new_with_deadline(NULL, -5000, &past));
    assert_goio(GOIO_ETIMEDOUT, goio_ctx_err(past));
    assert_ok(goio_ctx_fd(past, &fd));
    assert_true(fd_readable(fd, 1000));
    assert_ok(goio_ctx_wait(past, INT64_MAX));

    assert_ok(goio_ctx_new_with_timeout(NULL, INT64_MAX, &waited));
    assert_int_equal(goio_ctx_deadline(waited), GOIO_NO_DEADLINE);
    assert_goio(GOIO_EAGAIN, goio_ctx_wait(waited, 0));
    waiter w = {waited, 99};
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, &w);
    goio_ctx_cancel(waited);
    pthread_join(t, NULL);
    assert_ok(w.rc);
    assert_ok(goio_ctx_wait(waited, INT64_MAX));
    goio_ctx_unref(waited);
    goio_ctx_unref(past);
}

static void bump(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void watches_fire_once_and_can_be_removed(void **state)
{
    (void)state;
    goio_ctx *ctx;
    atomic_int fired = 0, removed_fired = 0, late_fired = 0;
    goio_ctx_watch *keep, *drop;
    assert_ok(goio_ctx_new(NULL, &ctx));
    assert_ok(goio_ctx_on_cancel(ctx, bump, &fired, &keep));
    assert_ok(goio_ctx_on_cancel(ctx, bump, &removed_fired, &drop));
    assert_ok(goio_ctx_on_cancel(ctx, bump, &fired, NULL));
    goio_ctx_watch_remove(ctx, drop);
    goio_ctx_cancel(ctx);
    goio_ctx_cancel(ctx);
    assert_int_equal(atomic_load(&fired), 2);
    assert_int_equal(atomic_load(&removed_fired), 0);
    /* Registering on a cancelled ctx runs fn at once and gives no handle. */
    goio_ctx_watch *none = (goio_ctx_watch *)1;
    assert_ok(goio_ctx_on_cancel(ctx, bump, &late_fired, &none));
    assert_null(none);
    assert_int_equal(atomic_load(&late_fired), 1);
    goio_ctx_watch_remove(ctx, keep); /* fired watches are still removed */
    goio_ctx_unref(ctx);
}

/* Many threads race cancel, watch removal and child creation; tsan checks
 * the ordering. Each watch has its own counter, so the test knows for each
 * one exactly what must have happened: it fired at most once; it fired if
 * its ctx was cancelled before it was registered; it did not fire if the
 * ctx was still live once the removal returned; and it never fired after
 * the removal returned. */
#define RACERS 4
#define ROUNDS 200

typedef struct {
    goio_ctx *root;
    atomic_int fired;
    atomic_int count[RACERS][ROUNDS];  /* each watch's firings */
    int at_remove[RACERS][ROUNDS];     /* count once removal returned */
    atomic_int wrong;                  /* broken properties */
    atomic_int before, between, after; /* when the cancel came */
} race;

typedef struct {
    race *r;
    int id;
} racer_arg;

static race *the_race;

static void bump_both(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    atomic_fetch_add(&the_race->fired, 1);
}

static void *racer(void *arg)
{
    racer_arg *a = arg;
    race *r = a->r;
    for (int i = 0; i < ROUNDS; i++) {
        goio_ctx *child;
        goio_ctx_watch *w;
        atomic_int *count = &r->count[a->id][i];
        /* A racer that got this far ahead of the canceller waits for it,
         * so its last rounds surely meet a cancelled root. */
        if (i == ROUNDS - 20 && !GOIO_WAIT_UNTIL(goio_ctx_err(r->root), 5000))
            atomic_fetch_add(&r->wrong, 1);
        if (goio_ctx_new(r->root, &child))
            abort();
        int pre = goio_ctx_err(child);
        goio_ctx_on_cancel(child, bump_both, count, &w);
        goio_ctx_watch_remove(child, w);
        int post = goio_ctx_err(child);
        int n = atomic_load(count);
        r->at_remove[a->id][i] = n;
        if (n > 1 || (pre && n != 1) || (!post && n != 0))
            atomic_fetch_add(&r->wrong, 1);
        atomic_fetch_add(pre ? &r->before : post ? &r->between : &r->after, 1);
        goio_ctx_unref(child);
    }
    return NULL;
}

/* Cancels once the racers are half-way, so both sides of the race run. */
static void *canceller(void *arg)
{
    race *r = arg;
    while (atomic_load(&r->before) + atomic_load(&r->between) +
               atomic_load(&r->after) <
           RACERS * ROUNDS / 2)
        sched_yield();
    goio_ctx_cancel(r->root);
    return NULL;
}

static void cancel_races_child_churn(void **state)
{
    (void)state;
    race *r = calloc(1, sizeof *r);
    assert_non_null(r);
    the_race = r;
    assert_ok(goio_ctx_new(NULL, &r->root));
    pthread_t t[RACERS + 1];
    racer_arg args[RACERS];
    for (int i = 0; i < RACERS; i++) {
        args[i] = (racer_arg){r, i};
        pthread_create(&t[i], NULL, racer, &args[i]);
    }
    pthread_create(&t[RACERS], NULL, canceller, r);
    for (int i = 0; i <= RACERS; i++)
        pthread_join(t[i], NULL);
    assert_goio(GOIO_ECANCELED, goio_ctx_err(r->root));
    assert_int_equal(atomic_load(&r->wrong), 0);
    /* Nothing fired after its removal returned, and the total is exactly
     * the watches that fired. */
    int expected = 0;
    for (int i = 0; i < RACERS; i++)
        for (int j = 0; j < ROUNDS; j++) {
            assert_int_equal(atomic_load(&r->count[i][j]), r->at_remove[i][j]);
            expected += r->at_remove[i][j];
        }
    assert_int_equal(atomic_load(&r->fired), expected);
    assert_int_equal(atomic_load(&r->before) + atomic_load(&r->between) +
                         atomic_load(&r->after),
                     RACERS * ROUNDS);
    /* Both sides of the race were reached; every watch registered on an
     * already cancelled ctx fired. */
    assert_true(atomic_load(&r->before) >= RACERS * 20);
    assert_true(atomic_load(&r->after) >= RACERS * ROUNDS / 2);
    assert_true(expected >= atomic_load(&r->before));
    printf("  cancel came before %d, between %d, after %d watches\n",
           atomic_load(&r->before), atomic_load(&r->between),
           atomic_load(&r->after));
    goio_ctx_unref(r->root);
    free(r);
}

/* goio_ctx_watch_remove while the watch's fn is provably running: it
 * waits for fn to return. The fn's data is heap memory the remover frees
 * as soon as remove returns, so returning early is also a use-after-free
 * ASan reports. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    atomic_int running, finished;
} slow_watch;

static void slow_fn(void *data)
{
    slow_watch *s = data;
    atomic_store(&s->running, 1);
    int64_t end = goio_now_mono_ms() + 10000;
    pthread_mutex_lock(&s->mu);
    while (!s->open && goio_now_mono_ms() < end) {
        pthread_mutex_unlock(&s->mu);
        goio_test_sleep_ms(1);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->finished, 1);
}

typedef struct {
    goio_ctx *ctx;
    goio_ctx_watch *w;
    slow_watch *s;
    atomic_int calling, returned;
    int finished_at_return;
} remover;

static void *remove_and_free(void *arg)
{
    remover *r = arg;
    atomic_store(&r->calling, 1);
    goio_ctx_watch_remove(r->ctx, r->w);
    r->finished_at_return = atomic_load(&r->s->finished);
    pthread_mutex_destroy(&r->s->mu);
    free(r->s);
    atomic_store(&r->returned, 1);
    return NULL;
}

static void *cancel_ctx(void *arg)
{
    goio_ctx_cancel(arg);
    return NULL;
}

static void watch_remove_waits_for_running_fn(void **state)
{
    (void)state;
    goio_ctx *ctx;
    assert_ok(goio_ctx_new(NULL, &ctx));
    slow_watch *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    remover r = {.ctx = ctx, .s = s};
    assert_ok(goio_ctx_on_cancel(ctx, slow_fn, s, &r.w));
    pthread_t canceller_t, remover_t;
    pthread_create(&canceller_t, NULL, cancel_ctx, ctx);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&s->running), 5000));
    pthread_create(&remover_t, NULL, remove_and_free, &r);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&r.calling), 5000));
    /* fn is running (blocked on the gate): remove must not return. */
    assert_false(GOIO_WAIT_UNTIL(atomic_load(&r.returned), 100));
    pthread_mutex_lock(&s->mu);
    s->open = true;
    pthread_mutex_unlock(&s->mu);
    pthread_join(remover_t, NULL);
    pthread_join(canceller_t, NULL);
    assert_int_equal(r.finished_at_return, 1);
    goio_ctx_unref(ctx);
}

static atomic_int never_fired;

static int make_tree(void *arg)
{
    goio_ctx **out = arg;
    int rc = goio_ctx_new_with_timeout(NULL, 1000, &out[0]);
    if (!rc)
        rc = goio_ctx_new(out[0], &out[1]);
    int fd;
    if (!rc)
        rc = goio_ctx_fd(out[1], &fd);
    if (!rc)
        rc = goio_ctx_on_cancel(out[1], bump, &never_fired, NULL);
    return rc;
}

static void free_tree(void *arg)
{
    goio_ctx **out = arg;
    goio_ctx_unref(out[1]);
    goio_ctx_unref(out[0]);
    out[0] = out[1] = NULL;
}

static void ctx_out_of_memory(void **state)
{
    (void)state;
    goio_ctx *tree[2] = {NULL, NULL};
    assert_true(goio_test_alloc_torture(make_tree, free_tree, tree) > 2);
    goio_allocator_set(NULL, NULL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_arguments_are_rejected),
        cmocka_unit_test(cancel_reaches_children_not_parents),
        cmocka_unit_test(parent_outlives_its_last_handle_while_children_live),
        cmocka_unit_test(deadline_expires_lazily),
        cmocka_unit_test(wait_times_out_on_live_ctx),
        cmocka_unit_test(cancel_wakes_many_waiters),
        cmocka_unit_test(watch_remove_waits_for_running_fn),
        cmocka_unit_test(set_deadline_moves_waiters),
        cmocka_unit_test(fd_polls_on_cancel_deadline_and_parent),
        cmocka_unit_test(extreme_times_are_handled),
        cmocka_unit_test(watches_fire_once_and_can_be_removed),
        cmocka_unit_test(cancel_races_child_churn),
        cmocka_unit_test(ctx_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
