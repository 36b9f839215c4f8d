/* SPDX-License-Identifier: MIT */
/*
 * Requests: the parser layer over libhttp-parser (bytes in, requests out,
 * no sockets, so it is fuzzed on its own) and the request accessors.
 *
 * Every string of a request lives in one buffer (req->strs) addressed by
 * offsets, because the buffer grows while callbacks deliver fragments.
 */
#include "http_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* libhttp-parser's compiled-in limit on the header section. */
#define PARSER_MAX_HEADER (80 * 1024)

static goio__http_parser *rp_of(http_parser *p)
{
    return p->data;
}

/* Fails the message with an HTTP status to answer. */
static int fail(goio__http_parser *rp, int status)
{
    if (!rp->status)
        rp->status = status;
    return -1;
}

static int count_header_bytes(goio__http_parser *rp, size_t len, int status)
{
    rp->header_bytes += len;
    if (rp->header_bytes > rp->max_header_bytes)
        return fail(rp, status);
    return 0;
}

static int on_message_begin(http_parser *p)
{
    goio__http_parser *rp = rp_of(p);
    goio_http_request *req = goio_calloc(1, sizeof *req);
    if (!req)
        return fail(rp, 503);
    goio__http_request_free(rp->cur);
    rp->cur = req;
    rp->in_message = true;
    rp->headers_done = false;
    rp->complete = false;
    rp->header_bytes = 0;
    rp->last = 0;
    rp->url_off = 0;
    rp->url_len = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    goio__http_parser *rp = rp_of(p);
    if (count_header_bytes(rp, len, 414))
        return -1;
    if (goio_buf_append(&rp->cur->strs, at, len))
        return fail(rp, 503);
    rp->url_len += len;
    return 0;
}

/* NUL-terminates the string being received, then starts the next one. */
static int terminate(goio_buf *b)
{
    return goio_buf_append(b, "", 1);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    goio__http_parser *rp = rp_of(p);
    goio_http_request *req = rp->cur;
    if (count_header_bytes(rp, len, 431))
        return -1;
    if (rp->headers_done)
        return 0; /* a trailer of a chunked body: counted, not kept */
    if (rp->last != 1) {
        /* A new header: end the URL or the previous value. */
        if (terminate(&req->strs))
            return fail(rp, 503);
        if (req->nhdrs == req->hdrs_cap) {
            size_t cap = req->hdrs_cap ? req->hdrs_cap * 2 : 16;
            void *n = goio_reallocarray(req->hdrs, cap, sizeof *req->hdrs);
            if (!n)
                return fail(rp, 503);
            req->hdrs = n;
            req->hdrs_cap = cap;
        }
        req->hdrs[req->nhdrs++].name = req->strs.len;
        rp->last = 1;
    }
    return goio_buf_append(&req->strs, at, len) ? fail(rp, 503) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    goio__http_parser *rp = rp_of(p);
    goio_http_request *req = rp->cur;
    if (count_header_bytes(rp, len, 431))
        return -1;
    if (rp->headers_done)
        return 0; /* trailer */
    if (rp->last != 2) {
        if (terminate(&req->strs))
            return fail(rp, 503);
        req->hdrs[req->nhdrs - 1].value = req->strs.len;
        rp->last = 2;
    }
    return goio_buf_append(&req->strs, at, len) ? fail(rp, 503) : 0;
}

/* Splits the URL into path and query, appended as their own strings. */
static int split_url(goio__http_parser *rp)
{
    goio_http_request *req = rp->cur;
    if (rp->url_len > UINT16_MAX)
        return fail(rp, 414);
    const char *url = (const char *)req->strs.data + rp->url_off;
    struct http_parser_url u;
    http_parser_url_init(&u);
    size_t plen = 0, qlen = 0;
    const char *path = NULL, *query = "";
    if (rp->url_len == 1 && url[0] == '*') {
        path = "*"; /* OPTIONS * */
        plen = 1;
    } else {
        if (http_parser_parse_url(url, rp->url_len, 0, &u))
            return fail(rp, 400);
        if (u.field_set & (1 << UF_PATH)) {
            path = url + u.field_data[UF_PATH].off;
            plen = u.field_data[UF_PATH].len;
        }
        if (u.field_set & (1 << UF_QUERY)) {
            query = url + u.field_data[UF_QUERY].off;
            qlen = u.field_data[UF_QUERY].len;
        }
    }
    if (!path) {
        path = "/";
        plen = 1;
    }
    /* Copy through a temporary: appending may move url. */
    char *tmp = goio_malloc(plen + qlen + 2);
    if (!tmp)
        return fail(rp, 503);
    memcpy(tmp, path, plen);
    tmp[plen] = 0;
    memcpy(tmp + plen + 1, query, qlen);
    tmp[plen + 1 + qlen] = 0;
    if (terminate(&req->strs)) {
        goio_free(tmp);
        return fail(rp, 503);
    }
    req->path_off = req->strs.len;
    req->query_off = req->path_off + plen + 1;
    int rc = goio_buf_append(&req->strs, tmp, plen + qlen + 2);
    goio_free(tmp);
    return rc ? fail(rp, 503) : 0;
}

