/*
 * schema.c - schema version check and the migration table (see schema.h).
 *
 * Version history:
 *   v0  pre-release layout: meta["cantor.head"] held only the head number (u64); the hash had to be
 *       read from the header record.
 *   v1  meta["cantor.head"] = number u64 | hash 32, so the head check of every block is one read.
 */
#include "storage/schema.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "storage/keys.h"
#include "storage/store.h"

typedef enum cantor_err (*migrate_fn)(struct cantor_kv *kv, struct cantor_kv_batch *b);

/* v0 -> v1: widen the head pointer with the head's hash from its header record. */
static enum cantor_err migrate_v0_v1(struct cantor_kv *kv, struct cantor_kv_batch *b)
{
    uint8_t *head = NULL, *rec = NULL, key[CANTOR_KEY_HEADER_LEN], v1[40];
    size_t head_len, rec_len;
    enum cantor_err err;

    err = kv->ops->get(kv, CANTOR_CF_META, (const uint8_t *)CANTOR_META_HEAD, strlen(CANTOR_META_HEAD), &head,
                       &head_len);
    if (err == CANTOR_ERR_NOT_FOUND)
        return CANTOR_OK; /* empty store: nothing to widen */
    if (err)
        return err;
    if (head_len != 8) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    cantor_key_header(cantor_be64_get(head), key);
    err = kv->ops->get(kv, CANTOR_CF_HEADERS, key, sizeof(key), &rec, &rec_len);
    if (err == CANTOR_ERR_NOT_FOUND)
        err = CANTOR_ERR_CORRUPT;
    if (err)
        goto out;
    if (rec_len < CANTOR_HEADER_REC_FIXED) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    memcpy(v1, head, 8);
    memcpy(v1 + 8, rec, 32);
    err = cantor_kv_batch_put(b, CANTOR_CF_META, CANTOR_META_HEAD, strlen(CANTOR_META_HEAD), v1, sizeof(v1));
out:
    free(head);
    free(rec);
    return err;
}

/* migrations[v] upgrades version v to v + 1. */
static const migrate_fn migrations[CANTOR_STORE_SCHEMA_VERSION] = {
    [0] = migrate_v0_v1,
};

static enum cantor_err put_version(struct cantor_kv_batch *b, uint32_t v)
{
    uint8_t buf[4];

    cantor_be32_put(buf, v);
    return cantor_kv_batch_put(b, CANTOR_CF_META, CANTOR_META_SCHEMA, strlen(CANTOR_META_SCHEMA), buf, 4);
}

enum cantor_err cantor_schema_read(struct cantor_kv *kv, uint32_t *ret_version)
{
    uint8_t *v = NULL;
    size_t len;
    enum cantor_err err;

    err = kv->ops->get(kv, CANTOR_CF_META, (const uint8_t *)CANTOR_META_SCHEMA, strlen(CANTOR_META_SCHEMA),
                       &v, &len);
    if (err)
        return err;
    if (len != 4)
        err = CANTOR_ERR_CORRUPT;
    else
        *ret_version = cantor_be32_get(v);
    free(v);
    return err;
}

enum cantor_err cantor_schema_open(struct cantor_kv *kv, bool sync, bool *ret_created)
{
    struct cantor_kv_batch b;
    uint32_t version;
    enum cantor_err err;

    cantor_kv_batch_init(&b);
    *ret_created = false;
    err = cantor_schema_read(kv, &version);
    if (err == CANTOR_ERR_NOT_FOUND) {
        err = put_version(&b, CANTOR_STORE_SCHEMA_VERSION);
        if (!err)
            err = kv->ops->write(kv, &b, sync);
        if (!err)
            *ret_created = true;
        goto out;
    }
    if (err) {
        log_error("store", "cannot read the schema version: %s", cantor_err_str(err));
        goto out;
    }
    if (version > CANTOR_STORE_SCHEMA_VERSION) {
        log_error("store",
                  "store schema version %u is newer than this cantord understands (%u): upgrade cantord",
                  version, CANTOR_STORE_SCHEMA_VERSION);
        err = CANTOR_ERR_SCHEMA;
        goto out;
    }
    while (version < CANTOR_STORE_SCHEMA_VERSION) {
        cantor_kv_batch_release(&b);
        cantor_kv_batch_init(&b);
        err = migrations[version](kv, &b);
        if (!err)
            err = put_version(&b, version + 1);
        if (!err)
            err = kv->ops->write(kv, &b, true);
        if (err) {
            log_error("store", "migration of schema v%u to v%u failed: %s", version, version + 1,
                      cantor_err_str(err));
            goto out;
        }
        log_info("store", "migrated store schema v%u to v%u", version, version + 1);
        version++;
    }
out:
    cantor_kv_batch_release(&b);
    return err;
}
