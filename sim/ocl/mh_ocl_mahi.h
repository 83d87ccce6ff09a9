/* mh_ocl_mahi.h - the MAHI fit on an OpenCL device, one work-item per
 * channel, asynchronously.
 *
 * The kernel runs the CPU's own fit: sim/hcal/mahi_core.h is compiled as the
 * core of the program (kernels/mahi_core.cl is a symlink to it). Created
 * once per device with a configuration and a pulse table, uploaded once;
 * per event the caller fills the slot's host input arrays and enqueues; the
 * completion callback says when the outputs are ready. The device needs
 * double precision (cl_khr_fp64), as the CPU fit computes in double.
 * Slots, callback and timing: mh_ocl_async.h.
 */
#ifndef MH_OCL_MAHI_H
#define MH_OCL_MAHI_H

#include "hcal/mh_mahi.h"
#include "ocl/mh_ocl.h"
#include "ocl/mh_ocl_async.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mh_ocl_mahi mh_ocl_mahi;

/* The slot's host input arrays, structure-of-arrays as mh_mahi_fit_batch
 * takes them: charge_fc and adc_bin_width are n x MH_MAHI_NTS (row =
 * channel), the others n. Owned by the backend. */
typedef struct mh_ocl_mahi_in {
    float *charge_fc;
    float *adc_bin_width;
    float *ped_width;
    float *gain;
    float *fc_per_pe;
} mh_ocl_mahi_in;

/* The slot's outputs, as mh_mahi_fit_batch writes them: energy, chi2 and
 * flags are n, oot is n x MH_MAHI_NOOT. Owned by the backend. */
typedef struct mh_ocl_mahi_out {
    const float *energy;
    const float *chi2;
    const float *oot;
    const uint8_t *flags;
} mh_ocl_mahi_out;

/* Checks cfg against pulse (mh_mahi_config_check), checks the device has
 * cl_khr_fp64, builds the "mahi" program (cache, or opts->binary_path),
 * uploads cfg and pulse and creates opts->n_slots slots. dev is borrowed
 * (must outlive the backend); cfg and pulse are copied. Caller owns *out
 * (mh_ocl_mahi_free). Errors: MH_PARAM (configuration), MH_UNSUPPORTED (no
 * fp64), MH_DEVICE with the OpenCL call and error name. */
mh_status mh_ocl_mahi_create(mh_ocl_device *dev, const mh_mahi_config *cfg,
                             const mh_mahi_pulse *pulse, const mh_ocl_run_opts *opts,
                             mh_ocl_mahi **out, mh_ocl_build_info *info, char *err,
                             size_t errlen);

/* Frees the backend; no event may be in flight. NULL is a no-op. */
void mh_ocl_mahi_free(mh_ocl_mahi *m);

unsigned mh_ocl_mahi_slots(const mh_ocl_mahi *m);

/* Makes room for n channels in the slot and fills *in with its host input
 * arrays for the caller to fill. Allocates only when n is larger than
 * every earlier event of the slot. MH_INVALID if the slot is busy. */
mh_status mh_ocl_mahi_inputs(mh_ocl_mahi *m, unsigned slot, size_t n, mh_ocl_mahi_in *in,
                             char *err, size_t errlen);

/* Enqueues the fit of the slot's first n channels and returns at once;
 * done follows exactly once from a driver thread. On an error return
 * nothing is in flight and done is not called. */
mh_status mh_ocl_mahi_enqueue(mh_ocl_mahi *m, unsigned slot, size_t n, mh_ocl_done_fn done,
                              void *user, char *err, size_t errlen);

/* Enqueue and wait (tests, benchmarks). */
mh_status mh_ocl_mahi_run(mh_ocl_mahi *m, unsigned slot, size_t n, char *err, size_t errlen);

/* The slot's outputs: valid after completion until its next inputs call. */
mh_ocl_mahi_out mh_ocl_mahi_outputs(const mh_ocl_mahi *m, unsigned slot);

/* Device timing of the slot's last event (opts.profiling). */
mh_ocl_timing mh_ocl_mahi_timing(const mh_ocl_mahi *m, unsigned slot);

#ifdef __cplusplus
}
#endif
#endif
