/* SPDX-License-Identifier: MIT */
/*
 * goio_redis_config_from_url: redis://, rediss:// and unix:// URLs with
 * go-redis' option names. Every part is checked; nothing is logged that
 * could hold the password (the URL itself never is).
 */
#include "redis_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_MAX 4096

/* The strings a parsed URL owns (cfg->url_storage). */
typedef struct url_storage {
    char **s;
    size_t n, cap;
} url_storage;

static void storage_free(url_storage *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        goio_free(st->s[i]);
    goio_free(st->s);
    goio_free(st);
}

static bool storage_owns(const url_storage *st, const char *ptr)
{
    for (size_t i = 0; st && ptr && i < st->n; i++)
        if (st->s[i] == ptr)
            return true;
    return false;
}

/* Keeps d (freed on failure). */
static int storage_keep(url_storage *st, char *d)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        char **s = goio_realloc(st->s, cap * sizeof *s);
        if (!s) {
            goio_free(d);
            return GOIO_ENOMEM;
        }
        st->s = s;
        st->cap = cap;
    }
    st->s[st->n++] = d;
    return 0;
}

void goio_redis_config_deinit(goio_redis_config *cfg)
{
    if (!cfg)
        return;
    storage_free(cfg->url_storage);
    cfg->url_storage = NULL;
}

typedef struct parser {
    goio_redis_config cfg; /* the result, committed on success */
    url_storage *st;
} parser;

static int bad(const char *part, const char *detail)
{
    goio_log(GOIO_LOG_WARN, "redis", "redis_bad_url", NULL, GOIO_EINVAL,
             "bad redis URL: %s%s%s", part, detail ? ": " : "",
             detail ? detail : "");
    return GOIO_EINVAL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into a new string kept by the parser ('+' is
 * a space in query values). NUL bytes and broken escapes are refused. */
static int decode(parser *p, const char *part, const char *s, size_t len,
                  bool plus_is_space, char **out)
{
    char *d = goio_malloc(len + 1);
    if (!d)
        return GOIO_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len) {
                goio_free(d);
                return bad(part, "truncated %-escape");
            }
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) {
                goio_free(d);
                return bad(part, "bad %-escape");
            }
            c = (char)(h * 16 + l);
            if (c == '\0') {
                goio_free(d);
                return bad(part, "%00");
            }
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        d[o++] = c;
    }
    d[o] = '\0';
    int rc = storage_keep(p->st, d);
    if (rc)
        return rc;
    *out = d;
    return 0;
}

/* Digits only, in [min, max]. */
static bool parse_int(const char *s, long long min, long long max,
                      long long *out)
{
    if (!*s || strlen(s) > 12)
        return false;
    bool neg = *s == '-';
    const char *q = neg ? s + 1 : s;
    if (!*q)
        return false;
    long long v = 0;
    for (; *q; q++) {
        if (*q < '0' || *q > '9')
            return false;
        v = v * 10 + (*q - '0');
    }
    v = neg ? -v : v;
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A go-redis duration: whole seconds, or a Go duration ("500ms", "1.5s",
 * "1h30m"). <= 0 disables (-1). Result in ms, sub-ms rounded up. */
static bool parse_duration(const char *s, int64_t *ms)
{
    long long secs;
    if (parse_int(s, -1000000000LL, 1000000000LL, &secs)) {
        *ms = secs <= 0 ? -1 : secs * 1000;
        return true;
    }
    if (!*s || strlen(s) > 64)
        return false;
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    double total_ns = 0;
    bool neg = *s == '-';
    const char *q = (*s == '-' || *s == '+') ? s + 1 : s;
    if (!*q)
        return false;
    while (*q) {
        const char *start = q;
        while ((*q >= '0' && *q <= '9') || *q == '.')
            q++;
        if (q == start)
            return false;
        char num[32];
        size_t nlen = (size_t)(q - start);
        int dots = 0;
        for (size_t i = 0; i < nlen; i++)
            dots += start[i] == '.';
        if (nlen >= sizeof num || dots > 1)
            return false;
        memcpy(num, start, nlen);
        num[nlen] = '\0';
        if (!strcmp(num, "."))
            return false;
        /* By hand: strtod follows the process locale's decimal point. */
        double v = 0, scale = 1;
        bool frac = false;
        for (const char *d = num; *d; d++) {
            if (*d == '.') {
                frac = true;
            } else if (frac) {
                scale /= 10;
                v += (*d - '0') * scale;
            } else {
                v = v * 10 + (*d - '0');
            }
        }
        size_t best = 0, best_i = 0;
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            size_t ul = strlen(units[i].name);
            if (!strncmp(q, units[i].name, ul) && ul > best) {
                best = ul;
                best_i = i;
            }
        }
        if (!best)
            return false;
        total_ns += v * units[best_i].ns;
        q += best;
        if (total_ns > 1e18)
            return false;
    }
    if (neg || total_ns <= 0) {
        *ms = -1;
        return true;
    }
    int64_t v = (int64_t)(total_ns / 1e6);
    if ((double)v * 1e6 < total_ns)
        v++;
    *ms = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "0") || !*s)
        *out = false;
    else
        return false;
    return true;
}

