/* cmd_compare.c - `minihlt compare`: not built yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int mh_cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "minihlt compare: not available in this build yet\n");
    return 2;
}
