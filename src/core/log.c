/*
 * The logging sink. The sink and its data are swapped together under a
 * mutex and called outside it, so a slow sink never blocks a reconfigure
 * and records from many threads do not serialize on goio.
 */
#include <goio/core.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static goio_log_sink_fn sink_fn = goio_log_stderr_sink;
static void *sink_data;
static _Atomic int min_level = GOIO_LOG_WARN;

void goio_log_set_sink(goio_log_sink_fn sink, void *data)
{
    pthread_mutex_lock(&sink_lock);
    sink_fn = sink;
    sink_data = data;
    pthread_mutex_unlock(&sink_lock);
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
    pthread_mutex_lock(&sink_lock);
    goio_log_sink_fn fn = sink_fn;
    void *data = sink_data;
    pthread_mutex_unlock(&sink_lock);
    if (!fn)
        return;

    char message[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
    }
    goio_log_record rec = {level, category, code, key, error, message};
    fn(&rec, data);
}
