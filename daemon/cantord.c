/*
 * cantord.c - the daemon's entry point: command line, configuration, then the app's event loop.
 * Exit status: 0 ok, 1 bad configuration or runtime failure, 2 usage error (unknown flag).
 * Components (store, node, follower, HTTP) are plugged into the app with cantor_app_set_hooks.
 */
#include <stdio.h>

#include "cantor_config.h"
#include "core/buf.h"
#include "core/log.h"
#include "daemon/app.h"
#include "daemon/components.h"
#include "daemon/config.h"
#include "daemon/sdnotify.h"

#define EXIT_CONFIG 1
#define EXIT_USAGE  2

static int print_generated(enum cantor_err (*gen)(struct cantor_buf *))
{
    struct cantor_buf b;
    enum cantor_err err;

    cantor_buf_init(&b, 1 << 20);
    err = gen(&b);
    if (!err && b.len)
        err = fwrite(b.data, 1, b.len, stdout) == b.len ? CANTOR_OK : CANTOR_ERR_IO;
    cantor_buf_release(&b);
    if (err)
        fprintf(stderr, "cantord: %s\n", cantor_err_str(err));
    return err ? EXIT_CONFIG : 0;
}

static enum cantor_err gen_sample_conf(struct cantor_buf *b)
{
    return cantor_config_write_conf(NULL, b);
}

static int print_conf(const struct cantor_config *cfg)
{
    struct cantor_buf b;
    enum cantor_err err;

    cantor_buf_init(&b, 1 << 20);
    err = cantor_config_write_conf(cfg, &b);
    if (!err)
        err = fwrite(b.data, 1, b.len, stdout) == b.len ? CANTOR_OK : CANTOR_ERR_IO;
    cantor_buf_release(&b);
    return err ? EXIT_CONFIG : 0;
}

static int run(const struct cantor_cmdline *cl, struct cantor_config *cfg)
{
    struct cantor_app *app = NULL;
    enum cantor_err err;

    err = cantor_app_new(cl, cfg, &app);
    if (err) {
        cantor_config_free(cfg);
        log_error("cantord", "cannot create the app: %s", cantor_err_str(err));
        return EXIT_CONFIG;
    }
    cantor_components_install(app);
    err = cantor_app_start(app);
    if (!err)
        err = cantor_app_run(app);
    if (err) {
        log_error("cantord", "exiting: %s", cantor_err_str(err));
        (void)cantor_sdnotify_printf("STATUS=failed: %s", cantor_err_str(err));
    }
    log_info("cantord", "stopped");
    cantor_app_free(app);
    return err ? EXIT_CONFIG : 0;
}

int main(int argc, char **argv)
{
    struct cantor_cmdline cl;
    struct cantor_config *cfg = NULL;
    char errbuf[CANTOR_CONFIG_ERRLEN];
    enum cantor_err err;

    err = cantor_config_parse_cmdline(argc, argv, &cl, errbuf, sizeof(errbuf));
    if (err) {
        fprintf(stderr, "cantord: %s\nTry 'cantord --help'.\n", errbuf);
        return EXIT_USAGE;
    }
    switch (cl.action) {
    case CANTOR_ACTION_HELP:
        return print_generated(cantor_config_write_help);
    case CANTOR_ACTION_VERSION:
        printf("cantord %s\n", CANTOR_VERSION);
        return 0;
    case CANTOR_ACTION_GEN_DOCS:
        return print_generated(cantor_config_write_docs);
    case CANTOR_ACTION_GEN_CONF:
        return print_generated(gen_sample_conf);
    default:
        break;
    }
    err = cantor_config_load(&cl, &cfg, errbuf, sizeof(errbuf));
    if (err) {
        fprintf(stderr, "cantord: %s\n", errbuf);
        if (cl.action == CANTOR_ACTION_RUN)
            (void)cantor_sdnotify_status("bad configuration");
        return EXIT_CONFIG;
    }
    if (cl.action == CANTOR_ACTION_CHECK || cl.action == CANTOR_ACTION_DUMP) {
        int rc = print_conf(cfg);
        if (cl.action == CANTOR_ACTION_CHECK && rc == 0)
            fprintf(stderr, "cantord: configuration OK\n");
        cantor_config_free(cfg);
        return rc;
    }
    return run(&cl, cfg);
}
