/*
 * test_compress.c - the daemon's compression engine (daemon/compress.c) on real mainnet state diffs:
 * twelve recorded blocks (erigon trace_replayBlockTransactions, Parity stateDiff) applied as a chain
 * to a real store (in-memory backend and RocksDB in a mkdtemp directory) through the block hook,
 * exactly as the follower does: prepare, write into the block's batch, committed. Checked: every
 * stored chunk decodes to the store's canonical bytes (also from a second engine over the same
 * store, as after a restart), warm chunks are produced, stats add up, rollback removes a chunk from
 * the stats, training promotes a model only with a smaller held-out size and registers it so a new
 * engine rebuilds the same version, compaction re-encodes old chunks with it and each still decodes,
 * corrupt / truncated / unknown-model chunks fail with their precise errors, and a store written by
 * another codec version is re-encoded.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/delta.h"
#include "core/delta_json.h"
#include "core/keccak.h"
#include "daemon/compress.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "testutil.h"

#define PAR_DIR  "erigon-rpc-tests/mainnet/trace_replayBlockTransactions"
#define N_BLOCKS 12
#define FIRST    100u

/* Real blocks, applied as consecutive numbers FIRST.. (the store runs with lax old values). */
static const char *const files[N_BLOCKS] = {
    PAR_DIR "/test_03.json", PAR_DIR "/test_04.json", PAR_DIR "/test_05.json", PAR_DIR "/test_14.json",
    PAR_DIR "/test_15.json", PAR_DIR "/test_16.json", PAR_DIR "/test_20.json", PAR_DIR "/test_24.json",
    PAR_DIR "/test_25.json", PAR_DIR "/test_31.json", PAR_DIR "/test_32.json", PAR_DIR "/test_34.json",
};

struct rig {
    char dir[64];
    struct cantor_store *store;
    struct cantor_compress *c;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rig_open_co(struct rig *r, bool rocks, const struct cantor_compress_opts *co)
{
    struct cantor_store_opts o = {0};

