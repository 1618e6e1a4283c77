/*
 * commit.c - per-block roots, MMR, checkpoints and proof builders (see commit.h).
 *
 * prepare() computes everything against an overlay node store: new state tree nodes and MMR
 * positions are held in memory (state tree nodes also in a cantor_smt_mem for lookups) and only
 * reach RocksDB through write(), inside the block's batch, so a refused block leaves nothing behind.
 * Rollback deletes the block's roots record, its checkpoint and its MMR positions; state tree nodes
 * are content-addressed and shared between versions, so they stay (unreferenced ones are garbage we
 * accept: a reorg leaves at most depth x changes nodes behind).
 *
 * Observed values (meta->observed: proven with eth_getProof, unchanged by the block) enter the tree
 * at the block that observed them, before its delta, and are written to the block's observation
 * record so backfill recomputes the same root from the store alone. The store keeps observations
 * across a rollback and never re-observes them, so a rollback moves the block's record into the
 * pending record, which the next committed block includes (and its batch clears). Stores from a
 * cantord without observation records get their observed keys pending once (migrate_observed()).
 * Memory: prepared block state is owned by the hook until committed()/discard() frees it.
 */
#include "commit.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "core/merkle.h"
#include "core/mmr.h"
#include "core/smt.h"
#include "core/u256.h"

#define MMR_PENDING_MAX (CANTOR_MMR_MAX_HEIGHT + 2)

struct pending {
    struct cantor_commit *c;
    uint64_t number;
    struct cantor_smt_mem *cache; /* nodes created by this block, for lookups */
    uint8_t (*nodes)[CANTOR_HASH_LEN + CANTOR_SMT_NODE_LEN];
    size_t n_nodes, cap_nodes;
    uint64_t mmr_pos[MMR_PENDING_MAX];
    uint8_t mmr_hash[MMR_PENDING_MAX][CANTOR_HASH_LEN];
    unsigned n_mmr;
    struct cantor_smt_store smt;
    struct cantor_mmr_store mmr;
    struct cantor_roots_rec rec;
    struct cantor_delta *obs; /* observations this block puts into the tree (owned; NULL = none) */
    bool clear_pending;       /* the batch deletes the pending observations record */
    bool has_cp;
    struct cantor_checkpoint cp;
    struct cantor_checkpoint_sigs sigs;
    struct timespec t0;
    double work_ms; /* prepare + batch writes, not the time other hooks and the store take */
};

struct cantor_commit {
    struct cantor_store *store;
    struct cantor_nodes nodes;
    struct cantor_checkpoint_keys *own_keys;
    const struct cantor_checkpoint_keys *keys;
    uint64_t interval;
    uint64_t (*chain_id_fn)(void *arg);
    void *chain_id_arg;
    struct cantor_block_hook hook;
    struct cantor_commit_view view;
    pthread_mutex_t lock;
    /* guarded by lock */
    uint64_t chain_id;
    bool have_head;
    uint64_t head;
    struct cantor_roots_rec head_rec;
    struct cantor_commit_stats stats;
    /* follower thread only: the roots of the block below a rollback */
    bool rb_have_prev;
    struct cantor_roots_rec rb_prev;
};

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The chain id for a checkpoint: fixed, or asked from the daemon until it is known. */
static uint64_t chain_id(struct cantor_commit *c)
{
    uint64_t id;

    pthread_mutex_lock(&c->lock);
    id = c->chain_id;
    pthread_mutex_unlock(&c->lock);
    if (id || !c->chain_id_fn)
        return id;
    id = c->chain_id_fn(c->chain_id_arg);
    pthread_mutex_lock(&c->lock);
    c->chain_id = id;
    pthread_mutex_unlock(&c->lock);
    return id;
}

/* ---- overlay node stores ---- */

static enum cantor_err ov_smt_get(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                                  uint8_t ret_node[CANTOR_SMT_NODE_LEN])
{
    struct pending *p = ctx;
    const struct cantor_smt_store *m = cantor_smt_mem_store(p->cache);
    enum cantor_err err = m->get(m->ctx, hash, ret_node);

    if (err != CANTOR_ERR_NOT_FOUND)
        return err;
    return p->c->nodes.smt.get(p->c->nodes.smt.ctx, hash, ret_node);
}

static enum cantor_err ov_smt_put(void *ctx, const uint8_t hash[CANTOR_HASH_LEN],
                                  const uint8_t node[CANTOR_SMT_NODE_LEN])
{
    struct pending *p = ctx;
    const struct cantor_smt_store *m = cantor_smt_mem_store(p->cache);
    uint8_t tmp[CANTOR_SMT_NODE_LEN];
    enum cantor_err err;

    if (m->get(m->ctx, hash, tmp) == CANTOR_OK)
        return CANTOR_OK;
    if (p->n_nodes == p->cap_nodes) {
        size_t ncap = p->cap_nodes ? 2 * p->cap_nodes : 256;
        void *nn;

        if (ncap > (size_t)CANTOR_SMT_MAX_UPDATES * 8)
            return CANTOR_ERR_TOO_LARGE;
        nn = realloc(p->nodes, ncap * sizeof(*p->nodes));
        if (!nn)
            return CANTOR_ERR_NOMEM;
        p->nodes = nn;
        p->cap_nodes = ncap;
    }
    err = m->put(m->ctx, hash, node);
    if (err)
        return err;
    memcpy(p->nodes[p->n_nodes], hash, CANTOR_HASH_LEN);
    memcpy(p->nodes[p->n_nodes] + CANTOR_HASH_LEN, node, CANTOR_SMT_NODE_LEN);
    p->n_nodes++;
    return CANTOR_OK;
}

