/* SPDX-License-Identifier: MIT */
/*
 * What every libFuzzer target here shares (a header: fuzz/CMakeLists.txt
 * makes every .c file in fuzz/ a target).
 */
#ifndef GOIO_FUZZ_UTIL_H
#define GOIO_FUZZ_UTIL_H

#include <goio/core.h>

#include <stdio.h>
#include <stdlib.h>

/* A property the code under test must keep; a broken one is a finding. */
static inline void fuzz_check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "property broken: %s\n", what);
        abort();
    }
}

/* Silences goio's log sink once: refusals of bad input are the common
 * case and their records would drown the fuzzer's output. */
static inline void fuzz_quiet_logs(void)
{
    static bool done;
    if (!done) {
        goio_log_set_sink(NULL, NULL);
        done = true;
    }
}

#endif
