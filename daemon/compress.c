/*
 * compress.c - see compress.h. Store records owned here:
 *   CF_CHUNKS  first block (BE u64)    -> chunk (docs/formats.md "Chunk container") of that block, or,
 *                                         once packed, of it and the blocks its header names after it
 *   CF_MODELS  model hash (32)         -> "CMV1" | n u32 | n x block u64 (the training blocks, in order)
 *   meta u.compress.active             -> model hash 32 | block the training ended at u64
 *   meta u.compress.compact            -> next u64 | end u64 | target model hash 32 [| force u8]
 *   meta u.compress.coder              -> coder_id() of the binary that wrote them
 * A model version is rebuilt by training a fresh model on the deltas of its blocks and is accepted
 * only when the rebuilt hash equals the key, so a chunk decodes after a restart exactly as before.
 * A binary whose coder differs (another untrained hash or key window) cannot rebuild those versions
 * or decode those chunks: it drops the records and re-encodes every chunk from the stored canonical
 * deltas (migrate_coder).
 */
#include "daemon/compress.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hex.h"
#include "core/keccak.h"
#include "core/log.h"
#include "daemon/thread.h"
#include "storage/keys.h"

#define MODEL_MAGIC      "CMV1"
#define META_ACTIVE      "compress.active"
#define META_COMPACT     "compress.compact"
#define META_KEY_ACTIVE  "u.compress.active"
#define META_KEY_COMPACT "u.compress.compact"
#define META_CODER       "compress.coder"
#define META_KEY_CODER   "u.compress.coder"
#define MAX_PACK_SCAN    4096u /* runs one packing step looks at (an already packed one costs a read) */
#define MAX_SCAN_CHUNKS  (1u << 26)

/* What a write does to the stats (signed; applied under c->lock, clamped at zero). */
struct stat_change {
    int64_t blocks, chunks, raw, stored;
    int64_t per_codec[4];
};

struct model_slot {
    uint8_t hash[32];
    struct cantor_codec_model *m;
    uint64_t used;
};

struct cantor_compress {
    struct cantor_store *store;
    struct cantor_compress_opts o;
    struct cantor_block_hook hook;
    pthread_mutex_t lock; /* models, active, stats: and every use of a cached model */
    struct model_slot models[CANTOR_COMPRESS_MAX_MODELS];
    size_t n_models;
    uint64_t tick;
    uint8_t active[32], untrained[32];
    uint8_t coder[32];     /* what stored chunks depend on besides their model: see coder_id() */
    bool compact_force;    /* the compaction range must be re-encoded whatever the chunks (migrate_coder) */
    uint64_t trained_head; /* the head at the last training (promoted or not) or promotion */
    bool train_tried;      /* trained_head is set: a training ran, or the active model was loaded */
    struct cantor_compress_stats st;
    struct stat_change rb; /* what the pending rollback does to the stored chunks */
    bool rb_set;
    uint64_t rb_unpacked; /* first block of the chunk the pending rollback unpacks, UINT64_MAX: none */
    uint64_t pack_epoch;  /* bumped when a rollback lowers st.pack_next */
    /* Chunk rewrites vs each other and rollback: a rollback bumps gen under write_lock before its
       batch commits, compaction and packing bump it when they commit, and they commit only under
       write_lock with gen unchanged since they read the chunks they replace and no rollback open
       (a packing that started after the rollback read the chunks would otherwise commit a chunk
       reaching the rolled-back block before the rollback's batch). */
    pthread_mutex_t write_lock;
    uint64_t gen;
    bool rb_open; /* a rollback batch may be pending: no rewrite commits (follower thread clears it) */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    atomic_bool stopping;
    bool thread_started;
    pthread_t thread;
    struct cantor_api_codec api;
};

struct prepared {
    uint8_t *chunk;
    size_t len;
    uint64_t raw_len;
    uint8_t codec;
};

struct lookup_arg {
    struct cantor_store *store;
    uint64_t parent;
    bool has_parent;
};

/*
 * The state before block parent+1, identical for the encoder (store head = parent) and any later
 * decoder (head beyond): only keys whose first change is at or below parent are known, with the value
 * of their last change <= parent. Later changes and observed base values are ignored on purpose: the
 * encoder could not see them.
 */
static bool state_lookup(void *arg, const uint8_t addr[20], uint8_t kind, const uint8_t slot[32],
                         uint8_t ret_val[32])
{
    struct lookup_arg *a = arg;
    const uint8_t *s = kind == CANTOR_KIND_STORAGE ? slot : NULL;
    uint64_t first = 0, next = 0;
    size_t n = 0;
    bool known = false;

    if (!a->has_parent || kind > CANTOR_KIND_STORAGE)
        return false;
    if (cantor_store_history(a->store, addr, kind, s, 0, 1, &first, &n, &next) || n == 0 || first > a->parent)
        return false;
    if (cantor_store_get_value(a->store, addr, kind, s, a->parent, ret_val, &known))
        return false;
    return known;
}

/*
 * The stream-local tables of a warm chunk: the deltas of the CANTOR_COMPRESS_KEY_WINDOW blocks before
 * `block`, applied in order, so addresses and slots seen there are coded as references (a few bits)
 * instead of 20 or 32 literal bytes, and their code feeds the match model. They are the chunk's own
 * ancestors in the store, which a later decoder reads back exactly as the encoder did (a reorg that
 * replaces one also rolls the chunk back). The window stops at the first block without a delta:
 * before the first followed block, or pruned (a chunk whose window was pruned then fails its
 * checksum: an error, never wrong bytes).
 */
static enum cantor_err apply_window(struct cantor_compress *c, uint64_t block, struct cantor_codec_ctx *ctx)
{
    struct cantor_delta *d[CANTOR_COMPRESS_KEY_WINDOW];
    size_t n = 0;
    enum cantor_err err = CANTOR_OK;

    for (uint64_t j = block; j > 0 && n < CANTOR_COMPRESS_KEY_WINDOW; j--) {
        err = cantor_store_get_delta(c->store, j - 1, &d[n]);
        if (err == CANTOR_ERR_NOT_FOUND) {
            err = CANTOR_OK;
            break;
        }
        if (err)
            break;
        n++;
    }
    for (size_t i = n; i > 0 && !err; i--)
        err = cantor_codec_ctx_apply(ctx, d[i - 1]);
    for (size_t i = 0; i < n; i++)
        cantor_delta_free(d[i]);
    return err;
}

static enum cantor_err warm_ctx(struct cantor_compress *c, uint64_t block, struct lookup_arg *la,
                                struct cantor_codec_ctx **ret_ctx)
{
    struct cantor_codec_state st;
    enum cantor_err err = cantor_codec_ctx_new(ret_ctx);

    if (err)
        return err;
    la->store = c->store;
    la->has_parent = block > 0;
    la->parent = block ? block - 1 : 0;
    st.lookup = state_lookup;
    st.arg = la;
    cantor_codec_ctx_set_state(*ret_ctx, &st);
    err = apply_window(c, block, *ret_ctx);
    if (err) {
        cantor_codec_ctx_free(*ret_ctx);
        *ret_ctx = NULL;
    }
    return err;
}

/* ---- model registry ---- */

static enum cantor_err model_record(const uint64_t *blocks, size_t n, uint8_t **ret_val, size_t *ret_len)
{
    size_t len = 8 + 8 * n;
    uint8_t *v = malloc(len);

    if (!v)
        return CANTOR_ERR_NOMEM;
    memcpy(v, MODEL_MAGIC, 4);
    cantor_be32_put(v + 4, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        cantor_be64_put(v + 8 + 8 * i, blocks[i]);
    *ret_val = v;
    *ret_len = len;
    return CANTOR_OK;
}

static void free_deltas(struct cantor_delta **d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        cantor_delta_free(d[i]);
    free(d);
}

static enum cantor_err train_on(struct cantor_store *store, const uint64_t *blocks, size_t n,
                                struct cantor_codec_model **ret_m)
{
    struct cantor_delta **d = calloc(n ? n : 1, sizeof(*d));
    struct cantor_codec_model *m = NULL;
    enum cantor_err err = d ? CANTOR_OK : CANTOR_ERR_NOMEM;

