/* test_ocl_facile.c - the FACILE network on the machine's OpenCL device
 * (PoCL's CPU device in CI) against the CPU forward pass, with features
 * built by the shared mh_facile_features(): agreement (1e-5 relative),
 * build cache hit on the second start, a prebuilt binary, a corrupt binary
 * and a bad build option by name, asynchronous completion, and an OpenCL
 * error injected mid-run.
 *
 * `test_ocl_facile --bench MODEL_DIR [CHANNELS [EVENTS]]` is the benchmark
 * of scripts/bench/opencl.sh: FACILE and MAHI per event on the device and
 * on the CPU in the same run, with the transfer share. Asserts nothing. */
#include "ml/mh_facile.h"
#include "ocl/mh_ocl_facile.h"
#include "ocl/mh_ocl_mahi.h"
#include "ocltest.h"

#define TINY "tests/data/facile_tiny"

static mh_facile *model;

static void setup(void)
{
    char err[1024] = "";
    ot_setup();
    ck_assert_msg(mh_facile_load(TINY, 1, &model, err, sizeof err) == MH_OK, "%s", err);
}

static void teardown(void)
{
    mh_facile_free(model);
    model = NULL;
    ot_teardown();
}

/* Random HBHE channels as the digi product holds them (10 samples). */
typedef struct digis {
    size_t n;
    float *q, *gain;
    int *ieta, *iphi, *depth;
} digis;

static void digis_free(digis *d)
{
    free(d->q);
    free(d->gain);
    free(d->ieta);
    free(d->iphi);
    free(d->depth);
}

static int digis_make(digis *d, size_t n)
{
    d->n = n;
    d->q = malloc(sizeof(float) * n * 10);
    d->gain = malloc(sizeof(float) * n);
    d->ieta = malloc(sizeof(int) * n);
    d->iphi = malloc(sizeof(int) * n);
    d->depth = malloc(sizeof(int) * n);
    if (!d->q || !d->gain || !d->ieta || !d->iphi || !d->depth)
        return -1;
    for (size_t c = 0; c < n; c++) {
        for (int t = 0; t < 10; t++)
            d->q[c * 10 + t] = (float)(-60.0 * log(ot_uniform()) + 2.0 * ot_gauss());
        d->gain[c] = (float)(0.004 + 0.004 * ot_uniform());
        d->ieta[c] = (int)(1 + ot_uniform() * 29) * (ot_uniform() < 0.5 ? -1 : 1);
        d->iphi[c] = 1 + (int)(ot_uniform() * 72);
        d->depth[c] = 1 + (int)(ot_uniform() * 7);
    }
    return 0;
}

/* Features by the shared feature code (the 8 fitted samples start at TS0). */
static mh_status digis_features(const digis *d, float *feat)
{
    return mh_facile_features(d->q, 10, 0, d->gain, d->ieta, d->iphi, d->depth, d->n, feat, NULL,
                              0);
}

/* Random channels turned into features. No Check calls: the benchmark uses
 * it too. */
static mh_status fill_features(size_t n, float *feat)
{
    digis d;
    mh_status st = digis_make(&d, n) == 0 ? digis_features(&d, feat) : MH_NOMEM;
    digis_free(&d);
    return st;
}

static void make_features(size_t n, float *feat)
{
    ck_assert_int_eq(fill_features(n, feat), MH_OK);
}

/* Every output within 1e-5 relative of the CPU (or 1e-5 absolute when the
 * output is below 1: outputs are energies in GeV). Returns the largest
 * relative difference of outputs above 1e-3. */
static double compare(const float *dev, const float *feat, size_t n)
{
    float *cpu = malloc(sizeof(float) * n * mh_facile_num_outputs(model));
    char err[256] = "";
    ck_assert_int_eq(mh_facile_forward(model, feat, n, cpu, NULL, 0, err, sizeof err), MH_OK);
    double worst = 0.0;
    size_t nonzero = 0;
    for (size_t i = 0; i < n * mh_facile_num_outputs(model); i++) {
        double d = fabs((double)dev[i] - cpu[i]), a = fabs((double)cpu[i]);
        ck_assert_msg(d <= 1e-5 * (a > 1.0 ? a : 1.0), "output %zu: device %.9g, cpu %.9g", i,
                      (double)dev[i], (double)cpu[i]);
        if (a > 1e-3 && d / a > worst)
            worst = d / a;
        nonzero += a > 1e-3;
    }
    ck_assert_uint_gt(nonzero, n / 10); /* the comparison is not of zeros */
    free(cpu);
    return worst;
}

static mh_ocl_facile *create(const mh_ocl_run_opts *o, mh_ocl_build_info *info)
{
    char err[4096] = "";
    mh_ocl_facile *f = NULL;
    ck_assert_msg(mh_ocl_facile_create(ot_dev, model, o, &f, info, err, sizeof err) == MH_OK,
                  "%s", err);
    return f;
}

