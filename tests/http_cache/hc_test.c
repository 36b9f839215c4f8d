/* SPDX-License-Identifier: MIT */
#include "hc_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "test_proc.h"

/* ---- resources ----------------------------------------------------------- */

#define MAX_RES 512

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool released;
static hc_res *resources[MAX_RES];
static int nres;

hc_res *hc_res_add(const char *name)
{
    hc_res *r = calloc(1, sizeof *r);
    assert_non_null(r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->status = 200;
    r->unsafe_status = 200;
    pthread_mutex_lock(&lock);
    assert_true(nres < MAX_RES);
    resources[nres++] = r;
    pthread_mutex_unlock(&lock);
    return r;
}

void hc_res_reset(void)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nres; i++)
        free(resources[i]);
    nres = 0;
    released = false;
    pthread_mutex_unlock(&lock);
}

void hc_res_update(hc_res *r, void (*fn)(hc_res *r, void *arg), void *arg)
{
    pthread_mutex_lock(&lock);
    fn(r, arg);
    pthread_mutex_unlock(&lock);
}

static void set_fail(hc_res *r, void *arg)
{
    r->fail_status = *(int *)arg;
}

void hc_res_set_fail(hc_res *r, int status)
{
    hc_res_update(r, set_fail, &status);
}

static void set_block(hc_res *r, void *arg)
{
    r->block = *(bool *)arg;
}

void hc_res_block(hc_res *r, bool on)
{
    hc_res_update(r, set_block, &on);
}

void hc_res_set(hc_res *r, size_t field_offset, const char *value)
{
    pthread_mutex_lock(&lock);
    snprintf((char *)r + field_offset, HC_STR, "%s", value);
    pthread_mutex_unlock(&lock);
}

void hc_res_get(hc_res *r, size_t field_offset, char *out)
{
    pthread_mutex_lock(&lock);
    memcpy(out, (char *)r + field_offset, HC_STR);
    pthread_mutex_unlock(&lock);
}

