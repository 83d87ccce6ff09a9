/* geometry.c - HBHE cells, dense channel and tower indices, tower centres.
 *
 * The tables are built once (pthread_once) from the depth segmentation
 * below; every lookup after that is a table read, safe from any thread.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "hcal/mh_hcal.h"

/* |eta| boundaries of the HCAL towers, rings 1..29 (CMS HcalDDDRecConstants
 * / CaloTowerConstituentsMap values): 0.087 per ring up to 1.740, then the
 * wider endcap rings. */
static const float mh__eta_edges[MH_HCAL_MAX_IETA + 1] = {
    0.000f, 0.087f, 0.174f, 0.261f, 0.348f, 0.435f, 0.522f, 0.609f, 0.696f, 0.783f,
    0.870f, 0.957f, 1.044f, 1.131f, 1.218f, 1.305f, 1.392f, 1.479f, 1.566f, 1.653f,
    1.740f, 1.830f, 1.930f, 2.043f, 2.172f, 2.322f, 2.500f, 2.650f, 2.868f, 3.000f};

/* Phase-1 depth ranges by |ieta| (index 0 unused); 0,0 = no cells. */
static const uint8_t mh__hb_depth[MH_HCAL_MAX_IETA + 1][2] = {
    {0, 0}, {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 4},
    {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 4}, {1, 3}};
static const uint8_t mh__he_depth[MH_HCAL_MAX_IETA + 1][2] = {
    [16] = {4, 4}, [17] = {2, 3}, [18] = {1, 5}, [19] = {1, 6}, [20] = {1, 6},
    [21] = {1, 6}, [22] = {1, 6}, [23] = {1, 6}, [24] = {1, 6}, [25] = {1, 6},
    [26] = {1, 7}, [27] = {1, 7}, [28] = {1, 7}, [29] = {1, 3}};

#define MH__NIETA (2 * MH_HCAL_MAX_IETA + 1) /* ieta -29..29, slot 29 = ieta 0 unused */

static pthread_once_t mh__geo_once = PTHREAD_ONCE_INIT;
static mh_hcal_cell mh__cells[MH_HCAL_NCHANNELS];
static mh_hcal_tower mh__towers[MH_HCAL_NTOWERS];
static int32_t mh__chan_lut[MH__NIETA][MH_HCAL_MAX_IPHI + 1][MH_HCAL_MAX_DEPTH + 1];
static int32_t mh__tower_lut[MH__NIETA][MH_HCAL_MAX_IPHI + 1];
/* Channels grouped by tower: tower t owns mh__tchan[mh__tfirst[t] ..
 * mh__tfirst[t] + nchannels). */
static uint32_t mh__tfirst[MH_HCAL_NTOWERS];
static uint32_t mh__tchan[MH_HCAL_NCHANNELS];
static int mh__geo_ok;

int mh_hcal_depth_range(int subdet, int aieta, int *dmin, int *dmax)
{
    if (aieta < 1 || aieta > MH_HCAL_MAX_IETA)
        return 0;
    const uint8_t *r;
    if (subdet == MH_HCAL_HB)
        r = aieta <= 16 ? mh__hb_depth[aieta] : NULL;
    else if (subdet == MH_HCAL_HE)
        r = mh__he_depth[aieta];
    else
        r = NULL;
    if (!r || r[0] == 0)
        return 0;
    *dmin = r[0];
    *dmax = r[1];
    return 1;
}

static int mh__phi_valid(int aieta, int iphi)
{
    if (iphi < 1 || iphi > MH_HCAL_MAX_IPHI)
        return 0;
    return aieta < MH_HCAL_DOUBLE_PHI_IETA || (iphi & 1);
}

float mh_hcal_wrap_phi(double phi)
{
    while (phi > M_PI)
        phi -= 2.0 * M_PI;
    while (phi <= -M_PI)
        phi += 2.0 * M_PI;
    return (float)phi;
}

