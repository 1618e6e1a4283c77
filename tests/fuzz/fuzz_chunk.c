/*
 * fuzz_chunk.c - libFuzzer target for the chunk decoder: arbitrary bytes must never crash, and a
 * successful decode must return bytes that are a canonical delta of the chunk's raw length (and, for a
 * v1 chunk, whose keccak256 equals the stored delta root; the decoder checks the checksum).
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/keccak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cantor_codec_model *m;
    struct cantor_buf out;
    struct cantor_chunk_info ci;

    if (!m && cantor_codec_model_new(&m))
        return 0;
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
    if (cantor_codec_decompress(m, NULL, data, size, &out) == CANTOR_OK) {
        struct cantor_delta *d = NULL;
        uint8_t root[32];
        if (cantor_chunk_parse_header(data, size, &ci) || ci.raw_len != out.len)
            abort();
        cantor_keccak256(out.data, out.len, root);
        if ((ci.version == CANTOR_CHUNK_VERSION_1 && memcmp(root, ci.delta_root, 32) != 0) ||
            cantor_delta_decode(out.data, out.len, &d))
            abort();
        cantor_delta_free(d);
    }
    cantor_buf_release(&out);
    return 0;
}
