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

/* ---- towers ------------------------------------------------------------ */

/* Tower grid of HBHE: ieta -29..29 (no 0), iphi 1..72. */
#define MH_CALO_IETA_MAX 29
#define MH_CALO_IPHI_MAX 72
#define MH_CALO_NTOWER_SLOTS ((2 * MH_CALO_IETA_MAX + 1) * MH_CALO_IPHI_MAX)

/* Gives the eta/phi centre of tower (ieta, iphi); the caller's geometry. */
typedef void (*mh_calo_centre_fn)(void *ctx, int ieta, int iphi, float *eta, float *phi);

/* Sums n hits (ieta[i], iphi[i], e[i] GeV; any depth) into towers. Hits with
 * e[i] < hit_emin are left out (noise suppression, as CMS's per-depth
 * thresholds). The towers, in increasing (ieta, iphi) order, are written into
 * out_ieta/out_iphi/out_eta/out_phi/out_e/out_et (each of capacity cap; cap >=
 * min(n, MH_CALO_NTOWER_SLOTS) always suffices) and their number into
 * *ntowers; et = e / cosh(eta). Towers whose summed energy is <= 0 are
 * dropped. work: caller scratch of MH_CALO_NTOWER_SLOTS floats (zeroed on
 * return). Returns MH_INVALID naming the first hit outside the grid. */
mh_status mh_calo_sum_towers(const int32_t *ieta, const int32_t *iphi, const float *e, size_t n,
                             float hit_emin, mh_calo_centre_fn centre, void *ctx, float *work,
                             size_t cap, int32_t *out_ieta, int32_t *out_iphi, float *out_eta,
                             float *out_phi, float *out_e, float *out_et, size_t *ntowers,
                             char *err, size_t errlen);

/* ---- matching ---------------------------------------------------------- */

/* Matches each of ngen generator jets (eta/phi) to the closest reconstructed
 * jet within delta R < drmax, each reconstructed jet used at most once, gen
 * jets taken in the given order (pass them sorted by decreasing pt).
 * Strides are in bytes, so that eta/phi can point into arrays of structs
 * (e.g. &genjets[0].eta, sizeof(mh_genjet)). match[g] = index into reco, or
 * -1. Only the first 512 reconstructed jets are considered. */
void mh_calo_match(const float *gen_eta, const float *gen_phi, size_t gen_stride, size_t ngen,
                   const float *reco_eta, const float *reco_phi, size_t reco_stride,
                   size_t nreco, double drmax, long *match);

/* Azimuthal distance wrapped into [0, pi]. */
double mh_delta_phi(double a, double b);

#ifdef __cplusplus
}
#endif
#endif
