/* SPDX-License-Identifier: MIT */
/*
 * catalog: a small HTTP service built on goio (see catalog.h for the
 * routes). With --redis it runs memory + Redis layers and keeps every
 * instance's local copies coherent; without, it runs on the memory cache
 * alone and says so.
 *
 *   catalog [--listen HOST:PORT] [--redis HOST:PORT] [--name NAME]
 *           [--namespace NS] [--ttl-ms N] [--stale-ttl-ms N]
 *           [--origin-delay-ms N] [--port-file PATH] [--client-tracking]
 *
 * With --redis, instances drop their local copy of an item when another
 * instance changes it (explicit pub/sub invalidations); --client-tracking
 * adds Redis' CLIENT TRACKING, so writes by any Redis client count too.
 *
 * SIGINT or SIGTERM stops it gracefully.
 */
#include "catalog.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: catalog [options]\n"
    "A small catalog service on goio: GET /items/{id} through a "
    "stale-on-error\n"
    "cache (memory, or memory + Redis kept coherent by pub/sub), a streamed\n"
    "/export.tar.gz, /metrics, and /admin/origin to steer the pretend origin.\n"
    "\n"
    "  --listen HOST:PORT      where to listen (default 127.0.0.1:8080; port "
    "0:\n"
    "                          any free port, see --port-file)\n"
    "  --redis HOST:PORT|URL   Redis as the remote layer (redis://, "
    "rediss://,\n"
    "                          unix:// URLs too); without it: memory only\n"
    "  --name NAME             instance name, sent as X-Instance "
    "(catalog)\n"
    "  --namespace NS          Redis key namespace (catalog)\n"
    "  --ttl-ms N              freshness of a cached item (2000)\n"
    "  --stale-ttl-ms N        how long a stale copy is kept, > ttl (60000)\n"
    "  --origin-delay-ms N     the pretend origin's latency (300)\n"
    "  --deadline-ms N         each item request's deadline (5000)\n"
    "  --redis-timeout-ms N    Redis connect/read/write timeout (goio's)\n"
    "  --port-file PATH        write the bound port there once listening\n"
    "  --client-tracking       also drop local copies on Redis CLIENT "
    "TRACKING\n"
    "  -h, --help              this text\n";

static void usage(void)
{
    fputs(usage_text, stderr);
    exit(2);
}

static void help(void)
{
    fputs(usage_text, stdout);
    exit(0);
}

static void parse_listen(const char *arg, catalog_options *o)
{
    static char host[256];
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof host)
        usage();
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    o->listen_host = host;
    o->listen_port = atoi(colon + 1);
}

static void parse_options(int argc, char **argv, catalog_options *o)
{
    *o = (catalog_options){"127.0.0.1", 8080,  NULL, "catalog", "catalog",
                           2000,        60000, 300,  NULL};
    o->deadline_ms = 5000;
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"redis", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},
        {"namespace", required_argument, NULL, 's'},
        {"ttl-ms", required_argument, NULL, 't'},
        {"stale-ttl-ms", required_argument, NULL, 'S'},
        {"origin-delay-ms", required_argument, NULL, 'd'},
        {"port-file", required_argument, NULL, 'p'},
        {"client-tracking", no_argument, NULL, 'T'},
        {"deadline-ms", required_argument, NULL, 'D'},
        {"redis-timeout-ms", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            parse_listen(optarg, o);
            break;
        case 'r':
            o->redis = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 's':
            o->namespace = optarg;
            break;
        case 't':
            o->ttl_ms = atoll(optarg);
            break;
        case 'S':
            o->stale_ttl_ms = atoll(optarg);
            break;
        case 'd':
            o->origin_delay_ms = atoll(optarg);
            break;
        case 'p':
            o->port_file = optarg;
            break;
        case 'T':
            o->client_tracking = true;
            break;
        case 'D':
            o->deadline_ms = atoll(optarg);
            break;
        case 'R':
            o->redis_timeout_ms = atoll(optarg);
            break;
        case 'h':
            help();
            break;
        default:
            usage();
        }
    }
    if (optind != argc || o->ttl_ms <= 0 || o->stale_ttl_ms <= o->ttl_ms ||
        o->deadline_ms <= 0 || o->redis_timeout_ms < 0)
        usage();
}

/*
 * The cache stack, bottom up: a bounded memory cache; with Redis, a hybrid
 * of it and Redis, kept coherent across instances by pub/sub (explicit
 * invalidations from other goio instances, CLIENT TRACKING for writes by
 * any Redis client); on top, the stale-on-error wrapper that get-or-set
 * goes through.
 */
