/* SPDX-License-Identifier: MIT */
/* reflext's JSON internals shared between its files. */
#ifndef GOIO_REFLEXT_JSON_INT_H
#define GOIO_REFLEXT_JSON_INT_H

#include <goio/reflext.h>

/* Deepest nesting of struct types inside struct types (guards against a
 * descriptor that refers to itself). */
#define GOIO__JSON_MAX_TYPE_DEPTH 64

/* Encodes *value of a type with a JSON form (see reflext.h). */
int goio__json_encode_value(const goio_type *type, const void *value,
                            goio_buf *out, int type_depth);

/* Appends s[0..n) as a Go JSON string (quotes included). */
int goio__json_append_string(goio_buf *out, const uint8_t *s, size_t n);

/* Checks that p[0..n) is one JSON value with optional whitespace around it,
 * nested at most max_depth deep: 0, GOIO_EBADMSG or GOIO_ELIMIT. */
int goio__json_validate(const uint8_t *p, size_t n, size_t max_depth);

/* Appends the valid JSON p[0..n) compacted as Go's json.Compact with HTML
 * escaping does (what json.Marshal does with a json.RawMessage). */
int goio__json_compact(const uint8_t *p, size_t n, goio_buf *out);

/* Decodes valid JSON into zero-filled storage of the type; on failure
 * destroys what it built. */
int goio__json_decode_zeroed(const goio_type *type,
                             const goio_type_json_config *cfg, const uint8_t *p,
                             size_t n, void *value);

/* The struct descriptor of a GOIO_TYPE_JSON_STRUCT type after checking it,
 * or NULL when the type is not one or is malformed. */
const goio_type_json_struct *goio__json_struct_desc(const goio_type *type);

/* Go's utf8.DecodeRune: the length of the valid sequence at p (1..4) and
 * its code point, or 0 for an invalid byte. */
size_t goio__json_utf8_decode(const uint8_t *p, size_t n, uint32_t *rune);

#endif
