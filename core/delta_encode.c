/*
 * delta_encode.c - canonical binary encoding v1 of a block delta and its strict decoder.
 *
 * The layout is specified in docs/formats.md ("Canonical block delta v1"). Every hash and every
 * compressed chunk is taken over these bytes, so there is exactly one encoding per delta: the
 * decoder rejects anything encode() would not have produced. The encoder appends to a caller
 * buffer; the decoder returns a delta the caller frees with cantor_delta_free().
 */
#include "delta.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "keccak.h"

#define HEADER_LEN     (CANTOR_DELTA_MAGIC_LEN + 1 + 8)
#define MIN_ENTRY_LEN  (CANTOR_ADDR_LEN + 1 + 1 + 1) /* addr, kind, two empty values */
#define MIN_CODE_LEN   (CANTOR_WORD_LEN + 1 + 1)     /* hash, length, one byte of code */
#define LEB128_MAX_LEN 10

static enum cantor_err put_leb128(struct cantor_buf *out, uint64_t v)
{
    uint8_t tmp[LEB128_MAX_LEN];
    size_t n = 0;

    do {
        tmp[n] = v & 0x7f;
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    return cantor_buf_append(out, tmp, n);
}

/* A 32-byte word as length + big-endian bytes without leading zeros (zero is length 0). */
static enum cantor_err put_value(struct cantor_buf *out, const uint8_t w[CANTOR_WORD_LEN])
{
    size_t skip = 0;
    enum cantor_err err;

    while (skip < CANTOR_WORD_LEN && w[skip] == 0)
        skip++;
    err = cantor_buf_append_byte(out, (uint8_t)(CANTOR_WORD_LEN - skip));
    if (err)
        return err;
    return cantor_buf_append(out, w + skip, CANTOR_WORD_LEN - skip);
}

static int cmp_hash(const void *key, const void *elem)
{
    return memcmp(key, elem, CANTOR_WORD_LEN);
}

/* The code table must be sorted, and each blob must be the new code of some CODE entry. */
static enum cantor_err check_codes(const struct cantor_delta *d)
{
    bool *used;
    enum cantor_err err = CANTOR_OK;

    if (!d->n_codes)
        return CANTOR_OK;
    for (size_t i = 1; i < d->n_codes; i++)
        if (memcmp(d->codes[i - 1].hash, d->codes[i].hash, CANTOR_WORD_LEN) >= 0)
            return CANTOR_ERR_INVALID;
    used = calloc(d->n_codes, sizeof(*used));
    if (!used)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_code *hit;

        if (d->entries[i].kind != CANTOR_KIND_CODE)
            continue;
        hit = bsearch(d->entries[i].new_val, d->codes, d->n_codes, sizeof(*d->codes), cmp_hash);
        if (hit)
            used[hit - d->codes] = true;
    }
    for (size_t i = 0; i < d->n_codes; i++)
        if (!used[i])
            err = CANTOR_ERR_INVALID;
    free(used);
    return err;
}

enum cantor_err cantor_delta_encode(const struct cantor_delta *d, struct cantor_buf *out)
{
    uint8_t hdr[HEADER_LEN];
    size_t start;
    enum cantor_err err;

    if (!d || !out)
        return CANTOR_ERR_INVALID;
    start = out->len;
    err = check_codes(d);
    if (err)
        return err;
    memcpy(hdr, CANTOR_DELTA_MAGIC, CANTOR_DELTA_MAGIC_LEN);
    hdr[CANTOR_DELTA_MAGIC_LEN] = CANTOR_DELTA_VERSION;
    for (int i = 0; i < 8; i++)
        hdr[CANTOR_DELTA_MAGIC_LEN + 1 + i] = (uint8_t)(d->block_number >> (56 - 8 * i));
    err = cantor_buf_append(out, hdr, sizeof(hdr));
    if (err)
        goto out;
    err = put_leb128(out, d->n_entries);
    if (err)
        goto out;
    for (size_t i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_entry *e = &d->entries[i];

        if (e->kind > CANTOR_KIND_STORAGE || memcmp(e->old_val, e->new_val, CANTOR_WORD_LEN) == 0 ||
            (i && cantor_delta_entry_cmp(&d->entries[i - 1], e) >= 0)) {
            err = CANTOR_ERR_INVALID;
            goto out;
        }
        err = cantor_buf_append(out, e->addr, CANTOR_ADDR_LEN);
        if (!err)
            err = cantor_buf_append_byte(out, e->kind);
        if (!err && e->kind == CANTOR_KIND_STORAGE)
            err = cantor_buf_append(out, e->slot, CANTOR_WORD_LEN);
        if (!err)
            err = put_value(out, e->old_val);
        if (!err)
            err = put_value(out, e->new_val);
        if (err)
            goto out;
    }
    err = put_leb128(out, d->n_codes);
    if (err)
        goto out;
    for (size_t i = 0; i < d->n_codes; i++) {
        const struct cantor_delta_code *c = &d->codes[i];

        if (c->len == 0 || c->len > CANTOR_DELTA_MAX_CODE_LEN) {
            err = CANTOR_ERR_INVALID;
            goto out;
        }
        err = cantor_buf_append(out, c->hash, CANTOR_WORD_LEN);
        if (!err)
            err = put_leb128(out, c->len);
        if (!err)
            err = cantor_buf_append(out, c->code, c->len);
        if (err)
            goto out;
    }
out:
    if (err)
        out->len = start; /* leave the caller's buffer as it was */
    return err;
}

