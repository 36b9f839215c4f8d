/*
 * goio: building blocks for C services (caches, Redis, I/O, archives,
 * HTTP, metrics). This umbrella header includes every module's header;
 * include the per-module headers instead to keep builds lean.
 */
#ifndef GOIO_GOIO_H
#define GOIO_GOIO_H

#include <goio/core.h>
#include <goio/reflext.h>

#endif /* GOIO_GOIO_H */
