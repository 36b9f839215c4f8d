/* SPDX-License-Identifier: MIT */
/*
 * goio_http_render_chunked over the real server with libcurl and the curl
 * CLI: body sizes up to 1 GiB with bounded RSS, a trickling source, a
 * failing source (curl must see a partial transfer and keep every byte),
 * client disconnects (the reader is closed, nothing leaks), back-pressure,
 * HEAD, and rendering onto a response writer implemented outside goio.
 */
#include "http_test.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "test_proc.h"

static ht_source_stats stats;

/* /gen?n=<bytes>&fail=<bytes>: pattern bytes, failing after `fail`. */
static void h_gen(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    goio_buf v = GOIO_BUF_INIT;
    bool found;
    uint64_t n = UINT64_MAX, fail = UINT64_MAX;
    if (!goio_http_query_get(goio_http_request_query(req), "n", &v, &found) &&
        found)
        n = strtoull(goio_buf_cstr(&v), NULL, 10);
    if (!goio_http_query_get(goio_http_request_query(req), "fail", &v,
                             &found) &&
        found)
        fail = strtoull(goio_buf_cstr(&v), NULL, 10);
    goio_buf_deinit(&v);
    goio_io_reader *src = ht_gen_reader(n, fail, GOIO_EIO, &stats);
    int rc =
        goio_http_render_chunked(res, "application/octet-stream", src, NULL);
    HT_CHECK(rc == 0 || fail != UINT64_MAX || n == UINT64_MAX);
}

static int setup(void **state)
{
    ht_server *s = goio_calloc(1, sizeof *s);
    assert_ok(
        goio_http_router_handle(ht_router(s), "GET", "/gen", h_gen, NULL));
    ht_start(s, NULL);
    memset(&stats, 0, sizeof stats);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    ht_stop(*state);
    goio_free(*state);
    return 0;
}

/* ---- a streaming client that checks the pattern as bytes arrive ---------- */

typedef struct stream {
    uint64_t got;
    bool pattern_ok;
    long rss_base, rss_peak;
    uint64_t next_rss_at;
    uint64_t stop_after; /* abort the transfer (return 0) past this */
} stream;

static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
    stream *s = arg;
    size_t len = size * n;
    if (s->pattern_ok && !ht_pattern_check(s->got, (uint8_t *)p, len))
        s->pattern_ok = false;
    s->got += len;
    if (s->got >= s->next_rss_at) {
        long rss = ht_rss_kib();
        s->rss_peak = rss > s->rss_peak ? rss : s->rss_peak;
        s->next_rss_at += 16 << 20;
    }
    return s->got > s->stop_after ? 0 : len;
}

static CURLcode stream_get(int port, const char *path, stream *s, long *status)
{
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 600000L);
    s->pattern_ok = true;
    if (!s->stop_after)
        s->stop_after = UINT64_MAX;
    CURLcode rc = curl_easy_perform(c);
    if (status)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    return rc;
}

static void check_size(int port, uint64_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/gen?n=%llu", (unsigned long long)n);
    ht_resp r;
    ht_get(port, path, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_header(&r, "Transfer-Encoding"), "chunked");
    assert_string_equal(ht_header(&r, "Content-Type"),
                        "application/octet-stream");
    assert_int_equal(r.body.len, n);
    assert_true(ht_pattern_check(0, r.body.data, r.body.len));
    ht_resp_free(&r);
}

static void test_sizes(void **state)
{
    ht_server *s = *state;
    check_size(s->port, 0);
    check_size(s->port, 1);
    check_size(s->port, 65535);
    check_size(s->port, 65536);
    check_size(s->port, 65537);
    check_size(s->port, 1 << 20);
    assert_true(atomic_load(&stats.closed));
}

