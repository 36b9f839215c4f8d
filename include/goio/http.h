/* SPDX-License-Identifier: MIT */
/** @file
 * goio http: an HTTP/1.1 server on libuv, a response-writer interface,
 * chunked rendering of a goio_io_reader with auto-flush, and an AutoFlusher.
 *
 * Threads. A server runs its libuv loop on a thread of its own (accept,
 * parse, socket writes, timers) and calls handlers on a pool of worker
 * threads, so a handler may block (read a file, wait on Redis) without
 * stalling other connections. Bytes a handler writes are queued for the
 * loop thread; when a response has `max_pending_bytes` queued, its writes
 * block the worker (never the loop) until the client catches up, so
 * memory per response stays bounded however slow the client is. A
 * worker blocked that way is replaced by another thread
 * (max_waiting_workers), so slow readers do not keep other requests
 * waiting.
 *
 * Requests. Parsed by libhttp-parser behind goio's own strict RFC 9112
 * check of the framing (every rule: docs/http.md); what it refuses is
 * answered 400, a transfer coding other than chunked 501. The body is read
 * in full (up to max_body_bytes; chunked bodies decoded, their trailers
 * counted against max_header_bytes and dropped) before the handler runs,
 * except on routes added with goio_http_router_handle_streaming, whose
 * handler reads it as it arrives (goio_http_request_body_read).
 * "Expect: 100-continue" is answered when the headers are accepted. With
 * goio_http_router_serve as the handler, the body of a request no route
 * takes is never buffered (docs/http.md).
 * Limits and errors answer and close: 400 malformed, 408 header/request
 * timeout, 413 body too large (a Content-Length beyond max_body_bytes is
 * answered at once), 414 request line too long, 417 an Expect
 * other than 100-continue, 431 headers too large, 501 CONNECT, 503 out of
 * memory, 505 an HTTP version other than 1.0/1.1. An Upgrade header is
 * ignored (answered in HTTP/1.1). Idle connections are closed silently
 * (on idle_timeout_ms, or evicted for a new connection when the table or
 * the client's share of it is full: see max_connections).
 * Requests on one connection are handled one at a time, in order.
 *
 * Responses. Headers are sent when the first body bytes leave the
 * response buffer (it holds `chunk_size` bytes), on flush, or when the
 * handler returns. Framing follows Go's net/http: a body that ends while
 * still buffered gets a Content-Length; a handler-set Content-Length is
 * honoured (writing more fails with GOIO_E2BIG, writing less closes the
 * connection); otherwise Transfer-Encoding: chunked (HTTP/1.0: the body
 * ends with the connection). HEAD, 204 and 304 send no body. Interim
 * 1xx responses (goio_http_response_write_interim) go out ahead of the
 * final one.
 * Aborting (goio_http_response_abort) sends what was queued and closes
 * the connection with a FIN (not a reset) and without the final chunk,
 * so a client sees an incomplete body rather than a short success.
 *
 * Lifetimes. The request and response handed to a handler are owned by
 * the server and valid until the handler returns; copy what must live
 * longer.
 *
 * Logging category "http", codes: chunked_response_write_error (render),
 * http_bad_request, http_request_timeout (INFO), http_send_timeout,
 * http_stop_abort, http_accept_failed, http_free_from_handler,
 * http_conn_evicted and http_conn_refused (DEBUG: one per connection
 * under a flood).
 *
 * Signals. SIGPIPE is blocked on the loop thread only (a client that left
 * makes the write fail instead of killing the process); the application's
 * signal dispositions are not touched.
 */
#ifndef GOIO_HTTP_H
#define GOIO_HTTP_H

#include <goio/core.h>
#include <goio/ioext.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An HTTP/1.1 server: a loop thread and a pool of handler threads. */
typedef struct goio_http_server goio_http_server;
/** A parsed request, owned by the server, valid until the handler
 * returns. */
typedef struct goio_http_request goio_http_request;
typedef struct goio_http_response goio_http_response;

/* ---- handlers and middleware --------------------------------------------- */

/**
 * Handles one request: reads `req`, writes `res`. Runs on a worker thread;
 * may block. When it returns the response is finished (buffered bytes
 * sent, final chunk written) unless it was aborted. `data` is the pointer
 * registered with the handler; goio never touches it.
 */
