/*
 * cmd_bench_codec.c - `cantor bench-codec --train PATH... --eval PATH... [--warm] [--quick]`: train the
 * codec model on recorded blocks, compress every eval block, check the round trip and print one JSON
 * line per block plus a summary with the baselines (zstd -19, zstd -19 with the trained dictionary,
 * xz -9e; with --warm also zstd -19 --long over the whole stream and zstd -19 with the old values of
 * the touched keys as prefix, the --patch-from reference) computed on the same canonical bytes.
 * --snapshot-interval K (with --warm): carry the CM state across chunks, restarting every K blocks.
 * --key-window W (with --warm): code each block as cantord does, from a fresh context with the state
 * and the keys of the W blocks before it (instead of one context along the whole stream).
 * With --warm the eval blocks are coded in block order (a stream), whatever order the files come in.
 * --blocks-per-chunk B (with --warm): up to B consecutive blocks per chunk (cantor_codec_compress_blocks;
 * a gap in the block numbers ends a chunk early); one JSON line per chunk, "block" its first block and
 * "last_block" its last.
 * Exits 1 if any round trip fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "cli.h"
#include "codec_cli.h"
#include "core/codec_internal.h"
#include "core/xz_baseline.h"

static double now_s(void)
{
    struct timespec ts;

    /* CPU time of this thread: the figures hold on a loaded machine (the bench is single-threaded) */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t zstd_adv(const uint8_t *in, size_t len, const void *prefix, size_t plen, int lng)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(len), r;
    void *out = malloc(bound);

    if (!cc || !out) {
        ZSTD_freeCCtx(cc);
        free(out);
        return 0;
    }
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 19);
    if (lng) {
        ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 27);
    }
    if (prefix && plen)
        ZSTD_CCtx_refPrefix(cc, prefix, plen);
    r = ZSTD_compress2(cc, out, bound, in, len);
    ZSTD_freeCCtx(cc);
    free(out);
    return ZSTD_isError(r) ? 0 : r;
}

/* The --patch-from reference: keys of the block with their OLD values, in canonical layout. */
static void old_state_prefix(const struct cantor_delta *d, struct cantor_buf *b)
{
    for (size_t i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_entry *e = &d->entries[i];
        size_t skip = 0;
        cantor_buf_append(b, e->addr, 20);
        cantor_buf_append_byte(b, e->kind);
        if (e->kind == CANTOR_KIND_STORAGE)
            cantor_buf_append(b, e->slot, 32);
        while (skip < 32 && e->old_val[skip] == 0)
            skip++;
        cantor_buf_append_byte(b, (uint8_t)(32 - skip));
        cantor_buf_append(b, e->old_val + skip, 32 - skip);
    }
}

/*
 * --warm: the state before the block, as a following daemon's store holds it (every key's latest
 * value). Recordings carry it as the old values of the block's own entries; the codec may only look
 * a key up after coding it, so this grants nothing the store would not.
 */
#define BENCH_MAX_BPC 64 /* --blocks-per-chunk cap */
#define USAGE                                                                                                \
    "usage: cantor bench-codec --train PATH... --eval PATH... [--warm [--stream-only] "                      \
    "[--snapshot-interval K | --key-window W | --blocks-per-chunk B]] [--quick] [--breakdown]\n"

struct prestate {
    struct cantor_kmap keys; /* addr | kind | slot */
    uint8_t (*vals)[32];
};

static bool prestate_lookup(void *arg, const uint8_t addr[20], uint8_t kind, const uint8_t slot[32],
                            uint8_t ret_val[32])
{
    struct prestate *ps = arg;
    uint8_t k[CANTOR_WARM_KEY_LEN];
    long f;

    memcpy(k, addr, 20);
    k[20] = kind;
    memcpy(k + 21, slot, 32);
    f = cantor_kmap_find(&ps->keys, k);
    if (f < 0)
        return false;
    memcpy(ret_val, ps->vals[f], 32);
    return true;
}

/* The state before blocks d[0..n) (one chunk): a key's old value in the first of them that touches it. */
static enum cantor_err prestate_set(struct prestate *ps, struct cantor_delta *const *d, size_t n)
{
    enum cantor_err err = CANTOR_OK;
    size_t total = 1;

