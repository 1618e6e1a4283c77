/*
 * predictor.c - the fixed-point logistic helpers and the built-in adaptive predictors that plug into
 * the codec through struct cantor_predictor (predictor.h):
 *   - "ctxmodel": hashed context model; per context hash a 22-bit probability and a hit count that
 *     sets the learning rate (1/(n+1.5), capped by `limit`), like lpaq's StateMap;
 *   - "order0": a direct table per (field, node), the fast-learning baseline input.
 * Each predictor owns its snapshot (the trained prior that reset() restores) and its own working
 * state; a warm stream's carried working state (state_new) is owned by whoever made it and only
 * swapped in for the duration of a chunk. Also the undo journal those states use.
 */
#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "predictor.h"

static const int squash_tab[33] = {1,    2,    3,    6,    10,   16,   27,   45,   73,   120,  194,
                                   310,  488,  747,  1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785,
                                   3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094};

int cantor_squash(int d)
{
    int w, i;

    if (d > 2047)
        d = 2047;
    if (d < -2047)
        d = -2047;
    d += 2048;
    w = d & 127;
    i = d >> 7;
    return (squash_tab[i] * (128 - w) + squash_tab[i + 1] * w + 64) >> 7;
}

static int16_t stretch_tab[4096];
int16_t cantor_squash_tab_[4095]; /* squash(d) for d = -2047..2047, so the hot path is one load */
static int stretch_ready;

static void stretch_init(void)
{
    int pi = 0;

    /* Inverse of squash; computed from integers only, so identical everywhere. Idempotent. */
    for (int x = -2047; x <= 2047; x++) {
        int v = cantor_squash(x);
        for (int i = pi; i <= v; i++)
            stretch_tab[i] = (int16_t)x;
        pi = v + 1;
    }
    for (int i = pi; i < 4096; i++)
        stretch_tab[i] = 2047;
    for (int x = -2047; x <= 2047; x++)
        cantor_squash_tab_[x + 2047] = (int16_t)cantor_squash(x);
    __atomic_store_n(&stretch_ready, 1, __ATOMIC_RELEASE);
}

int cantor_stretch(int p)
{
    if (!__atomic_load_n(&stretch_ready, __ATOMIC_ACQUIRE))
        stretch_init();
    if (p < 0)
        p = 0;
    if (p > 4095)
        p = 4095;
    return stretch_tab[p];
}

void cantor_predictor_free(struct cantor_predictor *p)
{
    if (p)
        p->ops->free(p);
}

/* Hot-path versions; valid once a predictor exists (its constructor runs stretch_init). */
static inline int stretch_fast(int p)
{
    return stretch_tab[p];
}

/* 65536 / (n + 1.5): learning rate of a cell seen n times. */
static int32_t rate_tab[1024];
static int rate_ready;

static void rate_init(void)
{
    for (int n = 0; n < 1024; n++)
        rate_tab[n] = (int32_t)(131072 / (2 * n + 3));
    __atomic_store_n(&rate_ready, 1, __ATOMIC_RELEASE);
}

/* cell = p22 << 10 | count */
static inline uint32_t cell_update(uint32_t e, int bit, unsigned limit)
{
    int32_t n = (int32_t)(e & 1023), p = (int32_t)(e >> 10);
    int32_t target = bit ? (1 << 22) - 1 : 0;

    p += (int32_t)(((int64_t)(target - p) * rate_tab[n]) >> 16);
    if ((unsigned)n < limit)
        n++;
    return ((uint32_t)p << 10) | (uint32_t)n;
}

static inline int cell_p12(uint32_t e)
{
    int p = (int)(e >> 20);
    return p < 1 ? 1 : p > 4095 ? 4095 : p;
}

/* ---------------- undo journal ---------------- */
enum cantor_err cantor_journal_init(struct cantor_journal *j, size_t rows, size_t row_bytes)
{
    memset(j, 0, sizeof(*j));
    j->mark = calloc(rows ? rows : 1, 1);
    if (!j->mark)
        return CANTOR_ERR_NOMEM;
    j->rows = rows;
    j->row_bytes = row_bytes;
    return CANTOR_OK;
}

void cantor_journal_release(struct cantor_journal *j)
{
    free(j->mark);
    free(j->log);
    memset(j, 0, sizeof(*j));
}

