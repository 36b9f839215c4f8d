/* SPDX-License-Identifier: MIT */
/*
 * One version everywhere: GOIO_VERSION_* in core.h, GOIO_VERSION_HEX,
 * goio_version_string() of the linked library, the CMake project version
 * (passed in at build time), the Version of the generated goio.pc and a
 * released section of CHANGELOG.md.
 */
#include <goio/core.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define STR2(x) #x
#define STR(x)  STR2(x)
#define MACRO_VERSION                                                          \
    STR(GOIO_VERSION_MAJOR)                                                    \
    "." STR(GOIO_VERSION_MINOR) "." STR(GOIO_VERSION_PATCH)

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void macros_match_library(void **state)
{
    (void)state;
    assert_string_equal(goio_version_string(), MACRO_VERSION);
    assert_int_equal(GOIO_VERSION_HEX, (GOIO_VERSION_MAJOR << 16) |
                                           (GOIO_VERSION_MINOR << 8) |
                                           GOIO_VERSION_PATCH);
}

static void macros_match_cmake(void **state)
{
    (void)state;
    assert_string_equal(GOIO_CMAKE_VERSION, MACRO_VERSION);
}

static void macros_match_pkgconfig(void **state)
{
    (void)state;
    char *pc = read_file(GOIO_PC_FILE);
    assert_non_null(pc);
    char *line = strstr(pc, "\nVersion: ");
    assert_non_null(line);
    line += strlen("\nVersion: ");
    size_t len = strcspn(line, "\r\n");
    char version[64];
    assert_true(len < sizeof version);
    memcpy(version, line, len);
    version[len] = '\0';
    assert_string_equal(version, MACRO_VERSION);
}

static void changelog_has_the_version(void **state)
{
    (void)state;
    char *log = read_file(GOIO_CHANGELOG);
    assert_non_null(log);
    assert_non_null(strstr(log, "## [Unreleased]"));
    assert_non_null(strstr(log, "## [" MACRO_VERSION "]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(macros_match_library),
        cmocka_unit_test(macros_match_cmake),
        cmocka_unit_test(macros_match_pkgconfig),
        cmocka_unit_test(changelog_has_the_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
