/*
 * verifier_proofgen.c - writes real cantord proof documents v1 (core/proof.c) for the on-chain verifier
 * test (tests/chain/verifier_test.mjs) while the daemon's proof endpoints are not available: the
 * three consecutive recorded mainnet blocks 17,073,191-193 from the shared data, their delta trees,
 * state tree and MMR, a checkpoint at 193 signed with fixed test keys. Block hashes are not in the
 * recorded diffs: keccak256("block" || number) stands in (as in tests/unit/test_proof.c).
 *
 * usage: verifier_proofgen SHARED_DATA_DIR OUT_DIR
 * Writes OUT_DIR/signer (eth address, hex), OUT_DIR/delta-B-I.json and OUT_DIR/state-B-I.json. Every
 * document is verified by cantor_proof_verify_ex before it is written.
 *
 * usage: verifier_proofgen --delta-root NUMBER FILE
 * Prints the delta root (core/merkle.c) of the JSON-lines delta in FILE (the entries of GET
 * /v1/blocks/{n}/delta, one per line) for block NUMBER: the JS side compares it with
 * @openzeppelin/merkle-tree. All memory is local.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/delta_json.h"
#include "core/hex.h"
#include "core/proof.h"

#define N_BLK 3
#define FIRST UINT64_C(17073191)

static const char *const files[N_BLK] = {
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_38.json",
    "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_34.json",
};

struct gen {
    const char *out;
    struct cantor_checkpoint_keys *keys;
    struct cantor_smt_mem *smt;
    struct cantor_mmr_mem *mmr;
    struct cantor_delta *d[N_BLK];
    struct cantor_merkle_tree *t[N_BLK];
    struct cantor_proof_block blk[N_BLK];
    struct cantor_checkpoint cp;
    unsigned written;
};

static enum cantor_err write_doc(struct gen *g, const struct cantor_proof_doc *doc, const char *name)
{
    struct cantor_proof_report r;
    struct cantor_buf b;
    char path[4096];
    FILE *f = NULL;
    enum cantor_err err;

    cantor_buf_init(&b, CANTOR_PROOF_MAX_JSON);
    err = cantor_proof_verify_ex(doc, g->keys->ed_pk, g->keys->eth_addr, &r);
    if (err) {
        fprintf(stderr, "verifier_proofgen: %s does not verify: %s\n", name, r.message);
        goto out;
    }
    err = cantor_proof_to_json(doc, &b);
    if (err)
        goto out;
    if (snprintf(path, sizeof(path), "%s/%s", g->out, name) >= (int)sizeof(path)) {
        err = CANTOR_ERR_TOO_LARGE;
        goto out;
    }
    f = fopen(path, "wb");
    if (!f || fwrite(b.data, 1, b.len, f) != b.len) {
        err = CANTOR_ERR_IO;
        goto out;
    }
    g->written++;
out:
    if (f && fclose(f) != 0 && !err)
        err = CANTOR_ERR_IO;
    cantor_buf_release(&b);
    return err;
}

static enum cantor_err emit(struct gen *g, uint8_t type, int b, const struct cantor_delta_entry *e,
                            const char *name, bool *ret_present)
{
    struct cantor_proof_doc *doc = NULL;
    enum cantor_err err = cantor_proof_doc_new(type, &doc);

    if (err)
        goto out;
    doc->block = g->blk[b];
    if (type == CANTOR_PROOF_DELTA)
        err = cantor_proof_fill_delta(doc, g->t[b], e);
    else
        err = cantor_proof_fill_state(doc, cantor_smt_mem_store(g->smt), e->addr, e->kind, e->slot);
    if (!err)
        err = cantor_proof_fill_mmr(doc, cantor_mmr_mem_store(g->mmr), N_BLK, (uint64_t)b);
    if (!err)
        err = cantor_proof_fill_checkpoint(doc, g->keys, &g->cp);
    if (!err)
        err = write_doc(g, doc, name);
    if (!err && ret_present)
        *ret_present = doc->present;
out:
    cantor_proof_doc_free(doc);
    return err;
}

static enum cantor_err build(struct gen *g, const char *data_dir)
{
    uint8_t ed[32], sk[32], state[32] = {0}, leaf[32];
    char path[4096];
    enum cantor_err err;

    memset(ed, 7, 32);
    memset(sk, 9, 32);
    err = cantor_checkpoint_keys_from_seeds(ed, sk, &g->keys);
    if (!err)
        err = cantor_smt_mem_new(&g->smt);
    if (!err)
        err = cantor_mmr_mem_new(&g->mmr);
    for (int b = 0; !err && b < N_BLK; b++) {
        uint8_t tag[13] = "block";
        uint64_t n = FIRST + (uint64_t)b;

        if (snprintf(path, sizeof(path), "%s/%s", data_dir, files[b]) >= (int)sizeof(path))
            return CANTOR_ERR_TOO_LARGE;
        err = cantor_delta_load_recorded(path, &g->d[b]);
        if (!err && g->d[b]->block_number != n)
            err = CANTOR_ERR_MISMATCH;
        if (!err)
            err = cantor_merkle_build_delta(g->d[b], &g->t[b]);
        if (!err)
            err = cantor_smt_apply_delta(cantor_smt_mem_store(g->smt), state, g->d[b], state);
        if (err)
            break;
        memcpy(tag + 5, &n, 8);
        g->blk[b].number = n;
        cantor_keccak256(tag, sizeof(tag), g->blk[b].hash);
        cantor_merkle_root(g->t[b], g->blk[b].delta_root);
        memcpy(g->blk[b].state_root, state, 32);
        cantor_mmr_leaf_hash(n, g->blk[b].hash, g->blk[b].delta_root, g->blk[b].state_root, leaf);
        err = cantor_mmr_append(cantor_mmr_mem_store(g->mmr), (uint64_t)b, leaf);
    }
    if (err)
        return err;
    g->cp.chain_id = 1;
    g->cp.number = FIRST + N_BLK - 1;
    memcpy(g->cp.block_hash, g->blk[N_BLK - 1].hash, 32);
    return cantor_mmr_root(cantor_mmr_mem_store(g->mmr), N_BLK, g->cp.mmr_root);
}

/* Delta and state proofs for the first, a middle and the last entry of every block, plus up to four
 * keys first touched in block 192, which are absent at 191. */
