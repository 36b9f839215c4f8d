/* SPDX-License-Identifier: MIT */
/*
 * goio_hash64 (its function is in hash_int.h, inline for other modules'
 * hot paths) and goio_random_u64.
 */
#include <goio/core.h>

#include "hash_int.h"

#include <stdatomic.h>
#include <sys/random.h>
#include <unistd.h>

uint64_t goio_hash64(const void *key, size_t len, uint64_t seed)
{
    return goio__hash64(key, key ? len : 0, seed);
}

uint64_t goio_random_u64(void)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    static _Atomic uint64_t counter;
    uint64_t n = atomic_fetch_add(&counter, 1);
    return goio__hash_mix((uint64_t)goio_now_wall_ns() ^
                              ((uint64_t)getpid() << 32),
                          n * GOIO__HASH_K1 ^ GOIO__HASH_K2);
}
