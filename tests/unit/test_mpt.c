/*
 * test_mpt.c - Merkle-Patricia tries: roots from ethereum/tests TrieTests and the mainnet genesis
 * allocation, proofs from Helios, execution-apis (chain.rlp), Portal state tests and Erigon, each
 * also tampered with (node bytes, claimed values, root) to check that it then fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/keccak.h"
#include "core/mpt.h"
#include "core/proof_json.h"
#include "core/rlp.h"
#include "testutil.h"

/* ---------- helpers ---------- */

static void hex32(const char *s, uint8_t out[32])
{
    ck_assert_msg(cantor_hex_decode_exact(s, out, 32) == CANTOR_OK, "bad hash %s", s);
}

static struct cantor_eth_proof *parse_file(const char *rel)
{
    struct cantor_eth_proof *p = NULL;
    char msg[256];
    size_t len;
    uint8_t *text = tu_read_data(rel, &len);
    enum cantor_err err = cantor_proof_json_parse((const char *)text, len, &p, msg, sizeof(msg));

    ck_assert_msg(err == CANTOR_OK, "%s: %s", rel, msg);
    free(text);
    return p;
}

/* Every way we can break a verified proof must make it fail; returns the number of checks. */
static int check_tampering(struct cantor_eth_proof *p, const uint8_t root[32], const char *name)
{
    uint8_t bad_root[32];
    int checks = 0;
    char why[256];

    ck_assert_msg(cantor_eth_proof_verify(p, root, NULL, NULL, why, sizeof(why)) == CANTOR_OK, "%s: %s", name,
                  why);
    memcpy(bad_root, root, 32);
    for (int pos = 0; pos < 32; pos += 13) {
        bad_root[pos] ^= 0x01;
        ck_assert_int_eq(cantor_eth_proof_verify(p, bad_root, NULL, NULL, NULL, 0), CANTOR_ERR_PROOF);
        bad_root[pos] ^= 0x01;
        checks++;
    }
    /* a byte flipped anywhere in any node */
    for (size_t i = 0; i < p->n_account_nodes; i++) {
        uint8_t *d = (uint8_t *)p->account_nodes[i].data;
        size_t len = p->account_nodes[i].len;
        size_t where[3] = {0, len / 2, len - 1};

        for (int k = 0; k < 3; k++) {
            d[where[k]] ^= 0x40;
            ck_assert_msg(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0) == CANTOR_ERR_PROOF,
                          "%s: accountProof[%zu] byte %zu flipped still verifies", name, i, where[k]);
            d[where[k]] ^= 0x40;
            checks++;
        }
    }
    /* a dropped last node, or one extra copy of it */
    if (p->n_account_nodes > 0) {
        p->n_account_nodes--;
        ck_assert_int_ne(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_OK);
        p->n_account_nodes++;
        checks++;
    }
    /* claimed account fields */
    p->account.nonce ^= 1;
    ck_assert_int_eq(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_ERR_MISMATCH);
    p->account.nonce ^= 1;
    p->account.balance[31] ^= 1;
    ck_assert_int_eq(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_ERR_MISMATCH);
    p->account.balance[31] ^= 1;
    p->account.code_hash[5] ^= 0x80;
    ck_assert_int_eq(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_ERR_MISMATCH);
    p->account.code_hash[5] ^= 0x80;
    checks += 3;
    /* address (the proof is for another key now) */
    p->address[19] ^= 0x01;
    ck_assert_int_ne(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_OK);
    p->address[19] ^= 0x01;
    checks++;
    for (size_t s = 0; s < p->n_storage; s++) {
        struct cantor_storage_proof *sp = &p->storage[s];

        sp->value[31] ^= 0x01;
        ck_assert_int_eq(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_ERR_MISMATCH);
        sp->value[31] ^= 0x01;
        checks++;
        for (size_t i = 0; i < sp->n_nodes; i++) {
            uint8_t *d = (uint8_t *)sp->nodes[i].data;
            size_t len = sp->nodes[i].len;
            size_t where[3] = {0, len / 2, len - 1};

            for (int k = 0; k < 3; k++) {
                d[where[k]] ^= 0x40;
                ck_assert_msg(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0) == CANTOR_ERR_PROOF,
                              "%s: storageProof[%zu][%zu] flipped still verifies", name, s, i);
                d[where[k]] ^= 0x40;
                checks++;
            }
        }
    }
    ck_assert_int_eq(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_OK);
    return checks;
}

/* ---------- trie roots ---------- */

struct kvmap {
    uint8_t *key[64], *val[64];
    size_t klen[64], vlen[64];
    size_t n;
};

/* "0x..." is hex, anything else is the raw string (the TrieTests convention). */
static void trie_bytes(const char *s, bool hex_always, uint8_t **ret, size_t *ret_len)
{
    if (hex_always || strncmp(s, "0x", 2) == 0) {
        ck_assert_msg(cantor_hex_decode_alloc(s, ret, ret_len) == CANTOR_OK, "bad hex %s", s);
        return;
    }
    *ret_len = strlen(s);
    *ret = malloc(*ret_len + 1);
    memcpy(*ret, s, *ret_len + 1);
}

