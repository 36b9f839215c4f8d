# SPDX-License-Identifier: MIT
# redis: the cache over Redis (hiredis), pool, cluster. Pub/sub
# (goio/pubsub.h) is listed in pubsub.cmake.
goio_module_deps(hiredis openssl)
goio_module_sources(config.c url.c conn.c tls.c pool.c mux.c async.c slot.c cluster.c exec.c redis.c
                    multi.c clear.c)
include(${CMAKE_CURRENT_LIST_DIR}/pubsub.cmake)
