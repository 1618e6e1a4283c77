/*
 * kv.c - the backend-independent half of kv.h: column family names and the write batch.
 *
 * A batch is one flat cantor_buf of records so building it costs one growing allocation; the
 * backend walks it with cantor_kv_batch_next(). The batch owns its buffer (cantor_kv_batch_release).
 */
#include "storage/kv.h"

#include <string.h>

static const char *const cf_names[CANTOR_CF__COUNT] = {
    [CANTOR_CF_META] = "meta",
    [CANTOR_CF_HEADERS] = "headers",
    [CANTOR_CF_DELTAS] = "deltas",
    [CANTOR_CF_CHUNKS] = "chunks",
    [CANTOR_CF_STATE] = "state",
    [CANTOR_CF_HISTORY] = "history",
    [CANTOR_CF_ROOTS] = "roots",
    [CANTOR_CF_UNDO] = "undo",
    [CANTOR_CF_CODES] = "codes",
    [CANTOR_CF_PATTERNS] = "patterns",
    [CANTOR_CF_MODELS] = "models",
    [CANTOR_CF_DATASETS] = "datasets",
    [CANTOR_CF_CHALLENGES] = "challenges",
};

const char *cantor_store_cf_name(enum cantor_store_cf cf)
{
    if ((unsigned)cf >= CANTOR_CF__COUNT)
        return "?";
    return cf_names[cf];
}

void cantor_kv_batch_init(struct cantor_kv_batch *b)
{
    cantor_buf_init(&b->ops, CANTOR_KV_MAX_BATCH);
    b->n_ops = 0;
}

void cantor_kv_batch_release(struct cantor_kv_batch *b)
{
    if (!b)
        return;
    cantor_buf_release(&b->ops);
    b->n_ops = 0;
}

static enum cantor_err batch_add(struct cantor_kv_batch *b, enum cantor_kv_op op, enum cantor_store_cf cf,
                                 const void *key, size_t klen, const void *val, size_t vlen)
{
    uint8_t hdr[10];
    uint32_t k32 = (uint32_t)klen, v32 = (uint32_t)vlen;
    enum cantor_err err;

    if ((unsigned)cf >= CANTOR_CF__COUNT || klen == 0 || klen > CANTOR_KV_MAX_KEY ||
        vlen > CANTOR_KV_MAX_VALUE)
        return klen > CANTOR_KV_MAX_KEY || vlen > CANTOR_KV_MAX_VALUE ? CANTOR_ERR_TOO_LARGE
                                                                      : CANTOR_ERR_INVALID;
    hdr[0] = (uint8_t)op;
    hdr[1] = (uint8_t)cf;
    memcpy(hdr + 2, &k32, 4);
    memcpy(hdr + 6, &v32, 4);
    err = cantor_buf_reserve(&b->ops, sizeof(hdr) + klen + vlen);
    if (err)
        return err;
    /* Cannot fail after the reserve: the buffer only ever grows within its max. */
    (void)cantor_buf_append(&b->ops, hdr, sizeof(hdr));
    (void)cantor_buf_append(&b->ops, key, klen);
    if (vlen)
        (void)cantor_buf_append(&b->ops, val, vlen);
    b->n_ops++;
    return CANTOR_OK;
}

enum cantor_err cantor_kv_batch_put(struct cantor_kv_batch *b, enum cantor_store_cf cf, const void *key,
                                    size_t klen, const void *val, size_t vlen)
{
    return batch_add(b, CANTOR_KV_PUT, cf, key, klen, val, vlen);
}

enum cantor_err cantor_kv_batch_del(struct cantor_kv_batch *b, enum cantor_store_cf cf, const void *key,
                                    size_t klen)
{
    return batch_add(b, CANTOR_KV_DEL, cf, key, klen, NULL, 0);
}

bool cantor_kv_batch_next(const struct cantor_kv_batch *b, size_t *pos, struct cantor_kv_rec *ret_rec)
{
    const uint8_t *p;
    uint32_t k32, v32;

    if (*pos + 10 > b->ops.len)
        return false;
    p = b->ops.data + *pos;
    memcpy(&k32, p + 2, 4);
    memcpy(&v32, p + 6, 4);
    if (*pos + 10 + (size_t)k32 + v32 > b->ops.len)
        return false;
    ret_rec->op = (enum cantor_kv_op)p[0];
    ret_rec->cf = (enum cantor_store_cf)p[1];
    ret_rec->key = p + 10;
    ret_rec->klen = k32;
    ret_rec->val = p + 10 + k32;
    ret_rec->vlen = v32;
    *pos += 10 + (size_t)k32 + v32;
    return true;
}

void cantor_kv_close(struct cantor_kv *kv)
{
    if (kv)
        kv->ops->close(kv);
}
