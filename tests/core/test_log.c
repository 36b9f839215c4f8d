/* SPDX-License-Identifier: MIT */
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int count;
    goio_log_record last;
    char message[512], code[64], key[64], category[64];
} captured;

static void capture_sink(const goio_log_record *rec, void *data)
{
    captured *c = data;
    c->count++;
    c->last = *rec;
    snprintf(c->message, sizeof c->message, "%s", rec->message);
    snprintf(c->code, sizeof c->code, "%s", rec->code ? rec->code : "");
    snprintf(c->key, sizeof c->key, "%s", rec->key ? rec->key : "");
    snprintf(c->category, sizeof c->category, "%s",
             rec->category ? rec->category : "");
}

static int teardown(void **state)
{
    (void)state;
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    goio_log_set_level(GOIO_LOG_WARN);
    assert_ok(goio_log_config_set(NULL));
    return 0;
}

static void sink_gets_every_field(void **state)
{
    (void)state;
    captured c = {0};
    goio_log_set_sink(capture_sink, &c);
    goio_log(GOIO_LOG_ERROR, "cache", "used_stale_cache", "k1", GOIO_EFETCH,
             "served %d stale", 3);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.last.level, GOIO_LOG_ERROR);
    assert_string_equal(c.category, "cache");
    assert_string_equal(c.code, "used_stale_cache");
    assert_string_equal(c.key, "k1");
    assert_int_equal(c.last.error, GOIO_EFETCH);
    assert_string_equal(c.message, "served 3 stale");
}

static void level_filters_and_null_sink_silences(void **state)
{
    (void)state;
    captured c = {0};
    goio_log_set_sink(capture_sink, &c);
    goio_log(GOIO_LOG_INFO, "x", NULL, NULL, 0, "below warn");
    assert_int_equal(c.count, 0);
    assert_ok(goio_log_set_level(GOIO_LOG_DEBUG));
    assert_true(goio_log_enabled(GOIO_LOG_DEBUG));
    goio_log(GOIO_LOG_DEBUG, "x", NULL, NULL, 0, "now delivered");
    assert_int_equal(c.count, 1);
    goio_log_set_sink(NULL, NULL);
    goio_log(GOIO_LOG_ERROR, "x", NULL, NULL, 0, "silenced");
    assert_int_equal(c.count, 1);
    assert_goio(GOIO_EINVAL, goio_log_set_level((goio_log_level)42));
    assert_ok(goio_log_set_level(GOIO_LOG_OFF));
    assert_false(goio_log_enabled(GOIO_LOG_ERROR));
}

static void logfmt_quotes_and_escapes(void **state)
{
    (void)state;
    goio_log_record rec = {GOIO_LOG_WARN, "redis",     "cmd_error",
                           "a key=\"x\"", GOIO_EPROTO, "line1\nline2"};
    char line[256];
    size_t n = goio_log_format(&rec, line, sizeof line);
    assert_int_equal(n, strlen(line));
    assert_string_equal(line, "level=warn category=redis code=cmd_error "
                              "key=\"a key=\\\"x\\\"\" error=GOIO_EPROTO "
                              "msg=\"line1\\nline2\"");
    char small[8];
    size_t need = goio_log_format(&rec, small, sizeof small);
    assert_int_equal(need, n);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(goio_log_format(NULL, line, sizeof line), 0);
    assert_int_equal(goio_log_format(&rec, NULL, 0), n);
}

static void default_sink_writes_stderr(void **state)
{
    (void)state;
    char path[] = "/tmp/goio-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    goio_log(GOIO_LOG_WARN, "core", "probe", NULL, 0, "hello");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t len;
    char *text = (char *)goio_test_read_file(path, &len);
    unlink(path);
    close(fd);
    assert_non_null(text);
    assert_string_equal(text,
                        "level=warn category=core code=probe msg=hello\n");
    goio_free(text);
}

static void count_sink(const goio_log_record *rec, void *data)
{
    (void)rec;
    __atomic_fetch_add((int *)data, 1, __ATOMIC_RELAXED);
}

static void *log_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        goio_log(GOIO_LOG_ERROR, "t", NULL, NULL, 0, "%d", i);
    return NULL;
}

static void concurrent_logging_reaches_sink(void **state)
{
    (void)state;
    int n = 0;
    goio_log_config cfg;
    goio_log_config_init(&cfg);
    cfg.every_record = true;
    assert_ok(goio_log_config_set(&cfg));
    goio_log_set_sink(count_sink, &n);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, log_many, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(__atomic_load_n(&n, __ATOMIC_RELAXED), 4000);
}

