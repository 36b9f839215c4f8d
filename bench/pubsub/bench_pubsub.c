/* SPDX-License-Identifier: MIT */
/*
 * bench_pubsub: goio's subscriber against raw hiredis subscribers, same
 * server, same run (bench/pubsub/run.sh starts the server).
 *
 *   one_sub       messages/s delivered to one local subscriber of one
 *                 pattern (goio: a queue subscription read by a consumer
 *                 thread) vs a raw hiredis PSUBSCRIBE connection read by a
 *                 blocking redisGetReply loop; goal ratio >= 0.8
 *   hundred_subs  messages/s delivered to 100 subscribers of one pattern
 *                 (goio: 100 local subscriptions sharing one Redis
 *                 PSUBSCRIBE, one consumer thread polling their fds) vs
 *                 100 raw hiredis PSUBSCRIBE connections (Redis fans out),
 *                 one thread polling their sockets; deliveries/s
 *   latency       publish -> receive, one message in flight: p50 in us
 *                 (p99 as extra fields); goio publishes through its pool
 *                 and receives from a queue; the anchor PUBLISHes on one
 *                 raw connection and reads another
 *
 * In the throughput cases the same publisher feeds both sides: one thread
 * PUBLISHing on a raw hiredis connection, pipelined 256 deep, then "END"
 * until every subscriber has seen it, so a run ends after every message
 * was read (delivered or dropped; drops are printed).
 *
 * Environment: GOIO_BENCH_PUBSUB_ENDPOINT (host:port, required),
 * GOIO_BENCH_PUBSUB_MSGS (messages per throughput run, default 200000;
 * hundred_subs sends a tenth), GOIO_BENCH_PUBSUB_SIZE (payload bytes,
 * default 32), GOIO_BENCH_PUBSUB_SAMPLES (latency, default 2000). Each
 * case runs both sides alternately, best of GOIO_BENCH_PUBSUB_ROUNDS
 * (default 3) per side.
 */
#include "bench.h"

#include <goio/pubsub.h>
#include <hiredis/hiredis.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#define NS       "bench"
#define CHANNEL  "bench:ch.1" /* goio's "ch.1" in namespace "bench" */
#define PATTERN  "ch.*"
#define RAW_PAT  "bench:ch.*"
#define HUNDRED  100
#define PIPELINE 256

typedef struct env {
    const char *endpoint;
    char host[64];
    int port;
    long msgs;
    size_t size;
    int samples, rounds;
    char *payload;
} env;

static void die(const char *what, int rc)
{
    fprintf(stderr, "%s failed: %s\n", what, rc ? goio_strerror(rc) : "");
    exit(1);
}

static redisContext *raw_connect(const env *e)
{
    redisContext *c = redisConnect(e->host, e->port);
    if (!c || c->err)
        die("hiredis connect", 0);
    return c;
}

static void raw_ok(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    if (!r)
        die(cmd, 0);
    freeReplyObject(r);
}

/* ---- the publisher ---- */

typedef struct publisher {
    const env *e;
    long msgs;
    atomic_bool done; /* every subscriber saw END */
    pthread_t t;
} publisher;

static void *publish_thread(void *p)
{
    publisher *pub = p;
    redisContext *c = raw_connect(pub->e);
    long pending = 0;
    for (long i = 0; i < pub->msgs; i++) {
        redisAppendCommand(c, "PUBLISH %s %b", CHANNEL, pub->e->payload,
                           pub->e->size);
        if (++pending == PIPELINE || i == pub->msgs - 1) {
            for (; pending > 0; pending--) {
                redisReply *r;
                if (redisGetReply(c, (void **)&r) != REDIS_OK)
                    die("PUBLISH", 0);
                freeReplyObject(r);
            }
        }
    }
    while (!atomic_load(&pub->done)) { /* END may be dropped: repeat */
        raw_ok(c, "PUBLISH " CHANNEL " END");
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    redisFree(c);
    return NULL;
}

static void publisher_start(publisher *pub, const env *e, long msgs)
{
    pub->e = e;
    pub->msgs = msgs;
    atomic_init(&pub->done, false);
    if (pthread_create(&pub->t, NULL, publish_thread, pub))
        die("pthread_create", 0);
}

static void publisher_stop(publisher *pub)
{
    atomic_store(&pub->done, true);
    pthread_join(pub->t, NULL);
}

static bool is_end(const char *p, size_t n)
{
    return n == 3 && !memcmp(p, "END", 3);
}

/* Polls n subscribers' fds until each has seen END; drain(arg, i, &got)
 * reads what subscriber i has, counts its messages and returns true at
 * END. Both sides of hundred_subs run this loop. */
typedef bool (*drain_fn)(void *arg, int i, long *got);

static long poll_until_end(struct pollfd *pf, int n, drain_fn drain, void *arg)
{
    long got = 0;
    int finished = 0;
    while (finished < n) {
        if (poll(pf, (nfds_t)n, 1000) < 0)
            die("poll", 0);
        for (int i = 0; i < n; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & POLLIN))
                continue;
            if (drain(arg, i, &got)) {
                pf[i].fd = -1; /* poll ignores it from now on */
                finished++;
            }
        }
    }
    return got;
}

