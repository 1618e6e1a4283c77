/*
 * be.h - big-endian fixed-width integers in byte buffers: store keys and records, chunk and bundle
 * fields, and the limbs of 256-bit words (core/u256). Inline: the codec runs them for every value.
 * Caller-owned buffers; no allocation; the result does not depend on the host's byte order.
 */
#ifndef CANTOR_CORE_BE_H
#define CANTOR_CORE_BE_H

#include <stdint.h>

static inline void cantor_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static inline uint64_t cantor_be64_get(const uint8_t in[8])
{
    return (uint64_t)in[0] << 56 | (uint64_t)in[1] << 48 | (uint64_t)in[2] << 40 | (uint64_t)in[3] << 32 |
           (uint64_t)in[4] << 24 | (uint64_t)in[5] << 16 | (uint64_t)in[6] << 8 | (uint64_t)in[7];
}

static inline void cantor_be32_put(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static inline uint32_t cantor_be32_get(const uint8_t in[4])
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

#endif
