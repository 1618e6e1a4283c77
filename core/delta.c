/*
 * delta.c - building a canonical block delta: append per-transaction changes in transaction order,
 * then cantor_delta_finish() turns them into the net effect of the block.
 *
 * Ownership: the delta owns its entry array and every code blob (copied in add_code); nothing here
 * keeps pointers into caller memory.
 */
#include "delta.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "keccak.h"

enum cantor_err cantor_delta_new(uint64_t block_number, struct cantor_delta **ret_delta)
{
    struct cantor_delta *d;

    if (!ret_delta)
        return CANTOR_ERR_INVALID;
    d = calloc(1, sizeof(*d));
    if (!d)
        return CANTOR_ERR_NOMEM;
    d->block_number = block_number;
    *ret_delta = d;
    return CANTOR_OK;
}

void cantor_delta_free(struct cantor_delta *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_codes; i++)
        free(d->codes[i].code);
    free(d->codes);
    free(d->entries);
    free(d);
}

int cantor_delta_entry_cmp(const struct cantor_delta_entry *a, const struct cantor_delta_entry *b)
{
    int c = memcmp(a->addr, b->addr, CANTOR_ADDR_LEN);

    if (c)
        return c;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return memcmp(a->slot, b->slot, CANTOR_WORD_LEN);
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

enum cantor_err cantor_delta_add(struct cantor_delta *d, const struct cantor_delta_entry *e)
{
    if (!d || !e || e->kind > CANTOR_KIND_STORAGE)
        return CANTOR_ERR_INVALID;
    /* A slot on a non-storage key would make two encodings of the same key. */
    if (e->kind != CANTOR_KIND_STORAGE && !is_zero(e->slot, CANTOR_WORD_LEN))
        return CANTOR_ERR_INVALID;
    if (d->n_entries >= CANTOR_DELTA_MAX_ENTRIES)
        return CANTOR_ERR_TOO_LARGE;
    if (d->n_entries == d->cap_entries) {
        size_t ncap = d->cap_entries ? d->cap_entries * 2 : 64;
        struct cantor_delta_entry *p;

        if (ncap > CANTOR_DELTA_MAX_ENTRIES)
            ncap = CANTOR_DELTA_MAX_ENTRIES;
        p = realloc(d->entries, ncap * sizeof(*p));
        if (!p)
            return CANTOR_ERR_NOMEM;
        d->entries = p;
        d->cap_entries = ncap;
    }
    d->entries[d->n_entries++] = *e;
    return CANTOR_OK;
}

static size_t code_total(const struct cantor_delta *d)
{
    size_t t = 0;

    for (size_t i = 0; i < d->n_codes; i++)
        t += d->codes[i].len;
    return t;
}

enum cantor_err cantor_delta_add_code(struct cantor_delta *d, const uint8_t hash[CANTOR_WORD_LEN],
                                      const uint8_t *code, size_t len)
{
    uint8_t *copy;

    if (!d || !hash || (!code && len))
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_DELTA_MAX_CODE_LEN)
        return CANTOR_ERR_TOO_LARGE;
    for (size_t i = 0; i < d->n_codes; i++)
        if (memcmp(d->codes[i].hash, hash, CANTOR_WORD_LEN) == 0)
            return CANTOR_OK;
    if (d->n_codes >= CANTOR_DELTA_MAX_CODES || code_total(d) + len > CANTOR_DELTA_MAX_CODE_TOTAL)
        return CANTOR_ERR_TOO_LARGE;
    if (d->n_codes == d->cap_codes) {
        size_t ncap = d->cap_codes ? d->cap_codes * 2 : 8;
        struct cantor_delta_code *p = realloc(d->codes, ncap * sizeof(*p));

        if (!p)
            return CANTOR_ERR_NOMEM;
        d->codes = p;
        d->cap_codes = ncap;
    }
    copy = malloc(len ? len : 1);
    if (!copy)
        return CANTOR_ERR_NOMEM;
    if (len)
        memcpy(copy, code, len);
    memcpy(d->codes[d->n_codes].hash, hash, CANTOR_WORD_LEN);
    d->codes[d->n_codes].code = copy;
    d->codes[d->n_codes].len = len;
    d->n_codes++;
    return CANTOR_OK;
}

