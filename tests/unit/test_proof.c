/*
 * test_proof.c - proof documents end to end over three consecutive recorded mainnet blocks
 * (17,073,191-193): delta proofs for every entry of the oldest block, state proofs (inclusion at an
 * old version, non-membership), JSON round trips, every tamper class with the reason it must report,
 * every hex digit of a serialized proof flipped, and malformed documents.
 * Block hashes are not in the recorded diffs: keccak256("block" || number) stands in for them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/delta_json.h"
#include "core/hex.h"
#include "core/proof.h"
#include "testutil.h"

#define N_BLK 3
static const char *const files[N_BLK] = {
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_38.json",
    "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_34.json",
};
static const uint64_t FIRST = 17073191;

struct fixture {
    struct cantor_checkpoint_keys *keys;
    struct cantor_smt_mem *smt;
    struct cantor_mmr_mem *mmr;
    struct cantor_delta *d[N_BLK];
    struct cantor_merkle_tree *t[N_BLK];
    struct cantor_proof_block blk[N_BLK];
    struct cantor_checkpoint cp;
};

static struct fixture fx;

static void setup(void)
{
    uint8_t ed[32], sk[32], state[32] = {0}, leaf[32];

    memset(ed, 7, 32);
    memset(sk, 9, 32);
    ck_assert_int_eq(cantor_checkpoint_keys_from_seeds(ed, sk, &fx.keys), CANTOR_OK);
    ck_assert_int_eq(cantor_smt_mem_new(&fx.smt), CANTOR_OK);
    ck_assert_int_eq(cantor_mmr_mem_new(&fx.mmr), CANTOR_OK);
    for (int b = 0; b < N_BLK; b++) {
        uint8_t tag[13] = "block";
        uint64_t n = FIRST + (uint64_t)b;
        ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(files[b]), &fx.d[b]), CANTOR_OK);
        ck_assert_uint_eq(fx.d[b]->block_number, n);
        ck_assert_int_eq(cantor_merkle_build_delta(fx.d[b], &fx.t[b]), CANTOR_OK);
        ck_assert_int_eq(cantor_smt_apply_delta(cantor_smt_mem_store(fx.smt), state, fx.d[b], state),
                         CANTOR_OK);
        memcpy(tag + 5, &n, 8);
        fx.blk[b].number = n;
        cantor_keccak256(tag, sizeof(tag), fx.blk[b].hash);
        cantor_merkle_root(fx.t[b], fx.blk[b].delta_root);
        memcpy(fx.blk[b].state_root, state, 32);
        cantor_mmr_leaf_hash(n, fx.blk[b].hash, fx.blk[b].delta_root, fx.blk[b].state_root, leaf);
        ck_assert_int_eq(cantor_mmr_append(cantor_mmr_mem_store(fx.mmr), (uint64_t)b, leaf), CANTOR_OK);
    }
    fx.cp.chain_id = 1;
    fx.cp.number = FIRST + N_BLK - 1;
    memcpy(fx.cp.block_hash, fx.blk[N_BLK - 1].hash, 32);
    ck_assert_int_eq(cantor_mmr_root(cantor_mmr_mem_store(fx.mmr), N_BLK, fx.cp.mmr_root), CANTOR_OK);
}

static void teardown(void)
{
    for (int b = 0; b < N_BLK; b++) {
        cantor_delta_free(fx.d[b]);
        cantor_merkle_tree_free(fx.t[b]);
    }
    cantor_smt_mem_free(fx.smt);
    cantor_mmr_mem_free(fx.mmr);
    cantor_checkpoint_keys_free(fx.keys);
    memset(&fx, 0, sizeof(fx));
}

static struct cantor_proof_doc *delta_doc(int b, size_t i)
{
    struct cantor_proof_doc *doc = NULL;

    ck_assert_int_eq(cantor_proof_doc_new(CANTOR_PROOF_DELTA, &doc), CANTOR_OK);
    doc->block = fx.blk[b];
    ck_assert_int_eq(cantor_proof_fill_delta(doc, fx.t[b], &fx.d[b]->entries[i]), CANTOR_OK);
    ck_assert_int_eq(cantor_proof_fill_mmr(doc, cantor_mmr_mem_store(fx.mmr), N_BLK, (uint64_t)b), CANTOR_OK);
    ck_assert_int_eq(cantor_proof_fill_checkpoint(doc, fx.keys, &fx.cp), CANTOR_OK);
    return doc;
}

static struct cantor_proof_doc *state_doc(int b, const struct cantor_delta_entry *e)
{
    struct cantor_proof_doc *doc = NULL;

    ck_assert_int_eq(cantor_proof_doc_new(CANTOR_PROOF_STATE, &doc), CANTOR_OK);
    doc->block = fx.blk[b];
    ck_assert_int_eq(cantor_proof_fill_state(doc, cantor_smt_mem_store(fx.smt), e->addr, e->kind, e->slot),
                     CANTOR_OK);
    ck_assert_int_eq(cantor_proof_fill_mmr(doc, cantor_mmr_mem_store(fx.mmr), N_BLK, (uint64_t)b), CANTOR_OK);
    ck_assert_int_eq(cantor_proof_fill_checkpoint(doc, fx.keys, &fx.cp), CANTOR_OK);
    return doc;
}

/* Serialize, parse back, verify both; returns the JSON (caller frees). */
static char *roundtrip_ok(const struct cantor_proof_doc *doc, struct cantor_proof_report *r)
{
    struct cantor_buf b;
    struct cantor_proof_doc *back = NULL;

    ck_assert_int_eq(cantor_proof_verify_ex(doc, fx.keys->ed_pk, fx.keys->eth_addr, r), CANTOR_OK);
    ck_assert_int_eq(r->failed, CANTOR_CHECK_OK);
    cantor_buf_init(&b, CANTOR_PROOF_MAX_JSON);
    ck_assert_int_eq(cantor_proof_to_json(doc, &b), CANTOR_OK);
    ck_assert_int_eq(cantor_proof_parse((const char *)b.data, b.len, &back), CANTOR_OK);
    ck_assert_int_eq(cantor_proof_verify(back, fx.keys->ed_pk, r), CANTOR_OK);
    cantor_proof_doc_free(back);
    return (char *)cantor_buf_detach(&b, NULL);
}

