/* SPDX-License-Identifier: MIT */
/*
 * Where http_cache's entries live in the goio_cache: the URL's key holds
 * a response entry, or a Vary index whose generation and names lead to
 * the variant keys. Reads that fail or find foreign bytes are misses;
 * writes that fail are logged, never returned (see goio/http_cache.h).
 */
#include "http_cache_int.h"

#include <inttypes.h>
#include <string.h>

void goio__hc_bump(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

int64_t goio__hc_now(const goio_http_cache *c)
{
    return c->now_fn ? c->now_fn(c->now_data) : goio_now_wall_ms();
}

int goio__hc_key_take(goio_buf *b, size_t max, char **out)
{
    if (b->len > max)
        return GOIO_E2BIG;
    int rc = goio_buf_reserve(b, 0); /* an empty b has no memory yet */
    if (rc)
        return rc;
    goio_buf_cstr(b);
    *out = (char *)goio_buf_detach(b, NULL);
    return 0;
}

/* ---- reading ------------------------------------------------------------- */

/* One storage read; errors are logged and read as a miss. */
static int read_key(const goio__hc_call *k, const char *key, goio_buf *b,
                    bool *hit)
{
    *hit = false;
    int rc = goio_cache_get(k->c->storage, k->ctx, key, b, hit);
    if (rc == GOIO_ENOMEM)
        return rc;
    if (rc && !k->quiet)
        goio_log(GOIO_LOG_WARN, "http_cache", "get_from_cache_error", key, rc,
                 "reading the stored response failed; treated as a miss");
    if (rc)
        *hit = false;
    return 0;
}

static void log_bad(const goio__hc_call *k, const char *key, int rc)
{
    if (!k->quiet)
        goio_log(GOIO_LOG_WARN, "http_cache", "bad_cache_entry", key, rc,
                 "stored bytes are not an http_cache entry; treated as a miss");
}

int goio__hc_vary_values(const goio__hc_call *k, char *const *names,
                         size_t nnames, goio__hc_hlist *out)
{
    goio_buf v = GOIO_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < nnames && !rc; i++) {
        bool present;
        rc = goio__hc_request_value(k->headers, k->nheaders, names[i], &v,
                                    &present);
        if (!rc)
            rc = goio__hc_hlist_add(out, names[i], strlen(names[i]),
                                    present ? goio_buf_cstr(&v) : NULL, v.len);
    }
    goio_buf_deinit(&v);
    if (rc)
        goio__hc_hlist_free(out);
    return rc;
}

bool goio__hc_vary_match(const goio__hc_call *k, const goio__hc_view *v)
{
    goio_buf cur = GOIO_BUF_INIT;
    bool match = true;
    for (size_t i = 0; i < v->nvary && match; i++) {
        bool present;
        if (goio__hc_request_value(k->headers, k->nheaders, v->vary[i].name,
                                   &cur, &present))
            match = false; /* out of memory: a miss is always safe */
        else if (present != (v->vary[i].value != NULL))
            match = false;
        else if (present)
            match = !strcmp(goio_buf_cstr(&cur), v->vary[i].value);
    }
    goio_buf_deinit(&cur);
    return match;
}

/*
 * primary + 0x1E + generation (16 hex digits), then for each name
 * 0x1F name "=" value, or 0x1F name "!" when the field is absent.
 * GOIO_E2BIG when longer than a key may be.
 */
static int variant_key(const char *primary, uint64_t generation,
                       const goio__hc_hlist *values, char **out)
{
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio_buf_appendf(&b, "%s\x1e%016" PRIx64, primary, generation);
    for (size_t i = 0; i < values->n && !rc; i++) {
        const goio_http_cache_header *h = &values->v[i];
        rc = h->value ? goio_buf_appendf(&b, "\x1f%s=%s", h->name, h->value)
                      : goio_buf_appendf(&b, "\x1f%s!", h->name);
    }
    if (!rc)
        rc = goio__hc_key_take(&b, GOIO_CACHE_MAX_KEY, out);
    goio_buf_deinit(&b);
    return rc;
}

static int copy_names(goio__hc_stored *st, const goio__hc_index *ix)
{
    st->names = goio_calloc(ix->nnames + 1, sizeof *st->names);
    if (!st->names)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < ix->nnames; i++) {
        if (!(st->names[i] = goio_strdup(ix->names[i])))
            return GOIO_ENOMEM;
        st->nnames++;
    }
    return 0;
}

/* The URL's key held an index: remember it and move st->key to the
 * request's variant. */
