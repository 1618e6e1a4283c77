/*
 * api_codec.h - the compression engine as the HTTP layer sees it. rpc/ sits below daemon/, so the
 * daemon (daemon/components.c) fills this table of function pointers around daemon/compress.c and
 * hangs it on struct cantor_api_ctx.codec; NULL there means no engine (the codec routes answer 503).
 * All functions are called concurrently from HTTP threads and must be thread-safe. Output goes to
 * the caller's buffer, whose max bounds it.
 */
#ifndef CANTOR_RPC_API_CODEC_H
#define CANTOR_RPC_API_CODEC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"

struct cantor_api_codec_stats {
    uint64_t blocks, chunks, raw_bytes, stored_bytes;
    uint64_t per_codec[4]; /* blocks by the codec of their chunk: raw, zstd-dict, cm, cm-warm */
    uint8_t active_model[32];
    bool trained;
    uint64_t trainings, promotions, compacted;
    time_t last_training; /* 0 = never */
    uint64_t last_train_first, last_train_last, last_holdout_new, last_holdout_old;
    double last_loss; /* held-out bits per raw byte */
    uint64_t compact_next, compact_end;
    uint32_t blocks_per_chunk; /* stored chunks of several blocks: how many (1: none) */
    uint64_t packed, pack_next;
};

struct cantor_api_codec {
    void *arg;
    /* A chunk (any block's, or a client's) -> canonical delta bytes; errors as cantor_codec_decompress. */
    enum cantor_err (*decode)(void *arg, const uint8_t *chunk, size_t len, struct cantor_buf *out);
    /* Canonical delta bytes -> a cold chunk with the active model. */
    enum cantor_err (*encode)(void *arg, const uint8_t *raw, size_t len, struct cantor_buf *out);
    void (*stats)(void *arg, struct cantor_api_codec_stats *ret);
    /* The model bundle of the model whose hash starts with prefix (plen 0 = the active model). */
    enum cantor_err (*bundle)(void *arg, const uint8_t *prefix, size_t plen, struct cantor_buf *out);
    /* Block n's chunk as this binary decodes it (re-coded first if an upgrade left it stale);
     * *ret_chunk malloc'd, caller frees; CANTOR_ERR_NOT_FOUND: none. */
    enum cantor_err (*chunk)(void *arg, uint64_t n, uint8_t **ret_chunk, size_t *ret_len);
    /* Blocks first .. first + count - 1 as one self-contained chunk (decodes with the model alone);
     * CANTOR_ERR_NOT_FOUND: a block without a stored delta; _INVALID: count out of range. */
    enum cantor_err (*range)(void *arg, uint64_t first, uint64_t count, struct cantor_buf *out);
    /* The stored chunk holding block n, as stored (one block or several); NULL: not offered. */
    enum cantor_err (*stored)(void *arg, uint64_t n, uint8_t **ret_chunk, size_t *ret_len);
};
#define CANTOR_API_RANGE_MAX 32 /* blocks in one range chunk (daemon: CANTOR_COMPRESS_RANGE_MAX) */

/* The codec routes (rpc/handlers_codec.c), listed in the route table of rpc/handlers.c. */
struct cantor_http_request;
struct cantor_http_response;
enum cantor_err cantor_api_h_block_compressed(void *c, const struct cantor_http_request *req,
                                              struct cantor_http_response *resp);
enum cantor_err cantor_api_h_chunk(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp);
enum cantor_err cantor_api_h_compress(void *c, const struct cantor_http_request *req,
                                      struct cantor_http_response *resp);
enum cantor_err cantor_api_h_decompress(void *c, const struct cantor_http_request *req,
                                        struct cantor_http_response *resp);
enum cantor_err cantor_api_h_model(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp);
enum cantor_err cantor_api_h_compression_stats(void *c, const struct cantor_http_request *req,
                                               struct cantor_http_response *resp);

#endif
