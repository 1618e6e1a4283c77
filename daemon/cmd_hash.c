/* cmd_hash.c - `cantor keccak HEX` / `cantor keccak --file PATH`: Keccak-256 of bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/keccak.h"

#define KECCAK_FILE_MAX (1u << 30)

int cantor_cmd_keccak(int argc, char **argv)
{
    struct cantor_buf b;
    uint8_t h[32];
    char out[67];
    int rc = CANTOR_EXIT_USAGE;

    cantor_buf_init(&b, KECCAK_FILE_MAX);
    if (argc == 3 && strcmp(argv[1], "--file") == 0) {
        if (cantor_cli_read_file("keccak", argv[2], &b))
            goto out;
    } else if (argc == 2 && argv[1][0] != '-') {
        uint8_t *p = NULL;
        size_t n = 0;

        if (cantor_hex_decode_alloc(argv[1], &p, &n)) {
            fprintf(stderr, "cantor keccak: '%s' is not an even-length hex string\n", argv[1]);
            goto out;
        }
        cantor_buf_append(&b, p, n);
        free(p);
    } else {
        fprintf(stderr, "usage: cantor keccak HEX | cantor keccak --file PATH\n");
        goto out;
    }
    cantor_keccak256(b.data, b.len, h);
    cantor_hex_encode(h, 32, out);
    printf("%s\n", out);
    rc = CANTOR_EXIT_OK;
out:
    cantor_buf_release(&b);
    return rc;
}
