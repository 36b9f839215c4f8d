/* SPDX-License-Identifier: MIT */
/*
 * The server's life: config, listen, the loop thread, the worker pool,
 * the ready list that carries output from workers to the loop, the
 * middleware chain, and the staged stop (drain, abort at the deadline,
 * join the workers, close the loop).
 */
#include "http_int.h"

#include <signal.h>
#include <string.h>

/* Which server's worker or loop thread this is, to refuse a stop from
 * inside the server (it would wait for itself). */
static _Thread_local goio_http_server *tls_server;

void goio_http_server_config_init(goio_http_server_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->worker_threads = 16;
    cfg->max_waiting_workers = 1024;
    cfg->max_connections = 1024;
    cfg->max_connections_per_client = 128;
    cfg->max_header_bytes = 16 * 1024;
    cfg->max_body_bytes = 8 * 1024 * 1024;
    cfg->max_buffered_body_bytes = 64 * 1024 * 1024;
    cfg->idle_timeout_ms = 60000;
    cfg->header_timeout_ms = 10000;
    cfg->request_timeout_ms = 60000;
    cfg->send_timeout_ms = 60000;
    cfg->linger_timeout_ms = 2000;
    cfg->chunk_size = 64 * 1024;
    cfg->max_pending_bytes = 256 * 1024;
    cfg->backlog = 511;
}

static bool config_valid(const goio_http_server_config *c)
{
    return c->handler && c->worker_threads && c->max_connections &&
           c->max_connections_per_client && c->max_header_bytes &&
           c->max_body_bytes && c->max_buffered_body_bytes &&
           c->idle_timeout_ms > 0 && c->header_timeout_ms > 0 &&
           c->request_timeout_ms > 0 && c->send_timeout_ms > 0 &&
           c->linger_timeout_ms >= 0 && c->chunk_size >= 512 &&
           c->chunk_size <= GOIO_BUFPOOL_LARGE && c->max_pending_bytes &&
           c->backlog > 0;
}

static int init_sync(goio_http_server *srv)
{
    if (pthread_mutex_init(&srv->stop_mu, NULL))
        return GOIO_ENOMEM;
    if (pthread_mutex_init(&srv->state_mu, NULL))
        goto e1;
    if (pthread_cond_init(&srv->state_cond, NULL))
        goto e2;
    if (pthread_mutex_init(&srv->ready_mu, NULL))
        goto e3;
    if (pthread_mutex_init(&srv->jobs_mu, NULL))
        goto e4;
    if (pthread_cond_init(&srv->jobs_cond, NULL))
        goto e5;
    return 0;
e5:
    pthread_mutex_destroy(&srv->jobs_mu);
e4:
    pthread_mutex_destroy(&srv->ready_mu);
e3:
    pthread_cond_destroy(&srv->state_cond);
e2:
    pthread_mutex_destroy(&srv->state_mu);
e1:
    pthread_mutex_destroy(&srv->stop_mu);
    return GOIO_ENOMEM;
}

static void destroy_sync(goio_http_server *srv)
{
    pthread_cond_destroy(&srv->jobs_cond);
    pthread_mutex_destroy(&srv->jobs_mu);
    pthread_mutex_destroy(&srv->ready_mu);
    pthread_cond_destroy(&srv->state_cond);
    pthread_mutex_destroy(&srv->state_mu);
    pthread_mutex_destroy(&srv->stop_mu);
}

int goio_http_server_new(const goio_http_server_config *cfg,
                         goio_http_server **out)
{
    if (out)
        *out = NULL;
    if (!cfg || !out || !config_valid(cfg))
        return GOIO_EINVAL;
    goio_http_server *srv = goio_calloc(1, sizeof *srv);
    if (!srv)
        return GOIO_ENOMEM;
    srv->cfg = *cfg;
    srv->port = GOIO_EINVAL;
    srv->readbuf_len = 64 * 1024;
    srv->readbuf = goio_malloc(srv->readbuf_len);
    int rc = srv->readbuf ? goio_ctx_new(NULL, &srv->root_ctx) : GOIO_ENOMEM;
    if (!rc && (rc = init_sync(srv)) == 0 &&
        (rc = uv_loop_init(&srv->loop)) != 0)
        destroy_sync(srv);
    if (rc) {
        goio_ctx_unref(srv->root_ctx);
        goio_free(srv->readbuf);
        goio_free(srv);
        return rc;
    }
    atomic_init(&srv->stopping, false);
    *out = srv;
    return 0;
}

