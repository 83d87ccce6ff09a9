/* calo.c - the calorimeter chain after the HCAL reconstruction, as module
 * types of one plugin (sim/calo does the work; this file only wires the
 * products):
 *
 *   calo_towers      rechits -> towers (sum over depths, sim/hcal geometry)
 *   calo_jets        towers  -> anti-kt jets
 *   calo_met         towers  -> missing Et
 *   calo_ht          jets    -> HT, MHT
 *   calo_jet_filter  at least N jets with pt and |eta| cuts
 *   calo_ht_filter   HT above a threshold
 *   calo_met_filter  MET above a threshold
 *
 * Every module is stateless per event except for per-stream scratch
 * (indexed by host->event_stream, one event per stream in flight). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calo/mh_calo.h"
#include "core/mh_module.h"
#include "hcal/mh_hcal.h"
#include "hcal/mh_hcal_products.h"

/* Every module here has one input product and at most one threshold set;
 * one struct serves them all. */
typedef struct calo_mod {
    const mh_host *host;
    const char *src;       /* label of the input product's producer */
    double a, b, c;        /* the module's numeric parameters (see each type) */
    double scale;          /* calo_jets: jetScale */
    int64_t n;
    unsigned nstreams;
    void **scratch;        /* per stream, type-specific */
} calo_mod;

static void calo_destroy(void *vself)
{
    calo_mod *self = vself;
    if (self == NULL)
        return;
    if (self->scratch != NULL)
        for (unsigned s = 0; s < self->nstreams; s++)
            free(self->scratch[s]);
    free(self->scratch);
    free(self);
}

/* Common create: allocates self, reads the source label parameter `key`,
 * declares consumes(src, type_in) and, if type_out, produces(type_out);
 * scratch_bytes > 0 gives each stream a zeroed buffer of that size. */
static mh_status calo_common(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                             const char *key, const char *type_in, const char *type_out,
                             size_t scratch_bytes, calo_mod **out, char *err, size_t errlen)
{
    calo_mod *self = calloc(1, sizeof *self);
    *out = self;
    if (self == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    self->host = host;
    self->src = host->param_string(params, key);
    if (scratch_bytes > 0) {
        self->nstreams = host->n_streams(ctx);
        if (self->nstreams == 0)
            self->nstreams = 1;
        self->scratch = calloc(self->nstreams, sizeof *self->scratch);
        if (self->scratch == NULL)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        for (unsigned s = 0; s < self->nstreams; s++) {
            self->scratch[s] = calloc(1, scratch_bytes);
            if (self->scratch[s] == NULL)
                return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        }
    }
    mh_status st = host->consumes(ctx, self->src, "", type_in, err, errlen);
    if (st != MH_OK || type_out == NULL)
        return st;
    return host->produces(ctx, "", type_out, err, errlen);
}

static mh_status get_input(const calo_mod *self, mh_event *ev, const char *type, const void **p,
                           char *err, size_t errlen)
{
    return self->host->get(ev, self->src, "", type, p, err, errlen);
}

static mh_status need_nonneg(const char *key, double v, char *err, size_t errlen)
{
    if (!(v >= 0) || !isfinite(v))
        return mh_fail(err, errlen, MH_PARAM, "%s: %g must be a finite number >= 0", key, v);
    return MH_OK;
}

/* What distinguishes the module types at creation: the input parameter and
 * product type, the output type (NULL for filters), the per-stream scratch
 * size and up to three numeric parameters (>= 0) read into a, b, c. */
typedef struct calo_desc {
    const char *key, *type_in, *type_out;
    size_t scratch_bytes;
    const char *num[3];
} calo_desc;

static mh_status calo_create(const calo_desc *d, const mh_host *host, mh_module_ctx *ctx,
                             const mh_params *params, void **out, char *err, size_t errlen)
{
    calo_mod *self = NULL;
    mh_status st = calo_common(host, ctx, params, d->key, d->type_in, d->type_out,
                               d->scratch_bytes, &self, err, errlen);
    *out = self;
    if (self == NULL)
        return st;
    double *slot[3] = {&self->a, &self->b, &self->c};
    for (int i = 0; i < 3 && st == MH_OK && d->num[i] != NULL; i++) {
        *slot[i] = host->param_double(params, d->num[i]);
        st = need_nonneg(d->num[i], *slot[i], err, errlen);
    }
    return st;
}

static void *stream_scratch(const calo_mod *self, mh_event *ev)
{
    unsigned s = self->host->event_stream(ev);
    return s < self->nstreams ? self->scratch[s] : NULL;
}

/* ---- calo_towers --------------------------------------------------------- */

/* Per-stream scratch of calo_towers: the tower grid and the hits' cells. */
typedef struct towers_scratch {
    float grid[MH_CALO_NTOWER_SLOTS];
    int32_t ieta[MH_HCAL_NCHANNELS];
    int32_t iphi[MH_HCAL_NCHANNELS];
} towers_scratch;

static const mh_param_def towers_params[] = {
    {"rechits", MH_PARAM_STRING, "hbheReco", "label of the HCAL reconstruction module"},
    {"hitThreshold", MH_PARAM_DOUBLE, "0.5",
     "GeV; hits below are left out of the towers (noise and pileup suppression)"},
};

static void tower_centre(void *ctx, int ieta, int iphi, float *eta, float *phi)
{
    (void)ctx;
    const mh_hcal_tower *t = mh_hcal_tower_at((uint32_t)mh_hcal_tower_index(ieta, iphi));
    *eta = t ? t->eta : 0.0f;
    *phi = t ? t->phi : 0.0f;
}

static mh_status towers_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                               void **out, char *err, size_t errlen)
{
    static const calo_desc d = {"rechits", MH_HCAL_RECHITS_TYPE, MH_CALO_TOWERS_TYPE,
                                sizeof(towers_scratch), {"hitThreshold", NULL, NULL}};
    return calo_create(&d, host, ctx, params, out, err, errlen);
}

