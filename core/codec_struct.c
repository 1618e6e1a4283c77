/*
 * codec_struct.c - the structural layer: a canonical delta as a sequence of typed symbols, each coded
 * as binary decisions by the context-mixing engine and the range coder.
 *
 * Layout of a CM payload (all symbols adaptive-coded, docs/design.md "Compression"):
 *   code blobs (count, then length + bytes; hashes are recomputed), address list (count, then per
 *   address: learned-dictionary ref | warm ref | literal), then per address: which of balance /
 *   nonce / code changed, the number of storage slots, and the values. Slots are
 *   small integers (delta to the previous small slot), keccak(key . index) / keccak(index . key)
 *   mapping slots with key = an address of the block or an address-shaped value seen so far,
 *   keccak(p) + offset array slots, learned-dictionary slots, warm refs (slots of the address seen
 *   in earlier blocks), or literals. Values are zero, small, a copy of a recent value, an address
 *   of the block, old +/- delta, a known word (empty code hash, code of this delta) or a literal
 *   coded byte by byte with the old value's byte as context; new values also: old +/- a recent
 *   change of the chunk (transfers), old +/- (such a change +/- a residual: a transfer's other side,
 *   off by its fee), for a balance old minus the block's balance changes so far +/- a residual
 *   (a block's balance changes sum to minus the burned base fee), old +/- a wide delta, a value the
 *   chunk showed before, the Uniswap V2 cumulative price recomputed from the reserves slot, or a
 *   packed reserves word field by field (docs/design.md, "Value rules"). Every numeric magnitude
 *   (small, old +/- delta, literal, old +/- wide delta) is coded as m * 10^e: round decimal amounts
 *   are common.
 * Hashed slots and the tail of literal addresses are coded flat (8 bits a byte, no model): nothing
 * predicts them and the models cost time. Code bytes get order-1..3 contexts plus a match model over
 * earlier code (the warm stream's, or this chunk's) that codes repeated bytes as runs.
 * In warm mode the old value of a key comes from the context or the caller's state lookup (asked
 * only after the key is coded), so it costs one "matches" bit.
 * Encoder and decoder run the same functions (mode flag), so they cannot drift apart.
 * The encoder's search for mapping slots is bounded and tiered: indexes 0..3 of every candidate key
 * first, 4..9 when a slot is still unresolved, deep indexes only for contracts training saw use them
 * (find_hit), at most MAX_CANDS candidate keys per chunk.
 *
 * Memory: all state lives in struct sc and is freed before returning; the decoder's sizes are
 * bounded by max_entries (derived from the container's raw length).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "codec_internal.h"
#include "keccak.h"
#include "u256.h"

/* ---------------- kmap ---------------- */
/* Table placement only (find returns insertion indexes), so host byte order cannot change output. */
static uint64_t key_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, k + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ k[i]) * 0x100000001b3ull;
    return h ^ (h >> 32);
}

void cantor_kmap_init(struct cantor_kmap *km, size_t klen, size_t max)
{
    memset(km, 0, sizeof(*km));
    km->klen = klen;
    km->max = max;
}

void cantor_kmap_release(struct cantor_kmap *km)
{
    if (!km)
        return;
    free(km->keys);
    free(km->slots);
    km->keys = NULL;
    km->slots = NULL;
    km->n = km->cap = km->nslots = 0;
}

void cantor_kmap_clear(struct cantor_kmap *km)
{
    km->n = 0;
    if (km->slots)
        memset(km->slots, 0, km->nslots * sizeof(uint32_t));
}

long cantor_kmap_find(const struct cantor_kmap *km, const uint8_t *key)
{
    size_t i;

    if (!km->nslots)
        return -1;
    i = (size_t)key_hash(key, km->klen) & (km->nslots - 1);
    while (km->slots[i]) {
        size_t idx = km->slots[i] - 1;
        if (memcmp(km->keys + idx * km->klen, key, km->klen) == 0)
            return (long)idx;
        i = (i + 1) & (km->nslots - 1);
    }
    return -1;
}

static enum cantor_err kmap_rehash(struct cantor_kmap *km, size_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof(uint32_t));

    if (!s)
        return CANTOR_ERR_NOMEM;
    for (size_t j = 0; j < km->n; j++) {
        size_t i = (size_t)key_hash(km->keys + j * km->klen, km->klen) & (nslots - 1);
        while (s[i])
            i = (i + 1) & (nslots - 1);
        s[i] = (uint32_t)(j + 1);
    }
    free(km->slots);
    km->slots = s;
    km->nslots = nslots;
    return CANTOR_OK;
}

enum cantor_err cantor_kmap_put(struct cantor_kmap *km, const uint8_t *key, size_t *ret_idx, bool *ret_new)
{
    long f = cantor_kmap_find(km, key);
    size_t i;
    enum cantor_err err;

    if (ret_new)
        *ret_new = f < 0;
    if (f >= 0) {
        if (ret_idx)
            *ret_idx = (size_t)f;
        return CANTOR_OK;
    }
    if (km->n >= km->max)
        return CANTOR_ERR_TOO_LARGE;
    if (km->n == km->cap) {
        size_t nc = km->cap ? km->cap * 2 : 64;
        uint8_t *k = realloc(km->keys, nc * km->klen);
        if (!k)
            return CANTOR_ERR_NOMEM;
        km->keys = k;
        km->cap = nc;
    }
    if ((km->n + 1) * 2 > km->nslots) {
        err = kmap_rehash(km, km->nslots ? km->nslots * 2 : 128);
        if (err)
            return err;
    }
    memcpy(km->keys + km->n * km->klen, key, km->klen);
    i = (size_t)key_hash(key, km->klen) & (km->nslots - 1);
    while (km->slots[i])
        i = (i + 1) & (km->nslots - 1);
    km->slots[i] = (uint32_t)(km->n + 1);
    if (ret_idx)
        *ret_idx = km->n;
    km->n++;
    return CANTOR_OK;
}

/* ---------------- structural coder ---------------- */
#define MAP_IDX       32 /* keccak(key . idx), idx < MAP_IDX (Solidity order) */
#define MAPV_IDX      8  /* keccak(idx . key) (Vyper order) */
#define MAP_SHALLOW   10 /* indexes below this are searched for every key of every block */
#define ARR_OFF       (1u << 16)
#define MAX_CANDS     4096
#define MRU_N         16
#define MAX_CODE_SYMS (1u << 20)
#define LCODE_BITS    14 /* match table of the code within one chunk (the stream's is larger) */
#define ADDR_MODELLED 4  /* leading bytes of a literal address that go through the models (vanity zeros) */

enum field {
    F_PSWAP = 0, /* V_PACK reserve1 from the swap / liquidity rule: kind, sign, residual */
    F_NCODES = 1,
    F_CODELEN,
    F_CODEBYTE,
    F_CODEBYTE_MISS, /* a literal right after a match run ends */
    F_NADDR,
    F_ATYPE,
    F_AREF,
    F_ALIT,
    F_FLAGS,
    F_NSLOT,
    F_STYPE,
    F_SSMALL,
    F_SKEY,
    F_SIDX,
    F_SLIT,
    F_SREF,
    F_WOLD,
    F_CODERUN,
    F_ALIT2,       /* address bytes after the first */
    F_AREF2,       /* learned-dictionary address refs */
    F_SREF2,       /* warm slot refs */
    F_SSMALL2,     /* array slot offsets */
    F_SOFF,        /* struct member offsets of S_MAPO */
    F_VDEC = 24,   /* + kind * 2 + which: a <= 64-bit magnitude has decimal zeros (+ 256: how many) */
    F_VTYPE = 32,  /* + kind * 2 + which */
    F_VSMALL = 48, /* + kind * 2 + which */
    F_VLIT = 64,
    F_VREF = 80,
    F_VNLZ = 96,
    F_PACK = 112,     /* .. 119 */
    F_VDECW = 120,    /* + kind * 2 + which: the same for wide magnitudes */
    F_INT_MANT = 128, /* + field of the integer */
};

/* S_MAPO: keccak(key . idx) + off, 1 <= off <= MAPO_MAX: a member of a struct in a mapping */
enum slot_type { S_SMALL, S_MAP, S_MAPV, S_ARR, S_DICT, S_WARM, S_LIT, S_MAPO, S__N };
#define MAPO_MAX 7
/* V_DMRU: new = old +/- a recent large change of this block (a transfer's two sides, a deposit) */
/* V_DBIG_*: new = old +/- a change wider than 64 bits (token amounts), its bytes coded literally */
/* V_PRED: the value a known contract rule computes from values coded before (see pair_predict) */
/* V_PACK: a (timestamp 32 | 112 | 112) packed word (Uniswap V2 reserves), each field coded apart */
enum val_type {
    V_ZERO,
    V_SMALL,
    V_MRU,
    V_ADDR,
    V_DELTA_UP,
    V_DELTA_DOWN,
    V_KNOWN,
    V_LIT,
    V_DMRU,
    V_DBIG_UP,
    V_DBIG_DOWN,
    V_PRED,
    V_PACK,
    V_NVAL,   /* a value this chunk showed before (a new value, or a field of a V_PACK word) */
    V_DMRU_R, /* new = old +/- (a recent large change +/- a small residual): a transfer's other side */
    V_CONS,   /* balance: old - (this block's balance changes so far) +/- a residual (the burn) */
    V__N
};
enum pack_type { P_SAME, P_VAL, P_DMRU, P_DELTA, P_SWAP };
#define PACK_TYPE_BITS 3
#define SWAP_RESID_MAX (1u << 24) /* a larger residual is coded as P_DELTA */
#define NEWVALS_MAX    (1u << 16) /* new values of the chunk kept for P_VAL refs */
#define RECENT_N       4          /* storage entries of the current address kept for pair_predict */
#define VTYPE_BITS     4
#define DMRU_N         32
#define DMRU_MIN       3 /* a change of fewer significant bytes is cheaper as V_DELTA_* */
/* the kinds whose values try V_DMRU_R */
#define DMRU_R_KINDS  ((1u << CANTOR_KIND_BALANCE) | (1u << CANTOR_KIND_STORAGE))
#define DMRU_R_BOUND  48 /* V_DMRU_R residual bits at most (a fee: gas x price) */
#define DMRU_R_MARGIN 2  /* bits V_DMRU_R must save over the plain choice */
#define CONS_BOUND    48 /* V_CONS residual bits at most */
#define CONS_MARGIN   2
_Static_assert(V__N <= (1u << VTYPE_BITS), "VTYPE_BITS too small for enum val_type");
enum addr_type { A_LIT, A_DICT, A_WARM };

enum sc_mode { M_ENC, M_DEC };

struct slot_hit {
    uint8_t type;
    uint32_t key, idx;
};

