/* SPDX-License-Identifier: MIT */
/*
 * The router: method + exact path, {name} segments, or a prefix. Routes
 * are few and matching is a linear scan that ranks every match, which is
 * simpler than a tree and fast enough for a service's dozen routes.
 */
#include "http_int.h"

#include <stdio.h>
#include <string.h>

/* {name} segments per pattern: a match keeps them on the stack. */
#define MAX_PARAMS 16

typedef enum route_kind { ROUTE_EXACT, ROUTE_PARAM, ROUTE_PREFIX } route_kind;

typedef struct route {
    char *method; /* NULL: any */
    char *pattern;
    route_kind kind;
    char **segs; /* ROUTE_PARAM: pattern segments; "{id}" kept as "id" */
    bool *is_param;
    size_t nsegs;
    size_t prefix_len; /* ROUTE_PREFIX: pattern without the '*' */
    goio_http_handler_fn fn;
    void *data;
    bool streaming; /* the body is streamed to the handler */
} route;

struct goio_http_router {
    route *routes;
    size_t n;
    goio_http_handler_fn fallback;
    void *fallback_data;
};

static void not_found(goio_http_request *req, goio_http_response *res,
                      void *data)
{
    (void)req;
    (void)data;
    static const char body[] = "404 page not found\n";
    goio_http_respond(res, 404, "text/plain; charset=utf-8", body,
                      sizeof body - 1);
}

int goio_http_router_new(goio_http_router **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    goio_http_router *r = goio_calloc(1, sizeof *r);
    if (!r)
        return GOIO_ENOMEM;
    r->fallback = not_found;
    *out = r;
    return 0;
}

static void route_free(route *rt)
{
    for (size_t i = 0; i < rt->nsegs; i++)
        goio_free(rt->segs[i]);
    goio_free(rt->segs);
    goio_free(rt->is_param);
    goio_free(rt->method);
    goio_free(rt->pattern);
}

void goio_http_router_free(goio_http_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_free(&r->routes[i]);
    goio_free(r->routes);
    goio_free(r);
}

static bool valid_param_name(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

/* Splits "/a/{b}/c" into segments; GOIO_EINVAL for a malformed one. */
static int split_segments(route *rt)
{
    const char *p = rt->pattern + 1;
    size_t n = 1, params = 0;
    for (const char *s = p; *s; s++)
        n += *s == '/';
    rt->segs = goio_calloc(n, sizeof *rt->segs);
    rt->is_param = goio_calloc(n, sizeof *rt->is_param);
    if (!rt->segs || !rt->is_param)
        return GOIO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(p, "/");
        bool open = len && p[0] == '{', close = len && p[len - 1] == '}';
        if (open != close || memchr(p + open, '{', len - open) ||
            memchr(p, '}', len - close))
            return GOIO_EINVAL;
        if (open && !valid_param_name(p + 1, len - 2))
            return GOIO_EINVAL;
        if (open && ++params > MAX_PARAMS)
            return GOIO_EINVAL; /* it could never match */
        rt->is_param[i] = open;
        rt->segs[i] = goio_strndup(p + open, len - open - close);
        if (!rt->segs[i])
            return GOIO_ENOMEM;
        rt->nsegs++;
        p += len + (p[len] == '/');
    }
    return 0;
}

static int parse_pattern(route *rt)
{
    const char *p = rt->pattern;
    size_t len = strlen(p);
    if (p[0] != '/')
        return GOIO_EINVAL;
    const char *star = strchr(p, '*');
    if (star) {
        if (star != p + len - 1 || star[-1] != '/' || strpbrk(p, "{}"))
            return GOIO_EINVAL;
        rt->kind = ROUTE_PREFIX;
        rt->prefix_len = len - 1;
        return 0;
    }
    if (!strpbrk(p, "{}")) {
        rt->kind = ROUTE_EXACT;
        return 0;
    }
    rt->kind = ROUTE_PARAM;
    return split_segments(rt);
}

static bool same_method(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int add_route(goio_http_router *r, const char *method,
                     const char *pattern, goio_http_handler_fn fn, void *data,
                     bool streaming)
{
    if (!r || !pattern || !fn || (method && !*method))
        return GOIO_EINVAL;
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->routes[i].pattern, pattern) &&
            same_method(r->routes[i].method, method))
            return GOIO_EEXIST;
    route rt = {.fn = fn, .data = data, .streaming = streaming};
    rt.pattern = goio_strdup(pattern);
    rt.method = method ? goio_strdup(method) : NULL;
    int rc = !rt.pattern || (method && !rt.method) ? GOIO_ENOMEM
                                                   : parse_pattern(&rt);
    route *routes =
        rc ? NULL : goio_reallocarray(r->routes, r->n + 1, sizeof *routes);
    if (!rc && !routes)
        rc = GOIO_ENOMEM;
    if (rc) {
        route_free(&rt);
        return rc;
    }
    r->routes = routes;
    r->routes[r->n++] = rt;
    return 0;
}

int goio_http_router_handle(goio_http_router *r, const char *method,
                            const char *pattern, goio_http_handler_fn fn,
                            void *data)
{
    return add_route(r, method, pattern, fn, data, false);
}

