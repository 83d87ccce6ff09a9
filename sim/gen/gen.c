/* gen.c - one CMS-like HBHE event: particles -> energy deposits per
 * crossing -> pulses -> photo-statistics, pedestal, noise -> QIE11 codes ->
 * zero suppression, with the truth kept apart.
 *
 * The physics model (numbers and why) is in sim/gen/README.md. In short:
 *  - every crossing -4..+4 gets Poisson(mu) minimum-bias interactions; an
 *    interaction emits hadrons flat in eta over |eta| < 3 with a soft,
 *    power-law-tailed pT spectrum and negative-binomial-like multiplicity;
 *  - the hard scatter (crossing 0) adds jets that fragment into hadrons and
 *    photons, leptons and neutrinos (MET);
 *  - a hadron reaching HCAL deposits a fluctuating fraction of its energy,
 *    spread laterally to the nearest eta and phi neighbour towers and
 *    longitudinally over the tower's depths with a shower profile;
 *  - the deposit of crossing b in a channel becomes a pulse arriving at
 *    25 ns * b + time slew + jitter, with Poisson photo-electron statistics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calo/mh_calo.h"
#include "gen/gen_internal.h"
#include "gen/mh_gen.h"

/* Pulse fraction table: arrival times on a 0.125 ns grid. */
#define MH__T_MIN (-112.0f)
#define MH__T_STEP 0.125f
#define MH__NT 2048
/* Fast Gaussian: 4096 quantile intervals, interpolated. */
#define MH__GT_N 4096
/* Longitudinal profile variants per ring: shower start x energy class. */
#define MH__NSTART 8
#define MH__NECLASS 4
#define MH__MAXDEP 8
#define MH__MAXJETS 64
#define MH__MAXPART 4096

/* Depth boundaries in interaction lengths behind the HCAL front (end of
 * depth d at index d): the Phase-1 depths are thin at the front and thick
 * at the back. The last depth of a tower extends to the end. */
static const float mh__hb_bound[5] = {0.0f, 0.5f, 1.8f, 3.8f, 6.0f};
static const float mh__he_bound[8] = {0.0f, 0.5f, 1.3f, 2.3f, 3.5f, 5.0f, 7.0f, 9.5f};
#define MH__HB_DEPTH_LAMBDA 6.0f
#define MH__HE_DEPTH_LAMBDA 10.0f

enum { MH__HADRON = 0, MH__NEUTRAL_HADRON, MH__PHOTON, MH__ELECTRON, MH__MUON, MH__NEUTRINO };

typedef struct mh__part {
    float pt, eta, phi;
    uint8_t type;
} mh__part;

struct mh_gen {
    mh_gen_config cfg;
    const mh_hcal_conditions *cond;
    float frac[MH__NT][MH_NSAMPLES];
    float cont[MH__NT];
    float gtab[MH__GT_N + 1];
    /* prof[aieta][start][eclass][j]: share of a shower in the j-th channel
     * (depth ascending) of a tower of ring aieta. */
    float prof[MH_HCAL_MAX_IETA + 1][MH__NSTART][MH__NECLASS][MH__MAXDEP];
    /* Geometry cached for the deposit loop (tens of thousands of lookups
     * per event): ring edges, tower index by (ieta, iphi), tower channels. */
    float edge[MH_HCAL_MAX_IETA + 1];
    int16_t tlut[2 * MH_HCAL_MAX_IETA + 1][MH_HCAL_MAX_IPHI + 1];
    uint8_t tn[MH_HCAL_NTOWERS];
    uint16_t tch[MH_HCAL_NTOWERS][MH__MAXDEP];
    const float *qie_edges;
};

struct mh_gen_work {
    float *e;       /* MH_HCAL_NCHANNELS x MH_GEN_NBX deposits (GeV), channel-major */
    float *ehard;   /* MH_HCAL_NCHANNELS hard-scatter deposits (GeV) */
    mh__part *hard; /* hard-scatter particles (for generator jets and MET) */
    uint32_t nhard;
    float jet_et[MH__MAXPART], jet_eta[MH__MAXPART], jet_phi[MH__MAXPART];
    mh_jet jets[MH__MAXJETS];
};

/* ---- configuration ------------------------------------------------------ */

static const char *const mh__process_names[] = {"minbias", "qcd", "ttbar", "singlepion"};

void mh_gen_config_default(mh_gen_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->process = MH_GEN_MINBIAS;
    cfg->pileup = 0.0;
    cfg->seed = 1;
    cfg->run = 1;
    cfg->zs_threshold_fc = 100.0f;
    cfg->genjet_ptmin = 10.0f;
    cfg->qcd_ptmin = 30.0f;
    cfg->qcd_index = 4.5f;
    cfg->pion_emin = 1.0f;
    cfg->pion_emax = 100.0f;
}

