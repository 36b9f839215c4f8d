/* SPDX-License-Identifier: MIT */
/*
 * goio's caches in go-io wire mode against go-io itself (the Go program
 * tests/interop/go/goio_wire_peer, built from ../shared/peers), both on
 * one real redis-server and namespace "catalog": Go writes -> C reads
 * (plain, typed, stale, hybrid, stale over hybrid), C writes -> Go reads,
 * Go's expired stale entry served stale by C, values Go cannot decode
 * never written, formats mixed in one namespace read as a miss, and
 * pub/sub both ways plus go-io's bare-key invalidations.
 */
#include "test_proc.h"
#include "test_redis.h"
#include "test_util.h"

#include <goio/cache.h>
#include <goio/pubsub.h>
#include <goio/redis.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MINUTE (60 * 1000)
#define HOUR   (60 * MINUTE)

/* Go: type Item struct { ID int64 `json:"id"`; Name string `json:"name"`;
 * Price float64 `json:"price"` } */
struct witem {
    int64_t id;
    char *name;
    double price;
};
static const goio_type_json_field witem_fields[] = {
    {"id", offsetof(struct witem, id), &goio_type_int64, 0, 0},
    {"name", offsetof(struct witem, name), &goio_type_string, 0, 0},
    {"price", offsetof(struct witem, price), &goio_type_double, 0, 0},
};
static const goio_type_json_struct witem_desc = {witem_fields, 3};
static GOIO_TYPE_JSON_STRUCT(witem_type, struct witem, witem_desc);

#define ITEM_JSON                                                              \
    "{\"id\":1,\"name\":\"lamp \\u003c\\u0026\\u003e\",\"price\":9.5}"

static goio_test_redis srv;
static char peer[4096];

/* the C side: every layer in go-io wire mode, and one in goio's own */
static goio_redis *rw, *rb;
static goio_cache *redis_w, *stale_w, *hybrid_w, *sh_w, *sh_hybrid, *stale_b;

static _Atomic int bad_envelopes;

static void count_sink(const goio_log_record *r, void *data)
{
    (void)data;
    if (r->code && !strcmp(r->code, "bad_cache_envelope"))
        atomic_fetch_add(&bad_envelopes, 1);
}

static goio_redis *redis_new(goio_cache_wire wire)
{
    goio_redis_config cfg;
    goio_redis_config_init(&cfg);
    cfg.endpoint = srv.endpoint;
    cfg.key_namespace = "catalog";
    cfg.wire = wire;
    goio_redis *r = NULL;
    assert_ok(goio_redis_new(&cfg, &r));
    return r;
}

static goio_cache *hybrid_new(void)
{
    goio_cache *mem = NULL, *h = NULL;
    assert_ok(goio_cache_memory_new(NULL, &mem));
    assert_ok(goio_cache_hybrid_new_wire(mem, redis_w, false,
                                         GOIO_CACHE_WIRE_GO_IO, &h));
    return h;
}

static void hybrid_free(goio_cache *h)
{
    if (!h)
        return;
    goio_cache *local = goio_cache_hybrid_local(h);
    goio_cache_free(h);
    goio_cache_free(local);
}

static int setup(void **state)
{
    (void)state;
    if (goio_test_redis_start(&srv, NULL))
        return -1;
    rw = redis_new(GOIO_CACHE_WIRE_GO_IO);
    rb = redis_new(GOIO_CACHE_WIRE_GOIO);
    redis_w = goio_redis_cache(rw);
    assert_ok(goio_cache_stale_new_wire(redis_w, HOUR, false,
                                        GOIO_CACHE_WIRE_GO_IO, &stale_w));
    hybrid_w = hybrid_new();
    sh_hybrid = hybrid_new();
    assert_ok(goio_cache_stale_new_wire(sh_hybrid, HOUR, false,
                                        GOIO_CACHE_WIRE_GO_IO, &sh_w));
    assert_ok(
        goio_cache_stale_new(goio_redis_cache(rb), HOUR, false, &stale_b));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    goio_cache_free(stale_b);
    goio_cache_free(stale_w);
    hybrid_free(hybrid_w);
    goio_cache_free(sh_w);
    hybrid_free(sh_hybrid);
    goio_redis_free(rw);
    goio_redis_free(rb);
    goio_test_redis_stop(&srv);
    return 0;
}

