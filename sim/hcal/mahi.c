/* mahi.c - the MAHI pulse fit: fixed-size 8x8 linear algebra, NNLS, the
 * covariance loop and the batch driver. See mh_mahi.h for the model and the
 * sample indexing.
 *
 * Everything below mh_mahi_fit_channel is written so that it ports to OpenCL
 * C unchanged in spirit: stack arrays of fixed size, no heap, no libc besides
 * sqrt/log/fabs, no global state. Arithmetic is double: the normal equations
 * of nearly collinear early-BX pulses (only their tails reach the window)
 * lose too much precision in float.
 */
#include "hcal/mh_mahi.h"

#include <float.h>
#include <math.h>

#define LD MH_MAHI_LD

/* ---- Pulse table ------------------------------------------------------- */

mh_status mh_mahi_pulse_build(mh_mahi_pulse *pulse, mh_mahi_pulse_fn fn, void *ctx, int soi,
                              float t_min_ns, float t_max_ns, float t_step_ns, char *err,
                              size_t errlen)
{
    if (!pulse || !fn)
        return mh_fail(err, errlen, MH_INVALID, "mahi pulse: NULL table or function");
    if (soi < 0 || soi >= MH_MAHI_NTS)
        return mh_fail(err, errlen, MH_INVALID, "mahi pulse: soi %d outside 0..%d", soi,
                       MH_MAHI_NTS - 1);
    if (!isfinite(t_min_ns) || !isfinite(t_max_ns) || !isfinite(t_step_ns) || t_step_ns <= 0.0f ||
        t_max_ns <= t_min_ns)
        return mh_fail(err, errlen, MH_INVALID, "mahi pulse: bad time range [%g, %g] step %g ns",
                       (double)t_min_ns, (double)t_max_ns, (double)t_step_ns);
    double rows = floor(((double)t_max_ns - t_min_ns) / t_step_ns + 0.5) + 1.0;
    if (rows > MH_MAHI_PULSE_MAXROWS)
        return mh_fail(err, errlen, MH_INVALID,
                       "mahi pulse: [%g, %g] ns in steps of %g ns needs %.0f rows, at most %d",
                       (double)t_min_ns, (double)t_max_ns, (double)t_step_ns, rows,
                       MH_MAHI_PULSE_MAXROWS);
    pulse->t_min_ns = t_min_ns;
    pulse->t_step_ns = t_step_ns;
    pulse->nrows = (int32_t)rows;
    pulse->soi = soi;
    for (int r = 0; r < pulse->nrows; r++) {
        float t = t_min_ns + (float)r * t_step_ns;
        fn(ctx, t, pulse->frac[r]);
        for (int ts = 0; ts < MH_MAHI_NTS; ts++) {
            float f = pulse->frac[r][ts];
            if (!isfinite(f) || f < -1e-6f || f > 1.0f + 1e-6f)
                return mh_fail(err, errlen, MH_INVALID,
                               "mahi pulse: fraction %g in TS%d at t = %g ns is not in [0, 1]",
                               (double)f, ts, (double)t);
            if (f < 0.0f)
                pulse->frac[r][ts] = 0.0f;
        }
    }
    return MH_OK;
}

void mh_mahi_pulse_eval(const mh_mahi_pulse *pulse, float t_ns, float *frac)
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

/* ---- Configuration ----------------------------------------------------- */

void mh_mahi_config_default(mh_mahi_config *cfg)
{
    for (int i = 0; i < MH_MAHI_MAXBX; i++)
        cfg->activeBXs[i] = MH_MAHI_BXMIN + i;
    cfg->nActiveBXs = MH_MAHI_MAXBX;
    cfg->nMaxItersMin = 50;
    cfg->nMaxItersNNLS = 500;
    cfg->deltaChiSqThresh = 1e-3f;
    cfg->nnlsThresh = 1e-11f;
    cfg->meanTime = 0.0f;
    cfg->timeSigma = 2.5f;
    cfg->applyTimeSlew = 1;
    cfg->timeSlewTzero = 11.977461f;
    cfg->timeSlewSlope = -1.5610227f;
    cfg->timeSlewTmax = 10.0f;
    cfg->ts4Thresh = 0.0f;
    cfg->firstSample = 0;
    cfg->soi = 3;
}

