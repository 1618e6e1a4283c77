/*
 * handlers_state.c - read endpoints over the store: /v1/blocks/{n}[/delta], /v1/state/{address}
 * [/storage/{slot}] and /v1/history/{address}[/storage/{slot}]. Values come from the store's history
 * index (storage/store.h), never from replaying deltas; a key cantord never saw change is reported as
 * unknown (404 with "known": false), never guessed as zero. docs/api.md has the answer shapes.
 *
 * Memory: everything allocated here is freed before return except the response body (rpc/http.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/keccak.h"

/* Balance and nonce print as minimal quantities, code hashes and storage as 32-byte words. */
static json_t *value_json(uint8_t kind, const uint8_t v[32])
{
    char hex[67];

    if (kind == CANTOR_KIND_BALANCE || kind == CANTOR_KIND_NONCE)
        cantor_hex_encode_quantity(v, hex);
    else
        cantor_hex_encode(v, 32, hex);
    return json_string(hex);
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char hex[67];

    if (n > 32)
        return NULL;
    cantor_hex_encode(p, n, hex);
    return json_string(hex);
}

static bool parse_address(const char *s, struct cantor_http_response *resp, uint8_t addr[20])
{
    char why[CANTOR_PARAMS_WHY_LEN], echo[64];

    if (!cantor_params_address(s, addr, why, sizeof(why)))
        return true;
    cantor_params_echo(s, echo, sizeof(echo));
    cantor_http_reply_error(resp, 400, "invalid address '%s': %s", echo, why);
    return false;
}

static bool parse_slot(const char *s, struct cantor_http_response *resp, uint8_t slot[32])
{
    char why[CANTOR_PARAMS_WHY_LEN], echo[80];

    if (!cantor_params_word(s, slot, why, sizeof(why)))
        return true;
    cantor_params_echo(s, echo, sizeof(echo));
    cantor_http_reply_error(resp, 400, "invalid storage slot '%s': %s", echo, why);
    return false;
}

/* 404 body for "cantord does not know this value": the error envelope plus "known": false. */
static enum cantor_err reply_unknown(struct cantor_http_response *resp, const char *what, uint64_t block)
{
    char msg[256];

    snprintf(msg, sizeof(msg),
             "%s: unknown at block %" PRIu64 " (cantord never saw it change in the followed blocks)", what,
             block);
    return cantor_http_reply_json(resp, 404,
                                  json_pack("{s:{s:i,s:s},s:b,s:I}", "error", "code", 404, "message", msg,
                                            "known", 0, "block", (json_int_t)block));
}

static enum cantor_err reply_pruned(struct cantor_http_response *resp, uint64_t block)
{
    return cantor_http_reply_error(resp, 404, "block %" PRIu64 " is outside the retained history", block);
}

enum cantor_err cantor_api_h_block(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    struct cantor_block_meta m = {0};
    struct cantor_delta *d = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0, by_kind[4] = {0}, accounts = 0;
    json_t *o = NULL;
    uint64_t n;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL) || !cantor_api_resolve_block(ctx, req->params[0], resp, &n))
        return CANTOR_OK;
    err = cantor_store_get_header(ctx->store, n, &m);
    if (err)
        goto out;
    o = json_pack("{s:I,s:o,s:o,s:o,s:I,s:I}", "number", (json_int_t)n, "hash", hex_json(m.hash, 32),
                  "parentHash", hex_json(m.parent_hash, 32), "stateRoot", hex_json(m.state_root, 32),
                  "timestamp", (json_int_t)m.timestamp, "headerRlpBytes", (json_int_t)m.header_rlp_len);
    if (!o) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    err = cantor_store_get_delta_bytes(ctx->store, n, &raw, &raw_len);
    if (err == CANTOR_ERR_NOT_FOUND) { /* pruned by retention: header only */
        json_object_set_new(o, "deltaAvailable", json_false());
        err = CANTOR_OK;
        goto reply;
    }
    if (!err)
        err = cantor_delta_decode(raw, raw_len, &d);
    if (err)
        goto out;
    for (size_t i = 0; i < d->n_entries; i++) {
        by_kind[d->entries[i].kind & 3]++;
        if (i == 0 || memcmp(d->entries[i].addr, d->entries[i - 1].addr, 20) != 0)
            accounts++;
    }
    err = json_object_set_new(o, "deltaAvailable", json_true()) ||
                  json_object_set_new(o, "deltaBytes", json_integer((json_int_t)raw_len)) ||
                  json_object_set_new(o, "entries", json_integer((json_int_t)d->n_entries)) ||
                  json_object_set_new(o, "accounts", json_integer((json_int_t)accounts)) ||
                  json_object_set_new(o, "codes", json_integer((json_int_t)d->n_codes)) ||
                  json_object_set_new(o, "entriesByKind",
                                      json_pack("{s:I,s:I,s:I,s:I}", "balance", (json_int_t)by_kind[0],
                                                "nonce", (json_int_t)by_kind[1], "code",
                                                (json_int_t)by_kind[2], "storage", (json_int_t)by_kind[3]))
              ? CANTOR_ERR_NOMEM
              : CANTOR_OK;
    if (err)
        goto out;
