/*
 * test_mmr.c - Merkle mountain range: roots against an independent reference (perfect trees over
 * the leaf list, bagged right to left with the leaf count), proofs for every leaf of every size up
 * to 130, tampering, rollback by truncation, and the block-record leaf ABI by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mmr.h"
#include "testutil.h"

static void pair(const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
    uint8_t buf[64];

    memcpy(buf, a, 32);
    memcpy(buf + 32, b, 32);
    cantor_keccak256(buf, 64, out);
}

/* Reference: root of a perfect tree over leaves[0..n), n a power of two. */
static void perfect(const uint8_t (*leaves)[32], size_t n, uint8_t out[32])
{
    uint8_t l[32], r[32];

    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    perfect(leaves, n / 2, l);
    perfect(leaves + n / 2, n / 2, r);
    pair(l, r, out);
}

static void reference_root(const uint8_t (*leaves)[32], size_t n, uint8_t out[32])
{
    uint8_t peaks[64][32], bag[32], cnt[32] = {0};
    size_t k = 0, off = 0;

    for (int b = 63; b >= 0; b--)
        if ((n >> b) & 1) {
            perfect(leaves + off, (size_t)1 << b, peaks[k++]);
            off += (size_t)1 << b;
        }
    memcpy(bag, peaks[k - 1], 32);
    for (size_t j = k - 1; j-- > 0;)
        pair(peaks[j], bag, bag);
    for (int i = 0; i < 8; i++)
        cnt[31 - i] = (uint8_t)(n >> (8 * i));
    pair(cnt, bag, out);
}

static void leaf_for(uint64_t i, uint8_t out[32])
{
    uint8_t h[32], dr[32], sr[32];

    cantor_keccak256(&i, sizeof(i), h);
    memset(dr, (int)(i & 0xff), 32);
    memset(sr, (int)(~i & 0xff), 32);
    cantor_mmr_leaf_hash(17000000 + i, h, dr, sr, out);
}

START_TEST(test_leaf_abi_by_hand)
{
    uint8_t h[32], dr[32], sr[32], abi[128] = {0}, want[32], got[32];

    memset(h, 0xaa, 32);
    memset(dr, 0xbb, 32);
    memset(sr, 0xcc, 32);
    abi[29] = 0x01; /* 0x010427 = 66599 */
    abi[30] = 0x04;
    abi[31] = 0x27;
    memcpy(abi + 32, h, 32);
    memcpy(abi + 64, dr, 32);
    memcpy(abi + 96, sr, 32);
    cantor_keccak256(abi, 128, want);
    cantor_mmr_leaf_hash(0x010427, h, dr, sr, got);
    ck_assert_mem_eq(got, want, 32);
    ck_assert_uint_eq(cantor_mmr_leaf_pos(0), 0);
    ck_assert_uint_eq(cantor_mmr_leaf_pos(1), 1);
    ck_assert_uint_eq(cantor_mmr_leaf_pos(2), 3);
    ck_assert_uint_eq(cantor_mmr_leaf_pos(4), 7);
    ck_assert_uint_eq(cantor_mmr_size(3), 4);
    ck_assert_uint_eq(cantor_mmr_size(4), 7);
}
END_TEST

START_TEST(test_roots_and_proofs_every_size)
{
    struct cantor_mmr_mem *m = NULL;
    const struct cantor_mmr_store *s;
    uint8_t leaves[130][32], root[32], want[32];
    struct cantor_mmr_proof p;

    ck_assert_int_eq(cantor_mmr_mem_new(&m), CANTOR_OK);
    s = cantor_mmr_mem_store(m);
    ck_assert_int_eq(cantor_mmr_root(s, 0, root), CANTOR_OK);
    memset(want, 0, 32);
    ck_assert_mem_eq(root, want, 32);
    for (uint64_t n = 0; n < 130; n++) {
        leaf_for(n, leaves[n]);
        ck_assert_int_eq(cantor_mmr_append(s, n, leaves[n]), CANTOR_OK);
        ck_assert_int_eq(cantor_mmr_root(s, n + 1, root), CANTOR_OK);
        reference_root((const uint8_t(*)[32])leaves, n + 1, want);
        ck_assert_mem_eq(root, want, 32);
        for (uint64_t i = 0; i <= n; i++) {
            ck_assert_int_eq(cantor_mmr_prove(s, n + 1, i, &p), CANTOR_OK);
            ck_assert_int_eq(cantor_mmr_verify(root, leaves[i], &p), CANTOR_OK);
            ck_assert_uint_le(cantor_mmr_proof_size(&p), 2048);
            /* The leaf of another block does not verify at this index. */
            if (n)
                ck_assert_int_eq(cantor_mmr_verify(root, leaves[(i + 1) % (n + 1)], &p), CANTOR_ERR_PROOF);
        }
    }
    ck_assert_int_eq(cantor_mmr_prove(s, 130, 130, &p), CANTOR_ERR_INVALID);
    cantor_mmr_mem_free(m);
    cantor_mmr_mem_free(NULL);
}
END_TEST

