/* cmd_gen.c - `minihlt gen`: generate a CMS-like HBHE event sample, or write
 * the reproducible conditions file (--conditions-out).
 *
 * Exit status: 0 on success, 1 on failure (one line on stderr), 2 on a
 * usage error. The summary (events/s, size, occupancy, pileup, out-of-time
 * share) goes to stdout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gen/mh_gen.h"

static void mh__gen_usage(FILE *f)
{
    mh_gen_config def;
    mh_gen_config_default(&def);
    fprintf(f,
            "usage: minihlt gen -n N -o FILE [--pileup MU] [--process P] [--seed S]\n"
            "                   [--threads T] [--conditions FILE] [--zs FC]\n"
            "                   [--events-per-cluster E]\n"
            "       minihlt gen --conditions-out FILE\n"
            "\n"
            "Generates CMS Run 3-like HCAL barrel/endcap (HBHE) events into an .mhe file:\n"
            "a hard scatter plus Poisson(MU) pileup interactions in each crossing -4..+4,\n"
            "SiPM pulses with photo-statistics, pedestal and noise, QIE11 codes for 10 time\n"
            "samples, zero suppression; the truth (per-channel energies, generator jets,\n"
            "MET) is stored apart. The same options and seed give the same events for any\n"
            "number of threads.\n"
            "\n"
            "options:\n"
            "  -n, --events N         number of events (required)\n"
            "  -o, --output FILE      output .mhe file (written to a temporary name, renamed)\n"
            "  --pileup MU            mean interactions per crossing (default 0; Run 3: 60)\n"
            "  --process P            minbias | qcd | ttbar | singlepion (default minbias)\n"
            "  --seed S               random seed (default 1)\n"
            "  --threads T            worker threads (default: the number of CPUs)\n"
            "  --events-per-cluster E events per compressed cluster, 1..%u (default 64):\n"
            "                         the unit of random access and of damage; the events\n"
            "                         themselves do not depend on it\n"
            "  --conditions FILE      conditions file (default: the built-in %s,\n"
            "                         identical to data/conditions/%s.txt)\n"
            "  --zs FC                zero-suppression threshold on the largest pedestal-\n"
            "                         subtracted two-sample charge sum (default %g fC; 0 = off)\n"
            "  --conditions-out FILE  write the conditions (tag %s, fixed seed) and exit\n"
            "  -h, --help             show this help\n",
            MH_GEN_MAX_EVENTS_PER_CLUSTER, MH_GEN_CONDITIONS_TAG, MH_GEN_CONDITIONS_TAG,
            (double)def.zs_threshold_fc,
            MH_GEN_CONDITIONS_TAG);
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

static void mh__gen_report(const char *path, const mh_gen_config *cfg, const char *tag,
                           unsigned threads, const mh_gen_summary *s)
{
    double n = (double)s->events;
    printf("wrote %s: %" PRIu64 " events (process %s, pileup %g, seed %" PRIu64
           ", conditions %s)\n",
           path, s->events, mh_gen_process_name(cfg->process), cfg->pileup, cfg->seed, tag);
    printf("time        %.2f s with %u thread%s: %.1f events/s\n", s->seconds, threads,
           threads == 1 ? "" : "s", s->seconds > 0 ? n / s->seconds : 0.0);
    printf("size        %.2f MB, %.1f KB/event\n", (double)s->file_bytes / 1e6,
           (double)s->file_bytes / 1e3 / n);
    double hb = (double)s->sum.ndigis_hb / n, he = (double)s->digis / n - hb;
    printf("occupancy   digis/event mean %.1f (%.1f%% of %u channels; HB %.1f%%, HE %.1f%%), "
           "min %" PRIu64 ", max %" PRIu64 "; channels with any true energy %.1f\n",
           (double)s->digis / n, 100.0 * (double)s->digis / n / MH_HCAL_NCHANNELS,
           MH_HCAL_NCHANNELS, 100.0 * hb / MH_HCAL_NCHANNELS_HB,
           100.0 * he / MH_HCAL_NCHANNELS_HE, s->digis_min, s->digis_max,
           (double)s->sum.nsignal / n);
    printf("pileup      in-time interactions/event mean %.2f (mu %g)\n",
           (double)s->intime_pileup / n, cfg->pileup);
    printf("energy      per event (truth, all channels): hard scatter %.1f GeV, in-time %.1f "
           "GeV, out-of-time inside the 10 samples %.1f GeV\n",
           s->sum.e_hard / n, s->sum.e_intime / n, s->sum.e_oot / n);
    double soi = s->sum.soi_intime_fc + s->sum.soi_oot_fc;
    double win = s->sum.e_intime + s->sum.e_oot;
    printf("OOT share   %.1f%% of the SOI-sample signal charge, %.1f%% of the true energy in "
           "the window\n",
           soi > 0 ? 100.0 * s->sum.soi_oot_fc / soi : 0.0,
           win > 0 ? 100.0 * s->sum.e_oot / win : 0.0);
}

/* Matches "--name VALUE" and "--name=VALUE"; returns the value (advancing
 * *i) or NULL with *missing set when the value is absent. */
