/*
 * proof.c - proof documents v1: JSON form, producers and full verification (see proof.h for the
 * check order). The parser is strict: every hash is "0x" + exactly 64 digits, every array has a
 * hard maximum, duplicate JSON keys are rejected. Nothing here keeps state between calls.
 */
#include "proof.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

static const char *const kind_names[] = {"balance", "nonce", "code", "storage"};
static const uint8_t zero32[CANTOR_HASH_LEN];

const char *cantor_proof_check_name(enum cantor_proof_check c)
{
    switch (c) {
    case CANTOR_CHECK_OK:
        return "ok";
    case CANTOR_CHECK_FORMAT:
        return "format";
    case CANTOR_CHECK_SIGNATURE:
        return "checkpoint signature";
    case CANTOR_CHECK_ETH_SIGNATURE:
        return "checkpoint secp256k1 signature";
    case CANTOR_CHECK_BLOCK:
        return "block mismatch";
    case CANTOR_CHECK_MMR_PATH:
        return "mmr path";
    case CANTOR_CHECK_LEAF:
        return "leaf";
    case CANTOR_CHECK_DELTA_PATH:
        return "delta path";
    case CANTOR_CHECK_STATE_PATH:
        return "state path";
    }
    return "unknown";
}

enum cantor_err cantor_proof_doc_new(uint8_t type, struct cantor_proof_doc **ret_doc)
{
    struct cantor_proof_doc *doc;

    if (type != CANTOR_PROOF_DELTA && type != CANTOR_PROOF_STATE)
        return CANTOR_ERR_INVALID;
    doc = calloc(1, sizeof(*doc));
    if (!doc)
        return CANTOR_ERR_NOMEM;
    doc->type = type;
    *ret_doc = doc;
    return CANTOR_OK;
}

void cantor_proof_doc_free(struct cantor_proof_doc *doc)
{
    free(doc);
}

/* ---- parsing ---- */

static enum cantor_err get_hex(const json_t *obj, const char *name, uint8_t *out, size_t n)
{
    const json_t *v = json_object_get(obj, name);
    const char *s;

    if (!json_is_string(v))
        return CANTOR_ERR_JSON;
    s = json_string_value(v);
    if (json_string_length(v) != 2 + 2 * n || s[0] != '0' || s[1] != 'x')
        return CANTOR_ERR_HEX;
    return cantor_hex_decode_exact(s, out, n);
}

static enum cantor_err get_u64(const json_t *obj, const char *name, uint64_t *ret)
{
    const json_t *v = json_object_get(obj, name);
    const char *s;

    if (!json_is_string(v))
        return CANTOR_ERR_JSON;
    s = json_string_value(v);
    if (json_string_length(v) > 18 || s[0] != '0' || s[1] != 'x')
        return CANTOR_ERR_HEX;
    return cantor_hex_decode_u64(s, ret);
}

static enum cantor_err get_hashes(const json_t *obj, const char *name, uint8_t (*out)[CANTOR_HASH_LEN],
                                  size_t max, size_t *ret_n)
{
    const json_t *a = json_object_get(obj, name);
    size_t n;
    enum cantor_err err;

    if (!json_is_array(a))
        return CANTOR_ERR_JSON;
    n = json_array_size(a);
    if (n > max)
        return CANTOR_ERR_TOO_LARGE;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != 2 + 2 * CANTOR_HASH_LEN || s[0] != '0' || s[1] != 'x')
            return CANTOR_ERR_HEX;
        err = cantor_hex_decode_exact(s, out[i], CANTOR_HASH_LEN);
        if (err)
            return err;
    }
    *ret_n = n;
    return CANTOR_OK;
}

