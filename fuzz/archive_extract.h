/*
 * What the zip_extract and targz_extract libFuzzer targets share (a header:
 * fuzz/CMakeLists.txt makes every .c file in fuzz/ a target). A crash
 * or a sanitizer report is a bug; refusals are the expected outcome for
 * most inputs.
 */
#ifndef GOIO_FUZZ_ARCHIVE_EXTRACT_H
#define GOIO_FUZZ_ARCHIVE_EXTRACT_H

#include "fuzz_util.h"
#include <goio/ioext.h>

#include <string.h>

typedef int (*fuzz_extract_fn)(const void *data, size_t len,
                               const char *const *names, size_t nnames,
                               const goio_io_extract_config *opt,
                               goio_io_archive_files **out);

/* Extracts data to memory with limits small enough to keep each run fast,
 * then reads what came out. */
static int fuzz_extract(fuzz_extract_fn extract, const uint8_t *data,
                        size_t size)
{
    fuzz_quiet_logs();
    goio_io_extract_config opt;
    goio_io_extract_config_init(&opt);
    opt.max_entries = 256;
    opt.max_total_bytes = 16 << 20;
    /* Vary the options with the input so every path gets exercised. */
    opt.allow_symlinks = size & 1;
    opt.duplicates = size & 2 ? GOIO_DUP_LAST_WINS : GOIO_DUP_ERROR;
    const char *want[] = {"a", "dir/b.txt"};
    goio_io_archive_files *out;
    if (!extract(data, size, size & 4 ? want : NULL, size & 4 ? 2 : 0, &opt,
                 &out)) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < out->count; i++) {
            sink ^= (uint8_t)strlen(out->files[i].name);
            if (out->files[i].len)
                sink ^= out->files[i].data[out->files[i].len - 1];
        }
        goio_io_archive_files_free(out);
    }
    return 0;
}

#endif
