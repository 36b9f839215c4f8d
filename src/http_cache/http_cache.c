/* SPDX-License-Identifier: MIT */
/*
 * http_cache: the client, the request flow and responses (see
 * goio/http_cache.h for the rules). A GET looks in storage first; a fresh
 * response is returned from there; otherwise one caller per stored
 * response (a sharedflight) asks the origin - conditionally when there is
 * something to revalidate - and stores what may be stored.
 */
#include "http_cache_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- responses ----------------------------------------------------------- */

/* What a request produced: the encoded response (entry, separate body)
 * and how it came about. Flights share one between their callers. */
typedef struct result {
    goio__hc_encoded e;
    goio_http_cache_served served;
    int origin_error, origin_status;
    char *reason; /* the origin's reason phrase (network results) */
} result;

static void result_clear(result *r)
{
    goio_buf_deinit(&r->e.meta);
    goio_buf_deinit(&r->e.body);
    goio__hc_blob_unref(r->e.pin);
    r->e.pin = NULL;
    goio_free(r->reason);
    r->reason = NULL;
}

/* Keeps the reason phrase of the exchange that produced r. */
static int take_reason(result *r, const goio__hc_exchange *ex)
{
    goio_free(r->reason);
    r->reason = goio_strdup(ex->reason);
    return r->reason ? 0 : GOIO_ENOMEM;
}

static void result_free(void *p)
{
    if (!p)
        return;
    result_clear(p);
    goio_free(p);
}

typedef struct response {
    goio_http_cache_response pub;
    goio__hc_view view;
    result own;                    /* the bytes, when owned */
    goio_sharedflight_result *ref; /* or the flight result holding them */
    char age[24];
    char range[64], length[24]; /* a 206 made from a stored 200 */
} response;

void goio_http_cache_response_free(goio_http_cache_response *pub)
{
    response *r = (response *)pub;
    if (!r)
        return;
    goio__hc_view_free(&r->view);
    result_clear(&r->own);
    goio_sharedflight_result_unref(r->ref);
    goio_free(r);
}

/* The freshness facts of a stored response at the client's now. */
static void stored_freshness(goio_http_cache *c, const goio__hc_view *v,
                             goio__hc_fresh *f)
{
    goio__hc_freshness(&c->policy, v->status, v->headers, v->nheaders,
                       v->request_time_ms, v->response_time_ms, goio__hc_now(c),
                       f);
}

/* Responses served from storage say how old they are (RFC 9111 5.1).
 * age_ms < 0: work it out from the entry. */
static void set_age(response *r, goio_http_cache *c, int64_t age_ms)
{
    goio__hc_view *v = &r->view;
    if (age_ms < 0) {
        goio__hc_fresh f;
        stored_freshness(c, v, &f);
        age_ms = f.age_ms;
    }
    snprintf(r->age, sizeof r->age, "%lld", (long long)(age_ms / 1000));
    for (size_t i = 0; i < v->nheaders; i++) {
        if (!strcasecmp(v->headers[i].name, "Age")) {
            v->headers[i].value = r->age;
            return;
        }
    }
    /* decode left a spare slot for this */
    v->headers[v->nheaders++] = (goio_http_cache_header){"Age", r->age};
}

/* Leaves out the fields this cache consumed (Surrogate-Control) and,
 * for a response served without the origin (`unvalidated`), those its
 * qualified no-cache="..." lists (RFC 9111 section 5.2.2.4). The lists
 * are read once (at most GOIO__HC_MAX_NO_CACHE_NAMES names: a response
 * naming more is served without any field, as when out of memory - never
 * a listed one), so a hit costs fields x 64 comparisons at most. */
