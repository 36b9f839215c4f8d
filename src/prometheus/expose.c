/* SPDX-License-Identifier: MIT */
/*
 * Exposition: text format 0.0.4 and OpenMetrics 1.0.0.
 *
 * A scrape runs the collectors, then merges their families with the
 * registered ones in name order. Children were rendered to label strings
 * when created, so a sample line is a few copies and a number.
 */
#include "sink.h"

#include <math.h>

typedef struct piece {
    const char *p;
    size_t n;
} piece;

#define PIECE(s)                                                               \
    (piece)                                                                    \
    {                                                                          \
        (s), strlen(s)                                                         \
    }

/*
 * One sample line: name suffix{labels[,le="x"]} value. `le` may be
 * {NULL, 0}; braces are left out when there are no labels at all.
 */
static int sample_line(goio_buf *b, piece name, const char *suffix, piece lbl,
                       piece le, piece val)
{
    size_t slen = strlen(suffix);
    int rc = goio_buf_reserve(b, name.n + slen + lbl.n + le.n + val.n + 16);
    if (rc)
        return rc;
    char *p = (char *)b->data + b->len;
    memcpy(p, name.p, name.n);
    p += name.n;
    memcpy(p, suffix, slen);
    p += slen;
    if (lbl.n || le.p) {
        *p++ = '{';
        memcpy(p, lbl.p, lbl.n);
        p += lbl.n;
        if (le.p) {
            if (lbl.n)
                *p++ = ',';
            memcpy(p, "le=\"", 4);
            memcpy(p + 4, le.p, le.n);
            p += 4 + le.n;
            *p++ = '"';
        }
        *p++ = '}';
    }
    *p++ = ' ';
    memcpy(p, val.p, val.n);
    p += val.n;
    *p++ = '\n';
    b->len = (size_t)(p - (char *)b->data);
    return 0;
}

static const char *type_word(goio_prom_type t, bool om)
{
    switch (t) {
    case GOIO_PROM_COUNTER:
        return "counter";
    case GOIO_PROM_GAUGE:
        return "gauge";
    case GOIO_PROM_HISTOGRAM:
        return "histogram";
    default:
        return om ? "unknown" : "untyped";
    }
}

/* How a family is named in headers and samples. OpenMetrics names a
 * counter family without _total and its samples with it. */
typedef struct names {
    piece family;
    piece sample;
    const char *sample_suffix;
} names;

static names family_names(const char *name, goio_prom_type type, bool om)
{
    size_t n = strlen(name);
    names r = {{name, n}, {name, n}, ""};
    if (om && type == GOIO_PROM_COUNTER) {
        if (n > 6 && !strcmp(name + n - 6, "_total"))
            r.family.n = r.sample.n = n - 6;
        r.sample_suffix = "_total";
    }
    return r;
}

static int header(goio_buf *b, piece fam, const char *help, goio_prom_type type,
                  bool om)
{
    int rc = 0;
    if (help) {
        rc = goio_buf_append(b, "# HELP ", 7);
        if (!rc)
            rc = goio_buf_append(b, fam.p, fam.n);
        if (!rc)
            rc = goio_buf_append(b, " ", 1);
        if (!rc)
            rc = goio__prom_escape_help(b, help, om);
        if (!rc)
            rc = goio_buf_append(b, "\n", 1);
    }
    if (!rc)
        rc = goio_buf_append(b, "# TYPE ", 7);
    if (!rc)
        rc = goio_buf_append(b, fam.p, fam.n);
    if (!rc)
        rc = goio_buf_appendf(b, " %s\n", type_word(type, om));
    return rc;
}

/* ---- registered families ------------------------------------------------- */