static char *run_peer(const char *args)
{
    int status = -1;
    char *out = goio_test_capture(&status, "timeout 60 %s %s", peer, args);
    assert_non_null(out);
    if (status != 0)
        printf("peer %s: status %d: %s\n", args, status, out);
    assert_int_equal(status, 0);
    return out;
}

static char *cli(const char *cmd)
{
    char *out = goio_test_redis_cli(&srv, "%s", cmd);
    assert_non_null(out);
    return out;
}

static void assert_item(const struct witem *it, int64_t id, const char *name,
                        double price)
{
    assert_int_equal(it->id, id);
    assert_non_null(it->name);
    assert_string_equal(it->name, name);
    assert_true(it->price == price);
}

static void item_free(struct witem *it)
{
    goio_type_value_deinit(&witem_type, it);
}

static void read_item(goio_cache *c, const char *key)
{
    struct witem it = {0};
    bool hit = false;
    assert_ok(goio_cache_get_typed(c, NULL, key, &witem_type, &it, &hit));
    assert_true(hit);
    assert_item(&it, 1, "lamp <&>", 9.5);
    item_free(&it);
}

static void go_writes_c_reads(void **state)
{
    (void)state;
    char buf[128];
    snprintf(buf, sizeof buf, "write %s", srv.endpoint);
    char *out = run_peer(buf);
    assert_string_equal(out, "ok\n");
    goio_free(out);

    bool hit = false;
    /* plain values: JSON, []byte raw */
    char *s = NULL;
    assert_ok(goio_cache_get_typed(redis_w, NULL, "plain", &goio_type_string,
                                   &s, &hit));
    assert_true(hit);
    assert_string_equal(s, "hello");
    goio_free(s);
    goio_bytes raw = {0};
    assert_ok(goio_cache_get_typed(redis_w, NULL, "raw", &goio_type_bytes, &raw,
                                   &hit));
    assert_true(hit);
    assert_int_equal(raw.len, 3);
    assert_memory_equal(raw.data, "\x00\x01\xff", 3);
    goio_type_value_deinit(&goio_type_bytes, &raw);
    int64_t n = 0;
    assert_ok(
        goio_cache_get_typed(redis_w, NULL, "num", &goio_type_int64, &n, &hit));
    assert_true(hit);
    assert_int_equal(n, 42);
    read_item(redis_w, "typed");
    /* envelopes: stale, hybrid, stale over hybrid */
    read_item(stale_w, "stale");
    read_item(hybrid_w, "hybrid");
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_cache_get(goio_cache_hybrid_local(hybrid_w), NULL, "hybrid",
                             &b, &hit));
    assert_true(hit); /* kept locally, as go-io's JSON text */
    assert_int_equal(b.len, strlen(ITEM_JSON));
    assert_memory_equal(b.data, ITEM_JSON, b.len);
    read_item(sh_w, "stale-hybrid");
    /* a plain string is no envelope: a logged miss, never misread */
    int before = atomic_load(&bad_envelopes);
    assert_ok(goio_cache_get(stale_w, NULL, "plain", &b, &hit));
    assert_false(hit);
    assert_int_equal(atomic_load(&bad_envelopes), before + 1);
    /* and a string is not an Item */
    struct witem it = {0};
    assert_int_equal(
        goio_cache_get_typed(redis_w, NULL, "plain", &witem_type, &it, &hit),
        GOIO_ETYPE);
    assert_false(hit);
    /* goio's own format in the same namespace sees go-io's as a miss */
    before = atomic_load(&bad_envelopes);
    assert_ok(goio_cache_get(stale_b, NULL, "stale", &b, &hit));
    assert_false(hit);
    assert_int_equal(atomic_load(&bad_envelopes), before + 1);
    goio_buf_deinit(&b);
}