static enum cantor_err ov_mmr_get(void *ctx, uint64_t pos, uint8_t ret_hash[CANTOR_HASH_LEN])
{
    struct pending *p = ctx;

    for (unsigned i = p->n_mmr; i-- > 0;) {
        if (p->mmr_pos[i] == pos) {
            memcpy(ret_hash, p->mmr_hash[i], CANTOR_HASH_LEN);
            return CANTOR_OK;
        }
    }
    return p->c->nodes.mmr.get(p->c->nodes.mmr.ctx, pos, ret_hash);
}

static enum cantor_err ov_mmr_put(void *ctx, uint64_t pos, const uint8_t hash[CANTOR_HASH_LEN])
{
    struct pending *p = ctx;

    if (p->n_mmr == MMR_PENDING_MAX)
        return CANTOR_ERR_OVERFLOW;
    p->mmr_pos[p->n_mmr] = pos;
    memcpy(p->mmr_hash[p->n_mmr], hash, CANTOR_HASH_LEN);
    p->n_mmr++;
    return CANTOR_OK;
}

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    cantor_smt_mem_free(p->cache);
    cantor_delta_free(p->obs);
    free(p->nodes);
    free(p);
}

static enum cantor_err pending_new(struct cantor_commit *c, uint64_t number, struct pending **ret)
{
    struct pending *p = calloc(1, sizeof(*p));
    enum cantor_err err;

    if (!p)
        return CANTOR_ERR_NOMEM;
    p->c = c;
    p->number = number;
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
    err = cantor_smt_mem_new(&p->cache);
    if (err) {
        pending_free(p);
        return err;
    }
    p->smt = (struct cantor_smt_store){p, ov_smt_get, ov_smt_put};
    p->mmr = (struct cantor_mmr_store){p, ov_mmr_get, ov_mmr_put};
    *ret = p;
    return CANTOR_OK;
}

/*
 * Roots of `number` on top of prev (NULL: the first block, empty tree and MMR): the observations
 * (owned by the result, also on error; may be NULL) and then the delta enter the state tree, so a key
 * both observed and changed ends at its delta value.
 */
static enum cantor_err compute(struct cantor_commit *c, uint64_t number, const uint8_t block_hash[32],
                               const struct cantor_delta *d, struct cantor_delta *obs,
                               const struct cantor_roots_rec *prev, struct pending **ret)
{
    static const uint8_t zero[CANTOR_HASH_LEN];
    struct pending *p = NULL;
    uint8_t leaf[CANTOR_HASH_LEN], base[CANTOR_HASH_LEN], mid[CANTOR_HASH_LEN];
    uint64_t count = prev ? prev->leaf_count : 0, interval;
    enum cantor_err err;

    if (d->block_number != number) {
        cantor_delta_free(obs);
        return CANTOR_ERR_MISMATCH;
    }
    err = pending_new(c, number, &p);
    if (err) {
        cantor_delta_free(obs);
        return err;
    }
    p->obs = obs;
    memcpy(p->rec.block_hash, block_hash, 32);
    memcpy(base, prev ? prev->state_root : zero, CANTOR_HASH_LEN);
    err = cantor_merkle_delta_root(d, p->rec.delta_root);
    if (!err && obs) {
        err = cantor_smt_apply_delta(&p->smt, base, obs, mid);
        memcpy(base, mid, CANTOR_HASH_LEN);
    }
    if (!err)
        err = cantor_smt_apply_delta(&p->smt, base, d, p->rec.state_root);
    if (err)
        goto out;
    cantor_mmr_leaf_hash(number, block_hash, p->rec.delta_root, p->rec.state_root, leaf);
    err = cantor_mmr_append(&p->mmr, count, leaf);
    if (!err)
        err = cantor_mmr_root(&p->mmr, count + 1, p->rec.mmr_root);
    if (err)
        goto out;
    p->rec.leaf_count = count + 1;
    pthread_mutex_lock(&c->lock);
    interval = c->interval;
    pthread_mutex_unlock(&c->lock);
    if (interval && number % interval == 0) {
        p->cp = (struct cantor_checkpoint){.chain_id = chain_id(c), .number = number};
        memcpy(p->cp.block_hash, block_hash, 32);
        memcpy(p->cp.mmr_root, p->rec.mmr_root, 32);
        err = cantor_checkpoint_sign(c->keys, &p->cp, &p->sigs);
        if (err)
            goto out;
        p->has_cp = true;
    }
    p->work_ms = ms_since(&p->t0);
    *ret = p;
    p = NULL;
out:
    pending_free(p);
    return err;
}