static int counter_line(goio_buf *b, const names *nm, goio__prom_child *c)
{
    char val[40];
    size_t n;
    uint64_t i = atomic_load_explicit(&c->v0, memory_order_relaxed);
    uint64_t f = atomic_load_explicit(&c->v1, memory_order_relaxed);
    if (!f)
        n = goio__prom_fmt_u64(val, i);
    else
        n = goio__prom_fmt_double(val, (double)i + goio__prom_bits_to_double(f),
                                  false);
    return sample_line(b, nm->sample, nm->sample_suffix,
                       (piece){c->lbl, c->lbl_len}, (piece){NULL, 0},
                       (piece){val, n});
}

static int gauge_line(goio_buf *b, const names *nm, goio__prom_child *c)
{
    char val[40];
    double v = goio__prom_bits_to_double(
        atomic_load_explicit(&c->v0, memory_order_relaxed));
    size_t n = goio__prom_fmt_double(val, v, false);
    return sample_line(b, nm->sample, "", (piece){c->lbl, c->lbl_len},
                       (piece){NULL, 0}, (piece){val, n});
}

/* _count is the +Inf bucket read in the same pass, so the two always
 * agree even while observations race with the scrape. */
static int histogram_lines(goio_buf *b, const names *nm, goio__prom_child *c,
                           bool om)
{
    const goio__prom_family *f = c->fam;
    piece lbl = {c->lbl, c->lbl_len};
    char val[40];
    uint64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; i <= c->nb && !rc; i++) {
        cum += atomic_load_explicit(&c->counts[i], memory_order_relaxed);
        const char *le = om ? f->bounds.le_om[i] : f->bounds.le_text[i];
        rc = sample_line(b, nm->sample, "_bucket", lbl, PIECE(le),
                         (piece){val, goio__prom_fmt_u64(val, cum)});
    }
    double sum = goio__prom_bits_to_double(
        atomic_load_explicit(&c->v0, memory_order_relaxed));
    if (!rc)
        rc = sample_line(b, nm->sample, "_sum", lbl, (piece){NULL, 0},
                         (piece){val, goio__prom_fmt_double(val, sum, false)});
    if (!rc)
        rc = sample_line(b, nm->sample, "_count", lbl, (piece){NULL, 0},
                         (piece){val, goio__prom_fmt_u64(val, cum)});
    return rc;
}

static int child_lines(goio_buf *b, const names *nm, goio__prom_child *c,
                       bool om)
{
    switch (c->fam->type) {
    case GOIO_PROM_COUNTER:
        return counter_line(b, nm, c);
    case GOIO_PROM_GAUGE:
        return gauge_line(b, nm, c);
    default:
        return histogram_lines(b, nm, c, om);
    }
}

