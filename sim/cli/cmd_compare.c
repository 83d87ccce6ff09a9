/* cmd_compare.c - `minihlt compare BASE.json NEW.json [--json OUT]`: what
 * changed between two runs' timing reports (sim/timing/mh_compare.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "timing/mh_compare.h"

static void mh__compare_usage(FILE *f)
{
    fprintf(f,
            "usage: minihlt compare BASE.json NEW.json [--json OUT]\n"
            "\n"
            "Compares two timing reports written by 'minihlt run --report FILE.json':\n"
            "per module, path and group the change in time per event (ms and %%),\n"
            "modules present in only one run, path accept-rate changes and the\n"
            "throughput change. The last line is the headline\n"
            "  HLT time per event -X.X%%, throughput +Y.Y%%\n"
            "where HLT time per event is the summed module CPU time per event read\n"
            "(total_cpu_ms_per_event); the real time is shown too.\n"
            "\n"
            "options:\n"
            "  --json OUT   also write the comparison as JSON to OUT\n"
            "  -h, --help   show this help\n"
            "\n"
            "Exit status: 0 ok, 1 a report cannot be read or is not a minihlt report,\n"
            "2 usage error.\n");
}

int mh_cmd_compare(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL};
    const char *json_out = NULL;
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            mh__compare_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            if (i + 1 >= argc)
                return mh_cli_usage_error("compare", "--json needs a file name");
            json_out = argv[++i];
        } else if (!strncmp(a, "--json=", 7)) {
            json_out = a + 7;
        } else if (a[0] == '-' && a[1] != '\0') {
            return mh_cli_usage_error("compare", "unknown option '%s'", a);
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            return mh_cli_usage_error("compare", "too many arguments ('%s')", a);
        }
    }
    if (nfiles != 2)
        return mh_cli_usage_error("compare", "expected two reports: BASE.json NEW.json");
    if (json_out && !json_out[0])
        return mh_cli_usage_error("compare", "--json needs a file name");

    char err[1024] = "";
    mh_report *base = NULL, *cur = NULL;
    int rc = 1;
    mh_status st = mh_report_load(files[0], &base, err, sizeof err);
    if (st == MH_OK)
        st = mh_report_load(files[1], &cur, err, sizeof err);
    if (st != MH_OK) {
        mh_cli_fail(st, err);
        goto out;
    }
    mh_compare_print(base, cur, stdout);
    if (json_out) {
        st = mh_compare_write_json(base, cur, json_out, err, sizeof err);
        if (st != MH_OK) {
            mh_cli_fail(st, err);
            goto out;
        }
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    mh_report_free(cur);
    mh_report_free(base);
    return rc;
}
