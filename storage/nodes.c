/*
 * nodes.c - the CANTOR_CF_ROOTS rows of state tree nodes, MMR nodes, per-block roots and checkpoints
 * (see nodes.h). Buffers from the store are freed here; callers get plain structs.
 */
#include "nodes.h"

#include <stdlib.h>
#include <string.h>

#include "core/u256.h"
#include "storage/keys.h"

static void key_num(uint8_t tag, uint64_t v, uint8_t out[CANTOR_NODES_KEY_NUM_LEN])
{
    out[0] = tag;
    cantor_be64_put(out + 1, v);
}

void cantor_nodes_key_smt(const uint8_t hash[CANTOR_HASH_LEN], uint8_t out[CANTOR_NODES_KEY_SMT_LEN])
{
    out[0] = 'n';
    memcpy(out + 1, hash, CANTOR_HASH_LEN);
}

void cantor_nodes_key_mmr(uint64_t pos, uint8_t out[CANTOR_NODES_KEY_NUM_LEN])
{
    key_num('m', pos, out);
}

void cantor_nodes_key_roots(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN])
{
    key_num('r', block, out);
}

void cantor_nodes_key_checkpoint(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN])
{
    key_num('c', ~block, out);
}

void cantor_nodes_key_obs(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN])
{
    key_num('o', block, out);
}

enum cantor_err cantor_obs_rec_encode(const struct cantor_delta *obs, struct cantor_buf *out)
{
    uint8_t hdr[CANTOR_OBS_REC_HEADER];
    enum cantor_err err;

    if (obs->n_entries > CANTOR_OBS_REC_MAX_ENTRIES)
        return CANTOR_ERR_TOO_LARGE;
    hdr[0] = CANTOR_OBS_REC_VERSION;
    cantor_be32_put(hdr + 1, (uint32_t)obs->n_entries);
    err = cantor_buf_append(out, hdr, sizeof(hdr));
    for (size_t i = 0; i < obs->n_entries && !err; i++) {
        const struct cantor_delta_entry *e = &obs->entries[i];

        if (cantor_u256_is_zero(e->new_val) || (i && cantor_delta_entry_cmp(&obs->entries[i - 1], e) >= 0))
            return CANTOR_ERR_INVALID;
        err = cantor_buf_append(out, e->addr, CANTOR_ADDR_LEN);
        if (!err)
            err = cantor_buf_append(out, &e->kind, 1);
        if (!err)
            err = cantor_buf_append(out, e->slot, CANTOR_WORD_LEN);
        if (!err)
            err = cantor_buf_append(out, e->new_val, CANTOR_WORD_LEN);
    }
    return err;
}

enum cantor_err cantor_obs_rec_decode(const uint8_t *buf, size_t len, uint64_t block,
                                      struct cantor_delta **ret_obs)
{
    static const uint8_t zero[CANTOR_WORD_LEN];
    struct cantor_delta *d = NULL;
    size_t count;
    enum cantor_err err;

    if (len < CANTOR_OBS_REC_HEADER || buf[0] != CANTOR_OBS_REC_VERSION)
        return CANTOR_ERR_CORRUPT;
    count = cantor_be32_get(buf + 1);
    if (count > CANTOR_OBS_REC_MAX_ENTRIES || len != CANTOR_OBS_REC_HEADER + count * CANTOR_OBS_REC_ENTRY)
        return CANTOR_ERR_CORRUPT;
    err = cantor_delta_new(block, &d);
    for (size_t i = 0; i < count && !err; i++) {
        const uint8_t *p = buf + CANTOR_OBS_REC_HEADER + i * CANTOR_OBS_REC_ENTRY;
        struct cantor_delta_entry e = {0};

        memcpy(e.addr, p, CANTOR_ADDR_LEN);
        e.kind = p[CANTOR_ADDR_LEN];
        memcpy(e.slot, p + CANTOR_ADDR_LEN + 1, CANTOR_WORD_LEN);
        memcpy(e.new_val, p + CANTOR_ADDR_LEN + 1 + CANTOR_WORD_LEN, CANTOR_WORD_LEN);
        if (e.kind > CANTOR_KIND_STORAGE || cantor_u256_is_zero(e.new_val) ||
            (e.kind != CANTOR_KIND_STORAGE && memcmp(e.slot, zero, CANTOR_WORD_LEN) != 0) ||
            (i && cantor_delta_entry_cmp(&d->entries[i - 1], &e) >= 0))
            err = CANTOR_ERR_CORRUPT;
        else
            err = cantor_delta_add(d, &e);
    }
    if (err) {
        cantor_delta_free(d);
        return err == CANTOR_ERR_NOMEM ? err : CANTOR_ERR_CORRUPT;
    }
    *ret_obs = d;
    return CANTOR_OK;
}