struct reader {
    const uint8_t *p;
    size_t left;
};

static enum cantor_err get_bytes(struct reader *r, void *dst, size_t n)
{
    if (r->left < n)
        return CANTOR_ERR_TRUNCATED;
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
    return CANTOR_OK;
}

/* Minimal LEB128 only: a trailing 0x00 group would be a second encoding of the same number. */
static enum cantor_err get_leb128(struct reader *r, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < LEB128_MAX_LEN; i++) {
        uint8_t b;

        if (!r->left)
            return CANTOR_ERR_TRUNCATED;
        b = *r->p++;
        r->left--;
        if (i == 9 && b > 1)
            return CANTOR_ERR_OVERFLOW;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i && b == 0)
                return CANTOR_ERR_CORRUPT;
            if (v > max)
                return CANTOR_ERR_TOO_LARGE;
            *ret = v;
            return CANTOR_OK;
        }
    }
    return CANTOR_ERR_OVERFLOW;
}

static enum cantor_err get_value(struct reader *r, uint8_t w[CANTOR_WORD_LEN])
{
    uint8_t n;
    enum cantor_err err = get_bytes(r, &n, 1);

    if (err)
        return err;
    if (n > CANTOR_WORD_LEN)
        return CANTOR_ERR_CORRUPT;
    memset(w, 0, CANTOR_WORD_LEN);
    err = get_bytes(r, w + CANTOR_WORD_LEN - n, n);
    if (err)
        return err;
    if (n && w[CANTOR_WORD_LEN - n] == 0)
        return CANTOR_ERR_CORRUPT; /* leading zero byte: not minimal */
    return CANTOR_OK;
}

/* One delta from the start of buf; *ret_used: its length (the rest is the caller's). */
enum cantor_err cantor_delta_decode_prefix(const uint8_t *buf, size_t len, size_t *ret_used,
                                           struct cantor_delta **ret_delta)
{
    struct reader r = {buf, len};
    struct cantor_delta *d = NULL;
    uint8_t hdr[HEADER_LEN];
    uint64_t block = 0, n_entries, n_codes;
    uint8_t *code = NULL;
    bool *used = NULL;
    enum cantor_err err;

