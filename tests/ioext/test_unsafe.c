/* SPDX-License-Identifier: MIT */
/*
 * Unsafe archives of every shape, crafted here with libarchive's writer
 * (or by patching bytes), must be refused with the right code, to memory
 * and to a directory, leaving nothing behind and nothing outside.
 */
#define _GNU_SOURCE /* memmem */
#include "archive_craft.h"

#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    return t_tmp_setup("unsafe");
}

static void bad_names_are_unsafe(void **state)
{
    (void)state;
    const char *names[] = {"../evil", "/abs/evil", "a/../../evil", "a/../b",
                           "ok/../../../../tmp/evil"};
    for (size_t i = 0; i < N(names); i++) {
        craft c[] = {{REG, "fine", "x", 0}, {REG, names[i], "bad", 0}};
        expect_refused(TARGZ, c, N(c), GOIO_EUNSAFEPATH, NULL);
        expect_refused(ZIP, c, N(c), GOIO_EUNSAFEPATH, NULL);
    }
}

static void links_pointing_outside_are_unsafe(void **state)
{
    (void)state;
    goio_io_extract_config allow;
    goio_io_extract_config_init(&allow);
    allow.allow_symlinks = true;
    const craft shapes[][3] = {
        {{SYMLINK, "l", "/etc/passwd", 0}},
        {{SYMLINK, "l", "../../outside", 0}},
        {{SYMLINK, "d/l", "../../outside", 0}},
        /* lexically inside, but "l" is "." so "l/.." is the parent */
        {{SYMLINK, "l", ".", 0}, {SYMLINK, "m", "l/..", 0}},
        {{SYMLINK, "l", "sub/../..", 0}},
        {{HARDLINK, "h", "../outside", 0}},
        {{HARDLINK, "h", "/etc/passwd", 0}},
    };
    const size_t counts[] = {1, 1, 1, 2, 1, 1, 1};
    for (size_t i = 0; i < N(shapes); i++) {
        for (int f = 0; f < 2; f++) {
            fmt ff = f ? ZIP : TARGZ;
            if (ff == ZIP && shapes[i][0].k == HARDLINK)
                continue; /* zip has no hard links */
            /* Without the opt-in, the first (inside) link of the
             * two-link shape is already unsupported. */
            expect_refused(ff, shapes[i], counts[i],
                           counts[i] == 2 ? GOIO_EUNSUPPORTED_ENTRY
                                          : GOIO_EUNSAFEPATH,
                           NULL);
            expect_refused(ff, shapes[i], counts[i], GOIO_EUNSAFEPATH, &allow);
        }
    }
}

static void nothing_is_written_through_a_symlink(void **state)
{
    (void)state;
    goio_io_extract_config allow;
    goio_io_extract_config_init(&allow);
    allow.allow_symlinks = true;
    /* "l" -> "sub" stays inside, but "l/x" would be created through it. */
    craft c[] = {{DIR_, "sub", NULL, 0},
                 {SYMLINK, "l", "sub", 0},
                 {REG, "l/x", "through", 0}};
    expect_refused(TARGZ, c, N(c), GOIO_EUNSAFEPATH, &allow);
    expect_refused(ZIP, c, N(c), GOIO_EUNSAFEPATH, &allow);
}

static void special_entries_are_unsupported(void **state)
{
    (void)state;
    const craft shapes[] = {
        {CHR, "null", NULL, 0},
        {BLK, "disk", NULL, 0},
        {FIFO, "pipe", NULL, 0},
        {HARDLINK, "h", "file", 0}, /* inside, but not supported */
        {SYMLINK, "l", "file", 0},  /* inside, but not opted in */
    };
    for (size_t i = 0; i < N(shapes); i++) {
        craft c[] = {{REG, "file", "data", 0}, shapes[i]};
        expect_refused(TARGZ, c, N(c), GOIO_EUNSUPPORTED_ENTRY, NULL);
    }
    /* A fifo in a zip: libarchive writes none, so patch a regular entry's
     * Unix mode in the central directory to S_IFIFO. libarchive's zip
     * reader takes only directories and symlinks from zip modes: it comes
     * out as a plain file, never a fifo. */
    goio_buf z = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&z);
    goio_io_zip_input in[] = {{"pipe", "x", 1}};
    assert_ok(goio_io_zip_compress(w, in, 1, NULL));
    goio_io_writer_close(w);
    uint8_t *cd = memmem(z.data, z.len, "PK\1\2", 4);
    assert_non_null(cd);
    uint32_t attr = 0010644u << 16; /* S_IFIFO | 0644 */
    for (int i = 0; i < 4; i++)
        cd[38 + i] = (uint8_t)(attr >> (8 * i));
    char *out = t_path(tmp, "fifo");
    assert_ok(goio_io_zip_extract_to_dir(z.data, z.len, out, NULL));
    char *p = t_path(out, "pipe");
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    goio_free(p);
    goio_test_rm_rf(out);
    goio_free(out);
    goio_buf_deinit(&z);
}

