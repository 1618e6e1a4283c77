/*
 * bench_follow.c - ingest throughput of the real follower + store against the mock node serving
 * the recorded mainnet blocks 17,073,191..193 (a synthetic header chain over the real diffs, see
 * tests/mocknode/mocknode.h), printed as JSON lines.
 *
 * Only three consecutive blocks with state diffs exist, and the store checks every old value, so
 * blocks can not be renumbered into a longer chain honestly. Instead each pass ingests the same
 * three-block chain into a FRESH store (a separate chain each time): a pass times only the
 * follower steps (eth_blockNumber, reorg check, one pipelined fetch per batch over loopback HTTP,
 * header re-hash, diff parse, canonical encode, one atomic store batch per block), not store
 * open/close. A second figure, apply_only, applies the already parsed deltas to a fresh store, so
 * the share of RPC + JSON parsing is the difference.
 *
 * Usage: bench_follow [--passes N] (CANTOR_SHARED_DATA locates the shared data). Built by
 * tests/mocknode/meson.build because it links the mock node. Store directories are made under /tmp
 * and removed.
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/delta.h"
#include "core/delta_json.h"
#include "core/log.h"
#include "daemon/follower.h"
#include "rpc/ethrpc.h"
#include "rpc/node.h"
#include "storage/store.h"
#include "tests/mocknode/mocknode.h"

#define FIRST  17073191ull
#define LAST   17073193ull
#define ERIGON "erigon-rpc-tests/mainnet/"

static char data_dir[2048];

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *data_path(const char *rel)
{
    static char p[4096];

    snprintf(p, sizeof(p), "%s/%s", data_dir, rel);
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

struct store_tmp {
    char dir[64];
    struct cantor_store *store;
};

static enum cantor_err store_open(bool rocks, struct store_tmp *t)
{
    struct cantor_store_opts so = {.chain_id = 1};

    t->dir[0] = '\0';
    if (rocks) {
        snprintf(t->dir, sizeof(t->dir), "/tmp/cantor-bench-follow-XXXXXX");
        if (!mkdtemp(t->dir))
            return CANTOR_ERR_IO;
        so.path = t->dir;
    }
    return cantor_store_open(&so, &t->store);
}

static void store_drop(struct store_tmp *t)
{
    cantor_store_close(t->store);
    t->store = NULL;
    if (t->dir[0])
        nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct result {
    uint64_t blocks, entries, bytes;
    double seconds;
};

static void print(const char *mode, const char *backend, const char *format, uint64_t batch, unsigned passes,
                  const struct result *r)
{
    printf("{\"bench\":\"follow\",\"mode\":\"%s\",\"backend\":\"%s\",\"format\":\"%s\",\"batch\":%" PRIu64
           ",\"passes\":%u,\"blocks\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"delta_bytes\":%" PRIu64
           ",\"seconds\":%.4f,\"blocks_per_s\":%.1f,\"entries_per_s\":%.0f,\"ms_per_block\":%.3f}\n",
           mode, backend, format, batch, passes, r->blocks, r->entries, r->bytes, r->seconds,
           (double)r->blocks / r->seconds, (double)r->entries / r->seconds,
           1e3 * r->seconds / (double)r->blocks);
    fflush(stdout);
}

/* `passes` fresh stores, each followed from FIRST to last through the mock at url. */
static enum cantor_err follow_passes(const char *url, bool rocks, uint64_t last, uint64_t batch,
                                     unsigned passes, struct result *ret)
{
    struct cantor_ethrpc_opts ro = {.url = url, .timeout_ms = 30000, .max_retries = 0};
    struct cantor_follower_opts fo = {.start = CANTOR_FOLLOW_FROM_NUMBER,
                                      .start_number = FIRST,
                                      .poll_interval_ms = 1000,
                                      .batch_size = batch};
    enum cantor_err err = CANTOR_OK;

    memset(ret, 0, sizeof(*ret));
    for (unsigned p = 0; p < passes && !err; p++) {
        struct cantor_ethrpc *rpc = NULL;
        struct cantor_follower *f = NULL;
        struct cantor_follower_status st;
        struct store_tmp t;
        uint64_t head = 0, applied;
        bool empty = true;
        double t0;

        err = store_open(rocks, &t);
        if (err)
            return err;
        err = cantor_ethrpc_new(&ro, &rpc);
        if (!err)
            err = cantor_follower_new(&fo, t.store, rpc, &f);
        t0 = now();
        for (unsigned steps = 0; !err && steps < 100 && (empty || head < last); steps++) {
            err = cantor_follower_step(f, &applied);
            if (!err)
                err = cantor_store_head(t.store, &head, NULL, &empty);
        }
        ret->seconds += now() - t0;
        if (!err && (empty || head != last))
            err = CANTOR_ERR_TIMEOUT;
        if (f) {
            cantor_follower_get_status(f, &st);
            ret->blocks += st.blocks_applied;
            ret->entries += st.entries_applied;
            ret->bytes += st.bytes_applied;
            if (err)
                fprintf(stderr, "bench_follow: %s (%s)\n", cantor_err_str(err), st.last_error);
        }
        cantor_follower_free(f);
        cantor_ethrpc_free(rpc);
        store_drop(&t);
    }
    return err;
}

