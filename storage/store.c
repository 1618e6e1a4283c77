/*
 * store.c - cantord's store logic over any kv backend (see store.h for the contract and
 * docs/formats.md "Store layout" for the bytes).
 *
 * One writer at a time (write_lock), readers never block on it: the head, first and retained
 * numbers live in a small cache under state_lock that is updated only after a batch commits.
 * Every apply and rollback builds one cantor_kv_batch and commits it with one write(), which is what
 * makes a crash land on a block boundary. Memory: the store owns its kv when it opened it.
 */
#include "storage/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keccak.h"
#include "core/log.h"
#include "storage/keys.h"
#include "storage/schema.h"

/* At most this many old blocks are pruned per applied block, so one batch stays bounded. */
#define PRUNE_PER_BLOCK   4
#define HISTORY_MAX_LIMIT 100000u

/*
 * Code sizes by code hash, direct-mapped: GET /v1/state reports an account's code size on every
 * call, and reading a 24 KB blob to learn its length would dominate the request. Codes are
 * content-addressed and never deleted, so an entry never goes stale.
 */
#define CODE_SIZE_SLOTS 1024

struct code_size_slot {
    bool used;
    uint8_t hash[32];
    size_t len;
};

struct cantor_store {
    struct cantor_kv *kv;
    pthread_mutex_t code_size_lock;
    struct code_size_slot code_size[CODE_SIZE_SLOTS];
    bool own_kv;
    bool sync, lax_old_values;
    uint64_t retention;
    pthread_mutex_t write_lock;
    pthread_mutex_t state_lock;
    /* cache of meta, guarded by state_lock */
    bool empty;
    uint64_t head, first, retained, entries;
    uint8_t head_hash[32];
};

struct cantor_store_batch {
    struct cantor_store *s;
    struct cantor_kv_batch kv;
};

struct head_snap {
    bool empty;
    uint64_t head, first, retained, entries;
    uint8_t hash[32];
};

static void snap(struct cantor_store *s, struct head_snap *h)
{
    pthread_mutex_lock(&s->state_lock);
    h->empty = s->empty;
    h->head = s->head;
    h->first = s->first;
    h->retained = s->retained;
    h->entries = s->entries;
    memcpy(h->hash, s->head_hash, 32);
    pthread_mutex_unlock(&s->state_lock);
}

static void publish(struct cantor_store *s, const struct head_snap *h)
{
    pthread_mutex_lock(&s->state_lock);
    s->empty = h->empty;
    s->head = h->head;
    s->first = h->first;
    s->retained = h->retained;
    s->entries = h->entries;
    memcpy(s->head_hash, h->hash, 32);
    pthread_mutex_unlock(&s->state_lock);
}

void cantor_block_meta_release(struct cantor_block_meta *m)
{
    if (!m)
        return;
    free(m->header_rlp);
    m->header_rlp = NULL;
    m->header_rlp_len = 0;
}

static enum cantor_err kv_get(struct cantor_store *s, enum cantor_store_cf cf, const void *key, size_t klen,
                              uint8_t **ret_val, size_t *ret_len)
{
    return s->kv->ops->get(s->kv, cf, key, klen, ret_val, ret_len);
}

static enum cantor_err meta_get_u64(struct cantor_store *s, const char *key, uint64_t *ret_v)
{
    uint8_t *v = NULL;
    size_t len;
    enum cantor_err err = kv_get(s, CANTOR_CF_META, key, strlen(key), &v, &len);

    if (err)
        return err;
    if (len != 8)
        err = CANTOR_ERR_CORRUPT;
    else
        *ret_v = cantor_be64_get(v);
    free(v);
    return err;
}

static enum cantor_err meta_put_u64(struct cantor_kv_batch *b, const char *key, uint64_t v)
{
    uint8_t buf[8];

    cantor_be64_put(buf, v);
    return cantor_kv_batch_put(b, CANTOR_CF_META, key, strlen(key), buf, 8);
}

static enum cantor_err meta_del(struct cantor_kv_batch *b, const char *key)
{
    return cantor_kv_batch_del(b, CANTOR_CF_META, key, strlen(key));
}

static enum cantor_err load_head(struct cantor_store *s)
{
    struct head_snap h = {.empty = true};
    uint8_t *v = NULL;
    size_t len;
    enum cantor_err err;

    err = kv_get(s, CANTOR_CF_META, CANTOR_META_HEAD, strlen(CANTOR_META_HEAD), &v, &len);
    if (err == CANTOR_ERR_NOT_FOUND) {
        publish(s, &h);
        return CANTOR_OK;
    }
    if (err)
        return err;
    if (len != 40) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    h.empty = false;
    h.head = cantor_be64_get(v);
    memcpy(h.hash, v + 8, 32);
    err = meta_get_u64(s, CANTOR_META_FIRST, &h.first);
    if (!err)
        err = meta_get_u64(s, CANTOR_META_RETAINED, &h.retained);
    if (!err)
        err = meta_get_u64(s, CANTOR_META_ENTRIES, &h.entries);
    if (err == CANTOR_ERR_NOT_FOUND)
        err = CANTOR_ERR_CORRUPT;
    if (!err && (h.first > h.head + 1 || h.retained < h.first))
        err = CANTOR_ERR_CORRUPT;
    if (!err)
        publish(s, &h);
out:
    if (err)
        log_error("store", "head metadata unreadable: %s", cantor_err_str(err));
    free(v);
    return err;
}

/* Chain id must match; the genesis hash is checked once known on both sides, and recorded once given. */
static enum cantor_err check_fingerprint(struct cantor_store *s, const struct cantor_store_opts *o)
{
    static const uint8_t zero[32];
    struct cantor_kv_batch b;
    uint8_t want[40], *have = NULL;
    size_t len;
    enum cantor_err err;

