/*
 * commit.h - cantord's commitments: per block, in the block's own atomic store batch, the delta root
 * (core/merkle.h), the state root (core/smt.h, nodes content-addressed in CANTOR_CF_ROOTS), the MMR
 * append of (number, hash, delta root, state root) and the block's roots record (storage/nodes.h);
 * signed checkpoints every checkpoint_interval blocks and on demand; and the proof builders behind
 * the /v1/proofs endpoints.
 *
 * The block hook (cantor_commit_hook) runs on the follower thread; the getters and proof builders
 * are thread-safe (HTTP threads). A small cache of the head's roots is kept under a mutex so a block
 * costs O(changes x depth) node writes plus O(log n) MMR reads.
 *
 * A store that holds blocks but no roots (followed by an older cantord) is backfilled from its
 * stored deltas and observation records in cantor_commit_new(), one batch per block (resumable); when its
 * history has been pruned (first retained > first followed) cantor_commit_new() refuses with
 * CANTOR_ERR_SCHEMA.
 *
 * Memory: struct cantor_commit borrows the store (it must outlive it) and owns its keys; proof
 * documents returned are owned by the caller (cantor_proof_doc_free).
 */
#ifndef CANTOR_DAEMON_COMMIT_H
#define CANTOR_DAEMON_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/checkpoint.h"
#include "core/err.h"
#include "core/proof.h"
#include "daemon/follower.h"
#include "rpc/api.h"
#include "storage/nodes.h"
#include "storage/store.h"

struct cantor_commit_opts {
    uint64_t chain_id;
    const char *key_dir;          /* checkpoint keys; created (0700 dir, 0600 files) when missing */
    uint64_t checkpoint_interval; /* sign a checkpoint when number % interval == 0; 0 = never */
    const struct cantor_checkpoint_keys *keys; /* tests: use these instead of key_dir (borrowed) */
    /* chain id once known (the node's eth_chainId), asked while chain_id is still 0; may be NULL */
    uint64_t (*chain_id_fn)(void *arg);
    void *chain_id_arg;
};

struct cantor_commit_stats {
    uint64_t blocks; /* blocks committed since start */
    double last_ms;  /* root maintenance (prepare + batch writes) of the last block */
    double total_ms;
    uint64_t smt_nodes;   /* state tree nodes written since start */
    uint64_t checkpoints; /* checkpoints signed since start */
};

struct cantor_commit;

enum cantor_err cantor_commit_new(struct cantor_store *store, const struct cantor_commit_opts *opts,
                                  struct cantor_commit **ret_commit);
void cantor_commit_free(struct cantor_commit *c);
/* The follower hook (static data inside c, valid while c lives). */
const struct cantor_block_hook *cantor_commit_hook(struct cantor_commit *c);
/* checkpoint_interval after a reload (SIGHUP). */
void cantor_commit_set_interval(struct cantor_commit *c, uint64_t interval);
/* Chain id used in checkpoints; set once the node told it (0 until then). */
void cantor_commit_set_chain_id(struct cantor_commit *c, uint64_t chain_id);

void cantor_commit_public_keys(const struct cantor_commit *c, uint8_t ret_ed_pk[CANTOR_ED25519_PK_LEN],
                               uint8_t ret_eth_addr[CANTOR_ETH_ADDR_LEN]);
void cantor_commit_get_stats(struct cantor_commit *c, struct cantor_commit_stats *ret_stats);
/* Roots of block n (from the store); CANTOR_ERR_NOT_FOUND for a block without roots. */
enum cantor_err cantor_commit_get_roots(struct cantor_commit *c, uint64_t n,
                                        struct cantor_roots_rec *ret_rec);
/* Stored checkpoint at n (UINT64_MAX = newest). */
enum cantor_err cantor_commit_get_checkpoint(struct cantor_commit *c, uint64_t n,
                                             struct cantor_checkpoint *ret_cp,
                                             struct cantor_checkpoint_sigs *ret_sigs);
/* Sign a checkpoint at the current head now and store it (POST /v1/checkpoint). */
enum cantor_err cantor_commit_checkpoint_now(struct cantor_commit *c, struct cantor_checkpoint *ret_cp,
                                             struct cantor_checkpoint_sigs *ret_sigs);
/*
 * Proof documents v1 for block n, tied to the newest checkpoint at or above n (one is signed at the
 * head when there is none). Delta: the entry (addr, kind, slot) must have changed in block n
 * (CANTOR_ERR_NOT_FOUND otherwise). State: the key's value or absence in the state tree at n, which
 * holds changed keys and non-zero observed values (struct cantor_block_meta.observed) from their
 * block on; absence where the store knows a non-zero value at n is CANTOR_ERR_UNSUPPORTED (HTTP 422).
 */
enum cantor_err cantor_commit_prove_delta(struct cantor_commit *c, uint64_t n,
                                          const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                          const uint8_t slot[CANTOR_WORD_LEN],
                                          struct cantor_proof_doc **ret_doc);
enum cantor_err cantor_commit_prove_state(struct cantor_commit *c, uint64_t n,
                                          const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                          const uint8_t slot[CANTOR_WORD_LEN],
                                          struct cantor_proof_doc **ret_doc);

/* The HTTP side (rpc/api.h) of this commit engine; valid while c lives. */
const struct cantor_commit_view *cantor_commit_view(struct cantor_commit *c);

#endif
