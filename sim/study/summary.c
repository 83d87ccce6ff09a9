/* summary.c - a study's summary.json, table and farm estimate, built from
 * the timing reports of its runs (definitions in sim/study/README.md). */
#include "study/mh_study.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing/mh_compare.h"

#define MH__SUMMARY_SCHEMA_VERSION 1

/* The numbers of one run that the summary needs. */
typedef struct mh__runinfo {
    const mh_study_run *run;
    mh_report *report;
    const json_t *root;
    double read, processed, accepted, rejected, failed;
    double cpu_ms, real_ms, throughput_hz, p50, p99;
    double hcal_cpu_fraction, hcal_real_fraction, hcal_cpu_ms;
    bool have_hcal;
    double threads, streams;
    /* From the validation section (NaN without one): resolution =
     * sigma_eff / median of rechit/true energy per channel, of reco/gen
     * jet pt; the channel response median (the energy scale). */
    double res_channel, res_jet, res_event, scale_channel;
} mh__runinfo;

static double mh__num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The `all` summary of one distribution of the validation section. */
static const json_t *mh__dist_all(const json_t *validation, const char *dist)
{
    return json_object_get(json_object_get(validation, dist), "all");
}

static mh_status mh__load(const mh_study_run *run, mh__runinfo *ri, char *err, size_t errlen)
{
    memset(ri, 0, sizeof *ri);
    ri->run = run;
    mh_status st = mh_report_load(run->report, &ri->report, err, errlen);
    if (st != MH_OK)
        return st;
    ri->root = mh_report_json(ri->report);
    const json_t *ev = json_object_get(ri->root, "events");
    ri->read = mh__num(ev, "read");
    ri->processed = mh__num(ev, "processed");
    ri->accepted = mh__num(ev, "accepted");
    ri->rejected = mh__num(ev, "rejected");
    ri->failed = mh__num(ev, "failed");
    ri->cpu_ms = mh__num(ri->root, "total_cpu_ms_per_event");
    ri->real_ms = mh__num(ri->root, "total_real_ms_per_event");
    ri->throughput_hz = mh__num(ri->root, "throughput_hz");
    const json_t *lat = json_object_get(ri->root, "latency_ms");
    ri->p50 = mh__num(lat, "p50");
    ri->p99 = mh__num(lat, "p99");
    ri->threads = mh__num(ri->root, "threads");
    ri->streams = mh__num(ri->root, "streams");
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(ri->root, "groups"), i, g) {
        if (!strcmp(json_string_value(json_object_get(g, "name")), "hcal")) {
            ri->have_hcal = true;
            ri->hcal_cpu_fraction = mh__num(g, "cpu_fraction");
            ri->hcal_real_fraction = mh__num(g, "real_fraction");
            ri->hcal_cpu_ms = mh__num(g, "cpu_ms_per_event");
        }
    }
    const json_t *val = json_object_get(json_object_get(ri->root, "sections"), "validation");
    ri->res_channel = mh__num(mh__dist_all(val, "channel_response"), "resolution");
    ri->scale_channel = mh__num(mh__dist_all(val, "channel_response"), "median");
    ri->res_event = mh__num(mh__dist_all(val, "event_response"), "resolution");
    ri->res_jet = mh__num(mh__dist_all(val, "jet_response"), "resolution");
    if (!ri->have_hcal)
        return mh_fail(err, errlen, MH_FORMAT,
                       "%s: the menu has no timing group 'hcal' (add groups: {hcal: [...]})",
                       run->report);
    return MH_OK;
}

/* JSON number, or null when not finite (a ratio with a zero base). */
static json_t *mh__jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *mh__accept_rates(const mh__runinfo *ri)
{
    json_t *o = json_object();
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(ri->root, "paths"), i, p) {
        if (json_is_true(json_object_get(p, "end_path")))
            continue;
        double acc = mh__num(p, "accepted");
        json_object_set_new(o, json_string_value(json_object_get(p, "name")),
                            mh__jnum(ri->processed > 0 ? acc / ri->processed : NAN));
    }
    return o;
}

/* Accept rate minus the baseline's, per trigger path (absolute: a rate of
 * 0.02 -> 0.03 is +0.01); *max_abs / *max_path: the largest change (the
 * path name lives as long as the run's report). */
