/* hcal_mahi.c - module type `hcal_mahi`: the MAHI pulse fit (sim/hcal
 * mh_mahi.h) on every channel of the digi product, into rechits.
 *
 * Parameters carry CMSSW's names (hbheprereco's MahiFit block), so a menu
 * reads like the CMS configuration; the pulse shape and the QIE11 time
 * slew are sim/hcal's. The fit is stateless and thread-safe, so the module
 * needs no per-stream state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "hcal/mh_hcal.h"
#include "hcal/mh_hcal_products.h"
#include "hcal/mh_mahi.h"

typedef struct mahi_mod {
    const mh_host *host;
    const char *digis;
    mh_mahi_config cfg;
    mh_mahi_pulse *pulse;
} mahi_mod;

static const mh_param_def mahi_params[] = {
    {"digis", MH_PARAM_STRING, "hbheDigis", "label of the hcal_unpack module"},
    {"activeBXs", MH_PARAM_STRING_LIST, "[-3, -2, -1, 0, 1, 2, 3, 4]",
     "bunch crossings fitted (within -3..4, must include 0)"},
    {"nMaxItersMin", MH_PARAM_INT, "50", "maximum outer (covariance) iterations"},
    {"nMaxItersNNLS", MH_PARAM_INT, "500", "maximum NNLS iterations per outer iteration"},
    {"deltaChiSqThresh", MH_PARAM_DOUBLE, "1e-3", "outer loop stops when |delta chi2| is below"},
    {"nnlsThresh", MH_PARAM_DOUBLE, "1e-11", "NNLS stops when the largest gradient is below"},
    {"meanTime", MH_PARAM_DOUBLE, "0", "arrival time of a pulse without slew, ns"},
    {"timeSigmaSiPM", MH_PARAM_DOUBLE, "2.5", "pulse-time uncertainty for the covariance, ns"},
    {"applyTimeSlew", MH_PARAM_BOOL, "true", "delay the in-time pulse by the QIE11 time slew"},
    {"ts4Thresh", MH_PARAM_DOUBLE, "0", "fit only if SOI charge x gain reaches this, GeV"},
    {"firstSample", MH_PARAM_INT, "0", "first digi sample of the 8-sample fit window"},
};

static void mahi_destroy(void *vself)
{
    mahi_mod *self = vself;
    if (self == NULL)
        return;
    free(self->pulse);
    free(self);
}

/* Reads an integer list entry with a range check; names the parameter. */
static mh_status parse_bx(const char *s, int32_t *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (s == NULL || end == s || *end != '\0' || errno != 0 || v < MH_MAHI_BXMIN ||
        v > MH_MAHI_BXMAX)
        return mh_fail(err, errlen, MH_PARAM, "activeBXs: '%s' is not an integer in %d..%d",
                       s ? s : "", MH_MAHI_BXMIN, MH_MAHI_BXMAX);
    *out = (int32_t)v;
    return MH_OK;
}