/* Put an observation record (block's or pending) into the batch. */
static enum cantor_err put_obs(struct cantor_store_batch *b, const uint8_t *key, size_t klen,
                               const struct cantor_delta *obs)
{
    struct cantor_buf enc;
    enum cantor_err err;

    cantor_buf_init(&enc, CANTOR_OBS_REC_HEADER + (size_t)CANTOR_OBS_REC_MAX_ENTRIES * CANTOR_OBS_REC_ENTRY);
    err = cantor_obs_rec_encode(obs, &enc);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_ROOTS, key, klen, enc.data, enc.len);
    cantor_buf_release(&enc);
    return err;
}

static enum cantor_err pending_write(struct pending *p, struct cantor_store_batch *b)
{
    static const uint8_t pkey = CANTOR_NODES_KEY_PENDING;
    uint8_t key[CANTOR_NODES_KEY_SMT_LEN], nk[CANTOR_NODES_KEY_NUM_LEN], rec[CANTOR_ROOTS_REC_LEN];
    uint8_t cpv[CANTOR_CHECKPOINT_REC_LEN];
    enum cantor_err err = CANTOR_OK;

    for (size_t i = 0; i < p->n_nodes && !err; i++) {
        cantor_nodes_key_smt(p->nodes[i], key);
        err = cantor_store_batch_put(b, CANTOR_CF_ROOTS, key, sizeof(key), p->nodes[i] + CANTOR_HASH_LEN,
                                     CANTOR_SMT_NODE_LEN);
    }
    for (unsigned i = 0; i < p->n_mmr && !err; i++) {
        cantor_nodes_key_mmr(p->mmr_pos[i], nk);
        err = cantor_store_batch_put(b, CANTOR_CF_ROOTS, nk, sizeof(nk), p->mmr_hash[i], CANTOR_HASH_LEN);
    }
    if (!err) {
        cantor_nodes_key_roots(p->number, nk);
        cantor_roots_rec_encode(&p->rec, rec);
        err = cantor_store_batch_put(b, CANTOR_CF_ROOTS, nk, sizeof(nk), rec, sizeof(rec));
    }
    if (!err && p->has_cp) {
        cantor_nodes_key_checkpoint(p->number, nk);
        cantor_checkpoint_rec_encode(&p->cp, &p->sigs, cpv);
        err = cantor_store_batch_put(b, CANTOR_CF_ROOTS, nk, sizeof(nk), cpv, sizeof(cpv));
    }
    if (!err && p->obs && p->obs->n_entries) {
        cantor_nodes_key_obs(p->number, nk);
        err = put_obs(b, nk, sizeof(nk), p->obs);
    }
    if (!err && p->clear_pending)
        err = cantor_store_batch_del(b, CANTOR_CF_ROOTS, &pkey, 1);
    return err;
}

/* a ∪ b as a new finished delta of block `number` (b's value wins on a shared key); either may be NULL. */
static enum cantor_err obs_merge(const struct cantor_delta *a, const struct cantor_delta *b, uint64_t number,
                                 struct cantor_delta **ret)
{
    const struct cantor_delta *parts[2] = {a, b};
    struct cantor_delta *m = NULL;
    enum cantor_err err;

    *ret = NULL;
    if ((a ? a->n_entries : 0) + (b ? b->n_entries : 0) > CANTOR_OBS_REC_MAX_ENTRIES)
        return CANTOR_ERR_TOO_LARGE;
    err = cantor_delta_new(number, &m);
    for (int k = 0; k < 2 && !err; k++)
        for (size_t i = 0; parts[k] && i < parts[k]->n_entries && !err; i++) {
            struct cantor_delta_entry e = parts[k]->entries[i];

            memset(e.old_val, 0, sizeof(e.old_val)); /* old == 0 != new: finish() keeps every key */
            err = cantor_delta_add(m, &e);
        }
    if (!err)
        err = cantor_delta_finish(m);
    if (!err && m->n_entries) {
        *ret = m;
        m = NULL;
    }
    cantor_delta_free(m);
    return err;
}

static void pending_committed(struct cantor_commit *c, struct pending *p)
{
    double ms = p->work_ms;

    pthread_mutex_lock(&c->lock);
    c->have_head = true;
    c->head = p->number;
    c->head_rec = p->rec;
    c->stats.blocks++;
    c->stats.last_ms = ms;
    c->stats.total_ms += ms;
    c->stats.smt_nodes += p->n_nodes;
    c->stats.checkpoints += p->has_cp;
    pthread_mutex_unlock(&c->lock);
    log_debug("commit", "block %" PRIu64 ": roots in %.3f ms (%zu tree nodes, MMR %" PRIu64 " leaves)",
              p->number, ms, p->n_nodes, p->rec.leaf_count);
    if (p->has_cp)
        log_info("commit",
                 "checkpoint at block %" PRIu64 "; roots: %.3f ms this block, %.3f ms/block average",
                 p->number, ms, c->stats.total_ms / (double)c->stats.blocks);
}

/* ---- the follower hook ---- */

