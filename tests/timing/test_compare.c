/* test_compare.c - `minihlt compare` on two reports written by the timing
 * service from synthetic runs: headline numbers, per-module/path/group
 * changes, the JSON output, and the error cases (library and program;
 * $MINIHLT is the program under test, set by scripts/run_tests.sh). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "timing/mh_compare.h"
#include "timing/mh_timing.h"

#define MS 1000000ull
#define NEV 100

static char dir[64];
static char base_json[128], new_json[128];

/* A run of NEV events: unpack 2 ms, hbheReco hbhe_ms, and one more module
 * (extra_label, 1 ms) present only in this run; HLT_Jet accepts `accepted`
 * events; the loop takes wall_ms. All CPU = real. */
static void write_run(const char *path, uint64_t hbhe_ms, const char *extra_label,
                      uint64_t accepted, uint64_t wall_ms)
{
    const char *labels[] = {"unpack", "hbheReco", extra_label};
    const char *plugins[] = {"emulated", "mahi", "emulated"};
    const char *paths[] = {"HLT_Jet", "out"};
    const size_t hcal[] = {1};
    const mh_timing_group g = {"hcal", hcal, 1};
    mh_timing_setup s = {labels, plugins, 3, paths, 2, 1, &g, 1, 2, 2};
    mh_timing *t = NULL;
    ck_assert_int_eq(mh_timing_create(&s, &t, NULL, 0), MH_OK);
    mh_timing_begin_at(t, 0, 0);
    for (uint64_t e = 0; e < NEV; e++) {
        mh_timing_module(t, 0, 0, MH_PHASE_PRODUCE, 2 * MS, 2 * MS);
        mh_timing_module(t, 1, 0, MH_PHASE_PRODUCE, hbhe_ms * MS, hbhe_ms * MS);
        mh_timing_module(t, 2, 0, MH_PHASE_PRODUCE, 1 * MS, 1 * MS);
        mh_timing_path(t, 0, e < accepted);
        mh_timing_path(t, 1, e < accepted);
        mh_timing_event(t, e < accepted ? MH_EVENT_ACCEPTED : MH_EVENT_REJECTED, 5 * MS, NULL, NULL);
    }
    mh_timing_end_at(t, wall_ms * MS, wall_ms * MS);
    char err[256];
    ck_assert_int_eq(mh_timing_report_json(t, path, "menu: test\n", "s.mhe", err, sizeof err), MH_OK);
    mh_timing_free(t);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mh_compare_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(base_json, sizeof base_json, "%s/base.json", dir);
    snprintf(new_json, sizeof new_json, "%s/new.json", dir);
    /* base: 2 + 7 + 1 = 10 ms/ev, 100 ev/s; new: 2 + 5 + 1 = 8 ms/ev, 125 ev/s */
    write_run(base_json, 7, "legacy", 50, 1000);
    write_run(new_json, 5, "client", 40, 800);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *minihlt(void)
{
    const char *m = getenv("MINIHLT");
    return m && *m ? m : "build/bin/minihlt";
}

/* Runs `minihlt ARGS` with stdout/stderr to dir/out, dir/err; returns the
 * exit status. */
static int run(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s >'%s/out' 2>'%s/err'", minihlt(), args, dir, dir);
    int st = system(cmd);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static char *slurp(const char *name)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *last_line(char *text)
{
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    char *p = strrchr(text, '\n');
    return p ? p + 1 : text;
}

START_TEST(library_summary)
{
    char err[256];
    mh_report *b = NULL, *n = NULL;
    ck_assert_int_eq(mh_report_load(base_json, &b, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_report_load(new_json, &n, err, sizeof err), MH_OK);
    mh_compare_summary s;
    mh_compare_summary_get(b, n, &s);
    ck_assert_double_eq_tol(s.base_cpu_ms, 10, 1e-9);
    ck_assert_double_eq_tol(s.new_cpu_ms, 8, 1e-9);
    ck_assert_double_eq_tol(s.cpu_change_pct, -20, 1e-9);
    ck_assert_double_eq_tol(s.real_change_pct, -20, 1e-9);
    ck_assert_double_eq_tol(s.base_throughput_hz, 100, 1e-9);
    ck_assert_double_eq_tol(s.throughput_change_pct, 25, 1e-9);
    char head[128];
    mh_compare_headline(&s, head, sizeof head);
    ck_assert_str_eq(head, "HLT time per event -20.0%, throughput +25.0%");
    mh_compare_summary_get(n, b, &s); /* the other way round */
    mh_compare_headline(&s, head, sizeof head);
    ck_assert_str_eq(head, "HLT time per event +25.0%, throughput -20.0%");
    mh_compare_summary_get(b, b, &s);
    mh_compare_headline(&s, head, sizeof head);
    ck_assert_str_eq(head, "HLT time per event +0.0%, throughput +0.0%");
    mh_report_free(b);
    mh_report_free(n);
    mh_report_free(NULL);
}
END_TEST

START_TEST(program_text)
{
    char args[512];
    snprintf(args, sizeof args, "compare '%s' '%s'", base_json, new_json);
    ck_assert_int_eq(run(args), 0);
    char *out = slurp("out");
    ck_assert_msg(strstr(out, "legacy") && strstr(out, "(only in base)"), "%s", out);
    ck_assert_msg(strstr(out, "client") && strstr(out, "(only in new)"), "%s", out);
    /* hbheReco 7 -> 5 ms: -2.000 ms, -28.6% */
    char *h = strstr(out, "  hbheReco ");
    ck_assert_msg(h && strstr(h, "-2.000") && strstr(h, "-28.6%"), "%s", out);
    /* HLT_Jet accept rate 50% -> 40%: -10 points */
    char *p = strstr(out, "  HLT_Jet ");
    ck_assert_msg(p && strstr(p, "50.00") && strstr(p, "40.00") && strstr(p, "-10.00"), "%s", out);
    char *g = strstr(out, "  hcal ");
    ck_assert_msg(g && strstr(g, "70.00") && strstr(g, "62.50"), "%s", out);
    ck_assert_str_eq(last_line(out), "HLT time per event -20.0%, throughput +25.0%");

    snprintf(args, sizeof args, "compare '%s' '%s'", new_json, base_json);
    ck_assert_int_eq(run(args), 0);
    ck_assert_str_eq(last_line(slurp("out")), "HLT time per event +25.0%, throughput -20.0%");
}
END_TEST

START_TEST(program_json)
{
    char args[512], out_json[160];
    snprintf(out_json, sizeof out_json, "%s/cmp.json", dir);
    snprintf(args, sizeof args, "compare '%s' '%s' --json '%s'", base_json, new_json, out_json);
    ck_assert_int_eq(run(args), 0);
    json_t *r = json_load_file(out_json, 0, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(json_string_value(json_object_get(r, "headline")),
                     "HLT time per event -20.0%, throughput +25.0%");
    json_t *cpu = json_object_get(r, "hlt_cpu_ms_per_event");
    ck_assert_double_eq_tol(json_real_value(json_object_get(cpu, "change_pct")), -20, 1e-9);
    ck_assert_double_eq_tol(json_real_value(json_object_get(cpu, "change")), -2, 1e-9);
    json_t *tp = json_object_get(r, "throughput_hz");
    ck_assert_double_eq_tol(json_real_value(json_object_get(tp, "change_pct")), 25, 1e-9);
    json_t *mods = json_object_get(r, "modules");
    ck_assert_uint_eq(json_array_size(mods), 4); /* unpack, hbheReco, legacy, client */
    json_t *legacy = json_array_get(mods, 2);
    ck_assert_str_eq(json_string_value(json_object_get(legacy, "label")), "legacy");
    ck_assert_str_eq(json_string_value(json_object_get(legacy, "in")), "base");
    ck_assert(json_is_null(json_object_get(json_object_get(legacy, "cpu_ms_per_event"), "new")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(mods, 3), "in")), "new");
    json_t *path = json_array_get(json_object_get(r, "paths"), 0);
    json_t *rate = json_object_get(path, "accept_rate_pct");
    ck_assert_double_eq_tol(json_real_value(json_object_get(rate, "change")), -10, 1e-9);
    json_t *grp = json_array_get(json_object_get(r, "groups"), 0);
    ck_assert_double_eq_tol(
        json_real_value(json_object_get(json_object_get(grp, "cpu_fraction"), "new")), 0.625, 1e-9);
    json_decref(r);
}
END_TEST

/* A copy of the base report with one change, written to dir/name. */
static void write_mutated(const char *name, const char *del_key, const char *set_key, json_t *set_val)
{
    json_t *r = json_load_file(base_json, 0, NULL);
    ck_assert_ptr_nonnull(r);
    if (del_key)
        json_object_del(r, del_key);
    if (set_key)
        json_object_set_new(r, set_key, set_val);
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(json_dump_file(r, path, 0), 0);
    json_decref(r);
}

static void write_text(const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(program_errors)
{
    write_mutated("nomods.json", "modules", NULL, NULL);
    write_mutated("v2.json", NULL, "schema_version", json_integer(2));
    write_mutated("notool.json", "tool", NULL, NULL);
    write_mutated("badmods.json", NULL, "modules", json_pack("[{s:s}]", "plugin", "x"));
    write_mutated("strmods.json", NULL, "modules", json_string("x"));
    write_text("garbage.json", "this is not json");
    write_text("array.json", "[1, 2]");
    static const struct {
        const char *file, *want;
    } cases[] = {
        {"missing.json", "missing.json: cannot read: No such file or directory"},
        {"nomods.json", "nomods.json: missing key 'modules'"},
        {"v2.json", "v2.json: unsupported schema_version 2"},
        {"notool.json", "notool.json: not a minihlt report"},
        {"badmods.json", "badmods.json: missing key 'modules[0].label'"},
        {"strmods.json", "strmods.json: key 'modules' is not an array"},
        {"garbage.json", "garbage.json: not a minihlt report"},
        {"array.json", "array.json: not a minihlt report"},
        {"", ": cannot read: is a directory"},
    };
    char args[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(args, sizeof args, "compare '%s' '%s/%s'", base_json, dir, cases[i].file);
        ck_assert_int_eq(run(args), 1);
        char *err = slurp("err");
        ck_assert_msg(!strncmp(err, "minihlt: ", 9) && strstr(err, cases[i].want),
                      "case %s: stderr '%s'", cases[i].file, err);
        ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "one line: '%s'", err);
    }
}
END_TEST

START_TEST(program_usage)
{
    ck_assert_int_eq(run("compare --help"), 0);
    ck_assert_ptr_nonnull(strstr(slurp("out"), "usage: minihlt compare BASE.json NEW.json"));
    ck_assert_int_eq(run("compare"), 2);
    ck_assert_ptr_nonnull(strstr(slurp("err"), "Try 'minihlt compare --help'"));
    char args[512];
    snprintf(args, sizeof args, "compare '%s'", base_json);
    ck_assert_int_eq(run(args), 2);
    snprintf(args, sizeof args, "compare '%s' '%s' '%s'", base_json, new_json, new_json);
    ck_assert_int_eq(run(args), 2);
    snprintf(args, sizeof args, "compare --bogus '%s' '%s'", base_json, new_json);
    ck_assert_int_eq(run(args), 2);
    ck_assert_ptr_nonnull(strstr(slurp("err"), "unknown option '--bogus'"));
    snprintf(args, sizeof args, "compare '%s' '%s' --json", base_json, new_json);
    ck_assert_int_eq(run(args), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("compare");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, library_summary);
    tcase_add_test(tc, program_text);
    tcase_add_test(tc, program_json);
    tcase_add_test(tc, program_errors);
    tcase_add_test(tc, program_usage);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
