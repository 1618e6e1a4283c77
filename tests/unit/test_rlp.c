/*
 * test_rlp.c - RLP against ethereum/tests RLPTests (valid, invalid, random) and ethers' rlp-coder
 * vectors: encode the described value, decode the bytes back, re-encode the decoded tree, and check
 * that every strict prefix of every valid encoding is rejected without reading past it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hex.h"
#include "core/rlp.h"
#include "testutil.h"

/* rlptest.json holds "\u0000" strings, which tu_load_json refuses. */
static json_t *load_json_nul(const char *rel)
{
    json_error_t e;
    json_t *j = json_load_file(tu_data_path(rel), JSON_ALLOW_NUL, &e);

    ck_assert_msg(j != NULL, "%s: %s (line %d)", tu_data_path(rel), e.text, e.line);
    return j;
}

static uint8_t *hex_alloc(const char *s, size_t *ret_len)
{
    uint8_t *p = NULL;

    ck_assert_msg(cantor_hex_decode_alloc(s, &p, ret_len) == CANTOR_OK, "bad hex in vector: %.40s", s);
    return p;
}

/* A decimal string of any length as minimal big-endian bytes (the "#123..." big ints). */
static size_t dec_to_be(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0; /* out[cap - n .. cap) holds the value */

    for (; *s; s++) {
        unsigned carry;

        ck_assert(*s >= '0' && *s <= '9');
        carry = (unsigned)(*s - '0');
        for (size_t i = 0; i < n; i++) {
            unsigned v = out[cap - 1 - i] * 10u + carry;

            out[cap - 1 - i] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry) {
            ck_assert(n < cap);
            out[cap - 1 - n] = (uint8_t)carry;
            n++;
        }
    }
    memmove(out, out + cap - n, n);
    return n;
}

/* Encode an ethereum/tests "in" value (ints, "#bigint", strings, lists) or, with hexstr, an ethers
 * "decoded" value (hex strings, lists). */
static void encode_json(const json_t *v, bool hexstr, struct cantor_buf *out)
{
    if (json_is_array(v)) {
        struct cantor_buf inner;
        size_t i;
        json_t *e;

        cantor_buf_init(&inner, 0);
        json_array_foreach(v, i, e) encode_json(e, hexstr, &inner);
        ck_assert_int_eq(cantor_rlp_encode_list(out, inner.data, inner.len), CANTOR_OK);
        cantor_buf_release(&inner);
    } else if (json_is_integer(v)) {
        ck_assert(json_integer_value(v) >= 0);
        ck_assert_int_eq(cantor_rlp_encode_u64(out, (uint64_t)json_integer_value(v)), CANTOR_OK);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);

        if (hexstr) {
            size_t n;
            uint8_t *p = hex_alloc(s, &n);

            ck_assert_int_eq(cantor_rlp_encode_bytes(out, p, n), CANTOR_OK);
            free(p);
        } else if (s[0] == '#') {
            uint8_t be[128];
            size_t n = dec_to_be(s + 1, be, sizeof(be));

            ck_assert_int_eq(cantor_rlp_encode_uint_be(out, be, n), CANTOR_OK);
        } else {
            ck_assert_int_eq(cantor_rlp_encode_bytes(out, (const uint8_t *)s, json_string_length(v)),
                             CANTOR_OK);
        }
    } else {
        ck_abort_msg("unexpected JSON type in vector");
    }
}

/* Check that a decoded item matches the JSON value it was encoded from. */
static void match_json(const struct cantor_rlp_item *it, const json_t *v, bool hexstr)
{
    if (json_is_array(v)) {
        struct cantor_rlp_item sub;
        size_t pos = 0, count, i;
        json_t *e;

        ck_assert(it->is_list);
        ck_assert_int_eq(cantor_rlp_list_count(it, &count), CANTOR_OK);
        ck_assert_uint_eq(count, json_array_size(v));
        json_array_foreach(v, i, e)
        {
            ck_assert_int_eq(cantor_rlp_list_next(it, &pos, &sub), CANTOR_OK);
            match_json(&sub, e, hexstr);
        }
        ck_assert_int_eq(cantor_rlp_list_next(it, &pos, &sub), CANTOR_ERR_NOT_FOUND);
        return;
    }
    ck_assert(!it->is_list);
    if (json_is_integer(v)) {
        uint64_t x;

        ck_assert_int_eq(cantor_rlp_to_u64(it, &x), CANTOR_OK);
        ck_assert_uint_eq(x, (uint64_t)json_integer_value(v));
    } else if (hexstr) {
        size_t n;
        uint8_t *p = hex_alloc(json_string_value(v), &n);

        ck_assert_uint_eq(it->payload_len, n);
        ck_assert(n == 0 || memcmp(it->payload, p, n) == 0);
        free(p);
    } else if (json_string_value(v)[0] == '#') {
        uint8_t be[128];
        size_t n = dec_to_be(json_string_value(v) + 1, be, sizeof(be));

        ck_assert_uint_eq(it->payload_len, n);
        ck_assert(n == 0 || memcmp(it->payload, be, n) == 0);
    } else {
        ck_assert_uint_eq(it->payload_len, json_string_length(v));
        ck_assert(it->payload_len == 0 || memcmp(it->payload, json_string_value(v), it->payload_len) == 0);
    }
}

