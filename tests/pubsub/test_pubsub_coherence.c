/* SPDX-License-Identifier: MIT */
/*
 * Coherent local caches against a real redis-server: two hybrid caches
 * (memory in front of Redis) in one process, each with its own Redis
 * handle and subscriber connection, plus plain writers (redis-cli, a raw
 * hiredis connection). A write anywhere must be seen by the next read
 * everywhere within BOUND_MS: explicit invalidations between goio
 * instances, server-assisted (CLIENT TRACKING BCAST) invalidations for
 * writes by any client (SET, MSET, DEL, FLUSHDB), the local layer dropped
 * after a reconnect, and convergence while a writer races readers.
 */
#include "pubsub_test.h"

/* The staleness bound the tests assert: an invalidation travels over
 * loopback in well under a millisecond; 1 s leaves room for sanitizers
 * on a busy machine. */
#define BOUND_MS 1000

typedef struct inst {
    goio_redis *r;
    goio_pubsub *ps;
    goio_cache *mem, *hyb, *coh;
    bool tracking, explicit;
} inst;

/* The message format inst_open gives the wrappers it opens. */
static goio_pubsub_inv_format open_format = GOIO_PUBSUB_INV_AUTO;

static goio_cache *slow_local_new(void);

static void inst_open_local(inst *i, const char *ns, bool tracking,
                            bool explicit, goio_cache *local);

static void inst_open(inst *i, const char *ns, bool tracking, bool explicit)
{
    goio_cache *mem;
    assert_ok(goio_cache_memory_new(NULL, &mem));
    inst_open_local(i, ns, tracking, explicit, mem);
}

static void inst_open_local(inst *i, const char *ns, bool tracking,
                            bool explicit, goio_cache *local)
{
    memset(i, 0, sizeof *i);
    i->tracking = tracking;
    i->explicit = explicit;
    goio_pubsub_config cfg;
    goio_pubsub_config_init(&cfg);
    cfg.client_tracking = tracking;
    cfg.ping_interval_ms = 200;
    cfg.pong_timeout_ms = 1000;
    cfg.reconnect_min_ms = 20;
    cfg.reconnect_max_ms = 200;
    pst_handle h;
    pst_open_cfg(&h, ns, &cfg);
    i->r = h.r;
    i->ps = h.ps;
    i->mem = local;
    assert_ok(
        goio_cache_hybrid_new(i->mem, goio_redis_cache(i->r), false, &i->hyb));
    goio_pubsub_coherent_config cc;
    goio_pubsub_coherent_config_init(&cc);
    cc.explicit_invalidation = explicit;
    cc.server_assisted = tracking;
    cc.format = open_format;
    assert_ok(goio_pubsub_coherent_new(i->ps, i->hyb, &cc, &i->coh));
}

static goio_pubsub_coherent_stats cstats(const inst *i)
{
    goio_pubsub_coherent_stats st;
    assert_ok(goio_pubsub_coherent_stats_get(i->coh, &st));
    return st;
}

static bool is_live(const inst *i)
{
    goio_pubsub_coherent_stats st;
    return goio_pubsub_coherent_stats_get(i->coh, &st) == 0 && st.live;
}

static void inst_close(inst *i)
{
    goio_cache_free(i->coh);
    goio_cache_free(i->hyb);
    goio_cache_free(i->mem);
    goio_pubsub_free(i->ps);
    goio_redis_free(i->r);
}

/* Whether a read through the coherent cache returns `want` (NULL: a
 * miss). */
static bool reads(const inst *i, const char *key, const char *want)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    int rc = goio_cache_get(i->coh, NULL, key, &b, &hit);
    bool ok = rc == 0 && (want ? hit && b.len == strlen(want) &&
                                     !memcmp(b.data, want, b.len)
                               : !hit);
    goio_buf_deinit(&b);
    return ok;
}

static bool local_has(const inst *i, const char *key)
{
    goio_buf b = GOIO_BUF_INIT;
    bool hit = false;
    goio_cache_get(i->mem, NULL, key, &b, &hit);
    goio_buf_deinit(&b);
    return hit;
}

/* Reads until every instance returns `want`, bounded; the time it took
 * goes to the test log. */