/* ---- goio side ---- */

typedef struct goio_side {
    goio_redis *r;
    goio_pubsub *ps;
} goio_side;

static void goio_open(goio_side *g, const env *e)
{
    goio_redis_config rc;
    goio_redis_config_init(&rc);
    rc.endpoint = e->endpoint;
    rc.key_namespace = NS;
    int err = goio_redis_new(&rc, &g->r);
    if (err)
        die("goio_redis_new", err);
    if ((err = goio_pubsub_new(g->r, NULL, &g->ps)))
        die("goio_pubsub_new", err);
}

static void goio_close(goio_side *g)
{
    goio_pubsub_free(g->ps);
    goio_redis_free(g->r);
}

static goio_pubsub_sub *goio_sub(goio_side *g, size_t cap)
{
    const char *pats[] = {PATTERN};
    goio_pubsub_sub_config o = {.queue_capacity = cap};
    goio_pubsub_sub *s;
    int err = goio_pubsub_psubscribe(g->ps, pats, 1, &o, &s);
    if (err || (err = goio_pubsub_wait_subscribed(s, NULL)))
        die("goio subscribe", err);
    return s;
}

/* Messages/s one goio subscription receives (drops added to *dropped). */
static double goio_one(const env *e, uint64_t *dropped)
{
    goio_side g;
    goio_open(&g, e);
    goio_pubsub_sub *s = goio_sub(&g, 65536);
    publisher pub;
    double t0 = bench_now_s();
    publisher_start(&pub, e, e->msgs);
    long got = 0;
    for (;;) {
        const goio_pubsub_msg *m;
        int err = goio_pubsub_receive(s, NULL, &m);
        if (err)
            die("goio_pubsub_receive", err);
        bool end = is_end((const char *)m->data, m->len);
        goio_pubsub_msg_unref(m);
        if (end)
            break;
        got++;
    }
    double secs = bench_now_s() - t0;
    publisher_stop(&pub);
    goio_pubsub_sub_stats st;
    goio_pubsub_sub_stats_get(s, &st);
    *dropped += st.dropped;
    goio_pubsub_unsubscribe(s);
    goio_close(&g);
    return (double)got / secs;
}

static bool goio_drain(void *arg, int i, long *got)
{
    goio_pubsub_sub **s = arg;
    const goio_pubsub_msg *m;
    bool end = false;
    while (!end && goio_pubsub_try_receive(s[i], &m) == 0) {
        end = is_end((const char *)m->data, m->len);
        *got += !end;
        goio_pubsub_msg_unref(m);
    }
    return end;
}

/* Deliveries/s to HUNDRED goio subscriptions, one thread polling fds. */
static double goio_hundred(const env *e, long msgs, uint64_t *dropped)
{
    goio_side g;
    goio_open(&g, e);
    goio_pubsub_sub *s[HUNDRED];
    struct pollfd pf[HUNDRED];
    for (int i = 0; i < HUNDRED; i++) {
        s[i] = goio_sub(&g, 8192);
        int err = goio_pubsub_sub_fd(s[i], &pf[i].fd);
        if (err)
            die("goio_pubsub_sub_fd", err);
        pf[i].events = POLLIN;
    }
    publisher pub;
    double t0 = bench_now_s();
    publisher_start(&pub, e, msgs);
    long got = poll_until_end(pf, HUNDRED, goio_drain, s);
    double secs = bench_now_s() - t0;
    publisher_stop(&pub);
    for (int i = 0; i < HUNDRED; i++) {
        goio_pubsub_sub_stats st;
        goio_pubsub_sub_stats_get(s[i], &st);
        *dropped += st.dropped;
        goio_pubsub_unsubscribe(s[i]);
    }
    goio_close(&g);
    return (double)got / secs;
}

