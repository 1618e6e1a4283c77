/*
 * test_ethrpc.c - the JSON-RPC client (rpc/ethrpc) and node layer (rpc/node) against the mock node
 * (tests/mocknode) serving recorded mainnet answers from the shared data: results, batches,
 * capability detection, every fault mode, retries, timeouts, size limit, JWT, node down, cancel.
 * Each test (forked by Check) starts its own mock on 127.0.0.1, port 0, and stops it.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc/ethrpc.h"
#include "rpc/node.h"
#include "tests/mocknode/mocknode.h"
#include "testutil.h"

#define BLOCK_16M_FILE     "erigon-rpc-tests/mainnet/eth_getBlockByNumber/test_02.json"
#define PARITY_17073191    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json"
#define GETH_17073191      "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_32.json"
#define EXEC_APIS_CHAIN_ID 0xc72dd9d5e883eull

static struct cantor_mocknode *mock;
static uint16_t mock_port;
static char mock_url[64];

/* Runs once in the parent: the index is read-only afterwards, so forked tests share it. */
static void mock_load(void)
{
    static const char *const dirs[] = {
        "erigon-rpc-tests/mainnet/eth_getBlockByNumber",
        "erigon-rpc-tests/mainnet/trace_replayBlockTransactions",
        "erigon-rpc-tests/mainnet/debug_traceBlockByNumber",
        "execution-apis-tests/eth_chainId",
        "execution-apis-tests/eth_blockNumber",
    };

    ck_assert_int_eq(cantor_mocknode_new(&mock), CANTOR_OK);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        ck_assert_int_eq(cantor_mocknode_load(mock, tu_data_path(dirs[i])), CANTOR_OK);
}

static void mock_unload(void)
{
    cantor_mocknode_free(mock);
    mock = NULL;
}

/* Runs in each (forked) test: a fresh server with no faults and zero counters. */
static void mock_start(void)
{
    cantor_mocknode_reset(mock);
    ck_assert_int_eq(cantor_mocknode_start(mock, 0, &mock_port), CANTOR_OK);
    ck_assert_uint_gt(mock_port, 0);
    snprintf(mock_url, sizeof(mock_url), "http://127.0.0.1:%u/", mock_port);
}

static void mock_stop(void)
{
    cantor_mocknode_stop(mock);
}

static struct cantor_ethrpc *client(unsigned retries, long timeout_ms, size_t max_resp)
{
    struct cantor_ethrpc_opts o = {
        .url = mock_url,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = 1000,
        .max_retries = retries,
        .backoff_initial_ms = 5,
        .backoff_max_ms = 20,
        .max_response_bytes = max_resp,
    };
    struct cantor_ethrpc *c = NULL;

    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_OK);
    return c;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The recorded "result" of the first request/response pair of a file. */
static json_t *recorded_result(const char *rel)
{
    json_t *all = tu_load_json(rel);
    json_t *r = json_object_get(json_object_get(json_array_get(all, 0), "response"), "result");

    ck_assert_ptr_nonnull(r);
    json_incref(r);
    json_decref(all);
    return r;
}

static uint64_t mock_http_requests(void)
{
    struct cantor_mock_stats s;

    cantor_mocknode_get_stats(mock, &s);
    return s.http_requests;
}

static void set_fault(enum cantor_mock_fault_mode mode, unsigned count, long delay_ms, int status,
                      size_t bytes)
{
    struct cantor_mock_fault f = {mode, count, delay_ms, status, bytes};

    cantor_mocknode_set_fault(mock, &f);
}

