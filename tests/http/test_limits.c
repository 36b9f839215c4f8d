/* SPDX-License-Identifier: MIT */
/*
 * What clients must not be able to do to the server: malformed and
 * oversized requests, slowloris and idle connections, too many
 * connections. Each is answered 4xx or closed while other clients keep
 * being served; 100 concurrent libcurl clients all get correct answers.
 */
#include "http_test.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_proc.h"

static void h_hello(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    goio_http_respond(res, 200, "text/plain", "hello", 5);
}

static void h_body(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    size_t len;
    goio_http_request_body(req, &len);
    goio_http_response_printf(res, "%zu", len);
}

static void h_stream(goio_http_request *req, goio_http_response *res,
                     void *data)
{
    (void)req;
    (void)data;
    goio_http_render_chunked(res, NULL,
                             ht_gen_reader(200000, UINT64_MAX, 0, NULL), NULL);
}

static void limits_config(goio_http_server_config *cfg)
{
    ht_config(cfg);
    cfg->max_header_bytes = 4096;
    cfg->max_body_bytes = 64 * 1024;
    cfg->idle_timeout_ms = 400;
    cfg->header_timeout_ms = 500;
    cfg->request_timeout_ms = 900;
    cfg->linger_timeout_ms = 500;
}

static ht_server *start(goio_http_server_config *cfg)
{
    ht_server *s = goio_calloc(1, sizeof *s);
    goio_http_router *r = ht_router(s);
    assert_ok(goio_http_router_handle(r, "GET", "/hello", h_hello, NULL));
    assert_ok(goio_http_router_handle(r, NULL, "/body", h_body, NULL));
    assert_ok(goio_http_router_handle(r, "GET", "/stream", h_stream, NULL));
    ht_start(s, cfg);
    return s;
}

static int setup(void **state)
{
    goio_http_server_config cfg;
    limits_config(&cfg);
    *state = start(&cfg);
    return 0;
}

static int teardown(void **state)
{
    ht_stop(*state);
    goio_free(*state);
    return 0;
}

static void served(int port)
{
    ht_resp r;
    ht_get(port, "/hello", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "hello");
    ht_resp_free(&r);
}

/* Sends raw bytes; expects "HTTP/1.1 <status>" and then the close. */
static void expect_status(int port, const char *req, size_t len, int status)
{
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_raw(port, req, len, &reply, 5000));
    char want[32];
    snprintf(want, sizeof want, "HTTP/1.1 %d ", status);
    const char *got = goio_buf_cstr(&reply);
    if (strncmp(got, want, strlen(want)))
        fail_msg("sent %.40s... expected %s, got %.60s", req, want, got);
    assert_non_null(strstr(got, "Connection: close\r\n"));
    goio_buf_deinit(&reply);
}

#define RAW(port, s, status) expect_status(port, s, sizeof(s) - 1, status)