static void kv_put(struct kvmap *m, const char *ks, const json_t *v, bool secure, bool hex)
{
    uint8_t *k, *val = NULL;
    size_t klen, vlen = 0, i;

    trie_bytes(ks, hex, &k, &klen);
    if (secure) {
        uint8_t *h = malloc(32);

        cantor_keccak256(k, klen, h);
        free(k);
        k = h;
        klen = 32;
    }
    if (json_is_string(v))
        trie_bytes(json_string_value(v), hex, &val, &vlen);
    for (i = 0; i < m->n; i++)
        if (m->klen[i] == klen && memcmp(m->key[i], k, klen) == 0)
            break;
    if (i < m->n) {
        free(m->key[i]);
        free(m->val[i]);
        m->n--;
        m->key[i] = m->key[m->n];
        m->klen[i] = m->klen[m->n];
        m->val[i] = m->val[m->n];
        m->vlen[i] = m->vlen[m->n];
    }
    if (vlen == 0) { /* null or "" deletes */
        free(k);
        free(val);
        return;
    }
    ck_assert_uint_lt(m->n, 64);
    m->key[m->n] = k;
    m->klen[m->n] = klen;
    m->val[m->n] = val;
    m->vlen[m->n] = vlen;
    m->n++;
}

static int run_trie_file(const char *rel, bool secure, bool hex)
{
    json_t *j = tu_load_json(rel), *t;
    const char *name;
    int count = 0;

    json_object_foreach(j, name, t)
    {
        const json_t *in = json_object_get(t, "in");
        struct kvmap m = {.n = 0};
        struct cantor_mpt_kv kvs[64];
        uint8_t want[32], got[32];

        if (json_is_array(in)) {
            size_t i;
            const json_t *pair;

            json_array_foreach(in, i, pair)
                kv_put(&m, json_string_value(json_array_get(pair, 0)), json_array_get(pair, 1), secure, hex);
        } else {
            const char *k;
            const json_t *v;

            json_object_foreach((json_t *)in, k, v) kv_put(&m, k, v, secure, hex);
        }
        for (size_t i = 0; i < m.n; i++)
            kvs[i] = (struct cantor_mpt_kv){m.key[i], m.klen[i], m.val[i], m.vlen[i]};
        hex32(json_string_value(json_object_get(t, "root")), want);
        ck_assert_int_eq(cantor_mpt_root(kvs, m.n, got), CANTOR_OK);
        ck_assert_msg(memcmp(want, got, 32) == 0, "%s/%s: wrong root", rel, name);
        for (size_t i = 0; i < m.n; i++) {
            free(m.key[i]);
            free(m.val[i]);
        }
        count++;
    }
    json_decref(j);
    return count;
}

START_TEST(test_trie_tests)
{
    int n = 0;

    n += run_trie_file("ethereum-tests/TrieTests/trietest.json", false, false);
    n += run_trie_file("ethereum-tests/TrieTests/trieanyorder.json", false, false);
    n += run_trie_file("ethereum-tests/TrieTests/trietest_secureTrie.json", true, false);
    n += run_trie_file("ethereum-tests/TrieTests/trieanyorder_secureTrie.json", true, false);
    n += run_trie_file("ethereum-tests/TrieTests/hex_encoded_securetrie_test.json", true, true);
    ck_assert_int_eq(n, 5 + 7 + 3 + 7 + 3);
}
END_TEST

START_TEST(test_trie_edge)
{
    uint8_t root[32];
    struct cantor_mpt_kv kv[2] = {{(const uint8_t *)"a", 1, (const uint8_t *)"x", 1},
                                  {(const uint8_t *)"a", 1, (const uint8_t *)"y", 1}};

    ck_assert_int_eq(cantor_mpt_root(NULL, 0, root), CANTOR_OK);
    ck_assert_mem_eq(root, CANTOR_EMPTY_TRIE_ROOT, 32);
    ck_assert_int_eq(cantor_mpt_root(kv, 2, root), CANTOR_ERR_INVALID); /* duplicate key */
    kv[1].key = (const uint8_t *)"b";
    kv[1].value_len = 0;
    ck_assert_int_eq(cantor_mpt_root(kv, 2, root), CANTOR_ERR_INVALID); /* empty value */
}
END_TEST

START_TEST(test_hex_prefix)
{
    json_t *j = tu_load_json("ethereum-tests/BasicTests/hexencodetest.json"), *t;
    const char *name;
    int n = 0;

    json_object_foreach(j, name, t)
    {
        const json_t *seq = json_object_get(t, "seq");
        uint8_t nibbles[64];
        struct cantor_buf b;
        char hex[200];
        size_t i;
        const json_t *v;

        json_array_foreach(seq, i, v) nibbles[i] = (uint8_t)json_integer_value(v);
        cantor_buf_init(&b, 100);
        ck_assert_int_eq(
            cantor_mpt_hp_encode(nibbles, json_array_size(seq), json_is_true(json_object_get(t, "term")), &b),
            CANTOR_OK);
        cantor_hex_encode(b.data, b.len, hex);
        ck_assert_str_eq(hex + 2, json_string_value(json_object_get(t, "out")));
        cantor_buf_release(&b);
        n++;
    }
    ck_assert_int_ge(n, 6);
    json_decref(j);
}
END_TEST

