/*
 * test_delta.c - the canonical block delta: both state-diff parsers on every recorded block and
 * transaction in shared/data, cross-format equality (17,073,191/192 as Parity stateDiff and as geth
 * prestateTracer diffMode), geth fixtures checked against their genesis pre-state, the strict
 * binary encoding (round trips, every prefix, trailing bytes, non-canonical forms) and JSON lines.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/delta.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "testutil.h"

#define ERIGON "erigon-rpc-tests/mainnet/"

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted file names (*.json) of a shared-data folder; caller frees with free_names(). */
static char **list_json(const char *rel, size_t *ret_n)
{
    char dirpath[4096];
    DIR *dir;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;

    snprintf(dirpath, sizeof(dirpath), "%s", tu_data_path(rel));
    dir = opendir(dirpath);
    ck_assert_msg(dir != NULL, "cannot open %s", dirpath);
    while ((de = readdir(dir)) != NULL) {
        size_t l = strlen(de->d_name);

        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        ck_assert(names != NULL);
        names[n] = malloc(strlen(rel) + l + 2);
        ck_assert(names[n] != NULL);
        snprintf(names[n], strlen(rel) + l + 2, "%s/%s", rel, de->d_name);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof(*names), cmp_str_ptr);
    *ret_n = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static enum cantor_err load(const char *rel, enum cantor_delta_format *fmt, struct cantor_delta **ret)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s", tu_data_path(rel));
    return cantor_delta_load_recorded_ex(path, fmt, ret);
}

static void encode(const struct cantor_delta *d, struct cantor_buf *b)
{
    cantor_buf_init(b, 0);
    ck_assert_int_eq(cantor_delta_encode(d, b), CANTOR_OK);
}

/* decode(encode(d)) re-encodes to the same bytes; entries sorted and distinct; finish idempotent. */
static void check_canonical(struct cantor_delta *d, const char *what)
{
    struct cantor_buf a, b;
    struct cantor_delta *back = NULL;

    for (size_t i = 1; i < d->n_entries; i++)
        ck_assert_msg(cantor_delta_entry_cmp(&d->entries[i - 1], &d->entries[i]) < 0, "%s: unsorted", what);
    for (size_t i = 0; i < d->n_entries; i++)
        ck_assert(memcmp(d->entries[i].old_val, d->entries[i].new_val, CANTOR_WORD_LEN) != 0);
    encode(d, &a);
    ck_assert_int_eq(cantor_delta_decode(a.data, a.len, &back), CANTOR_OK);
    ck_assert_uint_eq(back->n_entries, d->n_entries);
    ck_assert_uint_eq(back->n_codes, d->n_codes);
    ck_assert_uint_eq(back->block_number, d->block_number);
    encode(back, &b);
    ck_assert_msg(a.len == b.len && memcmp(a.data, b.data, a.len) == 0, "%s: round trip differs", what);
    ck_assert_int_eq(cantor_delta_finish(back), CANTOR_OK);
    cantor_buf_reset(&b);
    ck_assert_int_eq(cantor_delta_encode(back, &b), CANTOR_OK);
    ck_assert_msg(a.len == b.len && memcmp(a.data, b.data, a.len) == 0, "%s: finish not idempotent", what);
    cantor_delta_free(back);
    cantor_buf_release(&a);
    cantor_buf_release(&b);
}

static uint64_t request_block(const char *rel)
{
    json_t *j = tu_load_json(rel);
    const char *p = json_string_value(
        json_array_get(json_object_get(json_object_get(json_array_get(j, 0), "request"), "params"), 0));
    uint64_t n = 0;

    ck_assert(p != NULL);
    ck_assert_int_eq(cantor_hex_decode_u64(p, &n), CANTOR_OK);
    json_decref(j);
    return n;
}

static void check_block_folder(const char *rel, enum cantor_delta_format want, size_t min_files)
{
    size_t n, total = 0;
    char **names = list_json(rel, &n);

    ck_assert_uint_ge(n, min_files);
    for (size_t i = 0; i < n; i++) {
        struct cantor_delta *d = NULL;
        enum cantor_delta_format fmt = 0;
        enum cantor_err err = load(names[i], &fmt, &d);

        ck_assert_msg(err == CANTOR_OK, "%s: %s", names[i], cantor_err_str(err));
        ck_assert_int_eq(fmt, want);
        ck_assert_uint_eq(d->block_number, request_block(names[i]));
        ck_assert_msg(d->n_entries > 0, "%s: empty delta", names[i]);
        check_canonical(d, names[i]);
        total += d->n_entries;
        cantor_delta_free(d);
    }
    printf("%s: %zu blocks, %zu entries\n", rel, n, total);
    free_names(names, n);
}

START_TEST(test_parity_blocks)
{
    check_block_folder(ERIGON "trace_replayBlockTransactions", CANTOR_DELTA_FORMAT_PARITY, 27);
}
END_TEST

START_TEST(test_geth_blocks)
{
    check_block_folder(ERIGON "debug_traceBlockByNumber", CANTOR_DELTA_FORMAT_GETH, 3);
}
END_TEST

