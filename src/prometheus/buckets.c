/* SPDX-License-Identifier: MIT */
/*
 * Histogram bucket bounds: defaults, helpers, validation, and the bound
 * texts rendered once per histogram instead of once per scrape.
 */
#include "prom_int.h"

#include <math.h> /* isnan, isinf, isfinite: macros, no libm */

static const double default_buckets[GOIO_PROM_DEFAULT_BUCKET_COUNT] = {
    .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

const double *goio_prom_buckets_default(void)
{
    return default_buckets;
}

int goio_prom_buckets_linear(double start, double width, size_t count,
                             double *out)
{
    if (!out || !count || !isfinite(start) || !isfinite(width) || width <= 0)
        return GOIO_EINVAL;
    for (size_t i = 0; i < count; i++)
        out[i] = start + width * (double)i;
    return 0;
}

int goio_prom_buckets_exponential(double start, double factor, size_t count,
                                  double *out)
{
    if (!out || !count || !isfinite(start) || !isfinite(factor) || start <= 0 ||
        factor <= 1)
        return GOIO_EINVAL;
    double v = start;
    for (size_t i = 0; i < count; i++, v *= factor)
        out[i] = v;
    return 0;
}

/* f^k by repeated multiplication (k is a bucket count, so small). */
static double power(double f, size_t k)
{
    double r = 1;
    while (k--)
        r *= f;
    return r;
}

int goio_prom_buckets_exponential_range(double min, double max, size_t count,
                                        double *out)
{
    if (!out || count < 2 || !isfinite(min) || !isfinite(max) || min <= 0 ||
        max <= min)
        return GOIO_EINVAL;
    /* The factor with factor^(count-1) = max/min, by bisection: goio does
     * not link libm for one root. */
    double ratio = max / min, lo = 1, hi = ratio;
    for (int i = 0; i < 200 && lo < hi; i++) {
        double mid = lo + (hi - lo) / 2;
        if (mid == lo || mid == hi)
            break;
        if (power(mid, count - 1) < ratio)
            lo = mid;
        else
            hi = mid;
    }
    double v = min;
    for (size_t i = 0; i < count; i++, v *= hi)
        out[i] = v;
    out[count - 1] = max; /* exact, whatever the root rounded to */
    return 0;
}

void goio__prom_bounds_free(goio__prom_bounds *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->le_text && i <= b->nb; i++)
        goio_free(b->le_text[i]);
    for (size_t i = 0; b->le_om && i <= b->nb; i++)
        goio_free(b->le_om[i]);
    goio_free(b->le_text);
    goio_free(b->le_om);
    goio_free(b->upper);
    memset(b, 0, sizeof *b);
}

static int check_bounds(const double *upper, size_t *n)
{
    if (*n && isinf(upper[*n - 1]) && upper[*n - 1] > 0)
        (*n)--; /* +Inf is implied */
    for (size_t i = 0; i < *n; i++) {
        if (isnan(upper[i]) || (i && upper[i] <= upper[i - 1]))
            return GOIO_EINVAL;
        if (isinf(upper[i]) && upper[i] > 0)
            return GOIO_EINVAL; /* +Inf before the end */
    }
    return 0;
}

static int bound_texts(goio__prom_bounds *b)
{
    for (size_t i = 0; i <= b->nb; i++) {
        char tmp[40];
        double v = i < b->nb ? b->upper[i] : INFINITY;
        goio__prom_fmt_double(tmp, v, false);
        b->le_text[i] = goio_strdup(tmp);
        goio__prom_fmt_double(tmp, v, true);
        b->le_om[i] = goio_strdup(tmp);
        if (!b->le_text[i] || !b->le_om[i])
            return GOIO_ENOMEM;
    }
    return 0;
}

int goio__prom_bounds_build(goio__prom_bounds *b, const double *upper, size_t n)
{
    memset(b, 0, sizeof *b);
    if (n && !upper)
        return GOIO_EINVAL;
    if (!n) {
        upper = default_buckets;
        n = GOIO_PROM_DEFAULT_BUCKET_COUNT;
    }
    int rc = check_bounds(upper, &n);
    if (rc)
        return rc;
    b->nb = n;
    b->upper = goio_calloc(n, sizeof *b->upper);
    b->le_text = goio_calloc(n + 1, sizeof *b->le_text);
    b->le_om = goio_calloc(n + 1, sizeof *b->le_om);
    rc = b->upper && b->le_text && b->le_om ? 0 : GOIO_ENOMEM;
    if (!rc) {
        if (n)
            memcpy(b->upper, upper, n * sizeof *upper);
        rc = bound_texts(b);
    }
    if (rc)
        goio__prom_bounds_free(b);
    return rc;
}

size_t goio__prom_bucket_index(const double *upper, size_t nb, double v)
{
    if (nb <= 16) {
        size_t i = 0;
        while (i < nb && v > upper[i])
            i++;
        return i;
    }
    size_t lo = 0, hi = nb; /* first bound >= v in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (upper[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