START_TEST(test_call_recorded_block)
{
    struct cantor_ethrpc *c = client(0, 5000, 0);
    json_t *want = recorded_result(BLOCK_16M_FILE), *got = NULL, *params, *hb = NULL;
    struct cantor_ethrpc_stats st;
    size_t i;

    params = json_pack("[s, b]", "0xf42400", 1);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_getBlockByNumber", params, &got), CANTOR_OK);
    ck_assert(json_equal(got, want));
    ck_assert_str_eq(json_string_value(json_object_get(got, "hash")),
                     "0x3dc4ef568ae2635db1419c5fec55c4a9322c05302ae527cd40bff380c1d465dd");
    ck_assert_int_eq(params->refcount, 1); /* params are borrowed */

    /* node layer: hash-only block 16,000,000 */
    ck_assert_int_eq(cantor_node_get_block(c, 16000000, &hb), CANTOR_OK);
    ck_assert_str_eq(json_string_value(json_object_get(hb, "hash")),
                     json_string_value(json_object_get(want, "hash")));
    ck_assert_uint_eq(json_array_size(json_object_get(hb, "transactions")),
                      json_array_size(json_object_get(want, "transactions")));
    for (i = 0; i < json_array_size(json_object_get(hb, "transactions")); i++)
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(hb, "transactions"), i)),
                         json_string_value(json_object_get(
                             json_array_get(json_object_get(want, "transactions"), i), "hash")));

    /* unrecorded block: the mock answers -32602 like a node with invalid params */
    json_decref(got);
    got = NULL;
    ck_assert_int_eq(cantor_node_get_block(c, 1, &got), CANTOR_ERR_RPC);
    ck_assert_int_eq(cantor_ethrpc_last_rpc_code(c), -32602);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(cantor_ethrpc_call(c, "no_suchMethod", NULL, &got), CANTOR_ERR_RPC);
    ck_assert_int_eq(cantor_ethrpc_last_rpc_code(c), -32601);
    ck_assert_ptr_nonnull(strstr(cantor_ethrpc_last_error(c), "-32601"));

    cantor_ethrpc_get_stats(c, &st);
    ck_assert_uint_eq(st.calls, 4);
    ck_assert_uint_eq(st.requests, 4);
    ck_assert_uint_eq(st.errors, 2);
    ck_assert_uint_eq(st.retries, 0);
    ck_assert_uint_gt(st.bytes_in, 245000);
    json_decref(hb);
    json_decref(params);
    json_decref(want);
    cantor_ethrpc_free(c);
}
END_TEST

START_TEST(test_state_diffs)
{
    struct cantor_ethrpc *c = client(0, 10000, 0);
    struct cantor_node_caps caps = {.diff_format = CANTOR_DIFF_PARITY};
    json_t *want = recorded_result(PARITY_17073191), *got = NULL;
    enum cantor_diff_format fmt = CANTOR_DIFF_NONE;

    /* Recorded with ["trace","stateDiff"]; we ask ["stateDiff"] only. */
    ck_assert_int_eq(cantor_node_get_state_diff(c, &caps, 17073191, &got, &fmt), CANTOR_OK);
    ck_assert_int_eq(fmt, CANTOR_DIFF_PARITY);
    ck_assert(json_equal(got, want));
    ck_assert_uint_gt(json_array_size(got), 100);
    json_decref(got);
    json_decref(want);

    caps.diff_format = CANTOR_DIFF_GETH;
    want = recorded_result(GETH_17073191);
    ck_assert_int_eq(cantor_node_get_state_diff(c, &caps, 17073191, &got, &fmt), CANTOR_OK);
    ck_assert_int_eq(fmt, CANTOR_DIFF_GETH);
    ck_assert(json_equal(got, want));
    json_decref(got);
    json_decref(want);

    caps.diff_format = CANTOR_DIFF_NONE;
    ck_assert_int_eq(cantor_node_get_state_diff(c, &caps, 17073191, &got, &fmt), CANTOR_ERR_UNSUPPORTED);
    cantor_ethrpc_free(c);
}
END_TEST

