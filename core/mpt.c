/*
 * mpt.c - Merkle-Patricia proof verification (see mpt.h). Owner: engineer "mpt".
 *
 * The walker never allocates except for the value handed back to the caller; RLP items point into
 * the caller's proof nodes. Every loop is bounded by the key length and the number of proof nodes.
 */
#include "mpt.h"

#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "rlp.h"

/* A reference to a child node: by hash (hash != NULL) or embedded inline (raw/raw_len). */
struct mpt_ref {
    const uint8_t *hash;
    const uint8_t *raw;
    size_t raw_len;
};

/* A proof walk: the nodes handed in and how many have been consumed. */
struct mpt_walk {
    const struct cantor_bytes *nodes;
    size_t n_nodes;
    size_t next;
};

static uint8_t key_nibble(const uint8_t *key, size_t i)
{
    return (uint8_t)((i & 1) ? key[i / 2] & 0x0f : key[i / 2] >> 4);
}

/* Resolve a reference to the node bytes, consuming one proof node if it is by hash. */
static enum cantor_err walk_fetch(struct mpt_walk *w, const struct mpt_ref *ref, const uint8_t **ret_node,
                                  size_t *ret_len)
{
    const struct cantor_bytes *b;
    uint8_t h[32];

    if (!ref->hash) {
        *ret_node = ref->raw;
        *ret_len = ref->raw_len;
        return CANTOR_OK;
    }
    if (w->next >= w->n_nodes)
        return CANTOR_ERR_PROOF; /* the path continues but the proof stops */
    b = &w->nodes[w->next++];
    if (!b->data || b->len == 0 || b->len > CANTOR_MPT_MAX_NODE_LEN)
        return CANTOR_ERR_PROOF;
    cantor_keccak256(b->data, b->len, h);
    if (memcmp(h, ref->hash, 32) != 0)
        return CANTOR_ERR_PROOF;
    *ret_node = b->data;
    *ret_len = b->len;
    return CANTOR_OK;
}

/*
 * Interpret a child slot: an empty string is "no child" (CANTOR_ERR_NOT_FOUND), a 32-byte string is a
 * hash, a list shorter than 32 bytes is an embedded node. Anything else cannot come from a real trie.
 */
static enum cantor_err child_ref(const struct cantor_rlp_item *it, struct mpt_ref *ret_ref)
{
    if (!it->is_list && it->payload_len == 0)
        return CANTOR_ERR_NOT_FOUND;
    if (!it->is_list && it->payload_len == 32) {
        ret_ref->hash = it->payload;
        ret_ref->raw = NULL;
        ret_ref->raw_len = 0;
        return CANTOR_OK;
    }
    if (it->is_list && it->raw_len < 32) {
        ret_ref->hash = NULL;
        ret_ref->raw = it->raw;
        ret_ref->raw_len = it->raw_len;
        return CANTOR_OK;
    }
    return CANTOR_ERR_PROOF;
}

/* A decoded trie node: 17 items (branch) or 2 items (extension / leaf with its hex-prefix path). */
struct mpt_node {
    bool is_branch;
    struct cantor_rlp_item items[17];
    /* for 2-item nodes */
    bool is_leaf;
    bool odd;
    size_t path_len; /* in nibbles */
};

static uint8_t path_nibble(const struct mpt_node *n, size_t i)
{
    /* hex-prefix: the flag nibble, then (odd) the first path nibble or (even) a zero pad nibble */
    size_t j = i + (n->odd ? 1 : 2);

    return key_nibble(n->items[0].payload, j);
}

/* Decode node bytes; CANTOR_ERR_NOT_FOUND means the node is the empty string (an empty trie). */
static enum cantor_err node_decode(const uint8_t *raw, size_t len, struct mpt_node *ret_node)
{
    struct cantor_rlp_item top, it;
    size_t pos = 0, count = 0;
    enum cantor_err err;
    uint8_t flag;

