/* test_base.c - err strings, the size-limited buffer and hex codecs. */
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hex.h"
#include "testutil.h"

START_TEST(test_err_str)
{
    for (int e = 0; e < CANTOR_ERR__COUNT; e++)
        ck_assert_str_ne(cantor_err_str((enum cantor_err)e), "unknown error");
    ck_assert_str_eq(cantor_err_str((enum cantor_err)9999), "unknown error");
}
END_TEST

START_TEST(test_buf_limit)
{
    struct cantor_buf b;

    cantor_buf_init(&b, 10);
    ck_assert_int_eq(cantor_buf_append(&b, "12345", 5), CANTOR_OK);
    ck_assert_int_eq(cantor_buf_append(&b, "123456", 6), CANTOR_ERR_TOO_LARGE);
    ck_assert_uint_eq(b.len, 5); /* a failed append leaves the buffer unchanged */
    ck_assert_int_eq(cantor_buf_append(&b, "12345", 5), CANTOR_OK);
    ck_assert_int_eq(cantor_buf_append_byte(&b, 'x'), CANTOR_ERR_TOO_LARGE);
    ck_assert_str_eq((char *)b.data, "1234512345");
    cantor_buf_reset(&b);
    ck_assert_int_eq(cantor_buf_printf(&b, "%d-%s", 42, "ab"), CANTOR_OK);
    ck_assert_str_eq((char *)b.data, "42-ab");
    ck_assert_int_eq(cantor_buf_printf(&b, "%s", "too long!"), CANTOR_ERR_TOO_LARGE);
    cantor_buf_release(&b);
    cantor_buf_release(NULL);
}
END_TEST

START_TEST(test_hex)
{
    uint8_t w[32], out4[4];
    uint64_t v;
    char s[80];
    uint8_t *p;
    size_t n;

    ck_assert_int_eq(cantor_hex_decode_exact("0xdeadbeef", out4, 4), CANTOR_OK);
    ck_assert_uint_eq(out4[0], 0xde);
    ck_assert_int_eq(cantor_hex_decode_exact("0xdeadbee", out4, 4), CANTOR_ERR_HEX);
    ck_assert_int_eq(cantor_hex_decode_exact("0xdeadbeefaa", out4, 4), CANTOR_ERR_TOO_LARGE);
    ck_assert_int_eq(cantor_hex_decode_exact("0xdeadbeXf", out4, 4), CANTOR_ERR_HEX);
    ck_assert_int_eq(cantor_hex_decode_u64("0x1a", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 26);
    ck_assert_int_eq(cantor_hex_decode_u64("0x10000000000000000", &v), CANTOR_ERR_OVERFLOW);
    ck_assert_int_eq(cantor_hex_decode_u64("0x", &v), CANTOR_ERR_HEX);
    ck_assert_int_eq(cantor_hex_decode_word("0x0", w), CANTOR_OK);
    cantor_hex_encode_quantity(w, s);
    ck_assert_str_eq(s, "0x0");
    ck_assert_int_eq(cantor_hex_decode_word("0xabc", w), CANTOR_OK);
    cantor_hex_encode_quantity(w, s);
    ck_assert_str_eq(s, "0xabc");
    ck_assert_int_eq(cantor_hex_decode_alloc("0x", &p, &n), CANTOR_OK);
    ck_assert_uint_eq(n, 0);
    free(p);
    cantor_hex_encode((const uint8_t *)"\x01\xff", 2, s);
    ck_assert_str_eq(s, "0x01ff");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("base");

    tcase_add_test(tc, test_err_str);
    tcase_add_test(tc, test_buf_limit);
    tcase_add_test(tc, test_hex);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
