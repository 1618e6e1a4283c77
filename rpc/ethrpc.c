/*
 * ethrpc.c - Ethereum JSON-RPC 2.0 client over HTTP (see ethrpc.h for the error model).
 *
 * Memory: the client owns its curl handle, its header list, copies of the option strings and one
 * response buffer (a cantor_buf whose max is max_response_bytes, so the limit is enforced while
 * bytes arrive, not after). Request bodies are built with jansson and freed before returning.
 * Results handed out are new jansson references owned by the caller.
 */
#include "rpc/ethrpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/hex.h"
#include "core/log.h"

#define SUBSYS          "ethrpc"
#define MAX_URL_LEN     2048
#define MAX_HEADER_LEN  4096
#define MAX_SECRET_FILE 256
#define JWT_MAX         256
#define SLEEP_SLICE_MS  5

struct cantor_ethrpc {
    CURL *curl;
    struct curl_slist *static_headers; /* used when there is no JWT (it changes every request) */
    char *url;
    char *auth_header;
    bool have_jwt;
    uint8_t jwt_secret[CANTOR_ETHRPC_JWT_SECRET_LEN];
    long timeout_ms, connect_timeout_ms;
    unsigned max_retries;
    long backoff_initial_ms, backoff_max_ms;
    struct cantor_buf body;
    bool body_too_large;
    long last_status;
    atomic_bool stop;
    enum cantor_ethrpc_batch_mode batch_mode;
    uint64_t next_id;
    char last_error[512];
    long last_rpc_code;
    char curl_err[CURL_ERROR_SIZE];
    atomic_uint_fast64_t calls, requests, errors, retries, bytes_in, bytes_out;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static bool global_ok;

static void global_init(void)
{
    global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK && sodium_init() >= 0;
}

static void set_error(struct cantor_ethrpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct cantor_ethrpc *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
    va_end(ap);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct cantor_ethrpc *c = userdata;
    size_t n = size * nmemb;

    if (cantor_buf_append(&c->body, ptr, n) != CANTOR_OK) {
        /* Returning less than n makes libcurl abort the transfer right here. */
        c->body_too_large = true;
        return 0;
    }
    return n;
}

static int xferinfo_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct cantor_ethrpc *c = userdata;

    return atomic_load(&c->stop) ? 1 : 0;
}

/* ---- JWT (engine API style: HS256 over {"iat":now}) ---- */

static enum cantor_err b64url(const uint8_t *in, size_t len, char *out, size_t out_size)
{
    if (sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > out_size)
        return CANTOR_ERR_TOO_LARGE;
    sodium_bin2base64(out, out_size, in, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return CANTOR_OK;
}

enum cantor_err cantor_ethrpc_jwt_make(const uint8_t secret[CANTOR_ETHRPC_JWT_SECRET_LEN], uint64_t now,
                                       char *out, size_t out_size)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char claims[64], h64[64], c64[64], s64[64], signing[160];
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    enum cantor_err err;
    int n;

    pthread_once(&global_once, global_init);
    n = snprintf(claims, sizeof(claims), "{\"iat\":%" PRIu64 "}", now);
    if (n < 0 || (size_t)n >= sizeof(claims))
        return CANTOR_ERR_OVERFLOW;
    err = b64url((const uint8_t *)header, strlen(header), h64, sizeof(h64));
    if (!err)
        err = b64url((const uint8_t *)claims, (size_t)n, c64, sizeof(c64));
    if (err)
        return err;
    n = snprintf(signing, sizeof(signing), "%s.%s", h64, c64);
    if (n < 0 || (size_t)n >= sizeof(signing))
        return CANTOR_ERR_OVERFLOW;
    crypto_auth_hmacsha256(mac, (const uint8_t *)signing, (size_t)n, secret);
    err = b64url(mac, sizeof(mac), s64, sizeof(s64));
    sodium_memzero(mac, sizeof(mac));
    if (err)
        return err;
    n = snprintf(out, out_size, "%s.%s", signing, s64);
    if (n < 0 || (size_t)n >= out_size)
        return CANTOR_ERR_TOO_LARGE;
    return CANTOR_OK;
}

