/*
 * codec.h - the compression engine: a self-describing chunk container around the canonical delta
 * bytes (docs/formats.md, "Chunk container"), with adaptive per-chunk choice between
 *   - CM:   structural layer (codec_struct.c) + context mixing (codec_cm.c) + range coder,
 *   - ZSTD: zstd level 19 with a dictionary trained on earlier blocks (codec_zstd.c),
 *   - RAW:  the canonical bytes as they are,
 * so a chunk is never larger than the zstd-dict baseline plus the header.
 *
 * A chunk decodes to exactly the canonical bytes it was made from or fails with a precise error:
 * CANTOR_ERR_TRUNCATED, _CHECKSUM, _UNKNOWN_MODEL, _CORRUPT, _UNSUPPORTED (version/codec), _TOO_LARGE.
 *
 * Regimes: cold (warm == NULL: the chunk needs only the model snapshot it names) and warm (a
 * struct cantor_codec_ctx carries the state before the block: known keys, latest values; compress and
 * decompress update it identically after each successful chunk). A warm context may also carry the
 * adaptive CM state from chunk to chunk (cantor_codec_ctx_set_snapshot_interval): then a chunk needs
 * the chunks since the last snapshot point decoded before it, in order, into the same context.
 *
 * Ownership: models and contexts are created and freed by the caller; a model is not thread-safe
 * (it holds the adaptive coder state), use one per thread. A context with carried state owns it
 * (≈ 5 MB) and lends it to the model only for the duration of one compress/decompress call. Output goes to
 * caller-owned cantor_bufs.
 */
#ifndef CANTOR_CODEC_H
#define CANTOR_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "delta.h"
#include "err.h"

#define CANTOR_CHUNK_MAGIC        "CNTC"
#define CANTOR_CHUNK_MAGIC_LEN    4
#define CANTOR_CHUNK_VERSION      2 /* written; 1 (full hashes, delta root) is still read */
#define CANTOR_CHUNK_VERSION_1    1
#define CANTOR_CHUNK_MODEL_PREFIX 8 /* v2 names its model by the first 8 bytes of the model hash */
#define CANTOR_CHUNK_MAX_RAW      (64u * 1024 * 1024) /* decoded size cap (bounded memory) */
#define CANTOR_CHUNK_MAX_LEN      (CANTOR_CHUNK_MAX_RAW + 4096)
#define CANTOR_CHUNK_MAX_BLOCKS   4096u /* blocks in one chunk (block span + 1) */

enum cantor_codec_id {
    CANTOR_CODEC_RAW = 0,
    CANTOR_CODEC_ZSTD_DICT = 1,
    CANTOR_CODEC_CM = 2,      /* structural + context mixing, cold */
    CANTOR_CODEC_CM_WARM = 3, /* structural + context mixing using the warm context */
};

#define CANTOR_CHUNK_FLAG_WARM  1u
#define CANTOR_CHUNK_FLAG_CARRY 2u /* v2: carried CM state; state position and id follow the raw length */
/* v2, warm and several blocks only: coded from an empty context (no state lookup, no keys before it),
 * so it decodes with a fresh context and the model alone; without it a warm multi-block chunk needs the
 * key state before its first block, as the daemon stores them */
#define CANTOR_CHUNK_FLAG_SELF 4u

struct cantor_chunk_info {
    uint8_t version;
    uint8_t codec;
    uint8_t flags;
    uint8_t model_hash[32]; /* the snapshot the payload needs (all zero: none, RAW); v2: only the
                             * first model_hash_len (8) bytes are stored, the rest reads as zero */
    uint8_t model_hash_len; /* 32 (v1) or CANTOR_CHUNK_MODEL_PREFIX (v2) */
    uint64_t first_block, last_block;
    uint64_t raw_len;
    uint8_t delta_root[32]; /* v1 only: keccak256 of the canonical bytes; v2 does not store it (zero) */
    uint64_t checksum;      /* first 8 bytes (BE) of keccak256(header before checksum || raw) */
    /* CANTOR_CHUNK_FLAG_CARRY: chunks since the stream's last snapshot point (>= 1) and the id of
     * the CM state after them (a chain over their checksums); zero without the flag */
    uint64_t state_pos;
    uint32_t state_id;
    size_t header_len, payload_len;
};

const char *cantor_codec_name(uint8_t codec_id); /* "raw", "zstd-dict", "cm", "cm-warm" or NULL */

/* ---- model snapshot: zstd dictionary, key dictionaries, CM priors ---- */
struct cantor_codec_model;