static void test_one_gib(void **state)
{
    ht_server *s = *state;
    const char *env = getenv("GOIO_HTTP_TEST_BIG");
    uint64_t n = env ? strtoull(env, NULL, 10) : (1ull << 30);
    check_size(s->port, 1 << 20); /* warm up pools and threads */
    stream st = {.rss_base = ht_rss_kib()};
    st.rss_peak = st.rss_base;
    char path[64];
    snprintf(path, sizeof path, "/gen?n=%llu", (unsigned long long)n);
    int64_t t0 = goio_now_mono_ms();
    long status = 0;
    assert_int_equal(stream_get(s->port, path, &st, &status), CURLE_OK);
    int64_t ms = goio_now_mono_ms() - t0;
    assert_int_equal(status, 200);
    assert_int_equal(st.got, n);
    assert_true(st.pattern_ok);
    long growth = st.rss_peak - st.rss_base;
    print_message("1 GiB: %lld ms, %.0f MiB/s, RSS growth %ld KiB\n",
                  (long long)ms, (double)n / 1048576.0 / ((double)ms / 1e3),
                  growth);
    /* A few 64 KiB buffers per response; a body held in memory would be
     * 1 GiB. */
    assert_true(growth < 64 * 1024);
}

/* ---- a trickling source -------------------------------------------------- */

#define PIECES    30
#define PIECE_LEN 9

typedef struct trickle_state {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int sent, received;
    int64_t sent_at[PIECES];
    int64_t lat[PIECES]; /* sent by the source to received by curl */
    bool closed;
} trickle_state;

typedef struct trickle_reader {
    goio_io_reader r;
    trickle_state *t;
} trickle_reader;

/* Returns a piece only once the client holds the previous one: only the
 * auto-flush can carry a piece out while the source waits. */
static ssize_t trickle_read(goio_io_reader *r, void *buf, size_t cap)
{
    trickle_state *t = ((trickle_reader *)r)->t;
    HT_CHECK(cap >= PIECE_LEN);
    pthread_mutex_lock(&t->mu);
    int64_t end = goio_now_mono_ms() + 10000;
    while (t->received < t->sent && goio_now_mono_ms() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&t->cond, &t->mu, &ts);
    }
    ssize_t n;
    if (t->received < t->sent) {
        n = GOIO_ETIMEDOUT; /* the client never got it: not flushed */
    } else if (t->sent == PIECES) {
        n = 0;
    } else {
        snprintf(buf, cap, "piece-%02d\n", t->sent);
        t->sent_at[t->sent++] = goio_now_mono_ms();
        n = PIECE_LEN;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

static int trickle_close(goio_io_reader *r)
{
    trickle_state *t = ((trickle_reader *)r)->t;
    pthread_mutex_lock(&t->mu);
    t->closed = true;
    pthread_mutex_unlock(&t->mu);
    goio_free(r);
    return 0;
}

static const goio_io_reader_ops trickle_ops = {trickle_read, trickle_close};

static void h_trickle(goio_http_request *req, goio_http_response *res,
                      void *data)
{
    (void)req;
    trickle_reader *r = goio_calloc(1, sizeof *r);
    r->r.ops = &trickle_ops;
    r->t = data;
    goio_http_render_config o;
    goio_http_render_config_init(&o);
    o.flush_interval_ms = 30;
    HT_CHECK(goio_http_render_chunked(res, "text/plain", &r->r, &o) == 0);
}

static size_t on_trickle(char *p, size_t size, size_t n, void *arg)
{
    trickle_state *t = arg;
    assert_int_equal((size * n) % PIECE_LEN, 0);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < size * n; i += PIECE_LEN) {
        int k = atoi(p + i + 6);
        assert_int_equal(k, t->received);
        t->lat[k] = goio_now_mono_ms() - t->sent_at[k];
        t->received++;
    }
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
    return size * n;
}

