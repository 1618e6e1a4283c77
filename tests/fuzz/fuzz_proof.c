/*
 * fuzz_proof.c - libFuzzer target for the Merkle-Patricia proof verifier and the eth_getProof JSON
 * parser. The first input byte picks the path:
 *   even: the rest is eth_getProof JSON; parse it and verify it against keccak256(accountProof[0])
 *         (so the first node always matches the root and the walker gets past it);
 *   odd:  the rest is a 32-byte key followed by nodes, each with a 2-byte big-endian length; verify
 *         them as a proof and as a path against keccak256(first node), and decode them as accounts.
 * Nothing is kept between runs; all memory is freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/keccak.h"
#include "core/mpt.h"
#include "core/proof_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_json(const uint8_t *data, size_t size)
{
    struct cantor_eth_proof *p = NULL;
    uint8_t root[32];
    char msg[128];

    if (cantor_proof_json_parse((const char *)data, size, &p, msg, sizeof(msg)))
        return;
    if (p->n_account_nodes > 0)
        cantor_keccak256(p->account_nodes[0].data, p->account_nodes[0].len, root);
    else
        cantor_keccak256("\x80", 1, root);
    cantor_eth_proof_verify(p, root, NULL, NULL, msg, sizeof(msg));
    cantor_eth_proof_free(p);
}

static void fuzz_nodes(const uint8_t *data, size_t size)
{
    struct cantor_bytes nodes[CANTOR_MPT_MAX_NODES];
    uint8_t nibbles[64], root[32], *value = NULL, word[32];
    struct cantor_account a;
    size_t n = 0, value_len = 0;
    bool exists;

    if (size < 32)
        return;
    for (size_t i = 0; i < 64; i++)
        nibbles[i] = (uint8_t)((i & 1) ? data[i / 2] & 0x0f : data[i / 2] >> 4);
    const uint8_t *key = data;
    data += 32;
    size -= 32;
    while (size >= 2 && n < CANTOR_MPT_MAX_NODES) {
        size_t len = (size_t)data[0] << 8 | data[1];

        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        nodes[n].data = data;
        nodes[n].len = len;
        n++;
        data += len;
        size -= len;
    }
    if (n == 0)
        return;
    cantor_keccak256(nodes[0].data, nodes[0].len, root);
    if (cantor_mpt_verify_proof(root, key, 32, nodes, n, &value, &value_len) == CANTOR_OK)
        free(value);
    cantor_mpt_verify_path(root, nibbles, key[0] % 65, nodes, n);
    cantor_mpt_verify_account_key(root, key, nodes, n, &exists, &a);
    cantor_mpt_verify_storage(root, key, nodes, n, word);
    for (size_t i = 0; i < n; i++)
        cantor_account_decode(nodes[i].data, nodes[i].len, &a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_nodes(data + 1, size - 1);
    else
        fuzz_json(data + 1, size - 1);
    return 0;
}
