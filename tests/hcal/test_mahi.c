/* test_mahi.c - the MAHI fit: 8x8 linear algebra, NNLS against brute force,
 * and amplitude recovery on synthetic pulses (noise-free and with noise).
 *
 * The pulse shape here is a self-contained stand-in for the real SiPM shape
 * of sim/hcal: 80% of the charge in a gamma(k=3, tau=4 ns) pulse and 20% in
 * an exponential tail (tau = 20 ns), integrated analytically into 25 ns
 * samples: about 75% / 18% / 4% / 2% in the first four samples.
 *
 * `test_mahi --bench [N]` times the fit on N pileup-like channels and prints
 * microseconds per channel (used by scripts/bench/mahi.sh); it asserts
 * nothing.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcal/mh_mahi.h"

#define LD MH_MAHI_LD
#define SOI 3
#define GAIN 0.005f     /* GeV per fC */
#define PEDW 1.5f       /* pedestal width, fC */
#define ADCW 3.0f       /* ADC bin width, fC */
#define FCPE 4.0f       /* fC per photo-electron */

/* ---- test pulse and synthetic digis ------------------------------------ */

static double cdf(double x)
{
    if (x <= 0.0)
        return 0.0;
    double u = x / 4.0;
    double g = 1.0 - exp(-u) * (1.0 + u + 0.5 * u * u);
    double e = 1.0 - exp(-x / 20.0);
    return 0.8 * g + 0.2 * e;
}

static void test_pulse(void *ctx, float t, float *frac)
{
    (void)ctx;
    for (int ts = 0; ts < MH_MAHI_NTS; ts++) {
        double a = 25.0 * (ts - SOI) - t, b = a + 25.0;
        frac[ts] = (float)(cdf(b) - cdf(a));
    }
}

static mh_mahi_pulse g_pulse;
static mh_mahi_config g_cfg;

static void setup(void)
{
    char err[256];
    mh_mahi_config_default(&g_cfg);
    ck_assert_int_eq(mh_mahi_pulse_build(&g_pulse, test_pulse, NULL, SOI, -10.0f, 40.0f, 0.25f,
                                         err, sizeof err),
                     MH_OK);
    ck_assert_int_eq(mh_mahi_config_check(&g_cfg, &g_pulse, err, sizeof err), MH_OK);
}

/* Charges of pulses amp[bx+3] (fC) in BX -3..+4 arriving at meanTime (and
 * the in-time one delayed by the slew of its own SOI charge if cfg asks).
 * Pulses of earlier crossings outside the digi are not simulated. */
static void make_digi(const mh_mahi_config *cfg, const double *amp, float *q)
{
    double tin = cfg->meanTime;
    for (int pass = 0; pass < 4; pass++) { /* slew depends on q[SOI]: iterate */
        for (int ts = 0; ts < MH_MAHI_NTS; ts++)
            q[ts] = 0.0f;
        for (int bx = -3; bx <= 4; bx++) {
            double a = amp[bx + 3];
            if (a == 0.0)
                continue;
            double t = bx == 0 ? tin : cfg->meanTime;
            for (int ts = 0; ts < MH_MAHI_NTS; ts++) {
                double lo = 25.0 * (ts - SOI - bx) - t;
                q[ts] += (float)(a * (cdf(lo + 25.0) - cdf(lo)));
            }
        }
        if (!cfg->applyTimeSlew)
            break;
        tin = cfg->meanTime + mh_mahi_time_slew(cfg, q[SOI]);
    }
}

static uint64_t rng_state = 88172645463325252ull;
static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double gauss(void)
{
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static void fit(const mh_mahi_config *cfg, const float *q, mh_mahi_result *r)
{
    float adcw[MH_MAHI_NTS];
    for (int i = 0; i < MH_MAHI_NTS; i++)
        adcw[i] = ADCW;
    mh_mahi_fit_channel(cfg, &g_pulse, q, adcw, PEDW, GAIN, FCPE, r);
}

/* ---- linear algebra ----------------------------------------------------- */

START_TEST(cholesky_known_matrix)
{
    double a[LD * LD] = {0}, l[LD * LD];
    const double av[3][3] = {{4, 12, -16}, {12, 37, -43}, {-16, -43, 98}};
    const double lv[3][3] = {{2, 0, 0}, {6, 1, 0}, {-8, 5, 3}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            a[i * LD + j] = av[i][j];
    ck_assert_int_eq(mh_mahi_cholesky(3, a, l), 0);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            ck_assert_double_eq_tol(l[i * LD + j], lv[i][j], 1e-12);
    /* solves: L y = b, L^T x = y  => a x = b */
    double b[3] = {1, 2, 3}, y[3], x[3];
    mh_mahi_solve_lower(3, l, b, y);
    mh_mahi_solve_upper_t(3, l, y, x);
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int j = 0; j < 3; j++)
            s += av[i][j] * x[j];
        ck_assert_double_eq_tol(s, b[i], 1e-9);
    }
    /* not positive definite */
    a[2 * LD + 2] = 1.0;
    ck_assert_int_eq(mh_mahi_cholesky(3, a, l), -1);
}
END_TEST

