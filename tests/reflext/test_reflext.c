/* SPDX-License-Identifier: MIT */
#include "test_util.h"

#include <goio/reflext.h>

#include <math.h>
#include <string.h>

struct point {
    int32_t x, y;
    double weight;
};
static GOIO_TYPE_POD(point_type, struct point);

static void set_copies_and_checks_types(void **state)
{
    (void)state;
    int64_t a = 5, b = 0;
    double d = 0;
    assert_ok(goio_type_set(&b, &goio_type_int64, &a, &goio_type_int64));
    assert_int_equal(b, 5);
    assert_goio(GOIO_ETYPE,
                goio_type_set(&d, &goio_type_double, &a, &goio_type_int64));
    assert_true(d == 0);
    assert_goio(GOIO_EINVAL,
                goio_type_set(NULL, &goio_type_int64, &a, &goio_type_int64));
    assert_goio(GOIO_EINVAL,
                goio_type_set(&b, &goio_type_int64, NULL, &goio_type_int64));
    assert_goio(GOIO_EINVAL, goio_type_set(&b, NULL, &a, &goio_type_int64));
    assert_goio(GOIO_EINVAL, goio_type_set(&b, &goio_type_int64, &a, NULL));
    goio_type broken = {"broken", 8, NULL, NULL, NULL, NULL, NULL};
    assert_goio(GOIO_EINVAL, goio_type_set(&b, &broken, &a, &broken));
    assert_ok(goio_type_set(&b, &goio_type_int64, &b, &goio_type_int64));
    assert_int_equal(b, 5);
}

static void set_deep_copies_owned_values(void **state)
{
    (void)state;
    char *src = goio_strdup("hello"), *dst = goio_strdup("old");
    assert_ok(goio_type_set(&dst, &goio_type_string, &src, &goio_type_string));
    assert_string_equal(dst, "hello");
    assert_ptr_not_equal(dst, src);
    goio_type_value_deinit(&goio_type_string, &src);
    assert_null(src);
    assert_string_equal(dst, "hello");
    goio_type_value_deinit(&goio_type_string, &dst);

    goio_bytes in = {(uint8_t *)goio_memdup("a\0b", 3), 3}, out = {0};
    assert_ok(goio_type_set(&out, &goio_type_bytes, &in, &goio_type_bytes));
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "a\0b", 3);
    goio_type_value_deinit(&goio_type_bytes, &in);
    goio_type_value_deinit(&goio_type_bytes, &out);

    struct point p = {1, 2, 0.5}, q = {0};
    assert_ok(goio_type_set(&q, &point_type, &p, &point_type));
    assert_memory_equal(&p, &q, sizeof p);
    assert_goio(GOIO_ETYPE,
                goio_type_set(&q, &point_type, &src, &goio_type_string));
}

static void round_trip(const goio_type *t, const void *value, void *out,
                       const char *expect_text)
{
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_type_encode(t, value, &b));
    if (expect_text)
        assert_string_equal(goio_buf_cstr(&b), expect_text);
    assert_ok(goio_type_decode(t, b.data, b.len, out));
    goio_buf_deinit(&b);
}

static void builtins_round_trip(void **state)
{
    (void)state;
    int64_t i = INT64_MIN, i2 = 0;
    round_trip(&goio_type_int64, &i, &i2, "-9223372036854775808");
    assert_true(i == i2);
    uint64_t u = UINT64_MAX, u2 = 0;
    round_trip(&goio_type_uint64, &u, &u2, "18446744073709551615");
    assert_true(u == u2);
    double d = 0.1, d2 = 0;
    round_trip(&goio_type_double, &d, &d2, NULL);
    assert_true(d == d2);
    double inf = -INFINITY;
    round_trip(&goio_type_double, &inf, &d2, "-inf");
    assert_true(isinf(d2) && d2 < 0);
    bool t = true, t2 = false;
    round_trip(&goio_type_bool, &t, &t2, "true");
    assert_true(t2);
    char *s = "text", *s2 = NULL;
    round_trip(&goio_type_string, &s, &s2, "text");
    assert_string_equal(s2, "text");
    goio_type_value_deinit(&goio_type_string, &s2);
    char *empty = NULL;
    round_trip(&goio_type_string, &empty, &s2, "");
    assert_string_equal(s2, "");
    goio_type_value_deinit(&goio_type_string, &s2);
    goio_bytes none = {0}, none2 = {0};
    round_trip(&goio_type_bytes, &none, &none2, "");
    assert_int_equal(none2.len, 0);
    goio_type_value_deinit(&goio_type_bytes, &none2);
    struct point p = {-3, 4, 1.25}, p2 = {0};
    round_trip(&point_type, &p, &p2, NULL);
    assert_memory_equal(&p, &p2, sizeof p);
}

