/* SPDX-License-Identifier: MIT */
#include <goio/core.h>

#include <stdio.h>
#include <string.h>

void goio_buf_init(goio_buf *b)
{
    if (b)
        *b = (goio_buf)GOIO_BUF_INIT;
}

int goio_buf_reserve(goio_buf *b, size_t extra)
{
    if (!b)
        return GOIO_EINVAL;
    /* +1 keeps room for the terminator goio_buf_cstr writes. */
    if (extra > SIZE_MAX - 1 - b->len)
        return GOIO_EOVERFLOW;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *data = goio_realloc(b->data, cap);
    if (!data)
        return GOIO_ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

/* Whether p points into b's storage (appending a buffer to itself). */
static bool points_into(const goio_buf *b, const void *p)
{
    uintptr_t at = (uintptr_t)p, start = (uintptr_t)b->data;
    return b->data && at >= start && at < start + b->cap;
}

int goio_buf_append(goio_buf *b, const void *p, size_t n)
{
    if (!b || (!p && n))
        return GOIO_EINVAL;
    /* Growing may move the storage p points into: keep its offset. */
    bool inside = points_into(b, p);
    size_t offset = inside ? (size_t)((const uint8_t *)p - b->data) : 0;
    int rc = goio_buf_reserve(b, n);
    if (rc)
        return rc;
    if (inside)
        p = b->data + offset;
    if (n)
        memmove(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int goio_buf_append_str(goio_buf *b, const char *s)
{
    if (!s)
        return GOIO_EINVAL;
    return goio_buf_append(b, s, strlen(s));
}

int goio_buf_vappendf(goio_buf *b, const char *fmt, va_list ap)
{
    if (!b || !fmt)
        return GOIO_EINVAL;
    va_list again;
    va_copy(again, ap);
    int rc = 0;
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0)
        rc = GOIO_EINVAL;
    else if (!(rc = goio_buf_reserve(b, (size_t)n))) {
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return rc;
}

int goio_buf_appendf(goio_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = goio_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int goio_buf_set(goio_buf *b, const void *p, size_t n)
{
    if (!b || (!p && n))
        return GOIO_EINVAL;
    size_t old = b->len;
    b->len = 0;
    int rc = goio_buf_append(b, p, n);
    if (rc)
        b->len = old;
    return rc;
}

const char *goio_buf_cstr(goio_buf *b)
{
    if (!b || !b->data)
        return "";
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

void goio_buf_clear(goio_buf *b)
{
    if (b)
        b->len = 0;
}

uint8_t *goio_buf_detach(goio_buf *b, size_t *len)
{
    if (!b)
        return NULL;
    uint8_t *data = b->data;
    if (len)
        *len = b->len;
    goio_buf_init(b);
    return data;
}

void goio_buf_deinit(goio_buf *b)
{
    if (!b)
        return;
    goio_free(b->data);
    goio_buf_init(b);
}
