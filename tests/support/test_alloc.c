/*
 * A counting allocator that can fail the n-th allocation: the torture loop
 * checks every allocation failure path returns GOIO_ENOMEM and leaks
 * nothing. This is fault injection: a real allocator does not fail on
 * demand.
 */
#include "test_util.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long allocs, frees, fail_countdown;

static bool should_fail(void)
{
    long left = atomic_load(&fail_countdown);
    if (left <= 0)
        return false;
    if (left == 1)
        return true; /* stays at 1: every later allocation fails too */
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

int goio_test_alloc_torture(int (*op)(void *arg), void (*cleanup)(void *arg),
                            void *arg)
{
    goio_test_alloc_install();
    for (long n = 1; n < 100000; n++) {
        long before = goio_test_alloc_outstanding();
        goio_test_alloc_fail_at(n);
        int rc = op(arg);
        goio_test_alloc_fail_at(0);
        if (cleanup)
            cleanup(arg);
        if (goio_test_alloc_outstanding() != before)
            fail_msg("allocation point %ld leaked %ld allocations", n,
                     goio_test_alloc_outstanding() - before);
        if (rc == 0)
            return (int)n;
        if (rc != GOIO_ENOMEM)
            fail_msg("allocation point %ld returned %s, expected "
                     "GOIO_ENOMEM",
                     n, goio_err_name(rc));
    }
    fail_msg("operation never succeeded");
    return -1;
}
