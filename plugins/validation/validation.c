/* validation.c - module type `validation`: the physics validation end-path
 * module, the one module of a menu that reads the simulated truth.
 *
 * Per event it fills (sim/calo mh_calo_valid.h distributions, one set per
 * stream, merged at the end):
 *   channel_response   rechit energy / true in-time energy, in bins of the
 *                      true in-time energy of the channel
 *   oot_leakage        rechit energy (GeV) of channels with no in-time
 *                      energy (< 0.05 GeV), in bins of their out-of-time
 *                      energy: how well the reconstruction rejects pileup
 *                      from other bunch crossings
 *   event_response     summed rechit energy / summed true in-time energy
 *   jet_response       reco jet pt / gen jet pt for gen jets matched within
 *                      matchDR, in bins of gen pt; and the matching
 *                      efficiency per bin
 *   met                reco MET - gen MET in bins of gen MET, and
 *   met_xy             reco - gen MET_x and MET_y in bins of the summed Et
 *   paths              accept counts and rates of every path
 * and at the end puts them into the report section "validation" (JSON,
 * schema in plugins/README.md) and a few lines of text.
 *
 * With `dump: FILE` it also writes, for every channel (or one in
 * dumpPrescale, chosen by a hash of event and channel so that the choice
 * is reproducible; but every channel with at least dumpKeepAbove GeV of
 * true energy), the 46 FACILE features of sim/ml followed by the true
 * in-time energy: rows of 47 float32, little-endian. This is the training
 * input of scripts/train_facile.py (--raw FILE). */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calo/mh_calo.h"
#include "calo/mh_calo_valid.h"
#include "core/mh_module.h"
#include "hcal/mh_hcal.h"
#include "hcal/mh_hcal_products.h"
#include "io/mh_rawevent.h"
#include "ml/mh_facile.h"

#define VAL_MAXPATHS 64
#define VAL_NOINTIME_GEV 0.05

typedef struct vstream {
    mh_binned chan, oot, evsum, jet, met, metxy;
    uint64_t jet_gen[MH_BINNED_MAXBINS], jet_matched[MH_BINNED_MAXBINS];
    uint64_t events;
    uint64_t path_acc[VAL_MAXPATHS];
    uint32_t *map_stamp; /* [MH_HCAL_NCHANNELS] channel -> raw digi, when not aligned */
    uint32_t *map_idx;
    uint32_t stamp;
    float *feat;         /* dump: n x 46 features, then n x 47 rows */
    size_t feat_cap;
    long *match;
    size_t match_cap;
} vstream;

typedef struct vmod {
    const mh_host *host;
    mh_module_ctx *ctx;
    const char *rechits, *jets, *met, *digis;
    double gen_pt_min, gen_eta_max, match_dr;
    unsigned nstreams;
    vstream *streams;
    char algo[24];
    pthread_mutex_t lock;  /* guards paths[], algo and the dump file */
    int lock_ok;
    size_t npaths;
    char *paths[VAL_MAXPATHS];
    FILE *dump;
    const char *dump_path;
    int64_t dump_prescale;
    double dump_keep_above;
    size_t first_ts;
    uint64_t dump_rows;
} vmod;

static const mh_param_def val_params[] = {
    {"rechits", MH_PARAM_STRING, "hbheReco", "label of the HCAL reconstruction module"},
    {"jets", MH_PARAM_STRING, "hltAK4Jets", "label of the calo_jets module"},
    {"met", MH_PARAM_STRING, "hltMet", "label of the calo_met module"},
    {"digis", MH_PARAM_STRING, "hbheDigis", "label of the hcal_unpack module (for dump)"},
    {"genJetPtMin", MH_PARAM_DOUBLE, "20", "GeV; generator jets below are not used"},
    {"genJetEtaMax", MH_PARAM_DOUBLE, "2.5", "|eta| of generator jets used"},
    {"matchDR", MH_PARAM_DOUBLE, "0.2", "delta R for reco to gen jet matching"},
    {"dump", MH_PARAM_STRING, "", "write FACILE features + true energy rows to this file"},
    {"dumpPrescale", MH_PARAM_INT, "1", "dump one channel in N (hash of event and channel)"},
    {"dumpFirstSample", MH_PARAM_INT, "0", "first digi sample of the dumped charges"},
    {"dumpKeepAbove", MH_PARAM_DOUBLE, "0",
     "GeV; channels with at least this true in-time energy are dumped whatever the "
     "prescale (0: off), so that the rare high-energy channels are not thinned out"},
};