mh_status mh_gen_process_parse(const char *name, mh_gen_process *out, char *err, size_t errlen)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, mh__process_names[i])) {
            *out = (mh_gen_process)i;
            return MH_OK;
        }
    return mh_fail(err, errlen, MH_INVALID,
                   "unknown process '%s' (known: minbias, qcd, ttbar, singlepion)",
                   name ? name : "");
}

const char *mh_gen_process_name(mh_gen_process p)
{
    return (unsigned)p < 4 ? mh__process_names[p] : "unknown";
}

/* ---- tables ------------------------------------------------------------- */

static double mh__shower_cdf(double x, double beta)
{
    if (x <= 0.0)
        return 0.0;
    double u = x / beta;
    return 1.0 - (1.0 + u) * exp(-u);
}

static void mh__build_profiles(mh_gen *g)
{
    static const double beta[MH__NECLASS] = {0.45, 0.65, 0.85, 1.05};
    for (int a = 1; a <= MH_HCAL_MAX_IETA; a++) {
        /* The channels of a tower of this ring, depth ascending. */
        uint32_t ch[MH__MAXDEP];
        int32_t t = mh_hcal_tower_index(a, 1);
        uint32_t n = mh_hcal_tower_channels((uint32_t)t, ch, MH__MAXDEP);
        const float *bound = a <= 16 ? mh__hb_bound : mh__he_bound;
        float lmax = a <= 16 ? MH__HB_DEPTH_LAMBDA : MH__HE_DEPTH_LAMBDA;
        for (int s = 0; s < MH__NSTART; s++) {
            /* Shower start: quantiles of an exponential of mean 0.7 lambda. */
            double x0 = -0.7 * log(1.0 - (s + 0.5) / MH__NSTART);
            for (int c = 0; c < MH__NECLASS; c++) {
                double tot = 0.0, f[MH__MAXDEP];
                for (uint32_t j = 0; j < n; j++) {
                    int d = mh_hcal_cell_at(ch[j])->depth;
                    double lo = j == 0 ? 0.0 : bound[d - 1];
                    double hi = j == n - 1 ? lmax : bound[d];
                    f[j] = mh__shower_cdf(hi - x0, beta[c]) - mh__shower_cdf(lo - x0, beta[c]);
                    tot += f[j];
                }
                for (uint32_t j = 0; j < MH__MAXDEP; j++)
                    g->prof[a][s][c][j] = j < n && tot > 0.0 ? (float)(f[j] / tot) : 0.0f;
            }
        }
    }
}