enum cantor_err cantor_ethrpc_jwt_read_secret(const char *path,
                                              uint8_t ret_secret[CANTOR_ETHRPC_JWT_SECRET_LEN])
{
    char text[MAX_SECRET_FILE + 1];
    enum cantor_err err = CANTOR_OK;
    size_t len, start = 0;
    FILE *f;

    f = fopen(path, "re");
    if (!f) {
        log_error(SUBSYS, "cannot open JWT secret %s: %s", path, strerror(errno));
        return CANTOR_ERR_IO;
    }
    len = fread(text, 1, sizeof(text), f);
    if (ferror(f))
        err = CANTOR_ERR_IO;
    else if (len > MAX_SECRET_FILE)
        err = CANTOR_ERR_TOO_LARGE;
    fclose(f);
    if (err)
        goto out;
    text[len] = '\0';
    while (len > 0 &&
           (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' || text[len - 1] == '\t'))
        text[--len] = '\0';
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\n'))
        start++;
    err = cantor_hex_decode_exact(text + start, ret_secret, CANTOR_ETHRPC_JWT_SECRET_LEN);
out:
    sodium_memzero(text, sizeof(text));
    if (err)
        log_error(SUBSYS, "JWT secret %s: must hold 32 bytes as 64 hex digits (%s)", path,
                  cantor_err_str(err));
    return err;
}

/* ---- construction ---- */

static bool header_ok(const char *h)
{
    size_t n = strnlen(h, MAX_HEADER_LEN + 1);

    /* A CR or LF would let a config value inject extra headers. */
    return n > 0 && n <= MAX_HEADER_LEN && !strpbrk(h, "\r\n") && strchr(h, ':');
}

enum cantor_err cantor_ethrpc_new(const struct cantor_ethrpc_opts *opts, struct cantor_ethrpc **ret_client)
{
    struct cantor_ethrpc *c = NULL;
    struct curl_slist *h;
    enum cantor_err err = CANTOR_ERR_CONFIG;
    size_t max_resp;

    if (!opts || !ret_client)
        return CANTOR_ERR_INVALID;
    pthread_once(&global_once, global_init);
    if (!global_ok)
        return CANTOR_ERR_NOMEM;
    if (!opts->url || strnlen(opts->url, MAX_URL_LEN + 1) > MAX_URL_LEN ||
        (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0)) {
        log_error(SUBSYS, "upstream url must be http:// or https:// (at most %d bytes)", MAX_URL_LEN);
        return CANTOR_ERR_CONFIG;
    }
    if (opts->timeout_ms < 0 || opts->connect_timeout_ms < 0 || opts->backoff_initial_ms < 0 ||
        opts->backoff_max_ms < 0 || opts->max_retries > 100)
        return CANTOR_ERR_CONFIG;
    if (opts->auth_header && !header_ok(opts->auth_header)) {
        log_error(SUBSYS, "auth header must be one 'Name: value' line");
        return CANTOR_ERR_CONFIG;
    }
    if (opts->auth_header && opts->jwt_secret_file) {
        log_error(SUBSYS, "set either an auth header or a JWT secret, not both");
        return CANTOR_ERR_CONFIG;
    }

    c = calloc(1, sizeof(*c));
    if (!c)
        return CANTOR_ERR_NOMEM;
    max_resp = opts->max_response_bytes ? opts->max_response_bytes : CANTOR_ETHRPC_DEFAULT_MAX_RESPONSE;
    cantor_buf_init(&c->body, max_resp);
    c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 30000;
    c->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
    c->max_retries = opts->max_retries;
    c->backoff_initial_ms = opts->backoff_initial_ms ? opts->backoff_initial_ms : 100;
    c->backoff_max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 10000;
    if (c->backoff_max_ms < c->backoff_initial_ms)
        c->backoff_max_ms = c->backoff_initial_ms;
    c->next_id = 1;
    atomic_init(&c->stop, false);

    err = CANTOR_ERR_NOMEM;
    c->url = strdup(opts->url);
    if (!c->url)
        goto fail;
    if (opts->auth_header) {
        c->auth_header = strdup(opts->auth_header);
        if (!c->auth_header)
            goto fail;
    }
    if (opts->jwt_secret_file) {
        err = cantor_ethrpc_jwt_read_secret(opts->jwt_secret_file, c->jwt_secret);
        if (err)
            goto fail;
        c->have_jwt = true;
    }
    err = CANTOR_ERR_NOMEM;
    h = curl_slist_append(NULL, "Content-Type: application/json");
    if (!h)
        goto fail;
    c->static_headers = h;
    if (!curl_slist_append(h, "Accept: application/json"))
        goto fail;
    if (c->auth_header && !curl_slist_append(h, c->auth_header))
        goto fail;

    c->curl = curl_easy_init();
    if (!c->curl)
        goto fail;
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_resp);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, ""); /* gzip if the node offers it */
    *ret_client = c;
    return CANTOR_OK;
fail:
    cantor_ethrpc_free(c);
    return err;
}