START_TEST(test_genesis_root)
{
    json_t *j = tu_load_json("mainnet-genesis-alloc/mainnet_alloc.json"), *v;
    size_t n = json_object_size(j), i = 0;
    struct cantor_mpt_kv *kvs = calloc(n, sizeof(*kvs));
    uint8_t(*keys)[32] = calloc(n, 32);
    struct cantor_buf *vals = calloc(n, sizeof(*vals));
    uint8_t root[32], want[32];
    const char *addr;

    ck_assert_uint_eq(n, 8893);
    json_object_foreach(j, addr, v)
    {
        struct cantor_account a;
        uint8_t a20[20];

        cantor_account_empty(&a);
        ck_assert_int_eq(cantor_hex_decode_exact(addr, a20, 20), CANTOR_OK);
        ck_assert_int_eq(cantor_hex_decode_word(json_string_value(json_object_get(v, "balance")), a.balance),
                         CANTOR_OK);
        cantor_keccak256(a20, 20, keys[i]);
        cantor_buf_init(&vals[i], 128);
        ck_assert_int_eq(cantor_account_encode(&a, &vals[i]), CANTOR_OK);
        kvs[i] = (struct cantor_mpt_kv){keys[i], 32, vals[i].data, vals[i].len};
        i++;
    }
    ck_assert_int_eq(cantor_mpt_root(kvs, n, root), CANTOR_OK);
    hex32("0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544", want);
    ck_assert_mem_eq(root, want, 32);
    /* one balance off by one wei gives another root */
    vals[100].data[vals[100].len - 66 - 1] ^= 1;
    ck_assert_int_eq(cantor_mpt_root(kvs, n, root), CANTOR_OK);
    ck_assert_mem_ne(root, want, 32);
    for (i = 0; i < n; i++)
        cantor_buf_release(&vals[i]);
    free(vals);
    free(keys);
    free(kvs);
    json_decref(j);
}
END_TEST

/* ---------- proofs: Helios (mainnet block 21,925,176) ---------- */

static void helios_root(uint8_t root[32])
{
    json_t *b = tu_load_json("helios-testdata/rpc/block.json");

    hex32(json_string_value(json_object_get(b, "stateRoot")), root);
    json_decref(b);
}

START_TEST(test_helios_proofs)
{
    static const char *files[] = {"proof.json", "block_miner_proof.json"};
    static const char *acct_files[] = {"account.json", "block_miner_account.json"};
    uint8_t root[32];
    int checks = 0;

    helios_root(root);
    for (int f = 0; f < 2; f++) {
        char rel[128], why[256];
        struct cantor_eth_proof *p, *q;
        struct cantor_account a;
        bool exists = false;

        snprintf(rel, sizeof(rel), "helios-testdata/rpc/%s", files[f]);
        p = parse_file(rel);
        ck_assert_int_eq(cantor_eth_proof_verify(p, root, &a, &exists, why, sizeof(why)), CANTOR_OK);
        ck_assert(exists);
        ck_assert_uint_eq(a.nonce, f == 0 ? 1 : 0x13e79e);
        checks += check_tampering(p, root, rel);

        /* Helios' account form: no address (taken from the proof form), but the code itself */
        snprintf(rel, sizeof(rel), "helios-testdata/rpc/%s", acct_files[f]);
        q = parse_file(rel);
        ck_assert(!q->has_address);
        ck_assert(q->has_code);
        ck_assert_int_eq(cantor_eth_proof_verify(q, root, NULL, NULL, NULL, 0), CANTOR_ERR_INVALID);
        memcpy(q->address, p->address, 20);
        q->has_address = true;
        ck_assert_msg(cantor_eth_proof_verify(q, root, NULL, NULL, why, sizeof(why)) == CANTOR_OK, "%s: %s",
                      rel, why);
        if (q->code_len > 0) {
            q->code[q->code_len / 2] ^= 1;
            ck_assert_int_eq(cantor_eth_proof_verify(q, root, NULL, NULL, NULL, 0), CANTOR_ERR_MISMATCH);
        }
        cantor_eth_proof_free(q);
        cantor_eth_proof_free(p);
    }
    ck_assert_int_gt(checks, 50);
}
END_TEST

/* ---------- proofs: execution-apis (block 54 of chain.rlp) ---------- */

