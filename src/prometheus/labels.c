/* SPDX-License-Identifier: MIT */
/*
 * Label plans: a metric's constant and variable labels, validated once at
 * creation and sorted by name, so rendering a child is a walk over slots.
 */
#include "prom_int.h"

#include <stdlib.h>

void goio__prom_plan_free(goio__prom_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        goio_free(p->slots[i].name);
        goio_free(p->slots[i].const_escaped);
    }
    goio_free(p->slots);
    goio_free(p->var_names);
    memset(p, 0, sizeof *p);
}

static int slot_cmp(const void *a, const void *b)
{
    const goio__prom_plan_slot *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int check_name(const char *name, bool histogram)
{
    if (!goio__prom_valid_label_name(name))
        return GOIO_EINVAL;
    if (histogram && !strcmp(name, "le"))
        return GOIO_EINVAL; /* reserved for the bucket bounds */
    return 0;
}

/* Fills slot i from a constant label (value escaped now, once). */
static int const_slot(goio__prom_plan_slot *s, const goio_prom_label *l)
{
    if (!l->value || !goio__prom_valid_utf8(l->value, strlen(l->value)))
        return GOIO_EINVAL;
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio__prom_escape_label(&b, l->value, strlen(l->value));
    return goio__prom_buf_str(&b, rc, &s->const_escaped, NULL);
}

static int fill_slots(goio__prom_plan *p, const char *const *var_names,
                      size_t nvars, const goio_prom_label *consts,
                      size_t nconsts, bool histogram)
{
    for (size_t i = 0; i < nvars + nconsts; i++) {
        goio__prom_plan_slot *s = &p->slots[i];
        const char *name = i < nvars ? var_names[i] : consts[i - nvars].name;
        int rc = check_name(name, histogram);
        if (rc)
            return rc;
        if (!(s->name = goio_strdup(name)))
            return GOIO_ENOMEM;
        p->n = i + 1;
        s->var_index = i;
        if (i >= nvars && (rc = const_slot(s, &consts[i - nvars])))
            return rc;
    }
    return 0;
}

int goio__prom_plan_build(goio__prom_plan *p, const char *const *var_names,
                          size_t nvars, const goio_prom_label *consts,
                          size_t nconsts, bool histogram)
{
    memset(p, 0, sizeof *p);
    if ((nvars && !var_names) || (nconsts && !consts))
        return GOIO_EINVAL;
    /* Each on its own first: their sum may wrap around. */
    if (nvars > GOIO_PROM_MAX_LABELS || nconsts > GOIO_PROM_MAX_LABELS ||
        nvars + nconsts > GOIO_PROM_MAX_LABELS)
        return GOIO_E2BIG;
    p->slots = goio_calloc(nvars + nconsts, sizeof *p->slots);
    p->var_names = goio_calloc(nvars, sizeof *p->var_names);
    int rc = p->slots && p->var_names ? 0 : GOIO_ENOMEM;
    if (!rc)
        rc = fill_slots(p, var_names, nvars, consts, nconsts, histogram);
    if (rc) {
        goio__prom_plan_free(p);
        return rc;
    }
    qsort(p->slots, p->n, sizeof *p->slots, slot_cmp);
    for (size_t i = 0; i < p->n; i++) {
        if (i && !strcmp(p->slots[i - 1].name, p->slots[i].name)) {
            goio__prom_plan_free(p);
            return GOIO_EINVAL; /* the same label twice */
        }
        if (!p->slots[i].const_escaped)
            p->var_names[p->slots[i].var_index] = p->slots[i].name;
    }
    p->nvars = nvars;
    return 0;
}

int goio__prom_plan_render(const goio__prom_plan *p, const char *const *vals,
                           const uint32_t *lens, goio_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < p->n && !rc; i++) {
        const goio__prom_plan_slot *s = &p->slots[i];
        if (i)
            rc = goio_buf_append(out, ",", 1);
        if (!rc)
            rc = goio_buf_append_str(out, s->name);
        if (!rc)
            rc = goio_buf_append(out, "=\"", 2);
        if (!rc && s->const_escaped)
            rc = goio_buf_append_str(out, s->const_escaped);
        else if (!rc)
            rc = goio__prom_escape_label(out, vals[s->var_index],
                                         lens[s->var_index]);
        if (!rc)
            rc = goio_buf_append(out, "\"", 1);
    }
    return rc;
}

/* The declared index of `name`; tries `hint` first since callers usually
 * pass labels in declared order. */
static long var_index(const goio__prom_plan *p, const char *name, size_t hint)
{
    if (hint < p->nvars && !strcmp(p->var_names[hint], name))
        return (long)hint;
    for (size_t j = 0; j < p->nvars; j++)
        if (!strcmp(p->var_names[j], name))
            return (long)j;
    return -1;
}

int goio__prom_plan_order(const goio__prom_plan *p,
                          const goio_prom_label *labels, size_t n,
                          const char **vals)
{
    if (n != p->nvars || (n && !labels))
        return GOIO_EINVAL;
    for (size_t j = 0; j < n; j++)
        vals[j] = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!labels[i].name || !labels[i].value)
            return GOIO_EINVAL;
        long j = var_index(p, labels[i].name, i);
        if (j < 0 || vals[j])
            return GOIO_EINVAL; /* unknown or repeated name */
        vals[j] = labels[i].value;
    }
    return 0;
}
