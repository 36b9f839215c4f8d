/* SPDX-License-Identifier: MIT */
/*
 * Private to the http files of src/ioext: the request parser (bytes in,
 * requests out, no sockets: fuzzable), the exchange shared by the loop
 * thread and a worker, and the server internals they both touch.
 *
 * Threads and locks:
 *  - A connection (goio__http_conn) is touched only by the loop thread.
 *  - An exchange (one request and its response) is shared: the worker
 *    writes the response under ex->mu; the loop takes queued segments
 *    under ex->mu and writes them. Lock order: ex->mu, then
 *    srv->ready_mu. Reference counted (loop, worker, ready list, each
 *    write in flight).
 */
#ifndef GOIO_SRC_IOEXT_HTTP_INT_H
#define GOIO_SRC_IOEXT_HTTP_INT_H

#include <goio/http.h>

#include <goio/ioext.h>

#include <http_parser.h>
#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#define GOIO__HTTP_CAT "http"

/* ---- requests and their parser (http_request.c) -------------------------- */

typedef struct goio__http_exchange goio__http_exchange;

/*
 * A streamed request body (http_body.c): the loop appends parsed body
 * bytes, the handler reads them. Holds about `cap` bytes; the loop stops
 * reading its socket while it is full (loop_waiting), and the reader
 * notifies the loop once it has drained half of it. Owned by the request.
 */
typedef struct goio__http_stream {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* bytes, end or failure (CLOCK_MONOTONIC) */
    uint8_t *data;
    size_t off, len, alloc;
    size_t cap;
    uint64_t total; /* body bytes appended so far */
    int error;      /* < 0: the body failed (reader gets it) */
    int status;     /* the HTTP answer to that failure, or 0 */
    bool eof;       /* the body is complete */
    bool loop_waiting;
} goio__http_stream;

int goio__http_stream_new(size_t cap, goio__http_stream **out);
void goio__http_stream_free(goio__http_stream *st);
/* Loop side. Appends (grows beyond cap only for bytes read ahead). */
int goio__http_stream_append(goio__http_stream *st, const void *p, size_t n);
/* Room left below cap; 0 marks the loop as waiting for the reader. */
size_t goio__http_stream_room(goio__http_stream *st);
/* The body ends: error 0 complete, else failed with error (and the HTTP
 * status to answer when the handler did not). First call wins. */
void goio__http_stream_end(goio__http_stream *st, int error, int status);
void goio__http_stream_state(goio__http_stream *st, bool *complete,
                             int *status);

typedef struct goio__http_hdr {
    size_t name; /* offsets into req->strs, NUL-terminated */
    size_t value;
} goio__http_hdr;

struct goio_http_request {
    goio_buf strs; /* url, header names/values, path, query; NUL-separated */
    goio__http_hdr *hdrs;
    size_t nhdrs;
    size_t hdrs_cap;
    size_t path_off;
    size_t query_off;
    const char *method; /* static (http_method_str) */
    int version;        /* 10, 11 */
    bool keep_alive;
    bool expect_continue;
    goio_buf body;
    size_t body_read;          /* goio_http_request_body_read's position */
    goio__http_stream *stream; /* a streamed body, or NULL (owned) */
    goio__http_exchange *ex;   /* the exchange holding it (notify) */
    atomic_size_t *budget;     /* the server's buffered-body count, or NULL */
    size_t charged;            /* bytes of it this request holds (body.cap) */
    char remote[64];
    goio_ctx *ctx;
    const char *route;     /* the router's pattern (lives as long as it) */
    const char **params;   /* name, value, name, value ... */
    size_t nparams;        /* pairs */
    goio_buf param_values; /* storage of the values */
};

typedef enum goio__http_feed {
    GOIO__HTTP_FEED_MORE = 0, /* every byte consumed, no request yet */
    /* A request is complete, or the headers of a streamed one are (the
     * parser goes on with its body after the take); also the end of a
     * streamed body (take returns NULL). */
    GOIO__HTTP_FEED_REQUEST = 1,
    GOIO__HTTP_FEED_ERROR = 2 /* answer parser->status and close */
} goio__http_feed;

/*
 * The strict RFC 9112 framing scanner (http_strict.c): walks the bytes of
 * a request before http-parser does and stops at the first violation or
 * at the end of a message.
 */