typedef enum opt_kind {
    O_DURATION,
    O_INT,
    O_BOOL,
    O_STRING,
    O_DB,
    O_TLS_VERSION,
    O_MUX,
    O_IGNORED
} opt_kind;

typedef struct opt {
    const char *name;
    opt_kind kind;
    size_t offset; /* in goio_redis_config */
} opt;

#define CFG_OFF(f) offsetof(goio_redis_config, f)

static const opt options[] = {
    {"db", O_DB, CFG_OFF(database)},
    {"dial_timeout", O_DURATION, CFG_OFF(connect_timeout_ms)},
    {"read_timeout", O_DURATION, CFG_OFF(read_timeout_ms)},
    {"write_timeout", O_DURATION, CFG_OFF(write_timeout_ms)},
    {"pool_timeout", O_DURATION, CFG_OFF(wait_timeout_ms)},
    {"pool_size", O_INT, CFG_OFF(max_active)},
    {"max_active_conns", O_INT, CFG_OFF(max_active)},
    {"max_idle_conns", O_INT, CFG_OFF(max_idle)},
    {"conn_max_idle_time", O_DURATION, CFG_OFF(idle_timeout_ms)},
    {"idle_timeout", O_DURATION, CFG_OFF(idle_timeout_ms)},
    {"skip_verify", O_BOOL, CFG_OFF(tls_skip_verify)},
    {"cluster", O_BOOL, CFG_OFF(cluster)},
    {"mux_conns", O_MUX, CFG_OFF(mux_conns)},
    {"tls_ca_file", O_STRING, CFG_OFF(tls_ca_file)},
    {"tls_ca_dir", O_STRING, CFG_OFF(tls_ca_dir)},
    {"tls_cert_file", O_STRING, CFG_OFF(tls_cert_file)},
    {"tls_key_file", O_STRING, CFG_OFF(tls_key_file)},
    {"tls_server_name", O_STRING, CFG_OFF(tls_server_name)},
    {"tls_skip_hostname", O_BOOL, CFG_OFF(tls_skip_hostname)},
    {"tls_min_version", O_TLS_VERSION, CFG_OFF(tls_min_version)},
    /* go-redis options with no goio counterpart. */
    {"min_idle_conns", O_IGNORED, 0},
    {"max_retries", O_IGNORED, 0},
    {"min_retry_backoff", O_IGNORED, 0},
    {"max_retry_backoff", O_IGNORED, 0},
    {"pool_fifo", O_IGNORED, 0},
    {"conn_max_lifetime", O_IGNORED, 0},
    {"client_name", O_IGNORED, 0},
    {"protocol", O_IGNORED, 0},
    {"max_concurrent_dials", O_IGNORED, 0},
};

