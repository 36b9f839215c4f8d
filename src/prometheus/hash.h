/* SPDX-License-Identifier: MIT */
/*
 * The hash of label values, inline: it runs on every child lookup.
 */
#ifndef GOIO_PROM_HASH_H
#define GOIO_PROM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A seeded hash of a tuple of strings. Each value is hashed on its own,
 * keyed by the seed and its position, 16 bytes per 64x64->128-bit
 * multiply with the halves folded; the values' hashes are then XORed and
 * mixed once more. The per-value multiplies do not depend on each other,
 * so the CPU runs them in parallel: that is most of a lookup's cost. Each
 * value's length goes in with its bytes, so ("ab","c") and ("a","bc")
 * differ, and the position key keeps ("a","b") and ("b","a") apart.
 */
#define GOIO__PROM_K1 0xa0761d6478bd642full
#define GOIO__PROM_K2 0xe7037ed1a0b428dbull
#define GOIO__PROM_K3 0x8ebc6af09c88c6e3ull

static inline uint64_t goio__prom_mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t goio__prom_rd8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t goio__prom_rd4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * Two words that encode a value of up to 16 bytes exactly (given its
 * length): overlapping loads, reading only p[0..len). Longer values give
 * their last 16 bytes. Lookups compare these instead of the bytes.
 */
static inline void goio__prom_words(const char *p, size_t len, uint64_t *w)
{
    uint64_t a = 0, b = 0;
    if (len >= 16) {
        a = goio__prom_rd8(p + len - 16);
        b = goio__prom_rd8(p + len - 8);
    } else if (len >= 8) {
        a = goio__prom_rd8(p);
        b = goio__prom_rd8(p + len - 8);
    } else if (len >= 4) {
        a = goio__prom_rd4(p);
        b = goio__prom_rd4(p + len - 4);
    } else if (len > 0) {
        a = ((uint64_t)(unsigned char)p[0] << 16) |
            ((uint64_t)(unsigned char)p[len / 2] << 8) |
            (unsigned char)p[len - 1];
    }
    w[0] = a;
    w[1] = b;
}

/* One value's hash under key k, from its words (and, past 16 bytes, the
 * bytes before the last 16). */
static inline uint64_t goio__prom_hash_one(uint64_t k, const char *p,
                                           size_t len, const uint64_t *w)
{
    for (; len > 16; p += 16, len -= 16)
        k = goio__prom_mum(goio__prom_rd8(p) ^ GOIO__PROM_K1,
                           goio__prom_rd8(p + 8) ^ k);
    return goio__prom_mum(w[0] ^ GOIO__PROM_K1 ^ len, w[1] ^ k);
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
        h ^= goio__prom_hash_one(seed + (i + 1) * GOIO__PROM_K3, vals[i],
                                 lens[i], words + 2 * i);
    }
    return goio__prom_mum(h ^ GOIO__PROM_K3, h ^ GOIO__PROM_K2 ^ seed);
}

#endif