static void all_see(inst *insts, int n, const char *key, const char *want)
{
    int64_t t0 = goio_now_mono_ns();
    for (int k = 0; k < n; k++) {
        if (!GOIO_WAIT_UNTIL(reads(&insts[k], key, want), BOUND_MS))
            fail_msg("instance %d did not see %s=%s within %d ms", k, key,
                     want ? want : "(miss)", BOUND_MS);
    }
    print_message("  %s=%s seen everywhere after %.3f ms\n", key,
                  want ? want : "(miss)",
                  (double)(goio_now_mono_ns() - t0) / 1e6);
}

/* A write through goio is reported to every other instance, and back to
 * the writer too when Redis reports it (tracking; a wrapper skips its own
 * explicit messages); a test that warms local layers next waits for those
 * reports first, or a late one would drop what it just warmed. */
typedef struct settle {
    uint64_t inv[2];
} settle;

/* How many reports instance k gets for one write through instance via. */
static uint64_t reports_for(const inst *insts, int k, int via)
{
    return (insts[k].tracking ? 1 : 0) +
           (insts[k].explicit && insts[via].explicit && k != via ? 1 : 0);
}

static settle before_write(inst *insts, int n)
{
    settle st = {{0, 0}};
    for (int k = 0; k < n; k++)
        st.inv[k] = cstats(&insts[k]).invalidations;
    return st;
}

/* Waits for the reports of `writes` writes through instance via. */
static void wait_reports(inst *insts, int n, settle st, int via,
                         uint64_t writes)
{
    for (int k = 0; k < n; k++) {
        uint64_t want = st.inv[k] + writes * reports_for(insts, k, via);
        assert_true(
            GOIO_WAIT_UNTIL(cstats(&insts[k]).invalidations >= want, BOUND_MS));
    }
}

/* Sets through one instance and waits for the reports. */
static void set_via(inst *insts, int n, int via, const char *key, const char *v)
{
    settle st = before_write(insts, n);
    assert_ok(goio_cache_set(insts[via].coh, NULL, key, v, strlen(v), 60000));
    wait_reports(insts, n, st, via, 1);
}

/* Warms both local layers with key's current value. */
static void warm(inst *insts, int n, const char *key, const char *want)
{
    for (int k = 0; k < n; k++) {
        assert_true(reads(&insts[k], key, want));
        assert_true(local_has(&insts[k], key));
    }
}

/* The bytes a goio hybrid stores in Redis for value `v` (fresh 60 s). */
static void envelope(goio_buf *out, const char *v)
{
    goio_buf_clear(out);
    assert_ok(goio_cache_envelope_encode(out, goio_now_wall_ms() + 60000, v,
                                         strlen(v)));
}

/* SET through redis-cli (a separate process), value from stdin so the
 * binary envelope travels unchanged. */
static void cli_set(const char *raw_key, const char *v)
{
    goio_buf env = GOIO_BUF_INIT;
    envelope(&env, v);
    char *dir = goio_test_mkdtemp("coh");
    char path[512];
    snprintf(path, sizeof path, "%s/v", dir);
    assert_int_equal(goio_test_write_file(path, env.data, env.len), 0);
    assert_int_equal(goio_test_system("redis-cli -p %d -x SET '%s' < '%s' "
                                      ">/dev/null",
                                      srv.port, raw_key, path),
                     0);
    goio_test_rm_rf(dir);
    goio_free(dir);
    goio_buf_deinit(&env);
}

static void cli(const char *args)
{
    assert_int_equal(
        goio_test_system("redis-cli -p %d %s >/dev/null", srv.port, args), 0);
}

/* ---- explicit ---- */

