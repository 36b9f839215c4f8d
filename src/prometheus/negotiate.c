/* SPDX-License-Identifier: MIT */
/*
 * Content negotiation for scrapes (Accept, Accept-Encoding) and the
 * render-for-any-server entry point.
 */
#include "prom_int.h"

#include <strings.h>

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OM_1 "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define CT_OM_0 "application/openmetrics-text; version=0.0.1; charset=utf-8"

/* A header element: "token;param=value;..." between commas. */
typedef struct element {
    const char *p;
    size_t n;
} element;

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static size_t trim_len(const char *p, size_t n)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return n;
}

/* Next comma-separated element of *s; false at the end. */
static bool next_element(const char **s, element *e)
{
    const char *p = *s;
    while (*p == ',' || *p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return false;
    const char *end = strchr(p, ',');
    if (!end)
        end = p + strlen(p);
    e->p = p;
    e->n = (size_t)(end - p);
    *s = end;
    return true;
}

/* The element's first token (up to ';'), trimmed. */
static element token_of(element e)
{
    const char *semi = memchr(e.p, ';', e.n);
    size_t n = semi ? (size_t)(semi - e.p) : e.n;
    return (element){e.p, trim_len(e.p, n)};
}

static bool token_is(element t, const char *word)
{
    return t.n == strlen(word) && !strncasecmp(t.p, word, t.n);
}

/* Value of parameter `name` (case-insensitive, quotes stripped), or
 * {NULL, 0} when absent. */
static element param(element e, const char *name)
{
    const char *end = e.p + e.n, *p = memchr(e.p, ';', e.n);
    size_t nl = strlen(name);
    while (p && p < end) {
        p = skip_ws(p + 1, end);
        const char *next = memchr(p, ';', (size_t)(end - p));
        const char *stop = next ? next : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq && trim_len(p, (size_t)(eq - p)) == nl &&
            !strncasecmp(p, name, nl)) {
            const char *v = skip_ws(eq + 1, stop);
            size_t vn = trim_len(v, (size_t)(stop - v));
            if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"')
                v++, vn -= 2;
            return (element){v, vn};
        }
        p = next;
    }
    return (element){NULL, 0};
}

/* q-value in thousandths (RFC 9110: 0, 0.x.., 1, 1.000); a malformed q
 * counts as 0, absent as 1000. Parsed by hand: strtod follows the
 * locale. */
static int qvalue(element e)
{
    element q = param(e, "q");
    if (!q.p)
        return 1000;
    if (!q.n || (q.p[0] != '0' && q.p[0] != '1'))
        return 0;
    int v = (q.p[0] - '0') * 1000, scale = 100;
    if (q.n > 1 && q.p[1] != '.')
        return 0;
    for (size_t i = 2; i < q.n && i < 5; i++, scale /= 10) {
        if (q.p[i] < '0' || q.p[i] > '9')
            return 0;
        v += (q.p[i] - '0') * scale;
    }
    return v > 1000 ? 1000 : v;
}

static bool version_is(element e, const char *v)
{
    element ver = param(e, "version");
    return ver.p && ver.n == strlen(v) && !strncmp(ver.p, v, ver.n);
}

/* Which exposition an Accept element asks for: 0 text, 1 OpenMetrics
 * 1.0.0, 2 OpenMetrics 0.0.1, -1 none we serve. */
static int element_format(element e)
{
    element t = token_of(e);
    bool any_version = !param(e, "version").p;
    if (token_is(t, "application/openmetrics-text")) {
        if (any_version || version_is(e, "1.0.0"))
            return 1;
        return version_is(e, "0.0.1") ? 2 : -1;
    }
    if (token_is(t, "text/plain"))
        return any_version || version_is(e, "0.0.4") ? 0 : -1;
    if (token_is(t, "*/*") || token_is(t, "text/*"))
        return 0;
    return -1;
}

static int pick_format(const char *accept)
{
    int best = 0, best_q = 0;
    element e;
    while (accept && next_element(&accept, &e)) {
        int f = element_format(e), q = qvalue(e);
        if (f >= 0 && q > best_q) /* ties keep the earlier element */
            best = f, best_q = q;
    }
    return best;
}

static bool pick_gzip(const char *accept_encoding)
{
    int gzip_q = -1, any_q = -1;
    element e;
    while (accept_encoding && next_element(&accept_encoding, &e)) {
        element t = token_of(e);
        if (token_is(t, "gzip") || token_is(t, "x-gzip"))
            gzip_q = qvalue(e);
        else if (token_is(t, "*"))
            any_q = qvalue(e);
    }
    /* An explicit gzip entry wins over the wildcard. */
    return gzip_q >= 0 ? gzip_q > 0 : any_q > 0;
}

int goio_prom_negotiate(const char *accept, const char *accept_encoding,
                        goio_prom_encoding *out)
{
    if (!out)
        return GOIO_EINVAL;
    static const char *const types[] = {CT_TEXT, CT_OM_1, CT_OM_0};
    int f = pick_format(accept);
    out->format = f ? GOIO_PROM_OPENMETRICS : GOIO_PROM_TEXT;
    out->content_type = types[f];
    out->gzip = pick_gzip(accept_encoding);
    out->content_encoding = out->gzip ? "gzip" : NULL;
    return 0;
}

int goio_prom_registry_render(goio_prom_registry *reg, goio_ctx *ctx,
                              const char *accept, const char *accept_encoding,
                              goio_buf *out, goio_prom_encoding *enc)
{
    goio_prom_encoding e;
    if (!out)
        return GOIO_EINVAL;
    goio_prom_negotiate(accept, accept_encoding, &e);
    goio_buf *dst = out, plain = GOIO_BUF_INIT;
    if (e.gzip)
        dst = &plain;
    int rc = goio_prom_registry_write(reg, ctx, e.format, dst);
    if (!rc && e.gzip)
        rc = goio__prom_gzip(plain.data, plain.len, out);
    goio_buf_deinit(&plain);
    if (!rc && enc)
        *enc = e;
    return rc;
}
