/*
 * test_api.c - the HTTP/JSON API and the JSON-RPC read path end to end: a real server
 * (cantor_http_start on 127.0.0.1, port 0) over a real store filled with recorded mainnet blocks,
 * hit with libcurl. Every test runs on the in-memory backend and on RocksDB in a mkdtemp directory
 * (Check loop index 0 = mem, 1 = rocksdb).
 *
 * Chain: mainnet blocks 17,073,191 and 17,073,192 (consecutive, old values checked strictly by the
 * store), then block 5,415,091 renumbered as 17,073,193 (a synthetic continuation; the store runs
 * with lax_old_values because its old values do not chain). Hashes are made up and linked.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <curl/curl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/delta_json.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "rpc/api.h"
#include "rpc/http.h"
#include "rpc/params.h"
#include "storage/store.h"
#include "testutil.h"

#define FIRST     17073191u
#define N_BLOCKS  3
#define TOKEN     "test-admin-token-0123456789"
#define MAX_BODY  (64u << 10)
#define MAX_BATCH 4

static const char *const files[N_BLOCKS] = {
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_38.json",
    "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_02.json",
};

/* Loaded once in main(); the forked test processes inherit them read-only. */
static struct cantor_delta *g_delta[N_BLOCKS];

struct fixture {
    char dir[64];      /* RocksDB dir (backend 1) */
    char data_dir[64]; /* backups land under here */
    struct cantor_store *store;
    struct cantor_api_ctx ctx;
    struct cantor_http_server *server;
    char base[64];
};

static struct fixture F;
static struct cantor_api_status g_status;

static void fake_status(void *arg, struct cantor_api_status *ret)
{
    (void)arg;
    *ret = g_status;
}