/* ---- rate limit ---- */

/* Every record a sink saw, copied, in order (thread-safe). */
#define LOG_MAX 8192
typedef struct {
    goio_log_level level;
    int error;
    char category[32], code[64], key[64], message[256];
} logged;

typedef struct {
    pthread_mutex_t lock;
    int count;
    logged recs[LOG_MAX];
} recorder;

static recorder *recorder_new(void)
{
    recorder *r = calloc(1, sizeof *r);
    assert_non_null(r);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void recorder_free(recorder *r)
{
    goio_log_set_sink(goio_log_stderr_sink, NULL);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void record_sink(const goio_log_record *rec, void *data)
{
    recorder *r = data;
    pthread_mutex_lock(&r->lock);
    if (r->count < LOG_MAX) {
        logged *l = &r->recs[r->count];
        l->level = rec->level;
        l->error = rec->error;
        snprintf(l->category, sizeof l->category, "%s",
                 rec->category ? rec->category : "(null)");
        snprintf(l->code, sizeof l->code, "%s",
                 rec->code ? rec->code : "(null)");
        snprintf(l->key, sizeof l->key, "%s", rec->key ? rec->key : "(null)");
        snprintf(l->message, sizeof l->message, "%s", rec->message);
    }
    r->count++;
    pthread_mutex_unlock(&r->lock);
}

static int recorder_count(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    int n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* How many records of (category, code) the sink saw. */
static int count_of(recorder *r, const char *category, const char *code)
{
    int n = 0;
    for (int i = 0; i < r->count && i < LOG_MAX; i++)
        if (!strcmp(r->recs[i].category, category) &&
            !strcmp(r->recs[i].code, code))
            n++;
    return n;
}

/* Sum of N over the summaries "N records ..." about (category, code). */
static long long suppressed_of(recorder *r, const char *category,
                               const char *code)
{
    long long n = 0;
    for (int i = 0; i < r->count && i < LOG_MAX; i++)
        if (!strcmp(r->recs[i].category, category) &&
            !strcmp(r->recs[i].code, "log_suppressed") &&
            !strcmp(r->recs[i].key, code))
            n += atoll(r->recs[i].message);
    return n;
}

static _Atomic int64_t fake_now;

static int64_t fake_clock(void *data)
{
    return __atomic_load_n((int64_t *)data, __ATOMIC_RELAXED);
}

static void set_fake_now(int64_t ms)
{
    __atomic_store_n((int64_t *)&fake_now, ms, __ATOMIC_RELAXED);
}

/* limit records per interval_ms on the fake clock, which starts at 0. */
static void limit_with_fake_clock(uint32_t limit, int64_t interval_ms)
{
    set_fake_now(0);
    goio_log_config cfg;
    goio_log_config_init(&cfg);
    cfg.limit = limit;
    cfg.interval_ms = interval_ms;
    cfg.clock_fn = fake_clock;
    cfg.clock_data = (void *)&fake_now;
    assert_ok(goio_log_config_set(&cfg));
}

static void config_defaults_and_validation(void **state)
{
    (void)state;
    goio_log_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    goio_log_config_init(&cfg);
    assert_int_equal(cfg.limit, 10);
    assert_int_equal(cfg.interval_ms, 1000);
    assert_false(cfg.every_record);
    assert_null(cfg.clock_fn);
    assert_null(cfg.clock_data);
    goio_log_config_init(NULL);

    goio_log_config got;
    assert_ok(goio_log_config_get(&got));
    assert_int_equal(got.limit, 10);
    assert_int_equal(got.interval_ms, 1000);
    assert_goio(GOIO_EINVAL, goio_log_config_get(NULL));

    cfg.limit = 0;
    assert_goio(GOIO_EINVAL, goio_log_config_set(&cfg));
    cfg.limit = 1000001;
    assert_goio(GOIO_EINVAL, goio_log_config_set(&cfg));
    cfg.limit = 5;
    cfg.interval_ms = 0;
    assert_goio(GOIO_EINVAL, goio_log_config_set(&cfg));
    cfg.interval_ms = 24LL * 3600 * 1000 + 1;
    assert_goio(GOIO_EINVAL, goio_log_config_set(&cfg));
    /* A refused config changes nothing. */
    assert_ok(goio_log_config_get(&got));
    assert_int_equal(got.limit, 10);

    cfg.interval_ms = 250;
    cfg.every_record = true;
    cfg.clock_fn = fake_clock;
    cfg.clock_data = (void *)&fake_now;
    assert_ok(goio_log_config_set(&cfg));
    assert_ok(goio_log_config_get(&got));
    assert_int_equal(got.limit, 5);
    assert_int_equal(got.interval_ms, 250);
    assert_true(got.every_record);
    assert_ptr_equal(got.clock_fn, fake_clock);
    assert_ptr_equal(got.clock_data, (void *)&fake_now);

    assert_ok(goio_log_config_set(NULL));
    assert_ok(goio_log_config_get(&got));
    assert_int_equal(got.limit, 10);
    assert_int_equal(got.interval_ms, 1000);
    assert_false(got.every_record);
    assert_null(got.clock_fn);
}

static void get_level_returns_what_was_set(void **state)
{
    (void)state;
    assert_int_equal(goio_log_get_level(), GOIO_LOG_WARN);
    for (int l = GOIO_LOG_DEBUG; l <= GOIO_LOG_OFF; l++) {
        assert_ok(goio_log_set_level((goio_log_level)l));
        assert_int_equal(goio_log_get_level(), l);
    }
    assert_goio(GOIO_EINVAL, goio_log_set_level((goio_log_level)-1));
    assert_int_equal(goio_log_get_level(), GOIO_LOG_OFF);
}

static void limit_per_pair_then_one_summary(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(3, 100);
    goio_log_set_sink(record_sink, r);
    for (int i = 0; i < 10; i++) {
        goio_log(GOIO_LOG_WARN, "rl_a", "x", "k", GOIO_EIO, "a.x %d", i);
        goio_log(GOIO_LOG_ERROR, "rl_a", "y", NULL, 0, "a.y %d", i);
        goio_log(GOIO_LOG_WARN, "rl_b", "x", NULL, 0, "b.x %d", i);
    }
    /* Each pair on its own budget; the first three of each pass whole. */
    assert_int_equal(r->count, 9);
    assert_int_equal(count_of(r, "rl_a", "x"), 3);
    assert_int_equal(count_of(r, "rl_a", "y"), 3);
    assert_int_equal(count_of(r, "rl_b", "x"), 3);
    assert_string_equal(r->recs[0].message, "a.x 0");
    assert_string_equal(r->recs[0].key, "k");
    assert_int_equal(r->recs[0].error, GOIO_EIO);
    assert_string_equal(r->recs[8].message, "b.x 2");

    /* Still inside the window: nothing more, no summary yet. */
    set_fake_now(99);
    goio_log(GOIO_LOG_WARN, "rl_a", "x", NULL, 0, "late");
    assert_int_equal(r->count, 9);

    /* The window is over: the pair's next record brings the summary of
     * what it suppressed (7 + the late one), then itself. */
    set_fake_now(100);
    goio_log(GOIO_LOG_WARN, "rl_a", "x", NULL, 0, "next window");
    int first = 9;
    assert_true(r->count >= 11);
    logged *sum = &r->recs[first];
    assert_string_equal(sum->category, "rl_a");
    assert_string_equal(sum->code, "log_suppressed");
    assert_string_equal(sum->key, "x");
    assert_int_equal(sum->level, GOIO_LOG_WARN);
    assert_int_equal(atoi(sum->message), 8);
    assert_non_null(strstr(sum->message, "records suppressed"));
    /* That record also swept the other pairs whose window ended. */
    assert_int_equal(r->count, 13);
    assert_int_equal(suppressed_of(r, "rl_a", "y"), 7);
    assert_int_equal(suppressed_of(r, "rl_b", "x"), 7);
    for (int i = first; i < r->count; i++)
        if (!strcmp(r->recs[i].key, "y"))
            assert_int_equal(r->recs[i].level, GOIO_LOG_ERROR);
    assert_string_equal(r->recs[r->count - 1].message, "next window");

    /* A new window, a fresh budget of 3 (one used above), and the
     * summary was reported once only. */
    goio_log(GOIO_LOG_WARN, "rl_a", "x", NULL, 0, "2");
    goio_log(GOIO_LOG_WARN, "rl_a", "x", NULL, 0, "3");
    goio_log(GOIO_LOG_WARN, "rl_a", "x", NULL, 0, "4 suppressed");
    assert_int_equal(r->count, 15);
    goio_log_flush();
    assert_int_equal(r->count, 16);
    assert_int_equal(suppressed_of(r, "rl_a", "x"), 9);
    goio_log_flush();
    assert_int_equal(r->count, 16);
    recorder_free(r);
}

static void summary_carries_the_highest_level(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(1, 1000);
    goio_log_set_sink(record_sink, r);
    goio_log(GOIO_LOG_WARN, "rl_lvl", "c", NULL, 0, "passes");
    goio_log(GOIO_LOG_WARN, "rl_lvl", "c", NULL, 0, "suppressed");
    goio_log(GOIO_LOG_ERROR, "rl_lvl", "c", NULL, 0, "suppressed");
    goio_log(GOIO_LOG_WARN, "rl_lvl", "c", NULL, 0, "suppressed");
    goio_log_flush();
    assert_int_equal(r->count, 2);
    assert_string_equal(r->recs[1].code, "log_suppressed");
    assert_int_equal(r->recs[1].level, GOIO_LOG_ERROR);
    assert_int_equal(atoi(r->recs[1].message), 3);
    recorder_free(r);
}

static void filtered_records_use_no_budget(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(2, 1000);
    goio_log_set_sink(record_sink, r);
    for (int i = 0; i < 50; i++)
        goio_log(GOIO_LOG_DEBUG, "rl_f", "c", NULL, 0, "below the level");
    goio_log(GOIO_LOG_WARN, "rl_f", "c", NULL, 0, "1");
    goio_log(GOIO_LOG_WARN, "rl_f", "c", NULL, 0, "2");
    goio_log_flush();
    assert_int_equal(r->count, 2);
    /* NULL category and code are a pair like any other. */
    for (int i = 0; i < 5; i++)
        goio_log(GOIO_LOG_WARN, NULL, NULL, NULL, 0, "anonymous");
    assert_int_equal(r->count, 4);
    goio_log_flush();
    assert_int_equal(r->count, 5);
    assert_string_equal(r->recs[4].category, "(null)");
    assert_string_equal(r->recs[4].code, "log_suppressed");
    assert_int_equal(atoi(r->recs[4].message), 3);
    recorder_free(r);
}

static void every_record_setting_delivers_all(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(1, 1000);
    goio_log_config cfg;
    assert_ok(goio_log_config_get(&cfg));
    cfg.every_record = true;
    assert_ok(goio_log_config_set(&cfg));
    goio_log_set_sink(record_sink, r);
    for (int i = 0; i < 500; i++)
        goio_log(GOIO_LOG_WARN, "rl_all", "c", NULL, 0, "%d", i);
    goio_log_flush();
    assert_int_equal(r->count, 500);
    assert_int_equal(count_of(r, "rl_all", "log_suppressed"), 0);
    recorder_free(r);
}

static void config_set_reports_what_old_settings_suppressed(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(1, 1000);
    goio_log_set_sink(record_sink, r);
    for (int i = 0; i < 4; i++)
        goio_log(GOIO_LOG_WARN, "rl_cfg", "c", NULL, 0, "%d", i);
    assert_int_equal(r->count, 1);
    goio_log_config cfg;
    goio_log_config_init(&cfg);
    cfg.every_record = true;
    assert_ok(goio_log_config_set(&cfg));
    assert_int_equal(r->count, 2);
    assert_int_equal(suppressed_of(r, "rl_cfg", "c"), 3);
    recorder_free(r);
}

/* The default settings on the real clock: 10 per second. */
static void default_limit_on_the_real_clock(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    assert_ok(goio_log_config_set(NULL));
    goio_log_set_sink(record_sink, r);
    int64_t start = goio_now_mono_ms();
    for (int i = 0; i < 100; i++)
        goio_log(GOIO_LOG_WARN, "rl_real", "c", NULL, 0, "%d", i);
    /* A window is a second long: unless this machine stalled for that
     * long, exactly 10 passed. */
    if (goio_now_mono_ms() - start < 900)
        assert_int_equal(recorder_count(r), 10);
    /* Probe once a millisecond until the next window opens and brings the
     * summary: not before a second (less the coarse clock's few ms). */
    int probes = 0;
    int64_t end = start + 3000;
    while (suppressed_of(r, "rl_real", "c") == 0 && goio_now_mono_ms() < end) {
        goio_log(GOIO_LOG_WARN, "rl_real", "c", NULL, 0, "probe");
        probes++;
        goio_test_sleep_ms(1);
    }
    assert_true(suppressed_of(r, "rl_real", "c") > 0);
    assert_true(goio_now_mono_ms() - start >= 1000 - 20);
    goio_log_flush();
    assert_int_equal(count_of(r, "rl_real", "c") +
                         suppressed_of(r, "rl_real", "c"),
                     100 + probes);
    recorder_free(r);
}

typedef struct {
    int records;
    int id;
} flood_arg;

static void *flood(void *arg)
{
    flood_arg *a = arg;
    for (int i = 0; i < a->records; i++)
        goio_log(GOIO_LOG_WARN, "rl_mt", "c", NULL, 0, "t%d %d", a->id, i);
    return NULL;
}

/* 4 threads flood one pair in one window: exactly `limit` pass and the
 * summary counts every other record. */
static void concurrent_flood_is_exact(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(10, 1000);
    goio_log_set_sink(record_sink, r);
    pthread_t t[4];
    flood_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (flood_arg){2000, i};
        pthread_create(&t[i], NULL, flood, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(recorder_count(r), 10);
    goio_log_flush();
    assert_int_equal(recorder_count(r), 11);
    assert_int_equal(suppressed_of(r, "rl_mt", "c"), 8000 - 10);
    recorder_free(r);
}

/* Threads flood while the clock moves through many windows: no record is
 * lost or counted twice (passed + reported as suppressed == logged), and
 * no window passes more than `limit`. */
static void *advance_clock(void *arg)
{
    bool *stop = arg;
    int64_t now = 0;
    while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
        now += 7;
        set_fake_now(now);
        goio_test_sleep_ms(1);
    }
    return NULL;
}

static void flood_across_windows_conserves_records(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(5, 20);
    goio_log_set_sink(record_sink, r);
    bool stop = false;
    pthread_t clk;
    pthread_create(&clk, NULL, advance_clock, &stop);
    pthread_t t[4];
    flood_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (flood_arg){20000, i};
        pthread_create(&t[i], NULL, flood, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    __atomic_store_n(&stop, true, __ATOMIC_RELEASE);
    pthread_join(clk, NULL);
    goio_log_flush();
    int passed = count_of(r, "rl_mt", "c");
    long long suppressed = suppressed_of(r, "rl_mt", "c");
    assert_true(r->count < LOG_MAX);
    assert_int_equal(passed + suppressed, 80000);
    /* At most 5 per window; the clock moved at most ~1 window per ms. */
    int64_t windows = fake_clock((void *)&fake_now) / 20 + 2;
    assert_true(passed <= 5 * windows);
    assert_true(passed >= 5);
    recorder_free(r);
}

/* More pairs than the table holds: the rest share one budget, reported as
 * category "core". Last test: it fills the table for the process. */
static void pairs_beyond_the_table_share_one_budget(void **state)
{
    (void)state;
    recorder *r = recorder_new();
    limit_with_fake_clock(3, 1000);
    goio_log_set_sink(record_sink, r);
    enum { PAIRS = 2000 };
    for (int i = 0; i < PAIRS; i++) {
        char code[32];
        snprintf(code, sizeof code, "code_%d", i);
        goio_log(GOIO_LOG_WARN, "rl_many", code, NULL, 0, "once");
    }
    int passed = r->count;
    assert_true(passed <= 512 + 3);
    assert_true(passed >= 3);
    assert_true(passed < PAIRS);
    goio_log_flush();
    long long overflow = 0;
    int summaries = 0;
    for (int i = passed; i < r->count; i++) {
        assert_string_equal(r->recs[i].code, "log_suppressed");
        assert_string_equal(r->recs[i].category, "core");
        assert_string_equal(r->recs[i].key, "(null)");
        overflow += atoll(r->recs[i].message);
        summaries++;
    }
    assert_int_equal(summaries, 1);
    assert_int_equal(passed + overflow, PAIRS);
    recorder_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(sink_gets_every_field, teardown),
        cmocka_unit_test_teardown(level_filters_and_null_sink_silences,
                                  teardown),
        cmocka_unit_test_teardown(logfmt_quotes_and_escapes, teardown),
        cmocka_unit_test_teardown(default_sink_writes_stderr, teardown),
        cmocka_unit_test_teardown(concurrent_logging_reaches_sink, teardown),
        cmocka_unit_test_teardown(config_defaults_and_validation, teardown),
        cmocka_unit_test_teardown(get_level_returns_what_was_set, teardown),
        cmocka_unit_test_teardown(limit_per_pair_then_one_summary, teardown),
        cmocka_unit_test_teardown(summary_carries_the_highest_level, teardown),
        cmocka_unit_test_teardown(filtered_records_use_no_budget, teardown),
        cmocka_unit_test_teardown(every_record_setting_delivers_all, teardown),
        cmocka_unit_test_teardown(
            config_set_reports_what_old_settings_suppressed, teardown),
        cmocka_unit_test_teardown(default_limit_on_the_real_clock, teardown),
        cmocka_unit_test_teardown(concurrent_flood_is_exact, teardown),
        cmocka_unit_test_teardown(flood_across_windows_conserves_records,
                                  teardown),
        cmocka_unit_test_teardown(pairs_beyond_the_table_share_one_budget,
                                  teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
