/* synth.h - synthetic HBHE inputs for the plugin tests: a conditions file
 * written from known values and raw events made of known pulses.
 * Header-only (static inline): a test program is one .c file. */
#ifndef SYNTH_H
#define SYNTH_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hcal/mh_hcal.h"
#include "io/mh_rawevent.h"

/* Known conditions: pedestal 17 + (ch % 7) * 0.1 fC, width 1.5 fC, gain
 * 6.25e-4 * (1 + (ch % 5) * 0.01) GeV/fC, 40 fC/pe. Written to a temporary
 * file whose name is put in path (caller unlinks). Returns the conditions
 * read back from that file (caller frees) or NULL. */
static inline mh_hcal_conditions *synth_conditions(char *path, size_t pathlen)
{
    char err[256];
    mh_hcal_conditions *c = mh_hcal_conditions_create("MH_TEST_v1");
    if (c == NULL)
        return NULL;
    for (uint32_t ch = 0; ch < c->n; ch++) {
        c->pedestal[ch] = 17.0f + (float)(ch % 7) * 0.1f;
        c->ped_width[ch] = 1.5f;
        c->gain[ch] = 6.25e-4f * (1.0f + (float)(ch % 5) * 0.01f);
        c->fc_per_pe[ch] = 40.0f;
    }
    snprintf(path, pathlen, "/tmp/mh_test_cond_%ld.txt", (long)getpid());
    if (mh_hcal_conditions_write(c, path, err, sizeof err) != MH_OK) {
        fprintf(stderr, "synth_conditions: %s\n", err);
        mh_hcal_conditions_free(c);
        return NULL;
    }
    mh_hcal_conditions_free(c);
    /* What the plugin will see: the values as printed in the file. */
    c = NULL;
    if (mh_hcal_conditions_load(path, &c, err, sizeof err) != MH_OK)
        fprintf(stderr, "synth_conditions: %s\n", err);
    return c;
}

/* Adds to ev a digi of channel ch whose samples are the pedestal plus the
 * pulses amp_fc[bx + 3] (BX -3..+4, total charge in fC) arriving at t_ns
 * (the in-time one delayed by the time slew of its SOI charge, as the
 * generator does), quantised by QIE11; capids rotate from capid0. Also
 * sets the truth: true_e_intime = amp_fc[3] * gain. */
static inline void synth_digi(mh_rawevent *ev, const mh_hcal_conditions *c, uint32_t ch,
                              const double *amp_fc, float t_ns, uint8_t capid0)
{
    uint32_t i = ev->ndigis++;
    mh_rawevent_reserve(ev, ev->ndigis, ev->ngenjets);
    double q[MH_NSAMPLES];
    for (int k = 0; k < MH_NSAMPLES; k++)
        q[k] = c->pedestal[ch];
    double oot_e = 0;
    for (int bx = -3; bx <= 4; bx++) {
        double a = amp_fc[bx + 3];
        if (a <= 0)
            continue;
        float frac[MH_NSAMPLES];
        float t = t_ns + 25.0f * (float)bx;
        if (bx == 0)
            t += mh_hcal_time_slew((float)(a * 0.7));
        else
            oot_e += a * c->gain[ch];
        mh_hcal_pulse_fractions(t, frac);
        for (int k = 0; k < MH_NSAMPLES; k++)
            q[k] += a * frac[k];
    }
    ev->channel[i] = ch;
    for (int k = 0; k < MH_NSAMPLES; k++) {
        ev->adc[i * MH_NSAMPLES + k] = mh_qie11_adc((float)q[k]);
        ev->capid[i * MH_NSAMPLES + k] = mh_qie11_capid(capid0, k);
        ev->soi[i * MH_NSAMPLES + k] = k == MH_SOI;
    }
    ev->true_e_hard[i] = (float)(amp_fc[3] * c->gain[ch]);
    ev->true_e_intime[i] = (float)(amp_fc[3] * c->gain[ch]);
    ev->true_e_oot[i] = (float)oot_e;
}

#endif
