/*
 * compress.h - the compression engine inside cantord: a follower block hook that codes every block's
 * canonical delta into a chunk (core/codec.h, warm regime: the state before the block is answered
 * from the store at the parent block) and writes it in the block's own atomic batch; a model
 * registry (CF_MODELS: immutable, content-hashed versions; a version is the list of followed blocks
 * it was trained on, so it is rebuilt bit-exactly from the store); and a background trainer thread
 * that retrains on recent blocks, promotes a model only when it codes a held-out sample smaller, and
 * then re-encodes older chunks (compaction, resumable through meta, each new chunk verified before
 * it replaces the old one); once blocks are final it packs runs of them into one chunk each.
 *
 * Threading: the hook runs on the follower thread, decode/encode/stats on HTTP threads, training and
 * compaction on the trainer thread. Codec models are not thread-safe, so every use of a cached model
 * holds one codec lock (coding is fast; training happens on a private model outside the lock).
 * Memory: the engine borrows the store (it must outlive the engine); output goes to caller buffers.
 */
#ifndef CANTOR_DAEMON_COMPRESS_H
#define CANTOR_DAEMON_COMPRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/err.h"
#include "daemon/follower.h"
#include "rpc/api.h"
#include "rpc/api_codec.h"
#include "storage/store.h"

#define CANTOR_COMPRESS_TRAIN_BLOCKS_DEFAULT     64u   /* first model: after this many followed blocks */
#define CANTOR_COMPRESS_RETRAIN_EVERY_DEFAULT    256u  /* then retrain after this many new blocks */
#define CANTOR_COMPRESS_MAX_TRAIN_BLOCKS         1024u /* newest blocks one training reads */
#define CANTOR_COMPRESS_COMPACT_STEP_DEFAULT     16u   /* chunks re-encoded per trainer wake-up */
#define CANTOR_COMPRESS_MAX_MODELS               8u    /* model versions kept in memory */
#define CANTOR_COMPRESS_KEY_WINDOW               32u   /* earlier blocks whose keys a warm chunk refers to */
#define CANTOR_COMPRESS_BLOCKS_PER_CHUNK_DEFAULT 16u   /* blocks in one stored chunk, once final */
#define CANTOR_COMPRESS_MAX_BLOCKS_PER_CHUNK     64u

struct cantor_compress_opts {
    uint64_t train_blocks;  /* 0 = default; blocks needed before the first training */
    uint64_t retrain_every; /* 0 = default */
    uint64_t compact_step;  /* 0 = default; bounds the trainer's CPU per wake-up */
    unsigned interval_ms;   /* trainer wake-up period, 0 = 1000 */
    int nice;               /* > 0: the trainer thread runs at this nice value (daemon/thread.h) */
    /*
     * 0 = default; 1: one chunk per block forever. B > 1: once blocks s..s+B-1 (s a multiple of B) are
     * pack_depth blocks below the head, the trainer replaces their B chunks by one chunk of all of
     * them, stored under s (docs/design.md, "Stored chunks of several blocks").
     */
    uint32_t blocks_per_chunk;
    uint64_t
        pack_depth; /* 0 = CANTOR_FOLLOWER_MAX_REORG: no reorg the follower accepts reaches a packed chunk */
};

struct cantor_compress_stats {
    uint64_t blocks, chunks, raw_bytes, stored_bytes; /* blocks with a stored chunk, and the chunks */
    uint64_t per_codec[4]; /* blocks, indexed by the codec of the chunk that holds them */
    uint8_t active_model[32];
    bool trained;       /* the active model is not the untrained one */
    uint64_t trainings; /* trainings run since start */
    uint64_t promotions;
    time_t last_training;                        /* 0 = never */
    uint64_t last_train_first, last_train_last;  /* blocks the last training used */
    uint64_t last_holdout_new, last_holdout_old; /* held-out bytes with the new / the active model */
    double last_loss;                            /* held-out bits per raw byte of the last training's model */
    uint64_t compacted;                          /* chunks re-encoded since start */
    uint64_t compact_next, compact_end;          /* pending compaction range (next > end: none) */
    uint32_t blocks_per_chunk;                   /* as configured (1: no packing) */
    uint64_t packed;                             /* chunks of several blocks written since start */
    uint64_t pack_next;                          /* blocks below this one have been considered for packing */
};

