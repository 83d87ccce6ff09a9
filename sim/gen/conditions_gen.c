/* conditions_gen.c - reproducible per-channel HBHE conditions. */
#include <stdlib.h>

#include "gen/gen_internal.h"
#include "gen/mh_gen.h"

/* Gaussian truncated at 3 sigma (redrawn), so that no channel gets an
 * absurd value from a rare tail. */
static double mh__gauss3(mh__rng *r)
{
    for (;;) {
        double g = mh__rng_gauss(r);
        if (g > -3.0 && g < 3.0)
            return g;
    }
}

mh_status mh_gen_conditions(uint64_t seed, const char *tag, mh_hcal_conditions **out, char *err,
                            size_t errlen)
{
    *out = NULL;
    mh_hcal_conditions *c = mh_hcal_conditions_create(tag);
    if (!c)
        return mh_fail(err, errlen, MH_INVALID,
                       "conditions tag '%s': 1-%d printable characters without spaces (or out "
                       "of memory)",
                       tag ? tag : "(null)", MH_HCAL_COND_TAG_MAX - 1);
    for (uint32_t ch = 0; ch < c->n; ch++) {
        mh__rng r;
        mh__rng_seed(&r, seed, ch);
        c->pedestal[ch] = (float)(MH_GEN_PEDESTAL_FC + MH_GEN_PEDESTAL_SPREAD_FC * mh__gauss3(&r));
        c->ped_width[ch] =
            (float)(MH_GEN_PED_WIDTH_FC + MH_GEN_PED_WIDTH_SPREAD_FC * mh__gauss3(&r));
        c->gain[ch] = (float)(MH_GEN_GAIN_GEV_PER_FC * (1.0 + MH_GEN_GAIN_SPREAD * mh__gauss3(&r)));
        c->fc_per_pe[ch] =
            (float)(MH_GEN_FC_PER_PE * (1.0 + MH_GEN_FC_PER_PE_SPREAD * mh__gauss3(&r)));
    }
    /* Round through the text form: memory == what the file reloads to. */
    char *text = NULL;
    size_t len = 0;
    mh_status st = mh_hcal_conditions_format(c, &text, &len, err, errlen);
    mh_hcal_conditions_free(c);
    if (st != MH_OK)
        return st;
    st = mh_hcal_conditions_parse(text, len, tag, out, err, errlen);
    free(text);
    return st;
}