static void drop_fields(const goio__hc_policy *p, goio__hc_view *v,
                        bool unvalidated)
{
    goio__hc_cc cc = {0};
    if (unvalidated)
        goio__hc_cc_parse(v->headers, v->nheaders, &cc);
    goio__hc_name names[GOIO__HC_MAX_NO_CACHE_NAMES];
    size_t nnames = 0;
    if (cc.flags & GOIO__HC_NO_CACHE_FIELDS) {
        /* The names point into the values, which compacting leaves in
         * place (it moves only the entries); a list may even name
         * Cache-Control. */
        nnames = goio__hc_no_cache_names(v->headers, v->nheaders, names,
                                         GOIO__HC_MAX_NO_CACHE_NAMES);
        if (nnames > GOIO__HC_MAX_NO_CACHE_NAMES) {
            v->nheaders = 0;
            return;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < v->nheaders; i++) {
        const char *name = v->headers[i].name;
        bool listed = goio__hc_consumed_field(p, name);
        size_t len = listed ? 0 : strlen(name);
        for (size_t j = 0; j < nnames && !listed; j++)
            listed = names[j].len == len && !strncasecmp(names[j].p, name, len);
        if (!listed)
            v->headers[n++] = v->headers[i];
    }
    v->nheaders = n;
}

/* Points the view at its separate body entry, checked. */
static int attach_body(goio__hc_view *v, const goio__hc_encoded *e)
{
    if (!v->body_ref || v->body)
        return 0;
    if (e->pin) {
        if (!goio__hc_blob_is(e->pin, v->body_id, v->body_len))
            return GOIO_EIO; /* cannot happen: checked when taken */
        v->body = goio__hc_blob_data(e->pin);
        return 0;
    }
    if (!goio__hc_body_check(e->body.data, e->body.len, v->body_id,
                             v->body_len))
        return GOIO_EIO; /* bytes goio made itself: cannot happen */
    v->body = e->body.data;
    return 0;
}

/*
 * A response over a result: `take` (moved into the response on success,
 * left to the caller on failure) or a reference to the flight result
 * `ref`. `view` (may be NULL) is the take's entry already decoded; it is
 * always consumed. age_ms: for responses from storage, < 0 to compute.
 */
static int response_new(goio__hc_call *k, result *take, goio__hc_view *view,
                        goio_sharedflight_result *ref, int64_t age_ms,
                        goio_http_cache_response **out)
{
    response *r = goio_calloc(1, sizeof *r);
    const result *res = take ? take : goio_sharedflight_result_value(ref);
    bool head = !strcmp(k->method, "HEAD");
    int rc = r ? 0 : GOIO_ENOMEM;
    if (view) {
        if (r)
            r->view = *view;
        else
            goio__hc_view_free(view);
        memset(view, 0, sizeof *view);
    } else if (!rc) {
        rc = goio__hc_entry_decode(res->e.meta.data, res->e.meta.len, &r->view);
        rc = rc == GOIO_EBADMSG ? GOIO_EIO : rc; /* our own bytes */
    }
    if (!rc && !head)
        rc = attach_body(&r->view, &res->e);
    if (rc) {
        if (r)
            goio__hc_view_free(&r->view);
        goio_free(r);
        return rc;
    }
    if (take) {
        r->own = *take;
        memset(take, 0, sizeof *take);
        res = &r->own;
    } else {
        r->ref = goio_sharedflight_result_ref(ref);
    }
    if (res->served != GOIO_HTTP_CACHE_NETWORK &&
        res->served != GOIO_HTTP_CACHE_GENERATED)
        set_age(r, k->c, age_ms);
    drop_fields(&k->c->policy, &r->view,
                res->served == GOIO_HTTP_CACHE_HIT ||
                    res->served == GOIO_HTTP_CACHE_STALE);
    r->pub = (goio_http_cache_response){
        .status = r->view.status,
        .served = res->served,
        .headers = r->view.headers,
        .header_count = r->view.nheaders,
        .body = head || !r->view.body ? (const uint8_t *)"" : r->view.body,
        .body_len = head ? 0 : r->view.body_len,
        .origin_error = res->origin_error,
        .origin_status = res->origin_status,
        .reason = res->served == GOIO_HTTP_CACHE_NETWORK ? res->reason : NULL};
    *out = &r->pub;
    return 0;
}

/* A response that takes r (cleared either way). */
static int response_take(goio__hc_call *k, result *r,
                         goio_http_cache_response **out)
{
    int rc = response_new(k, r, NULL, NULL, -1, out);
    result_clear(r);
    return rc;
}

/* Moves what st found into r: the entry and its separate body. st keeps
 * its decoded view (pointing into r's bytes) but is no longer found. */
static void take_stored(goio__hc_stored *st, result *r)
{
    r->e.meta = st->bytes;
    r->e.body = st->body;
    r->e.body_id = st->view.body_id;
    r->e.pin = st->pin;
    st->pin = NULL;
    goio_buf_init(&st->bytes);
    goio_buf_init(&st->body);
    st->found = false;
}

const char *
goio_http_cache_response_get_header(const goio_http_cache_response *r,
                                    const char *name)
{
    if (!r || !name)
        return NULL;
    return goio__hc_header_get(r->headers, r->header_count, name);
}

const char *goio_http_cache_served_name(goio_http_cache_served s)
{
    switch (s) {
    case GOIO_HTTP_CACHE_NETWORK:
        return "network";
    case GOIO_HTTP_CACHE_HIT:
        return "hit";
    case GOIO_HTTP_CACHE_REVALIDATED:
        return "revalidated";
    case GOIO_HTTP_CACHE_STALE:
        return "stale";
    case GOIO_HTTP_CACHE_GENERATED:
        return "generated";
    }
    return "unknown";
}

/* ---- encoding what the origin sent --------------------------------------- */

/*
 * Encodes what the origin sent. A body above GOIO__HC_INLINE_MAX becomes a
 * body entry of its own, made from the exchange's buffer in place (no
 * copy): a 304 later rewrites only the small response entry.
 */
static int encode_exchange(goio__hc_call *k, goio__hc_exchange *ex,
                           const goio__hc_hlist *vary, goio__hc_encoded *e)
{
    bool apart = ex->body_out.len > GOIO__HC_INLINE_MAX;
    goio__hc_entry_in in = {.status = ex->status,
                            .request_time_ms = ex->request_time_ms,
                            .response_time_ms = ex->response_time_ms,
                            .url = k->url,
                            .vary = vary ? vary->v : NULL,
                            .nvary = vary ? vary->n : 0,
                            .headers = ex->resp.v,
                            .nheaders = ex->resp.n,
                            .body = ex->body_out.data,
                            .body_len = ex->body_out.len,
                            .body_ref = apart,
                            .body_id = apart ? goio_random_u64() : 0};
    int rc = goio__hc_entry_encode(&e->meta, &in);
    if (!rc && apart)
        rc = goio__hc_body_seal(&ex->body_out, in.body_id);
    if (!rc && apart) {
        e->body = ex->body_out;
        e->body_id = in.body_id;
        goio_buf_init(&ex->body_out);
    }
    return rc;
}

static void exchange_init(goio__hc_call *k, const char *method,
                          goio__hc_exchange *ex)
{
    memset(ex, 0, sizeof *ex);
    ex->method = method;
    ex->url = k->url;
    ex->headers = k->headers;
    ex->nheaders = k->nheaders;
    ex->surrogate_capability = k->c->surrogate_cap;
    ex->on_interim = k->on_interim;
    ex->interim_data = k->interim_data;
}

static int perform(goio__hc_call *k, goio__hc_exchange *ex, goio_ctx *ctx)
{
    goio__hc_bump(&k->c->origin_requests);
    return goio__hc_transport_perform(k->c->transport, ex, ctx);
}

/* ---- the origin's answers ------------------------------------------------ */

/* A full response to a GET: stored when the rules allow, else it removes
 * the stored response it supersedes. */
static int full_response(goio__hc_call *k, goio__hc_stored *st,
                         goio__hc_exchange *ex, result *r)
{
    goio_http_cache *c = k->c;
    goio__hc_fresh f;
    goio__hc_freshness(&c->policy, ex->status, ex->resp.v, ex->resp.n,
                       ex->request_time_ms, ex->response_time_ms,
                       ex->response_time_ms, &f);
    char **names = NULL;
    size_t nnames = 0;
    bool star = false;
    goio__hc_hlist vary = {0};
    int rc =
        goio__hc_vary_names(ex->resp.v, ex->resp.n, &names, &nnames, &star);
    if (!rc)
        rc = goio__hc_vary_values(k, names, nnames, &vary);
    if (!rc)
        rc = encode_exchange(k, ex, &vary, &r->e);
    int64_t keep = goio__hc_keep_ms(&c->policy, &f);
    if (rc) {
        /* nothing stored, nothing removed */
    } else if (!star && keep > 0 &&
               goio__hc_storable(&c->policy, &k->cc, k->auth, ex->status, &f)) {
        goio__hc_store(k, st, names, nnames, &r->e, keep);
        if (st->found)
            goio__hc_remove_body(k, st); /* the new one has a new id */
    } else if (st->found && ex->status < 500 &&
               !(k->cc.flags & GOIO__HC_NO_STORE)) {
        goio__hc_remove(k, st);
    }
    r->served = GOIO_HTTP_CACHE_NETWORK;
    if (!rc)
        rc = take_reason(r, ex);
    goio__hc_names_free(names, nnames);
    goio__hc_hlist_free(&vary);
    return rc;
}

/* Whether a 304 describes the stored response (see the header: weak ETag
 * comparison, else Last-Modified, else assumed). */
static bool validators_match(const goio__hc_stored *st,
                             const goio__hc_exchange *ex)
{
    const goio__hc_view *v = &st->view;
    const char *etag = goio__hc_header_get(ex->resp.v, ex->resp.n, "ETag");
    if (etag)
        return goio__hc_etag_weak_eq(
            etag, goio__hc_header_get(v->headers, v->nheaders, "ETag"));
    const char *lm =
        goio__hc_header_get(ex->resp.v, ex->resp.n, "Last-Modified");
    if (!lm)
        return true;
    const char *stored_lm =
        goio__hc_header_get(v->headers, v->nheaders, "Last-Modified");
    int64_t a, b;
    return stored_lm && !goio__hc_parse_date(lm, &a) &&
           !goio__hc_parse_date(stored_lm, &b) && a == b;
}

/* A 304 freshens the stored response: merged fields, new times, the same
 * body (a separate body is not rewritten). st's body is loaded. */
static int revalidated(goio__hc_call *k, goio__hc_stored *st,
                       const goio__hc_exchange *ex, result *r)
{
    goio_http_cache *c = k->c;
    const goio__hc_view *v = &st->view;
    goio__hc_hlist merged = {0};
    int rc = goio__hc_merge_304(v->headers, v->nheaders, ex->resp.v, ex->resp.n,
                                &merged);
    if (rc)
        return rc;
    goio__hc_entry_in in = {.status = v->status,
                            .request_time_ms = ex->request_time_ms,
                            .response_time_ms = ex->response_time_ms,
                            .url = k->url,
                            .vary = v->vary,
                            .nvary = v->nvary,
                            .headers = merged.v,
                            .nheaders = merged.n,
                            .body = v->body,
                            .body_len = v->body_len,
                            .body_ref = v->body_ref,
                            .body_id = v->body_id};
    rc = goio__hc_entry_encode(&r->e.meta, &in);
    if (!rc) {
        goio__hc_fresh f;
        goio__hc_freshness(&c->policy, v->status, merged.v, merged.n,
                           ex->request_time_ms, ex->response_time_ms,
                           ex->response_time_ms, &f);
        int64_t keep = goio__hc_keep_ms(&c->policy, &f);
        /* Back where it was read: the URL's key, or the same variant
         * (whose index is rewritten with its generation kept). Only the
         * response entry: the body entry stays as it is. */
        goio__hc_encoded entry_only = {.meta = r->e.meta};
        if (keep > 0 &&
            goio__hc_storable(&c->policy, &k->cc, k->auth, v->status, &f))
            goio__hc_store(k, st, st->indexed ? st->names : NULL,
                           st->indexed ? st->nnames : 0, &entry_only, keep);
        else
            goio__hc_remove(k, st);
        r->e.body = st->body;
        r->e.body_id = v->body_id;
        r->e.pin = st->pin;
        st->pin = NULL;
        goio_buf_init(&st->body);
        r->served = GOIO_HTTP_CACHE_REVALIDATED;
    }
    goio__hc_hlist_free(&merged);
    return rc;
}

/* Failures of the origin that stale-if-error serves around (not the
 * caller's own ctx, memory, or limits it set). */
static bool origin_failed(int rc, int status)
{
    switch (rc) {
    case 0:
        return status == 500 || status == 502 || status == 503 || status == 504;
    case GOIO_ECONNREFUSED:
    case GOIO_EHOSTUNREACH:
    case GOIO_ECONNRESET:
    case GOIO_ETIMEDOUT:
    case GOIO_ETRUNCATED:
    case GOIO_EPROTO:
    case GOIO_EIO:
        return true;
    default:
        return false;
    }
}

/* Serves the stored response because the origin failed, if allowed.
 * Returns 1 when it did, 0 when not, or GOIO_ENOMEM. */
static int serve_stale_on_error(goio__hc_call *k, goio__hc_stored *st, int rc,
                                int status, result *r)
{
    goio_http_cache *c = k->c;
    /* a stored error is no better than the origin's */
    if (!st->found || st->view.status >= 500)
        return 0;
    goio__hc_fresh f;
    stored_freshness(c, &st->view, &f);
    if (!goio__hc_stale_if_error_ok(&c->policy, &f, &k->cc))
        return 0;
    int lrc = goio__hc_load_body(k, st);
    if (lrc || !st->found)
        return lrc;
    take_stored(st, r);
    r->served = GOIO_HTTP_CACHE_STALE;
    r->origin_error = rc;
    r->origin_status = rc ? 0 : status;
    goio_log(GOIO_LOG_WARN, "http_cache", "used_stale_cache", k->url,
             rc ? rc : GOIO_EFETCH,
             "origin failed (%s, status %d); serving a stale response",
             rc ? goio_err_name(rc) : "no error", status);
    return 1;
}

/* After a 304 to a conditional request: whether the stored response can
 * be used (it is the one described, and its body is still there). */
static int usable_after_304(goio__hc_call *k, goio__hc_stored *st,
                            const goio__hc_exchange *ex, bool *usable)
{
    *usable = validators_match(st, ex);
    int rc = *usable ? goio__hc_load_body(k, st) : 0;
    *usable = *usable && st->found;
    return rc;
}

/* Asks the origin for k's URL (conditionally when st has validators). */
static int ask_origin(goio__hc_call *k, goio__hc_stored *st, goio_ctx *ctx,
                      result *r)
{
    goio__hc_exchange ex;
    exchange_init(k, "GET", &ex);
    if (st->found) {
        const goio__hc_view *v = &st->view;
        ex.if_none_match = goio__hc_header_get(v->headers, v->nheaders, "ETag");
        ex.if_modified_since =
            goio__hc_header_get(v->headers, v->nheaders, "Last-Modified");
    }
    bool conditional = ex.if_none_match || ex.if_modified_since, usable = true;
    int rc = perform(k, &ex, ctx);
    if (!rc && conditional && ex.status == 304)
        rc = usable_after_304(k, st, &ex, &usable);
    if (!rc && !usable) {
        /* Not about the stored response, or its body is gone: ask again
         * for the whole one. */
        goio__hc_exchange_free(&ex);
        exchange_init(k, "GET", &ex);
        conditional = false;
        rc = perform(k, &ex, ctx);
    }
    int stale = 0;
    if (!goio_ctx_err(ctx) && origin_failed(rc, ex.status))
        stale = serve_stale_on_error(k, st, rc, ex.status, r);
    if (stale)
        rc = stale < 0 ? stale : 0;
    else if (!rc && conditional && ex.status == 304)
        rc = revalidated(k, st, &ex, r);
    else if (!rc)
        rc = full_response(k, st, &ex, r);
    goio__hc_exchange_free(&ex);
    return rc;
}

/* ---- flights ------------------------------------------------------------- */

/* Whether st holds a response fresh enough for k (the flight's second
 * look: another flight may have stored one since k's first). */
static bool fresh_for(goio__hc_call *k, const goio__hc_stored *st)
{
    if (k->strict || !st->found)
        return false;
    goio__hc_fresh f;
    stored_freshness(k->c, &st->view, &f);
    return goio__hc_usable_fresh(&f, &k->cc, k->no_cache);
}

/* The flight's work: look again, else ask the origin. Runs on the first
 * caller's thread. */
static int flight_fn(goio_ctx *ctx, void **value, void *arg)
{
    goio__hc_call *k = arg;
    k->ran = true;
    result *r = goio_calloc(1, sizeof *r);
    if (!r)
        return GOIO_ENOMEM;
    goio_ctx *own = k->ctx;
    k->ctx = ctx; /* storage calls inside the flight: the flight's ctx */
    goio__hc_stored st;
    k->quiet = true;
    int rc = goio__hc_lookup(k, &st);
    bool fresh = !rc && fresh_for(k, &st);
    if (fresh)
        rc = goio__hc_load_body(k, &st);
    k->quiet = false;
    if (!rc && fresh && st.found) {
        take_stored(&st, r);
        r->served = GOIO_HTTP_CACHE_HIT;
    } else if (!rc) {
        rc = ask_origin(k, &st, ctx, r);
    }
    goio__hc_stored_free(&st);
    k->ctx = own;
    if (rc) {
        result_free(r);
        return rc;
    }
    *value = r;
    return 0;
}

static int solo(goio__hc_call *k, goio__hc_stored *st, goio_ctx *ctx,
                goio_http_cache_response **out)
{
    result r = {0};
    int rc = ask_origin(k, st, ctx, &r);
    if (!rc)
        rc = response_take(k, &r, out);
    result_clear(&r);
    return rc;
}

/* Validation requests share flights only among themselves: a plain
 * flight may answer from storage, which they did not want. */
static int flight_key(const goio__hc_call *k, const char *key, char **out)
{
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio_buf_appendf(&b, "%s%s", key, k->strict ? "\x1fvalidate" : "");
    if (!rc)
        rc = goio__hc_key_take(&b, SIZE_MAX, out);
    goio_buf_deinit(&b);
    return rc;
}

static int fly(goio__hc_call *k, goio__hc_stored *st, goio_ctx *ctx,
               goio_http_cache_response **out)
{
    char *key;
    int rc = flight_key(k, st->key, &key);
    if (rc)
        return rc;
    goio_sharedflight_result *res = NULL;
    rc = goio_sharedflight_do(k->c->flights, ctx, key, flight_fn, k,
                              result_free, &res, NULL);
    goio_free(key);
    if (!rc)
        rc = response_new(k, NULL, NULL, res, -1, out);
    goio_sharedflight_result_unref(res);
    if (rc || k->ran)
        return rc;
    /* A follower: the leader's response may vary on fields where this
     * request differs. */
    response *resp = (response *)*out;
    if (!goio__hc_vary_match(k, &resp->view)) {
        goio_http_cache_response_free(*out);
        *out = NULL;
        return solo(k, st, ctx, out);
    }
    (*out)->shared = true;
    goio__hc_bump(&k->c->shared);
    return 0;
}

/* ---- the request flow ---------------------------------------------------- */

static int generated_504(goio__hc_call *k, goio_http_cache_response **out)
{
    goio__hc_exchange ex;
    exchange_init(k, "GET", &ex);
    ex.status = 504;
    ex.request_time_ms = ex.response_time_ms = goio__hc_now(k->c);
    result r = {.served = GOIO_HTTP_CACHE_GENERATED};
    int rc = encode_exchange(k, &ex, NULL, &r.e);
    if (!rc)
        rc = response_take(k, &r, out);
    result_clear(&r);
    return rc;
}

static void invalidate_ref(goio__hc_call *k, const char *field,
                           const goio__hc_exchange *ex)
{
    const char *ref = goio__hc_header_get(ex->resp.v, ex->resp.n, field);
    char *url = NULL;
    if (ref && goio__hc_url_same_origin(k->url, ref, &url) == 0 && url)
        goio_http_cache_invalidate(k->c, k->ctx, url);
    goio_free(url);
}

static bool is_safe(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD") ||
           !strcmp(method, "OPTIONS") || !strcmp(method, "TRACE");
}

/* Anything the cache does not answer: straight to the origin. Unsafe
 * methods that succeed invalidate (RFC 9111 section 4.4). */
static int forward(goio__hc_call *k, goio_ctx *ctx,
                   goio_http_cache_response **out)
{
    goio__hc_exchange ex;
    exchange_init(k, k->method, &ex);
    ex.body = k->body;
    ex.body_len = k->body_len;
    int rc = perform(k, &ex, ctx);
    if (!rc && !is_safe(k->method) && ex.status >= 200 && ex.status < 400) {
        goio_http_cache_invalidate(k->c, k->ctx, k->url);
        invalidate_ref(k, "Location", &ex);
        invalidate_ref(k, "Content-Location", &ex);
    }
    result r = {.served = GOIO_HTTP_CACHE_NETWORK};
    if (!rc)
        rc = encode_exchange(k, &ex, NULL, &r.e);
    if (!rc)
        rc = take_reason(&r, &ex);
    if (!rc)
        rc = response_take(k, &r, out);
    result_clear(&r);
    goio__hc_exchange_free(&ex);
    return rc;
}

/* ---- stale-while-revalidate: background revalidations ------------------- */

static int call_init(goio_http_cache *c, const goio_http_cache_request *req,
                     goio__hc_call *k);
static void call_free(goio__hc_call *k);

/* A revalidation that outlives the request that started it: its own copy
 * of the request. */
typedef struct background {
    goio__hc_call k;
    goio_http_cache_header *headers;
    size_t nheaders;
} background;

static void background_free(background *b)
{
    call_free(&b->k);
    for (size_t i = 0; i < b->nheaders; i++) {
        goio_free((char *)b->headers[i].name);
        goio_free((char *)b->headers[i].value);
    }
    goio_free(b->headers);
    goio_free(b);
}

static void background_end(goio_http_cache *c)
{
    pthread_mutex_lock(&c->bg_mu);
    if (--c->bg_running == 0)
        pthread_cond_broadcast(&c->bg_cv);
    pthread_mutex_unlock(&c->bg_mu);
}

static void background_done(int status, goio_sharedflight_result *res,
                            bool shared, void *data)
{
    (void)status;
    (void)shared;
    background *b = data;
    goio_http_cache *c = b->k.c;
    goio_sharedflight_result_unref(res);
    background_free(b);
    background_end(c);
}

static int background_new(const goio__hc_call *k, background **out)
{
    background *b = goio_calloc(1, sizeof *b);
    if (!b)
        return GOIO_ENOMEM;
    b->headers = goio_calloc(k->nheaders ? k->nheaders : 1, sizeof *b->headers);
    int rc = b->headers ? 0 : GOIO_ENOMEM;
    for (size_t i = 0; !rc && i < k->nheaders; i++) {
        b->headers[i].name = goio_strdup(k->headers[i].name);
        b->headers[i].value = goio_strdup(k->headers[i].value);
        b->nheaders = i + 1;
        if (!b->headers[i].name || !b->headers[i].value)
            rc = GOIO_ENOMEM;
    }
    goio_http_cache_request req = {.method = "GET",
                                   .url = k->url,
                                   .headers = b->headers,
                                   .header_count = b->nheaders};
    if (!rc)
        rc = call_init(k->c, &req, &b->k);
    if (rc) {
        background_free(b);
        return rc;
    }
    b->k.ctx = NULL;
    *out = b;
    return 0;
}

/* Starts the revalidation of st in the background, one per stored
 * response: it joins a flight already on its way. Failures only cost the
 * revalidation (the next request tries again). */
static void revalidate_in_background(goio__hc_call *k, goio__hc_stored *st)
{
    goio_http_cache *c = k->c;
    background *b = NULL;
    char *key = NULL;
    int rc = background_new(k, &b);
    if (!rc)
        rc = flight_key(&b->k, st->key, &key);
    if (rc) {
        if (b)
            background_free(b);
        return;
    }
    pthread_mutex_lock(&c->bg_mu);
    c->bg_running++;
    pthread_mutex_unlock(&c->bg_mu);
    rc = goio_sharedflight_do_async(c->flights, NULL, key, flight_fn, &b->k,
                                    result_free, background_done, b);
    goio_free(key);
    if (rc) {
        background_free(b);
        background_end(c);
        return;
    }
    goio__hc_bump(&c->background);
}

/* A stored response usable without the origin: fresh, stale within the
 * request's max-stale, or stale within its stale-while-revalidate window
 * (*revalidate: start a background revalidation). */
static bool from_storage(goio__hc_call *k, goio__hc_stored *st,
                         goio_http_cache_served *served, int64_t *age_ms,
                         bool *revalidate)
{
    *revalidate = false;
    if (!st->found)
        return false;
    goio__hc_fresh f;
    stored_freshness(k->c, &st->view, &f);
    *age_ms = f.age_ms;
    if (goio__hc_usable_fresh(&f, &k->cc, k->no_cache)) {
        *served = GOIO_HTTP_CACHE_HIT;
        return true;
    }
    if (!k->no_cache && goio__hc_max_stale_ok(&k->c->policy, &f, &k->cc)) {
        *served = GOIO_HTTP_CACHE_STALE;
        return true;
    }
    if (!k->strict && st->key && goio__hc_swr_ok(&k->c->policy, &f)) {
        *served = GOIO_HTTP_CACHE_STALE;
        *revalidate = true;
        return true;
    }
    return false;
}

/* Serves st (found, usable) as `served`; *done false when its separate
 * body turned out to be gone. */
static int serve_stored(goio__hc_call *k, goio__hc_stored *st,
                        goio_http_cache_served served, int64_t age_ms,
                        goio_http_cache_response **out, bool *done)
{
    /* HEAD needs no body */
    int rc = strcmp(k->method, "HEAD") ? goio__hc_load_body(k, st) : 0;
    *done = !rc && st->found;
    if (rc || !*done)
        return rc;
    result r = {.served = served};
    goio__hc_view view = st->view;
    memset(&st->view, 0, sizeof st->view);
    take_stored(st, &r);
    rc = response_new(k, &r, &view, NULL, age_ms, out);
    result_clear(&r);
    return rc;
}

/* Whether a 200 to a HEAD describes the stored response (RFC 9111
 * section 4.3.5): the validators it has match (as for a 304), and its
 * Content-Length, if any, is the stored response's (its field, else its
 * body's length). */
static bool head_matches(const goio__hc_stored *st, const goio__hc_exchange *ex)
{
    const goio__hc_view *v = &st->view;
    const char *a =
        goio__hc_header_get(ex->resp.v, ex->resp.n, "Content-Length");
    const char *b =
        goio__hc_header_get(v->headers, v->nheaders, "Content-Length");
    char len[32];
    if (a && !b) {
        snprintf(len, sizeof len, "%llu", (unsigned long long)v->body_len);
        b = len;
    }
    if (a && strcmp(a, b))
        return false;
    return validators_match(st, ex);
}

/*
 * A HEAD the stored response cannot answer goes to the origin; a 200 that
 * describes the stored GET response updates it as a 304 would (RFC 9111
 * section 4.3.5: fields, freshness) and the caller gets the merged
 * fields; one that does not (other validators or length) removes it.
 */
static int head_through(goio__hc_call *k, goio__hc_stored *st, goio_ctx *ctx,
                        goio_http_cache_response **out)
{
    if (!st->found || !st->key)
        return forward(k, ctx, out);
    goio__hc_exchange ex;
    exchange_init(k, "HEAD", &ex);
    int rc = perform(k, &ex, ctx);
    bool update = !rc && ex.status == 200 && head_matches(st, &ex);
    if (update) {
        rc = goio__hc_load_body(k, st);
        update = !rc && st->found;
    } else if (!rc && ex.status == 200 && !(k->cc.flags & GOIO__HC_NO_STORE)) {
        goio__hc_remove(k, st);
    }
    result r = {.served = GOIO_HTTP_CACHE_NETWORK};
    if (!rc && update)
        rc = revalidated(k, st, &ex, &r);
    else if (!rc)
        rc = encode_exchange(k, &ex, NULL, &r.e);
    if (!rc && r.served == GOIO_HTTP_CACHE_NETWORK)
        rc = take_reason(&r, &ex);
    if (!rc)
        rc = response_take(k, &r, out);
    result_clear(&r);
    goio__hc_exchange_free(&ex);
    return rc;
}

/* GET and HEAD: from storage when allowed, else from the origin. */
static int lookup_and_serve(goio__hc_call *k, goio__hc_stored *st,
                            goio_ctx *ctx, goio_http_cache_response **out)
{
    goio_http_cache_served served;
    int64_t age_ms;
    bool revalidate;
    if (from_storage(k, st, &served, &age_ms, &revalidate)) {
        if (revalidate)
            revalidate_in_background(k, st);
        bool done;
        int rc = serve_stored(k, st, served, age_ms, out, &done);
        if (rc || done)
            return rc;
    }
    if (k->cc.flags & GOIO__HC_ONLY_IF_CACHED)
        return generated_504(k, out);
    if (!strcmp(k->method, "HEAD"))
        return head_through(k, st, ctx, out);
    if ((k->cc.flags & GOIO__HC_NO_STORE) || !st->key)
        return solo(k, st, ctx, out);
    return fly(k, st, ctx, out);
}

static int cached(goio__hc_call *k, goio_ctx *ctx,
                  goio_http_cache_response **out)
{
    goio__hc_stored st;
    int rc = goio__hc_lookup(k, &st);
    if (!rc)
        rc = lookup_and_serve(k, &st, ctx, out);
    goio__hc_stored_free(&st);
    return rc;
}

/* ---- requests: validation and setup -------------------------------------- */

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

static bool headers_valid(const goio_http_cache_header *h, size_t n)
{
    if (n && !h)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_token(h[i].name) || !h[i].value || strpbrk(h[i].value, "\r\n"))
            return false;
    return true;
}

