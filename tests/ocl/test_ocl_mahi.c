/* test_ocl_mahi.c - the MAHI fit on the machine's OpenCL device (PoCL's CPU
 * device in CI) against the CPU fit (mh_mahi_fit_batch) on pileup-like
 * channels: agreement, build cache, prebuilt binary, asynchronous
 * completion (the caller's thread is free while the device works; the
 * callback comes from another thread), several slots in flight, a busy slot,
 * and injected OpenCL errors mid-run, by name. */
#include "ocl/mh_ocl_mahi.h"
#include "ocltest.h"

static mh_mahi_config cfg;
static mh_mahi_pulse pulse;

static void setup(void)
{
    ot_setup();
    ot_mahi_setup(&cfg, &pulse);
}

/* CPU reference of n channels; caller frees the returned arrays. */
typedef struct ref {
    float *energy, *chi2, *oot;
    uint8_t *flags;
} ref;

static ref cpu_fit(const mh_ocl_mahi_in *in, size_t n)
{
    ref r = {malloc(sizeof(float) * n), malloc(sizeof(float) * n),
             malloc(sizeof(float) * n * MH_MAHI_NOOT), malloc(n)};
    mh_mahi_fit_batch(&cfg, &pulse, in->charge_fc, in->adc_bin_width, in->ped_width, in->gain,
                      in->fc_per_pe, n, r.energy, r.chi2, r.oot, r.flags);
    return r;
}

static void ref_free(ref *r)
{
    free(r->energy);
    free(r->chi2);
    free(r->oot);
    free(r->flags);
}

/* The stated tolerance (sim/ocl/README.md): every energy and out-of-time
 * amplitude within 1e-5 relative or 1e-6 GeV, same flags. Returns the
 * largest relative energy difference among channels above 1 MeV. */
static double compare(const mh_ocl_mahi_out *o, const ref *r, size_t n)
{
    double worst = 0.0;
    for (size_t c = 0; c < n; c++) {
        double e = r->energy[c], d = fabs((double)o->energy[c] - e);
        ck_assert_msg(d <= 1e-5 * fabs(e) + 1e-6, "channel %zu: device %.9g, cpu %.9g", c,
                      (double)o->energy[c], e);
        ck_assert_msg(o->flags[c] == r->flags[c], "channel %zu: flags %d vs %d", c, o->flags[c],
                      r->flags[c]);
        for (int k = 0; k < MH_MAHI_NOOT; k++) {
            double a = r->oot[c * MH_MAHI_NOOT + k];
            ck_assert_msg(fabs(o->oot[c * MH_MAHI_NOOT + k] - a) <= 1e-5 * fabs(a) + 1e-6,
                          "channel %zu oot %d", c, k);
        }
        double ch = r->chi2[c];
        ck_assert_msg(fabs(o->chi2[c] - ch) <= 1e-4 * fabs(ch) + 1e-4, "channel %zu chi2", c);
        if (e > 1e-3 && d / e > worst)
            worst = d / e;
    }
    return worst;
}

static mh_ocl_mahi *create(unsigned slots, size_t cap, mh_ocl_build_info *info)
{
    char err[4096] = "";
    mh_ocl_run_opts o = {.n_slots = slots, .capacity = cap};
    mh_ocl_mahi *m = NULL;
    ck_assert_msg(mh_ocl_mahi_create(ot_dev, &cfg, &pulse, &o, &m, info, err, sizeof err) == MH_OK,
                  "%s", err);
    return m;
}

START_TEST(agrees_with_cpu_and_cache_hits)
{
    enum { N = 4000 };
    char err[1024] = "";
    mh_ocl_build_info info;
    /* Capacity below N: the slot grows on the first event. */
    mh_ocl_mahi *m = create(1, 1000, &info);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_SOURCE);
    mh_ocl_mahi_in in;
    ck_assert_msg(mh_ocl_mahi_inputs(m, 0, N, &in, err, sizeof err) == MH_OK, "%s", err);
    ot_mahi_channels(&pulse, N, in.charge_fc, in.adc_bin_width, in.ped_width, in.gain,
                     in.fc_per_pe);
    ref r = cpu_fit(&in, N);
    ck_assert_msg(mh_ocl_mahi_run(m, 0, N, err, sizeof err) == MH_OK, "%s", err);
    mh_ocl_mahi_out o = mh_ocl_mahi_outputs(m, 0);
    double worst = compare(&o, &r, N);
    size_t fitted = 0;
    for (size_t c = 0; c < N; c++)
        fitted += (r.flags[c] & MH_MAHI_FLAG_FITTED) != 0;
    ck_assert_uint_gt(fitted, N / 2);
    fprintf(stderr, "mahi: %d channels (%zu fitted), largest relative energy difference %.3g\n",
            N, fitted, worst);
    ref_free(&r);
    mh_ocl_mahi_free(m);

    /* Second start: the program comes from the cache, same results. */
    m = create(2, 0, &info);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_CACHE);
    ck_assert_msg(mh_ocl_mahi_inputs(m, 1, 500, &in, err, sizeof err) == MH_OK, "%s", err);
    ot_mahi_channels(&pulse, 500, in.charge_fc, in.adc_bin_width, in.ped_width, in.gain,
                     in.fc_per_pe);
    r = cpu_fit(&in, 500);
    ck_assert_msg(mh_ocl_mahi_run(m, 1, 500, err, sizeof err) == MH_OK, "%s", err);
    o = mh_ocl_mahi_outputs(m, 1);
    compare(&o, &r, 500);
    ref_free(&r);
    mh_ocl_mahi_free(m);
}
END_TEST

