/*
 * http.h - cantord's HTTP/JSON server on libmicrohttpd.
 *
 * MHD runs its own threads (internal epoll, a small thread pool: see docs/design.md); handlers are
 * therefore called concurrently and must only touch thread-safe state (the store is; counters are
 * atomics). A route table maps (method, path pattern with {params}) to a handler. The server owns
 * request bodies (size-limited, 413 past the limit) and turns every error into the JSON envelope
 * {"error": {"code": ..., "message": ...}} with the right status. Handlers fill a response whose body
 * they allocate; the server frees it after sending.
 */
#ifndef CANTOR_HTTP_H
#define CANTOR_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CANTOR_HTTP_MAX_PARAMS      4
#define CANTOR_HTTP_LATENCY_BUCKETS 12

struct cantor_http_opts {
    const char *listen_addr; /* numeric IPv4/IPv6 address, default 127.0.0.1 */
    uint16_t port;           /* 0 = pick a free port (read it back with cantor_http_port) */
    size_t max_body;         /* request bodies above this get 413 */
    unsigned max_connections;
    unsigned timeout_s;      /* idle connection timeout */
    unsigned threads;        /* MHD event threads (fast routes run on them); 0 = 1 */
    unsigned workers;        /* threads running slow routes; 0 = 1 */
    const char *admin_token; /* bearer token for admin/mutating routes; NULL = those routes disabled */
    bool public_reads;       /* false = read routes need the token too */
};

enum cantor_http_access {
    CANTOR_HTTP_PUBLIC = 0, /* always open (healthz, readyz, metrics) */
    CANTOR_HTTP_READ = 1,   /* open when public_reads, else token */
    CANTOR_HTTP_ADMIN = 2,  /* token required */
};

struct cantor_http_request {
    const char *method;
    const char *path;
    const char *params[CANTOR_HTTP_MAX_PARAMS]; /* {captures} from the route pattern, in order */
    unsigned n_params;
    const uint8_t *body;
    size_t body_len;
    void *conn; /* struct MHD_Connection *, for query arguments */
};

struct cantor_http_response {
    int status;
    const char *content_type; /* static string; default application/json */
    char *body;               /* malloc'ed, freed by the server */
    size_t body_len;
    const char *extra_header_name; /* optional static header (e.g. Content-Disposition) */
    const char *extra_header_value;
};

/* A handler returns CANTOR_OK after filling resp, or an error the server maps to a status. */
typedef enum cantor_err (*cantor_http_handler_fn)(void *ctx, const struct cantor_http_request *req,
                                                  struct cantor_http_response *resp);

struct cantor_http_route {
    const char *method;  /* "GET", "POST" */
    const char *pattern; /* "/v1/blocks/{n}/delta" */
    enum cantor_http_access access;
    cantor_http_handler_fn fn;
    /*
     * Slow routes (CPU- or I/O-heavy: compression, whole-block work, backups) run on the worker
     * threads while their connection is suspended, so they never hold up the event threads that
     * answer the single-value reads.
     */
    bool slow;
};

struct cantor_http_server;

enum cantor_err cantor_http_start(const struct cantor_http_opts *opts, const struct cantor_http_route *routes,
                                  size_t n_routes, void *ctx, struct cantor_http_server **ret_server);
void cantor_http_stop(struct cantor_http_server *s); /* NULL-safe; waits for in-flight requests */
uint16_t cantor_http_port(const struct cantor_http_server *s);
/* Replace the admin token / public_reads at runtime (SIGHUP). */
enum cantor_err cantor_http_set_auth(struct cantor_http_server *s, const char *admin_token,
                                     bool public_reads);

/* Query argument of the current request, or NULL. */
const char *cantor_http_query(const struct cantor_http_request *req, const char *name);

/* Response helpers: serialise (and decref) a JSON value; an error envelope. */
enum cantor_err cantor_http_reply_json(struct cantor_http_response *resp, int status, json_t *value);
enum cantor_err cantor_http_reply_error(struct cantor_http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum cantor_err cantor_http_reply_text(struct cantor_http_response *resp, int status,
                                       const char *content_type, char *body, size_t len);

/* Prometheus exposition of the server's own counters (requests, errors, latency histogram). */
enum cantor_err cantor_http_metrics(const struct cantor_http_server *s, void *buf /* struct cantor_buf* */);

#endif
