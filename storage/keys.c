/* keys.c - key encodings of the store layout; see keys.h. */
#include "storage/keys.h"

#include <string.h>

#include "core/delta.h"

void cantor_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t cantor_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

void cantor_be32_put(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

uint32_t cantor_be32_get(const uint8_t in[4])
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

enum cantor_err cantor_key_state(const uint8_t addr[20], uint8_t kind, const uint8_t *slot,
                                 uint8_t out[CANTOR_KEY_STATE_LEN])
{
    if (!addr || kind > CANTOR_KIND_STORAGE || (kind == CANTOR_KIND_STORAGE && !slot))
        return CANTOR_ERR_INVALID;
    memcpy(out, addr, 20);
    out[20] = kind;
    /* Non-storage keys always carry a zero slot so one key has exactly one encoding. */
    if (kind == CANTOR_KIND_STORAGE)
        memcpy(out + 21, slot, 32);
    else
        memset(out + 21, 0, 32);
    return CANTOR_OK;
}

void cantor_key_history(const uint8_t state_key[CANTOR_KEY_STATE_LEN], uint64_t block,
                        uint8_t out[CANTOR_KEY_HISTORY_LEN])
{
    memcpy(out, state_key, CANTOR_KEY_STATE_LEN);
    cantor_be64_put(out + CANTOR_KEY_STATE_LEN, block);
}

void cantor_key_header(uint64_t block, uint8_t out[CANTOR_KEY_HEADER_LEN])
{
    out[0] = 'n';
    cantor_be64_put(out + 1, block);
}

void cantor_key_hash(const uint8_t hash[32], uint8_t out[CANTOR_KEY_HASH_LEN])
{
    out[0] = 'h';
    memcpy(out + 1, hash, 32);
}