/* Requests the cache stays out of: a range, or the caller's own
 * preconditions that can fail with 412 (If-None-Match and
 * If-Modified-Since are answered by the cache, see below). */
static bool bypasses(const goio__hc_call *k)
{
    static const char *const fields[] = {"If-Match", "If-Unmodified-Since",
                                         "If-Range"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (goio__hc_header_get(k->headers, k->nheaders, fields[i]))
            return true;
    return !k->primary;
}

/* The storage key of a normalised URL: the prefix, then the URL.
 * GOIO_E2BIG when longer than a key may be. */
static int url_key(const goio_http_cache *c, const char *url, char **out)
{
    goio_buf b = GOIO_BUF_INIT;
    int rc = goio_buf_appendf(&b, "%s%s", c->prefix, url);
    if (!rc)
        rc = goio__hc_key_take(&b, GOIO_CACHE_MAX_KEY, out);
    goio_buf_deinit(&b);
    return rc;
}

static int call_init(goio_http_cache *c, const goio_http_cache_request *req,
                     goio__hc_call *k)
{
    memset(k, 0, sizeof *k);
    k->c = c;
    k->method = req->method ? req->method : "GET";
    k->headers = req->headers;
    k->nheaders = req->header_count;
    k->body = req->body;
    k->body_len = req->body_len;
    k->on_interim = req->on_interim;
    k->interim_data = req->interim_data;
    int rc = goio__hc_url_normalize(req->url, &k->url);
    if (rc)
        return rc;
    rc = url_key(c, k->url, &k->primary);
    if (rc && rc != GOIO_E2BIG) /* too long: no primary, not cached */
        return rc;
    goio__hc_cc_parse(k->headers, k->nheaders, &k->cc);
    const char *pragma = goio__hc_header_get(k->headers, k->nheaders, "Pragma");
    bool has_cc = goio__hc_header_get(k->headers, k->nheaders, "Cache-Control");
    k->no_cache =
        (k->cc.flags & (GOIO__HC_NO_CACHE | GOIO__HC_NO_CACHE_FIELDS)) ||
        (!has_cc && pragma && goio__hc_list_has(pragma, "no-cache"));
    k->strict = k->no_cache || k->cc.max_age != GOIO__HC_ABSENT ||
                k->cc.min_fresh != GOIO__HC_ABSENT;
    k->auth = goio__hc_header_get(k->headers, k->nheaders, "Authorization");
    return 0;
}

static void call_free(goio__hc_call *k)
{
    goio_free(k->url);
    goio_free(k->primary);
}

static void count_served(goio_http_cache *c, const goio_http_cache_response *r)
{
    switch (r->served) {
    case GOIO_HTTP_CACHE_HIT:
        goio__hc_bump(&c->hits);
        break;
    case GOIO_HTTP_CACHE_REVALIDATED:
        goio__hc_bump(&c->revalidated);
        break;
    case GOIO_HTTP_CACHE_STALE:
        goio__hc_bump(&c->stale_served);
        break;
    default:
        break;
    }
}

/* ---- ranges answered from a stored complete response ----------------------
 *
 * A GET with one byte range (RFC 9110 section 14.1.2: first-last, first-,
 * -suffix) is answered with a 206 from a stored 200 that may be served
 * without the origin (fresh, or within the request's max-stale). Anything
 * else - several ranges, an unsatisfiable one, nothing usable stored, a
 * conditional - goes to the origin, whose answer is not stored. */

static bool range_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

bool goio__hc_range_parse(const char *range, uint64_t total, uint64_t *first,
                          uint64_t *last)
{
    const char *p = range;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "bytes", 5))
        return false;
    p += 5;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    uint64_t a = 0, b = UINT64_MAX;
    if (*p == '-') {
        p++;
        if (!range_digits(&p, &b) || b == 0 || total == 0)
            return false;
        a = b >= total ? 0 : total - b;
        b = total - 1;
    } else {
        if (!range_digits(&p, &a) || *p++ != '-')
            return false;
        if (*p >= '0' && *p <= '9' && !range_digits(&p, &b))
            return false;
        if (a > b || a >= total)
            return false;
        if (b >= total)
            b = total - 1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) /* several ranges, or junk */
        return false;
    *first = a;
    *last = b;
    return true;
}

