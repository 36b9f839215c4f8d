/*
 * sharedflight: one execution per key, a shared result, shared
 * cancellation.
 *
 * Concurrent callers of goio_sharedflight_do with the same key share one
 * execution of the work function (a "flight") and its result. The first
 * caller runs fn on its own thread; callers arriving while it runs wait
 * and receive the same result and return code.
 *
 * Cancellation. Each caller may give up on its own ctx: a waiting caller
 * whose ctx is cancelled or whose deadline passes returns GOIO_ECANCELED
 * or GOIO_ETIMEDOUT at once, without waiting for fn. The flight runs under
 * its own ctx (the "shared ctx", one per flight, never reused): its
 * deadline is the latest deadline among the callers still waiting (none
 * if any of them has none), and it is cancelled once every caller has
 * given up, so fn can stop early. The first caller, whose thread runs fn,
 * counts as given up once its ctx is done, but returns only when fn does.
 *
 * A caller that arrives after every earlier caller gave up (or after the
 * shared ctx's deadline passed) but before fn returned is never handed
 * that dead ctx: it starts a fresh flight, and the doomed one finishes
 * unseen. When the first caller's ctx is NULL the flight can never be
 * cancelled, and fn receives a NULL ctx (every goio call accepts one).
 *
 * A caller's deadline is read when it joins; moving it afterwards
 * (goio_ctx_set_deadline, on its ctx or a parent) never changes the shared
 * ctx's deadline. Moved later, the caller gives up later. Moved earlier,
 * it is noticed only when the deadline read at join passes or the flight
 * finishes, whichever comes first (the caller then gets GOIO_ETIMEDOUT):
 * core tells nobody when a deadline moves. To give a caller up at once,
 * cancel its ctx.
 *
 * Outcomes. When fn returns, each caller still waiting gets fn's code and
 * a reference to the result, except a caller whose own ctx is done by then,
 * which gets its ctx's error instead (so does the first caller). A finished
 * flight leaves nothing behind: no table entry, no thread, no ctx.
 *
 * If fn ends its thread instead of returning (pthread_exit, thread
 * cancellation, a C++ exception), the flight is still published, with
 * GOIO_ECANCELED and no value, and an ERROR record "flight_abandoned" is
 * logged: waiters never hang.
 *
 * Thread-safety: a group is safe for concurrent use by any number of
 * threads; results are immutable once published and their references may
 * be taken and released from any thread.
 */
#ifndef GOIO_SHAREDFLIGHT_H
#define GOIO_SHAREDFLIGHT_H

#include <goio/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct goio_sharedflight goio_sharedflight;

/*
 * A flight's result: fn's value, reference counted, shared by every
 * caller that received it. It stays valid after the group is freed.
 */
typedef struct goio_sharedflight_result goio_sharedflight_result;

/*
 * The work function. Runs once per flight, on the first caller's thread
 * (on a worker for the async form), under the flight's ctx (NULL when the
 * flight can never be cancelled). It may set *value (from then on owned by
 * the result and freed by `destroy`, even when no caller receives it) and
 * returns 0 or a negative GOIO_E* code; value and code both reach every
 * caller. The fn, data and destroy of the caller that starts a flight are
 * used; a joining caller's are ignored, so callers of one key should pass
 * equivalent ones. fn may call into the group (other keys, or the same key
 * after goio_sharedflight_forget); goio_sharedflight_do on its own flight's
 * key returns GOIO_EBUSY instead of waiting for itself forever.
 */
typedef int (*goio_sharedflight_fn)(goio_ctx *ctx, void **value, void *data);
/* Frees a value fn set; called once, when the last reference goes. */
typedef void (*goio_sharedflight_destroy_fn)(void *value);

/* Settings of a group; goio_sharedflight_config_init fills the defaults. */
typedef struct goio_sharedflight_config {
    /* Most fns the async form runs at once (worker threads); later async
     * flights wait for a worker in arrival order. Default 8, minimum 1. */
    unsigned max_workers;
    /* An async thread (worker or callback thread) with nothing to do for
     * this long exits; the next async call starts it again. Default 2000. */
    int64_t idle_ms;
} goio_sharedflight_config;

GOIO_EXTERN void goio_sharedflight_config_init(goio_sharedflight_config *cfg);

/*
 * A new group with `cfg` (NULL: the defaults). Starts no thread: the async
 * form's threads start on first use. GOIO_EINVAL for NULL out or a bad
 * config, GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_sharedflight_new(const goio_sharedflight_config *cfg,
                                      goio_sharedflight **out);
/*
 * Frees the group. No goio_sharedflight_do call may be in progress and no
 * other call may start. Async callers still waiting get their callback
 * with GOIO_ECLOSED; free then waits for fns still running on workers
 * (their ctx is cancelled, since nobody waits for them any more) and
 * joins every thread the group started. Must not be called from fn or a
 * callback. Results already handed out stay valid. NULL is a no-op.
 */
