/*
 * smt.c - compacted sparse Merkle tree (see smt.h for hashing and shape). Updates recurse along the
 * sorted update keys: a subtree untouched by the batch is never read, so a block costs
 * O(changes x depth) node reads and writes. Recursion depth is bounded by CANTOR_SMT_MAX_DEPTH.
 * The in-memory store owns its table; nodes are copied in and out.
 */
#include "smt.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t zero32[CANTOR_HASH_LEN];

static int bit_at(const uint8_t key[CANTOR_HASH_LEN], unsigned i)
{
    return (key[i / 8] >> (7 - i % 8)) & 1;
}

static bool is_zero(const uint8_t h[CANTOR_HASH_LEN])
{
    return memcmp(h, zero32, CANTOR_HASH_LEN) == 0;
}

void cantor_smt_key(const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind, const uint8_t slot[CANTOR_WORD_LEN],
                    uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t buf[CANTOR_ADDR_LEN + 1 + CANTOR_WORD_LEN];

    memcpy(buf, addr, CANTOR_ADDR_LEN);
    buf[CANTOR_ADDR_LEN] = kind;
    memcpy(buf + CANTOR_ADDR_LEN + 1, slot, CANTOR_WORD_LEN);
    cantor_keccak256(buf, sizeof(buf), out);
}

static void encode_node(uint8_t type, const uint8_t a[CANTOR_HASH_LEN], const uint8_t b[CANTOR_HASH_LEN],
                        uint8_t node[CANTOR_SMT_NODE_LEN])
{
    node[0] = type;
    memcpy(node + 1, a, CANTOR_HASH_LEN);
    memcpy(node + 1 + CANTOR_HASH_LEN, b, CANTOR_HASH_LEN);
}

void cantor_smt_leaf_hash(const uint8_t key[CANTOR_HASH_LEN], const uint8_t value[CANTOR_HASH_LEN],
                          uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t node[CANTOR_SMT_NODE_LEN];

    encode_node(CANTOR_SMT_NODE_LEAF, key, value, node);
    cantor_keccak256(node, sizeof(node), out);
}

void cantor_smt_inner_hash(const uint8_t l[CANTOR_HASH_LEN], const uint8_t r[CANTOR_HASH_LEN],
                           uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t node[CANTOR_SMT_NODE_LEN];

    encode_node(CANTOR_SMT_NODE_INNER, l, r, node);
    cantor_keccak256(node, sizeof(node), out);
}

static enum cantor_err put_node(const struct cantor_smt_store *s, uint8_t type,
                                const uint8_t a[CANTOR_HASH_LEN], const uint8_t b[CANTOR_HASH_LEN],
                                uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t node[CANTOR_SMT_NODE_LEN];

    encode_node(type, a, b, node);
    cantor_keccak256(node, sizeof(node), out);
    return s->put(s->ctx, out, node);
}

static enum cantor_err get_node(const struct cantor_smt_store *s, const uint8_t hash[CANTOR_HASH_LEN],
                                uint8_t node[CANTOR_SMT_NODE_LEN])
{
    enum cantor_err err = s->get(s->ctx, hash, node);

    if (err == CANTOR_ERR_NOT_FOUND)
        return CANTOR_ERR_CORRUPT; /* a referenced node must exist */
    if (err)
        return err;
    if (node[0] != CANTOR_SMT_NODE_LEAF && node[0] != CANTOR_SMT_NODE_INNER)
        return CANTOR_ERR_CORRUPT;
    return CANTOR_OK;
}

/* u[0..n) share their first `depth` bits and are sorted: return the first index whose bit is 1. */
static size_t split(const struct cantor_smt_update *u, size_t n, unsigned depth)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bit_at(u[mid].key, depth))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Build the subtree at `depth` holding u[0..n) plus the optional extra leaf (an existing key). */
static enum cantor_err build(const struct cantor_smt_store *s, unsigned depth,
                             const struct cantor_smt_update *u, size_t n,
                             const struct cantor_smt_update *extra, uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t l[CANTOR_HASH_LEN], r[CANTOR_HASH_LEN];
    const struct cantor_smt_update *one;
    enum cantor_err err;
    size_t m;

    if (n + (extra != NULL) == 0) {
        memset(out, 0, CANTOR_HASH_LEN);
        return CANTOR_OK;
    }
    if (n + (extra != NULL) == 1) {
        one = n ? &u[0] : extra;
        return put_node(s, CANTOR_SMT_NODE_LEAF, one->key, one->value, out);
    }
    if (depth >= CANTOR_SMT_MAX_DEPTH)
        return CANTOR_ERR_INVALID; /* two updates of one key */
    m = split(u, n, depth);
    err = build(s, depth + 1, u, m, (extra && !bit_at(extra->key, depth)) ? extra : NULL, l);
    if (!err)
        err = build(s, depth + 1, u + m, n - m, (extra && bit_at(extra->key, depth)) ? extra : NULL, r);
    if (!err)
        err = put_node(s, CANTOR_SMT_NODE_INNER, l, r, out);
    return err;
}

