/*
 * delta_parity.c - Parity/OpenEthereum `stateDiff` (trace_replayBlockTransactions,
 * trace_replayTransaction) to a canonical block delta.
 *
 * Per transaction: {address: {"balance": D, "nonce": D, "code": D, "storage": {slot: D}}} where D
 * is "=" (unchanged), {"+": new} (account created: old is zero / no code), {"-": old} (account
 * removed: new is zero / no code) or {"*": {"from": old, "to": new}}. Each transaction's diff is
 * relative to the state left by the previous one, so appending them in order and letting
 * cantor_delta_finish() keep the first old and the last new value gives the block's net effect.
 * Code diffs carry code bytes: entries hold keccak256(code), new code goes to the code table.
 *
 * Ownership: nothing here keeps references into the caller's JSON; the delta is the caller's.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "delta_json.h"
#include "hex.h"
#include "keccak.h"

static enum cantor_err value_of(const json_t *v, uint8_t kind, struct cantor_delta *d,
                                uint8_t out[CANTOR_WORD_LEN], bool keep_code)
{
    uint8_t *code = NULL;
    size_t len = 0;
    enum cantor_err err;

    if (kind != CANTOR_KIND_CODE)
        return cantor_delta_json_word(v, out);
    err = cantor_delta_json_code(v, out, keep_code ? &code : NULL, &len);
    if (err)
        return err;
    if (keep_code)
        err = cantor_delta_add_code(d, out, code, len);
    free(code);
    return err;
}

/* One D value for one key; the entry arrives with addr, kind and slot set. */
static enum cantor_err add_diff(struct cantor_delta *d, struct cantor_delta_entry *e, const json_t *diff)
{
    const char *op;
    json_t *v;
    enum cantor_err err;

    if (json_is_string(diff))
        return strcmp(json_string_value(diff), "=") == 0 ? CANTOR_OK : CANTOR_ERR_JSON;
    if (!json_is_object(diff) || json_object_size(diff) != 1)
        return CANTOR_ERR_JSON;
    op = json_object_iter_key(json_object_iter((json_t *)diff));
    v = json_object_iter_value(json_object_iter((json_t *)diff));
    memset(e->old_val, 0, CANTOR_WORD_LEN);
    memset(e->new_val, 0, CANTOR_WORD_LEN);
    if (e->kind == CANTOR_KIND_CODE) {
        memcpy(e->old_val, CANTOR_KECCAK_EMPTY, CANTOR_WORD_LEN);
        memcpy(e->new_val, CANTOR_KECCAK_EMPTY, CANTOR_WORD_LEN);
    }
    if (strcmp(op, "+") == 0) {
        err = value_of(v, e->kind, d, e->new_val, true);
    } else if (strcmp(op, "-") == 0) {
        err = value_of(v, e->kind, d, e->old_val, false);
    } else if (strcmp(op, "*") == 0) {
        if (!json_is_object(v))
            return CANTOR_ERR_JSON;
        err = value_of(json_object_get(v, "from"), e->kind, d, e->old_val, false);
        if (!err)
            err = value_of(json_object_get(v, "to"), e->kind, d, e->new_val, true);
    } else {
        return CANTOR_ERR_JSON;
    }
    if (err)
        return err;
    /* "*" with from == to is not a change; skipping it here only saves memory. */
    if (memcmp(e->old_val, e->new_val, CANTOR_WORD_LEN) == 0)
        return CANTOR_OK;
    return cantor_delta_add(d, e);
}

static const struct {
    const char *name;
    uint8_t kind;
} account_fields[] = {
    {"balance", CANTOR_KIND_BALANCE},
    {"nonce", CANTOR_KIND_NONCE},
    {"code", CANTOR_KIND_CODE},
};

static enum cantor_err add_account(struct cantor_delta *d, const char *addr, json_t *acct)
{
    struct cantor_delta_entry e;
    json_t *storage, *v;
    const char *slot;
    enum cantor_err err;

    if (!json_is_object(acct))
        return CANTOR_ERR_JSON;
    memset(&e, 0, sizeof(e));
    err = cantor_delta_json_addr(addr, e.addr);
    if (err)
        return err;
    for (size_t i = 0; i < sizeof(account_fields) / sizeof(account_fields[0]); i++) {
        json_t *diff = json_object_get(acct, account_fields[i].name);

        if (!diff)
            continue; /* absent reads as "=": some nodes leave unchanged fields out */
        e.kind = account_fields[i].kind;
        err = add_diff(d, &e, diff);
        if (err)
            return err;
    }
    storage = json_object_get(acct, "storage");
    if (!storage)
        return CANTOR_OK;
    if (!json_is_object(storage))
        return CANTOR_ERR_JSON;
    e.kind = CANTOR_KIND_STORAGE;
    json_object_foreach(storage, slot, v)
    {
        err = cantor_hex_decode_word(slot, e.slot);
        if (err)
            return err;
        err = add_diff(d, &e, v);
        if (err)
            return err;
    }
    return CANTOR_OK;
}

static enum cantor_err add_tx(struct cantor_delta *d, json_t *tx)
{
    json_t *sd, *acct;
    const char *addr;
    enum cantor_err err;

    if (!json_is_object(tx))
        return CANTOR_ERR_JSON;
    sd = json_object_get(tx, "stateDiff");
    if (!sd || json_is_null(sd))
        return CANTOR_ERR_UNSUPPORTED; /* the call did not ask for stateDiff */
    if (!json_is_object(sd))
        return CANTOR_ERR_JSON;
    json_object_foreach(sd, addr, acct)
    {
        err = add_account(d, addr, acct);
        if (err)
            return err;
    }
    return CANTOR_OK;
}

enum cantor_err cantor_delta_from_parity(json_t *replay_result, uint64_t block_number,
                                         struct cantor_delta **ret_delta)
{
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    if (!replay_result || !ret_delta)
        return CANTOR_ERR_INVALID;
    err = cantor_delta_new(block_number, &d);
    if (err)
        goto out;
    if (json_is_array(replay_result)) {
        for (size_t i = 0; i < json_array_size(replay_result); i++) {
            err = add_tx(d, json_array_get(replay_result, i));
            if (err)
                goto out;
        }
    } else if (json_is_object(replay_result)) {
        err = add_tx(d, replay_result);
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
