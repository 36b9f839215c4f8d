/* SPDX-License-Identifier: MIT */
/*
 * Concurrency: subscriptions made and ended while a publisher floods the
 * pattern they match (callback data freed the moment unsubscribe returns,
 * so a late callback is a use-after-free for ASan and a race for TSan),
 * several receivers sharing one queue, subscribe/unsubscribe churn that
 * must leave Redis' subscriptions exactly matching the local ones, and
 * freeing the handle while callbacks run.
 */
#include "pubsub_test.h"
#include "test_observe.h"

#include <stdlib.h>

typedef struct flood {
    atomic_bool stop;
    atomic_long sent;
    const char *channel;
} flood;

/* Publishes pipelined batches on a raw connection until told to stop. */
static void *flood_thread(void *p)
{
    flood *f = p;
    redisContext *c = redisConnect("127.0.0.1", srv.port);
    while (c && !c->err && !atomic_load(&f->stop)) {
        for (int i = 0; i < 32; i++)
            redisAppendCommand(c, "PUBLISH %s %d", f->channel, i);
        for (int i = 0; i < 32; i++) {
            redisReply *r;
            if (redisGetReply(c, (void **)&r) != REDIS_OK)
                break;
            freeReplyObject(r);
        }
        atomic_fetch_add(&f->sent, 32);
    }
    if (c)
        redisFree(c);
    return NULL;
}

/* ---- unsubscribe racing delivery ---- */

/* raced: callbacks that ran while their subscription's unsubscribe was
 * under way - the interleaving this test is about. */
static atomic_long violations, callbacks, raced;

typedef struct cb_data {
    atomic_bool unsubscribing, dead;
    long seen;
} cb_data;

static void counting_cb(goio_pubsub_sub *s, const goio_pubsub_msg *m, void *p)
{
    (void)s;
    (void)m;
    cb_data *d = p;
    if (atomic_load(&d->dead))
        atomic_fetch_add(&violations, 1);
    else if (atomic_load(&d->unsubscribing))
        atomic_fetch_add(&raced, 1);
    d->seen++; /* plain write: TSan sees a late callback racing free */
    atomic_fetch_add(&callbacks, 1);
}

typedef struct worker {
    goio_pubsub *ps;
    int id;
    int rounds;
} worker;

static void *churn_worker(void *p)
{
    worker *w = p;
    const char *pats[] = {"race.*"}, *chans[] = {"race.x"};
    for (int i = 0; i < w->rounds; i++) {
        goio_pubsub_sub *s;
        if ((i + w->id) % 2 == 0) {
            cb_data *d = goio_calloc(1, sizeof *d);
            goio_pubsub_sub_config o = {.callback = counting_cb, .data = d};
            assert_ok(goio_pubsub_psubscribe(w->ps, pats, 1, &o, &s));
            if (i % 4 == 0)
                goio_test_sleep_ms(1); /* sometimes let messages come */
            atomic_store(&d->unsubscribing, true);
            assert_ok(goio_pubsub_unsubscribe(s));
            atomic_store(&d->dead, true);
            long seen = d->seen; /* no callback may still be writing */
            (void)seen;
            goio_free(d);
        } else {
            goio_pubsub_sub_config o = {.queue_capacity = 4};
            assert_ok(i % 3 ? goio_pubsub_psubscribe(w->ps, pats, 1, &o, &s)
                            : goio_pubsub_subscribe(w->ps, chans, 1, &o, &s));
            const goio_pubsub_msg *m;
            for (int k = 0; k < 3; k++)
                if (goio_pubsub_try_receive(s, &m) == 0)
                    goio_pubsub_msg_unref(m);
            assert_ok(goio_pubsub_unsubscribe(s)); /* queue may be full */
        }
    }
    return NULL;
}

