/* SPDX-License-Identifier: MIT */
/*
 * A real Redis Cluster for tests: six redis-server processes (three
 * masters, three replicas) on free loopback ports, each in its own temp
 * dir, joined with `redis-cli --cluster create --cluster-replicas 1`.
 * Nodes can be killed and restarted (a restarted node keeps its identity:
 * its nodes.conf stays in its dir). Every process is killed and every dir
 * removed at exit, also when a test fails.
 *
 * Nodes run with a 1 s cluster-node-timeout (failovers take a few
 * seconds) and DEBUG enabled for local connections.
 */
#ifndef GOIO_TEST_REDIS_CLUSTER_H
#define GOIO_TEST_REDIS_CLUSTER_H

#include "test_redis.h"

#include <stdbool.h>

#define GOIO_TEST_CLUSTER_NODES 6

typedef struct goio_test_redis_cluster {
    goio_test_redis nodes[GOIO_TEST_CLUSTER_NODES];
    int bus_ports[GOIO_TEST_CLUSTER_NODES];
    bool up[GOIO_TEST_CLUSTER_NODES];
    char seed[64]; /* "127.0.0.1:<port>" of node 0 */
} goio_test_redis_cluster;

/* Starts the six nodes, creates the cluster and waits until it is ready
 * (goio_test_redis_cluster_wait_ok). Returns 0, or -1 (details on
 * stderr and in each node's redis.log). */
int goio_test_redis_cluster_start(goio_test_redis_cluster *c);
/* Kills every node and removes the dirs. Safe to call twice. */
void goio_test_redis_cluster_stop(goio_test_redis_cluster *c);

/* SIGKILL node i (a crash); its dir stays for a restart. */
void goio_test_redis_cluster_kill(goio_test_redis_cluster *c, int i);
/* Starts node i again on its ports; it rejoins with its old identity. */
int goio_test_redis_cluster_restart(goio_test_redis_cluster *c, int i);

/* SIGSTOP node i: it keeps its connections but answers nothing (a hung
 * server). State queries skip it until it is resumed. */
void goio_test_redis_cluster_pause(goio_test_redis_cluster *c, int i);
void goio_test_redis_cluster_resume(goio_test_redis_cluster *c, int i);

/*
 * Waits until every live node reports cluster_state:ok with all 16384
 * slots served, all live nodes agree on who serves every slot, and every
 * live replica of a live master has its replication link up.
 */
bool goio_test_redis_cluster_wait_ok(goio_test_redis_cluster *c,
                                     int timeout_ms);

/* Index of the live master that serves `slot` (as a live node sees it),
 * or -1. */
int goio_test_redis_cluster_master_of(goio_test_redis_cluster *c,
                                      unsigned slot);
/* Index of the node listening on `port`, or -1. */
int goio_test_redis_cluster_index(goio_test_redis_cluster *c, int port);
/* Node i's cluster node id (goio_malloc'd) or NULL. */
char *goio_test_redis_cluster_node_id(goio_test_redis_cluster *c, int i);

/* redis-cli against node i (see goio_test_redis_cli). */
char *goio_test_redis_cluster_cli(goio_test_redis_cluster *c, int i,
                                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