    cantor_kmap_clear(&ps->keys);
    free(ps->vals);
    for (size_t b = 0; b < n; b++)
        total += d[b]->n_entries;
    ps->vals = malloc(total * 32);
    if (!ps->vals)
        return CANTOR_ERR_NOMEM;
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0; i < d[b]->n_entries && !err; i++) {
            uint8_t k[CANTOR_WARM_KEY_LEN];
            size_t idx;
            bool fresh;
            memcpy(k, d[b]->entries[i].addr, 20);
            k[20] = d[b]->entries[i].kind;
            memcpy(k + 21, d[b]->entries[i].slot, 32);
            err = cantor_kmap_put(&ps->keys, k, &idx, &fresh);
            if (!err && fresh)
                memcpy(ps->vals[idx], d[b]->entries[i].old_val, 32);
        }
    }
    return err;
}

/* Blocks [i, i + n) of ev as one chunk's input: their canonical bytes concatenated in cat, each
 * block's start and length in p/l (cat must not grow after this). */
static enum cantor_err group_raw(const struct cantor_cli_deltas *ev, size_t i, size_t n,
                                 struct cantor_buf *cat, const uint8_t **p, size_t *l)
{
    size_t off[BENCH_MAX_BPC];
    enum cantor_err err = CANTOR_OK;

    cat->len = 0;
    for (size_t b = 0; b < n && !err; b++) {
        off[b] = cat->len;
        err = cantor_delta_encode(ev->d[i + b], cat);
        l[b] = cat->len - off[b];
    }
    for (size_t b = 0; b < n && !err; b++)
        p[b] = cat->data + off[b];
    return err;
}

/*
 * How many blocks the chunk starting at eval block i holds: up to bpc, and only while the block numbers
 * run on by one. A directory of blocks that are not consecutive (or that repeats a block) still
 * benchmarks: a gap or a repeat starts a new chunk, as it would in a stream cantord stores.
 */
static size_t group_len(const struct cantor_cli_deltas *ev, size_t i, size_t bpc)
{
    size_t g = 1;

    while (g < bpc && i + g < ev->n && ev->d[i + g - 1]->block_number != UINT64_MAX &&
           ev->d[i + g]->block_number == ev->d[i + g - 1]->block_number + 1)
        g++;
    return g;
}

struct order_key {
    uint64_t block;
    size_t pos;
};

static int cmp_order(const void *a, const void *b)
{
    const struct order_key *x = a, *y = b;

    if (x->block != y->block)
        return x->block < y->block ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos; /* stable */
}

/*
 * A warm stream is sequential: order the eval blocks by block number (files as listed otherwise: a
 * directory's are sorted by name, and test_9 comes after test_10). Stable, so repeated blocks and
 * blocks of unknown number (0) keep their order. Returns 1 when anything moved, -1 out of memory.
 */
static int stream_order(struct cantor_cli_deltas *ev)
{
    struct order_key *k = malloc((ev->n ? ev->n : 1) * sizeof(*k));
    struct cantor_delta **d = malloc((ev->n ? ev->n : 1) * sizeof(*d));
    char **name = malloc((ev->n ? ev->n : 1) * sizeof(*name));
    int moved = 0;

    if (!k || !d || !name) {
        moved = -1;
        goto out;
    }
    for (size_t i = 0; i < ev->n; i++)
        k[i] = (struct order_key){ev->d[i]->block_number, i};
    qsort(k, ev->n, sizeof(*k), cmp_order);
    for (size_t i = 0; i < ev->n; i++) {
        d[i] = ev->d[k[i].pos];
        name[i] = ev->name[k[i].pos];
        moved |= k[i].pos != i;
    }
    memcpy(ev->d, d, ev->n * sizeof(*d));
    memcpy(ev->name, name, ev->n * sizeof(*name));
out:
    free(k);
    free(d);
    free(name);
    return moved;
}

struct timing {
    double enc, dec, max_enc, max_dec;
};

