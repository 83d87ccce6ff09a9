/* mahi_core.h - the MAHI fit itself, written once for the CPU and the
 * OpenCL kernel.
 *
 * This header is compiled twice: as C by sim/hcal/mahi.c (which defines
 * MH_MAHI_CORE_IMPL to get the function bodies; everyone else gets only the
 * types, through mh_mahi.h), and as OpenCL C 1.2 as the first part of the
 * program of sim/ocl/kernels/mahi.cl (sim/ocl/kernels/mahi_core.cl is a
 * symlink to this file, embedded like every kernel source). So it sticks to
 * what both languages share: fixed-size private arrays, no heap, no libc but
 * sqrt/log/fabs, no globals, no #include under OpenCL, and plain-data
 * structs of 4-byte fields whose layout is the same on host and device (the
 * host uploads mh_mahi_config and mh_mahi_pulse byte for byte). The only
 * differences are spelled by the macros below: the pulse table lives in
 * __global memory on a device, and float log is log() there. The arithmetic
 * is double on both sides (cl_khr_fp64 on the device).
 *
 * Model, parameters and sample indexing: mh_mahi.h.
 */
#ifndef MH_MAHI_CORE_TYPES_H
#define MH_MAHI_CORE_TYPES_H

#ifdef __OPENCL_C_VERSION__
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
/* The CPU build does not contract a*b+c into fma (-std=c11 implies
 * -ffp-contract=off); neither does the kernel, so both round alike. */
#pragma OPENCL FP_CONTRACT OFF
typedef int int32_t;
typedef uchar uint8_t;
#define MH_MAHI_GLOBAL __global
#define MH_MAHI_LOGF log
#define MH_MAHI_STATIC
#else
#include <stdint.h>
#define MH_MAHI_GLOBAL
#define MH_MAHI_LOGF logf
#define MH_MAHI_STATIC static
#endif

#define MH_MAHI_NTS 10      /* samples per digi */
#define MH_MAHI_NFIT 8      /* samples in the fit window */
#define MH_MAHI_MAXBX 8     /* at most this many pulses */
#define MH_MAHI_BXMIN (-3)  /* earliest BX an output slot exists for */
#define MH_MAHI_BXMAX 4     /* latest BX an output slot exists for */
#define MH_MAHI_NOOT 7      /* out-of-time outputs per channel */
#define MH_MAHI_LD 8        /* leading dimension of the 8x8 matrices below */
#define MH_MAHI_PULSE_MAXROWS 512

/* The pulse shape tabulated on a uniform time grid; the fit interpolates
 * linearly between rows and clamps outside [t_min_ns, t_min_ns +
 * (nrows-1)*t_step_ns]. frac[r][ts] is the fraction in sample TS ts for a
 * pulse arriving at t = t_min_ns + r*t_step_ns after the start of TS soi.
 * Plain data (about 20 KiB): copy it, share it between threads read-only,
 * or upload it to a device. */
typedef struct mh_mahi_pulse {
    float t_min_ns;
    float t_step_ns;
    int32_t nrows;
    int32_t soi;
    float frac[MH_MAHI_PULSE_MAXROWS][MH_MAHI_NTS];
} mh_mahi_pulse;

/* Parameters, named as in CMSSW's MahiFit / hbheprereco configuration. */
typedef struct mh_mahi_config {
    int32_t activeBXs[MH_MAHI_MAXBX]; /* BX offsets fitted, within [-3, +4], must include 0 */
    int32_t nActiveBXs;               /* number of entries used in activeBXs */
    int32_t nMaxItersMin;             /* max outer (covariance) iterations; CMSSW 50 */
    int32_t nMaxItersNNLS;            /* max NNLS iterations per outer iteration; CMSSW 500 */
    float deltaChiSqThresh;           /* outer loop stops when |delta chi2| below; 1e-3 */
    float nnlsThresh;                 /* NNLS stops when the max gradient is below; 1e-11 */
    float meanTime;                   /* ns, arrival time of a pulse without slew; 0 */
    float timeSigma;                  /* ns, pulse-time uncertainty (timeSigmaSiPM); 2.5 */
    int32_t applyTimeSlew;            /* delay the in-time pulse by the QIE11 time slew */
    float timeSlewTzero;              /* slew(q) = clamp(tzero + slope*ln(q/fC), 0, tmax) ns; */
    float timeSlewSlope;              /*   CMSSW "HBHE2018" set: 11.977461, -1.5610227, 10 */
    float timeSlewTmax;
    float ts4Thresh;                  /* GeV: fit only if SOI charge x gain >= this; 0 */
    int32_t firstSample;              /* first digi sample of the fit window; 0 */
    int32_t soi;                      /* digi sample of interest; 3 */
} mh_mahi_config;