/* Turns a response made from a stored 200 into the 206 for
 * [first, last]: Content-Range added (a spare slot), Content-Length
 * replaced. */
static void make_partial(goio_http_cache_response *pub, uint64_t first,
                         uint64_t last)
{
    response *r = (response *)pub;
    goio__hc_view *v = &r->view;
    snprintf(r->range, sizeof r->range, "bytes %llu-%llu/%llu",
             (unsigned long long)first, (unsigned long long)last,
             (unsigned long long)v->body_len);
    snprintf(r->length, sizeof r->length, "%llu",
             (unsigned long long)(last - first + 1));
    for (size_t i = 0; i < v->nheaders; i++)
        if (!strcasecmp(v->headers[i].name, "Content-Length"))
            v->headers[i].value = r->length;
    v->headers[v->nheaders++] =
        (goio_http_cache_header){"Content-Range", r->range};
    pub->header_count = v->nheaders;
    pub->status = 206;
    pub->body += first;
    pub->body_len = (size_t)(last - first + 1);
}

static int cached_range(goio__hc_call *k, goio_ctx *ctx,
                        goio_http_cache_response **out)
{
    const char *range = goio__hc_header_get(k->headers, k->nheaders, "Range");
    goio__hc_stored st;
    int rc = goio__hc_lookup(k, &st);
    if (rc)
        return rc;
    goio_http_cache_served served;
    int64_t age_ms;
    bool revalidate, done = false;
    uint64_t first, last;
    if (from_storage(k, &st, &served, &age_ms, &revalidate) && !revalidate &&
        st.view.status == 200 &&
        goio__hc_range_parse(range, st.view.body_len, &first, &last)) {
        rc = serve_stored(k, &st, served, age_ms, out, &done);
        if (!rc && done)
            make_partial(*out, first, last);
    }
    goio__hc_stored_free(&st);
    if (rc || done)
        return rc;
    if (k->cc.flags & GOIO__HC_ONLY_IF_CACHED)
        return generated_504(k, out);
    return forward(k, ctx, out);
}