static bool contains(const struct cantor_smt_update *u, size_t n, const uint8_t key[CANTOR_HASH_LEN])
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(u[mid].key, key, CANTOR_HASH_LEN);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static enum cantor_err update(const struct cantor_smt_store *s, const uint8_t node_hash[CANTOR_HASH_LEN],
                              unsigned depth, const struct cantor_smt_update *u, size_t n,
                              uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t node[CANTOR_SMT_NODE_LEN], l[CANTOR_HASH_LEN], r[CANTOR_HASH_LEN];
    struct cantor_smt_update old;
    enum cantor_err err;
    size_t m;

    if (n == 0) {
        memmove(out, node_hash, CANTOR_HASH_LEN);
        return CANTOR_OK;
    }
    if (is_zero(node_hash))
        return build(s, depth, u, n, NULL, out);
    err = get_node(s, node_hash, node);
    if (err)
        return err;
    if (node[0] == CANTOR_SMT_NODE_LEAF) {
        memcpy(old.key, node + 1, CANTOR_HASH_LEN);
        memcpy(old.value, node + 1 + CANTOR_HASH_LEN, CANTOR_HASH_LEN);
        return build(s, depth, u, n, contains(u, n, old.key) ? NULL : &old, out);
    }
    if (depth >= CANTOR_SMT_MAX_DEPTH)
        return CANTOR_ERR_CORRUPT;
    m = split(u, n, depth);
    err = update(s, node + 1, depth + 1, u, m, l);
    if (!err)
        err = update(s, node + 1 + CANTOR_HASH_LEN, depth + 1, u + m, n - m, r);
    if (!err)
        err = put_node(s, CANTOR_SMT_NODE_INNER, l, r, out);
    return err;
}

static int cmp_update(const void *a, const void *b)
{
    return memcmp(((const struct cantor_smt_update *)a)->key, ((const struct cantor_smt_update *)b)->key,
                  CANTOR_HASH_LEN);
}

enum cantor_err cantor_smt_apply(const struct cantor_smt_store *s, const uint8_t root[CANTOR_HASH_LEN],
                                 struct cantor_smt_update *u, size_t n, uint8_t ret_root[CANTOR_HASH_LEN])
{
    uint8_t out[CANTOR_HASH_LEN];
    enum cantor_err err;

    if (n > CANTOR_SMT_MAX_UPDATES)
        return CANTOR_ERR_TOO_LARGE;
    if (n)
        qsort(u, n, sizeof(*u), cmp_update);
    for (size_t i = 1; i < n; i++)
        if (memcmp(u[i - 1].key, u[i].key, CANTOR_HASH_LEN) == 0)
            return CANTOR_ERR_INVALID;
    err = update(s, root, 0, u, n, out);
    if (!err)
        memcpy(ret_root, out, CANTOR_HASH_LEN);
    return err;
}

enum cantor_err cantor_smt_apply_delta(const struct cantor_smt_store *s, const uint8_t root[CANTOR_HASH_LEN],
                                       const struct cantor_delta *d, uint8_t ret_root[CANTOR_HASH_LEN])
{
    struct cantor_smt_update *u = NULL;
    enum cantor_err err;

    if (d->n_entries > CANTOR_SMT_MAX_UPDATES)
        return CANTOR_ERR_TOO_LARGE;
    if (d->n_entries == 0) {
        memmove(ret_root, root, CANTOR_HASH_LEN);
        return CANTOR_OK;
    }
    u = malloc(d->n_entries * sizeof(*u));
    if (!u)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_entry *e = &d->entries[i];
        cantor_smt_key(e->addr, e->kind, e->slot, u[i].key);
        memcpy(u[i].value, e->new_val, CANTOR_HASH_LEN);
    }
    err = cantor_smt_apply(s, root, u, d->n_entries, ret_root);
    free(u);
    return err;
}

