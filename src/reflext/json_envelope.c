/* SPDX-License-Identifier: MIT */
/* go-io's cache envelope {"FreshUntil":...,"Value":...} (see reflext.h). */
#include "json_int.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    goio_type_json_time_value fresh_until;
    goio_bytes value;
} envelope;

static const goio_type_json_field envelope_fields[] = {
    {"FreshUntil", offsetof(envelope, fresh_until), &goio_type_json_time, 0, 0},
    {"Value", offsetof(envelope, value), &goio_type_json_raw, 0, 0},
};
static const goio_type_json_struct envelope_desc = {envelope_fields, 2};
static GOIO_TYPE_JSON_STRUCT(envelope_type, envelope, envelope_desc);

int goio_type_json_envelope_encode(const goio_type *type, const void *value,
                                   goio_type_json_time_value fresh_until,
                                   goio_buf *out)
{
    if (goio_type_check(type) || !value || !out)
        return GOIO_EINVAL;
    size_t before = out->len;
    int rc = goio_buf_append_str(out, "{\"FreshUntil\":\"");
    if (!rc)
        rc = goio_type_json_time_format(fresh_until, out);
    if (!rc)
        rc = goio_buf_append_str(out, "\",\"Value\":");
    if (!rc)
        rc = goio__json_encode_value(type, value, out, 0);
    if (!rc)
        rc = goio_buf_append(out, "}", 1);
    if (rc)
        out->len = before;
    return rc;
}

int goio_type_json_envelope_decode(const goio_type_json_config *cfg,
                                   const uint8_t *json, size_t len,
                                   goio_type_json_time_value *fresh_until,
                                   goio_bytes *value)
{
    if ((!json && len) || !fresh_until || !value)
        return GOIO_EINVAL;
    envelope e;
    memset(&e, 0, sizeof e);
    int rc = goio_type_json_decode(&envelope_type, cfg, json, len, &e);
    if (rc)
        return rc;
    if (!e.value.data) { /* no Value: go-io's json.Unmarshal(nil) fails */
        goio_type_value_deinit(&envelope_type, &e);
        return GOIO_EBADMSG;
    }
    goio_type_value_deinit(&goio_type_json_raw, value);
    *value = e.value;
    *fresh_until = e.fresh_until;
    return 0;
}
