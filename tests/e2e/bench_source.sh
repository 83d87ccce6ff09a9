#!/bin/bash
# bench_source.sh - scripts/bench/source.sh on a small sample: refused
# (exit 2, naming the file and its event count: the timing would be
# minihlt's start-up), and with SOURCE_MIN_EVENTS lowered it runs and marks
# the ratio as start-up dominated.
. "$(dirname "$0")/lib.sh"
BUILD=${MINIHLT_BUILD:-build}
SMALL=data/samples/ttbar_pu60.mhe   # 24 events
if ! command -v zstd >/dev/null; then
    echo "# bench_source: zstd not installed, skipped"; e2e_done; exit 0
fi
check_fails "source.sh: a 24-event sample is refused" 2 \
    "$SMALL has 24 events, fewer than 500" sh scripts/bench/source.sh "$BUILD" "$SMALL"
check "source.sh: SOURCE_MIN_EVENTS=20 runs it anyway" \
    env SOURCE_MIN_EVENTS=20 sh scripts/bench/source.sh "$BUILD" "$SMALL"
cp "$E2E_TMP/out" "$E2E_TMP/small.out"; cp "$E2E_TMP/err" "$E2E_TMP/small.err"
check "source.sh: the ratio line says start-up dominated" \
    grep -Eq '^ratio: source read\+decompress vs zstd -d = [0-9.]+ .*goal >= 0\.9; WARNING: < 500 events, start-up dominated\)$' \
    "$E2E_TMP/small.out"
check "source.sh: warning on stderr" grep -q "WARNING: 24 events (< 500)" "$E2E_TMP/small.err"
e2e_done
