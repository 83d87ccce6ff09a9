/* hcal_unpack.c - module type `hcal_unpack`: the raw event's HBHE digis into
 * the digi product (sim/hcal/mh_hcal_products.h).
 *
 * Per digi: the QIE11 ADC code of each sample becomes the charge at the
 * centre of its bin minus the channel's pedestal, the bin width is kept for
 * MAHI's quantisation noise, and the channel's gain, pedestal width and fC
 * per photo-electron are copied from the conditions file so that the
 * reconstruction modules need no conditions of their own. The raw data is
 * checked first: a channel id outside the geometry, a duplicated channel,
 * a capacitor id outside 0..3 or not rotating, or a sample-of-interest
 * flag anywhere but TS MH_SOI fails the event with a message naming the
 * digi and the channel (a damaged event must never reach the fit). */
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "hcal/mh_hcal.h"
#include "hcal/mh_hcal_products.h"
#include "io/mh_rawevent.h"

typedef struct unpack {
    const mh_host *host;
    mh_hcal_conditions *cond;
    float fc[MH_QIE11_NCODES];     /* ADC code -> bin centre, fC */
    float width[MH_QIE11_NCODES];  /* ADC code -> bin width, fC */
    unsigned nstreams;
    /* Per stream: for duplicate detection, the stamp of the last event
     * that used each channel (no clearing between events). */
    uint32_t **seen;
    uint32_t *stamp;
} unpack;

static const mh_param_def unpack_params[] = {
    {"conditions", MH_PARAM_STRING, "data/conditions/MH_HBHE_Run3_v1.txt",
     "HBHE conditions file (pedestal, width, gain, fC/pe per channel); relative to the "
     "current directory"},
};

static void unpack_destroy(void *vself)
{
    unpack *self = vself;
    if (self == NULL)
        return;
    if (self->seen != NULL)
        for (unsigned s = 0; s < self->nstreams; s++)
            free(self->seen[s]);
    free(self->seen);
    free(self->stamp);
    mh_hcal_conditions_free(self->cond);
    free(self);
}

