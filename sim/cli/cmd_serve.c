/* cmd_serve.c - `minihlt serve`: not built yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int mh_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "minihlt serve: not available in this build yet\n");
    return 2;
}
