/* test_study.c - the study's plan (variants, RTT expansion, scans, errors),
 * the module overrides, Prometheus counter reading, and the summary built
 * from reports written by the timing service for synthetic runs. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study/mh_study.h"
#include "timing/mh_timing.h"

#define MS 1000000ull
#define NEV 50

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mh_study_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* MH_TEST_KEEP=1 keeps the directory (to look at). The saved summary that
 * the plotting test uses, tests/data/study/, is a real study's (see its
 * "note"). */
static void teardown(void)
{
    const char *keep = getenv("MH_TEST_KEEP");
    if (keep && *keep == '1') {
        fprintf(stderr, "test_study: kept %s\n", dir);
        return;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(plan_expands_rtt_and_scans)
{
    mh_study_run runs[MH_STUDY_MAX_RUNS];
    size_t n = 0;
    char err[256];
    ck_assert_int_eq(mh_study_plan("mahi, facile,remote", "0,10,60", "1,4", "mahi", runs,
                                   MH_STUDY_MAX_RUNS, &n, err, sizeof err),
                     MH_OK);
    const char *want[] = {"mahi", "facile", "remote_rtt0", "remote_rtt10", "remote_rtt60",
                          "mahi_s1", "mahi_s4"};
    ck_assert_uint_eq(n, 7);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(runs[i].name, want[i]);
    ck_assert_int_eq(runs[3].kind, MH_STUDY_REMOTE);
    ck_assert(runs[3].rtt_ms == 10);
    ck_assert_int_eq(runs[6].role, MH_STUDY_ROLE_SCAN_STREAMS);
    ck_assert_uint_eq(runs[6].streams, 4);
    ck_assert_int_eq(runs[6].kind, MH_STUDY_MAHI);

    /* default scan: the baseline and the first remote run with an RTT */
    ck_assert_int_eq(mh_study_plan("facile,mahi,remote", "0,10", "2", "", runs,
                                   MH_STUDY_MAX_RUNS, &n, err, sizeof err),
                     MH_OK);
    ck_assert_uint_eq(n, 6);
    ck_assert_str_eq(runs[4].name, "mahi_s2");
    ck_assert_str_eq(runs[5].name, "remote_rtt10_s2");
    ck_assert(runs[5].rtt_ms == 10);
    /* without remote: the baseline and the next variant */
    ck_assert_int_eq(mh_study_plan("mahi,facile,opencl", "", "1", "", runs, MH_STUDY_MAX_RUNS,
                                   &n, err, sizeof err),
                     MH_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(runs[3].name, "mahi_s1");
    ck_assert_str_eq(runs[4].name, "facile_s1");
}
END_TEST

static const struct {
    const char *variants, *rtt, *streams, *scan, *msg;
} bad_plans[] = {
    {"mahi,gpu", "0", "", "", "unknown variant 'gpu'"},
    {"mahi,mahi", "0", "", "", "variant 'mahi' given twice"},
    {"mahi,,facile", "0", "", "", "empty item"},
    {"remote", "ten", "", "", "--rtt: 'ten' is not a number"},
    {"mahi", "0", "0", "", "--scan-streams: '0'"},
    {"mahi", "0", "2.5", "", "is not an integer"},
    {"mahi", "0", "2", "facile", "--scan: 'facile' is not one of the variants"},
};

START_TEST(plan_rejects_bad_lists)
{
    mh_study_run runs[MH_STUDY_MAX_RUNS];
    size_t n = 0;
    char err[256] = "";
    ck_assert_int_eq(mh_study_plan(bad_plans[_i].variants, bad_plans[_i].rtt,
                                   bad_plans[_i].streams, bad_plans[_i].scan, runs,
                                   MH_STUDY_MAX_RUNS, &n, err, sizeof err),
                     MH_INVALID);
    ck_assert_msg(strstr(err, bad_plans[_i].msg), "got '%s', want '%s'", err, bad_plans[_i].msg);
}
END_TEST

START_TEST(module_override_per_kind)
{
    mh_study_run r = {.kind = MH_STUDY_REMOTE, .rtt_ms = 60};
    char buf[512], err[128];
    ck_assert_int_eq(mh_study_module_yaml(&r, "http://127.0.0.1:9", "m/f", buf, sizeof buf, err,
                                          sizeof err),
                     MH_OK);
    ck_assert_str_eq(buf, "{plugin: hcal_remote, servers: ['http://127.0.0.1:9'], "
                          "emulate_rtt_ms: 60, fallback: cpu, model_dir: 'm/f'}");
    r.kind = MH_STUDY_OPENCL_MAHI;
    ck_assert_int_eq(mh_study_module_yaml(&r, NULL, "m", buf, sizeof buf, err, sizeof err), MH_OK);
    ck_assert_str_eq(buf, "{plugin: hcal_opencl, backend: mahi}");
    r.kind = MH_STUDY_FACILE;
    ck_assert_int_eq(mh_study_module_yaml(&r, NULL, "m", buf, 10, err, sizeof err), MH_INVALID);
}
END_TEST

START_TEST(metric_sum_reads_prometheus_text)
{
    const char *text =
        "# HELP nv_inference_request_success Number of successful inference requests\n"
        "# TYPE nv_inference_request_success counter\n"
        "nv_inference_request_success{model=\"facile\",version=\"1\"} 120\n"
        "nv_inference_request_success{model=\"facile\",version=\"2\"} 5\n"
        "nv_inference_request_success{model=\"other\",version=\"1\"} 7\n"
        "nv_inference_request_success_total 99\n"
        "nv_inference_exec_count{model=\"facile\",version=\"1\"} 30\n";
    ck_assert(mh_study_metric_sum(text, "nv_inference_request_success", "facile") == 125);
    ck_assert(mh_study_metric_sum(text, "nv_inference_request_success", NULL) == 132);
    ck_assert(mh_study_metric_sum(text, "nv_inference_exec_count", "facile") == 30);
    ck_assert(mh_study_metric_sum(text, "nv_missing", "facile") == 0);
}
END_TEST

/* A run: rest 8 ms/ev + hbheReco hcal_ms, HLT_Jet accepts `accepted`
 * events, `failed` of NEV fail, loop wall_ms; CPU = real. */
static void write_run(const char *path, uint64_t hcal_ms, uint64_t accepted, uint64_t failed,
                      uint64_t wall_ms, uint64_t streams)
{
    const char *labels[] = {"rest", "hbheReco"};
    const char *plugins[] = {"emulated", "hcal_mahi"};
    const char *paths[] = {"HLT_Jet", "out"};
    const size_t hcal[] = {1};
    const mh_timing_group g = {"hcal", hcal, 1};
    mh_timing_setup s = {labels, plugins, 2, paths, 2, 1, &g, 1, 2, (unsigned)streams};
    mh_timing *t = NULL;
    ck_assert_int_eq(mh_timing_create(&s, &t, NULL, 0), MH_OK);
    mh_timing_begin_at(t, 0, 0);
    for (uint64_t e = 0; e < NEV; e++) {
        mh_timing_module(t, 0, 0, MH_PHASE_PRODUCE, 8 * MS, 8 * MS);
        mh_timing_module(t, 1, 0, MH_PHASE_PRODUCE, hcal_ms * MS, hcal_ms * MS);
        if (e < failed) {
            mh_timing_event(t, MH_EVENT_FAILED, 9 * MS, "hbheReco", "server gone");
            continue;
        }
        mh_timing_path(t, 0, e < accepted);
        mh_timing_event(t, e < accepted ? MH_EVENT_ACCEPTED : MH_EVENT_REJECTED, 9 * MS, NULL,
                        NULL);
    }
    mh_timing_count(t, 1, "fallbacks", failed);
    mh_timing_end_at(t, wall_ms * MS, wall_ms * MS);
    char err[256];
    ck_assert_int_eq(mh_timing_report_json(t, path, "menu\n", "s.mhe", err, sizeof err), MH_OK);
    mh_timing_free(t);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Adds a validation section with channel and jet resolutions to a report. */
static void add_validation(const char *path, double res_channel, double res_jet)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    ck_assert_ptr_nonnull(root);
    json_t *sections = json_object_get(root, "sections");
    if (!sections) {
        sections = json_object();
        json_object_set_new(root, "sections", sections);
    }
    json_object_set_new(
        sections, "validation",
        json_pack("{s:i,s:{s:{s:f,s:f}},s:{s:{s:f,s:f}}}", "schema_version", 1,
                  "channel_response", "all", "median", 1.0, "resolution", res_channel,
                  "jet_response", "all", "median", 0.98, "resolution", res_jet));
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
}

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_number(v), "key %s not a number", k);
    return json_number_value(v);
}

START_TEST(summary_savings_and_farm)
{
    mh_study_run runs[MH_STUDY_MAX_RUNS];
    size_t n = 0;
    char err[512];
    ck_assert_int_eq(mh_study_plan("facile,mahi,remote", "10", "", "", runs, MH_STUDY_MAX_RUNS,
                                   &n, err, sizeof err),
                     MH_OK);
    ck_assert_uint_eq(n, 3);
    /* facile: 8+1 ms; mahi (baseline, second in the list): 8+2; remote 8+0.5 */
    for (size_t i = 0; i < n; i++)
        snprintf(runs[i].report, sizeof runs[i].report, "%s/%s.json", dir, runs[i].name);
    write_run(runs[0].report, 1, 22, 0, 450, 2);
    add_validation(runs[0].report, 0.18, 0.35);
    write_run(runs[1].report, 2, 20, 0, 500, 2);
    add_validation(runs[1].report, 0.15, 0.33);
    write_run(runs[2].report, 0, 20, 5, 425, 2);
    runs[2].have_server = true;
    runs[2].server_requests = 50;
    runs[2].server_execs = 10;
    runs[2].server_compute_us = 50 * 250; /* 0.25 ms per request */
    runs[2].server_queue_us = 50 * 100;

    char summary[128];
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    char *table = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&table, &tlen);
    char farm_json[128];
    snprintf(farm_json, sizeof farm_json, "%s/farm.json", dir);
    write_text(farm_json, "{\"points\": [{\"clients\": 1, \"throughput_per_client_hz\": 100,"
          " \"server_queue_ms_per_request\": 0.1, \"server_compute_ms_per_request\": 0.3},"
          " {\"clients\": 2, \"throughput_per_client_hz\": 40,"
          " \"server_queue_ms_per_request\": 2, \"server_compute_ms_per_request\": 0.3}],"
          " \"saturation_clients\": 1}");
    mh_study_farm_opts farm = {.l1_rate_hz = 100e3, .server_instances = 1, .farm_json = farm_json};
    const char *sets[] = {"process.threads=2"};
    mh_study_meta meta = {.config = "menu.yaml", .time_scale = 1, .sets = sets, .nsets = 1};
    ck_assert_int_eq(mh_study_summarize(runs, n, &meta, &farm, summary, out, err, sizeof err),
                     MH_OK);
    fclose(out);
    ck_assert_ptr_nonnull(
        strstr(table, "menu menu.yaml, process.time_scale 1; --set process.threads=2\n"));
    ck_assert_ptr_null(strstr(table, "WARNING"));
    ck_assert_ptr_nonnull(strstr(table, "measured saturation: 1 clients per server (estimate above: 34)"));
    ck_assert_ptr_nonnull(strstr(table, "baseline: mahi"));
    ck_assert_ptr_nonnull(strstr(table, "remote_rtt10"));
    /* the resolutions and the accept-rate change beside the savings */
    ck_assert_ptr_nonnull(strstr(table, "HCAL res"));
    ck_assert_ptr_nonnull(strstr(table, "18.0%"));
    ck_assert_ptr_nonnull(strstr(table, "4.0%"));
    free(table);

    json_error_t je;
    json_t *root = json_load_file(summary, 0, &je);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(json_string_value(json_object_get(root, "baseline")), "mahi");
    ck_assert(jnum(root, "time_scale") == 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(root, "overrides"), 0)),
                     "process.threads=2");
    json_t *vs = json_object_get(root, "variants");
    ck_assert_uint_eq(json_array_size(vs), 3);
    const json_t *base = json_array_get(vs, 1);
    double base_cpu = jnum(base, "hlt_cpu_ms_per_event");
    ck_assert(fabs(base_cpu - 10.0) < 1e-9);
    ck_assert(fabs(jnum(base, "savings")) < 1e-12);
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = json_array_get(vs, i);
        double cpu = jnum(v, "hlt_cpu_ms_per_event");
        ck_assert(fabs(jnum(v, "savings") - (1 - cpu / base_cpu)) < 1e-12);
        double f = jnum(v, "hcal_cpu_fraction");
        ck_assert(f >= 0 && f <= 1);
        ck_assert(fabs(jnum(v, "ideal_savings") - 0.2) < 1e-12);
        const json_t *ev = json_object_get(v, "events");
        ck_assert(jnum(ev, "read") == NEV);
        ck_assert(jnum(ev, "processed") + jnum(ev, "failed") == jnum(ev, "read"));
    }
    const json_t *facile = json_array_get(vs, 0);
    ck_assert(fabs(jnum(facile, "savings") - 0.1) < 1e-12);
    ck_assert(fabs(jnum(facile, "achieved_over_ideal") - 0.5) < 1e-12);
    ck_assert(fabs(jnum(json_object_get(facile, "accept_rates"), "HLT_Jet") - 0.44) < 1e-12);
    /* 22 vs the baseline's 20 accepted of 50: +0.04 */
    ck_assert(fabs(jnum(json_object_get(facile, "accept_rate_changes"), "HLT_Jet") - 0.04) <
              1e-12);
    const json_t *mx = json_object_get(facile, "max_accept_rate_change");
    ck_assert_str_eq(json_string_value(json_object_get(mx, "path")), "HLT_Jet");
    ck_assert(fabs(jnum(mx, "change") - 0.04) < 1e-12);
    ck_assert(fabs(jnum(json_object_get(base, "accept_rate_changes"), "HLT_Jet")) < 1e-12);
    const json_t *res = json_object_get(facile, "hcal_resolution");
    ck_assert(fabs(jnum(res, "channel") - 0.18) < 1e-12);
    ck_assert(fabs(jnum(res, "jet") - 0.35) < 1e-12);
    ck_assert(fabs(jnum(json_object_get(base, "hcal_resolution"), "channel") - 0.15) < 1e-12);
    /* no validation module in the remote run: null, not 0 */
    ck_assert(json_is_null(
        json_object_get(json_object_get(json_array_get(vs, 2), "hcal_resolution"), "channel")));
    const json_t *remote = json_array_get(vs, 2);
    ck_assert(jnum(json_object_get(remote, "counters"), "fallbacks") == 5);
    ck_assert(fabs(jnum(json_object_get(remote, "server"), "compute_ms_per_request") - 0.25) <
              1e-12);
    ck_assert(jnum(json_object_get(remote, "server"), "requests_per_execution") == 5);
    const json_t *rtt = json_object_get(json_object_get(root, "scans"), "rtt");
    ck_assert_uint_eq(json_array_size(rtt), 1);
    ck_assert(jnum(json_array_get(rtt, 0), "rtt_ms") == 10);

    const json_t *f = json_object_get(root, "farm");
    ck_assert_str_eq(json_string_value(json_object_get(f, "variant")), "remote_rtt10");
    /* 100 kHz x 10 ms = 1000 cores; x 8 ms = 800 */
    ck_assert(fabs(jnum(f, "cores_baseline") - 1000) < 1e-6);
    ck_assert(fabs(jnum(f, "cores_saved") - 200) < 1e-6);
    /* 0.25 ms/request -> 4000 requests/s -> 25 servers for 100 kHz */
    ck_assert(fabs(jnum(f, "server_capacity_hz") - 4000) < 1e-6);
    ck_assert(jnum(f, "servers_needed") == 25);
    /* remote client: 50 events in 0.425 s = 117.6 Hz -> 34 clients */
    ck_assert(fabs(jnum(f, "clients_per_server") - 4000 / (50 / 0.425)) < 1e-6);
    const json_t *meas = json_object_get(f, "measured");
    ck_assert(jnum(meas, "saturation_clients") == 1);
    ck_assert_uint_eq(json_array_size(json_object_get(meas, "points")), 2);
    json_decref(root);
}
END_TEST

