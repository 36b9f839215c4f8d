/* SPDX-License-Identifier: MIT */
/*
 * A hostile Redis server against the multiplexed connections: what can one
 * peer make a goio_redis_get caller spend? The server here is a fake (a
 * thread speaking just enough RESP): a real redis-server cannot be made to
 * send a 2^40-byte bulk header, a 2^31-element array, replies nobody asked
 * for or one byte per tick forever. Each case checks the caller's time
 * (its deadline or the read timeout, never more), the bytes the server
 * managed to send before goio closed the connection (what goio buffered is
 * at most that), that the connection is replaced and the next call works,
 * and (under asan) that nothing leaks.
 */
#define _GNU_SOURCE /* memmem */
#include "redis_test_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>

enum mode {
    M_GOOD,        /* "$2\r\nok\r\n" per GET */
    M_BULK_HUGE,   /* a 2^40-byte bulk header, then bytes as fast as it can */
    M_ARRAY_HUGE,  /* "*2147483647", then ":1" elements */
    M_ARRAY_CHEAP, /* "*100000", then ":1": few bytes, many objects */
    M_NESTED,      /* arrays nested 1000 deep */
    M_EXTRA,       /* every GET answered twice */
    M_TRICKLE,     /* a 1 MB bulk header, then one byte every 10 ms */
    M_PUSH_FLOOD,  /* pub/sub messages from the accept on, non-stop */
};

typedef struct fake {
    int lfd, port;
    pthread_t tid;
    atomic_bool stop;
    enum mode mode;
    int hostile_conns;   /* the first connections misbehave, later ones not */
    size_t cap;          /* most bytes a flood sends on one connection */
    atomic_int conns;    /* accepted */
    atomic_llong sent;   /* bytes sent on hostile connections */
    atomic_bool cap_hit; /* a flood sent all of cap: goio never closed */
} fake;

/* Sends what it can of p (non-blocking); < 0 when the peer is gone. */
static ssize_t put(int fd, const void *p, size_t n)
{
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return w;
}

/* Sends all of p unless the peer goes or the fake stops. */
static bool put_all(fake *f, int fd, const char *p, size_t n)
{
    while (n && !atomic_load(&f->stop)) {
        ssize_t w = put(fd, p, n);
        if (w < 0)
            return false;
        p += w;
        n -= (size_t)w;
        if (n) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, 10);
        }
    }
    return true;
}

/* One flood chunk per mode: what follows the header, repeated. */
static const char *flood_unit(enum mode m)
{
    switch (m) {
    case M_BULK_HUGE:
        return "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "x";
    case M_ARRAY_HUGE:
    case M_ARRAY_CHEAP:
        return ":1\r\n";
    case M_PUSH_FLOOD:
        return "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n";
    default:
        return "";
    }
}

