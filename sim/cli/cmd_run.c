/* cmd_run.c - `minihlt run CONFIG`: load the menu and the plugins, run the
 * event loop, print the timing report. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/mh_config.h"
#include "core/mh_sched.h"

#define MH__MAX_SETS 256

static void mh__run_usage(FILE *f)
{
    fprintf(f,
            "usage: minihlt run CONFIG [OPTIONS]\n"
            "\n"
            "Runs the trigger menu CONFIG (YAML, see configs/README.md) over an event\n"
            "sample and prints the timing report (modules, paths, groups, latency,\n"
            "throughput) on stdout.\n"
            "\n"
            "options:\n"
            "  --threads T        worker threads (default: menu, else number of cores)\n"
            "  --streams S        events in flight at once (default: menu, else cores)\n"
            "  --events N         process N events (-1: all; default: menu)\n"
            "  --skip N           skip the first N events\n"
            "  --loop K           replay the sample K times\n"
            "  --input FILE       the .mhe sample (overrides source.input)\n"
            "  --report FILE      also write the JSON report (sim/timing/README.md)\n"
            "  --set KEY=VALUE    change the menu before it is checked (repeatable),\n"
            "                     e.g. --set modules.hbheReco.plugin=hcal_facile\n"
            "  --quiet            no report table and no progress line\n"
            "  --help             this text\n"
            "\n"
            "Plugins are searched in $MINIHLT_PLUGIN_PATH (colon-separated directories)\n"
            "and then next to the program (BIN/../plugins); 'minihlt plugins' lists them.\n"
            "A progress line goes to stderr when it is a terminal.\n"
            "\n"
            "exit status: 0 the run completed (events failed under on_error: skip-event\n"
            "are counted in the report); 1 the run failed (an event failed under\n"
            "on_error: stop, the input is damaged, a report cannot be written);\n"
            "2 usage or start-up error (options, menu, plugins, module parameters,\n"
            "products, input file).\n");
}

/* Progress line on stderr (only when it is a terminal). */
typedef struct mh__progress {
    const mh_sched *s;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
} mh__progress;

static void mh__progress_print(const mh__progress *p)
{
    mh_timing_totals t;
    mh_timing_totals_get(mh_sched_timing(p->s), &t);
    uint64_t done = t.accepted + t.rejected + t.failed, total = mh_sched_total_events(p->s);
    double rate = t.throughput_hz;
    fprintf(stderr, "\r%llu/%llu events  %.1f ev/s", (unsigned long long)done,
            (unsigned long long)total, rate);
    if (rate > 0 && total >= done)
        fprintf(stderr, "  ETA %.0f s   ", (double)(total - done) / rate);
    fflush(stderr);
}

static void *mh__progress_main(void *arg)
{
    mh__progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        if (!p->stop)
            mh__progress_print(p);
    }
    pthread_mutex_unlock(&p->lock);
    fprintf(stderr, "\r%60s\r", "");
    return NULL;
}

/* Appends "KEY=VALUE" built from an option to the overrides. */
static bool mh__add_set(const char **sets, char **owned, size_t *n, const char *key,
                        const char *value, bool quote)
{
    if (*n >= MH__MAX_SETS)
        return false;
    size_t len = strlen(key) + 2 * strlen(value) + 8;
    char *s = malloc(len);
    if (!s)
        return false;
    size_t off = (size_t)snprintf(s, len, "%s=", key);
    if (quote) {
        /* A YAML single-quoted scalar: only ' needs escaping (doubled). */
        s[off++] = '\'';
        for (const char *c = value; *c; c++) {
            if (*c == '\'')
                s[off++] = '\'';
            s[off++] = *c;
        }
        s[off++] = '\'';
        s[off] = '\0';
    } else {
        snprintf(s + off, len - off, "%s", value);
    }
    owned[*n] = s;
    sets[(*n)++] = s;
    return true;
}

