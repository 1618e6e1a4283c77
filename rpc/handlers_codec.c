/*
 * handlers_codec.c - the compression routes: GET /v1/blocks/{n}/compressed (the stored chunk, binary;
 * ?count=K: a self-contained chunk of K blocks),
 * POST /v1/compress (canonical delta bytes, a recorded Parity/geth diff as JSON, or JSON lines of
 * entries -> a chunk), POST /v1/decompress (a chunk -> canonical bytes, or JSON with ?format=json) and
 * GET /v1/compression/stats. Coding goes through ctx->codec (rpc/api_codec.h), filled by the daemon.
 *
 * Memory: response bodies are malloc'ed here and freed by rpc/http.c; request bodies are bounded by
 * the server's max_body and, below that, by the chunk/raw limits of core/codec.h.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "core/codec.h"
#include "core/delta.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "rpc/api_codec.h"

static bool no_codec(struct cantor_api_ctx *ctx, struct cantor_http_response *resp)
{
    if (ctx->codec)
        return false;
    cantor_http_reply_error(resp, 503, "the compression engine is not running");
    return true;
}

/* A precise 400 for a chunk the codec refused; other errors go to the server (5xx). */
static enum cantor_err reply_chunk_error(struct cantor_http_response *resp, enum cantor_err err,
                                         const uint8_t *chunk, size_t len)
{
    struct cantor_chunk_info info;
    char hex[67];

    switch (err) {
    case CANTOR_ERR_TRUNCATED:
        return cantor_http_reply_error(resp, 400, "chunk is truncated (%zu bytes)", len);
    case CANTOR_ERR_CHECKSUM:
        return cantor_http_reply_error(resp, 400, "chunk is corrupt: checksum mismatch");
    case CANTOR_ERR_CORRUPT:
        return cantor_http_reply_error(resp, 400, "chunk is corrupt: the payload does not decode");
    case CANTOR_ERR_UNSUPPORTED:
        return cantor_http_reply_error(resp, 400,
                                       "unsupported chunk: not a cantor chunk, or an unknown version "
                                       "or codec");
    case CANTOR_ERR_TOO_LARGE:
        return cantor_http_reply_error(resp, 413, "chunk or its decoded size exceeds the limit");
    case CANTOR_ERR_UNKNOWN_MODEL:
        if (cantor_chunk_parse_header(chunk, len, &info) == CANTOR_OK) {
            cantor_hex_encode(info.model_hash, info.model_hash_len <= 32 ? info.model_hash_len : 32, hex);
            return cantor_http_reply_error(resp, 400, "chunk names an unknown model %s (hash prefix)", hex);
        }
        return cantor_http_reply_error(resp, 400, "chunk names an unknown model");
    case CANTOR_ERR_INVALID:
    case CANTOR_ERR_MISMATCH:
        return cantor_http_reply_error(resp, 400, "chunk is corrupt: %s", cantor_err_str(err));
    default:
        return err;
    }
}

/*
 * ?count=K (2..CANTOR_API_RANGE_MAX): blocks n .. n + K - 1 as one self-contained chunk made now with the
 * active model (decodes offline with its bundle); without it (or K = 1) the stored chunk of block n.
 */
