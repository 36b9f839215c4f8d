/* SPDX-License-Identifier: MIT */
/*
 * Zip writing and reading against the real zip and unzip, both ways;
 * deterministic order and bytes; extraction by name and to a directory.
 */
#include "archive_util.h"

static int setup(void **state)
{
    (void)state;
    return t_tmp_setup("zip");
}

typedef struct zfile {
    const char *name;  /* as given */
    const char *clean; /* as stored */
    size_t len;
    bool random; /* incompressible: stored */
} zfile;

static const zfile files[] = {
    {"zeta.txt", "zeta.txt", 5000, false},
    {"/abs//dir/./b.txt", "abs/dir/b.txt", 70000, false},
    {"alpha/empty", "alpha/empty", 0, false},
    {"noise.bin", "noise.bin", 100000, true},
    {"alpha/beta/gamma.json", "alpha/beta/gamma.json", 1 << 20, false},
    {"caf\xc3\xa9.txt", "caf\xc3\xa9.txt", 12, false},
};
#define NFILES (sizeof files / sizeof *files)

static uint8_t *content(size_t i)
{
    return files[i].random ? t_random(files[i].len, (unsigned)i)
                           : t_pattern(files[i].len, (unsigned)i);
}

/* Builds the input in the given index order and compresses it. */
static goio_buf compress(const size_t *order, unsigned threads, int level)
{
    goio_io_zip_input in[NFILES];
    uint8_t *data[NFILES];
    for (size_t k = 0; k < NFILES; k++) {
        size_t i = order[k];
        data[k] = content(i);
        in[k] = (goio_io_zip_input){files[i].name, data[k], files[i].len};
    }
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&out);
    goio_io_zip_config opt;
    goio_io_zip_config_init(&opt);
    opt.threads = threads;
    opt.level = level;
    assert_ok(goio_io_zip_compress(w, in, NFILES, &opt));
    goio_io_writer_close(w);
    for (size_t k = 0; k < NFILES; k++)
        goio_free(data[k]);
    return out;
}

static const size_t forward[NFILES] = {0, 1, 2, 3, 4, 5};
static const size_t backward[NFILES] = {5, 4, 3, 2, 1, 0};
static const size_t shuffled[NFILES] = {3, 0, 5, 1, 4, 2};

static void unzip_reads_what_goio_writes(void **state)
{
    (void)state;
    goio_buf z = compress(shuffled, 1, 6);
    char *path = t_path(tmp, "g.zip");
    assert_int_equal(goio_test_write_file(path, z.data, z.len), 0);
    assert_int_equal(goio_test_system("unzip -tq '%s' >/dev/null", path), 0);
    /* Sorted by name, whatever the input order. */
    int st;
    char *list = goio_test_capture(&st, "unzip -Z1 '%s'", path);
    assert_int_equal(st, 0);
    assert_string_equal(list, "abs/dir/b.txt\nalpha/beta/gamma.json\n"
                              "alpha/empty\ncaf\xc3\xa9.txt\nnoise.bin\n"
                              "zeta.txt\n");
    goio_free(list);
    /* Incompressible data is stored, the rest deflated; mode 0644. */
    list = goio_test_capture(&st, "unzip -Zl '%s'", path);
    assert_non_null(strstr(list, "-rw-r--r--"));
    char *noise = strstr(list, "noise.bin");
    assert_non_null(noise);
    while (noise > list && noise[-1] != '\n')
        noise--;
    assert_non_null(strstr(noise, " stor "));
    assert_non_null(strstr(list, " defN "));
    goio_free(list);
    char *out = t_path(tmp, "u");
    assert_int_equal(goio_test_system("unzip -q '%s' -d '%s'", path, out), 0);
    for (size_t i = 0; i < NFILES; i++) {
        uint8_t *d = content(i);
        t_assert_file(out, files[i].clean, d, files[i].len);
        goio_free(d);
    }
    /* bsdtar reads it too. */
    assert_int_equal(
        goio_test_system("bsdtar -tf '%s' | grep -q gamma.json", path), 0);
    goio_test_rm_rf(out);
    goio_free(out);
    goio_free(path);
    goio_buf_deinit(&z);
}

