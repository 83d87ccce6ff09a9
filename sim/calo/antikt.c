/* antikt.c - anti-kt jet clustering with nearest-neighbour bookkeeping.
 *
 * The distances are d_iB = 1/kt_i^2 and d_ij = min(1/kt_i^2, 1/kt_j^2) *
 * dR_ij^2 / R^2 (Cacciari, Salam, Soyez, JHEP 0804:063). For the pair that
 * minimises d_ij, j is the geometric nearest neighbour of i or i of j, so it
 * suffices to keep each pseudojet's geometric nearest neighbour (FastJet's
 * "NNH" strategy): every step is then O(n), and after a merge only the
 * pseudojets whose neighbour was one of the merged pair, or who are closer
 * to the new one, need a new neighbour.
 */
#include "calo/mh_calo.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

typedef struct mh__pj {
    double px, py, pz, e;
    double y, phi, inv_kt2;
    double nn_dist;  /* dR^2 / R^2 to the nearest neighbour, DBL_MAX if none */
    long nn;         /* index of the nearest neighbour or -1 */
    uint32_t nconst;
    int active;
} mh__pj;

double mh_delta_phi(double a, double b)
{
    double d = fabs(a - b);
    while (d > 2.0 * M_PI)
        d -= 2.0 * M_PI;
    return d > M_PI ? 2.0 * M_PI - d : d;
}

static void mh__pj_kinematics(mh__pj *p)
{
    double kt2 = p->px * p->px + p->py * p->py;
    p->inv_kt2 = kt2 > 0 ? 1.0 / kt2 : DBL_MAX;
    p->phi = (p->px == 0 && p->py == 0) ? 0.0 : atan2(p->py, p->px);
    double ep = p->e + p->pz, em = p->e - p->pz;
    if (ep <= 0 || em <= 0)
        p->y = p->pz >= 0 ? 1e5 : -1e5;
    else
        p->y = 0.5 * log(ep / em);
}

static double mh__dist(const mh__pj *a, const mh__pj *b, double inv_r2)
{
    double dy = a->y - b->y;
    double dphi = mh_delta_phi(a->phi, b->phi);
    return (dy * dy + dphi * dphi) * inv_r2;
}

static void mh__find_nn(mh__pj *p, size_t n, size_t i, double inv_r2)
{
    p[i].nn = -1;
    p[i].nn_dist = DBL_MAX;
    for (size_t k = 0; k < n; k++) {
        if (k == i || !p[k].active)
            continue;
        double d = mh__dist(&p[i], &p[k], inv_r2);
        if (d < p[i].nn_dist) {
            p[i].nn_dist = d;
            p[i].nn = (long)k;
        }
    }
}

static void mh__jet_from_pj(const mh__pj *p, mh_jet *j)
{
    double pt = sqrt(p->px * p->px + p->py * p->py);
    double m2 = p->e * p->e - p->px * p->px - p->py * p->py - p->pz * p->pz;
    j->pt = (float)pt;
    j->eta = (float)(pt > 0 ? asinh(p->pz / pt) : (p->pz >= 0 ? 1e5 : -1e5));
    j->phi = (float)p->phi;
    j->e = (float)p->e;
    j->mass = (float)(m2 > 0 ? sqrt(m2) : 0.0);
    j->nconst = p->nconst;
}

static int mh__cmp_pt_desc(const void *a, const void *b)
{
    const mh_jet *x = a, *y = b;
    return (x->pt < y->pt) - (x->pt > y->pt);
}

mh_status mh_antikt(const float *et, const float *eta, const float *phi, size_t n,
                    double R, double ptmin, mh_jet *jets, size_t cap, size_t *njets)
{
    *njets = 0;
    if (!(R > 0) || (n > 0 && (!et || !eta || !phi)))
        return MH_INVALID;
    mh__pj *p = malloc((n ? n : 1) * sizeof *p);
    mh_jet *found = malloc((n ? n : 1) * sizeof *found);
    if (!p || !found) {
        free(p);
        free(found);
        return MH_NOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(et[i] > 0))
            continue;
        mh__pj *q = &p[m++];
        q->px = et[i] * cos(phi[i]);
        q->py = et[i] * sin(phi[i]);
        q->pz = et[i] * sinh(eta[i]);
        q->e = et[i] * cosh(eta[i]);
        q->nconst = 1;
        q->active = 1;
        mh__pj_kinematics(q);
    }
    const double inv_r2 = 1.0 / (R * R);
    for (size_t i = 0; i < m; i++)
        mh__find_nn(p, m, i, inv_r2);

    /* Each step removes one active pseudojet: into a jet or by a merge. */
    size_t nfound = 0;
    for (size_t step = 0; step < m; step++) {
        /* The smallest distance among beam distances and NN pair distances. */
        size_t best = 0;
        double dmin = DBL_MAX;
        int to_beam = 1;
        for (size_t i = 0; i < m; i++) {
            if (!p[i].active)
                continue;
            double diB = p[i].inv_kt2;
            if (diB < dmin) {
                dmin = diB;
                best = i;
                to_beam = 1;
            }
            if (p[i].nn >= 0) {
                double inv = fmin(p[i].inv_kt2, p[p[i].nn].inv_kt2);
                double dij = inv * p[i].nn_dist;
                if (dij < dmin) {
                    dmin = dij;
                    best = i;
                    to_beam = 0;
                }
            }
        }
        size_t gone;
        if (to_beam) {
            mh__jet_from_pj(&p[best], &found[nfound++]);
            p[best].active = 0;
            gone = best;
            for (size_t k = 0; k < m; k++)
                if (p[k].active && p[k].nn == (long)gone)
                    mh__find_nn(p, m, k, inv_r2);
        } else {
            size_t j = (size_t)p[best].nn;
            p[best].px += p[j].px;
            p[best].py += p[j].py;
            p[best].pz += p[j].pz;
            p[best].e += p[j].e;
            p[best].nconst += p[j].nconst;
            mh__pj_kinematics(&p[best]);
            p[j].active = 0;
            gone = j;
            mh__find_nn(p, m, best, inv_r2);
            for (size_t k = 0; k < m; k++) {
                if (!p[k].active || k == best)
                    continue;
                if (p[k].nn == (long)gone || p[k].nn == (long)best) {
                    mh__find_nn(p, m, k, inv_r2);
                } else {
                    double d = mh__dist(&p[k], &p[best], inv_r2);
                    if (d < p[k].nn_dist) {
                        p[k].nn_dist = d;
                        p[k].nn = (long)best;
                    }
                }
            }
        }
    }
    free(p);
    qsort(found, nfound, sizeof *found, mh__cmp_pt_desc);
    size_t kept = 0;
    for (size_t i = 0; i < nfound; i++) {
        if (found[i].pt < ptmin)
            break;
        if (kept < cap)
            jets[kept] = found[i];
        kept++;
    }
    *njets = kept;
    free(found);
    return MH_OK;
}