typedef void (*goio_http_handler_fn)(goio_http_request *req,
                                     goio_http_response *res, void *data);

/** A handler and its data, passed by value. */
typedef struct goio_http_handler {
    goio_http_handler_fn fn; /**< the handler; NULL: do nothing */
    void *data;              /**< passed to fn */
} goio_http_handler;

/** Calls h.fn(req, res, h.data); does nothing when h.fn is NULL. */
GOIO_EXTERN void goio_http_handler_call(goio_http_handler h,
                                        goio_http_request *req,
                                        goio_http_response *res);

/**
 * Wraps the handler chain (as Go's func(http.Handler) http.Handler):
 * runs code before and after `next`, which it calls with
 * goio_http_handler_call(next, req, res) (or not, to answer itself). It
 * may pass a response of its own that wraps `res` (see the vtable below).
 * After next returns, goio_http_response_status(res) is the status sent
 * and goio_http_request_route(req) the route that matched, so a request
 * tracker can label method, route, status and duration.
 */
typedef void (*goio_http_middleware_fn)(goio_http_request *req,
                                        goio_http_response *res,
                                        goio_http_handler next, void *data);

/* ---- server -------------------------------------------------------------- */

/** Settings of a server; goio_http_server_config_init fills the defaults
 * (times in ms). */
typedef struct goio_http_server_config {
    /** Called for every request; required (a router: goio_http_router_serve
     * with the router as data). */
    goio_http_handler_fn handler;
    void *handler_data; /**< passed to handler */
    /** Threads that run handlers. Default 16. */
    unsigned worker_threads;
    /** A handler whose writes wait for a slow client (back-pressure), or
     * whose streamed body read waits for a slow uploader, does
     * not hold one of worker_threads: another thread is started in its
     * place, up to this many more in all (started on demand, kept until
     * stop). With the default, as many as max_connections, slow readers
     * can never starve other requests. Default 1024. */
    unsigned max_waiting_workers;
    /** Open connections. When a new one would go beyond, the connection
     * idle longest (between requests, or still sending its headers) is
     * closed to make room - once it has been idle 500 ms: until then the
     * new one waits in the listen backlog (so a client that reconnects at
     * once cannot churn the table); when none is, the new one is
     * answered 503 and closed. Default 1024. */
    unsigned max_connections;
    /** Open connections from one client IP address (IPv4, or the full
     * IPv6 address). Beyond, that client's connection idle longest is
     * closed, else the new one gets 503. Behind a proxy every client has
     * its address: raise it there. Default 128 (1/8 of the default
     * max_connections). */
    unsigned max_connections_per_client;
    /** Request line plus headers. Default 16 KiB; capped at 80 KiB (the
     * parser's own limit). Beyond: 431 (414 when the line alone is). */
    size_t max_header_bytes;
    /** Request body. Default 8 MiB. Beyond: 413 (at once for a
     * Content-Length). */
    size_t max_body_bytes;
    /** Request body bytes buffered by the whole server at once (counted
     * by allocated capacity, a Content-Length body in full as soon as its
     * headers arrive). Default 64 MiB. Beyond: 503 and close. */
    size_t max_buffered_body_bytes;
    /** A connection with no request in progress is closed after this long
     * (keep-alive idle time, also before the first request). Default
     * 60000. */
    int64_t idle_timeout_ms;
    /** From a request's first byte to the end of its headers. Default
     * 10000. Beyond: 408 and close (slowloris). */
    int64_t header_timeout_ms;
    /** From a request's first byte to the end of its body. Default 60000.
     * Beyond: 408 and close. For a streamed body (whose size and pace
     * the handler decides) it bounds instead each wait for the client's
     * next bytes while the server is reading. */
    int64_t request_timeout_ms;
    /** A response whose client takes no byte for this long is aborted.
     * Progress is counted in bytes the kernel took and the peer
     * acknowledged (Linux), so a steady slow reader is never cut however
     * large the queued writes are. Default 60000. */
    int64_t send_timeout_ms;
    /** After a close with a FIN, unread request bytes are drained for at
     * most this long so the kernel does not answer them with a reset.
     * Default 2000. */
    int64_t linger_timeout_ms;
    /** Response buffer size, hence the size of chunks sent. Default 64 KiB
     * (4 KiB chunks halve throughput). */
    size_t chunk_size;
    /** Bytes of one response queued for the socket before writes block the
     * handler (back-pressure); also the bytes of a streamed request body
     * held ahead of its reader before the server stops reading the
     * socket. Default 256 KiB. */
    size_t max_pending_bytes;
    /** listen(2) backlog. Default 511. */
    int backlog;
} goio_http_server_config;

