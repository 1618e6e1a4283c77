/*
 * header.h - Ethereum block headers: decode from RLP, parse from eth_getBlockByNumber-style JSON,
 * and re-encode to the canonical RLP whose keccak256 is the block hash.
 *
 * A cantor_header is a plain value (fixed arrays, no pointers): the caller owns it, nothing needs
 * freeing. Fork fields are a trailing, ordered suffix of the RLP list (London adds base fee,
 * Shanghai the withdrawals root, Cancun blob gas used / excess blob gas / parent beacon root,
 * Prague the requests hash); n_fork_fields counts how many of them are present, so a header can
 * never carry a later field without the earlier ones, exactly as the RLP can't.
 *
 * extra_data: mainnet's consensus rule caps it at 32 bytes, but this is a decoder, not a consensus
 * validator, and Clique PoA networks (Goerli, Sepolia before the merge, many dev chains) put a
 * 32-byte vanity plus a 65-byte seal there. We accept up to 97 bytes so those headers still hash
 * correctly; longer (Clique epoch headers listing signers) is CANTOR_ERR_TOO_LARGE. Whether a
 * header is valid for its chain is the follower's business (it compares hashes, not extra data).
 */
#ifndef CANTOR_HEADER_H
#define CANTOR_HEADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keccak.h"

#define CANTOR_HEADER_MAX_EXTRA 97
#define CANTOR_BLOOM_LEN        256
/* Largest header RLP we accept: 21 fields with the longest legal values fit in well under 1 KiB. */
#define CANTOR_HEADER_MAX_RLP 1024

/* Values of n_fork_fields: a header has every fork field up to and including this one. */
enum cantor_header_fork {
    CANTOR_HEADER_PRE_LONDON = 0,
    CANTOR_HEADER_LONDON = 1,      /* + base_fee */
    CANTOR_HEADER_SHANGHAI = 2,    /* + withdrawals_root */
    CANTOR_HEADER_CANCUN_BLOB = 4, /* + blob_gas_used, excess_blob_gas */
    CANTOR_HEADER_CANCUN = 5,      /* + parent_beacon_root */
    CANTOR_HEADER_PRAGUE = 6,      /* + requests_hash */
};

struct cantor_header {
    uint8_t parent_hash[CANTOR_HASH_LEN];
    uint8_t ommers_hash[CANTOR_HASH_LEN];
    uint8_t coinbase[20];
    uint8_t state_root[CANTOR_HASH_LEN];
    uint8_t tx_root[CANTOR_HASH_LEN];
    uint8_t receipts_root[CANTOR_HASH_LEN];
    uint8_t logs_bloom[CANTOR_BLOOM_LEN];
    uint8_t difficulty[32]; /* big-endian word */
    uint64_t number;
    uint64_t gas_limit;
    uint64_t gas_used;
    uint64_t timestamp;
    uint8_t extra_data[CANTOR_HEADER_MAX_EXTRA];
    size_t extra_len;
    uint8_t mix_hash[CANTOR_HASH_LEN]; /* prevRandao after the merge */
    uint8_t nonce[8];
    unsigned n_fork_fields;                      /* 0..6, see enum cantor_header_fork */
    uint8_t base_fee[32];                        /* big-endian word; valid when n_fork_fields >= 1 */
    uint8_t withdrawals_root[CANTOR_HASH_LEN];   /* >= 2 */
    uint64_t blob_gas_used;                      /* >= 3 */
    uint64_t excess_blob_gas;                    /* >= 4 */
    uint8_t parent_beacon_root[CANTOR_HASH_LEN]; /* >= 5 */
    uint8_t requests_hash[CANTOR_HASH_LEN];      /* >= 6 */
    uint8_t hash[CANTOR_HASH_LEN];               /* keccak256 of the canonical RLP */
};

/*
 * Decode a header from its RLP (strict: every field canonical and of its exact size). On success
 * ret->hash = keccak256(rlp, len). Errors: CANTOR_ERR_RLP / _TRUNCATED (malformed), _OVERFLOW (an
 * integer too wide), _TOO_LARGE (input or extra data over the limits), _UNSUPPORTED (more fields
 * than the newest fork we know).
 */
enum cantor_err cantor_header_decode(const uint8_t *rlp, size_t len, struct cantor_header *ret);

/*
 * Parse an eth_getBlockByNumber / erigon_getHeaderByNumber JSON header (extra members such as
 * transactions are ignored; null fork fields count as absent). Computes ret->hash from the
 * re-encoded RLP; if the object has a "hash" member it must equal it (CANTOR_ERR_MISMATCH).
 */
enum cantor_err cantor_header_from_json(json_t *obj, struct cantor_header *ret);

/* Append the canonical RLP of h to out. */
enum cantor_err cantor_header_encode(const struct cantor_header *h, struct cantor_buf *out);

#endif