static void block_hash(uint64_t n, uint8_t h[32])
{
    memset(h, 0xab, 32);
    for (int i = 0; i < 8; i++)
        h[31 - i] = (uint8_t)(n >> (8 * i));
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void fixture_up(int backend)
{
    struct cantor_store_opts so = {.chain_id = 1, .lax_old_values = true};
    struct cantor_http_opts ho = {
        .port = 0, .max_body = MAX_BODY, .threads = 2, .admin_token = TOKEN, .public_reads = true};
    struct cantor_block_meta m;
    size_t n_routes;
    const struct cantor_http_route *routes;

    memset(&F, 0, sizeof(F));
    snprintf(F.data_dir, sizeof(F.data_dir), "/tmp/cantor-api-data-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(F.data_dir));
    if (backend) {
        snprintf(F.dir, sizeof(F.dir), "/tmp/cantor-api-db-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(F.dir));
        so.path = F.dir;
    }
    ck_assert_int_eq(cantor_store_open(&so, &F.store), CANTOR_OK);
    for (int i = 0; i < N_BLOCKS; i++) {
        memset(&m, 0, sizeof(m));
        m.number = FIRST + (uint64_t)i;
        m.timestamp = 1681000000u + 12u * (uint64_t)i;
        block_hash(m.number, m.hash);
        block_hash(m.number - 1, m.parent_hash);
        memset(m.state_root, i + 1, 32);
        g_delta[i]->block_number = m.number;
        ck_assert_int_eq(cantor_store_apply_block(F.store, &m, g_delta[i], NULL, 0), CANTOR_OK);
    }
    memset(&g_status, 0, sizeof(g_status));
    g_status.node_reachable = true;
    g_status.follower_running = true;
    g_status.node_head = FIRST + N_BLOCKS - 1 + 2;
    g_status.blocks_applied = N_BLOCKS;
    snprintf(g_status.diff_format, sizeof(g_status.diff_format), "parity");
    F.ctx = (struct cantor_api_ctx){.store = F.store,
                                    .chain_id = 1,
                                    .get_status = fake_status,
                                    .readyz_max_lag = 8,
                                    .data_dir = F.data_dir,
                                    .start_time = time(NULL),
                                    .version = "test",
                                    .rpc_max_batch = MAX_BATCH};
    routes = cantor_api_routes(&n_routes);
    ck_assert_int_eq(cantor_http_start(&ho, routes, n_routes, &F.ctx, &F.server), CANTOR_OK);
    cantor_api_set_server(&F.ctx, F.server);
    snprintf(F.base, sizeof(F.base), "http://127.0.0.1:%u", cantor_http_port(F.server));
}

static void fixture_down(void)
{
    cantor_http_stop(F.server);
    cantor_store_close(F.store);
    if (F.dir[0])
        nftw(F.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    nftw(F.data_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- HTTP client ---- */

struct reply {
    long status;
    char *body;
    size_t len;
};

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

static struct reply http(const char *method, const char *path, const char *body, size_t body_len,
                         const char *token)
{
    struct reply r = {0};
    struct curl_slist *hdr = NULL;
    char url[512], auth[128];
    CURL *c = curl_easy_init();

    ck_assert_ptr_nonnull(c);
    snprintf(url, sizeof(url), "%s%s", F.base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    if (body) {
        if (body_len == SIZE_MAX)
            body_len = strlen(body);
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

static json_t *get_json(const char *path, long want_status)
{
    struct reply r = http("GET", path, NULL, 0, NULL);
    json_error_t je;
    json_t *j;

    ck_assert_msg(r.status == want_status, "GET %s: status %ld, want %ld: %s", path, r.status, want_status,
                  r.body);
    j = json_loads(r.body, 0, &je);
    ck_assert_msg(j != NULL, "GET %s: not JSON: %s", path, r.body);
    free(r.body);
    return j;
}

/* GET that must fail with want_status and an error message containing needle. */
static void get_error(const char *path, long want_status, const char *needle)
{
    json_t *j = get_json(path, want_status);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));

    ck_assert_msg(msg && strstr(msg, needle), "GET %s: message '%s' lacks '%s'", path, msg ? msg : "(none)",
                  needle);
    json_decref(j);
}

static json_t *rpc(const char *body)
{
    struct reply r = http("POST", "/rpc", body, strlen(body), NULL);
    json_t *j;

    ck_assert_msg(r.status == 200, "rpc %s: status %ld", body, r.status);
    ck_assert_msg(r.len && r.body[r.len - 1] == '\n', "rpc answer must end with a newline: %s", r.body);
    j = json_loads(r.body, 0, NULL);
    ck_assert_msg(j != NULL, "rpc %s: not JSON: %s", body, r.body);
    free(r.body);
    return j;
}

static const char *rpc_result(json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "result"));

    ck_assert_msg(s != NULL, "no result: %s", json_dumps(j, JSON_COMPACT));
    return s;
}

static void rpc_expect_error(const char *body, int code, const char *needle)
{
    json_t *j = rpc(body), *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));

    ck_assert_msg(e && json_integer_value(json_object_get(e, "code")) == code, "%s: want error %d, got %s",
                  body, code, json_dumps(j, JSON_COMPACT));
    ck_assert_msg(msg && strstr(msg, needle), "%s: message '%s' lacks '%s'", body, msg ? msg : "", needle);
    json_decref(j);
}

static void hex_addr(const uint8_t a[20], char out[43])
{
    cantor_hex_encode(a, 20, out);
}

static const struct cantor_delta_entry *find_entry(int block, uint8_t kind, size_t skip)
{
    for (size_t i = 0; i < g_delta[block]->n_entries; i++)
        if (g_delta[block]->entries[i].kind == kind && skip-- == 0)
            return &g_delta[block]->entries[i];
    return NULL;
}

static bool key_in(int block, const struct cantor_delta_entry *k)
{
    return bsearch(k, g_delta[block]->entries, g_delta[block]->n_entries, sizeof(*k),
                   (int (*)(const void *, const void *))cantor_delta_entry_cmp) != NULL;
}

/* ---- operational endpoints ---- */

START_TEST(test_health_ready_metrics)
{
    json_t *j;
    struct reply r;

    fixture_up(_i);
    j = get_json("/healthz", 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    j = get_json("/readyz", 200);
    ck_assert(json_is_true(json_object_get(j, "ready")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "lag")), 2);
    json_decref(j);
    g_status.node_head = FIRST + 1000;
    j = get_json("/readyz", 503);
    ck_assert(json_is_false(json_object_get(j, "ready")));
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_array_get(json_object_get(j, "reasons"), 0)), "lag of"));
    json_decref(j);
    g_status.node_head = FIRST + 2;
    g_status.node_reachable = false;
    j = get_json("/readyz", 503);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "reasons"), 0)),
                     "execution node is not reachable");
    json_decref(j);
    get_error("/healthz?verbose=1", 400, "unknown or repeated query parameter 'verbose'");

    g_status.node_head = FIRST + 10;
    g_status.reorgs = 3;
    r = http("GET", "/metrics", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\ncantor_store_head 17073193\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\ncantor_node_head 17073201\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\ncantor_lag_blocks 8\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\ncantor_reorgs_total 3\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\ncantor_blocks_applied_total 3\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\ncantor_store_blocks 3\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "cantor_model_info{version=\"none\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "cantor_store_cf_bytes{cf=\"history\"}"));
    ck_assert_ptr_nonnull(strstr(r.body, "cantor_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    /* two 503s from /readyz and one 400 so far */
    ck_assert_ptr_nonnull(strstr(r.body, "cantor_http_errors_total{class=\"5xx\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "cantor_http_errors_total{class=\"4xx\"} 1\n"));
    free(r.body);

    j = get_json("/v1/status", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "chainId")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "store"), "head")), FIRST + 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "store"), "firstFollowed")),
                     FIRST);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "follower"), "diffFormat")),
                     "parity");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "follower"), "lag")), 8);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "compression"), "modelVersion")),
                     "none");
    json_decref(j);
    fixture_down();
}
END_TEST

