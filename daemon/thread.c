/*
 * thread.c - see thread.h. No memory is allocated.
 */
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"

void cantor_thread_background(const char *name, int nice)
{
    struct sched_param sp = {0};
    char comm[16];
    pid_t tid = (pid_t)syscall(SYS_gettid);

    if (name) {
        /* pthread_setname_np refuses names over 15 bytes; truncate instead of losing the name. */
        snprintf(comm, sizeof(comm), "%s", name);
        pthread_setname_np(pthread_self(), comm);
    }
    if (nice <= 0)
        return;
    if (nice > 19)
        nice = 19;
    /*
     * SCHED_BATCH tells CFS the thread is not interactive (no wake-up preemption of the HTTP threads);
     * PRIO_PROCESS with a thread id sets that one thread's nice value on Linux.
     */
    if (sched_setscheduler(tid, SCHED_BATCH, &sp) != 0)
        log_warn("thread", "%s: cannot switch to SCHED_BATCH: %s", name ? name : "thread", strerror(errno));
    if (setpriority(PRIO_PROCESS, (id_t)tid, nice) != 0)
        log_warn("thread", "%s: cannot set nice %d: %s", name ? name : "thread", nice, strerror(errno));
    else
        log_debug("thread", "%s: background thread, nice %d", name ? name : "thread", nice);
}
