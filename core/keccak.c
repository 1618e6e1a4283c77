/* keccak.c - sponge construction over nettle's Keccak-f[1600]; see keccak.h. */
#include "keccak.h"

#include <nettle/sha3.h>
#include <string.h>

const uint8_t CANTOR_KECCAK_EMPTY[CANTOR_HASH_LEN] = {
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70};
const uint8_t CANTOR_EMPTY_TRIE_ROOT[CANTOR_HASH_LEN] = {
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21};

static void sponge_init(struct cantor_keccak *k, size_t rate, uint8_t pad)
{
    memset(k, 0, sizeof(*k));
    k->rate = rate;
    k->pad = pad;
}

/* Lanes are little-endian: byte i of the state is byte (i % 8) of lane i / 8. */
static void absorb_block(struct cantor_keccak *k, const uint8_t *blk)
{
    struct sha3_state st;

    for (size_t i = 0; i < k->rate / 8; i++) {
        uint64_t lane = 0;

        for (int b = 7; b >= 0; b--)
            lane = lane << 8 | blk[8 * i + (size_t)b];
        k->a[i] ^= lane;
    }
    memcpy(st.a, k->a, sizeof(k->a));
    sha3_permute(&st);
    memcpy(k->a, st.a, sizeof(k->a));
}

void cantor_keccak256_init(struct cantor_keccak *k)
{
    sponge_init(k, 136, 0x01);
}

void cantor_keccak_update(struct cantor_keccak *k, const void *data, size_t len)
{
    const uint8_t *p = data;

    while (len) {
        size_t take = k->rate - k->pos;

        if (take > len)
            take = len;
        memcpy(k->block + k->pos, p, take);
        k->pos += take;
        p += take;
        len -= take;
        if (k->pos == k->rate) {
            absorb_block(k, k->block);
            k->pos = 0;
        }
    }
}

void cantor_keccak_final(struct cantor_keccak *k, uint8_t *out, size_t out_len)
{
    memset(k->block + k->pos, 0, k->rate - k->pos);
    k->block[k->pos] ^= k->pad;
    k->block[k->rate - 1] ^= 0x80;
    absorb_block(k, k->block);
    /* out_len never exceeds the rate for the digests we use, so one squeeze suffices. */
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)(k->a[i / 8] >> (8 * (i % 8)));
}

void cantor_keccak256(const void *data, size_t len, uint8_t out[CANTOR_HASH_LEN])
{
    struct cantor_keccak k;

    cantor_keccak256_init(&k);
    cantor_keccak_update(&k, data, len);
    cantor_keccak_final(&k, out, 32);
}

void cantor_sha3_256(const void *data, size_t len, uint8_t out[32])
{
    struct cantor_keccak k;

    sponge_init(&k, 136, 0x06);
    cantor_keccak_update(&k, data, len);
    cantor_keccak_final(&k, out, 32);
}

void cantor_sha3_512(const void *data, size_t len, uint8_t out[64])
{
    struct cantor_keccak k;

    sponge_init(&k, 72, 0x06);
    cantor_keccak_update(&k, data, len);
    cantor_keccak_final(&k, out, 64);
}
