/* test_timing.c - the timing service on a known synthetic sequence: every
 * derived number of the JSON report, the text table, percentiles, failure
 * reasons, counters. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timing/mh_timing.h"

#define MS 1000000ull /* ns */
#define TOL 1e-9

enum { UNPACK, HBHE, JETS, OUTMOD, MET, NMOD };
static const char *const labels[NMOD] = {"unpack", "hbheReco", "jets", "out", "met"};
static const char *const plugins[NMOD] = {"emulated", "mahi", "emulated", "output", "emulated"};
static const char *const paths[] = {"HLT_Jet", "HLT_MET", "outPath"};
static const size_t g_hcal[] = {HBHE};
static const size_t g_reco[] = {HBHE, JETS, HBHE}; /* duplicate counts once */
static const mh_timing_group groups[] = {{"hcal", g_hcal, 1}, {"reco", g_reco, 3}};

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mh_timing_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static mh_timing *make_timing(void)
{
    mh_timing_setup s = {labels, plugins, NMOD, paths, 3, 1, groups, 2, 4, 2};
    mh_timing *t = NULL;
    char err[256];
    ck_assert_int_eq(mh_timing_create(&s, &t, err, sizeof err), MH_OK);
    return t;
}

/* 4 events: 2 accepted, 1 rejected, 1 failed in hbheReco's external work.
 * Per event read (4): see the expected numbers in json_numbers. */
static mh_timing *synthetic(void)
{
    mh_timing *t = make_timing();
    mh_timing_begin_at(t, 1000 * MS, 500 * MS);
    for (int ev = 0; ev < 4; ev++) {
        mh_timing_module(t, UNPACK, 0, MH_PHASE_PRODUCE, 1 * MS, 800000);
        mh_timing_module(t, HBHE, 0, MH_PHASE_ACQUIRE, 200000, 100000);
        mh_timing_module(t, HBHE, 0, MH_PHASE_WAIT, 5 * MS, 0);
        if (ev == 3) {
            mh_timing_event(t, MH_EVENT_FAILED, 40 * MS, "hbheReco", "device lost");
            continue;
        }
        mh_timing_module(t, HBHE, 0, MH_PHASE_PRODUCE, 600000, 500000);
        mh_timing_module(t, JETS, 0, MH_PHASE_PRODUCE, 2 * MS, 2 * MS);
        mh_timing_module(t, MET, 1, MH_PHASE_PRODUCE, 3 * MS, 1 * MS);
        mh_timing_module(t, OUTMOD, 2, MH_PHASE_PRODUCE, 400000, 200000);
        mh_timing_path(t, 0, ev != 2);
        mh_timing_path(t, 1, ev == 0);
        mh_timing_path(t, 2, true);
        mh_timing_event(t, ev == 2 ? MH_EVENT_REJECTED : MH_EVENT_ACCEPTED, (uint64_t)(ev + 1) * 10 * MS,
                        NULL, NULL);
    }
    mh_timing_count(t, HBHE, "fallbacks", 2);
    mh_timing_count(t, HBHE, "fallbacks", 2);
    mh_timing_count(t, HBHE, "retries", 1);
    mh_timing_count(t, OUTMOD, "bytes", 1234);
    mh_timing_end_at(t, 3000 * MS, 4500 * MS); /* 2 s wall, 4 s process CPU */
    return t;
}

static json_t *write_and_load(mh_timing *t, const char *name, const char *cfg, const char *input)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    ck_assert_int_eq(mh_timing_report_json(t, path, cfg, input, err, sizeof err), MH_OK);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s", path, jerr.text);
    return root;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "key '%s' missing or not a number", key);
    return json_number_value(v);
}

static json_t *find_named(json_t *arr, const char *key, const char *name)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, key)), name))
            return o;
    }
    ck_abort_msg("'%s' not found", name);
    return NULL;
}

