/* valid.c - binned distributions with robust summaries (validation). */
#include "calo/mh_calo_valid.h"

#include <math.h>
#include <string.h>

mh_status mh_binned_init(mh_binned *b, const double *edges, size_t nbins, double ymin,
                         double ymax, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (nbins < 1 || nbins > MH_BINNED_MAXBINS)
        return mh_fail(err, errlen, MH_INVALID, "%zu bins: need 1..%d", nbins, MH_BINNED_MAXBINS);
    for (size_t i = 0; i <= nbins; i++) {
        if (!isfinite(edges[i]) || (i > 0 && !(edges[i] > edges[i - 1])))
            return mh_fail(err, errlen, MH_INVALID, "bin edge %zu (%g) not increasing", i,
                           edges[i]);
        b->edges[i] = edges[i];
    }
    if (!(ymax > ymin) || !isfinite(ymin) || !isfinite(ymax))
        return mh_fail(err, errlen, MH_INVALID, "histogram range [%g, %g) is empty", ymin, ymax);
    b->nbins = nbins;
    b->ymin = ymin;
    b->ymax = ymax;
    return MH_OK;
}

void mh_binned_fill(mh_binned *b, double x, double y)
{
    if (!isfinite(x) || !isfinite(y) || x < b->edges[0] || x >= b->edges[b->nbins])
        return;
    size_t i = 0;
    while (x >= b->edges[i + 1])
        i++;
    b->n[i]++;
    b->sum[i] += y;
    b->sum2[i] += y * y;
    b->sumx[i] += x;
    if (y < b->ymin) {
        b->under[i]++;
    } else if (y >= b->ymax) {
        b->over[i]++;
    } else {
        size_t k = (size_t)((y - b->ymin) / (b->ymax - b->ymin) * MH_BINNED_NH);
        if (k >= MH_BINNED_NH)
            k = MH_BINNED_NH - 1;
        b->h[i][k]++;
    }
}

mh_status mh_binned_merge(mh_binned *dst, const mh_binned *src, char *err, size_t errlen)
{
    if (dst->nbins != src->nbins || dst->ymin != src->ymin || dst->ymax != src->ymax ||
        memcmp(dst->edges, src->edges, sizeof dst->edges) != 0)
        return mh_fail(err, errlen, MH_INVALID, "merging differently binned distributions");
    for (size_t i = 0; i < dst->nbins; i++) {
        dst->n[i] += src->n[i];
        dst->sum[i] += src->sum[i];
        dst->sum2[i] += src->sum2[i];
        dst->sumx[i] += src->sumx[i];
        dst->under[i] += src->under[i];
        dst->over[i] += src->over[i];
        for (size_t k = 0; k < MH_BINNED_NH; k++)
            dst->h[i][k] += src->h[i][k];
    }
    return MH_OK;
}

/* The q-quantile of a histogram with under/overflow counts, linear inside
 * the bin where the cumulative count crosses q * total. */
static double quantile(const uint32_t *h, uint64_t under, uint64_t over, double ymin,
                       double ymax, double q)
{
    uint64_t tot = under + over;
    for (size_t k = 0; k < MH_BINNED_NH; k++)
        tot += h[k];
    if (tot == 0)
        return NAN;
    double target = q * (double)tot;
    double cum = (double)under;
    if (target <= cum)
        return ymin;
    double w = (ymax - ymin) / MH_BINNED_NH;
    for (size_t k = 0; k < MH_BINNED_NH; k++) {
        if (h[k] > 0 && cum + h[k] >= target)
            return ymin + w * ((double)k + (target - cum) / h[k]);
        cum += h[k];
    }
    return ymax;
}

static void fill_stat(const uint32_t *h, uint64_t under, uint64_t over, uint64_t n, double sum,
                      double sum2, double sumx, double ymin, double ymax, mh_binned_stat *st)
{
    st->n = n;
    st->xmean = n ? sumx / (double)n : NAN;
    st->mean = n ? sum / (double)n : NAN;
    double var = n ? sum2 / (double)n - st->mean * st->mean : NAN;
    st->rms = n ? sqrt(var > 0 ? var : 0) : NAN;
    st->median = quantile(h, under, over, ymin, ymax, 0.5);
    st->q16 = quantile(h, under, over, ymin, ymax, 0.15865);
    st->q84 = quantile(h, under, over, ymin, ymax, 0.84135);
    st->sigma_eff = 0.5 * (st->q84 - st->q16);
}

void mh_binned_stat_of(const mh_binned *b, size_t i, mh_binned_stat *st)
{
    fill_stat(b->h[i], b->under[i], b->over[i], b->n[i], b->sum[i], b->sum2[i], b->sumx[i],
              b->ymin, b->ymax, st);
    st->xlo = b->edges[i];
    st->xhi = b->edges[i + 1];
}

void mh_binned_stat_all(const mh_binned *b, mh_binned_stat *st)
{
    uint32_t h[MH_BINNED_NH] = {0};
    uint64_t under = 0, over = 0, n = 0;
    double sum = 0, sum2 = 0, sumx = 0;
    for (size_t i = 0; i < b->nbins; i++) {
        for (size_t k = 0; k < MH_BINNED_NH; k++)
            h[k] += b->h[i][k];
        under += b->under[i];
        over += b->over[i];
        n += b->n[i];
        sum += b->sum[i];
        sum2 += b->sum2[i];
        sumx += b->sumx[i];
    }
    fill_stat(h, under, over, n, sum, sum2, sumx, b->ymin, b->ymax, st);
    st->xlo = b->edges[0];
    st->xhi = b->edges[b->nbins];
}