static void chain_rlp_state_root(uint64_t want_number, uint8_t root[32], uint8_t hash[32])
{
    size_t len, off = 0;
    uint8_t *chain = tu_read_data("execution-apis-tests/chain.rlp", &len);
    bool found = false;

    for (int blocks = 0; off < len && blocks < 10000; blocks++) {
        struct cantor_rlp_item block, header, field;
        size_t used, pos = 0;
        uint64_t number = 0;

        ck_assert_int_eq(cantor_rlp_decode_item(chain + off, len - off, &block, &used), CANTOR_OK);
        off += used;
        ck_assert(block.is_list);
        ck_assert_int_eq(cantor_rlp_list_next(&block, &pos, &header), CANTOR_OK);
        pos = 0;
        for (int i = 0; i <= 8; i++) {
            ck_assert_int_eq(cantor_rlp_list_next(&header, &pos, &field), CANTOR_OK);
            if (i == 3 && !field.is_list && field.payload_len == 32)
                memcpy(root, field.payload, 32);
            if (i == 8)
                ck_assert_int_eq(cantor_rlp_to_u64(&field, &number), CANTOR_OK);
        }
        if (number == want_number) {
            cantor_keccak256(header.raw, header.raw_len, hash);
            found = true;
            break;
        }
    }
    free(chain);
    ck_assert_msg(found, "block %llu not in chain.rlp", (unsigned long long)want_number);
}

/* The "<< " line of an .io file: the recorded response. */
static char *io_response(const char *rel, char **ret_request)
{
    size_t len;
    char *text = (char *)tu_read_data(rel, &len), *line, *save = NULL, *resp = NULL;

    *ret_request = NULL;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "<< ", 3) == 0)
            resp = strdup(line + 3);
        if (strncmp(line, ">> ", 3) == 0)
            *ret_request = strdup(line + 3);
    }
    free(text);
    ck_assert_msg(resp != NULL, "%s: no response line", rel);
    return resp;
}

START_TEST(test_execution_apis_proofs)
{
    static const char *files[] = {"get-account-proof-blockhash.io", "get-account-proof-default-block.io",
                                  "get-account-proof-latest.io", "get-account-proof-with-storage.io"};
    uint8_t root[32], hash[32];
    int checks = 0;

    chain_rlp_state_root(54, root, hash);
    for (int f = 0; f < 4; f++) {
        char rel[160], why[256], *req, *resp;
        struct cantor_eth_proof *p = NULL;

        snprintf(rel, sizeof(rel), "execution-apis-tests/eth_getProof/%s", files[f]);
        resp = io_response(rel, &req);
        ck_assert_int_eq(cantor_proof_json_parse(resp, strlen(resp), &p, why, sizeof(why)), CANTOR_OK);
        ck_assert_msg(cantor_eth_proof_verify(p, root, NULL, NULL, why, sizeof(why)) == CANTOR_OK, "%s: %s",
                      rel, why);
        if (f == 0) { /* the request names block 54 by hash: our header must hash to it */
            json_t *r = json_loads(req, 0, NULL);
            uint8_t want[32];

            hex32(json_string_value(json_array_get(json_object_get(r, "params"), 2)), want);
            ck_assert_mem_eq(hash, want, 32);
            json_decref(r);
        }
        if (f == 3)
            ck_assert_uint_eq(p->n_storage, 1);
        checks += check_tampering(p, root, rel);
        cantor_eth_proof_free(p);
        free(resp);
        free(req);
    }
    ck_assert_int_gt(checks, 40);
}
END_TEST

/* ---------- proofs: Erigon (mainnet, no headers: root = keccak256(accountProof[0])) ---------- */

START_TEST(test_erigon_proofs)
{
    int absent = 0, present = 0, storage = 0;

    for (int t = 21; t <= 26; t++) {
        char rel[128], why[256];
        struct cantor_eth_proof *p;
        uint8_t root[32];
        bool exists = true;

        snprintf(rel, sizeof(rel), "erigon-rpc-tests/mainnet/eth_getProof/test_%d.json", t);
        p = parse_file(rel);
        ck_assert_uint_gt(p->n_account_nodes, 0);
        cantor_keccak256(p->account_nodes[0].data, p->account_nodes[0].len, root);
        ck_assert_msg(cantor_eth_proof_verify(p, root, NULL, &exists, why, sizeof(why)) == CANTOR_OK,
                      "%s: %s", rel, why);
        if (exists)
            present++;
        else
            absent++;
        storage += (int)p->n_storage;
        if (exists) {
            check_tampering(p, root, rel);
        } else {
            /* an absent account claimed to have a balance */
            p->account.balance[31] = 1;
            ck_assert_int_eq(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_ERR_MISMATCH);
            p->account.balance[31] = 0;
            /* exclusion proofs too break when a node byte flips */
            for (size_t i = 0; i < p->n_account_nodes; i++) {
                uint8_t *d = (uint8_t *)p->account_nodes[i].data;

                d[p->account_nodes[i].len - 1] ^= 0x40;
                ck_assert_int_eq(cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0), CANTOR_ERR_PROOF);
                d[p->account_nodes[i].len - 1] ^= 0x40;
            }
        }
        cantor_eth_proof_free(p);
    }
    ck_assert_int_eq(present, 2); /* test_22/23: 0x9d39...; the rest are absent accounts */
    ck_assert_int_eq(absent, 4);
    ck_assert_int_eq(storage, 2);
}
END_TEST

