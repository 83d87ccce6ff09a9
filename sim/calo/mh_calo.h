/* mh_calo.h - calorimeter objects built from reconstructed HCAL energies:
 * jets (anti-kt), missing transverse momentum and HT.
 *
 * Inputs are massless "towers" given as transverse energy, pseudorapidity and
 * azimuth arrays (structure of arrays). These functions are pure: no global
 * state, safe to call from any thread.
 */
#ifndef MH_CALO_H
#define MH_CALO_H

#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mh_jet {
    float pt;        /* GeV */
    float eta;       /* pseudorapidity of the jet axis */
    float phi;       /* (-pi, pi] */
    float e;         /* GeV */
    float mass;      /* GeV, >= 0 */
    uint32_t nconst; /* number of input towers clustered into the jet */
} mh_jet;

/* Clusters n massless inputs with the anti-kt algorithm (E-scheme
 * recombination, distance in rapidity-azimuth, radius R), keeping jets with
 * pt >= ptmin, sorted by decreasing pt. Inputs with et <= 0 are ignored.
 * The nearest-neighbour bookkeeping makes it O(n^2) in time, O(n) in memory.
 * Writes at most cap jets into jets and the number found (>= the number
 * written) into *njets. Returns MH_OK, MH_INVALID (R <= 0, NULL arrays with
 * n > 0) or MH_NOMEM. */
mh_status mh_antikt(const float *et, const float *eta, const float *phi, size_t n,
                    double R, double ptmin, mh_jet *jets, size_t cap, size_t *njets);

/* Missing transverse momentum: the magnitude and azimuth of minus the vector
 * sum of the inputs' transverse energies (inputs with et <= 0 ignored). */
void mh_met(const float *et, const float *phi, size_t n, float *met, float *met_phi);

/* HT: the scalar sum of the pt of jets with pt >= ptmin and |eta| <= etamax. */
float mh_ht(const mh_jet *jets, size_t njets, float ptmin, float etamax);

/* Azimuthal distance wrapped into [0, pi]. */
double mh_delta_phi(double a, double b);

#ifdef __cplusplus
}
#endif
#endif