/* Rebuild the encoding of a decoded tree from its parts only (payloads, never raw). */
static void reencode(const struct cantor_rlp_item *it, struct cantor_buf *out)
{
    struct cantor_rlp_item sub;
    struct cantor_buf inner;
    size_t pos = 0;
    enum cantor_err err;

    if (!it->is_list) {
        ck_assert_int_eq(cantor_rlp_encode_bytes(out, it->payload, it->payload_len), CANTOR_OK);
        return;
    }
    cantor_buf_init(&inner, 0);
    while ((err = cantor_rlp_list_next(it, &pos, &sub)) == CANTOR_OK)
        reencode(&sub, &inner);
    ck_assert_int_eq(err, CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_rlp_encode_list(out, inner.data, inner.len), CANTOR_OK);
    cantor_buf_release(&inner);
}

/* Every strict prefix must fail; each prefix sits in an exactly-sized heap block so ASan sees over-reads. */
static size_t check_prefixes(const uint8_t *enc, size_t len)
{
    struct cantor_rlp_item it;

    for (size_t n = 0; n < len; n++) {
        uint8_t *p = malloc(n ? n : 1);

        ck_assert(p != NULL);
        memcpy(p, enc, n);
        ck_assert_msg(cantor_rlp_decode(p, n, &it) != CANTOR_OK, "prefix %zu of %zu accepted", n, len);
        free(p);
    }
    return len;
}

static void roundtrip_bytes(const uint8_t *enc, size_t len, const char *name)
{
    struct cantor_rlp_item it;
    struct cantor_buf re;

    ck_assert_msg(cantor_rlp_decode(enc, len, &it) == CANTOR_OK, "%s: decode failed", name);
    ck_assert_ptr_eq(it.raw, enc);
    ck_assert_uint_eq(it.raw_len, len);
    cantor_buf_init(&re, 0);
    reencode(&it, &re);
    ck_assert_msg(re.len == len && memcmp(re.data, enc, len) == 0, "%s: re-encoding differs", name);
    cantor_buf_release(&re);
}

START_TEST(test_rlptest_valid)
{
    json_t *root = load_json_nul("ethereum-tests/RLPTests/rlptest.json");
    const char *name;
    json_t *tc;
    size_t count = 0, prefixes = 0;

    json_object_foreach(root, name, tc)
    {
        size_t n;
        uint8_t *want = hex_alloc(json_string_value(json_object_get(tc, "out")), &n);
        struct cantor_rlp_item it;
        struct cantor_buf b;

        cantor_buf_init(&b, 0);
        encode_json(json_object_get(tc, "in"), false, &b);
        ck_assert_msg(b.len == n && memcmp(b.data, want, n) == 0, "%s: encoding differs", name);
        ck_assert_msg(cantor_rlp_decode(want, n, &it) == CANTOR_OK, "%s: decode failed", name);
        /* Big ints beyond 64 bits must be refused by to_u64, not truncated. */
        if (json_is_string(json_object_get(tc, "in")) &&
            json_string_value(json_object_get(tc, "in"))[0] == '#') {
            uint64_t x;

            ck_assert_int_eq(cantor_rlp_to_u64(&it, &x), CANTOR_ERR_OVERFLOW);
        }
        match_json(&it, json_object_get(tc, "in"), false);
        roundtrip_bytes(want, n, name);
        prefixes += check_prefixes(want, n);
        cantor_buf_release(&b);
        free(want);
        count++;
    }
    ck_assert_uint_eq(count, json_object_size(root));
    ck_assert_uint_ge(count, 28);
    ck_assert_uint_gt(prefixes, 1000);
    json_decref(root);
}
END_TEST

