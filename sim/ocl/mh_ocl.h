/* mh_ocl.h - the OpenCL device layer of minihlt.
 *
 * Owns: discovering platforms and devices through the ICD loader, choosing
 * one (by type, index, name, with the MINIHLT_OCL_DEVICE override), opening
 * a context and queues on it, building programs from the embedded kernel
 * sources with an on-disk binary cache or loading a prebuilt binary (the FPGA
 * flow: .aocx, .xclbin), and reporting every OpenCL error by name together
 * with the call that failed. See sim/ocl/README.md.
 *
 * Everything here targets the OpenCL 1.2 API so that it runs on 1.2 devices
 * (FPGA boards often are). Include this header instead of <CL/cl.h>.
 */
#ifndef MH_OCL_H
#define MH_OCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#if CL_TARGET_OPENCL_VERSION != 120
#error "minihlt targets OpenCL 1.2: include ocl/mh_ocl.h before any <CL/...> header"
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS /* clCreateCommandQueue is the 1.2 way */
#endif
#include <CL/cl.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ errors */

/* Returns the symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES"),
 * or "CL_UNKNOWN_ERROR" for a code not in the table. Static string. */
const char *mh_ocl_errname(cl_int code);

/* Looks up a code by its name ("CL_INVALID_BINARY"). Returns false if the
 * name is not in the table. */
bool mh_ocl_errcode(const char *name, cl_int *code);

/* Writes "CALL: CL_NAME" into err (unknown codes get their number appended:
 * "CALL: CL_UNKNOWN_ERROR (-9999)") and returns MH_DEVICE. */
mh_status mh_ocl_fail(char *err, size_t errlen, const char *call, cl_int code);

