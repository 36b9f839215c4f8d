/* SPDX-License-Identifier: MIT */
/*
 * The async calls (goio_redis_get_async, ...): results, exactly one
 * callback per accepted command, ctx deadlines with a stopped server,
 * GOIO_ECLOSED on free, callbacks that queue the next command, and many
 * async chains next to blocking threads through SIGSTOP / SIGCONT cycles,
 * each with its own key and values.
 */
#include "redis_test_util.h"
#include "test_observe.h"
#include "test_redis.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static goio_test_redis srv;

static int setup(void **state)
{
    (void)state;
    return goio_test_redis_start(&srv, NULL);
}

static int teardown(void **state)
{
    (void)state;
    goio_test_redis_resume(&srv);
    goio_test_redis_stop(&srv);
    return 0;
}

static goio_redis *client(const char *ns, int mux_conns, int64_t read_ms)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = ns;
    cfg.mux_conns = mux_conns;
    cfg.read_timeout_ms = read_ms;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

/* ---- one result ---- */

typedef struct result {
    atomic_int calls;
    int status;
    bool flag;
    int64_t value;
    char str[64];
    size_t len;
    int64_t at_ms;
    pthread_t thread;
} result;

static void on_get(int status, const void *value, size_t len, bool hit,
                   void *data)
{
    result *r = data;
    r->status = status;
    r->flag = hit;
    r->len = len < sizeof r->str ? len : sizeof r->str;
    if (value)
        memcpy(r->str, value, r->len);
    r->at_ms = goio_now_mono_ms();
    r->thread = pthread_self();
    atomic_fetch_add(&r->calls, 1);
}

static void on_set(int status, void *data)
{
    result *r = data;
    r->status = status;
    r->at_ms = goio_now_mono_ms();
    atomic_fetch_add(&r->calls, 1);
}

static void on_bool(int status, bool v, void *data)
{
    result *r = data;
    r->status = status;
    r->flag = v;
    r->at_ms = goio_now_mono_ms();
    atomic_fetch_add(&r->calls, 1);
}

static void on_incr(int status, int64_t v, void *data)
{
    result *r = data;
    r->status = status;
    r->value = v;
    r->at_ms = goio_now_mono_ms();
    atomic_fetch_add(&r->calls, 1);
}

#define WAIT_CALLED(res)                                                       \
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&(res).calls) > 0, 10000))

static void results_of_each_call(goio_redis *r)
{
    result a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, f = {0}, g = {0};
    assert_ok(
        goio_redis_set_async(r, NULL, "k", "hello", 5, 60000, on_set, &a));
    WAIT_CALLED(a);
    assert_goio(0, a.status);
    assert_ok(goio_redis_get_async(r, NULL, "k", on_get, &b));
    WAIT_CALLED(b);
    assert_goio(0, b.status);
    assert_true(b.flag);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.str, "hello", 5);
    assert_false(pthread_equal(b.thread, pthread_self()));
    assert_ok(goio_redis_exists_async(r, NULL, "k", on_bool, &c));
    WAIT_CALLED(c);
    assert_true(c.status == 0 && c.flag);
    assert_ok(goio_redis_del_async(r, NULL, "k", on_bool, &d));
    WAIT_CALLED(d);
    assert_true(d.status == 0 && d.flag);
    memset(&b, 0, sizeof b);
    assert_ok(goio_redis_get_async(r, NULL, "k", on_get, &b));
    WAIT_CALLED(b);
    assert_true(b.status == 0 && !b.flag && b.len == 0);
    assert_ok(goio_redis_incr_async(r, NULL, "n", on_incr, &e));
    WAIT_CALLED(e);
    assert_true(e.status == 0 && e.value == 1);
    /* A TTL <= 0 deletes, as goio_redis_set. */
    assert_ok(goio_redis_set_async(r, NULL, "n", "x", 1, 0, on_set, &f));
    WAIT_CALLED(f);
    assert_goio(0, f.status);
    bool there = true;
    assert_ok(goio_redis_exists(r, NULL, "n", &there));
    assert_false(there);
    /* An error reply. */
    assert_ok(goio_redis_set(r, NULL, "s", "abc", 3, 60000));
    logs_capture();
    assert_ok(goio_redis_incr_async(r, NULL, "s", on_incr, &g));
    WAIT_CALLED(g);
    logs_restore();
    assert_goio(GOIO_EPROTO, g.status);
    /* Exactly one call each. */
    assert_int_equal(atomic_load(&a.calls) + atomic_load(&c.calls) +
                         atomic_load(&d.calls) + atomic_load(&e.calls) +
                         atomic_load(&f.calls) + atomic_load(&g.calls),
                     6);
}

