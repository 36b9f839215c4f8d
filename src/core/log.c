/* SPDX-License-Identifier: MIT */
/*
 * Logging: the sink, the minimum level and the rate limit.
 *
 * The sink and the rate-limit settings are published together under a
 * sequence lock: writers serialize on a mutex and bump the sequence, a
 * record reads a consistent snapshot without taking any lock, so records
 * from many threads never serialize on goio and a slow sink never blocks a
 * reconfigure.
 *
 * The rate limit keeps one slot per (category, code) pair in a fixed table
 * (open addressing on a 64-bit hash of the pair, claimed with a CAS and
 * never freed). A slot's window start and record count share one atomic
 * word, so admitting a record is one CAS on that pair's slot; a refused
 * record only bumps the slot's suppressed counter. The first record after a
 * window ends opens the next one and, with it, reports what the previous
 * window suppressed. Pairs that find no slot share one overflow slot, so the
 * table's memory is fixed and a flood of distinct codes stays bounded too.
 */
#include <goio/core.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_LIMIT       10
#define DEFAULT_INTERVAL_MS 1000
#define MAX_LIMIT           1000000
#define MAX_INTERVAL_MS     (24LL * 3600 * 1000)

/* ---- settings, published under a sequence lock ---- */

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned cfg_seq;
static _Atomic(goio_log_sink_fn) cfg_sink = goio_log_stderr_sink;
static _Atomic(void *) cfg_sink_data;
static _Atomic uint32_t cfg_limit = DEFAULT_LIMIT;
static _Atomic int64_t cfg_interval = DEFAULT_INTERVAL_MS;
static _Atomic bool cfg_every;
static _Atomic(goio_log_clock_fn) cfg_clock;
static _Atomic(void *) cfg_clock_data;
static _Atomic int min_level = GOIO_LOG_WARN;

typedef struct {
    goio_log_sink_fn sink;
    void *sink_data;
    uint32_t limit;
    int64_t interval;
    bool every;
    goio_log_clock_fn clock;
    void *clock_data;
} settings;

#define RLX memory_order_relaxed

/*
 * Sequentially consistent loads and stores (plain moves on x86): a reader
 * that sees any field a writer stored also sees the writer's odd sequence
 * number, or a later one, when it re-reads it, so it retries.
 */
static void settings_read(settings *s)
{
    for (;;) {
        unsigned seq = atomic_load(&cfg_seq);
        if (seq & 1) { /* a writer is between its two bumps: a few stores */
            sched_yield();
            continue;
        }
        s->sink = atomic_load(&cfg_sink);
        s->sink_data = atomic_load(&cfg_sink_data);
        s->limit = atomic_load(&cfg_limit);
        s->interval = atomic_load(&cfg_interval);
        s->every = atomic_load(&cfg_every);
        s->clock = atomic_load(&cfg_clock);
        s->clock_data = atomic_load(&cfg_clock_data);
        if (atomic_load(&cfg_seq) == seq)
            return;
    }
}

/* Called with cfg_lock held, around the stores of a writer. */
static void write_begin(void)
{
    atomic_fetch_add(&cfg_seq, 1);
}

static void write_end(void)
{
    atomic_fetch_add(&cfg_seq, 1);
}

/* ---- the rate-limit table ---- */

#define SLOTS      512 /* power of two */
#define PROBES     16
#define CAT_MAX    32
#define CODE_MAX   48
#define COUNT_BITS 24
#define COUNT_MASK ((UINT64_C(1) << COUNT_BITS) - 1)
#define START_MASK ((UINT64_C(1) << (64 - COUNT_BITS)) - 1)

typedef struct {
    _Atomic uint64_t key;   /* hash of the pair; 0 = free */
    _Atomic bool ready;     /* names written */
    _Atomic uint64_t state; /* window start (ms, 40 bits) << 24 | count */
    _Atomic uint64_t suppressed;
    _Atomic unsigned levels; /* 1 << level of each suppressed record */
    char category[CAT_MAX];
    char code[CODE_MAX];
} rl_slot;

