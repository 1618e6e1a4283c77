/*
 * http.c - libmicrohttpd server, routing, limits, auth and JSON error envelopes; see http.h.
 *
 * Per-request state (struct req_state) lives in MHD's con_cls from the first callback (headers) to
 * the completion callback, which frees it: bodies are accumulated into a size-limited cantor_buf and
 * a body over the limit is drained and answered 413 without being stored.
 *
 * Threads: MHD's event threads (http_threads, internal epoll each) run the fast routes inline; a
 * route marked slow is queued to the worker threads (http_workers) and its connection suspended
 * until the worker has filled the response, which the event thread then sends (MHD suspend/resume).
 * The queue is bounded (503 when full); stopping drains it before MHD stops, so no connection is left
 * suspended.
 */
#include "http.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"

#define MAX_PATH_SEGMENTS 16
#define MAX_PATH_LEN      1024
#define MAX_QUEUED_SLOW   256

/* Upper bounds of the latency histogram buckets, in microseconds (Prometheus "le"). */
static const uint64_t latency_bounds_us[CANTOR_HTTP_LATENCY_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

/* A route pattern split once at start, so a request costs one split of its own path. */
struct compiled_route {
    const struct cantor_http_route *rt;
    unsigned n;
    char *segs[MAX_PATH_SEGMENTS + 1]; /* into buf */
    char buf[256];
};

struct req_state;

struct cantor_http_server {
    struct MHD_Daemon *mhd;
    /* slow-route workers; queue guarded by qlock */
    pthread_t *workers;
    unsigned n_workers;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct req_state *qhead, *qtail;
    unsigned queued;
    bool stopping;
    struct compiled_route *routes;
    size_t n_routes;
    void *ctx;
    size_t max_body;
    uint16_t port;
    pthread_mutex_t auth_lock;
    char *admin_token;
    bool public_reads;
    atomic_uint_fast64_t requests, errors_4xx, errors_5xx, bytes_out;
    atomic_uint_fast64_t latency_count, latency_sum_us;
    atomic_uint_fast64_t latency_buckets[CANTOR_HTTP_LATENCY_BUCKETS + 1];
};

struct req_state {
    struct cantor_buf body;
    bool too_large;
    struct timespec start;
    /* a slow route: what the worker runs, and its answer once done */
    struct req_state *qnext;
    struct MHD_Connection *conn;
    const struct cantor_http_route *rt;
    struct cantor_http_request req;
    struct cantor_http_response resp;
    bool queued, done;
    char path[MAX_PATH_LEN]; /* req.params point into it */
};

static uint64_t elapsed_us(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - start->tv_sec) * 1000000u +
           (uint64_t)((now.tv_nsec - start->tv_nsec) / 1000);
}

static void observe_latency(struct cantor_http_server *s, uint64_t us)
{
    unsigned i = 0;

    while (i < CANTOR_HTTP_LATENCY_BUCKETS && us > latency_bounds_us[i])
        i++;
    atomic_fetch_add(&s->latency_buckets[i], 1);
    atomic_fetch_add(&s->latency_count, 1);
    atomic_fetch_add(&s->latency_sum_us, us);
}

enum cantor_err cantor_http_reply_text(struct cantor_http_response *resp, int status,
                                       const char *content_type, char *body, size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body;
    resp->body_len = len;
    return CANTOR_OK;
}

enum cantor_err cantor_http_reply_json(struct cantor_http_response *resp, int status, json_t *value)
{
    char *s;

    if (!value)
        return CANTOR_ERR_NOMEM;
    s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    if (!s)
        return CANTOR_ERR_NOMEM;
    return cantor_http_reply_text(resp, status, "application/json", s, strlen(s));
}

enum cantor_err cantor_http_reply_error(struct cantor_http_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cantor_http_reply_json(resp, status,
                                  json_pack("{s:{s:i,s:s}}", "error", "code", status, "message", msg));
}

