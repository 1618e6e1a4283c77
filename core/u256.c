/*
 * u256.c - 256-bit big-endian word arithmetic (see u256.h). Add, subtract and the length run in the
 * codec's value coder for every value, so they work on four 64-bit limbs (core/be.h); multiply and
 * divide by a small number are byte-at-a-time. Nothing allocates. Results do not depend on the
 * host's byte order.
 */
#include "u256.h"

#include <string.h>

#include "be.h"

unsigned cantor_u256_add(const uint8_t a[32], const uint8_t b[32], uint8_t ret[32])
{
    unsigned carry = 0;

    for (int i = 3; i >= 0; i--) {
        uint64_t x = cantor_be64_get(a + 8 * i), y = cantor_be64_get(b + 8 * i), v = x + y + carry;

        carry = v < x || (carry && v == x); /* v == x only when y + carry wrapped to 0 */
        cantor_be64_put(ret + 8 * i, v);
    }
    return carry;
}

unsigned cantor_u256_sub(const uint8_t a[32], const uint8_t b[32], uint8_t ret[32])
{
    unsigned borrow = 0;

    for (int i = 3; i >= 0; i--) {
        uint64_t x = cantor_be64_get(a + 8 * i), y = cantor_be64_get(b + 8 * i), v = x - y - borrow;

        borrow = x < y || (borrow && x == y);
        cantor_be64_put(ret + 8 * i, v);
    }
    return borrow;
}

bool cantor_u256_absdiff(const uint8_t a[32], const uint8_t b[32], uint8_t ret[32])
{
    if (cantor_u256_cmp(a, b) >= 0) {
        cantor_u256_sub(a, b, ret);
        return true;
    }
    cantor_u256_sub(b, a, ret);
    return false;
}

int cantor_u256_cmp(const uint8_t a[32], const uint8_t b[32])
{
    int c = memcmp(a, b, 32); /* big-endian: bytewise order is numeric order */

    return (c > 0) - (c < 0);
}

bool cantor_u256_is_zero(const uint8_t a[32])
{
    return cantor_u256_min_len(a) == 0;
}

size_t cantor_u256_min_len(const uint8_t a[32])
{
    for (int i = 0; i < 4; i++) {
        uint64_t v = cantor_be64_get(a + 8 * i);
        if (v)
            return (size_t)(32 - 8 * i - __builtin_clzll(v) / 8);
    }
    return 0;
}

void cantor_u256_from_u64(uint64_t v, uint8_t ret[32])
{
    memset(ret, 0, 24);
    cantor_be64_put(ret + 24, v);
}

enum cantor_err cantor_u256_to_u64(const uint8_t a[32], uint64_t *ret_value)
{
    if (cantor_u256_min_len(a) > 8)
        return CANTOR_ERR_OVERFLOW;
    *ret_value = cantor_be64_get(a + 24);
    return CANTOR_OK;
}

unsigned cantor_u256_mul_small(const uint8_t a[32], unsigned m, unsigned add, uint8_t ret[32])
{
    unsigned carry = add;

    for (int i = 31; i >= 0; i--) {
        unsigned v = a[i] * m + carry;

        ret[i] = (uint8_t)v;
        carry = v >> 8;
    }
    return carry;
}

unsigned cantor_u256_div_small(const uint8_t a[32], unsigned d, uint8_t ret[32])
{
    unsigned rem = 0;

    for (int i = 0; i < 32; i++) {
        unsigned cur = (rem << 8) | a[i];

        ret[i] = (uint8_t)(cur / d);
        rem = cur % d;
    }
    return rem;
}

enum cantor_err cantor_u256_from_dec(const char *s, uint8_t ret[32])
{
    uint8_t w[32] = {0};
    size_t n;

    if (!s)
        return CANTOR_ERR_INVALID;
    n = strnlen(s, CANTOR_U256_DEC_INPUT_MAX + 1);
    if (n == 0)
        return CANTOR_ERR_INVALID;
    if (n > CANTOR_U256_DEC_INPUT_MAX)
        return CANTOR_ERR_TOO_LARGE;
    for (size_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return CANTOR_ERR_INVALID;
        if (cantor_u256_mul_small(w, 10, (unsigned)(s[k] - '0'), w))
            return CANTOR_ERR_OVERFLOW;
    }
    memcpy(ret, w, 32);
    return CANTOR_OK;
}

enum cantor_err cantor_u256_to_dec(const uint8_t a[32], char *out, size_t out_len)
{
    uint8_t w[32];
    char tmp[CANTOR_U256_DEC_MAX];
    size_t n = 0;

    if (!out || out_len < CANTOR_U256_DEC_MAX)
        return CANTOR_ERR_TOO_LARGE;
    memcpy(w, a, 32);
    /* Repeated division by 10 yields the digits least significant first. */
    do
        tmp[n++] = (char)('0' + cantor_u256_div_small(w, 10, w));
    while (!cantor_u256_is_zero(w));
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return CANTOR_OK;
}
