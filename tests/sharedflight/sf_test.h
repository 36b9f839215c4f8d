/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the sharedflight tests: a controllable work function, caller
 * threads, a callback probe, a thread counter, and the fixture most tests
 * start from.
 */
#ifndef SF_TEST_H
#define SF_TEST_H

#include "test_util.h"

#include <goio/sharedflight.h>

#include <pthread.h>
#include <stdatomic.h>

/* What the work function does, and what it saw. */
typedef struct sf_work {
    atomic_int executions;
    atomic_int destroyed; /* values freed by destroy_value */
    /* fn blocks until `gate` opens (if `gated`) */
    bool gated;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    /* or until its ctx is done (if `until_done`) */
    bool until_done;
    /* then ends its thread (pthread_exit, still counted as running) */
    bool exit_thread;
    /* then returns `rc` with a value (if `with_value`) */
    int rc;
    bool with_value;
    /* what it saw: its ctx (referenced) and whether it was done at the end */
    goio_ctx *_Atomic seen_ctx;
    atomic_int ctx_err_at_end;
    atomic_int running;
    /* if set, fn waits until this many callers share its flight */
    goio_sharedflight *group;
    const char *key;
    size_t wait_callers;
} sf_work;

/* A value fn hands out: which execution made it. */
typedef struct sf_value {
    int execution;
    sf_work *work;
} sf_value;

void sf_work_init(sf_work *w);
void sf_work_destroy(sf_work *w);
void sf_work_open(sf_work *w);
int sf_work_fn(goio_ctx *ctx, void **value, void *arg);
void sf_destroy_value(void *value);
/* Waits (10 s) until at least n of w's fns run at once. */
bool sf_work_running(sf_work *w, int n);

/* A work function that counts its runs in the atomic_int at arg. */
int sf_count_fn(goio_ctx *ctx, void **value, void *arg);

/* One caller of goio_sharedflight_do on its own thread. */
typedef struct sf_call {
    goio_sharedflight *g;
    const char *key;
    goio_ctx *ctx;
    sf_work *work;
    int rc;
    goio_sharedflight_result *result;
    bool shared;
    atomic_bool done;
    int64_t returned_at;
    pthread_t thread;
} sf_call;

void sf_call_start(sf_call *c, goio_sharedflight *g, const char *key,
                   goio_ctx *ctx, sf_work *w);
/* Starts the first caller of a flight and waits until its fn runs. */
void sf_call_lead(sf_call *c, goio_sharedflight *g, const char *key,
                  goio_ctx *ctx, sf_work *w);
/* Waits (with a deadline: fails the test) for the call to return. */
void sf_call_join(sf_call *c);

/* Runs fn(args + i * size) on n threads, i = 0..n-1, and waits (20 s:
 * fails the test, where a plain join would hang) until all returned. */
void sf_run_threads(int n, void *(*fn)(void *), void *args, size_t size);

/* Collects async callbacks: the i-th caller's outcome goes in slot i. */
#define SF_PROBE_SLOTS 1000
typedef struct sf_probe {
    pthread_mutex_t lock;
    int calls;
    int status[SF_PROBE_SLOTS];
    goio_sharedflight_result *result[SF_PROBE_SLOTS]; /* released by free */
    bool shared[SF_PROBE_SLOTS];
    pthread_t thread[SF_PROBE_SLOTS];
} sf_probe;

sf_probe *sf_probe_new(void);
/* Releases the results received so far (and forgets them). */
void sf_probe_release(sf_probe *p);
void sf_probe_free(sf_probe *p);
int sf_probe_calls(sf_probe *p);
/* Waits up to 20 s for n callbacks in total. */
bool sf_probe_wait(sf_probe *p, int n);
/* goio_sharedflight_do_async with sf_work_fn on w, reporting to slot i. */
int sf_start(goio_sharedflight *g, const char *key, goio_ctx *ctx, sf_work *w,
             sf_probe *p, int i);

/*
 * What most tests start from (cmocka state, see sf_test): a default group,
 * a work function (w.group is the group) and a probe. Teardown frees the
 * group unless the test did (then it sets g to NULL), then the probe's
 * results, then w.
 */
typedef struct sf_fix {
    goio_sharedflight *g;
    sf_work w;
    sf_probe *p;
} sf_fix;

int sf_setup(void **state);
int sf_teardown(void **state);
#define sf_test(f) cmocka_unit_test_setup_teardown(f, sf_setup, sf_teardown)
/* Replaces the fixture's group with one made from cfg. */
void sf_fix_regroup(sf_fix *fx, const goio_sharedflight_config *cfg);
/* Frees the group now, for tests that look at what free did. */
void sf_fix_free_group(sf_fix *fx);

/* Threads in this process, from /proc/self/task. */
int sf_thread_count(void);
/* Waits (up to 5 s) for the count to reach n: the kernel drops an
 * exited thread a moment after pthread_join returns. */
bool sf_threads_become(int n);
/* The count before a test starts threads (after any runtime helper). */
int sf_thread_baseline(void);
/* Waits until `n` callers share key's flight. */
bool sf_wait_callers(goio_sharedflight *g, const char *key, size_t n);

#endif
