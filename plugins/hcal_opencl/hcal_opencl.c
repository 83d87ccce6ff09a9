/* hcal_opencl.c - module type `hcal_opencl`: HBHE reconstruction on a local
 * OpenCL device (GPU, FPGA board, or the CPU through PoCL), digis ->
 * rechits, as ExternalWork: acquire() fills the stream's slot and enqueues
 * (non-blocking writes, kernel, reads) and returns; the driver's completion
 * callback calls host->async_done(); produce() copies the slot's outputs
 * into the rechit product.
 *
 * A thin adapter: the device layer, the kernels, the slots and the
 * callbacks are sim/ocl (mh_ocl_facile.h, mh_ocl_mahi.h); features come
 * from sim/ml's mh_facile_features(), the MAHI fit is sim/hcal's own
 * (mahi_core.h, compiled for the device), its pulse table sim/hcal's. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "hcal/mh_hcal.h"
#include "hcal/mh_hcal_products.h"
#include "hcal/mh_mahi.h"
#include "io/mh_rawevent.h"
#include "ml/mh_facile.h"
#include "ocl/mh_ocl.h"
#include "ocl/mh_ocl_facile.h"
#include "ocl/mh_ocl_mahi.h"

/* HBHE has 15840 channels: slots start that large and never grow. */
#define OCL_CAPACITY 16384

typedef enum { BACKEND_FACILE, BACKEND_MAHI } backend_t;

struct ocl_mod;

/* One per framework stream: the slot of the same index is its own. */
typedef struct ocl_stream {
    struct ocl_mod *mod;
    mh_async *handle; /* of the event in flight */
} ocl_stream;

typedef struct ocl_mod {
    const mh_host *host;
    mh_module_ctx *ctx;             /* for the report in end_job */
    mh_ocl_origin origin;           /* where the program came from */
    const char *digis;
    backend_t backend;
    size_t first_ts;
    mh_ocl_device *dev;
    mh_facile *model;
    mh_ocl_facile *facile;
    mh_ocl_mahi *mahi;
    bool profile;
    unsigned nstreams;
    ocl_stream *streams;
} ocl_mod;

static const mh_param_def ocl_params[] = {
    {"digis", MH_PARAM_STRING, "hbheDigis", "label of the hcal_unpack module"},
    {"backend", MH_PARAM_STRING, "facile", "facile (the network) or mahi (the pulse fit)"},
    {"device", MH_PARAM_MAP, "{}",
     "device selector {type: any|gpu|accelerator|cpu|custom, index: N, name: SUBSTRING}; "
     "MINIHLT_OCL_DEVICE overrides it"},
    {"binary", MH_PARAM_STRING, "",
     "prebuilt program binary (.aocx, .xclbin, or `minihlt devices --compile F --kernel "
     "facile|mahi`) instead of building from source; relative to the current directory"},
    {"options", MH_PARAM_STRING, "", "extra OpenCL build options"},
    {"model", MH_PARAM_STRING, "data/models/facile",
     "facile: model repository directory; relative to the current directory"},
    {"version", MH_PARAM_INT, "1", "facile: model version (subdirectory)"},
    {"firstSample", MH_PARAM_INT, "0",
     "first digi sample of the 8-sample window (the network's charges, the fit's window)"},
    {"profile", MH_PARAM_BOOL, "false",
     "OpenCL profiling: count device_kernel_ns and device_transfer_ns per event"},
};

static void ocl_destroy(void *vself)
{
    ocl_mod *self = vself;
    if (self == NULL)
        return;
    mh_ocl_facile_free(self->facile);
    mh_ocl_mahi_free(self->mahi);
    mh_facile_free(self->model);
    mh_ocl_device_free(self->dev);
    free(self->streams);
    free(self);
}

/* MAHI with CMSSW's defaults and sim/hcal's pulse shape and time slew (as
 * hcal_mahi's defaults). */
