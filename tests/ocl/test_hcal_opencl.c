/* test_hcal_opencl.c - the hcal_opencl plugin through the module ABI with a
 * minimal fake host (no scheduler): create with parameters, acquire on two
 * streams at once, completion through host->async_done from a driver
 * thread while the caller is free, produce, and the rechits compared with
 * the CPU code on the same digis (MAHI with hcal_mahi's defaults and
 * sim/hcal's pulse; FACILE with the tiny test model). Also: bad parameters
 * and an injected device failure reach the framework by name.
 * The plugin is loaded from $MINIHLT_BUILD/plugins (default build/). */
#include <dlfcn.h>
#include <stdatomic.h>

#include "core/mh_module.h"
#include "hcal/mh_hcal.h"
#include "hcal/mh_hcal_products.h"
#include "io/mh_rawevent.h"
#include "ml/mh_facile.h"
#include "ocltest.h"

/* ---- the fake host ------------------------------------------------------- */

struct mh_params {
    const char *kv[16][2];
    const mh_module_type *type;
};

struct mh_event {
    unsigned stream;
    const mh_hcal_digis *digis;
    mh_hcal_rechits *out;
    ot_waiter done;
};

static const char *fp_lookup(const mh_params *p, const char *name)
{
    for (int i = 0; i < 16 && p->kv[i][0]; i++)
        if (!strcmp(p->kv[i][0], name))
            return p->kv[i][1];
    for (size_t i = 0; i < p->type->n_params; i++)
        if (!strcmp(p->type->params[i].name, name))
            return p->type->params[i].default_value;
    ck_abort_msg("plugin asked for undeclared parameter %s", name);
    return NULL;
}

static const char *fp_string(const mh_params *p, const char *n) { return fp_lookup(p, n); }
static int64_t fp_int(const mh_params *p, const char *n) { return strtoll(fp_lookup(p, n), NULL, 10); }
static double fp_double(const mh_params *p, const char *n) { return strtod(fp_lookup(p, n), NULL); }
static bool fp_bool(const mh_params *p, const char *n) { return !strcmp(fp_lookup(p, n), "true"); }
static unsigned fh_streams(const mh_module_ctx *c) { (void)c; return 2; }

static mh_status fh_consumes(mh_module_ctx *c, const char *label, const char *inst,
                             const char *type, char *err, size_t errlen)
{
    (void)c, (void)inst, (void)err, (void)errlen;
    ck_assert_str_eq(label, "hbheDigis");
    ck_assert_str_eq(type, MH_HCAL_DIGIS_TYPE);
    return MH_OK;
}

static mh_status fh_produces(mh_module_ctx *c, const char *inst, const char *type, char *err,
                             size_t errlen)
{
    (void)c, (void)inst, (void)err, (void)errlen;
    ck_assert_str_eq(type, MH_HCAL_RECHITS_TYPE);
    return MH_OK;
}

static unsigned fh_stream(mh_event *ev) { return ev->stream; }

static mh_status fh_get(mh_event *ev, const char *label, const char *inst, const char *type,
                        const void **data, char *err, size_t errlen)
{
    (void)label, (void)inst, (void)type, (void)err, (void)errlen;
    *data = ev->digis;
    return MH_OK;
}

static mh_status fh_put(mh_event *ev, const char *inst, const char *type, void *data,
                        void (*free_fn)(void *), char *err, size_t errlen)
{
    (void)inst, (void)type, (void)free_fn, (void)err, (void)errlen;
    ev->out = data;
    return MH_OK;
}

/* The framework's completion handle is the event here. */
static void fh_async_done(mh_async *h, mh_status st, const char *msg)
{
    ot_done(&((mh_event *)h)->done, st, msg ? msg : "");
}

static atomic_ulong kernel_ns;

static void fh_count(mh_event *ev, const char *name, uint64_t delta)
{
    (void)ev;
    if (!strcmp(name, "device_kernel_ns"))
        atomic_fetch_add(&kernel_ns, delta);
}

static mh_host host = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_host),
    .param_int = fp_int,
    .param_double = fp_double,
    .param_bool = fp_bool,
    .param_string = fp_string,
    .n_streams = fh_streams,
    .consumes = fh_consumes,
    .produces = fh_produces,
    .event_stream = fh_stream,
    .get = fh_get,
    .put = fh_put,
    .async_done = fh_async_done,
    .count = fh_count,
};

static void *so;
static const mh_module_type *type;

static void setup(void)
{
    ot_setup();
    const char *b = getenv("MINIHLT_BUILD");
    char path[1024];
    snprintf(path, sizeof path, "%s/plugins/hcal_opencl.so", b && *b ? b : "build");
    so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(so != NULL, "%s", dlerror());
    mh_plugin_entry_fn entry = (mh_plugin_entry_fn)dlsym(so, MH_PLUGIN_ENTRY_NAME);
    ck_assert_ptr_nonnull(entry);
    const mh_plugin *p = entry();
    ck_assert_uint_eq(p->abi_version, MH_MODULE_ABI_VERSION);
    ck_assert_uint_eq(p->n_types, 1);
    type = p->types[0];
    ck_assert_str_eq(type->name, "hcal_opencl");
    ck_assert_ptr_nonnull(type->acquire);
}