    for (size_t i = 0; !err && i < n; i++)
        err = cantor_store_get_delta(store, blocks[i], &d[i]);
    if (!err)
        err = cantor_codec_model_new(&m);
    if (!err && n)
        err = cantor_codec_model_train(m, (const struct cantor_delta *const *)d, n);
    free_deltas(d, n);
    if (err) {
        cantor_codec_model_free(m);
        return err;
    }
    *ret_m = m;
    return CANTOR_OK;
}

/* The training blocks of a registered version: model_record()'s record read back; *ret_blocks is malloc'ed.
 */
static enum cantor_err model_blocks(struct cantor_compress *c, const uint8_t hash[32], uint64_t **ret_blocks,
                                    size_t *ret_n)
{
    uint8_t *v = NULL;
    uint64_t *blocks = NULL;
    size_t len = 0, n;
    enum cantor_err err;

    err = cantor_store_get_raw(c->store, CANTOR_CF_MODELS, hash, 32, &v, &len);
    if (err == CANTOR_ERR_NOT_FOUND)
        return CANTOR_ERR_UNKNOWN_MODEL;
    if (err)
        return err;
    err = CANTOR_ERR_CORRUPT;
    if (len < 8 || memcmp(v, MODEL_MAGIC, 4) != 0)
        goto out;
    n = cantor_be32_get(v + 4);
    if (n > CANTOR_COMPRESS_MAX_TRAIN_BLOCKS || len != 8 + 8 * n)
        goto out;
    err = CANTOR_ERR_NOMEM;
    blocks = calloc(n ? n : 1, sizeof(*blocks));
    if (!blocks)
        goto out;
    for (size_t i = 0; i < n; i++)
        blocks[i] = cantor_be64_get(v + 8 + 8 * i);
    *ret_blocks = blocks;
    *ret_n = n;
    err = CANTOR_OK;
out:
    free(v);
    return err;
}

/* Rebuild a registered version from the store (slow: no lock held). */
static enum cantor_err model_build(struct cantor_compress *c, const uint8_t hash[32],
                                   struct cantor_codec_model **ret_m)
{
    struct cantor_codec_model *m = NULL;
    uint8_t got[32];
    uint64_t *blocks = NULL;
    size_t n = 0;
    enum cantor_err err;

    if (memcmp(hash, c->untrained, 32) == 0)
        return cantor_codec_model_new(ret_m);
    err = model_blocks(c, hash, &blocks, &n);
    if (err)
        return err;
    err = train_on(c->store, blocks, n, &m);
    if (err == CANTOR_ERR_NOT_FOUND)
        err = CANTOR_ERR_UNKNOWN_MODEL; /* its training blocks were pruned */
    if (err)
        goto out;
    cantor_codec_model_hash(m, got);
    if (memcmp(got, hash, 32) != 0) {
        log_error("compress", "model rebuilt from the store does not match its version hash");
        err = CANTOR_ERR_MISMATCH;
        goto out;
    }
    *ret_m = m;
    m = NULL;
out:
    cantor_codec_model_free(m);
    free(blocks);
    return err;
}

/* Called with c->lock held; takes ownership of m. Evicts the least recently used non-active model. */
static struct cantor_codec_model *cache_insert(struct cantor_compress *c, const uint8_t hash[32],
                                               struct cantor_codec_model *m)
{
    size_t victim = c->n_models;

    for (size_t i = 0; i < c->n_models; i++)
        if (memcmp(c->models[i].hash, hash, 32) == 0) {
            cantor_codec_model_free(m); /* another thread built it meanwhile */
            c->models[i].used = ++c->tick;
            return c->models[i].m;
        }
    if (c->n_models < CANTOR_COMPRESS_MAX_MODELS) {
        victim = c->n_models++;
    } else {
        for (size_t i = 0; i < c->n_models; i++)
            if (memcmp(c->models[i].hash, c->active, 32) != 0 &&
                (victim == c->n_models || c->models[i].used < c->models[victim].used))
                victim = i;
        cantor_codec_model_free(c->models[victim].m);
    }
    memcpy(c->models[victim].hash, hash, 32);
    c->models[victim].m = m;
    c->models[victim].used = ++c->tick;
    return m;
}

/* Called with c->lock held; may drop and retake it while a version is rebuilt. */
static enum cantor_err model_get(struct cantor_compress *c, const uint8_t hash[32],
                                 struct cantor_codec_model **ret_m)
{
    struct cantor_codec_model *m = NULL;
    uint8_t h[32];
    enum cantor_err err;

    memcpy(h, hash, 32);
    for (size_t i = 0; i < c->n_models; i++)
        if (memcmp(c->models[i].hash, h, 32) == 0) {
            c->models[i].used = ++c->tick;
            *ret_m = c->models[i].m;
            return CANTOR_OK;
        }
    pthread_mutex_unlock(&c->lock);
    err = model_build(c, h, &m);
    pthread_mutex_lock(&c->lock);
    if (err)
        return err;
    *ret_m = cache_insert(c, h, m);
    return CANTOR_OK;
}

struct prefix_hit {
    uint8_t hash[32];
    size_t n;
};

static enum cantor_err prefix_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *ctx)
{
    struct prefix_hit *h = ctx;

    (void)val;
    (void)vlen;
    if (klen == 32 && h->n++ == 0)
        memcpy(h->hash, key, 32);
    return CANTOR_OK;
}

/*
 * The full hash of the model version a hash prefix names (8 bytes in chunk v2, 32 in v1): a cached
 * version, the untrained model, or exactly one registered version; called with c->lock held.
 */
static enum cantor_err resolve_prefix(struct cantor_compress *c, const uint8_t *prefix, size_t plen,
                                      uint8_t ret_hash[32])
{
    struct prefix_hit hit = {{0}, 0};
    enum cantor_err err;

    if (plen == 0 || plen > 32)
        return CANTOR_ERR_UNKNOWN_MODEL;
    for (size_t i = 0; i < c->n_models; i++)
        if (memcmp(c->models[i].hash, prefix, plen) == 0) {
            memcpy(ret_hash, c->models[i].hash, 32);
            return CANTOR_OK;
        }
    if (memcmp(c->untrained, prefix, plen) == 0) {
        memcpy(ret_hash, c->untrained, 32);
        return CANTOR_OK;
    }
    err = cantor_store_scan(c->store, CANTOR_CF_MODELS, prefix, plen, 2, prefix_cb, &hit);
    if (err)
        return err;
    if (hit.n != 1) {
        if (hit.n > 1)
            log_error("compress", "two registered models share a model hash prefix");
        return CANTOR_ERR_UNKNOWN_MODEL;
    }
    memcpy(ret_hash, hit.hash, 32);
    return CANTOR_OK;
}

/* A chunk names its model by a hash prefix; called with c->lock held. */
static enum cantor_err model_get_prefix(struct cantor_compress *c, const uint8_t *prefix, size_t plen,
                                        struct cantor_codec_model **ret_m)
{
    uint8_t hash[32];
    enum cantor_err err = resolve_prefix(c, prefix, plen, hash);

    return err ? err : model_get(c, hash, ret_m);
}

/* Whether m may code a chunk of blocks first..last: it was trained on none of them. */
static bool may_code(const struct cantor_codec_model *m, uint64_t first, uint64_t last)
{
    return !cantor_codec_model_trained_on(m, first, last);
}

/*
 * Called with c->lock held: the model to code a chunk of blocks first..last with. `want` when it was
 * trained on none of them; else the model named by prefix `alt` (the chunk the blocks are stored in
 * now; NULL: none) when that one was not; else the untrained model. A model trained on a block it
 * codes would need that very block to be rebuilt (its bundle carries it): after a promotion,
 * compaction and packing reach over blocks the new model was trained on.
 */
static enum cantor_err model_for(struct cantor_compress *c, const uint8_t want[32], const uint8_t *alt,
                                 size_t alt_len, uint64_t first, uint64_t last,
                                 struct cantor_codec_model **ret_m)
{
    struct cantor_codec_model *m = NULL;
    uint8_t untrained[32];
    enum cantor_err err = model_get(c, want, &m);

    if (!err && may_code(m, first, last)) {
        *ret_m = m;
        return CANTOR_OK;
    }
    if ((!err || err == CANTOR_ERR_UNKNOWN_MODEL) && alt && alt_len) {
        err = model_get_prefix(c, alt, alt_len, &m);
        if (!err && may_code(m, first, last)) {
            *ret_m = m;
            return CANTOR_OK;
        }
    }
    if (err && err != CANTOR_ERR_UNKNOWN_MODEL)
        return err;
    memcpy(untrained, c->untrained, 32);
    return model_get(c, untrained, ret_m);
}

/* ---- stats ---- */

/* sign = +1: a chunk written, -1: a chunk removed. */
static void stat_chunk(struct stat_change *d, const struct cantor_chunk_info *info, size_t len, int sign)
{
    int64_t n = (int64_t)(info->last_block - info->first_block) + 1;

    d->blocks += sign * n;
    d->chunks += sign;
    d->raw += sign * (int64_t)info->raw_len;
    d->stored += sign * (int64_t)len;
    if (info->codec < 4)
        d->per_codec[info->codec] += sign * n;
}

static void stat_add(uint64_t *v, int64_t d)
{
    *v = d < 0 && (uint64_t)-d > *v ? 0 : *v + (uint64_t)d;
}

/* Called with c->lock held. */
static void stat_apply(struct cantor_compress *c, const struct stat_change *d)
{
    stat_add(&c->st.blocks, d->blocks);
    stat_add(&c->st.chunks, d->chunks);
    stat_add(&c->st.raw_bytes, d->raw);
    stat_add(&c->st.stored_bytes, d->stored);
    for (int i = 0; i < 4; i++)
        stat_add(&c->st.per_codec[i], d->per_codec[i]);
}

/* ---- coding ---- */

