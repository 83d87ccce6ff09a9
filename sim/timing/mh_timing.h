/* mh_timing.h - the timing service: what the scheduler measures, and the
 * reports built from it (in the image of CMSSW's FastTimerService).
 *
 * The scheduler creates one mh_timing per run with the menu's modules,
 * paths and groups, then reports every module call, path result and event
 * outcome. All record functions are thread-safe and cheap (no global lock
 * on the hot path): worker threads call them concurrently.
 *
 * Event accounting: every event read from the source ends in exactly one of
 *   MH_EVENT_ACCEPTED  processed, accepted by at least one path
 *   MH_EVENT_REJECTED  processed, accepted by no path
 *   MH_EVENT_FAILED    a module failed (label and reason are recorded)
 * and the report's `processed` = accepted + rejected; read = processed + failed.
 */
#ifndef MH_TIMING_H
#define MH_TIMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic wall clock and the calling thread's CPU time, in ns. */
uint64_t mh_now_ns(void);
uint64_t mh_thread_cpu_ns(void);

typedef enum mh_timing_phase {
    MH_PHASE_ACQUIRE,   /* the module's acquire() call (starts external work) */
    MH_PHASE_WAIT,      /* from acquire's return to the completion signal (real time only) */
    MH_PHASE_PRODUCE    /* produce() or filter() */
} mh_timing_phase;

typedef enum mh_event_outcome {
    MH_EVENT_ACCEPTED,
    MH_EVENT_REJECTED,
    MH_EVENT_FAILED
} mh_event_outcome;

typedef struct mh_timing_group {
    const char *name;
    const size_t *modules;     /* module indices */
    size_t nmodules;
} mh_timing_group;

typedef struct mh_timing_setup {
    const char *const *module_labels;   /* nmodules */
    const char *const *module_plugins;  /* module type of each, same order */
    size_t nmodules;
    const char *const *path_names;      /* trigger paths, then end paths */
    size_t npaths;
    size_t nend_paths;                  /* the last nend_paths of path_names */
    const mh_timing_group *groups;
    size_t ngroups;
    unsigned threads;
    unsigned streams;
} mh_timing_setup;

typedef struct mh_timing mh_timing;

/* Copies everything it needs from setup. *out owned by the caller. */
mh_status mh_timing_create(const mh_timing_setup *setup, mh_timing **out, char *err, size_t errlen);
void mh_timing_free(mh_timing *t);

/* Marks the start and end of the event loop (wall time, process CPU). */
void mh_timing_begin(mh_timing *t);
void mh_timing_end(mh_timing *t);

/* The same with explicit clock readings (mh_now_ns() and process CPU ns, as
 * of clock_gettime(CLOCK_PROCESS_CPUTIME_ID)): for a caller that already read
 * the clocks, for tests and for rebuilding a report from recorded numbers.
 * (Addition to the original contract.) */
void mh_timing_begin_at(mh_timing *t, uint64_t wall_ns, uint64_t process_cpu_ns);
void mh_timing_end_at(mh_timing *t, uint64_t wall_ns, uint64_t process_cpu_ns);

/* One module call phase. path is the index of the path on whose behalf the
 * module ran (the first path that needed it), or -1 (end paths count as
 * paths too). For MH_PHASE_WAIT cpu_ns is 0. */
void mh_timing_module(mh_timing *t, size_t module, long path, mh_timing_phase phase,
                      uint64_t real_ns, uint64_t cpu_ns);

/* The result of one path for one processed event: either the path ran
 * (accepted or rejected) or its prescale kept it from running
 * (mh_timing_path_prescaled, an addition to the original contract). The
 * scheduler calls one of them for every path of every event that did not
 * fail, so per path accepted + rejected + prescaled = processed events. */
void mh_timing_path(mh_timing *t, size_t path, bool accepted);
void mh_timing_path_prescaled(mh_timing *t, size_t path);

/* One event finished. latency_ns: from leaving the source to the end of its
 * end paths. For failures, module is the failing module's label and reason
 * its message (both copied; only the first few distinct reasons are kept). */
void mh_timing_event(mh_timing *t, mh_event_outcome outcome, uint64_t latency_ns,
                     const char *module, const char *reason);

/* A named counter of a module (e.g. "fallbacks", "retries"): added to the
 * report under that module. name must be a string literal or outlive t. */
void mh_timing_count(mh_timing *t, size_t module, const char *name, uint64_t delta);

/* The reports merge every thread's records: call them after the event loop
 * ended (every record call has returned). Definitions (per event = per
 * event read, fractions, percentiles) in sim/timing/README.md.
 *
 * The readable report (modules sorted by time, paths with accept counts and
 * rates, groups with fractions, latency percentiles, throughput). */
void mh_timing_report_text(const mh_timing *t, FILE *out);

/* Writes the JSON report (schema in sim/timing/README.md) to path, atomically
 * (temporary name + rename). config_yaml is the menu text that produced the
 * run (may be NULL), input the sample path (may be NULL). */
mh_status mh_timing_report_json(const mh_timing *t, const char *path, const char *config_yaml,
                                const char *input, char *err, size_t errlen);

/* Totals, for tests and the CLI's exit status. Safe to call at any time,
 * also while workers record (e.g. for a progress line). */
typedef struct mh_timing_totals {
    uint64_t accepted, rejected, failed;
    double wall_s;
    double throughput_hz;
} mh_timing_totals;
void mh_timing_totals_get(const mh_timing *t, mh_timing_totals *out);

#ifdef __cplusplus
}
#endif
#endif
