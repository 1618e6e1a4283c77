/*
 * cmd_verify.c - `cantor verify PROOF.json --key PUBKEY [--eth-address 0xADDR]`: offline check of
 * a cantord proof document v1 (docs/formats.md) with libcantor_verify: checkpoint signatures, block
 * position, MMR path, delta or state path. Prints what was proven as JSON on success; on failure
 * names the failed check on stderr. Owner: engineer "commit". All memory is local to the command.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/proof.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cantor verify PROOF.json --key PUBKEY [--eth-address 0xADDR]\n"
               "\n"
               "Verify a cantord proof document (delta or state proof with MMR path and signed\n"
               "checkpoint) without trusting cantord.\n"
               "  --key K           the trusted ed25519 checkpoint key: 0x + 64 hex digits, or a file\n"
               "                    holding it (checkpoint-ed25519.pub, GET /v1/checkpoint/keys)\n"
               "  --eth-address A   also require the secp256k1 signature to come from address A\n"
               "exit status: 0 everything verified, 1 a check failed (named on stderr),\n"
               "             2 usage, I/O or a document that does not parse\n");
}

/* A hex key given inline, or the first line of a file. */
static int load_hex_arg(const char *arg, uint8_t *out, size_t n)
{
    struct cantor_buf b;
    int rc = 0;

    if (strncmp(arg, "0x", 2) == 0 && strlen(arg) == 2 + 2 * n)
        return cantor_hex_decode_exact(arg, out, n) ? -1 : 0;
    cantor_buf_init(&b, 4096);
    if (cantor_cli_read_file("verify", arg, &b) != 0) {
        cantor_buf_release(&b);
        return -1;
    }
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' || b.data[b.len - 1] == ' '))
        b.data[--b.len] = '\0';
    if (b.len != 2 + 2 * n || cantor_hex_decode_exact((const char *)b.data, out, n))
        rc = -1;
    cantor_buf_release(&b);
    return rc;
}

int cantor_cmd_verify(int argc, char **argv)
{
    const char *file = NULL, *key = NULL, *eth = NULL;
    uint8_t pk[CANTOR_ED25519_PK_LEN], addr[CANTOR_ETH_ADDR_LEN];
    struct cantor_proof_doc *doc = NULL;
    struct cantor_proof_report r;
    struct cantor_buf b;
    char value[2 * CANTOR_HASH_LEN + 3];
    enum cantor_err err;
    int rc = CANTOR_EXIT_USAGE;

    cantor_buf_init(&b, CANTOR_PROOF_MAX_JSON);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            rc = CANTOR_EXIT_OK;
            goto out;
        } else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (strcmp(argv[i], "--eth-address") == 0 && i + 1 < argc) {
            eth = argv[++i];
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            usage(stderr);
            goto out;
        }
    }
    if (!file || !key) {
        usage(stderr);
        goto out;
    }
    if (load_hex_arg(key, pk, sizeof(pk)) != 0) {
        fprintf(stderr, "cantor verify: --key must be 0x + 64 hex digits or a file holding them\n");
        goto out;
    }
    if (eth && (strlen(eth) != 42 || strncmp(eth, "0x", 2) != 0 ||
                cantor_hex_decode_exact(eth, addr, sizeof(addr)))) {
        fprintf(stderr, "cantor verify: --eth-address must be 0x + 40 hex digits\n");
        goto out;
    }
    if (cantor_cli_read_file("verify", file, &b) != 0)
        goto out;
    err = cantor_proof_parse((const char *)b.data, b.len, &doc);
    if (err) {
        fprintf(stderr, "cantor verify: %s: not a v1 proof document: %s\n", file, cantor_err_str(err));
        goto out;
    }
    err = cantor_proof_verify_ex(doc, pk, eth ? addr : NULL, &r);
    if (err) {
        fprintf(stderr, "cantor verify: FAILED: %s\n", r.message);
        rc = CANTOR_EXIT_FAIL;
        goto out;
    }
    cantor_hex_encode(r.value, CANTOR_HASH_LEN, value);
    printf("{\"verified\":true,\"type\":\"%s\",\"block\":%" PRIu64 ",\"checkpoint\":%" PRIu64
           ",\"present\":%s,\"value\":\"%s\",\"proofBytes\":%zu}\n",
           doc->type == CANTOR_PROOF_DELTA ? "delta" : "state", r.block_number, r.checkpoint_number,
           r.present ? "true" : "false", value, cantor_proof_size(doc));
    rc = CANTOR_EXIT_OK;
out:
    cantor_proof_doc_free(doc);
    cantor_buf_release(&b);
    return rc;
}
