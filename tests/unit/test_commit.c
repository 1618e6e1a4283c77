/*
 * test_commit.c - daemon/commit.c over a real RocksDB store (temp dir) and three consecutive
 * recorded mainnet blocks (17,073,191-193): roots equal the in-memory core computation, delta and
 * state proofs from the endpoint builders verify with cantor_proof_verify (and tampered ones fail),
 * rollback restores the previous roots and MMR, a restart keeps everything, and a store followed
 * without roots is backfilled. Observed values (meta.observed, written to the store as the follower
 * does) enter the tree at their block: proofs there and later, refusal before, through a rollback,
 * a backfill and the one-time upgrade of a store without observation records. Block hashes are not in the
 * recorded diffs: keccak256("block" || number) stands in for them (the parent chain is consistent, which is
 * all the store checks).
 */
#define _XOPEN_SOURCE 700
#include <curl/curl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/delta_json.h"
#include "core/hex.h"
#include "core/proof.h"
#include "daemon/commit.h"
#include "rpc/api.h"
#include "rpc/http.h"
#include "storage/nodes.h"
#include "testutil.h"

#define N_BLK 3
static const char *const files[N_BLK] = {
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_38.json",
    "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_34.json",
};
static const uint64_t FIRST = 17073191;

struct fixture {
    char dir[64];
    struct cantor_store *s;
    struct cantor_commit *c;
    struct cantor_checkpoint_keys *keys;
    struct cantor_delta *d[N_BLK];
    struct cantor_roots_rec want[N_BLK]; /* from core/ in memory */
    uint8_t hash[N_BLK][32];
};

static struct fixture fx;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void store_open(void)
{
    struct cantor_store_opts o = {.path = fx.dir, .chain_id = 1, .lax_old_values = true};

    ck_assert_int_eq(cantor_store_open(&o, &fx.s), CANTOR_OK);
}

static void commit_open(uint64_t interval)
{
    struct cantor_commit_opts co = {.chain_id = 1, .checkpoint_interval = interval, .keys = fx.keys};

    ck_assert_int_eq(cantor_commit_new(fx.s, &co, &fx.c), CANTOR_OK);
}

static void setup(void)
{
    uint8_t ed[32], sk[32], state[32] = {0}, leaf[32];
    struct cantor_smt_mem *smt = NULL;
    struct cantor_mmr_mem *mmr = NULL;

    memset(&fx, 0, sizeof(fx));
    memset(ed, 3, 32);
    memset(sk, 5, 32);
    ck_assert_int_eq(cantor_checkpoint_keys_from_seeds(ed, sk, &fx.keys), CANTOR_OK);
    ck_assert_int_eq(cantor_smt_mem_new(&smt), CANTOR_OK);
    ck_assert_int_eq(cantor_mmr_mem_new(&mmr), CANTOR_OK);
    for (int b = 0; b < N_BLK; b++) {
        uint8_t tag[13] = "block";
        uint64_t n = FIRST + (uint64_t)b;

        ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(files[b]), &fx.d[b]), CANTOR_OK);
        ck_assert_uint_eq(fx.d[b]->block_number, n);
        memcpy(tag + 5, &n, 8);
        cantor_keccak256(tag, sizeof(tag), fx.hash[b]);
        memcpy(fx.want[b].block_hash, fx.hash[b], 32);
        ck_assert_int_eq(cantor_merkle_delta_root(fx.d[b], fx.want[b].delta_root), CANTOR_OK);
        ck_assert_int_eq(cantor_smt_apply_delta(cantor_smt_mem_store(smt), state, fx.d[b], state), CANTOR_OK);
        memcpy(fx.want[b].state_root, state, 32);
        cantor_mmr_leaf_hash(n, fx.hash[b], fx.want[b].delta_root, state, leaf);
        ck_assert_int_eq(cantor_mmr_append(cantor_mmr_mem_store(mmr), (uint64_t)b, leaf), CANTOR_OK);
        ck_assert_int_eq(cantor_mmr_root(cantor_mmr_mem_store(mmr), (uint64_t)b + 1, fx.want[b].mmr_root),
                         CANTOR_OK);
        fx.want[b].leaf_count = (uint64_t)b + 1;
    }
    cantor_smt_mem_free(smt);
    cantor_mmr_mem_free(mmr);
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/cantor-commit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx.dir));
    store_open();
}