static void test_trickle(void **state)
{
    (void)state;
    ht_server s = {0};
    trickle_state t = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    assert_ok(goio_http_router_handle(ht_router(&s), "GET", "/trickle",
                                      h_trickle, &t));
    ht_start(&s, NULL);
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/trickle", s.port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_trickle);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    assert_int_equal(t.received, PIECES);
    assert_true(t.closed);
    int64_t med, max;
    ht_latency_stats(t.lat, PIECES, &med, &max);
    print_message("trickle: %d pieces, flush interval 30 ms: median %lld ms, "
                  "max %lld ms\n",
                  PIECES, (long long)med, (long long)max);
    /* The median tight, the worst loose (a loaded, sanitized run). */
    assert_true(med <= 30 + HT_MEDIAN_SLACK_MS);
    assert_true(max <= 30 + HT_TAIL_SLACK_MS);
    ht_stop(&s);
}

/* ---- failing sources ----------------------------------------------------- */

static void test_source_error_libcurl(void **state)
{
    ht_server *s = *state;
    ht_log_capture();
    /* Fails mid-chunk, past several full chunks. */
    uint64_t fail = 5 * 65536 + 1234;
    char path[64];
    snprintf(path, sizeof path, "/gen?fail=%llu", (unsigned long long)fail);
    stream st = {0};
    assert_int_equal(stream_get(s->port, path, &st, NULL), CURLE_PARTIAL_FILE);
    assert_int_equal(st.got, fail); /* every byte read was delivered */
    assert_true(st.pattern_ok);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&stats.closed), 5000));
    assert_true(GOIO_WAIT_UNTIL(
        ht_log_count("chunked_response_write_error") == 1, 5000));
    goio_log_set_level(GOIO_LOG_OFF);

    /* Before any byte. */
    stream st0 = {0};
    assert_int_equal(stream_get(s->port, "/gen?fail=0", &st0, NULL),
                     CURLE_PARTIAL_FILE);
    assert_int_equal(st0.got, 0);

    /* The server is fine: a proper stream still succeeds. */
    check_size(s->port, 3 << 20);
}

static void test_source_error_curl_cli(void **state)
{
    ht_server *s = *state;
    char *dir = goio_test_mkdtemp("http-cli");
    assert_non_null(dir);
    uint64_t fail = 3 * 65536 + 77;
    int rc = goio_test_system(
        "curl -s -o '%s/out' 'http://127.0.0.1:%d/gen?fail=%llu'", dir, s->port,
        (unsigned long long)fail);
    assert_int_equal(rc, 18); /* CURLE_PARTIAL_FILE */
    char path[4200];
    snprintf(path, sizeof path, "%s/out", dir);
    size_t len = 0;
    uint8_t *out = goio_test_read_file(path, &len);
    assert_non_null(out);
    assert_int_equal(len, fail);
    assert_true(ht_pattern_check(0, out, len));
    goio_free(out);

    rc = goio_test_system("curl -s -o '%s/ok' 'http://127.0.0.1:%d/gen?n=%d'",
                          dir, s->port, 3 << 20);
    assert_int_equal(rc, 0);
    snprintf(path, sizeof path, "%s/ok", dir);
    out = goio_test_read_file(path, &len);
    assert_int_equal(len, 3 << 20);
    assert_true(ht_pattern_check(0, out, len));
    goio_free(out);
    goio_test_rm_rf(dir);
    goio_free(dir);
}

/* ---- client disconnects -------------------------------------------------- */

static void test_client_disconnect(void **state)
{
    (void)state;
    goio_io_bufpool_trim(goio_io_bufpool_default());
    long before = goio_test_alloc_outstanding();
    ht_server s = {0};
    assert_ok(
        goio_http_router_handle(ht_router(&s), "GET", "/gen", h_gen, NULL));
    ht_start(&s, NULL);
    memset(&stats, 0, sizeof stats);
    for (int i = 0; i < 3; i++) {
        atomic_store(&stats.closed, false);
        stream st = {.stop_after = (uint64_t)(i + 1) << 20};
        assert_int_equal(stream_get(s.port, "/gen", &st, NULL),
                         CURLE_WRITE_ERROR);
        assert_true(st.pattern_ok);
        /* The endless render notices, stops and closes its reader. */
        assert_true(GOIO_WAIT_UNTIL(atomic_load(&stats.closed), 10000));
    }
    check_size(s.port, 1 << 20);
    ht_stop(&s);
    goio_io_bufpool_trim(goio_io_bufpool_default());
    assert_int_equal(goio_test_alloc_outstanding(), before);
}