static json_t *mh__accept_changes(const mh__runinfo *ri, const mh__runinfo *base,
                                  double *max_abs, const char **max_path)
{
    json_t *o = json_object();
    json_t *rates = mh__accept_rates(ri);
    json_t *base_rates = mh__accept_rates(base);
    *max_abs = 0;
    *max_path = NULL;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(ri->root, "paths"), i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        if (!json_object_get(rates, name))
            continue; /* an end path */
        double d = mh__num(rates, name) - mh__num(base_rates, name);
        json_object_set_new(o, name, mh__jnum(d));
        if (isfinite(d) && (!*max_path || fabs(d) > *max_abs)) {
            *max_abs = fabs(d);
            *max_path = name;
        }
    }
    json_decref(rates);
    json_decref(base_rates);
    return o;
}

/* Module counters of the run summed by name (fallbacks, retries, ...). */
static json_t *mh__counters(const mh__runinfo *ri)
{
    json_t *o = json_object();
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(ri->root, "modules"), i, m) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(m, "counters"), key, v) {
            if (!json_is_number(v))
                continue;
            double prev = mh__num(o, key);
            json_object_set_new(o, key, json_real((isfinite(prev) ? prev : 0) +
                                                  json_number_value(v)));
        }
    }
    return o;
}

static json_t *mh__groups(const mh__runinfo *ri)
{
    json_t *o = json_object();
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(ri->root, "groups"), i, g)
        json_object_set_new(o, json_string_value(json_object_get(g, "name")),
                            mh__jnum(mh__num(g, "cpu_ms_per_event")));
    return o;
}

static json_t *mh__variant_json(const mh__runinfo *ri, const mh__runinfo *base)
{
    const mh_study_run *r = ri->run;
    double savings = base->cpu_ms > 0 ? 1.0 - ri->cpu_ms / base->cpu_ms : NAN;
    double ideal = base->hcal_cpu_fraction;
    json_t *v = json_object();
    json_object_set_new(v, "name", json_string(r->name));
    json_object_set_new(v, "kind", json_string(mh_study_kind_name(r->kind)));
    json_object_set_new(v, "report", json_string(r->report));
    if (r->kind == MH_STUDY_REMOTE)
        json_object_set_new(v, "rtt_ms", json_real(r->rtt_ms));
    json_object_set_new(v, "threads", mh__jnum(ri->threads));
    json_object_set_new(v, "streams", mh__jnum(ri->streams));
    json_object_set_new(v, "events",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "read", (json_int_t)ri->read,
                                  "processed", (json_int_t)ri->processed, "accepted",
                                  (json_int_t)ri->accepted, "rejected", (json_int_t)ri->rejected,
                                  "failed", (json_int_t)ri->failed));
    json_object_set_new(v, "hlt_cpu_ms_per_event", mh__jnum(ri->cpu_ms));
    json_object_set_new(v, "hlt_real_ms_per_event", mh__jnum(ri->real_ms));
    json_object_set_new(v, "latency_ms", json_pack("{s:o,s:o}", "p50", mh__jnum(ri->p50), "p99",
                                                   mh__jnum(ri->p99)));
    json_object_set_new(v, "throughput_hz", mh__jnum(ri->throughput_hz));
    json_object_set_new(v, "hcal_cpu_ms_per_event", mh__jnum(ri->hcal_cpu_ms));
    json_object_set_new(v, "hcal_cpu_fraction", mh__jnum(ri->hcal_cpu_fraction));
    json_object_set_new(v, "hcal_real_fraction", mh__jnum(ri->hcal_real_fraction));
    json_object_set_new(v, "savings", mh__jnum(savings));
    json_object_set_new(v, "throughput_gain",
                        mh__jnum(base->throughput_hz > 0 ? ri->throughput_hz / base->throughput_hz - 1
                                                         : NAN));
    json_object_set_new(v, "ideal_savings", mh__jnum(ideal));
    json_object_set_new(v, "achieved_over_ideal", mh__jnum(ideal > 0 ? savings / ideal : NAN));
    json_object_set_new(v, "groups_cpu_ms_per_event", mh__groups(ri));
    json_object_set_new(v, "accept_rates", mh__accept_rates(ri));
    double max_change;
    const char *max_path;
    json_object_set_new(v, "accept_rate_changes",
                        mh__accept_changes(ri, base, &max_change, &max_path));
    json_object_set_new(v, "max_accept_rate_change",
                        max_path ? json_pack("{s:s,s:f}", "path", max_path, "change", max_change)
                                 : json_null());
    json_object_set_new(v, "hcal_resolution",
                        json_pack("{s:o,s:o,s:o,s:o}", "channel", mh__jnum(ri->res_channel),
                                  "channel_scale", mh__jnum(ri->scale_channel), "event",
                                  mh__jnum(ri->res_event), "jet", mh__jnum(ri->res_jet)));
    json_object_set_new(v, "counters", mh__counters(ri));
    const json_t *val = json_object_get(json_object_get(ri->root, "sections"), "validation");
    json_object_set_new(v, "validation", val ? json_deep_copy(val) : json_null());
    if (r->have_server && r->server_requests > 0) {
        json_object_set_new(
            v, "server",
            json_pack("{s:f,s:f,s:o,s:o,s:o}", "requests", r->server_requests, "executions",
                      r->server_execs, "compute_ms_per_request",
                      mh__jnum(r->server_compute_us / r->server_requests / 1000.0),
                      "queue_ms_per_request",
                      mh__jnum(r->server_queue_us / r->server_requests / 1000.0),
                      "requests_per_execution",
                      mh__jnum(r->server_execs > 0 ? r->server_requests / r->server_execs : NAN)));
    }
    return v;
}

