/*
 * merkle.c - OZ StandardMerkleTree-compatible delta root and proofs (see merkle.h for the exact
 * leaf ABI and tree shape). The tree owns one array of 2n-1 hashes; nothing else is allocated.
 */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

static void put_be64(uint8_t word[32], uint64_t v)
{
    memset(word, 0, 32);
    for (int i = 0; i < 8; i++)
        word[31 - i] = (uint8_t)(v >> (8 * i));
}

void cantor_merkle_leaf_abi(uint64_t block_number, const struct cantor_delta_entry *e,
                            uint8_t out[CANTOR_MERKLE_LEAF_ABI_LEN])
{
    put_be64(out, block_number);
    memset(out + 32, 0, 12);
    memcpy(out + 44, e->addr, CANTOR_ADDR_LEN);
    memset(out + 64, 0, 31);
    out[95] = e->kind;
    memcpy(out + 96, e->slot, 32);
    memcpy(out + 128, e->old_val, 32);
    memcpy(out + 160, e->new_val, 32);
}

void cantor_merkle_leaf_hash(uint64_t block_number, const struct cantor_delta_entry *e,
                             uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t abi[CANTOR_MERKLE_LEAF_ABI_LEN], inner[CANTOR_HASH_LEN];

    cantor_merkle_leaf_abi(block_number, e, abi);
    cantor_keccak256(abi, sizeof(abi), inner);
    cantor_keccak256(inner, sizeof(inner), out);
}

void cantor_merkle_node_hash(const uint8_t a[CANTOR_HASH_LEN], const uint8_t b[CANTOR_HASH_LEN],
                             uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t pair[2 * CANTOR_HASH_LEN];

    if (memcmp(a, b, CANTOR_HASH_LEN) <= 0) {
        memcpy(pair, a, CANTOR_HASH_LEN);
        memcpy(pair + CANTOR_HASH_LEN, b, CANTOR_HASH_LEN);
    } else {
        memcpy(pair, b, CANTOR_HASH_LEN);
        memcpy(pair + CANTOR_HASH_LEN, a, CANTOR_HASH_LEN);
    }
    cantor_keccak256(pair, sizeof(pair), out);
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, CANTOR_HASH_LEN);
}

/* Builds in place: leaves (sorted) already sit reversed at the end of nodes. */
static void fill_internal(struct cantor_merkle_tree *t)
{
    for (size_t i = t->n_nodes - t->n_leaves; i-- > 0;)
        cantor_merkle_node_hash(t->nodes[2 * i + 1], t->nodes[2 * i + 2], t->nodes[i]);
}

enum cantor_err cantor_merkle_build(const uint8_t (*leaves)[CANTOR_HASH_LEN], size_t n,
                                    struct cantor_merkle_tree **ret_tree)
{
    struct cantor_merkle_tree *t = NULL;
    uint8_t(*sorted)[CANTOR_HASH_LEN] = NULL;
    enum cantor_err err = CANTOR_OK;

    if (n > CANTOR_MERKLE_MAX_LEAVES || (n && !leaves))
        return CANTOR_ERR_TOO_LARGE;
    t = calloc(1, sizeof(*t));
    if (!t)
        return CANTOR_ERR_NOMEM;
    t->n_leaves = n;
    if (n == 0)
        goto done;
    t->n_nodes = 2 * n - 1;
    t->nodes = malloc(t->n_nodes * CANTOR_HASH_LEN);
    sorted = malloc(n * CANTOR_HASH_LEN);
    if (!t->nodes || !sorted) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    memcpy(sorted, leaves, n * CANTOR_HASH_LEN);
    qsort(sorted, n, CANTOR_HASH_LEN, cmp_hash);
    for (size_t i = 0; i < n; i++) {
        if (i && memcmp(sorted[i - 1], sorted[i], CANTOR_HASH_LEN) == 0) {
            err = CANTOR_ERR_INVALID;
            goto out;
        }
        memcpy(t->nodes[t->n_nodes - 1 - i], sorted[i], CANTOR_HASH_LEN);
    }
    fill_internal(t);
done:
    *ret_tree = t;
    t = NULL;
out:
    free(sorted);
    cantor_merkle_tree_free(t);
    return err;
}

