/* SPDX-License-Identifier: MIT */
/*
 * The public vector API: typed child lookups by values or by name/value
 * pairs, removal and reset.
 */
#include "prom_int.h"

static goio__prom_family *fam_of(goio_prom_vec *vec)
{
    return (goio__prom_family *)(void *)vec;
}

static int lookup(goio_prom_vec *vec, goio_prom_type type,
                  const char *const *values, size_t count, void **out)
{
    if (!vec || !out)
        return GOIO_EINVAL;
    goio__prom_family *f = fam_of(vec);
    if (f->type != type)
        return GOIO_ETYPE;
    goio__prom_child *c;
    int rc = goio__prom_family_get(f, values, count, &c);
    if (!rc)
        *out = c;
    return rc;
}

static int lookup_with(goio_prom_vec *vec, goio_prom_type type,
                       const goio_prom_label *labels, size_t count, void **out)
{
    const char *vals[GOIO_PROM_MAX_LABELS];
    if (!vec || !out)
        return GOIO_EINVAL;
    goio__prom_family *f = fam_of(vec);
    if (f->type != type)
        return GOIO_ETYPE;
    int rc = goio__prom_plan_order(&f->plan, labels, count, vals);
    if (rc)
        return rc;
    return lookup(vec, type, vals, count, out);
}

int goio_prom_vec_counter(goio_prom_vec *vec, const char *const *values,
                          size_t count, goio_prom_counter **out)
{
    return lookup(vec, GOIO_PROM_COUNTER, values, count, (void **)out);
}

int goio_prom_vec_gauge(goio_prom_vec *vec, const char *const *values,
                        size_t count, goio_prom_gauge **out)
{
    return lookup(vec, GOIO_PROM_GAUGE, values, count, (void **)out);
}

int goio_prom_vec_histogram(goio_prom_vec *vec, const char *const *values,
                            size_t count, goio_prom_histogram **out)
{
    return lookup(vec, GOIO_PROM_HISTOGRAM, values, count, (void **)out);
}

int goio_prom_vec_counter_with(goio_prom_vec *vec,
                               const goio_prom_label *labels, size_t count,
                               goio_prom_counter **out)
{
    return lookup_with(vec, GOIO_PROM_COUNTER, labels, count, (void **)out);
}

int goio_prom_vec_gauge_with(goio_prom_vec *vec, const goio_prom_label *labels,
                             size_t count, goio_prom_gauge **out)
{
    return lookup_with(vec, GOIO_PROM_GAUGE, labels, count, (void **)out);
}

int goio_prom_vec_histogram_with(goio_prom_vec *vec,
                                 const goio_prom_label *labels, size_t count,
                                 goio_prom_histogram **out)
{
    return lookup_with(vec, GOIO_PROM_HISTOGRAM, labels, count, (void **)out);
}

int goio_prom_vec_remove(goio_prom_vec *vec, const char *const *values,
                         size_t count)
{
    if (!vec)
        return GOIO_EINVAL;
    return goio__prom_family_remove(fam_of(vec), values, count);
}

int goio_prom_vec_remove_with(goio_prom_vec *vec, const goio_prom_label *labels,
                              size_t count)
{
    const char *vals[GOIO_PROM_MAX_LABELS];
    if (!vec)
        return GOIO_EINVAL;
    int rc = goio__prom_plan_order(&fam_of(vec)->plan, labels, count, vals);
    if (rc)
        return rc;
    return goio__prom_family_remove(fam_of(vec), vals, count);
}

int goio_prom_vec_reset(goio_prom_vec *vec)
{
    if (!vec)
        return GOIO_EINVAL;
    return goio__prom_family_reset(fam_of(vec));
}

int goio_prom_vec_len(goio_prom_vec *vec, size_t *out)
{
    if (!vec || !out)
        return GOIO_EINVAL;
    *out = goio__prom_family_len(fam_of(vec));
    return 0;
}
