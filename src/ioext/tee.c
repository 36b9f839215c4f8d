/* SPDX-License-Identifier: MIT */
/*
 * Tee: one input read through `main`, the same bytes handed to `secondary`
 * through a bounded ring buffer. See ioext.h for the contract.
 *
 * The ring has a single producer (main's reader) and a single consumer
 * (secondary's reader). The mutex guards only the indexes and the state;
 * both sides copy bytes outside it, into regions the indexes give them
 * exclusively, so main and secondary copy in parallel.
 */
#include "ioext_int.h"

#include <pthread.h>

typedef struct tee_state {
    pthread_mutex_t mu;
    pthread_cond_t data;  /* secondary waits for bytes or an end */
    pthread_cond_t space; /* main waits for room */
    goio_io_reader *in;   /* used by main only */
    uint8_t *ring;        /* freed by main once secondary is closed */
    size_t cap, head, len;
    bool ended;   /* main saw end of stream or an error */
    int end_code; /* 0 (EOF) or the error main got */
    bool main_closed, sec_closed;
    /* Wake-ups are batched: a waiting side is woken once `batch` bytes
     * (or room for them) are there, not for every chunk; the futex calls
     * and context switches cost more than the copies. */
    size_t batch;
    bool sec_waiting, main_waiting;
} tee_state;

typedef struct tee_side {
    goio_io_reader base;
    tee_state *st;
} tee_side;

/* Frees the state once both sides are closed. Called with mu held;
 * returns whether it freed (mu is then gone). */
static bool release_if_done(tee_state *st)
{
    if (!st->main_closed || !st->sec_closed)
        return false;
    pthread_mutex_unlock(&st->mu);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->data);
    pthread_cond_destroy(&st->space);
    goio_free(st->ring);
    goio_free(st);
    return true;
}

/* ---- main ------------------------------------------------------------- */

/*
 * Hands p[0..n) to secondary, waiting for room as long as secondary is
 * open. Stops quietly once secondary is closed: main goes on alone.
 * `eager`: wake secondary at the end even below the batch size (the read
 * came back short: the source may be slow, so do not sit on the bytes).
 */
static void push(tee_state *st, const uint8_t *p, size_t n, bool eager)
{
    pthread_mutex_lock(&st->mu);
    while (n) {
        while (st->len == st->cap && !st->sec_closed) {
            st->main_waiting = true;
            pthread_cond_wait(&st->space, &st->mu);
            st->main_waiting = false;
        }
        if (st->sec_closed)
            break;
        size_t tail = (st->head + st->len) % st->cap;
        size_t room = tail >= st->head ? st->cap - tail : st->head - tail;
        size_t k = n < room ? n : room;
        pthread_mutex_unlock(&st->mu);
        memcpy(st->ring + tail, p, k); /* [tail, tail+k) is ours alone */
        pthread_mutex_lock(&st->mu);
        st->len += k;
        p += k;
        n -= k;
        if (st->sec_waiting && (st->len >= st->batch || (eager && !n)))
            pthread_cond_signal(&st->data);
    }
    if (st->sec_closed && st->ring) {
        /* Nobody reads the ring any more and only main writes it. */
        goio_free(st->ring);
        st->ring = NULL;
    }
    pthread_mutex_unlock(&st->mu);
}

static void finish(tee_state *st, int code)
{
    pthread_mutex_lock(&st->mu);
    if (!st->ended) {
        st->ended = true;
        st->end_code = code;
    }
    pthread_cond_signal(&st->data);
    pthread_mutex_unlock(&st->mu);
}

static ssize_t main_read(goio_io_reader *r, void *buf, size_t cap)
{
    tee_state *st = ((tee_side *)r)->st;
    ssize_t n = goio_io_read(st->in, buf, cap);
    if (n > 0)
        push(st, buf, (size_t)n, (size_t)n < cap);
    else
        finish(st, (int)n);
    return n;
}