/* Plans two variants (the baseline first) and writes their reports:
 * baseline 8 + 2 ms/ev in 500 ms, the other 8 + hcal_ms in wall_ms. */
static void two_runs(const char *variants, mh_study_run runs[2], uint64_t hcal_ms,
                     uint64_t wall_ms)
{
    size_t n = 0;
    char err[512] = "";
    ck_assert_int_eq(mh_study_plan(variants, "0", "", "", runs, 2, &n, err, sizeof err), MH_OK);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < n; i++)
        snprintf(runs[i].report, sizeof runs[i].report, "%s/%s.json", dir, runs[i].name);
    write_run(runs[0].report, 2, 20, 0, 500, 2);
    write_run(runs[1].report, hcal_ms, 20, 0, wall_ms, 2);
}

/* A scaled menu: the scale and overrides are recorded, and a warning sits
 * above the table and above the farm estimate. */
START_TEST(summary_warns_scaled_menu)
{
    mh_study_run runs[2];
    size_t n = 2;
    char err[512] = "";
    two_runs("mahi,facile", runs, 1, 450);
    char summary[128];
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    const char *sets[] = {"process.time_scale=0.01", "source.events=4"};
    mh_study_meta meta = {.config = "hlt.yaml", .time_scale = 0.01, .sets = sets, .nsets = 2};
    char *table = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&table, &tlen);
    ck_assert_int_eq(mh_study_summarize(runs, n, &meta, NULL, summary, out, err, sizeof err),
                     MH_OK);
    fclose(out);
    const char *warn = "WARNING: process.time_scale is 0.01, not 1";
    const char *w1 = strstr(table, warn);
    ck_assert_ptr_nonnull(w1);
    ck_assert_ptr_nonnull(strstr(table, "only meaningful at time_scale 1"));
    ck_assert(w1 < strstr(table, "variant "));
    const char *w2 = strstr(w1 + 1, warn);
    ck_assert_ptr_nonnull(w2);
    const char *farm = strstr(table, "Farm estimate");
    ck_assert_ptr_nonnull(farm);
    ck_assert(w2 < farm && w2 > strstr(table, "baseline: mahi"));
    ck_assert_ptr_nonnull(strstr(table, "menu hlt.yaml, process.time_scale 0.01; --set "
                                        "process.time_scale=0.01 --set source.events=4\n"));
    free(table);
    json_error_t je;
    json_t *root = json_load_file(summary, 0, &je);
    ck_assert_ptr_nonnull(root);
    ck_assert(jnum(root, "time_scale") == 0.01);
    const json_t *ov = json_object_get(root, "overrides");
    ck_assert_uint_eq(json_array_size(ov), 2);
    ck_assert_str_eq(json_string_value(json_array_get(ov, 1)), "source.events=4");
    json_decref(root);
}
END_TEST

