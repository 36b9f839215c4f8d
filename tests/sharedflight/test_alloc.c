/*
 * Allocation failures: every allocation sharedflight makes (group, flight,
 * shared ctx, ctx watch, async record, deadline heap, thread records) is
 * failed in turn; each call must report GOIO_ENOMEM and leak nothing.
 * The failing allocator is fault injection: a real one does not fail on
 * demand.
 */
#include "sf_test.h"

#include <stdlib.h>

static int value_fn(goio_ctx *ctx, void *arg, void **value)
{
    (void)ctx, (void)arg;
    *value = malloc(16); /* the C library's: not counted, not failed */
    return *value ? 0 : GOIO_EIO;
}

static int sync_op(void *arg)
{
    (void)arg;
    goio_sharedflight *g;
    int rc = goio_sharedflight_new(&g);
    if (rc)
        return rc;
    goio_ctx *ctx;
    if ((rc = goio_ctx_with_timeout(NULL, 60000, &ctx))) {
        goio_sharedflight_free(g);
        return rc;
    }
    goio_sharedflight_result *r;
    rc = goio_sharedflight_do(g, "key", ctx, value_fn, NULL, free, &r, NULL);
    /* On a failure after the flight started, a result comes too. */
    goio_sharedflight_result_release(r);
    goio_ctx_unref(ctx);
    goio_sharedflight_free(g);
    return rc;
}

static void sync_do_survives_every_allocation_failure(void **state)
{
    (void)state;
    int points = goio_test_alloc_torture(sync_op, NULL, NULL);
    print_message("sync points %d\n", points);
    assert_true(points > 3);
}

typedef struct outcome {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool called;
    int status;
} outcome;

static void outcome_cb(int status, goio_sharedflight_result *r, bool shared,
                       void *data)
{
    (void)shared;
    outcome *o = data;
    goio_sharedflight_result_release(r);
    pthread_mutex_lock(&o->lock);
    o->called = true;
    o->status = status;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

static int async_op(void *arg)
{
    (void)arg;
    goio_sharedflight *g;
    int rc = goio_sharedflight_new(&g);
    if (rc)
        return rc;
    goio_ctx *ctx;
    if ((rc = goio_ctx_with_timeout(NULL, 60000, &ctx))) {
        goio_sharedflight_free(g);
        return rc;
    }
    outcome o = {.status = 99};
    pthread_mutex_init(&o.lock, NULL);
    pthread_cond_init(&o.cond, NULL);
    rc = goio_sharedflight_do_async(g, "key", ctx, value_fn, NULL, free,
                                    outcome_cb, &o);
    if (!rc) {
        /* Scheduled: the callback says how it went. */
        assert_true(GOIO_WAIT_UNTIL(({
                                        pthread_mutex_lock(&o.lock);
                                        bool c = o.called;
                                        pthread_mutex_unlock(&o.lock);
                                        c;
                                    }),
                                    20000));
        rc = o.status;
    }
    goio_sharedflight_free(g);
    assert_false(rc == 99);
    pthread_cond_destroy(&o.cond);
    pthread_mutex_destroy(&o.lock);
    goio_ctx_unref(ctx);
    return rc;
}

static void async_do_survives_every_allocation_failure(void **state)
{
    (void)state;
    int points = goio_test_alloc_torture(async_op, NULL, NULL);
    print_message("async points %d\n", points);
    assert_true(points > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sync_do_survives_every_allocation_failure),
        cmocka_unit_test(async_do_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