    err = cantor_rlp_decode(raw, len, &top);
    if (err)
        return CANTOR_ERR_PROOF;
    if (!top.is_list)
        return top.payload_len == 0 ? CANTOR_ERR_NOT_FOUND : CANTOR_ERR_PROOF;
    for (;;) {
        err = cantor_rlp_list_next(&top, &pos, &it);
        if (err == CANTOR_ERR_NOT_FOUND)
            break;
        if (err || count >= 17)
            return CANTOR_ERR_PROOF;
        ret_node->items[count++] = it;
    }
    if (count == 17) {
        ret_node->is_branch = true;
        if (ret_node->items[16].is_list)
            return CANTOR_ERR_PROOF;
        return CANTOR_OK;
    }
    if (count != 2)
        return CANTOR_ERR_PROOF;
    ret_node->is_branch = false;
    it = ret_node->items[0];
    if (it.is_list || it.payload_len == 0)
        return CANTOR_ERR_PROOF;
    flag = it.payload[0] >> 4;
    if (flag > 3)
        return CANTOR_ERR_PROOF;
    ret_node->is_leaf = (flag & 2) != 0;
    ret_node->odd = (flag & 1) != 0;
    if (!ret_node->odd && (it.payload[0] & 0x0f) != 0)
        return CANTOR_ERR_PROOF;
    ret_node->path_len = 2 * (it.payload_len - 1) + (ret_node->odd ? 1 : 0);
    if (!ret_node->is_leaf && ret_node->path_len == 0)
        return CANTOR_ERR_PROOF; /* an extension that extends nothing */
    if (ret_node->is_leaf && ret_node->items[1].is_list)
        return CANTOR_ERR_PROOF;
    return CANTOR_OK;
}

enum cantor_err cantor_mpt_verify_proof(const uint8_t root[32], const uint8_t *key, size_t key_len,
                                        const struct cantor_bytes *nodes, size_t n_nodes, uint8_t **ret_value,
                                        size_t *ret_value_len)
{
    struct mpt_walk w = {.nodes = nodes, .n_nodes = n_nodes, .next = 0};
    struct mpt_ref ref = {.hash = root};
    const struct cantor_rlp_item *val = NULL;
    size_t n_key = key_len * 2, pos = 0, steps;
    struct mpt_node node;
    enum cantor_err err;
    bool first = true;

    *ret_value = NULL;
    *ret_value_len = 0;
    if (!root || (!key && key_len) || (!nodes && n_nodes))
        return CANTOR_ERR_INVALID;
    if (key_len > CANTOR_MPT_MAX_KEY || n_nodes > CANTOR_MPT_MAX_NODES)
        return CANTOR_ERR_TOO_LARGE;
    if (n_nodes == 0)
        return memcmp(root, CANTOR_EMPTY_TRIE_ROOT, 32) == 0 ? CANTOR_OK : CANTOR_ERR_PROOF;

    /* every step consumes at least one nibble, except the last */
    for (steps = 0; steps <= n_key + 1; steps++) {
        const uint8_t *raw;
        size_t raw_len;

        err = walk_fetch(&w, &ref, &raw, &raw_len);
        if (err)
            return err;
        err = node_decode(raw, raw_len, &node);
        if (err == CANTOR_ERR_NOT_FOUND && first)
            goto absent; /* the node 0x80: the empty trie */
        if (err)
            return CANTOR_ERR_PROOF;
        first = false;
        if (node.is_branch) {
            if (pos == n_key) {
                val = &node.items[16];
                if (val->payload_len == 0)
                    goto absent;
                goto found;
            }
            err = child_ref(&node.items[key_nibble(key, pos)], &ref);
            pos++;
            if (err == CANTOR_ERR_NOT_FOUND)
                goto absent;
            if (err)
                return err;
            continue;
        }
        /* extension or leaf: the path must match the key from pos on */
        if (node.path_len > n_key - pos)
            goto diverged;
        for (size_t i = 0; i < node.path_len; i++)
            if (path_nibble(&node, i) != key_nibble(key, pos + i))
                goto diverged;
        pos += node.path_len;
        if (node.is_leaf) {
            if (pos != n_key)
                goto diverged; /* a leaf for a longer key that shares our prefix */
            val = &node.items[1];
            if (val->payload_len == 0)
                return CANTOR_ERR_PROOF;
            goto found;
        }
        err = child_ref(&node.items[1], &ref);
        if (err)
            return CANTOR_ERR_PROOF; /* an extension always has a child */
    }
    return CANTOR_ERR_PROOF;

diverged:
absent:
    /* exclusion is only proven if nothing was left over: extra nodes would be unverified input */
    return w.next == w.n_nodes ? CANTOR_OK : CANTOR_ERR_PROOF;
found:
    if (w.next != w.n_nodes)
        return CANTOR_ERR_PROOF;
    if (val->payload_len > CANTOR_MPT_MAX_VALUE_LEN)
        return CANTOR_ERR_TOO_LARGE;
    *ret_value = malloc(val->payload_len);
    if (!*ret_value)
        return CANTOR_ERR_NOMEM;
    memcpy(*ret_value, val->payload, val->payload_len);
    *ret_value_len = val->payload_len;
    return CANTOR_OK;
}