static enum cantor_err generate(struct gen *g)
{
    char name[64], hex[2 + 2 * CANTOR_ETH_ADDR_LEN + 1], path[4096];
    unsigned absent = 0;
    enum cantor_err err = CANTOR_OK;
    FILE *f;

    for (int b = 0; !err && b < N_BLK; b++) {
        size_t n = g->d[b]->n_entries, pick[3] = {0, n / 2, n - 1};
        for (int k = 0; !err && k < 3 && n > 0; k++) {
            snprintf(name, sizeof(name), "delta-%d-%zu.json", b, pick[k]);
            err = emit(g, CANTOR_PROOF_DELTA, b, &g->d[b]->entries[pick[k]], name, NULL);
            snprintf(name, sizeof(name), "state-%d-%zu.json", b, pick[k]);
            if (!err)
                err = emit(g, CANTOR_PROOF_STATE, b, &g->d[b]->entries[pick[k]], name, NULL);
        }
    }
    for (size_t j = 0; !err && j < g->d[1]->n_entries && absent < 4; j++) {
        bool present = true;
        snprintf(name, sizeof(name), "state-0-absent-%zu.json", j);
        err = emit(g, CANTOR_PROOF_STATE, 0, &g->d[1]->entries[j], name, &present);
        if (!err && present) {
            if (snprintf(path, sizeof(path), "%s/%s", g->out, name) < (int)sizeof(path))
                remove(path);
            g->written--;
        } else if (!err) {
            absent++;
        }
    }
    if (err)
        return err;
    if (absent == 0)
        return CANTOR_ERR_NOT_FOUND;
    cantor_hex_encode(g->keys->eth_addr, CANTOR_ETH_ADDR_LEN, hex);
    if (snprintf(path, sizeof(path), "%s/signer", g->out) >= (int)sizeof(path))
        return CANTOR_ERR_TOO_LARGE;
    f = fopen(path, "w");
    if (!f)
        return CANTOR_ERR_IO;
    fprintf(f, "%s\n", hex);
    return fclose(f) == 0 ? CANTOR_OK : CANTOR_ERR_IO;
}

/* Delta root of a JSON-lines delta file (at most CANTOR_DELTA_MAX_JSON_LINES bytes). */
static enum cantor_err delta_root(const char *number, const char *path)
{
    struct cantor_buf text;
    struct cantor_delta *d = NULL;
    struct cantor_merkle_tree *t = NULL;
    uint8_t root[CANTOR_HASH_LEN];
    char hex[2 * CANTOR_HASH_LEN + 3], *end = NULL;
    unsigned long long n;
    enum cantor_err err = CANTOR_OK;

    cantor_buf_init(&text, CANTOR_DELTA_MAX_JSON_LINES);
    n = strtoull(number, &end, 10);
    if (!*number || *end) {
        err = CANTOR_ERR_INVALID;
        goto out;
    }
    err = cantor_buf_read_file(&text, path);
    if (!err)
        err = cantor_delta_from_json_lines((const char *)text.data, text.len, n, &d);
    if (!err && d->n_entries == 0) {
        memset(root, 0, sizeof(root)); /* docs/formats.md: an empty delta has root zero */
    } else if (!err) {
        err = cantor_merkle_build_delta(d, &t);
        if (!err)
            cantor_merkle_root(t, root);
    }
    if (!err) {
        cantor_hex_encode(root, sizeof(root), hex);
        printf("%s\n", hex);
    }
out:
    cantor_merkle_tree_free(t);
    cantor_delta_free(d);
    cantor_buf_release(&text);
    return err;
}

int main(int argc, char **argv)
{
    struct gen g = {0};
    enum cantor_err err;

    if (argc == 4 && strcmp(argv[1], "--delta-root") == 0) {
        err = delta_root(argv[2], argv[3]);
        if (err)
            fprintf(stderr, "verifier_proofgen: %s: %s\n", argv[3], cantor_err_str(err));
        return err ? 1 : 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s SHARED_DATA_DIR OUT_DIR\n", argv[0]);
        return 2;
    }
    g.out = argv[2];
    err = build(&g, argv[1]);
    if (!err)
        err = generate(&g);
    for (int b = 0; b < N_BLK; b++) {
        cantor_delta_free(g.d[b]);
        cantor_merkle_tree_free(g.t[b]);
    }
    cantor_smt_mem_free(g.smt);
    cantor_mmr_mem_free(g.mmr);
    cantor_checkpoint_keys_free(g.keys);
    if (err) {
        fprintf(stderr, "verifier_proofgen: %s\n", cantor_err_str(err));
        return 1;
    }
    printf("{\"written\": %u}\n", g.written);
    return 0;
}
