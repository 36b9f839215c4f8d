/* SPDX-License-Identifier: MIT */
/*
 * The buffer pool: per-shard stacks of free buffers for each size class.
 * See ioext.h for the classes and the retention rules.
 */
#include "ioext_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/*
 * Under AddressSanitizer a buffer resting in the pool is poisoned: a
 * use after goio_io_bufpool_put is reported (use-after-poison) as a use
 * after free would be, although the memory is still allocated. It is
 * unpoisoned when get hands it out again and before it is freed.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(POOL_ASAN)
#define POOL_ASAN 1
#endif
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POOL_POISON(p, n)   ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Class 0 is the regular 4 KiB class; 1..5 are 64 KiB .. 1 MiB. */
#define NCLASSES   6
#define MAX_KEEP   256 /* hard cap per class per shard, whatever the config */
#define MAX_SHARDS 64

typedef struct stack {
    void **items; /* bottom (oldest) first */
    unsigned count, max;
    unsigned low; /* fewest items held since the last idle check */
} stack;

typedef struct shard {
    pthread_mutex_t mu;
    int64_t idle_check_at; /* monotonic ms */
    stack cls[NCLASSES];
    uint64_t gets, hits, puts, dropped, trimmed;
} __attribute__((aligned(64))) shard; /* no false sharing between shards */

struct goio_io_bufpool {
    goio_io_bufpool_config cfg;
    unsigned nshards; /* a power of two */
    shard *shards;
    void *mem; /* the allocation shards live in (for alignment) */
};

static size_t class_size(int c)
{
    return c == 0 ? GOIO_BUFPOOL_SMALL
                  : (size_t)GOIO_BUFPOOL_LARGE_MIN << (c - 1);
}

/* The class a request of `size` bytes is served from, or -1. */
static int class_for_request(size_t size)
{
    if (size <= GOIO_BUFPOOL_SMALL)
        return 0;
    if (size <= GOIO_BUFPOOL_LARGE_MIN / 2 || size > GOIO_BUFPOOL_LARGE)
        return -1;
    int c = 1;
    while (class_size(c) < size)
        c++;
    return c;
}

/* The class a returned buffer of capacity `cap` belongs to, or -1. */
static int class_for_cap(size_t cap)
{
    for (int c = 0; c < NCLASSES; c++)
        if (class_size(c) == cap)
            return c;
    return -1;
}

/* ---- which shard a thread uses ------------------------------------------- */

static atomic_uint next_thread_slot;
static _Thread_local unsigned thread_slot; /* 0: not assigned yet */

static shard *my_shard(goio_io_bufpool *p)
{
    if (!thread_slot)
        thread_slot = atomic_fetch_add(&next_thread_slot, 1) + 1;
    return &p->shards[(thread_slot - 1) & (p->nshards - 1)];
}

/* ---- stacks (called with the shard's lock held) -------------------------- */

static void *stack_pop(stack *s)
{
    if (!s->count)
        return NULL;
    void *b = s->items[--s->count];
    if (s->count < s->low)
        s->low = s->count;
    return b;
}

static bool stack_push(stack *s, void *b)
{
    if (s->count >= s->max)
        return false;
    s->items[s->count++] = b;
    return true;
}

/* Frees the `n` oldest buffers of s (of class size `size`). */
static void stack_drop_oldest(stack *s, unsigned n, size_t size)
{
    for (unsigned i = 0; i < n; i++) {
        POOL_UNPOISON(s->items[i], size);
        goio_free(s->items[i]);
    }
    memmove(s->items, s->items + n, (s->count - n) * sizeof *s->items);
    s->count -= n;
}

/*
 * Buffers below each stack's low-water mark were not taken once during the
 * last idle period: free them. Runs at most once per period per shard, on
 * a get or put, so an idle pool costs nothing until it is used again.
 */
static void shard_idle_check(goio_io_bufpool *p, shard *sh)
{
    if (p->cfg.idle_ms < 0)
        return;
    int64_t now = goio_now_mono_coarse_ms();
    if (now < sh->idle_check_at)
        return;
    for (int c = 0; c < NCLASSES; c++) {
        stack *s = &sh->cls[c];
        sh->trimmed += s->low;
        stack_drop_oldest(s, s->low, class_size(c));
        s->low = s->count;
    }
    sh->idle_check_at = goio_time_add_ms(now, p->cfg.idle_ms);
}

