/*
 * signals.h - the daemon's signal handling on the libevent loop (evsignal): SIGTERM and SIGINT ask
 * for a graceful stop, SIGHUP for a configuration reload; SIGPIPE is ignored (sockets report EPIPE).
 * The callbacks run on the loop thread, outside signal context, so they may do anything.
 * Memory: the handle is the caller's; free it (cantor_signals_free) before the event_base.
 */
#ifndef CANTOR_DAEMON_SIGNALS_H
#define CANTOR_DAEMON_SIGNALS_H

#include "core/err.h"

struct event_base;
struct cantor_signals;

struct cantor_signal_handlers {
    void (*stop)(void *arg, int signo); /* SIGTERM, SIGINT */
    void (*reload)(void *arg);          /* SIGHUP */
    void *arg;
};

enum cantor_err cantor_signals_install(struct event_base *base, const struct cantor_signal_handlers *h,
                                       struct cantor_signals **ret_signals);
void cantor_signals_free(struct cantor_signals *s);

#endif
