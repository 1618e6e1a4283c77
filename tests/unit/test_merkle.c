/*
 * test_merkle.c - delta root (OZ StandardMerkleTree compatible): roots of two recorded mainnet blocks
 * against values computed by the real @openzeppelin/merkle-tree 1.0.8, a live JS cross-check when
 * tests/chain/node_modules exists, proofs for every entry, tampering and small shapes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/delta_json.h"
#include "core/hex.h"
#include "core/merkle.h"
#include "testutil.h"

struct block_vec {
    const char *file;
    uint64_t number;
    const char *oz_root; /* StandardMerkleTree.of(values, types).root from @openzeppelin/merkle-tree */
};

static const struct block_vec vecs[] = {
    {"erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_01.json", 0x4366AC,
     "0x552bfeb926caf29a0a7904d8e351defba22ddd8646cad201e40b6840f4a1d205"},
    {"erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json", 0x1048427,
     "0x70e5e69decfd2f54f654b5031220c633846e0651b795a42a5f173bf4aa0d35c8"},
};

static struct cantor_delta *load_block(const char *rel)
{
    struct cantor_delta *d = NULL;

    ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(rel), &d), CANTOR_OK);
    ck_assert_uint_gt(d->n_entries, 10);
    return d;
}

static void hex32(const uint8_t *b, size_t n, char *out)
{
    cantor_hex_encode(b, n, out);
}

/* The delta as OZ values (uint64 as decimal string, others as hex). */
static json_t *oz_values(const struct cantor_delta *d)
{
    json_t *root = json_object(), *vals = json_array();
    char s[80];

    json_object_set_new(root, "types",
                        json_pack("[ssssss]", "uint64", "address", "uint8", "bytes32", "bytes32", "bytes32"));
    for (size_t i = 0; i < d->n_entries; i++) {
        const struct cantor_delta_entry *e = &d->entries[i];
        json_t *row = json_array();
        snprintf(s, sizeof(s), "%" PRIu64, d->block_number);
        json_array_append_new(row, json_string(s));
        hex32(e->addr, 20, s);
        json_array_append_new(row, json_string(s));
        json_array_append_new(row, json_integer(e->kind));
        hex32(e->slot, 32, s);
        json_array_append_new(row, json_string(s));
        hex32(e->old_val, 32, s);
        json_array_append_new(row, json_string(s));
        hex32(e->new_val, 32, s);
        json_array_append_new(row, json_string(s));
        json_array_append_new(vals, row);
    }
    json_object_set_new(root, "values", vals);
    return root;
}

START_TEST(test_oz_fixed_roots)
{
    for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
        struct cantor_delta *d = load_block(vecs[v].file);
        uint8_t root[32];
        char hex[67];

        ck_assert_uint_eq(d->block_number, vecs[v].number);
        ck_assert_int_eq(cantor_merkle_delta_root(d, root), CANTOR_OK);
        hex32(root, 32, hex);
        if (getenv("CANTOR_DUMP_OZ")) {
            char path[256];
            json_t *j = oz_values(d);
            snprintf(path, sizeof(path), "/tmp/oz_values_%zu.json", v);
            json_dump_file(j, path, 0);
            json_decref(j);
            fprintf(stderr, "block %" PRIu64 ": %zu entries, root %s -> %s\n", d->block_number, d->n_entries,
                    hex, path);
        }
        ck_assert_msg(strcmp(hex, vecs[v].oz_root) == 0, "block %" PRIu64 ": %s != OZ %s", d->block_number,
                      hex, vecs[v].oz_root);
        cantor_delta_free(d);
    }
}
END_TEST

/* Runs tests/chain/oz_crosscheck.mjs on the values when its node_modules is installed. */
START_TEST(test_oz_live_crosscheck)
{
    const char *src = getenv("CANTOR_SOURCE_ROOT");
    char mod[1024], cmd[2048], tmp[] = "/tmp/cantor_oz_XXXXXX", line[8192];
    struct cantor_delta *d;
    struct cantor_merkle_tree *t = NULL;
    uint8_t root[32], leaf[32], proof[CANTOR_MERKLE_MAX_PROOF][32];
    size_t idx, n;
    char hex[67];
    json_t *vals, *out, *p0;
    json_error_t je;
    FILE *f;
    int fd;

    if (!src)
        src = ".";
    snprintf(mod, sizeof(mod), "%s/tests/chain/node_modules/@openzeppelin/merkle-tree", src);
    if (access(mod, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP live OZ cross-check: %s or node missing (scripts/bootstrap installs it)\n",
                mod);
        return;
    }
    d = load_block(vecs[1].file);
    ck_assert_int_eq(cantor_merkle_build_delta(d, &t), CANTOR_OK);
    cantor_merkle_root(t, root);
    vals = oz_values(d);
    fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(json_dump_file(vals, tmp, 0), 0);
    json_decref(vals);
    snprintf(cmd, sizeof(cmd), "node %s/tests/chain/oz_crosscheck.mjs %s", src, tmp);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    ck_assert_int_eq(pclose(f), 0);
    unlink(tmp);
    out = json_loads(line, 0, &je);
    ck_assert_ptr_nonnull(out);
    hex32(root, 32, hex);
    ck_assert_str_eq(json_string_value(json_object_get(out, "root")), hex);
    /* Our proof for entry 0 must be OZ's proof for values[0], element by element. */
    cantor_merkle_leaf_hash(d->block_number, &d->entries[0], leaf);
    ck_assert_int_eq(cantor_merkle_find(t, leaf, &idx), CANTOR_OK);
    ck_assert_int_eq(cantor_merkle_prove(t, idx, proof, &n), CANTOR_OK);
    p0 = json_object_get(out, "proof0");
    ck_assert_uint_eq(json_array_size(p0), n);
    for (size_t i = 0; i < n; i++) {
        hex32(proof[i], 32, hex);
        ck_assert_str_eq(json_string_value(json_array_get(p0, i)), hex);
    }
    json_decref(out);
    cantor_merkle_tree_free(t);
    cantor_delta_free(d);
}
END_TEST