static void check_batch(struct cantor_ethrpc *c)
{
    const char *methods[3] = {"eth_chainId", "eth_getBlockByNumber", "eth_nope"};
    json_t *params[3] = {NULL, json_pack("[s, b]", "0xF42400", 1), NULL};
    json_t *results[3];
    enum cantor_err errors[3];
    json_t *want = recorded_result(BLOCK_16M_FILE);

    ck_assert_int_eq(cantor_ethrpc_batch(c, 3, methods, params, results, errors), CANTOR_OK);
    ck_assert_int_eq(errors[0], CANTOR_OK);
    ck_assert_str_eq(json_string_value(results[0]), "0xc72dd9d5e883e");
    ck_assert_int_eq(errors[1], CANTOR_OK);
    ck_assert(json_equal(results[1], want));
    ck_assert_int_eq(errors[2], CANTOR_ERR_RPC);
    ck_assert_int_eq(json_integer_value(json_object_get(results[2], "code")), -32601);
    for (int i = 0; i < 3; i++)
        json_decref(results[i]);
    json_decref(params[1]);
    json_decref(want);
}

START_TEST(test_batch)
{
    struct cantor_ethrpc *c = client(0, 5000, 0);

    ck_assert_int_eq(cantor_ethrpc_batch_mode(c), CANTOR_ETHRPC_BATCH_UNKNOWN);
    check_batch(c);
    ck_assert_int_eq(cantor_ethrpc_batch_mode(c), CANTOR_ETHRPC_BATCH_YES);
    ck_assert_uint_eq(mock_http_requests(), 1); /* three calls, one HTTP request */
    cantor_ethrpc_free(c);
}
END_TEST

START_TEST(test_batch_refused)
{
    /* _i: 0 = node answers a batch with one error object, 1 = with HTTP 400 */
    struct cantor_ethrpc *c = client(0, 5000, 0);

    cantor_mocknode_set_batch(mock, _i == 0 ? CANTOR_MOCK_BATCH_REFUSE_JSON : CANTOR_MOCK_BATCH_REFUSE_HTTP);
    check_batch(c);
    ck_assert_int_eq(cantor_ethrpc_batch_mode(c), CANTOR_ETHRPC_BATCH_NO);
    ck_assert_uint_eq(mock_http_requests(), 4); /* refused batch + 3 sequential */
    check_batch(c);                             /* detected once: no second array */
    ck_assert_uint_eq(mock_http_requests(), 7);
    cantor_ethrpc_free(c);
}
END_TEST

START_TEST(test_detect)
{
    struct cantor_ethrpc *c = client(0, 10000, 0);
    struct cantor_node_caps caps;

    cantor_mocknode_set_head(mock, 17073191);
    ck_assert_int_eq(cantor_node_detect(c, &caps), CANTOR_OK);
    ck_assert_uint_eq(caps.chain_id, EXEC_APIS_CHAIN_ID);
    ck_assert_uint_eq(caps.head, 17073191);
    ck_assert(caps.has_parity_trace);
    ck_assert(caps.batch);
    ck_assert_int_eq(caps.diff_format, CANTOR_DIFF_PARITY);

    /* a geth-like node: no trace_* */
    ck_assert_int_eq(cantor_mocknode_disable_method(mock, "trace_replayBlockTransactions", true), CANTOR_OK);
    ck_assert_int_eq(cantor_node_detect(c, &caps), CANTOR_OK);
    ck_assert(!caps.has_parity_trace);
    ck_assert(caps.has_geth_prestate);
    ck_assert_int_eq(caps.diff_format, CANTOR_DIFF_GETH);

    /* neither API, and no batches */
    ck_assert_int_eq(cantor_mocknode_disable_method(mock, "debug_traceBlockByNumber", true), CANTOR_OK);
    cantor_ethrpc_free(c);
    c = client(0, 10000, 0);
    cantor_mocknode_set_batch(mock, CANTOR_MOCK_BATCH_REFUSE_JSON);
    ck_assert_int_eq(cantor_node_detect(c, &caps), CANTOR_OK);
    ck_assert_int_eq(caps.diff_format, CANTOR_DIFF_NONE);
    ck_assert(!caps.batch);
    ck_assert_uint_eq(caps.chain_id, EXEC_APIS_CHAIN_ID);

    /* a probe on a block without recorded state still means "the method exists" */
    ck_assert_int_eq(cantor_mocknode_disable_method(mock, "debug_traceBlockByNumber", false), CANTOR_OK);
    cantor_mocknode_set_head(mock, 5);
    ck_assert_int_eq(cantor_node_detect(c, &caps), CANTOR_OK);
    ck_assert_int_eq(caps.diff_format, CANTOR_DIFF_GETH);
    cantor_ethrpc_free(c);
}
END_TEST