/* ---- get / put ----------------------------------------------------------- */

static void *try_take(goio_io_bufpool *p, shard *sh, int c, bool wait)
{
    if (wait)
        pthread_mutex_lock(&sh->mu);
    else if (pthread_mutex_trylock(&sh->mu))
        return NULL;
    void *b = c >= 0 ? stack_pop(&sh->cls[c]) : NULL;
    if (wait) {
        sh->gets++;
        shard_idle_check(p, sh);
    }
    if (b)
        sh->hits++;
    pthread_mutex_unlock(&sh->mu);
    return b;
}

static void *take_pooled(goio_io_bufpool *p, int c)
{
    shard *mine = my_shard(p);
    void *b = try_take(p, mine, c, true);
    /* Buffers put back by other threads sit in their shards: borrow one
     * rather than allocate, without waiting on a busy shard. */
    for (unsigned i = 1; !b && i < p->nshards; i++) {
        shard *other = &p->shards[((mine - p->shards) + i) & (p->nshards - 1)];
        b = try_take(p, other, c, false);
    }
    return b;
}

void *goio_io_bufpool_get(goio_io_bufpool *p, size_t size, size_t *cap)
{
    if (!p || !cap)
        return NULL;
    int c = class_for_request(size);
    if (c < 0) {
        try_take(p, my_shard(p), c, true); /* counts the get */
        void *b = goio_malloc(size ? size : 1);
        *cap = b ? (size ? size : 1) : 0;
        return b;
    }
    void *b = take_pooled(p, c);
    if (b)
        POOL_UNPOISON(b, class_size(c));
    else
        b = goio_malloc(class_size(c));
    *cap = b ? class_size(c) : 0;
    return b;
}

void goio_io_bufpool_put(goio_io_bufpool *p, void *buf, size_t cap)
{
    if (!buf)
        return;
    if (!p) {
        goio_free(buf);
        return;
    }
    int c = class_for_cap(cap);
    /* Poisoned before another thread can take it from the stack. */
    if (c >= 0)
        POOL_POISON(buf, cap);
    shard *sh = my_shard(p);
    pthread_mutex_lock(&sh->mu);
    sh->puts++;
    bool kept = c >= 0 && stack_push(&sh->cls[c], buf);
    if (!kept)
        sh->dropped++;
    shard_idle_check(p, sh);
    pthread_mutex_unlock(&sh->mu);
    if (!kept) {
        if (c >= 0)
            POOL_UNPOISON(buf, cap);
        goio_free(buf);
    }
}

/* ---- lifecycle ----------------------------------------------------------- */

void goio_io_bufpool_config_init(goio_io_bufpool_config *cfg)
{
    if (!cfg)
        return;
    cfg->shards = 0;
    cfg->small_keep = 64;
    cfg->large_keep_bytes = 1024 * 1024;
    cfg->idle_ms = 10000;
}

static unsigned pick_shards(unsigned want)
{
    if (!want) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        want = cpus > 0 ? (unsigned)cpus * 2 : 4;
    }
    unsigned n = 1;
    while (n < want && n < MAX_SHARDS)
        n *= 2;
    return n;
}

static unsigned keep_for_class(const goio_io_bufpool_config *cfg, int c)
{
    size_t n = c == 0 ? cfg->small_keep : cfg->large_keep_bytes / class_size(c);
    if (c > 0 && n == 0 && cfg->large_keep_bytes)
        n = 1;
    return n > MAX_KEEP ? MAX_KEEP : (unsigned)n;
}

static int shard_init(shard *sh, const goio_io_bufpool_config *cfg)
{
    for (int c = 0; c < NCLASSES; c++) {
        stack *s = &sh->cls[c];
        s->max = keep_for_class(cfg, c);
        s->items = goio_calloc(s->max ? s->max : 1, sizeof *s->items);
        if (!s->items)
            return GOIO_ENOMEM;
    }
    sh->idle_check_at =
        goio_time_add_ms(goio_now_mono_coarse_ms(), cfg->idle_ms);
    return pthread_mutex_init(&sh->mu, NULL) ? GOIO_ENOMEM : 0;
}

