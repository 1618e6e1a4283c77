/*
 * test_checkpoint.c - checkpoint message and signatures: a secp256k1 vector computed independently
 * with @noble/curves (ethereum-cryptography, RFC 6979) for the well-known key 0x4c08..2318 whose
 * address is 0x2c7536e3605d9c16a7a3d7b1898e529396a65c23; ed25519 keys from the RFC 8032 seed;
 * tampering of every field and signature byte; high-s and bad-v rejection; key files and modes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/hex.h"
#include "testutil.h"

static const char *SECP_SK = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
static const char *ETH_ADDR = "2c7536e3605d9c16a7a3d7b1898e529396a65c23";
static const char *DIGEST = "e9d9c8a5b2f36b407fb3d8a7cf47fa73451dbdc4560a55462c9d10855abcd4cb";
static const char *ETH_DIGEST = "bcc2c21e3158853f0f3aa8adec2ca2202ebbf5ca0608d6ca8d75ce1e79bac39f";
static const char *SIG = "a2535c7b5a2e8694e71d7cdc3eafd98df89e178a6342396515d1ba0429c415ee"
                         "5c37014a1f7025d1be5009fd3fe73fad089e84ab7176ae96af76aa7faea2bbd71c";
/* RFC 8032 section 7.1, test 1. */
static const char *ED_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *ED_PK = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

static void unhex(const char *s, uint8_t *out, size_t n)
{
    ck_assert_int_eq(cantor_hex_decode_exact(s, out, n), CANTOR_OK);
}

static struct cantor_checkpoint vector_cp(void)
{
    struct cantor_checkpoint c = {.chain_id = 1, .number = 17073191};

    memset(c.block_hash, 0xab, 32);
    memset(c.mmr_root, 0x5c, 32);
    return c;
}

static struct cantor_checkpoint_keys *vector_keys(void)
{
    uint8_t ed[32], sk[32];
    struct cantor_checkpoint_keys *k = NULL;

    unhex(ED_SEED, ed, 32);
    unhex(SECP_SK, sk, 32);
    ck_assert_int_eq(cantor_checkpoint_keys_from_seeds(ed, sk, &k), CANTOR_OK);
    return k;
}

START_TEST(test_vector)
{
    struct cantor_checkpoint c = vector_cp();
    struct cantor_checkpoint_keys *k = vector_keys();
    struct cantor_checkpoint_sigs sigs;
    uint8_t msg[128], d[32], want[65], addr[20];

    cantor_checkpoint_message(&c, msg);
    ck_assert_uint_eq(msg[31], 1);
    ck_assert_uint_eq(msg[60], 0x01); /* 17073191 = 0x01048427 */
    ck_assert_uint_eq(msg[61], 0x04);
    ck_assert_uint_eq(msg[62], 0x84);
    ck_assert_uint_eq(msg[63], 0x27);
    ck_assert_uint_eq(msg[64], 0xab);
    ck_assert_uint_eq(msg[127], 0x5c);
    cantor_checkpoint_digest(&c, d);
    unhex(DIGEST, want, 32);
    ck_assert_mem_eq(d, want, 32);
    cantor_checkpoint_eth_digest(&c, d);
    unhex(ETH_DIGEST, want, 32);
    ck_assert_mem_eq(d, want, 32);
    unhex(ETH_ADDR, want, 20);
    ck_assert_mem_eq(k->eth_addr, want, 20);
    unhex(ED_PK, want, 32);
    ck_assert_mem_eq(k->ed_pk, want, 32);

    ck_assert_int_eq(cantor_checkpoint_sign(k, &c, &sigs), CANTOR_OK);
    unhex(SIG, want, 65);
    ck_assert_mem_eq(sigs.secp256k1, want, 65); /* RFC 6979: same bytes as noble */
    ck_assert_int_eq(cantor_checkpoint_recover_eth(&c, sigs.secp256k1, addr), CANTOR_OK);
    ck_assert_mem_eq(addr, k->eth_addr, 20);
    ck_assert_int_eq(cantor_checkpoint_verify_ed25519(k->ed_pk, &c, sigs.ed25519), CANTOR_OK);
    cantor_checkpoint_keys_free(k);
    cantor_checkpoint_keys_free(NULL);
}
END_TEST

