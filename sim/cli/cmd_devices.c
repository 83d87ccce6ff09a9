/* cmd_devices.c - `minihlt devices`: not built yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int mh_cmd_devices(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "minihlt devices: not available in this build yet\n");
    return 2;
}