/* --cpu-ms-per-event: the farm at a full-cost per-event time with the
 * measured savings fraction (runs at a reduced scale still size a real
 * farm); a client's request rate scales with measured / given time. */
START_TEST(summary_farm_at_given_cpu_ms)
{
    mh_study_run runs[2];
    size_t n = 2;
    char err[512] = "";
    /* 10 ms/ev vs 8 ms/ev: 20% saved, 125 ev/s */
    two_runs("mahi,remote", runs, 0, 400);
    runs[1].have_server = true;
    runs[1].server_requests = 50;
    runs[1].server_execs = 50;
    runs[1].server_compute_us = 50 * 250; /* 4000 requests/s */
    char summary[128];
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    mh_study_farm_opts farm = {.l1_rate_hz = 100e3, .cpu_ms_per_event = 260};
    char *table = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&table, &tlen);
    ck_assert_int_eq(mh_study_summarize(runs, n, NULL, &farm, summary, out, err, sizeof err),
                     MH_OK);
    fclose(out);
    ck_assert_msg(strstr(table, "100000 Hz and 260.00 ms of HLT CPU per event (--cpu-ms-per-event"),
                  "%s", table);
    ck_assert_ptr_nonnull(strstr(table, "the measured savings 20.0%"));
    ck_assert_ptr_nonnull(strstr(table, "saved            5200.0 cores"));
    free(table);
    json_error_t je;
    json_t *root = json_load_file(summary, 0, &je);
    ck_assert_ptr_nonnull(root);
    const json_t *f = json_object_get(root, "farm");
    ck_assert(fabs(jnum(f, "cpu_ms_per_event") - 260) < 1e-9);
    ck_assert_str_eq(json_string_value(json_object_get(f, "cpu_ms_per_event_from")),
                     "--cpu-ms-per-event");
    ck_assert(fabs(jnum(f, "savings") - 0.2) < 1e-12);
    /* 100 kHz x 260 ms = 26000 cores, 20% of it saved */
    ck_assert(fabs(jnum(f, "cores_baseline") - 26000) < 1e-6);
    ck_assert(fabs(jnum(f, "cores_saved") - 5200) < 1e-6);
    ck_assert(fabs(jnum(f, "cores_variant") - 20800) < 1e-6);
    /* a client at 260 ms/ev sends 125 x 10/260 requests/s */
    ck_assert(fabs(jnum(f, "client_request_rate_hz") - 125.0 * 10 / 260) < 1e-9);
    ck_assert(fabs(jnum(f, "clients_per_server") - 4000 / (125.0 * 10 / 260)) < 1e-6);
    ck_assert(jnum(f, "servers_needed") == 25);
    json_decref(root);

    /* without it: the measured baseline's 10 ms */
    farm.cpu_ms_per_event = 0;
    out = fopen("/dev/null", "w");
    ck_assert_int_eq(mh_study_summarize(runs, n, NULL, &farm, summary, out, err, sizeof err),
                     MH_OK);
    fclose(out);
    root = json_load_file(summary, 0, &je);
    ck_assert_ptr_nonnull(root);
    f = json_object_get(root, "farm");
    ck_assert(fabs(jnum(f, "cores_baseline") - 1000) < 1e-6);
    ck_assert(fabs(jnum(f, "cores_saved") - 200) < 1e-6);
    ck_assert_str_eq(json_string_value(json_object_get(f, "cpu_ms_per_event_from")),
                     "measured baseline");
    ck_assert(fabs(jnum(f, "client_request_rate_hz") - 125) < 1e-9);
    json_decref(root);
}
END_TEST

