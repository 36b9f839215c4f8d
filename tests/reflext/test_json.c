/* SPDX-License-Identifier: MIT */
/*
 * reflext's JSON on its own (tests/interop compares it with real Go): the
 * vectors below are what Go 1.19's encoding/json writes and reads.
 */
#include "test_util.h"

#include <goio/reflext.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct inner {
    int64_t x;
    char *label;
};
static const goio_type_json_field inner_fields[] = {
    {"x", offsetof(struct inner, x), &goio_type_int64, 0, 0},
    {"label", offsetof(struct inner, label), &goio_type_string,
     GOIO_TYPE_JSON_OMITEMPTY, 0},
};
static const goio_type_json_struct inner_desc = {inner_fields, 2};
static GOIO_TYPE_JSON_STRUCT(inner_type, struct inner, inner_desc);

struct item {
    int64_t id;
    char *name;
    double price;
    goio_bytes data;
    bool has_child;
    struct inner child;
    goio_type_json_time_value when;
    uint64_t count;
};
static const goio_type_json_field item_fields[] = {
    {"id", offsetof(struct item, id), &goio_type_int64, 0, 0},
    {"name", offsetof(struct item, name), &goio_type_string, 0, 0},
    {"price", offsetof(struct item, price), &goio_type_double,
     GOIO_TYPE_JSON_OMITEMPTY, 0},
    {"data", offsetof(struct item, data), &goio_type_bytes,
     GOIO_TYPE_JSON_OMITEMPTY, 0},
    {"child", offsetof(struct item, child), &inner_type,
     GOIO_TYPE_JSON_OPTIONAL, offsetof(struct item, has_child)},
    {"when", offsetof(struct item, when), &goio_type_json_time, 0, 0},
    {"count", offsetof(struct item, count), &goio_type_uint64, 0, 0},
};
static const goio_type_json_struct item_desc = {item_fields, 7};
static GOIO_TYPE_JSON_STRUCT(item_type, struct item, item_desc);

static void expect_json(const goio_type *t, const void *v, const char *want)
{
    goio_buf b;
    goio_buf_init(&b);
    assert_ok(goio_type_json_encode(t, v, &b));
    assert_string_equal(goio_buf_cstr(&b), want);
    goio_buf_deinit(&b);
}

static int decode_str(const goio_type *t, const char *json, void *v)
{
    return goio_type_json_decode(t, NULL, (const uint8_t *)json, strlen(json),
                                 v);
}

static void strings_escape_as_go(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"a\"b\\c/d", "\"a\\\"b\\\\c/d\""},
        {"\n\r\t\b\f\x01\x1f\x7f",
         "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\""},
        {"<a href='x'>&</a>",
         "\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\""},
        {"\xE2\x80\xA8\xE2\x80\xA9\xE2\x80\xAA",
         "\"\\u2028\\u2029\xE2\x80\xAA\""},
        {"\xC3\xA9\xF0\x9F\x8E\x89", "\"\xC3\xA9\xF0\x9F\x8E\x89\""},
        {"\xff", "\"\\ufffd\""},
        {"\xE2\x82", "\"\\ufffd\\ufffd\""},            /* one per byte, as Go */
        {"\xED\xA0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* a surrogate */
        {"\xC0\xAF", "\"\\ufffd\\ufffd\""},            /* overlong */
        {"\xF4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = (char *)cases[i].in;
        expect_json(&goio_type_string, &s, cases[i].out);
    }
    char *null_string = NULL;
    expect_json(&goio_type_string, &null_string, "\"\"");
}