START_TEST(test_fetch_range)
{
    struct cantor_ethrpc *c = client(0, 20000, 0);
    struct cantor_node_caps caps = {.diff_format = CANTOR_DIFF_GETH};
    struct cantor_node_block blocks[3];
    json_t *want;
    char rel[128];

    /* diffs of 17,073,191..193 are recorded, their headers are not */
    ck_assert_int_eq(cantor_node_fetch_range(c, &caps, 17073191, 17073193, blocks), CANTOR_OK);
    ck_assert_uint_eq(mock_http_requests(), 1);
    for (int i = 0; i < 3; i++) {
        snprintf(rel, sizeof(rel), "erigon-rpc-tests/mainnet/debug_traceBlockByNumber/test_%d.json", 32 + i);
        want = recorded_result(rel);
        ck_assert_uint_eq(blocks[i].number, 17073191 + (uint64_t)i);
        ck_assert(json_equal(blocks[i].diff, want));
        ck_assert_ptr_null(blocks[i].block);
        ck_assert_int_eq(blocks[i].err, CANTOR_ERR_RPC);
        json_decref(want);
    }
    cantor_node_range_release(blocks, 3);

    /* headers of 16,000,000..001 are recorded, their diffs are not */
    caps.diff_format = CANTOR_DIFF_PARITY;
    ck_assert_int_eq(cantor_node_fetch_range(c, &caps, 16000000, 16000001, blocks), CANTOR_OK);
    want = recorded_result("erigon-rpc-tests/mainnet/eth_getBlockByNumber/test_04.json");
    ck_assert_str_eq(json_string_value(json_object_get(blocks[1].block, "hash")),
                     json_string_value(json_object_get(want, "hash")));
    ck_assert_str_eq(json_string_value(json_object_get(blocks[1].block, "parentHash")),
                     json_string_value(json_object_get(blocks[0].block, "hash")));
    ck_assert_ptr_null(blocks[0].diff);
    ck_assert_int_eq(blocks[0].err, CANTOR_ERR_RPC);
    cantor_node_range_release(blocks, 2);
    json_decref(want);

    ck_assert_int_eq(cantor_node_fetch_range(c, &caps, 10, 9, blocks), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_node_fetch_range(c, &caps, 0, CANTOR_NODE_MAX_RANGE, blocks), CANTOR_ERR_INVALID);
    cantor_ethrpc_free(c);
}
END_TEST

/* Each fault: expected error, retries expected with 3 allowed, HTTP requests the mock sees. */
struct fault_case {
    enum cantor_mock_fault_mode mode;
    unsigned count;
    long delay_ms;
    int status;
    enum cantor_err want;
    uint64_t retries;
    uint64_t requests;
};

