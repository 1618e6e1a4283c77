/* test_codec.c - the chunk container and the adaptive codec on real mainnet deltas: cold and warm
 * round trips, never worse than zstd-dict, precise errors on damaged chunks, determinism (golden
 * checksum of a chunk built from synthetic input), and a bounded mutation fuzz of the decoder. */
#include <stdlib.h>
#include <string.h>

#include "core/codec_internal.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/varint.h"

/*
 * keccak256 of the untrained model and of the chunk of synthetic(): the same on every machine. They move
 * only with a deliberate change of the coder (then a daemon re-encodes its stored chunks, compress.c).
 */
#define GOLDEN_MODEL "0x3965c419f6e1763296ecf2f11b046b4e48f24a301495a82a672ddd66afab5cdf"
#define GOLDEN_CHUNK "0x394735aa24f81ccc56be8cc006e9851592bd62555e05083df56c346e5e3fcf68"
/* keccak256 of the three carried chunks of test_carried_golden */
#define GOLDEN_CARRIED "0x62087685ee996009bc120207f7b9e894d54f79b764c98037a0a9e9cd241ced0a"
/* keccak256 of the multi-block chunk of test_multi_block_golden */
#define GOLDEN_MULTI "0x831c00d21c8415c9d342f1e5452b9bed44bc8b14eeeab17f98c76c08ab4239b2"
#include "testutil.h"

#define TRB "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/"
static const char *train_files[] = {TRB "test_01.json", TRB "test_02.json", TRB "test_03.json",
                                    TRB "test_04.json", TRB "test_06.json", TRB "test_08.json"};
static const char *eval_files[] = {TRB "test_05.json", TRB "test_31.json", TRB "test_37.json"};

/* n bytes of the tests' linear congruential generator (state *x): the same bytes on every machine. */
static void lcg_bytes(uint32_t *x, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)((*x = *x * 1103515245u + 12345u) >> 16);
}

static struct cantor_delta *load(const char *rel)
{
    struct cantor_delta *d = NULL;

    ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(rel), &d), CANTOR_OK);
    return d;
}

static struct cantor_codec_model *trained_model(void)
{
    struct cantor_delta *d[6];
    struct cantor_codec_model *m;

    for (int i = 0; i < 6; i++)
        d[i] = load(train_files[i]);
    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_model_train(m, (const struct cantor_delta *const *)d, 6), CANTOR_OK);
    for (int i = 0; i < 6; i++)
        cantor_delta_free(d[i]);
    return m;
}

static void encode_delta(const struct cantor_delta *d, struct cantor_buf *raw)
{
    cantor_buf_init(raw, CANTOR_CHUNK_MAX_RAW);
    ck_assert_int_eq(cantor_delta_encode(d, raw), CANTOR_OK);
}

static int by_block(const void *a, const void *b)
{
    const struct cantor_delta *x = *(struct cantor_delta *const *)a, *y = *(struct cantor_delta *const *)b;

    return x->block_number < y->block_number ? -1 : x->block_number > y->block_number;
}

/*
 * A model bundle rebuilds exactly the model trained on the same deltas (same hash, same chunks), and
 * every malformed bundle is refused with a precise error, never a model.
 */
START_TEST(test_model_bundle)
{
    struct cantor_delta *d[6];
    struct cantor_codec_model *direct = NULL, *rebuilt = NULL, *m = NULL;
    struct cantor_buf b, raw, c1, c2, x;
    uint8_t h1[32], h2[32], zero_hash[32];
    size_t ends[6];

    for (int i = 0; i < 6; i++)
        d[i] = load(train_files[i]);
    qsort(d, 6, sizeof(d[0]), by_block);
    ck_assert_int_eq(cantor_codec_model_new(&direct), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_model_train(direct, (const struct cantor_delta *const *)d, 6), CANTOR_OK);
    cantor_codec_model_hash(direct, h1);

    cantor_buf_init(&b, CANTOR_CODEC_BUNDLE_MAX_BYTES);
    ck_assert_int_eq(cantor_codec_bundle_begin(&b), CANTOR_OK);
    for (int i = 0; i < 6; i++) {
        encode_delta(d[i], &raw);
        ck_assert_int_eq(cantor_codec_bundle_add(&b, d[i]->block_number, raw.data, raw.len), CANTOR_OK);
        ends[i] = b.len;
        cantor_buf_release(&raw);
    }
    ck_assert_int_eq(cantor_codec_bundle_train(b.data, b.len, h1, &rebuilt), CANTOR_OK);
    cantor_codec_model_hash(rebuilt, h2);
    ck_assert_mem_eq(h1, h2, 32);
    /* the same chunk from both */
    {
        struct cantor_delta *e = load(eval_files[0]);

        encode_delta(e, &raw);
        cantor_buf_init(&c1, CANTOR_CHUNK_MAX_LEN);
        cantor_buf_init(&c2, CANTOR_CHUNK_MAX_LEN);
        ck_assert_int_eq(cantor_codec_compress(direct, NULL, NULL, raw.data, raw.len, &c1, NULL), CANTOR_OK);
        ck_assert_int_eq(cantor_codec_compress(rebuilt, NULL, NULL, raw.data, raw.len, &c2, NULL), CANTOR_OK);
        ck_assert_uint_eq(c1.len, c2.len);
        ck_assert_mem_eq(c1.data, c2.data, c1.len);
        cantor_buf_release(&c1);
        cantor_buf_release(&c2);
        cantor_buf_release(&raw);
        cantor_delta_free(e);
    }
    /* the claimed hash must match */
    memset(zero_hash, 0, sizeof(zero_hash));
    ck_assert_int_eq(cantor_codec_bundle_train(b.data, b.len, zero_hash, &m), CANTOR_ERR_MISMATCH);
    ck_assert_ptr_null(m);
    /* every cut: truncated, or (at an entry boundary) a count that promises more */
    for (size_t cut = 0; cut < b.len; cut += (cut < 64 ? 1 : 997))
        ck_assert_int_ne(cantor_codec_bundle_train(b.data, cut, NULL, &m), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_bundle_train(b.data, 7, NULL, &m), CANTOR_ERR_TRUNCATED);
    ck_assert_int_eq(cantor_codec_bundle_train(b.data, ends[2], NULL, &m), CANTOR_ERR_TRUNCATED);
    cantor_buf_init(&x, CANTOR_CODEC_BUNDLE_MAX_BYTES);
    /* trailing byte, bad magic, count over the limit, blocks out of order, a block number that is not
     * the delta's */
    ck_assert_int_eq(cantor_buf_append(&x, b.data, b.len), CANTOR_OK);
    ck_assert_int_eq(cantor_buf_append(&x, "", 1), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_bundle_train(x.data, x.len, NULL, &m), CANTOR_ERR_CORRUPT);
    x.len = b.len;
    x.data[0] ^= 1;
    ck_assert_int_eq(cantor_codec_bundle_train(x.data, x.len, NULL, &m), CANTOR_ERR_CORRUPT);
    x.data[0] ^= 1;
    x.data[4] = 0xff;
    ck_assert_int_eq(cantor_codec_bundle_train(x.data, x.len, NULL, &m), CANTOR_ERR_TOO_LARGE);
    x.data[4] = 0;
    memcpy(x.data + ends[0], x.data + 8, 8); /* entry 2 claims entry 1's block */
    ck_assert_int_eq(cantor_codec_bundle_train(x.data, x.len, NULL, &m), CANTOR_ERR_CORRUPT);
    memcpy(x.data, b.data, b.len);
    x.data[8 + 7] ^= 1; /* entry 1's block number differs from its delta's */
    ck_assert_int_eq(cantor_codec_bundle_train(x.data, x.len, NULL, &m), CANTOR_ERR_CORRUPT);
    ck_assert_ptr_null(m);
    /* the untrained model is the empty bundle */
    ck_assert_int_eq(cantor_codec_bundle_begin(&x), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_bundle_train(x.data, x.len, NULL, &m), CANTOR_OK);
    cantor_codec_model_free(direct);
    ck_assert_int_eq(cantor_codec_model_new(&direct), CANTOR_OK);
    cantor_codec_model_hash(direct, h1);
    cantor_codec_model_hash(m, h2);
    ck_assert_mem_eq(h1, h2, 32);
    cantor_codec_model_free(m);
    cantor_buf_release(&x);
    cantor_buf_release(&b);
    cantor_codec_model_free(direct);
    cantor_codec_model_free(rebuilt);
    for (int i = 0; i < 6; i++)
        cantor_delta_free(d[i]);
}
END_TEST

/* The highest training block number (test_04, 6,452,018; the files are not in block order). */
START_TEST(test_trained_through)
{
    struct cantor_codec_model *m;
    uint64_t b = 7;

    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert(!cantor_codec_model_trained_through(m, &b));
    ck_assert_uint_eq(b, 7);
    cantor_codec_model_free(m);
    ck_assert(!cantor_codec_model_trained_through(NULL, &b));
    m = trained_model();
    ck_assert(cantor_codec_model_trained_through(m, &b));
    ck_assert_uint_eq(b, 6452018); /* test_04 */
    ck_assert(cantor_codec_model_trained_on(m, 6452018, 6452018));
    ck_assert(cantor_codec_model_trained_on(m, 0, UINT64_MAX));
    ck_assert(!cantor_codec_model_trained_on(m, 6452019, UINT64_MAX));
    ck_assert(!cantor_codec_model_trained_on(m, 6452018, 6452017)); /* empty range */
    cantor_codec_model_free(m);
}
END_TEST

static struct cantor_delta *synthetic(void);

