/* SPDX-License-Identifier: MIT */
/*
 * Prometheus data-model checks (names, UTF-8) and the hash of label
 * values used by vectors' lookup tables.
 */
#include "prom_int.h"
#include "hash.h"

static bool name_start(unsigned char c, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (colon && c == ':');
}

static bool name_char(unsigned char c, bool colon)
{
    return name_start(c, colon) || (c >= '0' && c <= '9');
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !name_start((unsigned char)s[0], colon))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!name_char((unsigned char)*p, colon))
            return false;
    return true;
}

bool goio__prom_valid_metric_name(const char *s)
{
    return valid_name(s, true);
}

bool goio__prom_valid_label_name(const char *s)
{
    return valid_name(s, false) && strncmp(s, "__", 2) != 0;
}

/* Length of the UTF-8 sequence starting with byte c, 0 when c cannot
 * start one. */
static size_t utf8_seq_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

/* Whether s[0..n) (n = sequence length) is a well-formed scalar value:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_seq_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return false;
    if (n == 3 && s[0] == 0xE0 && s[1] < 0xA0)
        return false;
    if (n == 3 && s[0] == 0xED && s[1] >= 0xA0)
        return false;
    if (n == 4 && s[0] == 0xF0 && s[1] < 0x90)
        return false;
    if (n == 4 && s[0] == 0xF4 && s[1] >= 0x90)
        return false;
    return true;
}

bool goio__prom_valid_utf8(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq_len(s[i]);
        if (!n || n > len - i || !utf8_seq_ok(s + i, n))
            return false;
        i += n;
    }
    return true;
}