static int apply_option(parser *p, const char *name, size_t name_len,
                        const char *raw, size_t raw_len)
{
    const opt *o = NULL;
    for (size_t i = 0; i < sizeof options / sizeof *options; i++)
        if (strlen(options[i].name) == name_len &&
            !memcmp(options[i].name, name, name_len))
            o = &options[i];
    if (!o) {
        char shown[48];
        snprintf(shown, sizeof shown, "%.*s",
                 (int)(name_len < 40 ? name_len : 40), name);
        for (char *c = shown; *c; c++)
            if (!isprint((unsigned char)*c))
                *c = '?';
        return bad("unknown option", shown);
    }
    char *v;
    int rc = decode(p, o->name, raw, raw_len, true, &v);
    if (rc)
        return rc;
    char *field = (char *)&p->cfg + o->offset;
    long long n;
    int64_t ms;
    bool b;
    switch (o->kind) {
    case O_DURATION:
        if (!parse_duration(v, &ms))
            return bad(o->name, "not a duration");
        memcpy(field, &ms, sizeof ms);
        break;
    case O_INT:
        if (!parse_int(v, 0, 1000000, &n))
            return bad(o->name, "not an integer in [0, 1000000]");
        *(int *)(void *)field = (int)n;
        break;
    case O_MUX:
        if (!parse_int(v, 0, GOIO_REDIS_MAX_MUX_CONNS, &n))
            return bad(o->name, "not an integer in [0, 64]");
        *(int *)(void *)field = (int)n;
        break;
    case O_DB:
        if (!parse_int(v, 0, 1000000, &n))
            return bad(o->name, "not a database number");
        p->cfg.database = (int)n;
        break;
    case O_BOOL:
        if (!parse_bool(v, &b))
            return bad(o->name, "not true/false/1/0");
        *(bool *)(void *)field = b;
        break;
    case O_STRING:
        if (!*v)
            return bad(o->name, "empty");
        *(const char **)(void *)field = v;
        break;
    case O_TLS_VERSION:
        if (!strcmp(v, "1.2"))
            p->cfg.tls_min_version = 12;
        else if (!strcmp(v, "1.3"))
            p->cfg.tls_min_version = 13;
        else
            return bad(o->name, "not 1.2 or 1.3");
        break;
    case O_IGNORED:
        break;
    }
    return 0;
}

static int parse_query(parser *p, const char *q, size_t len)
{
    const char *end = q + len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pair_end = amp ? amp : end;
        if (pair_end > q) {
            const char *eq = memchr(q, '=', (size_t)(pair_end - q));
            const char *name_end = eq ? eq : pair_end;
            const char *val = eq ? eq + 1 : pair_end;
            int rc = apply_option(p, q, (size_t)(name_end - q), val,
                                  (size_t)(pair_end - val));
            if (rc)
                return rc;
        }
        q = amp ? amp + 1 : end;
    }
    return 0;
}

static int parse_userinfo(parser *p, const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon ? (size_t)(colon - s) : len;
    char *user = NULL, *pass = NULL;
    int rc = decode(p, "user", s, ulen, false, &user);
    if (!rc && colon)
        rc = decode(p, "password", colon + 1, len - ulen - 1, false, &pass);
    if (rc)
        return rc;
    p->cfg.username = *user ? user : NULL;
    p->cfg.password = pass && *pass ? pass : NULL;
    return 0;
}

static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* host[:port] or [v6][:port] into cfg.endpoint ("host:port"). */
static int parse_hostport(parser *p, const char *s, size_t len)
{
    const char *host = s, *port_s = NULL;
    size_t host_len;
    bool v6 = len > 0 && s[0] == '[';
    if (v6) {
        const char *close = memchr(s, ']', len);
        if (!close)
            return bad("host", "unclosed [");
        host = s + 1;
        host_len = (size_t)(close - host);
        if (host_len < 2)
            return bad("host", "empty IPv6 address");
        for (size_t i = 0; i < host_len; i++)
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' &&
                host[i] != '.')
                return bad("host", "bad character in IPv6 address");
        const char *after = close + 1;
        size_t rest = len - (size_t)(after - s);
        if (rest > 0) {
            if (*after != ':')
                return bad("host", "text after ]");
            port_s = after + 1;
        }
    } else {
        const char *colon = memchr(s, ':', len);
        host_len = colon ? (size_t)(colon - s) : len;
        port_s = colon ? colon + 1 : NULL;
        for (size_t i = 0; i < host_len; i++)
            if (!host_char(host[i]))
                return bad("host", "bad character");
        if (host_len > 253)
            return bad("host", "longer than 253 bytes");
    }
    long long port = 6379;
    if (port_s) {
        size_t plen = len - (size_t)(port_s - s);
        char buf[8];
        if (plen == 0 || plen >= sizeof buf)
            return bad("port", plen ? "too long" : "empty");
        memcpy(buf, port_s, plen);
        buf[plen] = '\0';
        if (buf[0] == '-' || !parse_int(buf, 1, 65535, &port))
            return bad("port", "not in 1..65535");
    }
    if (host_len == 0) {
        host = "localhost";
        host_len = 9;
    }
    char ep[300];
    int n = snprintf(ep, sizeof ep, "%s%.*s%s:%lld", v6 ? "[" : "",
                     (int)host_len, host, v6 ? "]" : "", port);
    if (n < 0 || (size_t)n >= sizeof ep)
        return bad("host", "too long");
    char *copy = goio_strdup(ep);
    if (!copy || storage_keep(p->st, copy))
        return GOIO_ENOMEM;
    p->cfg.endpoint = copy;
    return 0;
}

