/* cli.h - shared helpers of the minihlt subcommands (sim/cli only). */
#ifndef MH_CLI_H
#define MH_CLI_H

#include <stdint.h>
#include <stdbool.h>

#include "core/mh_status.h"

/* One entry per subcommand: name, one-line summary, entry point.
 * Each entry point gets argv with argv[0] == the subcommand name and
 * returns the process exit code (0 ok, 1 failure, 2 usage error). */
typedef struct mh_cli_command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
} mh_cli_command;

int mh_cmd_gen(int argc, char **argv);
int mh_cmd_inspect(int argc, char **argv);
int mh_cmd_run(int argc, char **argv);
int mh_cmd_plugins(int argc, char **argv);
int mh_cmd_compare(int argc, char **argv);
int mh_cmd_serve(int argc, char **argv);
int mh_cmd_devices(int argc, char **argv);
int mh_cmd_study(int argc, char **argv);

/* Prints "minihlt: DETAIL" (or the status message if detail is empty) to
 * stderr and returns exit code 1. */
int mh_cli_fail(mh_status st, const char *detail);

/* Prints "minihlt CMD: MESSAGE\nTry 'minihlt CMD --help'." to stderr and
 * returns exit code 2. */
int mh_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Strict number parsing for options: the whole text must be a number in
 * [lo, hi]. Return false (and print a usage error) otherwise. */
bool mh_cli_parse_i64(const char *cmd, const char *opt, const char *text,
                      int64_t lo, int64_t hi, int64_t *out);
bool mh_cli_parse_double(const char *cmd, const char *opt, const char *text,
                         double lo, double hi, double *out);

#endif
