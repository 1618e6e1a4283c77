/*
 * follower.c - see follower.h.
 *
 * One step: read the node's head; make sure our head is still on the node's chain (roll back
 * through undo records while it is not); fetch up to batch_size confirmed blocks in one pipelined
 * batch; for each, check the header re-hashes to its hash and links to our head, parse the diff
 * into a canonical delta and apply header + delta atomically. Anything that does not check out is
 * refused and retried on the next step: the store only ever moves a whole block at a time.
 */
#include "follower.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/delta.h"
#include "core/delta_json.h"
#include "core/header.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/u256.h"
#include "core/withdrawals.h"
#include "daemon/observe.h"
#include "daemon/thread.h"

struct cantor_follower {
    struct cantor_follower_opts opts;
    struct cantor_store *store;
    struct cantor_ethrpc *rpc;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    pthread_mutex_t lock; /* guards status and opts; the thread copies opts at each step */
    pthread_cond_t wake;
    struct cantor_follower_status st;
    struct timespec last_apply;
    const struct cantor_block_hook *hooks[CANTOR_FOLLOWER_MAX_HOOKS];
    size_t n_hooks;
};

enum cantor_err cantor_follower_add_hook(struct cantor_follower *f, const struct cantor_block_hook *hook)
{
    if (f->thread_started)
        return CANTOR_ERR_BUSY;
    if (f->n_hooks == CANTOR_FOLLOWER_MAX_HOOKS)
        return CANTOR_ERR_TOO_LARGE;
    f->hooks[f->n_hooks++] = hook;
    return CANTOR_OK;
}

/* What one block carries through the store's batch callback: observations and hook states. */
struct block_job {
    struct cantor_follower *f;
    struct cantor_observed *obs;
    void *state[CANTOR_FOLLOWER_MAX_HOOKS];
};

static enum cantor_err block_batch_write(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    struct block_job *job = ctx;
    enum cantor_err err = CANTOR_OK;

    if (job->obs)
        err = cantor_observe_write(b, block, job->obs);
    for (size_t i = 0; i < job->f->n_hooks && !err; i++)
        if (job->f->hooks[i]->write)
            err = job->f->hooks[i]->write(job->f->hooks[i]->arg, b, block, job->state[i]);
    return err;
}

static enum cantor_err rollback_batch_write(struct cantor_store_batch *b, uint64_t block, void *ctx)
{
    struct cantor_follower *f = ctx;
    enum cantor_err err = CANTOR_OK;

    for (size_t i = f->n_hooks; i-- > 0 && !err;)
        if (f->hooks[i]->rollback)
            err = f->hooks[i]->rollback(f->hooks[i]->arg, b, block);
    return err;
}

static void set_error(struct cantor_follower *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct cantor_follower *f, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(f->st.last_error)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("follower", "%s", msg);
    pthread_mutex_lock(&f->lock);
    memcpy(f->st.last_error, msg, sizeof(msg));
    pthread_mutex_unlock(&f->lock);
}

enum cantor_err cantor_follower_new(const struct cantor_follower_opts *opts, struct cantor_store *store,
                                    struct cantor_ethrpc *rpc, struct cantor_follower **ret_follower)
{
    struct cantor_follower *f;
    uint8_t hash[32];
    enum cantor_err err;

    if (!opts || !store || !rpc)
        return CANTOR_ERR_INVALID;
    f = calloc(1, sizeof(*f));
    if (!f)
        return CANTOR_ERR_NOMEM;
    f->opts = *opts;
    if (f->opts.batch_size == 0 || f->opts.batch_size > CANTOR_NODE_MAX_RANGE)
        f->opts.batch_size = f->opts.batch_size ? CANTOR_NODE_MAX_RANGE : 16;
    if (f->opts.poll_interval_ms == 0)
        f->opts.poll_interval_ms = 1000;
    f->store = store;
    f->rpc = rpc;
    /* The status describes the store from the start, not only after the first successful step
       (a node that is down at startup must not make an empty store look like one at block 0). */
    err = cantor_store_head(store, &f->st.store_head, hash, &f->st.store_empty);
    if (err) {
        free(f);
        return err;
    }
    atomic_init(&f->stop, false);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    *ret_follower = f;
    return CANTOR_OK;
}

