/*
 * follower.h - follows the upstream node into the store: head polling, pipelined range fetches,
 * header checks, delta parsing, one atomic store batch per block, reorg rollback.
 *
 * The follower runs in its own thread because libcurl's easy interface blocks; libevent's loop in
 * the main thread owns signals, the watchdog and reloads. cantor_follower_stop() asks the thread to
 * finish the block it is applying and return; it interrupts RPC backoff sleeps, never a store write.
 *
 * Memory: the follower borrows the store and the RPC client (they must outlive it); status strings
 * are copied into the caller's struct.
 */
#ifndef CANTOR_DAEMON_FOLLOWER_H
#define CANTOR_DAEMON_FOLLOWER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "rpc/ethrpc.h"
#include "rpc/node.h"
#include "storage/store.h"

#define CANTOR_FOLLOWER_MAX_REORG 128 /* deepest reorg we roll back before refusing to continue */

enum cantor_follower_start {
    CANTOR_FOLLOW_FROM_GENESIS,
    CANTOR_FOLLOW_FROM_HEAD,
    CANTOR_FOLLOW_FROM_NUMBER,
};

struct cantor_follower_opts {
    enum cantor_follower_start start;
    uint64_t start_number;  /* with CANTOR_FOLLOW_FROM_NUMBER */
    uint64_t confirmations; /* only blocks this deep below the node's head are applied */
    uint64_t poll_interval_ms;
    uint64_t batch_size; /* blocks per pipelined fetch, <= CANTOR_NODE_MAX_RANGE */
    uint64_t stop_at;    /* stop after applying this block (0 = never), for tests and backfills */
    int nice;            /* > 0: the follower thread runs at this nice value (daemon/thread.h) */
};

struct cantor_follower_status {
    bool running;
    bool synced; /* store head == node head - confirmations */
    bool caps_known;
    bool node_ok; /* the last call to the node got an answer */
    struct cantor_node_caps caps;
    uint64_t node_head; /* last eth_blockNumber */
    uint64_t store_head;
    bool store_empty;
    uint64_t blocks_applied; /* since start */
    uint64_t entries_applied;
    uint64_t bytes_applied; /* canonical delta bytes */
    uint64_t reorgs;        /* reorg events */
    uint64_t blocks_rolled_back;
    uint64_t rpc_errors;      /* failed fetches (each retried later) */
    uint64_t rejected_blocks; /* blocks refused because the node's data did not check out */
    double blocks_per_s;      /* exponential moving average while catching up */
    char last_error[256];
};

struct cantor_follower;

/*
 * A block hook lets another component (state roots and MMR, compression, ...) add its own writes to
 * the block's atomic store batch without the follower knowing about it. For each block, in hook
 * order: prepare() computes what to write (outside any lock; may be slow), write() adds it to the
 * batch, then committed() or discard() releases the prepared state. A rollback batch gets
 * rollback() from every hook (in reverse order) and rolled_back() after it committed. Any error
 * refuses the block (or the rollback) as a whole. All callbacks run on the follower thread.
 */
struct cantor_block_hook {
    const char *name;
    void *arg;
    enum cantor_err (*prepare)(void *arg, const struct cantor_block_meta *meta,
                               const struct cantor_delta *delta, const uint8_t *canonical,
                               size_t canonical_len, void **ret_state);
    enum cantor_err (*write)(void *arg, struct cantor_store_batch *b, uint64_t block, void *state);
    void (*committed)(void *arg, uint64_t block, void *state); /* also frees state */
    void (*discard)(void *arg, void *state);                   /* frees state of a refused block */
    enum cantor_err (*rollback)(void *arg, struct cantor_store_batch *b, uint64_t block);
    void (*rolled_back)(void *arg, uint64_t block);
};

#define CANTOR_FOLLOWER_MAX_HOOKS 8

enum cantor_err cantor_follower_new(const struct cantor_follower_opts *opts, struct cantor_store *store,
                                    struct cantor_ethrpc *rpc, struct cantor_follower **ret_follower);
/* Register a hook (before cantor_follower_start); the struct must outlive the follower. */
enum cantor_err cantor_follower_add_hook(struct cantor_follower *f, const struct cantor_block_hook *hook);
/* Start the follower thread. */
enum cantor_err cantor_follower_start(struct cantor_follower *f);
/* Ask the thread to stop after the current block (non-blocking). */
void cantor_follower_stop(struct cantor_follower *f);
/* Stop, join the thread and free; NULL-safe. */
void cantor_follower_free(struct cantor_follower *f);
/* Apply reloadable options (confirmations, poll interval, batch size). */
void cantor_follower_reconfigure(struct cantor_follower *f, const struct cantor_follower_opts *opts);
void cantor_follower_get_status(struct cantor_follower *f, struct cantor_follower_status *ret_status);

/*
 * One synchronous step without the thread (tests, `cantor` tools): detect capabilities if needed,
 * check for a reorg, fetch and apply up to batch_size blocks. *ret_applied counts applied blocks.
 */
enum cantor_err cantor_follower_step(struct cantor_follower *f, uint64_t *ret_applied);

/* Build store metadata from an eth_getBlockByNumber object, checking that the header re-hashes to
   its "hash" (a node that lies about a header is caught here). */
enum cantor_err cantor_follower_block_meta(json_t *block, struct cantor_block_meta *ret_meta);

#endif