static enum cantor_err get_obs(struct cantor_store *s, const uint8_t *key, size_t klen, uint64_t block,
                               struct cantor_delta **ret_obs)
{
    uint8_t *val = NULL;
    size_t len = 0;
    enum cantor_err err;

    err = cantor_store_get_raw(s, CANTOR_CF_ROOTS, key, klen, &val, &len);
    if (!err)
        err = cantor_obs_rec_decode(val, len, block, ret_obs);
    free(val);
    return err;
}

enum cantor_err cantor_nodes_get_obs(struct cantor_store *s, uint64_t n, struct cantor_delta **ret_obs)
{
    uint8_t key[CANTOR_NODES_KEY_NUM_LEN];

    cantor_nodes_key_obs(n, key);
    return get_obs(s, key, sizeof(key), n, ret_obs);
}

enum cantor_err cantor_nodes_get_pending_obs(struct cantor_store *s, struct cantor_delta **ret_obs)
{
    const uint8_t key = CANTOR_NODES_KEY_PENDING;

    return get_obs(s, &key, 1, 0, ret_obs);
}

void cantor_roots_rec_encode(const struct cantor_roots_rec *r, uint8_t out[CANTOR_ROOTS_REC_LEN])
{
    memcpy(out, r->block_hash, 32);
    memcpy(out + 32, r->delta_root, 32);
    memcpy(out + 64, r->state_root, 32);
    memcpy(out + 96, r->mmr_root, 32);
    cantor_be64_put(out + 128, r->leaf_count);
}

enum cantor_err cantor_roots_rec_decode(const uint8_t *buf, size_t len, struct cantor_roots_rec *ret_rec)
{
    if (len != CANTOR_ROOTS_REC_LEN)
        return CANTOR_ERR_CORRUPT;
    memcpy(ret_rec->block_hash, buf, 32);
    memcpy(ret_rec->delta_root, buf + 32, 32);
    memcpy(ret_rec->state_root, buf + 64, 32);
    memcpy(ret_rec->mmr_root, buf + 96, 32);
    ret_rec->leaf_count = cantor_be64_get(buf + 128);
    if (ret_rec->leaf_count == 0)
        return CANTOR_ERR_CORRUPT;
    return CANTOR_OK;
}

enum cantor_err cantor_nodes_get_roots(struct cantor_store *s, uint64_t n, struct cantor_roots_rec *ret_rec)
{
    uint8_t key[CANTOR_NODES_KEY_NUM_LEN], *val = NULL;
    size_t len = 0;
    enum cantor_err err;

    cantor_nodes_key_roots(n, key);
    err = cantor_store_get_raw(s, CANTOR_CF_ROOTS, key, sizeof(key), &val, &len);
    if (!err)
        err = cantor_roots_rec_decode(val, len, ret_rec);
    free(val);
    return err;
}

void cantor_checkpoint_rec_encode(const struct cantor_checkpoint *c,
                                  const struct cantor_checkpoint_sigs *sigs,
                                  uint8_t out[CANTOR_CHECKPOINT_REC_LEN])
{
    cantor_be64_put(out, c->chain_id);
    cantor_be64_put(out + 8, c->number);
    memcpy(out + 16, c->block_hash, 32);
    memcpy(out + 48, c->mmr_root, 32);
    memcpy(out + 80, sigs->ed25519, CANTOR_ED25519_SIG_LEN);
    memcpy(out + 80 + CANTOR_ED25519_SIG_LEN, sigs->secp256k1, CANTOR_SECP_SIG_LEN);
}

