/* SPDX-License-Identifier: MIT */
/*
 * One Redis namespace shared by go-io and goio: a Go program using go-io's
 * redis package and stale wrapper writes `catalog:*`, goio reads the raw
 * bytes with goio_redis_get and decodes them with reflext's JSON; then goio
 * writes JSON bytes with goio_redis_set and go-io reads them back. This
 * proves the wire format; the cache layers' go-io mode builds on it.
 */
#include "interop_item.h"
#include "test_redis.h"
#include "test_util.h"

#include <goio/redis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static goio_test_redis srv;
static goio_redis *rc;
static char peer[4096];

static int setup(void **state)
{
    (void)state;
    if (goio_test_redis_start(&srv, NULL))
        return -1;
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "catalog";
    return goio_redis_new(&cfg, &rc);
}

static int teardown(void **state)
{
    (void)state;
    goio_redis_free(rc);
    goio_test_redis_stop(&srv);
    return 0;
}

static char *hex(const char *s)
{
    size_t n = strlen(s);
    char *h = goio_malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        sprintf(h + 2 * i, "%02x", (uint8_t)s[i]);
    h[2 * n] = '\0';
    return h;
}

static char *encode(const goio_type *t, const void *v)
{
    goio_buf b;
    goio_buf_init(&b);
    assert_ok(goio_type_json_encode(t, v, &b));
    char *s = goio_strdup(goio_buf_cstr(&b));
    goio_buf_deinit(&b);
    return s;
}

static struct item sample(void)
{
    struct item it;
    memset(&it, 0, sizeof it);
    it.id = 1;
    it.name = "lamp <&>";
    it.price = 9.5;
    it.data = (goio_bytes){(uint8_t *)"\x00\xff", 2};
    it.has_child = true;
    it.child.x = 2;
    it.in.x = 3;
    it.when = (goio_type_json_time_value){1796655731, 714133700, 0};
    return it;
}

static int64_t ttl_ms(const char *key)
{
    char *out = goio_test_redis_cli(&srv, "PTTL %s", key);
    assert_non_null(out);
    int64_t ms = strtoll(out, NULL, 10);
    goio_free(out);
    return ms;
}

static void go_writes_goio_reads(void **state)
{
    (void)state;
    struct item it = sample();
    char *item_json = encode(&item_type, &it);
    char *h = hex(item_json);
    int64_t before = goio_now_wall_ns();
    int status;
    char *out = goio_test_capture(&status, "timeout 30 %s redis-write %s %s",
                                  peer, srv.endpoint, h);
    int64_t after = goio_now_wall_ns();
    assert_non_null(out);
    assert_string_equal(out, "ok\n");
    assert_int_equal(status, 0);
    goio_free(out);

    goio_buf b;
    goio_buf_init(&b);
    bool hit = false;
    /* a string: stored as JSON */
    assert_ok(goio_redis_get(rc, NULL, "plain", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "\"hello\"", 7);
    char *s = NULL;
    assert_ok(
        goio_type_json_decode(&goio_type_string, NULL, b.data, b.len, &s));
    assert_string_equal(s, "hello");
    goio_free(s);
    int64_t ttl = ttl_ms("catalog:plain");
    assert_true(ttl > 50000 && ttl <= 60000);
    /* []byte: stored raw */
    assert_ok(goio_redis_get(rc, NULL, "raw", &b, &hit));
    assert_true(hit);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "\x00\x01\xff", 3);
    /* the stale wrapper's envelope, kept for the stale TTL (1 h) */
    assert_ok(goio_redis_get(rc, NULL, "item:1", &b, &hit));
    assert_true(hit);
    printf("go-io stored catalog:item:1 = %.*s\n", (int)b.len, (char *)b.data);
    struct envelope env;
    memset(&env, 0, sizeof env);
    assert_ok(goio_type_json_decode(&envelope_type, NULL, b.data, b.len, &env));
    int64_t fresh = env.fresh_until.sec * 1000000000 + env.fresh_until.nsec;
    assert_true(fresh >= before + INT64_C(60000000000) &&
                fresh <= after + INT64_C(60000000000));
    struct item got;
    memset(&got, 0, sizeof got);
    assert_ok(goio_type_json_decode(&item_type, NULL, env.value.data,
                                    env.value.len, &got));
    char *again = encode(&item_type, &got);
    assert_string_equal(again, item_json);
    /* goio re-encodes go-io's envelope byte for byte */
    char *env_again = encode(&envelope_type, &env);
    assert_int_equal(strlen(env_again), b.len);
    assert_memory_equal(env_again, b.data, b.len);
    ttl = ttl_ms("catalog:item:1");
    assert_true(ttl > 3590000 && ttl <= 3600000);

    goio_free(env_again);
    goio_free(again);
    goio_type_value_deinit(&item_type, &got);
    goio_type_value_deinit(&envelope_type, &env);
    goio_buf_deinit(&b);
    goio_free(h);
    goio_free(item_json);
}

/* goio writes what go-io writes; go-io reads it (fresh, then expired). */
static void goio_writes_go_reads(void **state)
{
    (void)state;
    struct item it = sample();
    char *item_json = encode(&item_type, &it);
    char *plain = NULL, *hello = "hello";
    plain = encode(&goio_type_string, &hello);
    assert_ok(goio_redis_set(rc, NULL, "c:plain", plain, strlen(plain), 60000));
    assert_ok(goio_redis_set(rc, NULL, "c:raw", "\x00\x01\xff", 3, 60000));
    for (int fresh = 1; fresh >= 0; fresh--) {
        int64_t until =
            goio_now_wall_ns() + (fresh ? 1 : -1) * INT64_C(60000000000);
        struct envelope env = {
            {until / 1000000000, (int32_t)(until % 1000000000), 0},
            {(uint8_t *)item_json, strlen(item_json)}};
        char *e = encode(&envelope_type, &env);
        assert_ok(goio_redis_set(rc, NULL, "c:item", e, strlen(e), 3600000));
        goio_free(e);
        int status;
        char *out = goio_test_capture(&status, "timeout 30 %s redis-read %s",
                                      peer, srv.endpoint);
        assert_non_null(out);
        char want[2048];
        snprintf(want, sizeof want, "plain \"hello\"\nraw 0001ff\nitem %d %s\n",
                 fresh, item_json);
        assert_string_equal(out, want);
        assert_int_equal(status, 0);
        goio_free(out);
    }
    goio_free(plain);
    goio_free(item_json);
}

int main(void)
{
    const char *bin = getenv("GOIO_GO_PEER_BIN");
    const char *ci = getenv("CI");
    bool in_ci = ci && !strcmp(ci, "true");
    snprintf(peer, sizeof peer, "%s/goio_json_peer", bin ? bin : "");
    if (!bin || access(peer, X_OK) != 0) {
        printf("interop.redis_go: %s: no Go peer at %s (interop.build_go_peer "
               "builds it; it needs golang-go and GOIO_PEERS_DIR)\n",
               in_ci ? "FAIL (CI)" : "SKIPPED",
               bin ? peer : "$GOIO_GO_PEER_BIN");
        return in_ci ? 1 : 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(go_writes_goio_reads),
        cmocka_unit_test(goio_writes_go_reads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
