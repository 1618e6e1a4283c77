/*
 * sdnotify.h - the sd_notify(3) protocol, written by hand (no libsystemd): newline-separated
 * "KEY=VALUE" datagrams sent to the unix socket named by $NOTIFY_SOCKET (a path, or "@name" for the
 * abstract namespace). Outside systemd ($NOTIFY_SOCKET unset) every call is a successful no-op.
 *
 * The watchdog is a libevent timer that sends WATCHDOG=1 at half of $WATCHDOG_USEC, so a blocked
 * event loop gets the daemon restarted. Memory: the watchdog handle is owned by the caller and freed
 * with cantor_sdnotify_watchdog_free(); it must be freed before its event_base.
 */
#ifndef CANTOR_DAEMON_SDNOTIFY_H
#define CANTOR_DAEMON_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define CANTOR_SDNOTIFY_MAX_MSG 4096

struct event_base;
struct cantor_sdnotify_watchdog;

/* true when $NOTIFY_SOCKET is set (we run under a service manager that listens). */
bool cantor_sdnotify_enabled(void);

/*
 * Send one message, e.g. "READY=1\nSTATUS=following". CANTOR_ERR_CONFIG when $NOTIFY_SOCKET is
 * malformed, CANTOR_ERR_IO when the send fails, CANTOR_ERR_TOO_LARGE above CANTOR_SDNOTIFY_MAX_MSG.
 */
enum cantor_err cantor_sdnotify_send(const char *msg);
enum cantor_err cantor_sdnotify_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum cantor_err cantor_sdnotify_ready(const char *status);    /* READY=1 (+ STATUS= when non-NULL) */
enum cantor_err cantor_sdnotify_status(const char *status);   /* STATUS=... */
enum cantor_err cantor_sdnotify_reloading(void);              /* RELOADING=1 + MONOTONIC_USEC= */
enum cantor_err cantor_sdnotify_stopping(const char *status); /* STOPPING=1 (+ STATUS=) */
enum cantor_err cantor_sdnotify_watchdog_ping(void);          /* WATCHDOG=1 */

/*
 * The watchdog interval from $WATCHDOG_USEC, honouring $WATCHDOG_PID (set for another process:
 * disabled). *ret_usec is 0 when disabled. CANTOR_ERR_CONFIG when the variables are malformed.
 */
enum cantor_err cantor_sdnotify_watchdog_usec(uint64_t *ret_usec);

/*
 * Start a timer on base that pings every half interval. *ret_wd is NULL (and CANTOR_OK returned)
 * when no watchdog is requested.
 */
enum cantor_err cantor_sdnotify_watchdog_start(struct event_base *base,
                                               struct cantor_sdnotify_watchdog **ret_wd);
void cantor_sdnotify_watchdog_free(struct cantor_sdnotify_watchdog *wd);

#endif
