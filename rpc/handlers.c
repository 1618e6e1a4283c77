/*
 * handlers.c - the API route table and the operational endpoints: /healthz, /readyz, /metrics,
 * /v1/status and the admin routes. State, block and history reads live in handlers_state.c, the
 * Ethereum JSON-RPC engine in handlers_rpc.c.
 *
 * Memory: handlers borrow the struct cantor_api_ctx; every response body is malloc'ed here and freed
 * by rpc/http.c after sending.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api_internal.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/log.h"
#include "rpc/api_codec.h"

#define METRICS_MAX (256u << 10)

static atomic_uint checkpoint_seq;

void cantor_api_set_server(struct cantor_api_ctx *ctx, struct cantor_http_server *server)
{
    __atomic_store_n(&ctx->server, server, __ATOMIC_RELEASE);
}

void cantor_api_get_status(struct cantor_api_ctx *ctx, struct cantor_api_status *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (ctx->get_status)
        ctx->get_status(ctx->status_arg, ret);
    ret->last_error[sizeof(ret->last_error) - 1] = 0;
    ret->diff_format[sizeof(ret->diff_format) - 1] = 0;
    ret->model_version[sizeof(ret->model_version) - 1] = 0;
    if (!ret->diff_format[0])
        snprintf(ret->diff_format, sizeof(ret->diff_format), "none");
    if (!ret->model_version[0])
        snprintf(ret->model_version, sizeof(ret->model_version), "none");
}

uint64_t cantor_api_chain_id(struct cantor_api_ctx *ctx)
{
    struct cantor_api_status st;

    if (ctx->chain_id)
        return ctx->chain_id;
    cantor_api_get_status(ctx, &st);
    return st.chain_id;
}

bool cantor_api_reject_query(const struct cantor_http_request *req, struct cantor_http_response *resp,
                             const char *const *allowed)
{
    const char *bad = NULL;
    char echo[64];

    if (!cantor_params_check_query(req, allowed, &bad))
        return false;
    cantor_params_echo(bad, echo, sizeof(echo));
    cantor_http_reply_error(resp, 400, "unknown or repeated query parameter '%s'", echo);
    return true;
}

bool cantor_api_resolve_block(struct cantor_api_ctx *ctx, const char *s, struct cantor_http_response *resp,
                              uint64_t *ret_n)
{
    struct cantor_store_stats st;
    char why[CANTOR_PARAMS_WHY_LEN], echo[64];
    uint8_t hash[32];
    uint64_t head, n;
    bool empty;
    enum cantor_err err;

    if (cantor_store_head(ctx->store, &head, NULL, &empty) || empty) {
        cantor_http_reply_error(resp, 404, "no block has been followed yet");
        return false;
    }
    if (!s || strcmp(s, "latest") == 0) {
        *ret_n = head;
        return true;
    }
    if (strcmp(s, "earliest") == 0) {
        if (cantor_store_stats(ctx->store, &st)) {
            cantor_http_reply_error(resp, 500, "cannot read store statistics");
            return false;
        }
        *ret_n = st.first_followed;
        return true;
    }
    err = cantor_params_block_number(s, &n, why, sizeof(why));
    if (err) {
        cantor_params_echo(s, echo, sizeof(echo));
        cantor_http_reply_error(resp, 400, "invalid block '%s': %s", echo, why);
        return false;
    }
    if (n > head || cantor_store_get_block_hash(ctx->store, n, hash) == CANTOR_ERR_NOT_FOUND) {
        if (cantor_store_stats(ctx->store, &st))
            memset(&st, 0, sizeof(st));
        cantor_http_reply_error(resp, 404,
                                "block %" PRIu64 " is not followed (followed: %" PRIu64 "..%" PRIu64 ")", n,
                                st.first_followed, head);
        return false;
    }
    *ret_n = n;
    return true;
}

static enum cantor_err h_healthz(void *c, const struct cantor_http_request *req,
                                 struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    time_t now = time(NULL);

    if (cantor_api_reject_query(req, resp, NULL))
        return CANTOR_OK;
    return cantor_http_reply_json(resp, 200,
                                  json_pack("{s:s,s:s,s:I}", "status", "ok", "version",
                                            ctx->version ? ctx->version : "unknown", "uptimeSeconds",
                                            (json_int_t)(now > ctx->start_time ? now - ctx->start_time : 0)));
}

static enum cantor_err h_readyz(void *c, const struct cantor_http_request *req,
                                struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    struct cantor_api_status st;
    json_t *reasons = json_array(), *o;
    uint64_t head = 0, lag = 0;
    bool empty = true, store_ok;
    char msg[160];

    if (!reasons)
        return CANTOR_ERR_NOMEM;
    if (cantor_api_reject_query(req, resp, NULL)) {
        json_decref(reasons);
        return CANTOR_OK;
    }
    cantor_api_get_status(ctx, &st);
    store_ok = ctx->store && cantor_store_head(ctx->store, &head, NULL, &empty) == CANTOR_OK;
    if (!store_ok)
        json_array_append_new(reasons, json_string("store is not open"));
    else if (empty)
        json_array_append_new(reasons, json_string("store is empty: no block followed yet"));
    if (!st.node_reachable)
        json_array_append_new(reasons, json_string("execution node is not reachable"));
    if (store_ok && !empty && st.node_head > head)
        lag = st.node_head - head;
    if (lag > ctx->readyz_max_lag) {
        snprintf(msg, sizeof(msg), "lag of %" PRIu64 " blocks exceeds the limit of %" PRIu64, lag,
                 ctx->readyz_max_lag);
        json_array_append_new(reasons, json_string(msg));
    }
    o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:o}", "ready", json_array_size(reasons) == 0, "storeHead",
                  (json_int_t)head, "nodeHead", (json_int_t)st.node_head, "lag", (json_int_t)lag, "maxLag",
                  (json_int_t)ctx->readyz_max_lag, "reasons", reasons);
    return cantor_http_reply_json(resp, o && json_array_size(reasons) == 0 ? 200 : 503, o);
}

static json_t *status_json(struct cantor_api_ctx *ctx)
{
    struct cantor_api_status st;
    struct cantor_store_stats ss;
    uint8_t hash[32];
    char hex[67];
    uint64_t head = 0;
    bool empty = true;
    time_t now = time(NULL);
    json_t *store;

    cantor_api_get_status(ctx, &st);
    memset(hash, 0, sizeof(hash));
    memset(&ss, 0, sizeof(ss));
    cantor_store_head(ctx->store, &head, hash, &empty);
    cantor_store_stats(ctx->store, &ss);
    cantor_hex_encode(hash, 32, hex);
    store = json_pack("{s:b,s:I,s:s?,s:I,s:I,s:I,s:I,s:I}", "empty", empty, "head", (json_int_t)head,
                      "headHash", empty ? NULL : hex, "firstFollowed", (json_int_t)ss.first_followed,
                      "firstRetained", (json_int_t)ss.first_retained, "blocks", (json_int_t)ss.blocks,
                      "entries", (json_int_t)ss.entries, "bytes", (json_int_t)ss.bytes);
    return json_pack(
        "{s:s,s:I,s:I,s:o,s:{s:b,s:b,s:b,s:I,s:I,s:I,s:f,s:I,s:I,s:s,s:s},s:{s:b,s:f,s:s},"
        "s:{s:b,s:f}}",
        "version", ctx->version ? ctx->version : "unknown", "chainId", (json_int_t)cantor_api_chain_id(ctx),
        "uptimeSeconds", (json_int_t)(now > ctx->start_time ? now - ctx->start_time : 0), "store", store,
        "follower", "running", st.follower_running, "nodeReachable", st.node_reachable, "synced", st.synced,
        "nodeHead", (json_int_t)st.node_head, "lag",
        (json_int_t)(!empty && st.node_head > head ? st.node_head - head : 0), "blocksApplied",
        (json_int_t)st.blocks_applied, "blocksPerSecond", st.blocks_per_s, "reorgs", (json_int_t)st.reorgs,
        "rpcErrors", (json_int_t)st.rpc_errors, "lastError", st.last_error, "diffFormat", st.diff_format,
        "compression", "known", st.compression_known, "ratio", st.compression_ratio, "modelVersion",
        st.model_version, "training", "known", st.training_known, "loss", st.training_loss);
}

static enum cantor_err h_status(void *c, const struct cantor_http_request *req,
                                struct cantor_http_response *resp)
{
    if (cantor_api_reject_query(req, resp, NULL))
        return CANTOR_OK;
    return cantor_http_reply_json(resp, 200, status_json(c));
}

/* Model versions are hex hashes, but escape anyway: a label value must not break the exposition. */
static void label_safe(const char *s, char *out, size_t out_len)
{
    size_t i = 0;

    for (; s[i] && i + 1 < out_len; i++)
        out[i] = (s[i] == '"' || s[i] == '\\' || s[i] == '\n') ? '_' : s[i];
    out[i] = 0;
}