    memset(r, 0, sizeof(*r));
    if (rocks) {
        snprintf(r->dir, sizeof(r->dir), "/tmp/test_compress.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(r->dir));
        o.path = r->dir;
    }
    o.lax_old_values = true;
    ck_assert_int_eq(cantor_store_open(&o, &r->store), CANTOR_OK);
    ck_assert_int_eq(cantor_compress_new(r->store, co, &r->c), CANTOR_OK);
}

static void rig_open(struct rig *r, bool rocks)
{
    struct cantor_compress_opts co = {.train_blocks = 8, .retrain_every = 4, .compact_step = 64};

    rig_open_co(r, rocks, &co);
}

static void rig_close(struct rig *r)
{
    cantor_compress_free(r->c);
    cantor_store_close(r->store);
    if (r->dir[0])
        nftw(r->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

struct batch_ctx {
    const struct cantor_block_hook *h;
    void *state;
};

static enum cantor_err write_cb(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    struct batch_ctx *bc = ctx;

    return bc->h->write(bc->h->arg, b, block, bc->state);
}

static enum cantor_err rollback_cb(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    struct batch_ctx *bc = ctx;

    return bc->h->rollback(bc->h->arg, b, block);
}

static void block_hash(uint64_t n, uint8_t out[32])
{
    uint8_t k[8];

    cantor_be64_put(k, n);
    cantor_keccak256(k, 8, out);
}

static size_t apply_as(struct rig *r, int i, uint64_t number);

/* Apply block FIRST+i through the hook, like the follower; returns the canonical length. */
static size_t apply(struct rig *r, int i)
{
    return apply_as(r, i, FIRST + (uint64_t)i);
}

/* Apply recorded file i as block `number` (the next block after the store's head). */
static size_t apply_as(struct rig *r, int i, uint64_t number)
{
    const struct cantor_block_hook *h = cantor_compress_hook(r->c);
    struct cantor_block_meta meta;
    struct cantor_delta *d = NULL;
    struct cantor_buf raw;
    struct batch_ctx bc = {h, NULL};
    size_t len;

    ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(files[i]), &d), CANTOR_OK);
    d->block_number = number;
    memset(&meta, 0, sizeof(meta));
    meta.number = d->block_number;
    block_hash(meta.number, meta.hash);
    block_hash(meta.number - 1, meta.parent_hash);
    cantor_buf_init(&raw, CANTOR_CHUNK_MAX_RAW);
    ck_assert_int_eq(cantor_delta_encode(d, &raw), CANTOR_OK);
    ck_assert_int_eq(h->prepare(h->arg, &meta, d, raw.data, raw.len, &bc.state), CANTOR_OK);
    ck_assert_int_eq(cantor_store_apply_block_ex(r->store, &meta, d, NULL, 0, write_cb, &bc), CANTOR_OK);
    h->committed(h->arg, meta.number, bc.state);
    len = raw.len;
    cantor_buf_release(&raw);
    cantor_delta_free(d);
    return len;
}

/*
 * The chunk's model was trained on none of the chunk's blocks (compress.c, model_for): the training
 * blocks its bundle lists. Returns whether the model is a trained one.
 */
static bool assert_model_not_own(struct cantor_compress *c, const uint8_t *chunk, size_t len)
{
    static const uint8_t none[32];
    struct cantor_chunk_info info;
    struct cantor_buf b;
    size_t pos = 8;
    uint32_t n;

    ck_assert_int_eq(cantor_chunk_parse_header(chunk, len, &info), CANTOR_OK);
    if (memcmp(info.model_hash, none, info.model_hash_len) == 0)
        return false; /* raw: no model */
    cantor_buf_init(&b, 0);
    ck_assert_int_eq(cantor_compress_model_bundle(c, info.model_hash, info.model_hash_len, &b), CANTOR_OK);
    ck_assert_uint_ge(b.len, 8);
    n = cantor_be32_get(b.data + 4);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_le(pos + 12, b.len);
        uint64_t t = cantor_be64_get(b.data + pos);
        ck_assert_msg(t < info.first_block || t > info.last_block,
                      "chunk of blocks %llu..%llu coded with a model trained on block %llu",
                      (unsigned long long)info.first_block, (unsigned long long)info.last_block,
                      (unsigned long long)cantor_be64_get(b.data + pos));
        pos += 12 + cantor_be32_get(b.data + pos + 8);
    }
    cantor_buf_release(&b);
    return n > 0;
}

/* Every chunk of the store decodes through c to the store's canonical bytes; returns stored bytes. */
static uint64_t check_all(struct rig *r, struct cantor_compress *c, int n, int *ret_warm)
{
    uint64_t total = 0;

    *ret_warm = 0;
    for (int i = 0; i < n; i++) {
        struct cantor_chunk_info info;
        struct cantor_buf out;
        uint8_t *chunk = NULL, *raw = NULL;
        size_t clen = 0, rlen = 0;

        ck_assert_int_eq(cantor_store_get_chunk(r->store, FIRST + (uint64_t)i, &chunk, &clen), CANTOR_OK);
        ck_assert_int_eq(cantor_store_get_delta_bytes(r->store, FIRST + (uint64_t)i, &raw, &rlen), CANTOR_OK);
        ck_assert_int_eq(cantor_chunk_parse_header(chunk, clen, &info), CANTOR_OK);
        ck_assert_uint_eq(info.first_block, FIRST + (uint64_t)i);
        ck_assert_uint_eq(info.raw_len, rlen);
        *ret_warm += info.codec == CANTOR_CODEC_CM_WARM;
        assert_model_not_own(c, chunk, clen);
        cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
        ck_assert_int_eq(cantor_compress_decode(c, chunk, clen, &out), CANTOR_OK);
        ck_assert_uint_eq(out.len, rlen);
        ck_assert_mem_eq(out.data, raw, rlen);
        total += clen;
        cantor_buf_release(&out);
        free(chunk);
        free(raw);
    }
    return total;
}

static void roundtrip(bool rocks)
{
    struct cantor_compress_stats st, st2;
    struct cantor_compress *c2 = NULL;
    struct rig r;
    uint64_t raw_total = 0, stored;
    int warm = 0, warm2 = 0;

    rig_open(&r, rocks);
    for (int i = 0; i < N_BLOCKS; i++)
        raw_total += apply(&r, i);
    stored = check_all(&r, r.c, N_BLOCKS, &warm);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.blocks, N_BLOCKS);
    ck_assert_uint_eq(st.raw_bytes, raw_total);
    ck_assert_uint_eq(st.stored_bytes, stored);
    ck_assert_uint_eq(st.per_codec[0] + st.per_codec[1] + st.per_codec[2] + st.per_codec[3], N_BLOCKS);
    ck_assert_uint_lt(stored, raw_total * 2 / 3); /* untrained model: ~1.9x on these blocks */
    ck_assert_int_gt(warm, 0);                    /* the store answers the warm state lookups */
    ck_assert(!st.trained);
    /* A second engine over the same store (a restart): same stats from the chunks, same decoding. */
    ck_assert_int_eq(cantor_compress_new(r.store, NULL, &c2), CANTOR_OK);
    cantor_compress_get_stats(c2, &st2);
    ck_assert_uint_eq(st2.blocks, st.blocks);
    ck_assert_uint_eq(st2.raw_bytes, st.raw_bytes);
    ck_assert_uint_eq(st2.stored_bytes, st.stored_bytes);
    ck_assert_uint_eq(check_all(&r, c2, N_BLOCKS, &warm2), stored);
    cantor_compress_free(c2);
    rig_close(&r);
}

START_TEST(test_roundtrip_mem)
{
    roundtrip(false);
}
END_TEST

START_TEST(test_roundtrip_rocksdb)
{
    roundtrip(true);
}
END_TEST