/* Fills the slot with n random channels, runs, compares. */
static double run_and_compare(mh_ocl_facile *f, unsigned slot, size_t n)
{
    char err[1024] = "";
    float *feat;
    ck_assert_msg(mh_ocl_facile_inputs(f, slot, n, &feat, err, sizeof err) == MH_OK, "%s", err);
    make_features(n, feat);
    ck_assert_msg(mh_ocl_facile_run(f, slot, n, err, sizeof err) == MH_OK, "%s", err);
    return compare(mh_ocl_facile_outputs(f, slot), feat, n);
}

START_TEST(agrees_with_cpu_cache_and_binary)
{
    char err[4096] = "", path[512];
    mh_ocl_build_info info;
    mh_ocl_run_opts o = {.n_slots = 2, .capacity = 100};
    mh_ocl_facile *f = create(&o, &info);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_SOURCE);
    ck_assert_uint_eq(mh_ocl_facile_slots(f), 2);
    double worst = run_and_compare(f, 1, 7000); /* grows the slot from 100 */
    fprintf(stderr, "facile: 7000 channels, largest relative difference %.3g\n", worst);
    run_and_compare(f, 0, 1);
    mh_ocl_facile_free(f);

    /* Second start: from the cache. */
    f = create(&o, &info);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_CACHE);
    run_and_compare(f, 0, 1000);
    mh_ocl_facile_free(f);

    /* Prebuilt binary (what `minihlt devices --compile F --kernel facile`
     * writes). */
    mh_ocl_build_opts b = {.name = "facile", .source = mh_ocl_kernel_source("facile")};
    cl_program prog;
    ck_assert_msg(mh_ocl_program_build(ot_dev, &b, &prog, NULL, err, sizeof err) == MH_OK, "%s",
                  err);
    snprintf(path, sizeof path, "%s/facile.bin", ot_tmpdir);
    ck_assert_msg(mh_ocl_program_save(prog, ot_dev, path, err, sizeof err) == MH_OK, "%s", err);
    clReleaseProgram(prog);
    mh_ocl_run_opts ob = {.binary_path = path};
    f = create(&ob, &info);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_BINARY);
    run_and_compare(f, 0, 2000);
    mh_ocl_facile_free(f);
}
END_TEST

START_TEST(corrupt_binary_and_bad_option_by_name)
{
    char err[4096] = "", path[512];
    mh_ocl_facile *f = (mh_ocl_facile *)1;
    snprintf(path, sizeof path, "%s/facile.aocx", ot_tmpdir);
    static const char junk[] = "not a program binary for any device at all";
    ot_write_file(path, junk, sizeof junk);
    mh_ocl_run_opts o = {.binary_path = path};
    ck_assert_int_eq(mh_ocl_facile_create(ot_dev, model, &o, &f, NULL, err, sizeof err),
                     MH_DEVICE);
    ck_assert_ptr_null(f);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0 &&
                      (strstr(err, ": clCreateProgramWithBinary: CL_INVALID_BINARY") ||
                       strstr(err, ": clBuildProgram: CL_")),
                  "%s", err);

    mh_ocl_run_opts ob = {.options = "-cl-no-such-option", .no_cache = true};
    ck_assert_int_eq(mh_ocl_facile_create(ot_dev, model, &ob, &f, NULL, err, sizeof err),
                     MH_DEVICE);
    ck_assert_msg(strstr(err, "clBuildProgram: CL_INVALID_BUILD_OPTIONS") ||
                      strstr(err, "clBuildProgram: CL_BUILD_PROGRAM_FAILURE"),
                  "%s", err);

    /* A valid option that breaks the source: the build log comes along. */
    mh_ocl_run_opts oc = {.options = "-Dmh_facile_forward=(", .no_cache = true};
    ck_assert_int_eq(mh_ocl_facile_create(ot_dev, model, &oc, &f, NULL, err, sizeof err),
                     MH_DEVICE);
    ck_assert_msg(strstr(err, "program facile: clBuildProgram: CL_BUILD_PROGRAM_FAILURE: "), "%s",
                  err);
}
END_TEST