const char *cantor_http_query(const struct cantor_http_request *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int status_for_err(enum cantor_err err)
{
    switch (err) {
    case CANTOR_ERR_NOT_FOUND:
        return MHD_HTTP_NOT_FOUND;
    case CANTOR_ERR_INVALID:
    case CANTOR_ERR_HEX:
    case CANTOR_ERR_JSON:
    case CANTOR_ERR_TRUNCATED:
    case CANTOR_ERR_RLP:
    case CANTOR_ERR_OVERFLOW:
    case CANTOR_ERR_CORRUPT:
    case CANTOR_ERR_CHECKSUM:
    case CANTOR_ERR_PROOF:
    case CANTOR_ERR_SIGNATURE:
    case CANTOR_ERR_MISMATCH:
        return MHD_HTTP_BAD_REQUEST;
    case CANTOR_ERR_TOO_LARGE:
        return MHD_HTTP_CONTENT_TOO_LARGE;
    case CANTOR_ERR_AUTH:
        return MHD_HTTP_UNAUTHORIZED;
    case CANTOR_ERR_UNSUPPORTED:
    case CANTOR_ERR_UNKNOWN_MODEL:
        return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case CANTOR_ERR_BUSY:
    case CANTOR_ERR_STOPPED:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    case CANTOR_ERR_RPC:
    case CANTOR_ERR_TIMEOUT:
        return MHD_HTTP_BAD_GATEWAY;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/*
 * Split "/a/b/c" into segments in place (buf is a private copy of the path); empty segments
 * ("//", a trailing "/") are skipped, as the routes have none.
 */
static unsigned split_path(char *buf, char **segs)
{
    unsigned n = 0;
    char *p = buf;

    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            return n;
        if (n == MAX_PATH_SEGMENTS)
            return MAX_PATH_SEGMENTS + 1;
        segs[n++] = p;
        while (*p && *p != '/')
            p++;
        if (*p)
            *p++ = 0;
    }
}

/* Match a compiled pattern against path segments; captures point into segs. */
static bool match_route(const struct compiled_route *cr, char **segs, unsigned n,
                        struct cantor_http_request *req)
{
    if (cr->n != n)
        return false;
    req->n_params = 0;
    for (unsigned i = 0; i < n; i++) {
        const char *ps = cr->segs[i];

        if (ps[0] == '{') {
            if (req->n_params == CANTOR_HTTP_MAX_PARAMS)
                return false;
            req->params[req->n_params++] = segs[i];
        } else if (strcmp(ps, segs[i]) != 0) {
            return false;
        }
    }
    return true;
}

static bool authorized(struct cantor_http_server *s, struct MHD_Connection *conn,
                       enum cantor_http_access access)
{
    const char *h;
    bool ok = false;
    size_t tl, hl;

    if (access == CANTOR_HTTP_PUBLIC)
        return true;
    pthread_mutex_lock(&s->auth_lock);
    if (access == CANTOR_HTTP_READ && s->public_reads) {
        ok = true;
        goto out;
    }
    if (!s->admin_token)
        goto out;
    h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        goto out;
    h += 7;
    tl = strlen(s->admin_token);
    hl = strlen(h);
    /* Length is not secret (tokens are fixed-size); the bytes are compared in constant time. */
    ok = hl == tl && sodium_memcmp(h, s->admin_token, tl) == 0;
out:
    pthread_mutex_unlock(&s->auth_lock);
    return ok;
}

static enum MHD_Result send_response(struct cantor_http_server *s, struct MHD_Connection *conn,
                                     struct cantor_http_response *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (!resp->body) {
        resp->body = strdup("");
        resp->body_len = 0;
    }
    r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(resp->body);
        return MHD_NO;
    }
    resp->body = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json");
    if (resp->extra_header_name && resp->extra_header_value)
        MHD_add_response_header(r, resp->extra_header_name, resp->extra_header_value);
    if (resp->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cantord\"");
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    atomic_fetch_add(&s->requests, 1);
    atomic_fetch_add(&s->bytes_out, resp->body_len);
    if (resp->status >= 500)
        atomic_fetch_add(&s->errors_5xx, 1);
    else if (resp->status >= 400)
        atomic_fetch_add(&s->errors_4xx, 1);
    return ret;
}

/* Run a route's handler and turn an error without a body into the error envelope. */
static void run_handler(void *ctx, const struct cantor_http_route *rt, const struct cantor_http_request *req,
                        struct cantor_http_response *resp)
{
    enum cantor_err err;

    resp->status = MHD_HTTP_OK;
    err = rt->fn(ctx, req, resp);
    if (err && !resp->body)
        cantor_http_reply_error(resp, status_for_err(err), "%s", cantor_err_str(err));
    else if (err && resp->status < 400)
        resp->status = status_for_err(err);
}

/* Queue a slow route for the workers; false when stopping or full (the caller answers 503). */
static bool enqueue(struct cantor_http_server *s, struct req_state *st)
{
    bool ok = false;

    pthread_mutex_lock(&s->qlock);
    if (!s->stopping && s->queued < MAX_QUEUED_SLOW) {
        st->qnext = NULL;
        if (s->qtail)
            s->qtail->qnext = st;
        else
            s->qhead = st;
        s->qtail = st;
        s->queued++;
        st->queued = true;
        /* Suspend under the lock: a worker cannot resume the connection before it is suspended. */
        MHD_suspend_connection(st->conn);
        pthread_cond_signal(&s->qcond);
        ok = true;
    }
    pthread_mutex_unlock(&s->qlock);
    return ok;
}

static void *worker_main(void *arg)
{
    struct cantor_http_server *s = arg;

    pthread_setname_np(pthread_self(), "cantor-httpwork");
    for (;;) {
        struct req_state *st;

        pthread_mutex_lock(&s->qlock);
        while (!s->qhead && !s->stopping)
            pthread_cond_wait(&s->qcond, &s->qlock);
        st = s->qhead;
        if (!st) { /* stopping and drained */
            pthread_mutex_unlock(&s->qlock);
            return NULL;
        }
        s->qhead = st->qnext;
        if (!s->qhead)
            s->qtail = NULL;
        s->queued--;
        pthread_mutex_unlock(&s->qlock);
        run_handler(s->ctx, st->rt, &st->req, &st->resp);
        st->done = true;
        pthread_mutex_lock(&s->qlock);
        MHD_resume_connection(st->conn);
        pthread_mutex_unlock(&s->qlock);
    }
}

/* Fills resp, or returns true when the request went to the workers (nothing to send yet). */
static bool dispatch(struct cantor_http_server *s, struct MHD_Connection *conn, const char *url,
                     const char *method, struct req_state *st, struct cantor_http_response *resp)
{
    char *pathbuf = st->path, *segs[MAX_PATH_SEGMENTS + 1];
    struct cantor_http_request req = {0};
    bool path_matched = false;
    unsigned n;

    if (st->too_large) {
        cantor_http_reply_error(resp, MHD_HTTP_CONTENT_TOO_LARGE,
                                "request body exceeds the limit of %zu bytes", s->max_body);
        return false;
    }
    if (strlen(url) >= MAX_PATH_LEN) {
        cantor_http_reply_error(resp, MHD_HTTP_URI_TOO_LONG, "request path too long");
        return false;
    }
    memcpy(pathbuf, url, strlen(url) + 1);
    n = split_path(pathbuf, segs);
    if (n > MAX_PATH_SEGMENTS) {
        cantor_http_reply_error(resp, MHD_HTTP_NOT_FOUND, "no such endpoint");
        return false;
    }
    for (size_t i = 0; i < s->n_routes; i++) {
        const struct cantor_http_route *rt = s->routes[i].rt;

        if (!match_route(&s->routes[i], segs, n, &req))
            continue;
        path_matched = true;
        if (strcmp(rt->method, method) != 0)
            continue;
        if (!authorized(s, conn, rt->access)) {
            cantor_http_reply_error(resp, MHD_HTTP_UNAUTHORIZED, "missing or invalid bearer token");
            return false;
        }
        req.method = method;
        req.path = url;
        req.body = st->body.data;
        req.body_len = st->body.len;
        req.conn = conn;
        if (rt->slow) {
            st->rt = rt;
            st->req = req;
            st->conn = conn;
            if (enqueue(s, st))
                return true;
            cantor_http_reply_error(resp, MHD_HTTP_SERVICE_UNAVAILABLE,
                                    "too many slow requests in progress; retry later");
            return false;
        }
        run_handler(s->ctx, rt, &req, resp);
        return false;
    }
    if (path_matched)
        cantor_http_reply_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed on %s", method,
                                url);
    else
        cantor_http_reply_error(resp, MHD_HTTP_NOT_FOUND, "no such endpoint: %s", url);
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct cantor_http_server *s = cls;
    struct req_state *st = *con_cls;
    struct cantor_http_response resp = {0};
    enum MHD_Result ret;

    (void)version;
    if (!st) {
        const char *cl;

        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        cantor_buf_init(&st->body, s->max_body);
        clock_gettime(CLOCK_MONOTONIC, &st->start);
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->max_body)
            st->too_large = true;
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_large && cantor_buf_append(&st->body, upload_data, *upload_data_size)) {
            st->too_large = true;
            cantor_buf_release(&st->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->queued) {
        /* Resumed: the worker has filled st->resp (a resume without done cannot happen). */
        if (!st->done)
            return MHD_YES;
        resp = st->resp;
        memset(&st->resp, 0, sizeof(st->resp));
    } else if (dispatch(s, conn, url, method, st, &resp)) {
        return MHD_YES; /* suspended until a worker is done */
    }
    ret = send_response(s, conn, &resp);
    observe_latency(s, elapsed_us(&st->start));
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!st)
        return;
    cantor_buf_release(&st->body);
    free(st->resp.body);
    free(st);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    log_warn("http", "%s", msg);
}