/* A source blocked on the request ctx: a client leaving cancels it. */
typedef struct ctx_reader {
    goio_io_reader r;
    goio_ctx *ctx;
    int step;
} ctx_reader;

static atomic_int ctx_read_result;
static atomic_bool ctx_reader_closed;

static ssize_t ctx_read(goio_io_reader *r, void *buf, size_t cap)
{
    ctx_reader *c = (ctx_reader *)r;
    (void)cap;
    if (c->step++ == 0) {
        memcpy(buf, "start\n", 6);
        return 6;
    }
    goio_ctx_wait(c->ctx, 10000);
    int err = goio_ctx_err(c->ctx);
    atomic_store(&ctx_read_result, err ? err : GOIO_ETIMEDOUT);
    return err ? err : GOIO_ETIMEDOUT;
}

static int ctx_close(goio_io_reader *r)
{
    atomic_store(&ctx_reader_closed, true);
    goio_free(r);
    return 0;
}

static const goio_io_reader_ops ctx_ops = {ctx_read, ctx_close};

static void h_blocked(goio_http_request *req, goio_http_response *res,
                      void *data)
{
    (void)data;
    ctx_reader *r = goio_calloc(1, sizeof *r);
    r->r.ops = &ctx_ops;
    r->ctx = goio_http_request_ctx(req);
    goio_http_render_chunked(res, NULL, &r->r, NULL);
}

static void test_disconnect_cancels_ctx(void **state)
{
    (void)state;
    ht_server s = {0};
    assert_ok(goio_http_router_handle(ht_router(&s), "GET", "/blocked",
                                      h_blocked, NULL));
    ht_start(&s, NULL);
    stream st = {.stop_after = 1}; /* leave after "start\n" */
    int64_t t0 = goio_now_mono_ms();
    assert_int_equal(stream_get(s.port, "/blocked", &st, NULL),
                     CURLE_WRITE_ERROR);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&ctx_reader_closed), 8000));
    assert_int_equal(atomic_load(&ctx_read_result), GOIO_ECANCELED);
    assert_true(goio_now_mono_ms() - t0 < 8000);
    ht_stop(&s);
}

/* ---- back-pressure ------------------------------------------------------- */

static void test_back_pressure(void **state)
{
    ht_server *s = *state;
    int fd = goio_test_connect(s->port);
    assert_true(fd >= 0);
    static const char req[] = "GET /gen HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    char first[1024];
    assert_true(read(fd, first, sizeof first) > 0);
    /* The client reads nothing more: the endless source must stall once the
     * socket buffers and the response's bounded queue are full. */
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&stats.produced) > 0, 5000));
    assert_false(
        GOIO_WAIT_UNTIL(atomic_load(&stats.produced) > (64ull << 20), 1500));
    print_message("back-pressure: source stalled after %llu KiB\n",
                  (unsigned long long)atomic_load(&stats.produced) >> 10);
    close(fd);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&stats.closed), 10000));
}

/* A client that stops reading for longer than send_timeout_ms is cut off:
 * the worker is released and the source closed. */
