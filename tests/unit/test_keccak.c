/*
 * test_keccak.c - Keccak-256 against ethers' 516 vectors, SHA3-256/512 against the golang.org/x/crypto
 * KATs (same permutation, FIPS padding), incremental absorption in every chunk size 1..200,
 * multi-block inputs checked against real block hashes, and the four-way 64-byte hash (AVX2 where the
 * CPU has it) against the one-way one.
 */
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/keccak.h"
#include "testutil.h"

static void expect_hex(const uint8_t *got, size_t n, const char *want_hex, const char *what, size_t idx)
{
    uint8_t want[64];

    ck_assert_uint_le(n, sizeof(want));
    ck_assert_msg(cantor_hex_decode_exact(want_hex, want, n) == CANTOR_OK, "%s %zu: bad digest hex", what,
                  idx);
    ck_assert_msg(memcmp(got, want, n) == 0, "%s vector %zu: digest differs", what, idx);
}

START_TEST(test_ethers_hashes)
{
    json_t *root = tu_load_json("ethers-testcases/hashes.json");
    size_t i;
    json_t *tc;

    ck_assert_uint_eq(json_array_size(root), 516);
    json_array_foreach(root, i, tc)
    {
        uint8_t *data, h[32];
        size_t n;

        ck_assert_int_eq(cantor_hex_decode_alloc(json_string_value(json_object_get(tc, "data")), &data, &n),
                         CANTOR_OK);
        cantor_keccak256(data, n, h);
        expect_hex(h, 32, json_string_value(json_object_get(tc, "keccak256")), "keccak256", i);
        free(data);
    }
    json_decref(root);
}
END_TEST

static size_t run_kats(json_t *arr, size_t dlen, size_t *ret_skipped)
{
    size_t i, done = 0, skipped = 0;
    json_t *tc;

    json_array_foreach(arr, i, tc)
    {
        json_int_t bits = json_integer_value(json_object_get(tc, "length"));
        uint8_t *msg, h[64];
        size_t n;

        if (bits % 8) {
            skipped++; /* bit-granular messages are not expressible through a byte API */
            continue;
        }
        ck_assert_int_eq(cantor_hex_decode_alloc(json_string_value(json_object_get(tc, "message")), &msg, &n),
                         CANTOR_OK);
        ck_assert_uint_ge(n, (size_t)bits / 8);
        if (dlen == 32)
            cantor_sha3_256(msg, (size_t)bits / 8, h);
        else
            cantor_sha3_512(msg, (size_t)bits / 8, h);
        expect_hex(h, dlen, json_string_value(json_object_get(tc, "digest")),
                   dlen == 32 ? "SHA3-256" : "SHA3-512", i);
        free(msg);
        done++;
    }
    *ret_skipped = skipped;
    return done;
}

START_TEST(test_sha3_kats)
{
    json_t *root = tu_load_json("keccak-kats/sha3_kats_subset.json");
    size_t skip256, skip512;
    size_t n256 = run_kats(json_object_get(root, "SHA3-256"), 32, &skip256);
    size_t n512 = run_kats(json_object_get(root, "SHA3-512"), 64, &skip512);

    ck_assert_uint_eq(n256 + skip256, 256);
    ck_assert_uint_eq(n512 + skip512, 256);
    /* The data README says only whole-byte lengths are present: all must have run. */
    ck_assert_uint_eq(n256, 256);
    ck_assert_uint_eq(n512, 256);
    json_decref(root);
}
END_TEST

