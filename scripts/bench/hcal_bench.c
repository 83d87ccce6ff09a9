/* hcal_bench.c - one-thread timing of the HCAL reconstruction on synthetic
 * HBHE events: the MAHI fit (microseconds per channel and per event) and the
 * FACILE CPU path (feature building + forward pass, microseconds per event).
 * Built and run by scripts/bench/hcal.sh against build/lib/libminihlt.so;
 * not part of the library.
 *
 * Synthetic events (stand-ins until the generator writes event samples):
 * each event has --channels HBHE channels (default 6500, the order of the
 * HBHE channels read out per event at pileup 60) drawn from the 15840 cells
 * of the Run 3 geometry (sim/hcal). In each bunch crossing -3..+4 a channel
 * gets a pileup deposit with probability 1 - exp(-mu/100) (0.45 at mu = 60)
 * of exponential charge, mean 20 fC (~0.1 GeV); 5% of the channels also
 * carry an in-time signal of exponential charge, mean 1000 fC (~5 GeV),
 * delayed by the QIE11 time slew; every sample has 1.5 fC of Gaussian
 * pedestal noise. Pulses use the SiPM pulse shape of sim/hcal (the table
 * MAHI fits with), ADC bin widths are QIE11's at each sample's charge.
 * The MAHI cost depends on how many pulses are active, hence on pileup; the
 * FACILE cost only on the number of channels.
 *
 * usage: hcal_bench MODEL_DIR [--pileup MU] [--channels N] [--events E]
 *                   [--seed S]
 * Times are thread CPU time. Prints "key value" lines (parsed by hcal.sh)
 * after a readable summary.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcal/mh_hcal.h"
#include "hcal/mh_mahi.h"
#include "ml/mh_facile.h"

#define NTS MH_MAHI_NTS
#define PEDW 1.5f  /* pedestal width, fC */
#define FCPE 4.0f  /* fC per photo-electron */

