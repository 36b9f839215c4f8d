/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: zip extraction from memory (goio_io_zip_extract) and
 * into a directory; see archive_extract.h for the properties.
 */
#include "archive_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_extract(goio_io_zip_extract, goio_io_zip_extract_to_dir, data,
                        size);
}
