/*
 * synth_state.c - see synth_state.h. The trie is rebuilt for every proof (a few hundred accounts:
 * well under a millisecond), nodes are collected along the asked key's path. Account values are
 * longer than 32 bytes, so every node is referenced by hash and every node on the path is a proof
 * node; an embedded node is still encoded inline correctly, only left out of the proof list.
 */
#include "tests/mocknode/synth_state.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/rlp.h"

#define MAX_PATH 80

void synth_state_release(struct synth_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->a[i].code);
    free(s->a);
    memset(s, 0, sizeof(*s));
}

enum cantor_err synth_state_copy(const struct synth_state *src, struct synth_state *dst)
{
    memset(dst, 0, sizeof(*dst));
    if (!src->n)
        return CANTOR_OK;
    dst->a = calloc(src->n, sizeof(*dst->a));
    if (!dst->a)
        return CANTOR_ERR_NOMEM;
    dst->cap = src->n;
    for (size_t i = 0; i < src->n; i++, dst->n++) {
        dst->a[i] = src->a[i];
        dst->a[i].code = NULL;
        if (src->a[i].code_len) {
            dst->a[i].code = malloc(src->a[i].code_len);
            if (!dst->a[i].code) {
                synth_state_release(dst);
                return CANTOR_ERR_NOMEM;
            }
            memcpy(dst->a[i].code, src->a[i].code, src->a[i].code_len);
        }
    }
    return CANTOR_OK;
}

