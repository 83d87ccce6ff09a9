/* mh_calo_valid.h - binned distributions for the physics validation.
 *
 * A mh_binned holds, for each bin of a quantity x (e.g. the true channel
 * energy, the generator jet pt), the distribution of a quantity y (e.g. the
 * response reco/true) as a fine histogram plus moments, so that the
 * summary can give robust numbers: the median and the effective width
 * (half the 16%-84% quantile range, the "sigma" of a Gaussian core that
 * ignores tails), next to the mean and the RMS.
 *
 * Not thread-safe: keep one per stream and mh_binned_merge() them at the
 * end (the validation plugin does this).
 */
#ifndef MH_CALO_VALID_H
#define MH_CALO_VALID_H

#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MH_BINNED_MAXBINS 16
#define MH_BINNED_NH 240   /* histogram bins of y per x bin */

typedef struct mh_binned {
    size_t nbins;
    double edges[MH_BINNED_MAXBINS + 1]; /* x bin i is [edges[i], edges[i+1]) */
    double ymin, ymax;                   /* histogram range of y */
    uint64_t n[MH_BINNED_MAXBINS];
    double sum[MH_BINNED_MAXBINS], sum2[MH_BINNED_MAXBINS], sumx[MH_BINNED_MAXBINS];
    uint32_t under[MH_BINNED_MAXBINS], over[MH_BINNED_MAXBINS];
    uint32_t h[MH_BINNED_MAXBINS][MH_BINNED_NH];
} mh_binned;

/* Per-bin summary. Quantiles are interpolated within histogram bins;
 * entries under/over the histogram range count at its ends. */
typedef struct mh_binned_stat {
    double xlo, xhi;   /* the bin */
    double xmean;      /* mean x of the entries */
    uint64_t n;
    double mean, rms;  /* of y */
    double median, q16, q84;
    double sigma_eff;  /* (q84 - q16) / 2 */
} mh_binned_stat;

/* Sets up b with nbins (1..MH_BINNED_MAXBINS) increasing edges and the y
 * histogram range [ymin, ymax). Returns MH_INVALID for bad edges or range. */
mh_status mh_binned_init(mh_binned *b, const double *edges, size_t nbins, double ymin,
                         double ymax, char *err, size_t errlen);

/* Adds one entry (x outside all bins or non-finite values are ignored). */
void mh_binned_fill(mh_binned *b, double x, double y);

/* Adds src's entries to dst; both must have been set up identically
 * (returns MH_INVALID otherwise). */
mh_status mh_binned_merge(mh_binned *dst, const mh_binned *src, char *err, size_t errlen);

/* Summary of bin i (i < nbins). */
void mh_binned_stat_of(const mh_binned *b, size_t i, mh_binned_stat *st);

/* Summary of all bins together. */
void mh_binned_stat_all(const mh_binned *b, mh_binned_stat *st);

#ifdef __cplusplus
}
#endif
#endif
