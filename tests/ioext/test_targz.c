/* SPDX-License-Identifier: MIT */
/*
 * gzip and tar.gz writing, and tar.gz reading, against the real tools:
 * gzip/pigz, GNU tar and bsdtar, both ways.
 */
#include "archive_util.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

/* pigz is a test dependency (scripts/deps). Without it the pigz checks
 * fail in CI (CI=true) and are skipped, with the reason printed,
 * elsewhere: never dropped silently. */
static bool have_pigz;

static bool pigz_checks(void)
{
    if (have_pigz)
        return true;
    const char *ci = getenv("CI");
    if (ci && !strcmp(ci, "true"))
        fail_msg("pigz is not installed (scripts/deps installs it) and CI "
                 "is true: the pigz checks must run");
    static atomic_bool told;
    if (!atomic_exchange(&told, true))
        print_message("  SKIP pigz checks: pigz is not installed "
                      "(scripts/deps installs it)\n");
    return false;
}

static int setup(void **state)
{
    (void)state;
    have_pigz = goio_test_system("command -v pigz >/dev/null") == 0;
    return t_tmp_setup("targz");
}

/* ---- gzip --------------------------------------------------------------- */

static void gzip_with(unsigned threads, size_t block, size_t len, bool flush)
{
    uint8_t *data = t_pattern(len, (unsigned)len);
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&out), *gz;
    goio_io_gzip_config opt;
    goio_io_gzip_config_init(&opt);
    opt.threads = threads;
    opt.block_size = block;
    assert_ok(goio_io_gzip_writer_new(bw, &opt, &gz));
    /* Odd-sized writes, and a flush half-way when asked. */
    size_t off = 0, step = 1;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        assert_ok(goio_io_write(gz, data + off, n));
        off += n;
        step = step * 3 + 1;
        if (flush && off > len / 2 && off - n <= len / 2)
            assert_ok(goio_io_flush(gz));
    }
    assert_ok(goio_io_writer_close(gz));
    goio_io_writer_close(bw);
    char *gzpath = t_path(tmp, "x.gz");
    assert_int_equal(goio_test_write_file(gzpath, out.data, out.len), 0);
    /* gzip -t checks the CRC and length trailer too. */
    assert_int_equal(goio_test_system("gzip -t '%s'", gzpath), 0);
    assert_int_equal(goio_test_system("gzip -dc '%s' > '%s/x'", gzpath, tmp),
                     0);
    t_assert_file(tmp, "x", data, len);
    if (pigz_checks())
        assert_int_equal(
            goio_test_system("pigz -dc '%s' | cmp -s - '%s/x'", gzpath, tmp),
            0);
    goio_free(gzpath);
    goio_buf_deinit(&out);
    goio_free(data);
}

static void gzip_output_is_read_by_gzip_and_pigz(void **state)
{
    (void)state;
    gzip_with(1, 0, 0, false);
    gzip_with(1, 0, 1000000, true);
    gzip_with(2, 32768, 0, false);
    gzip_with(2, 32768, 1, false);
    gzip_with(2, 32768, 32768 * 5, false); /* exact blocks */
    gzip_with(3, 40000, 1000001, true);
    gzip_with(4, 128 * 1024, 3000000, false);
}

static void gzip_parallel_ratio_is_close_to_serial(void **state)
{
    (void)state;
    size_t len = 2000000;
    uint8_t *data = t_pattern(len, 9);
    size_t sizes[2];
    for (int t = 0; t < 2; t++) {
        goio_buf out = GOIO_BUF_INIT;
        goio_io_writer *bw = t_buf_writer(&out), *gz;
        goio_io_gzip_config opt;
        goio_io_gzip_config_init(&opt);
        opt.threads = t ? 2 : 1;
        assert_ok(goio_io_gzip_writer_new(bw, &opt, &gz));
        assert_ok(goio_io_write(gz, data, len));
        assert_ok(goio_io_writer_close(gz));
        goio_io_writer_close(bw);
        sizes[t] = out.len;
        goio_buf_deinit(&out);
    }
    /* The dictionary carried between blocks keeps the loss small. */
    assert_true(sizes[1] < sizes[0] + sizes[0] / 50);
    goio_free(data);
}