/*
 * Code n consecutive blocks from `first` warm with model m into one chunk (n == 1: the block hook's
 * chunk); called with c->lock held. The context is the state before `first`, so a chunk of several
 * blocks is not self-contained: it decodes only with the same store (decode_locked).
 */
static enum cantor_err encode_blocks(struct cantor_compress *c, struct cantor_codec_model *m, uint64_t first,
                                     const uint8_t *const *raws, const size_t *lens, size_t n,
                                     struct cantor_buf *out, uint8_t *ret_codec)
{
    struct cantor_codec_ctx *ctx = NULL;
    struct lookup_arg la;
    enum cantor_err err = warm_ctx(c, first, &la, &ctx);

    if (!err)
        err = cantor_codec_compress_blocks(m, ctx, NULL, raws, lens, n, out, ret_codec);
    cantor_codec_ctx_free(ctx);
    return err;
}

static enum cantor_err encode_block(struct cantor_compress *c, struct cantor_codec_model *m, uint64_t block,
                                    const uint8_t *raw, size_t len, struct cantor_buf *out,
                                    uint8_t *ret_codec)
{
    return encode_blocks(c, m, block, &raw, &len, 1, out, ret_codec);
}

/* Block n's stored delta coded warm with m into out (c->lock held, or m private); *ret_raw_len
 * (optional) gets its canonical length. NOT_FOUND: the delta is pruned or gone. */
static enum cantor_err encode_stored(struct cantor_compress *c, struct cantor_codec_model *m, uint64_t n,
                                     struct cantor_buf *out, size_t *ret_raw_len)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    enum cantor_err err = cantor_store_get_delta_bytes(c->store, n, &raw, &len);

    if (!err)
        err = encode_block(c, m, n, raw, len, out, NULL);
    if (ret_raw_len)
        *ret_raw_len = len;
    free(raw);
    return err;
}

/*
 * The canonical deltas of blocks first .. first + n - 1: raws[i] malloc'd (free with free_raws), and,
 * when cat is given, concatenated there (what a chunk of all of them decodes to). NOT_FOUND: one is
 * pruned or gone; TOO_LARGE: together they exceed a chunk's canonical limit.
 */
static enum cantor_err read_raws(struct cantor_compress *c, uint64_t first, size_t n, uint8_t **raws,
                                 size_t *lens, struct cantor_buf *cat)
{
    size_t total = 0;
    enum cantor_err err = CANTOR_OK;

    for (size_t i = 0; i < n; i++)
        raws[i] = NULL;
    for (size_t i = 0; i < n && !err; i++) {
        err = cantor_store_get_delta_bytes(c->store, first + i, &raws[i], &lens[i]);
        if (!err && lens[i] > CANTOR_CHUNK_MAX_RAW - total)
            err = CANTOR_ERR_TOO_LARGE;
        if (!err)
            total += lens[i];
        if (!err && cat)
            err = cantor_buf_append(cat, raws[i], lens[i]);
    }
    return err;
}

static void free_raws(uint8_t **raws, size_t n)
{
    for (size_t i = 0; raws && i < n; i++)
        free(raws[i]);
}

/* Called with c->lock held. */
static enum cantor_err decode_locked(struct cantor_compress *c, const uint8_t *chunk, size_t len,
                                     struct cantor_buf *out)
{
    struct cantor_chunk_info info;
    struct cantor_codec_model *m = NULL;
    struct cantor_codec_ctx *ctx = NULL;
    struct lookup_arg la;
    static const uint8_t zero[32];
    enum cantor_err err = cantor_chunk_parse_header(chunk, len, &info);

    if (err)
        return err;
    if (info.codec == CANTOR_CODEC_RAW && memcmp(info.model_hash, zero, 32) == 0)
        err = model_get(c, c->active, &m);
    else
        err = model_get_prefix(c, info.model_hash, info.model_hash_len, &m);
    if (!err && (info.flags & CANTOR_CHUNK_FLAG_SELF))
        err = cantor_codec_ctx_new(&ctx); /* several blocks, self-contained (encode_range) */
    else if (!err && (info.flags & CANTOR_CHUNK_FLAG_WARM))
        err = warm_ctx(c, info.first_block, &la, &ctx);
    if (!err)
        err = cantor_codec_decompress(m, ctx, chunk, len, out);
    cantor_codec_ctx_free(ctx);
    return err;
}

enum cantor_err cantor_compress_decode(struct cantor_compress *c, const uint8_t *chunk, size_t len,
                                       struct cantor_buf *out)
{
    enum cantor_err err;

    if (!c || !chunk || !out)
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_CHUNK_MAX_LEN)
        return CANTOR_ERR_TOO_LARGE;
    pthread_mutex_lock(&c->lock);
    err = decode_locked(c, chunk, len, out);
    pthread_mutex_unlock(&c->lock);
    return err;
}

enum cantor_err cantor_compress_encode(struct cantor_compress *c, const uint8_t *raw, size_t len,
                                       struct cantor_buf *out)
{
    struct cantor_codec_model *m = NULL;
    enum cantor_err err;

    if (!c || !raw || !out)
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_CHUNK_MAX_RAW)
        return CANTOR_ERR_TOO_LARGE;
    pthread_mutex_lock(&c->lock);
    err = model_get(c, c->active, &m);
    if (!err)
        err = cantor_codec_compress(m, NULL, NULL, raw, len, out, NULL);
    pthread_mutex_unlock(&c->lock);
    return err;
}

enum cantor_err cantor_compress_encode_range(struct cantor_compress *c, uint64_t first, uint64_t count,
                                             struct cantor_buf *out)
{
    struct cantor_codec_model *m = NULL;
    struct cantor_codec_ctx *ctx = NULL;
    uint8_t *raw[CANTOR_COMPRESS_RANGE_MAX];
    size_t len[CANTOR_COMPRESS_RANGE_MAX];
    enum cantor_err err;

    if (!c || !out || count == 0 || count > CANTOR_COMPRESS_RANGE_MAX || first > UINT64_MAX - count)
        return CANTOR_ERR_INVALID;
    /* the stored deltas are read outside the engine's lock: the store is thread-safe */
    err = read_raws(c, first, (size_t)count, raw, len, NULL);
    if (!err)
        err = cantor_codec_ctx_new(&ctx);
    if (!err) {
        pthread_mutex_lock(&c->lock);
        err = model_for(c, c->active, NULL, 0, first, first + count - 1, &m);
        if (!err)
            err = cantor_codec_compress_blocks(m, ctx, NULL, (const uint8_t *const *)raw, len, (size_t)count,
                                               out, NULL);
        pthread_mutex_unlock(&c->lock);
    }
    cantor_codec_ctx_free(ctx);
    free_raws(raw, (size_t)count);
    return err;
}

enum cantor_err cantor_compress_model_bundle(struct cantor_compress *c, const uint8_t *prefix, size_t plen,
                                             struct cantor_buf *out)
{
    uint8_t hash[32], *raw = NULL;
    uint64_t *blocks = NULL;
    size_t n = 0, rlen = 0;
    enum cantor_err err = CANTOR_OK;

    if (!c || !out || (plen && !prefix) || plen > 32)
        return CANTOR_ERR_INVALID;
    pthread_mutex_lock(&c->lock);
    if (plen == 0) /* the active model */
        memcpy(hash, c->active, 32);
    else
        err = resolve_prefix(c, prefix, plen, hash);
    pthread_mutex_unlock(&c->lock);
    if (!err)
        err = cantor_codec_bundle_begin(out);
    if (err || memcmp(hash, c->untrained, 32) == 0)
        return err;
    /* The registry record lists the training blocks; the bundle carries their canonical bytes. */
    err = model_blocks(c, hash, &blocks, &n);
    for (size_t i = 0; i < n && !err; i++) {
        err = cantor_store_get_delta_bytes(c->store, blocks[i], &raw, &rlen);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = CANTOR_ERR_UNKNOWN_MODEL; /* its training blocks were pruned */
        if (!err)
            err = cantor_codec_bundle_add(out, blocks[i], raw, rlen);
        free(raw);
        raw = NULL;
    }
    free(blocks);
    return err;
}

/* ---- block hook ---- */

static void set_rb_open(struct cantor_compress *c, bool open)
{
    pthread_mutex_lock(&c->write_lock);
    c->rb_open = open;
    pthread_mutex_unlock(&c->write_lock);
}