#define MH_MAHI_FLAG_FITTED 0x1    /* the fit ran (else below ts4Thresh or no charge) */
#define MH_MAHI_FLAG_CONVERGED 0x2 /* |delta chi2| < deltaChiSqThresh was reached */
#define MH_MAHI_FLAG_BADCOV 0x4    /* a covariance was not positive definite: fit stopped */

typedef struct mh_mahi_result {
    float energy;              /* in-time amplitude x gain (GeV) */
    float chi2;                /* final chi2; 0 when not fitted */
    float amp_fc;              /* in-time amplitude (fC, total pulse charge) */
    float oot[MH_MAHI_NOOT];   /* out-of-time amplitudes x gain (GeV), by mh_mahi_oot_index */
    int32_t niter;             /* outer iterations done */
    int32_t flags;             /* MH_MAHI_FLAG_* */
} mh_mahi_result;

#endif /* MH_MAHI_CORE_TYPES_H */

/* ---- The fit (C: only in sim/hcal/mahi.c; always in the kernel) -------- */
#if (defined(__OPENCL_C_VERSION__) || defined(MH_MAHI_CORE_IMPL)) && !defined(MH_MAHI_CORE_IMPL_H)
#define MH_MAHI_CORE_IMPL_H

#ifndef __OPENCL_C_VERSION__
#include <float.h> /* DBL_MAX (built into OpenCL C) */
#include <math.h>
#endif

#define LD MH_MAHI_LD

void mh_mahi_pulse_eval(MH_MAHI_GLOBAL const mh_mahi_pulse *pulse, float t_ns, float *frac)
{
    float x = (t_ns - pulse->t_min_ns) / pulse->t_step_ns;
    int last = pulse->nrows - 1;
    int r;
    float w;
    if (!(x > 0.0f)) { /* also catches NaN */
        r = 0;
        w = 0.0f;
    } else if (x >= (float)last) {
        r = last - 1;
        w = 1.0f;
    } else {
        r = (int)x;
        w = x - (float)r;
    }
    for (int ts = 0; ts < MH_MAHI_NTS; ts++)
        frac[ts] = (1.0f - w) * pulse->frac[r][ts] + w * pulse->frac[r + 1][ts];
}


float mh_mahi_time_slew(const mh_mahi_config *cfg, float q_fc)
{
    float q = q_fc > 1.0f ? q_fc : 1.0f;
    float d = cfg->timeSlewTzero + cfg->timeSlewSlope * MH_MAHI_LOGF(q);
    if (d < 0.0f)
        d = 0.0f;
    if (d > cfg->timeSlewTmax)
        d = cfg->timeSlewTmax;
    return d;
}


int mh_mahi_oot_index(int bx)
{
    if (bx < MH_MAHI_BXMIN || bx > MH_MAHI_BXMAX || bx == 0)
        return -1;
    return bx < 0 ? bx - MH_MAHI_BXMIN : bx - MH_MAHI_BXMIN - 1;
}


/* ---- Linear algebra ---------------------------------------------------- */

