/*
 * test_follower.c - the follower (daemon/follower) on recorded mainnet blocks 17,073,191..193: the
 * mock node (tests/mocknode) serves a synthetic chain of headers over those numbers with the REAL
 * recorded state diffs (geth prestate diffMode test_32..34, parity stateDiff test_37/38), and the
 * follower ingests them into a real store (RocksDB in a mkdtemp directory, and the in-memory
 * backend). Expected values come from parsing the recorded files directly, not from the follower.
 * Covered: step loop and thread, both diff formats, reorgs, lying headers and diffs, transport
 * faults, confirmations, stop_at and stop during catch-up. Each test (forked by Check) starts its
 * own mock on 127.0.0.1, port 0.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/delta.h"
#include "core/delta_json.h"
#include "daemon/follower.h"
#include "rpc/ethrpc.h"
#include "storage/store.h"
#include "tests/mocknode/mocknode.h"
#include "testutil.h"

#define FIRST    17073191ull
#define LAST     17073193ull
#define N_BLOCKS 3
#define GETH_DIR "erigon-rpc-tests/mainnet/debug_traceBlockByNumber"
#define PAR_DIR  "erigon-rpc-tests/mainnet/trace_replayBlockTransactions"

static const char *const geth_files[N_BLOCKS] = {GETH_DIR "/test_32.json", GETH_DIR "/test_33.json",
                                                 GETH_DIR "/test_34.json"};
static const char *const parity_files[2] = {PAR_DIR "/test_37.json", PAR_DIR "/test_38.json"};

static struct cantor_mocknode *mock;
static uint16_t mock_port;
static char mock_url[64];
/* Expected deltas, parsed from the recordings once in the parent. */
static struct cantor_delta *geth_delta[N_BLOCKS], *parity_delta[2];

/* One follower over one store and one RPC client. */
struct rig {
    char dir[64]; /* RocksDB directory, "" for the in-memory backend */
    struct cantor_store *store;
    struct cantor_ethrpc *rpc;
    struct cantor_follower *f;
};

static void load_all(void)
{
    ck_assert_int_eq(cantor_mocknode_new(&mock), CANTOR_OK);
    ck_assert_int_eq(cantor_mocknode_load(mock, tu_data_path(GETH_DIR)), CANTOR_OK);
    ck_assert_int_eq(cantor_mocknode_load(mock, tu_data_path(PAR_DIR)), CANTOR_OK);
    for (int i = 0; i < N_BLOCKS; i++) {
        ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(geth_files[i]), &geth_delta[i]), CANTOR_OK);
        ck_assert_uint_eq(geth_delta[i]->block_number, FIRST + (uint64_t)i);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(parity_files[i]), &parity_delta[i]),
                         CANTOR_OK);
        ck_assert_uint_eq(parity_delta[i]->block_number, FIRST + (uint64_t)i);
    }
}

static void unload_all(void)
{
    cantor_mocknode_free(mock);
    mock = NULL;
    for (int i = 0; i < N_BLOCKS; i++)
        cantor_delta_free(geth_delta[i]);
    for (int i = 0; i < 2; i++)
        cantor_delta_free(parity_delta[i]);
}

static void synth(uint64_t from, uint64_t to, enum cantor_mock_synth_format fmt)
{
    enum cantor_mock_synth_format got;

    ck_assert_int_eq(cantor_mocknode_set_synthetic(mock, from, to, fmt, &got), CANTOR_OK);
    ck_assert_int_eq(got, fmt);
}

/* Per test: a fresh server on a free port, serving the geth-format chain 191..193. */
static void mock_start(void)
{
    cantor_mocknode_reset(mock);
    synth(FIRST, LAST, CANTOR_MOCK_SYNTH_GETH);
    ck_assert_int_eq(cantor_mocknode_start(mock, 0, &mock_port), CANTOR_OK);
    snprintf(mock_url, sizeof(mock_url), "http://127.0.0.1:%u/", mock_port);
}

