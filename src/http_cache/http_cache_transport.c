/* SPDX-License-Identifier: MIT */
/*
 * The libcurl side of http_cache: a pool of transfer slots (an easy handle
 * in a multi handle of its own, which keeps that slot's connections
 * alive), DNS and TLS sessions shared between slots, and one exchange
 * driven by curl_multi_poll so a ctx can end it at once.
 *
 * Why not libcurl's shared connection cache: in 7.88 it is not safe for
 * transfers running on several threads at once (curl issue 4915, the
 * CURLSHOPT_SHARE man page). A slot is used by one thread at a time, so
 * every libcurl handle here is too.
 */
#include "http_cache_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest poll between two looks at the ctx's deadline, which a
 * sharedflight may move while the transfer runs. */
#define POLL_SLICE_MS 100

typedef struct slot {
    CURLM *multi;
    CURL *easy;
    struct slot *next;
} slot;

struct goio__hc_transport {
    goio__hc_transport_config cfg;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t lock; /* guards idle, nidle */
    slot *idle;
    unsigned nidle;
};

/* ---- share locks --------------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access,
                       void *arg)
{
    (void)h;
    (void)access;
    goio__hc_transport *t = arg;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&t->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
    (void)h;
    goio__hc_transport *t = arg;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&t->share_locks[data]);
}

static int share_setup(goio__hc_transport *t)
{
    t->share = curl_share_init();
    if (!t->share)
        return GOIO_ENOMEM;
    CURLSHcode sc = curl_share_setopt(t->share, CURLSHOPT_LOCKFUNC, share_lock);
    if (!sc)
        sc = curl_share_setopt(t->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    if (!sc)
        sc = curl_share_setopt(t->share, CURLSHOPT_USERDATA, t);
    if (!sc)
        sc = curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if (!sc)
        sc = curl_share_setopt(t->share, CURLSHOPT_SHARE,
                               CURL_LOCK_DATA_SSL_SESSION);
    return sc == CURLSHE_NOMEM ? GOIO_ENOMEM : sc ? GOIO_EIO : 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

int goio__hc_transport_new(const goio__hc_transport_config *cfg,
                           goio__hc_transport **out)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return GOIO_EIO;
    goio__hc_transport *t = goio_calloc(1, sizeof *t);
    if (!t) {
        curl_global_cleanup();
        return GOIO_ENOMEM;
    }
    t->cfg = *cfg;
    pthread_mutex_init(&t->lock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&t->share_locks[i], NULL);
    int rc = share_setup(t);
    if (rc) {
        goio__hc_transport_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static void slot_free(slot *s)
{
    if (!s)
        return;
    if (s->easy)
        curl_easy_cleanup(s->easy);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    goio_free(s);
}

void goio__hc_transport_free(goio__hc_transport *t)
{
    if (!t)
        return;
    while (t->idle) {
        slot *s = t->idle;
        t->idle = s->next;
        slot_free(s);
    }
    /* The share goes after every easy handle that used it. */
    if (t->share)
        curl_share_cleanup(t->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&t->share_locks[i]);
    pthread_mutex_destroy(&t->lock);
    goio_free(t);
    curl_global_cleanup();
}

/* The most recently used idle slot (its connections are the warmest), or a
 * new one. */
static int slot_get(goio__hc_transport *t, slot **out)
{
    pthread_mutex_lock(&t->lock);
    slot *s = t->idle;
    if (s) {
        t->idle = s->next;
        t->nidle--;
    }
    pthread_mutex_unlock(&t->lock);
    if (!s) {
        s = goio_calloc(1, sizeof *s);
        if (!s)
            return GOIO_ENOMEM;
        s->multi = curl_multi_init();
        s->easy = s->multi ? curl_easy_init() : NULL;
        if (!s->easy) {
            slot_free(s);
            return GOIO_ENOMEM;
        }
    }
    *out = s;
    return 0;
}

static void slot_put(goio__hc_transport *t, slot *s)
{
    pthread_mutex_lock(&t->lock);
    bool keep = t->nidle < t->cfg.max_idle;
    if (keep) {
        s->next = t->idle;
        t->idle = s;
        t->nidle++;
    }
    pthread_mutex_unlock(&t->lock);
    if (!keep)
        slot_free(s);
}

/* ---- callbacks ----------------------------------------------------------- */