    cantor_kv_batch_init(&b);
    cantor_be64_put(want, o->chain_id);
    memcpy(want + 8, o->genesis_hash ? o->genesis_hash : zero, 32);
    err = kv_get(s, CANTOR_CF_META, CANTOR_META_FINGERPRINT, strlen(CANTOR_META_FINGERPRINT), &have, &len);
    if (err && err != CANTOR_ERR_NOT_FOUND)
        goto out;
    if (!err) {
        if (len != 40) {
            err = CANTOR_ERR_CORRUPT;
            goto out;
        }
        if (cantor_be64_get(have) != o->chain_id) {
            log_error("store", "store belongs to chain id %llu, configured chain id is %llu",
                      (unsigned long long)cantor_be64_get(have), (unsigned long long)o->chain_id);
            err = CANTOR_ERR_MISMATCH;
            goto out;
        }
        if (!o->genesis_hash || memcmp(have + 8, want + 8, 32) == 0)
            goto out;
        if (memcmp(have + 8, zero, 32) != 0) {
            log_error("store", "store belongs to another chain (genesis hash differs)");
            err = CANTOR_ERR_MISMATCH;
            goto out;
        }
    }
    err = cantor_kv_batch_put(&b, CANTOR_CF_META, CANTOR_META_FINGERPRINT, strlen(CANTOR_META_FINGERPRINT),
                              want, sizeof(want));
    if (!err)
        err = s->kv->ops->write(s->kv, &b, true);
out:
    free(have);
    cantor_kv_batch_release(&b);
    return err;
}

enum cantor_err cantor_store_open_kv(const struct cantor_store_opts *o, struct cantor_kv *kv,
                                     struct cantor_store **ret_store)
{
    struct cantor_store *s;
    enum cantor_err err;
    bool created;

    if (!o || !kv || !ret_store)
        return CANTOR_ERR_INVALID;
    s = calloc(1, sizeof(*s));
    if (!s)
        return CANTOR_ERR_NOMEM;
    s->kv = kv;
    s->sync = o->sync;
    s->lax_old_values = o->lax_old_values;
    s->retention = o->retention;
    s->empty = true;
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_mutex_init(&s->state_lock, NULL);
    pthread_mutex_init(&s->code_size_lock, NULL);
    err = cantor_schema_open(kv, true, &created);
    if (!err)
        err = check_fingerprint(s, o);
    if (!err)
        err = load_head(s);
    if (err)
        goto out;
    log_debug("store", "opened %s store (%s)", kv->ops->name, created ? "created" : "existing");
    *ret_store = s;
    s = NULL;
out:
    cantor_store_close(s);
    return err;
}

enum cantor_err cantor_store_open(const struct cantor_store_opts *o, struct cantor_store **ret_store)
{
    struct cantor_kv *kv = NULL;
    enum cantor_err err;

    if (!o || !ret_store)
        return CANTOR_ERR_INVALID;
    if (o->path) {
        struct cantor_kv_rocksdb_opts ro = {.path = o->path,
                                            .cache_mb = o->cache_mb,
                                            .compression = o->compression,
                                            .low_priority = o->low_priority_background};

        err = cantor_kv_rocksdb_open(&ro, &kv);
    } else {
        err = cantor_kv_mem_open(&kv);
    }
    if (err)
        return err;
    err = cantor_store_open_kv(o, kv, ret_store);
    if (err) {
        cantor_kv_close(kv);
        return err;
    }
    (*ret_store)->own_kv = true;
    return CANTOR_OK;
}

void cantor_store_close(struct cantor_store *s)
{
    if (!s)
        return;
    if (s->own_kv)
        cantor_kv_close(s->kv);
    pthread_mutex_destroy(&s->write_lock);
    pthread_mutex_destroy(&s->state_lock);
    pthread_mutex_destroy(&s->code_size_lock);
    free(s);
}

enum cantor_err cantor_store_batch_put(struct cantor_store_batch *b, enum cantor_store_cf cf, const void *key,
                                       size_t klen, const void *val, size_t vlen)
{
    if (!b)
        return CANTOR_ERR_INVALID;
    return cantor_kv_batch_put(&b->kv, cf, key, klen, val, vlen);
}

enum cantor_err cantor_store_batch_del(struct cantor_store_batch *b, enum cantor_store_cf cf, const void *key,
                                       size_t klen)
{
    if (!b)
        return CANTOR_ERR_INVALID;
    return cantor_kv_batch_del(&b->kv, cf, key, klen);
}

enum cantor_err cantor_store_batch_observe(struct cantor_store_batch *b, const uint8_t addr[20], uint8_t kind,
                                           const uint8_t *slot, const uint8_t value[32])
{
    uint8_t sk[CANTOR_KEY_STATE_LEN];
    enum cantor_err err;

    if (!b || !addr || !value)
        return CANTOR_ERR_INVALID;
    err = cantor_key_state(addr, kind, slot, sk);
    if (err)
        return err;
    return cantor_kv_batch_put(&b->kv, CANTOR_CF_STATE, sk, sizeof(sk), value, 32);
}

enum cantor_err cantor_store_batch_put_code(struct cantor_store_batch *b, const uint8_t hash[32],
                                            const uint8_t *code, size_t len)
{
    if (!b || !hash || (len && !code))
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_STORE_MAX_CODE)
        return CANTOR_ERR_TOO_LARGE;
    return cantor_kv_batch_put(&b->kv, CANTOR_CF_CODES, hash, 32, code, len);
}

enum cantor_err cantor_store_batch_new(struct cantor_store *s, struct cantor_store_batch **ret_batch)
{
    struct cantor_store_batch *b;

    if (!s || !ret_batch)
        return CANTOR_ERR_INVALID;
    b = calloc(1, sizeof(*b));
    if (!b)
        return CANTOR_ERR_NOMEM;
    b->s = s;
    cantor_kv_batch_init(&b->kv);
    *ret_batch = b;
    return CANTOR_OK;
}

enum cantor_err cantor_store_batch_commit(struct cantor_store_batch *b)
{
    enum cantor_err err;

    if (!b)
        return CANTOR_ERR_INVALID;
    pthread_mutex_lock(&b->s->write_lock);
    err = b->s->kv->ops->write(b->s->kv, &b->kv, b->s->sync);
    pthread_mutex_unlock(&b->s->write_lock);
    return err;
}

void cantor_store_batch_free(struct cantor_store_batch *b)
{
    if (!b)
        return;
    cantor_kv_batch_release(&b->kv);
    free(b);
}

static bool is_zero(const uint8_t *p, size_t n)
{
    while (n--)
        if (*p++)
            return false;
    return true;
}

/* Shape checks that keep malformed deltas out of the index: sorted, unique, valid kinds. */
static enum cantor_err check_delta(const struct cantor_block_meta *meta, const struct cantor_delta *d)
{
    size_t i;

