/*
 * withdrawals.h - beacon-chain withdrawals (EIP-4895) as balance changes of a block's delta.
 *
 * Withdrawals credit balances after a block's transactions and appear in no transaction trace
 * (neither trace_replayBlockTransactions nor debug_traceBlockByNumber), so a follower that only
 * chained the traces would miss them and the next trace would contradict its state. The block's
 * "withdrawals" list (amounts in gwei) is folded into the delta here: a recipient the transactions
 * already changed gets its new balance raised; any other recipient gets an entry whose old value the
 * caller supplies (it knows the state: the store, or a proof against the state root).
 */
#ifndef CANTOR_WITHDRAWALS_H
#define CANTOR_WITHDRAWALS_H

#include <jansson.h>
#include <stdint.h>

#include "core/delta.h"
#include "core/err.h"

#define CANTOR_WITHDRAWALS_MAX 1024 /* per block (the protocol allows 16) */

/*
 * The balance of addr after the block's transactions and before its withdrawals. `credited` is the
 * total the block's withdrawals credit to addr (wei), for callers that can only see the balance
 * after the whole block.
 */
typedef enum cantor_err (*cantor_balance_before_fn)(void *ctx, const uint8_t addr[CANTOR_ADDR_LEN],
                                                    const uint8_t credited[CANTOR_WORD_LEN],
                                                    uint8_t ret_balance[CANTOR_WORD_LEN]);

/*
 * Fold a block's withdrawals (the JSON array of eth_getBlockByNumber's "withdrawals", or NULL / an
 * empty array: nothing to do) into a finished delta; the delta is finished again afterwards.
 */
enum cantor_err cantor_delta_add_withdrawals(struct cantor_delta *d, const json_t *withdrawals,
                                             cantor_balance_before_fn before, void *ctx);

#endif
