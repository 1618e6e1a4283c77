/*
 * delta_geth.c - geth `prestateTracer` output in diffMode (debug_traceBlockByNumber,
 * debug_traceTransaction) to a canonical block delta.
 *
 * What geth emits per transaction (eth/tracers/native/prestate.go, processDiffState), checked
 * against the geth-tracetest prestate_tracer_with_diff_mode fixtures and mainnet blocks:
 *  - `pre` holds the pre-transaction state of every account the transaction modified. balance is
 *    always printed; nonce is omitted when 0; code is omitted when empty (newer nodes add codeHash;
 *    with disableCode only codeHash is left); storage holds the old value of every slot that
 *    changed, slots that were zero before are omitted.
 *  - `post` holds, per modified account, only the fields whose value changed: a missing
 *    balance/nonce/code means "unchanged", never zero. A storage slot listed in pre and missing from
 *    post was cleared to zero (geth drops zero values from post); a slot only in post was zero.
 *    "code": "0x" in post means the code was removed (EIP-7702 de-delegation).
 *  - An account that changed nothing is dropped from pre, so every account left in pre is in post
 *    (possibly as {}) EXCEPT accounts that self-destructed: geth keeps them in pre and leaves them
 *    out of post (fixtures suicide.json, create_suicide.json). Such an account ends with balance 0,
 *    nonce 0, no code and all storage zero; we can only zero the slots pre lists (the tracer does not
 *    list untouched slots, and nobody can from a diff alone).
 *  - An account that did not exist before (created contract, first-time recipient) is left out of
 *    pre; its post fields are changes from zero/no code. Erigon also prints accounts that were only
 *    touched and still do not exist as post {"codeHash": "0x00..00"} (block 17,073,192, tx 0xab67..);
 *    a zero codeHash is the hash of a missing account, i.e. no code, so it is no change. One created and
 * destroyed in the same transaction appears in neither, which is also its net effect. Transactions are
 * chained in array order and cantor_delta_finish() gives the block's net effect.
 *
 * Ownership: no references into the caller's JSON are kept; the delta is the caller's.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "delta_json.h"
#include "hex.h"
#include "keccak.h"

/* Old or new code hash of one account object; *ret_present is false when it says nothing about code. */
static enum cantor_err code_of(struct cantor_delta *d, const json_t *acct, bool keep,
                               uint8_t hash[CANTOR_WORD_LEN], bool *ret_present)
{
    const json_t *code = json_object_get(acct, "code");
    const json_t *code_hash = json_object_get(acct, "codeHash");
    uint8_t *bytes = NULL;
    size_t len = 0;
    enum cantor_err err = CANTOR_OK;

    *ret_present = false;
    if (code) {
        err = cantor_delta_json_code(code, hash, keep ? &bytes : NULL, &len);
        if (err)
            goto out;
        if (code_hash) {
            uint8_t h2[CANTOR_WORD_LEN];

            err = json_is_string(code_hash)
                      ? cantor_hex_decode_exact(json_string_value(code_hash), h2, sizeof(h2))
                      : CANTOR_ERR_JSON;
            if (err)
                goto out;
            if (memcmp(h2, hash, CANTOR_WORD_LEN) != 0) {
                err = CANTOR_ERR_MISMATCH;
                goto out;
            }
        }
        if (keep)
            err = cantor_delta_add_code(d, hash, bytes, len);
        *ret_present = true;
    } else if (code_hash) {
        static const uint8_t zero[CANTOR_WORD_LEN];

        err = json_is_string(code_hash)
                  ? cantor_hex_decode_exact(json_string_value(code_hash), hash, CANTOR_WORD_LEN)
                  : CANTOR_ERR_JSON;
        /* StateDB.GetCodeHash() of an account that does not exist is 0x00..00: no code. */
        if (!err && memcmp(hash, zero, CANTOR_WORD_LEN) == 0)
            memcpy(hash, CANTOR_KECCAK_EMPTY, CANTOR_WORD_LEN);
        *ret_present = true;
    }
out:
    free(bytes);
    return err;
}

/* A field's value in an account object; *ret_present false when the field is absent. */
static enum cantor_err field_of(const json_t *acct, const char *name, uint8_t out[CANTOR_WORD_LEN],
                                bool *ret_present)
{
    const json_t *v = json_object_get(acct, name);

    *ret_present = v != NULL;
    if (!v) {
        memset(out, 0, CANTOR_WORD_LEN);
        return CANTOR_OK;
    }
    return cantor_delta_json_word(v, out);
}

static enum cantor_err add_if_changed(struct cantor_delta *d, const struct cantor_delta_entry *e)
{
    if (memcmp(e->old_val, e->new_val, CANTOR_WORD_LEN) == 0)
        return CANTOR_OK;
    return cantor_delta_add(d, e);
}

static enum cantor_err check_storage(const json_t *st)
{
    return !st || json_is_object(st) ? CANTOR_OK : CANTOR_ERR_JSON;
}

/*
 * One account of one transaction. pre or post may be NULL (created / self-destructed); a NULL post
 * with a non-NULL pre is the self-destruct case described at the top.
 */
