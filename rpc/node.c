/*
 * node.c - capability detection and block/diff fetching on top of ethrpc (see node.h).
 *
 * Memory: request params are built here and freed here; every result handed out is a new
 * jansson reference owned by the caller.
 */
#include "rpc/node.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/hex.h"
#include "core/log.h"

#define SUBSYS               "node"
#define RPC_METHOD_NOT_FOUND (-32601)

const char *cantor_diff_format_name(enum cantor_diff_format fmt)
{
    switch (fmt) {
    case CANTOR_DIFF_PARITY:
        return "parity";
    case CANTOR_DIFF_GETH:
        return "geth";
    case CANTOR_DIFF_NONE:
        break;
    }
    return "none";
}

static void quantity(uint64_t n, char out[24])
{
    snprintf(out, 24, "0x%" PRIx64, n);
}

static enum cantor_err json_u64(json_t *v, uint64_t *ret)
{
    if (!json_is_string(v))
        return CANTOR_ERR_JSON;
    return cantor_hex_decode_u64(json_string_value(v), ret);
}

/* Method name and params for one call; *ret_params is new. */
static enum cantor_err diff_request(enum cantor_diff_format fmt, uint64_t n, const char **ret_method,
                                    json_t **ret_params)
{
    char q[24];

    quantity(n, q);
    if (fmt == CANTOR_DIFF_PARITY) {
        *ret_method = "trace_replayBlockTransactions";
        *ret_params = json_pack("[s, [s]]", q, "stateDiff");
    } else if (fmt == CANTOR_DIFF_GETH) {
        *ret_method = "debug_traceBlockByNumber";
        *ret_params =
            json_pack("[s, {s:s, s:{s:b}}]", q, "tracer", "prestateTracer", "tracerConfig", "diffMode", 1);
    } else {
        return CANTOR_ERR_UNSUPPORTED;
    }
    return *ret_params ? CANTOR_OK : CANTOR_ERR_NOMEM;
}

static enum cantor_err block_request(uint64_t n, json_t **ret_params)
{
    char q[24];

    quantity(n, q);
    *ret_params = json_pack("[s, b]", q, 0);
    return *ret_params ? CANTOR_OK : CANTOR_ERR_NOMEM;
}

/* A header must be for the block we asked and carry well-formed hashes. */
static enum cantor_err check_block(json_t *b, uint64_t n)
{
    uint8_t h[32];
    uint64_t got;

    if (json_is_null(b))
        return CANTOR_ERR_NOT_FOUND;
    if (!json_is_object(b))
        return CANTOR_ERR_RPC;
    if (json_u64(json_object_get(b, "number"), &got) || got != n) {
        log_error(SUBSYS, "node answered another block than %" PRIu64, n);
        return CANTOR_ERR_MISMATCH;
    }
    if (!json_is_string(json_object_get(b, "hash")) ||
        cantor_hex_decode_exact(json_string_value(json_object_get(b, "hash")), h, 32) ||
        !json_is_string(json_object_get(b, "parentHash")) ||
        cantor_hex_decode_exact(json_string_value(json_object_get(b, "parentHash")), h, 32)) {
        log_error(SUBSYS, "block %" PRIu64 ": hash or parentHash malformed", n);
        return CANTOR_ERR_RPC;
    }
    return CANTOR_OK;
}

static enum cantor_err check_diff(json_t *d, uint64_t n)
{
    if (json_is_null(d))
        return CANTOR_ERR_NOT_FOUND;
    if (!json_is_array(d)) {
        log_error(SUBSYS, "block %" PRIu64 ": state diff is not an array", n);
        return CANTOR_ERR_RPC;
    }
    return CANTOR_OK;
}

enum cantor_err cantor_node_block_number(struct cantor_ethrpc *c, uint64_t *ret_number)
{
    json_t *r = NULL;
    enum cantor_err err;