/* Single transactions: all parse except those recorded without a state diff. */
static void check_tx_folder(const char *rel, enum cantor_delta_format want, const char *const *no_diff)
{
    size_t n, ok = 0, unsupported = 0;
    char **names = list_json(rel, &n);

    for (size_t i = 0; i < n; i++) {
        struct cantor_delta *d = NULL;
        enum cantor_delta_format fmt = 0;
        enum cantor_err err = load(names[i], &fmt, &d);
        bool expect_fail = false;

        for (size_t k = 0; no_diff[k]; k++)
            if (strstr(names[i], no_diff[k]))
                expect_fail = true;
        if (expect_fail) {
            ck_assert_msg(err == CANTOR_ERR_UNSUPPORTED, "%s: %s", names[i], cantor_err_str(err));
            unsupported++;
            continue;
        }
        ck_assert_msg(err == CANTOR_OK, "%s: %s", names[i], cantor_err_str(err));
        ck_assert_int_eq(fmt, want);
        check_canonical(d, names[i]);
        ok++;
        cantor_delta_free(d);
    }
    printf("%s: %zu parsed, %zu without state diff\n", rel, ok, unsupported);
    ck_assert_uint_gt(ok, 0);
    free_names(names, n);
}

START_TEST(test_single_transactions)
{
    static const char *const parity_none[] = {"test_49.json", "test_50.json", "test_51.json", NULL};
    static const char *const geth_none[] = {"test_151.json", NULL}; /* diffMode false */

    check_tx_folder(ERIGON "trace_replayTransaction", CANTOR_DELTA_FORMAT_PARITY, parity_none);
    check_tx_folder(ERIGON "debug_traceTransaction", CANTOR_DELTA_FORMAT_GETH, geth_none);
}
END_TEST

START_TEST(test_cross_format)
{
    static const char *const pairs[][2] = {
        {ERIGON "trace_replayBlockTransactions/test_37.json", ERIGON "debug_traceBlockByNumber/test_32.json"},
        {ERIGON "trace_replayBlockTransactions/test_38.json", ERIGON "debug_traceBlockByNumber/test_33.json"},
    };

    for (size_t i = 0; i < 2; i++) {
        struct cantor_delta *p = NULL, *g = NULL;
        struct cantor_buf pb, gb;

        ck_assert_int_eq(load(pairs[i][0], NULL, &p), CANTOR_OK);
        ck_assert_int_eq(load(pairs[i][1], NULL, &g), CANTOR_OK);
        encode(p, &pb);
        encode(g, &gb);
        printf("block %llu: parity %zu entries %zu codes %zu bytes, geth %zu entries %zu codes %zu bytes\n",
               (unsigned long long)p->block_number, p->n_entries, p->n_codes, pb.len, g->n_entries,
               g->n_codes, gb.len);
        ck_assert_uint_eq(p->block_number, g->block_number);
        ck_assert_uint_eq(p->n_entries, g->n_entries);
        ck_assert_msg(pb.len == gb.len && memcmp(pb.data, gb.data, pb.len) == 0, "block %llu differs",
                      (unsigned long long)p->block_number);
        cantor_buf_release(&pb);
        cantor_buf_release(&gb);
        cantor_delta_free(p);
        cantor_delta_free(g);
    }
}
END_TEST

/* IncludeWithdrawals (test_39/40) adds exactly the withdrawal balance credits, nothing else. */
START_TEST(test_withdrawals_extra)
{
    static const char *const pairs[][2] = {
        {ERIGON "trace_replayBlockTransactions/test_39.json",
         ERIGON "trace_replayBlockTransactions/test_37.json"},
        {ERIGON "trace_replayBlockTransactions/test_40.json",
         ERIGON "trace_replayBlockTransactions/test_38.json"},
    };

    for (size_t i = 0; i < 2; i++) {
        struct cantor_delta *w = NULL, *p = NULL;
        size_t extra = 0;

        ck_assert_int_eq(load(pairs[i][0], NULL, &w), CANTOR_OK);
        ck_assert_int_eq(load(pairs[i][1], NULL, &p), CANTOR_OK);
        for (size_t k = 0; k < w->n_entries; k++) {
            const struct cantor_delta_entry *hit =
                bsearch(&w->entries[k], p->entries, p->n_entries, sizeof(*p->entries),
                        (int (*)(const void *, const void *))cantor_delta_entry_cmp);

            if (!hit) {
                ck_assert_int_eq(w->entries[k].kind, CANTOR_KIND_BALANCE);
                ck_assert(memcmp(w->entries[k].new_val, w->entries[k].old_val, CANTOR_WORD_LEN) > 0);
                extra++;
            }
        }
        ck_assert_uint_eq(w->n_entries, p->n_entries + extra);
        ck_assert_uint_ge(extra, 1);
        cantor_delta_free(w);
        cantor_delta_free(p);
    }
}
END_TEST