static void mh__geo_build(void)
{
    memset(mh__chan_lut, 0xff, sizeof mh__chan_lut);   /* -1 everywhere */
    memset(mh__tower_lut, 0xff, sizeof mh__tower_lut);
    uint32_t n = 0;
    for (int sd = MH_HCAL_HB; sd <= MH_HCAL_HE; sd++)
        for (int ieta = -MH_HCAL_MAX_IETA; ieta <= MH_HCAL_MAX_IETA; ieta++) {
            int a = ieta < 0 ? -ieta : ieta, d0, d1;
            if (ieta == 0 || !mh_hcal_depth_range(sd, a, &d0, &d1))
                continue;
            for (int iphi = 1; iphi <= MH_HCAL_MAX_IPHI; iphi++) {
                if (!mh__phi_valid(a, iphi))
                    continue;
                for (int d = d0; d <= d1; d++) {
                    if (n >= MH_HCAL_NCHANNELS)
                        return; /* table and constants disagree: stays not ok */
                    mh__cells[n] = (mh_hcal_cell){(int8_t)ieta, (uint8_t)iphi, (uint8_t)d,
                                                  (uint8_t)sd, 0};
                    mh__chan_lut[ieta + MH_HCAL_MAX_IETA][iphi][d] = (int32_t)n;
                    n++;
                }
            }
        }
    if (n != MH_HCAL_NCHANNELS)
        return;
    uint32_t t = 0;
    for (int ieta = -MH_HCAL_MAX_IETA; ieta <= MH_HCAL_MAX_IETA; ieta++) {
        int a = ieta < 0 ? -ieta : ieta;
        if (ieta == 0)
            continue;
        for (int iphi = 1; iphi <= MH_HCAL_MAX_IPHI; iphi++) {
            if (!mh__phi_valid(a, iphi))
                continue;
            if (t >= MH_HCAL_NTOWERS)
                return;
            mh_hcal_tower *tw = &mh__towers[t];
            tw->ieta = (int8_t)ieta;
            tw->iphi = (uint8_t)iphi;
            tw->eta_lo = mh__eta_edges[a - 1];
            tw->eta_hi = mh__eta_edges[a];
            float ac = 0.5f * (tw->eta_lo + tw->eta_hi);
            tw->eta = ieta < 0 ? -ac : ac;
            double deg = M_PI / 180.0;
            if (a >= MH_HCAL_DOUBLE_PHI_IETA) {
                tw->dphi = (float)(10.0 * deg);
                tw->phi = mh_hcal_wrap_phi(iphi * 5.0 * deg);
            } else {
                tw->dphi = (float)(5.0 * deg);
                tw->phi = mh_hcal_wrap_phi((iphi - 0.5) * 5.0 * deg);
            }
            mh__tower_lut[ieta + MH_HCAL_MAX_IETA][iphi] = (int32_t)t;
            t++;
        }
    }
    if (t != MH_HCAL_NTOWERS)
        return;
    /* Channels of each tower, depth ascending (counting sort by tower). */
    for (uint32_t c = 0; c < MH_HCAL_NCHANNELS; c++) {
        mh_hcal_cell *cl = &mh__cells[c];
        cl->tower = (uint16_t)mh__tower_lut[cl->ieta + MH_HCAL_MAX_IETA][cl->iphi];
        mh__towers[cl->tower].nchannels++;
    }
    uint32_t acc = 0;
    for (uint32_t k = 0; k < MH_HCAL_NTOWERS; k++) {
        mh__tfirst[k] = acc;
        acc += mh__towers[k].nchannels;
    }
    uint32_t fill[MH_HCAL_NTOWERS];
    memset(fill, 0, sizeof fill);
    for (int d = 1; d <= MH_HCAL_MAX_DEPTH; d++)
        for (uint32_t c = 0; c < MH_HCAL_NCHANNELS; c++)
            if (mh__cells[c].depth == d) {
                uint32_t k = mh__cells[c].tower;
                mh__tchan[mh__tfirst[k] + fill[k]++] = c;
            }
    mh__geo_ok = 1;
}

static int mh__geo(void)
{
    pthread_once(&mh__geo_once, mh__geo_build);
    return mh__geo_ok;
}

int32_t mh_hcal_channel_index(int ieta, int iphi, int depth)
{
    if (ieta < -MH_HCAL_MAX_IETA || ieta > MH_HCAL_MAX_IETA || iphi < 1 ||
        iphi > MH_HCAL_MAX_IPHI || depth < 1 || depth > MH_HCAL_MAX_DEPTH || !mh__geo())
        return -1;
    return mh__chan_lut[ieta + MH_HCAL_MAX_IETA][iphi][depth];
}

const mh_hcal_cell *mh_hcal_cell_at(uint32_t ch)
{
    if (ch >= MH_HCAL_NCHANNELS || !mh__geo())
        return NULL;
    return &mh__cells[ch];
}

int32_t mh_hcal_tower_index(int ieta, int iphi)
{
    if (ieta < -MH_HCAL_MAX_IETA || ieta > MH_HCAL_MAX_IETA || iphi < 1 ||
        iphi > MH_HCAL_MAX_IPHI || !mh__geo())
        return -1;
    return mh__tower_lut[ieta + MH_HCAL_MAX_IETA][iphi];
}

const mh_hcal_tower *mh_hcal_tower_at(uint32_t t)
{
    if (t >= MH_HCAL_NTOWERS || !mh__geo())
        return NULL;
    return &mh__towers[t];
}

uint32_t mh_hcal_tower_channels(uint32_t t, uint32_t *out, uint32_t cap)
{
    if (t >= MH_HCAL_NTOWERS || !mh__geo())
        return 0;
    uint32_t n = mh__towers[t].nchannels;
    for (uint32_t i = 0; i < n && i < cap; i++)
        out[i] = mh__tchan[mh__tfirst[t] + i];
    return n;
}

int mh_hcal_ring_edges(int aieta, float *eta_lo, float *eta_hi)
{
    if (aieta < 1 || aieta > MH_HCAL_MAX_IETA)
        return 0;
    *eta_lo = mh__eta_edges[aieta - 1];
    *eta_hi = mh__eta_edges[aieta];
    return 1;
}
