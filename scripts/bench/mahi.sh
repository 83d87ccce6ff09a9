#!/bin/sh
# MAHI fit speed: microseconds per channel on synthetic pileup-like channels
# (in every BX a pulse with probability 0.5, exponential amplitude of mean
# 50 fC; an in-time signal of mean 300 fC in 30% of the channels; the
# stand-in pulse shape of tests/hcal/test_mahi.c). One thread.
# Usage: scripts/bench/mahi.sh [BUILD] [NCHANNELS]
set -eu
BUILD=${1:-build}
N=${2:-200000}
exec "$BUILD/tests/hcal/test_mahi" --bench "$N"
