/*
 * bench_store.c - store throughput and read latency on RocksDB, printed as JSON lines.
 *
 * 1. synthetic: a chain of --blocks blocks with --entries changes each over a 200k-key space
 *    (old values chained by replay, so the strict old-value check runs), ingested block by block;
 *    then random value-at-block reads (p50/p99).
 * 2. recorded: every recorded mainnet block delta in erigon-rpc-tests trace_replayBlockTransactions
 *    (needs core/delta_parity.c), renumbered into a consecutive chain and applied --rounds times
 *    (lax old values: the recorded blocks are not consecutive).
 * Store directories are made under /tmp and removed. CANTOR_SHARED_DATA locates the shared data.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/delta.h"
#include "core/delta_json.h"
#include "core/keccak.h"
#include "storage/keys.h"
#include "storage/store.h"

#define KEYSPACE 200000

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this thread: the foreground write path, independent of machine load. */
static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Key k: 8 keys per account, kind from k, storage slot from k. */
static void key_of(uint32_t k, uint8_t addr[20], uint8_t *kind, uint8_t slot[32])
{
    memset(addr, 0, 20);
    memset(slot, 0, 32);
    cantor_be32_put(addr + 16, k / 8);
    addr[0] = 0xab;
    *kind = (uint8_t)(k % 8 < 3 ? k % 8 : CANTOR_KIND_STORAGE);
    if (*kind == CANTOR_KIND_STORAGE)
        cantor_keccak256(&k, sizeof(k), slot);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static enum cantor_err open_store(char *dir, size_t dlen, bool lax, const char *compression,
                                  struct cantor_store **ret)
{
    struct cantor_store_opts o = {
        .chain_id = 1, .cache_mb = 64, .compression = compression, .lax_old_values = lax};

    snprintf(dir, dlen, "/tmp/cantor-bench-XXXXXX");
    if (!mkdtemp(dir))
        return CANTOR_ERR_IO;
    o.path = dir;
    return cantor_store_open(&o, ret);
}

static void print_size(const char *source, struct cantor_store *s, uint64_t blocks)
{
    struct cantor_store_stats st;

    if (cantor_store_flush(s) || cantor_store_stats(s, &st))
        return;
    printf(
        "{\"bench\":\"store_size\",\"source\":\"%s\",\"blocks\":%llu,\"entries\":%llu,\"bytes\":%llu,"
        "\"bytes_per_block\":%.0f,\"history_bytes\":%llu,\"state_bytes\":%llu,\"deltas_bytes\":%llu,"
        "\"undo_bytes\":%llu}\n",
        source, (unsigned long long)blocks, (unsigned long long)st.entries, (unsigned long long)st.bytes,
        blocks ? (double)st.bytes / (double)blocks : 0.0, (unsigned long long)st.cf_bytes[CANTOR_CF_HISTORY],
        (unsigned long long)st.cf_bytes[CANTOR_CF_STATE], (unsigned long long)st.cf_bytes[CANTOR_CF_DELTAS],
        (unsigned long long)st.cf_bytes[CANTOR_CF_UNDO]);
}

static int bench_synthetic(uint64_t n_blocks, size_t per_block, size_t n_reads, const char *compression)
{
    uint8_t(*cur)[32] = calloc(KEYSPACE, 32);
    uint32_t *last_change = calloc(KEYSPACE, sizeof(uint32_t)); /* block index + 1 */
    struct cantor_store *s = NULL;
    char dir[64];
    uint64_t rng = 1, entries = 0;
    uint8_t prev_hash[32] = {0};
    double t_apply = 0, cpu_apply = 0, *lat = NULL;
    int rc = 1;

    if (!cur || !last_change || open_store(dir, sizeof(dir), false, compression, &s))
        goto out;
    for (uint32_t k = 0; k < KEYSPACE; k++)
        cantor_be32_put(cur[k] + 28, k + 1);
    for (uint64_t i = 0; i < n_blocks; i++) {
        struct cantor_block_meta m = {.number = 1000000 + i, .timestamp = i * 12};
        struct cantor_delta *d;
        double t0, c0;

        if (cantor_delta_new(m.number, &d))
            goto out;
        for (size_t j = 0; j < per_block; j++) {
            /* a skewed key choice: hot contracts are written far more often */
            uint32_t k = (uint32_t)(rnd(&rng) % (j % 4 ? KEYSPACE : 2000));
            struct cantor_delta_entry e;

            if (last_change[k] == i + 1)
                continue;
            last_change[k] = (uint32_t)(i + 1);
            key_of(k, e.addr, &e.kind, e.slot);
            memcpy(e.old_val, cur[k], 32);
            memset(e.new_val, 0, 32);
            if (e.kind == CANTOR_KIND_CODE) {
                uint8_t code[200];

                for (size_t b = 0; b < sizeof(code); b++)
                    code[b] = (uint8_t)rnd(&rng);
                cantor_keccak256(code, sizeof(code), e.new_val);
                cantor_delta_add_code(d, e.new_val, code, sizeof(code));
            } else {
                uint64_t v = rnd(&rng) % 1000000000000ull;

                cantor_be64_put(e.new_val + 24, v);
            }
            if (memcmp(e.new_val, e.old_val, 32) == 0)
                e.new_val[0] ^= 1;
            memcpy(cur[k], e.new_val, 32);
            cantor_delta_add(d, &e);
        }
        if (cantor_delta_finish(d)) {
            cantor_delta_free(d);
            goto out;
        }
        memcpy(m.parent_hash, prev_hash, 32);
        cantor_be64_put(m.hash, m.number);
        m.hash[31] = 1;
        memcpy(prev_hash, m.hash, 32);
        entries += d->n_entries;
        t0 = now();
        c0 = cpu_now();
        if (cantor_store_apply_block(s, &m, d, NULL, 0)) {
            fprintf(stderr, "apply failed at block %llu\n", (unsigned long long)m.number);
            cantor_delta_free(d);
            goto out;
        }
        t_apply += now() - t0;
        cpu_apply += cpu_now() - c0;
        cantor_delta_free(d);
    }
    printf(
        "{\"bench\":\"store_ingest\",\"source\":\"synthetic\",\"backend\":\"rocksdb\",\"compression\":\"%s\","
        "\"blocks\":%llu,\"entries\":%llu,\"seconds\":%.3f,\"blocks_per_s\":%.1f,\"entries_per_s\":%.0f,"
        "\"cpu_seconds\":%.3f,\"entries_per_cpu_s\":%.0f}\n",
        compression, (unsigned long long)n_blocks, (unsigned long long)entries, t_apply,
        (double)n_blocks / t_apply, (double)entries / t_apply, cpu_apply, (double)entries / cpu_apply);
    print_size("synthetic", s, n_blocks);

    lat = calloc(n_reads, sizeof(double));
    if (!lat)
        goto out;
    for (size_t r = 0; r < n_reads; r++) {
        uint32_t k = (uint32_t)(rnd(&rng) % (r % 4 ? KEYSPACE : 2000));
        uint64_t b = 1000000 + rnd(&rng) % n_blocks;
        uint8_t addr[20], kind, slot[32], v[32];
        bool known;
        double t0 = now();

        key_of(k, addr, &kind, slot);
        if (cantor_store_get_value(s, addr, kind, slot, b, v, &known))
            goto out;
        lat[r] = now() - t0;
    }
    qsort(lat, n_reads, sizeof(double), cmp_double);
    printf("{\"bench\":\"store_value_at_block\",\"backend\":\"rocksdb\",\"reads\":%zu,\"p50_us\":%.2f,"
           "\"p99_us\":%.2f}\n",
           n_reads, lat[n_reads / 2] * 1e6, lat[n_reads * 99 / 100] * 1e6);
    rc = 0;
out:
    cantor_store_close(s);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(cur);
    free(last_change);
    free(lat);
    return rc;
}

static int bench_recorded(const char *data, int rounds, const char *compression)
{
    char path[8192], dirpath[4096], sdir[64] = "";
    struct cantor_delta *d[64];
    struct cantor_store *s = NULL;
    struct dirent *de;
    size_t n = 0, entries = 0;
    uint64_t num = 1, blocks = 0;
    uint8_t prev[32] = {0};
    double t = 0;
    DIR *dp;
    int rc = 1;

    snprintf(dirpath, sizeof(dirpath), "%s/erigon-rpc-tests/mainnet/trace_replayBlockTransactions", data);
    dp = opendir(dirpath);
    if (!dp) {
        printf("{\"bench\":\"store_ingest\",\"source\":\"recorded\",\"skipped\":\"no data at %s\"}\n",
               dirpath);
        return 0;
    }
    while ((de = readdir(dp)) && n < 64) {
        if (!strstr(de->d_name, ".json"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
        if (cantor_delta_load_recorded(path, &d[n]) == CANTOR_OK)
            n++;
    }
    closedir(dp);
    if (!n || open_store(sdir, sizeof(sdir), true, compression, &s))
        goto out;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++, num++) {
            struct cantor_block_meta m = {.number = num};
            double t0;

            d[i]->block_number = num;
            memcpy(m.parent_hash, prev, 32);
            cantor_be64_put(m.hash, num);
            memcpy(prev, m.hash, 32);
            t0 = now();
            if (cantor_store_apply_block(s, &m, d[i], NULL, 0))
                goto out;
            t += now() - t0;
            entries += d[i]->n_entries;
            blocks++;
        }
    }
    printf("{\"bench\":\"store_ingest\",\"source\":\"recorded_mainnet\",\"backend\":\"rocksdb\","
           "\"compression\":\"%s\",\"distinct_blocks\":%zu,\"blocks\":%llu,\"entries\":%zu,\"seconds\":%.3f,"
           "\"blocks_per_s\":%.1f,\"entries_per_s\":%.0f}\n",
           compression, n, (unsigned long long)blocks, entries, t, (double)blocks / t, (double)entries / t);
    print_size("recorded_mainnet", s, blocks);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        cantor_delta_free(d[i]);
    cantor_store_close(s);
    if (*sdir)
        nftw(sdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

int main(int argc, char **argv)
{
    const char *data = getenv("CANTOR_SHARED_DATA");
    const char *compression = "lz4";
    uint64_t blocks = 2000;
    size_t per_block = 400, reads = 20000;
    int rounds = 8;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--blocks") == 0)
            blocks = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--entries") == 0)
            per_block = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--reads") == 0)
            reads = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--compression") == 0)
            compression = argv[i + 1];
        else
            data = argv[i + 1];
    }
    if (blocks == 0 || blocks > 10000000 || per_block == 0 || per_block > 100000 || reads == 0 ||
        reads > 10000000 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: bench_store [--blocks N] [--entries N] [--reads N] [--rounds N] "
                        "[--compression none|lz4|zstd|snappy] [--data DIR]\n");
        return 2;
    }
    if (!data)
        data = "../shared/data";
    if (bench_synthetic(blocks, per_block, reads, compression))
        return 1;
    return bench_recorded(data, rounds, compression);
}