static bool started(goio_http_server *srv)
{
    pthread_mutex_lock(&srv->state_mu);
    bool s = srv->phase != GOIO__HTTP_NEW;
    pthread_mutex_unlock(&srv->state_mu);
    return s;
}

int goio_http_server_use(goio_http_server *srv, goio_http_middleware_fn fn,
                         void *data)
{
    if (!srv || !fn)
        return GOIO_EINVAL;
    if (started(srv))
        return GOIO_EBUSY;
    size_t n = srv->nmw + 1;
    goio_http_middleware_fn *fns =
        goio_reallocarray(srv->mw_fns, n, sizeof *fns);
    if (!fns)
        return GOIO_ENOMEM;
    srv->mw_fns = fns;
    void **datas = goio_reallocarray(srv->mw_data, n, sizeof *datas);
    if (!datas)
        return GOIO_ENOMEM;
    srv->mw_data = datas;
    fns[srv->nmw] = fn;
    datas[srv->nmw] = data;
    srv->nmw = n;
    return 0;
}

/* ---- listen -------------------------------------------------------------- */

static int resolve(goio_http_server *srv, const char *host, int port,
                   struct sockaddr_storage *ss)
{
    if (!host || !strcmp(host, "localhost"))
        host = "127.0.0.1";
    if (!uv_ip4_addr(host, port, (struct sockaddr_in *)ss) ||
        !uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss))
        return 0;
    uv_getaddrinfo_t req;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(&srv->loop, &req, NULL, host, NULL, &hints);
    if (rc)
        return rc;
    memcpy(ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    return 0;
}

static int bound_port(uv_tcp_t *t)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int rc = uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len);
    if (rc)
        return rc;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int goio_http_server_listen(goio_http_server *srv, const char *host, int port)
{
    if (!srv || port < 0 || port > 65535)
        return GOIO_EINVAL;
    if (srv->listening || started(srv))
        return GOIO_EALREADY;
    struct sockaddr_storage ss;
    int rc = resolve(srv, host, port, &ss);
    if (rc)
        return rc;
    if ((rc = uv_tcp_init(&srv->loop, &srv->listener)))
        return rc;
    srv->listener.data = srv;
    rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&srv->listener, srv->cfg.backlog,
                       goio__http_on_connection);
    if (!rc)
        rc = bound_port(&srv->listener);
    if (rc < 0) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        uv_run(&srv->loop, UV_RUN_NOWAIT); /* completes the close */
        return rc;
    }
    srv->port = rc;
    srv->listening = true;
    return 0;
}

int goio_http_server_port(const goio_http_server *srv)
{
    return srv ? srv->port : GOIO_EINVAL;
}

/* ---- ready list: worker output to the loop ------------------------------- */

void goio__http_server_notify(goio_http_server *srv, goio__http_exchange *ex)
{
    bool added = false;
    pthread_mutex_lock(&srv->ready_mu);
    if (!ex->in_ready) {
        ex->in_ready = true;
        ex->ready_next = NULL;
        goio__http_exchange_ref(ex);
        if (srv->ready_tail)
            srv->ready_tail->ready_next = ex;
        else
            srv->ready_head = ex;
        srv->ready_tail = ex;
        added = true;
    }
    pthread_mutex_unlock(&srv->ready_mu);
    if (added)
        uv_async_send(&srv->async);
}

static goio__http_exchange *pop_ready(goio_http_server *srv)
{
    pthread_mutex_lock(&srv->ready_mu);
    goio__http_exchange *ex = srv->ready_head;
    if (ex) {
        srv->ready_head = ex->ready_next;
        if (!srv->ready_head)
            srv->ready_tail = NULL;
        ex->in_ready = false; /* output queued from now on re-adds it */
    }
    pthread_mutex_unlock(&srv->ready_mu);
    return ex;
}

/* Writes the output of the exchanges queued so far (not of those queued
 * meanwhile, so a busy worker cannot keep the loop here). */
