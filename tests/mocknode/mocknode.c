/*
 * mocknode.c - a mock Ethereum JSON-RPC node serving recorded responses (see mocknode.h).
 *
 * Memory: the mock owns a hash table of entries (key "method\nparams" and the recorded answer
 * text, both malloc'ed) that is immutable once the server runs, so connection threads read it
 * without locks; the mutable knobs (fault, head, batch mode, disabled methods, counters, last
 * Authorization header) sit behind one mutex. Each connection owns its request buffer.
 */
#include "tests/mocknode/mocknode.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "tests/mocknode/synth.h"

#define SUBSYS       "mocknode"
#define MAX_FILE     (64u * 1024u * 1024u)
#define MAX_BODY     (4u * 1024u * 1024u)
#define MAX_DEPTH    4
#define MAX_DISABLED 32
#define MAX_AUTH     1024

struct entry {
    char *key;  /* "method\ncanonical params" */
    char *text; /* compact JSON of the result or error member */
    bool is_error;
    bool derived; /* made from another recording; a real recording replaces it */
};

struct cantor_mocknode {
    struct entry *tab;
    size_t cap, n;
    char **methods; /* distinct method names, to tell -32601 from -32602 */
    size_t n_methods, cap_methods;

    struct MHD_Daemon *daemon;
    atomic_bool stopping;

    pthread_mutex_t lock;
    struct cantor_mock_fault fault;
    unsigned fault_left;
    enum cantor_mock_batch batch;
    bool have_head;
    uint64_t head;
    char *disabled[MAX_DISABLED];
    struct cantor_mock_stats stats;
    char last_auth[MAX_AUTH];

    struct mock_synth *synth; /* the synthetic chain; has its own lock */
};

static const char *const fault_names[CANTOR_MOCK_FAULT__COUNT] = {
    "none", "delay", "http_error", "garbage", "truncated", "oversized", "close", "wrong_id", "lie",
};

const char *cantor_mock_fault_name(enum cantor_mock_fault_mode mode)
{
    return (unsigned)mode < CANTOR_MOCK_FAULT__COUNT ? fault_names[mode] : "?";
}

enum cantor_err cantor_mock_fault_parse(const char *name, enum cantor_mock_fault_mode *ret_mode)
{
    for (int i = 0; i < CANTOR_MOCK_FAULT__COUNT; i++) {
        if (name && strcmp(name, fault_names[i]) == 0) {
            *ret_mode = (enum cantor_mock_fault_mode)i;
            return CANTOR_OK;
        }
    }
    return CANTOR_ERR_INVALID;
}

/* ---- the index ---- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static struct entry *tab_find(struct cantor_mocknode *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = fnv1a(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->tab[i].key)
            return NULL;
        if (strcmp(m->tab[i].key, key) == 0)
            return &m->tab[i];
    }
}

static enum cantor_err tab_grow(struct cantor_mocknode *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    struct entry *nt = calloc(ncap, sizeof(*nt));

    if (!nt)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;

        if (!m->tab[i].key)
            continue;
        for (j = fnv1a(m->tab[i].key) & (ncap - 1); nt[j].key; j = (j + 1) & (ncap - 1))
            ;
        nt[j] = m->tab[i];
    }
    free(m->tab);
    m->tab = nt;
    m->cap = ncap;
    return CANTOR_OK;
}

static enum cantor_err note_method(struct cantor_mocknode *m, const char *method)
{
    char **nm;

    for (size_t i = 0; i < m->n_methods; i++)
        if (strcmp(m->methods[i], method) == 0)
            return CANTOR_OK;
    if (m->n_methods == m->cap_methods) {
        size_t ncap = m->cap_methods ? m->cap_methods * 2 : 32;

        nm = realloc(m->methods, ncap * sizeof(*nm));
        if (!nm)
            return CANTOR_ERR_NOMEM;
        m->methods = nm;
        m->cap_methods = ncap;
    }
    m->methods[m->n_methods] = strdup(method);
    if (!m->methods[m->n_methods])
        return CANTOR_ERR_NOMEM;
    m->n_methods++;
    return CANTOR_OK;
}

static bool method_known(const struct cantor_mocknode *m, const char *method)
{
    for (size_t i = 0; i < m->n_methods; i++)
        if (strcmp(m->methods[i], method) == 0)
            return true;
    return false;
}

/* Lower-case every "0x..." string in place: hex is case-insensitive, recordings mix both. */
static void lower_hex(json_t *j)
{
    size_t i;
    const char *k;
    json_t *v;

    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        char *low;

        if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
            return;
        low = malloc(n + 1);
        if (!low)
            return;
        for (i = 0; i < n; i++)
            low[i] = (char)tolower((unsigned char)s[i]);
        low[n] = '\0';
        json_string_setn(j, low, n);
        free(low);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) lower_hex(v);
    } else if (json_is_object(j)) {
        json_object_foreach(j, k, v) lower_hex(v);
    }
}