static mh_status towers_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const calo_mod *self = vself;
    const void *p = NULL;
    mh_status st = get_input(self, ev, MH_HCAL_RECHITS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_hcal_rechits *r = p;
    towers_scratch *ws = stream_scratch(self, ev);
    if (ws == NULL)
        return mh_fail(err, errlen, MH_INTERNAL, "stream %u unknown", self->host->event_stream(ev));
    if (r->n > MH_HCAL_NCHANNELS)
        return mh_fail(err, errlen, MH_INVALID, "%u rechits for %u channels", r->n,
                       MH_HCAL_NCHANNELS);
    for (uint32_t i = 0; i < r->n; i++) {
        const mh_hcal_cell *cell = mh_hcal_cell_at(r->channel[i]);
        if (cell == NULL)
            return mh_fail(err, errlen, MH_INVALID, "rechit %u: channel %u outside the geometry",
                           i, r->channel[i]);
        ws->ieta[i] = cell->ieta;
        ws->iphi[i] = cell->iphi;
    }
    uint32_t cap = r->n < MH_HCAL_NTOWERS ? r->n : MH_HCAL_NTOWERS;
    mh_calo_towers *t = mh_calo_towers_create(cap);
    if (t == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u towers", cap);
    size_t nt = 0;
    st = mh_calo_sum_towers(ws->ieta, ws->iphi, r->energy, r->n, (float)self->a, tower_centre,
                            NULL, ws->grid, cap, t->ieta, t->iphi, t->eta, t->phi, t->e, t->et,
                            &nt, err, errlen);
    if (st != MH_OK) {
        mh_hcal_product_free(t);
        return st;
    }
    t->n = (uint32_t)nt;
    return self->host->put(ev, "", MH_CALO_TOWERS_TYPE, t, mh_hcal_product_free, err, errlen);
}

/* ---- calo_jets ----------------------------------------------------------- */

static const mh_param_def jets_params[] = {
    {"towers", MH_PARAM_STRING, "hltTowers", "label of the calo_towers module"},
    {"R", MH_PARAM_DOUBLE, "0.4", "anti-kt radius"},
    {"ptMin", MH_PARAM_DOUBLE, "10", "GeV; jets below are not kept"},
    {"towerEtMin", MH_PARAM_DOUBLE, "0.3", "GeV; towers below are not clustered"},
    {"jetScale", MH_PARAM_DOUBLE, "1",
     "flat jet energy correction: jet pt, e and mass are multiplied by it (ptMin applies after)"},
};

static mh_status jets_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                             void **out, char *err, size_t errlen)
{
    static const calo_desc d = {"towers", MH_CALO_TOWERS_TYPE, MH_CALO_JETS_TYPE,
                                (sizeof(mh_jet) + sizeof(float)) * MH_HCAL_NTOWERS,
                                {"R", "ptMin", "towerEtMin"}};
    mh_status st = calo_create(&d, host, ctx, params, out, err, errlen);
    calo_mod *self = *out;
    if (st != MH_OK)
        return st;
    if (!(self->a > 0.05 && self->a <= 2.0))
        return mh_fail(err, errlen, MH_PARAM, "R: %g outside (0.05, 2]", self->a);
    self->scale = host->param_double(params, "jetScale");
    if (!(self->scale > 0 && self->scale <= 10))
        return mh_fail(err, errlen, MH_PARAM, "jetScale: %g outside (0, 10]", self->scale);
    return MH_OK;
}

