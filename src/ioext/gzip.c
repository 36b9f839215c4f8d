/* SPDX-License-Identifier: MIT */
/*
 * A goio_io_writer that gzips into another writer.
 *
 * Serial mode is one zlib deflate stream. Parallel mode does what pigz
 * does: the input is cut into blocks that worker threads compress as
 * independent raw-deflate pieces (each primed with the previous block's
 * last 32 KiB as dictionary, so the ratio barely changes, and ended with a
 * sync flush so the pieces concatenate into one valid deflate stream); the
 * caller's thread writes them in order and combines their CRCs. The
 * output is one ordinary gzip member that any gunzip reads.
 */
#include "ioext_int.h"

#include <pthread.h>
#include <zlib.h>

#define OUT_CHUNK (64 * 1024) /* serial output buffer */
#define DICT_SIZE (32 * 1024) /* deflate's window */

/* gzip header: magic, deflate, no flags, mtime 0, no extra flags, Unix. */
static const uint8_t gzip_header_bytes[10] = {0x1f, 0x8b, 8, 0, 0,
                                              0,    0,    0, 0, 3};

typedef struct job job;

typedef struct gz_writer {
    goio_io_writer base;
    goio_io_writer *dst;
    int level;
    int err; /* sticky: the first error ends the stream */
    bool finished;
    /* serial */
    z_stream zs;
    bool zs_ready;
    uint8_t *out;
    size_t out_cap;
    /* parallel */
    unsigned nthreads;
    size_t block;
    pthread_t *threads;
    unsigned started;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    job *queue_head, *queue_tail; /* waiting for a worker */
    job *order_head, *order_tail; /* every job in flight, oldest first */
    unsigned in_flight, max_in_flight;
    bool stopping;
    job *filling; /* the block being filled by the caller */
    job *spare;   /* written jobs kept for reuse (caller's thread only) */
    uint8_t *dict;
    size_t dict_len;
    uLong crc;
    uint64_t total;
} gz_writer;

struct job {
    job *next_queued, *next_order;
    uint8_t *in;
    size_t in_len;
    uint8_t dict[DICT_SIZE];
    size_t dict_len;
    bool last;
    uint8_t *out;
    size_t out_len, out_cap;
    uLong crc;
    int rc;
    bool ready;
};

static int zerr(int zrc)
{
    return zrc == Z_MEM_ERROR ? GOIO_ENOMEM : GOIO_EIO;
}

/* ---- serial ------------------------------------------------------------- */

/* Runs deflate with `flush` until the input is consumed (and, for a
 * flush or finish, until zlib has nothing more to say). */
static int serial_deflate(gz_writer *g, int flush)
{
    for (;;) {
        g->zs.next_out = g->out;
        g->zs.avail_out = (uInt)g->out_cap;
        int zrc = deflate(&g->zs, flush);
        if (zrc != Z_OK && zrc != Z_BUF_ERROR && zrc != Z_STREAM_END)
            return zerr(zrc);
        size_t have = g->out_cap - g->zs.avail_out;
        if (have) {
            int rc = goio_io_write(g->dst, g->out, have);
            if (rc)
                return rc;
        }
        if (flush == Z_FINISH ? zrc == Z_STREAM_END
                              : g->zs.avail_out != 0 && !g->zs.avail_in)
            return 0;
    }
}

static int serial_write(gz_writer *g, const uint8_t *p, size_t len)
{
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        g->zs.next_in = (Bytef *)(uintptr_t)p;
        g->zs.avail_in = n;
        int rc = serial_deflate(g, Z_NO_FLUSH);
        if (rc)
            return rc;
        p += n;
        len -= n;
    }
    return 0;
}

static int serial_init(gz_writer *g)
{
    g->out = goio_malloc(OUT_CHUNK);
    if (!g->out)
        return GOIO_ENOMEM;
    g->out_cap = OUT_CHUNK;
    /* 15 + 16: a gzip wrapper (header and CRC trailer) around deflate. */
    int zrc = deflateInit2(&g->zs, g->level, Z_DEFLATED, 15 + 16, 8,
                           Z_DEFAULT_STRATEGY);
    if (zrc != Z_OK)
        return zerr(zrc);
    g->zs_ready = true;
    return 0;
}

