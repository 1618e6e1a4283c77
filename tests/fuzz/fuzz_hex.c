/*
 * fuzz_hex.c - libFuzzer target for the strict hex decoders: arbitrary bytes as a C string through
 * decode_alloc / decode_exact / decode_word / decode_u64; whatever decodes must re-encode to an
 * equivalent string that decodes to the same value. Input is owned by libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *enc;
    uint8_t *buf, w[32], w2[32], small[8];
    size_t n;
    uint64_t v;
    char q[67];

    if (size > 4096)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    if (cantor_hex_decode_alloc(s, &buf, &n) == CANTOR_OK) {
        enc = malloc(2 * n + 3);
        if (!enc)
            abort();
        cantor_hex_encode(buf, n, enc);
        /* Same digits up to case and the optional prefix. */
        {
            const char *p = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;

            if (strlen(p) != 2 * n || strncasecmp(p, enc + 2, 2 * n) != 0)
                abort();
        }
        /* decode_exact agrees with decode_alloc on length and bytes. */
        if (n <= sizeof(small)) {
            if (cantor_hex_decode_exact(s, small, n) || (n && memcmp(small, buf, n)))
                abort();
        }
        free(enc);
        free(buf);
    }
    if (cantor_hex_decode_word(s, w) == CANTOR_OK) {
        cantor_hex_encode_quantity(w, q);
        if (cantor_hex_decode_word(q, w2) || memcmp(w, w2, 32))
            abort();
        if (cantor_hex_decode_u64(s, &v) == CANTOR_OK) {
            for (int i = 0; i < 24; i++)
                if (w[i])
                    abort();
        }
    }
    (void)cantor_hex_decode_exact(s, small, sizeof(small));
    free(s);
    return 0;
}
