/* SPDX-License-Identifier: MIT */
/*
 * Hostile archive shapes (issue 16): costs no limit used to count and
 * places where the two extraction modes, the two formats or goio and the
 * usual tools disagreed. Every shape is generated here, at test time, and
 * cross-checked with bsdtar, GNU tar or unzip where they have a say.
 */
#define _GNU_SOURCE /* memmem */
#include "archive_craft.h"

#include <pthread.h>

static int setup(void **state)
{
    (void)state;
    return t_tmp_setup("hostile");
}

/* ---- helpers ----------------------------------------------------------- */

/* gzips p[0..n), then `zeros` zero bytes, into one gzip stream. */
static goio_buf gzip_of(const void *p, size_t n, size_t zeros)
{
    goio_buf out = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&out), *gz;
    goio_io_gzip_config o;
    goio_io_gzip_config_init(&o);
    o.level = 1;
    assert_ok(goio_io_gzip_writer_new(bw, &o, &gz));
    if (n)
        assert_ok(goio_io_write(gz, p, n));
    uint8_t *z = goio_calloc(1, 1 << 20);
    while (zeros) {
        size_t k = zeros < (1 << 20) ? zeros : (1 << 20);
        assert_ok(goio_io_write(gz, z, k));
        zeros -= k;
    }
    goio_free(z);
    assert_ok(goio_io_writer_close(gz));
    goio_io_writer_close(bw);
    return out;
}

static goio_buf zip_of(const goio_io_zip_input *in, size_t n, int level)
{
    goio_buf z = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&z);
    goio_io_zip_config o;
    goio_io_zip_config_init(&o);
    o.level = level;
    assert_ok(goio_io_zip_compress(w, in, n, &o));
    goio_io_writer_close(w);
    return z;
}

/* The i-th central directory record of a zip goio wrote. */
static uint8_t *zip_central(goio_buf *z, int i)
{
    uint8_t *c = memmem(z->data, z->len, "PK\1\2", 4);
    for (; c && i > 0; i--)
        c = memmem(c + 4, z->len - (size_t)(c + 4 - z->data), "PK\1\2", 4);
    assert_non_null(c);
    return c;
}

static char *save(const char *name, const goio_buf *b)
{
    char *path = t_path(tmp, name);
    assert_int_equal(goio_test_write_file(path, b->data, b->len), 0);
    return path;
}

/* Objects (files, directories, links) under dir, dir itself excluded. */
static int count_tree(const char *dir)
{
    int st;
    char *out = goio_test_capture(&st, "find '%s' -mindepth 1 | wc -l", dir);
    assert_non_null(out);
    int n = atoi(out);
    goio_free(out);
    return n;
}

static goio_io_extract_config defaults(void)
{
    goio_io_extract_config o;
    goio_io_extract_config_init(&o);
    return o;
}

/* ---- 1: implicit parent directories ----------------------------------- */

/* "dNNNNN/a/a/.../a/f", 2040 levels: the shape that took 127 MB (20
 * entries) and 563 MB (100 entries) and returned 0 under default limits. */
static goio_buf deep_chains(size_t entries)
{
    craft *c = goio_calloc(entries, sizeof *c);
    char **names = goio_calloc(entries, sizeof *names);
    for (size_t i = 0; i < entries; i++) {
        goio_buf b = GOIO_BUF_INIT;
        goio_buf_appendf(&b, "d%05zu/", i);
        for (int k = 0; k < 2040; k++)
            goio_buf_append_str(&b, "a/");
        goio_buf_append_str(&b, "f");
        goio_buf_cstr(&b);
        names[i] = (char *)goio_buf_detach(&b, NULL);
        c[i] = (craft){REG, names[i], NULL, 0};
    }
    goio_buf out = make(TARGZ, c, entries);
    for (size_t i = 0; i < entries; i++)
        goio_free(names[i]);
    goio_free(names);
    goio_free(c);
    return out;
}

