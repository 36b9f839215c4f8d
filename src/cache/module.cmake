# cache: the interface, memory cache, stale-on-error, hybrid, get-or-set.
goio_module_sources(cache.c typed.c envelope.c stale.c hybrid.c memory.c
                    memory_table.c memory_policy.c)
# The libcurl caching client (goio/http_cache.h) is listed in
# http_cache.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/http_cache.cmake OPTIONAL)
