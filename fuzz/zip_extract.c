/*
 * libFuzzer target: zip extraction from memory (goio_zip_extract), with
 * limits small enough to keep each run fast. A crash or a sanitizer
 * report is a bug; refusals are the expected outcome for most inputs.
 */
#include <goio/ioext.h>

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        goio_log_set_sink(NULL, NULL); /* refusals are the common case */
        ready = true;
    }
    goio_extract_options opt;
    goio_extract_options_init(&opt);
    opt.max_entries = 256;
    opt.max_total_bytes = 16 << 20;
    /* Vary the options with the input so every path gets exercised. */
    opt.allow_symlinks = size & 1;
    opt.duplicates = size & 2 ? GOIO_DUP_LAST_WINS : GOIO_DUP_ERROR;
    const char *want[] = {"a", "dir/b.txt"};
    goio_archive_files *out;
    if (!goio_zip_extract(data, size, size & 4 ? want : NULL, size & 4 ? 2 : 0,
                          &opt, &out)) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < out->count; i++) {
            sink ^= (uint8_t)strlen(out->files[i].name);
            if (out->files[i].len)
                sink ^= out->files[i].data[out->files[i].len - 1];
        }
        goio_archive_files_free(out);
    }
    return 0;
}