    if (d->block_number != meta->number)
        return CANTOR_ERR_MISMATCH;
    if (d->n_entries > CANTOR_STORE_MAX_ENTRIES)
        return CANTOR_ERR_TOO_LARGE;
    for (i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_entry *e = &d->entries[i];

        if (e->kind > CANTOR_KIND_STORAGE || (e->kind != CANTOR_KIND_STORAGE && !is_zero(e->slot, 32)))
            return CANTOR_ERR_INVALID;
        if (i && cantor_delta_entry_cmp(&d->entries[i - 1], e) >= 0)
            return CANTOR_ERR_INVALID;
    }
    for (i = 0; i < d->n_codes; i++) {
        uint8_t h[32];

        if (d->codes[i].len > CANTOR_STORE_MAX_CODE)
            return CANTOR_ERR_TOO_LARGE;
        cantor_keccak256(d->codes[i].code, d->codes[i].len, h);
        if (memcmp(h, d->codes[i].hash, 32) != 0)
            return CANTOR_ERR_MISMATCH;
    }
    return CANTOR_OK;
}

/* Delete the history/undo/delta of one old block (its undo record names the keys). */
static enum cantor_err prune_block(struct cantor_store *s, struct cantor_kv_batch *b, uint64_t n,
                                   uint64_t *entries)
{
    uint8_t bk[8], hk[CANTOR_KEY_HISTORY_LEN], *u = NULL;
    size_t len, i, cnt;
    enum cantor_err err;

    cantor_be64_put(bk, n);
    err = kv_get(s, CANTOR_CF_UNDO, bk, 8, &u, &len);
    if (err == CANTOR_ERR_NOT_FOUND)
        return CANTOR_OK; /* nothing left of that block */
    if (err)
        return err;
    if (len < CANTOR_UNDO_FIXED || u[0] != CANTOR_UNDO_VERSION) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    cnt = cantor_be32_get(u + 42);
    if (len != CANTOR_UNDO_FIXED + cnt * CANTOR_UNDO_REC) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    for (i = 0; i < cnt && !err; i++) {
        cantor_key_history(u + CANTOR_UNDO_FIXED + i * CANTOR_UNDO_REC, n, hk);
        err = cantor_kv_batch_del(b, CANTOR_CF_HISTORY, hk, sizeof(hk));
    }
    if (!err)
        err = cantor_kv_batch_del(b, CANTOR_CF_UNDO, bk, 8);
    if (!err)
        err = cantor_kv_batch_del(b, CANTOR_CF_DELTAS, bk, 8);
    if (!err)
        *entries -= cnt < *entries ? cnt : *entries;
out:
    free(u);
    return err;
}

static enum cantor_err put_header(struct cantor_kv_batch *b, const struct cantor_block_meta *m)
{
    uint8_t key[CANTOR_KEY_HEADER_LEN], hkey[CANTOR_KEY_HASH_LEN], num[8], *rec;
    size_t len = CANTOR_HEADER_REC_FIXED + m->header_rlp_len;
    enum cantor_err err;

    rec = malloc(len);
    if (!rec)
        return CANTOR_ERR_NOMEM;
    memcpy(rec, m->hash, 32);
    memcpy(rec + 32, m->parent_hash, 32);
    memcpy(rec + 64, m->state_root, 32);
    cantor_be64_put(rec + 96, m->timestamp);
    if (m->header_rlp_len)
        memcpy(rec + CANTOR_HEADER_REC_FIXED, m->header_rlp, m->header_rlp_len);
    cantor_key_header(m->number, key);
    cantor_key_hash(m->hash, hkey);
    cantor_be64_put(num, m->number);
    err = cantor_kv_batch_put(b, CANTOR_CF_HEADERS, key, sizeof(key), rec, len);
    if (!err)
        err = cantor_kv_batch_put(b, CANTOR_CF_HEADERS, hkey, sizeof(hkey), num, 8);
    free(rec);
    return err;
}

/* State, history and undo for every entry; fills `undo` (header already written by the caller). */
static enum cantor_err put_entries(struct cantor_store *s, struct cantor_kv_batch *b,
                                   const struct cantor_delta *d, struct cantor_buf *undo)
{
    uint8_t sk[CANTOR_KEY_STATE_LEN], hk[CANTOR_KEY_HISTORY_LEN], on[64], *prev = NULL;
    enum cantor_err err = CANTOR_OK;
    size_t i, plen;

    for (i = 0; i < d->n_entries && !err; i++) {
        const struct cantor_delta_entry *e = &d->entries[i];
        uint8_t existed;

        err = cantor_key_state(e->addr, e->kind, e->slot, sk);
        if (err)
            break;
        err = kv_get(s, CANTOR_CF_STATE, sk, sizeof(sk), &prev, &plen);
        if (err == CANTOR_ERR_NOT_FOUND) {
            existed = 0;
            err = CANTOR_OK;
        } else if (err) {
            break;
        } else if (plen != 32) {
            err = CANTOR_ERR_CORRUPT;
            break;
        } else {
            existed = 1;
            if (!s->lax_old_values && memcmp(prev, e->old_val, 32) != 0) {
                log_error("store", "block %llu entry %zu: old value differs from stored state",
                          (unsigned long long)d->block_number, i);
                err = CANTOR_ERR_MISMATCH;
                break;
            }
        }
        err = cantor_buf_append(undo, sk, sizeof(sk));
        if (!err)
            err = cantor_buf_append_byte(undo, existed);
        if (!err)
            err = cantor_buf_append(undo, existed ? prev : e->old_val, 32);
        free(prev);
        prev = NULL;
        if (err)
            break;
        memcpy(on, e->old_val, 32);
        memcpy(on + 32, e->new_val, 32);
        cantor_key_history(sk, d->block_number, hk);
        err = cantor_kv_batch_put(b, CANTOR_CF_STATE, sk, sizeof(sk), e->new_val, 32);
        if (!err)
            err = cantor_kv_batch_put(b, CANTOR_CF_HISTORY, hk, sizeof(hk), on, sizeof(on));
    }
    free(prev);
    return err;
}