/* ---- parallel: workers ----------------------------------------------------
 */

static void compress_job(z_stream *zs, job *j)
{
    j->crc = crc32(0, j->in, (uInt)j->in_len);
    /* Worst case output plus room for the sync-flush marker. */
    size_t bound = deflateBound(zs, (uLong)j->in_len) + 16;
    if (bound > j->out_cap) {
        uint8_t *o = goio_realloc(j->out, bound);
        if (!o) {
            j->rc = GOIO_ENOMEM;
            return;
        }
        j->out = o;
        j->out_cap = bound;
    }
    int zrc = deflateReset(zs);
    if (zrc == Z_OK && j->dict_len)
        zrc = deflateSetDictionary(zs, j->dict, (uInt)j->dict_len);
    if (zrc != Z_OK) {
        j->rc = zerr(zrc);
        return;
    }
    zs->next_in = j->in;
    zs->avail_in = (uInt)j->in_len;
    zs->next_out = j->out;
    zs->avail_out = (uInt)j->out_cap;
    zrc = deflate(zs, j->last ? Z_FINISH : Z_SYNC_FLUSH);
    /* The bound makes one call enough; anything else is zlib failing. */
    bool ok = j->last ? zrc == Z_STREAM_END : zrc == Z_OK && zs->avail_out;
    j->rc = ok && !zs->avail_in ? 0 : GOIO_EIO;
    j->out_len = j->out_cap - zs->avail_out;
}

static void *worker_main(void *arg)
{
    gz_writer *g = arg;
    z_stream zs = {0};
    /* Raw deflate (-15): the caller writes the gzip header and trailer. */
    int init =
        deflateInit2(&zs, g->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->queue_head && !g->stopping)
            pthread_cond_wait(&g->work, &g->mu);
        if (!g->queue_head)
            break;
        job *j = g->queue_head;
        g->queue_head = j->next_queued;
        if (!g->queue_head)
            g->queue_tail = NULL;
        pthread_mutex_unlock(&g->mu);
        if (init == Z_OK)
            compress_job(&zs, j);
        else
            j->rc = zerr(init);
        pthread_mutex_lock(&g->mu);
        j->ready = true;
        pthread_cond_broadcast(&g->done);
    }
    pthread_mutex_unlock(&g->mu);
    if (init == Z_OK)
        deflateEnd(&zs);
    return NULL;
}

/* ---- parallel: the caller's side ------------------------------------------
 */

static void job_free(job *j)
{
    if (!j)
        return;
    goio_free(j->in);
    goio_free(j->out);
    goio_free(j);
}

static job *job_new(size_t block)
{
    job *j = goio_calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->in = goio_malloc(block);
    if (!j->in) {
        goio_free(j);
        return NULL;
    }
    return j;
}

/* A job for the next block: a spare one (its buffers already sized and
 * paged in) or a new one. */
static job *job_get(gz_writer *g)
{
    job *j = g->spare;
    if (j) {
        g->spare = j->next_order;
        j->next_queued = j->next_order = NULL;
        j->in_len = j->dict_len = j->out_len = 0;
        j->last = j->ready = false;
        j->crc = 0;
        j->rc = 0;
        return j;
    }
    return job_new(g->block);
}

/* Waits for the oldest job, writes its output and frees it. */
static int write_oldest(gz_writer *g)
{
    pthread_mutex_lock(&g->mu);
    job *j = g->order_head;
    while (!j->ready)
        pthread_cond_wait(&g->done, &g->mu);
    g->order_head = j->next_order;
    if (!g->order_head)
        g->order_tail = NULL;
    g->in_flight--;
    pthread_mutex_unlock(&g->mu);
    int rc = j->rc;
    if (!rc)
        rc = goio_io_write(g->dst, j->out, j->out_len);
    if (!rc) {
        g->crc = crc32_combine(g->crc, j->crc, (z_off_t)j->in_len);
        g->total += j->in_len;
    }
    j->next_order = g->spare;
    g->spare = j;
    return rc;
}

