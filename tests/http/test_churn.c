/* SPDX-License-Identifier: MIT */
/*
 * Eviction churn (issue 15, bench small_rps_under_attack): an attacker
 * holding a full table of header-incomplete connections reconnects as
 * soon as one is closed. If every new connection evicted at once, each
 * reconnect would evict the next one, a churn as fast as the CPU allows.
 * The server defers a new connection (in the backlog) while the table's
 * eviction candidate went idle less than 500 ms ago, so evictions stay
 * about max_connections per 500 ms, and a normal client still gets in.
 */
#include "http_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_proc.h"

#define TABLE     16
#define ATTACKERS (TABLE + 4)
#define RUN_MS    2000

static void h_hello(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)req;
    (void)data;
    goio_http_respond(res, 200, "text/plain", "hello", 5);
}

static int slowloris(int port)
{
    int fd = goio_test_connect(port);
    if (fd < 0)
        return -1;
    static const char part[] = "GET /hello HTTP/1.1\r\nHost: x\r\nX-a: ";
    if (send(fd, part, sizeof part - 1, MSG_NOSIGNAL) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void test_reconnecting_attacker_is_bounded(void **state)
{
    (void)state;
    ht_server s = {0};
    assert_ok(
        goio_http_router_handle(ht_router(&s), "GET", "/hello", h_hello, NULL));
    goio_http_server_config cfg;
    ht_config(&cfg);
    cfg.max_connections = TABLE;
    cfg.max_connections_per_client = TABLE * 2;
    ht_start(&s, &cfg);
    int fds[ATTACKERS];
    for (int i = 0; i < ATTACKERS; i++)
        fds[i] = slowloris(s.port);
    /* The attacker: reconnects whenever the server lets go. */
    unsigned reconnects = 0;
    int64_t t0 = goio_now_mono_ms();
    int64_t hello_ms = -1;
    bool hello_ok = false;
    int hello_fd = -1;
    goio_buf reply = GOIO_BUF_INIT;
    while (goio_now_mono_ms() - t0 < RUN_MS) {
        struct pollfd p[ATTACKERS + 1];
        for (int i = 0; i < ATTACKERS; i++)
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        p[ATTACKERS] = (struct pollfd){.fd = hello_fd, .events = POLLIN};
        poll(p, ATTACKERS + 1, 10);
        for (int i = 0; i < ATTACKERS; i++) {
            if (fds[i] >= 0 && !p[i].revents)
                continue;
            if (fds[i] >= 0)
                close(fds[i]);
            fds[i] = slowloris(s.port);
            reconnects++;
        }
        /* A normal client arrives in the middle of it. */
        if (hello_fd < 0 && !hello_ok && goio_now_mono_ms() - t0 > 500) {
            hello_fd = goio_test_connect(s.port);
            assert_true(hello_fd >= 0);
            static const char req[] =
                "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            assert_int_equal(send(hello_fd, req, sizeof req - 1, MSG_NOSIGNAL),
                             (ssize_t)sizeof req - 1);
            hello_ms = goio_now_mono_ms();
        }
        if (hello_fd >= 0 && p[ATTACKERS].revents) {
            char b[1024];
            ssize_t n = read(hello_fd, b, sizeof b);
            if (n > 0)
                goio_buf_append(&reply, b, (size_t)n);
            if (n <= 0 || strstr(goio_buf_cstr(&reply), "hello")) {
                hello_ok = strstr(goio_buf_cstr(&reply), "HTTP/1.1 200 ") &&
                           strstr(goio_buf_cstr(&reply), "hello");
                hello_ms = goio_now_mono_ms() - hello_ms;
                close(hello_fd);
                hello_fd = -1;
            }
        }
    }
    printf("%d reconnecting slowloris on a %d-slot table for %d ms: %u "
           "reconnects; a normal request answered in %lld ms\n",
           ATTACKERS, TABLE, RUN_MS, reconnects, (long long)hello_ms);
    /* At most a table's worth per 500 ms (plus the first round); an
     * eviction per reconnect would be thousands. */
    assert_true(reconnects <= (unsigned)(TABLE * (RUN_MS / 500 + 2)));
    assert_true(hello_ok);
    assert_true(hello_ms < 2000);
    goio_buf_deinit(&reply);
    if (hello_fd >= 0)
        close(hello_fd);
    for (int i = 0; i < ATTACKERS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    ht_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconnecting_attacker_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
