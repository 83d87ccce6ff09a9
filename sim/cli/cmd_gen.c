/* cmd_gen.c - `minihlt gen`: not built yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int mh_cmd_gen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "minihlt gen: not available in this build yet\n");
    return 2;
}