typedef struct goio__http_strict {
    int state;
    int status; /* the answer to a violation: 400, 413, 501 */
    int field;  /* which framing field is being read */
    int major, minor;
    unsigned vpos;       /* position in "HTTP/x.y" */
    unsigned hosts;      /* Host fields seen */
    unsigned hex_digits; /* of the chunk size */
    bool has_cl, has_te, te_chunked, trailers;
    bool name_long, val_long;
    size_t name_len, val_len;
    uint64_t remaining; /* body or chunk bytes still to come */
    char name[20];      /* lower-cased start of the field name */
    char val[24];       /* start of a framing field's value */
} goio__http_strict;

void goio__http_strict_init(goio__http_strict *s);
/*
 * Scans p[0..len). *result: 0 every byte was fine and the message goes on
 * (returns len); 1 a message ended (returns its bytes in p, the scanner is
 * ready for the next); -1 a violation at p[return value] (s->status says
 * the answer; later calls keep failing).
 */
size_t goio__http_strict_scan(goio__http_strict *s, const uint8_t *p,
                              size_t len, int *result);

typedef struct goio__http_parser {
    http_parser p;
    goio__http_strict strict;
    size_t max_header_bytes;
    size_t max_body_bytes;
    goio_http_request *cur; /* being parsed, or complete (REQUEST) */
    size_t url_off;
    size_t url_len;
    size_t header_bytes;
    int last; /* 0 none, 1 field, 2 value: for fragmented callbacks */
    int status;
    bool in_message;   /* first byte seen, not complete */
    bool headers_done; /* of the message in progress */
    bool complete;
    bool disagreed; /* the strict scanner and http-parser framed differently */
    bool discard_body; /* of the message in progress: read, not kept */
    /* The message in progress streams its body into `stream` (its
     * request's; cleared when the body ends or the exchange goes). */
    goio__http_stream *stream;
    size_t stream_cap;
    size_t discarded; /* its bytes so far (max_body_bytes still holds) */
    /* Asked when the headers of a request with a body are complete (the
     * server routes it there): 0 read the body, 1 read and discard it,
     * 2 stream it (the request is handed out with its headers), an HTTP
     * status to answer at once without reading it. */
    int (*head_fn)(void *data, goio_http_request *req);
    void *head_data;
    /* Server-wide count of buffered body bytes and its cap (NULL: none);
     * beyond the cap a request is answered 503. */
    atomic_size_t *budget;
    size_t budget_max;
} goio__http_parser;

void goio__http_parser_init(goio__http_parser *rp, size_t max_header_bytes,
                            size_t max_body_bytes);
/* Parses data[0..len); *used says how much was consumed (all, unless a
 * request completed: the parser then waits for goio__http_parser_take). */
goio__http_feed goio__http_parser_feed(goio__http_parser *rp, const char *data,
                                       size_t len, size_t *used);
/* The complete request (caller owns it) and resumes parsing; NULL at the
 * end of a streamed body already taken (its stream is ended). */
goio_http_request *goio__http_parser_take(goio__http_parser *rp);
void goio__http_parser_reset(goio__http_parser *rp);

void goio__http_request_free(goio_http_request *req);
/* Records the route the router matched and its {name} values. */
int goio__http_request_set_route(goio_http_request *req, const char *route,
                                 const char *const *names,
                                 const char *const *values,
                                 const size_t *value_lens, size_t n);

/*
 * The router's verdict for a request before its body is read (lock-free,
 * like matching): 0 a route takes it, 404 no route and the default
 * fallback, 405 the path is routed for other methods (allow gets the
 * Allow value), 1 a custom fallback or an Allow too long for allow_cap
 * will answer it (read and discard the body).
 */
/* 2: a streaming route takes it. */
int goio__http_router_precheck(goio_http_router *r, const char *method,
                               const char *path, char *allow, size_t allow_cap);

/* ---- server internals (http_server.c, http_conn.c) ----------------------- */

typedef struct goio__http_conn goio__http_conn;

typedef enum goio__http_phase {
    GOIO__HTTP_NEW,      /* not started */
    GOIO__HTTP_RUNNING,  /* serving */
    GOIO__HTTP_DRAINING, /* stop: in-flight requests may finish */
    GOIO__HTTP_EXITING,  /* stop: workers joined, the loop closes up */
    GOIO__HTTP_STOPPED
} goio__http_phase;

/* Connections per client address (loop thread only). */
typedef struct goio__http_client {
    struct goio__http_client *next; /* in its hash bucket */
    unsigned count;                 /* linked connections */
    uint8_t addr[16];
    uint8_t len; /* 4 or 16 */
} goio__http_client;

typedef struct goio__http_link {
    goio_http_server *srv;
    size_t i;
} goio__http_link;