static void output_is_deterministic(void **state)
{
    (void)state;
    goio_buf a = compress(forward, 1, 6);
    goio_buf b = compress(backward, 1, 6);
    goio_buf c = compress(shuffled, 3, 6); /* threads do not change it */
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.data, c.data, a.len);
    goio_buf s = compress(forward, 2, 0); /* level 0: all stored */
    assert_true(s.len > a.len);
    goio_io_archive_files *got;
    assert_ok(goio_io_zip_extract(s.data, s.len, NULL, 0, NULL, &got));
    assert_int_equal(got->count, NFILES);
    goio_io_archive_files_free(got);
    goio_buf_deinit(&a);
    goio_buf_deinit(&b);
    goio_buf_deinit(&c);
    goio_buf_deinit(&s);
}

static void bad_input_writes_nothing(void **state)
{
    (void)state;
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&out);
    goio_io_zip_input dup[] = {
        {"a/b", "1", 1}, {"x", "2", 1}, {"a//b", "3", 1}};
    assert_goio(GOIO_EEXIST, goio_io_zip_compress(w, dup, 3, NULL));
    goio_io_zip_input up[] = {{"ok", "1", 1}, {"../up", "2", 1}};
    assert_goio(GOIO_EUNSAFEPATH, goio_io_zip_compress(w, up, 2, NULL));
    goio_io_zip_input empty[] = {{"", "1", 1}};
    assert_goio(GOIO_EINVAL, goio_io_zip_compress(w, empty, 1, NULL));
    goio_io_zip_input nul[] = {{NULL, "1", 1}};
    assert_goio(GOIO_EINVAL, goio_io_zip_compress(w, nul, 1, NULL));
    goio_io_zip_input nodata[] = {{"n", NULL, 1}};
    assert_goio(GOIO_EINVAL, goio_io_zip_compress(w, nodata, 1, NULL));
    /* A name the 16-bit length fields cannot hold (it was cut there,
     * leaving a corrupt archive); 65535 bytes still fit. */
    char *name = goio_malloc(65537);
    memset(name, 'n', 65536);
    name[65536] = '\0';
    goio_io_zip_input huge[] = {{name, "1", 1}};
    assert_goio(GOIO_ENAMETOOLONG, goio_io_zip_compress(w, huge, 1, NULL));
    assert_int_equal(out.len, 0);
    name[65535] = '\0';
    goio_buf fits = GOIO_BUF_INIT;
    goio_io_writer *fw = t_buf_writer(&fits);
    assert_ok(goio_io_zip_compress(fw, huge, 1, NULL));
    goio_io_writer_close(fw);
    char *zpath = t_path(tmp, "long-name.zip");
    assert_int_equal(goio_test_write_file(zpath, fits.data, fits.len), 0);
    /* unzip cuts names at 4 KiB: libarchive lists the whole name. */
    assert_int_equal(
        goio_test_system("[ $(bsdtar -tf '%s' | wc -c) = 65536 ]", zpath), 0);
    goio_free(zpath);
    goio_buf_deinit(&fits);
    goio_free(name);
    assert_int_equal(out.len, 0);
    goio_io_zip_config opt;
    goio_io_zip_config_init(&opt);
    opt.level = 11;
    assert_goio(GOIO_EINVAL, goio_io_zip_compress(w, dup, 1, &opt));
    assert_goio(GOIO_EINVAL, goio_io_zip_compress(NULL, dup, 1, NULL));
    assert_goio(GOIO_EINVAL, goio_io_zip_compress(w, NULL, 1, NULL));
    /* No files: a valid empty zip. */
    assert_ok(goio_io_zip_compress(w, NULL, 0, NULL));
    assert_int_equal(out.len, 22);
    goio_io_archive_files *got;
    char *path = t_path(tmp, "empty.zip");
    assert_int_equal(goio_test_write_file(path, out.data, out.len), 0);
    assert_int_equal(
        goio_test_system("unzip -l '%s' 2>&1 | grep -q 'zipfile is empty'",
                         path),
        0);
    goio_free(path);
    assert_ok(goio_io_zip_extract(out.data, out.len, NULL, 0, NULL, &got));
    assert_int_equal(got->count, 0);
    goio_io_archive_files_free(got);
    goio_io_writer_close(w);
    goio_buf_deinit(&out);
}