static void process_ready(goio_http_server *srv)
{
    size_t n = 0;
    pthread_mutex_lock(&srv->ready_mu);
    for (goio__http_exchange *i = srv->ready_head; i; i = i->ready_next)
        n++;
    pthread_mutex_unlock(&srv->ready_mu);
    goio__http_exchange *ex;
    while (n-- && (ex = pop_ready(srv))) {
        goio__http_conn_process(ex);
        goio__http_exchange_unref(ex);
    }
}

bool goio__http_server_stopping(const goio_http_server *srv)
{
    return atomic_load(&srv->stopping);
}

const goio_http_server_config *
goio__http_server_cfg(const goio_http_server *srv)
{
    return &srv->cfg;
}

/* ---- workers and the middleware chain ------------------------------------ */

static void chain_step(goio_http_request *req, goio_http_response *res,
                       void *data)
{
    goio__http_link *l = data;
    goio_http_server *srv = l->srv;
    if (l->i < srv->nmw) {
        goio_http_handler next = {chain_step, &srv->links[l->i + 1]};
        srv->mw_fns[l->i](req, res, next, srv->mw_data[l->i]);
    } else {
        srv->cfg.handler(req, res, srv->cfg.handler_data);
    }
}

static void run_exchange(goio_http_server *srv, goio__http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    bool gone = ex->failed != 0; /* aborted by stop before it started */
    pthread_mutex_unlock(&ex->mu);
    if (!gone)
        chain_step(ex->req, &ex->res, &srv->links[0]);
    goio__http_exchange_finish(ex);
    goio__http_exchange_unref(ex);
}

/* Wakes one sleeping worker unless a signal is already on its way
 * (jobs_mu held). A burst of jobs wakes workers one after the other (each
 * woken worker that takes a job wakes the next while jobs remain) instead
 * of all at once: a worker that finishes a short handler meanwhile takes
 * the next job without a sleeping one being woken for it. */
static void wake_worker(goio_http_server *srv)
{
    if (!srv->waking && srv->sleeping) {
        srv->waking++;
        pthread_cond_signal(&srv->jobs_cond);
    }
}

static void *worker_main(void *arg)
{
    goio_http_server *srv = arg;
    tls_server = srv;
    for (;;) {
        pthread_mutex_lock(&srv->jobs_mu);
        while (!srv->jobs_head && !srv->workers_quit) {
            srv->sleeping++;
            pthread_cond_wait(&srv->jobs_cond, &srv->jobs_mu);
            srv->sleeping--;
            if (srv->waking) /* maybe another's signal: one wake too many */
                srv->waking--;
        }
        goio__http_exchange *ex = srv->jobs_head;
        if (ex) {
            srv->jobs_head = ex->job_next;
            if (!srv->jobs_head)
                srv->jobs_tail = NULL;
            else
                wake_worker(srv); /* the rest may need another worker */
        }
        pthread_mutex_unlock(&srv->jobs_mu);
        if (!ex)
            return NULL; /* quit, and every queued job is done */
        run_exchange(srv, ex);
    }
}

void goio__http_server_dispatch(goio_http_server *srv, goio__http_exchange *ex)
{
    pthread_mutex_lock(&srv->jobs_mu);
    ex->job_next = NULL;
    if (srv->jobs_tail)
        srv->jobs_tail->job_next = ex;
    else
        srv->jobs_head = ex;
    srv->jobs_tail = ex;
    wake_worker(srv);
    pthread_mutex_unlock(&srv->jobs_mu);
}

void goio__http_server_worker_waits(goio_http_server *srv, bool waits)
{
    pthread_mutex_lock(&srv->jobs_mu);
    if (!waits) {
        srv->waiting--;
    } else {
        srv->waiting++;
        /* Keep worker_threads threads free for other requests: a handler
         * waiting for a slow client does not count (up to the budget). */
        if (!srv->workers_quit &&
            srv->nworkers - srv->waiting < srv->cfg.worker_threads &&
            srv->nworkers < srv->workers_cap &&
            !pthread_create(&srv->workers[srv->nworkers], NULL, worker_main,
                            srv))
            srv->nworkers++;
    }
    pthread_mutex_unlock(&srv->jobs_mu);
}

static void join_workers(goio_http_server *srv)
{
    pthread_mutex_lock(&srv->jobs_mu);
    srv->workers_quit = true;
    pthread_cond_broadcast(&srv->jobs_cond);
    unsigned n = srv->nworkers; /* none is added after workers_quit */
    pthread_mutex_unlock(&srv->jobs_mu);
    for (unsigned i = 0; i < n; i++)
        pthread_join(srv->workers[i], NULL);
    srv->nworkers = 0;
}

