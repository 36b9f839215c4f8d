/* SPDX-License-Identifier: MIT */
/*
 * Streamed request bodies (issue 15 item 4): a route added with
 * goio_http_router_handle_streaming gets its handler run with the
 * headers and reads the body through goio_http_request_body_read or a
 * goio_io_reader, with back-pressure (the server holds at most
 * max_pending_bytes of it and stops reading the socket), max_body_bytes,
 * the strict chunked framing, a stall timeout and client disconnects all
 * surfacing as reader errors. Real sockets; the 1 GiB upload checks RSS.
 */
#include "http_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_proc.h"

#define BIG (1ull << 30)

/* What the last h_sink saw (one streamed request at a time per test). */
static atomic_ullong sink_bytes;
static atomic_int sink_err;
static atomic_int sink_done;
static atomic_long sink_rss_max; /* KiB */
static atomic_bool sink_bad_pattern;

static void sink_reset(void)
{
    atomic_store(&sink_bytes, 0);
    atomic_store(&sink_err, 1);
    atomic_store(&sink_done, 0);
    atomic_store(&sink_rss_max, 0);
    atomic_store(&sink_bad_pattern, false);
}

/* Reads the body as a goio_io_reader, checks the pattern, answers the
 * count; on a read error returns without answering. */
static void h_sink(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    HT_CHECK(goio_http_request_body_is_streamed(req) ||
             !goio_http_request_get_header(req, "Content-Length") ||
             !strcmp(goio_http_request_get_header(req, "Content-Length"), "0"));
    goio_io_reader *r = NULL;
    HT_CHECK(goio_http_request_body_reader_new(req, &r) == 0);
    if (!r)
        return;
    static _Thread_local uint8_t buf[65536];
    uint64_t total = 0, next_rss = 0;
    ssize_t n;
    while ((n = goio_io_read(r, buf, sizeof buf)) > 0) {
        if (!ht_pattern_check(total, buf, (size_t)n))
            atomic_store(&sink_bad_pattern, true);
        total += (uint64_t)n;
        atomic_store(&sink_bytes, total);
        if (total >= next_rss) {
            long kib = ht_rss_kib();
            if (kib > atomic_load(&sink_rss_max))
                atomic_store(&sink_rss_max, kib);
            next_rss = total + (64u << 20);
        }
    }
    goio_io_reader_close(r);
    atomic_store(&sink_err, n < 0 ? (int)n : 0);
    atomic_store(&sink_done, 1);
    if (n == 0)
        goio_http_response_printf(res, "%llu", (unsigned long long)total);
}

/* Answers at once without reading the body. */
static void h_ignore(goio_http_request *req, goio_http_response *res,
                     void *data)
{
    (void)req;
    (void)data;
    goio_http_respond(res, 200, "text/plain", "no", 2);
}

static void h_hello(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    goio_http_respond(res, 200, "text/plain", "hello", 5);
}

/* A buffered route read in small pieces through the same call. */
static void h_echo_pieces(goio_http_request *req, goio_http_response *res,
                          void *data)
{
    (void)data;
    HT_CHECK(!goio_http_request_body_is_streamed(req));
    char buf[7];
    size_t n;
    int rc;
    while (
        !(rc = goio_http_request_body_read(req, NULL, buf, sizeof buf, &n)) &&
        n)
        goio_http_response_write(res, buf, n);
    HT_CHECK(rc == 0);
}

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static bool gate_open;

static bool gate_is_open(void)
{
    pthread_mutex_lock(&gate_mu);
    bool o = gate_open;
    pthread_mutex_unlock(&gate_mu);
    return o;
}

static void set_gate(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_mutex_unlock(&gate_mu);
}

/* Waits for the gate (bounded) before reading: the client is held back. */
static void h_gated(goio_http_request *req, goio_http_response *res, void *data)
{
    GOIO_WAIT_UNTIL(gate_is_open(), 20000);
    h_sink(req, res, data);
}

