/*
 * nodes.h - where cantord's commitments live in CANTOR_CF_ROOTS (docs/formats.md "Store layout",
 * roots rows) and read-only views of them as the node stores that core/smt.h and core/mmr.h walk:
 *   'n' ‖ hash(32)        -> 65-byte state tree node (content-addressed, never deleted)
 *   'm' ‖ BE64 position   -> 32-byte MMR node
 *   'r' ‖ BE64 block      -> roots record (CANTOR_ROOTS_REC_LEN bytes, below)
 *   'c' ‖ BE64 ~block     -> signed checkpoint (inverted so an ascending scan meets the newest first)
 *   'o' ‖ BE64 block      -> observation record: the observed values block n put into its state tree
 *   'p'                   -> pending observations: those of rolled-back blocks, for the next block
 *   'v'                   -> u8 roots layout version (CANTOR_ROOTS_LAYOUT; absent: an older cantord)
 * Observation records hold (addr, kind, slot, value) of keys whose value cantord proved without a
 * change (daemon/observe.h), so a block's state root can be recomputed from the store alone.
 * Writes go through a block's store batch (daemon/commit.c), never through these views: their put()
 * answers CANTOR_ERR_UNSUPPORTED. Memory: struct cantor_nodes borrows the store.
 */
#ifndef CANTOR_STORAGE_NODES_H
#define CANTOR_STORAGE_NODES_H

#include <stdint.h>

#include "core/buf.h"
#include "core/checkpoint.h"
#include "core/err.h"
#include "core/mmr.h"
#include "core/smt.h"
#include "storage/store.h"

#define CANTOR_NODES_KEY_SMT_LEN   33
#define CANTOR_NODES_KEY_NUM_LEN   9
#define CANTOR_ROOTS_REC_LEN       (4 * 32 + 8)
#define CANTOR_CHECKPOINT_REC_LEN  (8 + 8 + 32 + 32 + CANTOR_ED25519_SIG_LEN + CANTOR_SECP_SIG_LEN)
#define CANTOR_NODES_KEY_PENDING   'p'
#define CANTOR_NODES_KEY_LAYOUT    'v'
#define CANTOR_ROOTS_LAYOUT        1 /* 1: observation records are kept */
#define CANTOR_OBS_REC_VERSION     1
#define CANTOR_OBS_REC_HEADER      5 /* version u8 · count u32 */
#define CANTOR_OBS_REC_ENTRY       (CANTOR_ADDR_LEN + 1 + CANTOR_WORD_LEN + CANTOR_WORD_LEN)
#define CANTOR_OBS_REC_MAX_ENTRIES (1u << 19) /* 44.5 MB: below the store's 64 MiB value limit */

/* What a block commits to: the MMR leaf (number, hash, delta root, state root) and the MMR after it. */
struct cantor_roots_rec {
    uint8_t block_hash[32];
    uint8_t delta_root[32];
    uint8_t state_root[32];
    uint8_t mmr_root[32];
    uint64_t leaf_count; /* MMR leaves after this block (its leaf index + 1) */
};

void cantor_nodes_key_smt(const uint8_t hash[CANTOR_HASH_LEN], uint8_t out[CANTOR_NODES_KEY_SMT_LEN]);
void cantor_nodes_key_mmr(uint64_t pos, uint8_t out[CANTOR_NODES_KEY_NUM_LEN]);
void cantor_nodes_key_roots(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN]);
void cantor_nodes_key_checkpoint(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN]);
void cantor_nodes_key_obs(uint64_t block, uint8_t out[CANTOR_NODES_KEY_NUM_LEN]);

void cantor_roots_rec_encode(const struct cantor_roots_rec *r, uint8_t out[CANTOR_ROOTS_REC_LEN]);
enum cantor_err cantor_roots_rec_decode(const uint8_t *buf, size_t len, struct cantor_roots_rec *ret_rec);
/* The roots record of block n; CANTOR_ERR_NOT_FOUND when none is stored. */
enum cantor_err cantor_nodes_get_roots(struct cantor_store *s, uint64_t n, struct cantor_roots_rec *ret_rec);

void cantor_checkpoint_rec_encode(const struct cantor_checkpoint *c,
                                  const struct cantor_checkpoint_sigs *sigs,
                                  uint8_t out[CANTOR_CHECKPOINT_REC_LEN]);
enum cantor_err cantor_checkpoint_rec_decode(const uint8_t *buf, size_t len, struct cantor_checkpoint *ret_cp,
                                             struct cantor_checkpoint_sigs *ret_sigs);
/* The checkpoint at block n, or with n == UINT64_MAX the newest one; CANTOR_ERR_NOT_FOUND if none. */
enum cantor_err cantor_nodes_get_checkpoint(struct cantor_store *s, uint64_t n,
                                            struct cantor_checkpoint *ret_cp,
                                            struct cantor_checkpoint_sigs *ret_sigs);

/*
 * Observation record v1: version 1 (=1) · count u32, then count × (addr 20 · kind 1 · slot 32 ·
 * value 32), sorted by (addr, kind, slot), unique, values non-zero, slot zero unless kind = storage.
 * The in-memory form is a finished delta whose new values are the observed values (old values zero).
 * encode appends to out (out->max applies); decode is its strict inverse (CANTOR_ERR_CORRUPT).
 */
enum cantor_err cantor_obs_rec_encode(const struct cantor_delta *obs, struct cantor_buf *out);
enum cantor_err cantor_obs_rec_decode(const uint8_t *buf, size_t len, uint64_t block,
                                      struct cantor_delta **ret_obs);
/* Block n's observation record / the pending one (block_number 0); CANTOR_ERR_NOT_FOUND when none. */
enum cantor_err cantor_nodes_get_obs(struct cantor_store *s, uint64_t n, struct cantor_delta **ret_obs);
enum cantor_err cantor_nodes_get_pending_obs(struct cantor_store *s, struct cantor_delta **ret_obs);

/* Read-only node stores over the store. */
struct cantor_nodes {
    struct cantor_store *store;
    struct cantor_smt_store smt;
    struct cantor_mmr_store mmr;
};
void cantor_nodes_init(struct cantor_nodes *n, struct cantor_store *s);

#endif