static enum cantor_err h_metrics(void *c, const struct cantor_http_request *req,
                                 struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    struct cantor_http_server *server = __atomic_load_n(&ctx->server, __ATOMIC_ACQUIRE);
    struct cantor_api_status st;
    struct cantor_store_stats ss;
    struct cantor_buf b;
    uint64_t head = 0;
    bool empty = true;
    char model[80];
    size_t len;
    uint8_t *body;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL))
        return CANTOR_OK;
    cantor_api_get_status(ctx, &st);
    memset(&ss, 0, sizeof(ss));
    cantor_store_head(ctx->store, &head, NULL, &empty);
    err = cantor_store_stats(ctx->store, &ss);
    if (err)
        return err;
    label_safe(st.model_version, model, sizeof(model));
    cantor_buf_init(&b, METRICS_MAX);
    err = cantor_buf_printf(
        &b,
        "# HELP cantor_store_head Highest block in the store.\n# TYPE cantor_store_head gauge\n"
        "cantor_store_head %" PRIu64 "\n"
        "# HELP cantor_node_head Head reported by the execution node.\n# TYPE cantor_node_head gauge\n"
        "cantor_node_head %" PRIu64 "\n"
        "# HELP cantor_lag_blocks Node head minus store head.\n# TYPE cantor_lag_blocks gauge\n"
        "cantor_lag_blocks %" PRIu64 "\n"
        "# HELP cantor_synced 1 when the store is at the node head (minus confirmations).\n"
        "# TYPE cantor_synced gauge\ncantor_synced %d\n"
        "# HELP cantor_node_reachable 1 when the last node call succeeded.\n"
        "# TYPE cantor_node_reachable gauge\ncantor_node_reachable %d\n"
        "# HELP cantor_blocks_per_second Follower apply rate (moving average).\n"
        "# TYPE cantor_blocks_per_second gauge\ncantor_blocks_per_second %.3f\n"
        "# HELP cantor_blocks_applied_total Blocks applied since start.\n"
        "# TYPE cantor_blocks_applied_total counter\ncantor_blocks_applied_total %" PRIu64 "\n"
        "# HELP cantor_rpc_errors_total Failed calls to the execution node.\n"
        "# TYPE cantor_rpc_errors_total counter\ncantor_rpc_errors_total %" PRIu64 "\n"
        "# HELP cantor_reorgs_total Reorgs rolled back.\n# TYPE cantor_reorgs_total counter\n"
        "cantor_reorgs_total %" PRIu64 "\n"
        "# HELP cantor_store_blocks Blocks in the retained range.\n# TYPE cantor_store_blocks gauge\n"
        "cantor_store_blocks %" PRIu64 "\n"
        "# HELP cantor_store_entries History entries held.\n# TYPE cantor_store_entries gauge\n"
        "cantor_store_entries %" PRIu64 "\n"
        "# HELP cantor_store_bytes Approximate store size.\n# TYPE cantor_store_bytes gauge\n"
        "cantor_store_bytes %" PRIu64 "\n",
        empty ? 0 : head, st.node_head, !empty && st.node_head > head ? st.node_head - head : 0,
        st.synced ? 1 : 0, st.node_reachable ? 1 : 0, st.blocks_per_s, st.blocks_applied, st.rpc_errors,
        st.reorgs, ss.blocks, ss.entries, ss.bytes);
    if (!err)
        err = cantor_buf_printf(&b, "# HELP cantor_store_cf_bytes Approximate size per column family.\n"
                                    "# TYPE cantor_store_cf_bytes gauge\n");
    for (int i = 0; !err && i < CANTOR_CF__COUNT; i++)
        err = cantor_buf_printf(&b, "cantor_store_cf_bytes{cf=\"%s\"} %" PRIu64 "\n",
                                cantor_store_cf_name((enum cantor_store_cf)i), ss.cf_bytes[i]);
    if (!err)
        err = cantor_buf_printf(
            &b,
            "# HELP cantor_compression_ratio Raw delta bytes per compressed byte (0 = codec not running).\n"
            "# TYPE cantor_compression_ratio gauge\ncantor_compression_ratio %.4f\n"
            "# HELP cantor_model_info Active compression model (version \"none\" = no model).\n"
            "# TYPE cantor_model_info gauge\ncantor_model_info{version=\"%s\"} 1\n"
            "# HELP cantor_training_loss Last training loss (0 = trainer not running).\n"
            "# TYPE cantor_training_loss gauge\ncantor_training_loss %.6f\n"
            "# HELP cantor_uptime_seconds Seconds since start.\n# TYPE cantor_uptime_seconds gauge\n"
            "cantor_uptime_seconds %lld\n",
            st.compression_ratio, model, st.training_loss,
            (long long)(time(NULL) > ctx->start_time ? time(NULL) - ctx->start_time : 0));
    if (!err && ctx->commit && ctx->commit->roots_ms)
        err = cantor_buf_printf(
            &b,
            "# HELP cantor_roots_ms Root maintenance (delta root, state tree, MMR) of the last"
            " block.\n# TYPE cantor_roots_ms gauge\ncantor_roots_ms %.3f\n",
            ctx->commit->roots_ms(ctx->commit->arg));
    if (!err && server)
        err = cantor_http_metrics(server, &b);
    if (err) {
        cantor_buf_release(&b);
        return err;
    }
    body = cantor_buf_detach(&b, &len);
    return cantor_http_reply_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", (char *)body, len);
}