static void explicit_between(goio_pubsub_inv_format format)
{
    inst in[2];
    open_format = format;
    inst_open(&in[0], "exp", false, true);
    inst_open(&in[1], "exp", false, true);
    open_format = GOIO_PUBSUB_INV_AUTO;
    assert_true(GOIO_WAIT_UNTIL(is_live(&in[0]) && is_live(&in[1]), 5000));

    set_via(in, 2, 0, "k", "v1");
    all_see(in, 2, "k", "v1");
    warm(in, 2, "k", "v1");

    /* all_see: the next read after the write, polled until the bound. */
    assert_ok(goio_cache_set(in[0].coh, NULL, "k", "v2", 2, 60000));
    all_see(in, 2, "k", "v2");
    /* in[1] hears both sets; the writer recognises both messages as its
     * own and skips them, so its local copy stays. */
    wait_reports(in, 2, (settle){{0, 0}}, 0, 2);
    assert_true(GOIO_WAIT_UNTIL(cstats(&in[0]).own_skipped == 2, BOUND_MS));
    assert_int_equal(cstats(&in[0]).invalidations, 0);
    assert_true(local_has(&in[0], "k"));
    warm(in, 2, "k", "v2");

    assert_ok(goio_cache_del(in[1].coh, NULL, "k"));
    all_see(in, 2, "k", NULL);

    set_via(in, 2, 1, "a", "1");
    set_via(in, 2, 1, "b", "2");
    warm(in, 2, "a", "1");
    uint64_t flushes = cstats(&in[0]).flushes;
    assert_ok(goio_cache_clear(in[1].coh, NULL)); /* SCAN+UNLINK, then "" */
    assert_true(GOIO_WAIT_UNTIL(cstats(&in[0]).flushes > flushes, BOUND_MS));
    all_see(in, 2, "a", NULL);
    all_see(in, 2, "b", NULL);

    /* The limit of the explicit mechanism: a write that bypasses goio is
     * not reported, so the local copy stays (server_assisted covers it). */
    set_via(in, 2, 0, "k", "goio");
    warm(in, 2, "k", "goio");
    cli_set("exp:k", "cli");
    assert_true(reads(&in[1], "k", "goio"));

    inst_close(&in[0]);
    inst_close(&in[1]);
}

static void explicit_invalidation_between_goio_instances(void **state)
{
    (void)state;
    explicit_between(GOIO_PUBSUB_INV_GOIO); /* the default: AUTO over goio */
}

/* Bare keys (go-io's format): own messages are recognised by counting
 * what the wrapper published, not by an id in the message. */
static void bare_invalidation_between_goio_instances(void **state)
{
    (void)state;
    explicit_between(GOIO_PUBSUB_INV_BARE);
}

/* Two instances publishing bare keys write the same key at once, so
 * messages of the other arrive while one's own is in flight (it may be
 * skipped in place of one's own; one's own then drops the copy). After
 * each burst both must read what Redis holds within the bound: a message
 * skipped for good would leave a writer's old local copy for the TTL. */
typedef struct writer {
    inst *in;
    int id, n;
} writer;

static void *bare_writer(void *p)
{
    writer *w = p;
    for (int i = 0; i < w->n; i++) {
        char v[32];
        snprintf(v, sizeof v, "%d.%d", w->id, i);
        assert_ok(goio_cache_set(w->in->coh, NULL, "hot", v, strlen(v), 60000));
        bool hit;
        goio_buf b = GOIO_BUF_INIT;
        goio_cache_get(w->in->coh, NULL, "hot", &b, &hit); /* refill */
        goio_buf_deinit(&b);
    }
    return NULL;
}

static void bare_writers_racing_converge(void **state)
{
    (void)state;
    inst in[2];
    open_format = GOIO_PUBSUB_INV_BARE;
    inst_open(&in[0], "bw", false, true);
    inst_open(&in[1], "bw", false, true);
    open_format = GOIO_PUBSUB_INV_AUTO;
    assert_true(GOIO_WAIT_UNTIL(is_live(&in[0]) && is_live(&in[1]), 5000));
    goio_buf want = GOIO_BUF_INIT;
    for (int round = 0; round < 30; round++) {
        writer w[2] = {{&in[0], 0, 40}, {&in[1], 1, 40}};
        pthread_t t[2];
        for (int k = 0; k < 2; k++)
            assert_int_equal(pthread_create(&t[k], NULL, bare_writer, &w[k]),
                             0);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
        bool hit = false;
        assert_ok(
            goio_cache_hybrid_get_remote(in[0].hyb, NULL, "hot", &want, &hit));
        assert_true(hit);
        assert_ok(goio_buf_append(&want, "", 1)); /* a C string */
        for (int k = 0; k < 2; k++)
            if (!GOIO_WAIT_UNTIL(reads(&in[k], "hot", (char *)want.data),
                                 BOUND_MS))
                fail_msg("round %d: instance %d kept an old value of its "
                         "own (Redis has %s)",
                         round, k, (char *)want.data);
        goio_buf_clear(&want);
    }
    goio_buf_deinit(&want);
    print_message("  own skipped %llu/%llu, invalidations %llu/%llu\n",
                  (unsigned long long)cstats(&in[0]).own_skipped,
                  (unsigned long long)cstats(&in[1]).own_skipped,
                  (unsigned long long)cstats(&in[0]).invalidations,
                  (unsigned long long)cstats(&in[1]).invalidations);
    inst_close(&in[0]);
    inst_close(&in[1]);
}

