/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the prometheus module's files. Nothing here is
 * public: include/goio/prometheus.h is the contract.
 */
#ifndef GOIO_PROM_INT_H
#define GOIO_PROM_INT_H

#include <goio/prometheus.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define GOIO__PROM_CAT "prometheus"

/* ---- safe memory reclamation (reclaim.c) --------------------------------- */

/*
 * Lock-free lookups read hash chains that a remover may unlink. Readers
 * bracket their reads with enter/exit (plain stores to a per-thread
 * record); a remover unlinks, then calls synchronize, which returns once
 * every reader that could still see the unlinked memory has left, and
 * only then frees it (see reclaim.c).
 */
typedef struct goio__prom_slot {
    _Alignas(64) _Atomic long count[2]; /* readers in, per epoch parity */
    atomic_bool in_use;                 /* records: owned by a thread */
} goio__prom_slot;

typedef struct goio__prom_rguard {
    _Atomic long *counter;
    bool exclusive; /* the thread's own record, not a shared slot */
} goio__prom_rguard;

extern _Thread_local goio__prom_slot *goio__prom_t_slot;
extern _Thread_local bool goio__prom_t_exclusive;
extern atomic_uint goio__prom_epoch;
extern atomic_bool goio__prom_use_membarrier;
/* Gives the calling thread its slot (first use). */
goio__prom_slot *goio__prom_claim(void);

/* Inline: every child lookup runs these. See reclaim.c for why a plain
 * increment of the thread's own record is enough. */