int mh_mahi_cholesky(int n, const double *a, double *l)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            double s = a[i * LD + j];
            for (int k = 0; k < j; k++)
                s -= l[i * LD + k] * l[j * LD + k];
            if (i == j) {
                /* A relative floor keeps exactly singular sub-problems from
                 * producing inf/NaN; the caller treats them as failures. */
                if (!(s > 1e-14 * fabs(a[i * LD + i])) || !(s > 0.0))
                    return -1;
                l[i * LD + i] = sqrt(s);
            } else {
                l[i * LD + j] = s / l[j * LD + j];
            }
        }
        for (int j = i + 1; j < n; j++)
            l[i * LD + j] = 0.0;
    }
    return 0;
}

void mh_mahi_solve_lower(int n, const double *l, const double *b, double *x)
{
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= l[i * LD + k] * x[k];
        x[i] = s / l[i * LD + i];
    }
}

void mh_mahi_solve_upper_t(int n, const double *l, const double *b, double *x)
{
    for (int i = n - 1; i >= 0; i--) {
        double s = b[i];
        for (int k = i + 1; k < n; k++)
            s -= l[k * LD + i] * x[k];
        x[i] = s / l[i * LD + i];
    }
}

/* Solves the passive-set sub-system ata[idx,idx] s = atb[idx] (np x np) by
 * Cholesky. Returns 0, or -1 if the sub-matrix is not positive definite. */
MH_MAHI_STATIC int solve_passive(int np, const int *idx, const double *ata, const double *atb, double *s)
{
    double sub[LD * LD], l[LD * LD], y[LD];
    for (int i = 0; i < np; i++) {
        for (int j = 0; j <= i; j++)
            sub[i * LD + j] = ata[idx[i] * LD + idx[j]];
        y[i] = atb[idx[i]];
    }
    if (mh_mahi_cholesky(np, sub, l) != 0)
        return -1;
    mh_mahi_solve_lower(np, l, y, y);
    mh_mahi_solve_upper_t(np, l, y, s);
    return 0;
}

int mh_mahi_nnls(int n, const double *ata, const double *atb, double *x, uint8_t *passive,
                 int max_iter, double thresh)
{
    int np = 0, iter = 0, idxprev = -1, justadded = -1;
    double wmaxprev = 0.0;
    for (int i = 0; i < n; i++) {
        if (passive[i])
            np++;
        else
            x[i] = 0.0;
    }
    for (;;) {
        if (iter > 0 || np == 0) {
            if (np == n)
                break;
            /* Gradient of the objective on the constrained (zero) set: the
             * most positive component is the one worth freeing next. */
            int idx = -1;
            double wmax = -DBL_MAX;
            for (int i = 0; i < n; i++) {
                if (passive[i])
                    continue;
                double w = atb[i];
                for (int j = 0; j < n; j++)
                    w -= ata[i * LD + j] * x[j];
                if (w > wmax) {
                    wmax = w;
                    idx = i;
                }
            }
            if (wmax < thresh || (idx == idxprev && wmax == wmaxprev))
                break;
            if (iter >= max_iter)
                break;
            idxprev = idx;
            wmaxprev = wmax;
            passive[idx] = 1;
            np++;
            justadded = idx;
        }
        /* Inner loop: solve on the passive set; step back to the feasible
         * boundary and drop a variable until the solution is positive. */
        while (np > 0) {
            int pidx[LD];
            double s[LD];
            int k = 0;
            for (int i = 0; i < n; i++)
                if (passive[i])
                    pidx[k++] = i;
            if (solve_passive(np, pidx, ata, atb, s) != 0) {
                /* Degenerate: the variable just freed adds nothing new.
                 * Constrain it again (or everything on a bad warm start)
                 * and stop; x stays feasible. */
                if (justadded >= 0 && passive[justadded]) {
                    passive[justadded] = 0;
                    x[justadded] = 0.0;
                    np--;
                } else {
                    for (int i = 0; i < n; i++) {
                        passive[i] = 0;
                        x[i] = 0.0;
                    }
                    np = 0;
                }
                return iter + 1;
            }
            int allpos = 1;
            for (int i = 0; i < np; i++)
                allpos &= s[i] > 0.0;
            if (allpos) {
                for (int i = 0; i < np; i++)
                    x[pidx[i]] = s[i];
                break;
            }
            double alpha = DBL_MAX;
            int imin = 0;
            for (int i = 0; i < np; i++) {
                if (s[i] <= 0.0) {
                    double xi = x[pidx[i]];
                    double den = xi - s[i];
                    double ratio = den > 0.0 ? xi / den : 0.0;
                    if (ratio < alpha) {
                        alpha = ratio;
                        imin = i;
                    }
                }
            }
            for (int i = 0; i < np; i++)
                x[pidx[i]] += alpha * (s[i] - x[pidx[i]]);
            x[pidx[imin]] = 0.0;
            passive[pidx[imin]] = 0;
            np--;
        }
        iter++;
        /* As CMSSW: relax the threshold every 10 iterations so that
         * degenerate problems cannot cycle for nMaxItersNNLS iterations. */
        if (iter % 10 == 0)
            thresh *= 10.0;
    }
    return iter;
}