void cantor_follower_reconfigure(struct cantor_follower *f, const struct cantor_follower_opts *opts)
{
    pthread_mutex_lock(&f->lock);
    f->opts.confirmations = opts->confirmations;
    f->opts.poll_interval_ms = opts->poll_interval_ms ? opts->poll_interval_ms : 1000;
    if (opts->batch_size >= 1 && opts->batch_size <= CANTOR_NODE_MAX_RANGE)
        f->opts.batch_size = opts->batch_size;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

void cantor_follower_get_status(struct cantor_follower *f, struct cantor_follower_status *ret_status)
{
    pthread_mutex_lock(&f->lock);
    *ret_status = f->st;
    pthread_mutex_unlock(&f->lock);
}

enum cantor_err cantor_follower_block_meta(json_t *block, struct cantor_block_meta *ret_meta)
{
    struct cantor_header h;
    struct cantor_buf rlp;
    enum cantor_err err;

    memset(ret_meta, 0, sizeof(*ret_meta));
    err = cantor_header_from_json(block, &h);
    if (err)
        return err;
    cantor_buf_init(&rlp, CANTOR_STORE_MAX_HEADER);
    err = cantor_header_encode(&h, &rlp);
    if (err) {
        cantor_buf_release(&rlp);
        return err;
    }
    ret_meta->number = h.number;
    memcpy(ret_meta->hash, h.hash, 32);
    memcpy(ret_meta->parent_hash, h.parent_hash, 32);
    memcpy(ret_meta->state_root, h.state_root, 32);
    ret_meta->timestamp = h.timestamp;
    ret_meta->header_rlp = cantor_buf_detach(&rlp, &ret_meta->header_rlp_len);
    return CANTOR_OK;
}

/* Sleep up to ms, waking early on stop or reconfigure. */
static void nap(struct cantor_follower *f, uint64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->lock);
    if (!atomic_load(&f->stop))
        pthread_cond_timedwait(&f->wake, &f->lock, &ts);
    pthread_mutex_unlock(&f->lock);
}

static enum cantor_err parse_delta(const struct cantor_node_block *b, struct cantor_delta **ret_delta)
{
    if (b->fmt == CANTOR_DIFF_PARITY)
        return cantor_delta_from_parity(b->diff, b->number, ret_delta);
    if (b->fmt == CANTOR_DIFF_GETH)
        return cantor_delta_from_geth(b->diff, b->number, ret_delta);
    return CANTOR_ERR_UNSUPPORTED;
}

/*
 * While our head is not the node's block at that height, roll back one block. Bounded by
 * CANTOR_FOLLOWER_MAX_REORG: a deeper disagreement is not a reorg we should follow blindly.
 */
static enum cantor_err heal_reorg(struct cantor_follower *f)
{
    unsigned depth = 0;

    for (;;) {
        uint64_t head, new_head;
        uint8_t hash[32], node_hash[32];
        bool empty;
        json_t *blk = NULL;
        enum cantor_err err;

        err = cantor_store_head(f->store, &head, hash, &empty);
        if (err || empty)
            return err;
        err = cantor_node_get_block(f->rpc, head, &blk);
        if (err == CANTOR_ERR_NOT_FOUND) {
            /* The node is behind us (restarted from an older snapshot, or a deep reorg in
               progress): treat our head as not canonical. */
            memset(node_hash, 0, sizeof(node_hash));
        } else if (err) {
            return err;
        } else {
            err = cantor_hex_decode_exact(json_string_value(json_object_get(blk, "hash")), node_hash, 32);
            json_decref(blk);
            if (err)
                return CANTOR_ERR_RPC;
        }
        if (memcmp(hash, node_hash, 32) == 0) {
            if (depth) {
                pthread_mutex_lock(&f->lock);
                f->st.reorgs++;
                pthread_mutex_unlock(&f->lock);
                log_warn("follower", "reorg: rolled back %u block(s), head now %" PRIu64, depth, head);
            }
            return CANTOR_OK;
        }
        if (depth == CANTOR_FOLLOWER_MAX_REORG) {
            set_error(f,
                      "our chain diverges from the node's more than %d blocks deep at block %" PRIu64
                      "; refusing to roll back further",
                      CANTOR_FOLLOWER_MAX_REORG, head);
            return CANTOR_ERR_REORG;
        }
        err = cantor_store_rollback_ex(f->store, &new_head, &empty, f->n_hooks ? rollback_batch_write : NULL,
                                       f);
        if (err)
            return err;
        for (size_t i = 0; i < f->n_hooks; i++)
            if (f->hooks[i]->rolled_back)
                f->hooks[i]->rolled_back(f->hooks[i]->arg, head);
        depth++;
        pthread_mutex_lock(&f->lock);
        f->st.blocks_rolled_back++;
        pthread_mutex_unlock(&f->lock);
        log_info("follower", "rolled back block %" PRIu64 " (not on the node's chain)", head);
        if (empty)
            return CANTOR_OK;
    }
}