static void serve(fake *f, int fd, enum mode m)
{
    char in[4096];
    size_t in_len = 0;
    bool flooding = m == M_PUSH_FLOOD; /* from the accept on */
    char chunk[64 * 1024];
    size_t chunk_len = 0;
    int64_t next_trickle = 0;
    long long sent = 0;
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, flooding ? 0 : 5) > 0) {
            ssize_t r = recv(fd, in + in_len, sizeof in - in_len, 0);
            if (r <= 0)
                return; /* goio closed the connection */
            in_len += (size_t)r;
        }
        /* Each "GET\r\n" is one command (the fake is asked nothing else). */
        char *g;
        while (in_len >= 5 && (g = memmem(in, in_len, "GET\r\n", 5))) {
            size_t used = (size_t)(g - in) + 5;
            memmove(in, in + used, in_len - used);
            in_len -= used;
            const char *reply = NULL;
            switch (m) {
            case M_GOOD:
                reply = "$2\r\nok\r\n";
                break;
            case M_EXTRA:
                reply = "$2\r\nok\r\n$5\r\nbogus\r\n";
                break;
            case M_NESTED: {
                static char deep[4 * 1000 + 8];
                for (int i = 0; i < 1000; i++)
                    memcpy(deep + 4 * i, "*1\r\n", 4);
                memcpy(deep + 4000, ":1\r\n", 5);
                reply = deep;
                break;
            }
            case M_BULK_HUGE:
                reply = "$1099511627776\r\n";
                flooding = true;
                break;
            case M_ARRAY_HUGE:
                reply = "*2147483647\r\n";
                flooding = true;
                break;
            case M_ARRAY_CHEAP:
                reply = "*100000\r\n";
                flooding = true;
                break;
            case M_TRICKLE:
                reply = "$1000000\r\n";
                next_trickle = goio_now_mono_ms();
                break;
            case M_PUSH_FLOOD:
                break;
            }
            if (reply) {
                if (!put_all(f, fd, reply, strlen(reply)))
                    return;
                if (m != M_GOOD)
                    sent += (long long)strlen(reply);
            }
        }
        if (in_len == sizeof in)
            in_len = 0; /* garbage: the fake only needs the GETs */
        if (m == M_TRICKLE && next_trickle &&
            goio_now_mono_ms() >= next_trickle) {
            if (put(fd, "y", 1) < 0)
                return;
            sent++;
            next_trickle += 10;
        }
        if (flooding && (size_t)sent < f->cap) {
            if (!chunk_len) {
                const char *u = flood_unit(m);
                size_t ul = strlen(u);
                while (chunk_len + ul <= sizeof chunk) {
                    memcpy(chunk + chunk_len, u, ul);
                    chunk_len += ul;
                }
            }
            ssize_t w = put(fd, chunk, chunk_len);
            if (w < 0)
                return;
            sent += w;
            atomic_store(&f->sent, sent);
            if ((size_t)sent >= f->cap)
                atomic_store(&f->cap_hit, true);
            if (w == 0) {
                struct pollfd po = {.fd = fd, .events = POLLOUT | POLLIN};
                poll(&po, 1, 5);
            }
        }
        atomic_store(&f->sent, sent);
    }
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {.fd = f->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 10) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int i = atomic_fetch_add(&f->conns, 1);
        serve(f, fd, i < f->hostile_conns ? f->mode : M_GOOD);
        close(fd);
    }
    return NULL;
}

static void fake_start(fake *f, enum mode m, size_t cap)
{
    memset(f, 0, sizeof *f);
    f->mode = m;
    f->hostile_conns = 1;
    f->cap = cap;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(pthread_create(&f->tid, NULL, fake_main, f), 0);
}

static void fake_stop(fake *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->tid, NULL);
    close(f->lfd);
}

static int client_mux_conns = 1; /* 0: the pooled path */

static goio_redis *client(fake *f, size_t max_reply, int64_t read_timeout_ms)
{
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", f->port);
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = ep;
    cfg.mux_conns = client_mux_conns;
    cfg.max_reply_bytes = max_reply;
    cfg.read_timeout_ms = read_timeout_ms;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

static goio_redis_stats stats(goio_redis *r)
{
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    return st;
}

static bool client_async; /* get() goes through goio_redis_get_async */

typedef struct async_get {
    goio_buf *b;
    int rc;
    atomic_bool done;
} async_get;

static void on_async_get(int status, const void *value, size_t len, bool hit,
                         void *data)
{
    async_get *g = data;
    g->rc = status;
    if (!status && hit)
        g->rc = goio_buf_set(g->b, value, len);
    atomic_store(&g->done, true);
}

/* goio_redis_get through the async thread, waited for (with a bound far
 * above any deadline the tests give). */
static int get_async(goio_redis *r, goio_ctx *ctx, goio_buf *b)
{
    async_get g = {.b = b};
    int rc = goio_redis_get_async(r, ctx, "k", on_async_get, &g);
    if (rc)
        return rc;
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&g.done), 30000));
    return g.rc;
}

/* One GET with a timeout (0: no ctx); its result and time. */
static int get(goio_redis *r, int64_t timeout_ms, goio_buf *b, int64_t *took)
{
    goio_ctx *ctx = NULL;
    if (timeout_ms)
        assert_ok(goio_ctx_new_with_timeout(NULL, timeout_ms, &ctx));
    bool hit = false;
    int64_t t0 = goio_now_mono_ms();
    int rc = client_async ? get_async(r, ctx, b)
                          : goio_redis_get(r, ctx, "k", b, &hit);
    *took = goio_now_mono_ms() - t0;
    goio_ctx_unref(ctx);
    return rc;
}

/* The next call goes on a new connection and gets the honest answer. */
static void next_call_works(goio_redis *r)
{
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    assert_ok(get(r, 2000, &b, &took));
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "ok", 2);
    goio_buf_deinit(&b);
    goio_redis_stats st = stats(r);
    assert_int_equal(st.closed_broken, 1);
    assert_int_equal(st.connects, 2);
}

static long max_rss_kib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

