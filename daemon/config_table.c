/*
 * config_table.c - THE table of cantord options. Everything else (parser, flags, --help, reload,
 * docs/configuration.md, configs/cantord.conf) is generated from it: add an option here and in
 * struct cantor_config, then run `cantord --gen-docs` and `cantord --gen-conf` (a unit test fails
 * until the repo files match). The table is static data; nothing here allocates.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct cantor_config, f)
#define MS(x)  ((int64_t)(x))
#define SEC(x) ((int64_t)(x)*1000)
#define KIB(x) ((int64_t)(x) << 10)
#define MIB(x) ((int64_t)(x) << 20)
#define GIB(x) ((int64_t)(x) << 30)

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const compressions[] = {"none", "lz4", "zstd", "snappy", NULL};

static enum cantor_err parse_u64_strict(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return CANTOR_ERR_INVALID;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return CANTOR_ERR_INVALID;
    *ret = v;
    return CANTOR_OK;
}

/* "ADDR:PORT", "[v6addr]:PORT" or "*:PORT"; the HTTP server resolves ADDR when it binds. */
static enum cantor_err validate_listen(const char *v, char *errbuf, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    uint64_t port;

    if (!colon || colon == v) {
        snprintf(errbuf, errlen, "expected ADDR:PORT, got '%s'", v);
        return CANTOR_ERR_INVALID;
    }
    if (v[0] == '[' && colon[-1] != ']') {
        snprintf(errbuf, errlen, "IPv6 addresses go in brackets: [::1]:7545");
        return CANTOR_ERR_INVALID;
    }
    if (v[0] != '[' && memchr(v, ':', (size_t)(colon - v))) {
        snprintf(errbuf, errlen, "IPv6 addresses go in brackets: [::1]:7545");
        return CANTOR_ERR_INVALID;
    }
    if (parse_u64_strict(colon + 1, &port) || port == 0 || port > 65535) {
        snprintf(errbuf, errlen, "port must be 1..65535, got '%s'", colon + 1);
        return CANTOR_ERR_INVALID;
    }
    return CANTOR_OK;
}

static enum cantor_err validate_url(const char *v, char *errbuf, size_t errlen)
{
    if (*v == '\0')
        return CANTOR_OK;
    if ((strncmp(v, "http://", 7) == 0 && v[7]) || (strncmp(v, "https://", 8) == 0 && v[8]))
        return CANTOR_OK;
    snprintf(errbuf, errlen, "expected an http:// or https:// URL (or nothing), got '%s'", v);
    return CANTOR_ERR_INVALID;
}

static enum cantor_err validate_start_block(const char *v, char *errbuf, size_t errlen)
{
    uint64_t n;

    if (strcmp(v, "genesis") == 0 || strcmp(v, "head") == 0 || parse_u64_strict(v, &n) == CANTOR_OK)
        return CANTOR_OK;
    snprintf(errbuf, errlen, "expected a block number, 'genesis' or 'head', got '%s'", v);
    return CANTOR_ERR_INVALID;
}

enum cantor_err cantor_config_start_block(const struct cantor_config *cfg,
                                          enum cantor_start_block_kind *ret_kind, uint64_t *ret_number)
{
    uint64_t n = 0;

    if (strcmp(cfg->start_block, "genesis") == 0) {
        *ret_kind = CANTOR_START_GENESIS;
    } else if (strcmp(cfg->start_block, "head") == 0) {
        *ret_kind = CANTOR_START_HEAD;
    } else {
        if (parse_u64_strict(cfg->start_block, &n))
            return CANTOR_ERR_CONFIG;
        *ret_kind = CANTOR_START_NUMBER;
    }
    *ret_number = n;
    return CANTOR_OK;
}

#define G_GENERAL "General"
#define G_CHAIN   "Chain following"
#define G_RPC     "Upstream node (JSON-RPC)"
#define G_STORE   "Storage"
#define G_HTTP    "HTTP server"