static void allowed_symlinks_are_created(void **state)
{
    (void)state;
    goio_io_extract_config allow;
    goio_io_extract_config_init(&allow);
    allow.allow_symlinks = true;
    craft c[] = {{DIR_, "d", NULL, 0},
                 {REG, "d/file", "hello", 0},
                 {SYMLINK, "d/up", "../top", 0},
                 {SYMLINK, "near", "d/file", 0},
                 {REG, "top", "top!", 0}};
    for (int f = 0; f < 2; f++) {
        goio_buf b = make(f ? ZIP : TARGZ, c, N(c));
        char *out = t_path(tmp, "links");
        assert_ok(extract_dir(f ? ZIP : TARGZ, &b, out, &allow));
        char *p = t_path(out, "near"), link[64];
        ssize_t n = readlink(p, link, sizeof link - 1);
        assert_true(n > 0);
        link[n] = '\0';
        assert_string_equal(link, "d/file");
        t_assert_file(out, "near", "hello", 5); /* resolves inside */
        t_assert_file(out, "d/up", "top!", 4);
        goio_free(p);
        /* In memory links are checked and skipped. */
        goio_io_archive_files *got;
        assert_ok(extract_mem(f ? ZIP : TARGZ, &b, &allow, &got));
        assert_int_equal(got->count, 2);
        goio_io_archive_files_free(got);
        goio_test_rm_rf(out);
        goio_free(out);
        goio_buf_deinit(&b);
    }
}

static void setuid_and_world_writable_bits_are_dropped(void **state)
{
    (void)state;
    craft c[] = {{REG, "suid", "#!/bin/sh\n", 04777},
                 {REG, "plain", "x", 0600}};
    goio_buf b = make(TARGZ, c, N(c));
    char *out = t_path(tmp, "modes");
    assert_ok(extract_dir(TARGZ, &b, out, NULL));
    struct stat st;
    char *p = t_path(out, "suid");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    goio_free(p);
    p = t_path(out, "plain");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_mtime, 1500000000);
    goio_free(p);
    goio_test_rm_rf(out);
    goio_free(out);
    goio_buf_deinit(&b);
}

static void duplicates_are_defined(void **state)
{
    (void)state;
    craft dup[] = {
        {REG, "a", "first", 0}, {REG, "x", "x", 0}, {REG, "./a", "second", 0}};
    expect_refused(TARGZ, dup, N(dup), GOIO_EEXIST, NULL);
    expect_refused(ZIP, dup, N(dup), GOIO_EEXIST, NULL);
    /* Last wins when asked: in place of the first, with the new bytes. */
    goio_io_extract_config last;
    goio_io_extract_config_init(&last);
    last.duplicates = GOIO_DUP_LAST_WINS;
    for (int f = 0; f < 2; f++) {
        goio_buf b = make(f ? ZIP : TARGZ, dup, N(dup));
        goio_io_archive_files *got;
        assert_ok(extract_mem(f ? ZIP : TARGZ, &b, &last, &got));
        assert_int_equal(got->count, 2);
        assert_string_equal(got->files[0].name, "a");
        assert_int_equal(got->files[0].len, 6);
        assert_memory_equal(got->files[0].data, "second", 6);
        goio_io_archive_files_free(got);
        char *out = t_path(tmp, "dup");
        assert_ok(extract_dir(f ? ZIP : TARGZ, &b, out, &last));
        t_assert_file(out, "a", "second", 6);
        goio_test_rm_rf(out);
        goio_free(out);
        goio_buf_deinit(&b);
    }
    /* A file and a directory of the same name: never fine. */
    const craft conflicts[][2] = {
        {{REG, "a", "f", 0}, {DIR_, "a", NULL, 0}},
        {{DIR_, "a", NULL, 0}, {REG, "a", "f", 0}},
        {{REG, "a", "f", 0}, {REG, "a/b", "g", 0}},
        {{REG, "a/b", "g", 0}, {REG, "a", "f", 0}},
    };
    for (size_t i = 0; i < N(conflicts); i++) {
        expect_refused(TARGZ, conflicts[i], 2, GOIO_EEXIST, &last);
        expect_refused(ZIP, conflicts[i], 2, GOIO_EEXIST, &last);
    }
    /* Repeated directories are fine. */
    craft dirs[] = {
        {DIR_, "d", NULL, 0}, {REG, "d/f", "1", 0}, {DIR_, "d/", NULL, 0}};
    goio_buf b = make(TARGZ, dirs, N(dirs));
    goio_io_archive_files *got;
    assert_ok(extract_mem(TARGZ, &b, NULL, &got));
    goio_io_archive_files_free(got);
    goio_buf_deinit(&b);
}

