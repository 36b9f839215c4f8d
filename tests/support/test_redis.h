/* SPDX-License-Identifier: MIT */
/*
 * A real redis-server for tests, on a free loopback port and a unix socket
 * in its own temp dir, with persistence off. Stopped at exit even when a
 * test fails.
 */
#ifndef GOIO_TEST_REDIS_H
#define GOIO_TEST_REDIS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct goio_test_redis {
    int port;
    pid_t pid;
    char *dir;         /* temp dir (goio_malloc'd) */
    char *socket;      /* unix socket path inside dir */
    char endpoint[64]; /* "127.0.0.1:<port>" */
    char extra[512];   /* extra redis-server arguments it was started with */
} goio_test_redis;

/*
 * Starts redis-server. `extra_args` (may be NULL) is appended to the
 * command line, e.g. "--requirepass secret". Returns 0 when it answers
 * PING, -1 otherwise (the reason is in <dir>/redis.log).
 */
int goio_test_redis_start(goio_test_redis *r, const char *extra_args);
/* Kills it (SIGKILL: like a crash) and starts it again on the same port. */
int goio_test_redis_restart(goio_test_redis *r);
/* SIGKILL without restart; the dir stays for a later restart. */
void goio_test_redis_kill(goio_test_redis *r);
/* Stops it and removes its dir. */
void goio_test_redis_stop(goio_test_redis *r);
/* SIGSTOP / SIGCONT: a server that accepts connections but never answers. */
void goio_test_redis_pause(goio_test_redis *r);
void goio_test_redis_resume(goio_test_redis *r);

/* Runs redis-cli against it with the given arguments, returns stdout
 * (goio_malloc'd) or NULL. */
char *goio_test_redis_cli(goio_test_redis *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
