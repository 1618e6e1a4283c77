/* observe.c - see observe.h. */
#include "observe.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "core/delta_json.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/log.h"
#include "core/mpt.h"
#include "core/u256.h"

#define MAX_PROOF_NODES       64
#define MAX_SLOTS_PER_ACCOUNT 1024

/*
 * A field's value after the block, as the raw diff states it (have), and whether it must be written
 * (need: neither the block's delta nor the store knows it). need && !have is proven with eth_getProof.
 */
struct obs_value {
    bool have, need;
    uint8_t val[32];
};

struct observed_slot {
    uint8_t slot[32];
    struct obs_value v;
};

struct observed_account {
    uint8_t addr[20];
    struct obs_value f[3]; /* indexed by CANTOR_KIND_BALANCE, _NONCE, _CODE */
    uint8_t *code;         /* bytes of f[CODE] when known and not empty */
    size_t code_len;
    struct observed_slot *slots;
    size_t n_slots, cap_slots;
    bool prove; /* some needed value is not in the diff */
};

struct cantor_observed {
    struct observed_account *acc;
    size_t n, cap;
};

void cantor_observed_free(struct cantor_observed *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++) {
        free(o->acc[i].code);
        free(o->acc[i].slots);
    }
    free(o->acc);
    free(o);
}

size_t cantor_observed_count(const struct cantor_observed *o)
{
    return o ? o->n : 0;
}

static bool delta_has(const struct cantor_delta *d, const uint8_t addr[20], uint8_t kind, const uint8_t *slot)
{
    return cantor_delta_find(d, addr, kind, slot) != NULL;
}

static enum cantor_err account_for(struct cantor_observed *o, const char *addr_hex,
                                   struct observed_account **ret)
{
    uint8_t addr[20];

    if (cantor_hex_decode_exact(addr_hex, addr, 20))
        return CANTOR_ERR_HEX;
    for (size_t i = 0; i < o->n; i++) {
        if (memcmp(o->acc[i].addr, addr, 20) == 0) {
            *ret = &o->acc[i];
            return CANTOR_OK;
        }
    }
    if (o->n == CANTOR_OBSERVE_MAX_ACCOUNTS)
        return CANTOR_ERR_TOO_LARGE;
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 16;
        struct observed_account *p = realloc(o->acc, ncap * sizeof(*p));

        if (!p)
            return CANTOR_ERR_NOMEM;
        o->acc = p;
        o->cap = ncap;
    }
    *ret = &o->acc[o->n++];
    memset(*ret, 0, sizeof(**ret));
    memcpy((*ret)->addr, addr, 20);
    return CANTOR_OK;
}

static enum cantor_err slot_for(struct observed_account *a, const char *slot_hex, struct observed_slot **ret)
{
    uint8_t slot[32];

    if (cantor_hex_decode_word(slot_hex, slot))
        return CANTOR_ERR_HEX;
    for (size_t j = 0; j < a->n_slots; j++) {
        if (memcmp(a->slots[j].slot, slot, 32) == 0) {
            *ret = &a->slots[j];
            return CANTOR_OK;
        }
    }
    if (a->n_slots == MAX_SLOTS_PER_ACCOUNT)
        return CANTOR_ERR_TOO_LARGE;
    if (a->n_slots == a->cap_slots) {
        size_t ncap = a->cap_slots ? a->cap_slots * 2 : 4;
        struct observed_slot *p = realloc(a->slots, ncap * sizeof(*p));

        if (!p)
            return CANTOR_ERR_NOMEM;
        a->slots = p;
        a->cap_slots = ncap;
    }
    *ret = &a->slots[a->n_slots++];
    memset(*ret, 0, sizeof(**ret));
    memcpy((*ret)->slot, slot, 32);
    return CANTOR_OK;
}

/* A value stated by the diff (a JSON quantity string or number, or code hex whose hash is the value). */
static enum cantor_err set_value(struct observed_account *a, struct obs_value *v, bool is_code,
                                 const json_t *x)
{
    enum cantor_err err;

    if (!is_code) {
        err = cantor_delta_json_word(x, v->val);
    } else {
        free(a->code);
        a->code = NULL;
        err = cantor_delta_json_code(x, v->val, &a->code, &a->code_len);
    }
    v->have = !err;
    return err;
}

