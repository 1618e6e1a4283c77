/*
 * handlers_proofs.c - checkpoints and proofs over HTTP: /v1/checkpoint[s], /v1/proofs/delta,
 * /v1/proofs/state, POST /v1/verify, and the ABI encoding of proofs for contracts. Everything is
 * built by the daemon through ctx->commit (struct cantor_commit_view); without it these routes
 * answer 503. docs/api.md has the answer shapes, docs/formats.md "ABI proof encoding" the layout.
 *
 * Memory: proof documents and buffers are freed before return, except the response body.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "core/buf.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/proof.h"

#define ABI_MAX (64u << 10)

static const char *const proof_query[] = {"kind", "format", "block", NULL};

static bool need_commit(struct cantor_api_ctx *ctx, struct cantor_http_response *resp)
{
    if (ctx->commit)
        return true;
    cantor_http_reply_error(resp, 503, "commitments are not enabled in this cantord");
    return false;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * 72 + 3];

    if (n > 72)
        return NULL;
    cantor_hex_encode(p, n, hex);
    return json_string(hex);
}

static json_t *quantity_json(uint64_t v)
{
    char s[24];

    snprintf(s, sizeof(s), "0x%" PRIx64, v);
    return json_string(s);
}

static json_t *checkpoint_json(const struct cantor_checkpoint *cp, const struct cantor_checkpoint_sigs *sigs,
                               const uint8_t signer[20])
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "chainId", quantity_json(cp->chain_id), "number",
                     quantity_json(cp->number), "blockHash", hex_json(cp->block_hash, 32), "mmrRoot",
                     hex_json(cp->mmr_root, 32), "ed25519", hex_json(sigs->ed25519, CANTOR_ED25519_SIG_LEN),
                     "secp256k1", hex_json(sigs->secp256k1, CANTOR_SECP_SIG_LEN), "signer",
                     hex_json(signer, 20));
}

enum cantor_err cantor_api_h_checkpoint_keys(void *c, const struct cantor_http_request *req,
                                             struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    uint8_t pk[32], addr[20];

    if (cantor_api_reject_query(req, resp, NULL) || !need_commit(ctx, resp))
        return CANTOR_OK;
    ctx->commit->keys(ctx->commit->arg, pk, addr);
    return cantor_http_reply_json(
        resp, 200, json_pack("{s:o,s:o}", "ed25519", hex_json(pk, 32), "ethAddress", hex_json(addr, 20)));
}

static enum cantor_err reply_checkpoint(struct cantor_api_ctx *ctx, struct cantor_http_response *resp,
                                        const struct cantor_checkpoint *cp,
                                        const struct cantor_checkpoint_sigs *sigs)
{
    uint8_t pk[32], addr[20];

    ctx->commit->keys(ctx->commit->arg, pk, addr);
    return cantor_http_reply_json(resp, 200, checkpoint_json(cp, sigs, addr));
}

static enum cantor_err get_checkpoint(struct cantor_api_ctx *ctx, const struct cantor_http_request *req,
                                      struct cantor_http_response *resp, const char *which)
{
    struct cantor_checkpoint cp;
    struct cantor_checkpoint_sigs sigs;
    char why[CANTOR_PARAMS_WHY_LEN], echo[64];
    uint64_t n = UINT64_MAX;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL) || !need_commit(ctx, resp))
        return CANTOR_OK;
    if (which && strcmp(which, "latest") != 0 && cantor_params_block_number(which, &n, why, sizeof(why))) {
        cantor_params_echo(which, echo, sizeof(echo));
        return cantor_http_reply_error(resp, 400, "invalid block '%s': %s", echo, why);
    }
    err = ctx->commit->get_checkpoint(ctx->commit->arg, n, &cp, &sigs);
    if (err == CANTOR_ERR_NOT_FOUND)
        return n == UINT64_MAX ? cantor_http_reply_error(resp, 404, "no checkpoint has been signed yet")
                               : cantor_http_reply_error(resp, 404, "no checkpoint at block %" PRIu64, n);
    if (err)
        return err;
    return reply_checkpoint(ctx, resp, &cp, &sigs);
}

enum cantor_err cantor_api_h_checkpoint_latest(void *c, const struct cantor_http_request *req,
                                               struct cantor_http_response *resp)
{
    return get_checkpoint(c, req, resp, NULL);
}

enum cantor_err cantor_api_h_checkpoint_n(void *c, const struct cantor_http_request *req,
                                          struct cantor_http_response *resp)
{
    return get_checkpoint(c, req, resp, req->params[0]);
}

enum cantor_err cantor_api_h_checkpoint_make(void *c, const struct cantor_http_request *req,
                                             struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    struct cantor_checkpoint cp;
    struct cantor_checkpoint_sigs sigs;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL) || !need_commit(ctx, resp))
        return CANTOR_OK;
    if (req->body_len && !(req->body_len == 2 && memcmp(req->body, "{}", 2) == 0))
        return cantor_http_reply_error(resp, 400, "POST /v1/checkpoint takes no request body (or {})");
    err = ctx->commit->make_checkpoint(ctx->commit->arg, &cp, &sigs);
    if (err == CANTOR_ERR_NOT_FOUND)
        return cantor_http_reply_error(resp, 404, "no block has been followed yet");
    if (err)
        return err;
    return reply_checkpoint(ctx, resp, &cp, &sigs);
}

/* ---- ABI ---- */

