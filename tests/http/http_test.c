/* SPDX-License-Identifier: MIT */
#include "http_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_proc.h"

atomic_int ht_handler_failures;

/* ---- server -------------------------------------------------------------- */

void ht_config(goio_http_server_config *cfg)
{
    goio_http_server_config_init(cfg);
    cfg->worker_threads = 4;
}

goio_http_router *ht_router(ht_server *s)
{
    if (!s->router)
        assert_ok(goio_http_router_new(&s->router));
    return s->router;
}

void ht_start(ht_server *s, goio_http_server_config *cfg)
{
    goio_http_server_config local;
    if (!cfg) {
        ht_config(&local);
        cfg = &local;
    }
    if (!cfg->handler) {
        cfg->handler = goio_http_router_serve;
        cfg->handler_data = ht_router(s);
    }
    assert_ok(goio_http_server_new(cfg, &s->srv));
    assert_ok(goio_http_server_listen(s->srv, "127.0.0.1", 0));
    s->port = goio_http_server_port(s->srv);
    assert_true(s->port > 0);
    assert_ok(goio_http_server_start(s->srv));
}

void ht_stop(ht_server *s)
{
    goio_http_server_free(s->srv);
    goio_http_router_free(s->router);
    assert_int_equal(atomic_load(&ht_handler_failures), 0);
    s->srv = NULL;
    s->router = NULL;
}

/* ---- libcurl client ------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    goio_buf_append(arg, p, size * n);
    return size * n;
}

void ht_request(int port, const ht_req *req, ht_resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = req->reuse ? req->reuse : curl_easy_init();
    assert_non_null(c);
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port,
             req->path ? req->path : "/");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     req->http10 ? CURL_HTTP_VERSION_1_0
                                 : CURL_HTTP_VERSION_1_1);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_NOBODY,
                     req->method && !strcmp(req->method, "HEAD") ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                     req->method && strcmp(req->method, "HEAD") ? req->method
                                                                : NULL);
    struct curl_slist *hl = NULL;
    for (const char *const *h = req->headers; h && *h; h++)
        hl = curl_slist_append(hl, *h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    out->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    if (!req->reuse)
        curl_easy_cleanup(c);
}

void ht_get(int port, const char *path, ht_resp *out)
{
    ht_req r = {.path = path};
    ht_request(port, &r, out);
}

const char *ht_header(ht_resp *r, const char *name)
{
    static _Thread_local char value[1024];
    const char *s = goio_buf_cstr(&r->headers);
    size_t n = strlen(name);
    while (*s) {
        const char *eol = strstr(s, "\r\n");
        if (!eol)
            break;
        if (!strncasecmp(s, name, n) && s[n] == ':') {
            const char *v = s + n + 1;
            while (*v == ' ')
                v++;
            snprintf(value, sizeof value, "%.*s", (int)(eol - v), v);
            return value;
        }
        s = eol + 2;
    }
    return NULL;
}

void ht_resp_free(ht_resp *r)
{
    goio_buf_deinit(&r->body);
    goio_buf_deinit(&r->headers);
}

/* ---- raw sockets --------------------------------------------------------- */

bool ht_read_until_eof(int fd, goio_buf *reply, int timeout_ms)
{
    int64_t end = goio_now_mono_ms() + timeout_ms;
    char buf[65536];
    for (;;) {
        int64_t left = end - goio_now_mono_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return true;
        if (n < 0)
            return errno == ECONNRESET; /* an end too, checked by callers */
        goio_buf_append(reply, buf, (size_t)n);
    }
}

bool ht_port_closed(int port)
{
    int fd = goio_test_connect(port);
    if (fd >= 0)
        close(fd);
    return fd < 0;
}

bool ht_raw(int port, const char *req, size_t len, goio_buf *reply,
            int timeout_ms)
{
    int fd = goio_test_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    bool eof = ht_read_until_eof(fd, reply, timeout_ms);
    close(fd);
    return eof;
}

/* ---- pattern ------------------------------------------------------------- */

/* 4 KiB blocks of a fixed noise, each stamped with its index in the first
 * 8 bytes: reordered, lost or repeated blocks all show. */
