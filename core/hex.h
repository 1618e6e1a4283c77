/*
 * hex.h - strict hex decoding/encoding for Ethereum's "0x..." strings.
 *
 * Decoders never allocate unless documented; they write into caller buffers and fail with
 * CANTOR_ERR_HEX on a bad digit and CANTOR_ERR_TOO_LARGE when the value does not fit.
 */
#ifndef CANTOR_HEX_H
#define CANTOR_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Decode exactly out_len bytes from s ("0x" prefix optional, even number of digits). */
enum cantor_err cantor_hex_decode_exact(const char *s, uint8_t *out, size_t out_len);

/*
 * Decode a byte string of any length into a malloc'ed buffer (caller frees). "0x" is allowed and
 * yields len 0. Odd digit counts are rejected.
 */
enum cantor_err cantor_hex_decode_alloc(const char *s, uint8_t **ret_buf, size_t *ret_len);

/*
 * Decode a hex quantity ("0x1a", "0x0", also zero-padded "0x000..01" as returned by some nodes)
 * into a 32-byte big-endian word. Odd digit counts are allowed here (quantities, not data).
 */
enum cantor_err cantor_hex_decode_word(const char *s, uint8_t out[32]);

/* Decode a quantity that must fit in 64 bits. */
enum cantor_err cantor_hex_decode_u64(const char *s, uint64_t *ret_value);

/* Write "0x" + 2*len lowercase digits + NUL into out (size >= 2*len + 3). */
void cantor_hex_encode(const uint8_t *in, size_t len, char *out);

/* Write a 32-byte big-endian word as a minimal quantity ("0x0", "0x1a") into out (>= 67 bytes). */
void cantor_hex_encode_quantity(const uint8_t word[32], char *out);

int cantor_hex_digit(char c); /* 0..15, or -1 */

#endif
