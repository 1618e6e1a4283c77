/* xz_baseline.h - "xz -9e" (liblzma) for benchmark baselines; appends to out. */
#ifndef CANTOR_XZ_BASELINE_H
#define CANTOR_XZ_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum cantor_err cantor_xz9e_compress(const uint8_t *in, size_t len, struct cantor_buf *out);

#endif