enum cantor_err cantor_api_h_block_compressed(void *c, const struct cantor_http_request *req,
                                              struct cantor_http_response *resp)
{
    static const char *const allowed[] = {"count", NULL};
    struct cantor_api_ctx *ctx = c;
    const char *cs = cantor_http_query(req, "count");
    uint8_t *chunk = NULL;
    size_t len = 0, count = 1;
    char why[96], echo[64];
    uint64_t n;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, allowed) ||
        !cantor_api_resolve_block(ctx, req->params[0], resp, &n))
        return CANTOR_OK;
    if (cantor_params_limit(cs, 1, CANTOR_API_RANGE_MAX, &count, why, sizeof(why))) {
        cantor_params_echo(cs, echo, sizeof(echo));
        return cantor_http_reply_error(resp, 400, "invalid count '%s': %s", echo, why);
    }
    if (count > 1) {
        struct cantor_buf out;
        if (no_codec(ctx, resp))
            return CANTOR_OK;
        if (!ctx->codec->range)
            return cantor_http_reply_error(resp, 404, "this engine makes no chunks of several blocks");
        cantor_buf_init(&out, CANTOR_CHUNK_MAX_LEN);
        err = ctx->codec->range(ctx->codec->arg, n, count, &out);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = cantor_http_reply_error(resp, 404, "blocks %" PRIu64 "..%" PRIu64 " are not all stored", n,
                                          n + count - 1);
        else if (err == CANTOR_ERR_TOO_LARGE)
            err = cantor_http_reply_error(resp, 413, "blocks %" PRIu64 "..%" PRIu64 " exceed the chunk limit",
                                          n, n + count - 1);
        else if (!err) {
            chunk = cantor_buf_detach(&out, &len);
            err = cantor_http_reply_text(resp, 200, "application/octet-stream", (char *)chunk, len);
        }
        cantor_buf_release(&out);
        return err;
    }
    if (ctx->codec && ctx->codec->chunk)
        err = ctx->codec->chunk(ctx->codec->arg, n, &chunk, &len);
    else
        err = cantor_store_get_chunk(ctx->store, n, &chunk, &len);
    if (err == CANTOR_ERR_NOT_FOUND)
        return cantor_http_reply_error(resp, 404, "block %" PRIu64 " has no compressed chunk", n);
    if (err)
        return err;
    return cantor_http_reply_text(resp, 200, "application/octet-stream", (char *)chunk, len);
}

/*
 * GET /v1/chunks/{n}: the chunk cantord stores for block n, as stored. Once final, blocks are packed
 * several to a chunk (its header names them); POST /v1/decompress decodes it to all of them.
 */
enum cantor_err cantor_api_h_chunk(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    uint8_t *chunk = NULL;
    size_t len = 0;
    uint64_t n;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL) || !cantor_api_resolve_block(ctx, req->params[0], resp, &n))
        return CANTOR_OK;
    if (no_codec(ctx, resp))
        return CANTOR_OK;
    if (!ctx->codec->stored)
        return cantor_http_reply_error(resp, 404, "this engine stores no chunks");
    err = ctx->codec->stored(ctx->codec->arg, n, &chunk, &len);
    if (err == CANTOR_ERR_NOT_FOUND)
        return cantor_http_reply_error(resp, 404, "block %" PRIu64 " has no stored chunk", n);
    if (err)
        return err;
    return cantor_http_reply_text(resp, 200, "application/octet-stream", (char *)chunk, len);
}

/* The body as a finished delta: canonical bytes, a recorded diff (JSON), or JSON lines. */
static bool body_to_canonical(const struct cantor_http_request *req, struct cantor_http_response *resp,
                              uint64_t block, struct cantor_buf *raw)
{
    struct cantor_delta *d = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    enum cantor_err err;

    if (req->body_len >= CANTOR_DELTA_MAGIC_LEN &&
        memcmp(req->body, CANTOR_DELTA_MAGIC, CANTOR_DELTA_MAGIC_LEN) == 0) {
        err = cantor_delta_decode(req->body, req->body_len, &d);
        if (err) {
            cantor_http_reply_error(resp, 400, "body is not a valid canonical delta: %s",
                                    cantor_err_str(err));
            return false;
        }
        cantor_delta_free(d);
        if (cantor_buf_append(raw, req->body, req->body_len)) {
            cantor_http_reply_error(resp, 413, "canonical delta exceeds %u bytes", CANTOR_CHUNK_MAX_RAW);
            return false;
        }
        return true;
    }
    root = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    err = root ? cantor_delta_from_recorded(root, NULL, &d) : CANTOR_ERR_JSON;
    json_decref(root);
    /* Not one recorded answer: JSON lines of entries (a single entry line parses as JSON too). */
    if (err)
        err = cantor_delta_from_json_lines((const char *)req->body, req->body_len, block, &d);
    if (err) {
        cantor_http_reply_error(
            resp, 400,
            "body is neither canonical delta bytes, a recorded trace_replayBlockTransactions"
            " / debug_traceBlockByNumber diff, nor JSON lines of entries: %s",
            cantor_err_str(err));
        return false;
    }
    if (block && !d->block_number)
        d->block_number = block;
    err = cantor_delta_encode(d, raw);
    cantor_delta_free(d);
    if (err) {
        cantor_http_reply_error(resp, err == CANTOR_ERR_TOO_LARGE ? 413 : 400, "cannot encode the delta: %s",
                                cantor_err_str(err));
        return false;
    }
    return true;
}

