/*
 * codec.c - the chunk container (docs/formats.md, "Chunk container"), the model snapshot (training,
 * version hash), the warm context, and the adaptive choice among CM, zstd-dict and raw.
 *
 * Decoding never trusts the chunk: sizes are checked against CANTOR_CHUNK_MAX_RAW before anything is
 * allocated, the model hash must match, and the decoded bytes must match the checksum (and, in a
 * version 1 chunk, the stored delta root) before they are handed out, so a chunk yields exactly its
 * canonical bytes or an error. Version 2 headers are written (≈ 30 B: 8-byte model hash prefix, no
 * delta root); version 1 is still read.
 * Ownership: the caller owns models, contexts and output buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "codec_internal.h"
#include "keccak.h"
#include "varint.h"

#define CM_MAIN_BITS 18
#define DICT_CAP     (112u * 1024)
#define DICT_KEYS    4096
#define HDR_FIXED    (CANTOR_CHUNK_MAGIC_LEN + 3) /* magic, version, codec, flags */

const char *cantor_codec_name(uint8_t codec_id)
{
    switch (codec_id) {
    case CANTOR_CODEC_RAW:
        return "raw";
    case CANTOR_CODEC_ZSTD_DICT:
        return "zstd-dict";
    case CANTOR_CODEC_CM:
        return "cm";
    case CANTOR_CODEC_CM_WARM:
        return "cm-warm";
    default:
        return NULL;
    }
}

/* ---------------- model ---------------- */
static void model_rehash(struct cantor_codec_model *m)
{
    struct cantor_keccak k;
    uint8_t h[32];

    cantor_keccak256_init(&k);
    /* /2: the structural coder of codec2 (tiered mapping search, flat literals, code runs);
     * /3: codec3's value coder (changes of the block reused: V_DMRU, 4-bit value types);
     * /5: coder 5's struct-member slots (S_MAPO); /6: every training key in the dictionaries, a key
     * counting as known in training only after its first delta; /7: decimal magnitudes (m * 10^e);
     * /8: the Uniswap V2 swap / liquidity rule for a reserves word's reserve1; /9: a transfer's other
     * side with a residual (V_DMRU_R) and the block's balance conservation (V_CONS) */
    cantor_keccak_update(&k, "cantor-codec-model/9", 20);
    cantor_cm_version_hash(m->cm, h);
    cantor_keccak_update(&k, h, 32);
    if (m->zd) {
        size_t n;
        const uint8_t *b = cantor_zdict_bytes(m->zd, &n);
        cantor_keccak_update(&k, b, n);
    }
    cantor_keccak_update(&k, "A", 1);
    cantor_keccak_update(&k, m->dict_addr.keys, m->dict_addr.n * 20);
    cantor_keccak_update(&k, "S", 1);
    cantor_keccak_update(&k, m->dict_slot.keys, m->dict_slot.n * 32);
    cantor_keccak_final(&k, m->hash, 32);
}

void cantor_codec_model_free(struct cantor_codec_model *m)
{
    if (!m)
        return;
    cantor_cm_free(m->cm);
    cantor_zdict_free(m->zd);
    cantor_kmap_release(&m->dict_addr);
    cantor_kmap_release(&m->dict_slot);
    cantor_kmap_release(&m->kmemo);
    cantor_kmap_release(&m->rmemo);
    cantor_kmap_release(&m->rdone);
    free(m->rmemo_val);
    free(m->rdone_lim);
    cantor_kmap_release(&m->deep);
    free(m->kmemo_val);
    free(m->train_blocks);
    free(m);
}

enum cantor_err cantor_codec_model_new(struct cantor_codec_model **ret_model)
{
    struct cantor_codec_model *m = calloc(1, sizeof(*m));
    struct cantor_predictor *p[3] = {NULL, NULL, NULL}; /* main contexts, order 0 */
    enum cantor_err err;

    if (!m)
        return CANTOR_ERR_NOMEM;
    for (unsigned i = 0; i < CANTOR_ARR_BASES; i++) {
        uint8_t w[32] = {0};
        w[31] = (uint8_t)i;
        cantor_keccak256(w, 32, m->arr_base[i]);
    }
    cantor_kmap_init(&m->kmemo, CANTOR_KMEMO_KEY, CANTOR_KMEMO_MAX);
    m->kmemo_val = malloc((size_t)CANTOR_KMEMO_MAX * 32);
    cantor_kmap_init(&m->rmemo, 32, CANTOR_KMEMO_MAX);
    cantor_kmap_init(&m->rdone, 20, CANTOR_KMEMO_MAX);
    m->rmemo_val = malloc((size_t)CANTOR_KMEMO_MAX * 21);
    m->rdone_lim = malloc(CANTOR_KMEMO_MAX);
    if (!m->kmemo_val || !m->rmemo_val || !m->rdone_lim) {
        free(m->kmemo_val);
        free(m->rmemo_val);
        free(m->rdone_lim);
        free(m);
        return CANTOR_ERR_NOMEM;
    }
    cantor_kmap_init(&m->deep, 21, DICT_KEYS);
    cantor_kmap_init(&m->dict_addr, 20, DICT_KEYS);
    cantor_kmap_init(&m->dict_slot, 32, DICT_KEYS);
    err = cantor_predictor_ctxmodel_new(CM_MAIN_BITS, 1023, 0, &p[0]);
    if (!err)
        err = cantor_predictor_order0_new(&p[1]);

    if (err) {
        for (int i = 0; i < 3; i++)
            cantor_predictor_free(p[i]);
        goto out;
    }
    err = cantor_cm_new(p, 2, &m->cm);
    if (err)
        goto out;
    model_rehash(m);
    *ret_model = m;
    m = NULL;
out:
    cantor_codec_model_free(m);
    return err;
}

void cantor_codec_model_hash(const struct cantor_codec_model *m, uint8_t out[32])
{
    memcpy(out, m->hash, 32);
}

const char *cantor_codec_part_name(int part)
{
    static const char *const names[CANTOR_PART__COUNT] = {"addresses",  "slots", "old_values",
                                                          "new_values", "code",  "overhead"};

    return part >= 0 && part < CANTOR_PART__COUNT ? names[part] : NULL;
}

