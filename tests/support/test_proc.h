/* SPDX-License-Identifier: MIT */
/*
 * Child processes for tests (servers, command-line tools). Every child
 * gets SIGKILL when the test process dies, and goio_test_proc_kill_all runs
 * at exit, so a failing or crashing test never leaves a server behind.
 */
#ifndef GOIO_TEST_PROC_H
#define GOIO_TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Call from the main thread: the kill-on-death signal follows the thread
 * that forked. Starts argv[0] (searched in PATH) with stdout/stderr to
 * `log_path` (or /dev/null when NULL). Returns the pid or -1. */
pid_t goio_test_spawn(char *const argv[], const char *log_path);
/* Sends sig and, for SIGKILL/SIGTERM, reaps the child. */
int goio_test_proc_signal(pid_t pid, int sig);
/* Whether the child has exited (reaps it if so). */
bool goio_test_proc_exited(pid_t pid);
void goio_test_proc_kill_all(void);

/* Connects to 127.0.0.1:port; returns the socket or -1. */
int goio_test_connect(int port);
/* Waits until 127.0.0.1:port accepts connections. */
bool goio_test_wait_port(int port, int timeout_ms);

#endif