static void test_send_timeout(void **state)
{
    (void)state;
    ht_log_capture();
    ht_server s = {0};
    assert_ok(
        goio_http_router_handle(ht_router(&s), "GET", "/gen", h_gen, NULL));
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.send_timeout_ms = 300;
    ht_start(&s, &cfg);
    memset(&stats, 0, sizeof stats);
    int fd = goio_test_connect(s.port);
    static const char req[] = "GET /gen HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    int64_t t0 = goio_now_mono_ms();
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&stats.closed), 10000));
    assert_true(goio_now_mono_ms() - t0 >= 250);
    assert_true(ht_log_count("http_send_timeout") == 1);
    goio_log_set_level(GOIO_LOG_OFF);
    close(fd);
    check_size(s.port, 100); /* still serving */
    ht_stop(&s);
}

/* A chunk size that is no pool class: chunks come out at that size, on
 * both render paths (zero-copy when the sizes agree, copying otherwise). */
static void h_odd(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    goio_http_render_config o;
    goio_http_render_config_init(&o);
    o.chunk_size = (size_t)(uintptr_t)data;
    HT_CHECK(goio_http_render_chunked(
                 res, NULL, ht_gen_reader(1 << 20, UINT64_MAX, 0, NULL), &o) ==
             0);
}

static void test_odd_chunk_size(void **state)
{
    (void)state;
    ht_server s = {0};
    assert_ok(goio_http_router_handle(ht_router(&s), "GET", "/same", h_odd,
                                      (void *)(uintptr_t)100000));
    assert_ok(goio_http_router_handle(ht_router(&s), "GET", "/other", h_odd,
                                      (void *)(uintptr_t)7000));
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.chunk_size = 100000;
    ht_start(&s, &cfg);
    static const char *const paths[] = {"/same", "/other"};
    for (int i = 0; i < 2; i++) {
        goio_buf reply = GOIO_BUF_INIT;
        char req[128];
        int n =
            snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     paths[i]);
        assert_true(ht_raw(s.port, req, (size_t)n, &reply, 10000));
        /* Walk the chunks: sizes at most chunk_size, bytes the pattern. */
        const char *p = strstr(goio_buf_cstr(&reply), "\r\n\r\n");
        assert_non_null(p);
        p += 4;
        uint64_t off = 0;
        size_t biggest = 0;
        for (;;) {
            char *end;
            size_t len = strtoul(p, &end, 16);
            assert_true(end[0] == '\r' && end[1] == '\n');
            p = end + 2;
            if (!len)
                break;
            assert_true(ht_pattern_check(off, (const uint8_t *)p, len));
            biggest = len > biggest ? len : biggest;
            off += len;
            p += len + 2;
        }
        assert_int_equal(off, 1 << 20);
        assert_int_equal(biggest, 100000);
        goio_buf_deinit(&reply);
    }
    ht_stop(&s);
}

/* ---- HEAD and bad arguments ---------------------------------------------- */

