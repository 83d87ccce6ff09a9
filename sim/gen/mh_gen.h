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


/* ---- event generation --------------------------------------------------- */

typedef enum mh_gen_process {
    MH_GEN_MINBIAS = 0,  /* the hard scatter is one more minimum-bias interaction */
    MH_GEN_QCD,          /* dijets (+ a third jet), power-law pT spectrum */
    MH_GEN_TTBAR,        /* top pairs: b jets, W -> qq / l nu, MET from neutrinos */
    MH_GEN_SINGLEPION    /* one charged pion, flat in energy and eta, no pileup by default */
} mh_gen_process;

#define MH_GEN_BX_FIRST (-4) /* earliest crossing simulated (its tail reaches TS0) */
#define MH_GEN_BX_LAST 4     /* latest crossing simulated (arrives in TS7) */
#define MH_GEN_NBX (MH_GEN_BX_LAST - MH_GEN_BX_FIRST + 1)

typedef struct mh_gen_config {
    mh_gen_process process;
    double pileup;          /* Poisson mean of interactions per crossing (each of -4..+4) */
    uint64_t seed;
    uint32_t run;           /* run number written into events */
    float zs_threshold_fc;  /* keep a channel if two consecutive samples, pedestal
                               subtracted, sum above this (fC); 0 keeps every channel */
    float genjet_ptmin;     /* GeV, anti-kt R = 0.4 generator jets */
    float qcd_ptmin;        /* GeV, leading-jet pT threshold of qcd */
    float qcd_index;        /* dN/dpT ~ pT^-index (> 1) */
    float pion_emin, pion_emax; /* GeV, singlepion energy range */
} mh_gen_config;

/* Defaults: minbias, pileup 0, seed 1, run 1, ZS 100 fC (see README), genjets
 * above 10 GeV, qcd pT > 30 GeV with index 4.5, pions 1-100 GeV. */
void mh_gen_config_default(mh_gen_config *cfg);

/* "minbias", "qcd", "ttbar", "singlepion" <-> enum. parse returns
 * MH_INVALID (listing the names) for anything else. */
mh_status mh_gen_process_parse(const char *name, mh_gen_process *out, char *err, size_t errlen);
const char *mh_gen_process_name(mh_gen_process p);

/* Per-event facts the generator knows (truth, before zero suppression),
 * for the realism figures. */
typedef struct mh_gen_evstats {
    uint32_t ndigis;            /* channels kept by zero suppression */
    uint32_t ndigis_hb;         /* of which in HB */
    uint32_t nsignal;           /* channels with any true energy in the window */
    uint32_t ninteractions;     /* pileup interactions in all crossings */
    double e_hard;              /* GeV deposited in HBHE by the hard scatter */
    double e_intime;            /* GeV deposited in-time (hard scatter + in-time pileup) */
    double e_oot;               /* GeV of other crossings inside the 10 samples */
    double soi_intime_fc;       /* SOI-sample signal charge from crossing 0 (fC) */
    double soi_oot_fc;          /* SOI-sample signal charge from other crossings (fC) */
} mh_gen_evstats;

typedef struct mh_gen mh_gen;

/* Prepares a generator: checks cfg (MH_INVALID naming the setting) and
 * builds its tables. cond is borrowed and must outlive the generator.
 * *out is immutable once made: any number of threads may share it. */
mh_status mh_gen_create(const mh_gen_config *cfg, const mh_hcal_conditions *cond, mh_gen **out,
                        char *err, size_t errlen);
void mh_gen_free(mh_gen *g);
const mh_gen_config *mh_gen_get_config(const mh_gen *g);
/* Tag of the conditions the generator uses (owned by the conditions). */
const char *mh_gen_conditions_tag(const mh_gen *g);

/* Per-thread scratch (about 1 MB). NULL on allocation failure. */
typedef struct mh_gen_work mh_gen_work;
mh_gen_work *mh_gen_work_create(void);
void mh_gen_work_free(mh_gen_work *w);

/* Generates event number index (0-based) into ev (overwritten). The event
 * is a pure function of (config, conditions, index): its random stream is
 * seeded from (seed, index), whatever thread or work area makes it. stats
 * may be NULL. */
mh_status mh_gen_event(const mh_gen *g, mh_gen_work *w, uint64_t index, mh_rawevent *ev,
                       mh_gen_evstats *stats, char *err, size_t errlen);

/* Sums over a generated file. */
typedef struct mh_gen_summary {
    uint64_t events;
    double seconds;             /* wall time of mh_gen_write_file */
    uint64_t digis, digis_min, digis_max;
    uint64_t intime_pileup;     /* sum of pileup_intime */
    mh_gen_evstats sum;         /* per-event stats summed (ndigis etc. saturate at 2^32) */
    uint64_t file_bytes;
} mh_gen_summary;

/* Largest events_per_cluster of mh_gen_write_file: every worker holds one
 * cluster of decoded events (about 0.3 MB per ttbar event at pileup 60). */
#define MH_GEN_MAX_EVENTS_PER_CLUSTER 1024u

/* Writes nevents events to path (.mhe, clusters of events_per_cluster
 * events, 0 = 64, at most MH_GEN_MAX_EVENTS_PER_CLUSTER): threads workers
 * (>= 1) generate and compress whole clusters in parallel, the calling
 * thread writes them in order, so the file's events do not depend on
 * threads nor on the cluster size. meta (may be NULL) is added to the generator's own keys
 * (generator, process, pileup, seed, conditions_tag, zs_threshold_fc).
 * summary may be NULL. On failure no file is left behind. */
mh_status mh_gen_write_file(const mh_gen *g, uint64_t nevents, unsigned threads,
                            uint32_t events_per_cluster, const char *path, const mh_evmeta *meta,
                            mh_gen_summary *summary, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
