/*
 * keys.h - how the store lays out keys and values in its column families (docs/formats.md
 * "Store layout"). All integers are big-endian so RocksDB's bytewise order is numeric order.
 * Pure functions on caller buffers; no allocation.
 */
#ifndef CANTOR_STORAGE_KEYS_H
#define CANTOR_STORAGE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/be.h" /* cantor_be64_get/put, cantor_be32_get/put */
#include "core/err.h"

#define CANTOR_KEY_STATE_LEN    53  /* addr 20 | kind 1 | slot 32 */
#define CANTOR_KEY_HISTORY_LEN  61  /* state key | block u64 */
#define CANTOR_KEY_BLOCK_LEN    8   /* deltas, chunks, undo, roots by block */
#define CANTOR_KEY_HEADER_LEN   9   /* 'n' | block u64 */
#define CANTOR_KEY_HASH_LEN     33  /* 'h' | block hash */
#define CANTOR_HEADER_REC_FIXED 104 /* hash 32 | parent 32 | state root 32 | timestamp u64 */
#define CANTOR_UNDO_FIXED       46  /* version 1 | prev_empty 1 | prev head u64 | prev hash 32 | n u32 */
#define CANTOR_UNDO_REC         86  /* state key 53 | existed 1 | previous value 32 */
#define CANTOR_UNDO_VERSION     1

/* Store-internal meta keys; other modules' keys get CANTOR_META_USER_PREFIX. */
#define CANTOR_META_SCHEMA      "cantor.schema"      /* u32 */
#define CANTOR_META_FINGERPRINT "cantor.fingerprint" /* chain id u64 | genesis hash 32 (zero = unknown) */
#define CANTOR_META_HEAD        "cantor.head"        /* number u64 | hash 32 */
#define CANTOR_META_FIRST       "cantor.first"       /* u64: first block ever applied */
#define CANTOR_META_RETAINED    "cantor.retained"    /* u64: lowest block with history/undo/delta */
#define CANTOR_META_ENTRIES     "cantor.entries"     /* u64: history entries held */
#define CANTOR_META_USER_PREFIX "u."

/* CANTOR_ERR_INVALID for a kind > STORAGE; slot may be NULL (zero) and is ignored unless STORAGE. */
enum cantor_err cantor_key_state(const uint8_t addr[20], uint8_t kind, const uint8_t *slot,
                                 uint8_t out[CANTOR_KEY_STATE_LEN]);
void cantor_key_history(const uint8_t state_key[CANTOR_KEY_STATE_LEN], uint64_t block,
                        uint8_t out[CANTOR_KEY_HISTORY_LEN]);
void cantor_key_header(uint64_t block, uint8_t out[CANTOR_KEY_HEADER_LEN]);
void cantor_key_hash(const uint8_t hash[32], uint8_t out[CANTOR_KEY_HASH_LEN]);

#endif
