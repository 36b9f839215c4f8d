/* SPDX-License-Identifier: MIT */
#include "test_redis_cluster.h"
#include "test_proc.h"
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 16384

/* Clusters still running, stopped at exit whatever happened. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static goio_test_redis_cluster *live[8];
static bool atexit_set;

static void stop_all_at_exit(void)
{
    for (int i = 0; i < 8; i++)
        if (live[i])
            goio_test_redis_cluster_stop(live[i]);
}

static void remember(goio_test_redis_cluster *c, bool add)
{
    pthread_mutex_lock(&live_lock);
    if (!atexit_set) {
        atexit(stop_all_at_exit);
        atexit_set = true;
    }
    for (int i = 0; i < 8; i++) {
        if (add && !live[i]) {
            live[i] = c;
            break;
        }
        if (!add && live[i] == c)
            live[i] = NULL;
    }
    pthread_mutex_unlock(&live_lock);
}

char *goio_test_redis_cluster_cli(goio_test_redis_cluster *c, int i,
                                  const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    if (i < 0 || i >= GOIO_TEST_CLUSTER_NODES || !c->up[i])
        return NULL;
    return goio_test_redis_cli(&c->nodes[i], "%s", args);
}

int goio_test_redis_cluster_index(goio_test_redis_cluster *c, int port)
{
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++)
        if (c->nodes[i].port == port)
            return i;
    return -1;
}

static int start_node(goio_test_redis_cluster *c, int i)
{
    /* The bus port is chosen explicitly (Redis 7's cluster-port): the
     * default, port + 10000, may be taken or out of range. */
    for (int attempt = 0; attempt < 5; attempt++) {
        c->bus_ports[i] = goio_test_free_port();
        char extra[512];
        snprintf(extra, sizeof extra,
                 "--cluster-enabled yes --cluster-config-file nodes.conf "
                 "--cluster-node-timeout 1000 --cluster-port %d "
                 "--enable-debug-command local",
                 c->bus_ports[i]);
        if (goio_test_redis_start(&c->nodes[i], extra) == 0) {
            c->up[i] = true;
            return 0;
        }
        goio_test_redis_stop(&c->nodes[i]);
    }
    return -1;
}

void goio_test_redis_cluster_kill(goio_test_redis_cluster *c, int i)
{
    goio_test_redis_kill(&c->nodes[i]);
    c->up[i] = false;
}

int goio_test_redis_cluster_restart(goio_test_redis_cluster *c, int i)
{
    int rc = goio_test_redis_restart(&c->nodes[i]);
    c->up[i] = rc == 0;
    return rc;
}

void goio_test_redis_cluster_pause(goio_test_redis_cluster *c, int i)
{
    goio_test_redis_pause(&c->nodes[i]);
    c->up[i] = false; /* redis-cli would wait for it forever */
}

void goio_test_redis_cluster_resume(goio_test_redis_cluster *c, int i)
{
    goio_test_redis_resume(&c->nodes[i]);
    c->up[i] = true;
}

void goio_test_redis_cluster_stop(goio_test_redis_cluster *c)
{
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++) {
        if (c->nodes[i].dir)
            goio_test_redis_stop(&c->nodes[i]);
        c->up[i] = false;
    }
    remember(c, false);
}

/* ---- reading the cluster's state ---- */

/* Slot -> master port as node i sees it (CLUSTER NODES). */
static bool slot_map(goio_test_redis_cluster *c, int i, int *map)
{
    char *out = goio_test_redis_cluster_cli(c, i, "CLUSTER NODES");
    if (!out)
        return false;
    memset(map, 0, SLOTS * sizeof *map);
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        /* id addr flags master ping pong epoch link slot... */
        char *fields[64];
        int n = 0;
        char *fsave = NULL;
        for (char *f = strtok_r(line, " ", &fsave); f && n < 64;
             f = strtok_r(NULL, " ", &fsave))
            fields[n++] = f;
        if (n < 8 || !strstr(fields[2], "master") || strstr(fields[2], "fail"))
            continue;
        const char *colon = strrchr(fields[1], ':');
        int port = colon ? atoi(colon + 1) : 0; /* atoi stops at '@' */
        for (int k = 8; k < n; k++) {
            if (fields[k][0] == '[')
                continue; /* a migration in progress, not ownership */
            int lo = atoi(fields[k]), hi = lo;
            const char *dash = strchr(fields[k], '-');
            if (dash)
                hi = atoi(dash + 1);
            for (int s = lo; s <= hi && s < SLOTS; s++)
                map[s] = port;
        }
    }
    goio_free(out);
    return true;
}

