/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: tar.gz extraction from memory (goio_io_targz_extract)
 * and into a directory; see archive_extract.h for the properties.
 */
#include "archive_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int targz_to_dir(const void *data, size_t len, const char *dir,
                        const goio_io_extract_config *opt)
{
    goio_io_reader *r;
    int rc = goio_io_reader_new_mem(data, len, &r);
    if (rc)
        return rc;
    rc = goio_io_targz_extract_to_dir(r, dir, opt);
    goio_io_reader_close(r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_extract(goio_io_targz_extract, targz_to_dir, data, size);
}