/** Fills the defaults above (handler NULL). NULL is a no-op. */
GOIO_EXTERN void goio_http_server_config_init(goio_http_server_config *cfg);

/**
 * Creates a stopped server (copies cfg). GOIO_EINVAL when cfg, out or the
 * handler is NULL or a limit is 0. Free with goio_http_server_free.
 */
GOIO_EXTERN int goio_http_server_new(const goio_http_server_config *cfg,
                                     goio_http_server **out);

/**
 * Adds a middleware around the handler; call before start. The first one
 * added is the outermost. GOIO_EBUSY once started.
 */
GOIO_EXTERN int goio_http_server_use(goio_http_server *srv,
                                     goio_http_middleware_fn fn, void *data);

/**
 * Binds and listens on host:port (IPv4 or IPv6 literal, or "localhost";
 * NULL = "127.0.0.1"), synchronously, so address errors
 * (GOIO_EADDRINUSE, GOIO_EACCES, ...) are returned here. port 0 picks a
 * free port: goio_http_server_port reports it. Once per server, before
 * start (GOIO_EALREADY otherwise).
 */
GOIO_EXTERN int goio_http_server_listen(goio_http_server *srv, const char *host,
                                        int port);

/** The bound port, or a negative GOIO_E* code before listen. */
GOIO_EXTERN int goio_http_server_port(const goio_http_server *srv);

/**
 * Starts the loop thread and the workers; returns once the server accepts
 * connections. GOIO_EINVAL before listen, GOIO_EALREADY when started.
 */
GOIO_EXTERN int goio_http_server_start(goio_http_server *srv);

/**
 * Graceful stop: stops accepting, closes idle connections, lets in-flight
 * requests finish for up to timeout_ms (0: none), then aborts the rest:
 * their request ctx is cancelled, writes fail and connections close
 * without a final chunk. Returns once the loop thread has exited and no
 * handler is running, so a handler that never returns (blocked and
 * ignoring its ctx) keeps it waiting. Must not be called from a handler.
 * Idempotent; GOIO_EINVAL for NULL.
 */
GOIO_EXTERN int goio_http_server_stop(goio_http_server *srv,
                                      int64_t timeout_ms);

/** Stops (timeout 0) if needed and frees. NULL is a no-op. From one of the
 * server's own threads it logs http_free_from_handler and does nothing. */
GOIO_EXTERN void goio_http_server_free(goio_http_server *srv);

/* ---- requests ------------------------------------------------------------ */

/*
 * Accessors of a request; strings are NUL-terminated and valid while the
 * request is (until the handler returns). Safe from any thread.
 */
/** "GET", "POST", ... */
GOIO_EXTERN const char *goio_http_request_method(const goio_http_request *req);
/** The request target's path as sent (percent-encoding kept): "/items/42". */
GOIO_EXTERN const char *goio_http_request_path(const goio_http_request *req);
/** The raw query string without '?', "" when there is none. */
GOIO_EXTERN const char *goio_http_request_query(const goio_http_request *req);
/** The first value of a header, name matched case-insensitively; NULL when
 * absent. */
GOIO_EXTERN const char *
goio_http_request_get_header(const goio_http_request *req, const char *name);
/** Headers in the order received: count, then the i-th name and value.
 * GOIO_ERANGE past the end. */
GOIO_EXTERN size_t goio_http_request_header_count(const goio_http_request *req);
/** The i-th header's name and value (i < goio_http_request_header_count);
 * GOIO_EINVAL for NULLs. */
GOIO_EXTERN int goio_http_request_header_at(const goio_http_request *req,
                                            size_t i, const char **name,
                                            const char **value);
/** The body (decoded from chunked if it was); *len may be NULL. Never NULL:
 * an empty body is "" with length 0 (always, for a streamed body). */
GOIO_EXTERN const void *goio_http_request_body(const goio_http_request *req,
                                               size_t *len);