static rl_slot slots[SLOTS];
static rl_slot overflow_slot;
static _Atomic int64_t next_sweep_ms = INT64_MIN;

static uint64_t pair_hash(const char *category, const char *code)
{
    static const char none[] = "";
    if (!category)
        category = none;
    if (!code)
        code = none;
    uint64_t h = goio_hash64(category, strlen(category), 0x6c6f67);
    h = goio_hash64(code, strlen(code), h);
    return h ? h : 1;
}

static void copy_name(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static rl_slot *slot_find(const char *category, const char *code)
{
    uint64_t h = pair_hash(category, code);
    for (unsigned i = 0; i < PROBES; i++) {
        rl_slot *s = &slots[(h + i) & (SLOTS - 1)];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == h)
            return s;
        if (k != 0)
            continue;
        if (atomic_compare_exchange_strong(&s->key, &k, h)) {
            copy_name(s->category, sizeof s->category, category);
            copy_name(s->code, sizeof s->code, code);
            atomic_store_explicit(&s->ready, true, memory_order_release);
            return s;
        }
        if (k == h)
            return s;
    }
    return &overflow_slot;
}

/* Whether the window in `state` has ended at `now`. A `now` before the
 * window's start is a reading taken before another thread opened it: it
 * belongs to the current window, it must not open another one. */
static bool window_over(uint64_t state, int64_t now, int64_t interval)
{
    uint64_t start = state >> COUNT_BITS;
    uint64_t elapsed = ((uint64_t)now - start) & START_MASK;
    if (elapsed & (UINT64_C(1) << (63 - COUNT_BITS)))
        return false;
    return elapsed >= (uint64_t)interval;
}

/*
 * Whether a record may pass. When it opens a new window, *summary and
 * *levels receive what the previous windows suppressed (once: whoever takes
 * the counter reports it).
 */
static bool admit(rl_slot *s, goio_log_level level, const settings *cfg,
                  int64_t now, uint64_t *summary, unsigned *levels)
{
    uint64_t v = atomic_load_explicit(&s->state, RLX);
    for (;;) {
        if (window_over(v, now, cfg->interval)) {
            uint64_t nv = (((uint64_t)now & START_MASK) << COUNT_BITS) | 1;
            if (!atomic_compare_exchange_weak(&s->state, &v, nv))
                continue;
            *summary = atomic_exchange(&s->suppressed, 0);
            *levels = atomic_exchange(&s->levels, 0);
            return true;
        }
        if ((v & COUNT_MASK) >= cfg->limit) {
            unsigned bit = 1u << level;
            if (!(atomic_load_explicit(&s->levels, RLX) & bit))
                atomic_fetch_or(&s->levels, bit);
            atomic_fetch_add_explicit(&s->suppressed, 1, RLX);
            return false;
        }
        if (atomic_compare_exchange_weak(&s->state, &v, v + 1))
            return true;
    }
}

static goio_log_level top_level(unsigned levels)
{
    for (int l = GOIO_LOG_ERROR; l > GOIO_LOG_DEBUG; l--)
        if (levels & (1u << l))
            return (goio_log_level)l;
    return levels ? GOIO_LOG_DEBUG : GOIO_LOG_WARN;
}

/*
 * The summary: the pair's category, code "log_suppressed", the suppressed
 * code as key, the highest level among the suppressed records. The
 * overflow slot reports as category "core" with no key.
 */
static void emit_summary(const settings *cfg, const char *category,
                         const char *code, bool overflow, uint64_t n,
                         unsigned levels)
{
    char message[200];
    if (overflow)
        snprintf(message, sizeof message,
                 "%llu records of other categories and codes suppressed "
                 "(rate-limit table full; limit %u per %lld ms)",
                 (unsigned long long)n, (unsigned)cfg->limit,
                 (long long)cfg->interval);
    else
        snprintf(message, sizeof message,
                 "%llu records suppressed (limit %u per %lld ms)",
                 (unsigned long long)n, (unsigned)cfg->limit,
                 (long long)cfg->interval);
    /* A slot keeps NULL names as "": report them as NULL either way. */
    if (overflow || (category && !*category))
        category = overflow ? "core" : NULL;
    if (overflow || (code && !*code))
        code = NULL;
    goio_log_record rec = {
        top_level(levels), category, "log_suppressed", code, 0, message};
    cfg->sink(&rec, cfg->sink_data);
}