/* Shared JSON constants for "deleted" / "absent" values; created once, never freed (tiny). */
static json_t *zero_word, *empty_code;

static void make_constants(void)
{
    zero_word = json_string("0x0");
    empty_code = json_string("0x");
}

static enum cantor_err init_constants(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, make_constants);
    return zero_word && empty_code ? CANTOR_OK : CANTOR_ERR_NOMEM;
}

/* Parity: D is "=" (touched, value not given), {"+": new}, {"-": old} (now zero) or {"*": {from, to}}. */
static enum cantor_err parity_field(struct observed_account *a, struct obs_value *v, bool is_code, json_t *d)
{
    json_t *x;

    if (!d || json_is_string(d))
        return CANTOR_OK;
    if ((x = json_object_get(d, "+")))
        return set_value(a, v, is_code, x);
    if ((x = json_object_get(d, "*")))
        return set_value(a, v, is_code, json_object_get(x, "to"));
    if (json_object_get(d, "-"))
        return set_value(a, v, is_code, is_code ? empty_code : zero_word);
    return CANTOR_ERR_JSON;
}

static const char *const field_names[3] = {"balance", "nonce", "code"};

static enum cantor_err walk_parity(struct cantor_observed *o, json_t *tx)
{
    json_t *sd = json_object_get(tx, "stateDiff"), *acct;
    const char *addr;
    enum cantor_err err = CANTOR_OK;

    json_object_foreach(sd, addr, acct)
    {
        struct observed_account *a;
        const char *slot;
        json_t *d;

        if ((err = account_for(o, addr, &a)))
            return err;
        for (int k = 0; k < 3 && !err; k++)
            err = parity_field(a, &a->f[k], k == CANTOR_KIND_CODE, json_object_get(acct, field_names[k]));
        json_object_foreach(json_object_get(acct, "storage"), slot, d)
        {
            struct observed_slot *sl;

            if (!err)
                err = slot_for(a, slot, &sl);
            if (!err)
                err = parity_field(a, &sl->v, false, d);
        }
        if (err)
            return err;
    }
    return CANTOR_OK;
}

/*
 * Geth prestate diffMode: pre holds the old values of accounts the tx modified, post the new values
 * of the fields that changed; an account in pre but not in post was deleted; a slot in pre but not
 * in post was cleared. So every field of a named account has a known value after the tx.
 */
static enum cantor_err walk_geth(struct cantor_observed *o, json_t *tx)
{
    json_t *r = json_object_get(tx, "result");
    json_t *pre = json_object_get(r, "pre"), *post = json_object_get(r, "post");
    json_t *maps[2] = {pre, post}, *acct;
    const char *addr;

    for (int m = 0; m < 2; m++) {
        json_object_foreach(maps[m], addr, acct)
        {
            json_t *pa = json_object_get(pre, addr), *qa = json_object_get(post, addr), *d;
            struct observed_account *a;
            const char *slot;
            enum cantor_err err;

            (void)acct;
            if ((err = account_for(o, addr, &a)))
                return err;
            for (int k = 0; k < 3; k++) {
                json_t *x = qa ? json_object_get(qa, field_names[k]) : NULL;

                if (!x && qa && pa)
                    x = json_object_get(pa, field_names[k]);
                if (k == CANTOR_KIND_CODE && !x && qa && json_object_get(qa, "codeHash"))
                    continue; /* code omitted (disableCode): leave it to a proof */
                if (!x)
                    x = k == CANTOR_KIND_CODE ? empty_code : zero_word;
                if ((err = set_value(a, &a->f[k], k == CANTOR_KIND_CODE, x)))
                    return err;
            }
            json_object_foreach(json_object_get(pa, "storage"), slot, d)
            {
                struct observed_slot *sl;
                json_t *q = json_object_get(json_object_get(qa, "storage"), slot);

                if ((err = slot_for(a, slot, &sl)) || (err = set_value(a, &sl->v, false, q ? q : zero_word)))
                    return err;
            }
            json_object_foreach(json_object_get(qa, "storage"), slot, d)
            {
                struct observed_slot *sl;

                if ((err = slot_for(a, slot, &sl)) || (err = set_value(a, &sl->v, false, d)))
                    return err;
            }
        }
    }
    return CANTOR_OK;
}