/* trained_on is exact: blocks between two training blocks (or before or after them) are not. */
START_TEST(test_trained_on)
{
    struct cantor_codec_model *m;
    struct cantor_delta *d[4];
    static const uint64_t nums[4] = {90, 10, 50, 10};

    for (size_t i = 0; i < 4; i++) {
        d[i] = synthetic();
        d[i]->block_number = nums[i];
    }
    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert(!cantor_codec_model_trained_on(m, 0, UINT64_MAX)); /* untrained */
    ck_assert_int_eq(cantor_codec_model_train(m, (const struct cantor_delta *const *)d, 4), CANTOR_OK);
    ck_assert(!cantor_codec_model_trained_on(m, 0, 9));
    ck_assert(cantor_codec_model_trained_on(m, 0, 10));
    ck_assert(!cantor_codec_model_trained_on(m, 11, 49));
    ck_assert(cantor_codec_model_trained_on(m, 11, 50));
    ck_assert(cantor_codec_model_trained_on(m, 50, 89));
    ck_assert(!cantor_codec_model_trained_on(m, 51, 89));
    ck_assert(cantor_codec_model_trained_on(m, 90, 90));
    ck_assert(!cantor_codec_model_trained_on(m, 91, UINT64_MAX));
    ck_assert(!cantor_codec_model_trained_on(NULL, 0, UINT64_MAX));
    cantor_codec_model_free(m);
    for (size_t i = 0; i < 4; i++)
        cantor_delta_free(d[i]);
}
END_TEST

START_TEST(test_cold_roundtrip_beats_zstd_dict)
{
    struct cantor_codec_model *m = trained_model();

    for (size_t i = 0; i < 3; i++) {
        struct cantor_delta *d = load(eval_files[i]);
        struct cantor_buf raw, chunk, back, z;
        uint8_t codec;

        encode_delta(d, &raw);
        cantor_buf_init(&chunk, 0);
        cantor_buf_init(&back, 0);
        cantor_buf_init(&z, 0);
        ck_assert_int_eq(cantor_codec_compress(m, NULL, NULL, raw.data, raw.len, &chunk, &codec), CANTOR_OK);
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, chunk.data, chunk.len, &back), CANTOR_OK);
        ck_assert_uint_eq(back.len, raw.len);
        ck_assert_mem_eq(back.data, raw.data, raw.len);
        ck_assert_int_eq(cantor_zstd_compress(m->zd, 19, raw.data, raw.len, &z), CANTOR_OK);
        /* adaptive choice: payload never larger than zstd-dict's (the header is < 100 bytes) */
        ck_assert_uint_le(chunk.len, z.len + 100);
        if (raw.len > 4000)
            ck_assert_int_eq(codec, CANTOR_CODEC_CM); /* the structural coder wins on real blocks */
        cantor_buf_release(&raw);
        cantor_buf_release(&chunk);
        cantor_buf_release(&back);
        cantor_buf_release(&z);
        cantor_delta_free(d);
    }
    cantor_codec_model_free(m);
}
END_TEST

START_TEST(test_warm_stream)
{
    static const char *g[] = {"erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_32.json",
                              "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_33.json"};
    struct cantor_codec_model *m = trained_model();
    struct cantor_codec_ctx *we, *wd;
    struct cantor_buf chunks[2];
    size_t cold_len = 0, warm_len = 0;

    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    for (int i = 0; i < 2; i++) {
        struct cantor_delta *d = load(g[i]);
        struct cantor_buf raw, cold;
        encode_delta(d, &raw);
        cantor_buf_init(&chunks[i], 0);
        cantor_buf_init(&cold, 0);
        ck_assert_int_eq(cantor_codec_compress(m, we, NULL, raw.data, raw.len, &chunks[i], NULL), CANTOR_OK);
        ck_assert_int_eq(cantor_codec_compress(m, NULL, NULL, raw.data, raw.len, &cold, NULL), CANTOR_OK);
        if (i == 1) {
            cold_len = cold.len;
            warm_len = chunks[i].len;
        }
        cantor_buf_release(&raw);
        cantor_buf_release(&cold);
        cantor_delta_free(d);
    }
    ck_assert_uint_lt(warm_len, cold_len); /* the second block profits from the first */
    /* a warm chunk cannot be decoded without its context */
    {
        struct cantor_buf out;
        cantor_buf_init(&out, 0);
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, chunks[1].data, chunks[1].len, &out),
                         CANTOR_ERR_INVALID);
        for (int i = 0; i < 2; i++) {
            struct cantor_delta *d = load(g[i]);
            struct cantor_buf raw;
            encode_delta(d, &raw);
            out.len = 0;
            ck_assert_int_eq(cantor_codec_decompress(m, wd, chunks[i].data, chunks[i].len, &out), CANTOR_OK);
            ck_assert_uint_eq(out.len, raw.len);
            ck_assert_mem_eq(out.data, raw.data, raw.len);
            cantor_buf_release(&raw);
            cantor_delta_free(d);
        }
        cantor_buf_release(&out);
    }
    for (int i = 0; i < 2; i++)
        cantor_buf_release(&chunks[i]);
    cantor_codec_ctx_free(we);
    cantor_codec_ctx_free(wd);
    cantor_codec_model_free(m);
}
END_TEST

START_TEST(test_errors)
{
    struct cantor_codec_model *m = trained_model(), *other;
    struct cantor_delta *d = load(eval_files[1]);
    struct cantor_buf raw, chunk, out;
    struct cantor_chunk_info ci;

    encode_delta(d, &raw);
    cantor_buf_init(&chunk, 0);
    cantor_buf_init(&out, 0);
    ck_assert_int_eq(cantor_codec_compress(m, NULL, NULL, raw.data, raw.len, &chunk, NULL), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(chunk.data, chunk.len, &ci), CANTOR_OK);
    ck_assert_uint_eq(ci.raw_len, raw.len);
    ck_assert_uint_eq(ci.first_block, d->block_number);
    /* truncated anywhere */
    for (size_t n = 0; n < chunk.len; n += 1 + n / 4)
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, chunk.data, n, &out), CANTOR_ERR_TRUNCATED);
    /* unknown model: an untrained model has another hash */
    ck_assert_int_eq(cantor_codec_model_new(&other), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_decompress(other, NULL, chunk.data, chunk.len, &out),
                     CANTOR_ERR_UNKNOWN_MODEL);
    /* checksum: flip a bit of the stored checksum */
    chunk.data[ci.header_len - 1] ^= 1;
    ck_assert_int_eq(cantor_codec_decompress(m, NULL, chunk.data, chunk.len, &out), CANTOR_ERR_CHECKSUM);
    chunk.data[ci.header_len - 1] ^= 1;
    /* unsupported version */
    chunk.data[4] = 9;
    ck_assert_int_eq(cantor_codec_decompress(m, NULL, chunk.data, chunk.len, &out), CANTOR_ERR_UNSUPPORTED);
    chunk.data[4] = CANTOR_CHUNK_VERSION;
    /* damaged payload: corrupt stream or checksum, never success */
    chunk.data[ci.header_len + ci.payload_len / 2] ^= 0x10;
    {
        enum cantor_err e = cantor_codec_decompress(m, NULL, chunk.data, chunk.len, &out);
        ck_assert(e == CANTOR_ERR_CORRUPT || e == CANTOR_ERR_CHECKSUM);
    }
    ck_assert_uint_eq(out.len, 0); /* nothing handed out on failure */
    /* non-canonical input is refused */
    raw.data[raw.len - 1] ^= 1;
    ck_assert_int_eq(cantor_codec_compress(m, NULL, NULL, raw.data, raw.len - 1, &out, NULL),
                     CANTOR_ERR_INVALID);
    cantor_codec_model_free(other);
    cantor_codec_model_free(m);
    cantor_delta_free(d);
    cantor_buf_release(&raw);
    cantor_buf_release(&chunk);
    cantor_buf_release(&out);
}
END_TEST

/* The state before the block for the warm tests: the old values of the block's own entries. */
struct oldstate {
    const struct cantor_delta *d;
    unsigned lookups;
};

static bool oldstate_lookup(void *arg, const uint8_t addr[20], uint8_t kind, const uint8_t slot[32],
                            uint8_t ret_val[32])
{
    struct oldstate *os = arg;
    struct cantor_delta_entry k;
    size_t i;

    memset(&k, 0, sizeof(k));
    memcpy(k.addr, addr, 20);
    k.kind = kind;
    memcpy(k.slot, slot, 32);
    os->lookups++;
    for (i = 0; i < os->d->n_entries; i++)
        if (cantor_delta_entry_cmp(&os->d->entries[i], &k) == 0) {
            memcpy(ret_val, os->d->entries[i].old_val, 32);
            return true;
        }
    return false;
}

