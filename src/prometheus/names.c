/*
 * Prometheus data-model checks (names, UTF-8) and the hash of label
 * values used by vectors' lookup tables.
 */
#include "prom_int.h"

#include <sys/random.h>

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

/* ---- hashing
 * ----------------------------------------------------------------- */

#define K1 0x9E3779B97F4A7C15ull
#define K2 0xC2B2AE3D27D4EB4Full

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= K1;
    return h ^ (h >> 29);
}

static inline uint64_t load_tail(const char *p, size_t n)
{
    /* n < 8: bytes assembled without reading past the string. */
    uint64_t w = 0;
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return ((uint64_t)a << 32) | b;
    }
    if (n > 0)
        w = ((uint64_t)(unsigned char)p[0] << 16) |
            ((uint64_t)(unsigned char)p[n / 2] << 8) | (unsigned char)p[n - 1];
    return w;
}

uint64_t goio__prom_hash_values(uint64_t seed, const char *const *vals,
                                const uint32_t *lens, size_t n)
{
    uint64_t h = seed ^ (n * K2);
    for (size_t i = 0; i < n; i++) {
        const char *p = vals[i];
        size_t len = lens[i];
        /* The length goes in first so ("ab","c") and ("a","bc") differ. */
        h = mix(h, len + K2);
        while (len >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            h = mix(h, w);
            p += 8;
            len -= 8;
        }
        h = mix(h, load_tail(p, len));
    }
    h ^= h >> 32;
    h *= K2;
    return h ^ (h >> 31);
}

uint64_t goio__prom_random_seed(void)
{
    uint64_t s = 0;
    /* A random seed keeps crafted label values from piling into one
     * chain; if the kernel has none to give, the clock will do. */
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
        s = (uint64_t)goio_now_mono_ns() * K1;
    return s;
}
