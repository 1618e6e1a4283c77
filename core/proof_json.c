/*
 * proof_json.c - eth_getProof answers from JSON, and their verification (see proof_json.h).
 * Owner: engineer "mpt". The parsed struct owns copies of every byte string; jansson objects live
 * only inside cantor_proof_json_parse().
 */
#include "proof_json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "keccak.h"

#define CODE_HEX_MAX (2u * 1024 * 1024) /* hex digits: EIP-170 caps code at 24 KiB, leave slack */

static void set_msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_msg(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (!buf || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

void cantor_eth_proof_free(struct cantor_eth_proof *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_account_nodes; i++)
        free((void *)p->account_nodes[i].data);
    free(p->account_nodes);
    for (size_t s = 0; s < p->n_storage; s++) {
        for (size_t i = 0; i < p->storage[s].n_nodes; i++)
            free((void *)p->storage[s].nodes[i].data);
        free(p->storage[s].nodes);
    }
    free(p->storage);
    free(p->code);
    free(p);
}

/* A member that must be a string; NULL (with a message) if absent or of another type. */
static const char *get_str(const json_t *obj, const char *name, const char *ctx, char *errbuf, size_t errlen)
{
    const json_t *v = json_object_get(obj, name);

    if (!v) {
        set_msg(errbuf, errlen, "%s: missing member \"%s\"", ctx, name);
        return NULL;
    }
    if (!json_is_string(v)) {
        set_msg(errbuf, errlen, "%s: \"%s\" must be a string", ctx, name);
        return NULL;
    }
    return json_string_value(v);
}

static enum cantor_err parse_nodes(const json_t *arr, const char *ctx, struct cantor_bytes **ret_nodes,
                                   size_t *ret_n, char *errbuf, size_t errlen)
{
    struct cantor_bytes *nodes = NULL;
    size_t n, i;
    enum cantor_err err = CANTOR_OK;

    *ret_nodes = NULL;
    *ret_n = 0;
    if (!json_is_array(arr)) {
        set_msg(errbuf, errlen, "%s: must be an array of hex strings", ctx);
        return CANTOR_ERR_JSON;
    }
    n = json_array_size(arr);
    if (n > CANTOR_MPT_MAX_NODES) {
        set_msg(errbuf, errlen, "%s: %zu nodes, more than %d", ctx, n, CANTOR_MPT_MAX_NODES);
        return CANTOR_ERR_TOO_LARGE;
    }
    if (n == 0)
        return CANTOR_OK;
    nodes = calloc(n, sizeof(*nodes));
    if (!nodes)
        return CANTOR_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        uint8_t *data = NULL;
        size_t len = 0;

        if (!json_is_string(v)) {
            set_msg(errbuf, errlen, "%s[%zu]: must be a string", ctx, i);
            err = CANTOR_ERR_JSON;
            goto out;
        }
        if (json_string_length(v) > 2 * CANTOR_MPT_MAX_NODE_LEN + 2) {
            set_msg(errbuf, errlen, "%s[%zu]: node longer than %d bytes", ctx, i, CANTOR_MPT_MAX_NODE_LEN);
            err = CANTOR_ERR_TOO_LARGE;
            goto out;
        }
        err = cantor_hex_decode_alloc(json_string_value(v), &data, &len);
        if (err) {
            set_msg(errbuf, errlen, "%s[%zu]: not a hex byte string", ctx, i);
            goto out;
        }
        nodes[i].data = data;
        nodes[i].len = len;
    }
out:
    if (err) {
        for (size_t k = 0; k < i; k++)
            free((void *)nodes[k].data);
        free(nodes);
        return err;
    }
    *ret_nodes = nodes;
    *ret_n = n;
    return CANTOR_OK;
}