static int origin_down(goio_ctx *ctx, const char *key, void *value, void *data)
{
    (void)ctx;
    (void)key;
    (void)value;
    atomic_fetch_add((_Atomic int *)data, 1);
    return GOIO_ECONNREFUSED;
}

static bool expiring_is_stale(void *arg)
{
    (void)arg;
    struct witem it = {0};
    bool hit = true;
    int rc =
        goio_cache_get_typed(stale_w, NULL, "expiring", &witem_type, &it, &hit);
    item_free(&it);
    return rc == 0 && !hit;
}

static void go_stale_entry_served_stale_by_c(void **state)
{
    (void)state;
    /* go_writes_c_reads wrote "expiring" fresh for 1 s */
    assert_true(goio_test_wait_until(expiring_is_stale, NULL, 5000));
    struct witem it = {0};
    goio_cache_source src = GOIO_CACHE_HIT;
    _Atomic int calls = 0;
    assert_ok(goio_cache_get_or_set_typed(stale_w, NULL, "expiring", MINUTE,
                                          &witem_type, origin_down, &calls, &it,
                                          &src));
    assert_int_equal(src, GOIO_CACHE_STALE);
    assert_int_equal(atomic_load(&calls), 1);
    assert_item(&it, 1, "lamp <&>", 9.5);
    item_free(&it);
    /* the same through stale(hybrid) */
    it = (struct witem){0};
    assert_ok(goio_cache_set_typed(sh_w, NULL, "sh-expiring", &witem_type,
                                   &(struct witem){1, "lamp <&>", 9.5}, 0));
    assert_ok(goio_cache_get_or_set_typed(sh_w, NULL, "sh-expiring", MINUTE,
                                          &witem_type, origin_down, &calls, &it,
                                          &src));
    assert_int_equal(src, GOIO_CACHE_STALE);
    assert_item(&it, 1, "lamp <&>", 9.5);
    item_free(&it);
}

/* The key was SET with EX secs just now: PTTL in (secs - 5 s, secs], > 0
 * (SET ... PX with the ms would leave more than secs for c:frac). */
static void assert_pttl(const char *key, long long secs)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "PTTL catalog:%s", key);
    char *v = cli(cmd);
    long long ms = strtoll(v, NULL, 10);
    long long low = secs > 5 ? secs * 1000 - 5000 : 0;
    if (ms > secs * 1000 || ms <= low)
        printf("PTTL %s = %lld, want (%lld, %lld]\n", key, ms, low,
               secs * 1000);
    assert_true(ms <= secs * 1000 && ms > low);
    goio_free(v);
}

/* The part of an envelope after "FreshUntil":"<time>" */
static const char *after_time(const char *s)
{
    const char *p = strstr(s, "\",\"Value\":");
    return p ? p + 10 : "";
}