/* clang-format off */
const struct cantor_opt cantor_config_table[] = {
    /* name, flag, metavar, group, type, offset, default, min, max, choices, reloadable, cmdline_only,
       validate, help */
    {"config", "--config", "FILE", G_GENERAL, CANTOR_OPT_PATH, OFF(config), "", 0, 0, NULL, false, true,
     NULL, "Configuration file to read (`key = value` lines, `#` comments). Command-line flags override it."},
    {"data_dir", "--data-dir", "DIR", G_GENERAL, CANTOR_OPT_PATH, OFF(data_dir), CANTOR_DEFAULT_DATA_DIR, 0, 0,
     NULL, false, false, NULL,
     "Directory of the RocksDB store and other state. The systemd unit passes its StateDirectory."},
    {"log_level", "--log-level", NULL, G_GENERAL, CANTOR_OPT_ENUM, OFF(log_level), "info", 0, 0, log_levels,
     true, false, NULL, "Lowest level of messages written to stderr (journald under systemd)."},
    {"dev", "--dev", NULL, G_GENERAL, CANTOR_OPT_BOOL, OFF(dev), "false", 0, 0, NULL, false, false, NULL,
     "Start the local anvil dev chain from tests/chain and follow it (used when eth_rpc is empty)."},
    {"key_dir", NULL, "DIR", G_GENERAL, CANTOR_OPT_PATH, OFF(key_dir), "", 0, 0, NULL, false, false, NULL,
     "Directory of the checkpoint signing keys (files with mode 0600); empty means DATA_DIR/keys."},
    {"background_nice", NULL, NULL, G_GENERAL, CANTOR_OPT_INT, OFF(background_nice), "10", 0, 19, NULL, false,
     false, NULL, "Nice value of the ingest, training and RocksDB background threads, so reads keep their "
     "latency while a block is processed; 0 runs them at the daemon's priority."},

    {"eth_rpc", "--eth-rpc", "URL", G_CHAIN, CANTOR_OPT_STRING, OFF(eth_rpc), "", 0, 0, NULL, false, false,
     validate_url, "JSON-RPC endpoint of the execution node to follow; empty means the --dev local chain."},
    {"start_block", "--start-block", "BLOCK", G_CHAIN, CANTOR_OPT_STRING, OFF(start_block), "head", 0, 0, NULL,
     false, false, validate_start_block,
     "Where to start following on an empty store: a block number, `genesis` or `head`."},
    {"confirmations", "--confirmations", NULL, G_CHAIN, CANTOR_OPT_INT, OFF(confirmations), "6", 0, 1024, NULL,
     false, false, NULL, "Reorg-safety depth: a block is stored once this many blocks are built on it "
     "(0-2 suits the dev chain)."},
    {"poll_interval", NULL, NULL, G_CHAIN, CANTOR_OPT_DURATION, OFF(poll_interval), "2s", MS(100), SEC(3600),
     NULL, true, false, NULL, "How often to ask the node for a new head."},
    {"batch_size", NULL, NULL, G_CHAIN, CANTOR_OPT_INT, OFF(batch_size), "16", 1, 1024, NULL, true, false, NULL,
     "Blocks fetched in one pipelined round while catching up."},
    {"checkpoint_interval", NULL, NULL, G_CHAIN, CANTOR_OPT_INT, OFF(checkpoint_interval), "100", 1, 1000000,
     NULL, true, false, NULL, "Sign a checkpoint every this many stored blocks."},

    {"rpc_timeout", NULL, NULL, G_RPC, CANTOR_OPT_DURATION, OFF(rpc_timeout), "30s", MS(100), SEC(600), NULL,
     true, false, NULL, "Timeout of one JSON-RPC request."},
    {"rpc_max_retries", NULL, NULL, G_RPC, CANTOR_OPT_INT, OFF(rpc_max_retries), "5", 0, 100, NULL, true, false,
     NULL, "Retries of a failed request before the follower backs off."},
    {"rpc_backoff_initial", NULL, NULL, G_RPC, CANTOR_OPT_DURATION, OFF(rpc_backoff_initial), "250ms", MS(1),
     SEC(60), NULL, true, false, NULL, "First retry delay; it doubles on each failure."},
    {"rpc_backoff_max", NULL, NULL, G_RPC, CANTOR_OPT_DURATION, OFF(rpc_backoff_max), "30s", MS(1), SEC(3600),
     NULL, true, false, NULL, "Upper bound of the retry delay (at least rpc_backoff_initial)."},
    {"rpc_max_response_size", NULL, NULL, G_RPC, CANTOR_OPT_SIZE, OFF(rpc_max_response_size), "256M", KIB(1),
     GIB(4), NULL, true, false, NULL, "Largest JSON-RPC response accepted (traces of big blocks are large)."},
    {"rpc_auth_header_file", NULL, "FILE", G_RPC, CANTOR_OPT_PATH, OFF(rpc_auth_header_file), "", 0, 0, NULL,
     true, false, NULL, "File holding one HTTP header line sent with every request "
     "(e.g. `Authorization: Bearer ...`); re-read on reload."},
    {"rpc_jwt_secret_file", NULL, "FILE", G_RPC, CANTOR_OPT_PATH, OFF(rpc_jwt_secret_file), "", 0, 0, NULL, true,
     false, NULL, "Engine-API style JWT secret (32 bytes hex) used to sign a bearer token; re-read on reload."},

    {"store_cache_size", NULL, NULL, G_STORE, CANTOR_OPT_SIZE, OFF(store_cache_size), "256M", 0, GIB(1024), NULL,
     false, false, NULL, "RocksDB block cache size."},
    {"store_compression", NULL, NULL, G_STORE, CANTOR_OPT_ENUM, OFF(store_compression), "lz4", 0, 0,
     compressions, false, false, NULL,
     "RocksDB block compression (chunks are already compressed by cantord's codec)."},
    {"store_retention", NULL, NULL, G_STORE, CANTOR_OPT_INT, OFF(store_retention), "0", 0, 1000000000,
     NULL, false, false, NULL, "Blocks of history to keep; 0 keeps everything."},
    {"compress_train_blocks", NULL, NULL, G_STORE, CANTOR_OPT_INT, OFF(compress_train_blocks), "64", 2, 1024, NULL,
     false, false, NULL, "Followed blocks before the first codec model is trained (then every 256 new blocks)."},
    {"compress_blocks_per_chunk", NULL, NULL, G_STORE, CANTOR_OPT_INT, OFF(compress_blocks_per_chunk), "16", 1, 64,
     NULL, false, false, NULL,
     "Final blocks are stored this many to a chunk (one per block until final); 1 keeps one chunk per block."},
    {"compress_pack_depth", NULL, NULL, G_STORE, CANTOR_OPT_INT, OFF(compress_pack_depth), "128", 1, 1000000,
     NULL, false, false, NULL,
     "Blocks below the head before they are packed several to a chunk (a deeper reorg unpacks them)."},
    {"store_sync", NULL, NULL, G_STORE, CANTOR_OPT_BOOL, OFF(store_sync), "true", 0, 0, NULL, false, false,
     NULL, "fsync every block's WriteBatch (off is faster and may lose the last blocks on power loss)."},

    {"listen", "--listen", "ADDR:PORT", G_HTTP, CANTOR_OPT_STRING, OFF(listen), CANTOR_DEFAULT_LISTEN, 0, 0,
     NULL, false, false, validate_listen, "Address of the HTTP/JSON API; IPv6 as [::1]:7545."},
    {"http_max_body", NULL, NULL, G_HTTP, CANTOR_OPT_SIZE, OFF(http_max_body), "1M", KIB(1), MIB(64), NULL, true,
     false, NULL, "Largest request body accepted."},
    {"http_max_connections", NULL, NULL, G_HTTP, CANTOR_OPT_INT, OFF(http_max_connections), "256", 1, 65536,
     NULL, false, false, NULL, "Concurrent HTTP connections."},
    {"http_timeout", NULL, NULL, G_HTTP, CANTOR_OPT_DURATION, OFF(http_timeout), "30s", SEC(1), SEC(600), NULL,
     false, false, NULL, "Idle timeout of an HTTP connection."},
    {"http_threads", NULL, NULL, G_HTTP, CANTOR_OPT_INT, OFF(http_threads), "0", 0, 256, NULL, false, false, NULL,
     "Event threads answering HTTP requests (each runs its own epoll loop); 0 = one per CPU minus one "
     "(at least 1, at most 8): fewer threads than cores keeps the read latency tail short."},
    {"http_workers", NULL, NULL, G_HTTP, CANTOR_OPT_INT, OFF(http_workers), "2", 1, 64, NULL, false, false, NULL,
     "Threads running the slow endpoints (whole-block deltas, delta proofs, compression, verification, "
     "backups) so they never hold up the event threads."},
    {"admin_token_file", NULL, "FILE", G_HTTP, CANTOR_OPT_PATH, OFF(admin_token_file), "", 0, 0, NULL, true,
     false, NULL, "File holding the bearer token of the admin endpoints; empty disables them. "
     "Re-read on reload."},
    {"public_reads", NULL, NULL, G_HTTP, CANTOR_OPT_BOOL, OFF(public_reads), "true", 0, 0, NULL, true, false,
     NULL, "Serve state, proof and JSON-RPC reads without a token."},
    {"readyz_max_lag", NULL, NULL, G_HTTP, CANTOR_OPT_INT, OFF(readyz_max_lag), "64", 0, 1000000, NULL, true,
     false, NULL, "/readyz fails when the stored head is more than this many blocks behind the node."},
};
/* clang-format on */

const size_t cantor_config_table_len = sizeof(cantor_config_table) / sizeof(cantor_config_table[0]);