static void each_call_reports_its_result(void **state)
{
    (void)state;
    goio_redis *r = client("res", 2, 2000);
    results_of_each_call(r);
    goio_redis_free(r);
    /* Pooled mode: the async calls still share a connection. */
    r = client("res0", 0, 2000);
    results_of_each_call(r);
    goio_redis_free(r);
}

static void bad_arguments_get_no_callback(void **state)
{
    (void)state;
    goio_redis *r = client("bad", 2, 2000);
    result a = {0};
    assert_goio(GOIO_EINVAL, goio_redis_get_async(NULL, NULL, "k", on_get, &a));
    assert_goio(GOIO_EINVAL, goio_redis_get_async(r, NULL, "k", NULL, &a));
    assert_goio(GOIO_EINVAL, goio_redis_get_async(r, NULL, "", on_get, &a));
    assert_goio(GOIO_EINVAL, goio_redis_get_async(r, NULL, NULL, on_get, &a));
    assert_goio(GOIO_EINVAL,
                goio_redis_set_async(r, NULL, "k", NULL, 3, 1000, on_set, &a));
    assert_goio(GOIO_EINVAL, goio_redis_del_async(r, NULL, "k", NULL, &a));
    assert_goio(GOIO_EINVAL, goio_redis_exists_async(r, NULL, "k", NULL, &a));
    assert_goio(GOIO_EINVAL, goio_redis_incr_async(r, NULL, "k", NULL, &a));
    goio_redis_free(r);
    assert_int_equal(atomic_load(&a.calls), 0);
}

/* ---- a callback queues the next command ---- */

typedef struct counter {
    goio_redis *r;
    atomic_int left, errors;
    atomic_int last;
} counter;

static void count_on(int status, int64_t v, void *data)
{
    counter *c = data;
    if (status)
        atomic_fetch_add(&c->errors, 1);
    atomic_store(&c->last, (int)v);
    if (atomic_fetch_sub(&c->left, 1) > 1 &&
        goio_redis_incr_async(c->r, NULL, "chain", count_on, c))
        atomic_fetch_add(&c->errors, 1);
}

static void a_callback_queues_the_next_command(void **state)
{
    (void)state;
    counter c = {.r = client("chain", 2, 2000), .left = 500};
    assert_ok(goio_redis_incr_async(c.r, NULL, "chain", count_on, &c));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&c.left) == 0, 20000));
    assert_int_equal(atomic_load(&c.errors), 0);
    assert_int_equal(atomic_load(&c.last), 500);
    goio_redis_free(c.r);
}

/* ---- a blocking call inside a callback ---- */

typedef struct nested {
    goio_redis *r;
    atomic_int calls;
    int status;
    bool hit;
    char str[16];
    size_t len;
} nested;

static void nested_on_get(int status, const void *v, size_t len, bool hit,
                          void *data)
{
    (void)v;
    (void)len;
    (void)hit;
    nested *n = data;
    /* The async thread leads the shared connection: the blocking GET takes
     * a pooled one instead of waiting for itself. */
    goio_buf b = GOIO_BUF_INIT;
    goio_ctx *ctx = NULL;
    assert_ok(goio_ctx_new_with_timeout(NULL, 5000, &ctx));
    n->status = status ? status : goio_redis_get(n->r, ctx, "b", &b, &n->hit);
    goio_ctx_unref(ctx);
    n->len = b.len < sizeof n->str ? b.len : sizeof n->str;
    memcpy(n->str, b.data ? (const char *)b.data : "", n->len);
    goio_buf_deinit(&b);
    atomic_fetch_add(&n->calls, 1);
}

