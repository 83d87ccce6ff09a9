/* facile.cl - the FACILE network forward pass, one work-item per channel.
 * OpenCL C 1.2, float only.
 *
 * The network is data, not code: the host uploads once per device the folded
 * layers of sim/ml (mh_facile_layer(): BatchNorm already folded into the
 * next Dense layer) as one weights buffer and a table of int4 per layer
 * (in, out, relu, offset of W in floats; W is out x in row-major and its
 * bias of `out` floats follows it). Features are built on the host by
 * mh_facile_features(), the one place that knows the feature layout.
 *
 * Each work-item runs 8 channels at once as the lanes of float8 operations
 * against one weight read for all of them (on PoCL's CPU device this is
 * what gets vectorised: 13x faster than one channel per work-item), and
 * keeps its activations in two private arrays of MH_FACILE_OCL_MAXW float8
 * (the host refuses wider layers; work-groups of 32 keep that private
 * memory bounded). All work-items read the same weight at the same time,
 * which GPUs serve as a broadcast.
 * Sums run over k = 0..in-1 starting from the bias, without contraction
 * into fma, like the CPU code, so that results agree to float rounding.
 *
 * Arguments follow the device layer's convention (sim/ocl/exec_internal.h):
 * channel count, inputs, outputs, constants. */
#pragma OPENCL FP_CONTRACT OFF

#define MH_FACILE_OCL_MAXW 128 /* keep equal to the host's (sim/ocl/mh_ocl_facile.h) */
#define MH_FACILE_OCL_LANES 8  /* channels per work-item (host: spec.per_item) */

/* Channel c0 + lane, clamped to the last channel (its result is not stored). */
#define ROW(v) (min(c0 + (v), n - 1) * nin)

__kernel void mh_facile_forward(const uint n,
                                __global const float *feat, /* n x nin */
                                __global float *out,        /* n x nout */
                                __global const float *wts,
                                __global const int4 *layers,
                                const uint nlayers, const uint nin, const uint nout)
{
    const uint c0 = (uint)get_global_id(0) * MH_FACILE_OCL_LANES;
    if (c0 >= n)
        return;
    float8 buf0[MH_FACILE_OCL_MAXW], buf1[MH_FACILE_OCL_MAXW];
    for (uint k = 0; k < nin; k++)
        buf0[k] = (float8)(feat[ROW(0) + k], feat[ROW(1) + k], feat[ROW(2) + k],
                           feat[ROW(3) + k], feat[ROW(4) + k], feat[ROW(5) + k],
                           feat[ROW(6) + k], feat[ROW(7) + k]);
    float8 *x = buf0, *y = buf1;
    for (uint li = 0; li < nlayers; li++) {
        const int4 l = layers[li];
        __global const float *w = wts + l.w;
        __global const float *b = w + l.x * l.y;
        for (int j = 0; j < l.y; j++) {
            float8 s = (float8)(b[j]);
            for (int k = 0; k < l.x; k++)
                s += x[k] * w[j * l.x + k];
            /* ReLU as the CPU does it: keep s where s > 0 (NaN -> 0). */
            y[j] = l.z ? select((float8)(0.0f), s, s > (float8)(0.0f)) : s;
        }
        float8 *t = x;
        x = y;
        y = t;
    }
    for (uint j = 0; j < nout; j++) {
        const float8 r = x[j];
        const float v[8] = {r.s0, r.s1, r.s2, r.s3, r.s4, r.s5, r.s6, r.s7};
        for (uint i = 0; i < MH_FACILE_OCL_LANES && c0 + i < n; i++)
            out[(c0 + i) * nout + j] = v[i];
    }
}
