/*
 * bench_http.c - load generator for cantord's read API: N threads, each with one keep-alive libcurl
 * easy handle, alternating GET /v1/state/{address}?block=<random> and POST /rpc eth_getStorageAt at a
 * random followed block. Prints req/s and p50/p99 latency per request kind.
 *
 *   bench_http [-c connections] [-d seconds] [-n max_requests] [-k token] http://127.0.0.1:8545
 *
 * Keys come from the server itself: the followed range from /v1/status and (address, slot) pairs
 * from /v1/blocks/{n}/delta of a few blocks near the head. Bounded: at most 300 s, 10M requests,
 * 256 connections, and only loopback URLs (it is a benchmark, not a load tool for other hosts).
 * Memory: per-thread latency arrays are preallocated (max_requests / connections each).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS  300
#define MAX_REQUESTS 10000000L
#define MAX_CONNS    256
#define MAX_KEYS     4096
#define MAX_BODY     (64u << 20)

struct key {
    char addr[43];
    char slot[67];
};

struct shared {
    const char *base;
    const char *token;
    uint64_t first, head;
    struct key *keys;
    size_t n_keys;
    double deadline;
    long per_thread;
};

struct worker {
    pthread_t tid;
    struct shared *sh;
    uint64_t rng;
    double *lat[2]; /* seconds: 0 = REST state, 1 = eth_getStorageAt */
    long n[2], errors;
};

struct sink {
    char *data;
    size_t len;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    struct sink *k = arg;
    size_t n = size * nmemb;
    char *nd;

    if (k->len + n > MAX_BODY)
        return 0;
    nd = realloc(k->data, k->len + n + 1);
    if (!nd)
        return 0;
    memcpy(nd + k->len, p, n);
    k->data = nd;
    k->len += n;
    k->data[k->len] = 0;
    return n;
}

/* One request on handle c; returns the HTTP status (0 on transport error). */
static long request(CURL *c, const struct shared *sh, const char *path, const char *body, struct sink *out)
{
    char url[512], auth[300];
    struct curl_slist *h = NULL;
    long status = 0;

    snprintf(url, sizeof(url), "%s%s", sh->base, path);
    out->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    h = curl_slist_append(h, "Content-Type: application/json");
    if (sh->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", sh->token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    struct sink out = {0};
    char path[256], body[512];
    CURL *c = curl_easy_init();

    if (!c)
        return NULL;
    while (w->n[0] + w->n[1] < sh->per_thread && now_s() < sh->deadline) {
        const struct key *k = &sh->keys[next_rand(&w->rng) % sh->n_keys];
        uint64_t b = sh->first + next_rand(&w->rng) % (sh->head - sh->first + 1);
        int kind = (int)(next_rand(&w->rng) & 1);
        double t0 = now_s();
        long st;

        if (kind == 0) {
            snprintf(path, sizeof(path), "/v1/state/%s?block=%" PRIu64, k->addr, b);
            st = request(c, sh, path, NULL, &out);
            /* 404 "unknown" is a valid answer for a key that had not changed yet */
            if (st != 200 && st != 404)
                w->errors++;
        } else {
            snprintf(body, sizeof(body),
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getStorageAt\",\"params\":[\"%s\",\"%"
                     "s\",\"0x%" PRIx64 "\"]}",
                     k->addr, k->slot, b);
            st = request(c, sh, "/rpc", body, &out);
            if (st != 200)
                w->errors++;
        }
        w->lat[kind][w->n[kind]++] = now_s() - t0;
    }
    free(out.data);
    curl_easy_cleanup(c);
    return NULL;
}

static json_t *get_json(CURL *c, const struct shared *sh, const char *path)
{
    struct sink out = {0};
    json_t *j = NULL;

    if (request(c, sh, path, NULL, &out) == 200)
        j = json_loadb(out.data, out.len, 0, NULL);
    free(out.data);
    return j;
}

/* Collect (address, slot) pairs of storage entries from the deltas of blocks near the head. */
static int load_keys(struct shared *sh)
{
    CURL *c = curl_easy_init();
    json_t *st, *d, *e;
    char path[128];
    size_t i;
    int rc = -1;

    if (!c)
        return -1;
    st = get_json(c, sh, "/v1/status");
    if (!st || json_is_true(json_object_get(json_object_get(st, "store"), "empty"))) {
        fprintf(stderr, "bench_http: /v1/status failed or the store is empty\n");
        goto out;
    }
    sh->head = (uint64_t)json_integer_value(json_object_get(json_object_get(st, "store"), "head"));
    sh->first = (uint64_t)json_integer_value(json_object_get(json_object_get(st, "store"), "firstRetained"));
    if (sh->first > sh->head)
        sh->first = sh->head;
    for (uint64_t b = sh->head; b + 16 > sh->head && b >= sh->first && sh->n_keys < MAX_KEYS; b--) {
        snprintf(path, sizeof(path), "/v1/blocks/%" PRIu64 "/delta", b);
        d = get_json(c, sh, path);
        json_array_foreach(json_object_get(d, "entries"), i, e)
        {
            const char *a = json_string_value(json_object_get(e, "address"));
            const char *s = json_string_value(json_object_get(e, "slot"));

            if (!a || !s || strlen(a) != 42 || strlen(s) != 66 || sh->n_keys == MAX_KEYS)
                continue;
            memcpy(sh->keys[sh->n_keys].addr, a, 43);
            memcpy(sh->keys[sh->n_keys].slot, s, 67);
            sh->n_keys++;
        }
        json_decref(d);
        if (b == 0)
            break;
    }
    if (!sh->n_keys) {
        fprintf(stderr, "bench_http: no storage keys found in the last 16 blocks\n");
        goto out;
    }
    rc = 0;
out:
    json_decref(st);
    curl_easy_cleanup(c);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *name, struct worker *w, int n_workers, int kind, double elapsed)
{
    long total = 0, j = 0;
    double *all;

    for (int i = 0; i < n_workers; i++)
        total += w[i].n[kind];
    if (!total) {
        printf("%-22s no requests\n", name);
        return;
    }
    all = malloc((size_t)total * sizeof(*all));
    if (!all)
        return;
    for (int i = 0; i < n_workers; i++)
        for (long k = 0; k < w[i].n[kind]; k++)
            all[j++] = w[i].lat[kind][k];
    qsort(all, (size_t)total, sizeof(*all), cmp_double);
    printf("%-22s %8ld req  %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms\n", name, total,
           (double)total / elapsed, all[total / 2] * 1e3, all[(size_t)((double)total * 0.99)] * 1e3,
           all[total - 1] * 1e3);
    free(all);
}

static int is_loopback(const char *url)
{
    static const char *const ok[] = {"http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:",
                                     "http://localhost/", "http://[::1]:",     "http://[::1]/"};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strncmp(url, ok[i], strlen(ok[i])) == 0)
            return 1;
    return 0;
}

