/*
 * codec_internal.h - pieces of the compression engine shared between core/codec*.c only: the binary
 * range coder, the context-mixing engine and the structural coder. Not a public API.
 */
#ifndef CANTOR_CODEC_INTERNAL_H
#define CANTOR_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "delta.h"
#include "predictor.h"

/* ---- binary arithmetic coder (codec_range.c): carry-less, 32-bit, 12-bit probabilities ---- */
struct cantor_rc_enc {
    uint32_t x1, x2;
    struct cantor_buf *out;
    enum cantor_err err; /* sticky: first append failure */
};

struct cantor_rc_dec {
    uint32_t x1, x2, x;
    const uint8_t *in;
    size_t len, pos;
    size_t overrun; /* bytes read past the end (as zeros); a valid stream needs at most 4 */
};

void cantor_rc_enc_init(struct cantor_rc_enc *e, struct cantor_buf *out);
enum cantor_err cantor_rc_enc_finish(struct cantor_rc_enc *e);
void cantor_rc_dec_init(struct cantor_rc_dec *d, const uint8_t *in, size_t len);

static inline uint32_t cantor_rc_split_(uint32_t x1, uint32_t x2, int p1)
{
    return x1 + (uint32_t)(((uint64_t)(x2 - x1) * (uint32_t)p1) >> 12);
}

/* p1 = P(bit == 1) scaled to 1..4095. */
static inline void cantor_rc_enc_bit(struct cantor_rc_enc *e, int p1, int bit)
{
    uint32_t xmid = cantor_rc_split_(e->x1, e->x2, p1);

    if (bit)
        e->x2 = xmid;
    else
        e->x1 = xmid + 1;
    while (((e->x1 ^ e->x2) & 0xff000000u) == 0) {
        if (!e->err)
            e->err = cantor_buf_append_byte(e->out, (uint8_t)(e->x2 >> 24));
        e->x1 <<= 8;
        e->x2 = (e->x2 << 8) | 255;
    }
}

static inline uint8_t cantor_rc_next_(struct cantor_rc_dec *d)
{
    if (d->pos < d->len)
        return d->in[d->pos++];
    d->overrun++;
    return 0;
}

static inline int cantor_rc_dec_bit(struct cantor_rc_dec *d, int p1)
{
    uint32_t xmid = cantor_rc_split_(d->x1, d->x2, p1);
    int bit = d->x <= xmid;

    if (bit)
        d->x2 = xmid;
    else
        d->x1 = xmid + 1;
    while (((d->x1 ^ d->x2) & 0xff000000u) == 0) {
        d->x1 <<= 8;
        d->x2 = (d->x2 << 8) | 255;
        d->x = (d->x << 8) | cantor_rc_next_(d);
    }
    return bit;
}

/* ---- context mixing (codec_cm.c) ---- */
#define CANTOR_CM_MAX_PRED   8
#define CANTOR_CM_MAX_INPUTS 40
#define CANTOR_CM_WSETS      1024 /* mixer weight sets, selected by field (and node bucket) */
#define CANTOR_CM_APM        4096 /* APM contexts */

/* The mixer's working state: weights and APM (rows: one weight set, one APM context). */
struct cantor_cm_mix {
    int32_t *w;                   /* CANTOR_CM_WSETS * CANTOR_CM_MAX_INPUTS */
    uint16_t *apm;                /* CANTOR_CM_APM * 33 */
    struct cantor_dirty dw, da;   /* rows changed since they equalled the snapshot */
    struct cantor_journal jw, ja; /* initialised for carried states only */
};

struct cantor_cm {
    struct cantor_predictor *pred[CANTOR_CM_MAX_PRED];
    unsigned n_pred;
    struct cantor_cm_mix mix; /* working state (the model's own, or a carried one swapped in) */
    int32_t *w0;              /* snapshot of the weights */
    uint16_t *apm0;           /* snapshot of the APM */
    /* scratch of the decision in flight */
    int16_t st[CANTOR_CM_MAX_INPUTS];
    unsigned n_in, n_in_pred[CANTOR_CM_MAX_PRED];
    unsigned wset, apm_idx;
    int p_mix, p_final;
};

/* Takes ownership of preds (also on failure). */
enum cantor_err cantor_cm_new(struct cantor_predictor **preds, unsigned n, struct cantor_cm **ret_cm);
void cantor_cm_free(struct cantor_cm *cm);
int cantor_cm_predict(struct cantor_cm *cm, const struct cantor_pctx *c); /* P(1), 1..4095 */
void cantor_cm_update(struct cantor_cm *cm, const struct cantor_pctx *c, int bit);
void cantor_cm_reset(struct cantor_cm *cm);
enum cantor_err cantor_cm_snapshot(struct cantor_cm *cm);
void cantor_cm_version_hash(struct cantor_cm *cm, uint8_t out[32]);