/* Mark what must be written (unknown to delta and store) and what needs a proof; drop the rest. */
static enum cantor_err decide(struct cantor_observed *o, struct cantor_store *store,
                              const struct cantor_delta *d)
{
    size_t keep = 0;

    for (size_t i = 0; i < o->n; i++) {
        struct observed_account *a = &o->acc[i];
        bool any = false;
        size_t ks = 0;

        for (uint8_t k = CANTOR_KIND_BALANCE; k <= CANTOR_KIND_CODE; k++) {
            uint8_t v[32];
            bool known = false;
            enum cantor_err err = CANTOR_OK;

            if (!delta_has(d, a->addr, k, NULL))
                err = cantor_store_latest(store, a->addr, k, NULL, v, &known);
            if (err)
                return err;
            a->f[k].need = !known && !delta_has(d, a->addr, k, NULL);
            any |= a->f[k].need;
            a->prove |= a->f[k].need && !a->f[k].have;
        }
        for (size_t j = 0; j < a->n_slots; j++) {
            struct observed_slot *sl = &a->slots[j];
            uint8_t v[32];
            bool known = false;
            enum cantor_err err = CANTOR_OK;

            if (delta_has(d, a->addr, CANTOR_KIND_STORAGE, sl->slot))
                continue;
            err = cantor_store_latest(store, a->addr, CANTOR_KIND_STORAGE, sl->slot, v, &known);
            if (err)
                return err;
            if (known)
                continue;
            sl->v.need = true;
            a->slots[ks++] = *sl;
        }
        a->n_slots = ks;
        any |= ks > 0;
        for (size_t j = 0; j < a->n_slots; j++)
            a->prove |= !a->slots[j].v.have;
        if (!any || (!a->f[CANTOR_KIND_CODE].need && a->code)) {
            free(a->code); /* code bytes are only kept for a code hash we write */
            a->code = NULL;
            a->code_len = 0;
        }
        if (any)
            o->acc[keep++] = *a;
        else
            free(a->slots);
    }
    o->n = keep;
    return CANTOR_OK;
}

static enum cantor_err collect(struct cantor_observed *o, struct cantor_store *store, json_t *diff,
                               enum cantor_diff_format fmt, const struct cantor_delta *d)
{
    size_t i;
    json_t *tx;

    if (!json_is_array(diff))
        return CANTOR_ERR_JSON;
    if (init_constants())
        return CANTOR_ERR_NOMEM;
    json_array_foreach(diff, i, tx)
    {
        enum cantor_err err = fmt == CANTOR_DIFF_PARITY ? walk_parity(o, tx) : walk_geth(o, tx);

        if (err)
            return err;
    }
    return decide(o, store, d);
}

/* Proof nodes from a JSON array of hex strings; bufs must be freed by the caller (also on error). */
static enum cantor_err decode_nodes(json_t *proof, struct cantor_bytes *nodes, uint8_t **bufs,
                                    size_t *ret_count)
{
    json_t *n;
    size_t i;

    *ret_count = 0;
    if (!json_is_array(proof) || json_array_size(proof) > MAX_PROOF_NODES)
        return CANTOR_ERR_JSON;
    json_array_foreach(proof, i, n)
    {
        size_t len;
        enum cantor_err err = cantor_hex_decode_alloc(json_string_value(n), &bufs[i], &len);

        if (err)
            return err;
        nodes[i].data = bufs[i];
        nodes[i].len = len;
        *ret_count = i + 1;
    }
    return CANTOR_OK;
}

static void free_nodes(uint8_t **bufs, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        free(bufs[k]);
        bufs[k] = NULL;
    }
}

