/* device.c - platforms and devices through the ICD loader; contexts and
 * queues on a chosen device. */
#include "ocl/mh_ocl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mh_ocl_device {
    mh_ocl_device_info info;
    cl_context ctx;
};

#define MH__MAX_PLATFORMS 64
#define MH__MAX_DEVICES 256

static mh_status mh__platform_str(cl_platform_id p, cl_platform_info what, const char *wname,
                                  char *buf, size_t len, char *err, size_t errlen)
{
    cl_int rc = mh_ocl_fault("clGetPlatformInfo");
    if (rc == CL_SUCCESS)
        rc = clGetPlatformInfo(p, what, len - 1, buf, NULL);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clGetPlatformInfo", rc, "%s", wname);
    buf[len - 1] = '\0';
    return MH_OK;
}

static mh_status mh__device_get(cl_device_id d, cl_device_info what, const char *wname,
                                void *buf, size_t len, char *err, size_t errlen)
{
    cl_int rc = mh_ocl_fault("clGetDeviceInfo");
    if (rc == CL_SUCCESS)
        rc = clGetDeviceInfo(d, what, len, buf, NULL);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clGetDeviceInfo", rc, "%s", wname);
    return MH_OK;
}

static mh_status mh__device_str(cl_device_id d, cl_device_info what, const char *wname,
                                char *buf, size_t len, char *err, size_t errlen)
{
    /* Strings longer than the buffer give CL_INVALID_VALUE; ask for the size
     * first and truncate ourselves. */
    size_t need = 0;
    cl_int rc = mh_ocl_fault("clGetDeviceInfo");
    if (rc == CL_SUCCESS)
        rc = clGetDeviceInfo(d, what, 0, NULL, &need);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clGetDeviceInfo", rc, "%s", wname);
    char *tmp = malloc(need + 1);
    if (!tmp)
        return mh_fail(err, errlen, MH_NOMEM, "clGetDeviceInfo %s: out of memory", wname);
    rc = clGetDeviceInfo(d, what, need, tmp, NULL);
    if (rc != CL_SUCCESS) {
        free(tmp);
        return mh_ocl_failf(err, errlen, "clGetDeviceInfo", rc, "%s", wname);
    }
    tmp[need] = '\0';
    snprintf(buf, len, "%s", tmp);
    free(tmp);
    return MH_OK;
}

static mh_ocl_type mh__type_of(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return MH_OCL_GPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return MH_OCL_ACCELERATOR;
    if (t & CL_DEVICE_TYPE_CPU)
        return MH_OCL_CPU;
    return MH_OCL_CUSTOM;
}

/* Parses "OpenCL <major>.<minor> ..." (the format the spec mandates). */
static void mh__parse_version(const char *v, int *major, int *minor)
{
    *major = *minor = 0;
    if (strncmp(v, "OpenCL ", 7))
        return;
    if (sscanf(v + 7, "%d.%d", major, minor) != 2)
        *major = *minor = 0;
}