enum cantor_err cantor_store_apply_block_ex(struct cantor_store *s, const struct cantor_block_meta *meta,
                                            const struct cantor_delta *delta, const uint8_t *chunk,
                                            size_t chunk_len, cantor_store_batch_fn fn, void *ctx)
{
    struct cantor_store_batch sb = {.s = s};
    struct cantor_buf enc, undo;
    struct head_snap h, nh;
    uint8_t bk[8], headv[40], hh[32];
    enum cantor_err err;
    size_t i;
    int pruned = 0;

    if (!s || !meta || !delta || (chunk_len && !chunk) || (meta->header_rlp_len && !meta->header_rlp))
        return CANTOR_ERR_INVALID;
    if (meta->header_rlp_len > CANTOR_STORE_MAX_HEADER || chunk_len > CANTOR_STORE_MAX_CHUNK)
        return CANTOR_ERR_TOO_LARGE;
    if (meta->number == UINT64_MAX)
        return CANTOR_ERR_OVERFLOW;
    if (meta->header_rlp_len) {
        /* The header bytes must be the block they claim to be. */
        cantor_keccak256(meta->header_rlp, meta->header_rlp_len, hh);
        if (memcmp(hh, meta->hash, 32) != 0)
            return CANTOR_ERR_MISMATCH;
    }
    err = check_delta(meta, delta);
    if (err)
        return err;

    cantor_kv_batch_init(&sb.kv);
    cantor_buf_init(&enc, 0);
    cantor_buf_init(&undo, CANTOR_UNDO_FIXED + (size_t)CANTOR_STORE_MAX_ENTRIES * CANTOR_UNDO_REC);
    pthread_mutex_lock(&s->write_lock);
    snap(s, &h);
    if (!h.empty) {
        if (meta->number != h.head + 1) {
            log_warn("store", "block %llu does not follow head %llu", (unsigned long long)meta->number,
                     (unsigned long long)h.head);
            err = CANTOR_ERR_INVALID;
            goto out;
        }
        if (memcmp(meta->parent_hash, h.hash, 32) != 0) {
            log_info("store", "block %llu: parent hash is not the head's hash (reorg)",
                     (unsigned long long)meta->number);
            err = CANTOR_ERR_REORG;
            goto out;
        }
    }
    nh = h;
    cantor_be64_put(bk, meta->number);

    err = cantor_delta_encode(delta, &enc);
    if (!err)
        err = cantor_kv_batch_put(&sb.kv, CANTOR_CF_DELTAS, bk, 8, enc.data, enc.len);
    if (!err)
        err = put_header(&sb.kv, meta);
    /* Undo header: enough to restore the head even if the store becomes empty. */
    if (!err)
        err = cantor_buf_append_byte(&undo, CANTOR_UNDO_VERSION);
    if (!err)
        err = cantor_buf_append_byte(&undo, h.empty ? 1 : 0);
    if (!err) {
        uint8_t tmp[44];

        cantor_be64_put(tmp, h.empty ? 0 : h.head);
        memcpy(tmp + 8, h.hash, 32);
        cantor_be32_put(tmp + 40, (uint32_t)delta->n_entries);
        err = cantor_buf_append(&undo, tmp, sizeof(tmp));
    }
    if (!err)
        err = put_entries(s, &sb.kv, delta, &undo);
    if (!err)
        err = cantor_kv_batch_put(&sb.kv, CANTOR_CF_UNDO, bk, 8, undo.data, undo.len);
    for (i = 0; i < delta->n_codes && !err; i++)
        err = cantor_kv_batch_put(&sb.kv, CANTOR_CF_CODES, delta->codes[i].hash, 32, delta->codes[i].code,
                                  delta->codes[i].len);
    if (!err && chunk_len)
        err = cantor_kv_batch_put(&sb.kv, CANTOR_CF_CHUNKS, bk, 8, chunk, chunk_len);
    if (err)
        goto out;

    nh.empty = false;
    nh.head = meta->number;
    memcpy(nh.hash, meta->hash, 32);
    nh.entries = h.entries + delta->n_entries;
    if (h.empty) {
        nh.first = nh.retained = meta->number;
        err = meta_put_u64(&sb.kv, CANTOR_META_FIRST, nh.first);
    }
    if (!err && s->retention) {
        uint64_t keep_from = meta->number + 1 > s->retention ? meta->number + 1 - s->retention : 0;

        while (!err && nh.retained < keep_from && pruned < PRUNE_PER_BLOCK) {
            err = prune_block(s, &sb.kv, nh.retained, &nh.entries);
            nh.retained++;
            pruned++;
        }
    }
    if (!err)
        err = meta_put_u64(&sb.kv, CANTOR_META_RETAINED, nh.retained);
    if (!err)
        err = meta_put_u64(&sb.kv, CANTOR_META_ENTRIES, nh.entries);
    if (!err) {
        cantor_be64_put(headv, nh.head);
        memcpy(headv + 8, nh.hash, 32);
        err = cantor_kv_batch_put(&sb.kv, CANTOR_CF_META, CANTOR_META_HEAD, strlen(CANTOR_META_HEAD), headv,
                                  40);
    }
    if (!err && fn)
        err = fn(&sb, meta->number, ctx);
    if (!err)
        err = s->kv->ops->write(s->kv, &sb.kv, s->sync);
    if (!err)
        publish(s, &nh);
out:
    pthread_mutex_unlock(&s->write_lock);
    cantor_buf_release(&enc);
    cantor_buf_release(&undo);
    cantor_kv_batch_release(&sb.kv);
    return err;
}

enum cantor_err cantor_store_apply_block(struct cantor_store *s, const struct cantor_block_meta *meta,
                                         const struct cantor_delta *delta, const uint8_t *chunk,
                                         size_t chunk_len)
{
    return cantor_store_apply_block_ex(s, meta, delta, chunk, chunk_len, NULL, NULL);
}