START_TEST(test_rollback)
{
    const struct cantor_block_hook *h;
    struct cantor_compress_stats before, after;
    struct batch_ctx bc;
    struct rig r;
    uint8_t *chunk = NULL;
    size_t len = 0;
    uint64_t head = 0;
    bool empty = true;

    rig_open(&r, false);
    h = cantor_compress_hook(r.c);
    bc.h = h;
    bc.state = NULL;
    for (int i = 0; i < 3; i++)
        apply(&r, i);
    cantor_compress_get_stats(r.c, &before);
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 2, &chunk, &len), CANTOR_OK);
    ck_assert_int_eq(cantor_store_rollback_ex(r.store, &head, &empty, rollback_cb, &bc), CANTOR_OK);
    h->rolled_back(h->arg, FIRST + 2);
    ck_assert_uint_eq(head, FIRST + 1);
    cantor_compress_get_stats(r.c, &after);
    ck_assert_uint_eq(after.blocks, 2);
    ck_assert_uint_eq(after.stored_bytes, before.stored_bytes - len);
    free(chunk);
    chunk = NULL;
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 2, &chunk, &len), CANTOR_ERR_NOT_FOUND);
    /* Re-applying the block gives a chunk again. */
    apply(&r, 2);
    cantor_compress_get_stats(r.c, &after);
    ck_assert_uint_eq(after.blocks, 3);
    rig_close(&r);
}
END_TEST

/* Decode a chunk through c and compare it with the stored deltas of blocks first..last. */
static void assert_decodes_to(struct rig *r, struct cantor_compress *c, const uint8_t *chunk, size_t len,
                              uint64_t first, uint64_t last)
{
    struct cantor_chunk_info info;
    struct cantor_buf out;
    size_t pos = 0;

    ck_assert_int_eq(cantor_chunk_parse_header(chunk, len, &info), CANTOR_OK);
    ck_assert_uint_eq(info.first_block, first);
    ck_assert_uint_eq(info.last_block, last);
    assert_model_not_own(c, chunk, len);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
    ck_assert_int_eq(cantor_compress_decode(c, chunk, len, &out), CANTOR_OK);
    for (uint64_t n = first; n <= last; n++) {
        uint8_t *raw = NULL;
        size_t rlen = 0;
        ck_assert_int_eq(cantor_store_get_delta_bytes(r->store, n, &raw, &rlen), CANTOR_OK);
        ck_assert_uint_le(pos + rlen, out.len);
        ck_assert_mem_eq(out.data + pos, raw, rlen);
        pos += rlen;
        free(raw);
    }
    ck_assert_uint_eq(pos, out.len);
    cantor_buf_release(&out);
}

/*
 * Every block FIRST..FIRST+n-1: its own chunk and its stored chunk decode to the stored deltas; blocks
 * below packed_below are stored bpc to a chunk, the others one each (bpc == 0: either).
 */
static void check_packed(struct rig *r, struct cantor_compress *c, int n, uint64_t bpc, uint64_t packed_below)
{
    for (uint64_t b = FIRST; b < FIRST + (uint64_t)n; b++) {
        struct cantor_chunk_info info;
        uint8_t *chunk = NULL;
        size_t len = 0;
        uint64_t s = b < packed_below ? b - b % bpc : b;

        ck_assert_int_eq(cantor_compress_get_chunk(c, b, &chunk, &len), CANTOR_OK);
        assert_decodes_to(r, c, chunk, len, b, b);
        free(chunk);
        chunk = NULL;
        ck_assert_int_eq(cantor_compress_get_stored(c, b, &chunk, &len), CANTOR_OK);
        ck_assert_int_eq(cantor_chunk_parse_header(chunk, len, &info), CANTOR_OK);
        if (bpc == 0)
            assert_decodes_to(r, c, chunk, len, info.first_block, info.last_block);
        else
            assert_decodes_to(r, c, chunk, len, s, b < packed_below ? s + bpc - 1 : b);
        ck_assert_uint_le(info.first_block, b);
        ck_assert_uint_ge(info.last_block, b);
        free(chunk);
    }
}

/*
 * Final blocks packed 4 to a chunk (pack depth 2): blocks 100..107 in two chunks, 108..111 (not final
 * yet) one each. Every block is still served alone and decodes; the stored chunks are smaller and
 * decode to all their blocks; a restart sees the same stats and does not pack again; a reorg into a
 * packed chunk unpacks it; after a promotion compaction leaves the packed runs alone (the new model
 * was trained on them) and every chunk still names a model trained on earlier blocks only.
 */