enum cantor_err cantor_mpt_verify_path(const uint8_t root[32], const uint8_t *nibbles, size_t n_nibbles,
                                       const struct cantor_bytes *nodes, size_t n_nodes)
{
    struct mpt_walk w = {.nodes = nodes, .n_nodes = n_nodes, .next = 0};
    struct mpt_ref ref = {.hash = root};
    struct mpt_node node;
    enum cantor_err err;
    size_t pos = 0;

    if (!root || (!nibbles && n_nibbles) || (!nodes && n_nodes))
        return CANTOR_ERR_INVALID;
    if (n_nibbles > 2 * CANTOR_MPT_MAX_KEY || n_nodes > CANTOR_MPT_MAX_NODES)
        return CANTOR_ERR_TOO_LARGE;
    for (size_t i = 0; i < n_nibbles; i++)
        if (nibbles[i] > 15)
            return CANTOR_ERR_INVALID;
    for (size_t steps = 0; steps <= n_nibbles; steps++) {
        const uint8_t *raw;
        size_t raw_len;

        err = walk_fetch(&w, &ref, &raw, &raw_len);
        if (err)
            return err;
        if (pos == n_nibbles)
            return w.next == w.n_nodes && ref.hash ? CANTOR_OK : CANTOR_ERR_PROOF;
        if (node_decode(raw, raw_len, &node))
            return CANTOR_ERR_PROOF;
        if (node.is_branch) {
            if (child_ref(&node.items[nibbles[pos]], &ref))
                return CANTOR_ERR_PROOF;
            pos++;
            continue;
        }
        if (node.is_leaf || node.path_len > n_nibbles - pos)
            return CANTOR_ERR_PROOF;
        for (size_t i = 0; i < node.path_len; i++)
            if (path_nibble(&node, i) != nibbles[pos + i])
                return CANTOR_ERR_PROOF;
        pos += node.path_len;
        if (child_ref(&node.items[1], &ref))
            return CANTOR_ERR_PROOF;
    }
    return CANTOR_ERR_PROOF;
}

void cantor_account_empty(struct cantor_account *ret_account)
{
    memset(ret_account, 0, sizeof(*ret_account));
    memcpy(ret_account->storage_root, CANTOR_EMPTY_TRIE_ROOT, 32);
    memcpy(ret_account->code_hash, CANTOR_KECCAK_EMPTY, 32);
}

/* A canonical RLP integer of at most 32 bytes, right-aligned into a word. */
static enum cantor_err rlp_word(const struct cantor_rlp_item *it, uint8_t out[32])
{
    if (it->is_list || it->payload_len > 32 || (it->payload_len > 0 && it->payload[0] == 0))
        return CANTOR_ERR_RLP;
    memset(out, 0, 32);
    memcpy(out + 32 - it->payload_len, it->payload, it->payload_len);
    return CANTOR_OK;
}

static enum cantor_err rlp_hash(const struct cantor_rlp_item *it, uint8_t out[32])
{
    if (it->is_list || it->payload_len != 32)
        return CANTOR_ERR_RLP;
    memcpy(out, it->payload, 32);
    return CANTOR_OK;
}

enum cantor_err cantor_account_decode(const uint8_t *rlp, size_t len, struct cantor_account *ret_account)
{
    struct cantor_rlp_item top, it[4], extra;
    struct cantor_account a;
    size_t pos = 0;
    enum cantor_err err;

