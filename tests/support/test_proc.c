/* SPDX-License-Identifier: MIT */
#include "test_proc.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t children[MAX_CHILDREN];
static bool atexit_done;

static void remember(pid_t pid)
{
    pthread_mutex_lock(&lock);
    if (!atexit_done) {
        atexit(goio_test_proc_kill_all);
        atexit_done = true;
    }
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (!children[i]) {
            children[i] = pid;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

static void forget(pid_t pid)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
    pthread_mutex_unlock(&lock);
}

pid_t goio_test_spawn(char *const argv[], const char *log_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log_path ? log_path : "/dev/null",
                      O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setpgid(0, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid); /* as the child does: no window where it is not */
    remember(pid);
    return pid;
}

int goio_test_proc_signal(pid_t pid, int sig)
{
    if (pid <= 0)
        return -1;
    /* The child leads its own process group: signal all of it, so helpers
     * it forked (nginx's workers) do not outlive it. */
    int rc = kill(-pid, sig);
    if (rc)
        rc = kill(pid, sig); /* not yet in its group (just forked) */
    if (sig == SIGKILL || sig == SIGTERM) {
        if (sig == SIGTERM)
            kill(-pid, SIGCONT); /* a stopped child cannot handle SIGTERM */
        waitpid(pid, NULL, 0);
        forget(pid);
    }
    return rc;
}

bool goio_test_proc_exited(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
        forget(pid);
        return true;
    }
    return false;
}

void goio_test_proc_kill_all(void)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i]) {
            kill(-children[i], SIGKILL);
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
    pthread_mutex_unlock(&lock);
}

int goio_test_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr)) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool port_open(void *arg)
{
    int fd = goio_test_connect(*(int *)arg);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

bool goio_test_wait_port(int port, int timeout_ms)
{
    return goio_test_wait_until(port_open, &port, timeout_ms);
}