static void pack(bool rocks)
{
    struct cantor_compress_opts co = {
        .train_blocks = 8, .retrain_every = 4, .compact_step = 64, .blocks_per_chunk = 4, .pack_depth = 2};
    const struct cantor_block_hook *h;
    struct cantor_compress_stats st0, st, st2;
    struct cantor_compress *c2 = NULL;
    struct batch_ctx bc;
    struct rig r;
    uint8_t *chunk = NULL;
    size_t len = 0;
    uint64_t done = 0, head = 0;
    bool empty = true, promoted = false;

    rig_open_co(&r, rocks, &co);
    for (int i = 0; i < N_BLOCKS; i++)
        apply(&r, i);
    cantor_compress_get_stats(r.c, &st0);
    ck_assert_uint_eq(st0.chunks, N_BLOCKS);
    ck_assert_uint_eq(st0.blocks_per_chunk, 4);
    ck_assert_int_eq(cantor_compress_pack_step(r.c, 10, &done), CANTOR_OK);
    ck_assert_uint_eq(done, 2); /* 100..103 and 104..107; 108..111 ends above head - depth (109) */
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.packed, 2);
    ck_assert_uint_eq(st.blocks, N_BLOCKS);
    ck_assert_uint_eq(st.chunks, N_BLOCKS - 6);
    ck_assert_uint_eq(st.raw_bytes, st0.raw_bytes);
    ck_assert_uint_lt(st.stored_bytes, st0.stored_bytes);
    ck_assert_uint_eq(st.per_codec[0] + st.per_codec[1] + st.per_codec[2] + st.per_codec[3], N_BLOCKS);
    ck_assert_uint_eq(st.pack_next, FIRST + 8);
    check_packed(&r, r.c, N_BLOCKS, 4, FIRST + 8);
    /* the packed blocks' own keys are gone: the chunk is stored once, under its first block */
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 1, &chunk, &len), CANTOR_ERR_NOT_FOUND);
    /* a restart counts the same and packs nothing again */
    ck_assert_int_eq(cantor_compress_new(r.store, &co, &c2), CANTOR_OK);
    cantor_compress_get_stats(c2, &st2);
    ck_assert_uint_eq(st2.blocks, st.blocks);
    ck_assert_uint_eq(st2.chunks, st.chunks);
    ck_assert_uint_eq(st2.stored_bytes, st.stored_bytes);
    ck_assert_int_eq(cantor_compress_pack_step(c2, 10, &done), CANTOR_OK);
    ck_assert_uint_eq(done, 0); /* the packed runs are skipped */
    cantor_compress_get_stats(c2, &st2);
    ck_assert_uint_eq(st2.pack_next, FIRST + 8);
    check_packed(&r, c2, N_BLOCKS, 4, FIRST + 8);
    cantor_compress_free(c2);
    /* a promotion (trained on 100..109): compaction re-encodes 110..111 only, the packed chunks stay */
    ck_assert_int_eq(cantor_compress_train_step(r.c, true, &promoted), CANTOR_OK);
    ck_assert(promoted);
    ck_assert_int_eq(cantor_compress_compact_step(r.c, 100, &done), CANTOR_OK);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.chunks, N_BLOCKS - 6);
    ck_assert_uint_eq(st.blocks, N_BLOCKS);
    ck_assert_uint_gt(st.compacted, 0);
    check_packed(&r, r.c, N_BLOCKS, 4, FIRST + 8);
    /* a reorg 5 blocks deep (deeper than the pack depth): the last rollback reaches 104..107 */
    h = cantor_compress_hook(r.c);
    bc.h = h;
    bc.state = NULL;
    for (uint64_t b = FIRST + N_BLOCKS - 1; b >= FIRST + 7; b--) {
        ck_assert_int_eq(cantor_store_rollback_ex(r.store, &head, &empty, rollback_cb, &bc), CANTOR_OK);
        h->rolled_back(h->arg, b);
        ck_assert_uint_eq(head, b - 1);
    }
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.blocks, 7);
    ck_assert_uint_eq(st.chunks, 1 + 3);
    check_packed(&r, r.c, 7, 4, FIRST + 4);
    ck_assert_int_eq(cantor_compress_get_stored(r.c, FIRST + 7, &chunk, &len), CANTOR_ERR_NOT_FOUND);
    ck_assert_uint_eq(st.pack_next, FIRST + 4); /* that run is considered again */
    /* the chain goes on: the run is packed again once final, if that is smaller, with the model of its
     * first block's chunk (the active one was trained on the run) */
    for (int i = 7; i < N_BLOCKS; i++)
        apply(&r, i);
    cantor_compress_get_stats(r.c, &st0);
    ck_assert_int_eq(cantor_compress_pack_step(r.c, 10, &done), CANTOR_OK);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.pack_next, FIRST + 8);
    ck_assert_uint_eq(st.chunks, N_BLOCKS - 3 - 3 * done);
    ck_assert_uint_le(st.stored_bytes, st0.stored_bytes);
    check_packed(&r, r.c, N_BLOCKS, 0, 0);
    rig_close(&r);
}

START_TEST(test_pack_mem)
{
    pack(false);
}
END_TEST

START_TEST(test_pack_rocksdb)
{
    pack(true);
}
END_TEST