/* Per-transaction Parity diffs chain: each tx's old value is the previous tx's new value. */
START_TEST(test_parity_chaining)
{
    size_t n, checked = 0;
    char **names = list_json(ERIGON "trace_replayBlockTransactions", &n);

    for (size_t f = 0; f < n; f++) {
        json_t *j = tu_load_json(names[f]);
        json_t *res = json_object_get(json_object_get(json_array_get(j, 0), "response"), "result");
        struct cantor_delta *all = NULL;
        struct cantor_delta_entry *e;
        size_t m = 0;

        ck_assert_int_eq(cantor_delta_new(0, &all), CANTOR_OK);
        for (size_t t = 0; t < json_array_size(res); t++) {
            struct cantor_delta *one = NULL;

            ck_assert_int_eq(cantor_delta_from_parity(json_array_get(res, t), 0, &one), CANTOR_OK);
            for (size_t k = 0; k < one->n_entries; k++)
                ck_assert_int_eq(cantor_delta_add(all, &one->entries[k]), CANTOR_OK);
            cantor_delta_free(one);
        }
        /* all holds per-tx entries in tx order; sort stably by key via (key, index) */
        m = all->n_entries;
        e = all->entries;
        for (size_t a = 0; a < m; a++) {
            for (size_t b = a + 1; b < m; b++) {
                if (cantor_delta_entry_cmp(&e[a], &e[b]) != 0)
                    continue;
                /* the next write of the same key must start where this one ended */
                ck_assert_msg(memcmp(e[a].new_val, e[b].old_val, CANTOR_WORD_LEN) == 0, "%s: broken chain",
                              names[f]);
                checked++;
                break;
            }
        }
        cantor_delta_free(all);
        json_decref(j);
    }
    printf("parity chaining: %zu consecutive writes checked\n", checked);
    ck_assert_uint_gt(checked, 100);
    free_names(names, n);
}
END_TEST

static const struct cantor_delta_entry *find(const struct cantor_delta *d,
                                             const struct cantor_delta_entry *key)
{
    return bsearch(key, d->entries, d->n_entries, sizeof(*d->entries),
                   (int (*)(const void *, const void *))cantor_delta_entry_cmp);
}

/* genesis alloc value of (addr, kind, slot); nonces there are decimal or hex strings. */
static void alloc_value(json_t *alloc, const struct cantor_delta_entry *key, uint8_t out[32])
{
    char addr[2 * CANTOR_ADDR_LEN + 3];
    json_t *acct = NULL, *v;
    const char *k;

    cantor_hex_encode(key->addr, CANTOR_ADDR_LEN, addr);
    json_object_foreach(alloc, k, v) if (strcasecmp(k, addr) == 0) acct = v;
    memset(out, 0, 32);
    if (key->kind == CANTOR_KIND_CODE)
        memcpy(out, CANTOR_KECCAK_EMPTY, 32);
    if (!acct)
        return;
    if (key->kind == CANTOR_KIND_BALANCE && json_object_get(acct, "balance")) {
        ck_assert_int_eq(cantor_hex_decode_word(json_string_value(json_object_get(acct, "balance")), out), 0);
    } else if (key->kind == CANTOR_KIND_NONCE && json_object_get(acct, "nonce")) {
        const char *s = json_string_value(json_object_get(acct, "nonce"));

        if (s[0] == '0' && s[1] == 'x') {
            ck_assert_int_eq(cantor_hex_decode_word(s, out), 0);
        } else {
            unsigned long long x = strtoull(s, NULL, 10);

            for (int i = 0; i < 8; i++)
                out[31 - i] = (uint8_t)(x >> (8 * i));
        }
    } else if (key->kind == CANTOR_KIND_CODE && json_object_get(acct, "code")) {
        uint8_t *code;
        size_t len;

        ck_assert_int_eq(
            cantor_hex_decode_alloc(json_string_value(json_object_get(acct, "code")), &code, &len), 0);
        cantor_keccak256(code, len, out);
        free(code);
    } else if (key->kind == CANTOR_KIND_STORAGE && json_object_get(acct, "storage")) {
        char slot[67];

        cantor_hex_encode(key->slot, 32, slot);
        json_object_foreach(json_object_get(acct, "storage"), k, v) if (strcasecmp(k, slot) == 0)
            ck_assert_int_eq(cantor_hex_decode_word(json_string_value(v), out), 0);
    }
}

/* Value of key after the transaction: the entry's new value, else unchanged from genesis. */
static void after_value(const struct cantor_delta *d, json_t *alloc, const struct cantor_delta_entry *key,
                        uint8_t out[32])
{
    const struct cantor_delta_entry *e = find(d, key);

    if (e)
        memcpy(out, e->new_val, 32);
    else
        alloc_value(alloc, key, out);
}

static void check_post_field(const struct cantor_delta *d, json_t *alloc, struct cantor_delta_entry *key,
                             json_t *want, const char *what)
{
    uint8_t got[32], exp[32];

    after_value(d, alloc, key, got);
    ck_assert_int_eq(cantor_delta_json_word(want, exp), 0);
    ck_assert_msg(memcmp(got, exp, 32) == 0, "%s: post value differs", what);
}