START_TEST(cholesky_random_8x8_and_aliasing_solves)
{
    for (int trial = 0; trial < 20; trial++) {
        double m[LD * LD], a[LD * LD], l[LD * LD];
        for (int i = 0; i < 64; i++)
            m[i] = gauss();
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) {
                double s = i == j ? 0.5 : 0.0;
                for (int k = 0; k < 8; k++)
                    s += m[i * LD + k] * m[j * LD + k];
                a[i * LD + j] = s;
            }
        ck_assert_int_eq(mh_mahi_cholesky(8, a, l), 0);
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) {
                double s = 0;
                for (int k = 0; k < 8; k++)
                    s += l[i * LD + k] * l[j * LD + k];
                ck_assert_double_eq_tol(s, a[i * LD + j], 1e-9 * (1 + fabs(a[i * LD + j])));
                if (j > i)
                    ck_assert(l[i * LD + j] == 0.0);
            }
        double b[8], x[8];
        for (int i = 0; i < 8; i++)
            x[i] = b[i] = gauss();
        mh_mahi_solve_lower(8, l, x, x); /* in place */
        mh_mahi_solve_upper_t(8, l, x, x);
        for (int i = 0; i < 8; i++) {
            double s = 0;
            for (int j = 0; j < 8; j++)
                s += a[i * LD + j] * x[j];
            ck_assert_double_eq_tol(s, b[i], 1e-8);
        }
    }
}
END_TEST

/* ---- NNLS --------------------------------------------------------------- */

static double objective(int n, const double *ata, const double *atb, const double *x)
{
    double f = 0;
    for (int i = 0; i < n; i++) {
        f -= 2 * atb[i] * x[i];
        for (int j = 0; j < n; j++)
            f += x[i] * ata[i * LD + j] * x[j];
    }
    return f;
}

/* Brute force: the best feasible unconstrained solution over every subset
 * of free variables is the NNLS optimum. */
static double brute_nnls(int n, const double *ata, const double *atb, double *best)
{
    double fbest = INFINITY;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        double sub[LD * LD], l[LD * LD], y[LD], x[LD] = {0};
        int idx[LD], m = 0;
        for (int i = 0; i < n; i++)
            if (mask & (1u << i))
                idx[m++] = i;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++)
                sub[i * LD + j] = ata[idx[i] * LD + idx[j]];
            y[i] = atb[idx[i]];
        }
        if (m > 0) {
            if (mh_mahi_cholesky(m, sub, l) != 0)
                continue;
            mh_mahi_solve_lower(m, l, y, y);
            mh_mahi_solve_upper_t(m, l, y, y);
            int ok = 1;
            for (int i = 0; i < m; i++)
                ok &= y[i] >= 0;
            if (!ok)
                continue;
            for (int i = 0; i < m; i++)
                x[idx[i]] = y[i];
        }
        double f = objective(n, ata, atb, x);
        if (f < fbest) {
            fbest = f;
            memcpy(best, x, sizeof x);
        }
    }
    return fbest;
}

