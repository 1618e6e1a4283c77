/*
 * xz_baseline.c - liblzma preset 9 | EXTREME ("xz -9e"): a baseline the benchmark prints beside the
 * chunk sizes. Not a chunk codec. Output is appended to a caller-owned buffer.
 */
#include <lzma.h>

#include "codec_internal.h"
#include "xz_baseline.h"

enum cantor_err cantor_xz9e_compress(const uint8_t *in, size_t len, struct cantor_buf *out)
{
    size_t bound = lzma_stream_buffer_bound(len), pos = 0;
    enum cantor_err err = cantor_buf_reserve(out, bound);

    if (err)
        return err;
    if (lzma_easy_buffer_encode(9 | LZMA_PRESET_EXTREME, LZMA_CHECK_CRC64, NULL, in, len,
                                out->data + out->len, &pos, bound) != LZMA_OK)
        return CANTOR_ERR_INVALID;
    out->len += pos;
    return CANTOR_OK;
}
