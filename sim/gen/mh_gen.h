/* mh_gen.h - the CMS-like HBHE event generator and the reproducible
 * conditions generator.
 *
 * Everything is a pure function of its inputs and a seed: no global state,
 * any thread may call it. See sim/gen/README.md for the physics model and
 * the figures it gives.
 */
#ifndef MH_GEN_H
#define MH_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"
#include "hcal/mh_hcal.h"
#include "io/mh_evfile.h"
#include "io/mh_rawevent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- conditions --------------------------------------------------------
 * The committed data/conditions/MH_HBHE_Run3_v1.txt is exactly
 * mh_gen_conditions(MH_GEN_CONDITIONS_SEED, MH_GEN_CONDITIONS_TAG)
 * formatted by mh_hcal_conditions_format (`minihlt gen --conditions-out`). */

#define MH_GEN_CONDITIONS_TAG "MH_HBHE_Run3_v1"
#define MH_GEN_CONDITIONS_SEED 20180101ull

/* Nominal values and relative (pedestal: absolute) per-channel spreads. */
#define MH_GEN_PEDESTAL_FC 17.3
#define MH_GEN_PEDESTAL_SPREAD_FC 0.6
#define MH_GEN_PED_WIDTH_FC 1.5
#define MH_GEN_PED_WIDTH_SPREAD_FC 0.1
#define MH_GEN_GAIN_GEV_PER_FC 6.25e-4
#define MH_GEN_GAIN_SPREAD 0.05
#define MH_GEN_FC_PER_PE 40.0
#define MH_GEN_FC_PER_PE_SPREAD 0.03

/* Generates conditions for every channel from seed (each channel from its
 * own random stream, Gaussian spreads truncated at 3 sigma), then rounds
 * them through the text format so that the values in memory are exactly
 * those a reload of the written file gives. *out is owned by the caller. */
mh_status mh_gen_conditions(uint64_t seed, const char *tag, mh_hcal_conditions **out, char *err,
                            size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