/* "method\n" + canonical params (a malloc'ed string). */
static char *make_key(const char *method, json_t *params)
{
    json_t *copy = params ? json_deep_copy(params) : json_array();
    struct cantor_buf b;
    char *p = NULL, *out = NULL;

    if (!copy)
        return NULL;
    lower_hex(copy);
    p = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(copy);
    if (!p)
        return NULL;
    cantor_buf_init(&b, 0);
    if (!cantor_buf_printf(&b, "%s\n%s", method, p))
        out = (char *)cantor_buf_detach(&b, NULL);
    cantor_buf_release(&b);
    free(p);
    return out;
}

static enum cantor_err add_entry(struct cantor_mocknode *m, const char *method, json_t *params,
                                 json_t *answer, bool is_error, bool derived)
{
    struct entry *e;
    char *key = NULL, *text = NULL;
    enum cantor_err err = CANTOR_ERR_NOMEM;
    size_t i;

    key = make_key(method, params);
    text = json_dumps(answer, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!key || !text)
        goto out;
    e = tab_find(m, key);
    if (e) {
        if (e->derived && !derived) {
            free(e->text);
            e->text = text;
            e->is_error = is_error;
            e->derived = false;
            text = NULL;
        }
        err = CANTOR_OK;
        goto out;
    }
    if ((m->n + 1) * 2 > m->cap && (err = tab_grow(m)) != CANTOR_OK)
        goto out;
    err = note_method(m, method);
    if (err)
        goto out;
    for (i = fnv1a(key) & (m->cap - 1); m->tab[i].key; i = (i + 1) & (m->cap - 1))
        ;
    m->tab[i] = (struct entry){.key = key, .text = text, .is_error = is_error, .derived = derived};
    m->n++;
    key = text = NULL;
out:
    free(key);
    free(text);
    return err;
}

/* A full-transaction block answer gives the hash-only answer a node would send for (x, false). */
static enum cantor_err add_hash_only(struct cantor_mocknode *m, const char *method, json_t *params,
                                     json_t *block)
{
    json_t *p2 = NULL, *b2 = NULL, *txs, *hashes = NULL, *tx;
    enum cantor_err err = CANTOR_ERR_NOMEM;
    size_t i;

    txs = json_object_get(block, "transactions");
    if (!json_is_array(txs))
        return CANTOR_OK;
    p2 = json_copy(params);
    b2 = json_copy(block); /* shallow: only "transactions" is replaced */
    hashes = json_array();
    if (!p2 || !b2 || !hashes || json_array_set_new(p2, 1, json_false()))
        goto out;
    json_array_foreach(txs, i, tx)
    {
        json_t *h = json_is_object(tx) ? json_object_get(tx, "hash") : tx;

        if (!json_is_string(h) || json_array_append(hashes, h))
            goto out;
    }
    if (json_object_set(b2, "transactions", hashes))
        goto out;
    err = add_entry(m, method, p2, b2, false, true);
out:
    json_decref(p2);
    json_decref(b2);
    json_decref(hashes);
    return err;
}

static enum cantor_err add_pair(struct cantor_mocknode *m, json_t *req, json_t *resp)
{
    json_t *method = json_object_get(req, "method"), *params = json_object_get(req, "params");
    json_t *result = json_object_get(resp, "result"), *error = json_object_get(resp, "error");
    const char *mname;
    enum cantor_err err;

    if (!json_is_object(req) || !json_is_object(resp) || !json_is_string(method) || (!result && !error))
        return CANTOR_OK; /* batches and odd fixtures are skipped */
    mname = json_string_value(method);
    err = add_entry(m, mname, params, result ? result : error, !result, false);
    if (!err && result && json_is_array(params) && json_array_size(params) == 2 &&
        json_is_true(json_array_get(params, 1)) &&
        (!strcmp(mname, "eth_getBlockByNumber") || !strcmp(mname, "eth_getBlockByHash")))
        err = add_hash_only(m, mname, params, result);
    return err;
}

static enum cantor_err read_file(const char *path, char **ret_text, size_t *ret_len)
{
    struct cantor_buf b;
    enum cantor_err err;

    cantor_buf_init(&b, MAX_FILE);
    err = cantor_buf_read_file(&b, path);
    if (err) {
        cantor_buf_release(&b);
        return err;
    }
    if (!b.data && cantor_buf_reserve(&b, 1))
        return CANTOR_ERR_NOMEM;
    *ret_text = (char *)cantor_buf_detach(&b, ret_len);
    return CANTOR_OK;
}

static enum cantor_err load_erigon(struct cantor_mocknode *m, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *all = json_loadb(text, len, 0, &jerr), *t;
    enum cantor_err err = CANTOR_OK;
    size_t i;

    if (!all)
        return CANTOR_ERR_JSON;
    if (json_is_array(all))
        json_array_foreach(all, i, t)
        {
            err = add_pair(m, json_object_get(t, "request"), json_object_get(t, "response"));
            if (err)
                break;
        }
    json_decref(all);
    return err;
}

