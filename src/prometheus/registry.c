/* SPDX-License-Identifier: MIT */
/*
 * Registries: the families registered in them (sorted by name, so a
 * scrape needs no sort) and their collectors.
 */
#include "prom_int.h"

/* The registries whose collectors this thread is running, innermost
 * first: a collector may scrape another registry, which runs that one's
 * collectors inside it. */
static _Thread_local goio__prom_collecting *t_collecting;

bool goio__prom_in_collect(const goio_prom_registry *reg)
{
    for (const goio__prom_collecting *f = t_collecting; f; f = f->outer)
        if (f->reg == reg)
            return true;
    return false;
}

bool goio__prom_in_any_collect(void)
{
    return t_collecting != NULL;
}

void goio__prom_collect_enter(goio__prom_collecting *frame,
                              const goio_prom_registry *reg)
{
    frame->reg = reg;
    frame->outer = t_collecting;
    t_collecting = frame;
}

void goio__prom_collect_exit(goio__prom_collecting *frame)
{
    t_collecting = frame->outer;
}

int goio_prom_registry_new(goio_prom_registry **out)
{
    if (!out)
        return GOIO_EINVAL;
    goio_prom_registry *reg = goio_calloc(1, sizeof *reg);
    if (!reg)
        return GOIO_ENOMEM;
    pthread_mutex_init(&reg->mu, NULL);
    *out = reg;
    return 0;
}

static void free_collectors(goio_prom_collector *c)
{
    while (c) {
        goio_prom_collector *next = c->next;
        if (c->destroy)
            c->destroy(c->data);
        goio_free(c);
        c = next;
    }
}

void goio_prom_registry_free(goio_prom_registry *reg)
{
    /* From inside its own collector the scrape still walks it. */
    if (!reg || reg->is_default || goio__prom_in_collect(reg))
        return;
    for (size_t i = 0; i < reg->nfams; i++)
        goio__prom_family_free(reg->fams[i]);
    goio_free(reg->fams);
    free_collectors(reg->collectors);
    pthread_mutex_destroy(&reg->mu);
    goio_free(reg);
}

static _Atomic(goio_prom_registry *) default_reg;
static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;

goio_prom_registry *goio_prom_registry_default(void)
{
    goio_prom_registry *reg = atomic_load(&default_reg);
    if (reg)
        return reg;
    pthread_mutex_lock(&default_mu);
    /* Made under a lock rather than once, so an allocation failure is
     * retried on the next call instead of sticking. */
    if (!(reg = atomic_load(&default_reg)) && !goio_prom_registry_new(&reg)) {
        if (goio_prom_process_collector_register(reg)) {
            goio_prom_registry_free(reg);
            reg = NULL;
        } else {
            reg->is_default = true;
            atomic_store(&default_reg, reg);
        }
    }
    pthread_mutex_unlock(&default_mu);
    return reg;
}

goio_prom_registry *goio__prom_reg(goio_prom_registry *reg)
{
    return reg ? reg : goio_prom_registry_default();
}

