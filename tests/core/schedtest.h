/* schedtest.h - helpers of the scheduler tests (header only, static): a
 * sample file written with the sim/io writer, a menu from YAML text, and a
 * run whose JSON report is read back with jansson. */
#ifndef MH_TEST_SCHEDTEST_H
#define MH_TEST_SCHEDTEST_H

#include <check.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/mh_config.h"
#include "core/mh_sched.h"
#include "io/mh_evfile.h"

#if defined(__SANITIZE_THREAD__)
/* Longer access history, so that reports show both stacks. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "history_size=7";
}
#endif

static char schedT_dir[1024];
static char schedT_build[1024];

/* The build directory: the test runs as BUILD/tests/core/test_x. */
static void schedT_init(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    char *d = dirname(dirname(dirname(exe)));
    snprintf(schedT_build, sizeof schedT_build, "%s", d);
    snprintf(schedT_dir, sizeof schedT_dir, "/tmp/mh_sched_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(schedT_dir));
}

static void schedT_cleanup(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", schedT_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes n small events numbered 1000000 + i to DIR/name; returns the path
 * in a static buffer. */
static const char *schedT_sample(const char *name, unsigned n)
{
    static char path[PATH_MAX];
    char err[512] = "";
    snprintf(path, sizeof path, "%s/%s", schedT_dir, name);
    mh_evwriter *w = NULL;
    mh_evwriter_opts o = {8, 1};
    ck_assert_msg(mh_evwriter_open(path, NULL, &o, &w, err, sizeof err) == MH_OK, "%s", err);
    mh_rawevent *ev = mh_rawevent_create();
    for (unsigned i = 0; i < n; i++) {
        uint32_t nd = i % 7;
        ck_assert_int_eq(mh_rawevent_reserve(ev, nd, 0), MH_OK);
        mh_rawevent_clear(ev);
        ev->run = 1;
        ev->lumi = 1;
        ev->event = 1000000 + i;
        ev->bx = 1;
        ev->pileup_true = 50.0f;
        ev->ndigis = nd;
        for (uint32_t d = 0; d < nd; d++) {
            ev->channel[d] = d;
            for (int k = 0; k < MH_NSAMPLES; k++) {
                ev->adc[d * MH_NSAMPLES + k] = (uint8_t)(k + d);
                ev->capid[d * MH_NSAMPLES + k] = (uint8_t)(k & 3);
                ev->soi[d * MH_NSAMPLES + k] = k == MH_SOI;
            }
            ev->true_e_hard[d] = ev->true_e_intime[d] = ev->true_e_oot[d] = 0;
        }
        ck_assert_msg(mh_evwriter_write(w, ev, err, sizeof err) == MH_OK, "%s", err);
    }
    mh_rawevent_free(ev);
    ck_assert_msg(mh_evwriter_close(w, err, sizeof err) == MH_OK, "%s", err);
    return path;
}

typedef struct schedT_run {
    mh_status create_st, run_st;
    char err[1024];
    json_t *report; /* NULL unless the run happened */
    double wall_s;
} schedT_run;

/* Writes yaml to a menu file, loads plugins from BUILD/plugins and
 * BUILD/tests/plugins, creates and runs the scheduler, reads the report. */
static void schedT_go(schedT_run *r, const char *yaml, const char *const *sets, size_t nsets)
{
    memset(r, 0, sizeof *r);
    char menu_path[PATH_MAX], rep[PATH_MAX], d1[PATH_MAX], d2[PATH_MAX];
    snprintf(menu_path, sizeof menu_path, "%s/menu.yaml", schedT_dir);
    snprintf(rep, sizeof rep, "%s/report.json", schedT_dir);
    snprintf(d1, sizeof d1, "%s/plugins", schedT_build);
    snprintf(d2, sizeof d2, "%s/tests/plugins", schedT_build);
    FILE *f = fopen(menu_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(yaml, f);
    fclose(f);
    mh_menu *menu = NULL;
    mh_status st = mh_menu_load(menu_path, sets, nsets, &menu, r->err, sizeof r->err);
    ck_assert_msg(st == MH_OK, "menu: %s", r->err);
    const char *dirs[] = {d1, d2};
    mh_plugins *pl = NULL;
    ck_assert_int_eq(mh_plugins_load(dirs, 2, &pl, r->err, sizeof r->err), MH_OK);
    mh_sched *s = NULL;
    r->create_st = mh_sched_create(menu, pl, &s, r->err, sizeof r->err);
    if (r->create_st == MH_OK) {
        r->run_st = mh_sched_run(s, r->err, sizeof r->err);
        char e2[512] = "";
        ck_assert_msg(mh_sched_report_json(s, rep, e2, sizeof e2) == MH_OK, "%s", e2);
        json_error_t je;
        r->report = json_load_file(rep, 0, &je);
        ck_assert_ptr_nonnull(r->report);
        mh_timing_totals t;
        mh_timing_totals_get(mh_sched_timing(s), &t);
        r->wall_s = t.wall_s;
    }
    mh_sched_free(s);
    mh_plugins_free(pl);
    mh_menu_free(menu);
}

static void schedT_free(schedT_run *r)
{
    json_decref(r->report);
    r->report = NULL;
}

static json_int_t schedT_events(const schedT_run *r, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(r->report, "events"), key));
}

/* The entry of modules[] (key "label") or paths[] (key "name"). */
static json_t *schedT_entry(const schedT_run *r, const char *array, const char *key,
                            const char *name)
{
    json_t *a = json_object_get(r->report, array);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!strcmp(json_string_value(json_object_get(v, key)), name))
            return v;
    }
    ck_abort_msg("no %s entry '%s' in the report", array, name);
    return NULL;
}

static json_int_t schedT_calls(const schedT_run *r, const char *label)
{
    return json_integer_value(json_object_get(schedT_entry(r, "modules", "label", label), "calls"));
}

static json_int_t schedT_counter(const schedT_run *r, const char *label, const char *counter)
{
    json_t *c = json_object_get(schedT_entry(r, "modules", "label", label), "counters");
    return json_integer_value(json_object_get(c, counter));
}

static json_int_t schedT_path_accepted(const schedT_run *r, const char *name)
{
    return json_integer_value(json_object_get(schedT_entry(r, "paths", "name", name), "accepted"));
}

/* The totals add up: read = processed + failed, processed = acc + rej. */
static void schedT_totals(const schedT_run *r, json_int_t read)
{
    json_int_t acc = schedT_events(r, "accepted"), rej = schedT_events(r, "rejected");
    json_int_t fail = schedT_events(r, "failed"), proc = schedT_events(r, "processed");
    ck_assert_int_eq(schedT_events(r, "read"), read);
    ck_assert_int_eq(proc, acc + rej);
    ck_assert_int_eq(read, proc + fail);
    /* every path counts every processed event once: ran (accepted or
     * rejected) or prescaled away */
    json_t *paths = json_object_get(r->report, "paths");
    ck_assert_uint_gt(json_array_size(paths), 0);
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p)
    {
        json_int_t n = json_integer_value(json_object_get(p, "accepted")) +
                       json_integer_value(json_object_get(p, "rejected")) +
                       json_integer_value(json_object_get(p, "prescaled"));
        ck_assert_msg(n == proc, "path '%s': accepted + rejected + prescaled = %lld, processed %lld",
                      json_string_value(json_object_get(p, "name")), (long long)n, (long long)proc);
    }
}

#endif
