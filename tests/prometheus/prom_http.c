/* SPDX-License-Identifier: MIT */
#include "prom_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
    goio_buf *b = userdata;
    return goio_buf_append(b, p, size * n) ? 0 : size * n;
}

void prom_get(int port, const char *path, const char *const *headers, bool head,
              prom_resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOBODY, head ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("GET %s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    assert_ok(goio_buf_reserve(&out->body, 1));
    assert_ok(goio_buf_reserve(&out->headers, 1));
    goio_buf_cstr(&out->body);
    goio_buf_cstr(&out->headers);
}

void prom_resp_free(prom_resp *r)
{
    goio_buf_deinit(&r->body);
    goio_buf_deinit(&r->headers);
}

bool prom_resp_header(const prom_resp *r, const char *name, char *buf,
                      size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = (const char *)r->headers.data; line && *line;) {
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(buf, cap, "%.*s", (int)len, v);
            return true;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

goio_http_server *prom_serve(goio_http_router *router, int workers,
                             goio_prom_tracker_config *opts)
{
    goio_http_server_config cfg;
    goio_http_server *srv;
    goio_http_server_config_init(&cfg);
    cfg.handler = goio_http_router_serve;
    cfg.handler_data = router;
    cfg.worker_threads = workers;
    assert_ok(goio_http_server_new(&cfg, &srv));
    assert_ok(goio_http_server_use(srv, goio_prom_http_middleware, opts));
    assert_ok(goio_http_server_listen(srv, "127.0.0.1", 0));
    assert_ok(goio_http_server_start(srv));
    return srv;
}
