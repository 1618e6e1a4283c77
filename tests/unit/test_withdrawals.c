/*
 * test_withdrawals.c - withdrawals folded into a block's delta. Erigon's trace_replayBlockTransactions
 * with IncludeWithdrawals (test_39, block 17,073,191) carries the block's withdrawal credits as one
 * extra pseudo-transaction; the same block without it (test_37) plus the withdrawals must give
 * exactly its delta.
 */
#include <string.h>

#include "core/delta.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/u256.h"
#include "core/withdrawals.h"
#include "testutil.h"

#define T37 "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json"
#define T39 "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_39.json"

/* The extra element of test_39: {addr: {"balance": {"*": {"from", "to"}}}}. */
static json_t *withdrawal_diff(void)
{
    json_t *root = tu_load_json(T39);
    json_t *res = json_object_get(json_object_get(json_array_get(root, 0), "response"), "result");
    json_t *sd = json_incref(json_object_get(json_array_get(res, json_array_size(res) - 1), "stateDiff"));

    ck_assert(json_object_get(json_array_get(res, json_array_size(res) - 1), "transactionHash") == NULL);
    json_decref(root);
    return sd;
}

/* Rebuild the block's withdrawal list (gwei) from the credits in the pseudo-transaction. */
static json_t *withdrawals_from(json_t *sd)
{
    json_t *list = json_array(), *v;
    const char *addr;

    json_object_foreach(sd, addr, v)
    {
        json_t *b = json_object_get(json_object_get(v, "balance"), "*");
        uint8_t from[32], to[32], wei[32];
        unsigned __int128 x = 0;
        char amount[40];

        ck_assert_int_eq(cantor_hex_decode_word(json_string_value(json_object_get(b, "from")), from),
                         CANTOR_OK);
        ck_assert_int_eq(cantor_hex_decode_word(json_string_value(json_object_get(b, "to")), to), CANTOR_OK);
        ck_assert_uint_eq(cantor_u256_sub(to, from, wei), 0);
        for (int i = 16; i < 32; i++)
            x = x << 8 | wei[i];
        ck_assert(x % 1000000000u == 0); /* withdrawals are whole gwei */
        snprintf(amount, sizeof(amount), "0x%llx", (unsigned long long)(x / 1000000000u));
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s}", "address", addr, "amount", amount, "index",
                                              "0x0", "validatorIndex", "0x0"));
    }
    return list;
}

/* Balance before the withdrawals: the pseudo-transaction's "from". */
static enum cantor_err before_from_diff(void *ctx, const uint8_t addr[20], const uint8_t credited[32],
                                        uint8_t ret[32])
{
    char hex[43];
    json_t *b;

    (void)credited;
    cantor_hex_encode(addr, 20, hex);
    b = json_object_get(json_object_get(json_object_get(ctx, hex), "balance"), "*");
    return b ? cantor_hex_decode_word(json_string_value(json_object_get(b, "from")), ret)
             : CANTOR_ERR_NOT_FOUND;
}

START_TEST(test_block_17073191)
{
    struct cantor_delta *without = NULL, *with = NULL;
    struct cantor_buf a, b;
    json_t *sd = withdrawal_diff(), *list = withdrawals_from(sd);

    ck_assert_uint_gt(json_array_size(list), 0);
    ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(T37), &without), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(T39), &with), CANTOR_OK);
    ck_assert_uint_ne(without->n_entries, with->n_entries);
    ck_assert_int_eq(cantor_delta_add_withdrawals(without, list, before_from_diff, sd), CANTOR_OK);
    cantor_buf_init(&a, 0);
    cantor_buf_init(&b, 0);
    ck_assert_int_eq(cantor_delta_encode(without, &a), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_encode(with, &b), CANTOR_OK);
    ck_assert_uint_eq(without->n_entries, with->n_entries);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_mem_eq(a.data, b.data, a.len);
    printf("block 17073191: %zu withdrawal recipient(s) folded in, %zu entries, %zu bytes, identical\n",
           json_array_size(list), with->n_entries, a.len);
    cantor_buf_release(&a);
    cantor_buf_release(&b);
    cantor_delta_free(without);
    cantor_delta_free(with);
    json_decref(list);
    json_decref(sd);
}
END_TEST

static enum cantor_err before_fixed(void *ctx, const uint8_t addr[20], const uint8_t credited[32],
                                    uint8_t ret[32])
{
    (void)addr;
    (void)credited;
    memcpy(ret, ctx, 32);
    return CANTOR_OK;
}

START_TEST(test_merge_and_errors)
{
    struct cantor_delta *d = NULL;
    struct cantor_delta_entry e = {.kind = CANTOR_KIND_BALANCE};
    uint8_t base[32] = {0}, want[32];
    json_t *w;

    /* A recipient the transactions changed keeps its old value; its new value is raised. */
    ck_assert_int_eq(cantor_delta_new(7, &d), CANTOR_OK);
    memset(e.addr, 0x11, 20);
    e.new_val[31] = 5;
    ck_assert_int_eq(cantor_delta_add(d, &e), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_finish(d), CANTOR_OK);
    base[31] = 100;
    /* two withdrawals to 0x11..11 (summed) and one to 0x22..22 (new entry, old from the callback) */
    w = json_loads("[{\"address\":\"0x1111111111111111111111111111111111111111\",\"amount\":\"0x1\"},"
                   "{\"address\":\"0x1111111111111111111111111111111111111111\",\"amount\":\"0x2\"},"
                   "{\"address\":\"0x2222222222222222222222222222222222222222\",\"amount\":\"0x3\"}]",
                   0, NULL);
    ck_assert_int_eq(cantor_delta_add_withdrawals(d, w, before_fixed, base), CANTOR_OK);
    ck_assert_uint_eq(d->n_entries, 2);
    cantor_u256_from_u64(5 + 3000000000ull, want);
    ck_assert_mem_eq(d->entries[0].new_val, want, 32);
    ck_assert_uint_eq(d->entries[0].old_val[31], 0);
    cantor_u256_from_u64(100 + 3000000000ull, want);
    ck_assert_mem_eq(d->entries[1].new_val, want, 32);
    ck_assert_uint_eq(d->entries[1].old_val[31], 100);
    json_decref(w);
    /* malformed lists are refused */
    w = json_loads("[{\"address\":\"0x11\",\"amount\":\"0x1\"}]", 0, NULL);
    ck_assert_int_eq(cantor_delta_add_withdrawals(d, w, before_fixed, base), CANTOR_ERR_JSON);
    json_decref(w);
    w = json_loads("[{\"address\":\"0x1111111111111111111111111111111111111111\",\"amount\":5}]", 0, NULL);
    ck_assert_int_eq(cantor_delta_add_withdrawals(d, w, before_fixed, base), CANTOR_ERR_JSON);
    json_decref(w);
    w = json_loads("{}", 0, NULL);
    ck_assert_int_eq(cantor_delta_add_withdrawals(d, w, before_fixed, base), CANTOR_ERR_JSON);
    json_decref(w);
    ck_assert_int_eq(cantor_delta_add_withdrawals(d, NULL, before_fixed, base), CANTOR_OK);
    cantor_delta_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("withdrawals");
    TCase *tc = tcase_create("withdrawals");

    tcase_add_test(tc, test_block_17073191);
    tcase_add_test(tc, test_merge_and_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
