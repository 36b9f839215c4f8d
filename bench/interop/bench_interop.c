/* SPDX-License-Identifier: MIT */
/*
 * goio's JSON (reflext) against Go's encoding/json on the same values:
 * ns per operation, measured in the same run (the anchor is
 * bench/interop/go, given as $GOIO_INTEROP_ANCHOR). Cases:
 *   json_encode_item      a struct of every field kind -> JSON
 *   json_decode_item      its JSON -> the struct
 *   json_encode_floats    1000 doubles from random bits (one array in Go;
 *                         per double in goio, plus the separators): the
 *                         worst case, 16-17 digits and any exponent
 *   json_encode_prices    1000 doubles k/100 (what caches hold)
 *   json_decode_envelope  go-io's {"FreshUntil","Value"} envelope, then the
 *                         Value into the struct (what a stale read does)
 */
#include "bench.h"

#include <goio/reflext.h>

#include "interop_item.h" /* the Go peer's Item, shared with the tests */

#include <math.h>
#include <stddef.h>
#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) /* splitmix64, as the anchor */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static struct item sample(void)
{
    struct item it;
    memset(&it, 0, sizeof it);
    it.id = 123456;
    it.name = "Lamp <b>&</b> deluxe \xC3\xA9";
    it.price = 19.99;
    it.note = "in stock";
    it.count = 42;
    it.ok = true;
    it.data = (goio_bytes){(uint8_t *)"0123456789abcdef", 16};
    it.ratio = 0.25;
    it.has_ratio = true;
    it.child = (struct inner){7, {(uint8_t *)"\x01\x02\x03", 3}};
    it.has_child = true;
    it.in.x = -1;
    it.when = (goio_type_json_time_value){1796655731, 714133700, 0};
    return it;
}

static double anchor_ns(const char *name, long n)
{
    const char *anchor = getenv("GOIO_INTEROP_ANCHOR");
    if (!anchor)
        return NAN;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s %ld", anchor, name, n);
    FILE *p = popen(cmd, "r");
    double ns = NAN;
    if (p) {
        if (fscanf(p, "%lf", &ns) != 1)
            ns = NAN;
        pclose(p);
    }
    return ns;
}

static void check(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "bench_interop: %s: %s\n", what, goio_strerror(rc));
        exit(1);
    }
}

/* Runs op n times; returns ns per call. */
#define TIME_NS(n, body)                                                       \
    ({                                                                         \
        double t0_ = bench_now_s();                                            \
        for (long i_ = 0; i_ < (n); i_++) {                                    \
            body;                                                              \
        }                                                                      \
        (bench_now_s() - t0_) * 1e9 / (double)(n);                             \
    })

int main(int argc, char **argv)
{
    long n = 200000;
    const char *env_n = getenv("GOIO_INTEROP_BENCH_N");
    if (env_n)
        n = atol(env_n);
    struct item it = sample();
    goio_buf item_json, env_json, out;
    goio_buf_init(&item_json);
    goio_buf_init(&env_json);
    goio_buf_init(&out);
    check(goio_type_json_encode(&item_type, &it, &item_json), "encode");
    struct envelope env = {{1796655791, 714133749, 0},
                           {item_json.data, item_json.len}};
    check(goio_type_json_encode(&envelope_type, &env, &env_json), "envelope");

    if (bench_selected(argc, argv, "json_encode_item")) {
        double ns = TIME_NS(n, {
            goio_buf_clear(&out);
            check(goio_type_json_encode(&item_type, &it, &out), "encode");
        });
        bench_line("json_encode_item", ns, anchor_ns("json_encode_item", n),
                   "ns/op", false, NULL);
    }
    if (bench_selected(argc, argv, "json_decode_item")) {
        struct item got;
        memset(&got, 0, sizeof got);
        double ns = TIME_NS(n, {
            check(goio_type_json_decode(&item_type, NULL, item_json.data,
                                        item_json.len, &got),
                  "decode");
        });
        goio_type_value_deinit(&item_type, &got);
        bench_line("json_decode_item", ns, anchor_ns("json_decode_item", n),
                   "ns/op", false, NULL);
    }
    if (bench_selected(argc, argv, "json_encode_floats")) {
        double floats[1000];
        for (int k = 0; k < 1000;) {
            uint64_t bits = rnd();
            double d;
            memcpy(&d, &bits, 8);
            if (isfinite(d))
                floats[k++] = d;
        }
        long m = n / 100 ? n / 100 : 1;
        double ns = TIME_NS(m, {
            goio_buf_clear(&out);
            check(goio_buf_append(&out, "[", 1), "append");
            for (int k = 0; k < 1000; k++) {
                if (k)
                    check(goio_buf_append(&out, ",", 1), "append");
                check(
                    goio_type_json_encode(&goio_type_double, &floats[k], &out),
                    "float");
            }
            check(goio_buf_append(&out, "]", 1), "append");
        });
        bench_line("json_encode_floats", ns, anchor_ns("json_encode_floats", m),
                   "ns/op", false, "op=1000_doubles");
    }
    if (bench_selected(argc, argv, "json_encode_prices")) {
        double floats[1000];
        for (int k = 0; k < 1000; k++)
            floats[k] = (double)((k * 7919) % 1000000) / 100;
        long m = n / 100 ? n / 100 : 1;
        double ns = TIME_NS(m, {
            goio_buf_clear(&out);
            check(goio_buf_append(&out, "[", 1), "append");
            for (int k = 0; k < 1000; k++) {
                if (k)
                    check(goio_buf_append(&out, ",", 1), "append");
                check(
                    goio_type_json_encode(&goio_type_double, &floats[k], &out),
                    "float");
            }
            check(goio_buf_append(&out, "]", 1), "append");
        });
        bench_line("json_encode_prices", ns, anchor_ns("json_encode_prices", m),
                   "ns/op", false, "op=1000_doubles");
    }
    if (bench_selected(argc, argv, "json_decode_envelope")) {
        struct envelope e;
        struct item got;
        memset(&e, 0, sizeof e);
        memset(&got, 0, sizeof got);
        double ns = TIME_NS(n, {
            check(goio_type_json_decode(&envelope_type, NULL, env_json.data,
                                        env_json.len, &e),
                  "envelope");
            check(goio_type_json_decode(&item_type, NULL, e.value.data,
                                        e.value.len, &got),
                  "value");
        });
        goio_type_value_deinit(&item_type, &got);
        goio_type_value_deinit(&envelope_type, &e);
        bench_line("json_decode_envelope", ns,
                   anchor_ns("json_decode_envelope", n), "ns/op", false, NULL);
    }
    goio_buf_deinit(&item_json);
    goio_buf_deinit(&env_json);
    goio_buf_deinit(&out);
    return 0;
}
