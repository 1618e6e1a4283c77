/*
 * codec_cli.h - helpers shared by the codec subcommands (cmd_codec.c, cmd_bench_codec.c): collect
 * recorded diff files from paths (a file, or every *.json in a directory, sorted) and load them as
 * finished deltas. Returned arrays are malloc'ed and owned by the caller.
 */
#ifndef CANTOR_CODEC_CLI_H
#define CANTOR_CODEC_CLI_H

#include <stddef.h>

#include "core/codec.h"
#include "core/delta.h"

struct cantor_cli_deltas {
    struct cantor_delta **d;
    char **name;
    size_t n, cap;
};

/* Append the deltas of every recorded file under path; files that do not parse are skipped (warned). */
int cantor_cli_load_deltas(const char *path, struct cantor_cli_deltas *out);
void cantor_cli_deltas_release(struct cantor_cli_deltas *ds);

#endif