START_TEST(json_numbers)
{
    make_tmpdir();
    mh_timing *t = synthetic();
    json_t *r = write_and_load(t, "r.json", "process: {threads: 4}\n", "sample.mhe");

    ck_assert_int_eq((int)num(r, "schema_version"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(r, "tool")), "minihlt");
    ck_assert(json_is_string(json_object_get(r, "version")));
    ck_assert_str_eq(json_string_value(json_object_get(r, "config")), "process: {threads: 4}\n");
    ck_assert_str_eq(json_string_value(json_object_get(r, "input")), "sample.mhe");

    json_t *ev = json_object_get(r, "events");
    ck_assert_int_eq((int)num(ev, "read"), 4);
    ck_assert_int_eq((int)num(ev, "processed"), 3);
    ck_assert_int_eq((int)num(ev, "accepted"), 2);
    ck_assert_int_eq((int)num(ev, "rejected"), 1);
    ck_assert_int_eq((int)num(ev, "failed"), 1);
    json_t *fl = json_object_get(ev, "failures");
    ck_assert_uint_eq(json_array_size(fl), 1);
    json_t *f0 = json_array_get(fl, 0);
    ck_assert_str_eq(json_string_value(json_object_get(f0, "module")), "hbheReco");
    ck_assert_str_eq(json_string_value(json_object_get(f0, "reason")), "device lost");
    ck_assert_int_eq((int)num(f0, "count"), 1);

    ck_assert_double_eq_tol(num(r, "wall_s"), 2.0, TOL);
    ck_assert_double_eq_tol(num(r, "throughput_hz"), 2.0, TOL);        /* 4 read / 2 s */
    ck_assert_double_eq_tol(num(r, "cpu_utilisation"), 0.5, TOL);      /* 4 s / (2 s x 4) */
    ck_assert_int_eq((int)num(r, "threads"), 4);
    ck_assert_int_eq((int)num(r, "streams"), 2);

    json_t *lat = json_object_get(r, "latency_ms");
    ck_assert_double_eq_tol(num(lat, "p50"), 20, TOL);
    ck_assert_double_eq_tol(num(lat, "p90"), 40, TOL);
    ck_assert_double_eq_tol(num(lat, "p99"), 40, TOL);
    ck_assert_double_eq_tol(num(lat, "mean"), 25, TOL);
    ck_assert_double_eq_tol(num(lat, "max"), 40, TOL);

    /* label, calls, real, cpu, acq real, acq cpu, wait, prod real, prod cpu (ms/ev) */
    static const struct {
        const char *label;
        int calls;
        double real, cpu, ar, ac, w, pr, pc;
    } want[] = {
        {"unpack", 4, 1.0, 0.8, 0, 0, 0, 1.0, 0.8},
        {"hbheReco", 4, 0.65, 0.475, 0.2, 0.1, 5.0, 0.45, 0.375},
        {"jets", 3, 1.5, 1.5, 0, 0, 0, 1.5, 1.5},
        {"out", 3, 0.3, 0.15, 0, 0, 0, 0.3, 0.15},
        {"met", 3, 2.25, 0.75, 0, 0, 0, 2.25, 0.75},
    };
    json_t *mods = json_object_get(r, "modules");
    ck_assert_uint_eq(json_array_size(mods), NMOD);
    double sum_cpu = 0, sum_real = 0;
    for (size_t i = 0; i < NMOD; i++) {
        json_t *m = find_named(mods, "label", want[i].label);
        ck_assert_str_eq(json_string_value(json_object_get(m, "plugin")), plugins[i]);
        ck_assert_int_eq((int)num(m, "calls"), want[i].calls);
        ck_assert_double_eq_tol(num(m, "real_ms_per_event"), want[i].real, TOL);
        ck_assert_double_eq_tol(num(m, "cpu_ms_per_event"), want[i].cpu, TOL);
        ck_assert_double_eq_tol(num(m, "acquire_real_ms_per_event"), want[i].ar, TOL);
        ck_assert_double_eq_tol(num(m, "acquire_cpu_ms_per_event"), want[i].ac, TOL);
        ck_assert_double_eq_tol(num(m, "wait_ms_per_event"), want[i].w, TOL);
        ck_assert_double_eq_tol(num(m, "produce_real_ms_per_event"), want[i].pr, TOL);
        ck_assert_double_eq_tol(num(m, "produce_cpu_ms_per_event"), want[i].pc, TOL);
        ck_assert(json_is_object(json_object_get(m, "counters")));
        sum_cpu += want[i].cpu;
        sum_real += want[i].real;
    }
    json_t *hc = json_object_get(find_named(mods, "label", "hbheReco"), "counters");
    ck_assert_int_eq((int)num(hc, "fallbacks"), 4);
    ck_assert_int_eq((int)num(hc, "retries"), 1);
    ck_assert_int_eq((int)num(json_object_get(find_named(mods, "label", "out"), "counters"), "bytes"), 1234);
    ck_assert_uint_eq(json_object_size(json_object_get(find_named(mods, "label", "jets"), "counters")), 0);

    ck_assert_double_eq_tol(num(r, "total_cpu_ms_per_event"), 3.675, TOL);
    ck_assert_double_eq_tol(num(r, "total_cpu_ms_per_event"), sum_cpu, TOL);
    ck_assert_double_eq_tol(num(r, "total_real_ms_per_event"), sum_real, TOL);
    ck_assert_double_eq_tol(num(r, "total_wait_ms_per_event"), 5.0, TOL);

    json_t *ps = json_object_get(r, "paths");
    ck_assert_uint_eq(json_array_size(ps), 3);
    static const struct {
        const char *name;
        int end, acc, rej;
        double real, cpu;
    } wp[] = {
        {"HLT_Jet", 0, 2, 1, 3.15, 2.775}, /* unpack + hbheReco + jets on its behalf */
        {"HLT_MET", 0, 1, 2, 2.25, 0.75},
        {"outPath", 1, 3, 0, 0.3, 0.15},
    };
    double path_real = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *p = json_array_get(ps, i);
        ck_assert_str_eq(json_string_value(json_object_get(p, "name")), wp[i].name);
        ck_assert_int_eq(json_is_true(json_object_get(p, "end_path")), wp[i].end);
        ck_assert(json_is_boolean(json_object_get(p, "end_path")));
        ck_assert_int_eq((int)num(p, "accepted"), wp[i].acc);
        ck_assert_int_eq((int)num(p, "rejected"), wp[i].rej);
        ck_assert_double_eq_tol(num(p, "real_ms_per_event"), wp[i].real, TOL);
        ck_assert_double_eq_tol(num(p, "cpu_ms_per_event"), wp[i].cpu, TOL);
        path_real += wp[i].real;
    }
    ck_assert_double_eq_tol(path_real, sum_real, TOL); /* every module ran for some path */

    json_t *gs = json_object_get(r, "groups");
    ck_assert_uint_eq(json_array_size(gs), 2);
    json_t *g = find_named(gs, "name", "hcal");
    ck_assert_uint_eq(json_array_size(json_object_get(g, "modules")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(g, "modules"), 0)), "hbheReco");
    ck_assert_double_eq_tol(num(g, "cpu_ms_per_event"), 0.475, TOL);
    ck_assert_double_eq_tol(num(g, "real_ms_per_event"), 0.65, TOL);
    ck_assert_double_eq_tol(num(g, "cpu_fraction"), 0.475 / 3.675, TOL);
    ck_assert_double_eq_tol(num(g, "real_fraction"), 0.65 / 5.7, TOL);
    ck_assert_double_eq_tol(num(g, "latency_fraction"), 0.65 / 25, TOL); /* mean latency 25 ms */
    g = find_named(gs, "name", "reco");
    ck_assert_uint_eq(json_array_size(json_object_get(g, "modules")), 2);
    ck_assert_double_eq_tol(num(g, "cpu_ms_per_event"), 1.975, TOL);
    ck_assert_double_eq_tol(num(g, "cpu_fraction"), 1.975 / 3.675, TOL);
    ck_assert_double_eq_tol(num(g, "real_fraction"), 2.15 / 5.7, TOL);
    ck_assert_double_eq_tol(num(g, "latency_fraction"), 2.15 / 25, TOL);

    mh_timing_totals tot;
    mh_timing_totals_get(t, &tot);
    ck_assert_uint_eq(tot.accepted, 2);
    ck_assert_uint_eq(tot.rejected, 1);
    ck_assert_uint_eq(tot.failed, 1);
    ck_assert_double_eq_tol(tot.wall_s, 2.0, TOL);
    ck_assert_double_eq_tol(tot.throughput_hz, 2.0, TOL);

    json_decref(r);
    mh_timing_free(t);
    remove_tmpdir();
}
END_TEST

