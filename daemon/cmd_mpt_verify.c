/*
 * cmd_mpt_verify.c - `cantor mpt-verify FILE (--root 0xROOT | --header FILE) [--address 0xADDR]`:
 * check an eth_getProof answer (bare result, JSON-RPC response or recorded exchange) against a
 * state root given directly or taken from a block header, and print the proven account and storage
 * values as JSON. The header may be RLP hex, a JSON block/header object, or a recorded
 * eth_getBlockByNumber response; JSON headers are re-encoded and re-hashed (core/header.h), so a
 * header whose fields do not match its "hash" is rejected. Owner: engineer "mpt". All memory is
 * local to the command.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "core/header.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/mpt.h"
#include "core/proof_json.h"

#define HEADER_FILE_MAX (64u << 20) /* a full block with transactions can be several MB */

static void usage(FILE *f)
{
    fprintf(f, "usage: cantor mpt-verify FILE (--root 0xROOT | --header HEADERFILE) [--address 0xADDR]\n"
               "\n"
               "Verify an eth_getProof answer against a state root and print the proven account and\n"
               "storage values as JSON.\n"
               "  FILE          eth_getProof result object, JSON-RPC response, or recorded\n"
               "                [{\"request\", \"response\"}] exchange\n"
               "  --root R      the trusted 32-byte state root\n"
               "  --header H    a file holding the block header: RLP hex, a JSON block/header object,\n"
               "                or an eth_getBlockByNumber response (JSON headers are re-hashed)\n"
               "  --address A   the account address, for answers that do not name it\n"
               "exit status: 0 verified, 1 the proof or a claimed value does not check,\n"
               "             2 usage, I/O or unparseable input\n");
}

static int read_file(const char *path, size_t max, struct cantor_buf *b)
{
    cantor_buf_init(b, max);
    return cantor_cli_read_file("mpt-verify", path, b);
}

/* Trimmed text; true when it looks like bare hex (RLP), not JSON. */
static bool is_hex_text(const char *s, size_t len, const char **ret_start, size_t *ret_len)
{
    while (len && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == '\t'))
        len--;
    *ret_start = s;
    *ret_len = len;
    return len > 0 && s[0] != '{' && s[0] != '[' && s[0] != '"';
}

/*
 * Find the state root in a header file. *ret_header is filled when the header was decoded and
 * hashed; returns the exit code to use on failure, or 0.
 */
static int header_root(const char *path, uint8_t root[32], struct cantor_header *ret_header, bool *ret_hashed)
{
    struct cantor_buf b;
    const char *s;
    size_t len;
    json_t *top = NULL, *obj;
    json_error_t jerr;
    enum cantor_err err;
    int rc = CANTOR_EXIT_USAGE;

    *ret_hashed = false;
    if (read_file(path, HEADER_FILE_MAX, &b))
        goto out;
    if (is_hex_text((const char *)b.data, b.len, &s, &len)) {
        char *hex = strndup(s, len);
        uint8_t *raw = NULL;
        size_t raw_len = 0;

        if (!hex || cantor_hex_decode_alloc(hex, &raw, &raw_len)) {
            fprintf(stderr, "cantor mpt-verify: %s: not a hex string\n", path);
            free(hex);
            goto out;
        }
        free(hex);
        err = cantor_header_decode(raw, raw_len, ret_header);
        free(raw);
        if (err) {
            fprintf(stderr, "cantor mpt-verify: %s: not an RLP block header (%s)\n", path,
                    cantor_err_str(err));
            goto out;
        }
        memcpy(root, ret_header->state_root, 32);
        *ret_hashed = true;
        rc = 0;
        goto out;
    }
    top = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!top) {
        fprintf(stderr, "cantor mpt-verify: %s: malformed JSON at line %d: %s\n", path, jerr.line, jerr.text);
        goto out;
    }
    obj = top;
    if (json_is_array(obj) && json_array_size(obj) == 1)
        obj = json_object_get(json_array_get(obj, 0), "response");
    if (json_is_object(obj) && json_is_object(json_object_get(obj, "result")))
        obj = json_object_get(obj, "result");
    if (!json_is_object(obj) || !json_is_string(json_object_get(obj, "stateRoot"))) {
        fprintf(stderr, "cantor mpt-verify: %s: no block header with a \"stateRoot\" string found\n", path);
        goto out;
    }
    err = cantor_header_from_json(obj, ret_header);
    if (err == CANTOR_ERR_MISMATCH) {
        fprintf(stderr, "cantor mpt-verify: %s: the header's fields do not hash to its \"hash\"\n", path);
        rc = CANTOR_EXIT_FAIL;
        goto out;
    }
    if (err) {
        /* still usable: the root is what the file says, only not tied to a block hash */
        fprintf(stderr,
                "cantor mpt-verify: warning: %s: header not re-hashed (%s); using its stateRoot as is\n",
                path, cantor_err_str(err));
        if (cantor_hex_decode_exact(json_string_value(json_object_get(obj, "stateRoot")), root, 32)) {
            fprintf(stderr, "cantor mpt-verify: %s: \"stateRoot\" is not a 32-byte hex string\n", path);
            goto out;
        }
    } else {
        memcpy(root, ret_header->state_root, 32);
        *ret_hashed = true;
    }
    rc = 0;