static bool slot_unproven(const struct observed_slot *sl)
{
    return sl->v.need && !sl->v.have;
}

/* Each requested slot must come back (in order) with a proof against the proven storage root. */
static enum cantor_err verify_slots(json_t *res, const uint8_t storage_root[32], struct observed_account *a)
{
    struct cantor_bytes nodes[MAX_PROOF_NODES];
    uint8_t *bufs[MAX_PROOF_NODES] = {0};
    json_t *sp = json_object_get(res, "storageProof");
    size_t count = 0, asked = 0;
    enum cantor_err err = CANTOR_OK;

    if (!json_is_array(sp))
        return CANTOR_ERR_JSON;
    for (size_t j = 0; j < a->n_slots && !err; j++) {
        struct observed_slot *sl = &a->slots[j];
        json_t *e;
        uint8_t key[32];

        if (!slot_unproven(sl))
            continue;
        e = json_array_get(sp, asked++);
        err = e ? cantor_hex_decode_word(json_string_value(json_object_get(e, "key")), key) : CANTOR_ERR_JSON;
        if (!err && memcmp(key, sl->slot, 32) != 0)
            err = CANTOR_ERR_MISMATCH;
        if (!err)
            err = decode_nodes(json_object_get(e, "proof"), nodes, bufs, &count);
        if (!err)
            err = cantor_mpt_verify_storage(storage_root, sl->slot, nodes, count, sl->v.val);
        free_nodes(bufs, count);
    }
    if (!err && json_array_size(sp) != asked)
        err = CANTOR_ERR_JSON;
    return err;
}

static enum cantor_err verify_account(json_t *res, const uint8_t state_root[32], struct observed_account *a)
{
    struct cantor_bytes nodes[MAX_PROOF_NODES];
    uint8_t *bufs[MAX_PROOF_NODES] = {0};
    struct cantor_account acc;
    uint8_t vals[3][32];
    size_t count = 0;
    bool exists;
    enum cantor_err err;

    err = decode_nodes(json_object_get(res, "accountProof"), nodes, bufs, &count);
    if (err)
        goto out;
    err = cantor_mpt_verify_account(state_root, a->addr, nodes, count, &exists, &acc);
    if (err)
        goto out;
    if (!exists)
        cantor_account_empty(&acc);
    memcpy(vals[CANTOR_KIND_BALANCE], acc.balance, 32);
    memset(vals[CANTOR_KIND_NONCE], 0, 32);
    for (int b = 0; b < 8; b++)
        vals[CANTOR_KIND_NONCE][31 - b] = (uint8_t)(acc.nonce >> (8 * b));
    memcpy(vals[CANTOR_KIND_CODE], acc.code_hash, 32);
    for (int k = 0; k < 3; k++)
        if (a->f[k].need && !a->f[k].have)
            memcpy(a->f[k].val, vals[k], 32);
    err = verify_slots(res, acc.storage_root, a);
out:
    free_nodes(bufs, count);
    return err;
}

/* One JSON-RPC batch; results[i]/errs[i] per call. Frees the params. */
static enum cantor_err batch(struct cantor_ethrpc *rpc, size_t n, const char **methods, json_t **params,
                             json_t **results, enum cantor_err *errs)
{
    enum cantor_err err = cantor_ethrpc_batch(rpc, n, methods, params, results, errs);

    for (size_t i = 0; i < n; i++) {
        json_decref(params[i]);
        params[i] = NULL;
    }
    return err;
}