static const struct fault_case fault_cases[] = {
    {CANTOR_MOCK_FAULT_HTTP_ERROR, 2, 0, 500, CANTOR_OK, 2, 3},       /* transient 5xx: retried */
    {CANTOR_MOCK_FAULT_HTTP_ERROR, 0, 0, 503, CANTOR_ERR_RPC, 3, 4},  /* persistent 5xx: gives up */
    {CANTOR_MOCK_FAULT_HTTP_ERROR, 1, 0, 429, CANTOR_OK, 1, 2},       /* rate limited: retried */
    {CANTOR_MOCK_FAULT_HTTP_ERROR, 0, 0, 401, CANTOR_ERR_AUTH, 0, 1}, /* never retried */
    {CANTOR_MOCK_FAULT_HTTP_ERROR, 0, 0, 404, CANTOR_ERR_RPC, 0, 1},  /* never retried */
    {CANTOR_MOCK_FAULT_GARBAGE, 0, 0, 0, CANTOR_ERR_JSON, 0, 1},
    {CANTOR_MOCK_FAULT_TRUNCATED, 0, 0, 0, CANTOR_ERR_JSON, 0, 1},
    {CANTOR_MOCK_FAULT_WRONG_ID, 0, 0, 0, CANTOR_ERR_RPC, 0, 1},
    {CANTOR_MOCK_FAULT_CLOSE, 0, 0, 0, CANTOR_ERR_IO, 3, 0},        /* requests: curl may reconnect */
    {CANTOR_MOCK_FAULT_DELAY, 0, 400, 0, CANTOR_ERR_TIMEOUT, 3, 4}, /* 150 ms timeout */
    {CANTOR_MOCK_FAULT_DELAY, 1, 400, 0, CANTOR_OK, 1, 2},          /* slow once, then fine */
};

START_TEST(test_faults)
{
    const struct fault_case *fc = &fault_cases[_i];
    struct cantor_ethrpc *c = client(3, 150, 0);
    struct cantor_ethrpc_stats st;
    json_t *r = NULL, *params = json_pack("[s, b]", "0xf42400", 0);
    uint64_t t0 = now_ms(), elapsed;
    enum cantor_err err;

    set_fault(fc->mode, fc->count, fc->delay_ms, fc->status, 0);
    err = cantor_ethrpc_call(c, "eth_getBlockByNumber", params, &r);
    elapsed = now_ms() - t0;
    ck_assert_msg(err == fc->want, "fault %s/%d: got %s, want %s (%s)", cantor_mock_fault_name(fc->mode),
                  fc->status, cantor_err_str(err), cantor_err_str(fc->want), cantor_ethrpc_last_error(c));
    cantor_ethrpc_get_stats(c, &st);
    ck_assert_uint_eq(st.retries, fc->retries);
    ck_assert_uint_eq(st.requests, fc->retries + 1);
    if (fc->requests)
        ck_assert_uint_eq(mock_http_requests(), fc->requests);
    ck_assert_uint_lt(elapsed, 3000); /* bounded: 4 x 150 ms timeouts + <= 60 ms of backoff */
    if (err == CANTOR_OK)
        ck_assert_str_eq(json_string_value(json_object_get(r, "hash")),
                         "0x3dc4ef568ae2635db1419c5fec55c4a9322c05302ae527cd40bff380c1d465dd");
    else
        ck_assert_str_ne(cantor_ethrpc_last_error(c), "");
    json_decref(r);
    r = NULL;

    /* the client is still usable once the fault is cleared */
    set_fault(CANTOR_MOCK_FAULT_NONE, 0, 0, 0, 0);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", NULL, &r), CANTOR_OK);
    ck_assert_str_eq(json_string_value(r), "0xc72dd9d5e883e");
    json_decref(r);
    json_decref(params);
    cantor_ethrpc_free(c);
}
END_TEST

START_TEST(test_fault_lie_and_control)
{
    struct cantor_ethrpc *c = client(2, 5000, 0);
    json_t *r = NULL, *ctl;
    const char *h;
    struct cantor_ethrpc_stats st;

    /* the lie is delivered as a well-formed answer: only the follower's hash checks can catch it */
    set_fault(CANTOR_MOCK_FAULT_LIE, 1, 0, 0, 0);
    ck_assert_int_eq(cantor_node_get_block(c, 16000000, &r), CANTOR_OK);
    h = json_string_value(json_object_get(r, "hash"));
    ck_assert_str_ne(h, "0x3dc4ef568ae2635db1419c5fec55c4a9322c05302ae527cd40bff380c1d465dd");
    ck_assert_int_eq(strncmp(h, "0x3dc4ef568ae2635db1419c5fec55c4a9322c05302ae527cd40bff380c1d465d", 65), 0);
    json_decref(r);
    r = NULL;

    /* the same fault set through the control method */
    ctl = json_pack("[{s:s, s:i, s:i}]", "mode", "http_error", "count", 1, "status", 502);
    ck_assert_int_eq(cantor_ethrpc_call(c, "mock_setFault", ctl, &r), CANTOR_OK);
    ck_assert(json_is_true(r));
    json_decref(r);
    json_decref(ctl);
    ck_assert_int_eq(cantor_node_get_block(c, 16000000, &r), CANTOR_OK);
    cantor_ethrpc_get_stats(c, &st);
    ck_assert_uint_eq(st.retries, 1);
    json_decref(r);
    cantor_ethrpc_free(c);
}
END_TEST

