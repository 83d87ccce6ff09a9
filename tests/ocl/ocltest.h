/* ocltest.h - helpers shared by the OpenCL backend tests and the benchmark
 * (test_ocl_facile.c, test_ocl_mahi.c): a fresh binary cache per test,
 * pileup-like HBHE channels, and a waiter for completion callbacks that
 * records which thread called it. Static functions: include once per test
 * program. */
#ifndef MH_OCLTEST_H
#define MH_OCLTEST_H

#include <check.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hcal/mh_mahi.h"
#include "ocl/mh_ocl.h"

static char ot_tmpdir[256];
static mh_ocl_device *ot_dev;

static inline int ot_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh cache directory (also $MINIHLT_CACHE) and the default device. */
static inline void ot_setup(void)
{
    snprintf(ot_tmpdir, sizeof ot_tmpdir, "/tmp/mh_ocltest.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(ot_tmpdir));
    setenv("MINIHLT_CACHE", ot_tmpdir, 1);
    unsetenv(MH_OCL_DEVICE_ENV);
    unsetenv("MINIHLT_OCL_FAULT");
    mh_ocl_inject_fault(NULL, 0, 0);
    char err[1024] = "";
    ck_assert_msg(mh_ocl_device_open_selected(NULL, &ot_dev, err, sizeof err) == MH_OK, "%s",
                  err);
}

static inline void ot_teardown(void)
{
    mh_ocl_inject_fault(NULL, 0, 0);
    mh_ocl_device_free(ot_dev);
    ot_dev = NULL;
    nftw(ot_tmpdir, ot_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static inline void ot_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static inline double ot_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- random numbers (xorshift64, reproducible) ------------------------- */

static uint64_t ot_rng = 0x9e3779b97f4a7c15ull;

static inline double ot_uniform(void)
{
    ot_rng ^= ot_rng << 13;
    ot_rng ^= ot_rng >> 7;
    ot_rng ^= ot_rng << 17;
    return ((double)(ot_rng >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static inline double ot_gauss(void)
{
    return sqrt(-2.0 * log(ot_uniform())) * cos(6.283185307179586 * ot_uniform());
}

/* ---- completion waiter --------------------------------------------------- */

typedef struct ot_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    mh_status st;
    char msg[512];
    pthread_t thread; /* who called the callback */
    double when;      /* ot_now() at the call */
} ot_waiter;

static inline void ot_waiter_init(ot_waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static inline void ot_done(void *user, mh_status st, const char *msg)
{
    ot_waiter *w = user;
    pthread_mutex_lock(&w->mu);
    w->calls++;
    w->st = st;
    snprintf(w->msg, sizeof w->msg, "%s", msg);
    w->thread = pthread_self();
    w->when = ot_now();
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static inline int ot_calls(ot_waiter *w)
{
    pthread_mutex_lock(&w->mu);
    int c = w->calls;
    pthread_mutex_unlock(&w->mu);
    return c;
}

static inline void ot_wait(ot_waiter *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->calls == 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static inline void ot_waiter_destroy(ot_waiter *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* ---- MAHI inputs ---------------------------------------------------------- */

/* A stand-in SiPM pulse (not the one of tests/hcal: a different analytic
 * shape, so that the port is checked on a second pulse): a gamma k = 2,
 * tau = 5 ns core with 15% in a 30 ns exponential tail, integrated into
 * 25 ns samples analytically. */
static inline double ot_cdf(double x)
{
    if (x <= 0.0)
        return 0.0;
    double u = x / 5.0;
    return 0.85 * (1.0 - exp(-u) * (1.0 + u)) + 0.15 * (1.0 - exp(-x / 30.0));
}

static inline void ot_pulse_fn(void *ctx, float t, float *frac)
{
    int soi = *(const int *)ctx;
    for (int ts = 0; ts < MH_MAHI_NTS; ts++) {
        double a = 25.0 * (ts - soi) - t;
        frac[ts] = (float)(ot_cdf(a + 25.0) - ot_cdf(a));
    }
}

static inline void ot_mahi_setup(mh_mahi_config *cfg, mh_mahi_pulse *pulse)
{
    char err[256];
    int soi = 3;
    mh_mahi_config_default(cfg);
    ck_assert_int_eq(mh_mahi_pulse_build(pulse, ot_pulse_fn, &soi, soi, -10.0f, 40.0f, 0.25f, err,
                                         sizeof err),
                     MH_OK);
    ck_assert_msg(mh_mahi_config_check(cfg, pulse, err, sizeof err) == MH_OK, "%s", err);
}

/* n pileup-like channels: an in-time pulse (exponential spectrum, mean
 * 30 fC; 30% of channels empty), out-of-time pulses in BX -3..+4 (mean
 * 8 fC, half of them present), Gaussian noise, a QIE-like ADC bin width
 * growing with the charge, per-channel pedestal width, gain and fC/pe. */
static inline void ot_mahi_channels(const mh_mahi_pulse *pulse, size_t n, float *q, float *adcw,
                             float *pedw, float *gain, float *fcpe)
{
    float frac[MH_MAHI_NTS];
    for (size_t c = 0; c < n; c++) {
        double amp[8];
        for (int b = 0; b < 8; b++)
            amp[b] = ot_uniform() < 0.5 ? -8.0 * log(ot_uniform()) : 0.0;
        amp[3] = ot_uniform() < 0.3 ? 0.0 : -30.0 * log(ot_uniform());
        pedw[c] = (float)(1.0 + 2.0 * ot_uniform());
        gain[c] = (float)(0.004 + 0.004 * ot_uniform());
        fcpe[c] = (float)(3.0 + 3.0 * ot_uniform());
        for (int ts = 0; ts < MH_MAHI_NTS; ts++)
            q[c * MH_MAHI_NTS + ts] = 0.0f;
        for (int b = 0; b < 8; b++) {
            if (amp[b] == 0.0)
                continue;
            mh_mahi_pulse_eval(pulse, (float)(2.0 * ot_gauss()), frac);
            int shift = b - 3; /* BX of this pulse */
            for (int ts = 0; ts < MH_MAHI_NTS; ts++) {
                int j = ts - shift;
                if (j >= 0 && j < MH_MAHI_NTS)
                    q[c * MH_MAHI_NTS + ts] += (float)(amp[b] * frac[j]);
            }
        }
        for (int ts = 0; ts < MH_MAHI_NTS; ts++) {
            float *x = &q[c * MH_MAHI_NTS + ts];
            *x += (float)(pedw[c] * ot_gauss());
            adcw[c * MH_MAHI_NTS + ts] = *x < 50.0f ? 3.1f : *x < 400.0f ? 6.2f : 25.0f;
        }
    }
}

#endif