/* ---- The fit ----------------------------------------------------------- */

void mh_mahi_fit_channel(const mh_mahi_config *cfg, MH_MAHI_GLOBAL const mh_mahi_pulse *pulse,
                         const float *charge_fc, const float *adc_bin_width, float ped_width,
                         float gain, float fc_per_pe, mh_mahi_result *res)
{
    const int nbx = cfg->nActiveBXs;
    const int first = cfg->firstSample;
    const int soi = cfg->soi;

    res->energy = 0.0f;
    res->chi2 = 0.0f;
    res->amp_fc = 0.0f;
    for (int i = 0; i < MH_MAHI_NOOT; i++)
        res->oot[i] = 0.0f;
    res->niter = 0;
    res->flags = 0;

    /* Window charges and the diagonal (per-sample) noise terms. */
    double q[MH_MAHI_NFIT], noise[MH_MAHI_NFIT];
    const double pedvar = (double)ped_width * ped_width;
    double tot = 0.0;
    for (int i = 0; i < MH_MAHI_NFIT; i++) {
        int ts = first + i;
        double qi = charge_fc[ts];
        double adc = adc_bin_width[ts] * (1.0 / sqrt(12.0));
        double var = adc * adc + pedvar;
        if (qi > ped_width)
            var += qi * fc_per_pe; /* photo-statistics: (sqrt(q * fC/pe))^2 */
        q[i] = qi;
        noise[i] = var;
        tot += qi;
    }
    double trig = (double)charge_fc[soi] * gain;
    if (!(trig >= cfg->ts4Thresh && tot * gain > 0.0))
        return;

    /* Pulse matrix P (sample x pulse) and the +-timeSigma shape changes. */
    double pm[LD * LD], dplus[LD][MH_MAHI_NFIT], dminus[LD][MH_MAHI_NFIT];
    int inpulse = 0;
    for (int p = 0; p < nbx; p++) {
        int bx = cfg->activeBXs[p];
        float t = cfg->meanTime;
        if (bx == 0) {
            inpulse = p;
            if (cfg->applyTimeSlew)
                t += mh_mahi_time_slew(cfg, charge_fc[soi]);
        }
        float fn[MH_MAHI_NTS], fm[MH_MAHI_NTS], fp[MH_MAHI_NTS];
        mh_mahi_pulse_eval(pulse, t, fn);
        mh_mahi_pulse_eval(pulse, t - cfg->timeSigma, fm);
        mh_mahi_pulse_eval(pulse, t + cfg->timeSigma, fp);
        for (int i = 0; i < MH_MAHI_NFIT; i++) {
            /* Digi sample first+i seen from a pulse arriving in TS soi+bx,
             * expressed in the table's own SOI convention. */
            int j = first + i - bx - soi + pulse->soi;
            if (j >= 0 && j < MH_MAHI_NTS) {
                pm[i * LD + p] = fn[j];
                dplus[p][i] = (double)fp[j] - fn[j];
                dminus[p][i] = (double)fm[j] - fn[j];
            } else {
                pm[i * LD + p] = 0.0;
                dplus[p][i] = 0.0;
                dminus[p][i] = 0.0;
            }
        }
    }

    double amp[LD];
    uint8_t passive[LD];
    for (int p = 0; p < LD; p++) {
        amp[p] = 0.0;
        passive[p] = 0;
    }
    double chi2 = 9999.0, oldchi2 = 9999.0;
    int niter = 0, flags = MH_MAHI_FLAG_FITTED;

    for (int iter = 0; iter < cfg->nMaxItersMin; iter++) {
        /* Covariance: noise + constant pedestal + amplitude-scaled pulse
         * shape uncertainty of every non-zero pulse (lower triangle). */
        double cov[LD * LD], l[LD * LD];
        for (int i = 0; i < MH_MAHI_NFIT; i++) {
            for (int j = 0; j < i; j++)
                cov[i * LD + j] = pedvar;
            cov[i * LD + i] = pedvar + noise[i];
        }
        for (int p = 0; p < nbx; p++) {
            if (amp[p] == 0.0)
                continue;
            double a2h = 0.5 * amp[p] * amp[p];
            for (int i = 0; i < MH_MAHI_NFIT; i++)
                for (int j = 0; j <= i; j++)
                    cov[i * LD + j] +=
                        a2h * (dplus[p][i] * dplus[p][j] + dminus[p][i] * dminus[p][j]);
        }
        if (mh_mahi_cholesky(MH_MAHI_NFIT, cov, l) != 0) {
            flags |= MH_MAHI_FLAG_BADCOV;
            break;
        }

        /* A = L^-1 P and b = L^-1 q by forward substitution on all columns
         * at once, then the normal equations A^T A, A^T b. */
        double a[LD * LD], b[MH_MAHI_NFIT];
        for (int i = 0; i < MH_MAHI_NFIT; i++) {
            double inv = 1.0 / l[i * LD + i];
            double sb = q[i];
            for (int k = 0; k < i; k++)
                sb -= l[i * LD + k] * b[k];
            b[i] = sb * inv;
            for (int p = 0; p < nbx; p++) {
                double s = pm[i * LD + p];
                for (int k = 0; k < i; k++)
                    s -= l[i * LD + k] * a[k * LD + p];
                a[i * LD + p] = s * inv;
            }
        }
        double ata[LD * LD], atb[LD];
        for (int p = 0; p < nbx; p++) {
            double sb = 0.0;
            for (int i = 0; i < MH_MAHI_NFIT; i++)
                sb += a[i * LD + p] * b[i];
            atb[p] = sb;
            for (int r = 0; r <= p; r++) {
                double s = 0.0;
                for (int i = 0; i < MH_MAHI_NFIT; i++)
                    s += a[i * LD + p] * a[i * LD + r];
                ata[p * LD + r] = s;
                ata[r * LD + p] = s;
            }
        }

        mh_mahi_nnls(nbx, ata, atb, amp, passive, cfg->nMaxItersNNLS, cfg->nnlsThresh);

        double newchi2 = 0.0;
        for (int i = 0; i < MH_MAHI_NFIT; i++) {
            double r = -b[i];
            for (int p = 0; p < nbx; p++)
                r += a[i * LD + p] * amp[p];
            newchi2 += r * r;
        }
        double delta = newchi2 - chi2;
        niter++;
        /* Two-cycle oscillation between covariances: keep the better. */
        if (newchi2 == oldchi2 && newchi2 < chi2) {
            chi2 = newchi2;
            break;
        }
        oldchi2 = chi2;
        chi2 = newchi2;
        if (fabs(delta) < cfg->deltaChiSqThresh) {
            flags |= MH_MAHI_FLAG_CONVERGED;
            break;
        }
    }

    res->amp_fc = (float)amp[inpulse];
    res->energy = (float)(amp[inpulse] * gain);
    res->chi2 = (float)(niter > 0 ? chi2 : 0.0);
    for (int p = 0; p < nbx; p++) {
        int slot = mh_mahi_oot_index(cfg->activeBXs[p]);
        if (slot >= 0)
            res->oot[slot] = (float)(amp[p] * gain);
    }
    res->niter = niter;
    res->flags = flags;
}

#undef LD
#endif /* the fit */
