/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the bytes a cache reads back from shared storage
 * (Redis): the envelope of the stale wrapper and the hybrid cache
 * (goio_cache_envelope_decode, and the in-place unwrap they use,
 * src/cache/cache_int.h), and the value encodings of reflext's built-in
 * types and of a POD struct (goio_type_decode, what the typed cache API
 * runs on a stored value). Every decoder gets the whole input and, when it
 * is an envelope, its value. Properties checked (abort when broken):
 *  - a decoded envelope re-encodes to the input, and unwraps to its value;
 *  - a decoded value encodes to bytes that decode to the same value, and
 *    string, bytes, bool and POD values encode back to the exact input;
 *  - a failed decode leaves the destination as it was.
 */
#include "fuzz_util.h"
#include "../src/cache/cache_int.h"

#include <goio/reflext.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pod {
    int32_t a;
    uint16_t b;
    uint8_t c[2];
    double d;
} pod;

static GOIO_TYPE_POD(pod_type, pod);

/* One variable of any type the target decodes. */
typedef union value {
    goio_bytes bytes;
    char *string;
    int64_t i64;
    uint64_t u64;
    double dbl;
    bool b;
    pod p;
} value;

static bool same(const goio_type *t, const value *x, const value *y)
{
    if (t == &goio_type_bytes)
        return x->bytes.len == y->bytes.len &&
               (!x->bytes.len ||
                !memcmp(x->bytes.data, y->bytes.data, x->bytes.len));
    if (t == &goio_type_string)
        return !strcmp(x->string, y->string);
    if (t == &goio_type_double)
        return isnan(x->dbl) ? isnan(y->dbl)
                             : !memcmp(&x->dbl, &y->dbl, sizeof x->dbl);
    return !memcmp(x, y, t->size);
}

/* Whether an encoding is the bytes it was decoded from. */
static bool exact(const goio_type *t)
{
    return t == &goio_type_bytes || t == &goio_type_string ||
           t == &goio_type_bool || t == &pod_type;
}

/* A valid value of the type to decode over: never all zero, so a
 * decode that wrote into it on failure is seen. */
static void set_sentinel(const goio_type *t, value *v)
{
    memset(v, 0, sizeof *v);
    if (t == &goio_type_string)
        v->string = goio_strdup("sentinel");
    else if (t == &goio_type_bytes)
        v->bytes.data = goio_memdup("sentinel", v->bytes.len = 8);
    else
        memset(v, 0x5a, t->size);
    if (t == &goio_type_bool)
        v->b = true;
}

static void decode_as(const goio_type *t, const uint8_t *p, size_t n)
{
    value v, before, again;
    set_sentinel(t, &v);
    if ((t == &goio_type_string && !v.string) ||
        (t == &goio_type_bytes && !v.bytes.data))
        return;
    before = v;
    if (goio_type_decode(t, p, n, &v)) {
        fuzz_check(!memcmp(&v, &before, sizeof v), "failed decode wrote");
        goio_type_value_deinit(t, &v);
        return;
    }
    goio_buf b = GOIO_BUF_INIT;
    fuzz_check(goio_type_encode(t, &v, &b) == 0,
               "decoded value does not encode");
    if (exact(t))
        fuzz_check(b.len == n && (!n || !memcmp(b.data, p, n)),
                   "encoding is not the input");
    memset(&again, 0, sizeof again);
    fuzz_check(goio_type_decode(t, b.data ? b.data : (const uint8_t *)"", b.len,
                                &again) == 0,
               "encoding does not decode");
    fuzz_check(same(t, &v, &again), "value does not round-trip");
    goio_type_value_deinit(t, &again);
    goio_buf_deinit(&b);
    goio_type_value_deinit(t, &v);
}

static void decode_all(const uint8_t *p, size_t n)
{
    static const goio_type *const types[] = {
        &goio_type_bytes,  &goio_type_string, &goio_type_int64,
        &goio_type_uint64, &goio_type_double, &goio_type_bool,
        &pod_type};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        decode_as(types[i], p, n);
}

static void envelope(const uint8_t *data, size_t size)
{
    int64_t until;
    const uint8_t *val;
    size_t len;
    if (goio_cache_envelope_decode(data, size, &until, &val, &len))
        return;
    fuzz_check(val == data + GOIO_CACHE_ENVELOPE_HEADER &&
                   len == size - GOIO_CACHE_ENVELOPE_HEADER,
               "envelope value is not after the header");
    goio_buf b = GOIO_BUF_INIT;
    fuzz_check(goio_cache_envelope_encode(&b, until, val, len) == 0 &&
                   b.len == size && !memcmp(b.data, data, size),
               "envelope does not re-encode to itself");
    int64_t until2;
    fuzz_check(goio__cache_envelope_unwrap(&b, &until2) == 0 &&
                   until2 == until && b.len == len &&
                   (!len || !memcmp(b.data, val, len)),
               "unwrap is not decode");
    goio_buf_deinit(&b);
    decode_all(val, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_logs();
    if (!data)
        return 0;
    envelope(data, size);
    decode_all(data, size);
    return 0;
}