/* The farm estimate (definitions in sim/study/README.md). */
static json_t *mh__farm(const mh__runinfo *ri, size_t n, const mh__runinfo *base,
                        const mh_study_farm_opts *opts, FILE *out)
{
    /* The offload variant: the remote run with the smallest RTT that has
     * server numbers, else the variant with the largest savings. */
    const mh__runinfo *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const mh_study_run *r = ri[i].run;
        if (r->role != MH_STUDY_ROLE_VARIANT || &ri[i] == base)
            continue;
        if (r->kind == MH_STUDY_REMOTE && r->have_server && r->server_requests > 0 &&
            (!best || best->run->kind != MH_STUDY_REMOTE || r->rtt_ms < best->run->rtt_ms))
            best = &ri[i];
        else if (!best || (best->run->kind != MH_STUDY_REMOTE && ri[i].cpu_ms < best->cpu_ms))
            best = &ri[i];
    }
    if (!best)
        return json_null();
    double l1 = opts && opts->l1_rate_hz > 0 ? opts->l1_rate_hz : 100e3;
    unsigned inst = opts && opts->server_instances ? opts->server_instances : 1;
    bool given = opts && opts->cpu_ms_per_event > 0;
    /* The farm's per-event time (given, else the measured baseline's) with
     * the measured savings fraction applied: a study at a reduced scale
     * still sizes a full-cost farm. */
    double ms = given ? opts->cpu_ms_per_event : base->cpu_ms;
    double savings = base->cpu_ms > 0 ? 1.0 - best->cpu_ms / base->cpu_ms : NAN;
    double cores_base = l1 * ms / 1000.0;
    double cores_saved = cores_base * savings;
    double cores_new = cores_base - cores_saved;
    json_t *f = json_object();
    json_object_set_new(f, "l1_rate_hz", json_real(l1));
    json_object_set_new(f, "baseline", json_string(base->run->name));
    json_object_set_new(f, "variant", json_string(best->run->name));
    json_object_set_new(f, "cpu_ms_per_event", mh__jnum(ms));
    json_object_set_new(f, "cpu_ms_per_event_from",
                        json_string(given ? "--cpu-ms-per-event" : "measured baseline"));
    json_object_set_new(f, "savings", mh__jnum(savings));
    json_object_set_new(f, "cores_baseline", mh__jnum(cores_base));
    json_object_set_new(f, "cores_variant", mh__jnum(cores_new));
    json_object_set_new(f, "cores_saved", mh__jnum(cores_saved));
    fprintf(out,
            "\nFarm estimate at an L1 accept rate of %.0f Hz and %.2f ms of HLT CPU per event "
            "(%s;\ncores = rate x CPU per event, saved = that x the measured savings %.1f%%):\n",
            l1, ms, given ? "--cpu-ms-per-event" : "the measured baseline", 100 * savings);
    fprintf(out, "  %-14s %8.1f cores\n  %-14s %8.1f cores\n  saved          %8.1f cores\n",
            base->run->name, cores_base, best->run->name, cores_new, cores_saved);
    const mh_study_run *r = best->run;
    if (r->kind == MH_STUDY_REMOTE && r->have_server && r->server_requests > 0) {
        double ms_req = r->server_compute_us / r->server_requests / 1000.0;
        double capacity = ms_req > 0 ? inst * 1000.0 / ms_req : NAN;
        /* One request per event: a client process sends at its event rate,
         * which scales inversely with the per-event time. */
        double per_client = ms > 0 ? best->throughput_hz * base->cpu_ms / ms : NAN;
        double clients = per_client > 0 ? capacity / per_client : NAN;
        double servers = capacity > 0 ? ceil(l1 / capacity) : NAN;
        json_object_set_new(f, "server_instances", json_integer(inst));
        json_object_set_new(f, "server_compute_ms_per_request", mh__jnum(ms_req));
        json_object_set_new(f, "server_capacity_hz", mh__jnum(capacity));
        json_object_set_new(f, "client_request_rate_hz", mh__jnum(per_client));
        json_object_set_new(f, "clients_per_server", mh__jnum(clients));
        json_object_set_new(f, "servers_needed", mh__jnum(servers));
        fprintf(out,
                "  server: %.3f ms of compute per request -> %.0f requests/s per server "
                "(%u instance%s)\n"
                "  one client process at that CPU per event sends %.1f requests/s -> one server feeds about "
                "%.0f such processes\n"
                "  servers needed for %.0f Hz: %.0f\n",
                ms_req, capacity, inst, inst == 1 ? "" : "s", per_client, clients, l1, servers);
    }
    return f;
}