static enum cantor_err parse_word(const json_t *obj, const char *name, const char *ctx, uint8_t out[32],
                                  char *errbuf, size_t errlen)
{
    const char *s = get_str(obj, name, ctx, errbuf, errlen);

    if (!s)
        return CANTOR_ERR_JSON;
    if (cantor_hex_decode_word(s, out)) {
        set_msg(errbuf, errlen, "%s: \"%s\" is not a hex quantity of at most 32 bytes", ctx, name);
        return CANTOR_ERR_HEX;
    }
    return CANTOR_OK;
}

static enum cantor_err parse_hash(const json_t *obj, const char *name, const char *ctx, uint8_t out[32],
                                  char *errbuf, size_t errlen)
{
    const char *s = get_str(obj, name, ctx, errbuf, errlen);

    if (!s)
        return CANTOR_ERR_JSON;
    if (strlen(s) != 66 || cantor_hex_decode_exact(s, out, 32)) {
        set_msg(errbuf, errlen, "%s: \"%s\" is not a 32-byte hex string", ctx, name);
        return CANTOR_ERR_HEX;
    }
    return CANTOR_OK;
}

static enum cantor_err parse_account(const json_t *obj, bool helios, struct cantor_account *a, char *errbuf,
                                     size_t errlen)
{
    const char *ctx = helios ? "account" : "result";
    const char *s;
    enum cantor_err err;

    s = get_str(obj, "nonce", ctx, errbuf, errlen);
    if (!s)
        return CANTOR_ERR_JSON;
    if (cantor_hex_decode_u64(s, &a->nonce)) {
        set_msg(errbuf, errlen, "%s: \"nonce\" is not a 64-bit hex quantity", ctx);
        return CANTOR_ERR_HEX;
    }
    err = parse_word(obj, "balance", ctx, a->balance, errbuf, errlen);
    if (!err)
        err = parse_hash(obj, helios ? "storageRoot" : "storageHash", ctx, a->storage_root, errbuf, errlen);
    if (!err)
        err = parse_hash(obj, "codeHash", ctx, a->code_hash, errbuf, errlen);
    return err;
}

static enum cantor_err parse_storage(const json_t *arr, struct cantor_eth_proof *p, char *errbuf,
                                     size_t errlen)
{
    size_t n;
    enum cantor_err err;

    if (!json_is_array(arr)) {
        set_msg(errbuf, errlen, "storageProof: must be an array");
        return CANTOR_ERR_JSON;
    }
    n = json_array_size(arr);
    if (n > CANTOR_PROOF_MAX_SLOTS) {
        set_msg(errbuf, errlen, "storageProof: %zu entries, more than %d", n, CANTOR_PROOF_MAX_SLOTS);
        return CANTOR_ERR_TOO_LARGE;
    }
    if (n == 0)
        return CANTOR_OK;
    p->storage = calloc(n, sizeof(*p->storage));
    if (!p->storage)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        struct cantor_storage_proof *sp = &p->storage[i];
        char ctx[48];

        snprintf(ctx, sizeof(ctx), "storageProof[%zu]", i);
        if (!json_is_object(e)) {
            set_msg(errbuf, errlen, "%s: must be an object", ctx);
            return CANTOR_ERR_JSON;
        }
        err = parse_word(e, "key", ctx, sp->key, errbuf, errlen);
        if (!err)
            err = parse_word(e, "value", ctx, sp->value, errbuf, errlen);
        if (!err) {
            snprintf(ctx, sizeof(ctx), "storageProof[%zu].proof", i);
            err = parse_nodes(json_object_get(e, "proof"), ctx, &sp->nodes, &sp->n_nodes, errbuf, errlen);
        }
        p->n_storage = i + 1; /* so that free() releases what this entry holds */
        if (err)
            return err;
    }
    return CANTOR_OK;
}

/* Find the eth_getProof result inside one of the accepted envelopes. */
static enum cantor_err unwrap(const json_t *top, const json_t **ret_result, char *errbuf, size_t errlen)
{
    const json_t *v = top, *err_obj;

