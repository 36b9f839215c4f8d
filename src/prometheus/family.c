/* SPDX-License-Identifier: MIT */
/*
 * Families (a metric or a vector) and their children.
 *
 * Children live in a chained hash table keyed by a seeded hash of their
 * label values. Lookups walk it without a lock (reclaim.c protects them);
 * creation, removal, growth and scrapes take the family's mutex. A lookup
 * that misses retries under the mutex before creating, so a miss caused by
 * a concurrent resize (which relinks chains) is harmless.
 */
#include "prom_int.h"
#include "hash.h"

#include <stdlib.h>

#define INITIAL_SLOTS 8

/* ---- tables -------------------------------------------------------------- */

static goio__prom_table *table_new(size_t nslots)
{
    goio__prom_table *t =
        goio_calloc(1, sizeof *t + nslots * sizeof(goio__prom_child *));
    if (t)
        t->mask = nslots - 1;
    return t;
}

/* A lookup's key: the values with their lengths, words and hash. */
typedef struct key {
    const char *const *vals;
    size_t n;
    uint64_t hash;
    uint32_t lens[GOIO_PROM_MAX_LABELS];
    uint64_t words[2 * GOIO_PROM_MAX_LABELS];
} key;

static int key_make(const goio__prom_family *f, const char *const *vals,
                    size_t n, key *k)
{
    if (n != f->plan.nvars || (n && !vals))
        return GOIO_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!vals[i])
            return GOIO_EINVAL;
        size_t len = strlen(vals[i]);
        if (len > UINT32_MAX / 2)
            return GOIO_E2BIG;
        k->lens[i] = (uint32_t)len;
    }
    k->vals = vals;
    k->n = n;
    k->hash = goio__prom_hash_values(f->seed, vals, k->lens, n, k->words);
    return 0;
}

/* Values up to 16 bytes are equal when their lengths and words are;
 * longer ones compare their bytes too. */
static bool same_values(const goio__prom_child *c, const key *k)
{
    for (size_t i = 0; i < k->n; i++) {
        if (c->lens[i] != k->lens[i] || c->words[2 * i] != k->words[2 * i] ||
            c->words[2 * i + 1] != k->words[2 * i + 1])
            return false;
        if (k->lens[i] > 16 && memcmp(c->vals[i], k->vals[i], k->lens[i]))
            return false;
    }
    return true;
}

/* The loads are seq_cst on purpose: a reader that counted in with a
 * locked add (no membarrier) relies on them being ordered after it in
 * C11's single total order (reclaim.c). Do not weaken them to acquire. */
static goio__prom_child *table_find(goio__prom_table *t, const key *k)
{
    goio__prom_child *c = atomic_load(&t->slots[k->hash & t->mask]);
    for (; c; c = atomic_load(&c->next))
        if (c->hash == k->hash && same_values(c, k))
            return c;
    return NULL;
}

/* Doubles the table; caller holds the mutex. Readers still walking the
 * old table may be led into new chains and miss: they then retry under
 * the mutex. The old table is kept until the family is freed (or reset),
 * since a reader may still hold it; the total is under twice the last
 * table's size. */
static int table_grow(goio__prom_family *f)
{
    goio__prom_table *old = atomic_load(&f->table);
    goio__prom_table **ret =
        goio_reallocarray(f->retired, f->nretired + 1, sizeof *ret);
    if (!ret)
        return GOIO_ENOMEM;
    f->retired = ret;
    goio__prom_table *t = table_new((old->mask + 1) * 2);
    if (!t)
        return GOIO_ENOMEM;
    for (size_t i = 0; i <= old->mask; i++) {
        goio__prom_child *c = atomic_load(&old->slots[i]);
        while (c) {
            goio__prom_child *next = atomic_load(&c->next);
            size_t b = c->hash & t->mask;
            atomic_store(&c->next, atomic_load(&t->slots[b]));
            atomic_store(&t->slots[b], c);
            c = next;
        }
    }
    atomic_store(&f->table, t);
    f->retired[f->nretired++] = old;
    return 0;
}

/* ---- children ------------------------------------------------------------ */

static void child_free(goio__prom_child *c)
{
    if (c)
        goio_free(c->mem);
}

/* Size of the child struct plus its bucket counters, cache-line rounded. */
static size_t child_head_size(const goio__prom_family *f)
{
    size_t n = sizeof(goio__prom_child);
    if (f->type == GOIO_PROM_HISTOGRAM)
        n += (f->bounds.nb + 1) * sizeof(_Atomic uint64_t);
    return (n + 63) & ~(size_t)63;
}

/* Lays out one allocation: aligned struct (with the bucket counters),
 * words, value pointers, lengths, value bytes, rendered labels. */