static enum cantor_err hook_prepare(void *arg, const struct cantor_block_meta *meta,
                                    const struct cantor_delta *delta, const uint8_t *canonical,
                                    size_t canonical_len, void **ret_state)
{
    struct cantor_compress *c = arg;
    struct cantor_codec_model *m = NULL;
    struct prepared *p;
    struct cantor_buf out;
    enum cantor_err err;

    (void)delta;
    set_rb_open(c, false); /* hooks run on the follower thread: any rollback before is over */
    p = calloc(1, sizeof(*p));
    if (!p)
        return CANTOR_ERR_NOMEM;
    cantor_buf_init(&out, CANTOR_STORE_MAX_CHUNK);
    pthread_mutex_lock(&c->lock);
    /* the active model, unless it was trained on this block (after a deep reorg it may have been) */
    err = model_for(c, c->active, NULL, 0, meta->number, meta->number, &m);
    if (!err)
        err = encode_block(c, m, meta->number, canonical, canonical_len, &out, &p->codec);
    pthread_mutex_unlock(&c->lock);
    if (err) {
        log_error("compress", "block %llu: %s", (unsigned long long)meta->number, cantor_err_str(err));
        cantor_buf_release(&out);
        free(p);
        return err;
    }
    p->raw_len = canonical_len;
    p->chunk = cantor_buf_detach(&out, &p->len);
    *ret_state = p;
    return CANTOR_OK;
}

static enum cantor_err hook_write(void *arg, struct cantor_store_batch *b, uint64_t block, void *state)
{
    struct prepared *p = state;
    uint8_t k[8];

    (void)arg;
    cantor_be64_put(k, block);
    return cantor_store_batch_put(b, CANTOR_CF_CHUNKS, k, 8, p->chunk, p->len);
}

static void hook_committed(void *arg, uint64_t block, void *state)
{
    struct cantor_compress *c = arg;
    struct prepared *p = state;

    struct stat_change d = {.blocks = 1, .chunks = 1, .raw = (int64_t)p->raw_len, .stored = (int64_t)p->len};

    (void)block;
    if (p->codec < 4)
        d.per_codec[p->codec] = 1;
    pthread_mutex_lock(&c->lock);
    stat_apply(c, &d);
    pthread_mutex_unlock(&c->lock);
    free(p->chunk);
    free(p);
}

static void hook_discard(void *arg, void *state)
{
    struct prepared *p = state;

    (void)arg;
    if (p)
        free(p->chunk);
    free(p);
}

/*
 * The store's rollback deletes the block's own chunk; remember it for the stats. A block inside a
 * packed chunk (a reorg deeper than pack_depth) unpacks it: the blocks before the rolled-back one get
 * their one-block chunks back, coded now in the rollback's batch, which also replaces the packed chunk
 * stored under its first block. Rollbacks go down from the head, so the first one to reach a packed
 * chunk is its last block.
 */
static enum cantor_err hook_rollback(void *arg, struct cantor_store_batch *b, uint64_t block)
{
    struct cantor_compress *c = arg;
    struct cantor_chunk_info info, one;
    struct cantor_codec_model *m = NULL;
    struct stat_change d = {0};
    struct cantor_buf out;
    uint8_t *chunk = NULL, k[8];
    uint64_t first = 0;
    size_t len = 0;
    enum cantor_err err = CANTOR_OK;

    pthread_mutex_lock(&c->write_lock);
    c->gen++;
    c->rb_open = true;
    pthread_mutex_unlock(&c->write_lock);
    cantor_buf_init(&out, CANTOR_STORE_MAX_CHUNK);
    pthread_mutex_lock(&c->lock);
    c->rb_set = false;
    c->rb_unpacked = UINT64_MAX;
    if (cantor_store_get_chunk_at_or_before(c->store, block, &first, &chunk, &len) != CANTOR_OK ||
        cantor_chunk_parse_header(chunk, len, &info) != CANTOR_OK || info.last_block < block)
        goto out; /* no chunk of this block (or an unreadable one, counted by nobody) */
    stat_chunk(&d, &info, len, -1);
    if (first < block) /* the active model, or the packed chunk's when the active one saw these blocks */
        err = model_for(c, c->active, info.model_hash, info.model_hash_len, first, block - 1, &m);
    for (uint64_t n = first; n < block && !err; n++) {
        err = encode_stored(c, m, n, &out, NULL);
        if (!err)
            err = cantor_chunk_parse_header(out.data, out.len, &one);
        cantor_be64_put(k, n);
        if (!err)
            err = cantor_store_batch_put(b, CANTOR_CF_CHUNKS, k, 8, out.data, out.len);
        if (!err)
            stat_chunk(&d, &one, out.len, +1);
        cantor_buf_reset(&out);
    }
    if (err) {
        log_error("compress", "rollback of block %llu: cannot unpack the chunk of blocks %llu..%llu: %s",
                  (unsigned long long)block, (unsigned long long)first, (unsigned long long)info.last_block,
                  cantor_err_str(err));
        goto out;
    }
    if (first < block)
        log_info("compress", "rollback of block %llu: unpacked the chunk of blocks %llu..%llu",
                 (unsigned long long)block, (unsigned long long)first, (unsigned long long)info.last_block);
    c->rb = d;
    c->rb_set = true;
    if (info.last_block != info.first_block)
        c->rb_unpacked = first;
out:
    pthread_mutex_unlock(&c->lock);
    cantor_buf_release(&out);
    free(chunk);
    return err;
}

static void hook_rolled_back(void *arg, uint64_t block)
{
    struct cantor_compress *c = arg;

    (void)block;
    set_rb_open(c, false);
    pthread_mutex_lock(&c->lock);
    if (c->rb_set)
        stat_apply(c, &c->rb);
    if (c->rb_set && c->rb_unpacked < c->st.pack_next) {
        c->st.pack_next = c->rb_unpacked; /* pack that run again once final */
        c->pack_epoch++;
    }
    c->rb_set = false;
    pthread_mutex_unlock(&c->lock);
}

const struct cantor_block_hook *cantor_compress_hook(struct cantor_compress *c)
{
    return c ? &c->hook : NULL;
}

/* ---- training ---- */

/* Held-out bytes of blocks [from, to] coded warm with m; m is private or c->lock is held. */
static enum cantor_err holdout_bytes(struct cantor_compress *c, struct cantor_codec_model *m, uint64_t from,
                                     uint64_t to, uint64_t *ret_bytes, uint64_t *ret_raw)
{
    struct cantor_buf out;
    size_t len = 0;
    enum cantor_err err = CANTOR_OK;

    *ret_bytes = *ret_raw = 0;
    cantor_buf_init(&out, CANTOR_STORE_MAX_CHUNK);
    for (uint64_t b = from; !err && b <= to; b++) {
        err = encode_stored(c, m, b, &out, &len);
        *ret_bytes += out.len;
        *ret_raw += len;
        cantor_buf_reset(&out);
    }
    cantor_buf_release(&out);
    return err;
}

static enum cantor_err save_compact(struct cantor_store_batch *b, uint64_t next, uint64_t end,
                                    const uint8_t target[32], bool force)
{
    uint8_t v[49];

    cantor_be64_put(v, next);
    cantor_be64_put(v + 8, end);
    memcpy(v + 16, target, 32);
    v[48] = force;
    return cantor_store_batch_put(b, CANTOR_CF_META, META_KEY_COMPACT, strlen(META_KEY_COMPACT), v,
                                  force ? 49 : 48);
}

static enum cantor_err stored_chunk(struct cantor_compress *c, uint64_t n, uint64_t *ret_first,
                                    uint8_t **ret_chunk, size_t *ret_len, struct cantor_chunk_info *ret_info);

/*
 * Whether the stored chunks from block `first` on are still coded with the untrained model, and if so
 * the last block of that run (*ret_last; at most MAX_PACK_SCAN chunks are read). The first model is
 * trained on the first blocks followed, so it may not code them, and neither may any later model
 * whose training starts there: they keep the untrained model until a training leaves them out.
 */
static bool untrained_run(struct cantor_compress *c, uint64_t first, uint64_t head, uint64_t *ret_last)
{
    struct cantor_chunk_info info;
    uint64_t n = first, at = 0;
    uint8_t *chunk = NULL;
    size_t len = 0;
    bool any = false;

    for (unsigned i = 0; i < MAX_PACK_SCAN && n <= head; i++) {
        if (stored_chunk(c, n, &at, &chunk, &len, &info) != CANTOR_OK)
            break;
        free(chunk);
        chunk = NULL;
        if (!info.header_len || !info.model_hash_len ||
            memcmp(info.model_hash, c->untrained, info.model_hash_len) != 0)
            break;
        *ret_last = info.last_block;
        any = true;
        n = info.last_block + 1;
    }
    return any;
}