enum cantor_err cantor_store_rollback_ex(struct cantor_store *s, uint64_t *ret_new_head, bool *ret_empty,
                                         cantor_store_batch_fn fn, void *ctx)
{
    struct cantor_store_batch sb = {.s = s};
    struct head_snap h, nh;
    uint8_t bk[8], key[CANTOR_KEY_HASH_LEN], hk[CANTOR_KEY_HISTORY_LEN], *u = NULL;
    size_t len, i, cnt;
    enum cantor_err err;

    if (!s)
        return CANTOR_ERR_INVALID;
    cantor_kv_batch_init(&sb.kv);
    pthread_mutex_lock(&s->write_lock);
    snap(s, &h);
    if (h.empty || h.head < h.retained) {
        err = CANTOR_ERR_NOT_FOUND;
        goto out;
    }
    cantor_be64_put(bk, h.head);
    err = kv_get(s, CANTOR_CF_UNDO, bk, 8, &u, &len);
    if (err)
        goto out;
    if (len < CANTOR_UNDO_FIXED || u[0] != CANTOR_UNDO_VERSION) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    cnt = cantor_be32_get(u + 42);
    if (len != CANTOR_UNDO_FIXED + cnt * CANTOR_UNDO_REC) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    for (i = 0; i < cnt && !err; i++) {
        const uint8_t *r = u + CANTOR_UNDO_FIXED + i * CANTOR_UNDO_REC;

        if (r[CANTOR_KEY_STATE_LEN])
            err = cantor_kv_batch_put(&sb.kv, CANTOR_CF_STATE, r, CANTOR_KEY_STATE_LEN,
                                      r + CANTOR_KEY_STATE_LEN + 1, 32);
        else
            err = cantor_kv_batch_del(&sb.kv, CANTOR_CF_STATE, r, CANTOR_KEY_STATE_LEN);
        cantor_key_history(r, h.head, hk);
        if (!err)
            err = cantor_kv_batch_del(&sb.kv, CANTOR_CF_HISTORY, hk, sizeof(hk));
    }
    cantor_key_header(h.head, key);
    if (!err)
        err = cantor_kv_batch_del(&sb.kv, CANTOR_CF_HEADERS, key, CANTOR_KEY_HEADER_LEN);
    cantor_key_hash(h.hash, key);
    if (!err)
        err = cantor_kv_batch_del(&sb.kv, CANTOR_CF_HEADERS, key, CANTOR_KEY_HASH_LEN);
    if (!err)
        err = cantor_kv_batch_del(&sb.kv, CANTOR_CF_DELTAS, bk, 8);
    if (!err)
        err = cantor_kv_batch_del(&sb.kv, CANTOR_CF_CHUNKS, bk, 8);
    if (!err)
        err = cantor_kv_batch_del(&sb.kv, CANTOR_CF_UNDO, bk, 8);
    if (err)
        goto out;

    nh = h;
    nh.entries = h.entries - (cnt < h.entries ? cnt : h.entries);
    if (u[1]) {
        memset(&nh, 0, sizeof(nh));
        nh.empty = true;
        err = meta_del(&sb.kv, CANTOR_META_HEAD);
        if (!err)
            err = meta_del(&sb.kv, CANTOR_META_FIRST);
        if (!err)
            err = meta_del(&sb.kv, CANTOR_META_RETAINED);
        if (!err)
            err = meta_del(&sb.kv, CANTOR_META_ENTRIES);
    } else {
        uint8_t headv[40];

        nh.head = cantor_be64_get(u + 2);
        memcpy(nh.hash, u + 10, 32);
        memcpy(headv, u + 2, 40);
        err = cantor_kv_batch_put(&sb.kv, CANTOR_CF_META, CANTOR_META_HEAD, strlen(CANTOR_META_HEAD), headv,
                                  40);
        if (!err)
            err = meta_put_u64(&sb.kv, CANTOR_META_ENTRIES, nh.entries);
    }
    if (!err && fn)
        err = fn(&sb, h.head, ctx);
    if (!err)
        err = s->kv->ops->write(s->kv, &sb.kv, s->sync);
    if (err)
        goto out;
    publish(s, &nh);
    if (ret_new_head)
        *ret_new_head = nh.empty ? 0 : nh.head;
    if (ret_empty)
        *ret_empty = nh.empty;
out:
    pthread_mutex_unlock(&s->write_lock);
    free(u);
    cantor_kv_batch_release(&sb.kv);
    return err;
}

enum cantor_err cantor_store_rollback(struct cantor_store *s, uint64_t *ret_new_head, bool *ret_empty)
{
    return cantor_store_rollback_ex(s, ret_new_head, ret_empty, NULL, NULL);
}

enum cantor_err cantor_store_head(struct cantor_store *s, uint64_t *ret_number, uint8_t ret_hash[32],
                                  bool *ret_empty)
{
    struct head_snap h;

    if (!s)
        return CANTOR_ERR_INVALID;
    snap(s, &h);
    if (ret_empty)
        *ret_empty = h.empty;
    if (ret_number)
        *ret_number = h.empty ? 0 : h.head;
    if (ret_hash)
        memcpy(ret_hash, h.hash, 32);
    return CANTOR_OK;
}

enum cantor_err cantor_store_get_header(struct cantor_store *s, uint64_t number,
                                        struct cantor_block_meta *ret_meta)
{
    uint8_t key[CANTOR_KEY_HEADER_LEN], *rec = NULL;
    size_t len;
    enum cantor_err err;

    if (!s || !ret_meta)
        return CANTOR_ERR_INVALID;
    cantor_key_header(number, key);
    err = kv_get(s, CANTOR_CF_HEADERS, key, sizeof(key), &rec, &len);
    if (err)
        return err;
    if (len < CANTOR_HEADER_REC_FIXED) {
        free(rec);
        return CANTOR_ERR_CORRUPT;
    }
    memset(ret_meta, 0, sizeof(*ret_meta));
    ret_meta->number = number;
    memcpy(ret_meta->hash, rec, 32);
    memcpy(ret_meta->parent_hash, rec + 32, 32);
    memcpy(ret_meta->state_root, rec + 64, 32);
    ret_meta->timestamp = cantor_be64_get(rec + 96);
    ret_meta->header_rlp_len = len - CANTOR_HEADER_REC_FIXED;
    if (ret_meta->header_rlp_len) {
        /* Reuse the record's allocation: move the RLP to its front. */
        memmove(rec, rec + CANTOR_HEADER_REC_FIXED, ret_meta->header_rlp_len);
        ret_meta->header_rlp = rec;
    } else {
        free(rec);
    }
    return CANTOR_OK;
}

enum cantor_err cantor_store_get_block_hash(struct cantor_store *s, uint64_t number, uint8_t ret_hash[32])
{
    struct cantor_block_meta m;
    enum cantor_err err = cantor_store_get_header(s, number, &m);

    if (err)
        return err;
    memcpy(ret_hash, m.hash, 32);
    cantor_block_meta_release(&m);
    return CANTOR_OK;
}

enum cantor_err cantor_store_find_block_by_hash(struct cantor_store *s, const uint8_t hash[32],
                                                uint64_t *ret_number)
{
    uint8_t key[CANTOR_KEY_HASH_LEN], *v = NULL;
    size_t len;
    enum cantor_err err;

    if (!s || !hash || !ret_number)
        return CANTOR_ERR_INVALID;
    cantor_key_hash(hash, key);
    err = kv_get(s, CANTOR_CF_HEADERS, key, sizeof(key), &v, &len);
    if (err)
        return err;
    if (len != 8)
        err = CANTOR_ERR_CORRUPT;
    else
        *ret_number = cantor_be64_get(v);
    free(v);
    return err;
}