enum cantor_err cantor_checkpoint_rec_decode(const uint8_t *buf, size_t len, struct cantor_checkpoint *ret_cp,
                                             struct cantor_checkpoint_sigs *ret_sigs)
{
    if (len != CANTOR_CHECKPOINT_REC_LEN)
        return CANTOR_ERR_CORRUPT;
    ret_cp->chain_id = cantor_be64_get(buf);
    ret_cp->number = cantor_be64_get(buf + 8);
    memcpy(ret_cp->block_hash, buf + 16, 32);
    memcpy(ret_cp->mmr_root, buf + 48, 32);
    memcpy(ret_sigs->ed25519, buf + 80, CANTOR_ED25519_SIG_LEN);
    memcpy(ret_sigs->secp256k1, buf + 80 + CANTOR_ED25519_SIG_LEN, CANTOR_SECP_SIG_LEN);
    return CANTOR_OK;
}

struct newest {
    bool found;
    enum cantor_err err;
    struct cantor_checkpoint *cp;
    struct cantor_checkpoint_sigs *sigs;
};

static enum cantor_err newest_fn(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *ctx)
{
    struct newest *w = ctx;

    (void)key;
    (void)klen;
    w->found = true;
    w->err = cantor_checkpoint_rec_decode(val, vlen, w->cp, w->sigs);
    return CANTOR_ERR_STOPPED; /* the first one is the newest */
}

enum cantor_err cantor_nodes_get_checkpoint(struct cantor_store *s, uint64_t n,
                                            struct cantor_checkpoint *ret_cp,
                                            struct cantor_checkpoint_sigs *ret_sigs)
{
    uint8_t key[CANTOR_NODES_KEY_NUM_LEN], *val = NULL;
    size_t len = 0;
    enum cantor_err err;

    if (n == UINT64_MAX) {
        struct newest w = {false, CANTOR_OK, ret_cp, ret_sigs};

        err = cantor_store_scan(s, CANTOR_CF_ROOTS, "c", 1, 1, newest_fn, &w);
        if (err && err != CANTOR_ERR_STOPPED)
            return err;
        return w.found ? w.err : CANTOR_ERR_NOT_FOUND;
    }
    cantor_nodes_key_checkpoint(n, key);
    err = cantor_store_get_raw(s, CANTOR_CF_ROOTS, key, sizeof(key), &val, &len);
    if (!err)
        err = cantor_checkpoint_rec_decode(val, len, ret_cp, ret_sigs);
    free(val);
    return err;
}

static enum cantor_err smt_get(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                               uint8_t ret_node[CANTOR_SMT_NODE_LEN])
{
    struct cantor_nodes *n = ctx;
    uint8_t key[CANTOR_NODES_KEY_SMT_LEN], *val = NULL;
    size_t len = 0;
    enum cantor_err err;

    cantor_nodes_key_smt(hash, key);
    err = cantor_store_get_raw(n->store, CANTOR_CF_ROOTS, key, sizeof(key), &val, &len);
    if (!err && len != CANTOR_SMT_NODE_LEN)
        err = CANTOR_ERR_CORRUPT;
    if (!err)
        memcpy(ret_node, val, CANTOR_SMT_NODE_LEN);
    free(val);
    return err;
}

static enum cantor_err smt_put(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                               const uint8_t node[CANTOR_SMT_NODE_LEN])
{
    (void)ctx;
    (void)hash;
    (void)node;
    return CANTOR_ERR_UNSUPPORTED;
}

static enum cantor_err mmr_get(void *ctx, uint64_t pos, uint8_t ret_hash[CANTOR_HASH_LEN])
{
    struct cantor_nodes *n = ctx;
    uint8_t key[CANTOR_NODES_KEY_NUM_LEN], *val = NULL;
    size_t len = 0;
    enum cantor_err err;

    cantor_nodes_key_mmr(pos, key);
    err = cantor_store_get_raw(n->store, CANTOR_CF_ROOTS, key, sizeof(key), &val, &len);
    if (!err && len != CANTOR_HASH_LEN)
        err = CANTOR_ERR_CORRUPT;
    if (!err)
        memcpy(ret_hash, val, CANTOR_HASH_LEN);
    free(val);
    return err;
}

static enum cantor_err mmr_put(void *ctx, uint64_t pos, const uint8_t hash[CANTOR_HASH_LEN])
{
    (void)ctx;
    (void)pos;
    (void)hash;
    return CANTOR_ERR_UNSUPPORTED;
}

void cantor_nodes_init(struct cantor_nodes *n, struct cantor_store *s)
{
    n->store = s;
    n->smt.ctx = n;
    n->smt.get = smt_get;
    n->smt.put = smt_put;
    n->mmr.ctx = n;
    n->mmr.get = mmr_get;
    n->mmr.put = mmr_put;
}
