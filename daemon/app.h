/*
 * app.h - struct cantor_app: the running daemon. It owns the configuration, the libevent base and
 * the components (store, node client, follower, HTTP server), each plugged into a slot through a
 * table of hooks. A slot without hooks (component not built yet) is skipped, so cantord runs with
 * whatever exists. Components start in slot order and stop/free in reverse order.
 *
 * Memory: cantor_app_new takes ownership of the config; cantor_app_free frees the components (via
 * their free hooks), the config and the event base. The cmdline must outlive the app (it points
 * into argv and is re-applied on reload).
 */
#ifndef CANTOR_DAEMON_APP_H
#define CANTOR_DAEMON_APP_H

#include <stdbool.h>

#include "core/err.h"
#include "daemon/config.h"

struct event_base;
struct cantor_signals;
struct cantor_sdnotify_watchdog;
/* Owned by the components; app.c never looks inside. */
struct cantor_store;
struct cantor_ethrpc;
struct cantor_follower;
struct cantor_devchain;
struct cantor_api_ctx;
struct cantor_http_server;

enum cantor_app_slot {
    CANTOR_APP_SLOT_STORE,
    CANTOR_APP_SLOT_NODE,
    CANTOR_APP_SLOT_FOLLOWER,
    CANTOR_APP_SLOT_HTTP,
    CANTOR_APP_SLOT__COUNT
};

struct cantor_app;

/*
 * A component's hooks; each may be NULL. start() creates the component and stores it in its field of
 * struct cantor_app (app->store, ...); it may add events to app->base. reload() runs after SIGHUP
 * took over the reloadable options (app->cfg is already updated). stop() begins a graceful stop
 * (stop fetching, finish the current block) and must not block for long; free() releases the
 * component and NULLs its field, and must accept a component that never started.
 */
struct cantor_app_hooks {
    const char *name;
    enum cantor_err (*start)(struct cantor_app *app);
    void (*reload)(struct cantor_app *app);
    void (*stop)(struct cantor_app *app);
    void (*free)(struct cantor_app *app);
};

struct cantor_app {
    struct cantor_config *cfg;
    const struct cantor_cmdline *cmdline;
    struct event_base *base;
    struct cantor_store *store;
    struct cantor_ethrpc *node; /* the JSON-RPC client of the upstream node (rpc/ethrpc.h) */
    struct cantor_follower *follower;
    struct cantor_http_server *http;
    struct cantor_api_ctx *api;       /* what the HTTP handlers read (rpc/api.h), owned by the HTTP slot */
    struct cantor_devchain *devchain; /* --dev: the anvil child the NODE slot started, else NULL */

    const struct cantor_app_hooks *hooks[CANTOR_APP_SLOT__COUNT];
    bool started[CANTOR_APP_SLOT__COUNT];
    struct cantor_signals *signals;
    struct cantor_sdnotify_watchdog *watchdog;
    bool stopping;
    enum cantor_err exit_err; /* why the loop ended, CANTOR_OK for a requested stop */
    unsigned reloads;         /* successful SIGHUP reloads, for status and tests */
};

enum cantor_err cantor_app_new(const struct cantor_cmdline *cmdline, struct cantor_config *cfg,
                               struct cantor_app **ret_app);
/* Plug a component in before cantor_app_start; hooks is static data (not copied, not freed). */
void cantor_app_set_hooks(struct cantor_app *app, enum cantor_app_slot slot,
                          const struct cantor_app_hooks *hooks);
/* Set the log level, start the components, install signal handlers and the watchdog, send READY=1. */
enum cantor_err cantor_app_start(struct cantor_app *app);
/* Run the event loop until a stop is requested; returns app->exit_err. */
enum cantor_err cantor_app_run(struct cantor_app *app);
/* Graceful stop (SIGTERM): STOPPING=1, stop hooks in reverse order, leave the loop. err is the exit
   reason (CANTOR_OK for an orderly stop; a component that fails fatally passes its error). */
void cantor_app_request_stop(struct cantor_app *app, enum cantor_err err);
/* SIGHUP: reload the config file, apply reloadable options, run the reload hooks. */
enum cantor_err cantor_app_reload(struct cantor_app *app);
void cantor_app_free(struct cantor_app *app);

#endif