/* The chunked decoder's states (libcurl's transfer decoding is off, see
 * setup; libcurl still finds the end of a chunked body, and hands over
 * its bytes as they are). */
enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

typedef struct xfer {
    goio__hc_exchange *ex;
    CURL *easy;
    size_t max_body;
    int failure;  /* a goio code a callback stopped the transfer with */
    bool checked; /* framing looked at (first body bytes) */
    bool chunked; /* Transfer-Encoding ends with chunked */
    int state;    /* CH_* */
    bool digits;  /* the chunk-size line had a digit */
    uint64_t left;
    size_t line;       /* length of the current trailer line */
    unsigned interims; /* interim responses relayed */
} xfer;

/* Interim responses one exchange may relay: a real origin sends one or
 * two (102, 103); one that keeps sending them fails the exchange with
 * GOIO_EPROTO rather than make the caller (and a proxy's clients) take
 * one per 60 bytes it sends until libcurl's header limit. */
#define MAX_INTERIM 16

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* An obs-fold line (leading whitespace) continues the previous value
 * (RFC 9112 section 5.2: the fold becomes one space). */
static int header_fold(goio__hc_hlist *l, const char *p, size_t len)
{
    if (!l->n)
        return 0;
    goio_http_cache_header *last = &l->v[l->n - 1];
    while (len && is_ows(*p)) {
        p++;
        len--;
    }
    size_t old = strlen(last->value);
    char *v = goio_realloc((char *)last->value, old + 1 + len + 1);
    if (!v)
        return GOIO_ENOMEM;
    v[old] = ' ';
    memcpy(v + old + 1, p, len);
    v[old + 1 + len] = 0;
    last->value = v;
    return 0;
}

/* The status code of a status line "HTTP/x.y NNN reason", 0 if none. */
static int status_of(const char *p, size_t len)
{
    const char *sp = memchr(p, ' ', len);
    if (!sp || (size_t)(p + len - sp) < 4)
        return 0;
    int v = 0;
    for (int i = 1; i <= 3; i++) {
        if (sp[i] < '0' || sp[i] > '9')
            return 0;
        v = v * 10 + (sp[i] - '0');
    }
    return v;
}

/* The reason phrase of a status line ("" when there is none). */
static void reason_of(const char *p, size_t len, char *out, size_t cap)
{
    const char *sp = memchr(p, ' ', len);
    size_t off = sp ? (size_t)(sp - p) + 5 : len; /* past " NNN " */
    if (off > len)
        off = len;
    size_t n = len - off < cap ? len - off : cap - 1;
    memcpy(out, p + off, n);
    out[n] = '\0';
}

static int header_line(goio__hc_exchange *ex, unsigned *interims, const char *p,
                       size_t len)
{
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        /* A new response (after a 1xx): forget the previous fields. */
        goio__hc_hlist_free(&ex->resp);
        ex->line_status = status_of(p, len);
        reason_of(p, len, ex->reason, sizeof ex->reason);
        return 0;
    }
    if (!len) {
        /* The end of a header block: an interim one goes to the caller
         * (and is forgotten; 101 would end HTTP here, never asked for). */
        int st = ex->line_status;
        if (st >= 100 && st <= 199 && st != 101) {
            if (++*interims > MAX_INTERIM)
                return GOIO_EPROTO;
            if (ex->on_interim)
                ex->on_interim(st, ex->resp.v, ex->resp.n, ex->interim_data);
            goio__hc_hlist_free(&ex->resp);
        }
        return 0;
    }
    if (is_ows(*p))
        return header_fold(&ex->resp, p, len);
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p || memchr(p, 0, len))
        return 0; /* not a field line: ignored, as libcurl does */
    const char *v = colon + 1, *end = p + len;
    while (v < end && is_ows(*v))
        v++;
    while (end > v && is_ows(end[-1]))
        end--;
    return goio__hc_hlist_add(&ex->resp, p, (size_t)(colon - p), v,
                              (size_t)(end - v));
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    int rc = header_line(x->ex, &x->interims, p, size * n);
    if (rc) {
        x->failure = rc;
        return 0;
    }
    return size * n;
}

/* Whether the last transfer coding of the response is chunked; any other
 * coding means the body runs until the close (RFC 9112 section 6.3),
 * which is what libcurl does with its decoding off. */