struct goio_http_server {
    goio_http_server_config cfg;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t async;
    uv_timer_t stop_timer;
    uv_timer_t accept_timer; /* a deferred accept (see conn_defer_accept) */
    bool accept_deferred;
    bool listening;
    bool listener_closed;
    int port;
    char *readbuf; /* one per loop: read callbacks consume it at once */
    size_t readbuf_len;
    goio_ctx *root_ctx; /* parent of every request ctx */
    /* lifecycle: phase, drained and exited under state_mu */
    pthread_mutex_t stop_mu; /* serializes goio_http_server_stop */
    pthread_mutex_t state_mu;
    pthread_cond_t state_cond;
    goio__http_phase phase;
    atomic_bool stopping;
    int64_t stop_timeout_ms;
    bool drain_started; /* loop thread */
    bool drained;
    pthread_t loop_thread;
    bool loop_thread_started;
    /* exchanges with output for the loop */
    pthread_mutex_t ready_mu;
    goio__http_exchange *ready_head;
    goio__http_exchange *ready_tail;
    /* connections (loop thread only) */
    goio__http_conn *conns; /* oldest idle first (see conn_touch) */
    goio__http_conn *conns_tail;
    unsigned nconns;             /* allocated, until their handles are closed */
    unsigned nlinked;            /* in `conns`: open, not yet closed */
    uint64_t idle_seq;           /* orders connections by when they went idle */
    goio__http_client **clients; /* hash of client addresses */
    size_t nclient_buckets;
    goio__http_conn *spare;      /* to accept and close when out of memory */
    atomic_size_t body_buffered; /* request body bytes held (capacity) */
    /* workers */
    pthread_t *workers;
    unsigned nworkers;    /* started (under jobs_mu once running) */
    unsigned workers_cap; /* worker_threads + max_waiting_workers */
    unsigned waiting;     /* handlers waiting for a slow client */
    pthread_mutex_t jobs_mu;
    pthread_cond_t jobs_cond;
    unsigned sleeping; /* workers in pthread_cond_wait on jobs_cond */
    unsigned waking;   /* signals sent and not yet seen by a woken worker */
    goio__http_exchange *jobs_head;
    goio__http_exchange *jobs_tail;
    bool workers_quit;
    /* middleware */
    goio_http_middleware_fn *mw_fns;
    void **mw_data;
    size_t nmw;
    goio__http_link *links;
};

/* http_conn.c: the listener's callback and the loop-side operations. */
void goio__http_on_connection(uv_stream_t *listener, int status);
/* Writes what ex queued; finishes the exchange when it is done. */
void goio__http_conn_process(goio__http_exchange *ex);
/* Stop: close connections without a request in flight. */
void goio__http_conns_drain(goio_http_server *srv);
/* Stop's deadline: fail in-flight exchanges and close everything. */
void goio__http_conns_abort(goio_http_server *srv);
/* The accept timer's callback: accepts what was deferred. */
void goio__http_accept_deferred(uv_timer_t *t);
/* Frees the client-address table (the server is stopped). */
void goio__http_clients_free(goio_http_server *srv);
/* http_server.c: hands a parsed request to the workers. */
void goio__http_server_dispatch(goio_http_server *srv, goio__http_exchange *ex);
/* http_server.c: a handler starts (true) or stops (false) waiting for a
 * slow client; another worker is started so that worker_threads stay
 * free for other requests (up to max_waiting_workers more). */
void goio__http_server_worker_waits(goio_http_server *srv, bool waits);
/* http_server.c: a connection is gone (for the drain). */
void goio__http_server_conn_gone(goio_http_server *srv);

/* Queues ex for the loop thread (which writes what it queued). Takes the
 * reference the ready list holds. Callable from any thread. */
void goio__http_server_notify(goio_http_server *srv, goio__http_exchange *ex);
bool goio__http_server_stopping(const goio_http_server *srv);
const goio_http_server_config *
goio__http_server_cfg(const goio_http_server *srv);

/* ---- exchanges (http_exchange.c) ----------------------------------------- */

/*
 * One piece of output: `pre` (chunk size line), data, and "\r\n" when
 * post is set. Data is a pooled buffer, heap memory or a static string.
 */
typedef enum goio__http_seg_kind {
    GOIO__SEG_POOL,
    GOIO__SEG_HEAP,
    GOIO__SEG_STATIC,
    GOIO__SEG_BORROWED /* the caller's: release(rel_data) when done */
} goio__http_seg_kind;

typedef struct goio__http_seg {
    struct goio__http_seg *next;
    uint8_t *data;
    size_t len;
    size_t cap;
    goio__http_seg_kind kind;
    goio_http_response_release_fn release; /* BORROWED (may be NULL) */
    void *rel_data;
    uint8_t pre_len;
    bool post;
    char pre[22];
} goio__http_seg;