static enum cantor_err hook_prepare(void *arg, const struct cantor_block_meta *meta,
                                    const struct cantor_delta *delta, const uint8_t *canonical,
                                    size_t canonical_len, void **ret_state)
{
    struct cantor_commit *c = arg;
    struct cantor_roots_rec prev;
    struct cantor_delta *pend = NULL, *obs = NULL;
    struct pending *p = NULL;
    bool have;
    uint64_t head;
    enum cantor_err err;

    (void)canonical;
    (void)canonical_len;
    pthread_mutex_lock(&c->lock);
    have = c->have_head;
    head = c->head;
    prev = c->head_rec;
    pthread_mutex_unlock(&c->lock);
    if (have && meta->number != head + 1) {
        log_error("commit", "block %" PRIu64 " does not follow the committed head %" PRIu64, meta->number,
                  head);
        return CANTOR_ERR_INVALID;
    }
    /* observations of rolled-back blocks (kept by the store, never observed again) enter here */
    err = cantor_nodes_get_pending_obs(c->store, &pend);
    if (err && err != CANTOR_ERR_NOT_FOUND)
        return err;
    err = obs_merge(pend, meta->observed, meta->number, &obs);
    if (!err)
        err = compute(c, meta->number, meta->hash, delta, obs, have ? &prev : NULL, &p);
    if (!err)
        p->clear_pending = pend != NULL;
    cantor_delta_free(pend);
    if (err)
        return err;
    *ret_state = p;
    return CANTOR_OK;
}

static enum cantor_err hook_write(void *arg, struct cantor_store_batch *b, uint64_t block, void *state)
{
    struct pending *p = state;
    struct timespec t0;
    enum cantor_err err;

    (void)arg;
    if (!p || p->number != block)
        return CANTOR_ERR_INVALID;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = pending_write(p, b);
    p->work_ms += ms_since(&t0);
    return err;
}

static void hook_committed(void *arg, uint64_t block, void *state)
{
    (void)block;
    if (state)
        pending_committed(arg, state);
    pending_free(state);
}

static void hook_discard(void *arg, void *state)
{
    (void)arg;
    pending_free(state);
}

/* Move block's observation record into the pending record (in the rollback batch). */
static enum cantor_err carry_obs(struct cantor_commit *c, struct cantor_store_batch *b, uint64_t block)
{
    static const uint8_t pkey = CANTOR_NODES_KEY_PENDING;
    struct cantor_delta *obs = NULL, *pend = NULL, *m = NULL;
    uint8_t nk[CANTOR_NODES_KEY_NUM_LEN];
    enum cantor_err err;

    err = cantor_nodes_get_obs(c->store, block, &obs);
    if (err == CANTOR_ERR_NOT_FOUND)
        return CANTOR_OK;
    if (!err)
        err = cantor_nodes_get_pending_obs(c->store, &pend);
    if (err == CANTOR_ERR_NOT_FOUND)
        err = CANTOR_OK;
    if (!err)
        err = obs_merge(pend, obs, 0, &m);
    if (!err && m)
        err = put_obs(b, &pkey, 1, m);
    cantor_nodes_key_obs(block, nk);
    if (!err)
        err = cantor_store_batch_del(b, CANTOR_CF_ROOTS, nk, sizeof(nk));
    if (!err)
        log_info("commit", "block %" PRIu64 ": %zu observed value(s) wait for the next committed block",
                 block, m ? m->n_entries : 0);
    cantor_delta_free(m);
    cantor_delta_free(pend);
    cantor_delta_free(obs);
    return err;
}

static enum cantor_err hook_rollback(void *arg, struct cantor_store_batch *b, uint64_t block)
{
    struct cantor_commit *c = arg;
    struct cantor_roots_rec rec;
    uint8_t nk[CANTOR_NODES_KEY_NUM_LEN];
    enum cantor_err err;

    c->rb_have_prev = false;
    err = cantor_nodes_get_roots(c->store, block, &rec);
    if (err == CANTOR_ERR_NOT_FOUND)
        return CANTOR_OK; /* a block without roots (never committed here) */
    if (err)
        return err;
    if (rec.leaf_count > 1) {
        err = cantor_nodes_get_roots(c->store, block - 1, &c->rb_prev);
        if (err)
            return err == CANTOR_ERR_NOT_FOUND ? CANTOR_ERR_CORRUPT : err;
        c->rb_have_prev = true;
    }
    /* MMR positions of the last leaf: everything past the previous size. */
    for (uint64_t pos = cantor_mmr_size(rec.leaf_count - 1); pos < cantor_mmr_size(rec.leaf_count) && !err;
         pos++) {
        cantor_nodes_key_mmr(pos, nk);
        err = cantor_store_batch_del(b, CANTOR_CF_ROOTS, nk, sizeof(nk));
    }
    cantor_nodes_key_roots(block, nk);
    if (!err)
        err = cantor_store_batch_del(b, CANTOR_CF_ROOTS, nk, sizeof(nk));
    cantor_nodes_key_checkpoint(block, nk);
    if (!err)
        err = cantor_store_batch_del(b, CANTOR_CF_ROOTS, nk, sizeof(nk));
    if (!err)
        err = carry_obs(c, b, block);
    return err;
}