/* Binnings. Edges are GeV. */
static const double chan_edges[] = {0.5, 1, 2, 5, 10, 20, 50, 100, 200, 1000};
static const double oot_edges[] = {0.5, 2, 5, 20, 100, 1000};
static const double evsum_edges[] = {0, 200, 400, 800, 1600, 3200, 10000};
static const double jet_edges[] = {20, 30, 40, 60, 80, 120, 200, 300, 500, 1000, 7000};
static const double met_edges[] = {0, 20, 40, 60, 100, 150, 250, 500, 7000};
static const double metxy_edges[] = {0, 200, 400, 800, 1600, 3200, 100000};
#define NB(a) (sizeof(a) / sizeof(a)[0] - 1)

static void val_destroy(void *vself)
{
    vmod *self = vself;
    if (self == NULL)
        return;
    if (self->streams != NULL)
        for (unsigned s = 0; s < self->nstreams; s++) {
            free(self->streams[s].map_stamp);
            free(self->streams[s].map_idx);
            free(self->streams[s].feat);
            free(self->streams[s].match);
        }
    free(self->streams);
    for (size_t i = 0; i < self->npaths; i++)
        free(self->paths[i]);
    if (self->dump != NULL)
        fclose(self->dump);
    if (self->lock_ok)
        pthread_mutex_destroy(&self->lock);
    free(self);
}

