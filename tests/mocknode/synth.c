/*
 * synth.c - the mock node's synthetic chain (see mocknode.h): deterministic headers over real block
 * numbers, linked by parentHash and hashed with core/header's canonical RLP, served together with
 * the real recorded state diffs of those numbers; reorgs and lies are injected here.
 *
 * A header is a pure function of (number, branch, parent hash), so the chain is rebuilt (hash by
 * hash, from `from` upwards) whenever a reorg changes a branch: a later block always links to the
 * block the chain now holds below it, as on a real node after a reorg.
 *
 * Memory: the synth owns its per-block arrays (branch, empty-diff flag, hash); answers go into the
 * caller's buffer. One mutex guards everything, so tests can inject faults while a follower reads.
 */
#include "tests/mocknode/synth.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/header.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "tests/mocknode/synth_state.h"

#define SYNTH_MAX_BLOCKS (1u << 20)
/* Shanghai (block 17,034,870) at 1681338479, one slot per 12 s: close to mainnet, and deterministic. */
#define SHANGHAI_BLOCK 17034870u
#define SHANGHAI_TIME  1681338479u

struct mock_synth {
    pthread_mutex_t lock;
    bool on;
    uint64_t from, to, head;
    enum cantor_mock_synth_format fmt;
    unsigned *branch; /* per block; 0 = the original chain */
    bool *empty;      /* per block: serve [] as its diff (a reorged block without transactions) */
    uint8_t (*hash)[32];
    json_t **geth;              /* per block: the recorded geth diff, source of the account state */
    struct synth_state *states; /* per block: accounts seen so far, values after the block */
    uint8_t (*root)[32];        /* per block: the state trie root (the header's stateRoot) */
    unsigned next_branch;
    uint64_t lie_block;
    enum cantor_mock_synth_lie lie;
};

enum cantor_err mock_synth_new(struct mock_synth **ret_synth)
{
    struct mock_synth *s = calloc(1, sizeof(*s));

    if (!s)
        return CANTOR_ERR_NOMEM;
    pthread_mutex_init(&s->lock, NULL);
    *ret_synth = s;
    return CANTOR_OK;
}

static void drop_arrays(struct mock_synth *s)
{
    size_t n = s->on ? (size_t)(s->to - s->from + 1) : 0;

    for (size_t i = 0; i < n; i++) {
        json_decref(s->geth ? s->geth[i] : NULL);
        if (s->states)
            synth_state_release(&s->states[i]);
    }
    free(s->geth);
    free(s->states);
    free(s->root);
    free(s->branch);
    free(s->empty);
    free(s->hash);
    s->geth = NULL;
    s->states = NULL;
    s->root = NULL;
    s->branch = NULL;
    s->empty = NULL;
    s->hash = NULL;
    s->on = false;
}

