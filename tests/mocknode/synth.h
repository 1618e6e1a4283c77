/*
 * synth.h - internal to the mock node: the synthetic chain (see mocknode.h,
 * cantor_mocknode_set_synthetic). mocknode.c owns one struct mock_synth and hands it every
 * non-control call; the synthetic chain answers the calls that concern it and leaves the rest.
 *
 * Memory: the synth owns its per-block arrays; answers are appended to the caller's buffer.
 * Threading: one internal mutex, so connection threads may call mock_synth_answer() while a test
 * thread injects a reorg or a lie.
 */
#ifndef CANTOR_MOCKNODE_SYNTH_H
#define CANTOR_MOCKNODE_SYNTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "tests/mocknode/mocknode.h"

struct mock_synth;

enum cantor_err mock_synth_new(struct mock_synth **ret_synth);
void mock_synth_free(struct mock_synth *s);

/* Turn the chain on for from..to with the given diff format (already resolved, not AUTO). geth: the
   recorded geth diff of every block (to - from + 1 new references, and the malloc'ed array: both
   taken over, also on error), from which the account state behind the headers is built. */
enum cantor_err mock_synth_configure(struct mock_synth *s, uint64_t from, uint64_t to,
                                     enum cantor_mock_synth_format fmt, json_t **geth);
bool mock_synth_active(struct mock_synth *s);
/* Back to the original branch, no lie, head = to (the range and format stay). */
void mock_synth_reset(struct mock_synth *s);
void mock_synth_set_head(struct mock_synth *s, uint64_t head);
enum cantor_err mock_synth_reorg(struct mock_synth *s, uint64_t depth, enum cantor_mock_synth_diff diffs);
enum cantor_err mock_synth_lie(struct mock_synth *s, uint64_t block, enum cantor_mock_synth_lie lie);
enum cantor_err mock_synth_hash(struct mock_synth *s, uint64_t n, uint8_t ret_hash[32]);
/* The method name the chain serves diffs with in this format. */
const char *mock_synth_diff_method(enum cantor_mock_synth_format fmt);

/*
 * If the call belongs to the synthetic chain, append its "result":... or "error":... member to b
 * and set *ret_handled. recorded is the recorded answer text for the same (method, params), or
 * NULL: the chain serves the REAL recorded diffs under their real block numbers.
 */
enum cantor_err mock_synth_answer(struct mock_synth *s, const char *method, json_t *params,
                                  const char *recorded, struct cantor_buf *b, bool *ret_handled);

#endif