static int build_redis_layers(catalog *c)
{
    goio_redis_config rcfg;
    goio_redis_config_init(&rcfg);
    int rc = 0;
    if (strstr(c->opt.redis, "://"))
        rc = goio_redis_config_from_url(&rcfg, c->opt.redis);
    else
        rcfg.endpoint = c->opt.redis;
    rcfg.key_namespace = c->opt.namespace;
    if (c->opt.redis_timeout_ms > 0) /* the valgrind tour runs ~20x slower */
        rcfg.connect_timeout_ms = rcfg.read_timeout_ms = rcfg.write_timeout_ms =
            c->opt.redis_timeout_ms;
    if (!rc) {
        rc = goio_redis_new(&rcfg, &c->redis);
        goio_redis_config_deinit(&rcfg); /* the handle keeps its own copy */
    }
    if (!rc)
        rc = goio_cache_hybrid_new(c->local, goio_redis_cache(c->redis), true,
                                   &c->layers);
    if (rc) {
        goio_redis_free(c->redis);
        c->redis = NULL;
        return rc;
    }
    goio_pubsub_config pcfg;
    goio_pubsub_config_init(&pcfg);
    pcfg.client_tracking = c->opt.client_tracking;
    if ((rc = goio_pubsub_new(c->redis, &pcfg, &c->pubsub)))
        return rc;
    goio_pubsub_coherent_config ccfg;
    goio_pubsub_coherent_config_init(&ccfg);
    ccfg.server_assisted = c->opt.client_tracking;
    return goio_pubsub_coherent_new(c->pubsub, c->layers, &ccfg, &c->coherent);
}

static int build_caches(catalog *c)
{
    goio_cache_memory_config mc;
    goio_cache_memory_config_init(&mc);
    mc.max_bytes = 16 << 20;
    int rc = goio_cache_memory_new(&mc, &c->local);
    if (rc)
        return rc;
    c->layers = c->local;
    if (c->opt.redis && (rc = build_redis_layers(c)))
        return rc;
    goio_cache *top = c->coherent ? c->coherent : c->layers;
    return goio_cache_stale_new(top, c->opt.stale_ttl_ms, false, &c->items);
}

/* Frees the stack top down: the pub/sub handle must go before the Redis
 * handle it borrows (freed with the hybrid that owns it). */
static void free_caches(catalog *c)
{
    goio_cache_free(c->items);
    goio_cache_free(c->coherent);
    goio_pubsub_free(c->pubsub);
    goio_cache_free(c->layers);
}

static int build_routes(catalog *c)
{
    static goio_prom_tracker_config tracking = {
        "catalog", "1.0", NULL, true, {NULL, NULL}};
    int rc = goio_http_router_new(&c->router);
    if (rc)
        return rc;
    struct {
        const char *method, *pattern;
        goio_http_handler_fn fn;
        void *data;
    } routes[] = {
        {"GET", "/items/{id}", catalog_get_item, c},
        {"POST", "/items/{id}/invalidate", catalog_invalidate_item, c},
        {"GET", "/export.tar.gz", catalog_export, c},
        {"GET", "/metrics", goio_prom_http_handler, &c->metrics},
        {NULL, "/admin/origin", catalog_admin_origin, c},
    };
    for (size_t i = 0; !rc && i < sizeof routes / sizeof routes[0]; i++)
        rc = goio_http_router_handle(c->router, routes[i].method,
                                     routes[i].pattern, routes[i].fn,
                                     routes[i].data);
    goio_http_server_config cfg;
    goio_http_server_config_init(&cfg);
    cfg.handler = goio_http_router_serve;
    cfg.handler_data = c->router;
    if (!rc)
        rc = goio_http_server_new(&cfg, &c->server);
    if (!rc)
        rc = goio_http_server_use(c->server, goio_prom_http_middleware,
                                  &tracking);
    return rc;
}

static int start(catalog *c)
{
    int rc = goio_http_server_listen(c->server, c->opt.listen_host,
                                     c->opt.listen_port);
    if (!rc)
        rc = goio_http_server_start(c->server);
    if (rc)
        return rc;
    int port = goio_http_server_port(c->server);
    if (c->opt.port_file) {
        FILE *f = fopen(c->opt.port_file, "w");
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    printf("catalog %s listening on http://%s:%d (cache: %s%s)\n", c->opt.name,
           c->opt.listen_host, port,
           c->redis ? "memory + redis at " : "memory only, no --redis",
           c->redis ? c->opt.redis : "");
    fflush(stdout);
    return 0;
}

static void shut_down(catalog *c)
{
    goio_http_server_free(c->server); /* stops it: in-flight get 5 s */
    goio_http_router_free(c->router);
    catalog_metrics_free(c);
    free_caches(c);
}

int main(int argc, char **argv)
{
    catalog c = {0};
    parse_options(argc, argv, &c.opt);
    atomic_store(&c.origin.delay_ms, c.opt.origin_delay_ms);

    /* Signals are taken by sigwait below; every thread goio starts
     * inherits this mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    int rc = build_caches(&c);
    if (!rc)
        rc = catalog_metrics_init(&c);
    if (!rc)
        rc = build_routes(&c);
    if (!rc)
        rc = start(&c);
    if (rc) {
        fprintf(stderr, "catalog: %s (%s)\n", goio_strerror(rc),
                goio_err_name(rc));
        shut_down(&c);
        return 1;
    }
    int sig;
    sigwait(&stop, &sig);
    printf("catalog %s: %s, stopping\n", c.opt.name,
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    goio_http_server_stop(c.server, 5000);
    shut_down(&c);
    return 0;
}
