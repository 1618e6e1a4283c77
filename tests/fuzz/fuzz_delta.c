/*
 * fuzz_delta.c - the canonical block delta decoder on arbitrary bytes. Whatever decodes must
 * re-encode to exactly the input (one encoding per delta); nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/delta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cantor_delta *d = NULL;
    struct cantor_buf out;

    if (cantor_delta_decode(data, size, &d) != CANTOR_OK)
        return 0;
    cantor_buf_init(&out, 0);
    if (cantor_delta_encode(d, &out) != CANTOR_OK || out.len != size || memcmp(out.data, data, size) != 0)
        abort(); /* decoder accepted a non-canonical encoding */
    cantor_buf_release(&out);
    cantor_delta_free(d);
    return 0;
}
