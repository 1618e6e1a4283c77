/*
 * synth_state.h - internal to the mock node: the account state behind the synthetic chain's
 * headers. Built from the recorded geth prestate diffs (whose `pre` carries full balance, nonce and
 * code of every account a transaction touches), it is the set of accounts seen so far with their
 * values after each block; its Merkle-Patricia root is the header's stateRoot and eth_getProof /
 * eth_getCode answer from it, so a follower that proves untouched fields against the header
 * verifies real proofs. Storage is not modelled (storageHash = the empty trie root).
 *
 * Memory: a synth_state owns its account array and code copies.
 */
#ifndef CANTOR_MOCKNODE_SYNTH_STATE_H
#define CANTOR_MOCKNODE_SYNTH_STATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mpt.h"

struct synth_acct {
    uint8_t addr[20];
    uint8_t key[32]; /* keccak256(addr) */
    struct cantor_account acc;
    uint8_t *code;
    size_t code_len;
};

struct synth_state {
    struct synth_acct *a; /* sorted by key */
    size_t n, cap;
};

void synth_state_release(struct synth_state *s);
enum cantor_err synth_state_copy(const struct synth_state *src, struct synth_state *dst);
/* Apply one block's debug_traceBlockByNumber prestateTracer diffMode result. */
enum cantor_err synth_state_apply_geth(struct synth_state *s, json_t *diff);
enum cantor_err synth_state_root(const struct synth_state *s, uint8_t ret_root[32]);
const struct synth_acct *synth_state_find(const struct synth_state *s, const uint8_t addr[20]);
/* The eth_getProof result object for addr (an exclusion proof when absent). */
enum cantor_err synth_state_proof_json(const struct synth_state *s, const uint8_t addr[20], json_t **ret);

#endif
