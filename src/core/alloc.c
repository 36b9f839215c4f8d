/* SPDX-License-Identifier: MIT */
/*
 * The allocator hooks. This is the only file in src/ allowed to call the C
 * library's allocation functions (CI checks it).
 */
#include <goio/core.h>

#include <stdlib.h>
#include <string.h>

static struct {
    goio_malloc_fn malloc_fn;
    goio_calloc_fn calloc_fn;
    goio_realloc_fn realloc_fn;
    goio_free_fn free_fn;
} allocator = {malloc, calloc, realloc, free};

int goio_allocator_set(goio_malloc_fn m, goio_calloc_fn c, goio_realloc_fn r,
                       goio_free_fn f)
{
    if (!m && !c && !r && !f) {
        m = malloc, c = calloc, r = realloc, f = free;
    } else if (!m || !c || !r || !f) {
        return GOIO_EINVAL;
    }
    allocator.malloc_fn = m;
    allocator.calloc_fn = c;
    allocator.realloc_fn = r;
    allocator.free_fn = f;
    return 0;
}

/* Zero-size requests become one byte so NULL always means failure. */
void *goio_malloc(size_t size)
{
    return allocator.malloc_fn(size ? size : 1);
}

void *goio_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0)
        count = size = 1;
    if (count > SIZE_MAX / size)
        return NULL;
    return allocator.calloc_fn(count, size);
}

void *goio_realloc(void *ptr, size_t size)
{
    return allocator.realloc_fn(ptr, size ? size : 1);
}

void *goio_reallocarray(void *ptr, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    return goio_realloc(ptr, count * size);
}

void goio_free(void *ptr)
{
    if (ptr)
        allocator.free_fn(ptr);
}

void *goio_memdup(const void *p, size_t n)
{
    if (!p && n)
        return NULL;
    void *copy = goio_malloc(n);
    if (copy && n)
        memcpy(copy, p, n);
    return copy;
}

char *goio_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *copy = goio_malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *goio_strdup(const char *s)
{
    return s ? goio_strndup(s, SIZE_MAX) : NULL;
}
