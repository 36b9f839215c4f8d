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
    goio_log_set_sink(count_sink, &n);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, log_many, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(__atomic_load_n(&n, __ATOMIC_RELAXED), 4000);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