/* NOT_FOUND outside [retained, head]. */
static enum cantor_err check_retained(struct cantor_store *s, uint64_t number)
{
    struct head_snap h;

    snap(s, &h);
    if (h.empty || number > h.head || number < h.retained)
        return CANTOR_ERR_NOT_FOUND;
    return CANTOR_OK;
}

enum cantor_err cantor_store_get_delta_bytes(struct cantor_store *s, uint64_t number, uint8_t **ret_buf,
                                             size_t *ret_len)
{
    uint8_t bk[8];
    enum cantor_err err;

    if (!s || !ret_buf || !ret_len)
        return CANTOR_ERR_INVALID;
    err = check_retained(s, number);
    if (err)
        return err;
    cantor_be64_put(bk, number);
    return kv_get(s, CANTOR_CF_DELTAS, bk, 8, ret_buf, ret_len);
}

enum cantor_err cantor_store_get_delta(struct cantor_store *s, uint64_t number,
                                       struct cantor_delta **ret_delta)
{
    uint8_t *buf = NULL;
    size_t len;
    enum cantor_err err;

    if (!ret_delta)
        return CANTOR_ERR_INVALID;
    err = cantor_store_get_delta_bytes(s, number, &buf, &len);
    if (err)
        return err;
    err = cantor_delta_decode(buf, len, ret_delta);
    if (err == CANTOR_ERR_NOMEM || err == CANTOR_ERR_TOO_LARGE)
        ;
    else if (err)
        err = CANTOR_ERR_CORRUPT;
    free(buf);
    return err;
}

static bool same_key(const uint8_t *k, size_t klen, const uint8_t sk[CANTOR_KEY_STATE_LEN])
{
    return klen == CANTOR_KEY_HISTORY_LEN && memcmp(k, sk, CANTOR_KEY_STATE_LEN) == 0;
}

enum cantor_err cantor_store_latest(struct cantor_store *s, const uint8_t addr[20], uint8_t kind,
                                    const uint8_t *slot, uint8_t ret_val[32], bool *ret_known)
{
    uint8_t sk[CANTOR_KEY_STATE_LEN], *v = NULL;
    size_t len;
    enum cantor_err err;

    if (!s || !ret_val || !ret_known)
        return CANTOR_ERR_INVALID;
    err = cantor_key_state(addr, kind, slot, sk);
    if (err)
        return err;
    err = kv_get(s, CANTOR_CF_STATE, sk, sizeof(sk), &v, &len);
    if (err == CANTOR_ERR_NOT_FOUND) {
        *ret_known = false;
        memset(ret_val, 0, 32);
        return CANTOR_OK;
    }
    if (err)
        return err;
    if (len != 32) {
        free(v);
        return CANTOR_ERR_CORRUPT;
    }
    memcpy(ret_val, v, 32);
    *ret_known = true;
    free(v);
    return CANTOR_OK;
}

/*
 * Rules 1-3 of cantor_store_get_value for one key, on the caller's history iterator (h already checked
 * against block).
 */
static enum cantor_err value_at(struct cantor_store *s, struct cantor_kv_iter *it,
                                const uint8_t sk[CANTOR_KEY_STATE_LEN], const uint8_t addr[20], uint8_t kind,
                                const uint8_t *slot, uint64_t block, uint8_t ret_val[32], bool *ret_known)
{
    uint8_t hk[CANTOR_KEY_HISTORY_LEN];
    const uint8_t *k, *v;
    size_t klen, vlen;
    enum cantor_err err;

    *ret_known = false;
    memset(ret_val, 0, 32);
    /* 1. the last change at or before the block: its new value */
    cantor_key_history(sk, block, hk);
    s->kv->ops->iter_seek_for_prev(it, hk, sizeof(hk));
    if (s->kv->ops->iter_valid(it)) {
        k = s->kv->ops->iter_key(it, &klen);
        if (same_key(k, klen, sk)) {
            v = s->kv->ops->iter_value(it, &vlen);
            if (vlen != 64)
                return CANTOR_ERR_CORRUPT;
            memcpy(ret_val, v + 32, 32);
            *ret_known = true;
            return CANTOR_OK;
        }
    }
    err = s->kv->ops->iter_status(it);
    if (err)
        return err;
    /* 2. the first change after the block: its old value held until then */
    cantor_key_history(sk, block + 1, hk);
    s->kv->ops->iter_seek(it, hk, sizeof(hk));
    if (s->kv->ops->iter_valid(it)) {
        k = s->kv->ops->iter_key(it, &klen);
        if (same_key(k, klen, sk)) {
            v = s->kv->ops->iter_value(it, &vlen);
            if (vlen != 64)
                return CANTOR_ERR_CORRUPT;
            memcpy(ret_val, v, 32);
            *ret_known = true;
            return CANTOR_OK;
        }
    }
    err = s->kv->ops->iter_status(it);
    if (err)
        return err;
    /* 3. every change was pruned: the value has been the latest one since before the retained range */
    return cantor_store_latest(s, addr, kind, slot, ret_val, ret_known);
}

/* The block range checks shared by the value readers: CANTOR_OK to look, or *ret_before_first. */
static enum cantor_err value_range(struct cantor_store *s, uint64_t block, bool *ret_before_first)
{
    struct head_snap h;

    snap(s, &h);
    *ret_before_first = false;
    if (h.empty || block > h.head)
        return CANTOR_ERR_NOT_FOUND;
    if (block < h.first) {
        *ret_before_first = true;
        return CANTOR_OK;
    }
    if (block < h.retained)
        return CANTOR_ERR_NOT_FOUND;
    return CANTOR_OK;
}

#define READ_VALUES_MAX 3

/*
 * n (<= READ_VALUES_MAX) fields of one address at block, through one iterator (one view of the
 * store). A bad key is CANTOR_ERR_INVALID before any answer about the block range.
 */
static enum cantor_err read_values(struct cantor_store *s, const uint8_t addr[20], size_t n,
                                   const uint8_t *kinds, const uint8_t *slot, uint64_t block,
                                   uint8_t (*ret_vals)[32], bool *ret_known)
{
    uint8_t sk[READ_VALUES_MAX][CANTOR_KEY_STATE_LEN];
    struct cantor_kv_iter *it = NULL;
    bool before;
    enum cantor_err err;

    if (n > READ_VALUES_MAX)
        return CANTOR_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        err = cantor_key_state(addr, kinds[i], slot, sk[i]);
        if (err)
            return err;
    }
    memset(ret_vals, 0, n * 32);
    memset(ret_known, 0, n * sizeof(bool));
    err = value_range(s, block, &before);
    if (err || before)
        return err;
    err = s->kv->ops->iter_new(s->kv, CANTOR_CF_HISTORY, &it);
    if (err)
        return err;
    for (size_t i = 0; i < n && !err; i++)
        err = value_at(s, it, sk[i], addr, kinds[i], slot, block, ret_vals[i], &ret_known[i]);
    s->kv->ops->iter_free(it);
    return err;
}