static void hook_rolled_back(void *arg, uint64_t block)
{
    struct cantor_commit *c = arg;

    pthread_mutex_lock(&c->lock);
    if (c->have_head && c->head == block) {
        c->have_head = c->rb_have_prev;
        c->head = block - 1;
        if (c->rb_have_prev)
            c->head_rec = c->rb_prev;
    }
    pthread_mutex_unlock(&c->lock);
    log_info("commit", "rolled back the roots of block %" PRIu64, block);
}

/* ---- start: keys, head cache, backfill ---- */

static enum cantor_err load_keys(struct cantor_commit *c, const char *dir)
{
    enum cantor_err err;

    if (!dir || !*dir)
        return CANTOR_ERR_CONFIG;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_error("commit", "cannot create key_dir %s: %s", dir, strerror(errno));
        return CANTOR_ERR_IO;
    }
    err = cantor_checkpoint_keys_load(dir, true, &c->own_keys);
    if (err) {
        log_error("commit", "cannot load checkpoint keys from %s: %s", dir, cantor_err_str(err));
        return err;
    }
    c->keys = c->own_keys;
    return CANTOR_OK;
}

/* Commit the roots of block n on top of prev in a stand-alone batch (backfill). */
static enum cantor_err backfill_one(struct cantor_commit *c, uint64_t n, const struct cantor_roots_rec *prev)
{
    struct cantor_delta *d = NULL, *obs = NULL;
    struct cantor_store_batch *b = NULL;
    struct pending *p = NULL;
    uint8_t hash[32];
    enum cantor_err err;

    err = cantor_store_get_block_hash(c->store, n, hash);
    if (!err)
        err = cantor_store_get_delta(c->store, n, &d);
    if (!err) {
        err = cantor_nodes_get_obs(c->store, n, &obs);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = CANTOR_OK;
    }
    if (!err) {
        err = compute(c, n, hash, d, obs, prev, &p);
        obs = NULL;
    }
    if (!err)
        err = cantor_store_batch_new(c->store, &b);
    if (!err)
        err = pending_write(p, b);
    if (!err)
        err = cantor_store_batch_commit(b);
    if (!err)
        pending_committed(c, p);
    cantor_store_batch_free(b);
    pending_free(p);
    cantor_delta_free(obs);
    cantor_delta_free(d);
    return err;
}

static enum cantor_err backfill(struct cantor_commit *c, uint64_t head)
{
    struct cantor_store_stats st;
    struct cantor_roots_rec rec;
    uint64_t from;
    enum cantor_err err;

    err = cantor_store_stats(c->store, &st);
    if (err)
        return err;
    /* Resume after the highest block that has roots (walk down; bounded by the followed range). */
    from = head;
    while (from > st.first_followed &&
           cantor_nodes_get_roots(c->store, from - 1, &rec) == CANTOR_ERR_NOT_FOUND)
        from--;
    if (from == st.first_followed && st.first_retained > st.first_followed) {
        log_error("commit",
                  "the store holds blocks %" PRIu64 "..%" PRIu64
                  " without state roots and its history before %" PRIu64
                  " is pruned: roots cannot be rebuilt; start with an empty data_dir",
                  st.first_followed, head, st.first_retained);
        return CANTOR_ERR_SCHEMA;
    }
    log_info("commit", "backfilling roots for blocks %" PRIu64 "..%" PRIu64, from, head);
    for (uint64_t n = from; n <= head; n++) {
        bool have;
        struct cantor_roots_rec prev;

        pthread_mutex_lock(&c->lock);
        have = c->have_head;
        prev = c->head_rec;
        pthread_mutex_unlock(&c->lock);
        if (!have && n > st.first_followed) {
            err = cantor_nodes_get_roots(c->store, n - 1, &prev);
            have = err == CANTOR_OK;
            if (err)
                return err;
        }
        err = backfill_one(c, n, have ? &prev : NULL);
        if (err) {
            log_error("commit", "backfill of block %" PRIu64 " failed: %s", n, cantor_err_str(err));
            return err;
        }
    }
    return CANTOR_OK;
}

struct migrate_ctx {
    struct cantor_commit *c;
    const uint8_t *root;
    struct cantor_smt_proof *pf;
    struct cantor_delta *obs;
    size_t left_out;
};

/* A state row with a non-zero value whose key the head's tree lacks was observed, never changed. */
static enum cantor_err migrate_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                   void *ctx)
{
    struct migrate_ctx *m = ctx;
    struct cantor_delta_entry e = {0};
    uint8_t sk[CANTOR_HASH_LEN];
    enum cantor_err err;

    if (klen != CANTOR_ADDR_LEN + 1 + CANTOR_WORD_LEN || vlen != CANTOR_WORD_LEN ||
        key[CANTOR_ADDR_LEN] > CANTOR_KIND_STORAGE)
        return CANTOR_ERR_CORRUPT;
    if (cantor_u256_is_zero(val))
        return CANTOR_OK;
    memcpy(e.addr, key, CANTOR_ADDR_LEN);
    e.kind = key[CANTOR_ADDR_LEN];
    memcpy(e.slot, key + CANTOR_ADDR_LEN + 1, CANTOR_WORD_LEN);
    memcpy(e.new_val, val, CANTOR_WORD_LEN);
    cantor_smt_key(e.addr, e.kind, e.slot, sk);
    err = cantor_smt_prove(&m->c->nodes.smt, m->root, sk, m->pf);
    if (err || m->pf->term == CANTOR_SMT_TERM_LEAF)
        return err;
    if (m->obs->n_entries == CANTOR_OBS_REC_MAX_ENTRIES) {
        m->left_out++;
        return CANTOR_OK;
    }
    return cantor_delta_add(m->obs, &e);
}

