/* SPDX-License-Identifier: MIT */
/*
 * Read sections and grace periods for the memory cache's lock-free gets
 * (see memory_int.h). One registry for the process: MC_READERS records,
 * handed to threads on their first lock-free get and given back when they
 * exit (a pthread key's destructor), so a record's id is unique among live
 * threads and the caches can give each id a counter stripe of its own.
 *
 * Why a synchronizer may free what it removed before calling
 * goio__mc_synchronize(): it stored the removal (release), then
 * membarrier(PRIVATE_EXPEDITED) runs a full barrier on every CPU running
 * one of the process's threads (a thread not running passes one when it is
 * switched in), then it reads every record's counter. Take a reader R and
 * the instant p at which that barrier ran on R's CPU.
 *  - A section R entered after p loads the table after p, so after the
 *    removal: it cannot reach what was removed.
 *  - A section R entered before p has its odd counter visible once the
 *    barrier ran: the synchronizer reads that odd value and waits until the
 *    counter changes, which R does only by leaving (a release store, read
 *    with acquire: R's reads happen before the free), or it reads a later
 *    value, which also means that section has ended.
 * Readers therefore only store to their own line, with no fence: the cost
 * of the grace period is on the writer's side, batched over many frees.
 */
#include "memory_int.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

static mc_reader readers[MC_READERS];
static unsigned readers_used; /* high-water mark (under reg_mu) */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static bool usable; /* membarrier works and the key exists (set once) */

/* this thread's record */
_Thread_local mc_reader *goio__mc_mine
    __attribute__((tls_model("initial-exec")));
static _Thread_local bool tried;

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

/* A thread's exit: its record goes back (its counter is even: a thread
 * does not exit inside a get). */
static void release(void *p)
{
    mc_reader *r = p;
    pthread_mutex_lock(&reg_mu);
    r->taken = false;
    pthread_mutex_unlock(&reg_mu);
    goio__mc_mine = NULL;
}

/* fork(): the child has only the forking thread; records of the others
 * (maybe odd: a section the child will never finish) are freed, so that
 * caches the child makes do not wait for them. The lock is held across
 * the fork so no record is half updated. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&reg_mu);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&reg_mu);
}

static void fork_child(void)
{
    for (unsigned i = 0; i < readers_used; i++) {
        if (&readers[i] == goio__mc_mine)
            continue;
        readers[i].taken = false;
        uint64_t c =
            atomic_load_explicit(&readers[i].ctr, memory_order_relaxed);
        atomic_store_explicit(&readers[i].ctr, c & ~(uint64_t)1,
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(&reg_mu);
}

static void init_once(void)
{
    long q = membarrier(MEMBARRIER_CMD_QUERY);
    if (q < 0 || !(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) < 0)
        return;
    if (pthread_key_create(&key, release))
        return;
    if (pthread_atfork(fork_prepare, fork_parent, fork_child)) {
        pthread_key_delete(key);
        return;
    }
    usable = true;
}

bool goio__mc_rcu_usable(void)
{
    pthread_once(&once, init_once);
    return usable;
}

mc_reader *goio__mc_reader_slow(void)
{
    if (goio__mc_mine || tried)
        return goio__mc_mine;
    tried = true;
    pthread_once(&once, init_once);
    if (!usable)
        return NULL;
    mc_reader *r = NULL;
    pthread_mutex_lock(&reg_mu);
    for (unsigned i = 0; i < MC_READERS && !r; i++) {
        if (!readers[i].taken) {
            r = &readers[i];
            r->taken = true;
            r->id = i;
            if (i >= readers_used)
                readers_used = i + 1;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    if (r && pthread_setspecific(key, r)) {
        release(r);
        r = NULL;
    }
    goio__mc_mine = r;
    return r;
}

bool goio__mc_synchronize(void)
{
    pthread_once(&once, init_once);
    if (!usable)
        return true; /* no reader ever entered a section */
    pthread_mutex_lock(&reg_mu);
    /* Fails only for a process that is not registered; init_once
     * registered it (and fork keeps it), so register again if it fails
     * anyway, and report it if that does not help. */
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) < 0 &&
        (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) < 0 ||
         membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) < 0)) {
        pthread_mutex_unlock(&reg_mu);
        return false;
    }
    for (unsigned i = 0; i < readers_used; i++) {
        uint64_t c =
            atomic_load_explicit(&readers[i].ctr, memory_order_acquire);
        if (!(c & 1))
            continue;
        while (atomic_load_explicit(&readers[i].ctr, memory_order_acquire) == c)
            sched_yield();
    }
    pthread_mutex_unlock(&reg_mu);
    return true;
}
