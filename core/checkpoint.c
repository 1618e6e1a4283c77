/*
 * checkpoint.c - checkpoint messages, key files and signatures (see checkpoint.h). Secrets live only
 * in cantor_checkpoint_keys and stack buffers that are wiped with sodium_memzero. The secp256k1
 * context is created once (pthread_once) and only read afterwards, so signing is thread-safe.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"

static secp256k1_context *secp_ctx;
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;

static void secp_init(void)
{
    secp_ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    if (secp_ctx) {
        unsigned char seed[32];
        randombytes_buf(seed, sizeof(seed));
        /* Blinding against side channels; failure only loses the blinding. */
        if (!secp256k1_context_randomize(secp_ctx, seed))
            seed[0] ^= 1;
    }
}

static enum cantor_err crypto_ready(void)
{
    if (sodium_init() < 0)
        return CANTOR_ERR_UNSUPPORTED;
    pthread_once(&secp_once, secp_init);
    return secp_ctx ? CANTOR_OK : CANTOR_ERR_NOMEM;
}

static void be_word(uint8_t w[32], uint64_t v)
{
    memset(w, 0, 32);
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
}

void cantor_checkpoint_message(const struct cantor_checkpoint *c, uint8_t out[CANTOR_CHECKPOINT_MSG_LEN])
{
    be_word(out, c->chain_id);
    be_word(out + 32, c->number);
    memcpy(out + 64, c->block_hash, 32);
    memcpy(out + 96, c->mmr_root, 32);
}

void cantor_checkpoint_digest(const struct cantor_checkpoint *c, uint8_t out[CANTOR_HASH_LEN])
{
    uint8_t msg[CANTOR_CHECKPOINT_MSG_LEN];

    cantor_checkpoint_message(c, msg);
    cantor_keccak256(msg, sizeof(msg), out);
}

void cantor_checkpoint_eth_digest(const struct cantor_checkpoint *c, uint8_t out[CANTOR_HASH_LEN])
{
    static const char prefix[] = "\x19"
                                 "Ethereum Signed Message:\n32";
    uint8_t buf[sizeof(prefix) - 1 + CANTOR_HASH_LEN];

    memcpy(buf, prefix, sizeof(prefix) - 1);
    cantor_checkpoint_digest(c, buf + sizeof(prefix) - 1);
    cantor_keccak256(buf, sizeof(buf), out);
}

static void eth_address(const secp256k1_pubkey *pub, uint8_t ret_addr[CANTOR_ETH_ADDR_LEN])
{
    uint8_t ser[65], h[CANTOR_HASH_LEN];
    size_t len = sizeof(ser);

    secp256k1_ec_pubkey_serialize(secp_ctx, ser, &len, pub, SECP256K1_EC_UNCOMPRESSED);
    cantor_keccak256(ser + 1, 64, h);
    memcpy(ret_addr, h + 12, CANTOR_ETH_ADDR_LEN);
}

enum cantor_err cantor_checkpoint_keys_from_seeds(const uint8_t ed_seed[32], const uint8_t secp_sk[32],
                                                  struct cantor_checkpoint_keys **ret_keys)
{
    struct cantor_checkpoint_keys *k;
    secp256k1_pubkey pub;
    enum cantor_err err = crypto_ready();

    if (err)
        return err;
    k = sodium_malloc(sizeof(*k));
    if (!k)
        return CANTOR_ERR_NOMEM;
    if (crypto_sign_ed25519_seed_keypair(k->ed_pk, k->ed_sk, ed_seed) != 0 ||
        !secp256k1_ec_pubkey_create(secp_ctx, &pub, secp_sk)) {
        sodium_free(k);
        return CANTOR_ERR_INVALID;
    }
    memcpy(k->secp_sk, secp_sk, 32);
    eth_address(&pub, k->eth_addr);
    *ret_keys = k;
    return CANTOR_OK;
}