struct goio__http_exchange {
    goio_http_response res; /* first: the handler's response */
    goio_http_request *req; /* owned */
    goio_http_server *srv;
    atomic_int refs;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* room in the queue, or failure */
    /* response headers, status and framing (under mu) */
    char **hdrs;  /* name, value, name, value ... (owned) */
    char *reason; /* set_reason's phrase, or NULL (owned) */
    size_t nhdrs;
    size_t hdrs_cap;
    int status;
    bool fixed;        /* status and headers may not change any more */
    bool headers_sent; /* serialized into the queue */
    bool no_body;      /* HEAD, 1xx, 204, 304: body bytes are dropped */
    bool chunked;
    bool want_chunked;     /* the handler set Transfer-Encoding: chunked */
    uint64_t declared_len; /* the handler's Content-Length, or UINT64_MAX */
    uint64_t body_bytes;
    uint8_t *cur; /* response buffer, chunk_size bytes */
    size_t cur_len;
    size_t cur_cap;
    goio__http_seg *q_head; /* queued for the loop */
    goio__http_seg *q_tail;
    size_t pending; /* bytes queued or in flight */
    int failed;     /* connection failure seen by the loop (GOIO_E*) */
    bool aborted;   /* by the handler */
    bool ended;     /* the handler returned; the last bytes are queued */
    bool keep_alive;
    /* loop side */
    goio__http_conn *conn;
    bool in_ready; /* under srv->ready_mu */
    goio__http_exchange *ready_next;
    goio__http_exchange *job_next; /* worker queue, under its lock */
};

int goio__http_exchange_new(goio_http_server *srv, goio_http_request *req,
                            goio__http_exchange **out);
goio__http_exchange *goio__http_exchange_ref(goio__http_exchange *ex);
void goio__http_exchange_unref(goio__http_exchange *ex);
/* After the handler returned: queues the rest and the final chunk. */
void goio__http_exchange_finish(goio__http_exchange *ex);
/* Loop side: takes the queued segments; *bytes is their size. */
goio__http_seg *goio__http_exchange_take(goio__http_exchange *ex,
                                         size_t *bytes);
/* Loop side: `bytes` left the process (or were dropped); error < 0 marks
 * the connection failed so blocked and later writes fail. */
void goio__http_exchange_sent(goio__http_exchange *ex, size_t bytes, int error);
/* The exchange behind goio's own response, NULL for any other. */
goio__http_exchange *goio__http_exchange_of(goio_http_response *res);
/* Body bytes in a pooled buffer (goio_io_bufpool_default, `cap` as it gave):
 * a large one is queued as its own chunk without a copy, a small one is
 * gathered like a write. Takes the buffer in every case; waits for room
 * like a write. */
int goio__http_exchange_give(goio__http_exchange *ex, void *buf, size_t cap,
                             size_t n);
void goio__http_segs_free(goio__http_seg *s);
/* A static segment (error answers, "100 Continue"). */
goio__http_seg *goio__http_seg_static(const char *s);

/* ---- connections (http_conn.c) ------------------------------------------- */

typedef enum goio__http_conn_state {
    GOIO__CONN_IDLE,     /* waiting for a request's first byte */
    GOIO__CONN_READING,  /* a request is arriving */
    GOIO__CONN_HANDLING, /* a worker runs the handler / output drains */
    GOIO__CONN_LINGER,   /* FIN sent, draining the peer's bytes */
    GOIO__CONN_CLOSED    /* uv_close called, waiting for callbacks */
} goio__http_conn_state;

struct goio__http_conn {
    uv_tcp_t tcp; /* first: handle->data is not needed */
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    goio_http_server *srv;
    goio__http_conn *prev;
    goio__http_conn *next;
    goio__http_parser rp;
    goio_buf inbuf; /* bytes read ahead of the parser (pipelining) */
    goio__http_exchange *ex;
    goio__http_conn_state state;
    uint64_t msg_start; /* loop time of the request's first byte */
    uint64_t since;     /* srv->idle_seq when it became idle / lingering */
    uint64_t idle_at;   /* loop time of the same moment */
    goio__http_client *client;
    unsigned inflight;       /* uv_write requests */
    uint64_t submitted;      /* bytes given to uv_write */
    uint64_t delivered_mark; /* conn_delivered() when the timer was armed */
    int open_handles;
    bool reading;
    bool peer_eof;
    bool continue_sent;
    bool body_failed; /* a streamed body failed: close after the answer */
    char remote[64];
    char allow[256]; /* the Allow header of a 405 answered by the loop */
};

#endif