enum cantor_err cantor_store_get_value(struct cantor_store *s, const uint8_t addr[20], uint8_t kind,
                                       const uint8_t *slot, uint64_t block, uint8_t ret_val[32],
                                       bool *ret_known)
{
    if (!s || !ret_val || !ret_known)
        return CANTOR_ERR_INVALID;
    return read_values(s, addr, 1, &kind, slot, block, (uint8_t(*)[32])ret_val, ret_known);
}

enum cantor_err cantor_store_get_account(struct cantor_store *s, const uint8_t addr[20], uint64_t block,
                                         uint8_t ret_vals[3][32], bool ret_known[3])
{
    static const uint8_t kinds[3] = {CANTOR_KIND_BALANCE, CANTOR_KIND_NONCE, CANTOR_KIND_CODE};

    if (!s || !addr || !ret_vals || !ret_known)
        return CANTOR_ERR_INVALID;
    return read_values(s, addr, 3, kinds, NULL, block, ret_vals, ret_known);
}

enum cantor_err cantor_store_history(struct cantor_store *s, const uint8_t addr[20], uint8_t kind,
                                     const uint8_t *slot, uint64_t from_block, size_t limit,
                                     uint64_t *ret_blocks, size_t *ret_n, uint64_t *ret_next)
{
    struct cantor_kv_iter *it = NULL;
    uint8_t sk[CANTOR_KEY_STATE_LEN], hk[CANTOR_KEY_HISTORY_LEN];
    const uint8_t *k;
    size_t klen, n = 0;
    enum cantor_err err;

    if (!s || !ret_n || !ret_next || (limit && !ret_blocks))
        return CANTOR_ERR_INVALID;
    if (limit == 0 || limit > HISTORY_MAX_LIMIT)
        return CANTOR_ERR_TOO_LARGE;
    err = cantor_key_state(addr, kind, slot, sk);
    if (err)
        return err;
    err = s->kv->ops->iter_new(s->kv, CANTOR_CF_HISTORY, &it);
    if (err)
        return err;
    *ret_next = CANTOR_STORE_END;
    cantor_key_history(sk, from_block, hk);
    for (s->kv->ops->iter_seek(it, hk, sizeof(hk)); s->kv->ops->iter_valid(it); s->kv->ops->iter_next(it)) {
        k = s->kv->ops->iter_key(it, &klen);
        if (!same_key(k, klen, sk))
            break;
        if (n == limit) {
            *ret_next = cantor_be64_get(k + CANTOR_KEY_STATE_LEN);
            break;
        }
        ret_blocks[n++] = cantor_be64_get(k + CANTOR_KEY_STATE_LEN);
    }
    err = s->kv->ops->iter_status(it);
    s->kv->ops->iter_free(it);
    *ret_n = n;
    return err;
}

enum cantor_err cantor_store_get_code(struct cantor_store *s, const uint8_t hash[32], uint8_t **ret_code,
                                      size_t *ret_len)
{
    if (!s || !hash || !ret_code || !ret_len)
        return CANTOR_ERR_INVALID;
    return kv_get(s, CANTOR_CF_CODES, hash, 32, ret_code, ret_len);
}

enum cantor_err cantor_store_get_code_size(struct cantor_store *s, const uint8_t hash[32], size_t *ret_len)
{
    struct code_size_slot *slot;
    uint8_t *code = NULL;
    size_t len = 0;
    bool hit = false;
    enum cantor_err err;

    if (!s || !hash || !ret_len)
        return CANTOR_ERR_INVALID;
    /* hash is a keccak output: any 2 bytes of it index uniformly */
    slot = &s->code_size[(((size_t)hash[0] << 8) | hash[1]) % CODE_SIZE_SLOTS];
    pthread_mutex_lock(&s->code_size_lock);
    if (slot->used && memcmp(slot->hash, hash, 32) == 0) {
        len = slot->len;
        hit = true;
    }
    pthread_mutex_unlock(&s->code_size_lock);
    if (!hit) {
        err = kv_get(s, CANTOR_CF_CODES, hash, 32, &code, &len);
        free(code);
        if (err)
            return err;
        pthread_mutex_lock(&s->code_size_lock);
        slot->used = true;
        memcpy(slot->hash, hash, 32);
        slot->len = len;
        pthread_mutex_unlock(&s->code_size_lock);
    }
    *ret_len = len;
    return CANTOR_OK;
}

enum cantor_err cantor_store_put_chunk(struct cantor_store *s, uint64_t number, const uint8_t *chunk,
                                       size_t len)
{
    struct cantor_kv_batch b;
    uint8_t bk[8];
    enum cantor_err err;

    if (!s || !chunk || !len)
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_STORE_MAX_CHUNK)
        return CANTOR_ERR_TOO_LARGE;
    err = check_retained(s, number);
    if (err == CANTOR_ERR_NOT_FOUND) {
        /* a chunk may be re-encoded for any followed block, not only retained ones */
        struct head_snap h;

        snap(s, &h);
        err = !h.empty && number >= h.first && number <= h.head ? CANTOR_OK : CANTOR_ERR_NOT_FOUND;
    }
    if (err)
        return err;
    cantor_kv_batch_init(&b);
    cantor_be64_put(bk, number);
    err = cantor_kv_batch_put(&b, CANTOR_CF_CHUNKS, bk, 8, chunk, len);
    if (!err) {
        pthread_mutex_lock(&s->write_lock);
        err = s->kv->ops->write(s->kv, &b, s->sync);
        pthread_mutex_unlock(&s->write_lock);
    }
    cantor_kv_batch_release(&b);
    return err;
}

enum cantor_err cantor_store_get_chunk(struct cantor_store *s, uint64_t number, uint8_t **ret_chunk,
                                       size_t *ret_len)
{
    uint8_t bk[8];

    if (!s || !ret_chunk || !ret_len)
        return CANTOR_ERR_INVALID;
    cantor_be64_put(bk, number);
    return kv_get(s, CANTOR_CF_CHUNKS, bk, 8, ret_chunk, ret_len);
}