START_TEST(nnls_unconstrained_and_binding)
{
    /* identity: x = max(atb, 0) */
    double ata[LD * LD] = {0}, atb[LD] = {1, -2, 3, 0.5};
    for (int i = 0; i < 4; i++)
        ata[i * LD + i] = 1.0;
    double x[LD] = {0};
    uint8_t pas[LD] = {0};
    mh_mahi_nnls(4, ata, atb, x, pas, 100, 1e-11);
    ck_assert_double_eq_tol(x[0], 1.0, 1e-12);
    ck_assert(x[1] == 0.0);
    ck_assert_double_eq_tol(x[2], 3.0, 1e-12);
    ck_assert_double_eq_tol(x[3], 0.5, 1e-12);
    ck_assert_int_eq(pas[1], 0);

    /* correlated 2x2 whose unconstrained optimum (3, -1) is infeasible:
     * with x1 = 0 the optimum is x0 = atb0 / ata00 = 5/2 */
    double a2[LD * LD] = {0}, b2[LD];
    a2[0] = 2;
    a2[1] = a2[LD] = 1;
    a2[LD + 1] = 1;
    b2[0] = 2 * 3 + 1 * -1; /* = 5 */
    b2[1] = 1 * 3 + 1 * -1; /* = 2 */
    double x2[LD] = {0};
    uint8_t p2[LD] = {0};
    mh_mahi_nnls(2, a2, b2, x2, p2, 100, 1e-11);
    ck_assert_double_eq_tol(x2[0], 2.5, 1e-12);
    ck_assert(x2[1] == 0.0);
}
END_TEST

START_TEST(nnls_matches_brute_force)
{
    int binding = 0;
    for (int trial = 0; trial < 300; trial++) {
        int n = 2 + trial % 7; /* 2..8 */
        double am[12 * LD], bv[12];
        for (int i = 0; i < 12 * n; i++)
            am[i] = gauss();
        for (int i = 0; i < 12; i++)
            bv[i] = gauss();
        double ata[LD * LD], atb[LD];
        for (int p = 0; p < n; p++) {
            atb[p] = 0;
            for (int i = 0; i < 12; i++)
                atb[p] += am[i * n + p] * bv[i];
            for (int r = 0; r < n; r++) {
                double s = 0;
                for (int i = 0; i < 12; i++)
                    s += am[i * n + p] * am[i * n + r];
                ata[p * LD + r] = s;
            }
        }
        double xb[LD], x[LD] = {0};
        uint8_t pas[LD] = {0};
        double fb = brute_nnls(n, ata, atb, xb);
        mh_mahi_nnls(n, ata, atb, x, pas, 500, 1e-11);
        for (int i = 0; i < n; i++) {
            ck_assert(x[i] >= 0.0);
            ck_assert_msg(fabs(x[i] - xb[i]) < 1e-7, "trial %d x[%d] = %g, brute force %g", trial,
                          i, x[i], xb[i]);
            binding += xb[i] == 0.0;
        }
        ck_assert_double_eq_tol(objective(n, ata, atb, x), fb, 1e-8 * (1 + fabs(fb)));
    }
    ck_assert_int_gt(binding, 100); /* the table really exercises constraints */
}
END_TEST

/* ---- MAHI on synthetic pulses ------------------------------------------- */

typedef struct {
    const char *name;
    double amp[8]; /* BX -3..+4, fC */
    int slew;
} amp_case;

static const amp_case noise_free_cases[] = {
    {"in-time only", {0, 0, 0, 500, 0, 0, 0, 0}, 0},
    {"in-time only, slew", {0, 0, 0, 500, 0, 0, 0, 0}, 1},
    {"small in-time, slew", {0, 0, 0, 40, 0, 0, 0, 0}, 1},
    {"large in-time", {0, 0, 0, 20000, 0, 0, 0, 0}, 0},
    {"pileup around", {0, 0, 200, 800, 150, 100, 0, 0}, 0},
    {"pileup around, slew", {0, 0, 200, 800, 150, 100, 60, 0}, 1},
    {"late pileup", {0, 0, 0, 300, 0, 0, 250, 400}, 0},
    {"all BXs", {0, 300, 120, 600, 90, 70, 50, 40}, 0},
};