/* With the state before the block, old values cost (almost) nothing, and the breakdown shows it. */
START_TEST(test_warm_state_lookup)
{
    struct cantor_codec_model *m = trained_model();
    struct cantor_delta *d = load(eval_files[1]);
    struct oldstate os = {d, 0};
    struct cantor_codec_state st = {oldstate_lookup, &os};
    struct cantor_codec_ctx *we, *wd, *plain;
    struct cantor_codec_breakdown with, without;
    struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
    struct cantor_buf raw, c1, c2, out;

    o.try_zstd = false;
    encode_delta(d, &raw);
    cantor_buf_init(&c1, 0);
    cantor_buf_init(&c2, 0);
    cantor_buf_init(&out, 0);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&plain), CANTOR_OK);
    cantor_codec_ctx_set_state(we, &st);
    cantor_codec_ctx_set_state(wd, &st);
    memset(&with, 0, sizeof(with));
    memset(&without, 0, sizeof(without));
    cantor_codec_model_set_breakdown(m, &with);
    ck_assert_int_eq(cantor_codec_compress(m, we, &o, raw.data, raw.len, &c1, NULL), CANTOR_OK);
    cantor_codec_model_set_breakdown(m, &without);
    ck_assert_int_eq(cantor_codec_compress(m, plain, &o, raw.data, raw.len, &c2, NULL), CANTOR_OK);
    cantor_codec_model_set_breakdown(m, NULL);
    ck_assert_uint_gt(os.lookups, d->n_entries / 2);
    ck_assert_uint_lt(c1.len, c2.len);
    ck_assert(with.bits[CANTOR_PART_OLD] * 20 < without.bits[CANTOR_PART_OLD]);
    ck_assert(without.bits[CANTOR_PART_ADDR] > 0 && without.bits[CANTOR_PART_SLOT] > 0);
    ck_assert(with.decisions[CANTOR_PART_NEW] > 0);
    /* the decoder with the same state gets the bytes back ... */
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c1.data, c1.len, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, raw.len);
    ck_assert_mem_eq(out.data, raw.data, raw.len);
    /* ... and one without it fails cleanly instead of handing out wrong bytes */
    {
        struct cantor_codec_ctx *blind;
        enum cantor_err e;
        ck_assert_int_eq(cantor_codec_ctx_new(&blind), CANTOR_OK);
        out.len = 0;
        e = cantor_codec_decompress(m, blind, c1.data, c1.len, &out);
        ck_assert(e == CANTOR_ERR_CORRUPT || e == CANTOR_ERR_CHECKSUM);
        ck_assert_uint_eq(out.len, 0);
        cantor_codec_ctx_free(blind);
    }
    cantor_codec_ctx_free(we);
    cantor_codec_ctx_free(wd);
    cantor_codec_ctx_free(plain);
    cantor_codec_model_free(m);
    cantor_delta_free(d);
    cantor_buf_release(&raw);
    cantor_buf_release(&c1);
    cantor_buf_release(&c2);
    cantor_buf_release(&out);
}
END_TEST

/* The match model: a block whose code repeats code the stream has seen costs far less the second time. */
START_TEST(test_code_match_model)
{
    struct cantor_codec_model *m;
    struct cantor_codec_ctx *we, *wd;
    struct cantor_delta *d[2];
    struct cantor_buf raw[2], chunk[2], out;
    struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
    uint8_t code[3000];
    uint32_t x = 7;

    o.try_zstd = false;
    lcg_bytes(&x, code, sizeof(code));
    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    cantor_buf_init(&out, 0);
    for (int b = 0; b < 2; b++) {
        struct cantor_delta_entry e;
        uint8_t h[32];
        code[100] = (uint8_t)b; /* a clone with one immutable changed */
        cantor_keccak256(code, sizeof(code), h);
        ck_assert_int_eq(cantor_delta_new(100u + (unsigned)b, &d[b]), CANTOR_OK);
        memset(&e, 0, sizeof(e));
        e.addr[0] = (uint8_t)(0x10 + b);
        e.kind = CANTOR_KIND_CODE;
        memcpy(e.old_val, CANTOR_KECCAK_EMPTY, 32);
        memcpy(e.new_val, h, 32);
        ck_assert_int_eq(cantor_delta_add(d[b], &e), CANTOR_OK);
        ck_assert_int_eq(cantor_delta_add_code(d[b], h, code, sizeof(code)), CANTOR_OK);
        ck_assert_int_eq(cantor_delta_finish(d[b]), CANTOR_OK);
        encode_delta(d[b], &raw[b]);
        cantor_buf_init(&chunk[b], 0);
        ck_assert_int_eq(cantor_codec_compress(m, we, &o, raw[b].data, raw[b].len, &chunk[b], NULL),
                         CANTOR_OK);
    }
    ck_assert_uint_gt(chunk[0].len, sizeof(code) * 9 / 10); /* random bytes: incompressible */
    ck_assert_uint_lt(chunk[1].len, 400);                   /* the clone: a few bytes + header */
    for (int b = 0; b < 2; b++) {
        out.len = 0;
        ck_assert_int_eq(cantor_codec_decompress(m, wd, chunk[b].data, chunk[b].len, &out), CANTOR_OK);
        ck_assert_uint_eq(out.len, raw[b].len);
        ck_assert_mem_eq(out.data, raw[b].data, raw[b].len);
        cantor_buf_release(&raw[b]);
        cantor_buf_release(&chunk[b]);
        cantor_delta_free(d[b]);
    }
    cantor_buf_release(&out);
    cantor_codec_ctx_free(we);
    cantor_codec_ctx_free(wd);
    cantor_codec_model_free(m);
}
END_TEST

/* Synthetic delta: deterministic content, so its chunk is a golden value for all machines. */
/* keccak256 of buf, as 0x-hex, must be the golden value want. */
static void assert_golden(const struct cantor_buf *buf, const char *want)
{
    uint8_t h[32];
    char hex[67];

    cantor_keccak256(buf->data, buf->len, h);
    cantor_hex_encode(h, 32, hex);
    ck_assert_str_eq(hex, want);
}

static struct cantor_delta *synthetic(void)
{
    struct cantor_delta *d;
    uint32_t x = 12345;

    ck_assert_int_eq(cantor_delta_new(1000000, &d), CANTOR_OK);
    for (int a = 0; a < 40; a++) {
        struct cantor_delta_entry e;
        memset(&e, 0, sizeof(e));
        lcg_bytes(&x, e.addr, 20);
        e.kind = CANTOR_KIND_NONCE;
        e.old_val[31] = (uint8_t)a;
        e.new_val[31] = (uint8_t)(a + 1);
        ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
        e.kind = CANTOR_KIND_STORAGE;
        for (int s = 0; s < 5; s++) {
            uint8_t buf[64] = {0};
            memcpy(buf + 12, e.addr, 20);
            buf[63] = (uint8_t)s;
            cantor_keccak256(buf, 64, e.slot);
            memset(e.old_val, 0, 32);
            memset(e.new_val, 0, 32);
            e.old_val[30] = (uint8_t)s;
            e.new_val[31] = (uint8_t)(x >> 8);
            e.new_val[30] = (uint8_t)(s + 1);
            ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
        }
    }
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    return d;
}

START_TEST(test_determinism_golden)
{
    struct cantor_codec_model *m;
    struct cantor_delta *d = synthetic();
    struct cantor_buf raw, c1, c2;
    struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
    uint8_t mh[32];
    char hex[67];

    o.try_zstd = false; /* pin the CM path: the golden value is about our coder, not zstd's */
    encode_delta(d, &raw);
    cantor_buf_init(&c1, 0);
    cantor_buf_init(&c2, 0);
    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_compress(m, NULL, &o, raw.data, raw.len, &c1, NULL), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_compress(m, NULL, &o, raw.data, raw.len, &c2, NULL), CANTOR_OK);
    ck_assert_uint_eq(c1.len, c2.len);
    ck_assert_mem_eq(c1.data, c2.data, c1.len);
    ck_assert_uint_eq(c1.data[5], CANTOR_CODEC_CM);
    ck_assert_uint_lt(c1.len, raw.len / 2); /* mapping slots + small values compress well */
    cantor_codec_model_hash(m, mh);
    cantor_hex_encode(mh, 32, hex);
    ck_assert_str_eq(hex, GOLDEN_MODEL);
    assert_golden(&c1, GOLDEN_CHUNK);
    cantor_codec_model_free(m);
    cantor_delta_free(d);
    cantor_buf_release(&raw);
    cantor_buf_release(&c1);
    cantor_buf_release(&c2);
}
END_TEST

/* A stream of six mainnet blocks (17,073,191-193 twice: geth prestate, then parity stateDiff). */
static const char *carry_files[] = {"erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_32.json",
                                    "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_33.json",
                                    "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_34.json",
                                    TRB "test_37.json",
                                    TRB "test_38.json",
                                    TRB "test_39.json"};
#define CARRY_N 6

/* Compress the carry stream with snapshot interval k; returns the total size. */
static size_t carry_encode(struct cantor_codec_model *m, uint32_t k, bool verify, struct cantor_buf *raws,
                           struct cantor_buf *chunks)
{
    struct cantor_codec_ctx *we;
    struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
    size_t total = 0;

    o.verify = verify;
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    cantor_codec_ctx_set_snapshot_interval(we, k);
    for (int i = 0; i < CARRY_N; i++) {
        cantor_buf_init(&chunks[i], 0);
        ck_assert_int_eq(cantor_codec_compress(m, we, &o, raws[i].data, raws[i].len, &chunks[i], NULL),
                         CANTOR_OK);
        total += chunks[i].len;
    }
    cantor_codec_ctx_free(we);
    return total;
}

static void carry_decode_ok(struct cantor_codec_model *m, struct cantor_codec_ctx *wd,
                            const struct cantor_buf *chunk, const struct cantor_buf *raw)
{
    struct cantor_buf out;

    cantor_buf_init(&out, 0);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, chunk->data, chunk->len, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, raw->len);
    ck_assert_mem_eq(out.data, raw->data, raw->len);
    cantor_buf_release(&out);
}

/* A block that deploys 8 KiB of pseudo-random code: CM cannot beat zstd-dict on it. */
static struct cantor_delta *random_code_block(void)
{
    struct cantor_delta *d;
    struct cantor_delta_entry e;
    uint8_t code[8192];
    uint32_t x = 777;

    lcg_bytes(&x, code, sizeof(code));
    ck_assert_int_eq(cantor_delta_new(17073192, &d), CANTOR_OK);
    memset(&e, 0, sizeof(e));
    memset(e.addr, 0xab, 20);
    e.kind = CANTOR_KIND_CODE;
    memcpy(e.old_val, CANTOR_KECCAK_EMPTY, 32);
    cantor_keccak256(code, sizeof(code), e.new_val);
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_add_code(d, e.new_val, code, sizeof(code)), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    return d;
}

