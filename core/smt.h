/*
 * smt.h - the per-block state root: a compacted binary sparse Merkle tree over every key cantord
 * knows, keyed by keccak256(address(20) || kind(1) || slot(32)) and holding the key's 32-byte value.
 *
 * Hashing (docs/design.md, "State tree"):
 *   empty subtree      = 0x00..00 at every height (the default hash; needs no table)
 *   leaf(key, value)   = keccak256(0x00 || key || value)
 *   internal(l, r)     = keccak256(0x01 || l || r)
 * A subtree holding exactly one key is that key's leaf, placed where its key prefix first becomes
 * unique (a subtree with two or more keys is an internal node, even if one side is empty). The tree
 * is therefore canonical for a key set and ~log2(keys) deep, not 256.
 *
 * Versioning: nodes are immutable and content-addressed (node store key = node hash, value = the
 * 65-byte hash preimage). An update writes only new nodes along the changed paths (O(changes x
 * depth)); every old root stays readable, so a root per block is a version. Storage is reached through
 * struct cantor_smt_store, so storage/ can keep nodes in CANTOR_CF_ROOTS; cantor_smt_mem is an
 * in-memory store for tools, tests and light clients.
 *
 * Proofs are compressed: a bitmap marks the non-empty siblings and only those are carried.
 * Memory: proofs are plain structs; cantor_smt_mem_free(NULL) is a no-op.
 */
#ifndef CANTOR_SMT_H
#define CANTOR_SMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delta.h"
#include "err.h"
#include "keccak.h"

#define CANTOR_SMT_NODE_LEN    65 /* type byte + two 32-byte words */
#define CANTOR_SMT_MAX_DEPTH   256
#define CANTOR_SMT_NODE_LEAF   0x00
#define CANTOR_SMT_NODE_INNER  0x01
#define CANTOR_SMT_MAX_UPDATES (1u << 22)

/* Node store: get returns CANTOR_ERR_NOT_FOUND for an unknown hash; put must be idempotent. */
struct cantor_smt_store {
    void *ctx;
    enum cantor_err (*get)(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                           uint8_t ret_node[CANTOR_SMT_NODE_LEN]);
    enum cantor_err (*put)(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                           const uint8_t node[CANTOR_SMT_NODE_LEN]);
};

struct cantor_smt_update {
    uint8_t key[CANTOR_HASH_LEN];
    uint8_t value[CANTOR_HASH_LEN];
};

enum cantor_smt_term {
    CANTOR_SMT_TERM_EMPTY = 0, /* the path ends in an empty subtree: key absent */
    CANTOR_SMT_TERM_LEAF = 1,  /* the path ends in the key's own leaf: key present */
    CANTOR_SMT_TERM_OTHER = 2, /* the path ends in another key's leaf: key absent */
};

struct cantor_smt_proof {
    uint8_t key[CANTOR_HASH_LEN];
    uint8_t term;                             /* enum cantor_smt_term */
    uint8_t leaf_key[CANTOR_HASH_LEN];        /* LEAF: == key; OTHER: the key found there */
    uint8_t leaf_value[CANTOR_HASH_LEN];      /* LEAF/OTHER: the leaf's value */
    uint16_t depth;                           /* siblings from the root down to the terminal */
    uint8_t bitmap[CANTOR_SMT_MAX_DEPTH / 8]; /* bit i (MSB first) set: sibling at level i is non-empty */
    uint16_t n_siblings;                      /* popcount(bitmap[0..depth)) */
    uint8_t siblings[CANTOR_SMT_MAX_DEPTH][CANTOR_HASH_LEN]; /* non-empty siblings, root side first */
};

/* The tree key of (address, kind, slot). */
void cantor_smt_key(const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind, const uint8_t slot[CANTOR_WORD_LEN],
                    uint8_t out[CANTOR_HASH_LEN]);
void cantor_smt_leaf_hash(const uint8_t key[CANTOR_HASH_LEN], const uint8_t value[CANTOR_HASH_LEN],
                          uint8_t out[CANTOR_HASH_LEN]);
void cantor_smt_inner_hash(const uint8_t l[CANTOR_HASH_LEN], const uint8_t r[CANTOR_HASH_LEN],
                           uint8_t out[CANTOR_HASH_LEN]);

/*
 * Set keys to values starting from root (all zero: empty tree) and return the new root. u is sorted
 * by key in place; a key given twice is CANTOR_ERR_INVALID. A missing node is CANTOR_ERR_CORRUPT.
 * A value of zero is stored (a known key whose value is 0), never deleted.
 */
enum cantor_err cantor_smt_apply(const struct cantor_smt_store *s, const uint8_t root[CANTOR_HASH_LEN],
                                 struct cantor_smt_update *u, size_t n, uint8_t ret_root[CANTOR_HASH_LEN]);
/* Apply every entry's new value of a finished delta. */
enum cantor_err cantor_smt_apply_delta(const struct cantor_smt_store *s, const uint8_t root[CANTOR_HASH_LEN],
                                       const struct cantor_delta *d, uint8_t ret_root[CANTOR_HASH_LEN]);

/* Proof of key's value or absence under root. */
enum cantor_err cantor_smt_prove(const struct cantor_smt_store *s, const uint8_t root[CANTOR_HASH_LEN],
                                 const uint8_t key[CANTOR_HASH_LEN], struct cantor_smt_proof *ret_proof);
/*
 * Check a proof against root. CANTOR_OK: *ret_found says whether p->key is present and, if so, its
 * value is p->leaf_value. Anything inconsistent is CANTOR_ERR_PROOF.
 */
enum cantor_err cantor_smt_verify(const uint8_t root[CANTOR_HASH_LEN], const struct cantor_smt_proof *p,
                                  bool *ret_found);
/* Proof size on the wire (binary form): key, term, depth, bitmap, siblings, leaf. */
size_t cantor_smt_proof_size(const struct cantor_smt_proof *p);

/* In-memory node store (open addressing on the node hash). */
struct cantor_smt_mem;
enum cantor_err cantor_smt_mem_new(struct cantor_smt_mem **ret_mem);
void cantor_smt_mem_free(struct cantor_smt_mem *m);
const struct cantor_smt_store *cantor_smt_mem_store(struct cantor_smt_mem *m);
size_t cantor_smt_mem_count(const struct cantor_smt_mem *m);

#endif
