/*
 * fuzz_header.c - libFuzzer target for block headers: arbitrary bytes as header RLP (a decoded
 * header must re-encode to the input and carry its keccak) and as JSON (a parsed header must
 * survive encode -> decode unchanged). Input is owned by libFuzzer; all else is freed here.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/header.h"
#include "core/keccak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rlp(const uint8_t *data, size_t size)
{
    struct cantor_header h;
    struct cantor_buf b;
    uint8_t k[32];

    if (cantor_header_decode(data, size, &h) != CANTOR_OK)
        return;
    cantor_keccak256(data, size, k);
    if (memcmp(k, h.hash, 32) != 0)
        abort();
    cantor_buf_init(&b, 0);
    if (cantor_header_encode(&h, &b) || b.len != size || memcmp(b.data, data, size) != 0)
        abort();
    cantor_buf_release(&b);
}

static void check_json(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *j;
    struct cantor_header h, back;
    struct cantor_buf b;

    if (size > 64 * 1024)
        return;
    j = json_loadb((const char *)data, size, 0, &e);
    if (!j)
        return;
    if (cantor_header_from_json(j, &h) == CANTOR_OK) {
        cantor_buf_init(&b, 0);
        if (cantor_header_encode(&h, &b) || cantor_header_decode(b.data, b.len, &back))
            abort();
        if (memcmp(back.hash, h.hash, 32) != 0 || back.number != h.number ||
            back.n_fork_fields != h.n_fork_fields)
            abort();
        cantor_buf_release(&b);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_rlp(data, size);
    check_json(data, size);
    return 0;
}
