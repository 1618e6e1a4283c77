/*
 * mmr.h - Merkle mountain range over per-block leaves: one root commits to the whole followed
 * history and a proof for an old block stays O(log n).
 *
 * Leaf  = keccak256(abi.encode(uint64 number, bytes32 blockHash, bytes32 deltaRoot, bytes32 stateRoot))
 * Node  = keccak256(left || right) (ordered, not sorted: position is part of the commitment)
 * Nodes are numbered in post-order (the usual MMR positions): leaf i sits at 2i - popcount(i).
 * Root  = keccak256(uint256 leafCount || bag), bag = peaks folded right to left:
 *         bag = p[k-1]; for j = k-2 .. 0: bag = keccak256(p[j] || bag)   (p[0] = highest, leftmost)
 *         The leaf count in the root fixes the mountain shape, so a proof cannot be replayed against
 *         a different size. The empty MMR has root 0x00..00.
 *
 * Storage goes through struct cantor_mmr_store (get/put a hash by position); the caller keeps the
 * leaf count (rollback = lower the count: positions past it are rewritten by the next append).
 * cantor_mmr_mem is an in-memory store. Proofs are plain structs; the verifier allocates nothing.
 */
#ifndef CANTOR_MMR_H
#define CANTOR_MMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keccak.h"

#define CANTOR_MMR_MAX_HEIGHT 64
#define CANTOR_MMR_MAX_LEAVES (UINT64_C(1) << 48)

struct cantor_mmr_store {
    void *ctx;
    enum cantor_err (*get)(void *ctx, uint64_t pos, uint8_t ret_hash[CANTOR_HASH_LEN]);
    enum cantor_err (*put)(void *ctx, uint64_t pos, const uint8_t hash[CANTOR_HASH_LEN]);
};

struct cantor_mmr_proof {
    uint64_t leaf_index;
    uint64_t leaf_count;
    uint8_t n_siblings;                                       /* height of the leaf's mountain */
    uint8_t n_peaks;                                          /* popcount(leaf_count) */
    uint8_t siblings[CANTOR_MMR_MAX_HEIGHT][CANTOR_HASH_LEN]; /* leaf level first */
    uint8_t peaks[CANTOR_MMR_MAX_HEIGHT][CANTOR_HASH_LEN];    /* left (highest) first */
};

void cantor_mmr_leaf_hash(uint64_t number, const uint8_t block_hash[CANTOR_HASH_LEN],
                          const uint8_t delta_root[CANTOR_HASH_LEN],
                          const uint8_t state_root[CANTOR_HASH_LEN], uint8_t out[CANTOR_HASH_LEN]);
uint64_t cantor_mmr_leaf_pos(uint64_t leaf_index);
uint64_t cantor_mmr_size(uint64_t leaf_count); /* number of nodes */

/* Append leaf number `leaf_count` (the count before the append). */
enum cantor_err cantor_mmr_append(const struct cantor_mmr_store *s, uint64_t leaf_count,
                                  const uint8_t leaf[CANTOR_HASH_LEN]);
enum cantor_err cantor_mmr_peaks(const struct cantor_mmr_store *s, uint64_t leaf_count,
                                 uint8_t ret_peaks[CANTOR_MMR_MAX_HEIGHT][CANTOR_HASH_LEN], unsigned *ret_n);
/* Root from peaks (the bagging above). */
void cantor_mmr_bag(const uint8_t (*peaks)[CANTOR_HASH_LEN], unsigned n, uint64_t leaf_count,
                    uint8_t out[CANTOR_HASH_LEN]);
enum cantor_err cantor_mmr_root(const struct cantor_mmr_store *s, uint64_t leaf_count,
                                uint8_t ret_root[CANTOR_HASH_LEN]);
enum cantor_err cantor_mmr_prove(const struct cantor_mmr_store *s, uint64_t leaf_count, uint64_t leaf_index,
                                 struct cantor_mmr_proof *ret_proof);
/* CANTOR_OK when leaf is leaf p->leaf_index of the MMR of p->leaf_count leaves with this root. */
enum cantor_err cantor_mmr_verify(const uint8_t root[CANTOR_HASH_LEN], const uint8_t leaf[CANTOR_HASH_LEN],
                                  const struct cantor_mmr_proof *p);
size_t cantor_mmr_proof_size(const struct cantor_mmr_proof *p);

struct cantor_mmr_mem;
enum cantor_err cantor_mmr_mem_new(struct cantor_mmr_mem **ret_mem);
void cantor_mmr_mem_free(struct cantor_mmr_mem *m);
const struct cantor_mmr_store *cantor_mmr_mem_store(struct cantor_mmr_mem *m);

#endif