enum cantor_err cantor_merkle_build_delta(const struct cantor_delta *d, struct cantor_merkle_tree **ret_tree)
{
    uint8_t(*leaves)[CANTOR_HASH_LEN] = NULL;
    enum cantor_err err;

    if (d->n_entries > CANTOR_MERKLE_MAX_LEAVES)
        return CANTOR_ERR_TOO_LARGE;
    if (d->n_entries) {
        leaves = malloc(d->n_entries * CANTOR_HASH_LEN);
        if (!leaves)
            return CANTOR_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->n_entries; i++)
        cantor_merkle_leaf_hash(d->block_number, &d->entries[i], leaves[i]);
    err = cantor_merkle_build((const uint8_t(*)[CANTOR_HASH_LEN])leaves, d->n_entries, ret_tree);
    free(leaves);
    return err;
}

void cantor_merkle_tree_free(struct cantor_merkle_tree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t);
}

void cantor_merkle_root(const struct cantor_merkle_tree *t, uint8_t out[CANTOR_HASH_LEN])
{
    if (!t || t->n_nodes == 0)
        memset(out, 0, CANTOR_HASH_LEN);
    else
        memcpy(out, t->nodes[0], CANTOR_HASH_LEN);
}

enum cantor_err cantor_merkle_delta_root(const struct cantor_delta *d, uint8_t out[CANTOR_HASH_LEN])
{
    struct cantor_merkle_tree *t = NULL;
    enum cantor_err err = cantor_merkle_build_delta(d, &t);

    if (!err)
        cantor_merkle_root(t, out);
    cantor_merkle_tree_free(t);
    return err;
}

enum cantor_err cantor_merkle_find(const struct cantor_merkle_tree *t, const uint8_t leaf[CANTOR_HASH_LEN],
                                   size_t *ret_index)
{
    size_t lo = 0, hi = t->n_leaves;

    /* Sorted leaf j lives at nodes[n_nodes - 1 - j]. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(t->nodes[t->n_nodes - 1 - mid], leaf, CANTOR_HASH_LEN);
        if (c == 0) {
            *ret_index = t->n_nodes - 1 - mid;
            return CANTOR_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return CANTOR_ERR_NOT_FOUND;
}

enum cantor_err cantor_merkle_prove(const struct cantor_merkle_tree *t, size_t index,
                                    uint8_t ret_proof[CANTOR_MERKLE_MAX_PROOF][CANTOR_HASH_LEN],
                                    size_t *ret_n)
{
    size_t n = 0;

    if (index >= t->n_nodes || 2 * index + 1 < t->n_nodes)
        return CANTOR_ERR_INVALID; /* not a leaf */
    while (index > 0) {
        size_t sib = (index % 2) ? index + 1 : index - 1;
        if (n == CANTOR_MERKLE_MAX_PROOF)
            return CANTOR_ERR_TOO_LARGE;
        memcpy(ret_proof[n++], t->nodes[sib], CANTOR_HASH_LEN);
        index = (index - 1) / 2;
    }
    *ret_n = n;
    return CANTOR_OK;
}

bool cantor_merkle_verify(const uint8_t root[CANTOR_HASH_LEN], const uint8_t leaf[CANTOR_HASH_LEN],
                          const uint8_t (*proof)[CANTOR_HASH_LEN], size_t n)
{
    uint8_t cur[CANTOR_HASH_LEN];

    if (n > CANTOR_MERKLE_MAX_PROOF)
        return false;
    memcpy(cur, leaf, CANTOR_HASH_LEN);
    for (size_t i = 0; i < n; i++)
        cantor_merkle_node_hash(cur, proof[i], cur);
    return memcmp(cur, root, CANTOR_HASH_LEN) == 0;
}