void hc_origin_release(void)
{
    pthread_mutex_lock(&lock);
    released = true;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

void hc_origin_rearm(void)
{
    pthread_mutex_lock(&lock);
    released = false;
    pthread_mutex_unlock(&lock);
}

/* The configuration part of a resource (everything before the counters),
 * copied under the lock so a handler works on a consistent snapshot. */
static bool snapshot(const char *name, hc_res *snap, hc_res **live)
{
    pthread_mutex_lock(&lock);
    *live = NULL;
    for (int i = 0; i < nres && name; i++)
        if (!strcmp(resources[i]->name, name))
            *live = resources[i];
    if (*live)
        memcpy(snap, *live, offsetof(hc_res, hits));
    pthread_mutex_unlock(&lock);
    return *live != NULL;
}

static void record(hc_res *live, goio_http_request *req)
{
    const char *inm = goio_http_request_get_header(req, "If-None-Match");
    const char *ims = goio_http_request_get_header(req, "If-Modified-Since");
    const char *cap = goio_http_request_get_header(req, "Surrogate-Capability");
    pthread_mutex_lock(&lock);
    snprintf(live->last_capability, HC_STR, "%s", cap ? cap : "");
    snprintf(live->last_inm, HC_STR, "%s", inm ? inm : "");
    snprintf(live->last_ims, HC_STR, "%s", ims ? ims : "");
    snprintf(live->last_peer, HC_STR, "%s", goio_http_request_remote_addr(req));
    snprintf(live->last_method, sizeof live->last_method, "%s",
             goio_http_request_method(req));
    pthread_mutex_unlock(&lock);
}

static void wait_release(hc_res *live)
{
    atomic_fetch_add(&live->blocked, 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10; /* never hold a server stop for long */
    pthread_mutex_lock(&lock);
    while (!released)
        if (pthread_cond_timedwait(&cond, &lock, &until))
            break;
    pthread_mutex_unlock(&lock);
    atomic_fetch_sub(&live->blocked, 1);
}

static void set_if(goio_http_response *res, const char *name, const char *v)
{
    if (v[0])
        goio_http_response_set_header(res, name, v);
}

static void common_headers(goio_http_response *res, const hc_res *s)
{
    set_if(res, "Cache-Control", s->cache_control);
    set_if(res, "Expires", s->expires);
    set_if(res, "Last-Modified", s->last_modified);
    set_if(res, "Vary", s->vary);
    /* The origin's clock is the client's (test) clock, as two real hosts'
     * clocks agree: a Date from the real clock would make every response
     * look as old as the offset. */
    char now[64];
    hc_http_date(0, now);
    goio_http_response_set_header(res, "Date", s->date[0] ? s->date : now);
}

static void answer_304(goio_http_response *res, const hc_res *s)
{
    common_headers(res, s);
    set_if(res, "ETag", s->etag304[0] ? s->etag304 : s->etag);
    if (s->extra304_name[0])
        goio_http_response_set_header(res, s->extra304_name, s->extra304_value);
    set_if(res, "Content-Length", s->length304);
    goio_http_response_write_header(res, 304);
}

static bool matches(const hc_res *s, const char *inm, const char *ims)
{
    if (s->never_304)
        return false;
    if (inm)
        return s->etag[0] && !strcmp(inm, s->etag);
    return ims && s->last_modified[0] && !strcmp(ims, s->last_modified);
}

/* "<name> #<hit>" plus the request's value of each Vary'd field. */
static void text_body(goio_buf *b, const hc_res *s, int hit,
                      goio_http_request *req)
{
    goio_buf_appendf(b, "%s #%d", s->name, hit);
    if (!s->vary[0])
        return;
    char names[HC_STR], *save = NULL;
    snprintf(names, sizeof names, "%s", s->vary);
    for (char *n = strtok_r(names, ", ", &save); n;
         n = strtok_r(NULL, ", ", &save)) {
        const char *v = goio_http_request_get_header(req, n);
        goio_buf_appendf(b, " %s=%s", n, v ? v : "-");
    }
}

static void answer_200(goio_http_response *res, const hc_res *s, int hit,
                       goio_http_request *req)
{
    common_headers(res, s);
    set_if(res, "ETag", s->etag);
    set_if(res, "Age", s->age);
    set_if(res, "Location", s->location);
    set_if(res, "Content-Location", s->content_location);
    if (s->extra_name[0])
        goio_http_response_set_header(res, s->extra_name, s->extra_value);
    goio_buf body = GOIO_BUF_INIT;
    if (s->body_size) {
        goio_buf_reserve(&body, s->body_size);
        for (size_t i = 0; i < s->body_size; i++)
            body.data[i] = (uint8_t)('a' + i % 26);
        body.len = s->body_size;
    } else {
        text_body(&body, s, hit, req);
    }
    if (s->reason[0])
        assert_ok(goio_http_response_set_reason(res, s->reason));
    goio_http_respond(res, s->status, "text/plain", body.data, body.len);
    goio_buf_deinit(&body);
}

static void answer_unsafe(goio_http_response *res, hc_res *live,
                          const hc_res *s)
{
    atomic_fetch_add(&live->unsafe_hits, 1);
    set_if(res, "Location", s->location);
    set_if(res, "Content-Location", s->content_location);
    goio_http_respond(res, s->unsafe_status, "text/plain", "done", 4);
}

static void handle(goio_http_request *req, goio_http_response *res, void *data)
{
    (void)data;
    hc_res *s = calloc(1, sizeof *s), *live;
    if (!snapshot(goio_http_request_param(req, "name"), s, &live)) {
        goio_http_respond(res, 404, "text/plain", "no such resource", 16);
        free(s);
        return;
    }
    record(live, req);
    const char *method = goio_http_request_method(req);
    bool head = !strcmp(method, "HEAD");
    if (strcmp(method, "GET") && !head) {
        answer_unsafe(res, live, s);
        free(s);
        return;
    }
    int hit = atomic_fetch_add(&live->hits, 1) + 1;
    if (head)
        atomic_fetch_add(&live->heads, 1);
    if (s->block)
        wait_release(live);
    const char *inm = goio_http_request_get_header(req, "If-None-Match");
    const char *ims = goio_http_request_get_header(req, "If-Modified-Since");
    if (inm || ims)
        atomic_fetch_add(&live->conditional, 1);
    if (s->early_hints[0]) {
        const char *hints[] = {"Link", s->early_hints};
        assert_ok(goio_http_response_write_interim(res, 102, NULL, 0));
        assert_ok(goio_http_response_write_interim(res, 103, hints, 1));
    }
    if (s->fail_status) {
        goio_http_respond(res, s->fail_status, "text/plain", "fail", 4);
    } else if (matches(s, inm, ims)) {
        atomic_fetch_add(&live->hits_304, 1);
        answer_304(res, s);
    } else {
        answer_200(res, s, hit, req);
    }
    free(s);
}

/* ---- the origin ---------------------------------------------------------- */

void hc_origin_start(hc_origin *o)
{
    memset(o, 0, sizeof *o);
    assert_ok(goio_http_router_new(&o->router));
    assert_ok(
        goio_http_router_handle(o->router, NULL, "/r/{name}", handle, NULL));
    goio_http_server_config cfg;
    goio_http_server_config_init(&cfg);
    cfg.worker_threads = 8;
    cfg.handler = goio_http_router_serve;
    cfg.handler_data = o->router;
    assert_ok(goio_http_server_new(&cfg, &o->srv));
    assert_ok(goio_http_server_listen(o->srv, "127.0.0.1", 0));
    o->port = goio_http_server_port(o->srv);
    assert_true(o->port > 0);
    assert_ok(goio_http_server_start(o->srv));
}

void hc_origin_stop(hc_origin *o)
{
    hc_origin_release();
    goio_http_server_free(o->srv);
    goio_http_router_free(o->router);
    o->srv = NULL;
    o->router = NULL;
}

const char *hc_url(const hc_origin *o, const char *name)
{
    static __thread char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/r/%s", o->port, name);
    return url;
}

/* ---- nginx --------------------------------------------------------------- */

static void nginx_conf(hc_nginx *n, const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "%s\n"
            "master_process off;\n" /* one process: nothing to orphan */
            "daemon off;\n"
            "pid %s/nginx.pid;\n"
            "error_log %s/nginx.err warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "  access_log off;\n"
            "  client_body_temp_path %s/cb;\n"
            "  proxy_temp_path %s/px;\n"
            "  fastcgi_temp_path %s/fc;\n"
            "  uwsgi_temp_path %s/uw;\n"
            "  scgi_temp_path %s/sc;\n"
            "  types { }\n"
            "  default_type application/octet-stream;\n"
            "  server { listen 127.0.0.1:%d; root %s/www; }\n"
            "}\n",
            getuid() == 0 ? "user root;" : "", n->dir, n->dir, n->dir, n->dir,
            n->dir, n->dir, n->dir, n->port, n->dir);
    fclose(f);
}

void hc_nginx_start(hc_nginx *n)
{
    memset(n, 0, sizeof *n);
    n->dir = goio_test_mkdtemp("hc-nginx");
    assert_non_null(n->dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/www", n->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    for (int attempt = 0; attempt < 10 && !n->pid; attempt++) {
        n->port = goio_test_free_port();
        snprintf(path, sizeof path, "%s/nginx.conf", n->dir);
        nginx_conf(n, path);
        char *argv[] = {"nginx", "-c", path, "-p", n->dir, NULL};
        char log[1024];
        snprintf(log, sizeof log, "%s/nginx.out", n->dir);
        pid_t pid = goio_test_spawn(argv, log);
        assert_true(pid > 0);
        if (goio_test_wait_port(n->port, 10000))
            n->pid = pid;
        else
            goio_test_proc_signal(pid, SIGKILL);
    }
    assert_true(n->pid > 0);
}

void hc_nginx_stop(hc_nginx *n)
{
    if (n->pid > 0)
        goio_test_proc_signal(n->pid, SIGKILL);
    goio_test_rm_rf(n->dir);
    goio_free(n->dir);
    memset(n, 0, sizeof *n);
}

void hc_nginx_file(hc_nginx *n, const char *name, size_t len, int64_t mtime_s)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/www/%s", n->dir, name);
    uint8_t *data = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)('a' + i % 26);
    assert_ok(goio_test_write_file(path, data, len));
    free(data);
    struct timeval tv[2];
    tv[0].tv_sec = tv[1].tv_sec = (time_t)(goio_now_wall_ms() / 1000 - mtime_s);
    tv[0].tv_usec = tv[1].tv_usec = 0;
    assert_int_equal(utimes(path, tv), 0);
}

