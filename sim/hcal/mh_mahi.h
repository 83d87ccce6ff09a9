/* mh_mahi.h - the MAHI pulse fit (CMS Run 3 HBHE local reconstruction).
 *
 * MAHI ("Minimisation At HCAL, Iteratively") fits the digitised samples of
 * one HBHE channel with one pulse per bunch crossing (BX) of a configured set
 * (by default BX -3 ... +4), with non-negative amplitudes. It minimises
 *
 *     chi2 = || L^-1 (P a - q) ||^2
 *
 * where q are the pedestal-subtracted charges (fC) of the fitted samples,
 * P (samples x pulses) holds the pulse-shape fractions of each BX's pulse,
 * a are the pulse amplitudes (fC) and L is the Cholesky factor of the
 * per-sample covariance
 *
 *     C = diag(adc_bin_width^2/12 + ped_width^2 + q*fc_per_pe [if q > ped_width])
 *       + ped_width^2                      (constant pedestal term, all i,j)
 *       + sum_p a_p^2 * 0.5 (dP_p dP_p^T + dM_p dM_p^T)   (pulse-shape term)
 *
 * with dP_p / dM_p the change of pulse p's fractions when its arrival time
 * moves by +timeSigma / -timeSigma. An active-set (Lawson-Hanson) NNLS solves
 * for a at fixed C; an outer loop rebuilds C from the new amplitudes until
 * |delta chi2| < deltaChiSqThresh or nMaxItersMin iterations. The in-time
 * pulse arrives at meanTime plus the QIE11 time slew of its SOI charge.
 * Reference: CMSSW RecoLocalCalo/HcalRecAlgos/src/MahiFit.cc (this is our
 * own code, with CMSSW's parameter names).
 *
 * Sample indexing (read this once):
 *   - A digi has MH_MAHI_NTS = 10 samples TS0..TS9 of 25 ns; the sample of
 *     interest (SOI, the triggered crossing) is TS `soi` (default 3).
 *   - The pulse of BX k arrives at the start of TS soi+k: with the default
 *     activeBXs -3..+4, BX -3 starts in TS0 and BX +4 in TS7.
 *   - The fit uses MH_MAHI_NFIT = 8 consecutive samples starting at TS
 *     `firstSample`. Default 0: the window TS0..TS7 is exactly the one in
 *     which every fitted BX arrives (as CMSSW Run 3, 8 samples with SOI =
 *     TS3); the SOI is window index soi - firstSample = 3. firstSample = 2
 *     ("the last 8 of 10", TS2..TS9, SOI at window index 1) is supported,
 *     but then BX -3 and -2 arrive before the window and only their tails
 *     are seen: their columns are nearly collinear and the 8x8 system is
 *     ill-conditioned, so use activeBXs -1..+4 with it (tests cover both).
 *   - Out-of-time outputs are indexed by BX, skipping 0:
 *     oot[0..6] = BX -3, -2, -1, +1, +2, +3, +4 (mh_mahi_oot_index()).
 *
 * The per-channel fit is self-contained: fixed-size arrays on the stack, no
 * heap, no libc calls other than sqrt/log, no globals, so that it translates
 * line by line to OpenCL C. The pulse shape enters only through the
 * precomputed table mh_mahi_pulse (a plain struct that can be copied to a
 * device buffer).
 */
#ifndef MH_MAHI_H
#define MH_MAHI_H

#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"
#include "hcal/mahi_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes, tables and results: sim/hcal/mahi_core.h (shared with the OpenCL kernel). */

/* ---- Pulse shape input ------------------------------------------------ */

/* A pulse-shape function: writes into frac[0..MH_MAHI_NTS-1] the fraction of
 * a unit pulse's charge collected in digi samples TS0..TS9 when the pulse
 * arrives t_ns nanoseconds after the start of sample TS `soi` (the soi given
 * to mh_mahi_pulse_build). Fractions beyond TS9 are simply lost. ctx is
 * passed through. Must be deterministic. */
typedef void (*mh_mahi_pulse_fn)(void *ctx, float t_ns, float *frac);

/* The pulse table mh_mahi_pulse is defined in mahi_core.h. */

/* Fills *pulse by calling fn at nrows = (t_max_ns - t_min_ns)/t_step_ns + 1
 * times. The range must cover meanTime +- timeSigma plus the largest time
 * slew (the defaults need about [-5, 20] ns; [-10, 40] with 0.25 ns steps is
 * a good choice). Returns MH_INVALID (with a message in err) for a bad range,
 * a step giving more than MH_MAHI_PULSE_MAXROWS rows, or non-finite or
 * negative fractions from fn. The caller owns *pulse. */
