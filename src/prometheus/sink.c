/* SPDX-License-Identifier: MIT */
/*
 * The collector sink: what collectors add during a scrape, kept until the
 * scrape has merged it with the registered families.
 */
#include "sink.h"

#include <math.h>
#include <stdlib.h>

static void sample_free(goio__prom_csample *s)
{
    goio_free(s->lbl);
    goio_free(s->upper);
    goio_free(s->cum);
}

static void cfam_free(goio__prom_cfam *f)
{
    for (size_t i = 0; i < f->n; i++)
        sample_free(&f->samples[i]);
    goio_free(f->samples);
    goio_free(f->name);
    goio_free(f->help);
    goio__prom_plan_free(&f->plan);
    memset(f, 0, sizeof *f);
}

void goio__prom_sink_drop_from(goio_prom_sink *s, size_t mark)
{
    while (s->n > mark)
        cfam_free(&s->fams[--s->n]);
    s->cur = -1;
}

void goio__prom_sink_free(goio_prom_sink *s)
{
    goio__prom_sink_drop_from(s, 0);
    goio_free(s->fams);
    memset(s, 0, sizeof *s);
}

/* Records a failure; ENOMEM also fails the scrape (sticky). */
static int fail(goio_prom_sink *s, int rc)
{
    if (rc == GOIO_ENOMEM)
        s->oom = true;
    return rc;
}

static int family_check(goio_prom_type type, const char *name, const char *help)
{
    if (type != GOIO_PROM_COUNTER && type != GOIO_PROM_GAUGE &&
        type != GOIO_PROM_HISTOGRAM && type != GOIO_PROM_UNTYPED)
        return GOIO_EINVAL;
    if (!goio__prom_valid_metric_name(name))
        return GOIO_EINVAL;
    if (help && !goio__prom_valid_utf8(help, strlen(help)))
        return GOIO_EINVAL;
    return 0;
}

static int family_fill(goio__prom_cfam *f, goio_prom_type type,
                       const char *name, const char *help,
                       const char *const *label_names, size_t label_count)
{
    f->type = type;
    if (!(f->name = goio_strdup(name)))
        return GOIO_ENOMEM;
    if (help && *help && !(f->help = goio_strdup(help)))
        return GOIO_ENOMEM;
    return goio__prom_plan_build(&f->plan, label_names, label_count, NULL, 0,
                                 type == GOIO_PROM_HISTOGRAM);
}

goio_ctx *goio_prom_sink_ctx(const goio_prom_sink *sink)
{
    return sink ? sink->ctx : NULL;
}

int goio_prom_sink_family(goio_prom_sink *s, goio_prom_type type,
                          const char *name, const char *help,
                          const char *const *label_names, size_t label_count)
{
    if (!s)
        return GOIO_EINVAL;
    s->cur = -1;
    int rc = family_check(type, name, help);
    if (rc)
        return rc;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        goio__prom_cfam *fams = goio_reallocarray(s->fams, cap, sizeof *fams);
        if (!fams)
            return fail(s, GOIO_ENOMEM);
        s->fams = fams;
        s->cap = cap;
    }
    goio__prom_cfam *f = &s->fams[s->n];
    memset(f, 0, sizeof *f);
    f->order = s->n;
    rc = family_fill(f, type, name, help, label_names, label_count);
    if (rc) {
        cfam_free(f);
        return fail(s, rc);
    }
    s->cur = (long)s->n++;
    return 0;
}

/* Validates the values and renders the sample's label pairs. */
static int sample_labels(goio__prom_cfam *f, const char *const *vals,
                         goio__prom_csample *out)
{
    uint32_t lens[GOIO_PROM_MAX_LABELS];
    if (f->plan.nvars && !vals)
        return GOIO_EINVAL;
    for (size_t i = 0; i < f->plan.nvars; i++) {
        if (!vals[i])
            return GOIO_EINVAL;
        size_t len = strlen(vals[i]);
        if (len > UINT32_MAX / 2 || !goio__prom_valid_utf8(vals[i], len))
            return GOIO_EINVAL;
        lens[i] = (uint32_t)len;
    }
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio__prom_plan_render(&f->plan, vals, lens, &b);
    return goio__prom_buf_str(&b, rc, &out->lbl, &out->lbl_len);
}

static int push_sample(goio_prom_sink *s, goio__prom_cfam *f,
                       goio__prom_csample *smp)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        goio__prom_csample *a = goio_reallocarray(f->samples, cap, sizeof *a);
        if (!a) {
            sample_free(smp);
            return fail(s, GOIO_ENOMEM);
        }
        f->samples = a;
        f->cap = cap;
    }
    smp->order = f->n;
    f->samples[f->n++] = *smp;
    return 0;
}

