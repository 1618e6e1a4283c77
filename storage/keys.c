/* keys.c - key encodings of the store layout; see keys.h. */
#include "storage/keys.h"

#include <string.h>

#include "core/delta.h"

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