    err = cantor_ethrpc_call(c, "eth_blockNumber", NULL, &r);
    if (!err)
        err = json_u64(r, ret_number);
    json_decref(r);
    return err;
}

enum cantor_err cantor_node_chain_id(struct cantor_ethrpc *c, uint64_t *ret_chain_id)
{
    json_t *r = NULL;
    enum cantor_err err;

    err = cantor_ethrpc_call(c, "eth_chainId", NULL, &r);
    if (!err)
        err = json_u64(r, ret_chain_id);
    json_decref(r);
    return err;
}

enum cantor_err cantor_node_get_block(struct cantor_ethrpc *c, uint64_t n, json_t **ret_block)
{
    json_t *params = NULL, *r = NULL;
    enum cantor_err err;

    err = block_request(n, &params);
    if (err)
        goto out;
    err = cantor_ethrpc_call(c, "eth_getBlockByNumber", params, &r);
    if (err)
        goto out;
    err = check_block(r, n);
    if (err)
        goto out;
    *ret_block = r;
    r = NULL;
out:
    json_decref(params);
    json_decref(r);
    return err;
}

enum cantor_err cantor_node_get_state_diff(struct cantor_ethrpc *c, const struct cantor_node_caps *caps,
                                           uint64_t n, json_t **ret_result, enum cantor_diff_format *ret_fmt)
{
    json_t *params = NULL, *r = NULL;
    const char *method = NULL;
    enum cantor_err err;

    if (!caps)
        return CANTOR_ERR_INVALID;
    err = diff_request(caps->diff_format, n, &method, &params);
    if (err)
        goto out;
    err = cantor_ethrpc_call(c, method, params, &r);
    if (err)
        goto out;
    err = check_diff(r, n);
    if (err)
        goto out;
    *ret_result = r;
    r = NULL;
    if (ret_fmt)
        *ret_fmt = caps->diff_format;
out:
    json_decref(params);
    json_decref(r);
    return err;
}

/* Does the method exist? Only "method not found" says no; transport errors are returned. */
static enum cantor_err probe(struct cantor_ethrpc *c, enum cantor_diff_format fmt, uint64_t n, bool *ret_has)
{
    json_t *params = NULL, *r = NULL;
    const char *method = NULL;
    enum cantor_err err;

    err = diff_request(fmt, n, &method, &params);
    if (err)
        return err;
    err = cantor_ethrpc_call(c, method, params, &r);
    *ret_has = true;
    if (err == CANTOR_ERR_RPC && cantor_ethrpc_last_rpc_code(c) == RPC_METHOD_NOT_FOUND) {
        *ret_has = false;
        err = CANTOR_OK;
    } else if (err == CANTOR_ERR_RPC || err == CANTOR_ERR_JSON || err == CANTOR_ERR_TOO_LARGE) {
        /* The method exists; this block just could not be traced (pruned state, ...). */
        log_info(SUBSYS, "%s exists but failed on block %" PRIu64 ": %s", method, n,
                 cantor_ethrpc_last_error(c));
        err = CANTOR_OK;
    }
    json_decref(params);
    json_decref(r);
    return err;
}

enum cantor_err cantor_node_detect(struct cantor_ethrpc *c, struct cantor_node_caps *ret_caps)
{
    static const char *const methods[2] = {"eth_chainId", "eth_blockNumber"};
    json_t *const params[2] = {NULL, NULL};
    json_t *results[2] = {NULL, NULL};
    enum cantor_err errors[2], err;
    struct cantor_node_caps caps;