/* ---------- proofs: Portal state tests (block 19,000,000 and genesis) ---------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An SSZ List[ByteList]: offsets, then the items. */
static size_t ssz_list(const uint8_t *p, size_t len, struct cantor_bytes *out, size_t max)
{
    size_t n;

    if (len == 0)
        return 0;
    ck_assert_uint_ge(len, 4);
    n = le32(p) / 4;
    ck_assert(n >= 1 && n <= max && le32(p) % 4 == 0 && le32(p) <= len);
    for (size_t i = 0; i < n; i++) {
        size_t a = le32(p + 4 * i), b = i + 1 < n ? le32(p + 4 * (i + 1)) : len;

        ck_assert(a <= b && b <= len);
        out[i].data = p + a;
        out[i].len = b - a;
    }
    return n;
}

/* Portal path: one byte (high nibble 1 = odd, low nibble = first nibble when odd), then packed nibbles. */
static size_t portal_path(const uint8_t *p, size_t len, uint8_t *nibbles)
{
    size_t n = 0;

    ck_assert_uint_ge(len, 1);
    ck_assert((p[0] >> 4) <= 1);
    if (p[0] >> 4)
        nibbles[n++] = p[0] & 0x0f;
    for (size_t i = 1; i < len; i++) {
        nibbles[n++] = p[i] >> 4;
        nibbles[n++] = p[i] & 0x0f;
    }
    return n;
}

struct portal_ctx {
    uint8_t address[20];
    bool has_address;
    long slot;
    bool leaf;
};

static int portal_entry(const struct portal_ctx *ctx, const char *hdr_hex, const char *key_hex,
                        const char *offer_hex)
{
    uint8_t *hdr, *key, *offer, state_root[32], block_hash[32], nibbles[130];
    size_t hdr_len, key_len, offer_len, n_nib = 0, n_nodes = 0, n_acct = 0;
    struct cantor_bytes nodes[64], acct[64];
    struct cantor_rlp_item h, field;
    struct cantor_account a;
    bool exists = false;
    size_t pos = 0;
    int checks = 0;
    const uint8_t *node_hash;

    ck_assert_int_eq(cantor_hex_decode_alloc(hdr_hex, &hdr, &hdr_len), CANTOR_OK);
    ck_assert_int_eq(cantor_hex_decode_alloc(key_hex, &key, &key_len), CANTOR_OK);
    ck_assert_int_eq(cantor_hex_decode_alloc(offer_hex, &offer, &offer_len), CANTOR_OK);
    ck_assert_int_eq(cantor_rlp_decode(hdr, hdr_len, &h), CANTOR_OK);
    for (int i = 0; i <= 3; i++)
        ck_assert_int_eq(cantor_rlp_list_next(&h, &pos, &field), CANTOR_OK);
    ck_assert_uint_eq(field.payload_len, 32);
    memcpy(state_root, field.payload, 32);
    cantor_keccak256(hdr, hdr_len, block_hash);

    switch (key[0]) {
    case 0x20: /* account trie node: key {path, node_hash}; offer {proof, block_hash} */
        ck_assert_uint_eq(le32(key + 1), 36);
        node_hash = key + 5;
        n_nib = portal_path(key + 37, key_len - 37, nibbles);
        ck_assert_uint_eq(le32(offer), 36);
        ck_assert_mem_eq(offer + 4, block_hash, 32);
        n_nodes = ssz_list(offer + 36, offer_len - 36, nodes, 64);
        ck_assert_int_eq(cantor_mpt_verify_path(state_root, nibbles, n_nib, nodes, n_nodes), CANTOR_OK);
        checks++;
        break;
    case 0x21: /* storage trie node: key {address_hash, path, node_hash}; offer {storage, account, hash} */
        ck_assert_uint_eq(le32(key + 33), 68);
        node_hash = key + 37;
        n_nib = portal_path(key + 69, key_len - 69, nibbles);
        ck_assert_uint_eq(le32(offer), 40);
        ck_assert_mem_eq(offer + 8, block_hash, 32);
        n_nodes = ssz_list(offer + 40, le32(offer + 4) - 40, nodes, 64);
        n_acct = ssz_list(offer + le32(offer + 4), offer_len - le32(offer + 4), acct, 64);
        ck_assert_int_eq(cantor_mpt_verify_account_key(state_root, key + 1, acct, n_acct, &exists, &a),
                         CANTOR_OK);
        ck_assert(exists);
        ck_assert_int_eq(cantor_mpt_verify_path(a.storage_root, nibbles, n_nib, nodes, n_nodes), CANTOR_OK);
        checks += 2;
        if (ctx->leaf && ctx->slot >= 0) {
            uint8_t slot[32] = {0}, v[32];

            slot[31] = (uint8_t)ctx->slot;
            ck_assert_int_eq(cantor_mpt_verify_storage(a.storage_root, slot, nodes, n_nodes, v), CANTOR_OK);
            ck_assert_uint_eq(v[31], 18); /* WETH decimals */
            checks++;
        }
        break;
    case 0x22: { /* bytecode: key {address_hash, code_hash}; offer {code, account proof, block_hash} */
        uint8_t h32[32];

        node_hash = NULL;
        ck_assert_uint_eq(key_len, 65);
        ck_assert_uint_eq(le32(offer), 40);
        ck_assert_mem_eq(offer + 8, block_hash, 32);
        n_acct = ssz_list(offer + le32(offer + 4), offer_len - le32(offer + 4), acct, 64);
        ck_assert_int_eq(cantor_mpt_verify_account_key(state_root, key + 1, acct, n_acct, &exists, &a),
                         CANTOR_OK);
        ck_assert(exists);
        cantor_keccak256(offer + 40, le32(offer + 4) - 40, h32);
        ck_assert_mem_eq(h32, a.code_hash, 32);
        ck_assert_mem_eq(key + 33, a.code_hash, 32);
        checks += 2;
        break;
    }
    default:
        ck_abort_msg("unknown portal content key type 0x%02x", key[0]);
        node_hash = NULL;
    }
    if (node_hash) {
        uint8_t h32[32];

        cantor_keccak256(nodes[n_nodes - 1].data, nodes[n_nodes - 1].len, h32);
        ck_assert_mem_eq(h32, node_hash, 32);
        /* the account leaf itself proves the account */
        if (key[0] == 0x20 && ctx->leaf && ctx->has_address) {
            ck_assert_int_eq(cantor_mpt_verify_account(state_root, ctx->address, nodes, n_nodes, &exists, &a),
                             CANTOR_OK);
            ck_assert(exists);
            checks++;
        }
        /* tampered: flip a byte of each node, and the root */
        for (size_t i = 0; i < n_nodes; i++) {
            uint8_t *d = (uint8_t *)nodes[i].data;

            d[nodes[i].len / 2] ^= 1;
            ck_assert_int_eq(cantor_mpt_verify_path(key[0] == 0x20 ? state_root : a.storage_root, nibbles,
                                                    n_nib, nodes, n_nodes),
                             CANTOR_ERR_PROOF);
            d[nodes[i].len / 2] ^= 1;
            checks++;
        }
        if (n_nib > 0) { /* a wrong path */
            nibbles[n_nib - 1] ^= 1;
            ck_assert_int_eq(cantor_mpt_verify_path(key[0] == 0x20 ? state_root : a.storage_root, nibbles,
                                                    n_nib, nodes, n_nodes),
                             CANTOR_ERR_PROOF);
            checks++;
        }
    }
    state_root[0] ^= 1;
    if (n_acct)
        ck_assert_int_eq(cantor_mpt_verify_account_key(state_root, key + 1, acct, n_acct, &exists, &a),
                         CANTOR_ERR_PROOF);
    else
        ck_assert_int_eq(cantor_mpt_verify_path(state_root, nibbles, n_nib, nodes, n_nodes),
                         CANTOR_ERR_PROOF);
    checks++;
    free(hdr);
    free(key);
    free(offer);
    return checks;
}