GOIO_EXTERN void goio_sharedflight_free(goio_sharedflight *g);

/*
 * Joins the flight for `key` (any non-empty string, copied), starting one
 * and running fn on this thread if there is none. On return:
 *  - the flight finished: returns fn's code and sets *result to a
 *    reference the caller must release, even when the code is an error
 *    (the value is whatever fn set, maybe NULL);
 *  - this caller's ctx was done first (cancelled, or its deadline passed):
 *    returns GOIO_ECANCELED or GOIO_ETIMEDOUT, *result = NULL. A ctx that
 *    is done on entry returns at once, starting and joining nothing.
 * *shared (may be NULL) tells whether the result went to more than one
 * caller. `destroy` frees the value when the last reference goes (may be
 * NULL). GOIO_EINVAL for NULL group/key/fn/result or an empty key,
 * GOIO_EBUSY when called from the fn of key's own current flight,
 * GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_sharedflight_do(goio_sharedflight *g, goio_ctx *ctx,
                                     const char *key, goio_sharedflight_fn fn,
                                     void *data,
                                     goio_sharedflight_destroy_fn destroy,
                                     goio_sharedflight_result **result,
                                     bool *shared);

/*
 * Called exactly once per async caller when its flight finished or it gave
 * up (status as for goio_sharedflight_do; result NULL when it gave up).
 * The callee owns the reference in `result` and must release it.
 *
 * Callbacks run one at a time, in the order their outcomes were decided,
 * on the group's callback thread (never on the caller's thread, never
 * inside goio_sharedflight_do_async): keep them short, e.g. hand the
 * result to an event loop (uv_async_send). A callback may call any group
 * function except goio_sharedflight_free; it must not block on the group
 * (goio_sharedflight_do), which would hold up every other callback.
 */
typedef void (*goio_sharedflight_cb)(int status,
                                     goio_sharedflight_result *result,
                                     bool shared, void *data);

/*
 * Like goio_sharedflight_do, but never blocks: a new flight's fn runs on
 * one of the group's worker threads (at most cfg.max_workers at once; an
 * async fn that blocks until another async flight of the group finishes
 * can therefore wait forever when every worker does the same) and
 * `cb` is called (with `data`) when the caller's outcome is known; fn
 * gets fn_data. The caller gives up
 * when ctx is cancelled or its deadline passes (the callback then comes
 * at once with the error). Sync and async callers of a key share flights.
 *
 * Returns 0 when the callback has been scheduled (it is then always called
 * exactly once, even if the flight fails to start), or an error without
 * ever calling it: GOIO_EINVAL (NULL group/key/fn/cb, empty key), the
 * ctx's error when it is done on entry, GOIO_ENOMEM, GOIO_EAGAIN (no
 * thread could be started), GOIO_ECLOSED (called from a callback or an
 * fn while goio_sharedflight_free runs).
 */
GOIO_EXTERN int goio_sharedflight_do_async(goio_sharedflight *g, goio_ctx *ctx,
                                           const char *key,
                                           goio_sharedflight_fn fn,
                                           void *fn_data,
                                           goio_sharedflight_destroy_fn destroy,
                                           goio_sharedflight_cb cb, void *data);

/* The value fn produced (NULL if it set none, or for a NULL result). */
GOIO_EXTERN void *
goio_sharedflight_result_value(const goio_sharedflight_result *r);
/* Takes one more reference; returns r (NULL-safe). */
GOIO_EXTERN goio_sharedflight_result *
goio_sharedflight_result_ref(goio_sharedflight_result *r);
/* Releases one reference; the last one destroys the value. NULL-safe. */
GOIO_EXTERN void goio_sharedflight_result_unref(goio_sharedflight_result *r);

/*
 * Detaches the current flight for key (if any): callers that arrive
 * afterwards start a new flight; callers already waiting still get the old
 * flight's result, and the old flight, when it finishes, never touches the
 * newer one. 0 also when there is no flight. GOIO_EINVAL for NULL
 * arguments or an empty key.
 */
GOIO_EXTERN int goio_sharedflight_forget(goio_sharedflight *g, const char *key);

/* Number of flights in progress, including forgotten or abandoned ones
 * whose fn has not returned yet (for tests and metrics). 0 for NULL. */
GOIO_EXTERN size_t goio_sharedflight_inflight(goio_sharedflight *g);

/*
 * How many callers (including the first) are waiting for the current
 * flight of key: 0 when there is none. For tests and metrics.
 * GOIO_EINVAL for NULL arguments or an empty key.
 */
GOIO_EXTERN int goio_sharedflight_callers(goio_sharedflight *g, const char *key,
                                          size_t *n);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_SHAREDFLIGHT_H */