/**
 * Reads the next bytes of the body into buf[0..cap): *n > 0 bytes, or
 * *n == 0 at the end of the body. For a route added with
 * goio_http_router_handle_streaming the body is not buffered: the
 * handler runs as soon as the headers arrive and this call waits for the
 * client (the server holds at most max_pending_bytes of it; beyond, it
 * stops reading the socket until the handler reads on, so a client is
 * held back, never buffered). For any other request it reads the
 * buffered body (goio_http_request_body) from where the last read
 * stopped. Errors of a streamed body (later calls repeat them):
 * GOIO_EBADMSG malformed framing (bad chunk), GOIO_E2BIG beyond
 * max_body_bytes, GOIO_ETIMEDOUT the client sent nothing for
 * request_timeout_ms while the server waited for it, GOIO_ECONNRESET the
 * client left (or the connection failed) before the end; a handler that
 * then returns without answering gets the matching status (400, 413, 408)
 * sent for it, and the connection is closed after the answer. Also the
 * error of ctx (GOIO_ETIMEDOUT, GOIO_ECANCELED: nothing is lost, a later
 * call goes on) and GOIO_EINVAL for NULLs or cap 0. A handler that
 * returns before the end of a streamed body gets its connection closed
 * after the answer. Call from the handler's thread (one reader at a
 * time); a waiting reader does not hold one of worker_threads (see
 * max_waiting_workers).
 */
GOIO_EXTERN int goio_http_request_body_read(goio_http_request *req,
                                            goio_ctx *ctx, void *buf,
                                            size_t cap, size_t *n);
/** Whether the body is streamed (read it with goio_http_request_body_read
 * or a body reader; goio_http_request_body is empty). */
GOIO_EXTERN bool
goio_http_request_body_is_streamed(const goio_http_request *req);
/**
 * A goio_io_reader over goio_http_request_body_read with the request's
 * ctx (so it fails when the client leaves or the server stops), for
 * goio_io_copy and the like. Closing it frees the adapter only; it must
 * not outlive the request. GOIO_EINVAL for NULLs.
 */
GOIO_EXTERN int goio_http_request_body_reader_new(goio_http_request *req,
                                                  goio_io_reader **out);
/** The peer as "ip:port" ("[v6]:port" for IPv6). */
GOIO_EXTERN const char *
goio_http_request_remote_addr(const goio_http_request *req);
/** 10 for HTTP/1.0, 11 for HTTP/1.1. */
GOIO_EXTERN int goio_http_request_version(const goio_http_request *req);
/**
 * Cancelled when the client closes its connection or the server aborts
 * in-flight requests on stop; pass it to blocking calls. Borrowed: take a
 * reference (goio_ctx_ref) to keep it past the handler.
 */
GOIO_EXTERN goio_ctx *goio_http_request_ctx(const goio_http_request *req);
/** The route pattern that matched ("/items/{id}"), NULL before routing or
 * when none did. */
GOIO_EXTERN const char *goio_http_request_route(const goio_http_request *req);
/** The value of a {name} segment of the matched route; NULL when absent. */
GOIO_EXTERN const char *goio_http_request_param(const goio_http_request *req,
                                                const char *name);

/**
 * Decodes the first `name` parameter of a query string ("a=1&b=x%20y"):
 * percent-escapes and '+' as space. Replaces out's contents; *found says
 * whether it was there. GOIO_EBADMSG for a bad escape, GOIO_EINVAL for
 * NULLs.
 */
GOIO_EXTERN int goio_http_query_get(const char *query, const char *name,
                                    goio_buf *out, bool *found);

/** "OK", "Not Found", ...; "Unknown" for codes it does not know. */
GOIO_EXTERN const char *goio_http_status_text(int status);

/* ---- router -------------------------------------------------------------- */

/**
 * Routes by method and path. A pattern is one of:
 *   "/health"        exact path
 *   "/items/{id}"    segments, {name} matching one non-empty segment
 *                    (goio_http_request_param(req, "id")); at most 16
 *   "/static/" "*"   (one string, ending in slash-star) a prefix:
 *                    "/static/" and anything below it
 * Precedence: exact patterns, then {name} patterns, then prefixes (the
 * longest first); ties go to the earlier registration. method NULL
 * matches any method; a GET route also answers HEAD. A path that matches
 * with another method gets 405 with an Allow header; no match goes to the
 * fallback (default: 404 "404 page not found"). Routes are added before
 * the server starts; matching is then lock-free and thread-safe.
 */
