/* SPDX-License-Identifier: MIT */
/*
 * goio_hash64: keys are mixed 16 bytes at a time with a 64x64->128-bit
 * multiply folded to 64 bits, which diffuses every input bit across the
 * result in one step; short keys are read with (possibly overlapping)
 * loads so no byte loop runs. The seed enters first, so with a random
 * seed an outsider cannot pick keys that collide.
 */
#include <goio/core.h>

#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define K0 0xa0761d6478bd642fULL
#define K1 0xe7037ed1a0b428dbULL
#define K2 0x8ebc6af09c88c6e3ULL
#define K3 0x589965cc75374cc3ULL

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint64_t goio_hash64(const void *key, size_t len, uint64_t seed)
{
    const uint8_t *p = key;
    if (!key)
        len = 0;
    size_t n = len;
    uint64_t h = seed ^ K0;
    for (; n > 16; n -= 16, p += 16)
        h = mix(load64(p) ^ K1, load64(p + 8) ^ h);
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        a = load64(p);
        b = load64(p + n - 8);
    } else if (n >= 4) {
        a = load32(p);
        b = load32(p + n - 4);
    } else if (n > 0) {
        a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
    }
    h = mix(a ^ K1 ^ h, b ^ K2 ^ len);
    return mix(h ^ K3, K1);
}

uint64_t goio_random_u64(void)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    static _Atomic uint64_t counter;
    uint64_t n = atomic_fetch_add(&counter, 1);
    return mix((uint64_t)goio_now_wall_ns() ^ ((uint64_t)getpid() << 32),
               n * K1 ^ K2);
}
