/* SPDX-License-Identifier: MIT */
/*
 * Header-field helpers and the stored entry format of goio/http_cache.h
 * (version 1): response entries, Vary indexes, Vary'd request values and
 * the 304 merge.
 */
#include "http_cache_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- header lists -------------------------------------------------------- */

int goio__hc_hlist_add(goio__hc_hlist *l, const char *name, size_t name_len,
                       const char *value, size_t value_len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *v = goio_reallocarray(l->v, cap, sizeof *l->v);
        if (!v)
            return GOIO_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    /* A NULL value stays NULL: Vary lists use it for an absent field. */
    char *n = goio_strndup(name, name_len);
    char *v = n && value ? goio_strndup(value, value_len) : NULL;
    if (!n || (value && !v)) {
        goio_free(n);
        return GOIO_ENOMEM;
    }
    l->v[l->n].name = n;
    l->v[l->n].value = v;
    l->n++;
    return 0;
}

void goio__hc_hlist_free(goio__hc_hlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        goio_free((char *)l->v[i].name);
        goio_free((char *)l->v[i].value);
    }
    goio_free(l->v);
    memset(l, 0, sizeof *l);
}

const char *goio__hc_header_get(const goio_http_cache_header *h, size_t n,
                                const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(h[i].name, name))
            return h[i].value;
    return NULL;
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The next member of the comma-separated list at *s, trimmed of
 * whitespace (*len bytes, maybe 0), and *s moved past it; NULL at the
 * end. */
static const char *list_next(const char **s, size_t *len)
{
    const char *p = *s;
    while (*p == ',' || is_ows(*p))
        p++;
    if (!*p)
        return NULL;
    const char *start = p;
    while (*p && *p != ',')
        p++;
    const char *end = p;
    while (end > start && is_ows(end[-1]))
        end--;
    *s = p;
    *len = (size_t)(end - start);
    return start;
}

bool goio__hc_list_has(const char *list, const char *name)
{
    size_t want = strlen(name), len;
    for (const char *m; (m = list_next(&list, &len));)
        if (len == want && !strncasecmp(m, name, want))
            return true;
    return false;
}

bool goio__hc_hop_by_hop(const goio_http_cache_header *h, size_t n,
                         const char *name)
{
    static const char *const fixed[] = {
        "Connection", "Keep-Alive", "Proxy-Connection",
        "TE",         "Upgrade",    "Transfer-Encoding"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcasecmp(name, fixed[i]))
            return true;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(h[i].name, "Connection") &&
            goio__hc_list_has(h[i].value, name))
            return true;
    return false;
}

/* ---- little-endian writer ------------------------------------------------ */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Appends to a buffer reserved beforehand, so appends cannot fail. */
typedef struct writer {
    goio_buf *b;
} writer;

static void w_int(writer *w, uint64_t v, int bytes)
{
    put_le(w->b->data + w->b->len, v, bytes);
    w->b->len += (size_t)bytes;
}

static void w_bytes(writer *w, const void *p, size_t n)
{
    if (n)
        memcpy(w->b->data + w->b->len, p, n);
    w->b->len += n;
}

static void w_str(writer *w, const char *s, size_t n)
{
    w_bytes(w, s, n);
    w->b->data[w->b->len++] = 0;
}

static void w_header(writer *w, char kind)
{
    uint8_t h[4] = {GOIO__HC_MAGIC0, GOIO__HC_MAGIC1, GOIO__HC_VERSION,
                    (uint8_t)kind};
    w_bytes(w, h, 4);
}

/* ---- reader -------------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    size_t n, off;
    bool bad;
} reader;

static uint64_t r_int(reader *r, int bytes)
{
    if (r->bad || r->n - r->off < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = get_le(r->p + r->off, bytes);
    r->off += (size_t)bytes;
    return v;
}

/* A string of len bytes followed by its NUL, with no NUL inside. */
static const char *r_str(reader *r, uint64_t len)
{
    if (r->bad || len >= r->n - r->off || r->p[r->off + len] != 0 ||
        memchr(r->p + r->off, 0, (size_t)len)) {
        r->bad = true;
        return NULL;
    }
    const char *s = (const char *)r->p + r->off;
    r->off += (size_t)len + 1;
    return s;
}

static const char *r_str_len(reader *r, int len_bytes)
{
    return r_str(r, r_int(r, len_bytes));
}

/* A count of items each at least min_size bytes long: never more than the
 * bytes left could hold, so corrupt counts cannot ask for huge arrays. */