static double mh__norm_quantile(double p)
{
    double lo = -10.0, hi = 10.0;
    for (int i = 0; i < 80; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / M_SQRT2) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

mh_status mh_gen_create(const mh_gen_config *cfg, const mh_hcal_conditions *cond, mh_gen **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    if ((unsigned)cfg->process > MH_GEN_SINGLEPION)
        return mh_fail(err, errlen, MH_INVALID, "gen: unknown process %d", (int)cfg->process);
    if (!(cfg->pileup >= 0.0 && cfg->pileup <= 1000.0))
        return mh_fail(err, errlen, MH_INVALID, "gen: pileup %g outside [0, 1000]", cfg->pileup);
    if (!(cfg->zs_threshold_fc >= 0.0f && cfg->zs_threshold_fc < 1e6f))
        return mh_fail(err, errlen, MH_INVALID, "gen: zs_threshold_fc %g outside [0, 1e6)",
                       (double)cfg->zs_threshold_fc);
    if (!(cfg->qcd_ptmin > 0.0f && cfg->qcd_ptmin < 5000.0f && cfg->qcd_index > 1.5f &&
          cfg->qcd_index < 20.0f))
        return mh_fail(err, errlen, MH_INVALID,
                       "gen: qcd_ptmin %g / qcd_index %g outside (0, 5000) / (1.5, 20)",
                       (double)cfg->qcd_ptmin, (double)cfg->qcd_index);
    if (!(cfg->pion_emin > 0.0f && cfg->pion_emax >= cfg->pion_emin && cfg->pion_emax < 1e4f))
        return mh_fail(err, errlen, MH_INVALID, "gen: pion energy range [%g, %g] GeV invalid",
                       (double)cfg->pion_emin, (double)cfg->pion_emax);
    if (!(cfg->genjet_ptmin >= 0.0f && cfg->genjet_ptmin < 1e4f))
        return mh_fail(err, errlen, MH_INVALID, "gen: genjet_ptmin %g invalid",
                       (double)cfg->genjet_ptmin);
    mh_status st = mh_hcal_conditions_check(cond, err, errlen);
    if (st != MH_OK)
        return st;
    mh_gen *g = calloc(1, sizeof *g);
    if (!g)
        return mh_fail(err, errlen, MH_NOMEM, "gen: out of memory");
    g->cfg = *cfg;
    g->cond = cond;
    for (int i = 0; i < MH__NT; i++) {
        float t = MH__T_MIN + MH__T_STEP * (float)i;
        mh_hcal_pulse_fractions(t, g->frac[i]);
        g->cont[i] = mh_hcal_pulse_containment(t);
    }
    for (int i = 0; i <= MH__GT_N; i++) {
        double p = (i == 0 ? 0.25 : i == MH__GT_N ? MH__GT_N - 0.25 : (double)i) / MH__GT_N;
        g->gtab[i] = (float)mh__norm_quantile(p);
    }
    for (int a = 1; a <= MH_HCAL_MAX_IETA; a++) {
        float lo, hi;
        mh_hcal_ring_edges(a, &lo, &hi);
        g->edge[a - 1] = lo;
        g->edge[a] = hi;
    }
    for (int ieta = -MH_HCAL_MAX_IETA; ieta <= MH_HCAL_MAX_IETA; ieta++)
        for (int iphi = 0; iphi <= MH_HCAL_MAX_IPHI; iphi++)
            g->tlut[ieta + MH_HCAL_MAX_IETA][iphi] = (int16_t)mh_hcal_tower_index(ieta, iphi);
    for (uint32_t t = 0; t < MH_HCAL_NTOWERS; t++) {
        uint32_t ch[MH__MAXDEP];
        uint32_t n = mh_hcal_tower_channels(t, ch, MH__MAXDEP);
        g->tn[t] = (uint8_t)n;
        for (uint32_t j = 0; j < n && j < MH__MAXDEP; j++)
            g->tch[t][j] = (uint16_t)ch[j];
    }
    g->qie_edges = mh_qie11_edges();
    mh__build_profiles(g);
    *out = g;
    return MH_OK;
}

void mh_gen_free(mh_gen *g)
{
    free(g);
}

const mh_gen_config *mh_gen_get_config(const mh_gen *g)
{
    return &g->cfg;
}

const char *mh_gen_conditions_tag(const mh_gen *g)
{
    return g->cond->tag;
}

mh_gen_work *mh_gen_work_create(void)
{
    mh_gen_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->e = malloc(sizeof(float) * MH_HCAL_NCHANNELS * MH_GEN_NBX);
    w->ehard = malloc(sizeof(float) * MH_HCAL_NCHANNELS);
    w->hard = malloc(sizeof(mh__part) * MH__MAXPART);
    if (!w->e || !w->ehard || !w->hard) {
        mh_gen_work_free(w);
        return NULL;
    }
    return w;
}

void mh_gen_work_free(mh_gen_work *w)
{
    if (!w)
        return;
    free(w->e);
    free(w->ehard);
    free(w->hard);
    free(w);
}

/* ---- random helpers ------------------------------------------------------ */

/* A Gaussian from 24 random bits by interpolating the quantile table: fast
 * enough for 150 000 noise samples per event; tails end at 3.8 sigma. */
static inline float mh__fgauss_bits(const mh_gen *g, uint32_t bits24)
{
    uint32_t i = bits24 >> 12, f = bits24 & 0xfffu;
    float a = g->gtab[i], b = g->gtab[i + 1];
    return a + (b - a) * (float)f * (1.0f / 4096.0f);
}

static inline float mh__fgauss(const mh_gen *g, mh__rng *r)
{
    return mh__fgauss_bits(g, (uint32_t)(mh__rng_u64(r) >> 40));
}

static double mh__rng_gamma_int(mh__rng *r, int k, double theta)
{
    double s = 0.0;
    for (int i = 0; i < k; i++)
        s -= log(mh__rng_uniform(r));
    return s * theta;
}

/* ---- deposits ------------------------------------------------------------ */

/* Ring |ieta| (1..29) of |eta| < 3, and the fractional position inside it.
 * The barrel rings are 0.087 wide: start from that guess, then walk. */
static int mh__ring(const mh_gen *g, float aeta, float *u)
{
    if (!(aeta < g->edge[MH_HCAL_MAX_IETA]))
        return 0;
    int a = (int)(aeta * (1.0f / 0.087f)) + 1;
    if (a > MH_HCAL_MAX_IETA)
        a = MH_HCAL_MAX_IETA;
    while (a > 1 && aeta < g->edge[a - 1])
        a--;
    while (a < MH_HCAL_MAX_IETA && aeta >= g->edge[a])
        a++;
    *u = (aeta - g->edge[a - 1]) / (g->edge[a] - g->edge[a - 1]);
    return a;
}

/* iphi of azimuth phi in ring a (odd iphi for 10-degree rings) and the
 * fractional position inside the tower. */
static int mh__iphi(int a, float phi, float *v)
{
    double p = phi < 0.0f ? phi + 2.0 * M_PI : phi;
    double x = p / (5.0 * M_PI / 180.0); /* in 5-degree units, [0, 72) */
    int i = (int)x;
    if (i > 71)
        i = 71;
    if (a >= MH_HCAL_DOUBLE_PHI_IETA) {
        int i2 = i & ~1;
        *v = (float)((x - i2) * 0.5);
        return i2 + 1;
    }
    *v = (float)(x - i);
    return i + 1;
}

/* Adds energy e (GeV) to tower (ieta, iphi) of crossing slot bx, spread
 * over depths by profile (a, s, c). */
static void mh__add_tower(const mh_gen *g, mh_gen_work *w, float *hard, int ieta, int iphi,
                          int bx, int s, int c, float e)
{
    if (ieta < -MH_HCAL_MAX_IETA || ieta > MH_HCAL_MAX_IETA || iphi < 1 || iphi > MH_HCAL_MAX_IPHI)
        return;
    int t = g->tlut[ieta + MH_HCAL_MAX_IETA][iphi];
    if (t < 0)
        return;
    const uint16_t *ch = g->tch[t];
    uint32_t n = g->tn[t];
    const float *p = g->prof[ieta < 0 ? -ieta : ieta][s][c];
    for (uint32_t j = 0; j < n; j++) {
        float d = e * p[j];
        w->e[(size_t)ch[j] * MH_GEN_NBX + (size_t)bx] += d;
        if (hard)
            hard[ch[j]] += d;
    }
}

static int mh__neighbour_ieta(int ieta, int step)
{
    int n = ieta + step;
    if (n == 0)
        n += step;
    return n;
}

static int mh__phi_step(int ieta, int iphi, int dir)
{
    int a = ieta < 0 ? -ieta : ieta;
    int step = a >= MH_HCAL_DOUBLE_PHI_IETA ? 2 : 1;
    int n = iphi + dir * step;
    if (n < 1)
        n += 72;
    if (n > 72)
        n -= 72;
    if (a >= MH_HCAL_DOUBLE_PHI_IETA && !(n & 1))
        n -= 1;
    return n;
}

/* Deposits a particle of energy edep (GeV, already the HCAL share) that
 * hits HCAL at (eta, phi) in crossing slot bx. */
static void mh__deposit(const mh_gen *g, mh_gen_work *w, mh__rng *r, float *hard, float eta,
                        float phi, float edep, int bx, int muon)
{
    float aeta = fabsf(eta), u, v;
    int a = mh__ring(g, aeta, &u);
    if (!a || !(edep > 0.0f))
        return;
    int ieta = eta < 0.0f ? -a : a;
    int iphi = mh__iphi(a, phi, &v);
    uint64_t bits = mh__rng_u64(r);
    int s = muon ? 0 : (int)(bits & (MH__NSTART - 1));
    int c = muon ? MH__NECLASS - 1 : edep < 2.0f ? 0 : edep < 10.0f ? 1 : edep < 50.0f ? 2 : 3;
    if (muon) { /* a minimum-ionising track: flat over depths, no spread */
        mh__add_tower(g, w, hard, ieta, iphi, bx, s, c, edep);
        return;
    }
    /* Lateral leakage to the nearer eta and phi neighbour: up to 20% each
     * when the particle hits the tower edge, none at its centre. */
    float du = u < 0.5f ? u : 1.0f - u, dv = v < 0.5f ? v : 1.0f - v;
    float se = 0.2f * (1.0f - 2.0f * du) * (1.0f - 2.0f * du);
    float sp = 0.2f * (1.0f - 2.0f * dv) * (1.0f - 2.0f * dv);
    int ne = mh__neighbour_ieta(ieta, (u < 0.5f) == (eta >= 0.0f) ? -1 : 1);
    if (ne < -MH_HCAL_MAX_IETA || ne > MH_HCAL_MAX_IETA)
        se = 0.0f;
    int np = mh__phi_step(ieta, iphi, v < 0.5f ? -1 : 1);
    mh__add_tower(g, w, hard, ieta, iphi, bx, s, c, edep * (1.0f - se - sp));
    if (se > 0.0f) {
        int nphi = iphi;
        int an = ne < 0 ? -ne : ne;
        if (an >= MH_HCAL_DOUBLE_PHI_IETA && !(nphi & 1))
            nphi -= 1;
        mh__add_tower(g, w, hard, ne, nphi, bx, s, c, edep * se);
    }
    if (sp > 0.0f)
        mh__add_tower(g, w, hard, ieta, np, bx, s, c, edep * sp);
}

/* HCAL share of a hadron's energy: it first crosses the ECAL (about one
 * interaction length), the non-compensating response fluctuates. */
static float mh__hadron_response(const mh_gen *g, mh__rng *r, float e)
{
    float sigma = 0.12f + 0.35f / sqrtf(e > 0.1f ? e : 0.1f);
    float f = 0.70f + sigma * mh__fgauss(g, r);
    if (f < 0.02f)
        f = 0.02f;
    if (f > 1.1f)
        f = 1.1f;
    return f;
}

/* Deposits one particle (any type) of crossing slot bx. */
static void mh__particle(const mh_gen *g, mh_gen_work *w, mh__rng *r, float *hard,
                         const mh__part *p, int bx)
{
    if (fabsf(p->eta) >= 3.0f)
        return;
    float e = p->pt * coshf(p->eta);
    switch (p->type) {
    case MH__HADRON:
        /* Charged hadrons below ~0.8 GeV curl up in the 3.8 T field before
         * the barrel HCAL; in the endcap the longitudinal momentum carries
         * them through. */
        if (p->pt < 0.8f && fabsf(p->eta) < 1.4f)
            return;
        mh__deposit(g, w, r, hard, p->eta, p->phi, e * mh__hadron_response(g, r, e), bx, 0);
        break;
    case MH__NEUTRAL_HADRON:
        mh__deposit(g, w, r, hard, p->eta, p->phi, e * mh__hadron_response(g, r, e), bx, 0);
        break;
    case MH__MUON:
        if (p->pt > 2.0f) /* about 2 GeV of ionisation through the whole depth */
            mh__deposit(g, w, r, hard, p->eta, p->phi, 2.0f, bx, 1);
        break;
    case MH__PHOTON:
    case MH__ELECTRON:
        /* Electromagnetic showers end in the ECAL; a few % leak. */
        if (e > 5.0f)
            mh__deposit(g, w, r, hard, p->eta, p->phi, 0.03f * e, bx, 0);
        break;
    default: /* neutrinos */
        break;
    }
}

/* ---- interactions --------------------------------------------------------- */

/* One minimum-bias interaction: hadrons flat in |eta| < 3. Multiplicity:
 * Poisson around 33 x gamma(k = 2)/2 (negative-binomial-like spread);
 * pT: exponential of mean 0.45 GeV, with a power-law tail (10%). */
static uint32_t mh__minbias(mh__rng *r, mh__part *out, uint32_t cap)
{
    double mean = 33.0 * mh__rng_gamma_int(r, 2, 0.5);
    uint32_t n = mh__rng_poisson(r, mean);
    if (n > cap)
        n = cap;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t b = mh__rng_u64(r);
        mh__part *p = &out[i];
        p->eta = (float)(6.0 * ((double)(b >> 40) * 0x1.0p-24) - 3.0);
        p->phi = (float)(2.0 * M_PI * ((double)((b >> 16) & 0xffffff) * 0x1.0p-24) - M_PI);
        p->type = (b & 0xff) < 26 ? MH__NEUTRAL_HADRON : MH__HADRON; /* ~10% K0L, n */
        if (((b >> 8) & 0xff) < 26)
            p->pt = (float)(1.0 * pow(mh__rng_uniform(r), -1.0 / 3.5));
        else
            p->pt = (float)mh__rng_exp(r, 0.45);
    }
    return n;
}