/*
 * --key-window W: what cantord does (daemon/compress.c): every block gets a fresh context holding the
 * state and the keys of the W blocks before it, instead of one context carried along the stream.
 * Replaces *ctx by that context for block i. Outside the timing (the daemon reads those deltas from
 * its store).
 */
static enum cantor_err window_ctx(const struct cantor_cli_deltas *ev, size_t i, size_t w,
                                  const struct cantor_codec_state *st, struct cantor_codec_ctx **ctx)
{
    enum cantor_err err;

    cantor_codec_ctx_free(*ctx);
    *ctx = NULL;
    err = cantor_codec_ctx_new(ctx);
    if (err)
        return err;
    cantor_codec_ctx_set_state(*ctx, st);
    for (size_t j = i > w ? i - w : 0; j < i && !err; j++)
        err = cantor_codec_ctx_apply(*ctx, ev->d[j]);
    return err;
}

/*
 * Per chunk: canonical bytes -> CM payload (one block, k = 1: the CM path alone) or chunk (k != 1,
 * carried, or n > 1 blocks p[i]/l[i] of raw in one chunk).
 */
static enum cantor_err pass_encode(struct cantor_codec_model *m, struct cantor_codec_ctx *we, uint32_t k,
                                   const struct cantor_buf *raw, const uint8_t *const *p, const size_t *l,
                                   size_t n, struct cantor_buf *out)
{
    struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    if (k != 1 || n > 1) {
        o.try_zstd = false;
        o.verify = false;
        return cantor_codec_compress_blocks(m, we, &o, p, l, n, out, NULL);
    }
    err = cantor_delta_decode(raw->data, raw->len, &d);
    if (!err)
        err = cantor_struct_encode(m, we, d, out);
    if (err == CANTOR_ERR_UNSUPPORTED) { /* not structurable: the CM path does not apply */
        out->len = 0;
        err = CANTOR_OK;
    }
    if (!err && we)
        err = cantor_codec_ctx_apply(we, d);
    cantor_delta_free(d);
    return err;
}

/* The inverse of pass_encode; an empty k = 1 payload stands for a block the CM path skipped. */
static enum cantor_err pass_decode(struct cantor_codec_model *m, struct cantor_codec_ctx *wd, uint32_t k,
                                   size_t n, const struct cantor_delta *orig, size_t raw_len,
                                   const struct cantor_buf *in, struct cantor_buf *back)
{
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    if (k != 1 || n > 1)
        return cantor_codec_decompress(m, wd, in->data, in->len, back);
    if (in->len == 0)
        return wd ? cantor_codec_ctx_apply(wd, orig) : CANTOR_OK;
    err = cantor_struct_decode(m, wd, orig->block_number, in->data, in->len, raw_len / 23 + 1, &d);
    if (!err)
        err = cantor_delta_encode(d, back);
    if (!err && wd)
        err = cantor_codec_ctx_apply(wd, d);
    cantor_delta_free(d);
    return err;
}

/*
 * The CM path, timed in passes of its own: every eval block encoded in order, then every block decoded
 * in order, each with fresh contexts when warm. So the adaptive pass that makes the reported chunks
 * (with its zstd and xz baselines, which flush the caches) neither repeats this work nor sits between
 * the clock readings, and a decode does not find the block's model rows still cached by its encode.
 * k = 1: canonical bytes -> delta -> structural+CM payload and back; k != 1: carried CM chunks (compress
 * without the zstd candidate, decompress). Adds the CPU times to *tm and the payload or chunk bytes to
 * *ret_bytes; bd (may be NULL) collects the breakdown of the encodes. Returns nonzero on a failed round
 * trip.
 */
static int timed_pass(struct cantor_codec_model *m, const struct cantor_cli_deltas *ev, bool warm, uint32_t k,
                      size_t bpc, long kw, struct prestate *ps, const struct cantor_codec_state *st,
                      struct cantor_codec_breakdown *bd, struct timing *tm, size_t *ret_bytes)
{
    struct cantor_codec_ctx *we = NULL, *wd = NULL;
    struct cantor_buf raw, back, *out = NULL;
    int failed = 0;
    enum cantor_err err = CANTOR_OK;