static enum cantor_err load_io(struct cantor_mocknode *m, char *text)
{
    json_t *req = NULL, *resp;
    enum cantor_err err = CANTOR_OK;
    char *save = NULL, *line;

    for (line = strtok_r(text, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, ">> ", 3) == 0) {
            json_decref(req);
            req = json_loads(line + 3, 0, NULL);
        } else if (strncmp(line, "<< ", 3) == 0 && req) {
            resp = json_loads(line + 3, 0, NULL);
            if (resp)
                err = add_pair(m, req, resp);
            json_decref(resp);
            json_decref(req);
            req = NULL;
        }
    }
    json_decref(req);
    return err;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum cantor_err load_path(struct cantor_mocknode *m, const char *path, int depth)
{
    enum cantor_err err = CANTOR_OK;
    struct dirent *de;
    struct stat st;
    char *text = NULL, sub[4096];
    size_t len;
    DIR *d;

    if (stat(path, &st) != 0)
        return CANTOR_ERR_NOT_FOUND;
    if (S_ISDIR(st.st_mode)) {
        if (depth >= MAX_DEPTH)
            return CANTOR_OK;
        d = opendir(path);
        if (!d)
            return CANTOR_ERR_IO;
        while (!err && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
                continue;
            err = load_path(m, sub, depth + 1);
        }
        closedir(d);
        return err;
    }
    if (!ends_with(path, ".json") && !ends_with(path, ".io"))
        return CANTOR_OK;
    err = read_file(path, &text, &len);
    if (err)
        return err;
    if (ends_with(path, ".io"))
        err = load_io(m, text);
    else if (load_erigon(m, text, len) == CANTOR_ERR_NOMEM)
        err = CANTOR_ERR_NOMEM; /* other JSON files (genesis.json, ...) are not recordings */
    free(text);
    return err;
}

enum cantor_err cantor_mocknode_load(struct cantor_mocknode *m, const char *path)
{
    enum cantor_err err;

    if (!m || !path || m->daemon)
        return CANTOR_ERR_INVALID;
    err = load_path(m, path, 0);
    if (err)
        log_error(SUBSYS, "loading %s: %s", path, cantor_err_str(err));
    return err;
}

/* Exact match, then the superset rule for trace types (see mocknode.h). */
static struct entry *lookup(struct cantor_mocknode *m, const char *method, json_t *params)
{
    static const char *const types[3] = {"vmTrace", "trace", "stateDiff"};
    struct entry *e;
    char *key = make_key(method, params);
    json_t *want, *p2, *t;
    unsigned need = 0;
    size_t i;

    if (!key)
        return NULL;
    e = tab_find(m, key);
    free(key);
    if (e || strncmp(method, "trace_replay", 12) != 0 || !json_is_array(params) ||
        json_array_size(params) != 2)
        return e;
    want = json_array_get(params, 1);
    if (!json_is_array(want))
        return NULL;
    json_array_foreach(want, i, t)
    {
        unsigned k;

        for (k = 0; k < 3; k++)
            if (json_is_string(t) && strcmp(json_string_value(t), types[k]) == 0)
                break;
        if (k == 3)
            return NULL;
        need |= 1u << k;
    }
    for (unsigned set = 1; set < 8 && !e; set++) {
        json_t *arr;

        if ((set & need) != need)
            continue;
        p2 = json_copy(params);
        arr = json_array();
        for (unsigned k = 0; arr && k < 3; k++)
            if (set & (1u << k))
                json_array_append_new(arr, json_string(types[k]));
        if (p2 && arr && !json_array_set(p2, 1, arr)) {
            key = make_key(method, p2);
            e = key ? tab_find(m, key) : NULL;
            free(key);
        }
        json_decref(arr);
        json_decref(p2);
    }
    return e;
}

enum cantor_err cantor_mocknode_lookup(struct cantor_mocknode *m, const char *method, const char *params_json,
                                       char **ret_text, bool *ret_is_error)
{
    json_t *params = params_json ? json_loads(params_json, 0, NULL) : NULL;
    struct entry *e;

    if (params_json && !params)
        return CANTOR_ERR_JSON;
    e = lookup(m, method, params);
    json_decref(params);
    if (!e)
        return CANTOR_ERR_NOT_FOUND;
    *ret_text = strdup(e->text);
    if (!*ret_text)
        return CANTOR_ERR_NOMEM;
    if (ret_is_error)
        *ret_is_error = e->is_error;
    return CANTOR_OK;
}

/* ---- answering ---- */

struct conn {
    struct cantor_buf body;
    bool too_large;
};

static bool is_disabled(struct cantor_mocknode *m, const char *method)
{
    bool r = false;

    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < MAX_DISABLED; i++)
        if (m->disabled[i] && strcmp(m->disabled[i], method) == 0)
            r = true;
    pthread_mutex_unlock(&m->lock);
    return r;
}

