/* SPDX-License-Identifier: MIT */
/*
 * Process metrics as client_golang's process collector exports them,
 * read from /proc at scrape time.
 */
#include "prom_int.h"

#include <dirent.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

const char goio__prom_process_kind = 'p';

/* Reads a small /proc file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return len ? 0 : GOIO_EIO;
}

typedef struct proc_stat {
    double utime, stime; /* clock ticks */
    double starttime;    /* ticks after boot */
    double vsize;        /* bytes */
    double rss;          /* pages */
} proc_stat;

/* /proc/self/stat: fields after the command name, which is in parentheses
 * and may itself hold spaces and parentheses, so parse from the last ')'. */
static int parse_stat(const char *buf, proc_stat *st)
{
    const char *p = strrchr(buf, ')');
    if (!p)
        return GOIO_EBADMSG;
    p++;
    double f[25] = {0};
    /* p starts at field 3 (state); fields 3..24 are what we need. */
    for (int field = 3; field <= 24; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return GOIO_EBADMSG;
        char *end = (char *)(uintptr_t)p;
        f[field] = field == 3 ? 0 : (double)strtoull(p, &end, 10);
        p = field == 3 ? p + 1 : end;
    }
    st->utime = f[14];
    st->stime = f[15];
    st->starttime = f[22];
    st->vsize = f[23];
    st->rss = f[24];
    return 0;
}

static double btime;
static pthread_once_t btime_once = PTHREAD_ONCE_INIT;

/* The "btime" line of /proc/stat. Read line by line: the "intr" line
 * before it can be longer than any fixed buffer. */
static void read_btime(void)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return;
    char line[256];
    bool at_start = true;
    while (fgets(line, sizeof line, f)) {
        if (at_start && !strncmp(line, "btime ", 6)) {
            btime = (double)strtoull(line + 6, NULL, 10);
            break;
        }
        at_start = strchr(line, '\n') != NULL;
    }
    fclose(f);
}

static double boot_time(void)
{
    pthread_once(&btime_once, read_btime);
    return btime;
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static double soft_limit(int resource)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl))
        return -1;
    /* client_golang reports "unlimited" as the largest uint64. */
    return rl.rlim_cur == RLIM_INFINITY ? 18446744073709551615.0
                                        : (double)rl.rlim_cur;
}

int goio__prom_collect_process(goio_prom_sink *s, void *data)
{
    (void)data;
    char buf[4096];
    proc_stat st;
    int rc = read_small("/proc/self/stat", buf, sizeof buf);
    if (!rc)
        rc = parse_stat(buf, &st);
    if (rc)
        return rc;
    double tick = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    const struct {
        goio_prom_type type;
        const char *name, *help;
        double value;
    } m[] = {
        {GOIO_PROM_COUNTER, "process_cpu_seconds_total",
         "User plus system CPU time this process has used, in seconds.",
         (st.utime + st.stime) / tick},
        {GOIO_PROM_GAUGE, "process_open_fds",
         "File descriptors this process has open.", open_fds()},
        {GOIO_PROM_GAUGE, "process_max_fds",
         "Soft limit on open file descriptors (RLIMIT_NOFILE).",
         soft_limit(RLIMIT_NOFILE)},
        {GOIO_PROM_GAUGE, "process_virtual_memory_bytes",
         "Virtual memory size of this process in bytes.", st.vsize},
        {GOIO_PROM_GAUGE, "process_virtual_memory_max_bytes",
         "Soft limit on the address space (RLIMIT_AS) in bytes.",
         soft_limit(RLIMIT_AS)},
        {GOIO_PROM_GAUGE, "process_resident_memory_bytes",
         "Resident set size of this process in bytes.", st.rss * page},
        {GOIO_PROM_GAUGE, "process_start_time_seconds",
         "When this process started, in seconds since the Unix epoch.",
         boot_time() + st.starttime / tick},
    };
    for (size_t i = 0; i < sizeof m / sizeof *m && !rc; i++) {
        rc = goio_prom_sink_family(s, m[i].type, m[i].name, m[i].help, NULL, 0);
        if (!rc)
            rc = goio_prom_sink_value(s, NULL, m[i].value);
    }
    return rc;
}
