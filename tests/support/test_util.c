/* SPDX-License-Identifier: MIT */
#include "test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void goio_test_log_every_record(bool on)
{
    goio_log_config cfg;
    goio_log_config_get(&cfg);
    cfg.every_record = on;
    goio_log_config_set(&cfg);
}

/* Tests count log records: the sink sees every one unless a test turns
 * the rate limit back on. Runs in every test linking this file (all that
 * use GOIO_WAIT_UNTIL or any helper here). */
__attribute__((constructor)) static void log_every_record_in_tests(void)
{
    goio_test_log_every_record(true);
}

void goio_test_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

bool goio_test_wait_until(bool (*pred)(void *arg), void *arg,
                          int64_t timeout_ms)
{
    return GOIO_WAIT_UNTIL(pred(arg), timeout_ms);
}

int goio_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (!bind(fd, (struct sockaddr *)&addr, sizeof addr) &&
        !getsockname(fd, (struct sockaddr *)&addr, &len))
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

char *goio_test_mkdtemp(const char *prefix)
{
    const char *base = getenv("GOIO_TEST_TMP");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.XXXXXX", base ? base : "/tmp",
             prefix ? prefix : "goio");
    if (!mkdtemp(path))
        return NULL;
    return goio_strdup(path);
}

int goio_test_rm_rf(const char *path)
{
    if (!path || !*path || !strcmp(path, "/"))
        return -1;
    return goio_test_system("rm -rf '%s'", path);
}

int goio_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return (fclose(f) || n != len) ? -1 : 0;
}

uint8_t *goio_test_read_file(const char *path, size_t *len)
{
    goio_buf b = GOIO_BUF_INIT;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        goio_buf_append(&b, chunk, n);
    fclose(f);
    goio_buf_reserve(&b, 1);
    goio_buf_cstr(&b); /* text files can be used as strings */
    return goio_buf_detach(&b, len);
}

int goio_test_system(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

char *goio_test_capture(int *status, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    goio_buf b = GOIO_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        goio_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (status)
        *status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    goio_buf_cstr(&b);
    if (!b.data)
        return goio_strdup("");
    return (char *)goio_buf_detach(&b, NULL);
}