START_TEST(test_rlptest_invalid)
{
    json_t *root = tu_load_json("ethereum-tests/RLPTests/invalidRLPTest.json");
    const char *name;
    json_t *tc;
    size_t count = 0;

    json_object_foreach(root, name, tc)
    {
        size_t n;
        uint8_t *enc = hex_alloc(json_string_value(json_object_get(tc, "out")), &n);
        uint8_t *exact = malloc(n ? n : 1);
        struct cantor_rlp_item it;
        enum cantor_err err;

        ck_assert(exact != NULL);
        memcpy(exact, enc, n);
        err = cantor_rlp_decode(exact, n, &it);
        ck_assert_msg(err == CANTOR_ERR_RLP || err == CANTOR_ERR_TRUNCATED || err == CANTOR_ERR_TOO_LARGE,
                      "%s: accepted or wrong error %d", name, err);
        free(exact);
        free(enc);
        count++;
    }
    ck_assert_uint_eq(count, json_object_size(root));
    ck_assert_uint_ge(count, 26);
    json_decref(root);
}
END_TEST

START_TEST(test_random_rlp)
{
    json_t *root = tu_load_json("ethereum-tests/RLPTests/RandomRLPTests/example.json");
    const char *name;
    json_t *tc;
    size_t count = 0;

    json_object_foreach(root, name, tc)
    {
        size_t n;
        uint8_t *enc = hex_alloc(json_string_value(json_object_get(tc, "out")), &n);

        ck_assert_str_eq(json_string_value(json_object_get(tc, "in")), "VALID");
        roundtrip_bytes(enc, n, name);
        check_prefixes(enc, n);
        free(enc);
        count++;
    }
    ck_assert_uint_ge(count, 1);
    json_decref(root);
}
END_TEST

START_TEST(test_ethers_rlp_coder)
{
    json_t *root = tu_load_json("ethers-testcases/rlp-coder.json");
    size_t i;
    json_t *tc;

    ck_assert_uint_eq(json_array_size(root), 61);
    json_array_foreach(root, i, tc)
    {
        const char *name = json_string_value(json_object_get(tc, "name"));
        json_t *dec = json_object_get(tc, "decoded");
        size_t n;
        uint8_t *want = hex_alloc(json_string_value(json_object_get(tc, "encoded")), &n);
        struct cantor_rlp_item it;
        struct cantor_buf b;

        cantor_buf_init(&b, 0);
        encode_json(dec, true, &b);
        ck_assert_msg(b.len == n && memcmp(b.data, want, n) == 0, "%s: encoding differs", name);
        ck_assert_msg(cantor_rlp_decode(want, n, &it) == CANTOR_OK, "%s: decode failed", name);
        match_json(&it, dec, true);
        roundtrip_bytes(want, n, name);
        check_prefixes(want, n);
        cantor_buf_release(&b);
        free(want);
    }
    json_decref(root);
}
END_TEST

static enum cantor_err decode_hex(const char *hex, struct cantor_rlp_item *it, uint8_t *store, size_t cap)
{
    size_t n = (strlen(hex) - 2) / 2;

    ck_assert_uint_le(n, cap);
    ck_assert_int_eq(cantor_hex_decode_exact(hex, store, n), CANTOR_OK);
    return cantor_rlp_decode(store, n, it);
}

