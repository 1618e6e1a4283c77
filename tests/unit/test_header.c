/*
 * test_header.c - block headers from real chains: Erigon's raw mainnet headers and blocks, Portal's
 * headers_with_proof and block_data, the execution-apis chain.rlp with its recorded JSON-RPC
 * answers, and Erigon's JSON headers. Expected hashes always come from a second, independent place
 * in the data (a request parameter, a receipt's blockHash, the next header's parentHash, a Portal
 * content key, a JSON "hash"), never from this file.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/header.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/rlp.h"
#include "testutil.h"

static const char *erigon_result_str(json_t *root)
{
    json_t *r = json_object_get(json_object_get(json_array_get(root, 0), "response"), "result");

    ck_assert(json_is_string(r));
    return json_string_value(r);
}

static const char *erigon_param0(json_t *root)
{
    json_t *p =
        json_array_get(json_object_get(json_object_get(json_array_get(root, 0), "request"), "params"), 0);

    ck_assert(json_is_string(p));
    return json_string_value(p);
}

static uint8_t *hex_alloc(const char *s, size_t *ret_len)
{
    uint8_t *p = NULL;

    ck_assert_int_eq(cantor_hex_decode_alloc(s, &p, ret_len), CANTOR_OK);
    return p;
}

static void assert_hash_hex(const uint8_t h[32], const char *want_hex, const char *what)
{
    uint8_t want[32];

    ck_assert_int_eq(cantor_hex_decode_exact(want_hex, want, 32), CANTOR_OK);
    ck_assert_msg(memcmp(h, want, 32) == 0, "%s: hash mismatch", what);
}

/* Decoding then re-encoding must give the exact input bytes, and the hash is over those bytes. */
static void assert_roundtrip(const uint8_t *raw, size_t n, const struct cantor_header *h, const char *what)
{
    struct cantor_buf b;
    uint8_t k[32];

    cantor_buf_init(&b, 0);
    ck_assert_int_eq(cantor_header_encode(h, &b), CANTOR_OK);
    ck_assert_msg(b.len == n && memcmp(b.data, raw, n) == 0, "%s: re-encoding differs", what);
    cantor_buf_release(&b);
    cantor_keccak256(raw, n, k);
    ck_assert_mem_eq(k, h->hash, 32);
}

/* Every strict prefix and a few corruptions of a valid header are rejected cleanly. */
static void assert_rejects_garbage(const uint8_t *raw, size_t n)
{
    struct cantor_header h;
    uint8_t *p;

    for (size_t i = 0; i < n; i++) {
        p = malloc(i ? i : 1);
        ck_assert(p != NULL);
        memcpy(p, raw, i);
        ck_assert_msg(cantor_header_decode(p, i, &h) != CANTOR_OK, "prefix %zu accepted", i);
        free(p);
    }
    p = malloc(n + 1);
    ck_assert(p != NULL);
    memcpy(p, raw, n);
    p[n] = 0x80; /* trailing byte */
    ck_assert_int_ne(cantor_header_decode(p, n + 1, &h), CANTOR_OK);
    p[0] = 0xb9; /* a string, not a list */
    ck_assert_int_ne(cantor_header_decode(p, n, &h), CANTOR_OK);
    free(p);
}