static ht_server *start(goio_http_server_config *cfg)
{
    ht_server *s = goio_calloc(1, sizeof *s);
    goio_http_router *r = ht_router(s);
    assert_ok(
        goio_http_router_handle_streaming(r, "POST", "/up", h_sink, NULL));
    assert_ok(
        goio_http_router_handle_streaming(r, "POST", "/gated", h_gated, NULL));
    assert_ok(goio_http_router_handle_streaming(r, "POST", "/ignore", h_ignore,
                                                NULL));
    assert_ok(goio_http_router_handle(r, "POST", "/buf", h_echo_pieces, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/hello", h_hello, NULL));
    ht_start(s, cfg);
    sink_reset();
    return s;
}

static void stop(ht_server *s)
{
    ht_stop(s);
    goio_free(s);
}

static void send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        assert_true(k > 0);
        b += k;
        n -= (size_t)k;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* ---- the 1 GiB upload ---------------------------------------------------- */

static void test_gib_upload_flat_rss(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.max_body_bytes = 2 * BIG;
    ht_server *s = start(&cfg);
    long rss0 = ht_rss_kib();
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "POST /up HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    static uint8_t chunk[65536 + 16];
    int64_t t0 = goio_now_mono_ms();
    for (uint64_t off = 0; off < BIG; off += 65536) {
        memcpy(chunk, "10000\r\n", 7);
        ht_pattern_fill(off, chunk + 7, 65536);
        memcpy(chunk + 7 + 65536, "\r\n", 2);
        send_all(fd, chunk, 65536 + 9);
    }
    send_str(fd, "0\r\n\r\n");
    goio_buf reply = GOIO_BUF_INIT;
    /* Keep-alive: read until the count is there. */
    int64_t end = goio_now_mono_ms() + 60000;
    while (!strstr(goio_buf_cstr(&reply), "\r\n\r\n1073741824") &&
           goio_now_mono_ms() < end) {
        char b[4096];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = read(fd, b, sizeof b);
            if (n <= 0)
                break;
            goio_buf_append(&reply, b, (size_t)n);
        }
    }
    int64_t ms = goio_now_mono_ms() - t0;
    long grew = atomic_load(&sink_rss_max) - rss0;
    printf("1 GiB chunked upload streamed in %lld ms (%.0f MiB/s), RSS "
           "+%ld KiB at most\n",
           (long long)ms, 1024.0 * 1000 / (double)(ms ? ms : 1), grew);
    assert_non_null(strstr(goio_buf_cstr(&reply), "HTTP/1.1 200"));
    assert_non_null(strstr(goio_buf_cstr(&reply), "\r\n\r\n1073741824"));
    assert_int_equal(atomic_load(&sink_err), 0);
    assert_int_equal(atomic_load(&sink_bytes), BIG);
    assert_false(atomic_load(&sink_bad_pattern));
    assert_true(grew < 64 * 1024); /* of 1 GiB: nothing near the body */
    /* The connection is still usable. */
    goio_buf_clear(&reply);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(ht_read_until_eof(fd, &reply, 10000));
    assert_non_null(strstr(goio_buf_cstr(&reply), "hello"));
    goio_buf_deinit(&reply);
    close(fd);
    stop(s);
}

/* ---- back-pressure ------------------------------------------------------- */

static void test_backpressure_holds_client(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.max_body_bytes = 1ull << 30;
    ht_server *s = start(&cfg);
    set_gate(false);
    const uint64_t total = 64ull << 20;
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "POST /gated HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 67108864\r\n\r\n");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static uint8_t buf[65536];
    uint64_t sent = 0;
    /* Send until the socket has not taken a byte for 300 ms. */
    int64_t last = goio_now_mono_ms();
    while (sent < total && goio_now_mono_ms() - last < 300) {
        size_t n =
            total - sent < sizeof buf ? (size_t)(total - sent) : sizeof buf;
        ht_pattern_fill(sent, buf, n);
        ssize_t k = send(fd, buf, n, MSG_NOSIGNAL);
        if (k > 0) {
            sent += (uint64_t)k;
            last = goio_now_mono_ms();
        } else {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 20);
        }
    }
    printf("handler not reading: the client got %llu bytes out of 64 MiB "
           "before it was held back\n",
           (unsigned long long)sent);
    assert_true(sent < 24ull << 20); /* kernel buffers + 256 KiB */
    /* The handler reads on: the rest flows. */
    set_gate(true);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    while (sent < total) {
        size_t n =
            total - sent < sizeof buf ? (size_t)(total - sent) : sizeof buf;
        ht_pattern_fill(sent, buf, n);
        send_all(fd, buf, n);
        sent += n;
    }
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&sink_done), 30000));
    assert_int_equal(atomic_load(&sink_err), 0);
    assert_int_equal(atomic_load(&sink_bytes), total);
    assert_false(atomic_load(&sink_bad_pattern));
    close(fd);
    stop(s);
}