START_TEST(prebuilt_binary_and_bad_config)
{
    char err[4096] = "", path[512];
    /* The FPGA flow: a program binary saved earlier, loaded by path. */
    mh_ocl_build_opts b = {.name = "mahi", .source = mh_ocl_kernel_source("mahi")};
    cl_program prog;
    ck_assert_ptr_nonnull(b.source);
    ck_assert_msg(mh_ocl_program_build(ot_dev, &b, &prog, NULL, err, sizeof err) == MH_OK, "%s",
                  err);
    snprintf(path, sizeof path, "%s/mahi.bin", ot_tmpdir);
    ck_assert_msg(mh_ocl_program_save(prog, ot_dev, path, err, sizeof err) == MH_OK, "%s", err);
    clReleaseProgram(prog);

    mh_ocl_run_opts o = {.binary_path = path};
    mh_ocl_build_info info;
    mh_ocl_mahi *m = NULL;
    ck_assert_msg(mh_ocl_mahi_create(ot_dev, &cfg, &pulse, &o, &m, &info, err, sizeof err) ==
                      MH_OK,
                  "%s", err);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_BINARY);
    mh_ocl_mahi_in in;
    ck_assert_int_eq(mh_ocl_mahi_inputs(m, 0, 300, &in, err, sizeof err), MH_OK);
    ot_mahi_channels(&pulse, 300, in.charge_fc, in.adc_bin_width, in.ped_width, in.gain,
                     in.fc_per_pe);
    ref r = cpu_fit(&in, 300);
    ck_assert_msg(mh_ocl_mahi_run(m, 0, 300, err, sizeof err) == MH_OK, "%s", err);
    mh_ocl_mahi_out out = mh_ocl_mahi_outputs(m, 0);
    compare(&out, &r, 300);
    ref_free(&r);
    mh_ocl_mahi_free(m);

    /* A configuration the fit cannot run is refused before any build. */
    mh_mahi_config bad = cfg;
    bad.nActiveBXs = 0;
    m = (mh_ocl_mahi *)1;
    ck_assert_int_eq(mh_ocl_mahi_create(ot_dev, &bad, &pulse, &o, &m, NULL, err, sizeof err),
                     MH_PARAM);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, "activeBXs"), "%s", err);
}
END_TEST

