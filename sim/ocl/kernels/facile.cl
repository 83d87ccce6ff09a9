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
 * Each work-item keeps its activations in two private arrays of
 * MH_FACILE_OCL_MAXW floats (the host refuses wider layers); all work-items
 * read the same weight at the same time, which GPUs serve as a broadcast.
 * Sums run over k = 0..in-1 starting from the bias, without contraction
 * into fma, like the CPU code, so that results agree to float rounding.
 *
 * Arguments follow the device layer's convention (sim/ocl/exec_internal.h):
 * channel count, inputs, outputs, constants. */
#pragma OPENCL FP_CONTRACT OFF

#define MH_FACILE_OCL_MAXW 128 /* keep equal to the host's (sim/ocl/mh_ocl_facile.h) */

__kernel void mh_facile_forward(const uint n,
                                __global const float *feat, /* n x nin */
                                __global float *out,        /* n x nout */
                                __global const float *wts,
                                __global const int4 *layers,
                                const uint nlayers, const uint nin, const uint nout)
{
    const size_t c = get_global_id(0);
    if (c >= n)
        return;
    float buf0[MH_FACILE_OCL_MAXW], buf1[MH_FACILE_OCL_MAXW];
    __global const float *x0 = feat + c * nin;
    for (uint k = 0; k < nin; k++)
        buf0[k] = x0[k];
    float *x = buf0, *y = buf1;
    for (uint li = 0; li < nlayers; li++) {
        const int4 l = layers[li];
        __global const float *w = wts + l.w;
        __global const float *b = w + l.x * l.y;
        for (int j = 0; j < l.y; j++) {
            float s = b[j];
            for (int k = 0; k < l.x; k++)
                s += x[k] * w[j * l.x + k];
            y[j] = (l.z && !(s > 0.0f)) ? 0.0f : s;
        }
        float *t = x;
        x = y;
        y = t;
    }
    for (uint j = 0; j < nout; j++)
        out[c * nout + j] = x[j];
}
