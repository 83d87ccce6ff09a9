/* mh_ocl_facile.h - the FACILE network on an OpenCL device, asynchronously.
 *
 * Created once per device from a loaded model (sim/ml): the folded layers
 * (mh_facile_layer()) are uploaded once; per event the caller writes the
 * features into the slot's host array with mh_facile_features() (the one
 * place that builds them) and enqueues; the completion callback says when
 * the slot's outputs are ready. Slots, callback and timing: mh_ocl_async.h.
 * Results agree with mh_facile_forward() to float rounding (the kernel sums
 * in the same order without fma contraction).
 */
#ifndef MH_OCL_FACILE_H
#define MH_OCL_FACILE_H

#include "ml/mh_facile.h"
#include "ocl/mh_ocl.h"
#include "ocl/mh_ocl_async.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Widest layer (and input) the kernel handles: activations live in private
 * arrays of this many floats per work-item (kernels/facile.cl). */
#define MH_OCL_FACILE_MAXW 128
/* Channels per work-item: each work-item runs 8 channels as the lanes of
 * float8 operations, against one broadcast weight (kernels/facile.cl). */
#define MH_OCL_FACILE_LANES 8

typedef struct mh_ocl_facile mh_ocl_facile;

/* Builds the "facile" program (cache, or opts->binary_path), uploads the
 * model's weights and creates opts->n_slots slots. dev and model are
 * borrowed: both must outlive the backend (the model only for metadata).
 * info (may be NULL) says where the program came from. Errors: MH_PARAM for
 * a model wider than MH_OCL_FACILE_MAXW (naming the layer), MH_DEVICE with
 * the OpenCL call and error name, MH_IO/MH_NOTFOUND for a binary file.
 * Caller owns *out (mh_ocl_facile_free). */
mh_status mh_ocl_facile_create(mh_ocl_device *dev, const mh_facile *model,
                               const mh_ocl_run_opts *opts, mh_ocl_facile **out,
                               mh_ocl_build_info *info, char *err, size_t errlen);

/* Frees the backend; no event may be in flight. NULL is a no-op. */
void mh_ocl_facile_free(mh_ocl_facile *f);

unsigned mh_ocl_facile_slots(const mh_ocl_facile *f);

/* Makes room for n channels in the slot and returns its host feature array
 * (n x mh_facile_num_inputs(), row = channel), owned by the backend, for the
 * caller to fill before mh_ocl_facile_enqueue. Allocates only when n is
 * larger than every earlier event of the slot. MH_INVALID if the slot has
 * an event in flight or does not exist. */
mh_status mh_ocl_facile_inputs(mh_ocl_facile *f, unsigned slot, size_t n, float **feat,
                               char *err, size_t errlen);

/* Enqueues the forward pass of the slot's first n feature rows and returns
 * at once; done(user, status, msg) follows exactly once from a driver
 * thread. On an error return (MH_DEVICE naming the call, MH_INVALID) nothing
 * is in flight and done is not called. */
mh_status mh_ocl_facile_enqueue(mh_ocl_facile *f, unsigned slot, size_t n, mh_ocl_done_fn done,
                                void *user, char *err, size_t errlen);

/* Enqueue and wait (tests, benchmarks, server threads). */
mh_status mh_ocl_facile_run(mh_ocl_facile *f, unsigned slot, size_t n, char *err,
                            size_t errlen);

/* The slot's outputs, n x mh_facile_num_outputs(): valid after completion
 * until the slot's next mh_ocl_facile_inputs. Owned by the backend. */
const float *mh_ocl_facile_outputs(const mh_ocl_facile *f, unsigned slot);

/* Device timing of the slot's last event (opts.profiling). */
mh_ocl_timing mh_ocl_facile_timing(const mh_ocl_facile *f, unsigned slot);

#ifdef __cplusplus
}
#endif
#endif