/* Whether k is a GET for one range the cache may answer. */
static bool range_request(const goio__hc_call *k)
{
    const goio_http_cache_header *h = k->headers;
    size_t n = k->nheaders, ranges = 0;
    for (size_t i = 0; i < n; i++)
        ranges += !strcasecmp(h[i].name, "Range");
    return ranges == 1 && !strcmp(k->method, "GET") &&
           !goio__hc_header_get(h, n, "If-None-Match") &&
           !goio__hc_header_get(h, n, "If-Modified-Since");
}

/* ---- conditional requests answered by the cache ---------------------------
 *
 * A GET or HEAD with If-None-Match or If-Modified-Since goes through the
 * cache without them (the cache revalidates with its own validators when
 * it must); the 200 it gets (fresh from storage, revalidated or from the
 * origin) is then turned into a 304 when the caller's condition says "not
 * modified" (RFC 9110 section 13.2.2: If-None-Match, weak comparison, and
 * only without it If-Modified-Since against Last-Modified, else Date). */

/* Whether the entity-tag list `inm` ("*" or tags) matches etag (weak
 * comparison, RFC 9110 section 8.8.3.2). */
static bool inm_matches(const char *inm, const char *etag)
{
    const char *p = inm;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '*')
        return true;
    if (!etag)
        return false;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            p = q ? q + 1 : p + strlen(p);
        }
        while (*p && *p != ',')
            p++;
        char tag[256];
        size_t len = (size_t)(p - start);
        if (len && len < sizeof tag) {
            memcpy(tag, start, len);
            tag[len] = '\0';
            if (goio__hc_etag_weak_eq(tag, etag))
                return true;
        }
    }
    return false;
}