START_TEST(test_carried_state)
{
    struct cantor_codec_model *m = trained_model();
    struct cantor_delta *d[CARRY_N];
    struct cantor_buf raws[CARRY_N], c3[CARRY_N], c3b[CARRY_N], c1[CARRY_N], out;
    struct cantor_codec_ctx *wd, *wr;
    size_t n3, n3b, n1;

    for (int i = 0; i < CARRY_N; i++) {
        d[i] = load(carry_files[i]);
        encode_delta(d[i], &raws[i]);
    }
    n3 = carry_encode(m, 3, true, raws, c3);
    /* same state on both paths: the verify decode runs from the state before the chunk (rollback),
     * so with and without it the encoder ends every chunk in the same state: identical bytes */
    n3b = carry_encode(m, 3, false, raws, c3b);
    ck_assert_uint_eq(n3, n3b);
    for (int i = 0; i < CARRY_N; i++)
        ck_assert_mem_eq(c3[i].data, c3b[i].data, c3[i].len);
    n1 = carry_encode(m, 1, true, raws, c1);
    ck_assert_uint_lt(n3, n1); /* what a block taught helps the next */
    for (int i = 0; i < CARRY_N; i++) {
        struct cantor_chunk_info ci;
        ck_assert_int_eq(cantor_chunk_parse_header(c3[i].data, c3[i].len, &ci), CANTOR_OK);
        ck_assert_uint_eq(ci.state_pos, (uint64_t)(i % 3));
        ck_assert_uint_eq(!!(ci.flags & CANTOR_CHUNK_FLAG_CARRY), i % 3 != 0);
        ck_assert_uint_eq(ci.codec, CANTOR_CODEC_CM_WARM);
        ck_assert_int_eq(cantor_chunk_parse_header(c1[i].data, c1[i].len, &ci), CANTOR_OK);
        ck_assert_uint_eq(ci.flags & CANTOR_CHUNK_FLAG_CARRY, 0);
    }
    /* in order, any carrying decoder context follows (state allocated up front or on first use) */
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    cantor_codec_ctx_set_snapshot_interval(wd, 0);
    ck_assert_int_eq(cantor_codec_ctx_bind(wd, NULL), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_codec_ctx_bind(wd, m), CANTOR_OK);
    for (int i = 0; i < CARRY_N; i++)
        carry_decode_ok(m, wd, &c3[i], &raws[i]);
    cantor_codec_ctx_free(wd);

    cantor_buf_init(&out, 0);
    /* wrong context: a precise error, never bytes */
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    cantor_codec_ctx_set_snapshot_interval(wd, 3);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c3[1].data, c3[1].len, &out), CANTOR_ERR_MISMATCH);
    carry_decode_ok(m, wd, &c3[0], &raws[0]);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c3[2].data, c3[2].len, &out), CANTOR_ERR_MISMATCH);
    carry_decode_ok(m, wd, &c3[1], &raws[1]); /* the failed attempts left the context as it was */
    cantor_codec_ctx_free(wd);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK); /* k == 1 keeps no state */
    carry_decode_ok(m, wd, &c3[0], &raws[0]);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c3[1].data, c3[1].len, &out), CANTOR_ERR_MISMATCH);
    cantor_codec_ctx_free(wd);
    /* a damaged state id fails before decoding (the id is the 4 bytes before the payload length) */
    {
        struct cantor_chunk_info ci;
        struct cantor_buf bad;
        size_t at;
        cantor_buf_init(&bad, 0);
        ck_assert_int_eq(cantor_buf_append(&bad, c3[1].data, c3[1].len), CANTOR_OK);
        ck_assert_int_eq(cantor_chunk_parse_header(bad.data, bad.len, &ci), CANTOR_OK);
        at = ci.header_len - 8 - 1 - (ci.payload_len >= 128) - (ci.payload_len >= 16384) - 4;
        bad.data[at] ^= 1;
        ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
        cantor_codec_ctx_set_snapshot_interval(wd, 3);
        carry_decode_ok(m, wd, &c3[0], &raws[0]);
        ck_assert_int_eq(cantor_codec_decompress(m, wd, bad.data, bad.len, &out), CANTOR_ERR_MISMATCH);
        carry_decode_ok(m, wd, &c3[1], &raws[1]);
        cantor_codec_ctx_free(wd);
        cantor_buf_release(&bad);
    }
    /* random access: chunk 3 is a snapshot point; the key state comes from elsewhere (the store) */
    ck_assert_int_eq(cantor_codec_ctx_new(&wr), CANTOR_OK);
    cantor_codec_ctx_set_snapshot_interval(wr, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(cantor_codec_ctx_apply(wr, d[i]), CANTOR_OK);
    for (int i = 3; i < CARRY_N; i++)
        carry_decode_ok(m, wr, &c3[i], &raws[i]);
    cantor_codec_ctx_free(wr);
    /*
     * A losing CM attempt leaves no trace: the random-code block is tried with CM (which loses to
     * zstd-dict) by one encoder and not tried by another; the chunks after it are identical, and a
     * decoder that never runs CM on it follows.
     */
    {
        struct cantor_codec_ctx *ea, *eb;
        struct cantor_delta *rd = random_code_block();
        struct cantor_buf rraw, ca, cb;
        uint8_t codec;
        ck_assert_int_eq(cantor_codec_ctx_new(&ea), CANTOR_OK);
        ck_assert_int_eq(cantor_codec_ctx_new(&eb), CANTOR_OK);
        ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
        cantor_codec_ctx_set_snapshot_interval(ea, 0);
        cantor_codec_ctx_set_snapshot_interval(eb, 0);
        cantor_codec_ctx_set_snapshot_interval(wd, 0);
        encode_delta(rd, &rraw);
        cantor_buf_init(&ca, 0);
        cantor_buf_init(&cb, 0);
        for (int i = 0; i < 4; i++) {
            struct cantor_codec_opts oa = CANTOR_CODEC_OPTS_DEFAULT, ob = CANTOR_CODEC_OPTS_DEFAULT;
            const struct cantor_buf *r = i == 1 ? &rraw : &raws[i < 1 ? i : i - 1];
            ob.try_cm = i != 1;
            ca.len = cb.len = 0;
            ck_assert_int_eq(cantor_codec_compress(m, ea, &oa, r->data, r->len, &ca, &codec), CANTOR_OK);
            ck_assert_uint_eq(codec, i == 1 ? CANTOR_CODEC_ZSTD_DICT : CANTOR_CODEC_CM_WARM);
            ck_assert_int_eq(cantor_codec_compress(m, eb, &ob, r->data, r->len, &cb, NULL), CANTOR_OK);
            ck_assert_uint_eq(ca.len, cb.len);
            ck_assert_mem_eq(ca.data, cb.data, ca.len);
            carry_decode_ok(m, wd, &ca, r);
        }
        cantor_buf_release(&rraw);
        cantor_buf_release(&ca);
        cantor_buf_release(&cb);
        cantor_delta_free(rd);
        cantor_codec_ctx_free(ea);
        cantor_codec_ctx_free(eb);
        cantor_codec_ctx_free(wd);
    }
    /* a chunk coded by zstd inside an interval leaves the state alone on both sides */
    {
        struct cantor_codec_ctx *we;
        struct cantor_buf cz[CARRY_N];
        uint8_t codec;
        ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
        ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
        cantor_codec_ctx_set_snapshot_interval(we, 0);
        cantor_codec_ctx_set_snapshot_interval(wd, 0);
        for (int i = 0; i < CARRY_N; i++) {
            struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
            o.try_cm = i != 2;
            cantor_buf_init(&cz[i], 0);
            ck_assert_int_eq(cantor_codec_compress(m, we, &o, raws[i].data, raws[i].len, &cz[i], &codec),
                             CANTOR_OK);
            ck_assert_uint_eq(codec, i == 2 ? CANTOR_CODEC_ZSTD_DICT : CANTOR_CODEC_CM_WARM);
            carry_decode_ok(m, wd, &cz[i], &raws[i]);
        }
        for (int i = 0; i < CARRY_N; i++)
            cantor_buf_release(&cz[i]);
        cantor_codec_ctx_free(we);
        cantor_codec_ctx_free(wd);
    }
    cantor_buf_release(&out);
    for (int i = 0; i < CARRY_N; i++) {
        cantor_buf_release(&raws[i]);
        cantor_buf_release(&c3[i]);
        cantor_buf_release(&c3b[i]);
        cantor_buf_release(&c1[i]);
        cantor_delta_free(d[i]);
    }
    cantor_codec_model_free(m);
}
END_TEST

/* The carried state is bit-exact: a three-chunk carried stream of synthetic blocks has a fixed hash. */
START_TEST(test_carried_golden)
{
    struct cantor_codec_model *m;
    struct cantor_codec_ctx *we, *wd;
    struct cantor_delta *d = synthetic();
    struct cantor_buf raw, all, c, out;
    struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;

    o.try_zstd = false;
    encode_delta(d, &raw);
    cantor_buf_init(&all, 0);
    cantor_buf_init(&out, 0);
    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    cantor_codec_ctx_set_snapshot_interval(we, 16);
    cantor_codec_ctx_set_snapshot_interval(wd, 16);
    for (int i = 0; i < 3; i++) {
        cantor_buf_init(&c, 0);
        ck_assert_int_eq(cantor_codec_compress(m, we, &o, raw.data, raw.len, &c, NULL), CANTOR_OK);
        out.len = 0;
        ck_assert_int_eq(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_OK);
        ck_assert_mem_eq(out.data, raw.data, raw.len);
        ck_assert_int_eq(cantor_buf_append(&all, c.data, c.len), CANTOR_OK);
        cantor_buf_release(&c);
    }
    assert_golden(&all, GOLDEN_CARRIED);
    cantor_codec_ctx_free(we);
    cantor_codec_ctx_free(wd);
    cantor_codec_model_free(m);
    cantor_delta_free(d);
    cantor_buf_release(&raw);
    cantor_buf_release(&all);
    cantor_buf_release(&out);
}
END_TEST

