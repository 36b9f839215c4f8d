/* SPDX-License-Identifier: MIT */
/*
 * Grace periods for lock-free lookups (a small sleepable-RCU).
 *
 * Readers count themselves in, for the current epoch parity, read, and
 * count themselves out. A remover unlinks memory, then synchronize flips
 * the parity and waits for the old parity's counts to drain, twice, and
 * only then frees. Why it is safe: a reader whose count-in the remover did
 * not see also comes after the unlink, so its chain loads cannot reach the
 * unlinked memory; every reader the remover did see counted in one of the
 * two parities, and each parity is waited for once, after the flip that
 * sends new readers to the other, so the wait ends.
 *
 * Cost. Lookups are the hot path, so a reader's count lives in a record
 * of its own (one per thread, from a static pool: no allocation) and
 * counting in and out are plain stores, not locked instructions. The
 * StoreLoad order "count-in before the chain loads" that this needs is
 * supplied by the remover instead: membarrier(2) makes every running
 * thread of the process execute a full barrier, so removers (rare) pay a
 * system call and readers pay nothing. Where membarrier is unavailable
 * (old kernels, seccomp), readers count in with a locked add instead. Threads
 * beyond the pool share 64 striped slots with atomic adds, as does every reader
 * if the pool is exhausted.
 */
#include "prom_int.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NRECS   256 /* threads with a record of their own */
#define NSHARED 64  /* striped slots for the others */

typedef goio__prom_slot slot;

static slot recs[NRECS];
static slot shared[NSHARED];
static atomic_uint next_shared;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t rec_key;
static bool have_key; /* rec_key was created: records can be released */
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;

atomic_uint goio__prom_epoch;
atomic_bool goio__prom_use_membarrier;
_Thread_local goio__prom_slot *goio__prom_t_slot;
_Thread_local bool goio__prom_t_exclusive;

static int membarrier(int cmd)
{
    return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

/*
 * A thread exited: its record (counts back at zero) can serve another.
 * A lookup later in this thread's exit (from a key destructor run after
 * this one) must not count in on it any more, since another thread may
 * own it by then: it gets a shared slot instead.
 */
static void release_record(void *p)
{
    goio__prom_t_exclusive = false;
    goio__prom_t_slot = &shared[(size_t)((slot *)p - recs) % NSHARED];
    atomic_store_explicit(&((slot *)p)->in_use, false, memory_order_release);
}

static void init(void)
{
    have_key = pthread_key_create(&rec_key, release_record) == 0;
    int cmds = membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
        atomic_store(&goio__prom_use_membarrier, true);
}

goio__prom_slot *goio__prom_claim(void)
{
    pthread_once(&init_once, init);
    for (size_t i = 0; have_key && i < NRECS; i++) {
        bool idle = false;
        if (atomic_load_explicit(&recs[i].in_use, memory_order_relaxed) ||
            !atomic_compare_exchange_strong(&recs[i].in_use, &idle, true))
            continue;
        if (pthread_setspecific(rec_key, &recs[i]) != 0) {
            /* Nothing would release it at exit: give it back. */
            atomic_store(&recs[i].in_use, false);
            break;
        }
        goio__prom_t_exclusive = true;
        return goio__prom_t_slot = &recs[i];
    }
    /* No record left (or no key slot): a shared slot, atomic adds. */
    unsigned i =
        atomic_fetch_add_explicit(&next_shared, 1, memory_order_relaxed);
    return goio__prom_t_slot = &shared[i % NSHARED];
}

/*
 * membarrier cannot fail once registered. Should it anyway, readers count
 * in with locked adds from then on, which need no barrier from us; those
 * already past their plain count-in are covered in practice by waiting
 * far longer than a store buffer takes to drain.
 */
static void barrier_all_threads(void)
{
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
        return;
    int err = -errno;
    atomic_store(&goio__prom_use_membarrier, false);
    goio_log(GOIO_LOG_ERROR, GOIO__PROM_CAT, "membarrier_failed", NULL, err,
             "membarrier failed; lookups use locked adds from now on");
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* Waits for a slot's readers to leave: spin briefly, then yield, then
 * sleep, so that a reader preempted mid-lookup on a crowded machine gets
 * the CPU back to finish. */
static void wait_slots(slot *slots, size_t n, unsigned parity)
{
    for (size_t i = 0; i < n; i++) {
        unsigned spins = 0;
        while (atomic_load_explicit(&slots[i].count[parity],
                                    memory_order_seq_cst) != 0) {
            if (++spins < 64)
                continue;
            if (spins < 128) {
                sched_yield();
            } else {
                struct timespec ts = {0, 20000};
                nanosleep(&ts, NULL);
            }
        }
    }
}

void goio__prom_synchronize(void)
{
    pthread_once(&init_once, init);
    pthread_mutex_lock(&sync_mu);
    /* Orders the caller's unlink (a seq_cst store) before the later loads
     * of every reader that counted in with a plain store, or makes its
     * count visible to the waits below. Readers that counted in with a
     * locked add need nothing more: their add, their seq_cst chain loads
     * (family.c) and the seq_cst loads below are ordered in C11's single
     * total order. */
    if (atomic_load(&goio__prom_use_membarrier))
        barrier_all_threads();
    for (int phase = 0; phase < 2; phase++) {
        unsigned old = atomic_fetch_add_explicit(&goio__prom_epoch, 1,
                                                 memory_order_seq_cst) &
                       1u;
        wait_slots(recs, NRECS, old);
        wait_slots(shared, NSHARED, old);
    }
    pthread_mutex_unlock(&sync_mu);
}
