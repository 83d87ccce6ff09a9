/* cmd_gen.c - `minihlt gen`: generate a CMS-like HBHE event sample, or write
 * the reproducible conditions file (--conditions-out). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "gen/mh_gen.h"

static void mh__gen_usage(FILE *f)
{
    fprintf(f,
            "usage: minihlt gen -n N [--pileup MU] [--process P] [--seed S] [--threads T]\n"
            "                   [--conditions FILE] -o FILE\n"
            "       minihlt gen --conditions-out FILE\n"
            "\n"
            "Generates CMS Run 3-like HCAL barrel/endcap (HBHE) events into an .mhe file,\n"
            "or writes the reproducible conditions file %s.txt.\n"
            "\n"
            "options:\n"
            "  --conditions-out FILE  write the conditions (tag %s, fixed seed) and exit\n"
            "  -h, --help             show this help\n",
            MH_GEN_CONDITIONS_TAG, MH_GEN_CONDITIONS_TAG);
}

static int mh__gen_conditions_out(const char *path)
{
    char err[1024] = "";
    mh_hcal_conditions *c = NULL;
    mh_status st = mh_gen_conditions(MH_GEN_CONDITIONS_SEED, MH_GEN_CONDITIONS_TAG, &c, err,
                                     sizeof err);
    if (st == MH_OK)
        st = mh_hcal_conditions_write(c, path, err, sizeof err);
    mh_hcal_conditions_free(c);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    printf("wrote %s: tag %s, %u channels\n", path, MH_GEN_CONDITIONS_TAG, MH_HCAL_NCHANNELS);
    return 0;
}

int mh_cmd_gen(int argc, char **argv)
{
    const char *cond_out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            mh__gen_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--conditions-out")) {
            if (i + 1 >= argc)
                return mh_cli_usage_error("gen", "--conditions-out needs a FILE");
            cond_out = argv[++i];
        } else {
            return mh_cli_usage_error("gen", "unknown option '%s'", a);
        }
    }
    if (cond_out)
        return mh__gen_conditions_out(cond_out);
    return mh_cli_usage_error("gen", "event generation is not in this build yet");
}
