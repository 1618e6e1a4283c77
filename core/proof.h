/*
 * proof.h - proof documents v1 (docs/formats.md, "Proof document v1") and their full offline
 * verification: a delta proof (this entry changed in block n) or a state proof (key = value, or key
 * absent, at block n), each tied by an MMR path to a checkpoint signed with ed25519 and secp256k1.
 *
 * Verification order (the first failure is reported, by name):
 *   signature    - ed25519 over the checkpoint message with the caller's trusted key
 *   eth-signature- the secp256k1 signature recovers to the document's signer (and to the caller's
 *                  expected address, when given)
 *   block        - the block's position in the MMR agrees with the checkpoint (contiguous blocks:
 *                  checkpoint.number - block.number == leafCount - 1 - leafIndex; the last leaf
 *                  is the checkpoint's block hash)
 *   mmr-path     - the block record (number, hash, deltaRoot, stateRoot) is that MMR leaf under
 *                  checkpoint.mmrRoot
 *   leaf         - the claimed value agrees with the state tree leaf (state proofs)
 *   delta-path / state-path - the entry / key reaches block.deltaRoot / block.stateRoot
 *
 * Memory: cantor_proof_parse() returns a heap document the caller frees with cantor_proof_doc_free
 * (NULL is a no-op). Verification allocates nothing and keeps no state.
 */
#ifndef CANTOR_PROOF_H
#define CANTOR_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "checkpoint.h"
#include "delta.h"
#include "err.h"
#include "merkle.h"
#include "mmr.h"
#include "smt.h"

#define CANTOR_PROOF_VERSION  1
#define CANTOR_PROOF_MAX_JSON (1u << 20)

enum cantor_proof_type {
    CANTOR_PROOF_DELTA = 1,
    CANTOR_PROOF_STATE = 2,
};

enum cantor_proof_check {
    CANTOR_CHECK_OK = 0,
    CANTOR_CHECK_FORMAT,        /* the document does not parse as a v1 proof */
    CANTOR_CHECK_SIGNATURE,     /* ed25519 checkpoint signature */
    CANTOR_CHECK_ETH_SIGNATURE, /* secp256k1 checkpoint signature / signer address */
    CANTOR_CHECK_BLOCK,         /* block vs checkpoint / MMR position */
    CANTOR_CHECK_MMR_PATH,
    CANTOR_CHECK_LEAF,
    CANTOR_CHECK_DELTA_PATH,
    CANTOR_CHECK_STATE_PATH,
};

struct cantor_proof_block {
    uint64_t number;
    uint8_t hash[CANTOR_HASH_LEN];
    uint8_t delta_root[CANTOR_HASH_LEN];
    uint8_t state_root[CANTOR_HASH_LEN];
};

struct cantor_proof_doc {
    uint8_t type; /* enum cantor_proof_type */
    struct cantor_proof_block block;
    /* delta proofs: the entry and its OZ sibling list */
    struct cantor_delta_entry entry;
    uint8_t delta_path[CANTOR_MERKLE_MAX_PROOF][CANTOR_HASH_LEN];
    size_t n_delta_path;
    /* state proofs: the key (entry.addr/kind/slot), the claimed value and the tree path */
    bool present;
    uint8_t value[CANTOR_HASH_LEN];
    struct cantor_smt_proof smt;
    struct cantor_mmr_proof mmr;
    struct cantor_checkpoint checkpoint;
    struct cantor_checkpoint_sigs sigs;
    uint8_t signer[CANTOR_ETH_ADDR_LEN];
};

struct cantor_proof_report {
    enum cantor_proof_check failed;
    char message[256];
    /* on success: what was proven */
    uint64_t block_number;
    uint64_t checkpoint_number;
    bool present;                   /* state: key present; delta: always true */
    uint8_t value[CANTOR_HASH_LEN]; /* state: the value; delta: the entry's new value */
};