START_TEST(test_train_promote_compact)
{
    struct cantor_compress_stats st, st2;
    struct cantor_compress *c2 = NULL;
    struct cantor_chunk_info info;
    struct rig r;
    uint8_t *rec = NULL, *chunk = NULL;
    size_t rlen = 0, clen = 0;
    uint64_t before, after, done = 0;
    bool promoted = false;
    int warm;

    rig_open(&r, true);
    for (int i = 0; i < 4; i++)
        apply(&r, i);
    /* Too few blocks for the first training (train_blocks = 8): nothing happens. */
    ck_assert_int_eq(cantor_compress_train_step(r.c, false, &promoted), CANTOR_OK);
    ck_assert(!promoted);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.trainings, 0);
    for (int i = 4; i < N_BLOCKS; i++)
        apply(&r, i);
    before = check_all(&r, r.c, N_BLOCKS, &warm);
    ck_assert_int_eq(cantor_compress_train_step(r.c, false, &promoted), CANTOR_OK);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.trainings, 1);
    ck_assert_uint_gt(st.last_holdout_old, 0);
    /* Promotion happens exactly when the held-out sample got smaller. */
    ck_assert(promoted == (st.last_holdout_new < st.last_holdout_old));
    ck_assert(promoted); /* a dictionary of these blocks helps on the held-out ones */
    ck_assert(st.trained);
    ck_assert_int_eq(cantor_store_get_raw(r.store, CANTOR_CF_MODELS, st.active_model, 32, &rec, &rlen),
                     CANTOR_OK);
    ck_assert_mem_eq(rec, "CMV1", 4);
    ck_assert_uint_eq(cantor_be32_get(rec + 4), st.last_train_last - st.last_train_first + 1);
    free(rec);
    /* Compaction covers the blocks after the training ones (the held-out ones here): a chunk never
     * uses a model trained on its own blocks (check_all asserts it of every chunk). */
    ck_assert_uint_eq(st.last_train_first, FIRST);
    ck_assert_uint_eq(st.compact_next, st.last_train_last + 1);
    ck_assert_uint_eq(st.compact_end, FIRST + N_BLOCKS - 1);
    ck_assert_uint_lt(st.compact_next, st.compact_end);
    /* Compaction: old chunks re-encoded with the new model when smaller, every one still decodes. */
    ck_assert_int_eq(cantor_compress_compact_step(r.c, 1, &done), CANTOR_OK);
    ck_assert_uint_eq(done, 1);
    ck_assert_int_eq(cantor_compress_compact_step(r.c, 100, &done), CANTOR_OK);
    ck_assert_uint_eq(done, FIRST + N_BLOCKS - 1 - st.compact_next);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_gt(st.compact_next, st.compact_end);
    after = check_all(&r, r.c, N_BLOCKS, &warm);
    ck_assert_uint_le(after, before);
    ck_assert_uint_gt(st.compacted, 0);
    ck_assert_uint_eq(st.stored_bytes, after);
    /* A restart rebuilds the active version from its registered blocks and decodes everything. */
    ck_assert_int_eq(cantor_compress_new(r.store, NULL, &c2), CANTOR_OK);
    cantor_compress_get_stats(c2, &st2);
    ck_assert_mem_eq(st2.active_model, st.active_model, 32);
    ck_assert(st2.trained);
    ck_assert_uint_gt(st2.compact_next, st2.compact_end); /* progress was persisted */
    ck_assert_uint_eq(check_all(&r, c2, N_BLOCKS, &warm), after);
    /* New blocks use the promoted model. */
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 3, &chunk, &clen), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(chunk, clen, &info), CANTOR_OK);
    free(chunk);
    cantor_compress_free(c2);
    rig_close(&r);
}
END_TEST

/*
 * Retraining cadence: the first model after train_blocks followed blocks, then every retrain_every
 * blocks: trainings at 4, 14 and 24 blocks here. The trainer is asked after every block, as its
 * thread does once a second.
 */
START_TEST(test_retrain_cadence)
{
    struct cantor_compress_opts co = {.train_blocks = 4, .retrain_every = 10, .compact_step = 64};
    struct cantor_compress_stats st;
    uint64_t at[8];
    int n = 0;
    struct rig r;

    rig_open_co(&r, false, &co);
    for (int i = 0; i < 30; i++) {
        uint64_t before;
        apply_as(&r, i % N_BLOCKS, FIRST + (uint64_t)i);
        cantor_compress_get_stats(r.c, &st);
        before = st.trainings;
        ck_assert_int_eq(cantor_compress_train_step(r.c, false, NULL), CANTOR_OK);
        cantor_compress_get_stats(r.c, &st);
        if (st.trainings > before) {
            ck_assert_int_lt(n, 8);
            at[n++] = (uint64_t)i + 1; /* blocks followed */
        }
    }
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(at[0], 4);
    ck_assert_uint_eq(at[1], 14);
    ck_assert_uint_eq(at[2], 24);
    rig_close(&r);
}
END_TEST

/*
 * Backfill: the first model learns from the first blocks, so their chunks keep the untrained model.
 * Once train_blocks blocks follow them, a training leaves them out, and its model (when promoted)
 * re-codes them: compaction then starts at the first block and skips the model's training blocks.
 */