/* A minimal reader for these files: comment lines set the context, entries are three quoted lines. */
static int run_portal_file(const char *rel, int *ret_entries)
{
    size_t len;
    char *text = (char *)tu_read_data(rel, &len), *line, *save = NULL;
    char *hdr = NULL, *key = NULL;
    struct portal_ctx ctx = {.slot = -1};
    int checks = 0;

    *ret_entries = 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *q = strchr(line, '\''), *qe = strrchr(line, '\'');

        if (strncmp(line, "# Block", 7) == 0) {
            ctx.has_address = false;
            ctx.leaf = false;
            ctx.slot = -1;
        } else if (strncmp(line, "# Address: ", 11) == 0) {
            line[11 + 42] = '\0';
            ck_assert_int_eq(cantor_hex_decode_exact(line + 11, ctx.address, 20), CANTOR_OK);
            ctx.has_address = true;
        } else if (strncmp(line, "# Storage slot: ", 16) == 0) {
            ctx.slot = strtol(line + 16, NULL, 10);
        } else if (line[0] == '#' && strstr(line, "Leaf node")) {
            ctx.leaf = true;
        }
        if (!q || q == qe)
            continue;
        *qe = '\0';
        if (strstr(line, "block_header:"))
            hdr = q + 1;
        else if (strstr(line, "content_key:"))
            key = q + 1;
        else if (strstr(line, "content_value_offer:")) {
            ck_assert(hdr && key);
            checks += portal_entry(&ctx, hdr, key, q + 1);
            (*ret_entries)++;
            hdr = key = NULL;
            ctx.leaf = false; /* hive's file lists the leaf's ancestors under the leaf's comment */
        }
    }
    free(text);
    return checks;
}

START_TEST(test_portal_proofs)
{
    int e1, e2, e3, e4, checks = 0;

    checks += run_portal_file("portal-spec-tests/state/validation/account_trie_node.yaml", &e1);
    checks += run_portal_file("portal-spec-tests/state/validation/contract_storage_trie_node.yaml", &e2);
    checks += run_portal_file("portal-spec-tests/state/validation/contract_bytecode.yaml", &e3);
    checks += run_portal_file("portal-spec-tests/state/hive/test_data.yaml", &e4);
    ck_assert_int_eq(e1, 5);
    ck_assert_int_eq(e2, 3);
    ck_assert_int_eq(e3, 1);
    ck_assert_int_eq(e4, 9);
    ck_assert_int_gt(checks, 60);
}
END_TEST