static void c_writes_go_reads(void **state)
{
    (void)state;
    struct witem it = {1, "lamp <&>", 9.5};
    const char *hello = "hello";
    assert_ok(goio_cache_set_typed(redis_w, NULL, "c:plain", &goio_type_string,
                                   &hello, MINUTE));
    assert_ok(
        goio_cache_set(redis_w, NULL, "c:raw", "\x00\x01\xff", 3, MINUTE));
    assert_ok(goio_cache_set_typed(redis_w, NULL, "c:typed", &witem_type, &it,
                                   MINUTE));
    assert_ok(goio_cache_set_typed(stale_w, NULL, "c:stale", &witem_type, &it,
                                   MINUTE));
    goio_bytes raw = {(uint8_t *)"\x00\x01\xff", 3};
    assert_ok(goio_cache_set_typed(stale_w, NULL, "c:stale-bytes",
                                   &goio_type_bytes, &raw, MINUTE));
    assert_ok(goio_cache_set_typed(hybrid_w, NULL, "c:hybrid", &witem_type, &it,
                                   MINUTE));
    assert_ok(goio_cache_set_typed(sh_w, NULL, "c:stale-hybrid", &witem_type,
                                   &it, MINUTE));
    assert_ok(
        goio_cache_set_typed(stale_w, NULL, "c:expired", &witem_type, &it, 0));

    /* the bytes and TTLs go-io would have written */
    char *v = cli("GET catalog:c:plain");
    assert_string_equal(v, "\"hello\"\n");
    goio_free(v);
    v = cli("GET catalog:c:typed");
    assert_string_equal(v, ITEM_JSON "\n");
    goio_free(v);
    assert_pttl("c:typed", 60);
    assert_pttl("c:stale", 3600); /* the stale TTL, as go-io */
    assert_pttl("c:hybrid", 60);
    /* whole seconds (truncated as Go's int(d.Seconds())), at least 1, at
     * most go-io's 12 h */
    assert_ok(goio_cache_set(redis_w, NULL, "c:frac", "1", 1, 1999));
    assert_pttl("c:frac", 1);
    assert_ok(goio_cache_set(redis_w, NULL, "c:short", "1", 1, 500));
    assert_pttl("c:short", 1);
    assert_ok(goio_cache_set(redis_w, NULL, "c:long", "1", 1, 24 * HOUR));
    assert_pttl("c:long", 43200);
    v = cli("GET catalog:c:stale");
    assert_true(!strncmp(v, "{\"FreshUntil\":\"20", 17));
    assert_string_equal(after_time(v), ITEM_JSON "}\n");
    goio_free(v);
    v = cli("GET catalog:c:stale-hybrid");
    assert_true(!strncmp(v, "{\"FreshUntil\":\"20", 17));
    assert_true(!strncmp(after_time(v), "{\"FreshUntil\":\"20", 17));
    assert_string_equal(after_time(after_time(v)), ITEM_JSON "}}\n");
    goio_free(v);

    char buf[128];
    snprintf(buf, sizeof buf, "read %s", srv.endpoint);
    char *out = run_peer(buf);
    printf("%s", out);
    assert_string_equal(out, "plain 1 \"hello\"\n"
                             "raw 1 0001ff\n"
                             "typed 1 " ITEM_JSON "\n"
                             "stale 1 " ITEM_JSON "\n"
                             "stale-bytes 1 0001ff\n"
                             "hybrid 1 " ITEM_JSON "\n"
                             "stale-hybrid 1 " ITEM_JSON "\n"
                             "expired-get 0 " ITEM_JSON "\n"
                             "expired-stale 1 " ITEM_JSON "\n");
    goio_free(out);
}

static bool key_exists(const char *key)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "EXISTS catalog:%s", key);
    char *v = cli(cmd);
    bool yes = strcmp(v, "0\n") != 0;
    goio_free(v);
    return yes;
}

