/* cantord.c - the daemon's entry point (placeholder until the daemon lands). */
#include <stdio.h>
#include <string.h>

#include "cantor_config.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("cantord %s\n", CANTOR_VERSION);
        return 0;
    }
    fprintf(stderr, "cantord: not implemented yet\n");
    return 2;
}
