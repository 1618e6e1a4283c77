/*
 * test_smt.c - state tree: the hashing spec by hand, incremental updates over recorded mainnet blocks
 * equal a from-scratch build, every old root stays provable (versions), inclusion and both kinds of
 * non-membership proofs, tampering, and store failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/delta_json.h"
#include "core/smt.h"
#include "testutil.h"

static const char *const blocks[] = {
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_38.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_01.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_14.json",
};
#define N_BLOCKS (sizeof(blocks) / sizeof(blocks[0]))

static const uint8_t zero[32];

static void key_with_bits(uint8_t key[32], uint8_t first_byte, uint8_t fill)
{
    memset(key, fill, 32);
    key[0] = first_byte;
}

START_TEST(test_hash_spec_by_hand)
{
    struct cantor_smt_mem *m = NULL;
    struct cantor_smt_update u[3];
    uint8_t root[32], l0[32], l1[32], l2[32], a[32], want[32], node[65];

    ck_assert_int_eq(cantor_smt_mem_new(&m), CANTOR_OK);
    /* leaf = keccak(0x00 || key || value) */
    key_with_bits(u[0].key, 0x00, 0x11);
    memset(u[0].value, 0x22, 32);
    node[0] = 0;
    memcpy(node + 1, u[0].key, 32);
    memcpy(node + 33, u[0].value, 32);
    cantor_keccak256(node, 65, want);
    cantor_smt_leaf_hash(u[0].key, u[0].value, l0);
    ck_assert_mem_eq(l0, want, 32);
    /* One key: the root is its leaf (compaction). */
    ck_assert_int_eq(cantor_smt_apply(cantor_smt_mem_store(m), zero, u, 1, root), CANTOR_OK);
    ck_assert_mem_eq(root, l0, 32);
    /* Keys 00.., 01.. (share bit 0, differ at bit 1) and 1...: root = inner(inner(0.., 01..) , 1..). */
    key_with_bits(u[1].key, 0x40, 0x33);
    memset(u[1].value, 0x44, 32);
    key_with_bits(u[2].key, 0x80, 0x55);
    memset(u[2].value, 0, 32); /* a zero value is a leaf too */
    cantor_smt_leaf_hash(u[1].key, u[1].value, l1);
    cantor_smt_leaf_hash(u[2].key, u[2].value, l2);
    ck_assert_int_eq(cantor_smt_apply(cantor_smt_mem_store(m), root, u + 1, 2, root), CANTOR_OK);
    cantor_smt_inner_hash(l0, l1, a);
    cantor_smt_inner_hash(a, l2, want);
    ck_assert_mem_eq(root, want, 32);
    /* Keys 0000.. and 0001..: they share 3 bits, so the single-key subtree sits at depth 4 and the
     * three empty siblings above are inner(x, 0) nodes. */
    {
        struct cantor_smt_mem *m2 = NULL;
        struct cantor_smt_update v[2];
        uint8_t r2[32], x[32];
        ck_assert_int_eq(cantor_smt_mem_new(&m2), CANTOR_OK);
        key_with_bits(v[0].key, 0x00, 0x01);
        key_with_bits(v[1].key, 0x10, 0x02);
        memset(v[0].value, 1, 32);
        memset(v[1].value, 2, 32);
        ck_assert_int_eq(cantor_smt_apply(cantor_smt_mem_store(m2), zero, v, 2, r2), CANTOR_OK);
        cantor_smt_leaf_hash(v[0].key, v[0].value, l0);
        cantor_smt_leaf_hash(v[1].key, v[1].value, l1);
        cantor_smt_inner_hash(l0, l1, x);
        for (int i = 0; i < 3; i++)
            cantor_smt_inner_hash(x, zero, x);
        ck_assert_mem_eq(r2, x, 32);
        cantor_smt_mem_free(m2);
    }
    cantor_smt_mem_free(m);
}
END_TEST

struct kv {
    uint8_t key[32];
    uint8_t value[32];
};