/* A chunk of codec `codec` (0 raw or 2 cm) over `raw` as the payload, built by hand with a correct
 * checksum, so the decoder's checks after the checksum can be reached. */
static void hand_chunk(uint8_t codec, uint64_t first, uint64_t span, const struct cantor_buf *raw,
                       struct cantor_buf *out)
{
    uint8_t h[32];
    uint64_t v[4] = {first, span, raw->len, raw->len};

    cantor_buf_init(out, 0);
    ck_assert_int_eq(cantor_buf_append(out, CANTOR_CHUNK_MAGIC, 4), CANTOR_OK);
    ck_assert_int_eq(cantor_buf_append(out, (uint8_t[]){2, codec, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 11), CANTOR_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(cantor_varint_append(out, v[i]), CANTOR_OK);
    {
        struct cantor_keccak k;
        cantor_keccak256_init(&k);
        cantor_keccak_update(&k, out->data, out->len);
        cantor_keccak_update(&k, raw->data, raw->len);
        cantor_keccak_final(&k, h, 32);
    }
    ck_assert_int_eq(cantor_buf_append(out, h, 8), CANTOR_OK);
    ck_assert_int_eq(cantor_buf_append(out, raw->data, raw->len), CANTOR_OK);
}

/*
 * Several consecutive blocks in one chunk: smaller than the blocks' own chunks, bit-identical with
 * and without the encoder's verify decode, decoded by a fresh context (which then knows their keys),
 * and refused with precise errors when misused or damaged.
 */
/* The canonical deltas of 17,073,191-193 in raws[], with pointers and lengths for compress_blocks. */
static void load_three(struct cantor_buf raws[3], const uint8_t *p[3], size_t l[3])
{
    for (int i = 0; i < 3; i++) {
        struct cantor_delta *d = load(carry_files[i]);
        encode_delta(d, &raws[i]);
        p[i] = raws[i].data;
        l[i] = raws[i].len;
        cantor_delta_free(d);
    }
}

/*
 * A chunk of blocks 2-3 coded with block 1 already known (as the daemon stores them): not
 * self-contained, and it decodes only after block 1, never with a fresh context; the self-contained
 * flag is refused on anything but a warm chunk of several blocks.
 */
START_TEST(test_multi_block_stateful)
{
    struct cantor_codec_model *m = trained_model();
    struct cantor_codec_ctx *we, *wd;
    struct cantor_buf raws[3], first, c, out;
    const uint8_t *p[3];
    size_t l[3];
    struct cantor_chunk_info ci;

    load_three(raws, p, l);
    cantor_buf_init(&first, 0);
    cantor_buf_init(&c, 0);
    cantor_buf_init(&out, 0);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_compress(m, we, NULL, p[0], l[0], &first, NULL), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_compress_blocks(m, we, NULL, p + 1, l + 1, 2, &c, NULL), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(c.data, c.len, &ci), CANTOR_OK);
    ck_assert_uint_eq(ci.flags, CANTOR_CHUNK_FLAG_WARM);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    ck_assert_int_ne(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_OK);
    cantor_codec_ctx_free(wd);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    out.len = 0;
    ck_assert_int_eq(cantor_codec_decompress(m, wd, first.data, first.len, &out), CANTOR_OK);
    out.len = 0;
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, l[1] + l[2]);
    ck_assert_mem_eq(out.data, p[1], l[1]);
    ck_assert_mem_eq(out.data + l[1], p[2], l[2]);
    /* the flag on a one-block chunk, or on a multi-block chunk that is not warm CM */
    first.data[6] |= CANTOR_CHUNK_FLAG_SELF;
    ck_assert_int_eq(cantor_chunk_parse_header(first.data, first.len, &ci), CANTOR_ERR_CORRUPT);
    c.data[6] = CANTOR_CHUNK_FLAG_SELF;
    ck_assert_int_eq(cantor_chunk_parse_header(c.data, c.len, &ci), CANTOR_ERR_CORRUPT);
    cantor_codec_ctx_free(we);
    cantor_codec_ctx_free(wd);
    for (int i = 0; i < 3; i++)
        cantor_buf_release(&raws[i]);
    cantor_buf_release(&first);
    cantor_buf_release(&c);
    cantor_buf_release(&out);
    cantor_codec_model_free(m);
}
END_TEST

START_TEST(test_multi_block)
{
    struct cantor_codec_model *m = trained_model();
    struct cantor_codec_ctx *we, *wd;
    struct cantor_codec_opts nov = CANTOR_CODEC_OPTS_DEFAULT;
    struct cantor_buf raws[3], cat, c, cv, one, out;
    const uint8_t *p[3];
    size_t l[3], singles = 0;
    struct cantor_chunk_info ci;
    uint8_t codec = 0;

    cantor_buf_init(&cat, 0);
    load_three(raws, p, l);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(cantor_buf_append(&cat, raws[i].data, raws[i].len), CANTOR_OK);
    cantor_buf_init(&c, 0);
    cantor_buf_init(&cv, 0);
    cantor_buf_init(&one, 0);
    cantor_buf_init(&out, 0);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    for (int i = 0; i < 3; i++) { /* the same blocks, one chunk each */
        one.len = 0;
        ck_assert_int_eq(cantor_codec_compress(m, we, NULL, p[i], l[i], &one, NULL), CANTOR_OK);
        singles += one.len;
    }
    cantor_codec_ctx_free(we);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_compress_blocks(m, we, NULL, p, l, 3, &cv, &codec), CANTOR_OK);
    ck_assert_uint_eq(codec, CANTOR_CODEC_CM_WARM);
    cantor_codec_ctx_free(we);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    nov.verify = false;
    ck_assert_int_eq(cantor_codec_compress_blocks(m, we, &nov, p, l, 3, &c, NULL), CANTOR_OK);
    ck_assert_uint_eq(c.len, cv.len);
    ck_assert_mem_eq(c.data, cv.data, c.len);
    ck_assert_uint_lt(c.len, singles); /* one header, and the CM state runs on across the blocks */
    ck_assert_int_eq(cantor_chunk_parse_header(c.data, c.len, &ci), CANTOR_OK);
    ck_assert_uint_eq(ci.first_block, 17073191);
    ck_assert_uint_eq(ci.last_block, 17073193);
    ck_assert_uint_eq(ci.raw_len, cat.len);
    ck_assert_uint_eq(ci.flags, CANTOR_CHUNK_FLAG_WARM | CANTOR_CHUNK_FLAG_SELF); /* coded from nothing */
    /* a fresh context decodes it to the three canonical deltas back to back, and then knows their keys */
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, cat.len);
    ck_assert_mem_eq(out.data, cat.data, cat.len);
    one.len = out.len = 0;
    ck_assert_int_eq(cantor_codec_compress(m, we, NULL, p[2], l[2], &one, NULL), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, one.data, one.len, &out), CANTOR_OK);
    ck_assert_mem_eq(out.data, p[2], l[2]);
    /* ... so it refuses to take the self-contained chunk again: its keys would mis-decode it */
    out.len = 0;
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_ERR_MISMATCH);
    ck_assert_uint_eq(out.len, 0);
    cantor_codec_ctx_free(wd);
    /* misuse: no context, a carrying context, blocks that are not consecutive, no blocks */
    one.len = 0;
    ck_assert_int_eq(cantor_codec_compress_blocks(m, NULL, NULL, p, l, 3, &one, NULL), CANTOR_ERR_INVALID);
    cantor_codec_ctx_set_snapshot_interval(we, 4);
    ck_assert_int_eq(cantor_codec_compress_blocks(m, we, NULL, p, l, 3, &one, NULL), CANTOR_ERR_INVALID);
    cantor_codec_ctx_set_snapshot_interval(we, 1);
    {
        const uint8_t *gap[2] = {p[0], p[2]};
        size_t gl[2] = {l[0], l[2]};
        ck_assert_int_eq(cantor_codec_compress_blocks(m, we, NULL, gap, gl, 2, &one, NULL),
                         CANTOR_ERR_INVALID);
    }
    ck_assert_int_eq(cantor_codec_compress_blocks(m, we, NULL, p, l, 0, &one, NULL), CANTOR_ERR_INVALID);
    ck_assert_uint_eq(one.len, 0);
    out.len = 0;
    ck_assert_int_eq(cantor_codec_decompress(m, NULL, c.data, c.len, &out), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    cantor_codec_ctx_set_snapshot_interval(wd, 3);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_ERR_INVALID);
    cantor_codec_ctx_free(wd);
    /* every truncation fails and leaves the context usable; a damaged payload spoils the context */
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    for (size_t cut = 0; cut < c.len; cut += 37)
        ck_assert_int_ne(cantor_codec_decompress(m, wd, c.data, cut, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, 0);
    {
        struct cantor_buf bad;
        enum cantor_err e;
        cantor_buf_init(&bad, 0);
        ck_assert_int_eq(cantor_buf_append(&bad, c.data, c.len), CANTOR_OK);
        bad.data[bad.len - 40] ^= 0x10; /* inside the last block's payload */
        e = cantor_codec_decompress(m, wd, bad.data, bad.len, &out);
        ck_assert(e == CANTOR_ERR_CORRUPT || e == CANTOR_ERR_CHECKSUM);
        ck_assert_uint_eq(out.len, 0);
        ck_assert_int_eq(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_ERR_MISMATCH);
        cantor_buf_release(&bad);
    }
    cantor_codec_ctx_free(wd);
    /* bounded mutation fuzz of the multi-block payload: an error, or exactly the three blocks */
    {
        struct cantor_buf mut;
        uint32_t x = 7;
        cantor_buf_init(&mut, 0);
        for (int it = 0; it < 120; it++) {
            enum cantor_err e;
            mut.len = out.len = 0;
            ck_assert_int_eq(cantor_buf_append(&mut, c.data, c.len), CANTOR_OK);
            for (int k = 0; k < 1 + it % 3; k++) {
                x = x * 1664525u + 1013904223u;
                mut.data[(x >> 8) % mut.len] ^= (uint8_t)(1u << (x % 8));
            }
            ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
            e = cantor_codec_decompress(m, wd, mut.data, mut.len, &out);
            if (e == CANTOR_OK) {
                ck_assert_uint_eq(out.len, cat.len);
                ck_assert_mem_eq(out.data, cat.data, cat.len);
            } else {
                ck_assert_uint_eq(out.len, 0);
            }
            cantor_codec_ctx_free(wd);
        }
        cantor_buf_release(&mut);
    }
    /* zstd-dict and raw multi-block chunks: the content must split into exactly the named blocks */
    {
        struct cantor_codec_opts zo = CANTOR_CODEC_OPTS_DEFAULT;
        struct cantor_buf h, two;
        zo.try_cm = false;
        one.len = out.len = 0;
        ck_assert_int_eq(cantor_codec_compress_blocks(m, we, &zo, p, l, 3, &one, &codec), CANTOR_OK);
        ck_assert_uint_eq(codec, CANTOR_CODEC_ZSTD_DICT);
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, one.data, one.len, &out), CANTOR_OK);
        ck_assert_mem_eq(out.data, cat.data, cat.len);
        cantor_buf_init(&two, 0);
        ck_assert_int_eq(cantor_buf_append(&two, p[0], l[0]), CANTOR_OK);
        ck_assert_int_eq(cantor_buf_append(&two, p[1], l[1]), CANTOR_OK);
        hand_chunk(CANTOR_CODEC_RAW, 17073191, 1, &two, &h);
        out.len = 0;
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, h.data, h.len, &out), CANTOR_OK);
        cantor_buf_release(&h);
        hand_chunk(CANTOR_CODEC_RAW, 17073191, 2, &two, &h); /* names a third block it lacks */
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, h.data, h.len, &out), CANTOR_ERR_CORRUPT);
        cantor_buf_release(&h);
        hand_chunk(CANTOR_CODEC_RAW, 17073190, 1, &two, &h); /* wrong first block */
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, h.data, h.len, &out), CANTOR_ERR_CORRUPT);
        cantor_buf_release(&h);
        hand_chunk(CANTOR_CODEC_RAW, 17073191, 0, &two, &h); /* one block named, two inside */
        ck_assert_int_eq(cantor_codec_decompress(m, NULL, h.data, h.len, &out), CANTOR_ERR_CORRUPT);
        cantor_buf_release(&h);
        hand_chunk(CANTOR_CODEC_CM, 17073191, 1, &two, &h); /* cold CM is one block per chunk */
        ck_assert_int_eq(cantor_chunk_parse_header(h.data, h.len, &ci), CANTOR_ERR_UNSUPPORTED);
        cantor_buf_release(&h);
        hand_chunk(CANTOR_CODEC_RAW, 17073191, CANTOR_CHUNK_MAX_BLOCKS, &two, &h);
        ck_assert_int_eq(cantor_chunk_parse_header(h.data, h.len, &ci), CANTOR_ERR_TOO_LARGE);
        cantor_buf_release(&h);
        cantor_buf_release(&two);
        ck_assert_uint_eq(out.len, l[0] + l[1]); /* the good hand-built chunk; nothing from the failures */
    }
    cantor_codec_ctx_free(we);
    for (int i = 0; i < 3; i++)
        cantor_buf_release(&raws[i]);
    cantor_buf_release(&cat);
    cantor_buf_release(&c);
    cantor_buf_release(&cv);
    cantor_buf_release(&one);
    cantor_buf_release(&out);
    cantor_codec_model_free(m);
}
END_TEST