enum { LIMIT = 1 << 20, FLOOD_CAP = 256 << 20 };

/* A bulk header of 2^40 bytes, then bytes at full speed: the caller gets
 * GOIO_EPROTO once the reply's unparsed bytes pass max_reply_bytes (1 MiB),
 * long before its deadline or the read timeout; what the server could
 * send is that plus the socket buffers. Without the limit goio buffers
 * all 256 MiB and the caller waits for its deadline. */
static void a_huge_bulk_costs_at_most_max_reply_bytes(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_BULK_HUGE, FLOOD_CAP);
    goio_redis *r = client(&f, LIMIT, 10000);
    long rss0 = max_rss_kib();
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    logs_capture();
    int rc = get(r, 5000, &b, &took);
    logs_restore();
    long grew_kib = max_rss_kib() - rss0;
    long long sent = atomic_load(&f.sent);
    print_message("huge bulk: rc %s after %lld ms, server sent %lld bytes, "
                  "max RSS grew %ld KiB\n",
                  goio_err_name(rc), (long long)took, sent, grew_kib);
    assert_goio(GOIO_EPROTO, rc);
    assert_true(took < 2000);
    assert_false(atomic_load(&f.cap_hit));
    assert_true(sent < 32 << 20);
    assert_true(grew_kib < 64 * 1024);
    assert_true(logs_have("redis_reply_too_large", NULL, NULL));
    next_call_works(r);
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* "*2147483647": hiredis would allocate 16 GiB of element pointers at
 * once; the reply's cost is counted before the allocation. */
static void a_huge_array_header_fails_before_allocating(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_ARRAY_HUGE, FLOOD_CAP);
    goio_redis *r = client(&f, LIMIT, 10000);
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    logs_capture();
    int rc = get(r, 5000, &b, &took);
    logs_restore();
    assert_goio(GOIO_EPROTO, rc);
    assert_true(took < 2000);
    assert_false(atomic_load(&f.cap_hit));
    next_call_works(r);
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* 100000 ":1" elements are 400 KB on the wire but ~7 MB of reply objects:
 * the objects count, not only the bytes. */
static void cheap_elements_count_as_objects(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_ARRAY_CHEAP, 4 * 100000);
    goio_redis *r = client(&f, LIMIT, 10000);
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    logs_capture();
    int rc = get(r, 5000, &b, &took);
    logs_restore();
    assert_goio(GOIO_EPROTO, rc);
    assert_true(took < 2000);
    assert_true(logs_have("redis_reply_too_large", NULL, NULL));
    next_call_works(r);
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* The same three on the pooled path (mux_conns = 0): the pool's blocking
 * reader counts a reply's cost as the multiplexed one does. */
/* Before each test: a failed on_the_pool test leaves no pooled client
 * behind for the next ones. */
static int multiplexed_again(void **state)
{
    (void)state;
    client_mux_conns = 1;
    client_async = false;
    return 0;
}

static void on_the_pool(void (*test)(void **))
{
    client_mux_conns = 0;
    test(NULL);
    client_mux_conns = 1;
}

static void a_huge_bulk_on_the_pool(void **state)
{
    (void)state;
    on_the_pool(a_huge_bulk_costs_at_most_max_reply_bytes);
}

static void a_huge_array_header_on_the_pool(void **state)
{
    (void)state;
    on_the_pool(a_huge_array_header_fails_before_allocating);
}

static void cheap_elements_on_the_pool(void **state)
{
    (void)state;
    on_the_pool(cheap_elements_count_as_objects);
}

/* The same three through the async calls: their thread reads the
 * multiplexed connections with the same accounting. */
static void via_async(void (*test)(void **))
{
    client_async = true;
    test(NULL);
    client_async = false;
}

static void a_huge_bulk_via_async(void **state)
{
    (void)state;
    via_async(a_huge_bulk_costs_at_most_max_reply_bytes);
}

static void a_huge_array_header_via_async(void **state)
{
    (void)state;
    via_async(a_huge_array_header_fails_before_allocating);
}

static void cheap_elements_via_async(void **state)
{
    (void)state;
    via_async(cheap_elements_count_as_objects);
}

/* multi_get always takes the pool: a huge bulk answering one of its keys
 * breaks the pooled connection within the limit's bytes, and the call
 * ends there with GOIO_EPROTO (multi.c does not ask a node that broke the
 * protocol again through the single-key path): one connection replaced,
 * and the next call works on a second. */