void cantor_codec_model_set_breakdown(struct cantor_codec_model *m, struct cantor_codec_breakdown *bd)
{
    m->bd = bd;
}

struct keycount {
    uint32_t idx, count;
};

static int cmp_keycount(const void *a, const void *b)
{
    const struct keycount *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Keys of the training deltas, most frequent first (ties: first seen), with (ret_first) the index of
 * the first delta that holds each. A key seen once still pays: the blocks after the training ones are
 * its neighbours (cantord trains on the blocks before the ones it codes).
 */
static enum cantor_err learn_keys(const struct cantor_delta *const *deltas, size_t n, bool slots,
                                  struct cantor_kmap *dst, uint32_t **ret_first)
{
    struct cantor_kmap all, one;
    uint32_t *count = NULL, *first = NULL, *dfirst = NULL;
    struct keycount *kc = NULL;
    size_t klen = slots ? 32 : 20, cap = 0;
    enum cantor_err err = CANTOR_OK;

    cantor_kmap_init(&all, klen, CANTOR_WARM_MAX_KEYS);
    cantor_kmap_init(&one, klen, CANTOR_WARM_MAX_KEYS);
    for (size_t i = 0; i < n && !err; i++) {
        cantor_kmap_clear(&one);
        for (size_t j = 0; j < deltas[i]->n_entries && !err; j++) {
            const struct cantor_delta_entry *e = &deltas[i]->entries[j];
            const uint8_t *key = slots ? e->slot : e->addr;
            size_t idx;
            bool fresh;
            if (slots && e->kind != CANTOR_KIND_STORAGE)
                continue;
            err = cantor_kmap_put(&one, key, NULL, &fresh);
            if (err || !fresh)
                continue;
            err = cantor_kmap_put(&all, key, &idx, NULL);
            if (err)
                break;
            if (idx >= cap) {
                size_t nc = cap ? cap * 2 : 1024;
                uint32_t *p = realloc(count, nc * sizeof(*p)), *q;
                if (!p) {
                    err = CANTOR_ERR_NOMEM;
                    break;
                }
                count = p;
                q = realloc(first, nc * sizeof(*q));
                if (!q) {
                    err = CANTOR_ERR_NOMEM;
                    break;
                }
                first = q;
                memset(count + cap, 0, (nc - cap) * sizeof(*count));
                cap = nc;
            }
            if (count[idx]++ == 0)
                first[idx] = (uint32_t)i;
        }
    }
    if (err)
        goto out;
    kc = malloc((all.n ? all.n : 1) * sizeof(*kc));
    if (!kc) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < all.n; i++)
        kc[i] = (struct keycount){(uint32_t)i, count[i]};
    qsort(kc, all.n, sizeof(*kc), cmp_keycount);
    dfirst = malloc(dst->max * sizeof(*dfirst)); /* indexed by dst->n < dst->max */
    if (!dfirst) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < all.n && dst->n < dst->max && !err; i++) {
        dfirst[dst->n] = first[kc[i].idx];
        err = cantor_kmap_put(dst, cantor_kmap_key(&all, kc[i].idx), NULL, NULL);
    }
    if (!err) {
        *ret_first = dfirst;
        dfirst = NULL;
    }
out:
    free(dfirst);
    free(kc);
    free(first);
    free(count);
    cantor_kmap_release(&all);
    cantor_kmap_release(&one);
    return err;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Which blocks m learned from, for cantor_codec_model_trained_on(): sorted, each once. */
static enum cantor_err note_train_blocks(struct cantor_codec_model *m,
                                         const struct cantor_delta *const *deltas, size_t n)
{
    uint64_t *b = malloc(n * sizeof(*b));
    size_t k = 0;

    if (!b)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        b[i] = deltas[i]->block_number;
    qsort(b, n, sizeof(*b), cmp_u64);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || b[i] != b[k - 1])
            b[k++] = b[i];
    free(m->train_blocks);
    m->train_blocks = b;
    m->n_train_blocks = k;
    return CANTOR_OK;
}

enum cantor_err cantor_codec_model_train(struct cantor_codec_model *m,
                                         const struct cantor_delta *const *deltas, size_t n)
{
    struct cantor_buf *samples = NULL;
    enum cantor_err err = CANTOR_OK;

    if (!m || (n && !deltas))
        return CANTOR_ERR_INVALID;
    if (n == 0)
        return CANTOR_OK;
    samples = calloc(n, sizeof(*samples));
    if (!samples)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < n && !err; i++) {
        cantor_buf_init(&samples[i], CANTOR_CHUNK_MAX_RAW);
        err = cantor_delta_encode(deltas[i], &samples[i]);
    }
    if (!err) {
        cantor_zdict_free(m->zd);
        m->zd = NULL;
        err = cantor_zdict_train(samples, n, DICT_CAP, &m->zd);
    }
    if (!err)
        err = learn_keys(deltas, n, false, &m->dict_addr, &m->dict_addr_first);
    if (!err)
        err = learn_keys(deltas, n, true, &m->dict_slot, &m->dict_slot_first);
    /* CM priors: run the coder over the training blocks, keep the adapted state as the snapshot. */
    cantor_cm_reset(m->cm);
    for (size_t i = 0; i < n && !err; i++) {
        m->train_pos = (uint32_t)i;
        err = cantor_struct_train(m, deltas[i]);
    }
    free(m->dict_addr_first);
    free(m->dict_slot_first);
    m->dict_addr_first = m->dict_slot_first = NULL;
    if (!err)
        err = cantor_cm_snapshot(m->cm);
    if (!err)
        model_rehash(m);
    if (!err)
        err = note_train_blocks(m, deltas, n);
    for (size_t i = 0; i < n; i++)
        cantor_buf_release(&samples[i]);
    free(samples);
    return err;
}

bool cantor_codec_model_trained_through(const struct cantor_codec_model *m, uint64_t *ret_block)
{
    if (!m || !m->n_train_blocks)
        return false;
    if (ret_block)
        *ret_block = m->train_blocks[m->n_train_blocks - 1];
    return true;
}