static size_t r_count(reader *r, size_t min_size)
{
    uint64_t c = r_int(r, 4);
    if (!r->bad && c > (r->n - r->off) / min_size)
        r->bad = true;
    return r->bad ? 0 : (size_t)c;
}

static bool r_magic(reader *r, char kind)
{
    if (r->n < 4 || r->p[0] != GOIO__HC_MAGIC0 || r->p[1] != GOIO__HC_MAGIC1 ||
        r->p[2] != GOIO__HC_VERSION || r->p[3] != (uint8_t)kind)
        return false;
    r->off = 4;
    return true;
}

int goio__hc_entry_kind(const uint8_t *p, size_t n)
{
    if (!p || n < 4 || p[0] != GOIO__HC_MAGIC0 || p[1] != GOIO__HC_MAGIC1 ||
        p[2] != GOIO__HC_VERSION)
        return 0;
    return p[3] == 'R' || p[3] == 'V' ? p[3] : 0;
}

/* ---- response entries ---------------------------------------------------- */

static bool keep_header(const goio__hc_entry_in *in, size_t i)
{
    return !goio__hc_hop_by_hop(in->headers, in->nheaders, in->headers[i].name);
}

/* Bytes the encoding takes, or 0 when a field is too long for it. */
static size_t entry_size(const goio__hc_entry_in *in)
{
    size_t url_len = strlen(in->url);
    if (url_len >= GOIO__HC_ABSENT_VALUE)
        return 0;
    size_t size =
        24 + 4 + url_len + 1 + 4 + 4 + 8 + (in->body_ref ? 8 : in->body_len);
    for (size_t i = 0; i < in->nvary; i++) {
        size_t nl = strlen(in->vary[i].name);
        size_t vl = in->vary[i].value ? strlen(in->vary[i].value) + 1 : 0;
        if (nl > UINT16_MAX || vl >= GOIO__HC_ABSENT_VALUE)
            return 0;
        size += 2 + nl + 1 + 4 + vl;
    }
    for (size_t i = 0; i < in->nheaders; i++) {
        if (!keep_header(in, i))
            continue;
        size_t nl = strlen(in->headers[i].name);
        size_t vl = strlen(in->headers[i].value);
        if (nl > UINT16_MAX || vl >= GOIO__HC_ABSENT_VALUE)
            return 0;
        size += 2 + 4 + nl + 1 + vl + 1;
    }
    return size;
}

static void write_vary(writer *w, const goio__hc_entry_in *in)
{
    w_int(w, in->nvary, 4);
    for (size_t i = 0; i < in->nvary; i++) {
        const char *name = in->vary[i].name, *value = in->vary[i].value;
        w_int(w, strlen(name), 2);
        w_str(w, name, strlen(name));
        w_int(w, value ? strlen(value) : GOIO__HC_ABSENT_VALUE, 4);
        if (value)
            w_str(w, value, strlen(value));
    }
}

static void write_headers(writer *w, const goio__hc_entry_in *in)
{
    size_t kept = 0;
    for (size_t i = 0; i < in->nheaders; i++)
        kept += keep_header(in, i);
    w_int(w, kept, 4);
    for (size_t i = 0; i < in->nheaders; i++) {
        if (!keep_header(in, i))
            continue;
        const char *name = in->headers[i].name, *value = in->headers[i].value;
        w_int(w, strlen(name), 2);
        w_int(w, strlen(value), 4);
        w_str(w, name, strlen(name));
        w_str(w, value, strlen(value));
    }
}

int goio__hc_entry_encode(goio_buf *out, const goio__hc_entry_in *in)
{
    if (!out || !in || !in->url || in->status < 0 || in->status > UINT16_MAX)
        return GOIO_EINVAL;
    size_t size = entry_size(in);
    if (!size)
        return GOIO_E2BIG;
    int rc = goio_buf_reserve(out, size);
    if (rc)
        return rc;
    writer w = {out};
    w_header(&w, 'R');
    w_int(&w, (uint64_t)in->status, 2);
    w_int(&w, in->body_ref ? GOIO__HC_FLAG_BODY_REF : 0, 2);
    w_int(&w, (uint64_t)in->request_time_ms, 8);
    w_int(&w, (uint64_t)in->response_time_ms, 8);
    w_int(&w, strlen(in->url), 4);
    w_str(&w, in->url, strlen(in->url));
    write_vary(&w, in);
    write_headers(&w, in);
    w_int(&w, in->body_len, 8);
    if (in->body_ref)
        w_int(&w, in->body_id, 8);
    else
        w_bytes(&w, in->body, in->body_len);
    return 0;
}