START_TEST(test_geth_fixtures)
{
    size_t n, n_entries = 0;
    char **names = list_json("geth-tracetest/prestate_tracer_with_diff_mode", &n);

    ck_assert_uint_ge(n, 13);
    for (size_t f = 0; f < n; f++) {
        json_t *j = tu_load_json(names[f]);
        json_t *alloc = json_object_get(json_object_get(j, "genesis"), "alloc");
        json_t *post = json_object_get(json_object_get(j, "result"), "post");
        json_t *pre = json_object_get(json_object_get(j, "result"), "pre");
        struct cantor_delta *d = NULL;
        enum cantor_delta_format fmt = 0;
        json_t *acct;
        const char *addr;

        ck_assert_int_eq(cantor_delta_from_recorded(j, &fmt, &d), CANTOR_OK);
        ck_assert_int_eq(fmt, CANTOR_DELTA_FORMAT_GETH);
        ck_assert_uint_eq(
            d->block_number,
            strtoull(json_string_value(json_object_get(json_object_get(j, "context"), "number")), NULL, 10));
        check_canonical(d, names[f]);
        /* every old value is the genesis (pre-transaction) state: pre + diff are consistent */
        for (size_t i = 0; i < d->n_entries; i++) {
            uint8_t want[32];

            alloc_value(alloc, &d->entries[i], want);
            ck_assert_msg(memcmp(want, d->entries[i].old_val, 32) == 0,
                          "%s: entry %zu old value is not genesis", names[f], i);
        }
        /* every value geth reports in post is the value after the delta */
        json_object_foreach(post, addr, acct)
        {
            struct cantor_delta_entry key;
            json_t *v, *st = json_object_get(acct, "storage");
            const char *slot;

            memset(&key, 0, sizeof(key));
            ck_assert_int_eq(cantor_delta_json_addr(addr, key.addr), 0);
            if ((v = json_object_get(acct, "balance")) != NULL) {
                key.kind = CANTOR_KIND_BALANCE;
                check_post_field(d, alloc, &key, v, names[f]);
            }
            if ((v = json_object_get(acct, "nonce")) != NULL) {
                key.kind = CANTOR_KIND_NONCE;
                check_post_field(d, alloc, &key, v, names[f]);
            }
            key.kind = CANTOR_KIND_STORAGE;
            json_object_foreach(st, slot, v)
            {
                ck_assert_int_eq(cantor_hex_decode_word(slot, key.slot), 0);
                check_post_field(d, alloc, &key, v, names[f]);
            }
        }
        /* accounts in pre but not in post self-destructed: nothing left */
        json_object_foreach(pre, addr, acct)
        {
            struct cantor_delta_entry key;
            uint8_t got[32];

            if (json_object_get(post, addr))
                continue;
            memset(&key, 0, sizeof(key));
            ck_assert_int_eq(cantor_delta_json_addr(addr, key.addr), 0);
            for (uint8_t k = 0; k < CANTOR_KIND_STORAGE; k++) {
                key.kind = k;
                after_value(d, alloc, &key, got);
                if (k == CANTOR_KIND_CODE)
                    ck_assert(memcmp(got, CANTOR_KECCAK_EMPTY, 32) == 0);
                else
                    for (int b = 0; b < 32; b++)
                        ck_assert_uint_eq(got[b], 0);
            }
        }
        n_entries += d->n_entries;
        cantor_delta_free(d);
        json_decref(j);
    }
    printf("geth diffMode fixtures: %zu files, %zu entries, all consistent with genesis\n", n, n_entries);
    free_names(names, n);
}
END_TEST

START_TEST(test_geth_selfdestruct)
{
    json_t *j = tu_load_json("geth-tracetest/prestate_tracer_with_diff_mode/suicide.json");
    struct cantor_delta *d = NULL;
    struct cantor_delta_entry key;
    const struct cantor_delta_entry *e;

    ck_assert_int_eq(cantor_delta_from_recorded(j, NULL, &d), CANTOR_OK);
    memset(&key, 0, sizeof(key));
    ck_assert_int_eq(cantor_delta_json_addr("0x2861bf89b6c640c79040d357c1e9513693ef5d3f", key.addr), 0);
    key.kind = CANTOR_KIND_CODE;
    e = find(d, &key);
    ck_assert(e != NULL);
    ck_assert(memcmp(e->new_val, CANTOR_KECCAK_EMPTY, 32) == 0);
    key.kind = CANTOR_KIND_STORAGE;
    key.slot[31] = 1;
    e = find(d, &key);
    ck_assert(e != NULL);
    ck_assert_uint_eq(e->old_val[31], 0xb9);
    for (int b = 0; b < 32; b++)
        ck_assert_uint_eq(e->new_val[b], 0);
    cantor_delta_free(d);
    json_decref(j);
}
END_TEST

START_TEST(test_non_diff_prestate)
{
    size_t n;
    char **names = list_json("geth-tracetest/prestate_tracer", &n);

    for (size_t f = 0; f < n; f++) {
        struct cantor_delta *d = NULL;

        ck_assert_int_eq(load(names[f], NULL, &d), CANTOR_ERR_UNSUPPORTED);
        ck_assert(d == NULL);
    }
    free_names(names, n);
}
END_TEST

