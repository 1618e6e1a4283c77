/*
 * predictor.h - the one interface through which anything that predicts bits plugs into the codec:
 * the adaptive context models (predictor.c), and later the transformer and mined patterns (ml/).
 *
 * The structural coder (codec_struct.c) turns a delta into binary decisions. Before each decision it
 * fills a struct cantor_pctx (field, tree node, structural context hashes); every predictor then adds
 * one or more inputs in the logistic ("stretch") domain to the mixer (codec_cm.c), and after the bit
 * is known every predictor gets update(). Predictors must be bit-exact: integer arithmetic only, no
 * data-dependent reduction order, same results on every machine, so encoder and decoder agree.
 *
 * Ownership: a predictor owns its state; ops->free releases it. The codec owns the predictors it is
 * given (cantor_cm_new) and frees them with the model.
 */
#ifndef CANTOR_PREDICTOR_H
#define CANTOR_PREDICTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CANTOR_PCTX_MAX    8 /* structural context hashes per decision */
#define CANTOR_PRED_MAX_IN 8 /* mixer inputs one predictor may add */

/* What the structural coder knows when it codes one binary decision. */
struct cantor_pctx {
    uint32_t field;                /* structural field id (codec_struct.c), selects mixer weights */
    uint32_t node;                 /* position in the field's binary tree: 1, then (node << 1) | bit */
    uint32_t ctx[CANTOR_PCTX_MAX]; /* context hashes; 0 means unused */
    unsigned n_ctx;
};

struct cantor_predictor;

struct cantor_predictor_ops {
    const char *name;
    /* Add inputs (stretch domain, -2047..2047, i.e. ln(p1/p0) * 256) to st; return how many. */
    unsigned (*predict)(struct cantor_predictor *p, const struct cantor_pctx *c, int16_t *st);
    /* Learn the bit just coded; called after every predict() with the same context. */
    void (*update)(struct cantor_predictor *p, const struct cantor_pctx *c, int bit);
    /* Back to the initial (snapshot) state; used before each cold chunk. */
    void (*reset)(struct cantor_predictor *p);
    /* Make the current state the snapshot that reset() returns to (after training). */
    enum cantor_err (*snapshot)(struct cantor_predictor *p);
    /* keccak256 of everything that influences predictions (parameters + snapshot content). */
    void (*version_hash)(struct cantor_predictor *p, uint8_t out[32]);
    void (*free)(struct cantor_predictor *p);
    /*
     * Carried state (a warm stream keeps adapting across chunks; optional, all NULL: not supported).
     * The working state (what predict/update/reset act on) is a separate object: state_new makes one
     * equal to the snapshot, state_swap exchanges it with the working state (O(1)), and journal()
     * records the working state before the first change of each row so a losing attempt can be undone:
     * op BEGIN, COMMIT (keep), ROLLBACK (undo); false if the record was incomplete (out of memory).
     */
    enum cantor_err (*state_new)(struct cantor_predictor *p, void **ret_state);
    void (*state_swap)(struct cantor_predictor *p, void **state);
    void (*state_free)(void *state);
    bool (*journal)(struct cantor_predictor *p, int op);
};

enum { CANTOR_JOURNAL_BEGIN = 0, CANTOR_JOURNAL_COMMIT = 1, CANTOR_JOURNAL_ROLLBACK = 2 };

/*
 * Undo journal over a table of fixed-size rows: the first change of a row after begin saves the row;
 * rollback writes the saved rows back. Memory grows with the rows touched (at most the table).
 */
struct cantor_journal {
    uint8_t *mark; /* per row: saved since begin; NULL: journal not initialised (begin fails) */
    size_t rows, row_bytes;
    uint8_t *log; /* records: 4-byte row index, then the row as it was */
    size_t len, cap;
    bool on, failed;
};

enum cantor_err cantor_journal_init(struct cantor_journal *j, size_t rows, size_t row_bytes);
void cantor_journal_release(struct cantor_journal *j);
void cantor_journal_save(struct cantor_journal *j, const void *base, size_t row);
/* Call before changing row `row` of the table at base. */
static inline void cantor_journal_touch(struct cantor_journal *j, const void *base, size_t row)
{
    if (j->on && !j->mark[row])
        cantor_journal_save(j, base, row);
}
/* op as for cantor_predictor_ops.journal; base is the table. */
bool cantor_journal_op(struct cantor_journal *j, void *base, int op);

/*
 * Rows of a working table changed since it last equalled its snapshot, so that going back to the
 * snapshot (before every cold or per-block warm chunk) copies those rows, not the whole table: a
 * small block touches a few percent of the ~2 MB of tables, and the full copy was up to a fifth of
 * its coding time.
 */
struct cantor_dirty {
    uint8_t *mark;  /* per row: changed; NULL: not initialised (touch is a no-op) */
    uint32_t *list; /* the changed rows */
    size_t n, rows;
};

enum cantor_err cantor_dirty_init(struct cantor_dirty *d, size_t rows);
void cantor_dirty_release(struct cantor_dirty *d);
static inline void cantor_dirty_touch(struct cantor_dirty *d, size_t row)
{
    if (d->mark && !d->mark[row]) {
        d->mark[row] = 1;
        d->list[d->n++] = (uint32_t)row;
    }
}
/* Copy the changed rows (the whole table when over a quarter changed) from snap to base; all clean after. */
void cantor_dirty_restore(struct cantor_dirty *d, void *base, const void *snap, size_t row_bytes);
/* The table now equals its snapshot (snapshot taken, or copied whole). */
void cantor_dirty_clear(struct cantor_dirty *d);

struct cantor_predictor {
    const struct cantor_predictor_ops *ops;
};

/*
 * Adaptive context model: per context hash a probability with a count-based learning rate, in a
 * hashed table of 2^table_bits 32-bit cells. `limit` caps the count (small = fast adaptation).
 * It uses the first n_use context hashes of each decision (all if 0).
 */
enum cantor_err cantor_predictor_ctxmodel_new(unsigned table_bits, unsigned limit, unsigned n_use,
                                              struct cantor_predictor **ret_pred);

/* Order-0 model per (field, node): a direct table, the cheapest and fastest-learning input. */
enum cantor_err cantor_predictor_order0_new(struct cantor_predictor **ret_pred);

void cantor_predictor_free(struct cantor_predictor *p);

/* Shared fixed-point logistic helpers (integer only, identical on every machine). */
int cantor_squash(int d);  /* -2047..2047 -> 1..4095 */
int cantor_stretch(int p); /* 0..4095 -> -2047..2047 */
/* cantor_squash for d already in -2047..2047, by table; needs a predictor to have been created. */
extern int16_t cantor_squash_tab_[4095];
static inline int cantor_squash_fast(int d)
{
    return cantor_squash_tab_[d + 2047];
}

#endif
