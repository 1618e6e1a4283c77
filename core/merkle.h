/*
 * merkle.h - the per-block delta root: an OpenZeppelin StandardMerkleTree over the canonical delta's
 * entries, so `@openzeppelin/merkle-tree` (StandardMerkleTree.of(values, types).root) and Solidity's
 * OZ `MerkleProof.verify(proof, root, leaf)` accept our roots and proofs unchanged.
 *
 * Leaf (docs/formats.md, "Delta leaf ABI"): keccak256(bytes.concat(keccak256(abi.encode(
 *   uint64 blockNumber, address account, uint8 kind, bytes32 slot, bytes32 oldValue, bytes32 newValue))))
 * Node: keccak256(min(a, b) || max(a, b)) (sorted pair, bytewise).
 * Shape: exactly OZ's makeMerkleTree: leaf hashes sorted ascending, stored reversed at the end of an
 * array of 2n-1 nodes, node i = hash(node 2i+1, node 2i+2). An empty delta has root 0x00..00 (OZ
 * refuses empty trees; we need a value for blocks that change nothing).
 *
 * Memory: a cantor_merkle_tree owns its node array; cantor_merkle_tree_free(NULL) is a no-op.
 * Verification functions are pure and allocate nothing.
 */
#ifndef CANTOR_MERKLE_H
#define CANTOR_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delta.h"
#include "err.h"
#include "keccak.h"

#define CANTOR_MERKLE_LEAF_ABI_LEN 192 /* six static ABI words */
#define CANTOR_MERKLE_MAX_PROOF    64  /* siblings; a tree of 2^64 leaves is not reachable */
#define CANTOR_MERKLE_MAX_LEAVES   (1u << 24)

struct cantor_merkle_tree {
    size_t n_leaves;
    size_t n_nodes;                    /* 2 * n_leaves - 1, or 0 */
    uint8_t (*nodes)[CANTOR_HASH_LEN]; /* OZ layout: nodes[0] is the root */
};

/* abi.encode(uint64 block, address, uint8 kind, bytes32 slot, bytes32 old, bytes32 new). */
void cantor_merkle_leaf_abi(uint64_t block_number, const struct cantor_delta_entry *e,
                            uint8_t out[CANTOR_MERKLE_LEAF_ABI_LEN]);
/* keccak256(keccak256(leaf_abi)). */
void cantor_merkle_leaf_hash(uint64_t block_number, const struct cantor_delta_entry *e,
                             uint8_t out[CANTOR_HASH_LEN]);
/* keccak256 of the sorted pair. */
void cantor_merkle_node_hash(const uint8_t a[CANTOR_HASH_LEN], const uint8_t b[CANTOR_HASH_LEN],
                             uint8_t out[CANTOR_HASH_LEN]);

/* Build from leaf hashes (any order: they are sorted here; duplicates are CANTOR_ERR_INVALID). */
enum cantor_err cantor_merkle_build(const uint8_t (*leaves)[CANTOR_HASH_LEN], size_t n,
                                    struct cantor_merkle_tree **ret_tree);
/* Build over every entry of a finished delta, with d->block_number in each leaf. */
enum cantor_err cantor_merkle_build_delta(const struct cantor_delta *d, struct cantor_merkle_tree **ret_tree);
void cantor_merkle_tree_free(struct cantor_merkle_tree *t);

/* Root (all zero for an empty tree). */
void cantor_merkle_root(const struct cantor_merkle_tree *t, uint8_t out[CANTOR_HASH_LEN]);
/* Delta root without keeping the tree. */
enum cantor_err cantor_merkle_delta_root(const struct cantor_delta *d, uint8_t out[CANTOR_HASH_LEN]);

/* Tree index of a leaf hash (binary search over the sorted leaves); CANTOR_ERR_NOT_FOUND if absent. */
enum cantor_err cantor_merkle_find(const struct cantor_merkle_tree *t, const uint8_t leaf[CANTOR_HASH_LEN],
                                   size_t *ret_index);
/* Sibling list from the leaf at tree index `index` up to the root (OZ getProof order). */
enum cantor_err cantor_merkle_prove(const struct cantor_merkle_tree *t, size_t index,
                                    uint8_t ret_proof[CANTOR_MERKLE_MAX_PROOF][CANTOR_HASH_LEN],
                                    size_t *ret_n);
/* OZ MerkleProof.verify: fold the sorted-pair hash over the proof and compare with root. */
bool cantor_merkle_verify(const uint8_t root[CANTOR_HASH_LEN], const uint8_t leaf[CANTOR_HASH_LEN],
                          const uint8_t (*proof)[CANTOR_HASH_LEN], size_t n);

#endif
