/* SPDX-License-Identifier: MIT */
/*
 * What collectors add during one scrape (sink.c), read by the renderer
 * (expose.c).
 */
#ifndef GOIO_PROM_SINK_H
#define GOIO_PROM_SINK_H

#include "prom_int.h"

typedef struct goio__prom_csample {
    char *lbl; /* rendered label pairs */
    size_t lbl_len;
    size_t order; /* insertion order: ties keep the first */
    double value;
    /* histograms */
    double *upper;
    uint64_t *cum;
    size_t nb;
    uint64_t count;
    double sum;
} goio__prom_csample;

typedef struct goio__prom_cfam {
    goio_prom_type type;
    char *name;
    char *help;
    goio__prom_plan plan;
    goio__prom_csample *samples;
    size_t n, cap;
    size_t order;
} goio__prom_cfam;

struct goio_prom_sink {
    goio__prom_cfam *fams;
    size_t n, cap;
    long cur;      /* the family samples go to, -1 for none */
    bool oom;      /* an allocation failed: the scrape fails */
    goio_ctx *ctx; /* the scrape's, for collectors (goio_prom_sink_ctx) */
};

/* Drops families from index mark on (a failed collector's output). */
void goio__prom_sink_drop_from(goio_prom_sink *s, size_t mark);
void goio__prom_sink_free(goio_prom_sink *s);
/* Sorts families by name and samples by label set, dropping repeated
 * samples. */
void goio__prom_sink_sort(goio_prom_sink *s);

#endif