bool cantor_codec_model_trained_on(const struct cantor_codec_model *m, uint64_t first, uint64_t last)
{
    size_t lo = 0, hi;

    if (!m || !m->n_train_blocks || first > last)
        return false;
    hi = m->n_train_blocks;
    while (lo < hi) { /* the first training block >= first */
        size_t mid = lo + (hi - lo) / 2;
        if (m->train_blocks[mid] < first)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n_train_blocks && m->train_blocks[lo] <= last;
}

/* ---------------- warm context ---------------- */
void cantor_codec_ctx_free(struct cantor_codec_ctx *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->addrs.n; i++)
        free(ctx->ainfo[i].slots);
    free(ctx->ainfo);
    free(ctx->words);
    free(ctx->slotpos);
    cantor_codehist_release(&ctx->code);
    cantor_kmap_release(&ctx->addrs);
    cantor_kmap_release(&ctx->vals);
    cantor_cm_state_free(ctx->cms);
    cantor_cm_state_free(ctx->vst);
    free(ctx);
}

enum cantor_err cantor_codec_ctx_new(struct cantor_codec_ctx **ret_ctx)
{
    struct cantor_codec_ctx *ctx = calloc(1, sizeof(*ctx));

    if (!ctx)
        return CANTOR_ERR_NOMEM;
    cantor_kmap_init(&ctx->addrs, 20, CANTOR_WARM_MAX_KEYS);
    cantor_kmap_init(&ctx->vals, CANTOR_WARM_KEY_LEN, CANTOR_WARM_MAX_KEYS);
    ctx->k = 1;
    *ret_ctx = ctx;
    return CANTOR_OK;
}

void cantor_codec_ctx_set_state(struct cantor_codec_ctx *ctx, const struct cantor_codec_state *st)
{
    if (st)
        ctx->state = *st;
    else
        memset(&ctx->state, 0, sizeof(ctx->state));
}

void cantor_codec_ctx_set_snapshot_interval(struct cantor_codec_ctx *ctx, uint32_t k)
{
    ctx->k = k;
    ctx->live = false; /* the next chunk encoded is a snapshot point */
}

/* Make *st a CM state for model m (st_model records whose): kept if it already is, else a new one. */
static enum cantor_err state_bind(struct cantor_cm_state **st, uint8_t st_model[32],
                                  struct cantor_codec_model *m, bool *ret_new)
{
    enum cantor_err err;

    *ret_new = false;
    if (*st && memcmp(st_model, m->hash, 32) == 0)
        return CANTOR_OK;
    cantor_cm_state_free(*st);
    *st = NULL;
    err = cantor_cm_state_new(m->cm, st);
    if (err)
        return err;
    memcpy(st_model, m->hash, 32);
    *ret_new = true;
    return CANTOR_OK;
}

/* Make ctx->cms the carried state for model m: kept if it already is, else a new one (the prior). */
static enum cantor_err carry_bind(struct cantor_codec_ctx *w, struct cantor_codec_model *m)
{
    bool created;
    enum cantor_err err = state_bind(&w->cms, w->cms_model, m, &created);

    if (!err && created)
        w->fresh = false; /* a new state is the prior already */
    return err;
}

enum cantor_err cantor_codec_ctx_bind(struct cantor_codec_ctx *ctx, struct cantor_codec_model *m)
{
    if (!ctx || !m)
        return CANTOR_ERR_INVALID;
    return ctx->k == 1 ? CANTOR_OK : carry_bind(ctx, m);
}

/* Put the carried state in (or back out of) the model's CM engine. */
static void carry_enter(struct cantor_codec_ctx *w, struct cantor_codec_model *m)
{
    cantor_cm_swap(m->cm, w->cms);
    m->carried = true;
    if (w->fresh) {
        cantor_cm_reset(m->cm);
        w->fresh = false;
    }
}

static void carry_leave(struct cantor_codec_ctx *w, struct cantor_codec_model *m)
{
    cantor_cm_swap(m->cm, w->cms);
    m->carried = false;
}

/* The id of the state after one more chunk: a chain over the checksums since the snapshot point. */
static uint32_t carry_chain(uint32_t id, uint64_t checksum)
{
    uint8_t b[12 + 4 + 8] = "cantor-carry", h[32];

    cantor_be32_put(b + 12, id);
    cantor_be64_put(b + 16, checksum);
    cantor_keccak256(b, sizeof(b), h);
    return cantor_be32_get(h);
}

/* Nothing known before the next chunk: no state lookup, no keys, no code (CANTOR_CHUNK_FLAG_SELF). */
static bool ctx_empty(const struct cantor_codec_ctx *w)
{
    return !w->state.lookup && w->addrs.n == 0 && w->vals.n == 0 && w->code.len == 0 && !w->spoiled;
}

enum cantor_err cantor_codec_ctx_apply(struct cantor_codec_ctx *ctx, const struct cantor_delta *d)
{
    enum cantor_err err = CANTOR_OK;

