/* SPDX-License-Identifier: MIT */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

static void hash_is_deterministic_and_seeded(void **state)
{
    (void)state;
    const char *k = "item:42";
    assert_true(goio_hash64(k, 7, 1) == goio_hash64(k, 7, 1));
    assert_true(goio_hash64(k, 7, 1) != goio_hash64(k, 7, 2));
    assert_true(goio_hash64(NULL, 0, 5) == goio_hash64("", 0, 5));
    assert_true(goio_hash64(NULL, 9, 5) == goio_hash64("", 0, 5));
    /* Every length up to 40 reads only its own bytes: a different byte
     * just past the end changes nothing. */
    char a[64], b[64];
    memset(a, 'x', sizeof a);
    memset(b, 'x', sizeof b);
    for (size_t n = 0; n <= 40; n++) {
        b[n] = 'y';
        assert_true(goio_hash64(a, n, 0) == goio_hash64(b, n, 0));
        b[n] = 'x';
        if (n)
            assert_true(goio_hash64(a, n, 0) != goio_hash64(a, n - 1, 0));
    }
}

static void one_bit_flips_change_half_the_output(void **state)
{
    (void)state;
    /* Avalanche: flipping any input bit flips ~32 of 64 output bits. */
    unsigned char key[24] = "sharedflight:key:0001";
    uint64_t base = goio_hash64(key, sizeof key, 7);
    long total = 0;
    for (size_t bit = 0; bit < sizeof key * 8; bit++) {
        key[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        total += __builtin_popcountll(base ^ goio_hash64(key, sizeof key, 7));
        key[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    double mean = (double)total / (sizeof key * 8);
    assert_true(mean > 28 && mean < 36);
}

static void buckets_fill_evenly(void **state)
{
    (void)state;
    enum { KEYS = 64000, BUCKETS = 64 };
    int count[BUCKETS] = {0};
    char key[32];
    for (int i = 0; i < KEYS; i++) {
        int n = snprintf(key, sizeof key, "key:%d", i);
        count[goio_hash64(key, (size_t)n, 0) % BUCKETS]++;
    }
    for (int i = 0; i < BUCKETS; i++)
        assert_true(count[i] > 850 && count[i] < 1150); /* mean 1000 */
}

static void random_values_differ(void **state)
{
    (void)state;
    uint64_t seen[64];
    for (int i = 0; i < 64; i++) {
        seen[i] = goio_random_u64();
        for (int j = 0; j < i; j++)
            assert_true(seen[i] != seen[j]);
    }
}

static void time_add_saturates(void **state)
{
    (void)state;
    assert_true(goio_time_add_ms(5, 7) == 12);
    assert_true(goio_time_add_ms(5, -7) == -2);
    assert_true(goio_time_add_ms(INT64_MAX - 1, 5) == INT64_MAX);
    assert_true(goio_time_add_ms(1000, INT64_MAX) == GOIO_NO_DEADLINE);
    assert_true(goio_time_add_ms(INT64_MIN + 1, -5) == INT64_MIN);
    assert_true(goio_time_add_ms(-1000, INT64_MIN) == INT64_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_is_deterministic_and_seeded),
        cmocka_unit_test(one_bit_flips_change_half_the_output),
        cmocka_unit_test(buckets_fill_evenly),
        cmocka_unit_test(random_values_differ),
        cmocka_unit_test(time_add_saturates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