struct sc {
    enum sc_mode mode;
    struct cantor_cm *cm;
    struct cantor_codec_model *model;
    struct cantor_codec_ctx *warm;
    struct cantor_rc_enc re;
    struct cantor_rc_dec rd;
    enum cantor_err err;
    /* block state, rebuilt identically by both sides */
    struct cantor_kmap cands; /* 32-byte mapping keys (padded addresses) */
    struct cantor_kmap hits;  /* encoder: slot -> index into hit */
    struct slot_hit *hit;
    size_t hit_cap;
    uint8_t exp[MAX_CANDS], exp_v[MAX_CANDS]; /* encoder: per candidate, expanded index limit / Vyper */
    uint32_t tier_lim;                        /* encoder: current expansion limit for all candidates */
    bool tier_v;
    bool training;                               /* search every tier, learn model->deep */
    uint32_t deep_n[MAP_IDX], deepv_n[MAPV_IDX]; /* encoder: candidates expanded per deep index */
    uint32_t shallow_n[2]; /* encoder: candidates whose indexes < tiers 0, 1 are in model->rmemo */
    uint8_t mru[MRU_N][32];
    unsigned mru_n;
    uint8_t dmru[DMRU_N][32]; /* magnitudes |new - old| of recent large changes, most recent first */
    unsigned dmru_n;
    uint8_t bsum[32]; /* sum mod 2^256 of this block's balance changes new - old so far */
    /* the last storage entries of the current address (slot, old, new), for pair_predict */
    uint8_t rec_addr[20];
    struct cantor_delta_entry recent[RECENT_N];
    unsigned n_recent;
    struct cantor_kmap newvals; /* distinct new values of this chunk, first-seen order */
    uint8_t pred[2][32];        /* V_PRED's values for the new value being coded, when pred_ok[i] */
    bool pred_ok[2];
    uint8_t (*known)[32]; /* V_KNOWN words: empty code hash, then the delta's code hashes */
    size_t n_known;
    uint32_t prev_vtype[8], prev_stype;
    struct cantor_codec_breakdown *bd; /* encoder accounting, or NULL */
    struct cantor_codehist lcode;      /* code blobs of this chunk so far */
    unsigned part;
};

static inline uint32_t mix32(uint32_t a, uint32_t b)
{
    uint32_t h = (a ^ 0x9e3779b9u) * 0x85ebca6bu;
    h ^= b + 0x7f4a7c15u + (h << 6) + (h >> 2);
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

/* Context hashes feed the models, so this one is byte-order independent (FNV-1a). */
static uint32_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return (uint32_t)(h ^ (h >> 29));
}

static int cbit(struct sc *s, const struct cantor_pctx *c, int bit)
{
    int p = cantor_cm_predict(s->cm, c);

    if (s->mode == M_DEC) {
        bit = cantor_rc_dec_bit(&s->rd, p);
    } else {
        cantor_rc_enc_bit(&s->re, p, bit);
        if (s->bd) {
            s->bd->bits[s->part] -= log2((bit ? p : 4096 - p) / 4096.0);
            s->bd->decisions[s->part]++;
        }
    }
    cantor_cm_update(s->cm, c, bit);
    return bit;
}

static void set_ctx(struct cantor_pctx *c, uint32_t field, const uint32_t *cx, unsigned n)
{
    c->field = field;
    c->n_ctx = n;
    for (unsigned i = 0; i < n; i++)
        c->ctx[i] = mix32(field * 16 + i, cx[i]);
}

/* A symbol of nbits bits, MSB first, through a binary tree. */
static uint32_t csym(struct sc *s, uint32_t field, unsigned nbits, uint32_t v, const uint32_t *cx, unsigned n)
{
    struct cantor_pctx c;
    uint32_t node = 1;

    set_ctx(&c, field, cx, n);
    for (int b = (int)nbits - 1; b >= 0; b--) {
        c.node = node;
        node = node * 2 + (uint32_t)cbit(s, &c, (int)((v >> b) & 1));
    }
    return node - (1u << nbits);
}

/*
 * An unsigned integer: bit length (0..64) as a symbol, then the bits below the leading one in groups
 * of up to 4 (each group a small tree whose context is the length and the group's position), so the
 * top bits and the low bits (gas-price multiples end in zeros) both get their own statistics.
 */
static uint64_t cint(struct sc *s, uint32_t field, uint64_t v, const uint32_t *cx, unsigned n)
{
    unsigned nb = 0, left, gi = 0;
    uint64_t r = 1;
    uint32_t cm[2];

    if (s->mode == M_ENC)
        for (uint64_t t = v; t; t >>= 1)
            nb++;
    nb = csym(s, field, 7, nb, cx, n);
    if (nb == 0)
        return 0;
    if (nb > 64) {
        s->err = CANTOR_ERR_CORRUPT;
        return 0;
    }
    n = n < 2 ? n : 2;
    for (left = nb - 1; left > 0; gi++) {
        unsigned g = left < 4 ? left : 4;
        uint32_t gv;
        left -= g;
        cm[0] = (nb << 8) | gi;
        for (unsigned i = 0; i < n; i++)
            cm[i] = mix32(cx[i], (nb << 8) | gi);
        gv = csym(s, F_INT_MANT + field, g, (uint32_t)(v >> left) & ((1u << g) - 1), cm, n ? n : 1);
        r = (r << g) | gv;
    }
    return r;
}

/* Literal bytes [from, len) of w; ref (optional) is a word whose bytes predict w's. */
static void cbytes(struct sc *s, uint32_t field, uint8_t *w, size_t from, size_t len, const uint8_t *ref,
                   uint32_t cx0, unsigned n_ctx)
{
    uint32_t cx[4];
    uint8_t prev = 0;

    for (size_t i = from; i < len; i++) {
        cx[0] = (uint32_t)i;
        cx[1] = mix32((uint32_t)i, prev);
        cx[2] = mix32((uint32_t)i | 0x100, ref ? ref[i] : 0x1ff);
        cx[3] = mix32(cx0, (uint32_t)i);
        w[i] = (uint8_t)csym(s, field, 8, w[i], cx, n_ctx);
        prev = w[i];
    }
}

/*
 * Bytes that no context predicts (hashed slots, the tail of an address): coded at p = 1/2 without
 * touching the models. Costs exactly 8 bits a byte, which is what the models learn for them anyway,
 * at a fraction of the time.
 */
static void cflat(struct sc *s, uint8_t *w, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++) {
        unsigned v = 0;
        for (int b = 7; b >= 0; b--) {
            int bit = (w[i] >> b) & 1;
            if (s->mode == M_DEC)
                bit = cantor_rc_dec_bit(&s->rd, 2048);
            else
                cantor_rc_enc_bit(&s->re, 2048, bit);
            v = (v << 1) | (unsigned)bit;
        }
        if (s->bd)
            s->bd->bits[s->part] += 8;
        w[i] = (uint8_t)v;
    }
}

static bool word_to_u64(const uint8_t w[32], uint64_t *ret)
{
    return cantor_u256_to_u64(w, ret) == CANTOR_OK;
}

static unsigned nlz_bytes(const uint8_t w[32])
{
    return 32 - (unsigned)cantor_u256_min_len(w);
}

/* Whether two words agree in their top 24 bytes (inline: runs for every recent change per value). */
static inline bool same_top24(const uint8_t *x, const uint8_t *y)
{
    uint64_t a[3], b[3];

    memcpy(a, x, 24);
    memcpy(b, y, 24);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2])) == 0;
}

/* a - b for 32-byte big-endian words; returns false when the result is negative or does not fit 64 bits. */
static bool word_sub_u64(const uint8_t a[32], const uint8_t b[32], uint64_t *ret)
{
    uint8_t d[32];

    return !cantor_u256_sub(a, b, d) && word_to_u64(d, ret);
}

/* w = a + v (dir > 0) or a - v; false on overflow/underflow (corrupt input on the decoder side). */
static bool word_add_u64(const uint8_t a[32], uint64_t v, int dir, uint8_t w[32])
{
    uint8_t t[32];

    cantor_u256_from_u64(v, t);
    return !(dir > 0 ? cantor_u256_add(a, t, w) : cantor_u256_sub(a, t, w));
}

static unsigned bitlen64(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0;
}

/* ---------------- decimal scale ---------------- */
/*
 * People choose round decimal amounts (1 ETH, 20 tokens, 10^6 units) and gas prices were whole gwei
 * for years, so many values and changes end in decimal zeros: a factor 5^e that no binary context
 * sees. A magnitude is coded as (e, m), value = m * 10^e; the encoder strips the trailing zeros when
 * there are at least DEC_MIN (up to DEC_MAX64 / DEC_MAXW), the decoder accepts any e up to the
 * maximum and checks that the product fits.
 */
#define DEC_MAX64 19
#define DEC_MAXW  63
#define DEC_MIN   3   /* fewer zeros are left in: by chance, one value in ten ends in a zero */
#define F_DEC_E   256 /* field offset of the exponent symbol: same mixer rows (field mod 128) */

static uint64_t pow10_u64(unsigned e)
{
    uint64_t p = 1;

    while (e--)
        p *= 10;
    return p;
}

static unsigned strip10_u64(uint64_t *v)
{
    uint64_t m = *v;
    unsigned e = 0;

    while (m && m % 10 == 0 && e < DEC_MAX64) {
        m /= 10;
        e++;
    }
    if (e < DEC_MIN)
        return 0;
    *v = m;
    return e;
}

static unsigned strip10_word(uint8_t w[32])
{
    uint8_t m[32], q[32];
    unsigned e = 0;

    if (w[31] & 1 || nlz_bytes(w) == 32)
        return 0;
    memcpy(m, w, 32);
    while (e < DEC_MAXW && cantor_u256_div_small(m, 10, q) == 0) {
        memcpy(m, q, 32);
        e++;
    }
    if (e < DEC_MIN)
        return 0;
    memcpy(w, m, 32);
    return e;
}

/* w *= 10^e; false when the product does not fit 256 bits. */
static bool word_mul10(uint8_t w[32], unsigned e)
{
    for (; e; e--)
        if (cantor_u256_mul_small(w, 10, 0, w))
            return false;
    return true;
}

/* What the encoder's choices compare: significant bits (bytes) once the decimal zeros are gone. */
static unsigned dec_bits64(uint64_t v)
{
    unsigned e = strip10_u64(&v);

    return bitlen64(v) + (e ? 3 : 0);
}

static unsigned dec_bytes(const uint8_t w[32])
{
    uint8_t t[32];

    memcpy(t, w, 32);
    strip10_word(t);
    return 32 - nlz_bytes(t);
}

/* Whether there is an exponent (field efield), then which (efield + F_DEC_E): one decision for the many
 * magnitudes without decimal zeros. */
static unsigned cdec_exp(struct sc *s, uint32_t efield, unsigned e, unsigned emax, unsigned ebits,
                         const uint32_t *cx, unsigned n)
{
    unsigned has = csym(s, efield, 1, e > 0, cx, n);

    if (!has)
        return 0;
    e = csym(s, efield + F_DEC_E, ebits, e - 1, cx, n) + 1;
    if (e > emax)
        s->err = CANTOR_ERR_CORRUPT;
    return e;
}

