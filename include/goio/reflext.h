/* SPDX-License-Identifier: MIT */
/** @file
 * reflext: type descriptors and checked assignment.
 *
 * A goio_type describes how a C variable of one type is copied, destroyed,
 * encoded to bytes and decoded from bytes. A type's identity is its
 * descriptor's address: two descriptors are the same type only if they are
 * the same object. goio_type_set and the typed cache API check types and return
 * GOIO_ETYPE instead of writing the wrong kind of value.
 *
 * Variables handled through a descriptor must always hold a valid value of
 * their type; an all-zero variable is valid for every built-in type. On any
 * error the destination is left exactly as it was.
 *
 * Built-in encodings (stable, shared with other processes through caches):
 *  - bytes:  the raw bytes.
 *  - string: the characters without the terminator; decoding rejects
 *            embedded NUL bytes.
 *  - int64, uint64: decimal ASCII, as Redis INCR reads and writes them;
 *            decoding rejects signs on uint64, spaces, and overflow.
 *  - double: shortest decimal that round-trips ("%.17g"), "nan", "inf",
 *            "-inf".
 *  - bool:   "true" / "false" (as JSON and Go's strconv write them).
 *  - struct types made with GOIO_TYPE_JSON_STRUCT, goio_type_json_time and
 *    goio_type_json_raw: their JSON (below).
 *
 * Descriptors are immutable; everything here is thread-safe as long as
 * the variables passed in are not shared without synchronization.
 */
#ifndef GOIO_REFLEXT_H
#define GOIO_REFLEXT_H

#include <goio/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct goio_type goio_type;

/** A type descriptor: how a variable of one C type is copied, destroyed,
 * encoded and decoded. Define one as a `const` object and pass its address;
 * the address is the type's identity. */
struct goio_type {
    const char *name; /**< for messages, e.g. "int64"; not empty */
    size_t size;      /**< sizeof the variable */
    /** Appends the encoding of *value to out. Required. */
    int (*encode)(const goio_type *type, const void *value, goio_buf *out);
    /**
     * Decodes bytes into *value, which is zero-filled storage of `size`
     * bytes (not the caller's variable: goio moves the result there only
     * on success). Must reject truncated or malformed input with
     * GOIO_EBADMSG and leave nothing allocated on failure. Required.
     */
    int (*decode)(const goio_type *type, const uint8_t *bytes, size_t len,
                  void *value);
    /** Deep copy of *src into zero-filled *dst; NULL means memcpy. */
    int (*copy)(const goio_type *type, void *dst, const void *src);
    /** Releases what *value owns (not value itself); NULL means nothing. */
    void (*destroy)(const goio_type *type, void *value);
    /** For user types: anything the callbacks need. */
    const void *user;
};

/** The bytes type's variable: owns data (goio_malloc). data NULL with len 0
 * is "no value" (Go's nil slice); copies keep it NULL. */
typedef struct goio_bytes {
    uint8_t *data; /**< goio_malloc'ed bytes, or NULL */
    size_t len;    /**< bytes in data */
} goio_bytes;

GOIO_EXTERN extern const goio_type goio_type_bytes;  /**< goio_bytes */
GOIO_EXTERN extern const goio_type goio_type_string; /**< char *, owned */
GOIO_EXTERN extern const goio_type goio_type_int64;  /**< int64_t */
GOIO_EXTERN extern const goio_type goio_type_uint64; /**< uint64_t */
GOIO_EXTERN extern const goio_type goio_type_double; /**< double */
GOIO_EXTERN extern const goio_type goio_type_bool;   /**< bool */

/**
 * A plain-old-data struct type (no pointers inside): copied with memcpy,
 * encoded as a 4-byte magic "GIOP", a 4-byte little-endian size and the
 * struct's bytes; decoding checks both, so a different struct or a
 * truncated value is GOIO_EBADMSG, not garbage. Example:
 *     GOIO_TYPE_POD(point_type, struct point);
 * The byte layout is the host's: share it only between identical builds.
 */
