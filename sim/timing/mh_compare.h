/* mh_compare.h - loading minihlt JSON timing reports and comparing two runs
 * (`minihlt compare BASE.json NEW.json`).
 *
 * "HLT time per event" is the report's total_cpu_ms_per_event: the summed
 * thread CPU time of all module calls divided by the events read. Changes
 * are (new - base) / base in percent; they are NaN (printed "n/a", JSON null)
 * when the base value is 0.
 */
#ifndef MH_COMPARE_H
#define MH_COMPARE_H

#include <stdio.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mh_report mh_report;
struct json_t;

/* Reads and validates a report written by mh_timing_report_json (schema
 * version 1). Errors, all naming the file:
 *   MH_IO       unreadable ("cannot read: No such file or directory")
 *   MH_FORMAT   not JSON or not a minihlt report, or a required key missing
 *               ("missing key 'modules'") or of the wrong type
 *   MH_VERSION  another schema_version
 * *out owned by the caller (mh_report_free). */
mh_status mh_report_load(const char *path, mh_report **out, char *err, size_t errlen);
void mh_report_free(mh_report *r);

/* The validated JSON tree of a loaded report (jansson), owned by r: for
 * tools that read further keys (minihlt study). */
const struct json_t *mh_report_json(const mh_report *r);

/* Writes a JSON value to path atomically (temporary file in the same
 * directory, fsync, rename), indented. Does not take ownership of root. */
mh_status mh_json_write_atomic(struct json_t *root, const char *path, char *err, size_t errlen);

/* The headline numbers of a comparison. */
typedef struct mh_compare_summary {
    double base_cpu_ms, new_cpu_ms, cpu_change_pct;      /* HLT time per event */
    double base_real_ms, new_real_ms, real_change_pct;   /* summed module real time */
    double base_throughput_hz, new_throughput_hz, throughput_change_pct;
} mh_compare_summary;

void mh_compare_summary_get(const mh_report *base, const mh_report *new_run,
                            mh_compare_summary *out);

/* Writes "HLT time per event -X.X%, throughput +Y.Y%" (no newline) into buf. */
void mh_compare_headline(const mh_compare_summary *s, char *buf, size_t len);

/* The readable comparison: modules, paths (time and accept rate), groups,
 * throughput, ending with the headline line. */
void mh_compare_print(const mh_report *base, const mh_report *new_run, FILE *out);

/* The same as JSON (written atomically to path; layout in sim/timing/README.md). */
mh_status mh_compare_write_json(const mh_report *base, const mh_report *new_run, const char *path,
                                char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