static void unsubscribe_races_delivery(void **state)
{
    (void)state;
    pst_logs_capture(); /* full queues log */
    pst_handle h;
    pst_open(&h, "race");
    /* One long-lived subscriber so the flood is always being read. */
    const char *pats[] = {"race.*"};
    goio_pubsub_sub *anchor;
    goio_pubsub_sub_config big = {.queue_capacity = 1};
    assert_ok(goio_pubsub_psubscribe(h.ps, pats, 1, &big, &anchor));
    pst_wait_sub(anchor, 5000);

    /* Churn until a callback ran during its unsubscribe (bounded): a run
     * where the race never happened proves nothing. */
    int reps = 0;
    flood f = {.channel = "race:race.x"};
    do {
        atomic_store(&f.stop, false);
        pthread_t ft, wt[4];
        assert_int_equal(pthread_create(&ft, NULL, flood_thread, &f), 0);
        worker w[4];
        for (int i = 0; i < 4; i++) {
            w[i] = (worker){.ps = h.ps, .id = i, .rounds = 300};
            assert_int_equal(pthread_create(&wt[i], NULL, churn_worker, &w[i]),
                             0);
        }
        for (int i = 0; i < 4; i++)
            pthread_join(wt[i], NULL);
        atomic_store(&f.stop, true);
        pthread_join(ft, NULL);
        reps++;
    } while (atomic_load(&raced) == 0 && reps < 20);

    assert_int_equal(atomic_load(&violations), 0);
    print_message("  %ld published, %ld callbacks during churn, %ld during "
                  "their unsubscribe (%d runs)\n",
                  atomic_load(&f.sent), atomic_load(&callbacks),
                  atomic_load(&raced), reps);
    assert_true(atomic_load(&f.sent) > 0);
    assert_true(atomic_load(&raced) > 0);
    assert_int_equal(pst_stats(h.ps).subscriptions, 1);
    assert_ok(goio_pubsub_unsubscribe(anchor));
    pst_sync(h.ps, 5000);
    assert_int_equal(pst_numpat(), 0);
    assert_int_equal(pst_numsub("race:race.x"), 0);
    pst_close(&h);
    pst_logs_restore();
}

/* ---- receivers sharing a queue ---- */

enum { SHARED_MSGS = 2000 };

typedef struct shared {
    goio_pubsub_sub *sub;
    atomic_uchar seen[SHARED_MSGS];
    atomic_int got;
} shared;

static void *shared_receiver(void *p)
{
    shared *s = p;
    for (;;) {
        goio_ctx *ctx;
        assert_ok(goio_ctx_new_with_timeout(NULL, 200, &ctx));
        const goio_pubsub_msg *m;
        int rc = goio_pubsub_receive(s->sub, ctx, &m);
        goio_ctx_unref(ctx);
        if (rc == GOIO_ETIMEDOUT && atomic_load(&s->got) >= SHARED_MSGS)
            return NULL;
        if (rc == GOIO_ETIMEDOUT)
            continue;
        assert_ok(rc);
        int i = atoi((const char *)m->data);
        assert_true(i >= 0 && i < SHARED_MSGS);
        assert_int_equal(atomic_fetch_add(&s->seen[i], 1), 0);
        atomic_fetch_add(&s->got, 1);
        goio_pubsub_msg_unref(m);
    }
}

static void receivers_share_one_queue(void **state)
{
    (void)state;
    pst_handle h;
    pst_open(&h, "shq");
    static shared s;
    memset(&s, 0, sizeof s);
    const char *ch[] = {"c"};
    goio_pubsub_sub_config o = {.queue_capacity = SHARED_MSGS};
    assert_ok(goio_pubsub_subscribe(h.ps, ch, 1, &o, &s.sub));
    pst_wait_sub(s.sub, 5000);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, shared_receiver, &s), 0);
    redisContext *c = pst_raw();
    for (int i = 0; i < SHARED_MSGS; i++)
        redisAppendCommand(c, "PUBLISH shq:c %d", i);
    for (int i = 0; i < SHARED_MSGS; i++) {
        redisReply *r;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        freeReplyObject(r);
    }
    redisFree(c);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&s.got), SHARED_MSGS); /* each once */
    assert_int_equal(pst_sub_stats(s.sub).dropped, 0);
    assert_ok(goio_pubsub_unsubscribe(s.sub));
    pst_close(&h);
}

/* ---- churn keeps Redis in step ---- */

typedef struct churn {
    goio_pubsub *ps;
    unsigned seed;
} churn;

static void *random_churn(void *p)
{
    churn *c = p;
    static const char *names[] = {"a.*", "b.*", "c.*", "d", "e", "f.?"};
    goio_pubsub_sub *held[8] = {0};
    for (int i = 0; i < 400; i++) {
        int slot = rand_r(&c->seed) % 8;
        if (held[slot]) {
            assert_ok(goio_pubsub_unsubscribe(held[slot]));
            held[slot] = NULL;
        } else {
            const char *pick[2] = {names[rand_r(&c->seed) % 6],
                                   names[rand_r(&c->seed) % 6]};
            assert_ok(
                goio_pubsub_psubscribe(c->ps, pick, 2, NULL, &held[slot]));
        }
    }
    for (int i = 0; i < 8; i++)
        if (held[i])
            assert_ok(goio_pubsub_unsubscribe(held[i]));
    return NULL;
}