static int parse_db_path(parser *p, const char *s, size_t len)
{
    if (len == 0 || (len == 1 && s[0] == '/'))
        return 0;
    char buf[16];
    long long db;
    if (len - 1 >= sizeof buf)
        return bad("path", "not a database number");
    memcpy(buf, s + 1, len - 1);
    buf[len - 1] = '\0';
    if (buf[0] == '-' || !parse_int(buf, 0, 1000000, &db))
        return bad("path", "not a database number");
    p->cfg.database = (int)db;
    return 0;
}

static int parse(parser *p, const char *url)
{
    size_t len = strnlen(url, URL_MAX + 1);
    if (len > URL_MAX)
        return bad("URL", "longer than 4096 bytes");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return bad("URL", "space or control character");
    const char *sep = strstr(url, "://");
    if (!sep)
        return bad("scheme", "no ://");
    size_t slen = (size_t)(sep - url);
    bool is_unix = false;
    if (slen == 5 && !strncasecmp(url, "redis", 5))
        p->cfg.tls = false;
    else if (slen == 6 && !strncasecmp(url, "rediss", 6))
        p->cfg.tls = true;
    else if (slen == 4 && !strncasecmp(url, "unix", 4))
        is_unix = true;
    else
        return bad("scheme", "not redis, rediss or unix");
    const char *rest = sep + 3;
    const char *end = url + len;
    if (memchr(rest, '#', (size_t)(end - rest)))
        return bad("fragment", "not allowed");
    const char *qmark = memchr(rest, '?', (size_t)(end - rest));
    const char *body_end = qmark ? qmark : end;
    /* The authority ends at the first '/'; userinfo at its last '@'. */
    const char *slash = memchr(rest, '/', (size_t)(body_end - rest));
    const char *auth_end = slash ? slash : body_end;
    const char *at = NULL;
    for (const char *c = rest; c < auth_end; c++)
        if (*c == '@')
            at = c;
    int rc = 0;
    if (at)
        rc = parse_userinfo(p, rest, (size_t)(at - rest));
    const char *hp = at ? at + 1 : rest;
    if (rc)
        return rc;
    if (is_unix) {
        if (hp != auth_end)
            return bad("host", "unix:// takes no host (unix:///path)");
        if (!slash || body_end - slash < 2)
            return bad("path", "missing socket path");
        char *path;
        rc = decode(p, "path", slash, (size_t)(body_end - slash), false, &path);
        if (rc)
            return rc;
        p->cfg.endpoint = path;
    } else {
        rc = parse_hostport(p, hp, (size_t)(auth_end - hp));
        if (!rc && slash)
            rc = parse_db_path(p, slash, (size_t)(body_end - slash));
        if (rc)
            return rc;
    }
    if (qmark)
        rc = parse_query(p, qmark + 1, (size_t)(end - qmark - 1));
    return rc;
}

int goio_redis_config_from_url(goio_redis_config *cfg, const char *url)
{
    if (!cfg || !url)
        return GOIO_EINVAL;
    parser p = {.cfg = *cfg};
    p.st = goio_calloc(1, sizeof *p.st);
    if (!p.st)
        return GOIO_ENOMEM;
    /* The URL replaces the connection identity; options it does not name
     * keep their values. */
    p.cfg.username = p.cfg.password = NULL;
    p.cfg.database = 0;
    int rc = parse(&p, url);
    if (rc) {
        storage_free(p.st);
        return rc;
    }
    /* Strings of an earlier URL the new one did not replace go away. */
    url_storage *old = cfg->url_storage;
    const char **fields[] = {&p.cfg.endpoint,     &p.cfg.tls_ca_file,
                             &p.cfg.tls_ca_dir,   &p.cfg.tls_cert_file,
                             &p.cfg.tls_key_file, &p.cfg.tls_server_name};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (storage_owns(old, *fields[i]))
            *fields[i] = NULL;
    storage_free(old);
    p.cfg.url_storage = p.st;
    *cfg = p.cfg;
    return 0;
}