void cantor_checkpoint_keys_free(struct cantor_checkpoint_keys *k)
{
    if (k)
        sodium_free(k); /* wipes the secrets */
}

enum cantor_err cantor_checkpoint_key_file_read(const char *path, uint8_t ret_secret[32])
{
    char text[CANTOR_KEY_FILE_MAX + 1];
    struct stat st;
    enum cantor_err err = CANTOR_OK;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return errno == ENOENT ? CANTOR_ERR_NOT_FOUND : CANTOR_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = CANTOR_ERR_IO;
        goto out;
    }
    if (st.st_mode & 0077) {
        err = CANTOR_ERR_AUTH; /* a secret others can read is not a secret */
        goto out;
    }
    n = read(fd, text, CANTOR_KEY_FILE_MAX + 1);
    if (n < 0) {
        err = CANTOR_ERR_IO;
        goto out;
    }
    if (n > CANTOR_KEY_FILE_MAX) {
        err = CANTOR_ERR_TOO_LARGE;
        goto out;
    }
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    text[n] = '\0';
    err = cantor_hex_decode_exact(text, ret_secret, 32);
out:
    sodium_memzero(text, sizeof(text));
    close(fd);
    return err;
}

static enum cantor_err write_file(const char *path, const char *text, mode_t mode)
{
    size_t len = strlen(text), off = 0;
    enum cantor_err err = CANTOR_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

    if (fd < 0)
        return errno == EEXIST ? CANTOR_ERR_BUSY : CANTOR_ERR_IO;
    /* The umask may only narrow the mode; make it exact. */
    if (fchmod(fd, mode) != 0)
        err = CANTOR_ERR_IO;
    while (!err && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0)
            err = CANTOR_ERR_IO;
        else
            off += (size_t)w;
    }
    if (!err && fsync(fd) != 0)
        err = CANTOR_ERR_IO;
    close(fd);
    if (err)
        unlink(path);
    return err;
}

enum cantor_err cantor_checkpoint_key_file_create(const char *path, const uint8_t secret[32])
{
    char text[2 * 32 + 4];
    enum cantor_err err;

    cantor_hex_encode(secret, 32, text);
    text[66] = '\n';
    text[67] = '\0';
    err = write_file(path, text, 0600);
    sodium_memzero(text, sizeof(text));
    return err;
}

static enum cantor_err load_or_create(const char *dir, const char *name, bool create, bool secp,
                                      uint8_t ret_secret[32])
{
    char path[4096];
    enum cantor_err err;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return CANTOR_ERR_TOO_LARGE;
    err = cantor_checkpoint_key_file_read(path, ret_secret);
    if (err != CANTOR_ERR_NOT_FOUND || !create)
        return err;
    /* A secp256k1 secret must be below the group order; retry the (astronomically rare) misses. */
    for (int tries = 0; tries < 16; tries++) {
        randombytes_buf(ret_secret, 32);
        if (!secp || secp256k1_ec_seckey_verify(secp_ctx, ret_secret))
            return cantor_checkpoint_key_file_create(path, ret_secret);
    }
    return CANTOR_ERR_INVALID;
}

enum cantor_err cantor_checkpoint_keys_load(const char *dir, bool create,
                                            struct cantor_checkpoint_keys **ret_keys)
{
    uint8_t ed_seed[32], secp_sk[32];
    char path[4096], pub[2 * CANTOR_ED25519_PK_LEN + 4];
    struct cantor_checkpoint_keys *k = NULL;
    enum cantor_err err = crypto_ready();