struct abi {
    struct cantor_buf head, tail;
    size_t head_words;
    enum cantor_err err;
};

static void abi_word(struct abi *a, const uint8_t w[32])
{
    if (!a->err)
        a->err = cantor_buf_append(&a->head, w, 32);
}

static void abi_uint(struct abi *a, uint64_t v)
{
    uint8_t w[32] = {0};

    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
    abi_word(a, w);
}

static void abi_addr(struct abi *a, const uint8_t addr[20])
{
    uint8_t w[32] = {0};

    memcpy(w + 12, addr, 20);
    abi_word(a, w);
}

static void abi_offset(struct abi *a)
{
    abi_uint(a, a->head_words * 32 + a->tail.len);
}

static void abi_tail_uint(struct abi *a, uint64_t v)
{
    uint8_t w[32] = {0};

    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
    if (!a->err)
        a->err = cantor_buf_append(&a->tail, w, 32);
}

static void abi_words(struct abi *a, const uint8_t (*w)[32], size_t n)
{
    abi_offset(a);
    abi_tail_uint(a, n);
    if (!a->err && n)
        a->err = cantor_buf_append(&a->tail, w, n * 32);
}

static void abi_bytes(struct abi *a, const uint8_t *p, size_t n)
{
    static const uint8_t zero[32];

    abi_offset(a);
    abi_tail_uint(a, n);
    if (!a->err && n)
        a->err = cantor_buf_append(&a->tail, p, n);
    if (!a->err && n % 32)
        a->err = cantor_buf_append(&a->tail, zero, 32 - n % 32);
}

enum cantor_err cantor_api_proof_abi(const struct cantor_proof_doc *doc, struct cantor_buf *out)
{
    static const uint8_t zero[32];
    struct abi a = {.head_words = doc->type == CANTOR_PROOF_DELTA ? 19 : 24};
    const struct cantor_delta_entry *e = &doc->entry;
    enum cantor_err err;

    cantor_buf_init(&a.head, ABI_MAX);
    cantor_buf_init(&a.tail, ABI_MAX);
    abi_uint(&a, doc->block.number);
    abi_addr(&a, e->addr);
    abi_uint(&a, e->kind);
    abi_word(&a, e->slot);
    if (doc->type == CANTOR_PROOF_DELTA) {
        abi_word(&a, e->old_val);
        abi_word(&a, e->new_val);
        abi_words(&a, (const uint8_t(*)[32])doc->delta_path, doc->n_delta_path);
    } else {
        abi_uint(&a, doc->present);
        abi_word(&a, doc->present ? doc->value : zero);
        abi_uint(&a, doc->smt.term);
        abi_word(&a, doc->smt.term == CANTOR_SMT_TERM_EMPTY ? zero : doc->smt.leaf_key);
        abi_word(&a, doc->smt.term == CANTOR_SMT_TERM_EMPTY ? zero : doc->smt.leaf_value);
        abi_uint(&a, doc->smt.depth);
        abi_word(&a, doc->smt.bitmap);
        abi_words(&a, (const uint8_t(*)[32])doc->smt.siblings, doc->smt.n_siblings);
    }
    abi_word(&a, doc->block.delta_root);
    abi_word(&a, doc->block.state_root);
    abi_word(&a, doc->block.hash);
    abi_uint(&a, doc->mmr.leaf_index);
    abi_uint(&a, doc->mmr.leaf_count);
    abi_words(&a, (const uint8_t(*)[32])doc->mmr.siblings, doc->mmr.n_siblings);
    abi_words(&a, (const uint8_t(*)[32])doc->mmr.peaks, doc->mmr.n_peaks);
    abi_uint(&a, doc->checkpoint.chain_id);
    abi_uint(&a, doc->checkpoint.number);
    abi_word(&a, doc->checkpoint.block_hash);
    abi_word(&a, doc->checkpoint.mmr_root);
    abi_bytes(&a, doc->sigs.secp256k1, CANTOR_SECP_SIG_LEN);
    err = a.err;
    if (!err && a.head.len != a.head_words * 32)
        err = CANTOR_ERR_INVALID; /* the layout table and the code disagree */
    if (!err) {
        uint8_t w[32] = {0};

        w[31] = 0x20; /* a dynamic struct: offset of the tuple */
        err = cantor_buf_append(out, w, 32);
    }
    if (!err)
        err = cantor_buf_append(out, a.head.data, a.head.len);
    if (!err)
        err = cantor_buf_append(out, a.tail.data, a.tail.len);
    cantor_buf_release(&a.head);
    cantor_buf_release(&a.tail);
    return err;
}