START_TEST(recovers_amplitudes_noise_free)
{
    const amp_case *c = &noise_free_cases[_i];
    mh_mahi_config cfg = g_cfg;
    cfg.applyTimeSlew = c->slew;
    float q[MH_MAHI_NTS];
    make_digi(&cfg, c->amp, q);
    mh_mahi_result r;
    fit(&cfg, q, &r);
    ck_assert_msg(r.flags & MH_MAHI_FLAG_CONVERGED, "%s: flags %d", c->name, (int)r.flags);
    ck_assert_int_lt(r.niter, cfg.nMaxItersMin);
    double tin = c->amp[3];
    ck_assert_msg(fabs(r.amp_fc - tin) <= 0.01 * tin, "%s: in-time %g fC, true %g", c->name,
                  (double)r.amp_fc, tin);
    ck_assert_float_eq_tol(r.energy, r.amp_fc * GAIN, 1e-6f * (1 + r.energy));
    for (int bx = -3; bx <= 4; bx++) {
        int s = mh_mahi_oot_index(bx);
        if (s < 0)
            continue;
        double truth = c->amp[bx + 3] * GAIN;
        double tol = 0.01 * truth + 0.002 * tin * GAIN;
        ck_assert_msg(fabs(r.oot[s] - truth) <= tol, "%s: BX %d: %g GeV, true %g", c->name, bx,
                      (double)r.oot[s], truth);
    }
    ck_assert(r.chi2 >= 0.0f && r.chi2 < 0.1f);
}
END_TEST

/* "The last 8 of 10": window TS2..TS9 (SOI at window index 1) with the
 * BXs that arrive inside it. */
START_TEST(window_last_8_of_10)
{
    char err[256];
    mh_mahi_config cfg = g_cfg;
    cfg.firstSample = 2;
    cfg.nActiveBXs = 6;
    for (int i = 0; i < 6; i++)
        cfg.activeBXs[i] = i - 1;
    ck_assert_int_eq(mh_mahi_config_check(&cfg, &g_pulse, err, sizeof err), MH_OK);
    const double amp[8] = {0, 0, 150, 700, 120, 0, 80, 0};
    float q[MH_MAHI_NTS];
    make_digi(&cfg, amp, q);
    mh_mahi_result r;
    fit(&cfg, q, &r);
    ck_assert(r.flags & MH_MAHI_FLAG_CONVERGED);
    ck_assert_double_eq_tol(r.amp_fc, 700, 7);
    ck_assert_double_eq_tol(r.oot[mh_mahi_oot_index(-1)], 150 * GAIN, 0.01 * 150 * GAIN);
    ck_assert_double_eq_tol(r.oot[mh_mahi_oot_index(1)], 120 * GAIN, 0.01 * 120 * GAIN);
    ck_assert_double_eq_tol(r.oot[mh_mahi_oot_index(3)], 80 * GAIN, 0.01 * 80 * GAIN);
    ck_assert(r.oot[mh_mahi_oot_index(-3)] == 0.0f && r.oot[mh_mahi_oot_index(-2)] == 0.0f);
}
END_TEST

START_TEST(pure_out_of_time_gives_no_in_time_energy)
{
    const int bxs[] = {-3, -2, -1, 1, 2, 4};
    for (size_t k = 0; k < sizeof bxs / sizeof bxs[0]; k++) {
        double amp[8] = {0};
        amp[bxs[k] + 3] = 400;
        float q[MH_MAHI_NTS];
        make_digi(&g_cfg, amp, q);
        mh_mahi_result r;
        fit(&g_cfg, q, &r);
        ck_assert_msg(r.amp_fc < 0.01 * 400, "BX %d alone gives in-time %g fC", bxs[k],
                      (double)r.amp_fc);
        ck_assert_float_eq_tol(r.oot[mh_mahi_oot_index(bxs[k])], 400 * GAIN,
                               0.01f * 400 * GAIN);
    }
}
END_TEST

START_TEST(zero_and_negative_inputs)
{
    float q[MH_MAHI_NTS] = {0};
    mh_mahi_result r;
    fit(&g_cfg, q, &r);
    ck_assert_float_eq(r.energy, 0.0f);
    ck_assert_int_eq(r.flags, 0);

    /* all negative: nothing to fit */
    for (int i = 0; i < MH_MAHI_NTS; i++)
        q[i] = -2.0f;
    fit(&g_cfg, q, &r);
    ck_assert_float_eq(r.energy, 0.0f);
    ck_assert_int_eq(r.flags, 0);

    /* pure noise with negative fluctuations: fitted, every amplitude >= 0 */
    for (int trial = 0; trial < 500; trial++) {
        for (int i = 0; i < MH_MAHI_NTS; i++)
            q[i] = (float)(3.0 * gauss());
        q[SOI] = fabsf(q[SOI]) + 0.1f; /* make sure some fits run */
        fit(&g_cfg, q, &r);
        ck_assert(r.energy >= 0.0f);
        for (int s = 0; s < MH_MAHI_NOOT; s++)
            ck_assert(r.oot[s] >= 0.0f);
        ck_assert(isfinite(r.chi2));
    }

    /* ts4Thresh: SOI below the threshold is not fitted */
    mh_mahi_config cfg = g_cfg;
    cfg.ts4Thresh = 1.0f; /* GeV = 200 fC */
    double amp[8] = {0, 0, 0, 100, 0, 0, 0, 0};
    make_digi(&cfg, amp, q);
    fit(&cfg, q, &r);
    ck_assert_int_eq(r.flags, 0);
    ck_assert_float_eq(r.energy, 0.0f);
}
END_TEST