/* {"address", "kind", "slot"?} into entry's key fields; slot is required for storage only. */
static enum cantor_err get_key(const json_t *obj, struct cantor_delta_entry *e)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    enum cantor_err err;
    int k = -1;

    if (!json_is_object(obj) || !kind)
        return CANTOR_ERR_JSON;
    for (int i = 0; i < 4; i++)
        if (strcmp(kind, kind_names[i]) == 0)
            k = i;
    if (k < 0)
        return CANTOR_ERR_INVALID;
    e->kind = (uint8_t)k;
    err = get_hex(obj, "address", e->addr, CANTOR_ADDR_LEN);
    if (err)
        return err;
    memset(e->slot, 0, CANTOR_WORD_LEN);
    if (k == CANTOR_KIND_STORAGE)
        return get_hex(obj, "slot", e->slot, CANTOR_WORD_LEN);
    return json_object_get(obj, "slot") ? CANTOR_ERR_INVALID : CANTOR_OK;
}

static enum cantor_err parse_state(const json_t *root, struct cantor_proof_doc *doc)
{
    const json_t *sp = json_object_get(root, "stateProof"), *value = json_object_get(root, "value"), *leaf,
                 *depth;
    struct cantor_smt_proof *p = &doc->smt;
    size_t n, bm_len;
    enum cantor_err err;
    const char *bm;
    uint8_t bitmap[CANTOR_SMT_MAX_DEPTH / 8];

    err = get_key(json_object_get(root, "key"), &doc->entry);
    if (err)
        return err;
    cantor_smt_key(doc->entry.addr, doc->entry.kind, doc->entry.slot, p->key);
    if (json_is_null(value)) {
        doc->present = false;
    } else {
        doc->present = true;
        err = get_hex(root, "value", doc->value, CANTOR_HASH_LEN);
        if (err)
            return err;
    }
    if (!json_is_object(sp))
        return CANTOR_ERR_JSON;
    depth = json_object_get(sp, "depth");
    if (!json_is_integer(depth) || json_integer_value(depth) < 0 ||
        json_integer_value(depth) > CANTOR_SMT_MAX_DEPTH)
        return CANTOR_ERR_JSON;
    p->depth = (uint16_t)json_integer_value(depth);
    bm = json_string_value(json_object_get(sp, "bitmap"));
    bm_len = ((size_t)p->depth + 7) / 8;
    if (!bm || strlen(bm) != 2 + 2 * bm_len || bm[0] != '0' || bm[1] != 'x')
        return CANTOR_ERR_HEX;
    memset(bitmap, 0, sizeof(bitmap));
    err = cantor_hex_decode_exact(bm, bitmap, bm_len);
    if (err)
        return err;
    memcpy(p->bitmap, bitmap, sizeof(bitmap));
    err = get_hashes(sp, "siblings", p->siblings, CANTOR_SMT_MAX_DEPTH, &n);
    if (err)
        return err;
    p->n_siblings = (uint16_t)n;
    leaf = json_object_get(sp, "leaf");
    if (json_is_null(leaf)) {
        p->term = CANTOR_SMT_TERM_EMPTY;
    } else if (json_is_object(leaf)) {
        err = get_hex(leaf, "key", p->leaf_key, CANTOR_HASH_LEN);
        if (!err)
            err = get_hex(leaf, "value", p->leaf_value, CANTOR_HASH_LEN);
        if (err)
            return err;
        p->term =
            memcmp(p->leaf_key, p->key, CANTOR_HASH_LEN) == 0 ? CANTOR_SMT_TERM_LEAF : CANTOR_SMT_TERM_OTHER;
    } else {
        return CANTOR_ERR_JSON;
    }
    return CANTOR_OK;
}

static enum cantor_err parse_doc(const json_t *root, struct cantor_proof_doc *doc)
{
    const json_t *ver = json_object_get(root, "version"), *blk = json_object_get(root, "block"),
                 *mmr = json_object_get(root, "mmrProof"), *cp = json_object_get(root, "checkpoint");
    const char *type = json_string_value(json_object_get(root, "type"));
    enum cantor_err err;
    size_t n;