static enum cantor_err add_account(struct cantor_delta *d, const char *addr, const json_t *pre,
                                   const json_t *post)
{
    static const struct {
        const char *name;
        uint8_t kind;
    } fields[] = {{"balance", CANTOR_KIND_BALANCE}, {"nonce", CANTOR_KIND_NONCE}};
    const json_t *pre_st = NULL, *post_st = NULL, *v;
    struct cantor_delta_entry e;
    const char *slot;
    bool present;
    enum cantor_err err;

    if ((pre && !json_is_object(pre)) || (post && !json_is_object(post)))
        return CANTOR_ERR_JSON;
    memset(&e, 0, sizeof(e));
    err = cantor_delta_json_addr(addr, e.addr);
    if (err)
        return err;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        e.kind = fields[i].kind;
        memset(e.old_val, 0, CANTOR_WORD_LEN);
        if (pre) {
            err = field_of(pre, fields[i].name, e.old_val, &present);
            if (err)
                return err;
        }
        memcpy(e.new_val, e.old_val, CANTOR_WORD_LEN); /* absent in post: unchanged */
        if (!post)
            memset(e.new_val, 0, CANTOR_WORD_LEN);
        else if ((err = field_of(post, fields[i].name, e.new_val, &present)) != CANTOR_OK)
            return err;
        else if (!present)
            memcpy(e.new_val, e.old_val, CANTOR_WORD_LEN);
        err = add_if_changed(d, &e);
        if (err)
            return err;
    }

    e.kind = CANTOR_KIND_CODE;
    memcpy(e.old_val, CANTOR_KECCAK_EMPTY, CANTOR_WORD_LEN);
    if (pre && (err = code_of(d, pre, false, e.old_val, &present)) != CANTOR_OK)
        return err;
    memcpy(e.new_val, post ? e.old_val : CANTOR_KECCAK_EMPTY, CANTOR_WORD_LEN);
    if (post && (err = code_of(d, post, true, e.new_val, &present)) != CANTOR_OK)
        return err;
    err = add_if_changed(d, &e);
    if (err)
        return err;

    e.kind = CANTOR_KIND_STORAGE;
    if (pre)
        pre_st = json_object_get(pre, "storage");
    if (post)
        post_st = json_object_get(post, "storage");
    if (check_storage(pre_st) || check_storage(post_st))
        return CANTOR_ERR_JSON;
    if (pre_st) {
        json_object_foreach((json_t *)pre_st, slot, v)
        {
            const json_t *nv = post_st ? json_object_get(post_st, slot) : NULL;

            err = cantor_hex_decode_word(slot, e.slot);
            if (!err)
                err = cantor_delta_json_word(v, e.old_val);
            if (err)
                return err;
            memset(e.new_val, 0, CANTOR_WORD_LEN); /* listed in pre, missing from post: cleared */
            if (nv && (err = cantor_delta_json_word(nv, e.new_val)) != CANTOR_OK)
                return err;
            err = add_if_changed(d, &e);
            if (err)
                return err;
        }
    }
    if (post_st) {
        json_object_foreach((json_t *)post_st, slot, v)
        {
            if (pre_st && json_object_get(pre_st, slot))
                continue;
            err = cantor_hex_decode_word(slot, e.slot);
            if (!err)
                err = cantor_delta_json_word(v, e.new_val);
            if (err)
                return err;
            memset(e.old_val, 0, CANTOR_WORD_LEN); /* omitted from pre: it was zero */
            err = add_if_changed(d, &e);
            if (err)
                return err;
        }
    }
    return CANTOR_OK;
}

static enum cantor_err add_tx(struct cantor_delta *d, json_t *res)
{
    json_t *pre = json_object_get(res, "pre"), *post = json_object_get(res, "post"), *acct;
    const char *addr;
    enum cantor_err err;

    if (!pre || !post)
        return CANTOR_ERR_UNSUPPORTED; /* prestate without diffMode: no new values */
    if (!json_is_object(pre) || !json_is_object(post))
        return CANTOR_ERR_JSON;
    json_object_foreach(pre, addr, acct)
    {
        err = add_account(d, addr, acct, json_object_get(post, addr));
        if (err)
            return err;
    }
    json_object_foreach(post, addr, acct)
    {
        if (json_object_get(pre, addr))
            continue;
        err = add_account(d, addr, NULL, acct);
        if (err)
            return err;
    }
    return CANTOR_OK;
}

enum cantor_err cantor_delta_from_geth(json_t *trace_result, uint64_t block_number,
                                       struct cantor_delta **ret_delta)
{
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    if (!trace_result || !ret_delta)
        return CANTOR_ERR_INVALID;
    err = cantor_delta_new(block_number, &d);
    if (err)
        goto out;
    if (json_is_array(trace_result)) {
        for (size_t i = 0; i < json_array_size(trace_result); i++) {
            json_t *tx = json_array_get(trace_result, i), *res;

            if (!json_is_object(tx)) {
                err = CANTOR_ERR_JSON;
                goto out;
            }
            if (json_object_get(tx, "error")) {
                err = CANTOR_ERR_RPC; /* the node could not trace this transaction */
                goto out;
            }
            res = json_object_get(tx, "result");
            err = json_is_object(res) ? add_tx(d, res) : CANTOR_ERR_JSON;
            if (err)
                goto out;
        }
    } else if (json_is_object(trace_result)) {
        err = add_tx(d, trace_result);
        if (err)
            goto out;
    } else {
        err = CANTOR_ERR_JSON;
        goto out;
    }
    err = cantor_delta_finish(d);
    if (err)
        goto out;
    *ret_delta = d;
    d = NULL;
out:
    cantor_delta_free(d);
    return err;
}
