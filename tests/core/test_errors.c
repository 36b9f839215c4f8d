/* SPDX-License-Identifier: MIT */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

static void every_code_has_a_name_and_a_message(void **state)
{
    (void)state;
    static const int codes[] = {
#define CODE(name, value, msg) value,
        GOIO_ERRNO_MAP(CODE)
#undef CODE
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(goio_err_name(codes[i]), "GOIO_UNKNOWN");
        assert_string_not_equal(goio_strerror(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

static void errno_codes_keep_errno_values(void **state)
{
    (void)state;
    assert_int_equal(GOIO_EINVAL, -EINVAL);
    assert_int_equal(GOIO_ENOMEM, -ENOMEM);
    assert_int_equal(GOIO_ETIMEDOUT, -ETIMEDOUT);
    assert_int_equal(GOIO_ECANCELED, -ECANCELED);
    assert_string_equal(goio_err_name(GOIO_ETYPE), "GOIO_ETYPE");
    assert_string_equal(goio_strerror(GOIO_EINVAL), "invalid argument");
}

static void unknown_codes_are_named_never_null(void **state)
{
    (void)state;
    int odd[] = {1, 12345, -99999, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_string_equal(goio_err_name(odd[i]), "GOIO_UNKNOWN");
        assert_string_equal(goio_strerror(odd[i]), "unknown error");
    }
    assert_string_equal(goio_err_name(0), "GOIO_OK");
    assert_string_equal(goio_strerror(0), "success");
}

static void version_matches_macros(void **state)
{
    (void)state;
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", GOIO_VERSION_MAJOR,
             GOIO_VERSION_MINOR, GOIO_VERSION_PATCH);
    assert_string_equal(goio_version_string(), expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_a_name_and_a_message),
        cmocka_unit_test(errno_codes_keep_errno_values),
        cmocka_unit_test(unknown_codes_are_named_never_null),
        cmocka_unit_test(version_matches_macros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