/*
 * Entries of one key must stay in append (transaction) order so the merge can take the first old
 * and the last new value; qsort is not stable, so ties are broken by position in the array.
 */
static int cmp_entry_ptr(const void *pa, const void *pb)
{
    const struct cantor_delta_entry *a = *(const struct cantor_delta_entry *const *)pa;
    const struct cantor_delta_entry *b = *(const struct cantor_delta_entry *const *)pb;
    int c = cantor_delta_entry_cmp(a, b);

    if (c)
        return c;
    return a < b ? -1 : a > b;
}

static int cmp_code(const void *pa, const void *pb)
{
    const struct cantor_delta_code *a = pa, *b = pb;

    return memcmp(a->hash, b->hash, CANTOR_WORD_LEN);
}

enum cantor_err cantor_delta_finish(struct cantor_delta *d)
{
    const struct cantor_delta_entry **order = NULL;
    struct cantor_delta_entry *out = NULL;
    size_t n_out = 0, n_codes = 0;
    bool *keep = NULL;
    enum cantor_err err = CANTOR_OK;

    if (!d)
        return CANTOR_ERR_INVALID;
    if (d->n_entries) {
        order = malloc(d->n_entries * sizeof(*order));
        out = malloc(d->n_entries * sizeof(*out));
        if (!order || !out) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < d->n_entries; i++)
            order[i] = &d->entries[i];
        qsort(order, d->n_entries, sizeof(*order), cmp_entry_ptr);
        for (size_t i = 0; i < d->n_entries;) {
            size_t j = i + 1;

            while (j < d->n_entries && cantor_delta_entry_cmp(order[i], order[j]) == 0)
                j++;
            out[n_out] = *order[i];
            memcpy(out[n_out].new_val, order[j - 1]->new_val, CANTOR_WORD_LEN);
            /* A key that ends where it started is not part of the block's net effect. */
            if (memcmp(out[n_out].old_val, out[n_out].new_val, CANTOR_WORD_LEN) != 0)
                n_out++;
            i = j;
        }
        free(d->entries);
        d->entries = out;
        d->cap_entries = d->n_entries;
        d->n_entries = n_out;
        out = NULL;
    }
    /*
     * Keep only code that some account holds after the block (and never the empty code), so the
     * code table is canonical too. Sort first so each CODE entry can find its blob by bsearch.
     */
    if (d->n_codes > 1)
        qsort(d->codes, d->n_codes, sizeof(*d->codes), cmp_code);
    if (d->n_codes) {
        keep = calloc(d->n_codes, sizeof(*keep));
        if (!keep) {
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < d->n_entries; i++) {
            struct cantor_delta_code key, *hit;

            if (d->entries[i].kind != CANTOR_KIND_CODE)
                continue;
            memcpy(key.hash, d->entries[i].new_val, CANTOR_WORD_LEN);
            hit = bsearch(&key, d->codes, d->n_codes, sizeof(*d->codes), cmp_code);
            if (hit)
                keep[hit - d->codes] = true;
        }
        for (size_t i = 0; i < d->n_codes; i++) {
            if (!keep[i] || memcmp(d->codes[i].hash, CANTOR_KECCAK_EMPTY, CANTOR_WORD_LEN) == 0) {
                free(d->codes[i].code);
                continue;
            }
            d->codes[n_codes++] = d->codes[i];
        }
        d->n_codes = n_codes;
    }
out:
    free(order);
    free(out);
    free(keep);
    return err;
}

struct cantor_delta_entry *cantor_delta_find(const struct cantor_delta *d,
                                             const uint8_t addr[CANTOR_ADDR_LEN], uint8_t kind,
                                             const uint8_t *slot)
{
    struct cantor_delta_entry key = {0};
    size_t lo = 0, hi = d->n_entries;

    memcpy(key.addr, addr, CANTOR_ADDR_LEN);
    key.kind = kind;
    if (slot)
        memcpy(key.slot, slot, CANTOR_WORD_LEN);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cantor_delta_entry_cmp(&d->entries[mid], &key);

        if (c == 0)
            return &d->entries[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
