# cache: the interface, memory cache, stale-on-error, hybrid, get-or-set.
# The libcurl caching client (goio/http_cache.h) is listed in
# http_cache.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/http_cache.cmake OPTIONAL)
