/* exec_internal.h - the asynchronous execution engine under the OpenCL
 * backends (facile.c, mahi.c in this folder); internal to sim/ocl.
 *
 * A backend describes its kernel by an mh__ocl_spec: a kernel name and, per
 * input and output array, the bytes per channel. The kernel's arguments are,
 * by convention, in this order:
 *     uint n, the inputs (in spec order), the outputs, then constants
 * where constants (weights, tables, configuration) are set once per slot
 * with mh__ocl_exec_set_arg() after creation. One work-item per channel (or
 * per spec.per_item channels); the global size is rounded up to 64 and the
 * kernel returns for work-items past the last channel.
 */
#ifndef MH_OCL_EXEC_INTERNAL_H
#define MH_OCL_EXEC_INTERNAL_H

#include "ocl/mh_ocl.h"
#include "ocl/mh_ocl_async.h"

#define MH__OCL_MAXIO 8

typedef struct mh__ocl_spec {
    const char *name;   /* backend name for messages ("facile") */
    const char *kernel; /* kernel function */
    unsigned n_in, n_out;
    size_t in_bytes[MH__OCL_MAXIO];  /* per channel */
    size_t out_bytes[MH__OCL_MAXIO]; /* per channel */
    unsigned per_item; /* channels per work-item (0 = 1): global = ceil(n / per_item) */
    size_t local;      /* work-group size (0 = the driver's choice; else divides 64).
                          Bounds the private memory a work-group needs at once:
                          PoCL keeps it on a thread's stack. */
} mh__ocl_spec;

typedef struct mh__ocl_exec mh__ocl_exec;

/* Creates the slots (queue, kernel, buffers of opts->capacity channels) on
 * dev (borrowed: must outlive the engine) for program prog (borrowed: the
 * kernels keep it alive). Caller owns *out (mh__ocl_exec_free). */
mh_status mh__ocl_exec_create(mh_ocl_device *dev, cl_program prog, const mh__ocl_spec *spec,
                              const mh_ocl_run_opts *opts, mh__ocl_exec **out, char *err,
                              size_t errlen);

/* Waits for nothing: the caller guarantees no event is in flight. NULL ok. */
void mh__ocl_exec_free(mh__ocl_exec *x);

unsigned mh__ocl_exec_slots(const mh__ocl_exec *x);

/* Sets kernel argument `index` (a constant: index >= 1 + n_in + n_out) on
 * every slot's kernel. */
mh_status mh__ocl_exec_set_arg(mh__ocl_exec *x, cl_uint index, size_t size, const void *value,
                               char *err, size_t errlen);

/* Makes room for n channels in the slot (reallocating only if n exceeds
 * every earlier event) and returns its host input arrays in in[0..n_in-1]
 * (page-locked where the driver supports it, 64-byte aligned by the
 * driver's mapping). MH_INVALID if the slot has an event in flight. */
mh_status mh__ocl_exec_inputs(mh__ocl_exec *x, unsigned slot, size_t n, void **in, char *err,
                              size_t errlen);

/* Enqueues the writes of n channels from the slot's input arrays, the
 * kernel and the reads into its output arrays, and returns without waiting;
 * done(user, ...) is called once when the reads complete. On an error
 * return nothing is in flight and done is never called. */
mh_status mh__ocl_exec_enqueue(mh__ocl_exec *x, unsigned slot, size_t n, mh_ocl_done_fn done,
                               void *user, char *err, size_t errlen);

/* Enqueue + wait on the calling thread (tests, benchmarks, a server thread
 * that has nothing else to do). */
mh_status mh__ocl_exec_run(mh__ocl_exec *x, unsigned slot, size_t n, char *err, size_t errlen);

/* Runs one all-zero channel through slot 0 once the constants are set, so
 * that the driver's lazy work (PoCL compiles the work-group function at the
 * first launch) happens at start-up and not in the first event's timing.
 * The fault hook does not count its calls. */
mh_status mh__ocl_exec_warmup(mh__ocl_exec *x, char *err, size_t errlen);

/* The slot's host output array i (valid after completion, until the slot's
 * next mh__ocl_exec_inputs). NULL for a bad slot or index. */
const void *mh__ocl_exec_output(const mh__ocl_exec *x, unsigned slot, unsigned i);

/* Device timing of the slot's last completed event. */
mh_ocl_timing mh__ocl_exec_timing(const mh__ocl_exec *x, unsigned slot);

/* Builds a backend's program: the embedded program NAME
 * (mh_ocl_kernel_source) with opts->options through the cache, or
 * opts->binary_path. Caller owns *prog. */
mh_status mh__ocl_exec_program(mh_ocl_device *dev, const char *name, const mh_ocl_run_opts *opts,
                               cl_program *prog, mh_ocl_build_info *info, char *err,
                               size_t errlen);

#endif