typedef struct goio_http_router goio_http_router;

/** An empty router (fallback: 404); GOIO_EINVAL, GOIO_ENOMEM. Free with
 * goio_http_router_free. */
GOIO_EXTERN int goio_http_router_new(goio_http_router **out);
/** GOIO_EINVAL for a pattern that is not one of the forms above,
 * GOIO_EEXIST for a duplicate method+pattern. */
GOIO_EXTERN int goio_http_router_handle(goio_http_router *r, const char *method,
                                        const char *pattern,
                                        goio_http_handler_fn fn, void *data);
/**
 * As goio_http_router_handle, for a handler that reads the body as a
 * stream (goio_http_request_body_read / _body_reader_new) instead of
 * having it buffered: it runs as soon as the headers arrive. Only when
 * the server's handler is goio_http_router_serve itself (the router
 * decides before the body is read); max_body_bytes still holds.
 */
GOIO_EXTERN int goio_http_router_handle_streaming(goio_http_router *r,
                                                  const char *method,
                                                  const char *pattern,
                                                  goio_http_handler_fn fn,
                                                  void *data);
/** Replaces the 404 handler. */
GOIO_EXTERN int goio_http_router_fallback(goio_http_router *r,
                                          goio_http_handler_fn fn, void *data);
/** A handler function: data is the router. */
GOIO_EXTERN void goio_http_router_serve(goio_http_request *req,
                                        goio_http_response *res, void *data);
/** Frees; the server using it must be freed first. NULL is a no-op. */
GOIO_EXTERN void goio_http_router_free(goio_http_router *r);

/* ---- response writer interface ------------------------------------------- */

/**
 * Releases a buffer lent with goio_http_response_write_borrowed; `data`
 * is the caller's. Must not block long or call back into the response.
 */
typedef void (*goio_http_response_release_fn)(void *data);

/**
 * A response writer, as Go's http.ResponseWriter. goio's server implements
 * it; implement it for another server (embed goio_http_response as the
 * first member and fill ops) to use goio_http_render_chunked there.
 *
 * The ops are all required unless marked. goio's server response may be
 * used from any thread (calls are serialized inside); its write and flush
 * may block for back-pressure.
 */
typedef struct goio_http_response_ops {
    /** A set response header (case-insensitive name), NULL if none. The
     * string is valid until the header changes. */
    const char *(*get_header)(goio_http_response *res, const char *name);
    /** Replaces all values of name; value NULL removes it. GOIO_EALREADY
     * once headers were sent, GOIO_EINVAL for names/values with CR, LF or
     * NUL. */
    int (*set_header)(goio_http_response *res, const char *name,
                      const char *value);
    /** Adds a value; errors as set_header. */
    int (*add_header)(goio_http_response *res, const char *name,
                      const char *value);
    /** Fixes the status (200..999) and the header set; later calls are
     * ignored (GOIO_EALREADY). Implied by write/flush with 200. */
    int (*write_header)(goio_http_response *res, int status);
    /** Body bytes; returns the count taken (> 0) or an error
     * (GOIO_EPIPE/GOIO_ECONNRESET when the client is gone, GOIO_ECLOSED
     * after abort). */
    ssize_t (*write)(goio_http_response *res, const void *p, size_t len);
    /** Pushes buffered bytes (and the headers) to the client. */
    int (*flush)(goio_http_response *res);
    /** Ends the response as failed: already queued bytes still go out,
     * then the connection is closed so the client sees the body is
     * incomplete (no final chunk). `error` says why (for logs). */
    void (*abort)(goio_http_response *res, int error);
    /** The status sent or fixed so far, 0 before write_header. */
    int (*status)(goio_http_response *res);
    /** Optional (NULL: GOIO_ENOTSUP): sends an interim 1xx response
     * (status 100..199 but 101) with `n` fields given as name, value pairs
     * (fields[2*i], fields[2*i+1]) before the final one; GOIO_EALREADY
     * once write_header fixed the final status. */
    int (*write_interim)(goio_http_response *res, int status,
                         const char *const *fields, size_t n);
    /** Optional (NULL: GOIO_ENOTSUP): the reason phrase of the final
     * status line (NULL: the standard text); GOIO_EALREADY once
     * write_header fixed the status. */
    int (*set_reason)(goio_http_response *res, const char *reason);
    /** Optional (NULL: goio_http_response_write_borrowed copies with
     * write and releases at once): queues `len` bytes at `p` without a
     * copy and calls release(data) exactly once when they are no longer
     * needed, also when it fails. */
    int (*write_borrowed)(goio_http_response *res, const void *p, size_t len,
                          goio_http_response_release_fn release, void *data);
} goio_http_response_ops;