START_TEST(test_tamper)
{
    struct cantor_mmr_mem *m = NULL;
    const struct cantor_mmr_store *s;
    uint8_t leaf[32], root[32], first[32];
    struct cantor_mmr_proof good, p;
    const uint64_t n = 1000;

    ck_assert_int_eq(cantor_mmr_mem_new(&m), CANTOR_OK);
    s = cantor_mmr_mem_store(m);
    for (uint64_t i = 0; i < n; i++) {
        leaf_for(i, leaf);
        if (i == 0)
            memcpy(first, leaf, 32);
        ck_assert_int_eq(cantor_mmr_append(s, i, leaf), CANTOR_OK);
    }
    ck_assert_int_eq(cantor_mmr_root(s, n, root), CANTOR_OK);
    ck_assert_int_eq(cantor_mmr_prove(s, n, 0, &good), CANTOR_OK);
    ck_assert_uint_eq(good.n_siblings, 9); /* 1000 = 512 + 256 + ... */
    ck_assert_uint_eq(good.n_peaks, __builtin_popcountll(n));
    ck_assert_int_eq(cantor_mmr_verify(root, first, &good), CANTOR_OK);
    for (unsigned i = 0; i < good.n_siblings; i++)
        for (unsigned b = 0; b < 32; b++) {
            p = good;
            p.siblings[i][b] ^= 0x02;
            ck_assert_int_eq(cantor_mmr_verify(root, first, &p), CANTOR_ERR_PROOF);
        }
    for (unsigned i = 0; i < good.n_peaks; i++)
        for (unsigned b = 0; b < 32; b++) {
            p = good;
            p.peaks[i][b] ^= 0x02;
            ck_assert_int_eq(cantor_mmr_verify(root, first, &p), CANTOR_ERR_PROOF);
        }
    for (unsigned bit = 0; bit < 64; bit++) {
        p = good;
        p.leaf_index ^= UINT64_C(1) << bit;
        ck_assert_int_eq(cantor_mmr_verify(root, first, &p), CANTOR_ERR_PROOF);
        p = good;
        p.leaf_count ^= UINT64_C(1) << bit;
        ck_assert_int_eq(cantor_mmr_verify(root, first, &p), CANTOR_ERR_PROOF);
    }
    for (unsigned b = 0; b < 32; b++) {
        root[b] ^= 0x20;
        ck_assert_int_eq(cantor_mmr_verify(root, first, &good), CANTOR_ERR_PROOF);
        root[b] ^= 0x20;
    }
    p = good;
    p.n_siblings--;
    ck_assert_int_eq(cantor_mmr_verify(root, first, &p), CANTOR_ERR_PROOF);
    p = good;
    p.n_peaks--;
    ck_assert_int_eq(cantor_mmr_verify(root, first, &p), CANTOR_ERR_PROOF);
    cantor_mmr_mem_free(m);
}
END_TEST

/* Rollback = lower the count and append again: same root as a fresh MMR over the new history. */
START_TEST(test_rollback)
{
    struct cantor_mmr_mem *a = NULL, *b = NULL;
    uint8_t leaf[32], ra[32], rb[32];

    ck_assert_int_eq(cantor_mmr_mem_new(&a), CANTOR_OK);
    ck_assert_int_eq(cantor_mmr_mem_new(&b), CANTOR_OK);
    for (uint64_t i = 0; i < 64; i++) {
        leaf_for(i, leaf);
        ck_assert_int_eq(cantor_mmr_append(cantor_mmr_mem_store(a), i, leaf), CANTOR_OK);
        if (i < 61)
            ck_assert_int_eq(cantor_mmr_append(cantor_mmr_mem_store(b), i, leaf), CANTOR_OK);
    }
    for (uint64_t i = 61; i < 64; i++) { /* reorg of the last 3 blocks in a */
        leaf_for(i + 1000, leaf);
        ck_assert_int_eq(cantor_mmr_append(cantor_mmr_mem_store(a), i, leaf), CANTOR_OK);
        ck_assert_int_eq(cantor_mmr_append(cantor_mmr_mem_store(b), i, leaf), CANTOR_OK);
    }
    ck_assert_int_eq(cantor_mmr_root(cantor_mmr_mem_store(a), 64, ra), CANTOR_OK);
    ck_assert_int_eq(cantor_mmr_root(cantor_mmr_mem_store(b), 64, rb), CANTOR_OK);
    ck_assert_mem_eq(ra, rb, 32);
    cantor_mmr_mem_free(a);
    cantor_mmr_mem_free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mmr");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_leaf_abi_by_hand);
    tcase_add_test(tc, test_roots_and_proofs_every_size);
    tcase_add_test(tc, test_tamper);
    tcase_add_test(tc, test_rollback);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