static bool ends_chunked(const goio__hc_exchange *ex)
{
    const char *te = NULL;
    for (size_t i = 0; i < ex->resp.n; i++)
        if (!strcasecmp(ex->resp.v[i].name, "Transfer-Encoding"))
            te = ex->resp.v[i].value; /* the last field line */
    if (!te)
        return false;
    const char *last = strrchr(te, ',');
    last = last ? last + 1 : te;
    while (is_ows(*last))
        last++;
    size_t len = strlen(last);
    while (len && is_ows(last[len - 1]))
        len--;
    return len == 7 && !strncasecmp(last, "chunked", 7);
}

static int body_add(xfer *x, const char *p, size_t len)
{
    goio_buf *b = &x->ex->body_out;
    if (len > x->max_body - b->len)
        return GOIO_ELIMIT;
    if (!b->cap && !x->chunked) {
        /* One allocation for what Content-Length announces (within the
         * limit) instead of doubling up to it. */
        curl_off_t cl = -1;
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        /* Room for a body entry's trailer too (goio__hc_body_seal). */
        if (cl > 0 && (uint64_t)cl <= x->max_body)
            goio_buf_reserve(b, (size_t)cl + GOIO__HC_BODY_TRAILER);
    }
    return goio_buf_append(b, p, len) ? GOIO_ENOMEM : 0;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The end of a chunk-size line: data follows, or the trailer section. */
static int size_line_end(xfer *x)
{
    if (!x->digits)
        return GOIO_EPROTO;
    x->state = x->left ? CH_DATA : CH_TRAILER;
    x->line = 0;
    return 0;
}

/* One byte of chunk framing (sizes, extensions, CRLFs, trailers). */
static int chunk_frame(xfer *x, char ch)
{
    int d;
    switch (x->state) {
    case CH_SIZE:
        if ((d = hex_value(ch)) >= 0) {
            if (x->left > (UINT64_MAX >> 4))
                return GOIO_EPROTO;
            x->left = x->left * 16 + (uint64_t)d;
            x->digits = true;
            return 0;
        }
        if (ch == '\n')
            return size_line_end(x);
        x->state = CH_EXT; /* ";ext", spaces, CR */
        return 0;
    case CH_EXT:
        return ch == '\n' ? size_line_end(x) : 0;
    case CH_DATA_END:
        if (ch == '\n') {
            x->state = CH_SIZE;
            x->left = 0;
            x->digits = false;
        }
        return 0;
    case CH_TRAILER:
        if (ch == '\n') {
            if (x->line == 0)
                x->state = CH_DONE;
            x->line = 0;
        } else if (ch != '\r') {
            x->line++;
        }
        return 0;
    default:
        return 0;
    }
}

static int chunked_body(xfer *x, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (x->state == CH_DATA) {
            size_t n = len - i;
            if ((uint64_t)n > x->left)
                n = (size_t)x->left;
            int rc = body_add(x, p + i, n);
            if (rc)
                return rc;
            x->left -= n;
            i += n;
            if (!x->left)
                x->state = CH_DATA_END;
            continue;
        }
        int rc = chunk_frame(x, p[i++]);
        if (rc)
            return rc;
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    if (!x->checked) {
        x->checked = true;
        x->chunked = ends_chunked(x->ex);
    }
    int rc = x->chunked ? chunked_body(x, p, len) : body_add(x, p, len);
    if (rc) {
        x->failure = rc;
        return 0;
    }
    return len;
}

/* ---- request setup ------------------------------------------------------- */

static int add_line(struct curl_slist **l, const char *name, const char *value)
{
    goio_buf line = GOIO_BUF_INIT;
    /* "Name;" is libcurl's way to send a field with an empty value. */
    int rc = *value ? goio_buf_appendf(&line, "%s: %s", name, value)
                    : goio_buf_appendf(&line, "%s;", name);
    struct curl_slist *grown =
        rc ? NULL : curl_slist_append(*l, goio_buf_cstr(&line));
    goio_buf_deinit(&line);
    if (!grown)
        return GOIO_ENOMEM;
    *l = grown;
    return 0;
}

/* "Name:" removes a field libcurl would add on its own. */
static int suppress(struct curl_slist **l, const goio__hc_exchange *ex,
                    const char *name, const char *line)
{
    if (goio__hc_header_get(ex->headers, ex->nheaders, name))
        return 0;
    struct curl_slist *grown = curl_slist_append(*l, line);
    if (!grown)
        return GOIO_ENOMEM;
    *l = grown;
    return 0;
}

static int build_headers(const goio__hc_exchange *ex, struct curl_slist **out)
{
    struct curl_slist *l = NULL;
    int rc = 0;
    for (size_t i = 0; i < ex->nheaders && !rc; i++)
        rc = add_line(&l, ex->headers[i].name, ex->headers[i].value);
    if (!rc && ex->if_none_match)
        rc = add_line(&l, "If-None-Match", ex->if_none_match);
    if (!rc && ex->if_modified_since)
        rc = add_line(&l, "If-Modified-Since", ex->if_modified_since);
    if (!rc && ex->surrogate_capability)
        rc = add_line(&l, "Surrogate-Capability", ex->surrogate_capability);
    if (!rc)
        rc = suppress(&l, ex, "Accept", "Accept:");
    if (!rc && ex->body)
        rc = suppress(&l, ex, "Expect", "Expect:");
    if (rc) {
        curl_slist_free_all(l);
        return rc;
    }
    *out = l;
    return 0;
}

static void set_method(CURL *e, const goio__hc_exchange *ex)
{
    if (!strcmp(ex->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (!strcmp(ex->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return;
    }
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, ex->method);
    if (ex->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)ex->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, ex->body);
    }
}

static void setup(goio__hc_transport *t, CURL *e, goio__hc_exchange *ex,
                  xfer *x, struct curl_slist *hdrs)
{
    curl_easy_reset(e); /* keeps the connections, DNS and sessions */
    curl_easy_setopt(e, CURLOPT_URL, ex->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, t->share);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ex->error);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    /* Transfer codings are goio's (on_body): libcurl fails a coding it
     * does not know (its error 61), where RFC 9112 section 6.3 reads the
     * body until the close. Content codings are never decoded. */
    curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)t->cfg.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->cfg.timeout_ms);
    set_method(e, ex);
}