enum cantor_err cantor_mocknode_disable_method(struct cantor_mocknode *m, const char *method, bool disabled)
{
    enum cantor_err err = disabled ? CANTOR_ERR_TOO_LARGE : CANTOR_OK;
    int i;

    if (!m || !method)
        return CANTOR_ERR_INVALID;
    pthread_mutex_lock(&m->lock);
    for (i = 0; i < MAX_DISABLED; i++) {
        if (m->disabled[i] && strcmp(m->disabled[i], method) == 0) {
            if (!disabled) {
                free(m->disabled[i]);
                m->disabled[i] = NULL;
            }
            err = CANTOR_OK;
            goto out;
        }
    }
    for (i = 0; disabled && i < MAX_DISABLED; i++) {
        if (!m->disabled[i]) {
            m->disabled[i] = strdup(method);
            err = m->disabled[i] ? CANTOR_OK : CANTOR_ERR_NOMEM;
            break;
        }
    }
out:
    pthread_mutex_unlock(&m->lock);
    return err;
}

static enum cantor_err append_error(struct cantor_buf *b, long code, const char *msg)
{
    json_t *e = json_pack("{s:I, s:s}", "code", (json_int_t)code, "message", msg);
    char *t = e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    enum cantor_err err = t ? cantor_buf_printf(b, "\"error\":%s", t) : CANTOR_ERR_NOMEM;

    free(t);
    json_decref(e);
    return err;
}

static bool parse_u64(json_t *v, uint64_t *ret)
{
    const char *s = json_string_value(v);
    char *end;

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ret = (uint64_t)json_integer_value(v);
        return true;
    }
    if (!s || strncmp(s, "0x", 2) != 0 || !s[2])
        return false;
    errno = 0;
    *ret = strtoull(s + 2, &end, 16);
    return errno == 0 && *end == '\0';
}

/* The member after "id": for one control call ("result":... or "error":...). */
static enum cantor_err control(struct cantor_mocknode *m, const char *method, json_t *params,
                               struct cantor_buf *b)
{
    json_t *p0 = json_array_get(params, 0);
    enum cantor_err err = CANTOR_OK;
    uint64_t v;

    if (strcmp(method, "mock_setFault") == 0) {
        struct cantor_mock_fault f = {0};
        json_t *x;

        if (!json_is_object(p0) ||
            cantor_mock_fault_parse(json_string_value(json_object_get(p0, "mode")), &f.mode))
            return append_error(b, -32602, "mock_setFault wants [{mode, count, delay_ms, status, bytes}]");
        if ((x = json_object_get(p0, "count")) && parse_u64(x, &v))
            f.count = v > 1000000 ? 1000000 : (unsigned)v;
        if ((x = json_object_get(p0, "delay_ms")) && parse_u64(x, &v))
            f.delay_ms = (long)(v > 60000 ? 60000 : v);
        if ((x = json_object_get(p0, "status")) && parse_u64(x, &v))
            f.status = (int)(v > 599 ? 500 : v);
        if ((x = json_object_get(p0, "bytes")) && parse_u64(x, &v))
            f.bytes = (size_t)v;
        cantor_mocknode_set_fault(m, &f);
    } else if (strcmp(method, "mock_setHead") == 0) {
        if (!parse_u64(p0, &v))
            return append_error(b, -32602, "mock_setHead wants [\"0x...\"]");
        cantor_mocknode_set_head(m, v);
    } else if (strcmp(method, "mock_setBatch") == 0) {
        const char *s = json_string_value(p0);

        if (s && !strcmp(s, "allow"))
            cantor_mocknode_set_batch(m, CANTOR_MOCK_BATCH_ALLOW);
        else if (s && !strcmp(s, "refuse_json"))
            cantor_mocknode_set_batch(m, CANTOR_MOCK_BATCH_REFUSE_JSON);
        else if (s && !strcmp(s, "refuse_http"))
            cantor_mocknode_set_batch(m, CANTOR_MOCK_BATCH_REFUSE_HTTP);
        else
            return append_error(b, -32602, "mock_setBatch wants [\"allow\"|\"refuse_json\"|\"refuse_http\"]");
    } else if (strcmp(method, "mock_disableMethod") == 0 || strcmp(method, "mock_enableMethod") == 0) {
        if (!json_is_string(p0) ||
            cantor_mocknode_disable_method(m, json_string_value(p0), method[5] == 'd') != CANTOR_OK)
            return append_error(b, -32602, "wants [\"method\"] (at most 32 disabled)");
    } else if (strcmp(method, "mock_stats") == 0) {
        struct cantor_mock_stats s;

        cantor_mocknode_get_stats(m, &s);
        return cantor_buf_printf(b,
                                 "\"result\":{\"http_requests\":%" PRIu64 ",\"calls\":%" PRIu64
                                 ",\"faults\":%" PRIu64 ",\"entries\":%zu}",
                                 s.http_requests, s.calls, s.faults, s.entries);
    } else if (strcmp(method, "mock_reset") == 0) {
        cantor_mocknode_reset(m);
    } else if (strcmp(method, "mock_synthReorg") == 0) {
        const char *mode = json_string_value(json_array_get(params, 1));

        if (!parse_u64(p0, &v) || (mode && strcmp(mode, "same") && strcmp(mode, "empty")) ||
            cantor_mocknode_synth_reorg(m, v,
                                        mode && !strcmp(mode, "empty") ? CANTOR_MOCK_SYNTH_DIFF_EMPTY
                                                                       : CANTOR_MOCK_SYNTH_DIFF_SAME))
            return append_error(b, -32602,
                                "mock_synthReorg wants [depth, \"same\"|\"empty\"] (synthetic mode)");
    } else if (strcmp(method, "mock_synthLie") == 0) {
        static const char *const lies[3] = {"none", "header", "old_values"};
        const char *mode = json_string_value(json_array_get(params, 1));
        int k;

        for (k = 0; k < 3 && (!mode || strcmp(mode, lies[k])); k++)
            ;
        if (!parse_u64(p0, &v) || k == 3 ||
            cantor_mocknode_synth_lie(m, v, (enum cantor_mock_synth_lie)k) != CANTOR_OK)
            return append_error(
                b, -32602, "mock_synthLie wants [n, \"header\"|\"old_values\"|\"none\"] (synthetic mode)");
    } else {
        return append_error(b, -32601, "unknown mock control method");
    }
    if (!err)
        err = cantor_buf_append_str(b, "\"result\":true");
    return err;
}