enum cantor_err cantor_http_start(const struct cantor_http_opts *opts, const struct cantor_http_route *routes,
                                  size_t n_routes, void *ctx, struct cantor_http_server **ret_server)
{
    struct cantor_http_server *s = NULL;
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    const char *addr = opts->listen_addr ? opts->listen_addr : "127.0.0.1";
    /* TURBO: read/write/accept opportunistically instead of asking epoll first (fewer syscalls). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
                     MHD_ALLOW_SUSPEND_RESUME;
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem pool[2] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
    unsigned n_workers = opts->workers ? opts->workers : 1;
    enum cantor_err err = CANTOR_ERR_INVALID;

    if (sodium_init() < 0)
        return CANTOR_ERR_INVALID;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(opts->port);
    } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(opts->port);
        flags |= MHD_USE_IPv6;
    } else {
        log_error("http", "listen address '%s' is not a numeric IPv4/IPv6 address", addr);
        return CANTOR_ERR_CONFIG;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return CANTOR_ERR_NOMEM;
    pthread_mutex_init(&s->auth_lock, NULL);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    s->routes = calloc(n_routes ? n_routes : 1, sizeof(*s->routes));
    if (!s->routes) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_routes; i++) {
        struct compiled_route *cr = &s->routes[i];
        size_t len = strlen(routes[i].pattern);

        if (len >= sizeof(cr->buf) || routes[i].pattern[0] != '/') {
            log_error("http", "bad route pattern '%s'", routes[i].pattern);
            goto out;
        }
        cr->rt = &routes[i];
        memcpy(cr->buf, routes[i].pattern, len + 1);
        cr->n = split_path(cr->buf, cr->segs);
        if (cr->n > MAX_PATH_SEGMENTS) {
            log_error("http", "route pattern '%s' has too many segments", routes[i].pattern);
            goto out;
        }
    }
    s->n_routes = n_routes;
    s->ctx = ctx;
    s->max_body = opts->max_body ? opts->max_body : 1 << 20;
    s->public_reads = opts->public_reads;
    if (opts->admin_token && !(s->admin_token = strdup(opts->admin_token))) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    s->workers = calloc(n_workers, sizeof(*s->workers));
    if (!s->workers) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    for (unsigned i = 0; i < n_workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            log_error("http", "cannot start HTTP worker thread %u", i);
            err = CANTOR_ERR_NOMEM;
            goto out;
        }
        s->n_workers++;
    }
    /* One event thread is MHD's internal thread, not a pool: MHD warns about a pool size of 0 or 1. */
    if (opts->threads > 1)
        pool[0] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)opts->threads, NULL};
    /* MHD wants its logger first, so that errors about the other options reach our log too. */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(opts->max_connections ? opts->max_connections : 1024), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(opts->timeout_s ? opts->timeout_s : 30), MHD_OPTION_ARRAY, pool,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        /*
         * MHD zeroes a connection's pool between requests: 16 KiB instead of the
         * 32 KiB default halves that, and still holds any sane request head
         * (bodies stream through it to our own buffer).
         */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!s->mhd) {
        log_error("http", "cannot listen on %s:%u (address in use or not permitted)", addr, opts->port);
        err = CANTOR_ERR_IO;
        goto out;
    }
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opts->port;
    log_info("http", "listening on %s:%u (%u event threads, %u workers for slow routes)", addr, s->port,
             opts->threads ? opts->threads : 1, s->n_workers);
    *ret_server = s;
    s = NULL;
    err = CANTOR_OK;
