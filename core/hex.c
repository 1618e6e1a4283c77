/* hex.c - strict hex codec; see hex.h. */
#include "hex.h"

#include <stdlib.h>
#include <string.h>

int cantor_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *skip_prefix(const char *s)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return s + 2;
    return s;
}

static enum cantor_err decode_pairs(const char *p, size_t digits, uint8_t *out)
{
    for (size_t i = 0; i < digits / 2; i++) {
        int hi = cantor_hex_digit(p[2 * i]);
        int lo = cantor_hex_digit(p[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return CANTOR_ERR_HEX;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return CANTOR_OK;
}

enum cantor_err cantor_hex_decode_exact(const char *s, uint8_t *out, size_t out_len)
{
    const char *p;
    size_t digits;

    if (!s)
        return CANTOR_ERR_HEX;
    p = skip_prefix(s);
    digits = strlen(p);
    if (digits % 2)
        return CANTOR_ERR_HEX;
    if (digits / 2 != out_len)
        return digits / 2 > out_len ? CANTOR_ERR_TOO_LARGE : CANTOR_ERR_TRUNCATED;
    return decode_pairs(p, digits, out);
}

enum cantor_err cantor_hex_decode_alloc(const char *s, uint8_t **ret_buf, size_t *ret_len)
{
    const char *p;
    size_t digits;
    uint8_t *buf;
    enum cantor_err err;

    if (!s)
        return CANTOR_ERR_HEX;
    p = skip_prefix(s);
    digits = strlen(p);
    if (digits % 2)
        return CANTOR_ERR_HEX;
    buf = malloc(digits / 2 + 1);
    if (!buf)
        return CANTOR_ERR_NOMEM;
    err = decode_pairs(p, digits, buf);
    if (err) {
        free(buf);
        return err;
    }
    *ret_buf = buf;
    *ret_len = digits / 2;
    return CANTOR_OK;
}

enum cantor_err cantor_hex_decode_word(const char *s, uint8_t out[32])
{
    const char *p;
    size_t digits;

    if (!s)
        return CANTOR_ERR_HEX;
    p = skip_prefix(s);
    digits = strlen(p);
    if (digits == 0)
        return CANTOR_ERR_HEX;
    while (digits > 64 && *p == '0') { /* tolerate over-padding */
        p++;
        digits--;
    }
    if (digits > 64)
        return CANTOR_ERR_TOO_LARGE;
    memset(out, 0, 32);
    for (size_t i = 0; i < digits; i++) {
        int d = cantor_hex_digit(p[digits - 1 - i]);

        if (d < 0)
            return CANTOR_ERR_HEX;
        out[31 - i / 2] |= (uint8_t)(i % 2 ? d << 4 : d);
    }
    return CANTOR_OK;
}

enum cantor_err cantor_hex_decode_u64(const char *s, uint64_t *ret_value)
{
    uint8_t w[32];
    uint64_t v = 0;
    enum cantor_err err = cantor_hex_decode_word(s, w);

    if (err)
        return err;
    for (int i = 0; i < 24; i++)
        if (w[i])
            return CANTOR_ERR_OVERFLOW;
    for (int i = 24; i < 32; i++)
        v = v << 8 | w[i];
    *ret_value = v;
    return CANTOR_OK;
}

static const char digits_lc[] = "0123456789abcdef";

void cantor_hex_encode(const uint8_t *in, size_t len, char *out)
{
    *out++ = '0';
    *out++ = 'x';
    for (size_t i = 0; i < len; i++) {
        *out++ = digits_lc[in[i] >> 4];
        *out++ = digits_lc[in[i] & 15];
    }
    *out = 0;
}

void cantor_hex_encode_quantity(const uint8_t word[32], char *out)
{
    size_t i = 0;
    bool started = false;

    *out++ = '0';
    *out++ = 'x';
    for (i = 0; i < 32; i++) {
        uint8_t hi = word[i] >> 4, lo = word[i] & 15;

        if (started || hi) {
            *out++ = digits_lc[hi];
            started = true;
        }
        if (started || lo) {
            *out++ = digits_lc[lo];
            started = true;
        }
    }
    if (!started)
        *out++ = '0';
    *out = 0;
}