START_TEST(test_tamper)
{
    struct cantor_checkpoint c = vector_cp(), x;
    struct cantor_checkpoint_keys *k = vector_keys();
    struct cantor_checkpoint_sigs sigs, bad;
    uint8_t addr[20];

    ck_assert_int_eq(cantor_checkpoint_sign(k, &c, &sigs), CANTOR_OK);
    /* Every field of the checkpoint. */
    for (unsigned b = 0; b < 32; b++) {
        x = c;
        x.block_hash[b] ^= 1;
        ck_assert_int_eq(cantor_checkpoint_verify_ed25519(k->ed_pk, &x, sigs.ed25519), CANTOR_ERR_SIGNATURE);
        ck_assert(cantor_checkpoint_recover_eth(&x, sigs.secp256k1, addr) != CANTOR_OK ||
                  memcmp(addr, k->eth_addr, 20) != 0);
        x = c;
        x.mmr_root[b] ^= 1;
        ck_assert_int_eq(cantor_checkpoint_verify_ed25519(k->ed_pk, &x, sigs.ed25519), CANTOR_ERR_SIGNATURE);
        ck_assert(cantor_checkpoint_recover_eth(&x, sigs.secp256k1, addr) != CANTOR_OK ||
                  memcmp(addr, k->eth_addr, 20) != 0);
    }
    for (unsigned bit = 0; bit < 64; bit++) {
        x = c;
        x.number ^= UINT64_C(1) << bit;
        ck_assert_int_eq(cantor_checkpoint_verify_ed25519(k->ed_pk, &x, sigs.ed25519), CANTOR_ERR_SIGNATURE);
        x = c;
        x.chain_id ^= UINT64_C(1) << bit;
        ck_assert(cantor_checkpoint_recover_eth(&x, sigs.secp256k1, addr) != CANTOR_OK ||
                  memcmp(addr, k->eth_addr, 20) != 0);
    }
    /* Every signature byte. */
    for (unsigned b = 0; b < 64; b++) {
        bad = sigs;
        bad.ed25519[b] ^= 0x08;
        ck_assert_int_eq(cantor_checkpoint_verify_ed25519(k->ed_pk, &c, bad.ed25519), CANTOR_ERR_SIGNATURE);
    }
    for (unsigned b = 0; b < 65; b++) {
        bad = sigs;
        bad.secp256k1[b] ^= 0x01;
        ck_assert(cantor_checkpoint_recover_eth(&c, bad.secp256k1, addr) != CANTOR_OK ||
                  memcmp(addr, k->eth_addr, 20) != 0);
    }
    /* v outside {27, 28} */
    bad = sigs;
    bad.secp256k1[64] = 29;
    ck_assert_int_eq(cantor_checkpoint_recover_eth(&c, bad.secp256k1, addr), CANTOR_ERR_SIGNATURE);
    bad.secp256k1[64] = 1;
    ck_assert_int_eq(cantor_checkpoint_recover_eth(&c, bad.secp256k1, addr), CANTOR_ERR_SIGNATURE);
    /* High s (n - s, v flipped) recovers the same key in ecrecover but is malleable: refused. */
    {
        static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                      0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
        int borrow = 0;
        bad = sigs;
        for (int i = 31; i >= 0; i--) {
            int v = n[i] - sigs.secp256k1[32 + i] - borrow;
            borrow = v < 0;
            bad.secp256k1[32 + i] = (uint8_t)(v + (borrow ? 256 : 0));
        }
        bad.secp256k1[64] = sigs.secp256k1[64] == 27 ? 28 : 27;
        ck_assert_int_eq(cantor_checkpoint_recover_eth(&c, bad.secp256k1, addr), CANTOR_ERR_SIGNATURE);
    }
    /* Another key's signature. */
    {
        uint8_t other[32];
        memset(other, 0x42, 32);
        bad = sigs;
        ck_assert_int_eq(cantor_checkpoint_verify_ed25519(other, &c, bad.ed25519), CANTOR_ERR_SIGNATURE);
    }
    cantor_checkpoint_keys_free(k);
}
END_TEST

START_TEST(test_key_files)
{
    char dir[] = "/tmp/cantor_keys_XXXXXX", path[512], pub[80];
    struct cantor_checkpoint_keys *k = NULL, *k2 = NULL;
    struct stat st;
    uint8_t secret[32];
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(cantor_checkpoint_keys_load(dir, false, &k), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_checkpoint_keys_load(dir, true, &k), CANTOR_OK);
    snprintf(path, sizeof(path), "%s/checkpoint-ed25519.key", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/checkpoint-secp256k1.key", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    /* Loaded again: the same keys. */
    ck_assert_int_eq(cantor_checkpoint_keys_load(dir, true, &k2), CANTOR_OK);
    ck_assert_mem_eq(k->ed_pk, k2->ed_pk, 32);
    ck_assert_mem_eq(k->eth_addr, k2->eth_addr, 20);
    cantor_checkpoint_keys_free(k2);
    k2 = NULL;
    /* The public key file carries the ed25519 public key. */
    snprintf(path, sizeof(path), "%s/checkpoint-ed25519.pub", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(pub, sizeof(pub), f));
    fclose(f);
    pub[66] = '\0';
    ck_assert_int_eq(cantor_hex_decode_exact(pub, secret, 32), CANTOR_OK);
    ck_assert_mem_eq(secret, k->ed_pk, 32);
    /* Broader permissions are refused, for either file. */
    snprintf(path, sizeof(path), "%s/checkpoint-secp256k1.key", dir);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(cantor_checkpoint_keys_load(dir, true, &k2), CANTOR_ERR_AUTH);
    ck_assert_int_eq(cantor_checkpoint_key_file_read(path, secret), CANTOR_ERR_AUTH);
    ck_assert_int_eq(chmod(path, 0604), 0);
    ck_assert_int_eq(cantor_checkpoint_key_file_read(path, secret), CANTOR_ERR_AUTH);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(cantor_checkpoint_key_file_read(path, secret), CANTOR_OK);
    /* An existing file is never overwritten. */
    ck_assert_int_eq(cantor_checkpoint_key_file_create(path, secret), CANTOR_ERR_BUSY);
    /* Garbage in a key file. */
    snprintf(path, sizeof(path), "%s/bad.key", dir);
    {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "zz\n", 3), 3);
        close(fd);
    }
    ck_assert_int_ne(cantor_checkpoint_key_file_read(path, secret), CANTOR_OK);
    unlink(path);
    snprintf(path, sizeof(path), "%s/checkpoint-ed25519.key", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/checkpoint-secp256k1.key", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/checkpoint-ed25519.pub", dir);
    unlink(path);
    rmdir(dir);
    cantor_checkpoint_keys_free(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_vector);
    tcase_add_test(tc, test_tamper);
    tcase_add_test(tc, test_key_files);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
