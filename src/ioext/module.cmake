# SPDX-License-Identifier: MIT
# ioext: readers/writers, buffer pool, Tee, archives.
goio_module_sources(io.c bufpool.c tee.c path.c gzip.c targz.c zip.c
                    extract.c extract_dir.c)
goio_module_deps(zlib libarchive)
