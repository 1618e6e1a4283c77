/*
 * codec_zstd.c - zstd (level 19) with a dictionary trained by ZDICT_trainFromBuffer on the canonical
 * bytes of earlier blocks: the general-purpose candidate of the adaptive codec and the baseline the
 * benchmark compares against. A cantor_zdict owns the dictionary bytes and the digested C/D dicts.
 */
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec_internal.h"

struct cantor_zdict {
    uint8_t *bytes;
    size_t len;
    ZSTD_CDict *cd;
    ZSTD_DDict *dd;
};

void cantor_zdict_free(struct cantor_zdict *zd)
{
    if (!zd)
        return;
    ZSTD_freeCDict(zd->cd);
    ZSTD_freeDDict(zd->dd);
    free(zd->bytes);
    free(zd);
}

enum cantor_err cantor_zdict_from_bytes(const uint8_t *dict, size_t len, struct cantor_zdict **ret_zd)
{
    struct cantor_zdict *zd;

    if (!dict || len == 0 || len > (16u << 20))
        return CANTOR_ERR_INVALID;
    zd = calloc(1, sizeof(*zd));
    if (!zd)
        return CANTOR_ERR_NOMEM;
    zd->bytes = malloc(len);
    if (!zd->bytes) {
        free(zd);
        return CANTOR_ERR_NOMEM;
    }
    memcpy(zd->bytes, dict, len);
    zd->len = len;
    zd->cd = ZSTD_createCDict(zd->bytes, len, 19);
    zd->dd = ZSTD_createDDict(zd->bytes, len);
    if (!zd->cd || !zd->dd) {
        cantor_zdict_free(zd);
        return CANTOR_ERR_NOMEM;
    }
    *ret_zd = zd;
    return CANTOR_OK;
}

enum cantor_err cantor_zdict_train(const struct cantor_buf *samples, size_t n, size_t dict_cap,
                                   struct cantor_zdict **ret_zd)
{
    size_t total = 0, *sizes = NULL, r;
    uint8_t *cat = NULL, *dict = NULL;
    enum cantor_err err = CANTOR_ERR_NOMEM;

    if (n == 0)
        return CANTOR_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        total += samples[i].len;
    cat = malloc(total ? total : 1);
    sizes = malloc(n * sizeof(*sizes));
    dict = malloc(dict_cap);
    if (!cat || !sizes || !dict)
        goto out;
    total = 0;
    for (size_t i = 0; i < n; i++) {
        if (samples[i].len)
            memcpy(cat + total, samples[i].data, samples[i].len);
        sizes[i] = samples[i].len;
        total += samples[i].len;
    }
    r = ZDICT_trainFromBuffer(dict, dict_cap, cat, sizes, (unsigned)n);
    if (ZDICT_isError(r)) {
        /* too little data for the trainer: fall back to raw content (the last bytes matter most) */
        r = total < dict_cap ? total : dict_cap;
        if (r == 0) {
            err = CANTOR_ERR_INVALID;
            goto out;
        }
        memcpy(dict, cat + total - r, r);
    }
    err = cantor_zdict_from_bytes(dict, r, ret_zd);
out:
    free(cat);
    free(sizes);
    free(dict);
    return err;
}

const uint8_t *cantor_zdict_bytes(const struct cantor_zdict *zd, size_t *ret_len)
{
    *ret_len = zd->len;
    return zd->bytes;
}

enum cantor_err cantor_zstd_compress(const struct cantor_zdict *zd, int level, const uint8_t *in, size_t len,
                                     struct cantor_buf *out)
{
    size_t bound = ZSTD_compressBound(len), r;
    ZSTD_CCtx *cc;
    enum cantor_err err;

    err = cantor_buf_reserve(out, bound);
    if (err)
        return err;
    cc = ZSTD_createCCtx();
    if (!cc)
        return CANTOR_ERR_NOMEM;
    if (zd && level == 19)
        r = ZSTD_compress_usingCDict(cc, out->data + out->len, bound, in, len, zd->cd);
    else if (zd)
        r = ZSTD_compress_usingDict(cc, out->data + out->len, bound, in, len, zd->bytes, zd->len, level);
    else
        r = ZSTD_compressCCtx(cc, out->data + out->len, bound, in, len, level);
    ZSTD_freeCCtx(cc);
    if (ZSTD_isError(r))
        return CANTOR_ERR_INVALID;
    out->len += r;
    return CANTOR_OK;
}

enum cantor_err cantor_zstd_decompress(const struct cantor_zdict *zd, const uint8_t *in, size_t len,
                                       size_t raw_len, struct cantor_buf *out)
{
    ZSTD_DCtx *dc;
    unsigned long long fsz = ZSTD_getFrameContentSize(in, len);
    size_t r;
    enum cantor_err err;

    if (fsz == ZSTD_CONTENTSIZE_ERROR)
        return CANTOR_ERR_CORRUPT;
    if (fsz != ZSTD_CONTENTSIZE_UNKNOWN && fsz != raw_len)
        return CANTOR_ERR_CORRUPT;
    err = cantor_buf_reserve(out, raw_len + 1);
    if (err)
        return err;
    dc = ZSTD_createDCtx();
    if (!dc)
        return CANTOR_ERR_NOMEM;
    if (zd)
        r = ZSTD_decompress_usingDDict(dc, out->data + out->len, raw_len, in, len, zd->dd);
    else
        r = ZSTD_decompressDCtx(dc, out->data + out->len, raw_len, in, len);
    ZSTD_freeDCtx(dc);
    if (ZSTD_isError(r)) {
        if (ZSTD_getErrorCode(r) == ZSTD_error_dictionary_wrong)
            return CANTOR_ERR_UNKNOWN_MODEL;
        return ZSTD_getErrorCode(r) == ZSTD_error_srcSize_wrong ? CANTOR_ERR_TRUNCATED : CANTOR_ERR_CORRUPT;
    }
    if (r != raw_len)
        return CANTOR_ERR_CORRUPT;
    out->len += r;
    out->data[out->len] = 0;
    return CANTOR_OK;
}
