/* SPDX-License-Identifier: MIT */
/*
 * W-TinyLFU with an adaptive window: the memory cache's eviction policy.
 * See goio/cache.h for why this policy, and memory_int.h for who calls
 * what under which lock (this file has no locks of its own).
 *
 * Segments (lists, head = newest):
 *   window    - every new key enters here; window_frac of the bounds.
 *   probation - the main area's entries not read since admission.
 *   protected - main entries read again; at most 80% of the main area.
 * An entry pushed out of the window is a candidate for the main area: if
 * there is room it moves to probation, otherwise it is compared with
 * probation's oldest entry and the one the sketch says is used less often
 * is evicted. The hill climber resizes the window from the hit ratio
 * (see climb() below).
 *
 * Recency is tracked CLOCK-style: a read only sets the entry's reference
 * bit (the first read since the policy last cleared it also feeds the
 * sketch), and the policy acts on the bit when the entry reaches the old
 * end of its segment - a referenced window or
 * protected entry goes round again, a referenced probation entry is
 * promoted to protected. That keeps list surgery and its cache misses off
 * the read path; on the trace benchmarks it closes as much of the gap to
 * the optimum as exact LRU segments do.
 */
#include "memory_int.h"

#include <stdatomic.h>
#include <string.h>

#define PROTECTED_SHARE 0.8
#define SKETCH_MIN      4096 /* counters per row: small caches need them */
/* The hill climber (fractions are of the capacity). */
#define START_WINDOW    0.01
#define MAX_WINDOW      0.99
#define START_STEP      0.2   /* after the cache fills and after a restart */
#define MIN_STEP        0.005 /* the step never decays below this */
#define PROBE           0.03  /* the window alternates base +/- PROBE */
#define REVERSE_DECAY   0.7   /* the step shrinks so when the slope turns */
#define FLAT_DECAY      0.9   /* and so when it is lost in the noise */
#define NOISE_SIGMAS    2.0   /* a slope smaller than this is noise */
#define RESTART_SHIFT   0.15  /* a hit-ratio change this large restarts */
#define SAMPLE_MIN      16384 /* accesses per sample, at least */
#define SAMPLE_SHARE    0.5   /* and at least this x the capacity, */
#define QUICK_SAMPLES   6     /* except for this many after a (re)start */

/* ---- lists --------------------------------------------------------------- */

static void list_push(mc_list *l, mc_entry *e)
{
    e->prev = NULL;
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    else
        l->tail = e;
    l->head = e;
    l->bytes += mc_charge(e);
    l->count++;
}

static void list_unlink(mc_list *l, mc_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
    l->bytes -= mc_charge(e);
    l->count--;
}

static void move_to(mc_policy *p, mc_entry *e, int seg)
{
    list_unlink(&p->seg[e->seg], e);
    e->seg = (uint8_t)seg;
    list_push(&p->seg[seg], e);
}

/* ---- count-min sketch of 4-bit counters ---------------------------------- */

/*
 * A key's block comes from the top bits of one product of its hash, its 4
 * counters from the bytes of another: row r takes word 2r or 2r+1 of the
 * block and one of that word's 16 counters. Keeping the 4 counters in one
 * cache line makes an update one miss instead of four.
 */
static inline void counter_at(const mc_sketch *s, uint64_t h, int r,
                              size_t *word, unsigned *bit)
{
    size_t block = (size_t)((h * 0x9e3779b97f4a7c15ULL) >> s->shift);
    unsigned b =
        (unsigned)(((h ^ (h >> 31)) * 0xc2b2ae3d27d4eb4fULL) >> (8 * r)) & 0xff;
    *word = block * 8 + 2 * (size_t)r + (b & 1);
    *bit = ((b >> 1) & 15) * 4;
}

int goio__mc_sketch_estimate(const mc_sketch *s, uint64_t h)
{
    int min = 15;
    for (int r = 0; r < 4; r++) {
        size_t w;
        unsigned b;
        counter_at(s, h, r, &w, &b);
        int v = (int)((s->words[w] >> b) & 15);
        min = v < min ? v : min;
    }
    return min;
}

/* Halves every counter: old accesses fade so the sketch follows changes. */
static void sketch_age(mc_sketch *s)
{
    for (size_t i = 0; i < s->width / 4; i++)
        s->words[i] = (s->words[i] >> 1) & 0x7777777777777777ULL;
    s->additions /= 2;
}

