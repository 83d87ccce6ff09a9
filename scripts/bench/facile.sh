#!/bin/sh
# FACILE CPU forward pass: microseconds per batch and nanoseconds per channel
# for a random model with the FACILE architecture (46-50-30-20-10-5-1), one
# thread. The onnxruntime comparison comes with scripts/export_onnx.py.
# Usage: scripts/bench/facile.sh [BUILD] [CHANNELS_PER_EVENT]
set -eu
BUILD=${1:-build}
N=${2:-8000}
exec "$BUILD/tests/ml/test_facile" --bench "$N"