static void a_blocking_call_in_a_callback_works(void **state)
{
    (void)state;
    nested n = {.r = client("nested", 1, 2000)};
    assert_ok(goio_redis_set(n.r, NULL, "a", "A", 1, 60000));
    assert_ok(goio_redis_set(n.r, NULL, "b", "B", 1, 60000));
    assert_ok(goio_redis_get_async(n.r, NULL, "a", nested_on_get, &n));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&n.calls) == 1, 10000));
    assert_goio(0, n.status);
    assert_true(n.hit && n.len == 1 && n.str[0] == 'B');
    goio_redis_free(n.r);
}

/* ---- deadlines and free with a stopped server ---- */

static void a_deadline_holds_while_the_server_is_stopped(void **state)
{
    (void)state;
    /* The connection's read timeout is far away: only the ctx can end
     * the wait. */
    goio_redis *r = client("dl", 1, 20000);
    result warm = {0};
    assert_ok(goio_redis_set_async(r, NULL, "k", "v", 1, 60000, on_set, &warm));
    WAIT_CALLED(warm);
    assert_goio(0, warm.status);
    goio_test_redis_pause(&srv);
    goio_ctx *ctx;
    assert_ok(goio_ctx_new_with_timeout(NULL, 100, &ctx));
    result a = {0};
    logs_capture();
    int64_t t0 = goio_now_mono_ms();
    assert_ok(goio_redis_get_async(r, ctx, "k", on_get, &a));
    goio_ctx_unref(ctx); /* the call holds its own reference */
    bool called = GOIO_WAIT_UNTIL(atomic_load(&a.calls) > 0, 5000);
    goio_test_redis_resume(&srv);
    logs_restore();
    assert_true(called);
    assert_goio(GOIO_ETIMEDOUT, a.status);
    int64_t took = a.at_ms - t0;
    print_message("deadline 100 ms: callback after %lld ms\n", (long long)took);
    assert_true(took >= 100 && took < 1000);
    /* The late reply was dropped: the next command gets its own. */
    result b = {0};
    assert_ok(goio_redis_get_async(r, NULL, "k", on_get, &b));
    WAIT_CALLED(b);
    assert_true(b.status == 0 && b.flag && b.len == 1 && b.str[0] == 'v');
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    assert_int_equal(st.closed_broken, 0);
    /* A cancel ends the wait as well. */
    goio_test_redis_pause(&srv);
    assert_ok(goio_ctx_new(NULL, &ctx));
    result c = {0};
    logs_capture();
    assert_ok(goio_redis_get_async(r, ctx, "k", on_get, &c));
    goio_ctx_cancel(ctx);
    called = GOIO_WAIT_UNTIL(atomic_load(&c.calls) > 0, 5000);
    goio_test_redis_resume(&srv);
    logs_restore();
    goio_ctx_unref(ctx);
    assert_true(called);
    assert_goio(GOIO_ECANCELED, c.status);
    goio_redis_free(r);
}

enum { PENDING = 50 };

