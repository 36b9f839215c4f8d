/*
 * Grace periods for lock-free lookups (a small sleepable-RCU).
 *
 * Readers increment a counter in their thread's slot for the current
 * epoch parity, read, and decrement it. Slots sit on separate cache lines
 * and threads get distinct slots round-robin, so two threads looking up
 * children never write the same line.
 *
 * A remover unlinks memory (seq_cst store), then synchronize flips the
 * parity and waits for the old parity's counters to drain, twice. Why it
 * is safe: a reader whose increment comes after synchronize's first
 * sample of its slot (in the seq_cst order) also comes after the unlink,
 * so its seq_cst chain loads cannot reach the unlinked memory. Every
 * reader that incremented before that sample counted in one of the two
 * parities, and each parity is waited for once, after the flip that sends
 * new readers to the other, so the wait ends.
 */
#include "prom_int.h"

#include <sched.h>

#define NSLOTS 64

typedef struct slot {
    _Alignas(64) _Atomic long count[2];
} slot;

static slot slots[NSLOTS];
static atomic_uint epoch;
static atomic_uint next_slot;
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local slot *my_slot;

static slot *thread_slot(void)
{
    if (!my_slot) {
        unsigned i =
            atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed);
        my_slot = &slots[i % NSLOTS];
    }
    return my_slot;
}

goio__prom_rguard goio__prom_read_enter(void)
{
    slot *s = thread_slot();
    unsigned e = atomic_load_explicit(&epoch, memory_order_relaxed) & 1u;
    goio__prom_rguard g = {&s->count[e]};
    atomic_fetch_add_explicit(g.counter, 1, memory_order_seq_cst);
    return g;
}

void goio__prom_read_exit(goio__prom_rguard g)
{
    atomic_fetch_sub_explicit(g.counter, 1, memory_order_release);
}

static void wait_parity(unsigned parity)
{
    for (size_t i = 0; i < NSLOTS; i++) {
        unsigned spins = 0;
        while (atomic_load_explicit(&slots[i].count[parity],
                                    memory_order_seq_cst) != 0) {
            if (++spins > 64)
                sched_yield(); /* a reader was preempted mid-lookup */
        }
    }
}

void goio__prom_synchronize(void)
{
    pthread_mutex_lock(&sync_mu);
    for (int phase = 0; phase < 2; phase++) {
        unsigned old =
            atomic_fetch_add_explicit(&epoch, 1, memory_order_seq_cst) & 1u;
        wait_parity(old);
    }
    pthread_mutex_unlock(&sync_mu);
}