/* ---- blocks ---- */

START_TEST(test_blocks)
{
    char path[128], hex[67];
    uint8_t h[32];
    json_t *j, *entries, *e;
    size_t by_kind[4] = {0};

    fixture_up(_i);
    for (size_t k = 0; k < g_delta[0]->n_entries; k++)
        by_kind[g_delta[0]->entries[k].kind]++;
    j = get_json("/v1/blocks/17073191", 200);
    block_hash(FIRST, h);
    cantor_hex_encode(h, 32, hex);
    ck_assert_str_eq(json_string_value(json_object_get(j, "hash")), hex);
    block_hash(FIRST - 1, h);
    cantor_hex_encode(h, 32, hex);
    ck_assert_str_eq(json_string_value(json_object_get(j, "parentHash")), hex);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "entries")), (json_int_t)g_delta[0]->n_entries);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "codes")), (json_int_t)g_delta[0]->n_codes);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "entriesByKind"), "storage")),
                     (json_int_t)by_kind[CANTOR_KIND_STORAGE]);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "entriesByKind"), "balance")),
                     (json_int_t)by_kind[CANTOR_KIND_BALANCE]);
    ck_assert_int_gt(json_integer_value(json_object_get(j, "deltaBytes")), 1000);
    json_decref(j);
    j = get_json("/v1/blocks/0x1048427", 200); /* = 17073191 */
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), FIRST);
    json_decref(j);
    j = get_json("/v1/blocks/latest", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), FIRST + 2);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "entries")), (json_int_t)g_delta[2]->n_entries);
    json_decref(j);
    j = get_json("/v1/blocks/earliest", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), FIRST);
    json_decref(j);

    /* The delta, entry by entry, against the recorded data. */
    snprintf(path, sizeof(path), "/v1/blocks/%u/delta", FIRST + 1);
    j = get_json(path, 200);
    entries = json_object_get(j, "entries");
    ck_assert_uint_eq(json_array_size(entries), g_delta[1]->n_entries);
    for (size_t k = 0; k < g_delta[1]->n_entries; k++) {
        ck_assert_int_eq(cantor_delta_entry_to_json(&g_delta[1]->entries[k], &e), CANTOR_OK);
        ck_assert_msg(json_equal(e, json_array_get(entries, k)), "entry %zu differs", k);
        json_decref(e);
    }
    json_decref(j);

    get_error("/v1/blocks/17073190", 404, "not followed");
    get_error("/v1/blocks/17073194", 404, "not followed");
    get_error("/v1/blocks/abc", 400, "invalid block 'abc'");
    get_error("/v1/blocks/-1", 400, "invalid block");
    get_error("/v1/blocks/99999999999999999999999", 400, "too long");
    get_error("/v1/blocks/18446744073709551615", 400, "above");
    get_error("/v1/blocks/0x", 400, "no digits");
    get_error("/v1/blocks/0xzz", 400, "invalid hex digit");
    get_error("/v1/blocks/017073191", 400, "leading zero");
    get_error("/v1/blocks/17073191?full=true", 400, "'full'");
    get_error("/v1/blocks/17073191/delta?x", 400, "'x'");
    fixture_down();
}
END_TEST

/* ---- state ---- */

