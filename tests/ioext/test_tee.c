/* SPDX-License-Identifier: MIT */
/*
 * Tee: same bytes on both sides, EOF and errors passed on, early closes,
 * back-pressure, and main/secondary on two threads (run under tsan too).
 */
#include "test_observe.h"
#include "test_util.h"

#include <goio/ioext.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = goio_malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 7 + seed) ^ (i >> 11));
    return p;
}

/* A source over memory with a counter of bytes handed out (read by the
 * secondary thread to check back-pressure), that may fail part way. */
typedef struct source {
    goio_io_reader base;
    const uint8_t *p;
    size_t len, step, fail_after;
    atomic_size_t off;
    int fail;
    atomic_bool closed;
} source;

static ssize_t source_read(goio_io_reader *r, void *buf, size_t cap)
{
    source *s = (source *)r;
    size_t off = atomic_load(&s->off);
    if (s->fail && off >= s->fail_after)
        return s->fail;
    size_t n = s->len - off;
    if (n > s->step)
        n = s->step;
    if (n > cap)
        n = cap;
    memcpy(buf, s->p + off, n);
    atomic_store(&s->off, off + n);
    return (ssize_t)n;
}

static int source_close(goio_io_reader *r)
{
    atomic_store(&((source *)r)->closed, true);
    return 0;
}

static const goio_io_reader_ops source_ops = {source_read, source_close};

static void source_init(source *s, const uint8_t *p, size_t len, size_t step)
{
    memset(s, 0, sizeof *s);
    s->base.ops = &source_ops;
    s->p = p;
    s->len = len;
    s->step = step;
}

static void make_tee(source *src, size_t bufsize, goio_io_reader **m,
                     goio_io_reader **s)
{
    goio_io_tee_config cfg;
    goio_io_tee_config_init(&cfg);
    assert_int_equal(cfg.buffer_size, GOIO_TEE_DEFAULT_BUFFER);
    cfg.buffer_size = bufsize;
    assert_ok(goio_io_tee_new(&src->base, &cfg, m, s));
}

/* Reads r to the end in chunks of `chunk`; returns the final code. */
typedef struct drain {
    goio_io_reader *r;
    size_t chunk;
    goio_buf out;
    int rc;
    source *watch; /* when set: check back-pressure against it */
    size_t bound;  /* ... the most `in` may run ahead of us */
    atomic_int *violations;
    atomic_bool done; /* set when the reading thread returns */
    atomic_int tid;   /* the reading thread's, once it runs */
} drain;

static void *drain_all(void *arg)
{
    drain *d = arg;
    atomic_store(&d->tid, goio_test_gettid());
    uint8_t *buf = goio_malloc(d->chunk);
    for (;;) {
        ssize_t n = goio_io_read(d->r, buf, d->chunk);
        if (n <= 0) {
            d->rc = (int)n;
            break;
        }
        goio_buf_append(&d->out, buf, (size_t)n);
        if (d->watch && atomic_load(&d->watch->off) > d->out.len + d->bound)
            atomic_fetch_add(d->violations, 1);
        if (d->out.len % 3 == 0)
            sched_yield(); /* vary the interleaving */
    }
    goio_free(buf);
    atomic_store(&d->done, true);
    return NULL;
}

static void run_pair(size_t len, size_t step, size_t bufsize, size_t main_chunk,
                     size_t sec_chunk)
{
    uint8_t *data = pattern(len, (unsigned)bufsize);
    source src;
    source_init(&src, data, len, step);
    goio_io_reader *m, *s;
    make_tee(&src, bufsize, &m, &s);
    atomic_int violations = 0;
    drain dm = {m, main_chunk, GOIO_BUF_INIT, -1, NULL, 0, NULL, false};
    /* Main can be at most one of its reads ahead of the buffer. */
    drain ds = {s,
                sec_chunk,
                GOIO_BUF_INIT,
                -1,
                &src,
                bufsize + (step < main_chunk ? step : main_chunk),
                &violations,
                false};
    pthread_t tm, ts;
    pthread_create(&ts, NULL, drain_all, &ds);
    pthread_create(&tm, NULL, drain_all, &dm);
    pthread_join(tm, NULL);
    pthread_join(ts, NULL);
    assert_int_equal(dm.rc, 0);
    assert_int_equal(ds.rc, 0);
    assert_int_equal(dm.out.len, len);
    assert_int_equal(ds.out.len, len);
    assert_memory_equal(dm.out.data, data, len);
    assert_memory_equal(ds.out.data, data, len);
    assert_int_equal(atomic_load(&violations), 0);
    assert_ok(goio_io_reader_close(s));
    assert_ok(goio_io_reader_close(m));
    assert_true(atomic_load(&src.closed));
    goio_buf_deinit(&dm.out);
    goio_buf_deinit(&ds.out);
    goio_free(data);
}