    for (size_t i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_entry *e = &d->entries[i];
        uint8_t key[CANTOR_WARM_KEY_LEN];
        size_t ai, vi;
        bool fresh;

        err = cantor_kmap_put(&ctx->addrs, e->addr, &ai, &fresh);
        if (err)
            break;
        if (ai >= ctx->ainfo_cap) {
            size_t nc = ctx->ainfo_cap ? ctx->ainfo_cap * 2 : 256;
            struct cantor_warm_addr *p = realloc(ctx->ainfo, nc * sizeof(*p));
            if (!p)
                return CANTOR_ERR_NOMEM;
            memset(p + ctx->ainfo_cap, 0, (nc - ctx->ainfo_cap) * sizeof(*p));
            ctx->ainfo = p;
            ctx->ainfo_cap = nc;
        }
        memcpy(key, e->addr, 20);
        key[20] = e->kind;
        memcpy(key + 21, e->slot, 32);
        err = cantor_kmap_put(&ctx->vals, key, &vi, &fresh);
        if (err)
            break;
        if (vi >= ctx->words_cap) {
            size_t nc = ctx->words_cap ? ctx->words_cap * 2 : 1024;
            uint8_t(*p)[32] = realloc(ctx->words, nc * 32);
            uint32_t *sp;
            if (!p)
                return CANTOR_ERR_NOMEM;
            ctx->words = p;
            sp = realloc(ctx->slotpos, nc * sizeof(*sp));
            if (!sp)
                return CANTOR_ERR_NOMEM;
            ctx->slotpos = sp;
            ctx->words_cap = nc;
        }
        memcpy(ctx->words[vi], e->new_val, 32);
        if (fresh && e->kind == CANTOR_KIND_STORAGE) {
            struct cantor_warm_addr *wa = &ctx->ainfo[ai];
            if (wa->n == wa->cap) {
                uint32_t nc = wa->cap ? wa->cap * 2 : 4;
                uint32_t *p = realloc(wa->slots, nc * sizeof(*p));
                if (!p)
                    return CANTOR_ERR_NOMEM;
                wa->slots = p;
                wa->cap = nc;
            }
            ctx->slotpos[vi] = wa->n;
            wa->slots[wa->n++] = (uint32_t)vi;
        }
    }
    for (size_t i = 0; i < d->n_codes && (!err || err == CANTOR_ERR_TOO_LARGE); i++) {
        enum cantor_err e2 = cantor_codehist_add(&ctx->code, d->codes[i].code, d->codes[i].len);
        if (e2)
            return e2;
    }
    /* A full context stops learning (both sides identically); it never fails the chunk. */
    return err == CANTOR_ERR_TOO_LARGE ? CANTOR_OK : err;
}

/* ---------------- container ---------------- */
/* A header or payload varint at *pos (advanced); a non-minimal or oversized one is a corrupt chunk. */
static enum cantor_err get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *ret)
{
    size_t used = 0;
    enum cantor_err err = cantor_varint_decode(p + *pos, len - *pos, ret, &used);

    *pos += used;
    return err == CANTOR_ERR_INVALID || err == CANTOR_ERR_OVERFLOW ? CANTOR_ERR_CORRUPT : err;
}

static uint64_t chunk_checksum(const uint8_t *hdr, size_t hlen, const uint8_t *raw, size_t raw_len)
{
    struct cantor_keccak k;
    uint8_t h[32];

    cantor_keccak256_init(&k);
    cantor_keccak_update(&k, hdr, hlen);
    cantor_keccak_update(&k, raw, raw_len);
    cantor_keccak_final(&k, h, 32);
    return cantor_be64_get(h);
}

enum cantor_err cantor_chunk_parse_header(const uint8_t *c, size_t len, struct cantor_chunk_info *ret)
{
    size_t pos = HDR_FIXED;
    uint64_t span, plen;
    enum cantor_err err;

    memset(ret, 0, sizeof(*ret));
    if (len < CANTOR_CHUNK_MAGIC_LEN)
        return CANTOR_ERR_TRUNCATED;
    if (memcmp(c, CANTOR_CHUNK_MAGIC, CANTOR_CHUNK_MAGIC_LEN) != 0)
        return CANTOR_ERR_CORRUPT;
    if (len < HDR_FIXED)
        return CANTOR_ERR_TRUNCATED;
    ret->version = c[4];
    ret->codec = c[5];
    ret->flags = c[6];
    if ((ret->version != CANTOR_CHUNK_VERSION && ret->version != CANTOR_CHUNK_VERSION_1) ||
        !cantor_codec_name(ret->codec))
        return CANTOR_ERR_UNSUPPORTED;
    if (ret->flags & ~(CANTOR_CHUNK_FLAG_WARM | CANTOR_CHUNK_FLAG_CARRY | CANTOR_CHUNK_FLAG_SELF) ||
        (ret->version == CANTOR_CHUNK_VERSION_1 &&
         (ret->flags & (CANTOR_CHUNK_FLAG_CARRY | CANTOR_CHUNK_FLAG_SELF))))
        return CANTOR_ERR_UNSUPPORTED;
    ret->model_hash_len = ret->version == CANTOR_CHUNK_VERSION_1 ? 32 : CANTOR_CHUNK_MODEL_PREFIX;
    if (len - pos < ret->model_hash_len)
        return CANTOR_ERR_TRUNCATED;
    memcpy(ret->model_hash, c + pos, ret->model_hash_len);
    pos += ret->model_hash_len;
    err = get_varint(c, len, &pos, &ret->first_block);
    if (!err)
        err = get_varint(c, len, &pos, &span);
    if (!err)
        err = get_varint(c, len, &pos, &ret->raw_len);
    if (err)
        return err;
    if (span > UINT64_MAX - ret->first_block)
        return CANTOR_ERR_CORRUPT;
    ret->last_block = ret->first_block + span;
    if (ret->raw_len > CANTOR_CHUNK_MAX_RAW || span >= CANTOR_CHUNK_MAX_BLOCKS)
        return CANTOR_ERR_TOO_LARGE;
    /* several blocks: only warm CM, zstd-dict and raw, never with carried state (not written) */
    if (span && (ret->codec == CANTOR_CODEC_CM || (ret->flags & CANTOR_CHUNK_FLAG_CARRY) ||
                 ret->version == CANTOR_CHUNK_VERSION_1))
        return CANTOR_ERR_UNSUPPORTED;
    /* self-contained names a warm chunk of several blocks, nothing else */
    if ((ret->flags & CANTOR_CHUNK_FLAG_SELF) && (!span || !(ret->flags & CANTOR_CHUNK_FLAG_WARM)))
        return CANTOR_ERR_CORRUPT;
    if (ret->flags & CANTOR_CHUNK_FLAG_CARRY) {
        err = get_varint(c, len, &pos, &ret->state_pos);
        if (err)
            return err;
        if (ret->state_pos == 0)
            return CANTOR_ERR_CORRUPT;
        if (len - pos < 4)
            return CANTOR_ERR_TRUNCATED;
        for (int i = 0; i < 4; i++)
            ret->state_id = (ret->state_id << 8) | c[pos + i];
        pos += 4;
    }
    if (ret->version == CANTOR_CHUNK_VERSION_1) {
        if (len - pos < 32)
            return CANTOR_ERR_TRUNCATED;
        memcpy(ret->delta_root, c + pos, 32);
        pos += 32;
    }
    err = get_varint(c, len, &pos, &plen);
    if (err)
        return err;
    if (len - pos < 8)
        return CANTOR_ERR_TRUNCATED;
    for (int i = 0; i < 8; i++)
        ret->checksum = (ret->checksum << 8) | c[pos + i];
    pos += 8;
    ret->header_len = pos;
    if (plen > len - pos)
        return CANTOR_ERR_TRUNCATED;
    if (plen < len - pos)
        return CANTOR_ERR_CORRUPT; /* trailing bytes */
    ret->payload_len = (size_t)plen;
    return CANTOR_OK;
}

