/* SPDX-License-Identifier: MIT */
/*
 * http_cache internals shared by src/cache/http_cache*.c: header lists,
 * the RFC 9111 policy (pure functions of headers and times), the stored
 * entry format, and the libcurl transport.
 */
#ifndef GOIO_HTTP_CACHE_INT_H
#define GOIO_HTTP_CACHE_INT_H

#include <goio/http_cache.h>

#include <pthread.h>

/* ---- header lists (http_cache_entry.c) ----------------------------------- */

/* A growable list of header fields whose strings it owns. */
typedef struct goio__hc_hlist {
    goio_http_cache_header *v;
    size_t n, cap;
} goio__hc_hlist;

int goio__hc_hlist_add(goio__hc_hlist *l, const char *name, size_t name_len,
                       const char *value, size_t value_len);
void goio__hc_hlist_free(goio__hc_hlist *l);

/* The first value of `name` (case-insensitive), NULL when absent. */
const char *goio__hc_header_get(const goio_http_cache_header *h, size_t n,
                                const char *name);
/* Whether `name` is in the comma-separated Connection-style list `list`. */
bool goio__hc_list_has(const char *list, const char *name);
/* Hop-by-hop fields of a response (never stored, never merged). */
bool goio__hc_hop_by_hop(const goio_http_cache_header *h, size_t n,
                         const char *name);

/* ---- policy (http_cache_policy.c) ---------------------------------------- */

#define GOIO__HC_NO_STORE         (1u << 0)
#define GOIO__HC_NO_CACHE         (1u << 1)
#define GOIO__HC_PRIVATE          (1u << 2)
#define GOIO__HC_PUBLIC           (1u << 3)
#define GOIO__HC_MUST_REVALIDATE  (1u << 4)
#define GOIO__HC_PROXY_REVALIDATE (1u << 5)
#define GOIO__HC_MUST_UNDERSTAND  (1u << 6)
#define GOIO__HC_ONLY_IF_CACHED   (1u << 7)
/* no-cache="field, ..." (qualified; NO_CACHE is the unqualified form) */
#define GOIO__HC_NO_CACHE_FIELDS  (1u << 8)

/* Delta-seconds: -1 absent, GOIO__HC_INVALID present but not a number. */
#define GOIO__HC_ABSENT    (-1)
#define GOIO__HC_INVALID   (-2)
/* What delta-seconds saturate at (RFC 9111 section 1.2.2). */
#define GOIO__HC_DELTA_MAX 2147483648LL

/* Cache-Control directives of a request or a response. */
typedef struct goio__hc_cc {
    unsigned flags;
    int64_t max_age, s_maxage, max_stale, min_fresh, stale_if_error,
        stale_while_revalidate;
} goio__hc_cc;

/* Parses every Cache-Control field of h[0..n); the first occurrence of a
 * directive counts. */
void goio__hc_cc_parse(const goio_http_cache_header *h, size_t n,
                       goio__hc_cc *cc);

/* The one satisfiable byte range a Range value asks of a body of `total`
 * bytes (RFC 9110 section 14.1.2: first-last, first-, -suffix; one range,
 * optional whitespace around "bytes" and "="): [*first, *last], both <
 * total. false for several ranges, an unsatisfiable one, junk, numbers
 * above 2^64 - 1 (the origin answers those). */
bool goio__hc_range_parse(const char *range, uint64_t total, uint64_t *first,
                          uint64_t *last);

/* Most field names goio__hc_no_cache_names keeps: a response listing more
 * is served without any field when reused unvalidated (a hostile origin
 * could else make every hit cost fields x names). */
#define GOIO__HC_MAX_NO_CACHE_NAMES 64

/* A field name inside a header value. */
typedef struct goio__hc_name {
    const char *p;
    size_t len;
} goio__hc_name;

/* The field names the qualified no-cache="..." lists of the Cache-Control
 * fields of h[0..n) name, the first `max` into out[]; returns how many
 * there are in all (may exceed max). One pass over the fields. */
size_t goio__hc_no_cache_names(const goio_http_cache_header *h, size_t n,
                               goio__hc_name *out, size_t max);