void cantor_ethrpc_free(struct cantor_ethrpc *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->static_headers);
    cantor_buf_release(&c->body);
    free(c->url);
    free(c->auth_header);
    sodium_memzero(c->jwt_secret, sizeof(c->jwt_secret));
    free(c);
}

/* ---- one HTTP exchange, then the retry loop ---- */

static bool status_retryable(long status)
{
    return status == 429 || (status >= 500 && status <= 599);
}

/*
 * POST once. CANTOR_OK means an HTTP answer arrived whose body is worth parsing (2xx, or a 4xx
 * that may carry a JSON-RPC error); c->last_status tells which. *ret_retry says whether a failure
 * may go away on its own.
 */
static enum cantor_err http_once(struct cantor_ethrpc *c, const char *data, size_t len, bool *ret_retry)
{
    struct curl_slist *jwt_headers = NULL;
    char jwt[JWT_MAX], line[JWT_MAX + 32];
    enum cantor_err err = CANTOR_OK;
    CURLcode rc;
    long status = 0;

    *ret_retry = false;
    cantor_buf_reset(&c->body);
    c->body_too_large = false;
    c->last_status = 0;
    c->curl_err[0] = '\0';
    if (c->have_jwt) {
        /* The engine API wants iat within +-60 s, so every request gets a fresh token. */
        err = cantor_ethrpc_jwt_make(c->jwt_secret, (uint64_t)time(NULL), jwt, sizeof(jwt));
        if (err)
            goto out;
        snprintf(line, sizeof(line), "Authorization: Bearer %s", jwt);
        err = CANTOR_ERR_NOMEM;
        jwt_headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!jwt_headers || !curl_slist_append(jwt_headers, "Accept: application/json") ||
            !curl_slist_append(jwt_headers, line))
            goto out;
        err = CANTOR_OK;
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, jwt_headers ? jwt_headers : c->static_headers);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    atomic_fetch_add(&c->requests, 1);
    atomic_fetch_add(&c->bytes_out, len);
    rc = curl_easy_perform(c->curl);
    atomic_fetch_add(&c->bytes_in, c->body.len);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    c->last_status = status;

    if (atomic_load(&c->stop)) {
        set_error(c, "cancelled");
        err = CANTOR_ERR_STOPPED;
    } else if (c->body_too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        set_error(c, "response larger than %zu bytes, transfer aborted", c->body.max);
        err = CANTOR_ERR_TOO_LARGE;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        set_error(c, "timeout: %s", c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
        err = CANTOR_ERR_TIMEOUT;
        *ret_retry = true;
    } else if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
        set_error(c, "bad url: %s", curl_easy_strerror(rc));
        err = CANTOR_ERR_CONFIG;
    } else if (rc != CURLE_OK) {
        set_error(c, "transport: %s", c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
        err = CANTOR_ERR_IO;
        *ret_retry = true;
    } else if (status == 401 || status == 403) {
        set_error(c, "HTTP %ld: credentials rejected", status);
        err = CANTOR_ERR_AUTH;
    } else if (status_retryable(status)) {
        set_error(c, "HTTP %ld", status);
        err = CANTOR_ERR_RPC;
        *ret_retry = true;
    }
out:
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->static_headers);
    curl_slist_free_all(jwt_headers);
    return err;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Full jitter: uniform in [0, min(max, initial * 2^attempt)], slept in slices so cancel is quick. */
static enum cantor_err backoff_sleep(struct cantor_ethrpc *c, unsigned attempt)
{
    uint64_t cap = (uint64_t)c->backoff_initial_ms, end;
    uint32_t delay;

    for (unsigned i = 0; i < attempt && cap < (uint64_t)c->backoff_max_ms; i++)
        cap *= 2;
    if (cap > (uint64_t)c->backoff_max_ms)
        cap = (uint64_t)c->backoff_max_ms;
    if (cap > UINT32_MAX - 1)
        cap = UINT32_MAX - 1;
    delay = randombytes_uniform((uint32_t)cap + 1);
    end = now_ms() + delay;
    while (now_ms() < end) {
        struct timespec ts = {0, SLEEP_SLICE_MS * 1000000L};

        if (atomic_load(&c->stop))
            return CANTOR_ERR_STOPPED;
        nanosleep(&ts, NULL);
    }
    return atomic_load(&c->stop) ? CANTOR_ERR_STOPPED : CANTOR_OK;
}