static void c_never_writes_what_go_cannot_decode(void **state)
{
    (void)state;
    /* wire-mode envelopes carry JSON only */
    assert_int_equal(
        goio_cache_set(stale_w, NULL, "bad1", "not json", 8, MINUTE),
        GOIO_EINVAL);
    assert_int_equal(
        goio_cache_set(hybrid_w, NULL, "bad2", "{\"a\":", 5, MINUTE),
        GOIO_EINVAL);
    assert_int_equal(goio_cache_set(sh_w, NULL, "bad3", "1 2", 3, MINUTE),
                     GOIO_EINVAL);
    assert_int_equal(goio_cache_set(stale_w, NULL, "bad4", "", 0, MINUTE),
                     GOIO_EINVAL);
    /* Go refuses NaN; goio does not write it */
    double nan = 0.0 / 0.0;
    assert_int_equal(goio_cache_set_typed(redis_w, NULL, "bad5",
                                          &goio_type_double, &nan, MINUTE),
                     GOIO_ERANGE);
    assert_int_equal(goio_cache_set_typed(stale_w, NULL, "bad6",
                                          &goio_type_double, &nan, MINUTE),
                     GOIO_ERANGE);
    bool hit = true;
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_cache_get(goio_cache_hybrid_local(hybrid_w), NULL, "bad2",
                             &b, &hit));
    assert_false(hit);
    goio_buf_deinit(&b);
    const char *keys[] = {"bad1", "bad2", "bad3", "bad4", "bad5", "bad6"};
    for (size_t i = 0; i < 6; i++)
        assert_false(key_exists(keys[i]));
    /* valid JSON is stored compacted, as Go marshals it */
    const char *spaced = " { \"a\" : [1, 2] } ";
    assert_ok(goio_cache_set(stale_w, NULL, "spaced", spaced, strlen(spaced),
                             MINUTE));
    char *v = cli("GET catalog:spaced");
    assert_string_equal(after_time(v), "{\"a\":[1,2]}}\n");
    goio_free(v);
}

static int fetch_item(goio_ctx *ctx, const char *key, void *value, void *data)
{
    (void)ctx;
    (void)key;
    (void)data;
    struct witem *it = value;
    it->id = 1;
    it->price = 9.5;
    it->name = goio_strdup("lamp <&>");
    return it->name ? 0 : GOIO_ENOMEM;
}

static void formats_mixed_are_a_miss(void **state)
{
    (void)state;
    /* goio's binary envelope read by a wire-mode layer, and back */
    assert_ok(goio_cache_set(stale_b, NULL, "mixed-b", "v", 1, MINUTE));
    struct witem it = {1, "lamp <&>", 9.5};
    assert_ok(goio_cache_set_typed(stale_w, NULL, "mixed-w", &witem_type, &it,
                                   MINUTE));
    goio_buf b = GOIO_BUF_INIT;
    bool hit = true;
    int before = atomic_load(&bad_envelopes);
    assert_ok(goio_cache_get(stale_w, NULL, "mixed-b", &b, &hit));
    assert_false(hit);
    assert_ok(goio_cache_get(hybrid_w, NULL, "mixed-b", &b, &hit));
    assert_false(hit);
    assert_ok(goio_cache_get(stale_b, NULL, "mixed-w", &b, &hit));
    assert_false(hit);
    assert_int_equal(atomic_load(&bad_envelopes), before + 3);
    /* a get_or_set over the foreign bytes fetches and overwrites them */
    struct witem got = {0};
    goio_cache_source src = GOIO_CACHE_HIT;
    assert_ok(goio_cache_get_or_set_typed(stale_w, NULL, "mixed-b", MINUTE,
                                          &witem_type, fetch_item, NULL, &got,
                                          &src));
    assert_int_equal(src, GOIO_CACHE_FETCHED);
    assert_item(&got, 1, "lamp <&>", 9.5);
    item_free(&got);
    char *v = cli("GET catalog:mixed-b");
    assert_string_equal(after_time(v), ITEM_JSON "}\n");
    goio_free(v);
    goio_buf_deinit(&b);
}

/* ---- pub/sub --------------------------------------------------------------
 */

static goio_pubsub *ps_new(void)
{
    goio_pubsub *ps = NULL;
    assert_ok(goio_pubsub_new(rw, NULL, &ps));
    return ps;
}

