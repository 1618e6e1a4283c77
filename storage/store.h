/*
 * store.h - cantord's store: every followed block lands in ONE atomic batch (header, canonical delta,
 * latest state, history index, code blobs, undo record, head pointer), so a crash at any moment
 * leaves the store exactly at a block boundary. Layout: docs/formats.md "Store layout".
 *
 * The logic here runs on any struct cantor_kv backend (RocksDB, or the in-memory map for tests).
 * Threading: one writer (apply/rollback/put_*) at a time plus any number of concurrent readers.
 * Ownership: the store owns its backend when opened with cantor_store_open(); buffers returned
 * through ret_ pointers are malloc'ed and owned by the caller (free(), or the named _release/_free).
 *
 * Value at block n (cantor_store_get_value), from the history index, never by replaying deltas:
 *   history key = addr|kind|slot|block (BE u64) -> old value | new value.
 *   1. the last change at a block <= n (one seek-for-prev): its NEW value;
 *   2. else the first change at a block > n: its OLD value (the key was unchanged until then);
 *   3. else the latest state if present (only after retention pruned every change of that key);
 *   4. else unknown (*ret_known = false): cantord never saw the key change.
 * n above the head, or below the retained range, is CANTOR_ERR_NOT_FOUND; n below the first followed
 * block is unknown.
 */
#ifndef CANTOR_STORAGE_STORE_H
#define CANTOR_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/delta.h"
#include "core/err.h"
#include "storage/kv.h"

#define CANTOR_STORE_SCHEMA_VERSION 1u
#define CANTOR_STORE_END            UINT64_MAX /* "no further page" in cantor_store_history() */
#define CANTOR_STORE_MAX_HEADER     (64u << 10)
#define CANTOR_STORE_MAX_CHUNK      (64u << 20)
#define CANTOR_STORE_MAX_CODE       (1u << 20)
#define CANTOR_STORE_MAX_META_KEY   256u
#define CANTOR_STORE_MAX_ENTRIES    (1u << 20) /* entries in one block's delta */

struct cantor_store;

struct cantor_store_opts {
    const char *path;             /* RocksDB directory; NULL = in-memory backend */
    size_t cache_mb;              /* RocksDB block cache, 0 = default */
    const char *compression;      /* RocksDB block compression: "none", "lz4", "zstd", "snappy"; NULL = lz4 */
    uint64_t retention;           /* blocks of history/undo/deltas to keep, 0 = all */
    bool sync;                    /* fsync the WAL on every block (power-loss safety, slower) */
    uint64_t chain_id;            /* part of the config fingerprint */
    const uint8_t *genesis_hash;  /* 32 bytes or NULL (not checked until given once) */
    bool lax_old_values;          /* accept deltas whose old values disagree with stored state */
    bool low_priority_background; /* RocksDB flush/compaction threads at low CPU and I/O priority */
};

struct cantor_block_meta {
    uint64_t number;
    uint8_t hash[32], parent_hash[32], state_root[32];
    uint64_t timestamp;
    uint8_t *header_rlp; /* owned by whoever filled the struct; may be NULL */
    size_t header_rlp_len;
    /* Follower -> block hooks only (the store ignores it): values proven unchanged at this block
       (daemon/observe.h) as a finished delta, new value = observed value; borrowed; NULL = none. */
    const struct cantor_delta *observed;
};
void cantor_block_meta_release(struct cantor_block_meta *m); /* frees header_rlp; NULL-safe */

struct cantor_store_stats {
    uint64_t bytes; /* approximate bytes of all column families (files + memtables) */
    uint64_t cf_bytes[CANTOR_CF__COUNT];
    uint64_t blocks;         /* blocks in the retained range */
    uint64_t entries;        /* history entries held */
    uint64_t head;           /* valid when blocks > 0 */
    uint64_t first_retained; /* lowest block whose history/undo/delta is kept */
    uint64_t first_followed; /* first block ever applied */
};