static void floats_format_as_go(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *out;
    } cases[] = {
        {0, "0"},
        {-0.0, "-0"},
        {0.1, "0.1"},
        {1.5, "1.5"},
        {100, "100"},
        {1e20, "100000000000000000000"},
        {1e21, "1e+21"},
        {-1.5e300, "-1.5e+300"},
        {1e-6, "0.000001"},
        {1e-7, "1e-7"},
        {1.5e-10, "1.5e-10"},
        {123456789, "123456789"},
        {0.000001234, "0.000001234"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {1.0 / 3, "0.3333333333333333"},
        {9007199254740993.0, "9007199254740992"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_json(&goio_type_double, &cases[i].d, cases[i].out);
    goio_buf b;
    goio_buf_init(&b);
    double bad[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++)
        assert_goio(GOIO_ERANGE,
                    goio_type_json_encode(&goio_type_double, &bad[i], &b));
    assert_int_equal(b.len, 0);
    goio_buf_deinit(&b);
}

static void scalars_and_bytes(void **state)
{
    (void)state;
    int64_t i = INT64_MIN;
    expect_json(&goio_type_int64, &i, "-9223372036854775808");
    uint64_t u = UINT64_MAX;
    expect_json(&goio_type_uint64, &u, "18446744073709551615");
    bool t = true;
    expect_json(&goio_type_bool, &t, "true");
    goio_bytes nil = {NULL, 0}, empty = {(uint8_t *)"", 0},
               three = {(uint8_t *)"\xff\x00\x01", 3},
               two = {(uint8_t *)"ab", 2};
    expect_json(&goio_type_bytes, &nil, "null");
    expect_json(&goio_type_bytes, &empty, "\"\"");
    expect_json(&goio_type_bytes, &three, "\"/wAB\"");
    expect_json(&goio_type_bytes, &two, "\"YWI=\"");

    goio_bytes b = {0};
    assert_ok(decode_str(&goio_type_bytes, "\"YWI=\"", &b));
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "ab", 2);
    assert_ok(decode_str(&goio_type_bytes, "null", &b));
    assert_null(b.data);
    assert_ok(decode_str(&goio_type_bytes, "[97, 98 ,99]", &b));
    assert_memory_equal(b.data, "abc", 3);
    assert_goio(GOIO_EBADMSG, decode_str(&goio_type_bytes, "\"YWI\"", &b));
    assert_goio(GOIO_EBADMSG, decode_str(&goio_type_bytes, "\"Y===\"", &b));
    assert_goio(GOIO_ETYPE, decode_str(&goio_type_bytes, "[256]", &b));
    assert_memory_equal(b.data, "abc", 3); /* untouched on error */
    goio_type_value_deinit(&goio_type_bytes, &b);

    int64_t n = 5;
    assert_goio(GOIO_ETYPE, decode_str(&goio_type_int64, "1.5", &n));
    assert_goio(GOIO_ETYPE, decode_str(&goio_type_int64, "1e2", &n));
    assert_goio(GOIO_ETYPE,
                decode_str(&goio_type_int64, "9223372036854775808", &n));
    assert_goio(GOIO_ETYPE, decode_str(&goio_type_int64, "\"1\"", &n));
    assert_goio(GOIO_EBADMSG, decode_str(&goio_type_int64, "01", &n));
    assert_goio(GOIO_EBADMSG, decode_str(&goio_type_int64, "", &n));
    assert_goio(GOIO_EBADMSG, decode_str(&goio_type_int64, "1 2", &n));
    assert_int_equal(n, 5);
    assert_ok(decode_str(&goio_type_int64, " -42 ", &n));
    assert_int_equal(n, -42);
    assert_ok(decode_str(&goio_type_int64, "null", &n));
    assert_int_equal(n, 0); /* decoding starts from the zero value */
    uint64_t un = 0;
    assert_goio(GOIO_ETYPE, decode_str(&goio_type_uint64, "-1", &un));
    double d = 0;
    assert_ok(decode_str(&goio_type_double, "1E+2", &d));
    assert_true(d == 100);
    assert_goio(GOIO_ETYPE, decode_str(&goio_type_double, "1e400", &d));
    char *s = NULL;
    assert_ok(decode_str(&goio_type_string,
                         "\"\\ud83d\\ude00\\ud800\\u00e9\\/\xff\"", &s));
    assert_string_equal(s, "\xF0\x9F\x98\x80\xEF\xBF\xBD\xC3\xA9/\xEF\xBF\xBD");
    assert_goio(GOIO_ETYPE, decode_str(&goio_type_string, "\"a\\u0000\"", &s));
    assert_goio(GOIO_EBADMSG, decode_str(&goio_type_string, "\"a\tb\"", &s));
    assert_goio(GOIO_EBADMSG, decode_str(&goio_type_string, "\"\\x\"", &s));
    goio_type_value_deinit(&goio_type_string, &s);
}

static void times_as_go(void **state)
{
    (void)state;
    static const struct {
        int64_t sec;
        int32_t nsec, offset;
        const char *text;
    } cases[] = {
        {1796655731, 714133749, 0, "2026-12-07T15:02:11.714133749Z"},
        {1796655731, 714133700, 0, "2026-12-07T15:02:11.7141337Z"},
        {1796655731, 0, 3600, "2026-12-07T16:02:11+01:00"},
        {1796655731, 500000000, -5400, "2026-12-07T13:32:11.5-01:30"},
        {-1, 999999999, 0, "1969-12-31T23:59:59.999999999Z"},
        {GOIO_TYPE_JSON_TIME_GO_ZERO_SEC, 0, 0, "0001-01-01T00:00:00Z"},
        {951782400, 0, 0, "2000-02-29T00:00:00Z"},
        {253402300799, 0, 0, "9999-12-31T23:59:59Z"},
    };
    goio_buf b;
    goio_buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        goio_type_json_time_value t = {cases[i].sec, cases[i].nsec,
                                       cases[i].offset},
                                  back;
        goio_buf_clear(&b);
        assert_ok(goio_type_json_time_format(t, &b));
        assert_string_equal(goio_buf_cstr(&b), cases[i].text);
        assert_ok(goio_type_json_time_parse(cases[i].text,
                                            strlen(cases[i].text), &back));
        assert_true(back.sec == t.sec && back.nsec == t.nsec &&
                    back.offset == t.offset);
    }
    goio_type_json_time_value t = {253402300800, 0, 0};
    assert_goio(GOIO_ERANGE, goio_type_json_time_format(t, &b));
    t = (goio_type_json_time_value){0, 1000000000, 0};
    assert_goio(GOIO_EINVAL, goio_type_json_time_format(t, &b));
    t = (goio_type_json_time_value){0, 0, 30};
    assert_goio(GOIO_EINVAL, goio_type_json_time_format(t, &b));
    static const char *const bad[] = {
        "2026-12-07T15:02:11",
        "2026-12-07 15:02:11Z",
        "2026-13-07T15:02:11Z",
        "2026-02-29T15:02:11Z",
        "2026-12-07T24:00:00Z",
        "2026-12-07T15:02:11+0100",
        "2026-12-07T15:02:11.Z",
        "2026-12-07T15:02:11Zx",
        "26-12-07T15:02:11Z",
        "2026-12-07t15:02:11z",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_goio(GOIO_EBADMSG,
                    goio_type_json_time_parse(bad[i], strlen(bad[i]), &t));
    /* more than nine fraction digits: Go keeps nanoseconds */
    assert_ok(
        goio_type_json_time_parse("1970-01-01T00:00:00.1234567891Z", 31, &t));
    assert_int_equal(t.nsec, 123456789);
    assert_goio(GOIO_EINVAL, goio_type_json_time_parse(NULL, 1, &t));
    goio_buf_deinit(&b);
}

static void structs_as_go(void **state)
{
    (void)state;
    struct item it;
    memset(&it, 0, sizeof it);
    it.id = 7;
    it.name = "lamp";
    it.when =
        (goio_type_json_time_value){GOIO_TYPE_JSON_TIME_GO_ZERO_SEC, 0, 0};
    /* omitempty price/data out, nil child is null, zero time is Go's */
    expect_json(&item_type, &it,
                "{\"id\":7,\"name\":\"lamp\",\"child\":null,"
                "\"when\":\"0001-01-01T00:00:00Z\",\"count\":0}");
    it.price = 9.5;
    it.has_child = true;
    it.child.x = 3;
    expect_json(&item_type, &it,
                "{\"id\":7,\"name\":\"lamp\",\"price\":9.5,\"child\":{\"x\":3},"
                "\"when\":\"0001-01-01T00:00:00Z\",\"count\":0}");

    struct item got;
    memset(&got, 0, sizeof got);
    /* keys: exact first, then case-insensitive; unknown keys ignored;
     * later duplicates win; null leaves a field alone */
    assert_ok(
        decode_str(&item_type,
                   "{\"ID\":1,\"Name\":\"x\",\"name\":\"y\",\"NAME\":null,"
                   "\"extra\":{\"a\":[1,{\"b\":[]}]},\"CHILD\":{\"X\":4,"
                   "\"label\":\"l\"},\"count\":18446744073709551615}",
                   &got));
    assert_int_equal(got.id, 1);
    assert_string_equal(got.name, "y");
    assert_true(got.has_child);
    assert_int_equal(got.child.x, 4);
    assert_string_equal(got.child.label, "l");
    assert_true(got.count == UINT64_MAX);
    /* absent time: Go's zero time */
    assert_true(got.when.sec == GOIO_TYPE_JSON_TIME_GO_ZERO_SEC);

    /* deep copy through goio_type_set, then the byte form is the JSON */
    struct item copy;
    memset(&copy, 0, sizeof copy);
    assert_ok(goio_type_set(&copy, &item_type, &got, &item_type));
    assert_ptr_not_equal(copy.name, got.name);
    assert_string_equal(copy.child.label, "l");
    goio_buf a, b;
    goio_buf_init(&a);
    goio_buf_init(&b);
    assert_ok(goio_type_encode(&item_type, &got, &a));
    assert_ok(goio_type_json_encode(&item_type, &copy, &b));
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    struct item again;
    memset(&again, 0, sizeof again);
    assert_ok(goio_type_decode(&item_type, a.data, a.len, &again));
    assert_string_equal(again.child.label, "l");

    /* empty keys and strings (found by libFuzzer + UBSan) */
    assert_ok(decode_str(&item_type, "{\"\":\"\",\"\":{},\"id\":1}", &again));
    assert_int_equal(again.id, 1);
    assert_goio(GOIO_EBADMSG,
                decode_str(&item_type, "{\"when\":\"\"}", &again));
    goio_type_json_time_value tv;
    assert_goio(GOIO_EBADMSG, goio_type_json_time_parse(NULL, 0, &tv));

    /* errors leave the destination as it was */
    assert_goio(GOIO_ETYPE, decode_str(&item_type, "{\"id\":\"1\"}", &got));
    assert_goio(GOIO_ETYPE, decode_str(&item_type, "[]", &got));
    assert_goio(GOIO_ETYPE,
                decode_str(&item_type, "{\"child\":{\"x\":1.5}}", &got));
    assert_goio(GOIO_EBADMSG, decode_str(&item_type, "{\"id\":1,}", &got));
    /* a syntax error after a type error is reported, as Go does */
    assert_goio(GOIO_EBADMSG, decode_str(&item_type, "{\"id\":\"1\",", &got));
    assert_int_equal(got.id, 1);
    assert_string_equal(got.name, "y");
    assert_ok(decode_str(&item_type, "{\"child\":null}", &got));
    assert_false(got.has_child);
    assert_null(got.child.label);

    goio_type_value_deinit(&item_type, &got);
    goio_type_value_deinit(&item_type, &copy);
    goio_type_value_deinit(&item_type, &again);
    goio_buf_deinit(&a);
    goio_buf_deinit(&b);
}

static void raw_json_is_compacted_and_captured(void **state)
{
    (void)state;
    goio_bytes raw = {(uint8_t *)" { \"a\" : [1, \"<&>\xE2\x80\xA8\"] } ", 30};
    raw.len = strlen((char *)raw.data);
    expect_json(&goio_type_json_raw, &raw,
                "{\"a\":[1,\"\\u003c\\u0026\\u003e\\u2028\"]}");
    goio_bytes bad = {(uint8_t *)"{", 1};
    goio_buf b;
    goio_buf_init(&b);
    assert_goio(GOIO_EBADMSG,
                goio_type_json_encode(&goio_type_json_raw, &bad, &b));
    goio_buf_deinit(&b);
    goio_bytes got = {0};
    assert_ok(decode_str(&goio_type_json_raw, " [1, 2] ", &got));
    assert_int_equal(got.len, 6);
    assert_memory_equal(got.data, "[1, 2]", 6);
    goio_type_value_deinit(&goio_type_json_raw, &got);
}

static void hostile_input_is_bounded(void **state)
{
    (void)state;
    /* a million open brackets: no recursion, bounded memory */
    size_t n = 1000000;
    goio_buf doc;
    goio_buf_init(&doc);
    assert_ok(goio_buf_append_str(&doc, "{\"x\":"));
    for (size_t i = 0; i < n; i++)
        assert_ok(goio_buf_append(&doc, "[", 1));
    struct item it;
    memset(&it, 0, sizeof it);
    assert_goio(GOIO_ELIMIT, goio_type_json_decode(&item_type, NULL, doc.data,
                                                   doc.len, &it));
    goio_type_json_config cfg;
    goio_type_json_config_init(&cfg);
    assert_int_equal(cfg.max_depth, 10000);
    cfg.max_depth = SIZE_MAX; /* even unlimited: input-bounded */
    assert_goio(GOIO_EBADMSG, goio_type_json_decode(&item_type, &cfg, doc.data,
                                                    doc.len, &it));
    for (size_t i = 0; i < n; i++)
        assert_ok(goio_buf_append(&doc, "]", 1));
    assert_ok(goio_buf_append(&doc, "}", 1));
    assert_ok(goio_type_json_decode(&item_type, &cfg, doc.data, doc.len, &it));
    cfg.max_depth = 3;
    assert_goio(GOIO_ELIMIT, goio_type_json_decode(
                                 &item_type, &cfg,
                                 (const uint8_t *)"{\"x\":[[[1]]]}", 13, &it));
    assert_ok(goio_type_json_decode(&item_type, &cfg,
                                    (const uint8_t *)"{\"x\":[[1]]}", 11, &it));
    cfg.max_bytes = 10;
    assert_goio(GOIO_EMSGSIZE, goio_type_json_decode(
                                   &item_type, &cfg,
                                   (const uint8_t *)"{\"x\":[[1]]}", 11, &it));
    cfg.max_depth = 0;
    assert_goio(
        GOIO_EINVAL,
        goio_type_json_decode(&item_type, &cfg, (const uint8_t *)"1", 1, &it));
    goio_type_value_deinit(&item_type, &it);
    goio_buf_deinit(&doc);
}

static void envelope_as_go_io(void **state)
{
    (void)state;
    goio_buf b;
    goio_buf_init(&b);
    char *name = "lamp";
    goio_type_json_time_value until = {1796655731, 714133749, 0}, got_until;
    assert_ok(
        goio_type_json_envelope_encode(&goio_type_string, &name, until, &b));
    assert_string_equal(goio_buf_cstr(&b),
                        "{\"FreshUntil\":\"2026-12-07T15:02:11.714133749Z\","
                        "\"Value\":\"lamp\"}");
    goio_bytes value = {0};
    assert_ok(goio_type_json_envelope_decode(NULL, b.data, b.len, &got_until,
                                             &value));
    assert_true(got_until.sec == until.sec && got_until.nsec == until.nsec);
    assert_int_equal(value.len, 6);
    assert_memory_equal(value.data, "\"lamp\"", 6);
    /* nested, as stale over hybrid stores it; keys as Go matches them */
    static const char nested[] =
        " {\"freshuntil\":\"2026-12-07T16:02:11+01:00\",\"x\":1,\"VALUE\":"
        "{\"FreshUntil\":\"2026-12-07T15:02:11Z\",\"Value\":[1, 2]}} ";
    assert_ok(goio_type_json_envelope_decode(
        NULL, (const uint8_t *)nested, strlen(nested), &got_until, &value));
    assert_int_equal(got_until.sec, 1796655731);
    assert_int_equal(got_until.offset, 3600);
    goio_bytes inner = {0};
    assert_ok(goio_type_json_envelope_decode(NULL, value.data, value.len,
                                             &got_until, &inner));
    assert_int_equal(inner.len, 6);
    assert_memory_equal(inner.data, "[1, 2]", 6);
    /* no FreshUntil: Go's zero time (stale); no Value: an error */
    assert_ok(goio_type_json_envelope_decode(
        NULL, (const uint8_t *)"{\"Value\":null}", 14, &got_until, &value));
    assert_true(got_until.sec == GOIO_TYPE_JSON_TIME_GO_ZERO_SEC);
    assert_memory_equal(value.data, "null", 4);
    static const char *const bad[] = {
        "{\"FreshUntil\":\"2026-12-07T15:02:11Z\"}",
        "{",
        "[]",
        "\"x\"",
        "{\"FreshUntil\":5,\"Value\":1}",
        "{\"FreshUntil\":\"x\",\"Value\":1}"};
    static const int codes[] = {GOIO_EBADMSG, GOIO_EBADMSG, GOIO_ETYPE,
                                GOIO_ETYPE,   GOIO_ETYPE,   GOIO_EBADMSG};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_goio(codes[i], goio_type_json_envelope_decode(
                                  NULL, (const uint8_t *)bad[i], strlen(bad[i]),
                                  &got_until, &value));
    assert_memory_equal(value.data, "null", 4); /* untouched */
    assert_goio(GOIO_EINVAL, goio_type_json_envelope_decode(
                                 NULL, NULL, 1, &got_until, &value));
    assert_goio(GOIO_EINVAL,
                goio_type_json_envelope_encode(NULL, &name, until, &b));
    size_t len = b.len;
    until.nsec = -1;
    assert_goio(GOIO_EINVAL, goio_type_json_envelope_encode(&goio_type_string,
                                                            &name, until, &b));
    assert_int_equal(b.len, len);
    goio_type_value_deinit(&goio_type_json_raw, &value);
    goio_type_value_deinit(&goio_type_json_raw, &inner);
    goio_buf_deinit(&b);
}

struct point {
    int x;
};
static GOIO_TYPE_POD(point_type, struct point);

static void bad_arguments(void **state)
{
    (void)state;
    goio_buf b;
    goio_buf_init(&b);
    int64_t v = 0;
    struct point p = {0};
    assert_goio(GOIO_EINVAL, goio_type_json_encode(NULL, &v, &b));
    assert_goio(GOIO_EINVAL, goio_type_json_encode(&goio_type_int64, NULL, &b));
    assert_goio(GOIO_EINVAL, goio_type_json_encode(&goio_type_int64, &v, NULL));
    assert_goio(GOIO_ENOTSUP, goio_type_json_encode(&point_type, &p, &b));
    assert_goio(GOIO_ENOTSUP, decode_str(&point_type, "{}", &p));
    assert_goio(GOIO_EINVAL,
                goio_type_json_decode(&goio_type_int64, NULL, NULL, 1, &v));
    assert_goio(GOIO_EINVAL,
                goio_type_json_decode(&goio_type_int64, NULL,
                                      (const uint8_t *)"1", 1, NULL));
    /* a descriptor whose member lies outside the struct */
    static const goio_type_json_field bad_fields[] = {
        {"x", 16, &goio_type_int64, 0, 0}};
    static const goio_type_json_struct bad_desc = {bad_fields, 1};
    static GOIO_TYPE_JSON_STRUCT(bad_type, struct point, bad_desc);
    assert_goio(GOIO_EINVAL, goio_type_json_encode(&bad_type, &p, &b));
    assert_goio(GOIO_EINVAL, decode_str(&bad_type, "{}", &p));
    /* a struct that contains itself */
    goio_type self_type;
    goio_type_json_field self_field = {"me", 0, &self_type, 0, 0};
    goio_type_json_struct self_desc = {&self_field, 1};
    self_type = (goio_type){"self",
                            sizeof(struct point),
                            goio_type_json_struct_encode,
                            goio_type_json_struct_decode,
                            goio_type_json_struct_copy,
                            goio_type_json_struct_deinit,
                            &self_desc};
    assert_goio(GOIO_EINVAL, goio_type_json_encode(&self_type, &p, &b));
    assert_int_equal(b.len, 0);
    assert_goio(GOIO_EINVAL,
                decode_str(&self_type, "{\"me\":{\"me\":{}}}", &p));
    goio_buf_deinit(&b);
}

static const char torture_doc[] =
    "{\"id\":1,\"name\":\"a long enough name to allocate\",\"data\":\"YWJj\","
    "\"child\":{\"x\":2,\"label\":\"\\u00e9\"},\"unknown\":[[[[{}]]]],"
    "\"when\":\"2026-12-07T15:02:11Z\"}";
static struct item torture_item;

static int torture_decode(void *arg)
{
    goio_type_json_config *cfg = arg;
    return goio_type_json_decode(&item_type, cfg, (const uint8_t *)torture_doc,
                                 strlen(torture_doc), &torture_item);
}

static void torture_cleanup(void *arg)
{
    (void)arg;
    goio_type_value_deinit(&item_type, &torture_item);
}

static goio_buf torture_buf;
static int torture_encode(void *arg)
{
    (void)arg;
    goio_buf_deinit(&torture_buf);
    return goio_type_json_encode(&item_type, &torture_item, &torture_buf);
}

static void torture_buf_cleanup(void *arg)
{
    (void)arg;
    goio_buf_deinit(&torture_buf);
}

static void out_of_memory_is_an_error(void **state)
{
    (void)state;
    goio_test_alloc_install();
    goio_type_json_config cfg;
    goio_type_json_config_init(&cfg);
    assert_true(goio_test_alloc_torture(torture_decode, torture_cleanup, &cfg) >
                3);
    assert_ok(torture_decode(&cfg));
    assert_true(goio_test_alloc_torture(torture_encode, torture_buf_cleanup,
                                        NULL) >= 1);
    goio_type_value_deinit(&item_type, &torture_item);
    goio_allocator_set(NULL, NULL, NULL, NULL);
}

/* Random mutations of valid documents: every result is a defined code,
 * and whatever decodes re-encodes to a fixed point. A bounded, seeded
 * loop (the libFuzzer target would live in fuzz/). */
static void mutated_documents_are_safe(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        torture_doc,
        "{\"id\":-1,\"name\":\"\\ud83d\\ude00\\u2028<>\",\"price\":1e-7,"
        "\"data\":[1,2,3],\"child\":null,\"count\":18446744073709551615}",
        "{\"ID\":1e2,\"Name\":null,\"child\":{\"X\":1,\"LABEL\":\"x\"},"
        "\"when\":\"2026-12-07T16:02:11.5+01:00\",\"x\":[{},[],\"\",0]}",
    };
    static const char json_bytes[] = "{}[]\",:0-1e.\\ntfu\xff";
    uint64_t rng = 42;
    char doc[512];
    for (int iter = 0; iter < 30000; iter++) {
        const char *seed = seeds[iter % 3];
        size_t n = strlen(seed);
        memcpy(doc, seed, n);
        int edits = 1 + (int)(rng % 4);
        for (int e = 0; e < edits; e++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(rng >> 33) % n;
            uint8_t c = (uint8_t)(rng >> 17);
            switch ((rng >> 8) % 4) {
            case 0: /* replace a byte with a JSON-ish one */
                doc[at] = json_bytes[c % (sizeof json_bytes - 1)];
                break;
            case 1: /* any byte */
                doc[at] = (char)c;
                break;
            case 2: /* delete */
                memmove(doc + at, doc + at + 1, n - at - 1);
                n--;
                break;
            default: /* duplicate a span */
                if (n + 16 < sizeof doc) {
                    memmove(doc + at + 16, doc + at, n - at);
                    n += 16;
                }
            }
        }
        struct item it;
        memset(&it, 0, sizeof it);
        int rc =
            goio_type_json_decode(&item_type, NULL, (uint8_t *)doc, n, &it);
        assert_true(rc == 0 || rc == GOIO_EBADMSG || rc == GOIO_ETYPE ||
                    rc == GOIO_ELIMIT);
        if (rc == 0) {
            goio_buf a, b;
            goio_buf_init(&a);
            goio_buf_init(&b);
            rc = goio_type_json_encode(&item_type, &it, &a);
            /* a decoded time can lie outside 0000..9999 only by offset */
            assert_true(rc == 0 || rc == GOIO_ERANGE);
            if (rc == 0) {
                struct item again;
                memset(&again, 0, sizeof again);
                assert_ok(goio_type_json_decode(&item_type, NULL, a.data, a.len,
                                                &again));
                assert_ok(goio_type_json_encode(&item_type, &again, &b));
                assert_int_equal(a.len, b.len);
                assert_memory_equal(a.data, b.data, a.len);
                goio_type_value_deinit(&item_type, &again);
            }
            goio_buf_deinit(&a);
            goio_buf_deinit(&b);
        }
        goio_type_value_deinit(&item_type, &it);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_escape_as_go),
        cmocka_unit_test(floats_format_as_go),
        cmocka_unit_test(scalars_and_bytes),
        cmocka_unit_test(times_as_go),
        cmocka_unit_test(structs_as_go),
        cmocka_unit_test(raw_json_is_compacted_and_captured),
        cmocka_unit_test(envelope_as_go_io),
        cmocka_unit_test(hostile_input_is_bounded),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(out_of_memory_is_an_error),
        cmocka_unit_test(mutated_documents_are_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
