/*
 * store_rocksdb.c - the real kv backend: RocksDB through its C API, one column family per
 * enum cantor_store_cf (plus RocksDB's mandatory "default", unused).
 *
 * Every batch is one rocksdb_writebatch_t written with the WAL on, so a kill -9 at any moment leaves
 * either all of a block or none of it; `sync` additionally fsyncs the WAL (power loss). The handle
 * owns the DB, its column family handles, options and cache; values returned by get() are the
 * malloc'ed arrays RocksDB hands out, owned by the caller.
 */
#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "storage/keys.h"
#include "storage/kv.h"

struct rdb_kv {
    struct cantor_kv base;
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_options_t *hist_opts; /* history CF: prefix bloom over the state key */
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_env_t *env; /* only with low_priority; the default Env, lowered */
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts_sync, *wopts_nosync;
    rocksdb_column_family_handle_t *cf[CANTOR_CF__COUNT + 1]; /* [0] = "default" */
};

struct cantor_kv_iter {
    rocksdb_iterator_t *it;
};

/* Log RocksDB's message and map it to our code; frees the message. */
static enum cantor_err rdb_fail(const char *what, char *errmsg)
{
    log_error("store", "rocksdb %s: %s", what, errmsg ? errmsg : "?");
    rocksdb_free(errmsg);
    return CANTOR_ERR_STORE;
}

static rocksdb_column_family_handle_t *cf_handle(struct rdb_kv *r, enum cantor_store_cf cf)
{
    return r->cf[cf + 1];
}

