/*
 * app.c - see app.h. Deliberately small: ordering, signals and sd_notify live here; every real piece
 * of work belongs to a component behind its hooks.
 */
#include "app.h"

#include <stdlib.h>

#include <event2/event.h>

#include "core/log.h"
#include "daemon/sdnotify.h"
#include "daemon/signals.h"

enum cantor_err cantor_app_new(const struct cantor_cmdline *cmdline, struct cantor_config *cfg,
                               struct cantor_app **ret_app)
{
    struct cantor_app *app = calloc(1, sizeof(*app));

    if (!app)
        return CANTOR_ERR_NOMEM;
    app->base = event_base_new();
    if (!app->base) {
        free(app);
        return CANTOR_ERR_NOMEM;
    }
    app->cfg = cfg;
    app->cmdline = cmdline;
    *ret_app = app;
    return CANTOR_OK;
}

void cantor_app_set_hooks(struct cantor_app *app, enum cantor_app_slot slot,
                          const struct cantor_app_hooks *hooks)
{
    if (slot < CANTOR_APP_SLOT__COUNT)
        app->hooks[slot] = hooks;
}

static void on_stop_signal(void *arg, int signo)
{
    struct cantor_app *app = arg;

    if (app->stopping) {
        /* A second SIGTERM/SIGINT: the operator does not want to wait for the graceful path. */
        log_warn("app", "second stop signal: leaving the loop now");
        event_base_loopbreak(app->base);
        return;
    }
    cantor_app_request_stop(app, CANTOR_OK);
}

static void on_reload_signal(void *arg)
{
    (void)cantor_app_reload(arg);
}

enum cantor_err cantor_app_start(struct cantor_app *app)
{
    struct cantor_signal_handlers sh = {on_stop_signal, on_reload_signal, app};
    enum cantor_err err;
    int n = 0;

    cantor_log_set_level((enum cantor_log_level)app->cfg->log_level);
    err = cantor_signals_install(app->base, &sh, &app->signals);
    if (err) {
        log_error("app", "cannot install signal handlers: %s", cantor_err_str(err));
        return err;
    }
    for (int i = 0; i < CANTOR_APP_SLOT__COUNT; i++) {
        const struct cantor_app_hooks *h = app->hooks[i];

        if (!h || !h->start)
            continue;
        (void)cantor_sdnotify_printf("STATUS=starting %s", h->name);
        err = h->start(app);
        if (err) {
            log_error("app", "%s failed to start: %s", h->name, cantor_err_str(err));
            return err;
        }
        app->started[i] = true;
        n++;
    }
    err = cantor_sdnotify_watchdog_start(app->base, &app->watchdog);
    if (err)
        log_warn("app", "watchdog not started: %s", cantor_err_str(err));
    log_info("app", "cantord running: %d component%s, data_dir %s, listen %s", n, n == 1 ? "" : "s",
             app->cfg->data_dir, app->cfg->listen);
    (void)cantor_sdnotify_ready("running");
    return CANTOR_OK;
}

enum cantor_err cantor_app_run(struct cantor_app *app)
{
    if (event_base_dispatch(app->base) < 0)
        return CANTOR_ERR_IO;
    return app->exit_err;
}

void cantor_app_request_stop(struct cantor_app *app, enum cantor_err err)
{
    if (app->stopping)
        return;
    app->stopping = true;
    app->exit_err = err;
    (void)cantor_sdnotify_stopping("stopping");
    for (int i = CANTOR_APP_SLOT__COUNT - 1; i >= 0; i--)
        if (app->started[i] && app->hooks[i]->stop)
            app->hooks[i]->stop(app);
    /* Timers, signals and the watchdog would keep the loop alive: leave after pending callbacks. */
    event_base_loopexit(app->base, NULL);
}

enum cantor_err cantor_app_reload(struct cantor_app *app)
{
    struct cantor_config_reload_result res;
    char errbuf[CANTOR_CONFIG_ERRLEN];
    enum cantor_err err;

    (void)cantor_sdnotify_reloading();
    err = cantor_config_reload(app->cfg, app->cmdline, &res, errbuf, sizeof(errbuf));
    if (err) {
        log_error("config", "reload failed, keeping the running configuration: %s", errbuf);
        (void)cantor_sdnotify_ready("running (last reload failed)");
        return err;
    }
    cantor_log_set_level((enum cantor_log_level)app->cfg->log_level);
    for (int i = 0; i < CANTOR_APP_SLOT__COUNT; i++)
        if (app->started[i] && app->hooks[i]->reload)
            app->hooks[i]->reload(app);
    app->reloads++;
    log_info("config", "reloaded: %u option%s applied, %u need a restart", res.applied,
             res.applied == 1 ? "" : "s", res.ignored);
    (void)cantor_sdnotify_ready("running");
    return CANTOR_OK;
}

void cantor_app_free(struct cantor_app *app)
{
    if (!app)
        return;
    for (int i = CANTOR_APP_SLOT__COUNT - 1; i >= 0; i--)
        if (app->hooks[i] && app->hooks[i]->free)
            app->hooks[i]->free(app);
    cantor_sdnotify_watchdog_free(app->watchdog);
    cantor_signals_free(app->signals);
    event_base_free(app->base);
    cantor_config_free(app->cfg);
    free(app);
}
