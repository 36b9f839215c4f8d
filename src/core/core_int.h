/* SPDX-License-Identifier: MIT */
/*
 * core's internals shared with its tests (never in a public header).
 */
#ifndef GOIO_CORE_INT_H
#define GOIO_CORE_INT_H

#include <goio/core.h>

/* How many threads are blocked in goio_ctx_wait on ctx itself (read under
 * its lock, so every thread counted is inside the wait). */
int goio__core_ctx_waiters(goio_ctx *ctx);

#endif
