/* SPDX-License-Identifier: MIT */
/*
 * The hash of label values, inline: it runs on every child lookup.
 */
#ifndef GOIO_PROM_HASH_H
#define GOIO_PROM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../core/hash_int.h"

/*
 * A seeded hash of a tuple of strings. Each value is hashed on its own,
 * keyed by the seed and its position, 16 bytes per 64x64->128-bit
 * multiply with the halves folded; the values' hashes are then XORed and
 * mixed once more. The per-value multiplies do not depend on each other,
 * so the CPU runs them in parallel: that is most of a lookup's cost. Each
 * value's length goes in with its bytes, so ("ab","c") and ("a","bc")
 * differ, and the position key keeps ("a","b") and ("b","a") apart. The
 * multiply, loads and short-value words are goio_hash64's (core).
 */
/*
 * Two words that encode a value of up to 16 bytes exactly (given its
 * length), reading only p[0..len); longer values give their last 16
 * bytes. Lookups compare these instead of the bytes.
 */
static inline void goio__prom_words(const char *p, size_t len, uint64_t *w)
{
    const unsigned char *u = (const unsigned char *)p;
    if (len >= 16) {
        w[0] = goio__hash_load64(u + len - 16);
        w[1] = goio__hash_load64(u + len - 8);
    } else {
        goio__hash_tail(u, len, &w[0], &w[1]);
    }
}

/* One value's hash under key k, from its words (and, past 16 bytes, the
 * bytes before the last 16). */
static inline uint64_t goio__prom_hash_one(uint64_t k, const char *p,
                                           size_t len, const uint64_t *w)
{
    for (; len > 16; p += 16, len -= 16)
        k = goio__hash_mix(goio__hash_load64((const unsigned char *)p) ^
                               GOIO__HASH_K0,
                           goio__hash_load64((const unsigned char *)p + 8) ^ k);
    return goio__hash_mix(w[0] ^ GOIO__HASH_K0 ^ len, w[1] ^ k);
}

/* Fills words[2n] and returns the tuple's hash. */
static inline uint64_t goio__prom_hash_values(uint64_t seed,
                                              const char *const *vals,
                                              const uint32_t *lens, size_t n,
                                              uint64_t *words)
{
    uint64_t h = seed ^ n;
    for (size_t i = 0; i < n; i++) {
        goio__prom_words(vals[i], lens[i], words + 2 * i);
        h ^= goio__prom_hash_one(seed + (i + 1) * GOIO__HASH_K2, vals[i],
                                 lens[i], words + 2 * i);
    }
    return goio__hash_mix(h ^ GOIO__HASH_K2, h ^ GOIO__HASH_K1 ^ seed);
}

#endif
