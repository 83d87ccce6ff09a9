/* selftest.cl - the device layer's own test kernel: y = a*x + y (saxpy).
 * OpenCL C 1.2; one work-item per element, n may not be a multiple of the
 * work-group size. */
__kernel void mh_saxpy(const uint n, const float a, __global const float *x,
                       __global float *y)
{
    const size_t i = get_global_id(0);
    if (i < n)
        y[i] = fma(a, x[i], y[i]);
}