static char *text_report(const mh_timing *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    mh_timing_report_text(t, f);
    fclose(f);
    return buf;
}

/* The line of text that contains needle. */
static char *line_with(char *text, const char *needle, char *line, size_t len)
{
    char *p = strstr(text, needle);
    ck_assert_msg(p != NULL, "'%s' not in report:\n%s", needle, text);
    char *b = p;
    while (b > text && b[-1] != '\n')
        b--;
    char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - b) : strlen(b);
    if (n >= len)
        n = len - 1;
    memcpy(line, b, n);
    line[n] = '\0';
    return line;
}

START_TEST(text_table)
{
    mh_timing *t = synthetic();
    char *txt = text_report(t);
    char line[512];
    ck_assert_ptr_nonnull(strstr(txt, "read 4, processed 3 (accepted 2, rejected 1), failed 1"));
    ck_assert_ptr_nonnull(strstr(txt, "throughput 2.00 ev/s"));
    ck_assert_ptr_nonnull(strstr(txt, "CPU utilisation 50.0% (4 threads, 2 streams)"));
    /* hcal: 0.475 ms CPU/ev = 12.93% of 3.675; real 0.65 of 5.7 = 11.40%; of the
     * 25 ms mean latency 2.60% */
    ck_assert_ptr_nonnull(strstr(txt, "% latency"));
    line_with(txt, "  hcal ", line, sizeof line);
    ck_assert_msg(strstr(line, "0.475") && strstr(line, "12.93") && strstr(line, "11.40") &&
                      strstr(line, "2.60"),
                  "%s", line);
    /* modules sorted by CPU time per event: jets 1.5, unpack 0.8, met 0.75, hbheReco, out */
    const char *order[] = {"  jets ", "  unpack ", "  met ", "  hbheReco ", "  out "};
    char *prev = strstr(txt, "Modules");
    ck_assert_ptr_nonnull(prev);
    for (size_t i = 0; i < 5; i++) {
        char *p = strstr(prev, order[i]);
        ck_assert_msg(p != NULL, "module row %s missing or out of order", order[i]);
        prev = p;
    }
    line_with(txt, "  jets ", line, sizeof line);
    ck_assert_msg(strstr(line, "emulated") && strstr(line, "1.500") && strstr(line, "40.82"), "%s", line);
    /* external work split only for hbheReco */
    line_with(txt, "acquire", line, sizeof line);
    ck_assert_msg(strstr(line, "acquire 0.200 real / 0.100 CPU, wait 5.000, produce 0.450 real / 0.375 CPU"),
                  "%s", line);
    ck_assert_ptr_null(strstr(strstr(txt, "acquire") + 1, "acquire"));
    line_with(txt, "HLT_Jet", line, sizeof line);
    ck_assert_msg(strstr(line, " 2 ") && strstr(line, "66.67") && strstr(line, "3.150"), "%s", line);
    ck_assert_ptr_nonnull(strstr(txt, "End paths"));
    line_with(txt, "outPath", line, sizeof line);
    ck_assert_msg(strstr(line, "100.00"), "%s", line);
    ck_assert_ptr_nonnull(strstr(txt, "p50 20.000  p90 40.000  p99 40.000  mean 25.000  max 40.000"));
    line_with(txt, "device lost", line, sizeof line);
    ck_assert_msg(strstr(line, "hbheReco") && strstr(line, " 1 "), "%s", line);
    line_with(txt, "fallbacks", line, sizeof line);
    ck_assert_msg(strstr(line, "hbheReco") && strstr(line, " 4"), "%s", line);
    free(txt);
    mh_timing_free(t);
}
END_TEST