/* Parses an HTTP-date (IMF-fixdate, RFC 850, asctime) into ms since the
 * epoch. GOIO_EBADMSG for anything else. */
int goio__hc_parse_date(const char *s, int64_t *ms);

/* What a client decided in its config that the policy needs. */
typedef struct goio__hc_policy {
    bool shared;
    int64_t heuristic_max_ms, stale_if_error_ms, max_age_ms;
    int64_t max_stale_keep_ms; /* stale entries kept for request max-stale */
    /* The device token Surrogate-Control directives may target (W3C Edge
     * Architecture 1.0); NULL: Surrogate-Control is not read. */
    const char *surrogate;
} goio__hc_policy;

bool goio__hc_status_understood(int status);
bool goio__hc_status_heuristic(int status);

/* The freshness facts of a stored (or just received) response. */
typedef struct goio__hc_fresh {
    goio__hc_cc cc;      /* the response's directives */
    int64_t lifetime_ms; /* freshness_lifetime */
    int64_t age_ms;      /* current_age at `now` */
    bool explicit_fresh; /* max-age, s-maxage (shared) or Expires */
    bool validators;     /* ETag or Last-Modified */
    /* Surrogate-Control for this cache: max-age replaced Cache-Control
     * and Expires (cc is then only its stale window), or no-store. */
    bool surrogate, surrogate_no_store;
} goio__hc_fresh;

/* Whether field `name` is consumed by this cache (Surrogate-Control when
 * p->surrogate is set) and so left out of what callers get. */
bool goio__hc_consumed_field(const goio__hc_policy *p, const char *name);

void goio__hc_freshness(const goio__hc_policy *p, int status,
                        const goio_http_cache_header *h, size_t n,
                        int64_t request_time_ms, int64_t response_time_ms,
                        int64_t now_ms, goio__hc_fresh *f);

/* Whether the response is fresh enough for a request with directives req
 * (no-cache, max-age, min-fresh; not max-stale). */
bool goio__hc_usable_fresh(const goio__hc_fresh *f, const goio__hc_cc *req,
                           bool req_no_cache);
/* Whether serving it stale is prohibited (must-revalidate, no-cache, and
 * in a shared cache proxy-revalidate and s-maxage). */
bool goio__hc_stale_prohibited(const goio__hc_policy *p,
                               const goio__hc_fresh *f);
/* Whether the request's max-stale accepts it without the origin. */
bool goio__hc_max_stale_ok(const goio__hc_policy *p, const goio__hc_fresh *f,
                           const goio__hc_cc *req);
/* Whether it may be served because the origin failed. */
/* Whether a stale f may be served while it is revalidated in the
 * background (RFC 5861 stale-while-revalidate). */
bool goio__hc_swr_ok(const goio__hc_policy *p, const goio__hc_fresh *f);
bool goio__hc_stale_if_error_ok(const goio__hc_policy *p,
                                const goio__hc_fresh *f,
                                const goio__hc_cc *req);

/*
 * Whether a response to GET may be stored (RFC 9111 section 3, without
 * the Vary: * check). req_auth: the request had Authorization.
 */
bool goio__hc_storable(const goio__hc_policy *p, const goio__hc_cc *req,
                       bool req_auth, int status, const goio__hc_fresh *f);
/* How long storage should keep it (<= 0: not worth storing). */
int64_t goio__hc_keep_ms(const goio__hc_policy *p, const goio__hc_fresh *f);

/* ---- entries (http_cache_entry.c) ---------------------------------------- */

#define GOIO__HC_MAGIC0        0xE8
#define GOIO__HC_MAGIC1        0x48
#define GOIO__HC_VERSION       0x01
#define GOIO__HC_ABSENT_VALUE  0xFFFFFFFFu
/* Response entry flag: the body is stored apart, in a body entry. */
#define GOIO__HC_FLAG_BODY_REF 0x0001
/* Bodies up to this size stay inside the response entry. */
#define GOIO__HC_INLINE_MAX    16384
/* A body entry's trailer: id, length, magic/version/kind. */
#define GOIO__HC_BODY_TRAILER  20

/* A decoded response entry; strings and an inline body point into the
 * bytes. With body_ref the body is elsewhere (body NULL until loaded). */
