/*
 * u256.h - 256-bit unsigned integers as 32-byte big-endian words, the representation core/delta.h
 * uses for balances, nonces and storage values, so no conversion is needed to do arithmetic on them.
 *
 * All functions work on caller-owned arrays and never allocate. Results may alias inputs.
 * Arithmetic is modulo 2^256; add and sub report the carry / borrow out.
 */
#ifndef CANTOR_U256_H
#define CANTOR_U256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CANTOR_U256_LEN 32
/* 2^256 - 1 has 78 decimal digits; plus the NUL. */
#define CANTOR_U256_DEC_MAX 79
/* Longest decimal string accepted (leading zeros included): bounds the work on hostile input. */
#define CANTOR_U256_DEC_INPUT_MAX 128

/* ret = a + b mod 2^256; returns the carry out (0 or 1). */
unsigned cantor_u256_add(const uint8_t a[32], const uint8_t b[32], uint8_t ret[32]);
/* ret = a - b mod 2^256; returns the borrow out (1 when b > a). */
unsigned cantor_u256_sub(const uint8_t a[32], const uint8_t b[32], uint8_t ret[32]);
/* ret = |a - b|; returns whether a >= b. */
bool cantor_u256_absdiff(const uint8_t a[32], const uint8_t b[32], uint8_t ret[32]);
/* -1, 0 or 1 as a <, =, > b. */
int cantor_u256_cmp(const uint8_t a[32], const uint8_t b[32]);
bool cantor_u256_is_zero(const uint8_t a[32]);
/* Number of significant bytes (0 for zero): the length of its minimal big-endian encoding. */
size_t cantor_u256_min_len(const uint8_t a[32]);

/* ret = a * m + add (m, add < 2^23); returns the carry out: nonzero when the result does not fit. */
unsigned cantor_u256_mul_small(const uint8_t a[32], unsigned m, unsigned add, uint8_t ret[32]);
/* ret = a / d (1 <= d < 2^23); returns a mod d. */
unsigned cantor_u256_div_small(const uint8_t a[32], unsigned d, uint8_t ret[32]);

void cantor_u256_from_u64(uint64_t v, uint8_t ret[32]);
/* CANTOR_ERR_OVERFLOW when a >= 2^64 (ret_value untouched). */
enum cantor_err cantor_u256_to_u64(const uint8_t a[32], uint64_t *ret_value);

/*
 * Parse an unsigned decimal string (digits only, at least one, leading zeros allowed, at most
 * CANTOR_U256_DEC_INPUT_MAX characters). CANTOR_ERR_INVALID on a bad character or empty input,
 * CANTOR_ERR_TOO_LARGE on an over-long string, CANTOR_ERR_OVERFLOW when the value is >= 2^256.
 */
enum cantor_err cantor_u256_from_dec(const char *s, uint8_t ret[32]);
/* Write the minimal decimal form ("0" for zero) into out; out_len must be >= CANTOR_U256_DEC_MAX. */
enum cantor_err cantor_u256_to_dec(const uint8_t a[32], char *out, size_t out_len);

#endif