static void gzip_bad_options(void **state)
{
    (void)state;
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&out), *gz = (goio_io_writer *)1;
    goio_io_gzip_config opt;
    goio_io_gzip_config_init(&opt);
    opt.level = 10;
    assert_goio(GOIO_EINVAL, goio_io_gzip_writer_new(bw, &opt, &gz));
    assert_null(gz);
    goio_io_gzip_config_init(&opt);
    opt.threads = 2;
    opt.block_size = 1000;
    assert_goio(GOIO_EINVAL, goio_io_gzip_writer_new(bw, &opt, &gz));
    opt.block_size = ((size_t)1 << 30) + 1;
    assert_goio(GOIO_EINVAL, goio_io_gzip_writer_new(bw, &opt, &gz));
    /* One thread has no blocks: their size does not matter (a large one
     * was refused). */
    opt.threads = 1;
    assert_ok(goio_io_gzip_writer_new(bw, &opt, &gz));
    assert_ok(goio_io_writer_close(gz));
    assert_true(out.len > 0);
    assert_goio(GOIO_EINVAL, goio_io_gzip_writer_new(NULL, NULL, &gz));
    assert_goio(GOIO_EINVAL, goio_io_gzip_writer_new(bw, NULL, NULL));
    goio_io_writer_close(bw);
    goio_buf_deinit(&out);
}

/* ---- tar.gz writing ---------------------------------------------------------
 */

typedef struct tfile {
    const char *name; /* as given to goio */
    const char *path; /* as it lands on disk */
    size_t len;
} tfile;

static const char long_dir[] =
    "a-rather-long-directory-name-that-goes-on-and-on-0123456789/"
    "and-another-level-of-it-to-pass-one-hundred-bytes";
static const char long_leaf[] =
    "a-file-name-so-long-that-no-ustar-split-can-hold-it-because-its-last-"
    "component-alone-is-over-one-hundred-bytes.txt";

static goio_buf write_targz(const tfile *files, size_t n, unsigned threads,
                            uint32_t mode)
{
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&out);
    goio_io_targz_config opt;
    goio_io_targz_config_init(&opt);
    assert_int_equal(opt.file_mode, 0644);
    opt.gzip.threads = threads;
    opt.mtime = 1600000000;
    if (mode)
        opt.file_mode = mode;
    goio_io_targz_writer *w;
    assert_ok(goio_io_targz_writer_new(bw, &opt, &w));
    for (size_t i = 0; i < n; i++) {
        uint8_t *d = t_pattern(files[i].len, (unsigned)i);
        if (i % 2) {
            assert_ok(
                goio_io_targz_writer_add(w, files[i].name, d, files[i].len));
        } else {
            goio_io_reader *r;
            assert_ok(goio_io_reader_new_mem(d, files[i].len, &r));
            assert_ok(goio_io_targz_writer_add_reader(w, files[i].name, r,
                                                      files[i].len));
            goio_io_reader_close(r);
        }
        goio_free(d);
    }
    assert_ok(goio_io_targz_writer_close(w));
    goio_io_writer_close(bw);
    return out;
}

static void check_tree(const char *dir, const tfile *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t *d = t_pattern(files[i].len, (unsigned)i);
        t_assert_file(dir, files[i].path, d, files[i].len);
        goio_free(d);
    }
}

/* Extracts a tar.gz to memory: it must hold exactly `files`. */
static void check_extracted(const void *tgz, size_t len, const tfile *files,
                            size_t n)
{
    goio_io_archive_files *got;
    assert_ok(goio_io_targz_extract(tgz, len, NULL, 0, NULL, &got));
    assert_int_equal(got->count, n);
    for (size_t i = 0; i < n; i++) {
        const goio_io_archive_file *f =
            goio_io_archive_files_find(got, files[i].path);
        assert_non_null(f);
        uint8_t *d = t_pattern(files[i].len, (unsigned)i);
        assert_int_equal(f->len, files[i].len);
        if (f->len)
            assert_memory_equal(f->data, d, f->len);
        goio_free(d);
    }
    goio_io_archive_files_free(got);
}