/* Build a delta by hand: merging keeps the first old and the last new value, drops no-ops. */
START_TEST(test_finish_merge)
{
    struct cantor_delta *d = NULL;
    struct cantor_delta_entry e;
    uint8_t code[3] = {0x60, 0x00, 0x00}, h[32];

    ck_assert_int_eq(cantor_delta_new(7, &d), CANTOR_OK);
    memset(&e, 0, sizeof(e));
    e.addr[19] = 2;
    e.kind = CANTOR_KIND_STORAGE;
    e.slot[31] = 5;
    e.old_val[31] = 1;
    e.new_val[31] = 2;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    e.old_val[31] = 2;
    e.new_val[31] = 3;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK); /* same key, later tx */
    e.addr[19] = 1;
    e.kind = CANTOR_KIND_BALANCE;
    memset(e.slot, 0, 32);
    e.old_val[31] = 9;
    e.new_val[31] = 8;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    e.old_val[31] = 8;
    e.new_val[31] = 9;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK); /* back where it started: dropped */
    e.kind = CANTOR_KIND_CODE;
    memcpy(e.old_val, CANTOR_KECCAK_EMPTY, 32);
    cantor_keccak256(code, sizeof(code), h);
    memcpy(e.new_val, h, 32);
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_add_code(d, h, code, sizeof(code)), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_add_code(d, h, code, sizeof(code)), CANTOR_OK); /* duplicate ignored */
    ck_assert_int_eq(cantor_delta_add_code(d, CANTOR_KECCAK_EMPTY, NULL, 0), CANTOR_OK);
    e.slot[0] = 1; /* slot on a non-storage key */
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_ERR_INVALID);
    e.kind = 4;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    ck_assert_uint_eq(d->n_entries, 2);
    ck_assert_uint_eq(d->entries[0].addr[19], 1);
    ck_assert_uint_eq(d->entries[0].kind, CANTOR_KIND_CODE);
    ck_assert_uint_eq(d->entries[1].kind, CANTOR_KIND_STORAGE);
    ck_assert_uint_eq(d->entries[1].old_val[31], 1);
    ck_assert_uint_eq(d->entries[1].new_val[31], 3);
    ck_assert_uint_eq(d->n_codes, 1); /* the empty code is never kept */
    check_canonical(d, "hand-built");
    cantor_delta_free(d);
    cantor_delta_free(NULL);
}
END_TEST

static void encoded_block(const char *rel, struct cantor_buf *b)
{
    struct cantor_delta *d = NULL;

    ck_assert_int_eq(load(rel, NULL, &d), CANTOR_OK);
    encode(d, b);
    cantor_delta_free(d);
}

START_TEST(test_decode_prefixes_and_trailing)
{
    struct cantor_buf b;
    struct cantor_delta *d = NULL;
    uint8_t *copy;

    /* 17,073,191 has a code blob, so the prefixes cut through every part of the layout */
    encoded_block(ERIGON "trace_replayBlockTransactions/test_37.json", &b);
    for (size_t len = 0; len < b.len; len++) {
        d = NULL;
        ck_assert_msg(cantor_delta_decode(b.data, len, &d) != CANTOR_OK, "prefix %zu decoded", len);
        ck_assert(d == NULL);
    }
    copy = malloc(b.len + 1);
    memcpy(copy, b.data, b.len);
    copy[b.len] = 0;
    ck_assert_int_eq(cantor_delta_decode(copy, b.len + 1, &d), CANTOR_ERR_CORRUPT);
    copy[0] = 'X';
    ck_assert_int_eq(cantor_delta_decode(copy, b.len, &d), CANTOR_ERR_CORRUPT);
    copy[0] = 'C';
    copy[4] = 2;
    ck_assert_int_eq(cantor_delta_decode(copy, b.len, &d), CANTOR_ERR_UNSUPPORTED);
    copy[4] = 1;
    copy[b.len - 1] ^= 1; /* last code byte: hash no longer matches */
    ck_assert_int_eq(cantor_delta_decode(copy, b.len, &d), CANTOR_ERR_CHECKSUM);
    free(copy);
    cantor_buf_release(&b);
}
END_TEST

/* Two deltas back to back (a multi-block chunk's content): the prefix decoder finds each one's end;
 * a cut anywhere inside the first fails, and the whole decoder still refuses the pair. */
START_TEST(test_decode_prefix_concatenated)
{
    struct cantor_buf a, b, cat;
    struct cantor_delta *d = NULL;
    size_t used = 0;

    encoded_block(ERIGON "trace_replayBlockTransactions/test_37.json", &a);
    encoded_block(ERIGON "trace_replayBlockTransactions/test_05.json", &b);
    cantor_buf_init(&cat, 0);
    ck_assert_int_eq(cantor_buf_append(&cat, a.data, a.len), CANTOR_OK);
    ck_assert_int_eq(cantor_buf_append(&cat, b.data, b.len), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_decode_prefix(cat.data, cat.len, &used, &d), CANTOR_OK);
    ck_assert_uint_eq(used, a.len);
    ck_assert_uint_eq(d->block_number, 17073191);
    cantor_delta_free(d);
    d = NULL;
    ck_assert_int_eq(cantor_delta_decode_prefix(cat.data + used, cat.len - used, &used, &d), CANTOR_OK);
    ck_assert_uint_eq(used, b.len);
    cantor_delta_free(d);
    d = NULL;
    for (size_t len = 0; len < a.len; len += 97)
        ck_assert_int_ne(cantor_delta_decode_prefix(cat.data, len, &used, &d), CANTOR_OK);
    ck_assert(d == NULL);
    ck_assert_int_eq(cantor_delta_decode(cat.data, cat.len, &d), CANTOR_ERR_CORRUPT);
    ck_assert_int_eq(cantor_delta_decode_prefix(cat.data, cat.len, NULL, &d), CANTOR_ERR_INVALID);
    cantor_buf_release(&a);
    cantor_buf_release(&b);
    cantor_buf_release(&cat);
}
END_TEST

/* Every single-bit flip of a real encoding either fails or decodes to something that re-encodes
 * to the flipped bytes: the decoder accepts only canonical input and never crashes. */
