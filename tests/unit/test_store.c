/*
 * test_store.c - the store (storage/): every test runs on both backends, the in-memory map and
 * RocksDB in a mkdtemp directory (Check loop index 0 = mem, 1 = rocksdb).
 *
 * A deterministic synthetic chain (64 keys, 1-12 changes per block, code blobs) is replayed in the
 * test to get the reference value of every key at every block; the store must answer each of those
 * from its history index. Real mainnet deltas (blocks 17,073,191-192) check the strict old-value
 * chaining. The crash test SIGKILLs a child that is writing and checks the reopened store sits
 * exactly on a block boundary.
 */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/delta.h"
#include "core/delta_json.h"
#include "core/keccak.h"
#include "storage/keys.h"
#include "storage/schema.h"
#include "storage/store.h"
#include "testutil.h"

#define NKEYS       64
#define FIRST_BLOCK 1000

/* ---- the synthetic chain and its reference replay ---- */

struct tkey {
    uint8_t addr[20];
    uint8_t kind;
    uint8_t slot[32];
};

struct tblock {
    uint8_t hash[32], parent[32], header[48];
    struct cantor_delta *delta;
    uint8_t state[NKEYS][32]; /* every key's value after this block */
    bool changed[NKEYS];
};

struct chain {
    uint64_t first;
    size_t n;
    struct tblock *b;
    uint8_t genesis[NKEYS][32];
};

static struct tkey keys[NKEYS];

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill(uint64_t *rng, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)splitmix(rng);
}

static void keys_init(void)
{
    uint64_t rng = 42;

    for (int k = 0; k < NKEYS; k++) {
        /* 16 accounts, 4 keys each, storage slots spread over them */
        memset(&keys[k], 0, sizeof(keys[k]));
        keys[k].addr[0] = 0xa0;
        keys[k].addr[19] = (uint8_t)(k / 4);
        keys[k].kind = (uint8_t)(k % 4);
        if (keys[k].kind == CANTOR_KIND_STORAGE)
            fill(&rng, keys[k].slot, 32);
    }
}

/* Blocks before index `fork` use seed_a, later ones seed_b: two branches share their prefix. */
static void chain_build(struct chain *c, uint64_t first, size_t n, uint64_t seed_a, uint64_t seed_b,
                        size_t fork)
{
    uint8_t cur[NKEYS][32], prev_hash[32];
    uint64_t rng = 7;

    memset(c, 0, sizeof(*c));
    c->first = first;
    c->n = n;
    c->b = calloc(n, sizeof(*c->b));
    ck_assert_ptr_nonnull(c->b);
    for (int k = 0; k < NKEYS; k++)
        fill(&rng, c->genesis[k], 32);
    memcpy(cur, c->genesis, sizeof(cur));
    memset(prev_hash, 0x11, 32);
    for (size_t i = 0; i < n; i++) {
        struct tblock *b = &c->b[i];
        uint64_t num = first + i;
        uint64_t r = (i < fork ? seed_a : seed_b) * 1000003u + num;
        size_t m = 1 + splitmix(&r) % 12;

        ck_assert_int_eq(cantor_delta_new(num, &b->delta), CANTOR_OK);
        for (size_t j = 0; j < m; j++) {
            int k = (int)(splitmix(&r) % NKEYS);
            struct cantor_delta_entry e;
            uint64_t pick = splitmix(&r) % 4;

            if (b->changed[k])
                continue;
            b->changed[k] = true;
            memset(&e, 0, sizeof(e));
            memcpy(e.addr, keys[k].addr, 20);
            e.kind = keys[k].kind;
            memcpy(e.slot, keys[k].slot, 32);
            memcpy(e.old_val, cur[k], 32);
            if (keys[k].kind == CANTOR_KIND_CODE) {
                uint8_t code[64];
                size_t len = 1 + splitmix(&r) % sizeof(code);

                fill(&r, code, len);
                cantor_keccak256(code, len, e.new_val);
                ck_assert_int_eq(cantor_delta_add_code(b->delta, e.new_val, code, len), CANTOR_OK);
            } else if (pick == 0) {
                memset(e.new_val, 0, 32);
            } else if (pick == 1) {
                e.new_val[31] = (uint8_t)(1 + splitmix(&r) % 200);
            } else {
                fill(&r, e.new_val, 32);
            }
            if (memcmp(e.new_val, e.old_val, 32) == 0)
                e.new_val[0] ^= 0x80; /* a change must change something */
            memcpy(cur[k], e.new_val, 32);
            ck_assert_int_eq(cantor_delta_add(b->delta, &e), CANTOR_OK);
        }
        ck_assert_int_eq(cantor_delta_finish(b->delta), CANTOR_OK);
        memcpy(b->state, cur, sizeof(cur));
        memcpy(b->parent, prev_hash, 32);
        memcpy(b->header, "hdr:", 4);
        cantor_be64_put(b->header + 4, num);
        memcpy(b->header + 12, prev_hash, 32);
        cantor_be32_put(b->header + 44, (uint32_t)(i < fork ? seed_a : seed_b));
        cantor_keccak256(b->header, sizeof(b->header), b->hash);
        memcpy(prev_hash, b->hash, 32);
    }
}

