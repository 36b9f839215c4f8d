/* SPDX-License-Identifier: MIT */
/*
 * The goio side of the http benchmark (bench/http/run.sh drives it).
 *
 *   bench_http serve          serves until stdin closes; prints the port
 *     GET /big?n=<bytes>      a chunked body rendered from a generated
 *                             source (no disk) through
 *                             goio_http_render_chunked
 *     GET /small              "Hello, World!" (13 bytes, Content-Length)
 *   bench_http write-file <path> <bytes>
 *                             writes the same bytes /big sends, for nginx
 *   bench_http attack <port> <slowloris> <slow-readers>
 *                             holds that many slowloris connections
 *                             (headers never finished, a byte every 2 s,
 *                             from 127.0.0.10-17 so no address is over
 *                             the per-client limit) and slow readers of
 *                             /big (1 KiB/s each, from 127.0.0.9) until
 *                             stdin closes; reconnects what the server
 *                             closes; prints "attached" once all are
 *                             connected
 *
 * Environment: GOIO_BENCH_HTTP_WORKERS (worker threads, default 4).
 */
#include <goio/http.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1 << 20)
static unsigned char block[BLOCK];

/* A fixed MiB of noise, repeated: the source costs a memcpy. */
static void block_init(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < BLOCK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        block[i] = (unsigned char)x;
    }
}

typedef struct gen {
    goio_io_reader r;
    uint64_t left, pos;
} gen;

static ssize_t gen_read(goio_io_reader *r, void *buf, size_t cap)
{
    gen *g = (gen *)r;
    size_t pos = (size_t)(g->pos % BLOCK);
    size_t n = cap < BLOCK - pos ? cap : BLOCK - pos;
    if (n > g->left)
        n = (size_t)g->left;
    memcpy(buf, block + pos, n);
    g->pos += n;
    g->left -= n;
    return (ssize_t)n;
}

static int gen_close(goio_io_reader *r)
{
    goio_free(r);
    return 0;
}

static const goio_io_reader_ops gen_ops = {gen_read, gen_close};

static void h_big(goio_http_request *req, goio_http_response *res, void *d)
{
    (void)d;
    goio_buf v = GOIO_BUF_INIT;
    bool found = false;
    goio_http_query_get(goio_http_request_query(req), "n", &v, &found);
    gen *g = goio_calloc(1, sizeof *g);
    if (!g) {
        goio_buf_deinit(&v);
        goio_http_respond(res, 500, "text/plain", "oom", 3);
        return;
    }
    g->r.ops = &gen_ops;
    g->left = found ? strtoull(goio_buf_cstr(&v), NULL, 10) : (1ull << 30);
    goio_buf_deinit(&v);
    goio_http_render_chunked(res, "application/octet-stream", &g->r, NULL);
}

static void h_small(goio_http_request *req, goio_http_response *res, void *d)
{
    (void)req;
    (void)d;
    goio_http_respond(res, 200, "text/plain", "Hello, World!", 13);
}

static int serve(void)
{
    goio_http_router *router;
    goio_http_server *srv;
    goio_http_server_config cfg;
    goio_http_server_config_init(&cfg);
    const char *w = getenv("GOIO_BENCH_HTTP_WORKERS");
    cfg.worker_threads = w ? (unsigned)atoi(w) : 4;
    cfg.handler = goio_http_router_serve;
    if (goio_http_router_new(&router) ||
        goio_http_router_handle(router, "GET", "/big", h_big, NULL) ||
        goio_http_router_handle(router, "GET", "/small", h_small, NULL))
        return 1;
    cfg.handler_data = router;
    int rc = goio_http_server_new(&cfg, &srv);
    if (!rc)
        rc = goio_http_server_listen(srv, "127.0.0.1", 0);
    if (!rc)
        rc = goio_http_server_start(srv);
    if (rc) {
        fprintf(stderr, "bench_http: %s\n", goio_strerror(rc));
        return 1;
    }
    printf("%d\n", goio_http_server_port(srv));
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    goio_http_server_free(srv);
    goio_http_router_free(router);
    return 0;
}

