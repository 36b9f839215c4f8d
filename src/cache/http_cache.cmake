# The libcurl caching client (include/goio/http_cache.h). Included by
# module.cmake.
goio_module_sources(http_cache.c http_cache_store.c http_cache_entry.c
                    http_cache_policy.c http_cache_transport.c)
goio_module_deps(libcurl)