START_TEST(test_size_limit)
{
    /* block 16,000,000 with transactions is 245 KB */
    struct cantor_ethrpc *c = client(3, 5000, 64 * 1024);
    json_t *r = NULL, *params = json_pack("[s, b]", "0xf42400", 1);
    struct cantor_ethrpc_stats st;

    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_getBlockByNumber", params, &r), CANTOR_ERR_TOO_LARGE);
    cantor_ethrpc_get_stats(c, &st);
    ck_assert_uint_eq(st.retries, 0);
    ck_assert_uint_le(st.bytes_in, 64 * 1024);
    /* small answers still pass */
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", NULL, &r), CANTOR_OK);
    json_decref(r);
    /* oversized fault: 16 MiB of padding, aborted at the limit */
    set_fault(CANTOR_MOCK_FAULT_OVERSIZED, 1, 0, 0, 16u * 1024u * 1024u);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", NULL, &r), CANTOR_ERR_TOO_LARGE);
    cantor_ethrpc_free(c);

    c = client(0, 5000, 512 * 1024);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_getBlockByNumber", params, &r), CANTOR_OK);
    json_decref(r);
    json_decref(params);
    cantor_ethrpc_free(c);
}
END_TEST

static size_t b64url_decode(const char *s, size_t len, uint8_t *out, size_t out_size)
{
    size_t n = 0;

    ck_assert_int_eq(
        sodium_base642bin(out, out_size, s, len, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
        0);
    return n;
}

START_TEST(test_jwt)
{
    static const char secret_hex[] = "0x7365637265742d6b65792d666f722d746573742d6a77742d3132333435363738";
    char path[] = "/tmp/cantor-jwt-XXXXXX", auth[1024], text[256];
    struct cantor_ethrpc_opts o = {.url = mock_url, .max_retries = 0};
    struct cantor_ethrpc *c = NULL;
    uint8_t secret[32], mac[64];
    const char *tok, *dot1, *dot2;
    json_t *r = NULL, *claims;
    size_t n;
    int fd;

    ck_assert_int_eq(sodium_init() >= 0, 1);
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, secret_hex, strlen(secret_hex)), (ssize_t)strlen(secret_hex));
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    close(fd);
    o.jwt_secret_file = path;
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_OK);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", NULL, &r), CANTOR_OK);
    json_decref(r);
    cantor_ethrpc_free(c);

    cantor_mocknode_last_auth(mock, auth, sizeof(auth));
    ck_assert_int_eq(strncmp(auth, "Bearer ", 7), 0);
    tok = auth + 7;
    dot1 = strchr(tok, '.');
    ck_assert_ptr_nonnull(dot1);
    dot2 = strchr(dot1 + 1, '.');
    ck_assert_ptr_nonnull(dot2);
    ck_assert_ptr_null(strchr(dot2 + 1, '.'));
    n = b64url_decode(tok, (size_t)(dot1 - tok), (uint8_t *)text, sizeof(text) - 1);
    text[n] = '\0';
    ck_assert_str_eq(text, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    n = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), (uint8_t *)text, sizeof(text) - 1);
    text[n] = '\0';
    claims = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(claims);
    ck_assert(json_is_integer(json_object_get(claims, "iat")));
    ck_assert_int_le(
        llabs((long long)json_integer_value(json_object_get(claims, "iat")) - (long long)time(NULL)), 5);
    json_decref(claims);
    n = b64url_decode(dot2 + 1, strlen(dot2 + 1), mac, sizeof(mac));
    ck_assert_uint_eq(n, crypto_auth_hmacsha256_BYTES);
    ck_assert_int_eq(cantor_ethrpc_jwt_read_secret(path, secret), CANTOR_OK);
    ck_assert_int_eq(memcmp(secret, "secret-key-for-test-jwt-12345678", 32), 0);
    ck_assert_int_eq(crypto_auth_hmacsha256_verify(mac, (const uint8_t *)tok, (size_t)(dot2 - tok), secret),
                     0);
    mac[0] ^= 1;
    ck_assert_int_ne(crypto_auth_hmacsha256_verify(mac, (const uint8_t *)tok, (size_t)(dot2 - tok), secret),
                     0);

    /* bad secrets and header injection are configuration errors */
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "0x1234", 6), 6);
    close(fd);
    ck_assert_int_ne(cantor_ethrpc_new(&o, &c), CANTOR_OK);
    unlink(path);
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_ERR_IO);
    o.jwt_secret_file = NULL;
    o.auth_header = "Authorization: Bearer x\r\nX-Evil: 1";
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_ERR_CONFIG);
    o.auth_header = "Authorization: Bearer static-token";
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_OK);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", NULL, &r), CANTOR_OK);
    json_decref(r);
    cantor_ethrpc_free(c);
    cantor_mocknode_last_auth(mock, auth, sizeof(auth));
    ck_assert_str_eq(auth, "Bearer static-token");
}
END_TEST

