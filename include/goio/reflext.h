/*
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

struct goio_type {
    const char *name;
    size_t size; /* sizeof the variable */
    /* Appends the encoding of *value to out. Required. */
    int (*encode)(const goio_type *type, const void *value, goio_buf *out);
    /*
     * Decodes bytes into *value, which is zero-filled storage of `size`
     * bytes (not the caller's variable: goio moves the result there only
     * on success). Must reject truncated or malformed input with
     * GOIO_EBADMSG and leave nothing allocated on failure. Required.
     */
    int (*decode)(const goio_type *type, const uint8_t *bytes, size_t len,
                  void *value);
    /* Deep copy of *src into zero-filled *dst; NULL means memcpy. */
    int (*copy)(const goio_type *type, void *dst, const void *src);
    /* Releases what *value owns (not value itself); NULL means nothing. */
    void (*destroy)(const goio_type *type, void *value);
    /* For user types: anything the callbacks need. */
    const void *user;
};

/* The bytes type's variable: owns data (goio_malloc). */
typedef struct goio_bytes {
    uint8_t *data;
    size_t len;
} goio_bytes;

GOIO_EXTERN extern const goio_type goio_type_bytes;  /* goio_bytes */
GOIO_EXTERN extern const goio_type goio_type_string; /* char *, owned */
GOIO_EXTERN extern const goio_type goio_type_int64;  /* int64_t */
GOIO_EXTERN extern const goio_type goio_type_uint64; /* uint64_t */
GOIO_EXTERN extern const goio_type goio_type_double; /* double */
GOIO_EXTERN extern const goio_type goio_type_bool;   /* bool */

/*
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
GOIO_EXTERN int goio_type_pod_encode(const goio_type *type, const void *value,
                                     goio_buf *out);
GOIO_EXTERN int goio_type_pod_decode(const goio_type *type,
                                     const uint8_t *bytes, size_t len,
                                     void *value);

/* Checks that a descriptor is usable (name, size, encode, decode). */
GOIO_EXTERN int goio_type_check(const goio_type *type);

/*
 * *dst = deep copy of *src. GOIO_EINVAL for NULL arguments or an invalid
 * descriptor, GOIO_ETYPE when the types differ, GOIO_ENOMEM. On success
 * the old value of *dst is destroyed; on failure *dst is untouched.
 */
GOIO_EXTERN int goio_type_set(void *dst, const goio_type *dst_type,
                              const void *src, const goio_type *src_type);

/* Appends the encoding of *value to out. */
GOIO_EXTERN int goio_type_encode(const goio_type *type, const void *value,
                                 goio_buf *out);
/*
 * Decodes bytes into *value (a valid variable of the type), replacing and
 * destroying its old value on success only. GOIO_EBADMSG for malformed or
 * truncated input.
 */
GOIO_EXTERN int goio_type_decode(const goio_type *type, const uint8_t *bytes,
                                 size_t len, void *value);
/* Destroys what *value owns and zero-fills it. NULL-safe. */
GOIO_EXTERN void goio_type_destroy(const goio_type *type, void *value);

#ifdef __cplusplus
}
#endif

#endif /* GOIO_REFLEXT_H */
