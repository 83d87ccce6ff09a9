#!/bin/sh
# FACILE and MAHI on the OpenCL device against the CPU code, in the same run:
# per-event time on the device (enqueue to completion callback, and its
# profiled kernel and transfer times) and on the CPU (one thread), the
# transfer share of the device time, and the CPU/device ratios. The device
# is the default selection (a GPU if there is one; MINIHLT_OCL_DEVICE picks
# another). FACILE uses a random model of the FACILE architecture
# (46-50-30-20-10-5-1) written by scripts/facile_reference.py; MAHI the
# pileup-like channels of tests/ocl/ocltest.h. On PoCL (the CPU as an
# OpenCL device) the point is correctness and overlap, not speed; on a GPU
# the same script shows the speed-up.
# Usage: scripts/bench/opencl.sh [BUILD] [CHANNELS_PER_EVENT] [EVENTS]
set -eu
BUILD=${1:-build}
N=${2:-8000}
EV=${3:-20}
MODEL="$BUILD/bench/facile_full"
if [ ! -f "$MODEL/1/weights.bin" ]; then
    mkdir -p "$BUILD/bench"
    /usr/bin/python3 scripts/facile_reference.py init --out "$MODEL" --name facile_full \
        --hidden 50,30,20,10,5 --seed 3 >/dev/null
fi
# A private cache so that the first event does not pay for a stale entry.
export MINIHLT_CACHE="$BUILD/bench/cache"
out=$("$BUILD/tests/ocl/test_ocl_facile" --bench "$MODEL" "$N" "$EV")
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '
/^(facile|mahi) +device/ {
    for (i = 1; i <= NF; i++) {
        if ($i == "cpu/device") r = $(i + 1)
        if ($i == "kernel-only") k = $(i + 1)
        if ($i == "=") s = $(i + 1)
    }
    sub(/x$/, "", r); sub(/x$/, "", k); sub(/%$/, "", s)
    printf "ratio: %s_cpu_over_opencl = %s   (CPU time per event / OpenCL enqueue-to-callback time, same run; goal > 1 on a GPU)\n", $1, r
    printf "ratio: %s_cpu_over_kernel = %s   (CPU time per event / kernel time alone; goal > 1 on a GPU)\n", $1, k
    printf "ratio: %s_transfer_share = %s   (percent of OpenCL time spent in transfers; goal small)\n", $1, s
}'
