/* mh_facile.h - the FACILE network: model loading, feature building and the
 * batched CPU forward pass.
 *
 * FACILE (CMS, "FPGA-Accelerated Calorimeter Inference ... Low-latency
 * Energy") regresses the in-time energy of an HBHE channel from its samples
 * with a small dense network. The architecture is not in this code: a model
 * is a Triton-style repository directory
 *
 *     MODEL_DIR/config.yaml          name, platform "minihlt_dense", input and
 *                                    output tensors, max_batch_size, layers
 *     MODEL_DIR/<version>/weights.bin little-endian float32, layer by layer
 *
 * (format in sim/ml/README.md). The same repository is what `minihlt serve`
 * loads, and what the OpenCL backend uploads (mh_facile_layer()).
 *
 * Features (MH_FACILE_NFEAT = 46 per channel, built by mh_facile_features,
 * the one place every backend gets them from):
 *   [0..7]    charges (fC, pedestal subtracted) of the 8 fitted samples
 *             (the MAHI window: digi TS first_ts .. first_ts+7)
 *   [8]       gain (GeV/fC)
 *   [9]       iphi (1..72, as a number)
 *   [10..16]  one-hot depth 1..7
 *   [17..45]  one-hot |ieta| 1..29
 * Raw values: the model's leading BatchNorm normalises them.
 */
#ifndef MH_FACILE_H
#define MH_FACILE_H

#include <stddef.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MH_FACILE_NTS 8
#define MH_FACILE_NDEPTH 7
#define MH_FACILE_NIETA 29
#define MH_FACILE_NIPHI 72
#define MH_FACILE_F_CHARGE 0
#define MH_FACILE_F_GAIN 8
#define MH_FACILE_F_IPHI 9
#define MH_FACILE_F_DEPTH 10
#define MH_FACILE_F_IETA (MH_FACILE_F_DEPTH + MH_FACILE_NDEPTH)
#define MH_FACILE_NFEAT (MH_FACILE_F_IETA + MH_FACILE_NIETA) /* 46 */

/* Builds the feature matrix feat (n x MH_FACILE_NFEAT, row = channel) from
 * structure-of-arrays digi data: charge_fc is n x nts (row = channel), the
 * 8 samples used start at first_ts; gain, ieta (signed, |ieta| 1..29), iphi
 * (1..72) and depth (1..7) are n. Returns MH_INVALID naming the first bad
 * channel (cell outside HBHE, first_ts + 8 > nts). Caller owns all arrays. */
mh_status mh_facile_features(const float *charge_fc, size_t nts, size_t first_ts,
                             const float *gain, const int *ieta, const int *iphi,
                             const int *depth, size_t n, float *feat, char *err, size_t errlen);

typedef struct mh_facile mh_facile;

/* Loads MODEL_DIR/config.yaml and MODEL_DIR/<version>/weights.bin, checks
 * every shape (tensor dims, layer widths, the weights file size must match
 * exactly, weights finite, BatchNorm var + eps > 0) and prepares the CPU
 * forward pass (BatchNorm folded into the following Dense layer, weights
 * transposed and padded for vector loads). Errors name the file and layer.
 * On success *out is a new model owned by the caller (mh_facile_free). The
 * model is immutable: any number of threads may run forward passes on it. */
mh_status mh_facile_load(const char *model_dir, unsigned version, mh_facile **out, char *err,
                         size_t errlen);

/* Same as mh_facile_load() for a model held in memory: config[0..
 * config_len) is the text of config.yaml (UTF-8, at most 1 MiB; need not
 * be NUL-terminated) and weights[0..weights_len) the bytes of weights.bin.
 * Both are copied; the caller keeps them. name stands for the model
 * directory in error messages ("NAME: config.yaml: ...", "NAME: weights:
 * ..."). Used by loaders that do not read a directory and by the fuzz
 * target tests/fuzz/fuzz_facile_config.c. */
mh_status mh_facile_load_buffer(const char *name, const char *config, size_t config_len,
                                const void *weights, size_t weights_len, mh_facile **out,
                                char *err, size_t errlen);

/* Frees a model; NULL is a no-op. */
void mh_facile_free(mh_facile *m);

/* Model metadata (for the inference server and the plugins). Strings are
 * owned by the model. */
const char *mh_facile_name(const mh_facile *m);
const char *mh_facile_input_name(const mh_facile *m);  /* e.g. "input__0" */
const char *mh_facile_output_name(const mh_facile *m); /* e.g. "output__0" */
size_t mh_facile_num_inputs(const mh_facile *m);       /* features per row */
size_t mh_facile_num_outputs(const mh_facile *m);      /* outputs per row */
size_t mh_facile_max_batch(const mh_facile *m);        /* max_batch_size; 0 = none */

/* One computational layer after folding (BatchNorm removed). w is
 * out x in, row-major (w[j*in + k] multiplies input k into output j),
 * b is out; relu is 1 for ReLU, 0 for linear. Pointers owned by the model. */
typedef struct mh_facile_layer_view {
    size_t in;
    size_t out;
    int relu;
    const float *w;
    const float *b;
} mh_facile_layer_view;

size_t mh_facile_num_layers(const mh_facile *m);
/* Returns MH_INVALID if i is out of range. */
mh_status mh_facile_layer(const mh_facile *m, size_t i, mh_facile_layer_view *view);

/* Bytes of scratch memory one concurrent forward pass needs (independent of
 * the batch size: rows are processed in cache-sized chunks). */
size_t mh_facile_workspace_size(const mh_facile *m);

/* Forward pass: in is n x num_inputs, out is n x num_outputs (caller owns
 * both). work is caller scratch of at least mh_facile_workspace_size()
 * bytes, any alignment; with work == NULL the call allocates its own
 * (MH_NOMEM if that fails). Thread-safe for concurrent callers with their
 * own work buffers. n = 0 is fine. */
mh_status mh_facile_forward(const mh_facile *m, const float *in, size_t n, float *out, void *work,
                            size_t work_size, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