int goio_test_redis_cluster_master_of(goio_test_redis_cluster *c, unsigned slot)
{
    int *map = goio_calloc(SLOTS, sizeof *map);
    int idx = -1;
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES && idx < 0; i++) {
        if (c->up[i] && slot < SLOTS && slot_map(c, i, map))
            idx = goio_test_redis_cluster_index(c, map[slot]);
    }
    goio_free(map);
    return idx >= 0 && c->up[idx] ? idx : -1;
}

char *goio_test_redis_cluster_node_id(goio_test_redis_cluster *c, int i)
{
    char *out = goio_test_redis_cluster_cli(c, i, "CLUSTER MYID");
    if (out)
        out[strcspn(out, "\r\n")] = 0;
    return out;
}

static bool info_has(goio_test_redis_cluster *c, int i, const char *cmd,
                     const char *needle)
{
    char *out = goio_test_redis_cluster_cli(c, i, "%s", cmd);
    bool ok = out && strstr(out, needle);
    goio_free(out);
    return ok;
}

/* A live replica whose master is live must have its link up. */
static bool replica_ok(goio_test_redis_cluster *c, int i)
{
    char *out = goio_test_redis_cluster_cli(c, i, "INFO replication");
    if (!out)
        return false;
    bool ok = true;
    if (strstr(out, "role:slave")) {
        const char *p = strstr(out, "master_port:");
        int m = p ? goio_test_redis_cluster_index(c, atoi(p + 12)) : -1;
        ok = m < 0 || !c->up[m] || strstr(out, "master_link_status:up");
    }
    goio_free(out);
    return ok;
}

static bool cluster_ok(goio_test_redis_cluster *c)
{
    int *first = goio_calloc(SLOTS, sizeof *first);
    int *map = goio_calloc(SLOTS, sizeof *map);
    bool ok = first && map, have_first = false;
    for (int i = 0; ok && i < GOIO_TEST_CLUSTER_NODES; i++) {
        if (!c->up[i])
            continue;
        ok = info_has(c, i, "CLUSTER INFO", "cluster_state:ok") &&
             info_has(c, i, "CLUSTER INFO", "cluster_slots_ok:16384") &&
             replica_ok(c, i) && slot_map(c, i, have_first ? map : first);
        for (int s = 0; ok && s < SLOTS; s++) {
            int port = have_first ? map[s] : first[s];
            int idx = goio_test_redis_cluster_index(c, port);
            ok = idx >= 0 && c->up[idx] && (!have_first || map[s] == first[s]);
        }
        have_first = true;
    }
    goio_free(first);
    goio_free(map);
    return ok;
}

bool goio_test_redis_cluster_wait_ok(goio_test_redis_cluster *c, int timeout_ms)
{
    return GOIO_WAIT_UNTIL(cluster_ok(c), timeout_ms);
}

int goio_test_redis_cluster_start(goio_test_redis_cluster *c)
{
    memset(c, 0, sizeof *c);
    remember(c, true);
    char addrs[1024] = "";
    size_t len = 0;
    for (int i = 0; i < GOIO_TEST_CLUSTER_NODES; i++) {
        if (start_node(c, i)) {
            fprintf(stderr, "cluster: node %d did not start\n", i);
            goio_test_redis_cluster_stop(c);
            return -1;
        }
        len += (size_t)snprintf(addrs + len, sizeof addrs - len, "%s ",
                                c->nodes[i].endpoint);
    }
    snprintf(c->seed, sizeof c->seed, "%s", c->nodes[0].endpoint);
    int st = goio_test_system("redis-cli --cluster create %s "
                              "--cluster-replicas 1 --cluster-yes "
                              ">'%s/create.log' 2>&1",
                              addrs, c->nodes[0].dir);
    if (st != 0 || !goio_test_redis_cluster_wait_ok(c, 30000)) {
        fprintf(stderr, "cluster: not ready (see %s/create.log)\n",
                c->nodes[0].dir);
        goio_test_redis_cluster_stop(c);
        return -1;
    }
    return 0;
}
