# SPDX-License-Identifier: MIT
# http: the HTTP/1.1 server on libuv, router, middleware, the
# response-writer interface, chunked rendering and the auto-flusher
# (include/goio/http.h).
goio_module_sources(http_request.c http_exchange.c http_conn.c
                    http_server.c http_router.c http_response.c
                    http_chunked.c http_strict.c http_body.c)
goio_module_deps(libuv http_parser)