/* An untrained model (empty dictionaries, flat priors); its hash is stable across machines. */
enum cantor_err cantor_codec_model_new(struct cantor_codec_model **ret_model);
void cantor_codec_model_free(struct cantor_codec_model *m);
/*
 * Learn from finished deltas (in order): zstd dictionary over their canonical bytes, dictionaries
 * of their addresses and slots (most frequent first), CM priors (the coder is run over every delta
 * and its state kept; a dictionary key counts as known only after the first delta that holds it).
 * Call once on a fresh model; the model's version hash changes accordingly.
 */
enum cantor_err cantor_codec_model_train(struct cantor_codec_model *m,
                                         const struct cantor_delta *const *deltas, size_t n);
void cantor_codec_model_hash(const struct cantor_codec_model *m, uint8_t out[32]);
/*
 * The blocks a model was trained on. A chunk may only use a model that was not trained on any of its
 * blocks: such a model is rebuilt only from those very blocks (its bundle carries them), and would
 * flatter every figure. A model trained on later blocks may code earlier ones (like a dictionary
 * trained on other blocks).
 * trained_through: the highest block number among its deltas (false: untrained).
 * trained_on: whether one of its deltas is of a block in first..last (false for an untrained model).
 */
bool cantor_codec_model_trained_through(const struct cantor_codec_model *m, uint64_t *ret_block);
bool cantor_codec_model_trained_on(const struct cantor_codec_model *m, uint64_t first, uint64_t last);

/*
 * Model bundle (core/codec_bundle.c, docs/formats.md "Model bundle"): what a client needs to rebuild a
 * model snapshot offline, since a model is defined by the deltas it was trained on (training is
 * deterministic): "CMB1" | n u32 | n x (block u64 | len u32 | canonical delta bytes), all BE, in
 * training order. The untrained model is the bundle with n = 0.
 */
#define CANTOR_CODEC_BUNDLE_MAX_BLOCKS 4096u
#define CANTOR_CODEC_BUNDLE_MAX_BYTES  (512u << 20)
/* Start a bundle in out (cleared first). */
enum cantor_err cantor_codec_bundle_begin(struct cantor_buf *out);
/* Append one training block's canonical bytes; updates the count in out. */
enum cantor_err cantor_codec_bundle_add(struct cantor_buf *out, uint64_t block, const uint8_t *raw,
                                        size_t len);
/*
 * Parse a bundle strictly (magic, count, lengths, every delta canonical, blocks ascending, no trailing
 * bytes) and train a fresh model on it. want_hash (may be NULL) must then equal the model's hash
 * (CANTOR_ERR_MISMATCH otherwise). Caller frees *ret_model.
 */
enum cantor_err cantor_codec_bundle_train(const uint8_t *buf, size_t len, const uint8_t *want_hash,
                                          struct cantor_codec_model **ret_model);

/* Where the bytes of the CM path go: estimated from the coded probabilities (-log2 p per decision). */
enum cantor_codec_part {
    CANTOR_PART_ADDR,     /* the address list */
    CANTOR_PART_SLOT,     /* storage slot keys */
    CANTOR_PART_OLD,      /* old values (free in warm mode when the state before the block has them) */
    CANTOR_PART_NEW,      /* new values */
    CANTOR_PART_CODE,     /* code blobs */
    CANTOR_PART_OVERHEAD, /* counts, kind flags, entry framing */
    CANTOR_PART__COUNT
};
struct cantor_codec_breakdown {
    double bits[CANTOR_PART__COUNT];
    uint64_t decisions[CANTOR_PART__COUNT]; /* binary decisions coded through the mixer */
};
const char *cantor_codec_part_name(int part); /* "addresses", "slots", ... or NULL */
/* While bd is set, every CM encode (not training, not decoding) adds its cost to *bd. NULL: off. */
void cantor_codec_model_set_breakdown(struct cantor_codec_model *m, struct cantor_codec_breakdown *bd);

/* ---- warm context: the state before the block, as far as the stream has shown it ---- */
struct cantor_codec_ctx;

enum cantor_err cantor_codec_ctx_new(struct cantor_codec_ctx **ret_ctx);
void cantor_codec_ctx_free(struct cantor_codec_ctx *ctx);
/*
 * The state before the block, as the daemon's store knows it. The warm coder asks it for the old value
 * of a key only after that key has been coded (the decoder has decoded it), never to enumerate keys.
 * lookup returns true and fills ret_val when the value is known. Keys the stream itself has shown are
 * answered from the context first. Encoder and decoder must be given the same state.
 */