/* ---- a slow uploader does not block other requests ----------------------- */

#define SLOW_UPLOADERS 8

static atomic_bool slow_stop;

static void *trickle(void *arg)
{
    int *fds = arg;
    while (!atomic_load(&slow_stop)) {
        for (int i = 0; i < SLOW_UPLOADERS; i++)
            send(fds[i], "1\r\nx\r\n", 6, MSG_NOSIGNAL);
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL); /* the pace of the trickle, not a wait */
    }
    return NULL;
}

static void test_slow_uploaders_do_not_block(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.worker_threads = 2;
    ht_server *s = start(&cfg);
    int fds[SLOW_UPLOADERS];
    for (int i = 0; i < SLOW_UPLOADERS; i++) {
        fds[i] = goio_test_connect(s->port);
        assert_true(fds[i] >= 0);
        send_str(fds[i], "POST /up HTTP/1.1\r\nHost: x\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n");
    }
    atomic_store(&slow_stop, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, trickle, fds), 0);
    int64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        int64_t q0 = goio_now_mono_ms();
        ht_resp r;
        ht_get(s->port, "/hello", &r);
        int64_t ms = goio_now_mono_ms() - q0;
        worst = ms > worst ? ms : worst;
        assert_int_equal(r.status, 200);
        ht_resp_free(&r);
    }
    atomic_store(&slow_stop, true);
    pthread_join(t, NULL);
    printf("%d slow uploaders on 2 workers: slowest /hello %lld ms\n",
           SLOW_UPLOADERS, (long long)worst);
    assert_true(worst < 2000);
    for (int i = 0; i < SLOW_UPLOADERS; i++)
        close(fds[i]);
    stop(s);
}

/* ---- failures mid-body --------------------------------------------------- */

/* Sends a chunked body's first chunk, waits until the handler read it,
 * then `rest`; returns the reply (read to EOF). */
static void bad_chunk(const char *rest, int want_err, const char *want_status)
{
    ht_server *s = start(NULL);
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "POST /up HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    uint8_t first[5];
    ht_pattern_fill(0, first, 5);
    char line[16];
    send_str(fd, "5\r\n");
    send_all(fd, first, 5);
    send_str(fd, "\r\n");
    (void)line;
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&sink_bytes) == 5, 10000));
    send_str(fd, rest);
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fd, &reply, 10000));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&sink_done), 10000));
    assert_int_equal(atomic_load(&sink_err), want_err);
    assert_non_null(strstr(goio_buf_cstr(&reply), want_status));
    assert_non_null(strstr(goio_buf_cstr(&reply), "Connection: close"));
    goio_buf_deinit(&reply);
    close(fd);
    stop(s);
}

static void test_malformed_chunk_mid_stream(void **state)
{
    (void)state;
    bad_chunk("zz\r\nhello\r\n", GOIO_EBADMSG, "HTTP/1.1 400 ");
    bad_chunk("3\r\nabcXY", GOIO_EBADMSG, "HTTP/1.1 400 ");
    bad_chunk("3 \r\nabc\r\n", GOIO_EBADMSG, "HTTP/1.1 400 ");
}