START_TEST(test_state)
{
    const struct cantor_delta_entry *e;
    char path[256], addr[43], q[67], slot[67], val[67];
    json_t *j;
    size_t checked = 0;

    fixture_up(_i);
    /* Balances and nonces changed in block 192: new value at 192, old value at 191. */
    for (size_t k = 0; k < g_delta[1]->n_entries && checked < 40; k++) {
        e = &g_delta[1]->entries[k];
        if (e->kind != CANTOR_KIND_BALANCE)
            continue;
        hex_addr(e->addr, addr);
        snprintf(path, sizeof(path), "/v1/state/%s?block=%u", addr, FIRST + 1);
        j = get_json(path, 200);
        cantor_hex_encode_quantity(e->new_val, q);
        ck_assert_str_eq(json_string_value(json_object_get(j, "balance")), q);
        ck_assert(json_is_true(json_object_get(json_object_get(j, "known"), "balance")));
        json_decref(j);
        snprintf(path, sizeof(path), "/v1/state/%s?block=0x%x", addr, FIRST);
        j = get_json(path, 200);
        cantor_hex_encode_quantity(e->old_val, q);
        ck_assert_str_eq(json_string_value(json_object_get(j, "balance")), q);
        json_decref(j);
        checked++;
    }
    ck_assert_uint_gt(checked, 10);
    e = find_entry(1, CANTOR_KIND_NONCE, 0);
    ck_assert_ptr_nonnull(e);
    hex_addr(e->addr, addr);
    snprintf(path, sizeof(path), "/v1/state/%s?block=%u", addr, FIRST + 1);
    j = get_json(path, 200);
    cantor_hex_encode_quantity(e->new_val, q);
    ck_assert_str_eq(json_string_value(json_object_get(j, "nonce")), q);
    json_decref(j);

    /* The contract created in block 191: code hash and size from the delta's code table. */
    e = find_entry(0, CANTOR_KIND_CODE, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_ge(g_delta[0]->n_codes, 1);
    hex_addr(e->addr, addr);
    snprintf(path, sizeof(path), "/v1/state/%s", addr); /* default: latest */
    j = get_json(path, 200);
    cantor_hex_encode(e->new_val, 32, val);
    ck_assert_str_eq(json_string_value(json_object_get(j, "codeHash")), val);
    for (size_t k = 0; k < g_delta[0]->n_codes; k++)
        if (memcmp(g_delta[0]->codes[k].hash, e->new_val, 32) == 0)
            ck_assert_int_eq(json_integer_value(json_object_get(j, "codeSize")),
                             (json_int_t)g_delta[0]->codes[k].len);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "block")), FIRST + 2);
    json_decref(j);

    /* Storage slots of block 193 (the renumbered block). */
    checked = 0;
    for (size_t k = 0; k < g_delta[2]->n_entries; k++) {
        e = &g_delta[2]->entries[k];
        if (e->kind != CANTOR_KIND_STORAGE)
            continue;
        hex_addr(e->addr, addr);
        cantor_hex_encode(e->slot, 32, slot);
        snprintf(path, sizeof(path), "/v1/state/%s/storage/%s?block=latest", addr, slot);
        j = get_json(path, 200);
        cantor_hex_encode(e->new_val, 32, val);
        ck_assert_str_eq(json_string_value(json_object_get(j, "value")), val);
        json_decref(j);
        checked++;
    }
    ck_assert_uint_ge(checked, 2);

    /* Never seen changing: unknown, not zero. */
    j = get_json("/v1/state/0x000000000000000000000000000000000000dEaD", 404);
    ck_assert(json_is_false(json_object_get(j, "known")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
                                 "never saw it change"));
    json_decref(j);
    e = find_entry(0, CANTOR_KIND_STORAGE, 0);
    hex_addr(e->addr, addr);
    snprintf(path, sizeof(path), "/v1/state/%s/storage/0x%064x", addr, 0x5eed);
    j = get_json(path, 404);
    ck_assert(json_is_false(json_object_get(j, "known")));
    json_decref(j);

    get_error("/v1/state/0x00000000000000000000000000000000000dead", 400, "39 hex digits, want 40");
    get_error("/v1/state/000000000000000000000000000000000000dead", 400, "without 0x prefix");
    get_error("/v1/state/0x000000000000000000000000000000000000dxad", 400, "invalid hex digit");
    snprintf(path, sizeof(path), "/v1/state/%s?block=latest&block=1", addr);
    get_error(path, 400, "'block'");
    snprintf(path, sizeof(path), "/v1/state/%s?blok=1", addr);
    get_error(path, 400, "'blok'");
    snprintf(path, sizeof(path), "/v1/state/%s?block=12", addr);
    get_error(path, 404, "not followed");
    snprintf(path, sizeof(path), "/v1/state/%s?block=1e6", addr);
    get_error(path, 400, "invalid block '1e6'");
    snprintf(path, sizeof(path), "/v1/state/%s/storage/0x1", addr);
    get_error(path, 400, "want 64");
    snprintf(path, sizeof(path), "/v1/state/%s/storage/0x%064x0", addr, 1);
    get_error(path, 400, "want 64");
    fixture_down();
}
END_TEST

/* ---- history ---- */

/* Blocks (of our chain) where a key changed, straight from the deltas. */
static size_t expected_blocks(const struct cantor_delta_entry *k, uint64_t *out)
{
    size_t n = 0;

    for (int b = 0; b < N_BLOCKS; b++)
        if (key_in(b, k))
            out[n++] = FIRST + (uint64_t)b;
    return n;
}