reply:
    err = cantor_http_reply_json(resp, 200, o);
    o = NULL;
out:
    json_decref(o);
    cantor_delta_free(d);
    free(raw);
    cantor_block_meta_release(&m);
    return err;
}

enum cantor_err cantor_api_h_block_delta(void *c, const struct cantor_http_request *req,
                                         struct cantor_http_response *resp)
{
    struct cantor_api_ctx *ctx = c;
    struct cantor_delta *d = NULL;
    uint8_t hash[32];
    json_t *entries = NULL, *e;
    uint64_t n;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, NULL) || !cantor_api_resolve_block(ctx, req->params[0], resp, &n))
        return CANTOR_OK;
    err = cantor_store_get_block_hash(ctx->store, n, hash);
    if (!err)
        err = cantor_store_get_delta(ctx->store, n, &d);
    if (err == CANTOR_ERR_NOT_FOUND)
        return reply_pruned(resp, n);
    if (err)
        return err;
    entries = json_array();
    if (!entries) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < d->n_entries; i++) {
        err = cantor_delta_entry_to_json(&d->entries[i], &e);
        if (err)
            goto out;
        if (json_array_append_new(entries, e)) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
    }
    err = cantor_http_reply_json(resp, 200,
                                 json_pack("{s:I,s:o,s:I,s:o}", "number", (json_int_t)n, "hash",
                                           hex_json(hash, 32), "count", (json_int_t)d->n_entries, "entries",
                                           entries));
    entries = NULL;
out:
    json_decref(entries);
    cantor_delta_free(d);
    return err;
}

enum cantor_err cantor_api_h_state(void *c, const struct cantor_http_request *req,
                                   struct cantor_http_response *resp)
{
    static const char *const allowed[] = {"block", NULL};
    struct cantor_api_ctx *ctx = c;
    uint8_t addr[20], v[3][32];
    bool known[3];
    size_t code_len = 0;
    json_t *o, *code_size = json_null();
    uint64_t n;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, allowed) || !parse_address(req->params[0], resp, addr) ||
        !cantor_api_resolve_block(ctx, cantor_http_query(req, "block"), resp, &n))
        return CANTOR_OK;
    err = cantor_store_get_account(ctx->store, addr, n, v, known);
    if (err == CANTOR_ERR_NOT_FOUND)
        return reply_pruned(resp, n);
    if (err)
        return err;
    if (!known[0] && !known[1] && !known[2])
        return reply_unknown(resp, "account state", n);
    if (known[2]) {
        if (memcmp(v[2], CANTOR_KECCAK_EMPTY, 32) == 0) {
            code_size = json_integer(0);
        } else {
            err = cantor_store_get_code_size(ctx->store, v[2], &code_len);
            if (!err)
                code_size = json_integer((json_int_t)code_len);
            else if (err != CANTOR_ERR_NOT_FOUND)
                return err;
        }
    }
    o = json_pack("{s:o,s:I,s:o?,s:o?,s:o?,s:o?,s:{s:b,s:b,s:b}}", "address", hex_json(addr, 20), "block",
                  (json_int_t)n, "balance", known[0] ? value_json(CANTOR_KIND_BALANCE, v[0]) : NULL, "nonce",
                  known[1] ? value_json(CANTOR_KIND_NONCE, v[1]) : NULL, "codeHash",
                  known[2] ? hex_json(v[2], 32) : NULL, "codeSize", code_size, "known", "balance", known[0],
                  "nonce", known[1], "code", known[2]);
    return cantor_http_reply_json(resp, 200, o);
}

enum cantor_err cantor_api_h_storage(void *c, const struct cantor_http_request *req,
                                     struct cantor_http_response *resp)
{
    static const char *const allowed[] = {"block", NULL};
    struct cantor_api_ctx *ctx = c;
    uint8_t addr[20], slot[32], v[32];
    bool known;
    uint64_t n;
    enum cantor_err err;

