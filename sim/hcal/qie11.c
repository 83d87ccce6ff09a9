/* qie11.c - QIE11 ADC code <-> charge (fC).
 *
 * The 257 bin edges are computed once (in nominal units, exactly
 * representable) and every conversion reads them: the code -> charge
 * direction is a lookup, charge -> code an analytic guess corrected against the edges, so
 * the two directions can never disagree.
 */
#include <pthread.h>

#include "hcal/mh_hcal.h"

static pthread_once_t mh__qie_once = PTHREAD_ONCE_INIT;
/* mh__edge[c] = lower edge of code c in fC; mh__edge[256] = full scale. */
static float mh__edge[MH_QIE11_NCODES + 1];

static void mh__qie_build(void)
{
    /* Mantissa bin widths inside one range: 16 x 1, 20 x 2, 21 x 4, 7 x 8
     * nominal units (196 units in all). */
    static const int seg_codes[4] = {16, 20, 21, 7};
    static const int seg_width[4] = {1, 2, 4, 8};
    double units = 0.0;
    int c = 0;
    for (int range = 0; range < 4; range++) {
        double scale = (double)(1 << (3 * range)); /* 8^range */
        for (int s = 0; s < 4; s++)
            for (int k = 0; k < seg_codes[s]; k++) {
                mh__edge[c++] = (float)(units * MH_QIE11_UNIT_FC);
                units += seg_width[s] * scale;
            }
    }
    mh__edge[MH_QIE11_NCODES] = (float)(units * MH_QIE11_UNIT_FC);
}

static const float *mh__qie(void)
{
    pthread_once(&mh__qie_once, mh__qie_build);
    return mh__edge;
}

float mh_qie11_low_edge(uint8_t adc)
{
    return mh__qie()[adc];
}

float mh_qie11_bin_width(uint8_t adc)
{
    const float *e = mh__qie();
    return e[adc + 1] - e[adc];
}

float mh_qie11_fc(uint8_t adc)
{
    const float *e = mh__qie();
    return 0.5f * (e[adc] + e[adc + 1]);
}

const float *mh_qie11_edges(void)
{
    return mh__qie();
}

uint8_t mh_qie11_adc(float q_fc)
{
    return mh_qie11_adc_edges(mh__qie(), q_fc);
}
