/* errors.c - OpenCL error names, the "CALL: CL_NAME: detail" messages, and
 * the fault-injection hook used by tests to simulate a failing device. */
#include "ocl/mh_ocl.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* X-macro: code, name. Literal codes so that the table does not depend on
 * which header version defines which macro. */
#define MH__OCL_ERROR_MAP(X)                           \
    X(0, CL_SUCCESS)                                   \
    X(-1, CL_DEVICE_NOT_FOUND)                         \
    X(-2, CL_DEVICE_NOT_AVAILABLE)                     \
    X(-3, CL_COMPILER_NOT_AVAILABLE)                   \
    X(-4, CL_MEM_OBJECT_ALLOCATION_FAILURE)            \
    X(-5, CL_OUT_OF_RESOURCES)                         \
    X(-6, CL_OUT_OF_HOST_MEMORY)                       \
    X(-7, CL_PROFILING_INFO_NOT_AVAILABLE)             \
    X(-8, CL_MEM_COPY_OVERLAP)                         \
    X(-9, CL_IMAGE_FORMAT_MISMATCH)                    \
    X(-10, CL_IMAGE_FORMAT_NOT_SUPPORTED)              \
    X(-11, CL_BUILD_PROGRAM_FAILURE)                   \
    X(-12, CL_MAP_FAILURE)                             \
    X(-13, CL_MISALIGNED_SUB_BUFFER_OFFSET)            \
    X(-14, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST) \
    X(-15, CL_COMPILE_PROGRAM_FAILURE)                 \
    X(-16, CL_LINKER_NOT_AVAILABLE)                    \
    X(-17, CL_LINK_PROGRAM_FAILURE)                    \
    X(-18, CL_DEVICE_PARTITION_FAILED)                 \
    X(-19, CL_KERNEL_ARG_INFO_NOT_AVAILABLE)           \
    X(-30, CL_INVALID_VALUE)                           \
    X(-31, CL_INVALID_DEVICE_TYPE)                     \
    X(-32, CL_INVALID_PLATFORM)                        \
    X(-33, CL_INVALID_DEVICE)                          \
    X(-34, CL_INVALID_CONTEXT)                         \
    X(-35, CL_INVALID_QUEUE_PROPERTIES)                \
    X(-36, CL_INVALID_COMMAND_QUEUE)                   \
    X(-37, CL_INVALID_HOST_PTR)                        \
    X(-38, CL_INVALID_MEM_OBJECT)                      \
    X(-39, CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)         \
    X(-40, CL_INVALID_IMAGE_SIZE)                      \
    X(-41, CL_INVALID_SAMPLER)                         \
    X(-42, CL_INVALID_BINARY)                          \
    X(-43, CL_INVALID_BUILD_OPTIONS)                   \
    X(-44, CL_INVALID_PROGRAM)                         \
    X(-45, CL_INVALID_PROGRAM_EXECUTABLE)              \
    X(-46, CL_INVALID_KERNEL_NAME)                     \
    X(-47, CL_INVALID_KERNEL_DEFINITION)               \
    X(-48, CL_INVALID_KERNEL)                          \
    X(-49, CL_INVALID_ARG_INDEX)                       \
    X(-50, CL_INVALID_ARG_VALUE)                       \
    X(-51, CL_INVALID_ARG_SIZE)                        \
    X(-52, CL_INVALID_KERNEL_ARGS)                     \
    X(-53, CL_INVALID_WORK_DIMENSION)                  \
    X(-54, CL_INVALID_WORK_GROUP_SIZE)                 \
    X(-55, CL_INVALID_WORK_ITEM_SIZE)                  \
    X(-56, CL_INVALID_GLOBAL_OFFSET)                   \
    X(-57, CL_INVALID_EVENT_WAIT_LIST)                 \
    X(-58, CL_INVALID_EVENT)                           \
    X(-59, CL_INVALID_OPERATION)                       \
    X(-60, CL_INVALID_GL_OBJECT)                       \
    X(-61, CL_INVALID_BUFFER_SIZE)                     \
    X(-62, CL_INVALID_MIP_LEVEL)                       \
    X(-63, CL_INVALID_GLOBAL_WORK_SIZE)                \
    X(-64, CL_INVALID_PROPERTY)                        \
    X(-65, CL_INVALID_IMAGE_DESCRIPTOR)                \
    X(-66, CL_INVALID_COMPILER_OPTIONS)                \
    X(-67, CL_INVALID_LINKER_OPTIONS)                  \
    X(-68, CL_INVALID_DEVICE_PARTITION_COUNT)          \
    X(-69, CL_INVALID_PIPE_SIZE)                       \
    X(-70, CL_INVALID_DEVICE_QUEUE)                    \
    X(-71, CL_INVALID_SPEC_ID)                         \
    X(-72, CL_MAX_SIZE_RESTRICTION_EXCEEDED)           \
    X(-1000, CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR)   \
    X(-1001, CL_PLATFORM_NOT_FOUND_KHR)

static const struct {
    cl_int code;
    const char *name;
} mh__ocl_errors[] = {
#define MH__OCL_ERR_ENTRY(code, name) {code, #name},
    MH__OCL_ERROR_MAP(MH__OCL_ERR_ENTRY)
#undef MH__OCL_ERR_ENTRY
};

#define MH__OCL_NERRORS (sizeof mh__ocl_errors / sizeof mh__ocl_errors[0])

const char *mh_ocl_errname(cl_int code)
{
    for (size_t i = 0; i < MH__OCL_NERRORS; i++)
        if (mh__ocl_errors[i].code == code)
            return mh__ocl_errors[i].name;
    return "CL_UNKNOWN_ERROR";
}