static void tar_and_bsdtar_read_what_goio_writes(void **state)
{
    (void)state;
    char long_name[512], split_name[300];
    snprintf(long_name, sizeof long_name, "%s/%s", long_dir, long_leaf);
    snprintf(split_name, sizeof split_name, "%s/short.txt", long_dir);
    const tfile files[] = {
        {"plain.txt", "plain.txt", 1000},
        {"/abs/leading.txt", "abs/leading.txt", 513},
        {"dir//./sub/../file.bin", "dir/file.bin", 200000},
        {"empty", "empty", 0},
        {"block", "block", 512},
        {split_name, split_name, 77}, /* ustar prefix + name */
        {long_name, long_name, 1234}, /* pax path record */
        {"utf8-\xc3\xa9t\xc3\xa9.txt", "utf8-\xc3\xa9t\xc3\xa9.txt", 10},
    };
    size_t n = sizeof files / sizeof *files;
    for (unsigned threads = 1; threads <= 2; threads++) {
        goio_buf tgz = write_targz(files, n, threads, 0);
        char *path = t_path(tmp, "w.tar.gz");
        assert_int_equal(goio_test_write_file(path, tgz.data, tgz.len), 0);
        /* GNU tar: names are "./"-prefixed, files rw-r--r--, our mtime. */
        int st;
        char *list = goio_test_capture(&st, "tar tvzf '%s'", path);
        assert_int_equal(st, 0);
        assert_non_null(strstr(list, "-rw-r--r-- 0/0"));
        assert_non_null(strstr(list, " ./plain.txt\n"));
        assert_non_null(strstr(list, " ./abs/leading.txt\n"));
        assert_non_null(strstr(list, " ./dir/file.bin\n"));
        assert_non_null(strstr(list, "2020-09-13"));
        goio_free(list);
        char *gx = t_path(tmp, "gnu"), *bx = t_path(tmp, "bsd");
        t_mkdirs(gx);
        t_mkdirs(bx);
        assert_int_equal(goio_test_system("tar xzf '%s' -C '%s'", path, gx), 0);
        assert_int_equal(
            goio_test_system("bsdtar -xf '%s' -C '%s' 2>&1", path, bx), 0);
        check_tree(gx, files, n);
        check_tree(bx, files, n);
        /* And goio reads its own output. */
        check_extracted(tgz.data, tgz.len, files, n);
        goio_test_rm_rf(gx);
        goio_test_rm_rf(bx);
        goio_free(gx);
        goio_free(bx);
        goio_free(path);
        goio_buf_deinit(&tgz);
    }
}

static void file_mode_is_configurable(void **state)
{
    (void)state;
    const tfile files[] = {{"run.sh", "run.sh", 10}};
    goio_buf tgz = write_targz(files, 1, 1, 0755);
    char *path = t_path(tmp, "m.tar.gz");
    assert_int_equal(goio_test_write_file(path, tgz.data, tgz.len), 0);
    int st;
    char *list = goio_test_capture(&st, "tar tvzf '%s'", path);
    assert_non_null(strstr(list, "-rwxr-xr-x"));
    goio_free(list);
    goio_free(path);
    goio_buf_deinit(&tgz);
}