START_TEST(test_every_entry_proves_and_tamper_fails)
{
    struct cantor_delta *d = load_block(vecs[1].file);
    struct cantor_merkle_tree *t = NULL;
    uint8_t root[32], leaf[32], proof[CANTOR_MERKLE_MAX_PROOF][32];
    size_t idx, n;

    ck_assert_int_eq(cantor_merkle_build_delta(d, &t), CANTOR_OK);
    cantor_merkle_root(t, root);
    for (size_t i = 0; i < d->n_entries; i++) {
        struct cantor_delta_entry e = d->entries[i];
        cantor_merkle_leaf_hash(d->block_number, &e, leaf);
        ck_assert_int_eq(cantor_merkle_find(t, leaf, &idx), CANTOR_OK);
        ck_assert_int_eq(cantor_merkle_prove(t, idx, proof, &n), CANTOR_OK);
        ck_assert(cantor_merkle_verify(root, leaf, (const uint8_t(*)[32])proof, n));
        if (i % 17)
            continue;
        /* Every byte of the entry, of each sibling, of the root: a flip must break the proof. */
        for (size_t b = 0; b < sizeof(e); b++) {
            struct cantor_delta_entry x = e;
            ((uint8_t *)&x)[b] ^= 0x01;
            cantor_merkle_leaf_hash(d->block_number, &x, leaf);
            ck_assert(!cantor_merkle_verify(root, leaf, (const uint8_t(*)[32])proof, n));
        }
        cantor_merkle_leaf_hash(d->block_number + 1, &e, leaf);
        ck_assert(!cantor_merkle_verify(root, leaf, (const uint8_t(*)[32])proof, n));
        cantor_merkle_leaf_hash(d->block_number, &e, leaf);
        for (size_t s = 0; s < n; s++)
            for (size_t b = 0; b < 32; b++) {
                proof[s][b] ^= 0x80;
                ck_assert(!cantor_merkle_verify(root, leaf, (const uint8_t(*)[32])proof, n));
                proof[s][b] ^= 0x80;
            }
        for (size_t b = 0; b < 32; b++) {
            root[b] ^= 0x04;
            ck_assert(!cantor_merkle_verify(root, leaf, (const uint8_t(*)[32])proof, n));
            root[b] ^= 0x04;
        }
        ck_assert(!cantor_merkle_verify(root, leaf, (const uint8_t(*)[32])proof, n - 1));
    }
    /* A key not in the block is not found. */
    memset(leaf, 0xab, sizeof(leaf));
    ck_assert_int_eq(cantor_merkle_find(t, leaf, &idx), CANTOR_ERR_NOT_FOUND);
    cantor_merkle_tree_free(t);
    cantor_delta_free(d);
}
END_TEST

/* Shapes by hand: OZ stores sorted leaves reversed at the end; node i = H(2i+1, 2i+2). */
START_TEST(test_small_shapes)
{
    uint8_t l[3][32], root[32], a[32], want[32], proof[CANTOR_MERKLE_MAX_PROOF][32];
    struct cantor_merkle_tree *t = NULL;
    size_t n, idx;

    for (int i = 0; i < 3; i++)
        memset(l[i], 0x10 * (i + 1), 32); /* already ascending */
    ck_assert_int_eq(cantor_merkle_build((const uint8_t(*)[32])l, 1, &t), CANTOR_OK);
    cantor_merkle_root(t, root);
    ck_assert_mem_eq(root, l[0], 32);
    cantor_merkle_tree_free(t);
    /* 3 leaves: nodes = [root, n1, l2, l1, l0]; n1 = H(l1, l0); root = H(n1, l2). */
    ck_assert_int_eq(cantor_merkle_build((const uint8_t(*)[32])l, 3, &t), CANTOR_OK);
    cantor_merkle_node_hash(l[1], l[0], a);
    cantor_merkle_node_hash(a, l[2], want);
    cantor_merkle_root(t, root);
    ck_assert_mem_eq(root, want, 32);
    ck_assert_int_eq(cantor_merkle_find(t, l[1], &idx), CANTOR_OK);
    ck_assert_uint_eq(idx, 3);
    ck_assert_int_eq(cantor_merkle_prove(t, idx, proof, &n), CANTOR_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_mem_eq(proof[0], l[0], 32);
    ck_assert_mem_eq(proof[1], l[2], 32);
    ck_assert_int_eq(cantor_merkle_prove(t, 1, proof, &n), CANTOR_ERR_INVALID); /* internal node */
    cantor_merkle_tree_free(t);
    /* Duplicate leaves are refused; an empty tree has the zero root. */
    memcpy(l[1], l[0], 32);
    ck_assert_int_eq(cantor_merkle_build((const uint8_t(*)[32])l, 2, &t), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_merkle_build(NULL, 0, &t), CANTOR_OK);
    cantor_merkle_root(t, root);
    memset(want, 0, 32);
    ck_assert_mem_eq(root, want, 32);
    cantor_merkle_tree_free(t);
    cantor_merkle_tree_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merkle");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_oz_fixed_roots);
    tcase_add_test(tc, test_oz_live_crosscheck);
    tcase_add_test(tc, test_every_entry_proves_and_tamper_fails);
    tcase_add_test(tc, test_small_shapes);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
