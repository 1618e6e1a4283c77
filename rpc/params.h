/*
 * params.h - strict parsing of the values clients send in paths, query strings and JSON-RPC params.
 *
 * Every parser bounds its input (CANTOR_PARAMS_MAX_LEN characters), never allocates, and on failure
 * writes a short reason ("has 38 hex digits, want 40") into why (may be NULL) for a precise 400 or
 * -32602 message. Callers own all buffers.
 */
#ifndef CANTOR_RPC_PARAMS_H
#define CANTOR_RPC_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "rpc/http.h"

#define CANTOR_PARAMS_MAX_LEN   130 /* longest accepted value (a 64-digit hex word is 66) */
#define CANTOR_PARAMS_WHY_LEN   128
#define CANTOR_PARAMS_BLOCK_MAX ((uint64_t)INT64_MAX) /* geth's limit on block numbers */

/* REST block number: decimal ("17073191") or 0x-hex ("0x1048ff7"), <= CANTOR_PARAMS_BLOCK_MAX. */
enum cantor_err cantor_params_block_number(const char *s, uint64_t *ret_n, char *why, size_t why_len);
/* JSON-RPC quantity like geth's hexutil.Uint64: "0x" prefix, no leading zeros, <= 64 bits. */
enum cantor_err cantor_params_quantity_u64(const char *s, uint64_t *ret_n, char *why, size_t why_len);
/* 0x + exactly 40 hex digits (any case). */
enum cantor_err cantor_params_address(const char *s, uint8_t ret[20], char *why, size_t why_len);
/* 0x + exactly 64 hex digits: slots and hashes on REST paths. */
enum cantor_err cantor_params_word(const char *s, uint8_t ret[32], char *why, size_t why_len);
/* eth_getStorageAt's slot like geth: optional 0x, up to 64 digits (odd count allowed), left-padded. */
enum cantor_err cantor_params_slot_lax(const char *s, uint8_t ret[32], char *why, size_t why_len);
/* Decimal count in [1, max]; NULL s gives def. */
enum cantor_err cantor_params_limit(const char *s, size_t def, size_t max, size_t *ret_n, char *why,
                                    size_t why_len);

/*
 * Reject query arguments not in allowed (NULL-terminated) and repeated ones. On failure *ret_bad
 * points at the offending name (valid for the request's life).
 */
enum cantor_err cantor_params_check_query(const struct cantor_http_request *req, const char *const *allowed,
                                          const char **ret_bad);

/* Copy s for an error message: at most out_len-1 bytes, non-printable ASCII as '?', "..." if cut. */
void cantor_params_echo(const char *s, char *out, size_t out_len);

#endif