START_TEST(test_erigon_raw_headers)
{
    static const char *const files[] = {"test_01", "test_02", "test_03", "test_04", "test_05"};
    unsigned forks_seen = 0;
    int independent_hashes = 0;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[256];
        json_t *jh, *jb;
        uint8_t *raw, *blk;
        size_t n, bn;
        uint64_t want_number;
        struct cantor_header h;
        struct cantor_rlp_item block, first;
        size_t pos = 0;

        snprintf(path, sizeof(path), "erigon-rpc-tests/mainnet/debug_getRawHeader/%s.json", files[f]);
        jh = tu_load_json(path);
        snprintf(path, sizeof(path), "erigon-rpc-tests/mainnet/debug_getRawBlock/%s.json", files[f]);
        jb = tu_load_json(path);
        ck_assert_str_eq(erigon_param0(jh), erigon_param0(jb));
        raw = hex_alloc(erigon_result_str(jh), &n);
        ck_assert_int_eq(cantor_header_decode(raw, n, &h), CANTOR_OK);
        ck_assert_int_eq(cantor_hex_decode_u64(erigon_param0(jh), &want_number), CANTOR_OK);
        ck_assert_uint_eq(h.number, want_number);
        assert_roundtrip(raw, n, &h, files[f]);
        /* The header is the first element of the raw block the same node returned. */
        blk = hex_alloc(erigon_result_str(jb), &bn);
        ck_assert_int_eq(cantor_rlp_decode(blk, bn, &block), CANTOR_OK);
        ck_assert_int_eq(cantor_rlp_list_next(&block, &pos, &first), CANTOR_OK);
        ck_assert_uint_eq(first.raw_len, n);
        ck_assert_mem_eq(first.raw, raw, n);
        forks_seen |= 1u << h.n_fork_fields;
        /* Block 20,000,000: its hash is the parameter of other recorded calls. */
        if (h.number == 20000000) {
            json_t *bal =
                tu_load_json("erigon-rpc-tests/mainnet/erigon_getBalanceChangesInBlock/test_10.json");
            json_t *rc = tu_load_json("erigon-rpc-tests/mainnet/eth_getTransactionReceipt/test_08.json");
            json_t *res = json_object_get(json_object_get(json_array_get(rc, 0), "response"), "result");

            assert_hash_hex(h.hash, erigon_param0(bal), "block 20000000 vs erigon_getBalanceChangesInBlock");
            ck_assert_str_eq(json_string_value(json_object_get(res, "blockNumber")), "0x1312d00");
            assert_hash_hex(h.hash, json_string_value(json_object_get(res, "blockHash")),
                            "block 20000000 vs receipt blockHash");
            ck_assert_uint_eq(h.n_fork_fields, CANTOR_HEADER_CANCUN);
            independent_hashes++;
            json_decref(bal);
            json_decref(rc);
        }
        if (h.number == 4662649)
            ck_assert_uint_eq(h.n_fork_fields, CANTOR_HEADER_PRE_LONDON);
        if (f == 0)
            assert_rejects_garbage(raw, n);
        free(raw);
        free(blk);
        json_decref(jh);
        json_decref(jb);
    }
    ck_assert_int_eq(independent_hashes, 1);
    ck_assert(forks_seen & (1u << CANTOR_HEADER_PRE_LONDON));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_SHANGHAI));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_CANCUN));
}
END_TEST

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

START_TEST(test_portal_headers_with_proof)
{
    json_t *root = tu_load_json("portal-spec-tests/history/headers_with_proof/1000001-1000010.json");
    uint8_t prev_hash[32];
    int count = 0;

    for (uint64_t num = 1000001; num <= 1000010; num++) {
        char key[16];
        json_t *tc;
        uint8_t *val, *ck;
        size_t vn, kn;
        uint32_t off0, off1;
        struct cantor_header h;

        snprintf(key, sizeof(key), "%llu", (unsigned long long)num);
        tc = json_object_get(root, key);
        ck_assert_msg(tc != NULL, "block %s missing", key);
        val = hex_alloc(json_string_value(json_object_get(tc, "content_value")), &vn);
        ck = hex_alloc(json_string_value(json_object_get(tc, "content_key")), &kn);
        ck_assert_uint_eq(kn, 33);
        ck_assert_uint_eq(ck[0], 0x00);
        ck_assert_uint_ge(vn, 8);
        off0 = le32(val);
        off1 = le32(val + 4);
        ck_assert_uint_le(off0, off1);
        ck_assert_uint_le(off1, vn);
        ck_assert_int_eq(cantor_header_decode(val + off0, off1 - off0, &h), CANTOR_OK);
        ck_assert_uint_eq(h.number, num);
        ck_assert_mem_eq(h.hash, ck + 1, 32);
        if (num > 1000001)
            ck_assert_mem_eq(h.parent_hash, prev_hash, 32);
        memcpy(prev_hash, h.hash, 32);
        assert_roundtrip(val + off0, off1 - off0, &h, key);
        /* The proof that follows the header is not part of it. */
        if (off1 < vn)
            ck_assert_int_ne(cantor_header_decode(val + off0, vn - off0, &h), CANTOR_OK);
        free(val);
        free(ck);
        count++;
    }
    ck_assert_int_eq(count, 10);
    json_decref(root);
}
END_TEST

/* Pull the "header: 0x..." line out of a Portal block_data YAML file. */
static uint8_t *portal_block_header(uint64_t num, size_t *ret_len)
{
    char path[128];
    size_t n;
    char *text, *p, *e;
    uint8_t *raw;

    snprintf(path, sizeof(path), "portal-spec-tests/history/block_data/block-data-%llu.yaml",
             (unsigned long long)num);
    text = (char *)tu_read_data(path, &n);
    p = strstr(text, "header: ");
    ck_assert_msg(p != NULL, "%s: no header", path);
    p += strlen("header: ");
    e = strpbrk(p, "\r\n");
    if (e)
        *e = 0;
    raw = hex_alloc(p, ret_len);
    free(text);
    return raw;
}