static void names_are_normalized_or_refused(void **state)
{
    (void)state;
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&out);
    goio_io_targz_writer *w;
    assert_ok(goio_io_targz_writer_new(bw, NULL, &w));
    struct {
        const char *in;
        int rc;
    } cases[] = {
        {"", GOIO_EINVAL},
        {"/", GOIO_EINVAL},
        {".", GOIO_EINVAL},
        {"./", GOIO_EINVAL},
        {"a/..", GOIO_EINVAL},
        {"..", GOIO_EUNSAFEPATH},
        {"../up", GOIO_EUNSAFEPATH},
        {"a/../../b", GOIO_EUNSAFEPATH},
        {"/../x", GOIO_EUNSAFEPATH},
        {"ok/../fine", 0},
        {"./x/./y/", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_goio(cases[i].rc,
                    goio_io_targz_writer_add(w, cases[i].in, "z", 1));
    assert_goio(GOIO_EINVAL, goio_io_targz_writer_add(w, NULL, "z", 1));
    assert_goio(GOIO_EINVAL, goio_io_targz_writer_add(w, "n", NULL, 1));
    assert_goio(GOIO_EINVAL, goio_io_targz_writer_add_reader(w, "n", NULL, 1));
    assert_ok(goio_io_targz_writer_close(w)); /* the refusals broke nothing */
    goio_io_writer_close(bw);
    char *path = t_path(tmp, "n.tar.gz");
    assert_int_equal(goio_test_write_file(path, out.data, out.len), 0);
    int st;
    char *list = goio_test_capture(&st, "tar tzf '%s'", path);
    assert_int_equal(st, 0);
    assert_string_equal(list, "./fine\n./x/y\n");
    goio_free(list);
    goio_free(path);
    goio_buf_deinit(&out);
}

static void short_reader_breaks_the_archive(void **state)
{
    (void)state;
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&out);
    goio_io_targz_writer *w;
    assert_ok(goio_io_targz_writer_new(bw, NULL, &w));
    assert_ok(goio_io_targz_writer_add(w, "first", "hello", 5));
    goio_io_reader *r;
    assert_ok(goio_io_reader_new_mem("12345", 5, &r));
    assert_goio(GOIO_ETRUNCATED,
                goio_io_targz_writer_add_reader(w, "second", r, 6));
    goio_io_reader_close(r);
    /* Sticky: the archive is broken, later calls say so. */
    assert_goio(GOIO_ETRUNCATED, goio_io_targz_writer_add(w, "third", "x", 1));
    assert_goio(GOIO_ETRUNCATED, goio_io_targz_writer_close(w));
    goio_io_writer_close(bw);
    /* What was written is not a complete tar.gz: readers refuse it. */
    goio_io_archive_files *got;
    assert_goio(GOIO_ETRUNCATED,
                goio_io_targz_extract(out.data, out.len, NULL, 0, NULL, &got));
    assert_null(got);
    goio_buf_deinit(&out);

    /* Abandoning a writer writes nothing more. */
    goio_buf out2 = GOIO_BUF_INIT;
    bw = t_buf_writer(&out2);
    assert_ok(goio_io_targz_writer_new(bw, NULL, &w));
    assert_ok(goio_io_targz_writer_add(w, "first", "hello", 5));
    size_t before = out2.len;
    goio_io_targz_writer_free(w);
    assert_int_equal(out2.len, before);
    goio_io_writer_close(bw);
    goio_buf_deinit(&out2);
    assert_ok(goio_io_targz_writer_close(NULL));
    goio_io_targz_writer_free(NULL);
}

/* A writer that fails after `budget` bytes. */
typedef struct failing_writer {
    goio_io_writer base;
    size_t budget;
} failing_writer;

static ssize_t failing_write(goio_io_writer *w, const void *p, size_t n)
{
    (void)p;
    failing_writer *f = (failing_writer *)w;
    if (!f->budget)
        return GOIO_ENOTCONN;
    if (n > f->budget)
        n = f->budget;
    f->budget -= n;
    return (ssize_t)n;
}

static const goio_io_writer_ops failing_ops = {failing_write, NULL, NULL};

static void destination_errors_come_back(void **state)
{
    (void)state;
    uint8_t *big = t_random(3 << 20, 1);
    for (unsigned threads = 1; threads <= 2; threads++) {
        failing_writer f = {{&failing_ops}, 100000};
        goio_io_targz_config opt;
        goio_io_targz_config_init(&opt);
        opt.gzip.threads = threads;
        goio_io_targz_writer *w;
        assert_ok(goio_io_targz_writer_new(&f.base, &opt, &w));
        int rc = goio_io_targz_writer_add(w, "big", big, 3 << 20);
        if (!rc) /* parallel: the failure may surface at close */
            rc = goio_io_targz_writer_close(w);
        else
            assert_goio(GOIO_ENOTCONN, goio_io_targz_writer_close(w));
        assert_goio(GOIO_ENOTCONN, rc);
    }
    goio_free(big);
}

/* ---- reading what the tools write ------------------------------------------
 */