/* ---- running a transfer -------------------------------------------------- */

static void wake(void *arg)
{
    curl_multi_wakeup(arg);
}

static int multi_err(CURLMcode mc)
{
    return mc == CURLM_OUT_OF_MEMORY ? GOIO_ENOMEM : GOIO_EIO;
}

/* Polls until the transfer ends or ctx is done; ctx's cancellation wakes
 * the poll at once, its deadline is looked at every slice. */
static int poll_loop(slot *s, goio_ctx *ctx)
{
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(s->multi, &running);
        if (mc)
            return multi_err(mc);
        if (!running)
            return 0;
        int rc = goio_ctx_err(ctx);
        if (rc)
            return rc;
        int64_t left = goio_ctx_remaining_ms(ctx);
        int timeout =
            left >= 0 && left < POLL_SLICE_MS ? (int)left + 1 : POLL_SLICE_MS;
        mc = curl_multi_poll(s->multi, NULL, 0, timeout, NULL);
        if (mc)
            return multi_err(mc);
    }
}

static int drive(slot *s, goio_ctx *ctx, CURLcode *result)
{
    goio_ctx_watch *w = NULL;
    int rc = ctx ? goio_ctx_on_cancel(ctx, wake, s->multi, &w) : 0;
    if (rc)
        return rc;
    CURLMcode mc = curl_multi_add_handle(s->multi, s->easy);
    rc = mc ? multi_err(mc) : poll_loop(s, ctx);
    if (!mc) {
        int queued;
        CURLMsg *m;
        while ((m = curl_multi_info_read(s->multi, &queued)))
            if (m->msg == CURLMSG_DONE && m->easy_handle == s->easy)
                *result = m->data.result;
        curl_multi_remove_handle(s->multi, s->easy);
    }
    if (w)
        goio_ctx_watch_remove(ctx, w);
    return rc;
}

static int connect_err(long os_errno)
{
    switch (os_errno) {
    case ECONNREFUSED:
        return GOIO_ECONNREFUSED;
    case ETIMEDOUT:
        return GOIO_ETIMEDOUT;
    default:
        return GOIO_EHOSTUNREACH;
    }
}