static inline goio__prom_rguard goio__prom_read_enter(void)
{
    goio__prom_slot *s = goio__prom_t_slot;
    if (!s)
        s = goio__prom_claim();
    unsigned e =
        atomic_load_explicit(&goio__prom_epoch, memory_order_relaxed) & 1u;
    goio__prom_rguard g = {&s->count[e], goio__prom_t_exclusive};
    if (!g.exclusive || !atomic_load_explicit(&goio__prom_use_membarrier,
                                              memory_order_relaxed)) {
        /* A locked add: the full barrier the chain loads need. */
        atomic_fetch_add_explicit(g.counter, 1, memory_order_seq_cst);
        return g;
    }
    /* Only this thread writes its record, and a remover's membarrier(2)
     * orders this store before our loads: a plain increment. */
    long n = atomic_load_explicit(g.counter, memory_order_relaxed);
    atomic_store_explicit(g.counter, n + 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    return g;
}

static inline void goio__prom_read_exit(goio__prom_rguard g)
{
    if (!g.exclusive) {
        atomic_fetch_sub_explicit(g.counter, 1, memory_order_release);
        return;
    }
    long n = atomic_load_explicit(g.counter, memory_order_relaxed);
    /* release: the reads before it happen before a remover's free */
    atomic_store_explicit(g.counter, n - 1, memory_order_release);
}

void goio__prom_synchronize(void);

/* ---- names, hashing, text (names.c, format.c) ---------------------------- */

bool goio__prom_valid_metric_name(const char *s);
/* Also rejects the reserved "__" prefix. */
bool goio__prom_valid_label_name(const char *s);
bool goio__prom_valid_utf8(const char *s, size_t len);

/* Ends building a string in b: when rc is 0, hands b's bytes over as a
 * NUL-terminated string (goio_free; *len may be NULL), else frees b and
 * returns rc. */
int goio__prom_buf_str(goio_buf *b, int rc, char **out, size_t *len);
/* Appends s[0..len) escaped as a label value (\\, \", \n). */
int goio__prom_escape_label(goio_buf *b, const char *s, size_t len);
/* Appends help text escaped: \\ and \n, plus \" for OpenMetrics. */
int goio__prom_escape_help(goio_buf *b, const char *s, bool openmetrics);
/* Formats a sample value into buf (>= 32 bytes) without locale effects;
 * returns its length. om: integral values get ".0" (OpenMetrics le). */
size_t goio__prom_fmt_double(char *buf, double v, bool om_le);
size_t goio__prom_fmt_u64(char *buf, uint64_t v);

/* ---- label plans --------------------------------------------------------- */

/*
 * How a child's label pairs are rendered: all labels (constant and
 * variable) sorted by name, as client_golang does. Each slot is either a
 * constant (pre-escaped value) or the index of a variable label.
 */
typedef struct goio__prom_plan_slot {
    char *name;
    char *const_escaped; /* NULL for a variable label */
    size_t var_index;
} goio__prom_plan_slot;

typedef struct goio__prom_plan {
    goio__prom_plan_slot *slots;
    size_t n;
    char **var_names; /* variable label names, declared order */
    size_t nvars;
} goio__prom_plan;

/* Validates names (unique, valid, not "le" when histogram) and builds the
 * plan. Const label values must be UTF-8. */
int goio__prom_plan_build(goio__prom_plan *p, const char *const *var_names,
                          size_t nvars, const goio_prom_label *consts,
                          size_t nconsts, bool histogram);
void goio__prom_plan_free(goio__prom_plan *p);
/* Renders `a="x",b="y"` (no braces) for the variable values. */
int goio__prom_plan_render(const goio__prom_plan *p, const char *const *vals,
                           const uint32_t *lens, goio_buf *out);
/* Maps name/value pairs to values in declared order (vals[nvars]). */
int goio__prom_plan_order(const goio__prom_plan *p,
                          const goio_prom_label *labels, size_t n,
                          const char **vals);

/* ---- histograms' bounds -------------------------------------------------- */

typedef struct goio__prom_bounds {
    double *upper; /* nb finite-or-not bounds, +Inf excluded */
    size_t nb;
    char **le_text; /* nb+1 label values, "+Inf" last */
    char **le_om;   /* the same in OpenMetrics' canonical form */
} goio__prom_bounds;

int goio__prom_bounds_build(goio__prom_bounds *b, const double *upper,
                            size_t n);
void goio__prom_bounds_free(goio__prom_bounds *b);
/* Index of the bucket counting v: first bound >= v, else nb (+Inf). */
size_t goio__prom_bucket_index(const double *upper, size_t nb, double v);

/* ---- children and vectors (vec.c, values.c) ------------------------------ */

typedef struct goio__prom_child goio__prom_child;
typedef struct goio__prom_family goio__prom_family;

struct goio__prom_child {
    /* Read by lookups: kept apart from the values, which other threads
     * write, so a lookup's cache line is not stolen by every update. */
    goio__prom_child *_Atomic next;
    uint64_t hash;
    goio__prom_family *fam;
    uint64_t *words;   /* per value, 2 words (hash.h) */
    const char **vals; /* nvars values, NUL-terminated */
    uint32_t *lens;
    char *lbl; /* rendered label pairs, "" for none */
    size_t lbl_len;
    void *mem; /* the allocation this child lives in */
    /* Written by updates. Counter: v0 integer part, v1 float part bits.
     * Gauge: v0 value bits. Histogram: v0 sum bits, counts[nb+1]. */
    _Alignas(64) _Atomic uint64_t v0;
    _Atomic uint64_t v1;
    const double *upper;
    size_t nb;
    _Atomic uint64_t counts[];
};

typedef struct goio__prom_table {
    size_t mask;
    goio__prom_child *_Atomic slots[];
} goio__prom_table;

struct goio__prom_family {
    goio_prom_registry *reg;
    goio_prom_type type;
    bool is_vec;
    char *name;
    char *help; /* NULL when none */
    goio__prom_plan plan;
    goio__prom_bounds bounds;
    uint64_t seed;

    pthread_mutex_t mu; /* child creation, removal, resize, scrape */
    _Atomic(goio__prom_table *) table;
    size_t count;
    goio__prom_table **retired; /* outgrown tables, freed with the family */
    size_t nretired;
    goio__prom_child **sorted; /* scrape order, rebuilt when dirty */
    size_t nsorted;
    bool dirty;
    goio__prom_child *plain; /* the only child of a plain metric */
};

int goio__prom_family_new(goio_prom_registry *reg, goio_prom_type type,
                          const goio_prom_metric_config *o, bool is_vec,
                          goio__prom_family **out);
void goio__prom_family_free(goio__prom_family *f);
/* Lookup-or-create by values in declared order. */
int goio__prom_family_get(goio__prom_family *f, const char *const *vals,
                          size_t n, goio__prom_child **out);
int goio__prom_family_remove(goio__prom_family *f, const char *const *vals,
                             size_t n);
int goio__prom_family_reset(goio__prom_family *f);
size_t goio__prom_family_len(goio__prom_family *f);
/* Brings f->sorted up to date; caller holds f->mu. */
int goio__prom_family_sort(goio__prom_family *f);

/* ---- registry (registry.c) ----------------------------------------------- */

typedef struct goio__prom_builtin goio__prom_builtin;

struct goio_prom_collector {
    goio_prom_collect_fn fn;
    void *data;
    void (*destroy)(void *data);
    const void *kind; /* identifies built-in collectors (process) */
    goio_prom_collector *next;
};

struct goio_prom_registry {
    pthread_mutex_t mu;
    goio__prom_family **fams; /* sorted by name */
    size_t nfams, capfams;
    goio_prom_collector *collectors; /* registration order */
    bool is_default;
};

/* reg or the default one; NULL when the default cannot be made. */
goio_prom_registry *goio__prom_reg(goio_prom_registry *reg);
/* Whether this thread is running reg's collectors, directly or from a
 * nested scrape (registry calls from there would deadlock on reg->mu). */
bool goio__prom_in_collect(const goio_prom_registry *reg);
/* Whether this thread is running any registry's collectors. */
bool goio__prom_in_any_collect(void);
/* Brackets running reg's collectors; frame lives on the caller's stack. */
typedef struct goio__prom_collecting {
    const goio_prom_registry *reg;
    struct goio__prom_collecting *outer;
} goio__prom_collecting;
void goio__prom_collect_enter(goio__prom_collecting *frame,
                              const goio_prom_registry *reg);
void goio__prom_collect_exit(goio__prom_collecting *frame);
/* Registers an existing collector struct built by the module (process). */
int goio__prom_add_collector(goio_prom_registry *reg, goio_prom_collect_fn fn,
                             void *data, void (*destroy)(void *),
                             const void *kind, goio_prom_collector **out);

/* ---- exposition (expose.c, gzip.c) --------------------------------------- */

int goio__prom_gzip(const uint8_t *in, size_t len, goio_buf *out);

/* The process collector's callback (process.c). */
int goio__prom_collect_process(goio_prom_sink *sink, void *data);
extern const char goio__prom_process_kind;

static inline goio__prom_child *goio__prom_c(const void *handle)
{
    return (goio__prom_child *)(uintptr_t)handle;
}

static inline double goio__prom_bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t goio__prom_double_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

#endif
