#!/bin/bash
# bench_hcal.sh - scripts/bench/hcal.sh at a tiny size: the bench program
# builds against the library (-Werror) and runs, and the summary has every
# figure (the framework lines only when `minihlt gen -n` exists, the
# onnxruntime lines only when PyPI is reachable).
. "$(dirname "$0")/lib.sh"
BUILD=${MINIHLT_BUILD:-build}
asan_preload_for_python "$BUILD"
export HCAL_BENCH_EVENTS=2 HCAL_BENCH_CHANNELS=300 HCAL_BENCH_PILEUPS=0 HCAL_BENCH_SAMPLE_EVENTS=2
check "hcal.sh runs" sh scripts/bench/hcal.sh "$BUILD" tests/data/facile_tiny
cp "$E2E_TMP/out" "$E2E_TMP/bench.out"
check "MAHI per channel and per event" \
    grep -Eq '^MAHI \(synthetic\) +[0-9.]+ us/channel +[0-9.]+ us/event$' "$E2E_TMP/bench.out"
check "FACILE per event" grep -Eq '^FACILE CPU +[0-9.]+ ns/channel +[0-9.]+ us/event' \
    "$E2E_TMP/bench.out"
check "ratio line for run_all" grep -Eq '^ratio: mahi_over_facile_cpu = [0-9.]+ \(' \
    "$E2E_TMP/bench.out"
if ! grep -q "^hcal.sh: no framework run" "$E2E_TMP/bench.out"; then
    check "framework run: MAHI and FACILE per event" \
        grep -Eq '^framework: hcal_unpack [0-9.]+ ms/event; hcal_mahi [0-9.]+ ms/event' \
        "$E2E_TMP/bench.out"
    check "framework ratio line" grep -Eq '^ratio: mahi_over_facile_framework = [0-9.]+ \(' \
        "$E2E_TMP/bench.out"
else
    echo "# SKIP framework part of bench_hcal.sh: $(grep '^hcal.sh: no framework run' "$E2E_TMP/bench.out")"
fi
check "pileup 0 scan line" grep -q '^mahi at pileup   0: ' "$E2E_TMP/bench.out"
if grep -q "onnxruntime comparison skipped" "$E2E_TMP/bench.out"; then
    echo "# SKIP onnxruntime part of bench_hcal.sh: no PyPI"
else
    check "onnxruntime ratio" grep -Eq '^ratio: onnxruntime_over_facile = [0-9.]+ \(.*; goal' \
        "$E2E_TMP/bench.out"
fi
check_fails "bad model is named" 1 "hcal.sh: .*nowhere/config.yaml: no such file" \
    sh scripts/bench/hcal.sh "$BUILD" "$E2E_TMP/nowhere"
e2e_done