struct cantor_compress;

enum cantor_err cantor_compress_new(struct cantor_store *store, const struct cantor_compress_opts *opts,
                                    struct cantor_compress **ret_c);
/* Stops the trainer; NULL-safe. */
void cantor_compress_free(struct cantor_compress *c);
/* The block hook to register with cantor_follower_add_hook(); valid while c lives. */
const struct cantor_block_hook *cantor_compress_hook(struct cantor_compress *c);
enum cantor_err cantor_compress_start(struct cantor_compress *c); /* start the trainer thread */
void cantor_compress_stop(struct cantor_compress *c);             /* ask it to stop (non-blocking) */

/*
 * A chunk of block n alone, as this binary decodes it: the stored one when n has its own chunk, or,
 * where the re-encoding that follows a coder change (migrate_coder) has not reached it yet, one coded
 * now from the stored delta and written in its place, so a served chunk always decodes. A block
 * inside a stored chunk of several blocks gets a one-block warm chunk coded now with that chunk's
 * model (the same bytes the block hook would have stored). *ret_chunk is malloc'd; NOT_FOUND: none.
 */
enum cantor_err cantor_compress_get_chunk(struct cantor_compress *c, uint64_t n, uint8_t **ret_chunk,
                                          size_t *ret_len);
/*
 * The stored chunk that holds block n, as stored (one block, or several once packed; its header names
 * them), re-coded first only if an upgrade left it undecodable. *ret_chunk is malloc'd.
 */
enum cantor_err cantor_compress_get_stored(struct cantor_compress *c, uint64_t n, uint8_t **ret_chunk,
                                           size_t *ret_len);
/* Chunk -> canonical bytes appended to out; the model and (warm) parent state come from the store. */
enum cantor_err cantor_compress_decode(struct cantor_compress *c, const uint8_t *chunk, size_t len,
                                       struct cantor_buf *out);
/*
 * The model bundle (core/codec.h) of the registered model whose hash starts with prefix (plen bytes,
 * 1..32; 0 = the active model): what `cantor decompress --model` needs to decode a cold chunk
 * offline. CANTOR_ERR_UNKNOWN_MODEL when no version (or more than one) matches, or its training
 * blocks were pruned.
 */
enum cantor_err cantor_compress_model_bundle(struct cantor_compress *c, const uint8_t *prefix, size_t plen,
                                             struct cantor_buf *out);
/* Canonical bytes -> a cold chunk with the active model (needs no state to decode). */
enum cantor_err cantor_compress_encode(struct cantor_compress *c, const uint8_t *raw, size_t len,
                                       struct cantor_buf *out);
/*
 * Blocks first .. first + count - 1 (count 1..CANTOR_COMPRESS_RANGE_MAX) -> one self-contained chunk
 * of all of them with the active model, made now from the stored deltas (docs/formats.md "Several
 * blocks per chunk"): its warm context is only what its own blocks show, so it decodes offline with
 * the model bundle alone. NOT_FOUND: a block of the range has no stored delta.
 */
#define CANTOR_COMPRESS_RANGE_MAX CANTOR_API_RANGE_MAX /* 32 */
enum cantor_err cantor_compress_encode_range(struct cantor_compress *c, uint64_t first, uint64_t count,
                                             struct cantor_buf *out);
void cantor_compress_get_stats(struct cantor_compress *c, struct cantor_compress_stats *ret);

/* One trainer round now, on the calling thread (tests, tools): train if due, compact a step. */
enum cantor_err cantor_compress_train_step(struct cantor_compress *c, bool force, bool *ret_promoted);
enum cantor_err cantor_compress_compact_step(struct cantor_compress *c, uint64_t max_blocks,
                                             uint64_t *ret_done);
/* Pack up to max_chunks final runs of blocks into chunks of several blocks (see blocks_per_chunk). */
enum cantor_err cantor_compress_pack_step(struct cantor_compress *c, uint64_t max_chunks, uint64_t *ret_done);

/* The engine as rpc/ sees it (valid while c lives), and its part of /v1/status. */
const struct cantor_api_codec *cantor_compress_api(struct cantor_compress *c);
void cantor_compress_fill_status(struct cantor_compress *c, struct cantor_api_status *ret);

#endif
