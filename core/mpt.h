/*
 * mpt.h - Ethereum Merkle-Patricia tries: verify eth_getProof-style proofs against a root, and
 * compute the root of a set of key/value pairs.
 *
 * Verification walks the proof nodes from the root along the key's nibbles. Every node that is
 * referenced by hash must be the next proof node and hash to that reference; nodes whose encoding is
 * shorter than 32 bytes are embedded in their parent and are not separate proof nodes. The result is
 * either the value stored under the key (inclusion) or a proof that no value is stored (exclusion:
 * the path ends in an empty branch slot, a diverging extension, or a leaf for another key). Anything
 * else - a missing, extra or altered node, a bad encoding - is CANTOR_ERR_PROOF.
 *
 * Memory: proof nodes are borrowed (struct cantor_bytes does not own its data). Returned values are
 * malloc'ed and owned by the caller. Nothing here keeps state between calls.
 */
#ifndef CANTOR_MPT_H
#define CANTOR_MPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* A borrowed byte string (a proof node, a key, a value). */
struct cantor_bytes {
    const uint8_t *data;
    size_t len;
};

#define CANTOR_MPT_MAX_KEY       256   /* bytes; secure-trie keys are 32 */
#define CANTOR_MPT_MAX_NODES     128   /* a proof has at most one node per nibble of a 32-byte key */
#define CANTOR_MPT_MAX_NODE_LEN  4096  /* a branch of 16 hashes + value is ~532 bytes; leaves carry values */
#define CANTOR_MPT_MAX_VALUE_LEN 65536 /* values of ordinary tries (receipts can be larger: not ours) */

/*
 * Verify that nodes[0..n_nodes) prove the value under key in the trie with the given root.
 * Inclusion: CANTOR_OK, *ret_value malloc'ed (caller frees), *ret_value_len > 0.
 * Exclusion: CANTOR_OK, *ret_value = NULL, *ret_value_len = 0. An empty trie (root ==
 * CANTOR_EMPTY_TRIE_ROOT) is proven empty by zero nodes or by the single node 0x80.
 * Any other outcome: CANTOR_ERR_PROOF (or CANTOR_ERR_TOO_LARGE / _INVALID for out-of-limit input).
 */
enum cantor_err cantor_mpt_verify_proof(const uint8_t root[32], const uint8_t *key, size_t key_len,
                                        const struct cantor_bytes *nodes, size_t n_nodes, uint8_t **ret_value,
                                        size_t *ret_value_len);

/*
 * Verify that nodes[0..n_nodes) is the chain of trie nodes from root down to the node at the given
 * nibble path (nibbles[i] in 0..15), with the last node being the node at exactly that path (as the
 * Portal state network stores trie nodes). Intermediate embedded nodes are followed inline.
 */
enum cantor_err cantor_mpt_verify_path(const uint8_t root[32], const uint8_t *nibbles, size_t n_nibbles,
                                       const struct cantor_bytes *nodes, size_t n_nodes);

/* The state-trie account: value stored under keccak256(address) as rlp([nonce, balance, root, code]). */
struct cantor_account {
    uint64_t nonce;
    uint8_t balance[32]; /* big-endian */
    uint8_t storage_root[32];
    uint8_t code_hash[32];
};

/* The account of an address that is not in the state: nonce 0, balance 0, empty root, keccak(""). */
void cantor_account_empty(struct cantor_account *ret_account);
enum cantor_err cantor_account_decode(const uint8_t *rlp, size_t len, struct cantor_account *ret_account);
enum cantor_err cantor_account_encode(const struct cantor_account *a, struct cantor_buf *out);

/*
 * Verify an account proof (key = keccak256(address)). *ret_exists says whether the account is in the
 * trie; when it is not, *ret_account is cantor_account_empty().
 */
enum cantor_err cantor_mpt_verify_account(const uint8_t state_root[32], const uint8_t address[20],
                                          const struct cantor_bytes *nodes, size_t n_nodes, bool *ret_exists,
                                          struct cantor_account *ret_account);
/* The same with the trie key (keccak256(address)) given directly, as Portal and snapshots name it. */
enum cantor_err cantor_mpt_verify_account_key(const uint8_t state_root[32], const uint8_t key[32],
                                              const struct cantor_bytes *nodes, size_t n_nodes,
                                              bool *ret_exists, struct cantor_account *ret_account);

/*
 * Verify a storage proof (key = keccak256(slot)) against an account's storage root; the stored value
 * is an RLP integer, returned as a 32-byte big-endian word (all zero when the slot is absent).
 */
enum cantor_err cantor_mpt_verify_storage(const uint8_t storage_root[32], const uint8_t slot[32],
                                          const struct cantor_bytes *nodes, size_t n_nodes,
                                          uint8_t ret_value[32]);

/* One entry for cantor_mpt_root(); borrowed. */
struct cantor_mpt_kv {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
};

/*
 * Root of the trie holding kvs[0..n) (keys unique, values non-empty: an empty value means "absent",
 * delete it before calling). Sorts kvs in place. Empty set -> CANTOR_EMPTY_TRIE_ROOT. Duplicate keys
 * or empty values -> CANTOR_ERR_INVALID. Implemented in mpt_build.c.
 */
enum cantor_err cantor_mpt_root(struct cantor_mpt_kv *kvs, size_t n, uint8_t ret_root[32]);

/* Hex-prefix (compact) encoding of nibbles[0..n) with the leaf flag; appends to out. */
enum cantor_err cantor_mpt_hp_encode(const uint8_t *nibbles, size_t n, bool leaf, struct cantor_buf *out);

#endif