static void goio_reads_what_zip_writes(void **state)
{
    (void)state;
    char *src = t_path(tmp, "src");
    for (size_t i = 0; i < NFILES; i++) {
        uint8_t *d = content(i);
        t_write(src, files[i].clean, d, files[i].len);
        goio_free(d);
    }
    const char *makers[] = {
        "cd '%s' && zip -qr '%s/z.zip' .",
        "cd '%s' && zip -qr -9 '%s/z.zip' .",
        "cd '%s' && zip -qr -0 '%s/z.zip' .",
        "cd '%s' && bsdtar --format zip -cf '%s/z.zip' .",
        /* streamed: sizes in data descriptors after each entry */
        "cd '%s' && zip -qr - . | cat > '%s/z.zip'",
    };
    for (size_t m = 0; m < sizeof makers / sizeof *makers; m++) {
        char *zpath = t_path(tmp, "z.zip");
        remove(zpath);
        assert_int_equal(goio_test_system(makers[m], src, tmp), 0);
        size_t len;
        uint8_t *data = goio_test_read_file(zpath, &len);
        goio_io_archive_files *got;
        assert_ok(goio_io_zip_extract(data, len, NULL, 0, NULL, &got));
        assert_int_equal(got->count, NFILES);
        for (size_t i = 0; i < NFILES; i++) {
            const goio_io_archive_file *f =
                goio_io_archive_files_find(got, files[i].clean);
            if (!f)
                fail_msg("%s missing (maker %zu)", files[i].clean, m);
            uint8_t *d = content(i);
            assert_int_equal(f->len, files[i].len);
            if (f->len)
                assert_memory_equal(f->data, d, f->len);
            goio_free(d);
        }
        goio_io_archive_files_free(got);
        /* Only the wanted ones; one the archive lacks is just absent. */
        const char *want[] = {"zeta.txt", "alpha/beta/gamma.json", "nope"};
        assert_ok(goio_io_zip_extract(data, len, want, 3, NULL, &got));
        assert_int_equal(got->count, 2);
        assert_non_null(goio_io_archive_files_find(got, "zeta.txt"));
        assert_null(goio_io_archive_files_find(got, "nope"));
        goio_io_archive_files_free(got);
        /* To a directory: the same tree as the source. */
        char *out = t_path(tmp, "out");
        assert_ok(goio_io_zip_extract_to_dir(data, len, out, NULL));
        assert_int_equal(goio_test_system("diff -r '%s' '%s'", src, out), 0);
        /* A second time into the now non-empty directory: refused. */
        assert_goio(GOIO_EEXIST,
                    goio_io_zip_extract_to_dir(data, len, out, NULL));
        goio_test_rm_rf(out);
        goio_free(out);
        goio_free(data);
        goio_free(zpath);
    }
    goio_free(src);
}

static void dispose_returns_buffers_to_the_pool(void **state)
{
    (void)state;
    goio_io_bufpool *pool;
    assert_ok(goio_io_bufpool_new(NULL, &pool));
    goio_buf z = compress(forward, 1, 6);
    goio_io_extract_config opt;
    goio_io_extract_config_init(&opt);
    opt.pool = pool;
    goio_io_archive_files *got;
    assert_ok(goio_io_zip_extract(z.data, z.len, NULL, 0, &opt, &got));
    goio_io_bufpool_stats s;
    assert_ok(goio_io_bufpool_stats_get(pool, &s));
    uint64_t gets = s.gets;
    assert_true(gets >= NFILES);
    goio_io_archive_files_free(got);
    assert_ok(goio_io_bufpool_stats_get(pool, &s));
    assert_true(s.retained >= 3); /* the 4 KiB and 1 MiB class buffers */
    /* A second extraction reuses them. */
    assert_ok(goio_io_zip_extract(z.data, z.len, NULL, 0, &opt, &got));
    goio_io_bufpool_stats s2;
    assert_ok(goio_io_bufpool_stats_get(pool, &s2));
    assert_true(s2.hits >= s.hits + 3);
    goio_io_archive_files_free(got);
    goio_io_archive_files_free(NULL);
    assert_null(goio_io_archive_files_find(NULL, "x"));
    goio_io_bufpool_free(pool);
    goio_buf_deinit(&z);
}