START_TEST(test_history)
{
    const struct cantor_delta_entry *e = NULL;
    char path[256], addr[43], slot[67];
    uint64_t want[N_BLOCKS];
    size_t nw = 0;
    json_t *j, *ch;

    fixture_up(_i);
    /* A balance that changed in both 191 and 192 (the fee recipient-like accounts do). */
    for (size_t k = 0; k < g_delta[1]->n_entries && nw < 2; k++) {
        e = &g_delta[1]->entries[k];
        if (e->kind == CANTOR_KIND_BALANCE)
            nw = expected_blocks(e, want);
    }
    ck_assert_uint_ge(nw, 2);
    hex_addr(e->addr, addr);
    snprintf(path, sizeof(path), "/v1/history/%s?kind=balance", addr);
    j = get_json(path, 200);
    ch = json_object_get(j, "changes");
    ck_assert_uint_eq(json_array_size(ch), nw);
    for (size_t k = 0; k < nw; k++)
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ch, k), "block")),
                         (json_int_t)want[k]);
    ck_assert(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    /* Paginate one at a time with the cursor. */
    snprintf(path, sizeof(path), "/v1/history/%s?kind=balance&limit=1", addr);
    j = get_json(path, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "next")), (json_int_t)want[1]);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(json_object_get(j, "changes"), 0), "block")),
        (json_int_t)want[0]);
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/history/%s?kind=balance&limit=1&from=%" PRIu64, addr, want[1]);
    j = get_json(path, 200);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(json_object_get(j, "changes"), 0), "block")),
        (json_int_t)want[1]);
    json_decref(j);

    /* A storage slot's history and its value at the change. */
    e = find_entry(1, CANTOR_KIND_STORAGE, 0);
    nw = expected_blocks(e, want);
    hex_addr(e->addr, addr);
    cantor_hex_encode(e->slot, 32, slot);
    snprintf(path, sizeof(path), "/v1/history/%s/storage/%s", addr, slot);
    j = get_json(path, 200);
    ch = json_object_get(j, "changes");
    ck_assert_uint_eq(json_array_size(ch), nw);
    ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "storage");
    for (size_t k = 0; k < nw; k++) {
        if (want[k] == FIRST + 1) {
            char v[67];

            cantor_hex_encode(e->new_val, 32, v);
            ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ch, k), "value")), v);
        }
    }
    json_decref(j);

    /* Nothing known: an empty page, not an error. */
    j = get_json("/v1/history/0x000000000000000000000000000000000000dead?kind=nonce", 200);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "changes")), 0);
    json_decref(j);

    snprintf(path, sizeof(path), "/v1/history/%s", addr);
    get_error(path, 400, "missing query parameter 'kind'");
    snprintf(path, sizeof(path), "/v1/history/%s?kind=storage", addr);
    get_error(path, 400, "invalid kind 'storage'");
    snprintf(path, sizeof(path), "/v1/history/%s?kind=balance&limit=0", addr);
    get_error(path, 400, "between 1 and 1000");
    snprintf(path, sizeof(path), "/v1/history/%s?kind=balance&limit=1001", addr);
    get_error(path, 400, "between 1 and 1000");
    snprintf(path, sizeof(path), "/v1/history/%s?kind=balance&limit=0x10", addr);
    get_error(path, 400, "decimal");
    snprintf(path, sizeof(path), "/v1/history/%s?kind=balance&from=x", addr);
    get_error(path, 400, "invalid from 'x'");
    snprintf(path, sizeof(path), "/v1/history/%s/storage/%s?kind=balance", addr, slot);
    get_error(path, 400, "'kind'");
    fixture_down();
}
END_TEST

/* ---- JSON-RPC reads ---- */

