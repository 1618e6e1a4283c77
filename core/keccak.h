/*
 * keccak.h - Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not FIPS-202 SHA3-256's
 * 0x06), plus SHA3-256/512 which share the permutation and let us check it against NIST KATs.
 * The permutation is ours (keccak_f1600.inc), four states at a time with AVX2 where the CPU has it.
 * All functions are pure and thread-safe; no allocation.
 */
#ifndef CANTOR_KECCAK_H
#define CANTOR_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define CANTOR_HASH_LEN 32

struct cantor_keccak {
    uint64_t a[25];
    uint8_t block[200];
    size_t pos;
    size_t rate;
    uint8_t pad;
};

void cantor_keccak256_init(struct cantor_keccak *k);
void cantor_keccak_update(struct cantor_keccak *k, const void *data, size_t len);
void cantor_keccak_final(struct cantor_keccak *k, uint8_t *out, size_t out_len);

/* One-shot Keccak-256. */
void cantor_keccak256(const void *data, size_t len, uint8_t out[CANTOR_HASH_LEN]);
/* Keccak-256 of four 64-byte messages (mapping-slot preimages) at once; same results as four calls. */
void cantor_keccak256_64x4(const uint8_t in[4][64], uint8_t out[4][32]);

/* FIPS-202 SHA3, for testing the permutation against known-answer tests. */
void cantor_sha3_256(const void *data, size_t len, uint8_t out[32]);
void cantor_sha3_512(const void *data, size_t len, uint8_t out[64]);

/* keccak256("") - the code hash of an account without code. */
extern const uint8_t CANTOR_KECCAK_EMPTY[CANTOR_HASH_LEN];
/* keccak256(rlp("")) - the root of an empty Merkle-Patricia trie. */
extern const uint8_t CANTOR_EMPTY_TRIE_ROOT[CANTOR_HASH_LEN];

#endif