static mh_status jets_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const calo_mod *self = vself;
    const void *p = NULL;
    mh_status st = get_input(self, ev, MH_CALO_TOWERS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_calo_towers *t = p;
    char *ws = stream_scratch(self, ev);
    if (ws == NULL || t->n > MH_HCAL_NTOWERS)
        return mh_fail(err, errlen, MH_INTERNAL, "bad stream or %u towers", t->n);
    mh_jet *jets = (mh_jet *)ws;
    float *et = (float *)(ws + sizeof(mh_jet) * MH_HCAL_NTOWERS);
    /* Towers under towerEtMin get zero Et, which anti-kt ignores. */
    for (uint32_t i = 0; i < t->n; i++)
        et[i] = t->et[i] >= self->c ? t->et[i] : 0.0f;
    size_t nj = 0;
    st = mh_antikt(et, t->eta, t->phi, t->n, self->a, self->b / self->scale, jets,
                   MH_HCAL_NTOWERS, &nj);
    if (st != MH_OK)
        return mh_fail(err, errlen, st, "anti-kt on %u towers failed", t->n);
    if (nj > MH_HCAL_NTOWERS)
        nj = MH_HCAL_NTOWERS;
    for (size_t i = 0; i < nj; i++) {
        jets[i].pt *= (float)self->scale;
        jets[i].e *= (float)self->scale;
        jets[i].mass *= (float)self->scale;
    }
    mh_calo_jets *out = mh_calo_jets_create((uint32_t)nj);
    if (out == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for %zu jets", nj);
    out->R = (float)self->a;
    memcpy(out->jets, jets, nj * sizeof *jets);
    return self->host->put(ev, "", MH_CALO_JETS_TYPE, out, mh_hcal_product_free, err, errlen);
}

/* ---- calo_met ------------------------------------------------------------ */

static const mh_param_def met_params[] = {
    {"towers", MH_PARAM_STRING, "hltTowers", "label of the calo_towers module"},
    {"towerEtMin", MH_PARAM_DOUBLE, "0.3", "GeV; towers below are left out"},
};

static mh_status met_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                            void **out, char *err, size_t errlen)
{
    static const calo_desc d = {"towers", MH_CALO_TOWERS_TYPE, MH_CALO_MET_TYPE,
                                sizeof(float) * MH_HCAL_NTOWERS, {"towerEtMin", NULL, NULL}};
    return calo_create(&d, host, ctx, params, out, err, errlen);
}

