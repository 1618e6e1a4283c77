/*
 * components.c - see components.h. Each start hook turns the configuration into the component's
 * options; each free hook must accept a component that never started.
 */
#include "components.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cantor_config.h"

#include "core/log.h"
#include "daemon/commit.h"
#include "daemon/compress.h"
#include "daemon/config.h"
#include "daemon/devchain.h"
#include "daemon/follower.h"
#include "rpc/api.h"
#include "rpc/ethrpc.h"
#include "rpc/http.h"
#include "storage/store.h"

#define DEVCHAIN_READY_TIMEOUT_MS 120000

static struct cantor_compress *compress_engine; /* daemon/compress.h; one daemon per process */
static struct cantor_commit *commit_engine;     /* daemon/commit.h (roots, MMR, checkpoints) */

static const char *const compression_names[] = {"none", "lz4", "zstd", "snappy"};

static enum cantor_err mkdir_private(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return CANTOR_OK;
    log_error("store", "cannot create %s: %s", path, strerror(errno));
    return CANTOR_ERR_IO;
}

static bool dev_mode(const struct cantor_config *cfg)
{
    return cfg->dev || !cfg->eth_rpc[0];
}

/* ---- store ---- */

static enum cantor_err store_start(struct cantor_app *app)
{
    const struct cantor_config *cfg = app->cfg;
    struct cantor_store_opts o = {0};
    char path[4096];
    enum cantor_err err;

    err = mkdir_private(cfg->data_dir);
    if (err)
        return err;
    if (snprintf(path, sizeof(path), "%s/db", cfg->data_dir) >= (int)sizeof(path))
        return CANTOR_ERR_CONFIG;
    o.path = path;
    o.cache_mb = (size_t)(cfg->store_cache_size >> 20);
    o.compression = compression_names[cfg->store_compression];
    o.retention = (uint64_t)cfg->store_retention;
    o.sync = cfg->store_sync;
    o.low_priority_background = cfg->background_nice > 0;
    err = cantor_store_open(&o, &app->store);
    if (err)
        log_error("store", "cannot open the store at %s: %s", path, cantor_err_str(err));
    else
        log_info("store", "store open at %s", path);
    return err;
}

static void store_free(struct cantor_app *app)
{
    cantor_store_close(app->store);
    app->store = NULL;
}

const struct cantor_app_hooks cantor_store_hooks = {"store", store_start, NULL, NULL, store_free};

/* ---- upstream node ---- */