static void implicit_directories_count_as_entries(void **state)
{
    (void)state;
    /* 20 deep chains: 40,820 implicit directories, over 10000. */
    goio_buf b = deep_chains(20);
    assert_true(b.len < 4096);
    expect_refused_with(TARGZ, &b, GOIO_ELIMIT, NULL);
    /* One chain (2041 directories + the file) fits the default. */
    goio_buf one = deep_chains(1);
    goio_io_archive_files *got;
    assert_ok(extract_mem(TARGZ, &one, NULL, &got));
    assert_int_equal(got->count, 1);
    goio_io_archive_files_free(got);
    goio_io_extract_config o = defaults();
    o.max_entries = 2041; /* the file is the 2042nd */
    expect_refused_with(TARGZ, &one, GOIO_ELIMIT, &o);
    goio_buf_deinit(&one);
    goio_buf_deinit(&b);

    /* The count is what bsdtar creates on disk: every directory, implied
     * or listed, and every file, each once. */
    craft c[] = {{REG, "x/y/f1", "1", 0},
                 {REG, "x/y/f2", "2", 0},
                 {DIR_, "x/z", NULL, 0},
                 {REG, "x/z/g", "3", 0},
                 {REG, "h", "4", 0}};
    for (int f = 0; f < 2; f++) {
        fmt ff = f ? ZIP : TARGZ;
        goio_buf a = make(ff, c, N(c));
        char *path = save(f ? "implied.zip" : "implied.tgz", &a);
        char *ref = t_path(tmp, "implied-ref");
        t_mkdirs(ref);
        assert_int_equal(goio_test_system("bsdtar -xf '%s' -C '%s'", path, ref),
                         0);
        int objects = count_tree(ref);
        assert_int_equal(objects, 7); /* x x/y f1 f2 x/z g h */
        o = defaults();
        o.max_entries = (uint64_t)objects;
        assert_ok(extract_mem(ff, &a, &o, &got));
        goio_io_archive_files_free(got);
        char *out = t_path(tmp, "implied-out");
        assert_ok(extract_dir(ff, &a, out, &o));
        assert_int_equal(count_tree(out), objects);
        o.max_entries = (uint64_t)objects - 1;
        expect_refused_with(ff, &a, GOIO_ELIMIT, &o);
        goio_test_rm_rf(out);
        goio_test_rm_rf(ref);
        goio_free(out);
        goio_free(ref);
        goio_free(path);
        goio_buf_deinit(&a);
    }
}

static void remembered_names_are_bounded(void **state)
{
    (void)state;
    /* 200 files under one 2040-level prefix: the prefix is remembered
     * once (2041 + 200 x 4 bytes of components), not once per file. */
    enum { FILES = 200 };
    goio_buf prefix = GOIO_BUF_INIT;
    goio_buf_append_str(&prefix, "p/");
    for (int k = 0; k < 2040; k++)
        goio_buf_append_str(&prefix, "a/");
    craft c[FILES];
    char *names[FILES];
    for (int i = 0; i < FILES; i++) {
        goio_buf b = GOIO_BUF_INIT;
        goio_buf_appendf(&b, "%sf%03d", goio_buf_cstr(&prefix), i);
        names[i] = (char *)goio_buf_detach(&b, NULL);
        c[i] = (craft){REG, names[i], "x", 0};
    }
    goio_buf deep = make(TARGZ, c, FILES);
    goio_io_extract_config o = defaults();
    o.max_name_bytes = 2041 + FILES * 4;
    goio_io_archive_files *got;
    assert_ok(extract_mem(TARGZ, &deep, &o, &got));
    assert_int_equal(got->count, FILES);
    goio_io_archive_files_free(got);
    char *out = t_path(tmp, "shared-prefix");
    goio_io_reader *r;
    assert_ok(goio_io_reader_new_mem(deep.data, deep.len, &r));
    assert_ok(goio_io_targz_extract_to_dir(r, out, &o));
    goio_io_reader_close(r);
    assert_int_equal(count_tree(out), 2041 + FILES);
    goio_test_rm_rf(out);
    goio_free(out);
    o.max_name_bytes = 2041 + FILES * 4 - 1;
    expect_refused_with(TARGZ, &deep, GOIO_ELIMIT, &o);
    for (int i = 0; i < FILES; i++)
        goio_free(names[i]);
    goio_buf_deinit(&deep);
    goio_buf_deinit(&prefix);

    /* Distinct long components add up: 100 x 200 bytes. */
    craft l[100];
    char *ln[100];
    for (int i = 0; i < 100; i++) {
        ln[i] = goio_malloc(201);
        memset(ln[i], 'a' + i % 26, 200);
        snprintf(ln[i], 201, "%03d", i);
        ln[i][3] = 'x'; /* snprintf's NUL */
        ln[i][200] = '\0';
        l[i] = (craft){REG, ln[i], "y", 0};
    }
    for (int f = 0; f < 2; f++) {
        goio_buf b = make(f ? ZIP : TARGZ, l, 100);
        o = defaults();
        o.max_name_bytes = 100 * 200;
        assert_ok(extract_mem(f ? ZIP : TARGZ, &b, &o, &got));
        goio_io_archive_files_free(got);
        o.max_name_bytes = 100 * 200 - 1;
        expect_refused_with(f ? ZIP : TARGZ, &b, GOIO_ELIMIT, &o);
        goio_buf_deinit(&b);
    }
    for (int i = 0; i < 100; i++)
        goio_free(ln[i]);
    /* 0 means the default, not "nothing". */
    o = defaults();
    assert_int_equal(o.max_name_bytes, GOIO_EXTRACT_NAME_BYTES);
    o.max_name_bytes = 0;
    craft one[] = {{REG, "a", "b", 0}};
    goio_buf b = make(TARGZ, one, 1);
    assert_ok(extract_mem(TARGZ, &b, &o, &got));
    goio_io_archive_files_free(got);
    goio_buf_deinit(&b);
}