static bool not_modified(const char *inm, const char *ims,
                         const goio_http_cache_response *r)
{
    if (inm)
        return inm_matches(inm, goio_http_cache_response_get_header(r, "ETag"));
    const char *lm = goio_http_cache_response_get_header(r, "Last-Modified");
    if (!lm)
        lm = goio_http_cache_response_get_header(r, "Date");
    int64_t since, modified;
    return lm && !goio__hc_parse_date(ims, &since) &&
           !goio__hc_parse_date(lm, &modified) && modified <= since;
}

/* The request's fields without If-None-Match and If-Modified-Since (a new
 * array in *out), and those two. */
static int strip_conditionals(const goio_http_cache_request *req,
                              goio_http_cache_header **out, size_t *n,
                              const char **inm, const char **ims)
{
    const goio_http_cache_header *h = req->headers;
    size_t count = req->header_count;
    *inm = goio__hc_header_get(h, count, "If-None-Match");
    *ims = goio__hc_header_get(h, count, "If-Modified-Since");
    *out = NULL;
    *n = 0;
    if (!*inm && !*ims)
        return 0;
    *out = goio_calloc(count, sizeof **out);
    if (!*out)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < count; i++)
        if (strcasecmp(h[i].name, "If-None-Match") &&
            strcasecmp(h[i].name, "If-Modified-Since"))
            (*out)[(*n)++] = h[i];
    return 0;
}