static enum cantor_err fetch(struct cantor_ethrpc *rpc, struct cantor_observed *o, uint64_t number,
                             const uint8_t state_root[32])
{
    const char **methods = NULL;
    json_t **params = NULL, **results = NULL;
    enum cantor_err *errs = NULL, err = CANTOR_ERR_NOMEM;
    size_t *who = NULL, n = 0;
    char blk[24], addr[43], hex[67];

    snprintf(blk, sizeof(blk), "0x%" PRIx64, number);
    methods = calloc(o->n + 1, sizeof(*methods));
    params = calloc(o->n + 1, sizeof(*params));
    results = calloc(o->n + 1, sizeof(*results));
    errs = calloc(o->n + 1, sizeof(*errs));
    who = calloc(o->n + 1, sizeof(*who));
    if (!methods || !params || !results || !errs || !who)
        goto out;
    for (size_t i = 0; i < o->n; i++) {
        json_t *slots;

        if (!o->acc[i].prove)
            continue;
        if (!(slots = json_array()))
            goto out;
        for (size_t j = 0; j < o->acc[i].n_slots; j++) {
            if (!slot_unproven(&o->acc[i].slots[j]))
                continue;
            cantor_hex_encode(o->acc[i].slots[j].slot, 32, hex); /* full 32-byte keys: anvil wants them */
            json_array_append_new(slots, json_string(hex));
        }
        cantor_hex_encode(o->acc[i].addr, 20, addr);
        methods[n] = "eth_getProof";
        params[n] = json_pack("[s,o,s]", addr, slots, blk);
        if (!params[n])
            goto out;
        who[n++] = i;
    }
    err = n ? batch(rpc, n, methods, params, results, errs) : CANTOR_OK;
    for (size_t j = 0; !err && j < n; j++) {
        struct observed_account *a = &o->acc[who[j]];

        err = errs[j] ? errs[j] : verify_account(results[j], state_root, a);
        if (err) {
            cantor_hex_encode(a->addr, 20, addr);
            log_warn("observe",
                     "block %" PRIu64 ": eth_getProof(%s) does not check out against the state root: %s",
                     number, addr, cantor_err_str(err));
        }
    }
    for (size_t j = 0; j < n; j++) {
        json_decref(results[j]);
        results[j] = NULL;
    }
    if (err)
        goto out;
    /* Code bytes for a proven code hash: fetched, then checked against that hash. */
    n = 0;
    for (size_t i = 0; i < o->n; i++) {
        struct observed_account *a = &o->acc[i];

        if (!a->f[CANTOR_KIND_CODE].need || a->f[CANTOR_KIND_CODE].have ||
            !memcmp(a->f[CANTOR_KIND_CODE].val, CANTOR_KECCAK_EMPTY, 32))
            continue;
        cantor_hex_encode(a->addr, 20, addr);
        methods[n] = "eth_getCode";
        params[n] = json_pack("[s,s]", addr, blk);
        if (!params[n]) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
        who[n++] = i;
    }
    err = n ? batch(rpc, n, methods, params, results, errs) : CANTOR_OK;
    for (size_t j = 0; !err && j < n; j++) {
        struct observed_account *a = &o->acc[who[j]];
        uint8_t h[32];

        err = errs[j] ? errs[j]
                      : cantor_hex_decode_alloc(json_string_value(results[j]), &a->code, &a->code_len);
        if (err)
            break;
        cantor_keccak256(a->code, a->code_len, h);
        if (memcmp(h, a->f[CANTOR_KIND_CODE].val, 32) != 0) {
            log_warn("observe", "block %" PRIu64 ": eth_getCode does not hash to the proven code hash",
                     number);
            err = CANTOR_ERR_MISMATCH;
        }
    }
out:
    for (size_t j = 0; results && j <= o->n; j++) {
        json_decref(params[j]);
        json_decref(results[j]);
    }
    free(methods);
    free(params);
    free(results);
    free(errs);
    free(who);
    return err;
}

enum cantor_err cantor_observe_block(struct cantor_ethrpc *rpc, struct cantor_store *store, json_t *diff,
                                     enum cantor_diff_format fmt, const struct cantor_delta *delta,
                                     const uint8_t state_root[32], struct cantor_observed **ret)
{
    struct cantor_observed *o = calloc(1, sizeof(*o));
    enum cantor_err err;

    *ret = NULL;
    if (!o)
        return CANTOR_ERR_NOMEM;
    err = collect(o, store, diff, fmt, delta);
    if (!err && o->n)
        err = fetch(rpc, o, delta->block_number, state_root);
    if (err || !o->n) {
        cantor_observed_free(o);
        return err;
    }
    *ret = o;
    return CANTOR_OK;
}

