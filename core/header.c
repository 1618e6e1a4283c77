/*
 * header.c - block header RLP/JSON codec (see header.h). Everything works on the caller's struct;
 * the only allocation is the scratch buffer used to re-encode a JSON header before hashing it.
 *
 * One field table drives decode, encode and JSON parsing so the three can not disagree on order.
 */
#include "header.h"

#include <string.h>

#include "hex.h"
#include "rlp.h"

#define N_BASE_FIELDS 15
#define N_FORK_FIELDS 6

enum field_type {
    F_BYTES, /* fixed-size byte string */
    F_WORD,  /* integer up to 256 bits, stored as a 32-byte big-endian word */
    F_U64,   /* integer up to 64 bits */
    F_EXTRA, /* variable-length extra data */
};

struct field {
    const char *json;
    enum field_type type;
    size_t off;
    size_t size; /* bytes for F_BYTES */
};

#define FB(name, member)                                                                                     \
    {                                                                                                        \
        name, F_BYTES, offsetof(struct cantor_header, member), sizeof(((struct cantor_header *)0)->member)   \
    }
#define FW(name, member)                                                                                     \
    {                                                                                                        \
        name, F_WORD, offsetof(struct cantor_header, member), 32                                             \
    }
#define FU(name, member)                                                                                     \
    {                                                                                                        \
        name, F_U64, offsetof(struct cantor_header, member), 8                                               \
    }

static const struct field fields[N_BASE_FIELDS + N_FORK_FIELDS] = {
    FB("parentHash", parent_hash),
    FB("sha3Uncles", ommers_hash),
    FB("miner", coinbase),
    FB("stateRoot", state_root),
    FB("transactionsRoot", tx_root),
    FB("receiptsRoot", receipts_root),
    FB("logsBloom", logs_bloom),
    FW("difficulty", difficulty),
    FU("number", number),
    FU("gasLimit", gas_limit),
    FU("gasUsed", gas_used),
    FU("timestamp", timestamp),
    {"extraData", F_EXTRA, offsetof(struct cantor_header, extra_data), CANTOR_HEADER_MAX_EXTRA},
    FB("mixHash", mix_hash),
    FB("nonce", nonce),
    FW("baseFeePerGas", base_fee),
    FB("withdrawalsRoot", withdrawals_root),
    FU("blobGasUsed", blob_gas_used),
    FU("excessBlobGas", excess_blob_gas),
    FB("parentBeaconBlockRoot", parent_beacon_root),
    FB("requestsHash", requests_hash),
};

static uint8_t *field_ptr(struct cantor_header *h, const struct field *f)
{
    return (uint8_t *)h + f->off;
}

static const uint8_t *field_cptr(const struct cantor_header *h, const struct field *f)
{
    return (const uint8_t *)h + f->off;
}

static enum cantor_err decode_field(const struct field *f, const struct cantor_rlp_item *it,
                                    struct cantor_header *h)
{
    uint8_t *dst = field_ptr(h, f);
    uint64_t v;
    enum cantor_err err;

    if (it->is_list)
        return CANTOR_ERR_RLP;
    switch (f->type) {
    case F_BYTES:
        if (it->payload_len != f->size)
            return CANTOR_ERR_RLP;
        memcpy(dst, it->payload, f->size);
        return CANTOR_OK;
    case F_WORD:
        if (it->payload_len > 32)
            return CANTOR_ERR_OVERFLOW;
        if (it->payload_len > 0 && it->payload[0] == 0)
            return CANTOR_ERR_RLP;
        memset(dst, 0, 32);
        if (it->payload_len)
            memcpy(dst + 32 - it->payload_len, it->payload, it->payload_len);
        return CANTOR_OK;
    case F_U64:
        err = cantor_rlp_to_u64(it, &v);
        if (err)
            return err;
        memcpy(dst, &v, sizeof(v));
        return CANTOR_OK;
    case F_EXTRA:
        if (it->payload_len > CANTOR_HEADER_MAX_EXTRA)
            return CANTOR_ERR_TOO_LARGE;
        if (it->payload_len)
            memcpy(dst, it->payload, it->payload_len);
        h->extra_len = it->payload_len;
        return CANTOR_OK;
    }
    return CANTOR_ERR_INVALID;
}

enum cantor_err cantor_header_decode(const uint8_t *rlp, size_t len, struct cantor_header *ret)
{
    struct cantor_header h;
    struct cantor_rlp_item list, it;
    size_t pos = 0, n = 0;
    enum cantor_err err;

    if (len > CANTOR_HEADER_MAX_RLP)
        return CANTOR_ERR_TOO_LARGE;
    err = cantor_rlp_decode(rlp, len, &list);
    if (err)
        return err;
    if (!list.is_list)
        return CANTOR_ERR_RLP;
    memset(&h, 0, sizeof(h));
    while ((err = cantor_rlp_list_next(&list, &pos, &it)) == CANTOR_OK) {
        if (n == N_BASE_FIELDS + N_FORK_FIELDS)
            return CANTOR_ERR_UNSUPPORTED;
        err = decode_field(&fields[n], &it, &h);
        if (err)
            return err;
        n++;
    }
    if (err != CANTOR_ERR_NOT_FOUND)
        return err;
    if (n < N_BASE_FIELDS)
        return CANTOR_ERR_RLP;
    h.n_fork_fields = (unsigned)(n - N_BASE_FIELDS);
    cantor_keccak256(rlp, len, h.hash);
    *ret = h;
    return CANTOR_OK;
}

