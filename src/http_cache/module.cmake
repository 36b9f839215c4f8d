# SPDX-License-Identifier: MIT
# http_cache: the RFC 9111 caching HTTP client on libcurl
# (include/goio/http_cache.h), storing in any goio cache.
goio_module_sources(http_cache.c http_cache_store.c http_cache_entry.c
                    http_cache_policy.c http_cache_transport.c
                    http_cache_hot.c)
goio_module_deps(libcurl)
