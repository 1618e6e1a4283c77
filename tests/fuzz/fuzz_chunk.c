/*
 * fuzz_chunk.c - libFuzzer target for the chunk decoder: arbitrary bytes must never crash, and a
 * successful decode must return bytes of the chunk's raw length that are the canonical deltas of the
 * blocks its header names, back to back (and, for a v1 chunk, whose keccak256 equals the stored delta
 * root; the decoder checks the checksum).
 * The input is decoded three times: as one chunk without a context; as one chunk into a fresh warm
 * context without carried state (the multi-block path); and as a sequence of up to four chunks (each
 * preceded by its length, 2 bytes little-endian; the last takes the rest) into one warm context that
 * carries the CM state (snapshot interval 0), which exercises the checks of carried chunks.
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/keccak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_out(const uint8_t *chunk, size_t len, const struct cantor_buf *out)
{
    struct cantor_chunk_info ci;
    uint8_t root[32];
    size_t pos = 0;

    if (cantor_chunk_parse_header(chunk, len, &ci) || ci.raw_len != out->len)
        abort();
    cantor_keccak256(out->data, out->len, root);
    if (ci.version == CANTOR_CHUNK_VERSION_1 && memcmp(root, ci.delta_root, 32) != 0)
        abort();
    for (uint64_t b = ci.first_block; b <= ci.last_block; b++) {
        struct cantor_delta *d = NULL;
        size_t used = 0;
        if (cantor_delta_decode_prefix(out->data + pos, out->len - pos, &used, &d) || d->block_number != b)
            abort();
        cantor_delta_free(d);
        pos += used;
    }
    if (pos != out->len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cantor_codec_model *m;
    struct cantor_codec_ctx *w = NULL;
    struct cantor_buf out;
    size_t pos = 0;

    if (!m && cantor_codec_model_new(&m))
        return 0;
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
    if (cantor_codec_decompress(m, NULL, data, size, &out) == CANTOR_OK)
        check_out(data, size, &out);
    if (cantor_codec_ctx_new(&w) == CANTOR_OK) {
        out.len = 0;
        if (cantor_codec_decompress(m, w, data, size, &out) == CANTOR_OK)
            check_out(data, size, &out);
        cantor_codec_ctx_free(w);
        w = NULL;
    }
    if (cantor_codec_ctx_new(&w) == CANTOR_OK) {
        cantor_codec_ctx_set_snapshot_interval(w, 0);
        for (int i = 0; i < 4 && pos < size; i++) {
            size_t n = size - pos;
            if (i < 3 && n >= 2) {
                size_t want = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
                pos += 2;
                n = want < size - pos ? want : size - pos;
            }
            out.len = 0;
            if (cantor_codec_decompress(m, w, data + pos, n, &out) == CANTOR_OK)
                check_out(data + pos, n, &out);
            pos += n;
        }
        cantor_codec_ctx_free(w);
    }
    cantor_buf_release(&out);
    return 0;
}