static uint64_t rng_state = 88172645463325252ull;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double gauss(void)
{
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

typedef struct event {
    size_t n;
    float *q, *adcw, *pedw, *gain, *fcpe;
    int *ieta, *iphi, *depth;
} event;

static void event_free(event *e)
{
    free(e->q);
    free(e->adcw);
    free(e->pedw);
    free(e->gain);
    free(e->fcpe);
    free(e->ieta);
    free(e->iphi);
    free(e->depth);
}

/* Fills e with n synthetic channels at pileup mu (see the file comment). */
static int event_make(event *e, size_t n, double mu)
{
    memset(e, 0, sizeof *e);
    e->n = n;
    e->q = malloc(sizeof(float) * n * NTS);
    e->adcw = malloc(sizeof(float) * n * NTS);
    e->pedw = malloc(sizeof(float) * n);
    e->gain = malloc(sizeof(float) * n);
    e->fcpe = malloc(sizeof(float) * n);
    e->ieta = malloc(sizeof(int) * n);
    e->iphi = malloc(sizeof(int) * n);
    e->depth = malloc(sizeof(int) * n);
    if (!e->q || !e->adcw || !e->pedw || !e->gain || !e->fcpe || !e->ieta || !e->iphi ||
        !e->depth)
        return -1;
    double p_pu = 1.0 - exp(-mu / 100.0);
    for (size_t c = 0; c < n; c++) {
        float *q = e->q + c * NTS, frac[NTS];
        for (int ts = 0; ts < NTS; ts++)
            q[ts] = (float)(PEDW * gauss());
        for (int bx = -3; bx <= 4; bx++) {
            double a = uniform() < p_pu ? -20.0 * log(uniform()) : 0.0;
            float t = 0.0f;
            if (bx == 0 && uniform() < 0.05) {
                a += -1000.0 * log(uniform());
                t = mh_hcal_time_slew((float)(0.6 * a)); /* ~ the SOI share */
            }
            if (a == 0.0)
                continue;
            mh_hcal_pulse_fractions(MH_HCAL_TS_NS * (float)bx + t, frac);
            for (int ts = 0; ts < NTS; ts++)
                q[ts] += (float)a * frac[ts];
        }
        for (int ts = 0; ts < NTS; ts++)
            e->adcw[c * NTS + ts] = mh_qie11_bin_width(mh_qie11_adc(fmaxf(q[ts], 0.0f)));
        const mh_hcal_cell *cell = mh_hcal_cell_at((uint32_t)(uniform() * MH_HCAL_NCHANNELS));
        e->pedw[c] = PEDW;
        e->gain[c] = (float)(0.004 + 0.002 * uniform());
        e->fcpe[c] = FCPE;
        e->ieta[c] = cell->ieta;
        e->iphi[c] = cell->iphi;
        e->depth[c] = cell->depth;
    }
    return 0;
}

/* Thread CPU time: what minihlt's timing service charges a module, and far
 * less sensitive than wall time to the other jobs of a shared machine. */
static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "hcal_bench: %s: '%s' is not an integer in [%ld, %ld]\n", what, s, lo,
                hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *model_dir = NULL;
    double mu = 60.0;
    long nch = 6500, nev = 20;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pileup") == 0 && i + 1 < argc)
            mu = (double)parse_long(argv[++i], "--pileup", 0, 1000);
        else if (strcmp(argv[i], "--channels") == 0 && i + 1 < argc)
            nch = parse_long(argv[++i], "--channels", 1, 1000000);
        else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            nev = parse_long(argv[++i], "--events", 1, 100000);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            rng_state ^= (uint64_t)parse_long(argv[++i], "--seed", 0, 1L << 30) * 2654435761u;
        else if (argv[i][0] != '-' && !model_dir)
            model_dir = argv[i];
        else {
            fprintf(stderr, "usage: hcal_bench MODEL_DIR [--pileup MU] [--channels N] "
                            "[--events E] [--seed S]\n");
            return 2;
        }
    }
    if (!model_dir) {
        fprintf(stderr, "hcal_bench: MODEL_DIR missing\n");
        return 2;
    }

    char err[512];
    int rc = 1;
    mh_mahi_config cfg;
    mh_mahi_config_default(&cfg);
    static mh_mahi_pulse pulse;
    mh_facile *model = NULL;
    event *ev = calloc((size_t)nev, sizeof *ev);
    float *energy = malloc(sizeof(float) * (size_t)nch), *chi2 = malloc(sizeof(float) * (size_t)nch);
    float *feat = malloc(sizeof(float) * (size_t)nch * MH_FACILE_NFEAT);
    float *out = NULL;
    uint8_t *flags = malloc((size_t)nch);
    void *work = NULL;
    if (!ev || !energy || !chi2 || !feat || !flags)
        goto nomem;
    if (mh_hcal_pulse_mahi_table(&pulse, err, sizeof err) != MH_OK ||
        mh_mahi_config_check(&cfg, &pulse, err, sizeof err) != MH_OK ||
        mh_facile_load(model_dir, 1, &model, err, sizeof err) != MH_OK) {
        fprintf(stderr, "hcal_bench: %s\n", err);
        goto cleanup;
    }
    out = malloc(sizeof(float) * (size_t)nch * mh_facile_num_outputs(model));
    work = malloc(mh_facile_workspace_size(model));
    if (!out || !work)
        goto nomem;
    for (long e = 0; e < nev; e++)
        if (event_make(&ev[e], (size_t)nch, mu) != 0)
            goto nomem;

    /* MAHI: every channel of every event, one thread. */
    long nfit = 0;
    double t0 = now_us();
    for (long e = 0; e < nev; e++)
        mh_mahi_fit_batch(&cfg, &pulse, ev[e].q, ev[e].adcw, ev[e].pedw, ev[e].gain, ev[e].fcpe,
                          (size_t)nch, energy, chi2, NULL, flags);
    double t_mahi = now_us() - t0;
    long iters = 0, nsample = 0;
    for (long c = 0; c < nch && nsample < 2000; c++) { /* iterations of event 0 */
        mh_mahi_result r;
        mh_mahi_fit_channel(&cfg, &pulse, ev[0].q + c * NTS, ev[0].adcw + c * NTS, ev[0].pedw[c],
                            ev[0].gain[c], ev[0].fcpe[c], &r);
        if (r.flags & MH_MAHI_FLAG_FITTED) {
            iters += r.niter;
            nsample++;
        }
    }
    for (long c = 0; c < nch; c++)
        nfit += (flags[c] & MH_MAHI_FLAG_FITTED) != 0;

    /* FACILE: features + forward per event; the best of 3 passes over the
     * events (the forward pass is short enough for timer noise to matter). */
    double t_feat = 1e300, t_fwd = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        double tf = 0.0, tw = 0.0;
        for (long e = 0; e < nev; e++) {
            double a = now_us();
            if (mh_facile_features(ev[e].q, NTS, 0, ev[e].gain, ev[e].ieta, ev[e].iphi,
                                   ev[e].depth, (size_t)nch, feat, err, sizeof err) != MH_OK)
                goto facile_error;
            double b = now_us();
            if (mh_facile_forward(model, feat, (size_t)nch, out, work,
                                  mh_facile_workspace_size(model), err, sizeof err) != MH_OK)
                goto facile_error;
            tw += now_us() - b;
            tf += b - a;
        }
        t_feat = tf < t_feat ? tf : t_feat;
        t_fwd = tw < t_fwd ? tw : t_fwd;
    }

    double ch = (double)nch * (double)nev;
    printf("hcal: %ld synthetic events x %ld channels, pileup %.0f, one thread\n", nev, nch, mu);
    printf("mahi: %.3f us per channel, %.2f ms per event (%.1f%% of channels fitted, "
           "%.2f outer iterations per fitted channel)\n",
           t_mahi / ch, t_mahi / (double)nev / 1e3, 100.0 * (double)nfit / (double)nch,
           nsample ? (double)iters / (double)nsample : 0.0);
    printf("facile: %.1f us per event (features %.1f + forward %.1f), %.1f ns per channel, "
           "model %s\n",
           (t_feat + t_fwd) / (double)nev, t_feat / (double)nev, t_fwd / (double)nev,
           1e3 * (t_feat + t_fwd) / ch, mh_facile_name(model));
    printf("mahi/facile time per event: %.1f\n", t_mahi / (t_feat + t_fwd));
    printf("mahi_us_per_channel %.4f\n", t_mahi / ch);
    printf("mahi_ms_per_event %.4f\n", t_mahi / (double)nev / 1e3);
    printf("mahi_iterations %.3f\n", nsample ? (double)iters / (double)nsample : 0.0);
    printf("facile_us_per_event %.2f\n", (t_feat + t_fwd) / (double)nev);
    printf("facile_forward_us_per_event %.2f\n", t_fwd / (double)nev);
    printf("facile_features_us_per_event %.2f\n", t_feat / (double)nev);
    rc = 0;
    goto cleanup;
nomem:
    fprintf(stderr, "hcal_bench: out of memory for %ld events x %ld channels\n", nev, nch);
    goto cleanup;
facile_error:
    fprintf(stderr, "hcal_bench: %s\n", err);
cleanup:
    if (ev)
        for (long e = 0; e < nev; e++)
            event_free(&ev[e]);
    free(ev);
    free(energy);
    free(chi2);
    free(feat);
    free(out);
    free(flags);
    free(work);
    mh_facile_free(model);
    return rc;
}
