/* mh_emulate.h - pieces of the `emulated` plugin that are framework logic:
 * drawing a per-event time from a distribution, burning thread CPU time for
 * real, and a timer thread that completes asynchronous work at a deadline
 * (what a device queue or a network round trip would do), so that the
 * plugin stays a thin adapter. */
#ifndef MH_EMULATE_H
#define MH_EMULATE_H

#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mh_emu_dist {
    MH_EMU_FIXED,        /* always mean */
    MH_EMU_NORMAL,       /* mean, sigma; truncated at 0 */
    MH_EMU_LOGNORMAL,    /* a log-normal with this mean and standard deviation */
    MH_EMU_EXPONENTIAL   /* mean; sigma is ignored */
} mh_emu_dist;

/* Parses "fixed", "normal", "lognormal", "exponential". MH_INVALID otherwise. */
mh_status mh_emu_dist_parse(const char *name, mh_emu_dist *out);

/* A deterministic draw for (seed, key) (key: e.g. the event number), so
 * that a run's emulated times do not depend on thread scheduling. >= 0. */
double mh_emu_draw(mh_emu_dist d, double mean, double sigma, uint64_t seed, uint64_t key);

/* A uniform number in [0, 1) for (seed, key), deterministic. */
double mh_emu_uniform(uint64_t seed, uint64_t key);

/* Keeps the calling thread busy with real arithmetic until its thread CPU
 * time advanced by ns (so it shows as CPU time, as real work would). */
void mh_emu_burn_ns(uint64_t ns);

/* A timer thread: calls fn(arg) at (or just after) a CLOCK_MONOTONIC
 * deadline, in deadline order, on its own thread. */
typedef struct mh_timer mh_timer;
typedef void (*mh_timer_fn)(void *arg);

mh_status mh_timer_create(mh_timer **out, char *err, size_t errlen);
/* Schedules fn(arg) at deadline_ns (mh_now_ns() clock). Thread-safe. */
mh_status mh_timer_add(mh_timer *t, uint64_t deadline_ns, mh_timer_fn fn, void *arg);
/* Runs the pending callbacks now (so no completion is lost), stops the
 * thread and frees. Accepts NULL. */
void mh_timer_free(mh_timer *t);

#ifdef __cplusplus
}
#endif
#endif