START_TEST(test_delta_every_entry)
{
    struct cantor_proof_report r;
    size_t max_size = 0;

    for (size_t i = 0; i < fx.d[0]->n_entries; i++) {
        struct cantor_proof_doc *doc = delta_doc(0, i);
        if (i % 50 == 0)
            free(roundtrip_ok(doc, &r));
        ck_assert_int_eq(cantor_proof_verify_ex(doc, fx.keys->ed_pk, fx.keys->eth_addr, &r), CANTOR_OK);
        ck_assert_uint_eq(r.block_number, FIRST);
        ck_assert_uint_eq(r.checkpoint_number, FIRST + 2);
        ck_assert_mem_eq(r.value, fx.d[0]->entries[i].new_val, 32);
        if (cantor_proof_size(doc) > max_size)
            max_size = cantor_proof_size(doc);
        cantor_proof_doc_free(doc);
    }
    ck_assert_uint_le(max_size, 2048);
}
END_TEST

START_TEST(test_state_old_block_and_absent)
{
    struct cantor_proof_report r;
    size_t changed_later = 0, absent = 0;

    /* Every key of block 191 at block 191 holds 191's new value, even where 192/193 changed it. */
    for (size_t i = 0; i < fx.d[0]->n_entries; i++) {
        const struct cantor_delta_entry *e = &fx.d[0]->entries[i];
        struct cantor_proof_doc *doc = state_doc(0, e);
        ck_assert(doc->present);
        if (i % 60 == 0)
            free(roundtrip_ok(doc, &r));
        ck_assert_int_eq(cantor_proof_verify(doc, fx.keys->ed_pk, &r), CANTOR_OK);
        ck_assert(r.present);
        ck_assert_mem_eq(r.value, e->new_val, 32);
        ck_assert_uint_le(cantor_proof_size(doc), 2048);
        cantor_proof_doc_free(doc);
        for (int b = 1; b < N_BLK; b++)
            for (size_t j = 0; j < fx.d[b]->n_entries; j++)
                if (cantor_delta_entry_cmp(e, &fx.d[b]->entries[j]) == 0 &&
                    memcmp(e->new_val, fx.d[b]->entries[j].new_val, 32) != 0)
                    changed_later++;
    }
    ck_assert_uint_gt(changed_later, 0);
    /* Keys first touched in block 192 are provably absent at 191. */
    for (size_t j = 0; j < fx.d[1]->n_entries; j++) {
        const struct cantor_delta_entry *e = &fx.d[1]->entries[j];
        struct cantor_proof_doc *doc = state_doc(0, e);
        if (!doc->present) {
            char *json = roundtrip_ok(doc, &r);
            ck_assert(!r.present);
            free(json);
            absent++;
        }
        cantor_proof_doc_free(doc);
    }
    ck_assert_uint_gt(absent, 10);
}
END_TEST

