/*
 * api.h - cantord's HTTP/JSON endpoints and Ethereum JSON-RPC read path (POST /rpc), served by
 * rpc/http.c. See docs/api.md for every endpoint, its answers and its errors.
 *
 * Wiring (daemon/): fill a struct cantor_api_ctx, start the server with the table from
 * cantor_api_routes() and the ctx as handler context, then hand the server back with
 * cantor_api_set_server() so /metrics can include the HTTP latency histogram:
 *
 *     size_t n;
 *     const struct cantor_http_route *routes = cantor_api_routes(&n);
 *     cantor_http_start(&http_opts, routes, n, &api_ctx, &server);
 *     cantor_api_set_server(&api_ctx, server);
 *
 * rpc/ sits below daemon/, so it never sees the follower: the daemon supplies a status callback that
 * copies whatever the follower (and later codec/trainer) knows into struct cantor_api_status.
 *
 * Ownership: the ctx and everything it points to are borrowed by the handlers and must outlive the
 * server (cantor_http_stop() waits for in-flight requests). Handlers run concurrently on MHD's thread
 * pool, so get_status and checkpoint must be thread-safe.
 */
#ifndef CANTOR_RPC_API_H
#define CANTOR_RPC_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "rpc/http.h"
#include "storage/store.h"

#define CANTOR_API_MAX_BATCH_DEFAULT     100u /* JSON-RPC batch entries */
#define CANTOR_API_HISTORY_LIMIT_DEFAULT 100u
#define CANTOR_API_HISTORY_LIMIT_MAX     1000u
#define CANTOR_API_READYZ_LAG_DEFAULT    64u

/*
 * What the daemon knows about itself. Components that do not exist yet report zeros:
 * compression_ratio 0, model_version "none", training_loss 0 (and the matching *_known flags false),
 * so dashboards can tell "not running" from a real 0.
 */
struct cantor_api_status {
    bool follower_running;
    bool node_reachable;     /* the last node call succeeded */
    bool synced;             /* store head == node head - confirmations */
    uint64_t chain_id;       /* the node's eth_chainId once detected, else 0 */
    uint64_t node_head;      /* last eth_blockNumber seen */
    uint64_t blocks_applied; /* since start */
    uint64_t reorgs;
    uint64_t rpc_errors;
    double blocks_per_s;
    char last_error[256];
    char diff_format[16]; /* "parity", "geth", "none" */
    bool compression_known;
    double compression_ratio; /* raw delta bytes / compressed bytes, 0 when unknown */
    char model_version[72];   /* content hash of the active model, "none" */
    bool training_known;
    double training_loss; /* last training loss, 0 when unknown */
};

/*
 * Commitments, filled by the daemon (daemon/commit.c) since rpc/ cannot call daemon/. Thread-safe.
 * get_checkpoint: n == UINT64_MAX is the newest. prove: state false = delta proof of the entry changed
 * in block n, true = state tree proof at n; *ret_doc is freed with cantor_proof_doc_free().
 */
struct cantor_checkpoint;
struct cantor_checkpoint_sigs;
struct cantor_proof_doc;
struct cantor_commit_view {
    void *arg;
    void (*keys)(void *arg, uint8_t ret_ed_pk[32], uint8_t ret_eth_addr[20]);
    enum cantor_err (*get_checkpoint)(void *arg, uint64_t n, struct cantor_checkpoint *ret_cp,
                                      struct cantor_checkpoint_sigs *ret_sigs);
    enum cantor_err (*make_checkpoint)(void *arg, struct cantor_checkpoint *ret_cp,
                                       struct cantor_checkpoint_sigs *ret_sigs);
    enum cantor_err (*prove)(void *arg, bool state, uint64_t n, const uint8_t addr[20], uint8_t kind,
                             const uint8_t slot[32], struct cantor_proof_doc **ret_doc);
    double (*roots_ms)(void *arg); /* root maintenance of the last block, for /metrics */
};
/* ?format=abi: abi.encode of the DeltaProof / StateProof struct (docs/formats.md "ABI proof encoding"). */
struct cantor_buf;
enum cantor_err cantor_api_proof_abi(const struct cantor_proof_doc *doc, struct cantor_buf *out);

struct cantor_api_ctx {
    struct cantor_store *store; /* required */
    uint64_t chain_id;          /* eth_chainId; 0 = take it from get_status (known once the node answered) */
    /* Fill *ret (zeroed by the caller before the call); NULL = no follower: node unreachable. */
    void (*get_status)(void *arg, struct cantor_api_status *ret);
    void *status_arg;
    uint64_t readyz_max_lag; /* /readyz fails when node head - store head exceeds this */
    /*
     * POST /v1/admin/checkpoint: write a consistent copy of the store into dir (which must not exist).
     * NULL = cantor_store_checkpoint(store, dir). data_dir NULL disables the endpoint (503).
     */
    enum cantor_err (*checkpoint)(void *arg, const char *dir);
    void *checkpoint_arg;
    const char *data_dir; /* backups go to <data_dir>/backups/checkpoint-<unix time>-<seq> */
    time_t start_time;
    const char *version;
    size_t rpc_max_batch; /* 0 = CANTOR_API_MAX_BATCH_DEFAULT */
    /* Set with cantor_api_set_server(); read atomically by /metrics. */
    struct cantor_http_server *server;
    const struct cantor_commit_view *commit; /* NULL: checkpoint/proof endpoints answer 503 */
    const struct cantor_api_codec *codec;    /* rpc/api_codec.h; NULL = no compression engine (503) */
};

/* The route table (static, valid forever); *ret_n gets its length. */
const struct cantor_http_route *cantor_api_routes(size_t *ret_n);
void cantor_api_set_server(struct cantor_api_ctx *ctx, struct cantor_http_server *server);

/*
 * The JSON-RPC 2.0 engine behind POST /rpc, usable without HTTP: answers body (a single call or a
 * batch) into *ret_body (malloc'ed, caller frees). *ret_body is NULL when nothing must be sent (only
 * notifications); the HTTP handler then answers 200 with an empty body, like geth.
 */
enum cantor_err cantor_api_rpc_handle(struct cantor_api_ctx *ctx, const uint8_t *body, size_t len,
                                      char **ret_body, size_t *ret_len);

#endif
