/* run_facile.c - the FACILE backend on the execution engine: weights upload
 * and the per-event wrappers. See mh_ocl_facile.h. */
#include "ocl/mh_ocl_facile.h"

#include <stdlib.h>

#include "ocl/exec_internal.h"

struct mh_ocl_facile {
    mh__ocl_exec *x;
    cl_program prog;
    cl_mem wts;    /* all layers: W (out x in) then b, back to back */
    cl_mem layers; /* cl_int4 per layer: in, out, relu, offset of W */
    size_t nin, nout;
};

/* Packs the folded layers and uploads them (once per device). */
static mh_status mh__upload(mh_ocl_facile *f, mh_ocl_device *dev, const mh_facile *model,
                            char *err, size_t errlen)
{
    size_t nl = mh_facile_num_layers(model), total = 0;
    mh_facile_layer_view v;
    for (size_t i = 0; i < nl; i++) {
        if (mh_facile_layer(model, i, &v) != MH_OK)
            return mh_fail(err, errlen, MH_INTERNAL, "facile: layer %zu missing", i);
        if (v.in > MH_OCL_FACILE_MAXW || v.out > MH_OCL_FACILE_MAXW)
            return mh_fail(err, errlen, MH_PARAM,
                           "facile on OpenCL: layer %zu is %zu x %zu, the kernel handles at "
                           "most %d units per layer",
                           i, v.in, v.out, MH_OCL_FACILE_MAXW);
        total += v.out * v.in + v.out;
    }
    mh_status st = MH_OK;
    float *w = malloc(sizeof *w * (total ? total : 1));
    cl_int *tab = malloc(sizeof(cl_int) * 4 * (nl ? nl : 1));
    if (!w || !tab) {
        st = mh_fail(err, errlen, MH_NOMEM, "facile: out of memory");
        goto out;
    }
    size_t off = 0;
    for (size_t i = 0; i < nl; i++) {
        mh_facile_layer(model, i, &v);
        tab[4 * i + 0] = (cl_int)v.in;
        tab[4 * i + 1] = (cl_int)v.out;
        tab[4 * i + 2] = v.relu;
        tab[4 * i + 3] = (cl_int)off;
        for (size_t k = 0; k < v.out * v.in; k++)
            w[off++] = v.w[k];
        for (size_t k = 0; k < v.out; k++)
            w[off++] = v.b[k];
    }
    cl_context ctx = mh_ocl_device_context(dev);
    const cl_mem_flags fl = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_int rc = mh_ocl_fault("clCreateBuffer");
    if (rc == CL_SUCCESS)
        f->wts = clCreateBuffer(ctx, fl, sizeof *w * (total ? total : 1), w, &rc);
    if (rc == CL_SUCCESS)
        f->layers = clCreateBuffer(ctx, fl, sizeof(cl_int) * 4 * (nl ? nl : 1), tab, &rc);
    if (rc != CL_SUCCESS) {
        st = mh_ocl_failf(err, errlen, "clCreateBuffer", rc, "facile weights (%zu floats)",
                          total);
        goto out;
    }
    cl_uint nlayers = (cl_uint)nl, nin = (cl_uint)f->nin, nout = (cl_uint)f->nout;
    /* Constants follow n, the input and the output (exec_internal.h). */
    if ((st = mh__ocl_exec_set_arg(f->x, 3, sizeof(cl_mem), &f->wts, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_set_arg(f->x, 4, sizeof(cl_mem), &f->layers, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_set_arg(f->x, 5, sizeof nlayers, &nlayers, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_set_arg(f->x, 6, sizeof nin, &nin, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_set_arg(f->x, 7, sizeof nout, &nout, err, errlen)) != MH_OK)
        goto out;
out:
    free(tab);
    free(w);
    return st;
}

mh_status mh_ocl_facile_create(mh_ocl_device *dev, const mh_facile *model,
                               const mh_ocl_run_opts *opts, mh_ocl_facile **out,
                               mh_ocl_build_info *info, char *err, size_t errlen)
{
    *out = NULL;
    if (!dev || !model || !opts)
        return mh_fail(err, errlen, MH_INVALID, "facile on OpenCL: NULL argument");
    mh_ocl_facile *f = calloc(1, sizeof *f);
    if (!f)
        return mh_fail(err, errlen, MH_NOMEM, "facile: out of memory");
    f->nin = mh_facile_num_inputs(model);
    f->nout = mh_facile_num_outputs(model);
    mh_status st;
    if (f->nin > MH_OCL_FACILE_MAXW || f->nout > MH_OCL_FACILE_MAXW) {
        st = mh_fail(err, errlen, MH_PARAM, "facile on OpenCL: %zu inputs, %zu outputs: at most %d",
                     f->nin, f->nout, MH_OCL_FACILE_MAXW);
        goto fail;
    }
    mh__ocl_spec spec = {
        .name = "facile",
        .kernel = "mh_facile_forward",
        .n_in = 1,
        .n_out = 1,
        .in_bytes = {sizeof(float) * f->nin},
        .out_bytes = {sizeof(float) * f->nout},
        .per_item = MH_OCL_FACILE_LANES,
        .local = 32, /* 32 x 8 KiB of private activations per work-group */
    };
    if ((st = mh__ocl_exec_program(dev, "facile", opts, &f->prog, info, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_create(dev, f->prog, &spec, opts, &f->x, err, errlen)) != MH_OK ||
        (st = mh__upload(f, dev, model, err, errlen)) != MH_OK ||
        (st = mh__ocl_exec_warmup(f->x, err, errlen)) != MH_OK)
        goto fail;
    *out = f;
    return MH_OK;
fail:
    mh_ocl_facile_free(f);
    return st;
}

void mh_ocl_facile_free(mh_ocl_facile *f)
{
    if (!f)
        return;
    mh__ocl_exec_free(f->x);
    if (f->wts)
        clReleaseMemObject(f->wts);
    if (f->layers)
        clReleaseMemObject(f->layers);
    if (f->prog)
        clReleaseProgram(f->prog);
    free(f);
}

unsigned mh_ocl_facile_slots(const mh_ocl_facile *f)
{
    return mh__ocl_exec_slots(f->x);
}

mh_status mh_ocl_facile_inputs(mh_ocl_facile *f, unsigned slot, size_t n, float **feat,
                               char *err, size_t errlen)
{
    void *in[1];
    mh_status st = mh__ocl_exec_inputs(f->x, slot, n, in, err, errlen);
    *feat = st == MH_OK ? in[0] : NULL;
    return st;
}

mh_status mh_ocl_facile_enqueue(mh_ocl_facile *f, unsigned slot, size_t n, mh_ocl_done_fn done,
                                void *user, char *err, size_t errlen)
{
    return mh__ocl_exec_enqueue(f->x, slot, n, done, user, err, errlen);
}

mh_status mh_ocl_facile_run(mh_ocl_facile *f, unsigned slot, size_t n, char *err, size_t errlen)
{
    return mh__ocl_exec_run(f->x, slot, n, err, errlen);
}

const float *mh_ocl_facile_outputs(const mh_ocl_facile *f, unsigned slot)
{
    return mh__ocl_exec_output(f->x, slot, 0);
}

mh_ocl_timing mh_ocl_facile_timing(const mh_ocl_facile *f, unsigned slot)
{
    return mh__ocl_exec_timing(f->x, slot);
}