#define BLOCK 4096
static uint8_t noise[BLOCK];
static pthread_once_t noise_once = PTHREAD_ONCE_INIT;

static void noise_init(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < BLOCK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise[i] = (uint8_t)x;
    }
}

void ht_pattern_fill(uint64_t off, uint8_t *p, size_t n)
{
    pthread_once(&noise_once, noise_init);
    while (n) {
        uint64_t block = off / BLOCK;
        size_t pos = (size_t)(off % BLOCK);
        size_t take = BLOCK - pos < n ? BLOCK - pos : n;
        memcpy(p, noise + pos, take);
        for (size_t i = pos; i < 8 && i < pos + take; i++)
            p[i - pos] = (uint8_t)(block >> (8 * i)) ^ noise[i];
        p += take;
        off += take;
        n -= take;
    }
}

bool ht_pattern_check(uint64_t off, const uint8_t *p, size_t n)
{
    uint8_t buf[65536];
    while (n) {
        size_t take = n < sizeof buf ? n : sizeof buf;
        ht_pattern_fill(off, buf, take);
        if (memcmp(buf, p, take))
            return false;
        p += take;
        off += take;
        n -= take;
    }
    return true;
}

/* ---- generated readers --------------------------------------------------- */

typedef struct gen_reader {
    goio_io_reader r;
    uint64_t total, fail_after, pos;
    int fail_err;
    ht_source_stats *stats;
} gen_reader;

static ssize_t gen_read(goio_io_reader *r, void *buf, size_t cap)
{
    gen_reader *g = (gen_reader *)r;
    if (g->pos >= g->fail_after)
        return g->fail_err;
    uint64_t end = g->total < g->fail_after ? g->total : g->fail_after;
    if (g->pos >= end)
        return 0;
    size_t n = end - g->pos < cap ? (size_t)(end - g->pos) : cap;
    ht_pattern_fill(g->pos, buf, n);
    g->pos += n;
    if (g->stats)
        atomic_fetch_add(&g->stats->produced, n);
    return (ssize_t)n;
}

static int gen_close(goio_io_reader *r)
{
    gen_reader *g = (gen_reader *)r;
    if (g->stats)
        atomic_store(&g->stats->closed, true);
    goio_free(g);
    return 0;
}

static const goio_io_reader_ops gen_ops = {gen_read, gen_close};

goio_io_reader *ht_gen_reader(uint64_t total, uint64_t fail_after, int fail_err,
                              ht_source_stats *stats)
{
    gen_reader *g = goio_calloc(1, sizeof *g);
    assert_non_null(g);
    g->r.ops = &gen_ops;
    g->total = total;
    g->fail_after = fail_after;
    g->fail_err = fail_err;
    g->stats = stats;
    return &g->r;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void ht_latency_stats(int64_t *v, size_t n, int64_t *median, int64_t *max)
{
    qsort(v, n, sizeof *v, cmp_i64);
    *median = n ? v[n / 2] : 0;
    *max = n ? v[n - 1] : 0;
}

long ht_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

/* ---- log capture --------------------------------------------------------- */

#define MAX_CODES 64
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char codes[MAX_CODES][64];
static int counts[MAX_CODES];

static void sink(const goio_log_record *rec, void *data)
{
    (void)data;
    if (!rec->code)
        return;
    pthread_mutex_lock(&log_mu);
    for (int i = 0; i < MAX_CODES; i++) {
        if (!codes[i][0])
            snprintf(codes[i], sizeof codes[i], "%s", rec->code);
        if (!strcmp(codes[i], rec->code)) {
            counts[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&log_mu);
}

void ht_log_capture(void)
{
    pthread_mutex_lock(&log_mu);
    memset(codes, 0, sizeof codes);
    memset(counts, 0, sizeof counts);
    pthread_mutex_unlock(&log_mu);
    goio_log_set_level(GOIO_LOG_DEBUG);
    goio_log_set_sink(sink, NULL);
}

int ht_log_count(const char *code)
{
    int n = 0;
    pthread_mutex_lock(&log_mu);
    for (int i = 0; i < MAX_CODES; i++)
        if (!strcmp(codes[i], code))
            n = counts[i];
    pthread_mutex_unlock(&log_mu);
    return n;
}
