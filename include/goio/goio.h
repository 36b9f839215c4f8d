/* SPDX-License-Identifier: MIT */
/** @file
 * goio: building blocks for C services (caches, Redis, I/O, archives,
 * HTTP, metrics). This umbrella header includes every module's header;
 * include the per-module headers instead to keep builds lean.
 */
#ifndef GOIO_GOIO_H
#define GOIO_GOIO_H

#include <goio/core.h>
#include <goio/reflext.h>
#include <goio/sharedflight.h>
#include <goio/cache.h>
#include <goio/http_cache.h>
#include <goio/redis.h>
#include <goio/pubsub.h>
#include <goio/ioext.h>
#include <goio/http.h>
#include <goio/prometheus.h>

#endif /* GOIO_GOIO_H */
