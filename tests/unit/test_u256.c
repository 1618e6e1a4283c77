/*
 * test_u256.c - 256-bit words: edge cases of add/sub/cmp/decimal, big integers from the RLP tests,
 * and the mainnet genesis allocation summed from two independent encodings (JSON hex quantities and
 * the RLP byte strings) to the total the data set documents.
 */
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/rlp.h"
#include "core/u256.h"
#include "testutil.h"

static void word(const char *hex, uint8_t out[32])
{
    ck_assert_int_eq(cantor_hex_decode_word(hex, out), CANTOR_OK);
}

START_TEST(test_add_sub_cmp)
{
    uint8_t a[32], b[32], r[32], max[32], zero[32] = {0}, one[32];

    memset(max, 0xff, 32);
    cantor_u256_from_u64(1, one);
    ck_assert_uint_eq(cantor_u256_add(max, one, r), 1); /* wraps to zero with carry */
    ck_assert(cantor_u256_is_zero(r));
    ck_assert_uint_eq(cantor_u256_sub(zero, one, r), 1); /* wraps to max with borrow */
    ck_assert_mem_eq(r, max, 32);
    ck_assert_uint_eq(cantor_u256_sub(max, max, r), 0);
    ck_assert(cantor_u256_is_zero(r));
    /* Carry across all 64-bit limbs. */
    word("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", a);
    ck_assert_uint_eq(cantor_u256_add(a, one, r), 0);
    word("0x100000000000000000000000000000000000000000000000000000000000000", b);
    ck_assert_mem_eq(r, b, 32);
    ck_assert_int_eq(cantor_u256_cmp(a, b), -1);
    ck_assert_int_eq(cantor_u256_cmp(b, a), 1);
    ck_assert_int_eq(cantor_u256_cmp(a, a), 0);
    ck_assert_uint_eq(cantor_u256_sub(b, one, r), 0);
    ck_assert_mem_eq(r, a, 32);
    /* Results may alias inputs. */
    memcpy(r, a, 32);
    ck_assert_uint_eq(cantor_u256_add(r, r, r), 0);
    word("0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe", b);
    ck_assert_mem_eq(r, b, 32);
    ck_assert_uint_eq(cantor_u256_min_len(zero), 0);
    ck_assert_uint_eq(cantor_u256_min_len(one), 1);
    ck_assert_uint_eq(cantor_u256_min_len(max), 32);
    ck_assert_uint_eq(cantor_u256_min_len(b), 32);
    ck_assert(!cantor_u256_is_zero(one));
}
END_TEST

/* Byte-at-a-time reference for the limb arithmetic: a + b (up) or a - b; returns the carry/borrow. */
static unsigned ref_addsub(const uint8_t a[32], const uint8_t b[32], bool up, uint8_t r[32])
{
    int c = 0;

    for (int i = 31; i >= 0; i--) {
        int v = up ? a[i] + b[i] + c : a[i] - b[i] - c;
        c = up ? v > 255 : v < 0;
        r[i] = (uint8_t)(v & 0xff);
    }
    return (unsigned)c;
}

/* Limbs of 0, 1, all ones, ones but the last bit, or random: the carry and borrow chains' edges. */
static void edge_word(uint32_t *x, uint8_t w[32])
{
    for (int l = 0; l < 4; l++) {
        *x = *x * 1103515245u + 12345u;
        for (int k = 0; k < 8; k++) {
            uint8_t v;
            switch ((*x >> 16) % 5) {
            case 0:
                v = 0;
                break;
            case 1:
                v = k == 7;
                break;
            case 2:
                v = 0xff;
                break;
            case 3:
                v = k == 7 ? 0xfe : 0xff;
                break;
            default:
                v = (uint8_t)((*x = *x * 1103515245u + 12345u) >> 16);
                break;
            }
            w[8 * l + k] = v;
        }
    }
}

/* add, sub, absdiff and min_len against the byte-wise reference on 20,000 pairs of edge words. */
START_TEST(test_limbs_vs_bytes)
{
    uint32_t x = 99;
    uint8_t a[32], b[32], r[32], want[32];

    for (int n = 0; n < 20000; n++) {
        unsigned c;
        bool ge;
        edge_word(&x, a);
        edge_word(&x, b);
        c = ref_addsub(a, b, true, want);
        ck_assert_uint_eq(cantor_u256_add(a, b, r), c);
        ck_assert_mem_eq(r, want, 32);
        c = ref_addsub(a, b, false, want);
        ck_assert_uint_eq(cantor_u256_sub(a, b, r), c);
        ck_assert_mem_eq(r, want, 32);
        ge = !c;
        if (!ge)
            ref_addsub(b, a, false, want);
        ck_assert(cantor_u256_absdiff(a, b, r) == ge);
        ck_assert_mem_eq(r, want, 32);
        {
            size_t len = 32;
            while (len && a[32 - len] == 0)
                len--;
            ck_assert_uint_eq(cantor_u256_min_len(a), len);
        }
    }
}
END_TEST