    if ((!buf && len) || !ret_delta || !ret_used)
        return CANTOR_ERR_INVALID;
    err = get_bytes(&r, hdr, sizeof(hdr));
    if (err)
        goto out;
    if (memcmp(hdr, CANTOR_DELTA_MAGIC, CANTOR_DELTA_MAGIC_LEN) != 0) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    if (hdr[CANTOR_DELTA_MAGIC_LEN] != CANTOR_DELTA_VERSION) {
        err = CANTOR_ERR_UNSUPPORTED;
        goto out;
    }
    for (int i = 0; i < 8; i++)
        block = block << 8 | hdr[CANTOR_DELTA_MAGIC_LEN + 1 + i];
    err = cantor_delta_new(block, &d);
    if (err)
        goto out;
    err = get_leb128(&r, CANTOR_DELTA_MAX_ENTRIES, &n_entries);
    if (err)
        goto out;
    /* Refuse counts the remaining bytes cannot hold before allocating anything for them. */
    if (n_entries > r.left / MIN_ENTRY_LEN) {
        err = CANTOR_ERR_TRUNCATED;
        goto out;
    }
    if (n_entries) {
        d->entries = calloc(n_entries, sizeof(*d->entries));
        if (!d->entries) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
        d->cap_entries = n_entries;
    }
    for (uint64_t i = 0; i < n_entries; i++) {
        struct cantor_delta_entry *e = &d->entries[i];

        err = get_bytes(&r, e->addr, CANTOR_ADDR_LEN);
        if (!err)
            err = get_bytes(&r, &e->kind, 1);
        if (err)
            goto out;
        if (e->kind > CANTOR_KIND_STORAGE) {
            err = CANTOR_ERR_CORRUPT;
            goto out;
        }
        if (e->kind == CANTOR_KIND_STORAGE)
            err = get_bytes(&r, e->slot, CANTOR_WORD_LEN);
        if (!err)
            err = get_value(&r, e->old_val);
        if (!err)
            err = get_value(&r, e->new_val);
        if (err)
            goto out;
        if (memcmp(e->old_val, e->new_val, CANTOR_WORD_LEN) == 0 ||
            (i && cantor_delta_entry_cmp(&d->entries[i - 1], e) >= 0)) {
            err = CANTOR_ERR_CORRUPT;
            goto out;
        }
        d->n_entries++;
    }
    err = get_leb128(&r, CANTOR_DELTA_MAX_CODES, &n_codes);
    if (err)
        goto out;
    if (n_codes > r.left / MIN_CODE_LEN) {
        err = CANTOR_ERR_TRUNCATED;
        goto out;
    }
    if (n_codes) {
        d->codes = calloc(n_codes, sizeof(*d->codes));
        used = calloc(n_codes, sizeof(*used));
        if (!d->codes || !used) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
        d->cap_codes = n_codes;
    }
    for (uint64_t i = 0; i < n_codes; i++) {
        struct cantor_delta_code *c = &d->codes[i];
        uint8_t h[CANTOR_WORD_LEN];
        uint64_t clen;

        err = get_bytes(&r, c->hash, CANTOR_WORD_LEN);
        if (!err)
            err = get_leb128(&r, CANTOR_DELTA_MAX_CODE_LEN, &clen);
        if (err)
            goto out;
        if (clen == 0 || (i && memcmp(d->codes[i - 1].hash, c->hash, CANTOR_WORD_LEN) >= 0)) {
            err = CANTOR_ERR_CORRUPT;
            goto out;
        }
        if (clen > r.left) {
            err = CANTOR_ERR_TRUNCATED;
            goto out;
        }
        code = malloc(clen);
        if (!code) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
        err = get_bytes(&r, code, clen);
        if (err)
            goto out;
        cantor_keccak256(code, clen, h);
        if (memcmp(h, c->hash, CANTOR_WORD_LEN) != 0) {
            err = CANTOR_ERR_CHECKSUM;
            goto out;
        }
        c->code = code;
        c->len = clen;
        code = NULL;
        d->n_codes++;
    }
    /* Every blob must be the new code of some entry, as finish() guarantees on the encoder side. */
    for (size_t i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_code *hit;

        if (d->entries[i].kind != CANTOR_KIND_CODE || !d->n_codes)
            continue;
        hit = bsearch(d->entries[i].new_val, d->codes, d->n_codes, sizeof(*d->codes), cmp_hash);
        if (hit)
            used[hit - d->codes] = true;
    }
    for (size_t i = 0; i < d->n_codes; i++) {
        if (!used[i]) {
            err = CANTOR_ERR_CORRUPT;
            goto out;
        }
    }
    *ret_used = len - r.left;
    *ret_delta = d;
    d = NULL;
out:
    free(code);
    free(used);
    cantor_delta_free(d);
    return err;
}

enum cantor_err cantor_delta_decode(const uint8_t *buf, size_t len, struct cantor_delta **ret_delta)
{
    struct cantor_delta *d = NULL;
    size_t used = 0;
    enum cantor_err err;

    if (!ret_delta)
        return CANTOR_ERR_INVALID;
    err = cantor_delta_decode_prefix(buf, len, &used, &d);
    if (!err && used != len) {
        cantor_delta_free(d);
        return CANTOR_ERR_CORRUPT; /* trailing bytes */
    }
    if (!err)
        *ret_delta = d;
    return err;
}
