/* SPDX-License-Identifier: MIT */
/*
 * Reference policies for the hit-ratio cases: LRU (by entries or by
 * charged bytes) and Belady's optimal (offline, from the trace's future).
 * Keys are 64-bit ids; the goio side replays the same ids as strings.
 */
#ifndef GOIO_BENCH_CACHE_SIM_H
#define GOIO_BENCH_CACHE_SIM_H

#include <stddef.h>
#include <stdint.h>

/* LRU holding at most cap_entries entries (0: no entry bound) and
 * cap_bytes charged bytes (0: no byte bound); weight(i) is access i's
 * charge (NULL: every entry weighs 1). Returns the hit ratio. */
double sim_lru(const uint64_t *keys, size_t n, size_t cap_entries,
               uint64_t cap_bytes, const uint32_t *weights);
/* Belady's optimal for an entry-bounded cache that may also decline to
 * keep a key whose next use is farthest (the true offline optimum). */
double sim_opt(const uint64_t *keys, size_t n, size_t cap_entries);

/* Loads ../shared/traces/<name>.gz ($GOIO_TRACES overrides the folder);
 * NULL (and a message) when missing. */
uint64_t *trace_load(const char *name, size_t *n);

#endif