static void teardown(void)
{
    cantor_commit_free(fx.c);
    cantor_store_close(fx.s);
    nftw(fx.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (int b = 0; b < N_BLK; b++)
        cantor_delta_free(fx.d[b]);
    cantor_checkpoint_keys_free(fx.keys);
    memset(&fx, 0, sizeof(fx));
}

/* What the follower does with a hook: prepare, the store's batch callback, committed/discard. */
struct job {
    const struct cantor_block_hook *h;
    void *state;
    const struct cantor_delta *store_obs; /* observations the follower writes into the block's batch */
};

static enum cantor_err job_write(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    struct job *j = ctx;
    enum cantor_err err = CANTOR_OK;

    for (size_t i = 0; j->store_obs && i < j->store_obs->n_entries && !err; i++) {
        const struct cantor_delta_entry *e = &j->store_obs->entries[i];

        err = cantor_store_batch_observe(b, e->addr, e->kind, e->slot, e->new_val);
    }
    if (!err && j->h)
        err = j->h->write(j->h->arg, b, block, j->state);
    return err;
}

static enum cantor_err job_rollback(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    struct job *j = ctx;

    return j->h->rollback(j->h->arg, b, block);
}

static void meta_of(int b, struct cantor_block_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->number = FIRST + (uint64_t)b;
    memcpy(m->hash, fx.hash[b], 32);
    if (b > 0)
        memcpy(m->parent_hash, fx.hash[b - 1], 32);
}

/*
 * Apply block b; with the hook, meta.observed = obs (the hook's view) and store_obs go into the store
 * batch as observations (the follower writes both from the same proofs; tests split them to play an
 * older cantord, or a re-applied block the store already knows the observations of).
 */
static void apply_obs(int b, bool with_hook, const struct cantor_delta *obs,
                      const struct cantor_delta *store_obs)
{
    struct cantor_block_meta m;
    struct job j = {.h = with_hook && fx.c ? cantor_commit_hook(fx.c) : NULL, .store_obs = store_obs};
    enum cantor_err err;

    meta_of(b, &m);
    m.observed = obs;
    if (!with_hook) {
        ck_assert_int_eq(cantor_store_apply_block_ex(fx.s, &m, fx.d[b], NULL, 0, job_write, &j), CANTOR_OK);
        return;
    }
    ck_assert_int_eq(j.h->prepare(j.h->arg, &m, fx.d[b], NULL, 0, &j.state), CANTOR_OK);
    err = cantor_store_apply_block_ex(fx.s, &m, fx.d[b], NULL, 0, job_write, &j);
    if (err) {
        j.h->discard(j.h->arg, j.state);
        ck_abort_msg("apply %d: %s", b, cantor_err_str(err));
    }
    j.h->committed(j.h->arg, m.number, j.state);
}

static void apply(int b, bool with_hook)
{
    apply_obs(b, with_hook, NULL, NULL);
}

static void rollback(void)
{
    struct job j = {.h = cantor_commit_hook(fx.c)};
    uint64_t head, new_head;
    bool empty;

    ck_assert_int_eq(cantor_store_head(fx.s, &head, NULL, &empty), CANTOR_OK);
    ck_assert_int_eq(cantor_store_rollback_ex(fx.s, &new_head, &empty, job_rollback, &j), CANTOR_OK);
    j.h->rolled_back(j.h->arg, head);
}

static void check_roots(int upto)
{
    for (int b = 0; b < upto; b++) {
        struct cantor_roots_rec r;

        ck_assert_int_eq(cantor_commit_get_roots(fx.c, FIRST + (uint64_t)b, &r), CANTOR_OK);
        ck_assert_mem_eq(r.block_hash, fx.want[b].block_hash, 32);
        ck_assert_mem_eq(r.delta_root, fx.want[b].delta_root, 32);
        ck_assert_mem_eq(r.state_root, fx.want[b].state_root, 32);
        ck_assert_mem_eq(r.mmr_root, fx.want[b].mmr_root, 32);
        ck_assert_uint_eq(r.leaf_count, fx.want[b].leaf_count);
    }
}

static void verify_ok(const struct cantor_proof_doc *doc)
{
    struct cantor_proof_report r;
    enum cantor_err err = cantor_proof_verify_ex(doc, fx.keys->ed_pk, fx.keys->eth_addr, &r);

    ck_assert_msg(err == CANTOR_OK, "verify: %s (%s)", cantor_proof_check_name(r.failed), r.message);
}

static void verify_fails(const struct cantor_proof_doc *doc, enum cantor_proof_check want)
{
    struct cantor_proof_report r;

    ck_assert_int_ne(cantor_proof_verify_ex(doc, fx.keys->ed_pk, fx.keys->eth_addr, &r), CANTOR_OK);
    ck_assert_int_eq(r.failed, want);
}

/* Every entry of every block: a delta proof that verifies; the JSON form parses and verifies. */
static void check_delta_proofs(int upto)
{
    for (int b = 0; b < upto; b++) {
        const struct cantor_delta *d = fx.d[b];
        size_t step = d->n_entries > 60 ? d->n_entries / 60 : 1;

        for (size_t i = 0; i < d->n_entries; i += step) {
            const struct cantor_delta_entry *e = &d->entries[i];
            struct cantor_proof_doc *doc = NULL, *back = NULL;
            struct cantor_buf js;

            ck_assert_int_eq(
                cantor_commit_prove_delta(fx.c, d->block_number, e->addr, e->kind, e->slot, &doc), CANTOR_OK);
            ck_assert_mem_eq(doc->entry.new_val, e->new_val, 32);
            verify_ok(doc);
            cantor_buf_init(&js, CANTOR_PROOF_MAX_JSON);
            ck_assert_int_eq(cantor_proof_to_json(doc, &js), CANTOR_OK);
            ck_assert_int_eq(cantor_proof_parse((const char *)js.data, js.len, &back), CANTOR_OK);
            verify_ok(back);
            /* tampered: another new value must fail on the delta path */
            back->entry.new_val[31] ^= 1;
            verify_fails(back, CANTOR_CHECK_DELTA_PATH);
            cantor_proof_doc_free(back);
            cantor_buf_release(&js);
            cantor_proof_doc_free(doc);
        }
    }
}

START_TEST(test_roots_match_core)
{
    struct cantor_commit_stats st;
    size_t changes = 0;

    commit_open(0);
    for (int b = 0; b < N_BLK; b++) {
        apply(b, true);
        changes += fx.d[b]->n_entries;
    }
    check_roots(N_BLK);
    cantor_commit_get_stats(fx.c, &st);
    ck_assert_uint_eq(st.blocks, N_BLK);
    /* a figure for docs/benchmarks.md, not a pass criterion (wall time varies with the machine) */
    printf("commit: %zu changes in %d mainnet blocks, RocksDB: %.2f ms/block (last block %.2f ms), %" PRIu64
           " tree nodes\n",
           changes, N_BLK, st.total_ms / N_BLK, st.last_ms, st.smt_nodes);
}
END_TEST

START_TEST(test_proofs_verify)
{
    struct cantor_proof_doc *doc = NULL;
    struct cantor_checkpoint cp;
    struct cantor_checkpoint_sigs sigs;
    struct cantor_commit_stats st;
    uint8_t addr[20];
    const struct cantor_delta_entry *e;

    commit_open(2); /* 17,073,192 is even: a checkpoint is signed inside its batch */
    for (int b = 0; b < N_BLK; b++)
        apply(b, true);
    ck_assert_int_eq(cantor_commit_get_checkpoint(fx.c, UINT64_MAX, &cp, &sigs), CANTOR_OK);
    ck_assert_uint_eq(cp.number, FIRST + 1);
    ck_assert_mem_eq(cp.mmr_root, fx.want[1].mmr_root, 32);
    ck_assert_int_eq(cantor_checkpoint_verify_ed25519(fx.keys->ed_pk, &cp, sigs.ed25519), CANTOR_OK);
    /* block 193 is above the newest checkpoint: the builder signs one at the head */
    check_delta_proofs(N_BLK);
    ck_assert_int_eq(cantor_commit_get_checkpoint(fx.c, UINT64_MAX, &cp, &sigs), CANTOR_OK);
    ck_assert_uint_eq(cp.number, FIRST + 2);
    cantor_commit_get_stats(fx.c, &st);
    ck_assert_uint_eq(st.blocks, N_BLK);
    ck_assert_uint_eq(st.checkpoints, 2);
    ck_assert_uint_gt(st.smt_nodes, fx.d[0]->n_entries);

    /* a key that did not change in the block: no delta proof */
    memset(addr, 0xee, sizeof(addr));
    ck_assert_int_eq(cantor_commit_prove_delta(fx.c, FIRST, addr, CANTOR_KIND_BALANCE, NULL, &doc),
                     CANTOR_ERR_NOT_FOUND);
    /* state: an entry of the first block, proven at the first and at the last block */
    e = &fx.d[0]->entries[fx.d[0]->n_entries / 2];
    for (int b = 0; b < N_BLK; b++) {
        ck_assert_int_eq(
            cantor_commit_prove_state(fx.c, FIRST + (uint64_t)b, e->addr, e->kind, e->slot, &doc), CANTOR_OK);
        ck_assert(doc->present);
        verify_ok(doc);
        if (b == 0)
            ck_assert_mem_eq(doc->value, e->new_val, 32);
        doc->value[0] ^= 0x80;
        verify_fails(doc, CANTOR_CHECK_LEAF);
        cantor_proof_doc_free(doc);
        doc = NULL;
    }
    /* non-membership: an address cantord never saw */
    ck_assert_int_eq(cantor_commit_prove_state(fx.c, FIRST + 2, addr, CANTOR_KIND_BALANCE, NULL, &doc),
                     CANTOR_OK);
    ck_assert(!doc->present);
    verify_ok(doc);
    doc->block.state_root[5] ^= 1;
    verify_fails(doc, CANTOR_CHECK_MMR_PATH);
    cantor_proof_doc_free(doc);
}
END_TEST

START_TEST(test_rollback)
{
    struct cantor_roots_rec r;
    uint8_t nk[CANTOR_NODES_KEY_NUM_LEN], *val = NULL;
    size_t len;

    commit_open(FIRST + 2); /* checkpoint exactly at the last block */
    for (int b = 0; b < N_BLK; b++)
        apply(b, true);
    ck_assert_int_eq(cantor_commit_get_checkpoint(fx.c, FIRST + 2, &(struct cantor_checkpoint){0},
                                                  &(struct cantor_checkpoint_sigs){0}),
                     CANTOR_OK);
    rollback();
    ck_assert_int_eq(cantor_commit_get_roots(fx.c, FIRST + 2, &r), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_commit_get_checkpoint(fx.c, FIRST + 2, &(struct cantor_checkpoint){0},
                                                  &(struct cantor_checkpoint_sigs){0}),
                     CANTOR_ERR_NOT_FOUND);
    /* the MMR of 3 leaves has 4 nodes: position 3 (leaf 2) is gone, 0..2 stay */
    cantor_nodes_key_mmr(3, nk);
    ck_assert_int_eq(cantor_store_get_raw(fx.s, CANTOR_CF_ROOTS, nk, sizeof(nk), &val, &len),
                     CANTOR_ERR_NOT_FOUND);
    cantor_nodes_key_mmr(2, nk);
    ck_assert_int_eq(cantor_store_get_raw(fx.s, CANTOR_CF_ROOTS, nk, sizeof(nk), &val, &len), CANTOR_OK);
    free(val);
    check_roots(2);
    /* proofs at the new head still verify (a checkpoint is signed at 192) */
    check_delta_proofs(2);
    rollback();
    check_roots(1);
    ck_assert_int_eq(cantor_commit_get_roots(fx.c, FIRST + 1, &r), CANTOR_ERR_NOT_FOUND);
    /* re-apply: the same roots as the first time */
    apply(1, true);
    apply(2, true);
    check_roots(N_BLK);
    check_delta_proofs(N_BLK);
    /* rolling back to empty and starting again */
    rollback();
    rollback();
    rollback();
    apply(0, true);
    check_roots(1);
}
END_TEST

START_TEST(test_restart)
{
    struct cantor_proof_doc *doc = NULL;
    const struct cantor_delta_entry *e = &fx.d[1]->entries[0];

    commit_open(0);
    apply(0, true);
    apply(1, true);
    cantor_commit_free(fx.c);
    fx.c = NULL;
    cantor_store_close(fx.s);
    store_open();
    commit_open(0);
    check_roots(2);
    apply(2, true); /* the head cache came back from the store */
    check_roots(N_BLK);
    ck_assert_int_eq(cantor_commit_prove_state(fx.c, FIRST + 1, e->addr, e->kind, e->slot, &doc), CANTOR_OK);
    verify_ok(doc);
    cantor_proof_doc_free(doc);
}
END_TEST

START_TEST(test_backfill)
{
    /* a store followed by a cantord without commitments */
    for (int b = 0; b < 2; b++)
        apply(b, false);
    commit_open(0);
    check_roots(2);
    apply(2, true);
    check_roots(N_BLK);
    check_delta_proofs(N_BLK);
    /* resumable: lose the head's roots (as if killed mid-backfill) and open again */
    {
        struct cantor_store_batch *b = NULL;
        uint8_t nk[CANTOR_NODES_KEY_NUM_LEN];

        cantor_nodes_key_roots(FIRST + 2, nk);
        ck_assert_int_eq(cantor_store_batch_new(fx.s, &b), CANTOR_OK);
        ck_assert_int_eq(cantor_store_batch_del(b, CANTOR_CF_ROOTS, nk, sizeof(nk)), CANTOR_OK);
        ck_assert_int_eq(cantor_store_batch_commit(b), CANTOR_OK);
        cantor_store_batch_free(b);
    }
    cantor_commit_free(fx.c);
    fx.c = NULL;
    commit_open(0);
    check_roots(N_BLK);
}
END_TEST

START_TEST(test_keys_created)
{
    char kd[128], path[160];
    struct cantor_commit_opts co = {.chain_id = 1, .checkpoint_interval = 1};
    struct stat st;
    uint8_t pk[32], addr[20], pk2[32], addr2[20];

    snprintf(kd, sizeof(kd), "%s/keys", fx.dir);
    co.key_dir = kd;
    ck_assert_int_eq(cantor_commit_new(fx.s, &co, &fx.c), CANTOR_OK);
    snprintf(path, sizeof(path), "%s/checkpoint-ed25519.key", kd);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/checkpoint-secp256k1.key", kd);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    cantor_commit_public_keys(fx.c, pk, addr);
    cantor_commit_free(fx.c);
    /* second start: the same keys */
    ck_assert_int_eq(cantor_commit_new(fx.s, &co, &fx.c), CANTOR_OK);
    cantor_commit_public_keys(fx.c, pk2, addr2);
    ck_assert_mem_eq(pk, pk2, 32);
    ck_assert_mem_eq(addr, addr2, 20);
    /* a key readable by others is refused */
    ck_assert_int_eq(chmod(path, 0644), 0);
    cantor_commit_free(fx.c);
    fx.c = NULL;
    ck_assert_int_ne(cantor_commit_new(fx.s, &co, &fx.c), CANTOR_OK);
    ck_assert_ptr_null(fx.c);
}
END_TEST

/* ---- observed values ---- */

/*
 * Observations for block 1: two accounts no recorded block touches (balance, nonce, code hash, a slot)
 * and one key block 1 also changes (its delta value must win). obs_store is what the store learns:
 * the untouched keys only (the follower never observes a key the block changes).
 */
static struct cantor_delta *obs_hook, *obs_store;
static uint8_t obs_addr[20];

static void obs_build(void)
{
    struct cantor_delta *both[2];

    memset(obs_addr, 0xa7, sizeof(obs_addr));
    for (int k = 0; k < 2; k++) {
        struct cantor_delta_entry e = {0};

        ck_assert_int_eq(cantor_delta_new(FIRST + 1, &both[k]), CANTOR_OK);
        for (uint8_t a = 0; a < 2; a++) {
            memcpy(e.addr, obs_addr, 20);
            e.addr[19] = a;
            memset(e.slot, 0, 32);
            e.kind = CANTOR_KIND_BALANCE;
            memset(e.new_val, 0, 32);
            e.new_val[31] = (uint8_t)(0x40 + a);
            ck_assert_int_eq(cantor_delta_add(both[k], &e), CANTOR_OK);
            e.kind = CANTOR_KIND_NONCE;
            e.new_val[31] = 7;
            ck_assert_int_eq(cantor_delta_add(both[k], &e), CANTOR_OK);
            e.kind = CANTOR_KIND_CODE;
            memcpy(e.new_val, CANTOR_KECCAK_EMPTY, 32);
            ck_assert_int_eq(cantor_delta_add(both[k], &e), CANTOR_OK);
            e.kind = CANTOR_KIND_STORAGE;
            e.slot[31] = 3;
            memset(e.new_val, 0x11, 32);
            ck_assert_int_eq(cantor_delta_add(both[k], &e), CANTOR_OK);
        }
        if (k == 0) {
            e = fx.d[1]->entries[fx.d[1]->n_entries / 3];
            memset(e.old_val, 0, 32);
            memset(e.new_val, 0x5c, 32); /* an observed value the delta overrides */
            ck_assert_int_eq(cantor_delta_add(both[k], &e), CANTOR_OK);
        }
        ck_assert_int_eq(cantor_delta_finish(both[k]), CANTOR_OK);
    }
    obs_hook = both[0];
    obs_store = both[1];
}

static void obs_free(void)
{
    cantor_delta_free(obs_hook);
    cantor_delta_free(obs_store);
    obs_hook = obs_store = NULL;
}

/* Expected roots when obs_store's keys enter the tree at block `at` (before its delta). */
static void want_with_obs(int at, struct cantor_roots_rec want[N_BLK])
{
    uint8_t state[32] = {0}, leaf[32];
    struct cantor_smt_mem *smt = NULL;
    struct cantor_mmr_mem *mmr = NULL;

    ck_assert_int_eq(cantor_smt_mem_new(&smt), CANTOR_OK);
    ck_assert_int_eq(cantor_mmr_mem_new(&mmr), CANTOR_OK);
    for (int b = 0; b < N_BLK; b++) {
        want[b] = fx.want[b];
        if (b == at)
            ck_assert_int_eq(cantor_smt_apply_delta(cantor_smt_mem_store(smt), state, obs_store, state),
                             CANTOR_OK);
        ck_assert_int_eq(cantor_smt_apply_delta(cantor_smt_mem_store(smt), state, fx.d[b], state), CANTOR_OK);
        memcpy(want[b].state_root, state, 32);
        cantor_mmr_leaf_hash(fx.d[b]->block_number, fx.hash[b], want[b].delta_root, state, leaf);
        ck_assert_int_eq(cantor_mmr_append(cantor_mmr_mem_store(mmr), (uint64_t)b, leaf), CANTOR_OK);
        ck_assert_int_eq(cantor_mmr_root(cantor_mmr_mem_store(mmr), (uint64_t)b + 1, want[b].mmr_root),
                         CANTOR_OK);
    }
    /* the observations change every root from `at` on, none before */
    for (int b = 0; b < N_BLK; b++)
        ck_assert_int_eq(memcmp(want[b].state_root, fx.want[b].state_root, 32) != 0, b >= at);
    cantor_smt_mem_free(smt);
    cantor_mmr_mem_free(mmr);
}

static void check_roots_eq(int upto, const struct cantor_roots_rec *want)
{
    for (int b = 0; b < upto; b++) {
        struct cantor_roots_rec r;

        ck_assert_int_eq(cantor_commit_get_roots(fx.c, FIRST + (uint64_t)b, &r), CANTOR_OK);
        ck_assert_mem_eq(r.state_root, want[b].state_root, 32);
        ck_assert_mem_eq(r.mmr_root, want[b].mmr_root, 32);
        ck_assert_uint_eq(r.leaf_count, want[b].leaf_count);
    }
}

/* Every observed key at blocks < upto: a verifying membership proof with its value from `from` on,
   refused (422) before. */
static void check_obs_proofs(int from, int upto)
{
    for (size_t i = 0; i < obs_store->n_entries; i++) {
        const struct cantor_delta_entry *e = &obs_store->entries[i];

        for (int b = 0; b < upto; b++) {
            struct cantor_proof_doc *doc = NULL;
            enum cantor_err err =
                cantor_commit_prove_state(fx.c, FIRST + (uint64_t)b, e->addr, e->kind, e->slot, &doc);

            if (b < from) {
                ck_assert_int_eq(err, CANTOR_ERR_UNSUPPORTED);
                ck_assert_ptr_null(doc);
                continue;
            }
            ck_assert_msg(err == CANTOR_OK, "entry %zu at block %d: %s", i, b, cantor_err_str(err));
            ck_assert(doc->present);
            ck_assert_mem_eq(doc->value, e->new_val, 32);
            verify_ok(doc);
            doc->value[31] ^= 1;
            verify_fails(doc, CANTOR_CHECK_LEAF);
            cantor_proof_doc_free(doc);
        }
    }
}

static bool have_raw(const void *key, size_t klen)
{
    uint8_t *val = NULL;
    size_t len;
    enum cantor_err err = cantor_store_get_raw(fx.s, CANTOR_CF_ROOTS, key, klen, &val, &len);

    free(val);
    ck_assert(err == CANTOR_OK || err == CANTOR_ERR_NOT_FOUND);
    return err == CANTOR_OK;
}

static void del_raw(const void *key, size_t klen)
{
    struct cantor_store_batch *b = NULL;

    ck_assert_int_eq(cantor_store_batch_new(fx.s, &b), CANTOR_OK);
    ck_assert_int_eq(cantor_store_batch_del(b, CANTOR_CF_ROOTS, key, klen), CANTOR_OK);
    ck_assert_int_eq(cantor_store_batch_commit(b), CANTOR_OK);
    cantor_store_batch_free(b);
}

START_TEST(test_obs_record_codec)
{
    struct cantor_delta *back = NULL;
    struct cantor_buf enc;
    uint8_t *bad;

    obs_build();
    cantor_buf_init(&enc, 1u << 20);
    ck_assert_int_eq(cantor_obs_rec_encode(obs_store, &enc), CANTOR_OK);
    ck_assert_uint_eq(enc.len, CANTOR_OBS_REC_HEADER + obs_store->n_entries * CANTOR_OBS_REC_ENTRY);
    ck_assert_int_eq(cantor_obs_rec_decode(enc.data, enc.len, 9, &back), CANTOR_OK);
    ck_assert_uint_eq(back->block_number, 9);
    ck_assert_uint_eq(back->n_entries, obs_store->n_entries);
    for (size_t i = 0; i < back->n_entries; i++)
        ck_assert_int_eq(cantor_delta_entry_cmp(&back->entries[i], &obs_store->entries[i]), 0);
    ck_assert_mem_eq(back->entries[3].new_val, obs_store->entries[3].new_val, 32);
    cantor_delta_free(back);
    back = NULL;
    /* truncated, trailing byte, wrong version, unsorted, zero value, slot on a non-storage key */
    ck_assert_int_eq(cantor_obs_rec_decode(enc.data, enc.len - 1, 9, &back), CANTOR_ERR_CORRUPT);
    bad = malloc(enc.len + 1);
    memcpy(bad, enc.data, enc.len);
    bad[enc.len] = 0;
    ck_assert_int_eq(cantor_obs_rec_decode(bad, enc.len + 1, 9, &back), CANTOR_ERR_CORRUPT);
    bad[0] = 2;
    ck_assert_int_eq(cantor_obs_rec_decode(bad, enc.len, 9, &back), CANTOR_ERR_CORRUPT);
    memcpy(bad, enc.data, enc.len);
    memcpy(bad + CANTOR_OBS_REC_HEADER, enc.data + CANTOR_OBS_REC_HEADER + CANTOR_OBS_REC_ENTRY,
           CANTOR_OBS_REC_ENTRY);
    memcpy(bad + CANTOR_OBS_REC_HEADER + CANTOR_OBS_REC_ENTRY, enc.data + CANTOR_OBS_REC_HEADER,
           CANTOR_OBS_REC_ENTRY);
    ck_assert_int_eq(cantor_obs_rec_decode(bad, enc.len, 9, &back), CANTOR_ERR_CORRUPT);
    memcpy(bad, enc.data, enc.len);
    memset(bad + CANTOR_OBS_REC_HEADER + CANTOR_OBS_REC_ENTRY - 32, 0, 32);
    ck_assert_int_eq(cantor_obs_rec_decode(bad, enc.len, 9, &back), CANTOR_ERR_CORRUPT);
    memcpy(bad, enc.data, enc.len);
    bad[CANTOR_OBS_REC_HEADER + 21 + 31] = 1; /* entry 0 is a balance */
    ck_assert_int_eq(cantor_obs_rec_decode(bad, enc.len, 9, &back), CANTOR_ERR_CORRUPT);
    ck_assert_ptr_null(back);
    free(bad);
    cantor_buf_release(&enc);
    obs_free();
}
END_TEST

START_TEST(test_observed_in_tree)
{
    struct cantor_roots_rec want[N_BLK];
    uint8_t nk[CANTOR_NODES_KEY_NUM_LEN];
    const uint8_t pkey = CANTOR_NODES_KEY_PENDING;
    const struct cantor_delta_entry *ov = &fx.d[1]->entries[fx.d[1]->n_entries / 3];
    struct cantor_proof_doc *doc = NULL;
    struct cantor_delta *rec = NULL;

    obs_build();
    want_with_obs(1, want);
    commit_open(0);
    apply(0, true);
    apply_obs(1, true, obs_hook, obs_store);
    apply(2, true);
    check_roots_eq(N_BLK, want);
    check_obs_proofs(1, N_BLK);
    /* the key the block both observed and changed: its delta value */
    ck_assert_int_eq(cantor_commit_prove_state(fx.c, FIRST + 1, ov->addr, ov->kind, ov->slot, &doc),
                     CANTOR_OK);
    ck_assert(doc->present);
    ck_assert_mem_eq(doc->value, ov->new_val, 32);
    verify_ok(doc);
    cantor_proof_doc_free(doc);
    /* the record of block 1 is what entered the tree (all of obs_hook) */
    ck_assert_int_eq(cantor_nodes_get_obs(fx.s, FIRST + 1, &rec), CANTOR_OK);
    ck_assert_uint_eq(rec->n_entries, obs_hook->n_entries);
    cantor_delta_free(rec);
    rec = NULL;
    ck_assert_int_eq(cantor_nodes_get_obs(fx.s, FIRST, &rec), CANTOR_ERR_NOT_FOUND);

    /* roll back to block 0: the observations wait in the pending record (the store keeps them) */
    rollback();
    rollback();
    check_roots(1);
    cantor_nodes_key_obs(FIRST + 1, nk);
    ck_assert(!have_raw(nk, sizeof(nk)));
    ck_assert(have_raw(&pkey, 1));
    ck_assert_int_eq(cantor_nodes_get_pending_obs(fx.s, &rec), CANTOR_OK);
    ck_assert_uint_eq(rec->n_entries, obs_hook->n_entries);
    cantor_delta_free(rec);
    rec = NULL;
    /* a restart in between keeps them (durable) */
    cantor_commit_free(fx.c);
    fx.c = NULL;
    cantor_store_close(fx.s);
    store_open();
    commit_open(0);
    /* block 1 again: cantord does not observe again (the store knows), the pending record supplies */
    apply(1, true);
    ck_assert(!have_raw(&pkey, 1));
    ck_assert(have_raw(nk, sizeof(nk)));
    apply(2, true);
    check_roots_eq(N_BLK, want);
    check_obs_proofs(1, N_BLK);

    /* backfill from the store alone (deltas + observation records) gives the live roots */
    for (int b = 1; b < N_BLK; b++) {
        cantor_nodes_key_roots(FIRST + (uint64_t)b, nk);
        del_raw(nk, sizeof(nk));
    }
    cantor_commit_free(fx.c);
    fx.c = NULL;
    commit_open(0);
    check_roots_eq(N_BLK, want);
    check_obs_proofs(1, N_BLK);
    obs_free();
}
END_TEST

START_TEST(test_observed_upgrade)
{
    struct cantor_roots_rec want[N_BLK];
    const uint8_t vkey = CANTOR_NODES_KEY_LAYOUT, pkey = CANTOR_NODES_KEY_PENDING;
    struct cantor_delta *rec = NULL;

    obs_build();
    want_with_obs(2, want);
    /* an older cantord: observations in the store at block 1, roots without them, no records */
    commit_open(0);
    ck_assert(have_raw(&vkey, 1));
    apply(0, true);
    apply_obs(1, true, NULL, obs_store);
    check_roots(2);
    check_obs_proofs(N_BLK, 2); /* not in the tree: refused everywhere */
    cantor_commit_free(fx.c);
    fx.c = NULL;
    del_raw(&vkey, 1);
    /* the upgrade makes them pending once; they enter the tree at the next block */
    commit_open(0);
    ck_assert(have_raw(&vkey, 1));
    ck_assert_int_eq(cantor_nodes_get_pending_obs(fx.s, &rec), CANTOR_OK);
    ck_assert_uint_eq(rec->n_entries, obs_store->n_entries);
    cantor_delta_free(rec);
    cantor_commit_free(fx.c);
    fx.c = NULL;
    commit_open(0); /* marked: no second scan, the pending record is unchanged */
    apply(2, true);
    ck_assert(!have_raw(&pkey, 1));
    check_roots_eq(N_BLK, want);
    check_obs_proofs(2, N_BLK);
    obs_free();
}
END_TEST

/* ---- the HTTP endpoints (rpc/handlers_proofs.c) on 127.0.0.1, port 0 ---- */

#define TOKEN "commit-test-token"

struct reply {
    long status;
    char *body;
    size_t len;
};

static char base_url[64];

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    char *nb = realloc(r->body, r->len + size * n + 1);

    ck_assert_ptr_nonnull(nb);
    memcpy(nb + r->len, p, size * n);
    r->body = nb;
    r->len += size * n;
    r->body[r->len] = 0;
    return size * n;
}

