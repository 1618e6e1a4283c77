/* withdrawals.c - see withdrawals.h. */
#include "withdrawals.h"

#include <string.h>

#include "core/hex.h"
#include "core/u256.h"

struct credit {
    uint8_t addr[CANTOR_ADDR_LEN];
    uint8_t wei[CANTOR_WORD_LEN];
};

/* wei = gwei * 1e9, exact: gwei < 2^64 and 1e9 < 2^30, so the product fits in 94 bits. */
static void gwei_to_wei(uint64_t gwei, uint8_t ret[CANTOR_WORD_LEN])
{
    unsigned __int128 v = (unsigned __int128)gwei * 1000000000u;

    memset(ret, 0, CANTOR_WORD_LEN);
    for (int i = 0; i < 16; i++)
        ret[31 - i] = (uint8_t)(v >> (8 * i));
}

/* Sum the credits per recipient (one address may withdraw for several validators). */
static enum cantor_err collect(const json_t *withdrawals, struct credit *credits, size_t *ret_n)
{
    size_t i, n = 0;
    json_t *w;

    if (!json_is_array(withdrawals))
        return CANTOR_ERR_JSON;
    if (json_array_size(withdrawals) > CANTOR_WITHDRAWALS_MAX)
        return CANTOR_ERR_TOO_LARGE;
    json_array_foreach(withdrawals, i, w)
    {
        uint8_t addr[CANTOR_ADDR_LEN], wei[CANTOR_WORD_LEN];
        uint64_t gwei;
        size_t k;

        if (!json_is_object(w) ||
            cantor_hex_decode_exact(json_string_value(json_object_get(w, "address")), addr,
                                    CANTOR_ADDR_LEN) ||
            cantor_hex_decode_u64(json_string_value(json_object_get(w, "amount")), &gwei))
            return CANTOR_ERR_JSON;
        gwei_to_wei(gwei, wei);
        for (k = 0; k < n && memcmp(credits[k].addr, addr, CANTOR_ADDR_LEN) != 0; k++)
            ;
        if (k == n) {
            memcpy(credits[n].addr, addr, CANTOR_ADDR_LEN);
            memset(credits[n].wei, 0, CANTOR_WORD_LEN);
            n++;
        }
        if (cantor_u256_add(credits[k].wei, wei, credits[k].wei))
            return CANTOR_ERR_OVERFLOW;
    }
    *ret_n = n;
    return CANTOR_OK;
}

enum cantor_err cantor_delta_add_withdrawals(struct cantor_delta *d, const json_t *withdrawals,
                                             cantor_balance_before_fn before, void *ctx)
{
    struct credit *credits = NULL;
    size_t n = 0, n_sorted;
    enum cantor_err err;

    if (!d || !before)
        return CANTOR_ERR_INVALID;
    if (!withdrawals || json_is_null(withdrawals))
        return CANTOR_OK;
    if (!json_is_array(withdrawals))
        return CANTOR_ERR_JSON;
    if (json_array_size(withdrawals) == 0)
        return CANTOR_OK;
    credits = calloc(json_array_size(withdrawals), sizeof(*credits));
    if (!credits)
        return CANTOR_ERR_NOMEM;
    n_sorted = d->n_entries;
    err = collect(withdrawals, credits, &n);
    for (size_t k = 0; k < n && !err; k++) {
        struct cantor_delta sorted =
            *d; /* search only the sorted prefix: added entries sit unsorted after it */
        struct cantor_delta_entry *e;
        struct cantor_delta_entry add = {0};

        sorted.n_entries = n_sorted;
        e = cantor_delta_find(&sorted, credits[k].addr, CANTOR_KIND_BALANCE, NULL);
        if (e) {
            if (cantor_u256_add(e->new_val, credits[k].wei, e->new_val))
                err = CANTOR_ERR_OVERFLOW;
            continue;
        }
        memcpy(add.addr, credits[k].addr, CANTOR_ADDR_LEN);
        add.kind = CANTOR_KIND_BALANCE;
        err = before(ctx, credits[k].addr, credits[k].wei, add.old_val);
        if (!err && cantor_u256_add(add.old_val, credits[k].wei, add.new_val))
            err = CANTOR_ERR_OVERFLOW;
        if (!err)
            err = cantor_delta_add(d, &add);
    }
    if (!err)
        err = cantor_delta_finish(d);
    free(credits);
    return err;
}