void cantor_journal_save(struct cantor_journal *j, const void *base, size_t row)
{
    size_t rec = 4 + j->row_bytes;
    uint32_t r = (uint32_t)row;

    if (j->len + rec > j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 64 * rec;
        uint8_t *p = realloc(j->log, nc);
        if (!p) {
            j->failed = true; /* the row stays unmarked: a rollback cannot restore it */
            return;
        }
        j->log = p;
        j->cap = nc;
    }
    memcpy(j->log + j->len, &r, 4);
    memcpy(j->log + j->len + 4, (const uint8_t *)base + row * j->row_bytes, j->row_bytes);
    j->len += rec;
    j->mark[row] = 1;
}

bool cantor_journal_op(struct cantor_journal *j, void *base, int op)
{
    size_t rec = 4 + j->row_bytes;
    bool ok = !j->failed;

    if (op == CANTOR_JOURNAL_BEGIN) {
        if (!j->mark)
            return false;
        j->on = true;
        j->failed = false;
        return true;
    }
    for (size_t o = 0; o < j->len; o += rec) {
        uint32_t r;
        memcpy(&r, j->log + o, 4);
        if (op == CANTOR_JOURNAL_ROLLBACK)
            memcpy((uint8_t *)base + (size_t)r * j->row_bytes, j->log + o + 4, j->row_bytes);
        j->mark[r] = 0;
    }
    j->len = 0;
    j->on = false;
    j->failed = false;
    return ok;
}

/* ---------------- rows changed since the snapshot ---------------- */
enum cantor_err cantor_dirty_init(struct cantor_dirty *d, size_t rows)
{
    memset(d, 0, sizeof(*d));
    d->mark = calloc(rows ? rows : 1, 1);
    d->list = malloc((rows ? rows : 1) * sizeof(uint32_t));
    if (!d->mark || !d->list) {
        cantor_dirty_release(d);
        return CANTOR_ERR_NOMEM;
    }
    d->rows = rows;
    return CANTOR_OK;
}

void cantor_dirty_release(struct cantor_dirty *d)
{
    free(d->mark);
    free(d->list);
    memset(d, 0, sizeof(*d));
}

void cantor_dirty_clear(struct cantor_dirty *d)
{
    if (!d->mark)
        return;
    if (d->n > d->rows / 4)
        memset(d->mark, 0, d->rows);
    else
        for (size_t i = 0; i < d->n; i++)
            d->mark[d->list[i]] = 0;
    d->n = 0;
}

void cantor_dirty_restore(struct cantor_dirty *d, void *base, const void *snap, size_t row_bytes)
{
    if (!d->mark)
        return;
    if (d->n > d->rows / 4) { /* scattered row copies cost more than one sequential copy */
        memcpy(base, snap, d->rows * row_bytes);
    } else {
        for (size_t i = 0; i < d->n; i++) {
            size_t o = (size_t)d->list[i] * row_bytes;
            memcpy((uint8_t *)base + o, (const uint8_t *)snap + o, row_bytes);
        }
    }
    cantor_dirty_clear(d);
}

/* ---------------- hashed context model ---------------- */
/*
 * Cells live in buckets of 16 (one 64-byte cache line): a bucket is chosen by hashing the context
 * with the tree node at every 4th level of the symbol's binary tree, and the 15 nodes of the next
 * four levels index inside it (lpaq's nibble scheme). One cache miss per context per nibble instead
 * of one per bit. Buckets written since the last reset are listed, so reset() restores only those.
 * The table and that list are the working state (struct ctxws): the model's own, or a warm stream's
 * swapped in; the snapshot t0 is shared.
 */
#define CM_BUCKET 16

struct ctxws {
    uint32_t *t;
    struct cantor_dirty dirty; /* buckets written since reset */
    struct cantor_journal j;   /* rows = buckets; only initialised for carried states */
};

struct ctxmodel {
    struct cantor_predictor base;
    struct ctxws *ws;
    uint32_t *t0;
    unsigned bits, limit, n_use;
    uint32_t bucket[CANTOR_PCTX_MAX]; /* cell index of the current bucket per context */
    uint32_t idx[CANTOR_PCTX_MAX];
    unsigned n_idx;
    size_t n_buckets;
};

static void ctxws_free(void *p)
{
    struct ctxws *w = p;

    if (!w)
        return;
    free(w->t);
    cantor_dirty_release(&w->dirty);
    cantor_journal_release(&w->j);
    free(w);
}