static goio__prom_cfam *current(goio_prom_sink *s)
{
    return s && s->cur >= 0 ? &s->fams[s->cur] : NULL;
}

int goio_prom_sink_value(goio_prom_sink *s, const char *const *label_values,
                         double value)
{
    goio__prom_cfam *f = current(s);
    if (!f || f->type == GOIO_PROM_HISTOGRAM)
        return GOIO_EINVAL;
    if (f->type == GOIO_PROM_COUNTER && !(value >= 0))
        return GOIO_EINVAL;
    goio__prom_csample smp = {.value = value};
    int rc = sample_labels(f, label_values, &smp);
    if (rc)
        return fail(s, rc);
    return push_sample(s, f, &smp);
}

static int check_histogram(const double *upper, const uint64_t *cum, size_t n,
                           uint64_t count, double sum)
{
    if (n && (!upper || !cum))
        return GOIO_EINVAL;
    if (n && isinf(upper[n - 1]) && upper[n - 1] > 0)
        n--; /* an explicit +Inf bucket must agree with count */
    for (size_t i = 0; i < n; i++) {
        if (isnan(upper[i]) || (isinf(upper[i]) && upper[i] > 0))
            return GOIO_EINVAL;
        if (i && (upper[i] <= upper[i - 1] || cum[i] < cum[i - 1]))
            return GOIO_EINVAL;
    }
    if (n && count < cum[n - 1])
        return GOIO_EINVAL;
    (void)sum; /* any value, NaN included, is a valid sum */
    return 0;
}

int goio_prom_sink_histogram(goio_prom_sink *s, const char *const *label_values,
                             const double *upper_bounds,
                             const uint64_t *cumulative_counts,
                             size_t bucket_count, uint64_t count, double sum)
{
    goio__prom_cfam *f = current(s);
    if (!f || f->type != GOIO_PROM_HISTOGRAM)
        return GOIO_EINVAL;
    size_t n = bucket_count;
    if (check_histogram(upper_bounds, cumulative_counts, n, count, sum))
        return GOIO_EINVAL;
    if (n && isinf(upper_bounds[n - 1])) {
        if (cumulative_counts[n - 1] != count)
            return GOIO_EINVAL;
        n--;
    }
    goio__prom_csample smp = {.count = count, .sum = sum, .nb = n};
    smp.upper = goio_memdup(upper_bounds ? upper_bounds : (const double *)"",
                            n * sizeof(double));
    smp.cum = goio_memdup(cumulative_counts ? cumulative_counts
                                            : (const uint64_t *)"",
                          n * sizeof(uint64_t));
    int rc = smp.upper && smp.cum ? 0 : GOIO_ENOMEM;
    if (!rc)
        rc = sample_labels(f, label_values, &smp);
    if (rc) {
        sample_free(&smp);
        return fail(s, rc);
    }
    return push_sample(s, f, &smp);
}

/* ---- ordering ------------------------------------------------------------ */

static int cfam_cmp(const void *a, const void *b)
{
    const goio__prom_cfam *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    return (x->order > y->order) - (x->order < y->order);
}

static int csample_cmp(const void *a, const void *b)
{
    const goio__prom_csample *x = a, *y = b;
    int r = strcmp(x->lbl, y->lbl);
    if (r)
        return r;
    return (x->order > y->order) - (x->order < y->order);
}

/* Sorts samples and drops those repeating a label set (first one wins). */
static void dedupe_samples(goio__prom_cfam *f)
{
    if (f->n > 1)
        qsort(f->samples, f->n, sizeof *f->samples, csample_cmp);
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (w && !strcmp(f->samples[w - 1].lbl, f->samples[i].lbl)) {
            goio_log(GOIO_LOG_WARN, GOIO__PROM_CAT, "collected_sample_dropped",
                     f->name, GOIO_EEXIST,
                     "collected sample {%s} repeats an earlier one",
                     f->samples[i].lbl);
            sample_free(&f->samples[i]);
            continue;
        }
        f->samples[w++] = f->samples[i];
    }
    f->n = w;
}

void goio__prom_sink_sort(goio_prom_sink *s)
{
    if (s->n > 1)
        qsort(s->fams, s->n, sizeof *s->fams, cfam_cmp);
    for (size_t i = 0; i < s->n; i++)
        dedupe_samples(&s->fams[i]);
    s->cur = -1;
}