/*
 * Once per store: a store written before observation records (no layout mark) holds observed values
 * with no record of the block that observed them. They become pending, so they enter the tree at the
 * next committed block; before it a state proof for them stays refused (422). Empty stores only get
 * the mark. Cost: one scan of the state column family plus a tree lookup per non-zero row.
 */
static enum cantor_err migrate_observed(struct cantor_commit *c)
{
    static const uint8_t vkey = CANTOR_NODES_KEY_LAYOUT, pkey = CANTOR_NODES_KEY_PENDING;
    static const uint8_t zero[CANTOR_HASH_LEN];
    const uint8_t layout = CANTOR_ROOTS_LAYOUT;
    struct migrate_ctx m = {.c = c};
    struct cantor_delta *pend = NULL, *all = NULL;
    struct cantor_store_batch *b = NULL;
    uint8_t *val = NULL, root[CANTOR_HASH_LEN];
    size_t len;
    enum cantor_err err;

    err = cantor_store_get_raw(c->store, CANTOR_CF_ROOTS, &vkey, 1, &val, &len);
    free(val);
    if (err != CANTOR_ERR_NOT_FOUND)
        return err;
    pthread_mutex_lock(&c->lock);
    memcpy(root, c->have_head ? c->head_rec.state_root : zero, CANTOR_HASH_LEN);
    pthread_mutex_unlock(&c->lock);
    m.root = root;
    m.pf = malloc(sizeof(*m.pf));
    err = m.pf ? cantor_delta_new(0, &m.obs) : CANTOR_ERR_NOMEM;
    if (!err)
        err = cantor_store_scan(c->store, CANTOR_CF_STATE, NULL, 0, SIZE_MAX, migrate_one, &m);
    if (!err) {
        err = cantor_nodes_get_pending_obs(c->store, &pend);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = CANTOR_OK;
    }
    if (!err)
        err = obs_merge(pend, m.obs, 0, &all);
    if (!err)
        err = cantor_store_batch_new(c->store, &b);
    if (!err && all)
        err = put_obs(b, &pkey, 1, all);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_ROOTS, &vkey, 1, &layout, 1);
    if (!err)
        err = cantor_store_batch_commit(b);
    if (!err && (all || m.left_out))
        log_info("commit",
                 "store from an older cantord: %zu observed value(s) enter the state tree at the next block"
                 " (%zu left out: over the record limit, their state proofs stay refused)",
                 all ? all->n_entries : 0, m.left_out);
    cantor_store_batch_free(b);
    cantor_delta_free(all);
    cantor_delta_free(pend);
    cantor_delta_free(m.obs);
    free(m.pf);
    return err;
}

static void view_keys(void *arg, uint8_t ret_ed_pk[32], uint8_t ret_eth_addr[20])
{
    cantor_commit_public_keys(arg, ret_ed_pk, ret_eth_addr);
}

static enum cantor_err view_get_checkpoint(void *arg, uint64_t n, struct cantor_checkpoint *ret_cp,
                                           struct cantor_checkpoint_sigs *ret_sigs)
{
    return cantor_commit_get_checkpoint(arg, n, ret_cp, ret_sigs);
}

static enum cantor_err view_make_checkpoint(void *arg, struct cantor_checkpoint *ret_cp,
                                            struct cantor_checkpoint_sigs *ret_sigs)
{
    return cantor_commit_checkpoint_now(arg, ret_cp, ret_sigs);
}

static enum cantor_err view_prove(void *arg, bool state, uint64_t n, const uint8_t addr[20], uint8_t kind,
                                  const uint8_t slot[32], struct cantor_proof_doc **ret_doc)
{
    return state ? cantor_commit_prove_state(arg, n, addr, kind, slot, ret_doc)
                 : cantor_commit_prove_delta(arg, n, addr, kind, slot, ret_doc);
}

static double view_roots_ms(void *arg)
{
    struct cantor_commit_stats st;

    cantor_commit_get_stats(arg, &st);
    return st.last_ms;
}

enum cantor_err cantor_commit_new(struct cantor_store *store, const struct cantor_commit_opts *opts,
                                  struct cantor_commit **ret_commit)
{
    struct cantor_commit *c = NULL;
    uint64_t head = 0;
    bool empty = true;
    enum cantor_err err;