/* ---- proofs ---- */

static bool parse_kind(const struct cantor_http_request *req, struct cantor_http_response *resp, bool storage,
                       uint8_t *ret_kind)
{
    const char *k = cantor_http_query(req, "kind");
    char echo[32];

    if (storage) {
        if (k && strcmp(k, "storage") != 0) {
            cantor_http_reply_error(resp, 400, "kind must be absent (or storage) for a storage slot");
            return false;
        }
        *ret_kind = CANTOR_KIND_STORAGE;
        return true;
    }
    if (!k) {
        cantor_http_reply_error(resp, 400, "kind is required: balance, nonce or code");
        return false;
    }
    for (uint8_t i = CANTOR_KIND_BALANCE; i <= CANTOR_KIND_CODE; i++) {
        if (strcmp(k, cantor_delta_kind_name(i)) == 0) {
            *ret_kind = i;
            return true;
        }
    }
    cantor_params_echo(k, echo, sizeof(echo));
    cantor_http_reply_error(resp, 400, "invalid kind '%s': balance, nonce or code", echo);
    return false;
}

static enum cantor_err reply_doc(struct cantor_http_response *resp, const struct cantor_proof_doc *doc,
                                 bool abi)
{
    struct cantor_buf b;
    uint8_t *body;
    size_t len;
    enum cantor_err err;

    if (abi) {
        json_t *o;
        char *hex;

        cantor_buf_init(&b, ABI_MAX);
        err = cantor_api_proof_abi(doc, &b);
        if (err) {
            cantor_buf_release(&b);
            return err;
        }
        hex = malloc(2 * b.len + 3);
        if (!hex) {
            cantor_buf_release(&b);
            return CANTOR_ERR_NOMEM;
        }
        cantor_hex_encode(b.data, b.len, hex);
        o = json_pack("{s:s,s:s,s:I}", "type", doc->type == CANTOR_PROOF_DELTA ? "delta" : "state", "abi",
                      hex, "bytes", (json_int_t)b.len);
        free(hex);
        cantor_buf_release(&b);
        return cantor_http_reply_json(resp, 200, o);
    }
    cantor_buf_init(&b, CANTOR_PROOF_MAX_JSON);
    err = cantor_proof_to_json(doc, &b);
    if (err) {
        cantor_buf_release(&b);
        return err;
    }
    body = cantor_buf_detach(&b, &len);
    return cantor_http_reply_text(resp, 200, "application/json", (char *)body, len);
}

static bool parse_format(const struct cantor_http_request *req, struct cantor_http_response *resp,
                         bool *ret_abi)
{
    const char *f = cantor_http_query(req, "format");

    *ret_abi = false;
    if (!f || strcmp(f, "json") == 0)
        return true;
    if (strcmp(f, "abi") == 0) {
        *ret_abi = true;
        return true;
    }
    cantor_http_reply_error(resp, 400, "format must be json or abi");
    return false;
}

static bool parse_addr_slot(const struct cantor_http_request *req, struct cantor_http_response *resp,
                            unsigned ai, bool storage, uint8_t addr[20], uint8_t slot[32])
{
    char why[CANTOR_PARAMS_WHY_LEN], echo[80];

    memset(slot, 0, 32);
    if (cantor_params_address(req->params[ai], addr, why, sizeof(why))) {
        cantor_params_echo(req->params[ai], echo, sizeof(echo));
        cantor_http_reply_error(resp, 400, "invalid address '%s': %s", echo, why);
        return false;
    }
    if (storage && cantor_params_word(req->params[ai + 1], slot, why, sizeof(why))) {
        cantor_params_echo(req->params[ai + 1], echo, sizeof(echo));
        cantor_http_reply_error(resp, 400, "invalid storage slot '%s': %s", echo, why);
        return false;
    }
    return true;
}