enum cantor_err cantor_store_open(const struct cantor_store_opts *opts, struct cantor_store **ret_store);
/* Run the store on a caller's backend; the kv is borrowed and must outlive the store. */
enum cantor_err cantor_store_open_kv(const struct cantor_store_opts *opts, struct cantor_kv *kv,
                                     struct cantor_store **ret_store);
void cantor_store_close(struct cantor_store *s);

/* A per-block (or stand-alone) batch other modules add their own writes to. */
struct cantor_store_batch;
enum cantor_err cantor_store_batch_put(struct cantor_store_batch *b, enum cantor_store_cf cf, const void *key,
                                       size_t klen, const void *val, size_t vlen);
enum cantor_err cantor_store_batch_del(struct cantor_store_batch *b, enum cantor_store_cf cf, const void *key,
                                       size_t klen);
/*
 * Record the value of a key that has never changed in the followed range ("observed base value"), in
 * the same batch as the block it was proven at. The caller proves it first (eth_getProof against the
 * block's state root) and only observes keys whose latest value is unknown: with no change in the
 * history index, the value has been constant since the first followed block, so rule 3 of
 * cantor_store_get_value answers from it, and a later delta whose old value disagrees is refused.
 * Observations survive rollbacks: they hold at every followed block up to the key's first change.
 */
enum cantor_err cantor_store_batch_observe(struct cantor_store_batch *b, const uint8_t addr[20], uint8_t kind,
                                           const uint8_t *slot, const uint8_t value[32]);
/* Keep code bytes by their hash (the caller checked keccak256(code) == hash). */
enum cantor_err cantor_store_batch_put_code(struct cantor_store_batch *b, const uint8_t hash[32],
                                            const uint8_t *code, size_t len);
/* Called inside apply/rollback before the batch commits; an error aborts the whole block. */
typedef enum cantor_err (*cantor_store_batch_fn)(struct cantor_store_batch *b, uint64_t block, void *ctx);

/*
 * Apply one block. Rejects number != head + 1 (CANTOR_ERR_INVALID), parent_hash != head hash
 * (CANTOR_ERR_REORG), delta->block_number != number or old values that disagree with the stored
 * state (CANTOR_ERR_MISMATCH, unless lax_old_values). On an empty store any number is accepted and
 * becomes the first followed block. chunk (compressed delta) may be NULL.
 */
enum cantor_err cantor_store_apply_block(struct cantor_store *s, const struct cantor_block_meta *meta,
                                         const struct cantor_delta *delta, const uint8_t *chunk,
                                         size_t chunk_len);
enum cantor_err cantor_store_apply_block_ex(struct cantor_store *s, const struct cantor_block_meta *meta,
                                            const struct cantor_delta *delta, const uint8_t *chunk,
                                            size_t chunk_len, cantor_store_batch_fn fn, void *ctx);
/* Undo the head block atomically; *ret_empty tells the store became empty (then *ret_new_head = 0). */
enum cantor_err cantor_store_rollback(struct cantor_store *s, uint64_t *ret_new_head, bool *ret_empty);
enum cantor_err cantor_store_rollback_ex(struct cantor_store *s, uint64_t *ret_new_head, bool *ret_empty,
                                         cantor_store_batch_fn fn, void *ctx);

enum cantor_err cantor_store_head(struct cantor_store *s, uint64_t *ret_number, uint8_t ret_hash[32],
                                  bool *ret_empty);
/* *ret_meta is filled; release with cantor_block_meta_release(). */
enum cantor_err cantor_store_get_header(struct cantor_store *s, uint64_t number,
                                        struct cantor_block_meta *ret_meta);
enum cantor_err cantor_store_get_block_hash(struct cantor_store *s, uint64_t number, uint8_t ret_hash[32]);
enum cantor_err cantor_store_find_block_by_hash(struct cantor_store *s, const uint8_t hash[32],
                                                uint64_t *ret_number);
/* The canonical delta of block n (decoded); NOT_FOUND below the retained range. */
enum cantor_err cantor_store_get_delta(struct cantor_store *s, uint64_t number,
                                       struct cantor_delta **ret_delta);
enum cantor_err cantor_store_get_delta_bytes(struct cantor_store *s, uint64_t number, uint8_t **ret_buf,
                                             size_t *ret_len);

