/*
 * mocknode.h - a mock Ethereum JSON-RPC node that answers with RECORDED real responses.
 *
 * It indexes erigon-rpc-tests files ([{request, response}]) and execution-apis .io files
 * (">> request" / "<< response" lines) by (method, canonical params): keys sorted, hex strings
 * lower-cased. Lookup rules that a real node would also satisfy:
 *  - eth_getBlockBy{Number,Hash}(x, false) is derived from a recorded (x, true) answer by replacing
 *    each transaction object with its hash, when no hash-only answer was recorded;
 *  - trace_replay{BlockTransactions,Transaction}(x, types) is served by a recording whose trace
 *    types are a superset of the requested ones (the extra members are left in).
 * Unknown method -> error -32601, known method with unrecorded params -> -32602; ids are rewritten
 * to the request's id; batches are supported unless refused.
 *
 * Faults (fault injection) are set via the C API or a control call (method "mock_setFault",
 * params [{"mode": "...", "count": n, "delay_ms": n, "status": n, "bytes": n}]) and hit the next
 * `count` HTTP requests (0 = until cleared); control calls ("mock_*") are never faulted. Other
 * control calls: mock_setHead ["0x..."], mock_setBatch ["allow"|"refuse_json"|"refuse_http"],
 * mock_disableMethod ["m"], mock_enableMethod ["m"], mock_stats [], mock_reset [], and for the
 * synthetic chain (below) mock_synthReorg [depth, "same"|"empty"], mock_synthLie [n,
 * "header"|"old_values"|"none"].
 *
 * Ownership: the mock owns all recorded data; load everything before start. The server binds
 * 127.0.0.1 only. Not for production: it is a test fixture.
 */
#ifndef CANTOR_MOCKNODE_H
#define CANTOR_MOCKNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum cantor_mock_fault_mode {
    CANTOR_MOCK_FAULT_NONE = 0,
    CANTOR_MOCK_FAULT_DELAY,      /* sleep delay_ms, then answer normally */
    CANTOR_MOCK_FAULT_HTTP_ERROR, /* HTTP `status` (default 500) with a text body */
    CANTOR_MOCK_FAULT_GARBAGE,    /* HTTP 200 with a body that is not JSON */
    CANTOR_MOCK_FAULT_TRUNCATED,  /* HTTP 200 with the first half of the real answer */
    CANTOR_MOCK_FAULT_OVERSIZED,  /* the real answer padded with spaces to `bytes` (default 8 MiB) */
    CANTOR_MOCK_FAULT_CLOSE,      /* close the connection without an answer */
    CANTOR_MOCK_FAULT_WRONG_ID,   /* the real answer with id + 1000 */
    CANTOR_MOCK_FAULT_LIE,        /* the real answer with one hex digit of the first 32-byte hash flipped */
    CANTOR_MOCK_FAULT__COUNT
};

enum cantor_mock_batch {
    CANTOR_MOCK_BATCH_ALLOW = 0,
    CANTOR_MOCK_BATCH_REFUSE_JSON, /* one JSON-RPC error object (-32600), HTTP 200 */
    CANTOR_MOCK_BATCH_REFUSE_HTTP, /* HTTP 400 */
};

struct cantor_mock_fault {
    enum cantor_mock_fault_mode mode;
    unsigned count; /* requests affected; 0 = until cleared */
    long delay_ms;  /* DELAY; capped at 60000 */
    int status;     /* HTTP_ERROR */
    size_t bytes;   /* OVERSIZED; capped at 256 MiB */
};

struct cantor_mock_stats {
    uint64_t http_requests; /* non-control HTTP requests */
    uint64_t calls;         /* non-control JSON-RPC calls (a batch of n counts n) */
    uint64_t faults;        /* requests that got a fault */
    size_t entries;         /* recorded (method, params) pairs */
};

struct cantor_mocknode;

enum cantor_err cantor_mocknode_new(struct cantor_mocknode **ret_mock);
void cantor_mocknode_free(struct cantor_mocknode *m); /* stops the server first */

/* Load one file (.json or .io) or a directory tree (depth <= 4). Before start only. */
enum cantor_err cantor_mocknode_load(struct cantor_mocknode *m, const char *path);

/* Listen on 127.0.0.1:port (0 = any free port); *ret_port is the bound port. */
enum cantor_err cantor_mocknode_start(struct cantor_mocknode *m, uint16_t port, uint16_t *ret_port);
void cantor_mocknode_stop(struct cantor_mocknode *m);