static void chain_free(struct chain *c)
{
    for (size_t i = 0; i < c->n; i++)
        cantor_delta_free(c->b[i].delta);
    free(c->b);
}

static void block_meta(const struct chain *c, size_t i, struct cantor_block_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->number = c->first + i;
    memcpy(m->hash, c->b[i].hash, 32);
    memcpy(m->parent_hash, c->b[i].parent, 32);
    cantor_keccak256(c->b[i].state, sizeof(c->b[i].state), m->state_root);
    m->timestamp = 1600000000u + 12 * m->number;
    m->header_rlp = (uint8_t *)c->b[i].header;
    m->header_rlp_len = sizeof(c->b[i].header);
}

static enum cantor_err apply(struct cantor_store *s, const struct chain *c, size_t i)
{
    struct cantor_block_meta m;

    block_meta(c, i, &m);
    return cantor_store_apply_block(s, &m, c->b[i].delta, NULL, 0);
}

/*
 * Check the store holds blocks [0, n) of c: head, headers, latest state and the value of every key
 * at every block from `from` on (reference by replay).
 */
static void verify(struct cantor_store *s, const struct chain *c, size_t n, size_t from)
{
    uint8_t hash[32], v[32];
    uint64_t head, num;
    bool empty, known;
    int first_change[NKEYS];

    ck_assert_int_eq(cantor_store_head(s, &head, hash, &empty), CANTOR_OK);
    if (n == 0) {
        ck_assert(empty);
        return;
    }
    ck_assert(!empty);
    ck_assert_uint_eq(head, c->first + n - 1);
    ck_assert_mem_eq(hash, c->b[n - 1].hash, 32);
    ck_assert_int_eq(cantor_store_get_block_hash(s, c->first + n, hash), CANTOR_ERR_NOT_FOUND);
    for (int k = 0; k < NKEYS; k++) {
        first_change[k] = -1;
        for (size_t i = 0; i < n && first_change[k] < 0; i++)
            if (c->b[i].changed[k])
                first_change[k] = (int)i;
        ck_assert_int_eq(cantor_store_latest(s, keys[k].addr, keys[k].kind, keys[k].slot, v, &known),
                         CANTOR_OK);
        ck_assert(known == (first_change[k] >= 0));
        if (known)
            ck_assert_mem_eq(v, c->b[n - 1].state[k], 32);
    }
    for (size_t i = from; i < n; i++) {
        ck_assert_int_eq(cantor_store_get_block_hash(s, c->first + i, hash), CANTOR_OK);
        ck_assert_mem_eq(hash, c->b[i].hash, 32);
        ck_assert_int_eq(cantor_store_find_block_by_hash(s, c->b[i].hash, &num), CANTOR_OK);
        ck_assert_uint_eq(num, c->first + i);
        for (int k = 0; k < NKEYS; k++) {
            ck_assert_int_eq(
                cantor_store_get_value(s, keys[k].addr, keys[k].kind, keys[k].slot, c->first + i, v, &known),
                CANTOR_OK);
            ck_assert_msg(known == (first_change[k] >= 0), "block %zu key %d", i, k);
            if (known)
                ck_assert_msg(memcmp(v, c->b[i].state[k], 32) == 0, "value of key %d at block %zu", k, i);
        }
        /* the one-iterator account read answers exactly what three single reads answer */
        for (int k = 0; k < NKEYS; k++) {
            static const uint8_t kinds[3] = {CANTOR_KIND_BALANCE, CANTOR_KIND_NONCE, CANTOR_KIND_CODE};
            uint8_t av[3][32];
            bool ak[3];

            ck_assert_int_eq(cantor_store_get_account(s, keys[k].addr, c->first + i, av, ak), CANTOR_OK);
            for (int f = 0; f < 3; f++) {
                ck_assert_int_eq(
                    cantor_store_get_value(s, keys[k].addr, kinds[f], NULL, c->first + i, v, &known),
                    CANTOR_OK);
                ck_assert_msg(ak[f] == known && memcmp(av[f], v, 32) == 0, "account %d field %d block %zu", k,
                              f, i);
            }
        }
    }
    {
        uint8_t av[3][32];
        bool ak[3];

        ck_assert_int_eq(cantor_store_get_account(s, keys[0].addr, c->first + n, av, ak),
                         CANTOR_ERR_NOT_FOUND);
    }
}

/* ---- both backends ---- */

struct tstore {
    int backend; /* 0 mem, 1 rocksdb */
    char dir[64];
    struct cantor_kv *kv;
    struct cantor_store *s;
    struct cantor_store_opts o;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static enum cantor_err kv_open(struct tstore *t)
{
    struct cantor_kv_rocksdb_opts ro = {.path = t->dir, .compression = "lz4"};