START_TEST(test_decode_bit_flips)
{
    struct cantor_buf b;
    size_t accepted = 0;

    encoded_block(ERIGON "trace_replayBlockTransactions/test_02.json", &b);
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            struct cantor_delta *d = NULL;
            struct cantor_buf r;

            b.data[i] ^= (uint8_t)(1 << bit);
            if (cantor_delta_decode(b.data, b.len, &d) == CANTOR_OK) {
                encode(d, &r);
                ck_assert(r.len == b.len && memcmp(r.data, b.data, b.len) == 0);
                cantor_buf_release(&r);
                cantor_delta_free(d);
                accepted++;
            }
            b.data[i] ^= (uint8_t)(1 << bit);
        }
    }
    printf("bit flips: %zu of %zu decoded (and re-encoded identically)\n", accepted, b.len * 8);
    cantor_buf_release(&b);
}
END_TEST

static enum cantor_err decode_hex(const char *hex)
{
    uint8_t *buf;
    size_t len;
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    ck_assert_int_eq(cantor_hex_decode_alloc(hex, &buf, &len), CANTOR_OK);
    err = cantor_delta_decode(buf, len, &d);
    cantor_delta_free(d);
    free(buf);
    return err;
}

#define HDR   "43444c540100000000000000ff" /* "CDLT", v1, block 255 */
#define ADDR1 "0000000000000000000000000000000000000001"
#define ADDR2 "0000000000000000000000000000000000000002"

START_TEST(test_decode_non_canonical)
{
    ck_assert_int_eq(decode_hex(HDR "0000"), CANTOR_OK); /* empty delta */
    ck_assert_int_eq(decode_hex(HDR "01" ADDR1 "00"
                                    "0101"
                                    "00"
                                    "00"),
                     CANTOR_OK); /* balance 1 -> 0 */
    /* the same with a non-minimal value (leading zero byte) */
    ck_assert_int_eq(decode_hex(HDR "01" ADDR1 "00"
                                    "020001"
                                    "00"
                                    "00"),
                     CANTOR_ERR_CORRUPT);
    /* value longer than a word */
    ck_assert_int_eq(decode_hex(HDR "01" ADDR1 "00"
                                    "21"
                                    "00"),
                     CANTOR_ERR_CORRUPT);
    /* old == new */
    ck_assert_int_eq(decode_hex(HDR "01" ADDR1 "00"
                                    "0101"
                                    "0101"
                                    "00"),
                     CANTOR_ERR_CORRUPT);
    /* unknown kind */
    ck_assert_int_eq(decode_hex(HDR "01" ADDR1 "04"
                                    "0101"
                                    "00"
                                    "00"),
                     CANTOR_ERR_CORRUPT);
    /* unsorted and duplicate keys */
    ck_assert_int_eq(decode_hex(HDR "02" ADDR2 "00"
                                    "0101"
                                    "00" ADDR1 "00"
                                    "0101"
                                    "00"
                                    "00"),
                     CANTOR_ERR_CORRUPT);
    ck_assert_int_eq(decode_hex(HDR "02" ADDR1 "00"
                                    "0101"
                                    "00" ADDR1 "00"
                                    "0102"
                                    "00"
                                    "00"),
                     CANTOR_ERR_CORRUPT);
    ck_assert_int_eq(decode_hex(HDR "02" ADDR1 "00"
                                    "0101"
                                    "00" ADDR2 "00"
                                    "0101"
                                    "00"
                                    "00"),
                     CANTOR_OK);
    /* non-minimal LEB128 count, and a count larger than the input */
    ck_assert_int_eq(decode_hex(HDR "8000"
                                    "00"),
                     CANTOR_ERR_CORRUPT);
    ck_assert_int_eq(decode_hex(HDR "ffffff01"
                                    "00"),
                     CANTOR_ERR_TRUNCATED);
    ck_assert_int_eq(decode_hex(HDR "ffffffffffffffffffff01"), CANTOR_ERR_OVERFLOW);
    /* a code blob that no entry uses */
    ck_assert_int_eq(
        decode_hex(HDR "00"
                       "01"
                       "bc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a" /* keccak(00) */
                       "0100"),
        CANTOR_ERR_CORRUPT);
    /* the same blob used by a CODE entry is fine */
    ck_assert_int_eq(decode_hex(HDR "01" ADDR1 "02"
                                    "20c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
                                    "20bc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a"
                                    "01"
                                    "bc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a"
                                    "0100"),
                     CANTOR_OK);
    ck_assert_int_eq(cantor_delta_decode(NULL, 0, NULL), CANTOR_ERR_INVALID);
}
END_TEST

START_TEST(test_encode_rejects_unfinished)
{
    struct cantor_delta *d = NULL;
    struct cantor_delta_entry e;
    struct cantor_buf b;

    cantor_buf_init(&b, 0);
    ck_assert_int_eq(cantor_delta_new(1, &d), CANTOR_OK);
    memset(&e, 0, sizeof(e));
    e.addr[0] = 2;
    e.new_val[31] = 1;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    e.addr[0] = 1;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_encode(d, &b), CANTOR_ERR_INVALID); /* unsorted */
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_encode(d, &b), CANTOR_OK);
    cantor_buf_release(&b);
    cantor_buf_init(&b, 20); /* the buffer's limit applies */
    ck_assert_int_eq(cantor_delta_encode(d, &b), CANTOR_ERR_TOO_LARGE);
    cantor_buf_release(&b);
    cantor_delta_free(d);
}
END_TEST

struct bad_json {
    const char *json;
    enum cantor_err err;
};