static mh_status stream_init(vstream *vs, char *err, size_t errlen)
{
    mh_status st = mh_binned_init(&vs->chan, chan_edges, NB(chan_edges), 0.0, 3.0, err, errlen);
    if (st == MH_OK)
        st = mh_binned_init(&vs->oot, oot_edges, NB(oot_edges), 0.0, 12.0, err, errlen);
    if (st == MH_OK)
        st = mh_binned_init(&vs->evsum, evsum_edges, NB(evsum_edges), 0.0, 3.0, err, errlen);
    if (st == MH_OK)
        st = mh_binned_init(&vs->jet, jet_edges, NB(jet_edges), 0.0, 3.0, err, errlen);
    if (st == MH_OK)
        st = mh_binned_init(&vs->met, met_edges, NB(met_edges), -300.0, 300.0, err, errlen);
    if (st == MH_OK)
        st = mh_binned_init(&vs->metxy, metxy_edges, NB(metxy_edges), -300.0, 300.0, err,
                            errlen);
    if (st != MH_OK)
        return st;
    vs->map_stamp = calloc(MH_HCAL_NCHANNELS, sizeof *vs->map_stamp);
    vs->map_idx = calloc(MH_HCAL_NCHANNELS, sizeof *vs->map_idx);
    if (vs->map_stamp == NULL || vs->map_idx == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    return MH_OK;
}

static mh_status val_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                            void **out, char *err, size_t errlen)
{
    mh_status st;
    vmod *self = calloc(1, sizeof *self);
    *out = self;
    if (self == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    self->host = host;
    self->ctx = ctx;
    if (pthread_mutex_init(&self->lock, NULL) != 0)
        return mh_fail(err, errlen, MH_INTERNAL, "pthread_mutex_init failed");
    self->lock_ok = 1;
    self->rechits = host->param_string(params, "rechits");
    self->jets = host->param_string(params, "jets");
    self->met = host->param_string(params, "met");
    self->digis = host->param_string(params, "digis");
    self->gen_pt_min = host->param_double(params, "genJetPtMin");
    self->gen_eta_max = host->param_double(params, "genJetEtaMax");
    self->match_dr = host->param_double(params, "matchDR");
    if (!(self->match_dr > 0 && self->match_dr < 2))
        return mh_fail(err, errlen, MH_PARAM, "matchDR: %g outside (0, 2)", self->match_dr);
    self->dump_path = host->param_string(params, "dump");
    self->dump_prescale = host->param_int(params, "dumpPrescale");
    self->dump_keep_above = host->param_double(params, "dumpKeepAbove");
    int64_t first = host->param_int(params, "dumpFirstSample");
    if (self->dump_prescale < 1)
        return mh_fail(err, errlen, MH_PARAM, "dumpPrescale: %lld must be >= 1",
                       (long long)self->dump_prescale);
    if (first < 0 || first > MH_HCAL_PROD_NTS - MH_FACILE_NTS)
        return mh_fail(err, errlen, MH_PARAM, "dumpFirstSample: %lld outside 0..%d",
                       (long long)first, MH_HCAL_PROD_NTS - MH_FACILE_NTS);
    self->first_ts = (size_t)first;
    if (self->dump_path[0] != '\0') {
        self->dump = fopen(self->dump_path, "wb");
        if (self->dump == NULL)
            return mh_fail(err, errlen, MH_IO, "dump: cannot write '%s'", self->dump_path);
    }
    self->nstreams = host->n_streams(ctx);
    if (self->nstreams == 0)
        self->nstreams = 1;
    self->streams = calloc(self->nstreams, sizeof *self->streams);
    if (self->streams == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (unsigned s = 0; s < self->nstreams; s++) {
        st = stream_init(&self->streams[s], err, errlen);
        if (st != MH_OK)
            return st;
    }
    host->reads_truth(ctx);
    st = host->consumes(ctx, self->rechits, "", MH_HCAL_RECHITS_TYPE, err, errlen);
    if (st == MH_OK)
        st = host->consumes(ctx, self->jets, "", MH_CALO_JETS_TYPE, err, errlen);
    if (st == MH_OK)
        st = host->consumes(ctx, self->met, "", MH_CALO_MET_TYPE, err, errlen);
    if (st == MH_OK && self->dump != NULL)
        st = host->consumes(ctx, self->digis, "", MH_HCAL_DIGIS_TYPE, err, errlen);
    return st;
}

/* Index into raw's digis of rechit i: the same row when the products are
 * aligned (the normal case), else found through the channel map. */
static mh_status truth_index(vstream *vs, const mh_rawevent *raw, const mh_hcal_rechits *r,
                             const uint32_t **idx_out, char *err, size_t errlen)
{
    int aligned = r->n == raw->ndigis;
    for (uint32_t i = 0; aligned && i < r->n; i++)
        aligned = r->channel[i] == raw->channel[i];
    if (aligned) {
        *idx_out = NULL;
        return MH_OK;
    }
    uint32_t stamp = ++vs->stamp;
    if (stamp == 0) {
        memset(vs->map_stamp, 0, MH_HCAL_NCHANNELS * sizeof *vs->map_stamp);
        stamp = vs->stamp = 1;
    }
    for (uint32_t i = 0; i < raw->ndigis; i++)
        if (raw->channel[i] < MH_HCAL_NCHANNELS) {
            vs->map_stamp[raw->channel[i]] = stamp;
            vs->map_idx[raw->channel[i]] = i;
        }
    for (uint32_t i = 0; i < r->n; i++)
        if (r->channel[i] >= MH_HCAL_NCHANNELS || vs->map_stamp[r->channel[i]] != stamp)
            return mh_fail(err, errlen, MH_INVALID, "rechit %u: channel %u has no digi", i,
                           r->channel[i]);
    *idx_out = vs->map_idx;
    return MH_OK;
}

static void fill_channels(vstream *vs, const mh_rawevent *raw, const mh_hcal_rechits *r,
                          const uint32_t *map)
{
    double sreco = 0, strue = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        uint32_t k = map ? map[r->channel[i]] : i;
        double t = raw->true_e_intime[k], e = r->energy[i];
        sreco += e;
        strue += t;
        if (t > 0)
            mh_binned_fill(&vs->chan, t, e / t);
        if (t < VAL_NOINTIME_GEV)
            mh_binned_fill(&vs->oot, raw->true_e_oot[k], e);
    }
    if (strue > 0)
        mh_binned_fill(&vs->evsum, strue, sreco / strue);
}

static mh_status fill_jets(const vmod *self, vstream *vs, const mh_rawevent *raw,
                           const mh_calo_jets *j, char *err, size_t errlen)
{
    if (raw->ngenjets > vs->match_cap) {
        long *m = realloc(vs->match, raw->ngenjets * sizeof *m);
        if (m == NULL)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        vs->match = m;
        vs->match_cap = raw->ngenjets;
    }
    if (raw->ngenjets == 0)
        return MH_OK;
    mh_calo_match(&raw->genjets[0].eta, &raw->genjets[0].phi, sizeof(mh_genjet), raw->ngenjets,
                  j->n ? &j->jets[0].eta : NULL, j->n ? &j->jets[0].phi : NULL, sizeof(mh_jet),
                  j->n, self->match_dr, vs->match);
    for (uint32_t g = 0; g < raw->ngenjets; g++) {
        const mh_genjet *gj = &raw->genjets[g];
        if (gj->pt < self->gen_pt_min || fabsf(gj->eta) > self->gen_eta_max)
            continue;
        size_t b = 0;
        if (gj->pt < jet_edges[0] || gj->pt >= jet_edges[NB(jet_edges)])
            continue;
        while (gj->pt >= jet_edges[b + 1])
            b++;
        vs->jet_gen[b]++;
        if (vs->match[g] >= 0) {
            vs->jet_matched[b]++;
            mh_binned_fill(&vs->jet, gj->pt, j->jets[vs->match[g]].pt / gj->pt);
        }
    }
    return MH_OK;
}

static void fill_met(vstream *vs, const mh_rawevent *raw, const mh_calo_met *m)
{
    mh_binned_fill(&vs->met, raw->gen_met, m->met - raw->gen_met);
    double dx = m->met * cos(m->phi) - raw->gen_met * cos(raw->gen_met_phi);
    double dy = m->met * sin(m->phi) - raw->gen_met * sin(raw->gen_met_phi);
    mh_binned_fill(&vs->metxy, m->sumet, dx);
    mh_binned_fill(&vs->metxy, m->sumet, dy);
}

/* A reproducible per-channel choice for the dump prescale (splitmix64). */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static mh_status dump_rows(vmod *self, vstream *vs, mh_event *ev, const mh_rawevent *raw,
                           char *err, size_t errlen)
{
    const void *p = NULL;
    mh_status st = self->host->get(ev, self->digis, "", MH_HCAL_DIGIS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_hcal_digis *d = p;
    if (d->n != raw->ndigis)
        return mh_fail(err, errlen, MH_INVALID, "dump: %u digis in the product, %u raw", d->n,
                       raw->ndigis);
    const size_t w = MH_FACILE_NFEAT + 1;
    /* One buffer: the features (n x 46) then the rows written (n x 47). */
    if (d->n > vs->feat_cap) {
        float *f = realloc(vs->feat, (size_t)d->n * (MH_FACILE_NFEAT + w) * sizeof *f);
        if (f == NULL)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        vs->feat = f;
        vs->feat_cap = d->n;
    }
    float *rowbuf = vs->feat + (size_t)d->n * MH_FACILE_NFEAT;
    st = mh_facile_features(d->charge_fc, d->nsamples, self->first_ts, d->gain, d->ieta, d->iphi,
                            d->depth, d->n, vs->feat, err, errlen);
    if (st != MH_OK)
        return st;
    size_t rows = 0;
    for (size_t i = 0; i < d->n; i++) {
        int keep = self->dump_keep_above > 0 && raw->true_e_intime[i] >= self->dump_keep_above;
        if (!keep && self->dump_prescale > 1 &&
            mix(raw->event * 1000003u + d->channel[i]) % (uint64_t)self->dump_prescale != 0)
            continue;
        memcpy(rowbuf + rows * w, vs->feat + i * MH_FACILE_NFEAT, MH_FACILE_NFEAT * sizeof(float));
        rowbuf[rows * w + MH_FACILE_NFEAT] = raw->true_e_intime[i];
        rows++;
    }
    pthread_mutex_lock(&self->lock);
    size_t put = fwrite(rowbuf, sizeof(float) * w, rows, self->dump);
    self->dump_rows += put;
    pthread_mutex_unlock(&self->lock);
    if (put != rows)
        return mh_fail(err, errlen, MH_IO, "dump: write to '%s' failed", self->dump_path);
    return MH_OK;
}

static mh_status val_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    vmod *self = vself;
    const mh_host *host = self->host;
    const mh_rawevent *raw = host->event_raw(ev);
    unsigned s = host->event_stream(ev);
    if (s >= self->nstreams)
        return mh_fail(err, errlen, MH_INTERNAL, "stream %u of %u", s, self->nstreams);
    if (raw->true_e_intime == NULL || raw->true_e_oot == NULL)
        return mh_fail(err, errlen, MH_INVALID, "event %llu has no truth arrays",
                       (unsigned long long)raw->event);
    vstream *vs = &self->streams[s];
    const void *pr = NULL, *pj = NULL, *pm = NULL;
    mh_status st = host->get(ev, self->rechits, "", MH_HCAL_RECHITS_TYPE, &pr, err, errlen);
    if (st == MH_OK)
        st = host->get(ev, self->jets, "", MH_CALO_JETS_TYPE, &pj, err, errlen);
    if (st == MH_OK)
        st = host->get(ev, self->met, "", MH_CALO_MET_TYPE, &pm, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_hcal_rechits *r = pr;
    const uint32_t *map = NULL;
    st = truth_index(vs, raw, r, &map, err, errlen);
    if (st != MH_OK)
        return st;
    fill_channels(vs, raw, r, map);
    st = fill_jets(self, vs, raw, pj, err, errlen);
    if (st != MH_OK)
        return st;
    fill_met(vs, raw, pm);
    vs->events++;
    size_t np = host->n_paths(ev);
    if (np > VAL_MAXPATHS)
        np = VAL_MAXPATHS;
    pthread_mutex_lock(&self->lock);
    if (self->algo[0] == '\0')
        memcpy(self->algo, r->algo, sizeof self->algo);
    for (size_t i = self->npaths; i < np; i++) {
        const char *name = host->path_name(ev, i);
        self->paths[i] = strdup(name ? name : "?");
        if (self->paths[i] == NULL)
            break;
        self->npaths = i + 1;
    }
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < np; i++)
        if (host->path_accepted(ev, i))
            vs->path_acc[i]++;
    if (self->dump != NULL)
        return dump_rows(self, vs, ev, raw, err, errlen);
    return MH_OK;
}

/* ---- end of job: merge, JSON, text ---------------------------------------- */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *stat_json(const mh_binned_stat *st, int ratio)
{
    json_t *o = json_object();
    json_object_set_new(o, "lo", num(st->xlo));
    json_object_set_new(o, "hi", num(st->xhi));
    json_object_set_new(o, "x_mean", num(st->xmean));
    json_object_set_new(o, "n", json_integer((json_int_t)st->n));
    json_object_set_new(o, "mean", num(st->mean));
    json_object_set_new(o, "rms", num(st->rms));
    json_object_set_new(o, "median", num(st->median));
    json_object_set_new(o, "q16", num(st->q16));
    json_object_set_new(o, "q84", num(st->q84));
    json_object_set_new(o, "sigma_eff", num(st->sigma_eff));
    /* For a response, the resolution is the width relative to the scale. */
    if (ratio)
        json_object_set_new(o, "resolution",
                            num(st->n && st->median > 0 ? st->sigma_eff / st->median : NAN));
    return o;
}

static json_t *binned_json(const mh_binned *b, const char *x, const char *y, int ratio)
{
    json_t *o = json_object(), *bins = json_array();
    json_object_set_new(o, "x", json_string(x));
    json_object_set_new(o, "y", json_string(y));
    mh_binned_stat st;
    for (size_t i = 0; i < b->nbins; i++) {
        mh_binned_stat_of(b, i, &st);
        json_array_append_new(bins, stat_json(&st, ratio));
    }
    json_object_set_new(o, "bins", bins);
    mh_binned_stat_all(b, &st);
    json_object_set_new(o, "all", stat_json(&st, ratio));
    return o;
}

static mh_status val_end_job(void *vself, char *err, size_t errlen)
{
    vmod *self = vself;
    mh_status st = MH_OK;
    vstream *t = &self->streams[0];
    for (unsigned s = 1; s < self->nstreams && st == MH_OK; s++) {
        vstream *o = &self->streams[s];
        st = mh_binned_merge(&t->chan, &o->chan, err, errlen);
        if (st == MH_OK)
            st = mh_binned_merge(&t->oot, &o->oot, err, errlen);
        if (st == MH_OK)
            st = mh_binned_merge(&t->evsum, &o->evsum, err, errlen);
        if (st == MH_OK)
            st = mh_binned_merge(&t->jet, &o->jet, err, errlen);
        if (st == MH_OK)
            st = mh_binned_merge(&t->met, &o->met, err, errlen);
        if (st == MH_OK)
            st = mh_binned_merge(&t->metxy, &o->metxy, err, errlen);
        for (size_t b = 0; b < MH_BINNED_MAXBINS; b++) {
            t->jet_gen[b] += o->jet_gen[b];
            t->jet_matched[b] += o->jet_matched[b];
        }
        for (size_t i = 0; i < VAL_MAXPATHS; i++)
            t->path_acc[i] += o->path_acc[i];
        t->events += o->events;
    }
    if (st != MH_OK)
        return st;
    if (self->dump != NULL) {
        int bad = fclose(self->dump) != 0;
        self->dump = NULL;
        if (bad)
            return mh_fail(err, errlen, MH_IO, "dump: closing '%s' failed", self->dump_path);
    }

    json_t *root = json_object();
    json_object_set_new(root, "schema_version", json_integer(1));
    json_object_set_new(root, "algo", json_string(self->algo[0] ? self->algo : "unknown"));
    json_object_set_new(root, "rechits", json_string(self->rechits));
    json_object_set_new(root, "events", json_integer((json_int_t)t->events));
    json_object_set_new(root, "channel_response",
                        binned_json(&t->chan, "true_e_intime_GeV", "reco_over_true", 1));
    json_object_set_new(root, "oot_leakage",
                        binned_json(&t->oot, "true_e_oot_GeV", "reco_GeV", 0));
    json_object_set_new(root, "event_response",
                        binned_json(&t->evsum, "sum_true_e_intime_GeV", "reco_over_true", 1));
    json_t *jr = binned_json(&t->jet, "gen_jet_pt_GeV", "reco_pt_over_gen_pt", 1);
    json_t *eff = json_array();
    for (size_t b = 0; b < t->jet.nbins; b++)
        json_array_append_new(eff, num(t->jet_gen[b] ? (double)t->jet_matched[b] /
                                                           (double)t->jet_gen[b]
                                                     : NAN));
    json_object_set_new(jr, "match_efficiency", eff);
    json_object_set_new(jr, "match_dr", json_real(self->match_dr));
    json_object_set_new(root, "jet_response", jr);
    json_object_set_new(root, "met", binned_json(&t->met, "gen_met_GeV", "reco_minus_gen_GeV", 0));
    json_object_set_new(root, "met_xy",
                        binned_json(&t->metxy, "sumet_GeV", "reco_minus_gen_met_xy_GeV", 0));
    json_t *paths = json_array();
    for (size_t i = 0; i < self->npaths; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "name", json_string(self->paths[i]));
        json_object_set_new(p, "accepted", json_integer((json_int_t)t->path_acc[i]));
        json_object_set_new(p, "rate", num(t->events ? (double)t->path_acc[i] / (double)t->events
                                                     : NAN));
        json_array_append_new(paths, p);
    }
    json_object_set_new(root, "paths", paths);
    if (self->dump_path[0] != '\0') {
        json_object_set_new(root, "dump", json_string(self->dump_path));
        json_object_set_new(root, "dump_rows", json_integer((json_int_t)self->dump_rows));
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (text == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for the validation report");
    st = self->host->report_section(self->ctx, "validation", text, err, errlen);
    free(text);
    if (st != MH_OK)
        return st;

    /* Text summary: the numbers a trigger physicist looks at first. */
    char line[256];
    mh_binned_stat a;
    snprintf(line, sizeof line, "validation (%s, %llu events): channel energy response / resolution "
             "(median, sigma_eff/median) by true in-time energy:",
             self->algo[0] ? self->algo : "unknown", (unsigned long long)t->events);
    self->host->report_text(self->ctx, line);
    for (size_t b = 0; b < t->chan.nbins; b++) {
        mh_binned_stat_of(&t->chan, b, &a);
        if (a.n == 0)
            continue;
        snprintf(line, sizeof line, "  %6.1f-%-6.1f GeV  n %-8llu response %.3f  resolution %.3f",
                 a.xlo, a.xhi, (unsigned long long)a.n, a.median,
                 a.median > 0 ? a.sigma_eff / a.median : NAN);
        self->host->report_text(self->ctx, line);
    }
    mh_binned_stat_all(&t->jet, &a);
    snprintf(line, sizeof line, "  jets: response %.3f resolution %.3f (%llu matched gen jets)",
             a.median, a.median > 0 ? a.sigma_eff / a.median : NAN, (unsigned long long)a.n);
    self->host->report_text(self->ctx, line);
    mh_binned_stat_all(&t->metxy, &a);
    snprintf(line, sizeof line, "  MET: sigma(MET_x,y) %.1f GeV, mean offset %.1f GeV", a.sigma_eff,
             a.mean);
    self->host->report_text(self->ctx, line);
    return MH_OK;
}

static const mh_module_type val_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "validation",
    .help = "physics validation (reads truth): channel, jet and MET response; path rates",
    .kind = MH_KIND_OUTPUT,
    .params = val_params,
    .n_params = sizeof val_params / sizeof val_params[0],
    .create = val_create,
    .acquire = NULL,
    .produce = val_produce,
    .end_job = val_end_job,
    .destroy = val_destroy,
};

static const mh_module_type *const val_types[] = {&val_type};

MH_DEFINE_PLUGIN("validation",
                 "physics validation of the HCAL reconstruction and the calorimeter chain",
                 val_types);