START_TEST(test_backfill)
{
    struct cantor_compress_opts co = {.train_blocks = 8, .retrain_every = 8, .compact_step = 64};
    struct cantor_compress_stats st;
    struct cantor_chunk_info info;
    uint8_t first_model[32], *chunk = NULL;
    uint64_t done = 0;
    size_t clen = 0;
    bool promoted = false;
    int warm, recoded = 0;
    struct rig r;

    rig_open_co(&r, false, &co);
    for (int i = 0; i < 8; i++)
        apply_as(&r, i, FIRST + (uint64_t)i);
    ck_assert_int_eq(cantor_compress_train_step(r.c, false, &promoted), CANTOR_OK);
    ck_assert(promoted);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.last_train_first, FIRST);
    ck_assert_uint_eq(st.last_train_last, FIRST + 6);
    memcpy(first_model, st.active_model, 32);
    ck_assert_int_eq(cantor_compress_compact_step(r.c, 100, &done), CANTOR_OK);
    /* 8 blocks after the untrained run (FIRST..FIRST+6) are not there yet: the window starts at FIRST */
    for (int i = 8; i < 14; i++)
        apply_as(&r, i % N_BLOCKS, FIRST + (uint64_t)i);
    ck_assert_int_eq(cantor_compress_train_step(r.c, true, &promoted), CANTOR_OK);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.last_train_first, FIRST);
    ck_assert_mem_eq(st.active_model, first_model, 32); /* not promoted: same blocks, fewer held out */
    for (int i = 14; i < 24; i++)
        apply_as(&r, i % N_BLOCKS, FIRST + (uint64_t)i);
    ck_assert_int_eq(cantor_compress_train_step(r.c, true, &promoted), CANTOR_OK);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.last_train_first, FIRST + 7);
    ck_assert(promoted);
    ck_assert_uint_eq(st.compact_next, FIRST);
    ck_assert_int_eq(cantor_compress_compact_step(r.c, 100, &done), CANTOR_OK);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_gt(st.compact_next, st.compact_end);
    for (uint64_t n = FIRST; n <= FIRST + 6; n++) {
        ck_assert_int_eq(cantor_store_get_chunk(r.store, n, &chunk, &clen), CANTOR_OK);
        ck_assert_int_eq(cantor_chunk_parse_header(chunk, clen, &info), CANTOR_OK);
        recoded += memcmp(info.model_hash, st.active_model, info.model_hash_len) == 0;
        free(chunk);
    }
    ck_assert_int_gt(recoded, 0);
    check_all(&r, r.c, 24, &warm); /* every chunk decodes; none names a model trained on it */
    rig_close(&r);
}
END_TEST

START_TEST(test_bad_chunks)
{
    struct cantor_buf out;
    struct rig r;
    uint8_t *chunk = NULL;
    size_t len = 0;
    enum cantor_err err;

    rig_open(&r, false);
    for (int i = 0; i < 3; i++)
        apply(&r, i);
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 2, &chunk, &len), CANTOR_OK);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
    ck_assert_int_eq(cantor_compress_decode(r.c, chunk, len / 2, &out), CANTOR_ERR_TRUNCATED);
    ck_assert_int_eq(cantor_compress_decode(r.c, chunk, 10, &out), CANTOR_ERR_TRUNCATED);
    chunk[len - 1] ^= 0x5a; /* last payload byte */
    err = cantor_compress_decode(r.c, chunk, len, &out);
    ck_assert_msg(err == CANTOR_ERR_CHECKSUM || err == CANTOR_ERR_CORRUPT, "got %s", cantor_err_str(err));
    chunk[len - 1] ^= 0x5a;
    chunk[7] ^= 0x01; /* first byte of the model hash */
    ck_assert_int_eq(cantor_compress_decode(r.c, chunk, len, &out), CANTOR_ERR_UNKNOWN_MODEL);
    chunk[7] ^= 0x01;
    chunk[0] = 'X';
    ck_assert_int_ne(cantor_compress_decode(r.c, chunk, len, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, 0);
    chunk[0] = 'C';
    ck_assert_int_eq(cantor_compress_decode(r.c, chunk, len, &out), CANTOR_OK);
    ck_assert_uint_gt(out.len, 0);
    cantor_buf_release(&out);
    free(chunk);
    rig_close(&r);
}
END_TEST

/* A model version record with no training blocks, as if registered by some binary. */
static void put_model_record(struct cantor_store *store, const uint8_t hash[32])
{
    struct cantor_store_batch *b = NULL;

    ck_assert_int_eq(cantor_store_batch_new(store, &b), CANTOR_OK);
    ck_assert_int_eq(cantor_store_batch_put(b, CANTOR_CF_MODELS, hash, 32, "CMV1\0\0\0\0", 8), CANTOR_OK);
    ck_assert_int_eq(cantor_store_batch_commit(b), CANTOR_OK);
    cantor_store_batch_free(b);
}

/*
 * A store written by another coder (another untrained model or key window): a new engine drops the
 * model versions it cannot rebuild and queues every block for a forced re-encoding, which replaces
 * every chunk, also those whose model still resolves and one whose model prefix names no version
 * (which outside a forced pass is replaced too, even where the new chunk is larger). It happens
 * once: the engine records its coder.
 */
