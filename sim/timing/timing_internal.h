/* timing_internal.h - shared internals of sim/timing (not for other folders). */
#ifndef MH_TIMING_INTERNAL_H
#define MH_TIMING_INTERNAL_H

#include <jansson.h>

#include "core/mh_status.h"

/* The report format this code writes and reads. */
#define MH__REPORT_SCHEMA_VERSION 1
#define MH__REPORT_TOOL "minihlt"
#ifndef MH_VERSION_STRING
#define MH_VERSION_STRING "0.1.0"
#endif

/* Writes root to path atomically: a temporary file in the same directory
 * (mkstemp), fsync, then rename over path; the temporary is removed on any
 * failure. Does not take ownership of root. */
mh_status mh__json_write_atomic(json_t *root, const char *path, char *err, size_t errlen);

/* (new - base) / base * 100, or NaN when base is 0 or either is not finite. */
double mh__pct_change(double base, double new_value);

#endif