    if (t->backend == 0)
        return t->kv ? CANTOR_OK : cantor_kv_mem_open(&t->kv);
    return cantor_kv_rocksdb_open(&ro, &t->kv);
}

static void ts_open(struct tstore *t, int backend)
{
    memset(t, 0, sizeof(*t));
    t->backend = backend;
    t->o.chain_id = 1;
    if (backend) {
        snprintf(t->dir, sizeof(t->dir), "/tmp/cantor-store-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->dir));
    }
    ck_assert_int_eq(kv_open(t), CANTOR_OK);
    ck_assert_int_eq(cantor_store_open_kv(&t->o, t->kv, &t->s), CANTOR_OK);
}

/* Close the store (and RocksDB) and open again: what a restart sees. Returns the open error. */
static enum cantor_err ts_reopen(struct tstore *t)
{
    enum cantor_err err;

    cantor_store_close(t->s);
    t->s = NULL;
    if (t->backend) {
        cantor_kv_close(t->kv);
        t->kv = NULL;
    }
    err = kv_open(t);
    if (err)
        return err;
    return cantor_store_open_kv(&t->o, t->kv, &t->s);
}

static void ts_close(struct tstore *t)
{
    cantor_store_close(t->s);
    cantor_kv_close(t->kv);
    if (t->backend)
        rm_rf(t->dir);
}

static void kv_put_meta(struct cantor_kv *kv, const char *key, const void *val, size_t len)
{
    struct cantor_kv_batch b;

    cantor_kv_batch_init(&b);
    ck_assert_int_eq(cantor_kv_batch_put(&b, CANTOR_CF_META, key, strlen(key), val, len), CANTOR_OK);
    ck_assert_int_eq(kv->ops->write(kv, &b, true), CANTOR_OK);
    cantor_kv_batch_release(&b);
}

/* ---- tests ---- */

START_TEST(test_apply_rollback)
{
    struct tstore t;
    struct chain c;
    struct cantor_delta *d;
    struct cantor_block_meta m;
    struct cantor_buf want;
    uint8_t v[32], *bytes;
    size_t len;
    uint64_t nh;
    bool known, empty;

    ts_open(&t, _i);
    chain_build(&c, FIRST_BLOCK, 150, 1, 1, 150);
    verify(t.s, &c, 0, 0);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_int_eq(apply(t.s, &c, i), CANTOR_OK);
    verify(t.s, &c, c.n, 0);
    /* above the head: not found; before the first followed block: unknown */
    ck_assert_int_eq(
        cantor_store_get_value(t.s, keys[0].addr, keys[0].kind, NULL, FIRST_BLOCK + 150, v, &known),
        CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(
        cantor_store_get_value(t.s, keys[0].addr, keys[0].kind, NULL, FIRST_BLOCK - 1, v, &known), CANTOR_OK);
    ck_assert(!known);
    ck_assert_int_eq(
        cantor_store_get_value(t.s, keys[3].addr, CANTOR_KIND_STORAGE, NULL, FIRST_BLOCK, v, &known),
        CANTOR_ERR_INVALID);
    /* stored deltas and headers are byte-exact */
    for (size_t i = 0; i < c.n; i += 7) {
        cantor_buf_init(&want, 0);
        ck_assert_int_eq(cantor_delta_encode(c.b[i].delta, &want), CANTOR_OK);
        ck_assert_int_eq(cantor_store_get_delta_bytes(t.s, FIRST_BLOCK + i, &bytes, &len), CANTOR_OK);
        ck_assert_uint_eq(len, want.len);
        ck_assert_mem_eq(bytes, want.data, len);
        free(bytes);
        cantor_buf_release(&want);
        ck_assert_int_eq(cantor_store_get_delta(t.s, FIRST_BLOCK + i, &d), CANTOR_OK);
        ck_assert_uint_eq(d->n_entries, c.b[i].delta->n_entries);
        ck_assert_mem_eq(d->entries, c.b[i].delta->entries, d->n_entries * sizeof(*d->entries));
        cantor_delta_free(d);
        ck_assert_int_eq(cantor_store_get_header(t.s, FIRST_BLOCK + i, &m), CANTOR_OK);
        ck_assert_uint_eq(m.header_rlp_len, sizeof(c.b[i].header));
        ck_assert_mem_eq(m.header_rlp, c.b[i].header, sizeof(c.b[i].header));
        ck_assert_mem_eq(m.parent_hash, c.b[i].parent, 32);
        ck_assert_uint_eq(m.timestamp, 1600000000u + 12 * (FIRST_BLOCK + i));
        cantor_block_meta_release(&m);
    }
    /* roll back 50, one at a time, state and history follow */
    for (size_t i = c.n; i > 100; i--) {
        ck_assert_int_eq(cantor_store_rollback(t.s, &nh, &empty), CANTOR_OK);
        ck_assert(!empty);
        ck_assert_uint_eq(nh, FIRST_BLOCK + i - 2);
        if (i % 10 == 0)
            verify(t.s, &c, i - 1, i > 20 ? i - 20 : 0);
    }
    verify(t.s, &c, 100, 0);
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    verify(t.s, &c, 100, 90);
    /* all the way down to an empty store, then follow again */
    for (size_t i = 100; i > 0; i--) {
        ck_assert_int_eq(cantor_store_rollback(t.s, &nh, &empty), CANTOR_OK);
        ck_assert(empty == (i == 1));
    }
    ck_assert_int_eq(cantor_store_rollback(t.s, &nh, &empty), CANTOR_ERR_NOT_FOUND);
    verify(t.s, &c, 0, 0);
    ck_assert_int_eq(cantor_store_get_block_hash(t.s, FIRST_BLOCK, v), CANTOR_ERR_NOT_FOUND);
    for (size_t i = 0; i < 30; i++)
        ck_assert_int_eq(apply(t.s, &c, i), CANTOR_OK);
    verify(t.s, &c, 30, 0);
    ts_close(&t);
    chain_free(&c);
}
END_TEST

START_TEST(test_reorg)
{
    struct tstore t;
    struct chain a, b;
    struct cantor_block_meta m;
    struct cantor_delta *bad;
    struct cantor_delta_entry e;
    uint64_t nh;
    bool empty;

    ts_open(&t, _i);
    chain_build(&a, FIRST_BLOCK, 60, 1, 2, 60);
    chain_build(&b, FIRST_BLOCK, 80, 1, 2, 40); /* shares blocks [0, 40) with a */
    for (size_t i = 0; i < 60; i++)
        ck_assert_int_eq(apply(t.s, &a, i), CANTOR_OK);
    /* wrong number, then wrong parent */
    ck_assert_int_eq(apply(t.s, &b, 61), CANTOR_ERR_INVALID);
    ck_assert_int_eq(apply(t.s, &a, 59), CANTOR_ERR_INVALID);
    while (1) {
        ck_assert_int_eq(cantor_store_rollback(t.s, &nh, &empty), CANTOR_OK);
        if (nh == FIRST_BLOCK + 49)
            break;
    }
    ck_assert_int_eq(apply(t.s, &b, 50), CANTOR_ERR_REORG);
    verify(t.s, &a, 50, 30);
    while (nh > FIRST_BLOCK + 39)
        ck_assert_int_eq(cantor_store_rollback(t.s, &nh, &empty), CANTOR_OK);
    for (size_t i = 40; i < 80; i++)
        ck_assert_int_eq(apply(t.s, &b, i), CANTOR_OK);
    verify(t.s, &b, 80, 0);
    ck_assert_int_eq(cantor_store_find_block_by_hash(t.s, a.b[45].hash, &nh), CANTOR_ERR_NOT_FOUND);

    /* deltas that disagree with the store are refused and change nothing */
    block_meta(&b, 79, &m);
    m.number = FIRST_BLOCK + 80;
    memcpy(m.parent_hash, b.b[79].hash, 32);
    m.header_rlp = NULL;
    m.header_rlp_len = 0;
    ck_assert_int_eq(cantor_delta_new(FIRST_BLOCK + 81, &bad), CANTOR_OK);
    ck_assert_int_eq(cantor_store_apply_block(t.s, &m, bad, NULL, 0), CANTOR_ERR_MISMATCH);
    bad->block_number = FIRST_BLOCK + 80;
    memset(&e, 0, sizeof(e));
    memcpy(e.addr, keys[1].addr, 20);
    e.kind = keys[1].kind;
    memcpy(e.old_val, b.b[79].state[1], 32);
    e.old_val[5] ^= 1; /* not what the store holds */
    ck_assert_int_eq(cantor_delta_add(bad, &e), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_finish(bad), CANTOR_OK);
    ck_assert_int_eq(cantor_store_apply_block(t.s, &m, bad, NULL, 0), CANTOR_ERR_MISMATCH);
    m.header_rlp = (uint8_t *)"not the header";
    m.header_rlp_len = 14;
    ck_assert_int_eq(cantor_store_apply_block(t.s, &m, b.b[0].delta, NULL, 0), CANTOR_ERR_MISMATCH);
    cantor_delta_free(bad);
    verify(t.s, &b, 80, 70);
    ts_close(&t);
    chain_free(&a);
    chain_free(&b);
}
END_TEST

START_TEST(test_schema_newer)
{
    struct tstore t;
    uint8_t v[4];
    uint32_t ver;

    ts_open(&t, _i);
    ck_assert_int_eq(cantor_schema_read(t.kv, &ver), CANTOR_OK);
    ck_assert_uint_eq(ver, CANTOR_STORE_SCHEMA_VERSION);
    cantor_be32_put(v, CANTOR_STORE_SCHEMA_VERSION + 1);
    kv_put_meta(t.kv, CANTOR_META_SCHEMA, v, 4);
    ck_assert_int_eq(ts_reopen(&t), CANTOR_ERR_SCHEMA);
    ck_assert_ptr_null(t.s);
    ts_close(&t);
}
END_TEST

START_TEST(test_migration_v0)
{
    struct tstore t;
    struct chain c;
    uint8_t v[8], hash[32];
    uint64_t head;
    uint32_t ver;
    bool empty;

    ts_open(&t, _i);
    chain_build(&c, FIRST_BLOCK, 12, 3, 3, 12);
    for (size_t i = 0; i < 10; i++)
        ck_assert_int_eq(apply(t.s, &c, i), CANTOR_OK);
    /* turn it into a v0 store: version 0, head pointer without the hash */
    cantor_be32_put(v, 0);
    kv_put_meta(t.kv, CANTOR_META_SCHEMA, v, 4);
    cantor_be64_put(v, FIRST_BLOCK + 9);
    kv_put_meta(t.kv, CANTOR_META_HEAD, v, 8);
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    ck_assert_int_eq(cantor_schema_read(t.kv, &ver), CANTOR_OK);
    ck_assert_uint_eq(ver, 1);
    ck_assert_int_eq(cantor_store_head(t.s, &head, hash, &empty), CANTOR_OK);
    ck_assert(!empty);
    ck_assert_uint_eq(head, FIRST_BLOCK + 9);
    ck_assert_mem_eq(hash, c.b[9].hash, 32);
    ck_assert_int_eq(apply(t.s, &c, 10), CANTOR_OK);
    ck_assert_int_eq(apply(t.s, &c, 11), CANTOR_OK);
    verify(t.s, &c, 12, 0);
    /* a v0 head that names a missing header is corrupt, not silently accepted */
    cantor_be32_put(v, 0);
    kv_put_meta(t.kv, CANTOR_META_SCHEMA, v, 4);
    cantor_be64_put(v, FIRST_BLOCK + 500);
    kv_put_meta(t.kv, CANTOR_META_HEAD, v, 8);
    ck_assert_int_eq(ts_reopen(&t), CANTOR_ERR_CORRUPT);
    ts_close(&t);
    chain_free(&c);
}
END_TEST

START_TEST(test_fingerprint)
{
    struct tstore t;
    uint8_t g1[32], g2[32];

    memset(g1, 0xd4, 32);
    memset(g2, 0x77, 32);
    ts_open(&t, _i);
    t.o.genesis_hash = g1; /* recorded on first sight */
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    t.o.genesis_hash = NULL;
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    t.o.genesis_hash = g2;
    ck_assert_int_eq(ts_reopen(&t), CANTOR_ERR_MISMATCH);
    t.o.genesis_hash = g1;
    t.o.chain_id = 5;
    ck_assert_int_eq(ts_reopen(&t), CANTOR_ERR_MISMATCH);
    t.o.chain_id = 1;
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    ts_close(&t);
}
END_TEST

START_TEST(test_retention)
{
    struct tstore t;
    struct chain c;
    struct cantor_store_stats st;
    struct cantor_delta *d;
    uint8_t v[32];
    uint64_t nh, want_entries = 0;
    bool known, empty;
    const size_t keep = 16, n = 120;

    memset(&t, 0, sizeof(t));
    ts_open(&t, _i);
    t.o.retention = keep;
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    chain_build(&c, FIRST_BLOCK, n, 4, 4, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(apply(t.s, &c, i), CANTOR_OK);
    verify(t.s, &c, n, n - keep);
    ck_assert_int_eq(cantor_store_stats(t.s, &st), CANTOR_OK);
    ck_assert_uint_eq(st.first_retained, FIRST_BLOCK + n - keep);
    ck_assert_uint_eq(st.blocks, keep);
    for (size_t i = n - keep; i < n; i++)
        want_entries += c.b[i].delta->n_entries;
    ck_assert_uint_eq(st.entries, want_entries);
    ck_assert_uint_gt(st.bytes, 0);
    ck_assert_int_eq(
        cantor_store_get_value(t.s, keys[0].addr, keys[0].kind, NULL, FIRST_BLOCK + n - keep - 1, v, &known),
        CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_store_get_delta(t.s, FIRST_BLOCK + n - keep - 1, &d), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_store_get_delta(t.s, FIRST_BLOCK + n - keep, &d), CANTOR_OK);
    cantor_delta_free(d);
    /* headers stay for the whole followed range */
    ck_assert_int_eq(cantor_store_get_block_hash(t.s, FIRST_BLOCK, v), CANTOR_OK);
    ck_assert_mem_eq(v, c.b[0].hash, 32);
    /* a widened retention after restart keeps answering from the retained range */
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    verify(t.s, &c, n, n - keep);
    /* rollback works down to the retained range and no further */
    for (size_t i = 0; i < keep; i++)
        ck_assert_int_eq(cantor_store_rollback(t.s, &nh, &empty), CANTOR_OK);
    ck_assert_uint_eq(nh, FIRST_BLOCK + n - keep - 1);
    ck_assert_int_eq(cantor_store_rollback(t.s, &nh, &empty), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_store_stats(t.s, &st), CANTOR_OK);
    ck_assert_uint_eq(st.entries, 0);
    ts_close(&t);
    chain_free(&c);
}
END_TEST

START_TEST(test_history_pages)
{
    struct tstore t;
    struct chain c;
    uint64_t blocks[7], from, next, want[200];
    size_t n, nwant, got;
    uint8_t *code;
    size_t len;

    ts_open(&t, _i);
    chain_build(&c, FIRST_BLOCK, 200, 5, 5, 200);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_int_eq(apply(t.s, &c, i), CANTOR_OK);
    for (int k = 0; k < NKEYS; k++) {
        nwant = 0;
        for (size_t i = 0; i < c.n; i++)
            if (c.b[i].changed[k])
                want[nwant++] = FIRST_BLOCK + i;
        /* page through from a middle block */
        from = FIRST_BLOCK + 50;
        got = 0;
        while (got < nwant && want[got] < from)
            got++;
        for (int pages = 0; pages < 100; pages++) {
            ck_assert_int_eq(cantor_store_history(t.s, keys[k].addr, keys[k].kind, keys[k].slot, from, 7,
                                                  blocks, &n, &next),
                             CANTOR_OK);
            ck_assert_uint_le(n, 7);
            for (size_t j = 0; j < n; j++)
                ck_assert_uint_eq(blocks[j], want[got++]);
            if (next == CANTOR_STORE_END)
                break;
            ck_assert_uint_eq(n, 7);
            ck_assert_uint_gt(next, blocks[n - 1]);
            from = next;
        }
        ck_assert_uint_eq(got, nwant);
    }
    ck_assert_int_eq(cantor_store_history(t.s, keys[0].addr, keys[0].kind, NULL, 0, 0, blocks, &n, &next),
                     CANTOR_ERR_TOO_LARGE);
    /* every code blob by its hash */
    for (size_t i = 0; i < c.n; i++) {
        for (size_t j = 0; j < c.b[i].delta->n_codes; j++) {
            const struct cantor_delta_code *dc = &c.b[i].delta->codes[j];

            ck_assert_int_eq(cantor_store_get_code(t.s, dc->hash, &code, &len), CANTOR_OK);
            ck_assert_uint_eq(len, dc->len);
            ck_assert_mem_eq(code, dc->code, len);
            free(code);
            for (int twice = 0; twice < 2; twice++) { /* from the store, then from the size cache */
                len = 0;
                ck_assert_int_eq(cantor_store_get_code_size(t.s, dc->hash, &len), CANTOR_OK);
                ck_assert_uint_eq(len, dc->len);
            }
        }
    }
    ck_assert_int_eq(cantor_store_get_code(t.s, CANTOR_KECCAK_EMPTY, &code, &len), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_store_get_code_size(t.s, CANTOR_KECCAK_EMPTY, &len), CANTOR_ERR_NOT_FOUND);
    ts_close(&t);
    chain_free(&c);
}
END_TEST

static enum cantor_err add_root(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    uint8_t k[8];

    cantor_be64_put(k, block);
    ++*(int *)ctx;
    return cantor_store_batch_put(b, CANTOR_CF_ROOTS, k, 8, "root", 4);
}

static enum cantor_err del_root(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    uint8_t k[8];

    cantor_be64_put(k, block);
    return cantor_store_batch_del(b, CANTOR_CF_ROOTS, k, 8);
}

static enum cantor_err fail_hook(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    return CANTOR_ERR_STOPPED;
}

static enum cantor_err count_rec(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen, void *ctx)
{
    ck_assert_uint_eq(vlen, 4);
    ++*(int *)ctx;
    return CANTOR_OK;
}

START_TEST(test_meta_chunks_hooks)
{
    struct tstore t;
    struct chain c;
    struct cantor_block_meta m;
    struct cantor_store_batch *b;
    uint8_t *v, k[8];
    size_t len;
    int calls = 0, seen = 0;
    uint64_t nh;
    bool empty;

    ts_open(&t, _i);
    chain_build(&c, FIRST_BLOCK, 5, 6, 6, 5);
    ck_assert_int_eq(cantor_store_put_meta(t.s, "trainer.version", "v7", 2), CANTOR_OK);
    ck_assert_int_eq(cantor_store_get_meta(t.s, "trainer.version", &v, &len), CANTOR_OK);
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(v, "v7", 2);
    free(v);
    ck_assert_int_eq(cantor_store_get_meta(t.s, "schema", &v, &len), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_store_put_meta(t.s, "", "x", 1), CANTOR_ERR_INVALID);
    /* a chunk in the block batch, a hook adding its own record */
    for (size_t i = 0; i < 4; i++) {
        block_meta(&c, i, &m);
        ck_assert_int_eq(cantor_store_apply_block_ex(t.s, &m, c.b[i].delta, (const uint8_t *)"chunk!", 6,
                                                     add_root, &calls),
                         CANTOR_OK);
    }
    ck_assert_int_eq(calls, 4);
    block_meta(&c, 4, &m);
    ck_assert_int_eq(cantor_store_apply_block_ex(t.s, &m, c.b[4].delta, NULL, 0, fail_hook, NULL),
                     CANTOR_ERR_STOPPED);
    verify(t.s, &c, 4, 0); /* the failed hook aborted the whole block */
    ck_assert_int_eq(cantor_store_get_chunk(t.s, FIRST_BLOCK + 3, &v, &len), CANTOR_OK);
    ck_assert_mem_eq(v, "chunk!", 6);
    free(v);
    ck_assert_int_eq(cantor_store_put_chunk(t.s, FIRST_BLOCK + 3, (const uint8_t *)"better", 6), CANTOR_OK);
    ck_assert_int_eq(cantor_store_get_chunk(t.s, FIRST_BLOCK + 3, &v, &len), CANTOR_OK);
    ck_assert_mem_eq(v, "better", 6);
    free(v);
    ck_assert_int_eq(cantor_store_put_chunk(t.s, FIRST_BLOCK + 9, (const uint8_t *)"x", 1),
                     CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_store_scan(t.s, CANTOR_CF_ROOTS, NULL, 0, 100, count_rec, &seen), CANTOR_OK);
    ck_assert_int_eq(seen, 4);
    ck_assert_int_eq(cantor_store_rollback_ex(t.s, &nh, &empty, del_root, NULL), CANTOR_OK);
    cantor_be64_put(k, FIRST_BLOCK + 3);
    ck_assert_int_eq(cantor_store_get_raw(t.s, CANTOR_CF_ROOTS, k, 8, &v, &len), CANTOR_ERR_NOT_FOUND);
    ck_assert_int_eq(cantor_store_get_chunk(t.s, FIRST_BLOCK + 3, &v, &len), CANTOR_ERR_NOT_FOUND);
    cantor_be64_put(k, FIRST_BLOCK + 2);
    ck_assert_int_eq(cantor_store_get_raw(t.s, CANTOR_CF_ROOTS, k, 8, &v, &len), CANTOR_OK);
    free(v);
    /* a stand-alone batch for another module's column family */
    ck_assert_int_eq(cantor_store_batch_new(t.s, &b), CANTOR_OK);
    ck_assert_int_eq(cantor_store_batch_put(b, CANTOR_CF_MODELS, "m1", 2, "wts", 3), CANTOR_OK);
    ck_assert_int_eq(cantor_store_batch_put(b, CANTOR_CF_MODELS, "m2", 2, "wts", 3), CANTOR_OK);
    ck_assert_int_eq(cantor_store_batch_commit(b), CANTOR_OK);
    cantor_store_batch_free(b);
    cantor_store_batch_free(NULL);
    ck_assert_int_eq(ts_reopen(&t), CANTOR_OK);
    ck_assert_int_eq(cantor_store_get_raw(t.s, CANTOR_CF_MODELS, "m2", 2, &v, &len), CANTOR_OK);
    ck_assert_mem_eq(v, "wts", 3);
    free(v);
    ck_assert_int_eq(cantor_store_get_meta(t.s, "trainer.version", &v, &len), CANTOR_OK);
    free(v);
    verify(t.s, &c, 3, 0);
    ts_close(&t);
    chain_free(&c);
}
END_TEST

START_TEST(test_checkpoint)
{
    struct tstore t, cp;
    struct chain c;
    char dir[60];

    ts_open(&t, _i);
    chain_build(&c, FIRST_BLOCK, 40, 8, 8, 40);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_int_eq(apply(t.s, &c, i), CANTOR_OK);
    if (_i == 0) {
        ck_assert_int_eq(cantor_store_checkpoint(t.s, "/tmp/none"), CANTOR_ERR_UNSUPPORTED);
    } else {
        snprintf(dir, sizeof(dir), "%.40s/backup", t.dir);
        ck_assert_int_eq(cantor_store_checkpoint(t.s, dir), CANTOR_OK);
        /* keep writing the original; the checkpoint stays at block 40 */
        ck_assert_int_eq(cantor_store_rollback(t.s, NULL, NULL), CANTOR_OK);
        memset(&cp, 0, sizeof(cp));
        cp.backend = 1;
        cp.o.chain_id = 1;
        snprintf(cp.dir, sizeof(cp.dir), "%s", dir);
        ck_assert_int_eq(kv_open(&cp), CANTOR_OK);
        ck_assert_int_eq(cantor_store_open_kv(&cp.o, cp.kv, &cp.s), CANTOR_OK);
        verify(cp.s, &c, 40, 0);
        cantor_store_close(cp.s);
        cantor_kv_close(cp.kv);
        verify(t.s, &c, 39, 30);
    }
    ts_close(&t);
    chain_free(&c);
}
END_TEST

/* Two consecutive real mainnet blocks: block 192's old values must chain onto block 191's state. */
START_TEST(test_mainnet_pair)
{
    static const char *files[2] = {"erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json",
                                   "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_38.json"};
    struct cantor_delta *d[2];
    struct cantor_block_meta m;
    struct tstore t;
    uint8_t v[32];
    bool known;
    size_t shared = 0;

    ts_open(&t, _i);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(files[i]), &d[i]), CANTOR_OK);
        ck_assert_uint_eq(d[i]->block_number, 17073191u + i);
        ck_assert_uint_gt(d[i]->n_entries, 100);
        memset(&m, 0, sizeof(m));
        m.number = d[i]->block_number;
        cantor_be64_put(m.hash, m.number);
        cantor_be64_put(m.parent_hash, m.number - 1);
        ck_assert_int_eq(cantor_store_apply_block(t.s, &m, d[i], NULL, 0), CANTOR_OK);
    }
    for (int i = 0; i < 2; i++) {
        for (size_t j = 0; j < d[i]->n_entries; j++) {
            const struct cantor_delta_entry *e = &d[i]->entries[j];

            ck_assert_int_eq(
                cantor_store_get_value(t.s, e->addr, e->kind, e->slot, d[i]->block_number, v, &known),
                CANTOR_OK);
            ck_assert(known);
            ck_assert_mem_eq(v, e->new_val, 32);
            if (i == 1) {
                ck_assert_int_eq(cantor_store_get_value(t.s, e->addr, e->kind, e->slot, 17073191u, v, &known),
                                 CANTOR_OK);
                ck_assert(known);
                ck_assert_mem_eq(v, e->old_val, 32); /* unchanged until 192, or 191's new value */
            }
        }
    }
    for (size_t j = 0; j < d[1]->n_entries; j++) {
        struct cantor_delta_entry key = d[1]->entries[j];

        if (bsearch(&key, d[0]->entries, d[0]->n_entries, sizeof(key),
                    (int (*)(const void *, const void *))cantor_delta_entry_cmp))
            shared++;
    }
    ck_assert_uint_gt(shared, 5); /* the strict old-value check really ran on shared keys */
    cantor_delta_free(d[0]);
    cantor_delta_free(d[1]);
    ts_close(&t);
}
END_TEST

/* ---- crash safety: SIGKILL a writer at random moments ---- */

/* Apply blocks from the head on; one byte on `ready` once the first block of this run landed. */
static void crash_child(const char *dir, const struct chain *c, int ready)
{
    struct cantor_store_opts o = {.path = dir, .chain_id = 1, .retention = 0};
    struct cantor_store *s;
    uint64_t head;
    bool empty;
    size_t i, done = 0;

    if (cantor_store_open(&o, &s))
        _exit(3);
    cantor_store_head(s, &head, NULL, &empty);
    for (i = empty ? 0 : head - c->first + 1; i < c->n; i++, done++) {
        if (apply(s, c, i))
            _exit(4);
        if (done == 0 && write(ready, "r", 1) != 1)
            _exit(5);
    }
    cantor_store_close(s);
    _exit(0);
}

START_TEST(test_crash)
{
    struct cantor_store_opts o = {.chain_id = 1};
    struct cantor_store *s;
    struct chain c;
    char dir[64];
    uint64_t head, prev_head = 0, seed = (uint64_t)time(NULL);
    bool empty;
    int rounds = 0, status;

    snprintf(dir, sizeof(dir), "/tmp/cantor-crash-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    o.path = dir;
    chain_build(&c, FIRST_BLOCK, 4000, 9, 9, 4000);
    for (int r = 0; r < 16 && rounds < 6 && prev_head + 1 < c.first + c.n; r++) {
        struct pollfd pfd;
        int fds[2];
        pid_t pid;
        char byte;

        ck_assert_int_eq(pipe(fds), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(dir, &c, fds[1]);
        }
        close(fds[1]);
        /* kill while blocks are being written: after the child's first block, at a random moment */
        pfd.fd = fds[0];
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 60000) == 1 && read(fds[0], &byte, 1) == 1)
            usleep((useconds_t)(splitmix(&seed) % 30000));
        kill(pid, SIGKILL);
        close(fds[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                      "child failed with %d", status);
        ck_assert_int_eq(cantor_store_open(&o, &s), CANTOR_OK);
        ck_assert_int_eq(cantor_store_head(s, &head, NULL, &empty), CANTOR_OK);
        if (!empty) {
            verify(s, &c, head - c.first + 1, head - c.first >= 40 ? head - c.first - 40 : 0);
            rounds += head != prev_head; /* count kills that landed after progress */
            prev_head = head;
        }
        cantor_store_close(s);
    }
    ck_assert_int_gt(rounds, 3);
    /* and the full chain checks out value by value */
    ck_assert_int_eq(cantor_store_open(&o, &s), CANTOR_OK);
    ck_assert_int_eq(cantor_store_head(s, &head, NULL, &empty), CANTOR_OK);
    ck_assert(!empty);
    verify(s, &c, head - c.first + 1, 0);
    cantor_store_close(s);
    rm_rf(dir);
    chain_free(&c);
}
END_TEST

START_TEST(test_open_opts)
{
    static const char *const ok[] = {"none", "lz4", "zstd", "snappy"};
    struct cantor_store_opts o = {.chain_id = 1};
    struct cantor_store *s = NULL;
    struct chain c;
    char dir[64];

    chain_build(&c, FIRST_BLOCK, 20, 10, 10, 20);
    ck_assert_int_eq(cantor_store_open(&o, &s), CANTOR_OK); /* path NULL: in-memory */
    ck_assert_int_eq(apply(s, &c, 0), CANTOR_OK);
    cantor_store_close(s);
    cantor_store_close(NULL);
    for (size_t i = 0; i < 4; i++) {
        snprintf(dir, sizeof(dir), "/tmp/cantor-opts-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        o.path = dir;
        o.compression = ok[i];
        o.cache_mb = 8;
        o.sync = i % 2;
        ck_assert_int_eq(cantor_store_open(&o, &s), CANTOR_OK);
        for (size_t j = 0; j < c.n; j++)
            ck_assert_int_eq(apply(s, &c, j), CANTOR_OK);
        ck_assert_int_eq(cantor_store_flush(s), CANTOR_OK);
        verify(s, &c, c.n, 0);
        cantor_store_close(s);
        rm_rf(dir);
    }
    o.compression = "brotli";
    ck_assert_int_eq(cantor_store_open(&o, &s), CANTOR_ERR_CONFIG);
    chain_free(&c);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("both_backends");

    keys_init();
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, test_apply_rollback, 0, 2);
    tcase_add_loop_test(tc, test_reorg, 0, 2);
    tcase_add_loop_test(tc, test_schema_newer, 0, 2);
    tcase_add_loop_test(tc, test_migration_v0, 0, 2);
    tcase_add_loop_test(tc, test_fingerprint, 0, 2);
    tcase_add_loop_test(tc, test_retention, 0, 2);
    tcase_add_loop_test(tc, test_history_pages, 0, 2);
    tcase_add_loop_test(tc, test_meta_chunks_hooks, 0, 2);
    tcase_add_loop_test(tc, test_checkpoint, 0, 2);
    tcase_add_loop_test(tc, test_mainnet_pair, 0, 2);
    tcase_add_test(tc, test_open_opts);
    tcase_add_test(tc, test_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(store_suite());
}
