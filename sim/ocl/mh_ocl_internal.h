/* mh_ocl_internal.h - shared between the files of sim/ocl only. */
#ifndef MH_OCL_INTERNAL_H
#define MH_OCL_INTERNAL_H

#include "ocl/mh_ocl.h"

/* Structural checks of a prebuilt program binary before it reaches the
 * driver: some drivers (PoCL's assertions, for one) abort the process on a
 * truncated binary instead of returning CL_INVALID_BINARY. Knows ELF (Intel
 * FPGA .aocx, many GPU binaries) and Xilinx .xclbin ("xclbin2"): every
 * section must lie inside the file. Other formats pass unchecked. Returns
 * MH_OK or MH_CORRUPT with a reason in why. */
mh_status mh__ocl_binary_check(const unsigned char *bin, size_t len, char *why, size_t whylen);

#endif
