/* SPDX-License-Identifier: MIT */
/* The struct the Go peer knows as Item, and go-io's stale envelope. */
#ifndef GOIO_INTEROP_ITEM_H
#define GOIO_INTEROP_ITEM_H

#include <goio/reflext.h>

struct inner {
    int64_t x;
    goio_bytes tags;
};

struct item {
    int64_t id;
    char *name;
    double price;
    char *note;
    uint64_t count;
    bool ok;
    goio_bytes data;
    double ratio;
    bool has_ratio;
    struct inner child;
    bool has_child;
    struct inner in;
    goio_type_json_time_value when;
};

/* go-io's cachedValue */
struct envelope {
    goio_type_json_time_value fresh_until;
    goio_bytes value;
};

extern const goio_type inner_type, item_type, envelope_type;

#endif
