/*
 * delta.h - the canonical block delta: the net effect of one block on Ethereum state.
 *
 * One entry per (address, kind[, slot]) whose value differs before and after the block, sorted by
 * (address, kind, slot) bytewise. Every value is a 32-byte big-endian word: balance, nonce, storage
 * value, and for CODE the keccak256 of the code (keccak256("") for no code / absent account; absent
 * accounts have balance 0 and nonce 0). Code bytes for every code hash that appears as a NEW value
 * are kept in the delta's code table so a store can keep them by hash.
 *
 * Ownership: a cantor_delta owns its entries and code blobs; cantor_delta_free() releases all.
 * The canonical binary encoding (docs/formats.md) is what every hash and every codec is over.
 */
#ifndef CANTOR_DELTA_H
#define CANTOR_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define CANTOR_ADDR_LEN 20
#define CANTOR_WORD_LEN 32

/* Hard limits on every path that builds a delta (parsers, decoder). Real blocks are far below. */
#define CANTOR_DELTA_MAX_ENTRIES    (1u << 22)          /* entries appended before finish() */
#define CANTOR_DELTA_MAX_CODE_LEN   (1u << 20)          /* one code blob (EIP-170 limit is 24 KiB) */
#define CANTOR_DELTA_MAX_CODES      16384u              /* code blobs per delta */
#define CANTOR_DELTA_MAX_CODE_TOTAL (64u * 1024 * 1024) /* code bytes per delta */

/* First bytes of the canonical encoding v1 (docs/formats.md, "Canonical block delta v1"). */
#define CANTOR_DELTA_MAGIC     "CDLT"
#define CANTOR_DELTA_MAGIC_LEN 4
#define CANTOR_DELTA_VERSION   1

enum cantor_delta_kind {
    CANTOR_KIND_BALANCE = 0,
    CANTOR_KIND_NONCE = 1,
    CANTOR_KIND_CODE = 2,
    CANTOR_KIND_STORAGE = 3,
};

struct cantor_delta_entry {
    uint8_t addr[CANTOR_ADDR_LEN];
    uint8_t kind;                  /* enum cantor_delta_kind */
    uint8_t slot[CANTOR_WORD_LEN]; /* all zero unless kind == STORAGE */
    uint8_t old_val[CANTOR_WORD_LEN];
    uint8_t new_val[CANTOR_WORD_LEN];
};

struct cantor_delta_code {
    uint8_t hash[CANTOR_WORD_LEN];
    uint8_t *code;
    size_t len;
};

struct cantor_delta {
    uint64_t block_number;
    struct cantor_delta_entry *entries;
    size_t n_entries, cap_entries;
    struct cantor_delta_code *codes;
    size_t n_codes, cap_codes;
};

enum cantor_err cantor_delta_new(uint64_t block_number, struct cantor_delta **ret_delta);
void cantor_delta_free(struct cantor_delta *d);

/* Compare two entries by (addr, kind, slot); used for sorting and binary search. */
int cantor_delta_entry_cmp(const struct cantor_delta_entry *a, const struct cantor_delta_entry *b);
/* The entry for (addr, kind, slot) in a finished (sorted) delta, or NULL; slot may be NULL unless
   kind == CANTOR_KIND_STORAGE. Binary search. */
struct cantor_delta_entry *cantor_delta_find(const struct cantor_delta *d,
                                             const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                             const uint8_t *slot);

/*
 * Append an entry (unsorted). Append in transaction order: cantor_delta_finish() sorts by key,
 * merges entries of one key into (old of the FIRST, new of the LAST) and drops keys whose net
 * old == new. A non-storage entry must have an all-zero slot (CANTOR_ERR_INVALID otherwise).
 */
enum cantor_err cantor_delta_add(struct cantor_delta *d, const struct cantor_delta_entry *e);
/* Keep code bytes for a code hash (copied; duplicates ignored). */
enum cantor_err cantor_delta_add_code(struct cantor_delta *d, const uint8_t hash[CANTOR_WORD_LEN],
                                      const uint8_t *code, size_t len);
/* Sort, merge and drop no-ops (above); also sorts the code table by hash and drops code blobs that
 * no CODE entry holds as its new value (and the empty code). Idempotent. */
enum cantor_err cantor_delta_finish(struct cantor_delta *d);

/*
 * Canonical binary encoding (docs/formats.md): what deltas are hashed, stored and compressed as.
 * Appends to out (out->max applies). d must be finished: unsorted, duplicate or no-op entries,
 * or an unsorted/unreferenced code table give CANTOR_ERR_INVALID.
 */
enum cantor_err cantor_delta_encode(const struct cantor_delta *d, struct cantor_buf *out);
/*
 * Strict inverse of cantor_delta_encode(): rejects unsorted, duplicate or no-op entries, non-minimal
 * numbers, code whose keccak256 is not its hash, and trailing data, so decode(x) succeeds only when
 * encode(decode(x)) == x.
 */
enum cantor_err cantor_delta_decode(const uint8_t *buf, size_t len, struct cantor_delta **ret_delta);
/*
 * The same for a delta at the start of buf that may be followed by other bytes (a multi-block chunk's
 * concatenated deltas): *ret_used gets its length. Every check of cantor_delta_decode() but the one
 * for trailing bytes applies.
 */
enum cantor_err cantor_delta_decode_prefix(const uint8_t *buf, size_t len, size_t *ret_used,
                                           struct cantor_delta **ret_delta);

#endif
