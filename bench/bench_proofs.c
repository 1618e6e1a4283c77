/*
 * bench_proofs.c - commitments and proofs, single core, printed as JSON lines with their targets.
 *
 * 1. root maintenance: every recorded mainnet block delta (erigon trace_replayBlockTransactions)
 *    applied in block order to one growing state tree (in-memory node store), plus its delta root
 *    and MMR append: ms per block, and the block with the most changes.
 * 2. history: the three consecutive real blocks 17,073,191-193, then 2^20 - 3 further block records
 *    (empty deltas) so the proven block is a million blocks old; one checkpoint at the head.
 * 3. proofs for values at block 17,073,191: generated/s, verified/s (cold: both signatures every
 *    time; warm: cantor_proof_verifier caching the checkpoint), binary and JSON size.
 * --dump DIR writes one delta and one state proof (JSON) and the ed25519 public key there, for
 * `cantor verify`. CANTOR_SHARED_DATA locates the shared data.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/delta_json.h"
#include "core/hex.h"
#include "core/proof.h"

#define OLD_BLOCKS (1u << 20)

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *data_root(void)
{
    const char *r = getenv("CANTOR_SHARED_DATA");

    return r ? r : "../shared/data";
}

static int cmp_delta(const void *a, const void *b)
{
    const struct cantor_delta *x = *(struct cantor_delta *const *)a, *y = *(struct cantor_delta *const *)b;

    return x->block_number < y->block_number ? -1 : x->block_number > y->block_number;
}

static int bench_maintenance(void)
{
    char dir[1024], path[2048];
    struct cantor_delta *d[64];
    struct cantor_smt_mem *smt = NULL;
    struct cantor_mmr_mem *mmr = NULL;
    uint8_t state[32] = {0}, droot[32], leaf[32], h[32] = {0};
    size_t n = 0, total = 0, max_i = 0;
    double t_all = 0, t_max = 0;
    struct dirent *de;
    DIR *dd;

    snprintf(dir, sizeof(dir), "%s/erigon-rpc-tests/mainnet/trace_replayBlockTransactions", data_root());
    dd = opendir(dir);
    if (!dd)
        return fprintf(stderr, "bench_proofs: %s missing\n", dir), 1;
    while ((de = readdir(dd)) && n < 64) {
        if (!strstr(de->d_name, ".json") || strcmp(de->d_name, "test_39.json") == 0 ||
            strcmp(de->d_name, "test_40.json") == 0) /* repeats of 37/38 */
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (cantor_delta_load_recorded(path, &d[n]) == CANTOR_OK)
            n++;
    }
    closedir(dd);
    qsort(d, n, sizeof(d[0]), cmp_delta);
    if (cantor_smt_mem_new(&smt) || cantor_mmr_mem_new(&mmr))
        return 1;
    for (size_t i = 0; i < n; i++) {
        double t0 = now(), dt;
        if (cantor_merkle_delta_root(d[i], droot) ||
            cantor_smt_apply_delta(cantor_smt_mem_store(smt), state, d[i], state))
            return 1;
        cantor_mmr_leaf_hash(d[i]->block_number, h, droot, state, leaf);
        if (cantor_mmr_append(cantor_mmr_mem_store(mmr), i, leaf))
            return 1;
        dt = now() - t0;
        t_all += dt;
        total += d[i]->n_entries;
        if (d[i]->n_entries > d[max_i]->n_entries)
            max_i = i;
        if (i == max_i)
            t_max = dt;
    }
    printf("{\"bench\":\"root_maintenance\",\"blocks\":%zu,\"changes\":%zu,\"ms_per_block\":%.3f,"
           "\"largest_block\":%" PRIu64 ",\"largest_changes\":%zu,\"largest_ms\":%.3f,\"target_ms_500\":50,"
           "\"state_nodes\":%zu}\n",
           n, total, 1e3 * t_all / (double)n, d[max_i]->block_number, d[max_i]->n_entries, 1e3 * t_max,
           cantor_smt_mem_count(smt));
    for (size_t i = 0; i < n; i++)
        cantor_delta_free(d[i]);
    cantor_smt_mem_free(smt);
    cantor_mmr_mem_free(mmr);
    return 0;
}

