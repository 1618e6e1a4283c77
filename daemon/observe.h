/*
 * observe.h - base values for keys that never change in the followed range.
 *
 * A canonical delta only holds what changed, so an account that a block touches without changing
 * its nonce (or balance, or code) leaves that field unknown to cantord. For every touched account
 * with a field cantord has never seen, the follower fetches eth_getProof at that block, verifies it
 * against the block's (already hash-checked) state root, fetches code by hash when needed, and
 * records the proven values as "observed" in the same store batch as the block. Nothing the node
 * says is taken on trust: a proof that does not verify refuses the whole block.
 *
 * Memory: struct cantor_observed owns its account list and code blobs; free with
 * cantor_observed_free().
 */
#ifndef CANTOR_DAEMON_OBSERVE_H
#define CANTOR_DAEMON_OBSERVE_H

#include <jansson.h>
#include <stdint.h>

#include "core/delta.h"
#include "core/err.h"
#include "rpc/ethrpc.h"
#include "rpc/node.h"
#include "storage/store.h"

#define CANTOR_OBSERVE_MAX_ACCOUNTS 4096 /* per block; a block touching more is fetched in rounds */

struct cantor_observed;

/*
 * Collect the accounts touched by block `number` (from its raw diff) that have a field which
 * neither this block's delta nor the store knows, prove their state at that block and load code.
 * *ret is NULL when nothing needs observing.
 */
enum cantor_err cantor_observe_block(struct cantor_ethrpc *rpc, struct cantor_store *store, json_t *diff,
                                     enum cantor_diff_format fmt, const struct cantor_delta *delta,
                                     const uint8_t state_root[32], struct cantor_observed **ret);
/* Store batch callback (cantor_store_batch_fn) that writes the observations; ctx is the struct. */
enum cantor_err cantor_observe_write(struct cantor_store_batch *b, uint64_t block, void *ctx);
size_t cantor_observed_count(const struct cantor_observed *o);
/*
 * The observed NON-ZERO values as a finished delta of block `block` (old values zero, new value = the
 * observed value, no code table), for the state tree (struct cantor_block_meta.observed; a zero value
 * is what absence from the tree already says). *ret is NULL when there is none; caller frees.
 */
enum cantor_err cantor_observed_delta(const struct cantor_observed *o, uint64_t block,
                                      struct cantor_delta **ret);
/* The balance of addr after block `block`, from eth_getProof verified against that block's state root. */
enum cantor_err cantor_observe_prove_balance(struct cantor_ethrpc *rpc, const uint8_t addr[20],
                                             uint64_t block, const uint8_t state_root[32],
                                             uint8_t ret_balance[32]);
void cantor_observed_free(struct cantor_observed *o);

#endif
