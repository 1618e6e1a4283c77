/*
 * fuzz_bundle.c - the model bundle parser (core/codec_bundle.c) on arbitrary bytes: refused with an
 * error or turned into a model, never a crash or a leak; a bundle that trains must train to the same
 * model hash twice (training is deterministic, which is what makes a bundle a model snapshot).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cantor_codec_model *a = NULL, *b = NULL;
    uint8_t ha[32], hb[32];

    if (cantor_codec_bundle_train(data, size, NULL, &a) != CANTOR_OK)
        return 0;
    cantor_codec_model_hash(a, ha);
    if (cantor_codec_bundle_train(data, size, ha, &b) != CANTOR_OK)
        abort();
    cantor_codec_model_hash(b, hb);
    if (memcmp(ha, hb, 32) != 0)
        abort();
    cantor_codec_model_free(a);
    cantor_codec_model_free(b);
    return 0;
}