static void test_body_limit_mid_stream(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.max_body_bytes = 100000;
    ht_server *s = start(&cfg);
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "POST /up HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    static uint8_t buf[10000];
    for (int i = 0; i < 20; i++) {
        ht_pattern_fill((uint64_t)i * sizeof buf, buf, sizeof buf);
        send_str(fd, "2710\r\n");
        if (send(fd, buf, sizeof buf, MSG_NOSIGNAL) < 0 ||
            send(fd, "\r\n", 2, MSG_NOSIGNAL) < 0)
            break; /* the server closed: fine */
    }
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fd, &reply, 10000));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&sink_done), 10000));
    assert_int_equal(atomic_load(&sink_err), GOIO_E2BIG);
    assert_true(atomic_load(&sink_bytes) <= 100000);
    assert_non_null(strstr(goio_buf_cstr(&reply), "HTTP/1.1 413 "));
    goio_buf_deinit(&reply);
    close(fd);
    stop(s);
}

static void test_client_disconnect_mid_body(void **state)
{
    (void)state;
    ht_server *s = start(NULL);
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "POST /up HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 5000000\r\n\r\n");
    static uint8_t buf[1000];
    ht_pattern_fill(0, buf, sizeof buf);
    send_all(fd, buf, sizeof buf);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&sink_bytes) == 1000, 10000));
    int64_t t0 = goio_now_mono_ms();
    close(fd);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&sink_done), 5000));
    printf("reader failed %lld ms after the client left\n",
           (long long)(goio_now_mono_ms() - t0));
    assert_int_equal(atomic_load(&sink_err), GOIO_ECONNRESET);
    stop(s);
}

static void test_stalled_client_times_out(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.request_timeout_ms = 300;
    ht_server *s = start(&cfg);
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "POST /up HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 10000\r\n\r\n");
    static uint8_t buf[1000];
    ht_pattern_fill(0, buf, sizeof buf);
    send_all(fd, buf, sizeof buf);
    int64_t t0 = goio_now_mono_ms();
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fd, &reply, 10000));
    int64_t ms = goio_now_mono_ms() - t0;
    printf("stalled upload answered after %lld ms (timeout 300)\n",
           (long long)ms);
    assert_true(ms >= 250);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&sink_done), 5000));
    assert_int_equal(atomic_load(&sink_err), GOIO_ETIMEDOUT);
    assert_int_equal(atomic_load(&sink_bytes), 1000);
    assert_non_null(strstr(goio_buf_cstr(&reply), "HTTP/1.1 408 "));
    goio_buf_deinit(&reply);
    close(fd);
    stop(s);
}

/* A reader's own ctx bounds its wait; the body goes on afterwards. */
static atomic_int ctx_first_err;

static void h_ctx(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    goio_ctx *ctx = NULL;
    HT_CHECK(goio_ctx_new_with_timeout(NULL, 100, &ctx) == 0);
    char buf[16];
    size_t n = 1;
    atomic_store(&ctx_first_err,
                 goio_http_request_body_read(req, ctx, buf, sizeof buf, &n));
    HT_CHECK(n == 0);
    goio_ctx_unref(ctx);
    size_t got = 0;
    int rc;
    while (
        !(rc = goio_http_request_body_read(req, NULL, buf, sizeof buf, &n)) &&
        n)
        got += n;
    HT_CHECK(rc == 0);
    goio_http_response_printf(res, "%zu", got);
}

static void test_reader_ctx_deadline(void **state)
{
    (void)state;
    ht_server *s = goio_calloc(1, sizeof *s);
    assert_ok(goio_http_router_handle_streaming(ht_router(s), "PUT", "/c",
                                                h_ctx, NULL));
    ht_start(s, NULL);
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "PUT /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n");
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&ctx_first_err) != 0, 5000));
    assert_int_equal(atomic_load(&ctx_first_err), GOIO_ETIMEDOUT);
    send_str(fd, "abc");
    goio_buf reply = GOIO_BUF_INIT;
    int64_t end = goio_now_mono_ms() + 5000;
    while (!strstr(goio_buf_cstr(&reply), "\r\n\r\n3") &&
           goio_now_mono_ms() < end) {
        char b[512];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = read(fd, b, sizeof b);
            if (n <= 0)
                break;
            goio_buf_append(&reply, b, (size_t)n);
        }
    }
    assert_non_null(strstr(goio_buf_cstr(&reply), "\r\n\r\n3"));
    goio_buf_deinit(&reply);
    close(fd);
    ht_stop(s);
    goio_free(s);
}