/* slot may be NULL unless kind == CANTOR_KIND_STORAGE. See the header comment for the rules. */
enum cantor_err cantor_store_get_value(struct cantor_store *s, const uint8_t addr[20], uint8_t kind,
                                       const uint8_t *slot, uint64_t block, uint8_t ret_val[32],
                                       bool *ret_known);
/* Balance, nonce and code hash of addr at block (same rules), read through one iterator. */
enum cantor_err cantor_store_get_account(struct cantor_store *s, const uint8_t addr[20], uint64_t block,
                                         uint8_t ret_vals[3][32], bool ret_known[3]);
enum cantor_err cantor_store_latest(struct cantor_store *s, const uint8_t addr[20], uint8_t kind,
                                    const uint8_t *slot, uint8_t ret_val[32], bool *ret_known);
/*
 * Blocks >= from_block where the key changed, ascending, at most limit of them into ret_blocks.
 * *ret_next is the from_block of the next page, or CANTOR_STORE_END.
 */
enum cantor_err cantor_store_history(struct cantor_store *s, const uint8_t addr[20], uint8_t kind,
                                     const uint8_t *slot, uint64_t from_block, size_t limit,
                                     uint64_t *ret_blocks, size_t *ret_n, uint64_t *ret_next);
enum cantor_err cantor_store_get_code(struct cantor_store *s, const uint8_t hash[32], uint8_t **ret_code,
                                      size_t *ret_len);
/* Length of the code with this hash (cached: codes never change); CANTOR_ERR_NOT_FOUND if not stored. */
enum cantor_err cantor_store_get_code_size(struct cantor_store *s, const uint8_t hash[32], size_t *ret_len);

enum cantor_err cantor_store_put_chunk(struct cantor_store *s, uint64_t number, const uint8_t *chunk,
                                       size_t len);
enum cantor_err cantor_store_get_chunk(struct cantor_store *s, uint64_t number, uint8_t **ret_chunk,
                                       size_t *ret_len);
/*
 * The chunk stored under the greatest block <= number (a chunk of several blocks is stored under its
 * first block; the store does not parse chunks, so the caller checks that it reaches number).
 * *ret_first gets that block; NOT_FOUND: no chunk at or below number.
 */
enum cantor_err cantor_store_get_chunk_at_or_before(struct cantor_store *s, uint64_t number,
                                                    uint64_t *ret_first, uint8_t **ret_chunk,
                                                    size_t *ret_len);

/* Generic metadata for other modules (namespaced apart from the store's own keys). */
enum cantor_err cantor_store_put_meta(struct cantor_store *s, const char *key, const void *val, size_t len);
enum cantor_err cantor_store_get_meta(struct cantor_store *s, const char *key, uint8_t **ret_val,
                                      size_t *ret_len);

/* Stand-alone batch for other column families (patterns, models, challenges, ...). */
enum cantor_err cantor_store_batch_new(struct cantor_store *s, struct cantor_store_batch **ret_batch);
enum cantor_err cantor_store_batch_commit(struct cantor_store_batch *b);
void cantor_store_batch_free(struct cantor_store_batch *b);
enum cantor_err cantor_store_get_raw(struct cantor_store *s, enum cantor_store_cf cf, const void *key,
                                     size_t klen, uint8_t **ret_val, size_t *ret_len);
/* Visit up to limit records whose key starts with prefix; fn returning non-OK stops the scan. */
typedef enum cantor_err (*cantor_store_scan_fn)(const uint8_t *key, size_t klen, const uint8_t *val,
                                                size_t vlen, void *ctx);
enum cantor_err cantor_store_scan(struct cantor_store *s, enum cantor_store_cf cf, const void *prefix,
                                  size_t plen, size_t limit, cantor_store_scan_fn fn, void *ctx);

enum cantor_err cantor_store_checkpoint(struct cantor_store *s, const char *dir);
enum cantor_err cantor_store_flush(struct cantor_store *s);
enum cantor_err cantor_store_stats(struct cantor_store *s, struct cantor_store_stats *ret_stats);

#endif
