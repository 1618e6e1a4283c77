/*
 * json_blank.h - blank the values of named object members in JSON text, in place and without
 * building a tree: each such value becomes `null` padded with spaces, so the text stays valid JSON of
 * the same length.
 *
 * Why: a recorded trace_replayBlockTransactions answer as erigon's rpc-tests ship it carries each
 * transaction's `vmTrace` (every opcode of the block: hundreds of megabytes) next to the `stateDiff`
 * the delta parsers read. A tree parser spends ~16 bytes of memory per byte of JSON, so a 300 MB
 * recording took ~5 GB; blanked first, it costs what the state diff costs.
 *
 * Only strings and bracket nesting are followed, and a value is blanked only when they are well
 * formed inside it (brackets of matching kinds, nesting at most CANTOR_JSON_BLANK_MAX_DEPTH, strings
 * closed). Scalars inside a blanked value are not checked: it is skipped unread, as a streaming parser
 * would skip it. Everything outside blanked values is left for the JSON parser to check. No
 * allocation; the caller owns the text.
 */
#ifndef CANTOR_JSON_BLANK_H
#define CANTOR_JSON_BLANK_H

#include <stddef.h>

#define CANTOR_JSON_BLANK_MAX_DEPTH 2048 /* jansson's own nesting limit */

/*
 * Blank the value of every member whose key is one of names (NULL-terminated list; keys compared
 * byte for byte with the raw text between the quotes) at any depth of text[0, len). Values shorter
 * than 4 bytes are left as they are. Returns how many values were blanked (a `null` already there does
 * not count).
 */
size_t cantor_json_blank_members(char *text, size_t len, const char *const *names);

#endif