static const char *mh__opt(const char *name, int argc, char **argv, int *i, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int mh_cmd_gen(int argc, char **argv)
{
    const char *cond_out = NULL, *cond_in = NULL, *out = NULL, *v;
    int64_t nevents = -1, threads = 0, epc = 0;
    mh_gen_config cfg;
    mh_gen_config_default(&cfg);
    char err[1024] = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int missing = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            mh__gen_usage(stdout);
            return 0;
        } else if ((v = mh__opt("-n", argc, argv, &i, &missing)) ||
                   (v = mh__opt("--events", argc, argv, &i, &missing))) {
            if (!mh_cli_parse_i64("gen", "-n", v, 1, INT64_C(1) << 32, &nevents))
                return 2;
        } else if ((v = mh__opt("-o", argc, argv, &i, &missing)) ||
                   (v = mh__opt("--output", argc, argv, &i, &missing))) {
            out = v;
        } else if ((v = mh__opt("--pileup", argc, argv, &i, &missing))) {
            if (!mh_cli_parse_double("gen", "--pileup", v, 0, 1000, &cfg.pileup))
                return 2;
        } else if ((v = mh__opt("--process", argc, argv, &i, &missing))) {
            if (mh_gen_process_parse(v, &cfg.process, err, sizeof err) != MH_OK)
                return mh_cli_usage_error("gen", "--process: %s", err);
        } else if ((v = mh__opt("--seed", argc, argv, &i, &missing))) {
            int64_t s;
            if (!mh_cli_parse_i64("gen", "--seed", v, 0, INT64_MAX, &s))
                return 2;
            cfg.seed = (uint64_t)s;
        } else if ((v = mh__opt("--events-per-cluster", argc, argv, &i, &missing))) {
            if (!mh_cli_parse_i64("gen", "--events-per-cluster", v, 1,
                                  MH_GEN_MAX_EVENTS_PER_CLUSTER, &epc))
                return 2;
        } else if ((v = mh__opt("--threads", argc, argv, &i, &missing))) {
            if (!mh_cli_parse_i64("gen", "--threads", v, 1, 256, &threads))
                return 2;
        } else if ((v = mh__opt("--zs", argc, argv, &i, &missing))) {
            double zs;
            if (!mh_cli_parse_double("gen", "--zs", v, 0, 1e5, &zs))
                return 2;
            cfg.zs_threshold_fc = (float)zs;
        } else if ((v = mh__opt("--conditions-out", argc, argv, &i, &missing))) {
            cond_out = v;
        } else if ((v = mh__opt("--conditions", argc, argv, &i, &missing))) {
            cond_in = v;
        } else if (missing) {
            return mh_cli_usage_error("gen", "%s needs a value", a);
        } else if (a[0] == '-') {
            return mh_cli_usage_error("gen", "unknown option '%s'", a);
        } else {
            return mh_cli_usage_error("gen", "unexpected argument '%s'", a);
        }
        if (missing)
            return mh_cli_usage_error("gen", "%s needs a value", a);
    }
    if (cond_out) {
        if (out || nevents >= 0)
            return mh_cli_usage_error("gen", "--conditions-out writes only the conditions: "
                                             "drop -n and -o");
        return mh__gen_conditions_out(cond_out);
    }
    if (nevents < 0)
        return mh_cli_usage_error("gen", "missing -n N (number of events)");
    if (!out)
        return mh_cli_usage_error("gen", "missing -o FILE (output)");
    if (threads == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        threads = ncpu < 1 ? 1 : ncpu > 64 ? 64 : ncpu;
    }

    mh_hcal_conditions *cond = NULL;
    mh_status st = cond_in ? mh_hcal_conditions_load(cond_in, &cond, err, sizeof err)
                           : mh_gen_conditions(MH_GEN_CONDITIONS_SEED, MH_GEN_CONDITIONS_TAG,
                                               &cond, err, sizeof err);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    mh_gen *g = NULL;
    st = mh_gen_create(&cfg, cond, &g, err, sizeof err);
    if (st != MH_OK) {
        mh_hcal_conditions_free(cond);
        return mh_cli_fail(st, err);
    }
    mh_gen_summary sum;
    st = mh_gen_write_file(g, (uint64_t)nevents, (unsigned)threads, (uint32_t)epc, out, NULL,
                           &sum, err, sizeof err);
    if (st == MH_OK)
        mh__gen_report(out, &cfg, cond->tag, (unsigned)threads, &sum);
    mh_gen_free(g);
    mh_hcal_conditions_free(cond);
    return st == MH_OK ? 0 : mh_cli_fail(st, err);
}