START_TEST(widths_follow_labels)
{
    static const char *const lab[] = {"a_very_long_module_label_indeed", "x"};
    static const char *const plu[] = {"emulated", "p"};
    static const char *const pth[] = {"p"};
    mh_timing_setup s = {lab, plu, 2, pth, 1, 0, NULL, 0, 1, 1};
    mh_timing *t = NULL;
    ck_assert_int_eq(mh_timing_create(&s, &t, NULL, 0), MH_OK);
    mh_timing_module(t, 0, 0, MH_PHASE_PRODUCE, MS, MS);
    mh_timing_module(t, 1, 0, MH_PHASE_PRODUCE, 2 * MS, 2 * MS);
    mh_timing_event(t, MH_EVENT_ACCEPTED, MS, NULL, NULL);
    char *txt = text_report(t);
    char line[512];
    /* "x" is padded to the long label's width: the plugin columns line up. */
    char *a = line_with(txt, "a_very_long", line, sizeof line);
    size_t col_a = (size_t)(strstr(a, "emulated") - a);
    char line2[512];
    char *x = line_with(txt, "  x ", line2, sizeof line2);
    size_t col_x = (size_t)(strstr(x, " p ") + 1 - x);
    ck_assert_uint_eq(col_a, col_x);
    free(txt);
    mh_timing_free(t);
}
END_TEST

