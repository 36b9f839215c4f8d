/* SPDX-License-Identifier: MIT */
/*
 * Small archives cut at every length and corrupted at every byte: a cut
 * archive is always an error (never a shorter archive that looks fine),
 * corruption never crashes, and a failed directory extraction leaves
 * nothing behind.
 */
#include "archive_util.h"

#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    return t_tmp_setup("trunc");
}

typedef enum fmt { TARGZ, ZIP } fmt;

static goio_buf small_archive(fmt f)
{
    uint8_t *mid = t_pattern(3000, 1);
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&out);
    if (f == ZIP) {
        goio_io_zip_input in[] = {{"a.txt", "hello, world\n", 13},
                                  {"dir/mid.bin", mid, 3000},
                                  {"dir/empty", "", 0}};
        assert_ok(goio_io_zip_compress(w, in, 3, NULL));
    } else {
        goio_io_targz_writer *t;
        assert_ok(goio_io_targz_writer_new(w, NULL, &t));
        assert_ok(goio_io_targz_writer_add(t, "a.txt", "hello, world\n", 13));
        assert_ok(goio_io_targz_writer_add(t, "dir/mid.bin", mid, 3000));
        assert_ok(goio_io_targz_writer_add(t, "dir/empty", "", 0));
        assert_ok(goio_io_targz_writer_close(t));
    }
    goio_io_writer_close(w);
    goio_free(mid);
    return out;
}

static int run(fmt f, const uint8_t *p, size_t len, const char *dir,
               size_t *files)
{
    int rc;
    if (!dir) {
        goio_io_archive_files *got;
        rc = f == ZIP ? goio_io_zip_extract(p, len, NULL, 0, NULL, &got)
                      : goio_io_targz_extract(p, len, NULL, 0, NULL, &got);
        if (!rc)
            *files = got->count;
        else
            assert_null(got);
        goio_io_archive_files_free(got);
        return rc;
    }
    if (f == ZIP)
        return goio_io_zip_extract_to_dir(p, len, dir, NULL);
    goio_io_reader *r;
    assert_ok(goio_io_reader_new_mem(p, len, &r));
    rc = goio_io_targz_extract_to_dir(r, dir, NULL);
    goio_io_reader_close(r);
    return rc;
}

static void assert_cut_refused(int rc, size_t cut)
{
    if (rc != GOIO_ETRUNCATED && rc != GOIO_EBADMSG)
        fail_msg("cut at %zu: %s, expected a truncation error", cut,
                 goio_err_name(rc));
}

static void every_cut_is_an_error(fmt f)
{
    goio_buf a = small_archive(f);
    char *box = t_path(tmp, "box");
    char *out = t_path(box, "out");
    t_mkdirs(box);
    size_t files = 0;
    assert_ok(run(f, a.data, a.len, NULL, &files));
    assert_int_equal(files, 3);
    for (size_t cut = 0; cut < a.len; cut++) {
        /* An exact-size copy, so ASan sees any read past the end. */
        uint8_t *p = goio_memdup(a.data, cut ? cut : 1);
        assert_cut_refused(run(f, p, cut, NULL, &files), cut);
        assert_cut_refused(run(f, p, cut, out, &files), cut);
        assert_int_equal(t_count_dir(box), 0);
        goio_free(p);
    }
    goio_free(out);
    goio_test_rm_rf(box);
    goio_free(box);
    goio_buf_deinit(&a);
}

static void every_tar_gz_cut_is_an_error(void **state)
{
    (void)state;
    every_cut_is_an_error(TARGZ);
}

static void every_zip_cut_is_an_error(void **state)
{
    (void)state;
    every_cut_is_an_error(ZIP);
}

/* Flips every byte in turn (and every bit of the headers' first bytes):
 * whatever the verdict, no crash, no leak, and on error no leftovers. An
 * accepted change must be one the formats do not protect (a time, a
 * version field), so the files still come out. */
static void every_corruption_is_survived(fmt f)
{
    goio_buf a = small_archive(f);
    char *box = t_path(tmp, "box");
    char *out = t_path(box, "out");
    t_mkdirs(box);
    int accepted = 0;
    for (size_t i = 0; i < a.len; i++) {
        for (int mask = 1; mask < 256; mask <<= (i < 64 ? 1 : 8)) {
            uint8_t *p = goio_memdup(a.data, a.len);
            p[i] ^= (uint8_t)(i < 64 ? mask : 0xff);
            size_t files = 0;
            int rc = run(f, p, a.len, NULL, &files);
            if (!rc) {
                accepted++;
                assert_int_equal(files, 3); /* the files still come out */
            }
            rc = run(f, p, a.len, out, &files);
            if (rc)
                assert_int_equal(t_count_dir(box), 0);
            else
                goio_test_rm_rf(out);
            goio_free(p);
        }
    }
    print_message("%s: %d of the corruptions were accepted\n",
                  f == ZIP ? "zip" : "tar.gz", accepted);
    goio_free(out);
    goio_test_rm_rf(box);
    goio_free(box);
    goio_buf_deinit(&a);
}

static void tar_gz_corruption_is_survived(void **state)
{
    (void)state;
    every_corruption_is_survived(TARGZ);
}

static void zip_corruption_is_survived(void **state)
{
    (void)state;
    every_corruption_is_survived(ZIP);
}

int main(void)
{
    goio_log_set_sink(NULL, NULL); /* thousands of expected refusals */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_tar_gz_cut_is_an_error),
        cmocka_unit_test(every_zip_cut_is_an_error),
        cmocka_unit_test(tar_gz_corruption_is_survived),
        cmocka_unit_test(zip_corruption_is_survived),
    };
    return cmocka_run_group_tests(tests, setup, t_tmp_teardown);
}