void mock_synth_free(struct mock_synth *s)
{
    if (!s)
        return;
    drop_arrays(s);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *mock_synth_diff_method(enum cantor_mock_synth_format fmt)
{
    return fmt == CANTOR_MOCK_SYNTH_PARITY ? "trace_replayBlockTransactions" : "debug_traceBlockByNumber";
}

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

/* keccak256(tag || n || branch): the synthetic values, distinct per block and per branch. */
static void tagged_hash(const char *tag, uint64_t n, unsigned branch, uint8_t out[32])
{
    uint8_t in[64];
    size_t len = strlen(tag);

    memcpy(in, tag, len);
    be64(n, in + len);
    be64(branch, in + len + 8);
    cantor_keccak256(in, len + 16, out);
}

/* The header of block n on `branch` over `parent`; h->hash is set. */
static enum cantor_err make_header(uint64_t n, unsigned branch, const uint8_t parent[32],
                                   const uint8_t root[32], struct cantor_header *h)
{
    struct cantor_buf rlp;
    uint8_t coinbase[32];
    enum cantor_err err;
    int len;

    memset(h, 0, sizeof(*h));
    memcpy(h->parent_hash, parent, 32);
    /* keccak256(rlp([])): no ommers, as after the merge. */
    cantor_keccak256((const uint8_t *)"\xc0", 1, h->ommers_hash);
    tagged_hash("cantor-mock coinbase", 0, 0, coinbase);
    memcpy(h->coinbase, coinbase + 12, 20);
    memcpy(h->state_root, root, 32);
    memcpy(h->tx_root, CANTOR_EMPTY_TRIE_ROOT, 32);
    memcpy(h->receipts_root, CANTOR_EMPTY_TRIE_ROOT, 32);
    h->number = n;
    h->gas_limit = 30000000;
    h->timestamp = n >= SHANGHAI_BLOCK ? SHANGHAI_TIME + 12 * (n - SHANGHAI_BLOCK) : 1438269973u + 13 * n;
    len = branch ? snprintf((char *)h->extra_data, sizeof(h->extra_data), "cantor-mock/b%u", branch)
                 : snprintf((char *)h->extra_data, sizeof(h->extra_data), "cantor-mock");
    h->extra_len = (size_t)len;
    tagged_hash("cantor-mock randao", n, branch, h->mix_hash);
    h->n_fork_fields = CANTOR_HEADER_SHANGHAI;
    h->base_fee[31] = 7; /* 7 wei: the post-London minimum */
    memcpy(h->withdrawals_root, CANTOR_EMPTY_TRIE_ROOT, 32);
    cantor_buf_init(&rlp, CANTOR_HEADER_MAX_RLP);
    err = cantor_header_encode(h, &rlp);
    if (!err)
        cantor_keccak256(rlp.data, rlp.len, h->hash);
    cantor_buf_release(&rlp);
    return err;
}

static void parent_of_first(uint64_t from, uint8_t out[32])
{
    tagged_hash("cantor-mock parent", from ? from - 1 : 0, 0, out);
}

/* Recompute every state and hash from `from` upwards (lock held). */
static enum cantor_err rehash(struct mock_synth *s)
{
    struct cantor_header h;
    struct synth_state st = {0};
    uint8_t parent[32];
    enum cantor_err err = CANTOR_OK;

    for (uint64_t i = 0; !err && i <= s->to - s->from; i++) {
        if (!s->empty[i])
            err = synth_state_apply_geth(&st, s->geth[i]);
        synth_state_release(&s->states[i]);
        if (!err)
            err = synth_state_copy(&st, &s->states[i]);
        if (!err)
            err = synth_state_root(&st, s->root[i]);
    }
    synth_state_release(&st);
    if (err)
        return err;
    parent_of_first(s->from, parent);
    for (uint64_t i = 0; i <= s->to - s->from; i++) {
        err = make_header(s->from + i, s->branch[i], parent, s->root[i], &h);
        if (err)
            return err;
        memcpy(s->hash[i], h.hash, 32);
        memcpy(parent, h.hash, 32);
    }
    return CANTOR_OK;
}

enum cantor_err mock_synth_configure(struct mock_synth *s, uint64_t from, uint64_t to,
                                     enum cantor_mock_synth_format fmt, json_t **geth)
{
    size_t n;
    enum cantor_err err;

    if (to < from || to - from >= SYNTH_MAX_BLOCKS || from == 0 ||
        (fmt != CANTOR_MOCK_SYNTH_PARITY && fmt != CANTOR_MOCK_SYNTH_GETH)) {
        for (uint64_t i = 0; geth && to >= from && i <= to - from && i < SYNTH_MAX_BLOCKS; i++)
            json_decref(geth[i]);
        free(geth);
        return CANTOR_ERR_INVALID;
    }
    n = (size_t)(to - from) + 1;
    pthread_mutex_lock(&s->lock);
    drop_arrays(s);
    s->geth = geth;
    s->on = true; /* drop_arrays() below frees exactly n entries */
    s->from = from;
    s->to = to;
    s->branch = calloc(n, sizeof(*s->branch));
    s->empty = calloc(n, sizeof(*s->empty));
    s->hash = calloc(n, sizeof(*s->hash));
    s->states = calloc(n, sizeof(*s->states));
    s->root = calloc(n, sizeof(*s->root));
    if (!s->branch || !s->empty || !s->hash || !s->states || !s->root) {
        drop_arrays(s);
        pthread_mutex_unlock(&s->lock);
        return CANTOR_ERR_NOMEM;
    }
    s->from = from;
    s->to = to;
    s->head = to;
    s->fmt = fmt;
    s->next_branch = 1;
    s->lie = CANTOR_MOCK_LIE_NONE;
    err = rehash(s);
    if (err)
        drop_arrays(s);
    pthread_mutex_unlock(&s->lock);
    return err;
}

bool mock_synth_active(struct mock_synth *s)
{
    bool on;

    pthread_mutex_lock(&s->lock);
    on = s->on;
    pthread_mutex_unlock(&s->lock);
    return on;
}

void mock_synth_reset(struct mock_synth *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->on) {
        memset(s->branch, 0, (size_t)(s->to - s->from + 1) * sizeof(*s->branch));
        memset(s->empty, 0, (size_t)(s->to - s->from + 1) * sizeof(*s->empty));
        s->head = s->to;
        s->lie = CANTOR_MOCK_LIE_NONE;
        s->next_branch = 1;
        rehash(s); /* cannot fail: it succeeded with the same inputs when configured */
    }
    pthread_mutex_unlock(&s->lock);
}

