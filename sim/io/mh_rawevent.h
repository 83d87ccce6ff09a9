/* mh_rawevent.h - one CMS-like event as stored in a .mhe file.
 *
 * The raw event is what the detector read out (HBHE digis) plus the
 * simulated truth, kept in separate arrays so that reconstruction modules
 * never need to look at it (only validation reads truth).
 *
 * Per-channel data are structure-of-arrays, digi i is (channel[i],
 * adc[i*MH_NSAMPLES + k], capid[...], soi[...]) for time sample k.
 * The truth arrays true_e_* are aligned with the digis (one value per digi).
 */
#ifndef MH_RAWEVENT_H
#define MH_RAWEVENT_H

#include <stdint.h>
#include <stddef.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Time samples (bunch crossings of 25 ns) read out per channel. */
#define MH_NSAMPLES 10
/* Index of the sample of interest (the triggered bunch crossing). */
#define MH_SOI 3

typedef struct mh_genjet {
    float pt;   /* GeV */
    float eta;
    float phi;  /* radians, (-pi, pi] */
    float e;    /* GeV */
} mh_genjet;

typedef struct mh_rawevent {
    /* Event identity. */
    uint32_t run;
    uint32_t lumi;
    uint64_t event;
    uint16_t bx;              /* bunch crossing number, 1..3564 */
    float pileup_true;        /* Poisson mean mu of pileup interactions */
    uint16_t pileup_intime;   /* actual number of in-time pileup interactions */

    /* HBHE digis after zero suppression. */
    uint32_t ndigis;
    uint32_t *channel;        /* dense channel index (sim/hcal geometry) */
    uint8_t *adc;             /* ndigis * MH_NSAMPLES QIE11 ADC codes */
    uint8_t *capid;           /* ndigis * MH_NSAMPLES capacitor ids (0..3) */
    uint8_t *soi;             /* ndigis * MH_NSAMPLES flags, 1 on the SOI */

    /* Truth, aligned with digis. Reconstruction must not read these. */
    float *true_e_hard;       /* GeV deposited in-time by the hard scatter */
    float *true_e_intime;     /* GeV deposited in-time by all interactions */
    float *true_e_oot;        /* GeV in the readout window from other crossings */

    /* Generator-level objects. */
    uint32_t ngenjets;
    mh_genjet *genjets;
    float gen_met;            /* GeV, from the hard scatter's invisible/neutral sum */
    float gen_met_phi;

    /* Capacities of the arrays above (owned by the event). */
    uint32_t digi_cap;
    uint32_t genjet_cap;
} mh_rawevent;

/* Allocates an empty event. Returns NULL on allocation failure. The caller
 * owns it and frees it with mh_rawevent_free(). */
mh_rawevent *mh_rawevent_create(void);

/* Frees an event and all its arrays. Accepts NULL. */
void mh_rawevent_free(mh_rawevent *ev);

/* Makes room for at least ndigis digis and ngenjets generator jets,
 * keeping current contents. Returns MH_OK or MH_NOMEM. */
mh_status mh_rawevent_reserve(mh_rawevent *ev, uint32_t ndigis, uint32_t ngenjets);

/* Resets counts and identity to zero, keeping the allocated capacity. */
void mh_rawevent_clear(mh_rawevent *ev);

/* Deep copy of src into dst (dst keeps/grows its own buffers). */
mh_status mh_rawevent_copy(mh_rawevent *dst, const mh_rawevent *src);

/* Returns 1 if the two events hold identical content (floats compared bit
 * for bit, so NaN equals the same NaN), 0 otherwise. */
int mh_rawevent_equal(const mh_rawevent *a, const mh_rawevent *b);

#ifdef __cplusplus
}
#endif
#endif