/* A magnitude of at most 64 bits as (e, m): cint of the mantissa, with e in its first context. */
static uint64_t cdec64(struct sc *s, uint32_t field, uint32_t efield, uint64_t v, const uint32_t *cx,
                       unsigned n)
{
    uint32_t c2[8];
    uint64_t m = v;
    unsigned e = 0;

    if (s->mode == M_ENC)
        e = strip10_u64(&m);
    e = cdec_exp(s, efield, e, DEC_MAX64, 5, cx, n < 3 ? n : 3);
    if (s->err)
        return 0;
    memcpy(c2, cx, n * sizeof(*c2));
    c2[0] = mix32(cx[0], e);
    m = cint(s, field, m, c2, n);
    if (m > UINT64_MAX / pow10_u64(e)) {
        s->err = CANTOR_ERR_CORRUPT;
        return 0;
    }
    return m * pow10_u64(e);
}

/*
 * A wide magnitude as (e, m): the mantissa's leading zero bytes, then its bytes. ref (the old value)
 * is a context for the bytes only when nothing was stripped: only then do they line up. The encoder
 * reads w, the decoder writes it.
 */
static void cdecw(struct sc *s, uint32_t efield, uint32_t nlz_field, uint32_t lit_field, uint8_t w[32],
                  const uint8_t *ref, uint32_t key_h, const uint32_t *cx)
{
    uint32_t c2[4];
    uint8_t m[32] = {0};
    unsigned e = 0, nlz = 0;

    if (s->mode == M_ENC) {
        memcpy(m, w, 32);
        e = strip10_word(m);
        nlz = nlz_bytes(m);
    }
    e = cdec_exp(s, efield, e, DEC_MAXW, 6, cx, 3);
    if (s->err)
        return;
    memcpy(c2, cx, sizeof(c2));
    c2[0] = mix32(cx[0], e);
    nlz = csym(s, nlz_field, 6, nlz, c2, 4);
    if (nlz > 32) {
        s->err = CANTOR_ERR_CORRUPT;
        return;
    }
    cbytes(s, lit_field, m, nlz, 32, e ? NULL : ref, e ? mix32(key_h, e) : key_h, 4);
    if (s->mode == M_ENC)
        return;
    if (!word_mul10(m, e)) {
        s->err = CANTOR_ERR_CORRUPT;
        return;
    }
    memcpy(w, m, 32);
}

static void mru_push_in(uint8_t (*mru)[32], unsigned *n, unsigned cap, const uint8_t w[32])
{
    unsigned i;

    for (i = 0; i < *n; i++)
        if (memcmp(mru[i], w, 32) == 0)
            break;
    if (i == *n && *n < cap)
        (*n)++;
    if (i == cap)
        i = cap - 1;
    memmove(mru[1], mru[0], (size_t)i * 32);
    memcpy(mru[0], w, 32);
}

static void mru_push(struct sc *s, const uint8_t w[32])
{
    mru_push_in(s->mru, &s->mru_n, MRU_N, w);
}

/* w = a + d (up) or a - d; false on wrap. */
static bool word_add(const uint8_t a[32], const uint8_t d[32], bool up, uint8_t w[32])
{
    return !(up ? cantor_u256_add(a, d, w) : cantor_u256_sub(a, d, w));
}

/*
 * keccak of a mapping-slot preimage through the model's memo (address, order, index -> hash): the
 * same contracts and holders recur block after block, and a keccak costs ~20x a table lookup.
 * Encoder only; a full memo is emptied, which changes speed, never output.
 */
static void slot_keccak(struct sc *s, const uint8_t *buf, uint8_t type, uint32_t idx, uint8_t h[32])
{
    struct cantor_codec_model *m = s->model;
    uint8_t k[CANTOR_KMEMO_KEY];
    size_t i;
    long f;
    bool fresh;

    memcpy(k, type == S_MAP ? buf + 12 : buf + 44, 20);
    k[20] = type;
    k[21] = (uint8_t)idx;
    f = cantor_kmap_find(&m->kmemo, k);
    if (f >= 0) {
        memcpy(h, m->kmemo_val[f], 32);
        return;
    }
    cantor_keccak256(buf, 64, h);
    if (m->kmemo.n >= m->kmemo.max)
        cantor_kmap_clear(&m->kmemo);
    if (cantor_kmap_put(&m->kmemo, k, &i, &fresh) == CANTOR_OK && fresh)
        memcpy(m->kmemo_val[i], h, 32);
}

static void add_hit(struct sc *s, const uint8_t *buf, uint8_t type, uint32_t key, uint32_t idx)
{
    uint8_t h[32];
    size_t hi;
    bool fresh;

    slot_keccak(s, buf, type, idx, h);
    s->err = cantor_kmap_put(&s->hits, h, &hi, &fresh);
    if (s->err || !fresh)
        return;
    if (hi >= s->hit_cap) {
        size_t nc = s->hit_cap ? s->hit_cap * 2 : 1024;
        struct slot_hit *p = realloc(s->hit, nc * sizeof(*p));
        if (!p) {
            s->err = CANTOR_ERR_NOMEM;
            return;
        }
        s->hit = p;
        s->hit_cap = nc;
    }
    s->hit[hi] = (struct slot_hit){type, key, idx};
}

/*
 * Encoder: make sure every candidate key is expanded into the slot -> (key, idx) table for mapping
 * indexes below lim (and the Vyper order when vyper). Expansion is lazy and tiered (indexes 0..3
 * first, more only when a slot is not found) because each entry costs a keccak; the decoder never
 * searches, so this is an encoder-only speed trade.
 */
static void expand_cands(struct sc *s, uint32_t lim, bool vyper)
{
    uint8_t buf[64];

    if (s->mode != M_ENC)
        return;
    if (lim > s->tier_lim)
        s->tier_lim = lim;
    s->tier_v |= vyper;
    for (size_t c = 0; c < s->cands.n && !s->err; c++) {
        const uint8_t *k = cantor_kmap_key(&s->cands, c);
        memset(buf, 0, sizeof(buf));
        memcpy(buf, k, 32);
        for (uint32_t idx = s->exp[c]; idx < s->tier_lim && !s->err; idx++) {
            buf[63] = (uint8_t)idx;
            add_hit(s, buf, S_MAP, (uint32_t)c, idx);
        }
        s->exp[c] = (uint8_t)s->tier_lim;
        if (s->tier_v && !s->exp_v[c]) {
            memset(buf, 0, sizeof(buf));
            memcpy(buf + 32, k, 32);
            for (uint32_t idx = 0; idx < MAPV_IDX && !s->err; idx++) {
                buf[31] = (uint8_t)idx;
                add_hit(s, buf, S_MAPV, (uint32_t)c, idx);
            }
            s->exp_v[c] = 1;
        }
    }
}

/* Encoder: expand every candidate (not yet done) at one deep index, Solidity or Vyper order. */
static void expand_deep(struct sc *s, uint32_t idx, bool vyper)
{
    uint32_t *done = vyper ? &s->deepv_n[idx] : &s->deep_n[idx];
    uint8_t buf[64];

    for (size_t c = *done; c < s->cands.n && !s->err; c++) {
        memset(buf, 0, sizeof(buf));
        if (!vyper) {
            memcpy(buf, cantor_kmap_key(&s->cands, c), 32);
            buf[63] = (uint8_t)idx;
        } else {
            buf[31] = (uint8_t)idx;
            memcpy(buf + 32, cantor_kmap_key(&s->cands, c), 32);
        }
        add_hit(s, buf, vyper ? S_MAPV : S_MAP, (uint32_t)c, idx);
    }
    *done = (uint32_t)s->cands.n;
}

/*
 * Encoder, shallow tiers: make model->rmemo hold keccak(key . idx) for idx < lim of every candidate
 * (those after shallow_n[tier]); a key whose indexes an earlier block already expanded costs one
 * lookup. A full memo is emptied and the pass restarts (it then has room for every candidate).
 */
static void shallow_expand(struct sc *s, unsigned tier, uint32_t lim)
{
    struct cantor_codec_model *m = s->model;

    for (size_t c = s->shallow_n[tier]; c < s->cands.n && !s->err; c++) {
        const uint8_t *k = cantor_kmap_key(&s->cands, c);
        size_t di;
        bool fresh;
        if (m->rmemo.n + MAP_IDX > m->rmemo.max || m->rdone.n >= m->rdone.max) {
            cantor_kmap_clear(&m->rmemo);
            cantor_kmap_clear(&m->rdone);
            s->shallow_n[0] = s->shallow_n[1] = 0;
            c = (size_t)-1; /* again from the first candidate */
            continue;
        }
        if (cantor_kmap_put(&m->rdone, k + 12, &di, &fresh) != CANTOR_OK)
            continue; /* cannot happen below the cap; the slot is then coded otherwise */
        if (fresh)
            m->rdone_lim[di] = 0;
        for (uint32_t idx = m->rdone_lim[di]; idx < lim; idx += 4) { /* four keccaks at once */
            uint8_t pre[4][64] = {{0}}, h[4][32];
            for (unsigned j = 0; j < 4; j++) {
                memcpy(pre[j], k, 32);
                pre[j][63] = (uint8_t)(idx + j);
            }
            cantor_keccak256_64x4((const uint8_t(*)[64])pre, h);
            for (unsigned j = 0; j < 4 && idx + j < lim; j++) {
                size_t ri;
                if (cantor_kmap_put(&m->rmemo, h[j], &ri, &fresh) == CANTOR_OK && fresh) {
                    memcpy(m->rmemo_val[ri], k + 12, 20);
                    m->rmemo_val[ri][20] = (uint8_t)(idx + j);
                }
            }
        }
        if (m->rdone_lim[di] < lim)
            m->rdone_lim[di] = (uint8_t)lim;
    }
    s->shallow_n[tier] = (uint32_t)s->cands.n;
}

/* Encoder: slot = keccak(candidate . idx) with idx < lim, from the reverse memo. */
static bool shallow_find(struct sc *s, const uint8_t slot[32], uint32_t lim, struct slot_hit *ret)
{
    struct cantor_codec_model *m = s->model;
    uint8_t k[32] = {0};
    long r = cantor_kmap_find(&m->rmemo, slot), c;

    if (r < 0 || m->rmemo_val[r][20] >= lim)
        return false;
    memcpy(k + 12, m->rmemo_val[r], 20);
    c = cantor_kmap_find(&s->cands, k);
    if (c < 0)
        return false;
    *ret = (struct slot_hit){S_MAP, (uint32_t)c, m->rmemo_val[r][20]};
    return true;
}

/*
 * Encoder: the slot's (key, index) if it is a mapping slot of a candidate key. Indexes 0..9 are
 * tried for every contract; the deep ones (10..31, and the Vyper order) only where training saw
 * this contract use them (model->deep), because expanding them for every key of every block was
 * most of the encoder's keccaks for ~0.2% of the bytes. Training itself searches everything.
 */
