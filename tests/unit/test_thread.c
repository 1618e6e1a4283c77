/*
 * test_thread.c - daemon/thread.h: a background thread gets its name, its own nice value and
 * SCHED_BATCH, and the rest of the process keeps its priority.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/thread.h"
#include "testutil.h"

struct probe {
    int nice_in;
    int nice_out, policy_out;
    char comm[32];
};

static void *probe_main(void *arg)
{
    struct probe *p = arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    char path[64];
    FILE *f;

    cantor_thread_background("cantor-test-thread-long-name", p->nice_in);
    p->nice_out = getpriority(PRIO_PROCESS, (id_t)tid);
    p->policy_out = sched_getscheduler(tid);
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
    f = fopen(path, "r");
    if (f) {
        if (!fgets(p->comm, sizeof(p->comm), f))
            p->comm[0] = 0;
        fclose(f);
    }
    p->comm[strcspn(p->comm, "\n")] = 0;
    return NULL;
}

static void run_probe(struct probe *p)
{
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, probe_main, p), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

START_TEST(test_background_lowers_only_that_thread)
{
    int before = getpriority(PRIO_PROCESS, 0);
    /* Above the test's own nice value: lowering priority needs no privilege (the test may run niced). */
    int want = before + 3 > 19 ? 19 : before + 3;
    struct probe p = {.nice_in = want};

    run_probe(&p);
    ck_assert_int_eq(p.nice_out, want);
    ck_assert_int_eq(p.policy_out, SCHED_BATCH);
    ck_assert_str_eq(p.comm, "cantor-test-thr"); /* truncated to 15 bytes, not dropped */
    ck_assert_int_eq(getpriority(PRIO_PROCESS, 0), before);
    ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER);
}
END_TEST

START_TEST(test_background_zero_keeps_priority)
{
    int before = getpriority(PRIO_PROCESS, 0);
    struct probe p = {.nice_in = 0};

    run_probe(&p);
    ck_assert_int_eq(p.nice_out, before);
    ck_assert_int_eq(p.policy_out, SCHED_OTHER);
    ck_assert_str_eq(p.comm, "cantor-test-thr");
}
END_TEST

START_TEST(test_background_clamps)
{
    struct probe p = {.nice_in = 40};

    run_probe(&p);
    ck_assert_int_eq(p.nice_out, 19);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("thread");
    TCase *tc = tcase_create("thread");

    tcase_add_test(tc, test_background_lowers_only_that_thread);
    tcase_add_test(tc, test_background_zero_keeps_priority);
    tcase_add_test(tc, test_background_clamps);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
