/* towers.c - HBHE hits summed into (ieta, iphi) towers; jet matching. */
#include "calo/mh_calo.h"

#include <float.h>
#include <math.h>

mh_status mh_calo_sum_towers(const int32_t *ieta, const int32_t *iphi, const float *e, size_t n,
                             float hit_emin, mh_calo_centre_fn centre, void *ctx, float *work,
                             size_t cap, int32_t *out_ieta, int32_t *out_iphi, float *out_eta,
                             float *out_phi, float *out_e, float *out_et, size_t *ntowers,
                             char *err, size_t errlen)
{
    *ntowers = 0;
    /* The dense grid makes the sum O(n + slots) with no hashing; it is
     * zero on entry and re-zeroed on the way out so the caller can keep it
     * per stream. First pass validates, so a bad hit leaves it zero. */
    for (size_t i = 0; i < n; i++) {
        int a = ieta[i] < 0 ? -ieta[i] : ieta[i];
        if (a < 1 || a > MH_CALO_IETA_MAX || iphi[i] < 1 || iphi[i] > MH_CALO_IPHI_MAX)
            return mh_fail(err, errlen, MH_INVALID, "hit %zu: tower (ieta %d, iphi %d) outside HBHE",
                               i, (int)ieta[i], (int)iphi[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (!(e[i] >= hit_emin))
            continue;
        size_t slot = (size_t)(ieta[i] + MH_CALO_IETA_MAX) * MH_CALO_IPHI_MAX +
                      (size_t)(iphi[i] - 1);
        work[slot] += e[i];
    }
    size_t k = 0;
    mh_status st = MH_OK;
    for (size_t slot = 0; slot < MH_CALO_NTOWER_SLOTS; slot++) {
        float sum = work[slot];
        if (sum == 0.0f)
            continue;
        work[slot] = 0.0f;
        if (!(sum > 0.0f))
            continue;
        if (k >= cap) {
            st = mh_fail(err, errlen, MH_INVALID, "more than %zu towers (capacity)", cap);
            continue; /* keep zeroing the grid */
        }
        if (st != MH_OK)
            continue;
        int ie = (int)(slot / MH_CALO_IPHI_MAX) - MH_CALO_IETA_MAX;
        int ip = (int)(slot % MH_CALO_IPHI_MAX) + 1;
        float eta = 0, phi = 0;
        centre(ctx, ie, ip, &eta, &phi);
        out_ieta[k] = ie;
        out_iphi[k] = ip;
        out_eta[k] = eta;
        out_phi[k] = phi;
        out_e[k] = sum;
        out_et[k] = (float)(sum / cosh(eta));
        k++;
    }
    *ntowers = k;
    return st;
}

void mh_calo_match(const float *gen_eta, const float *gen_phi, size_t gen_stride, size_t ngen,
                   const float *reco_eta, const float *reco_phi, size_t reco_stride,
                   size_t nreco, double drmax, long *match)
{
#define AT(p, stride, i) (*(const float *)((const char *)(p) + (i) * (stride)))
    /* Reco jets taken are marked by setting them in this small bitmap;
     * events have tens of jets, so a quadratic scan is the right cost. */
    unsigned char used[512] = {0};
    size_t nr = nreco < sizeof used ? nreco : sizeof used;
    for (size_t g = 0; g < ngen; g++) {
        double best = drmax * drmax;
        long bi = -1;
        for (size_t r = 0; r < nr; r++) {
            if (used[r])
                continue;
            double deta = AT(gen_eta, gen_stride, g) - AT(reco_eta, reco_stride, r);
            double dphi = mh_delta_phi(AT(gen_phi, gen_stride, g), AT(reco_phi, reco_stride, r));
            double dr2 = deta * deta + dphi * dphi;
            if (dr2 < best) {
                best = dr2;
                bi = (long)r;
            }
        }
        match[g] = bi;
        if (bi >= 0)
            used[bi] = 1;
    }
#undef AT
}