/* Carried-state fields of a chunk header (flag CANTOR_CHUNK_FLAG_CARRY when pos > 0). */
struct carry_hdr {
    uint64_t pos;
    uint32_t id;
};

static enum cantor_err write_chunk(struct cantor_buf *out, uint8_t codec, uint8_t flags,
                                   const uint8_t *model_hash, uint64_t block, uint64_t span,
                                   const struct carry_hdr *ch, const uint8_t *raw, size_t raw_len,
                                   const uint8_t *payload, size_t plen, uint64_t *ret_sum)
{
    struct cantor_buf h;
    uint8_t ck[8];
    uint64_t sum;
    enum cantor_err err;

    cantor_buf_init(&h, 256);
    err = cantor_buf_append(&h, CANTOR_CHUNK_MAGIC, CANTOR_CHUNK_MAGIC_LEN);
    if (!err)
        err = cantor_buf_append(&h, (uint8_t[]){CANTOR_CHUNK_VERSION, codec, flags}, 3);
    if (!err)
        err = cantor_buf_append(&h, model_hash, CANTOR_CHUNK_MODEL_PREFIX);
    if (!err)
        err = cantor_varint_append(&h, block);
    if (!err)
        err = cantor_varint_append(&h, span);
    if (!err)
        err = cantor_varint_append(&h, raw_len);
    if (!err && (flags & CANTOR_CHUNK_FLAG_CARRY)) {
        err = cantor_varint_append(&h, ch->pos);
        if (!err)
            err = cantor_buf_append(&h,
                                    (uint8_t[]){(uint8_t)(ch->id >> 24), (uint8_t)(ch->id >> 16),
                                                (uint8_t)(ch->id >> 8), (uint8_t)ch->id},
                                    4);
    }
    /* v2 keeps no delta root: the checksum already covers the canonical bytes */
    if (!err)
        err = cantor_varint_append(&h, plen);
    if (err)
        goto out;
    sum = chunk_checksum(h.data, h.len, raw, raw_len);
    *ret_sum = sum;
    for (int i = 0; i < 8; i++)
        ck[i] = (uint8_t)(sum >> (56 - 8 * i));
    err = cantor_buf_append(&h, ck, 8);
    if (!err)
        err = cantor_buf_append(out, h.data, h.len);
    if (!err && plen)
        err = cantor_buf_append(out, payload, plen);
out:
    cantor_buf_release(&h);
    return err;
}

static enum cantor_err cm_roundtrip_ok(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                       uint64_t block, const struct cantor_buf *payload, const uint8_t *raw,
                                       size_t raw_len)
{
    struct cantor_delta *d = NULL;
    struct cantor_buf b;
    enum cantor_err err;

    cantor_buf_init(&b, CANTOR_CHUNK_MAX_RAW);
    err = cantor_struct_decode(m, warm, block, payload->data, payload->len, raw_len / 23 + 1, &d);
    if (!err)
        err = cantor_delta_encode(d, &b);
    if (!err && (b.len != raw_len || memcmp(b.data, raw, raw_len) != 0))
        err = CANTOR_ERR_MISMATCH;
    cantor_delta_free(d);
    cantor_buf_release(&b);
    return err;
}

/*
 * The CM candidate with the carried state swapped in: the attempt (and the verify decode) run under
 * the undo journal, so the state advances by this chunk only if CM wins. Returns true if it won;
 * *state_ok false when a rollback was incomplete (the next chunk must restart from the prior).
 */
static bool cm_try_carried(struct cantor_codec_model *m, struct cantor_codec_ctx *w,
                           const struct cantor_delta *d, bool verify, const uint8_t *raw, size_t raw_len,
                           size_t best_len, struct cantor_buf *cb, bool *state_ok)
{
    bool ok = true, won;

    carry_enter(w, m);
    ok = cantor_cm_journal(m->cm, CANTOR_JOURNAL_BEGIN);
    won = cantor_struct_encode(m, w, d, cb) == CANTOR_OK && cb->len < best_len;
    if (won && verify) {
        /* the decoder starts from the state before the chunk, so the check must too */
        ok = cantor_cm_journal(m->cm, CANTOR_JOURNAL_ROLLBACK) && ok;
        ok = cantor_cm_journal(m->cm, CANTOR_JOURNAL_BEGIN) && ok;
        won = ok && cm_roundtrip_ok(m, w, d->block_number, cb, raw, raw_len) == CANTOR_OK;
    }
    if (won)
        cantor_cm_journal(m->cm, CANTOR_JOURNAL_COMMIT);
    else
        ok = cantor_cm_journal(m->cm, CANTOR_JOURNAL_ROLLBACK) && ok;
    carry_leave(w, m);
    *state_ok = won || ok;
    return won;
}