static void churn_leaves_redis_matching_local_state(void **state)
{
    (void)state;
    pst_handle h;
    pst_open(&h, "churn");
    churn c[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (churn){.ps = h.ps, .seed = 1234u + (unsigned)i};
        assert_int_equal(pthread_create(&t[i], NULL, random_churn, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    /* Every unsubscribe has returned; once Redis has applied them all
     * (goio_pubsub_sync), it has no pattern of ours left. Without the sync
     * a churned PSUBSCRIBE + PUNSUBSCRIBE pair may still be unsent. */
    pst_sync(h.ps, 5000);
    assert_int_equal(pst_numpat(), 0);
    assert_int_equal(pst_stats(h.ps).patterns, 0);

    /* And after all that, a fresh subscription works: exactly its two
     * patterns on Redis (a leaked one would make three). */
    const char *pats[] = {"a.*", "f.?"};
    goio_pubsub_sub *s;
    assert_ok(goio_pubsub_psubscribe(h.ps, pats, 2, NULL, &s));
    pst_sync(h.ps, 5000);
    assert_int_equal(pst_numpat(), 2);
    assert_ok(goio_pubsub_publish(h.ps, NULL, "f.1", "x", 1, NULL));
    pst_expect(s, "f.1", "f.?", "x");
    assert_ok(goio_pubsub_unsubscribe(s));
    pst_close(&h);
}

/* ---- free while callbacks run ---- */

/*
 * Once the main thread says it is about to free the handle, the first
 * callback to see it holds on until the main thread is asleep inside
 * goio_pubsub_free (a futex: free is waiting, /proc tells), so free is
 * provably called while a callback runs; then it writes to its heap data,
 * which the test frees as soon as free returns: a callback still running
 * then is a use-after-free for ASan, a race for TSan.
 */
typedef struct fr_data {
    long seen;
} fr_data;

static atomic_long after_free;
static atomic_bool freeing, freed, holding, proved;
static atomic_int main_tid;

static void slow_cb(goio_pubsub_sub *s, const goio_pubsub_msg *m, void *p)
{
    (void)s;
    (void)m;
    fr_data *d = p;
    if (atomic_load(&freed))
        atomic_fetch_add(&after_free, 1);
    if (atomic_load(&freeing) && !atomic_exchange(&holding, true))
        atomic_store(&proved,
                     GOIO_WAIT_UNTIL(
                         goio_test_thread_waits(atomic_load(&main_tid)), 5000));
    d->seen++;
}

static void free_waits_for_running_callbacks(void **state)
{
    (void)state;
    pst_logs_capture();
    pst_handle h;
    pst_open(&h, "fr");
    atomic_store(&main_tid, goio_test_gettid());
    const char *pats[] = {"race.*"};
    goio_pubsub_sub *subs[3];
    fr_data *data[3];
    for (int i = 0; i < 3; i++) {
        data[i] = goio_calloc(1, sizeof *data[i]);
        goio_pubsub_sub_config o = {.callback = slow_cb, .data = data[i]};
        assert_ok(goio_pubsub_psubscribe(h.ps, pats, 1, &o, &subs[i]));
    }
    for (int i = 0; i < 3; i++)
        pst_wait_sub(subs[i], 5000);
    flood f = {.channel = "fr:race.x"};
    pthread_t ft;
    assert_int_equal(pthread_create(&ft, NULL, flood_thread, &f), 0);
    assert_true(GOIO_WAIT_UNTIL(pst_stats(h.ps).delivered > 10, 5000));
    atomic_store(&freeing, true);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&holding), 5000));
    goio_pubsub_free(h.ps); /* a callback is running */
    atomic_store(&freed, true);
    assert_true(atomic_load(&proved)); /* free waited while it ran */
    for (int i = 0; i < 3; i++)
        goio_free(data[i]);
    atomic_store(&f.stop, true);
    pthread_join(ft, NULL);
    assert_int_equal(atomic_load(&after_free), 0);
    for (int i = 0; i < 3; i++)
        assert_ok(goio_pubsub_unsubscribe(subs[i]));
    goio_redis_free(h.r);
    pst_logs_restore();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unsubscribe_races_delivery),
        cmocka_unit_test(receivers_share_one_queue),
        cmocka_unit_test(churn_leaves_redis_matching_local_state),
        cmocka_unit_test(free_waits_for_running_callbacks),
    };
    return cmocka_run_group_tests(tests, pst_setup, pst_teardown);
}