#define GOIO_TYPE_POD(var, T)                                                  \
    const goio_type var = {                                                    \
        #T,   sizeof(T), goio_type_pod_encode, goio_type_pod_decode, NULL,     \
        NULL, NULL}
/** The encode callback of GOIO_TYPE_POD types (not called directly). */
GOIO_EXTERN int goio_type_pod_encode(const goio_type *type, const void *value,
                                     goio_buf *out);
/** The decode callback of GOIO_TYPE_POD types (not called directly). */
GOIO_EXTERN int goio_type_pod_decode(const goio_type *type,
                                     const uint8_t *bytes, size_t len,
                                     void *value);

/** Checks that a descriptor is usable (name, size, encode, decode). */
GOIO_EXTERN int goio_type_check(const goio_type *type);

/**
 * *dst = deep copy of *src. GOIO_EINVAL for NULL arguments or an invalid
 * descriptor, GOIO_ETYPE when the types differ, GOIO_ENOMEM. On success
 * the old value of *dst is destroyed; on failure *dst is untouched.
 */
GOIO_EXTERN int goio_type_set(void *dst, const goio_type *dst_type,
                              const void *src, const goio_type *src_type);

/** Appends the encoding of *value to out. */
GOIO_EXTERN int goio_type_encode(const goio_type *type, const void *value,
                                 goio_buf *out);
/**
 * Decodes bytes into *value (a valid variable of the type), replacing and
 * destroying its old value on success only. GOIO_EBADMSG for malformed or
 * truncated input.
 */
GOIO_EXTERN int goio_type_decode(const goio_type *type, const uint8_t *bytes,
                                 size_t len, void *value);
/** Destroys what *value owns and zero-fills it. NULL-safe. */
GOIO_EXTERN void goio_type_value_deinit(const goio_type *type, void *value);

/* ---- JSON, as Go's encoding/json writes and reads it ----
 *
 * goio_type_json_encode writes the bytes json.Marshal writes for the
 * matching Go value; goio_type_json_decode reads what json.Unmarshal reads
 * into it. Types with a JSON form: the built-ins (string, int64, uint64,
 * double, bool, bytes as base64), goio_type_json_time, goio_type_json_raw
 * and GOIO_TYPE_JSON_STRUCT types; any other type: GOIO_ENOTSUP. The
 * mapping to Go types and the full rules: docs/reflext.md. All functions
 * are thread-safe.
 */

/**
 * A time as Go's time.Time marshals it: the instant in seconds since
 * 1970-01-01 UTC (may be negative) and nanoseconds 0..999999999, plus the
 * UTC offset (seconds east, whole minutes, |offset| < 24 h) Go writes it
 * with; 0 is written as 'Z'. Go's zero time.Time (0001-01-01T00:00:00Z) is
 * {GOIO_TYPE_JSON_TIME_GO_ZERO_SEC, 0, 0}; decoding starts every time from
 * it, as json.Unmarshal does (an all-zero variable is 1970-01-01). Years
 * 0000..9999 of the local time only (as Go).
 */
typedef struct goio_type_json_time_value {
    int64_t sec;    /**< seconds since 1970-01-01 UTC */
    int32_t nsec;   /**< 0..999999999 */
    int32_t offset; /**< UTC offset, seconds east, whole minutes */
} goio_type_json_time_value;
/** `sec` of Go's zero time.Time, 0001-01-01T00:00:00Z. */
#define GOIO_TYPE_JSON_TIME_GO_ZERO_SEC INT64_C(-62135596800)

/** goio_type_json_time_value; JSON and byte form: the RFC 3339 string. */
GOIO_EXTERN extern const goio_type goio_type_json_time;
/** goio_bytes holding one JSON value (json.RawMessage); encoded compacted,
 * decoded as the exact source bytes. */
