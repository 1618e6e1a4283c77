/*
 * node.h - what the follower needs from an execution node, on top of the JSON-RPC client:
 * capabilities (chain id, which state-diff API works, batching), the head, block headers and raw
 * per-block state diffs, one block or a pipelined range per HTTP request.
 *
 * Diffs are returned as the node's JSON, unparsed: core/delta (cantor_delta_from_parity /
 * cantor_delta_from_geth) turns them into canonical deltas. Every json_t handed out is a new
 * reference owned by the caller; cantor_node_range_release() frees a fetched range.
 */
#ifndef CANTOR_NODE_H
#define CANTOR_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "rpc/ethrpc.h"

#define CANTOR_NODE_MAX_RANGE 128 /* blocks per fetch_range (2 calls each, one HTTP batch) */

enum cantor_diff_format {
    CANTOR_DIFF_NONE = 0,
    CANTOR_DIFF_PARITY = 1, /* trace_replayBlockTransactions [n, ["stateDiff"]] */
    CANTOR_DIFF_GETH = 2,   /* debug_traceBlockByNumber prestateTracer diffMode */
};

struct cantor_node_caps {
    uint64_t chain_id;
    uint64_t head;                       /* eth_blockNumber at detection time */
    uint64_t probe_block;                /* the block the diff APIs were probed on */
    bool has_parity_trace;               /* trace_replayBlockTransactions with stateDiff */
    bool has_geth_prestate;              /* debug_traceBlockByNumber prestateTracer diffMode */
    bool batch;                          /* JSON arrays accepted */
    enum cantor_diff_format diff_format; /* preferred: PARITY, else GETH, else NONE */
};

/* One block of a range: header (eth_getBlockByNumber, hashes only) and raw diff. */
struct cantor_node_block {
    uint64_t number;
    json_t *block;
    json_t *diff;
    enum cantor_diff_format fmt;
    enum cantor_err err; /* first failure of the two calls, CANTOR_OK when both are present */
};

/*
 * Detect chain id, head and batch support (one batch of eth_chainId + eth_blockNumber), then probe
 * the diff APIs on the head block. Only JSON-RPC error -32601 (method not found) marks an API
 * unsupported: any other answer means the method exists (e.g. state not available at that block).
 */
enum cantor_err cantor_node_detect(struct cantor_ethrpc *c, struct cantor_node_caps *ret_caps);

enum cantor_err cantor_node_block_number(struct cantor_ethrpc *c, uint64_t *ret_number);
enum cantor_err cantor_node_chain_id(struct cantor_ethrpc *c, uint64_t *ret_chain_id);

/*
 * eth_getBlockByNumber(n, false). Checks that the answer is an object for block n with a 32-byte
 * hash and parentHash (CANTOR_ERR_MISMATCH / _RPC otherwise); JSON null -> CANTOR_ERR_NOT_FOUND.
 */
enum cantor_err cantor_node_get_block(struct cantor_ethrpc *c, uint64_t n, json_t **ret_block);

/* The raw state diff of block n in caps->diff_format (an array, one element per transaction). */
enum cantor_err cantor_node_get_state_diff(struct cantor_ethrpc *c, const struct cantor_node_caps *caps,
                                           uint64_t n, json_t **ret_result, enum cantor_diff_format *ret_fmt);

/*
 * Blocks from..to (inclusive, at most CANTOR_NODE_MAX_RANGE) in one batch: header and diff of
 * each. ret_blocks must hold to-from+1 entries; each carries its own err. Returns CANTOR_OK when
 * the node answered (check each entry), else the transport error.
 */
enum cantor_err cantor_node_fetch_range(struct cantor_ethrpc *c, const struct cantor_node_caps *caps,
                                        uint64_t from, uint64_t to, struct cantor_node_block *ret_blocks);
void cantor_node_range_release(struct cantor_node_block *blocks, size_t n);

const char *cantor_diff_format_name(enum cantor_diff_format fmt);

#endif