static int write_doc(const char *dir, const char *name, const struct cantor_proof_doc *doc)
{
    char path[2048];
    struct cantor_buf b;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    cantor_buf_init(&b, CANTOR_PROOF_MAX_JSON);
    if (cantor_proof_to_json(doc, &b) || !(f = fopen(path, "w")))
        return 1;
    fwrite(b.data, 1, b.len, f);
    fclose(f);
    cantor_buf_release(&b);
    return 0;
}

static int bench_proofs(const char *dump)
{
    static const char *const files[3] = {
        "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json",
        "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_38.json",
        "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_34.json",
    };
    struct cantor_delta *d[3];
    struct cantor_merkle_tree *t0 = NULL;
    struct cantor_smt_mem *smt = NULL;
    struct cantor_mmr_mem *mmr = NULL;
    struct cantor_checkpoint_keys *keys = NULL;
    struct cantor_proof_block blk0 = {0};
    struct cantor_checkpoint cp = {.chain_id = 1};
    struct cantor_proof_doc *docs = NULL;
    struct cantor_proof_report r;
    struct cantor_proof_verifier v;
    uint8_t state[32] = {0}, droot[32], leaf[32], hash[32], seed[32];
    char path[2048];
    double t, gen_s, gen_d, ver_cold, ver_warm;
    size_t n_docs, max_size = 0, json_size = 0;
    uint64_t count = 0;

    memset(seed, 3, 32);
    if (cantor_checkpoint_keys_from_seeds(seed, seed, &keys) || cantor_smt_mem_new(&smt) ||
        cantor_mmr_mem_new(&mmr))
        return 1;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", data_root(), files[i]);
        if (cantor_delta_load_recorded(path, &d[i]))
            return fprintf(stderr, "bench_proofs: cannot load %s\n", path), 1;
    }
    if (cantor_merkle_build_delta(d[0], &t0))
        return 1;
    for (uint64_t i = 0; i < OLD_BLOCKS; i++) {
        uint64_t num = d[0]->block_number + i;
        memset(droot, 0, 32);
        if (i < 3) {
            if (cantor_merkle_delta_root(d[i], droot) ||
                cantor_smt_apply_delta(cantor_smt_mem_store(smt), state, d[i], state))
                return 1;
        }
        cantor_keccak256(&num, sizeof(num), hash); /* stand-in block hash */
        if (i == 0) {
            blk0.number = num;
            memcpy(blk0.hash, hash, 32);
            memcpy(blk0.delta_root, droot, 32);
            memcpy(blk0.state_root, state, 32);
        }
        cantor_mmr_leaf_hash(num, hash, droot, state, leaf);
        if (cantor_mmr_append(cantor_mmr_mem_store(mmr), i, leaf))
            return 1;
        cp.number = num;
        memcpy(cp.block_hash, hash, 32);
    }
    if (cantor_mmr_root(cantor_mmr_mem_store(mmr), OLD_BLOCKS, cp.mmr_root))
        return 1;

    /* Generation: state proofs for every key of block 191, at block 191, a million blocks back. */
    n_docs = d[0]->n_entries;
    docs = calloc(2 * n_docs, sizeof(*docs));
    if (!docs)
        return 1;
    {
        struct cantor_proof_doc tmpl = {0};
        if (cantor_proof_fill_checkpoint(&tmpl, keys, &cp))
            return 1;
        t = now();
        for (size_t i = 0; i < n_docs; i++) {
            struct cantor_proof_doc *doc = &docs[i];
            const struct cantor_delta_entry *e = &d[0]->entries[i];
            doc->block = blk0;
            if (cantor_proof_fill_state(doc, cantor_smt_mem_store(smt), e->addr, e->kind, e->slot) ||
                cantor_proof_fill_mmr(doc, cantor_mmr_mem_store(mmr), OLD_BLOCKS, 0))
                return 1;
            doc->checkpoint = tmpl.checkpoint;
            doc->sigs = tmpl.sigs;
            memcpy(doc->signer, tmpl.signer, 20);
        }
        gen_s = (double)n_docs / (now() - t);
        t = now();
        for (size_t i = 0; i < n_docs; i++) {
            struct cantor_proof_doc *doc = &docs[n_docs + i];
            doc->block = blk0;
            if (cantor_proof_fill_delta(doc, t0, &d[0]->entries[i]) ||
                cantor_proof_fill_mmr(doc, cantor_mmr_mem_store(mmr), OLD_BLOCKS, 0))
                return 1;
            doc->checkpoint = tmpl.checkpoint;
            doc->sigs = tmpl.sigs;
            memcpy(doc->signer, tmpl.signer, 20);
        }
        gen_d = (double)n_docs / (now() - t);
    }
    for (size_t i = 0; i < 2 * n_docs; i++) {
        if (cantor_proof_size(&docs[i]) > max_size)
            max_size = cantor_proof_size(&docs[i]);
    }
    {
        struct cantor_buf b;
        cantor_buf_init(&b, CANTOR_PROOF_MAX_JSON);
        if (cantor_proof_to_json(&docs[0], &b))
            return 1;
        json_size = b.len;
        cantor_buf_release(&b);
    }
    /* Verification, cold: every proof checks both signatures. */
    t = now();
    count = 0;
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < 2 * n_docs; i++, count++)
            if (cantor_proof_verify_ex(&docs[i], keys->ed_pk, keys->eth_addr, &r))
                return fprintf(stderr, "bench_proofs: proof %zu: %s\n", i, r.message), 1;
    ver_cold = (double)count / (now() - t);
    cantor_proof_verifier_init(&v, keys->ed_pk, keys->eth_addr);
    t = now();
    count = 0;
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < 2 * n_docs; i++, count++)
            if (cantor_proof_verifier_check(&v, &docs[i], &r))
                return fprintf(stderr, "bench_proofs: proof %zu: %s\n", i, r.message), 1;
    ver_warm = (double)count / (now() - t);
    printf("{\"bench\":\"proofs\",\"mmr_leaves\":%u,\"proven_block\":%" PRIu64 ",\"blocks_back\":%u,"
           "\"state_proofs_generated_per_s\":%.0f,\"delta_proofs_generated_per_s\":%.0f,"
           "\"verified_per_s_cold\":%.0f,\"verified_per_s_cached_checkpoint\":%.0f,\"target_verified_per_s\":"
           "20000,"
           "\"max_proof_bytes\":%zu,\"state_proof_json_bytes\":%zu,\"target_bytes\":2048,"
           "\"smt_depth\":%u,\"mmr_siblings\":%u,\"mmr_peaks\":%u}\n",
           OLD_BLOCKS, blk0.number, OLD_BLOCKS - 1, gen_s, gen_d, ver_cold, ver_warm, max_size, json_size,
           docs[0].smt.depth, docs[0].mmr.n_siblings, docs[0].mmr.n_peaks);
    if (dump) {
        FILE *f;
        char pk[67];
        if (write_doc(dump, "state-proof.json", &docs[0]) ||
            write_doc(dump, "delta-proof.json", &docs[n_docs]))
            return 1;
        snprintf(path, sizeof(path), "%s/checkpoint-ed25519.pub", dump);
        cantor_hex_encode(keys->ed_pk, 32, pk);
        if (!(f = fopen(path, "w")))
            return 1;
        fprintf(f, "%s\n", pk);
        fclose(f);
        cantor_hex_encode(keys->eth_addr, 20, pk);
        fprintf(stderr, "bench_proofs: wrote %s/{state,delta}-proof.json, signer %s\n", dump, pk);
    }
    free(docs);
    for (int i = 0; i < 3; i++)
        cantor_delta_free(d[i]);
    cantor_merkle_tree_free(t0);
    cantor_smt_mem_free(smt);
    cantor_mmr_mem_free(mmr);
    cantor_checkpoint_keys_free(keys);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dump = NULL;

    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        dump = argv[2];
    else if (argc != 1)
        return fprintf(stderr, "usage: bench_proofs [--dump DIR]\n"), 2;
    if (bench_maintenance() != 0)
        return 1;
    return bench_proofs(dump);
}
