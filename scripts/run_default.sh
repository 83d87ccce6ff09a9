#!/bin/sh
# `make run`: the default menu on the default sample, timing report on stdout.
# Without configs/hlt.yaml (a stripped-down tree) it shows what the sample holds instead.
set -eu
BUILD=${1:-build}
BIN="$BUILD/bin/minihlt"
SAMPLE="$BUILD/samples/default.mhe"
if [ -f configs/hlt.yaml ]; then
    exec "$BIN" run configs/hlt.yaml --input "$SAMPLE" --report "$BUILD/report.json"
fi
exec "$BIN" inspect "$SAMPLE" --verify