/* farm.measured: scripts/farm.sh's points and saturation beside the
 * estimate. */
static mh_status mh__farm_measured(json_t *f, const char *path, FILE *out, char *err,
                                   size_t errlen)
{
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    if (!m)
        return mh_fail(err, errlen, MH_FORMAT, "%s: line %d: %s", path, je.line, je.text);
    const json_t *pts = json_object_get(m, "points");
    if (!json_is_array(pts) || json_array_size(pts) == 0) {
        json_decref(m);
        return mh_fail(err, errlen, MH_FORMAT, "%s: no points[] (scripts/farm.sh --json output)",
                       path);
    }
    const json_t *sat = json_object_get(m, "saturation_clients");
    json_object_set_new(f, "measured",
                        json_pack("{s:s,s:O,s:O}", "file", path, "saturation_clients",
                                  sat ? sat : json_null(), "points", pts));
    fprintf(out, "  scripts/farm.sh on this machine (%s):\n", path);
    size_t i;
    const json_t *p;
    json_array_foreach(pts, i, p) {
        fprintf(out, "    %3.0f clients: %8.1f events/s per client, server queue %.3f ms, compute "
                     "%.3f ms per request\n",
                mh__num(p, "clients"), mh__num(p, "throughput_per_client_hz"),
                mh__num(p, "server_queue_ms_per_request"),
                mh__num(p, "server_compute_ms_per_request"));
    }
    if (json_is_number(sat))
        fprintf(out, "  measured saturation: %.0f clients per server", json_number_value(sat));
    else
        fprintf(out, "  measured: still scaling at %.0f clients",
                mh__num(json_array_get(pts, json_array_size(pts) - 1), "clients"));
    double est = mh__num(f, "clients_per_server");
    if (isfinite(est))
        fprintf(out, " (estimate above: %.0f)", est);
    fputc('\n', out);
    json_decref(m);
    return MH_OK;
}

static json_t *mh__scans(const mh__runinfo *ri, size_t n, const mh__runinfo *base)
{
    json_t *streams = json_array();
    json_t *rtt = json_array();
    for (size_t i = 0; i < n; i++) {
        const mh_study_run *r = ri[i].run;
        if (r->role == MH_STUDY_ROLE_SCAN_STREAMS) {
            json_array_append_new(
                streams, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "name", r->name, "kind",
                                   mh_study_kind_name(r->kind), "streams", mh__jnum(ri[i].streams),
                                   "throughput_hz", mh__jnum(ri[i].throughput_hz),
                                   "hlt_cpu_ms_per_event", mh__jnum(ri[i].cpu_ms), "latency_p50_ms",
                                   mh__jnum(ri[i].p50)));
        } else if (r->kind == MH_STUDY_REMOTE) {
            double savings = base->cpu_ms > 0 ? 1.0 - ri[i].cpu_ms / base->cpu_ms : NAN;
            json_array_append_new(
                rtt, json_pack("{s:s,s:f,s:o,s:o,s:o}", "name", r->name, "rtt_ms", r->rtt_ms,
                               "savings", mh__jnum(savings), "throughput_hz",
                               mh__jnum(ri[i].throughput_hz), "latency_p50_ms",
                               mh__jnum(ri[i].p50)));
        }
    }
    return json_pack("{s:o,s:o}", "streams", streams, "rtt", rtt);
}

