/* SPDX-License-Identifier: MIT */
/*
 * The AutoFlusher on its own, over writers that are not HTTP responses: a
 * stdio FILE on a pipe (bytes reach the reader only when flushed) and a
 * recording writer. Latency, close, sticky errors, many flushers on the
 * one ticker, and a writer blocked inside dst not delaying the others.
 */
#include "http_test.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Buffers writes; flush moves them to `delivered`. Counters are atomics
 * because the test thread reads them while the ticker flushes. */
typedef struct rec_writer {
    goio_io_writer w;
    atomic_size_t buffered, delivered;
    atomic_int flushes;
    atomic_llong delivered_at;
    int flush_error;
    atomic_bool closed;
    /* blocking mode: write waits until released */
    bool block;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool in_write, released;
} rec_writer;

static ssize_t rec_write(goio_io_writer *w, const void *p, size_t len)
{
    rec_writer *r = (rec_writer *)w;
    (void)p;
    if (r->block) {
        pthread_mutex_lock(&r->mu);
        r->in_write = true;
        pthread_cond_broadcast(&r->cond);
        while (!r->released)
            pthread_cond_wait(&r->cond, &r->mu);
        pthread_mutex_unlock(&r->mu);
    }
    atomic_fetch_add(&r->buffered, len);
    return (ssize_t)len;
}

static int rec_flush(goio_io_writer *w)
{
    rec_writer *r = (rec_writer *)w;
    atomic_fetch_add(&r->flushes, 1);
    if (r->flush_error)
        return r->flush_error;
    size_t b = atomic_exchange(&r->buffered, 0);
    if (b) {
        atomic_fetch_add(&r->delivered, b);
        atomic_store(&r->delivered_at, goio_now_mono_ms());
    }
    return 0;
}

static int rec_close(goio_io_writer *w)
{
    atomic_store(&((rec_writer *)w)->closed, true);
    return 0; /* storage belongs to the test */
}

static const goio_io_writer_ops rec_ops = {rec_write, rec_flush, rec_close};
static const goio_io_writer_ops noflush_ops = {rec_write, NULL, rec_close};

static void rec_init(rec_writer *r)
{
    memset(r, 0, sizeof *r);
    r->w.ops = &rec_ops;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
}

/* Checks n latency samples against a flush interval: median within
 * HT_MEDIAN_SLACK_MS of it, the worst within HT_TAIL_SLACK_MS. */
static void check_latencies(const char *what, int64_t *lat, size_t n,
                            int64_t interval)
{
    int64_t med, max;
    ht_latency_stats(lat, n, &med, &max);
    print_message("%s: %zu flushes, interval %lld ms: median %lld ms, max "
                  "%lld ms\n",
                  what, n, (long long)interval, (long long)med, (long long)max);
    assert_true(med <= interval + HT_MEDIAN_SLACK_MS);
    assert_true(max <= interval + HT_TAIL_SLACK_MS);
}

static void test_latency_and_idle(void **state)
{
    (void)state;
    rec_writer r;
    rec_init(&r);
    goio_io_writer *af;
    assert_ok(goio_http_autoflusher_new(&r.w, 30, true, &af));
    enum { ROUNDS = 40 };
    int64_t lat[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        size_t want = atomic_load(&r.delivered) + 5;
        int64_t t0 = goio_now_mono_ms();
        assert_ok(goio_io_write(af, "abcde", 5));
        assert_true(GOIO_WAIT_UNTIL(atomic_load(&r.delivered) == want, 3000));
        lat[round] = atomic_load(&r.delivered_at) - t0;
        if (round % 10)
            continue;
        /* Nothing written: no more flushes. */
        int f = atomic_load(&r.flushes);
        assert_false(GOIO_WAIT_UNTIL(atomic_load(&r.flushes) > f, 150));
    }
    check_latencies("latency", lat, ROUNDS, 30);
    assert_ok(goio_io_writer_close(af));
    assert_true(atomic_load(&r.closed)); /* own_dst */
}

static void test_close_flushes(void **state)
{
    (void)state;
    rec_writer r;
    rec_init(&r);
    goio_io_writer *af;
    assert_ok(goio_http_autoflusher_new(&r.w, 100000, false, &af));
    assert_ok(goio_io_write(af, "xyz", 3));
    assert_int_equal(atomic_load(&r.delivered), 0);
    assert_ok(goio_io_flush(af));
    assert_int_equal(atomic_load(&r.delivered), 3);
    assert_ok(goio_io_write(af, "12", 2));
    assert_ok(goio_io_writer_close(af));
    assert_int_equal(atomic_load(&r.delivered), 5);
    assert_false(atomic_load(&r.closed)); /* not owned */

    /* The longest interval means no timed flush (now + INT64_MAX was a
     * signed overflow); close still flushes. */
    assert_ok(goio_http_autoflusher_new(&r.w, INT64_MAX, false, &af));
    assert_ok(goio_io_write(af, "abc", 3));
    assert_false(GOIO_WAIT_UNTIL(atomic_load(&r.delivered) > 5, 100));
    assert_ok(goio_io_writer_close(af));
    assert_int_equal(atomic_load(&r.delivered), 8);
}

static void test_sticky_error(void **state)
{
    (void)state;
    rec_writer r;
    rec_init(&r);
    r.flush_error = GOIO_EPIPE;
    goio_io_writer *af;
    assert_ok(goio_http_autoflusher_new(&r.w, 20, true, &af));
    assert_ok(goio_io_write(af, "a", 1));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&r.flushes) >= 1, 3000));
    assert_goio(GOIO_EPIPE, goio_io_write(af, "b", 1));
    assert_goio(GOIO_EPIPE, goio_io_flush(af));
    assert_goio(GOIO_EPIPE, goio_io_writer_close(af));
}