/*
 * The corner case of bare keys, made to happen: another writer's message
 * for the key arrives while the wrapper's own message is in flight. The
 * loop thread is held in a callback; the remote layer's set lets another
 * client write a newer value and publish the bare key right after the
 * wrapper's SET, before the wrapper counts and publishes its own. Once the
 * loop runs again, the other's message is taken for the wrapper's own
 * (skipped), the wrapper's own one then counts as another's and drops the
 * copy: the wrapper reads the other's newer value.
 */
typedef struct hooked {
    goio_cache base;
    goio_cache *inner; /* the Redis cache, not owned */
    bool armed;
} hooked;

static int hk_get(goio_cache *c, goio_ctx *ctx, const char *k, goio_buf *out,
                  bool *hit)
{
    return goio_cache_get(((hooked *)c)->inner, ctx, k, out, hit);
}
static int hk_set(goio_cache *c, goio_ctx *ctx, const char *k, const void *v,
                  size_t n, int64_t ttl)
{
    hooked *h = (hooked *)c;
    int rc = goio_cache_set(h->inner, ctx, k, v, n, ttl);
    if (h->armed) { /* another writer, just after this SET */
        h->armed = false;
        goio_buf env = GOIO_BUF_INIT;
        envelope(&env, "theirs");
        redisContext *raw = pst_raw();
        redisReply *r =
            redisCommand(raw, "SET swap:%s %b", k, env.data, env.len);
        freeReplyObject(r);
        r = redisCommand(raw, "PUBLISH swap:goio:cache:invalidate %s", k);
        freeReplyObject(r);
        redisFree(raw);
        goio_buf_deinit(&env);
    }
    return rc;
}
static int hk_del(goio_cache *c, goio_ctx *ctx, const char *k)
{
    return goio_cache_del(((hooked *)c)->inner, ctx, k);
}
static int hk_clear(goio_cache *c, goio_ctx *ctx)
{
    return goio_cache_clear(((hooked *)c)->inner, ctx);
}
static void hk_destroy(goio_cache *c)
{
    goio_free(c);
}
static const goio_cache_ops hooked_ops = {.name = "hooked",
                                          .get = hk_get,
                                          .set = hk_set,
                                          .del = hk_del,
                                          .clear = hk_clear,
                                          .destroy = hk_destroy};

typedef struct hold {
    atomic_bool inside, release;
} hold;

static void holding_cb(goio_pubsub_sub *sub, const goio_pubsub_msg *msg,
                       void *data)
{
    (void)sub;
    (void)msg;
    hold *h = data;
    atomic_store(&h->inside, true);
    while (!atomic_load(&h->release))
        goio_test_sleep_ms(1);
}

static void bare_message_of_another_while_ours_is_in_flight(void **state)
{
    (void)state;
    pst_handle ph;
    pst_open(&ph, "swap");
    hooked *rem = goio_calloc(1, sizeof *rem);
    assert_non_null(rem);
    assert_ok(goio_cache_init(&rem->base, &hooked_ops));
    rem->inner = goio_redis_cache(ph.r);
    inst in = {.r = ph.r, .ps = ph.ps, .explicit = true};
    assert_ok(goio_cache_memory_new(NULL, &in.mem));
    assert_ok(goio_cache_hybrid_new(in.mem, &rem->base, false, &in.hyb));
    goio_pubsub_coherent_config cc;
    goio_pubsub_coherent_config_init(&cc);
    cc.format = GOIO_PUBSUB_INV_BARE;
    assert_ok(goio_pubsub_coherent_new(in.ps, in.hyb, &cc, &in.coh));
    hold hd = {0};
    const char *ch[] = {"hold"};
    goio_pubsub_sub_config o = {.callback = holding_cb, .data = &hd};
    goio_pubsub_sub *hs;
    assert_ok(goio_pubsub_subscribe(in.ps, ch, 1, &o, &hs));
    pst_wait_sub(hs, 5000);
    assert_true(GOIO_WAIT_UNTIL(is_live(&in), 5000));

    /* the loop thread is held: messages wait in the socket, in order */
    assert_int_equal(pst_publish_raw("swap:hold", "h", 1), 1);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&hd.inside), 5000));
    rem->armed = true;
    assert_ok(goio_cache_set(in.coh, NULL, "k", "mine", 4, 60000));
    assert_false(rem->armed);
    assert_true(local_has(&in, "k")); /* "mine", for now */
    atomic_store(&hd.release, true);

    /* theirs is skipped in place of ours, ours drops the copy */
    assert_true(GOIO_WAIT_UNTIL(cstats(&in).own_skipped == 1 &&
                                    cstats(&in).invalidations == 1,
                                BOUND_MS));
    assert_false(local_has(&in, "k"));
    assert_true(reads(&in, "k", "theirs"));

    assert_ok(goio_pubsub_unsubscribe(hs));
    goio_cache_free(in.coh);
    goio_cache_free(in.hyb);
    goio_cache_free(in.mem);
    goio_cache_free(&rem->base);
    pst_close(&ph);
}

