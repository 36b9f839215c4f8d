/*
 * libFuzzer target: tar.gz extraction from memory (goio_io_targz_extract);
 * see archive_extract.h.
 */
#include "archive_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_extract(goio_io_targz_extract, data, size);
}