/* Same with a detail: "CALL: CL_NAME: DETAIL". Returns MH_DEVICE. */
mh_status mh_ocl_failf(char *err, size_t errlen, const char *call, cl_int code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ------------------------------------------------------- fault injection
 *
 * A test hook to simulate a failing device. Every OpenCL call the layer (and
 * later the OpenCL plugin) makes goes through mh_ocl_fault(NAME) first; when a
 * fault is armed for NAME, the call is not made and the armed error code is
 * returned as if the driver had returned it.
 *
 * mh_ocl_inject_fault(call, code, skip): let `skip` calls of `call` through,
 * then fail every later one with `code` (a dead device stays dead). call ==
 * NULL disarms. One fault is armed at a time; arming replaces the previous.
 *
 * The environment variable MINIHLT_OCL_FAULT arms a fault at the first OpenCL
 * call of the process: "CALL[:CL_ERROR_NAME[:SKIP]]", e.g.
 *   MINIHLT_OCL_FAULT=clEnqueueNDRangeKernel:CL_OUT_OF_RESOURCES:10
 * (default error CL_OUT_OF_RESOURCES, default skip 0). A malformed value arms
 * nothing and is reported by mh_ocl_fault_env_error(). */
void mh_ocl_inject_fault(const char *call, cl_int code, unsigned long skip);

/* Returns CL_SUCCESS, or the injected error if `call` is to fail now.
 * Thread-safe; costs one atomic load when nothing is armed. */
cl_int mh_ocl_fault(const char *call);

/* Parses a MINIHLT_OCL_FAULT value. Returns MH_INVALID with a reason for a
 * malformed one. Pure: arms nothing. */
mh_status mh_ocl_fault_parse(const char *text, char *call, size_t calllen, cl_int *code,
                             unsigned long *skip, char *err, size_t errlen);

/* Non-NULL with a message if MINIHLT_OCL_FAULT was set but malformed. */
const char *mh_ocl_fault_env_error(void);

/* ------------------------------------------------------------- devices */

typedef enum mh_ocl_type {
    MH_OCL_ANY = 0, /* only meaningful in a selector */
    MH_OCL_GPU,
    MH_OCL_ACCELERATOR, /* FPGA boards (CL_DEVICE_TYPE_ACCELERATOR) */
    MH_OCL_CUSTOM,
    MH_OCL_CPU,
} mh_ocl_type;

/* "any", "gpu", "accelerator", "custom", "cpu". */
const char *mh_ocl_type_name(mh_ocl_type t);

#define MH_OCL_STR 256

/* What we know about one device. Plain data: tests build fake lists of
 * these (with platform/id NULL) to exercise the selection logic. */
typedef struct mh_ocl_device_info {
    char platform_name[MH_OCL_STR];
    char platform_vendor[MH_OCL_STR];
    char platform_version[MH_OCL_STR]; /* CL_PLATFORM_VERSION */
    char name[MH_OCL_STR];
    char vendor[MH_OCL_STR];
    mh_ocl_type type;
    unsigned compute_units;
    uint64_t global_mem;    /* bytes */
    uint64_t local_mem;     /* bytes */
    uint64_t max_alloc;     /* bytes, CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    size_t max_work_group;  /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    char version[MH_OCL_STR];          /* CL_DEVICE_VERSION "OpenCL 3.0 ..." */
    char c_version[MH_OCL_STR];        /* CL_DEVICE_OPENCL_C_VERSION */
    char driver_version[MH_OCL_STR];   /* CL_DRIVER_VERSION */
    int cl_major, cl_minor;            /* parsed from version */
    cl_platform_id platform;
    cl_device_id id;
} mh_ocl_device_info;

/* Lists every device of every platform the ICD loader knows, in selection
 * order: GPUs first, then accelerators, custom devices, CPUs, each group in
 * platform/device order. The position in this list is the index that a
 * selector with type=any uses. No platform at all is not an error: *n = 0.
 * On success the caller owns *list (free with mh_ocl_list_free). */
mh_status mh_ocl_list(mh_ocl_device_info **list, size_t *n, char *err, size_t errlen);
void mh_ocl_list_free(mh_ocl_device_info *list);

/* ------------------------------------------------------------ selection
 *
 * A selector: type (any|gpu|accelerator|cpu|custom), index N among the
 * devices matching type and name (in list order), name = case-insensitive
 * substring of the device or platform name ("" = any name).
 *
 * String form (MINIHLT_OCL_DEVICE, `minihlt devices --device`): a comma
 * separated list of key=value with keys type, index, name, each at most once,
 * no spaces around '=' or ',', e.g. "type=gpu,index=0,name=A100". Omitted keys
 * take their defaults (type=any, index=0, no name). The name value runs to the
 * next ',' and may contain spaces. */
typedef struct mh_ocl_selector {
    mh_ocl_type type;
    unsigned index;
    char name[MH_OCL_STR];
} mh_ocl_selector;

#define MH_OCL_DEVICE_ENV "MINIHLT_OCL_DEVICE"

/* Sets the defaults: any type, index 0, any name. */
void mh_ocl_selector_init(mh_ocl_selector *sel);

/* Parses the string form strictly (unknown key, repeated key, bad type,
 * index not a number in [0, 65535], empty text: MH_INVALID). */
mh_status mh_ocl_selector_parse(const char *text, mh_ocl_selector *sel, char *err,
                                size_t errlen);

/* Sets one key from its value as text, the way a config's
 * `device: {type: gpu, index: 0, name: A100}` map is applied key by key
 * (index given as its decimal text). Same checks as the string form;
 * MH_INVALID leaves *sel untouched. */
mh_status mh_ocl_selector_set(mh_ocl_selector *sel, const char *key, const char *value,
                              char *err, size_t errlen);

/* Applies a config's `device:` map given as YAML text (what the module
 * ABI passes for an MH_PARAM_MAP parameter, e.g. "{type: gpu, index: 0}"),
 * key by key through mh_ocl_selector_set. Empty text or an empty map leave
 * *sel as it is. Errors (MH_CONFIG / MH_INVALID, *sel untouched): not a
 * mapping, a value that is not a scalar, and whatever selector_set
 * refuses (unknown key, bad type or index). Uses libfyaml. */
mh_status mh_ocl_selector_set_yaml(mh_ocl_selector *sel, const char *yaml, char *err,
                                   size_t errlen);

/* Formats a selector back into the string form; omits keys at their default
 * except type ("type=any" for the default selector). Returns buf. */
char *mh_ocl_selector_format(const mh_ocl_selector *sel, char *buf, size_t len);

/* If MINIHLT_OCL_DEVICE is set and non-empty, parses it into *sel, replacing
 * the configured selector as a whole, and sets *overridden. A malformed value
 * is an error (MH_CONFIG naming the variable), never silently ignored. */
mh_status mh_ocl_selector_apply_env(mh_ocl_selector *sel, bool *overridden, char *err,
                                    size_t errlen);

/* Picks a device from a list (pure: no OpenCL call). On success *index is a
 * position in list. With no match, MH_NOTFOUND and err reads
 *   no OpenCL device matches type=gpu; available: [0] PLATFORM / DEVICE (cpu), ...
 * (or "available: none (no OpenCL platform found)"). */
mh_status mh_ocl_select(const mh_ocl_selector *sel, const mh_ocl_device_info *list, size_t n,
                        size_t *index, char *err, size_t errlen);

/* Position of list[i] among the devices of its own type (the index of a
 * type=T selector), for listings. */
unsigned mh_ocl_type_index(const mh_ocl_device_info *list, size_t n, size_t i);

/* --------------------------------------------------- context and queues */

typedef struct mh_ocl_device mh_ocl_device;

/* Opens a context on one listed device. The handle copies *info. Caller owns
 * *out (mh_ocl_device_free). */
mh_status mh_ocl_device_open(const mh_ocl_device_info *info, mh_ocl_device **out, char *err,
                             size_t errlen);

/* The whole start-up in one call: apply MINIHLT_OCL_DEVICE over *sel (sel may
 * be NULL for the defaults), list, select, open. */
mh_status mh_ocl_device_open_selected(const mh_ocl_selector *sel, mh_ocl_device **out,
                                      char *err, size_t errlen);

void mh_ocl_device_free(mh_ocl_device *dev);

/* Borrowed views; valid while dev lives. */
const mh_ocl_device_info *mh_ocl_device_get_info(const mh_ocl_device *dev);
cl_context mh_ocl_device_context(const mh_ocl_device *dev);
cl_device_id mh_ocl_device_id(const mh_ocl_device *dev);

/* Creates an in-order command queue (with profiling if asked). Caller owns
 * *queue (clReleaseCommandQueue). */
mh_status mh_ocl_queue_create(mh_ocl_device *dev, bool profiling, cl_command_queue *queue,
                              char *err, size_t errlen);

/* ------------------------------------------------------------- programs */

/* Embedded kernel sources (sim/ocl/kernels/NAME.cl, generated at build). */
extern const char mh_kernel_selftest[];

/* Looks an embedded program source up by NAME ("selftest", "facile",
 * "mahi"; a program may join several sources under kernels/, see kernels.c);
 * NULL if unknown. Static string. */
const char *mh_ocl_kernel_source(const char *name);

/* Names of the embedded kernel sources, NULL-terminated. */
const char *const *mh_ocl_kernel_names(void);

typedef struct mh_ocl_build_opts {
    const char *name;        /* source name for messages and cache files ("selftest") */
    const char *source;      /* OpenCL C source; ignored when binary_path is set */
    const char *options;     /* clBuildProgram options; NULL = "" */
    const char *binary_path; /* prebuilt program binary (.aocx, .xclbin, a saved PoCL
                                binary): loaded instead of building from source */
    const char *cache_dir;   /* NULL = mh_ocl_cache_dir() */
    bool no_cache;           /* build from source, neither read nor write the cache */
} mh_ocl_build_opts;

typedef enum mh_ocl_origin {
    MH_OCL_FROM_SOURCE,   /* cache miss (or cache off): compiled from source */
    MH_OCL_FROM_CACHE,    /* cache hit */
    MH_OCL_FROM_REBUILD,  /* the cache entry was corrupt or rejected: rebuilt */
    MH_OCL_FROM_BINARY,   /* prebuilt binary file */
} mh_ocl_origin;

typedef struct mh_ocl_build_info {
    mh_ocl_origin origin;
    bool cache_written;       /* a new cache entry was stored */
    uint64_t key;             /* cache key (0 for a prebuilt binary) */
    char cache_path[1024];    /* the entry looked up ("" when cache off) */
    char note[1024];          /* why a cache entry was rejected, or a cache write that
                                 failed (the build still succeeded); "" if none */
} mh_ocl_build_info;

/* Builds (or loads) a program for dev. Caller owns *prog (clReleaseProgram).
 * info may be NULL. Errors: MH_DEVICE with "clBuildProgram:
 * CL_BUILD_PROGRAM_FAILURE: <log>" and the like; a bad prebuilt binary gives
 * "FILE: clCreateProgramWithBinary: CL_INVALID_BINARY" (MH_DEVICE), an
 * unreadable one MH_IO naming the file. A cache that cannot be written is not
 * an error (see info->note). */
mh_status mh_ocl_program_build(mh_ocl_device *dev, const mh_ocl_build_opts *opts,
                               cl_program *prog, mh_ocl_build_info *info, char *err,
                               size_t errlen);

/* Cache directory: $MINIHLT_CACHE, else $XDG_CACHE_HOME/minihlt, else
 * $HOME/.cache/minihlt. Program entries live in its "ocl" subfolder.
 * MH_CONFIG if none of the variables is set. */
mh_status mh_ocl_cache_dir(char *buf, size_t len, char *err, size_t errlen);

/* The cache key of a program: FNV-1a 64 over device name, driver version,
 * platform version, device version, build options and a hash of the source.
 * Pure. */
uint64_t mh_ocl_cache_key(const mh_ocl_device_info *info, const char *options,
                          const char *source);

/* Gets the program binary for dev. Caller owns *bin (free). */
mh_status mh_ocl_program_binary(cl_program prog, const mh_ocl_device *dev, unsigned char **bin,
                                size_t *len, char *err, size_t errlen);

/* Writes the program binary to path atomically (temporary file + rename).
 * This file is what `binary:` in a config (or opts.binary_path) loads. */
mh_status mh_ocl_program_save(cl_program prog, const mh_ocl_device *dev, const char *path,
                              char *err, size_t errlen);

/* Creates a kernel, reporting "clCreateKernel(NAME): CL_..." on failure.
 * Caller owns *kernel (clReleaseKernel). */
mh_status mh_ocl_kernel_create(cl_program prog, const char *name, cl_kernel *kernel, char *err,
                               size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
