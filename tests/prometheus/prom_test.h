/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the prometheus tests: promtool, a histogram structure check
 * (promtool accepts histograms without _bucket or +Inf lines), and sample
 * lookup in an exposition.
 */
#ifndef GOIO_PROM_TEST_H
#define GOIO_PROM_TEST_H

#include "test_util.h"

#include <goio/prometheus.h>

/* Options with just a name and help (zero-filled otherwise). */
goio_prom_metric_config prom_opts(const char *name, const char *help);

/*
 * Runs `promtool check metrics` on text; returns its exit status (0 clean,
 * 3 lint warnings only, 1 parse error) and its output in *out (goio_free)
 * when out is not NULL.
 */
int prom_promtool(const char *text, char **out);

/* Asserts promtool exits 0 on text. */
void prom_assert_promtool_clean(const char *text);

/*
 * Checks every histogram in a text (or OpenMetrics) exposition: per label
 * set, _bucket lines with increasing le ending at +Inf, non-decreasing
 * cumulative counts, a _sum, and a _count equal to the +Inf bucket.
 * Returns NULL when fine, else a static message naming the problem.
 */
const char *prom_histograms_ok(const char *text);

/* The value of the sample line "<series> <value>" (series is the name
 * with its {labels} exactly as rendered); false when absent. */
bool prom_sample(const char *text, const char *series, double *value);

/* Renders a registry (text format) into a NUL-terminated string
 * (goio_free). */
char *prom_render_text(goio_prom_registry *reg, goio_prom_format fmt);

/* Decompresses a gzip stream (asserting it is one, whole); goio_free. */
char *prom_gunzip(const uint8_t *p, size_t n);

#endif