static enum cantor_err prove(struct cantor_api_ctx *ctx, const struct cantor_http_request *req,
                             struct cantor_http_response *resp, bool state, bool storage)
{
    static const char *const delta_query[] = {"kind", "format", NULL};
    struct cantor_proof_doc *doc = NULL;
    uint8_t addr[20], slot[32], kind;
    uint64_t n;
    bool abi;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, state ? proof_query : delta_query) || !need_commit(ctx, resp))
        return CANTOR_OK;
    if (!parse_format(req, resp, &abi) || !parse_kind(req, resp, storage, &kind) ||
        !parse_addr_slot(req, resp, state ? 0 : 1, storage, addr, slot) ||
        !cantor_api_resolve_block(ctx, state ? cantor_http_query(req, "block") : req->params[0], resp, &n))
        return CANTOR_OK;
    err = ctx->commit->prove(ctx->commit->arg, state, n, addr, kind, slot, &doc);
    if (err == CANTOR_ERR_NOT_FOUND)
        return state ? cantor_http_reply_error(resp, 404, "no state root for block %" PRIu64, n)
                     : cantor_http_reply_error(resp, 404,
                                               "this key did not change in block %" PRIu64
                                               " (or the block has no roots / its delta is pruned)",
                                               n);
    if (err == CANTOR_ERR_REORG)
        return cantor_http_reply_error(resp, 409,
                                       "a reorg changed the chain while the proof was built; retry");
    if (err == CANTOR_ERR_UNSUPPORTED && state)
        return cantor_http_reply_error(resp, 422,
                                       "the value of this key at block %" PRIu64
                                       " is known to cantord but not "
                                       "committed in its state tree (it never changed up to that block); a "
                                       "non-membership proof would read as zero, so none is given",
                                       n);
    if (!err)
        err = reply_doc(resp, doc, abi);
    cantor_proof_doc_free(doc);
    return err;
}

enum cantor_err cantor_api_h_proof_delta(void *c, const struct cantor_http_request *req,
                                         struct cantor_http_response *resp)
{
    return prove(c, req, resp, false, false);
}

enum cantor_err cantor_api_h_proof_delta_storage(void *c, const struct cantor_http_request *req,
                                                 struct cantor_http_response *resp)
{
    return prove(c, req, resp, false, true);
}

enum cantor_err cantor_api_h_proof_state(void *c, const struct cantor_http_request *req,
                                         struct cantor_http_response *resp)
{
    return prove(c, req, resp, true, false);
}

enum cantor_err cantor_api_h_proof_state_storage(void *c, const struct cantor_http_request *req,
                                                 struct cantor_http_response *resp)
{
    return prove(c, req, resp, true, true);
}

enum cantor_err cantor_api_h_verify(void *c, const struct cantor_http_request *req,
                                    struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    struct cantor_proof_report r;
    uint8_t pk[32], addr[20];
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL) || !need_commit(ctx, resp))
        return CANTOR_OK;
    if (req->body_len == 0 || req->body_len > CANTOR_PROOF_MAX_JSON)
        return cantor_http_reply_error(resp, req->body_len ? 413 : 400,
                                       "the body must be one proof document v1 of at most %u bytes",
                                       CANTOR_PROOF_MAX_JSON);
    ctx->commit->keys(ctx->commit->arg, pk, addr);
    memset(&r, 0, sizeof(r));
    err = cantor_proof_verify_json((const char *)req->body, req->body_len, pk, addr, &r);
    r.message[sizeof(r.message) - 1] = 0;
    if (err)
        return cantor_http_reply_json(resp, 200,
                                      json_pack("{s:b,s:s,s:s}", "valid", 0, "failed",
                                                cantor_proof_check_name(r.failed), "message", r.message));
    return cantor_http_reply_json(
        resp, 200,
        json_pack("{s:b,s:I,s:I,s:b,s:o}", "valid", 1, "block", (json_int_t)r.block_number, "checkpoint",
                  (json_int_t)r.checkpoint_number, "present", r.present, "value", hex_json(r.value, 32)));
}
