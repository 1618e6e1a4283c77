/*
 * rlp.h - Recursive Length Prefix encoding (Ethereum yellow paper, appendix B).
 *
 * Decoding is strict: non-canonical input (a single byte < 0x80 wrapped as a string, long-form
 * lengths under 56, leading zero bytes in a length, lengths past the end of the input, trailing
 * bytes after the top-level item) is rejected with CANTOR_ERR_RLP or CANTOR_ERR_TRUNCATED.
 * Decoding never allocates: items point into the caller's input buffer, which must outlive them.
 * Encoding appends to a cantor_buf (which enforces its own size limit).
 */
#ifndef CANTOR_RLP_H
#define CANTOR_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct cantor_rlp_item {
    bool is_list;
    const uint8_t *payload; /* string bytes, or the concatenated encodings of the list's items */
    size_t payload_len;
    const uint8_t *raw; /* the whole encoding including the prefix */
    size_t raw_len;
};

/* Decode one item at the start of buf; *ret_consumed says how many bytes it took. */
enum cantor_err cantor_rlp_decode_item(const uint8_t *buf, size_t len, struct cantor_rlp_item *ret_item,
                                       size_t *ret_consumed);
/* Decode exactly one item spanning the whole buffer (trailing bytes are an error). */
enum cantor_err cantor_rlp_decode(const uint8_t *buf, size_t len, struct cantor_rlp_item *ret_item);

/* Iterate over the elements of a list: start with *pos = 0; returns CANTOR_ERR_NOT_FOUND at the end. */
enum cantor_err cantor_rlp_list_next(const struct cantor_rlp_item *list, size_t *pos,
                                     struct cantor_rlp_item *ret_item);
/* Count the elements of a list (validating each). */
enum cantor_err cantor_rlp_list_count(const struct cantor_rlp_item *list, size_t *ret_count);
/* Interpret a string item as a big-endian unsigned integer (no leading zeros allowed). */
enum cantor_err cantor_rlp_to_u64(const struct cantor_rlp_item *item, uint64_t *ret_value);

/* Encoding. */
enum cantor_err cantor_rlp_encode_bytes(struct cantor_buf *out, const uint8_t *p, size_t n);
enum cantor_err cantor_rlp_encode_u64(struct cantor_buf *out, uint64_t v);
/* Big-endian integer given as bytes: leading zeros are stripped before encoding. */
enum cantor_err cantor_rlp_encode_uint_be(struct cantor_buf *out, const uint8_t *p, size_t n);
/* Write a list header for a payload of payload_len bytes (the caller appends the payload). */
enum cantor_err cantor_rlp_encode_list_header(struct cantor_buf *out, size_t payload_len);
/* Wrap already-encoded items (payload) into a list. */
enum cantor_err cantor_rlp_encode_list(struct cantor_buf *out, const uint8_t *payload, size_t payload_len);

#endif