START_TEST(test_incremental)
{
    enum { LEN = 3001 };
    uint8_t *data = malloc(LEN), one[32], inc[32], s1[32], s2[32];
    uint32_t x = 12345;

    ck_assert(data != NULL);
    for (size_t i = 0; i < LEN; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    cantor_keccak256(data, LEN, one);
    for (size_t chunk = 1; chunk <= 200; chunk++) {
        struct cantor_keccak k;

        cantor_keccak256_init(&k);
        for (size_t off = 0; off < LEN; off += chunk)
            cantor_keccak_update(&k, data + off, off + chunk <= LEN ? chunk : LEN - off);
        cantor_keccak_final(&k, inc, 32);
        ck_assert_msg(memcmp(one, inc, 32) == 0, "chunk size %zu differs from one-shot", chunk);
    }
    /* Every length around the 136-byte rate boundary: prefix hashing must agree too. */
    for (size_t n = 130; n <= 280; n++) {
        struct cantor_keccak k;

        cantor_keccak256(data, n, s1);
        cantor_keccak256_init(&k);
        cantor_keccak_update(&k, data, n / 3);
        cantor_keccak_update(&k, data + n / 3, 0);
        cantor_keccak_update(&k, data + n / 3, n - n / 3);
        cantor_keccak_final(&k, s2, 32);
        ck_assert_msg(memcmp(s1, s2, 32) == 0, "length %zu", n);
    }
    free(data);
}
END_TEST

START_TEST(test_constants)
{
    uint8_t h[32];

    cantor_keccak256("", 0, h);
    ck_assert_mem_eq(h, CANTOR_KECCAK_EMPTY, 32);
    expect_hex(h, 32, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", "empty", 0);
    cantor_keccak256("\x80", 1, h);
    ck_assert_mem_eq(h, CANTOR_EMPTY_TRIE_ROOT, 32);
}
END_TEST

/* A 500+ byte block header is a multi-block Keccak input whose hash the network agreed on. */
START_TEST(test_real_multiblock)
{
    json_t *hdr = tu_load_json("erigon-rpc-tests/mainnet/debug_getRawHeader/test_02.json");
    json_t *bal = tu_load_json("erigon-rpc-tests/mainnet/erigon_getBalanceChangesInBlock/test_10.json");
    const char *raw_hex =
        json_string_value(json_object_get(json_object_get(json_array_get(hdr, 0), "response"), "result"));
    const char *want = json_string_value(
        json_array_get(json_object_get(json_object_get(json_array_get(bal, 0), "request"), "params"), 0));
    uint8_t *raw, h[32];
    size_t n;

    ck_assert_int_eq(cantor_hex_decode_alloc(raw_hex, &raw, &n), CANTOR_OK);
    ck_assert_uint_gt(n, 3 * 136);
    cantor_keccak256(raw, n, h);
    expect_hex(h, 32, want, "block 20000000", 0);
    free(raw);
    json_decref(hdr);
    json_decref(bal);
}
END_TEST

/* Mapping-slot preimages (key . index) and arbitrary bytes: four at once equals one at a time. */
START_TEST(test_x4_matches)
{
    uint8_t in[4][64], out[4][32], one[32];
    uint32_t x = 0x9e3779b9u;

    for (int round = 0; round < 2000; round++) {
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 64; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                in[j][i] = round % 2 && i < 44 ? (i < 12 ? 0 : (uint8_t)x) : (uint8_t)(x >> 8);
            }
        if (round % 2)
            for (int j = 0; j < 4; j++) {
                memset(in[j] + 32, 0, 31);
                in[j][63] = (uint8_t)j; /* keccak(key . j): what the codec's slot search hashes */
            }
        cantor_keccak256_64x4((const uint8_t(*)[64])in, out);
        for (int j = 0; j < 4; j++) {
            cantor_keccak256(in[j], 64, one);
            ck_assert_mem_eq(out[j], one, 32);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keccak");
    TCase *tc = tcase_create("keccak");

    tcase_add_test(tc, test_ethers_hashes);
    tcase_add_test(tc, test_sha3_kats);
    tcase_add_test(tc, test_incremental);
    tcase_add_test(tc, test_constants);
    tcase_add_test(tc, test_real_multiblock);
    tcase_add_test(tc, test_x4_matches);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
