/*
 * sharedflight: one execution per key, a shared result, shared
 * cancellation.
 *
 * Concurrent callers of goio_sharedflight_do with the same key share one
 * execution of the work function (a "flight") and its result. The flight
 * runs under its own ctx, which stays live while at least one waiting
 * caller's ctx is live and is cancelled once every caller has given up;
 * its deadline is the latest deadline among the live callers.
 *
 * A group is safe for concurrent use by any number of threads.
 */
#ifndef GOIO_SHAREDFLIGHT_H
#define GOIO_SHAREDFLIGHT_H

#include <goio/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct goio_sharedflight goio_sharedflight;

/* A flight's result: reference counted, shared by every caller of one
 * flight. */
typedef struct goio_sharedflight_result goio_sharedflight_result;

/*
 * The work function. Runs once per flight, on the first caller's thread
 * (or a worker for the async form), under the flight's ctx. It may set
 * *value (owned by the result from then on, freed by `destroy`) and
 * returns 0 or a negative GOIO_E* code; value and code both reach every
 * caller.
 */
typedef int (*goio_sharedflight_fn)(goio_ctx *ctx, void *arg, void **value);
typedef void (*goio_sharedflight_destroy_fn)(void *value);

GOIO_EXTERN int goio_sharedflight_new(goio_sharedflight **out);
/* Frees the group. No call may be in flight. NULL is a no-op. */
GOIO_EXTERN void goio_sharedflight_free(goio_sharedflight *g);

/*
 * Joins the flight for `key`, starting one (running fn on this thread)
 * if there is none. On return:
 *  - the flight finished: returns fn's code and sets *result to a
 *    reference the caller must release (even when the code is an error);
 *  - this caller gave up first (its ctx was cancelled or its deadline
 *    passed): returns GOIO_ECANCELED or GOIO_ETIMEDOUT, *result = NULL.
 * *shared (may be NULL) tells whether the result went to more than one
 * caller. `destroy` frees the value when the last reference goes (may be
 * NULL). GOIO_EINVAL for NULL group/key/fn/result or an empty key.
 */
GOIO_EXTERN int goio_sharedflight_do(goio_sharedflight *g, const char *key,
                                     goio_ctx *ctx, goio_sharedflight_fn fn,
                                     void *arg,
                                     goio_sharedflight_destroy_fn destroy,
                                     goio_sharedflight_result **result,
                                     bool *shared);

/*
 * Called once per async caller when its flight finished or it gave up
 * (status as for goio_sharedflight_do; result NULL when it gave up). The
 * callee owns the reference in `result`. Runs on a goio worker thread.
 */
typedef void (*goio_sharedflight_cb)(int status,
                                     goio_sharedflight_result *result,
                                     bool shared, void *data);

/*
 * Like goio_sharedflight_do, but never blocks: a new flight's fn runs on a
 * worker thread and `cb` is called when it is done. Returns 0 when the
 * callback has been scheduled (it is then always called exactly once),
 * or an error without ever calling it.
 */
GOIO_EXTERN int goio_sharedflight_do_async(
    goio_sharedflight *g, const char *key, goio_ctx *ctx,
    goio_sharedflight_fn fn, void *arg, goio_sharedflight_destroy_fn destroy,
    goio_sharedflight_cb cb, void *data);

/* The value fn produced (NULL if it set none). */
GOIO_EXTERN void *goio_sharedflight_value(const goio_sharedflight_result *r);
/* Takes one more reference. */
GOIO_EXTERN goio_sharedflight_result *
goio_sharedflight_result_ref(goio_sharedflight_result *r);
/* Releases one reference; the last one destroys the value. NULL-safe. */
GOIO_EXTERN void goio_sharedflight_result_release(goio_sharedflight_result *r);

/*
 * Detaches the current flight for key (if any): callers that arrive
 * afterwards start a new flight; callers already waiting still get the old
 * flight's result. GOIO_EINVAL for NULL arguments.
 */
GOIO_EXTERN int goio_sharedflight_forget(goio_sharedflight *g,
                                         const char *key);

/* Number of flights in progress (for tests and metrics). */
GOIO_EXTERN size_t goio_sharedflight_inflight(goio_sharedflight *g);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_SHAREDFLIGHT_H */