    if (err)
        return err;
    err = load_or_create(dir, "checkpoint-ed25519.key", create, false, ed_seed);
    if (!err)
        err = load_or_create(dir, "checkpoint-secp256k1.key", create, true, secp_sk);
    if (!err)
        err = cantor_checkpoint_keys_from_seeds(ed_seed, secp_sk, &k);
    if (err)
        goto out;
    if ((size_t)snprintf(path, sizeof(path), "%s/checkpoint-ed25519.pub", dir) < sizeof(path)) {
        cantor_hex_encode(k->ed_pk, CANTOR_ED25519_PK_LEN, pub);
        pub[2 * CANTOR_ED25519_PK_LEN + 2] = '\n';
        pub[2 * CANTOR_ED25519_PK_LEN + 3] = '\0';
        (void)write_file(path, pub, 0644); /* convenience copy; exists already after first start */
    }
    *ret_keys = k;
    k = NULL;
out:
    sodium_memzero(ed_seed, sizeof(ed_seed));
    sodium_memzero(secp_sk, sizeof(secp_sk));
    cantor_checkpoint_keys_free(k);
    return err;
}

enum cantor_err cantor_checkpoint_sign(const struct cantor_checkpoint_keys *k,
                                       const struct cantor_checkpoint *c,
                                       struct cantor_checkpoint_sigs *ret_sigs)
{
    uint8_t msg[CANTOR_CHECKPOINT_MSG_LEN], eth[CANTOR_HASH_LEN];
    secp256k1_ecdsa_recoverable_signature rs;
    enum cantor_err err = crypto_ready();
    int recid;

    if (err)
        return err;
    cantor_checkpoint_message(c, msg);
    if (crypto_sign_ed25519_detached(ret_sigs->ed25519, NULL, msg, sizeof(msg), k->ed_sk) != 0)
        return CANTOR_ERR_SIGNATURE;
    cantor_checkpoint_eth_digest(c, eth);
    if (!secp256k1_ecdsa_sign_recoverable(secp_ctx, &rs, eth, k->secp_sk, NULL, NULL))
        return CANTOR_ERR_SIGNATURE;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(secp_ctx, ret_sigs->secp256k1, &recid, &rs);
    ret_sigs->secp256k1[64] = (uint8_t)(27 + recid);
    return CANTOR_OK;
}

enum cantor_err cantor_checkpoint_verify_ed25519(const uint8_t pk[CANTOR_ED25519_PK_LEN],
                                                 const struct cantor_checkpoint *c,
                                                 const uint8_t sig[CANTOR_ED25519_SIG_LEN])
{
    uint8_t msg[CANTOR_CHECKPOINT_MSG_LEN];

    if (sodium_init() < 0)
        return CANTOR_ERR_UNSUPPORTED;
    cantor_checkpoint_message(c, msg);
    if (crypto_sign_ed25519_verify_detached(sig, msg, sizeof(msg), pk) != 0)
        return CANTOR_ERR_SIGNATURE;
    return CANTOR_OK;
}

enum cantor_err cantor_checkpoint_recover_eth(const struct cantor_checkpoint *c,
                                              const uint8_t sig[CANTOR_SECP_SIG_LEN],
                                              uint8_t ret_addr[CANTOR_ETH_ADDR_LEN])
{
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_ecdsa_signature plain, norm;
    secp256k1_pubkey pub;
    uint8_t eth[CANTOR_HASH_LEN];
    enum cantor_err err = crypto_ready();

    if (err)
        return err;
    if (sig[64] != 27 && sig[64] != 28)
        return CANTOR_ERR_SIGNATURE;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(secp_ctx, &rs, sig, sig[64] - 27))
        return CANTOR_ERR_SIGNATURE;
    secp256k1_ecdsa_recoverable_signature_convert(secp_ctx, &plain, &rs);
    /* Reject high s: OZ ECDSA.recover does, and malleable signatures have no place in a checkpoint. */
    if (secp256k1_ecdsa_signature_normalize(secp_ctx, &norm, &plain))
        return CANTOR_ERR_SIGNATURE;
    cantor_checkpoint_eth_digest(c, eth);
    if (!secp256k1_ecdsa_recover(secp_ctx, &pub, &rs, eth))
        return CANTOR_ERR_SIGNATURE;
    eth_address(&pub, ret_addr);
    return CANTOR_OK;
}
