#!/bin/sh
# MAHI fit speed: microseconds per channel on synthetic pileup-like channels
# (in every BX a pulse with probability 0.5, exponential amplitude of mean
# 50 fC; an in-time signal of mean 300 fC in 30% of the channels; the
# stand-in pulse shape of tests/hcal/test_mahi.c). One thread.
#
# What to expect: one outer iteration is an 8x8 covariance build, Cholesky,
# 9 triangular solves, the 8x8 normal equations and a few NNLS sub-solves:
# about 3-4 kflop of double arithmetic, mostly in short dependent chains
# (divisions, square roots). With ~2.5 iterations per channel that is ~10
# kflop, i.e. ~3 us at the ~3 Gflop/s such latency-bound scalar code reaches.
# Usage: scripts/bench/mahi.sh [BUILD] [NCHANNELS]
set -eu
BUILD=${1:-build}
N=${2:-200000}
exec "$BUILD/tests/hcal/test_mahi" --bench "$N"