typedef struct goio__hc_view {
    int status;
    int64_t request_time_ms, response_time_ms;
    const char *url;
    size_t nvary;
    goio_http_cache_header *vary; /* value NULL: absent */
    size_t nheaders;
    goio_http_cache_header
        *headers; /* room for two more (Age, Content-Range) */
    const uint8_t *body;
    size_t body_len;
    bool body_ref;
    uint64_t body_id;
} goio__hc_view;

typedef struct goio__hc_entry_in {
    int status;
    int64_t request_time_ms, response_time_ms;
    const char *url;
    const goio_http_cache_header *vary; /* value NULL: absent */
    size_t nvary;
    const goio_http_cache_header *headers;
    size_t nheaders;
    const void *body; /* ignored with body_ref */
    size_t body_len;
    bool body_ref;
    uint64_t body_id;
} goio__hc_entry_in;

/* Appends the version-1 encoding; hop-by-hop fields are left out. */
int goio__hc_entry_encode(goio_buf *out, const goio__hc_entry_in *in);
/* GOIO_EBADMSG for anything but a valid response entry; GOIO_ENOMEM. The
 * view's arrays are allocated: free with goio__hc_view_free. */
int goio__hc_entry_decode(const uint8_t *p, size_t n, goio__hc_view *v);
void goio__hc_view_free(goio__hc_view *v);
/* The kind byte of stored bytes ('R', 'V'), or 0 when not an entry. */
int goio__hc_entry_kind(const uint8_t *p, size_t n);

/* Turns b (a body) into a body entry by appending the trailer. */
int goio__hc_body_seal(goio_buf *b, uint64_t id);
/* Whether p[0..n) is the body entry of id with a body of len bytes (the
 * body is p[0..len)). */
bool goio__hc_body_check(const uint8_t *p, size_t n, uint64_t id, size_t len);

typedef struct goio__hc_index {
    uint64_t generation;
    const char *url;
    size_t nnames;
    const char **names; /* allocated array; strings point into bytes */
} goio__hc_index;

/* names: lowercase, sorted, unique. */
int goio__hc_index_encode(goio_buf *out, uint64_t generation, const char *url,
                          const char *const *names, size_t nnames);
int goio__hc_index_decode(const uint8_t *p, size_t n, goio__hc_index *ix);
void goio__hc_index_free(goio__hc_index *ix);

/* The Vary field names of a response: lowercase, sorted, unique, in
 * *names (an allocated array of allocated strings; free with
 * goio__hc_names_free). *star: Vary contained "*". */
int goio__hc_vary_names(const goio_http_cache_header *h, size_t n,
                        char ***names, size_t *nnames, bool *star);
void goio__hc_names_free(char **names, size_t n);
/* A request's normalised value of field `name` into out; *present. */
int goio__hc_request_value(const goio_http_cache_header *h, size_t n,
                           const char *name, goio_buf *out, bool *present);

/*
 * The stored fields after a 304 (RFC 9111 section 3.2): stored minus Age,
 * each field of the 304 replacing the stored ones of its name, except
 * Content-Length and hop-by-hop fields. Strings are copied into *out.
 */
int goio__hc_merge_304(const goio_http_cache_header *stored, size_t nstored,
                       const goio_http_cache_header *fresh, size_t nfresh,
                       goio__hc_hlist *out);

/* Weak comparison of two entity-tags (RFC 9110 section 8.8.3.2). */
bool goio__hc_etag_weak_eq(const char *a, const char *b);

/* ---- hot bodies (http_cache_hot.c) -------------------------------------- */

/* A body kept in process memory, reference-counted. */
typedef struct goio__hc_blob goio__hc_blob;
const uint8_t *goio__hc_blob_data(const goio__hc_blob *b);
/* Whether b (may be NULL) is the body id of len bytes. */
bool goio__hc_blob_is(const goio__hc_blob *b, uint64_t id, size_t len);
void goio__hc_blob_unref(goio__hc_blob *b); /* NULL: no-op */