static void free_with_pending_commands_calls_them_back(void **state)
{
    (void)state;
    goio_redis *r = client("free", 2, 20000);
    result warm = {0};
    assert_ok(goio_redis_set_async(r, NULL, "k", "v", 1, 60000, on_set, &warm));
    WAIT_CALLED(warm);
    goio_test_redis_pause(&srv);
    result *res = goio_calloc(PENDING, sizeof *res);
    assert_non_null(res);
    for (int i = 0; i < PENDING; i++)
        assert_ok(goio_redis_get_async(r, NULL, "k", on_get, &res[i]));
    /* Some are written (the paused server holds them unread), some may
     * still be queued; none answered. */
    assert_true(GOIO_WAIT_UNTIL(goio_test_tcp_unread(srv.port) > 0, 5000));
    int before = 0;
    for (int i = 0; i < PENDING; i++)
        before += atomic_load(&res[i].calls);
    goio_redis_free(r);
    goio_test_redis_resume(&srv);
    assert_int_equal(before, 0);
    for (int i = 0; i < PENDING; i++) {
        assert_int_equal(atomic_load(&res[i].calls), 1);
        assert_goio(GOIO_ECLOSED, res[i].status);
    }
    goio_free(res);
}

/* A callback queueing while the handle is freed gets GOIO_ECLOSED back
 * (and that command no callback). */
typedef struct requeue {
    goio_redis *r;
    atomic_int calls, closed, refused;
} requeue;

static void requeue_on(int status, const void *v, size_t len, bool hit,
                       void *data)
{
    (void)v;
    (void)len;
    (void)hit;
    requeue *q = data;
    atomic_fetch_add(&q->calls, 1);
    if (status == GOIO_ECLOSED)
        atomic_fetch_add(&q->closed, 1);
    int rc = goio_redis_get_async(q->r, NULL, "k", requeue_on, q);
    if (rc == GOIO_ECLOSED)
        atomic_fetch_add(&q->refused, 1);
}

static void a_callback_during_free_is_refused(void **state)
{
    (void)state;
    requeue q = {.r = client("refree", 2, 2000)};
    for (int i = 0; i < 8; i++)
        assert_ok(goio_redis_get_async(q.r, NULL, "k", requeue_on, &q));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&q.calls) > 100, 10000));
    goio_redis_free(q.r);
    /* The 8 chains ended: each last command was called back, by its reply
     * or GOIO_ECLOSED, and its callback's new command was refused. */
    assert_int_equal(atomic_load(&q.refused), 8);
    int calls = atomic_load(&q.calls);
    goio_test_sleep_ms(20);
    assert_int_equal(atomic_load(&q.calls), calls);
}

/* goio_redis_free from a callback cannot join the thread it runs on: it
 * is refused with an ERROR record, and the handle keeps working. */
typedef struct freer {
    goio_redis *r;
    atomic_bool done;
} freer;

static void free_in_callback(int status, const void *value, size_t len,
                             bool hit, void *data)
{
    (void)status;
    (void)value;
    (void)len;
    (void)hit;
    freer *f = data;
    goio_redis_free(f->r);
    atomic_store(&f->done, true);
}

static void free_from_a_callback_is_refused(void **state)
{
    (void)state;
    freer f = {.r = client("freecb", 2, 2000)};
    logs_capture();
    assert_ok(goio_redis_get_async(f.r, NULL, "k", free_in_callback, &f));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&f.done), 10000));
    logs_restore();
    assert_true(logs_have("redis_free_from_callback", NULL, NULL));
    goio_buf b = GOIO_BUF_INIT;
    bool hit;
    assert_ok(goio_redis_get(f.r, NULL, "k", &b, &hit));
    goio_buf_deinit(&b);
    goio_redis_free(f.r);
}

/* ---- dispatch mode: callbacks on the caller's own loop ---- */

enum { DISPATCH_KEYS = 100 };

static bool fd_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

