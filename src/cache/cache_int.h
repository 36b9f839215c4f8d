/* SPDX-License-Identifier: MIT */
/*
 * cache internals shared by the files of src/cache/.
 */
#ifndef GOIO_CACHE_INT_H
#define GOIO_CACHE_INT_H

#include <goio/cache.h>

#include <string.h>

/* A valid key's length, 0 for an invalid key (NULL, empty, longer than
 * GOIO_CACHE_MAX_KEY). */
static inline size_t goio__cache_key_len(const char *key)
{
    if (!key)
        return 0;
    size_t n = strnlen(key, GOIO_CACHE_MAX_KEY + 1);
    return n <= GOIO_CACHE_MAX_KEY ? n : 0;
}

/* The memory cache's ops, and its get and set as goio_cache_get and
 * goio_cache_set call them for a memory cache: the get checks its
 * arguments itself (one frame less on the hottest path), the set takes
 * the length of the key its caller checked. */
extern const goio_cache_ops goio__cache_memory_ops;
int goio__mc_get(goio_cache *c, goio_ctx *ctx, const char *key, goio_buf *out,
                 bool *hit);
int goio__mc_set(goio_cache *c, const char *key, size_t klen, const void *value,
                 size_t len, int64_t ttl_ms);

/* The generic get_or_set (cache.c), for caches without their own. */
int goio__cache_default_get_or_set(goio_cache *c, goio_ctx *ctx,
                                   const char *key, int64_t ttl_ms,
                                   goio_cache_fetch_fn fetch, void *data,
                                   goio_buf *out, goio_cache_source *source);

/*
 * A get_or_set flight (the generic one in cache.c, the stale wrapper's):
 * one caller's request (the flight runs with the first caller's) and what
 * the flight hands every caller.
 */
typedef struct goio__cache_job goio__cache_job;
struct goio__cache_job {
    goio_cache *c;
    const char *key;
    int64_t ttl_ms;
    goio_cache_fetch_fn fetch;
    void *data;
    /* The flight's second look: whether a value stored since this
     * caller's miss is there to serve (then in *out). */
    bool (*reread)(goio__cache_job *j, goio_ctx *ctx, goio_buf *out);
    bool ran; /* this caller's thread ran the flight */
    /* goio__cache_gen_load before this caller's first read: the flight
     * re-reads only when a flight of a key of the same slot has stored a
     * value since (a store it could have missed). */
    uint64_t gen;
};

/* The completed-store count of key's slot (acquire). */
uint64_t goio__cache_gen_load(goio_cache *c, const char *key);

typedef struct goio__cache_value {
    goio_buf buf;
    bool hit; /* the re-read found the value: nothing was fetched */
} goio__cache_value;

/*
 * The flight (a goio_sharedflight_fn over a goio__cache_job): the job's
 * re-read, else its fetch, whose value is stored with the cache's own set
 * op (a failed store is logged, the value still returned). Fails with the
 * fetch's negative code, GOIO_EFETCH for a positive one.
 */
int goio__cache_flight(goio_ctx *ctx, void **value, void *data);
/* Frees a goio__cache_value (the flight's destroy function). */
void goio__cache_value_free(void *p);
/* How this caller got a finished flight's value. */
goio_cache_source goio__cache_job_source(const goio__cache_job *j,
                                         const goio__cache_value *v);

/* The storage under a stale wrapper (NULL when c is not one). */
goio_cache *goio__cache_stale_storage(goio_cache *c);

/* Logs a storage read error that is treated as a miss. */
void goio__cache_log_read_error(const char *key, int rc);

/* goio_cache._wire: the goio_cache_wire in the low byte, and this flag. */
#define GOIO__CACHE_RAW_BYTES 0x100u

/* Envelope helpers (envelope.c). */
int goio__cache_envelope_unwrap(goio_buf *b, int64_t *fresh_until_ms);
void goio__cache_log_bad_envelope(const char *key, int rc);
int64_t goio__cache_fresh_until(int64_t ttl_ms);

/*
 * go-io's envelope (wire GO_IO). Unwraps the JSON envelope held in b in
 * place (b keeps the Value's JSON text); *left_ms: the fresh time left on
 * the wall clock (<= 0: stale), saturating. GOIO_EBADMSG / GOIO_ETYPE for
 * bytes that are not one, GOIO_ENOMEM.
 */
int goio__cache_wire_unwrap(goio_buf *b, int64_t *left_ms);
/* Appends json[0..len) compacted (as Go marshals a json.RawMessage);
 * GOIO_EINVAL when it is not one JSON value. */
int goio__cache_wire_compact(goio_buf *out, const void *json, size_t len);
/* Appends {"FreshUntil":"<now + ttl_ms>","Value":<json>}; json must be
 * compact JSON (goio__cache_wire_compact). */
int goio__cache_wire_envelope(goio_buf *out, int64_t ttl_ms, const void *json,
                              size_t len);

#endif