    if (cantor_api_reject_query(req, resp, allowed) || !parse_address(req->params[0], resp, addr) ||
        !parse_slot(req->params[1], resp, slot) ||
        !cantor_api_resolve_block(ctx, cantor_http_query(req, "block"), resp, &n))
        return CANTOR_OK;
    err = cantor_store_get_value(ctx->store, addr, CANTOR_KIND_STORAGE, slot, n, v, &known);
    if (err == CANTOR_ERR_NOT_FOUND)
        return reply_pruned(resp, n);
    if (err)
        return err;
    if (!known)
        return reply_unknown(resp, "storage slot", n);
    return cantor_http_reply_json(resp, 200,
                                  json_pack("{s:o,s:o,s:I,s:o,s:b}", "address", hex_json(addr, 20), "slot",
                                            hex_json(slot, 32), "block", (json_int_t)n, "value",
                                            hex_json(v, 32), "known", 1));
}

static enum cantor_err history(struct cantor_api_ctx *ctx, const struct cantor_http_request *req,
                               struct cantor_http_response *resp, const uint8_t addr[20], uint8_t kind,
                               const uint8_t *slot)
{
    char why[CANTOR_PARAMS_WHY_LEN], echo[64];
    const char *s;
    uint64_t from = 0, next, *blocks = NULL;
    size_t limit, n = 0;
    json_t *changes = NULL, *o;
    uint8_t v[32];
    bool known;
    enum cantor_err err;

    s = cantor_http_query(req, "from");
    if (s && cantor_params_block_number(s, &from, why, sizeof(why))) {
        cantor_params_echo(s, echo, sizeof(echo));
        return cantor_http_reply_error(resp, 400, "invalid from '%s': %s", echo, why);
    }
    s = cantor_http_query(req, "limit");
    if (cantor_params_limit(s, CANTOR_API_HISTORY_LIMIT_DEFAULT, CANTOR_API_HISTORY_LIMIT_MAX, &limit, why,
                            sizeof(why))) {
        cantor_params_echo(s, echo, sizeof(echo));
        return cantor_http_reply_error(resp, 400, "invalid limit '%s': %s", echo, why);
    }
    blocks = calloc(limit, sizeof(*blocks));
    changes = json_array();
    if (!blocks || !changes) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    err = cantor_store_history(ctx->store, addr, kind, slot, from, limit, blocks, &n, &next);
    if (err)
        goto out;
    for (size_t i = 0; i < n; i++) {
        err = cantor_store_get_value(ctx->store, addr, kind, slot, blocks[i], v, &known);
        if (err)
            goto out;
        if (json_array_append_new(changes, json_pack("{s:I,s:o}", "block", (json_int_t)blocks[i], "value",
                                                     value_json(kind, v)))) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
    }
    o = json_pack("{s:o,s:s,s:o?,s:I,s:o,s:o}", "address", hex_json(addr, 20), "kind",
                  cantor_delta_kind_name(kind), "slot", slot ? hex_json(slot, 32) : NULL, "from",
                  (json_int_t)from, "changes", changes, "next",
                  next == CANTOR_STORE_END ? json_null() : json_integer((json_int_t)next));
    changes = NULL;
    err = cantor_http_reply_json(resp, 200, o);
out:
    json_decref(changes);
    free(blocks);
    return err;
}

enum cantor_err cantor_api_h_history(void *c, const struct cantor_http_request *req,
                                     struct cantor_http_response *resp)
{
    static const char *const allowed[] = {"kind", "from", "limit", NULL};
    uint8_t addr[20], kind;
    const char *k;
    char echo[32];

    if (cantor_api_reject_query(req, resp, allowed) || !parse_address(req->params[0], resp, addr))
        return CANTOR_OK;
    k = cantor_http_query(req, "kind");
    if (!k)
        return cantor_http_reply_error(resp, 400, "missing query parameter 'kind' (balance, nonce or code)");
    if (strcmp(k, "balance") == 0)
        kind = CANTOR_KIND_BALANCE;
    else if (strcmp(k, "nonce") == 0)
        kind = CANTOR_KIND_NONCE;
    else if (strcmp(k, "code") == 0)
        kind = CANTOR_KIND_CODE;
    else {
        cantor_params_echo(k, echo, sizeof(echo));
        return cantor_http_reply_error(resp, 400, "invalid kind '%s': want balance, nonce or code", echo);
    }
    return history(c, req, resp, addr, kind, NULL);
}

enum cantor_err cantor_api_h_history_storage(void *c, const struct cantor_http_request *req,
                                             struct cantor_http_response *resp)
{
    static const char *const allowed[] = {"from", "limit", NULL};
    uint8_t addr[20], slot[32];

    if (cantor_api_reject_query(req, resp, allowed) || !parse_address(req->params[0], resp, addr) ||
        !parse_slot(req->params[1], resp, slot))
        return CANTOR_OK;
    return history(c, req, resp, addr, CANTOR_KIND_STORAGE, slot);
}