static mh_status met_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const calo_mod *self = vself;
    const void *p = NULL;
    mh_status st = get_input(self, ev, MH_CALO_TOWERS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_calo_towers *t = p;
    float *et = stream_scratch(self, ev);
    if (et == NULL || t->n > MH_HCAL_NTOWERS)
        return mh_fail(err, errlen, MH_INTERNAL, "bad stream or %u towers", t->n);
    double sumet = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        et[i] = t->et[i] >= self->a ? t->et[i] : 0.0f;
        sumet += et[i];
    }
    mh_calo_met *m = calloc(1, sizeof *m);
    if (m == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    mh_met(et, t->phi, t->n, &m->met, &m->phi);
    m->sumet = (float)sumet;
    return self->host->put(ev, "", MH_CALO_MET_TYPE, m, mh_hcal_product_free, err, errlen);
}

/* ---- calo_ht ------------------------------------------------------------- */

static const mh_param_def ht_params[] = {
    {"jets", MH_PARAM_STRING, "hltAK4Jets", "label of the calo_jets module"},
    {"ptMin", MH_PARAM_DOUBLE, "30", "GeV; jets counted in HT and MHT"},
    {"etaMax", MH_PARAM_DOUBLE, "2.5", "|eta| of jets counted"},
};

static mh_status ht_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                           void **out, char *err, size_t errlen)
{
    static const calo_desc d = {"jets", MH_CALO_JETS_TYPE, MH_CALO_HT_TYPE, 0,
                                {"ptMin", "etaMax", NULL}};
    return calo_create(&d, host, ctx, params, out, err, errlen);
}

static mh_status ht_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const calo_mod *self = vself;
    const void *p = NULL;
    mh_status st = get_input(self, ev, MH_CALO_JETS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_calo_jets *j = p;
    mh_calo_ht *h = calloc(1, sizeof *h);
    if (h == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    h->ht = mh_ht(j->jets, j->n, (float)self->a, (float)self->b);
    /* MHT: minus the vector sum of the same jets. */
    double sx = 0, sy = 0;
    for (uint32_t i = 0; i < j->n; i++) {
        const mh_jet *jet = &j->jets[i];
        if (jet->pt >= self->a && fabsf(jet->eta) <= self->b) {
            sx -= jet->pt * cos(jet->phi);
            sy -= jet->pt * sin(jet->phi);
            h->njets++;
        }
    }
    h->mht = (float)hypot(sx, sy);
    h->mht_phi = (float)((sx == 0 && sy == 0) ? 0.0 : atan2(sy, sx));
    return self->host->put(ev, "", MH_CALO_HT_TYPE, h, mh_hcal_product_free, err, errlen);
}

/* ---- filters ------------------------------------------------------------- */

static const mh_param_def jetf_params[] = {
    {"jets", MH_PARAM_STRING, "hltAK4Jets", "label of the calo_jets module"},
    {"minPt", MH_PARAM_DOUBLE, "40", "GeV"},
    {"maxEta", MH_PARAM_DOUBLE, "2.6", "|eta| at most"},
    {"minN", MH_PARAM_INT, "1", "jets needed"},
};

static mh_status jetf_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                             void **out, char *err, size_t errlen)
{
    static const calo_desc d = {"jets", MH_CALO_JETS_TYPE, NULL, 0, {"minPt", "maxEta", NULL}};
    mh_status st = calo_create(&d, host, ctx, params, out, err, errlen);
    calo_mod *self = *out;
    if (st != MH_OK)
        return st;
    self->n = host->param_int(params, "minN");
    if (self->n < 1 || self->n > 100)
        return mh_fail(err, errlen, MH_PARAM, "minN: %lld outside 1..100", (long long)self->n);
    return MH_OK;
}

static mh_status jetf_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const calo_mod *self = vself;
    const void *p = NULL;
    mh_status st = get_input(self, ev, MH_CALO_JETS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_calo_jets *j = p;
    int64_t n = 0;
    for (uint32_t i = 0; i < j->n; i++)
        if (j->jets[i].pt >= self->a && fabsf(j->jets[i].eta) <= self->b)
            n++;
    self->host->set_pass(ev, n >= self->n);
    return MH_OK;
}