/** A response writer: the first member of an implementation's struct. */
struct goio_http_response {
    const goio_http_response_ops *ops; /**< the implementation's functions */
};

/* The goio_http_response_* calls below validate their arguments
 * (GOIO_EINVAL for NULLs) and call the ops. */
/** A set header's value, or NULL (also for NULL arguments). */
GOIO_EXTERN const char *goio_http_response_get_header(goio_http_response *res,
                                                      const char *name);
/** Replaces all values of name (value NULL removes it); see the op. */
GOIO_EXTERN int goio_http_response_set_header(goio_http_response *res,
                                              const char *name,
                                              const char *value);
/** Adds a value to name; see the op. */
GOIO_EXTERN int goio_http_response_add_header(goio_http_response *res,
                                              const char *name,
                                              const char *value);
/** Go's rule: sets Content-Type only when the response has none yet. */
GOIO_EXTERN int goio_http_response_default_content_type(goio_http_response *res,
                                                        const char *type);
/** Fixes the status (GOIO_EINVAL outside 200..999; 1xx: write_interim). */
GOIO_EXTERN int goio_http_response_write_header(goio_http_response *res,
                                                int status);
/** Writes all len bytes (retrying partial writes) or returns the error. */
GOIO_EXTERN int goio_http_response_write(goio_http_response *res, const void *p,
                                         size_t len);
/** Writes printf-formatted text, as goio_http_response_write. */
GOIO_EXTERN int goio_http_response_printf(goio_http_response *res,
                                          const char *fmt, ...)
    GOIO_PRINTF(2, 3);
/** Sends the headers and buffered bytes now (see the op). */
GOIO_EXTERN int goio_http_response_flush(goio_http_response *res);
/** Ends the response as failed (see the op); NULL is a no-op. */
GOIO_EXTERN void goio_http_response_abort(goio_http_response *res, int error);
/** 0 before write_header; a negative GOIO_E* code for NULL. */
GOIO_EXTERN int goio_http_response_status(goio_http_response *res);
/**
 * Sends an interim response now, such as 103 Early Hints:
 *
 *     const char *f[] = {"Link", "</app.css>; rel=preload; as=style"};
 *     goio_http_response_write_interim(res, 103, f, 1);
 *
 * status 100..199 except 101 (no protocol switch); fields: n name/value
 * pairs (NULL when n is 0), names tokens, values without CR, LF or NUL,
 * else GOIO_EINVAL (nothing sent). Several may be sent, each before the
 * final response: GOIO_EALREADY once write_header (or a write or flush)
 * fixed it. Not sent to an HTTP/1.0 client (1xx did not exist there):
 * returns 0. GOIO_ENOTSUP when the implementation has no write_interim;
 * write errors as write.
 */
GOIO_EXTERN int goio_http_response_write_interim(goio_http_response *res,
                                                 int status,
                                                 const char *const *fields,
                                                 size_t n);
/**
 * Sets the reason phrase of the final status line ("HTTP/1.1 200 Fine");
 * NULL restores the standard text, "" sends none. GOIO_EINVAL for a
 * control character other than HTAB (CR and LF included) or more than
 * 256 bytes; GOIO_EALREADY once the status is fixed (write_header, a
 * write or flush); GOIO_ENOTSUP when the implementation has no
 * set_reason. HTTP/1.1 clients ignore the phrase (RFC 9112 4).
 */
GOIO_EXTERN int goio_http_response_set_reason(goio_http_response *res,
                                              const char *reason);

