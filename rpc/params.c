/*
 * params.c - strict parameter parsing for the API; see params.h. Nothing here allocates: values go
 * into caller buffers and reasons into the caller's why buffer.
 */
#include "params.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/hex.h"

#define MAX_QUERY_ARGS 16

static enum cantor_err fail(enum cantor_err err, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum cantor_err fail(enum cantor_err err, char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (why && why_len) {
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

static bool has_0x(const char *s)
{
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* Length of s, or CANTOR_PARAMS_MAX_LEN + 1 when longer (never reads past that). */
static size_t bounded_len(const char *s)
{
    return strnlen(s, CANTOR_PARAMS_MAX_LEN + 1);
}

/* Check digits are hex and count them; -1 on a bad digit (its index in *ret_bad). */
static bool all_hex(const char *p, size_t n, size_t *ret_bad)
{
    for (size_t i = 0; i < n; i++) {
        if (cantor_hex_digit(p[i]) < 0) {
            *ret_bad = i;
            return false;
        }
    }
    return true;
}

static enum cantor_err hex_u64(const char *p, size_t n, uint64_t *ret_n, char *why, size_t why_len)
{
    uint64_t v = 0;
    size_t bad;

    if (n == 0)
        return fail(CANTOR_ERR_HEX, why, why_len, "hex string \"0x\" has no digits");
    if (!all_hex(p, n, &bad))
        return fail(CANTOR_ERR_HEX, why, why_len, "invalid hex digit '%c'",
                    p[bad] >= 0x20 && p[bad] < 0x7f ? p[bad] : '?');
    while (n > 1 && *p == '0') {
        p++;
        n--;
    }
    if (n > 16)
        return fail(CANTOR_ERR_OVERFLOW, why, why_len, "number does not fit in 64 bits");
    for (size_t i = 0; i < n; i++)
        v = v << 4 | (uint64_t)cantor_hex_digit(p[i]);
    *ret_n = v;
    return CANTOR_OK;
}

enum cantor_err cantor_params_block_number(const char *s, uint64_t *ret_n, char *why, size_t why_len)
{
    uint64_t v = 0;
    size_t n;
    enum cantor_err err;

    if (!s || !*s)
        return fail(CANTOR_ERR_INVALID, why, why_len, "empty block number");
    n = bounded_len(s);
    if (n > 20 + 2)
        return fail(CANTOR_ERR_OVERFLOW, why, why_len, "block number too long");
    if (has_0x(s)) {
        err = hex_u64(s + 2, n - 2, &v, why, why_len);
        if (err)
            return err;
    } else {
        if (n > 1 && s[0] == '0')
            return fail(CANTOR_ERR_INVALID, why, why_len, "decimal block number with leading zero");
        for (size_t i = 0; i < n; i++) {
            unsigned d;

            if (s[i] < '0' || s[i] > '9')
                return fail(CANTOR_ERR_INVALID, why, why_len,
                            "not a decimal or 0x-prefixed hex block number");
            d = (unsigned)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                return fail(CANTOR_ERR_OVERFLOW, why, why_len, "number does not fit in 64 bits");
            v = v * 10 + d;
        }
    }
    if (v > CANTOR_PARAMS_BLOCK_MAX)
        return fail(CANTOR_ERR_OVERFLOW, why, why_len, "block number above %" PRIu64,
                    CANTOR_PARAMS_BLOCK_MAX);
    *ret_n = v;
    return CANTOR_OK;
}

enum cantor_err cantor_params_quantity_u64(const char *s, uint64_t *ret_n, char *why, size_t why_len)
{
    size_t n;

    if (!s)
        return fail(CANTOR_ERR_INVALID, why, why_len, "missing quantity");
    n = bounded_len(s);
    if (n == 0)
        return fail(CANTOR_ERR_HEX, why, why_len, "empty hex string");
    if (!has_0x(s))
        return fail(CANTOR_ERR_HEX, why, why_len, "hex string without 0x prefix");
    if (n > 3 && s[2] == '0')
        return fail(CANTOR_ERR_HEX, why, why_len, "hex number with leading zero digits");
    if (n > 18)
        return fail(CANTOR_ERR_OVERFLOW, why, why_len, "hex number > 64 bits");
    return hex_u64(s + 2, n - 2, ret_n, why, why_len);
}

static enum cantor_err fixed_hex(const char *s, uint8_t *out, size_t out_len, const char *what, char *why,
                                 size_t why_len)
{
    size_t n, bad;

    if (!s)
        return fail(CANTOR_ERR_INVALID, why, why_len, "missing %s", what);
    n = bounded_len(s);
    if (!has_0x(s))
        return fail(CANTOR_ERR_HEX, why, why_len, "hex string without 0x prefix");
    if (n - 2 != out_len * 2)
        return fail(CANTOR_ERR_HEX, why, why_len, "%s has %s%zu hex digits, want %zu", what,
                    n > CANTOR_PARAMS_MAX_LEN ? "more than " : "", n - 2, out_len * 2);
    if (!all_hex(s + 2, n - 2, &bad))
        return fail(CANTOR_ERR_HEX, why, why_len, "invalid hex digit in %s", what);
    return cantor_hex_decode_exact(s, out, out_len);
}

enum cantor_err cantor_params_address(const char *s, uint8_t ret[20], char *why, size_t why_len)
{
    return fixed_hex(s, ret, 20, "address", why, why_len);
}

enum cantor_err cantor_params_word(const char *s, uint8_t ret[32], char *why, size_t why_len)
{
    return fixed_hex(s, ret, 32, "32-byte hex value", why, why_len);
}

enum cantor_err cantor_params_slot_lax(const char *s, uint8_t ret[32], char *why, size_t why_len)
{
    const char *p;
    size_t n, bad;

    if (!s)
        return fail(CANTOR_ERR_INVALID, why, why_len, "missing storage slot");
    n = bounded_len(s);
    p = has_0x(s) ? s + 2 : s;
    n -= (size_t)(p - s);
    if (n > 64)
        return fail(CANTOR_ERR_HEX, why, why_len, "hex string too long, want at most 32 bytes");
    if (!all_hex(p, n, &bad))
        return fail(CANTOR_ERR_HEX, why, why_len, "invalid hex digit in storage slot");
    memset(ret, 0, 32);
    if (n == 0)
        return CANTOR_OK; /* geth decodes "0x" as the zero slot */
    return cantor_hex_decode_word(s, ret);
}

enum cantor_err cantor_params_limit(const char *s, size_t def, size_t max, size_t *ret_n, char *why,
                                    size_t why_len)
{
    uint64_t v;
    enum cantor_err err;

    if (!s) {
        *ret_n = def;
        return CANTOR_OK;
    }
    if (has_0x(s))
        return fail(CANTOR_ERR_INVALID, why, why_len, "limit must be a decimal number");
    err = cantor_params_block_number(s, &v, why, why_len);
    if (err)
        return err;
    if (v == 0 || v > max)
        return fail(CANTOR_ERR_INVALID, why, why_len, "limit must be between 1 and %zu", max);
    *ret_n = (size_t)v;
    return CANTOR_OK;
}

struct query_walk {
    const char *const *allowed;
    const char *seen[MAX_QUERY_ARGS];
    size_t n_seen;
    const char *bad;
};

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct query_walk *w = cls;
    bool ok = false;

    (void)kind;
    (void)value;
    for (size_t i = 0; w->allowed && w->allowed[i]; i++)
        if (strcmp(key, w->allowed[i]) == 0)
            ok = true;
    for (size_t i = 0; ok && i < w->n_seen; i++)
        if (strcmp(key, w->seen[i]) == 0)
            ok = false;
    if (!ok || w->n_seen == MAX_QUERY_ARGS) {
        w->bad = key;
        return MHD_NO;
    }
    w->seen[w->n_seen++] = key;
    return MHD_YES;
}

enum cantor_err cantor_params_check_query(const struct cantor_http_request *req, const char *const *allowed,
                                          const char **ret_bad)
{
    struct query_walk w = {.allowed = allowed};

    MHD_get_connection_values((struct MHD_Connection *)req->conn, MHD_GET_ARGUMENT_KIND, query_cb, &w);
    if (w.bad) {
        *ret_bad = w.bad;
        return CANTOR_ERR_INVALID;
    }
    return CANTOR_OK;
}

void cantor_params_echo(const char *s, char *out, size_t out_len)
{
    size_t i = 0;

    if (!out_len)
        return;
    if (!s)
        s = "(null)";
    for (; s[i] && i + 1 < out_len; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\' ? s[i] : '?';
    out[i] = 0;
    if (s[i] && out_len > 4)
        memcpy(out + out_len - 4, "...", 4);
}