static void note_applied(struct cantor_follower *f, const struct cantor_delta *d, size_t bytes,
                         uint64_t number)
{
    struct timespec now;
    double dt;

    clock_gettime(CLOCK_MONOTONIC, &now);
    dt = (double)(now.tv_sec - f->last_apply.tv_sec) + (double)(now.tv_nsec - f->last_apply.tv_nsec) / 1e9;
    pthread_mutex_lock(&f->lock);
    f->st.blocks_applied++;
    f->st.entries_applied += d->n_entries;
    f->st.bytes_applied += bytes;
    f->st.store_head = number;
    f->st.store_empty = false;
    if (f->last_apply.tv_sec && dt > 0) {
        double inst = 1.0 / dt;

        f->st.blocks_per_s = f->st.blocks_per_s ? 0.9 * f->st.blocks_per_s + 0.1 * inst : inst;
    }
    pthread_mutex_unlock(&f->lock);
    f->last_apply = now;
}

struct withdrawal_ctx {
    struct cantor_follower *f;
    uint64_t block;
    const uint8_t *state_root;
};

/* A withdrawal recipient the block's transactions did not touch: its balance before the withdrawals is
   the store's latest value, or (first sighting) the proven balance after the block minus the credit. */
static enum cantor_err balance_before_withdrawals(void *arg, const uint8_t addr[20],
                                                  const uint8_t credited[32], uint8_t ret[32])
{
    struct withdrawal_ctx *w = arg;
    uint8_t after[32];
    bool known = false;
    enum cantor_err err = cantor_store_latest(w->f->store, addr, CANTOR_KIND_BALANCE, NULL, ret, &known);

    if (err || known)
        return err;
    err = cantor_observe_prove_balance(w->f->rpc, addr, w->block, w->state_root, after);
    if (!err && cantor_u256_sub(after, credited, ret))
        err = CANTOR_ERR_MISMATCH; /* the proven balance is below what the withdrawals credited */
    return err;
}

/* Apply one fetched block; CANTOR_ERR_REORG means our head moved off the node's chain. */
static enum cantor_err apply_one(struct cantor_follower *f, const struct cantor_node_block *b)
{
    struct cantor_block_meta meta = {0};
    struct cantor_delta *d = NULL;
    struct block_job job = {.f = f};
    struct cantor_delta *obs_delta = NULL;
    size_t prepared = 0;
    struct cantor_buf enc;
    enum cantor_err err;