static bool find_hit(struct sc *s, const uint8_t contract[20], const uint8_t slot[32], struct slot_hit *ret)
{
    static const uint32_t tiers[] = {4, MAP_SHALLOW, MAP_IDX};
    uint8_t dk[21];
    long f = -1;

    if (s->training) {
        expand_cands(s, tiers[0], false);
        f = cantor_kmap_find(&s->hits, slot);
        if (f < 0 && !s->err) {
            expand_cands(s, tiers[1], false);
            f = cantor_kmap_find(&s->hits, slot);
        }
        if (f < 0 && !s->err) {
            expand_cands(s, tiers[2], true);
            f = cantor_kmap_find(&s->hits, slot);
            if (f >= 0 && (s->hit[f].idx >= tiers[1] || s->hit[f].type == S_MAPV)) {
                memcpy(dk, contract, 20);
                dk[20] = (uint8_t)(s->hit[f].idx | (s->hit[f].type == S_MAPV ? 0x80 : 0));
                (void)cantor_kmap_put(&s->model->deep, dk, NULL, NULL); /* full: stop learning */
            }
        }
        if (f >= 0)
            *ret = s->hit[f];
        return f >= 0;
    }
    for (unsigned t = 0; t < 2 && !s->err; t++) {
        shallow_expand(s, t, tiers[t]);
        if (shallow_find(s, slot, tiers[1], ret))
            return true;
    }
    memcpy(dk, contract, 20);
    for (uint32_t i = 0; i < MAP_IDX + MAPV_IDX && f < 0 && !s->err; i++) {
        bool vy = i >= MAP_IDX;
        uint32_t idx = vy ? i - MAP_IDX : i;
        if (!vy && idx < tiers[1])
            continue;
        dk[20] = (uint8_t)(idx | (vy ? 0x80 : 0));
        if (cantor_kmap_find(&s->model->deep, dk) < 0)
            continue;
        expand_deep(s, idx, vy);
        f = cantor_kmap_find(&s->hits, slot);
    }
    if (f >= 0)
        *ret = s->hit[f];
    return f >= 0;
}

/*
 * Encoder: the slot's (key, index) among what find_hit has already expanded for this block (the
 * shallow memo and the hits table), without expanding more: the cheap lookup for struct members.
 */
static bool find_known(struct sc *s, const uint8_t slot[32], struct slot_hit *ret)
{
    long f;

    if (!s->training && shallow_find(s, slot, MAP_SHALLOW, ret))
        return true;
    f = cantor_kmap_find(&s->hits, slot);
    if (f < 0)
        return false;
    *ret = s->hit[f];
    return true;
}

static void add_cand_addr(struct sc *s, const uint8_t addr[20])
{
    uint8_t k[32] = {0};

    if (s->cands.n >= MAX_CANDS)
        return;
    memcpy(k + 12, addr, 20);
    if (!s->err)
        s->err = cantor_kmap_put(&s->cands, k, NULL, NULL);
}

/* After every value: address-shaped words become mapping-key candidates and MRU entries. */
static void saw_value(struct sc *s, const uint8_t w[32])
{
    if (nlz_bytes(w) == 12)
        add_cand_addr(s, w + 12);
    mru_push(s, w);
}

struct ectx {
    uint32_t kind, which; /* which: 0 old, 1 new */
    uint32_t key_h;       /* hash of (address, kind, slot) */
    uint32_t addr_h;
    uint32_t aux; /* slot type / old value type */
};

/*
 * Uniswap V2 (and its forks') cumulative prices: with reserves packed in slot p as
 * (timestamp 32 | reserve1 112 | reserve0 112), _update adds, once per block in which time moved,
 *   slot p+1 += (reserve1 << 112) / reserve0 * dt,   slot p+2 += (reserve0 << 112) / reserve1 * dt
 * with the reserves before the block and dt = new timestamp - old timestamp (mod 2^32). The canonical
 * order puts slot p before p+1 and p+2, so both sides know p's old and new value by then.
 * Limbs: 8 x 32 bits, little-endian; arithmetic mod 2^256 like the EVM's.
 */
static void w_to_limbs(const uint8_t w[32], uint32_t l[8])
{
    for (int i = 0; i < 8; i++)
        l[i] = (uint32_t)w[31 - 4 * i] | (uint32_t)w[30 - 4 * i] << 8 | (uint32_t)w[29 - 4 * i] << 16 |
               (uint32_t)w[28 - 4 * i] << 24;
}

static void limbs_to_w(const uint32_t l[8], uint8_t w[32])
{
    for (int i = 0; i < 8; i++) {
        w[31 - 4 * i] = (uint8_t)l[i];
        w[30 - 4 * i] = (uint8_t)(l[i] >> 8);
        w[29 - 4 * i] = (uint8_t)(l[i] >> 16);
        w[28 - 4 * i] = (uint8_t)(l[i] >> 24);
    }
}

/* ---- 256-bit limbs (little-endian uint32[8]) for the Uniswap V2 rule; operands are bounded so that
 * nothing overflows 256 bits ---- */
static void l_set(uint32_t r[8], uint32_t v)
{
    memset(r, 0, 8 * sizeof(uint32_t));
    r[0] = v;
}