static enum cantor_err h_checkpoint(void *c, const struct cantor_http_request *req,
                                    struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    char dir[PATH_MAX], path[PATH_MAX];
    enum cantor_err err;
    int n;

    if (cantor_api_reject_query(req, resp, NULL))
        return CANTOR_OK;
    if (req->body_len && !(req->body_len == 2 && memcmp(req->body, "{}", 2) == 0))
        return cantor_http_reply_error(resp, 400, "checkpoint takes no request body (or {})");
    if (!ctx->data_dir || !*ctx->data_dir)
        return cantor_http_reply_error(resp, 503, "backups are disabled: no data_dir configured");
    n = snprintf(dir, sizeof(dir), "%s/backups", ctx->data_dir);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return cantor_http_reply_error(resp, 500, "data_dir path too long");
    if (mkdir(dir, 0700) && errno != EEXIST) {
        log_error("api", "mkdir %s: %s", dir, strerror(errno));
        return cantor_http_reply_error(resp, 500, "cannot create the backups directory");
    }
    n = snprintf(path, sizeof(path), "%s/checkpoint-%lld-%u", dir, (long long)time(NULL),
                 atomic_fetch_add(&checkpoint_seq, 1));
    if (n < 0 || (size_t)n >= sizeof(path))
        return cantor_http_reply_error(resp, 500, "data_dir path too long");
    err = ctx->checkpoint ? ctx->checkpoint(ctx->checkpoint_arg, path)
                          : cantor_store_checkpoint(ctx->store, path);
    if (err == CANTOR_ERR_UNSUPPORTED)
        return cantor_http_reply_error(resp, 422, "this store backend cannot make checkpoints");
    if (err) {
        log_error("api", "checkpoint into %s failed: %s", path, cantor_err_str(err));
        return cantor_http_reply_error(resp, 500, "checkpoint failed: %s", cantor_err_str(err));
    }
    log_info("api", "checkpoint written to %s", path);
    return cantor_http_reply_json(resp, 200, json_pack("{s:s}", "path", path));
}