/* ---- raw hiredis side ---- */

static redisContext *raw_sub(const env *e)
{
    redisContext *c = raw_connect(e);
    redisReply *r = redisCommand(c, "PSUBSCRIBE %s", RAW_PAT);
    if (!r)
        die("PSUBSCRIBE", 0);
    freeReplyObject(r);
    return c;
}

/* Whether a reply is our pmessage "END"; counts the others. */
static bool raw_count(redisReply *r, long *got)
{
    bool end = r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
               is_end(r->element[3]->str, r->element[3]->len);
    if (!end)
        (*got)++;
    freeReplyObject(r);
    return end;
}

static double raw_one(const env *e)
{
    redisContext *c = raw_sub(e);
    publisher pub;
    double t0 = bench_now_s();
    publisher_start(&pub, e, e->msgs);
    long got = 0;
    for (;;) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            die("redisGetReply", 0);
        if (raw_count(r, &got))
            break;
    }
    double secs = bench_now_s() - t0;
    publisher_stop(&pub);
    redisFree(c);
    return (double)got / secs;
}

static bool raw_drain(void *arg, int i, long *got)
{
    redisContext **c = arg;
    if (redisBufferRead(c[i]) != REDIS_OK)
        die("redisBufferRead", 0);
    void *r;
    bool end = false;
    while (!end && redisGetReplyFromReader(c[i], &r) == REDIS_OK && r)
        end = raw_count(r, got);
    return end;
}

static double raw_hundred(const env *e, long msgs)
{
    redisContext *c[HUNDRED];
    struct pollfd pf[HUNDRED];
    for (int i = 0; i < HUNDRED; i++) {
        c[i] = raw_sub(e);
        pf[i].fd = c[i]->fd;
        pf[i].events = POLLIN;
    }
    publisher pub;
    double t0 = bench_now_s();
    publisher_start(&pub, e, msgs);
    long got = poll_until_end(pf, HUNDRED, raw_drain, c);
    double secs = bench_now_s() - t0;
    publisher_stop(&pub);
    for (int i = 0; i < HUNDRED; i++)
        redisFree(c[i]);
    return (double)got / secs;
}

/* ---- latency ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void percentiles(double *v, int n, double *p50, double *p99)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *p50 = v[n / 2];
    *p99 = v[(int)((double)n * 0.99)];
}

static void goio_latency(const env *e, double *v)
{
    goio_side g;
    goio_open(&g, e);
    goio_pubsub_sub *s = goio_sub(&g, 16);
    for (int i = -50; i < e->samples; i++) { /* 50 to warm up */
        double t0 = bench_now_s();
        int err =
            goio_pubsub_publish(g.ps, NULL, "ch.1", e->payload, e->size, NULL);
        const goio_pubsub_msg *m;
        if (err || (err = goio_pubsub_receive(s, NULL, &m)))
            die("goio publish/receive", err);
        goio_pubsub_msg_unref(m);
        if (i >= 0)
            v[i] = (bench_now_s() - t0) * 1e6;
    }
    goio_pubsub_unsubscribe(s);
    goio_close(&g);
}

static void raw_latency(const env *e, double *v)
{
    redisContext *sub = raw_sub(e), *pub = raw_connect(e);
    for (int i = -50; i < e->samples; i++) {
        double t0 = bench_now_s();
        redisReply *r =
            redisCommand(pub, "PUBLISH %s %b", CHANNEL, e->payload, e->size);
        if (!r)
            die("PUBLISH", 0);
        freeReplyObject(r);
        if (redisGetReply(sub, (void **)&r) != REDIS_OK)
            die("redisGetReply", 0);
        freeReplyObject(r);
        if (i >= 0)
            v[i] = (bench_now_s() - t0) * 1e6;
    }
    redisFree(sub);
    redisFree(pub);
}