static void callbacks_run_where_dispatch_is_called(void **state)
{
    (void)state;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "disp";
    cfg.async_dispatch = true;
    goio_redis *r;
    assert_ok(goio_redis_new(&cfg, &r));
    int fd = -1;
    assert_ok(goio_redis_async_fd(r, &fd));
    assert_true(fd >= 0);
    assert_false(fd_readable(fd, 0));
    result *res = goio_calloc(DISPATCH_KEYS, sizeof *res);
    assert_non_null(res);
    char key[16], val[16];
    for (int i = 0; i < DISPATCH_KEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        int n = snprintf(val, sizeof val, "v%d", i);
        assert_ok(goio_redis_set(r, NULL, key, val, (size_t)n, 60000));
        assert_ok(goio_redis_get_async(r, NULL, key, on_get, &res[i]));
    }
    /* Nothing runs until dispatched, on this thread. */
    size_t total = 0;
    int64_t until = goio_now_mono_ms() + 10000;
    while (total < DISPATCH_KEYS && goio_now_mono_ms() < until) {
        if (!fd_readable(fd, 100))
            continue;
        size_t n = 0;
        assert_ok(goio_redis_async_dispatch(r, &n));
        assert_true(n > 0);
        total += n;
    }
    assert_int_equal(total, DISPATCH_KEYS);
    assert_false(fd_readable(fd, 0));
    for (int i = 0; i < DISPATCH_KEYS; i++) {
        int n = snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(atomic_load(&res[i].calls), 1);
        assert_goio(0, res[i].status);
        assert_true(res[i].flag && res[i].len == (size_t)n);
        assert_memory_equal(res[i].str, val, (size_t)n);
        assert_true(pthread_equal(res[i].thread, pthread_self()));
    }
    /* Answered but not dispatched, and pending at free: free calls both
     * back on its own thread. */
    result answered = {0}, pending = {0};
    assert_ok(goio_redis_get_async(r, NULL, "k1", on_get, &answered));
    assert_true(fd_readable(fd, 10000));
    goio_test_redis_pause(&srv);
    assert_ok(goio_redis_get_async(r, NULL, "k2", on_get, &pending));
    goio_redis_free(r);
    goio_test_redis_resume(&srv);
    assert_int_equal(atomic_load(&answered.calls), 1);
    assert_goio(0, answered.status);
    assert_true(pthread_equal(answered.thread, pthread_self()));
    assert_int_equal(atomic_load(&pending.calls), 1);
    assert_goio(GOIO_ECLOSED, pending.status);
    goio_free(res);
    /* Not in dispatch mode: no fd. */
    r = client("nodisp", 2, 2000);
    assert_goio(GOIO_EINVAL, goio_redis_async_fd(r, &fd));
    assert_goio(GOIO_EINVAL, goio_redis_async_dispatch(r, NULL));
    goio_redis_free(r);
}

/* ---- many chains and blocking threads through pause cycles ---- */

enum { CHAINS = 64, SYNC_THREADS = 8, READ_TIMEOUT_MS = 100 };

typedef struct chain {
    goio_redis *r;
    atomic_bool *stop;
    int index;
    long n;         /* the value being written / read */
    bool stored;    /* a SET succeeded */
    atomic_int out; /* commands accepted, not called back */
    atomic_long ok; /* GETs answered */
    atomic_long failures, wrong, double_calls;
    atomic_bool ended;
    char key[16], val[48];
    char wrong_msg[128];
} chain;

static void chain_set(chain *c);

static goio_ctx *chain_ctx(chain *c)
{
    goio_ctx *ctx = NULL;
    if (c->index % 2)
        assert_ok(goio_ctx_new_with_timeout(NULL, 20 + c->index % 40, &ctx));
    return ctx;
}

static void chain_end(chain *c)
{
    atomic_store(&c->ended, true);
}

static bool chain_answered(chain *c)
{
    if (atomic_fetch_sub(&c->out, 1) != 1) {
        atomic_fetch_add(&c->double_calls, 1);
        return false;
    }
    return true;
}

/* Whether v is "c<index>:<m>" with m <= n. */
static bool own_value(const void *v, size_t len, int index, long n)
{
    char s[48];
    if (len >= sizeof s)
        return false;
    memcpy(s, v, len);
    s[len] = 0;
    int i;
    long m;
    char end;
    return sscanf(s, "c%d:%ld%c", &i, &m, &end) == 2 && i == index && m >= 0 &&
           m <= n;
}