/* Flip one hex digit in the first 0x + 64-hex-digit string (the "lie" fault). */
static void flip_hash(char *s, size_t len)
{
    for (size_t i = 0; i + 66 <= len; i++) {
        size_t k;

        if (s[i] != '"' || s[i + 1] != '0' || s[i + 2] != 'x')
            continue;
        for (k = 0; k < 64 && isxdigit((unsigned char)s[i + 3 + k]); k++)
            ;
        if (k == 64 && i + 67 < len && s[i + 67] == '"') {
            char *d = &s[i + 3 + 63];

            *d = *d == '0' ? '1' : '0';
            return;
        }
    }
}

/* The synthetic chain serves the recorded diff of the same (method, params) when it has one. */
static enum cantor_err answer_synth(struct cantor_mocknode *m, const char *method, json_t *params,
                                    struct cantor_buf *b, bool *ret_handled)
{
    struct entry *e = NULL;

    *ret_handled = false;
    if (!mock_synth_active(m->synth))
        return CANTOR_OK;
    if (!strcmp(method, "trace_replayBlockTransactions") || !strcmp(method, "debug_traceBlockByNumber"))
        e = lookup(m, method, params);
    return mock_synth_answer(m->synth, method, params, e && !e->is_error ? e->text : NULL, b, ret_handled);
}

/* Append the full response object for one call to b. */
static enum cantor_err answer_one(struct cantor_mocknode *m, json_t *call, bool wrong_id,
                                  struct cantor_buf *b)
{
    json_t *id = json_object_get(call, "id"), *method = json_object_get(call, "method");
    json_t *params = json_object_get(call, "params");
    const char *mname = json_string_value(method);
    struct entry *e;
    enum cantor_err err;
    char *idtext = NULL;
    uint64_t head;
    bool have_head, handled = false;

    if (wrong_id && json_is_integer(id)) {
        json_t *other = json_integer(json_integer_value(id) + 1000);

        idtext = other ? json_dumps(other, JSON_ENCODE_ANY) : NULL;
        json_decref(other);
    } else
        idtext = json_dumps(id ? id : json_null(), JSON_ENCODE_ANY);
    if (!idtext)
        return CANTOR_ERR_NOMEM;
    err = cantor_buf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%s,", idtext);
    free(idtext);
    if (err)
        return err;
    if (!json_is_object(call) || !mname || (params && !json_is_array(params) && !json_is_object(params))) {
        err = append_error(b, -32600, "invalid request");
    } else if (strncmp(mname, "mock_", 5) == 0) {
        err = control(m, mname, params, b);
    } else if (!is_disabled(m, mname) && (err = answer_synth(m, mname, params, b, &handled)) != CANTOR_OK) {
        return err; /* out of memory */
    } else if (handled) {
        /* the synthetic chain answered */
    } else if (is_disabled(m, mname) || !method_known(m, mname)) {
        char msg[300];

        snprintf(msg, sizeof(msg), "the method %.200s does not exist/is not available", mname);
        err = append_error(b, -32601, msg);
    } else {
        pthread_mutex_lock(&m->lock);
        have_head = m->have_head;
        head = m->head;
        pthread_mutex_unlock(&m->lock);
        if (have_head && strcmp(mname, "eth_blockNumber") == 0) {
            err = cantor_buf_printf(b, "\"result\":\"0x%" PRIx64 "\"", head);
        } else if ((e = lookup(m, mname, params)) != NULL) {
            err = cantor_buf_printf(b, "\"%s\":", e->is_error ? "error" : "result");
            if (!err)
                err = cantor_buf_append_str(b, e->text);
        } else {
            err = append_error(b, -32602, "no recorded response for these params");
        }
    }
    if (!err)
        err = cantor_buf_append_byte(b, '}');
    return err;
}