    if (json_is_array(v)) {
        if (json_array_size(v) != 1 || !json_is_object(json_array_get(v, 0))) {
            set_msg(errbuf, errlen, "recorded exchange: expected an array of one {request, response} object");
            return CANTOR_ERR_JSON;
        }
        v = json_object_get(json_array_get(v, 0), "response");
        if (!json_is_object(v)) {
            set_msg(errbuf, errlen, "recorded exchange: missing object \"response\"");
            return CANTOR_ERR_JSON;
        }
    }
    if (!json_is_object(v)) {
        set_msg(errbuf, errlen, "top level: expected an object or an array");
        return CANTOR_ERR_JSON;
    }
    err_obj = json_object_get(v, "error");
    if (err_obj && !json_is_null(err_obj)) {
        const json_t *m = json_is_object(err_obj) ? json_object_get(err_obj, "message") : NULL;

        set_msg(errbuf, errlen, "JSON-RPC error: %s",
                json_is_string(m) ? json_string_value(m) : "(no message)");
        return CANTOR_ERR_RPC;
    }
    if (json_object_get(v, "result")) {
        v = json_object_get(v, "result");
        if (!json_is_object(v)) {
            set_msg(errbuf, errlen, "\"result\" must be an object");
            return CANTOR_ERR_JSON;
        }
    }
    *ret_result = v;
    return CANTOR_OK;
}