static void set_bit(uint8_t *bm, unsigned i)
{
    bm[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

enum cantor_err cantor_smt_prove(const struct cantor_smt_store *s, const uint8_t root[CANTOR_HASH_LEN],
                                 const uint8_t key[CANTOR_HASH_LEN], struct cantor_smt_proof *ret_proof)
{
    uint8_t cur[CANTOR_HASH_LEN], node[CANTOR_SMT_NODE_LEN];
    struct cantor_smt_proof *p = ret_proof;
    enum cantor_err err;
    unsigned depth = 0;

    memset(p, 0, sizeof(*p));
    memcpy(p->key, key, CANTOR_HASH_LEN);
    memcpy(cur, root, CANTOR_HASH_LEN);
    for (;;) {
        if (is_zero(cur)) {
            p->term = CANTOR_SMT_TERM_EMPTY;
            break;
        }
        err = get_node(s, cur, node);
        if (err)
            return err;
        if (node[0] == CANTOR_SMT_NODE_LEAF) {
            memcpy(p->leaf_key, node + 1, CANTOR_HASH_LEN);
            memcpy(p->leaf_value, node + 1 + CANTOR_HASH_LEN, CANTOR_HASH_LEN);
            p->term =
                memcmp(p->leaf_key, key, CANTOR_HASH_LEN) == 0 ? CANTOR_SMT_TERM_LEAF : CANTOR_SMT_TERM_OTHER;
            break;
        }
        if (depth >= CANTOR_SMT_MAX_DEPTH)
            return CANTOR_ERR_CORRUPT;
        {
            const uint8_t *child = node + 1 + (bit_at(key, depth) ? CANTOR_HASH_LEN : 0);
            const uint8_t *sib = node + 1 + (bit_at(key, depth) ? 0 : CANTOR_HASH_LEN);
            if (!is_zero(sib)) {
                set_bit(p->bitmap, depth);
                memcpy(p->siblings[p->n_siblings++], sib, CANTOR_HASH_LEN);
            }
            memcpy(cur, child, CANTOR_HASH_LEN);
        }
        depth++;
    }
    p->depth = (uint16_t)depth;
    return CANTOR_OK;
}

enum cantor_err cantor_smt_verify(const uint8_t root[CANTOR_HASH_LEN], const struct cantor_smt_proof *p,
                                  bool *ret_found)
{
    uint8_t cur[CANTOR_HASH_LEN];
    unsigned bits = 0, j;

    if (p->depth > CANTOR_SMT_MAX_DEPTH || p->n_siblings > p->depth)
        return CANTOR_ERR_PROOF;
    for (unsigned i = 0; i < CANTOR_SMT_MAX_DEPTH; i++) {
        if (!bit_at(p->bitmap, i))
            continue;
        if (i >= p->depth)
            return CANTOR_ERR_PROOF; /* bits past the terminal must be clear */
        bits++;
    }
    if (bits != p->n_siblings)
        return CANTOR_ERR_PROOF;
    switch (p->term) {
    case CANTOR_SMT_TERM_EMPTY:
        memset(cur, 0, CANTOR_HASH_LEN);
        break;
    case CANTOR_SMT_TERM_LEAF:
    case CANTOR_SMT_TERM_OTHER:
        if ((memcmp(p->leaf_key, p->key, CANTOR_HASH_LEN) == 0) != (p->term == CANTOR_SMT_TERM_LEAF))
            return CANTOR_ERR_PROOF;
        /* Another key's leaf only proves absence where its prefix is the queried key's. */
        for (unsigned i = 0; i < p->depth; i++)
            if (bit_at(p->leaf_key, i) != bit_at(p->key, i))
                return CANTOR_ERR_PROOF;
        cantor_smt_leaf_hash(p->leaf_key, p->leaf_value, cur);
        break;
    default:
        return CANTOR_ERR_PROOF;
    }
    j = p->n_siblings;
    for (unsigned lvl = p->depth; lvl-- > 0;) {
        const uint8_t *sib = zero32;
        if (bit_at(p->bitmap, lvl))
            sib = p->siblings[--j];
        if (bit_at(p->key, lvl))
            cantor_smt_inner_hash(sib, cur, cur);
        else
            cantor_smt_inner_hash(cur, sib, cur);
    }
    if (memcmp(cur, root, CANTOR_HASH_LEN) != 0)
        return CANTOR_ERR_PROOF;
    *ret_found = p->term == CANTOR_SMT_TERM_LEAF;
    return CANTOR_OK;
}

size_t cantor_smt_proof_size(const struct cantor_smt_proof *p)
{
    size_t n = CANTOR_HASH_LEN + 1 + 2 + ((size_t)p->depth + 7) / 8 + (size_t)p->n_siblings * CANTOR_HASH_LEN;

    if (p->term == CANTOR_SMT_TERM_LEAF)
        n += CANTOR_HASH_LEN;
    else if (p->term == CANTOR_SMT_TERM_OTHER)
        n += 2 * CANTOR_HASH_LEN;
    return n;
}

/* ---- in-memory node store ---- */

struct smt_slot {
    uint8_t used;
    uint8_t hash[CANTOR_HASH_LEN];
    uint8_t node[CANTOR_SMT_NODE_LEN];
};

struct cantor_smt_mem {
    struct cantor_smt_store store;
    struct smt_slot *slots;
    size_t cap, count; /* cap is a power of two */
};

static size_t slot_of(const uint8_t hash[CANTOR_HASH_LEN], size_t cap)
{
    uint64_t h = 0;

    memcpy(&h, hash, sizeof(h)); /* node hashes are uniform: any 8 bytes index well */
    return (size_t)h & (cap - 1);
}

static enum cantor_err mem_get(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                               uint8_t ret_node[CANTOR_SMT_NODE_LEN])
{
    struct cantor_smt_mem *m = ctx;

    for (size_t i = slot_of(hash, m->cap), k = 0; k < m->cap; i = (i + 1) & (m->cap - 1), k++) {
        if (!m->slots[i].used)
            break;
        if (memcmp(m->slots[i].hash, hash, CANTOR_HASH_LEN) == 0) {
            memcpy(ret_node, m->slots[i].node, CANTOR_SMT_NODE_LEN);
            return CANTOR_OK;
        }
    }
    return CANTOR_ERR_NOT_FOUND;
}

static void mem_insert(struct smt_slot *slots, size_t cap, const uint8_t hash[CANTOR_HASH_LEN],
                       const uint8_t node[CANTOR_SMT_NODE_LEN], size_t *count)
{
    size_t i = slot_of(hash, cap);

    while (slots[i].used) {
        if (memcmp(slots[i].hash, hash, CANTOR_HASH_LEN) == 0)
            return;
        i = (i + 1) & (cap - 1);
    }
    slots[i].used = 1;
    memcpy(slots[i].hash, hash, CANTOR_HASH_LEN);
    memcpy(slots[i].node, node, CANTOR_SMT_NODE_LEN);
    (*count)++;
}

static enum cantor_err mem_put(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                               const uint8_t node[CANTOR_SMT_NODE_LEN])
{
    struct cantor_smt_mem *m = ctx;

    if (2 * (m->count + 1) > m->cap) {
        size_t ncap = m->cap * 2, ncount = 0;
        struct smt_slot *ns;
        if (ncap > ((size_t)1 << 32))
            return CANTOR_ERR_TOO_LARGE;
        ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return CANTOR_ERR_NOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used)
                mem_insert(ns, ncap, m->slots[i].hash, m->slots[i].node, &ncount);
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    mem_insert(m->slots, m->cap, hash, node, &m->count);
    return CANTOR_OK;
}

enum cantor_err cantor_smt_mem_new(struct cantor_smt_mem **ret_mem)
{
    struct cantor_smt_mem *m = calloc(1, sizeof(*m));

    if (!m)
        return CANTOR_ERR_NOMEM;
    m->cap = 1024;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return CANTOR_ERR_NOMEM;
    }
    m->store.ctx = m;
    m->store.get = mem_get;
    m->store.put = mem_put;
    *ret_mem = m;
    return CANTOR_OK;
}

void cantor_smt_mem_free(struct cantor_smt_mem *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

const struct cantor_smt_store *cantor_smt_mem_store(struct cantor_smt_mem *m)
{
    return &m->store;
}

size_t cantor_smt_mem_count(const struct cantor_smt_mem *m)
{
    return m->count;
}