/**
 * Writes len bytes at p without copying them: the caller keeps them
 * valid and unchanged until release(data) runs, which happens exactly
 * once on every path - after the bytes left the process, when the client
 * is gone or the connection closes, when the server stops or is freed,
 * and before this returns when it fails (also for GOIO_EINVAL with a
 * non-NULL release). With goio's server, release runs on the server's
 * loop thread, on the thread that drops the response's last reference
 * (a handler thread, or the one in goio_http_server_stop/free), or on the
 * calling thread (an error, HEAD or a status without a body, where the
 * bytes are only counted); it may run before this returns.
 *
 * Like a flush it sends the headers first (and what write buffered): set
 * Content-Length before it, or the body is chunked (HTTP/1.1). Waits for
 * room like write (max_pending_bytes counts lent bytes too). Errors as
 * write. release may be NULL (the bytes must then outlive the response).
 * Implementations without the op get a copying write, then release.
 */
GOIO_EXTERN int goio_http_response_write_borrowed(
    goio_http_response *res, const void *p, size_t len,
    goio_http_response_release_fn release, void *data);

/**
 * A whole small response: status, Content-Type (Go's rule: only if not
 * set; NULL leaves it), body. For errors and tiny answers.
 */
GOIO_EXTERN int goio_http_respond(goio_http_response *res, int status,
                                  const char *content_type, const void *body,
                                  size_t len);

/**
 * A goio_io_writer over res (write, flush), for goio_io_copy, Tee, gzip ...
 * Closing it frees the adapter only: the response stays open. Not
 * thread-safe beyond what res is.
 */
GOIO_EXTERN int goio_http_response_writer_new(goio_http_response *res,
                                              goio_io_writer **out);

/* ---- chunked rendering --------------------------------------------------- */

/** Options of goio_http_render_chunked; goio_http_render_config_init
 * fills the defaults. */
typedef struct goio_http_render_config {
    /** Bytes read from the source per read. Default 64 KiB. */
    size_t chunk_size;
    /** Buffered bytes are flushed at most this long after they were
     * written. Default 50. */
    int64_t flush_interval_ms;
    /** Status sent. Default 200. */
    int status;
} goio_http_render_config;

/** Fills the defaults above. NULL is a no-op. */
GOIO_EXTERN void goio_http_render_config_init(goio_http_render_config *cfg);

/**
 * Streams src as the response body, as the Go library's ChunkedData:
 * sets Content-Type (Go's rule: only if not set; NULL leaves it) and
 * Transfer-Encoding: chunked, sends the headers with opts->status at once,
 * then copies src through a pooled buffer, with an AutoFlusher so bytes
 * from a slow source reach the client within flush_interval_ms. Memory
 * stays bounded (the copy buffer plus the response's bounded queue) however
 * large the body and however slow the client.
 *
 * src is consumed: closed before this returns, whatever happens.
 *
 * On a read error from src, everything already read is flushed and the
 * response is aborted: the connection closes without the final chunk, so
 * curl reports CURLE_PARTIAL_FILE (exit 18) and keeps every byte (an
 * HTTP/1.0 client gets no chunks, so it cannot tell the difference). Write
 * errors (client gone) abort too. Both are logged with code
 * `chunked_response_write_error` (ERROR for a source error, WARN for a
 * client error) and returned. opts may be NULL (defaults). Call it as the
 * handler's last write.
 */
GOIO_EXTERN int goio_http_render_chunked(goio_http_response *res,
                                         const char *content_type,
                                         goio_io_reader *src,
                                         const goio_http_render_config *opts);

/* ---- AutoFlusher --------------------------------------------------------- */

/**
 * A goio_io_writer in front of `dst` (which must have a flush) that flushes
 * dst at most interval_ms after a write left bytes unflushed, as the Go
 * library's AutoFlusher. Writes, flushes and the timed flushes are
 * serialized by a lock, so dst sees one caller at a time; the timed
 * flushes run on one process-wide ticker thread, which skips (and retries
 * soon) a flusher whose lock a blocked writer holds, so dst->flush should
 * not block for long. A timed flush's error is returned by the next write,
 * flush or close. Closing flushes, stops the timer, and closes dst when
 * own_dst (else dst stays open). GOIO_EINVAL for NULLs, interval_ms <= 0
 * or a dst without flush.
 */
GOIO_EXTERN int goio_http_autoflusher_new(goio_io_writer *dst,
                                          int64_t interval_ms, bool own_dst,
                                          goio_io_writer **out);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_HTTP_H */