static enum cantor_err rdb_get(struct cantor_kv *kv, enum cantor_store_cf cf, const uint8_t *key, size_t klen,
                               uint8_t **ret_val, size_t *ret_len)
{
    struct rdb_kv *r = (struct rdb_kv *)kv;
    rocksdb_pinnableslice_t *ps;
    char *errmsg = NULL;
    const char *v;
    size_t vlen;
    uint8_t *out;

    if ((unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    ps = rocksdb_get_pinned_cf(r->db, r->ropts, cf_handle(r, cf), (const char *)key, klen, &errmsg);
    if (errmsg)
        return rdb_fail("get", errmsg);
    if (!ps)
        return CANTOR_ERR_NOT_FOUND;
    v = rocksdb_pinnableslice_value(ps, &vlen);
    out = malloc(vlen + 1);
    if (!out) {
        rocksdb_pinnableslice_destroy(ps);
        return CANTOR_ERR_NOMEM;
    }
    if (vlen)
        memcpy(out, v, vlen);
    out[vlen] = 0;
    rocksdb_pinnableslice_destroy(ps);
    *ret_val = out;
    *ret_len = vlen;
    return CANTOR_OK;
}

static enum cantor_err rdb_write(struct cantor_kv *kv, const struct cantor_kv_batch *b, bool sync)
{
    struct rdb_kv *r = (struct rdb_kv *)kv;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    struct cantor_kv_rec rec;
    char *errmsg = NULL;
    size_t pos = 0;

    while (cantor_kv_batch_next(b, &pos, &rec)) {
        if (rec.op == CANTOR_KV_PUT)
            rocksdb_writebatch_put_cf(wb, cf_handle(r, rec.cf), (const char *)rec.key, rec.klen,
                                      (const char *)rec.val, rec.vlen);
        else
            rocksdb_writebatch_delete_cf(wb, cf_handle(r, rec.cf), (const char *)rec.key, rec.klen);
    }
    rocksdb_write(r->db, sync ? r->wopts_sync : r->wopts_nosync, wb, &errmsg);
    rocksdb_writebatch_destroy(wb);
    if (errmsg)
        return rdb_fail("write", errmsg);
    return CANTOR_OK;
}

static enum cantor_err rdb_iter_new(struct cantor_kv *kv, enum cantor_store_cf cf,
                                    struct cantor_kv_iter **ret_it)
{
    struct rdb_kv *r = (struct rdb_kv *)kv;
    struct cantor_kv_iter *it;

    if ((unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    it = calloc(1, sizeof(*it));
    if (!it)
        return CANTOR_ERR_NOMEM;
    it->it = rocksdb_create_iterator_cf(r->db, r->ropts, cf_handle(r, cf));
    *ret_it = it;
    return CANTOR_OK;
}

static void rdb_iter_seek(struct cantor_kv_iter *it, const uint8_t *key, size_t klen)
{
    rocksdb_iter_seek(it->it, (const char *)key, klen);
}

static void rdb_iter_seek_for_prev(struct cantor_kv_iter *it, const uint8_t *key, size_t klen)
{
    rocksdb_iter_seek_for_prev(it->it, (const char *)key, klen);
}

static bool rdb_iter_valid(struct cantor_kv_iter *it)
{
    return rocksdb_iter_valid(it->it) != 0;
}

static void rdb_iter_next(struct cantor_kv_iter *it)
{
    rocksdb_iter_next(it->it);
}

static void rdb_iter_prev(struct cantor_kv_iter *it)
{
    rocksdb_iter_prev(it->it);
}

static const uint8_t *rdb_iter_key(struct cantor_kv_iter *it, size_t *ret_len)
{
    return (const uint8_t *)rocksdb_iter_key(it->it, ret_len);
}

static const uint8_t *rdb_iter_value(struct cantor_kv_iter *it, size_t *ret_len)
{
    return (const uint8_t *)rocksdb_iter_value(it->it, ret_len);
}

static enum cantor_err rdb_iter_status(struct cantor_kv_iter *it)
{
    char *errmsg = NULL;

    rocksdb_iter_get_error(it->it, &errmsg);
    if (errmsg)
        return rdb_fail("iterate", errmsg);
    return CANTOR_OK;
}

static void rdb_iter_free(struct cantor_kv_iter *it)
{
    if (!it)
        return;
    rocksdb_iter_destroy(it->it);
    free(it);
}

static enum cantor_err rdb_flush(struct cantor_kv *kv)
{
    struct rdb_kv *r = (struct rdb_kv *)kv;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    char *errmsg = NULL;
    size_t i;

    rocksdb_flushoptions_set_wait(fo, 1);
    for (i = 0; i < CANTOR_CF__COUNT && !errmsg; i++)
        rocksdb_flush_cf(r->db, fo, cf_handle(r, (enum cantor_store_cf)i), &errmsg);
    rocksdb_flushoptions_destroy(fo);
    if (errmsg)
        return rdb_fail("flush", errmsg);
    return CANTOR_OK;
}

static enum cantor_err rdb_checkpoint(struct cantor_kv *kv, const char *dir)
{
    struct rdb_kv *r = (struct rdb_kv *)kv;
    rocksdb_checkpoint_t *cp;
    char *errmsg = NULL;

    cp = rocksdb_checkpoint_object_create(r->db, &errmsg);
    if (errmsg)
        return rdb_fail("checkpoint", errmsg);
    /* log_size_for_flush = 0: always flush memtables so the copy holds only SST files. */
    rocksdb_checkpoint_create(cp, dir, 0, &errmsg);
    rocksdb_checkpoint_object_destroy(cp);
    if (errmsg)
        return rdb_fail("checkpoint", errmsg);
    return CANTOR_OK;
}

static enum cantor_err rdb_approx_size(struct cantor_kv *kv, enum cantor_store_cf cf, uint64_t *ret_bytes)
{
    struct rdb_kv *r = (struct rdb_kv *)kv;
    uint64_t sst = 0, mem = 0;

    if ((unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    if (rocksdb_property_int_cf(r->db, cf_handle(r, cf), "rocksdb.total-sst-files-size", &sst) ||
        rocksdb_property_int_cf(r->db, cf_handle(r, cf), "rocksdb.cur-size-all-mem-tables", &mem))
        return CANTOR_ERR_STORE;
    *ret_bytes = sst + mem;
    return CANTOR_OK;
}

static void rdb_close(struct cantor_kv *kv)
{
    struct rdb_kv *r = (struct rdb_kv *)kv;
    size_t i;

    for (i = 0; i <= CANTOR_CF__COUNT; i++)
        if (r->cf[i])
            rocksdb_column_family_handle_destroy(r->cf[i]);
    if (r->db)
        rocksdb_close(r->db);
    if (r->ropts)
        rocksdb_readoptions_destroy(r->ropts);
    if (r->wopts_sync)
        rocksdb_writeoptions_destroy(r->wopts_sync);
    if (r->wopts_nosync)
        rocksdb_writeoptions_destroy(r->wopts_nosync);
    if (r->hist_opts)
        rocksdb_options_destroy(r->hist_opts);
    if (r->opts)
        rocksdb_options_destroy(r->opts);
    if (r->table)
        rocksdb_block_based_options_destroy(r->table);
    if (r->cache)
        rocksdb_cache_destroy(r->cache);
    if (r->env)
        rocksdb_env_destroy(r->env);
    free(r);
}

static const struct cantor_kv_ops rdb_ops = {
    .name = "rocksdb",
    .get = rdb_get,
    .write = rdb_write,
    .iter_new = rdb_iter_new,
    .iter_seek = rdb_iter_seek,
    .iter_seek_for_prev = rdb_iter_seek_for_prev,
    .iter_valid = rdb_iter_valid,
    .iter_next = rdb_iter_next,
    .iter_prev = rdb_iter_prev,
    .iter_key = rdb_iter_key,
    .iter_value = rdb_iter_value,
    .iter_status = rdb_iter_status,
    .iter_free = rdb_iter_free,
    .flush = rdb_flush,
    .checkpoint = rdb_checkpoint,
    .approx_size = rdb_approx_size,
    .close = rdb_close,
};

static enum cantor_err parse_compression(const char *s, int *ret_type)
{
    static const struct {
        const char *name;
        int type;
    } table[] = {
        {"none", rocksdb_no_compression},
        {"lz4", rocksdb_lz4_compression},
        {"zstd", rocksdb_zstd_compression},
        {"snappy", rocksdb_snappy_compression},
    };
    size_t i;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(s, table[i].name) == 0) {
            *ret_type = table[i].type;
            return CANTOR_OK;
        }
    }
    log_error("store", "unknown compression '%s' (none, lz4, zstd, snappy)", s);
    return CANTOR_ERR_CONFIG;
}

enum cantor_err cantor_kv_rocksdb_open(const struct cantor_kv_rocksdb_opts *o, struct cantor_kv **ret_kv)
{
    const char *names[CANTOR_CF__COUNT + 1];
    const rocksdb_options_t *cf_opts[CANTOR_CF__COUNT + 1];
    struct rdb_kv *r = NULL;
    char *errmsg = NULL;
    enum cantor_err err;
    int ctype;
    size_t i;

    if (!o || !o->path || !*o->path)
        return CANTOR_ERR_INVALID;
    err = parse_compression(o->compression ? o->compression : "lz4", &ctype);
    if (err)
        return err;
    r = calloc(1, sizeof(*r));
    if (!r)
        return CANTOR_ERR_NOMEM;
    r->base.ops = &rdb_ops;
    r->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(r->opts, 1);
    rocksdb_options_set_create_missing_column_families(r->opts, 1);
    rocksdb_options_set_compression(r->opts, ctype);
    /* Keys we look up by point (state, headers) profit from bloom filters. */
    r->table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(r->table, rocksdb_filterpolicy_create_bloom(10));
    if (o->cache_mb) {
        r->cache = rocksdb_cache_create_lru(o->cache_mb << 20);
        rocksdb_block_based_options_set_block_cache(r->table, r->cache);
    }
    rocksdb_options_set_block_based_table_factory(r->opts, r->table);
    rocksdb_options_increase_parallelism(r->opts, 2);
    if (o->low_priority) {
        /*
         * Flushes and compactions are background work: let them yield to the threads answering
         * reads. The default Env is process-wide, so this also holds for a second store in tests.
         */
        r->env = rocksdb_create_default_env();
        rocksdb_env_lower_thread_pool_cpu_priority(r->env);
        rocksdb_env_lower_thread_pool_io_priority(r->env);
        rocksdb_env_lower_high_priority_thread_pool_cpu_priority(r->env);
        rocksdb_options_set_env(r->opts, r->env);
    }
    r->ropts = rocksdb_readoptions_create();
    r->wopts_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->wopts_sync, 1);
    r->wopts_nosync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->wopts_nosync, 0);

    /*
     * History reads (value at block n, paginated history) always stay inside one state key: seek or
     * seek-for-prev to key|block and accept only that key. A fixed-prefix extractor over the state key
     * lets the memtable's prefix bloom and the SST filters skip every memtable and file that has no
     * entry for it, instead of a skiplist search in each; it is the HTTP read path's largest cost.
     * Iterators on this CF are therefore prefix-mode (storage/kv.h): nothing scans across keys.
     */
    r->hist_opts = rocksdb_options_create_copy(r->opts);
    rocksdb_options_set_prefix_extractor(r->hist_opts,
                                         rocksdb_slicetransform_create_fixed_prefix(CANTOR_KEY_STATE_LEN));
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(r->hist_opts, 0.1);
    names[0] = "default";
    cf_opts[0] = r->opts;
    for (i = 0; i < CANTOR_CF__COUNT; i++) {
        names[i + 1] = cantor_store_cf_name((enum cantor_store_cf)i);
        cf_opts[i + 1] = i == CANTOR_CF_HISTORY ? r->hist_opts : r->opts;
    }
    r->db =
        rocksdb_open_column_families(r->opts, o->path, CANTOR_CF__COUNT + 1, names, cf_opts, r->cf, &errmsg);
    if (errmsg) {
        err = rdb_fail("open", errmsg);
        memset(r->cf, 0, sizeof(r->cf));
        r->db = NULL;
        goto out;
    }
    *ret_kv = &r->base;
    r = NULL;
out:
    if (r)
        rdb_close(&r->base);
    return err;
}