/* Noise: Gaussian per sample with the variance the fit assumes (pedestal,
 * ADC quantisation, photo-statistics), in-time pulse + random pileup. */
START_TEST(unbiased_with_noise)
{
    const double truths[] = {100, 400, 2000};
    mh_mahi_config cfg = g_cfg;
    cfg.applyTimeSlew = 0;
    for (size_t t = 0; t < sizeof truths / sizeof truths[0]; t++) {
        double sum = 0, sum2 = 0;
        int ntrial = 1000, nconv = 0;
        for (int trial = 0; trial < ntrial; trial++) {
            double amp[8] = {0};
            amp[3] = truths[t];
            amp[2] = 100 * uniform(); /* pileup, fixed scale */
            amp[4] = 100 * uniform();
            float q[MH_MAHI_NTS];
            make_digi(&cfg, amp, q);
            for (int i = 0; i < MH_MAHI_NTS; i++) {
                double var = PEDW * PEDW + ADCW * ADCW / 12.0 + (q[i] > 0 ? q[i] * FCPE : 0);
                q[i] += (float)(sqrt(var) * gauss());
            }
            mh_mahi_result r;
            fit(&cfg, q, &r);
            nconv += (r.flags & MH_MAHI_FLAG_CONVERGED) != 0;
            double d = r.amp_fc - truths[t];
            sum += d;
            sum2 += d * d;
        }
        double bias = sum / ntrial, rms = sqrt(sum2 / ntrial - bias * bias);
        /* Stated tolerance: |bias| < 1.5% of the truth (the photo-statistics
         * term uses the measured charge, as CMSSW does) and at most a
         * quarter of the single-channel resolution. */
        ck_assert_msg(fabs(bias) < 0.015 * truths[t] && fabs(bias) < 0.25 * rms + 0.5,
                      "truth %g fC: bias %g fC, rms %g fC", truths[t], bias, rms);
        ck_assert_int_ge(nconv, ntrial * 99 / 100);
    }
}
END_TEST

START_TEST(batch_matches_channel_and_iterations_bounded)
{
    enum { N = 200 };
    float q[N * MH_MAHI_NTS], adcw[N * MH_MAHI_NTS], pw[N], gain[N], fcpe[N];
    float e[N], chi2[N], oot[N * MH_MAHI_NOOT];
    uint8_t flags[N];
    for (int c = 0; c < N; c++) {
        double amp[8];
        for (int b = 0; b < 8; b++)
            amp[b] = uniform() < 0.4 ? 500 * uniform() : 0;
        make_digi(&g_cfg, amp, q + c * MH_MAHI_NTS);
        for (int i = 0; i < MH_MAHI_NTS; i++) {
            q[c * MH_MAHI_NTS + i] += (float)(PEDW * gauss());
            adcw[c * MH_MAHI_NTS + i] = ADCW;
        }
        pw[c] = PEDW;
        gain[c] = GAIN * (float)(0.8 + 0.4 * uniform());
        fcpe[c] = FCPE;
    }
    mh_mahi_fit_batch(&g_cfg, &g_pulse, q, adcw, pw, gain, fcpe, N, e, chi2, oot, flags);
    mh_mahi_fit_batch(&g_cfg, &g_pulse, q, adcw, pw, gain, fcpe, N, e, chi2, NULL, NULL);
    for (int c = 0; c < N; c++) {
        mh_mahi_result r;
        mh_mahi_fit_channel(&g_cfg, &g_pulse, q + c * MH_MAHI_NTS, adcw + c * MH_MAHI_NTS, pw[c],
                            gain[c], fcpe[c], &r);
        ck_assert(e[c] == r.energy && chi2[c] == r.chi2 && flags[c] == r.flags);
        ck_assert(memcmp(oot + c * MH_MAHI_NOOT, r.oot, sizeof r.oot) == 0);
        if (r.flags & MH_MAHI_FLAG_FITTED) {
            ck_assert_int_le(r.niter, g_cfg.nMaxItersMin);
            ck_assert_msg(r.flags & MH_MAHI_FLAG_CONVERGED, "channel %d did not converge", c);
        }
    }
}
END_TEST

