/* SPDX-License-Identifier: MIT */
/* Descriptors of the Go peer's Item and go-io's envelope. */
#include "interop_item.h"

#include <stddef.h>

static const goio_type_json_field inner_fields[] = {
    {"x", offsetof(struct inner, x), &goio_type_int64, 0, 0},
    {"tags", offsetof(struct inner, tags), &goio_type_bytes,
     GOIO_TYPE_JSON_OMITEMPTY, 0},
};
static const goio_type_json_struct inner_desc = {inner_fields, 2};
GOIO_TYPE_JSON_STRUCT(inner_type, struct inner, inner_desc);

#define OE  GOIO_TYPE_JSON_OMITEMPTY
#define OPT GOIO_TYPE_JSON_OPTIONAL
static const goio_type_json_field item_fields[] = {
    {"id", offsetof(struct item, id), &goio_type_int64, 0, 0},
    {"name", offsetof(struct item, name), &goio_type_string, 0, 0},
    {"price", offsetof(struct item, price), &goio_type_double, 0, 0},
    {"note", offsetof(struct item, note), &goio_type_string, OE, 0},
    {"count", offsetof(struct item, count), &goio_type_uint64, OE, 0},
    {"ok", offsetof(struct item, ok), &goio_type_bool, OE, 0},
    {"data", offsetof(struct item, data), &goio_type_bytes, 0, 0},
    {"ratio", offsetof(struct item, ratio), &goio_type_double, OE | OPT,
     offsetof(struct item, has_ratio)},
    {"child", offsetof(struct item, child), &inner_type, OPT,
     offsetof(struct item, has_child)},
    {"in", offsetof(struct item, in), &inner_type, 0, 0},
    {"when", offsetof(struct item, when), &goio_type_json_time, 0, 0},
};
static const goio_type_json_struct item_desc = {item_fields, 11};
GOIO_TYPE_JSON_STRUCT(item_type, struct item, item_desc);

static const goio_type_json_field envelope_fields[] = {
    {"FreshUntil", offsetof(struct envelope, fresh_until), &goio_type_json_time,
     0, 0},
    {"Value", offsetof(struct envelope, value), &goio_type_json_raw, 0, 0},
};
static const goio_type_json_struct envelope_desc = {envelope_fields, 2};
GOIO_TYPE_JSON_STRUCT(envelope_type, struct envelope, envelope_desc);
