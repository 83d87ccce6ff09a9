/* emulate.c - distributions, CPU burning and the timer thread of the
 * emulated modules (mh_emulate.h). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mh_emulate.h"
#include "timing/mh_timing.h"

mh_status mh_emu_dist_parse(const char *name, mh_emu_dist *out)
{
    static const char *const names[] = {"fixed", "normal", "lognormal", "exponential"};
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, names[i])) {
            *out = (mh_emu_dist)i;
            return MH_OK;
        }
    return MH_INVALID;
}

/* splitmix64: a good 64-bit mix of (seed, key) with no state to share. */
static uint64_t mh__mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double mh__u01(uint64_t *state)
{
    *state = mh__mix(*state);
    return (double)(*state >> 11) * (1.0 / 9007199254740992.0);
}

double mh_emu_uniform(uint64_t seed, uint64_t key)
{
    uint64_t s = mh__mix(seed) ^ key;
    return mh__u01(&s);
}

double mh_emu_draw(mh_emu_dist d, double mean, double sigma, uint64_t seed, uint64_t key)
{
    uint64_t s = mh__mix(seed) ^ mh__mix(key);
    double v = mean;
    switch (d) {
    case MH_EMU_FIXED:
        break;
    case MH_EMU_NORMAL:
    case MH_EMU_LOGNORMAL: {
        double u1 = mh__u01(&s), u2 = mh__u01(&s);
        double z = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-300)) * cos(2.0 * M_PI * u2);
        if (d == MH_EMU_NORMAL) {
            v = mean + sigma * z;
        } else if (mean > 0) {
            double s2 = log(1.0 + (sigma * sigma) / (mean * mean));
            v = exp(log(mean) - 0.5 * s2 + sqrt(s2) * z);
        }
        break;
    }
    case MH_EMU_EXPONENTIAL: {
        double u = mh__u01(&s);
        v = -mean * log(1.0 - u);
        break;
    }
    }
    return v > 0 && isfinite(v) ? v : 0.0;
}

void mh_emu_burn_ns(uint64_t ns)
{
    if (!ns)
        return;
    uint64_t end = mh_thread_cpu_ns() + ns;
    volatile double x = 1.0;
    do {
        /* ~1 us of arithmetic between clock reads keeps the overshoot small
         * and the clock's own cost negligible. */
        for (int i = 0; i < 300; i++)
            x = x * 1.0000001 + 1e-9;
    } while (mh_thread_cpu_ns() < end);
}

/* ---- timer thread ---- */

typedef struct mh__timer_item {
    uint64_t deadline;
    mh_timer_fn fn;
    void *arg;
} mh__timer_item;

struct mh_timer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    mh__timer_item *heap; /* binary min-heap on deadline */
    size_t n, cap;
    bool stop;
};

static void mh__heap_push(mh_timer *t, mh__timer_item it)
{
    size_t i = t->n++;
    while (i && t->heap[(i - 1) / 2].deadline > it.deadline) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = it;
}

static mh__timer_item mh__heap_pop(mh_timer *t)
{
    mh__timer_item top = t->heap[0], last = t->heap[--t->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->n)
            break;
        if (c + 1 < t->n && t->heap[c + 1].deadline < t->heap[c].deadline)
            c++;
        if (t->heap[c].deadline >= last.deadline)
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (t->n)
        t->heap[i] = last;
    return top;
}

static void *mh__timer_main(void *arg)
{
    mh_timer *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        if (t->n && (t->stop || t->heap[0].deadline <= mh_now_ns())) {
            mh__timer_item it = mh__heap_pop(t);
            pthread_mutex_unlock(&t->lock);
            it.fn(it.arg); /* outside the lock: it may add timers */
            pthread_mutex_lock(&t->lock);
            continue;
        }
        if (t->stop)
            break;
        if (!t->n) {
            pthread_cond_wait(&t->cond, &t->lock);
            continue;
        }
        uint64_t d = t->heap[0].deadline;
        struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
        pthread_cond_timedwait(&t->cond, &t->lock, &ts);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

mh_status mh_timer_create(mh_timer **out, char *err, size_t errlen)
{
    *out = NULL;
    mh_timer *t = calloc(1, sizeof *t);
    if (!t)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* same clock as mh_now_ns */
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&t->thread, NULL, mh__timer_main, t);
    if (rc) {
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return mh_fail(err, errlen, MH_INTERNAL, "cannot start the timer thread: %s", strerror(rc));
    }
    *out = t;
    return MH_OK;
}

mh_status mh_timer_add(mh_timer *t, uint64_t deadline_ns, mh_timer_fn fn, void *arg)
{
    mh_status st = MH_OK;
    pthread_mutex_lock(&t->lock);
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        mh__timer_item *h = realloc(t->heap, nc * sizeof *h);
        if (!h) {
            st = MH_NOMEM;
            goto out;
        }
        t->heap = h;
        t->cap = nc;
    }
    mh__heap_push(t, (mh__timer_item){deadline_ns, fn, arg});
    pthread_cond_signal(&t->cond);
out:
    pthread_mutex_unlock(&t->lock);
    return st;
}

void mh_timer_free(mh_timer *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->heap);
    free(t);
}