static char *read_secret_line(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    char *out = NULL;

    if (!f) {
        log_error("node", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        out = strdup(line);
    }
    fclose(f);
    return out;
}

static enum cantor_err node_start(struct cantor_app *app)
{
    const struct cantor_config *cfg = app->cfg;
    struct cantor_ethrpc_opts o = {0};
    char *auth = NULL;
    enum cantor_err err;

    if (dev_mode(cfg)) {
        err = cantor_devchain_start(cantor_devchain_default_dir(), 0, DEVCHAIN_READY_TIMEOUT_MS,
                                    &app->devchain);
        if (err)
            return err;
        o.url = cantor_devchain_url(app->devchain);
    } else {
        o.url = cfg->eth_rpc;
    }
    o.timeout_ms = (long)cfg->rpc_timeout;
    o.max_retries = (unsigned)cfg->rpc_max_retries;
    o.backoff_initial_ms = (long)cfg->rpc_backoff_initial;
    o.backoff_max_ms = (long)cfg->rpc_backoff_max;
    o.max_response_bytes = (size_t)cfg->rpc_max_response_size;
    if (cfg->rpc_auth_header_file[0]) {
        auth = read_secret_line(cfg->rpc_auth_header_file);
        if (!auth)
            return CANTOR_ERR_CONFIG;
        o.auth_header = auth;
    }
    if (cfg->rpc_jwt_secret_file[0])
        o.jwt_secret_file = cfg->rpc_jwt_secret_file;
    err = cantor_ethrpc_new(&o, &app->node);
    free(auth);
    if (err)
        log_error("node", "cannot create the JSON-RPC client for %s: %s", o.url, cantor_err_str(err));
    else
        log_info("node", "upstream node %s", o.url);
    return err;
}

static void node_free(struct cantor_app *app)
{
    cantor_ethrpc_free(app->node);
    app->node = NULL;
    cantor_devchain_free(app->devchain);
    app->devchain = NULL;
}

const struct cantor_app_hooks cantor_node_hooks = {"node", node_start, NULL, NULL, node_free};

/* ---- follower ---- */

static void follower_opts(const struct cantor_config *cfg, struct cantor_follower_opts *o)
{
    enum cantor_start_block_kind kind = CANTOR_START_HEAD;
    uint64_t number = 0;

    memset(o, 0, sizeof(*o));
    (void)cantor_config_start_block(cfg, &kind, &number);
    o->start = kind == CANTOR_START_GENESIS  ? CANTOR_FOLLOW_FROM_GENESIS
               : kind == CANTOR_START_NUMBER ? CANTOR_FOLLOW_FROM_NUMBER
                                             : CANTOR_FOLLOW_FROM_HEAD;
    /* The dev chain is young and short: follow all of it. */
    if (dev_mode(cfg) && kind == CANTOR_START_HEAD)
        o->start = CANTOR_FOLLOW_FROM_GENESIS;
    o->start_number = number;
    o->confirmations = (uint64_t)cfg->confirmations;
    o->poll_interval_ms = cfg->poll_interval;
    o->batch_size = (uint64_t)cfg->batch_size;
    o->nice = (int)cfg->background_nice;
}

static uint64_t follower_chain_id(void *arg)
{
    struct cantor_app *app = arg;
    struct cantor_follower_status st;

    cantor_follower_get_status(app->follower, &st);
    return st.caps_known ? st.caps.chain_id : 0;
}

static enum cantor_err commit_new(struct cantor_app *app)
{
    struct cantor_commit_opts co = {.checkpoint_interval = (uint64_t)app->cfg->checkpoint_interval,
                                    .chain_id_fn = follower_chain_id,
                                    .chain_id_arg = app};
    char kd[4096];

    if (app->cfg->key_dir && app->cfg->key_dir[0])
        co.key_dir = app->cfg->key_dir;
    else if (snprintf(kd, sizeof(kd), "%s/keys", app->cfg->data_dir) >= (int)sizeof(kd))
        return CANTOR_ERR_CONFIG;
    else
        co.key_dir = kd;
    return cantor_commit_new(app->store, &co, &commit_engine);
}

static enum cantor_err follower_start(struct cantor_app *app)
{
    struct cantor_follower_opts o;
    struct cantor_compress_opts co = {.nice = (int)app->cfg->background_nice,
                                      .train_blocks = (uint64_t)app->cfg->compress_train_blocks,
                                      .blocks_per_chunk = (uint32_t)app->cfg->compress_blocks_per_chunk,
                                      .pack_depth = (uint64_t)app->cfg->compress_pack_depth};
    enum cantor_err err;

    follower_opts(app->cfg, &o);
    err = cantor_follower_new(&o, app->store, app->node, &app->follower);
    if (!err && !(err = cantor_compress_new(app->store, &co, &compress_engine)))
        err = cantor_follower_add_hook(app->follower, cantor_compress_hook(compress_engine));
    if (!err && !(err = commit_new(app)))
        err = cantor_follower_add_hook(app->follower, cantor_commit_hook(commit_engine));
    if (!err)
        err = cantor_follower_start(app->follower);
    if (!err)
        err = cantor_compress_start(compress_engine);
    return err;
}

static void follower_reload(struct cantor_app *app)
{
    struct cantor_follower_opts o;

    follower_opts(app->cfg, &o);
    cantor_follower_reconfigure(app->follower, &o);
    if (commit_engine)
        cantor_commit_set_interval(commit_engine, (uint64_t)app->cfg->checkpoint_interval);
}

static void follower_stop(struct cantor_app *app)
{
    cantor_follower_stop(app->follower);
    cantor_compress_stop(compress_engine);
}

static void follower_free(struct cantor_app *app)
{
    cantor_follower_free(app->follower);
    app->follower = NULL;
    cantor_commit_free(commit_engine);
    commit_engine = NULL;
    cantor_compress_free(compress_engine);
    compress_engine = NULL;
}

const struct cantor_app_hooks cantor_follower_hooks = {"follower", follower_start, follower_reload,
                                                       follower_stop, follower_free};

/* ---- HTTP server ---- */

/* Read a secret from a file that only its owner can read (like ssh does for keys). */
static enum cantor_err read_token_file(const char *path, char **ret_token)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        log_error("http", "admin_token_file %s: %s", path, strerror(errno));
        return CANTOR_ERR_CONFIG;
    }
    if (st.st_mode & 077) {
        log_error("http", "admin_token_file %s is readable by others (mode %03o): chmod 600 it", path,
                  (unsigned)(st.st_mode & 0777));
        return CANTOR_ERR_CONFIG;
    }
    *ret_token = read_secret_line(path);
    if (!*ret_token || !**ret_token) {
        free(*ret_token);
        *ret_token = NULL;
        log_error("http", "admin_token_file %s is empty", path);
        return CANTOR_ERR_CONFIG;
    }
    return CANTOR_OK;
}

/* "127.0.0.1:7545" or "[::1]:7545" into an address and a port. */
static enum cantor_err parse_listen(const char *listen, char *addr, size_t addr_len, uint16_t *ret_port)
{
    const char *colon = strrchr(listen, ':');
    const char *host = listen;
    size_t hl;
    char *end;
    unsigned long port;