/* A multi-block chunk is bit-exact: three synthetic consecutive blocks with the untrained model. */
START_TEST(test_multi_block_golden)
{
    struct cantor_codec_model *m;
    struct cantor_codec_ctx *we, *wd;
    struct cantor_delta *d = synthetic();
    struct cantor_buf raws[3], c, out;
    const uint8_t *p[3];
    size_t l[3];

    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    for (int i = 0; i < 3; i++) {
        d->block_number = 1000000 + (uint64_t)i;
        encode_delta(d, &raws[i]);
        p[i] = raws[i].data;
        l[i] = raws[i].len;
    }
    cantor_buf_init(&c, 0);
    cantor_buf_init(&out, 0);
    ck_assert_int_eq(cantor_codec_ctx_new(&we), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_ctx_new(&wd), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_compress_blocks(m, we, NULL, p, l, 3, &c, NULL), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_decompress(m, wd, c.data, c.len, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, l[0] + l[1] + l[2]);
    assert_golden(&c, GOLDEN_MULTI);
    cantor_codec_ctx_free(we);
    cantor_codec_ctx_free(wd);
    cantor_codec_model_free(m);
    cantor_delta_free(d);
    for (int i = 0; i < 3; i++)
        cantor_buf_release(&raws[i]);
    cantor_buf_release(&c);
    cantor_buf_release(&out);
}
END_TEST

/* Bounded mutation fuzz: random damage never crashes and never returns wrong bytes. */
START_TEST(test_mutation_fuzz)
{
    struct cantor_codec_model *m = trained_model();
    struct cantor_delta *d = load(eval_files[0]);
    struct cantor_buf raw, chunk, out, mut;
    uint32_t x = 1;

    encode_delta(d, &raw);
    cantor_buf_init(&chunk, 0);
    cantor_buf_init(&out, 0);
    cantor_buf_init(&mut, 0);
    ck_assert_int_eq(cantor_codec_compress(m, NULL, NULL, raw.data, raw.len, &chunk, NULL), CANTOR_OK);
    for (int it = 0; it < 300; it++) {
        enum cantor_err e;
        mut.len = 0;
        cantor_buf_append(&mut, chunk.data, chunk.len);
        for (int k = 0; k < 1 + it % 4; k++) {
            x = x * 1664525u + 1013904223u;
            mut.data[(x >> 8) % mut.len] ^= (uint8_t)(1u << (x % 8));
        }
        out.len = 0;
        e = cantor_codec_decompress(m, NULL, mut.data, mut.len, &out);
        if (e == CANTOR_OK) {
            ck_assert_uint_eq(out.len, raw.len);
            ck_assert_mem_eq(out.data, raw.data, raw.len);
        }
    }
    cantor_codec_model_free(m);
    cantor_delta_free(d);
    cantor_buf_release(&raw);
    cantor_buf_release(&chunk);
    cantor_buf_release(&out);
    cantor_buf_release(&mut);
}
END_TEST

/* ---- value rules (codec3): a chunk of a delta that follows a rule must be clearly smaller than the
 * chunk of the same delta with the rule broken by one unit, and both must round-trip ---- */

/* w (32-byte BE) = limbs (8 x 32 bits, little-endian) */
static void limbs_out(const uint32_t l[8], uint8_t w[32])
{
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 4; b++)
            w[31 - 4 * i - b] = (uint8_t)(l[i] >> (8 * b));
}

/* Uniswap V2 _update, computed independently of the codec: old + ((num << 112) / den) * dt, with a
 * 32-bit den so plain schoolbook division by one limb does it. */
static void uni_cumulative(uint64_t num, uint32_t den, uint32_t dt, uint32_t old_low, uint8_t out[32])
{
    uint32_t n[8] = {0}, q[8] = {0};
    uint64_t r = 0, c = 0;

    /* num << 112: 112 = 3 limbs + 16 bits */
    n[3] = (uint32_t)(num << 16);
    n[4] = (uint32_t)(num >> 16);
    n[5] = (uint32_t)(num >> 48);
    for (int i = 7; i >= 0; i--) {
        uint64_t cur = (r << 32) | n[i];
        q[i] = (uint32_t)(cur / den);
        r = cur % den;
    }
    for (int i = 0; i < 8; i++) {
        c += (uint64_t)q[i] * dt + (i == 0 ? old_low : 0);
        q[i] = (uint32_t)c;
        c >>= 32;
    }
    limbs_out(q, out);
}

static void put_u(uint8_t w[32], unsigned lo_byte, unsigned nbytes, uint64_t v)
{
    for (unsigned i = 0; i < nbytes && i < 8; i++)
        w[lo_byte + nbytes - 1 - i] = (uint8_t)(v >> (8 * i));
}

/* A pair with reserves in slot 8, cumulative prices in 9 and 10; a token moving amt from one holder to
 * another (amt wider than 64 bits). broken: every ruled value off by one. */
static struct cantor_delta *rules_delta(int broken)
{
    const uint64_t r0 = 3000000007u, r1 = 5000000000000ull, n0 = 3100000007u, n1 = 4900000000000ull;
    struct cantor_delta *d;
    struct cantor_delta_entry e;