static void chain_on_get(int status, const void *v, size_t len, bool hit,
                         void *data)
{
    chain *c = data;
    if (!chain_answered(c))
        return;
    if (status == GOIO_EPROTO) {
        atomic_fetch_add(&c->wrong, 1);
    } else if (status) {
        atomic_fetch_add(&c->failures, 1);
    } else {
        atomic_fetch_add(&c->ok, 1);
        bool good = hit ? own_value(v, len, c->index, c->n) : !c->stored;
        if (!good && atomic_fetch_add(&c->wrong, 1) == 0)
            snprintf(c->wrong_msg, sizeof c->wrong_msg,
                     "%s after c%d:%ld: %s'%.*s'", c->key, c->index, c->n,
                     hit ? "" : "a miss ", (int)len, (const char *)v);
    }
    c->n++;
    chain_set(c);
}

static void chain_on_set(int status, void *data)
{
    chain *c = data;
    if (!chain_answered(c))
        return;
    if (status == GOIO_EPROTO)
        atomic_fetch_add(&c->wrong, 1);
    else if (status)
        atomic_fetch_add(&c->failures, 1);
    else
        c->stored = true;
    if (atomic_load(c->stop)) {
        chain_end(c);
        return;
    }
    goio_ctx *ctx = chain_ctx(c);
    atomic_fetch_add(&c->out, 1);
    int rc = goio_redis_get_async(c->r, ctx, c->key, chain_on_get, c);
    goio_ctx_unref(ctx);
    if (rc) {
        atomic_fetch_sub(&c->out, 1);
        atomic_fetch_add(&c->wrong, 1);
        chain_end(c);
    }
}

static void chain_set(chain *c)
{
    if (atomic_load(c->stop)) {
        chain_end(c);
        return;
    }
    int len = snprintf(c->val, sizeof c->val, "c%d:%ld", c->index, c->n);
    goio_ctx *ctx = chain_ctx(c);
    atomic_fetch_add(&c->out, 1);
    int rc = goio_redis_set_async(c->r, ctx, c->key, c->val, (size_t)len, 60000,
                                  chain_on_set, c);
    goio_ctx_unref(ctx);
    if (rc) {
        atomic_fetch_sub(&c->out, 1);
        atomic_fetch_add(&c->wrong, 1);
        chain_end(c);
    }
}

typedef struct sync_worker {
    pthread_t tid;
    goio_redis *r;
    atomic_bool *stop;
    int index;
    atomic_long ok;
    long wrong;
} sync_worker;

static void *sync_main(void *arg)
{
    sync_worker *w = arg;
    char key[16], val[48];
    snprintf(key, sizeof key, "s%d", w->index);
    goio_buf b = GOIO_BUF_INIT;
    for (long n = 0; !atomic_load(w->stop); n++) {
        goio_ctx *ctx = NULL;
        if (w->index % 2 && goio_ctx_new_with_timeout(NULL, 30, &ctx))
            break;
        int len = snprintf(val, sizeof val, "s%d:%ld", w->index, n);
        int rc = goio_redis_set(w->r, ctx, key, val, (size_t)len, 60000);
        bool hit = false;
        goio_buf_clear(&b);
        if (rc != GOIO_EPROTO)
            rc = goio_redis_get(w->r, ctx, key, &b, &hit);
        goio_ctx_unref(ctx);
        if (rc == GOIO_EPROTO) {
            w->wrong++;
        } else if (!rc && hit) {
            int i;
            long m;
            char s[48];
            snprintf(s, sizeof s, "%.*s", (int)b.len, (char *)b.data);
            if (sscanf(s, "s%d:%ld", &i, &m) != 2 || i != w->index || m > n)
                w->wrong++;
            else
                atomic_fetch_add(&w->ok, 1);
        }
    }
    goio_buf_deinit(&b);
    return NULL;
}

static long chains_ok(chain *cs)
{
    long n = 0;
    for (int i = 0; i < CHAINS; i++)
        n += atomic_load(&cs[i].ok);
    return n;
}

