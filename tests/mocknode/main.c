/*
 * main.c - the `mocknode` executable: serve recorded JSON-RPC answers on 127.0.0.1 until SIGINT or
 * SIGTERM. Usage: mocknode [--port N] [--print-port] [--no-batch] [--head 0xN]
 *                 [--synthetic FROM..TO [--format auto|geth|parity]] PATH...
 * (PATH: a recording file or directory, e.g. shared/data/erigon-rpc-tests/mainnet). --synthetic
 * serves a synthetic chain over FROM..TO with the recorded diffs of those blocks (see mocknode.h),
 * e.g. --synthetic 17073191..17073193 with erigon-rpc-tests/mainnet/debug_traceBlockByNumber.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/mocknode/mocknode.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static int usage(void)
{
    fprintf(stderr, "usage: mocknode [--port N] [--print-port] [--no-batch] [--head 0xN]\n"
                    "                [--synthetic FROM..TO [--format auto|geth|parity]] PATH...\n");
    return 2;
}

static int parse_ul(const char *s, int base, unsigned long long max, unsigned long long *ret)
{
    char *end;

    errno = 0;
    *ret = strtoull(s, &end, base);
    return (errno || end == s || *end || *ret > max) ? -1 : 0;
}

/* A block number, decimal or 0x-hex. */
static int parse_block(const char *s, unsigned long long *ret)
{
    return strncmp(s, "0x", 2) ? parse_ul(s, 10, UINT64_MAX, ret) : parse_ul(s + 2, 16, UINT64_MAX, ret);
}

/* "FROM..TO" */
static int parse_range(const char *s, unsigned long long *ret_from, unsigned long long *ret_to)
{
    const char *dots = strstr(s, "..");
    char first[32];

    if (!dots || (size_t)(dots - s) >= sizeof(first))
        return -1;
    memcpy(first, s, (size_t)(dots - s));
    first[dots - s] = '\0';
    return parse_block(first, ret_from) || parse_block(dots + 2, ret_to) || *ret_to < *ret_from ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct cantor_mocknode *m = NULL;
    unsigned long long v, synth_from = 0, synth_to = 0;
    enum cantor_mock_synth_format fmt = CANTOR_MOCK_SYNTH_AUTO;
    bool synthetic = false, have_head = false;
    uint64_t head = 0;
    uint16_t port = 0, bound = 0;
    int print_port = 0, loaded = 0, rc = 1;
    struct sigaction sa;

    if (cantor_mocknode_new(&m))
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            if (parse_ul(argv[++i], 10, 65535, &v)) {
                rc = usage();
                goto out;
            }
            port = (uint16_t)v;
        } else if (!strcmp(argv[i], "--print-port")) {
            print_port = 1;
        } else if (!strcmp(argv[i], "--no-batch")) {
            cantor_mocknode_set_batch(m, CANTOR_MOCK_BATCH_REFUSE_JSON);
        } else if (!strcmp(argv[i], "--head") && i + 1 < argc) {
            const char *h = argv[++i];

            if (parse_ul(strncmp(h, "0x", 2) ? h : h + 2, strncmp(h, "0x", 2) ? 10 : 16, UINT64_MAX, &v)) {
                rc = usage();
                goto out;
            }
            head = v;
            have_head = true;
        } else if (!strcmp(argv[i], "--synthetic") && i + 1 < argc) {
            if (parse_range(argv[++i], &synth_from, &synth_to)) {
                rc = usage();
                goto out;
            }
            synthetic = true;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *f = argv[++i];

            if (!strcmp(f, "geth"))
                fmt = CANTOR_MOCK_SYNTH_GETH;
            else if (!strcmp(f, "parity"))
                fmt = CANTOR_MOCK_SYNTH_PARITY;
            else if (strcmp(f, "auto")) {
                rc = usage();
                goto out;
            }
        } else if (argv[i][0] == '-') {
            rc = usage();
            goto out;
        } else {
            if (cantor_mocknode_load(m, argv[i]))
                goto out;
            loaded++;
        }
    }
    if (!loaded) {
        rc = usage();
        goto out;
    }
    /* After loading: the synthetic chain checks that the recordings cover its range. */
    if (synthetic && cantor_mocknode_set_synthetic(m, synth_from, synth_to, fmt, &fmt)) {
        fprintf(stderr, "mocknode: no recorded diffs for every block of %llu..%llu\n", synth_from, synth_to);
        goto out;
    }
    if (have_head)
        cantor_mocknode_set_head(m, head);
    if (cantor_mocknode_start(m, port, &bound))
        goto out;
    if (print_port) {
        printf("%u\n", bound);
        fflush(stdout);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!got_signal)
        pause();
    rc = 0;
out:
    cantor_mocknode_free(m);
    return rc;
}
