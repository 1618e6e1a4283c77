/*
 * signals.c - see signals.h. libevent turns each signal into an event on the loop (through a
 * self-pipe), so no work happens in async-signal context.
 */
#include "signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/log.h"

#define N_SIGNALS 3

struct cantor_signals {
    struct cantor_signal_handlers h;
    struct event *ev[N_SIGNALS];
};

static const int signos[N_SIGNALS] = {SIGTERM, SIGINT, SIGHUP};

static void on_signal(evutil_socket_t signo, short what, void *arg)
{
    struct cantor_signals *s = arg;

    if (signo == SIGHUP) {
        log_info("signals", "SIGHUP: reloading the configuration");
        if (s->h.reload)
            s->h.reload(s->h.arg);
        return;
    }
    log_info("signals", "%s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    if (s->h.stop)
        s->h.stop(s->h.arg, (int)signo);
}

enum cantor_err cantor_signals_install(struct event_base *base, const struct cantor_signal_handlers *h,
                                       struct cantor_signals **ret_signals)
{
    struct cantor_signals *s = calloc(1, sizeof(*s));
    struct sigaction sa;
    enum cantor_err err = CANTOR_OK;

    if (!s)
        return CANTOR_ERR_NOMEM;
    s->h = *h;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        err = CANTOR_ERR_IO;
        goto out;
    }
    for (int i = 0; i < N_SIGNALS; i++) {
        s->ev[i] = evsignal_new(base, signos[i], on_signal, s);
        if (!s->ev[i] || evsignal_add(s->ev[i], NULL) != 0) {
            err = CANTOR_ERR_IO;
            goto out;
        }
    }
    *ret_signals = s;
    s = NULL;
out:
    cantor_signals_free(s);
    return err;
}

void cantor_signals_free(struct cantor_signals *s)
{
    if (!s)
        return;
    for (int i = 0; i < N_SIGNALS; i++)
        if (s->ev[i])
            event_free(s->ev[i]);
    free(s);
}