static int cmp_kv(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

START_TEST(test_incremental_equals_scratch_and_versions)
{
    struct cantor_smt_mem *inc = NULL, *scratch = NULL, *single = NULL;
    struct cantor_delta *d[N_BLOCKS];
    uint8_t roots[N_BLOCKS][32], root[32], r2[32], r3[32];
    struct kv *all = NULL;
    size_t n_all = 0, cap = 0;

    ck_assert_int_eq(cantor_smt_mem_new(&inc), CANTOR_OK);
    ck_assert_int_eq(cantor_smt_mem_new(&scratch), CANTOR_OK);
    ck_assert_int_eq(cantor_smt_mem_new(&single), CANTOR_OK);
    memset(root, 0, 32);
    for (size_t b = 0; b < N_BLOCKS; b++) {
        ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(blocks[b]), &d[b]), CANTOR_OK);
        ck_assert_int_eq(cantor_smt_apply_delta(cantor_smt_mem_store(inc), root, d[b], root), CANTOR_OK);
        memcpy(roots[b], root, 32);
        for (size_t i = 0; i < d[b]->n_entries; i++) {
            const struct cantor_delta_entry *e = &d[b]->entries[i];
            if (n_all == cap) {
                cap = cap ? 2 * cap : 1024;
                all = realloc(all, cap * sizeof(*all));
                ck_assert_ptr_nonnull(all);
            }
            cantor_smt_key(e->addr, e->kind, e->slot, all[n_all].key);
            memcpy(all[n_all].value, e->new_val, 32);
            n_all++;
        }
    }
    /* Final state, last write wins: stable sort by key keeps block order among equal keys. */
    {
        struct kv *fin = malloc(n_all * sizeof(*fin));
        size_t n_fin = 0;
        struct cantor_smt_update *u;
        for (size_t i = 0; i < n_all; i++) {
            size_t j;
            for (j = 0; j < n_fin; j++)
                if (memcmp(fin[j].key, all[i].key, 32) == 0)
                    break;
            fin[j] = all[i];
            if (j == n_fin)
                n_fin++;
        }
        qsort(fin, n_fin, sizeof(*fin), cmp_kv);
        u = malloc(n_fin * sizeof(*u));
        for (size_t i = 0; i < n_fin; i++) {
            memcpy(u[i].key, fin[n_fin - 1 - i].key, 32); /* reversed: apply sorts */
            memcpy(u[i].value, fin[n_fin - 1 - i].value, 32);
        }
        ck_assert_int_eq(cantor_smt_apply(cantor_smt_mem_store(scratch), zero, u, n_fin, r2), CANTOR_OK);
        ck_assert_mem_eq(r2, root, 32);
        /* One key at a time gives the same root again. */
        memset(r3, 0, 32);
        for (size_t i = 0; i < n_fin; i++)
            ck_assert_int_eq(
                cantor_smt_apply(cantor_smt_mem_store(single), r3, &u[(i * 7919) % n_fin], 1, r3), CANTOR_OK);
        ck_assert_mem_eq(r3, root, 32);
        /* Every key proves its final value under the final root, from any of the three stores. */
        for (size_t i = 0; i < n_fin; i++) {
            struct cantor_smt_proof p;
            bool found = false;
            ck_assert_int_eq(cantor_smt_prove(cantor_smt_mem_store(scratch), root, fin[i].key, &p),
                             CANTOR_OK);
            ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_OK);
            ck_assert(found);
            ck_assert_mem_eq(p.leaf_value, fin[i].value, 32);
            ck_assert_uint_le(cantor_smt_proof_size(&p), 2048);
        }
        free(u);
        free(fin);
    }
    /* Versions: the root after block 0 still proves block 0's values, also for keys changed later. */
    for (size_t i = 0; i < d[0]->n_entries; i++) {
        const struct cantor_delta_entry *e = &d[0]->entries[i];
        struct cantor_smt_proof p;
        uint8_t key[32];
        bool found = false;
        cantor_smt_key(e->addr, e->kind, e->slot, key);
        ck_assert_int_eq(cantor_smt_prove(cantor_smt_mem_store(inc), roots[0], key, &p), CANTOR_OK);
        ck_assert_int_eq(cantor_smt_verify(roots[0], &p, &found), CANTOR_OK);
        ck_assert(found);
        ck_assert_mem_eq(p.leaf_value, e->new_val, 32);
    }
    /* Keys first seen in block 1 are absent at block 0 (non-membership at an old version). */
    {
        size_t absent = 0;
        for (size_t i = 0; i < d[1]->n_entries; i++) {
            const struct cantor_delta_entry *e = &d[1]->entries[i];
            struct cantor_smt_proof p;
            uint8_t key[32];
            bool found = true;
            cantor_smt_key(e->addr, e->kind, e->slot, key);
            ck_assert_int_eq(cantor_smt_prove(cantor_smt_mem_store(inc), roots[0], key, &p), CANTOR_OK);
            ck_assert_int_eq(cantor_smt_verify(roots[0], &p, &found), CANTOR_OK);
            if (!found)
                absent++;
        }
        ck_assert_uint_gt(absent, 50);
    }
    for (size_t b = 0; b < N_BLOCKS; b++)
        cantor_delta_free(d[b]);
    free(all);
    cantor_smt_mem_free(inc);
    cantor_smt_mem_free(scratch);
    cantor_smt_mem_free(single);
}
END_TEST