static enum cantor_err encode_field(const struct field *f, const struct cantor_header *h,
                                    struct cantor_buf *out)
{
    const uint8_t *src = field_cptr(h, f);
    uint64_t v;

    switch (f->type) {
    case F_BYTES:
        return cantor_rlp_encode_bytes(out, src, f->size);
    case F_WORD:
        return cantor_rlp_encode_uint_be(out, src, 32);
    case F_U64:
        memcpy(&v, src, sizeof(v));
        return cantor_rlp_encode_u64(out, v);
    case F_EXTRA:
        if (h->extra_len > CANTOR_HEADER_MAX_EXTRA)
            return CANTOR_ERR_TOO_LARGE;
        return cantor_rlp_encode_bytes(out, src, h->extra_len);
    }
    return CANTOR_ERR_INVALID;
}

enum cantor_err cantor_header_encode(const struct cantor_header *h, struct cantor_buf *out)
{
    struct cantor_buf body;
    size_t n;
    enum cantor_err err = CANTOR_OK;

    if (h->n_fork_fields > N_FORK_FIELDS)
        return CANTOR_ERR_INVALID;
    n = N_BASE_FIELDS + h->n_fork_fields;
    cantor_buf_init(&body, CANTOR_HEADER_MAX_RLP);
    for (size_t i = 0; i < n && !err; i++)
        err = encode_field(&fields[i], h, &body);
    if (!err)
        err = cantor_rlp_encode_list(out, body.data, body.len);
    cantor_buf_release(&body);
    return err;
}

static enum cantor_err json_field(const struct field *f, const char *s, struct cantor_header *h)
{
    uint8_t *dst = field_ptr(h, f);
    uint64_t v;
    size_t digits;
    enum cantor_err err;

    switch (f->type) {
    case F_BYTES:
        return cantor_hex_decode_exact(s, dst, f->size);
    case F_WORD:
        return cantor_hex_decode_word(s, dst);
    case F_U64:
        err = cantor_hex_decode_u64(s, &v);
        if (!err)
            memcpy(dst, &v, sizeof(v));
        return err;
    case F_EXTRA:
        digits = strlen(s);
        if (digits >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            digits -= 2;
        if (digits % 2)
            return CANTOR_ERR_HEX;
        if (digits / 2 > CANTOR_HEADER_MAX_EXTRA)
            return CANTOR_ERR_TOO_LARGE;
        h->extra_len = digits / 2;
        return cantor_hex_decode_exact(s, dst, h->extra_len);
    }
    return CANTOR_ERR_INVALID;
}

enum cantor_err cantor_header_from_json(json_t *obj, struct cantor_header *ret)
{
    struct cantor_header h;
    struct cantor_buf rlp;
    json_t *v;
    size_t i;
    enum cantor_err err = CANTOR_OK;

    if (!json_is_object(obj))
        return CANTOR_ERR_JSON;
    memset(&h, 0, sizeof(h));
    cantor_buf_init(&rlp, CANTOR_HEADER_MAX_RLP);
    for (i = 0; i < N_BASE_FIELDS + N_FORK_FIELDS; i++) {
        v = json_object_get(obj, fields[i].json);
        if (!v || json_is_null(v)) {
            if (i < N_BASE_FIELDS) {
                err = CANTOR_ERR_JSON;
                goto out;
            }
            break;
        }
        if (!json_is_string(v)) {
            err = CANTOR_ERR_JSON;
            goto out;
        }
        err = json_field(&fields[i], json_string_value(v), &h);
        if (err)
            goto out;
    }
    h.n_fork_fields = (unsigned)(i - N_BASE_FIELDS);
    /* A later fork field without an earlier one can not be encoded: refuse rather than drop it. */
    for (; i < N_BASE_FIELDS + N_FORK_FIELDS; i++) {
        v = json_object_get(obj, fields[i].json);
        if (v && !json_is_null(v)) {
            err = CANTOR_ERR_JSON;
            goto out;
        }
    }
    /* Newer clients already report a (null) blockAccessListHash; a real one is a fork we don't know. */
    v = json_object_get(obj, "blockAccessListHash");
    if (v && !json_is_null(v)) {
        err = CANTOR_ERR_UNSUPPORTED;
        goto out;
    }
    err = cantor_header_encode(&h, &rlp);
    if (err)
        goto out;
    cantor_keccak256(rlp.data, rlp.len, h.hash);
    v = json_object_get(obj, "hash");
    if (v && !json_is_null(v)) {
        uint8_t want[CANTOR_HASH_LEN];

        if (!json_is_string(v)) {
            err = CANTOR_ERR_JSON;
            goto out;
        }
        err = cantor_hex_decode_exact(json_string_value(v), want, sizeof(want));
        if (err)
            goto out;
        if (memcmp(want, h.hash, sizeof(want)) != 0) {
            err = CANTOR_ERR_MISMATCH;
            goto out;
        }
    }
    *ret = h;
out:
    cantor_buf_release(&rlp);
    return err;
}