static enum cantor_err http_post(struct cantor_ethrpc *c, const char *data, size_t len)
{
    enum cantor_err err;
    bool retry;

    for (unsigned attempt = 0;; attempt++) {
        if (atomic_load(&c->stop)) {
            set_error(c, "cancelled");
            return CANTOR_ERR_STOPPED;
        }
        err = http_once(c, data, len, &retry);
        if (!err || !retry || attempt >= c->max_retries)
            break;
        atomic_fetch_add(&c->retries, 1);
        log_warn(SUBSYS, "%s (attempt %u of %u), retrying", c->last_error, attempt + 1, c->max_retries + 1);
        if (backoff_sleep(c, attempt)) {
            set_error(c, "cancelled");
            return CANTOR_ERR_STOPPED;
        }
    }
    if (err && err != CANTOR_ERR_STOPPED)
        log_error(SUBSYS, "%s: %s", c->url, c->last_error);
    return err;
}

/* ---- JSON-RPC envelope ---- */

static json_t *make_request(const char *method, json_t *params, uint64_t id)
{
    json_t *p = params ? json_incref(params) : json_array();

    if (!p)
        return NULL;
    /* "o" steals the reference taken above, so the caller's params stay borrowed. */
    return json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method,
                     "params", p);
}

static enum cantor_err parse_body(struct cantor_ethrpc *c, json_t **ret_json)
{
    json_error_t jerr;
    json_t *j;

    j = json_loadb((const char *)c->body.data, c->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        if (c->last_status < 200 || c->last_status > 299) {
            set_error(c, "HTTP %ld with a non-JSON body", c->last_status);
            return CANTOR_ERR_RPC;
        }
        set_error(c, "response is not JSON (%zu bytes): %s at byte %d", c->body.len, jerr.text,
                  jerr.position);
        log_error(SUBSYS, "%s", c->last_error);
        return CANTOR_ERR_JSON;
    }
    *ret_json = j;
    return CANTOR_OK;
}

/*
 * Check one response object (id already matched by the caller). On CANTOR_OK *ret_out is the
 * result; on CANTOR_ERR_RPC with an error object it is that object; both new references.
 */
static enum cantor_err check_envelope(struct cantor_ethrpc *c, json_t *resp, json_t **ret_out)
{
    json_t *ver = json_object_get(resp, "jsonrpc");
    json_t *result = json_object_get(resp, "result");
    json_t *error = json_object_get(resp, "error");
    json_t *code, *msg;

    *ret_out = NULL;
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
        set_error(c, "response is not JSON-RPC 2.0 (jsonrpc member missing or wrong)");
        log_error(SUBSYS, "%s", c->last_error);
        return CANTOR_ERR_RPC;
    }
    if ((result != NULL) == (error != NULL)) {
        set_error(c, "response has %s result and error", result ? "both" : "neither");
        log_error(SUBSYS, "%s", c->last_error);
        return CANTOR_ERR_RPC;
    }
    if (result) {
        *ret_out = json_incref(result);
        return CANTOR_OK;
    }
    code = json_object_get(error, "code");
    msg = json_object_get(error, "message");
    if (!json_is_object(error) || !json_is_integer(code)) {
        set_error(c, "malformed JSON-RPC error object");
        log_error(SUBSYS, "%s", c->last_error);
        return CANTOR_ERR_RPC;
    }
    c->last_rpc_code = (long)json_integer_value(code);
    set_error(c, "node error %ld: %.300s", c->last_rpc_code,
              json_is_string(msg) ? json_string_value(msg) : "");
    log_debug(SUBSYS, "%s", c->last_error);
    *ret_out = json_incref(error);
    return CANTOR_ERR_RPC;
}

static bool id_of(json_t *resp, uint64_t *ret_id)
{
    json_t *id = json_object_get(resp, "id");

    if (!json_is_integer(id) || json_integer_value(id) < 0)
        return false;
    *ret_id = (uint64_t)json_integer_value(id);
    return true;
}

/* One call; *ret_out as in check_envelope(). */
static enum cantor_err call_one(struct cantor_ethrpc *c, const char *method, json_t *params, json_t **ret_out)
{
    json_t *req = NULL, *resp = NULL;
    char *text = NULL;
    enum cantor_err err;
    uint64_t id = c->next_id++, got;