/* ---- server-assisted ---- */

static void server_assisted_sees_writes_by_any_client(void **state)
{
    (void)state;
    inst in[2];
    inst_open(&in[0], "trk", true, false);
    inst_open(&in[1], "trk", true, false);
    assert_true(GOIO_WAIT_UNTIL(is_live(&in[0]) && is_live(&in[1]), 5000));

    /* The remote layer must be Redis in the same namespace. */
    goio_redis *other;
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = srv.endpoint;
    rc.key_namespace = "elsewhere";
    assert_ok(goio_redis_new(&rc, &other));
    goio_cache *m, *h, *c;
    assert_ok(goio_cache_memory_new(NULL, &m));
    assert_ok(goio_cache_hybrid_new(m, goio_redis_cache(other), false, &h));
    goio_pubsub_coherent_config cc;
    goio_pubsub_coherent_config_init(&cc);
    cc.server_assisted = true;
    assert_goio(GOIO_EINVAL, goio_pubsub_coherent_new(in[0].ps, h, &cc, &c));
    goio_cache_free(h);
    goio_cache_free(m);
    goio_redis_free(other);

    /* A goio write. */
    set_via(in, 2, 0, "k", "v1");
    all_see(in, 2, "k", "v1");
    warm(in, 2, "k", "v1");
    set_via(in, 2, 0, "k", "v2");
    all_see(in, 2, "k", "v2");
    warm(in, 2, "k", "v2");

    /* redis-cli, another process that knows nothing of goio. */
    cli_set("trk:k", "from-cli");
    all_see(in, 2, "k", "from-cli");
    assert_true(cstats(&in[0]).invalidations >= 1);
    assert_true(cstats(&in[1]).invalidations >= 1);
    warm(in, 2, "k", "from-cli");

    /* One MSET from a raw hiredis client: one message, both keys. */
    set_via(in, 2, 1, "m1", "a");
    set_via(in, 2, 1, "m2", "b");
    warm(in, 2, "m1", "a");
    warm(in, 2, "m2", "b");
    goio_buf e1 = GOIO_BUF_INIT, e2 = GOIO_BUF_INIT;
    envelope(&e1, "A");
    envelope(&e2, "B");
    redisContext *raw = pst_raw();
    redisReply *r = redisCommand(raw, "MSET trk:m1 %b trk:m2 %b", e1.data,
                                 e1.len, e2.data, e2.len);
    assert_non_null(r);
    freeReplyObject(r);
    all_see(in, 2, "m1", "A");
    all_see(in, 2, "m2", "B");
    goio_buf_deinit(&e1);
    goio_buf_deinit(&e2);

    /* DEL by redis-cli. */
    warm(in, 2, "k", "from-cli");
    cli("DEL trk:k");
    all_see(in, 2, "k", NULL);

    /* FLUSHDB: a null key list, everything local goes. */
    warm(in, 2, "m1", "A");
    uint64_t f0 = cstats(&in[0]).flushes, f1 = cstats(&in[1]).flushes;
    cli("FLUSHDB");
    assert_true(GOIO_WAIT_UNTIL(
        cstats(&in[0]).flushes > f0 && cstats(&in[1]).flushes > f1, BOUND_MS));
    all_see(in, 2, "m1", NULL);
    all_see(in, 2, "m2", NULL);

    /* Keys of other namespaces are not even sent (BCAST PREFIX): the
     * sentinel written after them is the only message. */
    redisFree(raw);
    uint64_t msgs = pst_stats(in[0].ps).messages;
    uint64_t inv = cstats(&in[0]).invalidations;
    cli("SET other:k x");
    cli("SET trk:sentinel x");
    /* the sentinel's drop is counted once its message was handled, so
     * any message before it has been counted too */
    assert_true(
        GOIO_WAIT_UNTIL(cstats(&in[0]).invalidations == inv + 1, BOUND_MS));
    assert_int_equal(pst_stats(in[0].ps).messages, msgs + 1);

    inst_close(&in[0]);
    inst_close(&in[1]);
}