/*
 * The Vary list and the header fields. A first pass (fill false) checks
 * the bytes and counts; the second stores pointers into the arrays sized
 * from those counts.
 */
static void read_lists(reader *r, goio__hc_view *v, bool fill)
{
    v->nvary = r_count(r, 7);
    for (size_t i = 0; i < v->nvary && !r->bad; i++) {
        const char *name = r_str_len(r, 2);
        uint64_t vl = r_int(r, 4);
        const char *value = vl == GOIO__HC_ABSENT_VALUE ? NULL : r_str(r, vl);
        if (fill)
            v->vary[i] = (goio_http_cache_header){name, value};
    }
    v->nheaders = r_count(r, 8);
    for (size_t i = 0; i < v->nheaders && !r->bad; i++) {
        uint64_t nl = r_int(r, 2), vl = r_int(r, 4);
        const char *name = r_str(r, nl);
        const char *value = r_str(r, vl);
        if (fill)
            v->headers[i] = (goio_http_cache_header){name, value};
    }
}

int goio__hc_entry_decode(const uint8_t *p, size_t n, goio__hc_view *v)
{
    if (!p || !v)
        return GOIO_EINVAL;
    memset(v, 0, sizeof *v);
    reader r = {p, n, 0, false};
    if (!r_magic(&r, 'R'))
        return GOIO_EBADMSG;
    v->status = (int)r_int(&r, 2);
    uint64_t flags = r_int(&r, 2);
    if (flags & ~(uint64_t)GOIO__HC_FLAG_BODY_REF)
        return GOIO_EBADMSG; /* a flag this version does not know */
    v->body_ref = flags & GOIO__HC_FLAG_BODY_REF;
    v->request_time_ms = (int64_t)r_int(&r, 8);
    v->response_time_ms = (int64_t)r_int(&r, 8);
    v->url = r_str_len(&r, 4);
    size_t lists = r.off;
    read_lists(&r, v, false);
    uint64_t body_len = r_int(&r, 8);
    if (v->body_ref)
        v->body_id = r_int(&r, 8);
    size_t left = n - r.off;
    if (r.bad || (v->body_ref ? left != 0 : body_len != left) ||
        body_len > SIZE_MAX - GOIO__HC_BODY_TRAILER)
        return GOIO_EBADMSG;
    /* Two spare slots: responses served from storage add an Age field,
     * ranges served from them a Content-Range. */
    v->vary = goio_calloc(v->nvary + v->nheaders + 2, sizeof *v->vary);
    if (!v->vary)
        return GOIO_ENOMEM;
    v->headers = v->vary + v->nvary;
    r.off = lists;
    read_lists(&r, v, true);
    v->body = v->body_ref ? NULL : p + n - body_len;
    v->body_len = (size_t)body_len;
    return 0;
}

void goio__hc_view_free(goio__hc_view *v)
{
    if (!v)
        return;
    goio_free(v->vary);
    memset(v, 0, sizeof *v);
}

/* ---- body entries -------------------------------------------------------- */

int goio__hc_body_seal(goio_buf *b, uint64_t id)
{
    int rc = goio_buf_reserve(b, GOIO__HC_BODY_TRAILER);
    if (rc)
        return rc;
    size_t len = b->len;
    writer w = {b};
    w_int(&w, id, 8);
    w_int(&w, len, 8);
    uint8_t tail[4] = {GOIO__HC_MAGIC0, GOIO__HC_MAGIC1, GOIO__HC_VERSION, 'B'};
    w_bytes(&w, tail, 4);
    return 0;
}

bool goio__hc_body_check(const uint8_t *p, size_t n, uint64_t id, size_t len)
{
    if (!p || n < GOIO__HC_BODY_TRAILER || n - GOIO__HC_BODY_TRAILER != len)
        return false;
    const uint8_t *t = p + len;
    return get_le(t, 8) == id && get_le(t + 8, 8) == len &&
           t[16] == GOIO__HC_MAGIC0 && t[17] == GOIO__HC_MAGIC1 &&
           t[18] == GOIO__HC_VERSION && t[19] == 'B';
}

/* ---- Vary indexes -------------------------------------------------------- */