static int cached_conditional(goio__hc_call *k,
                              const goio_http_cache_request *req, goio_ctx *ctx,
                              goio_http_cache_response **out)
{
    goio_http_cache_header *h;
    size_t n;
    const char *inm, *ims;
    int rc = strip_conditionals(req, &h, &n, &inm, &ims);
    if (rc)
        return rc;
    if (h) {
        k->headers = h;
        k->nheaders = n;
    }
    rc = cached(k, ctx, out);
    k->headers = req->headers;
    k->nheaders = req->header_count;
    goio_free(h);
    if (!rc && (inm || ims) && (*out)->status == 200 &&
        not_modified(inm, ims, *out)) {
        (*out)->status = 304;
        (*out)->body = (const uint8_t *)"";
        (*out)->body_len = 0;
    }
    return rc;
}

int goio_http_cache_do(goio_http_cache *c, goio_ctx *ctx,
                       const goio_http_cache_request *req,
                       goio_http_cache_response **out)
{
    if (out)
        *out = NULL;
    if (!c || !req || !out || !req->url ||
        (req->method && !is_token(req->method)) ||
        !headers_valid(req->headers, req->header_count) ||
        (req->body_len && !req->body))
        return GOIO_EINVAL;
    goio__hc_bump(&c->requests);
    goio__hc_call k;
    int rc = call_init(c, req, &k);
    k.ctx = ctx;
    if (!rc) {
        bool cacheable = !strcmp(k.method, "GET") || !strcmp(k.method, "HEAD");
        bool range = goio__hc_header_get(k.headers, k.nheaders, "Range");
        if (!cacheable || k.body || bypasses(&k))
            rc = forward(&k, ctx, out);
        else if (range)
            rc = range_request(&k) ? cached_range(&k, ctx, out)
                                   : forward(&k, ctx, out);
        else
            rc = cached_conditional(&k, req, ctx, out);
    }
    call_free(&k);
    if (rc)
        goio__hc_bump(&c->errors);
    else
        count_served(c, *out);
    return rc;
}

int goio_http_cache_get(goio_http_cache *c, goio_ctx *ctx, const char *url,
                        const goio_http_cache_header *headers,
                        size_t header_count, goio_http_cache_response **out)
{
    goio_http_cache_request req = {.method = "GET",
                                   .url = url,
                                   .headers = headers,
                                   .header_count = header_count};
    return goio_http_cache_do(c, ctx, &req, out);
}

int goio_http_cache_invalidate(goio_http_cache *c, goio_ctx *ctx,
                               const char *url)
{
    if (!c || !url)
        return GOIO_EINVAL;
    char *norm = NULL, *key = NULL;
    int rc = goio__hc_url_normalize(url, &norm);
    if (!rc)
        rc = url_key(c, norm, &key);
    /* Removing the URL's key removes a Vary index too: its variants
     * become unreachable, and a new index gets a new generation. A URL
     * too long for a key has nothing stored. */
    if (!rc)
        rc = goio__hc_invalidate_key(c, ctx, key);
    else if (rc == GOIO_E2BIG)
        rc = 0;
    if (!rc)
        goio__hc_bump(&c->invalidations);
    goio_free(key);
    goio_free(norm);
    return rc;
}

/* ---- the client ---------------------------------------------------------- */

