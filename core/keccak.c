/* keccak.c - Keccak-f[1600] and the sponge construction over it; see keccak.h. */
#include "keccak.h"

#include <stdbool.h>
#include <string.h>

const uint8_t CANTOR_KECCAK_EMPTY[CANTOR_HASH_LEN] = {
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70};
const uint8_t CANTOR_EMPTY_TRIE_ROOT[CANTOR_HASH_LEN] = {
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21};

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};

/* Lanes are little-endian: byte i of the state is byte (i % 8) of lane i / 8. */
static inline uint64_t lane_le(const uint8_t *p)
{
    uint64_t lane = 0;

    for (int b = 7; b >= 0; b--)
        lane = lane << 8 | p[b];
    return lane;
}

/*
 * One state (uint64_t lanes): nettle's generic permutation took ~700 ns per call here, this ~400; it
 * is the hot hash of every trie node and of the codec's mapping-slot search.
 */
#define KF_LANE      uint64_t
#define KF_RC(r)     keccak_rc[r]
#define KF_ROL(v, n) (((v) << (n)) | ((v) >> (64 - (n))))
#define KF_FUNC      static void keccak_f1600
#include "keccak_f1600.inc"
#undef KF_LANE
#undef KF_RC
#undef KF_FUNC

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CANTOR_KECCAK_X4 1
/* Four states at once in AVX2 vectors (GCC/clang vector extensions); used only where the CPU has it. */
typedef uint64_t v4u64 __attribute__((vector_size(32)));
#define KF_LANE  v4u64
#define KF_RC(r) ((v4u64){keccak_rc[r], keccak_rc[r], keccak_rc[r], keccak_rc[r]})
#define KF_FUNC  __attribute__((target("avx2"))) static void keccak_f1600_x4
#include "keccak_f1600.inc"
#undef KF_LANE
#undef KF_RC
#undef KF_FUNC

__attribute__((target("avx2"))) static void keccak256_64x4_avx2(const uint8_t in[4][64], uint8_t out[4][32])
{
    v4u64 s[25];

    memset(s, 0, sizeof(s));
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            s[i][j] = lane_le(in[j] + 8 * i);
    for (int j = 0; j < 4; j++) {
        s[8][j] = 0x01;                   /* Keccak padding right after the 64 bytes */
        s[16][j] = 0x8000000000000000ull; /* and the last bit of the 136-byte rate */
    }
    keccak_f1600_x4(s);
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 32; i++)
            out[j][i] = (uint8_t)(s[i / 8][j] >> (8 * (i % 8)));
}

static bool have_avx2(void)
{
    static int cached = -1; /* benign race: every thread computes the same answer */

    if (__atomic_load_n(&cached, __ATOMIC_RELAXED) < 0) {
        __builtin_cpu_init();
        __atomic_store_n(&cached, __builtin_cpu_supports("avx2") ? 1 : 0, __ATOMIC_RELAXED);
    }
    return __atomic_load_n(&cached, __ATOMIC_RELAXED) == 1;
}
#endif

void cantor_keccak256_64x4(const uint8_t in[4][64], uint8_t out[4][32])
{
#ifdef CANTOR_KECCAK_X4
    if (have_avx2()) {
        keccak256_64x4_avx2(in, out);
        return;
    }
#endif
    for (int j = 0; j < 4; j++)
        cantor_keccak256(in[j], 64, out[j]);
}

static void sponge_init(struct cantor_keccak *k, size_t rate, uint8_t pad)
{
    memset(k, 0, sizeof(*k));
    k->rate = rate;
    k->pad = pad;
}

static void absorb_block(struct cantor_keccak *k, const uint8_t *blk)
{
    for (size_t i = 0; i < k->rate / 8; i++)
        k->a[i] ^= lane_le(blk + 8 * i);
    keccak_f1600(k->a);
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
