/*
 * fuzz_diff.c - both JSON state-diff parsers (Parity stateDiff, geth prestateTracer diffMode) and
 * the recorded-file path (blanking the members no parser reads, core/json_blank.h, then shape
 * detection) on arbitrary bytes. The first byte picks the entry point; any delta that parses must be
 * finished (sorted, no no-ops) and survive an encode/decode round trip.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/delta.h"
#include "core/delta_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(struct cantor_delta *d)
{
    struct cantor_buf a, b;
    struct cantor_delta *back = NULL;

    cantor_buf_init(&a, 0);
    cantor_buf_init(&b, 0);
    if (cantor_delta_encode(d, &a) != CANTOR_OK)
        abort(); /* a parser returned an unfinished delta */
    if (cantor_delta_decode(a.data, a.len, &back) != CANTOR_OK ||
        cantor_delta_encode(back, &b) != CANTOR_OK || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    cantor_delta_free(back);
    cantor_buf_release(&a);
    cantor_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cantor_delta *d = NULL;
    json_error_t jerr;
    json_t *j;
    enum cantor_err err;

    if (size < 1 || size > (1u << 20))
        return 0;
    if (data[0] % 4 == 2) {
        /* the loader's path: the text is blanked in place (a copy: the input is read-only), then parsed */
        char *text = malloc(size);
        if (!text)
            return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = 0;
        if (cantor_delta_parse_recorded(text, size - 1, NULL, &d) == CANTOR_OK) {
            check(d);
            cantor_delta_free(d);
        }
        free(text);
        return 0;
    }
    if (data[0] % 4 == 3) {
        if (cantor_delta_from_json_lines((const char *)data + 1, size - 1, 0, &d) == CANTOR_OK) {
            check(d);
            cantor_delta_free(d);
        }
        return 0;
    }
    j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, &jerr);
    if (!j)
        return 0;
    if (data[0] % 4 == 0)
        err = cantor_delta_from_parity(j, 1, &d);
    else
        err = cantor_delta_from_geth(j, 1, &d);
    if (err == CANTOR_OK) {
        check(d);
        cantor_delta_free(d);
    }
    json_decref(j);
    return 0;
}