/* latency_fraction is the group's real time over the mean event latency, not
 * over the summed module time: two 20 ms modules on independent paths that
 * overlap (latency 20 ms) put the group holding one of them at 50% of the
 * summed time but 100% of the latency; a module that waits 48 ms
 * asynchronously for 2 ms of thread time is 100% of the summed time but 4%
 * of the 50 ms latency. */
START_TEST(latency_fraction_overlap_and_wait)
{
    static const char *const lab[] = {"a", "b", "c"};
    static const char *const plu[] = {"emulated", "emulated", "emulated"};
    static const char *const pth[] = {"p0", "p1"};
    static const size_t ga[] = {0}, gab[] = {0, 1}, gc[] = {2};
    const mh_timing_group gr[] = {{"ga", ga, 1}, {"gab", gab, 2}, {"gc", gc, 1}};
    mh_timing_setup s = {lab, plu, 3, pth, 2, 0, gr, 3, 2, 2};
    make_tmpdir();

    mh_timing *t = NULL;
    ck_assert_int_eq(mh_timing_create(&s, &t, NULL, 0), MH_OK);
    for (int ev = 0; ev < 3; ev++) { /* a and b overlap on two threads */
        mh_timing_module(t, 0, 0, MH_PHASE_PRODUCE, 20 * MS, 20 * MS);
        mh_timing_module(t, 1, 1, MH_PHASE_PRODUCE, 20 * MS, 20 * MS);
        mh_timing_path(t, 0, true);
        mh_timing_path(t, 1, true);
        mh_timing_event(t, MH_EVENT_ACCEPTED, 20 * MS, NULL, NULL);
    }
    json_t *r = write_and_load(t, "overlap.json", NULL, NULL);
    json_t *gs = json_object_get(r, "groups");
    json_t *g = find_named(gs, "name", "ga");
    ck_assert_double_eq_tol(num(g, "real_fraction"), 0.5, TOL);
    ck_assert_double_eq_tol(num(g, "latency_fraction"), 1.0, TOL);
    g = find_named(gs, "name", "gab"); /* concurrent within the event: not clamped */
    ck_assert_double_eq_tol(num(g, "real_fraction"), 1.0, TOL);
    ck_assert_double_eq_tol(num(g, "latency_fraction"), 2.0, TOL);
    ck_assert_double_eq_tol(num(find_named(gs, "name", "gc"), "latency_fraction"), 0, TOL);
    json_decref(r);
    char *txt = text_report(t);
    char line[512];
    line_with(txt, "  ga ", line, sizeof line);
    ck_assert_msg(strstr(line, " 50.00 ") && strstr(line, " 100.00"), "%s", line);
    free(txt);
    mh_timing_free(t);

    t = NULL;
    ck_assert_int_eq(mh_timing_create(&s, &t, NULL, 0), MH_OK);
    for (int ev = 0; ev < 2; ev++) { /* c: 1 ms acquire, 48 ms async wait, 1 ms produce */
        mh_timing_module(t, 2, 0, MH_PHASE_ACQUIRE, 1 * MS, 1 * MS);
        mh_timing_module(t, 2, 0, MH_PHASE_WAIT, 48 * MS, 0);
        mh_timing_module(t, 2, 0, MH_PHASE_PRODUCE, 1 * MS, 1 * MS);
        mh_timing_path(t, 0, true);
        mh_timing_event(t, MH_EVENT_ACCEPTED, 50 * MS, NULL, NULL);
    }
    r = write_and_load(t, "wait.json", NULL, NULL);
    g = find_named(json_object_get(r, "groups"), "name", "gc");
    ck_assert_double_eq_tol(num(g, "real_ms_per_event"), 2.0, TOL);
    ck_assert_double_eq_tol(num(g, "real_fraction"), 1.0, TOL);
    ck_assert_double_eq_tol(num(g, "latency_fraction"), 2.0 / 50, TOL);
    json_decref(r);
    txt = text_report(t);
    line_with(txt, "  gc ", line, sizeof line);
    ck_assert_msg(strstr(line, " 100.00 ") && strstr(line, " 4.00"), "%s", line);
    free(txt);
    mh_timing_free(t);
    remove_tmpdir();
}
END_TEST