    ck_assert_int_eq(cantor_delta_new(777, &d), CANTOR_OK);
    memset(&e, 0, sizeof(e));
    memset(e.addr, 0x5a, 20);
    e.kind = CANTOR_KIND_STORAGE;
    /* slot 8: timestamp 1000 -> 1012, reserves (r1 | r0) -> (n1 | n0) */
    e.slot[31] = 8;
    put_u(e.old_val, 0, 4, 1000);
    put_u(e.old_val, 4, 14, r1);
    put_u(e.old_val, 18, 14, r0);
    put_u(e.new_val, 0, 4, 1012);
    put_u(e.new_val, 4, 14, n1);
    put_u(e.new_val, 18, 14, n0);
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    /* slot 9: price0 += (r1 << 112) / r0 * dt; slot 10: price1 += (r0 << 112) / r1 * dt (r1 > 2^32:
     * only price0 is checked against the independent computation) */
    e.slot[31] = 9;
    memset(e.old_val, 0, 32);
    e.old_val[31] = 77;
    uni_cumulative(r1, (uint32_t)r0, 12, 77, e.new_val);
    e.new_val[31] ^= broken & 1;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    /* token: holder A (balance 0x40 << 104) pays an 80-bit amount to holder B (same balance) */
    memset(e.addr, 0x7b, 20);
    for (int h = 0; h < 2; h++) {
        int c = 0;
        memset(e.slot, 0x11 * (h + 1), 32);
        memset(e.old_val, 0, 32);
        e.old_val[18] = 0x40;
        for (int i = 31; i >= 0; i--) { /* new = old -/+ amt, amt bytes 22..31 = 0x9d, 0x8c, ... */
            int a = i >= 22 ? 0x9d - 17 * (31 - i) : 0;
            int y = h ? e.old_val[i] + a + c : e.old_val[i] - a - c;
            c = h ? y > 255 : y < 0;
            e.new_val[i] = (uint8_t)(y & 0xff);
        }
        for (int i = 24; i < 32 && h && (broken & 2); i++)
            e.new_val[i] ^= (uint8_t)(0x35 + 11 * i); /* an amount B did not get from A */
        ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    }
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    return d;
}

/* d's cold CM chunk (zstd not tried) with m: checks the round trip, frees d, returns the chunk length. */
static size_t cm_chunk_len(struct cantor_codec_model *m, struct cantor_delta *d)
{
    struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
    struct cantor_buf raw, chunk, back;
    uint8_t codec;
    size_t n;

    o.try_zstd = false;
    encode_delta(d, &raw);
    cantor_buf_init(&chunk, 0);
    cantor_buf_init(&back, 0);
    ck_assert_int_eq(cantor_codec_compress(m, NULL, &o, raw.data, raw.len, &chunk, &codec), CANTOR_OK);
    ck_assert_int_eq(codec, CANTOR_CODEC_CM);
    ck_assert_int_eq(cantor_codec_decompress(m, NULL, chunk.data, chunk.len, &back), CANTOR_OK);
    ck_assert_uint_eq(back.len, raw.len);
    ck_assert_mem_eq(back.data, raw.data, raw.len);
    n = chunk.len;
    cantor_buf_release(&raw);
    cantor_buf_release(&chunk);
    cantor_buf_release(&back);
    cantor_delta_free(d);
    return n;
}

/*
 * A coding rule pays: the delta make(false) builds, where the rule holds, codes (untrained model, round
 * trips checked) more than `margin` bytes smaller than make(true), the same shape without it.
 */
static void assert_rule_pays(struct cantor_delta *(*make)(bool), size_t margin)
{
    struct cantor_codec_model *m;
    size_t with, without;

    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    with = cm_chunk_len(m, make(false));
    without = cm_chunk_len(m, make(true));
    ck_assert_msg(with + margin < without, "%zu bytes with the rule, %zu without", with, without);
    cantor_codec_model_free(m);
}

static size_t rules_chunk_len(struct cantor_codec_model *m, int broken)
{
    return cm_chunk_len(m, rules_delta(broken));
}

START_TEST(test_value_rules)
{
    struct cantor_codec_model *m;
    size_t good, bad_price, bad_token;

    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    good = rules_chunk_len(m, 0);
    bad_price = rules_chunk_len(m, 1);
    bad_token = rules_chunk_len(m, 2);
    /* price0 and the receiver's balance come almost free when the rules hold (each rule broken costs
     * bytes: the same values then take the literal paths) */
    ck_assert_uint_lt(good + 6, bad_price);
    ck_assert_uint_lt(good + 6, bad_token);
    cantor_codec_model_free(m);
}
END_TEST

/* v = m * 10^e into a 32-byte word (m * 10^e < 2^256 for the values used here). */
static void dec_word(uint64_t m, unsigned e, uint8_t w[32])
{
    memset(w, 0, 32);
    put_u(w, 24, 8, m);
    for (; e; e--)
        for (int i = 31, c = 0; i >= 0; i--) {
            int x = w[i] * 10 + c;
            w[i] = (uint8_t)x;
            c = x >> 8;
        }
}

/*
 * 64 accounts whose balances and token balances are round decimal amounts (m * 10^e, e 9..18) that
 * change by round amounts; with `noise`, the same magnitudes plus low digits that end no run of zeros.
 * Then the edges of the decimal form: 10^77 (more zeros than the exponent symbol holds), 10^19 (the
 * largest power of ten below 2^64) and changes by it, 2^64 - 1, and a change of 10^19 that crosses 2^64.
 */
static struct cantor_delta *decimal_delta(bool noise)
{
    struct cantor_delta *d;
    struct cantor_delta_entry e;
    uint32_t x = 4242;

    ck_assert_int_eq(cantor_delta_new(6000000, &d), CANTOR_OK);
    for (int a = 0; a < 64; a++) {
        uint64_t m = 1 + ((x = x * 1103515245u + 12345u) >> 16), step = 1 + (x >> 24),
                 lo = 7 + (x & 0xfff) * 10;
        unsigned ex = 9 + a % 10;
        memset(&e, 0, sizeof(e));
        lcg_bytes(&x, e.addr, 20);
        e.kind = CANTOR_KIND_BALANCE;
        dec_word(m * 1000 + step, ex, e.old_val);
        dec_word(m * 1000, ex, e.new_val); /* paid step * 10^ex */
        if (noise) {
            put_u(e.old_val, 28, 4, lo + ((uint64_t)e.old_val[28] << 24 | (uint64_t)e.old_val[29] << 16));
            put_u(e.new_val, 28, 4, lo + 3 + ((uint64_t)e.new_val[28] << 24 | (uint64_t)e.new_val[29] << 16));
        }
        ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
        e.kind = CANTOR_KIND_STORAGE;
        e.slot[31] = 3;
        dec_word(m, 18, e.old_val); /* whole tokens, 18 decimals */
        dec_word(m + step * 100, 18, e.new_val);
        if (noise) {
            e.old_val[31] ^= 0x35;
            e.new_val[31] ^= 0x53;
        }
        ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    }
    memset(&e, 0, sizeof(e));
    memset(e.addr, 0xee, 20);
    e.kind = CANTOR_KIND_STORAGE;
    const struct {
        uint64_t om;
        unsigned oe;
        uint64_t nm;
        unsigned ne;
    } edge[] = {{1, 77, 0, 0},         {0, 0, 9, 76},          {1, 19, 2, 19},
                {UINT64_MAX, 0, 0, 0}, {UINT64_MAX, 0, 1, 19}, {123456789, 60, 123456788, 60}};
    for (unsigned i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        e.slot[31] = (uint8_t)(i + 1);
        dec_word(edge[i].om, edge[i].oe, e.old_val);
        dec_word(edge[i].nm, edge[i].ne, e.new_val);
        ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    }
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    return d;
}

/*
 * 40 Uniswap V2 pairs (reserves packed in slot 8 as timestamp | reserve1 | reserve0): swaps of token0
 * in (reserve1 - getAmountOut), of token0 out (reserve1 + getAmountIn), liquidity added (reserve1 +
 * quote) and, every fourth, a swap whose reserve1 is off the rule by 5 units (a small residual).
 * Computed here with 128-bit integers, independently of the codec's 256-bit arithmetic. broken:
 * reserve1 is off by 2^40, which no rule explains.
 */
static struct cantor_delta *v2_delta(bool broken)
{
    struct cantor_delta *d;
    uint32_t x = 99;

    ck_assert_int_eq(cantor_delta_new(17000000, &d), CANTOR_OK);
    for (int p = 0; p < 40; p++) {
        struct cantor_delta_entry e;
        unsigned __int128 r0, r1, n0, n1, a;
        memset(&e, 0, sizeof(e));
        lcg_bytes(&x, e.addr, 20);
        e.kind = CANTOR_KIND_STORAGE;
        e.slot[31] = 8;
        r0 = ((unsigned __int128)((x = x * 1103515245u + 12345u) >> 4) << 40) + 12345;
        r1 = ((unsigned __int128)((x = x * 1103515245u + 12345u) >> 4) << 30) + 777;
        a = r0 / (50 + p);
        switch (p % 4) {
        case 0: /* token0 in, exact in */
        case 3: /* the same, 5 units off */
            n0 = r0 + a;
            n1 = r1 - a * 997 * r1 / (r0 * 1000 + a * 997) + (p % 4 == 3 ? 5 : 0);
            break;
        case 1: /* token0 out by a: token1 in by getAmountIn */
            n0 = r0 - a;
            n1 = r1 + r1 * a * 1000 / ((r0 - a) * 997) + 1;
            break;
        default: /* liquidity added */
            n0 = r0 + a;
            n1 = r1 + a * r1 / r0;
        }
        if (broken)
            n1 += (unsigned __int128)1 << 40;
        put_u(e.old_val, 0, 4, 1700000000);
        put_u(e.new_val, 0, 4, 1700000012);
        put_u(e.old_val, 18, 14, (uint64_t)r0);
        put_u(e.old_val, 4, 14, (uint64_t)r1);
        put_u(e.new_val, 18, 14, (uint64_t)n0);
        put_u(e.new_val, 4, 14, (uint64_t)n1);
        e.old_val[17 - 8] = (uint8_t)(r1 >> 64); /* reserves above 64 bits */
        e.new_val[17 - 8] = (uint8_t)(n1 >> 64);
        e.old_val[31 - 8] = (uint8_t)(r0 >> 64);
        e.new_val[31 - 8] = (uint8_t)(n0 >> 64);
        ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    }
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    return d;
}

