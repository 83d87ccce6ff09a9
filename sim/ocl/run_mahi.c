/* run_mahi.c - the MAHI backend on the execution engine: configuration and
 * pulse table upload, the fp64 check, per-event wrappers. See
 * mh_ocl_mahi.h; the fit itself is sim/hcal/mahi_core.h. */
#include "ocl/mh_ocl_mahi.h"

#include <stdlib.h>
#include <string.h>

#include "ocl/exec_internal.h"

struct mh_ocl_mahi {
    mh__ocl_exec *x;
    cl_program prog;
    cl_mem cfg;   /* mh_mahi_config, byte copy */
    cl_mem pulse; /* mh_mahi_pulse, byte copy */
};

enum { IN_CHARGE, IN_ADCW, IN_PEDW, IN_GAIN, IN_FCPE, N_IN };
enum { OUT_ENERGY, OUT_CHI2, OUT_OOT, OUT_FLAGS, N_OUT };

/* The fit computes in double, so the device must have cl_khr_fp64. */
static mh_status mh__need_fp64(mh_ocl_device *dev, char *err, size_t errlen)
{
    char ext[8192] = "";
    cl_int rc = mh_ocl_fault("clGetDeviceInfo");
    if (rc == CL_SUCCESS)
        rc = clGetDeviceInfo(mh_ocl_device_id(dev), CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext,
                             NULL);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clGetDeviceInfo", rc, "CL_DEVICE_EXTENSIONS");
    if (!strstr(ext, "cl_khr_fp64"))
        return mh_fail(err, errlen, MH_UNSUPPORTED,
                       "mahi on OpenCL: device '%s' has no cl_khr_fp64 (double precision), "
                       "which the fit needs",
                       mh_ocl_device_get_info(dev)->name);
    return MH_OK;
}

static mh_status mh__upload(mh_ocl_mahi *m, mh_ocl_device *dev, const mh_mahi_config *cfg,
                            const mh_mahi_pulse *pulse, char *err, size_t errlen)
{
    cl_context ctx = mh_ocl_device_context(dev);
    const cl_mem_flags fl = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_int rc = mh_ocl_fault("clCreateBuffer");
    if (rc == CL_SUCCESS)
        m->cfg = clCreateBuffer(ctx, fl, sizeof *cfg, (void *)cfg, &rc);
    if (rc == CL_SUCCESS)
        m->pulse = clCreateBuffer(ctx, fl, sizeof *pulse, (void *)pulse, &rc);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clCreateBuffer", rc, "mahi configuration and pulse");
    mh_status st;
    if ((st = mh__ocl_exec_set_arg(m->x, 1 + N_IN + N_OUT, sizeof(cl_mem), &m->cfg, err,
                                   errlen)) != MH_OK)
        return st;
    return mh__ocl_exec_set_arg(m->x, 2 + N_IN + N_OUT, sizeof(cl_mem), &m->pulse, err, errlen);
}

mh_status mh_ocl_mahi_create(mh_ocl_device *dev, const mh_mahi_config *cfg,
                             const mh_mahi_pulse *pulse, const mh_ocl_run_opts *opts,
                             mh_ocl_mahi **out, mh_ocl_build_info *info, char *err,
                             size_t errlen)
{
    *out = NULL;
    if (!dev || !cfg || !pulse || !opts)
        return mh_fail(err, errlen, MH_INVALID, "mahi on OpenCL: NULL argument");
    mh_status st = mh_mahi_config_check(cfg, pulse, err, errlen);
    if (st != MH_OK)
        return st;
    if ((st = mh__need_fp64(dev, err, errlen)) != MH_OK)
        return st;
    mh_ocl_mahi *m = calloc(1, sizeof *m);
    if (!m)
        return mh_fail(err, errlen, MH_NOMEM, "mahi: out of memory");
    const size_t f = sizeof(float);
    mh__ocl_spec spec = {
        .name = "mahi",
        .kernel = "mh_mahi_fit",
        .n_in = N_IN,
        .n_out = N_OUT,
        .in_bytes = {f * MH_MAHI_NTS, f * MH_MAHI_NTS, f, f, f},
        .out_bytes = {f, f, f * MH_MAHI_NOOT, sizeof(uint8_t)},
        .local = 32, /* one work-group function to compile (at warm-up) */
    };
    if ((st = mh__ocl_exec_program(dev, "mahi", opts, &m->prog, info, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_create(dev, m->prog, &spec, opts, &m->x, err, errlen)) != MH_OK ||
        (st = mh__upload(m, dev, cfg, pulse, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_warmup(m->x, err, errlen)) != MH_OK) {
        mh_ocl_mahi_free(m);
        return st;
    }
    *out = m;
    return MH_OK;
}

void mh_ocl_mahi_free(mh_ocl_mahi *m)
{
    if (!m)
        return;
    mh__ocl_exec_free(m->x);
    if (m->cfg)
        clReleaseMemObject(m->cfg);
    if (m->pulse)
        clReleaseMemObject(m->pulse);
    if (m->prog)
        clReleaseProgram(m->prog);
    free(m);
}

unsigned mh_ocl_mahi_slots(const mh_ocl_mahi *m)
{
    return mh__ocl_exec_slots(m->x);
}

mh_status mh_ocl_mahi_inputs(mh_ocl_mahi *m, unsigned slot, size_t n, mh_ocl_mahi_in *in,
                             char *err, size_t errlen)
{
    void *p[N_IN];
    mh_status st = mh__ocl_exec_inputs(m->x, slot, n, p, err, errlen);
    if (st != MH_OK)
        return st;
    in->charge_fc = p[IN_CHARGE];
    in->adc_bin_width = p[IN_ADCW];
    in->ped_width = p[IN_PEDW];
    in->gain = p[IN_GAIN];
    in->fc_per_pe = p[IN_FCPE];
    return MH_OK;
}

mh_status mh_ocl_mahi_enqueue(mh_ocl_mahi *m, unsigned slot, size_t n, mh_ocl_done_fn done,
                              void *user, char *err, size_t errlen)
{
    return mh__ocl_exec_enqueue(m->x, slot, n, done, user, err, errlen);
}

mh_status mh_ocl_mahi_run(mh_ocl_mahi *m, unsigned slot, size_t n, char *err, size_t errlen)
{
    return mh__ocl_exec_run(m->x, slot, n, err, errlen);
}

mh_ocl_mahi_out mh_ocl_mahi_outputs(const mh_ocl_mahi *m, unsigned slot)
{
    mh_ocl_mahi_out o = {
        .energy = mh__ocl_exec_output(m->x, slot, OUT_ENERGY),
        .chi2 = mh__ocl_exec_output(m->x, slot, OUT_CHI2),
        .oot = mh__ocl_exec_output(m->x, slot, OUT_OOT),
        .flags = mh__ocl_exec_output(m->x, slot, OUT_FLAGS),
    };
    return o;
}

mh_ocl_timing mh_ocl_mahi_timing(const mh_ocl_mahi *m, unsigned slot)
{
    return mh__ocl_exec_timing(m->x, slot);
}
