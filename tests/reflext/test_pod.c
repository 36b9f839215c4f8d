/* SPDX-License-Identifier: MIT */
/* The POD helpers and the descriptor check, called directly (the cache
 * tests only reach them through the typed calls). */
#include "test_util.h"

#include <goio/reflext.h>

#include <string.h>

struct point {
    int32_t x, y;
    double w;
};
struct other {
    int64_t a;
};
static GOIO_TYPE_POD(point_type, struct point);
static GOIO_TYPE_POD(other_type, struct other);

static void pod_round_trips_with_magic_and_size(void **state)
{
    (void)state;
    struct point p = {-3, 7, 2.5}, q = {0, 0, 0};
    goio_buf b;
    goio_buf_init(&b);
    assert_int_equal(goio_type_pod_encode(&point_type, &p, &b), 0);
    assert_int_equal(b.len, 8 + sizeof p);
    assert_memory_equal(b.data, "GIOP", 4);
    uint32_t size = (uint32_t)b.data[4] | (uint32_t)b.data[5] << 8 |
                    (uint32_t)b.data[6] << 16 | (uint32_t)b.data[7] << 24;
    assert_int_equal(size, sizeof p);
    assert_int_equal(goio_type_pod_decode(&point_type, b.data, b.len, &q), 0);
    assert_memory_equal(&p, &q, sizeof p);
    goio_buf_deinit(&b);
}

static void pod_refuses_other_structs_and_truncation(void **state)
{
    (void)state;
    struct point p = {1, 2, 3}, q = {9, 9, 9};
    const struct point untouched = q;
    struct other o = {0};
    goio_buf b;
    goio_buf_init(&b);
    assert_int_equal(goio_type_pod_encode(&point_type, &p, &b), 0);
    assert_int_equal(goio_type_pod_decode(&other_type, b.data, b.len, &o),
                     GOIO_EBADMSG);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(goio_type_pod_decode(&point_type, b.data, n, &q),
                         GOIO_EBADMSG);
    b.data[0] ^= 1; /* the magic */
    assert_int_equal(goio_type_pod_decode(&point_type, b.data, b.len, &q),
                     GOIO_EBADMSG);
    assert_memory_equal(&q, &untouched, sizeof q);
    assert_int_equal(goio_type_pod_encode(NULL, &p, &b), GOIO_EINVAL);
    assert_int_equal(goio_type_pod_encode(&point_type, NULL, &b), GOIO_EINVAL);
    assert_int_equal(goio_type_pod_encode(&point_type, &p, NULL), GOIO_EINVAL);
    assert_int_equal(goio_type_pod_decode(&point_type, NULL, 4, &q),
                     GOIO_EINVAL);
    goio_buf_deinit(&b);
}

static void check_accepts_usable_descriptors_only(void **state)
{
    (void)state;
    assert_int_equal(goio_type_check(&point_type), 0);
    assert_int_equal(goio_type_check(&goio_type_string), 0);
    assert_int_equal(goio_type_check(NULL), GOIO_EINVAL);
    goio_type t = point_type;
    t.name = NULL;
    assert_int_equal(goio_type_check(&t), GOIO_EINVAL);
    t = point_type;
    t.size = 0;
    assert_int_equal(goio_type_check(&t), GOIO_EINVAL);
    t = point_type;
    t.encode = NULL;
    assert_int_equal(goio_type_check(&t), GOIO_EINVAL);
    t = point_type;
    t.decode = NULL;
    assert_int_equal(goio_type_check(&t), GOIO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pod_round_trips_with_magic_and_size),
        cmocka_unit_test(pod_refuses_other_structs_and_truncation),
        cmocka_unit_test(check_accepts_usable_descriptors_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