static const mh_param_def htf_params[] = {
    {"ht", MH_PARAM_STRING, "hltHt", "label of the calo_ht module"},
    {"minHT", MH_PARAM_DOUBLE, "0", "GeV; pass if HT >= minHT"},
    {"minMHT", MH_PARAM_DOUBLE, "0", "GeV; and MHT >= minMHT"},
};

static mh_status htf_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                            void **out, char *err, size_t errlen)
{
    static const calo_desc d = {"ht", MH_CALO_HT_TYPE, NULL, 0, {"minHT", "minMHT", NULL}};
    return calo_create(&d, host, ctx, params, out, err, errlen);
}

static mh_status htf_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const calo_mod *self = vself;
    const void *p = NULL;
    mh_status st = get_input(self, ev, MH_CALO_HT_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_calo_ht *h = p;
    self->host->set_pass(ev, h->ht >= self->a && h->mht >= self->b);
    return MH_OK;
}

static const mh_param_def metf_params[] = {
    {"met", MH_PARAM_STRING, "hltMet", "label of the calo_met module"},
    {"minMET", MH_PARAM_DOUBLE, "0", "GeV; pass if MET >= minMET"},
};

static mh_status metf_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                             void **out, char *err, size_t errlen)
{
    static const calo_desc d = {"met", MH_CALO_MET_TYPE, NULL, 0, {"minMET", NULL, NULL}};
    return calo_create(&d, host, ctx, params, out, err, errlen);
}

static mh_status metf_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const calo_mod *self = vself;
    const void *p = NULL;
    mh_status st = get_input(self, ev, MH_CALO_MET_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_calo_met *m = p;
    self->host->set_pass(ev, m->met >= self->a);
    return MH_OK;
}

/* ---- the plugin ------------------------------------------------------------ */

#define CALO_TYPE(var, tname, thelp, tkind, tparams, tcreate, tproduce)                       \
    static const mh_module_type var = {                                                     \
        .abi_version = MH_MODULE_ABI_VERSION,                                               \
        .struct_size = sizeof(mh_module_type),                                              \
        .name = tname,                                                                      \
        .help = thelp,                                                                      \
        .kind = tkind,                                                                      \
        .params = tparams,                                                                  \
        .n_params = sizeof tparams / sizeof tparams[0],                                     \
        .create = tcreate,                                                                  \
        .acquire = NULL,                                                                    \
        .produce = tproduce,                                                                \
        .end_job = NULL,                                                                    \
        .destroy = calo_destroy,                                                            \
    }

CALO_TYPE(towers_type, "calo_towers", "HBHE rechits -> calorimeter towers (sum over depths)",
          MH_KIND_PRODUCER, towers_params, towers_create, towers_produce);
CALO_TYPE(jets_type, "calo_jets", "towers -> anti-kt jets", MH_KIND_PRODUCER, jets_params,
          jets_create, jets_produce);
CALO_TYPE(met_type, "calo_met", "towers -> missing transverse energy", MH_KIND_PRODUCER,
          met_params, met_create, met_produce);
CALO_TYPE(ht_type, "calo_ht", "jets -> HT and MHT", MH_KIND_PRODUCER, ht_params, ht_create,
          ht_produce);
CALO_TYPE(jetf_type, "calo_jet_filter", "pass if at least minN jets have pt >= minPt, |eta| <= maxEta",
          MH_KIND_FILTER, jetf_params, jetf_create, jetf_produce);
CALO_TYPE(htf_type, "calo_ht_filter", "pass if HT >= minHT and MHT >= minMHT", MH_KIND_FILTER,
          htf_params, htf_create, htf_produce);
CALO_TYPE(metf_type, "calo_met_filter", "pass if MET >= minMET", MH_KIND_FILTER, metf_params,
          metf_create, metf_produce);

static const mh_module_type *const calo_types[] = {&towers_type, &jets_type, &met_type, &ht_type,
                                                   &jetf_type,   &htf_type,  &metf_type};

MH_DEFINE_PLUGIN("calo",
                 "calorimeter towers, anti-kt jets, MET, HT and their filters",
                 calo_types);