static void many_entries_use_zip64_end_records(void **state)
{
    (void)state;
    size_t n = 70000; /* more than a 16-bit count holds */
    goio_io_zip_input *in = goio_calloc(n, sizeof *in);
    char **names = goio_calloc(n, sizeof *names);
    for (size_t i = 0; i < n; i++) {
        goio_buf b = GOIO_BUF_INIT;
        goio_buf_appendf(&b, "d%zu/f%zu", i % 97, i);
        names[i] = (char *)goio_buf_detach(&b, NULL);
        in[i] = (goio_io_zip_input){names[i], names[i], strlen(names[i])};
    }
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&out);
    assert_ok(goio_io_zip_compress(w, in, n, NULL));
    goio_io_writer_close(w);
    char *path = t_path(tmp, "many.zip");
    assert_int_equal(goio_test_write_file(path, out.data, out.len), 0);
    int st;
    char *count = goio_test_capture(&st, "unzip -Z1 '%s' | wc -l", path);
    assert_int_equal(atoi(count), (int)n);
    goio_free(count);
    goio_io_extract_config opt;
    goio_io_extract_config_init(&opt);
    goio_io_archive_files *got;
    /* Over the default entry limit... */
    assert_goio(GOIO_ELIMIT,
                goio_io_zip_extract(out.data, out.len, NULL, 0, &opt, &got));
    /* ... which counts the 97 directories the names imply. */
    opt.max_entries = n + 96;
    assert_goio(GOIO_ELIMIT,
                goio_io_zip_extract(out.data, out.len, NULL, 0, &opt, &got));
    opt.max_entries = n + 97;
    assert_ok(goio_io_zip_extract(out.data, out.len, NULL, 0, &opt, &got));
    assert_int_equal(got->count, n);
    goio_io_archive_files_free(got);
    for (size_t i = 0; i < n; i++)
        goio_free(names[i]);
    goio_free(names);
    goio_free(in);
    goio_free(path);
    goio_buf_deinit(&out);
}

static goio_buf small_zip;

static int compress_op(void *arg)
{
    (void)arg;
    goio_io_zip_input in[] = {{"b", "hello hello hello", 17}, {"a/x", "y", 1}};
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *w;
    int rc = goio_io_writer_new_buf(&out, &w);
    if (!rc)
        rc = goio_io_zip_compress(w, in, 2, NULL);
    goio_io_writer_close(w);
    goio_buf_deinit(&out);
    return rc;
}

static int extract_op(void *arg)
{
    (void)arg;
    goio_io_archive_files *got;
    int rc =
        goio_io_zip_extract(small_zip.data, small_zip.len, NULL, 0, NULL, &got);
    goio_io_archive_files_free(got);
    return rc;
}

static int extract_dir_op(void *arg)
{
    const char *dir = arg;
    int rc =
        goio_io_zip_extract_to_dir(small_zip.data, small_zip.len, dir, NULL);
    /* Failed or not, never anything half-written. */
    if (rc)
        assert_false(t_exists(dir));
    return rc;
}

static void remove_dir(void *arg)
{
    goio_io_bufpool_trim(goio_io_bufpool_default());
    char *parent = goio_strdup(arg);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(t_count_dir(parent), t_exists(arg) ? 1 : 0);
    goio_test_rm_rf(arg); /* the clean run's, for the next run */
    goio_free(parent);
}

static void trim_pool(void *arg)
{
    (void)arg;
    goio_io_bufpool_trim(goio_io_bufpool_default());
}

static void allocation_failures_are_enomem(void **state)
{
    (void)state;
    goio_io_zip_input in[] = {{"b", "hello hello hello", 17}, {"a/x", "y", 1}};
    goio_io_writer *w = t_buf_writer(&small_zip);
    assert_ok(goio_io_zip_compress(w, in, 2, NULL));
    goio_io_writer_close(w);
    goio_io_bufpool_trim(goio_io_bufpool_default());
    assert_true(goio_test_alloc_torture(compress_op, trim_pool, NULL) > 2);
    assert_true(goio_test_alloc_torture(extract_op, trim_pool, NULL) > 2);
    char *parent = t_path(tmp, "torture");
    t_mkdirs(parent);
    char *dir = t_path(parent, "out");
    assert_true(goio_test_alloc_torture(extract_dir_op, remove_dir, dir) > 2);
    assert_ok(extract_dir_op(dir));
    t_assert_file(dir, "a/x", "y", 1);
    goio_free(dir);
    goio_free(parent);
    goio_buf_deinit(&small_zip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unzip_reads_what_goio_writes),
        cmocka_unit_test(output_is_deterministic),
        cmocka_unit_test(bad_input_writes_nothing),
        cmocka_unit_test(goio_reads_what_zip_writes),
        cmocka_unit_test(dispose_returns_buffers_to_the_pool),
        cmocka_unit_test(many_entries_use_zip64_end_records),
        cmocka_unit_test(allocation_failures_are_enomem),
    };
    return cmocka_run_group_tests(tests, setup, t_tmp_teardown);
}