START_TEST(test_rpc_reads)
{
    const struct cantor_delta_entry *e;
    char body[512], addr[43], q[67], v[67], hx[67];
    const char *short_slot;
    struct reply r;
    json_t *j;
    size_t checked = 0;

    fixture_up(_i);
    /* Byte-for-byte answers. */
    r = http("POST", "/rpc", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\",\"params\":[]}",
             SIZE_MAX, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1048429\"}\n");
    free(r.body);
    r = http("POST", "/rpc", "{\"id\":\"a\",\"jsonrpc\":\"2.0\",\"method\":\"eth_chainId\"}", SIZE_MAX, NULL);
    ck_assert_str_eq(r.body, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":\"0x1\"}\n");
    free(r.body);

    /* Balances at 192 (new) and 191 (old), as hex quantities. */
    for (size_t k = 0; k < g_delta[1]->n_entries && checked < 30; k++) {
        e = &g_delta[1]->entries[k];
        if (e->kind != CANTOR_KIND_BALANCE)
            continue;
        hex_addr(e->addr, addr);
        snprintf(
            body, sizeof(body),
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"eth_getBalance\",\"params\":[\"%s\",\"0x1048428\"]}",
            addr);
        j = rpc(body);
        cantor_hex_encode_quantity(e->new_val, q);
        ck_assert_str_eq(rpc_result(j), q);
        json_decref(j);
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"eth_getBalance\",\"params\":[\"%s\","
                 "{\"blockNumber\":\"0x1048427\"}]}",
                 addr);
        j = rpc(body);
        cantor_hex_encode_quantity(e->old_val, q);
        ck_assert_str_eq(rpc_result(j), q);
        json_decref(j);
        checked++;
    }
    ck_assert_uint_gt(checked, 10);

    /* Storage with geth's short slot form, via a block hash (EIP-1898) and as a bare hash string. */
    checked = 0;
    for (size_t k = 0; k < g_delta[1]->n_entries && checked < 30; k++) {
        uint8_t h[32];

        e = &g_delta[1]->entries[k];
        if (e->kind != CANTOR_KIND_STORAGE)
            continue;
        hex_addr(e->addr, addr);
        cantor_hex_encode_quantity(e->slot, q); /* "0x3" instead of 64 digits */
        short_slot = q;
        block_hash(FIRST + 1, h);
        cantor_hex_encode(h, 32, hx);
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"eth_getStorageAt\",\"params\":[\"%s\",\"%s\","
                 "{\"blockHash\":\"%s\",\"requireCanonical\":true}]}",
                 addr, short_slot, hx);
        j = rpc(body);
        cantor_hex_encode(e->new_val, 32, v);
        ck_assert_str_eq(rpc_result(j), v);
        json_decref(j);
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"eth_getStorageAt\",\"params\":[\"%s\",\"%s\",\"%"
                 "s\"]}",
                 addr, short_slot, hx);
        j = rpc(body);
        ck_assert_str_eq(rpc_result(j), v);
        json_decref(j);
        checked++;
    }
    ck_assert_uint_gt(checked, 10);

    /* Tags: earliest = first followed block, latest/safe/finalized/pending = head. */
    e = find_entry(0, CANTOR_KIND_NONCE, 0);
    hex_addr(e->addr, addr);
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"eth_getTransactionCount\",\"params\":[\"%s\","
             "\"earliest\"]}",
             addr);
    j = rpc(body);
    cantor_hex_encode_quantity(e->new_val, q);
    ck_assert_str_eq(rpc_result(j), q);
    json_decref(j);
    {
        static const char *const tags[] = {"latest", "safe", "finalized", "pending"};
        struct cantor_delta_entry k = *e;
        uint8_t want[32];

        /* at head: the newest change of that nonce among our blocks */
        memcpy(want, e->new_val, 32);
        for (int b = 1; b < N_BLOCKS; b++) {
            const struct cantor_delta_entry *f =
                bsearch(&k, g_delta[b]->entries, g_delta[b]->n_entries, sizeof(k),
                        (int (*)(const void *, const void *))cantor_delta_entry_cmp);
            if (f)
                memcpy(want, f->new_val, 32);
        }
        cantor_hex_encode_quantity(want, q);
        for (int t = 0; t < 4; t++) {
            snprintf(body, sizeof(body),
                     "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"eth_getTransactionCount\",\"params\":[\"%"
                     "s\",\"%s\"]}",
                     addr, tags[t]);
            j = rpc(body);
            ck_assert_str_eq(rpc_result(j), q);
            json_decref(j);
        }
    }

    /* Code: the contract created in 191, and "0x" for the empty code hash. */
    e = find_entry(0, CANTOR_KIND_CODE, 0);
    hex_addr(e->addr, addr);
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"eth_getCode\",\"params\":[\"%s\",\"0x1048427\"]}",
             addr);
    j = rpc(body);
    {
        const char *code = rpc_result(j);
        uint8_t *bytes, h[32];
        size_t len;

        ck_assert_int_eq(cantor_hex_decode_alloc(code, &bytes, &len), CANTOR_OK);
        ck_assert_uint_gt(len, 0);
        cantor_keccak256(bytes, len, h);
        ck_assert_mem_eq(h, e->new_val, 32);
        free(bytes);
    }
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"eth_getCode\",\"params\":[\"%s\",\"0x1048426\"]}",
             addr);
    rpc_expect_error(body, -32000, "header not found");
    fixture_down();
}
END_TEST

