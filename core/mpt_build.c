/*
 * mpt_build.c - compute a Merkle-Patricia trie root from key/value pairs (see mpt.h). Owner: "mpt".
 *
 * Sort once, then build recursively: a range of sorted keys that share a prefix of `depth` nibbles
 * becomes a leaf (one key), an extension (a longer common prefix) or a branch (split on the next
 * nibble). Each node is RLP-encoded into a temporary buffer and referenced from its parent by hash,
 * or inline when its encoding is shorter than 32 bytes. The recursion depth is bounded by the key
 * length (CANTOR_MPT_MAX_KEY bytes = 512 nibbles). The caller's kvs are borrowed.
 */
#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "mpt.h"
#include "rlp.h"

/* A node can hold 16 references of 33 bytes plus a value; leave room for large values. */
#define NODE_BUF_MAX (CANTOR_MPT_MAX_VALUE_LEN + 1024)

static uint8_t nib(const uint8_t *key, size_t i)
{
    return (uint8_t)((i & 1) ? key[i / 2] & 0x0f : key[i / 2] >> 4);
}

static int kv_cmp(const void *pa, const void *pb)
{
    const struct cantor_mpt_kv *a = pa, *b = pb;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = n ? memcmp(a->key, b->key, n) : 0;

    if (c)
        return c;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

enum cantor_err cantor_mpt_hp_encode(const uint8_t *nibbles, size_t n, bool leaf, struct cantor_buf *out)
{
    uint8_t flag = (uint8_t)((leaf ? 2 : 0) + (n & 1));
    uint8_t first = (uint8_t)(flag << 4);
    enum cantor_err err;
    size_t i = 0;

    if (n & 1)
        first |= nibbles[i++];
    err = cantor_buf_append_byte(out, first);
    for (; !err && i < n; i += 2)
        err = cantor_buf_append_byte(out, (uint8_t)(nibbles[i] << 4 | nibbles[i + 1]));
    return err;
}

/* Hex-prefix of the nibbles [from, to) of key, as an RLP string appended to out. */
static enum cantor_err encode_path(const uint8_t *key, size_t from, size_t to, bool leaf,
                                   struct cantor_buf *out)
{
    uint8_t nibbles[2 * CANTOR_MPT_MAX_KEY];
    struct cantor_buf hp;
    enum cantor_err err;

    for (size_t i = from; i < to; i++)
        nibbles[i - from] = nib(key, i);
    cantor_buf_init(&hp, CANTOR_MPT_MAX_KEY + 1);
    err = cantor_mpt_hp_encode(nibbles, to - from, leaf, &hp);
    if (!err)
        err = cantor_rlp_encode_bytes(out, hp.data, hp.len);
    cantor_buf_release(&hp);
    return err;
}

static enum cantor_err build(const struct cantor_mpt_kv *kv, size_t n, size_t depth, struct cantor_buf *out);

/* Append the reference to the node for kv[0..n) at depth: inline if short, else its hash. */
static enum cantor_err append_ref(const struct cantor_mpt_kv *kv, size_t n, size_t depth,
                                  struct cantor_buf *out)
{
    struct cantor_buf child;
    enum cantor_err err;
    uint8_t h[32];

    cantor_buf_init(&child, NODE_BUF_MAX);
    err = build(kv, n, depth, &child);
    if (err)
        goto out;
    if (child.len < 32) {
        err = cantor_buf_append(out, child.data, child.len);
    } else {
        cantor_keccak256(child.data, child.len, h);
        err = cantor_rlp_encode_bytes(out, h, 32);
    }
out:
    cantor_buf_release(&child);
    return err;
}

/* RLP encoding of the node holding kv[0..n) (sorted, n >= 1), all sharing `depth` nibbles. */
static enum cantor_err build(const struct cantor_mpt_kv *kv, size_t n, size_t depth, struct cantor_buf *out)
{
    const struct cantor_mpt_kv *last = &kv[n - 1];
    size_t first_len = kv[0].key_len * 2, cp = depth, i;
    struct cantor_buf payload;
    enum cantor_err err;

    cantor_buf_init(&payload, NODE_BUF_MAX);
    if (n == 1) {
        err = encode_path(kv[0].key, depth, first_len, true, &payload);
        if (!err)
            err = cantor_rlp_encode_bytes(&payload, kv[0].value, kv[0].value_len);
        goto list;
    }
    /* sorted, so the prefix shared by all keys is the one shared by the first and the last */
    while (cp < first_len && cp < last->key_len * 2 && nib(kv[0].key, cp) == nib(last->key, cp))
        cp++;
    if (cp > depth) {
        err = encode_path(kv[0].key, depth, cp, false, &payload);
        if (!err)
            err = append_ref(kv, n, cp, &payload);
        goto list;
    }
    /* branch: a key that ends here (at most one, sorted first) is the branch's value */
    i = 0;
    if (first_len == depth)
        i = 1;
    for (uint8_t slot = 0; slot < 16; slot++) {
        size_t j = i;

        while (j < n && nib(kv[j].key, depth) == slot)
            j++;
        if (j == i)
            err = cantor_buf_append_byte(&payload, 0x80);
        else
            err = append_ref(kv + i, j - i, depth + 1, &payload);
        if (err)
            goto out;
        i = j;
    }
    if (first_len == depth)
        err = cantor_rlp_encode_bytes(&payload, kv[0].value, kv[0].value_len);
    else
        err = cantor_buf_append_byte(&payload, 0x80);
list:
    if (!err)
        err = cantor_rlp_encode_list(out, payload.data, payload.len);
out:
    cantor_buf_release(&payload);
    return err;
}

enum cantor_err cantor_mpt_root(struct cantor_mpt_kv *kvs, size_t n, uint8_t ret_root[32])
{
    struct cantor_buf root;
    enum cantor_err err;

    if (n == 0) {
        memcpy(ret_root, CANTOR_EMPTY_TRIE_ROOT, 32);
        return CANTOR_OK;
    }
    if (!kvs)
        return CANTOR_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (kvs[i].key_len > CANTOR_MPT_MAX_KEY)
            return CANTOR_ERR_TOO_LARGE;
        if (kvs[i].value_len > CANTOR_MPT_MAX_VALUE_LEN)
            return CANTOR_ERR_TOO_LARGE;
        if (kvs[i].value_len == 0 || (!kvs[i].key && kvs[i].key_len))
            return CANTOR_ERR_INVALID;
    }
    qsort(kvs, n, sizeof(*kvs), kv_cmp);
    for (size_t i = 1; i < n; i++)
        if (kv_cmp(&kvs[i - 1], &kvs[i]) == 0)
            return CANTOR_ERR_INVALID;
    cantor_buf_init(&root, NODE_BUF_MAX);
    err = build(kvs, n, 0, &root);
    if (!err)
        cantor_keccak256(root.data, root.len, ret_root);
    cantor_buf_release(&root);
    return err;
}
