/*
 * delta_json.c - JSON view of delta entries (JSON lines), shared value parsers for the two
 * state-diff formats, and the loader for recorded RPC files that detects the format by shape.
 *
 * Ownership: see delta_json.h. Returned json_t hold one reference for the caller; deltas are the
 * caller's; the loader frees the file text and the parsed JSON before it returns.
 */
#include "delta_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "json_blank.h"
#include "keccak.h"

static const char *const kind_names[] = {"balance", "nonce", "code", "storage"};

const char *cantor_delta_kind_name(uint8_t kind)
{
    return kind <= CANTOR_KIND_STORAGE ? kind_names[kind] : NULL;
}

const char *cantor_delta_format_name(enum cantor_delta_format format)
{
    switch (format) {
    case CANTOR_DELTA_FORMAT_PARITY:
        return "parity";
    case CANTOR_DELTA_FORMAT_GETH:
        return "geth";
    }
    return "unknown";
}

enum cantor_err cantor_delta_json_addr(const char *s, uint8_t out[CANTOR_ADDR_LEN])
{
    if (!s || strlen(s) != 2 + 2 * CANTOR_ADDR_LEN || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return CANTOR_ERR_HEX;
    return cantor_hex_decode_exact(s, out, CANTOR_ADDR_LEN);
}

enum cantor_err cantor_delta_json_word(const json_t *v, uint8_t out[CANTOR_WORD_LEN])
{
    if (json_is_string(v))
        return cantor_hex_decode_word(json_string_value(v), out);
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        uint64_t u;

        if (n < 0)
            return CANTOR_ERR_INVALID;
        u = (uint64_t)n;
        memset(out, 0, CANTOR_WORD_LEN);
        for (int i = 0; i < 8; i++)
            out[CANTOR_WORD_LEN - 1 - i] = (uint8_t)(u >> (8 * i));
        return CANTOR_OK;
    }
    return CANTOR_ERR_JSON;
}

enum cantor_err cantor_delta_json_code(const json_t *v, uint8_t ret_hash[CANTOR_WORD_LEN], uint8_t **ret_code,
                                       size_t *ret_len)
{
    const char *s;
    uint8_t *code = NULL;
    size_t len = 0;
    enum cantor_err err;

    if (!json_is_string(v))
        return CANTOR_ERR_JSON;
    s = json_string_value(v);
    /* Check the size before decoding so a huge string never turns into a huge allocation. */
    if (json_string_length(v) > 2 + 2 * (size_t)CANTOR_DELTA_MAX_CODE_LEN)
        return CANTOR_ERR_TOO_LARGE;
    if (strlen(s) != json_string_length(v))
        return CANTOR_ERR_HEX; /* embedded NUL */
    err = cantor_hex_decode_alloc(s, &code, &len);
    if (err)
        return err;
    cantor_keccak256(code, len, ret_hash);
    if (ret_code) {
        *ret_code = code;
        code = NULL;
    }
    if (ret_len)
        *ret_len = len;
    free(code);
    return CANTOR_OK;
}

static bool kind_is_quantity(uint8_t kind)
{
    return kind == CANTOR_KIND_BALANCE || kind == CANTOR_KIND_NONCE;
}

static json_t *value_json(uint8_t kind, const uint8_t w[CANTOR_WORD_LEN])
{
    char s[2 * CANTOR_WORD_LEN + 3];

    if (kind_is_quantity(kind))
        cantor_hex_encode_quantity(w, s);
    else
        cantor_hex_encode(w, CANTOR_WORD_LEN, s);
    return json_string(s);
}

enum cantor_err cantor_delta_entry_to_json(const struct cantor_delta_entry *e, json_t **ret_json)
{
    char s[2 * CANTOR_WORD_LEN + 3];
    json_t *j = NULL;
    enum cantor_err err = CANTOR_ERR_NOMEM;

    if (!e || !ret_json || e->kind > CANTOR_KIND_STORAGE)
        return CANTOR_ERR_INVALID;
    j = json_object();
    if (!j)
        goto out;
    cantor_hex_encode(e->addr, CANTOR_ADDR_LEN, s);
    if (json_object_set_new(j, "address", json_string(s)) ||
        json_object_set_new(j, "kind", json_string(kind_names[e->kind])))
        goto out;
    if (e->kind == CANTOR_KIND_STORAGE) {
        cantor_hex_encode(e->slot, CANTOR_WORD_LEN, s);
        if (json_object_set_new(j, "slot", json_string(s)))
            goto out;
    }
    if (json_object_set_new(j, "old", value_json(e->kind, e->old_val)) ||
        json_object_set_new(j, "new", value_json(e->kind, e->new_val)))
        goto out;
    *ret_json = j;
    j = NULL;
    err = CANTOR_OK;
out:
    json_decref(j);
    return err;
}

