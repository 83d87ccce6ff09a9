/* hcal_facile.c - module type `hcal_facile`: the FACILE network on the CPU
 * (sim/ml mh_facile.h), digis -> rechits.
 *
 * Per event: the 46 features of every channel are built by
 * mh_facile_features (the one place every backend gets them from) and the
 * whole event goes through one batched forward pass. Feature matrix and
 * forward workspace are per stream (one event per stream is in flight), so
 * the module takes no lock and allocates only when an event is larger than
 * any before it on that stream. */
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "hcal/mh_hcal_products.h"
#include "ml/mh_facile.h"

typedef struct facile_stream {
    float *feat;   /* cap x MH_FACILE_NFEAT */
    size_t cap;    /* rows */
    void *work;    /* mh_facile_workspace_size() bytes */
} facile_stream;

typedef struct facile_mod {
    const mh_host *host;
    const char *digis;
    mh_facile *model;
    size_t first_ts;
    size_t work_size;
    unsigned nstreams;
    facile_stream *streams;
} facile_mod;

static const mh_param_def facile_params[] = {
    {"digis", MH_PARAM_STRING, "hbheDigis", "label of the hcal_unpack module"},
    {"model", MH_PARAM_STRING, "data/models/facile",
     "model repository directory (config.yaml + VERSION/weights.bin); relative to the "
     "current directory"},
    {"version", MH_PARAM_INT, "1", "model version (subdirectory)"},
    {"firstSample", MH_PARAM_INT, "0",
     "first digi sample of the 8 charges fed to the network (as MAHI's; must match training)"},
};

static void facile_destroy(void *vself)
{
    facile_mod *self = vself;
    if (self == NULL)
        return;
    if (self->streams != NULL)
        for (unsigned s = 0; s < self->nstreams; s++) {
            free(self->streams[s].feat);
            free(self->streams[s].work);
        }
    free(self->streams);
    mh_facile_free(self->model);
    free(self);
}

static mh_status facile_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                               void **out, char *err, size_t errlen)
{
    mh_status st;
    facile_mod *self = calloc(1, sizeof *self);
    *out = self;
    if (self == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    self->host = host;
    self->digis = host->param_string(params, "digis");
    int64_t version = host->param_int(params, "version");
    int64_t first = host->param_int(params, "firstSample");
    if (version < 1 || version > 1000000)
        return mh_fail(err, errlen, MH_PARAM, "version: %lld is not a model version (1..)",
                       (long long)version);
    if (first < 0 || first > MH_HCAL_PROD_NTS - MH_FACILE_NTS)
        return mh_fail(err, errlen, MH_PARAM, "firstSample: %lld outside 0..%d",
                       (long long)first, MH_HCAL_PROD_NTS - MH_FACILE_NTS);
    self->first_ts = (size_t)first;
    const char *dir = host->param_string(params, "model");
    st = mh_facile_load(dir, (unsigned)version, &self->model, err, errlen);
    if (st != MH_OK)
        return mh_fail_prefix(err, errlen, st, "model: ");
    if (mh_facile_num_inputs(self->model) != MH_FACILE_NFEAT ||
        mh_facile_num_outputs(self->model) != 1)
        return mh_fail(err, errlen, MH_PARAM,
                       "model: %s takes %zu inputs and gives %zu outputs; FACILE needs %d and 1",
                       dir, mh_facile_num_inputs(self->model),
                       mh_facile_num_outputs(self->model), MH_FACILE_NFEAT);
    self->work_size = mh_facile_workspace_size(self->model);
    self->nstreams = host->n_streams(ctx);
    if (self->nstreams == 0)
        self->nstreams = 1;
    self->streams = calloc(self->nstreams, sizeof *self->streams);
    if (self->streams == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (unsigned s = 0; s < self->nstreams; s++) {
        self->streams[s].work = malloc(self->work_size ? self->work_size : 1);
        if (self->streams[s].work == NULL)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    st = host->consumes(ctx, self->digis, "", MH_HCAL_DIGIS_TYPE, err, errlen);
    if (st != MH_OK)
        return st;
    return host->produces(ctx, "", MH_HCAL_RECHITS_TYPE, err, errlen);
}

static mh_status facile_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    facile_mod *self = vself;
    const mh_host *host = self->host;
    const void *p = NULL;
    mh_status st = host->get(ev, self->digis, "", MH_HCAL_DIGIS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_hcal_digis *d = p;
    unsigned s = host->event_stream(ev);
    if (s >= self->nstreams)
        return mh_fail(err, errlen, MH_INTERNAL, "stream %u of %u", s, self->nstreams);
    facile_stream *fs = &self->streams[s];
    if (d->n > fs->cap) {
        float *f = realloc(fs->feat, (size_t)d->n * MH_FACILE_NFEAT * sizeof *f);
        if (f == NULL)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u channels", d->n);
        fs->feat = f;
        fs->cap = d->n;
    }
    st = mh_facile_features(d->charge_fc, d->nsamples, self->first_ts, d->gain, d->ieta, d->iphi,
                            d->depth, d->n, fs->feat, err, errlen);
    if (st != MH_OK)
        return st;
    mh_hcal_rechits *r = mh_hcal_rechits_create(d->n, "facile");
    if (r == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u rechits", d->n);
    memcpy(r->channel, d->channel, (size_t)d->n * sizeof *r->channel);
    memset(r->flags, MH_HCAL_RH_FITTED, d->n);
    st = mh_facile_forward(self->model, fs->feat, d->n, r->energy, fs->work, self->work_size, err,
                           errlen);
    if (st != MH_OK) {
        mh_hcal_product_free(r);
        return st;
    }
    host->count(ev, "channels", d->n);
    return host->put(ev, "", MH_HCAL_RECHITS_TYPE, r, mh_hcal_product_free, err, errlen);
}

static const mh_module_type facile_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "hcal_facile",
    .help = "HBHE reconstruction with the FACILE network on the CPU, digis -> rechits",
    .kind = MH_KIND_PRODUCER,
    .params = facile_params,
    .n_params = sizeof facile_params / sizeof facile_params[0],
    .create = facile_create,
    .acquire = NULL,
    .produce = facile_produce,
    .end_job = NULL,
    .destroy = facile_destroy,
};

static const mh_module_type *const facile_types[] = {&facile_type};

MH_DEFINE_PLUGIN("hcal_facile",
                 "FACILE dense network for HBHE energy (CPU forward pass)",
                 facile_types);