/* A loopback port nobody listens on: bind port 0, read it back, close. */
static uint16_t dead_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

START_TEST(test_node_down)
{
    char url[64];
    struct cantor_ethrpc_opts o = {.url = url,
                                   .connect_timeout_ms = 500,
                                   .timeout_ms = 1000,
                                   .max_retries = 3,
                                   .backoff_initial_ms = 10,
                                   .backoff_max_ms = 40};
    struct cantor_ethrpc *c = NULL;
    struct cantor_ethrpc_stats st;
    json_t *r = NULL;
    uint64_t t0;
    enum cantor_err err;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", dead_port());
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_OK);
    t0 = now_ms();
    err = cantor_ethrpc_call(c, "eth_blockNumber", NULL, &r);
    ck_assert(err == CANTOR_ERR_IO || err == CANTOR_ERR_TIMEOUT);
    ck_assert_uint_lt(now_ms() - t0, 2000);
    cantor_ethrpc_get_stats(c, &st);
    ck_assert_uint_eq(st.retries, 3);
    ck_assert_uint_eq(st.requests, 4);
    ck_assert_uint_eq(st.errors, 1);
    ck_assert_ptr_nonnull(strstr(cantor_ethrpc_last_error(c), "transport"));
    cantor_ethrpc_free(c);

    o.url = "ftp://127.0.0.1/";
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_ERR_CONFIG);
    o.url = NULL;
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_ERR_CONFIG);
    cantor_ethrpc_free(NULL);
}
END_TEST

struct canceller {
    struct cantor_ethrpc *c;
    long after_ms;
};