/* Reports a slot's suppressed records: all of them (force) or only when
 * its window is over. */
static void slot_report(rl_slot *s, const settings *cfg, int64_t now,
                        bool force)
{
    if (!atomic_load_explicit(&s->suppressed, RLX))
        return;
    bool overflow = s == &overflow_slot;
    if (!overflow && !atomic_load_explicit(&s->ready, memory_order_acquire))
        return;
    if (!force &&
        !window_over(atomic_load_explicit(&s->state, RLX), now, cfg->interval))
        return;
    uint64_t n = atomic_exchange(&s->suppressed, 0);
    unsigned levels = atomic_exchange(&s->levels, 0);
    if (n && cfg->sink)
        emit_summary(cfg, s->category, s->code, overflow, n, levels);
}

static void report_all(const settings *cfg, int64_t now, bool force)
{
    for (unsigned i = 0; i < SLOTS; i++)
        slot_report(&slots[i], cfg, now, force);
    slot_report(&overflow_slot, cfg, now, force);
}

/* At most once per interval, a record also reports the pairs whose window
 * ended with suppressed records and that have not logged since. */
static void maybe_sweep(const settings *cfg, int64_t now)
{
    int64_t next = atomic_load_explicit(&next_sweep_ms, RLX);
    if (now < next)
        return;
    if (!atomic_compare_exchange_strong(&next_sweep_ms, &next,
                                        goio_time_add_ms(now, cfg->interval)))
        return;
    report_all(cfg, now, false);
}

static int64_t clock_now(const settings *cfg)
{
    return cfg->clock ? cfg->clock(cfg->clock_data) : goio_now_mono_coarse_ms();
}

/* ---- public API ---- */

void goio_log_set_sink(goio_log_sink_fn sink, void *data)
{
    pthread_mutex_lock(&cfg_lock);
    write_begin();
    atomic_store(&cfg_sink, sink);
    atomic_store(&cfg_sink_data, data);
    write_end();
    pthread_mutex_unlock(&cfg_lock);
}

int goio_log_set_level(goio_log_level level)
{
    if ((int)level < GOIO_LOG_DEBUG || level > GOIO_LOG_OFF)
        return GOIO_EINVAL;
    atomic_store(&min_level, (int)level);
    return 0;
}

goio_log_level goio_log_get_level(void)
{
    return (goio_log_level)atomic_load(&min_level);
}

bool goio_log_enabled(goio_log_level level)
{
    return level < GOIO_LOG_OFF && (int)level >= atomic_load(&min_level);
}

void goio_log_config_init(goio_log_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->limit = DEFAULT_LIMIT;
    cfg->interval_ms = DEFAULT_INTERVAL_MS;
    cfg->every_record = false;
    cfg->clock_fn = NULL;
    cfg->clock_data = NULL;
}

void goio_log_flush(void)
{
    settings cfg;
    settings_read(&cfg);
    report_all(&cfg, 0, true);
}