static void test_args(void **state)
{
    (void)state;
    rec_writer r;
    rec_init(&r);
    goio_io_writer *af;
    assert_goio(GOIO_EINVAL, goio_http_autoflusher_new(NULL, 10, false, &af));
    assert_goio(GOIO_EINVAL, goio_http_autoflusher_new(&r.w, 0, false, &af));
    assert_goio(GOIO_EINVAL, goio_http_autoflusher_new(&r.w, 10, false, NULL));
    r.w.ops = &noflush_ops;
    assert_goio(GOIO_EINVAL, goio_http_autoflusher_new(&r.w, 10, false, &af));
}

static void test_many_flushers(void **state)
{
    (void)state;
    enum { N = 50 };
    rec_writer *r = goio_calloc(N, sizeof *r);
    goio_io_writer *af[N];
    for (int i = 0; i < N; i++) {
        rec_init(&r[i]);
        assert_ok(
            goio_http_autoflusher_new(&r[i].w, 20 + i % 5 * 10, true, &af[i]));
    }
    int64_t t0 = goio_now_mono_ms();
    for (int i = 0; i < N; i++)
        assert_ok(goio_io_write(af[i], "data", 4));
    int64_t late[N]; /* beyond each one's own interval */
    for (int i = 0; i < N; i++) {
        assert_true(GOIO_WAIT_UNTIL(atomic_load(&r[i].delivered) == 4, 3000));
        late[i] = atomic_load(&r[i].delivered_at) - t0 - (20 + i % 5 * 10);
    }
    check_latencies("50 flushers (past their interval)", late, N, 0);
    for (int i = 0; i < N; i++)
        assert_ok(goio_io_writer_close(af[i]));
    goio_free(r);
}

typedef struct blocked_arg {
    goio_io_writer *af;
    int rc;
} blocked_arg;

static void *blocked_writer(void *arg)
{
    blocked_arg *a = arg;
    a->rc = goio_io_write(a->af, "slow", 4);
    return NULL;
}

static void test_blocked_writer_does_not_stall_others(void **state)
{
    (void)state;
    rec_writer slow, fast;
    rec_init(&slow);
    rec_init(&fast);
    slow.block = true;
    goio_io_writer *af_slow, *af_fast;
    assert_ok(goio_http_autoflusher_new(&slow.w, 10, false, &af_slow));
    assert_ok(goio_http_autoflusher_new(&fast.w, 10, false, &af_fast));
    /* Make the slow one due, then block a writer inside it. */
    slow.block = false;
    assert_ok(goio_io_write(af_slow, "x", 1));
    slow.block = true;
    blocked_arg a = {.af = af_slow};
    pthread_t t;
    pthread_create(&t, NULL, blocked_writer, &a);
    pthread_mutex_lock(&slow.mu);
    while (!slow.in_write)
        pthread_cond_wait(&slow.cond, &slow.mu);
    pthread_mutex_unlock(&slow.mu);
    int64_t lat[20];
    for (int i = 0; i < 20; i++) {
        int64_t t0 = goio_now_mono_ms();
        size_t want = atomic_load(&fast.delivered) + 2;
        assert_ok(goio_io_write(af_fast, "ok", 2));
        assert_true(
            GOIO_WAIT_UNTIL(atomic_load(&fast.delivered) == want, 3000));
        lat[i] = atomic_load(&fast.delivered_at) - t0;
    }
    check_latencies("beside a blocked flusher", lat, 20, 10);
    pthread_mutex_lock(&slow.mu);
    slow.released = true;
    pthread_cond_broadcast(&slow.cond);
    pthread_mutex_unlock(&slow.mu);
    pthread_join(t, NULL);
    assert_ok(a.rc);
    /* Once free again, the pending bytes of the slow one go out too. */
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&slow.delivered) == 5, 3000));
    assert_ok(goio_io_writer_close(af_slow));
    assert_ok(goio_io_writer_close(af_fast));
}

/* A real buffered writer: stdio on a pipe; bytes reach the reader only
 * when fflush'ed, so the reader sees them only thanks to the ticker. */
static void test_stdio_pipe(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    FILE *f = fdopen(p[1], "w");
    assert_non_null(f);
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    goio_io_writer *fw, *af;
    assert_ok(goio_io_writer_new_file(f, true, &fw));
    assert_ok(goio_http_autoflusher_new(fw, 25, true, &af));
    int64_t lat[20];
    for (int i = 0; i < 20; i++) {
        int64_t t0 = goio_now_mono_ms();
        assert_ok(goio_io_write(af, "line\n", 5));
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 3000), 1);
        char buf[16];
        assert_int_equal(read(p[0], buf, sizeof buf), 5);
        lat[i] = goio_now_mono_ms() - t0;
    }
    check_latencies("stdio pipe", lat, 20, 25);
    assert_ok(goio_io_writer_close(af)); /* closes fw and the FILE */
    char c;
    assert_int_equal(read(p[0], &c, 1), 0); /* write end closed */
    close(p[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_and_idle),
        cmocka_unit_test(test_close_flushes),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_many_flushers),
        cmocka_unit_test(test_blocked_writer_does_not_stall_others),
        cmocka_unit_test(test_stdio_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