START_TEST(test_parity_malformed)
{
    static const struct bad_json cases[] = {
        {"5", CANTOR_ERR_JSON},
        {"[1]", CANTOR_ERR_JSON},
        {"[{\"stateDiff\":null}]", CANTOR_ERR_UNSUPPORTED},
        {"[{\"stateDiff\":[]}]", CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x01\":{\"balance\":\"=\"}}}", CANTOR_ERR_HEX},
        {"{\"stateDiff\":{\"0x000000000000000000000000000000000000000g\":{}}}", CANTOR_ERR_HEX},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":[]}}", CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":\"?\"}}}",
         CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"/\":\"0x1\"}}}}",
         CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"+\":\"0x1\",\"-\":"
         "\"0x1\"}}}}",
         CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"+\":\"0xzz\"}}}}",
         CANTOR_ERR_HEX},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"+\":7}}}}",
         CANTOR_OK},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"+\":true}}}}",
         CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"*\":{\"from\":"
         "\"0x1\"}}}}}",
         CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"*\":\"0x1\"}}}}",
         CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":{\"+\":\"0x1"
         "0000000000000000000000000000000000000000000000000000000000000000\"}}}}",
         CANTOR_ERR_TOO_LARGE},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"code\":{\"+\":\"0x123\"}}}}",
         CANTOR_ERR_HEX},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"storage\":[]}}}",
         CANTOR_ERR_JSON},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"storage\":{\"0xq\":{\"+\":"
         "\"0x1\"}}}}}",
         CANTOR_ERR_HEX},
        {"{\"stateDiff\":{\"0x0000000000000000000000000000000000000001\":{\"storage\":{\"0x1\":{\"+\":"
         "\"0x1\"}}}}}",
         CANTOR_OK},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t jerr;
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
        struct cantor_delta *d = NULL;
        enum cantor_err err;

        ck_assert_msg(j != NULL, "case %zu: %s", i, jerr.text);
        err = cantor_delta_from_parity(j, 1, &d);
        ck_assert_msg(err == cases[i].err, "case %zu: got %s", i, cantor_err_str(err));
        ck_assert(err == CANTOR_OK || d == NULL);
        cantor_delta_free(d);
        json_decref(j);
    }
}
END_TEST

START_TEST(test_geth_malformed)
{
    static const struct bad_json cases[] = {
        {"\"x\"", CANTOR_ERR_JSON},
        {"[5]", CANTOR_ERR_JSON},
        {"[{\"txHash\":\"0x1\",\"error\":\"execution timeout\"}]", CANTOR_ERR_RPC},
        {"[{\"txHash\":\"0x1\",\"result\":7}]", CANTOR_ERR_JSON},
        {"{\"0x0000000000000000000000000000000000000001\":{\"balance\":\"0x1\"}}", CANTOR_ERR_UNSUPPORTED},
        {"{\"pre\":[],\"post\":{}}", CANTOR_ERR_JSON},
        {"{\"pre\":{\"0x01\":{}},\"post\":{}}", CANTOR_ERR_HEX},
        {"{\"pre\":{\"0x0000000000000000000000000000000000000001\":5},\"post\":{}}", CANTOR_ERR_JSON},
        {"{\"pre\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":\"0xg\"}},\"post\":{}}",
         CANTOR_ERR_HEX},
        {"{\"pre\":{\"0x0000000000000000000000000000000000000001\":{\"nonce\":-1}},\"post\":{}}",
         CANTOR_ERR_INVALID},
        {"{\"pre\":{\"0x0000000000000000000000000000000000000001\":{\"nonce\":1.5}},\"post\":{}}",
         CANTOR_ERR_JSON},
        {"{\"pre\":{\"0x0000000000000000000000000000000000000001\":{\"code\":\"0x60\",\"codeHash\":"
         "\"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\"}},\"post\":{}}",
         CANTOR_ERR_MISMATCH},
        {"{\"pre\":{},\"post\":{\"0x0000000000000000000000000000000000000001\":{\"codeHash\":\"0x12\"}}}",
         CANTOR_ERR_TRUNCATED},
        {"{\"pre\":{},\"post\":{\"0x0000000000000000000000000000000000000001\":{\"storage\":5}}}",
         CANTOR_ERR_JSON},
        {"{\"pre\":{},\"post\":{\"0x0000000000000000000000000000000000000001\":{\"storage\":{\"0x1\":5}}}}",
         CANTOR_OK},
        {"{\"pre\":{},\"post\":{\"0x0000000000000000000000000000000000000001\":{\"storage\":{\"0x1\":[]}}}}",
         CANTOR_ERR_JSON},
        {"{\"pre\":{},\"post\":{\"0x0000000000000000000000000000000000000001\":{\"balance\":\"0x5\"}}}",
         CANTOR_OK},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t jerr;
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
        struct cantor_delta *d = NULL;
        enum cantor_err err;

        ck_assert_msg(j != NULL, "case %zu: %s", i, jerr.text);
        err = cantor_delta_from_geth(j, 1, &d);
        ck_assert_msg(err == cases[i].err, "case %zu: got %s", i, cantor_err_str(err));
        ck_assert(err == CANTOR_OK || d == NULL);
        cantor_delta_free(d);
        json_decref(j);
    }
}
END_TEST

