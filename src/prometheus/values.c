/* SPDX-License-Identifier: MIT */
/*
 * Updates and reads on child handles. No locks: counters keep integral
 * increments in a 64-bit integer (one atomic add, as client_golang does)
 * and fractional ones in double bits updated by compare-and-swap; gauges
 * and histogram sums are double bits with compare-and-swap; bucket counts
 * are plain atomic adds. Relaxed order: each value is independent.
 */
#include "prom_int.h"

#include <math.h>

#define RELAXED memory_order_relaxed

static void add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, RELAXED);
    uint64_t want;
    do {
        want = goio__prom_double_to_bits(goio__prom_bits_to_double(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(p, &old, want, RELAXED,
                                                    RELAXED));
}

static double load_double(const _Atomic uint64_t *p)
{
    return goio__prom_bits_to_double(
        atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)p, RELAXED));
}

/* ---- counters ------------------------------------------------------------ */

int goio_prom_counter_inc(goio_prom_counter *c)
{
    if (!c)
        return GOIO_EINVAL;
    atomic_fetch_add_explicit(&goio__prom_c(c)->v0, 1, RELAXED);
    return 0;
}

int goio_prom_counter_add(goio_prom_counter *c, double v)
{
    if (!c || !(v >= 0)) /* also rejects NaN */
        return GOIO_EINVAL;
    goio__prom_child *ch = goio__prom_c(c);
    if (v < 18446744073709551616.0 && (double)(uint64_t)v == v)
        atomic_fetch_add_explicit(&ch->v0, (uint64_t)v, RELAXED);
    else
        add_double(&ch->v1, v);
    return 0;
}

int goio_prom_counter_value(const goio_prom_counter *c, double *out)
{
    if (!c || !out)
        return GOIO_EINVAL;
    goio__prom_child *ch = goio__prom_c(c);
    *out =
        (double)atomic_load_explicit(&ch->v0, RELAXED) + load_double(&ch->v1);
    return 0;
}

/* ---- gauges -------------------------------------------------------------- */

int goio_prom_gauge_set(goio_prom_gauge *g, double v)
{
    if (!g)
        return GOIO_EINVAL;
    atomic_store_explicit(&goio__prom_c(g)->v0, goio__prom_double_to_bits(v),
                          RELAXED);
    return 0;
}

int goio_prom_gauge_add(goio_prom_gauge *g, double v)
{
    if (!g)
        return GOIO_EINVAL;
    add_double(&goio__prom_c(g)->v0, v);
    return 0;
}

int goio_prom_gauge_sub(goio_prom_gauge *g, double v)
{
    return goio_prom_gauge_add(g, -v);
}

int goio_prom_gauge_inc(goio_prom_gauge *g)
{
    return goio_prom_gauge_add(g, 1);
}

int goio_prom_gauge_dec(goio_prom_gauge *g)
{
    return goio_prom_gauge_add(g, -1);
}

int goio_prom_gauge_set_to_current_time(goio_prom_gauge *g)
{
    return goio_prom_gauge_set(g, (double)goio_now_wall_ns() / 1e9);
}

int goio_prom_gauge_value(const goio_prom_gauge *g, double *out)
{
    if (!g || !out)
        return GOIO_EINVAL;
    *out = load_double(&goio__prom_c(g)->v0);
    return 0;
}

/* ---- histograms ---------------------------------------------------------- */

int goio_prom_histogram_observe(goio_prom_histogram *h, double v)
{
    if (!h || isnan(v))
        return GOIO_EINVAL;
    goio__prom_child *c = goio__prom_c(h);
    size_t i = goio__prom_bucket_index(c->upper, c->nb, v);
    atomic_fetch_add_explicit(&c->counts[i], 1, RELAXED);
    add_double(&c->v0, v);
    return 0;
}

int goio_prom_histogram_value(const goio_prom_histogram *h, uint64_t *count,
                              double *sum)
{
    if (!h)
        return GOIO_EINVAL;
    goio__prom_child *c = goio__prom_c(h);
    if (count) {
        uint64_t n = 0;
        for (size_t i = 0; i <= c->nb; i++)
            n += atomic_load_explicit(&c->counts[i], RELAXED);
        *count = n;
    }
    if (sum)
        *sum = load_double(&c->v0);
    return 0;
}

int goio_prom_histogram_bucket_count(const goio_prom_histogram *h, size_t *out)
{
    if (!h || !out)
        return GOIO_EINVAL;
    *out = goio__prom_c(h)->nb + 1;
    return 0;
}

int goio_prom_histogram_bucket(const goio_prom_histogram *h, size_t i,
                               double *upper_bound, uint64_t *cumulative)
{
    if (!h)
        return GOIO_EINVAL;
    goio__prom_child *c = goio__prom_c(h);
    if (i > c->nb)
        return GOIO_ERANGE;
    if (upper_bound)
        *upper_bound = i < c->nb ? c->upper[i] : INFINITY;
    if (cumulative) {
        uint64_t n = 0;
        for (size_t j = 0; j <= i; j++)
            n += atomic_load_explicit(&c->counts[j], RELAXED);
        *cumulative = n;
    }
    return 0;
}
