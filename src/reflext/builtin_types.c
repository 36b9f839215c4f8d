/* SPDX-License-Identifier: MIT */
/* The built-in type descriptors and their byte encodings (see reflext.h). */
#include <goio/reflext.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bytes ---- */

static int bytes_encode(const goio_type *t, const void *v, goio_buf *out)
{
    (void)t;
    const goio_bytes *b = v;
    if (!b->data && b->len)
        return GOIO_EINVAL;
    return goio_buf_append(out, b->data, b->len);
}

static int bytes_decode(const goio_type *t, const uint8_t *p, size_t n, void *v)
{
    (void)t;
    goio_bytes *b = v;
    b->data = goio_memdup(p, n);
    if (!b->data)
        return GOIO_ENOMEM;
    b->len = n;
    return 0;
}

static int bytes_copy(const goio_type *t, void *dst, const void *src)
{
    const goio_bytes *s = src;
    if (!s->data) /* keep "no value" (JSON null, Go's nil) as it is */
        return s->len ? GOIO_EINVAL : 0;
    return bytes_decode(t, s->data, s->len, dst);
}

static void bytes_destroy(const goio_type *t, void *v)
{
    (void)t;
    goio_free(((goio_bytes *)v)->data);
}

const goio_type goio_type_bytes = {
    "bytes",    sizeof(goio_bytes), bytes_encode, bytes_decode,
    bytes_copy, bytes_destroy,      NULL};

/* ---- string ---- */

static int string_encode(const goio_type *t, const void *v, goio_buf *out)
{
    (void)t;
    const char *s = *(char *const *)v;
    return s ? goio_buf_append_str(out, s) : 0;
}

static int string_decode(const goio_type *t, const uint8_t *p, size_t n,
                         void *v)
{
    (void)t;
    if (memchr(p, '\0', n))
        return GOIO_EBADMSG;
    char *s = goio_strndup((const char *)p, n);
    if (!s)
        return GOIO_ENOMEM;
    *(char **)v = s;
    return 0;
}

static int string_copy(const goio_type *t, void *dst, const void *src)
{
    (void)t;
    const char *s = *(char *const *)src;
    if (!s)
        return 0;
    char *copy = goio_strdup(s);
    if (!copy)
        return GOIO_ENOMEM;
    *(char **)dst = copy;
    return 0;
}

static void string_destroy(const goio_type *t, void *v)
{
    (void)t;
    goio_free(*(char **)v);
}

const goio_type goio_type_string = {
    "string",    sizeof(char *), string_encode, string_decode,
    string_copy, string_destroy, NULL};

/* ---- numbers ---- */

/* Copies p[0..n) into a NUL-terminated stack string for strto*; rejects
 * empty, over-long and space-led input (strto* would skip spaces). */
static int number_text(const uint8_t *p, size_t n, char *text, size_t size)
{
    if (n == 0 || n >= size || memchr(p, '\0', n) || p[0] == ' ' ||
        (p[0] >= '\t' && p[0] <= '\r'))
        return GOIO_EBADMSG;
    memcpy(text, p, n);
    text[n] = '\0';
    return 0;
}

static int int64_encode(const goio_type *t, const void *v, goio_buf *out)
{
    (void)t;
    return goio_buf_appendf(out, "%" PRId64, *(const int64_t *)v);
}

static int int64_decode(const goio_type *t, const uint8_t *p, size_t n, void *v)
{
    (void)t;
    char text[32], *end;
    if (number_text(p, n, text, sizeof text))
        return GOIO_EBADMSG;
    errno = 0;
    long long x = strtoll(text, &end, 10);
    if (errno || *end || text[0] == '+')
        return GOIO_EBADMSG;
    *(int64_t *)v = (int64_t)x;
    return 0;
}

static int uint64_encode(const goio_type *t, const void *v, goio_buf *out)
{
    (void)t;
    return goio_buf_appendf(out, "%" PRIu64, *(const uint64_t *)v);
}

