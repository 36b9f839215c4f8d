/* SPDX-License-Identifier: MIT */
/*
 * The BENCH line every goio benchmark prints, one per measured case:
 *   BENCH <case> goio=<v> anchor=<v> unit=<u> ratio=<r> [extra]
 * ratio is oriented so that > 1 means goio is better.
 */
#ifndef GOIO_BENCH_H
#define GOIO_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* higher_is_better: true for throughput (ops/s), false for costs (ns/op). */
static inline void bench_line(const char *name, double goio, double anchor,
                              const char *unit, bool higher_is_better,
                              const char *extra)
{
    double ratio = higher_is_better ? goio / anchor : anchor / goio;
    printf("BENCH %s goio=%.6g anchor=%.6g unit=%s ratio=%.3f%s%s\n", name,
           goio, anchor, unit, ratio, extra && *extra ? " " : "",
           extra ? extra : "");
    fflush(stdout);
}

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether `name` was asked for on the command line (no names: all). */
static inline bool bench_selected(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name))
            return true;
    return false;
}

/* CPU seconds (user + sys) this process has used so far. */
static inline double bench_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
