/* SPDX-License-Identifier: MIT */
/*
 * A counting allocator that can fail the n-th allocation: the torture loop
 * checks every allocation failure path returns GOIO_ENOMEM and leaks
 * nothing. This is fault injection: a real allocator does not fail on
 * demand.
 */
#include "test_util.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long allocs, frees, fail_countdown, calls, injected;

static bool should_fail(void)
{
    atomic_fetch_add(&calls, 1);
    long left = atomic_load(&fail_countdown);
    if (left <= 0)
        return false;
    if (left == 1) {
        atomic_fetch_add(&injected, 1);
        return true; /* stays at 1: every later allocation fails too */
    }
    atomic_fetch_sub(&fail_countdown, 1);
    return false;
}

static void *t_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&allocs, 1);
    return p;
}

static void *t_calloc(size_t c, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = calloc(c, n);
    if (p)
        atomic_fetch_add(&allocs, 1);
    return p;
}

static void *t_realloc(void *old, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = realloc(old, n);
    if (p && !old)
        atomic_fetch_add(&allocs, 1);
    return p;
}

static void t_free(void *p)
{
    if (p)
        atomic_fetch_add(&frees, 1);
    free(p);
}

void goio_test_alloc_install(void)
{
    goio_allocator_set(t_malloc, t_calloc, t_realloc, t_free);
}

void goio_test_alloc_fail_at(long n)
{
    atomic_store(&fail_countdown, n);
}

long goio_test_alloc_outstanding(void)
{
    return atomic_load(&allocs) - atomic_load(&frees);
}

long goio_test_alloc_count(void)
{
    return atomic_load(&allocs);
}

/* Runs op once with nothing failing and returns the allocation calls it
 * made (realloc included), asserting success and no leak. */
static long clean_run(int (*op)(void *arg), void (*cleanup)(void *arg),
                      void *arg)
{
    goio_test_alloc_fail_at(0);
    long before = goio_test_alloc_outstanding();
    long start = atomic_load(&calls);
    int rc = op(arg);
    long points = atomic_load(&calls) - start;
    if (cleanup)
        cleanup(arg);
    if (rc != 0)
        fail_msg("the operation failed with %s with no allocation failing",
                 goio_err_name(rc));
    if (goio_test_alloc_outstanding() != before)
        fail_msg("the clean run leaked %ld allocations",
                 goio_test_alloc_outstanding() - before);
    return points;
}

int goio_test_alloc_torture_ex(int (*op)(void *arg), void (*cleanup)(void *arg),
                               void *arg, unsigned flags,
                               goio_test_torture *out)
{
    goio_test_torture res = {0};
    goio_test_alloc_install();
    res.points = clean_run(op, cleanup, arg);
    for (long n = 1; n <= res.points; n++) {
        long before = goio_test_alloc_outstanding();
        long hit = atomic_load(&injected);
        goio_test_alloc_fail_at(n);
        int rc = op(arg);
        goio_test_alloc_fail_at(0);
        if (cleanup)
            cleanup(arg);
        bool reached = atomic_load(&injected) != hit;
        if (goio_test_alloc_outstanding() != before)
            fail_msg("allocation point %ld leaked %ld allocations", n,
                     goio_test_alloc_outstanding() - before);
        if (!reached && !(flags & GOIO_TEST_TORTURE_VARIES))
            fail_msg("allocation point %ld of %ld was never reached: the "
                     "operation allocates differently from run to run",
                     n, res.points);
        if (!reached && rc != 0)
            fail_msg("allocation point %ld of %ld was never reached, yet "
                     "the run returned %s",
                     n, res.points, goio_err_name(rc));
        if (!reached)
            res.unreached++;
        else if (rc == 0 && (flags & GOIO_TEST_TORTURE_ABSORBS))
            res.absorbed++;
        else if (rc != GOIO_ENOMEM)
            fail_msg("allocation point %ld of %ld returned %s, expected "
                     "GOIO_ENOMEM",
                     n, res.points, goio_err_name(rc));
    }
    if (out)
        *out = res;
    return (int)res.points;
}

int goio_test_alloc_torture(int (*op)(void *arg), void (*cleanup)(void *arg),
                            void *arg)
{
    return goio_test_alloc_torture_ex(op, cleanup, arg, 0, NULL);
}
