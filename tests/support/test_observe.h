/* SPDX-License-Identifier: MIT */
/*
 * States a test waits for instead of sleeping, read from outside the code
 * under test (/proc): whether a thread is asleep in the kernel, whether a
 * server has bytes it has not read. For GOIO_WAIT_UNTIL.
 */
#ifndef GOIO_TEST_OBSERVE_H
#define GOIO_TEST_OBSERVE_H

#include <stdbool.h>
#include <sys/types.h>

/* The calling thread's kernel id (for goio_test_thread_waits). */
pid_t goio_test_gettid(void);

/*
 * Whether thread tid of this process is asleep on a futex: in
 * pthread_cond_wait, pthread_join or a contended mutex
 * (/proc/self/task/<tid>/stat state S and wchan futex_*). A test that
 * must know a thread blocked before acting waits for it:
 * GOIO_WAIT_UNTIL(goio_test_thread_waits(tid), 5000).
 */
bool goio_test_thread_waits(pid_t tid);

/*
 * How many established TCP connections to 127.0.0.1:port hold bytes the
 * server has not read (/proc/net/tcp, the server side's rx_queue): e.g.
 * a client's handshake sent to a paused (SIGSTOP) server. -1 on error.
 */
int goio_test_tcp_unread(int port);

#endif
