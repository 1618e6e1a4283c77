/* cmd_delta.c - placeholder until the delta subcommand lands (owned by its module's author). */
#include <stdio.h>

#include "cli.h"

int cantor_cmd_delta(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cantor delta: not implemented yet\n");
    return CANTOR_EXIT_USAGE;
}