GOIO_EXTERN extern const goio_type goio_type_json_raw;

/**
 * Appends t as time.Time.MarshalJSON writes it, without the quotes:
 * "2026-12-07T15:02:11.7141337Z", "2026-12-07T16:02:11+01:00" (the local
 * time at t.offset; fraction trimmed of trailing zeros, none when zero).
 * GOIO_EINVAL for NULL out, nsec or offset out of range; GOIO_ERANGE for a
 * local year outside 0000..9999; GOIO_ENOMEM.
 */
GOIO_EXTERN int goio_type_json_time_format(goio_type_json_time_value t,
                                           goio_buf *out);
/**
 * Parses RFC 3339 as time.Time.UnmarshalJSON does (without the quotes):
 * "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)" into the instant and
 * the offset it was written with (digits beyond nanoseconds are dropped).
 * GOIO_EINVAL for NULL arguments, GOIO_EBADMSG for anything else.
 */
GOIO_EXTERN int goio_type_json_time_parse(const char *text, size_t len,
                                          goio_type_json_time_value *out);

/** Field flags. */
#define GOIO_TYPE_JSON_OMITEMPTY 0x1u /**< Go's ",omitempty" */
/** A Go pointer field (*T): `present_offset` locates a bool member that is
 * false for Go's nil (written as null; null decodes to false). */
#define GOIO_TYPE_JSON_OPTIONAL  0x2u

/** One struct member, in the order Go declares (and writes) the fields. */
typedef struct goio_type_json_field {
    const char *name;      /**< the JSON key (Go's tag name), not empty */
    size_t offset;         /**< offsetof(struct, member) */
    const goio_type *type; /**< the member's type (one with a JSON form) */
    unsigned flags;        /**< GOIO_TYPE_JSON_* */
    size_t present_offset; /**< GOIO_TYPE_JSON_OPTIONAL only: offsetof(bool) */
} goio_type_json_field;

/** The fields of a struct type for GOIO_TYPE_JSON_STRUCT; must outlive
 * the type. */
typedef struct goio_type_json_struct {
    const goio_type_json_field *fields; /**< in Go's declaration order */
    size_t count;                       /**< entries in fields */
} goio_type_json_struct;

/**
 * Defines the goio_type `var` for struct T described by `desc` (a
 * goio_type_json_struct that outlives it). Its byte form is its JSON, its
 * copy and destroy go field by field. Example:
 *     static const goio_type_json_field item_fields[] = {
 *         {"id", offsetof(struct item, id), &goio_type_int64, 0, 0},
 *         {"name", offsetof(struct item, name), &goio_type_string,
 *          GOIO_TYPE_JSON_OMITEMPTY, 0}};
 *     static const goio_type_json_struct item_desc = {item_fields, 2};
 *     static GOIO_TYPE_JSON_STRUCT(item_type, struct item, item_desc);
 * Members must not overlap. A malformed descriptor (member outside T, NULL
 * name or type, struct types nested deeper than 64 or containing
 * themselves) makes every call on the type return GOIO_EINVAL.
 */
#define GOIO_TYPE_JSON_STRUCT(var, T, desc)                                    \
    const goio_type var = {#T,                                                 \
                           sizeof(T),                                          \
                           goio_type_json_struct_encode,                       \
                           goio_type_json_struct_decode,                       \
                           goio_type_json_struct_copy,                         \
                           goio_type_json_struct_deinit,                       \
                           &(desc)}
/** The callbacks of GOIO_TYPE_JSON_STRUCT types (not called directly):
 * encode. */
GOIO_EXTERN int goio_type_json_struct_encode(const goio_type *type,
                                             const void *value, goio_buf *out);
/** decode (GOIO_TYPE_JSON_STRUCT callback). */
GOIO_EXTERN int goio_type_json_struct_decode(const goio_type *type,
                                             const uint8_t *bytes, size_t len,
                                             void *value);
