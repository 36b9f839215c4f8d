# The HTTP server, the response-writer interface, chunked rendering and the
# AutoFlusher (include/goio/http.h). Included by module.cmake.
goio_module_sources(http_request.c http_exchange.c http_conn.c
                    http_server.c http_router.c http_response.c
                    http_chunked.c)
goio_module_deps(libuv http_parser)