/*
 * A range of stored blocks as one self-contained chunk: the engine decodes it to the blocks' canonical
 * bytes, so does a fresh context with only the model (what `cantor decompress --model` does), and bad
 * ranges get precise errors.
 */
START_TEST(test_encode_range)
{
    struct cantor_buf out, back, want;
    struct cantor_codec_ctx *fresh;
    struct cantor_codec_model *m = NULL;
    struct cantor_chunk_info info;
    struct rig r;

    rig_open(&r, false);
    for (int i = 0; i < 5; i++)
        apply(&r, i);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_LEN);
    cantor_buf_init(&back, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&want, CANTOR_CHUNK_MAX_RAW);
    for (uint64_t b = FIRST + 1; b <= FIRST + 4; b++) {
        uint8_t *raw = NULL;
        size_t len = 0;
        ck_assert_int_eq(cantor_store_get_delta_bytes(r.store, b, &raw, &len), CANTOR_OK);
        ck_assert_int_eq(cantor_buf_append(&want, raw, len), CANTOR_OK);
        free(raw);
    }
    ck_assert_int_eq(cantor_compress_encode_range(r.c, FIRST + 1, 4, &out), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(out.data, out.len, &info), CANTOR_OK);
    ck_assert_uint_eq(info.first_block, FIRST + 1);
    ck_assert_uint_eq(info.last_block, FIRST + 4);
    ck_assert_int_eq(cantor_compress_decode(r.c, out.data, out.len, &back), CANTOR_OK);
    ck_assert_uint_eq(back.len, want.len);
    ck_assert_mem_eq(back.data, want.data, want.len);
    /* offline: the (untrained, active) model and an empty context are all it needs */
    back.len = 0;
    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&fresh), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_decompress(m, fresh, out.data, out.len, &back), CANTOR_OK);
    ck_assert_mem_eq(back.data, want.data, want.len);
    cantor_codec_ctx_free(fresh);
    cantor_codec_model_free(m);
    out.len = 0;
    ck_assert_int_eq(cantor_compress_encode_range(r.c, FIRST + 3, 3, &out), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_compress_encode_range(r.c, FIRST, 0, &out), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_compress_encode_range(r.c, FIRST, CANTOR_COMPRESS_RANGE_MAX + 1, &out),
                     CANTOR_ERR_INVALID);
    ck_assert_uint_eq(out.len, 0);
    cantor_buf_release(&out);
    cantor_buf_release(&back);
    cantor_buf_release(&want);
    rig_close(&r);
}
END_TEST

START_TEST(test_coder_migration)
{
    static const uint8_t other_coder[32] = {0x11}, fake_model[32] = {0x22};
    struct cantor_compress_stats st;
    struct cantor_chunk_info info;
    struct cantor_buf out;
    struct rig r;
    uint8_t *chunk = NULL, *v = NULL;
    size_t clen = 0, vlen = 0;
    uint64_t done = 0;
    int warm;

    rig_open(&r, true);
    for (int i = 0; i < 4; i++)
        apply(&r, i);
    cantor_compress_free(r.c);
    r.c = NULL;
    /* what an older binary left behind */
    ck_assert_int_eq(cantor_store_put_meta(r.store, "compress.coder", other_coder, 32), CANTOR_OK);
    put_model_record(r.store, fake_model);
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 1, &chunk, &clen), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(chunk, clen, &info), CANTOR_OK);
    ck_assert_uint_ne(info.codec, CANTOR_CODEC_RAW);
    memset(chunk + 7, 0x33, CANTOR_CHUNK_MODEL_PREFIX); /* a model no version has */
    ck_assert_int_eq(cantor_store_put_chunk(r.store, FIRST + 1, chunk, clen), CANTOR_OK);
    free(chunk);

    ck_assert_int_eq(cantor_compress_new(r.store, NULL, &r.c), CANTOR_OK);
    ck_assert_int_eq(cantor_store_get_raw(r.store, CANTOR_CF_MODELS, fake_model, 32, &v, &vlen),
                     CANTOR_ERR_NOT_FOUND);
    cantor_compress_get_stats(r.c, &st);
    ck_assert(!st.trained);
    ck_assert_uint_le(st.compact_next, FIRST);
    ck_assert_uint_eq(st.compact_end, FIRST + 3);
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 1, &chunk, &clen), CANTOR_OK);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
    ck_assert_int_eq(cantor_compress_decode(r.c, chunk, clen, &out), CANTOR_ERR_UNKNOWN_MODEL);
    free(chunk);
    /* what GET /v1/blocks/{n}/compressed serves meanwhile is coded anew, so it decodes */
    for (uint64_t n = FIRST + 1; n <= FIRST + 2; n++) {
        cantor_buf_reset(&out);
        ck_assert_int_eq(cantor_compress_get_chunk(r.c, n, &chunk, &clen), CANTOR_OK);
        ck_assert_int_eq(cantor_compress_decode(r.c, chunk, clen, &out), CANTOR_OK);
        free(chunk);
    }
    cantor_buf_release(&out);
    cantor_compress_get_stats(r.c, &st);
    ck_assert_uint_eq(st.compacted, 2);
    ck_assert_int_eq(cantor_compress_compact_step(r.c, 100, &done), CANTOR_OK);
    cantor_compress_get_stats(r.c, &st);
    /* forced: all four again, also those whose model still resolves (another key window, say) */
    ck_assert_uint_eq(st.compacted, 6);
    ck_assert_uint_gt(st.compact_next, st.compact_end);
    check_all(&r, r.c, 4, &warm); /* every chunk decodes again */
    ck_assert_int_eq(cantor_store_get_meta(r.store, "compress.coder", &v, &vlen), CANTOR_OK);
    ck_assert_uint_eq(vlen, 32);
    ck_assert_mem_ne(v, other_coder, 32);
    free(v);

    /* once: a restart with the same coder keeps what is registered */
    cantor_compress_free(r.c);
    r.c = NULL;
    put_model_record(r.store, fake_model);
    ck_assert_int_eq(cantor_compress_new(r.store, NULL, &r.c), CANTOR_OK);
    ck_assert_int_eq(cantor_store_get_raw(r.store, CANTOR_CF_MODELS, fake_model, 32, &v, &vlen), CANTOR_OK);
    free(v);
    rig_close(&r);
}
END_TEST