static struct reply http(const char *method, const char *path, const char *body, size_t body_len, bool token)
{
    struct reply r = {0};
    struct curl_slist *hdr = NULL;
    char url[512];
    CURL *c = curl_easy_init();

    ck_assert_ptr_nonnull(c);
    snprintf(url, sizeof(url), "%s%s", base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (token)
        hdr = curl_slist_append(hdr, "Authorization: Bearer " TOKEN);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = calloc(1, 1);
    return r;
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    cantor_hex_encode(p, n, out);
}

/* GET a proof, check it verifies locally, then through POST /v1/verify, then tampered. */
static void http_proof_ok(const char *path)
{
    struct reply r = http("GET", path, NULL, 0, false), v;
    struct cantor_proof_doc *doc = NULL;
    char *bad;
    const char *p;

    ck_assert_msg(r.status == 200, "%s: %ld %s", path, r.status, r.body);
    ck_assert_int_eq(cantor_proof_parse(r.body, r.len, &doc), CANTOR_OK);
    verify_ok(doc);
    cantor_proof_doc_free(doc);
    v = http("POST", "/v1/verify", r.body, r.len, false);
    ck_assert_int_eq(v.status, 200);
    ck_assert_msg(strstr(v.body, "\"valid\": true") || strstr(v.body, "\"valid\":true"), "%s", v.body);
    free(v.body);
    /* flip one hex digit of the block's state root: the MMR path no longer matches */
    bad = strdup(r.body);
    p = strstr(bad, "\"stateRoot\"");
    ck_assert_ptr_nonnull(p);
    p = strchr(p + 11, 'x');
    bad[p - bad + 3] = bad[p - bad + 3] == '0' ? '1' : '0';
    v = http("POST", "/v1/verify", bad, strlen(bad), false);
    ck_assert_int_eq(v.status, 200);
    ck_assert_msg(strstr(v.body, "\"valid\": false") || strstr(v.body, "\"valid\":false"), "%s", v.body);
    free(v.body);
    free(bad);
    free(r.body);
}

START_TEST(test_http)
{
    struct cantor_http_opts ho = {
        .port = 0, .max_body = 2u << 20, .threads = 2, .admin_token = TOKEN, .public_reads = true};
    struct cantor_api_ctx ctx;
    struct cantor_http_server *srv = NULL;
    const struct cantor_http_route *routes;
    const struct cantor_delta_entry *e = NULL;
    struct cantor_proof_doc *doc = NULL;
    struct cantor_buf abi;
    struct reply r;
    char path[512], a[43], sl[67];
    size_t n_routes;

    commit_open(0);
    for (int b = 0; b < N_BLK; b++)
        apply(b, true);
    ctx = (struct cantor_api_ctx){.store = fx.s,
                                  .chain_id = 1,
                                  .start_time = time(NULL),
                                  .version = "test",
                                  .commit = cantor_commit_view(fx.c)};
    routes = cantor_api_routes(&n_routes);
    ck_assert_int_eq(cantor_http_start(&ho, routes, n_routes, &ctx, &srv), CANTOR_OK);
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", cantor_http_port(srv));

    r = http("GET", "/v1/checkpoint/keys", NULL, 0, false);
    ck_assert_int_eq(r.status, 200);
    hex_of(fx.keys->ed_pk, 32, sl);
    ck_assert_ptr_nonnull(strstr(r.body, sl));
    free(r.body);
    r = http("GET", "/v1/checkpoint/latest", NULL, 0, false);
    ck_assert_int_eq(r.status, 404); /* interval 0: nothing signed yet */
    free(r.body);
    r = http("POST", "/v1/checkpoint", NULL, 0, false);
    ck_assert_int_eq(r.status, 401);
    free(r.body);
    r = http("POST", "/v1/checkpoint", NULL, 0, true);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "0x1048429") != NULL, "%s", r.body);
    free(r.body);
    r = http("GET", "/v1/checkpoint/17073193", NULL, 0, false);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    r = http("GET", "/v1/checkpoint", NULL, 0, false);
    ck_assert_int_eq(r.status, 200);
    free(r.body);

    /* a storage entry and an account entry of the oldest block */
    for (size_t i = 0; i < fx.d[0]->n_entries; i++) {
        e = &fx.d[0]->entries[i];
        if (e->kind == CANTOR_KIND_STORAGE)
            break;
    }
    ck_assert_uint_eq(e->kind, CANTOR_KIND_STORAGE);
    hex_of(e->addr, 20, a);
    hex_of(e->slot, 32, sl);
    snprintf(path, sizeof(path), "/v1/proofs/delta/%llu/%s/storage/%s", (unsigned long long)FIRST, a, sl);
    http_proof_ok(path);
    snprintf(path, sizeof(path), "/v1/proofs/state/%s/storage/%s?block=%llu", a, sl,
             (unsigned long long)FIRST);
    http_proof_ok(path);
    snprintf(path, sizeof(path), "/v1/proofs/state/%s/storage/%s", a, sl); /* latest */
    http_proof_ok(path);
    for (size_t i = 0; i < fx.d[0]->n_entries; i++) {
        e = &fx.d[0]->entries[i];
        if (e->kind != CANTOR_KIND_STORAGE)
            break;
    }
    ck_assert_uint_ne(e->kind, CANTOR_KIND_STORAGE);
    hex_of(e->addr, 20, a);
    snprintf(path, sizeof(path), "/v1/proofs/delta/%llu/%s?kind=%s", (unsigned long long)FIRST, a,
             cantor_delta_kind_name(e->kind));
    http_proof_ok(path);
    snprintf(path, sizeof(path), "/v1/proofs/state/%s?kind=nonce&block=%llu", a,
             (unsigned long long)FIRST + 1);
    http_proof_ok(path);

    /* errors */
    snprintf(path, sizeof(path), "/v1/proofs/delta/%llu/%s", (unsigned long long)FIRST, a);
    r = http("GET", path, NULL, 0, false);
    ck_assert_int_eq(r.status, 400); /* kind missing */
    free(r.body);
    snprintf(path, sizeof(path), "/v1/proofs/delta/%llu/0x%040x?kind=balance", (unsigned long long)FIRST, 0);
    r = http("GET", path, NULL, 0, false);
    ck_assert_int_eq(r.status, 404);
    free(r.body);
    snprintf(path, sizeof(path), "/v1/proofs/state/%s?kind=bogus", a);
    r = http("GET", path, NULL, 0, false);
    ck_assert_int_eq(r.status, 400);
    free(r.body);
    r = http("POST", "/v1/verify", "{\"version\": 2}", 14, false);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "false"));
    free(r.body);

    /* ABI form: the offset word, then the head; a delta proof has 19 head words */
    for (size_t i = 0; i < fx.d[0]->n_entries; i++) {
        e = &fx.d[0]->entries[i];
        if (e->kind == CANTOR_KIND_STORAGE)
            break;
    }
    hex_of(e->addr, 20, a);
    snprintf(path, sizeof(path), "/v1/proofs/delta/%llu/%s/storage/%s?format=abi", (unsigned long long)FIRST,
             a, sl);
    r = http("GET", path, NULL, 0, false);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(cantor_commit_prove_delta(fx.c, FIRST, e->addr, e->kind, e->slot, &doc), CANTOR_OK);
    cantor_buf_init(&abi, 1u << 16);
    ck_assert_int_eq(cantor_api_proof_abi(doc, &abi), CANTOR_OK);
    ck_assert_uint_eq(abi.len, 32 * (1 + 19 + 1 + doc->n_delta_path + 1 + doc->mmr.n_siblings + 1 +
                                     doc->mmr.n_peaks + 1 + 3));
    ck_assert_uint_eq(abi.data[31], 0x20);
    ck_assert_mem_eq(abi.data + 32 + 12 + 32, e->addr, 20);              /* word 1: address */
    ck_assert_mem_eq(abi.data + 32 + 32 * 7, doc->block.delta_root, 32); /* word 7: deltaRoot */
    ck_assert_mem_eq(abi.data + 32 + 32 * 17, doc->checkpoint.mmr_root, 32);
    {
        char *hex = malloc(2 * abi.len + 3);

        hex_of(abi.data, abi.len, hex);
        ck_assert_ptr_nonnull(strstr(r.body, hex));
        free(hex);
    }
    cantor_buf_release(&abi);
    cantor_proof_doc_free(doc);
    free(r.body);
    r = http("GET", "/metrics", NULL, 0, false);
    ck_assert_ptr_nonnull(strstr(r.body, "cantor_roots_ms "));
    free(r.body);
    cantor_http_stop(srv);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("commit");
    TCase *tc = tcase_create("commit");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roots_match_core);
    tcase_add_test(tc, test_proofs_verify);
    tcase_add_test(tc, test_rollback);
    tcase_add_test(tc, test_restart);
    tcase_add_test(tc, test_backfill);
    tcase_add_test(tc, test_keys_created);
    tcase_add_test(tc, test_obs_record_codec);
    tcase_add_test(tc, test_observed_in_tree);
    tcase_add_test(tc, test_observed_upgrade);
    tcase_add_test(tc, test_http);
    suite_add_tcase(s, tc);
    {
        int rc;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = tu_run_suite(s);
        curl_global_cleanup();
        return rc;
    }
}