    *ret_out = NULL;
    atomic_fetch_add(&c->calls, 1);
    c->last_rpc_code = 0;
    err = CANTOR_ERR_INVALID;
    if (!method || !*method || strlen(method) > 256 ||
        (params && !json_is_array(params) && !json_is_object(params)))
        goto out;
    err = CANTOR_ERR_NOMEM;
    req = make_request(method, params, id);
    if (!req)
        goto out;
    text = json_dumps(req, JSON_COMPACT);
    if (!text)
        goto out;
    err = http_post(c, text, strlen(text));
    if (err)
        goto out;
    err = parse_body(c, &resp);
    if (err)
        goto out;
    err = CANTOR_ERR_RPC;
    if (!json_is_object(resp)) {
        set_error(c, "%s: response is not a JSON object", method);
        log_error(SUBSYS, "%s", c->last_error);
        goto out;
    }
    if (!id_of(resp, &got) || got != id) {
        set_error(c, "%s: response id does not match request id %" PRIu64, method, id);
        log_error(SUBSYS, "%s", c->last_error);
        goto out;
    }
    err = check_envelope(c, resp, ret_out);
out:
    if (err && err != CANTOR_ERR_RPC && c->last_error[0] == '\0')
        set_error(c, "%s", cantor_err_str(err));
    if (err)
        atomic_fetch_add(&c->errors, 1);
    free(text);
    json_decref(req);
    json_decref(resp);
    return err;
}

enum cantor_err cantor_ethrpc_call(struct cantor_ethrpc *c, const char *method, json_t *params,
                                   json_t **ret_result)
{
    json_t *out = NULL;
    enum cantor_err err;

    if (!c || !ret_result)
        return CANTOR_ERR_INVALID;
    c->last_error[0] = '\0';
    err = call_one(c, method, params, &out);
    if (err) {
        json_decref(out);
        return err;
    }
    *ret_result = out;
    return CANTOR_OK;
}

static bool is_answer(enum cantor_err e)
{
    return e == CANTOR_OK || e == CANTOR_ERR_RPC || e == CANTOR_ERR_JSON;
}

static enum cantor_err batch_sequential(struct cantor_ethrpc *c, size_t n, const char *const methods[],
                                        json_t *const params[], json_t *results[], enum cantor_err errors[])
{
    enum cantor_err err = CANTOR_OK;
    size_t i;

    for (i = 0; i < n; i++) {
        errors[i] = call_one(c, methods[i], params[i], &results[i]);
        if (!is_answer(errors[i])) {
            /* The node is unreachable or we are stopping: do not hammer it with the rest. */
            err = errors[i];
            for (i++; i < n; i++) {
                errors[i] = err;
                results[i] = NULL;
            }
            break;
        }
    }
    return err;
}