/* ---------- low-level verifier behaviour ---------- */

START_TEST(test_verify_edge)
{
    static const uint8_t empty_node[1] = {0x80};
    struct cantor_bytes n1 = {empty_node, 1};
    uint8_t key[32] = {1}, *v = (uint8_t *)1, zero[32] = {0}, word[32];
    size_t vl = 99;

    /* the empty trie: no nodes or the node 0x80 */
    ck_assert_int_eq(cantor_mpt_verify_proof(CANTOR_EMPTY_TRIE_ROOT, key, 32, NULL, 0, &v, &vl), CANTOR_OK);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(vl, 0);
    ck_assert_int_eq(cantor_mpt_verify_proof(CANTOR_EMPTY_TRIE_ROOT, key, 32, &n1, 1, &v, &vl), CANTOR_OK);
    ck_assert_uint_eq(vl, 0);
    ck_assert_int_eq(cantor_mpt_verify_proof(zero, key, 32, NULL, 0, &v, &vl), CANTOR_ERR_PROOF);
    ck_assert_int_eq(cantor_mpt_verify_proof(zero, key, 32, &n1, 1, &v, &vl), CANTOR_ERR_PROOF);
    ck_assert_int_eq(cantor_mpt_verify_storage(CANTOR_EMPTY_TRIE_ROOT, key, NULL, 0, word), CANTOR_OK);
    ck_assert_mem_eq(word, zero, 32);
    ck_assert_int_eq(cantor_mpt_verify_proof(zero, key, CANTOR_MPT_MAX_KEY + 1, &n1, 1, &v, &vl),
                     CANTOR_ERR_TOO_LARGE);
}
END_TEST

/* Build a small trie, then prove every key with the nodes we know it consists of. */
START_TEST(test_build_then_verify)
{
    /* one leaf under the root: the root node is the leaf itself, hashed although short */
    struct cantor_mpt_kv kv = {(const uint8_t *)"\x12\x34", 2, (const uint8_t *)"hello", 5};
    struct cantor_buf leaf;
    struct cantor_bytes node;
    uint8_t root[32], *v = NULL, other[2] = {0x12, 0x35};
    size_t vl = 0;
    static const uint8_t nib[4] = {1, 2, 3, 4};

    ck_assert_int_eq(cantor_mpt_root(&kv, 1, root), CANTOR_OK);
    /* rlp([hp(1234, leaf) = 0x201234, "hello"]) */
    cantor_buf_init(&leaf, 64);
    ck_assert_int_eq(cantor_buf_append(&leaf, "\xca\x83\x20\x12\x34\x85hello", 11), CANTOR_OK);
    node.data = leaf.data;
    node.len = leaf.len;
    ck_assert_int_eq(cantor_mpt_verify_proof(root, kv.key, 2, &node, 1, &v, &vl), CANTOR_OK);
    ck_assert_uint_eq(vl, 5);
    ck_assert_mem_eq(v, "hello", 5);
    free(v);
    /* another key: the leaf diverges, so it proves absence */
    ck_assert_int_eq(cantor_mpt_verify_proof(root, other, 2, &node, 1, &v, &vl), CANTOR_OK);
    ck_assert_uint_eq(vl, 0);
    /* a shorter key is a prefix of the leaf's path: absent too */
    ck_assert_int_eq(cantor_mpt_verify_proof(root, other, 1, &node, 1, &v, &vl), CANTOR_OK);
    ck_assert_uint_eq(vl, 0);
    /* the leaf is the node at path [] but not an inner node at 1234 */
    ck_assert_int_eq(cantor_mpt_verify_path(root, nib, 0, &node, 1), CANTOR_OK);
    ck_assert_int_eq(cantor_mpt_verify_path(root, nib, 4, &node, 1), CANTOR_ERR_PROOF);
    cantor_buf_release(&leaf);
}
END_TEST

/* ---------- JSON input ---------- */

