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
 *
 * Environment: GOIO_BENCH_HTTP_WORKERS (worker threads, default 4).
 */
#include <goio/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
    block_init();
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return serve();
    if (argc >= 4 && !strcmp(argv[1], "write-file"))
        return write_file(argv[2], strtoull(argv[3], NULL, 10));
    fprintf(stderr, "usage: bench_http serve | write-file <path> <bytes>\n");
    return 2;
}