/* Register the version and make it active, with the compaction range, in one batch. */
static enum cantor_err promote(struct cantor_compress *c, struct cantor_codec_model *m,
                               const uint8_t hash[32], const uint64_t *blocks, size_t n, uint64_t head,
                               uint64_t first, bool backfill)
{
    struct cantor_store_batch *b = NULL;
    uint8_t *rec = NULL, act[40];
    size_t rlen = 0;
    bool force;
    enum cantor_err err = model_record(blocks, n, &rec, &rlen);

    pthread_mutex_lock(&c->lock);
    force = c->compact_force; /* a re-encoding of another coder's chunks goes on over the new range */
    pthread_mutex_unlock(&c->lock);
    /* the new model may not code the blocks it was trained on (model_for): compaction starts after
     * them, unless another coder's chunks are still to be replaced, or the model was trained after the
     * first chunks that are still untrained (backfill: compaction skips its training blocks) */
    if (!force && !backfill && n && blocks[n - 1] >= first)
        first = blocks[n - 1] + 1;
    if (!err)
        err = cantor_store_batch_new(c->store, &b);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_MODELS, hash, 32, rec, rlen);
    memcpy(act, hash, 32);
    cantor_be64_put(act + 32, head);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_META, META_KEY_ACTIVE, strlen(META_KEY_ACTIVE), act, 40);
    if (!err)
        err = save_compact(b, first, head, hash, force);
    if (!err)
        err = cantor_store_batch_commit(b);
    cantor_store_batch_free(b);
    free(rec);
    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    cache_insert(c, hash, m);
    memcpy(c->active, hash, 32);
    c->trained_head = head;
    c->train_tried = true;
    memcpy(c->st.active_model, hash, 32);
    c->st.trained = true;
    c->st.promotions++;
    c->st.compact_next = first;
    c->st.compact_end = head;
    pthread_mutex_unlock(&c->lock);
    return CANTOR_OK;
}

enum cantor_err cantor_compress_train_step(struct cantor_compress *c, bool force, bool *ret_promoted)
{
    struct cantor_store_stats ss;
    struct cantor_codec_model *m = NULL, *am = NULL;
    uint64_t head = 0, first, start, ul = 0, k, hold, *blocks = NULL, new_b = 0, old_b = 0, raw_b = 0;
    uint8_t hash[32];
    bool empty = true, due, backfill = false;
    size_t n;
    enum cantor_err err;

    if (ret_promoted)
        *ret_promoted = false;
    if (!c)
        return CANTOR_ERR_INVALID;
    err = cantor_store_head(c->store, &head, NULL, &empty);
    if (err || empty)
        return err;
    err = cantor_store_stats(c->store, &ss);
    if (err)
        return err;
    first = ss.first_followed > ss.first_retained ? ss.first_followed : ss.first_retained;
    if (head < first)
        return CANTOR_OK;
    pthread_mutex_lock(&c->lock);
    /* every retrain_every blocks after the last training, promoted or not: a model that does not beat
     * the active one is not trained again on every wake-up */
    due = force || (head - first + 1 >= c->o.train_blocks &&
                    (!c->train_tried || head >= c->trained_head + c->o.retrain_every));
    pthread_mutex_unlock(&c->lock);
    if (!due || head - first + 1 < 2)
        return CANTOR_OK;
    /* The first chunks are still untrained (every model so far learned from them): once enough blocks
     * follow them, train on those only, so that the new model may re-code them (promote). */
    start = first;
    pthread_mutex_lock(&c->lock);
    backfill = memcmp(c->active, c->untrained, 32) != 0;
    pthread_mutex_unlock(&c->lock);
    if (backfill && untrained_run(c, first, head, &ul) && ul < head && head - ul >= 2 &&
        head - ul >= c->o.train_blocks)
        start = ul + 1;
    backfill = start > first;
    k = head - start + 1;
    if (k > CANTOR_COMPRESS_MAX_TRAIN_BLOCKS)
        k = CANTOR_COMPRESS_MAX_TRAIN_BLOCKS;
    hold = k / 5 ? k / 5 : 1;
    n = (size_t)(k - hold);
    blocks = calloc(n, sizeof(*blocks));
    if (!blocks)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        blocks[i] = head - k + 1 + i;
    err = train_on(c->store, blocks, n, &m);
    if (err)
        goto out;
    cantor_codec_model_hash(m, hash);
    err = holdout_bytes(c, m, head - hold + 1, head, &new_b, &raw_b);
    if (!err) {
        pthread_mutex_lock(&c->lock);
        err = model_get(c, c->active, &am);
        if (!err)
            err = holdout_bytes(c, am, head - hold + 1, head, &old_b, &raw_b);
        c->st.trainings++;
        c->st.last_training = time(NULL);
        c->st.last_train_first = blocks[0];
        c->st.last_train_last = blocks[n - 1];
        c->st.last_holdout_new = new_b;
        c->st.last_holdout_old = old_b;
        c->st.last_loss = raw_b ? 8.0 * (double)new_b / (double)raw_b : 0;
        if (!err && !(new_b < old_b)) {
            c->trained_head = head; /* not better: wait as long as after a promotion */
            c->train_tried = true;
        }
        pthread_mutex_unlock(&c->lock);
    }
    if (err)
        goto out;
    log_info("compress", "trained on blocks %llu..%llu%s: held-out %llu bytes (active model: %llu)",
             (unsigned long long)blocks[0], (unsigned long long)blocks[n - 1],
             backfill ? " (after the untrained first chunks, to re-code them)" : "",
             (unsigned long long)new_b, (unsigned long long)old_b);
    if (new_b < old_b) {
        err = promote(c, m, hash, blocks, n, head, first, backfill);
        m = NULL; /* owned by the cache now (or freed by cache_insert) */
        if (!err && ret_promoted)
            *ret_promoted = true;
    }
out:
    cantor_codec_model_free(m);
    free(blocks);
    if (err)
        log_warn("compress", "training failed: %s", cantor_err_str(err));
    return err;
}

/* ---- compaction ---- */

/* A chunk whose model this binary cannot rebuild (written by another coder): replace it at any size. */
static bool chunk_model_stale(struct cantor_compress *c, const struct cantor_chunk_info *info)
{
    static const uint8_t none[32];
    uint8_t hash[32];
    enum cantor_err err;

    if (memcmp(info->model_hash, none, info->model_hash_len) == 0)
        return false; /* raw: needs no model */
    pthread_mutex_lock(&c->lock);
    err = resolve_prefix(c, info->model_hash, info->model_hash_len, hash);
    pthread_mutex_unlock(&c->lock);
    return err == CANTOR_ERR_UNKNOWN_MODEL;
}

/*
 * Code blocks first .. first + n - 1 with model `target` (or, if it was trained on one of them, the
 * model of prefix `cur`, their chunk now, or the untrained one: model_for) into one chunk (out) and
 * check that it decodes back to their stored deltas. NOT_FOUND: a delta is gone (pruned or rolled
 * back). MISMATCH: the new chunk does not round-trip (logged; keep the old one).
 */
static enum cantor_err recode(struct cantor_compress *c, uint64_t first, size_t n, const uint8_t target[32],
                              const struct cantor_chunk_info *cur, struct cantor_buf *out, uint8_t *ret_codec)
{
    struct cantor_codec_model *m = NULL;
    struct cantor_buf cat, check;
    uint8_t **raws = calloc(n, sizeof(*raws));
    size_t *lens = calloc(n, sizeof(*lens));
    enum cantor_err err = raws && lens ? CANTOR_OK : CANTOR_ERR_NOMEM;

    cantor_buf_init(&cat, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&check, CANTOR_CHUNK_MAX_RAW);
    if (!err)
        err = read_raws(c, first, n, raws, lens, &cat);
    if (err)
        goto out;
    pthread_mutex_lock(&c->lock);
    err = model_for(c, target, cur && cur->codec != CANTOR_CODEC_RAW ? cur->model_hash : NULL,
                    cur ? cur->model_hash_len : 0, first, first + n - 1, &m);
    if (!err)
        err = encode_blocks(c, m, first, (const uint8_t *const *)raws, lens, n, out, ret_codec);
    /* Never replace chunks by one that does not decode back to the same canonical bytes. */
    if (!err)
        err = decode_locked(c, out->data, out->len, &check);
    pthread_mutex_unlock(&c->lock);
    if (!err && (check.len != cat.len || memcmp(check.data, cat.data, cat.len) != 0)) {
        log_error("compress", "blocks %llu..%llu: re-encoded chunk does not round-trip; kept the old one",
                  (unsigned long long)first, (unsigned long long)(first + n - 1));
        err = CANTOR_ERR_MISMATCH;
    }
out:
    free_raws(raws, n);
    free(raws);
    free(lens);
    cantor_buf_release(&cat);
    cantor_buf_release(&check);
    return err;
}

/*
 * Commit a batch b that replaces chunks by the new chunk `chunk` (keys and values in b) if no other
 * rewrite or rollback came in since gen was read and the head still reaches `last`; *ret_done tells
 * whether it did. Then the stats take d (the replaced chunks, already counted out) plus the new
 * chunk, and *counter one more.
 */
static enum cantor_err commit_rewrite(struct cantor_compress *c, struct cantor_store_batch *b, uint64_t gen,
                                      uint64_t last, const struct cantor_buf *chunk, struct stat_change *d,
                                      uint64_t *counter, bool *ret_done)
{
    struct cantor_chunk_info info;
    uint64_t head = 0;
    bool empty = true;
    enum cantor_err err = CANTOR_OK;

    *ret_done = false;
    pthread_mutex_lock(&c->write_lock);
    if (c->gen == gen && !c->rb_open && cantor_store_head(c->store, &head, NULL, &empty) == CANTOR_OK &&
        !empty && last <= head) {
        err = cantor_store_batch_commit(b);
        *ret_done = !err;
        if (!err)
            c->gen++;
    }
    pthread_mutex_unlock(&c->write_lock);
    if (*ret_done && cantor_chunk_parse_header(chunk->data, chunk->len, &info) == CANTOR_OK) {
        stat_chunk(d, &info, chunk->len, +1);
        pthread_mutex_lock(&c->lock);
        stat_apply(c, d);
        (*counter)++;
        pthread_mutex_unlock(&c->lock);
    }
    return err;
}