/* ---- reconnects ---- */

static void a_reconnect_drops_the_local_layer(void **state)
{
    (void)state;
    pst_logs_capture();
    inst in[2];
    inst_open(&in[0], "gap", true, false); /* server-assisted */
    inst_open(&in[1], "gap", false, true); /* explicit */
    assert_true(GOIO_WAIT_UNTIL(is_live(&in[0]) && is_live(&in[1]), 5000));
    /* in[1] is explicit and in[0] not: only in[1] hears in[0]'s set. */
    set_via(in, 2, 1, "k", "old");
    warm(in, 2, "k", "old");
    uint64_t f0 = cstats(&in[0]).flushes, f1 = cstats(&in[1]).flushes;

    /* The server restarts empty (no persistence): invalidations for what
     * disappeared are never sent. */
    goio_test_redis_kill(&srv);
    assert_true(GOIO_WAIT_UNTIL(!is_live(&in[0]) && !is_live(&in[1]), 5000));
    /* Not live: reads go to Redis (which is down), never to the local
     * copy. */
    for (int k = 0; k < 2; k++) {
        goio_buf b = GOIO_BUF_INIT;
        bool hit = true;
        assert_true(goio_cache_get(in[k].coh, NULL, "k", &b, &hit) < 0);
        assert_false(hit);
        goio_buf_deinit(&b);
        assert_true(cstats(&in[k]).bypassed_reads >= 1);
    }
    assert_int_equal(goio_test_redis_restart(&srv), 0);
    assert_true(GOIO_WAIT_UNTIL(is_live(&in[0]) && is_live(&in[1]), 10000));
    assert_true(cstats(&in[0]).flushes > f0);
    assert_true(cstats(&in[1]).flushes > f1);
    assert_false(local_has(&in[0], "k"));
    assert_false(local_has(&in[1], "k"));
    /* Reads reach Redis again once the reconnect backoff the failed reads
     * started has passed (at most 2 s). */
    assert_true(GOIO_WAIT_UNTIL(reads(&in[0], "k", NULL), 2500));
    assert_true(GOIO_WAIT_UNTIL(reads(&in[1], "k", NULL), 2500));

    /* And the new connections invalidate as before. */
    set_via(in, 2, 1, "k", "new");
    warm(in, 2, "k", "new");
    cli_set("gap:k", "cli");
    assert_true(GOIO_WAIT_UNTIL(reads(&in[0], "k", "cli"), BOUND_MS));
    inst_close(&in[0]);
    inst_close(&in[1]);
    pst_logs_restore();
}

/* ---- racing writers and readers ---- */

/*
 * A local layer whose set takes a millisecond: a memory cache behind a
 * delay. It only widens, on demand, the window a real one has for a few
 * microseconds: between a reader's remote read of the old value and its
 * local fill, the write and its invalidation go by.
 */
typedef struct slow_local {
    goio_cache base;
    goio_cache *mem;
} slow_local;

static goio_cache *inner(goio_cache *c)
{
    return ((slow_local *)c)->mem;
}
static int sl_get(goio_cache *c, goio_ctx *ctx, const char *k, goio_buf *out,
                  bool *hit)
{
    return goio_cache_get(inner(c), ctx, k, out, hit);
}
static int sl_set(goio_cache *c, goio_ctx *ctx, const char *k, const void *v,
                  size_t n, int64_t ttl)
{
    goio_test_sleep_ms(1);
    return goio_cache_set(inner(c), ctx, k, v, n, ttl);
}
static int sl_del(goio_cache *c, goio_ctx *ctx, const char *k)
{
    return goio_cache_del(inner(c), ctx, k);
}
static int sl_clear(goio_cache *c, goio_ctx *ctx)
{
    return goio_cache_clear(inner(c), ctx);
}
static void sl_destroy(goio_cache *c)
{
    goio_cache_free(inner(c));
    goio_free(c);
}
static const goio_cache_ops slow_ops = {.name = "slow",
                                        .get = sl_get,
                                        .set = sl_set,
                                        .del = sl_del,
                                        .clear = sl_clear,
                                        .destroy = sl_destroy};