    cantor_buf_init(&enc, 0);
    err = cantor_follower_block_meta(b->block, &meta);
    if (err) {
        set_error(f,
                  "block %" PRIu64 ": header rejected (%s): the node's header does not re-hash to its hash",
                  b->number, cantor_err_str(err));
        goto out;
    }
    if (meta.number != b->number) {
        set_error(f, "block %" PRIu64 ": node answered with block %" PRIu64, b->number, meta.number);
        err = CANTOR_ERR_MISMATCH;
        goto out;
    }
    err = parse_delta(b, &d);
    if (err) {
        set_error(f, "block %" PRIu64 ": state diff rejected: %s", b->number, cantor_err_str(err));
        goto out;
    }
    {
        struct withdrawal_ctx wc = {f, b->number, meta.state_root};

        err = cantor_delta_add_withdrawals(d, json_object_get(b->block, "withdrawals"),
                                           balance_before_withdrawals, &wc);
        if (err) {
            set_error(f, "block %" PRIu64 ": withdrawals rejected: %s", b->number, cantor_err_str(err));
            goto out;
        }
    }
    err = cantor_delta_encode(d, &enc);
    if (err)
        goto out;
    err = cantor_observe_block(f->rpc, f->store, b->diff, b->fmt, d, meta.state_root, &job.obs);
    if (err) {
        set_error(f, "block %" PRIu64 ": cannot prove the untouched fields of its accounts: %s", b->number,
                  cantor_err_str(err));
        goto out;
    }
    err = cantor_observed_delta(job.obs, meta.number, &obs_delta); /* for the hooks (state tree) */
    if (err)
        goto out;
    meta.observed = obs_delta;
    for (; prepared < f->n_hooks; prepared++) {
        const struct cantor_block_hook *h = f->hooks[prepared];

        err = h->prepare ? h->prepare(h->arg, &meta, d, enc.data, enc.len, &job.state[prepared]) : CANTOR_OK;
        if (err) {
            set_error(f, "block %" PRIu64 ": %s refused it: %s", b->number, h->name, cantor_err_str(err));
            goto out;
        }
    }
    err = cantor_store_apply_block_ex(f->store, &meta, d, NULL, 0, block_batch_write, &job);
    if (!err) {
        for (size_t i = 0; i < f->n_hooks; i++) {
            if (f->hooks[i]->committed)
                f->hooks[i]->committed(f->hooks[i]->arg, meta.number, job.state[i]);
            job.state[i] = NULL;
        }
    }
    if (err == CANTOR_ERR_REORG)
        goto out;
    if (err) {
        set_error(f, "block %" PRIu64 ": store refused it: %s", b->number, cantor_err_str(err));
        goto out;
    }
    note_applied(f, d, enc.len, meta.number);
    log_debug("follower", "applied block %" PRIu64 " (%zu entries, %zu bytes)", meta.number, d->n_entries,
              enc.len);
out:
    if (err && err != CANTOR_ERR_REORG) {
        pthread_mutex_lock(&f->lock);
        f->st.rejected_blocks++;
        pthread_mutex_unlock(&f->lock);
    }
    for (size_t i = 0; i < prepared; i++)
        if (job.state[i] && f->hooks[i]->discard)
            f->hooks[i]->discard(f->hooks[i]->arg, job.state[i]);
    cantor_buf_release(&enc);
    cantor_observed_free(job.obs);
    cantor_delta_free(obs_delta);
    cantor_delta_free(d);
    cantor_block_meta_release(&meta);
    return err;
}

static enum cantor_err ensure_caps(struct cantor_follower *f)
{
    struct cantor_node_caps caps;
    enum cantor_err err;

    if (f->st.caps_known)
        return CANTOR_OK;
    err = cantor_node_detect(f->rpc, &caps);
    if (err) {
        pthread_mutex_lock(&f->lock);
        f->st.node_ok = false;
        pthread_mutex_unlock(&f->lock);
        set_error(f, "cannot detect node capabilities: %s (%s)", cantor_err_str(err),
                  cantor_ethrpc_last_error(f->rpc));
        return err;
    }
    if (caps.diff_format == CANTOR_DIFF_NONE) {
        set_error(f, "node supports neither trace_replayBlockTransactions(stateDiff) nor "
                     "debug_traceBlockByNumber(prestateTracer, diffMode)");
        return CANTOR_ERR_UNSUPPORTED;
    }
    log_info("follower", "node: chain id %" PRIu64 ", head %" PRIu64 ", state diffs via %s, batching %s",
             caps.chain_id, caps.head, cantor_diff_format_name(caps.diff_format), caps.batch ? "yes" : "no");
    pthread_mutex_lock(&f->lock);
    f->st.caps = caps;
    f->st.caps_known = true;
    pthread_mutex_unlock(&f->lock);
    return CANTOR_OK;
}

enum cantor_err cantor_follower_step(struct cantor_follower *f, uint64_t *ret_applied)
{
    struct cantor_follower_opts opts;
    struct cantor_node_block *blocks = NULL;
    uint64_t node_head, head, next, target, to, applied = 0;
    uint8_t hash[32];
    bool empty;
    enum cantor_err err;