enum cantor_err cantor_proof_json_parse(const char *text, size_t len, struct cantor_eth_proof **ret_proof,
                                        char *errbuf, size_t errlen)
{
    struct cantor_eth_proof *p = NULL;
    const json_t *r, *acct, *sp;
    json_t *top = NULL;
    json_error_t jerr;
    enum cantor_err err;
    const char *s;

    set_msg(errbuf, errlen, "ok");
    if (!text || !ret_proof)
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_PROOF_JSON_MAX) {
        set_msg(errbuf, errlen, "input is %zu bytes, more than %u", len, CANTOR_PROOF_JSON_MAX);
        return CANTOR_ERR_TOO_LARGE;
    }
    top = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!top) {
        set_msg(errbuf, errlen, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return CANTOR_ERR_JSON;
    }
    err = unwrap(top, &r, errbuf, errlen);
    if (err)
        goto out;
    p = calloc(1, sizeof(*p));
    if (!p) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    acct = json_object_get(r, "account");
    if (acct) {
        if (!json_is_object(acct)) {
            set_msg(errbuf, errlen, "\"account\" must be an object");
            err = CANTOR_ERR_JSON;
            goto out;
        }
        err = parse_account(acct, true, &p->account, errbuf, errlen);
    } else {
        err = parse_account(r, false, &p->account, errbuf, errlen);
    }
    if (err)
        goto out;
    if (json_object_get(r, "address") || !acct) {
        s = get_str(r, "address", "result", errbuf, errlen);
        if (!s) {
            err = CANTOR_ERR_JSON;
            goto out;
        }
        if (strlen(s) != 42 || cantor_hex_decode_exact(s, p->address, 20)) {
            set_msg(errbuf, errlen, "result: \"address\" is not a 20-byte hex string");
            err = CANTOR_ERR_HEX;
            goto out;
        }
        p->has_address = true;
    }
    if (json_object_get(r, "code")) {
        s = get_str(r, "code", "result", errbuf, errlen);
        if (!s) {
            err = CANTOR_ERR_JSON;
            goto out;
        }
        if (strlen(s) > CODE_HEX_MAX) {
            set_msg(errbuf, errlen, "result: \"code\" is too long");
            err = CANTOR_ERR_TOO_LARGE;
            goto out;
        }
        if (cantor_hex_decode_alloc(s, &p->code, &p->code_len)) {
            set_msg(errbuf, errlen, "result: \"code\" is not a hex byte string");
            err = CANTOR_ERR_HEX;
            goto out;
        }
        p->has_code = true;
    }
    err = parse_nodes(json_object_get(r, "accountProof"), "accountProof", &p->account_nodes,
                      &p->n_account_nodes, errbuf, errlen);
    if (err)
        goto out;
    sp = json_object_get(r, "storageProof");
    if (!sp) {
        set_msg(errbuf, errlen, "result: missing member \"storageProof\"");
        err = CANTOR_ERR_JSON;
        goto out;
    }
    err = parse_storage(sp, p, errbuf, errlen);
    if (err)
        goto out;
    *ret_proof = p;
    p = NULL;
out:
    cantor_eth_proof_free(p);
    json_decref(top);
    return err;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

enum cantor_err cantor_eth_proof_verify(const struct cantor_eth_proof *p, const uint8_t state_root[32],
                                        struct cantor_account *ret_account, bool *ret_exists, char *why,
                                        size_t why_len)
{
    const struct cantor_account *c = &p->account;
    struct cantor_account a;
    bool exists = false;
    uint8_t h[32];
    enum cantor_err err;

    set_msg(why, why_len, "ok");
    if (!p->has_address) {
        set_msg(why, why_len, "no address: the proof's account cannot be located");
        return CANTOR_ERR_INVALID;
    }
    err =
        cantor_mpt_verify_account(state_root, p->address, p->account_nodes, p->n_account_nodes, &exists, &a);
    if (err) {
        set_msg(why, why_len, "accountProof does not verify against the state root (%s)",
                cantor_err_str(err));
        return err;
    }
    if (exists) {
        if (c->nonce != a.nonce) {
            set_msg(why, why_len, "nonce: claimed %llu, proven %llu", (unsigned long long)c->nonce,
                    (unsigned long long)a.nonce);
            return CANTOR_ERR_MISMATCH;
        }
        if (memcmp(c->balance, a.balance, 32) != 0) {
            set_msg(why, why_len, "balance: claimed value differs from the proven account");
            return CANTOR_ERR_MISMATCH;
        }
        if (memcmp(c->storage_root, a.storage_root, 32) != 0) {
            set_msg(why, why_len, "storageHash: claimed value differs from the proven account");
            return CANTOR_ERR_MISMATCH;
        }
        if (memcmp(c->code_hash, a.code_hash, 32) != 0) {
            set_msg(why, why_len, "codeHash: claimed value differs from the proven account");
            return CANTOR_ERR_MISMATCH;
        }
    } else {
        /* an absent account: nodes report it as empty, Erigon with zero hashes */
        if (c->nonce != 0 || !is_zero(c->balance, 32) ||
            (!is_zero(c->storage_root, 32) && memcmp(c->storage_root, CANTOR_EMPTY_TRIE_ROOT, 32) != 0) ||
            (!is_zero(c->code_hash, 32) && memcmp(c->code_hash, CANTOR_KECCAK_EMPTY, 32) != 0)) {
            set_msg(why, why_len, "account is proven absent but the answer claims a non-empty account");
            return CANTOR_ERR_MISMATCH;
        }
    }
    if (p->has_code) {
        cantor_keccak256(p->code, p->code_len, h);
        if (memcmp(h, a.code_hash, 32) != 0) {
            set_msg(why, why_len, "code: keccak256(code) differs from the proven codeHash");
            return CANTOR_ERR_MISMATCH;
        }
    }
    for (size_t i = 0; i < p->n_storage; i++) {
        const struct cantor_storage_proof *sp = &p->storage[i];
        uint8_t v[32];

        err = cantor_mpt_verify_storage(a.storage_root, sp->key, sp->nodes, sp->n_nodes, v);
        if (err) {
            set_msg(why, why_len, "storageProof[%zu]: does not verify against the storage root (%s)", i,
                    cantor_err_str(err));
            return err;
        }
        if (memcmp(v, sp->value, 32) != 0) {
            set_msg(why, why_len, "storageProof[%zu]: claimed value differs from the proven value", i);
            return CANTOR_ERR_MISMATCH;
        }
    }
    if (ret_account)
        *ret_account = a;
    if (ret_exists)
        *ret_exists = exists;
    return CANTOR_OK;
}
