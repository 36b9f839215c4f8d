/* SPDX-License-Identifier: MIT */
/*
 * Text pieces of the exposition: escaping and numbers. Numbers never
 * depend on the process locale (a service that set LC_NUMERIC to de_DE
 * must not expose "0,5").
 */
#include "prom_int.h"

#include <locale.h>
#include <math.h> /* isnan, isinf: macros, no libm */
#include <stdio.h>
#include <stdlib.h>

/* Appends s[0..len), replacing the bytes in `special` by their escapes. */
static int escape(goio_buf *b, const char *s, size_t len, bool quote)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        if (s[i] == '\\')
            esc = "\\\\";
        else if (s[i] == '\n')
            esc = "\\n";
        else if (s[i] == '"' && quote)
            esc = "\\\"";
        if (!esc)
            continue;
        int rc = goio_buf_append(b, s + start, i - start);
        if (!rc)
            rc = goio_buf_append(b, esc, 2);
        if (rc)
            return rc;
        start = i + 1;
    }
    return goio_buf_append(b, s + start, len - start);
}

int goio__prom_buf_str(goio_buf *b, int rc, char **out, size_t *len)
{
    if (!rc)
        rc = goio_buf_reserve(b, 0); /* the terminator, when b is empty */
    if (rc) {
        goio_buf_deinit(b);
        return rc;
    }
    goio_buf_cstr(b);
    *out = (char *)goio_buf_detach(b, len);
    return 0;
}

int goio__prom_escape_label(goio_buf *b, const char *s, size_t len)
{
    return escape(b, s, len, true);
}

int goio__prom_escape_help(goio_buf *b, const char *s, bool openmetrics)
{
    /* Text 0.0.4 escapes only backslash and newline in HELP; OpenMetrics
     * escapes the double quote too. */
    return escape(b, s, strlen(s), openmetrics);
}

size_t goio__prom_fmt_u64(char *buf, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Shortest %g form that reads back as v (15, 16 or 17 digits). */
static size_t fmt_shortest(char *buf, double v)
{
    pthread_once(&c_locale_once, make_c_locale);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    if (old)
        uselocale(old);
    return n > 0 ? (size_t)n : 0;
}

size_t goio__prom_fmt_double(char *buf, double v, bool om_le)
{
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    size_t n;
    /* Integral values (most counters and gauges) skip printf. The range
     * check comes first so the conversion is defined. */
    double mag = v < 0 ? -v : v;
    if (mag < 9007199254740992.0 && (double)(uint64_t)mag == mag) {
        bool neg = v < 0;
        buf[0] = '-';
        n = neg + goio__prom_fmt_u64(buf + neg, (uint64_t)mag);
        if (om_le) {
            memcpy(buf + n, ".0", 3);
            n += 2;
        }
        return n;
    }
    return fmt_shortest(buf, v);
}