/*
 * Carried CM state of a warm stream (codec.c): every predictor's working state and the mixer's, made
 * equal to the snapshot (the prior). cantor_cm_swap exchanges it with the engine's working state; swap
 * again to put the engine's own back. CANTOR_ERR_UNSUPPORTED if a predictor cannot carry state.
 */
struct cantor_cm_state {
    unsigned n_pred;
    const struct cantor_predictor_ops *ops[CANTOR_CM_MAX_PRED];
    void *ps[CANTOR_CM_MAX_PRED];
    struct cantor_cm_mix mix;
};
enum cantor_err cantor_cm_state_new(struct cantor_cm *cm, struct cantor_cm_state **ret_st);
void cantor_cm_state_free(struct cantor_cm_state *st);
void cantor_cm_swap(struct cantor_cm *cm, struct cantor_cm_state *st);
/* Undo journal of the working state (must be a carried one): op CANTOR_JOURNAL_*; false: incomplete. */
bool cantor_cm_journal(struct cantor_cm *cm, int op);

/* ---- structural coder (codec_struct.c) ---- */
/* Encode d (raw canonical bytes already checked) as structural symbols coded by cm. */
enum cantor_err cantor_struct_encode(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                     const struct cantor_delta *d, struct cantor_buf *out);
/* Decode; the result is checked by the caller against the container's length and checksum. */
enum cantor_err cantor_struct_decode(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                     uint64_t block, const uint8_t *in, size_t len, size_t max_entries,
                                     struct cantor_delta **ret_delta);
/* Train: run the structural coder over d without output so the model learns (no reset). */
enum cantor_err cantor_struct_train(struct cantor_codec_model *m, const struct cantor_delta *d);

/* ---- zstd with a trained dictionary (codec_zstd.c) ---- */
struct cantor_zdict;
enum cantor_err cantor_zdict_train(const struct cantor_buf *samples, size_t n, size_t dict_cap,
                                   struct cantor_zdict **ret_zd);
enum cantor_err cantor_zdict_from_bytes(const uint8_t *dict, size_t len, struct cantor_zdict **ret_zd);
void cantor_zdict_free(struct cantor_zdict *zd);
const uint8_t *cantor_zdict_bytes(const struct cantor_zdict *zd, size_t *ret_len);
/* zd may be NULL (plain zstd). level 19 for the baselines and the chunk codec. */
enum cantor_err cantor_zstd_compress(const struct cantor_zdict *zd, int level, const uint8_t *in, size_t len,
                                     struct cantor_buf *out);
enum cantor_err cantor_zstd_decompress(const struct cantor_zdict *zd, const uint8_t *in, size_t len,
                                       size_t raw_len, struct cantor_buf *out);

#endif

/* ---- fixed-length key -> insertion index map (codec_struct.c) ---- */
struct cantor_kmap {
    size_t klen;
    uint8_t *keys; /* n * klen, in insertion order */
    size_t n, cap;
    uint32_t *slots; /* open addressing, value = index + 1, 0 = empty */
    size_t nslots;   /* power of two */
    size_t max;      /* hard cap on n */
};

void cantor_kmap_init(struct cantor_kmap *km, size_t klen, size_t max);
void cantor_kmap_release(struct cantor_kmap *km);
void cantor_kmap_clear(struct cantor_kmap *km);
/* Index of key, or -1. */
long cantor_kmap_find(const struct cantor_kmap *km, const uint8_t *key);
/* Insert if absent; *ret_idx gets the index. CANTOR_ERR_TOO_LARGE at the cap. */
enum cantor_err cantor_kmap_put(struct cantor_kmap *km, const uint8_t *key, size_t *ret_idx, bool *ret_new);
static inline const uint8_t *cantor_kmap_key(const struct cantor_kmap *km, size_t i)
{
    return km->keys + i * km->klen;
}

/* ---- the model snapshot and the warm context ---- */
#define CANTOR_ARR_BASES 64 /* array slots keccak(p) + off for p < CANTOR_ARR_BASES */
#define CANTOR_KMEMO_KEY 22 /* address 20 | order | index */
#define CANTOR_KMEMO_MAX (1u << 19)