START_TEST(test_strict_forms)
{
    uint8_t s[64];
    struct cantor_rlp_item it;
    uint64_t v;

    /* Integers: zero is the empty string; "0x00" and leading zeros are non-canonical. */
    ck_assert_int_eq(decode_hex("0x80", &it, s, sizeof(s)), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_to_u64(&it, &v), CANTOR_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(decode_hex("0x00", &it, s, sizeof(s)), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_to_u64(&it, &v), CANTOR_ERR_RLP);
    ck_assert_int_eq(decode_hex("0x820001", &it, s, sizeof(s)), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_to_u64(&it, &v), CANTOR_ERR_RLP);
    ck_assert_int_eq(decode_hex("0x88ffffffffffffffff", &it, s, sizeof(s)), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_to_u64(&it, &v), CANTOR_OK);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(decode_hex("0x89010000000000000000", &it, s, sizeof(s)), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_to_u64(&it, &v), CANTOR_ERR_OVERFLOW);
    ck_assert_int_eq(decode_hex("0xc0", &it, s, sizeof(s)), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_to_u64(&it, &v), CANTOR_ERR_RLP);
    /* Trailing bytes at top level; an inner item running past its parent list. */
    ck_assert_int_eq(decode_hex("0x8001", &it, s, sizeof(s)), CANTOR_ERR_RLP);
    ck_assert_int_eq(decode_hex("0xc1c1", &it, s, sizeof(s)), CANTOR_ERR_TRUNCATED);
    ck_assert_int_eq(decode_hex("0xc2c101", &it, s, sizeof(s)), CANTOR_OK);
    /* Non-canonical item nested two levels down is caught by the whole-tree check. */
    ck_assert_int_eq(decode_hex("0xc3c28101", &it, s, sizeof(s)), CANTOR_ERR_RLP);
    /* A string can not be iterated or counted. */
    ck_assert_int_eq(decode_hex("0x83646f67", &it, s, sizeof(s)), CANTOR_OK);
    {
        size_t pos = 0, c;
        struct cantor_rlp_item sub;

        ck_assert_int_eq(cantor_rlp_list_next(&it, &pos, &sub), CANTOR_ERR_RLP);
        ck_assert_int_eq(cantor_rlp_list_count(&it, &c), CANTOR_ERR_RLP);
    }
    /* decode_item stops after one item and reports what it used. */
    {
        size_t used;

        ck_assert_int_eq(cantor_hex_decode_exact("0x83646f6701", s, 5), CANTOR_OK);
        ck_assert_int_eq(cantor_rlp_decode_item(s, 5, &it, &used), CANTOR_OK);
        ck_assert_uint_eq(used, 4);
        ck_assert_int_eq(cantor_rlp_decode_item(s, 0, &it, &used), CANTOR_ERR_TRUNCATED);
    }
}
END_TEST

START_TEST(test_encode_limits)
{
    struct cantor_buf b;
    uint8_t big[300];

    memset(big, 0xab, sizeof(big));
    /* A buffer too small for header + payload stays unchanged (no half-written item). */
    cantor_buf_init(&b, 100);
    ck_assert_int_eq(cantor_rlp_encode_bytes(&b, big, 99), CANTOR_ERR_TOO_LARGE);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(cantor_rlp_encode_bytes(&b, big, 60), CANTOR_OK);
    ck_assert_uint_eq(b.len, 62);
    ck_assert_uint_eq(b.data[0], 0xb8);
    ck_assert_uint_eq(b.data[1], 60);
    cantor_buf_release(&b);
    /* Long-form lengths use the minimal number of bytes. */
    cantor_buf_init(&b, 0);
    ck_assert_int_eq(cantor_rlp_encode_bytes(&b, big, 256), CANTOR_OK);
    ck_assert_uint_eq(b.data[0], 0xb9);
    ck_assert_uint_eq(b.data[1], 0x01);
    ck_assert_uint_eq(b.data[2], 0x00);
    cantor_buf_reset(&b);
    ck_assert_int_eq(cantor_rlp_encode_list_header(&b, 1024), CANTOR_OK);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_uint_eq(b.data[0], 0xf9);
    cantor_buf_reset(&b);
    ck_assert_int_eq(cantor_rlp_encode_u64(&b, 0), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_encode_u64(&b, 0x7f), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_encode_u64(&b, 0x80), CANTOR_OK);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_mem_eq(b.data, "\x80\x7f\x81\x80", 4);
    cantor_buf_release(&b);
}
END_TEST

/* n lists nested in each other around an empty list, built inside out. */
static void nested(size_t n, struct cantor_buf *out)
{
    struct cantor_buf tmp;

    cantor_buf_reset(out);
    ck_assert_int_eq(cantor_rlp_encode_list(out, NULL, 0), CANTOR_OK);
    cantor_buf_init(&tmp, 0);
    for (size_t i = 0; i < n; i++) {
        cantor_buf_reset(&tmp);
        ck_assert_int_eq(cantor_rlp_encode_list(&tmp, out->data, out->len), CANTOR_OK);
        cantor_buf_reset(out);
        ck_assert_int_eq(cantor_buf_append(out, tmp.data, tmp.len), CANTOR_OK);
    }
    cantor_buf_release(&tmp);
}

START_TEST(test_deep_nesting)
{
    struct cantor_buf b;
    struct cantor_rlp_item it;

    /* Valid but absurd nesting is refused (bounded work, no recursion); real depths pass. */
    cantor_buf_init(&b, 0);
    nested(1000, &b);
    ck_assert_int_eq(cantor_rlp_decode(b.data, b.len, &it), CANTOR_OK);
    roundtrip_bytes(b.data, b.len, "nested1000");
    nested(3000, &b);
    ck_assert_int_eq(cantor_rlp_decode(b.data, b.len, &it), CANTOR_ERR_TOO_LARGE);
    cantor_buf_release(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rlp");
    TCase *tc = tcase_create("rlp");

    tcase_add_test(tc, test_rlptest_valid);
    tcase_add_test(tc, test_rlptest_invalid);
    tcase_add_test(tc, test_random_rlp);
    tcase_add_test(tc, test_ethers_rlp_coder);
    tcase_add_test(tc, test_strict_forms);
    tcase_add_test(tc, test_encode_limits);
    tcase_add_test(tc, test_deep_nesting);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