/* ---- cases ---- */

static double max2(double a, double b)
{
    return a > b ? a : b;
}

static void case_one_sub(const env *e)
{
    double g = 0, a = 0;
    uint64_t dropped = 0;
    for (int r = 0; r < e->rounds; r++) {
        a = max2(a, raw_one(e));
        g = max2(g, goio_one(e, &dropped));
    }
    char extra[96];
    snprintf(extra, sizeof extra, "msgs=%ld size=%zu goio_dropped=%llu",
             e->msgs, e->size, (unsigned long long)dropped);
    bench_line("one_sub", g, a, "msgs/s", true, extra);
}

static void case_hundred_subs(const env *e)
{
    long msgs = e->msgs / 10 > 0 ? e->msgs / 10 : 1;
    double g = 0, a = 0;
    uint64_t dropped = 0;
    for (int r = 0; r < e->rounds; r++) {
        a = max2(a, raw_hundred(e, msgs));
        g = max2(g, goio_hundred(e, msgs, &dropped));
    }
    char extra[128];
    snprintf(extra, sizeof extra,
             "msgs=%ld subs=%d anchor=100_connections goio_dropped=%llu", msgs,
             HUNDRED, (unsigned long long)dropped);
    bench_line("hundred_subs", g, a, "deliveries/s", true, extra);
}

static void case_latency(const env *e)
{
    double *gv = calloc((size_t)e->samples, sizeof *gv);
    double *av = calloc((size_t)e->samples, sizeof *av);
    double g50 = 1e30, g99 = 1e30, a50 = 1e30, a99 = 1e30;
    for (int r = 0; r < e->rounds; r++) {
        double p50, p99;
        raw_latency(e, av);
        percentiles(av, e->samples, &p50, &p99);
        a50 = p50 < a50 ? p50 : a50;
        a99 = p99 < a99 ? p99 : a99;
        goio_latency(e, gv);
        percentiles(gv, e->samples, &p50, &p99);
        g50 = p50 < g50 ? p50 : g50;
        g99 = p99 < g99 ? p99 : g99;
    }
    char extra[128];
    snprintf(extra, sizeof extra,
             "p99_goio=%.1f p99_anchor=%.1f p99_ratio=%.3f samples=%d", g99,
             a99, a99 / g99, e->samples);
    bench_line("latency", g50, a50, "us_p50", false, extra);
    free(gv);
    free(av);
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

int main(int argc, char **argv)
{
    env e = {0};
    e.endpoint = getenv("GOIO_BENCH_PUBSUB_ENDPOINT");
    if (!e.endpoint) {
        fprintf(stderr, "set GOIO_BENCH_PUBSUB_ENDPOINT (bench/pubsub/run.sh "
                        "does)\n");
        return 1;
    }
    const char *colon = strrchr(e.endpoint, ':');
    if (!colon || (size_t)(colon - e.endpoint) >= sizeof e.host)
        die("endpoint host:port", 0);
    memcpy(e.host, e.endpoint, (size_t)(colon - e.endpoint));
    e.port = atoi(colon + 1);
    e.msgs = env_long("GOIO_BENCH_PUBSUB_MSGS", 200000);
    e.size = (size_t)env_long("GOIO_BENCH_PUBSUB_SIZE", 32);
    e.samples = (int)env_long("GOIO_BENCH_PUBSUB_SAMPLES", 2000);
    e.rounds = (int)env_long("GOIO_BENCH_PUBSUB_ROUNDS", 3);
    if (e.msgs < 1 || e.samples < 1 || e.rounds < 1 || e.size < 1)
        die("configuration", 0);
    e.payload = malloc(e.size);
    memset(e.payload, 'x', e.size);
    goio_log_set_level(GOIO_LOG_ERROR);
    if (bench_selected(argc, argv, "one_sub"))
        case_one_sub(&e);
    if (bench_selected(argc, argv, "hundred_subs"))
        case_hundred_subs(&e);
    if (bench_selected(argc, argv, "latency"))
        case_latency(&e);
    free(e.payload);
    return 0;
}