/* ---- 2: data after the tar's end --------------------------------------- */

static void data_after_the_tar_end_counts(void **state)
{
    (void)state;
    craft c[] = {{REG, "small", "hello", 0}};
    goio_buf tar = make(TAR_RAW, c, 1);
    size_t zeros = 64 << 20;
    goio_buf t = gzip_of(tar.data, tar.len, zeros);
    /* bsdtar and GNU tar read the one file and stop at the end marker. */
    char *path = save("trailing.tgz", &t);
    int st;
    char *list = goio_test_capture(&st, "bsdtar -tzf '%s'", path);
    assert_int_equal(st, 0);
    assert_string_equal(list, "small\n");
    goio_free(list);
    list = goio_test_capture(&st, "tar -tzf '%s' 2>/dev/null", path);
    assert_string_equal(list, "small\n");
    goio_free(list);
    /* goio inflates the rest (for the CRC) and counts it: ~1000:1 is over
     * the default ratio... */
    expect_refused_with(TARGZ, &t, GOIO_ELIMIT, NULL);
    /* ... and past max_total_bytes without a ratio check ... */
    goio_io_extract_config o = defaults();
    o.max_ratio = 0;
    o.max_total_bytes = 32 << 20;
    expect_refused_with(TARGZ, &t, GOIO_ELIMIT, &o);
    /* ... and passes once both allow it. */
    o.max_total_bytes = 128 << 20;
    goio_io_archive_files *got;
    assert_ok(extract_mem(TARGZ, &t, &o, &got));
    assert_int_equal(got->count, 1);
    goio_io_archive_files_free(got);
    /* GNU tar's usual padding (to 10 KiB records) is nothing to refuse. */
    char *src = t_path(tmp, "padded");
    t_write(src, "f", "data", 4);
    assert_int_equal(
        goio_test_system("tar -czf '%s/padded.tgz' -C '%s' f", tmp, src), 0);
    char *pp = t_path(tmp, "padded.tgz");
    size_t len;
    uint8_t *d = goio_test_read_file(pp, &len);
    o = defaults();
    o.max_total_bytes = 10240;
    assert_ok(goio_io_targz_extract(d, len, NULL, 0, &o, &got));
    goio_io_archive_files_free(got);
    goio_free(d);
    goio_free(pp);
    goio_free(src);
    goio_free(path);
    goio_buf_deinit(&t);
    goio_buf_deinit(&tar);
}