static int map_curl(CURLcode c, CURL *e)
{
    long os_errno = 0;
    switch (c) {
    case CURLE_OK:
        return 0;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
        return connect_err(os_errno);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return GOIO_EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
        return GOIO_ETIMEDOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return GOIO_ECONNRESET;
    case CURLE_PARTIAL_FILE:
        return GOIO_ETRUNCATED;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return GOIO_EINVAL;
    case CURLE_OUT_OF_MEMORY:
        return GOIO_ENOMEM;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return GOIO_EPROTO;
    default:
        return GOIO_EIO;
    }
}

static int run(goio__hc_transport *t, slot *s, goio__hc_exchange *ex,
               goio_ctx *ctx)
{
    struct curl_slist *hdrs = NULL;
    int rc = build_headers(ex, &hdrs);
    if (rc)
        return rc;
    xfer x = {.ex = ex, .easy = s->easy, .max_body = t->cfg.max_body_bytes};
    setup(t, s->easy, ex, &x, hdrs);
    CURLcode result = CURLE_OK;
    rc = drive(s, ctx, &result);
    if (!rc)
        rc = x.failure ? x.failure : map_curl(result, s->easy);
    if (!rc) {
        long status = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        ex->status = (int)status;
    }
    /* The easy handle must not keep pointers to what we free now. */
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return rc;
}

static int64_t wall_now(const goio__hc_transport *t)
{
    return t->cfg.now_fn ? t->cfg.now_fn(t->cfg.now_data) : goio_now_wall_ms();
}

int goio__hc_transport_perform(goio__hc_transport *t, goio__hc_exchange *ex,
                               goio_ctx *ctx)
{
    int rc = goio_ctx_err(ctx);
    if (rc)
        return rc;
    slot *s;
    if ((rc = slot_get(t, &s)))
        return rc;
    ex->error[0] = 0;
    ex->request_time_ms = wall_now(t);
    rc = run(t, s, ex, ctx);
    ex->response_time_ms = wall_now(t);
    if (rc && ex->error[0])
        goio_log(GOIO_LOG_INFO, "http_cache", "origin_error", ex->url, rc,
                 "%s %s: %s", ex->method, ex->url, ex->error);
    /* A transfer a ctx stopped halfway leaves its connection unusable;
     * libcurl closed it when the handle was removed. */
    slot_put(t, s);
    return rc;
}

void goio__hc_exchange_free(goio__hc_exchange *ex)
{
    if (!ex)
        return;
    goio__hc_hlist_free(&ex->resp);
    goio_buf_deinit(&ex->body_out);
}

/* ---- URLs ---------------------------------------------------------------- */

static int url_err(CURLUcode uc)
{
    return uc == CURLUE_OUT_OF_MEMORY ? GOIO_ENOMEM : GOIO_EINVAL;
}

static int url_part(CURLU *u, CURLUPart part, unsigned flags, char **out)
{
    *out = NULL;
    CURLUcode uc = curl_url_get(u, part, out, flags);
    return uc ? url_err(uc) : 0;
}

/* http or https only; host lowercased; no fragment; the URL string. */
static int url_finish(CURLU *u, char **out)
{
    char *scheme, *host, *s;
    int rc = url_part(u, CURLUPART_SCHEME, 0, &scheme);
    if (!rc && strcmp(scheme, "http") && strcmp(scheme, "https"))
        rc = GOIO_EINVAL;
    curl_free(scheme);
    if (!rc && !(rc = url_part(u, CURLUPART_HOST, 0, &host))) {
        for (char *p = host; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        CURLUcode uc = curl_url_set(u, CURLUPART_HOST, host, 0);
        curl_free(host);
        rc = uc ? url_err(uc) : 0;
    }
    if (!rc) {
        CURLUcode uc = curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        rc = uc ? url_err(uc) : 0;
    }
    if (rc || (rc = url_part(u, CURLUPART_URL, CURLU_NO_DEFAULT_PORT, &s)))
        return rc;
    *out = goio_strdup(s);
    curl_free(s);
    return *out ? 0 : GOIO_ENOMEM;
}

static bool is_lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* a.b.c.d, each 0..255 without leading zeros: the form libcurl's parser
 * turns every IPv4 spelling into. */
static bool canonical_ipv4(const char *h, size_t n)
{
    int parts = 0, value = -1, digits = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || h[i] == '.') {
            if (digits == 0 || value > 255 ||
                (digits > 1 && h[i - digits] == '0'))
                return false;
            parts++;
            value = -1;
            digits = 0;
        } else if (h[i] >= '0' && h[i] <= '9') {
            value = (value < 0 ? 0 : value) * 10 + (h[i] - '0');
            digits++;
        } else {
            return false;
        }
    }
    return parts == 4;
}

