/*
 * kv.h - the tiny key-value backend under the store (after knot-resolver's kr_cdb_api).
 *
 * storage/store.c holds all cantord logic and talks to a backend only through struct cantor_kv_ops,
 * so the same logic and the same test suite run on RocksDB (store_rocksdb.c) and on an in-memory
 * sorted map (store_mem.c). Keys compare bytewise (memcmp, shorter first on a tie).
 *
 * A batch (struct cantor_kv_batch) is a plain list of puts/deletes across column families; a backend
 * applies it atomically in write(). Ownership: a batch owns copies of every key and value; values
 * returned by get() are malloc'ed and owned by the caller (free()); iterator key/value pointers are
 * valid until the iterator moves or is freed. Backends are safe for one writer plus concurrent readers.
 */
#ifndef CANTOR_STORAGE_KV_H
#define CANTOR_STORAGE_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Column families; the numeric values are internal (RocksDB knows them by name). */
enum cantor_store_cf {
    CANTOR_CF_META = 0,
    CANTOR_CF_HEADERS,
    CANTOR_CF_DELTAS,
    CANTOR_CF_CHUNKS,
    CANTOR_CF_STATE,
    CANTOR_CF_HISTORY,
    CANTOR_CF_ROOTS,
    CANTOR_CF_UNDO,
    CANTOR_CF_CODES,
    CANTOR_CF_PATTERNS,
    CANTOR_CF_MODELS,
    CANTOR_CF_DATASETS,
    CANTOR_CF_CHALLENGES,
    CANTOR_CF__COUNT
};

const char *cantor_store_cf_name(enum cantor_store_cf cf);

/* Limits on what one batch may carry: a bound on every write path. */
#define CANTOR_KV_MAX_KEY   (1u << 12)
#define CANTOR_KV_MAX_VALUE (64u << 20)
#define CANTOR_KV_MAX_BATCH (1024u << 20)

enum cantor_kv_op { CANTOR_KV_PUT = 1, CANTOR_KV_DEL = 2 };

struct cantor_kv_batch {
    struct cantor_buf ops; /* records: op u8, cf u8, klen u32, vlen u32, key, value (host order) */
    size_t n_ops;
};

void cantor_kv_batch_init(struct cantor_kv_batch *b);
void cantor_kv_batch_release(struct cantor_kv_batch *b);
enum cantor_err cantor_kv_batch_put(struct cantor_kv_batch *b, enum cantor_store_cf cf, const void *key,
                                    size_t klen, const void *val, size_t vlen);
enum cantor_err cantor_kv_batch_del(struct cantor_kv_batch *b, enum cantor_store_cf cf, const void *key,
                                    size_t klen);

/* Walk a batch: set *pos = 0 and call until it returns false. */
struct cantor_kv_rec {
    enum cantor_kv_op op;
    enum cantor_store_cf cf;
    const uint8_t *key, *val;
    size_t klen, vlen;
};
bool cantor_kv_batch_next(const struct cantor_kv_batch *b, size_t *pos, struct cantor_kv_rec *ret_rec);

struct cantor_kv;
struct cantor_kv_iter;

struct cantor_kv_ops {
    const char *name;
    /* CANTOR_ERR_NOT_FOUND when absent; *ret_val is malloc'ed (NUL-terminated past len). */
    enum cantor_err (*get)(struct cantor_kv *kv, enum cantor_store_cf cf, const uint8_t *key, size_t klen,
                           uint8_t **ret_val, size_t *ret_len);
    enum cantor_err (*write)(struct cantor_kv *kv, const struct cantor_kv_batch *b, bool sync);
    /*
     * On CANTOR_CF_HISTORY an iterator may be prefix-mode: it is only defined among keys sharing the
     * seek key's first CANTOR_KEY_STATE_LEN bytes, so callers check the prefix of what they get.
     */
    enum cantor_err (*iter_new)(struct cantor_kv *kv, enum cantor_store_cf cf,
                                struct cantor_kv_iter **ret_it);
    /* First key >= key / last key <= key. */
    void (*iter_seek)(struct cantor_kv_iter *it, const uint8_t *key, size_t klen);
    void (*iter_seek_for_prev)(struct cantor_kv_iter *it, const uint8_t *key, size_t klen);
    bool (*iter_valid)(struct cantor_kv_iter *it);
    void (*iter_next)(struct cantor_kv_iter *it);
    void (*iter_prev)(struct cantor_kv_iter *it);
    const uint8_t *(*iter_key)(struct cantor_kv_iter *it, size_t *ret_len);
    const uint8_t *(*iter_value)(struct cantor_kv_iter *it, size_t *ret_len);
    /* CANTOR_OK, or the error that made the iterator invalid. */
    enum cantor_err (*iter_status)(struct cantor_kv_iter *it);
    void (*iter_free)(struct cantor_kv_iter *it);
    enum cantor_err (*flush)(struct cantor_kv *kv);
    /* A consistent copy openable as a store (RocksDB: hard-linked SST files); dir must not exist. */
    enum cantor_err (*checkpoint)(struct cantor_kv *kv, const char *dir);
    /* Approximate bytes used by a column family (files + memtables). */
    enum cantor_err (*approx_size)(struct cantor_kv *kv, enum cantor_store_cf cf, uint64_t *ret_bytes);
    void (*close)(struct cantor_kv *kv);
};

/* Every backend handle starts with this. */
struct cantor_kv {
    const struct cantor_kv_ops *ops;
};

struct cantor_kv_rocksdb_opts {
    const char *path;
    size_t cache_mb;         /* block cache; 0 = RocksDB default */
    const char *compression; /* "none", "lz4", "zstd", "snappy"; NULL = "lz4" */
    bool low_priority;       /* flush and compaction threads at low CPU and I/O priority */
};

enum cantor_err cantor_kv_rocksdb_open(const struct cantor_kv_rocksdb_opts *opts, struct cantor_kv **ret_kv);
enum cantor_err cantor_kv_mem_open(struct cantor_kv **ret_kv);
/* NULL-safe. */
void cantor_kv_close(struct cantor_kv *kv);

#endif