static void concurrent_readers_see_the_same_bytes(void **state)
{
    (void)state;
    run_pair(3 << 20, 65536, GOIO_TEE_DEFAULT_BUFFER, 32768, 65536);
    run_pair(200000, 1000, 1, 4096, 4096); /* one byte of buffer */
    run_pair(200000, 4096, 7, 5000, 3);
    run_pair(500000, 100000, 4096, 100000, 1000);
    run_pair(0, 10, 100, 10, 10); /* empty stream */
}

static void eof_reaches_secondary_after_it_drains(void **state)
{
    (void)state;
    uint8_t *data = pattern(10000, 1);
    source src;
    source_init(&src, data, 10000, 3000);
    goio_io_reader *m, *s;
    make_tee(&src, 20000, &m, &s); /* all fits: one thread is enough */
    goio_buf a = GOIO_BUF_INIT, b = GOIO_BUF_INIT;
    assert_ok(goio_io_read_all(m, &a, 0));
    assert_ok(goio_io_read_all(s, &b, 0));
    assert_int_equal(b.len, 10000);
    assert_memory_equal(b.data, data, 10000);
    char c;
    assert_int_equal(goio_io_read(s, &c, 1), 0); /* stays at EOF */
    /* Closing main after EOF is not an early close. */
    assert_ok(goio_io_reader_close(m));
    assert_int_equal(goio_io_read(s, &c, 1), 0);
    assert_ok(goio_io_reader_close(s));
    goio_buf_deinit(&a);
    goio_buf_deinit(&b);
    goio_free(data);
}

static void errors_reach_secondary_after_the_bytes(void **state)
{
    (void)state;
    uint8_t *data = pattern(10000, 2);
    source src;
    source_init(&src, data, 10000, 1000);
    src.fail = GOIO_ECONNRESET;
    src.fail_after = 4000;
    goio_io_reader *m, *s;
    make_tee(&src, 20000, &m, &s);
    goio_buf a = GOIO_BUF_INIT, b = GOIO_BUF_INIT;
    assert_goio(GOIO_ECONNRESET, goio_io_read_all(m, &a, 0));
    /* read_all keeps nothing on error; secondary still has 4000 bytes. */
    uint8_t got[5000];
    size_t n;
    assert_goio(GOIO_ECONNRESET, goio_io_read_full(s, got, sizeof got, &n));
    assert_int_equal(n, 4000);
    assert_memory_equal(got, data, 4000);
    assert_ok(goio_io_reader_close(m));
    assert_ok(goio_io_reader_close(s));
    goio_buf_deinit(&a);
    goio_buf_deinit(&b);
    goio_free(data);
}

static void closing_main_early_fails_secondary(void **state)
{
    (void)state;
    uint8_t *data = pattern(10000, 3);
    source src;
    source_init(&src, data, 10000, 1000);
    goio_io_reader *m, *s;
    make_tee(&src, 20000, &m, &s);
    uint8_t buf[2500];
    size_t n;
    assert_ok(goio_io_read_full(m, buf, sizeof buf, &n));
    assert_int_equal(n, 2500);
    assert_ok(goio_io_reader_close(m));
    assert_true(atomic_load(&src.closed)); /* main closes in */
    /* Bytes are buffered, but the stream was cut: the distinct error. */
    assert_int_equal(goio_io_read(s, buf, sizeof buf), GOIO_EEARLYCLOSE);
    assert_int_equal(goio_io_read(s, buf, sizeof buf), GOIO_EEARLYCLOSE);
    assert_ok(goio_io_reader_close(s));
    goio_free(data);
}

static void *read_one(void *arg)
{
    drain *d = arg;
    atomic_store(&d->tid, goio_test_gettid());
    uint8_t b[10];
    d->rc = (int)goio_io_read(d->r, b, sizeof b);
    atomic_store(&d->done, true);
    return NULL;
}

