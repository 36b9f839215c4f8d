/* SPDX-License-Identifier: MIT */
#include "test_redis.h"
#include "test_proc.h"
#include "test_util.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool answers_ping(int port)
{
    int fd = goio_test_connect(port);
    if (fd < 0)
        return false;
    char reply[64] = "";
    bool ok = write(fd, "PING\r\n", 6) == 6 && read(fd, reply, 63) > 0 &&
              (!strncmp(reply, "+PONG", 5) || !strncmp(reply, "-NOAUTH", 7));
    close(fd);
    return ok;
}

static int launch(goio_test_redis *r)
{
    char port[16], log[4200], cmd[5000];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    /* Through sh so `extra` splits into arguments; exec keeps the pid. */
    snprintf(cmd, sizeof cmd,
             "exec redis-server --port %s --bind 127.0.0.1 --dir '%s' "
             "--unixsocket '%s' --save '' --appendonly no "
             "--protected-mode no %s",
             port, r->dir, r->socket, r->extra);
    char *argv[] = {"sh", "-c", cmd, NULL};
    r->pid = goio_test_spawn(argv, log);
    if (r->pid < 0)
        return -1;
    return GOIO_WAIT_UNTIL(answers_ping(r->port), 10000) ? 0 : -1;
}

int goio_test_redis_start(goio_test_redis *r, const char *extra_args)
{
    memset(r, 0, sizeof *r);
    snprintf(r->extra, sizeof r->extra, "%s", extra_args ? extra_args : "");
    r->dir = goio_test_mkdtemp("redis");
    if (!r->dir)
        return -1;
    size_t n = strlen(r->dir) + sizeof "/redis.sock";
    r->socket = goio_malloc(n);
    snprintf(r->socket, n, "%s/redis.sock", r->dir);
    /* A port picked free can be taken before redis binds it: retry. */
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = goio_test_free_port();
        snprintf(r->endpoint, sizeof r->endpoint, "127.0.0.1:%d", r->port);
        if (launch(r) == 0)
            return 0;
        goio_test_proc_signal(r->pid, SIGKILL);
    }
    return -1;
}

void goio_test_redis_kill(goio_test_redis *r)
{
    if (r->pid > 0)
        goio_test_proc_signal(r->pid, SIGKILL);
    r->pid = 0;
}

int goio_test_redis_restart(goio_test_redis *r)
{
    goio_test_redis_kill(r);
    for (int attempt = 0; attempt < 50; attempt++) {
        if (launch(r) == 0)
            return 0;
        goio_test_redis_kill(r); /* the port may linger a moment */
        goio_test_sleep_ms(100);
    }
    return -1;
}

void goio_test_redis_stop(goio_test_redis *r)
{
    goio_test_redis_kill(r);
    if (r->dir)
        goio_test_rm_rf(r->dir);
    goio_free(r->dir);
    goio_free(r->socket);
    r->dir = r->socket = NULL;
}

/* Whether the kernel shows the process stopped ('T' in /proc/PID/stat). */
static bool is_stopped(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'T';
}

/* kill() only queues the signal: a test that pauses the server and at once
 * expects no answer must wait until the kernel has actually stopped it
 * (seen under TSan: a GET answered right after the SIGSTOP). */
void goio_test_redis_pause(goio_test_redis *r)
{
    kill(r->pid, SIGSTOP);
    GOIO_WAIT_UNTIL(is_stopped(r->pid), 5000);
}
void goio_test_redis_resume(goio_test_redis *r)
{
    kill(r->pid, SIGCONT);
    GOIO_WAIT_UNTIL(!is_stopped(r->pid), 5000);
}

char *goio_test_redis_cli(goio_test_redis *r, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int status;
    char *out = goio_test_capture(&status, "redis-cli -p %d %s", r->port, args);
    if (out && status != 0) {
        goio_free(out);
        return NULL;
    }
    return out;
}
