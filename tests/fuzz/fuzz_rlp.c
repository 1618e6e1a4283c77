/*
 * fuzz_rlp.c - libFuzzer target: strict RLP decoding of arbitrary bytes. Whatever decodes must be
 * walkable to the last nested item and re-encode to exactly the input (the canonical round trip);
 * anything else must be rejected without reading outside the input. The input buffer is owned by
 * libFuzzer; everything else is freed before returning.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rebuild the encoding from the decoded parts only; abort() on anything a valid tree must not do. */
static void reencode(const struct cantor_rlp_item *it, struct cantor_buf *out, int depth)
{
    struct cantor_rlp_item sub;
    struct cantor_buf inner;
    size_t pos = 0, count = 0, n = 0;
    uint64_t v;
    enum cantor_err err;

    if (depth > 2048)
        abort(); /* decode caps nesting well below this */
    if (!it->is_list) {
        err = cantor_rlp_to_u64(it, &v);
        if (err == CANTOR_OK) {
            struct cantor_buf tmp;

            /* A canonical integer re-encodes to the same bytes. */
            cantor_buf_init(&tmp, 0);
            if (cantor_rlp_encode_u64(&tmp, v) || tmp.len != it->raw_len ||
                memcmp(tmp.data, it->raw, tmp.len))
                abort();
            cantor_buf_release(&tmp);
        }
        if (cantor_rlp_encode_bytes(out, it->payload, it->payload_len))
            abort();
        return;
    }
    cantor_buf_init(&inner, 0);
    while ((err = cantor_rlp_list_next(it, &pos, &sub)) == CANTOR_OK) {
        reencode(&sub, &inner, depth + 1);
        n++;
    }
    if (err != CANTOR_ERR_NOT_FOUND || pos != it->payload_len)
        abort();
    if (cantor_rlp_list_count(it, &count) || count != n)
        abort();
    if (cantor_rlp_encode_list(out, inner.data, inner.len))
        abort();
    cantor_buf_release(&inner);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cantor_rlp_item it;
    struct cantor_buf out;
    size_t used;

    /* The first-item decoder must agree with the whole-input decoder on where the item ends. */
    if (cantor_rlp_decode_item(data, size, &it, &used) == CANTOR_OK && (used > size || it.raw != data))
        abort();
    if (cantor_rlp_decode(data, size, &it) != CANTOR_OK)
        return 0;
    if (it.raw != data || it.raw_len != size)
        abort();
    cantor_buf_init(&out, 0);
    reencode(&it, &out, 0);
    if (out.len != size || memcmp(out.data, data, size) != 0)
        abort();
    cantor_buf_release(&out);
    return 0;
}