/* ---- configuration and pulse table ------------------------------------- */

START_TEST(config_and_table_validation)
{
    char err[256];
    mh_mahi_config c = g_cfg;
    c.activeBXs[0] = -4;
    ck_assert_int_eq(mh_mahi_config_check(&c, NULL, err, sizeof err), MH_PARAM);
    ck_assert_ptr_nonnull(strstr(err, "activeBXs"));
    c = g_cfg;
    c.nActiveBXs = 3;
    c.activeBXs[0] = -1; c.activeBXs[1] = 1; c.activeBXs[2] = 2;
    ck_assert_int_eq(mh_mahi_config_check(&c, NULL, err, sizeof err), MH_PARAM);
    ck_assert_ptr_nonnull(strstr(err, "in-time"));
    c = g_cfg;
    c.soi = 9; /* outside the window TS0..TS7 */
    ck_assert_int_eq(mh_mahi_config_check(&c, NULL, err, sizeof err), MH_PARAM);
    ck_assert_ptr_nonnull(strstr(err, "soi"));
    c = g_cfg;
    c.deltaChiSqThresh = 0;
    ck_assert_int_eq(mh_mahi_config_check(&c, NULL, err, sizeof err), MH_PARAM);
    c = g_cfg;
    c.timeSlewTmax = 60;
    ck_assert_int_eq(mh_mahi_config_check(&c, &g_pulse, err, sizeof err), MH_PARAM);
    ck_assert_ptr_nonnull(strstr(err, "pulse table covers"));

    mh_mahi_pulse *p = malloc(sizeof *p);
    ck_assert_int_eq(mh_mahi_pulse_build(p, test_pulse, NULL, SOI, -10, 1000, 0.25f, err,
                                         sizeof err),
                     MH_INVALID);
    ck_assert_int_eq(mh_mahi_pulse_build(p, test_pulse, NULL, SOI, 5, -5, 1, err, sizeof err),
                     MH_INVALID);
    /* the table interpolates the function */
    float f[MH_MAHI_NTS], g[MH_MAHI_NTS];
    ck_assert_int_eq(mh_mahi_pulse_build(p, test_pulse, NULL, SOI, -10, 40, 0.25f, err, sizeof err),
                     MH_OK);
    mh_mahi_pulse_eval(p, 3.1f, f);
    test_pulse(NULL, 3.1f, g);
    for (int i = 0; i < MH_MAHI_NTS; i++)
        ck_assert_float_eq_tol(f[i], g[i], 2e-4f);
    free(p);

    ck_assert_int_eq(mh_mahi_oot_index(-3), 0);
    ck_assert_int_eq(mh_mahi_oot_index(-1), 2);
    ck_assert_int_eq(mh_mahi_oot_index(0), -1);
    ck_assert_int_eq(mh_mahi_oot_index(1), 3);
    ck_assert_int_eq(mh_mahi_oot_index(4), 6);
    ck_assert_int_eq(mh_mahi_oot_index(5), -1);
    ck_assert_float_eq_tol(mh_mahi_time_slew(&g_cfg, 0.5f), 10.0f, 1e-6f);
    ck_assert_float_eq_tol(mh_mahi_time_slew(&g_cfg, 100.0f), 11.977461f - 1.5610227f * logf(100),
                           1e-5f);
    ck_assert_float_eq(mh_mahi_time_slew(&g_cfg, 1e6f), 0.0f);
}
END_TEST

/* ---- benchmark mode ----------------------------------------------------- */

