/*
 * test_varint.c - LEB128 against the protobuf encoding examples, every 7-bit boundary, strictness
 * (overlong, too long, bits past 64, truncation) and zigzag's mapping at its extremes.
 */
#include <string.h>

#include "core/buf.h"
#include "core/varint.h"
#include "testutil.h"

static void expect_enc(uint64_t v, const char *bytes, size_t n)
{
    uint8_t out[CANTOR_VARINT_MAX];
    uint64_t back;
    size_t used;

    ck_assert_uint_eq(cantor_varint_encode(v, out), n);
    ck_assert_mem_eq(out, bytes, n);
    ck_assert_int_eq(cantor_varint_decode((const uint8_t *)bytes, n, &back, &used), CANTOR_OK);
    ck_assert_uint_eq(back, v);
    ck_assert_uint_eq(used, n);
}

START_TEST(test_known)
{
    /* Examples from the protobuf encoding guide and the LEB128 article. */
    expect_enc(0, "\x00", 1);
    expect_enc(1, "\x01", 1);
    expect_enc(127, "\x7f", 1);
    expect_enc(128, "\x80\x01", 2);
    expect_enc(150, "\x96\x01", 2);
    expect_enc(300, "\xac\x02", 2);
    expect_enc(624485, "\xe5\x8e\x26", 3);
    expect_enc(UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
    expect_enc(1ull << 63, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10);
}
END_TEST

START_TEST(test_boundaries)
{
    struct cantor_buf b;
    size_t pos = 0, count = 0;

    cantor_buf_init(&b, 0);
    for (int k = 0; k < 64; k++) {
        uint64_t p = 1ull << k;

        ck_assert_int_eq(cantor_varint_append(&b, p - 1), CANTOR_OK);
        ck_assert_int_eq(cantor_varint_append(&b, p), CANTOR_OK);
        ck_assert_int_eq(cantor_varint_append(&b, p + 1), CANTOR_OK);
    }
    /* A stream decodes back in order, each value with its minimal length. */
    for (int k = 0; k < 64; k++) {
        uint64_t p = 1ull << k, want[3] = {p - 1, p, p + 1};

        for (int j = 0; j < 3; j++) {
            uint64_t v;
            size_t used;
            uint8_t tmp[CANTOR_VARINT_MAX];

            ck_assert_int_eq(cantor_varint_decode(b.data + pos, b.len - pos, &v, &used), CANTOR_OK);
            ck_assert_uint_eq(v, want[j]);
            ck_assert_uint_eq(used, cantor_varint_encode(v, tmp));
            ck_assert_uint_eq(used, v == 0 ? 1 : (size_t)(64 - __builtin_clzll(v) + 6) / 7);
            pos += used;
            count++;
        }
    }
    ck_assert_uint_eq(pos, b.len);
    ck_assert_uint_eq(count, 192);
    cantor_buf_release(&b);
}
END_TEST

START_TEST(test_strict)
{
    uint64_t v = 42;
    size_t used = 0;

    /* Overlong: 0 as two bytes, 1 as three. */
    ck_assert_int_eq(cantor_varint_decode((const uint8_t *)"\x80\x00", 2, &v, &used), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_varint_decode((const uint8_t *)"\x81\x80\x00", 3, &v, &used), CANTOR_ERR_INVALID);
    /* 10th byte may only carry bit 63. */
    ck_assert_int_eq(
        cantor_varint_decode((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, &v, &used),
        CANTOR_ERR_OVERFLOW);
    ck_assert_int_eq(
        cantor_varint_decode((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x81\x01", 11, &v, &used),
        CANTOR_ERR_OVERFLOW);
    /* 11 bytes, continuation on the 10th. */
    ck_assert_int_eq(
        cantor_varint_decode((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x80\x00", 11, &v, &used),
        CANTOR_ERR_OVERFLOW);
    ck_assert_uint_eq(v, 42); /* outputs untouched on error */
    /* Every prefix of a valid encoding is truncated. */
    {
        uint8_t out[CANTOR_VARINT_MAX];
        size_t n = cantor_varint_encode(UINT64_MAX - 5, out);

        for (size_t i = 0; i < n; i++)
            ck_assert_int_eq(cantor_varint_decode(out, i, &v, &used), CANTOR_ERR_TRUNCATED);
    }
    ck_assert_int_eq(cantor_varint_decode(NULL, 0, &v, &used), CANTOR_ERR_TRUNCATED);
    /* A single zero byte is the canonical 0 and trailing input is not consumed. */
    ck_assert_int_eq(cantor_varint_decode((const uint8_t *)"\x00\x05", 2, &v, &used), CANTOR_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_uint_eq(used, 1);
}
END_TEST

START_TEST(test_zigzag)
{
    static const struct {
        int64_t s;
        uint64_t u;
    } vec[] = {
        {0, 0},
        {-1, 1},
        {1, 2},
        {-2, 3},
        {2, 4},
        {2147483647, 4294967294u},
        {-2147483648LL, 4294967295u},
        {INT64_MAX, UINT64_MAX - 1},
        {INT64_MIN, UINT64_MAX},
    };

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        ck_assert_uint_eq(cantor_zigzag_encode(vec[i].s), vec[i].u);
        ck_assert_int_eq(cantor_zigzag_decode(vec[i].u), vec[i].s);
    }
    for (int64_t s = -70000; s <= 70000; s += 7)
        ck_assert_int_eq(cantor_zigzag_decode(cantor_zigzag_encode(s)), s);
}
END_TEST

START_TEST(test_append_limit)
{
    struct cantor_buf b;

    cantor_buf_init(&b, 5);
    ck_assert_int_eq(cantor_varint_append(&b, 1ull << 28), CANTOR_OK); /* 5 bytes */
    ck_assert_int_eq(cantor_varint_append(&b, 1), CANTOR_ERR_TOO_LARGE);
    ck_assert_uint_eq(b.len, 5);
    cantor_buf_release(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("varint");
    TCase *tc = tcase_create("varint");

    tcase_add_test(tc, test_known);
    tcase_add_test(tc, test_boundaries);
    tcase_add_test(tc, test_strict);
    tcase_add_test(tc, test_zigzag);
    tcase_add_test(tc, test_append_limit);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