static void teardown(void)
{
    dlclose(so);
    ot_teardown();
}

/* n digis with random HBHE cells and pileup-like charges. */
static mh_hcal_digis *make_digis(uint32_t n)
{
    mh_hcal_digis *d = mh_hcal_digis_create(n);
    ck_assert_ptr_nonnull(d);
    d->soi = MH_SOI;
    static mh_mahi_pulse pulse;
    char err[256];
    ck_assert_int_eq(mh_hcal_pulse_mahi_table(&pulse, err, sizeof err), MH_OK);
    ot_mahi_channels(&pulse, n, d->charge_fc, d->adc_bin_width, d->ped_width, d->gain,
                     d->fc_per_pe);
    for (uint32_t c = 0; c < n; c++) {
        d->channel[c] = c;
        d->ieta[c] = (int32_t)(1 + ot_uniform() * 29) * (ot_uniform() < 0.5 ? -1 : 1);
        d->iphi[c] = 1 + (int32_t)(ot_uniform() * 72);
        d->depth[c] = 1 + (int32_t)(ot_uniform() * 7);
        for (int t = 0; t < MH_HCAL_PROD_NTS; t++)
            d->capid[c * MH_HCAL_PROD_NTS + t] = (uint8_t)((c + (uint32_t)t) & 3);
    }
    return d;
}

/* acquire on both streams, then wait and produce. With other_thread, the
 * events are large enough that the device cannot have finished before
 * acquire returned, so async_done must come from a driver thread (a tiny
 * event may complete while the callback is being registered; the driver
 * then calls it at once, on the caller's thread, which the ABI allows). */
static void run_two(void *self, mh_event *ev, bool other_thread)
{
    char err[1024] = "";
    for (int s = 0; s < 2; s++) {
        ot_waiter_init(&ev[s].done);
        ck_assert_msg(type->acquire(self, &ev[s], (mh_async *)&ev[s], err, sizeof err) == MH_OK,
                      "%s", err);
    }
    for (int s = 0; s < 2; s++) {
        ot_wait(&ev[s].done);
        ck_assert_msg(ev[s].done.st == MH_OK, "%s", ev[s].done.msg);
        if (other_thread)
            ck_assert(!pthread_equal(ev[s].done.thread, pthread_self()));
        ck_assert_msg(type->produce(self, &ev[s], err, sizeof err) == MH_OK, "%s", err);
        ck_assert_ptr_nonnull(ev[s].out);
        ck_assert_uint_eq(ev[s].out->n, ev[s].digis->n);
        ot_waiter_destroy(&ev[s].done);
    }
}

START_TEST(mahi_backend_matches_cpu)
{
    char err[1024] = "";
    mh_params p = {.kv = {{"backend", "mahi"}, {"device", "{type: any}"}, {"profile", "true"}},
                   .type = type};
    void *self = NULL;
    ck_assert_msg(type->create(&host, NULL, &p, &self, err, sizeof err) == MH_OK, "%s", err);
    mh_event ev[2] = {{.stream = 0, .digis = make_digis(3000)},
                      {.stream = 1, .digis = make_digis(1200)}};
    atomic_store(&kernel_ns, 0);
    run_two(self, ev, true);
    ck_assert_uint_gt(atomic_load(&kernel_ns), 0); /* profile: true counts device time */

    /* hcal_mahi's defaults on the CPU. */
    mh_mahi_config cfg;
    static mh_mahi_pulse pulse;
    mh_mahi_config_default(&cfg);
    cfg.timeSlewTzero = MH_HCAL_SLEW_T0;
    cfg.timeSlewSlope = MH_HCAL_SLEW_SLOPE;
    cfg.timeSlewTmax = MH_HCAL_SLEW_TMAX;
    cfg.soi = MH_SOI;
    ck_assert_int_eq(mh_hcal_pulse_mahi_table(&pulse, err, sizeof err), MH_OK);
    for (int s = 0; s < 2; s++) {
        const mh_hcal_digis *d = ev[s].digis;
        const mh_hcal_rechits *r = ev[s].out;
        ck_assert_str_eq(r->algo, "mahi-opencl");
        ck_assert(r->has_chi2 && r->has_oot);
        float *e = malloc(sizeof(float) * d->n), *c2 = malloc(sizeof(float) * d->n);
        mh_mahi_fit_batch(&cfg, &pulse, d->charge_fc, d->adc_bin_width, d->ped_width, d->gain,
                          d->fc_per_pe, d->n, e, c2, NULL, NULL);
        size_t nonzero = 0;
        for (uint32_t c = 0; c < d->n; c++) {
            ck_assert_uint_eq(r->channel[c], d->channel[c]);
            ck_assert_msg(fabs(r->energy[c] - e[c]) <= 1e-5 * fabs(e[c]) + 1e-6,
                          "stream %d channel %u: %.9g vs %.9g", s, c, (double)r->energy[c],
                          (double)e[c]);
            nonzero += e[c] > 0.01f;
        }
        ck_assert_uint_gt(nonzero, d->n / 3);
        free(e);
        free(c2);
        mh_hcal_product_free(ev[s].out);
        mh_hcal_product_free((void *)d);
    }
    type->destroy(self);
}
END_TEST