out:
    cantor_http_stop(s);
    return err;
}

void cantor_http_stop(struct cantor_http_server *s)
{
    if (!s)
        return;
    /*
     * Workers first: they finish (and resume) every queued slow request, so MHD is not stopped with a
     * suspended connection; slow requests arriving meanwhile are answered 503.
     */
    pthread_mutex_lock(&s->qlock);
    s->stopping = true;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    for (unsigned i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    pthread_mutex_destroy(&s->auth_lock);
    free(s->routes);
    if (s->admin_token)
        sodium_memzero(s->admin_token, strlen(s->admin_token));
    free(s->admin_token);
    free(s);
}

uint16_t cantor_http_port(const struct cantor_http_server *s)
{
    return s->port;
}

enum cantor_err cantor_http_set_auth(struct cantor_http_server *s, const char *admin_token, bool public_reads)
{
    char *tok = NULL;

    if (admin_token && !(tok = strdup(admin_token)))
        return CANTOR_ERR_NOMEM;
    pthread_mutex_lock(&s->auth_lock);
    if (s->admin_token) {
        sodium_memzero(s->admin_token, strlen(s->admin_token));
        free(s->admin_token);
    }
    s->admin_token = tok;
    s->public_reads = public_reads;
    pthread_mutex_unlock(&s->auth_lock);
    return CANTOR_OK;
}

enum cantor_err cantor_http_metrics(const struct cantor_http_server *cs, void *vbuf)
{
    struct cantor_http_server *s = (struct cantor_http_server *)cs;
    struct cantor_buf *b = vbuf;
    uint64_t cum = 0;
    enum cantor_err err;

    err = cantor_buf_printf(b,
                            "# HELP cantor_http_requests_total HTTP requests answered.\n"
                            "# TYPE cantor_http_requests_total counter\n"
                            "cantor_http_requests_total %" PRIuFAST64 "\n"
                            "# HELP cantor_http_errors_total HTTP error responses by class.\n"
                            "# TYPE cantor_http_errors_total counter\n"
                            "cantor_http_errors_total{class=\"4xx\"} %" PRIuFAST64 "\n"
                            "cantor_http_errors_total{class=\"5xx\"} %" PRIuFAST64 "\n"
                            "# HELP cantor_http_request_duration_seconds HTTP request latency.\n"
                            "# TYPE cantor_http_request_duration_seconds histogram\n",
                            atomic_load(&s->requests), atomic_load(&s->errors_4xx),
                            atomic_load(&s->errors_5xx));
    for (unsigned i = 0; !err && i < CANTOR_HTTP_LATENCY_BUCKETS; i++) {
        cum += atomic_load(&s->latency_buckets[i]);
        err = cantor_buf_printf(b, "cantor_http_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                                (double)latency_bounds_us[i] / 1e6, cum);
    }
    if (!err)
        err = cantor_buf_printf(b,
                                "cantor_http_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIuFAST64 "\n"
                                "cantor_http_request_duration_seconds_sum %.6f\n"
                                "cantor_http_request_duration_seconds_count %" PRIuFAST64 "\n",
                                atomic_load(&s->latency_count), (double)atomic_load(&s->latency_sum_us) / 1e6,
                                atomic_load(&s->latency_count));
    return err;
}
