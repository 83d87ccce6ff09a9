/* met.c - missing transverse momentum and HT. */
#include "calo/mh_calo.h"

#include <math.h>

void mh_met(const float *et, const float *phi, size_t n, float *met, float *met_phi)
{
    double sx = 0, sy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(et[i] > 0))
            continue;
        sx -= et[i] * cos(phi[i]);
        sy -= et[i] * sin(phi[i]);
    }
    *met = (float)hypot(sx, sy);
    *met_phi = (float)((sx == 0 && sy == 0) ? 0.0 : atan2(sy, sx));
}

float mh_ht(const mh_jet *jets, size_t njets, float ptmin, float etamax)
{
    double ht = 0;
    for (size_t i = 0; i < njets; i++)
        if (jets[i].pt >= ptmin && fabsf(jets[i].eta) <= etamax)
            ht += jets[i].pt;
    return (float)ht;
}