bool mh_ocl_errcode(const char *name, cl_int *code)
{
    if (!name)
        return false;
    for (size_t i = 0; i < MH__OCL_NERRORS; i++)
        if (!strcmp(mh__ocl_errors[i].name, name)) {
            *code = mh__ocl_errors[i].code;
            return true;
        }
    return false;
}

static bool mh__ocl_known(cl_int code)
{
    return strcmp(mh_ocl_errname(code), "CL_UNKNOWN_ERROR") != 0;
}

mh_status mh_ocl_fail(char *err, size_t errlen, const char *call, cl_int code)
{
    if (mh__ocl_known(code))
        return mh_fail(err, errlen, MH_DEVICE, "%s: %s", call, mh_ocl_errname(code));
    return mh_fail(err, errlen, MH_DEVICE, "%s: CL_UNKNOWN_ERROR (%d)", call, (int)code);
}

mh_status mh_ocl_failf(char *err, size_t errlen, const char *call, cl_int code,
                       const char *fmt, ...)
{
    if (!err || errlen == 0)
        return MH_DEVICE;
    char detail[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (mh__ocl_known(code))
        return mh_fail(err, errlen, MH_DEVICE, "%s: %s: %s", call, mh_ocl_errname(code),
                       detail);
    return mh_fail(err, errlen, MH_DEVICE, "%s: CL_UNKNOWN_ERROR (%d): %s", call, (int)code,
                   detail);
}

/* ---------------------------------------------------------- fault hook */

static pthread_mutex_t mh__fault_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t mh__fault_once = PTHREAD_ONCE_INIT;
static atomic_int mh__fault_armed;
static char mh__fault_call[128];
static cl_int mh__fault_code;
static unsigned long mh__fault_skip;
static char mh__fault_env_err[256];

mh_status mh_ocl_fault_parse(const char *text, char *call, size_t calllen, cl_int *code,
                             unsigned long *skip, char *err, size_t errlen)
{
    if (!text || !*text)
        return mh_fail(err, errlen, MH_INVALID, "empty fault specification");
    const char *c1 = strchr(text, ':');
    size_t n = c1 ? (size_t)(c1 - text) : strlen(text);
    if (n == 0 || n >= calllen || n >= 128)
        return mh_fail(err, errlen, MH_INVALID, "fault '%s': expected CALL[:CL_ERROR[:SKIP]]",
                       text);
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_'))
            return mh_fail(err, errlen, MH_INVALID, "fault '%s': bad call name", text);
    }
    memcpy(call, text, n);
    call[n] = '\0';
    *code = CL_OUT_OF_RESOURCES;
    *skip = 0;
    if (!c1)
        return MH_OK;
    const char *c2 = strchr(c1 + 1, ':');
    char name[64];
    size_t m = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    if (m == 0 || m >= sizeof name)
        return mh_fail(err, errlen, MH_INVALID, "fault '%s': missing error name", text);
    memcpy(name, c1 + 1, m);
    name[m] = '\0';
    if (!mh_ocl_errcode(name, code) || *code == CL_SUCCESS)
        return mh_fail(err, errlen, MH_INVALID, "fault '%s': unknown OpenCL error '%s'", text,
                       name);
    if (!c2)
        return MH_OK;
    const char *num = c2 + 1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(num, &end, 10);
    if (!*num || *end || errno || num[0] == '-' || num[0] == '+' || v > 1000000000ULL)
        return mh_fail(err, errlen, MH_INVALID, "fault '%s': bad skip count '%s'", text, num);
    *skip = (unsigned long)v;
    return MH_OK;
}

static void mh__fault_arm_locked(const char *call, cl_int code, unsigned long skip)
{
    if (!call) {
        mh__fault_call[0] = '\0';
        atomic_store(&mh__fault_armed, 0);
        return;
    }
    snprintf(mh__fault_call, sizeof mh__fault_call, "%s", call);
    mh__fault_code = code;
    mh__fault_skip = skip;
    atomic_store(&mh__fault_armed, 1);
}

static void mh__fault_from_env(void)
{
    const char *v = getenv("MINIHLT_OCL_FAULT");
    if (!v || !*v)
        return;
    char call[128], why[200];
    cl_int code;
    unsigned long skip;
    if (mh_ocl_fault_parse(v, call, sizeof call, &code, &skip, why, sizeof why) != MH_OK) {
        snprintf(mh__fault_env_err, sizeof mh__fault_env_err, "MINIHLT_OCL_FAULT: %s", why);
        return;
    }
    pthread_mutex_lock(&mh__fault_mu);
    mh__fault_arm_locked(call, code, skip);
    pthread_mutex_unlock(&mh__fault_mu);
}

void mh_ocl_inject_fault(const char *call, cl_int code, unsigned long skip)
{
    pthread_once(&mh__fault_once, mh__fault_from_env); /* the explicit call wins */
    pthread_mutex_lock(&mh__fault_mu);
    mh__fault_arm_locked(call, code, skip);
    pthread_mutex_unlock(&mh__fault_mu);
}

const char *mh_ocl_fault_env_error(void)
{
    pthread_once(&mh__fault_once, mh__fault_from_env);
    return mh__fault_env_err[0] ? mh__fault_env_err : NULL;
}

cl_int mh_ocl_fault(const char *call)
{
    pthread_once(&mh__fault_once, mh__fault_from_env);
    if (!atomic_load_explicit(&mh__fault_armed, memory_order_acquire))
        return CL_SUCCESS;
    cl_int rc = CL_SUCCESS;
    pthread_mutex_lock(&mh__fault_mu);
    if (mh__fault_call[0] && !strcmp(mh__fault_call, call)) {
        if (mh__fault_skip > 0)
            mh__fault_skip--;
        else
            rc = mh__fault_code;
    }
    pthread_mutex_unlock(&mh__fault_mu);
    return rc;
}