static void expect(const struct cantor_proof_doc *doc, const uint8_t *eth, enum cantor_proof_check want)
{
    struct cantor_proof_report r;

    ck_assert_int_ne(cantor_proof_verify_ex(doc, fx.keys->ed_pk, eth, &r), CANTOR_OK);
    ck_assert_msg(r.failed == want, "failed '%s' (%s), expected '%s'", cantor_proof_check_name(r.failed),
                  r.message, cantor_proof_check_name(want));
    ck_assert_ptr_nonnull(strstr(r.message, cantor_proof_check_name(want)));
}

START_TEST(test_tamper_classes)
{
    struct cantor_proof_doc *good = delta_doc(0, 3), *sgood = state_doc(0, &fx.d[0]->entries[5]), *x;
    uint8_t other_addr[20];

    x = malloc(sizeof(*x));
    for (unsigned b = 0; b < 32; b++) {
        *x = *good; /* value */
        x->entry.new_val[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_DELTA_PATH);
        *x = *good;
        x->entry.old_val[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_DELTA_PATH);
        *x = *good; /* path */
        x->delta_path[b % x->n_delta_path][b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_DELTA_PATH);
        *x = *good; /* roots */
        x->block.delta_root[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_MMR_PATH);
        *x = *good;
        x->block.state_root[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_MMR_PATH);
        *x = *good;
        x->block.hash[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_MMR_PATH);
        *x = *good;
        x->mmr.peaks[b % x->mmr.n_peaks][b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_MMR_PATH);
        *x = *good;
        x->mmr.siblings[0][b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_MMR_PATH);
        *x = *good; /* checkpoint */
        x->checkpoint.mmr_root[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_SIGNATURE);
        *x = *good;
        x->checkpoint.block_hash[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_SIGNATURE);
        *x = *sgood; /* state value, state path, state root */
        x->value[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_LEAF);
        *x = *sgood;
        x->smt.siblings[b % x->smt.n_siblings][b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_STATE_PATH);
        *x = *sgood;
        x->block.state_root[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_MMR_PATH);
    }
    for (unsigned b = 0; b < 20; b++) {
        *x = *good;
        x->entry.addr[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_DELTA_PATH);
        *x = *good;
        x->signer[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_ETH_SIGNATURE);
    }
    for (unsigned b = 0; b < 64; b++) {
        *x = *good; /* signatures */
        x->sigs.ed25519[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_SIGNATURE);
        *x = *good;
        x->sigs.secp256k1[b] ^= 1;
        expect(x, NULL, CANTOR_CHECK_ETH_SIGNATURE);
    }
    /* block: number, position */
    for (unsigned bit = 0; bit < 64; bit++) {
        *x = *good;
        x->block.number ^= UINT64_C(1) << bit;
        expect(x, NULL, CANTOR_CHECK_BLOCK);
        *x = *good;
        x->checkpoint.number ^= UINT64_C(1) << bit;
        expect(x, NULL, CANTOR_CHECK_SIGNATURE);
    }
    *x = *good;
    x->mmr.leaf_index = 1;
    expect(x, NULL, CANTOR_CHECK_BLOCK);
    *x = *good;
    x->mmr.leaf_count = 2;
    expect(x, NULL, CANTOR_CHECK_BLOCK);
    /* Both moved consistently still fails: the record is not that leaf. */
    *x = *good;
    x->block.number += 1;
    x->mmr.leaf_index += 1;
    expect(x, NULL, CANTOR_CHECK_MMR_PATH);
    *x = *good;
    x->entry.kind ^= 1;
    expect(x, NULL, CANTOR_CHECK_DELTA_PATH);
    /* a different trusted key / expected address */
    *x = *good;
    memcpy(other_addr, fx.keys->eth_addr, 20);
    other_addr[19] ^= 1;
    expect(x, other_addr, CANTOR_CHECK_ETH_SIGNATURE);
    {
        struct cantor_proof_report r;
        uint8_t pk[32];
        memcpy(pk, fx.keys->ed_pk, 32);
        pk[0] ^= 1;
        ck_assert_int_eq(cantor_proof_verify(good, pk, &r), CANTOR_ERR_SIGNATURE);
        ck_assert_int_eq(r.failed, CANTOR_CHECK_SIGNATURE);
    }
    /* state: claim presence/absence falsely */
    *x = *sgood;
    x->present = false;
    expect(x, NULL, CANTOR_CHECK_LEAF);
    *x = *sgood;
    x->entry.slot[0] ^= 1; /* another key than the path's */
    expect(x, NULL, CANTOR_CHECK_LEAF);
    free(x);
    cantor_proof_doc_free(good);
    cantor_proof_doc_free(sgood);
}
END_TEST