static void mock_stop(void)
{
    cantor_mocknode_stop(mock);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void open_store(struct rig *r, bool rocks)
{
    struct cantor_store_opts so = {.chain_id = 1};

    r->dir[0] = '\0';
    if (rocks) {
        snprintf(r->dir, sizeof(r->dir), "/tmp/cantor-follower-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(r->dir));
        so.path = r->dir;
    }
    ck_assert_int_eq(cantor_store_open(&so, &r->store), CANTOR_OK);
}

static void rig_open(struct rig *r, bool rocks, const struct cantor_follower_opts *fo, long timeout_ms)
{
    struct cantor_ethrpc_opts ro = {
        .url = mock_url,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = 500,
        .max_retries = 1,
        .backoff_initial_ms = 5,
        .backoff_max_ms = 20,
    };

    memset(r, 0, sizeof(*r));
    open_store(r, rocks);
    ck_assert_int_eq(cantor_ethrpc_new(&ro, &r->rpc), CANTOR_OK);
    ck_assert_int_eq(cantor_follower_new(fo, r->store, r->rpc, &r->f), CANTOR_OK);
}

static void rig_close(struct rig *r)
{
    cantor_follower_free(r->f);
    cantor_ethrpc_free(r->rpc);
    cantor_store_close(r->store);
    if (r->dir[0])
        nftw(r->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    memset(r, 0, sizeof(*r));
}

static struct cantor_follower_opts from_first(uint64_t batch)
{
    struct cantor_follower_opts o = {
        .start = CANTOR_FOLLOW_FROM_NUMBER,
        .start_number = FIRST,
        .poll_interval_ms = 20,
        .batch_size = batch,
    };
    return o;
}

static uint64_t store_head(struct cantor_store *s, bool *ret_empty)
{
    uint64_t head = 0;
    uint8_t hash[32];

    ck_assert_int_eq(cantor_store_head(s, &head, hash, ret_empty), CANTOR_OK);
    return head;
}

/* Step until the store's head is `target` (bounded); every step must succeed. */
static unsigned step_until(struct rig *r, uint64_t target)
{
    unsigned steps = 0;
    bool empty = true;

    while (steps < 50 && (store_head(r->store, &empty) != target || empty)) {
        uint64_t applied = 0;
        enum cantor_err err = cantor_follower_step(r->f, &applied);
        struct cantor_follower_status st;

        cantor_follower_get_status(r->f, &st);
        ck_assert_msg(err == CANTOR_OK, "step %u: %s (%s)", steps, cantor_err_str(err), st.last_error);
        steps++;
    }
    ck_assert_uint_eq(store_head(r->store, &empty), target);
    ck_assert(!empty);
    return steps;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Poll the thread's status until the store holds `target` and the follower says synced. */
static void wait_synced(struct rig *r, uint64_t target, double max_s)
{
    struct cantor_follower_status st;
    double t0 = now_s();

    for (;;) {
        cantor_follower_get_status(r->f, &st);
        if (st.synced && !st.store_empty && st.store_head == target)
            break;
        ck_assert_msg(now_s() - t0 < max_s, "not synced to %llu after %.0f s (head %llu, last error: %s)",
                      (unsigned long long)target, max_s, (unsigned long long)st.store_head, st.last_error);
        sleep_ms(10);
    }
}

static void expect_value(struct cantor_store *s, const struct cantor_delta_entry *e, uint64_t block,
                         const uint8_t want[32])
{
    uint8_t got[32];
    bool known = false;

    ck_assert_int_eq(cantor_store_get_value(s, e->addr, e->kind,
                                            e->kind == CANTOR_KIND_STORAGE ? e->slot : NULL, block, got,
                                            &known),
                     CANTOR_OK);
    ck_assert_msg(known, "value at %llu unknown", (unsigned long long)block);
    ck_assert_mem_eq(got, want, 32);
}

/*
 * A key the store never saw change: unknown, unless an earlier block touched its account without
 * changing it, in which case the follower proved and recorded ("observed") its value, which must then
 * be the value it had before the rolled-back change. Returns whether it was known.
 */
static bool expect_unknown_or_old(struct cantor_store *s, const struct cantor_delta_entry *e, uint64_t block)
{
    uint8_t got[32];
    bool known = true;

    ck_assert_int_eq(cantor_store_get_value(s, e->addr, e->kind,
                                            e->kind == CANTOR_KIND_STORAGE ? e->slot : NULL, block, got,
                                            &known),
                     CANTOR_OK);
    if (known)
        ck_assert_mem_eq(got, e->old_val, 32);
    return known;
}

static bool in_delta(const struct cantor_delta *d, const struct cantor_delta_entry *e)
{
    return bsearch(e, d->entries, d->n_entries, sizeof(*e),
                   (int (*)(const void *, const void *))cantor_delta_entry_cmp) != NULL;
}

static void expect_delta(struct cantor_store *s, uint64_t n, const struct cantor_delta *want)
{
    struct cantor_delta *got = NULL;

    ck_assert_int_eq(cantor_store_get_delta(s, n, &got), CANTOR_OK);
    ck_assert_uint_eq(got->n_entries, want->n_entries);
    if (want->n_entries)
        ck_assert_mem_eq(got->entries, want->entries, want->n_entries * sizeof(*want->entries));
    cantor_delta_free(got);
}

/*
 * Blocks FIRST..upto are in the store exactly as the recordings say: hash as the mock serves it,
 * the canonical delta, and for every entry the value at its block = new, at block-1 = old (block
 * FIRST-1 precedes the first followed block: unknown). Returns the entries checked.
 */
static size_t check_chain(struct cantor_store *s, struct cantor_delta *const want[], uint64_t upto)
{
    size_t checked = 0;

    for (uint64_t n = FIRST; n <= upto; n++) {
        const struct cantor_delta *d = want[n - FIRST];
        uint8_t hash[32], served[32];

        ck_assert_int_eq(cantor_store_get_block_hash(s, n, hash), CANTOR_OK);
        ck_assert_int_eq(cantor_mocknode_synth_hash(mock, n, served), CANTOR_OK);
        ck_assert_mem_eq(hash, served, 32);
        expect_delta(s, n, d);
        for (size_t i = 0; i < d->n_entries; i++) {
            const struct cantor_delta_entry *e = &d->entries[i];

            expect_value(s, e, n, e->new_val);
            if (n > FIRST) {
                expect_value(s, e, n - 1, e->old_val);
            } else {
                uint8_t v[32];
                bool known = true;
                enum cantor_err err = cantor_store_get_value(
                    s, e->addr, e->kind, e->kind == CANTOR_KIND_STORAGE ? e->slot : NULL, n - 1, v, &known);

                ck_assert(err == CANTOR_ERR_NOT_FOUND || (err == CANTOR_OK && !known));
            }
            checked++;
        }
    }
    return checked;
}

static size_t entries_upto(struct cantor_delta *const want[], uint64_t upto)
{
    size_t n = 0;

    for (uint64_t b = FIRST; b <= upto; b++)
        n += want[b - FIRST]->n_entries;
    return n;
}

/* Nothing above `head` was stored. */
static void check_nothing_after(struct cantor_store *s, uint64_t head)
{
    uint8_t hash[32];

    ck_assert_int_eq(cantor_store_get_block_hash(s, head + 1, hash), CANTOR_ERR_NOT_FOUND);
}

/* ---- ingest ---- */

START_TEST(test_ingest_steps)
{
    struct cantor_follower_opts o = from_first(2);
    struct cantor_follower_status st;
    struct rig r;
    size_t checked;
    unsigned steps;
    uint64_t applied = 99;

    rig_open(&r, _i == 1, &o, 5000);
    steps = step_until(&r, LAST);
    ck_assert_uint_eq(steps, 2); /* batch of 2, then 1 */
    cantor_follower_get_status(r.f, &st);
    ck_assert(st.caps_known);
    ck_assert_int_eq(st.caps.diff_format, CANTOR_DIFF_GETH);
    ck_assert_uint_eq(st.caps.chain_id, 1);
    ck_assert_uint_eq(st.blocks_applied, N_BLOCKS);
    ck_assert_uint_eq(st.entries_applied, entries_upto(geth_delta, LAST));
    ck_assert_uint_eq(st.rejected_blocks, 0);
    ck_assert_uint_eq(st.reorgs, 0);
    ck_assert(st.synced);
    checked = check_chain(r.store, geth_delta, LAST);
    ck_assert_uint_eq(checked, entries_upto(geth_delta, LAST));
    /* Synced: a further step applies nothing and changes nothing. */
    ck_assert_int_eq(cantor_follower_step(r.f, &applied), CANTOR_OK);
    ck_assert_uint_eq(applied, 0);
    check_nothing_after(r.store, LAST);
    printf("follower %s: %d blocks, %zu entries (%zu+%zu+%zu), %llu delta bytes, %u steps\n",
           _i ? "rocksdb" : "memory", N_BLOCKS, checked, geth_delta[0]->n_entries, geth_delta[1]->n_entries,
           geth_delta[2]->n_entries, (unsigned long long)st.bytes_applied, steps);
    rig_close(&r);
}
END_TEST

START_TEST(test_ingest_thread)
{
    struct cantor_follower_opts o = from_first(1);
    struct cantor_follower_status st;
    struct rig r;

    rig_open(&r, _i == 1, &o, 5000);
    ck_assert_int_eq(cantor_follower_start(r.f), CANTOR_OK);
    ck_assert_int_eq(cantor_follower_start(r.f), CANTOR_ERR_BUSY);
    wait_synced(&r, LAST, 60);
    cantor_follower_stop(r.f);
    cantor_follower_get_status(r.f, &st);
    ck_assert_uint_eq(st.blocks_applied, N_BLOCKS);
    ck_assert_uint_eq(st.rejected_blocks, 0);
    ck_assert_uint_eq(check_chain(r.store, geth_delta, LAST), entries_upto(geth_delta, LAST));
    rig_close(&r); /* joins the thread */
}
END_TEST

/* 191..192 served as parity stateDiff and as geth diffMode give the same store. */
START_TEST(test_formats_agree)
{
    struct cantor_follower_opts o = from_first(8);
    struct cantor_follower_status st;
    struct rig par, geth;
    size_t same = 0;

    synth(FIRST, FIRST + 1, CANTOR_MOCK_SYNTH_PARITY);
    rig_open(&par, _i == 1, &o, 5000);
    step_until(&par, FIRST + 1);
    cantor_follower_get_status(par.f, &st);
    ck_assert_int_eq(st.caps.diff_format, CANTOR_DIFF_PARITY);
    ck_assert_uint_eq(check_chain(par.store, parity_delta, FIRST + 1), entries_upto(parity_delta, FIRST + 1));

    synth(FIRST, FIRST + 1, CANTOR_MOCK_SYNTH_GETH);
    rig_open(&geth, _i == 1, &o, 5000);
    step_until(&geth, FIRST + 1);
    cantor_follower_get_status(geth.f, &st);
    ck_assert_int_eq(st.caps.diff_format, CANTOR_DIFF_GETH);

    for (uint64_t n = FIRST; n <= FIRST + 1; n++) {
        uint8_t *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;

        ck_assert_int_eq(cantor_store_get_delta_bytes(par.store, n, &a, &alen), CANTOR_OK);
        ck_assert_int_eq(cantor_store_get_delta_bytes(geth.store, n, &b, &blen), CANTOR_OK);
        ck_assert_uint_eq(alen, blen);
        ck_assert_mem_eq(a, b, alen);
        free(a);
        free(b);
        /* And every key either format touched reads the same at both blocks in both stores. */
        for (size_t i = 0; i < parity_delta[n - FIRST]->n_entries; i++) {
            const struct cantor_delta_entry *e = &parity_delta[n - FIRST]->entries[i];

            for (uint64_t at = FIRST; at <= FIRST + 1; at++) {
                uint8_t va[32], vb[32];
                bool ka = false, kb = false;
                const uint8_t *slot = e->kind == CANTOR_KIND_STORAGE ? e->slot : NULL;

                ck_assert_int_eq(cantor_store_get_value(par.store, e->addr, e->kind, slot, at, va, &ka),
                                 CANTOR_OK);
                ck_assert_int_eq(cantor_store_get_value(geth.store, e->addr, e->kind, slot, at, vb, &kb),
                                 CANTOR_OK);
                ck_assert(ka && kb);
                ck_assert_mem_eq(va, vb, 32);
                same++;
            }
        }
    }
    printf("follower formats: parity and geth stores agree on %zu values of blocks %llu..%llu\n", same,
           (unsigned long long)FIRST, (unsigned long long)FIRST + 1);
    rig_close(&par);
    rig_close(&geth);
}
END_TEST

/* ---- reorgs ---- */

/* _i = 0: the tip is replaced by an empty block; 1: the last two by a branch with the same diffs. */
START_TEST(test_reorg_tip)
{
    struct cantor_follower_opts o = from_first(8);
    struct cantor_follower_status st;
    uint8_t before[32], after[32], stored[32];
    uint64_t depth = _i == 0 ? 1 : 2;
    size_t seen = 0, unseen = 0;
    struct rig r;

    rig_open(&r, true, &o, 5000);
    step_until(&r, LAST);
    ck_assert_int_eq(cantor_mocknode_synth_hash(mock, LAST, before), CANTOR_OK);
    ck_assert_int_eq(cantor_mocknode_synth_reorg(
                         mock, depth, _i == 0 ? CANTOR_MOCK_SYNTH_DIFF_EMPTY : CANTOR_MOCK_SYNTH_DIFF_SAME),
                     CANTOR_OK);
    ck_assert_int_eq(cantor_mocknode_synth_hash(mock, LAST, after), CANTOR_OK);
    ck_assert_mem_ne(before, after, 32);

    /* One step heals (rolls back until our head is on the node's chain) and re-applies. */
    step_until(&r, LAST);
    ck_assert_int_eq(cantor_store_get_block_hash(r.store, LAST, stored), CANTOR_OK);
    if (memcmp(stored, after, 32) != 0) {
        uint64_t applied;

        ck_assert_int_eq(cantor_follower_step(r.f, &applied), CANTOR_OK);
        ck_assert_int_eq(cantor_store_get_block_hash(r.store, LAST, stored), CANTOR_OK);
    }
    ck_assert_mem_eq(stored, after, 32);
    cantor_follower_get_status(r.f, &st);
    ck_assert_uint_eq(st.reorgs, 1);
    ck_assert_uint_eq(st.blocks_rolled_back, depth);
    ck_assert_uint_eq(st.blocks_applied, N_BLOCKS + depth);
    ck_assert_uint_eq(st.rejected_blocks, 0);
    if (_i == 0) {
        struct cantor_delta *empty = NULL;

        /* The new tip changed nothing: every key of the old tip reads its value before it. */
        ck_assert_int_eq(cantor_delta_new(LAST, &empty), CANTOR_OK);
        expect_delta(r.store, LAST, empty);
        cantor_delta_free(empty);
        check_chain(r.store, geth_delta, LAST - 1);
        for (size_t i = 0; i < geth_delta[2]->n_entries; i++) {
            const struct cantor_delta_entry *e = &geth_delta[2]->entries[i];

            /* A key the old tip changed first reads its old value if it was observed, else unknown. */
            if (in_delta(geth_delta[0], e) || in_delta(geth_delta[1], e)) {
                expect_value(r.store, e, LAST, e->old_val);
                seen++;
            } else if (!expect_unknown_or_old(r.store, e, LAST)) {
                unseen++;
            }
        }
        ck_assert_uint_gt(seen, 0);
        ck_assert_uint_gt(unseen, 0);
    } else {
        check_chain(r.store, geth_delta, LAST); /* the hashes checked are the new branch's */
    }
    rig_close(&r);
}
END_TEST

/* ---- lies ---- */

START_TEST(test_lying_header)
{
    struct cantor_follower_opts o = from_first(1);
    struct cantor_follower_status st;
    uint64_t applied = 0;
    struct rig r;

    rig_open(&r, _i == 1, &o, 5000);
    ck_assert_int_eq(cantor_mocknode_synth_lie(mock, FIRST + 1, CANTOR_MOCK_LIE_HEADER), CANTOR_OK);
    step_until(&r, FIRST);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(cantor_follower_step(r.f, &applied), CANTOR_ERR_MISMATCH);
        ck_assert_uint_eq(applied, 0);
    }
    cantor_follower_get_status(r.f, &st);
    ck_assert_uint_eq(st.rejected_blocks, 3);
    ck_assert_ptr_nonnull(strstr(st.last_error, "header rejected"));
    ck_assert_ptr_nonnull(strstr(st.last_error, "17073192"));
    ck_assert_uint_eq(store_head(r.store, NULL), FIRST);
    check_nothing_after(r.store, FIRST);
    ck_assert_uint_eq(check_chain(r.store, geth_delta, FIRST), geth_delta[0]->n_entries);

    ck_assert_int_eq(cantor_mocknode_synth_lie(mock, 0, CANTOR_MOCK_LIE_NONE), CANTOR_OK);
    step_until(&r, LAST);
    ck_assert_uint_eq(check_chain(r.store, geth_delta, LAST), entries_upto(geth_delta, LAST));
    rig_close(&r);
}
END_TEST

/* A diff whose old values contradict the previous block: _i = 0 geth, 1 parity. */
START_TEST(test_lying_diff)
{
    struct cantor_follower_opts o = from_first(1);
    struct cantor_follower_status st;
    struct cantor_delta *const *want = _i == 0 ? geth_delta : parity_delta;
    uint64_t last = _i == 0 ? LAST : FIRST + 1, applied = 0;
    struct rig r;

    if (_i == 1)
        synth(FIRST, FIRST + 1, CANTOR_MOCK_SYNTH_PARITY);
    rig_open(&r, true, &o, 5000);
    ck_assert_int_eq(cantor_mocknode_synth_lie(mock, FIRST + 1, CANTOR_MOCK_LIE_OLD_VALUES), CANTOR_OK);
    step_until(&r, FIRST);
    ck_assert_int_eq(cantor_follower_step(r.f, &applied), CANTOR_ERR_MISMATCH);
    ck_assert_uint_eq(applied, 0);
    cantor_follower_get_status(r.f, &st);
    ck_assert_uint_eq(st.rejected_blocks, 1);
    ck_assert_ptr_nonnull(strstr(st.last_error, "store refused"));
    ck_assert_ptr_nonnull(strstr(st.last_error, cantor_err_str(CANTOR_ERR_MISMATCH)));
    ck_assert_uint_eq(store_head(r.store, NULL), FIRST);
    check_nothing_after(r.store, FIRST);
    ck_assert_uint_eq(check_chain(r.store, want, FIRST), want[0]->n_entries);

    ck_assert_int_eq(cantor_mocknode_synth_lie(mock, 0, CANTOR_MOCK_LIE_NONE), CANTOR_OK);
    step_until(&r, last);
    ck_assert_uint_eq(check_chain(r.store, want, last), entries_upto(want, last));
    rig_close(&r);
}
END_TEST

/* ---- transport faults ---- */

/*
 * The client's timeout in the fault tests: short enough to keep the timeout case quick, long enough
 * that a loaded CI machine still moves the 6.5 MB recorded traces through the mock in time.
 */
#define FAULT_TIMEOUT_MS 2000

enum fault_case { F_GARBAGE, F_HTTP500, F_TIMEOUT, F_CLOSE, F_TRUNCATED, F_DOWN, F__COUNT };
static const char *const fault_case_names[F__COUNT] = {"garbage", "http 500",  "timeout",
                                                       "close",   "truncated", "node down"};

static void fault_on(enum fault_case c)
{
    struct cantor_mock_fault f = {0};

    switch (c) {
    case F_GARBAGE:
        f.mode = CANTOR_MOCK_FAULT_GARBAGE;
        break;
    case F_HTTP500:
        f.mode = CANTOR_MOCK_FAULT_HTTP_ERROR;
        f.status = 500;
        break;
    case F_TIMEOUT:
        f.mode = CANTOR_MOCK_FAULT_DELAY;
        f.delay_ms = 3000; /* beyond FAULT_TIMEOUT_MS */
        break;
    case F_CLOSE:
        f.mode = CANTOR_MOCK_FAULT_CLOSE;
        break;
    case F_TRUNCATED:
        f.mode = CANTOR_MOCK_FAULT_TRUNCATED;
        break;
    case F_DOWN:
    case F__COUNT:
        cantor_mocknode_stop(mock);
        return;
    }
    cantor_mocknode_set_fault(mock, &f);
}

static void fault_off(enum fault_case c)
{
    struct cantor_mock_fault none = {0};
    uint16_t port = 0;

    if (c == F_DOWN) {
        /* The node comes back on the same address. */
        ck_assert_int_eq(cantor_mocknode_start(mock, mock_port, &port), CANTOR_OK);
        ck_assert_uint_eq(port, mock_port);
        return;
    }
    cantor_mocknode_set_fault(mock, &none);
}

/* A fault before anything was applied and one in the middle: no crash, store unchanged, resumes. */
START_TEST(test_fault_steps)
{
    struct cantor_follower_opts o = from_first(1);
    struct cantor_follower_status st;
    enum fault_case c = (enum fault_case)_i;
    uint64_t applied = 0;
    bool empty = false;
    struct rig r;

    rig_open(&r, true, &o, FAULT_TIMEOUT_MS);
    /* Before capability detection. */
    fault_on(c);
    for (int k = 0; k < 2; k++)
        ck_assert_int_ne(cantor_follower_step(r.f, &applied), CANTOR_OK);
    store_head(r.store, &empty);
    ck_assert(empty);
    fault_off(c);
    step_until(&r, FIRST);
    /* In the middle of the chain. */
    fault_on(c);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_ne(cantor_follower_step(r.f, &applied), CANTOR_OK);
        ck_assert_uint_eq(applied, 0);
    }
    cantor_follower_get_status(r.f, &st);
    ck_assert_uint_ge(st.rpc_errors, 5);
    ck_assert_msg(st.last_error[0], "no last_error after %s", fault_case_names[c]);
    ck_assert_uint_eq(store_head(r.store, NULL), FIRST);
    check_nothing_after(r.store, FIRST);
    fault_off(c);
    step_until(&r, LAST);
    cantor_follower_get_status(r.f, &st);
    ck_assert_uint_eq(st.blocks_applied, N_BLOCKS); /* nothing lost, nothing applied twice */
    ck_assert_uint_eq(check_chain(r.store, geth_delta, LAST), entries_upto(geth_delta, LAST));
    printf("follower fault %s: %llu rpc errors, last: %s\n", fault_case_names[c],
           (unsigned long long)st.rpc_errors, st.last_error);
    rig_close(&r);
}
END_TEST

/* The thread rides out a fault with backoff and resumes by itself when it clears. */
START_TEST(test_fault_thread)
{
    struct cantor_follower_opts o = from_first(1);
    struct cantor_follower_status st;
    enum fault_case c = _i == 0 ? F_HTTP500 : F_DOWN;
    struct rig r;

    rig_open(&r, true, &o, FAULT_TIMEOUT_MS);
    fault_on(c);
    ck_assert_int_eq(cantor_follower_start(r.f), CANTOR_OK);
    sleep_ms(300);
    cantor_follower_get_status(r.f, &st);
    ck_assert(st.running);
    ck_assert(st.store_empty);
    ck_assert_uint_ge(st.rpc_errors, 1);
    fault_off(c);
    wait_synced(&r, LAST, 60);
    ck_assert_uint_eq(check_chain(r.store, geth_delta, LAST), entries_upto(geth_delta, LAST));
    rig_close(&r);
}
END_TEST

/* ---- confirmations, stop_at, stop ---- */

START_TEST(test_confirmations)
{
    struct cantor_follower_opts o = from_first(8);
    struct cantor_follower_status st;
    uint64_t applied = 0;
    struct rig r;

    o.confirmations = 1;
    cantor_mocknode_set_head(mock, FIRST + 1);
    rig_open(&r, false, &o, 5000);
    step_until(&r, FIRST);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(cantor_follower_step(r.f, &applied), CANTOR_OK);
        ck_assert_uint_eq(applied, 0);
    }
    cantor_follower_get_status(r.f, &st);
    ck_assert(st.synced);
    ck_assert_uint_eq(st.node_head, FIRST + 1);
    check_nothing_after(r.store, FIRST);
    /* Another block appears: the one below it is now confirmed, the new tip is not. */
    cantor_mocknode_set_head(mock, LAST);
    step_until(&r, FIRST + 1);
    ck_assert_int_eq(cantor_follower_step(r.f, &applied), CANTOR_OK);
    ck_assert_uint_eq(applied, 0);
    check_nothing_after(r.store, FIRST + 1);
    ck_assert_uint_eq(check_chain(r.store, geth_delta, FIRST + 1), entries_upto(geth_delta, FIRST + 1));
    rig_close(&r);
}
END_TEST

START_TEST(test_stop_at)
{
    struct cantor_follower_opts o = from_first(8);
    struct cantor_follower_status st;
    double t0 = now_s();
    struct rig r;

    o.stop_at = FIRST + 1;
    rig_open(&r, true, &o, 5000);
    ck_assert_int_eq(cantor_follower_start(r.f), CANTOR_OK);
    do {
        ck_assert_msg(now_s() - t0 < 60, "the thread did not stop at stop_at");
        sleep_ms(10);
        cantor_follower_get_status(r.f, &st);
    } while (st.running);
    ck_assert_uint_eq(store_head(r.store, NULL), FIRST + 1);
    check_nothing_after(r.store, FIRST + 1);
    ck_assert_uint_eq(check_chain(r.store, geth_delta, FIRST + 1), entries_upto(geth_delta, FIRST + 1));
    rig_close(&r);
}
END_TEST

/* Stop during a slow catch-up; the RocksDB store reopens at the same block boundary. */
START_TEST(test_stop_during_catchup)
{
    struct cantor_follower_opts o = from_first(1);
    struct cantor_mock_fault slow = {.mode = CANTOR_MOCK_FAULT_DELAY, .delay_ms = 60};
    struct cantor_store_opts so = {.chain_id = 1};
    struct cantor_follower_status st;
    double t0 = now_s();
    uint64_t head;
    bool empty = true;
    struct rig r;

    cantor_mocknode_set_fault(mock, &slow);
    rig_open(&r, true, &o, 5000);
    ck_assert_int_eq(cantor_follower_start(r.f), CANTOR_OK);
    do {
        ck_assert_msg(now_s() - t0 < 60, "no block applied");
        sleep_ms(5);
        cantor_follower_get_status(r.f, &st);
    } while (st.store_empty);
    cantor_follower_stop(r.f);
    cantor_follower_free(r.f);
    r.f = NULL;
    head = store_head(r.store, &empty);
    ck_assert(!empty);
    ck_assert_uint_ge(head, FIRST);
    ck_assert_uint_le(head, LAST);
    check_chain(r.store, geth_delta, head);
    check_nothing_after(r.store, head);
    cantor_store_close(r.store);
    so.path = r.dir;
    ck_assert_int_eq(cantor_store_open(&so, &r.store), CANTOR_OK);
    ck_assert_uint_eq(store_head(r.store, NULL), head);
    ck_assert_uint_eq(check_chain(r.store, geth_delta, head), entries_upto(geth_delta, head));
    printf("follower stop during catch-up: store at block %llu\n", (unsigned long long)head);
    rig_close(&r);
}
END_TEST

/* The synthetic chain itself: linked, re-hashing headers, real diffs, the other diff API absent. */
START_TEST(test_mock_chain)
{
    struct cantor_ethrpc_opts ro = {.url = mock_url, .max_retries = 0};
    struct cantor_node_caps caps;
    struct cantor_ethrpc *c = NULL;
    uint8_t prev[32] = {0};

    ck_assert_int_eq(cantor_ethrpc_new(&ro, &c), CANTOR_OK);
    ck_assert_int_eq(cantor_node_detect(c, &caps), CANTOR_OK);
    ck_assert_int_eq(caps.diff_format, CANTOR_DIFF_GETH);
    ck_assert(!caps.has_parity_trace);
    ck_assert_uint_eq(caps.head, LAST);
    for (uint64_t n = FIRST; n <= LAST; n++) {
        struct cantor_block_meta meta;
        json_t *b = NULL;
        uint8_t served[32];

        ck_assert_int_eq(cantor_node_get_block(c, n, &b), CANTOR_OK);
        ck_assert_int_eq(cantor_follower_block_meta(b, &meta), CANTOR_OK);
        ck_assert_int_eq(cantor_mocknode_synth_hash(mock, n, served), CANTOR_OK);
        ck_assert_mem_eq(meta.hash, served, 32);
        if (n > FIRST)
            ck_assert_mem_eq(meta.parent_hash, prev, 32);
        memcpy(prev, meta.hash, 32);
        cantor_block_meta_release(&meta);
        json_decref(b);
    }
    ck_assert_int_eq(cantor_node_get_block(c, LAST + 1, &(json_t *){NULL}), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_mocknode_set_synthetic(mock, FIRST, LAST, CANTOR_MOCK_SYNTH_PARITY, NULL),
                     CANTOR_ERR_NOT_FOUND); /* no parity recording of 17,073,193 */
    cantor_ethrpc_free(c);
}
END_TEST

static Suite *follower_suite(void)
{
    Suite *s = suite_create("follower");
    TCase *tc = tcase_create("follower");

    tcase_add_unchecked_fixture(tc, load_all, unload_all);
    tcase_add_checked_fixture(tc, mock_start, mock_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mock_chain);
    tcase_add_loop_test(tc, test_ingest_steps, 0, 2);
    tcase_add_loop_test(tc, test_ingest_thread, 0, 2);
    tcase_add_loop_test(tc, test_formats_agree, 0, 2);
    tcase_add_loop_test(tc, test_reorg_tip, 0, 2);
    tcase_add_loop_test(tc, test_lying_header, 0, 2);
    tcase_add_loop_test(tc, test_lying_diff, 0, 2);
    tcase_add_loop_test(tc, test_fault_steps, 0, F__COUNT);
    tcase_add_loop_test(tc, test_fault_thread, 0, 2);
    tcase_add_test(tc, test_confirmations);
    tcase_add_test(tc, test_stop_at);
    tcase_add_test(tc, test_stop_during_catchup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(follower_suite());
}