int goio__hc_index_encode(goio_buf *out, uint64_t generation, const char *url,
                          const char *const *names, size_t nnames)
{
    size_t url_len = strlen(url), size = 4 + 8 + 4 + url_len + 1 + 4;
    for (size_t i = 0; i < nnames; i++) {
        if (strlen(names[i]) > UINT16_MAX)
            return GOIO_E2BIG;
        size += 2 + strlen(names[i]) + 1;
    }
    if (url_len >= GOIO__HC_ABSENT_VALUE)
        return GOIO_E2BIG;
    int rc = goio_buf_reserve(out, size);
    if (rc)
        return rc;
    writer w = {out};
    w_header(&w, 'V');
    w_int(&w, generation, 8);
    w_int(&w, url_len, 4);
    w_str(&w, url, url_len);
    w_int(&w, nnames, 4);
    for (size_t i = 0; i < nnames; i++) {
        w_int(&w, strlen(names[i]), 2);
        w_str(&w, names[i], strlen(names[i]));
    }
    return 0;
}

int goio__hc_index_decode(const uint8_t *p, size_t n, goio__hc_index *ix)
{
    if (!p || !ix)
        return GOIO_EINVAL;
    memset(ix, 0, sizeof *ix);
    reader r = {p, n, 0, false};
    if (!r_magic(&r, 'V'))
        return GOIO_EBADMSG;
    ix->generation = r_int(&r, 8);
    ix->url = r_str_len(&r, 4);
    ix->nnames = r_count(&r, 3);
    if (r.bad)
        return GOIO_EBADMSG;
    ix->names = goio_calloc(ix->nnames + 1, sizeof *ix->names);
    if (!ix->names)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < ix->nnames; i++)
        ix->names[i] = r_str_len(&r, 2);
    if (r.bad || r.off != n) {
        goio__hc_index_free(ix);
        return GOIO_EBADMSG;
    }
    return 0;
}

void goio__hc_index_free(goio__hc_index *ix)
{
    if (!ix)
        return;
    goio_free(ix->names);
    memset(ix, 0, sizeof *ix);
}

/* ---- Vary ---------------------------------------------------------------- */

void goio__hc_names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        goio_free(names[i]);
    goio_free(names);
}

/* Inserts a lowercase copy of s[0..len) into the sorted set. */
static int names_insert(char ***names, size_t *n, const char *s, size_t len)
{
    char *name = goio_strndup(s, len);
    if (!name)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < len; i++)
        name[i] = (char)tolower((unsigned char)name[i]);
    size_t at = 0;
    while (at < *n && strcmp((*names)[at], name) < 0)
        at++;
    if (at < *n && !strcmp((*names)[at], name)) {
        goio_free(name);
        return 0;
    }
    char **grown = goio_reallocarray(*names, *n + 1, sizeof **names);
    if (!grown) {
        goio_free(name);
        return GOIO_ENOMEM;
    }
    memmove(grown + at + 1, grown + at, (*n - at) * sizeof *grown);
    grown[at] = name;
    *names = grown;
    (*n)++;
    return 0;
}