START_TEST(test_portal_block_data)
{
    static const uint64_t blocks[] = {14764013, 15537393, 15537394, 15547621, 17034869, 17034870, 17062257,
                                      19426586, 19426587, 22162263, 22431083, 22431084, 22869878};
    struct cantor_header prev = {0};
    unsigned forks_seen = 0;
    int links = 0;

    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        size_t n;
        uint8_t *raw = portal_block_header(blocks[i], &n);
        struct cantor_header h;
        char name[32];

        snprintf(name, sizeof(name), "portal %llu", (unsigned long long)blocks[i]);
        ck_assert_msg(cantor_header_decode(raw, n, &h) == CANTOR_OK, "%s: decode", name);
        ck_assert_uint_eq(h.number, blocks[i]);
        assert_roundtrip(raw, n, &h, name);
        if (i > 0 && prev.number + 1 == h.number) {
            ck_assert_msg(memcmp(h.parent_hash, prev.hash, 32) == 0, "%s: parent link", name);
            links++;
        }
        forks_seen |= 1u << h.n_fork_fields;
        prev = h;
        free(raw);
    }
    /* Merge, Shanghai, Cancun and Prague pairs each link by parentHash. */
    ck_assert_int_eq(links, 4);
    ck_assert(forks_seen & (1u << CANTOR_HEADER_LONDON));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_SHANGHAI));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_CANCUN));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_PRAGUE));
}
END_TEST

/* The JSON "result" of the "<<" line of an execution-apis .io file (new reference). */
static json_t *io_result(const char *rel)
{
    size_t n;
    char *text = (char *)tu_read_data(rel, &n);
    char *p = strstr(text, "\n<< ");
    json_error_t e;
    json_t *resp, *res;

    ck_assert_msg(p != NULL, "%s: no response line", rel);
    resp = json_loads(p + 4, JSON_DISABLE_EOF_CHECK, &e);
    ck_assert_msg(resp != NULL, "%s: %s", rel, e.text);
    res = json_incref(json_object_get(resp, "result"));
    json_decref(resp);
    free(text);
    return res;
}

START_TEST(test_execution_apis_chain)
{
    static const char *const io_files[] = {
        "eth_getBlockByNumber/get-genesis.io",           "eth_getBlockByNumber/get-block-london-fork.io",
        "eth_getBlockByNumber/get-block-merge-fork.io",  "eth_getBlockByNumber/get-block-shanghai-fork.io",
        "eth_getBlockByNumber/get-block-cancun-fork.io", "eth_getBlockByNumber/get-block-prague-fork.io",
        "eth_getBlockByHash/get-block-by-hash.io",       "eth_getBlockByNumber/get-latest.io",
    };
    enum { MAX_BLOCKS = 64 };
    struct cantor_header json_hdr[sizeof(io_files) / sizeof(io_files[0])];
    uint8_t hashes[MAX_BLOCKS][32];
    size_t n, pos = 0, nblocks = 0, matched = 0;
    uint8_t *chain = tu_read_data("execution-apis-tests/chain.rlp", &n);
    unsigned forks_seen = 0;

    /* JSON headers first: each re-encodes to its own "hash". */
    for (size_t i = 0; i < sizeof(io_files) / sizeof(io_files[0]); i++) {
        char rel[160];
        json_t *res;
        enum cantor_err err;

        snprintf(rel, sizeof(rel), "execution-apis-tests/%s", io_files[i]);
        res = io_result(rel);
        err = cantor_header_from_json(res, &json_hdr[i]);
        ck_assert_msg(err == CANTOR_OK, "%s: %s", io_files[i], cantor_err_str(err));
        assert_hash_hex(json_hdr[i].hash, json_string_value(json_object_get(res, "hash")), io_files[i]);
        json_decref(res);
    }
    ck_assert_uint_eq(json_hdr[0].number, 0);
    /* chain.rlp is blocks 1..N back to back; each block is [header, txs, uncles, ...]. */
    while (pos < n) {
        struct cantor_rlp_item block, hdr;
        size_t used, p = 0;
        struct cantor_header h;

        ck_assert_int_eq(cantor_rlp_decode_item(chain + pos, n - pos, &block, &used), CANTOR_OK);
        ck_assert_int_eq(cantor_rlp_decode(block.raw, block.raw_len, &block), CANTOR_OK);
        ck_assert(block.is_list);
        ck_assert_int_eq(cantor_rlp_list_next(&block, &p, &hdr), CANTOR_OK);
        ck_assert_int_eq(cantor_header_decode(hdr.raw, hdr.raw_len, &h), CANTOR_OK);
        ck_assert_uint_eq(h.number, nblocks + 1);
        ck_assert_uint_lt(nblocks, MAX_BLOCKS);
        if (nblocks == 0)
            ck_assert_mem_eq(h.parent_hash, json_hdr[0].hash, 32); /* genesis from the RPC fixture */
        else
            ck_assert_mem_eq(h.parent_hash, hashes[nblocks - 1], 32);
        memcpy(hashes[nblocks], h.hash, 32);
        assert_roundtrip(hdr.raw, hdr.raw_len, &h, "chain.rlp");
        forks_seen |= 1u << h.n_fork_fields;
        for (size_t i = 1; i < sizeof(io_files) / sizeof(io_files[0]); i++) {
            if (json_hdr[i].number == h.number) {
                ck_assert_mem_eq(json_hdr[i].hash, h.hash, 32);
                ck_assert_uint_eq(json_hdr[i].n_fork_fields, h.n_fork_fields);
                matched++;
            }
        }
        nblocks++;
        pos += used;
    }
    ck_assert_uint_eq(nblocks, 54);
    ck_assert_uint_eq(matched, sizeof(io_files) / sizeof(io_files[0]) - 1);
    ck_assert(forks_seen & (1u << CANTOR_HEADER_PRE_LONDON));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_LONDON));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_SHANGHAI));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_CANCUN));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_PRAGUE));
    free(chain);
}
END_TEST