/* A working state equal to the snapshot t0 (or to p = 0.5 everywhere when t0 is NULL). */
static enum cantor_err ctxws_new(const struct ctxmodel *m, const uint32_t *t0, bool journal,
                                 struct ctxws **ret)
{
    struct ctxws *w = calloc(1, sizeof(*w));
    size_t n = (size_t)1 << m->bits;

    if (!w)
        return CANTOR_ERR_NOMEM;
    w->t = malloc(n * sizeof(uint32_t));
    if (!w->t || cantor_dirty_init(&w->dirty, m->n_buckets) ||
        (journal && cantor_journal_init(&w->j, m->n_buckets, CM_BUCKET * sizeof(uint32_t)))) {
        ctxws_free(w);
        return CANTOR_ERR_NOMEM;
    }
    if (t0)
        memcpy(w->t, t0, n * sizeof(uint32_t));
    else
        for (size_t i = 0; i < n; i++)
            w->t[i] = (uint32_t)1 << 31; /* p = 0.5, count 0 */
    *ret = w;
    return CANTOR_OK;
}

static inline uint32_t cm_hash(uint32_t h, uint32_t node, unsigned i)
{
    h ^= node * 0x2f0b4a73u + i * 0x6d2b79f5u;
    h *= 0x9e3779b1u;
    h ^= h >> 15;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

/* First cell of the 16-cell bucket of context hash h, i-th context, at nibble-start node `node`. */
static inline uint32_t ctx_bucket(const struct ctxmodel *m, uint32_t h, uint32_t node, unsigned i)
{
    return (cm_hash(h, node, i) >> (32 - m->bits)) & ~(uint32_t)(CM_BUCKET - 1);
}

static unsigned ctxmodel_predict(struct cantor_predictor *pp, const struct cantor_pctx *c, int16_t *st)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;
    const uint32_t *t = m->ws->t;
    unsigned n = c->n_ctx, depth = 31u - (unsigned)__builtin_clz(c->node | 1u), j = depth & 3;
    uint32_t local = (1u << j) | (c->node & ((1u << j) - 1));

    if (m->n_use && n > m->n_use)
        n = m->n_use;
    for (unsigned i = 0; i < n; i++) {
        if (j == 0)
            m->bucket[i] = ctx_bucket(m, c->ctx[i], c->node, i);
        m->idx[i] = m->bucket[i] + local;
        st[i] = (int16_t)stretch_fast(cell_p12(t[m->idx[i]]));
    }
    if (j == 3)
        for (unsigned i = 0; i < n; i++) {
            /* the next decision starts a nibble: fetch both buckets it may need while this one is coded */
            __builtin_prefetch(t + ctx_bucket(m, c->ctx[i], c->node * 2, i));
            __builtin_prefetch(t + ctx_bucket(m, c->ctx[i], c->node * 2 + 1, i));
        }
    m->n_idx = n;
    return n;
}

static void ctxmodel_update(struct cantor_predictor *pp, const struct cantor_pctx *c, int bit)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;
    struct ctxws *w = m->ws;

    (void)c;
    for (unsigned i = 0; i < m->n_idx; i++) {
        uint32_t b = m->idx[i] / CM_BUCKET;
        cantor_journal_touch(&w->j, w->t, b);
        w->t[m->idx[i]] = cell_update(w->t[m->idx[i]], bit, m->limit);
        cantor_dirty_touch(&w->dirty, b);
    }
}

static void ctxmodel_reset(struct cantor_predictor *pp)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;

    cantor_dirty_restore(&m->ws->dirty, m->ws->t, m->t0, CM_BUCKET * sizeof(uint32_t));
}

static enum cantor_err ctxmodel_snapshot(struct cantor_predictor *pp)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;

    memcpy(m->t0, m->ws->t, sizeof(uint32_t) << m->bits);
    cantor_dirty_clear(&m->ws->dirty);
    return CANTOR_OK;
}

static void ctxmodel_version(struct cantor_predictor *pp, uint8_t out[32])
{
    struct ctxmodel *m = (struct ctxmodel *)pp;
    struct cantor_keccak k;
    uint8_t hdr[16] = "ctxmodel/2";

    hdr[12] = (uint8_t)m->bits;
    hdr[13] = (uint8_t)m->limit;
    hdr[14] = (uint8_t)(m->limit >> 8);
    hdr[15] = (uint8_t)m->n_use;
    cantor_keccak256_init(&k);
    cantor_keccak_update(&k, hdr, sizeof(hdr));
    /* Cells are hashed as little-endian bytes so the hash does not depend on the host's order. */
    for (size_t i = 0; i < ((size_t)1 << m->bits); i++) {
        uint8_t b[4] = {(uint8_t)m->t0[i], (uint8_t)(m->t0[i] >> 8), (uint8_t)(m->t0[i] >> 16),
                        (uint8_t)(m->t0[i] >> 24)};
        cantor_keccak_update(&k, b, 4);
    }
    cantor_keccak_final(&k, out, 32);
}

