# ioext: readers/writers, buffer pool, Tee, archives.
goio_module_sources(io.c bufpool.c tee.c path.c gzip.c targz.c zip.c
                    extract.c extract_dir.c)
goio_module_deps(zlib libarchive)
# The HTTP server and chunked responses (goio/http.h) live in this folder
# too, listed in http.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/http.cmake OPTIONAL)