static int write_file(const char *path, uint64_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    for (uint64_t off = 0; off < n; off += BLOCK) {
        size_t len = n - off < BLOCK ? (size_t)(n - off) : BLOCK;
        if (fwrite(block, 1, len, f) != len) {
            fclose(f);
            return 1;
        }
    }
    return fclose(f) ? 1 : 0;
}

/* ---- attack ---------------------------------------------------------- */

typedef struct attacker {
    int fd;
    bool reader;
    int src;      /* last byte of the source address */
    int64_t next; /* ms: next byte to send / bytes to read */
} attacker;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int attack_connect(int port, int src, bool reader)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (reader) {
        int rcv = 4096; /* small steps on loopback, as on a real path */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    }
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)src);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) ||
        connect(fd, (struct sockaddr *)&to, sizeof to)) {
        close(fd);
        return -1;
    }
    const char *req = reader ? "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
                             : "GET /small HTTP/1.1\r\nHost: x\r\nX-a: ";
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int attack(int port, int nslow, int nread)
{
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) &&
        rl.rlim_cur < (rlim_t)(nslow + nread + 64)) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int n = nslow + nread;
    attacker *a = goio_calloc((size_t)n + 1, sizeof *a);
    struct pollfd *p = goio_calloc((size_t)n + 1, sizeof *p);
    if (!a || !p)
        return 1;
    int64_t t0 = now_ms();
    for (int i = 0; i < n; i++) {
        a[i].reader = i >= nslow;
        a[i].src = a[i].reader ? 9 : 10 + i % 8;
        a[i].fd = attack_connect(port, a[i].src, a[i].reader);
        a[i].next = t0 + 100 + i % 2000; /* spread the bytes over 2 s */
    }
    printf("attached\n");
    fflush(stdout);
    uint64_t reconnects = 0;
    char buf[1024];
    for (;;) {
        /* Slowloris connections are watched for the server's answer;
         * readers are paced by the clock (their data is always there). */
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = a[i].reader ? -1 : a[i].fd,
                                   .events = POLLIN};
        p[n] = (struct pollfd){.fd = 0, .events = POLLIN};
        poll(p, (nfds_t)n + 1, 50);
        if (p[n].revents) {
            ssize_t r = read(0, buf, sizeof buf);
            if (r <= 0)
                break;
        }
        int64_t now = now_ms();
        for (int i = 0; i < n; i++) {
            attacker *x = &a[i];
            bool dead = x->fd < 0;
            if (!dead && !x->reader && (p[i].revents & POLLIN)) {
                /* A 408 or an eviction: the server let go. */
                ssize_t r = recv(x->fd, buf, sizeof buf, 0);
                dead = r == 0 || (r < 0 && errno != EAGAIN);
                dead = dead || r > 0;
            }
            if (!dead && now >= x->next) {
                if (x->reader) {
                    /* 1 KiB/s: 100 bytes every 100 ms. */
                    ssize_t r = recv(x->fd, buf, 100, 0);
                    dead = r == 0 || (r < 0 && errno != EAGAIN);
                    x->next = now + 100;
                } else {
                    dead = send(x->fd, "a", 1, MSG_NOSIGNAL) < 0 &&
                           errno != EAGAIN;
                    x->next = now + 2000;
                }
            }
            if (dead) {
                if (x->fd >= 0)
                    close(x->fd);
                x->fd = attack_connect(port, x->src, x->reader);
                reconnects++;
            }
        }
    }
    fprintf(stderr, "attack: %llu reconnects\n",
            (unsigned long long)reconnects);
    for (int i = 0; i < n; i++)
        if (a[i].fd >= 0)
            close(a[i].fd);
    goio_free(a);
    goio_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    block_init();
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return serve();
    if (argc >= 4 && !strcmp(argv[1], "write-file"))
        return write_file(argv[2], strtoull(argv[3], NULL, 10));
    if (argc >= 5 && !strcmp(argv[1], "attack"))
        return attack(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: bench_http serve | write-file <path> <bytes> | "
                    "attack <port> <slowloris> <slow-readers>\n");
    return 2;
}