    if (!colon)
        return CANTOR_ERR_CONFIG;
    hl = (size_t)(colon - listen);
    if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
        host++;
        hl -= 2;
    }
    if (hl == 0 || hl >= addr_len)
        return CANTOR_ERR_CONFIG;
    memcpy(addr, host, hl);
    addr[hl] = 0;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port > 65535)
        return CANTOR_ERR_CONFIG;
    *ret_port = (uint16_t)port;
    return CANTOR_OK;
}

static void api_status(void *arg, struct cantor_api_status *ret)
{
    struct cantor_app *app = arg;
    struct cantor_follower_status st;

    if (!app->follower)
        return;
    cantor_follower_get_status(app->follower, &st);
    ret->follower_running = st.running;
    ret->node_reachable = st.node_ok;
    ret->synced = st.synced;
    ret->chain_id = st.caps_known ? st.caps.chain_id : 0;
    ret->node_head = st.node_head;
    ret->blocks_applied = st.blocks_applied;
    ret->reorgs = st.reorgs;
    ret->rpc_errors = st.rpc_errors;
    ret->blocks_per_s = st.blocks_per_s;
    memcpy(ret->last_error, st.last_error, sizeof(ret->last_error));
    snprintf(ret->diff_format, sizeof(ret->diff_format), "%s",
             st.caps_known ? cantor_diff_format_name(st.caps.diff_format) : "none");
    snprintf(ret->model_version, sizeof(ret->model_version), "none");
    cantor_compress_fill_status(compress_engine, ret);
}

static enum cantor_err http_start(struct cantor_app *app)
{
    const struct cantor_config *cfg = app->cfg;
    struct cantor_http_opts o = {0};
    struct cantor_api_ctx *ctx;
    const struct cantor_http_route *routes;
    char addr[128], *token = NULL;
    size_t n;
    enum cantor_err err;

    err = parse_listen(cfg->listen, addr, sizeof(addr), &o.port);
    if (err) {
        log_error("http", "listen '%s' is not ADDR:PORT", cfg->listen);
        return err;
    }
    if (cfg->admin_token_file[0] && (err = read_token_file(cfg->admin_token_file, &token)))
        return err;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        free(token);
        return CANTOR_ERR_NOMEM;
    }
    ctx->store = app->store;
    ctx->get_status = api_status;
    ctx->status_arg = app;
    ctx->readyz_max_lag = (uint64_t)cfg->readyz_max_lag;
    ctx->data_dir = cfg->data_dir;
    ctx->start_time = time(NULL);
    ctx->version = CANTOR_VERSION;
    ctx->codec = cantor_compress_api(compress_engine);
    ctx->commit = commit_engine ? cantor_commit_view(commit_engine) : NULL;
    app->api = ctx;
    o.listen_addr = addr;
    o.max_body = (size_t)cfg->http_max_body;
    o.max_connections = (unsigned)cfg->http_max_connections;
    o.timeout_s = (unsigned)((cfg->http_timeout + 999) / 1000);
    o.threads = (unsigned)cfg->http_threads;
    if (!o.threads) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        o.threads = ncpu > 2 ? (unsigned)(ncpu - 1) : 1;
        if (o.threads > 8)
            o.threads = 8;
    }
    o.workers = (unsigned)cfg->http_workers;
    o.admin_token = token;
    o.public_reads = cfg->public_reads;
    routes = cantor_api_routes(&n);
    err = cantor_http_start(&o, routes, n, ctx, &app->http);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    if (!err)
        cantor_api_set_server(ctx, app->http);
    return err;
}

static void http_reload(struct cantor_app *app)
{
    char *token = NULL;

    if (!app->http)
        return;
    if (app->cfg->admin_token_file[0] && read_token_file(app->cfg->admin_token_file, &token))
        log_warn("http", "keeping the previous admin token");
    else if (cantor_http_set_auth(app->http, token, app->cfg->public_reads) == CANTOR_OK)
        log_info("http", "auth reloaded (admin token %s, public reads %s)", token ? "set" : "unset",
                 app->cfg->public_reads ? "on" : "off");
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    app->api->readyz_max_lag = (uint64_t)app->cfg->readyz_max_lag;
}

static void http_free(struct cantor_app *app)
{
    cantor_http_stop(app->http);
    app->http = NULL;
    free(app->api);
    app->api = NULL;
}

const struct cantor_app_hooks cantor_http_hooks = {"http", http_start, http_reload, NULL, http_free};

void cantor_components_install(struct cantor_app *app)
{
    cantor_app_set_hooks(app, CANTOR_APP_SLOT_STORE, &cantor_store_hooks);
    cantor_app_set_hooks(app, CANTOR_APP_SLOT_NODE, &cantor_node_hooks);
    cantor_app_set_hooks(app, CANTOR_APP_SLOT_FOLLOWER, &cantor_follower_hooks);
    cantor_app_set_hooks(app, CANTOR_APP_SLOT_HTTP, &cantor_http_hooks);
}