static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == 0 || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_http: '%s' is not a number in [%ld, %ld]\n", s, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct shared sh = {0};
    struct worker *w = NULL;
    long conns = 8, seconds = 10, max_req = 200000, errors = 0, started;
    double t0, elapsed;
    int opt, rc = 1;
    char base[256];

    while ((opt = getopt(argc, argv, "c:d:n:k:")) != -1) {
        switch (opt) {
        case 'c':
            conns = parse_long(optarg, 1, MAX_CONNS);
            break;
        case 'd':
            seconds = parse_long(optarg, 1, MAX_SECONDS);
            break;
        case 'n':
            max_req = parse_long(optarg, 1, MAX_REQUESTS);
            break;
        case 'k':
            sh.token = optarg;
            break;
        default:
            fprintf(stderr, "usage: %s [-c conns] [-d seconds] [-n max_requests] [-k token] URL\n", argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1 || strlen(argv[optind]) >= sizeof(base) || !is_loopback(argv[optind])) {
        fprintf(stderr,
                "usage: %s [-c conns] [-d seconds] [-n max_requests] [-k token] http://127.0.0.1:PORT\n"
                "(loopback URLs only)\n",
                argv[0]);
        return 2;
    }
    memcpy(base, argv[optind], strlen(argv[optind]) + 1);
    if (base[0] && base[strlen(base) - 1] == '/')
        base[strlen(base) - 1] = 0;
    sh.base = base;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sh.keys = calloc(MAX_KEYS, sizeof(*sh.keys));
    w = calloc((size_t)conns, sizeof(*w));
    if (!sh.keys || !w || load_keys(&sh))
        goto out;
    sh.per_thread = (max_req + conns - 1) / conns;
    printf("bench_http: %s, blocks %" PRIu64 "..%" PRIu64
           ", %zu storage keys, %ld connections, %ld s, <= %ld req\n",
           base, sh.first, sh.head, sh.n_keys, conns, seconds, max_req);
    for (long i = 0; i < conns; i++) {
        w[i].sh = &sh;
        w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        w[i].lat[0] = malloc((size_t)sh.per_thread * sizeof(double));
        w[i].lat[1] = malloc((size_t)sh.per_thread * sizeof(double));
        if (!w[i].lat[0] || !w[i].lat[1])
            goto out;
    }
    t0 = now_s();
    sh.deadline = t0 + (double)seconds;
    for (started = 0; started < conns; started++)
        if (pthread_create(&w[started].tid, NULL, worker_main, &w[started]))
            break;
    for (long i = 0; i < started; i++)
        pthread_join(w[i].tid, NULL);
    if (started < conns) {
        fprintf(stderr, "bench_http: could only start %ld threads\n", started);
        goto out;
    }
    elapsed = now_s() - t0;
    for (long i = 0; i < conns; i++)
        errors += w[i].errors;
    report("GET /v1/state", w, (int)conns, 0, elapsed);
    report("rpc eth_getStorageAt", w, (int)conns, 1, elapsed);
    printf("errors (non-200, 404 allowed for state): %ld, elapsed %.2f s\n", errors, elapsed);
    rc = errors ? 1 : 0;
out:
    for (long i = 0; w && i < conns; i++) {
        free(w[i].lat[0]);
        free(w[i].lat[1]);
    }
    free(w);
    free(sh.keys);
    curl_global_cleanup();
    return rc;
}