/* Whether a comma-separated header value lists `token`. */
static bool header_has_token(const char *v, const char *token)
{
    size_t n = strlen(token);
    while (*v) {
        v += strspn(v, " \t,");
        size_t len = strcspn(v, ",");
        size_t trimmed = len;
        while (trimmed && (v[trimmed - 1] == ' ' || v[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == n && !strncasecmp(v, token, n))
            return true;
        v += len;
    }
    return false;
}

/*
 * Makes room for `len` body bytes (plus a NUL), charging the server's
 * buffered-body budget for the whole capacity first: 503 beyond it.
 */
static int body_grow(goio__http_parser *rp, goio_http_request *req, size_t len)
{
    size_t cap = len + 1;
    if (cap <= req->body.cap)
        return 0;
    size_t delta = cap - req->body.cap;
    if (rp->budget) {
        size_t before = atomic_fetch_add(rp->budget, delta);
        if (before + delta > rp->budget_max) {
            atomic_fetch_sub(rp->budget, delta);
            return fail(rp, 503);
        }
        req->budget = rp->budget;
    }
    req->charged += delta;
    uint8_t *data = goio_realloc(req->body.data, cap);
    if (!data)
        return fail(rp, 503); /* charged: released with the request */
    req->body.data = data;
    req->body.cap = cap;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    goio__http_parser *rp = rp_of(p);
    goio_http_request *req = rp->cur;
    if (p->method == HTTP_CONNECT)
        return fail(rp, 501);
    if (split_url(rp))
        return -1;
    req->method = http_method_str(p->method);
    req->version = p->http_major * 10 + p->http_minor;
    if (req->version != 10 && req->version != 11)
        return fail(rp, 505);
    req->keep_alive = http_should_keep_alive(p);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > rp->max_body_bytes)
        return fail(rp, 413);
    const char *expect = goio_http_request_get_header(req, "Expect");
    if (expect) {
        if (!header_has_token(expect, "100-continue"))
            return fail(rp, 417);
        req->expect_continue = req->version == 11;
    }
    bool has_cl = (p->flags & F_CONTENTLENGTH) && p->content_length;
    rp->discard_body = false;
    rp->discarded = 0;
    if ((has_cl || (p->flags & F_CHUNKED)) && rp->head_fn) {
        /* Routed before the body is read: a body nobody takes is never
         * buffered. */
        int st = rp->head_fn(rp->head_data, req);
        if (st >= 400)
            return fail(rp, st);
        rp->discard_body = st == 1;
        if (st == 2) {
            /* Streamed: the handler reads it through a bounded buffer. */
            size_t cap = rp->stream_cap ? rp->stream_cap : 256 * 1024;
            if (has_cl && p->content_length < cap)
                cap = (size_t)p->content_length;
            if (goio__http_stream_new(cap, &req->stream))
                return fail(rp, 503);
            rp->stream = req->stream;
        }
    }
    if (has_cl && !rp->discard_body && !rp->stream &&
        body_grow(rp, req, (size_t)p->content_length))
        return -1;
    rp->headers_done = true;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    goio__http_parser *rp = rp_of(p);
    goio_http_request *req = rp->cur;
    if (rp->stream) {
        if (rp->stream->total + len > rp->max_body_bytes)
            return fail(rp, 413);
        return goio__http_stream_append(rp->stream, at, len) ? fail(rp, 503)
                                                             : 0;
    }
    if (rp->discard_body) {
        /* Not kept, but still limited: reading it costs time. */
        rp->discarded += len;
        return rp->discarded > rp->max_body_bytes ? fail(rp, 413) : 0;
    }
    if (req->body.len + len > rp->max_body_bytes)
        return fail(rp, 413);
    if (req->body.len + len >= req->body.cap) {
        /* Chunked: grow by doubling, up to the limit. */
        size_t want = req->body.cap * 2;
        want = want > rp->max_body_bytes ? rp->max_body_bytes : want;
        want = want < 16384 ? 16384 : want;
        if (want < req->body.len + len)
            want = req->body.len + len;
        if (body_grow(rp, req, want))
            return -1;
    }
    memcpy(req->body.data + req->body.len, at, len);
    req->body.len += len;
    req->body.data[req->body.len] = 0;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    goio__http_parser *rp = rp_of(p);
    rp->complete = true;
    rp->in_message = false;
    /* One request at a time: the connection resumes us once answered. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void goio__http_parser_init(goio__http_parser *rp, size_t max_header_bytes,
                            size_t max_body_bytes)
{
    memset(rp, 0, sizeof *rp);
    http_parser_init(&rp->p, HTTP_REQUEST);
    rp->p.data = rp;
    goio__http_strict_init(&rp->strict);
    rp->max_header_bytes = max_header_bytes < PARSER_MAX_HEADER
                               ? max_header_bytes
                               : PARSER_MAX_HEADER;
    rp->max_body_bytes = max_body_bytes;
}

static int status_of_errno(enum http_errno e)
{
    switch (e) {
    case HPE_HEADER_OVERFLOW:
        return 431;
    case HPE_INVALID_VERSION:
        return 505;
    default:
        return 400;
    }
}

/* The strict scanner and http-parser disagree about where a message
 * ends: a framing neither should guess about. */
static goio__http_feed disagree(goio__http_parser *rp)
{
    rp->status = 400;
    rp->disagreed = true;
    return GOIO__HTTP_FEED_ERROR;
}

goio__http_feed goio__http_parser_feed(goio__http_parser *rp, const char *data,
                                       size_t len, size_t *used)
{
    *used = 0;
    if (rp->status)
        return GOIO__HTTP_FEED_ERROR;
    if (rp->complete)
        return GOIO__HTTP_FEED_REQUEST;
    if (!len)
        return GOIO__HTTP_FEED_MORE; /* 0 bytes would mean EOF to the parser */
    /* The strict scanner goes first; http-parser sees only the bytes it
     * passed (up to a message's end, or up to a violation, so that a
     * limit http-parser finds earlier keeps its own status). */
    int sr;
    size_t n =
        goio__http_strict_scan(&rp->strict, (const uint8_t *)data, len, &sr);
    size_t fed = n ? http_parser_execute(&rp->p, &settings, data, n) : 0;
    enum http_errno e = n ? HTTP_PARSER_ERRNO(&rp->p) : HPE_OK;
    *used = fed;
    if (rp->status)
        return GOIO__HTTP_FEED_ERROR;
    if (e == HPE_PAUSED && rp->complete)
        return sr == 1 && fed == n ? GOIO__HTTP_FEED_REQUEST : disagree(rp);
    if (e != HPE_OK) {
        rp->status = status_of_errno(e);
        return GOIO__HTTP_FEED_ERROR;
    }
    if (sr < 0) {
        rp->status = rp->strict.status;
        return GOIO__HTTP_FEED_ERROR;
    }
    if (sr == 1)
        return disagree(rp);
    /* A streamed request is handed out with its headers. */
    return rp->stream && rp->cur && rp->headers_done ? GOIO__HTTP_FEED_REQUEST
                                                     : GOIO__HTTP_FEED_MORE;
}

goio_http_request *goio__http_parser_take(goio__http_parser *rp)
{
    goio_http_request *req = rp->cur;
    if (!rp->complete) {
        /* The headers of a streamed request: its body follows. */
        if (!(rp->stream && req && rp->headers_done))
            return NULL;
        rp->cur = NULL;
        return req;
    }
    rp->cur = NULL;
    rp->complete = false;
    if (rp->stream) {
        goio__http_stream_end(rp->stream, 0, 0);
        rp->stream = NULL;
    }
    http_parser_pause(&rp->p, 0);
    return req;
}

void goio__http_parser_reset(goio__http_parser *rp)
{
    goio__http_request_free(rp->cur);
    rp->cur = NULL;
    rp->stream = NULL;
}

void goio__http_request_free(goio_http_request *req)
{
    if (!req)
        return;
    if (req->budget && req->charged)
        atomic_fetch_sub(req->budget, req->charged);
    goio_buf_deinit(&req->strs);
    goio_buf_deinit(&req->body);
    goio__http_stream_free(req->stream);
    goio_buf_deinit(&req->param_values);
    goio_free(req->hdrs);
    goio_free(req->params);
    goio_ctx_unref(req->ctx);
    goio_free(req);
}

int goio__http_request_set_route(goio_http_request *req, const char *route,
                                 const char *const *names,
                                 const char *const *values,
                                 const size_t *value_lens, size_t n)
{
    goio_buf_clear(&req->param_values);
    goio_free(req->params);
    req->params = NULL;
    req->nparams = 0;
    req->route = route;
    if (!n)
        return 0;
    const char **params = goio_calloc(2 * n, sizeof *params);
    if (!params)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (goio_buf_append(&req->param_values, values[i], value_lens[i]) ||
            terminate(&req->param_values)) {
            goio_free(params);
            return GOIO_ENOMEM;
        }
    }
    /* Pointers only now: the appends above may have moved the storage. */
    const char *v = (const char *)req->param_values.data;
    for (size_t i = 0; i < n; i++) {
        params[2 * i] = names[i];
        params[2 * i + 1] = v;
        v += strlen(v) + 1;
    }
    req->params = params;
    req->nparams = n;
    return 0;
}

/* ---- accessors ----------------------------------------------------------- */

static const char *str_at(const goio_http_request *req, size_t off)
{
    return (const char *)req->strs.data + off;
}

const char *goio_http_request_method(const goio_http_request *req)
{
    return req ? req->method : NULL;
}

const char *goio_http_request_path(const goio_http_request *req)
{
    return req ? str_at(req, req->path_off) : NULL;
}

const char *goio_http_request_query(const goio_http_request *req)
{
    return req ? str_at(req, req->query_off) : NULL;
}

const char *goio_http_request_get_header(const goio_http_request *req,
                                         const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->nhdrs; i++)
        if (!strcasecmp(str_at(req, req->hdrs[i].name), name))
            return str_at(req, req->hdrs[i].value);
    return NULL;
}

