#include "sf_test.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

void sf_work_init(sf_work *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->with_value = true;
}

void sf_work_destroy(sf_work *w)
{
    goio_ctx_unref(atomic_load(&w->seen_ctx));
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

void sf_work_open(sf_work *w)
{
    pthread_mutex_lock(&w->lock);
    w->open = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void wait_gate(sf_work *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->open)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

int sf_work_fn(goio_ctx *ctx, void *arg, void **value)
{
    sf_work *w = arg;
    int execution = atomic_fetch_add(&w->executions, 1) + 1;
    atomic_fetch_add(&w->running, 1);
    goio_ctx *old = atomic_exchange(&w->seen_ctx, goio_ctx_ref(ctx));
    goio_ctx_unref(old);
    if (w->wait_callers)
        assert_true(sf_wait_callers(w->group, w->key, w->wait_callers));
    if (w->gated)
        wait_gate(w);
    if (w->until_done)
        assert_ok(goio_ctx_wait(ctx, 20000));
    atomic_store(&w->ctx_err_at_end, goio_ctx_err(ctx));
    if (w->with_value) {
        sf_value *v = malloc(sizeof *v);
        assert_non_null(v);
        *v = (sf_value){execution, w};
        *value = v;
    }
    atomic_fetch_sub(&w->running, 1);
    return w->rc;
}

void sf_destroy_value(void *value)
{
    sf_value *v = value;
    atomic_fetch_add(&v->work->destroyed, 1);
    free(v);
}

static void *call_main(void *arg)
{
    sf_call *c = arg;
    c->rc = goio_sharedflight_do(c->g, c->key, c->ctx, sf_work_fn, c->work,
                                 sf_destroy_value, &c->result, &c->shared);
    c->returned_at = goio_now_mono_ms();
    atomic_store(&c->done, true);
    return NULL;
}

void sf_call_start(sf_call *c, goio_sharedflight *g, const char *key,
                   goio_ctx *ctx, sf_work *w)
{
    memset(c, 0, sizeof *c);
    c->g = g;
    c->key = key;
    c->ctx = ctx;
    c->work = w;
    c->rc = 99;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    assert_int_equal(pthread_create(&c->thread, &attr, call_main, c), 0);
    pthread_attr_destroy(&attr);
}

void sf_call_join(sf_call *c)
{
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&c->done), 20000));
    pthread_join(c->thread, NULL);
}

/* A thread that has exited may linger in /proc for a moment: count only
 * live ones. */
static bool task_alive(const char *tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')'); /* "tid (comm) S ..." */
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

int sf_thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && task_alive(e->d_name))
            n++;
    closedir(d);
    return n;
}

bool sf_threads_become(int n)
{
    return GOIO_WAIT_UNTIL(sf_thread_count() == n, 5000);
}

bool sf_wait_callers(goio_sharedflight *g, const char *key, size_t n)
{
    size_t have = 0;
    return GOIO_WAIT_UNTIL(
        !goio_sharedflight_callers(g, key, &have) && have >= n, 20000);
}

static void *nothing(void *arg)
{
    return arg;
}

int sf_thread_baseline(void)
{
    /* Sanitizer runtimes start a helper thread with the first thread. */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, nothing, NULL), 0);
    pthread_join(t, NULL);
    return sf_thread_count();
}