/* ---- keep-alive, pipelining, curl, unread bodies, buffered reads --------- */

static void test_pipelined_after_streamed_body(void **state)
{
    (void)state;
    ht_server *s = start(NULL);
    uint8_t body[5];
    ht_pattern_fill(0, body, 5);
    goio_buf req = GOIO_BUF_INIT;
    goio_buf_append_str(&req, "POST /up HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 5\r\n\r\n");
    goio_buf_append(&req, body, 5);
    goio_buf_append_str(&req, "GET /hello HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n");
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_raw(s->port, (const char *)req.data, req.len, &reply, 5000));
    const char *r = goio_buf_cstr(&reply);
    assert_non_null(strstr(r, "\r\n\r\n5HTTP/1.1 200"));
    assert_non_null(strstr(r, "hello"));
    goio_buf_deinit(&req);
    goio_buf_deinit(&reply);
    stop(s);
}

static void test_curl_upload_with_expect(void **state)
{
    (void)state;
    ht_server *s = start(NULL);
    size_t len = 3 << 20;
    uint8_t *body = goio_malloc(len);
    ht_pattern_fill(0, body, len);
    const char *hdrs[] = {"Expect: 100-continue", NULL};
    ht_req q = {.method = "POST",
                .path = "/up",
                .body = body,
                .body_len = len,
                .headers = hdrs};
    ht_resp r;
    ht_request(s->port, &q, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "3145728");
    assert_non_null(strstr(goio_buf_cstr(&r.headers), "100 Continue"));
    ht_resp_free(&r);
    /* A buffered route read through the same call. */
    q.path = "/buf";
    q.body = "hello, pieces";
    q.body_len = 13;
    q.headers = NULL;
    ht_request(s->port, &q, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "hello, pieces");
    ht_resp_free(&r);
    goio_free(body);
    stop(s);
}

static void test_unread_body_closes(void **state)
{
    (void)state;
    ht_server *s = start(NULL);
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    send_str(fd, "POST /ignore HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 5000000\r\n\r\nabc");
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fd, &reply, 10000));
    assert_non_null(strstr(goio_buf_cstr(&reply), "HTTP/1.1 200"));
    assert_non_null(strstr(goio_buf_cstr(&reply), "Connection: close"));
    goio_buf_deinit(&reply);
    close(fd);
    stop(s);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char buf[4];
    size_t n = 7;
    assert_int_equal(goio_http_request_body_read(NULL, NULL, buf, 4, &n),
                     GOIO_EINVAL);
    assert_int_equal(n, 0);
    goio_io_reader *r = (goio_io_reader *)1;
    assert_int_equal(goio_http_request_body_reader_new(NULL, &r), GOIO_EINVAL);
    assert_null(r);
    assert_false(goio_http_request_body_is_streamed(NULL));
    goio_http_router *rt;
    assert_ok(goio_http_router_new(&rt));
    assert_int_equal(
        goio_http_router_handle_streaming(rt, "POST", "nope", h_sink, NULL),
        GOIO_EINVAL);
    assert_int_equal(
        goio_http_router_handle_streaming(rt, "POST", "/a", NULL, NULL),
        GOIO_EINVAL);
    assert_ok(
        goio_http_router_handle_streaming(rt, "POST", "/a", h_sink, NULL));
    assert_int_equal(
        goio_http_router_handle_streaming(rt, "POST", "/a", h_sink, NULL),
        GOIO_EEXIST);
    goio_http_router_free(rt);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_pipelined_after_streamed_body),
        cmocka_unit_test(test_curl_upload_with_expect),
        cmocka_unit_test(test_unread_body_closes),
        cmocka_unit_test(test_malformed_chunk_mid_stream),
        cmocka_unit_test(test_body_limit_mid_stream),
        cmocka_unit_test(test_client_disconnect_mid_body),
        cmocka_unit_test(test_stalled_client_times_out),
        cmocka_unit_test(test_reader_ctx_deadline),
        cmocka_unit_test(test_slow_uploaders_do_not_block),
        cmocka_unit_test(test_backpressure_holds_client),
        cmocka_unit_test(test_gib_upload_flat_rss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