static int bench(long n)
{
    char err[256];
    mh_mahi_config_default(&g_cfg);
    if (mh_mahi_pulse_build(&g_pulse, test_pulse, NULL, SOI, -10.0f, 40.0f, 0.25f, err,
                            sizeof err) != MH_OK ||
        mh_mahi_config_check(&g_cfg, &g_pulse, err, sizeof err) != MH_OK) {
        fprintf(stderr, "test_mahi: %s\n", err);
        return 1;
    }
    float *q = malloc(sizeof(float) * (size_t)n * MH_MAHI_NTS);
    float *adcw = malloc(sizeof(float) * (size_t)n * MH_MAHI_NTS);
    float *pw = malloc(sizeof(float) * (size_t)n), *gain = malloc(sizeof(float) * (size_t)n);
    float *fcpe = malloc(sizeof(float) * (size_t)n), *e = malloc(sizeof(float) * (size_t)n);
    float *chi2 = malloc(sizeof(float) * (size_t)n);
    float *oot = malloc(sizeof(float) * (size_t)n * MH_MAHI_NOOT);
    uint8_t *flags = malloc((size_t)n);
    if (!q || !adcw || !pw || !gain || !fcpe || !e || !chi2 || !oot || !flags)
        return 1;
    /* pileup-like: every BX has a 50% chance of a pulse, exponential
     * amplitude of mean 50 fC; in-time signal of mean 300 fC in 30%. */
    for (long c = 0; c < n; c++) {
        double amp[8];
        for (int b = 0; b < 8; b++)
            amp[b] = uniform() < 0.5 ? -50 * log(uniform()) : 0;
        if (uniform() < 0.3)
            amp[3] += -300 * log(uniform());
        make_digi(&g_cfg, amp, q + c * MH_MAHI_NTS);
        for (int i = 0; i < MH_MAHI_NTS; i++) {
            q[c * MH_MAHI_NTS + i] += (float)(PEDW * gauss());
            adcw[c * MH_MAHI_NTS + i] = ADCW;
        }
        pw[c] = PEDW;
        gain[c] = GAIN;
        fcpe[c] = FCPE;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mh_mahi_fit_batch(&g_cfg, &g_pulse, q, adcw, pw, gain, fcpe, (size_t)n, e, chi2, oot, flags);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
    long nfit = 0, iters = 0;
    for (long c = 0; c < n; c++) {
        mh_mahi_result r;
        if (flags[c] & MH_MAHI_FLAG_FITTED) {
            nfit++;
            if (c < 2000) {
                mh_mahi_fit_channel(&g_cfg, &g_pulse, q + c * MH_MAHI_NTS,
                                    adcw + c * MH_MAHI_NTS, pw[c], gain[c], fcpe[c], &r);
                iters += r.niter;
            }
        }
    }
    printf("mahi: %ld channels (%ld fitted), %.3f us per channel, %.3f us per fitted channel\n", n,
           nfit, us / (double)n, nfit ? us / (double)nfit : 0.0);
    printf("mahi: mean outer iterations %.2f (first 2000 channels)\n",
           (double)iters / (double)(nfit < 2000 ? (nfit ? nfit : 1) : 2000));
    free(q); free(adcw); free(pw); free(gain); free(fcpe); free(e); free(chi2); free(oot);
    free(flags);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
        long n = argc >= 3 ? strtol(argv[2], NULL, 10) : 100000;
        if (n <= 0 || n > 100000000)
            n = 100000;
        return bench(n);
    }
    Suite *s = suite_create("mahi");
    TCase *tla = tcase_create("linear algebra");
    tcase_add_test(tla, cholesky_known_matrix);
    tcase_add_test(tla, cholesky_random_8x8_and_aliasing_solves);
    tcase_add_test(tla, nnls_unconstrained_and_binding);
    tcase_add_test(tla, nnls_matches_brute_force);
    suite_add_tcase(s, tla);
    TCase *tfit = tcase_create("fit");
    tcase_add_checked_fixture(tfit, setup, NULL);
    tcase_set_timeout(tfit, 60);
    tcase_add_loop_test(tfit, recovers_amplitudes_noise_free, 0,
                        (int)(sizeof noise_free_cases / sizeof noise_free_cases[0]));
    tcase_add_test(tfit, window_last_8_of_10);
    tcase_add_test(tfit, pure_out_of_time_gives_no_in_time_energy);
    tcase_add_test(tfit, zero_and_negative_inputs);
    tcase_add_test(tfit, unbiased_with_noise);
    tcase_add_test(tfit, batch_matches_channel_and_iterations_bounded);
    tcase_add_test(tfit, config_and_table_validation);
    suite_add_tcase(s, tfit);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