    if (!store || !opts)
        return CANTOR_ERR_INVALID;
    c = calloc(1, sizeof(*c));
    if (!c)
        return CANTOR_ERR_NOMEM;
    pthread_mutex_init(&c->lock, NULL);
    c->store = store;
    c->chain_id = opts->chain_id;
    c->interval = opts->checkpoint_interval;
    c->chain_id_fn = opts->chain_id_fn;
    c->chain_id_arg = opts->chain_id_arg;
    cantor_nodes_init(&c->nodes, store);
    c->hook = (struct cantor_block_hook){
        "commit", c, hook_prepare, hook_write, hook_committed, hook_discard, hook_rollback, hook_rolled_back};
    c->view = (struct cantor_commit_view){c,          view_keys,    view_get_checkpoint, view_make_checkpoint,
                                          view_prove, view_roots_ms};
    if (opts->keys)
        c->keys = opts->keys;
    else if ((err = load_keys(c, opts->key_dir)))
        goto out;
    err = cantor_store_head(store, &head, NULL, &empty);
    if (err)
        goto out;
    if (!empty) {
        err = cantor_nodes_get_roots(store, head, &c->head_rec);
        if (err == CANTOR_ERR_NOT_FOUND)
            err = backfill(c, head);
        else if (!err) {
            c->have_head = true;
            c->head = head;
        }
        if (err)
            goto out;
    }
    err = migrate_observed(c);
    if (err)
        goto out;
    *ret_commit = c;
    c = NULL;
out:
    cantor_commit_free(c);
    return err;
}

void cantor_commit_free(struct cantor_commit *c)
{
    if (!c)
        return;
    cantor_checkpoint_keys_free(c->own_keys);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const struct cantor_block_hook *cantor_commit_hook(struct cantor_commit *c)
{
    return &c->hook;
}

void cantor_commit_set_interval(struct cantor_commit *c, uint64_t interval)
{
    pthread_mutex_lock(&c->lock);
    c->interval = interval;
    pthread_mutex_unlock(&c->lock);
}

void cantor_commit_set_chain_id(struct cantor_commit *c, uint64_t chain_id)
{
    pthread_mutex_lock(&c->lock);
    c->chain_id = chain_id;
    pthread_mutex_unlock(&c->lock);
}

void cantor_commit_public_keys(const struct cantor_commit *c, uint8_t ret_ed_pk[CANTOR_ED25519_PK_LEN],
                               uint8_t ret_eth_addr[CANTOR_ETH_ADDR_LEN])
{
    memcpy(ret_ed_pk, c->keys->ed_pk, CANTOR_ED25519_PK_LEN);
    memcpy(ret_eth_addr, c->keys->eth_addr, CANTOR_ETH_ADDR_LEN);
}

void cantor_commit_get_stats(struct cantor_commit *c, struct cantor_commit_stats *ret_stats)
{
    pthread_mutex_lock(&c->lock);
    *ret_stats = c->stats;
    pthread_mutex_unlock(&c->lock);
}

enum cantor_err cantor_commit_get_roots(struct cantor_commit *c, uint64_t n, struct cantor_roots_rec *ret_rec)
{
    return cantor_nodes_get_roots(c->store, n, ret_rec);
}

enum cantor_err cantor_commit_get_checkpoint(struct cantor_commit *c, uint64_t n,
                                             struct cantor_checkpoint *ret_cp,
                                             struct cantor_checkpoint_sigs *ret_sigs)
{
    return cantor_nodes_get_checkpoint(c->store, n, ret_cp, ret_sigs);
}

enum cantor_err cantor_commit_checkpoint_now(struct cantor_commit *c, struct cantor_checkpoint *ret_cp,
                                             struct cantor_checkpoint_sigs *ret_sigs)
{
    struct cantor_checkpoint cp = {0};
    struct cantor_checkpoint_sigs sigs;
    struct cantor_store_batch *b = NULL;
    uint8_t nk[CANTOR_NODES_KEY_NUM_LEN], val[CANTOR_CHECKPOINT_REC_LEN];
    bool have;
    enum cantor_err err;

    cp.chain_id = chain_id(c);
    pthread_mutex_lock(&c->lock);
    have = c->have_head;
    cp.number = c->head;
    memcpy(cp.block_hash, c->head_rec.block_hash, 32);
    memcpy(cp.mmr_root, c->head_rec.mmr_root, 32);
    pthread_mutex_unlock(&c->lock);
    if (!have)
        return CANTOR_ERR_NOT_FOUND;
    err = cantor_checkpoint_sign(c->keys, &cp, &sigs);
    if (err)
        return err;
    /* A reorg racing with this write leaves a checkpoint of a dropped block: it fails verification
       (its block hash is no longer canonical) and is overwritten when that height is checkpointed. */
    cantor_nodes_key_checkpoint(cp.number, nk);
    cantor_checkpoint_rec_encode(&cp, &sigs, val);
    err = cantor_store_batch_new(c->store, &b);
    if (!err)
        err = cantor_store_batch_put(b, CANTOR_CF_ROOTS, nk, sizeof(nk), val, sizeof(val));
    if (!err)
        err = cantor_store_batch_commit(b);
    cantor_store_batch_free(b);
    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    c->stats.checkpoints++;
    pthread_mutex_unlock(&c->lock);
    *ret_cp = cp;
    *ret_sigs = sigs;
    return CANTOR_OK;
}

/* Block record, MMR path and the newest checkpoint covering n. */
static enum cantor_err fill_common(struct cantor_commit *c, uint64_t n, struct cantor_proof_doc *doc)
{
    struct cantor_roots_rec rec, cprec;
    struct cantor_checkpoint cp;
    struct cantor_checkpoint_sigs sigs;
    enum cantor_err err;

    err = cantor_nodes_get_roots(c->store, n, &rec);
    if (err)
        return err;
    doc->block.number = n;
    memcpy(doc->block.hash, rec.block_hash, 32);
    memcpy(doc->block.delta_root, rec.delta_root, 32);
    memcpy(doc->block.state_root, rec.state_root, 32);
    err = cantor_nodes_get_checkpoint(c->store, UINT64_MAX, &cp, &sigs);
    if (err == CANTOR_ERR_NOT_FOUND || (!err && cp.number < n))
        err = cantor_commit_checkpoint_now(c, &cp, &sigs);
    if (err)
        return err;
    err = cantor_nodes_get_roots(c->store, cp.number, &cprec);
    if (err)
        return err == CANTOR_ERR_NOT_FOUND ? CANTOR_ERR_REORG : err;
    if (cprec.leaf_count < rec.leaf_count || memcmp(cprec.mmr_root, cp.mmr_root, 32) != 0)
        return CANTOR_ERR_REORG; /* the checkpoint's block was rolled back under us */
    err = cantor_proof_fill_mmr(doc, &c->nodes.mmr, cprec.leaf_count, rec.leaf_count - 1);
    if (err)
        return err;
    doc->checkpoint = cp;
    doc->sigs = sigs;
    memcpy(doc->signer, c->keys->eth_addr, CANTOR_ETH_ADDR_LEN);
    return CANTOR_OK;
}

static void key_entry(const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind, const uint8_t *slot,
                      struct cantor_delta_entry *e)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->addr, addr, CANTOR_ADDR_LEN);
    e->kind = kind;
    if (kind == CANTOR_KIND_STORAGE && slot)
        memcpy(e->slot, slot, CANTOR_WORD_LEN);
}

