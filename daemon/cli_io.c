/*
 * cli_io.c - file input shared by the `cantor` subcommands: one reader, one way of saying why a file
 * could not be read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"

int cantor_cli_read_file(const char *cmd, const char *path, struct cantor_buf *b)
{
    enum cantor_err err = cantor_buf_read_file(b, path);

    if (err == CANTOR_ERR_IO)
        fprintf(stderr, "cantor %s: cannot read %s: %s\n", cmd, path, strerror(errno));
    else if (err == CANTOR_ERR_TOO_LARGE)
        fprintf(stderr, "cantor %s: %s: larger than %zu bytes\n", cmd, path, b->max);
    else if (err)
        fprintf(stderr, "cantor %s: %s: %s\n", cmd, path, cantor_err_str(err));
    return err ? -1 : 0;
}