static void shard_destroy(shard *sh, bool mutex_ready)
{
    for (int c = 0; c < NCLASSES; c++) {
        stack *s = &sh->cls[c];
        if (s->items)
            stack_drop_oldest(s, s->count, class_size(c));
        goio_free(s->items);
    }
    if (mutex_ready)
        pthread_mutex_destroy(&sh->mu);
}

static void pool_destroy(goio_io_bufpool *p, unsigned ready)
{
    for (unsigned i = 0; i < p->nshards; i++)
        shard_destroy(&p->shards[i], i < ready);
    goio_free(p->mem);
    goio_free(p);
}

static int pool_init(goio_io_bufpool *p, const goio_io_bufpool_config *cfg)
{
    goio_io_bufpool_config def;
    if (!cfg) {
        goio_io_bufpool_config_init(&def);
        cfg = &def;
    }
    p->cfg = *cfg;
    p->nshards = pick_shards(cfg->shards);
    /* Over-allocate so the shards can start on a cache line. */
    p->mem = goio_calloc(p->nshards + 1, sizeof(shard));
    if (!p->mem) {
        goio_free(p);
        return GOIO_ENOMEM;
    }
    uintptr_t at = ((uintptr_t)p->mem + 63) & ~(uintptr_t)63;
    p->shards = (shard *)at;
    for (unsigned i = 0; i < p->nshards; i++) {
        int rc = shard_init(&p->shards[i], cfg);
        if (rc) {
            pool_destroy(p, i);
            return rc;
        }
    }
    return 0;
}

int goio_io_bufpool_new(const goio_io_bufpool_config *cfg,
                        goio_io_bufpool **out)
{
    if (!out)
        return GOIO_EINVAL;
    *out = NULL;
    if (cfg && cfg->shards > MAX_SHARDS)
        return GOIO_EINVAL;
    goio_io_bufpool *p = goio_calloc(1, sizeof *p);
    if (!p)
        return GOIO_ENOMEM;
    int rc = pool_init(p, cfg);
    if (rc)
        return rc; /* pool_init freed p already */
    *out = p;
    return 0;
}

static goio_io_bufpool *default_pool;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_pool_make(void)
{
    /* Out of memory this early leaves no pool: get() then returns NULL
     * and goio_io_copy reports GOIO_ENOMEM. */
    goio_io_bufpool_new(NULL, &default_pool);
}

goio_io_bufpool *goio_io_bufpool_default(void)
{
    pthread_once(&default_once, default_pool_make);
    return default_pool;
}

void goio_io_bufpool_free(goio_io_bufpool *p)
{
    if (!p || p == default_pool)
        return;
    pool_destroy(p, p->nshards);
}

void goio_io_bufpool_trim(goio_io_bufpool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->nshards; i++) {
        shard *sh = &p->shards[i];
        pthread_mutex_lock(&sh->mu);
        for (int c = 0; c < NCLASSES; c++) {
            stack *s = &sh->cls[c];
            sh->trimmed += s->count;
            stack_drop_oldest(s, s->count, class_size(c));
            s->low = 0;
        }
        pthread_mutex_unlock(&sh->mu);
    }
}

int goio_io_bufpool_stats_get(goio_io_bufpool *p, goio_io_bufpool_stats *out)
{
    if (!p || !out)
        return GOIO_EINVAL;
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < p->nshards; i++) {
        shard *sh = &p->shards[i];
        pthread_mutex_lock(&sh->mu);
        out->gets += sh->gets;
        out->hits += sh->hits;
        out->puts += sh->puts;
        out->dropped += sh->dropped;
        out->trimmed += sh->trimmed;
        for (int c = 0; c < NCLASSES; c++) {
            out->retained += sh->cls[c].count;
            out->retained_bytes += sh->cls[c].count * class_size(c);
        }
        pthread_mutex_unlock(&sh->mu);
    }
    return 0;
}
