/*
 * ethrpc.h - Ethereum JSON-RPC 2.0 client over HTTP (libcurl + jansson).
 *
 * One client owns one libcurl easy handle, so connections are kept alive and reused between calls;
 * a client is used by one thread at a time. Only cantor_ethrpc_cancel() and the counters may be
 * touched from another thread (shutdown, metrics).
 *
 * Failures are classified once, here:
 *  - transport errors, timeouts, HTTP 5xx and 429 are retried (exponential backoff, full jitter);
 *  - a JSON-RPC error object is a definite answer and is never retried (CANTOR_ERR_RPC, the code is
 *    kept in cantor_ethrpc_last_rpc_code());
 *  - a body that is not JSON -> CANTOR_ERR_JSON; valid JSON that is not a JSON-RPC 2.0 response to
 *    our request (wrong id, wrong version, neither result nor error) -> CANTOR_ERR_RPC; neither is
 *    retried: a node that answers garbage once usually answers it again;
 *  - a body above max_response_bytes aborts the transfer -> CANTOR_ERR_TOO_LARGE;
 *  - HTTP 401/403 -> CANTOR_ERR_AUTH; after all retries: CANTOR_ERR_TIMEOUT or CANTOR_ERR_IO;
 *  - cantor_ethrpc_cancel() -> CANTOR_ERR_STOPPED, also in the middle of a backoff sleep.
 *
 * Ownership: params are BORROWED (the caller keeps its reference); results are new references
 * owned by the caller (json_decref). The client copies every string of the options.
 */
#ifndef CANTOR_ETHRPC_H
#define CANTOR_ETHRPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CANTOR_ETHRPC_MAX_BATCH            1024
#define CANTOR_ETHRPC_DEFAULT_MAX_RESPONSE (256u * 1024u * 1024u)
#define CANTOR_ETHRPC_JWT_SECRET_LEN       32

struct cantor_ethrpc_opts {
    const char *url;             /* http:// or https:// only */
    long timeout_ms;             /* whole request; 0 = 30000 */
    long connect_timeout_ms;     /* 0 = 5000 */
    unsigned max_retries;        /* extra attempts after the first one */
    long backoff_initial_ms;     /* 0 = 100 */
    long backoff_max_ms;         /* 0 = 10000 */
    size_t max_response_bytes;   /* 0 = CANTOR_ETHRPC_DEFAULT_MAX_RESPONSE */
    const char *auth_header;     /* e.g. "Authorization: Bearer x", or NULL */
    const char *jwt_secret_file; /* engine-API-style HS256 JWT (iat claim), hex secret file, or NULL */
};

/* Whether the node accepts JSON arrays (batches); learnt on the first batch. */
enum cantor_ethrpc_batch_mode {
    CANTOR_ETHRPC_BATCH_UNKNOWN = 0,
    CANTOR_ETHRPC_BATCH_YES = 1,
    CANTOR_ETHRPC_BATCH_NO = 2,
};

struct cantor_ethrpc_stats {
    uint64_t calls;    /* JSON-RPC calls asked for (a batch of n counts n) */
    uint64_t requests; /* HTTP requests sent, retries included */
    uint64_t errors;   /* calls that ended in an error */
    uint64_t retries;  /* HTTP requests repeated after a retryable failure */
    uint64_t bytes_in; /* response body bytes received */
    uint64_t bytes_out;
};

struct cantor_ethrpc;

enum cantor_err cantor_ethrpc_new(const struct cantor_ethrpc_opts *opts, struct cantor_ethrpc **ret_client);
void cantor_ethrpc_free(struct cantor_ethrpc *c);

/*
 * One call. params: a JSON array (borrowed) or NULL for []. On CANTOR_OK *ret_result is the
 * "result" member (a new reference, may be JSON null). On CANTOR_ERR_RPC with an error object,
 * cantor_ethrpc_last_rpc_code() gives its code.
 */
enum cantor_err cantor_ethrpc_call(struct cantor_ethrpc *c, const char *method, json_t *params,
                                   json_t **ret_result);

/*
 * n calls (1..CANTOR_ETHRPC_MAX_BATCH) in one JSON array when the node supports batches, else one
 * after the other. params[i] are borrowed (NULL = []). For each i, errors[i] is the outcome and
 * results[i] a new reference: the result on CANTOR_OK, the JSON-RPC error object (code, message)
 * on CANTOR_ERR_RPC when the node sent one, else NULL. The return value is CANTOR_OK when every
 * call got an answer (even an error answer); otherwise the transport error, and entries that were
 * not answered carry it too.
 */
enum cantor_err cantor_ethrpc_batch(struct cantor_ethrpc *c, size_t n, const char *const methods[],
                                    json_t *const params[], json_t *results[], enum cantor_err errors[]);

/* Ask a call in progress (or its backoff sleep) to stop; every later call returns STOPPED. */
void cantor_ethrpc_cancel(struct cantor_ethrpc *c);
/* Undo cancel (e.g. after a reload). */
void cantor_ethrpc_resume(struct cantor_ethrpc *c);

/* Human-readable description of the last failure ("" if none); valid until the next call. */
const char *cantor_ethrpc_last_error(const struct cantor_ethrpc *c);
/* Code of the last JSON-RPC error object (e.g. -32601), 0 when the last failure was not one. */
long cantor_ethrpc_last_rpc_code(const struct cantor_ethrpc *c);
void cantor_ethrpc_get_stats(const struct cantor_ethrpc *c, struct cantor_ethrpc_stats *ret_stats);
enum cantor_ethrpc_batch_mode cantor_ethrpc_batch_mode(const struct cantor_ethrpc *c);
/* Force the batch mode (e.g. from config); UNKNOWN makes the client probe again. */
void cantor_ethrpc_set_batch_mode(struct cantor_ethrpc *c, enum cantor_ethrpc_batch_mode mode);

/*
 * Build the engine-API JWT for `now` (seconds since the epoch) with a 32-byte secret into out
 * ("header.claims.signature", base64url without padding). Exposed for tests and the CLI.
 */
enum cantor_err cantor_ethrpc_jwt_make(const uint8_t secret[CANTOR_ETHRPC_JWT_SECRET_LEN], uint64_t now,
                                       char *out, size_t out_size);
/* Read a hex secret file (optional 0x, surrounding whitespace allowed) of exactly 32 bytes. */
enum cantor_err cantor_ethrpc_jwt_read_secret(const char *path,
                                              uint8_t ret_secret[CANTOR_ETHRPC_JWT_SECRET_LEN]);

#endif