/* ---- the loop thread ----------------------------------------------------- */

static void set_drained_if_done(goio_http_server *srv)
{
    if (!srv->drain_started || srv->nconns || !srv->listener_closed)
        return;
    pthread_mutex_lock(&srv->state_mu);
    srv->drained = true;
    pthread_cond_broadcast(&srv->state_cond);
    pthread_mutex_unlock(&srv->state_mu);
}

void goio__http_server_conn_gone(goio_http_server *srv)
{
    srv->nconns--;
    set_drained_if_done(srv);
}

static void on_listener_closed(uv_handle_t *h)
{
    goio_http_server *srv = h->data;
    srv->listener_closed = true;
    set_drained_if_done(srv);
}

static void on_stop_deadline(uv_timer_t *t)
{
    goio_http_server *srv = t->data;
    if (srv->nconns)
        goio_log(GOIO_LOG_WARN, GOIO__HTTP_CAT, "http_stop_abort", NULL,
                 GOIO_ECANCELED,
                 "stop deadline: aborting %u connection(s) in flight",
                 srv->nconns);
    goio__http_conns_abort(srv);
    goio_ctx_cancel(srv->root_ctx);
}

static void start_drain(goio_http_server *srv)
{
    srv->drain_started = true;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    goio__http_conns_drain(srv);
    uv_timer_start(&srv->stop_timer, on_stop_deadline,
                   (uint64_t)srv->stop_timeout_ms, 0);
    set_drained_if_done(srv);
}

static void on_async(uv_async_t *a)
{
    goio_http_server *srv = a->data;
    process_ready(srv);
    pthread_mutex_lock(&srv->state_mu);
    goio__http_phase phase = srv->phase;
    pthread_mutex_unlock(&srv->state_mu);
    if (phase == GOIO__HTTP_DRAINING && !srv->drain_started)
        start_drain(srv);
    if (phase == GOIO__HTTP_EXITING) {
        /* Workers are joined: nothing queues output any more. */
        uv_close((uv_handle_t *)&srv->stop_timer, NULL);
        uv_close((uv_handle_t *)&srv->accept_timer, NULL);
        uv_close((uv_handle_t *)&srv->async, NULL);
    }
}

static void *loop_main(void *arg)
{
    goio_http_server *srv = arg;
    tls_server = srv;
    /* libuv writes sockets with writev(2): a peer that left would raise
     * SIGPIPE and kill the process. The signal goes to the writing thread,
     * so blocking it here makes the write fail with EPIPE instead, without
     * touching the application's signal dispositions. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int start_threads(goio_http_server *srv)
{
    /* A start that failed here before joined its workers by setting
     * workers_quit: the new ones must not quit at once. */
    srv->workers_quit = false;
    goio_free(srv->workers);
    srv->workers_cap = srv->cfg.worker_threads + srv->cfg.max_waiting_workers;
    srv->workers = goio_calloc(srv->workers_cap, sizeof *srv->workers);
    if (!srv->workers)
        return GOIO_ENOMEM;
    for (unsigned i = 0; i < srv->cfg.worker_threads; i++) {
        if (pthread_create(&srv->workers[i], NULL, worker_main, srv)) {
            join_workers(srv);
            return GOIO_EAGAIN;
        }
        srv->nworkers++;
    }
    if (pthread_create(&srv->loop_thread, NULL, loop_main, srv)) {
        join_workers(srv);
        return GOIO_EAGAIN;
    }
    srv->loop_thread_started = true;
    return 0;
}

static int make_links(goio_http_server *srv)
{
    goio_free(srv->links); /* from a start that failed */
    srv->links = goio_calloc(srv->nmw + 1, sizeof *srv->links);
    if (!srv->links)
        return GOIO_ENOMEM;
    for (size_t i = 0; i <= srv->nmw; i++)
        srv->links[i] = (goio__http_link){srv, i};
    return 0;
}