/* The baseline's streams-scan run with the same streams as scan run x
 * (named BASELINE_sN by the plan); NULL when there is none or x is it. */
static const mh__runinfo *mh__scan_ref(const mh__runinfo *ri, size_t n, const mh__runinfo *base,
                                       const mh__runinfo *x)
{
    char want[MH_STUDY_NAME_MAX + 16];
    snprintf(want, sizeof want, "%.40s_s%u", base->run->name, x->run->streams);
    for (size_t i = 0; i < n; i++) {
        const mh_study_run *r = ri[i].run;
        if (r->role == MH_STUDY_ROLE_SCAN_STREAMS && r->streams == x->run->streams &&
            !strcmp(r->name, want))
            return &ri[i] == x ? NULL : &ri[i];
    }
    return NULL;
}

/* A percentage, or "-" when not measured (no validation module). */
static void mh__pct(FILE *out, int width, double v)
{
    if (isfinite(v))
        fprintf(out, " %*.1f%%", width - 1, 100 * v);
    else
        fprintf(out, " %*s", width, "-");
}

/* The menu, time scale and overrides above the table. */
static void mh__print_meta(const mh_study_meta *meta, FILE *out)
{
    double scale = meta && meta->time_scale > 0 ? meta->time_scale : 1.0;
    fprintf(out, "menu %s, process.time_scale %g", meta && meta->config ? meta->config : "-",
            scale);
    for (size_t i = 0; meta && i < meta->nsets; i++)
        fprintf(out, "%s --set %s", i ? "" : ";", meta->sets[i]);
    fputc('\n', out);
}

/* Emulated costs scale with process.time_scale, the HCAL modules run for
 * real: at 0.01 HCAL looks like 80% of the menu instead of 10%. */
static void mh__scale_warning(double scale, FILE *out)
{
    fprintf(out,
            "WARNING: process.time_scale is %g, not 1: the emulated modules are scaled, the "
            "HCAL modules are not;\n  HCAL fractions and savings are only meaningful at "
            "time_scale 1\n",
            scale);
}

static void mh__print_table(const mh__runinfo *ri, size_t n, const mh__runinfo *base,
                            const mh_study_meta *meta, FILE *out)
{
    double scale = meta && meta->time_scale > 0 ? meta->time_scale : 1.0;
    if (scale != 1.0)
        mh__scale_warning(scale, out);
    mh__print_meta(meta, out);
    fprintf(out, "%-18s %9s %8s %8s %9s %6s %8s %6s %9s %8s %8s %8s %6s\n", "variant",
            "CPU ms/ev", "p50 ms", "p99 ms", "events/s", "HCAL", "savings", "ideal", "ach/ideal",
            "HCAL res", "jet res", "max dacc", "failed");
    /* Variants first, then the streams scan under its own heading. */
    bool heading = false;
    for (size_t k = 0; k < 2 * n; k++) {
        const mh__runinfo *x = &ri[k % n];
        if ((x->run->role == MH_STUDY_ROLE_VARIANT) != (k < n))
            continue;
        if (k >= n && !heading) {
            fprintf(out, "-- streams scan (throughput vs events in flight):\n");
            heading = true;
        }
        /* A scan row is compared with the baseline's scan run at the same
         * streams, not with the baseline itself: CPU per event moves with
         * the load between runs, and the baseline against itself at other
         * streams would show that noise as savings. No such run: "-". */
        const mh__runinfo *ref = k < n ? base : mh__scan_ref(ri, n, base, x);
        double savings = ref && ref->cpu_ms > 0 ? 1.0 - x->cpu_ms / ref->cpu_ms : NAN;
        double ideal = ref ? ref->hcal_cpu_fraction : NAN;
        double max_change;
        const char *max_path;
        json_decref(mh__accept_changes(x, base, &max_change, &max_path));
        fprintf(out, "%-18s %9.2f %8.2f %8.2f %9.1f %5.1f%%", x->run->name, x->cpu_ms, x->p50,
                x->p99, x->throughput_hz, 100 * x->hcal_cpu_fraction);
        if (isfinite(savings))
            fprintf(out, " %+7.1f%% %5.1f%% %9.2f", 100 * savings, 100 * ideal,
                    ideal > 0 ? savings / ideal : NAN);
        else
            fprintf(out, " %8s %6s %9s", "-", "-", "-");
        mh__pct(out, 8, x->res_channel);
        mh__pct(out, 8, x->res_jet);
        mh__pct(out, 8, max_path ? max_change : NAN);
        fprintf(out, " %6.0f\n", x->failed);
    }
    fprintf(out,
            "baseline: %s; savings = 1 - CPU/baseline CPU per event; ideal = the baseline's "
            "HCAL share (Amdahl bound);\nin the streams scan both are against the baseline's "
            "scan run at the same streams (\"-\" for the baseline's own)\n"
            "HCAL res = sigma_eff/median of rechit/true energy per channel (> 0.5 GeV), jet res "
            "= same for reco/gen jet pt\n(validation module); max dacc = the largest change of "
            "a path's accept rate vs the baseline, in points of rate\n",
            base->run->name);
}

