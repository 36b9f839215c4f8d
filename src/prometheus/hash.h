/*
 * The hash of label values, inline: it runs on every child lookup.
 */
#ifndef GOIO_PROM_HASH_H
#define GOIO_PROM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A seeded hash of a tuple of strings, 16 bytes per 64x64->128-bit
 * multiply (the high and low halves folded): one multiply per short label
 * value, which keeps lookups cheap. Each value's length goes in with its
 * bytes, so ("ab","c") and ("a","bc") differ.
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

/* Folds one value into h; reads only p[0..len). */
static inline uint64_t goio__prom_hash_one(uint64_t h, const char *p,
                                           size_t len)
{
    uint64_t a = 0, b = 0;
    if (len > 16) {
        size_t left = len;
        for (; left > 16; p += 16, left -= 16)
            h = goio__prom_mum(goio__prom_rd8(p) ^ GOIO__PROM_K1,
                               goio__prom_rd8(p + 8) ^ h);
        a = goio__prom_rd8(p + left - 16);
        b = goio__prom_rd8(p + left - 8);
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
    return goio__prom_mum(a ^ GOIO__PROM_K1 ^ len, b ^ h ^ GOIO__PROM_K2);
}

static inline uint64_t goio__prom_hash_values(uint64_t seed,
                                              const char *const *vals,
                                              const uint32_t *lens, size_t n)
{
    uint64_t h = seed ^ goio__prom_mum(n ^ GOIO__PROM_K3, seed ^ GOIO__PROM_K1);
    for (size_t i = 0; i < n; i++)
        h = goio__prom_hash_one(h, vals[i], lens[i]);
    return goio__prom_mum(h ^ GOIO__PROM_K3, h ^ GOIO__PROM_K2);
}

#endif