mh_status mh_mahi_pulse_build(mh_mahi_pulse *pulse, mh_mahi_pulse_fn fn, void *ctx, int soi,
                              float t_min_ns, float t_max_ns, float t_step_ns, char *err,
                              size_t errlen);

/* Linear interpolation of the table at t_ns (clamped); writes frac[0..9]. */
void mh_mahi_pulse_eval(const mh_mahi_pulse *pulse, float t_ns, float *frac);

/* ---- Configuration ---------------------------------------------------- */

/* mh_mahi_config (parameters named as in CMSSW) is defined in mahi_core.h. */

/* Fills *cfg with the CMSSW Run 3 HBHE defaults listed above. */
void mh_mahi_config_default(mh_mahi_config *cfg);

/* Checks cfg (and, if pulse != NULL, that the pulse table is usable with it).
 * Returns MH_OK or MH_PARAM with the offending parameter named in err.
 * Call once at configuration time; the fit functions do not re-check. */
mh_status mh_mahi_config_check(const mh_mahi_config *cfg, const mh_mahi_pulse *pulse, char *err,
                               size_t errlen);

/* Time slew (ns) of a pulse whose SOI charge is q_fc (charges below 1 fC
 * use 1 fC, as CMSSW does). */
float mh_mahi_time_slew(const mh_mahi_config *cfg, float q_fc);

/* Output slot (0..6) of the out-of-time amplitude of BX bx, or -1 for bx = 0
 * or outside [-3, +4]. */
int mh_mahi_oot_index(int bx);

/* ---- The fit ---------------------------------------------------------- */

/* MH_MAHI_FLAG_* and mh_mahi_result are defined in mahi_core.h. */

/* Fits one channel. charge_fc[0..9]: pedestal-subtracted charge of TS0..TS9
 * (fC); adc_bin_width[0..9]: width in fC of the ADC bin each sample fell in
 * (QIE11 is non-linear); ped_width: pedestal width (fC); gain: GeV per fC;
 * fc_per_pe: fC per photo-electron. cfg must have passed
 * mh_mahi_config_check. Writes *res; never fails. Thread-safe (no state). */
void mh_mahi_fit_channel(const mh_mahi_config *cfg, const mh_mahi_pulse *pulse,
                         const float *charge_fc, const float *adc_bin_width, float ped_width,
                         float gain, float fc_per_pe, mh_mahi_result *res);

/* Fits n channels given as structure-of-arrays: charge_fc and adc_bin_width
 * are n x 10 (row = channel), ped_width, gain and fc_per_pe are n. Writes
 * energy[n] and chi2[n]; oot (n x 7) and flags (n) may be NULL. The caller
 * owns every array. Thread-safe: callers may split a batch across threads. */
void mh_mahi_fit_batch(const mh_mahi_config *cfg, const mh_mahi_pulse *pulse,
                       const float *charge_fc, const float *adc_bin_width,
                       const float *ped_width, const float *gain, const float *fc_per_pe,
                       size_t n, float *energy, float *chi2, float *oot, uint8_t *flags);

/* ---- Building blocks (exposed for unit tests and the OpenCL port) -----
 * Matrices are row-major double with leading dimension MH_MAHI_LD (8), of
 * which the top-left n x n (n <= 8) is used. */

/* Cholesky factor L (lower, L L^T = a) of the symmetric positive-definite a.
 * Only the lower triangle of a is read; l's upper triangle is zeroed.
 * Returns 0, or -1 if a pivot is not positive (a not positive definite). */
int mh_mahi_cholesky(int n, const double *a, double *l);

/* Solves L x = b (forward substitution); x may alias b. */
void mh_mahi_solve_lower(int n, const double *l, const double *b, double *x);

/* Solves L^T x = b (back substitution); x may alias b. */
void mh_mahi_solve_upper_t(int n, const double *l, const double *b, double *x);

/* Non-negative least squares on the normal equations: minimises
 * x^T AtA x - 2 x^T Atb subject to x >= 0 (Lawson-Hanson active set, as in
 * CMSSW). x and passive (1 = free / in the passive set) are the warm start
 * and the result; start from zeros and all-0 passive for a cold start.
 * Returns the number of iterations done. */
int mh_mahi_nnls(int n, const double *ata, const double *atb, double *x, uint8_t *passive,
                 int max_iter, double thresh);

#ifdef __cplusplus
}
#endif
#endif