    cantor_buf_init(&raw, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&back, CANTOR_CHUNK_MAX_RAW);
    out = calloc(ev->n, sizeof(*out));
    if (!out)
        return 1;
    for (size_t i = 0; i < ev->n; i++)
        cantor_buf_init(&out[i], CANTOR_CHUNK_MAX_LEN);
    if (warm) {
        err = cantor_codec_ctx_new(&we);
        if (!err)
            err = cantor_codec_ctx_new(&wd);
        if (!err) {
            cantor_codec_ctx_set_snapshot_interval(we, k);
            cantor_codec_ctx_set_snapshot_interval(wd, k);
            cantor_codec_ctx_set_state(we, st);
            cantor_codec_ctx_set_state(wd, st);
            /* a carried state is allocated once per stream, not per block: outside the timing */
            err = cantor_codec_ctx_bind(we, m);
            if (!err)
                err = cantor_codec_ctx_bind(wd, m);
        }
    }
    if (err) {
        failed = 1;
        goto out;
    }
    for (int phase = 0; phase < 2 && !failed; phase++) {
        cantor_codec_model_set_breakdown(m, phase == 0 ? bd : NULL);
        for (size_t i = 0, g = 1; i < ev->n && !failed; i += g) {
            const uint8_t *p[BENCH_MAX_BPC];
            size_t l[BENCH_MAX_BPC];
            double t0, t1;
            g = group_len(ev, i, bpc);
            back.len = 0;
            err = group_raw(ev, i, g, &raw, p, l);
            if (!err && st)
                err = prestate_set(ps, &ev->d[i], g);
            if (!err && kw >= 0)
                err = window_ctx(ev, i, (size_t)kw, st, phase == 0 ? &we : &wd);
            if (err) {
                failed = 1;
                break;
            }
            t0 = now_s();
            if (phase == 0)
                err = pass_encode(m, we, k, &raw, p, l, g, &out[i]);
            else
                err = pass_decode(m, wd, k, g, ev->d[i], raw.len, &out[i], &back);
            t1 = now_s() - t0;
            if (phase == 0) {
                tm->enc += t1;
                tm->max_enc = t1 > tm->max_enc ? t1 : tm->max_enc;
                *ret_bytes += out[i].len;
            } else {
                tm->dec += t1;
                tm->max_dec = t1 > tm->max_dec ? t1 : tm->max_dec;
                if (!err && (k != 1 || g > 1 || out[i].len) &&
                    (back.len != raw.len || memcmp(back.data, raw.data, raw.len) != 0))
                    err = CANTOR_ERR_MISMATCH;
            }
            if (err) {
                fprintf(stderr, "cantor bench-codec: %s: cm path failed: %s\n", ev->name[i],
                        cantor_err_str(err));
                failed = 1;
            }
        }
    }
    cantor_codec_model_set_breakdown(m, NULL);
out:
    cantor_codec_ctx_free(we);
    cantor_codec_ctx_free(wd);
    for (size_t i = 0; i < ev->n; i++)
        cantor_buf_release(&out[i]);
    free(out);
    cantor_buf_release(&raw);
    cantor_buf_release(&back);
    return failed;
}