static int follow_index(goio__hc_call *k, goio__hc_stored *st)
{
    goio__hc_index ix;
    int rc = goio__hc_index_decode(st->bytes.data, st->bytes.len, &ix);
    if (rc == GOIO_ENOMEM)
        return rc;
    if (rc || strcmp(ix.url, k->url)) {
        log_bad(k, k->primary, rc ? rc : GOIO_EBADMSG);
        goio__hc_index_free(&ix);
        return 0;
    }
    st->indexed = true;
    st->generation = ix.generation;
    rc = copy_names(st, &ix);
    goio__hc_index_free(&ix);
    goio__hc_hlist values = {0};
    if (!rc)
        rc = goio__hc_vary_values(k, st->names, st->nnames, &values);
    if (!rc)
        rc = variant_key(k->primary, st->generation, &values, &st->variant);
    st->key = st->variant; /* NULL when it could not be made */
    goio__hc_hlist_free(&values);
    return rc == GOIO_E2BIG ? 0 : rc;
}

/* st->bytes hold a response entry: decode it and check it is ours. */
static int accept_entry(goio__hc_call *k, goio__hc_stored *st)
{
    int rc = goio__hc_entry_decode(st->bytes.data, st->bytes.len, &st->view);
    if (rc == GOIO_ENOMEM)
        return rc;
    if (rc || strcmp(st->view.url, k->url)) {
        log_bad(k, st->key, rc ? rc : GOIO_EBADMSG);
        goio__hc_view_free(&st->view);
        return 0;
    }
    if (!goio__hc_vary_match(k, &st->view)) {
        goio__hc_view_free(&st->view);
        return 0;
    }
    st->found = true;
    return 0;
}

int goio__hc_lookup(goio__hc_call *k, goio__hc_stored *st)
{
    memset(st, 0, sizeof *st);
    st->key = k->primary;
    bool hit;
    int rc = read_key(k, st->key, &st->bytes, &hit);
    if (rc || !hit)
        return rc;
    if (goio__hc_entry_kind(st->bytes.data, st->bytes.len) == 'V') {
        if ((rc = follow_index(k, st)) || !st->key)
            return rc;
        if ((rc = read_key(k, st->key, &st->bytes, &hit)) || !hit)
            return rc;
    }
    if (goio__hc_entry_kind(st->bytes.data, st->bytes.len) != 'R') {
        log_bad(k, st->key, GOIO_EBADMSG);
        return 0;
    }
    return accept_entry(k, st);
}

/* The key of the body entry of the response stored at key: key + 0x1D +
 * the body id (16 hex digits). */
static int body_key(const char *key, uint64_t id, char **out)
{
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio_buf_appendf(&b, "%s\x1d%016" PRIx64, key, id);
    if (!rc)
        rc = goio__hc_key_take(&b, GOIO_CACHE_MAX_KEY, out);
    goio_buf_deinit(&b);
    return rc;
}

int goio__hc_load_body(goio__hc_call *k, goio__hc_stored *st)
{
    goio__hc_view *v = &st->view;
    if (!st->found || !v->body_ref || v->body)
        return 0;
    st->pin = goio__hc_hot_get(k->c->hot, v->body_id, v->body_len,
                               goio__hc_now(k->c));
    if (st->pin) {
        v->body = goio__hc_blob_data(st->pin);
        return 0;
    }
    char *key = NULL;
    bool hit = false;
    int rc = body_key(st->key, v->body_id, &key);
    if (!rc)
        rc = read_key(k, key, &st->body, &hit);
    if (rc == GOIO_ENOMEM) {
        goio_free(key);
        return rc;
    }
    if (hit && goio__hc_body_check(st->body.data, st->body.len, v->body_id,
                                   v->body_len)) {
        v->body = st->body.data;
    } else {
        /* Evicted apart from its entry (or foreign bytes): the entry is
         * of no use any more. */
        if (hit)
            log_bad(k, key, GOIO_EBADMSG);
        goio__hc_remove(k, st);
        st->found = false;
    }
    goio_free(key);
    return 0;
}

void goio__hc_stored_free(goio__hc_stored *st)
{
    goio_buf_deinit(&st->bytes);
    goio_buf_deinit(&st->body);
    goio__hc_blob_unref(st->pin);
    goio__hc_view_free(&st->view);
    goio_free(st->variant);
    goio__hc_names_free(st->names, st->nnames);
    memset(st, 0, sizeof *st);
}

/* ---- writing ------------------------------------------------------------- */

static int write_key(goio_http_cache *c, goio_ctx *ctx, const char *key,
                     const goio_buf *b, int64_t ttl_ms)
{
    int rc = goio_cache_set(c->storage, ctx, key, b->data, b->len, ttl_ms);
    if (rc == 0) {
        goio__hc_bump(&c->stores);
        return 0;
    }
    /* A response larger than the storage takes is expected now and then;
     * other failures deserve attention. */
    goio_log(rc == GOIO_E2BIG ? GOIO_LOG_INFO : GOIO_LOG_WARN, "http_cache",
             "set_cache_error", key, rc,
             "storing the response failed; it is still returned");
    return rc;
}