enum cantor_err cantor_codec_compress(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                      const struct cantor_codec_opts *opts, const uint8_t *raw,
                                      size_t raw_len, struct cantor_buf *out, uint8_t *ret_codec)
{
    struct cantor_codec_opts o = opts ? *opts : CANTOR_CODEC_OPTS_DEFAULT;
    struct cantor_delta *d = NULL;
    struct cantor_buf zb, cb;
    struct carry_hdr ch = {0, 0};
    const uint8_t *best = raw;
    size_t best_len = raw_len;
    uint8_t codec = CANTOR_CODEC_RAW, flags = 0, zero[32] = {0};
    bool carry = warm && warm->k != 1, state_ok = true;
    uint64_t sum = 0;
    enum cantor_err err;

    if (!m || !raw || !out)
        return CANTOR_ERR_INVALID;
    if (raw_len > CANTOR_CHUNK_MAX_RAW)
        return CANTOR_ERR_TOO_LARGE;
    if (warm && warm->spoiled)
        return CANTOR_ERR_MISMATCH;
    cantor_buf_init(&zb, CANTOR_CHUNK_MAX_LEN);
    cantor_buf_init(&cb, CANTOR_CHUNK_MAX_LEN);
    err = cantor_delta_decode(raw, raw_len, &d);
    if (err) {
        err = CANTOR_ERR_INVALID; /* only canonical delta bytes are chunked */
        goto out;
    }
    if (carry && (!warm->live || (warm->k && warm->pos >= warm->k) || !warm->cms ||
                  memcmp(warm->cms_model, m->hash, 32) != 0)) {
        /* a snapshot point: this chunk starts from the prior of m */
        warm->pos = 0;
        warm->id = 0;
        warm->live = carry_bind(warm, m) == CANTOR_OK;
        warm->fresh = true;
        carry = warm->live; /* no state (out of memory, predictor without state): per-chunk mode */
    }
    if (o.try_zstd && cantor_zstd_compress(m->zd, 19, raw, raw_len, &zb) == CANTOR_OK && zb.len < best_len) {
        best = zb.data;
        best_len = zb.len;
        codec = CANTOR_CODEC_ZSTD_DICT;
    }
    if (o.try_cm && carry) {
        if (cm_try_carried(m, warm, d, o.verify, raw, raw_len, best_len, &cb, &state_ok)) {
            best = cb.data;
            best_len = cb.len;
            codec = CANTOR_CODEC_CM_WARM;
        }
    } else if (o.try_cm && cantor_struct_encode(m, warm, d, &cb) == CANTOR_OK && cb.len < best_len &&
               (!o.verify || cm_roundtrip_ok(m, warm, d->block_number, &cb, raw, raw_len) == CANTOR_OK)) {
        best = cb.data;
        best_len = cb.len;
        codec = warm ? CANTOR_CODEC_CM_WARM : CANTOR_CODEC_CM;
    }
    if (codec == CANTOR_CODEC_CM_WARM)
        flags |= CANTOR_CHUNK_FLAG_WARM;
    if (carry && warm->pos > 0) {
        flags |= CANTOR_CHUNK_FLAG_CARRY;
        ch.pos = warm->pos;
        ch.id = warm->id;
    }
    err = write_chunk(out, codec, flags, codec == CANTOR_CODEC_RAW ? zero : m->hash, d->block_number, 0, &ch,
                      raw, raw_len, best, best_len, &sum);
    if (!err && warm)
        err = cantor_codec_ctx_apply(warm, d);
    if (carry) {
        warm->id = carry_chain(warm->id, sum);
        warm->pos++;
        warm->live = !err && state_ok;
    }
    if (!err && ret_codec)
        *ret_codec = codec;
out:
    cantor_delta_free(d);
    cantor_buf_release(&zb);
    cantor_buf_release(&cb);
    return err;
}

/*
 * The CM candidate of a multi-block chunk: per block a varint length and its structural+CM payload,
 * the CM state running on from block to block (from the prior at the chunk's start) and w taking each
 * block's keys before the next block is coded. With verify, each payload is decoded right after its
 * encoding by a twin state (w->vst) that has seen the same updates, while w still holds the keys
 * before the block. *ret_applied counts the blocks applied to w; *ret_ok says whether the candidate
 * is complete. Returns only a failure to apply a block, which leaves w unusable.
 */
static enum cantor_err cm_encode_blocks(struct cantor_codec_model *m, struct cantor_codec_ctx *w,
                                        struct cantor_delta *const *d, size_t n, bool verify,
                                        const uint8_t *const *raws, const size_t *lens, struct cantor_buf *cb,
                                        size_t *ret_applied, bool *ret_ok)
{
    struct cantor_buf pb;
    enum cantor_err err = CANTOR_OK;
    bool ok = true, created;

    *ret_ok = false;
    if (verify) {
        if (state_bind(&w->vst, w->vst_model, m, &created) != CANTOR_OK)
            return CANTOR_OK; /* no memory for the twin: no CM candidate */
        cantor_cm_swap(m->cm, w->vst);
        cantor_cm_reset(m->cm);
        cantor_cm_swap(m->cm, w->vst);
    }
    cantor_cm_reset(m->cm);
    m->carried = true; /* struct_encode/decode: go on from the state the previous block left */
    cantor_buf_init(&pb, CANTOR_CHUNK_MAX_LEN);
    for (size_t i = 0; i < n && ok && !err; i++) {
        pb.len = 0;
        ok = cantor_struct_encode(m, w, d[i], &pb) == CANTOR_OK;
        if (ok && verify) {
            cantor_cm_swap(m->cm, w->vst);
            ok = cm_roundtrip_ok(m, w, d[i]->block_number, &pb, raws[i], lens[i]) == CANTOR_OK;
            cantor_cm_swap(m->cm, w->vst);
        }
        if (ok)
            ok = cantor_varint_append(cb, pb.len) == CANTOR_OK &&
                 cantor_buf_append(cb, pb.data, pb.len) == CANTOR_OK;
        if (ok) {
            err = cantor_codec_ctx_apply(w, d[i]);
            if (!err)
                (*ret_applied)++;
        }
    }
    m->carried = false;
    cantor_buf_release(&pb);
    *ret_ok = ok && !err;
    return err;
}