    err = cantor_rlp_decode(rlp, len, &top);
    if (err)
        return err;
    if (!top.is_list)
        return CANTOR_ERR_RLP;
    for (int i = 0; i < 4; i++) {
        err = cantor_rlp_list_next(&top, &pos, &it[i]);
        if (err)
            return err == CANTOR_ERR_NOT_FOUND ? CANTOR_ERR_RLP : err;
    }
    if (cantor_rlp_list_next(&top, &pos, &extra) != CANTOR_ERR_NOT_FOUND)
        return CANTOR_ERR_RLP;
    if (it[0].is_list)
        return CANTOR_ERR_RLP;
    err = cantor_rlp_to_u64(&it[0], &a.nonce);
    if (!err)
        err = rlp_word(&it[1], a.balance);
    if (!err)
        err = rlp_hash(&it[2], a.storage_root);
    if (!err)
        err = rlp_hash(&it[3], a.code_hash);
    if (err)
        return err;
    *ret_account = a;
    return CANTOR_OK;
}

enum cantor_err cantor_account_encode(const struct cantor_account *a, struct cantor_buf *out)
{
    struct cantor_buf payload;
    enum cantor_err err;

    cantor_buf_init(&payload, 256);
    err = cantor_rlp_encode_u64(&payload, a->nonce);
    if (!err)
        err = cantor_rlp_encode_uint_be(&payload, a->balance, 32);
    if (!err)
        err = cantor_rlp_encode_bytes(&payload, a->storage_root, 32);
    if (!err)
        err = cantor_rlp_encode_bytes(&payload, a->code_hash, 32);
    if (!err)
        err = cantor_rlp_encode_list(out, payload.data, payload.len);
    cantor_buf_release(&payload);
    return err;
}

enum cantor_err cantor_mpt_verify_account(const uint8_t state_root[32], const uint8_t address[20],
                                          const struct cantor_bytes *nodes, size_t n_nodes, bool *ret_exists,
                                          struct cantor_account *ret_account)
{
    uint8_t key[32];

    cantor_keccak256(address, 20, key);
    return cantor_mpt_verify_account_key(state_root, key, nodes, n_nodes, ret_exists, ret_account);
}

enum cantor_err cantor_mpt_verify_account_key(const uint8_t state_root[32], const uint8_t key[32],
                                              const struct cantor_bytes *nodes, size_t n_nodes,
                                              bool *ret_exists, struct cantor_account *ret_account)
{
    uint8_t *value = NULL;
    size_t value_len = 0;
    enum cantor_err err;

    err = cantor_mpt_verify_proof(state_root, key, 32, nodes, n_nodes, &value, &value_len);
    if (err)
        goto out;
    if (value_len == 0) {
        *ret_exists = false;
        cantor_account_empty(ret_account);
        goto out;
    }
    /* the hashes prove these bytes are in the trie; a non-account value means a non-state trie */
    err = cantor_account_decode(value, value_len, ret_account);
    if (err) {
        err = CANTOR_ERR_PROOF;
        goto out;
    }
    *ret_exists = true;
out:
    free(value);
    return err;
}

enum cantor_err cantor_mpt_verify_storage(const uint8_t storage_root[32], const uint8_t slot[32],
                                          const struct cantor_bytes *nodes, size_t n_nodes,
                                          uint8_t ret_value[32])
{
    struct cantor_rlp_item it;
    uint8_t key[32], *value = NULL;
    size_t value_len = 0;
    enum cantor_err err;

    cantor_keccak256(slot, 32, key);
    err = cantor_mpt_verify_proof(storage_root, key, sizeof(key), nodes, n_nodes, &value, &value_len);
    if (err)
        goto out;
    memset(ret_value, 0, 32);
    if (value_len == 0)
        goto out;
    /* zero is never stored (the slot is deleted), so an RLP zero here is not a real storage trie */
    err = cantor_rlp_decode(value, value_len, &it);
    if (!err)
        err = rlp_word(&it, ret_value);
    if (!err && it.payload_len == 0)
        err = CANTOR_ERR_PROOF;
    if (err)
        err = CANTOR_ERR_PROOF;
out:
    free(value);
    return err;
}
