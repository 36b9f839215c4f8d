/* SPDX-License-Identifier: MIT */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static void allocator_must_be_all_or_nothing(void **state)
{
    (void)state;
    assert_goio(GOIO_EINVAL, goio_allocator_set(malloc, NULL, realloc, free));
    assert_ok(goio_allocator_set(NULL, NULL, NULL, NULL));
    goio_test_alloc_install();
    long before = goio_test_alloc_count();
    void *p = goio_malloc(10);
    assert_int_equal(goio_test_alloc_count(), before + 1);
    goio_free(p);
    assert_ok(goio_allocator_set(NULL, NULL, NULL, NULL));
}

static void allocation_sizes_are_overflow_checked(void **state)
{
    (void)state;
    assert_null(goio_calloc(SIZE_MAX / 2, 4));
    assert_null(goio_reallocarray(NULL, SIZE_MAX / 2, 4));
    void *z = goio_malloc(0);
    assert_non_null(z); /* zero bytes still give a unique pointer */
    goio_free(z);
    z = goio_calloc(0, 0);
    assert_non_null(z);
    goio_free(z);
    goio_free(NULL);
    assert_null(goio_strdup(NULL));
    assert_null(goio_strndup(NULL, 3));
    assert_null(goio_memdup(NULL, 3));
    char *s = goio_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    goio_free(s);
}

/* goio_realloc keeps the contents, goes through the configured allocator,
 * and leaves the block as it was when it fails. */
static void realloc_keeps_contents_and_fails_cleanly(void **state)
{
    (void)state;
    goio_test_alloc_install();
    long live = goio_test_alloc_outstanding();
    char *p = goio_realloc(NULL, 4); /* NULL: a new block */
    assert_non_null(p);
    assert_int_equal(goio_test_alloc_outstanding(), live + 1);
    memcpy(p, "abc", 4);
    p = goio_realloc(p, 1 << 20); /* grows, moves likely */
    assert_non_null(p);
    assert_string_equal(p, "abc");
    memset(p + 4, 'x', (1 << 20) - 4);
    p = goio_realloc(p, 2); /* shrinks: the prefix stays */
    assert_non_null(p);
    assert_memory_equal(p, "ab", 2);
    assert_int_equal(goio_test_alloc_outstanding(), live + 1);
    char *z = goio_realloc(p, 0); /* zero: still a live block */
    assert_non_null(z);
    assert_int_equal(goio_test_alloc_outstanding(), live + 1);
    z[0] = 'q';
    goio_test_alloc_fail_at(1);
    assert_null(goio_realloc(z, 64));
    goio_test_alloc_fail_at(0);
    assert_int_equal(z[0], 'q'); /* untouched, still ours */
    goio_free(z);
    assert_int_equal(goio_test_alloc_outstanding(), live);
    assert_ok(goio_allocator_set(NULL, NULL, NULL, NULL));
}

