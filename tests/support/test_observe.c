/* SPDX-License-Identifier: MIT */
/*
 * Observing blocked threads and unread socket bytes through /proc: the
 * code under test exposes neither, and a test must not sleep and hope.
 */
#define _GNU_SOURCE
#include "test_observe.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t goio_test_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static bool read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n > 0;
}

bool goio_test_thread_waits(pid_t tid)
{
    char path[64], stat[512], wchan[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    if (!read_small(path, stat, sizeof stat))
        return false;
    /* "tid (comm) S ...": the state follows the last ')'. */
    const char *p = strrchr(stat, ')');
    if (!p || p[1] != ' ' || p[2] != 'S')
        return false;
    snprintf(path, sizeof path, "/proc/self/task/%d/wchan", (int)tid);
    if (!read_small(path, wchan, sizeof wchan))
        return false;
    return strncmp(wchan, "futex", 5) == 0;
}

int goio_test_tcp_unread(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    if (!fgets(line, sizeof line, f)) { /* the header */
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned laddr, lport, raddr, rport, state, txq, rxq;
        if (sscanf(line, " %*d: %x:%x %x:%x %x %x:%x", &laddr, &lport, &raddr,
                   &rport, &state, &txq, &rxq) != 7)
            continue;
        /* 01 = ESTABLISHED; 127.0.0.1 reads 0100007F. */
        if (state == 1 && lport == (unsigned)port && laddr == 0x0100007Fu &&
            rxq > 0)
            n++;
    }
    fclose(f);
    return n;
}