/* Clear fault, head, batch mode, disabled methods, counters and the last Authorization header; the
   synthetic chain (if on) goes back to its original branch without lies. */
void cantor_mocknode_reset(struct cantor_mocknode *m);
void cantor_mocknode_set_fault(struct cantor_mocknode *m, const struct cantor_mock_fault *f);
void cantor_mocknode_set_batch(struct cantor_mocknode *m, enum cantor_mock_batch mode);
/* eth_blockNumber answers `head` once set (otherwise the recorded answer). */
void cantor_mocknode_set_head(struct cantor_mocknode *m, uint64_t head);
enum cantor_err cantor_mocknode_disable_method(struct cantor_mocknode *m, const char *method, bool disabled);
void cantor_mocknode_get_stats(struct cantor_mocknode *m, struct cantor_mock_stats *ret_stats);
/* Copy of the last Authorization header seen ("" if none). */
void cantor_mocknode_last_auth(struct cantor_mocknode *m, char *out, size_t out_size);

/* Recorded answer text ("result" or "error" member, compact JSON) for a call, for tests. */
enum cantor_err cantor_mocknode_lookup(struct cantor_mocknode *m, const char *method, const char *params_json,
                                       char **ret_text, bool *ret_is_error);

/*
 * Synthetic chain. No recording holds both the header and the state diff of one mainnet block, so
 * the mock can serve a chain over from..to (real block numbers) whose headers it synthesises
 * deterministically (parentHash links, a state root, timestamps, extra data; "hash" is keccak256 of
 * the header's canonical RLP, so a follower's re-hash check passes) together with the REAL recorded
 * state diffs of those numbers. eth_chainId answers 0x1, eth_blockNumber the head (to, or the value
 * of set_head), eth_getBlockByNumber(n) the header for from <= n <= head (else null). Only the
 * chosen diff method exists (-32601 for the other), so capability detection picks it. Load the
 * recordings first: every block of the range must have a recorded diff in that format.
 */
enum cantor_mock_synth_format {
    CANTOR_MOCK_SYNTH_AUTO = 0,   /* parity if every block has one, else geth */
    CANTOR_MOCK_SYNTH_PARITY = 1, /* trace_replayBlockTransactions */
    CANTOR_MOCK_SYNTH_GETH = 2,   /* debug_traceBlockByNumber prestateTracer diffMode */
};

/* Diffs served for blocks replaced by a reorg. */
enum cantor_mock_synth_diff {
    CANTOR_MOCK_SYNTH_DIFF_SAME = 0,  /* the recorded diff of that number */
    CANTOR_MOCK_SYNTH_DIFF_EMPTY = 1, /* [] (a block without transactions) */
};

enum cantor_mock_synth_lie {
    CANTOR_MOCK_LIE_NONE = 0,
    CANTOR_MOCK_LIE_HEADER = 1,     /* stateRoot altered, "hash" left: it no longer re-hashes */
    CANTOR_MOCK_LIE_OLD_VALUES = 2, /* every changed balance's old value off by one bit */
};

/* *ret_fmt (may be NULL) is the format chosen. CANTOR_ERR_NOT_FOUND: a block has no recording. */
enum cantor_err cantor_mocknode_set_synthetic(struct cantor_mocknode *m, uint64_t from, uint64_t to,
                                              enum cantor_mock_synth_format fmt,
                                              enum cantor_mock_synth_format *ret_fmt);
/* Replace the last `depth` blocks up to the head by a new branch (new extra data and state root). */
enum cantor_err cantor_mocknode_synth_reorg(struct cantor_mocknode *m, uint64_t depth,
                                            enum cantor_mock_synth_diff diffs);
/* Lie about one block (LIE_NONE clears; one lie at a time). */
enum cantor_err cantor_mocknode_synth_lie(struct cantor_mocknode *m, uint64_t block,
                                          enum cantor_mock_synth_lie lie);
/* The hash the chain currently serves for block n. */
enum cantor_err cantor_mocknode_synth_hash(struct cantor_mocknode *m, uint64_t n, uint8_t ret_hash[32]);

const char *cantor_mock_fault_name(enum cantor_mock_fault_mode mode);
enum cantor_err cantor_mock_fault_parse(const char *name, enum cantor_mock_fault_mode *ret_mode);

#endif
