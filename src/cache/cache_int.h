/*
 * cache internals shared by the files of src/cache/.
 */
#ifndef GOIO_CACHE_INT_H
#define GOIO_CACHE_INT_H

#include <goio/cache.h>

/* The generic get_or_set (cache.c), for caches without their own. */
int goio__cache_default_get_or_set(goio_cache *c, const char *key,
                                   int64_t ttl_ms, goio_cache_fetch_fn fetch,
                                   void *arg, goio_ctx *ctx, goio_buf *out,
                                   goio_cache_source *source);

/* Logs a storage read error that is treated as a miss. */
void goio__cache_log_read_error(const char *key, int rc);

/* Envelope helpers (envelope.c). */
int goio__cache_envelope_unwrap(goio_buf *b, int64_t *fresh_until_ms);
void goio__cache_log_bad_envelope(const char *key, int rc);
int64_t goio__cache_fresh_until(int64_t ttl_ms);

#endif