enum cantor_err cantor_store_get_chunk_at_or_before(struct cantor_store *s, uint64_t number,
                                                    uint64_t *ret_first, uint8_t **ret_chunk, size_t *ret_len)
{
    struct cantor_kv_iter *it = NULL;
    const uint8_t *k, *v;
    size_t klen = 0, vlen = 0;
    uint8_t bk[8], *copy;
    enum cantor_err err;

    if (!s || !ret_first || !ret_chunk || !ret_len)
        return CANTOR_ERR_INVALID;
    err = s->kv->ops->iter_new(s->kv, CANTOR_CF_CHUNKS, &it);
    if (err)
        return err;
    cantor_be64_put(bk, number);
    s->kv->ops->iter_seek_for_prev(it, bk, 8);
    if (!s->kv->ops->iter_valid(it)) {
        err = s->kv->ops->iter_status(it);
        err = err ? err : CANTOR_ERR_NOT_FOUND;
        goto out;
    }
    k = s->kv->ops->iter_key(it, &klen);
    v = s->kv->ops->iter_value(it, &vlen);
    if (klen != 8) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    copy = malloc(vlen ? vlen : 1);
    if (!copy) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    memcpy(copy, v, vlen);
    *ret_first = cantor_be64_get(k);
    *ret_chunk = copy;
    *ret_len = vlen;
out:
    s->kv->ops->iter_free(it);
    return err;
}

static enum cantor_err user_key(const char *key, char *out, size_t out_len, size_t *ret_len)
{
    size_t n;

    if (!key || !*key)
        return CANTOR_ERR_INVALID;
    n = strlen(key);
    if (n > CANTOR_STORE_MAX_META_KEY)
        return CANTOR_ERR_TOO_LARGE;
    *ret_len = (size_t)snprintf(out, out_len, "%s%s", CANTOR_META_USER_PREFIX, key);
    return CANTOR_OK;
}

enum cantor_err cantor_store_put_meta(struct cantor_store *s, const char *key, const void *val, size_t len)
{
    char k[CANTOR_STORE_MAX_META_KEY + 8];
    struct cantor_kv_batch b;
    size_t klen;
    enum cantor_err err;

    if (!s || (len && !val))
        return CANTOR_ERR_INVALID;
    err = user_key(key, k, sizeof(k), &klen);
    if (err)
        return err;
    cantor_kv_batch_init(&b);
    err = cantor_kv_batch_put(&b, CANTOR_CF_META, k, klen, val, len);
    if (!err) {
        pthread_mutex_lock(&s->write_lock);
        err = s->kv->ops->write(s->kv, &b, s->sync);
        pthread_mutex_unlock(&s->write_lock);
    }
    cantor_kv_batch_release(&b);
    return err;
}

enum cantor_err cantor_store_get_meta(struct cantor_store *s, const char *key, uint8_t **ret_val,
                                      size_t *ret_len)
{
    char k[CANTOR_STORE_MAX_META_KEY + 8];
    size_t klen;
    enum cantor_err err;

    if (!s || !ret_val || !ret_len)
        return CANTOR_ERR_INVALID;
    err = user_key(key, k, sizeof(k), &klen);
    if (err)
        return err;
    return kv_get(s, CANTOR_CF_META, k, klen, ret_val, ret_len);
}

enum cantor_err cantor_store_get_raw(struct cantor_store *s, enum cantor_store_cf cf, const void *key,
                                     size_t klen, uint8_t **ret_val, size_t *ret_len)
{
    if (!s || !key || !klen || !ret_val || !ret_len || (unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    if (klen > CANTOR_KV_MAX_KEY)
        return CANTOR_ERR_TOO_LARGE;
    return kv_get(s, cf, key, klen, ret_val, ret_len);
}

enum cantor_err cantor_store_scan(struct cantor_store *s, enum cantor_store_cf cf, const void *prefix,
                                  size_t plen, size_t limit, cantor_store_scan_fn fn, void *ctx)
{
    struct cantor_kv_iter *it = NULL;
    const uint8_t *k, *v;
    size_t klen, vlen, n = 0;
    enum cantor_err err;

    if (!s || !fn || (plen && !prefix) || (unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    err = s->kv->ops->iter_new(s->kv, cf, &it);
    if (err)
        return err;
    if (plen)
        s->kv->ops->iter_seek(it, prefix, plen);
    else
        s->kv->ops->iter_seek(it, (const uint8_t *)"", 0);
    for (; s->kv->ops->iter_valid(it) && n < limit; s->kv->ops->iter_next(it), n++) {
        k = s->kv->ops->iter_key(it, &klen);
        if (klen < plen || (plen && memcmp(k, prefix, plen) != 0))
            break;
        v = s->kv->ops->iter_value(it, &vlen);
        err = fn(k, klen, v, vlen, ctx);
        if (err)
            break;
    }
    if (!err)
        err = s->kv->ops->iter_status(it);
    s->kv->ops->iter_free(it);
    return err;
}

enum cantor_err cantor_store_checkpoint(struct cantor_store *s, const char *dir)
{
    if (!s || !dir || !*dir)
        return CANTOR_ERR_INVALID;
    return s->kv->ops->checkpoint(s->kv, dir);
}

enum cantor_err cantor_store_flush(struct cantor_store *s)
{
    if (!s)
        return CANTOR_ERR_INVALID;
    return s->kv->ops->flush(s->kv);
}

enum cantor_err cantor_store_stats(struct cantor_store *s, struct cantor_store_stats *ret_stats)
{
    struct head_snap h;
    enum cantor_err err;
    size_t i;

    if (!s || !ret_stats)
        return CANTOR_ERR_INVALID;
    memset(ret_stats, 0, sizeof(*ret_stats));
    for (i = 0; i < CANTOR_CF__COUNT; i++) {
        err = s->kv->ops->approx_size(s->kv, (enum cantor_store_cf)i, &ret_stats->cf_bytes[i]);
        if (err)
            return err;
        ret_stats->bytes += ret_stats->cf_bytes[i];
    }
    snap(s, &h);
    if (!h.empty) {
        ret_stats->head = h.head;
        ret_stats->first_followed = h.first;
        ret_stats->first_retained = h.retained;
        ret_stats->blocks = h.head >= h.retained ? h.head - h.retained + 1 : 0;
        ret_stats->entries = h.entries;
    }
    return CANTOR_OK;
}