enum cantor_err cantor_api_h_compress(void *c, const struct cantor_http_request *req,
                                      struct cantor_http_response *resp)
{
    static const char *const allowed[] = {"block", NULL};
    struct cantor_api_ctx *ctx = c;
    struct cantor_buf raw, out;
    const char *bs = cantor_http_query(req, "block");
    char why[CANTOR_PARAMS_WHY_LEN];
    uint64_t block = 0;
    size_t len;
    uint8_t *body;
    enum cantor_err err = CANTOR_OK;

    if (cantor_api_reject_query(req, resp, allowed) || no_codec(ctx, resp))
        return CANTOR_OK;
    if (bs && cantor_params_block_number(bs, &block, why, sizeof(why)))
        return cantor_http_reply_error(resp, 400, "invalid block: %s", why);
    if (!req->body_len)
        return cantor_http_reply_error(resp, 400, "empty body: send canonical delta bytes or a JSON diff");
    cantor_buf_init(&raw, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_LEN);
    if (body_to_canonical(req, resp, block, &raw)) {
        err = ctx->codec->encode(ctx->codec->arg, raw.data, raw.len, &out);
        if (err == CANTOR_ERR_TOO_LARGE)
            err = cantor_http_reply_error(resp, 413, "delta too large to compress");
        else if (!err) {
            body = cantor_buf_detach(&out, &len);
            err = cantor_http_reply_text(resp, 200, "application/octet-stream", (char *)body, len);
        }
    }
    cantor_buf_release(&raw);
    cantor_buf_release(&out);
    return err;
}

/* One block's {"number","count","entries"}; *ret_obj is new. */
static enum cantor_err delta_json(const struct cantor_delta *d, json_t **ret_obj)
{
    json_t *entries = json_array(), *e, *o = NULL;
    enum cantor_err err = entries ? CANTOR_OK : CANTOR_ERR_NOMEM;

    for (size_t i = 0; !err && i < d->n_entries; i++) {
        err = cantor_delta_entry_to_json(&d->entries[i], &e);
        if (!err && json_array_append_new(entries, e))
            err = CANTOR_ERR_NOMEM;
    }
    if (!err) {
        o = json_pack("{s:I,s:I,s:o}", "number", (json_int_t)d->block_number, "count",
                      (json_int_t)d->n_entries, "entries", entries);
        entries = NULL;
        if (!o)
            err = CANTOR_ERR_NOMEM;
    }
    json_decref(entries);
    if (!err)
        *ret_obj = o;
    return err;
}

/*
 * The decoded bytes of a chunk as JSON: one block as {"number","count","entries"}; a chunk of several
 * blocks (docs/formats.md) as {"blocks":[…]} of those, in order.
 */
static enum cantor_err reply_delta_json(struct cantor_http_response *resp, const uint8_t *raw, size_t len)
{
    json_t *blocks = json_array(), *o = NULL;
    size_t pos = 0, used = 0;
    enum cantor_err err = blocks ? CANTOR_OK : CANTOR_ERR_NOMEM;

    while (!err && pos < len) {
        struct cantor_delta *d = NULL;
        err = cantor_delta_decode_prefix(raw + pos, len - pos, &used, &d);
        if (!err)
            err = delta_json(d, &o);
        if (!err && json_array_append_new(blocks, o))
            err = CANTOR_ERR_NOMEM;
        pos += used;
        cantor_delta_free(d);
    }
    if (!err && json_array_size(blocks) == 1) {
        err = cantor_http_reply_json(resp, 200, json_incref(json_array_get(blocks, 0)));
    } else if (!err) {
        err = cantor_http_reply_json(resp, 200, json_pack("{s:O}", "blocks", blocks));
    }
    json_decref(blocks);
    return err;
}

