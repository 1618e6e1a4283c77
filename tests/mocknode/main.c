/*
 * main.c - the `mocknode` executable: serve recorded JSON-RPC answers on 127.0.0.1 until SIGINT or
 * SIGTERM. Usage: mocknode [--port N] [--print-port] [--no-batch] [--head 0xN] PATH...
 * (PATH: a recording file or directory, e.g. shared/data/erigon-rpc-tests/mainnet).
 */
#include <errno.h>
#include <signal.h>
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
    fprintf(stderr, "usage: mocknode [--port N] [--print-port] [--no-batch] [--head 0xN] PATH...\n");
    return 2;
}

static int parse_ul(const char *s, int base, unsigned long long max, unsigned long long *ret)
{
    char *end;

    errno = 0;
    *ret = strtoull(s, &end, base);
    return (errno || end == s || *end || *ret > max) ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct cantor_mocknode *m = NULL;
    unsigned long long v;
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
            cantor_mocknode_set_head(m, v);
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
