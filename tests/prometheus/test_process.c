/* SPDX-License-Identifier: MIT */
/*
 * Process metrics in the default registry, checked against what the
 * kernel says and against changes the test makes (fds, memory, CPU).
 */
#include "prom_test.h"

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double metric(const char *name)
{
    char *text = prom_render_text(NULL, GOIO_PROM_TEXT);
    double v = -1;
    if (!prom_sample(text, name, &v))
        fail_msg("%s missing from\n%s", name, text);
    goio_free(text);
    return v;
}

static void default_registry_has_process_metrics(void **state)
{
    (void)state;
    goio_prom_registry *reg = goio_prom_registry_default();
    assert_non_null(reg);
    assert_ptr_equal(goio_prom_registry_default(), reg);
    goio_prom_registry_free(reg); /* a no-op for the default registry */
    assert_goio(GOIO_EEXIST, goio_prom_process_collector_register(NULL));
    char *text = prom_render_text(NULL, GOIO_PROM_TEXT);
    const char *names[] = {
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_max_fds gauge",
        "# TYPE process_open_fds gauge",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_start_time_seconds gauge",
        "# TYPE process_virtual_memory_bytes gauge",
        "# TYPE process_virtual_memory_max_bytes gauge",
    };
    const char *prev = text;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *at = strstr(text, names[i]);
        if (!at || at < prev)
            fail_msg("%s missing or out of order in\n%s", names[i], text);
        prev = at;
    }
    prom_assert_promtool_clean(text);
    goio_free(text);
}

static void fds_follow_opens_and_limits(void **state)
{
    (void)state;
    double before = metric("process_open_fds");
    int fds[3];
    for (int i = 0; i < 3; i++)
        assert_true((fds[i] = open("/dev/null", O_RDONLY)) >= 0);
    assert_true(metric("process_open_fds") == before + 3);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    assert_true(metric("process_open_fds") == before);

    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(metric("process_max_fds") == (double)rl.rlim_cur);
    assert_int_equal(getrlimit(RLIMIT_AS, &rl), 0);
    double as = metric("process_virtual_memory_max_bytes");
    if (rl.rlim_cur == RLIM_INFINITY)
        assert_true(as == 18446744073709551615.0);
    else
        assert_true(as == (double)rl.rlim_cur);
}

static void memory_follows_what_the_process_touches(void **state)
{
    (void)state;
    double rss = metric("process_resident_memory_bytes");
    double vsz = metric("process_virtual_memory_bytes");
    assert_true(rss > 1e6 && vsz >= rss);
    size_t n = 64u << 20;
    char *p = goio_malloc(n);
    assert_non_null(p);
    memset(p, 1, n);
    double rss2 = metric("process_resident_memory_bytes");
    double vsz2 = metric("process_virtual_memory_bytes");
    assert_true(rss2 - rss > 60e6);
    assert_true(vsz2 - vsz > 60e6);
    goio_free(p);
}

static void cpu_and_start_time(void **state)
{
    (void)state;
    double start = metric("process_start_time_seconds");
    double now = (double)time(NULL);
    /* The test process started shortly before this test ran. */
    assert_true(start <= now + 1 && start > now - 120);
    double cpu = metric("process_cpu_seconds_total");
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    volatile unsigned long spin = 0;
    do {
        for (int i = 0; i < 100000; i++)
            spin += (unsigned long)i;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) +
                 (double)(t.tv_nsec - t0.tv_nsec) / 1e9 <
             0.3);
    double cpu2 = metric("process_cpu_seconds_total");
    assert_true(cpu2 - cpu >= 0.2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_registry_has_process_metrics),
        cmocka_unit_test(fds_follow_opens_and_limits),
        cmocka_unit_test(memory_follows_what_the_process_touches),
        cmocka_unit_test(cpu_and_start_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