int cantor_cmd_bench_codec(int argc, char **argv)
{
    struct prestate ps = {0};
    struct cantor_codec_state cst = {prestate_lookup, &ps};
    int stream_only = 0;
    struct cantor_cli_deltas tr = {0}, ev = {0};
    struct cantor_codec_model *m = NULL;
    struct cantor_codec_ctx *wenc = NULL, *wdec = NULL;
    struct cantor_buf raw, chunk, back, tmp, stream;
    int warm = 0, quick = 0, mode = 0, rc = CANTOR_EXIT_USAGE, failed = 0, train_given = 0;
    size_t sum_raw = 0, sum_bytes = 0, sum_z = 0, sum_zd = 0, sum_xz = 0, sum_patch = 0, sum_long = 0;
    size_t codec_count[4] = {0, 0, 0, 0}, cm_bytes = 0;
    double t_enc = 0, t_dec = 0, t_zstd = 0, t_max_enc = 0, t_max_dec = 0, t0;
    struct cantor_codec_breakdown bd;
    int breakdown = 0;
    unsigned long snap_k = 1, bpc = 1;
    long key_window = -1; /* --key-window: per-block contexts, as cantord codes */
    double t_chunk_enc = 0, t_chunk_dec = 0;
    size_t sum_hdr = 0, n_chunks = 0;
    enum cantor_err err;

    cantor_buf_init(&raw, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&chunk, CANTOR_CHUNK_MAX_LEN);
    cantor_buf_init(&back, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&tmp, 0);
    cantor_buf_init(&stream, 1u << 30);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--train") == 0)
            mode = train_given = 1;
        else if (strcmp(argv[i], "--eval") == 0)
            mode = 2;
        else if (strcmp(argv[i], "--warm") == 0)
            warm = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--breakdown") == 0)
            breakdown = 1;
        else if (strcmp(argv[i], "--stream-only") == 0)
            stream_only = 1;
        else if (strcmp(argv[i], "--snapshot-interval") == 0 && i + 1 < argc) {
            char *end = NULL;
            snap_k = strtoul(argv[++i], &end, 10);
            if (!end || *end || snap_k > UINT32_MAX) {
                fprintf(stderr, "cantor bench-codec: bad --snapshot-interval\n");
                goto out;
            }
        } else if (strcmp(argv[i], "--blocks-per-chunk") == 0 && i + 1 < argc) {
            char *end = NULL;
            bpc = strtoul(argv[++i], &end, 10);
            if (!end || *end || bpc < 1 || bpc > BENCH_MAX_BPC) {
                fprintf(stderr, "cantor bench-codec: bad --blocks-per-chunk (1..%d)\n", BENCH_MAX_BPC);
                goto out;
            }
        } else if (strcmp(argv[i], "--key-window") == 0 && i + 1 < argc) {
            char *end = NULL;
            key_window = strtol(argv[++i], &end, 10);
            if (!end || *end || key_window < 0 || key_window > 4096) {
                fprintf(stderr, "cantor bench-codec: bad --key-window (0..4096)\n");
                goto out;
            }
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            rc = CANTOR_EXIT_OK;
            goto out;
        } else if (mode == 1) {
            if (cantor_cli_load_deltas(argv[i], &tr))
                goto out;
        } else if (mode == 2) {
            if (cantor_cli_load_deltas(argv[i], &ev))
                goto out;
        } else {
            fputs(USAGE, stderr);
            goto out;
        }
    }
    if (key_window >= 0 && (!warm || stream_only || snap_k != 1)) {
        fprintf(stderr,
                "cantor bench-codec: --key-window needs --warm with the state, snapshot interval 1\n");
        goto out;
    }
    if (bpc > 1 && (!warm || snap_k != 1 || key_window >= 0)) {
        fprintf(stderr, "cantor bench-codec: --blocks-per-chunk needs --warm, snapshot interval 1 and no "
                        "key window\n");
        goto out;
    }
    if (ev.n == 0) {
        fprintf(stderr, "cantor bench-codec: no eval blocks\n");
        goto out;
    }
    if (train_given && tr.n == 0) { /* an untrained model is not what was asked for */
        fprintf(stderr, "cantor bench-codec: no training blocks in the --train paths\n");
        goto out;
    }
    if (warm) {
        int moved = stream_order(&ev);
        if (moved < 0) {
            fprintf(stderr, "cantor bench-codec: out of memory\n");
            goto out;
        }
        if (moved)
            fprintf(stderr, "cantor bench-codec: eval blocks taken in block order for the warm stream\n");
    }
    while (quick && ev.n > 3) { /* --quick: the first three eval blocks */
        ev.n--;
        cantor_delta_free(ev.d[ev.n]);
        free(ev.name[ev.n]);
    }
    err = cantor_codec_model_new(&m);
    if (!err && tr.n)
        err = cantor_codec_model_train(m, (const struct cantor_delta *const *)tr.d, tr.n);
    if (!err && warm)
        err = cantor_codec_ctx_new(&wenc);
    if (!err && warm)
        err = cantor_codec_ctx_new(&wdec);
    if (err) {
        fprintf(stderr, "cantor bench-codec: model: %s\n", cantor_err_str(err));
        goto out;
    }
    cantor_kmap_init(&ps.keys, CANTOR_WARM_KEY_LEN, CANTOR_WARM_MAX_KEYS);
    if (warm) {
        cantor_codec_ctx_set_snapshot_interval(wenc, (uint32_t)snap_k);
        cantor_codec_ctx_set_snapshot_interval(wdec, (uint32_t)snap_k);
    }
    if (warm && !stream_only) {
        cantor_codec_ctx_set_state(wenc, &cst);
        cantor_codec_ctx_set_state(wdec, &cst);
    }
    memset(&bd, 0, sizeof(bd));
    {
        struct timing tm = {0, 0, 0, 0};
        failed |= timed_pass(m, &ev, warm, (uint32_t)snap_k, bpc, key_window, &ps,
                             warm && !stream_only ? &cst : NULL, breakdown ? &bd : NULL, &tm, &cm_bytes);
        t_enc = tm.enc;
        t_dec = tm.dec;
        t_max_enc = tm.max_enc;
        t_max_dec = tm.max_dec;
    }
    for (size_t i = 0, g = 1; i < ev.n; i += g) {
        struct cantor_codec_opts o = CANTOR_CODEC_OPTS_DEFAULT;
        const uint8_t *p[BENCH_MAX_BPC];
        size_t l[BENCH_MAX_BPC];
        uint8_t codec = 0;
        int ok;

        g = group_len(&ev, i, bpc);
        o.verify = false; /* the bench checks the round trip itself */
        chunk.len = back.len = tmp.len = 0;
        err = group_raw(&ev, i, g, &raw, p, l);
        if (err) {
            fprintf(stderr, "cantor bench-codec: %s: encode: %s\n", ev.name[i], cantor_err_str(err));
            failed = 1;
            continue;
        }
        if (warm && !stream_only && prestate_set(&ps, &ev.d[i], g) != CANTOR_OK) {
            failed = 1;
            continue;
        }
        if (key_window >= 0 && (window_ctx(&ev, i, (size_t)key_window, &cst, &wenc) != CANTOR_OK ||
                                window_ctx(&ev, i, (size_t)key_window, &cst, &wdec) != CANTOR_OK)) {
            failed = 1;
            continue;
        }
        t0 = now_s();
        err = cantor_codec_compress_blocks(m, wenc, &o, p, l, g, &chunk, &codec);
        t_chunk_enc += now_s() - t0;
        t0 = now_s();
        if (!err)
            err = cantor_codec_decompress(m, wdec, chunk.data, chunk.len, &back);
        t_chunk_dec += now_s() - t0;
        ok = !err && back.len == raw.len && memcmp(back.data, raw.data, raw.len) == 0;
        if (!ok) {
            failed = 1;
            fprintf(stderr, "cantor bench-codec: %s: round trip failed: %s\n", ev.name[i],
                    cantor_err_str(err));
        }
        codec_count[codec & 3]++;
        n_chunks++;
        {
            struct cantor_chunk_info ci;
            if (ok && cantor_chunk_parse_header(chunk.data, chunk.len, &ci) == CANTOR_OK)
                sum_hdr += ci.header_len;
        }
        printf("{\"block\":%llu,", (unsigned long long)ev.d[i]->block_number);
        if (bpc > 1)
            printf("\"last_block\":%llu,", (unsigned long long)ev.d[i + g - 1]->block_number);
        printf("\"raw_bytes\":%zu,\"bytes\":%zu,\"codec\":\"%s\",\"roundtrip\":%s}\n", raw.len, chunk.len,
               cantor_codec_name(codec), ok ? "true" : "false");
        fflush(stdout);
        sum_raw += raw.len;
        sum_bytes += chunk.len;
        /* the baselines stay per block whatever the chunking */
        for (size_t b = 0; b < g; b++) {
            sum_z += zstd_adv(p[b], l[b], NULL, 0, 0);
            tmp.len = 0;
            t0 = now_s();
            if (cantor_zstd_compress(m->zd, 19, p[b], l[b], &tmp) == CANTOR_OK)
                sum_zd += tmp.len;
            t_zstd += now_s() - t0;
            tmp.len = 0;
            if (cantor_xz9e_compress(p[b], l[b], &tmp) == CANTOR_OK)
                sum_xz += tmp.len;
            if (warm) {
                tmp.len = 0;
                old_state_prefix(ev.d[i + b], &tmp);
                sum_patch += zstd_adv(p[b], l[b], tmp.data, tmp.len, 0);
                cantor_buf_append(&stream, p[b], l[b]);
            }
        }
    }
    if (warm)
        sum_long = zstd_adv(stream.data, stream.len, NULL, 0, 1);
    printf("{\"summary\":true,\"regime\":\"%s\",\"state\":\"%s\",\"train_blocks\":%zu,\"blocks\":%zu,\"raw_"
           "bytes\":%zu,"
           "\"bytes\":%zu,\"zstd19_bytes\":%zu,\"zstd19_dict_bytes\":%zu,\"xz9e_bytes\":%zu,",
           warm ? "warm" : "cold",
           !warm         ? "none"
           : stream_only ? "stream"
                         : "full",
           tr.n, ev.n, sum_raw, sum_bytes, sum_z, sum_zd, sum_xz);
    if (warm)
        printf("\"snapshot_interval\":%lu,\"zstd19_long_bytes\":%zu,\"zstd19_patch_bytes\":%zu,", snap_k,
               sum_long, sum_patch);
    if (key_window >= 0)
        printf("\"key_window\":%ld,", key_window);
    if (bpc > 1)
        printf("\"blocks_per_chunk\":%lu,\"chunks\":%zu,", bpc, n_chunks);
    printf("\"header_bytes\":%zu,\"ratio_vs_zstd19_dict\":%.4f,\"codecs\":{\"raw\":%zu,\"zstd-dict\":%zu,"
           "\"cm\":%zu,\"cm-warm\":%zu},"
           "\"cm_path_bytes\":%zu,\"encode_mb_s\":%.2f,\"decode_mb_s\":%.2f,\"max_block_encode_ms\":%.2f,"
           "\"max_block_decode_ms\":%.2f,\"zstd19_dict_encode_mb_s\":%.2f,\"chunk_encode_mb_s\":%.2f,"
           "\"chunk_decode_mb_s\":%.2f",
           sum_hdr, sum_zd ? (double)sum_bytes / (double)sum_zd : 0.0, codec_count[0], codec_count[1],
           codec_count[2], codec_count[3], cm_bytes, t_enc > 0 ? (double)sum_raw / 1e6 / t_enc : 0.0,
           t_dec > 0 ? (double)sum_raw / 1e6 / t_dec : 0.0, t_max_enc * 1e3, t_max_dec * 1e3,
           t_zstd > 0 ? (double)sum_raw / 1e6 / t_zstd : 0.0,
           t_chunk_enc > 0 ? (double)sum_raw / 1e6 / t_chunk_enc : 0.0,
           t_chunk_dec > 0 ? (double)sum_raw / 1e6 / t_chunk_dec : 0.0);
    if (breakdown) {
        printf(",\"breakdown_bytes\":{");
        for (int k = 0; k < CANTOR_PART__COUNT; k++)
            printf("%s\"%s\":%.0f", k ? "," : "", cantor_codec_part_name(k), bd.bits[k] / 8.0);
        printf("},\"breakdown_decisions\":{");
        for (int k = 0; k < CANTOR_PART__COUNT; k++)
            printf("%s\"%s\":%llu", k ? "," : "", cantor_codec_part_name(k),
                   (unsigned long long)bd.decisions[k]);
        printf("}");
    }
    printf("}\n");
    rc = failed ? CANTOR_EXIT_FAIL : CANTOR_EXIT_OK;
out:
    cantor_kmap_release(&ps.keys);
    free(ps.vals);
    cantor_codec_ctx_free(wenc);
    cantor_codec_ctx_free(wdec);
    cantor_codec_model_free(m);
    cantor_cli_deltas_release(&tr);
    cantor_cli_deltas_release(&ev);
    cantor_buf_release(&raw);
    cantor_buf_release(&chunk);
    cantor_buf_release(&back);
    cantor_buf_release(&tmp);
    cantor_buf_release(&stream);
    return rc;
}