static void go_publishes_c_receives(void **state)
{
    (void)state;
    goio_pubsub *ps = ps_new();
    const char *pat = "orders.*";
    goio_pubsub_sub *sub = NULL;
    assert_ok(goio_pubsub_psubscribe(ps, &pat, 1, NULL, &sub));
    goio_ctx *ctx = NULL;
    assert_ok(goio_ctx_new_with_timeout(NULL, 10000, &ctx));
    assert_ok(goio_pubsub_wait_subscribed(sub, ctx));
    char buf[256];
    snprintf(buf, sizeof buf, "publish %s orders.7 shipped", srv.endpoint);
    char *out = run_peer(buf);
    goio_free(out);
    const goio_pubsub_msg *m = NULL;
    assert_ok(goio_pubsub_receive(sub, ctx, &m));
    assert_string_equal(m->channel, "orders.7");
    assert_string_equal(m->pattern, "orders.*");
    assert_int_equal(m->len, 7);
    assert_memory_equal(m->data, "shipped", 7);
    goio_pubsub_msg_unref(m);
    goio_ctx_unref(ctx);
    goio_pubsub_unsubscribe(sub);
    goio_pubsub_free(ps);
}

/* Whether the Go peer's log holds `line` (the peer prints "ready" once its
 * own probe message came back: Redis has its subscription). */
static bool log_has(const char *path, const char *line)
{
    size_t len = 0;
    uint8_t *got = goio_test_read_file(path, &len);
    bool yes = false;
    size_t n = strlen(line);
    for (size_t i = 0; got && !yes && i + n <= len; i++)
        yes = (i == 0 || got[i - 1] == '\n') && !memcmp(got + i, line, n) &&
              (i + n == len || got[i + n] == '\n');
    goio_free(got);
    return yes;
}

/* The Go peer's whole log, once it has exited (within 10 s). */
static char *peer_log(pid_t pid, const char *path)
{
    assert_true(GOIO_WAIT_UNTIL(goio_test_proc_exited(pid), 10000));
    size_t len = 0;
    uint8_t *got = goio_test_read_file(path, &len);
    assert_non_null(got);
    char *s = goio_malloc(len + 1);
    assert_non_null(s);
    memcpy(s, got, len);
    s[len] = 0;
    goio_free(got);
    return s;
}

static void c_publishes_go_receives(void **state)
{
    (void)state;
    char *dir = goio_test_mkdtemp("wire_go");
    char log[4096];
    snprintf(log, sizeof log, "%s/sub.log", dir);
    char *argv[] = {peer, "subscribe", srv.endpoint, "events.*", "1", NULL};
    pid_t pid = goio_test_spawn(argv, log);
    assert_true(pid > 0);
    assert_true(GOIO_WAIT_UNTIL(log_has(log, "ready"), 10000));
    goio_pubsub *ps = ps_new();
    int64_t receivers = 0;
    assert_ok(
        goio_pubsub_publish(ps, NULL, "events.1", "created", 7, &receivers));
    assert_int_equal(receivers, 1);
    char *got = peer_log(pid, log);
    assert_string_equal(got, "ready\nmsg created\n");
    goio_free(got);
    goio_pubsub_free(ps);
    goio_test_rm_rf(dir);
    goio_free(dir);
}

static bool reads_name(goio_cache *c, const char *key, const char *name)
{
    struct witem it = {0};
    bool hit = false;
    int rc = goio_cache_get_typed(c, NULL, key, &witem_type, &it, &hit);
    bool yes = rc == 0 && hit && it.name && !strcmp(it.name, name);
    item_free(&it);
    return yes;
}

static goio_cache *coherent_new(goio_pubsub *ps, goio_cache *h,
                                goio_pubsub_inv_format format)
{
    goio_pubsub_coherent_config cc;
    goio_pubsub_coherent_config_init(&cc);
    cc.format = format;
    goio_cache *coh = NULL;
    assert_ok(goio_pubsub_coherent_new(ps, h, &cc, &coh));
    goio_pubsub_coherent_stats st;
    assert_true(GOIO_WAIT_UNTIL(
        goio_pubsub_coherent_stats_get(coh, &st) == 0 && st.live, 10000));
    return coh;
}

static goio_pubsub_coherent_stats coh_stats(goio_cache *coh)
{
    goio_pubsub_coherent_stats st;
    assert_ok(goio_pubsub_coherent_stats_get(coh, &st));
    return st;
}