static void mh__add_hard(mh_gen_work *w, float pt, float eta, float phi, int type)
{
    if (w->nhard >= MH__MAXPART)
        return;
    mh__part *p = &w->hard[w->nhard++];
    p->pt = pt;
    p->eta = eta;
    p->phi = mh_hcal_wrap_phi(phi);
    p->type = (uint8_t)type;
}

/* A jet of transverse momentum pt fragments into hadrons (charged 65%,
 * neutral 10%) and photons (25%, from pi0), exponential momentum sharing,
 * spread around the axis by sigma ~ 0.06 + 0.6/sqrt(pt). */
static void mh__jet(const mh_gen *g, mh_gen_work *w, mh__rng *r, float pt, float eta, float phi)
{
    double e = pt * cosh(eta);
    int n = 3 + (int)mh__rng_poisson(r, 1.5 * log(1.0 + e));
    if (n > 64)
        n = 64;
    double z[64], sum = 0.0;
    for (int i = 0; i < n; i++) {
        z[i] = mh__rng_exp(r, 1.0);
        z[i] *= z[i]; /* harder sharing: a leading particle, soft ones */
        sum += z[i];
    }
    float sig = 0.06f + 0.6f / sqrtf(pt > 1.0f ? pt : 1.0f);
    for (int i = 0; i < n; i++) {
        float pe = eta + sig * mh__fgauss(g, r);
        float pp = phi + sig * mh__fgauss(g, r);
        double ei = e * z[i] / sum;
        float ppt = (float)(ei / cosh(pe));
        uint64_t b = mh__rng_u64(r) & 0xff;
        int type = b < 64 ? MH__PHOTON : b < 90 ? MH__NEUTRAL_HADRON : MH__HADRON;
        mh__add_hard(w, ppt, pe, pp, type);
    }
}