START_TEST(test_json_errors)
{
    static const struct {
        const char *text;
        enum cantor_err want;
    } cases[] = {
        {"", CANTOR_ERR_JSON},
        {"{", CANTOR_ERR_JSON},
        {"[]", CANTOR_ERR_JSON},
        {"42", CANTOR_ERR_JSON},
        {"{}", CANTOR_ERR_JSON},
        {"{\"error\":{\"code\":-32000,\"message\":\"header not found\"}}", CANTOR_ERR_RPC},
        {"[{\"request\":{},\"response\":{\"error\":{\"message\":\"x\"}}}]", CANTOR_ERR_RPC},
        {"{\"result\":null}", CANTOR_ERR_JSON},
        {"{\"result\":[]}", CANTOR_ERR_JSON},
        {"[{\"request\":{}}]", CANTOR_ERR_JSON},
        {"{\"address\":\"0x00\",\"nonce\":\"0x0\",\"balance\":\"0x0\",\"storageHash\":\"0x"
         "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\",\"codeHash\":\"0x"
         "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"accountProof\":[],"
         "\"storageProof\":[]}",
         CANTOR_ERR_HEX},
        {"{\"address\":\"0x0000000000000000000000000000000000000000\",\"nonce\":0,\"balance\":\"0x0\","
         "\"storageHash\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\","
         "\"codeHash\":"
         "\"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"accountProof\":[],"
         "\"storageProof\":[]}",
         CANTOR_ERR_JSON},
        {"{\"address\":\"0x0000000000000000000000000000000000000000\",\"nonce\":\"0x0\",\"balance\":\"0x0\","
         "\"storageHash\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\","
         "\"codeHash\":"
         "\"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"accountProof\":[\"0xzz\"],"
         "\"storageProof\":[]}",
         CANTOR_ERR_HEX},
        {"{\"address\":\"0x0000000000000000000000000000000000000000\",\"nonce\":\"0x0\",\"balance\":\"0x0\","
         "\"storageHash\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\","
         "\"codeHash\":"
         "\"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"accountProof\":[1],"
         "\"storageProof\":[]}",
         CANTOR_ERR_JSON},
        {"{\"address\":\"0x0000000000000000000000000000000000000000\",\"nonce\":\"0x0\",\"balance\":\"0x0\","
         "\"storageHash\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\","
         "\"codeHash\":"
         "\"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"accountProof\":[],"
         "\"storageProof\":[{\"key\":\"0x0\",\"value\":\"0x0\",\"proof\":\"0x\"}]}",
         CANTOR_ERR_JSON},
    };
    static const char *ok_empty =
        "{\"address\":\"0x0000000000000000000000000000000000000000\",\"nonce\":\"0x0\",\"balance\":\"0x0\","
        "\"storageHash\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\",\"codeHash\":"
        "\"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"accountProof\":[],"
        "\"storageProof\":[{\"key\":\"0x0\",\"value\":\"0x0\",\"proof\":[]}]}";
    struct cantor_eth_proof *p = NULL;
    char msg[256];
    bool exists = true;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p = NULL;
        msg[0] = '\0';
        ck_assert_msg(cantor_proof_json_parse(cases[i].text, strlen(cases[i].text), &p, msg, sizeof(msg)) ==
                          cases[i].want,
                      "case %zu: %s", i, msg);
        ck_assert_ptr_null(p);
        ck_assert_str_ne(msg, "ok");
    }
    /* an empty state proves any account absent, and its empty storage */
    ck_assert_int_eq(cantor_proof_json_parse(ok_empty, strlen(ok_empty), &p, msg, sizeof(msg)), CANTOR_OK);
    ck_assert_int_eq(cantor_eth_proof_verify(p, CANTOR_EMPTY_TRIE_ROOT, NULL, &exists, msg, sizeof(msg)),
                     CANTOR_OK);
    ck_assert(!exists);
    p->storage[0].value[31] = 1;
    ck_assert_int_eq(cantor_eth_proof_verify(p, CANTOR_EMPTY_TRIE_ROOT, NULL, NULL, msg, sizeof(msg)),
                     CANTOR_ERR_MISMATCH);
    cantor_eth_proof_free(p);
    cantor_eth_proof_free(NULL);
}
END_TEST

/* Truncations and byte flips of a real answer must give errors, never crashes. */
START_TEST(test_json_mangled)
{
    size_t len;
    char *text = (char *)tu_read_data("helios-testdata/rpc/proof.json", &len);
    uint8_t root[32];
    int ok = 0;

    helios_root(root);
    for (size_t cut = 0; cut < len; cut += 97) {
        struct cantor_eth_proof *p = NULL;

        ck_assert_int_ne(cantor_proof_json_parse(text, cut, &p, NULL, 0), CANTOR_OK);
    }
    for (size_t at = 0; at < len; at += 61) {
        struct cantor_eth_proof *p = NULL;
        char saved = text[at];

        text[at] = (char)(saved ^ 0x05);
        if (cantor_proof_json_parse(text, len, &p, NULL, 0) == CANTOR_OK) {
            if (cantor_eth_proof_verify(p, root, NULL, NULL, NULL, 0) == CANTOR_OK)
                ok++;
            cantor_eth_proof_free(p);
        }
        text[at] = saved;
    }
    ck_assert_int_eq(ok, 0); /* every flip hits syntax, a name, a hex digit or a value */
    free(text);
}
END_TEST

static Suite *mpt_suite(void)
{
    Suite *s = suite_create("mpt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_trie_tests);
    tcase_add_test(tc, test_trie_edge);
    tcase_add_test(tc, test_hex_prefix);
    tcase_add_test(tc, test_genesis_root);
    tcase_add_test(tc, test_helios_proofs);
    tcase_add_test(tc, test_execution_apis_proofs);
    tcase_add_test(tc, test_erigon_proofs);
    tcase_add_test(tc, test_portal_proofs);
    tcase_add_test(tc, test_verify_edge);
    tcase_add_test(tc, test_build_then_verify);
    tcase_add_test(tc, test_json_errors);
    tcase_add_test(tc, test_json_mangled);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(mpt_suite());
}
