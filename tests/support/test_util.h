/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by goio's tests. cmocka must be included after the usual
 * headers, so this header pulls in what cmocka needs, then cmocka.
 */
#ifndef GOIO_TEST_UTIL_H
#define GOIO_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include <goio/core.h>

/* Asserts that a goio call returned `expect`, printing names on failure. */
#define assert_goio(expect, call)                                              \
    do {                                                                       \
        int goio_rc_ = (call);                                                 \
        if (goio_rc_ != (expect))                                              \
            fail_msg("%s returned %s (%d), expected %s", #call,                \
                     goio_err_name(goio_rc_), goio_rc_,                        \
                     goio_err_name(expect));                                   \
    } while (0)
#define assert_ok(call) assert_goio(0, call)

/*
 * Polls pred(arg) every millisecond or so until it returns true or
 * timeout_ms passes. Returns whether it became true. For conditions a
 * test cannot be signalled about (a server's state, a counter).
 */
bool goio_test_wait_until(bool (*pred)(void *arg), void *arg,
                          int64_t timeout_ms);
/* Same, for an expression: WAIT_UNTIL(x > 3, 1000) evaluates to a bool. */
#define GOIO_WAIT_UNTIL(expr, timeout_ms)                                      \
    ({                                                                         \
        int64_t end_ = goio_now_mono_ms() + (timeout_ms);                      \
        bool ok_;                                                              \
        while (!(ok_ = (expr)) && goio_now_mono_ms() < end_)                   \
            goio_test_sleep_ms(1);                                             \
        ok_;                                                                   \
    })

void goio_test_sleep_ms(int64_t ms);

/*
 * Turns core's log rate limit off (on = true: the sink sees every record)
 * or back on, keeping the other log settings. Every test binary that links
 * test_util.c starts with it off, since tests count records; a test of the
 * limit itself sets its own goio_log_config.
 */
void goio_test_log_every_record(bool on);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int goio_test_free_port(void);

/* A fresh directory under $GOIO_TEST_TMP (or /tmp); caller frees the path
 * with goio_free. goio_test_rm_rf removes a tree. */
char *goio_test_mkdtemp(const char *prefix);
int goio_test_rm_rf(const char *path);

/* Writes/reads a whole file; read returns goio_malloc'd bytes. */
int goio_test_write_file(const char *path, const void *data, size_t len);
uint8_t *goio_test_read_file(const char *path, size_t *len);

/* Runs a shell command, returns its exit status (or -1). */
int goio_test_system(const char *fmt, ...) GOIO_PRINTF(1, 2);
/* Runs a shell command and captures stdout (goio_malloc'd, NUL-ended). */
char *goio_test_capture(int *status, const char *fmt, ...) GOIO_PRINTF(2, 3);

/* ---- allocation failure injection (test_alloc.c) ---- */

/*
 * Installs a counting allocator in front of the C library's. Every
 * allocation through goio is counted; goio_test_alloc_fail_at(n) makes the
 * n-th allocation from now (1-based) and every later one fail until reset
 * (fail_at(0) disables). outstanding() is allocations minus frees since
 * install, for leak checks.
 */
void goio_test_alloc_install(void);
void goio_test_alloc_fail_at(long n);
long goio_test_alloc_outstanding(void);
long goio_test_alloc_count(void);

/*
 * Runs op(arg) once with nothing failing (it must return 0) to count the
 * allocation calls it makes, N; then N more times, failing the 1st, 2nd,
 * ..., N-th call (and every later one) in turn. Each failing run must
 * return GOIO_ENOMEM, reach its failure point (an op that allocates
 * differently from run to run fails the test) and leak nothing after
 * cleanup(arg) (all asserted). Returns N: callers assert it.
 */
int goio_test_alloc_torture(int (*op)(void *arg), void (*cleanup)(void *arg),
                            void *arg);
/* goio_test_alloc_torture with leeway, for ops that need it:
 * ABSORBS: a run may return 0 although its failure fired (e.g. a cache
 *   fill that is only logged);
 * VARIES: the op allocates differently from run to run (a background
 *   thread's timing): a run that never reached its failure point must
 *   return 0.
 * out (may be NULL) gets the counts; returns points. */
enum { GOIO_TEST_TORTURE_ABSORBS = 1, GOIO_TEST_TORTURE_VARIES = 2 };
typedef struct goio_test_torture {
    long points;    /* allocation calls in the clean run: runs made */
    long absorbed;  /* runs that returned 0 with their failure fired */
    long unreached; /* runs whose failure point was never reached */
} goio_test_torture;
int goio_test_alloc_torture_ex(int (*op)(void *arg), void (*cleanup)(void *arg),
                               void *arg, unsigned flags,
                               goio_test_torture *out);

#endif