static int vappend(goio_buf *b, const char *fmt, ...) GOIO_PRINTF(2, 3);
static int vappend(goio_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = goio_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* The same without the format attribute, to pass a NULL format. */
static int vappend_unchecked(goio_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = goio_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

static void buf_vappendf_formats_through_a_va_list(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(vappend(&b, "%s=%d", "n", 42));
    assert_string_equal(goio_buf_cstr(&b), "n=42");
    /* Longer than the buffer: it measures, grows, then formats. */
    char big[3000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_ok(vappend(&b, ";%s;%05.1f", big, 2.25));
    assert_int_equal(b.len, 4 + 1 + 2999 + 1 + 5);
    assert_memory_equal(b.data, "n=42;yyy", 8);
    assert_string_equal((char *)b.data + b.len - 6, ";002.2");
    assert_int_equal(b.data[b.len], '\0');
    assert_ok(vappend(&b, "%s", ""));
    assert_int_equal(b.len, 4 + 1 + 2999 + 1 + 5);
    assert_goio(GOIO_EINVAL, vappend(NULL, "x"));
    assert_goio(GOIO_EINVAL, vappend_unchecked(&b, NULL));
    /* Out of memory: contents as they were. */
    goio_test_alloc_install();
    size_t len = b.len;
    goio_test_alloc_fail_at(1);
    assert_goio(GOIO_ENOMEM, vappend(&b, "%4000d", 1));
    goio_test_alloc_fail_at(0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, "n=42;yyy", 8);
    goio_buf_deinit(&b);
    assert_ok(goio_allocator_set(NULL, NULL, NULL, NULL));
}

static void buf_appends_and_grows(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    assert_string_equal(goio_buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        assert_ok(goio_buf_appendf(&b, "%d,", i % 10));
    assert_int_equal(b.len, 2000);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_ok(goio_buf_append_str(&b, "end"));
    assert_string_equal(goio_buf_cstr(&b) + 2000, "end");
    assert_ok(goio_buf_set(&b, "xy", 2));
    assert_string_equal(goio_buf_cstr(&b), "xy");
    goio_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_ok(goio_buf_append(&b, NULL, 0));
    size_t len;
    assert_ok(goio_buf_append(&b, "hello", 5));
    uint8_t *owned = goio_buf_detach(&b, &len);
    assert_int_equal(len, 5);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    goio_free(owned);
    goio_buf_deinit(&b);
}

static void buf_takes_bytes_from_itself(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_buf_append_str(&b, "abcdefgh"));
    /* Doubling from its own storage forces a move while copying. */
    for (int i = 0; i < 6; i++)
        assert_ok(goio_buf_append(&b, b.data, b.len));
    assert_int_equal(b.len, 8 << 6);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], "abcdefgh"[i % 8]);
    assert_ok(goio_buf_set(&b, b.data + 3, 4));
    assert_string_equal(goio_buf_cstr(&b), "defg");
    goio_buf_deinit(&b);
}

static void buf_rejects_bad_input_without_change(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_buf_append(&b, "abc", 3));
    assert_goio(GOIO_EINVAL, goio_buf_append(NULL, "x", 1));
    assert_goio(GOIO_EINVAL, goio_buf_append(&b, NULL, 1));
    assert_goio(GOIO_EINVAL, goio_buf_append_str(&b, NULL));
    assert_goio(GOIO_EINVAL, goio_buf_appendf(&b, NULL));
    assert_goio(GOIO_EINVAL, goio_buf_set(&b, NULL, 2));
    assert_goio(GOIO_EOVERFLOW, goio_buf_reserve(&b, SIZE_MAX));
    assert_goio(GOIO_EOVERFLOW, goio_buf_reserve(&b, SIZE_MAX - 3));
    assert_goio(GOIO_EINVAL, goio_buf_reserve(NULL, 1));
    assert_int_equal(b.len, 3);
    assert_string_equal(goio_buf_cstr(&b), "abc");
    assert_null(goio_buf_detach(NULL, NULL));
    goio_buf_init(NULL);
    goio_buf_clear(NULL);
    goio_buf_deinit(NULL);
    goio_buf_deinit(&b);
}

static int build_buf(void *arg)
{
    goio_buf *b = arg;
    for (int i = 0; i < 50; i++) {
        int rc = goio_buf_appendf(b, "%040d", i);
        if (rc)
            return rc;
    }
    return 0;
}

static void free_buf(void *arg)
{
    goio_buf_deinit(arg);
}

static void buf_out_of_memory_keeps_contents(void **state)
{
    (void)state;
    goio_buf b = GOIO_BUF_INIT;
    int points = goio_test_alloc_torture(build_buf, free_buf, &b);
    assert_true(points > 1);

    /* A failed growth leaves what was there. */
    assert_ok(goio_buf_append(&b, "keep", 4));
    goio_test_alloc_fail_at(1);
    assert_goio(GOIO_ENOMEM, goio_buf_reserve(&b, 1 << 20));
    goio_test_alloc_fail_at(0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "keep", 4);
    goio_buf_deinit(&b);
    goio_allocator_set(NULL, NULL, NULL, NULL);
}

static void clocks_move_forward(void **state)
{
    (void)state;
    int64_t a = goio_now_mono_ns();
    int64_t b = goio_now_mono_ns();
    assert_true(b >= a);
    assert_true(goio_now_wall_ms() > 1700000000000LL);
    int64_t coarse = goio_now_mono_coarse_ms();
    assert_true(llabs(coarse - goio_now_mono_ms()) < 50);
    assert_true(llabs(goio_now_wall_ns() / 1000000 - goio_now_wall_ms()) < 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocator_must_be_all_or_nothing),
        cmocka_unit_test(allocation_sizes_are_overflow_checked),
        cmocka_unit_test(realloc_keeps_contents_and_fails_cleanly),
        cmocka_unit_test(buf_vappendf_formats_through_a_va_list),
        cmocka_unit_test(buf_appends_and_grows),
        cmocka_unit_test(buf_takes_bytes_from_itself),
        cmocka_unit_test(buf_rejects_bad_input_without_change),
        cmocka_unit_test(buf_out_of_memory_keeps_contents),
        cmocka_unit_test(clocks_move_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