/* reserve1 of a V2 pair costs a few bits when the swap or liquidity rule gives it (model tag /8). */
/* An account with a random address and the given balance change (up: new = old + by). */
static void add_balance(struct cantor_delta *d, uint32_t *x, uint64_t old_hi, uint64_t by, bool up)
{
    struct cantor_delta_entry e;
    uint64_t old_lo = (uint64_t)1 << 62; /* room for the change either way */

    memset(&e, 0, sizeof(e));
    lcg_bytes(x, e.addr, 20);
    e.kind = CANTOR_KIND_BALANCE;
    put_u(e.old_val, 16, 8, old_hi);
    put_u(e.old_val, 24, 8, old_lo);
    put_u(e.new_val, 16, 8, old_hi);
    put_u(e.new_val, 24, 8, up ? old_lo + by : old_lo - by);
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
}

/*
 * A block of 48 ETH transfers: each sender pays value + 21000 x (tip + base fee 8 wei), its recipient
 * gets the value, the coinbase the tips; so a transfer's second side is its first off by the fee
 * (V_DMRU_R), and the block's balance changes sum to minus the burn (V_CONS, for the last one coded).
 * broken: every recipient gets its value plus up to 2^58 of noise and the coinbase a random amount.
 */
static struct cantor_delta *transfer_delta(bool broken)
{
    struct cantor_delta *d;
    uint32_t x = 777;
    uint64_t tips = 0;

    ck_assert_int_eq(cantor_delta_new(7000000, &d), CANTOR_OK);
    for (int t = 0; t < 48; t++) {
        uint64_t value, tip, noise;
        x = x * 1103515245u + 12345u;
        value = ((uint64_t)x << 28 ^ x >> 4) % ((uint64_t)1 << 60);
        x = x * 1103515245u + 12345u;
        tip = 100000000u + x % 1900000000u;
        x = x * 1103515245u + 12345u;
        noise = broken ? (uint64_t)x << 26 : 0;
        tips += 21000 * tip;
        add_balance(d, &x, 1 + t % 3, value + 21000 * (tip + 8), false);
        add_balance(d, &x, 2 + t % 5, value + noise, true);
    }
    add_balance(d, &x, 9, broken ? tips ^ 0x5a5a5a5a5a5aull : tips, true);
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    return d;
}

/* A transfer's second side and the block's balance sum cost less when the rules hold. */
START_TEST(test_transfer_rules)
{
    assert_rule_pays(transfer_delta, 24); /* 40 bytes apart; 6 before the two rules */
}
END_TEST

START_TEST(test_v2_swap_rule)
{
    assert_rule_pays(v2_delta, 40 * 3);
}
END_TEST

/* Round decimal amounts cost less than the same magnitudes with noise in their low digits. */
START_TEST(test_decimal_values)
{
    assert_rule_pays(decimal_delta, 256 * 2); /* 256 magnitudes, 9..18 decimal zeros shorter each */
}
END_TEST

/*
 * 40 contracts, each with the members 0..3 of a struct in a mapping at index 2 keyed by an address
 * of the block (keccak(key . 2) + member); with `random`, members 1..3 are random slots instead.
 */
static struct cantor_delta *struct_delta(bool random)
{
    struct cantor_delta *d;
    uint32_t x = 777;

    ck_assert_int_eq(cantor_delta_new(2000000, &d), CANTOR_OK);
    for (int a = 0; a < 40; a++) {
        struct cantor_delta_entry e;
        uint8_t base[32], buf[64] = {0};
        memset(&e, 0, sizeof(e));
        lcg_bytes(&x, e.addr, 20);
        e.kind = CANTOR_KIND_STORAGE;
        memcpy(buf + 12, e.addr, 20); /* the contract's own address as the key */
        buf[63] = 2;
        cantor_keccak256(buf, 64, base);
        for (int member = 0; member < 4; member++) {
            memcpy(e.slot, base, 32);
            for (int i = 31, carry = member; i >= 0 && carry; i--) {
                int v = e.slot[i] + carry;
                e.slot[i] = (uint8_t)v;
                carry = v >> 8;
            }
            if (random && member > 0)
                lcg_bytes(&x, e.slot, 32);
            memset(e.new_val, 0, 32);
            e.new_val[31] = (uint8_t)(member + 1);
            ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
        }
    }
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    return d;
}

/* Struct members in a mapping (S_MAPO) cost a few bytes each, not a 32-byte literal. */
START_TEST(test_struct_members)
{
    assert_rule_pays(struct_delta, 120 * 24); /* 120 members, each a 32-byte literal without */
}
END_TEST

/* Version 1 chunks (32-byte model hash, stored delta root) still decode; v2 headers are compact. */
START_TEST(test_chunk_v1_compat)
{
    struct cantor_delta *d = load(eval_files[1]);
    struct cantor_buf raw, chunk, out;
    struct cantor_chunk_info ci;
    struct cantor_codec_model *m;
    struct cantor_codec_opts o = {0}; /* raw only */
    struct cantor_keccak k;
    uint8_t h[32];
    size_t n, root_pos;

    encode_delta(d, &raw);
    cantor_buf_init(&chunk, 0);
    cantor_buf_init(&out, 0);
    /* v2 raw chunk: header well under the 80 bytes of v1 */
    ck_assert_int_eq(cantor_codec_model_new(&m), CANTOR_OK);
    ck_assert_int_eq(cantor_codec_compress(m, NULL, &o, raw.data, raw.len, &chunk, NULL), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(chunk.data, chunk.len, &ci), CANTOR_OK);
    ck_assert_uint_eq(ci.version, CANTOR_CHUNK_VERSION);
    ck_assert_uint_le(ci.header_len, 36);
    /* a v1 raw chunk built by hand from docs/formats.md */
    chunk.len = 0;
    ck_assert_int_eq(cantor_buf_append(&chunk, "CNTC\x01\x00\x00", 7), CANTOR_OK);
    memset(h, 0, 32);
    ck_assert_int_eq(cantor_buf_append(&chunk, h, 32), CANTOR_OK);
    {
        uint8_t v[24];
        size_t vn = 0;
        uint64_t vals[2] = {d->block_number, 0};
        for (int i = 0; i < 2; i++) {
            uint64_t x = vals[i];
            do {
                v[vn] = (uint8_t)(x & 0x7f) | (x >> 7 ? 0x80 : 0);
                vn++;
                x >>= 7;
            } while (x);
        }
        for (uint64_t x = raw.len;; x >>= 7) {
            v[vn++] = (uint8_t)(x & 0x7f) | (x >> 7 ? 0x80 : 0);
            if (!(x >> 7))
                break;
        }
        ck_assert_int_eq(cantor_buf_append(&chunk, v, vn), CANTOR_OK);
    }
    cantor_keccak256(raw.data, raw.len, h);
    root_pos = chunk.len;
    ck_assert_int_eq(cantor_buf_append(&chunk, h, 32), CANTOR_OK);
    {
        uint8_t v[4];
        size_t vn = 0;
        for (uint64_t x = raw.len;; x >>= 7) {
            v[vn++] = (uint8_t)(x & 0x7f) | (x >> 7 ? 0x80 : 0);
            if (!(x >> 7))
                break;
        }
        ck_assert_int_eq(cantor_buf_append(&chunk, v, vn), CANTOR_OK);
    }
    cantor_keccak256_init(&k);
    cantor_keccak_update(&k, chunk.data, chunk.len);
    cantor_keccak_update(&k, raw.data, raw.len);
    cantor_keccak_final(&k, h, 32);
    ck_assert_int_eq(cantor_buf_append(&chunk, h, 8), CANTOR_OK);
    n = chunk.len;
    ck_assert_int_eq(cantor_buf_append(&chunk, raw.data, raw.len), CANTOR_OK);
    ck_assert_int_eq(cantor_chunk_parse_header(chunk.data, chunk.len, &ci), CANTOR_OK);
    ck_assert_uint_eq(ci.version, CANTOR_CHUNK_VERSION_1);
    ck_assert_uint_eq(ci.header_len, n);
    ck_assert_int_eq(cantor_codec_decompress(NULL, NULL, chunk.data, chunk.len, &out), CANTOR_OK);
    ck_assert_uint_eq(out.len, raw.len);
    ck_assert_mem_eq(out.data, raw.data, raw.len);
    /* the stored delta root is checked: damage it */
    ck_assert_mem_eq(ci.delta_root, chunk.data + root_pos, 32);
    chunk.data[root_pos + 5] ^= 1;
    out.len = 0;
    ck_assert_int_eq(cantor_codec_decompress(NULL, NULL, chunk.data, chunk.len, &out), CANTOR_ERR_CHECKSUM);
    cantor_buf_release(&raw);
    cantor_buf_release(&chunk);
    cantor_buf_release(&out);
    cantor_delta_free(d);
    cantor_codec_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cold_roundtrip_beats_zstd_dict);
    tcase_add_test(tc, test_warm_stream);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_warm_state_lookup);
    tcase_add_test(tc, test_code_match_model);
    tcase_add_test(tc, test_determinism_golden);
    tcase_add_test(tc, test_struct_members);
    tcase_add_test(tc, test_mutation_fuzz);
    tcase_add_test(tc, test_value_rules);
    tcase_add_test(tc, test_decimal_values);
    tcase_add_test(tc, test_v2_swap_rule);
    tcase_add_test(tc, test_transfer_rules);
    tcase_add_test(tc, test_chunk_v1_compat);
    tcase_add_test(tc, test_carried_state);
    tcase_add_test(tc, test_carried_golden);
    tcase_add_test(tc, test_multi_block);
    tcase_add_test(tc, test_multi_block_stateful);
    tcase_add_test(tc, test_multi_block_golden);
    tcase_add_test(tc, test_model_bundle);
    tcase_add_test(tc, test_trained_through);
    tcase_add_test(tc, test_trained_on);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