static mh_status mh__describe(cl_platform_id p, cl_device_id d, mh_ocl_device_info *o, char *err,
                              size_t errlen)
{
    mh_status st;
    memset(o, 0, sizeof *o);
    o->platform = p;
    o->id = d;
#define MH__P(field, what)                                                                  \
    if ((st = mh__platform_str(p, what, #what, o->field, sizeof o->field, err, errlen)) != \
        MH_OK)                                                                              \
        return st;
#define MH__S(field, what)                                                                \
    if ((st = mh__device_str(d, what, #what, o->field, sizeof o->field, err, errlen)) != \
        MH_OK)                                                                            \
        return st;
#define MH__V(var, what)                                                                   \
    if ((st = mh__device_get(d, what, #what, &var, sizeof var, err, errlen)) != MH_OK) \
        return st;
    MH__P(platform_name, CL_PLATFORM_NAME)
    MH__P(platform_vendor, CL_PLATFORM_VENDOR)
    MH__P(platform_version, CL_PLATFORM_VERSION)
    MH__S(name, CL_DEVICE_NAME)
    MH__S(vendor, CL_DEVICE_VENDOR)
    MH__S(version, CL_DEVICE_VERSION)
    MH__S(c_version, CL_DEVICE_OPENCL_C_VERSION)
    MH__S(driver_version, CL_DRIVER_VERSION)
    cl_device_type type;
    cl_uint cu;
    cl_ulong gmem, lmem, amax;
    size_t wg;
    MH__V(type, CL_DEVICE_TYPE)
    MH__V(cu, CL_DEVICE_MAX_COMPUTE_UNITS)
    MH__V(gmem, CL_DEVICE_GLOBAL_MEM_SIZE)
    MH__V(lmem, CL_DEVICE_LOCAL_MEM_SIZE)
    MH__V(amax, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
    MH__V(wg, CL_DEVICE_MAX_WORK_GROUP_SIZE)
#undef MH__P
#undef MH__S
#undef MH__V
    o->type = mh__type_of(type);
    o->compute_units = cu;
    o->global_mem = gmem;
    o->local_mem = lmem;
    o->max_alloc = amax;
    o->max_work_group = wg;
    mh__parse_version(o->version, &o->cl_major, &o->cl_minor);
    return MH_OK;
}

static int mh__rank_of(mh_ocl_type t)
{
    switch (t) {
    case MH_OCL_GPU: return 0;
    case MH_OCL_ACCELERATOR: return 1;
    case MH_OCL_CUSTOM: return 2;
    default: return 3;
    }
}

mh_status mh_ocl_list(mh_ocl_device_info **list, size_t *n, char *err, size_t errlen)
{
    *list = NULL;
    *n = 0;
    cl_platform_id plats[MH__MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int rc = mh_ocl_fault("clGetPlatformIDs");
    if (rc == CL_SUCCESS)
        rc = clGetPlatformIDs(MH__MAX_PLATFORMS, plats, &np);
    if (rc == -1001 /* CL_PLATFORM_NOT_FOUND_KHR, cl_ext.h */ || (rc == CL_SUCCESS && np == 0))
        return MH_OK; /* no ICD installed: an empty list, not an error */
    if (rc != CL_SUCCESS)
        return mh_ocl_fail(err, errlen, "clGetPlatformIDs", rc);
    if (np > MH__MAX_PLATFORMS)
        np = MH__MAX_PLATFORMS;

    mh_ocl_device_info *out = calloc(MH__MAX_DEVICES, sizeof *out);
    if (!out)
        return mh_fail(err, errlen, MH_NOMEM, "listing OpenCL devices: out of memory");
    size_t count = 0;
    mh_status st = MH_OK;
    for (cl_uint p = 0; p < np && count < MH__MAX_DEVICES; p++) {
        cl_device_id devs[MH__MAX_DEVICES];
        cl_uint nd = 0;
        rc = mh_ocl_fault("clGetDeviceIDs");
        if (rc == CL_SUCCESS)
            rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MH__MAX_DEVICES, devs, &nd);
        if (rc == CL_DEVICE_NOT_FOUND)
            continue; /* a platform without devices */
        if (rc != CL_SUCCESS) {
            st = mh_ocl_fail(err, errlen, "clGetDeviceIDs", rc);
            goto fail_free;
        }
        if (nd > MH__MAX_DEVICES)
            nd = MH__MAX_DEVICES;
        for (cl_uint d = 0; d < nd && count < MH__MAX_DEVICES; d++) {
            st = mh__describe(plats[p], devs[d], &out[count], err, errlen);
            if (st != MH_OK)
                goto fail_free;
            count++;
        }
    }
    /* Stable insertion sort into selection order (lists are tiny). */
    for (size_t i = 1; i < count; i++) {
        mh_ocl_device_info tmp = out[i];
        size_t j = i;
        while (j > 0 && mh__rank_of(out[j - 1].type) > mh__rank_of(tmp.type)) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = tmp;
    }
    *list = out;
    *n = count;
    return MH_OK;

fail_free:
    free(out);
    return st;
}

void mh_ocl_list_free(mh_ocl_device_info *list)
{
    free(list);
}

mh_status mh_ocl_device_open(const mh_ocl_device_info *info, mh_ocl_device **out, char *err,
                             size_t errlen)
{
    *out = NULL;
    if (!info || !info->id)
        return mh_fail(err, errlen, MH_INVALID, "mh_ocl_device_open: not a listed device");
    mh_ocl_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return mh_fail(err, errlen, MH_NOMEM, "opening OpenCL device: out of memory");
    dev->info = *info;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)info->platform,
                                     0};
    cl_int rc = mh_ocl_fault("clCreateContext");
    if (rc == CL_SUCCESS)
        dev->ctx = clCreateContext(props, 1, &info->id, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        free(dev);
        return mh_ocl_failf(err, errlen, "clCreateContext", rc, "%s / %s", info->platform_name,
                            info->name);
    }
    *out = dev;
    return MH_OK;
}

mh_status mh_ocl_device_open_selected(const mh_ocl_selector *sel, mh_ocl_device **out,
                                      char *err, size_t errlen)
{
    *out = NULL;
    mh_ocl_selector s;
    if (sel)
        s = *sel;
    else
        mh_ocl_selector_init(&s);
    mh_status st = mh_ocl_selector_apply_env(&s, NULL, err, errlen);
    if (st != MH_OK)
        return st;
    mh_ocl_device_info *list;
    size_t n, idx;
    st = mh_ocl_list(&list, &n, err, errlen);
    if (st != MH_OK)
        return st;
    st = mh_ocl_select(&s, list, n, &idx, err, errlen);
    if (st == MH_OK)
        st = mh_ocl_device_open(&list[idx], out, err, errlen);
    mh_ocl_list_free(list);
    return st;
}

void mh_ocl_device_free(mh_ocl_device *dev)
{
    if (!dev)
        return;
    if (dev->ctx)
        clReleaseContext(dev->ctx);
    free(dev);
}

const mh_ocl_device_info *mh_ocl_device_get_info(const mh_ocl_device *dev)
{
    return &dev->info;
}

cl_context mh_ocl_device_context(const mh_ocl_device *dev)
{
    return dev->ctx;
}

cl_device_id mh_ocl_device_id(const mh_ocl_device *dev)
{
    return dev->info.id;
}

mh_status mh_ocl_queue_create(mh_ocl_device *dev, bool profiling, cl_command_queue *queue,
                              char *err, size_t errlen)
{
    *queue = NULL;
    cl_int rc = mh_ocl_fault("clCreateCommandQueue");
    cl_command_queue q = NULL;
    if (rc == CL_SUCCESS)
        q = clCreateCommandQueue(dev->ctx, dev->info.id,
                                 profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
    if (rc != CL_SUCCESS)
        return mh_ocl_fail(err, errlen, "clCreateCommandQueue", rc);
    *queue = q;
    return MH_OK;
}