enum cantor_err cantor_ethrpc_batch(struct cantor_ethrpc *c, size_t n, const char *const methods[],
                                    json_t *const params[], json_t *results[], enum cantor_err errors[])
{
    json_t *req = NULL, *resp = NULL, *one;
    bool *seen = NULL;
    char *text = NULL;
    enum cantor_err err;
    uint64_t base, id;
    size_t i, k;

    if (!c || !methods || !params || !results || !errors || n == 0 || n > CANTOR_ETHRPC_MAX_BATCH)
        return CANTOR_ERR_INVALID;
    c->last_error[0] = '\0';
    for (i = 0; i < n; i++) {
        results[i] = NULL;
        errors[i] = CANTOR_ERR_RPC;
    }
    if (n == 1 || c->batch_mode == CANTOR_ETHRPC_BATCH_NO)
        return batch_sequential(c, n, methods, params, results, errors);

    err = CANTOR_ERR_NOMEM;
    req = json_array();
    if (!req)
        goto fail_all;
    base = c->next_id;
    c->next_id += n;
    for (i = 0; i < n; i++) {
        err = CANTOR_ERR_INVALID;
        if (!methods[i] || !*methods[i] || strlen(methods[i]) > 256 ||
            (params[i] && !json_is_array(params[i]) && !json_is_object(params[i])))
            goto fail_all;
        err = CANTOR_ERR_NOMEM;
        one = make_request(methods[i], params[i], base + i);
        if (!one || json_array_append_new(req, one))
            goto fail_all;
    }
    text = json_dumps(req, JSON_COMPACT);
    if (!text)
        goto fail_all;
    atomic_fetch_add(&c->calls, n);
    c->last_rpc_code = 0;
    err = http_post(c, text, strlen(text));
    if (!err && (c->last_status < 200 || c->last_status > 299))
        err = CANTOR_ERR_RPC; /* a 4xx to a batch: no JSON-RPC envelope to trust */
    if (!err)
        err = parse_body(c, &resp);
    if (c->batch_mode == CANTOR_ETHRPC_BATCH_UNKNOWN &&
        ((err == CANTOR_ERR_RPC && c->last_status >= 400) || (!err && !json_is_array(resp)))) {
        log_warn(SUBSYS, "node refused a batch (%s); using sequential calls from now on",
                 err ? c->last_error : "non-array answer");
        c->batch_mode = CANTOR_ETHRPC_BATCH_NO;
        atomic_fetch_sub(&c->calls, n); /* counted again by the sequential calls */
        err = batch_sequential(c, n, methods, params, results, errors);
        goto out;
    }
    if (!err && !json_is_array(resp)) {
        set_error(c, "batch answer is not an array");
        err = CANTOR_ERR_RPC;
    }
    if (err)
        goto fail_counted;
    c->batch_mode = CANTOR_ETHRPC_BATCH_YES;
    seen = calloc(n, sizeof(*seen));
    if (!seen) {
        err = CANTOR_ERR_NOMEM;
        goto fail_counted;
    }
    json_array_foreach(resp, k, one)
    {
        json_t *out = NULL;
        enum cantor_err e;

        if (!json_is_object(one) || !id_of(one, &id) || id < base || id - base >= n) {
            log_warn(SUBSYS, "batch answer %zu has no id of ours, ignored", k);
            continue;
        }
        i = (size_t)(id - base);
        if (seen[i]) {
            log_warn(SUBSYS, "batch answer id %" PRIu64 " repeated, ignored", id);
            continue;
        }
        seen[i] = true;
        e = check_envelope(c, one, &out);
        results[i] = out;
        errors[i] = e;
    }
    for (i = 0; i < n; i++) {
        if (!seen[i])
            log_warn(SUBSYS, "batch: no answer for %s (id %" PRIu64 ")", methods[i], base + i);
        if (errors[i])
            atomic_fetch_add(&c->errors, 1);
    }
    err = CANTOR_OK;
    goto out;

fail_all:
    atomic_fetch_add(&c->calls, n);
fail_counted:
    atomic_fetch_add(&c->errors, n);
    for (i = 0; i < n; i++) {
        json_decref(results[i]);
        results[i] = NULL;
        errors[i] = err;
    }
out:
    free(seen);
    free(text);
    json_decref(req);
    json_decref(resp);
    return err;
}

void cantor_ethrpc_cancel(struct cantor_ethrpc *c)
{
    if (c)
        atomic_store(&c->stop, true);
}

void cantor_ethrpc_resume(struct cantor_ethrpc *c)
{
    if (c)
        atomic_store(&c->stop, false);
}

const char *cantor_ethrpc_last_error(const struct cantor_ethrpc *c)
{
    return c ? c->last_error : "";
}

long cantor_ethrpc_last_rpc_code(const struct cantor_ethrpc *c)
{
    return c ? c->last_rpc_code : 0;
}

void cantor_ethrpc_get_stats(const struct cantor_ethrpc *c, struct cantor_ethrpc_stats *ret_stats)
{
    struct cantor_ethrpc *m = (struct cantor_ethrpc *)c; /* atomics are read-only here */

    memset(ret_stats, 0, sizeof(*ret_stats));
    if (!c)
        return;
    ret_stats->calls = atomic_load(&m->calls);
    ret_stats->requests = atomic_load(&m->requests);
    ret_stats->errors = atomic_load(&m->errors);
    ret_stats->retries = atomic_load(&m->retries);
    ret_stats->bytes_in = atomic_load(&m->bytes_in);
    ret_stats->bytes_out = atomic_load(&m->bytes_out);
}

enum cantor_ethrpc_batch_mode cantor_ethrpc_batch_mode(const struct cantor_ethrpc *c)
{
    return c ? c->batch_mode : CANTOR_ETHRPC_BATCH_UNKNOWN;
}

void cantor_ethrpc_set_batch_mode(struct cantor_ethrpc *c, enum cantor_ethrpc_batch_mode mode)
{
    if (c)
        c->batch_mode = mode;
}
