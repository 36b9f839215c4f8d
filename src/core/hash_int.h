/* SPDX-License-Identifier: MIT */
/*
 * goio_hash64's function and its parts, inline, for hot paths in other
 * modules that must not pay a call (the memory cache's get, prometheus'
 * label lookup). One definition: goio_hash64 (hash.c) is this function.
 *
 * Keys are mixed 16 bytes at a time with a 64x64->128-bit multiply folded
 * to 64 bits, which diffuses every input bit across the result in one
 * step; short keys are read with (possibly overlapping) loads so no byte
 * loop runs. The seed enters first, so with a random seed an outsider
 * cannot pick keys that collide.
 */
#ifndef GOIO_CORE_HASH_INT_H
#define GOIO_CORE_HASH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GOIO__HASH_K0 0xa0761d6478bd642fULL
#define GOIO__HASH_K1 0xe7037ed1a0b428dbULL
#define GOIO__HASH_K2 0x8ebc6af09c88c6e3ULL
#define GOIO__HASH_K3 0x589965cc75374cc3ULL

/* The 128-bit product of a and b, its halves folded. */
static inline uint64_t goio__hash_mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t goio__hash_load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t goio__hash_load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Two words that encode n <= 16 bytes exactly (given n), reading only
 * p[0..n): two overlapping loads, or three bytes for n < 4. */
static inline void goio__hash_tail(const unsigned char *p, size_t n,
                                   uint64_t *a, uint64_t *b)
{
    *a = *b = 0;
    if (n >= 8) {
        *a = goio__hash_load64(p);
        *b = goio__hash_load64(p + n - 8);
    } else if (n >= 4) {
        *a = goio__hash_load32(p);
        *b = goio__hash_load32(p + n - 4);
    } else if (n > 0) {
        *a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
    }
}

/* goio_hash64 (key may be NULL only when len is 0). */
static inline uint64_t goio__hash64(const void *key, size_t len, uint64_t seed)
{
    const unsigned char *p = key;
    size_t n = len;
    uint64_t h = seed ^ GOIO__HASH_K0;
    for (; n > 16; n -= 16, p += 16)
        h = goio__hash_mix(goio__hash_load64(p) ^ GOIO__HASH_K1,
                           goio__hash_load64(p + 8) ^ h);
    uint64_t a, b;
    goio__hash_tail(p, n, &a, &b);
    h = goio__hash_mix(a ^ GOIO__HASH_K1 ^ h, b ^ GOIO__HASH_K2 ^ len);
    return goio__hash_mix(h ^ GOIO__HASH_K3, GOIO__HASH_K1);
}

#endif