/* Whether model `target` may code the blocks of chunk info (false also when it cannot be had). */
static bool target_may_code(struct cantor_compress *c, const uint8_t target[32],
                            const struct cantor_chunk_info *info)
{
    struct cantor_codec_model *m = NULL;
    bool ok;

    pthread_mutex_lock(&c->lock);
    ok = model_get(c, target, &m) == CANTOR_OK && may_code(m, info->first_block, info->last_block);
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* Re-encode the chunk stored under `block` (one block or several) with the target model. */
static enum cantor_err compact_one(struct cantor_compress *c, uint64_t block, const uint8_t target[32],
                                   bool force, bool *ret_replaced)
{
    struct cantor_chunk_info info;
    struct cantor_store_batch *b = NULL;
    struct stat_change d = {0};
    struct cantor_buf out;
    uint8_t *old = NULL, k[8];
    size_t old_len = 0;
    uint64_t gen;
    bool stale = false;
    enum cantor_err err;

    *ret_replaced = false;
    cantor_buf_init(&out, CANTOR_STORE_MAX_CHUNK);
    pthread_mutex_lock(&c->write_lock);
    gen = c->gen;
    pthread_mutex_unlock(&c->write_lock);
    err = cantor_store_get_chunk(c->store, block, &old, &old_len);
    if (!err)
        err = cantor_chunk_parse_header(old, old_len, &info);
    if (!err && !force && memcmp(info.model_hash, target, info.model_hash_len) == 0)
        goto out; /* already coded with the target */
    if (!err)
        stale = force || chunk_model_stale(c, &info);
    if (!err && !stale && !target_may_code(c, target, &info))
        goto out; /* the target learned from these blocks: recode would fall back to their model */
    if (!err)
        err = recode(c, block, (size_t)(info.last_block - info.first_block) + 1, target, &info, &out, NULL);
    if (err == CANTOR_ERR_NOT_FOUND) {
        err = CANTOR_OK; /* no chunk under this block, or its deltas are pruned or rolled back */
        goto out;
    }
    if (err)
        goto out;
    if (out.len >= old_len && !stale)
        goto out; /* the old chunk is as small: keep it (its model stays registered) */
    cantor_be64_put(k, block);
    err = cantor_store_batch_new(c->store, &b);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_CHUNKS, k, 8, out.data, out.len);
    stat_chunk(&d, &info, old_len, -1);
    if (!err)
        err = commit_rewrite(c, b, gen, info.last_block, &out, &d, &c->st.compacted, ret_replaced);
out:
    cantor_store_batch_free(b);
    cantor_buf_release(&out);
    free(old);
    return err;
}

/*
 * The stored chunk holding block n: *ret_first is the block it is stored under. NOT_FOUND when the
 * chunk at or below n ends before n (n has none: before the first followed block, or pruned). A chunk
 * whose header does not parse counts as n's own when stored under n (ret_info->header_len == 0).
 */
static enum cantor_err stored_chunk(struct cantor_compress *c, uint64_t n, uint64_t *ret_first,
                                    uint8_t **ret_chunk, size_t *ret_len, struct cantor_chunk_info *ret_info)
{
    enum cantor_err err = cantor_store_get_chunk_at_or_before(c->store, n, ret_first, ret_chunk, ret_len);

    if (err)
        return err;
    if (cantor_chunk_parse_header(*ret_chunk, *ret_len, ret_info) != CANTOR_OK) {
        memset(ret_info, 0, sizeof(*ret_info)); /* served as it is: decoding it reports the error */
        ret_info->first_block = ret_info->last_block = *ret_first;
    }
    if (ret_info->first_block != *ret_first || ret_info->last_block < n) {
        free(*ret_chunk);
        *ret_chunk = NULL;
        return CANTOR_ERR_NOT_FOUND;
    }
    return CANTOR_OK;
}

/* The stored chunk holding n, re-encoded first if this binary cannot decode it (see compress.h). */
static enum cantor_err decodable_stored(struct cantor_compress *c, uint64_t n, uint64_t *ret_first,
                                        uint8_t **ret_chunk, size_t *ret_len,
                                        struct cantor_chunk_info *ret_info)
{
    uint8_t target[32];
    bool pending, replaced = false;
    enum cantor_err err = stored_chunk(c, n, ret_first, ret_chunk, ret_len, ret_info);

    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    pending = c->compact_force && *ret_first >= c->st.compact_next && *ret_first <= c->st.compact_end;
    memcpy(target, c->active, 32);
    pthread_mutex_unlock(&c->lock);
    if (ret_info->header_len == 0)
        return CANTOR_OK; /* unreadable header: served as it is */
    if ((pending || chunk_model_stale(c, ret_info)) &&
        compact_one(c, *ret_first, target, true, &replaced) == CANTOR_OK && replaced) {
        free(*ret_chunk);
        *ret_chunk = NULL;
        err = stored_chunk(c, n, ret_first, ret_chunk, ret_len, ret_info);
    }
    return err;
}

enum cantor_err cantor_compress_get_stored(struct cantor_compress *c, uint64_t n, uint8_t **ret_chunk,
                                           size_t *ret_len)
{
    struct cantor_chunk_info info;
    uint64_t first = 0;

    if (!c || !ret_chunk || !ret_len)
        return CANTOR_ERR_INVALID;
    return decodable_stored(c, n, &first, ret_chunk, ret_len, &info);
}

enum cantor_err cantor_compress_get_chunk(struct cantor_compress *c, uint64_t n, uint8_t **ret_chunk,
                                          size_t *ret_len)
{
    struct cantor_chunk_info info;
    struct cantor_codec_model *m = NULL;
    struct cantor_buf out;
    uint8_t *chunk = NULL;
    uint64_t first = 0;
    size_t len = 0;
    enum cantor_err err;

    if (!c || !ret_chunk || !ret_len)
        return CANTOR_ERR_INVALID;
    err = decodable_stored(c, n, &first, &chunk, &len, &info);
    if (err)
        return err;
    if (info.last_block == info.first_block) {
        *ret_chunk = chunk;
        *ret_len = len;
        return CANTOR_OK;
    }
    /* n is packed with other blocks: its own chunk, coded now with the active model (or the packed
     * chunk's, when the active one was trained on n) */
    free(chunk);
    cantor_buf_init(&out, CANTOR_STORE_MAX_CHUNK);
    pthread_mutex_lock(&c->lock);
    err = model_for(c, c->active, info.codec == CANTOR_CODEC_RAW ? NULL : info.model_hash,
                    info.model_hash_len, n, n, &m);
    if (!err)
        err = encode_stored(c, m, n, &out, NULL);
    pthread_mutex_unlock(&c->lock);
    if (!err)
        *ret_chunk = cantor_buf_detach(&out, ret_len);
    cantor_buf_release(&out);
    return err;
}

enum cantor_err cantor_compress_compact_step(struct cantor_compress *c, uint64_t max_blocks,
                                             uint64_t *ret_done)
{
    struct cantor_store_batch *b = NULL;
    uint8_t target[32];
    uint64_t next, end, done = 0;
    bool replaced, force;
    enum cantor_err err = CANTOR_OK;

    if (ret_done)
        *ret_done = 0;
    if (!c)
        return CANTOR_ERR_INVALID;
    pthread_mutex_lock(&c->lock);
    next = c->st.compact_next;
    end = c->st.compact_end;
    force = c->compact_force;
    memcpy(target, c->active, 32);
    pthread_mutex_unlock(&c->lock);
    while (!err && next <= end && done < max_blocks) {
        err = compact_one(c, next, target, force, &replaced);
        if (err == CANTOR_ERR_MISMATCH)
            err = CANTOR_OK; /* logged; the old chunk stays valid */
        if (err)
            break;
        next++;
        done++;
    }
    if (done) {
        /* Progress survives a restart; a block redone after a crash is skipped by its model hash
         * (or, when forced, coded again: same bytes). */
        err = err ? err : cantor_store_batch_new(c->store, &b);
        if (!err)
            err = save_compact(b, next, end, target, force && next <= end);
        if (!err)
            err = cantor_store_batch_commit(b);
        cantor_store_batch_free(b);
        pthread_mutex_lock(&c->lock);
        if (memcmp(c->active, target, 32) == 0 && c->st.compact_end == end) {
            c->st.compact_next = next;
            if (next > end)
                c->compact_force = false;
        }
        pthread_mutex_unlock(&c->lock);
    }
    if (ret_done)
        *ret_done = done;
    return err;
}

/* ---- packing final blocks into chunks of several blocks ---- */