void goio_http_cache_config_init(goio_http_cache_config *cfg)
{
    if (!cfg)
        return;
    *cfg = (goio_http_cache_config){.max_size_mib = 64,
                                    .max_age_ms = 3600000,
                                    .heuristic_max_ms = 86400000,
                                    .connect_timeout_ms = 10000,
                                    .timeout_ms = 30000,
                                    .max_body_bytes = 64u << 20,
                                    .max_idle_handles = 16,
                                    .max_stale_keep_ms = 60000,
                                    .key_prefix = "http_cache:"};
}

static bool config_valid(const goio_http_cache_config *cfg)
{
    if (!cfg->storage &&
        (cfg->max_size_mib == 0 || cfg->max_size_mib > (SIZE_MAX >> 20)))
        return false;
    return cfg->max_age_ms > 0 && cfg->heuristic_max_ms >= 0 &&
           cfg->stale_if_error_ms >= 0 && cfg->max_stale_keep_ms >= 0 &&
           cfg->connect_timeout_ms >= 0 && cfg->timeout_ms >= 0 &&
           cfg->max_body_bytes > 0 &&
           (!cfg->key_prefix || strlen(cfg->key_prefix) < GOIO_CACHE_MAX_KEY) &&
           (!cfg->surrogate_name ||
            (cfg->shared && is_token(cfg->surrogate_name)));
}

static int make_storage(goio_http_cache *c, const goio_http_cache_config *cfg)
{
    if (cfg->storage) {
        c->storage = cfg->storage;
        c->own_storage = cfg->own_storage;
        return 0;
    }
    goio_cache_memory_config mc;
    goio_cache_memory_config_init(&mc);
    mc.max_bytes = cfg->max_size_mib << 20;
    c->own_storage = true;
    return goio_cache_memory_new(&mc, &c->storage);
}

static int client_setup(goio_http_cache *c, const goio_http_cache_config *cfg)
{
    c->policy = (goio__hc_policy){.shared = cfg->shared,
                                  .heuristic_max_ms = cfg->heuristic_max_ms,
                                  .stale_if_error_ms = cfg->stale_if_error_ms,
                                  .max_age_ms = cfg->max_age_ms,
                                  .max_stale_keep_ms = cfg->max_stale_keep_ms};
    if (cfg->surrogate_name) {
        goio_buf b = GOIO_BUF_INIT;
        c->surrogate = goio_strdup(cfg->surrogate_name);
        int rc =
            goio_buf_appendf(&b, "%s=\"Surrogate/1.0\"", cfg->surrogate_name);
        if (!rc)
            rc = goio__hc_key_take(&b, SIZE_MAX, &c->surrogate_cap);
        goio_buf_deinit(&b);
        if (rc || !c->surrogate)
            return GOIO_ENOMEM;
        c->policy.surrogate = c->surrogate;
    }
    c->now_fn = cfg->now_fn;
    c->now_data = cfg->now_data;
    c->prefix = goio_strdup(cfg->key_prefix ? cfg->key_prefix : "");
    if (!c->prefix)
        return GOIO_ENOMEM;
    goio__hc_transport_config tc = {.connect_timeout_ms =
                                        cfg->connect_timeout_ms,
                                    .timeout_ms = cfg->timeout_ms,
                                    .max_body_bytes = cfg->max_body_bytes,
                                    .max_idle = cfg->max_idle_handles,
                                    .now_fn = cfg->now_fn,
                                    .now_data = cfg->now_data};
    int rc = goio__hc_transport_new(&tc, &c->transport);
    if (!rc)
        rc = goio__hc_hot_new(cfg->hot_body_bytes, &c->hot);
    if (!rc)
        rc = goio_sharedflight_new(NULL, &c->flights);
    if (!rc)
        rc = make_storage(c, cfg);
    return rc;
}

int goio_http_cache_new(const goio_http_cache_config *cfg,
                        goio_http_cache **out)
{
    goio_http_cache_config defaults;
    if (!cfg) {
        goio_http_cache_config_init(&defaults);
        cfg = &defaults;
    }
    if (out)
        *out = NULL;
    if (!out || !config_valid(cfg))
        return GOIO_EINVAL;
    goio_http_cache *c = goio_calloc(1, sizeof *c);
    if (!c)
        return GOIO_ENOMEM;
    pthread_mutex_init(&c->bg_mu, NULL);
    pthread_cond_init(&c->bg_cv, NULL);
    int rc = client_setup(c, cfg);
    if (rc) {
        if (c->storage == cfg->storage)
            c->storage = NULL; /* still the caller's on failure */
        goio_http_cache_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int goio_http_cache_new_memory(size_t max_size_mib, int64_t max_age_ms,
                               goio_http_cache **out)
{
    goio_http_cache_config cfg;
    goio_http_cache_config_init(&cfg);
    cfg.max_size_mib = max_size_mib;
    cfg.max_age_ms = max_age_ms;
    return goio_http_cache_new(&cfg, out);
}

void goio_http_cache_free(goio_http_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->bg_mu);
    while (c->bg_running)
        pthread_cond_wait(&c->bg_cv, &c->bg_mu);
    pthread_mutex_unlock(&c->bg_mu);
    goio_sharedflight_free(c->flights);
    goio__hc_transport_free(c->transport);
    goio__hc_hot_free(c->hot);
    if (c->own_storage)
        goio_cache_free(c->storage);
    goio_free(c->prefix);
    goio_free(c->surrogate);
    goio_free(c->surrogate_cap);
    pthread_cond_destroy(&c->bg_cv);
    pthread_mutex_destroy(&c->bg_mu);
    goio_free(c);
}

goio_cache *goio_http_cache_storage(goio_http_cache *c)
{
    return c ? c->storage : NULL;
}

int goio_http_cache_stats_get(goio_http_cache *c, goio_http_cache_stats *out)
{
    if (!c || !out)
        return GOIO_EINVAL;
    *out = (goio_http_cache_stats){
        .requests = atomic_load(&c->requests),
        .hits = atomic_load(&c->hits),
        .revalidated = atomic_load(&c->revalidated),
        .stale_served = atomic_load(&c->stale_served),
        .origin_requests = atomic_load(&c->origin_requests),
        .stores = atomic_load(&c->stores),
        .shared = atomic_load(&c->shared),
        .invalidations = atomic_load(&c->invalidations),
        .background = atomic_load(&c->background),
        .errors = atomic_load(&c->errors)};
    return 0;
}

/* ---- for tests ----------------------------------------------------------- */

goio_sharedflight *goio__hc_flights(goio_http_cache *c)
{
    return c->flights;
}

int goio__hc_flight_key(goio_http_cache *c, const char *url, char **out)
{
    char *norm;
    int rc = goio__hc_url_normalize(url, &norm);
    if (rc)
        return rc;
    rc = url_key(c, norm, out);
    goio_free(norm);
    return rc;
}