static void limits_are_enforced(void **state)
{
    (void)state;
    craft many[12];
    char names[12][16];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        many[i] = (craft){REG, names[i], "0123456789", 0};
    }
    goio_io_extract_config o;
    goio_io_extract_config_init(&o);
    o.max_entries = 11;
    expect_refused(TARGZ, many, 12, GOIO_ELIMIT, &o);
    expect_refused(ZIP, many, 12, GOIO_ELIMIT, &o);
    o.max_entries = 12;
    goio_buf b = make(TARGZ, many, 12);
    goio_io_archive_files *got;
    assert_ok(extract_mem(TARGZ, &b, &o, &got));
    goio_io_archive_files_free(got);
    o.max_total_bytes = 119; /* 12 x 10 bytes */
    expect_refused_with(TARGZ, &b, GOIO_ELIMIT, &o);
    o.max_total_bytes = 120;
    assert_ok(extract_mem(TARGZ, &b, &o, &got));
    goio_io_archive_files_free(got);
    goio_buf_deinit(&b);
}

static void zip_bombs_stop_early(void **state)
{
    (void)state;
    size_t len = 64 << 20; /* 64 MiB of zeros: ~1000:1 */
    uint8_t *zeros = goio_calloc(1, len);
    goio_io_zip_input in[] = {{"bomb", zeros, len}};
    goio_buf z = GOIO_BUF_INIT;
    goio_io_writer *w = t_buf_writer(&z);
    goio_io_zip_config zo;
    goio_io_zip_config_init(&zo);
    zo.level = 1;
    assert_ok(goio_io_zip_compress(w, in, 1, &zo));
    goio_io_writer_close(w);
    goio_buf t = GOIO_BUF_INIT;
    w = t_buf_writer(&t);
    goio_io_targz_config to;
    goio_io_targz_config_init(&to);
    to.gzip.level = 1;
    goio_io_targz_writer *tw;
    assert_ok(goio_io_targz_writer_new(w, &to, &tw));
    assert_ok(goio_io_targz_writer_add(tw, "bomb", zeros, len));
    assert_ok(goio_io_targz_writer_close(tw));
    goio_io_writer_close(w);
    /* The default ratio (200) stops both long before 64 MiB come out. */
    int64_t t0 = goio_now_mono_ms();
    expect_refused_with(ZIP, &z, GOIO_ELIMIT, NULL);
    expect_refused_with(TARGZ, &t, GOIO_ELIMIT, NULL);
    /* Raising the ratio lets it through; the byte cap still holds. */
    goio_io_extract_config o;
    goio_io_extract_config_init(&o);
    o.max_ratio = 0;
    o.max_total_bytes = 1 << 20;
    expect_refused_with(ZIP, &z, GOIO_ELIMIT, &o);
    o.max_total_bytes = len;
    goio_io_archive_files *got;
    assert_ok(extract_mem(ZIP, &z, &o, &got));
    assert_int_equal(got->files[0].len, len);
    goio_io_archive_files_free(got);
    (void)t0;
    goio_free(zeros);
    goio_buf_deinit(&z);
    goio_buf_deinit(&t);
}