static enum cantor_err compress_multi(struct cantor_codec_model *m, struct cantor_codec_ctx *w,
                                      const struct cantor_codec_opts *o, const uint8_t *const *raws,
                                      const size_t *lens, size_t n, struct cantor_buf *out,
                                      uint8_t *ret_codec)
{
    struct cantor_delta **d = NULL;
    struct cantor_buf cat, zb, cb;
    struct carry_hdr ch = {0, 0};
    const uint8_t *best;
    size_t best_len, applied = 0;
    uint8_t codec = CANTOR_CODEC_RAW, flags = 0, zero[32] = {0};
    uint64_t sum = 0;
    bool cm_ok = false, self;
    enum cantor_err err = CANTOR_OK;

    if (!w || w->k != 1 || n > CANTOR_CHUNK_MAX_BLOCKS)
        return CANTOR_ERR_INVALID;
    if (w->spoiled)
        return CANTOR_ERR_MISMATCH;
    cantor_buf_init(&cat, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&zb, CANTOR_CHUNK_MAX_LEN);
    cantor_buf_init(&cb, CANTOR_CHUNK_MAX_LEN);
    d = calloc(n, sizeof(*d));
    if (!d) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!raws[i] || lens[i] > CANTOR_CHUNK_MAX_RAW - cat.len) {
            err = raws[i] ? CANTOR_ERR_TOO_LARGE : CANTOR_ERR_INVALID;
            goto out;
        }
        err = cantor_buf_append(&cat, raws[i], lens[i]);
        if (err)
            goto out;
        /* only canonical deltas of consecutive blocks are chunked together */
        if (cantor_delta_decode(raws[i], lens[i], &d[i]) != CANTOR_OK ||
            d[i]->block_number - d[0]->block_number != i || d[i]->block_number < d[0]->block_number) {
            err = CANTOR_ERR_INVALID;
            goto out;
        }
    }
    self = ctx_empty(w);
    best = cat.data;
    best_len = cat.len;
    if (o->try_zstd && cantor_zstd_compress(m->zd, 19, cat.data, cat.len, &zb) == CANTOR_OK &&
        zb.len < best_len) {
        best = zb.data;
        best_len = zb.len;
        codec = CANTOR_CODEC_ZSTD_DICT;
    }
    if (o->try_cm) {
        err = cm_encode_blocks(m, w, d, n, o->verify, raws, lens, &cb, &applied, &cm_ok);
        if (err) {
            w->spoiled = true;
            goto out;
        }
        if (cm_ok && cb.len < best_len) {
            best = cb.data;
            best_len = cb.len;
            codec = CANTOR_CODEC_CM_WARM;
            flags = CANTOR_CHUNK_FLAG_WARM | (self ? CANTOR_CHUNK_FLAG_SELF : 0);
        }
    }
    for (; applied < n && !err; applied++)
        err = cantor_codec_ctx_apply(w, d[applied]);
    if (err) {
        w->spoiled = true; /* some of the blocks' keys are in, not all: no chunk may follow */
        goto out;
    }
    err = write_chunk(out, codec, flags, codec == CANTOR_CODEC_RAW ? zero : m->hash, d[0]->block_number,
                      n - 1, &ch, cat.data, cat.len, best, best_len, &sum);
    if (!err && ret_codec)
        *ret_codec = codec;
out:
    for (size_t i = 0; d && i < n; i++)
        cantor_delta_free(d[i]);
    free(d);
    cantor_buf_release(&cat);
    cantor_buf_release(&zb);
    cantor_buf_release(&cb);
    return err;
}

enum cantor_err cantor_codec_compress_blocks(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                             const struct cantor_codec_opts *opts, const uint8_t *const *raws,
                                             const size_t *lens, size_t n, struct cantor_buf *out,
                                             uint8_t *ret_codec)
{
    struct cantor_codec_opts o = opts ? *opts : CANTOR_CODEC_OPTS_DEFAULT;

    if (!m || !raws || !lens || !n || !out)
        return CANTOR_ERR_INVALID;
    if (n == 1)
        return cantor_codec_compress(m, warm, opts, raws[0], lens[0], out, ret_codec);
    return compress_multi(m, warm, &o, raws, lens, n, out, ret_codec);
}

/*
 * A multi-block codec-3 payload (see cm_encode_blocks): each block decoded from the state the one
 * before left, appended to raw and applied to w. *touched: w has taken keys (a later failure spoils it).
 */
static enum cantor_err cm_decode_blocks(struct cantor_codec_model *m, struct cantor_codec_ctx *w,
                                        const struct cantor_chunk_info *ci, const uint8_t *payload,
                                        struct cantor_buf *raw, bool *touched)
{
    size_t pos = 0, n = (size_t)(ci->last_block - ci->first_block) + 1;
    enum cantor_err err = CANTOR_OK;

    cantor_cm_reset(m->cm);
    m->carried = true;
    for (size_t i = 0; i < n && !err; i++) {
        struct cantor_delta *d = NULL;
        uint64_t l = 0;

        err = get_varint(payload, ci->payload_len, &pos, &l);
        if (!err && l > ci->payload_len - pos)
            err = CANTOR_ERR_CORRUPT;
        if (!err)
            err = cantor_struct_decode(m, w, ci->first_block + i, payload + pos, (size_t)l,
                                       (size_t)(ci->raw_len - raw->len) / 23 + 1, &d);
        if (!err)
            err = cantor_delta_encode(d, raw);
        if (!err && raw->len > ci->raw_len)
            err = CANTOR_ERR_CORRUPT;
        if (!err) {
            *touched = true;
            err = cantor_codec_ctx_apply(w, d);
        }
        pos += (size_t)l;
        cantor_delta_free(d);
    }
    m->carried = false;
    if (!err && pos != ci->payload_len)
        err = CANTOR_ERR_CORRUPT;
    if (err == CANTOR_ERR_TRUNCATED || err == CANTOR_ERR_INVALID || err == CANTOR_ERR_TOO_LARGE)
        err = CANTOR_ERR_CORRUPT;
    return err;
}

/*
 * The checked bytes of a raw or zstd-dict chunk: they must split into exactly the canonical deltas of
 * its blocks, in order (a checksum proves the bytes, not that they are the blocks the header names),
 * and each is applied to w (may be NULL). *keyed: w has taken keys.
 */
static enum cantor_err split_blocks(const struct cantor_chunk_info *ci, const struct cantor_buf *raw,
                                    struct cantor_codec_ctx *w, bool *keyed)
{
    size_t pos = 0, used = 0;
    enum cantor_err err = CANTOR_OK;

    for (uint64_t b = ci->first_block; b <= ci->last_block && !err; b++) {
        struct cantor_delta *d = NULL;
        err = cantor_delta_decode_prefix(raw->data + pos, raw->len - pos, &used, &d);
        if (!err && d->block_number != b)
            err = CANTOR_ERR_CORRUPT;
        if (!err && w) {
            *keyed = true;
            err = cantor_codec_ctx_apply(w, d);
        }
        pos += used;
        cantor_delta_free(d);
    }
    if (!err && pos != raw->len)
        err = CANTOR_ERR_CORRUPT;
    return err == CANTOR_ERR_NOMEM ? err : err ? CANTOR_ERR_CORRUPT : CANTOR_OK;
}