static bool is_control(json_t *req)
{
    const char *s = json_string_value(json_object_get(req, "method"));

    return json_is_object(req) && s && strncmp(s, "mock_", 5) == 0;
}

static enum MHD_Result send_text(struct MHD_Connection *con, unsigned status, char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_const(struct MHD_Connection *con, unsigned status, const char *text)
{
    char *t = strdup(text);

    return t ? send_text(con, status, t, strlen(t)) : MHD_NO;
}

static void sleep_ms(struct cantor_mocknode *m, long ms)
{
    for (long left = ms; left > 0 && !atomic_load(&m->stopping); left -= 10) {
        struct timespec ts = {0, (left < 10 ? left : 10) * 1000000L};

        nanosleep(&ts, NULL);
    }
}

static enum MHD_Result handle(struct cantor_mocknode *m, struct MHD_Connection *con, struct conn *cs)
{
    struct cantor_mock_fault fault = {0};
    enum cantor_mock_batch batch;
    struct cantor_buf out;
    json_t *req, *call;
    const char *auth;
    size_t i, len;
    char *text;
    bool control_only, wrong_id;
    enum cantor_err err = CANTOR_OK;

    auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    req = json_loadb((const char *)cs->body.data, cs->body.len, 0, NULL);
    control_only = req && is_control(req);

    pthread_mutex_lock(&m->lock);
    if (auth)
        snprintf(m->last_auth, sizeof(m->last_auth), "%s", auth);
    batch = m->batch;
    if (!control_only) {
        m->stats.http_requests++;
        m->stats.calls += json_is_array(req) ? json_array_size(req) : 1;
        if (m->fault.mode != CANTOR_MOCK_FAULT_NONE) {
            fault = m->fault;
            m->stats.faults++;
            if (m->fault.count && --m->fault_left == 0)
                m->fault.mode = CANTOR_MOCK_FAULT_NONE;
        }
    }
    pthread_mutex_unlock(&m->lock);

    if (fault.mode == CANTOR_MOCK_FAULT_CLOSE) {
        json_decref(req);
        return MHD_NO; /* libmicrohttpd closes the connection without a response */
    }
    if (fault.mode == CANTOR_MOCK_FAULT_DELAY)
        sleep_ms(m, fault.delay_ms);
    if (fault.mode == CANTOR_MOCK_FAULT_HTTP_ERROR) {
        json_decref(req);
        return send_const(con, fault.status ? (unsigned)fault.status : 500, "internal error (injected)\n");
    }
    if (fault.mode == CANTOR_MOCK_FAULT_GARBAGE) {
        json_decref(req);
        return send_const(con, 200, "<html><body>502 Bad Gateway</body></html>\x01\x02{{{");
    }

    cantor_buf_init(&out, 0);
    wrong_id = fault.mode == CANTOR_MOCK_FAULT_WRONG_ID;
    if (!req) {
        err = cantor_buf_append_str(&out, "{\"jsonrpc\":\"2.0\",\"id\":null,");
        if (!err)
            err = append_error(&out, -32700, "parse error");
        if (!err)
            err = cantor_buf_append_byte(&out, '}');
    } else if (json_is_array(req)) {
        if (batch == CANTOR_MOCK_BATCH_REFUSE_HTTP) {
            json_decref(req);
            cantor_buf_release(&out);
            return send_const(con, 400, "batch requests are not supported\n");
        }
        if (batch == CANTOR_MOCK_BATCH_REFUSE_JSON || json_array_size(req) == 0) {
            err = cantor_buf_append_str(&out, "{\"jsonrpc\":\"2.0\",\"id\":null,");
            if (!err)
                err = append_error(&out, -32600,
                                   json_array_size(req) ? "batch requests are not supported" : "empty batch");
            if (!err)
                err = cantor_buf_append_byte(&out, '}');
        } else {
            err = cantor_buf_append_byte(&out, '[');
            json_array_foreach(req, i, call)
            {
                if (!err && i > 0)
                    err = cantor_buf_append_byte(&out, ',');
                if (!err)
                    err = answer_one(m, call, wrong_id, &out);
            }
            if (!err)
                err = cantor_buf_append_byte(&out, ']');
        }
    } else {
        err = answer_one(m, req, wrong_id, &out);
    }
    json_decref(req);
    if (err) {
        cantor_buf_release(&out);
        return send_const(con, 500, "mock out of memory\n");
    }
    if (fault.mode == CANTOR_MOCK_FAULT_LIE)
        flip_hash((char *)out.data, out.len);
    if (fault.mode == CANTOR_MOCK_FAULT_TRUNCATED)
        out.len /= 2;
    if (fault.mode == CANTOR_MOCK_FAULT_OVERSIZED) {
        size_t want = fault.bytes ? fault.bytes : 8u * 1024u * 1024u;

        if (want > 256u * 1024u * 1024u)
            want = 256u * 1024u * 1024u;
        if (want > out.len && cantor_buf_reserve(&out, want - out.len) == CANTOR_OK) {
            memset(out.data + out.len, ' ', want - out.len);
            out.len = want;
        }
    }
    text = (char *)cantor_buf_detach(&out, &len);
    if (!text)
        return MHD_NO;
    return send_text(con, 200, text, len);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct cantor_mocknode *m = cls;
    struct conn *cs = *con_cls;

    if (!cs) {
        cs = calloc(1, sizeof(*cs));
        if (!cs)
            return MHD_NO;
        cantor_buf_init(&cs->body, MAX_BODY);
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (cantor_buf_append(&cs->body, upload_data, *upload_data_size))
            cs->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return send_const(con, 405, "POST only\n");
    if (cs->too_large)
        return send_const(con, 413, "request too large\n");
    return handle(m, con, cs);
}

static void completed_cb(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn *cs = *con_cls;

    if (cs) {
        cantor_buf_release(&cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

/* ---- lifecycle and knobs ---- */

enum cantor_err cantor_mocknode_new(struct cantor_mocknode **ret_mock)
{
    struct cantor_mocknode *m = calloc(1, sizeof(*m));

    if (!m)
        return CANTOR_ERR_NOMEM;
    if (mock_synth_new(&m->synth)) {
        free(m);
        return CANTOR_ERR_NOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    atomic_init(&m->stopping, false);
    *ret_mock = m;
    return CANTOR_OK;
}

enum cantor_err cantor_mocknode_start(struct cantor_mocknode *m, uint16_t port, uint16_t *ret_port)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    if (!m || m->daemon)
        return CANTOR_ERR_INVALID;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    atomic_store(&m->stopping, false);
    m->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, access_cb, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, completed_cb, m, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!m->daemon) {
        log_error(SUBSYS, "cannot listen on 127.0.0.1:%u", port);
        return CANTOR_ERR_IO;
    }
    info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        cantor_mocknode_stop(m);
        return CANTOR_ERR_IO;
    }
    if (ret_port)
        *ret_port = info->port;
    log_info(SUBSYS, "serving %zu recorded calls on 127.0.0.1:%u", m->n, info->port);
    return CANTOR_OK;
}

void cantor_mocknode_stop(struct cantor_mocknode *m)
{
    if (!m || !m->daemon)
        return;
    atomic_store(&m->stopping, true); /* cuts injected delays short */
    MHD_stop_daemon(m->daemon);
    m->daemon = NULL;
}

void cantor_mocknode_free(struct cantor_mocknode *m)
{
    if (!m)
        return;
    cantor_mocknode_stop(m);
    for (size_t i = 0; i < m->cap; i++) {
        free(m->tab[i].key);
        free(m->tab[i].text);
    }
    free(m->tab);
    for (size_t i = 0; i < m->n_methods; i++)
        free(m->methods[i]);
    free(m->methods);
    for (int i = 0; i < MAX_DISABLED; i++)
        free(m->disabled[i]);
    mock_synth_free(m->synth);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void cantor_mocknode_reset(struct cantor_mocknode *m)
{
    pthread_mutex_lock(&m->lock);
    memset(&m->fault, 0, sizeof(m->fault));
    m->fault_left = 0;
    m->batch = CANTOR_MOCK_BATCH_ALLOW;
    m->have_head = false;
    for (int i = 0; i < MAX_DISABLED; i++) {
        free(m->disabled[i]);
        m->disabled[i] = NULL;
    }
    memset(&m->stats, 0, sizeof(m->stats));
    m->last_auth[0] = '\0';
    pthread_mutex_unlock(&m->lock);
    mock_synth_reset(m->synth);
}

void cantor_mocknode_set_fault(struct cantor_mocknode *m, const struct cantor_mock_fault *f)
{
    pthread_mutex_lock(&m->lock);
    m->fault = *f;
    m->fault_left = f->count;
    pthread_mutex_unlock(&m->lock);
}

void cantor_mocknode_set_batch(struct cantor_mocknode *m, enum cantor_mock_batch mode)
{
    pthread_mutex_lock(&m->lock);
    m->batch = mode;
    pthread_mutex_unlock(&m->lock);
}

void cantor_mocknode_set_head(struct cantor_mocknode *m, uint64_t head)
{
    pthread_mutex_lock(&m->lock);
    m->head = head;
    m->have_head = true;
    pthread_mutex_unlock(&m->lock);
    mock_synth_set_head(m->synth, head);
}

void cantor_mocknode_get_stats(struct cantor_mocknode *m, struct cantor_mock_stats *ret_stats)
{
    pthread_mutex_lock(&m->lock);
    *ret_stats = m->stats;
    ret_stats->entries = m->n;
    pthread_mutex_unlock(&m->lock);
}

void cantor_mocknode_last_auth(struct cantor_mocknode *m, char *out, size_t out_size)
{
    pthread_mutex_lock(&m->lock);
    snprintf(out, out_size, "%s", m->last_auth);
    pthread_mutex_unlock(&m->lock);
}

/* ---- synthetic chain (synth.c) ---- */

/* The recorded diff of block n in fmt, as the follower asks for it (NULL if none). */
static struct entry *synth_recorded(struct cantor_mocknode *m, uint64_t n, enum cantor_mock_synth_format fmt)
{
    char q[24];
    json_t *params;
    struct entry *e;

    snprintf(q, sizeof(q), "0x%" PRIx64, n);
    params = fmt == CANTOR_MOCK_SYNTH_PARITY ? json_pack("[s, [s]]", q, "stateDiff")
                                             : json_pack("[s, {s:s, s:{s:b}}]", q, "tracer", "prestateTracer",
                                                         "tracerConfig", "diffMode", 1);
    e = params ? lookup(m, mock_synth_diff_method(fmt), params) : NULL;
    json_decref(params);
    return e && !e->is_error ? e : NULL;
}

/* Does every block of from..to have a recorded diff in fmt? */
static bool synth_complete(struct cantor_mocknode *m, uint64_t from, uint64_t to,
                           enum cantor_mock_synth_format fmt)
{
    for (uint64_t n = from; n <= to; n++)
        if (!synth_recorded(m, n, fmt))
            return false;
    return true;
}

enum cantor_err cantor_mocknode_set_synthetic(struct cantor_mocknode *m, uint64_t from, uint64_t to,
                                              enum cantor_mock_synth_format fmt,
                                              enum cantor_mock_synth_format *ret_fmt)
{
    json_t **geth;
    enum cantor_err err;

    if (!m || to < from || to - from > 65535)
        return CANTOR_ERR_INVALID;
    if (fmt == CANTOR_MOCK_SYNTH_AUTO)
        fmt = synth_complete(m, from, to, CANTOR_MOCK_SYNTH_PARITY) ? CANTOR_MOCK_SYNTH_PARITY
                                                                    : CANTOR_MOCK_SYNTH_GETH;
    /* The account state behind the headers always comes from the geth diffs (full pre-state). */
    if (!synth_complete(m, from, to, fmt) || !synth_complete(m, from, to, CANTOR_MOCK_SYNTH_GETH)) {
        log_error(SUBSYS,
                  "synthetic chain %" PRIu64 "..%" PRIu64 ": a block has no recorded %s (or geth) diff", from,
                  to, mock_synth_diff_method(fmt));
        return CANTOR_ERR_NOT_FOUND;
    }
    geth = calloc((size_t)(to - from) + 1, sizeof(*geth));
    if (!geth)
        return CANTOR_ERR_NOMEM;
    for (uint64_t n = from; n <= to; n++) {
        geth[n - from] = json_loads(synth_recorded(m, n, CANTOR_MOCK_SYNTH_GETH)->text, 0, NULL);
        if (!geth[n - from]) {
            for (uint64_t k = from; k < n; k++)
                json_decref(geth[k - from]);
            free(geth);
            return CANTOR_ERR_JSON;
        }
    }
    err = mock_synth_configure(m->synth, from, to, fmt, geth);
    if (!err) {
        pthread_mutex_lock(&m->lock);
        m->have_head = false; /* the chain's head is `to` until set_head */
        pthread_mutex_unlock(&m->lock);
        log_info(SUBSYS, "synthetic chain %" PRIu64 "..%" PRIu64 " with %s diffs", from, to,
                 mock_synth_diff_method(fmt));
    }
    if (!err && ret_fmt)
        *ret_fmt = fmt;
    return err;
}

enum cantor_err cantor_mocknode_synth_reorg(struct cantor_mocknode *m, uint64_t depth,
                                            enum cantor_mock_synth_diff diffs)
{
    return m ? mock_synth_reorg(m->synth, depth, diffs) : CANTOR_ERR_INVALID;
}

enum cantor_err cantor_mocknode_synth_lie(struct cantor_mocknode *m, uint64_t block,
                                          enum cantor_mock_synth_lie lie)
{
    return m ? mock_synth_lie(m->synth, block, lie) : CANTOR_ERR_INVALID;
}

enum cantor_err cantor_mocknode_synth_hash(struct cantor_mocknode *m, uint64_t n, uint8_t ret_hash[32])
{
    return m ? mock_synth_hash(m->synth, n, ret_hash) : CANTOR_ERR_INVALID;
}