static float mh__uniform_phi(mh__rng *r)
{
    return (float)(2.0 * M_PI * mh__rng_uniform(r) - M_PI);
}

/* Gaussian-ish jet eta: central production, |eta| up to ~4. */
static float mh__jet_eta(const mh_gen *g, mh__rng *r, float sigma)
{
    return sigma * mh__fgauss(g, r);
}

static void mh__hard_scatter(const mh_gen *g, mh_gen_work *w, mh__rng *r)
{
    const mh_gen_config *cfg = &g->cfg;
    w->nhard = 0;
    switch (cfg->process) {
    case MH_GEN_MINBIAS:
        w->nhard = mh__minbias(r, w->hard, MH__MAXPART);
        break;
    case MH_GEN_QCD: {
        double pt1 = cfg->qcd_ptmin * pow(mh__rng_uniform(r), -1.0 / (cfg->qcd_index - 1.0));
        if (pt1 > 3000.0)
            pt1 = 3000.0;
        double pt2 = pt1 * (0.7 + 0.3 * mh__rng_uniform(r));
        float phi = mh__uniform_phi(r);
        mh__jet(g, w, r, (float)pt1, mh__jet_eta(g, r, 1.6f), phi);
        mh__jet(g, w, r, (float)pt2, mh__jet_eta(g, r, 1.6f),
                phi + (float)M_PI + 0.2f * mh__fgauss(g, r));
        if (mh__rng_uniform(r) < 0.4)
            mh__jet(g, w, r, (float)(0.4 * pt1 * mh__rng_uniform(r)) + 5.0f,
                    mh__jet_eta(g, r, 1.8f), mh__uniform_phi(r));
        w->nhard += mh__minbias(r, w->hard + w->nhard, MH__MAXPART - w->nhard);
        break;
    }
    case MH_GEN_TTBAR: {
        /* Decay mode: all-hadronic 46%, lepton + jets 44%, dilepton 10%. */
        double m = mh__rng_uniform(r);
        int nlep = m < 0.46 ? 0 : m < 0.90 ? 1 : 2;
        for (int b = 0; b < 2; b++) /* b jets */
            mh__jet(g, w, r, (float)mh__rng_gamma_int(r, 3, 22.0) + 5.0f,
                    mh__jet_eta(g, r, 1.3f), mh__uniform_phi(r));
        for (int q = 0; q < 2 * (2 - nlep); q++) /* W -> q q' jets */
            mh__jet(g, w, r, (float)mh__rng_gamma_int(r, 3, 15.0) + 5.0f,
                    mh__jet_eta(g, r, 1.4f), mh__uniform_phi(r));
        for (int l = 0; l < nlep; l++) { /* W -> l nu */
            float phi = mh__uniform_phi(r);
            mh__add_hard(w, (float)mh__rng_gamma_int(r, 3, 14.0) + 3.0f,
                         mh__jet_eta(g, r, 1.2f), phi,
                         mh__rng_uniform(r) < 0.5 ? MH__MUON : MH__ELECTRON);
            mh__add_hard(w, (float)mh__rng_gamma_int(r, 3, 14.0) + 3.0f,
                         mh__jet_eta(g, r, 1.4f), phi + (float)M_PI * 0.6f * mh__fgauss(g, r),
                         MH__NEUTRINO);
        }
        if (mh__rng_uniform(r) < 0.5) /* initial-state radiation */
            mh__jet(g, w, r, (float)mh__rng_exp(r, 25.0) + 15.0f, mh__jet_eta(g, r, 2.0f),
                    mh__uniform_phi(r));
        w->nhard += mh__minbias(r, w->hard + w->nhard, MH__MAXPART - w->nhard);
        break;
    }
    case MH_GEN_SINGLEPION: {
        double e = cfg->pion_emin + (cfg->pion_emax - cfg->pion_emin) * mh__rng_uniform(r);
        float eta = (float)(5.8 * mh__rng_uniform(r) - 2.9);
        mh__add_hard(w, (float)(e / cosh(eta)), eta, mh__uniform_phi(r), MH__HADRON);
        break;
    }
    }
}