static int main_close(goio_io_reader *r)
{
    tee_state *st = ((tee_side *)r)->st;
    goio_free(r);
    /* Only main used `in`: close it before telling secondary. */
    int rc = goio_io_reader_close(st->in);
    pthread_mutex_lock(&st->mu);
    st->main_closed = true;
    pthread_cond_signal(&st->data);
    if (!release_if_done(st))
        pthread_mutex_unlock(&st->mu);
    return rc;
}

/* ---- secondary ---------------------------------------------------------- */

static ssize_t sec_read(goio_io_reader *r, void *buf, size_t cap)
{
    tee_state *st = ((tee_side *)r)->st;
    pthread_mutex_lock(&st->mu);
    while (!st->len && !st->ended && !st->main_closed) {
        st->sec_waiting = true;
        pthread_cond_wait(&st->data, &st->mu);
        st->sec_waiting = false;
    }
    ssize_t rc;
    if (st->main_closed && !st->ended) {
        /* The stream was cut short: what is buffered is not all of it,
         * so say so at once rather than hand out a truncated stream. */
        rc = GOIO_EEARLYCLOSE;
    } else if (st->len) {
        size_t head = st->head;
        size_t k = st->cap - head < st->len ? st->cap - head : st->len;
        if (k > cap)
            k = cap;
        pthread_mutex_unlock(&st->mu);
        memcpy(buf, st->ring + head, k); /* main never writes filled bytes */
        pthread_mutex_lock(&st->mu);
        st->head = (head + k) % st->cap;
        st->len -= k;
        if (st->main_waiting && st->cap - st->len >= st->batch)
            pthread_cond_signal(&st->space);
        rc = (ssize_t)k;
    } else {
        rc = st->end_code; /* drained: EOF (0) or main's error */
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static int sec_close(goio_io_reader *r)
{
    tee_state *st = ((tee_side *)r)->st;
    goio_free(r);
    pthread_mutex_lock(&st->mu);
    st->sec_closed = true;
    st->len = 0;
    pthread_cond_signal(&st->space); /* main may be waiting for room */
    if (!release_if_done(st))
        pthread_mutex_unlock(&st->mu);
    return 0;
}

static const goio_io_reader_ops main_ops = {main_read, main_close};
static const goio_io_reader_ops sec_ops = {sec_read, sec_close};

/* ---- construction ----------------------------------------------------------
 */

void goio_io_tee_config_init(goio_io_tee_config *cfg)
{
    if (cfg)
        cfg->buffer_size = GOIO_TEE_DEFAULT_BUFFER;
}

static tee_state *state_new(goio_io_reader *in, size_t cap)
{
    tee_state *st = goio_calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->ring = goio_malloc(cap);
    if (!st->ring) {
        goio_free(st);
        return NULL;
    }
    st->cap = cap;
    st->batch = cap / 4 > 256 * 1024 ? 256 * 1024 : cap / 4 ? cap / 4 : 1;
    st->in = in;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->data, NULL);
    pthread_cond_init(&st->space, NULL);
    return st;
}

int goio_io_tee_new(goio_io_reader *in, const goio_io_tee_config *cfg,
                    goio_io_reader **main, goio_io_reader **secondary)
{
    if (main)
        *main = NULL;
    if (secondary)
        *secondary = NULL;
    if (!in || !in->ops || !in->ops->read || !main || !secondary)
        return GOIO_EINVAL;
    size_t cap = cfg ? cfg->buffer_size : GOIO_TEE_DEFAULT_BUFFER;
    if (cap == 0)
        return GOIO_EINVAL;
    tee_side *m = goio_calloc(1, sizeof *m);
    tee_side *s = goio_calloc(1, sizeof *s);
    tee_state *st = m && s ? state_new(in, cap) : NULL;
    if (!st) {
        goio_free(m);
        goio_free(s);
        return GOIO_ENOMEM;
    }
    m->base.ops = &main_ops;
    m->st = st;
    s->base.ops = &sec_ops;
    s->st = st;
    *main = &m->base;
    *secondary = &s->base;
    return 0;
}