static goio_cache *slow_local_new(void)
{
    slow_local *s = goio_calloc(1, sizeof *s);
    assert_non_null(s);
    assert_ok(goio_cache_memory_new(NULL, &s->mem));
    assert_ok(goio_cache_init(&s->base, &slow_ops));
    return &s->base;
}

typedef struct race {
    inst *in;
    atomic_bool stop;
} race;

static void *race_reader(void *p)
{
    race *r = p;
    goio_buf b = GOIO_BUF_INIT;
    while (!atomic_load(&r->stop)) {
        for (int k = 0; k < 2; k++) {
            bool hit;
            goio_cache_get(r->in[k].coh, NULL, "hot", &b, &hit);
        }
    }
    goio_buf_deinit(&b);
    return NULL;
}

/* Readers keep filling the local layers while a plain client rewrites the
 * key: fills of old values race the invalidations. After each burst of
 * writes every instance must converge on the last value within the bound
 * (a stale fill that slipped past its invalidation would stay for the
 * whole TTL). Without the sequence check in the coherent get this fails
 * within a few rounds. The rounds go on (at most 200) until both
 * instances dropped a racing fill (race_drops): a run where the race never
 * happened proves nothing. */
static void readers_racing_a_writer_converge(void **state)
{
    (void)state;
    inst in[2];
    inst_open_local(&in[0], "trk2", true, false, slow_local_new());
    inst_open_local(&in[1], "trk2", true, true, slow_local_new());
    assert_true(GOIO_WAIT_UNTIL(is_live(&in[0]) && is_live(&in[1]), 5000));
    race r = {.in = in};
    pthread_t readers[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, race_reader, &r), 0);
    redisContext *raw = pst_raw();
    goio_buf env = GOIO_BUF_INIT;
    int value = 0;
    int round;
    for (round = 0; round < 200 && (round < 20 || !cstats(&in[0]).race_drops ||
                                    !cstats(&in[1]).race_drops);
         round++) {
        for (int i = 0; i < 50; i++) {
            char v[16];
            snprintf(v, sizeof v, "%d", ++value);
            envelope(&env, v);
            redisReply *rep =
                redisCommand(raw, "SET trk2:hot %b", env.data, env.len);
            freeReplyObject(rep);
            if (i % 5 == 0)
                goio_test_sleep_ms(1); /* let readers fill in between */
        }
        char last[16];
        snprintf(last, sizeof last, "%d", value);
        for (int k = 0; k < 2; k++)
            if (!GOIO_WAIT_UNTIL(reads(&in[k], "hot", last), BOUND_MS))
                fail_msg("round %d: instance %d kept an old value", round, k);
    }
    goio_buf_deinit(&env);
    redisFree(raw);
    atomic_store(&r.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(readers[i], NULL);
    print_message("  invalidations %llu/%llu, race drops %llu/%llu in %d "
                  "rounds\n",
                  (unsigned long long)cstats(&in[0]).invalidations,
                  (unsigned long long)cstats(&in[1]).invalidations,
                  (unsigned long long)cstats(&in[0]).race_drops,
                  (unsigned long long)cstats(&in[1]).race_drops, round);
    assert_true(cstats(&in[0]).race_drops > 0);
    assert_true(cstats(&in[1]).race_drops > 0);
    inst_close(&in[0]);
    inst_close(&in[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(explicit_invalidation_between_goio_instances),
        cmocka_unit_test(bare_invalidation_between_goio_instances),
        cmocka_unit_test(bare_writers_racing_converge),
        cmocka_unit_test(bare_message_of_another_while_ours_is_in_flight),
        cmocka_unit_test(server_assisted_sees_writes_by_any_client),
        cmocka_unit_test(a_reconnect_drops_the_local_layer),
        cmocka_unit_test(readers_racing_a_writer_converge),
    };
    return cmocka_run_group_tests(tests, pst_setup, pst_teardown);
}