static int l_cmp(const uint32_t a[8], const uint32_t b[8])
{
    for (int i = 7; i >= 0; i--)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

static void l_add(const uint32_t a[8], const uint32_t b[8], uint32_t r[8])
{
    uint64_t c = 0;

    for (int i = 0; i < 8; i++) {
        c += (uint64_t)a[i] + b[i];
        r[i] = (uint32_t)c;
        c >>= 32;
    }
}

/* r = a - b, a >= b */
static void l_sub(const uint32_t a[8], const uint32_t b[8], uint32_t r[8])
{
    uint64_t borrow = 0;

    for (int i = 0; i < 8; i++) {
        uint64_t x = (uint64_t)a[i] - b[i] - borrow;
        r[i] = (uint32_t)x;
        borrow = x >> 63;
    }
}

/* r = a * b mod 2^256 */
static void l_mul(const uint32_t a[8], const uint32_t b[8], uint32_t r[8])
{
    uint32_t t[8] = {0};

    for (int i = 0; i < 8; i++) {
        uint64_t c = 0;
        for (int j = 0; i + j < 8; j++) {
            c += (uint64_t)a[i] * b[j] + t[i + j];
            t[i + j] = (uint32_t)c;
            c >>= 32;
        }
    }
    memcpy(r, t, sizeof(t));
}

/* q = n / d, d != 0 and d < 2^255 */
static void l_div(const uint32_t n[8], const uint32_t d[8], uint32_t q[8])
{
    uint32_t r[8] = {0};

    memset(q, 0, 8 * sizeof(uint32_t));
    for (int bit = 255; bit >= 0; bit--) {
        for (int i = 7; i > 0; i--)
            r[i] = r[i] << 1 | r[i - 1] >> 31;
        r[0] = r[0] << 1 | (n[bit / 32] >> (bit % 32) & 1);
        if (l_cmp(r, d) >= 0) {
            l_sub(r, d, r);
            q[bit / 32] |= 1u << (bit % 32);
        }
    }
}

/* bits [lo, lo + n) of w as limbs (n <= 112) */
static void w_field(const uint32_t w[8], unsigned lo, unsigned n, uint32_t out[8])
{
    memset(out, 0, 8 * sizeof(uint32_t));
    for (unsigned b = 0; b < n; b++)
        if (w[(lo + b) / 32] >> ((lo + b) % 32) & 1)
            out[b / 32] |= 1u << (b % 32);
}

/* q = (a << 112) / d, d != 0, a < 2^112 (the quotient fits 224 bits) */
static void uq_div(const uint32_t a[8], const uint32_t d[8], uint32_t q[8])
{
    uint32_t n[8] = {0};

    for (int i = 0; i < 5; i++) /* 112 = 3 limbs and 16 bits */
        n[i + 3] = a[i] << 16 | (i ? a[i - 1] >> 16 : 0);
    l_div(n, d, q);
}

static bool limbs_zero(const uint32_t a[8])
{
    for (int i = 0; i < 8; i++)
        if (a[i])
            return false;
    return true;
}

/* Prediction `which` (1: price0 from slot - 1, 2: price1 from slot - 2) for storage slot `slot` of the
 * current address with old value `old`, if the entries allow one. */
static bool pair_predict(const struct sc *s, unsigned which, const uint8_t slot[32], const uint8_t old[32],
                         uint8_t ret[32])
{
    for (unsigned k = 0; k < s->n_recent; k++) {
        const struct cantor_delta_entry *p = &s->recent[k];
        uint8_t t[32];
        uint32_t po[8], pn[8], r0[8], r1[8], q[8], o[8], dt;
        uint64_t c = 0;

        /* which = slot - p->slot, 1 or 2 */
        if (cantor_u256_sub(slot, p->slot, t) || nlz_bytes(t) != 31 || t[31] != which)
            continue;
        w_to_limbs(p->old_val, po);
        w_to_limbs(p->new_val, pn);
        dt = pn[7] - po[7];
        w_field(po, 0, 112, r0);
        w_field(po, 112, 112, r1);
        if (!dt || limbs_zero(r0) || limbs_zero(r1))
            return false;
        if (which == 1)
            uq_div(r1, r0, q);
        else
            uq_div(r0, r1, q);
        w_to_limbs(old, o);
        for (int i = 0; i < 8; i++) {
            c += (uint64_t)o[i] + (uint64_t)q[i] * dt;
            o[i] = (uint32_t)c;
            c >>= 32;
        }
        limbs_to_w(o, ret);
        return true;
    }
    return false;
}

/* Packed fields: byte ranges [0,4) timestamp, [4,18) reserve1, [18,32) reserve0. */
static const uint8_t pack_lo[3] = {18, 4, 0}, pack_len[3] = {14, 14, 4};

static void pack_get(const uint8_t w[32], unsigned f, uint8_t out[32])
{
    memset(out, 0, 32);
    memcpy(out + 32 - pack_len[f], w + pack_lo[f], pack_len[f]);
}

/* Worth coding w (old before it) field by field: both look like (timestamp | r1 | r0), time went on. */
static bool pack_fits(const uint8_t w[32], const uint8_t old[32])
{
    uint8_t a[32], b[32], d[32];

    for (unsigned f = 0; f < 3; f++) {
        pack_get(w, f, a);
        pack_get(old, f, b);
        if (nlz_bytes(a) == 32 || nlz_bytes(b) == 32)
            return false;
        if (f == 2 && (cantor_u256_sub(a, b, d) || nlz_bytes(d) < 29))
            return false;
    }
    return true;
}

/*
 * Uniswap V2 (and its forks with the 0.3% fee): reserve1's new value from the reserves before and
 * reserve0's new value, which the pack coded first. kind 0, a swap: token0 in by a gives
 * reserve1 - getAmountOut(a) = a * 997 * r1 / (r0 * 1000 + a * 997); token0 out by b gives
 * reserve1 + getAmountIn(b) = r1 * b * 1000 / ((r0 - b) * 997) + 1 (exact for the router's
 * exact-in and exact-out swaps; otherwise near). kind 1, liquidity added or removed: reserve1 moves
 * the same way by quote(|d0|) = |d0| * r1 / r0. False when the reserves do not allow one.
 */
static bool v2_predict(const uint8_t w[32], const uint8_t old[32], unsigned kind, uint8_t ret[32])
{
    uint32_t ow[8], nw[8], r0[8], r1[8], n0[8], a[8], t[8], u[8], v[8], p[8], lim[8];

    w_to_limbs(old, ow);
    w_to_limbs(w, nw);
    w_field(ow, 0, 112, r0);
    w_field(ow, 112, 112, r1);
    w_field(nw, 0, 112, n0);
    if (limbs_zero(r0) || limbs_zero(r1) || l_cmp(n0, r0) == 0)
        return false;
    memset(lim, 0, sizeof(lim));
    lim[3] = 1u << 16; /* 2^112 */
    if (l_cmp(n0, r0) > 0)
        l_sub(n0, r0, a);
    else
        l_sub(r0, n0, a);
    if (kind == 1) { /* quote */
        l_mul(a, r1, t);
        l_div(t, r0, u);
        if (l_cmp(n0, r0) > 0) {
            l_add(r1, u, p);
        } else {
            if (l_cmp(u, r1) > 0)
                return false;
            l_sub(r1, u, p);
        }
    } else if (l_cmp(n0, r0) > 0) { /* token0 in by a */
        l_set(v, 997);
        l_mul(a, v, t);  /* a * 997 */
        l_mul(t, r1, u); /* a * 997 * r1 */
        l_set(v, 1000);
        l_mul(r0, v, v); /* r0 * 1000 */
        l_add(v, t, v);  /* + a * 997 */
        l_div(u, v, t);  /* getAmountOut */
        if (l_cmp(t, r1) > 0)
            return false;
        l_sub(r1, t, p);
    } else { /* token0 out by a (< r0, since reserve0 stays > 0 or n0 == 0 is refused below) */
        if (limbs_zero(n0))
            return false;
        l_set(v, 1000);
        l_mul(r1, a, t);
        l_mul(t, v, t); /* r1 * b * 1000 */
        l_set(v, 997);
        l_mul(n0, v, u); /* (r0 - b) * 997 */
        l_div(t, u, v);
        l_set(u, 1);
        l_add(v, u, v); /* getAmountIn */
        l_add(r1, v, p);
    }
    if (l_cmp(p, lim) >= 0)
        return false;
    memset(ret, 0, 32);
    limbs_to_w(p, ret);
    return true;
}

/* One field of a V_PACK value: same as before, a new value of the chunk, old +/- a recent change,
 * old +/- literal bytes, or (reserve1) the Uniswap V2 rule's value +/- a small residual. */
static void cpack_field(struct sc *s, unsigned f, uint8_t w[32], const uint8_t old[32], const uint32_t *cx0)
{
    uint8_t nv[32] = {0}, ov[32], mag[32] = {0}, pv[32];
    uint32_t t = P_DELTA, cx[3] = {f, cx0[0], cx0[1]}, sw = 0;
    uint64_t v = 0;
    bool up = true;

    pack_get(old, f, ov);
    if (s->mode == M_ENC) {
        long k;
        pack_get(w, f, nv);
        up = cantor_u256_absdiff(nv, ov, mag);
        if (memcmp(nv, ov, 32) == 0) {
            t = P_SAME;
        } else if ((k = cantor_kmap_find(&s->newvals, nv)) >= 0) {
            t = P_VAL;
            v = s->newvals.n - 1 - (size_t)k;
        } else {
            for (unsigned i = 0; i < s->dmru_n; i++)
                if (memcmp(s->dmru[i], mag, 32) == 0) {
                    t = P_DMRU;
                    v = i * 2 + up;
                    break;
                }
        }
        for (unsigned kind = 0; f == 1 && t == P_DELTA && kind < 2; kind++) {
            uint8_t r[32];
            uint64_t rv;
            bool rup;
            if (!v2_predict(w, old, kind, pv))
                continue;
            rup = cantor_u256_absdiff(nv, pv, r);
            if (word_to_u64(r, &rv) && rv < SWAP_RESID_MAX && (t != P_SWAP || rv < v)) {
                t = P_SWAP;
                sw = kind;
                v = rv;
                up = rup;
            }
        }
    }
    t = csym(s, F_PACK, PACK_TYPE_BITS, t, cx, 3);
    switch (t) {
    case P_SAME:
        memcpy(nv, ov, 32);
        break;
    case P_VAL:
        v = cint(s, F_PACK + 1, v, cx, 1);
        if (v >= s->newvals.n) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        memcpy(nv, cantor_kmap_key(&s->newvals, s->newvals.n - 1 - v), 32);
        break;
    case P_DMRU:
        v = cint(s, F_PACK + 2, v, cx, 1);
        if (v / 2 >= s->dmru_n || !word_add(ov, s->dmru[v / 2], v & 1, nv)) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        break;
    case P_DELTA: {
        unsigned nlz = s->mode == M_ENC ? nlz_bytes(mag) : 0;
        up = csym(s, F_PACK + 3, 1, up, cx, 1);
        nlz = csym(s, F_PACK + 4, 6, nlz, cx, 1);
        if (nlz > 32) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        memset(mag, 0, nlz);
        cbytes(s, F_PACK + 5 + f, mag, nlz, 32, NULL, (uint32_t)f, 2);
        if (!word_add(ov, mag, up, nv)) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        break;
    }
    case P_SWAP: {
        uint32_t c2[2] = {1, cx0[0]};
        sw = csym(s, F_PSWAP, 1, sw, c2, 2);
        c2[0] = 2 + sw;
        up = csym(s, F_PSWAP, 1, up, c2, 2);
        c2[0] = 4 + sw * 2 + up;
        v = cint(s, F_PSWAP, v, c2, 2);
        if (f != 1 || !v2_predict(w, old, sw, pv)) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        cantor_u256_from_u64(v, mag);
        if (!word_add(pv, mag, up, nv)) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        break;
    }
    default:
        s->err = CANTOR_ERR_CORRUPT;
        return;
    }
    if (nlz_bytes(nv) < 32u - pack_len[f]) {
        s->err = CANTOR_ERR_CORRUPT;
        return;
    }
    memcpy(w + pack_lo[f], nv + 32 - pack_len[f], pack_len[f]);
}

/* The value types that code a magnitude (V_DMRU_R and V_CONS may replace them; not the exact refs). */
static bool numeric_type(uint32_t t)
{
    return t == V_SMALL || t == V_DELTA_UP || t == V_DELTA_DOWN || t == V_DBIG_UP || t == V_DBIG_DOWN ||
           t == V_LIT;
}

/*
 * Encoder: whether a residual rule codes w (old: its old value, mag = |w - old|, up: w >= old) in
 * fewer bits than the magnitude choice *t (value *v) by more than its margin: V_DMRU_R, |w - old| =
 * a recent change +/- a residual (the other side of a transfer, off by its fee), then, for a balance,
 * V_CONS, w = old - the block's balance changes so far +/- a residual (the burn). The exact choices
 * (refs, predictions) are never replaced. Sets *t, *v and the residual's sign and size.
 */
static void residual_rules(const struct sc *s, uint8_t kind, const uint8_t w[32], const uint8_t old[32],
                           const uint8_t mag[32], bool up, uint32_t *t, uint64_t *v, uint32_t *rsg,
                           uint64_t *rv)
{
    unsigned cur;

    if (!numeric_type(*t))
        return;
    cur = (*t == V_DELTA_UP || *t == V_DELTA_DOWN || *t == V_SMALL) ? dec_bits64(*v) : 8 * dec_bytes(mag);
    if (s->dmru_n && (DMRU_R_KINDS >> kind & 1)) {
        unsigned best = ~0u, bi = 0, bsg = 0;
        uint64_t br = 0;
        for (unsigned i = 0; i < s->dmru_n; i++) {
            /* residuals < 2^48 only: the top 24 bytes must match (a borrow across them is rare and
             * only costs the choice), so two 64-bit loads decide */
            uint64_t a, b, r;
            unsigned c;
            if (!same_top24(mag, s->dmru[i]))
                continue;
            a = cantor_be64_get(mag + 24);
            b = cantor_be64_get(s->dmru[i] + 24);
            r = a >= b ? a - b : b - a;
            if (bitlen64(r) > DMRU_R_BOUND)
                continue;
            c = dec_bits64(r) + 1 + bitlen64(i);
            if (c < best) {
                best = c;
                bi = i;
                bsg = a >= b;
                br = r;
            }
        }
        if (best != ~0u && best + DMRU_R_MARGIN < cur) {
            *t = V_DMRU_R;
            *v = bi * 2 + up;
            *rsg = bsg;
            *rv = br;
            cur = best;
        }
    }
    if (kind == CANTOR_KIND_BALANCE) {
        uint8_t pred[32], r[32];
        uint64_t r64;
        unsigned sg;
        cantor_u256_sub(old, s->bsum, pred);
        sg = cantor_u256_absdiff(w, pred, r);
        if (word_to_u64(r, &r64) && bitlen64(r64) <= CONS_BOUND && dec_bits64(r64) + 1 + CONS_MARGIN < cur) {
            *t = V_CONS;
            *rsg = sg;
            *rv = r64;
        }
    }
}

/* One 32-byte value; old (new values only) is the value before. Returns the type used. */
static uint32_t cvalue(struct sc *s, const struct ectx *e, uint8_t w[32], const uint8_t *old)
{
    uint32_t fi = e->kind * 2 + e->which, t = 0, cx[5], rsg = 0;
    uint64_t v = 0, rv = 0;

    if (s->mode == M_ENC) {
        unsigned nlz = nlz_bytes(w);
        long ci;
        uint8_t k[32] = {0}, mag[32] = {0}; /* mag = |w - old| */
        bool up = false;                    /* w >= old */
        unsigned i;

        if (old)
            up = cantor_u256_absdiff(w, old, mag);
        t = V_LIT;
        if (nlz == 32) {
            t = V_ZERO;
            goto chosen;
        }
        for (i = 0; i < 2; i++)
            if (old && s->pred_ok[i] && memcmp(s->pred[i], w, 32) == 0) {
                t = V_PRED;
                v = i;
                goto chosen;
            }
        for (i = 0; i < s->n_known; i++)
            if (memcmp(s->known[i], w, 32) == 0) {
                t = V_KNOWN;
                v = i;
                goto chosen;
            }
        for (i = 0; i < s->mru_n; i++)
            if (memcmp(s->mru[i], w, 32) == 0) {
                t = V_MRU;
                v = i;
                goto chosen;
            }
        if (old && (ci = cantor_kmap_find(&s->newvals, w)) >= 0) {
            t = V_NVAL;
            v = s->newvals.n - 1 - (size_t)ci;
            goto chosen;
        }
        if (nlz == 12) {
            memcpy(k + 12, w + 12, 20);
            ci = cantor_kmap_find(&s->cands, k);
            if (ci >= 0) {
                t = V_ADDR;
                v = (uint64_t)ci;
                goto chosen;
            }
        }
        if (old && s->dmru_n && 32 - nlz_bytes(mag) >= DMRU_MIN)
            for (i = 0; i < s->dmru_n; i++)
                if (memcmp(s->dmru[i], mag, 32) == 0) {
                    t = V_DMRU;
                    v = i * 2 + up;
                    goto chosen;
                }
        if (old && e->kind == CANTOR_KIND_STORAGE && pack_fits(w, old)) {
            t = V_PACK;
            goto chosen;
        }
        {
            /* small value or delta vs the old value, whichever has fewer significant bits */
            uint64_t sv = 0, dv = 0;
            bool small = word_to_u64(w, &sv), delta = old && nlz_bytes(old) < 32 && word_to_u64(mag, &dv);
            if (delta && (!small || dec_bits64(dv) + 2 < dec_bits64(sv))) {
                t = up ? V_DELTA_UP : V_DELTA_DOWN;
                v = dv;
            } else if (small) {
                t = V_SMALL;
                v = sv;
            }
        }
        if (t == V_LIT && old && nlz_bytes(old) < 32 && dec_bytes(mag) + 1 < dec_bytes(w))
            t = up ? V_DBIG_UP : V_DBIG_DOWN;
        if (old)
            residual_rules(s, e->kind, w, old, mag, up, &t, &v, &rsg, &rv);
    }
chosen:
    cx[0] = 0;
    cx[1] = s->prev_vtype[fi];
    cx[2] = e->aux;
    cx[3] = e->addr_h;
    cx[4] = e->key_h;
    t = csym(s, F_VTYPE + fi, VTYPE_BITS, t, cx, 5);
    s->prev_vtype[fi] = t;
    cx[1] = t;
    switch (t) {
    case V_ZERO:
        memset(w, 0, 32);
        break;
    case V_SMALL:
        v = cdec64(s, F_VSMALL + fi, F_VDEC + fi, v, cx, 5);
        cantor_u256_from_u64(v, w);
        break;
    case V_KNOWN:
    case V_MRU: {
        uint32_t lim = t == V_MRU ? s->mru_n : (uint32_t)s->n_known;
        v = cint(s, F_VREF + fi, v, cx, 4);
        if (v >= lim) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        memcpy(w, t == V_MRU ? s->mru[v] : s->known[v], 32);
        break;
    }
    case V_ADDR:
        v = cint(s, F_VREF + fi, v, cx, 4);
        if (v >= s->cands.n) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        memcpy(w, cantor_kmap_key(&s->cands, v), 32);
        break;
    case V_DELTA_UP:
    case V_DELTA_DOWN:
        if (!old) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        v = cdec64(s, F_VSMALL + 16 + fi, F_VDEC + fi, v, cx, 5);
        if (!word_add_u64(old, v, t == V_DELTA_UP ? 1 : -1, w)) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        break;
    case V_LIT:
        cdecw(s, F_VDECW + fi, F_VNLZ + fi, F_VLIT + fi, w, old, e->key_h, cx);
        if (s->err)
            return t;
        break;
    case V_NVAL:
        v = cint(s, F_VREF + 8 + fi, v, cx, 4);
        if (!old || v >= s->newvals.n) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        memcpy(w, cantor_kmap_key(&s->newvals, s->newvals.n - 1 - v), 32);
        break;
    case V_PACK:
        if (!old) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        for (unsigned f = 0; f < 3 && !s->err; f++)
            cpack_field(s, f, w, old, cx + 3);
        if (s->err)
            return t;
        /* the reserves are the pair's token balances: make them V_NVAL / P_VAL targets */
        for (unsigned f = 0; f < 2; f++) {
            uint8_t fv[32];
            enum cantor_err e2;
            pack_get(w, f, fv);
            e2 = cantor_kmap_put(&s->newvals, fv, NULL, NULL);
            if (e2 && e2 != CANTOR_ERR_TOO_LARGE)
                s->err = e2;
        }
        break;
    case V_PRED:
        /* which prediction: only coded when both exist */
        if (s->pred_ok[0] && s->pred_ok[1])
            v = csym(s, F_VTYPE + 8 + fi, 1, (uint32_t)v, cx, 2);
        else
            v = s->pred_ok[0] ? 0 : 1;
        if (!old || !s->pred_ok[v]) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        memcpy(w, s->pred[v], 32);
        break;
    case V_DBIG_UP:
    case V_DBIG_DOWN: {
        uint8_t mag[32] = {0};
        if (!old) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        if (s->mode == M_ENC)
            cantor_u256_absdiff(w, old, mag);
        cdecw(s, F_VDECW + fi, F_VNLZ + 8 + fi, F_VLIT + 8 + fi, mag, NULL, e->key_h, cx);
        if (s->err)
            return t;
        if (!word_add(old, mag, t == V_DBIG_UP, w)) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        break;
    }
    case V_DMRU: {
        v = cint(s, F_VREF + 8 + fi, v, cx, 4);
        if (!old || v / 2 >= s->dmru_n || !word_add(old, s->dmru[v / 2], v & 1, w)) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        break;
    }
    case V_CONS: {
        uint8_t pred[32];
        rsg = csym(s, F_VTYPE + 8 + fi, 1, rsg, cx, 2);
        rv = cdec64(s, F_VSMALL + 8 + fi, F_VDEC + fi, rv, cx, 5);
        if (s->err || !old || e->kind != CANTOR_KIND_BALANCE) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        cantor_u256_sub(old, s->bsum, pred);
        if (!word_add_u64(pred, rv, rsg ? 1 : -1, w)) { /* the encoder's residual never wraps */
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        break;
    }
    case V_DMRU_R: {
        uint8_t mag[32];
        v = cint(s, F_VREF + 8 + fi, v, cx, 4);
        rsg = csym(s, F_VTYPE + 8 + fi, 1, rsg, cx, 2);
        rv = cdec64(s, F_VSMALL + 8 + fi, F_VDEC + fi, rv, cx, 5);
        if (s->err || !old || v / 2 >= s->dmru_n || !word_add_u64(s->dmru[v / 2], rv, rsg ? 1 : -1, mag) ||
            !word_add(old, mag, v & 1, w)) {
            s->err = CANTOR_ERR_CORRUPT;
            return t;
        }
        break;
    }
    default:
        s->err = CANTOR_ERR_CORRUPT;
        return t;
    }
    saw_value(s, w);
    if (old && e->kind == CANTOR_KIND_BALANCE) {
        uint8_t t1[32];
        cantor_u256_add(s->bsum, w, t1);
        cantor_u256_sub(t1, old, s->bsum);
    }
    if (old) {
        uint8_t mag[32];
        cantor_u256_absdiff(w, old, mag);
        if (32 - nlz_bytes(mag) >= DMRU_MIN)
            mru_push_in(s->dmru, &s->dmru_n, DMRU_N, mag);
        if (!s->err && nlz_bytes(w) < 32) {
            enum cantor_err e2 = cantor_kmap_put(&s->newvals, w, NULL, NULL);
            if (e2 && e2 != CANTOR_ERR_TOO_LARGE)
                s->err = e2; /* a full list just stops growing, on both sides */
        }
    }
    return t;
}

static long warm_val(struct cantor_codec_ctx *w, const uint8_t addr[20], uint8_t kind,
                     const uint8_t slot[32]);

/* Storage slot of address a (index aid in warm addrs, or -1); prev_small tracks sorted small slots. */
static uint32_t cslot(struct sc *s, const uint8_t contract[20], uint32_t addr_h, long aid, uint8_t slot[32],
                      uint64_t *prev_small)
{
    uint32_t t = S_LIT, cx[3];
    uint64_t v = 0, v2 = 0, v3 = 0;
    struct slot_hit hit;
    long f;

    if (s->mode == M_ENC) {
        if (word_to_u64(slot, &v) && v >= *prev_small) {
            t = S_SMALL;
            v -= *prev_small;
            goto chosen;
        }
        if (s->warm && aid >= 0) {
            long wi =
                warm_val(s->warm, cantor_kmap_key(&s->warm->addrs, (size_t)aid), CANTOR_KIND_STORAGE, slot);
            if (wi >= 0) {
                t = S_WARM;
                v = s->warm->ainfo[aid].n - 1 - s->warm->slotpos[wi]; /* recent first */
                goto chosen;
            }
        }
        if (find_hit(s, contract, slot, &hit)) {
            t = hit.type;
            v = hit.key;
            v2 = hit.idx;
            goto chosen;
        }
        f = cantor_kmap_find(&s->model->dict_slot, slot);
        if (f >= 0 && (!s->model->dict_slot_first || s->model->dict_slot_first[f] < s->model->train_pos)) {
            t = S_DICT;
            v = (uint64_t)f;
            goto chosen;
        }
        /* keccak(p) + off: the base is the largest keccak(p) <= slot with a small offset. */
        for (uint32_t p = 0; p < CANTOR_ARR_BASES; p++) {
            uint64_t off;
            /* slot = base + off (off < 2^16) moves the top 8 bytes by at most a carry */
            if (cantor_be64_get(slot) - cantor_be64_get(s->model->arr_base[p]) > 1)
                continue;
            if (word_sub_u64(slot, s->model->arr_base[p], &off) && off < ARR_OFF) {
                t = S_ARR;
                v = p;
                v2 = off;
                goto chosen;
            }
        }
        /* a struct member: the mapping slot below it (the search above already expanded the keys) */
        for (uint32_t off = 1; off <= MAPO_MAX && !s->err; off++) {
            uint8_t base[32], d[32] = {0};
            d[31] = (uint8_t)off;
            if (!cantor_u256_sub(slot, d, base) && find_known(s, base, &hit) && hit.type == S_MAP) {
                t = S_MAPO;
                v = hit.key;
                v2 = hit.idx;
                v3 = off;
                goto chosen;
            }
        }
    }
chosen:
    cx[0] = 0;
    cx[1] = s->prev_stype;
    cx[2] = addr_h;
    t = csym(s, F_STYPE, 3, t, cx, 3);
    s->prev_stype = t;
    cx[0] = t;
    switch (t) {
    case S_SMALL:
        v = cint(s, F_SSMALL, v, cx, 3);
        if (v > UINT64_MAX - *prev_small) {
            s->err = CANTOR_ERR_CORRUPT;
            break;
        }
        v += *prev_small;
        *prev_small = v;
        cantor_u256_from_u64(v, slot);
        break;
    case S_MAP:
    case S_MAPV:
    case S_MAPO: {
        uint8_t buf[64] = {0}, d[32] = {0};
        v = cint(s, F_SKEY, v, cx, 3);
        v2 = cint(s, F_SIDX, v2, cx, 3);
        if (t == S_MAPO)
            v3 = csym(s, F_SOFF, 3, (uint32_t)v3, cx, 3);
        if (v >= s->cands.n || v2 >= (t == S_MAPV ? MAPV_IDX : MAP_IDX) || (t == S_MAPO && v3 == 0)) {
            s->err = CANTOR_ERR_CORRUPT;
            break;
        }
        if (t != S_MAPV) {
            memcpy(buf, cantor_kmap_key(&s->cands, v), 32);
            buf[63] = (uint8_t)v2;
        } else {
            buf[31] = (uint8_t)v2;
            memcpy(buf + 32, cantor_kmap_key(&s->cands, v), 32);
        }
        cantor_keccak256(buf, 64, slot);
        d[31] = (uint8_t)v3;
        if (t == S_MAPO && !word_add(slot, d, true, slot))
            s->err = CANTOR_ERR_CORRUPT;
        break;
    }
    case S_ARR: {
        v = cint(s, F_SIDX, v, cx, 3);
        v2 = cint(s, F_SSMALL2, v2, cx, 3);
        if (v >= CANTOR_ARR_BASES || v2 >= ARR_OFF) {
            s->err = CANTOR_ERR_CORRUPT;
            break;
        }
        if (!word_add_u64(s->model->arr_base[v], v2, 1, slot))
            s->err = CANTOR_ERR_CORRUPT;
        break;
    }
    case S_DICT:
        v = cint(s, F_SREF, v, cx, 3);
        if (v >= s->model->dict_slot.n) {
            s->err = CANTOR_ERR_CORRUPT;
            break;
        }
        memcpy(slot, cantor_kmap_key(&s->model->dict_slot, v), 32);
        break;
    case S_WARM: {
        const struct cantor_warm_addr *wa;
        v = cint(s, F_SREF2, v, cx, 3);
        if (!s->warm || aid < 0 || v >= s->warm->ainfo[aid].n) {
            s->err = CANTOR_ERR_CORRUPT;
            break;
        }
        wa = &s->warm->ainfo[aid];
        memcpy(slot, cantor_kmap_key(&s->warm->vals, wa->slots[wa->n - 1 - v]) + 21, 32);
        break;
    }
    case S_LIT:
        cflat(s, slot, 0, 32);
        break;
    default:
        s->err = CANTOR_ERR_CORRUPT;
    }
    return t;
}

static void caddr(struct sc *s, uint8_t addr[20], const uint8_t *prev)
{
    uint32_t t = A_LIT, cx[2] = {0, 0};
    uint64_t v = 0;
    long f;

    if (s->mode == M_ENC) {
        if (s->warm && (f = cantor_kmap_find(&s->warm->addrs, addr)) >= 0) {
            t = A_WARM;
            v = s->warm->addrs.n - 1 - (size_t)f;
        } else if ((f = cantor_kmap_find(&s->model->dict_addr, addr)) >= 0 &&
                   (!s->model->dict_addr_first || s->model->dict_addr_first[f] < s->model->train_pos)) {
            t = A_DICT;
            v = (uint64_t)f;
        }
    }
    t = csym(s, F_ATYPE, 2, t, cx, 1);
    cx[0] = t;
    switch (t) {
    case A_WARM:
        v = cint(s, F_AREF, v, cx, 1);
        if (!s->warm || v >= s->warm->addrs.n) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        memcpy(addr, cantor_kmap_key(&s->warm->addrs, s->warm->addrs.n - 1 - v), 20);
        break;
    case A_DICT:
        v = cint(s, F_AREF2, v, cx, 1);
        if (v >= s->model->dict_addr.n) {
            s->err = CANTOR_ERR_CORRUPT;
            return;
        }
        memcpy(addr, cantor_kmap_key(&s->model->dict_addr, v), 20);
        break;
    case A_LIT: {
        /* Sorted list: the first byte is predicted by the previous address's first byte. */
        uint8_t prevb = prev ? prev[0] : 0;
        uint32_t c1[2] = {0, prevb};
        addr[0] = (uint8_t)csym(s, F_ALIT, 8, addr[0], c1, 2);
        cbytes(s, F_ALIT2, addr, 1, ADDR_MODELLED, NULL, 0, 1);
        cflat(s, addr, ADDR_MODELLED, 20);
        break;
    }
    default:
        s->err = CANTOR_ERR_CORRUPT;
    }
}

/* ---------------- code: order-1..3 contexts plus a match model ---------------- */
static inline uint32_t match_hash(const uint8_t *p, unsigned bits)
{
    uint32_t h = 0;

    for (int i = 0; i < CANTOR_MATCH_MIN; i++)
        h = (h * 0x2f0b4a73u) ^ p[i];
    return (h * 0x9e3779b1u) >> (32 - bits);
}

void cantor_codehist_release(struct cantor_codehist *h)
{
    free(h->buf);
    free(h->tab);
    h->buf = NULL;
    h->tab = NULL;
    h->len = h->cap = 0;
}

enum cantor_err cantor_codehist_add(struct cantor_codehist *h, const uint8_t *code, size_t len)
{
    if (!h->bits)
        h->bits = CANTOR_MATCH_TAB_BITS;
    if (!h->tab) {
        h->tab = calloc((size_t)1 << h->bits, sizeof(uint32_t));
        if (!h->tab)
            return CANTOR_ERR_NOMEM;
    }
    if (len > CANTOR_CODEHIST_MAX - h->len)
        return CANTOR_OK;
    if (h->len + len > h->cap) {
        size_t nc = h->cap ? h->cap : 65536;
        uint8_t *p;
        while (nc < h->len + len)
            nc *= 2;
        p = realloc(h->buf, nc);
        if (!p)
            return CANTOR_ERR_NOMEM;
        h->buf = p;
        h->cap = nc;
    }
    memcpy(h->buf + h->len, code, len);
    /* index positions inside this blob only, so a match never spans two blobs */
    for (size_t i = CANTOR_MATCH_MIN; i <= len; i++)
        h->tab[match_hash(h->buf + h->len + i - CANTOR_MATCH_MIN, h->bits)] = (uint32_t)(h->len + i + 1);
    h->len += len;
    return CANTOR_OK;
}

/*
 * One blob. The match model looks for the last CANTOR_MATCH_MIN bytes in earlier code (the stream's
 * history when warm, else the blobs before this one in the chunk). While a match is open the coder
 * sends how many of the following bytes equal the bytes that followed there (a run, LZ77 style),
 * then the first differing byte as a literal: repeated bytecode (clones, proxies, pairs made by a
 * factory) costs a few bits per run instead of a few hundredths of a bit per byte, and is fast.
 */
static void code_blob(struct sc *s, uint8_t *code, size_t len)
{
    const struct cantor_codehist *hs[2] = {&s->lcode, s->warm ? &s->warm->code : NULL};
    const uint8_t *src = NULL;
    size_t ptr = 0, srclen = 0, i = 0;
    uint32_t cx[4], h = 0;

    while (i < len && !s->err) {
        int pb = -1;
        if (!src && i >= CANTOR_MATCH_MIN) {
            for (int k = 0; k < 2 && !src; k++) {
                uint32_t mh;
                if (!hs[k] || !hs[k]->tab)
                    continue;
                mh = match_hash(code + i - CANTOR_MATCH_MIN, hs[k]->bits);
                if (hs[k]->tab[mh]) {
                    src = hs[k]->buf;
                    srclen = hs[k]->len;
                    ptr = hs[k]->tab[mh] - 1;
                }
            }
        }
        if (src && ptr < srclen) {
            uint64_t run = 0;
            uint32_t rc[1] = {0};
            if (s->mode == M_ENC)
                while (i + run < len && ptr + run < srclen && code[i + run] == src[ptr + run])
                    run++;
            run = cint(s, F_CODERUN, run, rc, 1);
            if (run > len - i || run > srclen - ptr) {
                s->err = CANTOR_ERR_CORRUPT;
                break;
            }
            if (s->mode == M_DEC)
                memcpy(code + i, src + ptr, (size_t)run);
            for (uint64_t k = 0; k < run; k++)
                h = (h << 8) | code[i + k];
            i += (size_t)run;
            ptr += (size_t)run;
            if (i == len)
                break;
            if (ptr < srclen)
                pb = src[ptr]; /* the next byte is not this one */
            src = NULL;
        }
        cx[0] = h & 0xff;
        cx[1] = h & 0xffff;
        cx[2] = h & 0xffffff;
        cx[3] = pb < 0 ? 0 : mix32((uint32_t)pb | 0x100, h & 0xff);
        code[i] = (uint8_t)csym(s, F_CODEBYTE + (pb >= 0), 8, code[i], cx, pb < 0 ? 3 : 4);
        if (s->mode == M_DEC && pb >= 0 && code[i] == pb)
            s->err = CANTOR_ERR_CORRUPT; /* the run would have covered it */
        h = (h << 8) | code[i];
        i++;
    }
    if (!s->err)
        s->err = cantor_codehist_add(&s->lcode, code, len);
}

/* ---------------- the delta walk ---------------- */
static bool is_zero_word(const uint8_t *w)
{
    return nlz_bytes(w) == 32;
}

static enum cantor_err sc_init(struct sc *s, enum sc_mode mode, struct cantor_codec_model *m,
                               struct cantor_codec_ctx *warm)
{
    memset(s, 0, sizeof(*s));
    s->lcode.bits = LCODE_BITS;
    s->mode = mode;
    s->model = m;
    s->cm = m->cm;
    s->warm = warm;
    cantor_kmap_init(&s->cands, 32, MAX_CANDS);
    cantor_kmap_init(&s->hits, 32, (size_t)MAX_CANDS * (MAP_IDX + MAPV_IDX));
    cantor_kmap_init(&s->newvals, 32, NEWVALS_MAX);
    for (int i = 0; i < 8; i++)
        s->prev_vtype[i] = V__N;
    s->prev_stype = 8;
    return CANTOR_OK;
}

static void sc_release(struct sc *s)
{
    cantor_codehist_release(&s->lcode);
    cantor_kmap_release(&s->cands);
    cantor_kmap_release(&s->hits);
    cantor_kmap_release(&s->newvals);
    free(s->hit);
    free(s->known);
}

static enum cantor_err set_known(struct sc *s, const struct cantor_delta *d)
{
    s->known = malloc((d->n_codes + 1) * 32);
    if (!s->known)
        return CANTOR_ERR_NOMEM;
    memcpy(s->known[0], CANTOR_KECCAK_EMPTY, 32);
    for (size_t i = 0; i < d->n_codes; i++)
        memcpy(s->known[i + 1], d->codes[i].hash, 32);
    s->n_known = d->n_codes + 1;
    return CANTOR_OK;
}

static long warm_val(struct cantor_codec_ctx *w, const uint8_t addr[20], uint8_t kind, const uint8_t slot[32])
{
    uint8_t k[CANTOR_WARM_KEY_LEN];

    if (!w)
        return -1;
    memcpy(k, addr, 20);
    k[20] = kind;
    memcpy(k + 21, slot, 32);
    return cantor_kmap_find(&w->vals, k);
}

/* One entry's old and new values (the key is known). */
static void centry(struct sc *s, struct cantor_delta_entry *e, uint32_t addr_h, uint32_t stype)
{
    struct ectx x = {.kind = e->kind, .addr_h = addr_h, .aux = stype};
    long wi = warm_val(s->warm, e->addr, e->kind, e->slot);
    uint8_t before[32];
    bool known = false;
    uint32_t ot;
    int have = 0;

    x.key_h = mix32(addr_h, e->kind == CANTOR_KIND_STORAGE ? bytes_hash(e->slot, 32) : e->kind);
    s->part = CANTOR_PART_OLD;
    if (wi >= 0) {
        memcpy(before, s->warm->words[wi], 32);
        known = true;
    } else if (s->warm && s->warm->state.lookup) {
        known = s->warm->state.lookup(s->warm->state.arg, e->addr, e->kind, e->slot, before);
    }
    if (known) {
        /* Warm: the old value is the state before the block; one bit says it matches. */
        uint32_t cx[1] = {e->kind};
        int match = s->mode == M_ENC ? memcmp(before, e->old_val, 32) == 0 : 0;
        match = (int)csym(s, F_WOLD, 1, (uint32_t)match, cx, 1);
        if (match) {
            memcpy(e->old_val, before, 32);
            have = 1;
        }
    }
    x.which = 0;
    ot = have ? 9 + (nlz_bytes(e->old_val) + 3) / 4 : cvalue(s, &x, e->old_val, NULL);
    x.which = 1;
    s->part = CANTOR_PART_NEW;
    x.aux = mix32(stype, ot);
    s->pred_ok[0] = s->pred_ok[1] = false;
    if (e->kind == CANTOR_KIND_STORAGE) {
        if (memcmp(s->rec_addr, e->addr, 20) != 0) {
            memcpy(s->rec_addr, e->addr, 20);
            s->n_recent = 0;
        }
        for (unsigned i = 0; i < 2; i++)
            s->pred_ok[i] = pair_predict(s, i + 1, e->slot, e->old_val, s->pred[i]);
    }
    cvalue(s, &x, e->new_val, e->old_val);
    s->pred_ok[0] = s->pred_ok[1] = false;
    if (e->kind == CANTOR_KIND_STORAGE) {
        memmove(&s->recent[1], &s->recent[0], (RECENT_N - 1) * sizeof(s->recent[0]));
        s->recent[0] = *e;
        if (s->n_recent < RECENT_N)
            s->n_recent++;
    }
    if (s->mode == M_DEC && memcmp(e->old_val, e->new_val, 32) == 0)
        s->err = CANTOR_ERR_CORRUPT; /* the canonical form has no no-op entries */
}

static enum cantor_err walk(struct sc *s, struct cantor_delta *d, size_t max_entries)
{
    size_t n_addr = 0, ei = 0;
    uint8_t(*addrs)[20] = NULL;
    uint32_t cx[2] = {0, 0};
    enum cantor_err err;

    /* code blobs first: their hashes become V_KNOWN words for CODE values */
    s->part = CANTOR_PART_CODE;
    if (s->mode == M_ENC) {
        uint64_t nc = cint(s, F_NCODES, d->n_codes, cx, 1);
        for (size_t i = 0; i < nc; i++) {
            cint(s, F_CODELEN, d->codes[i].len, cx, 1);
            code_blob(s, d->codes[i].code, d->codes[i].len);
        }
    } else {
        uint64_t nc = cint(s, F_NCODES, 0, cx, 1);
        size_t total = 0;
        if (nc > CANTOR_DELTA_MAX_CODES || nc > max_entries)
            return CANTOR_ERR_CORRUPT;
        for (size_t i = 0; i < nc && !s->err; i++) {
            uint64_t len = cint(s, F_CODELEN, 0, cx, 1);
            uint8_t *code, h[32];
            total += len;
            if (len == 0 || len > CANTOR_DELTA_MAX_CODE_LEN || total > max_entries * 64)
                return CANTOR_ERR_CORRUPT;
            code = malloc(len);
            if (!code)
                return CANTOR_ERR_NOMEM;
            code_blob(s, code, len);
            cantor_keccak256(code, len, h);
            err = cantor_delta_add_code(d, h, code, len);
            free(code);
            if (err)
                return err;
        }
    }
    if (s->err)
        return s->err;
    err = set_known(s, d);
    if (err)
        return err;

    /* the address list */
    s->part = CANTOR_PART_ADDR;
    if (s->mode == M_ENC)
        for (size_t i = 0; i < d->n_entries; i++)
            if (i == 0 || memcmp(d->entries[i].addr, d->entries[i - 1].addr, 20) != 0)
                n_addr++;
    n_addr = cint(s, F_NADDR, n_addr, cx, 1);
    if (n_addr > max_entries)
        return CANTOR_ERR_CORRUPT;
    addrs = malloc((n_addr ? n_addr : 1) * 20);
    if (!addrs)
        return CANTOR_ERR_NOMEM;
    for (size_t a = 0, i = 0; a < n_addr && !s->err; a++) {
        if (s->mode == M_ENC) {
            while (i < d->n_entries && a && memcmp(d->entries[i].addr, addrs[a - 1], 20) == 0)
                i++;
            memcpy(addrs[a], d->entries[i].addr, 20);
        }
        caddr(s, addrs[a], a ? addrs[a - 1] : NULL);
        if (s->mode == M_DEC && a && memcmp(addrs[a], addrs[a - 1], 20) <= 0)
            s->err = CANTOR_ERR_CORRUPT;
        add_cand_addr(s, addrs[a]);
    }

    /* per address: which kinds changed, how many slots, then the values */
    for (size_t a = 0; a < n_addr && !s->err; a++) {
        uint32_t flags = 0, addr_h = bytes_hash(addrs[a], 20);
        uint64_t nslot = 0, prev_small = 0;
        long aid = s->warm ? cantor_kmap_find(&s->warm->addrs, addrs[a]) : -1;
        uint32_t fcx[2];

        if (s->mode == M_ENC) {
            for (size_t j = ei; j < d->n_entries && memcmp(d->entries[j].addr, addrs[a], 20) == 0; j++) {
                if (d->entries[j].kind == CANTOR_KIND_STORAGE)
                    nslot++;
                else
                    flags |= 1u << d->entries[j].kind;
            }
        }
        s->part = CANTOR_PART_OVERHEAD;
        fcx[0] = addr_h;
        fcx[1] = 0;
        flags = csym(s, F_FLAGS, 3, flags, fcx, 2);
        fcx[1] = flags;
        nslot = cint(s, F_NSLOT, nslot, fcx, 2);
        if (s->mode == M_DEC && (flags == 0 && nslot == 0))
            s->err = CANTOR_ERR_CORRUPT;
        for (uint8_t k = 0; k < 3 && !s->err; k++) {
            struct cantor_delta_entry e;
            if (!(flags & (1u << k)))
                continue;
            if (s->mode == M_ENC)
                e = d->entries[ei++];
            else {
                memset(&e, 0, sizeof(e));
                memcpy(e.addr, addrs[a], 20);
                e.kind = k;
            }
            centry(s, &e, addr_h, 16 + k);
            if (s->mode == M_DEC && !s->err)
                s->err = d->n_entries < max_entries ? cantor_delta_add(d, &e) : CANTOR_ERR_CORRUPT;
        }
        for (uint64_t j = 0; j < nslot && !s->err; j++) {
            struct cantor_delta_entry e;
            uint32_t st;
            if (s->mode == M_ENC)
                e = d->entries[ei++];
            else {
                memset(&e, 0, sizeof(e));
                memcpy(e.addr, addrs[a], 20);
                e.kind = CANTOR_KIND_STORAGE;
            }
            s->part = CANTOR_PART_SLOT;
            st = cslot(s, addrs[a], addr_h, aid, e.slot, &prev_small);
            if (s->err)
                break;
            centry(s, &e, addr_h, st);
            if (s->mode == M_DEC && !s->err)
                s->err = d->n_entries < max_entries ? cantor_delta_add(d, &e) : CANTOR_ERR_CORRUPT;
        }
        if (s->mode == M_DEC && s->rd.overrun > 8)
            s->err = CANTOR_ERR_CORRUPT;
    }
    free(addrs);
    if (!s->err && s->mode == M_ENC && ei != d->n_entries)
        s->err = CANTOR_ERR_INVALID;
    return s->err;
}

static bool delta_is_structurable(const struct cantor_delta *d)
{
    for (size_t i = 0; i < d->n_entries; i++) {
        if (d->entries[i].kind > CANTOR_KIND_STORAGE)
            return false;
        if (d->entries[i].kind != CANTOR_KIND_STORAGE && !is_zero_word(d->entries[i].slot))
            return false;
        if (i && cantor_delta_entry_cmp(&d->entries[i - 1], &d->entries[i]) >= 0)
            return false;
    }
    return true;
}

enum cantor_err cantor_struct_encode(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                     const struct cantor_delta *d, struct cantor_buf *out)
{
    struct sc s;
    enum cantor_err err;

    if (!delta_is_structurable(d))
        return CANTOR_ERR_UNSUPPORTED;
    sc_init(&s, M_ENC, m, warm);
    s.bd = m->bd;
    if (!m->carried)
        cantor_cm_reset(m->cm);
    cantor_rc_enc_init(&s.re, out);
    /* walk() only reads d in encode mode */
    err = walk(&s, (struct cantor_delta *)d, d->n_entries);
    if (!err)
        err = cantor_rc_enc_finish(&s.re);
    sc_release(&s);
    return err;
}

enum cantor_err cantor_struct_train(struct cantor_codec_model *m, const struct cantor_delta *d)
{
    struct sc s;
    struct cantor_buf scratch;
    enum cantor_err err;

    if (!delta_is_structurable(d))
        return CANTOR_OK;
    cantor_buf_init(&scratch, 0);
    sc_init(&s, M_ENC, m, NULL);
    s.training = true;
    cantor_rc_enc_init(&s.re, &scratch);
    err = walk(&s, (struct cantor_delta *)d, d->n_entries);
    sc_release(&s);
    cantor_buf_release(&scratch);
    return err;
}

enum cantor_err cantor_struct_decode(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                     uint64_t block, const uint8_t *in, size_t len, size_t max_entries,
                                     struct cantor_delta **ret_delta)
{
    struct sc s;
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    err = cantor_delta_new(block, &d);
    if (err)
        return err;
    sc_init(&s, M_DEC, m, warm);
    if (!m->carried)
        cantor_cm_reset(m->cm);
    cantor_rc_dec_init(&s.rd, in, len);
    err = walk(&s, d, max_entries);
    if (!err && s.rd.overrun > 8)
        err = CANTOR_ERR_CORRUPT;
    if (!err)
        err = cantor_delta_finish(d);
    sc_release(&s);
    if (err == CANTOR_ERR_INVALID || err == CANTOR_ERR_TOO_LARGE)
        err = CANTOR_ERR_CORRUPT;
    if (err) {
        cantor_delta_free(d);
        return err;
    }
    *ret_delta = d;
    return CANTOR_OK;
}