static int uint64_decode(const goio_type *t, const uint8_t *p, size_t n,
                         void *v)
{
    (void)t;
    char text[32], *end;
    if (number_text(p, n, text, sizeof text) || text[0] < '0' || text[0] > '9')
        return GOIO_EBADMSG;
    errno = 0;
    unsigned long long x = strtoull(text, &end, 10);
    if (errno || *end)
        return GOIO_EBADMSG;
    *(uint64_t *)v = (uint64_t)x;
    return 0;
}

static int double_encode(const goio_type *t, const void *v, goio_buf *out)
{
    (void)t;
    double d = *(const double *)v;
    if (isnan(d))
        return goio_buf_append_str(out, "nan");
    if (isinf(d))
        return goio_buf_append_str(out, d > 0 ? "inf" : "-inf");
    return goio_buf_appendf(out, "%.17g", d);
}

static int double_decode(const goio_type *t, const uint8_t *p, size_t n,
                         void *v)
{
    (void)t;
    char text[64], *end;
    if (number_text(p, n, text, sizeof text))
        return GOIO_EBADMSG;
    errno = 0;
    double d = strtod(text, &end);
    /* ERANGE on underflow still yields the nearest value; only reject
     * overflow, which strtod reports as +-HUGE_VAL. */
    if (*end || (errno == ERANGE && isinf(d)))
        return GOIO_EBADMSG;
    *(double *)v = d;
    return 0;
}

static int bool_encode(const goio_type *t, const void *v, goio_buf *out)
{
    (void)t;
    return goio_buf_append_str(out, *(const bool *)v ? "true" : "false");
}

static int bool_decode(const goio_type *t, const uint8_t *p, size_t n, void *v)
{
    (void)t;
    if (n == 4 && !memcmp(p, "true", 4))
        *(bool *)v = true;
    else if (n == 5 && !memcmp(p, "false", 5))
        *(bool *)v = false;
    else
        return GOIO_EBADMSG;
    return 0;
}

const goio_type goio_type_int64 = {
    "int64", sizeof(int64_t), int64_encode, int64_decode, NULL, NULL, NULL};
const goio_type goio_type_uint64 = {
    "uint64", sizeof(uint64_t), uint64_encode, uint64_decode, NULL, NULL, NULL};
const goio_type goio_type_double = {
    "double", sizeof(double), double_encode, double_decode, NULL, NULL, NULL};
const goio_type goio_type_bool = {
    "bool", sizeof(bool), bool_encode, bool_decode, NULL, NULL, NULL};

/* ---- plain-old-data structs ---- */

static const uint8_t pod_magic[4] = {'G', 'I', 'O', 'P'};

int goio_type_pod_encode(const goio_type *type, const void *value,
                         goio_buf *out)
{
    if (!type || !value || !out || type->size > UINT32_MAX)
        return GOIO_EINVAL;
    uint32_t size = (uint32_t)type->size;
    uint8_t header[8];
    memcpy(header, pod_magic, 4);
    for (int i = 0; i < 4; i++)
        header[4 + i] = (uint8_t)(size >> (8 * i));
    int rc = goio_buf_reserve(out, 8 + type->size);
    if (!rc)
        rc = goio_buf_append(out, header, sizeof header);
    if (!rc)
        rc = goio_buf_append(out, value, type->size);
    return rc;
}

int goio_type_pod_decode(const goio_type *type, const uint8_t *bytes,
                         size_t len, void *value)
{
    if (!type || !bytes || !value)
        return GOIO_EINVAL;
    if (len != 8 + type->size || memcmp(bytes, pod_magic, 4))
        return GOIO_EBADMSG;
    uint32_t size = 0;
    for (int i = 0; i < 4; i++)
        size |= (uint32_t)bytes[4 + i] << (8 * i);
    if (size != type->size)
        return GOIO_EBADMSG;
    memcpy(value, bytes + 8, type->size);
    return 0;
}
