/*
 * cantor.c - the offline `cantor` command-line tool: utilities that need no daemon and no network
 * (verify proofs, print deltas, hash data). Subcommands live in cmd_*.c, one file each.
 */
#include <stdio.h>
#include <string.h>

#include "cantor_config.h"
#include "cli.h"

static int cmd_help(int argc, char **argv);

static const struct cantor_cli_cmd commands[] = {
    {"mpt-verify", "verify an eth_getProof answer against a state root", cantor_cmd_mpt_verify},
    {"delta", "print the canonical delta of a recorded block as JSON lines", cantor_cmd_delta},
    {"keccak", "print keccak256 of a hex string or of a file", cantor_cmd_keccak},
    {"compress", "compress a canonical delta or recorded diff (or several consecutive ones) into a chunk",
     cantor_cmd_compress},
    {"decompress", "decompress a chunk back to canonical delta bytes", cantor_cmd_decompress},
    {"bench-codec", "benchmark the codec against zstd and xz on recorded blocks", cantor_cmd_bench_codec},
    {"verify", "verify a cantord proof document (delta/state, MMR, checkpoint) offline", cantor_cmd_verify},
    {"help", "show this help", cmd_help},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cantor [--version] [--help] <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'cantor <command> --help' for the options of one command.\n");
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return CANTOR_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CANTOR_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("cantor %s\n", CANTOR_VERSION);
        return CANTOR_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cantor: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CANTOR_EXIT_USAGE;
}