static void expect_malformed(const goio_type *t, const char *text, size_t n)
{
    unsigned char value[64];
    memset(value, 0, sizeof value);
    unsigned char before[64];
    memcpy(before, value, sizeof value);
    int rc = goio_type_decode(t, (const uint8_t *)text, n, value);
    if (rc != GOIO_EBADMSG)
        fail_msg("%s decoded '%.*s': %s", t->name, (int)n, text,
                 goio_err_name(rc));
    assert_memory_equal(value, before, sizeof value);
}

#define MALFORMED(t, lit) expect_malformed(t, lit, sizeof(lit) - 1)

static void decoding_rejects_malformed_bytes(void **state)
{
    (void)state;
    MALFORMED(&goio_type_int64, "");
    MALFORMED(&goio_type_int64, " 1");
    MALFORMED(&goio_type_int64, "1 ");
    MALFORMED(&goio_type_int64, "+1");
    MALFORMED(&goio_type_int64, "12a");
    MALFORMED(&goio_type_int64, "9223372036854775808");
    MALFORMED(&goio_type_int64, "1\0002");
    MALFORMED(&goio_type_int64, "123456789012345678901234567890123");
    MALFORMED(&goio_type_uint64, "-1");
    MALFORMED(&goio_type_uint64, "18446744073709551616");
    MALFORMED(&goio_type_double, "1e999");
    MALFORMED(&goio_type_double, "0x");
    MALFORMED(&goio_type_double, "\t1");
    MALFORMED(&goio_type_bool, "TRUE");
    MALFORMED(&goio_type_bool, "1");
    MALFORMED(&goio_type_bool, "tru");
    MALFORMED(&goio_type_string, "a\0b");
    MALFORMED(&point_type, "GIOP");
    MALFORMED(&point_type, "XXXX\x10\0\0\0"
                           "0123456789abcdef");
    MALFORMED(&point_type, "GIOP\x11\0\0\0"
                           "0123456789abcdef");
}

static void decode_replaces_only_on_success(void **state)
{
    (void)state;
    char *s = goio_strdup("keep");
    assert_goio(GOIO_EBADMSG, goio_type_decode(&goio_type_string,
                                               (const uint8_t *)"a\0", 2, &s));
    assert_string_equal(s, "keep");
    assert_ok(
        goio_type_decode(&goio_type_string, (const uint8_t *)"new", 3, &s));
    assert_string_equal(s, "new");
    goio_type_value_deinit(&goio_type_string, &s);
    assert_goio(GOIO_EINVAL, goio_type_decode(NULL, NULL, 0, &s));
    assert_goio(GOIO_EINVAL, goio_type_decode(&goio_type_string, NULL, 3, &s));
    assert_goio(GOIO_EINVAL, goio_type_decode(&goio_type_string,
                                              (const uint8_t *)"x", 1, NULL));
    goio_buf b = GOIO_BUF_INIT;
    assert_goio(GOIO_EINVAL, goio_type_encode(&goio_type_int64, NULL, &b));
    assert_goio(GOIO_EINVAL, goio_type_encode(&goio_type_int64, &b, NULL));
    goio_bytes bad = {NULL, 4};
    assert_goio(GOIO_EINVAL, goio_type_encode(&goio_type_bytes, &bad, &b));
    assert_int_equal(b.len, 0);
    goio_type_value_deinit(NULL, &s);
    goio_type_value_deinit(&goio_type_string, NULL);
}

static char *oom_src;
static char *oom_dst;

static int set_string(void *arg)
{
    (void)arg;
    return goio_type_set(&oom_dst, &goio_type_string, &oom_src,
                         &goio_type_string);
}

static void free_dst(void *arg)
{
    (void)arg;
    goio_type_value_deinit(&goio_type_string, &oom_dst);
}

static void out_of_memory_is_an_error(void **state)
{
    (void)state;
    goio_test_alloc_install();
    oom_src = goio_strdup("a string to copy");
    assert_int_equal(goio_test_alloc_torture(set_string, free_dst, NULL), 1);
    goio_type_value_deinit(&goio_type_string, &oom_src);
    goio_allocator_set(NULL, NULL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_copies_and_checks_types),
        cmocka_unit_test(set_deep_copies_owned_values),
        cmocka_unit_test(builtins_round_trip),
        cmocka_unit_test(decoding_rejects_malformed_bytes),
        cmocka_unit_test(decode_replaces_only_on_success),
        cmocka_unit_test(out_of_memory_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
