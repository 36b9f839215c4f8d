/* SPDX-License-Identifier: MIT */
/** @file
 * sharedflight: concurrent callers of one key share one run of fn (a
 * "flight") and its result; each caller gives up on its own ctx, and fn's
 * ctx is cancelled once all have. Thread-safe; results are immutable and
 * ref-counted. Semantics in detail: docs/sharedflight.md.
 */
#ifndef GOIO_SHAREDFLIGHT_H
#define GOIO_SHAREDFLIGHT_H

#include <goio/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A group of flights keyed by string (goio_sharedflight_new); safe for
 * concurrent use. */
typedef struct goio_sharedflight goio_sharedflight;

/** A flight's result: ref-counted, valid after the group is freed. */
typedef struct goio_sharedflight_result goio_sharedflight_result;

/** The work function: runs once per flight on the first caller's thread (a
 * worker for async) under the flight's ctx (NULL: never cancelled). It may
 * set *value (then owned by the result, freed by `destroy`); returns 0 or a
 * GOIO_E* code. Calling _do on its own key from fn is GOIO_EBUSY. */
typedef int (*goio_sharedflight_fn)(goio_ctx *ctx, void **value, void *data);
/** Frees a value fn set; called once, when the last reference goes. */
typedef void (*goio_sharedflight_destroy_fn)(void *value);

/** Settings of a group; goio_sharedflight_config_init fills the defaults. */
typedef struct goio_sharedflight_config {
    /** Async fns run at once (worker threads); default 8, minimum 1. */
    unsigned max_workers;
    /** Idle async threads exit after this long (ms); default 2000. */
    int64_t idle_ms;
} goio_sharedflight_config;

/** Fills the defaults above (NULL is a no-op). */
GOIO_EXTERN void goio_sharedflight_config_init(goio_sharedflight_config *cfg);

/** A new group (cfg NULL: defaults); starts no thread. GOIO_EINVAL,
 * GOIO_ENOMEM. */
GOIO_EXTERN int goio_sharedflight_new(const goio_sharedflight_config *cfg,
                                      goio_sharedflight **out);
/** Frees the group (no call in progress or following; not from fn or a
 * callback). Waiting async callers get GOIO_ECLOSED; running fns are
 * cancelled and awaited. Handed-out results stay valid. NULL is a no-op. */
GOIO_EXTERN void goio_sharedflight_free(goio_sharedflight *g);

/**
 * Joins (or starts, running fn here) the flight for `key` (non-empty,
 * copied). Returns fn's code with *result set to a reference to release, or
 * GOIO_ECANCELED/GOIO_ETIMEDOUT with *result NULL when ctx ended first.
 * *shared (may be NULL): the result went to more than one caller. Also
 * GOIO_EINVAL, GOIO_EBUSY (from fn of key's own flight), GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_sharedflight_do(goio_sharedflight *g, goio_ctx *ctx,
                                     const char *key, goio_sharedflight_fn fn,
                                     void *data,
                                     goio_sharedflight_destroy_fn destroy,
                                     goio_sharedflight_result **result,
                                     bool *shared);

/** Completion of goio_sharedflight_do_async: called exactly once per caller
 * with the status as for goio_sharedflight_do (result NULL when it gave up);
 * the callee must release `result`. Runs on the group's callback thread, one
 * at a time: keep it short, never call goio_sharedflight_do or _free in it. */
typedef void (*goio_sharedflight_cb)(int status,
                                     goio_sharedflight_result *result,
                                     bool shared, void *data);

/**
 * Like goio_sharedflight_do but never blocks: a new flight's fn runs on a
 * worker (at most cfg.max_workers at once) with fn_data, and cb(data) runs
 * when this caller's outcome is known (at once with the error when ctx ends
 * first). Returns 0 when cb is scheduled (then called exactly once), else
 * GOIO_EINVAL, the ctx's error on entry, GOIO_ENOMEM, GOIO_EAGAIN (no thread)
 * or GOIO_ECLOSED (during goio_sharedflight_free), without calling cb.
 */
GOIO_EXTERN int goio_sharedflight_do_async(goio_sharedflight *g, goio_ctx *ctx,
                                           const char *key,
                                           goio_sharedflight_fn fn,
                                           void *fn_data,
                                           goio_sharedflight_destroy_fn destroy,
                                           goio_sharedflight_cb cb, void *data);

/** The value fn produced (NULL if it set none, or for a NULL result). */
GOIO_EXTERN void *
goio_sharedflight_result_value(const goio_sharedflight_result *r);
/** Takes one more reference; returns r (NULL-safe). */
GOIO_EXTERN goio_sharedflight_result *
goio_sharedflight_result_ref(goio_sharedflight_result *r);
/** Releases one reference; the last one destroys the value. NULL-safe. */
GOIO_EXTERN void goio_sharedflight_result_unref(goio_sharedflight_result *r);

/** Detaches key's current flight: later callers start a new one, waiting
 * callers keep the old result. 0 also when none; GOIO_EINVAL. */
GOIO_EXTERN int goio_sharedflight_forget(goio_sharedflight *g, const char *key);

/** Number of flights in progress, including forgotten or abandoned ones
 * whose fn has not returned yet (for tests and metrics). 0 for NULL. */
GOIO_EXTERN size_t goio_sharedflight_inflight(goio_sharedflight *g);

/** *n = callers waiting for key's current flight (0: none); for tests and
 * metrics. GOIO_EINVAL for NULLs or an empty key. */
GOIO_EXTERN int goio_sharedflight_callers(goio_sharedflight *g, const char *key,
                                          size_t *n);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_SHAREDFLIGHT_H */