/* Index of the first family whose name is >= name. */
static size_t find_pos(const goio_prom_registry *reg, const char *name)
{
    size_t lo = 0, hi = reg->nfams;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(reg->fams[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int insert_family(goio_prom_registry *reg, goio__prom_family *f)
{
    size_t pos = find_pos(reg, f->name);
    if (pos < reg->nfams && !strcmp(reg->fams[pos]->name, f->name))
        return GOIO_EEXIST;
    if (reg->nfams == reg->capfams) {
        size_t cap = reg->capfams ? reg->capfams * 2 : 16;
        goio__prom_family **fams =
            goio_reallocarray(reg->fams, cap, sizeof *fams);
        if (!fams)
            return GOIO_ENOMEM;
        reg->fams = fams;
        reg->capfams = cap;
    }
    memmove(reg->fams + pos + 1, reg->fams + pos,
            (reg->nfams - pos) * sizeof *reg->fams);
    reg->fams[pos] = f;
    reg->nfams++;
    return 0;
}

static int register_family(goio_prom_registry *reg, goio_prom_type type,
                           const goio_prom_metric_config *o, bool is_vec,
                           goio__prom_family **out)
{
    if (!out)
        return GOIO_EINVAL;
    if (!(reg = goio__prom_reg(reg)))
        return GOIO_ENOMEM;
    if (goio__prom_in_collect(reg))
        return GOIO_EBUSY;
    goio__prom_family *f;
    int rc = goio__prom_family_new(reg, type, o, is_vec, &f);
    if (rc)
        return rc;
    pthread_mutex_lock(&reg->mu);
    rc = insert_family(reg, f);
    pthread_mutex_unlock(&reg->mu);
    if (rc) {
        goio__prom_family_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int plain_new(goio_prom_registry *reg, goio_prom_type type,
                     const goio_prom_metric_config *o, void **out)
{
    goio__prom_family *f;
    int rc = register_family(reg, type, o, false, out ? &f : NULL);
    if (!rc)
        *out = f->plain;
    return rc;
}

int goio_prom_counter_register(goio_prom_registry *reg,
                               const goio_prom_metric_config *cfg,
                               goio_prom_counter **out)
{
    return plain_new(reg, GOIO_PROM_COUNTER, cfg, (void **)out);
}

int goio_prom_gauge_register(goio_prom_registry *reg,
                             const goio_prom_metric_config *cfg,
                             goio_prom_gauge **out)
{
    return plain_new(reg, GOIO_PROM_GAUGE, cfg, (void **)out);
}

int goio_prom_histogram_register(goio_prom_registry *reg,
                                 const goio_prom_metric_config *cfg,
                                 goio_prom_histogram **out)
{
    return plain_new(reg, GOIO_PROM_HISTOGRAM, cfg, (void **)out);
}

int goio_prom_vec_register(goio_prom_registry *reg, goio_prom_type type,
                           const goio_prom_metric_config *cfg,
                           goio_prom_vec **out)
{
    goio__prom_family *f;
    int rc = register_family(reg, type, cfg, true, out ? &f : NULL);
    if (!rc)
        *out = (goio_prom_vec *)(void *)f;
    return rc;
}

int goio_prom_registry_unregister(goio_prom_registry *reg, const char *name)
{
    if (!name)
        return GOIO_EINVAL;
    if (!(reg = goio__prom_reg(reg)))
        return GOIO_ENOMEM;
    if (goio__prom_in_collect(reg))
        return GOIO_EBUSY;
    goio__prom_family *f = NULL;
    pthread_mutex_lock(&reg->mu);
    size_t pos = find_pos(reg, name);
    if (pos < reg->nfams && !strcmp(reg->fams[pos]->name, name)) {
        f = reg->fams[pos];
        memmove(reg->fams + pos, reg->fams + pos + 1,
                (reg->nfams - pos - 1) * sizeof *reg->fams);
        reg->nfams--;
    }
    pthread_mutex_unlock(&reg->mu);
    if (!f)
        return GOIO_ENOENT;
    goio__prom_family_free(f);
    return 0;
}

/* ---- collectors ---------------------------------------------------------- */

int goio__prom_add_collector(goio_prom_registry *reg, goio_prom_collect_fn fn,
                             void *data, void (*destroy)(void *),
                             const void *kind, goio_prom_collector **out)
{
    if (!fn)
        return GOIO_EINVAL;
    if (!(reg = goio__prom_reg(reg)))
        return GOIO_ENOMEM;
    if (goio__prom_in_collect(reg))
        return GOIO_EBUSY;
    goio_prom_collector *c = goio_calloc(1, sizeof *c);
    if (!c)
        return GOIO_ENOMEM;
    *c = (goio_prom_collector){fn, data, destroy, kind, NULL};
    int rc = 0;
    pthread_mutex_lock(&reg->mu);
    goio_prom_collector **link = &reg->collectors;
    for (; *link && !rc; link = &(*link)->next)
        if (kind && (*link)->kind == kind)
            rc = GOIO_EEXIST;
    if (!rc)
        *link = c;
    pthread_mutex_unlock(&reg->mu);
    if (rc) {
        goio_free(c);
        return rc;
    }
    if (out)
        *out = c;
    return 0;
}

int goio_prom_collector_register(goio_prom_registry *reg,
                                 goio_prom_collect_fn fn, void *data,
                                 goio_prom_data_free_fn destroy,
                                 goio_prom_collector **out)
{
    return goio__prom_add_collector(reg, fn, data, destroy, NULL, out);
}

int goio_prom_process_collector_register(goio_prom_registry *reg)
{
    return goio__prom_add_collector(reg, goio__prom_collect_process, NULL, NULL,
                                    &goio__prom_process_kind, NULL);
}

int goio_prom_collector_unregister(goio_prom_registry *reg,
                                   goio_prom_collector *c)
{
    if (!c)
        return GOIO_EINVAL;
    if (!(reg = goio__prom_reg(reg)))
        return GOIO_ENOMEM;
    if (goio__prom_in_collect(reg))
        return GOIO_EBUSY;
    bool found = false;
    pthread_mutex_lock(&reg->mu);
    for (goio_prom_collector **link = &reg->collectors; *link;
         link = &(*link)->next) {
        if (*link == c) {
            *link = c->next;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&reg->mu);
    if (!found)
        return GOIO_ENOENT;
    c->next = NULL;
    free_collectors(c);
    return 0;
}

void goio_prom_metric_config_init(goio_prom_metric_config *cfg)
{
    if (cfg)
        memset(cfg, 0, sizeof *cfg);
}
