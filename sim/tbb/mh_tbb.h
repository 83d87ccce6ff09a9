/* mh_tbb.h - the C shim over oneTBB: one task arena with T threads and one
 * task group per instance, C callbacks as tasks.
 *
 * This is the only C++ in minihlt (tbb.cpp). No oneTBB type crosses this
 * header and every entry point catches C++ exceptions and turns them into an
 * mh_status, so C code never sees an exception.
 *
 * Model: T oneTBB worker threads run the tasks; the thread that calls
 * mh_tbb_wait() sleeps until the owner releases it, so exactly T threads
 * work. A task is a C function and its argument. mh_tbb_run() may be called
 * from any thread: from a task of this arena it spawns onto the calling
 * worker's own deque (cheap, LIFO, cache-warm); from any other thread (a
 * timer, a network or a device callback thread) it enqueues into the arena
 * without joining it, so that thread never blocks.
 *
 * The arena keeps running until the owner says it is done: mh_tbb_hold()
 * keeps mh_tbb_wait() from returning even when no task is queued (e.g. while
 * all events wait on external work), and mh_tbb_release() lets it return
 * once every task has finished.
 */
#ifndef MH_TBB_H
#define MH_TBB_H

#include <stddef.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mh_tbb mh_tbb;
typedef void (*mh_tbb_fn)(void *arg);

/* Number of hardware threads oneTBB would use by default (>= 1). */
unsigned mh_tbb_default_concurrency(void);

/* Creates an arena of `threads` worker threads (>= 1) and its task group. Raises oneTBB's process-wide thread limit if
 * threads exceeds it. *out is owned by the caller (mh_tbb_free). */
mh_status mh_tbb_create(unsigned threads, mh_tbb **out, char *err, size_t errlen);

/* Frees; accepts NULL. Every task must have finished (mh_tbb_wait returned). */
void mh_tbb_free(mh_tbb *t);

/* Runs fn(arg) as a task of t, from any thread. Returns MH_NOMEM (or
 * MH_INTERNAL) if the task could not be created; fn is then not called. */
mh_status mh_tbb_run(mh_tbb *t, mh_tbb_fn fn, void *arg);

/* Arms the hold: mh_tbb_wait() will not return before mh_tbb_release().
 * Call before the tasks that will eventually call mh_tbb_release(). */
mh_status mh_tbb_hold(mh_tbb *t, char *err, size_t errlen);

/* Drops the hold, from any thread, at most once per mh_tbb_hold(). */
void mh_tbb_release(mh_tbb *t);

/* Sleeps until the hold is released, then waits (in the arena) for every
 * task still running to finish. */
mh_status mh_tbb_wait(mh_tbb *t, char *err, size_t errlen);

/* Number of threads of the arena. */
unsigned mh_tbb_threads(const mh_tbb *t);

#ifdef __cplusplus
}
#endif
#endif