/* A host libcurl keeps as it is: lowercase letters, digits, '.', '-',
 * with a last label starting with a letter (so no IPv4 spelling), or a
 * canonical IPv4 address. */
static bool plain_host(const char *h, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(h[i]) && h[i] != '.' && h[i] != '-')
            return false;
    size_t last = n;
    while (last > 0 && h[last - 1] != '.')
        last--;
    return (last < n && h[last] >= 'a' && h[last] <= 'z') ||
           canonical_ipv4(h, n);
}

/* ":port" that is not the scheme's default and has no leading zero. */
static bool plain_port(const char *p, size_t n, bool https)
{
    if (n < 2 || n > 6 || p[1] == '0')
        return false;
    int port = 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        port = port * 10 + (p[i] - '0');
    }
    return port <= 65535 && port != (https ? 443 : 80);
}

/* Path and query: printable ASCII, no fragment, no backslash, no dot
 * segments in the path. */
static bool plain_rest(const char *s)
{
    bool in_query = false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7F || ch == '#' || ch == '\\')
            return false;
        if (ch == '?')
            in_query = true;
        if (!in_query && ch == '/' && p[1] == '.' &&
            (p[2] == '/' || p[2] == '?' || !p[2] ||
             (p[2] == '.' && (p[3] == '/' || p[3] == '?' || !p[3]))))
            return false;
    }
    return *s == '/';
}

/*
 * Whether url is already what libcurl's parser would make of it, so the
 * hot path (a fresh hit) can skip the parser, which costs more than the
 * rest of a hit. Conservative: anything unusual takes the parser.
 */
bool goio__hc_url_is_normal(const char *url)
{
    bool https = !strncmp(url, "https://", 8);
    if (!https && strncmp(url, "http://", 7))
        return false;
    const char *host = url + (https ? 8 : 7);
    size_t auth = strcspn(host, "/?#");
    if (host[auth] != '/')
        return false;
    const char *colon = memchr(host, ':', auth);
    size_t host_len = colon ? (size_t)(colon - host) : auth;
    return plain_host(host, host_len) &&
           (!colon || plain_port(colon, auth - host_len, https)) &&
           plain_rest(host + auth);
}

int goio__hc_url_normalize(const char *url, char **out)
{
    *out = NULL;
    if (!goio__hc_url_is_normal(url))
        return goio__hc_url_parse(url, out);
    *out = goio_strdup(url);
    return *out ? 0 : GOIO_ENOMEM;
}

int goio__hc_url_parse(const char *url, char **out)
{
    *out = NULL;
    CURLU *u = curl_url();
    if (!u)
        return GOIO_ENOMEM;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    int rc = uc ? url_err(uc) : url_finish(u, out);
    curl_url_cleanup(u);
    return rc;
}

/* scheme://host:port with the default port made explicit. */
static int origin_of(CURLU *u, goio_buf *out)
{
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = url_part(u, CURLUPART_SCHEME, 0, &scheme);
    if (!rc)
        rc = url_part(u, CURLUPART_HOST, 0, &host);
    if (!rc)
        rc = url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, &port);
    if (!rc)
        rc = goio_buf_appendf(out, "%s://%s:%s", scheme, host, port);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return rc;
}

int goio__hc_url_same_origin(const char *base, const char *ref, char **out)
{
    *out = NULL;
    CURLU *u = curl_url();
    if (!u)
        return GOIO_ENOMEM;
    goio_buf a = GOIO_BUF_INIT, b = GOIO_BUF_INIT;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, base, 0);
    int rc = uc ? url_err(uc) : origin_of(u, &a);
    /* A relative ref resolves against the URL the handle holds. */
    if (!rc && (uc = curl_url_set(u, CURLUPART_URL, ref, 0)))
        rc = GOIO_EINVAL;
    if (!rc)
        rc = origin_of(u, &b);
    if (!rc && a.len == b.len &&
        !strcasecmp(goio_buf_cstr(&a), goio_buf_cstr(&b)))
        rc = url_finish(u, out);
    goio_buf_deinit(&a);
    goio_buf_deinit(&b);
    curl_url_cleanup(u);
    return rc;
}
