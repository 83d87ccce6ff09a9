/* main.c - the minihlt program: one binary, subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const mh_cli_command mh__commands[] = {
    {"run", "run a trigger menu over an event sample and report timing", mh_cmd_run},
    {"gen", "generate a CMS-like HCAL event sample (.mhe)", mh_cmd_gen},
    {"inspect", "show and verify the contents of an event file", mh_cmd_inspect},
    {"plugins", "list plugins, module types and their parameters", mh_cmd_plugins},
    {"compare", "compare two timing reports (JSON)", mh_cmd_compare},
    {"serve", "serve models over the KServe v2 / Triton protocol", mh_cmd_serve},
    {"devices", "list OpenCL platforms and devices", mh_cmd_devices},
    {"study", "HCAL offload savings study: one run per variant, summary and plots", mh_cmd_study},
    {NULL, NULL, NULL},
};

static void mh__usage(FILE *f)
{
    fprintf(f,
            "usage: minihlt COMMAND [OPTIONS]\n"
            "\n"
            "A mini High-Level-Trigger simulator: replays CMS-like events through a\n"
            "trigger menu and measures what HCAL reconstruction costs and what\n"
            "offloading it saves.\n"
            "\n"
            "commands:\n");
    for (const mh_cli_command *c = mh__commands; c->name; c++)
        fprintf(f, "  %-9s %s\n", c->name, c->summary);
    fprintf(f, "\n'minihlt COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        mh__usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        mh__usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("minihlt 0.1.0\n");
        return 0;
    }
    for (const mh_cli_command *c = mh__commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->main(argc - 1, argv + 1);
    fprintf(stderr, "minihlt: unknown command '%s'\nTry 'minihlt --help'.\n", argv[1]);
    return 2;
}