static int render_family(goio_buf *b, goio__prom_family *f, bool om)
{
    pthread_mutex_lock(&f->mu);
    int rc = goio__prom_family_sort(f);
    if (!rc && f->nsorted) {
        names nm = family_names(f->name, f->type, om);
        rc = header(b, nm.family, f->help, f->type, om);
        for (size_t i = 0; i < f->nsorted && !rc; i++)
            rc = child_lines(b, &nm, f->sorted[i], om);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* ---- collected families -------------------------------------------------- */

static int collected_histogram(goio_buf *b, const names *nm,
                               const goio__prom_csample *s, bool om)
{
    piece lbl = {s->lbl, s->lbl_len};
    char val[40], le[40];
    int rc = 0;
    for (size_t i = 0; i <= s->nb && !rc; i++) {
        double upper = i < s->nb ? s->upper[i] : INFINITY;
        uint64_t cum = i < s->nb ? s->cum[i] : s->count;
        rc = sample_line(b, nm->sample, "_bucket", lbl,
                         (piece){le, goio__prom_fmt_double(le, upper, om)},
                         (piece){val, goio__prom_fmt_u64(val, cum)});
    }
    if (!rc)
        rc = sample_line(
            b, nm->sample, "_sum", lbl, (piece){NULL, 0},
            (piece){val, goio__prom_fmt_double(val, s->sum, false)});
    if (!rc)
        rc = sample_line(b, nm->sample, "_count", lbl, (piece){NULL, 0},
                         (piece){val, goio__prom_fmt_u64(val, s->count)});
    return rc;
}

static int render_collected(goio_buf *b, const goio__prom_cfam *f, bool om)
{
    if (!f->n)
        return 0;
    names nm = family_names(f->name, f->type, om);
    int rc = header(b, nm.family, f->help, f->type, om);
    for (size_t i = 0; i < f->n && !rc; i++) {
        const goio__prom_csample *s = &f->samples[i];
        char val[40];
        if (f->type == GOIO_PROM_HISTOGRAM)
            rc = collected_histogram(b, &nm, s, om);
        else
            rc = sample_line(
                b, nm.sample, nm.sample_suffix, (piece){s->lbl, s->lbl_len},
                (piece){NULL, 0},
                (piece){val, goio__prom_fmt_double(val, s->value, false)});
    }
    return rc;
}

static void log_dropped(const goio__prom_cfam *f)
{
    goio_log(GOIO_LOG_WARN, GOIO__PROM_CAT, "collected_family_dropped", f->name,
             GOIO_EEXIST,
             "a collected family uses the name of another family; dropped");
}

/* Registered and collected families in name order; a collected family
 * whose name is already used loses. */
static int render_merged(goio_buf *b, goio_prom_registry *reg,
                         const goio_prom_sink *s, bool om)
{
    size_t i = 0, j = 0;
    const char *last = NULL;
    int rc = 0;
    while (!rc && (i < reg->nfams || j < s->n)) {
        goio__prom_family *f = i < reg->nfams ? reg->fams[i] : NULL;
        const goio__prom_cfam *cf = j < s->n ? &s->fams[j] : NULL;
        if (cf && (last && !strcmp(cf->name, last))) {
            log_dropped(cf);
            j++;
        } else if (f && (!cf || strcmp(f->name, cf->name) <= 0)) {
            rc = render_family(b, f, om);
            last = f->name;
            i++;
        } else {
            rc = render_collected(b, cf, om);
            last = cf->name;
            j++;
        }
    }
    if (!rc && om)
        rc = goio_buf_append(b, "# EOF\n", 6);
    return rc;
}

/* Runs every collector into s; a failing one's output is dropped. */
static int run_collectors(goio_prom_registry *reg, goio_prom_sink *s)
{
    goio__prom_collecting frame;
    int done = 0;
    goio__prom_collect_enter(&frame, reg);
    for (goio_prom_collector *c = reg->collectors; c && !s->oom; c = c->next) {
        if ((done = goio_ctx_err(s->ctx)))
            break;
        size_t mark = s->n;
        int rc = c->fn(s, c->data);
        if (rc && !s->oom) {
            goio_log(GOIO_LOG_WARN, GOIO__PROM_CAT, "collector_failed", NULL,
                     rc, "a collector failed; its samples are dropped");
            goio__prom_sink_drop_from(s, mark);
        }
        s->cur = -1;
    }
    goio__prom_collect_exit(&frame);
    return done;
}

int goio_prom_registry_write(goio_prom_registry *reg, goio_ctx *ctx,
                             goio_prom_format format, goio_buf *out)
{
    if (!out || (format != GOIO_PROM_TEXT && format != GOIO_PROM_OPENMETRICS))
        return GOIO_EINVAL;
    if (!(reg = goio__prom_reg(reg)))
        return GOIO_ENOMEM;
    if (goio__prom_in_collect(reg))
        return GOIO_EBUSY;
    size_t orig = out->len;
    goio_prom_sink s = {.cur = -1, .ctx = ctx};
    pthread_mutex_lock(&reg->mu);
    int rc = run_collectors(reg, &s);
    if (!rc && s.oom)
        rc = GOIO_ENOMEM;
    if (!rc) {
        goio__prom_sink_sort(&s);
        rc = render_merged(out, reg, &s, format == GOIO_PROM_OPENMETRICS);
    }
    pthread_mutex_unlock(&reg->mu);
    goio__prom_sink_free(&s);
    if (rc)
        out->len = orig;
    return rc;
}