struct cantor_codec_state {
    bool (*lookup)(void *arg, const uint8_t addr[20], uint8_t kind, const uint8_t slot[32],
                   uint8_t ret_val[32]);
    void *arg;
};
/* st == NULL: only what the stream has shown (the default). The struct is copied. */
void cantor_codec_ctx_set_state(struct cantor_codec_ctx *ctx, const struct cantor_codec_state *st);
/*
 * Carried CM state. k == 1 (the default): every chunk starts from the model's trained prior, so a
 * chunk needs only the key state before it. k > 1: the adaptive state runs on across the chunks of
 * the stream and restarts from the prior every k chunks (snapshot points; k == 0: never), so decoding
 * chunk n takes decoding up to k-1 chunks before it. The encoder's k decides where snapshot points
 * are (a chunk says whether it is one); a decoder context needs k != 1 (any value) to keep the state.
 * A chunk that needs carried state the context does not have fails with CANTOR_ERR_MISMATCH.
 * Setting k (again) makes the next chunk encoded a snapshot point and makes a decoder context forget
 * the chunks it followed.
 */
void cantor_codec_ctx_set_snapshot_interval(struct cantor_codec_ctx *ctx, uint32_t k);
/* Allocate the carried state for model m now (≈ 5 MB; otherwise on the first chunk that needs it). */
enum cantor_err cantor_codec_ctx_bind(struct cantor_codec_ctx *ctx, struct cantor_codec_model *m);
/* Record d's keys and new values (done by compress/decompress; exposed for snapshot loading). */
enum cantor_err cantor_codec_ctx_apply(struct cantor_codec_ctx *ctx, const struct cantor_delta *d);

/* Options of one compress call. */
struct cantor_codec_opts {
    bool try_cm, try_zstd; /* candidates besides RAW (both true by default) */
    bool verify;           /* decode the CM payload before choosing it (default true) */
};
#define CANTOR_CODEC_OPTS_DEFAULT                                                                            \
    ((struct cantor_codec_opts){.try_cm = true, .try_zstd = true, .verify = true})

/*
 * Compress canonical delta bytes (must decode with cantor_delta_decode) into one chunk appended to
 * out. warm == NULL: cold. *ret_codec (optional) gets the chosen codec.
 */
enum cantor_err cantor_codec_compress(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                      const struct cantor_codec_opts *opts, const uint8_t *raw,
                                      size_t raw_len, struct cantor_buf *out, uint8_t *ret_codec);
/*
 * Several consecutive blocks in one chunk (block span n - 1): raws[i] is the canonical delta of block
 * first + i, and the chunk's canonical bytes are the n deltas concatenated in order (split them with
 * cantor_delta_decode_prefix). Needs a warm context with snapshot interval 1 (else
 * CANTOR_ERR_INVALID): a codec-3 payload codes the blocks in order, the CM state running on from block
 * to block and the context taking each block's keys before the next, and starts from the model's prior
 * at every chunk, so a chunk decodes on its own given the key state before it; random access to a
 * block costs decoding the blocks before it in its chunk. The context's state lookup answers for the
 * state before the chunk's first block; a context that knows nothing (fresh, no state lookup) makes a
 * self-contained chunk (CANTOR_CHUNK_FLAG_SELF), which a decoder must also give a fresh context
 * (CANTOR_ERR_MISMATCH otherwise). n == 1 is cantor_codec_compress(). The per-chunk header
 * (≈ 30 B) is paid once per n blocks. A failure to record a block in the context (out of memory)
 * spoils it: later chunks fail with CANTOR_ERR_MISMATCH.
 */
enum cantor_err cantor_codec_compress_blocks(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                             const struct cantor_codec_opts *opts, const uint8_t *const *raws,
                                             const size_t *lens, size_t n, struct cantor_buf *out,
                                             uint8_t *ret_codec);
/*
 * Decompress one chunk (exactly len bytes) and append the canonical bytes to out. A multi-block chunk
 * needs a context with snapshot interval 1 if it is warm; one that fails after some of its blocks were
 * decoded leaves their keys in the context, which then refuses every further chunk with
 * CANTOR_ERR_MISMATCH (start again from a fresh context).
 */
enum cantor_err cantor_codec_decompress(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                        const uint8_t *chunk, size_t len, struct cantor_buf *out);
/* Parse and check the header only (no payload decoding). */
enum cantor_err cantor_chunk_parse_header(const uint8_t *chunk, size_t len,
                                          struct cantor_chunk_info *ret_info);

#endif