    if (!json_is_object(root) || !json_is_integer(ver) || !type || !json_is_object(blk) ||
        !json_is_object(mmr) || !json_is_object(cp))
        return CANTOR_ERR_JSON;
    if (json_integer_value(ver) != CANTOR_PROOF_VERSION)
        return CANTOR_ERR_UNSUPPORTED;
    if (strcmp(type, "delta") == 0)
        doc->type = CANTOR_PROOF_DELTA;
    else if (strcmp(type, "state") == 0)
        doc->type = CANTOR_PROOF_STATE;
    else
        return CANTOR_ERR_UNSUPPORTED;

    if ((err = get_u64(blk, "number", &doc->block.number)) ||
        (err = get_hex(blk, "hash", doc->block.hash, 32)) ||
        (err = get_hex(blk, "deltaRoot", doc->block.delta_root, 32)) ||
        (err = get_hex(blk, "stateRoot", doc->block.state_root, 32)))
        return err;

    if (doc->type == CANTOR_PROOF_DELTA) {
        const json_t *e = json_object_get(root, "entry");
        if ((err = get_key(e, &doc->entry)) || (err = get_hex(e, "old", doc->entry.old_val, 32)) ||
            (err = get_hex(e, "new", doc->entry.new_val, 32)))
            return err;
        err = get_hashes(root, "deltaProof", doc->delta_path, CANTOR_MERKLE_MAX_PROOF, &doc->n_delta_path);
    } else {
        err = parse_state(root, doc);
    }
    if (err)
        return err;

    if ((err = get_u64(mmr, "leafIndex", &doc->mmr.leaf_index)) ||
        (err = get_u64(mmr, "leafCount", &doc->mmr.leaf_count)) ||
        (err = get_hashes(mmr, "siblings", doc->mmr.siblings, CANTOR_MMR_MAX_HEIGHT, &n)))
        return err;
    doc->mmr.n_siblings = (uint8_t)n;
    if ((err = get_hashes(mmr, "peaks", doc->mmr.peaks, CANTOR_MMR_MAX_HEIGHT, &n)))
        return err;
    doc->mmr.n_peaks = (uint8_t)n;

    if ((err = get_u64(cp, "chainId", &doc->checkpoint.chain_id)) ||
        (err = get_u64(cp, "number", &doc->checkpoint.number)) ||
        (err = get_hex(cp, "blockHash", doc->checkpoint.block_hash, 32)) ||
        (err = get_hex(cp, "mmrRoot", doc->checkpoint.mmr_root, 32)) ||
        (err = get_hex(cp, "ed25519", doc->sigs.ed25519, CANTOR_ED25519_SIG_LEN)) ||
        (err = get_hex(cp, "secp256k1", doc->sigs.secp256k1, CANTOR_SECP_SIG_LEN)) ||
        (err = get_hex(cp, "signer", doc->signer, CANTOR_ETH_ADDR_LEN)))
        return err;
    return CANTOR_OK;
}

enum cantor_err cantor_proof_parse(const char *json, size_t len, struct cantor_proof_doc **ret_doc)
{
    struct cantor_proof_doc *doc = NULL;
    json_error_t jerr;
    json_t *root = NULL;
    enum cantor_err err;

    if (len > CANTOR_PROOF_MAX_JSON)
        return CANTOR_ERR_TOO_LARGE;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return CANTOR_ERR_JSON;
    doc = calloc(1, sizeof(*doc));
    if (!doc) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    err = parse_doc(root, doc);
    if (err)
        goto out;
    *ret_doc = doc;
    doc = NULL;
out:
    json_decref(root);
    cantor_proof_doc_free(doc);
    return err;
}

/* ---- writing ---- */

static int set_hex(json_t *obj, const char *name, const uint8_t *b, size_t n)
{
    char s[2 * 128 + 3];

    cantor_hex_encode(b, n, s);
    return json_object_set_new(obj, name, json_string(s));
}