/* Generator jets (anti-kt R = 0.4 over visible hard-scatter particles) and
 * MET (neutrinos). */
static mh_status mh__genjets(const mh_gen *g, mh_gen_work *w, mh_rawevent *ev, char *err,
                             size_t errlen)
{
    size_t n = 0;
    double mx = 0.0, my = 0.0;
    for (uint32_t i = 0; i < w->nhard; i++) {
        const mh__part *p = &w->hard[i];
        if (p->type == MH__NEUTRINO) {
            mx += p->pt * cos(p->phi);
            my += p->pt * sin(p->phi);
            continue;
        }
        if (p->type == MH__MUON || p->type == MH__ELECTRON)
            continue;
        w->jet_et[n] = p->pt;
        w->jet_eta[n] = p->eta;
        w->jet_phi[n] = p->phi;
        n++;
    }
    ev->gen_met = (float)sqrt(mx * mx + my * my);
    ev->gen_met_phi = ev->gen_met > 0.0f ? (float)atan2(my, mx) : 0.0f;
    size_t njets = 0;
    mh_status st = mh_antikt(w->jet_et, w->jet_eta, w->jet_phi, n, 0.4, g->cfg.genjet_ptmin,
                             w->jets, MH__MAXJETS, &njets);
    if (st != MH_OK)
        return mh_fail(err, errlen, st, "gen: generator jets: %s", mh_strerror(st));
    if (njets > MH__MAXJETS)
        njets = MH__MAXJETS;
    st = mh_rawevent_reserve(ev, ev->digi_cap, (uint32_t)njets);
    if (st != MH_OK)
        return mh_fail(err, errlen, st, "gen: out of memory");
    for (size_t j = 0; j < njets; j++)
        ev->genjets[j] = (mh_genjet){w->jets[j].pt, w->jets[j].eta, w->jets[j].phi, w->jets[j].e};
    ev->ngenjets = (uint32_t)njets;
    return MH_OK;
}