void mock_synth_set_head(struct mock_synth *s, uint64_t head)
{
    pthread_mutex_lock(&s->lock);
    s->head = head;
    pthread_mutex_unlock(&s->lock);
}

enum cantor_err mock_synth_reorg(struct mock_synth *s, uint64_t depth, enum cantor_mock_synth_diff diffs)
{
    enum cantor_err err = CANTOR_OK;
    uint64_t tip;

    pthread_mutex_lock(&s->lock);
    if (!s->on || depth == 0 || s->head < s->from) {
        err = CANTOR_ERR_INVALID;
        goto out;
    }
    tip = s->head < s->to ? s->head : s->to;
    if (depth > tip - s->from + 1)
        depth = tip - s->from + 1;
    for (uint64_t n = tip - depth + 1; n <= tip; n++) {
        s->branch[n - s->from] = s->next_branch;
        s->empty[n - s->from] = diffs == CANTOR_MOCK_SYNTH_DIFF_EMPTY;
    }
    s->next_branch++;
    err = rehash(s);
out:
    pthread_mutex_unlock(&s->lock);
    return err;
}

enum cantor_err mock_synth_lie(struct mock_synth *s, uint64_t block, enum cantor_mock_synth_lie lie)
{
    enum cantor_err err = CANTOR_OK;

    pthread_mutex_lock(&s->lock);
    if (!s->on || (lie != CANTOR_MOCK_LIE_NONE && (block < s->from || block > s->to)))
        err = CANTOR_ERR_INVALID;
    else {
        s->lie = lie;
        s->lie_block = block;
    }
    pthread_mutex_unlock(&s->lock);
    return err;
}

enum cantor_err mock_synth_hash(struct mock_synth *s, uint64_t n, uint8_t ret_hash[32])
{
    enum cantor_err err = CANTOR_OK;

    pthread_mutex_lock(&s->lock);
    if (!s->on || n < s->from || n > s->to)
        err = CANTOR_ERR_NOT_FOUND;
    else
        memcpy(ret_hash, s->hash[n - s->from], 32);
    pthread_mutex_unlock(&s->lock);
    return err;
}

/* ---- answers ---- */

static enum cantor_err put_hex(json_t *o, const char *key, const uint8_t *bytes, size_t len)
{
    char txt[2 * 256 + 3];

    cantor_hex_encode(bytes, len, txt);
    return json_object_set_new(o, key, json_string(txt)) ? CANTOR_ERR_NOMEM : CANTOR_OK;
}

static enum cantor_err put_qty(json_t *o, const char *key, uint64_t v)
{
    char txt[24];

    snprintf(txt, sizeof(txt), "0x%" PRIx64, v);
    return json_object_set_new(o, key, json_string(txt)) ? CANTOR_ERR_NOMEM : CANTOR_OK;
}

static enum cantor_err put_word(json_t *o, const char *key, const uint8_t w[32])
{
    char txt[67];

    cantor_hex_encode_quantity(w, txt);
    return json_object_set_new(o, key, json_string(txt)) ? CANTOR_ERR_NOMEM : CANTOR_OK;
}

/* eth_getBlockByNumber(n, false)-shaped object; with lie the stateRoot no longer matches "hash". */
static enum cantor_err header_json(const struct cantor_header *h, bool lie, json_t **ret)
{
    json_t *o = json_object();
    uint8_t root[32];
    enum cantor_err err = o ? CANTOR_OK : CANTOR_ERR_NOMEM;