/* Hands the filling block to the workers; keeps its tail as the next
 * block's dictionary. */
static int submit(gz_writer *g, bool last)
{
    job *j = g->filling;
    g->filling = NULL;
    j->last = last;
    memcpy(j->dict, g->dict, g->dict_len);
    j->dict_len = g->dict_len;
    /* The dictionary is the last 32 KiB of input so far. */
    if (j->in_len >= DICT_SIZE) {
        memcpy(g->dict, j->in + j->in_len - DICT_SIZE, DICT_SIZE);
        g->dict_len = DICT_SIZE;
    } else { /* a short block, cut by a flush: slide the window */
        size_t old = DICT_SIZE - j->in_len;
        if (old > g->dict_len)
            old = g->dict_len;
        memmove(g->dict, g->dict + g->dict_len - old, old);
        memcpy(g->dict + old, j->in, j->in_len);
        g->dict_len = old + j->in_len;
    }
    pthread_mutex_lock(&g->mu);
    if (g->queue_tail)
        g->queue_tail->next_queued = j;
    else
        g->queue_head = j;
    g->queue_tail = j;
    if (g->order_tail)
        g->order_tail->next_order = j;
    else
        g->order_head = j;
    g->order_tail = j;
    g->in_flight++;
    pthread_cond_signal(&g->work);
    bool full = g->in_flight >= g->max_in_flight;
    pthread_mutex_unlock(&g->mu);
    /* Bounded memory: past max_in_flight blocks, wait for the oldest. */
    return full ? write_oldest(g) : 0;
}