/* Truth is kept to 2^-8 GeV (about 4 MeV, well below one photo-electron of
 * 25 MeV): the low mantissa bits are noise, and zeroing them shrinks the
 * compressed truth arrays by half. */
static float mh__quantise(double e)
{
    return (float)(nearbyint(e * 256.0) / 256.0);
}

static int mh__tindex(float t)
{
    int i = (int)lrintf((t - MH__T_MIN) / MH__T_STEP);
    return i < 0 ? 0 : i >= MH__NT ? MH__NT - 1 : i;
}

mh_status mh_gen_event(const mh_gen *g, mh_gen_work *w, uint64_t index, mh_rawevent *ev,
                       mh_gen_evstats *stats, char *err, size_t errlen)
{
    const mh_gen_config *cfg = &g->cfg;
    const mh_hcal_conditions *cond = g->cond;
    mh__rng r;
    mh__rng_seed(&r, cfg->seed, index);
    mh_gen_evstats st0;
    memset(&st0, 0, sizeof st0);

    mh_rawevent_clear(ev);
    ev->run = cfg->run;
    ev->event = index + 1;
    ev->lumi = (uint32_t)(index / 1000 + 1);
    ev->bx = (uint16_t)(1 + mh__rng_u64(&r) % 3564);
    ev->pileup_true = (float)cfg->pileup;
    uint8_t capid0 = (uint8_t)(mh__rng_u64(&r) & 3);

    memset(w->e, 0, sizeof(float) * MH_HCAL_NCHANNELS * MH_GEN_NBX);
    memset(w->ehard, 0, sizeof(float) * MH_HCAL_NCHANNELS);

    /* Hard scatter in crossing 0 (slot -MH_GEN_BX_FIRST). */
    const int slot0 = -MH_GEN_BX_FIRST;
    mh__hard_scatter(g, w, &r);
    for (uint32_t i = 0; i < w->nhard; i++)
        mh__particle(g, w, &r, w->ehard, &w->hard[i], slot0);
    mh_status st = mh__genjets(g, w, ev, err, errlen);
    if (st != MH_OK)
        return st;

    /* Pileup in every crossing. */
    mh__part pu[512];
    for (int b = 0; b < MH_GEN_NBX; b++) {
        uint32_t nint = mh__rng_poisson(&r, cfg->pileup);
        if (b == slot0)
            ev->pileup_intime = (uint16_t)(nint > 65535 ? 65535 : nint);
        st0.ninteractions += nint;
        for (uint32_t k = 0; k < nint; k++) {
            uint32_t n = mh__minbias(&r, pu, 512);
            for (uint32_t i = 0; i < n; i++)
                mh__particle(g, w, &r, NULL, &pu[i], b);
        }
    }

    /* Digitise every channel, keep those passing zero suppression. */
    st = mh_rawevent_reserve(ev, 2048, ev->ngenjets);
    if (st != MH_OK)
        return mh_fail(err, errlen, st, "gen: out of memory");
    float zs = cfg->zs_threshold_fc;
    for (uint32_t ch = 0; ch < MH_HCAL_NCHANNELS; ch++) {
        const float *e = w->e + (size_t)ch * MH_GEN_NBX;
        float gain = cond->gain[ch], fcpe = cond->fc_per_pe[ch];
        float q[MH_NSAMPLES] = {0};
        double eoot = 0.0;
        int any = 0;
        for (int b = 0; b < MH_GEN_NBX; b++) {
            if (!(e[b] > 0.0f))
                continue;
            any = 1;
            /* Photo-statistics: the charge is a whole number of p.e. */
            double npe = mh__rng_poisson(&r, (double)e[b] / gain / fcpe);
            float qp = (float)(npe * fcpe);
            int bx = b + MH_GEN_BX_FIRST;
            float t = MH_HCAL_TS_NS * (float)bx + mh_hcal_time_slew(0.74f * qp) +
                      0.5f * mh__fgauss(g, &r);
            int ti = mh__tindex(t);
            const float *f = g->frac[ti];
            for (int k = 0; k < MH_NSAMPLES; k++)
                q[k] += qp * f[k];
            if (bx == 0) {
                st0.soi_intime_fc += qp * f[MH_SOI];
            } else {
                st0.soi_oot_fc += qp * f[MH_SOI];
                eoot += (double)e[b] * g->cont[ti];
            }
        }
        float ein = e[slot0];
        if (any) {
            st0.nsignal++;
            st0.e_intime += ein;
            st0.e_oot += eoot;
            st0.e_hard += w->ehard[ch];
        }
        /* A channel without signal passes only on noise; with the default
         * threshold (> 10 sigma of a two-sample sum) that never happens,
         * so its samples are not even drawn. */
        float ped = cond->pedestal[ch], pw = cond->ped_width[ch];
        if (!any && zs > 10.0f * 1.4142f * pw)
            continue;
        uint8_t adc[MH_NSAMPLES];
        float qs[MH_NSAMPLES];
        const float *edges = g->qie_edges;
        uint64_t bits = 0;
        for (int k = 0; k < MH_NSAMPLES; k++) {
            if (k % 2 == 0)
                bits = mh__rng_u64(&r);
            float n = mh__fgauss_bits(g, (uint32_t)(bits >> (k % 2 ? 8 : 40)) & 0xffffffu);
            adc[k] = mh_qie11_adc_edges(edges, q[k] + ped + pw * n);
            qs[k] = 0.5f * (edges[adc[k]] + edges[adc[k] + 1]) - ped; /* bin centre */
        }
        float best = -1e30f;
        for (int k = 0; k + 1 < MH_NSAMPLES; k++)
            if (qs[k] + qs[k + 1] > best)
                best = qs[k] + qs[k + 1];
        if (zs > 0.0f && !(best > zs))
            continue;
        uint32_t i = ev->ndigis;
        if (i == ev->digi_cap) {
            st = mh_rawevent_reserve(ev, ev->digi_cap * 2, ev->ngenjets);
            if (st != MH_OK)
                return mh_fail(err, errlen, st, "gen: out of memory");
        }
        ev->channel[i] = ch;
        memcpy(ev->adc + (size_t)i * MH_NSAMPLES, adc, MH_NSAMPLES);
        for (int k = 0; k < MH_NSAMPLES; k++) {
            ev->capid[(size_t)i * MH_NSAMPLES + k] = mh_qie11_capid(capid0, k);
            ev->soi[(size_t)i * MH_NSAMPLES + k] = k == MH_SOI;
        }
        ev->true_e_hard[i] = mh__quantise(w->ehard[ch]);
        ev->true_e_intime[i] = mh__quantise(ein);
        ev->true_e_oot[i] = mh__quantise(eoot);
        ev->ndigis = i + 1;
    }
    st0.ndigis = ev->ndigis;
    for (uint32_t i = 0; i < ev->ndigis && ev->channel[i] < MH_HCAL_NCHANNELS_HB; i++)
        st0.ndigis_hb++;
    if (stats)
        *stats = st0;
    return MH_OK;
}
