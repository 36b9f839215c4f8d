/* SPDX-License-Identifier: MIT */
/*
 * A small libcurl client for the prometheus HTTP tests (raw bodies: no
 * automatic decompression, so gzip is checked by the test).
 */
#ifndef GOIO_PROM_HTTP_H
#define GOIO_PROM_HTTP_H

#include "prom_test.h"

typedef struct prom_resp {
    long status;
    goio_buf body;    /* NUL-terminated */
    goio_buf headers; /* raw header block, NUL-terminated */
} prom_resp;

/*
 * GET (or HEAD when head) http://127.0.0.1:port<path> with extra request
 * headers (NULL-terminated list, may be NULL). Asserts the transfer
 * worked; free with prom_resp_free.
 */
void prom_get(int port, const char *path, const char *const *headers, bool head,
              prom_resp *out);
void prom_resp_free(prom_resp *r);

/*
 * Starts goio's HTTP server on a free loopback port, serving router on
 * `workers` threads behind the tracking middleware with opts (every
 * request, as a service would). Asserts it worked.
 */
goio_http_server *prom_serve(goio_http_router *router, int workers,
                             goio_prom_tracker_config *opts);
/* A response header's value (case-insensitive name) copied into buf;
 * false when absent. */
bool prom_resp_header(const prom_resp *r, const char *name, char *buf,
                      size_t cap);

#endif