/*
 * A warm chunk refers to the keys of the blocks before it (CANTOR_COMPRESS_KEY_WINDOW): the same
 * block's keys again, one block later, cost a fraction of their literal bytes; and the chunk still
 * decodes from a fresh engine (after a restart), which rebuilds the window from the store.
 */
START_TEST(test_key_window)
{
    struct cantor_compress *c2 = NULL;
    struct rig r;
    uint8_t *c1 = NULL, *c2b = NULL;
    size_t l1 = 0, l2 = 0;
    int warm;

    rig_open(&r, true);
    apply_as(&r, 2, FIRST);
    apply_as(&r, 2, FIRST + 1); /* the same keys (and values) as the block before */
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST, &c1, &l1), CANTOR_OK);
    ck_assert_int_eq(cantor_store_get_chunk(r.store, FIRST + 1, &c2b, &l2), CANTOR_OK);
    ck_assert_msg(l2 * 2 < l1, "second chunk %zu bytes, first %zu", l2,
                  l1); /* without the window: the same */
    free(c1);
    free(c2b);
    ck_assert_int_eq(cantor_compress_new(r.store, NULL, &c2), CANTOR_OK);
    check_all(&r, c2, 2, &warm);
    ck_assert_int_ge(warm, 1);
    cantor_compress_free(c2);
    rig_close(&r);
}
END_TEST

START_TEST(test_encode_cold)
{
    struct cantor_buf raw, out, back;
    struct cantor_chunk_info info;
    struct rig r;
    uint8_t *bytes = NULL;
    size_t len = 0;

    rig_open(&r, false);
    apply(&r, 0);
    ck_assert_int_eq(cantor_store_get_delta_bytes(r.store, FIRST, &bytes, &len), CANTOR_OK);
    cantor_buf_init(&raw, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_LEN);
    cantor_buf_init(&back, CANTOR_CHUNK_MAX_RAW);
    ck_assert_int_eq(cantor_compress_encode(r.c, bytes, len, &out), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(out.data, out.len, &info), CANTOR_OK);
    ck_assert_uint_eq(info.flags & CANTOR_CHUNK_FLAG_WARM, 0);
    ck_assert_int_eq(cantor_compress_decode(r.c, out.data, out.len, &back), CANTOR_OK);
    ck_assert_uint_eq(back.len, len);
    ck_assert_mem_eq(back.data, bytes, len);
    /* Not a canonical delta: refused. */
    ck_assert_int_ne(cantor_compress_encode(r.c, (const uint8_t *)"CDLTxx", 6, &out), CANTOR_OK);
    cantor_buf_release(&raw);
    cantor_buf_release(&out);
    cantor_buf_release(&back);
    free(bytes);
    rig_close(&r);
}
END_TEST

static Suite *compress_suite(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_roundtrip_mem);
    tcase_add_test(tc, test_roundtrip_rocksdb);
    tcase_add_test(tc, test_rollback);
    tcase_add_test(tc, test_pack_mem);
    tcase_add_test(tc, test_pack_rocksdb);
    tcase_add_test(tc, test_train_promote_compact);
    tcase_add_test(tc, test_retrain_cadence);
    tcase_add_test(tc, test_backfill);
    tcase_add_test(tc, test_bad_chunks);
    tcase_add_test(tc, test_encode_range);
    tcase_add_test(tc, test_coder_migration);
    tcase_add_test(tc, test_key_window);
    tcase_add_test(tc, test_encode_cold);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(compress_suite());
}
