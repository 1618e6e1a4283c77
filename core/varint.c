/* varint.c - strict unsigned LEB128 and zigzag (see varint.h). No allocation beyond the caller's buf. */
#include "varint.h"

size_t cantor_varint_encode(uint64_t v, uint8_t out[CANTOR_VARINT_MAX])
{
    size_t n = 0;

    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

enum cantor_err cantor_varint_append(struct cantor_buf *b, uint64_t v)
{
    uint8_t tmp[CANTOR_VARINT_MAX];

    return cantor_buf_append(b, tmp, cantor_varint_encode(v, tmp));
}

enum cantor_err cantor_varint_decode(const uint8_t *buf, size_t len, uint64_t *ret_value,
                                     size_t *ret_consumed)
{
    uint64_t v = 0;

    for (size_t i = 0; i < CANTOR_VARINT_MAX; i++) {
        uint8_t c;

        if (i >= len)
            return CANTOR_ERR_TRUNCATED;
        c = buf[i];
        /* The 10th byte holds bit 63 only. */
        if (i == CANTOR_VARINT_MAX - 1 && c > 1)
            return CANTOR_ERR_OVERFLOW;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            if (c == 0 && i > 0)
                return CANTOR_ERR_INVALID; /* overlong: a trailing zero group */
            *ret_value = v;
            *ret_consumed = i + 1;
            return CANTOR_OK;
        }
    }
    return CANTOR_ERR_OVERFLOW;
}

uint64_t cantor_zigzag_encode(int64_t v)
{
    /* Unsigned shifts: shifting a negative value left is undefined, right implementation-defined. */
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

int64_t cantor_zigzag_decode(uint64_t v)
{
    return (int64_t)((v >> 1) ^ (~(v & 1) + 1));
}
