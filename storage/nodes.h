/*
 * nodes.h - where cantord's commitments live in CANTOR_CF_ROOTS (docs/formats.md "Store layout",
 * roots rows) and read-only views of them as the node stores that core/smt.h and core/mmr.h walk:
 *   'n' ‖ hash(32)        -> 65-byte state tree node (content-addressed, never deleted)
 *   'm' ‖ BE64 position   -> 32-byte MMR node
 *   'r' ‖ BE64 block      -> roots record (CANTOR_ROOTS_REC_LEN bytes, below)
 *   'c' ‖ BE64 ~block     -> signed checkpoint (inverted so an ascending scan meets the newest first)
 * Writes go through a block's store batch (daemon/commit.c), never through these views: their put()
 * answers CANTOR_ERR_UNSUPPORTED. Memory: struct cantor_nodes borrows the store.
 */
#ifndef CANTOR_STORAGE_NODES_H
#define CANTOR_STORAGE_NODES_H

#include <stdint.h>

#include "core/checkpoint.h"
#include "core/err.h"
#include "core/mmr.h"
#include "core/smt.h"
#include "storage/store.h"

#define CANTOR_NODES_KEY_SMT_LEN  33
#define CANTOR_NODES_KEY_NUM_LEN  9
#define CANTOR_ROOTS_REC_LEN      (4 * 32 + 8)
#define CANTOR_CHECKPOINT_REC_LEN (8 + 8 + 32 + 32 + CANTOR_ED25519_SIG_LEN + CANTOR_SECP_SIG_LEN)

/* What a block commits to: the MMR leaf (number, hash, delta root, state root) and the MMR after it. */
struct cantor_roots_rec {
    uint8_t block_hash[32];
    uint8_t delta_root[32];
    uint8_t state_root[32];
    uint8_t mmr_root[32];
    uint64_t leaf_count; /* MMR leaves after this block (its leaf index + 1) */
};

void cantor_nodes_key_smt(const uint8_t hash[CANTOR_HASH_LEN], uint8_t out[CANTOR_NODES_KEY_SMT_LEN]);
void cantor_nodes_key_mmr(uint64_t pos, uint8_t out[CANTOR_NODES_KEY_NUM_LEN]);
void cantor_nodes_key_roots(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN]);
void cantor_nodes_key_checkpoint(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN]);

void cantor_roots_rec_encode(const struct cantor_roots_rec *r, uint8_t out[CANTOR_ROOTS_REC_LEN]);
enum cantor_err cantor_roots_rec_decode(const uint8_t *buf, size_t len, struct cantor_roots_rec *ret_rec);
/* The roots record of block n; CANTOR_ERR_NOT_FOUND when none is stored. */
enum cantor_err cantor_nodes_get_roots(struct cantor_store *s, uint64_t n, struct cantor_roots_rec *ret_rec);

void cantor_checkpoint_rec_encode(const struct cantor_checkpoint *c,
                                  const struct cantor_checkpoint_sigs *sigs,
                                  uint8_t out[CANTOR_CHECKPOINT_REC_LEN]);
enum cantor_err cantor_checkpoint_rec_decode(const uint8_t *buf, size_t len, struct cantor_checkpoint *ret_cp,
                                             struct cantor_checkpoint_sigs *ret_sigs);
/* The checkpoint at block n, or with n == UINT64_MAX the newest one; CANTOR_ERR_NOT_FOUND if none. */
enum cantor_err cantor_nodes_get_checkpoint(struct cantor_store *s, uint64_t n,
                                            struct cantor_checkpoint *ret_cp,
                                            struct cantor_checkpoint_sigs *ret_sigs);

/* Read-only node stores over the store. */
struct cantor_nodes {
    struct cantor_store *store;
    struct cantor_smt_store smt;
    struct cantor_mmr_store mmr;
};
void cantor_nodes_init(struct cantor_nodes *n, struct cantor_store *s);

#endif
