/* mh_study.h - the HLT savings study (`minihlt study`): which HCAL
 * reconstruction variants to run, and the summary built from their timing
 * reports.
 *
 * A study runs the same menu and sample once per variant (the HCAL reco
 * module swapped by a `--set modules.LABEL={...}` override), plus optional
 * scans (streams, round-trip time), then summarises: HLT CPU time per event,
 * latency, throughput, the HCAL fraction, the savings against the baseline
 * (MAHI on the CPU) and the ideal savings (the baseline's HCAL share: the
 * Amdahl bound of removing HCAL reco from the CPU entirely), with the
 * physics beside it (path accept rates, HCAL energy resolution when the
 * menu has a validation module). Definitions: sim/study/README.md.
 */
#ifndef MH_STUDY_H
#define MH_STUDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MH_STUDY_NAME_MAX 64
#define MH_STUDY_MAX_RUNS 64

/* The HCAL reco implementations a study knows. */
typedef enum mh_study_kind {
    MH_STUDY_MAHI,        /* hcal_mahi: the MAHI fit on the CPU (the baseline) */
    MH_STUDY_FACILE,      /* hcal_facile: the FACILE network on the CPU */
    MH_STUDY_OPENCL,      /* hcal_opencl, backend facile */
    MH_STUDY_OPENCL_MAHI, /* hcal_opencl, backend mahi */
    MH_STUDY_REMOTE       /* hcal_remote against a local `minihlt serve` */
} mh_study_kind;

typedef enum mh_study_role {
    MH_STUDY_ROLE_VARIANT,      /* one entry of variants[] */
    MH_STUDY_ROLE_SCAN_STREAMS  /* throughput vs streams scan point */
} mh_study_role;

/* One run of the menu. */
typedef struct mh_study_run {
    char name[MH_STUDY_NAME_MAX];   /* "mahi", "remote_rtt10", "facile_s4" */
    mh_study_kind kind;
    mh_study_role role;
    double rtt_ms;                  /* remote only */
    unsigned streams;               /* 0 = the menu's */
    /* Filled after the run: the report file, and for remote runs the
     * server's counters read from its /metrics before it stopped. */
    char report[4096];
    bool have_server;
    double server_requests;         /* nv_inference_request_success */
    double server_execs;            /* nv_inference_exec_count */
    double server_compute_us;       /* nv_inference_compute_infer_duration_us */
    double server_queue_us;         /* nv_inference_queue_duration_us */
} mh_study_run;

/* The kind named by text ("mahi", "facile", "opencl", "opencl_mahi",
 * "remote"); MH_INVALID with the list of known names otherwise. */
mh_status mh_study_kind_parse(const char *text, mh_study_kind *out, char *err, size_t errlen);
const char *mh_study_kind_name(mh_study_kind k);

/* Expands the options into the runs to make: one per variant in
 * variants_csv (remote expanded once per value of rtt_csv, named
 * remote_rttN), then, when streams_csv is non-empty, one scan run per
 * streams value for each variant of scan_csv (default: the baseline and
 * the first remote run with an RTT > 0, else the variant after the
 * baseline: asynchronous offload is where more streams than threads
 * pay). Duplicate variant names are errors. *nruns <= max. */
mh_status mh_study_plan(const char *variants_csv, const char *rtt_csv, const char *streams_csv,
                        const char *scan_csv, mh_study_run *runs, size_t max, size_t *nruns,
                        char *err, size_t errlen);

/* The YAML flow mapping that replaces the HCAL reco module for a run, e.g.
 * "{plugin: hcal_remote, servers: [http://127.0.0.1:8000], emulate_rtt_ms: 10,
 * fallback: cpu}". server_url is used by remote runs only. Writes into buf;
 * MH_INVALID if it does not fit. */
mh_status mh_study_module_yaml(const mh_study_run *run, const char *server_url,
                               const char *model_dir, char *buf, size_t len, char *err,
                               size_t errlen);

/* Farm sizing inputs. */
typedef struct mh_study_farm_opts {
    double l1_rate_hz;       /* events/s entering the HLT (default 100 kHz) */
    unsigned server_instances; /* model instances per server (default 1) */
    /* HLT CPU time per event of the farm (ms; 0: the measured baseline's).
     * The measured savings fraction is applied to it: cores = rate x
     * this x (1 - savings), and a client's request rate is scaled by
     * measured baseline / this. */
    double cpu_ms_per_event;
    /* Optional: the JSON written by `scripts/farm.sh --json` on this
     * machine; its measured saturation is put beside the estimate (farm
     * .measured). NULL: none. */
    const char *farm_json;
} mh_study_farm_opts;

/* What the runs were made from, recorded in the summary and the table. */
typedef struct mh_study_meta {
    const char *config;        /* the menu path (NULL: none recorded) */
    /* The effective process.time_scale of the runs (the menu's with the
     * --set overrides applied; 0 is read as 1). Emulated costs scale with
     * it, the HCAL modules do not: at any other value than 1 the HCAL
     * fractions and savings are not those of the real menu, and the table
     * says so. */
    double time_scale;
    const char *const *sets;   /* the --set overrides passed to every run */
    size_t nsets;
} mh_study_meta;

/* Builds the summary of finished runs: writes DIR/summary.json (schema in
 * sim/study/README.md, atomically) and prints the readable table and farm
 * estimate to out. runs[0..n) must have their report files; the baseline
 * is the first variant run of kind MAHI (else the first variant run).
 * meta (NULL: none) is recorded in the summary. Errors name the report
 * file (or farm JSON) that could not be read. */
mh_status mh_study_summarize(const mh_study_run *runs, size_t n, const mh_study_meta *meta,
                             const mh_study_farm_opts *farm, const char *summary_path, FILE *out,
                             char *err, size_t errlen);

/* Reads one counter from a Prometheus text exposition (the body of a
 * server's /metrics): the sum over all label sets of metric `name` whose
 * labels contain model="MODEL" (model NULL: all). Returns 0 when absent. */
double mh_study_metric_sum(const char *text, const char *name, const char *model);

#ifdef __cplusplus
}
#endif
#endif