const char *cantor_proof_check_name(enum cantor_proof_check c);

enum cantor_err cantor_proof_doc_new(uint8_t type, struct cantor_proof_doc **ret_doc);
void cantor_proof_doc_free(struct cantor_proof_doc *doc);

/* Parse a v1 JSON document (at most CANTOR_PROOF_MAX_JSON bytes). */
enum cantor_err cantor_proof_parse(const char *json, size_t len, struct cantor_proof_doc **ret_doc);
/* Append the v1 JSON form to out. */
enum cantor_err cantor_proof_to_json(const struct cantor_proof_doc *doc, struct cantor_buf *out);
/* Binary size of the proof material (paths, peaks, signatures, block record, entry). */
size_t cantor_proof_size(const struct cantor_proof_doc *doc);

/*
 * Full verification against a trusted ed25519 key; eth_addr (may be NULL) pins the secp256k1 signer.
 * CANTOR_OK only when everything holds; otherwise CANTOR_ERR_PROOF or CANTOR_ERR_SIGNATURE with
 * ret_report->failed naming the failed check and ret_report->message saying what differed.
 */
enum cantor_err cantor_proof_verify(const struct cantor_proof_doc *doc,
                                    const uint8_t pubkey[CANTOR_ED25519_PK_LEN],
                                    struct cantor_proof_report *ret_report);
enum cantor_err cantor_proof_verify_ex(const struct cantor_proof_doc *doc,
                                       const uint8_t pubkey[CANTOR_ED25519_PK_LEN], const uint8_t *eth_addr,
                                       struct cantor_proof_report *ret_report);
/*
 * A verifier that remembers the last checkpoint whose signatures verified (compared byte for byte,
 * including the signatures), so a client checking many proofs against one checkpoint pays the
 * ed25519 + secp256k1 cost once. Results are identical to cantor_proof_verify_ex(). Not thread-safe:
 * one per thread. Plain struct, no allocation.
 */
struct cantor_proof_verifier {
    uint8_t pubkey[CANTOR_ED25519_PK_LEN];
    bool has_eth;
    uint8_t eth_addr[CANTOR_ETH_ADDR_LEN];
    bool cached;
    struct cantor_checkpoint checkpoint;
    struct cantor_checkpoint_sigs sigs;
    uint8_t signer[CANTOR_ETH_ADDR_LEN];
};
void cantor_proof_verifier_init(struct cantor_proof_verifier *v, const uint8_t pubkey[CANTOR_ED25519_PK_LEN],
                                const uint8_t *eth_addr);
enum cantor_err cantor_proof_verifier_check(struct cantor_proof_verifier *v,
                                            const struct cantor_proof_doc *doc,
                                            struct cantor_proof_report *ret_report);
/* Parse + verify; a document that does not parse is reported as CANTOR_CHECK_FORMAT. */
enum cantor_err cantor_proof_verify_json(const char *json, size_t len,
                                         const uint8_t pubkey[CANTOR_ED25519_PK_LEN], const uint8_t *eth_addr,
                                         struct cantor_proof_report *ret_report);

/* Producers (cantord side). The caller fills doc->block and the checkpoint. */
enum cantor_err cantor_proof_fill_delta(struct cantor_proof_doc *doc, const struct cantor_merkle_tree *t,
                                        const struct cantor_delta_entry *e);
enum cantor_err cantor_proof_fill_state(struct cantor_proof_doc *doc, const struct cantor_smt_store *s,
                                        const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                        const uint8_t slot[CANTOR_WORD_LEN]);
enum cantor_err cantor_proof_fill_mmr(struct cantor_proof_doc *doc, const struct cantor_mmr_store *s,
                                      uint64_t leaf_count, uint64_t leaf_index);
enum cantor_err cantor_proof_fill_checkpoint(struct cantor_proof_doc *doc,
                                             const struct cantor_checkpoint_keys *k,
                                             const struct cantor_checkpoint *c);

#endif
