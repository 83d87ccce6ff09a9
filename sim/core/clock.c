/* clock.c - the scheduler's clock for module timing: the time-stamp counter
 * where it is a reliable clock (x86-64 with constant_tsc and nonstop_tsc,
 * what Linux itself then uses as clocksource), else CLOCK_MONOTONIC.
 *
 * Why: a module call is timed at every boundary, and on virtual machines
 * clock_gettime() costs ~20-25 ns of CPU while rdtsc costs ~10 ns; for a
 * menu of trivial modules that is a third of the framework's cost per call.
 * The counter is converted to ns with a factor calibrated against
 * CLOCK_MONOTONIC over a few ms, once per process; only differences of these
 * readings are used (durations), never mixed with other clocks. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/sched_internal.h"

mh__clock_cfg mh__clock_config;

static uint64_t mh__mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static bool mh__tsc_reliable(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5))
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
}

/* One (tsc, monotonic) pair: the counter read between two clock reads that
 * are close together. A pair whose reads are far apart (the thread was
 * preempted in between, common on a loaded machine) is read again: it would
 * skew the factor by the length of the preemption. */
static void mh__pair(uint64_t *tsc, uint64_t *ns)
{
    for (int tries = 0;; tries++) {
        uint64_t a = mh__mono();
        *tsc = __builtin_ia32_rdtsc();
        uint64_t b = mh__mono();
        *ns = a + (b - a) / 2;
        if (b - a < 2000 || tries >= 1000)
            return;
    }
}
#endif

static void mh__clock_setup(void)
{
    mh__clock_config.use_tsc = false;
#if defined(__x86_64__)
    if (!mh__tsc_reliable())
        return;
    uint64_t t0, n0, t1, n1;
    mh__pair(&t0, &n0);
    do
        mh__pair(&t1, &n1);
    while (n1 - n0 < 10000000u); /* 10 ms, pairs good to 1 us: factor good to 1e-4 */
    if (t1 <= t0)
        return;
    /* ns = tsc * mult / 2^32 */
    mh__clock_config.mult = (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0));
    mh__clock_config.use_tsc = mh__clock_config.mult > 0;
#endif
}

void mh__clock_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, mh__clock_setup);
}

uint64_t mh__clock_mono(void)
{
    return mh__mono();
}