/* A go-io service whose Hybrid keeps a local copy, listening on goio's
 * channel and dropping the key each message names: goio's coherent wrapper
 * over a wire-mode hybrid publishes the bare key, so the Go service drops
 * its copy and reads what C wrote. */
static void c_invalidates_go_drops_its_copy(void **state)
{
    (void)state;
    goio_pubsub *ps = ps_new();
    goio_cache *h = hybrid_new();
    /* the default (AUTO) over a go-io wire hybrid: bare keys */
    goio_cache *coh = coherent_new(ps, h, GOIO_PUBSUB_INV_AUTO);
    struct witem it = {2, "old", 1};
    assert_ok(
        goio_cache_set_typed(coh, NULL, "inv:2", &witem_type, &it, MINUTE));
    char *dir = goio_test_mkdtemp("wire_go");
    char log[4096];
    snprintf(log, sizeof log, "%s/coh.log", dir);
    char *argv[] = {peer, "coherent", srv.endpoint, "inv:2", "1", NULL};
    pid_t pid = goio_test_spawn(argv, log);
    assert_true(pid > 0);
    /* Go has read "old" into its local layer and listens */
    assert_true(GOIO_WAIT_UNTIL(log_has(log, "ready"), 10000));
    it.name = "new";
    assert_ok(
        goio_cache_set_typed(coh, NULL, "inv:2", &witem_type, &it, MINUTE));
    char *got = peer_log(pid, log);
    assert_string_equal(got, "read old\nready\ninv inv:2\nread new\n");
    goio_free(got);
    /* both messages were the wrapper's own: skipped, its copy kept */
    assert_true(GOIO_WAIT_UNTIL(coh_stats(coh).own_skipped == 2, 5000));
    assert_int_equal(coh_stats(coh).invalidations, 0);
    assert_true(reads_name(coh, "inv:2", "new"));
    goio_cache_free(coh);
    hybrid_free(h);
    goio_pubsub_free(ps);
    goio_test_rm_rf(dir);
    goio_free(dir);
}

/* goio's own format, chosen explicitly: the key, a NUL and the sender's
 * 16-hex-digit id (a go-io consumer would have to cut at the NUL). */
static void goio_format_carries_the_sender(void **state)
{
    (void)state;
    char *dir = goio_test_mkdtemp("wire_go");
    char log[4096];
    snprintf(log, sizeof log, "%s/inv.log", dir);
    char *argv[] = {peer, "subscribe", srv.endpoint, "goio:cache:invalidate",
                    "1",  NULL};
    pid_t pid = goio_test_spawn(argv, log);
    assert_true(pid > 0);
    assert_true(GOIO_WAIT_UNTIL(log_has(log, "ready"), 10000));
    goio_pubsub *ps = ps_new();
    goio_cache *h = hybrid_new();
    goio_cache *coh = coherent_new(ps, h, GOIO_PUBSUB_INV_GOIO);
    struct witem it = {3, "new", 1};
    assert_ok(
        goio_cache_set_typed(coh, NULL, "inv:3", &witem_type, &it, MINUTE));
    assert_true(GOIO_WAIT_UNTIL(goio_test_proc_exited(pid), 10000));
    size_t len = 0;
    uint8_t *got = goio_test_read_file(log, &len);
    assert_non_null(got);
    /* "ready\n", "msg ", "inv:3", NUL, 16 hex digits, "\n" */
    assert_int_equal(len, 6 + 4 + 5 + 1 + 16 + 1);
    assert_memory_equal(got, "ready\nmsg inv:3\0", 16);
    for (size_t i = 16; i < 32; i++)
        assert_true(got[i] && strchr("0123456789abcdef", got[i]));
    assert_int_equal(got[32], '\n');
    goio_free(got);
    goio_cache_free(coh);
    hybrid_free(h);
    goio_pubsub_free(ps);
    goio_test_rm_rf(dir);
    goio_free(dir);
}

