/* mh_ocl_async.h - what the asynchronous OpenCL backends (mh_ocl_facile.h,
 * mh_ocl_mahi.h) have in common: options, the completion callback, and the
 * per-event device timing.
 *
 * The model (see sim/ocl/README.md, "Asynchronous execution"): a backend is
 * created once per device and owns n_slots slots, one per framework stream.
 * A slot has its own in-order command queue, its own kernel object, device
 * buffers and page-locked host buffers, all reused from event to event (they
 * only grow when an event has more channels than any before). Per event the
 * caller fills the slot's host input arrays, enqueues (non-blocking writes,
 * the kernel, non-blocking reads, then clFlush) and returns at once; the
 * driver calls the completion callback from its own thread when the reads
 * are done, and the outputs are then in the slot's host output arrays until
 * the slot's next event. At most one event per slot is in flight.
 */
#ifndef MH_OCL_ASYNC_H
#define MH_OCL_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Completion of one enqueued event, called exactly once per successful
 * enqueue, from a driver thread (or a thread of the library): status MH_OK
 * and msg "" when the outputs are ready, else MH_DEVICE and a message naming
 * the backend and the OpenCL error ("facile slot 2: command completion:
 * CL_OUT_OF_RESOURCES"). msg is valid during the call only. The callback must
 * not block for long, must not free the backend, and must not make blocking
 * OpenCL calls; handing the result to another thread (the framework's
 * async_done) is what it is for. */
typedef void (*mh_ocl_done_fn)(void *user, mh_status status, const char *msg);

/* How to build and size a backend. Zero-initialise and set what you need. */
typedef struct mh_ocl_run_opts {
    unsigned n_slots;         /* concurrent events (= framework streams); 0 = 1 */
    size_t capacity;          /* initial channels per slot; 0 = 8192; grows on demand */
    const char *options;      /* extra clBuildProgram options; NULL = none */
    const char *binary_path;  /* prebuilt program binary (saved by `minihlt devices
                                 --compile --kernel NAME`, or an .aocx/.xclbin) */
    const char *cache_dir;    /* NULL = the default cache (mh_ocl_cache_dir) */
    bool no_cache;            /* neither read nor write the binary cache */
    bool profiling;           /* queues with profiling: fills mh_ocl_timing */
} mh_ocl_run_opts;

/* Device time of a slot's last event, from OpenCL profiling (all zero when
 * the backend was created without opts.profiling). Nanoseconds. */
typedef struct mh_ocl_timing {
    uint64_t write_ns;  /* host-to-device transfers, summed */
    uint64_t kernel_ns; /* the kernel */
    uint64_t read_ns;   /* device-to-host transfers, summed */
    uint64_t total_ns;  /* first command queued to last command ended */
} mh_ocl_timing;

#ifdef __cplusplus
}
#endif
#endif
