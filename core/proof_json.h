/*
 * proof_json.h - parse eth_getProof answers and check them against a state root.
 *
 * Accepted forms: the bare result object {address, accountProof, balance, codeHash, nonce,
 * storageHash, storageProof}; a JSON-RPC response {"result": {...}}; a recorded exchange
 * [{"request": ..., "response": {"result": ...}}]; and Helios' variant {"account": {nonce, balance,
 * storageRoot, codeHash}, "code", "accountProof", "storageProof"} which has no address (the caller
 * supplies it). Types are strict: quantities and data are "0x" strings, proofs are arrays of strings.
 *
 * Memory: cantor_eth_proof owns all its arrays and node bytes; free with cantor_eth_proof_free().
 */
#ifndef CANTOR_PROOF_JSON_H
#define CANTOR_PROOF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mpt.h"

#define CANTOR_PROOF_JSON_MAX  (16u << 20) /* bytes of JSON text */
#define CANTOR_PROOF_MAX_SLOTS 1024        /* storage proofs in one answer */

struct cantor_storage_proof {
    uint8_t key[32];   /* the slot, as a 32-byte big-endian word */
    uint8_t value[32]; /* the claimed value */
    struct cantor_bytes *nodes;
    size_t n_nodes;
};

struct cantor_eth_proof {
    bool has_address;
    uint8_t address[20];
    struct cantor_account account; /* as claimed by the answer, not yet verified */
    bool has_code;                 /* Helios' form carries the code itself */
    uint8_t *code;
    size_t code_len;
    struct cantor_bytes *account_nodes;
    size_t n_account_nodes;
    struct cantor_storage_proof *storage;
    size_t n_storage;
};

/*
 * Parse one answer from text[0..len). On error, errbuf (if not NULL) gets a message naming the
 * offending member. CANTOR_ERR_RPC when the response is a JSON-RPC error, CANTOR_ERR_JSON for
 * malformed JSON or wrong types, CANTOR_ERR_HEX for bad hex, CANTOR_ERR_TOO_LARGE over the limits.
 */
enum cantor_err cantor_proof_json_parse(const char *text, size_t len, struct cantor_eth_proof **ret_proof,
                                        char *errbuf, size_t errlen);
void cantor_eth_proof_free(struct cantor_eth_proof *p);

/*
 * Verify the whole answer against state_root: the account proof, the claimed account fields against
 * the proven ones (an absent account must be claimed empty; zero hashes as Erigon returns them are
 * accepted for it), the code hash when code is present, and every storage proof against the proven
 * storage root with its claimed value. CANTOR_ERR_PROOF when a proof does not check,
 * CANTOR_ERR_MISMATCH when a claimed value differs from the proven one, CANTOR_ERR_INVALID when no
 * address is known. why (if not NULL) names what failed. *ret_account / *ret_exists (if not NULL)
 * receive the proven account.
 */
enum cantor_err cantor_eth_proof_verify(const struct cantor_eth_proof *p, const uint8_t state_root[32],
                                        struct cantor_account *ret_account, bool *ret_exists, char *why,
                                        size_t why_len);

#endif