enum cantor_err cantor_api_h_decompress(void *c, const struct cantor_http_request *req,
                                        struct cantor_http_response *resp)
{
    static const char *const allowed[] = {"format", NULL};
    struct cantor_api_ctx *ctx = c;
    const char *fmt = cantor_http_query(req, "format");
    struct cantor_buf out;
    bool as_json = false;
    size_t len;
    uint8_t *body;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, allowed) || no_codec(ctx, resp))
        return CANTOR_OK;
    if (fmt && strcmp(fmt, "json") == 0)
        as_json = true;
    else if (fmt && strcmp(fmt, "binary") != 0)
        return cantor_http_reply_error(resp, 400, "format must be 'json' or 'binary'");
    if (req->body_len > CANTOR_CHUNK_MAX_LEN)
        return cantor_http_reply_error(resp, 413, "chunk exceeds %u bytes", CANTOR_CHUNK_MAX_LEN);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
    err = ctx->codec->decode(ctx->codec->arg, req->body, req->body_len, &out);
    if (err)
        err = reply_chunk_error(resp, err, req->body, req->body_len);
    else if (as_json)
        err = reply_delta_json(resp, out.data, out.len);
    else {
        body = cantor_buf_detach(&out, &len);
        err = cantor_http_reply_text(resp, 200, "application/octet-stream", (char *)body, len);
    }
    cantor_buf_release(&out);
    return err;
}

enum cantor_err cantor_api_h_model(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    const char *which = req->params[0];
    uint8_t *prefix = NULL, *body;
    size_t plen = 0, len;
    struct cantor_buf out;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL) || no_codec(ctx, resp))
        return CANTOR_OK;
    if (strcmp(which, "active") != 0) {
        err = cantor_hex_decode_alloc(which, &prefix, &plen);
        if (err || plen == 0 || plen > 32) {
            free(prefix);
            return cantor_http_reply_error(
                resp, 400, "model must be 'active' or a 0x-hex hash or hash prefix of 1..32 bytes");
        }
    }
    cantor_buf_init(&out, CANTOR_CODEC_BUNDLE_MAX_BYTES);
    err = ctx->codec->bundle(ctx->codec->arg, prefix, plen, &out);
    free(prefix);
    if (err == CANTOR_ERR_UNKNOWN_MODEL) {
        err = cantor_http_reply_error(resp, 404, "no model version %s (unknown, ambiguous prefix, or pruned)",
                                      which);
    } else if (!err) {
        body = cantor_buf_detach(&out, &len);
        err = cantor_http_reply_text(resp, 200, "application/octet-stream", (char *)body, len);
    }
    cantor_buf_release(&out);
    return err;
}

enum cantor_err cantor_api_h_compression_stats(void *c, const struct cantor_http_request *req,
                                               struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    struct cantor_api_codec_stats st;
    char model[67];
    json_t *per, *train;

    if (cantor_api_reject_query(req, resp, NULL) || no_codec(ctx, resp))
        return CANTOR_OK;
    memset(&st, 0, sizeof(st));
    ctx->codec->stats(ctx->codec->arg, &st);
    cantor_hex_encode(st.active_model, 32, model);
    per = json_object();
    for (int i = 0; per && i < 4; i++)
        json_object_set_new(per, cantor_codec_name((uint8_t)i), json_integer((json_int_t)st.per_codec[i]));
    train =
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "trainings", (json_int_t)st.trainings, "promotions",
                  (json_int_t)st.promotions, "lastTrainingTime", (json_int_t)st.last_training,
                  "lastFirstBlock", (json_int_t)st.last_train_first, "lastLastBlock",
                  (json_int_t)st.last_train_last, "heldOutBytesNew", (json_int_t)st.last_holdout_new,
                  "heldOutBytesActive", (json_int_t)st.last_holdout_old, "heldOutBitsPerByte", st.last_loss);
    return cantor_http_reply_json(
        resp, 200,
        json_pack("{s:I,s:I,s:I,s:I,s:f,s:o,s:s,s:b,s:o,s:{s:I,s:I,s:I},s:{s:i,s:I,s:I}}", "blocks",
                  (json_int_t)st.blocks, "chunks", (json_int_t)st.chunks, "rawBytes",
                  (json_int_t)st.raw_bytes, "storedBytes", (json_int_t)st.stored_bytes, "ratio",
                  st.stored_bytes ? (double)st.raw_bytes / (double)st.stored_bytes : 0.0, "perCodec", per,
                  "activeModel", model, "trained", st.trained, "lastTraining", train, "compaction",
                  "chunksReencoded", (json_int_t)st.compacted, "next", (json_int_t)st.compact_next, "end",
                  (json_int_t)st.compact_end, "packing", "blocksPerChunk", (int)st.blocks_per_chunk,
                  "chunksPacked", (json_int_t)st.packed, "next", (json_int_t)st.pack_next));
}