/*
 * Replace the one-block chunks of blocks first .. first + n - 1 by one chunk of all of them (stored
 * under first; the others' keys deleted), coded warm with the active model from the state before
 * first (or with the first block's model, when the active one was trained on the run), in one batch. Skipped
 * (*ret_packed false) when a block of the run has no one-block chunk or no delta, or the packed chunk would
 * not be smaller.
 */
static enum cantor_err pack_one(struct cantor_compress *c, uint64_t first, size_t n, bool *ret_packed)
{
    struct cantor_chunk_info info, first_info = {0};
    struct cantor_store_batch *b = NULL;
    struct stat_change d = {0};
    struct cantor_buf out;
    uint8_t *old = NULL, target[32], k[8];
    size_t old_len = 0, old_total = 0;
    uint64_t gen;
    enum cantor_err err = CANTOR_OK;

    *ret_packed = false;
    cantor_buf_init(&out, CANTOR_STORE_MAX_CHUNK);
    pthread_mutex_lock(&c->write_lock);
    gen = c->gen;
    pthread_mutex_unlock(&c->write_lock);
    for (size_t i = 0; i < n && !err; i++) {
        err = cantor_store_get_chunk(c->store, first + i, &old, &old_len);
        if (!err && (cantor_chunk_parse_header(old, old_len, &info) != CANTOR_OK ||
                     info.last_block != info.first_block))
            err = CANTOR_ERR_NOT_FOUND; /* already packed, or a chunk this binary cannot read */
        if (!err) {
            stat_chunk(&d, &info, old_len, -1);
            old_total += old_len;
            if (i == 0)
                first_info = info;
        }
        free(old);
        old = NULL;
    }
    pthread_mutex_lock(&c->lock);
    memcpy(target, c->active, 32);
    pthread_mutex_unlock(&c->lock);
    if (!err)
        err = recode(c, first, n, target, &first_info, &out, NULL);
    if (err == CANTOR_ERR_NOT_FOUND || err == CANTOR_ERR_MISMATCH) {
        err = CANTOR_OK; /* left as it is: one chunk per block */
        goto out;
    }
    if (err || out.len >= old_total)
        goto out;
    err = cantor_store_batch_new(c->store, &b);
    cantor_be64_put(k, first);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_CHUNKS, k, 8, out.data, out.len);
    for (size_t i = 1; i < n && !err; i++) {
        cantor_be64_put(k, first + i);
        err = cantor_store_batch_del(b, CANTOR_CF_CHUNKS, k, 8);
    }
    if (!err)
        err = commit_rewrite(c, b, gen, first + n - 1, &out, &d, &c->st.packed, ret_packed);
    if (!err && !*ret_packed)
        err = CANTOR_ERR_BUSY; /* a rollback or another rewrite came in: try this run again later */
out:
    cantor_store_batch_free(b);
    cantor_buf_release(&out);
    return err;
}

enum cantor_err cantor_compress_pack_step(struct cantor_compress *c, uint64_t max_chunks, uint64_t *ret_done)
{
    struct cantor_store_stats ss;
    uint64_t head = 0, first, next, bpc, done = 0, epoch, scanned = 0;
    bool empty = true, packed;
    enum cantor_err err;

    if (ret_done)
        *ret_done = 0;
    if (!c)
        return CANTOR_ERR_INVALID;
    bpc = c->o.blocks_per_chunk;
    if (bpc < 2)
        return CANTOR_OK;
    err = cantor_store_head(c->store, &head, NULL, &empty);
    if (err || empty || head < c->o.pack_depth)
        return err;
    err = cantor_store_stats(c->store, &ss);
    if (err)
        return err;
    first = ss.first_followed > ss.first_retained ? ss.first_followed : ss.first_retained;
    pthread_mutex_lock(&c->lock);
    next = c->st.pack_next > first ? c->st.pack_next : first;
    epoch = c->pack_epoch;
    pthread_mutex_unlock(&c->lock);
    /*
     * Runs start at multiples of B, so a block's chunk is found from its number alone. Where to go on
     * is kept in memory only: after a restart the runs already packed are skipped at one read each.
     */
    while (!err && done < max_chunks && scanned < MAX_PACK_SCAN && !atomic_load(&c->stopping)) {
        uint64_t s = next % bpc ? next + (bpc - next % bpc) : next;
        if (s > UINT64_MAX - bpc || s + bpc - 1 > head - c->o.pack_depth)
            break; /* not final yet */
        err = pack_one(c, s, (size_t)bpc, &packed);
        if (err == CANTOR_ERR_BUSY) {
            err = CANTOR_OK;
            break;
        }
        if (!err) {
            next = s + bpc;
            done += packed;
            scanned++;
        }
    }
    pthread_mutex_lock(&c->lock);
    if (c->pack_epoch == epoch) /* else a rollback unpacked a run meanwhile: start from there */
        c->st.pack_next = next;
    pthread_mutex_unlock(&c->lock);
    if (done)
        log_info("compress", "packed %llu run(s) of %llu blocks; blocks below %llu considered",
                 (unsigned long long)done, (unsigned long long)bpc, (unsigned long long)next);
    if (ret_done)
        *ret_done = done;
    return err;
}

/* ---- trainer thread ---- */

static void *trainer_main(void *arg)
{
    struct cantor_compress *c = arg;
    struct timespec ts;

    cantor_thread_background("cantor-train", c->o.nice);
    while (!atomic_load(&c->stopping)) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += c->o.interval_ms / 1000;
        ts.tv_nsec += (long)(c->o.interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&c->wake_lock);
        if (!atomic_load(&c->stopping))
            pthread_cond_timedwait(&c->wake, &c->wake_lock, &ts);
        pthread_mutex_unlock(&c->wake_lock);
        if (atomic_load(&c->stopping))
            break;
        (void)cantor_compress_train_step(c, false, NULL);
        if (cantor_compress_compact_step(c, c->o.compact_step, NULL))
            log_warn("compress", "compaction step failed; retrying later");
        /* the same budget of blocks per wake-up as compaction */
        if (cantor_compress_pack_step(c, c->o.compact_step / c->o.blocks_per_chunk + 1, NULL))
            log_warn("compress", "packing step failed; retrying later");
    }
    return NULL;
}

enum cantor_err cantor_compress_start(struct cantor_compress *c)
{
    if (!c || c->thread_started)
        return CANTOR_ERR_INVALID;
    atomic_store(&c->stopping, false);
    if (pthread_create(&c->thread, NULL, trainer_main, c) != 0)
        return CANTOR_ERR_IO;
    c->thread_started = true;
    return CANTOR_OK;
}

void cantor_compress_stop(struct cantor_compress *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->wake_lock);
    atomic_store(&c->stopping, true);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->wake_lock);
}

/* ---- setup ---- */

static enum cantor_err count_chunk(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                   void *ctx)
{
    struct cantor_compress *c = ctx;
    struct cantor_chunk_info info;

    (void)key;
    (void)klen;
    struct stat_change d = {0};

    if (cantor_chunk_parse_header(val, vlen, &info) != CANTOR_OK)
        return CANTOR_OK; /* counted by nobody: GET of that block reports the error */
    stat_chunk(&d, &info, vlen, +1);
    stat_apply(c, &d);
    return CANTOR_OK;
}

/* The untrained model's hash (it covers the coder's format) and the key window of warm chunks. */
static void coder_id(struct cantor_compress *c)
{
    struct cantor_keccak k;
    uint8_t w[4];

    cantor_be32_put(w, CANTOR_COMPRESS_KEY_WINDOW);
    cantor_keccak256_init(&k);
    cantor_keccak_update(&k, "cantor-compress-coder/1", 23);
    cantor_keccak_update(&k, c->untrained, 32);
    cantor_keccak_update(&k, w, 4);
    cantor_keccak_final(&k, c->coder, 32);
}

static enum cantor_err collect_key(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                   void *ctx)
{
    struct cantor_store_batch *b = ctx;

    (void)val;
    (void)vlen;
    return cantor_store_batch_del(b, CANTOR_CF_MODELS, key, klen);
}

/*
 * The store's chunks and model versions were written by another coder (or by a version that did not
 * record its coder): those versions no longer rebuild to their hashes. Drop their records, make the
 * untrained model active, and queue every stored block for a forced re-encoding (every chunk is
 * replaced whatever its model and size, also where the model still resolves but the key window
 * changed; a promotion meanwhile keeps the range forced), and the trainer trains anew as on a new
 * store.
 * One atomic batch, so a crash here repeats it. The canonical deltas are untouched: nothing is lost,
 * and until a chunk is re-encoded, decoding it fails with "unknown model" (never wrong bytes).
 */
static enum cantor_err migrate_coder(struct cantor_compress *c)
{
    struct cantor_store_batch *b = NULL;
    struct cantor_store_stats ss;
    uint8_t *v = NULL;
    size_t len = 0;
    uint64_t head = 0;
    bool empty = true;
    enum cantor_err err = cantor_store_get_meta(c->store, META_CODER, &v, &len);