/* ---- the clock ----------------------------------------------------------- */

static _Atomic int64_t clock_offset;

int64_t hc_clock(void *arg)
{
    (void)arg;
    return goio_now_wall_ms() + atomic_load(&clock_offset);
}

void hc_clock_reset(void)
{
    atomic_store(&clock_offset, 0);
}

void hc_clock_advance(int64_t ms)
{
    atomic_fetch_add(&clock_offset, ms);
}

void hc_http_date(int64_t offset_s, char out[64])
{
    time_t t = (time_t)(hc_clock(NULL) / 1000 + offset_s);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---- the client ---------------------------------------------------------- */

void hc_config(goio_http_cache_config *cfg)
{
    goio_http_cache_config_init(cfg);
    cfg->max_size_mib = 8;
    cfg->now_fn = hc_clock;
}

goio_http_cache *hc_client(const goio_http_cache_config *cfg)
{
    goio_http_cache_config local;
    if (!cfg) {
        hc_config(&local);
        cfg = &local;
    }
    goio_http_cache *c = NULL;
    assert_ok(goio_http_cache_new(cfg, &c));
    return c;
}

static size_t collect(va_list ap, goio_http_cache_header *h, size_t max)
{
    size_t n = 0;
    for (const char *name; (name = va_arg(ap, const char *));) {
        assert_true(n < max);
        h[n].name = name;
        h[n].value = va_arg(ap, const char *);
        n++;
    }
    return n;
}

int hc_try_get_(goio_http_cache *c, const char *url, goio_ctx *ctx,
                goio_http_cache_response **out, ...)
{
    goio_http_cache_header h[8];
    va_list ap;
    va_start(ap, out);
    size_t n = collect(ap, h, 8);
    va_end(ap);
    return goio_http_cache_get(c, ctx, url, n ? h : NULL, n, out);
}

goio_http_cache_response *hc_get_(goio_http_cache *c, const char *url, ...)
{
    goio_http_cache_header h[8];
    va_list ap;
    va_start(ap, url);
    size_t n = collect(ap, h, 8);
    va_end(ap);
    goio_http_cache_response *r = NULL;
    assert_ok(goio_http_cache_get(c, NULL, url, n ? h : NULL, n, &r));
    assert_non_null(r);
    return r;
}

const char *hc_body(const goio_http_cache_response *r)
{
    static __thread char buf[4096];
    size_t n = r->body_len < sizeof buf - 1 ? r->body_len : sizeof buf - 1;
    memcpy(buf, r->body, n);
    buf[n] = 0;
    return buf;
}

void hc_expect(goio_http_cache_response *r, goio_http_cache_served served)
{
    if (r->served != served)
        fail_msg("served %s, expected %s (status %d, body '%s')",
                 goio_http_cache_served_name(r->served),
                 goio_http_cache_served_name(served), r->status, hc_body(r));
    goio_http_cache_response_free(r);
}

/* ---- log capture --------------------------------------------------------- */

#define MAX_CODES 32
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_codes[MAX_CODES][48];
static int log_counts[MAX_CODES];

static void sink(const goio_log_record *rec, void *data)
{
    (void)data;
    if (!rec->code)
        return;
    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < MAX_CODES; i++) {
        if (!log_codes[i][0])
            snprintf(log_codes[i], sizeof log_codes[i], "%s", rec->code);
        if (!strcmp(log_codes[i], rec->code)) {
            log_counts[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&log_lock);
}

void hc_log_capture(void)
{
    pthread_mutex_lock(&log_lock);
    memset(log_codes, 0, sizeof log_codes);
    memset(log_counts, 0, sizeof log_counts);
    pthread_mutex_unlock(&log_lock);
    goio_log_set_level(GOIO_LOG_DEBUG);
    goio_log_set_sink(sink, NULL);
}

int hc_log_count(const char *code)
{
    int n = 0;
    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < MAX_CODES; i++)
        if (!strcmp(log_codes[i], code))
            n = log_counts[i];
    pthread_mutex_unlock(&log_lock);
    return n;
}

/* ---- fixture ------------------------------------------------------------- */

hc_origin hc_o;

int hc_setup(void **state)
{
    (void)state;
    hc_res_reset();
    hc_clock_reset();
    hc_log_capture();
    hc_origin_start(&hc_o);
    return 0;
}

int hc_teardown(void **state)
{
    (void)state;
    if (hc_o.srv)
        hc_origin_stop(&hc_o);
    hc_res_reset();
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    goio_log_set_level(GOIO_LOG_WARN);
    return 0;
}