static goio__prom_child *child_alloc(goio__prom_family *f, const key *k,
                                     size_t lbl_len)
{
    size_t n = k->n, bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += (size_t)k->lens[i] + 1;
    size_t head = child_head_size(f);
    size_t total =
        63 + head +
        n * (2 * sizeof(uint64_t) + sizeof(char *) + sizeof(uint32_t)) + bytes +
        lbl_len + 1;
    void *mem = goio_calloc(1, total);
    if (!mem)
        return NULL;
    goio__prom_child *c =
        (goio__prom_child *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    c->mem = mem;
    c->words = (uint64_t *)((char *)c + head);
    c->vals = (const char **)(c->words + 2 * n);
    c->lens = (uint32_t *)(c->vals + n);
    char *p = (char *)(c->lens + n);
    memcpy(c->words, k->words, 2 * n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        memcpy(p, k->vals[i], k->lens[i]);
        c->vals[i] = p;
        c->lens[i] = k->lens[i];
        p += k->lens[i] + 1;
    }
    c->lbl = p;
    c->lbl_len = lbl_len;
    return c;
}

static int child_new(goio__prom_family *f, const key *k, goio__prom_child **out)
{
    for (size_t i = 0; i < k->n; i++)
        if (!goio__prom_valid_utf8(k->vals[i], k->lens[i]))
            return GOIO_EINVAL;
    goio_buf lbl = GOIO_BUF_INIT;
    int rc = goio__prom_plan_render(&f->plan, k->vals, k->lens, &lbl);
    goio__prom_child *c = rc ? NULL : child_alloc(f, k, lbl.len);
    if (c) {
        if (lbl.len)
            memcpy(c->lbl, lbl.data, lbl.len);
        c->hash = k->hash;
        c->fam = f;
        c->upper = f->bounds.upper;
        c->nb = f->bounds.nb;
    }
    goio_buf_deinit(&lbl);
    if (!c)
        return rc ? rc : GOIO_ENOMEM;
    *out = c;
    return 0;
}

/* Under the mutex: find or create and link. */
static int get_locked(goio__prom_family *f, const key *k,
                      goio__prom_child **out)
{
    goio__prom_table *t = atomic_load(&f->table);
    if ((*out = table_find(t, k)))
        return 0;
    if (f->count >= t->mask + 1) {
        int rc = table_grow(f);
        if (rc)
            return rc;
        t = atomic_load(&f->table);
    }
    goio__prom_child *c;
    int rc = child_new(f, k, &c);
    if (rc)
        return rc;
    size_t b = k->hash & t->mask;
    atomic_store_explicit(&c->next, atomic_load(&t->slots[b]),
                          memory_order_relaxed);
    atomic_store(&t->slots[b], c); /* publishes the filled child */
    f->count++;
    f->dirty = true;
    *out = c;
    return 0;
}

int goio__prom_family_get(goio__prom_family *f, const char *const *vals,
                          size_t n, goio__prom_child **out)
{
    key k;
    int rc = key_make(f, vals, n, &k);
    if (rc)
        return rc;
    goio__prom_rguard g = goio__prom_read_enter();
    goio__prom_child *c = table_find(atomic_load(&f->table), &k);
    goio__prom_read_exit(g);
    if (c) {
        *out = c;
        return 0;
    }
    pthread_mutex_lock(&f->mu);
    rc = get_locked(f, &k, out);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* Unlinks the child with these values; caller holds the mutex. */
static goio__prom_child *unlink_locked(goio__prom_family *f, const key *k)
{
    goio__prom_table *t = atomic_load(&f->table);
    goio__prom_child *_Atomic *link = &t->slots[k->hash & t->mask];
    goio__prom_child *c;
    while ((c = atomic_load(link))) {
        if (c->hash == k->hash && same_values(c, k)) {
            atomic_store(link, atomic_load(&c->next));
            f->count--;
            f->dirty = true;
            return c;
        }
        link = &c->next;
    }
    return NULL;
}

int goio__prom_family_remove(goio__prom_family *f, const char *const *vals,
                             size_t n)
{
    key k;
    int rc = key_make(f, vals, n, &k);
    if (rc)
        return rc;
    pthread_mutex_lock(&f->mu);
    goio__prom_child *c = unlink_locked(f, &k);
    pthread_mutex_unlock(&f->mu);
    if (!c)
        return GOIO_ENOENT;
    goio__prom_synchronize(); /* lookups that may still see c are done */
    child_free(c);
    return 0;
}

static void free_table_children(goio__prom_table *t)
{
    for (size_t i = 0; t && i <= t->mask; i++) {
        goio__prom_child *c = atomic_load(&t->slots[i]);
        while (c) {
            goio__prom_child *next = atomic_load(&c->next);
            child_free(c);
            c = next;
        }
    }
}

static void free_retired(goio__prom_table **retired, size_t n)
{
    for (size_t i = 0; i < n; i++)
        goio_free(retired[i]);
    goio_free(retired);
}

int goio__prom_family_reset(goio__prom_family *f)
{
    goio__prom_table *fresh = table_new(INITIAL_SLOTS);
    if (!fresh)
        return GOIO_ENOMEM;
    pthread_mutex_lock(&f->mu);
    goio__prom_table *old = atomic_exchange(&f->table, fresh);
    goio__prom_table **retired = f->retired;
    size_t nretired = f->nretired;
    f->retired = NULL;
    f->nretired = 0;
    f->count = 0;
    f->dirty = true;
    pthread_mutex_unlock(&f->mu);
    goio__prom_synchronize();
    free_table_children(old);
    goio_free(old);
    free_retired(retired, nretired);
    return 0;
}

size_t goio__prom_family_len(goio__prom_family *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->count;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* ---- scrape order -------------------------------------------------------- */

static int child_cmp(const void *a, const void *b)
{
    const goio__prom_child *x = *(goio__prom_child *const *)a;
    const goio__prom_child *y = *(goio__prom_child *const *)b;
    size_t n = x->lbl_len < y->lbl_len ? x->lbl_len : y->lbl_len;
    int r = memcmp(x->lbl, y->lbl, n);
    if (r)
        return r;
    return (x->lbl_len > y->lbl_len) - (x->lbl_len < y->lbl_len);
}

int goio__prom_family_sort(goio__prom_family *f)
{
    if (!f->dirty)
        return 0;
    goio__prom_child **arr =
        goio_reallocarray(f->sorted, f->count ? f->count : 1, sizeof *arr);
    if (!arr)
        return GOIO_ENOMEM;
    f->sorted = arr;
    goio__prom_table *t = atomic_load(&f->table);
    size_t n = 0;
    for (size_t i = 0; i <= t->mask; i++)
        for (goio__prom_child *c = atomic_load(&t->slots[i]); c;
             c = atomic_load(&c->next))
            arr[n++] = c;
    qsort(arr, n, sizeof *arr, child_cmp);
    f->nsorted = n;
    f->dirty = false;
    return 0;
}

/* ---- families ------------------------------------------------------------ */

void goio__prom_family_free(goio__prom_family *f)
{
    if (!f)
        return;
    free_table_children(atomic_load(&f->table));
    goio_free(atomic_load(&f->table));
    free_retired(f->retired, f->nretired);
    goio_free(f->sorted);
    goio__prom_plan_free(&f->plan);
    goio__prom_bounds_free(&f->bounds);
    goio_free(f->name);
    goio_free(f->help);
    pthread_mutex_destroy(&f->mu);
    goio_free(f);
}

/* ns_subsystem_name with empty parts skipped. */
static int full_name(const goio_prom_metric_config *o, char **out)
{
    goio_buf b = GOIO_BUF_INIT;
    const char *parts[3] = {o->ns, o->subsystem, o->name};
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        if (!parts[i] || !*parts[i])
            continue;
        if (b.len)
            rc = goio_buf_append(&b, "_", 1);
        if (!rc)
            rc = goio_buf_append_str(&b, parts[i]);
    }
    return goio__prom_buf_str(&b, rc, out, NULL);
}

static int check_opts(goio_prom_type type, const goio_prom_metric_config *o,
                      bool is_vec)
{
    if (!o || !o->name || !*o->name)
        return GOIO_EINVAL;
    if (type != GOIO_PROM_COUNTER && type != GOIO_PROM_GAUGE &&
        type != GOIO_PROM_HISTOGRAM)
        return GOIO_EINVAL;
    if (!is_vec && o->label_count)
        return GOIO_EINVAL;
    if (type != GOIO_PROM_HISTOGRAM && (o->buckets || o->bucket_count))
        return GOIO_EINVAL;
    if (o->help && !goio__prom_valid_utf8(o->help, strlen(o->help)))
        return GOIO_EINVAL;
    return 0;
}

/* Names, help, plan, bounds, table; the family is not linked anywhere. */
static int family_fill(goio__prom_family *f, goio_prom_type type,
                       const goio_prom_metric_config *o)
{
    int rc = full_name(o, &f->name);
    if (rc)
        return rc;
    if (!goio__prom_valid_metric_name(f->name))
        return GOIO_EINVAL;
    if (o->help && *o->help && !(f->help = goio_strdup(o->help)))
        return GOIO_ENOMEM;
    rc = goio__prom_plan_build(&f->plan, o->label_names, o->label_count,
                               o->const_labels, o->const_label_count,
                               type == GOIO_PROM_HISTOGRAM);
    if (!rc && type == GOIO_PROM_HISTOGRAM)
        rc = goio__prom_bounds_build(&f->bounds, o->buckets, o->bucket_count);
    if (rc)
        return rc;
    goio__prom_table *t = table_new(INITIAL_SLOTS);
    if (!t)
        return GOIO_ENOMEM;
    atomic_init(&f->table, t);
    return 0;
}

int goio__prom_family_new(goio_prom_registry *reg, goio_prom_type type,
                          const goio_prom_metric_config *o, bool is_vec,
                          goio__prom_family **out)
{
    int rc = check_opts(type, o, is_vec);
    if (rc)
        return rc;
    goio__prom_family *f = goio_calloc(1, sizeof *f);
    if (!f)
        return GOIO_ENOMEM;
    pthread_mutex_init(&f->mu, NULL);
    f->reg = reg;
    f->type = type;
    f->is_vec = is_vec;
    f->seed = goio_random_u64(); /* crafted values cannot share a chain */
    rc = family_fill(f, type, o);
    if (!rc && !is_vec)
        rc = goio__prom_family_get(f, NULL, 0, &f->plain);
    if (rc) {
        goio__prom_family_free(f);
        return rc;
    }
    *out = f;
    return 0;
}