static int parallel_write(gz_writer *g, const uint8_t *p, size_t len)
{
    while (len) {
        if (!g->filling && !(g->filling = job_get(g)))
            return GOIO_ENOMEM;
        job *j = g->filling;
        size_t n = g->block - j->in_len;
        if (n > len)
            n = len;
        memcpy(j->in + j->in_len, p, n);
        j->in_len += n;
        p += n;
        len -= n;
        if (j->in_len == g->block) {
            int rc = submit(g, false);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Submits what is buffered and writes everything out. */
static int parallel_drain(gz_writer *g, bool last)
{
    /* The last block is submitted even when empty: it ends the stream. */
    if (last && !g->filling && !(g->filling = job_get(g)))
        return GOIO_ENOMEM;
    int rc = 0;
    if (g->filling && (last || g->filling->in_len))
        rc = submit(g, last);
    while (!rc && g->in_flight)
        rc = write_oldest(g);
    return rc;
}

static int parallel_trailer(gz_writer *g)
{
    uint8_t t[8];
    for (int i = 0; i < 4; i++) {
        t[i] = (uint8_t)(g->crc >> (8 * i));
        t[4 + i] = (uint8_t)(g->total >> (8 * i)); /* ISIZE: size mod 2^32 */
    }
    return goio_io_write(g->dst, t, sizeof t);
}

static void parallel_stop(gz_writer *g)
{
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_broadcast(&g->work);
    pthread_mutex_unlock(&g->mu);
    for (unsigned i = 0; i < g->started; i++)
        pthread_join(g->threads[i], NULL);
    /* Workers finish queued jobs before leaving: all are ready now. */
    while (g->order_head) {
        job *j = g->order_head;
        g->order_head = j->next_order;
        job_free(j);
    }
    job_free(g->filling);
    while (g->spare) {
        job *j = g->spare;
        g->spare = j->next_order;
        job_free(j);
    }
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->work);
    pthread_cond_destroy(&g->done);
}

static int parallel_init(gz_writer *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->work, NULL);
    pthread_cond_init(&g->done, NULL);
    g->threads = goio_calloc(g->nthreads, sizeof *g->threads);
    g->dict = goio_malloc(DICT_SIZE);
    if (!g->threads || !g->dict)
        return GOIO_ENOMEM;
    g->crc = crc32(0, NULL, 0);
    g->max_in_flight = g->nthreads * 2 + 2;
    for (unsigned i = 0; i < g->nthreads; i++) {
        if (pthread_create(&g->threads[i], NULL, worker_main, g))
            return GOIO_ENOMEM;
        g->started++;
    }
    return goio_io_write(g->dst, gzip_header_bytes, sizeof gzip_header_bytes);
}

/* ---- the goio_io_writer ----------------------------------------------------
 */

static ssize_t gz_write(goio_io_writer *w, const void *p, size_t len)
{
    gz_writer *g = (gz_writer *)w;
    if (g->err)
        return g->err;
    if (g->finished)
        return GOIO_ECLOSED;
    int rc = g->nthreads ? parallel_write(g, p, len) : serial_write(g, p, len);
    if (rc)
        return g->err = rc;
    return (ssize_t)len;
}

static int gz_flush(goio_io_writer *w)
{
    gz_writer *g = (gz_writer *)w;
    if (g->err || g->finished)
        return g->err ? g->err : GOIO_ECLOSED;
    int rc = g->nthreads ? parallel_drain(g, false)
                         : serial_deflate(g, Z_SYNC_FLUSH);
    if (!rc)
        rc = goio_io_flush(g->dst);
    return rc ? (g->err = rc) : 0;
}

static int gz_finish(goio_io_writer *w)
{
    gz_writer *g = (gz_writer *)w;
    if (g->err || g->finished)
        return g->err;
    g->finished = true;
    int rc;
    if (g->nthreads) {
        rc = parallel_drain(g, true);
        if (!rc)
            rc = parallel_trailer(g);
    } else {
        g->zs.avail_in = 0;
        rc = serial_deflate(g, Z_FINISH);
    }
    return rc ? (g->err = rc) : 0;
}

static void gz_destroy(gz_writer *g)
{
    if (g->nthreads)
        parallel_stop(g);
    goio_free(g->threads);
    goio_free(g->dict);
    if (g->zs_ready)
        deflateEnd(&g->zs);
    goio_free(g->out);
    goio_free(g);
}

static int gz_close(goio_io_writer *w)
{
    int rc = gz_finish(w);
    gz_destroy((gz_writer *)w);
    return rc;
}

static const goio_io_writer_ops gz_ops = {gz_write, gz_flush, gz_close};

void goio__gzip_abort(goio_io_writer *w)
{
    if (w)
        gz_destroy((gz_writer *)w);
}

void goio_io_gzip_config_init(goio_io_gzip_config *opt)
{
    if (!opt)
        return;
    opt->level = 6;
    opt->threads = 1;
    opt->block_size = 128 * 1024;
}

int goio_io_gzip_writer_new(goio_io_writer *dst, const goio_io_gzip_config *opt,
                            goio_io_writer **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    goio_io_gzip_config def;
    if (!opt) {
        goio_io_gzip_config_init(&def);
        opt = &def;
    }
    /* block_size matters only with threads; one block is one deflate
     * call's input, hence at most 1 GiB (zlib counts in uInt). */
    if (!dst || !dst->ops || opt->level < 0 || opt->level > 9 ||
        opt->threads > GOIO_GZIP_MAX_THREADS ||
        (opt->threads > 1 &&
         (opt->block_size < DICT_SIZE || opt->block_size > (1u << 30))))
        return GOIO_EINVAL;
    gz_writer *g = goio_calloc(1, sizeof *g);
    if (!g)
        return GOIO_ENOMEM;
    g->base.ops = &gz_ops;
    g->dst = dst;
    g->level = opt->level;
    g->nthreads = opt->threads > 1 ? opt->threads : 0;
    g->block = opt->block_size;
    int rc = g->nthreads ? parallel_init(g) : serial_init(g);
    if (rc) {
        gz_destroy(g);
        return rc;
    }
    *out = &g->base;
    return 0;
}