START_TEST(facile_backend_matches_cpu_and_failures_by_name)
{
    char err[1024] = "";
    mh_params p = {.kv = {{"backend", "facile"}, {"model", "tests/data/facile_tiny"}},
                   .type = type};
    void *self = NULL;
    ck_assert_msg(type->create(&host, NULL, &p, &self, err, sizeof err) == MH_OK, "%s", err);
    mh_event ev[2] = {{.stream = 0, .digis = make_digis(2500)},
                      {.stream = 1, .digis = make_digis(15840)}};
    run_two(self, ev, false);
    mh_facile *m = NULL;
    ck_assert_int_eq(mh_facile_load("tests/data/facile_tiny", 1, &m, err, sizeof err), MH_OK);
    for (int s = 0; s < 2; s++) {
        const mh_hcal_digis *d = ev[s].digis;
        float *feat = malloc(sizeof(float) * d->n * MH_FACILE_NFEAT);
        float *e = malloc(sizeof(float) * d->n);
        ck_assert_int_eq(mh_facile_features(d->charge_fc, d->nsamples, 0, d->gain, d->ieta,
                                            d->iphi, d->depth, d->n, feat, err, sizeof err),
                         MH_OK);
        ck_assert_int_eq(mh_facile_forward(m, feat, d->n, e, NULL, 0, err, sizeof err), MH_OK);
        ck_assert_str_eq(ev[s].out->algo, "facile-opencl");
        for (uint32_t c = 0; c < d->n; c++)
            ck_assert_msg(fabs(ev[s].out->energy[c] - e[c]) <= 1e-5 * fmax(1.0, fabs(e[c])),
                          "channel %u", c);
        free(feat);
        free(e);
        mh_hcal_product_free(ev[s].out);
        ev[s].out = NULL;
    }
    mh_facile_free(m);

    /* A device that fails during the event: async_done carries the name. */
    mh_ocl_inject_fault("completion", CL_OUT_OF_RESOURCES, 0);
    ot_waiter_init(&ev[0].done);
    ck_assert_int_eq(type->acquire(self, &ev[0], (mh_async *)&ev[0], err, sizeof err), MH_OK);
    ot_wait(&ev[0].done);
    ck_assert_int_eq(ev[0].done.st, MH_DEVICE);
    ck_assert_str_eq(ev[0].done.msg,
                     "facile slot 0: command completion (execution): CL_OUT_OF_RESOURCES");
    ot_waiter_destroy(&ev[0].done);
    /* One that refuses the enqueue: acquire fails, no async_done. */
    mh_ocl_inject_fault("clEnqueueNDRangeKernel", CL_INVALID_COMMAND_QUEUE, 0);
    ot_waiter_init(&ev[1].done);
    ck_assert_int_eq(type->acquire(self, &ev[1], (mh_async *)&ev[1], err, sizeof err),
                     MH_DEVICE);
    ck_assert_str_eq(err, "facile slot 1: clEnqueueNDRangeKernel: CL_INVALID_COMMAND_QUEUE");
    ck_assert_int_eq(ot_calls(&ev[1].done), 0);
    ot_waiter_destroy(&ev[1].done);
    mh_ocl_inject_fault(NULL, 0, 0);
    for (int s = 0; s < 2; s++)
        mh_hcal_product_free((void *)ev[s].digis);
    type->destroy(self);
}
END_TEST

static const struct {
    const char *key, *value, *want;
} bad[] = {
    {"backend", "cuda", "backend: 'cuda' is not facile or mahi"},
    {"device", "{type: tpu}", "device: "},
    {"device", "{type: gpu, name: no-such-board}", "device: no OpenCL device matches"},
    {"model", "/nonexistent/model", "model: "},
    {"binary", "/nonexistent/facile.aocx", "/nonexistent/facile.aocx"},
    {"firstSample", "3", "firstSample: 3 outside 0..2"},
};

START_TEST(bad_parameters_named)
{
    char err[1024] = "";
    mh_params p = {.kv = {{bad[_i].key, bad[_i].value}, {"model", "tests/data/facile_tiny"}},
                   .type = type};
    if (!strcmp(bad[_i].key, "model"))
        p.kv[1][0] = NULL;
    void *self = NULL;
    ck_assert_int_ne(type->create(&host, NULL, &p, &self, err, sizeof err), MH_OK);
    ck_assert_msg(strstr(err, bad[_i].want), "%s=%s: %s", bad[_i].key, bad[_i].value, err);
    type->destroy(self);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hcal_opencl");
    TCase *tc = tcase_create("plugin");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mahi_backend_matches_cpu);
    tcase_add_test(tc, facile_backend_matches_cpu_and_failures_by_name);
    tcase_add_loop_test(tc, bad_parameters_named, 0, (int)(sizeof bad / sizeof bad[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