/* Streams-scan rows: the baseline's own scan runs show "-" (not the
 * load noise against the baseline at other streams as savings); another
 * variant's are against the baseline's scan run at the same streams. */
START_TEST(summary_scan_rows_same_streams)
{
    mh_study_run runs[MH_STUDY_MAX_RUNS];
    size_t n = 0;
    char err[512] = "";
    ck_assert_int_eq(mh_study_plan("mahi,facile", "", "4", "mahi,facile", runs,
                                   MH_STUDY_MAX_RUNS, &n, err, sizeof err),
                     MH_OK);
    ck_assert(n == 4 && !strcmp(runs[2].name, "mahi_s4") && !strcmp(runs[3].name, "facile_s4"));
    /* mahi 10 ms, facile 9, mahi_s4 9 (noise: "+10%" vs mahi), facile_s4 8 */
    const uint64_t hcal[] = {2, 1, 1, 0};
    for (size_t i = 0; i < n; i++) {
        snprintf(runs[i].report, sizeof runs[i].report, "%.60s/%.60s.json", dir, runs[i].name);
        write_run(runs[i].report, hcal[i], 20, 0, 500, 2);
    }
    char summary[128];
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    char *table = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&table, &tlen);
    ck_assert_int_eq(mh_study_summarize(runs, n, NULL, NULL, summary, out, err, sizeof err),
                     MH_OK);
    fclose(out);
    const char *ms4 = strstr(table, "\nmahi_s4 ");
    const char *fs4 = strstr(table, "\nfacile_s4 ");
    const char *fac = strstr(table, "\nfacile ");
    ck_assert_ptr_nonnull(ms4);
    ck_assert_ptr_nonnull(fs4);
    ck_assert_ptr_nonnull(fac);
    char row[256];
    /* mahi_s4: HCAL 11.1%, then "-" for savings, ideal and ach/ideal */
    snprintf(row, sizeof row, "%.*s", (int)strcspn(ms4 + 1, "\n"), ms4 + 1);
    ck_assert_msg(strstr(row, " 11.1%        -      -         - "), "%s", row);
    ck_assert_msg(!strstr(row, "+10.0%"), "%s", row);
    /* facile_s4: 8 vs mahi_s4's 9 ms = +11.1%, ideal = mahi_s4's 1/9 */
    snprintf(row, sizeof row, "%.*s", (int)strcspn(fs4 + 1, "\n"), fs4 + 1);
    ck_assert_msg(strstr(row, "  +11.1%  11.1%      1.00"), "%s", row);
    /* the variant rows stay against the baseline: facile 9 vs 10 ms */
    snprintf(row, sizeof row, "%.*s", (int)strcspn(fac + 1, "\n"), fac + 1);
    ck_assert_msg(strstr(row, "  +10.0%  20.0%      0.50"), "%s", row);
    free(table);
}
END_TEST