enum cantor_err cantor_observe_write(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    struct cantor_observed *o = ctx;
    enum cantor_err err = CANTOR_OK;

    (void)block;
    for (size_t i = 0; o && i < o->n && !err; i++) {
        struct observed_account *a = &o->acc[i];

        for (uint8_t k = CANTOR_KIND_BALANCE; k <= CANTOR_KIND_CODE && !err; k++)
            if (a->f[k].need)
                err = cantor_store_batch_observe(b, a->addr, k, NULL, a->f[k].val);
        for (size_t j = 0; j < a->n_slots && !err; j++)
            if (a->slots[j].v.need)
                err = cantor_store_batch_observe(b, a->addr, CANTOR_KIND_STORAGE, a->slots[j].slot,
                                                 a->slots[j].v.val);
        if (!err && a->code && a->f[CANTOR_KIND_CODE].need)
            err = cantor_store_batch_put_code(b, a->f[CANTOR_KIND_CODE].val, a->code, a->code_len);
    }
    return err;
}

static enum cantor_err add_observed(struct cantor_delta *d, const uint8_t addr[20], uint8_t kind,
                                    const uint8_t *slot, const uint8_t val[32])
{
    struct cantor_delta_entry e = {0};

    if (cantor_u256_is_zero(val))
        return CANTOR_OK;
    memcpy(e.addr, addr, 20);
    e.kind = kind;
    if (slot)
        memcpy(e.slot, slot, 32);
    memcpy(e.new_val, val, 32);
    return cantor_delta_add(d, &e);
}

enum cantor_err cantor_observed_delta(const struct cantor_observed *o, uint64_t block,
                                      struct cantor_delta **ret)
{
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    *ret = NULL;
    if (!o || !o->n)
        return CANTOR_OK;
    err = cantor_delta_new(block, &d);
    for (size_t i = 0; i < o->n && !err; i++) {
        const struct observed_account *a = &o->acc[i];

        for (uint8_t k = CANTOR_KIND_BALANCE; k <= CANTOR_KIND_CODE && !err; k++)
            if (a->f[k].need)
                err = add_observed(d, a->addr, k, NULL, a->f[k].val);
        for (size_t j = 0; j < a->n_slots && !err; j++)
            if (a->slots[j].v.need)
                err = add_observed(d, a->addr, CANTOR_KIND_STORAGE, a->slots[j].slot, a->slots[j].v.val);
    }
    if (!err)
        err = cantor_delta_finish(d);
    if (!err && d->n_entries) {
        *ret = d;
        d = NULL;
    }
    cantor_delta_free(d);
    return err;
}

enum cantor_err cantor_observe_prove_balance(struct cantor_ethrpc *rpc, const uint8_t addr[20],
                                             uint64_t block, const uint8_t state_root[32],
                                             uint8_t ret_balance[32])
{
    struct cantor_bytes nodes[MAX_PROOF_NODES];
    uint8_t *bufs[MAX_PROOF_NODES] = {0};
    struct cantor_account acc;
    json_t *params, *res = NULL;
    char hex[43], blk[24];
    size_t count = 0;
    bool exists;
    enum cantor_err err;

    cantor_hex_encode(addr, 20, hex);
    snprintf(blk, sizeof(blk), "0x%" PRIx64, block);
    params = json_pack("[s,[],s]", hex, blk);
    if (!params)
        return CANTOR_ERR_NOMEM;
    err = cantor_ethrpc_call(rpc, "eth_getProof", params, &res);
    json_decref(params);
    if (!err)
        err = decode_nodes(json_object_get(res, "accountProof"), nodes, bufs, &count);
    if (!err)
        err = cantor_mpt_verify_account(state_root, addr, nodes, count, &exists, &acc);
    if (!err) {
        if (!exists)
            cantor_account_empty(&acc);
        memcpy(ret_balance, acc.balance, 32);
    }
    free_nodes(bufs, count);
    json_decref(res);
    return err;
}