static mh_status mahi_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                             void **out, char *err, size_t errlen)
{
    mh_status st;
    mahi_mod *self = calloc(1, sizeof *self);
    *out = self;
    if (self == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    self->host = host;
    self->digis = host->param_string(params, "digis");
    mh_mahi_config *c = &self->cfg;
    mh_mahi_config_default(c);
    size_t nbx = host->param_list_size(params, "activeBXs");
    if (nbx < 1 || nbx > MH_MAHI_MAXBX)
        return mh_fail(err, errlen, MH_PARAM, "activeBXs: %zu entries, need 1..%d", nbx,
                       MH_MAHI_MAXBX);
    for (size_t i = 0; i < nbx; i++) {
        st = parse_bx(host->param_list_at(params, "activeBXs", i), &c->activeBXs[i], err,
                      errlen);
        if (st != MH_OK)
            return st;
    }
    c->nActiveBXs = (int32_t)nbx;
    int64_t it = host->param_int(params, "nMaxItersMin");
    int64_t itn = host->param_int(params, "nMaxItersNNLS");
    int64_t first = host->param_int(params, "firstSample");
    if (it < 1 || it > 1000)
        return mh_fail(err, errlen, MH_PARAM, "nMaxItersMin: %lld outside 1..1000", (long long)it);
    if (itn < 1 || itn > 100000)
        return mh_fail(err, errlen, MH_PARAM, "nMaxItersNNLS: %lld outside 1..100000",
                       (long long)itn);
    if (first < 0 || first > MH_MAHI_NTS - MH_MAHI_NFIT)
        return mh_fail(err, errlen, MH_PARAM, "firstSample: %lld outside 0..%d",
                       (long long)first, MH_MAHI_NTS - MH_MAHI_NFIT);
    c->nMaxItersMin = (int32_t)it;
    c->nMaxItersNNLS = (int32_t)itn;
    c->firstSample = (int32_t)first;
    c->deltaChiSqThresh = (float)host->param_double(params, "deltaChiSqThresh");
    c->nnlsThresh = (float)host->param_double(params, "nnlsThresh");
    c->meanTime = (float)host->param_double(params, "meanTime");
    c->timeSigma = (float)host->param_double(params, "timeSigmaSiPM");
    c->applyTimeSlew = host->param_bool(params, "applyTimeSlew") ? 1 : 0;
    c->ts4Thresh = (float)host->param_double(params, "ts4Thresh");
    c->timeSlewTzero = MH_HCAL_SLEW_T0;
    c->timeSlewSlope = MH_HCAL_SLEW_SLOPE;
    c->timeSlewTmax = MH_HCAL_SLEW_TMAX;
    c->soi = MH_SOI;
    self->pulse = malloc(sizeof *self->pulse);
    if (self->pulse == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    st = mh_hcal_pulse_mahi_table(self->pulse, err, errlen);
    if (st != MH_OK)
        return st;
    /* The check names the offending parameter with CMSSW's name. */
    st = mh_mahi_config_check(c, self->pulse, err, errlen);
    if (st != MH_OK)
        return st;
    st = host->consumes(ctx, self->digis, "", MH_HCAL_DIGIS_TYPE, err, errlen);
    if (st != MH_OK)
        return st;
    return host->produces(ctx, "", MH_HCAL_RECHITS_TYPE, err, errlen);
}

static mh_status mahi_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    const mahi_mod *self = vself;
    const mh_host *host = self->host;
    const void *p = NULL;
    mh_status st = host->get(ev, self->digis, "", MH_HCAL_DIGIS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    const mh_hcal_digis *d = p;
    if (d->nsamples != MH_MAHI_NTS || d->soi != (uint32_t)self->cfg.soi)
        return mh_fail(err, errlen, MH_INVALID, "digis have %u samples with SOI TS%u; MAHI "
                       "needs %d with SOI TS%d", d->nsamples, d->soi, MH_MAHI_NTS,
                       (int)self->cfg.soi);
    mh_hcal_rechits *r = mh_hcal_rechits_create(d->n, "mahi");
    if (r == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u rechits", d->n);
    r->has_chi2 = 1;
    r->has_oot = 1;
    memcpy(r->channel, d->channel, (size_t)d->n * sizeof *r->channel);
    mh_mahi_fit_batch(&self->cfg, self->pulse, d->charge_fc, d->adc_bin_width, d->ped_width,
                      d->gain, d->fc_per_pe, d->n, r->energy, r->chi2, r->oot, r->flags);
    host->count(ev, "channels", d->n);
    return host->put(ev, "", MH_HCAL_RECHITS_TYPE, r, mh_hcal_product_free, err, errlen);
}

static const mh_module_type mahi_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "hcal_mahi",
    .help = "HBHE reconstruction with the MAHI pulse fit (CPU), digis -> rechits",
    .kind = MH_KIND_PRODUCER,
    .params = mahi_params,
    .n_params = sizeof mahi_params / sizeof mahi_params[0],
    .create = mahi_create,
    .acquire = NULL,
    .produce = mahi_produce,
    .end_job = NULL,
    .destroy = mahi_destroy,
};

static const mh_module_type *const mahi_types[] = {&mahi_type};

MH_DEFINE_PLUGIN("hcal_mahi",
                 "MAHI pulse fit for HBHE (CMS Run 3 local reconstruction)",
                 mahi_types);