static bool local_has(goio_cache *h, const char *key)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    int rc = goio_cache_get(goio_cache_hybrid_local(h), NULL, key, &b, &hit);
    goio_buf_deinit(&b);
    return rc == 0 && hit;
}

/* go-io's side publishes the bare key after writing through its Hybrid;
 * goio drops its local copy, in either publishing format (receiving takes
 * both), and its own messages never cost it its copy. */
static void takes_go_invalidations(goio_pubsub_inv_format format)
{
    goio_pubsub *ps = ps_new();
    goio_cache *h = hybrid_new();
    goio_cache *coh = coherent_new(ps, h, format);
    struct witem it = {1, "old", 1};
    assert_ok(
        goio_cache_set_typed(coh, NULL, "inv:1", &witem_type, &it, MINUTE));
    /* the wrapper takes its hybrid's wire: typed values are go-io's JSON */
    assert_int_equal(goio_cache_wire_get(coh), GOIO_CACHE_WIRE_GO_IO);
    const char *hello = "hello";
    assert_ok(goio_cache_set_typed(coh, NULL, "inv:s", &goio_type_string,
                                   &hello, MINUTE));
    char *v = cli("GET catalog:inv:s");
    assert_string_equal(after_time(v), "\"hello\"}\n");
    goio_free(v);
    /* its two messages came back and were recognised as its own */
    assert_true(GOIO_WAIT_UNTIL(coh_stats(coh).own_skipped == 2, 5000));
    assert_int_equal(coh_stats(coh).invalidations, 0);
    assert_true(local_has(h, "inv:1"));
    assert_true(reads_name(coh, "inv:1", "old"));
    char buf[256];
    snprintf(buf, sizeof buf, "invalidate %s inv:1 new", srv.endpoint);
    char *out = run_peer(buf);
    goio_free(out);
    assert_true(GOIO_WAIT_UNTIL(coh_stats(coh).invalidations == 1, 5000));
    assert_true(reads_name(coh, "inv:1", "new"));
    assert_int_equal(coh_stats(coh).own_skipped, 2);
    goio_cache_free(coh);
    hybrid_free(h);
    goio_pubsub_free(ps);
}

static void coherent_cache_takes_go_invalidations(void **state)
{
    (void)state;
    takes_go_invalidations(GOIO_PUBSUB_INV_AUTO); /* bare over go-io wire */
    takes_go_invalidations(GOIO_PUBSUB_INV_GOIO);
}

int main(void)
{
    const char *bin = getenv("GOIO_GO_PEER_BIN");
    const char *ci = getenv("CI");
    bool in_ci = ci && !strcmp(ci, "true");
    snprintf(peer, sizeof peer, "%s/goio_wire_peer", bin ? bin : "");
    if (!bin || access(peer, X_OK) != 0) {
        printf("interop.wire_go: %s: no Go peer at %s (interop.build_go_peer "
               "builds it; it needs golang-go and GOIO_PEERS_DIR)\n",
               in_ci ? "FAIL (CI)" : "SKIPPED",
               bin ? peer : "$GOIO_GO_PEER_BIN");
        return in_ci ? 1 : 77;
    }
    goio_log_set_sink(count_sink, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(go_writes_c_reads),
        cmocka_unit_test(go_stale_entry_served_stale_by_c),
        cmocka_unit_test(c_writes_go_reads),
        cmocka_unit_test(c_never_writes_what_go_cannot_decode),
        cmocka_unit_test(formats_mixed_are_a_miss),
        cmocka_unit_test(go_publishes_c_receives),
        cmocka_unit_test(c_publishes_go_receives),
        cmocka_unit_test(c_invalidates_go_drops_its_copy),
        cmocka_unit_test(goio_format_carries_the_sender),
        cmocka_unit_test(coherent_cache_takes_go_invalidations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