size_t goio_http_request_header_count(const goio_http_request *req)
{
    return req ? req->nhdrs : 0;
}

int goio_http_request_header_at(const goio_http_request *req, size_t i,
                                const char **name, const char **value)
{
    if (!req || !name || !value)
        return GOIO_EINVAL;
    if (i >= req->nhdrs)
        return GOIO_ERANGE;
    *name = str_at(req, req->hdrs[i].name);
    *value = str_at(req, req->hdrs[i].value);
    return 0;
}

const void *goio_http_request_body(const goio_http_request *req, size_t *len)
{
    if (len)
        *len = req ? req->body.len : 0;
    if (!req || !req->body.data)
        return "";
    return req->body.data;
}

const char *goio_http_request_remote_addr(const goio_http_request *req)
{
    return req ? req->remote : NULL;
}

int goio_http_request_version(const goio_http_request *req)
{
    return req ? req->version : GOIO_EINVAL;
}

goio_ctx *goio_http_request_ctx(const goio_http_request *req)
{
    return req ? req->ctx : NULL;
}

const char *goio_http_request_route(const goio_http_request *req)
{
    return req ? req->route : NULL;
}

const char *goio_http_request_param(const goio_http_request *req,
                                    const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->nparams; i++)
        if (!strcmp(req->params[2 * i], name))
            return req->params[2 * i + 1];
    return NULL;
}