mh_status mh_mahi_config_check(const mh_mahi_config *cfg, const mh_mahi_pulse *pulse, char *err,
                               size_t errlen)
{
    if (!cfg)
        return mh_fail(err, errlen, MH_INVALID, "mahi: NULL config");
    if (cfg->nActiveBXs < 1 || cfg->nActiveBXs > MH_MAHI_MAXBX)
        return mh_fail(err, errlen, MH_PARAM, "mahi: activeBXs has %d entries, need 1..%d",
                       (int)cfg->nActiveBXs, MH_MAHI_MAXBX);
    int has0 = 0;
    for (int i = 0; i < cfg->nActiveBXs; i++) {
        int bx = cfg->activeBXs[i];
        if (bx < MH_MAHI_BXMIN || bx > MH_MAHI_BXMAX)
            return mh_fail(err, errlen, MH_PARAM, "mahi: activeBXs[%d] = %d outside [%d, %d]", i,
                           bx, MH_MAHI_BXMIN, MH_MAHI_BXMAX);
        if (i > 0 && bx <= cfg->activeBXs[i - 1])
            return mh_fail(err, errlen, MH_PARAM,
                           "mahi: activeBXs must be strictly increasing (entry %d)", i);
        has0 |= bx == 0;
    }
    if (!has0)
        return mh_fail(err, errlen, MH_PARAM, "mahi: activeBXs must contain the in-time BX 0");
    if (cfg->nMaxItersMin < 1)
        return mh_fail(err, errlen, MH_PARAM, "mahi: nMaxItersMin must be >= 1");
    if (cfg->nMaxItersNNLS < 1)
        return mh_fail(err, errlen, MH_PARAM, "mahi: nMaxItersNNLS must be >= 1");
    if (!(cfg->deltaChiSqThresh > 0.0f) || !isfinite(cfg->deltaChiSqThresh))
        return mh_fail(err, errlen, MH_PARAM, "mahi: deltaChiSqThresh must be > 0");
    if (!(cfg->nnlsThresh >= 0.0f) || !isfinite(cfg->nnlsThresh))
        return mh_fail(err, errlen, MH_PARAM, "mahi: nnlsThresh must be >= 0");
    if (!(cfg->timeSigma > 0.0f) || !isfinite(cfg->timeSigma))
        return mh_fail(err, errlen, MH_PARAM, "mahi: timeSigma must be > 0");
    if (!isfinite(cfg->meanTime) || !isfinite(cfg->ts4Thresh) || !isfinite(cfg->timeSlewTzero) ||
        !isfinite(cfg->timeSlewSlope) || !isfinite(cfg->timeSlewTmax) || cfg->timeSlewTmax < 0.0f)
        return mh_fail(err, errlen, MH_PARAM,
                       "mahi: meanTime, ts4Thresh and timeSlew* must be finite, timeSlewTmax >= 0");
    if (cfg->firstSample < 0 || cfg->firstSample > MH_MAHI_NTS - MH_MAHI_NFIT)
        return mh_fail(err, errlen, MH_PARAM, "mahi: firstSample %d outside 0..%d",
                       (int)cfg->firstSample, MH_MAHI_NTS - MH_MAHI_NFIT);
    if (cfg->soi < cfg->firstSample || cfg->soi >= cfg->firstSample + MH_MAHI_NFIT)
        return mh_fail(err, errlen, MH_PARAM, "mahi: soi %d outside the fit window TS%d..TS%d",
                       (int)cfg->soi, (int)cfg->firstSample,
                       (int)cfg->firstSample + MH_MAHI_NFIT - 1);
    if (pulse) {
        if (pulse->nrows < 2 || pulse->nrows > MH_MAHI_PULSE_MAXROWS ||
            !(pulse->t_step_ns > 0.0f) || pulse->soi < 0 || pulse->soi >= MH_MAHI_NTS)
            return mh_fail(err, errlen, MH_PARAM, "mahi: pulse table is not initialised");
        float lo = cfg->meanTime - cfg->timeSigma;
        float hi = cfg->meanTime + cfg->timeSigma + (cfg->applyTimeSlew ? cfg->timeSlewTmax : 0.0f);
        float tlo = pulse->t_min_ns;
        float thi = pulse->t_min_ns + (float)(pulse->nrows - 1) * pulse->t_step_ns;
        if (lo < tlo - 1e-4f || hi > thi + 1e-4f)
            return mh_fail(err, errlen, MH_PARAM,
                           "mahi: pulse table covers [%g, %g] ns, the fit needs [%g, %g] ns",
                           (double)tlo, (double)thi, (double)lo, (double)hi);
    }
    return MH_OK;
}

float mh_mahi_time_slew(const mh_mahi_config *cfg, float q_fc)
{
    float q = q_fc > 1.0f ? q_fc : 1.0f;
    float d = cfg->timeSlewTzero + cfg->timeSlewSlope * logf(q);
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
static int solve_passive(int np, const int *idx, const double *ata, const double *atb, double *s)
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

void mh_mahi_fit_channel(const mh_mahi_config *cfg, const mh_mahi_pulse *pulse,
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

void mh_mahi_fit_batch(const mh_mahi_config *cfg, const mh_mahi_pulse *pulse,
                       const float *charge_fc, const float *adc_bin_width,
                       const float *ped_width, const float *gain, const float *fc_per_pe,
                       size_t n, float *energy, float *chi2, float *oot, uint8_t *flags)
{
    for (size_t c = 0; c < n; c++) {
        mh_mahi_result r;
        mh_mahi_fit_channel(cfg, pulse, charge_fc + c * MH_MAHI_NTS,
                            adc_bin_width + c * MH_MAHI_NTS, ped_width[c], gain[c], fc_per_pe[c],
                            &r);
        energy[c] = r.energy;
        chi2[c] = r.chi2;
        if (oot)
            for (int i = 0; i < MH_MAHI_NOOT; i++)
                oot[c * MH_MAHI_NOOT + i] = r.oot[i];
        if (flags)
            flags[c] = (uint8_t)r.flags;
    }
}
