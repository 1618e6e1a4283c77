/*
 * delta_json.h - block deltas from and to JSON: the two state-diff formats execution nodes return
 * (Parity/OpenEthereum `stateDiff` of trace_replayBlockTransactions, geth `prestateTracer` in
 * diffMode of debug_traceBlockByNumber), a JSON view of entries (one object per entry, used for
 * JSON lines and HTTP bodies) and a loader for recorded RPC files.
 *
 * Ownership: parsers never keep references into the json_t they are given; every returned delta is
 * finished (sorted, merged) and owned by the caller (cantor_delta_free). Returned json_t carry one
 * reference the caller must json_decref().
 */
#ifndef CANTOR_DELTA_JSON_H
#define CANTOR_DELTA_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "delta.h"
#include "err.h"

enum cantor_delta_format {
    CANTOR_DELTA_FORMAT_PARITY = 1, /* trace_replayBlockTransactions / trace_replayTransaction */
    CANTOR_DELTA_FORMAT_GETH = 2,   /* debug_traceBlockByNumber / debug_traceTransaction diffMode */
};

/*
 * Largest recorded file cantor_delta_load_recorded() reads. Recordings with vmTrace run to hundreds of
 * megabytes; their vmTrace and trace members are blanked before parsing (core/json_blank.h), so the
 * memory a file costs beyond its own bytes is what its state diff costs.
 */
#define CANTOR_DELTA_MAX_RECORDED ((size_t)2 << 30)
/* Largest JSON-lines text cantor_delta_from_json_lines() parses. */
#define CANTOR_DELTA_MAX_JSON_LINES (256u * 1024 * 1024)

/*
 * `result` of trace_replayBlockTransactions (array of per-transaction {stateDiff, ...}) or of
 * trace_replayTransaction (one such object). Per-transaction diffs are chained in array order into
 * the net block delta. A transaction without stateDiff (null: not requested) is
 * CANTOR_ERR_UNSUPPORTED; wrong JSON types are CANTOR_ERR_JSON, bad hex CANTOR_ERR_HEX.
 */
enum cantor_err cantor_delta_from_parity(json_t *replay_result, uint64_t block_number,
                                         struct cantor_delta **ret_delta);

/*
 * `result` of debug_traceBlockByNumber with prestateTracer {diffMode: true} (array of
 * {txHash, result: {pre, post}}) or of debug_traceTransaction (one {pre, post}). The exact geth
 * semantics are documented in delta_geth.c. Non-diff prestate output is CANTOR_ERR_UNSUPPORTED;
 * a per-transaction {"error": ...} is CANTOR_ERR_RPC.
 */
enum cantor_err cantor_delta_from_geth(json_t *trace_result, uint64_t block_number,
                                       struct cantor_delta **ret_delta);

const char *cantor_delta_format_name(enum cantor_delta_format format); /* "parity", "geth" */
const char *cantor_delta_kind_name(uint8_t kind); /* "balance", "nonce", "code", "storage", NULL */

/*
 * One entry as {"address", "kind", "slot" (storage only), "old", "new"}: balance and nonce as
 * minimal quantities ("0x1a"), storage values and code hashes as 32-byte hex.
 */
enum cantor_err cantor_delta_entry_to_json(const struct cantor_delta_entry *e, json_t **ret_json);
/* Inverse of cantor_delta_entry_to_json(); values may be any hex quantity up to 32 bytes. */
enum cantor_err cantor_delta_entry_from_json(const json_t *j, struct cantor_delta_entry *ret_entry);

/* Append every entry as one compact JSON object per line ("\n"-terminated) to out. */
enum cantor_err cantor_delta_to_json_lines(const struct cantor_delta *d, struct cantor_buf *out);
/*
 * Parse JSON lines of entries (blank lines ignored) into a finished delta. A line that is an object
 * with "block" and no "address" is a header (as printed by `cantor delta`): it sets the block
 * number, overriding block_number. Entries need not be sorted; duplicates merge as in finish().
 */
enum cantor_err cantor_delta_from_json_lines(const char *text, size_t len, uint64_t block_number,
                                             struct cantor_delta **ret_delta);

/*
 * A recorded RPC answer in any of these shapes: the bare result, {"result": ...} (a JSON-RPC
 * response, or a geth tracetest fixture whose context.number gives the block), or
 * [{"request", "response"}] (erigon rpc-tests; the block number comes from request.params[0] when
 * it is a block number, else 0). The format is detected from the result's shape.
 */
enum cantor_err cantor_delta_from_recorded(json_t *root, enum cantor_delta_format *ret_format,
                                           struct cantor_delta **ret_delta);
/*
 * A recording as JSON text (len bytes; the text is changed in place: the values of the members no
 * parser reads, vmTrace and trace, become null) parsed with cantor_delta_from_recorded().
 * CANTOR_ERR_JSON when the text is not JSON.
 */
enum cantor_err cantor_delta_parse_recorded(char *text, size_t len, enum cantor_delta_format *ret_format,
                                            struct cantor_delta **ret_delta);
/* Read path (at most CANTOR_DELTA_MAX_RECORDED bytes) and call cantor_delta_parse_recorded(). */
enum cantor_err cantor_delta_load_recorded_ex(const char *path, enum cantor_delta_format *ret_format,
                                              struct cantor_delta **ret_delta);
enum cantor_err cantor_delta_load_recorded(const char *path, struct cantor_delta **ret_delta);

/* Helpers shared by the parsers (JSON value -> key or word). */
enum cantor_err cantor_delta_json_addr(const char *s, uint8_t out[CANTOR_ADDR_LEN]);
/* A hex quantity string, or a non-negative JSON integer (geth prints nonces as numbers). */
enum cantor_err cantor_delta_json_word(const json_t *v, uint8_t out[CANTOR_WORD_LEN]);
/* Hex code string -> keccak256 and (optionally) the malloc'ed bytes, at most MAX_CODE_LEN. */
enum cantor_err cantor_delta_json_code(const json_t *v, uint8_t ret_hash[CANTOR_WORD_LEN], uint8_t **ret_code,
                                       size_t *ret_len);

#endif