/* ---- 3: zip central and local names ------------------------------------ */

static void zip_name_mismatch_is_refused(void **state)
{
    (void)state;
    /* The local header says "safe.txt", the central directory (what
     * unzip lists) "../x.txt": libarchive alone extracted "safe.txt". */
    goio_io_zip_input in[] = {{"safe.txt", "data", 4}};
    goio_buf z = zip_of(in, 1, 6);
    memcpy(zip_central(&z, 0) + 46, "../x.txt", 8);
    char *path = save("mismatch.zip", &z);
    int st;
    char *list = goio_test_capture(&st, "unzip -Z1 '%s'", path);
    assert_string_equal(list, "../x.txt\n");
    goio_free(list);
    expect_refused_with(ZIP, &z, GOIO_EBADMSG, NULL);
    goio_free(path);
    goio_buf_deinit(&z);

    /* Two central names over one local header: both are "a.txt" there. */
    goio_io_zip_input two[] = {{"a.txt", "1", 1}, {"b.txt", "2", 1}};
    z = zip_of(two, 2, 0);
    uint8_t *c0 = zip_central(&z, 0), *c1 = zip_central(&z, 1);
    memcpy(c1 + 42, c0 + 42, 4); /* b's local header offset := a's */
    memcpy(c1 + 16, c0 + 16, 4); /* and a's CRC, so only names differ */
    expect_refused_with(ZIP, &z, GOIO_EBADMSG, NULL);
    goio_buf_deinit(&z);

    /* Names that differ only in the central directory's case. */
    goio_io_zip_input one[] = {{"name", "x", 1}};
    z = zip_of(one, 1, 6);
    memcpy(zip_central(&z, 0) + 46, "NAME", 4);
    expect_refused_with(ZIP, &z, GOIO_EBADMSG, NULL);
    goio_buf_deinit(&z);

    /* Prepended bytes (a self-extractor stub) shift every offset; the
     * names still match and the zip still reads, as with unzip. */
    z = zip_of(one, 1, 6);
    goio_buf sfx = GOIO_BUF_INIT;
    goio_buf_append_str(&sfx, "#!/bin/sh\nexit 0\n");
    goio_buf_append(&sfx, z.data, z.len);
    path = save("sfx.zip", &sfx);
    /* unzip warns about the stub (status 1) and tests the entry fine. */
    st = goio_test_system("unzip -tq '%s' >/dev/null 2>&1", path);
    assert_true(st == 0 || st == 1);
    goio_io_archive_files *got;
    assert_ok(goio_io_zip_extract(sfx.data, sfx.len, NULL, 0, NULL, &got));
    assert_int_equal(got->count, 1);
    goio_io_archive_files_free(got);
    goio_free(path);
    goio_buf_deinit(&sfx);
    goio_buf_deinit(&z);
}

/* ---- 4: a symlink replacing a file ------------------------------------- */