/* FAST routes run on the event threads; SLOW ones (whole blocks, compression, backups) on the workers. */
#define FAST false
#define SLOW true

static const struct cantor_http_route routes[] = {
    {"GET", "/healthz", CANTOR_HTTP_PUBLIC, h_healthz, FAST},
    {"GET", "/readyz", CANTOR_HTTP_PUBLIC, h_readyz, FAST},
    {"GET", "/metrics", CANTOR_HTTP_PUBLIC, h_metrics, FAST},
    {"GET", "/v1/status", CANTOR_HTTP_READ, h_status, FAST},
    {"GET", "/v1/blocks/{n}", CANTOR_HTTP_READ, cantor_api_h_block, FAST},
    {"GET", "/v1/blocks/{n}/delta", CANTOR_HTTP_READ, cantor_api_h_block_delta, SLOW},
    {"GET", "/v1/blocks/{n}/compressed", CANTOR_HTTP_READ, cantor_api_h_block_compressed, SLOW},
    {"GET", "/v1/chunks/{n}", CANTOR_HTTP_READ, cantor_api_h_chunk, SLOW},
    {"POST", "/v1/compress", CANTOR_HTTP_READ, cantor_api_h_compress, SLOW},
    {"POST", "/v1/decompress", CANTOR_HTTP_READ, cantor_api_h_decompress, SLOW},
    {"GET", "/v1/compression/stats", CANTOR_HTTP_READ, cantor_api_h_compression_stats, FAST},
    {"GET", "/v1/models/{model}", CANTOR_HTTP_READ, cantor_api_h_model, SLOW},
    {"GET", "/v1/state/{address}", CANTOR_HTTP_READ, cantor_api_h_state, FAST},
    {"GET", "/v1/state/{address}/storage/{slot}", CANTOR_HTTP_READ, cantor_api_h_storage, FAST},
    {"GET", "/v1/history/{address}", CANTOR_HTTP_READ, cantor_api_h_history, FAST},
    {"GET", "/v1/history/{address}/storage/{slot}", CANTOR_HTTP_READ, cantor_api_h_history_storage, FAST},
    {"POST", "/rpc", CANTOR_HTTP_READ, cantor_api_h_rpc, FAST},
    {"POST", "/v1/admin/checkpoint", CANTOR_HTTP_ADMIN, h_checkpoint, SLOW},
    {"GET", "/v1/checkpoint/keys", CANTOR_HTTP_READ, cantor_api_h_checkpoint_keys, FAST},
    {"GET", "/v1/checkpoint", CANTOR_HTTP_READ, cantor_api_h_checkpoint_latest, FAST},
    {"GET", "/v1/checkpoint/latest", CANTOR_HTTP_READ, cantor_api_h_checkpoint_latest, FAST},
    {"GET", "/v1/checkpoint/{n}", CANTOR_HTTP_READ, cantor_api_h_checkpoint_n, FAST},
    {"POST", "/v1/checkpoint", CANTOR_HTTP_ADMIN, cantor_api_h_checkpoint_make, FAST},
    {"GET", "/v1/proofs/delta/{n}/{address}", CANTOR_HTTP_READ, cantor_api_h_proof_delta, SLOW},
    {"GET", "/v1/proofs/delta/{n}/{address}/storage/{slot}", CANTOR_HTTP_READ,
     cantor_api_h_proof_delta_storage, SLOW},
    {"GET", "/v1/proofs/state/{address}", CANTOR_HTTP_READ, cantor_api_h_proof_state, FAST},
    {"GET", "/v1/proofs/state/{address}/storage/{slot}", CANTOR_HTTP_READ, cantor_api_h_proof_state_storage,
     FAST},
    {"POST", "/v1/verify", CANTOR_HTTP_READ, cantor_api_h_verify, SLOW},
};

const struct cantor_http_route *cantor_api_routes(size_t *ret_n)
{
    *ret_n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