typedef struct goio__hc_hot goio__hc_hot;
/* *out NULL (hot bodies off) when max_bytes is 0. */
int goio__hc_hot_new(size_t max_bytes, goio__hc_hot **out);
void goio__hc_hot_free(goio__hc_hot *h);
/* Keeps a copy of body[0..len) as id until expires_ms (when it fits;
 * replaces the slot's occupant). h NULL: no-op. */
void goio__hc_hot_put(goio__hc_hot *h, uint64_t id, const uint8_t *body,
                      size_t len, int64_t expires_ms);
/* A reference to id's body of len bytes, NULL when not kept (or
 * expired at now_ms). */
goio__hc_blob *goio__hc_hot_get(goio__hc_hot *h, uint64_t id, size_t len,
                                int64_t now_ms);
void goio__hc_hot_drop(goio__hc_hot *h, uint64_t id);
size_t goio__hc_hot_bytes(goio__hc_hot *h);

/* ---- transport (http_cache_transport.c) ---------------------------------- */

typedef struct goio__hc_transport goio__hc_transport;

typedef struct goio__hc_transport_config {
    int64_t connect_timeout_ms, timeout_ms;
    size_t max_body_bytes;
    unsigned max_idle;
    goio_http_cache_now_fn now_fn;
    void *now_data;
} goio__hc_transport_config;

int goio__hc_transport_new(const goio__hc_transport_config *cfg,
                           goio__hc_transport **out);
void goio__hc_transport_free(goio__hc_transport *t);

/* One exchange with an origin. */
typedef struct goio__hc_exchange {
    /* in */
    const char *method; /* "GET", "HEAD", ... */
    const char *url;
    const goio_http_cache_header *headers;
    size_t nheaders;
    const char *if_none_match, *if_modified_since; /* NULL: not sent */
    const char *surrogate_capability;              /* NULL: not sent */
    goio_http_cache_interim_fn on_interim;         /* NULL: dropped */
    void *interim_data;
    const void *body;
    size_t body_len;
    /* out */
    int status;
    goio__hc_hlist resp;
    goio_buf body_out;
    int64_t request_time_ms, response_time_ms;
    int line_status;  /* the status line being read (interim ones too) */
    char reason[128]; /* its reason phrase (cut at 127 bytes) */
    char error[256];  /* libcurl's message when the transfer failed */
} goio__hc_exchange;

/* Performs ex under ctx (may be NULL). 0 with a response, or an error
 * (see goio/http_cache.h). ex's outputs are freed by
 * goio__hc_exchange_free whatever happened. */
int goio__hc_transport_perform(goio__hc_transport *t, goio__hc_exchange *ex,
                               goio_ctx *ctx);
void goio__hc_exchange_free(goio__hc_exchange *ex);

/* Normalises an absolute http/https URL (libcurl's parser) into a
 * goio_malloc'd string. GOIO_EINVAL for anything else. A URL already in
 * the parser's form is copied without parsing. */
int goio__hc_url_normalize(const char *url, char **out);
/* The same, always through libcurl's parser (tests compare the two). */
bool goio__hc_url_is_normal(const char *url);
int goio__hc_url_parse(const char *url, char **out);
/* Resolves `ref` against `base` and returns it normalised when it has
 * base's origin; *out NULL otherwise. */
int goio__hc_url_same_origin(const char *base, const char *ref, char **out);

/* ---- the client (http_cache.c, http_cache_store.c) ----------------------- */

#include <stdatomic.h>

struct goio_http_cache {
    goio_cache *storage;
    bool own_storage;
    goio__hc_policy policy;
    char *prefix;
    char *surrogate;     /* config.surrogate_name (copied) */
    char *surrogate_cap; /* its Surrogate-Capability value */
    goio_http_cache_now_fn now_fn;
    void *now_data;
    goio__hc_transport *transport;
    goio__hc_hot *hot; /* NULL: config.hot_body_bytes 0 */
    goio_sharedflight *flights;
    _Atomic uint64_t requests, hits, revalidated, stale_served, origin_requests,
        stores, shared, invalidations, errors, background;
    /* background revalidations in progress; free waits for none */
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    size_t bg_running;
};