int mh_cmd_run(int argc, char **argv)
{
    const char *config = NULL, *report = NULL;
    const char *sets[MH__MAX_SETS];
    char *owned[MH__MAX_SETS] = {0};
    size_t nsets = 0;
    bool quiet = false;
    int rc = 2;
    char err[1024] = "";
    mh_menu *menu = NULL;
    mh_plugins *pl = NULL;
    mh_sched *s = NULL;
    /* Options become overrides applied after the --set ones, so they win
     * and the report's configuration shows what ran. */
    const char *opt_keys[] = {"--threads", "process.threads", "--streams", "process.streams",
                              "--events", "source.events", "--skip", "source.skip",
                              "--loop", "source.loop", NULL};
    const char *opt_vals[5] = {0};
    const char *input = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            mh__run_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = true;
            continue;
        }
        int k = 0;
        while (opt_keys[k] && strcmp(a, opt_keys[k]))
            k += 2;
        bool known = opt_keys[k] || !strcmp(a, "--input") || !strcmp(a, "--report") ||
                     !strcmp(a, "--set");
        if (a[0] == '-' && a[1] && !known)
            return mh_cli_usage_error("run", "unknown option '%s'", a);
        if (!known) {
            if (config)
                return mh_cli_usage_error("run", "one CONFIG only (got '%s' and '%s')", config, a);
            config = a;
            continue;
        }
        if (i + 1 >= argc)
            return mh_cli_usage_error("run", "%s needs a value", a);
        const char *v = argv[++i];
        if (opt_keys[k]) {
            int64_t x;
            int64_t lo = !strcmp(a, "--events") ? -1 : !strcmp(a, "--skip") ? 0 : 1;
            int64_t hi = !strcmp(a, "--loop") ? 1000000 : !strcmp(a, "--threads") ||
                                                                  !strcmp(a, "--streams")
                                                              ? 1024
                                                              : INT64_MAX;
            if (!mh_cli_parse_i64("run", a, v, lo, hi, &x))
                return 2;
            opt_vals[k / 2] = v;
        } else if (!strcmp(a, "--input")) {
            input = v;
        } else if (!strcmp(a, "--report")) {
            report = v;
        } else {
            if (!strchr(v, '='))
                return mh_cli_usage_error("run", "--set needs KEY=VALUE, got '%s'", v);
            if (nsets >= MH__MAX_SETS)
                return mh_cli_usage_error("run", "too many --set options");
            sets[nsets++] = v;
        }
    }
    if (!config)
        return mh_cli_usage_error("run", "missing CONFIG (a menu YAML file)");
    for (int k = 0; k < 5; k++)
        if (opt_vals[k] && !mh__add_set(sets, owned, &nsets, opt_keys[2 * k + 1], opt_vals[k], false))
            goto nomem;
    if (input && !mh__add_set(sets, owned, &nsets, "source.input", input, true))
        goto nomem;

    mh_status st = mh_menu_load(config, sets, nsets, &menu, err, sizeof err);
    if (st != MH_OK) {
        mh_cli_fail(st, err);
        goto out;
    }
    if ((st = mh_plugins_load_default(&pl, err, sizeof err)) != MH_OK ||
        (st = mh_sched_create(menu, pl, &s, err, sizeof err)) != MH_OK) {
        mh_cli_fail(st, err);
        goto out;
    }
    rc = 1;
    mh__progress prog = {.s = s};
    bool show = !quiet && isatty(STDERR_FILENO);
    if (show) {
        pthread_mutex_init(&prog.lock, NULL);
        pthread_cond_init(&prog.cond, NULL);
        if (pthread_create(&prog.thread, NULL, mh__progress_main, &prog))
            show = false;
    }
    mh_status run_st = mh_sched_run(s, err, sizeof err);
    if (show) {
        pthread_mutex_lock(&prog.lock);
        prog.stop = true;
        pthread_cond_signal(&prog.cond);
        pthread_mutex_unlock(&prog.lock);
        pthread_join(prog.thread, NULL);
    }
    if (!quiet) {
        mh_timing_report_text(mh_sched_timing(s), stdout);
        mh_sched_report_text(s, stdout);
        fflush(stdout);
    }
    char rerr[1024] = "";
    mh_status rep_st = report ? mh_sched_report_json(s, report, rerr, sizeof rerr) : MH_OK;
    if (run_st != MH_OK)
        mh_cli_fail(run_st, err);
    if (rep_st != MH_OK)
        mh_cli_fail(rep_st, rerr);
    rc = run_st == MH_OK && rep_st == MH_OK ? 0 : 1;
    goto out;
nomem:
    fprintf(stderr, "minihlt: out of memory\n");
    rc = 1;
out:
    mh_sched_free(s);
    mh_plugins_free(pl);
    mh_menu_free(menu);
    for (size_t i = 0; i < MH__MAX_SETS; i++)
        free(owned[i]);
    return rc;
}