START_TEST(async_completion_and_injected_errors)
{
    enum { N = 200000 };
    char err[1024] = "";
    mh_ocl_run_opts o = {.n_slots = 1, .profiling = true};
    mh_ocl_facile *f = create(&o, NULL);
    float *feat;
    ck_assert_int_eq(mh_ocl_facile_inputs(f, 0, N, &feat, err, sizeof err), MH_OK);
    make_features(N, feat);
    ot_waiter w;
    ot_waiter_init(&w);
    double t0 = ot_now();
    ck_assert_msg(mh_ocl_facile_enqueue(f, 0, N, ot_done, &w, err, sizeof err) == MH_OK, "%s",
                  err);
    double t_enq = ot_now() - t0;
    ck_assert_int_eq(ot_calls(&w), 0);
    /* The caller's thread is free: it computes the reference meanwhile. */
    float *cpu = malloc(sizeof(float) * N);
    ck_assert_int_eq(mh_facile_forward(model, feat, N, cpu, NULL, 0, err, sizeof err), MH_OK);
    free(cpu);
    ot_wait(&w);
    ck_assert_msg(w.st == MH_OK, "%s", w.msg);
    ck_assert(!pthread_equal(w.thread, pthread_self()));
    ck_assert(t_enq < 0.5 * (w.when - t0));
    compare(mh_ocl_facile_outputs(f, 0), feat, N);
    mh_ocl_timing t = mh_ocl_facile_timing(f, 0);
    ck_assert_uint_gt(t.kernel_ns, 0);
    ck_assert_uint_gt(t.write_ns + t.read_ns, 0);
    ck_assert_uint_ge(t.total_ns, t.kernel_ns);
    ot_waiter_destroy(&w);

    /* Mid-run failures: the third write fails, by name; the slot recovers. */
    mh_ocl_inject_fault("clEnqueueWriteBuffer", CL_OUT_OF_RESOURCES, 2);
    ck_assert_int_eq(mh_ocl_facile_run(f, 0, 100, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_ocl_facile_run(f, 0, 100, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_ocl_facile_run(f, 0, 100, err, sizeof err), MH_DEVICE);
    ck_assert_str_eq(err, "facile slot 0: clEnqueueWriteBuffer: CL_OUT_OF_RESOURCES");
    mh_ocl_inject_fault("clSetEventCallback", CL_INVALID_EVENT, 0);
    ck_assert_int_eq(mh_ocl_facile_run(f, 0, 100, err, sizeof err), MH_DEVICE);
    ck_assert_str_eq(err, "facile slot 0: clSetEventCallback: CL_INVALID_EVENT");
    mh_ocl_inject_fault(NULL, 0, 0);
    ck_assert_int_eq(mh_ocl_facile_run(f, 0, 100, err, sizeof err), MH_OK);
    mh_ocl_facile_free(f);
}
END_TEST

/* ---- benchmark ------------------------------------------------------------ */

static double med(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* Per event: the device (enqueue to callback, and its profiled write,
 * kernel and read times) against the CPU code on this thread, medians over
 * the events. */
static int bench(const char *dir, size_t n, int events)
{
    char err[4096] = "";
    mh_facile *m = NULL;
    mh_ocl_device *dev = NULL;
    if (mh_facile_load(dir, 1, &m, err, sizeof err) != MH_OK ||
        mh_ocl_device_open_selected(NULL, &dev, err, sizeof err) != MH_OK) {
        fprintf(stderr, "test_ocl_facile --bench: %s\n", err);
        return 1;
    }
    const mh_ocl_device_info *di = mh_ocl_device_get_info(dev);
    printf("device: %s / %s (%s), %u compute units\n", di->platform_name, di->name,
           mh_ocl_type_name(di->type), di->compute_units);
    printf("event: %zu channels, %d events, medians\n", n, events);
    mh_ocl_run_opts o = {.n_slots = 1, .capacity = n, .profiling = true};
    mh_ocl_facile *f = NULL;
    mh_ocl_mahi *mh = NULL;
    mh_mahi_config cfg;
    static mh_mahi_pulse pulse;
    int soi = 3;
    mh_mahi_config_default(&cfg);
    if (mh_mahi_pulse_build(&pulse, ot_pulse_fn, &soi, soi, -10.0f, 40.0f, 0.25f, err,
                            sizeof err) != MH_OK ||
        mh_ocl_facile_create(dev, m, &o, &f, NULL, err, sizeof err) != MH_OK ||
        mh_ocl_mahi_create(dev, &cfg, &pulse, &o, &mh, NULL, err, sizeof err) != MH_OK) {
        fprintf(stderr, "test_ocl_facile --bench: %s\n", err);
        return 1;
    }
    size_t nf = mh_facile_num_inputs(m);
    float *feat, *cpu_out = malloc(sizeof(float) * n * mh_facile_num_outputs(m));
    float *e = malloc(sizeof(float) * n), *c2 = malloc(sizeof(float) * n);
    float *oot = malloc(sizeof(float) * n * MH_MAHI_NOOT);
    double *dev_ms = calloc((size_t)events, sizeof(double)), *cpu_ms = calloc((size_t)events, 8);
    double *k_ms = calloc((size_t)events, 8), *x_ms = calloc((size_t)events, 8);
    double *feat_ms = calloc((size_t)events, 8);
    if (!cpu_out || !e || !c2 || !oot || !dev_ms || !cpu_ms || !k_ms || !x_ms || !feat_ms)
        return 1;
    size_t ws = mh_facile_workspace_size(m);
    void *work = malloc(ws);
    for (int algo = 0; algo < 2; algo++) {
        for (int ev = -1; ev < events; ev++) { /* ev -1: warm-up */
            mh_ocl_mahi_in in;
            double t0, t1, t2;
            mh_ocl_timing t;
            if (algo == 0) {
                digis dg;
                if (mh_ocl_facile_inputs(f, 0, n, &feat, err, sizeof err) != MH_OK ||
                    digis_make(&dg, n) != 0)
                    break;
                double tf = ot_now();
                mh_status fst = digis_features(&dg, feat);
                if (ev >= 0)
                    feat_ms[ev] = 1e3 * (ot_now() - tf);
                digis_free(&dg);
                if (fst != MH_OK)
                    break;
                t0 = ot_now();
                if (mh_ocl_facile_run(f, 0, n, err, sizeof err) != MH_OK)
                    break;
                t1 = ot_now();
                mh_facile_forward(m, feat, n, cpu_out, work, ws, NULL, 0);
                t2 = ot_now();
                t = mh_ocl_facile_timing(f, 0);
            } else {
                if (mh_ocl_mahi_inputs(mh, 0, n, &in, err, sizeof err) != MH_OK)
                    break;
                ot_mahi_channels(&pulse, n, in.charge_fc, in.adc_bin_width, in.ped_width,
                                 in.gain, in.fc_per_pe);
                t0 = ot_now();
                if (mh_ocl_mahi_run(mh, 0, n, err, sizeof err) != MH_OK)
                    break;
                t1 = ot_now();
                mh_mahi_fit_batch(&cfg, &pulse, in.charge_fc, in.adc_bin_width, in.ped_width,
                                  in.gain, in.fc_per_pe, n, e, c2, oot, NULL);
                t2 = ot_now();
                t = mh_ocl_mahi_timing(mh, 0);
            }
            if (ev < 0)
                continue;
            dev_ms[ev] = 1e3 * (t1 - t0);
            cpu_ms[ev] = 1e3 * (t2 - t1);
            k_ms[ev] = 1e-6 * (double)t.kernel_ns;
            x_ms[ev] = 1e-6 * (double)(t.write_ns + t.read_ns);
        }
        if (err[0]) {
            fprintf(stderr, "test_ocl_facile --bench: %s\n", err);
            return 1;
        }
        double d = med(dev_ms, events), c = med(cpu_ms, events), k = med(k_ms, events),
               x = med(x_ms, events);
        printf("%-7s device %8.3f ms/event (kernel %8.3f, transfers %7.3f = %4.1f%% of device "
               "time)  cpu %8.3f ms/event (one thread)  cpu/device %6.2fx  kernel-only %6.2fx\n",
               algo == 0 ? "facile" : "mahi", d, k, x, d > 0 ? 100.0 * x / d : 0.0, c,
               d > 0 ? c / d : 0.0, k > 0 ? c / k : 0.0);
        if (algo == 0)
            printf("facile  features on the host (mh_facile_features, both paths): %.3f ms/event; "
                   "they move %.2f MB/event to the device (46 floats per channel; built on the "
                   "device from the digis it would be 12 values, %.2f MB)\n",
                   med(feat_ms, events), (double)n * nf * 4 / 1e6, (double)n * 12 * 4 / 1e6);
    }
    free(work);
    free(feat_ms);
    free(dev_ms);
    free(cpu_ms);
    free(k_ms);
    free(x_ms);
    free(cpu_out);
    free(e);
    free(c2);
    free(oot);
    mh_ocl_facile_free(f);
    mh_ocl_mahi_free(mh);
    mh_ocl_device_free(dev);
    mh_facile_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--bench") == 0) {
        long n = argc >= 4 ? strtol(argv[3], NULL, 10) : 8000;
        long ev = argc >= 5 ? strtol(argv[4], NULL, 10) : 20;
        if (n <= 0 || n > 10000000 || ev <= 0 || ev > 100000) {
            fprintf(stderr, "usage: test_ocl_facile --bench MODEL_DIR [CHANNELS [EVENTS]]\n");
            return 2;
        }
        return bench(argv[2], (size_t)n, (int)ev);
    }
    Suite *s = suite_create("ocl_facile");
    TCase *tc = tcase_create("pocl");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, agrees_with_cpu_cache_and_binary);
    tcase_add_test(tc, corrupt_binary_and_bad_option_by_name);
    tcase_add_test(tc, async_completion_and_injected_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