    memcpy(root, h->state_root, 32);
    if (lie)
        root[31] ^= 1;
    if (!err)
        err = put_qty(o, "number", h->number);
    if (!err)
        err = put_hex(o, "hash", h->hash, 32);
    if (!err)
        err = put_hex(o, "parentHash", h->parent_hash, 32);
    if (!err)
        err = put_hex(o, "sha3Uncles", h->ommers_hash, 32);
    if (!err)
        err = put_hex(o, "miner", h->coinbase, 20);
    if (!err)
        err = put_hex(o, "stateRoot", root, 32);
    if (!err)
        err = put_hex(o, "transactionsRoot", h->tx_root, 32);
    if (!err)
        err = put_hex(o, "receiptsRoot", h->receipts_root, 32);
    if (!err)
        err = put_hex(o, "logsBloom", h->logs_bloom, sizeof(h->logs_bloom));
    if (!err)
        err = put_word(o, "difficulty", h->difficulty);
    if (!err)
        err = put_qty(o, "gasLimit", h->gas_limit);
    if (!err)
        err = put_qty(o, "gasUsed", h->gas_used);
    if (!err)
        err = put_qty(o, "timestamp", h->timestamp);
    if (!err)
        err = put_hex(o, "extraData", h->extra_data, h->extra_len);
    if (!err)
        err = put_hex(o, "mixHash", h->mix_hash, 32);
    if (!err)
        err = put_hex(o, "nonce", h->nonce, 8);
    if (!err)
        err = put_word(o, "baseFeePerGas", h->base_fee);
    if (!err)
        err = put_hex(o, "withdrawalsRoot", h->withdrawals_root, 32);
    if (!err && (json_object_set_new(o, "transactions", json_array()) ||
                 json_object_set_new(o, "uncles", json_array()) ||
                 json_object_set_new(o, "withdrawals", json_array())))
        err = CANTOR_ERR_NOMEM;
    if (err) {
        json_decref(o);
        return err;
    }
    *ret = o;
    return CANTOR_OK;
}

static json_t *hex_string(const uint8_t *p, size_t len)
{
    char *t = malloc(2 * len + 3);
    json_t *j;

    if (!t)
        return NULL;
    cantor_hex_encode(p, len, t);
    j = json_string(t);
    free(t);
    return j;
}

static enum cantor_err append_json(struct cantor_buf *b, json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    enum cantor_err err = t ? cantor_buf_printf(b, "\"result\":%s", t) : CANTOR_ERR_NOMEM;

    free(t);
    return err;
}

static enum cantor_err append_error(struct cantor_buf *b, long code, const char *msg)
{
    return cantor_buf_printf(b, "\"error\":{\"code\":%ld,\"message\":\"%s\"}", code, msg);
}

/* A block parameter: a quantity, or "latest" (= head). */
static bool block_param(json_t *v, uint64_t head, uint64_t *ret)
{
    const char *s = json_string_value(v);

    if (s && (!strcmp(s, "latest") || !strcmp(s, "safe") || !strcmp(s, "finalized"))) {
        *ret = head;
        return true;
    }
    return s && cantor_hex_decode_u64(s, ret) == CANTOR_OK;
}

/* Flip the lowest bit of a hex quantity string in place: same length, still canonical. */
static void flip_low_bit(json_t *v)
{
    const char *s = json_string_value(v);
    char *t;
    size_t len;
    int d;

    if (!s || (len = strlen(s)) < 3 || (d = cantor_hex_digit(s[len - 1])) < 0)
        return;
    t = strdup(s);
    if (!t)
        return;
    t[len - 1] = "0123456789abcdef"[d ^ 1];
    json_string_set(v, t);
    free(t);
}

/*
 * The old-value lie: the old balance of every account whose balance changed is off by one, as if
 * the node replayed the block on a state that is not the one its previous block left.
 */
static void lie_old_values(json_t *diff, enum cantor_mock_synth_format fmt)
{
    json_t *tx, *acct;
    const char *addr;
    size_t i;

    json_array_foreach(diff, i, tx)
    {
        if (fmt == CANTOR_MOCK_SYNTH_GETH) {
            json_t *res = json_object_get(tx, "result");
            json_t *pre = json_object_get(res, "pre"), *post = json_object_get(res, "post");

            json_object_foreach(pre, addr, acct)
            {
                if (json_object_get(json_object_get(post, addr), "balance"))
                    flip_low_bit(json_object_get(acct, "balance"));
            }
        } else {
            json_object_foreach(json_object_get(tx, "stateDiff"), addr, acct)
            {
                json_t *star = json_object_get(json_object_get(acct, "balance"), "*");

                flip_low_bit(json_object_get(star, "from"));
            }
        }
    }
}

static enum cantor_err answer_diff(struct mock_synth *s, uint64_t n, const char *recorded,
                                   struct cantor_buf *b)
{
    json_t *diff;
    enum cantor_err err;