/* ---- query strings and status texts -------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Appends the decoded form of s[0..n) ('+' is a space in queries). */
static int unescape(const char *s, size_t n, goio_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return GOIO_EBADMSG;
            int hi = hexval((unsigned char)s[i + 1]);
            int lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return GOIO_EBADMSG;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (goio_buf_append(out, &c, 1))
            return GOIO_ENOMEM;
    }
    return 0;
}

int goio_http_query_get(const char *query, const char *name, goio_buf *out,
                        bool *found)
{
    if (!query || !name || !out || !found)
        return GOIO_EINVAL;
    *found = false;
    goio_buf key = GOIO_BUF_INIT;
    int rc = 0;
    for (const char *s = query; *s && !*found && !rc;) {
        size_t n = strcspn(s, "&;");
        size_t k = strcspn(s, "=");
        if (k > n)
            k = n;
        goio_buf_clear(&key);
        rc = unescape(s, k, &key);
        if (!rc && key.len == strlen(name) &&
            !memcmp(goio_buf_cstr(&key), name, key.len)) {
            goio_buf_clear(out);
            const char *v = s + k + (k < n);
            rc = unescape(v, n - (size_t)(v - s), out);
            *found = !rc;
        }
        s += n + (s[n] != 0);
    }
    goio_buf_deinit(&key);
    return rc;
}

const char *goio_http_status_text(int status)
{
    switch (status) {
    case 103: /* RFC 8297; not in http-parser's table */
        return "Early Hints";
#define XX(num, name, string)                                                  \
    case num:                                                                  \
        return #string;
        HTTP_STATUS_MAP(XX)
#undef XX
    default:
        return "Unknown";
    }
}