static enum cantor_err word_field(const json_t *j, const char *name, uint8_t out[CANTOR_WORD_LEN])
{
    const json_t *v = json_object_get(j, name);

    if (!json_is_string(v))
        return CANTOR_ERR_JSON;
    return cantor_hex_decode_word(json_string_value(v), out);
}

enum cantor_err cantor_delta_entry_from_json(const json_t *j, struct cantor_delta_entry *ret_entry)
{
    struct cantor_delta_entry e;
    const json_t *addr, *kind, *slot;
    enum cantor_err err;

    if (!ret_entry)
        return CANTOR_ERR_INVALID;
    if (!json_is_object(j))
        return CANTOR_ERR_JSON;
    memset(&e, 0, sizeof(e));
    addr = json_object_get(j, "address");
    kind = json_object_get(j, "kind");
    slot = json_object_get(j, "slot");
    if (!json_is_string(addr) || !json_is_string(kind))
        return CANTOR_ERR_JSON;
    err = cantor_delta_json_addr(json_string_value(addr), e.addr);
    if (err)
        return err;
    e.kind = 0xff;
    for (uint8_t k = 0; k <= CANTOR_KIND_STORAGE; k++)
        if (strcmp(json_string_value(kind), kind_names[k]) == 0)
            e.kind = k;
    if (e.kind == 0xff)
        return CANTOR_ERR_INVALID;
    /* A slot on a non-storage entry (or none on a storage entry) is a malformed key. */
    if ((e.kind == CANTOR_KIND_STORAGE) != (slot != NULL))
        return CANTOR_ERR_INVALID;
    if (slot && (err = word_field(j, "slot", e.slot)) != CANTOR_OK)
        return err;
    err = word_field(j, "old", e.old_val);
    if (!err)
        err = word_field(j, "new", e.new_val);
    if (err)
        return err;
    *ret_entry = e;
    return CANTOR_OK;
}

enum cantor_err cantor_delta_to_json_lines(const struct cantor_delta *d, struct cantor_buf *out)
{
    enum cantor_err err = CANTOR_OK;

    if (!d || !out)
        return CANTOR_ERR_INVALID;
    for (size_t i = 0; i < d->n_entries && !err; i++) {
        json_t *j = NULL;
        char *s;

        err = cantor_delta_entry_to_json(&d->entries[i], &j);
        if (err)
            break;
        s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!s)
            return CANTOR_ERR_NOMEM;
        err = cantor_buf_append_str(out, s);
        if (!err)
            err = cantor_buf_append_byte(out, '\n');
        free(s);
    }
    return err;
}

enum cantor_err cantor_delta_from_json_lines(const char *text, size_t len, uint64_t block_number,
                                             struct cantor_delta **ret_delta)
{
    struct cantor_delta *d = NULL;
    size_t pos = 0;
    enum cantor_err err;

    if ((!text && len) || !ret_delta)
        return CANTOR_ERR_INVALID;
    if (len > CANTOR_DELTA_MAX_JSON_LINES)
        return CANTOR_ERR_TOO_LARGE;
    err = cantor_delta_new(block_number, &d);
    if (err)
        goto out;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        struct cantor_delta_entry e;
        json_error_t jerr;
        json_t *j;
        bool blank = true;

        for (size_t i = pos; i < end; i++)
            if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
                blank = false;
        if (!blank) {
            j = json_loadb(text + pos, n, JSON_REJECT_DUPLICATES, &jerr);
            if (!j) {
                err = CANTOR_ERR_JSON;
                goto out;
            }
            if (json_is_object(j) && json_object_get(j, "block") && !json_object_get(j, "address")) {
                json_t *b = json_object_get(j, "block");

                if (json_is_integer(b) && json_integer_value(b) >= 0)
                    d->block_number = (uint64_t)json_integer_value(b);
                else
                    err = CANTOR_ERR_JSON;
            } else {
                err = cantor_delta_entry_from_json(j, &e);
                if (!err)
                    err = cantor_delta_add(d, &e);
            }
            json_decref(j);
            if (err)
                goto out;
        }
        pos = end + 1;
    }
    err = cantor_delta_finish(d);
    if (err)
        goto out;
    *ret_delta = d;
    d = NULL;
out:
    cantor_delta_free(d);
    return err;
}

/* Block number from a JSON-RPC request whose first parameter is a block number (hex quantity). */
static uint64_t request_block(const json_t *req)
{
    const json_t *method = json_object_get(req, "method");
    const json_t *p0 = json_array_get(json_object_get(req, "params"), 0);
    uint64_t n = 0;

    if (!json_is_string(method) || !json_is_string(p0))
        return 0;
    if (strcmp(json_string_value(method), "trace_replayBlockTransactions") != 0 &&
        strcmp(json_string_value(method), "debug_traceBlockByNumber") != 0)
        return 0;
    if (cantor_hex_decode_u64(json_string_value(p0), &n))
        return 0; /* "latest", a hash: no number to take */
    return n;
}