static void memory_and_directory_agree_on_replaced_files(void **state)
{
    (void)state;
    goio_io_extract_config o = defaults();
    o.allow_symlinks = true;
    o.duplicates = GOIO_DUP_LAST_WINS;
    craft link_wins[] = {{REG, "s", "stale", 0},
                         {SYMLINK, "s", "t", 0},
                         {REG, "t", "target", 0}};
    craft file_wins[] = {{SYMLINK, "s", "t", 0},
                         {REG, "s", "fresh", 0},
                         {REG, "t", "target", 0}};
    for (int f = 0; f < 2; f++) {
        fmt ff = f ? ZIP : TARGZ;
        for (int w = 0; w < 2; w++) {
            goio_buf b = make(ff, w ? file_wins : link_wins, 3);
            char *path = save(f ? "replace.zip" : "replace.tgz", &b);
            char *ref = t_path(tmp, "replace-ref");
            char *out = t_path(tmp, "replace-out");
            t_mkdirs(ref);
            assert_int_equal(
                goio_test_system("bsdtar -xf '%s' -C '%s'", path, ref), 0);
            assert_ok(extract_dir(ff, &b, out, &o));
            goio_io_archive_files *got;
            assert_ok(extract_mem(ff, &b, &o, &got));
            char *rs = t_path(ref, "s"), *os = t_path(out, "s");
            struct stat rst, ost;
            assert_int_equal(lstat(rs, &rst), 0);
            assert_int_equal(lstat(os, &ost), 0);
            /* goio's directory is what bsdtar makes ... */
            assert_int_equal(S_ISLNK(rst.st_mode), S_ISLNK(ost.st_mode));
            /* ... and memory holds "s" exactly when it is a file there. */
            const goio_io_archive_file *s =
                goio_io_archive_files_find(got, "s");
            if (w) {
                assert_true(S_ISREG(ost.st_mode));
                assert_non_null(s);
                assert_int_equal(s->len, 5);
                assert_memory_equal(s->data, "fresh", 5);
                t_assert_file(out, "s", "fresh", 5);
            } else {
                assert_true(S_ISLNK(ost.st_mode));
                assert_null(s);
            }
            assert_int_equal(got->count, 2 - !w);
            assert_non_null(goio_io_archive_files_find(got, "t"));
            goio_io_archive_files_free(got);
            goio_test_rm_rf(out);
            goio_test_rm_rf(ref);
            goio_free(rs);
            goio_free(os);
            goio_free(out);
            goio_free(ref);
            goio_free(path);
            goio_buf_deinit(&b);
        }
    }
}

/* ---- 5: the log record names the refused entry ------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_key[256];
static int last_err, refusals;

static void capture(const goio_log_record *rec, void *data)
{
    (void)data;
    if (strcmp(rec->code, "archive_refused"))
        return;
    pthread_mutex_lock(&log_mu);
    snprintf(last_key, sizeof last_key, "%s", rec->key ? rec->key : "(null)");
    last_err = rec->error;
    refusals++;
    pthread_mutex_unlock(&log_mu);
}

static void expect_logged(fmt f, const craft *c, size_t n, int code,
                          const char *key)
{
    goio_buf b = make(f, c, n);
    int before = refusals;
    goio_io_archive_files *got;
    assert_goio(code, extract_mem(f, &b, NULL, &got));
    assert_int_equal(refusals, before + 1);
    assert_int_equal(last_err, code);
    assert_string_equal(last_key, key);
    goio_buf_deinit(&b);
}

static void refusal_log_names_the_refused_entry(void **state)
{
    (void)state;
    goio_log_set_sink(capture, NULL);
    for (int f = 0; f < 2; f++) {
        fmt ff = f ? ZIP : TARGZ;
        craft after[] = {{REG, "fine", "x", 0}, {REG, "../evil", "y", 0}};
        expect_logged(ff, after, 2, GOIO_EUNSAFEPATH, "../evil");
        craft first[] = {{REG, "/abs", "y", 0}, {REG, "fine", "x", 0}};
        expect_logged(ff, first, 2, GOIO_EUNSAFEPATH, "/abs");
        craft dup[] = {
            {REG, "a", "1", 0}, {REG, "b", "2", 0}, {REG, "a", "3", 0}};
        expect_logged(ff, dup, 3, GOIO_EEXIST, "a");
        craft special[] = {{REG, "ok", "1", 0}, {FIFO, "pipe", NULL, 0}};
        if (ff == TARGZ)
            expect_logged(ff, special, 2, GOIO_EUNSUPPORTED_ENTRY, "pipe");
    }
    /* A zip whose names disagree: the central one is named. */
    goio_io_zip_input in[] = {{"safe.txt", "data", 4}};
    goio_buf z = zip_of(in, 1, 6);
    memcpy(zip_central(&z, 0) + 46, "../x.txt", 8);
    goio_io_archive_files *got;
    assert_goio(GOIO_EBADMSG,
                goio_io_zip_extract(z.data, z.len, NULL, 0, NULL, &got));
    assert_string_equal(last_key, "../x.txt");
    goio_buf_deinit(&z);
    goio_log_set_sink(NULL, NULL);
}

/* ---- 6: codes ---------------------------------------------------------- */

