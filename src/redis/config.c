/* SPDX-License-Identifier: MIT */
/*
 * Configuration: defaults, validation, the owned copy, endpoint parsing
 * and key namespacing.
 */
#include "redis_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void goio_redis_config_init(goio_redis_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    /* The Go library's values (redigo Pool + Dial options). */
    cfg->max_idle = 10;
    cfg->max_active = 20;
    cfg->connect_timeout_ms = 1000;
    cfg->read_timeout_ms = 200;
    cfg->write_timeout_ms = 200;
    cfg->wait_timeout_ms = 1000;
    cfg->test_on_borrow_ms = 30 * 1000;
    cfg->idle_timeout_ms = 3 * 60 * 1000;
    cfg->cluster_max_attempts = 5;
    cfg->cluster_retry_backoff_ms = 10;
    cfg->mux_conns = 2;
    cfg->max_reply_bytes = GOIO_REDIS_DEFAULT_MAX_REPLY_BYTES;
}

void goio__redis_addr_free(goio__redis_addr *a)
{
    goio_free(a->host);
    goio_free(a->unix_path);
    goio_free(a->name);
    memset(a, 0, sizeof *a);
}

int goio__redis_addr_tcp(const char *host, size_t host_len, int port,
                         goio__redis_addr *a)
{
    memset(a, 0, sizeof *a);
    /* A NUL inside would cut the stored name short, so a later lookup of
     * the same reply's host would never match (hosts come from Redis). */
    if (host_len == 0 || memchr(host, '\0', host_len) || port <= 0 ||
        port > 65535)
        return GOIO_EINVAL;
    a->host = goio_strndup(host, host_len);
    goio_buf name = GOIO_BUF_INIT;
    bool v6 = memchr(host, ':', host_len) != NULL;
    int rc = goio_buf_appendf(&name, "%s%.*s%s:%d", v6 ? "[" : "",
                              (int)host_len, host, v6 ? "]" : "", port);
    a->name = rc ? NULL : (char *)goio_buf_detach(&name, NULL);
    goio_buf_deinit(&name);
    a->port = port;
    if (!a->host || !a->name) {
        goio__redis_addr_free(a);
        return GOIO_ENOMEM;
    }
    return 0;
}

static int parse_port(const char *s, int *port)
{
    if (!*s || strlen(s) > 5)
        return GOIO_EINVAL;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0 || v > 65535 || *s == '+' || *s == '-')
        return GOIO_EINVAL;
    *port = (int)v;
    return 0;
}

int goio__redis_addr_parse(const char *endpoint, goio__redis_addr *a)
{
    memset(a, 0, sizeof *a);
    if (!endpoint || !*endpoint)
        return GOIO_EINVAL;
    if (endpoint[0] == '/' || endpoint[0] == '.') {
        a->unix_path = goio_strdup(endpoint);
        a->name = goio_strdup(endpoint);
        if (!a->unix_path || !a->name) {
            goio__redis_addr_free(a);
            return GOIO_ENOMEM;
        }
        return 0;
    }
    const char *colon = strrchr(endpoint, ':');
    if (!colon)
        return GOIO_EINVAL;
    const char *host = endpoint;
    size_t host_len = (size_t)(colon - endpoint);
    if (host[0] == '[') { /* "[::1]:6379" */
        if (host_len < 3 || host[host_len - 1] != ']')
            return GOIO_EINVAL;
        host++;
        host_len -= 2;
    } else if (memchr(host, ':', host_len)) {
        return GOIO_EINVAL; /* a bare IPv6 address is ambiguous */
    }
    int port;
    if (parse_port(colon + 1, &port))
        return GOIO_EINVAL;
    return goio__redis_addr_tcp(host, host_len, port, a);
}

void goio__redis_opts_free(goio__redis_opts *o)
{
    goio__redis_addr_free(&o->seed);
    goio_free(o->ns);
    goio_free(o->password);
    goio_free(o->username);
    goio__redis_tls_free(o);
    memset(o, 0, sizeof *o);
}

static int validate(const goio_redis_config *cfg)
{
    const char *ns = cfg->key_namespace ? cfg->key_namespace : "";
    if (strchr(ns, '{') || strchr(ns, '}'))
        return GOIO_EINVAL; /* would hijack the user's hash tags */
    if (strlen(ns) > GOIO_CACHE_MAX_KEY)
        return GOIO_EINVAL;
    if (cfg->max_idle < 0 || cfg->max_active < 0 || cfg->database < 0)
        return GOIO_EINVAL;
    if (cfg->mux_conns < 0 || cfg->mux_conns > GOIO_REDIS_MAX_MUX_CONNS)
        return GOIO_EINVAL;
    if (cfg->cluster && cfg->database != 0)
        return GOIO_EINVAL; /* Redis Cluster has only database 0 */
    if (cfg->cluster_max_attempts < 0 || cfg->cluster_retry_backoff_ms < 0)
        return GOIO_EINVAL;
    if (cfg->tls_min_version != 0 && cfg->tls_min_version != 12 &&
        cfg->tls_min_version != 13)
        return GOIO_EINVAL;
    if (!cfg->tls_cert_file != !cfg->tls_key_file)
        return GOIO_EINVAL; /* a certificate without its key or the reverse */
    return 0;
}

