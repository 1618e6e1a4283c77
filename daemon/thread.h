/*
 * thread.h - background threads yield the CPU to the HTTP threads.
 *
 * cantord's reason to exist is answering reads; ingest (the follower, root maintenance, compression)
 * and the trainer are throughput work that can wait a few milliseconds. On a small machine the two
 * compete for the same cores, and a block's CPU burst (delta parse, state tree, CM encode) shows up
 * directly in the HTTP tail latency. Linux lets one thread of a process have its own nice value, so
 * the background threads run at a lower weight instead of the whole process.
 */
#ifndef CANTOR_DAEMON_THREAD_H
#define CANTOR_DAEMON_THREAD_H

/*
 * Name the calling thread (shown by top -H, ps -L, /proc/PID/task/TID/comm; at most 15 characters)
 * and, when nice > 0, lower its CPU priority to that nice value and schedule it SCHED_BATCH. Failures
 * only log: a thread that keeps its priority is slower to yield, not wrong.
 */
void cantor_thread_background(const char *name, int nice);

#endif