START_TEST(summary_names_bad_report)
{
    mh_study_run runs[2];
    size_t n = 0;
    char err[512] = "";
    ck_assert_int_eq(mh_study_plan("mahi", "0", "", "", runs, 2, &n, err, sizeof err), MH_OK);
    snprintf(runs[0].report, sizeof runs[0].report, "%s/missing.json", dir);
    char summary[128];
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    FILE *out = fopen("/dev/null", "w");
    ck_assert_int_ne(mh_study_summarize(runs, n, NULL, NULL, summary, out, err, sizeof err), MH_OK);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(err, "missing.json"));
}
END_TEST

START_TEST(summary_names_bad_farm_json)
{
    mh_study_run runs[2];
    size_t n = 0;
    char err[512] = "";
    ck_assert_int_eq(mh_study_plan("mahi", "0", "", "", runs, 2, &n, err, sizeof err), MH_OK);
    snprintf(runs[0].report, sizeof runs[0].report, "%s/mahi.json", dir);
    write_run(runs[0].report, 2, 20, 0, 500, 2);
    char summary[128], farm_json[128];
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    snprintf(farm_json, sizeof farm_json, "%s/nofarm.json", dir);
    write_text(farm_json, "{\"points\": []}");
    mh_study_farm_opts farm = {.farm_json = farm_json};
    FILE *out = fopen("/dev/null", "w");
    ck_assert_int_eq(mh_study_summarize(runs, n, NULL, &farm, summary, out, err, sizeof err),
                     MH_FORMAT);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(err, "nofarm.json: no points[]"));
}
END_TEST

static Suite *study_suite(void)
{
    Suite *s = suite_create("study");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, plan_expands_rtt_and_scans);
    tcase_add_loop_test(tc, plan_rejects_bad_lists, 0,
                        (int)(sizeof bad_plans / sizeof bad_plans[0]));
    tcase_add_test(tc, module_override_per_kind);
    tcase_add_test(tc, metric_sum_reads_prometheus_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("summary");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, summary_savings_and_farm);
    tcase_add_test(tc, summary_warns_scaled_menu);
    tcase_add_test(tc, summary_farm_at_given_cpu_ms);
    tcase_add_test(tc, summary_scan_rows_same_streams);
    tcase_add_test(tc, summary_names_bad_report);
    tcase_add_test(tc, summary_names_bad_farm_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(study_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