/* A path that its prescale kept from running is counted as prescaled, apart
 * from accepted and rejected, in the JSON report and the text table. */
START_TEST(path_prescaled_counted)
{
    make_tmpdir();
    mh_timing *t = make_timing();
    for (int ev = 0; ev < 5; ev++) {
        if (ev % 3 == 0)
            mh_timing_path(t, 1, ev == 0);
        else
            mh_timing_path_prescaled(t, 1);
        mh_timing_event(t, MH_EVENT_REJECTED, MS, NULL, NULL);
    }
    mh_timing_path_prescaled(t, 9); /* out of range: ignored */
    json_t *r = write_and_load(t, "ps.json", NULL, NULL);
    json_t *p = json_array_get(json_object_get(r, "paths"), 1);
    ck_assert_int_eq((int)num(p, "accepted"), 1);
    ck_assert_int_eq((int)num(p, "rejected"), 1);
    ck_assert_int_eq((int)num(p, "prescaled"), 3);
    ck_assert_int_eq((int)num(json_array_get(json_object_get(r, "paths"), 0), "prescaled"), 0);
    json_decref(r);
    char *txt = text_report(t);
    char line[512];
    ck_assert_ptr_nonnull(strstr(txt, "prescaled"));
    line_with(txt, "  HLT_MET ", line, sizeof line);
    ck_assert_msg(strstr(line, " 1          1          3 "), "%s", line);
    free(txt);
    mh_timing_free(t);
    remove_tmpdir();
}
END_TEST

static const struct {
    uint64_t v[8];
    size_t n;
    double p50, p90, p99, mean;
} pct_cases[] = {
    {{5, 1, 3}, 3, 3, 5, 5, 3},
    {{7}, 1, 7, 7, 7, 7},
    {{4, 3, 2, 1}, 4, 2, 4, 4, 2.5},
    {{10, 20, 30, 40, 50, 60, 70, 80}, 8, 40, 80, 80, 45},
};

START_TEST(percentiles_nearest_rank)
{
    make_tmpdir();
    mh_timing *t = make_timing();
    for (size_t i = 0; i < pct_cases[_i].n; i++)
        mh_timing_event(t, MH_EVENT_REJECTED, pct_cases[_i].v[i] * MS, NULL, NULL);
    json_t *r = write_and_load(t, "p.json", NULL, NULL);
    json_t *lat = json_object_get(r, "latency_ms");
    ck_assert_double_eq_tol(num(lat, "p50"), pct_cases[_i].p50, TOL);
    ck_assert_double_eq_tol(num(lat, "p90"), pct_cases[_i].p90, TOL);
    ck_assert_double_eq_tol(num(lat, "p99"), pct_cases[_i].p99, TOL);
    ck_assert_double_eq_tol(num(lat, "mean"), pct_cases[_i].mean, TOL);
    ck_assert(json_is_null(json_object_get(r, "config")));
    ck_assert(json_is_null(json_object_get(r, "input")));
    json_decref(r);
    mh_timing_free(t);
    remove_tmpdir();
}
END_TEST

START_TEST(percentiles_large_sample)
{
    /* 10000 latencies 1..10000 us inserted in a scrambled order (spanning
     * several storage chunks): p50 = 5000 us, p90 = 9000, p99 = 9900. */
    make_tmpdir();
    mh_timing *t = make_timing();
    for (uint64_t i = 0; i < 10000; i++)
        mh_timing_event(t, MH_EVENT_ACCEPTED, ((i * 7919) % 10000 + 1) * 1000, NULL, NULL);
    json_t *r = write_and_load(t, "l.json", NULL, NULL);
    json_t *lat = json_object_get(r, "latency_ms");
    ck_assert_double_eq_tol(num(lat, "p50"), 5.0, TOL);
    ck_assert_double_eq_tol(num(lat, "p90"), 9.0, TOL);
    ck_assert_double_eq_tol(num(lat, "p99"), 9.9, TOL);
    ck_assert_double_eq_tol(num(lat, "max"), 10.0, TOL);
    ck_assert_double_eq_tol(num(lat, "mean"), 5.0005, TOL);
    json_decref(r);
    mh_timing_free(t);
    remove_tmpdir();
}
END_TEST