mh_status mh_study_summarize(const mh_study_run *runs, size_t n, const mh_study_meta *meta,
                             const mh_study_farm_opts *farm, const char *summary_path, FILE *out,
                             char *err, size_t errlen)
{
    mh_status st = MH_OK;
    json_t *root = NULL;
    mh__runinfo *ri = calloc(n ? n : 1, sizeof *ri);
    if (!ri)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    size_t loaded = 0;
    for (; loaded < n; loaded++) {
        st = mh__load(&runs[loaded], &ri[loaded], err, errlen);
        if (st != MH_OK) {
            mh_report_free(ri[loaded].report);
            goto out_free;
        }
    }
    const mh__runinfo *base = NULL;
    for (size_t i = 0; i < n && !base; i++)
        if (runs[i].role == MH_STUDY_ROLE_VARIANT && runs[i].kind == MH_STUDY_MAHI)
            base = &ri[i];
    for (size_t i = 0; i < n && !base; i++)
        if (runs[i].role == MH_STUDY_ROLE_VARIANT)
            base = &ri[i];
    if (!base) {
        st = mh_fail(err, errlen, MH_INVALID, "a study needs at least one variant");
        goto out_free;
    }
    root = json_object();
    json_object_set_new(root, "schema_version", json_integer(MH__SUMMARY_SCHEMA_VERSION));
    json_object_set_new(root, "tool", json_string("minihlt"));
    const char *config = meta ? meta->config : NULL;
    double scale = meta && meta->time_scale > 0 ? meta->time_scale : 1.0;
    json_object_set_new(root, "config", config ? json_string(config) : json_null());
    json_object_set_new(root, "time_scale", json_real(scale));
    json_t *sets = json_array();
    for (size_t i = 0; meta && i < meta->nsets; i++)
        json_array_append_new(sets, json_string(meta->sets[i]));
    json_object_set_new(root, "overrides", sets);
    json_object_set_new(root, "baseline", json_string(base->run->name));
    json_t *variants = json_array();
    json_object_set_new(root, "variants", variants);
    for (size_t i = 0; i < n; i++)
        if (runs[i].role == MH_STUDY_ROLE_VARIANT)
            json_array_append_new(variants, mh__variant_json(&ri[i], base));
    json_object_set_new(root, "scans", mh__scans(ri, n, base));
    mh__print_table(ri, n, base, meta, out);
    if (scale != 1.0)
        mh__scale_warning(scale, out);
    json_t *fj = mh__farm(ri, n, base, farm, out);
    json_object_set_new(root, "farm", fj);
    if (farm && farm->farm_json) {
        if (!json_is_object(fj)) {
            fj = json_object();
            json_object_set_new(root, "farm", fj);
        }
        st = mh__farm_measured(fj, farm->farm_json, out, err, errlen);
        if (st != MH_OK)
            goto out_free;
    }
    st = mh_json_write_atomic(root, summary_path, err, errlen);
out_free:
    json_decref(root);
    for (size_t i = 0; i < loaded; i++)
        mh_report_free(ri[i].report);
    free(ri);
    return st;
}
