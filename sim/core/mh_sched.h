/* mh_sched.h - the framework: plugin registry, module parameters and the
 * multithreaded event scheduler (CMSSW-like: streams x threads, paths of
 * modules, on-demand producers, ExternalWork). Design in sim/core/README.md.
 *
 * Typical use (what `minihlt run` does):
 *   mh_plugins_load_default(&pl)          find and dlopen the plugins
 *   mh_menu_load(file, overrides, &menu)  the YAML menu (sim/config)
 *   mh_sched_create(menu, pl, &s)         resolve types, validate params,
 *                                         create modules, check the graph
 *   mh_sched_run(s)                       the event loop, then end_job()
 *   mh_sched_timing(s)                    reports (sim/timing)
 *   mh_sched_free(s); mh_menu_free(menu); mh_plugins_free(pl)
 */
#ifndef MH_SCHED_H
#define MH_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/mh_config.h"
#include "core/mh_module.h"
#include "core/mh_status.h"
#include "timing/mh_timing.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- plugin registry ------------------------------------------------- */

typedef struct mh_plugins mh_plugins;

/* Scans dirs (in order) for *.so files and dlopen()s each one
 * (RTLD_NOW | RTLD_LOCAL), checking the entry symbol, the ABI version and
 * the struct sizes of the plugin and its module types. A file that fails is
 * not an error here: it is recorded (mh_plugins_failure) and named when a
 * menu asks for a type nobody provides. A type name found twice: the first
 * directory wins. A missing directory is skipped. *out owned by the caller. */
mh_status mh_plugins_load(const char *const *dirs, size_t ndirs, mh_plugins **out, char *err,
                          size_t errlen);

/* The default search path: every directory of $MINIHLT_PLUGIN_PATH
 * (colon-separated), then dirname(/proc/self/exe)/../plugins. */
mh_status mh_plugins_load_default(mh_plugins **out, char *err, size_t errlen);

/* dlclose()s everything; accepts NULL. Call after every mh_sched using it
 * was freed. */
void mh_plugins_free(mh_plugins *pl);

/* The module type called name, NULL if none; *plugin_name (may be NULL)
 * receives the name of the plugin providing it. */
const mh_module_type *mh_plugins_find(const mh_plugins *pl, const char *name,
                                      const char **plugin_name);

/* Loaded plugins: count, i-th plugin table and its file. */
size_t mh_plugins_count(const mh_plugins *pl);
const mh_plugin *mh_plugins_at(const mh_plugins *pl, size_t i, const char **path);

/* Files that failed to load: count, i-th file and its one-line reason. */
size_t mh_plugins_failures(const mh_plugins *pl);
void mh_plugins_failure(const mh_plugins *pl, size_t i, const char **path, const char **reason);

/* The directories searched, joined with ':' (for messages). */
const char *mh_plugins_search_path(const mh_plugins *pl);

/* "int", "double", "bool", "string", "string list", "map". */
const char *mh_param_type_name(mh_param_type t);

/* ---- scheduler ------------------------------------------------------- */

typedef struct mh_sched mh_sched;

/* Builds the process described by menu: resolves every module's type in
 * pl, validates its parameters against the type's mh_param_def list
 * (unknown key, missing required key, wrong type: MH_PARAM naming the
 * module and the key, with FILE:LINE:COL), creates the module instances,
 * checks that every consumed product has a producer of the same type and
 * that the dependency graph has no cycle, opens the input sample and
 * creates the timing service. menu and pl must outlive the scheduler.
 * *out owned by the caller (mh_sched_free). */
mh_status mh_sched_create(const mh_menu *menu, const mh_plugins *pl, mh_sched **out, char *err,
                          size_t errlen);

/* Runs the event loop to the end of the input (or --events), then every
 * module's end_job(). `threads` worker threads run the events; the calling
 * thread sleeps meanwhile.
 * mh_timing_totals_get() on mh_sched_timing() may be polled meanwhile from
 * another thread (a progress line). Returns MH_OK when the run completed, also if some
 * events failed under `on_error: skip-event` (see the timing totals);
 * MH_MODULE if an event failed under `on_error: stop` (detail: event,
 * module label and message); MH_IO/MH_CORRUPT/... if the source failed, or
 * the failing end_job()'s status. Call once. */
mh_status mh_sched_run(mh_sched *s, char *err, size_t errlen);

/* The timing service of the run (owned by s). */
const mh_timing *mh_sched_timing(const mh_sched *s);

/* Threads and streams actually used (defaults resolved). */
unsigned mh_sched_threads(const mh_sched *s);
unsigned mh_sched_streams(const mh_sched *s);

/* Events the source will deliver (after skip, loop and events). */
uint64_t mh_sched_total_events(const mh_sched *s);

/* Lines modules added with host->report_text(), printed after the table. */
void mh_sched_report_text(const mh_sched *s, FILE *out);

/* The JSON report (mh_timing_report_json) plus the sections modules added
 * with host->report_section() under "sections". */
mh_status mh_sched_report_json(const mh_sched *s, const char *path, char *err, size_t errlen);

/* Destroys the modules and frees; accepts NULL. */
void mh_sched_free(mh_sched *s);

#ifdef __cplusplus
}
#endif
#endif