int goio_log_config_set(const goio_log_config *cfg)
{
    goio_log_config defaults;
    if (!cfg) {
        goio_log_config_init(&defaults);
        cfg = &defaults;
    }
    if (cfg->limit < 1 || cfg->limit > MAX_LIMIT || cfg->interval_ms < 1 ||
        cfg->interval_ms > MAX_INTERVAL_MS)
        return GOIO_EINVAL;
    /* What the old settings suppressed is reported under them. */
    goio_log_flush();
    pthread_mutex_lock(&cfg_lock);
    write_begin();
    atomic_store(&cfg_limit, cfg->limit);
    atomic_store(&cfg_interval, cfg->interval_ms);
    atomic_store(&cfg_every, cfg->every_record);
    atomic_store(&cfg_clock, cfg->clock_fn);
    atomic_store(&cfg_clock_data, cfg->clock_data);
    write_end();
    /* Windows measured on the old clock mean nothing on the new one. */
    for (unsigned i = 0; i < SLOTS; i++)
        atomic_store(&slots[i].state, 0);
    atomic_store(&overflow_slot.state, 0);
    atomic_store(&next_sweep_ms, INT64_MIN);
    pthread_mutex_unlock(&cfg_lock);
    return 0;
}

int goio_log_config_get(goio_log_config *out)
{
    if (!out)
        return GOIO_EINVAL;
    settings s;
    settings_read(&s);
    goio_log_config_init(out);
    out->limit = s.limit;
    out->interval_ms = s.interval;
    out->every_record = s.every;
    out->clock_fn = s.clock;
    out->clock_data = s.clock_data;
    return 0;
}

static const char *level_name(goio_log_level level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return (unsigned)level < 4 ? names[level] : "unknown";
}

/* A logfmt value needs quotes when it is empty or has space, '"' or '='. */
static bool needs_quotes(const char *s)
{
    if (!*s)
        return true;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '"' || *s == '=' || *s == '\\')
            return true;
    return false;
}

typedef struct {
    char *out;
    size_t size;
    size_t len;
} sink_text;

static void put_char(sink_text *t, char c)
{
    if (t->len + 1 < t->size)
        t->out[t->len] = c;
    t->len++;
}

static void put_str(sink_text *t, const char *s)
{
    while (*s)
        put_char(t, *s++);
}

static void put_field(sink_text *t, const char *name, const char *value)
{
    if (!value)
        return;
    if (t->len)
        put_char(t, ' ');
    put_str(t, name);
    put_char(t, '=');
    if (!needs_quotes(value)) {
        put_str(t, value);
        return;
    }
    put_char(t, '"');
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            put_char(t, '\\');
        if (*p == '\n')
            put_str(t, "\\n");
        else
            put_char(t, *p);
    }
    put_char(t, '"');
}

size_t goio_log_format(const goio_log_record *rec, char *out, size_t size)
{
    sink_text t = {out, out ? size : 0, 0};
    if (!rec)
        return 0;
    put_field(&t, "level", level_name(rec->level));
    put_field(&t, "category", rec->category);
    put_field(&t, "code", rec->code);
    put_field(&t, "key", rec->key);
    if (rec->error)
        put_field(&t, "error", goio_err_name(rec->error));
    put_field(&t, "msg", rec->message);
    if (t.size)
        t.out[t.len < t.size ? t.len : t.size - 1] = '\0';
    return t.len;
}

void goio_log_stderr_sink(const goio_log_record *rec, void *data)
{
    (void)data;
    char line[1024];
    size_t n = goio_log_format(rec, line, sizeof line);
    /* One fprintf per record keeps lines from different threads whole. */
    fprintf(stderr, "%s%s\n", line, n >= sizeof line ? "..." : "");
}

void goio_log(goio_log_level level, const char *category, const char *code,
              const char *key, int error, const char *fmt, ...)
{
    if (!goio_log_enabled(level))
        return;
    settings cfg;
    settings_read(&cfg);
    if (!cfg.sink)
        return;

    if (!cfg.every) {
        int64_t now = clock_now(&cfg);
        uint64_t summary = 0;
        unsigned levels = 0;
        rl_slot *s = slot_find(category, code);
        bool pass = admit(s, level, &cfg, now, &summary, &levels);
        if (summary)
            emit_summary(&cfg, category, code, s == &overflow_slot, summary,
                         levels);
        maybe_sweep(&cfg, now);
        if (!pass)
            return;
    }

    char message[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
    }
    goio_log_record rec = {level, category, code, key, error, message};
    cfg.sink(&rec, cfg.sink_data);
}
