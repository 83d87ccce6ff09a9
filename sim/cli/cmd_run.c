/* cmd_run.c - `minihlt run`: not built yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int mh_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "minihlt run: not available in this build yet\n");
    return 2;
}