static int vary_scan(const char *s, char ***names, size_t *n, bool *star)
{
    size_t len;
    for (const char *m; (m = list_next(&s, &len));) {
        if (len == 1 && *m == '*')
            *star = true;
        else if (len) {
            int rc = names_insert(names, n, m, len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int goio__hc_vary_names(const goio_http_cache_header *h, size_t n,
                        char ***names, size_t *nnames, bool *star)
{
    *names = NULL;
    *nnames = 0;
    *star = false;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(h[i].name, "Vary"))
            continue;
        int rc = vary_scan(h[i].value, names, nnames, star);
        if (rc) {
            goio__hc_names_free(*names, *nnames);
            *names = NULL;
            *nnames = 0;
            return rc;
        }
    }
    return 0;
}

/* Fields whose members are case-insensitive and whose order goio
 * ignores when matching variants (the suite's vary-normalise tests). */
static bool unordered_field(const char *name)
{
    return !strcasecmp(name, "Accept-Language") ||
           !strcasecmp(name, "Accept-Encoding") ||
           !strcasecmp(name, "Accept-Charset");
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define VARY_MAX_MEMBERS 64

/*
 * RFC 9111 section 4.1's normalisation, a little further: the members of
 * every field line (comma-separated) trimmed, empty ones dropped, joined
 * with ", "; for Accept-Language, -Encoding and -Charset also lowercased
 * and sorted (up to 64 members), so "en, de" matches "De,en".
 */
int goio__hc_request_value(const goio_http_cache_header *h, size_t n,
                           const char *name, goio_buf *out, bool *present)
{
    goio_buf_clear(out);
    *present = false;
    bool unordered = unordered_field(name);
    goio_buf tmp = GOIO_BUF_INIT; /* the members, each NUL-terminated */
    size_t total = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (strcasecmp(h[i].name, name))
            continue;
        *present = true;
        for (const char *p = h[i].value; *p && !rc;) {
            const char *m = p;
            while (*p && *p != ',')
                p++;
            const char *e = p;
            if (*p)
                p++;
            while (m < e && is_ows(*m))
                m++;
            while (e > m && is_ows(e[-1]))
                e--;
            if (m == e)
                continue;
            rc = goio_buf_append(&tmp, m, (size_t)(e - m));
            if (!rc)
                rc = goio_buf_append(&tmp, "", 1);
            total++;
        }
    }
    const char *members[VARY_MAX_MEMBERS];
    size_t count = 0;
    for (size_t at = 0; !rc && at < tmp.len;) {
        char *m = (char *)tmp.data + at;
        size_t len = strlen(m);
        at += len + 1;
        if (unordered)
            for (char *q = m; *q; q++)
                if (*q >= 'A' && *q <= 'Z')
                    *q = (char)(*q - 'A' + 'a');
        if (unordered && total <= VARY_MAX_MEMBERS) {
            members[count++] = m;
            continue;
        }
        rc = out->len ? goio_buf_append(out, ", ", 2) : 0;
        if (!rc)
            rc = goio_buf_append(out, m, len);
    }
    if (!rc && count) {
        qsort(members, count, sizeof members[0], cmp_member);
        for (size_t j = 0; j < count && !rc; j++) {
            rc = j ? goio_buf_append(out, ", ", 2) : 0;
            if (!rc)
                rc = goio_buf_append(out, members[j], strlen(members[j]));
        }
    }
    goio_buf_deinit(&tmp);
    return rc ? rc
              : goio_buf_reserve(out, 0); /* so goio_buf_cstr cannot fail */
}

/* ---- 304 ----------------------------------------------------------------- */

/* A 304 does not replace the fields that describe the stored body's bytes
 * (length, coding, range, digest): it cannot change those bytes (RFC 9111
 * section 3.2 keeps Content-Length and the fields the stored response
 * depends on). */
static bool merge_skips(const goio_http_cache_header *fresh, size_t nfresh,
                        const char *name)
{
    return !strcasecmp(name, "Content-Length") ||
           !strcasecmp(name, "Content-Encoding") ||
           !strcasecmp(name, "Content-Range") ||
           !strcasecmp(name, "Content-MD5") ||
           goio__hc_hop_by_hop(fresh, nfresh, name);
}

static bool updated_by(const goio_http_cache_header *fresh, size_t nfresh,
                       const char *name)
{
    for (size_t i = 0; i < nfresh; i++)
        if (!strcasecmp(fresh[i].name, name) &&
            !merge_skips(fresh, nfresh, fresh[i].name))
            return true;
    return false;
}

static int copy_header(goio__hc_hlist *out, const goio_http_cache_header *h)
{
    return goio__hc_hlist_add(out, h->name, strlen(h->name), h->value,
                              strlen(h->value));
}

int goio__hc_merge_304(const goio_http_cache_header *stored, size_t nstored,
                       const goio_http_cache_header *fresh, size_t nfresh,
                       goio__hc_hlist *out)
{
    int rc = 0;
    for (size_t i = 0; i < nstored && !rc; i++)
        if (strcasecmp(stored[i].name, "Age") &&
            !updated_by(fresh, nfresh, stored[i].name))
            rc = copy_header(out, &stored[i]);
    for (size_t i = 0; i < nfresh && !rc; i++)
        if (!merge_skips(fresh, nfresh, fresh[i].name))
            rc = copy_header(out, &fresh[i]);
    if (rc)
        goio__hc_hlist_free(out);
    return rc;
}

bool goio__hc_etag_weak_eq(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    while (is_ows(*a))
        a++;
    while (is_ows(*b))
        b++;
    if (!strncmp(a, "W/", 2))
        a += 2;
    if (!strncmp(b, "W/", 2))
        b += 2;
    size_t la = strlen(a), lb = strlen(b);
    while (la && is_ows(a[la - 1]))
        la--;
    while (lb && is_ows(b[lb - 1]))
        lb--;
    return la == lb && !memcmp(a, b, la);
}