static void ctxmodel_free(struct cantor_predictor *pp)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;

    ctxws_free(m->ws);
    free(m->t0);
    free(m);
}

static enum cantor_err ctxmodel_state_new(struct cantor_predictor *pp, void **ret)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;
    struct ctxws *w = NULL;
    enum cantor_err err = ctxws_new(m, m->t0, true, &w);

    if (!err)
        *ret = w;
    return err;
}

static void ctxmodel_state_swap(struct cantor_predictor *pp, void **st)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;
    struct ctxws *w = m->ws;

    m->ws = *st;
    *st = w;
}

static bool ctxmodel_journal(struct cantor_predictor *pp, int op)
{
    struct ctxmodel *m = (struct ctxmodel *)pp;

    return cantor_journal_op(&m->ws->j, m->ws->t, op);
}

static const struct cantor_predictor_ops ctxmodel_ops = {
    .name = "ctxmodel",
    .predict = ctxmodel_predict,
    .update = ctxmodel_update,
    .reset = ctxmodel_reset,
    .snapshot = ctxmodel_snapshot,
    .version_hash = ctxmodel_version,
    .free = ctxmodel_free,
    .state_new = ctxmodel_state_new,
    .state_swap = ctxmodel_state_swap,
    .state_free = ctxws_free,
    .journal = ctxmodel_journal,
};

enum cantor_err cantor_predictor_ctxmodel_new(unsigned table_bits, unsigned limit, unsigned n_use,
                                              struct cantor_predictor **ret_pred)
{
    struct ctxmodel *m;
    size_t n;

    if (table_bits < 10 || table_bits > 24 || limit < 1 || limit > 1023 || n_use > CANTOR_PCTX_MAX)
        return CANTOR_ERR_INVALID;
    if (!__atomic_load_n(&rate_ready, __ATOMIC_ACQUIRE))
        rate_init();
    if (!__atomic_load_n(&stretch_ready, __ATOMIC_ACQUIRE))
        stretch_init();
    m = calloc(1, sizeof(*m));
    if (!m)
        return CANTOR_ERR_NOMEM;
    n = (size_t)1 << table_bits;
    m->bits = table_bits;
    m->n_buckets = n / CM_BUCKET;
    m->t0 = malloc(n * sizeof(uint32_t));
    if (!m->t0 || ctxws_new(m, NULL, false, &m->ws)) {
        ctxmodel_free(&m->base);
        return CANTOR_ERR_NOMEM;
    }
    memcpy(m->t0, m->ws->t, n * sizeof(uint32_t));
    m->base.ops = &ctxmodel_ops;
    m->limit = limit;
    m->n_use = n_use;
    *ret_pred = &m->base;
    return CANTOR_OK;
}

/* ---------------- order 0 per (field, node) ---------------- */
#define ORDER0_BITS 16
#define ORDER0_ROW  16 /* journal row: 16 cells */

struct order0ws {
    uint32_t t[1 << ORDER0_BITS];
    struct cantor_dirty dirty; /* rows written since reset */
    struct cantor_journal j;   /* only initialised for carried states */
};

struct order0 {
    struct cantor_predictor base;
    struct order0ws *ws;
    uint32_t t0[1 << ORDER0_BITS];
    uint32_t idx;
};

static unsigned order0_predict(struct cantor_predictor *pp, const struct cantor_pctx *c, int16_t *st)
{
    struct order0 *m = (struct order0 *)pp;

    m->idx = ((c->field * 0x9e3779b1u) ^ (c->node * 0x85ebca6bu)) >> (32 - ORDER0_BITS);
    st[0] = (int16_t)stretch_fast(cell_p12(m->ws->t[m->idx]));
    return 1;
}

static void order0_update(struct cantor_predictor *pp, const struct cantor_pctx *c, int bit)
{
    struct order0 *m = (struct order0 *)pp;
    struct order0ws *w = m->ws;

    (void)c;
    cantor_journal_touch(&w->j, w->t, m->idx / ORDER0_ROW);
    cantor_dirty_touch(&w->dirty, m->idx / ORDER0_ROW);
    w->t[m->idx] = cell_update(w->t[m->idx], bit, 60);
}