int goio_http_router_handle_streaming(goio_http_router *r, const char *method,
                                      const char *pattern,
                                      goio_http_handler_fn fn, void *data)
{
    return add_route(r, method, pattern, fn, data, true);
}

int goio_http_router_fallback(goio_http_router *r, goio_http_handler_fn fn,
                              void *data)
{
    if (!r || !fn)
        return GOIO_EINVAL;
    r->fallback = fn;
    r->fallback_data = data;
    return 0;
}

/* ---- matching ------------------------------------------------------------ */

typedef struct match {
    const char *values[MAX_PARAMS];
    size_t lens[MAX_PARAMS];
    const char *names[MAX_PARAMS];
    size_t n;
} match;

static bool match_params(const route *rt, const char *path, match *m)
{
    const char *p = path + 1;
    m->n = 0;
    for (size_t i = 0; i < rt->nsegs; i++) {
        size_t len = strcspn(p, "/");
        if (rt->is_param[i]) {
            if (!len || m->n == MAX_PARAMS)
                return false;
            m->names[m->n] = rt->segs[i];
            m->values[m->n] = p;
            m->lens[m->n++] = len;
        } else if (strlen(rt->segs[i]) != len || memcmp(rt->segs[i], p, len)) {
            return false;
        }
        if (i + 1 < rt->nsegs && p[len] != '/')
            return false;
        p += len + (i + 1 < rt->nsegs);
    }
    return *p == 0;
}

static bool match_path(const route *rt, const char *path, match *m)
{
    switch (rt->kind) {
    case ROUTE_EXACT:
        return !strcmp(rt->pattern, path);
    case ROUTE_PREFIX:
        return !strncmp(rt->pattern, path, rt->prefix_len);
    case ROUTE_PARAM:
        return match_params(rt, path, m);
    }
    return false;
}

static bool match_method(const route *rt, const char *method)
{
    return !rt->method || !strcmp(rt->method, method) ||
           (!strcmp(method, "HEAD") && !strcmp(rt->method, "GET"));
}

/* Whether a beats b (both match): class, then longer prefix, then order. */
static bool better(const route *a, const route *b)
{
    if (!b)
        return true;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    return a->kind == ROUTE_PREFIX && a->prefix_len > b->prefix_len;
}

static void method_not_allowed(goio_http_router *r, const char *path,
                               goio_http_response *res)
{
    goio_buf allow = GOIO_BUF_INIT;
    match m;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = &r->routes[i];
        if (!rt->method || !match_path(rt, path, &m))
            continue;
        goio_buf_appendf(&allow, "%s%s", allow.len ? ", " : "", rt->method);
        if (!strcmp(rt->method, "GET"))
            goio_buf_append_str(&allow, ", HEAD");
    }
    goio_http_response_set_header(res, "Allow", goio_buf_cstr(&allow));
    goio_buf_deinit(&allow);
    static const char body[] = "Method Not Allowed\n";
    goio_http_respond(res, 405, "text/plain; charset=utf-8", body,
                      sizeof body - 1);
}

void goio_http_router_serve(goio_http_request *req, goio_http_response *res,
                            void *data)
{
    goio_http_router *r = data;
    if (!r || !req || !res)
        return;
    const char *path = goio_http_request_path(req);
    const char *method = goio_http_request_method(req);
    const route *best = NULL;
    match m, best_m = {.n = 0};
    bool path_matched = false;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = &r->routes[i];
        m.n = 0;
        if (!match_path(rt, path, &m))
            continue;
        path_matched = true;
        if (match_method(rt, method) && better(rt, best)) {
            best = rt;
            best_m = m;
        }
    }
    if (!best) {
        if (path_matched)
            method_not_allowed(r, path, res);
        else
            r->fallback(req, res, r->fallback_data);
        return;
    }
    if (goio__http_request_set_route(req, best->pattern, best_m.names,
                                     best_m.values, best_m.lens, best_m.n)) {
        goio_http_respond(res, 500, "text/plain; charset=utf-8",
                          "Internal Server Error\n", 22);
        return;
    }
    best->fn(req, res, best->data);
}

int goio__http_router_precheck(goio_http_router *r, const char *method,
                               const char *path, char *allow, size_t allow_cap)
{
    bool path_matched = false;
    const route *best = NULL;
    match m;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = &r->routes[i];
        m.n = 0;
        if (!match_path(rt, path, &m))
            continue;
        path_matched = true;
        if (match_method(rt, method) && better(rt, best))
            best = rt;
    }
    if (best)
        return best->streaming ? 2 : 0;
    if (!path_matched)
        return r->fallback == not_found ? 404 : 1;
    /* The Allow list, as method_not_allowed writes it. */
    size_t n = 0;
    allow[0] = 0;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = &r->routes[i];
        if (!rt->method || !match_path(rt, path, &m))
            continue;
        int w = snprintf(allow + n, allow_cap - n, "%s%s%s", n ? ", " : "",
                         rt->method, strcmp(rt->method, "GET") ? "" : ", HEAD");
        if (w < 0 || (size_t)w >= allow_cap - n) {
            allow[n] = 0; /* too long for the loop's answer: let the */
            return 1;     /* handler answer it, discarding the body */
        }
        n += (size_t)w;
    }
    return 405;
}
