/* pulse.c - the SiPM pulse shape of HBHE (Phase-1), per-sample fractions,
 * their time derivative, and the QIE11 time slew.
 *
 * Shape: what a scintillator tile read out through a wavelength-shifting
 * fibre and a SiPM delivers to the QIE11 - a fast component (75%) rising
 * with tau_r = 4 ns and falling with tau_f = 12 ns, plus a slow tail (25%,
 * tau = 35 ns) from the fibre re-emission and the SiPM recovery. These are
 * our own round numbers chosen to give the sample fractions of the CMS
 * Run 3 HBHE shape at nominal phase: about 74% / 18% / 5% / 2% in the
 * first four samples after arrival at the start of a sample. The analytic
 * form is integrated exactly over 1 ns bins once, normalised to 1 over
 * 250 ns, and from then on only the table is used (the same table feeds
 * the generator and MAHI's fit, so a fit of generated data uses the true
 * shape).
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "hcal/mh_hcal.h"

#define MH__TAU_R 4.0
#define MH__TAU_F 12.0
#define MH__TAU_TAIL 35.0
#define MH__FAST 0.75

static pthread_once_t mh__pulse_once = PTHREAD_ONCE_INIT;
static float mh__tab[MH_HCAL_PULSE_NBINS];
static float mh__cum[MH_HCAL_PULSE_NBINS + 1];

static double mh__analytic_cdf(double t)
{
    if (t <= 0.0)
        return 0.0;
    double fast = 1.0 - (MH__TAU_F * exp(-t / MH__TAU_F) - MH__TAU_R * exp(-t / MH__TAU_R)) /
                            (MH__TAU_F - MH__TAU_R);
    double tail = 1.0 - exp(-t / MH__TAU_TAIL);
    return MH__FAST * fast + (1.0 - MH__FAST) * tail;
}

static void mh__pulse_build(void)
{
    double norm = mh__analytic_cdf((double)MH_HCAL_PULSE_NBINS);
    double acc = 0.0;
    mh__cum[0] = 0.0f;
    for (int i = 0; i < MH_HCAL_PULSE_NBINS; i++) {
        double f = (mh__analytic_cdf(i + 1.0) - mh__analytic_cdf((double)i)) / norm;
        mh__tab[i] = (float)f;
        acc += f;
        mh__cum[i + 1] = (float)acc;
    }
    mh__cum[MH_HCAL_PULSE_NBINS] = 1.0f;
}

static void mh__pulse(void)
{
    pthread_once(&mh__pulse_once, mh__pulse_build);
}

const float *mh_hcal_pulse_table(void)
{
    mh__pulse();
    return mh__tab;
}

float mh_hcal_pulse_cdf(float t_ns)
{
    mh__pulse();
    if (!(t_ns > 0.0f))
        return 0.0f;
    if (t_ns >= (float)MH_HCAL_PULSE_NBINS)
        return 1.0f;
    int i = (int)t_ns;
    return mh__cum[i] + (t_ns - (float)i) * mh__tab[i];
}

static float mh__pdf(float t_ns)
{
    if (!(t_ns >= 0.0f) || t_ns >= (float)MH_HCAL_PULSE_NBINS)
        return 0.0f;
    return mh__tab[(int)t_ns];
}

void mh_hcal_pulse_fractions(float t_ns, float out[MH_NSAMPLES])
{
    float lo = mh_hcal_pulse_cdf(-(float)MH_SOI * MH_HCAL_TS_NS - t_ns);
    for (int k = 0; k < MH_NSAMPLES; k++) {
        float hi = mh_hcal_pulse_cdf((float)(k + 1 - MH_SOI) * MH_HCAL_TS_NS - t_ns);
        out[k] = hi - lo;
        lo = hi;
    }
}

float mh_hcal_pulse_containment(float t_ns)
{
    return mh_hcal_pulse_cdf((float)(MH_NSAMPLES - MH_SOI) * MH_HCAL_TS_NS - t_ns) -
           mh_hcal_pulse_cdf(-(float)MH_SOI * MH_HCAL_TS_NS - t_ns);
}

void mh_hcal_pulse_derivative(float t_ns, float out[MH_NSAMPLES])
{
    mh__pulse();
    /* frac_k(t) = F(b_k - t) - F(a_k - t), so d/dt = f(a_k - t) - f(b_k - t). */
    for (int k = 0; k < MH_NSAMPLES; k++) {
        float a = (float)(k - MH_SOI) * MH_HCAL_TS_NS - t_ns;
        out[k] = mh__pdf(a) - mh__pdf(a + MH_HCAL_TS_NS);
    }
}

void mh_hcal_pulse_mahi_fn(void *ctx, float t_ns, float *frac)
{
    (void)ctx;
    mh_hcal_pulse_fractions(t_ns, frac);
}

mh_status mh_hcal_pulse_mahi_table(mh_mahi_pulse *pulse, char *err, size_t errlen)
{
    return mh_mahi_pulse_build(pulse, mh_hcal_pulse_mahi_fn, NULL, MH_SOI, -10.0f, 40.0f, 0.25f,
                               err, errlen);
}

float mh_hcal_time_slew(float q_fc)
{
    /* One implementation of the slew formula: MAHI's, with our constants. */
    static const mh_mahi_config slew = {.timeSlewTzero = MH_HCAL_SLEW_T0,
                                        .timeSlewSlope = MH_HCAL_SLEW_SLOPE,
                                        .timeSlewTmax = MH_HCAL_SLEW_TMAX};
    return mh_mahi_time_slew(&slew, q_fc);
}