START_TEST(test_rpc_errors)
{
    const struct cantor_delta_entry *e;
    char body[512], addr[43];
    struct reply r;
    json_t *j;

    fixture_up(_i);
    e = find_entry(1, CANTOR_KIND_BALANCE, 0);
    hex_addr(e->addr, addr);

    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",", -32700, "parse error");
    j = rpc("{bad");
    ck_assert(json_is_null(json_object_get(j, "id")));
    json_decref(j);
    rpc_expect_error("[]", -32600, "empty batch");
    rpc_expect_error("42", -32600, "invalid request");
    rpc_expect_error("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"eth_chainId\"}", -32600, "jsonrpc must be");
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600, "method");
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"eth_chainId\"}", -32600, "id must be");
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_sendRawTransaction\",\"params\":[]}",
                     -32601, "the method eth_sendRawTransaction does not exist/is not available");
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\u00e9th_x\"}", -32601,
                     "the method ??th_x does");
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[1]}", -32602,
                     "too many arguments, want at most 0");
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":{\"a\":1}}",
                     -32602, "non-array args");
    rpc_expect_error(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"0x12\",\"latest\"]}",
        -32602, "invalid argument 0: address has 2 hex digits, want 40");
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[5,\"latest\"]}",
                     -32602, "invalid argument 0");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\"]}", addr);
    rpc_expect_error(body, -32602, "missing value for required argument 1");
    snprintf(
        body, sizeof(body),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\",\"0x01048428\"]}",
        addr);
    rpc_expect_error(body, -32602, "leading zero");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\",\"17073192\"]}",
             addr);
    rpc_expect_error(body, -32602, "without 0x prefix");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\","
             "\"0x10000000000000000\"]}",
             addr);
    rpc_expect_error(body, -32602, "64 bits");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\","
             "\"0xffffffffffffffff\"]}",
             addr);
    rpc_expect_error(body, -32602, "larger than int64");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\",\"0x104842a\"]}",
             addr);
    rpc_expect_error(body, -32000, "header not found");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\",\"0x0\"]}",
             addr);
    rpc_expect_error(body, -32000, "header not found");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\",{\"blockHash\":"
             "\"0x%064x\"}]}",
             addr, 0x1234);
    rpc_expect_error(body, -32000, "header for hash not found");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"%s\","
             "{\"blockHash\":\"0x%064x\",\"blockNumber\":\"0x1\"}]}",
             addr, 0x1234);
    rpc_expect_error(body, -32602, "cannot specify both");
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getStorageAt\",\"params\":[\"%s\",\"0x%066x\","
             "\"latest\"]}",
             addr, 1);
    rpc_expect_error(body, -32602, "at most 32 bytes");
    /* A key never seen changing: an error, never a guessed zero. */
    rpc_expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":"
                     "[\"0x000000000000000000000000000000000000dead\",\"latest\"]}",
                     -32000, "never saw");

    /* Batches: mixed answers in order, notifications omitted, invalid members answered with id null. */
    snprintf(
        body, sizeof(body),
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"eth_chainId\"},1,"
        "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"eth_getBalance\",\"params\":[\"%s\",\"latest\"]}]",
        addr);
    j = rpc(body);
    ck_assert(json_is_array(j));
    ck_assert_uint_eq(json_array_size(j), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "result")), "0x1");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(json_array_get(j, 1), "error"), "code")), -32600);
    ck_assert(json_is_null(json_object_get(json_array_get(j, 1), "id")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 2), "id")), "x");
    ck_assert_ptr_nonnull(json_object_get(json_array_get(j, 2), "result"));
    json_decref(j);
    /* Over the batch limit: one error carrying the first call's id. */
    j = rpc("[{\"jsonrpc\":\"2.0\",\"method\":\"eth_chainId\"},{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
            "\"eth_chainId\"},"
            "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"eth_chainId\"},{\"jsonrpc\":\"2.0\",\"id\":7,"
            "\"method\":\"eth_chainId\"},"
            "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"eth_chainId\"}]");
    ck_assert_uint_eq(json_array_size(j), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 5);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(json_array_get(j, 0), "error"), "code")), -32600);
    json_decref(j);
    /* Only notifications: nothing to answer. */
    r = http("POST", "/rpc", "[{\"jsonrpc\":\"2.0\",\"method\":\"eth_chainId\"}]", SIZE_MAX, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    free(r.body);
    fixture_down();
}
END_TEST

/* ---- auth, limits, routing ---- */

START_TEST(test_auth_limits_routing)
{
    struct reply r;
    char *big;
    json_t *j;
    struct stat sb;

    fixture_up(_i);
    r = http("POST", "/v1/admin/checkpoint", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 401);
    free(r.body);
    r = http("POST", "/v1/admin/checkpoint", NULL, 0, "test-admin-token-0123456788");
    ck_assert_int_eq(r.status, 401);
    free(r.body);
    r = http("POST", "/v1/admin/checkpoint", NULL, 0, "short");
    ck_assert_int_eq(r.status, 401);
    free(r.body);
    r = http("POST", "/v1/admin/checkpoint", "{\"x\":1}", 7, TOKEN);
    ck_assert_int_eq(r.status, 400);
    free(r.body);
    r = http("POST", "/v1/admin/checkpoint", NULL, 0, TOKEN);
    if (_i == 0) {
        ck_assert_int_eq(r.status, 422); /* the in-memory backend has nothing to checkpoint to disk */
    } else {
        char cur[256];

        ck_assert_msg(r.status == 200, "checkpoint: %ld %s", r.status, r.body);
        j = json_loads(r.body, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "path")), "/backups/checkpoint-"));
        ck_assert_int_eq(stat(json_string_value(json_object_get(j, "path")), &sb), 0);
        ck_assert(S_ISDIR(sb.st_mode));
        snprintf(cur, sizeof(cur), "%s/CURRENT", json_string_value(json_object_get(j, "path")));
        ck_assert_int_eq(stat(cur, &sb), 0); /* a real RocksDB directory */
        json_decref(j);
    }
    free(r.body);

    /* public_reads = false: reads need the token, health endpoints stay open. */
    ck_assert_int_eq(cantor_http_set_auth(F.server, TOKEN, false), CANTOR_OK);
    r = http("GET", "/v1/status", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 401);
    free(r.body);
    r = http("POST", "/rpc", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"}", SIZE_MAX, NULL);
    ck_assert_int_eq(r.status, 401);
    free(r.body);
    r = http("GET", "/v1/status", NULL, 0, TOKEN);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    r = http("GET", "/healthz", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    ck_assert_int_eq(cantor_http_set_auth(F.server, TOKEN, true), CANTOR_OK);

    /* Body over the limit. */
    big = malloc(MAX_BODY + 100);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', MAX_BODY + 100);
    big[0] = '[';
    big[MAX_BODY + 99] = ']';
    r = http("POST", "/rpc", big, MAX_BODY + 100, NULL);
    ck_assert_int_eq(r.status, 413);
    free(r.body);
    free(big);

    get_error("/v1/nope", 404, "no such endpoint");
    get_error("/v1/blocks/1/delta/extra", 404, "no such endpoint");
    r = http("GET", "/rpc", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 405);
    free(r.body);
    r = http("DELETE", "/v1/status", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 405);
    free(r.body);
    fixture_down();
}
END_TEST

