/*
 * handlers_rpc.c - POST /rpc: the Ethereum JSON-RPC 2.0 read path (single calls and batches) over the
 * store. Answers are shaped like geth's, byte for byte where it matters: {"jsonrpc","id","result"} in
 * that order, compact, one trailing newline; quantities minimal ("0x0"), storage as a 32-byte word,
 * code as hex bytes ("0x" when empty). Block selectors: hex quantity, tags (latest, safe, finalized,
 * pending = store head; earliest = first followed block), a block hash string, or EIP-1898 objects.
 *
 * A key cantord never saw change has no known value: that is error -32000, never a guessed zero.
 * Memory: requests are parsed into jansson trees owned here; the response text is malloc'ed and
 * handed to the caller.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "core/hex.h"
#include "core/keccak.h"

#define RPC_PARSE_ERROR      -32700
#define RPC_INVALID_REQUEST  -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS   -32602
#define RPC_SERVER_ERROR     -32000

struct rpc_error {
    int code;
    char msg[256];
};

static bool set_error(struct rpc_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool set_error(struct rpc_error *e, int code, const char *fmt, ...)
{
    va_list ap;

    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return false;
}

/* {"jsonrpc":"2.0","id":id,...}: the id is copied (a borrowed reference is fine). */
static json_t *envelope(json_t *id)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    if (json_object_set_new(o, "jsonrpc", json_string("2.0")) ||
        json_object_set(o, "id", id ? id : json_null())) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *error_response(json_t *id, const struct rpc_error *e)
{
    json_t *o = envelope(id);

    if (o && json_object_set_new(o, "error", json_pack("{s:i,s:s}", "code", e->code, "message", e->msg))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *result_response(json_t *id, json_t *result)
{
    json_t *o = result ? envelope(id) : NULL;

    if (!o || json_object_set_new(o, "result", result)) {
        json_decref(o);
        if (!o)
            json_decref(result);
        return NULL;
    }
    return o;
}

static bool param_string(json_t *params, size_t i, const char **ret, struct rpc_error *e)
{
    json_t *v = json_array_get(params, i);

    if (!v || json_is_null(v))
        return set_error(e, RPC_INVALID_PARAMS, "missing value for required argument %zu", i);
    if (!json_is_string(v))
        return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: want a string", i);
    *ret = json_string_value(v);
    return true;
}

static bool param_address(json_t *params, size_t i, uint8_t addr[20], struct rpc_error *e)
{
    char why[CANTOR_PARAMS_WHY_LEN];
    const char *s = NULL;

    if (!param_string(params, i, &s, e))
        return false;
    if (cantor_params_address(s, addr, why, sizeof(why)))
        return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: %s", i, why);
    return true;
}

/* A block the store follows: in [first followed, head] with a header; else geth's "header not found". */
static bool check_followed(struct cantor_api_ctx *ctx, uint64_t n, struct rpc_error *e)
{
    uint8_t hash[32];
    uint64_t head;
    bool empty;

    if (cantor_store_head(ctx->store, &head, NULL, &empty) || empty || n > head ||
        cantor_store_get_block_hash(ctx->store, n, hash))
        return set_error(e, RPC_SERVER_ERROR, "header not found");
    return true;
}

static bool block_by_hash(struct cantor_api_ctx *ctx, const char *s, size_t i, uint64_t *ret_n,
                          struct rpc_error *e)
{
    char why[CANTOR_PARAMS_WHY_LEN];
    uint8_t hash[32], canon[32];
    uint64_t n;

    if (cantor_params_word(s, hash, why, sizeof(why)))
        return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: %s", i, why);
    /* The hash index may outlive a rolled-back block: only the canonical hash at n counts. */
    if (cantor_store_find_block_by_hash(ctx->store, hash, &n) ||
        cantor_store_get_block_hash(ctx->store, n, canon) || memcmp(hash, canon, 32) != 0)
        return set_error(e, RPC_SERVER_ERROR, "header for hash not found");
    *ret_n = n;
    return true;
}

static bool block_by_string(struct cantor_api_ctx *ctx, const char *s, size_t i, uint64_t *ret_n,
                            struct rpc_error *e)
{
    struct cantor_store_stats st;
    char why[CANTOR_PARAMS_WHY_LEN];
    uint64_t head, n;
    bool empty;

    if (!strcmp(s, "latest") || !strcmp(s, "pending") || !strcmp(s, "safe") || !strcmp(s, "finalized")) {
        if (cantor_store_head(ctx->store, &head, NULL, &empty) || empty)
            return set_error(e, RPC_SERVER_ERROR, "header not found");
        *ret_n = head;
        return true;
    }
    if (!strcmp(s, "earliest")) {
        if (cantor_store_stats(ctx->store, &st) || st.blocks == 0)
            return set_error(e, RPC_SERVER_ERROR, "header not found");
        *ret_n = st.first_followed;
        return check_followed(ctx, *ret_n, e);
    }
    if (strlen(s) == 66)
        return block_by_hash(ctx, s, i, ret_n, e);
    if (cantor_params_quantity_u64(s, &n, why, sizeof(why)))
        return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: %s", i, why);
    if (n > CANTOR_PARAMS_BLOCK_MAX)
        return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: block number larger than int64", i);
    *ret_n = n;
    return check_followed(ctx, n, e);
}

/* Argument i: block number, tag, hash, or EIP-1898 {"blockHash"[, "requireCanonical"]} / {"blockNumber"}. */
static bool param_block(struct cantor_api_ctx *ctx, json_t *params, size_t i, uint64_t *ret_n,
                        struct rpc_error *e)
{
    json_t *v = json_array_get(params, i), *bh, *bn, *rc;

    if (!v || json_is_null(v))
        return set_error(e, RPC_INVALID_PARAMS, "missing value for required argument %zu", i);
    if (json_is_string(v))
        return block_by_string(ctx, json_string_value(v), i, ret_n, e);
    if (!json_is_object(v))
        return set_error(e, RPC_INVALID_PARAMS,
                         "invalid argument %zu: want a block number, tag, hash or object", i);
    bh = json_object_get(v, "blockHash");
    bn = json_object_get(v, "blockNumber");
    rc = json_object_get(v, "requireCanonical");
    if (bh && bn)
        return set_error(
            e, RPC_INVALID_PARAMS,
            "invalid argument %zu: cannot specify both BlockHash and BlockNumber, choose one or the other",
            i);
    if (rc && !json_is_boolean(rc))
        return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: requireCanonical must be a boolean",
                         i);
    if (bh) {
        if (!json_is_string(bh))
            return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: blockHash must be a string", i);
        /* Only canonical blocks are stored, so requireCanonical holds either way. */
        return block_by_hash(ctx, json_string_value(bh), i, ret_n, e);
    }
    if (bn) {
        if (!json_is_string(bn))
            return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: blockNumber must be a string", i);
        return block_by_string(ctx, json_string_value(bn), i, ret_n, e);
    }
    return set_error(e, RPC_INVALID_PARAMS, "invalid argument %zu: want blockHash or blockNumber", i);
}

static bool check_arity(json_t *params, size_t max, struct rpc_error *e)
{
    if (json_array_size(params) > max)
        return set_error(e, RPC_INVALID_PARAMS, "too many arguments, want at most %zu", max);
    return true;
}

/* The value of (addr, kind, slot) at the block selected by argument bi. */
static bool read_value(struct cantor_api_ctx *ctx, json_t *params, size_t bi, const uint8_t addr[20],
                       uint8_t kind, const uint8_t *slot, uint8_t v[32], struct rpc_error *e)
{
    uint64_t n;
    bool known;
    enum cantor_err err;

    if (!param_block(ctx, params, bi, &n, e))
        return false;
    err = cantor_store_get_value(ctx->store, addr, kind, slot, n, v, &known);
    if (err == CANTOR_ERR_NOT_FOUND)
        return set_error(e, RPC_SERVER_ERROR, "state at block 0x%" PRIx64 " is outside the retained history",
                         n);
    if (err)
        return set_error(e, RPC_SERVER_ERROR, "store error: %s", cantor_err_str(err));
    if (!known)
        return set_error(
            e, RPC_SERVER_ERROR,
            "value unknown: cantord never saw this %s change in the followed blocks (at block 0x%" PRIx64 ")",
            kind == CANTOR_KIND_STORAGE ? "storage slot"
            : kind == CANTOR_KIND_CODE  ? "code"
                                        : "account",
            n);
    return true;
}

static json_t *quantity(const uint8_t v[32])
{
    char hex[67];

    cantor_hex_encode_quantity(v, hex);
    return json_string(hex);
}

static json_t *u64_quantity(uint64_t x)
{
    uint8_t w[32] = {0};

    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(x >> (8 * i));
    return quantity(w);
}

static json_t *m_account(struct cantor_api_ctx *ctx, json_t *params, uint8_t kind, struct rpc_error *e)
{
    uint8_t addr[20], v[32];

    if (!check_arity(params, 2, e) || !param_address(params, 0, addr, e) ||
        !read_value(ctx, params, 1, addr, kind, NULL, v, e))
        return NULL;
    return quantity(v);
}

static json_t *m_get_storage_at(struct cantor_api_ctx *ctx, json_t *params, struct rpc_error *e)
{
    char why[CANTOR_PARAMS_WHY_LEN], hex[67];
    uint8_t addr[20], slot[32], v[32];
    const char *s = NULL;

    if (!check_arity(params, 3, e) || !param_address(params, 0, addr, e) || !param_string(params, 1, &s, e))
        return NULL;
    if (cantor_params_slot_lax(s, slot, why, sizeof(why))) {
        set_error(e, RPC_INVALID_PARAMS, "invalid argument 1: %s", why);
        return NULL;
    }
    if (!read_value(ctx, params, 2, addr, CANTOR_KIND_STORAGE, slot, v, e))
        return NULL;
    cantor_hex_encode(v, 32, hex);
    return json_string(hex);
}

static json_t *m_get_code(struct cantor_api_ctx *ctx, json_t *params, struct rpc_error *e)
{
    uint8_t addr[20], h[32], *code = NULL;
    size_t len = 0;
    char *hex;
    json_t *r;
    enum cantor_err err;

    if (!check_arity(params, 2, e) || !param_address(params, 0, addr, e) ||
        !read_value(ctx, params, 1, addr, CANTOR_KIND_CODE, NULL, h, e))
        return NULL;
    if (memcmp(h, CANTOR_KECCAK_EMPTY, 32) == 0)
        return json_string("0x");
    err = cantor_store_get_code(ctx->store, h, &code, &len);
    if (err) {
        set_error(e, RPC_SERVER_ERROR, "code with hash known but bytes not stored: %s", cantor_err_str(err));
        return NULL;
    }
    hex = malloc(2 * len + 3);
    if (!hex) {
        free(code);
        set_error(e, RPC_SERVER_ERROR, "out of memory");
        return NULL;
    }
    cantor_hex_encode(code, len, hex);
    r = json_string(hex);
    free(hex);
    free(code);
    return r;
}

static json_t *m_block_number(struct cantor_api_ctx *ctx, json_t *params, struct rpc_error *e)
{
    uint64_t head;
    bool empty;

    if (!check_arity(params, 0, e))
        return NULL;
    if (cantor_store_head(ctx->store, &head, NULL, &empty) || empty) {
        set_error(e, RPC_SERVER_ERROR, "no block has been followed yet");
        return NULL;
    }
    return u64_quantity(head);
}

static json_t *m_chain_id(struct cantor_api_ctx *ctx, json_t *params, struct rpc_error *e)
{
    uint64_t id;

    if (!check_arity(params, 0, e))
        return NULL;
    id = cantor_api_chain_id(ctx);
    if (!id) {
        set_error(e, RPC_SERVER_ERROR, "chain id not known yet: the node has not been reached");
        return NULL;
    }
    return u64_quantity(id);
}

static json_t *dispatch(struct cantor_api_ctx *ctx, const char *method, json_t *params, struct rpc_error *e)
{
    if (!strcmp(method, "eth_chainId"))
        return m_chain_id(ctx, params, e);
    if (!strcmp(method, "eth_blockNumber"))
        return m_block_number(ctx, params, e);
    if (!strcmp(method, "eth_getBalance"))
        return m_account(ctx, params, CANTOR_KIND_BALANCE, e);
    if (!strcmp(method, "eth_getTransactionCount"))
        return m_account(ctx, params, CANTOR_KIND_NONCE, e);
    if (!strcmp(method, "eth_getCode"))
        return m_get_code(ctx, params, e);
    if (!strcmp(method, "eth_getStorageAt"))
        return m_get_storage_at(ctx, params, e);
    char echo[80];

    cantor_params_echo(method, echo, sizeof(echo)); /* printable ASCII only: keeps the answer valid UTF-8 */
    set_error(e, RPC_METHOD_NOT_FOUND, "the method %s does not exist/is not available", echo);
    return NULL;
}

/* One call; NULL with *ret_silent for a notification, NULL alone on out-of-memory. */
static json_t *handle_one(struct cantor_api_ctx *ctx, json_t *req, bool *ret_silent)
{
    struct rpc_error e = {0};
    json_t *id, *ver, *method, *params, *result, *empty = NULL, *r;

    *ret_silent = false;
    if (!json_is_object(req)) {
        set_error(&e, RPC_INVALID_REQUEST, "invalid request");
        return error_response(NULL, &e);
    }
    id = json_object_get(req, "id");
    ver = json_object_get(req, "jsonrpc");
    method = json_object_get(req, "method");
    params = json_object_get(req, "params");
    if (id && !json_is_string(id) && !json_is_number(id) && !json_is_null(id)) {
        set_error(&e, RPC_INVALID_REQUEST, "invalid request: id must be a string, number or null");
        return error_response(NULL, &e);
    }
    if (!ver || !json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
        set_error(&e, RPC_INVALID_REQUEST, "invalid request: jsonrpc must be \"2.0\"");
        return error_response(id, &e);
    }
    if (!method || !json_is_string(method) || !*json_string_value(method)) {
        set_error(&e, RPC_INVALID_REQUEST, "invalid request: method must be a non-empty string");
        return error_response(id, &e);
    }
    if (!id) { /* notification: every method here is a pure read, so there is nothing to do */
        *ret_silent = true;
        return NULL;
    }
    if (params && !json_is_array(params) && !json_is_null(params)) {
        set_error(&e, RPC_INVALID_PARAMS, "non-array args");
        return error_response(id, &e);
    }
    if (!params || json_is_null(params))
        params = empty = json_array();
    if (!params)
        return NULL;
    result = dispatch(ctx, json_string_value(method), params, &e);
    json_decref(empty);
    if (result)
        return result_response(id, result);
    if (!e.code)
        set_error(&e, RPC_SERVER_ERROR, "out of memory");
    r = error_response(id, &e);
    return r;
}

static enum cantor_err finish(json_t *resp, char **ret_body, size_t *ret_len)
{
    char *s, *body;
    size_t n;

    if (!resp)
        return CANTOR_ERR_NOMEM;
    s = json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(resp);
    if (!s)
        return CANTOR_ERR_NOMEM;
    n = strlen(s);
    body = realloc(s, n + 2);
    if (!body) {
        free(s);
        return CANTOR_ERR_NOMEM;
    }
    body[n] = '\n'; /* geth's encoder ends every response with a newline */
    body[n + 1] = 0;
    *ret_body = body;
    *ret_len = n + 1;
    return CANTOR_OK;
}

enum cantor_err cantor_api_rpc_handle(struct cantor_api_ctx *ctx, const uint8_t *body, size_t len,
                                      char **ret_body, size_t *ret_len)
{
    struct rpc_error e = {0};
    json_error_t jerr;
    json_t *root, *out = NULL, *r;
    size_t max_batch = ctx->rpc_max_batch ? ctx->rpc_max_batch : CANTOR_API_MAX_BATCH_DEFAULT;
    bool silent;
    enum cantor_err err = CANTOR_OK;

    *ret_body = NULL;
    *ret_len = 0;
    root = json_loadb((const char *)body, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        set_error(&e, RPC_PARSE_ERROR, "parse error: %s", jerr.text);
        return finish(error_response(NULL, &e), ret_body, ret_len);
    }
    if (!json_is_array(root)) {
        r = handle_one(ctx, root, &silent);
        if (!silent)
            err = finish(r, ret_body, ret_len);
        goto out;
    }
    if (json_array_size(root) == 0) {
        set_error(&e, RPC_INVALID_REQUEST, "empty batch");
        err = finish(error_response(NULL, &e), ret_body, ret_len);
        goto out;
    }
    if (json_array_size(root) > max_batch) {
        json_t *id = NULL, *m;
        size_t i;

        /* Like geth: one error, carrying the id of the first call, for the whole batch. */
        json_array_foreach(root, i, m)
        {
            if (json_is_object(m) && json_object_get(m, "id")) {
                id = json_object_get(m, "id");
                break;
            }
        }
        set_error(&e, RPC_INVALID_REQUEST, "batch too large (%zu calls, limit %zu)", json_array_size(root),
                  max_batch);
        err = finish(json_pack("[o]", error_response(id, &e)), ret_body, ret_len);
        goto out;
    }
    out = json_array();
    if (!out) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(root); i++) {
        r = handle_one(ctx, json_array_get(root, i), &silent);
        if (silent)
            continue;
        if (!r || json_array_append_new(out, r)) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
    }
    if (json_array_size(out)) {
        err = finish(out, ret_body, ret_len);
        out = NULL;
    }
out:
    json_decref(out);
    json_decref(root);
    return err;
}

enum cantor_err cantor_api_h_rpc(void *c, const struct cantor_http_request *req,
                                 struct cantor_http_response *resp)
{
    char *body = NULL;
    size_t len = 0;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL))
        return CANTOR_OK;
    err = cantor_api_rpc_handle(c, req->body, req->body_len, &body, &len);
    if (err)
        return err;
    return cantor_http_reply_text(resp, 200, "application/json", body ? body : strdup(""), len);
}
