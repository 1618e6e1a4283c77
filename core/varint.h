/*
 * varint.h - unsigned LEB128 varints for u64 (7 bits per byte, low group first, high bit = more)
 * and zigzag mapping for signed values, as used by our binary formats.
 *
 * Decoding is strict so every value has exactly one encoding (hashes are taken over encodings):
 * overlong forms (a final 0x00 group after the first byte) are CANTOR_ERR_INVALID, more than 10
 * bytes or bits beyond 64 are CANTOR_ERR_OVERFLOW, running off the input is CANTOR_ERR_TRUNCATED.
 * Nothing allocates except cantor_varint_append, which grows the caller's cantor_buf.
 */
#ifndef CANTOR_VARINT_H
#define CANTOR_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define CANTOR_VARINT_MAX 10

/* Write v into out (room for CANTOR_VARINT_MAX bytes); returns the number of bytes written. */
size_t cantor_varint_encode(uint64_t v, uint8_t out[CANTOR_VARINT_MAX]);
enum cantor_err cantor_varint_append(struct cantor_buf *b, uint64_t v);
/* Decode one varint at the start of buf; *ret_consumed is its length. */
enum cantor_err cantor_varint_decode(const uint8_t *buf, size_t len, uint64_t *ret_value,
                                     size_t *ret_consumed);

/* Zigzag: 0, -1, 1, -2, 2 ... map to 0, 1, 2, 3, 4 ... so small magnitudes stay short. */
uint64_t cantor_zigzag_encode(int64_t v);
int64_t cantor_zigzag_decode(uint64_t v);

#endif
