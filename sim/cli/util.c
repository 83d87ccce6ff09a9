/* util.c - error printing and strict option parsing for subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

int mh_cli_fail(mh_status st, const char *detail)
{
    if (detail && detail[0])
        fprintf(stderr, "minihlt: %s\n", detail);
    else
        fprintf(stderr, "minihlt: %s\n", mh_strerror(st));
    return 1;
}

int mh_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "minihlt %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'minihlt %s --help'.\n", cmd);
    return 2;
}

bool mh_cli_parse_i64(const char *cmd, const char *opt, const char *text,
                      int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = text ? strtoll(text, &end, 10) : 0;
    if (!text || !*text || *end || errno || v < lo || v > hi) {
        mh_cli_usage_error(cmd, "%s: expected an integer in [%lld, %lld], got '%s'", opt,
                           (long long)lo, (long long)hi, text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

bool mh_cli_parse_double(const char *cmd, const char *opt, const char *text,
                         double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = text ? strtod(text, &end) : 0;
    if (!text || !*text || *end || errno || !isfinite(v) || v < lo || v > hi) {
        mh_cli_usage_error(cmd, "%s: expected a number in [%g, %g], got '%s'", opt, lo, hi,
                           text ? text : "");
        return false;
    }
    *out = v;
    return true;
}
