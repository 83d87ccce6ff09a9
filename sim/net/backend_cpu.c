/* backend_cpu.c - the "cpu" inference backend: sim/ml's forward pass with a
 * per-instance workspace. */
#include <stdlib.h>

#include "net/net_internal.h"

typedef struct mh__cpu_inst {
    const mh_facile *model;
    size_t work_size;
    void *work;
} mh__cpu_inst;

static mh_status mh__cpu_create(const mh_facile *model, void **inst, char *err, size_t errlen)
{
    mh__cpu_inst *c = calloc(1, sizeof *c);
    if (!c)
        return mh_fail(err, errlen, MH_NOMEM, "cpu backend: out of memory");
    c->model = model;
    c->work_size = mh_facile_workspace_size(model);
    c->work = malloc(c->work_size ? c->work_size : 1);
    if (!c->work) {
        free(c);
        return mh_fail(err, errlen, MH_NOMEM, "cpu backend: out of memory");
    }
    *inst = c;
    return MH_OK;
}

static mh_status mh__cpu_execute(void *inst, const float *in, size_t rows, float *out,
                                 char *err, size_t errlen)
{
    mh__cpu_inst *c = inst;
    return mh_facile_forward(c->model, in, rows, out, c->work, c->work_size, err, errlen);
}

static void mh__cpu_free(void *inst)
{
    mh__cpu_inst *c = inst;
    if (!c)
        return;
    free(c->work);
    free(c);
}

const mh_net_backend mh__net_backend_cpu = {
    .struct_size = sizeof(mh_net_backend),
    .name = "cpu",
    .instance_create = mh__cpu_create,
    .execute = mh__cpu_execute,
    .instance_free = mh__cpu_free,
};