static void lying_sizes_are_refused(void **state)
{
    (void)state;
    /* A tar header promising 10 bytes, then nothing: libarchive alone
     * would warn and write 10 zero bytes. */
    craft c[] = {{REG, "liar", "0123456789", 0}};
    goio_buf tar = make(TAR_RAW, c, 1);
    goio_buf t = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&t), *gz;
    assert_ok(goio_io_gzip_writer_new(bw, NULL, &gz));
    assert_ok(goio_io_write(gz, tar.data, 512)); /* the header alone */
    assert_ok(goio_io_writer_close(gz));
    goio_io_writer_close(bw);
    expect_refused_with(TARGZ, &t, GOIO_ETRUNCATED, NULL);
    goio_buf_deinit(&t);
    goio_buf_deinit(&tar);

    /* A zip whose central directory says 10 bytes for a 5-byte file. */
    goio_buf z = GOIO_BUF_INIT;
    bw = t_buf_writer(&z);
    goio_io_zip_input in[] = {{"liar", "hello", 5}};
    assert_ok(goio_io_zip_compress(bw, in, 1, NULL));
    goio_io_writer_close(bw);
    uint8_t *cd = memmem(z.data, z.len, "PK\1\2", 4);
    cd[24] = 10; /* uncompressed size */
    expect_refused_with(ZIP, &z, GOIO_EBADMSG, NULL);
    goio_buf_deinit(&z);
}

static void corrupt_data_is_refused(void **state)
{
    (void)state;
    goio_buf z = GOIO_BUF_INIT;
    goio_io_writer *bw = t_buf_writer(&z);
    goio_io_zip_input in[] = {{"stored", "0123456789", 10}};
    goio_io_zip_config o;
    goio_io_zip_config_init(&o);
    o.level = 0;
    assert_ok(goio_io_zip_compress(bw, in, 1, &o));
    goio_io_writer_close(bw);
    uint8_t *data = memmem(z.data, z.len, "0123456789", 10);
    data[3] = 'X'; /* the CRC no longer matches */
    expect_refused_with(ZIP, &z, GOIO_EBADMSG, NULL);
    goio_buf_deinit(&z);

    /* Trailing garbage after the gzip stream. */
    craft c[] = {{REG, "a", "x", 0}};
    goio_buf t = make(TARGZ, c, 1);
    goio_buf_append(&t, "garbage", 7);
    expect_refused_with(TARGZ, &t, GOIO_EBADMSG, NULL);
    goio_buf_deinit(&t);
    /* Not an archive at all; empty input. */
    goio_buf junk = GOIO_BUF_INIT;
    goio_buf_append_str(&junk, "this is not an archive, not even close");
    expect_refused_with(ZIP, &junk, GOIO_EBADMSG, NULL);
    expect_refused_with(TARGZ, &junk, GOIO_EBADMSG, NULL);
    junk.len = 0;
    expect_refused_with(ZIP, &junk, GOIO_EBADMSG, NULL);
    expect_refused_with(TARGZ, &junk, GOIO_ETRUNCATED, NULL);
    goio_buf_deinit(&junk);
}

static void encrypted_zip_entries_are_unsupported(void **state)
{
    (void)state;
    char *src = t_path(tmp, "secret.txt");
    assert_int_equal(goio_test_write_file(src, "top secret", 10), 0);
    assert_int_equal(goio_test_system("cd '%s' && zip -q -P pw e.zip "
                                      "secret.txt",
                                      tmp),
                     0);
    char *zp = t_path(tmp, "e.zip");
    goio_buf z = GOIO_BUF_INIT;
    size_t len;
    uint8_t *d = goio_test_read_file(zp, &len);
    goio_buf_append(&z, d, len);
    expect_refused_with(ZIP, &z, GOIO_EUNSUPPORTED_ENTRY, NULL);
    goio_free(d);
    goio_buf_deinit(&z);
    goio_free(zp);
    goio_free(src);
}

/* A refusal found after deep or long paths were created still leaves
 * nothing: the removal works past PATH_MAX and at any depth. */
static void refusals_leave_nothing_behind_at_any_depth(void **state)
{
    (void)state;
    goio_buf deep = GOIO_BUF_INIT, lng = GOIO_BUF_INIT;
    for (int i = 0; i < 2040; i++)
        goio_buf_append_str(&deep, "a/");
    goio_buf_append_str(&deep, "f");
    char comp[201];
    memset(comp, 'd', 200);
    comp[200] = '\0';
    for (int i = 0; i < 20; i++)
        goio_buf_appendf(&lng, "%s/", comp);
    goio_buf_append_str(&lng, "file");
    const char *names[] = {goio_buf_cstr(&deep), goio_buf_cstr(&lng)};
    for (size_t i = 0; i < N(names); i++) {
        assert_true(strlen(names[i]) < 4096);
        craft c[] = {{REG, names[i], "x", 0},
                     {REG, "dup", "1", 0},
                     {REG, "dup", "2", 0}};
        expect_refused(TARGZ, c, N(c), GOIO_EEXIST, NULL);
        expect_refused(ZIP, c, N(c), GOIO_EEXIST, NULL);
    }
    goio_buf_deinit(&deep);
    goio_buf_deinit(&lng);
}