static void copy_numbers(const goio_redis_config *cfg, goio__redis_opts *o)
{
    o->cluster = cfg->cluster;
    o->database = cfg->database;
    o->tracker = cfg->time_tracker;
    o->tracker_data = cfg->time_tracker_data;
    o->max_idle = cfg->max_idle;
    o->max_active = cfg->max_active;
    /* More idle than active could never be used. */
    if (o->max_active > 0 && o->max_idle > o->max_active)
        o->max_idle = o->max_active;
    o->connect_timeout_ms = cfg->connect_timeout_ms;
    o->read_timeout_ms = cfg->read_timeout_ms;
    o->write_timeout_ms = cfg->write_timeout_ms;
    o->wait_timeout_ms = cfg->wait_timeout_ms;
    o->test_on_borrow_ms = cfg->test_on_borrow_ms;
    o->idle_timeout_ms = cfg->idle_timeout_ms;
    o->cluster_max_attempts =
        cfg->cluster_max_attempts > 0 ? cfg->cluster_max_attempts : 1;
    o->cluster_retry_backoff_ms = cfg->cluster_retry_backoff_ms;
    o->mux_conns = cfg->mux_conns;
    o->async_dispatch = cfg->async_dispatch;
    o->max_reply_bytes = cfg->max_reply_bytes
                             ? cfg->max_reply_bytes
                             : GOIO_REDIS_DEFAULT_MAX_REPLY_BYTES;
}

int goio__redis_opts_from_config(const goio_redis_config *cfg,
                                 goio__redis_opts *o)
{
    memset(o, 0, sizeof *o);
    int rc = validate(cfg);
    if (rc)
        return rc;
    rc = goio__redis_addr_parse(cfg->endpoint, &o->seed);
    if (rc)
        return rc;
    if ((cfg->cluster || cfg->tls) && o->seed.unix_path) {
        /* cluster nodes announce TCP addresses; TLS over a local socket
         * protects nothing */
        goio__redis_opts_free(o);
        return GOIO_EINVAL;
    }
    if (cfg->tls) {
        rc = goio__redis_tls_setup(cfg, o);
        if (rc) {
            goio__redis_opts_free(o);
            return rc;
        }
    }
    copy_numbers(cfg, o);
    o->ns = goio_strdup(cfg->key_namespace ? cfg->key_namespace : "");
    if (cfg->password && *cfg->password)
        o->password = goio_strdup(cfg->password);
    if (cfg->username && *cfg->username)
        o->username = goio_strdup(cfg->username);
    if (!o->ns || (cfg->password && *cfg->password && !o->password) ||
        (cfg->username && *cfg->username && !o->username)) {
        goio__redis_opts_free(o);
        return GOIO_ENOMEM;
    }
    o->ns_len = strlen(o->ns);
    return 0;
}

int goio__redis_key_make(const goio__redis_opts *o, const char *key,
                         goio__redis_key *k)
{
    k->s = k->inline_buf;
    k->len = 0;
    if (!key || !*key)
        return GOIO_EINVAL;
    size_t klen = strnlen(key, GOIO_CACHE_MAX_KEY + 1);
    if (klen > GOIO_CACHE_MAX_KEY)
        return GOIO_EINVAL;
    size_t prefix = o->ns_len ? o->ns_len + 1 : 0;
    size_t total = prefix + klen;
    if (total + 1 > sizeof k->inline_buf) {
        k->s = goio_malloc(total + 1);
        if (!k->s) {
            k->s = k->inline_buf;
            return GOIO_ENOMEM;
        }
    }
    if (prefix) {
        memcpy(k->s, o->ns, o->ns_len);
        k->s[o->ns_len] = ':';
    }
    memcpy(k->s + prefix, key, klen + 1);
    k->len = total;
    return 0;
}

void goio__redis_key_release(goio__redis_key *k)
{
    if (k->s != k->inline_buf)
        goio_free(k->s);
    k->s = k->inline_buf;
    k->len = 0;
}

int goio__redis_glob_escape(const char *s, size_t len, goio_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] && strchr("*?[]\\", s[i]) && goio_buf_append(out, "\\", 1))
            return GOIO_ENOMEM;
        if (goio_buf_append(out, &s[i], 1))
            return GOIO_ENOMEM;
    }
    return 0;
}
