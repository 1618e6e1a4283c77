/*
 * codec_bundle.c - model bundles (see codec.h): the training deltas of a model version, so a light
 * client can rebuild the exact model snapshot a cold chunk names and decode it offline. The bundle
 * carries no model bytes: training is deterministic, and the rebuilt hash is checked.
 * Memory: the caller owns out / the returned model; parsing allocates only the decoded deltas.
 */
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "codec.h"
#include "delta.h"

#define BUNDLE_MAGIC "CMB1"
#define BUNDLE_HEAD  8u  /* magic + count */
#define BUNDLE_ENTRY 12u /* block u64 + len u32 */

enum cantor_err cantor_codec_bundle_begin(struct cantor_buf *out)
{
    uint8_t head[BUNDLE_HEAD];

    if (!out)
        return CANTOR_ERR_INVALID;
    memcpy(head, BUNDLE_MAGIC, 4);
    cantor_be32_put(head + 4, 0);
    out->len = 0;
    return cantor_buf_append(out, head, sizeof(head));
}

enum cantor_err cantor_codec_bundle_add(struct cantor_buf *out, uint64_t block, const uint8_t *raw,
                                        size_t len)
{
    uint8_t e[BUNDLE_ENTRY];
    uint32_t n;
    enum cantor_err err;

    if (!out || out->len < BUNDLE_HEAD || memcmp(out->data, BUNDLE_MAGIC, 4) != 0 || (len && !raw))
        return CANTOR_ERR_INVALID;
    n = cantor_be32_get(out->data + 4);
    if (n >= CANTOR_CODEC_BUNDLE_MAX_BLOCKS || len > UINT32_MAX ||
        out->len + BUNDLE_ENTRY + len > CANTOR_CODEC_BUNDLE_MAX_BYTES)
        return CANTOR_ERR_TOO_LARGE;
    cantor_be64_put(e, block);
    cantor_be32_put(e + 8, (uint32_t)len);
    err = cantor_buf_append(out, e, sizeof(e));
    if (!err)
        err = cantor_buf_append(out, raw, len);
    if (!err)
        cantor_be32_put(out->data + 4, n + 1);
    return err;
}

enum cantor_err cantor_codec_bundle_train(const uint8_t *buf, size_t len, const uint8_t *want_hash,
                                          struct cantor_codec_model **ret_model)
{
    struct cantor_delta **d = NULL;
    struct cantor_codec_model *m = NULL;
    uint8_t got[32];
    size_t off = BUNDLE_HEAD, n = 0, count = 0;
    uint64_t prev = 0;
    enum cantor_err err;

    if (!buf || !ret_model)
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_CODEC_BUNDLE_MAX_BYTES)
        return CANTOR_ERR_TOO_LARGE;
    if (len < BUNDLE_HEAD)
        return CANTOR_ERR_TRUNCATED;
    if (memcmp(buf, BUNDLE_MAGIC, 4) != 0)
        return CANTOR_ERR_CORRUPT;
    count = cantor_be32_get(buf + 4);
    if (count > CANTOR_CODEC_BUNDLE_MAX_BLOCKS)
        return CANTOR_ERR_TOO_LARGE;
    d = calloc(count ? count : 1, sizeof(*d));
    if (!d)
        return CANTOR_ERR_NOMEM;
    for (err = CANTOR_OK; !err && n < count; n++) {
        uint64_t block;
        size_t dl;

        if (len - off < BUNDLE_ENTRY) {
            err = CANTOR_ERR_TRUNCATED;
            break;
        }
        block = cantor_be64_get(buf + off);
        dl = cantor_be32_get(buf + off + 8);
        off += BUNDLE_ENTRY;
        if (dl > len - off) {
            err = CANTOR_ERR_TRUNCATED;
            break;
        }
        /* training order is block order; a repeat or a step back means a corrupt or forged bundle */
        if (n && block <= prev) {
            err = CANTOR_ERR_CORRUPT;
            break;
        }
        prev = block;
        err = cantor_delta_decode(buf + off, dl, &d[n]);
        if (!err && d[n]->block_number != block)
            err = CANTOR_ERR_CORRUPT;
        off += dl;
    }
    if (!err && off != len)
        err = CANTOR_ERR_CORRUPT; /* trailing bytes */
    if (!err)
        err = cantor_codec_model_new(&m);
    if (!err && count)
        err = cantor_codec_model_train(m, (const struct cantor_delta *const *)d, count);
    if (!err && want_hash) {
        cantor_codec_model_hash(m, got);
        if (memcmp(got, want_hash, 32) != 0)
            err = CANTOR_ERR_MISMATCH;
    }
    if (!err) {
        *ret_model = m;
        m = NULL;
    }
    for (size_t i = 0; i < count; i++)
        cantor_delta_free(d[i]);
    free(d);
    cantor_codec_model_free(m);
    return err;
}