/* Conservative update: only the counters at the minimum grow, which keeps
 * collisions from inflating estimates. */
static void sketch_add(mc_sketch *s, uint64_t h)
{
    int min = goio__mc_sketch_estimate(s, h);
    if (min == 15)
        return;
    for (int r = 0; r < 4; r++) {
        size_t w;
        unsigned b;
        counter_at(s, h, r, &w, &b);
        if ((int)((s->words[w] >> b) & 15) == min)
            s->words[w] += (uint64_t)1 << b;
    }
    if (++s->additions >= s->reset_at)
        sketch_age(s);
}

/*
 * (Re)sizes the sketch for `entries`. Growing keeps the counts: a key's
 * block index gains low bits as the sketch doubles (its counters' places
 * inside the block do not depend on the size), so old block b becomes
 * blocks b x f ... b x f + f - 1 of a sketch f times as wide, each a copy
 * of it, and every key keeps its estimate. (A byte-bounded cache grows its
 * sketch several times while it fills; starting the counts over each time
 * left admission nearly blind just when the cache first filled.)
 */
static int sketch_size(mc_sketch *s, uint64_t entries)
{
    size_t width = SKETCH_MIN;
    unsigned lg = 12;
    while (width < entries && width < ((size_t)1 << 40)) {
        width *= 2;
        lg++;
    }
    /* 4 x width counters = width / 4 words = width / 32 blocks of 8. */
    void *mem = goio_calloc(width / 4 * sizeof(uint64_t) + 63, 1);
    if (!mem)
        return GOIO_ENOMEM;
    uint64_t *words = (uint64_t *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    bool keep = s->words && width > s->width;
    if (keep) {
        size_t f = width / s->width, blocks = s->width / 32;
        for (size_t b = 0; b < blocks; b++)
            for (size_t j = 0; j < f; j++)
                memcpy(&words[(b * f + j) * 8], &s->words[b * 8],
                       8 * sizeof(uint64_t));
    }
    goio_free(s->mem);
    s->mem = mem;
    s->words = words;
    s->width = width;
    s->shift = 64 - (lg - 5);
    if (!keep)
        s->additions = 0;
    s->reset_at = 10 * (uint64_t)width;
    return 0;
}

/* ---- limits and the hill climber ----------------------------------------- */

static void set_limits(mc_policy *p)
{
    double w = p->window_frac, main_share = 1.0 - w;
    p->window_max_bytes = (uint64_t)((double)p->max_bytes * w);
    p->protected_max_bytes =
        (uint64_t)((double)p->max_bytes * main_share * PROTECTED_SHARE);
    if (p->max_entries) {
        p->window_max_count = (uint64_t)((double)p->max_entries * w);
        p->protected_max_count =
            (uint64_t)((double)p->max_entries * main_share * PROTECTED_SHARE);
    } else {
        p->window_max_count = p->protected_max_count = UINT64_MAX;
    }
}

/* The most entries the bounds allow (each is charged at least the
 * overhead), or 0 when max_entries does not bind. */
static uint64_t entry_bound(uint64_t max_bytes, uint64_t max_entries)
{
    uint64_t by_bytes = max_bytes / GOIO_CACHE_ENTRY_OVERHEAD;
    return max_entries && max_entries <= by_bytes ? max_entries : 0;
}

/* The number of entries the cache holds when full, as far as known. */
static uint64_t capacity_entries(const mc_policy *p)
{
    uint64_t bound = entry_bound(p->max_bytes, p->max_entries);
    return bound ? bound : p->count;
}

/*
 * The hill climber: moves the window's share of the capacity (its base)
 * towards the higher hit ratio, measured over samples of gets.
 *
 * A workload's hit ratio drifts on its own (phases, warm-up), often by
 * more than a window change moves it, so comparing one sample with the
 * previous one mostly measures the drift. Instead the window alternates
 * between base + PROBE and base - PROBE from one sample to the next, and
 * the slope comes from three consecutive samples r0, r1, r2 taken at
 * signs -s, s, -s... : s * (r2 - 2 r1 + r0) is 4 x PROBE x the slope,
 * and any drift linear over the three samples cancels out. The base then
 * moves by `step` uphill when the slope clears the sampling noise
 * (NOISE_SIGMAS binomial standard deviations); the step shrinks when the
 * slope turns (REVERSE_DECAY) or is flat (FLAT_DECAY), and starts over at
 * START_STEP when the hit ratio jumps by RESTART_SHIFT (a new workload).
 *
 * Nothing moves until the cache first fills (no eviction, no signal);
 * then, and after each restart, QUICK_SAMPLES short samples (SAMPLE_MIN
 * gets) let the split move within a few tens of thousands of reads, later
 * ones cover at least SAMPLE_SHARE x the capacity.
 */
static void climb(mc_policy *p)
{
    uint64_t n = p->sample_hits + p->sample_misses;
    uint64_t cap = capacity_entries(p);
    double period = p->quick ? 0.0 : SAMPLE_SHARE * (double)cap;
    if (n < SAMPLE_MIN || (double)n < period)
        return;
    double rate = (double)p->sample_hits / (double)n;
    p->sample_hits = p->sample_misses = 0;
    if (!p->full)
        return;
    if (p->quick)
        p->quick--;
    if (p->samples >= 2) {
        double slope = p->sign * (rate - 2 * p->rate1 + p->rate0);
        /* The slope's variance under binomial noise: 6 r (1 - r) / n. */
        double var = 6 * rate * (1 - rate) / (double)n;
        bool clear = slope * slope > NOISE_SIGMAS * NOISE_SIGMAS * var;
        int dir = !clear ? 0 : slope > 0 ? 1 : -1;
        double shift = rate - p->rate0;
        if (shift > RESTART_SHIFT || shift < -RESTART_SHIFT) {
            p->step = START_STEP;
            p->quick = QUICK_SAMPLES;
        }
        if (dir) {
            if (p->dir && dir != p->dir)
                p->step *= REVERSE_DECAY;
            p->dir = dir;
            p->base += dir * p->step;
        } else {
            p->step *= FLAT_DECAY;
        }
        if (p->step < MIN_STEP)
            p->step = MIN_STEP;
    }
    p->rate0 = p->rate1;
    p->rate1 = rate;
    p->samples++;
    double min = cap ? 1.0 / (double)cap : 0.0;
    p->base = p->base < min ? min : p->base > MAX_WINDOW ? MAX_WINDOW : p->base;
    p->sign = -p->sign;
    double w = p->base + p->sign * PROBE;
    p->window_frac = w < min ? min : w > MAX_WINDOW ? MAX_WINDOW : w;
    set_limits(p);
}

/* ---- public entry points ------------------------------------------------- */

int goio__mc_policy_init(mc_policy *p, uint64_t seed, uint64_t max_bytes,
                         uint64_t max_entries)
{
    memset(p, 0, sizeof *p);
    p->seed = seed;
    p->max_bytes = max_bytes;
    p->max_entries = max_entries;
    p->window_frac = p->base = START_WINDOW;
    p->step = START_STEP;
    p->sign = 1;
    p->quick = QUICK_SAMPLES;
    set_limits(p);
    uint64_t bound = entry_bound(max_bytes, max_entries);
    return sketch_size(&p->sketch, bound ? bound : SKETCH_MIN);
}

void goio__mc_policy_free(mc_policy *p)
{
    goio_free(p->sketch.mem);
    p->sketch.mem = NULL;
    p->sketch.words = NULL;
}

static uint64_t hash_of(const mc_policy *p, const mc_entry *e)
{
    return mc_hash(mc_key(e), e->klen, p->seed);
}

static bool referenced(mc_entry *e)
{
    return atomic_load_explicit(&e->ref, memory_order_relaxed);
}

static void unreference(mc_entry *e)
{
    atomic_store_explicit(&e->ref, 0, memory_order_relaxed);
}

void goio__mc_policy_insert(mc_policy *p, mc_entry *e, uint64_t h)
{
    e->seg = MC_WINDOW;
    unreference(e);
    list_push(&p->seg[MC_WINDOW], e);
    p->bytes += mc_charge(e);
    p->count++;
    /* A byte-bounded cache learns its size as it fills: the sketch follows
     * (a failed resize keeps the smaller sketch, which still works). */
    if (p->count > p->sketch.width)
        (void)sketch_size(&p->sketch, p->count);
    sketch_add(&p->sketch, h);
}

void goio__mc_policy_access(mc_policy *p, uint64_t h)
{
    sketch_add(&p->sketch, h);
}

void goio__mc_policy_sample(mc_policy *p, uint64_t hits, uint64_t misses)
{
    p->sample_hits += hits;
    p->sample_misses += misses;
    climb(p);
}

void goio__mc_policy_replace(mc_policy *p, mc_entry *old, mc_entry *e,
                             uint64_t h)
{
    mc_list *l = &p->seg[old->seg];
    e->seg = old->seg;
    e->prev = old->prev;
    e->next = old->next;
    if (e->prev)
        e->prev->next = e;
    else
        l->head = e;
    if (e->next)
        e->next->prev = e;
    else
        l->tail = e;
    l->bytes = l->bytes - mc_charge(old) + mc_charge(e);
    p->bytes = p->bytes - mc_charge(old) + mc_charge(e);
    old->prev = old->next = NULL;
    old->seg = MC_DEAD;
    atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
    sketch_add(&p->sketch, h);
}

void goio__mc_policy_remove(mc_policy *p, mc_entry *e)
{
    if (e->seg == MC_DEAD)
        return;
    list_unlink(&p->seg[e->seg], e);
    e->seg = MC_DEAD;
    p->bytes -= mc_charge(e);
    p->count--;
}

bool goio__mc_policy_over(const mc_policy *p)
{
    return p->bytes > p->max_bytes ||
           (p->max_entries && p->count > p->max_entries);
}

static bool window_over(const mc_policy *p)
{
    const mc_list *w = &p->seg[MC_WINDOW];
    return w->tail &&
           (w->bytes > p->window_max_bytes || w->count > p->window_max_count);
}

static bool protected_over(const mc_policy *p)
{
    const mc_list *l = &p->seg[MC_PROTECTED];
    return l->bytes > p->protected_max_bytes ||
           l->count > p->protected_max_count;
}

/* Moves protected's oldest entries out while it is too big: referenced
 * ones go round again, the others back to probation. Ends because every
 * round clears a bit. */
static void shrink_protected(mc_policy *p)
{
    while (p->seg[MC_PROTECTED].tail && protected_over(p)) {
        mc_entry *e = p->seg[MC_PROTECTED].tail;
        bool again = referenced(e);
        unreference(e);
        move_to(p, e, again ? MC_PROTECTED : MC_PROBATION);
    }
}

/*
 * The main area's next victim: probation's oldest unreferenced entry
 * (referenced ones are promoted on the way), else protected's oldest
 * unreferenced one (referenced ones go round again). NULL when the main
 * area is empty.
 */
static mc_entry *main_victim(mc_policy *p)
{
    for (;;) {
        mc_entry *e = p->seg[MC_PROBATION].tail;
        if (e && referenced(e)) {
            unreference(e);
            move_to(p, e, MC_PROTECTED);
            shrink_protected(p);
            continue;
        }
        if (e)
            return e;
        e = p->seg[MC_PROTECTED].tail;
        if (e && referenced(e)) {
            unreference(e);
            move_to(p, e, MC_PROTECTED);
            continue;
        }
        return e;
    }
}

/* The window's oldest entry not read since it last came round (read ones
 * go round again). */
static mc_entry *window_oldest(mc_policy *p)
{
    mc_entry *e;
    while ((e = p->seg[MC_WINDOW].tail) && referenced(e)) {
        unreference(e);
        move_to(p, e, MC_WINDOW);
    }
    return e;
}

/* TinyLFU admission: the candidate must be used more often than the
 * victim. Ties go to the victim, which keeps one-off scans out. */
static bool admit(const mc_policy *p, const mc_entry *cand,
                  const mc_entry *victim)
{
    return goio__mc_sketch_estimate(&p->sketch, hash_of(p, cand)) >
           goio__mc_sketch_estimate(&p->sketch, hash_of(p, victim));
}

static mc_entry *evict_entry(mc_policy *p, mc_entry *e)
{
    goio__mc_policy_remove(p, e);
    return e;
}

mc_entry *goio__mc_policy_evict(mc_policy *p)
{
    for (;;) {
        if (window_over(p)) {
            mc_entry *cand = window_oldest(p);
            if (!goio__mc_policy_over(p)) {
                move_to(p, cand, MC_PROBATION);
                continue;
            }
            p->full = true;
            mc_entry *victim = main_victim(p);
            if (!victim || !admit(p, cand, victim))
                return evict_entry(p, cand);
            return evict_entry(p, victim);
        }
        if (!goio__mc_policy_over(p) || !p->count)
            return NULL;
        p->full = true;
        mc_entry *v = main_victim(p);
        return evict_entry(p, v ? v : window_oldest(p));
    }
}