    if (n < s->from || n > s->to || n > s->head)
        return append_error(b, -32000, "block not found");
    if (s->empty[n - s->from])
        return cantor_buf_append_str(b, "\"result\":[]");
    if (!recorded)
        return append_error(b, -32602, "no recorded response for these params");
    if (s->lie != CANTOR_MOCK_LIE_OLD_VALUES || s->lie_block != n)
        return cantor_buf_printf(b, "\"result\":%s", recorded);
    diff = json_loads(recorded, 0, NULL);
    if (!diff)
        return CANTOR_ERR_JSON;
    lie_old_values(diff, s->fmt);
    err = append_json(b, diff);
    json_decref(diff);
    return err;
}

static enum cantor_err answer_state(const struct synth_state *st, const uint8_t addr[20], bool proof,
                                    struct cantor_buf *b)
{
    const struct synth_acct *a;
    json_t *o = NULL;
    enum cantor_err err;

    if (proof) {
        err = synth_state_proof_json(st, addr, &o);
        if (!err)
            err = append_json(b, o);
        json_decref(o);
        return err;
    }
    a = synth_state_find(st, addr);
    o = a && a->code_len ? hex_string(a->code, a->code_len) : json_string("0x");
    err = o ? append_json(b, o) : CANTOR_ERR_NOMEM;
    json_decref(o);
    return err;
}

static enum cantor_err answer_block(struct mock_synth *s, uint64_t n, struct cantor_buf *b)
{
    struct cantor_header h;
    uint8_t parent[32];
    json_t *o = NULL;
    enum cantor_err err;

    if (n < s->from || n > s->to || n > s->head)
        return cantor_buf_append_str(b, "\"result\":null");
    if (n == s->from)
        parent_of_first(s->from, parent);
    else
        memcpy(parent, s->hash[n - 1 - s->from], 32);
    err = make_header(n, s->branch[n - s->from], parent, s->root[n - s->from], &h);
    if (!err)
        err = header_json(&h, s->lie == CANTOR_MOCK_LIE_HEADER && s->lie_block == n, &o);
    if (!err)
        err = append_json(b, o);
    json_decref(o);
    return err;
}

enum cantor_err mock_synth_answer(struct mock_synth *s, const char *method, json_t *params,
                                  const char *recorded, struct cantor_buf *b, bool *ret_handled)
{
    enum cantor_err err = CANTOR_OK;
    uint64_t n;

    *ret_handled = false;
    pthread_mutex_lock(&s->lock);
    if (!s->on)
        goto out;
    *ret_handled = true;
    if (!strcmp(method, "eth_chainId")) {
        err = cantor_buf_append_str(b, "\"result\":\"0x1\"");
    } else if (!strcmp(method, "eth_blockNumber")) {
        err = cantor_buf_printf(b, "\"result\":\"0x%" PRIx64 "\"", s->head);
    } else if (!strcmp(method, "eth_getBlockByNumber")) {
        if (!block_param(json_array_get(params, 0), s->head, &n))
            err = append_error(b, -32602, "invalid block number");
        else
            err = answer_block(s, n, b);
    } else if (!strcmp(method, "eth_getProof") || !strcmp(method, "eth_getCode")) {
        bool proof = !strcmp(method, "eth_getProof");
        uint8_t addr[20];

        if (!json_is_string(json_array_get(params, 0)) ||
            cantor_hex_decode_exact(json_string_value(json_array_get(params, 0)), addr, 20) ||
            !block_param(json_array_get(params, proof ? 2 : 1), s->head, &n))
            err = append_error(b, -32602, "invalid params");
        else if (n < s->from || n > s->to || n > s->head)
            err = append_error(b, -32000, "header not found");
        else
            err = answer_state(&s->states[n - s->from], addr, proof, b);
    } else if (!strcmp(method, "trace_replayBlockTransactions") ||
               !strcmp(method, "debug_traceBlockByNumber")) {
        if (strcmp(method, mock_synth_diff_method(s->fmt)) != 0)
            err = append_error(b, -32601, "the method does not exist/is not available");
        else if (!block_param(json_array_get(params, 0), s->head, &n))
            err = append_error(b, -32602, "invalid block number");
        else
            err = answer_diff(s, n, recorded, b);
    } else {
        *ret_handled = false;
    }
out:
    pthread_mutex_unlock(&s->lock);
    return err;
}