/* One request as the client sees it. */
typedef struct goio__hc_call {
    goio_http_cache *c;
    const char *method;
    char *url;     /* normalised */
    char *primary; /* the URL's storage key; NULL: too long, not cached */
    const goio_http_cache_header *headers;
    size_t nheaders;
    const void *body;
    size_t body_len;
    goio_http_cache_interim_fn on_interim;
    void *interim_data;
    goio__hc_cc cc; /* the request's directives */
    bool no_cache;  /* no-cache, or Pragma: no-cache without Cache-Control */
    bool strict;    /* asks for validation: no-cache, max-age, min-fresh */
    bool auth;      /* carries Authorization */
    bool ran;       /* this caller's thread ran the flight */
    bool quiet;     /* a second look: what the first logged stays unsaid */
    /* Bounds the storage calls: the caller's ctx, the flight's inside a
     * flight. */
    goio_ctx *ctx;
} goio__hc_call;

/* What storage holds for a call. */
typedef struct goio__hc_stored {
    bool found;         /* a usable response entry (its body may be apart) */
    goio_buf bytes;     /* the response entry */
    goio_buf body;      /* its body entry, once loaded (goio__hc_load_body) */
    goio__hc_blob *pin; /* or its hot body, once loaded */
    goio__hc_view view;
    /* Where the response to this request is stored: the call's primary
     * key, or `variant` when the URL has a Vary index; NULL when the
     * variant key would be too long. */
    const char *key;
    char *variant; /* owned */
    bool indexed;
    uint64_t generation;
    char **names; /* the index's Vary names (copies) */
    size_t nnames;
} goio__hc_stored;

int64_t goio__hc_now(const goio_http_cache *c);
/* Hands the string built in b to *out (b is left empty; free *out with
 * goio_free): GOIO_E2BIG when it is longer than max bytes, GOIO_ENOMEM. */
int goio__hc_key_take(goio_buf *b, size_t max, char **out);
void goio__hc_bump(_Atomic uint64_t *counter);

/* Reads what is stored for k (not a separate body); storage errors and
 * bad bytes are logged and read as a miss, so only GOIO_ENOMEM is
 * returned. */
int goio__hc_lookup(goio__hc_call *k, goio__hc_stored *st);
/* Reads a found entry's separate body into st->body and points
 * st->view.body at it. A body that is gone or wrong makes the entry
 * unusable: it is removed and st->found cleared. Only GOIO_ENOMEM. */
int goio__hc_load_body(goio__hc_call *k, goio__hc_stored *st);
void goio__hc_stored_free(goio__hc_stored *st);
/* Whether a decoded entry's Vary'd values are the request's. */
bool goio__hc_vary_match(const goio__hc_call *k, const goio__hc_view *v);
/* The request's values of the Vary names (value NULL when absent), in an
 * owned list. */
int goio__hc_vary_values(const goio__hc_call *k, char *const *names,
                         size_t nnames, goio__hc_hlist *out);

/* An encoded response: the entry, and its body entry when apart. */
typedef struct goio__hc_encoded {
    goio_buf meta;
    goio_buf body; /* empty when the body is inline (or pinned) */
    uint64_t body_id;
    goio__hc_blob *pin; /* a separate body held as a hot body */
} goio__hc_encoded;

/* Stores e for k for keep_ms: the body entry first, then the response
 * entry (under a Vary index when names are given). Failures are logged. */
void goio__hc_store(goio__hc_call *k, goio__hc_stored *st, char *const *names,
                    size_t nnames, const goio__hc_encoded *e, int64_t keep_ms);
/* Removes what st found (the entry and its separate body); logged. */
void goio__hc_remove(goio__hc_call *k, const goio__hc_stored *st);
/* Removes only st's separate body (after a new one replaced it). */
void goio__hc_remove_body(goio__hc_call *k, const goio__hc_stored *st);
/* Drops what is stored at the URL's key (and its separate body). */
int goio__hc_invalidate_key(goio_http_cache *c, goio_ctx *ctx, const char *key);

/* ---- for tests ----------------------------------------------------------- */

/* The client's sharedflight group and the flight key of a plain GET of
 * url (goio_malloc'd), so tests can wait for callers to join. */
goio_sharedflight *goio__hc_flights(goio_http_cache *c);
int goio__hc_flight_key(goio_http_cache *c, const char *url, char **out);

#endif
