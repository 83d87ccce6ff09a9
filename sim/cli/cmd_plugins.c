/* cmd_plugins.c - `minihlt plugins`: not built yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int mh_cmd_plugins(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "minihlt plugins: not available in this build yet\n");
    return 2;
}
