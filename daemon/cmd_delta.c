/*
 * cmd_delta.c - `cantor delta FILE`: print the canonical block delta of a recorded state-diff
 * answer (Parity stateDiff or geth prestateTracer diffMode; shape detected) as JSON lines.
 *
 * Output: a header line {"block", "format", "entries", "codes", "bytes", "keccak"} where bytes is
 * the length of the canonical encoding v1 (docs/formats.md) and keccak its keccak256, then one
 * line per entry in canonical order (core/delta_json.h). --no-header prints entries only; --hex
 * prints the canonical encoding as one hex line instead. Exit 0 on success, 2 on usage, I/O or
 * parse errors. All memory is freed before returning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/delta.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/keccak.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cantor delta [--no-header | --hex] FILE\n"
               "\n"
               "Print the canonical delta of a recorded block as JSON lines. FILE holds the answer of\n"
               "trace_replayBlockTransactions / trace_replayTransaction (stateDiff) or of\n"
               "debug_traceBlockByNumber / debug_traceTransaction (prestateTracer, diffMode): a bare\n"
               "result, a JSON-RPC response, or an erigon rpc-tests [{request, response}] file.\n"
               "\n"
               "  --no-header  print only the entry lines\n"
               "  --hex        print the canonical binary encoding (v1) as one hex line\n"
               "  --help       show this help\n");
}

static int print_hex(const struct cantor_buf *enc)
{
    char *hex = malloc(2 * enc->len + 3);

    if (!hex) {
        fprintf(stderr, "cantor delta: out of memory\n");
        return CANTOR_EXIT_USAGE;
    }
    cantor_hex_encode(enc->data, enc->len, hex);
    printf("%s\n", hex);
    free(hex);
    return CANTOR_EXIT_OK;
}

int cantor_cmd_delta(int argc, char **argv)
{
    enum cantor_delta_format format = CANTOR_DELTA_FORMAT_PARITY;
    struct cantor_delta *d = NULL;
    struct cantor_buf enc, lines;
    const char *path = NULL;
    int header = 1, hex = 0, rc = CANTOR_EXIT_USAGE;
    uint8_t hash[CANTOR_HASH_LEN];
    char hash_hex[2 * CANTOR_HASH_LEN + 3];
    enum cantor_err err;

    cantor_buf_init(&enc, 0);
    cantor_buf_init(&lines, 0);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CANTOR_EXIT_OK;
        } else if (strcmp(argv[i], "--no-header") == 0) {
            header = 0;
        } else if (strcmp(argv[i], "--hex") == 0) {
            hex = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "cantor delta: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return CANTOR_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "cantor delta: only one FILE\n");
            return CANTOR_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return CANTOR_EXIT_USAGE;
    }
    err = cantor_delta_load_recorded_ex(path, &format, &d);
    if (err) {
        fprintf(stderr, "cantor delta: %s: %s\n", path, cantor_err_str(err));
        goto out;
    }
    err = cantor_delta_encode(d, &enc);
    if (err) {
        fprintf(stderr, "cantor delta: %s: cannot encode: %s\n", path, cantor_err_str(err));
        goto out;
    }
    if (hex) {
        rc = print_hex(&enc);
        goto out;
    }
    err = cantor_delta_to_json_lines(d, &lines);
    if (err) {
        fprintf(stderr, "cantor delta: %s: %s\n", path, cantor_err_str(err));
        goto out;
    }
    if (header) {
        cantor_keccak256(enc.data, enc.len, hash);
        cantor_hex_encode(hash, sizeof(hash), hash_hex);
        printf("{\"block\":%llu,\"format\":\"%s\",\"entries\":%zu,\"codes\":%zu,\"bytes\":%zu,\"keccak\":\"%"
               "s\"}\n",
               (unsigned long long)d->block_number, cantor_delta_format_name(format), d->n_entries,
               d->n_codes, enc.len, hash_hex);
    }
    if (lines.len)
        fwrite(lines.data, 1, lines.len, stdout);
    rc = fflush(stdout) == 0 ? CANTOR_EXIT_OK : CANTOR_EXIT_USAGE;
out:
    cantor_delta_free(d);
    cantor_buf_release(&enc);
    cantor_buf_release(&lines);
    return rc;
}