/** copy, field by field (GOIO_TYPE_JSON_STRUCT callback). */
GOIO_EXTERN int goio_type_json_struct_copy(const goio_type *type, void *dst,
                                           const void *src);
/** destroy, field by field (GOIO_TYPE_JSON_STRUCT callback). */
GOIO_EXTERN void goio_type_json_struct_deinit(const goio_type *type,
                                              void *value);

/** Decoding limits; hostile input cannot exceed them. Zero in either is
 * GOIO_EINVAL (use goio_type_json_config_init). */
typedef struct goio_type_json_config {
    size_t max_depth; /**< nesting of arrays/objects; default 10000 (as Go) */
    size_t max_bytes; /**< input size; default 64 MiB */
} goio_type_json_config;

/** Fills the defaults. */
GOIO_EXTERN void goio_type_json_config_init(goio_type_json_config *cfg);

/**
 * Appends *value as json.Marshal writes the matching Go value. GOIO_EINVAL
 * for NULL arguments or a malformed descriptor, GOIO_ENOTSUP for a type with
 * no JSON form, GOIO_ERANGE for NaN/Inf or a time outside years 0..9999,
 * GOIO_ENOMEM. On error out keeps its old length.
 */
GOIO_EXTERN int goio_type_json_encode(const goio_type *type, const void *value,
                                      goio_buf *out);
/**
 * Decodes one JSON value (whitespace around it allowed) into *value (a valid
 * variable of the type), as json.Unmarshal does: unknown keys ignored, keys
 * matched exactly first, then case-insensitively; null leaves strings,
 * numbers, bools and structs unchanged. cfg NULL = defaults. Returns
 * GOIO_EBADMSG for invalid JSON or bad base64 / time text (checked over the
 * whole input first, as Go does), GOIO_ETYPE for a value of the wrong JSON
 * type or one the C type cannot hold (overflow, a NUL inside a string),
 * GOIO_ELIMIT beyond cfg's depth, GOIO_EMSGSIZE beyond its size,
 * GOIO_ENOTSUP, GOIO_EINVAL, GOIO_ENOMEM. *value changes on success only.
 */
GOIO_EXTERN int goio_type_json_decode(const goio_type *type,
                                      const goio_type_json_config *cfg,
                                      const uint8_t *json, size_t len,
                                      void *value);

/* ---- go-io's cache envelope ----
 *
 * go-io's stale wrapper and hybrid cache store a value with its freshness
 * as `{"FreshUntil":"<RFC 3339 nano>","Value":<the value's JSON>}`. When
 * layers are stacked, Value is itself such an envelope (use
 * goio_type_json_raw to pass it on without decoding it).
 */

/** Appends the envelope of *value (a type with a JSON form) fresh until
 * fresh_until. Errors as goio_type_json_encode and
 * goio_type_json_time_format; on error out keeps its old length. */
GOIO_EXTERN int
goio_type_json_envelope_encode(const goio_type *type, const void *value,
                               goio_type_json_time_value fresh_until,
                               goio_buf *out);
/**
 * Reads an envelope as go-io does: keys matched as json.Unmarshal matches
 * them, others ignored, a missing FreshUntil is Go's zero time (stale).
 * *fresh_until gets the time and *value (a valid goio_bytes variable,
 * replaced on success) a copy of the Value's JSON text, ready for
 * goio_type_json_decode. GOIO_EBADMSG for invalid JSON, a bad time or a
 * missing Value (go-io fails on it too), GOIO_ETYPE when the document is
 * not an object or FreshUntil is not a string, plus the decoder's limits
 * (cfg NULL = defaults), GOIO_EINVAL, GOIO_ENOMEM. Nothing changes on
 * error.
 */
GOIO_EXTERN int goio_type_json_envelope_decode(
    const goio_type_json_config *cfg, const uint8_t *json, size_t len,
    goio_type_json_time_value *fresh_until, goio_bytes *value);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_REFLEXT_H */
