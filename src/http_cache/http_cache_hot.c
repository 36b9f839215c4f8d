/* SPDX-License-Identifier: MIT */
/*
 * Hot bodies: copies of the separate bodies (over 16 KiB) this client
 * stored, kept in process memory (config.hot_body_bytes) so that a fresh
 * hit on one skips the storage read and its copy: the response points at
 * a reference-counted blob. A body entry is immutable (a new response
 * gets a new random id), so the blob is the same bytes storage holds; it
 * is reached only through a response entry read from storage that names
 * its id and length, and it expires when the body entry's TTL ends.
 *
 * A direct-mapped table (the id picks the slot, a newcomer replaces the
 * occupant) under one mutex held for a slot's lookup or swap; blobs are
 * copied and freed outside it.
 */
#include "http_cache_int.h"

#include <string.h>

#define HOT_SLOTS 1024u

struct goio__hc_blob {
    _Atomic size_t refs;
    uint64_t id;
    size_t len;
    int64_t expires_ms;
    uint8_t data[];
};

struct goio__hc_hot {
    pthread_mutex_t mu;
    size_t max_bytes, bytes;
    goio__hc_blob *slot[HOT_SLOTS];
};

const uint8_t *goio__hc_blob_data(const goio__hc_blob *b)
{
    return b->data;
}

bool goio__hc_blob_is(const goio__hc_blob *b, uint64_t id, size_t len)
{
    return b && b->id == id && b->len == len;
}

void goio__hc_blob_unref(goio__hc_blob *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        goio_free(b);
}

int goio__hc_hot_new(size_t max_bytes, goio__hc_hot **out)
{
    *out = NULL;
    if (!max_bytes)
        return 0;
    goio__hc_hot *h = goio_calloc(1, sizeof *h);
    if (!h)
        return GOIO_ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    h->max_bytes = max_bytes;
    *out = h;
    return 0;
}

void goio__hc_hot_free(goio__hc_hot *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < HOT_SLOTS; i++)
        goio__hc_blob_unref(h->slot[i]);
    pthread_mutex_destroy(&h->mu);
    goio_free(h);
}

static goio__hc_blob **slot_of(goio__hc_hot *h, uint64_t id)
{
    /* ids are random: any bits will do */
    return &h->slot[(id ^ (id >> 32)) % HOT_SLOTS];
}

/* Takes the slot's blob out (under the lock); the caller unrefs it
 * outside. */
static goio__hc_blob *take(goio__hc_hot *h, goio__hc_blob **s)
{
    goio__hc_blob *old = *s;
    if (old) {
        h->bytes -= old->len;
        *s = NULL;
    }
    return old;
}

void goio__hc_hot_put(goio__hc_hot *h, uint64_t id, const uint8_t *body,
                      size_t len, int64_t expires_ms)
{
    if (!h || len > h->max_bytes)
        return;
    goio__hc_blob *b = goio_malloc(sizeof *b + len);
    if (!b)
        return; /* only a hit that will read storage */
    atomic_init(&b->refs, 1);
    b->id = id;
    b->len = len;
    b->expires_ms = expires_ms;
    memcpy(b->data, body, len);
    pthread_mutex_lock(&h->mu);
    goio__hc_blob **s = slot_of(h, id);
    goio__hc_blob *old = take(h, s);
    if (h->bytes + len <= h->max_bytes) {
        *s = b;
        h->bytes += len;
        b = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    goio__hc_blob_unref(old);
    goio__hc_blob_unref(b); /* no room: others keep theirs */
}

goio__hc_blob *goio__hc_hot_get(goio__hc_hot *h, uint64_t id, size_t len,
                                int64_t now_ms)
{
    if (!h)
        return NULL;
    goio__hc_blob *b = NULL, *old = NULL;
    pthread_mutex_lock(&h->mu);
    goio__hc_blob **s = slot_of(h, id);
    if (goio__hc_blob_is(*s, id, len)) {
        if (now_ms >= (*s)->expires_ms) {
            old = take(h, s);
        } else {
            b = *s;
            atomic_fetch_add(&b->refs, 1);
        }
    }
    pthread_mutex_unlock(&h->mu);
    goio__hc_blob_unref(old);
    return b;
}

void goio__hc_hot_drop(goio__hc_hot *h, uint64_t id)
{
    if (!h)
        return;
    goio__hc_blob *old = NULL;
    pthread_mutex_lock(&h->mu);
    goio__hc_blob **s = slot_of(h, id);
    if (*s && (*s)->id == id)
        old = take(h, s);
    pthread_mutex_unlock(&h->mu);
    goio__hc_blob_unref(old);
}

size_t goio__hc_hot_bytes(goio__hc_hot *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->mu);
    size_t n = h->bytes;
    pthread_mutex_unlock(&h->mu);
    return n;
}
