/* kernels.c - the table of kernel sources embedded in the library
 * (sim/ocl/kernels/NAME.cl, turned into mh_kernel_NAME by the Makefile).
 * Add a row here when adding a .cl file. */
#include "ocl/mh_ocl.h"

#include <string.h>

static const struct {
    const char *name;
    const char *source;
} mh__kernels[] = {
    {"selftest", mh_kernel_selftest},
};

static const char *const mh__kernel_names[] = {"selftest", NULL};

const char *mh_ocl_kernel_source(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof mh__kernels / sizeof mh__kernels[0]; i++)
        if (!strcmp(mh__kernels[i].name, name))
            return mh__kernels[i].source;
    return NULL;
}

const char *const *mh_ocl_kernel_names(void)
{
    return mh__kernel_names;
}