static void a_huge_bulk_fails_a_multi_get(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_BULK_HUGE, FLOOD_CAP);
    f.hostile_conns = 1;
    goio_redis *r = client(&f, LIMIT, 10000);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 5000, &ctx));
    const char *keys[] = {"a", "b"};
    goio_buf vals[2] = {GOIO_BUF_INIT, GOIO_BUF_INIT};
    bool hits[2];
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    int rc = goio_redis_multi_get(r, ctx, keys, 2, vals, hits);
    int64_t took = goio_now_mono_ms() - t0;
    logs_restore();
    goio_ctx_unref(ctx);
    print_message("multi_get, huge bulk: rc %s after %lld ms\n",
                  goio_err_name(rc), (long long)took);
    assert_goio(GOIO_EPROTO, rc);
    assert_true(took < 2000);
    assert_false(atomic_load(&f.cap_hit));
    assert_true(logs_have("redis_reply_too_large", NULL, NULL));
    assert_int_equal(stats(r).closed_broken, 1);
    assert_int_equal(atomic_load(&f.conns), 1);
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(get(r, 2000, &b, &took));
    assert_int_equal(b.len, 2);
    goio_buf_deinit(&b);
    assert_int_equal(stats(r).connects, 2);
    goio_buf_deinit(&vals[0]);
    goio_buf_deinit(&vals[1]);
    goio_redis_free(r);
    fake_stop(&f);
}

/* Arrays nested 1000 deep: a protocol error (hiredis stops at depth 7),
 * the connection is replaced. */
static void deep_nesting_is_a_protocol_error(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_NESTED, 0);
    goio_redis *r = client(&f, 0, 10000);
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    logs_capture();
    int rc = get(r, 5000, &b, &took);
    logs_restore();
    assert_goio(GOIO_EPROTO, rc);
    assert_true(took < 2000);
    next_call_works(r);
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* Every GET answered twice: the caller gets the first answer, the second
 * (nobody asked) replaces the connection; no caller ever sees "bogus".
 * (With several callers pipelined on one connection an extra reply cannot
 * be told from the next caller's: RESP has no request ids, and a server
 * that lies can answer anything anyway. One caller at a time here.) */
static void a_reply_nobody_asked_for_replaces_the_connection(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_EXTRA, 0);
    f.hostile_conns = 1 << 30;
    goio_redis *r = client(&f, 0, 10000);
    goio_buf b = GOIO_BUF_INIT;
    logs_capture();
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        int64_t took;
        int rc = get(r, 2000, &b, &took);
        assert_true(took < 2000);
        if (rc == 0) {
            assert_int_equal(b.len, 2);
            assert_memory_equal(b.data, "ok", 2);
            ok++;
        }
    }
    logs_restore();
    assert_true(ok >= 10);
    assert_true(stats(r).closed_broken >= 10);
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* One byte every 10 ms, forever: the caller's deadline holds; without a
 * deadline the read timeout (no complete reply for read_timeout_ms) ends
 * it - bytes trickling in are no progress. */
static void a_trickle_is_bounded_by_deadline_and_read_timeout(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_TRICKLE, 0);
    f.hostile_conns = 2;
    goio_redis *r = client(&f, 0, 500);
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    logs_capture();
    int rc = get(r, 200, &b, &took);
    assert_goio(GOIO_ETIMEDOUT, rc);
    assert_true(took >= 190 && took < 700);
    rc = get(r, 0, &b, &took); /* no ctx */
    logs_restore();
    print_message("trickle without ctx: %s after %lld ms\n", goio_err_name(rc),
                  (long long)took);
    assert_goio(GOIO_ETIMEDOUT, rc);
    assert_true(took < 1500);
    assert_true(logs_have("redis_timeout", NULL, "read_timeout_ms"));
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* The same trickle on the pooled path (mux_conns = 0; multi-key calls and
 * clear always take it): SO_RCVTIMEO bounds each recv, so before the whole
 * reply was bounded a caller with a 200 ms deadline was still reading
 * after 100 s. */
static void a_trickle_is_bounded_on_the_pooled_path_too(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_TRICKLE, 0);
    f.hostile_conns = 2;
    client_mux_conns = 0;
    goio_redis *r = client(&f, 0, 500);
    client_mux_conns = 1;
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    logs_capture();
    int rc = get(r, 200, &b, &took);
    assert_goio(GOIO_ETIMEDOUT, rc);
    assert_true(took >= 190 && took < 700);
    rc = get(r, 0, &b, &took); /* no ctx: the read timeout */
    logs_restore();
    assert_goio(GOIO_ETIMEDOUT, rc);
    assert_true(took >= 490 && took < 1500);
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* Pub/sub messages at full speed from the accept on: the first answers
 * the GET (wrong type: GOIO_EPROTO), the next nobody asked for and the
 * connection goes; the server cannot keep the caller reading. */