/* geth tracetest fixtures: context.number is a decimal string. */
static uint64_t context_block(const json_t *root)
{
    const json_t *num = json_object_get(json_object_get(root, "context"), "number");
    const char *s;
    char *end;
    unsigned long long v;

    if (json_is_integer(num) && json_integer_value(num) >= 0)
        return (uint64_t)json_integer_value(num);
    if (!json_is_string(num))
        return 0;
    s = json_string_value(num);
    if (*s < '0' || *s > '9')
        return 0;
    v = strtoull(s, &end, 10);
    return *end ? 0 : (uint64_t)v;
}

/* Which format a result is, from its shape; 0 when it is neither. */
static enum cantor_delta_format detect(const json_t *result)
{
    const json_t *first = result;

    if (json_is_array(result)) {
        if (json_array_size(result) == 0)
            return CANTOR_DELTA_FORMAT_PARITY; /* no transactions: both formats give the same */
        first = json_array_get(result, 0);
    }
    if (!json_is_object(first))
        return 0;
    if (json_object_get(first, "stateDiff"))
        return CANTOR_DELTA_FORMAT_PARITY;
    if (json_is_array(result) && (json_object_get(first, "result") || json_object_get(first, "txHash")))
        return CANTOR_DELTA_FORMAT_GETH;
    if (json_object_get(first, "pre") && json_object_get(first, "post"))
        return CANTOR_DELTA_FORMAT_GETH;
    return 0;
}

enum cantor_err cantor_delta_from_recorded(json_t *root, enum cantor_delta_format *ret_format,
                                           struct cantor_delta **ret_delta)
{
    json_t *result = root;
    enum cantor_delta_format format;
    uint64_t block = 0;
    enum cantor_err err;

    if (!root || !ret_delta)
        return CANTOR_ERR_INVALID;
    /* erigon rpc-tests: [{"request": ..., "response": {...}}] */
    if (json_is_array(root) && json_array_size(root) == 1 && json_is_object(json_array_get(root, 0)) &&
        json_object_get(json_array_get(root, 0), "response")) {
        json_t *pair = json_array_get(root, 0);

        block = request_block(json_object_get(pair, "request"));
        result = json_object_get(pair, "response");
    }
    if (json_is_object(result) && json_object_get(result, "result")) {
        if (!block)
            block = context_block(result);
        result = json_object_get(result, "result");
    } else if (json_is_object(result) && json_object_get(result, "error")) {
        return CANTOR_ERR_RPC;
    }
    format = detect(result);
    if (!format)
        return CANTOR_ERR_UNSUPPORTED;
    if (format == CANTOR_DELTA_FORMAT_PARITY)
        err = cantor_delta_from_parity(result, block, ret_delta);
    else
        err = cantor_delta_from_geth(result, block, ret_delta);
    if (!err && ret_format)
        *ret_format = format;
    return err;
}

enum cantor_err cantor_delta_parse_recorded(char *text, size_t len, enum cantor_delta_format *ret_format,
                                            struct cantor_delta **ret_delta)
{
    /* members no parser reads; vmTrace is most of a recording's bytes when it was asked for */
    static const char *const unread[] = {"vmTrace", "trace", NULL};
    json_error_t jerr;
    json_t *root;
    enum cantor_err err;

    if (!text || !ret_delta)
        return CANTOR_ERR_INVALID;
    cantor_json_blank_members(text, len, unread);
    root = json_loadb(text, len, 0, &jerr);
    if (!root)
        return CANTOR_ERR_JSON;
    err = cantor_delta_from_recorded(root, ret_format, ret_delta);
    json_decref(root);
    return err;
}

enum cantor_err cantor_delta_load_recorded_ex(const char *path, enum cantor_delta_format *ret_format,
                                              struct cantor_delta **ret_delta)
{
    struct cantor_buf b;
    enum cantor_err err;

    if (!path || !ret_delta)
        return CANTOR_ERR_INVALID;
    cantor_buf_init(&b, CANTOR_DELTA_MAX_RECORDED);
    err = cantor_buf_read_file(&b, path);
    if (!err)
        err = cantor_delta_parse_recorded((char *)b.data, b.len, ret_format, ret_delta);
    cantor_buf_release(&b);
    return err;
}

enum cantor_err cantor_delta_load_recorded(const char *path, struct cantor_delta **ret_delta)
{
    return cantor_delta_load_recorded_ex(path, NULL, ret_delta);
}