START_TEST(async_caller_is_free_and_slots_overlap)
{
    enum { BIG = 40000, SMALL = 3000 };
    char err[1024] = "";
    mh_ocl_mahi *m = create(2, 0, NULL);
    mh_ocl_mahi_in in0, in1;
    ck_assert_int_eq(mh_ocl_mahi_inputs(m, 0, BIG, &in0, err, sizeof err), MH_OK);
    ot_mahi_channels(&pulse, BIG, in0.charge_fc, in0.adc_bin_width, in0.ped_width, in0.gain,
                     in0.fc_per_pe);
    ck_assert_int_eq(mh_ocl_mahi_inputs(m, 1, SMALL, &in1, err, sizeof err), MH_OK);
    ot_mahi_channels(&pulse, SMALL, in1.charge_fc, in1.adc_bin_width, in1.ped_width, in1.gain,
                     in1.fc_per_pe);

    ot_waiter w0, w1;
    ot_waiter_init(&w0);
    ot_waiter_init(&w1);
    double t0 = ot_now();
    ck_assert_msg(mh_ocl_mahi_enqueue(m, 0, BIG, ot_done, &w0, err, sizeof err) == MH_OK, "%s",
                  err);
    double t_enq = ot_now() - t0;
    /* Forty thousand fits take tens of milliseconds: the enqueue returned
     * long before, and the callback has not come yet. */
    ck_assert_int_eq(ot_calls(&w0), 0);
    /* A second event in flight on the other slot, and a refused one on the
     * busy slot. */
    ck_assert_msg(mh_ocl_mahi_enqueue(m, 1, SMALL, ot_done, &w1, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(mh_ocl_mahi_enqueue(m, 0, 10, ot_done, &w1, err, sizeof err), MH_INVALID);
    ck_assert_msg(strstr(err, "mahi slot 0: an event is still in flight"), "%s", err);
    mh_ocl_mahi_in dummy;
    ck_assert_int_eq(mh_ocl_mahi_inputs(m, 0, 10, &dummy, err, sizeof err), MH_INVALID);

    /* Meanwhile the caller does its own work: the CPU reference. */
    ref r0 = cpu_fit(&in0, BIG);
    ref r1 = cpu_fit(&in1, SMALL);
    ot_wait(&w0);
    ot_wait(&w1);
    fprintf(stderr, "mahi async: enqueue of %d channels returned in %.3f ms, done after %.1f ms\n",
            BIG, 1e3 * t_enq, 1e3 * (w0.when - t0));
    ck_assert_int_eq(w0.calls, 1);
    ck_assert_int_eq(w1.calls, 1);
    ck_assert_msg(w0.st == MH_OK && w1.st == MH_OK, "%s %s", w0.msg, w1.msg);
    ck_assert(!pthread_equal(w0.thread, pthread_self()));
    ck_assert(!pthread_equal(w1.thread, pthread_self()));
    ck_assert(t_enq < 0.5 * (w0.when - t0));
    mh_ocl_mahi_out o0 = mh_ocl_mahi_outputs(m, 0), o1 = mh_ocl_mahi_outputs(m, 1);
    compare(&o0, &r0, BIG);
    compare(&o1, &r1, SMALL);
    ref_free(&r0);
    ref_free(&r1);

    /* An empty event completes through the callback too. */
    ot_waiter w2;
    ot_waiter_init(&w2);
    ck_assert_int_eq(mh_ocl_mahi_inputs(m, 0, 0, &dummy, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_ocl_mahi_enqueue(m, 0, 0, ot_done, &w2, err, sizeof err), MH_OK);
    ot_wait(&w2);
    ck_assert_int_eq(w2.st, MH_OK);
    ot_waiter_destroy(&w0);
    ot_waiter_destroy(&w1);
    ot_waiter_destroy(&w2);
    mh_ocl_mahi_free(m);
}
END_TEST

START_TEST(injected_errors_mid_run)
{
    char err[1024] = "";
    mh_ocl_mahi *m = create(1, 0, NULL);
    mh_ocl_mahi_in in;
    ck_assert_int_eq(mh_ocl_mahi_inputs(m, 0, 200, &in, err, sizeof err), MH_OK);
    ot_mahi_channels(&pulse, 200, in.charge_fc, in.adc_bin_width, in.ped_width, in.gain,
                     in.fc_per_pe);
    /* The device dies after one more kernel launch. */
    mh_ocl_inject_fault("clEnqueueNDRangeKernel", CL_OUT_OF_RESOURCES, 1);
    ck_assert_msg(mh_ocl_mahi_run(m, 0, 200, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_int_eq(mh_ocl_mahi_run(m, 0, 200, err, sizeof err), MH_DEVICE);
    ck_assert_str_eq(err, "mahi slot 0: clEnqueueNDRangeKernel: CL_OUT_OF_RESOURCES");

    /* A command that fails on the device is reported by the callback. */
    mh_ocl_inject_fault("completion", CL_DEVICE_NOT_AVAILABLE, 0);
    ck_assert_int_eq(mh_ocl_mahi_run(m, 0, 200, err, sizeof err), MH_DEVICE);
    ck_assert_str_eq(err, "mahi slot 0: command completion (execution): CL_DEVICE_NOT_AVAILABLE");

    /* Disarmed: the same slot works again. */
    mh_ocl_inject_fault(NULL, 0, 0);
    ck_assert_msg(mh_ocl_mahi_run(m, 0, 200, err, sizeof err) == MH_OK, "%s", err);
    mh_ocl_mahi_free(m);

    /* Failures while creating name the call. */
    mh_ocl_inject_fault("clCreateBuffer", CL_MEM_OBJECT_ALLOCATION_FAILURE, 0);
    mh_ocl_run_opts o = {0};
    ck_assert_int_eq(mh_ocl_mahi_create(ot_dev, &cfg, &pulse, &o, &m, NULL, err, sizeof err),
                     MH_DEVICE);
    ck_assert_msg(strstr(err, "clCreateBuffer: CL_MEM_OBJECT_ALLOCATION_FAILURE"), "%s", err);
    ck_assert_ptr_null(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ocl_mahi");
    TCase *tc = tcase_create("pocl");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, ot_teardown);
    tcase_add_test(tc, agrees_with_cpu_and_cache_hits);
    tcase_add_test(tc, prebuilt_binary_and_bad_config);
    tcase_add_test(tc, async_caller_is_free_and_slots_overlap);
    tcase_add_test(tc, injected_errors_mid_run);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