START_TEST(test_erigon_json_headers)
{
    static const char *const files[] = {
        "eth_getBlockByNumber/test_01.json",     "eth_getBlockByNumber/test_02.json",
        "eth_getBlockByNumber/test_04.json",     "eth_getBlockByNumber/test_05.json",
        "eth_getBlockByNumber/test_06.json",     "eth_getBlockByNumber/test_07.json",
        "eth_getBlockByNumber/test_08.json",     "eth_getBlockByNumber/test_12.json",
        "eth_getBlockByNumber/test_13.json",     "eth_getBlockByNumber/test_14.json",
        "eth_getBlockByHash/test_02.json",       "eth_getBlockByHash/test_07.json",
        "erigon_getHeaderByNumber/test_01.json", "erigon_getHeaderByNumber/test_02.json",
        "erigon_getHeaderByNumber/test_03.json", "erigon_getHeaderByNumber/test_04.json",
        "erigon_getHeaderByNumber/test_05.json", "erigon_getHeaderByNumber/test_06.json",
        "erigon_getHeaderByNumber/test_07.json", "erigon_getHeaderByNumber/test_08.json",
    };
    unsigned forks_seen = 0;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char rel[160];
        json_t *root, *res;
        struct cantor_header h, back;
        struct cantor_buf b;
        enum cantor_err err;

        snprintf(rel, sizeof(rel), "erigon-rpc-tests/mainnet/%s", files[i]);
        root = tu_load_json(rel);
        res = json_object_get(json_object_get(json_array_get(root, 0), "response"), "result");
        err = cantor_header_from_json(res, &h);
        ck_assert_msg(err == CANTOR_OK, "%s: %s", files[i], cantor_err_str(err));
        assert_hash_hex(h.hash, json_string_value(json_object_get(res, "hash")), files[i]);
        /* The re-encoded RLP decodes back to the same header. */
        cantor_buf_init(&b, 0);
        ck_assert_int_eq(cantor_header_encode(&h, &b), CANTOR_OK);
        ck_assert_int_eq(cantor_header_decode(b.data, b.len, &back), CANTOR_OK);
        ck_assert_mem_eq(&back, &h, sizeof(h));
        cantor_buf_release(&b);
        forks_seen |= 1u << h.n_fork_fields;
        /* Tampering with any field breaks the hash check. */
        json_object_set_new(res, "gasUsed", json_string("0x1234567"));
        ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_ERR_MISMATCH);
        json_object_del(res, "stateRoot");
        ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_ERR_JSON);
        json_decref(root);
    }
    ck_assert(forks_seen & (1u << CANTOR_HEADER_PRE_LONDON));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_LONDON));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_SHANGHAI));
    ck_assert(forks_seen & (1u << CANTOR_HEADER_CANCUN));
}
END_TEST

