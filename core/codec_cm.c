/*
 * codec_cm.c - context mixing: the inputs of every predictor (stretch domain) are combined by a
 * gated linear mixer (weight set chosen by the structural field), squashed to a probability and
 * refined by an APM (adaptive probability map) keyed by field. Integer arithmetic only: weights are
 * 16.16 fixed point, sums are 64-bit, so encoder and decoder compute identical probabilities.
 * The engine owns its predictors and its weight/APM tables plus their snapshot copies; a warm
 * stream's carried state (struct cantor_cm_state, owned by the stream's context) is swapped in and
 * out around a chunk and keeps an undo journal so a losing attempt leaves no trace.
 */
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "keccak.h"

#define W_INIT 22000 /* ~0.34 in 16.16 */
#define MIX_LR 12

void cantor_cm_free(struct cantor_cm *cm)
{
    if (!cm)
        return;
    for (unsigned i = 0; i < cm->n_pred; i++)
        cantor_predictor_free(cm->pred[i]);
    free(cm->mix.w);
    free(cm->w0);
    free(cm->mix.apm);
    free(cm->apm0);
    cantor_dirty_release(&cm->mix.dw);
    cantor_dirty_release(&cm->mix.da);
    free(cm);
}

enum cantor_err cantor_cm_new(struct cantor_predictor **preds, unsigned n, struct cantor_cm **ret_cm)
{
    struct cantor_cm *cm = NULL;
    enum cantor_err err = CANTOR_OK;
    size_t nw = (size_t)CANTOR_CM_WSETS * CANTOR_CM_MAX_INPUTS, na = (size_t)CANTOR_CM_APM * 33;

    if (n == 0 || n > CANTOR_CM_MAX_PRED) {
        for (unsigned i = 0; i < n; i++)
            cantor_predictor_free(preds[i]);
        return CANTOR_ERR_INVALID;
    }
    cm = calloc(1, sizeof(*cm));
    if (!cm) {
        for (unsigned i = 0; i < n; i++)
            cantor_predictor_free(preds[i]);
        return CANTOR_ERR_NOMEM;
    }
    for (unsigned i = 0; i < n; i++)
        cm->pred[i] = preds[i];
    cm->n_pred = n;
    cm->mix.w = malloc(nw * sizeof(int32_t));
    cm->w0 = malloc(nw * sizeof(int32_t));
    cm->mix.apm = malloc(na * sizeof(uint16_t));
    cm->apm0 = malloc(na * sizeof(uint16_t));
    if (!cm->mix.w || !cm->w0 || !cm->mix.apm || !cm->apm0 ||
        cantor_dirty_init(&cm->mix.dw, CANTOR_CM_WSETS) || cantor_dirty_init(&cm->mix.da, CANTOR_CM_APM)) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nw; i++)
        cm->w0[i] = W_INIT;
    for (size_t i = 0; i < CANTOR_CM_APM; i++)
        for (int j = 0; j < 33; j++)
            cm->apm0[i * 33 + j] = (uint16_t)(cantor_squash((j - 16) * 128) * 16);
    memcpy(cm->mix.w, cm->w0, nw * sizeof(int32_t));
    memcpy(cm->mix.apm, cm->apm0, na * sizeof(uint16_t));
    cantor_cm_reset(cm);
    *ret_cm = cm;
    cm = NULL;
out:
    cantor_cm_free(cm);
    return err;
}

void cantor_cm_reset(struct cantor_cm *cm)
{
    for (unsigned i = 0; i < cm->n_pred; i++)
        cm->pred[i]->ops->reset(cm->pred[i]);
    cantor_dirty_restore(&cm->mix.dw, cm->mix.w, cm->w0, CANTOR_CM_MAX_INPUTS * sizeof(int32_t));
    cantor_dirty_restore(&cm->mix.da, cm->mix.apm, cm->apm0, 33 * sizeof(uint16_t));
}

enum cantor_err cantor_cm_snapshot(struct cantor_cm *cm)
{
    for (unsigned i = 0; i < cm->n_pred; i++) {
        enum cantor_err err = cm->pred[i]->ops->snapshot(cm->pred[i]);
        if (err)
            return err;
    }
    memcpy(cm->w0, cm->mix.w, (size_t)CANTOR_CM_WSETS * CANTOR_CM_MAX_INPUTS * sizeof(int32_t));
    memcpy(cm->apm0, cm->mix.apm, (size_t)CANTOR_CM_APM * 33 * sizeof(uint16_t));
    cantor_dirty_clear(&cm->mix.dw);
    cantor_dirty_clear(&cm->mix.da);
    return CANTOR_OK;
}