static void tamper_must_fail(const uint8_t root[32], const struct cantor_smt_proof *good)
{
    struct cantor_smt_proof p;
    bool found;
    bool want = good->term == CANTOR_SMT_TERM_LEAF;

    for (unsigned i = 0; i < good->n_siblings; i++)
        for (unsigned b = 0; b < 32; b += 3) {
            p = *good;
            p.siblings[i][b] ^= 0x10;
            ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
        }
    for (unsigned b = 0; b < 32; b++) {
        p = *good;
        p.key[b] ^= 0x01; /* another key: its path or its leaf differs */
        if (want)         /* absence of a neighbour key may legitimately share the proof; presence may not */
            ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
        p = *good;
        p.leaf_value[b] ^= 0x01;
        if (good->term != CANTOR_SMT_TERM_EMPTY)
            ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
        p = *good;
        p.leaf_key[b] ^= 0x01;
        if (good->term != CANTOR_SMT_TERM_EMPTY)
            ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
    }
    for (unsigned bit = 0; bit < CANTOR_SMT_MAX_DEPTH; bit++) {
        p = *good;
        p.bitmap[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
    }
    p = *good;
    p.depth++;
    ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
    p = *good;
    p.term = (uint8_t)((p.term + 1) % 3);
    ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
    p = *good;
    p.term = 7;
    ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_ERR_PROOF);
}

START_TEST(test_nonmembership_and_tamper)
{
    struct cantor_smt_mem *m = NULL;
    struct cantor_delta *d = NULL;
    uint8_t root[32], key[32], bad_root[32];
    size_t seen[3] = {0, 0, 0};

    ck_assert_int_eq(cantor_smt_mem_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(blocks[1]), &d), CANTOR_OK);
    ck_assert_int_eq(cantor_smt_apply_delta(cantor_smt_mem_store(m), zero, d, root), CANTOR_OK);
    for (unsigned i = 0; i < 400; i++) {
        struct cantor_smt_proof p;
        bool found = true;
        uint8_t addr[20] = {0}, slot[32] = {0};
        addr[0] = (uint8_t)i;
        addr[1] = (uint8_t)(i >> 8);
        cantor_smt_key(addr, CANTOR_KIND_STORAGE, slot, key);
        ck_assert_int_eq(cantor_smt_prove(cantor_smt_mem_store(m), root, key, &p), CANTOR_OK);
        ck_assert_int_ne(p.term, CANTOR_SMT_TERM_LEAF);
        ck_assert_int_eq(cantor_smt_verify(root, &p, &found), CANTOR_OK);
        ck_assert(!found);
        seen[p.term]++;
        if (i < 20)
            tamper_must_fail(root, &p);
    }
    ck_assert_uint_gt(seen[CANTOR_SMT_TERM_EMPTY], 0);
    ck_assert_uint_gt(seen[CANTOR_SMT_TERM_OTHER], 0);
    /* Inclusion proofs under tampering, and under a wrong root. */
    for (size_t i = 0; i < d->n_entries; i += 41) {
        struct cantor_smt_proof p;
        bool found;
        cantor_smt_key(d->entries[i].addr, d->entries[i].kind, d->entries[i].slot, key);
        ck_assert_int_eq(cantor_smt_prove(cantor_smt_mem_store(m), root, key, &p), CANTOR_OK);
        ck_assert_int_eq(p.term, CANTOR_SMT_TERM_LEAF);
        tamper_must_fail(root, &p);
        memcpy(bad_root, root, 32);
        bad_root[i % 32] ^= 0x40;
        ck_assert_int_eq(cantor_smt_verify(bad_root, &p, &found), CANTOR_ERR_PROOF);
    }
    cantor_delta_free(d);
    cantor_smt_mem_free(m);
}
END_TEST

START_TEST(test_errors)
{
    struct cantor_smt_mem *m = NULL, *empty = NULL;
    struct cantor_smt_update u[2];
    struct cantor_smt_proof p;
    uint8_t root[32], r2[32];

    ck_assert_int_eq(cantor_smt_mem_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_smt_mem_new(&empty), CANTOR_OK);
    memset(u, 0x5a, sizeof(u));
    ck_assert_int_eq(cantor_smt_apply(cantor_smt_mem_store(m), zero, u, 2, root), CANTOR_ERR_INVALID);
    u[1].key[31] ^= 1;
    ck_assert_int_eq(cantor_smt_apply(cantor_smt_mem_store(m), zero, u, 2, root), CANTOR_OK);
    /* A root whose nodes the store does not have is corrupt, not empty. */
    ck_assert_int_eq(cantor_smt_apply(cantor_smt_mem_store(empty), root, u, 1, r2), CANTOR_ERR_CORRUPT);
    ck_assert_int_eq(cantor_smt_prove(cantor_smt_mem_store(empty), root, u[0].key, &p), CANTOR_ERR_CORRUPT);
    /* An empty tree proves absence with depth 0. */
    {
        bool found = true;
        ck_assert_int_eq(cantor_smt_prove(cantor_smt_mem_store(empty), zero, u[0].key, &p), CANTOR_OK);
        ck_assert_uint_eq(p.depth, 0);
        ck_assert_int_eq(cantor_smt_verify(zero, &p, &found), CANTOR_OK);
        ck_assert(!found);
    }
    cantor_smt_mem_free(m);
    cantor_smt_mem_free(empty);
    cantor_smt_mem_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hash_spec_by_hand);
    tcase_add_test(tc, test_incremental_equals_scratch_and_versions);
    tcase_add_test(tc, test_nonmembership_and_tamper);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