static void a_push_flood_costs_one_reply(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_PUSH_FLOOD, FLOOD_CAP);
    goio_redis *r = client(&f, LIMIT, 10000);
    goio_buf b = GOIO_BUF_INIT;
    int64_t took;
    logs_capture();
    int rc = get(r, 5000, &b, &took);
    logs_restore();
    /* When the messages are there before the GET is written, the idle
     * check finds them: the connection goes and the GET, on the next one,
     * gets the honest answer. */
    if (rc == 0)
        assert_true(b.len == 2 && !memcmp(b.data, "ok", 2));
    assert_true(took < 2000);
    assert_false(atomic_load(&f.cap_hit));
    next_call_works(r);
    goio_buf_deinit(&b);
    goio_redis_free(r);
    fake_stop(&f);
}

/* Eight callers share the connection the huge bulk arrives on: each one
 * written on it fails with GOIO_EPROTO, the others go on the next
 * connection and get the honest answer; nobody waits past the fault or
 * gets anything else. */
typedef struct caller {
    pthread_t tid;
    goio_redis *r;
    int rc;
    int64_t took;
    bool ok_value;
} caller;

static void *caller_main(void *p)
{
    caller *c = p;
    goio_buf b = GOIO_BUF_INIT;
    c->rc = get(c->r, 5000, &b, &c->took);
    c->ok_value = b.len == 2 && !memcmp(b.data, "ok", 2);
    goio_buf_deinit(&b);
    return NULL;
}

static void callers_sharing_the_connection(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, M_BULK_HUGE, FLOOD_CAP);
    goio_redis *r = client(&f, LIMIT, 10000);
    enum { N = 8 };
    caller c[N];
    logs_capture();
    for (int i = 0; i < N; i++) {
        c[i] = (caller){.r = r};
        assert_int_equal(pthread_create(&c[i].tid, NULL, caller_main, &c[i]),
                         0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(c[i].tid, NULL);
    logs_restore();
    int failed = 0;
    for (int i = 0; i < N; i++) {
        assert_true(c[i].rc == GOIO_EPROTO || (c[i].rc == 0 && c[i].ok_value));
        assert_true(c[i].took < 2000);
        failed += c[i].rc != 0;
    }
    assert_true(failed >= 1);
    assert_false(atomic_load(&f.cap_hit));
    assert_int_equal(stats(r).closed_broken, 1);
    goio_redis_free(r);
    fake_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(a_huge_bulk_costs_at_most_max_reply_bytes,
                               multiplexed_again),
        cmocka_unit_test_setup(a_huge_array_header_fails_before_allocating,
                               multiplexed_again),
        cmocka_unit_test_setup(cheap_elements_count_as_objects,
                               multiplexed_again),
        cmocka_unit_test_setup(a_huge_bulk_on_the_pool, multiplexed_again),
        cmocka_unit_test_setup(a_huge_array_header_on_the_pool,
                               multiplexed_again),
        cmocka_unit_test_setup(cheap_elements_on_the_pool, multiplexed_again),
        cmocka_unit_test_setup(a_huge_bulk_via_async, multiplexed_again),
        cmocka_unit_test_setup(a_huge_array_header_via_async,
                               multiplexed_again),
        cmocka_unit_test_setup(cheap_elements_via_async, multiplexed_again),
        cmocka_unit_test_setup(a_huge_bulk_fails_a_multi_get,
                               multiplexed_again),
        cmocka_unit_test_setup(deep_nesting_is_a_protocol_error,
                               multiplexed_again),
        cmocka_unit_test_setup(a_reply_nobody_asked_for_replaces_the_connection,
                               multiplexed_again),
        cmocka_unit_test_setup(
            a_trickle_is_bounded_by_deadline_and_read_timeout,
            multiplexed_again),
        cmocka_unit_test_setup(a_trickle_is_bounded_on_the_pooled_path_too,
                               multiplexed_again),
        cmocka_unit_test_setup(a_push_flood_costs_one_reply, multiplexed_again),
        cmocka_unit_test_setup(callers_sharing_the_connection,
                               multiplexed_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