static mh_status create_mahi(ocl_mod *self, const mh_ocl_run_opts *o, mh_ocl_build_info *info,
                             char *err, size_t errlen)
{
    mh_mahi_config cfg;
    mh_mahi_config_default(&cfg);
    cfg.timeSlewTzero = MH_HCAL_SLEW_T0;
    cfg.timeSlewSlope = MH_HCAL_SLEW_SLOPE;
    cfg.timeSlewTmax = MH_HCAL_SLEW_TMAX;
    cfg.soi = MH_SOI;
    cfg.firstSample = (int32_t)self->first_ts;
    mh_mahi_pulse *pulse = malloc(sizeof *pulse);
    if (pulse == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    mh_status st = mh_hcal_pulse_mahi_table(pulse, err, errlen);
    if (st == MH_OK)
        st = mh_ocl_mahi_create(self->dev, &cfg, pulse, o, &self->mahi, info, err, errlen);
    free(pulse); /* uploaded: the device has its copy */
    return st;
}

static mh_status create_facile(ocl_mod *self, const mh_host *host, const mh_params *params,
                               const mh_ocl_run_opts *o, mh_ocl_build_info *info, char *err,
                               size_t errlen)
{
    int64_t version = host->param_int(params, "version");
    if (version < 1 || version > 1000000)
        return mh_fail(err, errlen, MH_PARAM, "version: %lld is not a model version (1..)",
                       (long long)version);
    const char *dir = host->param_string(params, "model");
    mh_status st = mh_facile_load(dir, (unsigned)version, &self->model, err, errlen);
    if (st != MH_OK)
        return mh_fail_prefix(err, errlen, st, "model: ");
    if (mh_facile_num_inputs(self->model) != MH_FACILE_NFEAT ||
        mh_facile_num_outputs(self->model) != 1)
        return mh_fail(err, errlen, MH_PARAM,
                       "model: %s takes %zu inputs and gives %zu outputs; FACILE needs %d and 1",
                       dir, mh_facile_num_inputs(self->model),
                       mh_facile_num_outputs(self->model), MH_FACILE_NFEAT);
    return mh_ocl_facile_create(self->dev, self->model, o, &self->facile, info, err, errlen);
}

static mh_status ocl_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                            void **out, char *err, size_t errlen)
{
    mh_status st;
    ocl_mod *self = calloc(1, sizeof *self);
    *out = self;
    if (self == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    self->host = host;
    self->ctx = ctx;
    self->digis = host->param_string(params, "digis");
    const char *b = host->param_string(params, "backend");
    if (strcmp(b, "facile") == 0)
        self->backend = BACKEND_FACILE;
    else if (strcmp(b, "mahi") == 0)
        self->backend = BACKEND_MAHI;
    else
        return mh_fail(err, errlen, MH_PARAM, "backend: '%s' is not facile or mahi", b);
    int64_t first = host->param_int(params, "firstSample");
    if (first < 0 || first > MH_HCAL_PROD_NTS - MH_FACILE_NTS)
        return mh_fail(err, errlen, MH_PARAM, "firstSample: %lld outside 0..%d",
                       (long long)first, MH_HCAL_PROD_NTS - MH_FACILE_NTS);
    self->first_ts = (size_t)first;

    mh_ocl_selector sel;
    mh_ocl_selector_init(&sel);
    if (mh_ocl_selector_set_yaml(&sel, host->param_string(params, "device"), err, errlen) !=
        MH_OK)
        return MH_PARAM; /* err already reads "device: ..." */
    if ((st = mh_ocl_device_open_selected(&sel, &self->dev, err, errlen)) != MH_OK)
        return mh_fail_prefix(err, errlen, st, "device: ");

    self->nstreams = host->n_streams(ctx);
    if (self->nstreams == 0)
        self->nstreams = 1;
    self->streams = calloc(self->nstreams, sizeof *self->streams);
    if (self->streams == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (unsigned s = 0; s < self->nstreams; s++)
        self->streams[s].mod = self;

    const char *bin = host->param_string(params, "binary");
    const char *opt = host->param_string(params, "options");
    self->profile = host->param_bool(params, "profile");
    mh_ocl_run_opts o = {
        .profiling = self->profile,
        .n_slots = self->nstreams,
        .capacity = OCL_CAPACITY,
        .options = opt[0] ? opt : NULL,
        .binary_path = bin[0] ? bin : NULL,
    };
    mh_ocl_build_info info;
    st = self->backend == BACKEND_FACILE
             ? create_facile(self, host, params, &o, &info, err, errlen)
             : create_mahi(self, &o, &info, err, errlen);
    if (st != MH_OK)
        return st;
    self->origin = info.origin;
    if ((st = host->consumes(ctx, self->digis, "", MH_HCAL_DIGIS_TYPE, err, errlen)) != MH_OK)
        return st;
    return host->produces(ctx, "", MH_HCAL_RECHITS_TYPE, err, errlen);
}

/* From the driver's thread: hand the result to the framework. */
static void ocl_done(void *user, mh_status status, const char *msg)
{
    ocl_stream *s = user;
    s->mod->host->async_done(s->handle, status, msg);
}

/* The event's digis (checked) and its stream, which is also its slot. */
static mh_status get_event(ocl_mod *self, mh_event *ev, const mh_hcal_digis **d, unsigned *s,
                           char *err, size_t errlen)
{
    const void *p = NULL;
    mh_status st = self->host->get(ev, self->digis, "", MH_HCAL_DIGIS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    *d = p;
    if ((*d)->nsamples != MH_MAHI_NTS || (*d)->soi != MH_SOI)
        return mh_fail(err, errlen, MH_INVALID, "digis have %u samples with SOI TS%u; need %d "
                       "with SOI TS%d", (*d)->nsamples, (*d)->soi, MH_MAHI_NTS, MH_SOI);
    *s = self->host->event_stream(ev);
    if (*s >= self->nstreams)
        return mh_fail(err, errlen, MH_INTERNAL, "stream %u of %u", *s, self->nstreams);
    return MH_OK;
}

static mh_status ocl_acquire(void *vself, mh_event *ev, mh_async *done, char *err,
                             size_t errlen)
{
    ocl_mod *self = vself;
    const mh_hcal_digis *d;
    unsigned s;
    mh_status st = get_event(self, ev, &d, &s, err, errlen);
    if (st != MH_OK)
        return st;
    ocl_stream *os = &self->streams[s];
    os->handle = done;
    size_t n = d->n;
    if (self->backend == BACKEND_FACILE) {
        float *feat;
        if ((st = mh_ocl_facile_inputs(self->facile, s, n, &feat, err, errlen)) != MH_OK ||
            (st = mh_facile_features(d->charge_fc, d->nsamples, self->first_ts, d->gain, d->ieta,
                                     d->iphi, d->depth, n, feat, err, errlen)) != MH_OK)
            return st;
        return mh_ocl_facile_enqueue(self->facile, s, n, ocl_done, os, err, errlen);
    }
    mh_ocl_mahi_in in;
    if ((st = mh_ocl_mahi_inputs(self->mahi, s, n, &in, err, errlen)) != MH_OK)
        return st;
    memcpy(in.charge_fc, d->charge_fc, n * MH_MAHI_NTS * sizeof(float));
    memcpy(in.adc_bin_width, d->adc_bin_width, n * MH_MAHI_NTS * sizeof(float));
    memcpy(in.ped_width, d->ped_width, n * sizeof(float));
    memcpy(in.gain, d->gain, n * sizeof(float));
    memcpy(in.fc_per_pe, d->fc_per_pe, n * sizeof(float));
    return mh_ocl_mahi_enqueue(self->mahi, s, n, ocl_done, os, err, errlen);
}

static mh_status ocl_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    ocl_mod *self = vself;
    const mh_hcal_digis *d;
    unsigned s;
    mh_status st = get_event(self, ev, &d, &s, err, errlen);
    if (st != MH_OK)
        return st;
    size_t n = d->n;
    mh_hcal_rechits *r = mh_hcal_rechits_create(d->n, self->backend == BACKEND_FACILE
                                                          ? "facile-opencl"
                                                          : "mahi-opencl");
    if (r == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u rechits", d->n);
    memcpy(r->channel, d->channel, n * sizeof *r->channel);
    if (self->backend == BACKEND_FACILE) {
        memcpy(r->energy, mh_ocl_facile_outputs(self->facile, s), n * sizeof(float));
        memset(r->flags, MH_HCAL_RH_FITTED, n);
    } else {
        mh_ocl_mahi_out o = mh_ocl_mahi_outputs(self->mahi, s);
        r->has_chi2 = 1;
        r->has_oot = 1;
        memcpy(r->energy, o.energy, n * sizeof(float));
        memcpy(r->chi2, o.chi2, n * sizeof(float));
        memcpy(r->oot, o.oot, n * MH_MAHI_NOOT * sizeof(float));
        memcpy(r->flags, o.flags, n); /* MH_MAHI_FLAG_* == MH_HCAL_RH_* */
    }
    self->host->count(ev, "channels", d->n);
    if (self->profile) {
        mh_ocl_timing t = self->backend == BACKEND_FACILE ? mh_ocl_facile_timing(self->facile, s)
                                                          : mh_ocl_mahi_timing(self->mahi, s);
        self->host->count(ev, "device_kernel_ns", t.kernel_ns);
        self->host->count(ev, "device_transfer_ns", t.write_ns + t.read_ns);
    }
    return self->host->put(ev, "", MH_HCAL_RECHITS_TYPE, r, mh_hcal_product_free, err, errlen);
}

/* Which device ran the events and where its program came from: a line in
 * the printed report and a section "opencl:LABEL" in the JSON report. */
static mh_status ocl_end_job(void *vself, char *err, size_t errlen)
{
    ocl_mod *self = vself;
    const mh_host *host = self->host;
    static const char *const origins[] = {"source", "cache", "rebuild", "binary"};
    const mh_ocl_device_info *di = mh_ocl_device_get_info(self->dev);
    const char *backend = self->backend == BACKEND_FACILE ? "facile" : "mahi";
    const char *origin = (unsigned)self->origin < 4 ? origins[self->origin] : "?";
    const char *label = host->module_label(self->ctx);
    char line[1024], name[160];
    snprintf(line, sizeof line, "%s: %s on OpenCL %s / %s (%s, driver %s), program from %s",
             label, backend, di->platform_name, di->name, mh_ocl_type_name(di->type),
             di->driver_version, origin);
    host->report_text(self->ctx, line);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "backend", backend, "platform",
                          di->platform_name, "device", di->name, "type",
                          mh_ocl_type_name(di->type), "driver", di->driver_version, "streams",
                          (int)self->nstreams, "program", origin);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for the report section");
    snprintf(name, sizeof name, "opencl:%s", label);
    mh_status st = host->report_section(self->ctx, name, text, err, errlen);
    free(text);
    return st;
}

static const mh_module_type ocl_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "hcal_opencl",
    .help = "HBHE reconstruction (FACILE or MAHI) on a local OpenCL device, asynchronous",
    .kind = MH_KIND_PRODUCER,
    .params = ocl_params,
    .n_params = sizeof ocl_params / sizeof ocl_params[0],
    .create = ocl_create,
    .acquire = ocl_acquire,
    .produce = ocl_produce,
    .end_job = ocl_end_job,
    .destroy = ocl_destroy,
};

static const mh_module_type *const ocl_types[] = {&ocl_type};

MH_DEFINE_PLUGIN("hcal_opencl",
                 "HBHE reconstruction offloaded to OpenCL devices (GPU, FPGA, PoCL)",
                 ocl_types);