/* JSON lines round trip for every recorded block; they rebuild the same canonical bytes. */
START_TEST(test_json_lines_roundtrip)
{
    size_t n;
    char **names = list_json(ERIGON "trace_replayBlockTransactions", &n);

    for (size_t f = 0; f < n; f++) {
        struct cantor_delta *d = NULL, *back = NULL;
        struct cantor_buf lines, a, b;
        char hdr[64];
        int hl;

        ck_assert_int_eq(load(names[f], NULL, &d), CANTOR_OK);
        cantor_buf_init(&lines, 0);
        hl = snprintf(hdr, sizeof(hdr), "{\"block\":%llu}\n\n", (unsigned long long)d->block_number);
        ck_assert_int_eq(cantor_buf_append(&lines, hdr, (size_t)hl), CANTOR_OK);
        ck_assert_int_eq(cantor_delta_to_json_lines(d, &lines), CANTOR_OK);
        ck_assert_int_eq(cantor_delta_from_json_lines((const char *)lines.data, lines.len, 0, &back),
                         CANTOR_OK);
        /* JSON lines carry code hashes, not code bytes: compare without the code table */
        for (size_t i = 0; i < d->n_codes; i++)
            free(d->codes[i].code);
        d->n_codes = 0;
        encode(d, &a);
        encode(back, &b);
        ck_assert_uint_eq(back->block_number, d->block_number);
        ck_assert_msg(a.len == b.len && memcmp(a.data, b.data, a.len) == 0, "%s: json lines differ",
                      names[f]);
        cantor_buf_release(&a);
        cantor_buf_release(&b);
        cantor_buf_release(&lines);
        cantor_delta_free(back);
        cantor_delta_free(d);
    }
    free_names(names, n);
}
END_TEST

START_TEST(test_json_lines_malformed)
{
    static const struct bad_json cases[] = {
        {"{", CANTOR_ERR_JSON},
        {"[]", CANTOR_ERR_JSON},
        {"{\"block\":-1}", CANTOR_ERR_JSON},
        {"{\"address\":\"0x0000000000000000000000000000000000000001\",\"kind\":\"bal\",\"old\":\"0x1\","
         "\"new\":\"0x2\"}",
         CANTOR_ERR_INVALID},
        {"{\"address\":\"0x0000000000000000000000000000000000000001\",\"kind\":\"balance\",\"slot\":\"0x1\","
         "\"old\":\"0x1\",\"new\":\"0x2\"}",
         CANTOR_ERR_INVALID},
        {"{\"address\":\"0x0000000000000000000000000000000000000001\",\"kind\":\"storage\",\"old\":\"0x1\","
         "\"new\":\"0x2\"}",
         CANTOR_ERR_INVALID},
        {"{\"address\":\"0x0000000000000000000000000000000000000001\",\"kind\":\"balance\",\"old\":1,\"new\":"
         "\"0x2\"}",
         CANTOR_ERR_JSON},
        {"{\"address\":\"0x00000000000000000000000000000000000001\",\"kind\":\"balance\",\"old\":\"0x1\","
         "\"new\":\"0x2\"}",
         CANTOR_ERR_HEX},
        {"{\"address\":\"0x0000000000000000000000000000000000000001\",\"kind\":\"balance\",\"old\":\"0x1\","
         "\"new\":\"0x2\"}\n{\"address\":\"0x0000000000000000000000000000000000000001\",\"kind\":\"nonce\","
         "\"old\":\"0x1\",\"new\":\"0x2\"}\n\n",
         CANTOR_OK},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cantor_delta *d = NULL;
        enum cantor_err err = cantor_delta_from_json_lines(cases[i].json, strlen(cases[i].json), 3, &d);

        ck_assert_msg(err == cases[i].err, "case %zu: got %s", i, cantor_err_str(err));
        if (!err)
            ck_assert_uint_eq(d->n_entries, 2);
        cantor_delta_free(d);
    }
}
END_TEST

START_TEST(test_load_errors)
{
    struct cantor_delta *d = NULL;

    ck_assert_int_eq(cantor_delta_load_recorded("/nonexistent/file.json", &d), CANTOR_ERR_IO);
    ck_assert_int_eq(load("README.md", NULL, &d), CANTOR_ERR_JSON);
    ck_assert_int_eq(load(ERIGON "eth_getBlockReceipts/test_01.json", NULL, &d), CANTOR_ERR_UNSUPPORTED);
    ck_assert(d == NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta");
    TCase *tc = tcase_create("delta");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_parity_blocks);
    tcase_add_test(tc, test_geth_blocks);
    tcase_add_test(tc, test_single_transactions);
    tcase_add_test(tc, test_cross_format);
    tcase_add_test(tc, test_withdrawals_extra);
    tcase_add_test(tc, test_parity_chaining);
    tcase_add_test(tc, test_geth_fixtures);
    tcase_add_test(tc, test_geth_selfdestruct);
    tcase_add_test(tc, test_non_diff_prestate);
    tcase_add_test(tc, test_finish_merge);
    tcase_add_test(tc, test_decode_prefixes_and_trailing);
    tcase_add_test(tc, test_decode_prefix_concatenated);
    tcase_add_test(tc, test_decode_bit_flips);
    tcase_add_test(tc, test_decode_non_canonical);
    tcase_add_test(tc, test_encode_rejects_unfinished);
    tcase_add_test(tc, test_parity_malformed);
    tcase_add_test(tc, test_geth_malformed);
    tcase_add_test(tc, test_json_lines_roundtrip);
    tcase_add_test(tc, test_json_lines_malformed);
    tcase_add_test(tc, test_load_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