static void del_key(goio_http_cache *c, goio_ctx *ctx, const char *key)
{
    int rc = goio_cache_del(c->storage, ctx, key);
    if (rc)
        goio_log(GOIO_LOG_WARN, "http_cache", "set_cache_error", key, rc,
                 "removing a stored response failed");
}

static void del_body(goio_http_cache *c, goio_ctx *ctx, const char *key,
                     uint64_t id)
{
    char *bk = NULL;
    goio__hc_hot_drop(c->hot, id);
    if (body_key(key, id, &bk) == 0)
        del_key(c, ctx, bk);
    goio_free(bk);
}

void goio__hc_remove_body(goio__hc_call *k, const goio__hc_stored *st)
{
    if (st->key && st->view.body_ref)
        del_body(k->c, k->ctx, st->key, st->view.body_id);
}

void goio__hc_remove(goio__hc_call *k, const goio__hc_stored *st)
{
    if (!st->key)
        return;
    del_key(k->c, k->ctx, st->key);
    goio__hc_remove_body(k, st);
}

int goio__hc_invalidate_key(goio_http_cache *c, goio_ctx *ctx, const char *key)
{
    /* A response entry's separate body goes too; a Vary index's variants
     * (and their bodies) become unreachable and age out of storage. */
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    goio__hc_view v;
    int rc = goio_cache_get(c->storage, ctx, key, &b, &hit);
    if (!rc && hit && goio__hc_entry_kind(b.data, b.len) == 'R' &&
        goio__hc_entry_decode(b.data, b.len, &v) == 0) {
        if (v.body_ref)
            del_body(c, ctx, key, v.body_id);
        goio__hc_view_free(&v);
    }
    goio_buf_deinit(&b);
    return goio_cache_del(c->storage, ctx, key);
}

static bool same_names(const goio__hc_stored *st, char *const *names, size_t n)
{
    if (!st->indexed || st->nnames != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(st->names[i], names[i]))
            return false;
    return true;
}

/* Writes the body entry (if apart) and then the response entry at key. */
static void write_entry(goio_http_cache *c, goio_ctx *ctx, const char *key,
                        const goio__hc_encoded *e, int64_t keep_ms)
{
    if (e->body.len) {
        char *bk = NULL;
        int rc = body_key(key, e->body_id, &bk);
        if (!rc && !write_key(c, ctx, bk, &e->body, keep_ms))
            goio__hc_hot_put(c->hot, e->body_id, e->body.data,
                             e->body.len - GOIO__HC_BODY_TRAILER,
                             goio__hc_now(c) + keep_ms);
        goio_free(bk);
        if (rc)
            return; /* no room for the body's key: not stored */
    }
    write_key(c, ctx, key, &e->meta, keep_ms);
}

/* Writes (or refreshes) the URL's index and the variant for k. */
static void store_variant(goio__hc_call *k, goio__hc_stored *st,
                          char *const *names, size_t nnames,
                          const goio__hc_encoded *e, int64_t keep_ms)
{
    goio_http_cache *c = k->c;
    uint64_t gen =
        same_names(st, names, nnames) ? st->generation : goio_random_u64();
    goio_buf index = GOIO_BUF_INIT;
    goio__hc_hlist values = {0};
    char *key = NULL;
    int rc = goio__hc_index_encode(&index, gen, k->url,
                                   (const char *const *)names, nnames);
    if (!rc)
        rc = goio__hc_vary_values(k, names, nnames, &values);
    if (!rc)
        rc = variant_key(k->primary, gen, &values, &key);
    if (!rc) {
        /* The index lives the whole max age, so it never expires before
         * a variant it leads to. */
        write_key(c, k->ctx, k->primary, &index, c->policy.max_age_ms);
        write_entry(c, k->ctx, key, e, keep_ms);
    } else if (rc != GOIO_E2BIG) {
        goio_log(GOIO_LOG_WARN, "http_cache", "set_cache_error", k->url, rc,
                 "storing a Vary'd response failed; it is still returned");
    }
    goio_free(key);
    goio__hc_hlist_free(&values);
    goio_buf_deinit(&index);
}

void goio__hc_store(goio__hc_call *k, goio__hc_stored *st, char *const *names,
                    size_t nnames, const goio__hc_encoded *e, int64_t keep_ms)
{
    if (nnames)
        store_variant(k, st, names, nnames, e, keep_ms);
    else
        write_entry(k->c, k->ctx, k->primary, e, keep_ms);
}