/* Flip every hex digit of every "0x..." string in a serialized proof: nothing may still verify. */
static void flip_every_digit(const char *json)
{
    size_t len = strlen(json), tried = 0;
    char *t = malloc(len + 1);
    struct cantor_proof_report r;

    memcpy(t, json, len + 1);
    for (size_t i = 0; i + 3 < len; i++) {
        if (!(t[i] == '"' && t[i + 1] == '0' && t[i + 2] == 'x'))
            continue;
        for (size_t j = i + 3; j < len && t[j] != '"'; j++) {
            char c = t[j];
            int v = cantor_hex_digit(c);
            ck_assert_int_ge(v, 0);
            t[j] = "0123456789abcdef"[(v + 1 + (int)(j % 15)) % 16];
            ck_assert_msg(cantor_proof_verify_json(t, len, fx.keys->ed_pk, NULL, &r) != CANTOR_OK,
                          "digit %zu flipped still verifies", j);
            ck_assert_int_ne(r.failed, CANTOR_CHECK_OK);
            t[j] = c;
            tried++;
        }
    }
    ck_assert_uint_gt(tried, 1000);
    ck_assert_int_eq(cantor_proof_verify_json(t, len, fx.keys->ed_pk, NULL, &r), CANTOR_OK);
    free(t);
}

START_TEST(test_flip_every_hex_digit)
{
    struct cantor_proof_report r;
    struct cantor_proof_doc *d = delta_doc(0, 7), *s = state_doc(1, &fx.d[0]->entries[9]);
    char *jd = roundtrip_ok(d, &r), *js = roundtrip_ok(s, &r);

    flip_every_digit(jd);
    flip_every_digit(js);
    free(jd);
    free(js);
    cantor_proof_doc_free(d);
    cantor_proof_doc_free(s);
}
END_TEST

START_TEST(test_malformed)
{
    struct cantor_proof_report r;
    struct cantor_proof_doc *d = delta_doc(0, 1), *back = NULL;
    char *json = roundtrip_ok(d, &r), *v2;
    size_t len = strlen(json);
    static const char *cases[] = {
        "", "{}", "[]", "{\"version\":1}", "{\"version\":1,\"type\":\"delta\"}", "null",
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_ne(cantor_proof_verify_json(cases[i], strlen(cases[i]), fx.keys->ed_pk, NULL, &r),
                         CANTOR_OK);
        ck_assert_int_eq(r.failed, CANTOR_CHECK_FORMAT);
    }
    /* Every truncation fails to parse. */
    for (size_t n = 0; n < len - 2; n += 7)
        ck_assert_int_ne(cantor_proof_parse(json, n, &back), CANTOR_OK);
    /* Unknown version or type. */
    v2 = strdup(json);
    *strstr(v2, "\"version\": 1") = ' ';
    ck_assert_int_ne(cantor_proof_parse(v2, len, &back), CANTOR_OK);
    free(v2);
    v2 = strdup(json);
    memcpy(strstr(v2, "\"delta\""), "\"delte\"", 7);
    ck_assert_int_eq(cantor_proof_parse(v2, len, &back), CANTOR_ERR_UNSUPPORTED);
    free(v2);
    ck_assert_int_eq(cantor_proof_parse(json, CANTOR_PROOF_MAX_JSON + 1, &back), CANTOR_ERR_TOO_LARGE);
    free(json);
    cantor_proof_doc_free(d);
    cantor_proof_doc_free(NULL);
}
END_TEST