static bool chains_ended(chain *cs)
{
    for (int i = 0; i < CHAINS; i++)
        if (!atomic_load(&cs[i].ended))
            return false;
    return true;
}

static void async_chains_and_threads_through_pause_cycles(void **state)
{
    (void)state;
    goio_redis *r = client("amux", 2, READ_TIMEOUT_MS);
    atomic_bool stop = false;
    chain *cs = goio_calloc(CHAINS, sizeof *cs);
    sync_worker ws[SYNC_THREADS];
    assert_non_null(cs);
    logs_capture();
    for (int i = 0; i < SYNC_THREADS; i++) {
        ws[i] = (sync_worker){.r = r, .stop = &stop, .index = i};
        assert_int_equal(pthread_create(&ws[i].tid, NULL, sync_main, &ws[i]),
                         0);
    }
    for (int i = 0; i < CHAINS; i++) {
        cs[i].r = r;
        cs[i].stop = &stop;
        cs[i].index = i;
        snprintf(cs[i].key, sizeof cs[i].key, "c%d", i);
        chain_set(&cs[i]);
    }
    for (int cycle = 0; cycle < 6; cycle++) {
        long before = chains_ok(cs);
        assert_true(GOIO_WAIT_UNTIL(chains_ok(cs) > before + 200, 10000));
        goio_test_redis_pause(&srv);
        goio_test_sleep_ms(cycle % 2 ? READ_TIMEOUT_MS * 3 : 30);
        goio_test_redis_resume(&srv);
    }
    long before = chains_ok(cs);
    assert_true(GOIO_WAIT_UNTIL(chains_ok(cs) > before + 200, 10000));
    atomic_store(&stop, true);
    assert_true(GOIO_WAIT_UNTIL(chains_ended(cs), 10000));
    long sync_ok = 0, wrong = 0, failures = 0, doubles = 0;
    for (int i = 0; i < SYNC_THREADS; i++) {
        pthread_join(ws[i].tid, NULL);
        sync_ok += atomic_load(&ws[i].ok);
        wrong += ws[i].wrong;
    }
    for (int i = 0; i < CHAINS; i++) {
        if (atomic_load(&cs[i].wrong))
            print_message("chain %d: %s\n", i, cs[i].wrong_msg);
        wrong += atomic_load(&cs[i].wrong);
        failures += atomic_load(&cs[i].failures);
        doubles += atomic_load(&cs[i].double_calls);
        assert_int_equal(atomic_load(&cs[i].out), 0);
    }
    logs_restore();
    goio_redis_stats st;
    assert_ok(goio_redis_stats_get(r, &st));
    print_message("%d chains: %ld GETs ok, %ld failed, %ld wrong, %ld "
                  "double; %d threads: %ld ok; %llu closed broken\n",
                  CHAINS, chains_ok(cs), failures, wrong, doubles, SYNC_THREADS,
                  sync_ok, (unsigned long long)st.closed_broken);
    assert_int_equal(wrong, 0);
    assert_int_equal(doubles, 0);
    assert_true(failures > 0);          /* the pauses were felt */
    assert_true(st.closed_broken >= 1); /* and the read timeout fired */
    assert_true(sync_ok > 0);
    assert_true(st.open <= 2);
    goio_redis_free(r);
    goio_free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_call_reports_its_result),
        cmocka_unit_test(bad_arguments_get_no_callback),
        cmocka_unit_test(a_callback_queues_the_next_command),
        cmocka_unit_test(a_blocking_call_in_a_callback_works),
        cmocka_unit_test(a_deadline_holds_while_the_server_is_stopped),
        cmocka_unit_test(free_with_pending_commands_calls_them_back),
        cmocka_unit_test(a_callback_during_free_is_refused),
        cmocka_unit_test(free_from_a_callback_is_refused),
        cmocka_unit_test(callbacks_run_where_dispatch_is_called),
        cmocka_unit_test(async_chains_and_threads_through_pause_cycles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
