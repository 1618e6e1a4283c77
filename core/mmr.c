/*
 * mmr.c - Merkle mountain range (see mmr.h for leaf, node, position and bagging rules). Every loop
 * is bounded by the 64 possible mountain heights. The in-memory store owns a growable hash array.
 */
#include "mmr.h"

#include <stdlib.h>
#include <string.h>

static void be_word(uint8_t w[32], uint64_t v)
{
    memset(w, 0, 32);
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
}

static void hash_pair(const uint8_t a[CANTOR_HASH_LEN], const uint8_t b[CANTOR_HASH_LEN],
                      uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t buf[2 * CANTOR_HASH_LEN];

    memcpy(buf, a, CANTOR_HASH_LEN);
    memcpy(buf + CANTOR_HASH_LEN, b, CANTOR_HASH_LEN);
    cantor_keccak256(buf, sizeof(buf), out);
}

void cantor_mmr_leaf_hash(uint64_t number, const uint8_t block_hash[CANTOR_HASH_LEN],
                          const uint8_t delta_root[CANTOR_HASH_LEN],
                          const uint8_t state_root[CANTOR_HASH_LEN], uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t abi[4 * 32];

    be_word(abi, number);
    memcpy(abi + 32, block_hash, 32);
    memcpy(abi + 64, delta_root, 32);
    memcpy(abi + 96, state_root, 32);
    cantor_keccak256(abi, sizeof(abi), out);
}

uint64_t cantor_mmr_leaf_pos(uint64_t leaf_index)
{
    return 2 * leaf_index - (uint64_t)__builtin_popcountll(leaf_index);
}

uint64_t cantor_mmr_size(uint64_t leaf_count)
{
    return 2 * leaf_count - (uint64_t)__builtin_popcountll(leaf_count);
}

enum cantor_err cantor_mmr_append(const struct cantor_mmr_store *s, uint64_t leaf_count,
                                  const uint8_t leaf[CANTOR_HASH_LEN])
{
    uint8_t cur[CANTOR_HASH_LEN], left[CANTOR_HASH_LEN];
    uint64_t pos = cantor_mmr_leaf_pos(leaf_count);
    enum cantor_err err;

    if (leaf_count >= CANTOR_MMR_MAX_LEAVES)
        return CANTOR_ERR_TOO_LARGE;
    memcpy(cur, leaf, CANTOR_HASH_LEN);
    err = s->put(s->ctx, pos, cur);
    /* One merge per trailing one bit of the new leaf's index: each closes a perfect mountain. */
    for (unsigned h = 0; !err && h < CANTOR_MMR_MAX_HEIGHT && ((leaf_count >> h) & 1); h++) {
        err = s->get(s->ctx, pos - ((UINT64_C(2) << h) - 1), left);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = CANTOR_ERR_CORRUPT;
        if (err)
            break;
        hash_pair(left, cur, cur);
        pos++;
        err = s->put(s->ctx, pos, cur);
    }
    return err;
}

enum cantor_err cantor_mmr_peaks(const struct cantor_mmr_store *s, uint64_t leaf_count,
                                 uint8_t ret_peaks[CANTOR_MMR_MAX_HEIGHT][CANTOR_HASH_LEN], unsigned *ret_n)
{
    uint64_t start = 0;
    unsigned n = 0;

    if (leaf_count > CANTOR_MMR_MAX_LEAVES)
        return CANTOR_ERR_TOO_LARGE;
    for (int b = 63; b >= 0; b--) {
        uint64_t nodes;
        enum cantor_err err;
        if (!((leaf_count >> b) & 1))
            continue;
        nodes = (UINT64_C(2) << b) - 1;
        err = s->get(s->ctx, start + nodes - 1, ret_peaks[n]);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = CANTOR_ERR_CORRUPT;
        if (err)
            return err;
        n++;
        start += nodes;
    }
    *ret_n = n;
    return CANTOR_OK;
}

void cantor_mmr_bag(const uint8_t (*peaks)[CANTOR_HASH_LEN], unsigned n, uint64_t leaf_count,
                    uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t bag[CANTOR_HASH_LEN], count[32];

    if (n == 0) {
        memset(out, 0, CANTOR_HASH_LEN);
        return;
    }
    memcpy(bag, peaks[n - 1], CANTOR_HASH_LEN);
    for (unsigned j = n - 1; j-- > 0;)
        hash_pair(peaks[j], bag, bag);
    be_word(count, leaf_count);
    hash_pair(count, bag, out);
}

enum cantor_err cantor_mmr_root(const struct cantor_mmr_store *s, uint64_t leaf_count,
                                uint8_t ret_root[CANTOR_HASH_LEN])
{
    uint8_t peaks[CANTOR_MMR_MAX_HEIGHT][CANTOR_HASH_LEN];
    unsigned n;
    enum cantor_err err = cantor_mmr_peaks(s, leaf_count, peaks, &n);

    if (!err)
        cantor_mmr_bag((const uint8_t(*)[CANTOR_HASH_LEN])peaks, n, leaf_count, ret_root);
    return err;
}

/* Mountain of leaf i: its height, the index of its peak among the peaks, its first leaf and position. */
static bool locate(uint64_t leaf_count, uint64_t i, unsigned *ret_height, unsigned *ret_peak,
                   uint64_t *ret_first_leaf, uint64_t *ret_start)
{
    uint64_t first = 0, start = 0;
    unsigned k = 0;

    for (int b = 63; b >= 0; b--) {
        if (!((leaf_count >> b) & 1))
            continue;
        if (i < first + (UINT64_C(1) << b)) {
            *ret_height = (unsigned)b;
            *ret_peak = k;
            *ret_first_leaf = first;
            *ret_start = start;
            return true;
        }
        first += UINT64_C(1) << b;
        start += (UINT64_C(2) << b) - 1;
        k++;
    }
    return false;
}