void cantor_cm_state_free(struct cantor_cm_state *st)
{
    if (!st)
        return;
    for (unsigned i = 0; i < st->n_pred; i++)
        if (st->ps[i])
            st->ops[i]->state_free(st->ps[i]);
    free(st->mix.w);
    free(st->mix.apm);
    cantor_dirty_release(&st->mix.dw);
    cantor_dirty_release(&st->mix.da);
    cantor_journal_release(&st->mix.jw);
    cantor_journal_release(&st->mix.ja);
    free(st);
}

enum cantor_err cantor_cm_state_new(struct cantor_cm *cm, struct cantor_cm_state **ret_st)
{
    struct cantor_cm_state *st = calloc(1, sizeof(*st));
    size_t nw = (size_t)CANTOR_CM_WSETS * CANTOR_CM_MAX_INPUTS, na = (size_t)CANTOR_CM_APM * 33;
    enum cantor_err err = CANTOR_OK;

    if (!st)
        return CANTOR_ERR_NOMEM;
    for (unsigned i = 0; i < cm->n_pred; i++) {
        const struct cantor_predictor_ops *ops = cm->pred[i]->ops;
        if (!ops->state_new || !ops->state_swap || !ops->state_free || !ops->journal) {
            err = CANTOR_ERR_UNSUPPORTED;
            goto out;
        }
        st->ops[i] = ops;
        err = ops->state_new(cm->pred[i], &st->ps[i]);
        st->n_pred = i + 1;
        if (err)
            goto out;
    }
    st->mix.w = malloc(nw * sizeof(int32_t));
    st->mix.apm = malloc(na * sizeof(uint16_t));
    if (!st->mix.w || !st->mix.apm) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    err = cantor_dirty_init(&st->mix.dw, CANTOR_CM_WSETS);
    if (!err)
        err = cantor_dirty_init(&st->mix.da, CANTOR_CM_APM);
    if (!err)
        err = cantor_journal_init(&st->mix.jw, CANTOR_CM_WSETS, CANTOR_CM_MAX_INPUTS * sizeof(int32_t));
    if (!err)
        err = cantor_journal_init(&st->mix.ja, CANTOR_CM_APM, 33 * sizeof(uint16_t));
    if (err)
        goto out;
    memcpy(st->mix.w, cm->w0, nw * sizeof(int32_t));
    memcpy(st->mix.apm, cm->apm0, na * sizeof(uint16_t));
    *ret_st = st;
    st = NULL;
out:
    cantor_cm_state_free(st);
    return err;
}

void cantor_cm_swap(struct cantor_cm *cm, struct cantor_cm_state *st)
{
    struct cantor_cm_mix t = cm->mix;

    for (unsigned i = 0; i < cm->n_pred && i < st->n_pred; i++)
        cm->pred[i]->ops->state_swap(cm->pred[i], &st->ps[i]);
    cm->mix = st->mix;
    st->mix = t;
}

bool cantor_cm_journal(struct cantor_cm *cm, int op)
{
    bool ok = cantor_journal_op(&cm->mix.jw, cm->mix.w, op);

    ok = cantor_journal_op(&cm->mix.ja, cm->mix.apm, op) && ok;
    for (unsigned i = 0; i < cm->n_pred; i++)
        ok = cm->pred[i]->ops->journal(cm->pred[i], op) && ok;
    return ok;
}

void cantor_cm_version_hash(struct cantor_cm *cm, uint8_t out[32])
{
    struct cantor_keccak k;
    uint8_t h[32];

    cantor_keccak256_init(&k);
    cantor_keccak_update(&k, "cantor-cm/1", 11);
    for (unsigned i = 0; i < cm->n_pred; i++) {
        cm->pred[i]->ops->version_hash(cm->pred[i], h);
        cantor_keccak_update(&k, h, 32);
    }
    for (size_t i = 0; i < (size_t)CANTOR_CM_WSETS * CANTOR_CM_MAX_INPUTS; i++) {
        uint32_t v = (uint32_t)cm->w0[i];
        uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        cantor_keccak_update(&k, b, 4);
    }
    for (size_t i = 0; i < (size_t)CANTOR_CM_APM * 33; i++) {
        uint8_t b[2] = {(uint8_t)cm->apm0[i], (uint8_t)(cm->apm0[i] >> 8)};
        cantor_keccak_update(&k, b, 2);
    }
    cantor_keccak_final(&k, out, 32);
}