/* The caching verifier gives the same answers: a warm cache never lets a changed signature through. */
START_TEST(test_cached_verifier)
{
    struct cantor_proof_verifier v;
    struct cantor_proof_report r;
    struct cantor_proof_doc *good = delta_doc(0, 11), *x = malloc(sizeof(*x));

    cantor_proof_verifier_init(&v, fx.keys->ed_pk, fx.keys->eth_addr);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(cantor_proof_verifier_check(&v, good, &r), CANTOR_OK);
        ck_assert(v.cached);
        for (unsigned b = 0; b < 64; b++) {
            *x = *good;
            x->sigs.ed25519[b] ^= 1;
            ck_assert_int_eq(cantor_proof_verifier_check(&v, x, &r), CANTOR_ERR_SIGNATURE);
            ck_assert_int_eq(r.failed, CANTOR_CHECK_SIGNATURE);
            *x = *good;
            x->checkpoint.mmr_root[b % 32] ^= 1;
            ck_assert_int_eq(cantor_proof_verifier_check(&v, x, &r), CANTOR_ERR_SIGNATURE);
            *x = *good;
            x->entry.new_val[b % 32] ^= 1;
            ck_assert_int_eq(cantor_proof_verifier_check(&v, x, &r), CANTOR_ERR_PROOF);
            ck_assert_int_eq(r.failed, CANTOR_CHECK_DELTA_PATH);
        }
    }
    free(x);
    cantor_proof_doc_free(good);
}
END_TEST

/*
 * Every byte of a delta and a state document flipped in turn (entry, paths, path lengths, block record,
 * MMR proof, checkpoint, signatures, signer): a verifier whose cache holds the good checkpoint answers
 * exactly what the cold path answers, error, failed check and all. The cache may only skip work.
 */
static void cache_matches_cold(const struct cantor_proof_doc *good)
{
    struct cantor_proof_verifier v;
    struct cantor_proof_report rc, rw;
    struct cantor_proof_doc *x = malloc(sizeof(*x));
    size_t refused = 0;

    ck_assert_ptr_nonnull(x);
    cantor_proof_verifier_init(&v, fx.keys->ed_pk, fx.keys->eth_addr);
    ck_assert_int_eq(cantor_proof_verifier_check(&v, good, &rw), CANTOR_OK);
    for (size_t i = 0; i < sizeof(*x); i++) {
        enum cantor_err ec, ew;

        memcpy(x, good, sizeof(*x));
        ((uint8_t *)x)[i] ^= 0x01;
        ec = cantor_proof_verify_ex(x, fx.keys->ed_pk, fx.keys->eth_addr, &rc);
        ew = cantor_proof_verifier_check(&v, x, &rw);
        ck_assert_msg(ec == ew && rc.failed == rw.failed, "byte %zu: cold %s/%s, cached %s/%s", i,
                      cantor_err_str(ec), cantor_proof_check_name(rc.failed), cantor_err_str(ew),
                      cantor_proof_check_name(rw.failed));
        refused += ec != CANTOR_OK;
        /* the good document still verifies from the cache afterwards */
        ck_assert_int_eq(cantor_proof_verifier_check(&v, good, &rw), CANTOR_OK);
    }
    ck_assert_uint_gt(refused, 500); /* the live fields; unused path slots change nothing */
    free(x);
}

START_TEST(test_cached_verifier_every_byte)
{
    struct cantor_proof_doc *d = delta_doc(0, 11), *st = NULL;

    cache_matches_cold(d);
    st = state_doc(0, &fx.d[0]->entries[5]);
    cache_matches_cold(st);
    cantor_proof_doc_free(d);
    cantor_proof_doc_free(st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proof");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_delta_every_entry);
    tcase_add_test(tc, test_state_old_block_and_absent);
    tcase_add_test(tc, test_tamper_classes);
    tcase_add_test(tc, test_flip_every_hex_digit);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_cached_verifier);
    tcase_add_test(tc, test_cached_verifier_every_byte);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