enum cantor_err cantor_mmr_prove(const struct cantor_mmr_store *s, uint64_t leaf_count, uint64_t leaf_index,
                                 struct cantor_mmr_proof *ret_proof)
{
    struct cantor_mmr_proof *p = ret_proof;
    unsigned height, peak, np;
    uint64_t first, start, li, pos;
    enum cantor_err err;

    if (leaf_count > CANTOR_MMR_MAX_LEAVES || leaf_index >= leaf_count)
        return CANTOR_ERR_INVALID;
    memset(p, 0, sizeof(*p));
    if (!locate(leaf_count, leaf_index, &height, &peak, &first, &start))
        return CANTOR_ERR_INVALID;
    p->leaf_index = leaf_index;
    p->leaf_count = leaf_count;
    li = leaf_index - first;
    pos = start + cantor_mmr_leaf_pos(li);
    for (unsigned h = 0; h < height; h++) {
        uint64_t off = (UINT64_C(2) << h) - 1, sib;
        if ((li >> h) & 1) {
            sib = pos - off;
            pos = pos + 1;
        } else {
            sib = pos + off;
            pos = sib + 1;
        }
        err = s->get(s->ctx, sib, p->siblings[h]);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = CANTOR_ERR_CORRUPT;
        if (err)
            return err;
    }
    p->n_siblings = (uint8_t)height;
    err = cantor_mmr_peaks(s, leaf_count, p->peaks, &np);
    p->n_peaks = (uint8_t)np;
    return err;
}

enum cantor_err cantor_mmr_verify(const uint8_t root[CANTOR_HASH_LEN], const uint8_t leaf[CANTOR_HASH_LEN],
                                  const struct cantor_mmr_proof *p)
{
    uint8_t cur[CANTOR_HASH_LEN], computed[CANTOR_HASH_LEN];
    unsigned height, peak;
    uint64_t first, start, li;

    if (p->leaf_count == 0 || p->leaf_count > CANTOR_MMR_MAX_LEAVES || p->leaf_index >= p->leaf_count)
        return CANTOR_ERR_PROOF;
    if (p->n_peaks != (unsigned)__builtin_popcountll(p->leaf_count))
        return CANTOR_ERR_PROOF;
    if (!locate(p->leaf_count, p->leaf_index, &height, &peak, &first, &start) || p->n_siblings != height)
        return CANTOR_ERR_PROOF;
    li = p->leaf_index - first;
    memcpy(cur, leaf, CANTOR_HASH_LEN);
    for (unsigned h = 0; h < height; h++) {
        if ((li >> h) & 1)
            hash_pair(p->siblings[h], cur, cur);
        else
            hash_pair(cur, p->siblings[h], cur);
    }
    if (memcmp(cur, p->peaks[peak], CANTOR_HASH_LEN) != 0)
        return CANTOR_ERR_PROOF;
    cantor_mmr_bag((const uint8_t(*)[CANTOR_HASH_LEN])p->peaks, p->n_peaks, p->leaf_count, computed);
    if (memcmp(computed, root, CANTOR_HASH_LEN) != 0)
        return CANTOR_ERR_PROOF;
    return CANTOR_OK;
}

size_t cantor_mmr_proof_size(const struct cantor_mmr_proof *p)
{
    return 8 + 8 + 2 + ((size_t)p->n_siblings + p->n_peaks) * CANTOR_HASH_LEN;
}

/* ---- in-memory store: positions are dense, so a growable array ---- */

struct cantor_mmr_mem {
    struct cantor_mmr_store store;
    uint8_t (*nodes)[CANTOR_HASH_LEN];
    uint64_t n, cap;
};

static enum cantor_err mem_get(void *ctx, uint64_t pos, uint8_t ret_hash[CANTOR_HASH_LEN])
{
    struct cantor_mmr_mem *m = ctx;

    if (pos >= m->n)
        return CANTOR_ERR_NOT_FOUND;
    memcpy(ret_hash, m->nodes[pos], CANTOR_HASH_LEN);
    return CANTOR_OK;
}

static enum cantor_err mem_put(void *ctx, uint64_t pos, const uint8_t hash[CANTOR_HASH_LEN])
{
    struct cantor_mmr_mem *m = ctx;

    if (pos > m->n)
        return CANTOR_ERR_INVALID; /* appends are dense */
    if (pos == m->cap) {
        uint64_t ncap = m->cap ? 2 * m->cap : 1024;
        void *nn;
        if (ncap > (UINT64_C(1) << 40) / CANTOR_HASH_LEN)
            return CANTOR_ERR_TOO_LARGE;
        nn = realloc(m->nodes, (size_t)ncap * CANTOR_HASH_LEN);
        if (!nn)
            return CANTOR_ERR_NOMEM;
        m->nodes = nn;
        m->cap = ncap;
    }
    memcpy(m->nodes[pos], hash, CANTOR_HASH_LEN);
    if (pos == m->n)
        m->n++;
    return CANTOR_OK;
}

enum cantor_err cantor_mmr_mem_new(struct cantor_mmr_mem **ret_mem)
{
    struct cantor_mmr_mem *m = calloc(1, sizeof(*m));

    if (!m)
        return CANTOR_ERR_NOMEM;
    m->store.ctx = m;
    m->store.get = mem_get;
    m->store.put = mem_put;
    *ret_mem = m;
    return CANTOR_OK;
}

void cantor_mmr_mem_free(struct cantor_mmr_mem *m)
{
    if (!m)
        return;
    free(m->nodes);
    free(m);
}

const struct cantor_mmr_store *cantor_mmr_mem_store(struct cantor_mmr_mem *m)
{
    return &m->store;
}
