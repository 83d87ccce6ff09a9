/* cmd_inspect.c - `minihlt inspect`: not built yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int mh_cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "minihlt inspect: not available in this build yet\n");
    return 2;
}
