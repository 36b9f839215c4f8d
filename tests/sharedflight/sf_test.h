/*
 * Helpers for the sharedflight tests: a controllable work function, caller
 * threads, and a thread counter.
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
int sf_work_fn(goio_ctx *ctx, void *arg, void **value);
void sf_destroy_value(void *value);

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
/* Waits (with a deadline: fails the test) for the call to return. */
void sf_call_join(sf_call *c);

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