static void order0_reset(struct cantor_predictor *pp)
{
    struct order0 *m = (struct order0 *)pp;

    cantor_dirty_restore(&m->ws->dirty, m->ws->t, m->t0, ORDER0_ROW * sizeof(uint32_t));
}

static enum cantor_err order0_snapshot(struct cantor_predictor *pp)
{
    struct order0 *m = (struct order0 *)pp;

    memcpy(m->t0, m->ws->t, sizeof(m->t0));
    cantor_dirty_clear(&m->ws->dirty);
    return CANTOR_OK;
}

static void order0_version(struct cantor_predictor *pp, uint8_t out[32])
{
    struct order0 *m = (struct order0 *)pp;
    struct cantor_keccak k;

    cantor_keccak256_init(&k);
    cantor_keccak_update(&k, "order0/1", 8);
    for (size_t i = 0; i < (1u << ORDER0_BITS); i++) {
        uint8_t b[4] = {(uint8_t)m->t0[i], (uint8_t)(m->t0[i] >> 8), (uint8_t)(m->t0[i] >> 16),
                        (uint8_t)(m->t0[i] >> 24)};
        cantor_keccak_update(&k, b, 4);
    }
    cantor_keccak_final(&k, out, 32);
}

static void order0ws_free(void *p)
{
    struct order0ws *w = p;

    if (!w)
        return;
    cantor_dirty_release(&w->dirty);
    cantor_journal_release(&w->j);
    free(w);
}

static void order0_free(struct cantor_predictor *pp)
{
    struct order0 *m = (struct order0 *)pp;

    order0ws_free(m->ws);
    free(m);
}

static enum cantor_err order0_state_new(struct cantor_predictor *pp, void **ret)
{
    struct order0 *m = (struct order0 *)pp;
    struct order0ws *w = calloc(1, sizeof(*w));

    if (!w || cantor_dirty_init(&w->dirty, (1u << ORDER0_BITS) / ORDER0_ROW) ||
        cantor_journal_init(&w->j, (1u << ORDER0_BITS) / ORDER0_ROW, ORDER0_ROW * sizeof(uint32_t))) {
        order0ws_free(w);
        return CANTOR_ERR_NOMEM;
    }
    memcpy(w->t, m->t0, sizeof(m->t0));
    *ret = w;
    return CANTOR_OK;
}

static void order0_state_swap(struct cantor_predictor *pp, void **st)
{
    struct order0 *m = (struct order0 *)pp;
    struct order0ws *w = m->ws;

    m->ws = *st;
    *st = w;
}

static bool order0_journal(struct cantor_predictor *pp, int op)
{
    struct order0 *m = (struct order0 *)pp;

    return cantor_journal_op(&m->ws->j, m->ws->t, op);
}

static const struct cantor_predictor_ops order0_ops = {
    .name = "order0",
    .predict = order0_predict,
    .update = order0_update,
    .reset = order0_reset,
    .snapshot = order0_snapshot,
    .version_hash = order0_version,
    .free = order0_free,
    .state_new = order0_state_new,
    .state_swap = order0_state_swap,
    .state_free = order0ws_free,
    .journal = order0_journal,
};

enum cantor_err cantor_predictor_order0_new(struct cantor_predictor **ret_pred)
{
    struct order0 *m;

    if (!__atomic_load_n(&rate_ready, __ATOMIC_ACQUIRE))
        rate_init();
    if (!__atomic_load_n(&stretch_ready, __ATOMIC_ACQUIRE))
        stretch_init();
    m = calloc(1, sizeof(*m));
    if (!m)
        return CANTOR_ERR_NOMEM;
    m->ws = calloc(1, sizeof(*m->ws));
    if (!m->ws || cantor_dirty_init(&m->ws->dirty, (1u << ORDER0_BITS) / ORDER0_ROW)) {
        order0ws_free(m->ws);
        free(m);
        return CANTOR_ERR_NOMEM;
    }
    for (size_t i = 0; i < (1u << ORDER0_BITS); i++)
        m->t0[i] = (uint32_t)1 << 31;
    memcpy(m->ws->t, m->t0, sizeof(m->t0));
    m->base.ops = &order0_ops;
    *ret_pred = &m->base;
    return CANTOR_OK;
}