static int set_u64(json_t *obj, const char *name, uint64_t v)
{
    char s[24];

    snprintf(s, sizeof(s), "0x%" PRIx64, v);
    return json_object_set_new(obj, name, json_string(s));
}

static json_t *hash_array(const uint8_t (*h)[CANTOR_HASH_LEN], size_t n)
{
    json_t *a = json_array();
    char s[2 * CANTOR_HASH_LEN + 3];

    for (size_t i = 0; a && i < n; i++) {
        cantor_hex_encode(h[i], CANTOR_HASH_LEN, s);
        if (json_array_append_new(a, json_string(s)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *key_object(const struct cantor_delta_entry *e)
{
    json_t *o = json_object();

    if (!o || e->kind > CANTOR_KIND_STORAGE)
        goto fail;
    if (set_hex(o, "address", e->addr, CANTOR_ADDR_LEN) ||
        json_object_set_new(o, "kind", json_string(kind_names[e->kind])))
        goto fail;
    if (e->kind == CANTOR_KIND_STORAGE && set_hex(o, "slot", e->slot, CANTOR_WORD_LEN))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *doc_json(const struct cantor_proof_doc *doc)
{
    json_t *root = json_object(), *blk = json_object(), *mmr = json_object(), *cp = json_object(), *x = NULL;
    int bad = !root || !blk || !mmr || !cp;

    if (bad)
        goto fail;
    bad |= json_object_set_new(root, "version", json_integer(CANTOR_PROOF_VERSION));
    bad |=
        json_object_set_new(root, "type", json_string(doc->type == CANTOR_PROOF_DELTA ? "delta" : "state"));
    bad |= set_u64(blk, "number", doc->block.number);
    bad |= set_hex(blk, "hash", doc->block.hash, 32);
    bad |= set_hex(blk, "deltaRoot", doc->block.delta_root, 32);
    bad |= set_hex(blk, "stateRoot", doc->block.state_root, 32);
    bad |= json_object_set_new(root, "block", blk);
    blk = NULL;
    if (doc->type == CANTOR_PROOF_DELTA) {
        x = key_object(&doc->entry);
        bad |= !x || set_hex(x, "old", doc->entry.old_val, 32) || set_hex(x, "new", doc->entry.new_val, 32);
        bad |= json_object_set_new(root, "entry", x);
        bad |= json_object_set_new(
            root, "deltaProof",
            hash_array((const uint8_t(*)[CANTOR_HASH_LEN])doc->delta_path, doc->n_delta_path));
    } else {
        const struct cantor_smt_proof *p = &doc->smt;
        bad |= json_object_set_new(root, "key", key_object(&doc->entry));
        if (doc->present)
            bad |= set_hex(root, "value", doc->value, 32);
        else
            bad |= json_object_set_new(root, "value", json_null());
        x = json_object();
        bad |= !x;
        if (x) {
            json_t *leaf = json_null();
            bad |= json_object_set_new(x, "depth", json_integer(p->depth));
            bad |= set_hex(x, "bitmap", p->bitmap, ((size_t)p->depth + 7) / 8);
            bad |= json_object_set_new(
                x, "siblings", hash_array((const uint8_t(*)[CANTOR_HASH_LEN])p->siblings, p->n_siblings));
            if (p->term != CANTOR_SMT_TERM_EMPTY) {
                leaf = json_object();
                bad |= !leaf || set_hex(leaf, "key", p->leaf_key, 32) ||
                       set_hex(leaf, "value", p->leaf_value, 32);
            }
            bad |= json_object_set_new(x, "leaf", leaf);
        }
        bad |= json_object_set_new(root, "stateProof", x);
    }
    bad |= set_u64(mmr, "leafIndex", doc->mmr.leaf_index);
    bad |= set_u64(mmr, "leafCount", doc->mmr.leaf_count);
    bad |= json_object_set_new(
        mmr, "siblings",
        hash_array((const uint8_t(*)[CANTOR_HASH_LEN])doc->mmr.siblings, doc->mmr.n_siblings));
    bad |= json_object_set_new(
        mmr, "peaks", hash_array((const uint8_t(*)[CANTOR_HASH_LEN])doc->mmr.peaks, doc->mmr.n_peaks));
    bad |= json_object_set_new(root, "mmrProof", mmr);
    mmr = NULL;
    bad |= set_u64(cp, "chainId", doc->checkpoint.chain_id);
    bad |= set_u64(cp, "number", doc->checkpoint.number);
    bad |= set_hex(cp, "blockHash", doc->checkpoint.block_hash, 32);
    bad |= set_hex(cp, "mmrRoot", doc->checkpoint.mmr_root, 32);
    bad |= set_hex(cp, "ed25519", doc->sigs.ed25519, CANTOR_ED25519_SIG_LEN);
    bad |= set_hex(cp, "secp256k1", doc->sigs.secp256k1, CANTOR_SECP_SIG_LEN);
    bad |= set_hex(cp, "signer", doc->signer, CANTOR_ETH_ADDR_LEN);
    bad |= json_object_set_new(root, "checkpoint", cp);
    cp = NULL;
    if (!bad)
        return root;
fail:
    json_decref(root);
    json_decref(blk);
    json_decref(mmr);
    json_decref(cp);
    return NULL;
}

enum cantor_err cantor_proof_to_json(const struct cantor_proof_doc *doc, struct cantor_buf *out)
{
    json_t *j = doc_json(doc);
    char *s;
    enum cantor_err err;

    if (!j)
        return CANTOR_ERR_NOMEM;
    s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return CANTOR_ERR_NOMEM;
    err = cantor_buf_append_str(out, s);
    if (!err)
        err = cantor_buf_append_byte(out, '\n');
    free(s);
    return err;
}

size_t cantor_proof_size(const struct cantor_proof_doc *doc)
{
    size_t n = 8 + 3 * CANTOR_HASH_LEN;                     /* block record */
    n += 16 + CANTOR_HASH_LEN * 2;                          /* checkpoint fields */
    n += CANTOR_ED25519_SIG_LEN + CANTOR_SECP_SIG_LEN + 20; /* signatures, signer */
    n += cantor_mmr_proof_size(&doc->mmr);
    n += CANTOR_ADDR_LEN + 1 + (doc->entry.kind == CANTOR_KIND_STORAGE ? CANTOR_WORD_LEN : 0);
    if (doc->type == CANTOR_PROOF_DELTA)
        n += 2 * CANTOR_WORD_LEN + 1 + doc->n_delta_path * CANTOR_HASH_LEN;
    else
        n += 1 + (doc->present ? CANTOR_WORD_LEN : 0) + cantor_smt_proof_size(&doc->smt) - CANTOR_HASH_LEN;
    return n;
}

/* ---- verification ---- */

__attribute__((format(printf, 3, 4))) static enum cantor_err
fail(struct cantor_proof_report *r, enum cantor_proof_check c, const char *fmt, ...)
{
    va_list ap;
    int off;

    r->failed = c;
    off = snprintf(r->message, sizeof(r->message), "%s: ", cantor_proof_check_name(c));
    if (off < 0 || (size_t)off >= sizeof(r->message))
        off = 0;
    va_start(ap, fmt);
    vsnprintf(r->message + off, sizeof(r->message) - (size_t)off, fmt, ap);
    va_end(ap);
    return (c == CANTOR_CHECK_SIGNATURE || c == CANTOR_CHECK_ETH_SIGNATURE) ? CANTOR_ERR_SIGNATURE
                                                                            : CANTOR_ERR_PROOF;
}

static enum cantor_err check_signatures(const struct cantor_proof_doc *doc,
                                        const uint8_t pubkey[CANTOR_ED25519_PK_LEN], const uint8_t *eth_addr,
                                        struct cantor_proof_report *r)
{
    const struct cantor_checkpoint *cp = &doc->checkpoint;
    uint8_t addr[CANTOR_ETH_ADDR_LEN];
    char hex[2 * CANTOR_HASH_LEN + 3];

    if (cantor_checkpoint_verify_ed25519(pubkey, cp, doc->sigs.ed25519))
        return fail(r, CANTOR_CHECK_SIGNATURE,
                    "ed25519 signature over checkpoint of block %" PRIu64
                    " does not verify with the given key",
                    cp->number);
    if (cantor_checkpoint_recover_eth(cp, doc->sigs.secp256k1, addr))
        return fail(r, CANTOR_CHECK_ETH_SIGNATURE,
                    "secp256k1 signature does not recover (bad v, r, s or high s)");
    if (memcmp(addr, doc->signer, CANTOR_ETH_ADDR_LEN) != 0) {
        cantor_hex_encode(addr, CANTOR_ETH_ADDR_LEN, hex);
        return fail(r, CANTOR_CHECK_ETH_SIGNATURE,
                    "secp256k1 signature recovers to %s, not the document's signer", hex);
    }
    if (eth_addr && memcmp(addr, eth_addr, CANTOR_ETH_ADDR_LEN) != 0) {
        cantor_hex_encode(addr, CANTOR_ETH_ADDR_LEN, hex);
        return fail(r, CANTOR_CHECK_ETH_SIGNATURE, "signer %s is not the expected address", hex);
    }

    return CANTOR_OK;
}

/* Everything below the checkpoint: block position, MMR path, delta or state path. */
static enum cantor_err check_body(const struct cantor_proof_doc *doc, struct cantor_proof_report *r)
{
    const struct cantor_proof_block *b = &doc->block;
    const struct cantor_checkpoint *cp = &doc->checkpoint;
    uint8_t leaf[CANTOR_HASH_LEN], key[CANTOR_HASH_LEN];
    bool found;

    if (doc->mmr.leaf_count == 0 || doc->mmr.leaf_index >= doc->mmr.leaf_count)
        return fail(r, CANTOR_CHECK_BLOCK, "leaf index %" PRIu64 " outside an MMR of %" PRIu64 " leaves",
                    doc->mmr.leaf_index, doc->mmr.leaf_count);
    if (cp->number < b->number || cp->number - b->number != doc->mmr.leaf_count - 1 - doc->mmr.leaf_index)
        return fail(r, CANTOR_CHECK_BLOCK,
                    "block %" PRIu64 " at leaf %" PRIu64 " of %" PRIu64
                    " does not line up with checkpoint block %" PRIu64,
                    b->number, doc->mmr.leaf_index, doc->mmr.leaf_count, cp->number);
    if (cp->number == b->number && memcmp(cp->block_hash, b->hash, CANTOR_HASH_LEN) != 0)
        return fail(r, CANTOR_CHECK_BLOCK, "block %" PRIu64 " hash differs from the checkpoint's", b->number);

    cantor_mmr_leaf_hash(b->number, b->hash, b->delta_root, b->state_root, leaf);
    if (cantor_mmr_verify(cp->mmr_root, leaf, &doc->mmr))
        return fail(r, CANTOR_CHECK_MMR_PATH,
                    "block %" PRIu64 " record (hash, deltaRoot, stateRoot) is not leaf %" PRIu64
                    " under the checkpoint's MMR root",
                    b->number, doc->mmr.leaf_index);

    if (doc->type == CANTOR_PROOF_DELTA) {
        cantor_merkle_leaf_hash(b->number, &doc->entry, leaf);
        if (!cantor_merkle_verify(b->delta_root, leaf, (const uint8_t(*)[CANTOR_HASH_LEN])doc->delta_path,
                                  doc->n_delta_path))
            return fail(r, CANTOR_CHECK_DELTA_PATH,
                        "entry leaf does not reach the deltaRoot of block %" PRIu64, b->number);
        r->present = true;
        memcpy(r->value, doc->entry.new_val, CANTOR_HASH_LEN);
    } else {
        const struct cantor_smt_proof *p = &doc->smt;
        cantor_smt_key(doc->entry.addr, doc->entry.kind, doc->entry.slot, key);
        if (memcmp(key, p->key, CANTOR_HASH_LEN) != 0)
            return fail(r, CANTOR_CHECK_LEAF, "state path is for another key");
        if (doc->present &&
            (p->term != CANTOR_SMT_TERM_LEAF || memcmp(p->leaf_value, doc->value, CANTOR_HASH_LEN)))
            return fail(r, CANTOR_CHECK_LEAF, "claimed value is not the value in the key's leaf");
        if (!doc->present && p->term == CANTOR_SMT_TERM_LEAF)
            return fail(r, CANTOR_CHECK_LEAF, "claims absence but the path ends in the key's own leaf");
        if (cantor_smt_verify(b->state_root, p, &found) || found != doc->present)
            return fail(r, CANTOR_CHECK_STATE_PATH, "key path does not reach the stateRoot of block %" PRIu64,
                        b->number);
        r->present = found;
        memcpy(r->value, found ? doc->value : zero32, CANTOR_HASH_LEN);
    }
    r->failed = CANTOR_CHECK_OK;
    r->block_number = b->number;
    r->checkpoint_number = cp->number;
    snprintf(r->message, sizeof(r->message), "ok");
    return CANTOR_OK;
}

enum cantor_err cantor_proof_verify_ex(const struct cantor_proof_doc *doc,
                                       const uint8_t pubkey[CANTOR_ED25519_PK_LEN], const uint8_t *eth_addr,
                                       struct cantor_proof_report *ret_report)
{
    enum cantor_err err;

    memset(ret_report, 0, sizeof(*ret_report));
    if (doc->type != CANTOR_PROOF_DELTA && doc->type != CANTOR_PROOF_STATE)
        return fail(ret_report, CANTOR_CHECK_FORMAT, "unknown proof type %u", doc->type);
    err = check_signatures(doc, pubkey, eth_addr, ret_report);
    if (!err)
        err = check_body(doc, ret_report);
    return err;
}

void cantor_proof_verifier_init(struct cantor_proof_verifier *v, const uint8_t pubkey[CANTOR_ED25519_PK_LEN],
                                const uint8_t *eth_addr)
{
    memset(v, 0, sizeof(*v));
    memcpy(v->pubkey, pubkey, CANTOR_ED25519_PK_LEN);
    v->has_eth = eth_addr != NULL;
    if (eth_addr)
        memcpy(v->eth_addr, eth_addr, CANTOR_ETH_ADDR_LEN);
}

enum cantor_err cantor_proof_verifier_check(struct cantor_proof_verifier *v,
                                            const struct cantor_proof_doc *doc,
                                            struct cantor_proof_report *ret_report)
{
    enum cantor_err err;

    memset(ret_report, 0, sizeof(*ret_report));
    if (doc->type != CANTOR_PROOF_DELTA && doc->type != CANTOR_PROOF_STATE)
        return fail(ret_report, CANTOR_CHECK_FORMAT, "unknown proof type %u", doc->type);
    /* Same checkpoint, signatures and signer byte for byte as one already verified: skip the curves. */
    if (!(v->cached && memcmp(&v->checkpoint, &doc->checkpoint, sizeof(v->checkpoint)) == 0 &&
          memcmp(&v->sigs, &doc->sigs, sizeof(v->sigs)) == 0 &&
          memcmp(v->signer, doc->signer, CANTOR_ETH_ADDR_LEN) == 0)) {
        err = check_signatures(doc, v->pubkey, v->has_eth ? v->eth_addr : NULL, ret_report);
        if (err)
            return err;
        v->checkpoint = doc->checkpoint;
        v->sigs = doc->sigs;
        memcpy(v->signer, doc->signer, CANTOR_ETH_ADDR_LEN);
        v->cached = true;
    }
    return check_body(doc, ret_report);
}

enum cantor_err cantor_proof_verify(const struct cantor_proof_doc *doc,
                                    const uint8_t pubkey[CANTOR_ED25519_PK_LEN],
                                    struct cantor_proof_report *ret_report)
{
    return cantor_proof_verify_ex(doc, pubkey, NULL, ret_report);
}

enum cantor_err cantor_proof_verify_json(const char *json, size_t len,
                                         const uint8_t pubkey[CANTOR_ED25519_PK_LEN], const uint8_t *eth_addr,
                                         struct cantor_proof_report *ret_report)
{
    struct cantor_proof_doc *doc = NULL;
    enum cantor_err err = cantor_proof_parse(json, len, &doc);

    if (err) {
        memset(ret_report, 0, sizeof(*ret_report));
        fail(ret_report, CANTOR_CHECK_FORMAT, "not a v1 proof document (%s)", cantor_err_str(err));
        return err;
    }
    err = cantor_proof_verify_ex(doc, pubkey, eth_addr, ret_report);
    cantor_proof_doc_free(doc);
    return err;
}

/* ---- producers ---- */

enum cantor_err cantor_proof_fill_delta(struct cantor_proof_doc *doc, const struct cantor_merkle_tree *t,
                                        const struct cantor_delta_entry *e)
{
    uint8_t leaf[CANTOR_HASH_LEN];
    size_t idx;
    enum cantor_err err;

    doc->type = CANTOR_PROOF_DELTA;
    doc->entry = *e;
    cantor_merkle_leaf_hash(doc->block.number, e, leaf);
    err = cantor_merkle_find(t, leaf, &idx);
    if (!err)
        err = cantor_merkle_prove(t, idx, doc->delta_path, &doc->n_delta_path);
    return err;
}

enum cantor_err cantor_proof_fill_state(struct cantor_proof_doc *doc, const struct cantor_smt_store *s,
                                        const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                        const uint8_t slot[CANTOR_WORD_LEN])
{
    uint8_t key[CANTOR_HASH_LEN];
    enum cantor_err err;

    if (kind > CANTOR_KIND_STORAGE)
        return CANTOR_ERR_INVALID;
    doc->type = CANTOR_PROOF_STATE;
    memset(&doc->entry, 0, sizeof(doc->entry));
    memcpy(doc->entry.addr, addr, CANTOR_ADDR_LEN);
    doc->entry.kind = kind;
    if (kind == CANTOR_KIND_STORAGE)
        memcpy(doc->entry.slot, slot, CANTOR_WORD_LEN);
    cantor_smt_key(doc->entry.addr, kind, doc->entry.slot, key);
    err = cantor_smt_prove(s, doc->block.state_root, key, &doc->smt);
    if (err)
        return err;
    doc->present = doc->smt.term == CANTOR_SMT_TERM_LEAF;
    memcpy(doc->value, doc->present ? doc->smt.leaf_value : zero32, CANTOR_HASH_LEN);
    return CANTOR_OK;
}

enum cantor_err cantor_proof_fill_mmr(struct cantor_proof_doc *doc, const struct cantor_mmr_store *s,
                                      uint64_t leaf_count, uint64_t leaf_index)
{
    return cantor_mmr_prove(s, leaf_count, leaf_index, &doc->mmr);
}

enum cantor_err cantor_proof_fill_checkpoint(struct cantor_proof_doc *doc,
                                             const struct cantor_checkpoint_keys *k,
                                             const struct cantor_checkpoint *c)
{
    doc->checkpoint = *c;
    memcpy(doc->signer, k->eth_addr, CANTOR_ETH_ADDR_LEN);
    return cantor_checkpoint_sign(k, c, &doc->sigs);
}
