/*
 * cli.h - subcommands of the offline `cantor` tool. Each takes argc/argv starting at its own name
 * (argv[0] == "mpt-verify", ...) and returns the process exit status: 0 success, 1 the input was
 * checked and is wrong (e.g. a proof that does not verify), 2 usage or I/O error.
 */
#ifndef CANTOR_CLI_H
#define CANTOR_CLI_H

#define CANTOR_EXIT_OK    0
#define CANTOR_EXIT_FAIL  1
#define CANTOR_EXIT_USAGE 2

struct cantor_buf;

struct cantor_cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

int cantor_cmd_mpt_verify(int argc, char **argv);
int cantor_cmd_delta(int argc, char **argv);
int cantor_cmd_keccak(int argc, char **argv);
int cantor_cmd_compress(int argc, char **argv);
int cantor_cmd_decompress(int argc, char **argv);
int cantor_cmd_bench_codec(int argc, char **argv);
int cantor_cmd_verify(int argc, char **argv);

/* Append the file at path to b (within b's limit); on failure print why, as "cantor CMD: ...", and
 * return -1 (b keeps what it held). */
int cantor_cli_read_file(const char *cmd, const char *path, struct cantor_buf *b);

#endif