START_TEST(test_u64)
{
    uint8_t w[32];
    uint64_t v = 7;

    cantor_u256_from_u64(UINT64_MAX, w);
    ck_assert_uint_eq(cantor_u256_min_len(w), 8);
    ck_assert_int_eq(cantor_u256_to_u64(w, &v), CANTOR_OK);
    ck_assert_uint_eq(v, UINT64_MAX);
    cantor_u256_from_u64(0x0102030405060708ull, w);
    ck_assert_uint_eq(w[24], 1);
    ck_assert_uint_eq(w[31], 8);
    w[23] = 1;
    v = 7;
    ck_assert_int_eq(cantor_u256_to_u64(w, &v), CANTOR_ERR_OVERFLOW);
    ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(test_decimal)
{
    static const char *const max_dec =
        "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    uint8_t w[32], max[32];
    char s[CANTOR_U256_DEC_MAX], big[200];

    memset(max, 0xff, 32);
    ck_assert_int_eq(cantor_u256_from_dec(max_dec, w), CANTOR_OK);
    ck_assert_mem_eq(w, max, 32);
    ck_assert_int_eq(cantor_u256_to_dec(w, s, sizeof(s)), CANTOR_OK);
    ck_assert_str_eq(s, max_dec);
    ck_assert_int_eq(cantor_u256_to_dec(w, s, sizeof(s) - 1), CANTOR_ERR_TOO_LARGE);
    ck_assert_int_eq(cantor_u256_from_dec("0", w), CANTOR_OK);
    ck_assert(cantor_u256_is_zero(w));
    ck_assert_int_eq(cantor_u256_to_dec(w, s, sizeof(s)), CANTOR_OK);
    ck_assert_str_eq(s, "0");
    ck_assert_int_eq(cantor_u256_from_dec("000123", w), CANTOR_OK);
    ck_assert_int_eq(cantor_u256_to_dec(w, s, sizeof(s)), CANTOR_OK);
    ck_assert_str_eq(s, "123");
    ck_assert_int_eq(cantor_u256_from_dec("", w), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_u256_from_dec("12a", w), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_u256_from_dec("-1", w), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_u256_from_dec("0x10", w), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_u256_from_dec(NULL, w), CANTOR_ERR_INVALID);
    memset(big, '0', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ck_assert_int_eq(cantor_u256_from_dec(big, w), CANTOR_ERR_TOO_LARGE);
    big[CANTOR_U256_DEC_INPUT_MAX] = 0;
    ck_assert_int_eq(cantor_u256_from_dec(big, w), CANTOR_OK);
    /* Powers of ten survive the round trip at every length. */
    for (int d = 1; d <= 77; d++) {
        memset(s, '0', (size_t)d + 1);
        s[0] = '1';
        s[d + 1] = 0;
        ck_assert_int_eq(cantor_u256_from_dec(s, w), CANTOR_OK);
        ck_assert_int_eq(cantor_u256_to_dec(w, big, sizeof(big)), CANTOR_OK);
        ck_assert_str_eq(big, s);
    }
}
END_TEST

/* The "#..." big integers of ethereum/tests rlptest.json: decimal in, RLP bytes out. */
/* Multiplication and division by a small number: carry and remainder out, in place. */
START_TEST(test_small_mul_div)
{
    uint8_t w[32], r[32], max[32];
    char dec[CANTOR_U256_DEC_MAX];

    memset(max, 0xff, 32);
    ck_assert_int_eq(cantor_u256_from_dec("1", w), CANTOR_OK);
    for (int i = 0; i < 77; i++) /* 10^77 < 2^256 < 10^78 */
        ck_assert_uint_eq(cantor_u256_mul_small(w, 10, 0, w), 0);
    ck_assert_int_eq(cantor_u256_to_dec(w, dec, sizeof(dec)), CANTOR_OK);
    ck_assert_uint_eq(strlen(dec), 78);
    ck_assert_uint_ne(cantor_u256_mul_small(w, 10, 0, r), 0); /* 10^78 does not fit */
    ck_assert_uint_eq(cantor_u256_mul_small(max, 1, 0, r), 0);
    ck_assert_uint_eq(cantor_u256_mul_small(max, 1, 1, r), 1); /* max + 1 carries out */
    ck_assert(cantor_u256_is_zero(r));
    ck_assert_uint_eq(cantor_u256_div_small(w, 10, w), 0);
    ck_assert_int_eq(cantor_u256_to_dec(w, dec, sizeof(dec)), CANTOR_OK);
    ck_assert_uint_eq(strlen(dec), 77);
    ck_assert_uint_eq(cantor_u256_div_small(max, 10, r), 5); /* 2^256 - 1 ends in ...935 */
    ck_assert_uint_eq(cantor_u256_mul_small(r, 10, 5, r), 0);
    ck_assert_mem_eq(r, max, 32);
    ck_assert_uint_eq(cantor_u256_div_small(max, 1u << 22, r), (1u << 22) - 1);
}
END_TEST

START_TEST(test_rlptest_bigints)
{
    json_error_t e;
    json_t *root = json_load_file(tu_data_path("ethereum-tests/RLPTests/rlptest.json"), JSON_ALLOW_NUL, &e);
    const char *name;
    json_t *tc;
    int checked = 0, overflowed = 0;

    ck_assert(root != NULL);
    json_object_foreach(root, name, tc)
    {
        json_t *in = json_object_get(tc, "in");
        uint8_t w[32], *out;
        size_t n;
        struct cantor_rlp_item it;
        enum cantor_err err;

        if (!json_is_string(in) || json_string_value(in)[0] != '#')
            continue;
        ck_assert_int_eq(cantor_hex_decode_alloc(json_string_value(json_object_get(tc, "out")), &out, &n),
                         CANTOR_OK);
        ck_assert_int_eq(cantor_rlp_decode(out, n, &it), CANTOR_OK);
        err = cantor_u256_from_dec(json_string_value(in) + 1, w);
        if (it.payload_len > 32) {
            ck_assert_int_eq(err, CANTOR_ERR_OVERFLOW);
            overflowed++;
        } else {
            char s[CANTOR_U256_DEC_MAX];

            ck_assert_int_eq(err, CANTOR_OK);
            ck_assert_uint_eq(cantor_u256_min_len(w), it.payload_len);
            ck_assert_mem_eq(w + 32 - it.payload_len, it.payload, it.payload_len);
            ck_assert_int_eq(cantor_u256_to_dec(w, s, sizeof(s)), CANTOR_OK);
            ck_assert_str_eq(s, json_string_value(in) + 1);
            checked++;
        }
        free(out);
    }
    ck_assert_int_eq(checked, 2);
    ck_assert_int_eq(overflowed, 1);
    json_decref(root);
}
END_TEST

START_TEST(test_genesis_total)
{
    json_t *alloc = tu_load_json("mainnet-genesis-alloc/mainnet_alloc.json");
    size_t rlp_len, pos = 0, n_rlp = 0, n_json = 0;
    uint8_t *rlp = tu_read_data("mainnet-genesis-alloc/mainnet_alloc.rlp", &rlp_len);
    uint8_t sum_json[32] = {0}, sum_rlp[32] = {0}, back[32];
    struct cantor_rlp_item list, pair;
    const char *addr;
    json_t *acct;
    char dec[CANTOR_U256_DEC_MAX];
    enum cantor_err err;

    json_object_foreach(alloc, addr, acct)
    {
        uint8_t bal[32];

        word(json_string_value(json_object_get(acct, "balance")), bal);
        ck_assert_uint_eq(cantor_u256_add(sum_json, bal, sum_json), 0);
        n_json++;
    }
    ck_assert_int_eq(cantor_rlp_decode(rlp, rlp_len, &list), CANTOR_OK);
    while ((err = cantor_rlp_list_next(&list, &pos, &pair)) == CANTOR_OK) {
        struct cantor_rlp_item a, bal;
        size_t p = 0;
        uint8_t w[32] = {0};

        ck_assert_int_eq(cantor_rlp_list_next(&pair, &p, &a), CANTOR_OK);
        ck_assert_int_eq(cantor_rlp_list_next(&pair, &p, &bal), CANTOR_OK);
        ck_assert_uint_le(bal.payload_len, 32);
        memcpy(w + 32 - bal.payload_len, bal.payload, bal.payload_len);
        ck_assert_uint_eq(cantor_u256_add(sum_rlp, w, sum_rlp), 0);
        n_rlp++;
    }
    ck_assert_int_eq(err, CANTOR_ERR_NOT_FOUND);
    ck_assert_uint_eq(n_json, 8893);
    ck_assert_uint_eq(n_rlp, n_json);
    ck_assert_int_eq(cantor_u256_cmp(sum_json, sum_rlp), 0);
    /* README: 72,009,990.49948 ETH. */
    ck_assert_int_eq(cantor_u256_to_dec(sum_json, dec, sizeof(dec)), CANTOR_OK);
    ck_assert_str_eq(dec, "72009990499480000000000000");
    ck_assert_int_eq(cantor_u256_from_dec(dec, back), CANTOR_OK);
    ck_assert_mem_eq(back, sum_json, 32);
    /* Subtracting every balance again lands exactly on zero without ever borrowing. */
    json_object_foreach(alloc, addr, acct)
    {
        uint8_t bal[32];

        word(json_string_value(json_object_get(acct, "balance")), bal);
        ck_assert_int_ge(cantor_u256_cmp(back, bal), 0);
        ck_assert_uint_eq(cantor_u256_sub(back, bal, back), 0);
    }
    ck_assert(cantor_u256_is_zero(back));
    free(rlp);
    json_decref(alloc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("u256");
    TCase *tc = tcase_create("u256");

    tcase_add_test(tc, test_add_sub_cmp);
    tcase_add_test(tc, test_limbs_vs_bytes);
    tcase_add_test(tc, test_u64);
    tcase_add_test(tc, test_decimal);
    tcase_add_test(tc, test_small_mul_div);
    tcase_add_test(tc, test_rlptest_bigints);
    tcase_add_test(tc, test_genesis_total);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
