/* SPDX-License-Identifier: MIT */
/*
 * Runs one documentation example: docs_runner plain|redis <exe>.
 * In redis mode a private redis-server is started first
 * (tests/support/test_redis.h) and its URL passed in REDIS_URL. The
 * example must exit 0 within 60 s; its output goes to ours.
 */
#include "test_redis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int run(const char *exe)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        execl(exe, exe, (char *)NULL);
        perror("execl");
        _exit(127);
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (WIFEXITED(status)) {
                if (WEXITSTATUS(status) != 0)
                    fprintf(stderr, "docs_runner: %s exited %d\n", exe,
                            WEXITSTATUS(status));
                return WEXITSTATUS(status);
            }
            fprintf(stderr, "docs_runner: %s killed by signal %d\n", exe,
                    WTERMSIG(status));
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 60) {
            fprintf(stderr, "docs_runner: %s still running after 60 s\n", exe);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 1;
        }
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "plain") && strcmp(argv[1], "redis"))) {
        fprintf(stderr, "usage: docs_runner plain|redis <example>\n");
        return 2;
    }
    goio_test_redis redis;
    bool with_redis = strcmp(argv[1], "redis") == 0;
    if (with_redis) {
        if (goio_test_redis_start(&redis, NULL) != 0) {
            fprintf(stderr, "docs_runner: redis-server did not start\n");
            return 1;
        }
        char url[128];
        snprintf(url, sizeof url, "redis://%s", redis.endpoint);
        setenv("REDIS_URL", url, 1);
    }
    int rc = run(argv[2]);
    if (with_redis)
        goio_test_redis_stop(&redis);
    return rc;
}
