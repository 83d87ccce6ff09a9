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
} mh__runinfo;

static double mh__num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
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
    double cores_base = l1 * base->cpu_ms / 1000.0;
    double cores_new = l1 * best->cpu_ms / 1000.0;
    json_t *f = json_object();
    json_object_set_new(f, "l1_rate_hz", json_real(l1));
    json_object_set_new(f, "baseline", json_string(base->run->name));
    json_object_set_new(f, "variant", json_string(best->run->name));
    json_object_set_new(f, "cores_baseline", mh__jnum(cores_base));
    json_object_set_new(f, "cores_variant", mh__jnum(cores_new));
    json_object_set_new(f, "cores_saved", mh__jnum(cores_base - cores_new));
    fprintf(out, "\nFarm estimate at an L1 accept rate of %.0f Hz (CPU time per event x rate):\n",
            l1);
    fprintf(out, "  %-14s %8.1f cores\n  %-14s %8.1f cores\n  saved          %8.1f cores\n",
            base->run->name, cores_base, best->run->name, cores_new, cores_base - cores_new);
    const mh_study_run *r = best->run;
    if (r->kind == MH_STUDY_REMOTE && r->have_server && r->server_requests > 0) {
        double ms_req = r->server_compute_us / r->server_requests / 1000.0;
        double capacity = ms_req > 0 ? inst * 1000.0 / ms_req : NAN;
        /* One request per event: a client process sends at its event rate. */
        double per_client = best->throughput_hz;
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
                "  one client process here sends %.1f requests/s -> one server feeds about "
                "%.0f such processes\n"
                "  servers needed for %.0f Hz: %.0f\n",
                ms_req, capacity, inst, inst == 1 ? "" : "s", per_client, clients, l1, servers);
    }
    return f;
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

static void mh__print_table(const mh__runinfo *ri, size_t n, const mh__runinfo *base, FILE *out)
{
    fprintf(out, "%-18s %9s %8s %8s %10s %6s %8s %6s %9s %7s\n", "variant", "CPU ms/ev",
            "p50 ms", "p99 ms", "events/s", "HCAL", "savings", "ideal", "ach/ideal", "failed");
    for (size_t i = 0; i < n; i++) {
        const mh__runinfo *x = &ri[i];
        double savings = base->cpu_ms > 0 ? 1.0 - x->cpu_ms / base->cpu_ms : NAN;
        double ideal = base->hcal_cpu_fraction;
        fprintf(out, "%-18s %9.2f %8.2f %8.2f %10.1f %5.1f%% %+7.1f%% %5.1f%% %9.2f %7.0f\n",
                x->run->name, x->cpu_ms, x->p50, x->p99, x->throughput_hz,
                100 * x->hcal_cpu_fraction, 100 * savings, 100 * ideal,
                ideal > 0 ? savings / ideal : NAN, x->failed);
    }
    fprintf(out, "baseline: %s; savings = 1 - CPU/baseline CPU per event; ideal = the baseline's "
                 "HCAL share (Amdahl bound)\n",
            base->run->name);
}

mh_status mh_study_summarize(const mh_study_run *runs, size_t n, const char *config,
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
    json_object_set_new(root, "config", config ? json_string(config) : json_null());
    json_object_set_new(root, "baseline", json_string(base->run->name));
    json_t *variants = json_array();
    json_object_set_new(root, "variants", variants);
    for (size_t i = 0; i < n; i++)
        if (runs[i].role == MH_STUDY_ROLE_VARIANT)
            json_array_append_new(variants, mh__variant_json(&ri[i], base));
    json_object_set_new(root, "scans", mh__scans(ri, n, base));
    mh__print_table(ri, n, base, out);
    json_object_set_new(root, "farm", mh__farm(ri, n, base, farm, out));
    st = mh_json_write_atomic(root, summary_path, err, errlen);
out_free:
    json_decref(root);
    for (size_t i = 0; i < loaded; i++)
        mh_report_free(ri[i].report);
    free(ri);
    return st;
}
