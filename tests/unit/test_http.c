/*
 * test_http.c - rpc/http.c's threading: a slow route runs on a worker with its connection suspended
 * while the event thread keeps answering fast routes; the slow queue is bounded (503 when full);
 * stopping the server finishes every queued slow request first. Real MHD on 127.0.0.1, libcurl.
 * No timing assertions: the slow handler blocks on a gate the test opens only after a fast request
 * has been answered, so a server that ran slow routes on the event thread fails by timeout.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/http.h"
#include "testutil.h"

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_int slow_started, slow_finished, answered_503;

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static enum cantor_err h_fast(void *ctx, const struct cantor_http_request *req,
                              struct cantor_http_response *resp)
{
    (void)ctx;
    (void)req;
    return cantor_http_reply_json(resp, 200, json_pack("{s:s}", "route", "fast"));
}

/* Waits (bounded: 20 s) for the test to open the gate. */
static enum cantor_err h_slow(void *ctx, const struct cantor_http_request *req,
                              struct cantor_http_response *resp)
{
    struct timespec dl;
    bool opened;

    (void)ctx;
    atomic_fetch_add(&slow_started, 1);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    pthread_mutex_lock(&gate_lock);
    while (!gate_open && pthread_cond_timedwait(&gate_cond, &gate_lock, &dl) == 0)
        ;
    opened = gate_open;
    pthread_mutex_unlock(&gate_lock);
    atomic_fetch_add(&slow_finished, 1);
    return cantor_http_reply_json(
        resp, 200, json_pack("{s:s,s:b,s:s}", "route", "slow", "gate", opened, "n", req->params[0]));
}

static const struct cantor_http_route routes[] = {
    {"GET", "/fast", CANTOR_HTTP_PUBLIC, h_fast, false},
    {"GET", "/slow/{n}", CANTOR_HTTP_PUBLIC, h_slow, true},
};

struct reply {
    long status;
    char body[512];
    size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t k = sz * n;

    if (r->len + k < sizeof(r->body)) {
        memcpy(r->body + r->len, p, k);
        r->len += k;
        r->body[r->len] = 0;
    }
    return k;
}

static void get(uint16_t port, const char *path, struct reply *r)
{
    char url[128];
    CURL *c = curl_easy_init();

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
}

struct bg {
    pthread_t t;
    uint16_t port;
    char path[32];
    struct reply r;
};

static void *bg_main(void *arg)
{
    struct bg *b = arg;

    get(b->port, b->path, &b->r);
    if (b->r.status == 503)
        atomic_fetch_add(&answered_503, 1);
    return NULL;
}

static void wait_started(int n)
{
    for (int i = 0; i < 2000 && atomic_load(&slow_started) < n; i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_ge(atomic_load(&slow_started), n);
}

static struct cantor_http_server *start(unsigned threads, unsigned workers)
{
    struct cantor_http_opts o = {.threads = threads, .workers = workers, .max_connections = 512};
    struct cantor_http_server *s = NULL;

    atomic_store(&slow_started, 0);
    atomic_store(&slow_finished, 0);
    atomic_store(&answered_503, 0);
    gate_set(false);
    ck_assert_int_eq(cantor_http_start(&o, routes, 2, NULL, &s), CANTOR_OK);
    return s;
}

/* One event thread, one worker: a slow request in progress does not hold up fast ones. */
START_TEST(test_slow_does_not_block_fast)
{
    struct cantor_http_server *s = start(1, 1);
    struct bg b = {.port = cantor_http_port(s)};
    struct reply r;

    snprintf(b.path, sizeof(b.path), "/slow/1");
    ck_assert_int_eq(pthread_create(&b.t, NULL, bg_main, &b), 0);
    wait_started(1);
    for (int i = 0; i < 50; i++) {
        get(cantor_http_port(s), "/fast", &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"fast\""));
    }
    ck_assert_int_eq(atomic_load(&slow_finished), 0); /* the fast ones did not wait for it */
    gate_set(true);
    pthread_join(b.t, NULL);
    ck_assert_int_eq(b.r.status, 200);
    ck_assert_ptr_nonnull(strstr(b.r.body, "\"gate\":true"));
    ck_assert_ptr_nonnull(strstr(b.r.body, "\"n\":\"1\""));
    cantor_http_stop(s);
}
END_TEST

/* Stopping with slow requests queued behind a busy worker answers every one of them. */
START_TEST(test_stop_drains_queue)
{
    struct cantor_http_server *s = start(1, 1);
    struct bg b[4];

    for (int i = 0; i < 4; i++) {
        b[i] = (struct bg){.port = cantor_http_port(s)};
        snprintf(b[i].path, sizeof(b[i].path), "/slow/%d", i);
        ck_assert_int_eq(pthread_create(&b[i].t, NULL, bg_main, &b[i]), 0);
    }
    wait_started(1); /* one running, up to three queued */
    gate_set(true);
    cantor_http_stop(s);
    for (int i = 0; i < 4; i++) {
        char want[16];

        pthread_join(b[i].t, NULL);
        /* answered by the worker, or (arriving after the stop began) 503 or refused: never lost */
        if (b[i].r.status == 200) {
            snprintf(want, sizeof(want), "\"n\":\"%d\"", i);
            ck_assert_ptr_nonnull(strstr(b[i].r.body, want));
        } else {
            ck_assert(b[i].r.status == 503 || b[i].r.status == 0);
        }
    }
    ck_assert_int_eq(atomic_load(&slow_started), atomic_load(&slow_finished));
}
END_TEST

/* Over the queue bound (256), slow requests get 503 while fast ones are still answered. */
START_TEST(test_queue_full_is_503)
{
    enum { N = 300 };
    struct cantor_http_server *s = start(2, 1);
    struct bg *b = calloc(N, sizeof(*b));
    struct reply r;
    int ok = 0, busy = 0;

    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < N; i++) {
        b[i].port = cantor_http_port(s);
        snprintf(b[i].path, sizeof(b[i].path), "/slow/%d", i);
        ck_assert_int_eq(pthread_create(&b[i].t, NULL, bg_main, &b[i]), 0);
    }
    /* 1 running + 256 queued; the rest are answered 503 right away */
    for (int i = 0; i < 4000 && atomic_load(&answered_503) < N - 257; i++) {
        struct timespec ts = {0, 5000000};

        nanosleep(&ts, NULL);
    }
    get(cantor_http_port(s), "/fast", &r);
    ck_assert_int_eq(r.status, 200);
    gate_set(true);
    busy = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(b[i].t, NULL);
        ok += b[i].r.status == 200;
        busy += b[i].r.status == 503;
        if (b[i].r.status == 503)
            ck_assert_ptr_nonnull(strstr(b[i].r.body, "too many slow requests"));
    }
    ck_assert_int_eq(ok + busy, N);
    ck_assert_int_ge(busy, N - 257);
    ck_assert_int_ge(ok, 257);
    cantor_http_stop(s);
    free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("threads");
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_slow_does_not_block_fast);
    tcase_add_test(tc, test_stop_drains_queue);
    tcase_add_test(tc, test_queue_full_is_503);
    suite_add_tcase(s, tc);
    rc = tu_run_suite(s);
    curl_global_cleanup();
    return rc;
}
