/* mahi.c - the MAHI pulse fit on the CPU: pulse table, configuration and
 * the batch driver. See mh_mahi.h for the model and the sample indexing.
 *
 * The fit itself (fixed-size 8x8 linear algebra, NNLS, the covariance loop,
 * mh_mahi_fit_channel) is in mahi_core.h, one source compiled here as C and
 * by the OpenCL backend as the kernel's core (sim/ocl/kernels/mahi.cl), so
 * that CPU and device run the same code. Arithmetic is double: the normal
 * equations of nearly collinear early-BX pulses (only their tails reach the
 * window) lose too much precision in float.
 */
#include "hcal/mh_mahi.h"

#include <float.h>
#include <math.h>



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

#define MH_MAHI_CORE_IMPL 1 /* the fit itself, shared with the OpenCL kernel */
#include "hcal/mahi_core.h"

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
