/*
 * checkpoint.h - signed checkpoints: (chain id, block number, block hash, MMR root) signed with
 * ed25519 (libsodium, for HTTP clients) and secp256k1 in the form the EVM's `ecrecover` checks (for
 * bridges). docs/formats.md "Checkpoint message":
 *   message = abi.encode(uint256 chainId, uint256 number, bytes32 blockHash, bytes32 mmrRoot) (128 B)
 *   ed25519 signs the 128 message bytes.
 *   digest  = keccak256(message)                                   (what a contract rebuilds)
 *   eth     = keccak256("\x19Ethereum Signed Message:\n32" || digest)
 *   secp256k1 signs eth; the signature is r(32) || s(32) || v(1), v in {27, 28}, s low (EIP-2), so
 *   `ecrecover(eth, v, r, s)` and OZ ECDSA.recover return the signer's address =
 *   last 20 bytes of keccak256(uncompressed public key without its 0x04 byte).
 *
 * Keys: <dir>/checkpoint-ed25519.key and <dir>/checkpoint-secp256k1.key hold the 32-byte secret seed
 * as hex; created with mode 0600 (O_EXCL); a key file readable or writable by group/others is
 * refused (CANTOR_ERR_AUTH). <dir>/checkpoint-ed25519.pub holds the public key as hex.
 * Memory: cantor_checkpoint_keys owns its secrets and wipes them in cantor_checkpoint_keys_free().
 */
#ifndef CANTOR_CHECKPOINT_H
#define CANTOR_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "keccak.h"

#define CANTOR_CHECKPOINT_MSG_LEN 128
#define CANTOR_ED25519_PK_LEN     32
#define CANTOR_ED25519_SIG_LEN    64
#define CANTOR_SECP_SIG_LEN       65
#define CANTOR_ETH_ADDR_LEN       20
#define CANTOR_KEY_FILE_MAX       256

struct cantor_checkpoint {
    uint64_t chain_id;
    uint64_t number;
    uint8_t block_hash[CANTOR_HASH_LEN];
    uint8_t mmr_root[CANTOR_HASH_LEN];
};

struct cantor_checkpoint_sigs {
    uint8_t ed25519[CANTOR_ED25519_SIG_LEN];
    uint8_t secp256k1[CANTOR_SECP_SIG_LEN];
};

struct cantor_checkpoint_keys {
    uint8_t ed_sk[64]; /* libsodium secret key (seed || public) */
    uint8_t ed_pk[CANTOR_ED25519_PK_LEN];
    uint8_t secp_sk[32];
    uint8_t eth_addr[CANTOR_ETH_ADDR_LEN];
};

void cantor_checkpoint_message(const struct cantor_checkpoint *c, uint8_t out[CANTOR_CHECKPOINT_MSG_LEN]);
void cantor_checkpoint_digest(const struct cantor_checkpoint *c, uint8_t out[CANTOR_HASH_LEN]);
void cantor_checkpoint_eth_digest(const struct cantor_checkpoint *c, uint8_t out[CANTOR_HASH_LEN]);

/* Keys from explicit 32-byte secrets (tests, HSM import). secp_sk must be a valid secret key. */
enum cantor_err cantor_checkpoint_keys_from_seeds(const uint8_t ed_seed[32], const uint8_t secp_sk[32],
                                                  struct cantor_checkpoint_keys **ret_keys);
/* Load the key files in dir; when create is true, generate the missing ones first. */
enum cantor_err cantor_checkpoint_keys_load(const char *dir, bool create,
                                            struct cantor_checkpoint_keys **ret_keys);
void cantor_checkpoint_keys_free(struct cantor_checkpoint_keys *k);

/* Read a 32-byte hex secret from a key file, refusing group/other permissions. */
enum cantor_err cantor_checkpoint_key_file_read(const char *path, uint8_t ret_secret[32]);
/* Create a key file (O_EXCL, 0600) holding secret as hex. */
enum cantor_err cantor_checkpoint_key_file_create(const char *path, const uint8_t secret[32]);

enum cantor_err cantor_checkpoint_sign(const struct cantor_checkpoint_keys *k,
                                       const struct cantor_checkpoint *c,
                                       struct cantor_checkpoint_sigs *ret_sigs);
/* CANTOR_OK or CANTOR_ERR_SIGNATURE. */
enum cantor_err cantor_checkpoint_verify_ed25519(const uint8_t pk[CANTOR_ED25519_PK_LEN],
                                                 const struct cantor_checkpoint *c,
                                                 const uint8_t sig[CANTOR_ED25519_SIG_LEN]);
/* ecrecover: the address that signed c (v in {27,28}, low s), or CANTOR_ERR_SIGNATURE. */
enum cantor_err cantor_checkpoint_recover_eth(const struct cantor_checkpoint *c,
                                              const uint8_t sig[CANTOR_SECP_SIG_LEN],
                                              uint8_t ret_addr[CANTOR_ETH_ADDR_LEN]);

#endif