int goio_http_server_start(goio_http_server *srv)
{
    if (!srv || !srv->listening)
        return GOIO_EINVAL;
    if (started(srv))
        return GOIO_EALREADY;
    int rc = make_links(srv);
    if (rc)
        return rc;
    if (!srv->spare && !(srv->spare = goio_calloc(1, sizeof *srv->spare)))
        return GOIO_ENOMEM;
    if ((rc = uv_async_init(&srv->loop, &srv->async, on_async)))
        return rc;
    srv->async.data = srv;
    uv_timer_init(&srv->loop, &srv->stop_timer);
    srv->stop_timer.data = srv;
    uv_timer_init(&srv->loop, &srv->accept_timer);
    srv->accept_timer.data = srv;
    pthread_mutex_lock(&srv->state_mu);
    srv->phase = GOIO__HTTP_RUNNING;
    pthread_mutex_unlock(&srv->state_mu);
    if ((rc = start_threads(srv))) {
        /* The loop never ran: close its handles here. */
        pthread_mutex_lock(&srv->state_mu);
        srv->phase = GOIO__HTTP_NEW;
        pthread_mutex_unlock(&srv->state_mu);
        uv_close((uv_handle_t *)&srv->async, NULL);
        uv_close((uv_handle_t *)&srv->stop_timer, NULL);
        uv_close((uv_handle_t *)&srv->accept_timer, NULL);
        uv_run(&srv->loop, UV_RUN_NOWAIT);
        return rc;
    }
    return 0;
}

/* ---- stop and free ------------------------------------------------------- */

static void set_phase(goio_http_server *srv, goio__http_phase phase)
{
    pthread_mutex_lock(&srv->state_mu);
    srv->phase = phase;
    pthread_mutex_unlock(&srv->state_mu);
    uv_async_send(&srv->async);
}

int goio_http_server_stop(goio_http_server *srv, int64_t timeout_ms)
{
    if (!srv)
        return GOIO_EINVAL;
    if (tls_server == srv)
        return GOIO_EBUSY; /* from a handler: it would wait for itself */
    pthread_mutex_lock(&srv->stop_mu);
    pthread_mutex_lock(&srv->state_mu);
    goio__http_phase phase = srv->phase;
    pthread_mutex_unlock(&srv->state_mu);
    if (phase != GOIO__HTTP_RUNNING) {
        pthread_mutex_unlock(&srv->stop_mu);
        return 0;
    }
    srv->stop_timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
    atomic_store(&srv->stopping, true);
    set_phase(srv, GOIO__HTTP_DRAINING);
    pthread_mutex_lock(&srv->state_mu);
    while (!srv->drained)
        pthread_cond_wait(&srv->state_cond, &srv->state_mu);
    pthread_mutex_unlock(&srv->state_mu);
    /* No connection is left, so handlers still running fail their writes;
     * the loop keeps taking their output until they return. */
    goio_ctx_cancel(srv->root_ctx);
    join_workers(srv);
    set_phase(srv, GOIO__HTTP_EXITING);
    pthread_join(srv->loop_thread, NULL);
    process_ready(srv); /* anything queued after the loop's last turn */
    pthread_mutex_lock(&srv->state_mu);
    srv->phase = GOIO__HTTP_STOPPED;
    pthread_mutex_unlock(&srv->state_mu);
    pthread_mutex_unlock(&srv->stop_mu);
    return 0;
}

void goio_http_server_free(goio_http_server *srv)
{
    if (!srv)
        return;
    if (tls_server == srv) {
        /* From its own handler: freeing would pull the server from under
         * the running thread. Refuse loudly instead of crashing. */
        goio_log(GOIO_LOG_ERROR, GOIO__HTTP_CAT, "http_free_from_handler", NULL,
                 GOIO_EBUSY,
                 "goio_http_server_free called from the server's own "
                 "thread; not freed");
        return;
    }
    goio_http_server_stop(srv, 0);
    if (srv->phase == GOIO__HTTP_NEW && srv->listening) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        uv_run(&srv->loop, UV_RUN_NOWAIT);
    }
    uv_run(&srv->loop, UV_RUN_NOWAIT);
    uv_loop_close(&srv->loop);
    goio__http_clients_free(srv);
    destroy_sync(srv);
    goio_ctx_unref(srv->root_ctx);
    goio_free(srv->readbuf);
    goio_free(srv->spare);
    goio_free(srv->workers);
    goio_free(srv->links);
    goio_free(srv->mw_fns);
    goio_free(srv->mw_data);
    goio_free(srv);
}