static mh_status unpack_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                               void **out, char *err, size_t errlen)
{
    mh_status st;
    unpack *self = calloc(1, sizeof *self);
    *out = self;
    if (self == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    self->host = host;
    const char *path = host->param_string(params, "conditions");
    st = mh_hcal_conditions_load(path, &self->cond, err, errlen);
    if (st != MH_OK)
        return mh_fail_prefix(err, errlen, st, "conditions: ");
    for (int a = 0; a < MH_QIE11_NCODES; a++) {
        self->fc[a] = mh_qie11_fc((uint8_t)a);
        self->width[a] = mh_qie11_bin_width((uint8_t)a);
    }
    self->nstreams = host->n_streams(ctx);
    if (self->nstreams == 0)
        self->nstreams = 1;
    self->seen = calloc(self->nstreams, sizeof *self->seen);
    self->stamp = calloc(self->nstreams, sizeof *self->stamp);
    if (self->seen == NULL || self->stamp == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (unsigned s = 0; s < self->nstreams; s++) {
        self->seen[s] = calloc(MH_HCAL_NCHANNELS, sizeof **self->seen);
        if (self->seen[s] == NULL)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    return host->produces(ctx, "", MH_HCAL_DIGIS_TYPE, err, errlen);
}

/* Checks digi i of raw and fills row i of d. */
static mh_status unpack_one(const unpack *self, const mh_rawevent *raw, uint32_t i,
                            uint32_t *seen, uint32_t stamp, mh_hcal_digis *d, char *err,
                            size_t errlen)
{
    const uint32_t ch = raw->channel[i];
    if (ch >= MH_HCAL_NCHANNELS)
        return mh_fail(err, errlen, MH_CORRUPT,
                       "event %llu digi %u: channel id %u outside 0..%u",
                       (unsigned long long)raw->event, i, ch, MH_HCAL_NCHANNELS - 1);
    if (seen[ch] == stamp)
        return mh_fail(err, errlen, MH_CORRUPT, "event %llu digi %u: channel %u appears twice",
                       (unsigned long long)raw->event, i, ch);
    seen[ch] = stamp;
    const uint8_t *adc = raw->adc + (size_t)i * MH_NSAMPLES;
    const uint8_t *cap = raw->capid + (size_t)i * MH_NSAMPLES;
    const uint8_t *soi = raw->soi + (size_t)i * MH_NSAMPLES;
    for (int k = 0; k < MH_NSAMPLES; k++) {
        if (cap[k] > 3)
            return mh_fail(err, errlen, MH_CORRUPT,
                           "event %llu digi %u (channel %u): capid %u at TS%d outside 0..3",
                           (unsigned long long)raw->event, i, ch, cap[k], k);
        if (cap[k] != mh_qie11_capid(cap[0], k))
            return mh_fail(err, errlen, MH_CORRUPT,
                           "event %llu digi %u (channel %u): capid %u at TS%d, expected %u "
                           "(capids must rotate)",
                           (unsigned long long)raw->event, i, ch, cap[k], k,
                           mh_qie11_capid(cap[0], k));
        if ((soi[k] != 0) != (k == MH_SOI))
            return mh_fail(err, errlen, MH_CORRUPT,
                           "event %llu digi %u (channel %u): SOI flag %u at TS%d (the SOI is TS%d)",
                           (unsigned long long)raw->event, i, ch, soi[k], k, MH_SOI);
    }
    const mh_hcal_cell *cell = mh_hcal_cell_at(ch);
    const float ped = self->cond->pedestal[ch];
    d->channel[i] = ch;
    d->ieta[i] = cell->ieta;
    d->iphi[i] = cell->iphi;
    d->depth[i] = cell->depth;
    float *q = d->charge_fc + (size_t)i * MH_NSAMPLES;
    float *w = d->adc_bin_width + (size_t)i * MH_NSAMPLES;
    for (int k = 0; k < MH_NSAMPLES; k++) {
        q[k] = self->fc[adc[k]] - ped;
        w[k] = self->width[adc[k]];
    }
    memcpy(d->capid + (size_t)i * MH_NSAMPLES, cap, MH_NSAMPLES);
    d->gain[i] = self->cond->gain[ch];
    d->ped_width[i] = self->cond->ped_width[ch];
    d->fc_per_pe[i] = self->cond->fc_per_pe[ch];
    return MH_OK;
}

static mh_status unpack_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    unpack *self = vself;
    const mh_host *host = self->host;
    const mh_rawevent *raw = host->event_raw(ev);
    unsigned s = host->event_stream(ev);
    if (s >= self->nstreams)
        return mh_fail(err, errlen, MH_INTERNAL, "stream %u of %u", s, self->nstreams);
    if (raw->ndigis > MH_HCAL_NCHANNELS)
        return mh_fail(err, errlen, MH_CORRUPT, "event %llu: %u digis for %u channels",
                       (unsigned long long)raw->event, raw->ndigis, MH_HCAL_NCHANNELS);
    mh_hcal_digis *d = mh_hcal_digis_create(raw->ndigis);
    if (d == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u digis", raw->ndigis);
    d->soi = MH_SOI;
    /* Stamps start at 1 so that the zeroed table marks nothing as seen;
     * on wrap-around the table is cleared once. */
    uint32_t stamp = ++self->stamp[s];
    if (stamp == 0) {
        memset(self->seen[s], 0, MH_HCAL_NCHANNELS * sizeof **self->seen);
        stamp = self->stamp[s] = 1;
    }
    for (uint32_t i = 0; i < raw->ndigis; i++) {
        mh_status st = unpack_one(self, raw, i, self->seen[s], stamp, d, err, errlen);
        if (st != MH_OK) {
            mh_hcal_product_free(d);
            return st;
        }
    }
    host->count(ev, "digis", raw->ndigis);
    return host->put(ev, "", MH_HCAL_DIGIS_TYPE, d, mh_hcal_product_free, err, errlen);
}

static const mh_module_type unpack_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "hcal_unpack",
    .help = "HBHE digis -> digi product (ADC to fC minus pedestal, conditions per channel)",
    .kind = MH_KIND_PRODUCER,
    .params = unpack_params,
    .n_params = sizeof unpack_params / sizeof unpack_params[0],
    .create = unpack_create,
    .acquire = NULL,
    .produce = unpack_produce,
    .end_job = NULL,
    .destroy = unpack_destroy,
};

static const mh_module_type *const unpack_types[] = {&unpack_type};

MH_DEFINE_PLUGIN("hcal_unpack",
                 "HCAL HBHE digi unpacker",
                 unpack_types);