static void *cancel_thread(void *arg)
{
    struct canceller *k = arg;
    struct timespec ts = {k->after_ms / 1000, (k->after_ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
    cantor_ethrpc_cancel(k->c);
    return NULL;
}

START_TEST(test_cancel)
{
    char url[64];
    struct cantor_ethrpc_opts o = {.url = url,
                                   .connect_timeout_ms = 500,
                                   .timeout_ms = 20000,
                                   .max_retries = 10,
                                   .backoff_initial_ms = 10000,
                                   .backoff_max_ms = 10000};
    struct cantor_ethrpc *c = NULL;
    struct canceller k;
    pthread_t th;
    json_t *r = NULL;
    uint64_t t0;
    unsigned attempts;

    /* 1. during backoff sleeps (node down, 10 s backoff): returns in well under a second of the cancel */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", dead_port());
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_OK);
    /* full jitter may pick a short sleep: repeat until one call has really slept */
    for (attempts = 0; attempts < 5; attempts++) {
        k = (struct canceller){c, 300};
        cantor_ethrpc_resume(c);
        t0 = now_ms();
        ck_assert_int_eq(pthread_create(&th, NULL, cancel_thread, &k), 0);
        ck_assert_int_eq(cantor_ethrpc_call(c, "eth_blockNumber", NULL, &r), CANTOR_ERR_STOPPED);
        pthread_join(th, NULL);
        ck_assert_uint_lt(now_ms() - t0, 1500);
        if (now_ms() - t0 >= 250)
            break;
    }
    ck_assert_uint_lt(attempts, 5);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_blockNumber", NULL, &r), CANTOR_ERR_STOPPED);
    cantor_ethrpc_free(c);

    /* 2. during a slow transfer (5 s delay, 20 s timeout) */
    snprintf(url, sizeof(url), "%s", mock_url);
    ck_assert_int_eq(cantor_ethrpc_new(&o, &c), CANTOR_OK);
    set_fault(CANTOR_MOCK_FAULT_DELAY, 0, 5000, 0, 0);
    k = (struct canceller){c, 200};
    t0 = now_ms();
    ck_assert_int_eq(pthread_create(&th, NULL, cancel_thread, &k), 0);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", NULL, &r), CANTOR_ERR_STOPPED);
    pthread_join(th, NULL);
    ck_assert_uint_lt(now_ms() - t0, 2000);
    ck_assert_str_eq(cantor_ethrpc_last_error(c), "cancelled");

    /* 3. resume: usable again */
    set_fault(CANTOR_MOCK_FAULT_NONE, 0, 0, 0, 0);
    cantor_ethrpc_resume(c);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", NULL, &r), CANTOR_OK);
    json_decref(r);
    cantor_ethrpc_free(c);
}
END_TEST

START_TEST(test_bad_arguments)
{
    struct cantor_ethrpc *c = client(0, 5000, 0);
    const char *methods[1] = {"eth_chainId"};
    json_t *params[1] = {NULL}, *results[1], *r = NULL, *bad = json_string("x");
    enum cantor_err errors[1];

    ck_assert_int_eq(cantor_ethrpc_call(c, NULL, NULL, &r), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_ethrpc_call(c, "eth_chainId", bad, &r), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_ethrpc_batch(c, 0, methods, params, results, errors), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_ethrpc_batch(c, CANTOR_ETHRPC_MAX_BATCH + 1, methods, params, results, errors),
                     CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_ethrpc_batch(c, 1, methods, params, results, errors), CANTOR_OK);
    ck_assert_int_eq(errors[0], CANTOR_OK);
    json_decref(results[0]);
    ck_assert_uint_eq(mock_http_requests(), 1);
    json_decref(bad);
    cantor_ethrpc_free(c);
}
END_TEST

static Suite *ethrpc_suite(void)
{
    Suite *s = suite_create("ethrpc");
    TCase *tc = tcase_create("mock");

    tcase_add_unchecked_fixture(tc, mock_load, mock_unload);
    tcase_add_checked_fixture(tc, mock_start, mock_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_call_recorded_block);
    tcase_add_test(tc, test_state_diffs);
    tcase_add_test(tc, test_batch);
    tcase_add_loop_test(tc, test_batch_refused, 0, 2);
    tcase_add_test(tc, test_detect);
    tcase_add_test(tc, test_fetch_range);
    tcase_add_loop_test(tc, test_faults, 0, (int)(sizeof(fault_cases) / sizeof(fault_cases[0])));
    tcase_add_test(tc, test_fault_lie_and_control);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_jwt);
    tcase_add_test(tc, test_node_down);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(ethrpc_suite());
}