/* First cell of the APM context of (field, tree node); nodes past 255 share one. */
static inline unsigned apm_row(uint32_t field, uint32_t node)
{
    return ((field * 0x9e3779b1u ^ (node < 256 ? node : 256) * 0x85ebca6bu) >> 20) % CANTOR_CM_APM * 33;
}

int cantor_cm_predict(struct cantor_cm *cm, const struct cantor_pctx *c)
{
    const int32_t *w;
    int64_t dot = 0;
    unsigned n = 0;
    int st, lo, wt, p;

    for (unsigned i = 0; i < cm->n_pred; i++) {
        unsigned k = 0;
        if (n + CANTOR_PRED_MAX_IN <= CANTOR_CM_MAX_INPUTS - 1)
            k = cm->pred[i]->ops->predict(cm->pred[i], c, cm->st + n);
        if (k > CANTOR_PRED_MAX_IN)
            k = CANTOR_PRED_MAX_IN; /* a misbehaving predictor cannot overrun the mixer */
        cm->n_in_pred[i] = k;
        n += k;
    }
    cm->st[n++] = 256; /* bias */
    cm->n_in = n;
    cm->wset = (c->field * 8 + (c->node < 8 ? c->node : 7 + (c->node > 255))) % CANTOR_CM_WSETS;
    w = cm->mix.w + (size_t)cm->wset * CANTOR_CM_MAX_INPUTS;
    for (unsigned i = 0; i < n; i++)
        dot += (int64_t)w[i] * cm->st[i];
    dot >>= 16;
    if (dot > 2047)
        dot = 2047;
    if (dot < -2047)
        dot = -2047;
    cm->p_mix = cantor_squash_fast((int)dot);
    /* APM: interpolate between the two buckets around stretch(p_mix), context = field/node. */
    st = (int)dot + 2048;
    lo = st >> 7;
    wt = st & 127;
    cm->apm_idx = apm_row(c->field, c->node) + (unsigned)lo;
    p = (cm->mix.apm[cm->apm_idx] * (128 - wt) + cm->mix.apm[cm->apm_idx + 1] * wt) >> 11;
    if (wt >= 64)
        cm->apm_idx++; /* update the nearer bucket */
    for (unsigned b = 0; b < 2 && c->node < 128; b++) {
        /* the symbol's next decision uses one of these two APM rows: fetch them while this one is coded */
        const uint16_t *row = cm->mix.apm + apm_row(c->field, c->node * 2 + b);
        __builtin_prefetch(row);
        __builtin_prefetch(row + 32);
    }
    p = (cm->p_mix + 3 * p) >> 2;
    if (p < 1)
        p = 1;
    if (p > 4095)
        p = 4095;
    cm->p_final = p;
    return p;
}

void cantor_cm_update(struct cantor_cm *cm, const struct cantor_pctx *c, int bit)
{
    int32_t *w = cm->mix.w + (size_t)cm->wset * CANTOR_CM_MAX_INPUTS;
    uint16_t *apm = cm->mix.apm;
    int err = ((bit << 12) - cm->p_mix) * MIX_LR;
    int target = bit ? 65535 : 0;

    cantor_journal_touch(&cm->mix.jw, cm->mix.w, cm->wset);
    cantor_journal_touch(&cm->mix.ja, apm, cm->apm_idx / 33);
    cantor_dirty_touch(&cm->mix.dw, cm->wset);
    cantor_dirty_touch(&cm->mix.da, cm->apm_idx / 33);
    for (unsigned i = 0; i < cm->n_in; i++)
        w[i] += (cm->st[i] * err) >> 16;
    apm[cm->apm_idx] = (uint16_t)(apm[cm->apm_idx] + ((target - apm[cm->apm_idx]) >> 6));
    for (unsigned i = 0; i < cm->n_pred; i++)
        if (cm->n_in_pred[i])
            cm->pred[i]->ops->update(cm->pred[i], c, bit);
}
