/*
 * rlp.c - strict RLP decoding and canonical encoding (see rlp.h for the contract).
 *
 * Decoded items only point into the caller's buffer; nothing here allocates except the caller's
 * cantor_buf on encode. cantor_rlp_decode() validates the whole tree (every nested list must parse
 * exactly into canonical items) without recursion, so hostile input cannot exhaust the C stack;
 * nesting deeper than RLP_MAX_DEPTH is refused with CANTOR_ERR_TOO_LARGE.
 */
#include "rlp.h"

#include <string.h>

/* Ethereum structures nest a handful of levels; 1024 is far beyond any real use. */
#define RLP_MAX_DEPTH 1024

/* Read a big-endian length of ll bytes (1..8); canonical form has no leading zero and is >= 56. */
static enum cantor_err read_long_len(const uint8_t *p, size_t ll, size_t *ret_len)
{
    uint64_t v = 0;

    if (p[0] == 0)
        return CANTOR_ERR_RLP;
    for (size_t i = 0; i < ll; i++)
        v = (v << 8) | p[i];
    if (v < 56)
        return CANTOR_ERR_RLP;
    if (v > SIZE_MAX)
        return CANTOR_ERR_TOO_LARGE;
    *ret_len = (size_t)v;
    return CANTOR_OK;
}

enum cantor_err cantor_rlp_decode_item(const uint8_t *buf, size_t len, struct cantor_rlp_item *ret_item,
                                       size_t *ret_consumed)
{
    size_t hdr, plen;
    bool is_list;
    uint8_t b;
    enum cantor_err err;

    if (!buf || len == 0)
        return CANTOR_ERR_TRUNCATED;
    b = buf[0];
    if (b < 0x80) {
        ret_item->is_list = false;
        ret_item->payload = buf;
        ret_item->payload_len = 1;
        ret_item->raw = buf;
        ret_item->raw_len = 1;
        *ret_consumed = 1;
        return CANTOR_OK;
    }
    is_list = b >= 0xc0;
    if (b <= 0xb7 || (b >= 0xc0 && b <= 0xf7)) {
        hdr = 1;
        plen = (size_t)(b - (is_list ? 0xc0 : 0x80));
    } else {
        size_t ll = (size_t)(b - (is_list ? 0xf7 : 0xb7));

        if (len < 1 + ll)
            return CANTOR_ERR_TRUNCATED;
        err = read_long_len(buf + 1, ll, &plen);
        if (err)
            return err;
        hdr = 1 + ll;
    }
    if (plen > len - hdr)
        return CANTOR_ERR_TRUNCATED;
    /* A single byte below 0x80 is its own encoding; wrapping it is non-canonical. */
    if (!is_list && plen == 1 && buf[1] < 0x80)
        return CANTOR_ERR_RLP;
    ret_item->is_list = is_list;
    ret_item->payload = buf + hdr;
    ret_item->payload_len = plen;
    ret_item->raw = buf;
    ret_item->raw_len = hdr + plen;
    *ret_consumed = hdr + plen;
    return CANTOR_OK;
}

/* Check that every list in the tree rooted at item splits exactly into canonical items. */
static enum cantor_err validate_tree(const struct cantor_rlp_item *item)
{
    const uint8_t *ends[RLP_MAX_DEPTH];
    const uint8_t *p, *end;
    size_t depth = 0;

    if (!item->is_list)
        return CANTOR_OK;
    p = item->payload;
    end = item->payload + item->payload_len;
    for (;;) {
        struct cantor_rlp_item sub;
        size_t used;
        enum cantor_err err;

        while (p == end) {
            if (depth == 0)
                return CANTOR_OK;
            end = ends[--depth];
        }
        err = cantor_rlp_decode_item(p, (size_t)(end - p), &sub, &used);
        if (err)
            return err;
        if (sub.is_list && sub.payload_len > 0) {
            if (depth == RLP_MAX_DEPTH)
                return CANTOR_ERR_TOO_LARGE;
            ends[depth++] = end;
            end = sub.payload + sub.payload_len;
            p = sub.payload;
        } else {
            p += used;
        }
    }
}

enum cantor_err cantor_rlp_decode(const uint8_t *buf, size_t len, struct cantor_rlp_item *ret_item)
{
    struct cantor_rlp_item item;
    size_t used;
    enum cantor_err err;

    err = cantor_rlp_decode_item(buf, len, &item, &used);
    if (err)
        return err;
    if (used != len)
        return CANTOR_ERR_RLP;
    err = validate_tree(&item);
    if (err)
        return err;
    *ret_item = item;
    return CANTOR_OK;
}

