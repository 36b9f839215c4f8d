/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the scrape negotiation of the /metrics endpoint
 * (goio_prom_negotiate): Accept and Accept-Encoding come from whoever
 * scrapes. The input is "<Accept>\0<Accept-Encoding>" (header values
 * never hold a NUL); without a NUL the whole input is tried as each,
 * with the other absent. Checked (abort when broken): the answer is
 * one goio serves and agrees with itself (format and Content-Type, gzip
 * and Content-Encoding), and the same headers give the same answer.
 */
#include "fuzz_util.h"
#include <goio/prometheus.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has(const char *s, const char *word)
{
    return s && strstr(s, word);
}

/* Whether s names OpenMetrics (media types compare case-insensitively). */
static bool asks_openmetrics(const char *s)
{
    size_t n = strlen(s);
    char *lower = malloc(n + 1);
    fuzz_check(lower != NULL, "out of memory");
    memcpy(lower, s, n + 1);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    bool yes = strstr(lower, "application/openmetrics-text") != NULL;
    free(lower);
    return yes;
}

static void negotiate(const char *accept, const char *encoding)
{
    goio_prom_encoding e, again;
    fuzz_check(goio_prom_negotiate(accept, encoding, &e) == 0,
               "negotiate failed");
    if (e.format == GOIO_PROM_TEXT)
        fuzz_check(has(e.content_type, "text/plain; version=0.0.4"),
                   "text format with another Content-Type");
    else
        fuzz_check(e.format == GOIO_PROM_OPENMETRICS &&
                       has(e.content_type, "application/openmetrics-text"),
                   "unknown format or OpenMetrics with another Content-Type");
    fuzz_check(e.gzip
                   ? e.content_encoding && !strcmp(e.content_encoding, "gzip")
                   : e.content_encoding == NULL,
               "gzip and Content-Encoding disagree");
    fuzz_check(e.format == GOIO_PROM_TEXT ||
                   (accept && asks_openmetrics(accept)),
               "OpenMetrics without asking for it");
    fuzz_check(e.gzip == false || encoding, "gzip without Accept-Encoding");
    fuzz_check(goio_prom_negotiate(accept, encoding, &again) == 0 &&
                   again.format == e.format && again.gzip == e.gzip &&
                   again.content_type == e.content_type &&
                   again.content_encoding == e.content_encoding,
               "same headers, another answer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A NUL-terminated copy, so the library reads no byte past the end
     * of what it was given. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    if (size)
        memcpy(s, data, size);
    s[size] = 0;
    size_t first = strlen(s);
    if (first < size) {
        negotiate(s, s + first + 1);
    } else {
        negotiate(s, NULL);
        negotiate(NULL, s);
    }
    free(s);
    return 0;
}
