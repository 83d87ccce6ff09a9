/* mahi.cl - the MAHI fit, one work-item per channel. OpenCL C 1.2 with
 * cl_khr_fp64.
 *
 * The program is mahi_core.cl (= sim/hcal/mahi_core.h, the fit shared with
 * the CPU) followed by this file: the host concatenates the two embedded
 * sources (sim/ocl/mahi.c). This kernel only moves one channel's inputs into
 * private memory, calls the same mh_mahi_fit_channel as the CPU and stores
 * the outputs the CPU batch driver stores (mh_mahi_fit_batch).
 *
 * Arguments follow the device layer's convention (sim/ocl/exec_internal.h):
 * the channel count, the per-channel inputs, the per-channel outputs, then
 * the constants uploaded once (configuration and pulse table, byte copies of
 * the host structs). Arrays are structure-of-arrays, row = channel. */
__kernel void mh_mahi_fit(const uint n,
                          __global const float *charge_fc,     /* n x 10 */
                          __global const float *adc_bin_width, /* n x 10 */
                          __global const float *ped_width,     /* n */
                          __global const float *gain,          /* n */
                          __global const float *fc_per_pe,     /* n */
                          __global float *energy,              /* n */
                          __global float *chi2,                /* n */
                          __global float *oot,                 /* n x 7 */
                          __global uchar *flags,               /* n */
                          __global const mh_mahi_config *gcfg,
                          __global const mh_mahi_pulse *pulse)
{
    const size_t c = get_global_id(0);
    if (c >= n)
        return;
    const mh_mahi_config cfg = *gcfg;
    float q[MH_MAHI_NTS], w[MH_MAHI_NTS];
    for (int i = 0; i < MH_MAHI_NTS; i++) {
        q[i] = charge_fc[c * MH_MAHI_NTS + i];
        w[i] = adc_bin_width[c * MH_MAHI_NTS + i];
    }
    mh_mahi_result r;
    mh_mahi_fit_channel(&cfg, pulse, q, w, ped_width[c], gain[c], fc_per_pe[c], &r);
    energy[c] = r.energy;
    chi2[c] = r.chi2;
    for (int i = 0; i < MH_MAHI_NOOT; i++)
        oot[c * MH_MAHI_NOOT + i] = r.oot[i];
    flags[c] = (uchar)r.flags;
}