enum cantor_err cantor_rlp_list_next(const struct cantor_rlp_item *list, size_t *pos,
                                     struct cantor_rlp_item *ret_item)
{
    size_t used;
    enum cantor_err err;

    if (!list->is_list)
        return CANTOR_ERR_RLP;
    if (*pos > list->payload_len)
        return CANTOR_ERR_INVALID;
    if (*pos == list->payload_len)
        return CANTOR_ERR_NOT_FOUND;
    err = cantor_rlp_decode_item(list->payload + *pos, list->payload_len - *pos, ret_item, &used);
    if (err)
        return err;
    *pos += used;
    return CANTOR_OK;
}

enum cantor_err cantor_rlp_list_count(const struct cantor_rlp_item *list, size_t *ret_count)
{
    struct cantor_rlp_item it;
    size_t pos = 0, n = 0;
    enum cantor_err err;

    if (!list->is_list)
        return CANTOR_ERR_RLP;
    while ((err = cantor_rlp_list_next(list, &pos, &it)) == CANTOR_OK)
        n++;
    if (err != CANTOR_ERR_NOT_FOUND)
        return err;
    *ret_count = n;
    return CANTOR_OK;
}

enum cantor_err cantor_rlp_to_u64(const struct cantor_rlp_item *item, uint64_t *ret_value)
{
    uint64_t v = 0;

    if (item->is_list)
        return CANTOR_ERR_RLP;
    if (item->payload_len > 8)
        return CANTOR_ERR_OVERFLOW;
    /* Zero is the empty string; a leading zero byte (including "0x00") is non-canonical. */
    if (item->payload_len > 0 && item->payload[0] == 0)
        return CANTOR_ERR_RLP;
    for (size_t i = 0; i < item->payload_len; i++)
        v = (v << 8) | item->payload[i];
    *ret_value = v;
    return CANTOR_OK;
}

/* Append a short/long header with the given short-form base (0x80 strings, 0xc0 lists). */
static enum cantor_err encode_header(struct cantor_buf *out, uint8_t base, size_t n)
{
    uint8_t hdr[9];
    size_t ll = 0;

    if (n < 56) {
        hdr[0] = (uint8_t)(base + n);
        return cantor_buf_append(out, hdr, 1);
    }
    for (size_t v = n; v; v >>= 8)
        ll++;
    hdr[0] = (uint8_t)(base + 55 + ll);
    for (size_t i = 0; i < ll; i++)
        hdr[ll - i] = (uint8_t)(n >> (8 * i));
    return cantor_buf_append(out, hdr, 1 + ll);
}

/* Header and payload go in together so a failed append leaves out unchanged. */
static enum cantor_err encode_with_header(struct cantor_buf *out, uint8_t base, const uint8_t *p, size_t n)
{
    size_t mark = out->len;
    enum cantor_err err;

    if (n > SIZE_MAX - 9)
        return CANTOR_ERR_TOO_LARGE;
    err = cantor_buf_reserve(out, 9 + n);
    if (err)
        return err;
    err = encode_header(out, base, n);
    if (!err && n)
        err = cantor_buf_append(out, p, n);
    if (err) {
        out->len = mark;
        out->data[mark] = 0;
    }
    return err;
}

enum cantor_err cantor_rlp_encode_bytes(struct cantor_buf *out, const uint8_t *p, size_t n)
{
    if (n == 1 && p[0] < 0x80)
        return cantor_buf_append(out, p, 1);
    return encode_with_header(out, 0x80, p, n);
}

enum cantor_err cantor_rlp_encode_u64(struct cantor_buf *out, uint64_t v)
{
    uint8_t be[8];

    for (int i = 0; i < 8; i++)
        be[7 - i] = (uint8_t)(v >> (8 * i));
    return cantor_rlp_encode_uint_be(out, be, sizeof(be));
}

enum cantor_err cantor_rlp_encode_uint_be(struct cantor_buf *out, const uint8_t *p, size_t n)
{
    while (n > 0 && p[0] == 0) {
        p++;
        n--;
    }
    return cantor_rlp_encode_bytes(out, p, n);
}

enum cantor_err cantor_rlp_encode_list_header(struct cantor_buf *out, size_t payload_len)
{
    return encode_header(out, 0xc0, payload_len);
}

enum cantor_err cantor_rlp_encode_list(struct cantor_buf *out, const uint8_t *payload, size_t payload_len)
{
    return encode_with_header(out, 0xc0, payload, payload_len);
}
