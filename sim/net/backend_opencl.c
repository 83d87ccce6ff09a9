/* backend_opencl.c - the "opencl" inference backend: the FACILE kernel of
 * sim/ocl (mh_ocl_facile.h) on the device chosen by MINIHLT_OCL_DEVICE
 * (default: the first device, e.g. PoCL's CPU device). Each model instance
 * opens its own context and program with one slot; a batch is copied into
 * the slot, run (enqueue + wait on this instance's thread) and copied out. */
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "ocl/mh_ocl.h"
#include "ocl/mh_ocl_facile.h"

typedef struct mh__ocl_inst {
    mh_ocl_device *dev;
    mh_ocl_facile *f;
    size_t nin, nout;
} mh__ocl_inst;

static void mh__ocl_free(void *inst)
{
    mh__ocl_inst *o = inst;
    if (!o)
        return;
    mh_ocl_facile_free(o->f);
    mh_ocl_device_free(o->dev);
    free(o);
}

static mh_status mh__ocl_create(const mh_facile *model, void **inst, char *err, size_t errlen)
{
    mh__ocl_inst *o = calloc(1, sizeof *o);
    if (!o)
        return mh_fail(err, errlen, MH_NOMEM, "opencl backend: out of memory");
    o->nin = mh_facile_num_inputs(model);
    o->nout = mh_facile_num_outputs(model);
    mh_status st = mh_ocl_device_open_selected(NULL, &o->dev, err, errlen);
    if (st == MH_OK) {
        mh_ocl_run_opts opts;
        memset(&opts, 0, sizeof opts);
        opts.n_slots = 1;
        st = mh_ocl_facile_create(o->dev, model, &opts, &o->f, NULL, err, errlen);
    }
    if (st != MH_OK) {
        mh_fail_prefix(err, errlen, st, "opencl backend: ");
        mh__ocl_free(o);
        return st;
    }
    *inst = o;
    return MH_OK;
}

static mh_status mh__ocl_execute(void *inst, const float *in, size_t rows, float *out,
                                 char *err, size_t errlen)
{
    mh__ocl_inst *o = inst;
    float *feat = NULL;
    mh_status st = mh_ocl_facile_inputs(o->f, 0, rows, &feat, err, errlen);
    if (st != MH_OK)
        return st;
    memcpy(feat, in, rows * o->nin * sizeof(float));
    if ((st = mh_ocl_facile_run(o->f, 0, rows, err, errlen)) != MH_OK)
        return st;
    memcpy(out, mh_ocl_facile_outputs(o->f, 0), rows * o->nout * sizeof(float));
    return MH_OK;
}

const mh_net_backend mh__net_backend_opencl = {
    .struct_size = sizeof(mh_net_backend),
    .name = "opencl",
    .instance_create = mh__ocl_create,
    .execute = mh__ocl_execute,
    .instance_free = mh__ocl_free,
};