START_TEST(test_bad_headers)
{
    json_t *root = tu_load_json("erigon-rpc-tests/mainnet/eth_getBlockByNumber/test_13.json");
    json_t *res = json_object_get(json_object_get(json_array_get(root, 0), "response"), "result");
    struct cantor_header h, good;
    struct cantor_buf b, body;
    char extra[2 * 98 + 3];

    ck_assert_int_eq(cantor_header_from_json(res, &good), CANTOR_OK);
    ck_assert_int_eq(cantor_header_from_json(NULL, &h), CANTOR_ERR_JSON);
    /* A later fork field without the earlier ones. */
    json_object_del(res, "hash");
    json_object_del(res, "baseFeePerGas");
    ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_ERR_JSON);
    json_object_set_new(res, "baseFeePerGas", json_string("0x2ea933c62"));
    ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_OK);
    ck_assert_mem_eq(h.hash, good.hash, 32);
    /* Extra data: 97 bytes accepted, 98 refused. */
    memset(extra, 'a', sizeof(extra) - 1);
    extra[0] = '0';
    extra[1] = 'x';
    extra[sizeof(extra) - 1] = 0;
    json_object_set_new(res, "extraData", json_string(extra));
    ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_ERR_TOO_LARGE);
    extra[sizeof(extra) - 3] = 0;
    json_object_set_new(res, "extraData", json_string(extra));
    ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_OK);
    ck_assert_uint_eq(h.extra_len, 97);
    json_object_set_new(res, "number", json_integer(5));
    ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_ERR_JSON);
    json_object_set_new(res, "number", json_string("0x12c135b"));
    json_object_set_new(res, "blockAccessListHash", json_string("0x01"));
    ck_assert_int_eq(cantor_header_from_json(res, &h), CANTOR_ERR_UNSUPPORTED);

    /* RLP: 22 fields is a fork we do not know; 14 is too few; a wrong-size hash is malformed. */
    cantor_buf_init(&b, 0);
    cantor_buf_init(&body, 0);
    good.n_fork_fields = CANTOR_HEADER_PRAGUE;
    ck_assert_int_eq(cantor_header_encode(&good, &b), CANTOR_OK);
    ck_assert_int_eq(cantor_header_decode(b.data, b.len, &h), CANTOR_OK);
    ck_assert_uint_eq(h.n_fork_fields, CANTOR_HEADER_PRAGUE);
    {
        struct cantor_rlp_item list;

        ck_assert_int_eq(cantor_rlp_decode(b.data, b.len, &list), CANTOR_OK);
        ck_assert_int_eq(cantor_buf_append(&body, list.payload, list.payload_len), CANTOR_OK);
        ck_assert_int_eq(cantor_rlp_encode_bytes(&body, good.hash, 32), CANTOR_OK);
        cantor_buf_reset(&b);
        ck_assert_int_eq(cantor_rlp_encode_list(&b, body.data, body.len), CANTOR_OK);
        ck_assert_int_eq(cantor_header_decode(b.data, b.len, &h), CANTOR_ERR_UNSUPPORTED);
    }
    cantor_buf_reset(&body);
    for (int i = 0; i < 14; i++)
        ck_assert_int_eq(cantor_rlp_encode_bytes(&body, good.hash, 32), CANTOR_OK);
    cantor_buf_reset(&b);
    ck_assert_int_eq(cantor_rlp_encode_list(&b, body.data, body.len), CANTOR_OK);
    ck_assert_int_ne(cantor_header_decode(b.data, b.len, &h), CANTOR_OK);
    cantor_buf_reset(&body);
    ck_assert_int_eq(cantor_rlp_encode_bytes(&body, good.hash, 31), CANTOR_OK); /* parent hash of 31 bytes */
    for (int i = 0; i < 14; i++)
        ck_assert_int_eq(cantor_rlp_encode_bytes(&body, good.hash, 32), CANTOR_OK);
    cantor_buf_reset(&b);
    ck_assert_int_eq(cantor_rlp_encode_list(&b, body.data, body.len), CANTOR_OK);
    ck_assert_int_eq(cantor_header_decode(b.data, b.len, &h), CANTOR_ERR_RLP);
    cantor_buf_release(&b);
    cantor_buf_release(&body);
    good.n_fork_fields = 7;
    cantor_buf_init(&b, 0);
    ck_assert_int_eq(cantor_header_encode(&good, &b), CANTOR_ERR_INVALID);
    cantor_buf_release(&b);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("header");
    TCase *tc = tcase_create("header");

    tcase_add_test(tc, test_erigon_raw_headers);
    tcase_add_test(tc, test_portal_headers_with_proof);
    tcase_add_test(tc, test_portal_block_data);
    tcase_add_test(tc, test_execution_apis_chain);
    tcase_add_test(tc, test_erigon_json_headers);
    tcase_add_test(tc, test_bad_headers);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
