/* SPDX-License-Identifier: MIT */
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

int sf_work_fn(goio_ctx *ctx, void **value, void *arg)
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
    if (w->exit_thread)
        pthread_exit(NULL);
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

bool sf_work_running(sf_work *w, int n)
{
    return GOIO_WAIT_UNTIL(atomic_load(&w->running) >= n, 10000);
}

int sf_count_fn(goio_ctx *ctx, void **value, void *arg)
{
    (void)ctx, (void)value;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static void *call_main(void *arg)
{
    sf_call *c = arg;
    c->rc = goio_sharedflight_do(c->g, c->ctx, c->key, sf_work_fn, c->work,
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

void sf_call_lead(sf_call *c, goio_sharedflight *g, const char *key,
                  goio_ctx *ctx, sf_work *w)
{
    int before = atomic_load(&w->executions);
    sf_call_start(c, g, key, ctx, w);
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&w->executions) > before, 10000));
}

void sf_call_join(sf_call *c)
{
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&c->done), 20000));
    pthread_join(c->thread, NULL);
}

typedef struct sf_runner {
    void *(*fn)(void *);
    void *arg;
    atomic_int *finished;
    pthread_t thread;
} sf_runner;

static void *runner_main(void *arg)
{
    sf_runner *r = arg;
    r->fn(r->arg);
    atomic_fetch_add(r->finished, 1);
    return NULL;
}

void sf_run_threads(int n, void *(*fn)(void *), void *args, size_t size)
{
    atomic_int finished = 0;
    sf_runner *r = calloc((size_t)n, sizeof *r);
    assert_non_null(r);
    for (int i = 0; i < n; i++) {
        r[i] = (sf_runner){fn, (char *)args + (size_t)i * size, &finished};
        assert_int_equal(pthread_create(&r[i].thread, NULL, runner_main, &r[i]),
                         0);
    }
    assert_true(GOIO_WAIT_UNTIL(atomic_load(&finished) == n, 20000));
    for (int i = 0; i < n; i++)
        pthread_join(r[i].thread, NULL);
    free(r);
}

sf_probe *sf_probe_new(void)
{
    sf_probe *p = calloc(1, sizeof *p);
    assert_non_null(p);
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

void sf_probe_release(sf_probe *p)
{
    for (int i = 0; i < SF_PROBE_SLOTS; i++) {
        goio_sharedflight_result_unref(p->result[i]);
        p->result[i] = NULL;
    }
}

void sf_probe_free(sf_probe *p)
{
    sf_probe_release(p);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

typedef struct probe_slot {
    sf_probe *p;
    int i;
} probe_slot;

static void probe_cb(int status, goio_sharedflight_result *r, bool shared,
                     void *data)
{
    probe_slot *s = data;
    sf_probe *p = s->p;
    pthread_mutex_lock(&p->lock);
    p->status[s->i] = status;
    p->result[s->i] = r;
    p->shared[s->i] = shared;
    p->thread[s->i] = pthread_self();
    p->calls++;
    pthread_mutex_unlock(&p->lock);
    free(s);
}

int sf_probe_calls(sf_probe *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->calls;
    pthread_mutex_unlock(&p->lock);
    return n;
}

bool sf_probe_wait(sf_probe *p, int n)
{
    return GOIO_WAIT_UNTIL(sf_probe_calls(p) >= n, 20000);
}

int sf_start(goio_sharedflight *g, const char *key, goio_ctx *ctx, sf_work *w,
             sf_probe *p, int i)
{
    probe_slot *s = malloc(sizeof *s);
    assert_non_null(s);
    *s = (probe_slot){p, i};
    int rc = goio_sharedflight_do_async(g, ctx, key, sf_work_fn, w,
                                        sf_destroy_value, probe_cb, s);
    if (rc)
        free(s);
    return rc;
}

int sf_setup(void **state)
{
    sf_fix *fx = calloc(1, sizeof *fx);
    if (!fx || goio_sharedflight_new(NULL, &fx->g)) {
        free(fx);
        return -1;
    }
    sf_work_init(&fx->w);
    fx->w.group = fx->g;
    fx->p = sf_probe_new();
    *state = fx;
    return 0;
}

int sf_teardown(void **state)
{
    sf_fix *fx = *state;
    goio_sharedflight_free(fx->g);
    sf_probe_free(fx->p);
    sf_work_destroy(&fx->w);
    free(fx);
    return 0;
}

void sf_fix_regroup(sf_fix *fx, const goio_sharedflight_config *cfg)
{
    goio_sharedflight_free(fx->g);
    fx->g = NULL;
    assert_ok(goio_sharedflight_new(cfg, &fx->g));
    fx->w.group = fx->g;
}

void sf_fix_free_group(sf_fix *fx)
{
    goio_sharedflight_free(fx->g);
    fx->g = NULL;
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