/* The same blocks, parsed beforehand, applied straight to `passes` fresh stores. */
static enum cantor_err apply_passes(const char *url, bool rocks, struct cantor_delta *const deltas[],
                                    uint64_t last, unsigned passes, struct result *ret)
{
    struct cantor_ethrpc_opts ro = {.url = url, .timeout_ms = 30000, .max_retries = 0};
    struct cantor_block_meta metas[LAST - FIRST + 1];
    struct cantor_ethrpc *rpc = NULL;
    enum cantor_err err;
    uint64_t n;

    memset(ret, 0, sizeof(*ret));
    memset(metas, 0, sizeof(metas));
    err = cantor_ethrpc_new(&ro, &rpc);
    for (n = FIRST; !err && n <= last; n++) {
        json_t *b = NULL;

        err = cantor_node_get_block(rpc, n, &b);
        if (!err)
            err = cantor_follower_block_meta(b, &metas[n - FIRST]);
        json_decref(b);
    }
    for (unsigned p = 0; p < passes && !err; p++) {
        struct store_tmp t;
        double t0;

        err = store_open(rocks, &t);
        if (err)
            break;
        t0 = now();
        for (n = FIRST; !err && n <= last; n++) {
            err = cantor_store_apply_block(t.store, &metas[n - FIRST], deltas[n - FIRST], NULL, 0);
            ret->blocks++;
            ret->entries += deltas[n - FIRST]->n_entries;
        }
        ret->seconds += now() - t0;
        store_drop(&t);
    }
    for (n = 0; n <= LAST - FIRST; n++)
        cantor_block_meta_release(&metas[n]);
    cantor_ethrpc_free(rpc);
    return err;
}

int main(int argc, char **argv)
{
    static const char *const geth_files[3] = {ERIGON "debug_traceBlockByNumber/test_32.json",
                                              ERIGON "debug_traceBlockByNumber/test_33.json",
                                              ERIGON "debug_traceBlockByNumber/test_34.json"};
    struct cantor_delta *deltas[3] = {NULL, NULL, NULL};
    struct cantor_mocknode *mock = NULL;
    const char *env = getenv("CANTOR_SHARED_DATA");
    unsigned long passes = 20;
    struct result r;
    char url[64];
    uint16_t port = 0;
    enum cantor_err err;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        char *end;

        if (!strcmp(argv[i], "--passes") && i + 1 < argc) {
            passes = strtoul(argv[++i], &end, 10);
            if (*end || passes == 0 || passes > 100000) {
                fprintf(stderr, "bench_follow: --passes wants 1..100000\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_follow [--passes N]\n");
            return 2;
        }
    }
    snprintf(data_dir, sizeof(data_dir), "%s", env && *env ? env : "../shared/data");
    cantor_log_set_level(CANTOR_LOG_WARN);
    err = cantor_mocknode_new(&mock);
    if (!err)
        err = cantor_mocknode_load(mock, data_path(ERIGON "debug_traceBlockByNumber"));
    if (!err)
        err = cantor_mocknode_load(mock, data_path(ERIGON "trace_replayBlockTransactions"));
    for (int i = 0; i < 3 && !err; i++)
        err = cantor_delta_load_recorded(data_path(geth_files[i]), &deltas[i]);
    if (!err)
        err = cantor_mocknode_start(mock, 0, &port);
    if (err) {
        fprintf(stderr, "bench_follow: setup: %s (CANTOR_SHARED_DATA=%s)\n", cantor_err_str(err), data_dir);
        goto out;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
    for (int rocks = 0; rocks < 2; rocks++) {
        const char *backend = rocks ? "rocksdb" : "memory";

        err = cantor_mocknode_set_synthetic(mock, FIRST, LAST, CANTOR_MOCK_SYNTH_GETH, NULL);
        for (uint64_t batch = 1; !err && batch <= 3; batch += 2) {
            err = follow_passes(url, rocks, LAST, batch, (unsigned)passes, &r);
            if (!err)
                print("follow", backend, "geth", batch, (unsigned)passes, &r);
        }
        if (!err)
            err = apply_passes(url, rocks, deltas, LAST, (unsigned)passes, &r);
        if (!err) {
            r.bytes = 0;
            print("apply_only", backend, "geth", 0, (unsigned)passes, &r);
        }
        if (!err)
            err = cantor_mocknode_set_synthetic(mock, FIRST, FIRST + 1, CANTOR_MOCK_SYNTH_PARITY, NULL);
        if (!err)
            err = follow_passes(url, rocks, FIRST + 1, 2, (unsigned)passes, &r);
        if (!err)
            print("follow", backend, "parity", 2, (unsigned)passes, &r);
        if (err) {
            fprintf(stderr, "bench_follow: %s: %s\n", backend, cantor_err_str(err));
            goto out;
        }
    }
    rc = 0;
out:
    cantor_mocknode_free(mock);
    for (int i = 0; i < 3; i++)
        cantor_delta_free(deltas[i]);
    return rc;
}