static void destination_rules(void **state)
{
    (void)state;
    craft c[] = {{REG, "f", "x", 0}};
    goio_buf b = make(ZIP, c, 1);
    char *out = t_path(tmp, "dest");
    t_mkdirs(out); /* an empty directory is fine */
    assert_ok(goio_io_zip_extract_to_dir(b.data, b.len, out, NULL));
    t_assert_file(out, "f", "x", 1);
    assert_goio(GOIO_EEXIST,
                goio_io_zip_extract_to_dir(b.data, b.len, out, NULL));
    char *file = t_path(out, "f");
    assert_goio(GOIO_EEXIST,
                goio_io_zip_extract_to_dir(b.data, b.len, file, NULL));
    char *missing = t_path(tmp, "no/such/parent");
    assert_goio(GOIO_ENOENT,
                goio_io_zip_extract_to_dir(b.data, b.len, missing, NULL));
    assert_goio(GOIO_EINVAL,
                goio_io_zip_extract_to_dir(b.data, b.len, "", NULL));
    assert_goio(GOIO_EINVAL,
                goio_io_zip_extract_to_dir(b.data, b.len, "/tmp/..", NULL));
    assert_goio(GOIO_EINVAL, goio_io_targz_extract_to_dir(NULL, out, NULL));
    goio_io_archive_files *got = (goio_io_archive_files *)1;
    assert_goio(GOIO_EINVAL, goio_io_zip_extract(NULL, 3, NULL, 0, NULL, &got));
    assert_null(got);
    assert_goio(GOIO_EINVAL,
                goio_io_zip_extract(b.data, b.len, NULL, 2, NULL, &got));
    assert_goio(GOIO_EINVAL,
                goio_io_zip_extract(b.data, b.len, NULL, 0, NULL, NULL));
    got = (goio_io_archive_files *)1;
    assert_goio(GOIO_EINVAL,
                goio_io_targz_extract(NULL, 3, NULL, 0, NULL, &got));
    assert_null(got);
    got = (goio_io_archive_files *)1;
    assert_goio(GOIO_EINVAL,
                goio_io_targz_extract_reader(NULL, NULL, 0, NULL, &got));
    assert_null(got);
    goio_io_reader *r;
    assert_ok(goio_io_reader_new_mem(b.data, b.len, &r));
    assert_goio(GOIO_EINVAL,
                goio_io_targz_extract_reader(r, NULL, 1, NULL, &got));
    assert_goio(GOIO_EINVAL,
                goio_io_targz_extract_reader(r, NULL, 0, NULL, NULL));
    goio_io_reader_close(r);
    goio_free(missing);
    goio_free(file);
    goio_test_rm_rf(out);
    goio_free(out);
    goio_buf_deinit(&b);
}

int main(void)
{
    goio_log_set_sink(NULL, NULL); /* refusals are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_names_are_unsafe),
        cmocka_unit_test(links_pointing_outside_are_unsafe),
        cmocka_unit_test(nothing_is_written_through_a_symlink),
        cmocka_unit_test(special_entries_are_unsupported),
        cmocka_unit_test(allowed_symlinks_are_created),
        cmocka_unit_test(setuid_and_world_writable_bits_are_dropped),
        cmocka_unit_test(duplicates_are_defined),
        cmocka_unit_test(limits_are_enforced),
        cmocka_unit_test(zip_bombs_stop_early),
        cmocka_unit_test(lying_sizes_are_refused),
        cmocka_unit_test(corrupt_data_is_refused),
        cmocka_unit_test(encrypted_zip_entries_are_unsupported),
        cmocka_unit_test(refusals_leave_nothing_behind_at_any_depth),
        cmocka_unit_test(destination_rules),
    };
    return cmocka_run_group_tests(tests, setup, t_tmp_teardown);
}