/* ---- params (pure functions) ---- */

START_TEST(test_params)
{
    uint8_t w[32], a[20];
    uint64_t n;
    size_t lim;
    char why[CANTOR_PARAMS_WHY_LEN], echo[8];

    ck_assert_int_eq(cantor_params_block_number("0", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cantor_params_block_number("9223372036854775807", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_ne(cantor_params_block_number("9223372036854775808", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_ne(cantor_params_block_number("18446744073709551616", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_ne(cantor_params_block_number(" 1", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_ne(cantor_params_block_number("+1", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_eq(cantor_params_block_number("0x00ff", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_uint_eq(n, 255);
    ck_assert_int_eq(cantor_params_quantity_u64("0x0", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_ne(cantor_params_quantity_u64("0x00", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_ne(cantor_params_quantity_u64("0x", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_eq(cantor_params_quantity_u64("0xffffffffffffffff", &n, why, sizeof(why)), CANTOR_OK);
    ck_assert_uint_eq(n, UINT64_MAX);
    ck_assert_int_eq(cantor_params_address("0x000000000000000000000000000000000000dEaD", a, why, sizeof(why)),
                     CANTOR_OK);
    ck_assert_uint_eq(a[18], 0xde);
    ck_assert_int_eq(cantor_params_slot_lax("0x", w, why, sizeof(why)), CANTOR_OK);
    ck_assert_uint_eq(w[31], 0);
    ck_assert_int_eq(cantor_params_slot_lax("0x102", w, why, sizeof(why)), CANTOR_OK);
    ck_assert_uint_eq(w[30], 1);
    ck_assert_uint_eq(w[31], 2);
    ck_assert_int_eq(cantor_params_slot_lax("abc", w, why, sizeof(why)), CANTOR_OK);
    ck_assert_uint_eq(w[31], 0xbc);
    ck_assert_int_ne(cantor_params_slot_lax("0xg", w, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_ne(cantor_params_word("0x01", w, why, sizeof(why)), CANTOR_OK);
    ck_assert_int_eq(cantor_params_limit(NULL, 7, 10, &lim, why, sizeof(why)), CANTOR_OK);
    ck_assert_uint_eq(lim, 7);
    ck_assert_int_ne(cantor_params_limit("11", 7, 10, &lim, why, sizeof(why)), CANTOR_OK);
    cantor_params_echo("ab\x01\"cdefghij", echo, sizeof(echo));
    ck_assert_str_eq(echo, "ab??...");
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_params);
    tcase_add_loop_test(tc, test_health_ready_metrics, 0, 2);
    tcase_add_loop_test(tc, test_blocks, 0, 2);
    tcase_add_loop_test(tc, test_state, 0, 2);
    tcase_add_loop_test(tc, test_history, 0, 2);
    tcase_add_loop_test(tc, test_rpc_reads, 0, 2);
    tcase_add_loop_test(tc, test_rpc_errors, 0, 2);
    tcase_add_loop_test(tc, test_auth_limits_routing, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < N_BLOCKS; i++) {
        if (cantor_delta_load_recorded(tu_data_path(files[i]), &g_delta[i]) != CANTOR_OK) {
            fprintf(stderr, "cannot load %s\n", files[i]);
            return EXIT_FAILURE;
        }
    }
    rc = tu_run_suite(api_suite());
    for (int i = 0; i < N_BLOCKS; i++)
        cantor_delta_free(g_delta[i]);
    curl_global_cleanup();
    return rc;
}