static void goio_reads_what_tar_bsdtar_and_pigz_write(void **state)
{
    (void)state;
    char *src = t_path(tmp, "src");
    const tfile files[] = {
        {"top.txt", "top.txt", 3000},
        {"d1/d2/deep.bin", "d1/d2/deep.bin", 300000},
        {"d1/empty", "d1/empty", 0},
    };
    size_t n = sizeof files / sizeof *files;
    for (size_t i = 0; i < n; i++) {
        uint8_t *d = t_pattern(files[i].len, (unsigned)i);
        t_write(src, files[i].path, d, files[i].len);
        goio_free(d);
    }
    const char *makers[] = {
        "tar czf '%s/t.tgz' -C '%s' .",
        "bsdtar -czf '%s/t.tgz' -C '%s' .",
        "tar cf - -C '%2$s' . | pigz -p 2 -b 32 > '%1$s/t.tgz'",
        /* two gzip members back to back, as cat a.gz b.gz makes */
        "tar cf - -C '%2$s' . > '%1$s/t.tar' && head -c 7000 '%1$s/t.tar' "
        "| gzip > '%1$s/t.tgz' && tail -c +7001 '%1$s/t.tar' | gzip >> "
        "'%1$s/t.tgz'",
    };
    for (size_t m = 0; m < sizeof makers / sizeof *makers; m++) {
        if (strstr(makers[m], "pigz") && !pigz_checks())
            continue;
        assert_int_equal(goio_test_system(makers[m], tmp, src), 0);
        char *tgz = t_path(tmp, "t.tgz");
        size_t len;
        uint8_t *data = goio_test_read_file(tgz, &len);
        check_extracted(data, len, files, n);
        goio_io_archive_files *got;
        /* Only some names. */
        const char *want[] = {"d1/empty", "not/there"};
        assert_ok(goio_io_targz_extract(data, len, want, 2, NULL, &got));
        assert_int_equal(got->count, 1);
        assert_string_equal(got->files[0].name, "d1/empty");
        goio_io_archive_files_free(got);
        /* To a directory, streamed from a file descriptor. */
        char *out = t_path(tmp, "out");
        goio_io_reader *r;
        assert_ok(goio_io_reader_new_fd(open(tgz, O_RDONLY), true, &r));
        assert_ok(goio_io_targz_extract_to_dir(r, out, NULL));
        goio_io_reader_close(r);
        check_tree(out, files, n);
        assert_int_equal(goio_test_system("diff -r '%s' '%s'", src, out), 0);
        /* The hidden temporary directory is gone: only src, out, t.*. */
        assert_int_equal(goio_test_system("ls -A '%s' | grep -q goio-", tmp),
                         1);
        goio_test_rm_rf(out);
        goio_free(out);
        goio_free(data);
        goio_free(tgz);
    }
    goio_free(src);
}

static int extract_op(void *arg)
{
    goio_buf *tgz = arg;
    goio_io_archive_files *got;
    int rc = goio_io_targz_extract(tgz->data, tgz->len, NULL, 0, NULL, &got);
    goio_io_archive_files_free(got);
    return rc;
}

static int write_op(void *arg)
{
    (void)arg;
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *bw;
    int rc = goio_io_writer_new_buf(&out, &bw);
    goio_io_targz_writer *w = NULL;
    if (!rc)
        rc = goio_io_targz_writer_new(bw, NULL, &w);
    if (!rc)
        rc = goio_io_targz_writer_add(w, "a/b", "hello", 5);
    if (w) {
        int crc = goio_io_targz_writer_close(w);
        rc = rc ? rc : crc;
    }
    goio_io_writer_close(bw);
    goio_buf_deinit(&out);
    return rc;
}

static void trim_pool(void *arg)
{
    (void)arg;
    goio_io_bufpool_trim(goio_io_bufpool_default());
}

static void allocation_failures_are_enomem(void **state)
{
    (void)state;
    const tfile files[] = {{"a", "a", 100}, {"b/c", "b/c", 70000}};
    goio_buf tgz = write_targz(files, 2, 1, 0);
    goio_io_bufpool_trim(goio_io_bufpool_default());
    assert_true(goio_test_alloc_torture(write_op, trim_pool, NULL) > 3);
    assert_true(goio_test_alloc_torture(extract_op, trim_pool, &tgz) > 3);
    goio_buf_deinit(&tgz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gzip_output_is_read_by_gzip_and_pigz),
        cmocka_unit_test(gzip_parallel_ratio_is_close_to_serial),
        cmocka_unit_test(gzip_bad_options),
        cmocka_unit_test(tar_and_bsdtar_read_what_goio_writes),
        cmocka_unit_test(file_mode_is_configurable),
        cmocka_unit_test(names_are_normalized_or_refused),
        cmocka_unit_test(short_reader_breaks_the_archive),
        cmocka_unit_test(destination_errors_come_back),
        cmocka_unit_test(goio_reads_what_tar_bsdtar_and_pigz_write),
        cmocka_unit_test(allocation_failures_are_enomem),
    };
    return cmocka_run_group_tests(tests, setup, t_tmp_teardown);
}