    pthread_mutex_lock(&f->lock);
    opts = f->opts;
    pthread_mutex_unlock(&f->lock);
    err = ensure_caps(f);
    if (err)
        goto out;
    err = cantor_node_block_number(f->rpc, &node_head);
    pthread_mutex_lock(&f->lock);
    f->st.node_ok = err == CANTOR_OK;
    pthread_mutex_unlock(&f->lock);
    if (err) {
        set_error(f, "eth_blockNumber failed: %s (%s)", cantor_err_str(err),
                  cantor_ethrpc_last_error(f->rpc));
        goto out;
    }
    err = heal_reorg(f);
    if (err)
        goto out;
    err = cantor_store_head(f->store, &head, hash, &empty);
    if (err)
        goto out;
    pthread_mutex_lock(&f->lock);
    f->st.node_head = node_head;
    f->st.store_head = head;
    f->st.store_empty = empty;
    pthread_mutex_unlock(&f->lock);
    if (node_head < opts.confirmations)
        goto synced;
    target = node_head - opts.confirmations;
    if (empty) {
        if (opts.start == CANTOR_FOLLOW_FROM_NUMBER)
            next = opts.start_number;
        else if (opts.start == CANTOR_FOLLOW_FROM_HEAD)
            next = target;
        else
            next = 0;
    } else {
        next = head + 1;
    }
    if (opts.stop_at && target > opts.stop_at)
        target = opts.stop_at;
    if (next > target)
        goto synced;
    to = next + opts.batch_size - 1;
    if (to > target)
        to = target;
    blocks = calloc((size_t)(to - next + 1), sizeof(*blocks));
    if (!blocks) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    err = cantor_node_fetch_range(f->rpc, &f->st.caps, next, to, blocks);
    if (err) {
        set_error(f, "fetching blocks %" PRIu64 "..%" PRIu64 " failed: %s (%s)", next, to,
                  cantor_err_str(err), cantor_ethrpc_last_error(f->rpc));
        goto release;
    }
    for (uint64_t i = 0; i <= to - next && !atomic_load(&f->stop); i++) {
        if (blocks[i].err) {
            err = blocks[i].err;
            set_error(f, "block %" PRIu64 ": node returned no usable answer: %s", blocks[i].number,
                      cantor_err_str(err));
            break;
        }
        err = apply_one(f, &blocks[i]);
        if (err == CANTOR_ERR_REORG) {
            /* The new block does not link to our head: the next step heals it. */
            log_info("follower", "block %" PRIu64 " does not extend our head: chain reorganised",
                     blocks[i].number);
            err = CANTOR_OK;
            break;
        }
        if (err)
            break;
        applied++;
    }
    pthread_mutex_lock(&f->lock);
    f->st.synced = !err && next + applied > target && target + opts.confirmations >= node_head;
    pthread_mutex_unlock(&f->lock);
release:
    cantor_node_range_release(blocks, blocks ? (size_t)(to - next + 1) : 0);
    free(blocks);
    goto out;
synced:
    pthread_mutex_lock(&f->lock);
    f->st.synced = true;
    pthread_mutex_unlock(&f->lock);
out:
    if (err) {
        pthread_mutex_lock(&f->lock);
        f->st.rpc_errors++;
        pthread_mutex_unlock(&f->lock);
    }
    if (ret_applied)
        *ret_applied = applied;
    return err;
}

static void *follower_main(void *arg)
{
    struct cantor_follower *f = arg;
    uint64_t backoff_ms = 0;

    cantor_thread_background("cantor-follow", f->opts.nice);
    log_info("follower", "started");
    while (!atomic_load(&f->stop)) {
        uint64_t applied = 0, poll, stop_at, head;
        enum cantor_err err = cantor_follower_step(f, &applied);

        pthread_mutex_lock(&f->lock);
        poll = f->opts.poll_interval_ms;
        stop_at = f->opts.stop_at;
        head = f->st.store_head;
        pthread_mutex_unlock(&f->lock);
        if (stop_at && head >= stop_at && !f->st.store_empty)
            break;
        if (err) {
            /* The RPC client already retried with backoff; back off further between steps so a dead
               node costs a request every few seconds, not a spin. */
            backoff_ms = backoff_ms ? backoff_ms * 2 : poll;
            if (backoff_ms > 30000)
                backoff_ms = 30000;
            nap(f, backoff_ms);
            continue;
        }
        if (backoff_ms) {
            log_info("follower", "node reachable again, resuming");
            backoff_ms = 0;
        }
        if (applied == 0)
            nap(f, poll);
    }
    pthread_mutex_lock(&f->lock);
    f->st.running = false;
    pthread_mutex_unlock(&f->lock);
    log_info("follower", "stopped");
    return NULL;
}

enum cantor_err cantor_follower_start(struct cantor_follower *f)
{
    int rc;

    if (f->thread_started)
        return CANTOR_ERR_BUSY;
    f->st.running = true;
    rc = pthread_create(&f->thread, NULL, follower_main, f);
    if (rc) {
        f->st.running = false;
        return CANTOR_ERR_NOMEM;
    }
    f->thread_started = true;
    return CANTOR_OK;
}

void cantor_follower_stop(struct cantor_follower *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    cantor_ethrpc_cancel(f->rpc);
    pthread_mutex_lock(&f->lock);
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

void cantor_follower_free(struct cantor_follower *f)
{
    if (!f)
        return;
    cantor_follower_stop(f);
    if (f->thread_started)
        pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