    if (!c || !ret_caps)
        return CANTOR_ERR_INVALID;
    memset(&caps, 0, sizeof(caps));
    err = cantor_ethrpc_batch(c, 2, methods, params, results, errors);
    if (err)
        goto out;
    err = errors[0] ? errors[0] : json_u64(results[0], &caps.chain_id);
    if (!err)
        err = errors[1] ? errors[1] : json_u64(results[1], &caps.head);
    if (err) {
        log_error(SUBSYS, "eth_chainId/eth_blockNumber failed: %s", cantor_ethrpc_last_error(c));
        goto out;
    }
    caps.batch = cantor_ethrpc_batch_mode(c) == CANTOR_ETHRPC_BATCH_YES;
    caps.probe_block = caps.head;
    err = probe(c, CANTOR_DIFF_PARITY, caps.probe_block, &caps.has_parity_trace);
    if (!err && !caps.has_parity_trace)
        err = probe(c, CANTOR_DIFF_GETH, caps.probe_block, &caps.has_geth_prestate);
    if (err)
        goto out;
    caps.diff_format = caps.has_parity_trace    ? CANTOR_DIFF_PARITY
                       : caps.has_geth_prestate ? CANTOR_DIFF_GETH
                                                : CANTOR_DIFF_NONE;
    log_info(SUBSYS, "node: chain id %" PRIu64 ", head %" PRIu64 ", diffs %s, batch %s", caps.chain_id,
             caps.head, cantor_diff_format_name(caps.diff_format), caps.batch ? "yes" : "no");
    *ret_caps = caps;
out:
    json_decref(results[0]);
    json_decref(results[1]);
    return err;
}

void cantor_node_range_release(struct cantor_node_block *blocks, size_t n)
{
    if (!blocks)
        return;
    for (size_t i = 0; i < n; i++) {
        json_decref(blocks[i].block);
        json_decref(blocks[i].diff);
        blocks[i].block = blocks[i].diff = NULL;
    }
}

enum cantor_err cantor_node_fetch_range(struct cantor_ethrpc *c, const struct cantor_node_caps *caps,
                                        uint64_t from, uint64_t to, struct cantor_node_block *ret_blocks)
{
    const char *methods[2 * CANTOR_NODE_MAX_RANGE];
    json_t *params[2 * CANTOR_NODE_MAX_RANGE] = {NULL};
    json_t *results[2 * CANTOR_NODE_MAX_RANGE] = {NULL};
    enum cantor_err errors[2 * CANTOR_NODE_MAX_RANGE];
    enum cantor_err err = CANTOR_OK;
    size_t n, i;

    if (!c || !caps || !ret_blocks || to < from || to - from >= CANTOR_NODE_MAX_RANGE)
        return CANTOR_ERR_INVALID;
    if (caps->diff_format == CANTOR_DIFF_NONE)
        return CANTOR_ERR_UNSUPPORTED;
    n = (size_t)(to - from) + 1;
    for (i = 0; i < n; i++) {
        memset(&ret_blocks[i], 0, sizeof(ret_blocks[i]));
        ret_blocks[i].number = from + i;
        ret_blocks[i].fmt = caps->diff_format;
        methods[2 * i] = "eth_getBlockByNumber";
        err = block_request(from + i, &params[2 * i]);
        if (!err)
            err = diff_request(caps->diff_format, from + i, &methods[2 * i + 1], &params[2 * i + 1]);
        if (err)
            goto out;
    }
    err = cantor_ethrpc_batch(c, 2 * n, methods, params, results, errors);
    for (i = 0; i < n; i++) {
        struct cantor_node_block *b = &ret_blocks[i];
        enum cantor_err eb = err ? err : errors[2 * i], ed = err ? err : errors[2 * i + 1];

        if (!eb)
            eb = check_block(results[2 * i], b->number);
        if (!ed)
            ed = check_diff(results[2 * i + 1], b->number);
        if (!eb) {
            b->block = results[2 * i];
            results[2 * i] = NULL;
        }
        if (!ed) {
            b->diff = results[2 * i + 1];
            results[2 * i + 1] = NULL;
        }
        b->err = eb ? eb : ed;
    }
out:
    for (i = 0; i < 2 * CANTOR_NODE_MAX_RANGE; i++) {
        json_decref(params[i]);
        json_decref(results[i]);
    }
    return err;
}