static void zip_methods_without_a_decoder_are_unsupported(void **state)
{
    (void)state;
    const unsigned methods[] = {9 /* Deflate64 */, 99, 200};
    for (size_t i = 0; i < N(methods); i++) {
        goio_io_zip_input in[] = {{"ok", "fine", 4}, {"m", "payload", 7}};
        goio_buf z = zip_of(in, 2, 0);
        uint8_t *c = zip_central(&z, 1);
        uint8_t *l = z.data + (c[42] | c[43] << 8);
        assert_memory_equal(l, "PK\3\4", 4);
        l[8] = c[10] = (uint8_t)methods[i];
        l[9] = c[11] = 0;
        if (methods[i] == 99) {
            /* unzip agrees it cannot decode it. */
            char *path = save("method.zip", &z);
            int st;
            char *o = goio_test_capture(&st, "unzip -t '%s' 2>&1", path);
            assert_non_null(strstr(o, "unsupported compression method 99"));
            goio_free(o);
            goio_free(path);
        }
        expect_refused_with(ZIP, &z, GOIO_EUNSUPPORTED_ENTRY, NULL);
        goio_buf_deinit(&z);
    }
}

/* A GNU sparse file made by GNU tar; false when the filesystem under tmp
 * keeps no holes (tar then stores it plain). */
static bool sparse_tar(const char *layout, const char *format, goio_buf *out)
{
    char *src = t_path(tmp, "sparse-src");
    t_mkdirs(src);
    assert_int_equal(goio_test_system("cd '%s' && rm -f sp && %s", src, layout),
                     0);
    assert_int_equal(goio_test_system("tar --sparse --format=%s -cf "
                                      "'%s/sp.tar' -C '%s' sp",
                                      format, tmp, src),
                     0);
    char *tp = t_path(tmp, "sp.tar");
    size_t len;
    uint8_t *d = goio_test_read_file(tp, &len);
    bool sparse =
        len > 512 && (d[156] == 'S' || memmem(d, len, "GNU.sparse", 10));
    *out = gzip_of(d, len, 0);
    goio_free(d);
    goio_free(tp);
    goio_test_rm_rf(src);
    goio_free(src);
    return sparse;
}

static void sparse_files_are_unsupported(void **state)
{
    (void)state;
    /* Data then a trailing hole (was ETRUNCATED), a hole then data. */
    const char *layouts[] = {
        "printf data > sp && truncate -s 1M sp",
        "truncate -s 1M sp && printf data >> sp",
        "printf data > sp && truncate -s 1M sp && printf end >> sp "
        "&& truncate -s 2M sp",
    };
    const char *formats[] = {"gnu", "posix"};
    int checked = 0;
    for (size_t i = 0; i < N(layouts); i++) {
        for (size_t f = 0; f < N(formats); f++) {
            goio_buf t;
            if (!sparse_tar(layouts[i], formats[f], &t)) {
                goio_buf_deinit(&t);
                continue;
            }
            expect_refused_with(TARGZ, &t, GOIO_EUNSUPPORTED_ENTRY, NULL);
            checked++;
            goio_buf_deinit(&t);
        }
    }
    if (!checked)
        printf("SKIP sparse shapes: the filesystem under %s keeps no "
               "holes, tar stored every file plain\n",
               tmp);
}

static void empty_gzip_is_an_empty_archive(void **state)
{
    (void)state;
    goio_buf g = gzip_of(NULL, 0, 0);
    char *path = save("empty.tgz", &g);
    /* bsdtar reads it as an empty archive too. */
    int st;
    char *list = goio_test_capture(&st, "bsdtar -tzf '%s'", path);
    assert_int_equal(st, 0);
    assert_string_equal(list, "");
    goio_free(list);
    goio_io_archive_files *got;
    assert_ok(goio_io_targz_extract(g.data, g.len, NULL, 0, NULL, &got));
    assert_int_equal(got->count, 0);
    goio_io_archive_files_free(got);
    char *out = t_path(tmp, "empty-out");
    assert_ok(extract_dir(TARGZ, &g, out, NULL));
    assert_int_equal(t_count_dir(out), 0);
    goio_test_rm_rf(out);
    /* A cut one is still truncated, and no gzip at all still bad. */
    assert_goio(GOIO_ETRUNCATED,
                goio_io_targz_extract(g.data, g.len - 4, NULL, 0, NULL, &got));
    assert_goio(GOIO_EBADMSG,
                goio_io_targz_extract("\0\0\0\0", 4, NULL, 0, NULL, &got));
    goio_free(out);
    goio_free(path);
    goio_buf_deinit(&g);
}