    if (err == CANTOR_OK && len == 32 && memcmp(v, c->coder, 32) == 0) {
        free(v);
        return CANTOR_OK;
    }
    free(v);
    if (err && err != CANTOR_ERR_NOT_FOUND)
        return err;
    err = cantor_store_batch_new(c->store, &b);
    if (!err)
        err = cantor_store_scan(c->store, CANTOR_CF_MODELS, NULL, 0, MAX_SCAN_CHUNKS, collect_key, b);
    if (!err)
        err = cantor_store_batch_del(b, CANTOR_CF_META, META_KEY_ACTIVE, strlen(META_KEY_ACTIVE));
    if (!err)
        err = cantor_store_batch_del(b, CANTOR_CF_META, META_KEY_COMPACT, strlen(META_KEY_COMPACT));
    if (!err)
        err = cantor_store_head(c->store, &head, NULL, &empty);
    if (!err && !empty)
        err = cantor_store_stats(c->store, &ss);
    if (!err && !empty)
        err = save_compact(b, ss.first_retained, head, c->untrained, true);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_META, META_KEY_CODER, strlen(META_KEY_CODER), c->coder, 32);
    if (!err)
        err = cantor_store_batch_commit(b);
    cantor_store_batch_free(b);
    if (!err && !empty)
        log_warn("compress",
                 "chunks of blocks %llu..%llu were written by another codec version: re-encoding them "
                 "in the background from the stored deltas",
                 (unsigned long long)ss.first_retained, (unsigned long long)head);
    return err;
}

static void load_state(struct cantor_compress *c)
{
    struct cantor_codec_model *m = NULL;
    uint8_t *v = NULL;
    size_t len = 0;
    enum cantor_err err;

    if (cantor_store_get_meta(c->store, META_ACTIVE, &v, &len) == CANTOR_OK && len == 40) {
        err = model_build(c, v, &m);
        if (err) {
            log_warn("compress", "cannot rebuild the active model (%s); coding with the untrained one",
                     cantor_err_str(err));
        } else {
            cache_insert(c, v, m);
            memcpy(c->active, v, 32);
            c->trained_head = cantor_be64_get(v + 32);
            c->train_tried = true;
            c->st.trained = true;
        }
    }
    free(v);
    v = NULL;
    if (cantor_store_get_meta(c->store, META_COMPACT, &v, &len) == CANTOR_OK && (len == 48 || len == 49) &&
        memcmp(v + 16, c->active, 32) == 0) {
        c->st.compact_next = cantor_be64_get(v);
        c->st.compact_end = cantor_be64_get(v + 8);
        c->compact_force = len == 49 && v[48] == 1;
    }
    free(v);
    memcpy(c->st.active_model, c->active, 32);
}

enum cantor_err cantor_compress_new(struct cantor_store *store, const struct cantor_compress_opts *opts,
                                    struct cantor_compress **ret_c)
{
    struct cantor_compress *c;
    struct cantor_codec_model *m = NULL;
    enum cantor_err err;

    if (!store || !ret_c)
        return CANTOR_ERR_INVALID;
    c = calloc(1, sizeof(*c));
    if (!c)
        return CANTOR_ERR_NOMEM;
    c->store = store;
    if (opts)
        c->o = *opts;
    if (!c->o.train_blocks)
        c->o.train_blocks = CANTOR_COMPRESS_TRAIN_BLOCKS_DEFAULT;
    if (!c->o.retrain_every)
        c->o.retrain_every = CANTOR_COMPRESS_RETRAIN_EVERY_DEFAULT;
    if (!c->o.compact_step)
        c->o.compact_step = CANTOR_COMPRESS_COMPACT_STEP_DEFAULT;
    if (!c->o.interval_ms)
        c->o.interval_ms = 1000;
    if (!c->o.blocks_per_chunk)
        c->o.blocks_per_chunk = CANTOR_COMPRESS_BLOCKS_PER_CHUNK_DEFAULT;
    if (c->o.blocks_per_chunk > CANTOR_COMPRESS_MAX_BLOCKS_PER_CHUNK) {
        free(c);
        return CANTOR_ERR_INVALID;
    }
    if (!c->o.pack_depth)
        c->o.pack_depth = CANTOR_FOLLOWER_MAX_REORG;
    c->st.blocks_per_chunk = c->o.blocks_per_chunk;
    c->rb_unpacked = UINT64_MAX;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->write_lock, NULL);
    pthread_mutex_init(&c->wake_lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->st.compact_next = 1;
    c->st.compact_end = 0;
    c->hook = (struct cantor_block_hook){
        "compress",      c, hook_prepare, hook_write, hook_committed, hook_discard, hook_rollback,
        hook_rolled_back};
    err = cantor_codec_model_new(&m);
    if (err)
        goto fail;
    cantor_codec_model_hash(m, c->untrained);
    memcpy(c->active, c->untrained, 32);
    cache_insert(c, c->untrained, m);
    coder_id(c);
    err = migrate_coder(c);
    if (err)
        goto fail;
    load_state(c);
    err = cantor_store_scan(store, CANTOR_CF_CHUNKS, NULL, 0, MAX_SCAN_CHUNKS, count_chunk, c);
    if (err)
        goto fail;
    *ret_c = c;
    return CANTOR_OK;
fail:
    cantor_compress_free(c);
    return err;
}

void cantor_compress_free(struct cantor_compress *c)
{
    if (!c)
        return;
    cantor_compress_stop(c);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    for (size_t i = 0; i < c->n_models; i++)
        cantor_codec_model_free(c->models[i].m);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->write_lock);
    pthread_mutex_destroy(&c->wake_lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

void cantor_compress_get_stats(struct cantor_compress *c, struct cantor_compress_stats *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    *ret = c->st;
    pthread_mutex_unlock(&c->lock);
}

/* ---- HTTP and status adapters (rpc/ never sees daemon/) ---- */

static enum cantor_err api_decode(void *arg, const uint8_t *chunk, size_t len, struct cantor_buf *out)
{
    return cantor_compress_decode(arg, chunk, len, out);
}

static enum cantor_err api_encode(void *arg, const uint8_t *raw, size_t len, struct cantor_buf *out)
{
    return cantor_compress_encode(arg, raw, len, out);
}

static enum cantor_err api_bundle(void *arg, const uint8_t *prefix, size_t plen, struct cantor_buf *out)
{
    return cantor_compress_model_bundle(arg, prefix, plen, out);
}

static enum cantor_err api_chunk(void *arg, uint64_t n, uint8_t **ret_chunk, size_t *ret_len)
{
    return cantor_compress_get_chunk(arg, n, ret_chunk, ret_len);
}

static enum cantor_err api_range(void *arg, uint64_t first, uint64_t count, struct cantor_buf *out)
{
    return cantor_compress_encode_range(arg, first, count, out);
}

static enum cantor_err api_stored(void *arg, uint64_t n, uint8_t **ret_chunk, size_t *ret_len)
{
    return cantor_compress_get_stored(arg, n, ret_chunk, ret_len);
}

static void api_stats(void *arg, struct cantor_api_codec_stats *ret)
{
    struct cantor_compress_stats st;

    cantor_compress_get_stats(arg, &st);
    memset(ret, 0, sizeof(*ret));
    ret->blocks = st.blocks;
    ret->chunks = st.chunks;
    ret->raw_bytes = st.raw_bytes;
    ret->stored_bytes = st.stored_bytes;
    memcpy(ret->per_codec, st.per_codec, sizeof(ret->per_codec));
    memcpy(ret->active_model, st.active_model, 32);
    ret->trained = st.trained;
    ret->trainings = st.trainings;
    ret->promotions = st.promotions;
    ret->compacted = st.compacted;
    ret->last_training = st.last_training;
    ret->last_train_first = st.last_train_first;
    ret->last_train_last = st.last_train_last;
    ret->last_holdout_new = st.last_holdout_new;
    ret->last_holdout_old = st.last_holdout_old;
    ret->last_loss = st.last_loss;
    ret->compact_next = st.compact_next;
    ret->compact_end = st.compact_end;
    ret->blocks_per_chunk = st.blocks_per_chunk;
    ret->packed = st.packed;
    ret->pack_next = st.pack_next;
}

const struct cantor_api_codec *cantor_compress_api(struct cantor_compress *c)
{
    if (!c)
        return NULL;
    c->api = (struct cantor_api_codec){c,          api_decode, api_encode, api_stats,
                                       api_bundle, api_chunk,  api_range,  api_stored};
    return &c->api;
}

void cantor_compress_fill_status(struct cantor_compress *c, struct cantor_api_status *ret)
{
    struct cantor_compress_stats st;

    if (!c)
        return;
    cantor_compress_get_stats(c, &st);
    ret->compression_known = st.blocks > 0;
    ret->compression_ratio = st.stored_bytes ? (double)st.raw_bytes / (double)st.stored_bytes : 0;
    cantor_hex_encode(st.active_model, 32, ret->model_version);
    ret->training_known = st.trainings > 0;
    ret->training_loss = st.last_loss;
}