enum cantor_err cantor_commit_prove_delta(struct cantor_commit *c, uint64_t n,
                                          const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                          const uint8_t slot[CANTOR_WORD_LEN],
                                          struct cantor_proof_doc **ret_doc)
{
    struct cantor_proof_doc *doc = NULL;
    struct cantor_delta *d = NULL;
    struct cantor_merkle_tree *t = NULL;
    struct cantor_delta_entry key;
    const struct cantor_delta_entry *e = NULL;
    size_t lo = 0, hi;
    enum cantor_err err;

    if (kind > CANTOR_KIND_STORAGE)
        return CANTOR_ERR_INVALID;
    key_entry(addr, kind, slot, &key);
    err = cantor_store_get_delta(c->store, n, &d);
    if (err)
        goto out;
    for (hi = d->n_entries; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cantor_delta_entry_cmp(&d->entries[mid], &key);

        if (r == 0) {
            e = &d->entries[mid];
            break;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!e) {
        err = CANTOR_ERR_NOT_FOUND;
        goto out;
    }
    err = cantor_proof_doc_new(CANTOR_PROOF_DELTA, &doc);
    if (!err)
        err = cantor_merkle_build_delta(d, &t);
    if (!err)
        err = fill_common(c, n, doc);
    if (!err)
        err = cantor_proof_fill_delta(doc, t, e);
    if (err)
        goto out;
    *ret_doc = doc;
    doc = NULL;
out:
    cantor_proof_doc_free(doc);
    cantor_merkle_tree_free(t);
    cantor_delta_free(d);
    return err;
}

enum cantor_err cantor_commit_prove_state(struct cantor_commit *c, uint64_t n,
                                          const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                          const uint8_t slot[CANTOR_WORD_LEN],
                                          struct cantor_proof_doc **ret_doc)
{
    struct cantor_proof_doc *doc = NULL;
    struct cantor_delta_entry key;
    enum cantor_err err;

    if (kind > CANTOR_KIND_STORAGE)
        return CANTOR_ERR_INVALID;
    key_entry(addr, kind, slot, &key);
    err = cantor_proof_doc_new(CANTOR_PROOF_STATE, &doc);
    if (!err)
        err = fill_common(c, n, doc);
    if (!err)
        err = cantor_proof_fill_state(doc, &c->nodes.smt, key.addr, kind, key.slot);
    if (!err && !doc->present) {
        uint8_t v[CANTOR_WORD_LEN];
        bool known = false;

        /*
         * The tree holds every key cantord saw change and every non-zero value it observed, from the
         * block that changed or observed it on. Before that block the key is absent although cantord
         * may know its value there (a later change's old value, or an observation that holds back to
         * the first followed block); a non-membership proof reads as "zero" to a contract, which is
         * right when the known value is zero and misleading otherwise: refuse that case.
         */
        err = cantor_store_get_value(c->store, key.addr, kind, kind == CANTOR_KIND_STORAGE ? key.slot : NULL,
                                     n, v, &known);
        if (!err && known && !cantor_u256_is_zero(v)) {
            log_warn("commit", "state proof refused: the key's known value is not committed at this block");
            err = CANTOR_ERR_UNSUPPORTED;
        }
    }
    if (err)
        goto out;
    *ret_doc = doc;
    doc = NULL;
out:
    cantor_proof_doc_free(doc);
    return err;
}

const struct cantor_commit_view *cantor_commit_view(struct cantor_commit *c)
{
    return &c->view;
}