static void test_head_and_args(void **state)
{
    ht_server *s = *state;
    ht_req q = {.method = "HEAD", .path = "/gen?n=100000"};
    ht_resp r;
    ht_request(s->port, &q, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    ht_resp_free(&r);
    check_size(s->port, 10); /* the connection state is sane after HEAD */

    ht_source_stats st = {0};
    assert_goio(GOIO_EINVAL,
                goio_http_render_chunked(
                    NULL, "x", ht_gen_reader(1, UINT64_MAX, 0, &st), NULL));
    assert_true(atomic_load(&st.closed)); /* consumed even on EINVAL */
    goio_http_render_config_init(NULL);   /* a no-op */
    goio_io_writer *w = (goio_io_writer *)1;
    assert_goio(GOIO_EINVAL, goio_http_response_writer_new(NULL, &w));
    assert_null(w); /* *out is NULL on error */
    assert_goio(GOIO_EINVAL, goio_http_response_writer_new(NULL, NULL));
}

/* ---- rendering onto a response writer that is not goio's server ---------- */

typedef struct my_response {
    goio_http_response res;
    char ctype[64], te[64];
    int status, flushes;
    int aborted_with;
    bool aborted;
    goio_buf body;
} my_response;

static my_response *me(goio_http_response *r)
{
    return (my_response *)r;
}

static const char *my_get(goio_http_response *r, const char *name)
{
    if (!strcasecmp(name, "Content-Type"))
        return me(r)->ctype[0] ? me(r)->ctype : NULL;
    return NULL;
}

static int my_set(goio_http_response *r, const char *name, const char *value)
{
    if (me(r)->status)
        return GOIO_EALREADY;
    if (!strcasecmp(name, "Content-Type"))
        snprintf(me(r)->ctype, sizeof me(r)->ctype, "%s", value);
    if (!strcasecmp(name, "Transfer-Encoding"))
        snprintf(me(r)->te, sizeof me(r)->te, "%s", value);
    return 0;
}

static int my_write_header(goio_http_response *r, int status)
{
    me(r)->status = status;
    return 0;
}

static ssize_t my_write(goio_http_response *r, const void *p, size_t len)
{
    if (me(r)->aborted)
        return GOIO_ECLOSED;
    goio_buf_append(&me(r)->body, p, len);
    return (ssize_t)len;
}

static int my_flush(goio_http_response *r)
{
    me(r)->flushes++;
    return 0;
}

static void my_abort(goio_http_response *r, int error)
{
    me(r)->aborted = true;
    me(r)->aborted_with = error;
}

static int my_status(goio_http_response *r)
{
    return me(r)->status;
}

static const goio_http_response_ops my_ops = {
    my_get,   my_set,   my_set,   my_write_header,
    my_write, my_flush, my_abort, my_status};

static void test_other_response_writer(void **state)
{
    (void)state;
    my_response m = {.res.ops = &my_ops};
    goio_http_render_config o;
    goio_http_render_config_init(&o);
    o.status = 203;
    assert_ok(goio_http_render_chunked(
        &m.res, "text/csv", ht_gen_reader(200000, UINT64_MAX, 0, NULL), &o));
    assert_string_equal(m.ctype, "text/csv");
    assert_string_equal(m.te, "chunked");
    assert_int_equal(m.status, 203);
    assert_int_equal(goio_http_response_status(&m.res), 203);
    assert_true(m.flushes >= 1);
    assert_false(m.aborted);
    assert_int_equal(m.body.len, 200000);
    assert_true(ht_pattern_check(0, m.body.data, m.body.len));
    goio_buf_deinit(&m.body);

    /* Content-Type already set stays (Go's rule); a failing source aborts
     * after handing over every byte it produced. */
    my_response f = {.res.ops = &my_ops};
    snprintf(f.ctype, sizeof f.ctype, "application/x-mine");
    assert_goio(GOIO_EIO,
                goio_http_render_chunked(
                    &f.res, "text/csv",
                    ht_gen_reader(UINT64_MAX, 100000, GOIO_EIO, NULL), NULL));
    assert_string_equal(f.ctype, "application/x-mine");
    assert_true(f.aborted);
    assert_int_equal(f.aborted_with, GOIO_EIO);
    assert_int_equal(f.body.len, 100000);
    goio_buf_deinit(&f.body);
}

int main(void)
{
    goio_test_alloc_install();
    curl_global_init(CURL_GLOBAL_ALL);
    goio_log_set_level(GOIO_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_gib, setup, teardown),
        cmocka_unit_test(test_trickle),
        cmocka_unit_test_setup_teardown(test_source_error_libcurl, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_source_error_curl_cli, setup,
                                        teardown),
        cmocka_unit_test(test_client_disconnect),
        cmocka_unit_test(test_disconnect_cancels_ctx),
        cmocka_unit_test_setup_teardown(test_back_pressure, setup, teardown),
        cmocka_unit_test(test_send_timeout),
        cmocka_unit_test(test_odd_chunk_size),
        cmocka_unit_test_setup_teardown(test_head_and_args, setup, teardown),
        cmocka_unit_test(test_other_response_writer),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