enum cantor_err cantor_codec_decompress(struct cantor_codec_model *m, struct cantor_codec_ctx *warm,
                                        const uint8_t *chunk, size_t len, struct cantor_buf *out)
{
    struct cantor_chunk_info ci;
    struct cantor_delta *d = NULL;
    struct cantor_buf raw;
    const uint8_t *payload;
    uint8_t root[32];
    bool carry, touched = false, multi, keyed = false;
    enum cantor_err err;

    if (!chunk || !out)
        return CANTOR_ERR_INVALID;
    if (warm && warm->spoiled)
        return CANTOR_ERR_MISMATCH;
    err = cantor_chunk_parse_header(chunk, len, &ci);
    if (err)
        return err;
    multi = ci.last_block != ci.first_block;
    if (multi && warm && warm->k != 1)
        return CANTOR_ERR_INVALID; /* multi-block chunks never carry CM state across chunks */
    payload = chunk + ci.header_len;
    cantor_buf_init(&raw, CANTOR_CHUNK_MAX_RAW + 1);
    if (ci.codec != CANTOR_CODEC_RAW && (!m || memcmp(ci.model_hash, m->hash, ci.model_hash_len) != 0)) {
        err = CANTOR_ERR_UNKNOWN_MODEL;
        goto out;
    }
    if ((ci.codec == CANTOR_CODEC_CM_WARM) != !!(ci.flags & CANTOR_CHUNK_FLAG_WARM)) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    if (ci.codec == CANTOR_CODEC_CM_WARM && !warm) {
        err = CANTOR_ERR_INVALID; /* a warm chunk needs the stream's context */
        goto out;
    }
    if ((ci.flags & CANTOR_CHUNK_FLAG_SELF) && !ctx_empty(warm)) {
        err = CANTOR_ERR_MISMATCH; /* coded from nothing: a context that knows keys would mis-decode it */
        goto out;
    }
    carry = warm && warm->k != 1;
    if (ci.codec == CANTOR_CODEC_CM_WARM && (ci.flags & CANTOR_CHUNK_FLAG_CARRY) &&
        (!carry || !warm->live || warm->pos != ci.state_pos || warm->id != ci.state_id ||
         (!warm->fresh && (!warm->cms || memcmp(warm->cms_model, m->hash, 32) != 0)))) {
        err = CANTOR_ERR_MISMATCH; /* needs the CM state after other chunks than this context saw */
        goto out;
    }
    switch (ci.codec) {
    case CANTOR_CODEC_RAW:
        if (ci.payload_len != ci.raw_len) {
            err = CANTOR_ERR_CORRUPT;
            goto out;
        }
        err = cantor_buf_append(&raw, payload, ci.payload_len);
        break;
    case CANTOR_CODEC_ZSTD_DICT:
        err = cantor_zstd_decompress(m->zd, payload, ci.payload_len, ci.raw_len, &raw);
        break;
    default:
        if (multi) {
            err = cm_decode_blocks(m, warm, &ci, payload, &raw, &keyed);
            break;
        }
        if (carry && ci.codec == CANTOR_CODEC_CM_WARM) {
            if (!(ci.flags & CANTOR_CHUNK_FLAG_CARRY))
                warm->fresh = true; /* a snapshot point: from the prior */
            err = carry_bind(warm, m);
            if (err)
                break;
            carry_enter(warm, m);
            touched = true;
        }
        err = cantor_struct_decode(m, ci.codec == CANTOR_CODEC_CM_WARM ? warm : NULL, ci.first_block, payload,
                                   ci.payload_len, ci.raw_len / 23 + 1, &d);
        if (touched)
            carry_leave(warm, m);
        if (!err)
            err = cantor_delta_encode(d, &raw);
        if (err == CANTOR_ERR_INVALID || err == CANTOR_ERR_TOO_LARGE)
            err = CANTOR_ERR_CORRUPT;
        break;
    }
    if (err)
        goto out;
    if (raw.len != ci.raw_len) {
        err = CANTOR_ERR_CORRUPT;
        goto out;
    }
    if (ci.version == CANTOR_CHUNK_VERSION_1)
        cantor_keccak256(raw.data, raw.len, root);
    if ((ci.version == CANTOR_CHUNK_VERSION_1 && memcmp(root, ci.delta_root, 32) != 0) ||
        chunk_checksum(chunk, ci.header_len - 8, raw.data, raw.len) != ci.checksum) {
        err = CANTOR_ERR_CHECKSUM;
        goto out;
    }
    if (ci.codec == CANTOR_CODEC_RAW || ci.codec == CANTOR_CODEC_ZSTD_DICT) {
        err = split_blocks(&ci, &raw, warm, &keyed);
        if (err)
            goto out;
    } else if (warm && !multi) {
        if (!d)
            err = cantor_delta_decode(raw.data, raw.len, &d);
        if (!err)
            err = cantor_codec_ctx_apply(warm, d);
        if (err)
            goto out;
    }
    if (carry) {
        if (!(ci.flags & CANTOR_CHUNK_FLAG_CARRY)) {
            /* a snapshot point; a CM chunk left the state after itself, any other the prior */
            warm->pos = 0;
            warm->id = 0;
            warm->live = true;
            warm->fresh = !touched;
        } else if (!touched && (!warm->live || warm->pos != ci.state_pos || warm->id != ci.state_id)) {
            warm->live = false; /* decodes without the state, but the chain is not ours */
        }
        warm->id = carry_chain(warm->id, ci.checksum);
        warm->pos++;
        touched = false;
    }
    err = cantor_buf_append(out, raw.data, raw.len);
out:
    if (touched)
        warm->live = false; /* the state advanced by a chunk that failed */
    if (err && keyed)
        warm->spoiled = true; /* keys of blocks that did not check out */
    cantor_delta_free(d);
    cantor_buf_release(&raw);
    return err;
}