static size_t lower_bound(const struct synth_state *s, const uint8_t key[32])
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (memcmp(s->a[mid].key, key, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct synth_acct *synth_state_find(const struct synth_state *s, const uint8_t addr[20])
{
    uint8_t key[32];
    size_t i;

    cantor_keccak256(addr, 20, key);
    i = lower_bound(s, key);
    return i < s->n && memcmp(s->a[i].key, key, 32) == 0 ? &s->a[i] : NULL;
}

/* The account of addr, inserted empty when new. */
static enum cantor_err get_acct(struct synth_state *s, const char *addr_hex, struct synth_acct **ret)
{
    struct synth_acct a;
    size_t i;

    memset(&a, 0, sizeof(a));
    if (cantor_hex_decode_exact(addr_hex, a.addr, 20))
        return CANTOR_ERR_HEX;
    cantor_keccak256(a.addr, 20, a.key);
    i = lower_bound(s, a.key);
    if (i < s->n && memcmp(s->a[i].key, a.key, 32) == 0) {
        *ret = &s->a[i];
        return CANTOR_OK;
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        struct synth_acct *p = realloc(s->a, ncap * sizeof(*p));

        if (!p)
            return CANTOR_ERR_NOMEM;
        s->a = p;
        s->cap = ncap;
    }
    memmove(&s->a[i + 1], &s->a[i], (s->n - i) * sizeof(*s->a));
    cantor_account_empty(&a.acc);
    s->a[i] = a;
    s->n++;
    *ret = &s->a[i];
    return CANTOR_OK;
}

/* Set the fields an account object of pre or post names (absent fields are left as they are). */
static enum cantor_err set_fields(struct synth_acct *a, json_t *o)
{
    json_t *bal = json_object_get(o, "balance"), *nonce = json_object_get(o, "nonce");
    json_t *code = json_object_get(o, "code"), *code_hash = json_object_get(o, "codeHash");
    uint8_t w[32];
    enum cantor_err err;

    if (bal) {
        err = cantor_delta_json_word(bal, a->acc.balance);
        if (err)
            return err;
    }
    if (nonce) {
        uint64_t v = 0;

        err = cantor_delta_json_word(nonce, w);
        if (err)
            return err;
        for (int i = 24; i < 32; i++)
            v = v << 8 | w[i];
        a->acc.nonce = v;
    }
    if (code) {
        uint8_t *bytes = NULL;
        size_t len = 0;

        err = json_is_string(code) ? cantor_hex_decode_alloc(json_string_value(code), &bytes, &len)
                                   : CANTOR_ERR_JSON;
        if (err)
            return err;
        free(a->code);
        a->code = len ? bytes : NULL;
        a->code_len = len;
        if (!len)
            free(bytes);
        cantor_keccak256(bytes && len ? bytes : (const uint8_t *)"", len, a->acc.code_hash);
    } else if (code_hash && json_is_string(code_hash)) {
        err = cantor_hex_decode_exact(json_string_value(code_hash), w, 32);
        if (err)
            return err;
        /* Erigon prints a zero codeHash for a touched account that does not exist: no code. */
        memcpy(a->acc.code_hash, memcmp(w, (uint8_t[32]){0}, 32) ? w : CANTOR_KECCAK_EMPTY, 32);
    }
    return CANTOR_OK;
}

enum cantor_err synth_state_apply_geth(struct synth_state *s, json_t *diff)
{
    json_t *tx, *o;
    const char *addr;
    size_t i;
    enum cantor_err err = CANTOR_OK;

    if (!json_is_array(diff))
        return CANTOR_ERR_JSON;
    json_array_foreach(diff, i, tx)
    {
        json_t *res = json_object_get(tx, "result");
        json_t *pre = json_object_get(res, "pre"), *post = json_object_get(res, "post");
        struct synth_acct *a;

        if (!json_is_object(pre) || !json_is_object(post))
            return CANTOR_ERR_JSON;
        /* pre is the full state before the transaction: nonce and code omitted mean 0 / none. */
        json_object_foreach(pre, addr, o)
        {
            if ((err = get_acct(s, addr, &a)) != CANTOR_OK)
                return err;
            a->acc.nonce = 0;
            memcpy(a->acc.code_hash, CANTOR_KECCAK_EMPTY, 32);
            free(a->code);
            a->code = NULL;
            a->code_len = 0;
            if ((err = set_fields(a, o)) != CANTOR_OK)
                return err;
            if (!json_object_get(post, addr)) { /* self-destructed */
                free(a->code);
                a->code = NULL;
                a->code_len = 0;
                cantor_account_empty(&a->acc);
            }
        }
        json_object_foreach(post, addr, o)
        {
            if ((err = get_acct(s, addr, &a)) != CANTOR_OK || (err = set_fields(a, o)) != CANTOR_OK)
                return err;
        }
    }
    return CANTOR_OK;
}

/* ---- trie ---- */

struct build {
    const struct synth_state *s;
    uint8_t (*nib)[64];  /* nibbles of every key */
    const uint8_t *want; /* nibbles of the key whose proof is collected, or NULL */
    struct cantor_buf path[MAX_PATH];
    size_t n_path;
};

static enum cantor_err account_rlp(const struct synth_acct *a, struct cantor_buf *out)
{
    struct cantor_account acc = a->acc;

    memcpy(acc.storage_root, CANTOR_EMPTY_TRIE_ROOT, 32);
    return cantor_account_encode(&acc, out);
}

/* Append the reference to a child node: its hash, or the node itself when shorter than 32 bytes. */
static enum cantor_err put_ref(struct cantor_buf *out, const struct cantor_buf *child)
{
    uint8_t h[32];

    if (child->len < 32)
        return cantor_buf_append(out, child->data, child->len);
    cantor_keccak256(child->data, child->len, h);
    return cantor_rlp_encode_bytes(out, h, 32);
}

static enum cantor_err wrap_list(struct cantor_buf *payload, struct cantor_buf *out)
{
    return cantor_rlp_encode_list(out, payload->data, payload->len);
}

/* Encode the node over keys [lo, hi) at nibble depth into out; collect it if it is on want's path. */
static enum cantor_err build_node(struct build *b, size_t lo, size_t hi, size_t depth, struct cantor_buf *out)
{
    struct cantor_buf payload, tmp;
    size_t cp = 0;
    enum cantor_err err;
    bool on_path = b->want && memcmp(b->want, b->nib[lo], depth) == 0;

    cantor_buf_init(&payload, 0);
    cantor_buf_init(&tmp, 0);
    if (hi - lo == 1) {
        err = cantor_mpt_hp_encode(b->nib[lo] + depth, 64 - depth, true, &tmp);
        if (!err)
            err = cantor_rlp_encode_bytes(&payload, tmp.data, tmp.len);
        tmp.len = 0;
        if (!err)
            err = account_rlp(&b->s->a[lo], &tmp);
        if (!err)
            err = cantor_rlp_encode_bytes(&payload, tmp.data, tmp.len);
    } else {
        while (depth + cp < 64 && b->nib[lo][depth + cp] == b->nib[hi - 1][depth + cp])
            cp++;
        if (cp) {
            err = cantor_mpt_hp_encode(b->nib[lo] + depth, cp, false, &tmp);
            if (!err)
                err = cantor_rlp_encode_bytes(&payload, tmp.data, tmp.len);
            tmp.len = 0;
            if (!err)
                err = build_node(b, lo, hi, depth + cp, &tmp);
            if (!err)
                err = put_ref(&payload, &tmp);
        } else {
            size_t i = lo;

            err = CANTOR_OK;
            for (uint8_t nib = 0; nib < 16 && !err; nib++) {
                size_t j = i;

                while (j < hi && b->nib[j][depth] == nib)
                    j++;
                if (j == i) {
                    err = cantor_buf_append_byte(&payload, 0x80);
                    continue;
                }
                tmp.len = 0;
                err = build_node(b, i, j, depth + 1, &tmp);
                if (!err)
                    err = put_ref(&payload, &tmp);
                i = j;
            }
            if (!err)
                err = cantor_buf_append_byte(&payload, 0x80); /* no value in a branch */
        }
    }
    if (!err)
        err = wrap_list(&payload, out);
    /* Children are collected first: the path is reversed at the end. */
    if (!err && on_path && out->len >= 32) {
        if (b->n_path == MAX_PATH)
            err = CANTOR_ERR_TOO_LARGE;
        else {
            cantor_buf_init(&b->path[b->n_path], 0);
            err = cantor_buf_append(&b->path[b->n_path], out->data, out->len);
            b->n_path++;
        }
    }
    cantor_buf_release(&payload);
    cantor_buf_release(&tmp);
    return err;
}

/* Build the trie (collecting want's path when given); *ret_root is its root. */
static enum cantor_err build_trie(struct build *b, uint8_t ret_root[32])
{
    struct cantor_buf root;
    enum cantor_err err;

    if (!b->s->n) {
        memcpy(ret_root, CANTOR_EMPTY_TRIE_ROOT, 32);
        return CANTOR_OK;
    }
    b->nib = malloc(b->s->n * sizeof(*b->nib));
    if (!b->nib)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < b->s->n; i++)
        for (int k = 0; k < 32; k++) {
            b->nib[i][2 * k] = b->s->a[i].key[k] >> 4;
            b->nib[i][2 * k + 1] = b->s->a[i].key[k] & 15;
        }
    cantor_buf_init(&root, 0);
    err = build_node(b, 0, b->s->n, 0, &root);
    if (!err)
        cantor_keccak256(root.data, root.len, ret_root);
    cantor_buf_release(&root);
    free(b->nib);
    b->nib = NULL;
    return err;
}

enum cantor_err synth_state_root(const struct synth_state *s, uint8_t ret_root[32])
{
    struct build b = {.s = s};

    return build_trie(&b, ret_root);
}

static json_t *hex_json(const uint8_t *p, size_t len)
{
    char *t = malloc(2 * len + 3);
    json_t *j;

    if (!t)
        return NULL;
    cantor_hex_encode(p, len, t);
    j = json_string(t);
    free(t);
    return j;
}

enum cantor_err synth_state_proof_json(const struct synth_state *s, const uint8_t addr[20], json_t **ret)
{
    struct build b = {.s = s};
    const struct synth_acct *a = synth_state_find(s, addr);
    struct cantor_account acc;
    uint8_t key[32], want[64], root[32], nonce[32] = {0};
    char q[67];
    json_t *o = NULL, *proof = json_array();
    enum cantor_err err;

    cantor_keccak256(addr, 20, key);
    for (int k = 0; k < 32; k++) {
        want[2 * k] = key[k] >> 4;
        want[2 * k + 1] = key[k] & 15;
    }
    b.want = want;
    err = proof ? build_trie(&b, root) : CANTOR_ERR_NOMEM;
    for (size_t i = b.n_path; !err && i > 0; i--)
        if (json_array_append_new(proof, hex_json(b.path[i - 1].data, b.path[i - 1].len)))
            err = CANTOR_ERR_NOMEM;
    if (a)
        acc = a->acc;
    else
        cantor_account_empty(&acc);
    for (int k = 0; k < 8; k++)
        nonce[31 - k] = (uint8_t)(acc.nonce >> (8 * k));
    if (!err) {
        o = json_object();
        cantor_hex_encode_quantity(acc.balance, q);
        if (!o || json_object_set_new(o, "address", hex_json(addr, 20)) ||
            json_object_set(o, "accountProof", proof) || json_object_set_new(o, "balance", json_string(q)) ||
            json_object_set_new(o, "codeHash", hex_json(acc.code_hash, 32)))
            err = CANTOR_ERR_NOMEM;
        cantor_hex_encode_quantity(nonce, q);
        if (!err && (json_object_set_new(o, "nonce", json_string(q)) ||
                     json_object_set_new(o, "storageHash", hex_json(CANTOR_EMPTY_TRIE_ROOT, 32)) ||
                     json_object_set_new(o, "storageProof", json_array())))
            err = CANTOR_ERR_NOMEM;
    }
    for (size_t i = 0; i < b.n_path; i++)
        cantor_buf_release(&b.path[i]);
    json_decref(proof);
    if (err) {
        json_decref(o);
        return err;
    }
    *ret = o;
    return CANTOR_OK;
}
