/*
 * libFuzzer target: zip extraction from memory (goio_io_zip_extract); see
 * archive_extract.h.
 */
#include "archive_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_extract(goio_io_zip_extract, data, size);
}