/* ---- 7: entries not wanted are checked all the same -------------------- */

static void entries_not_wanted_are_checked(void **state)
{
    (void)state;
    const char *want[] = {"wanted"};
    goio_io_archive_files *got;
    /* A bad CRC in an entry not asked for (stored, one byte changed). */
    goio_io_zip_input in[] = {{"other", "0123456789", 10}, {"wanted", "w", 1}};
    goio_buf z = zip_of(in, 2, 0);
    assert_ok(goio_io_zip_extract(z.data, z.len, want, 1, NULL, &got));
    goio_io_archive_files_free(got);
    ((uint8_t *)memmem(z.data, z.len, "0123456789", 10))[3] = 'X';
    assert_goio(GOIO_EBADMSG,
                goio_io_zip_extract(z.data, z.len, want, 1, NULL, &got));
    assert_null(got);
    goio_buf_deinit(&z);
    /* A lying size. */
    z = zip_of(in, 2, 0);
    zip_central(&z, 0)[24] = 12; /* uncompressed size 12, not 10 */
    assert_goio(GOIO_EBADMSG,
                goio_io_zip_extract(z.data, z.len, want, 1, NULL, &got));
    goio_buf_deinit(&z);
    /* A bomb. */
    size_t big = 64 << 20;
    uint8_t *zeros = goio_calloc(1, big);
    goio_io_zip_input bomb[] = {{"other", zeros, big}, {"wanted", "w", 1}};
    z = zip_of(bomb, 2, 1);
    assert_goio(GOIO_ELIMIT,
                goio_io_zip_extract(z.data, z.len, want, 1, NULL, &got));
    goio_buf_deinit(&z);
    /* The same in a tar.gz. */
    goio_buf t = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&t);
    goio_io_targz_config to;
    goio_io_targz_config_init(&to);
    to.gzip.level = 1;
    goio_io_targz_writer *tw;
    assert_ok(goio_io_targz_writer_new(w, &to, &tw));
    assert_ok(goio_io_targz_writer_add(tw, "other", zeros, big));
    assert_ok(goio_io_targz_writer_add(tw, "wanted", "w", 1));
    assert_ok(goio_io_targz_writer_close(tw));
    goio_io_writer_close(w);
    assert_goio(GOIO_ELIMIT,
                goio_io_targz_extract(t.data, t.len, want, 1, NULL, &got));
    goio_io_extract_config o = defaults();
    o.max_ratio = 0;
    assert_ok(goio_io_targz_extract(t.data, t.len, want, 1, &o, &got));
    assert_int_equal(got->count, 1);
    assert_string_equal(got->files[0].name, "wanted");
    goio_io_archive_files_free(got);
    goio_buf_deinit(&t);
    goio_free(zeros);
}

int main(void)
{
    goio_log_set_sink(NULL, NULL); /* refusals are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(implicit_directories_count_as_entries),
        cmocka_unit_test(remembered_names_are_bounded),
        cmocka_unit_test(data_after_the_tar_end_counts),
        cmocka_unit_test(zip_name_mismatch_is_refused),
        cmocka_unit_test(memory_and_directory_agree_on_replaced_files),
        cmocka_unit_test(refusal_log_names_the_refused_entry),
        cmocka_unit_test(zip_methods_without_a_decoder_are_unsupported),
        cmocka_unit_test(sparse_files_are_unsupported),
        cmocka_unit_test(empty_gzip_is_an_empty_archive),
        cmocka_unit_test(entries_not_wanted_are_checked),
    };
    return cmocka_run_group_tests(tests, setup, t_tmp_teardown);
}
