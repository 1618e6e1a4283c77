/*
 * api_internal.h - what the rpc/handlers*.c files share; not part of the public API (see api.h).
 *
 * Convention: a handler that rejects a request fills resp itself (400/404/...) and returns CANTOR_OK;
 * it returns an error only for failures it did not describe (the server then answers 5xx).
 */
#ifndef CANTOR_RPC_API_INTERNAL_H
#define CANTOR_RPC_API_INTERNAL_H

#include "rpc/api.h"
#include "rpc/http.h"
#include "rpc/params.h"

/* Status from the daemon's callback, defaults when there is none (see struct cantor_api_status). */
void cantor_api_get_status(struct cantor_api_ctx *ctx, struct cantor_api_status *ret);
/* The chain id served by eth_chainId and /v1/status: fixed in the ctx, else the node's; 0 = unknown. */
uint64_t cantor_api_chain_id(struct cantor_api_ctx *ctx);

/* 400 naming the first query argument not in allowed; returns true when it replied. */
bool cantor_api_reject_query(const struct cantor_http_request *req, struct cantor_http_response *resp,
                             const char *const *allowed);

/*
 * Resolve ?block= (decimal, 0x-hex, "latest", "earliest"; absent = latest) to a followed block. On
 * failure it replies (400 bad syntax, 404 not followed / empty store) and returns false.
 */
bool cantor_api_resolve_block(struct cantor_api_ctx *ctx, const char *s, struct cantor_http_response *resp,
                              uint64_t *ret_n);

enum cantor_err cantor_api_h_block(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp);
enum cantor_err cantor_api_h_block_delta(void *c, const struct cantor_http_request *req,
                                         struct cantor_http_response *resp);
enum cantor_err cantor_api_h_state(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp);
enum cantor_err cantor_api_h_storage(void *c, const struct cantor_http_request *req,
                                     struct cantor_http_response *resp);
enum cantor_err cantor_api_h_history(void *c, const struct cantor_http_request *req,
                                     struct cantor_http_response *resp);
enum cantor_err cantor_api_h_history_storage(void *c, const struct cantor_http_request *req,
                                             struct cantor_http_response *resp);
enum cantor_err cantor_api_h_rpc(void *c, const struct cantor_http_request *req,
                                 struct cantor_http_response *resp);

/* handlers_proofs.c */
enum cantor_err cantor_api_h_checkpoint_keys(void *c, const struct cantor_http_request *req,
                                             struct cantor_http_response *resp);
enum cantor_err cantor_api_h_checkpoint_latest(void *c, const struct cantor_http_request *req,
                                               struct cantor_http_response *resp);
enum cantor_err cantor_api_h_checkpoint_n(void *c, const struct cantor_http_request *req,
                                          struct cantor_http_response *resp);
enum cantor_err cantor_api_h_checkpoint_make(void *c, const struct cantor_http_request *req,
                                             struct cantor_http_response *resp);
enum cantor_err cantor_api_h_proof_delta_storage(void *c, const struct cantor_http_request *req,
                                                 struct cantor_http_response *resp);
enum cantor_err cantor_api_h_proof_delta(void *c, const struct cantor_http_request *req,
                                         struct cantor_http_response *resp);
enum cantor_err cantor_api_h_proof_state_storage(void *c, const struct cantor_http_request *req,
                                                 struct cantor_http_response *resp);
enum cantor_err cantor_api_h_proof_state(void *c, const struct cantor_http_request *req,
                                         struct cantor_http_response *resp);
enum cantor_err cantor_api_h_verify(void *c, const struct cantor_http_request *req,
                                    struct cantor_http_response *resp);

#endif