START_TEST(failure_reasons_capped)
{
    make_tmpdir();
    mh_timing *t = make_timing();
    char reason[32];
    for (int i = 0; i < 20; i++) {
        snprintf(reason, sizeof reason, "reason %d", i);
        mh_timing_event(t, MH_EVENT_FAILED, MS, "jets", reason);
        if (i < 3) /* repeats of a kept reason count into it */
            mh_timing_event(t, MH_EVENT_FAILED, MS, "jets", reason);
    }
    json_t *r = write_and_load(t, "f.json", NULL, NULL);
    json_t *ev = json_object_get(r, "events");
    ck_assert_int_eq((int)num(ev, "failed"), 23);
    ck_assert_int_eq((int)num(ev, "read"), 23);
    json_t *fl = json_object_get(ev, "failures");
    ck_assert_uint_eq(json_array_size(fl), 17); /* 16 kept + "(other)" */
    double total = 0;
    size_t i;
    json_t *f;
    json_array_foreach(fl, i, f) total += num(f, "count");
    ck_assert_double_eq_tol(total, 23, TOL); /* every failure is accounted for */
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fl, 0), "reason")), "reason 0");
    ck_assert_int_eq((int)num(json_array_get(fl, 0), "count"), 2);
    json_t *other = json_array_get(fl, 16);
    ck_assert_str_eq(json_string_value(json_object_get(other, "module")), "(other)");
    ck_assert_int_eq((int)num(other, "count"), 4);
    json_decref(r);
    mh_timing_free(t);
    remove_tmpdir();
}
END_TEST

START_TEST(empty_run_and_bad_input)
{
    make_tmpdir();
    mh_timing *t = make_timing();
    /* out-of-range indices are ignored, not crashes */
    mh_timing_module(t, NMOD, 0, MH_PHASE_PRODUCE, MS, MS);
    mh_timing_module(t, 0, 99, MH_PHASE_PRODUCE, MS, MS);
    mh_timing_path(t, 3, true);
    mh_timing_count(t, NMOD, "x", 1);
    json_t *r = write_and_load(t, "e.json", NULL, NULL);
    /* No event read: per-event numbers are 0, not NaN (which JSON cannot hold). */
    ck_assert_double_eq_tol(num(r, "total_cpu_ms_per_event"), 0, TOL);
    ck_assert_double_eq_tol(num(r, "throughput_hz"), 0, TOL);
    ck_assert_double_eq_tol(num(json_object_get(r, "latency_ms"), "p99"), 0, TOL);
    json_decref(r);
    char err[256] = "";
    ck_assert_int_eq(mh_timing_report_json(t, "/nonexistent-dir/r.json", NULL, NULL, err, sizeof err),
                     MH_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/r.json"));
    mh_timing_free(t);
    mh_timing_free(NULL);

    size_t bad[] = {7};
    mh_timing_group g = {"g", bad, 1};
    mh_timing_setup s = {labels, plugins, NMOD, paths, 3, 1, &g, 1, 1, 1};
    ck_assert_int_eq(mh_timing_create(&s, &t, err, sizeof err), MH_INVALID);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err, "group 'g'"));
    remove_tmpdir();
}
END_TEST

START_TEST(clocks_advance)
{
    uint64_t a = mh_now_ns(), c = mh_thread_cpu_ns();
    volatile double x = 0;
    for (int i = 0; i < 1000000; i++)
        x += i * 0.5;
    ck_assert_uint_ge(mh_now_ns(), a);
    ck_assert_uint_gt(mh_thread_cpu_ns(), c);
    ck_assert_uint_gt(a, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timing");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, json_numbers);
    tcase_add_test(tc, text_table);
    tcase_add_test(tc, widths_follow_labels);
    tcase_add_test(tc, latency_fraction_overlap_and_wait);
    tcase_add_test(tc, path_prescaled_counted);
    tcase_add_loop_test(tc, percentiles_nearest_rank, 0, sizeof pct_cases / sizeof *pct_cases);
    tcase_add_test(tc, percentiles_large_sample);
    tcase_add_test(tc, failure_reasons_capped);
    tcase_add_test(tc, empty_run_and_bad_input);
    tcase_add_test(tc, clocks_advance);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
