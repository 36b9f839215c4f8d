/* SPDX-License-Identifier: MIT */
/*
 * Checked assignment and decoding through type descriptors. Results are
 * built in scratch storage first and moved into the caller's variable only
 * on success, so a failure never leaves a half-written destination.
 */
#include <goio/reflext.h>

#include <string.h>

int goio_type_check(const goio_type *type)
{
    if (!type || !type->name || !type->size || !type->encode || !type->decode)
        return GOIO_EINVAL;
    return 0;
}

/* Scratch storage for one value: on the stack when it fits. */
typedef struct {
    unsigned char small[64];
    void *p;
} scratch;

static void *scratch_get(scratch *s, size_t size)
{
    if (size <= sizeof s->small) {
        memset(s->small, 0, size);
        s->p = s->small;
    } else {
        s->p = goio_calloc(1, size);
    }
    return s->p;
}

static void scratch_release(scratch *s)
{
    if (s->p != s->small)
        goio_free(s->p);
}

/* Replaces *dst with the value in tmp (tmp's ownership moves to dst). */
static void move_into(const goio_type *type, void *dst, const void *tmp)
{
    if (type->destroy)
        type->destroy(type, dst);
    memcpy(dst, tmp, type->size);
}

int goio_type_set(void *dst, const goio_type *dst_type, const void *src,
                  const goio_type *src_type)
{
    if (!dst || !src || goio_type_check(dst_type) || goio_type_check(src_type))
        return GOIO_EINVAL;
    if (dst_type != src_type)
        return GOIO_ETYPE;
    if (dst == src)
        return 0;
    scratch s;
    void *tmp = scratch_get(&s, dst_type->size);
    if (!tmp)
        return GOIO_ENOMEM;
    int rc = 0;
    if (dst_type->copy)
        rc = dst_type->copy(dst_type, tmp, src);
    else
        memcpy(tmp, src, dst_type->size);
    if (!rc)
        move_into(dst_type, dst, tmp);
    scratch_release(&s);
    return rc;
}

int goio_type_encode(const goio_type *type, const void *value, goio_buf *out)
{
    if (goio_type_check(type) || !value || !out)
        return GOIO_EINVAL;
    size_t before = out->len;
    int rc = type->encode(type, value, out);
    if (rc)
        out->len = before;
    return rc;
}

int goio_type_decode(const goio_type *type, const uint8_t *bytes, size_t len,
                     void *value)
{
    if (goio_type_check(type) || !value || (!bytes && len))
        return GOIO_EINVAL;
    scratch s;
    void *tmp = scratch_get(&s, type->size);
    if (!tmp)
        return GOIO_ENOMEM;
    static const uint8_t empty[1];
    int rc = type->decode(type, bytes ? bytes : empty, len, tmp);
    if (!rc)
        move_into(type, value, tmp);
    scratch_release(&s);
    return rc;
}

void goio_type_value_deinit(const goio_type *type, void *value)
{
    if (goio_type_check(type) || !value)
        return;
    if (type->destroy)
        type->destroy(type, value);
    memset(value, 0, type->size);
}