struct cantor_codec_model {
    uint8_t arr_base[CANTOR_ARR_BASES][32]; /* keccak(p), computed once */
    struct cantor_cm *cm;
    struct cantor_zdict *zd;      /* NULL until trained */
    struct cantor_kmap dict_addr; /* training addresses (20 bytes), most frequent first */
    struct cantor_kmap dict_slot; /* training storage slots (32 bytes), most frequent first */
    /* while training only (else NULL): per dictionary key, the first training delta that holds it, and
     * the delta being coded; a key counts as in the dictionary only in deltas after its first, as it
     * will for blocks after the training ones */
    uint32_t *dict_addr_first, *dict_slot_first;
    uint32_t train_pos;
    /* contract | deep mapping index (| 0x80: Vyper order) seen in training: where the encoder
     * searches indexes >= 10; encoder-only (the decoder reads (key, index) from the stream) */
    struct cantor_kmap deep;
    uint8_t hash[32];
    uint64_t *train_blocks;            /* the block numbers of its training deltas, sorted, distinct */
    size_t n_train_blocks;             /* 0: untrained */
    struct cantor_codec_breakdown *bd; /* not owned; NULL: no accounting */
    /* set by codec.c while a warm stream's carried CM state is swapped in: struct_encode/decode
     * then code from that state instead of resetting to the prior */
    bool carried;
    /* encoder-only memo of mapping-slot keccaks (not part of the snapshot or its hash) */
    struct cantor_kmap kmemo;
    uint8_t (*kmemo_val)[32]; /* CANTOR_KMEMO_MAX entries, parallel to kmemo */
    /* encoder-only reverse memo of shallow mapping slots: keccak(key . idx) -> (key address, idx) for
     * the Solidity order and idx < 10, and per address how many indexes it holds, so a key seen in an
     * earlier block costs one lookup per block instead of an expansion */
    struct cantor_kmap rmemo;
    uint8_t (*rmemo_val)[21]; /* address 20 | index */
    struct cantor_kmap rdone; /* address -> index into rdone_lim */
    uint8_t *rdone_lim;
};

#define CANTOR_WARM_KEY_LEN  (CANTOR_ADDR_LEN + 1 + CANTOR_WORD_LEN)
#define CANTOR_WARM_MAX_KEYS (1u << 22)

struct cantor_warm_addr {
    uint32_t *slots; /* indexes into vals of this address's storage keys, first-seen order */
    uint32_t n, cap;
};

/*
 * Code history for the match model: bytes of code blobs in order, and a table from the hash of the
 * last CANTOR_MATCH_MIN bytes to the position after them. Capped: when full it stops growing.
 */
#define CANTOR_MATCH_MIN      6
#define CANTOR_MATCH_TAB_BITS 18
#define CANTOR_CODEHIST_MAX   (32u * 1024 * 1024)

struct cantor_codehist {
    uint8_t *buf;
    size_t len, cap;
    uint32_t *tab; /* 1 << bits entries, position + 1, 0 = none */
    unsigned bits; /* 0: CANTOR_MATCH_TAB_BITS */
};

void cantor_codehist_release(struct cantor_codehist *h);
/* Append code (and index it); silently stops at CANTOR_CODEHIST_MAX. */
enum cantor_err cantor_codehist_add(struct cantor_codehist *h, const uint8_t *code, size_t len);

struct cantor_codec_ctx {
    struct cantor_codehist code;    /* code seen by the stream, for the match model */
    struct cantor_kmap addrs;       /* every address seen, first-seen order */
    struct cantor_warm_addr *ainfo; /* parallel to addrs */
    size_t ainfo_cap;
    struct cantor_kmap vals; /* addr | kind | slot -> index into words */
    uint8_t (*words)[CANTOR_WORD_LEN];
    uint32_t *slotpos; /* parallel to words: a storage key's position in its address's slots */
    size_t words_cap;
    struct cantor_codec_state state; /* lookup == NULL: none */
    /*
     * Carried CM state (docs/design.md, "Carried state"): with a snapshot interval k != 1 the adaptive
     * state runs on from chunk to chunk and restarts from the model's prior every k chunks (0: never).
     * pos counts the chunks since the last restart (a snapshot point), id chains their checksums; a
     * chunk with pos > 0 records both so a decoder with another history fails with _MISMATCH.
     */
    uint32_t k;                  /* snapshot interval; 1 (default): no carried state */
    struct cantor_cm_state *cms; /* NULL until first needed */
    uint8_t cms_model[32];       /* the model cms belongs to */
    bool live;                   /* pos/id (and cms, unless fresh) describe this stream */
    bool fresh;                  /* cms is logically the prior: reset it before use */
    uint64_t pos;
    uint32_t id;
    /* multi-block chunks: the verify twin of the encoder's state (NULL until a verified multi-block
     * encode needs it), and whether a failed multi-block decode left keys of unverified blocks here */
    struct cantor_cm_state *vst;
    uint8_t vst_model[32];
    bool spoiled;
};