static void test_malformed(void **state)
{
    ht_server *s = *state;
    RAW(s->port, "GARBAGE\r\n\r\n", 400);
    RAW(s->port, "GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400);
    RAW(s->port, "GET /\x01 HTTP/1.1\r\n\r\n", 400);
    RAW(s->port, "GET / XTTP/1.1\r\n\r\n", 400);
    RAW(s->port, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    RAW(s->port, "POST /body HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400);
    RAW(s->port,
        "POST /body HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
        "\r\nxy",
        400);
    RAW(s->port,
        "POST /body HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400);
    static const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    expect_status(s->port, nul, sizeof nul - 1, 400);
    RAW(s->port, "CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501);
    RAW(s->port, "GET /hello HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n",
        417);
    served(s->port);

    /* A good request, then garbage on the same connection. */
    static const char mixed[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                                "BLAH\r\n\r\n";
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_raw(s->port, mixed, sizeof mixed - 1, &reply, 5000));
    const char *a = goio_buf_cstr(&reply);
    assert_true(!strncmp(a, "HTTP/1.1 200 ", 13));
    assert_non_null(strstr(a, "helloHTTP/1.1 400 "));
    goio_buf_deinit(&reply);

    /* An Upgrade (h2c) is ignored: answered in HTTP/1.1, and the request
     * after it on the connection is parsed as HTTP too. */
    static const char upgrade[] =
        "GET /hello HTTP/1.1\r\nHost: x\r\n"
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_true(ht_raw(s->port, upgrade, sizeof upgrade - 1, &reply, 5000));
    a = goio_buf_cstr(&reply);
    assert_true(!strncmp(a, "HTTP/1.1 200 ", 13));
    assert_non_null(strstr(a, "helloHTTP/1.1 200 "));
    goio_buf_deinit(&reply);

    /* A chunked request body is decoded. */
    static const char chunked[] = "POST /body HTTP/1.1\r\nHost: x\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "Connection: close\r\n\r\n"
                                  "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    assert_true(ht_raw(s->port, chunked, sizeof chunked - 1, &reply, 5000));
    a = goio_buf_cstr(&reply);
    assert_true(!strncmp(a, "HTTP/1.1 200 ", 13));
    assert_true(!strcmp(a + strlen(a) - 4, "\n\r\n7") ||
                !strcmp(a + strlen(a) - 1, "7"));
    goio_buf_deinit(&reply);
}

static void test_oversized(void **state)
{
    ht_server *s = *state;
    goio_buf req = GOIO_BUF_INIT;
    /* Headers past max_header_bytes. */
    goio_buf_append_str(&req, "GET /hello HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 100; i++)
        goio_buf_appendf(&req, "X-Filler-%d: %060d\r\n", i, i);
    goio_buf_append_str(&req, "\r\n");
    expect_status(s->port, goio_buf_cstr(&req), req.len, 431);
    /* A request line past it. */
    goio_buf_clear(&req);
    goio_buf_append_str(&req, "GET /");
    for (int i = 0; i < 5000; i++)
        goio_buf_append_str(&req, "a");
    goio_buf_append_str(&req, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_status(s->port, goio_buf_cstr(&req), req.len, 414);
    goio_buf_deinit(&req);

    /* A declared body past max_body_bytes: answered before it is sent. */
    int fd = goio_test_connect(s->port);
    static const char big[] = "POST /body HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 1000000\r\n\r\n";
    assert_int_equal(write(fd, big, sizeof big - 1), (ssize_t)sizeof big - 1);
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fd, &reply, 5000));
    assert_true(!strncmp(goio_buf_cstr(&reply), "HTTP/1.1 413 ", 13));
    close(fd);
    goio_buf_deinit(&reply);

    /* A chunked body that grows past it. */
    goio_buf_append_str(&req, "POST /body HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 20; i++) {
        goio_buf_appendf(&req, "1000\r\n");
        for (int j = 0; j < 0x1000; j++)
            goio_buf_append(&req, "z", 1);
        goio_buf_append_str(&req, "\r\n");
    }
    expect_status(s->port, goio_buf_cstr(&req), req.len, 413);
    goio_buf_deinit(&req);

    /* Within the limits, libcurl's POST works. */
    size_t n = 60000;
    char *body = goio_malloc(n);
    memset(body, 'q', n);
    ht_req q = {.method = "POST", .path = "/body", .body = body, .body_len = n};
    ht_resp r;
    ht_request(s->port, &q, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(goio_buf_cstr(&r.body), "60000");
    ht_resp_free(&r);
    goio_free(body);
    served(s->port);
}

static void test_slowloris(void **state)
{
    ht_server *s = *state;
    int fds[5];
    goio_buf replies[5] = {GOIO_BUF_INIT, GOIO_BUF_INIT, GOIO_BUF_INIT,
                           GOIO_BUF_INIT, GOIO_BUF_INIT};
    for (int i = 0; i < 5; i++) {
        fds[i] = goio_test_connect(s->port);
        assert_true(fds[i] >= 0);
    }
    static const char part[] = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    int64_t t0 = goio_now_mono_ms();
    for (int i = 0; i < 5; i++)
        assert_int_equal(write(fds[i], part, sizeof part - 1),
                         (ssize_t)sizeof part - 1);
    /* They keep dribbling a byte at a time; others are served meanwhile. */
    bool all_closed = false;
    int got408 = 0;
    while (!all_closed && goio_now_mono_ms() - t0 < 5000) {
        for (int i = 0; i < 5; i++)
            if (fds[i] >= 0 && write(fds[i], "a", 1) != 1) {
                /* Closed under us: it must still have got its 408. */
                ht_read_until_eof(fds[i], &replies[i], 1000);
                got408 +=
                    !strncmp(goio_buf_cstr(&replies[i]), "HTTP/1.1 408 ", 13);
                close(fds[i]);
                fds[i] = -1;
            }
        int64_t before = goio_now_mono_ms();
        served(s->port);
        assert_true(goio_now_mono_ms() - before < 2000);
        goio_test_sleep_ms(20); /* the attacker's own pace */
        all_closed = true;
        for (int i = 0; i < 5; i++) {
            if (fds[i] < 0)
                continue;
            if (ht_read_until_eof(fds[i], &replies[i], 1)) {
                got408 +=
                    !strncmp(goio_buf_cstr(&replies[i]), "HTTP/1.1 408 ", 13);
                close(fds[i]);
                fds[i] = -1;
            } else {
                all_closed = false;
            }
        }
    }
    int64_t took = goio_now_mono_ms() - t0;
    assert_true(all_closed);
    assert_int_equal(got408, 5); /* every one closed with its 408 */
    assert_true(took >= 450);    /* header_timeout_ms is 500 */
    for (int i = 0; i < 5; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        goio_buf_deinit(&replies[i]);
    }

    /* A body that stalls: request_timeout_ms. */
    int fd = goio_test_connect(s->port);
    static const char slow_body[] = "POST /body HTTP/1.1\r\nHost: x\r\n"
                                    "Content-Length: 100\r\n\r\n0123456789";
    assert_int_equal(write(fd, slow_body, sizeof slow_body - 1),
                     (ssize_t)sizeof slow_body - 1);
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fd, &reply, 5000));
    assert_true(!strncmp(goio_buf_cstr(&reply), "HTTP/1.1 408 ", 13));
    close(fd);
    goio_buf_deinit(&reply);
}

static void test_idle(void **state)
{
    ht_server *s = *state;
    int fd = goio_test_connect(s->port);
    int64_t t0 = goio_now_mono_ms();
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fd, &reply, 5000));
    assert_int_equal(reply.len, 0); /* closed silently */
    assert_true(goio_now_mono_ms() - t0 >= 350);
    close(fd);

    /* Keep-alive idle after a response. */
    fd = goio_test_connect(s->port);
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    assert_true(ht_read_until_eof(fd, &reply, 5000));
    assert_true(!strncmp(goio_buf_cstr(&reply), "HTTP/1.1 200 ", 13));
    assert_null(strstr(goio_buf_cstr(&reply), "Connection: close"));
    close(fd);
    goio_buf_deinit(&reply);
    served(s->port);
}

/* ---- concurrency --------------------------------------------------------- */

typedef struct worker_arg {
    int port, id, ok;
} worker_arg;

static void *client_thread(void *arg)
{
    worker_arg *w = arg;
    CURL *c = curl_easy_init();
    for (int i = 0; i < 10; i++) {
        ht_req q = {.path = (i + w->id) % 2 ? "/hello" : "/stream", .reuse = c};
        ht_resp r;
        ht_request(w->port, &q, &r);
        bool good = r.rc == CURLE_OK && r.status == 200;
        if ((i + w->id) % 2)
            good = good && r.body.len == 5;
        else
            good = good && r.body.len == 200000 &&
                   ht_pattern_check(0, r.body.data, r.body.len);
        w->ok += good;
        ht_resp_free(&r);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static void test_100_concurrent(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.worker_threads = 8;
    cfg.max_connections_per_client = 1024; /* all from 127.0.0.1 */
    ht_server *s = start(&cfg);
    /* 100 more connections sit idle meanwhile. */
    int idle[100];
    for (int i = 0; i < 100; i++) {
        idle[i] = goio_test_connect(s->port);
        assert_true(idle[i] >= 0);
    }
    pthread_t t[100];
    worker_arg w[100];
    for (int i = 0; i < 100; i++) {
        w[i] = (worker_arg){.port = s->port, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, client_thread, &w[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 100; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    assert_int_equal(ok, 100 * 10);
    /* The idle ones are still open (idle timeout 60 s): a request works. */
    static const char req[] =
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < 100; i++) {
        assert_int_equal(write(idle[i], req, sizeof req - 1),
                         (ssize_t)sizeof req - 1);
        goio_buf reply = GOIO_BUF_INIT;
        assert_true(ht_read_until_eof(idle[i], &reply, 5000));
        assert_true(!strncmp(goio_buf_cstr(&reply), "HTTP/1.1 200 ", 13));
        goio_buf_deinit(&reply);
        close(idle[i]);
    }
    teardown((void **)&s);
}

/* Handlers that only return once RENDEZVOUS of them are running at once:
 * each worker thread must be woken for a job while the others block. */
#define RENDEZVOUS 8
static pthread_mutex_t rv_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rv_cond = PTHREAD_COND_INITIALIZER;
static int rv_arrived;

static void h_rendezvous(goio_http_request *req, goio_http_response *res,
                         void *data)
{
    (void)req;
    (void)data;
    int64_t end = goio_now_mono_ms() + 10000;
    pthread_mutex_lock(&rv_mu);
    rv_arrived++;
    pthread_cond_broadcast(&rv_cond);
    while (rv_arrived < RENDEZVOUS && goio_now_mono_ms() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rv_cond, &rv_mu, &ts);
    }
    bool all = rv_arrived >= RENDEZVOUS;
    pthread_mutex_unlock(&rv_mu);
    goio_http_respond(res, all ? 200 : 503, "text/plain", "x", 1);
}

typedef struct rv_client {
    int port;
    long status;
} rv_client;

static void *rv_client_thread(void *arg)
{
    rv_client *c = arg;
    ht_resp r;
    ht_get(c->port, "/rendezvous", &r);
    c->status = r.rc == CURLE_OK ? r.status : -1;
    ht_resp_free(&r);
    return NULL;
}

static void test_every_worker_woken(void **state)
{
    (void)state;
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.worker_threads = RENDEZVOUS;
    cfg.request_timeout_ms = 30000;
    ht_server *s = goio_calloc(1, sizeof *s);
    goio_http_router *r = ht_router(s);
    assert_ok(
        goio_http_router_handle(r, "GET", "/rendezvous", h_rendezvous, NULL));
    ht_start(s, &cfg);
    /* Several rounds: the workers sleep between them, and each round's
     * requests arrive in a burst. */
    for (int round = 0; round < 3; round++) {
        rv_arrived = 0;
        pthread_t t[RENDEZVOUS];
        rv_client c[RENDEZVOUS];
        for (int i = 0; i < RENDEZVOUS; i++) {
            c[i] = (rv_client){.port = s->port};
            assert_int_equal(
                pthread_create(&t[i], NULL, rv_client_thread, &c[i]), 0);
        }
        for (int i = 0; i < RENDEZVOUS; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(c[i].status, 200);
        }
    }
    teardown((void **)&s);
}

static void test_max_connections(void **state)
{
    (void)state;
    /* A full table: the connection idle longest makes room (closed
     * silently, as an idle timeout would). test_slots.c has the rest. */
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.max_connections = 5;
    ht_server *s = start(&cfg);
    int fds[5];
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 5; i++) {
        /* One at a time, each answered: idle in this order. */
        fds[i] = goio_test_connect(s->port);
        assert_int_equal(write(fds[i], req, sizeof req - 1),
                         (ssize_t)sizeof req - 1);
        char buf[512];
        assert_true(read(fds[i], buf, sizeof buf) > 0);
    }
    served(s->port); /* a sixth: fds[0] goes */
    goio_buf reply = GOIO_BUF_INIT;
    assert_true(ht_read_until_eof(fds[0], &reply, 5000));
    assert_int_equal(reply.len, 0);
    /* The others are still open and served. */
    for (int i = 2; i < 5; i++) {
        assert_int_equal(write(fds[i], req, sizeof req - 1),
                         (ssize_t)sizeof req - 1);
        char buf[512];
        ssize_t n = read(fds[i], buf, sizeof buf);
        assert_true(n > 13 && !strncmp(buf, "HTTP/1.1 200 ", 13));
    }
    for (int i = 0; i < 5; i++)
        close(fds[i]);
    goio_buf_deinit(&reply);
    teardown((void **)&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* raw clients write to closing sockets */
    curl_global_init(CURL_GLOBAL_ALL);
    goio_log_set_level(GOIO_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slowloris, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
        cmocka_unit_test(test_100_concurrent),
        cmocka_unit_test(test_every_worker_woken),
        cmocka_unit_test(test_max_connections),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