out:
    json_decref(top);
    cantor_buf_release(&b);
    return rc;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char s[2 * 32 + 3];

    cantor_hex_encode(p, n, s);
    return json_string(s);
}

static json_t *quantity_json(const uint8_t word[32])
{
    char s[67];

    cantor_hex_encode_quantity(word, s);
    return json_string(s);
}

static int print_result(const struct cantor_eth_proof *p, const uint8_t root[32],
                        const struct cantor_account *a, bool exists, const struct cantor_header *h,
                        bool hashed)
{
    json_t *out = json_object(), *storage = json_array();
    uint8_t nonce[32] = {0};
    int rc;

    for (int i = 0; i < 8; i++)
        nonce[31 - i] = (uint8_t)(a->nonce >> (8 * i));
    json_object_set_new(out, "verified", json_true());
    json_object_set_new(out, "stateRoot", hex_json(root, 32));
    if (hashed) {
        json_object_set_new(out, "blockNumber", json_integer((json_int_t)h->number));
        json_object_set_new(out, "blockHash", hex_json(h->hash, 32));
    }
    json_object_set_new(out, "address", hex_json(p->address, 20));
    json_object_set_new(out, "exists", json_boolean(exists));
    json_object_set_new(out, "nonce", quantity_json(nonce));
    json_object_set_new(out, "balance", quantity_json(a->balance));
    json_object_set_new(out, "storageHash", hex_json(a->storage_root, 32));
    json_object_set_new(out, "codeHash", hex_json(a->code_hash, 32));
    for (size_t i = 0; i < p->n_storage; i++) {
        json_t *e = json_object();

        json_object_set_new(e, "key", hex_json(p->storage[i].key, 32));
        json_object_set_new(e, "value", quantity_json(p->storage[i].value));
        json_array_append_new(storage, e);
    }
    json_object_set_new(out, "storageProof", storage);
    rc =
        json_dumpf(out, stdout, JSON_INDENT(2)) == 0 && printf("\n") > 0 ? CANTOR_EXIT_OK : CANTOR_EXIT_USAGE;
    json_decref(out);
    return rc;
}

int cantor_cmd_mpt_verify(int argc, char **argv)
{
    const char *file = NULL, *root_arg = NULL, *header_arg = NULL, *addr_arg = NULL;
    struct cantor_eth_proof *p = NULL;
    struct cantor_header h;
    struct cantor_account a;
    struct cantor_buf b = {0};
    uint8_t root[32];
    bool exists = false, hashed = false;
    char msg[512];
    enum cantor_err err;
    int rc = CANTOR_EXIT_USAGE;

    memset(&h, 0, sizeof(h));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CANTOR_EXIT_OK;
        } else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            root_arg = argv[++i];
        } else if (strcmp(argv[i], "--header") == 0 && i + 1 < argc) {
            header_arg = argv[++i];
        } else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc) {
            addr_arg = argv[++i];
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            fprintf(stderr, "cantor mpt-verify: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return CANTOR_EXIT_USAGE;
        }
    }
    if (!file || (!root_arg == !header_arg)) {
        usage(stderr);
        return CANTOR_EXIT_USAGE;
    }
    if (root_arg && (strlen(root_arg) != 66 || cantor_hex_decode_exact(root_arg, root, 32))) {
        fprintf(stderr, "cantor mpt-verify: --root must be a 0x-prefixed 32-byte hex string\n");
        return CANTOR_EXIT_USAGE;
    }
    if (header_arg) {
        rc = header_root(header_arg, root, &h, &hashed);
        if (rc)
            return rc;
        rc = CANTOR_EXIT_USAGE;
    }
    if (read_file(file, CANTOR_PROOF_JSON_MAX, &b))
        goto out;
    err = cantor_proof_json_parse((const char *)b.data, b.len, &p, msg, sizeof(msg));
    if (err) {
        fprintf(stderr, "cantor mpt-verify: %s: %s\n", file, msg);
        rc = err == CANTOR_ERR_RPC ? CANTOR_EXIT_FAIL : CANTOR_EXIT_USAGE;
        goto out;
    }
    if (addr_arg) {
        uint8_t addr[20];

        if (strlen(addr_arg) != 42 || cantor_hex_decode_exact(addr_arg, addr, 20)) {
            fprintf(stderr, "cantor mpt-verify: --address must be a 0x-prefixed 20-byte hex string\n");
            goto out;
        }
        if (p->has_address && memcmp(addr, p->address, 20) != 0) {
            fprintf(stderr, "cantor mpt-verify: --address differs from the answer's \"address\"\n");
            rc = CANTOR_EXIT_FAIL;
            goto out;
        }
        memcpy(p->address, addr, 20);
        p->has_address = true;
    }
    if (!p->has_address) {
        fprintf(stderr, "cantor mpt-verify: %s names no address; pass --address\n", file);
        goto out;
    }
    err = cantor_eth_proof_verify(p, root, &a, &exists, msg, sizeof(msg));
    if (err) {
        fprintf(stderr, "cantor mpt-verify: FAILED: %s\n", msg);
        rc = CANTOR_EXIT_FAIL;
        goto out;
    }
    rc = print_result(p, root, &a, exists, &h, hashed);
out:
    cantor_eth_proof_free(p);
    cantor_buf_release(&b);
    return rc;
}