static void closing_main_wakes_a_waiting_secondary(void **state)
{
    (void)state;
    uint8_t data[1] = {0};
    source src;
    source_init(&src, data, 1, 1);
    goio_io_reader *m, *s;
    make_tee(&src, 100, &m, &s);
    drain d = {s, 0, GOIO_BUF_INIT, 1, NULL, 0, NULL, false};
    pthread_t th;
    pthread_create(&th, NULL, read_one, &d); /* nothing to read yet */
    /* Blocked: asleep on the tee's condition variable. */
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&d.tid) &&
                                    goio_test_thread_waits(atomic_load(&d.tid)),
                                5000));
    assert_false(atomic_load(&d.done));
    assert_ok(goio_io_reader_close(m));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&d.done), 5000)); /* no hang */
    pthread_join(th, NULL);
    assert_int_equal(d.rc, GOIO_EEARLYCLOSE);
    assert_ok(goio_io_reader_close(s));
}

static void closing_secondary_wakes_a_blocked_main(void **state)
{
    (void)state;
    size_t len = 1 << 20;
    uint8_t *data = pattern(len, 5);
    source src;
    source_init(&src, data, len, 4096);
    goio_io_reader *m, *s;
    make_tee(&src, 16, &m, &s);
    /* Main alone on a thread: its first read fills the 16 bytes of buffer
     * and waits for room that only secondary can make. */
    drain dm = {m, 4096, GOIO_BUF_INIT, -1, NULL, 0, NULL, false};
    pthread_t th;
    pthread_create(&th, NULL, drain_all, &dm);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&src.off) > 0, 5000));
    /* Blocked: asleep on the tee's condition variable. */
    assert_true(GOIO_WAIT_UNTIL(
        atomic_load(&dm.tid) && goio_test_thread_waits(atomic_load(&dm.tid)),
        5000));
    assert_false(atomic_load(&dm.done));
    assert_ok(goio_io_reader_close(s));
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&dm.done), 5000)); /* no hang */
    pthread_join(th, NULL);
    assert_int_equal(dm.rc, 0);
    assert_int_equal(dm.out.len, len);
    assert_memory_equal(dm.out.data, data, len);
    assert_ok(goio_io_reader_close(m));
    goio_buf_deinit(&dm.out);
    goio_free(data);
}

static void closing_secondary_early_leaves_main_alone(void **state)
{
    (void)state;
    size_t len = 1 << 20;
    uint8_t *data = pattern(len, 4);
    source src;
    source_init(&src, data, len, 4096);
    goio_io_reader *m, *s;
    make_tee(&src, 16, &m, &s); /* tiny buffer: main would block */
    uint8_t buf[8];
    assert_int_equal(goio_io_read(m, buf, 8), 8);
    assert_int_equal(goio_io_read(s, buf, 8), 8);
    assert_ok(goio_io_reader_close(s));
    goio_buf a = GOIO_BUF_INIT;
    assert_ok(goio_io_read_all(m, &a, 0)); /* never blocks on the closed side */
    assert_int_equal(a.len, len - 8);
    assert_memory_equal(a.data, data + 8, len - 8);
    assert_ok(goio_io_reader_close(m));
    goio_buf_deinit(&a);
    goio_free(data);
}

static void bad_arguments(void **state)
{
    (void)state;
    goio_io_reader *m = (goio_io_reader *)1, *s = (goio_io_reader *)1;
    assert_goio(GOIO_EINVAL, goio_io_tee_new(NULL, NULL, &m, &s));
    assert_null(m);
    assert_null(s);
    source src;
    source_init(&src, (const uint8_t *)"x", 1, 1);
    goio_io_tee_config cfg = {0};
    assert_goio(GOIO_EINVAL, goio_io_tee_new(&src.base, &cfg, &m, &s));
    assert_goio(GOIO_EINVAL, goio_io_tee_new(&src.base, NULL, NULL, &s));
    goio_io_tee_config_init(NULL);
}

static int tee_op(void *arg)
{
    source *src = arg;
    goio_io_reader *m, *s;
    int rc = goio_io_tee_new(&src->base, NULL, &m, &s);
    if (rc)
        return rc;
    goio_io_reader_close(m);
    goio_io_reader_close(s);
    return 0;
}

static void allocation_failures_are_enomem(void **state)
{
    (void)state;
    source src;
    source_init(&src, (const uint8_t *)"x", 1, 1);
    assert_true(goio_test_alloc_torture(tee_op, NULL, &src) > 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_readers_see_the_same_bytes),
        cmocka_unit_test(eof_reaches_secondary_after_it_drains),
        cmocka_unit_test(errors_reach_secondary_after_the_bytes),
        cmocka_unit_test(closing_main_early_fails_secondary),
        cmocka_unit_test(closing_main_wakes_a_waiting_secondary),
        cmocka_unit_test(closing_secondary_wakes_a_blocked_main),
        cmocka_unit_test(closing_secondary_early_leaves_main_alone),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(allocation_failures_are_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
