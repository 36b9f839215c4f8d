/* SPDX-License-Identifier: MIT */
/*
 * /metrics: the Go library's io_http_* request metrics (the tracking
 * middleware in main.c), a counter of how item requests were served, and
 * a collector that exports cache and pub/sub numbers at scrape time (the
 * prometheus module never includes cache or redis: the service wires
 * them, as here).
 */
#include "catalog.h"

#include <stdio.h>

static int add_counter(goio_prom_sink *sink, const char *name, const char *help,
                       const char *const *labels, const uint64_t *values,
                       size_t n)
{
    static const char *const layer[] = {"layer"};
    int rc =
        goio_prom_sink_family(sink, GOIO_PROM_COUNTER, name, help, layer, 1);
    for (size_t i = 0; !rc && i < n; i++)
        rc = goio_prom_sink_value(sink, &labels[i], (double)values[i]);
    return rc;
}

static int collect_cache(goio_prom_sink *sink, catalog *c)
{
    goio_cache_stats items = {0}, local = {0};
    goio_cache_stats_get(c->items, &items);
    goio_cache_stats_get(c->local, &local);
    static const char *const layers[] = {"service", "local"};
    uint64_t hits[] = {items.hits, local.hits};
    uint64_t misses[] = {items.misses, local.misses};
    int rc = add_counter(sink, "catalog_cache_hits_total",
                         "Cache hits, at the service and the local layer.",
                         layers, hits, 2);
    if (!rc)
        rc = add_counter(sink, "catalog_cache_misses_total",
                         "Cache misses, at the service and the local layer.",
                         layers, misses, 2);
    static const char *const service[] = {"service"};
    if (!rc)
        rc = add_counter(sink, "catalog_cache_fetches_total",
                         "Origin fetches run by get-or-set.", service,
                         &items.fetches, 1);
    if (!rc)
        rc = add_counter(sink, "catalog_cache_stale_served_total",
                         "Expired values served because the origin failed.",
                         service, &items.stale_served, 1);
    static const char *const mem[] = {"local"};
    if (!rc)
        rc = add_counter(sink, "catalog_cache_evictions_total",
                         "Entries the memory cache evicted to stay bounded.",
                         mem, &local.evictions, 1);
    if (!rc)
        rc = goio_prom_sink_family(
            sink, GOIO_PROM_GAUGE, "catalog_cache_local_bytes",
            "Bytes the local memory cache holds.", NULL, 0);
    if (!rc)
        rc = goio_prom_sink_value(sink, NULL, (double)local.bytes);
    return rc;
}

static int add_total(goio_prom_sink *sink, const char *name, const char *help,
                     uint64_t value)
{
    int rc =
        goio_prom_sink_family(sink, GOIO_PROM_COUNTER, name, help, NULL, 0);
    return rc ? rc : goio_prom_sink_value(sink, NULL, (double)value);
}

static int collect_origin(goio_prom_sink *sink, catalog *c)
{
    int rc = goio_prom_sink_family(
        sink, GOIO_PROM_COUNTER, "catalog_origin_calls_total",
        "Calls that reached the slow origin.", NULL, 0);
    if (!rc)
        rc = goio_prom_sink_value(sink, NULL,
                                  (double)atomic_load(&c->origin.calls));
    return rc;
}

static int collect_pubsub(goio_prom_sink *sink, catalog *c)
{
    goio_pubsub_stats ps;
    goio_pubsub_coherent_stats cs;
    if (!c->pubsub || goio_pubsub_stats_get(c->pubsub, &ps) ||
        goio_pubsub_coherent_stats_get(c->coherent, &cs))
        return 0;
    int rc = add_total(sink, "catalog_pubsub_messages_total",
                       "Pub/sub messages read from Redis.", ps.messages);
    if (!rc)
        rc =
            add_total(sink, "catalog_pubsub_dropped_total",
                      "Deliveries lost to full subscriber queues.", ps.dropped);
    if (!rc)
        rc = add_total(sink, "catalog_pubsub_reconnects_total",
                       "Subscriber reconnections (messages in the gap are "
                       "lost).",
                       ps.reconnects);
    if (!rc)
        rc = add_total(sink, "catalog_cache_invalidations_total",
                       "Local copies dropped on an invalidation message.",
                       cs.invalidations);
    if (!rc)
        rc = add_total(sink, "catalog_cache_local_flushes_total",
                       "Times the whole local layer was dropped.", cs.flushes);
    return rc;
}

static int collect(goio_prom_sink *sink, void *data)
{
    catalog *c = data;
    int rc = collect_cache(sink, c);
    if (!rc)
        rc = collect_origin(sink, c);
    if (!rc)
        rc = collect_pubsub(sink, c);
    return rc;
}

int catalog_metrics_init(catalog *c)
{
    /* A registry of its own (not the process-wide default) so that an
     * orderly exit frees every metric: valgrind then sees no leak. */
    int rc = goio_prom_registry_new(&c->registry);
    if (!rc)
        rc = goio_prom_process_collector_register(c->registry);
    if (!rc)
        rc = goio_prom_tracker_init(c->registry);
    if (rc)
        return rc;
    c->metrics.registry = c->registry;
    static const char *const label[] = {"source"};
    goio_prom_metric_config o;
    goio_prom_metric_config_init(&o);
    o.name = "catalog_items_served_total";
    o.help = "Item answers by where they came from.";
    o.label_names = label;
    o.label_count = 1;
    goio_prom_vec *served;
    if ((rc = goio_prom_vec_register(c->registry, GOIO_PROM_COUNTER, &o,
                                     &served)))
        return rc;
    static const char *const sources[] = {"hit", "fetched", "shared", "stale"};
    for (int i = 0; i < 4 && !rc; i++)
        rc = goio_prom_vec_counter(served, &sources[i], 1, &c->served[i]);
    if (!rc)
        rc = goio_prom_collector_register(c->registry, collect, c, NULL, NULL);
    return rc;
}

void catalog_metrics_free(catalog *c)
{
    if (!c->registry)
        return;
    goio_prom_tracker_deinit();
    goio_prom_registry_free(c->registry);
    c->registry = NULL;
}
