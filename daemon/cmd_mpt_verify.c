/* cmd_mpt_verify.c - placeholder until the mpt-verify subcommand lands (owned by its module's author). */
#include <stdio.h>

#include "cli.h"

int cantor_cmd_mpt_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cantor mpt-verify: not implemented yet\n");
    return CANTOR_EXIT_USAGE;
}
