/* mh_hcal_products.h - the event products of the HCAL and calorimeter chain.
 *
 * Modules exchange these through the framework's product store (host->put /
 * host->get, sim/core/mh_module.h), keyed by producing module label, instance
 * name and the type-name string constant defined next to each struct (the
 * framework checks the type string at start-up, so a consumer of
 * MH_HCAL_RECHITS_TYPE can be fed by any producer of it: hcal_mahi,
 * hcal_facile, hcal_opencl, hcal_remote).
 *
 * Every product is one heap block: the struct followed by its arrays, made
 * by the *_create() function below and freed by mh_hcal_product_free(),
 * which is the free_fn to give to host->put(). After put() a product is
 * immutable and shared by all consumers of the event.
 *
 * Per-channel data are structure-of-arrays. Row i of the digi product is
 * digi i of the raw event (the unpacker neither drops nor reorders digis; a
 * bad digi fails the event), and row i of a rechit product is row i of the
 * digi product it was reconstructed from. Consumers that need a specific
 * channel match by `channel` (the dense index of sim/hcal geometry).
 */
#ifndef MH_HCAL_PRODUCTS_H
#define MH_HCAL_PRODUCTS_H

#include <stddef.h>
#include <stdint.h>

#include "calo/mh_calo.h"
#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Samples per digi in the products (the raw event's MH_NSAMPLES). */
#define MH_HCAL_PROD_NTS 10
/* Out-of-time amplitudes per rechit: BX -3,-2,-1,+1,+2,+3,+4 (the order
 * of mh_mahi_oot_index()). */
#define MH_HCAL_PROD_NOOT 7

/* ---- digis: hcal_unpack's output ---------------------------------------- */

#define MH_HCAL_DIGIS_TYPE "mh_hcal_digis"

/* Unpacked HBHE digis with the conditions each reconstruction needs, so
 * that no reconstruction module reads the conditions file itself. */
typedef struct mh_hcal_digis {
    uint32_t n;          /* channels (rows) */
    uint32_t nsamples;   /* MH_HCAL_PROD_NTS */
    uint32_t soi;        /* sample of interest (same for every row; checked) */
    uint32_t *channel;   /* [n] dense channel id */
    int32_t *ieta;       /* [n] signed, |ieta| 1..29 */
    int32_t *iphi;       /* [n] 1..72 */
    int32_t *depth;      /* [n] 1..7 */
    float *charge_fc;    /* [n*nsamples] ADC->fC (bin centre) minus the pedestal */
    float *adc_bin_width;/* [n*nsamples] fC width of the ADC bin (QIE11 is non-linear) */
    uint8_t *capid;      /* [n*nsamples] capacitor id 0..3 */
    float *gain;         /* [n] GeV per fC */
    float *ped_width;    /* [n] pedestal width, fC */
    float *fc_per_pe;    /* [n] fC per photo-electron */
} mh_hcal_digis;

/* Allocates a digi product with room for n rows (arrays uninitialised,
 * n and nsamples set). Returns NULL on allocation failure. Free with
 * mh_hcal_product_free(). */
mh_hcal_digis *mh_hcal_digis_create(uint32_t n);

/* ---- rechits: one reconstructed energy per channel ----------------------- */

#define MH_HCAL_RECHITS_TYPE "mh_hcal_rechits"

/* What the reconstruction flags mean (bit set). */
#define MH_HCAL_RH_FITTED 0x1    /* MAHI: the fit ran; NN: always set */
#define MH_HCAL_RH_CONVERGED 0x2 /* MAHI: |delta chi2| reached deltaChiSqThresh */
#define MH_HCAL_RH_BADCOV 0x4    /* MAHI: covariance not positive definite */

/* Reconstructed HBHE hits, aligned row by row with the digi product.
 * Every HCAL reconstruction (CPU fit, CPU network, OpenCL, remote) puts
 * this same type, so the downstream chain and the validation do not care
 * which one ran. Fields an algorithm does not estimate are zero and the
 * `has_*` flags say so. */
typedef struct mh_hcal_rechits {
    uint32_t n;          /* rows */
    char algo[24];       /* which algorithm made it: "mahi", "facile", ... (NUL-terminated) */
    uint8_t has_chi2;    /* 1: chi2 is the fit's chi2 */
    uint8_t has_oot;     /* 1: oot holds out-of-time amplitudes */
    uint8_t has_time;    /* 1: time is an estimate */
    uint32_t *channel;   /* [n] dense channel id */
    float *energy;       /* [n] in-time energy, GeV */
    float *chi2;         /* [n] fit chi2 (0 if !has_chi2) */
    float *time;         /* [n] ns after the start of the SOI (0 if !has_time) */
    float *oot;          /* [n*MH_HCAL_PROD_NOOT] GeV per out-of-time BX (0 if !has_oot) */
    uint8_t *flags;      /* [n] MH_HCAL_RH_* */
} mh_hcal_rechits;

/* Allocates a rechit product of n rows, every array zeroed and algo set
 * (truncated to fit). Returns NULL on allocation failure. */
mh_hcal_rechits *mh_hcal_rechits_create(uint32_t n, const char *algo);

/* ---- towers: sum over depths at each (ieta, iphi) ------------------------ */

#define MH_CALO_TOWERS_TYPE "mh_calo_towers"

typedef struct mh_calo_towers {
    uint32_t n;          /* towers with at least one hit */
    int32_t *ieta;       /* [n] */
    int32_t *iphi;       /* [n] */
    float *eta;          /* [n] centre of the tower */
    float *phi;          /* [n] centre, (-pi, pi] */
    float *e;            /* [n] energy, GeV (sum over depths) */
    float *et;           /* [n] transverse energy, GeV (e / cosh(eta)) */
} mh_calo_towers;

/* Allocates a tower product of capacity n (n set; arrays uninitialised). */
mh_calo_towers *mh_calo_towers_create(uint32_t n);

/* ---- jets ----------------------------------------------------------------- */

#define MH_CALO_JETS_TYPE "mh_calo_jets"

typedef struct mh_calo_jets {
    uint32_t n;          /* jets stored, sorted by decreasing pt */
    float R;             /* the clustering radius */
    mh_jet *jets;        /* [n] */
} mh_calo_jets;

mh_calo_jets *mh_calo_jets_create(uint32_t n);

/* ---- event sums ----------------------------------------------------------- */

#define MH_CALO_MET_TYPE "mh_calo_met"

/* Missing transverse momentum from towers. */
typedef struct mh_calo_met {
    float met;           /* GeV */
    float phi;
    float sumet;         /* scalar sum of tower Et, GeV */
} mh_calo_met;

#define MH_CALO_HT_TYPE "mh_calo_ht"

/* HT and MHT from jets above a threshold. */
typedef struct mh_calo_ht {
    float ht;            /* scalar sum of jet pt, GeV */
    float mht;           /* magnitude of minus the vector sum of those jets, GeV */
    float mht_phi;
    uint32_t njets;      /* jets counted */
} mh_calo_ht;

/* Frees any product made by the functions above (they are single blocks;
 * mh_calo_met and mh_calo_ht are plain malloc'd structs). Accepts NULL.
 * This is the free_fn to pass to host->put(). */
void mh_hcal_product_free(void *product);

#ifdef __cplusplus
}
#endif
#endif
